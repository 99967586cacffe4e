"""The set-up files agree: pyproject.toml, constraints.txt and environment.yml."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parents[1]


def _pyproject_requirements() -> dict[str, Requirement]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    lines = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        lines.extend(extra)
    return {canonicalize_name(Requirement(line).name): Requirement(line) for line in lines}


def _pins(lines) -> dict[str, str]:
    pins = {}
    for line in lines:
        line = line.split("#")[0].strip()
        match = re.fullmatch(r"([A-Za-z0-9_.\-]+)==([^\s;]+)", line)
        if match:
            pins[canonicalize_name(match.group(1))] = match.group(2)
    return pins


def _constraints() -> dict[str, str]:
    return _pins((REPO / "constraints.txt").read_text().splitlines())


def _environment_pip() -> list[str]:
    environment = yaml.safe_load((REPO / "environment.yml").read_text())
    pip_sections = [d["pip"] for d in environment["dependencies"] if isinstance(d, dict) and "pip" in d]
    assert len(pip_sections) == 1, "environment.yml should have exactly one pip: section"
    return pip_sections[0]


def test_environment_yml_lists_exactly_the_pyproject_packages():
    in_pyproject = set(_pyproject_requirements())
    in_environment = set(_pins(_environment_pip()))
    assert in_environment == in_pyproject, (
        "pyproject.toml and environment.yml disagree. Only in pyproject: "
        f"{sorted(in_pyproject - in_environment)}; only in environment.yml: {sorted(in_environment - in_pyproject)}"
    )


def test_environment_yml_versions_match_constraints():
    constraints = _constraints()
    for name, version in _pins(_environment_pip()).items():
        assert constraints.get(name) == version, (
            f"environment.yml pins {name}=={version} but constraints.txt has {constraints.get(name)}"
        )


def test_constraints_pin_every_pyproject_package_within_its_range():
    constraints = _constraints()
    for name, requirement in _pyproject_requirements().items():
        assert name in constraints, f"{name} is a dependency in pyproject.toml but not pinned in constraints.txt"
        assert requirement.specifier.contains(constraints[name], prereleases=True), (
            f"constraints.txt pins {name}=={constraints[name]}, outside pyproject's {requirement}"
        )


def test_stack_versions_the_book_depends_on():
    constraints = _constraints()
    assert constraints["jupyter-book"] == "1.0.4.post1"
    assert constraints["sphinx"].startswith("7."), "Jupyter Book 1 needs Sphinx 7"
    assert constraints["torch"] == "2.13.0"
