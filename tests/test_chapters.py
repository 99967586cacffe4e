"""Every chapter keeps the book's conventions (DESIGN.md), checked on the sources.

Executing the chapters is the book build's job (tests/test_site.py); these checks are fast and
point at the exact convention a chapter breaks.
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import jupytext
import pytest
import yaml

from vae_lib.checks import checks_by_exercise

REPO = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((REPO / "chapters").glob("[0-9][0-9]_*.md"))
TOC = (REPO / "book" / "_toc.yml").read_text()
EXERCISE_IMPORT = re.compile(r"^from vae_lib\.exercises import (\w+)(?: as (\w+))?", flags=re.M)


def _front_matter(text: str) -> dict:
    match = re.match(r"^---\n(.*?)\n---\n", text, flags=re.S)
    assert match, "the chapter must start with YAML front matter (the jupytext header)"
    return yaml.safe_load(match.group(1))


def test_there_are_chapters():
    assert CHAPTERS


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.name)
def test_chapter_is_a_jupytext_notebook_with_a_time_budget(chapter):
    meta = _front_matter(chapter.read_text())
    assert meta["jupytext"]["text_representation"]["format_name"] == "myst"
    assert meta["kernelspec"]["name"] == "python3"
    budget = meta.get("mystnb", {}).get("execution_timeout")
    assert isinstance(budget, int) and 0 < budget <= 1800, "state the chapter's time budget (mystnb.execution_timeout)"


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.name)
def test_chapter_is_in_the_table_of_contents(chapter):
    assert f"file: chapters/{chapter.stem}" in TOC


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.name)
def test_chapter_structure(chapter):
    text = chapter.read_text()
    notebook = jupytext.reads(text, fmt="md:myst")
    code = [cell.source for cell in notebook.cells if cell.cell_type == "code"]
    assert code and "%matplotlib inline" in code[0], "the first code cell must say %matplotlib inline"
    lowered = text.lower()
    assert "you will be able to" in lowered or "you will learn" in lowered, "open with what the reader will be able to do"
    assert re.search(r"^#+ summary", text, flags=re.M | re.I), "close with a Summary section"

    exercises = re.findall(r"\{exercise\}[^\n]*\n:label: ([\w-]+)", text)
    solutions = re.findall(r"\{solution\} ([\w-]+)", text)
    assert len(exercises) >= 3, "a chapter has at least three exercises"
    assert set(exercises) <= set(solutions), f"exercises without a solution: {set(exercises) - set(solutions)}"
    imports = EXERCISE_IMPORT.findall("\n".join(code))
    assert len(imports) == 1, "exercises come with self-checks: import the chapter's module from vae_lib.exercises once"


def _cells(chapter: Path) -> list:
    return jupytext.reads(chapter.read_text(), fmt="md:myst").cells


def _exercise_module(chapter: Path):
    """The chapter's exercise module and the name the chapter imports it under."""
    code = "\n".join(cell.source for cell in _cells(chapter) if cell.cell_type == "code")
    name, alias = EXERCISE_IMPORT.search(code).groups()
    return importlib.import_module(f"vae_lib.exercises.{name}"), alias or name


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.name)
def test_every_exercise_has_a_self_check_cell(chapter):
    """Each exercise is followed by a code cell calling its check (found by its docstring's label)."""
    module, alias = _exercise_module(chapter)
    checks = checks_by_exercise(module)
    events = []  # ("exercise", label) and ("code", source), in page order
    for cell in _cells(chapter):
        if cell.cell_type == "code":
            events.append(("code", cell.source))
        else:
            events += [("exercise", label) for label in re.findall(r"\{exercise\}[^\n]*\n:label: ([\w-]+)", cell.source)]
    labels = [label for kind, label in events if kind == "exercise"]
    assert set(labels) == set(checks), f"exercises without a check in {module.__name__}, or checks without an exercise"
    for index, (kind, label) in enumerate(events):
        if kind != "exercise":
            continue
        following_kind, source = events[index + 1] if index + 1 < len(events) else (None, "")
        call = f"{alias}.{checks[label].__name__}(my_answer)"
        assert following_kind == "code" and call in source, f"exercise {label}: the next cell should call {call}"
        assert source.startswith("my_answer = None"), f"exercise {label}: the self-check cell starts unanswered"
