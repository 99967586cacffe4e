"""Every chapter keeps the book's conventions (CONTRIBUTING.md, "The chapter pattern"), checked on the sources.

Executing the chapters is the book build's job (tests/test_site.py); these checks are fast and
point at the exact convention a chapter breaks.
"""

from __future__ import annotations

import ast
import importlib
import math
import re
from pathlib import Path

import jupytext
import pytest
import yaml

from vae_lib.checks import checks_by_exercise
from vae_lib.exercises import bayes as bayes_exercises

REPO = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((REPO / "chapters").glob("[0-9][0-9]_*.md"))
TOC = (REPO / "book" / "_toc.yml").read_text()
CHAPTER_TABLE = yaml.safe_load((REPO / "book" / "chapters.yml").read_text())
EXERCISE_LABEL = re.compile(r"\{exercise\}[^\n]*\n:label: ([\w-]+)")
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
    assert "mystnb" not in meta, "execution settings live in book/chapters.yml (JupyterLab drops them from here)"
    budget = CHAPTER_TABLE["chapters"].get(f"chapters/{chapter.stem}", {}).get("budget")
    assert isinstance(budget, int) and 0 < budget <= 1800, "state the chapter's time budget in book/chapters.yml"


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

    exercises = EXERCISE_LABEL.findall(text)
    solutions = re.findall(r"\{solution\} ([\w-]+)", text)
    assert len(exercises) >= 3, "a chapter has at least three exercises"
    assert set(exercises) <= set(solutions), f"exercises without a solution: {set(exercises) - set(solutions)}"
    imports = EXERCISE_IMPORT.findall("\n".join(code))
    assert len(imports) == 1, "exercises come with self-checks: import the chapter's vae_lib.exercises module once"


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
            events += [("exercise", label) for label in EXERCISE_LABEL.findall(cell.source)]
    labels = [label for kind, label in events if kind == "exercise"]
    assert set(labels) == set(checks), f"exercises without a check in {module.__name__}, or checks without an exercise"
    for index, (kind, label) in enumerate(events):
        if kind != "exercise":
            continue
        following_kind, source = events[index + 1] if index + 1 < len(events) else (None, "")
        call = f"{alias}.{checks[label].__name__}(my_answer)"
        assert following_kind == "code" and call in source, f"exercise {label}: the next cell should call {call}"
        assert source.startswith("my_answer = None"), f"exercise {label}: the self-check cell starts unanswered"


# ----------------------------------------------------------------------------- chapter 1's problem data


CHAPTER_1 = REPO / "chapters" / "01_bayes.md"


def _literal_assignments(chapter: Path) -> dict[str, list[object]]:
    """``{name: [value, ...]}`` for every top-level ``name = <literal>`` in the chapter's code cells."""
    found: dict[str, list[object]] = {}
    for cell in _cells(chapter):
        if cell.cell_type != "code":
            continue
        source = "\n".join(line for line in cell.source.splitlines() if not line.startswith(("%", "!")))
        for node in ast.parse(source).body:
            if not isinstance(node, ast.Assign) or len(node.targets) != 1:
                continue
            try:
                value = ast.literal_eval(node.value)
            except ValueError:
                continue
            target = node.targets[0]
            if isinstance(target, ast.Name):
                found.setdefault(target.id, []).append(value)
            elif isinstance(target, ast.Tuple) and all(isinstance(t, ast.Name) for t in target.elts):
                for name, item in zip((t.id for t in target.elts), value, strict=True):
                    found.setdefault(name, []).append(item)
    return found


def test_chapter_1_code_uses_the_problem_data_of_its_exercise_module():
    data = bayes_exercises
    typed = _literal_assignments(CHAPTER_1)
    assert typed["prior"] == [dict(data.COFFEE_PRIOR)]
    assert typed["p_noise"] == [dict(data.COFFEE_P_NOISE)]
    assert typed["n_rolls"] == [data.CHAPTER_DIE_ROLLS] and typed["n_sixes"] == [data.CHAPTER_DIE_SIXES]


def test_chapter_1_prose_states_the_problem_data_of_its_exercise_module():
    data, text = bayes_exercises, CHAPTER_1.read_text()
    prior, noise = data.COFFEE_PRIOR, data.COFFEE_P_NOISE
    story = text[text.index("## A coffee machine"):text.index("## Bayes' rule")]
    for h in prior:
        assert f"| {h} | {prior[h]:g} | {noise[h]:g} |" in story, h
        assert f"{100 * prior[h]:.0f} %" in story and f"{100 * noise[h]:.0f} %" in story, h
    assert (f"{noise['clogged']:g} \\times {prior['clogged']:g} + "
            f"{noise['low water']:g} \\times {prior['low water']:g}") in text
    silence = {h: 1 - p for h, p in noise.items()}
    assert f"$P(\\text{{silence}} \\mid h) = 1 - P(\\text{{noise}} \\mid h)$ for each hypothesis: " \
           f"{silence['clogged']:g} for a clog\nand {silence['low water']:g} for low water" in text
    assert (f"by a likelihood ratio of ${noise['clogged']:g} / {noise['low water']:g}$, the silence favors low water"
            f"\nby ${silence['low water']:g} / {silence['clogged']:g}$") in text


def test_chapter_1_exercise_texts_state_the_data_the_checks_use():
    data, text = bayes_exercises, CHAPTER_1.read_text()
    die = text[text.index(":label: ex-bayes-loaded-die"):text.index("````{solution} ex-bayes-loaded-die")]
    sixes, rolls = data.FRIEND_DIE_SIXES, data.FRIEND_DIE_ROLLS
    assert f"{sixes} sixes in {rolls} rolls" in die
    assert f"p(n_6 = {sixes} \\mid \\rho)$ for $n = {rolls}$" in die
    assert f"stats.binom.pmf({sixes}, {rolls}, " in text[text.index("````{solution} ex-bayes-loaded-die"):]
    grid = text[text.index(":label: ex-bayes-grid"):text.index("````{solution} ex-bayes-grid")]
    power = round(math.log10(data.GRID_TERMS_PER_SECOND))
    assert data.GRID_TERMS_PER_SECOND == 10**power and f"$10^{power}$ terms" in grid
    assert data.GRID_SECONDS_ALLOWED == 24 * 60 * 60 and "one whole day" in grid
    assert f"{data.GRID_POINTS_PER_DIMENSION} grid points per" in grid


# ----------------------------------------------------------------------------- the book's pages

BOOK_PAGES = sorted((REPO / "book").glob("*.md"))


@pytest.mark.parametrize("page", BOOK_PAGES, ids=lambda p: p.name)
def test_text_blocks_fit_the_page(page):
    """Lines of a ```text block do not wrap on the site, so they must fit its box."""
    for block in re.findall(r"^```text\n(.*?)^```", page.read_text(), flags=re.S | re.M):
        too_long = [line for line in block.splitlines() if len(line) > 70]
        assert not too_long, f"{page.name}: text-block lines longer than 70 characters: {too_long}"


def test_notation_page_is_in_the_reference_part_before_the_glossary():
    toc = yaml.safe_load(TOC)
    reference = next(part for part in toc["parts"] if part["caption"] == "Reference")
    files = [entry["file"] for entry in reference["chapters"]]
    assert files.index("book/notation") < files.index("book/glossary")
    for page in ("book/glossary.md", "chapters/01_bayes.md"):
        assert "<notation>`" in (REPO / page).read_text(), f"{page} should link to the notation page"
