"""The notebook exporter: MyST turned into CommonMark + HTML that every Jupyter frontend renders.

The unit tests show each conversion on a small text; the CommonMark tests render every exported
notebook (``make notebooks``, the student edition, an assignment of every exercise) with a
CommonMark renderer, as a frontend without the MyST extension would, and fail on any MyST syntax
left in the result, on a solution outside a folded ``<details>``, and on a solution at all where
there must be none.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import nbformat
import pytest
from markdown_it import MarkdownIt

from vae_lib import _notebook_export as export
from vae_lib import assign
from vae_lib._myst_markdown import Links, to_commonmark
from vae_lib._solutions import solution_fragments, words

REPO = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((REPO / "chapters").glob("[0-9][0-9]_*.md"))

LINKS = Links(
    titles={"chap-bayes": "Bayes' rule", "ex-a": "Exercise 1.1", "bayes-coffee": "A coffee machine",
            "book/notation": "Notation"},
    pages={"chap-bayes": "chapters/01_bayes.html", "bayes-coffee": "chapters/01_bayes.html#bayes-coffee",
           "book/notation": "book/notation.html", "book/references": "book/references.html"},
    terms={"prior": "book/glossary.html#term-Prior"},
    citations={"kingma2013": ("Kingma and Welling", "2013")},
    macros={"E": r"\mathbb{E}", "KL": r"\mathrm{KL}", "N": r"\mathcal{N}"},
    exercise_titles={"ex-a": "Exercise 1.1: Add (★, 5 min)"},
)
SITE = Links(**{**LINKS.__dict__, "site_url": "https://example.org/vae-book/"})


# ----------------------------------------------------------------------------- each conversion


def test_exercises_become_headed_blocks_and_solutions_fold_or_go():
    text = ("```{exercise} Add (★, 5 min)\n:label: ex-a\n\nWhat is $\\E[x]$?\n```\n\n"
            "````{solution} ex-a\n:class: dropdown\n\nIt is two:\n\n```{code-block} python\nprint(1 + 1)\n```\n````")
    folded = to_commonmark(text, LINKS)
    assert folded.startswith("### Exercise 1.1: Add (★, 5 min)\n\nWhat is $\\mathbb{E}[x]$?")
    assert "<details>\n<summary>Solution to Exercise 1.1</summary>\n\nIt is two:\n\n```python\nprint(1 + 1)\n```\n\n</details>" in folded
    cut = to_commonmark(text, LINKS, keep_solutions=False)
    assert "two" not in cut and "<details>" not in cut and "### Exercise 1.1" in cut


def test_admonitions_become_titled_blockquotes_and_dropdowns_fold():
    assert to_commonmark("```{admonition} Why?\n:class: note\n\nBecause.\n\n- a\n```", LINKS) == (
        "> **Why?**\n>\n> Because.\n>\n> - a")
    assert to_commonmark(":::{tip}\nUse it.\n:::", LINKS) == "> **Tip**\n>\n> Use it."
    assert to_commonmark("```{note} More\n:class: dropdown\nHidden.\n```", LINKS) == (
        "<details>\n<summary>More</summary>\n\nHidden.\n\n</details>")


@pytest.mark.parametrize("links, expected", [
    (LINKS, "A prior (Kingma and Welling, 2013), Kingma and Welling (2013), Bayes' rule, see A coffee machine, "
            "the notation page, Notation, $x^2$."),
    (SITE, "A [prior](https://example.org/vae-book/book/glossary.html#term-Prior) "
           "([Kingma and Welling, 2013](https://example.org/vae-book/book/references.html)), "
           "[Kingma and Welling (2013)](https://example.org/vae-book/book/references.html), "
           "[Bayes' rule](https://example.org/vae-book/chapters/01_bayes.html), "
           "see [A coffee machine](https://example.org/vae-book/chapters/01_bayes.html#bayes-coffee), "
           "the [notation page](https://example.org/vae-book/book/notation.html), "
           "[Notation](https://example.org/vae-book/book/notation.html), $x^2$."),
])
def test_roles_become_text_linked_to_the_published_book_when_it_has_an_address(links, expected):
    text = ("A {term}`prior` {cite:p}`kingma2013`, {cite:t}`kingma2013`, {ref}`chap-bayes`, see "
            "{ref}`bayes-coffee`, the {doc}`notation page <../book/notation>`, {doc}`/book/notation`, {math}`x^2`.")
    assert to_commonmark(text, links) == expected


def test_a_role_that_wraps_onto_the_next_line_is_converted():
    assert to_commonmark("found by {term}`prior\nmatching <prior>` here", LINKS) == "found by prior\nmatching here"


def test_labels_go_and_macros_expand_outside_code_only():
    text = "(sec-x)=\n## Title\n\n$$\n\\KL(q \\| \\N(0, 1))\n$$ (eq-kl)\n\nCode `\\E` stays, $\\E$ does not."
    assert to_commonmark(text, LINKS) == (
        "## Title\n\n$$\n\\mathrm{KL}(q \\| \\mathcal{N}(0, 1))\n$$\n\nCode `\\E` stays, $\\mathbb{E}$ does not.")


def test_plain_code_blocks_are_kept_verbatim():
    text = "```python\nd = {h: p for h in prior}  # {term}`not a role`\n```"
    assert to_commonmark(text, LINKS) == text


@pytest.mark.parametrize("text, name", [("{kbd}`Ctrl`", "{kbd}"), ("```{tab-set}\nx\n```", "{tab-set}")])
def test_unknown_syntax_is_refused_with_its_name(text, name):
    with pytest.raises(ValueError, match=re.escape(name)):
        to_commonmark(text, LINKS, where="chapters/x.md, cell 2")


def test_glossary_anchors_are_the_ones_sphinx_makes():
    from sphinx.util.nodes import _make_id

    for term in ("term-Bayes' rule", "term-Evidence lower bound", "term-KL divergence", "term-β-VAE"):
        assert export.sphinx_id(term) == _make_id(term)


def test_the_book_links_know_every_label_term_and_citation_the_chapters_use():
    links = export.book_links()
    text = "\n".join(chapter.read_text(encoding="utf-8") for chapter in CHAPTERS)
    for target in re.findall(r"\{(?:ref|numref)\}`(?:[^`<]*<)?([^`<>]+)>?`", text):
        assert target in links.titles, f"{{ref}} to {target}: the exporter does not know its title"
    for term in re.findall(r"\{term\}`(?:[^`<]*<)?([^`<>]+)>?`", text):
        assert term.strip().lower() in links.terms, f"{{term}} {term}: not in the glossary"
    for keys in re.findall(r"\{cite:?\w*\}`([^`]+)`", text):
        for key in keys.split(","):
            assert key.strip() in links.citations, f"{{cite}} {key}: not in references.bib"


def test_install_requirement_comes_from_install_from_or_the_repository(tmp_path):
    (tmp_path / "book").mkdir()
    config = tmp_path / "book" / "_config.yml"
    config.write_text("repository:\n  url: ''\n")
    assert export.install_requirement(tmp_path) == ""
    config.write_text("repository:\n  url: https://github.com/o/vae-book\n  branch: course\n")
    assert export.install_requirement(tmp_path) == "vae_lib @ git+https://github.com/o/vae-book@course"
    config.write_text("repository:\n  url: https://github.com/o/vae-book\n"
                      "notebooks:\n  install_from: https://uni.example/vae_lib-0.1.0-py3-none-any.whl\n")
    assert export.install_requirement(tmp_path) == "vae_lib @ https://uni.example/vae_lib-0.1.0-py3-none-any.whl"


def test_the_install_cell_installs_only_where_vae_lib_is_missing(tmp_path):
    cell = export.install_cell("vae_lib @ https://uni.example/vae_lib.tar.gz")
    calls = []
    namespace = {"__name__": "__main__"}
    import importlib.util
    import subprocess

    original_find, original_run = importlib.util.find_spec, subprocess.run
    try:
        subprocess.run = lambda *args, **kwargs: calls.append(args[0])
        exec(compile(cell.source, "install", "exec"), namespace)  # vae_lib is installed: nothing
        assert calls == []
        importlib.util.find_spec = lambda name, *rest: None if name == "vae_lib" else original_find(name, *rest)
        exec(compile(cell.source, "install", "exec"), namespace)
        assert calls and calls[0][-1] == "vae_lib @ https://uni.example/vae_lib.tar.gz" and "pip" in calls[0]
        with pytest.raises(ModuleNotFoundError, match="vae_lib"):
            exec(compile(export.install_cell("").source, "install", "exec"), namespace)
    finally:
        importlib.util.find_spec, subprocess.run = original_find, original_run


# ----------------------------------------------------------------------------- every exported notebook

_MARKDOWN = MarkdownIt("commonmark").enable(["table", "strikethrough"])
#: MyST that a frontend without the extension would show as typed.
_RAW_MYST = [
    (re.compile(r"\{[\w:-]+\}"), "a role"),
    (re.compile(r"(`{3,}|:{3,})\{[\w-]+\}"), "a directive"),
    (re.compile(r"language-\{"), "a directive shown as a code block"),
    (re.compile(r"^\s*:(class|label|name|tags|nonumber):", flags=re.M), "a directive option"),
    (re.compile(r"^\s*\([\w:.-]+\)=\s*$", flags=re.M), "a label"),
    (re.compile(r"\$\$\s*\([\w:.-]+\)"), "an equation label"),
    (re.compile(r"\\(E|KL|N)(?![A-Za-z])"), "a macro of the book (\\E, \\KL, \\N)"),
]


def _without_code(rendered: str) -> str:
    """The rendered text without code and without math (which has braces of its own)."""
    text = re.sub(r"<(pre|code)\b.*?</\1>", " ", rendered, flags=re.S)
    return re.sub(r"\$\$.*?\$\$|\$[^$]+\$", " ", text, flags=re.S)


def _check_rendered(notebook: nbformat.NotebookNode, name: str, fragments: set[str], *, solutions: bool) -> int:
    """Render every Markdown cell; return how many solutions were found folded."""
    folded = 0
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type != "markdown":
            continue
        rendered = _MARKDOWN.render(cell.source)
        where = f"{name}, cell {index}"
        for pattern, what in _RAW_MYST:
            found = pattern.search(cell.source if what.startswith("a macro") else html.unescape(_without_code(rendered)))
            assert not found, f"{where}: {what} left raw: {found.group(0)!r}"
        assert "<details open" not in rendered, f"{where}: a solution shown unfolded"
        details = re.findall(r"<details>(.*?)</details>", rendered, flags=re.S)
        for block in details:
            assert re.match(r"\s*<summary>[^<]+</summary>", block), f"{where}: a <details> without a title"
        folded += sum("<summary>Solution to" in block for block in details)
        outside = f" {words(html.unescape(re.sub(r'<details>.*?</details>', ' ', rendered, flags=re.S)))} "
        leaked = [fragment for fragment in fragments if f" {fragment} " in outside]
        assert not leaked, f"{where}: solution text outside a folded <details>: {leaked[0][:60]!r}"
        if not solutions:
            assert not details or not any("Solution" in block for block in details), f"{where}: a solution"
            inside = f" {words(html.unescape(' '.join(details)))} "
            assert not [fragment for fragment in fragments if f" {fragment} " in inside], f"{where}: a solution"
    return folded


@pytest.fixture(scope="module")
def links():
    return export.book_links()


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda path: path.stem)
def test_every_exported_chapter_renders_as_commonmark_without_myst(chapter, links):
    """``make notebooks`` (solutions folded) and the student edition (none), rendered as Colab would."""
    fragments = solution_fragments(chapter.read_text(encoding="utf-8"))
    full = export.export_chapter(chapter, links=links, keep_solutions=True, requirement="")
    nbformat.validate(full)
    solutions = len(re.findall(r"^[`:]{3,}\{solution\}", chapter.read_text(encoding="utf-8"), flags=re.M))
    assert _check_rendered(full, chapter.name, fragments, solutions=True) == solutions, "every solution folded"
    student = export.export_chapter(chapter, links=links, keep_solutions=False, requirement="")
    assert _check_rendered(student, f"{chapter.name} (student)", fragments, solutions=False) == 0
    for notebook in (full, student):
        assert notebook.cells[0].id == export.INSTALL_CELL_ID
        assert [cell.source for cell in notebook.cells if cell.cell_type == "code"][1:] == [
            cell.source for cell in _source_code_cells(chapter)], "code cells are copied as they are"


def _source_code_cells(chapter: Path) -> list:
    import jupytext

    return [cell for cell in jupytext.read(chapter, fmt="md:myst").cells if cell.cell_type == "code"]


def test_an_assignment_of_every_exercise_renders_without_myst_or_solutions(links):
    labels = [exercise.label for chapter in assign.read_book() for exercise in chapter.exercises]
    notebook = assign.assignment_notebook(assign.select(labels), requirement="")
    fragments = {fragment for chapter in CHAPTERS for fragment in solution_fragments(chapter.read_text(encoding="utf-8"))}
    assert _check_rendered(notebook, "assignment", fragments, solutions=False) == 0


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda path: path.stem)
def test_an_exported_notebook_holds_no_more_than_its_chapter_and_the_install_cell(chapter, links):
    """The budget of issue 17, on the notebook's text: its cells hold no more than the chapter's
    source plus the install cell. (The .ipynb file adds its JSON container on top, about a third
    with nbformat's indentation: see the report in test_size_report.)"""
    notebook = export.export_chapter(chapter, links=links, requirement=export.install_requirement())
    text = sum(len(cell.source.encode("utf-8")) for cell in notebook.cells)
    budget = chapter.stat().st_size + len(notebook.cells[0].source.encode("utf-8"))
    assert text <= budget, f"{chapter.name}: {text} bytes of cells > {budget}"


def test_the_exported_notebook_files_are_json_of_the_expected_size(tmp_path, links):
    """Records the .ipynb file sizes next to the sources (the container's overhead), and that they load."""
    chapter = CHAPTERS[0]
    path = tmp_path / f"{chapter.stem}.ipynb"
    path.write_text(nbformat.writes(export.export_chapter(chapter, links=links, requirement="")), encoding="utf-8")
    notebook = json.loads(path.read_text(encoding="utf-8"))
    assert notebook["nbformat"] == 4 and notebook["cells"][0]["id"] == export.INSTALL_CELL_ID
    assert path.stat().st_size < 1.5 * chapter.stat().st_size
