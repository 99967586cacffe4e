"""The set-up files agree: pyproject.toml, constraints.txt and environment.yml (the runtime image
Binder builds: core and [book] only, torch from the CPU index)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parents[1]


CPU_INDEX = "https://download.pytorch.org/whl/cpu"


def _pyproject_requirements(*groups: str) -> dict[str, Requirement]:
    """Requirements of pyproject.toml: ``"core"`` and the named extras (all of them by default)."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    groups = groups or ("core", *extras)
    lines = list(project["dependencies"]) if "core" in groups else []
    for name in groups:
        if name != "core":
            lines.extend(extras[name])
    return {canonicalize_name(Requirement(line).name): Requirement(line) for line in lines}


def _pins(lines) -> dict[str, str]:
    """``{name: version}`` of the ``name==version`` lines (a local label such as ``+cpu`` and an
    environment marker are left out: the version is what constraints.txt pins)."""
    pins = {}
    for line in lines:
        line = line.split("#")[0].strip()
        match = re.fullmatch(r"([A-Za-z0-9_.\-]+)==([^\s;+]+)(\+\w+)?\s*(;.*)?", line)
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


def test_environment_yml_lists_exactly_the_runtime_packages_of_pyproject():
    """Core and [book]: what the chapters and JupyterLab need, and no test tool ([dev])."""
    in_pyproject = set(_pyproject_requirements("core", "book"))
    in_environment = set(_pins(_environment_pip()))
    assert in_environment == in_pyproject, (
        "pyproject.toml and environment.yml disagree. Only in pyproject: "
        f"{sorted(in_pyproject - in_environment)}; only in environment.yml: {sorted(in_environment - in_pyproject)}"
    )
    dev_only = set(_pyproject_requirements("dev")) - in_pyproject
    assert dev_only and not dev_only & in_environment, "test tools stay out of the runtime image"


def test_environment_yml_installs_the_cpu_build_of_torch_on_linux():
    """PyPI's Linux torch is the CUDA build (gigabytes): Binder must get the CPU wheel."""
    lines = [line.split("#")[0].strip() for line in _environment_pip()]
    assert f"--extra-index-url {CPU_INDEX}" in lines
    torch_lines = [line for line in lines if re.match(r"torch\b", line)]
    linux = [line for line in torch_lines if 'sys_platform == "linux"' in line]
    assert linux == [f'torch=={_constraints()["torch"]}+cpu; sys_platform == "linux"'], torch_lines
    assert all("+cpu" in line or 'sys_platform != "linux"' in line for line in torch_lines), torch_lines


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
    # jupyterlab-myst 2.7.0 does not load in JupyterLab 4.6 (it is marked incompatible there).
    assert constraints["jupyterlab"].startswith("4.5.") and constraints["jupyterlab-myst"] == "2.7.0"
