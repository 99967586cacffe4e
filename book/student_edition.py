"""Build the student edition: the same book with every solution removed.

    python book/student_edition.py            # what `make student` runs

writes ``student/``: the chapters with solutions stripped (``student/chapters``), the site
built from them (``student/book/_build/html``) and unexecuted notebooks to hand out
(``student/notebooks``, written by the notebook exporter: portable Markdown and an install
cell, as ``make notebooks`` writes them). Hiding solutions with a theme option is not enough
(they would still ship in the page sources, the downloads and the notebooks), so the solutions
are cut from the sources themselves. The instructor guide is left out, and so is every passage
of the book's pages marked for lecturers (``<!-- lecturer-only -->`` … ``<!-- /lecturer-only -->``).
With ``repository.url`` set, the student site's launch buttons open the student notebooks, which
``--publish`` commits to the branch ``student-notebooks`` (``make publish-student``).

What counts as a solution is defined in ``vae_lib/_solutions.py`` (a ``{solution}`` block,
anything between ``{solution-start}`` and ``{solution-end}``, a code cell tagged ``solution``).
After the build, every file written under ``student/`` (pages, page sources, downloads,
notebooks, search index, execution cache) is searched for the text of every solution; the
build fails if any is found.

    python book/student_edition.py --cache-from book/_build/.jupyter_cache

reuses the execution results of a build of the full book (code cells are the same in both
editions), so the student site is built without executing the chapters again.

    python book/student_edition.py --lang zh_CN        # what `make student LANG=zh_CN` runs

builds the English student edition as above, then the Chinese one into
``student/book/_build/html/zh_CN`` (:func:`build_translated`) and the Chinese student notebooks
into ``student/notebooks/zh_CN``. The catalogues translate the solutions too, so they are **not**
shipped, not even filtered: the Chinese student site is built from the student sources (solutions
already cut) with the repository's catalogues applied at build time, read from ``book/locales``
outside ``student/``. A message that only a solution has is then never used, and nothing under
``student/`` holds it; the leak search checks that, for the chapters' Chinese solutions too
(:func:`book_fragments`).
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import yaml

from vae_lib._atomic_files import atomic_write
from vae_lib._notebook_export import book_links, export_chapter, install_requirement
from vae_lib._solutions import find_leaks, solution_fragments, strip_solutions, words

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "book" / "_ext"))
sys.path.insert(0, str(REPO / "book"))
from colab_notebooks import publish  # noqa: E402  (the book's own scripts)
from launch_buttons import STUDENT_BRANCH  # noqa: E402

__all__ = ["build", "strip_solutions", "solution_fragments", "find_leaks", "book_fragments", "student_page",
           "LECTURER_ONLY", "LECTURER_PAGES"]

STUDENT = REPO / "student"
#: A passage of a book page that the student edition leaves out.
LECTURER_ONLY = re.compile(r"<!-- lecturer-only -->.*?<!-- /lecturer-only -->[ \t]*\n?", flags=re.S)
#: Pages the student edition does not ship.
LECTURER_PAGES = ("book/instructor_guide",)
_STUDENT_README = """# Student notebooks

