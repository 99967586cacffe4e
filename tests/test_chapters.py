"""Every chapter keeps the book's conventions (DESIGN.md), checked on the sources.

Executing the chapters is the book build's job (tests/test_site.py); these checks are fast and
point at the exact convention a chapter breaks.
"""

from __future__ import annotations

import re
from pathlib import Path

import jupytext
import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((REPO / "chapters").glob("[0-9][0-9]_*.md"))
TOC = (REPO / "book" / "_toc.yml").read_text()


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
    assert "vae_lib.checks" in text or "from vae_lib import checks" in text, "exercises come with self-checks"
