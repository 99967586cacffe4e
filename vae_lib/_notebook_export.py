"""The notebook exporter: chapters as portable ``.ipynb`` files that render in any Jupyter.

One exporter serves every notebook the book hands out: ``make notebooks`` (Colab, VS Code),
the student edition (``make student``) and assignments (``python -m vae_lib.assign``); later
tools (grading) build on it too. It

- turns each Markdown cell from MyST into CommonMark + HTML (:mod:`vae_lib._myst_markdown`):
  exercises as headed blocks, solutions folded in ``<details>`` (or cut), admonitions as titled
  blockquotes, roles as text linked to the published book, labels removed, macros expanded;
- keeps the code cells as they are (``hide-input`` → the cell's source is collapsed);
- starts the notebook with an install cell that installs ``vae_lib`` where it is missing, from
  the place ``book/_config.yml`` names, and does nothing where it is installed.

The API::

    links = book_links()                           # what the book's roles point at, read once
    notebook = export_chapter("chapters/01_bayes.md", links=links, keep_solutions=False)
    cell = install_cell(install_requirement())     # the first cell, on its own
    text = export_markdown(myst_text, links)       # one Markdown text

Settings in ``book/_config.yml``: ``html.baseurl`` (the published book, for links; empty: no
links), ``repository.url``/``branch`` and ``notebooks.install_from`` (see :func:`install_requirement`),
and the MathJax macros under ``sphinx.config.mathjax3_config``.

>>> notebook = export_chapter(REPO / "chapters" / "01_bayes.md", keep_solutions=False)
>>> notebook.cells[0].id, "{exercise}" in str(notebook)
('install-vae-lib', False)
"""

from __future__ import annotations

import functools
import re
import unicodedata
from pathlib import Path

import jupytext
import nbformat
import yaml

from vae_lib._book_sources import REPO, read_book
from vae_lib._myst_markdown import Links, to_commonmark
from vae_lib._solutions import strip_solutions

__all__ = ["book_links", "export_chapter", "export_markdown", "install_cell", "install_requirement",
           "new_notebook", "book_config", "sphinx_id", "INSTALL_CELL_ID"]

#: The id of the install cell, the first cell of every exported notebook.
INSTALL_CELL_ID = "install-vae-lib"
#: Metadata key under which exported notebooks and cells say what they are.
META = "vae_book"


def book_config(repo: Path = REPO) -> dict:
    """``book/_config.yml`` as a dict."""
    return yaml.safe_load((Path(repo) / "book" / "_config.yml").read_text(encoding="utf-8")) or {}


def sphinx_id(text: str) -> str:
    """The HTML id Sphinx gives ``text`` (as for glossary terms: ``term-Bayes-rule``).

    >>> sphinx_id("term-Bayes' rule")
    'term-Bayes-rule'
    """
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    ident = re.sub(r"[^a-zA-Z0-9._]+", "-", " ".join(plain.split()))
    return re.sub(r"^[-0-9._]+|-+$", "", ident)


def install_requirement(repo: Path = REPO) -> str:
    """What the install cell installs ``vae_lib`` from: a pip requirement, ``""`` when none is known.

    ``notebooks.install_from`` in ``book/_config.yml`` (a wheel or sdist a lecturer hosts, or any
    pip requirement) wins; otherwise the repository, ``vae_lib @ git+<repository.url>@<branch>``.
    """
    config = book_config(repo)
    hosted = str((config.get("notebooks") or {}).get("install_from") or "").strip()
    if hosted:
        return hosted if not hosted.startswith(("http://", "https://")) else f"vae_lib @ {hosted}"
    repository = config.get("repository") or {}
    url = str(repository.get("url") or "").strip().removesuffix("/")
    if not re.match(r"^https?://[^/\s]+/[^/\s]+/[^/\s]+", url):
        return ""
    return f"vae_lib @ git+{url}@{str(repository.get('branch') or 'main').strip()}"


def install_cell(requirement: str) -> nbformat.NotebookNode:
    """The first cell of an exported notebook: install ``vae_lib`` where it is missing, else nothing.

    >>> "pip" in install_cell("vae_lib @ git+https://github.com/o/r@main").source
    True
    """
    head = ("# The book's library, vae_lib: installed here where it is missing (Colab, a fresh Jupyter);\n"
            "# where it is installed already, this cell does nothing.\n"
            "import importlib.util\n")
    if requirement:
        source = head + ("import subprocess, sys\n"
                         'if importlib.util.find_spec("vae_lib") is None:\n'
                         f'    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", {requirement!r}], check=True)\n'
                         "    importlib.invalidate_caches()")
    else:
        source = head + ('if importlib.util.find_spec("vae_lib") is None:\n'
                         '    raise ModuleNotFoundError("This notebook needs the book\'s library, vae_lib, and does not say '
                         'where to get it: install the book\'s repository (pip install -e .) or ask your lecturer.")')
    return nbformat.v4.new_code_cell(source, id=INSTALL_CELL_ID, metadata={"tags": ["install"], META: {"role": "install"}})


def new_notebook(cells: list, *, requirement: str, metadata: dict | None = None) -> nbformat.NotebookNode:
    """A notebook of ``cells`` with the install cell first and a Python 3 kernel."""
    notebook = nbformat.v4.new_notebook(cells=[install_cell(requirement), *cells])
    notebook.metadata.update({
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
        **(metadata or {}),
    })
    return notebook