The chapters of the book without their solutions, written by `make publish-student` from the
sources on the main branch. Each notebook's first cell installs the book's library, `vae_lib`,
where it is missing. Do not edit them here.
"""


def book_fragments(chapters_folder: Path = REPO / "chapters") -> set[str]:
    """The recognizable solution lines of every chapter (what must not appear in student output),
    and their translations in every translated edition (:func:`translated_fragments`).

    A line that some chapter shows outside its solutions (chapter 5's solution and chapter 8's
    code share a comment, say) is not solution text: the student edition shows it too.
    """
    texts = [chapter.read_text(encoding="utf-8") for chapter in sorted(Path(chapters_folder).glob("*.md"))]
    shown = " ".join(f" {words(strip_solutions(text))} " for text in texts)
    english = {fragment for text in texts for fragment in solution_fragments(text) if f" {fragment} " not in shown}
    # The translated editions' catalogues translate the solutions: their text must not leak either.
    return english | {fragment for language in TRANSLATED_LANGUAGES
                      for fragment in translated_fragments(language, chapters_folder)}


#: The editions whose catalogues translate the solutions: their text is searched for too.
TRANSLATED_LANGUAGES = ("zh_CN",)
#: A translated solution message counts when it has at least this many words (a CJK character is one).
MIN_TRANSLATED_WORDS = 10


def translated_fragments(language: str, chapters_folder: Path = REPO / "chapters", repo: Path = REPO) -> set[str]:
    """The chapters' solutions as the ``language`` edition's page catalogues translate them (as :func:`words`).

    A message of a chapter's catalogue is solution text when the chapter has it only inside its
    solutions; its translation is a fragment when it is long enough to recognize and no message
    the student edition shows translates to the same words.
    """
    from vae_lib._exercise_language import page_messages

    fragments, shown = set(), set()
    for chapter in sorted(Path(chapters_folder).glob("*.md")):
        text = chapter.read_text(encoding="utf-8")
        visible, everything = f" {words(strip_solutions(text))} ", f" {words(text)} "
        for english, translated in page_messages(Path(repo), language, f"chapters/{chapter.stem}").items():
            english_words, translated_words = words(english), words(translated)
            if english_words and f" {english_words} " not in visible and f" {english_words} " in everything:
                if len(translated_words.split()) >= MIN_TRANSLATED_WORDS:
                    fragments.add(translated_words)
            else:
                shown.add(translated_words)
    seen = " ".join(f" {text} " for text in shown)
    return {fragment for fragment in fragments if f" {fragment} " not in seen}


def _run(command: list[str]) -> None:
    print("+", " ".join(command), flush=True)
    subprocess.run(command, cwd=REPO, check=True)


def _student_config(text: str) -> str:
    """The book's configuration, retitled, its launch buttons opening the student notebooks."""
    config = yaml.safe_load(text)
    config["title"] = f"{config.get('title', 'The book')} (student edition)"
    config["launch_buttons"] = {**(config.get("launch_buttons") or {}), "edition": "student"}
    # English only: there is no Chinese student site to switch to (and its catalogues, which
    # translate the solutions too, are left out of the student tree).
    config.setdefault("sphinx", {}).setdefault("config", {})["vae_language_switch"] = False
    return yaml.safe_dump(config, sort_keys=False, allow_unicode=True)


def _student_toc(text: str) -> str:
    """The table of contents without the lecturers' pages."""
    toc = yaml.safe_load(text)
    for part in toc.get("parts", []):
        part["chapters"] = [entry for entry in part.get("chapters", []) if entry.get("file") not in LECTURER_PAGES]
    return yaml.safe_dump(toc, sort_keys=False, allow_unicode=True)


def student_page(text: str) -> str:
    """A book page as the student edition shows it: passages for lecturers left out.

    >>> student_page("A.\\n<!-- lecturer-only -->\\nSolutions are folded.\\n<!-- /lecturer-only -->\\nB.\\n")
    'A.\\nB.\\n'
    """
    return LECTURER_ONLY.sub("", text)