@functools.lru_cache(maxsize=4)
def _cached_links(repo: str) -> Links:
    repo_path = Path(repo)
    config = book_config(repo_path)
    titles, pages, exercise_titles = {}, {}, {}
    for docname in _toc_documents(repo_path):
        path = repo_path / f"{docname}.md"
        if not path.is_file():
            continue
        text = path.read_text(encoding="utf-8")
        title = re.search(r"^# (.+)$", text, flags=re.M)
        titles[docname] = title.group(1).strip() if title else docname
        pages[docname] = f"{docname}.html"
        for match in re.finditer(r"^\((?P<label>[^()\s]+)\)=\s*\n+(?P<level>#+) (?P<title>.+)$", text, flags=re.M):
            label = match.group("label")
            titles[label] = match.group("title").strip()
            # A label on the page's title points at the page; on a section, at the section.
            pages[label] = f"{docname}.html" + ("" if match.group("level") == "#" else f"#{label}")
    for chapter in read_book(repo_path):
        for exercise in chapter.exercises:
            titles[exercise.label] = f"Exercise {exercise.number}" if exercise.number else "the exercise"
            exercise_titles[exercise.label] = exercise.heading
            pages[exercise.label] = f"{chapter.docname}.html#{exercise.label}"
    pages["book/references"] = "book/references.html"
    macros = (((config.get("sphinx") or {}).get("config") or {}).get("mathjax3_config") or {}).get("tex", {}).get("macros", {})
    return Links(titles=titles, pages=pages, terms=_glossary_terms(repo_path), citations=_citations(repo_path),
                 site_url=str((config.get("html") or {}).get("baseurl") or "").strip(),
                 macros={name: value for name, value in macros.items() if isinstance(value, str)},
                 exercise_titles=exercise_titles)


def book_links(repo: Path = REPO) -> Links:
    """Everything the roles of the book refer to (titles, glossary, citations, site address, macros)."""
    return _cached_links(str(Path(repo).resolve()))


def _toc_documents(repo: Path) -> list[str]:
    toc = yaml.safe_load((repo / "book" / "_toc.yml").read_text(encoding="utf-8"))
    found = [toc.get("root", "")]

    def walk(node):
        if isinstance(node, dict):
            if "file" in node:
                found.append(node["file"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(toc)
    return [name for name in found if name]


def _glossary_terms(repo: Path) -> dict[str, str]:
    """Glossary term (lower case) → its address on the site, read from ``book/glossary.md``."""
    path = repo / "book" / "glossary.md"
    if not path.is_file():
        return {}
    block = re.search(r"^```\{glossary\}\n(.*?)^```", path.read_text(encoding="utf-8"), flags=re.S | re.M)
    terms = {}
    for line in (block.group(1).splitlines() if block else []):
        if line.strip() and not line[0].isspace() and not line.startswith(":"):
            terms[line.strip().lower()] = f"book/glossary.html#{sphinx_id('term-' + line.strip())}"
    return terms


def _citations(repo: Path) -> dict[str, tuple[str, str]]:
    """Citation key → (authors as the book's author-year style writes them, year)."""
    path = repo / "book" / "references.bib"
    if not path.is_file():
        return {}
    from pybtex.database import parse_file  # installed with the book (sphinxcontrib-bibtex)

    cited = {}
    for key, entry in parse_file(str(path)).entries.items():
        names = [" ".join(person.last_names) for person in entry.persons.get("author", [])]
        authors = (names[0] if len(names) == 1 else f"{names[0]} and {names[1]}" if len(names) == 2
                   else f"{names[0]} et al." if names else key)
        cited[key] = (re.sub(r"[{}]", "", authors), entry.fields.get("year", ""))
    return cited


def export_markdown(text: str, links: Links | None = None, *, keep_solutions: bool = True, where: str = "markdown") -> str:
    """One MyST Markdown text as CommonMark + HTML (see :mod:`vae_lib._myst_markdown`)."""
    return to_commonmark(text, links or book_links(), keep_solutions=keep_solutions, where=where)


def export_chapter(chapter: Path | str, *, links: Links | None = None, keep_solutions: bool = True,
                   requirement: str | None = None) -> nbformat.NotebookNode:
    """A chapter (a MyST-Markdown notebook) as a portable notebook.

    Args:
        chapter: the chapter's ``.md`` file.
        links: what roles point at (default: :func:`book_links` of the repository).
        keep_solutions: fold solutions in ``<details>`` (``True``) or cut them (``False``).
        requirement: what the install cell installs (default: :func:`install_requirement`).
    """
    chapter = Path(chapter)
    text = chapter.read_text(encoding="utf-8")
    if not keep_solutions:
        text = strip_solutions(text)
    links = links or book_links()
    source = jupytext.reads(text, fmt="md:myst")
    cells = []
    for index, cell in enumerate(source.cells):
        if cell.cell_type == "markdown":
            markdown = to_commonmark(cell.source, links, keep_solutions=keep_solutions,
                                     where=f"{chapter.name}, cell {index}")
            if markdown.strip():
                cells.append(nbformat.v4.new_markdown_cell(markdown))
        elif cell.cell_type == "code":
            tags = list(cell.metadata.get("tags", []))
            metadata = {"tags": tags} if tags else {}
            if {"hide-input", "remove-input"} & set(tags):
                metadata["jupyter"] = {"source_hidden": True}
            cells.append(nbformat.v4.new_code_cell(cell.source, metadata=metadata))
    for number, cell in enumerate(cells):
        cell.id = f"cell-{number}"
    return new_notebook(cells, requirement=install_requirement() if requirement is None else requirement, metadata={
        "kernelspec": dict(source.metadata.get("kernelspec") or {}) or
        {"display_name": "Python 3", "language": "python", "name": "python3"},
        META: {"source": f"chapters/{chapter.name}", "solutions": "folded" if keep_solutions else "removed"},
    })