def write_notebooks(out: Path) -> list[Path]:
    """The student notebooks (no solutions, portable Markdown, install cell) in ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    links, requirement = book_links(REPO), install_requirement(REPO)
    written = []
    for chapter in sorted((REPO / "chapters").glob("*.md")):
        text = nbformat.writes(export_chapter(chapter, links=links, keep_solutions=False, requirement=requirement))
        path = out / f"{chapter.stem}.ipynb"
        atomic_write(path, lambda stream, text=text: stream.write(text.encode("utf-8")))
        written.append(path)
    return written


def write_translated_notebooks(language: str, out: Path) -> list[Path]:
    """The student notebooks in ``language`` in ``out``: each chapter without its solutions, its
    prose translated from its page catalogue before export (solutions are cut first, so their
    translations are never looked up), and a cell after the install cell that makes the
    self-checks answer in ``language`` (``VAE_LIB_LANG``, set before vae_lib is imported).
    Code, and text the catalogue does not hold (labels), stay as they are."""
    import tempfile

    from vae_lib._exercise_language import localized_links, page_messages, translate_myst

    out.mkdir(parents=True, exist_ok=True)
    links = localized_links(book_links(REPO), language, REPO)
    requirement = install_requirement(REPO)
    written = []
    with tempfile.TemporaryDirectory(prefix="vae-student-") as folder:
        for chapter in sorted((REPO / "chapters").glob("*.md")):
            text = translate_myst(strip_solutions(chapter.read_text(encoding="utf-8")),
                                  page_messages(REPO, language, f"chapters/{chapter.stem}"),
                                  where=chapter.name, strict=False)
            source = Path(folder) / chapter.name
            source.write_text(text, encoding="utf-8")
            notebook = export_chapter(source, links=links, keep_solutions=False, requirement=requirement)
            notebook.cells.insert(1, nbformat.v4.new_code_cell(
                f'import os\nos.environ["VAE_LIB_LANG"] = "{language}"  # the self-checks answer in this language',
                id="language"))
            path = out / f"{chapter.stem}.ipynb"
            content = nbformat.writes(notebook)
            atomic_write(path, lambda stream, content=content: stream.write(content.encode("utf-8")))
            written.append(path)
    return written


def build(build_site: bool = True, cache_from: Path | None = None) -> Path:
    """Write the student edition into ``student/`` and return its HTML folder.

    Args:
        build_site: also build the site (``False``: only the stripped chapters and notebooks).
        cache_from: an execution cache (``.jupyter_cache``) of a build of the full book to start
            from, so that unchanged chapters are not executed again.
    """
    shutil.rmtree(STUDENT, ignore_errors=True)
    shutil.copytree(
        REPO / "book", STUDENT / "book",
        ignore=shutil.ignore_patterns("_build", "node_modules", "student_edition.py", "locales",
                                      *(f"{Path(page).name}.md" for page in LECTURER_PAGES)),
    )
    config = STUDENT / "book" / "_config.yml"
    config.write_text(_student_config(config.read_text(encoding="utf-8")), encoding="utf-8")
    toc = STUDENT / "book" / "_toc.yml"
    toc.write_text(_student_toc(toc.read_text(encoding="utf-8")), encoding="utf-8")
    for page in (STUDENT / "book").glob("*.md"):
        page.write_text(student_page(page.read_text(encoding="utf-8")), encoding="utf-8")
    (STUDENT / "chapters").mkdir(parents=True)
    for chapter in sorted((REPO / "chapters").glob("*.md")):
        (STUDENT / "chapters" / chapter.name).write_text(strip_solutions(chapter.read_text(encoding="utf-8")),
                                                         encoding="utf-8")
    write_notebooks(STUDENT / "notebooks")
    bin_dir = Path(sys.executable).parent
    html = STUDENT / "book" / "_build" / "html"
    if build_site:
        if cache_from and Path(cache_from).is_dir():
            shutil.copytree(cache_from, STUDENT / "book" / "_build" / ".jupyter_cache")
        _run([str(bin_dir / "jupyter-book"), "build", str(STUDENT),
              "--config", str(config), "--toc", str(toc),
              "--path-output", str(STUDENT / "book"), "-W", "--keep-going"])
    leaks = find_leaks(book_fragments(), STUDENT)
    if leaks:
        raise SystemExit("Solution text leaked into the student edition:\n" + "\n".join(leaks[:20]))
    print(f"\nStudent edition: file://{html / 'book' / 'intro.html'}")
    print(f"Notebooks to hand out: {STUDENT / 'notebooks'}")
    print("Searched every file under student/ for solution text: none found.")
    return html


#: What the student edition's title adds, per language.
STUDENT_TITLE = {"en": " (student edition)", "zh_CN": "（学生版）"}


def build_translated(language: str) -> Path:
    """Build the student edition in ``language`` from ``student/`` (built in English first) and
    return its HTML folder, ``student/book/_build/html/<folder>``.

    The same Sphinx run as ``book/translate.py build`` (the edition's overrides from
    ``book/_ext/editions.py``, strict, the English build's execution results), on the student
    sources, with the catalogues read from the repository's ``book/locales`` (never copied into
    ``student/``: see the module's docstring).
    """
    from editions import EDITIONS, sphinx_overrides
    from jupyter_book.sphinx import build_sphinx

    build_folder = STUDENT / "book" / "_build"
    cache = build_folder / ".jupyter_cache"
    if not cache.is_dir():
        raise SystemExit(f"No execution cache in {cache}: build the English student edition first.")
    edition = EDITIONS[language]
    overrides = {**sphinx_overrides(language, REPO), "nb_execution_cache_path": str(cache),
                 "external_toc_path": str(STUDENT / "book" / "_toc.yml"), "latex_individualpages": False,
                 "vae_language_switch": False}
    overrides["html_title"] = overrides["project"] = f"{edition.title}{STUDENT_TITLE[language]}"
    outdir, doctrees = build_folder / language / "html", build_folder / language / ".doctrees"
    status = build_sphinx(STUDENT, outdir, noconfig=True, path_config=str(STUDENT / "book" / "_config.yml"),
                          confoverrides=overrides, builder="html", doctreedir=doctrees,
                          warningiserror=True, keep_going=True)
    if status:
        raise SystemExit(f"The {language} student edition's build failed (status {status}).")
    site = build_folder / "html" / edition.folder
    shutil.rmtree(site, ignore_errors=True)
    shutil.copytree(outdir, site)
    return site


def publish_student(notebooks: Path = STUDENT / "notebooks") -> str:
    """Commit the student notebooks, with the runtime environment for Binder, to ``student-notebooks``."""
    found = sorted(Path(notebooks).glob("*.ipynb"))
    if not found:
        raise SystemExit(f"No student notebooks in {notebooks}: run `make student` first.")
    extra = {"environment.yml": (REPO / "environment.yml").read_text(encoding="utf-8")}
    return publish(found, REPO, STUDENT_BRANCH, readme=_STUDENT_README, extra=extra)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Build the student edition (no solutions) into student/.")
    parser.add_argument("--cache-from", type=Path, default=REPO / "book" / "_build" / ".jupyter_cache",
                        help="execution cache of a full build to reuse (default: book/_build/.jupyter_cache)")
    parser.add_argument("--no-site", action="store_true", help="only write the stripped chapters and notebooks")
    parser.add_argument("--lang", default="en", choices=("en", *TRANSLATED_LANGUAGES),
                        help="also build the student edition in this language (default: English only)")
    parser.add_argument("--translated-only", action="store_true",
                        help="with --lang: student/ holds the English student edition already; add only the translated one")
    parser.add_argument("--publish", action="store_true",
                        help=f"only commit student/notebooks to the branch '{STUDENT_BRANCH}' (the student site's buttons)")
    args = parser.parse_args(argv)
    if args.publish:
        commit = publish_student()
        print(f"Committed the student notebooks to '{STUDENT_BRANCH}' ({commit[:10]}); "
              f"push it with: git push origin {STUDENT_BRANCH}")
        return
    if args.translated_only and (args.lang == "en" or not (STUDENT / "chapters").is_dir()):
        parser.error("--translated-only adds a --lang edition to a student/ that `make student` has built")
    html = None if args.translated_only else build(build_site=not args.no_site, cache_from=args.cache_from)
    if args.lang != "en":
        written = write_translated_notebooks(args.lang, STUDENT / "notebooks" / args.lang)
        site = build_translated(args.lang) if not args.no_site else None
        leaks = find_leaks(book_fragments(), STUDENT)
        if leaks:
            raise SystemExit("Solution text leaked into the student edition:\n" + "\n".join(leaks[:20]))
        if site:
            print(f"\nStudent edition ({args.lang}): file://{site / 'book' / 'intro.html'}")
        print(f"Notebooks to hand out ({args.lang}): {written[0].parent}")
        print("Searched every file under student/ for solution text (English and translated): none found.")
    return html


if __name__ == "__main__":
    main()
