"""Print the whole book as one PDF, offline: what `make pdf` runs.

    python book/print_book.py                       # book/_build/pdf/vae-book.pdf (the lecturer's copy)
    python book/print_book.py --edition student     # book/_build/pdf/vae-book-student.pdf (no solutions)
    python book/print_book.py --path-output DIR     # build into DIR/_build (reusing its execution cache)
    python book/print_book.py --lang zh_CN          # book/_build/pdf/vae-book-zh_CN.pdf (the Chinese edition)
    python book/print_book.py --edition student --lang zh_CN   # book/_build/pdf/vae-book-student-zh_CN.pdf

The route (the others need a network download or TeX): build the book as a single HTML page
(``--builder singlehtml``; executed chapters come from the same execution cache as
``make book``, so chapters are not run again when the site is built), then print that page
with headless Chromium, driven by Playwright. MathJax typesets the math before printing. A
single page cannot show ipywidgets, so each widget prints as the picture of its starting
position that it carries (``image/png``, preferred for this builder in ``book/_config.yml``);
``book/_ext/print_layout.py`` opens solutions and folded code for print.

What makes the PDF navigable:

- every page's footer carries the book's title and "page N of M";
- the contents list names every chapter and section with its page number. The page is printed
  twice: first with a placeholder in every entry (``book/_ext/print_static/vae-print-contents.js``),
  to read back from the PDF on which page each heading landed, then with the real numbers,
  which take the same room. The numbers are read back once more and must not have moved. Each
  print starts from the page freshly loaded (a second print of one loaded page was laid out
  differently by Chromium);
- bookmarks (the PDF outline) for the same chapters and sections, added with pypdf;
- the PDF is tagged (a structure tree, for screen readers) and declares the book's language.

A translated edition (``--lang zh_CN``) is built as one page by the same Sphinx run as
``book/translate.py build`` (the edition's overrides from ``book/_ext/editions.py``, the English
build's execution cache, so no chapter runs again), with the singlehtml builder, into
``_build/<language>/singlehtml``; it is printed the same way, with the footer in its language.
The page declares ``lang="zh-CN"``, which the tagged PDF carries, and Chromium embeds the fonts
it used for the Chinese text (a CJK font must be installed: ``fonts-wqy-microhei`` or Noto CJK).

The student edition (``--edition student``) is written by ``book/student_edition.py`` (its
site rebuilt too if ``make student`` had built one), built as one page reusing this build's
execution cache, printed the same way, and searched for solution text; a PDF with a leak is
deleted.
"""

from __future__ import annotations

import argparse
import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from vae_lib import _printing

REPO = Path(__file__).resolve().parents[1]
#: The PDF of each edition, in PATH_OUTPUT/_build/pdf (a translated one adds ``-<language>``).
PDF_NAMES = {"lecturer": "vae-book.pdf", "student": "vae-book-student.pdf"}
#: The languages the book prints in (``book/_ext/editions.py`` has their editions).
LANGUAGES = ("en", "zh_CN")
#: Each page's footer, per language (Chromium fills the spans).
FOOTERS = {"en": _printing.PAGE_FOOTER,
           "zh_CN": _printing.PAGE_FOOTER.replace(
               '&middot; page <span class="pageNumber"></span> of <span class="totalPages"></span>',
               '&middot; 第 <span class="pageNumber"></span> 页，共 <span class="totalPages"></span> 页')}


def pdf_name(edition: str, language: str = "en") -> str:
    """The file name of an edition's PDF in a language.

    >>> pdf_name("student", "zh_CN")
    'vae-book-student-zh_CN.pdf'
    """
    name = PDF_NAMES[edition]
    return name if language == "en" else name.replace(".pdf", f"-{language}.pdf")
#: Prints of the page before the contents' page numbers must have settled (two suffice when
#: writing the numbers moves nothing, as the layout of the contents list ensures).
MAX_PRINTS = 3


def build_single_page(path_output: Path, source: Path = REPO) -> Path:
    """Build the book in ``source`` (its ``book/_config.yml`` and ``book/_toc.yml``) as one HTML page
    under ``path_output/_build/singlehtml``; return the page."""
    config, toc = source / "book" / "_config.yml", source / "book" / "_toc.yml"
    command = [str(Path(sys.executable).with_name("jupyter-book")), "build", str(source),
               "--config", str(config), "--toc", str(toc),
               "--path-output", str(path_output), "--builder", "singlehtml", "-W", "--keep-going"]
    print("+", " ".join(command), flush=True)
    subprocess.run(command, cwd=REPO, check=True)
    return _page_in_build_folder(Path(path_output) / "_build" / "singlehtml", toc)


def build_translated_single_page(path_output: Path, language: str, source: Path = REPO,
                                 cache: Path | None = None) -> Path:
    """Build the book in ``source`` as one HTML page in ``language``, from the execution cache
    ``cache`` (default: ``path_output/_build/.jupyter_cache``, the English build's), under
    ``path_output/_build/<language>/singlehtml``; return the page."""
    sys.path.insert(0, str(REPO / "book" / "_ext"))
    from editions import sphinx_overrides
    from jupyter_book.sphinx import build_sphinx

    config, toc = source / "book" / "_config.yml", source / "book" / "_toc.yml"
    cache = Path(cache or Path(path_output) / "_build" / ".jupyter_cache")
    if not cache.is_dir():
        raise SystemExit(f"No execution cache in {cache}: build the English edition first (make book).")
    folder = Path(path_output) / "_build" / language / "singlehtml"
    overrides = {**sphinx_overrides(language, REPO), "nb_execution_cache_path": str(cache),
                 "external_toc_path": str(toc), "latex_individualpages": False}
    if Path(source) != REPO:
        overrides["vae_language_switch"] = False  # the student edition: no other edition beside it
    print(f"+ single-page build of {source} in {language}", flush=True)
    status = build_sphinx(source, folder, noconfig=True, path_config=str(config), confoverrides=overrides,
                          builder="singlehtml", doctreedir=folder.parent / ".doctrees-singlehtml",
                          warningiserror=True, keep_going=True)
    if status:
        raise SystemExit(f"The {language} single-page build failed (status {status}).")
    return _page_in_build_folder(folder, toc)


def _page_in_build_folder(folder: Path, toc: Path) -> Path:
    root = yaml.safe_load(toc.read_text(encoding="utf-8"))["root"]
    written = folder / f"{root}.html"
    if not written.is_file():
        raise SystemExit(f"The single-page build wrote no {written}.")
    # The builder writes the page where the root document lives (book/intro.html) but links its
    # styles, scripts and images as if it sat in the build folder itself: put it there.
    page = folder / "vae-book.html"
    page.write_text(written.read_text(encoding="utf-8"), encoding="utf-8")
    return page


def print_book(page_html: Path, pdf: Path, *, footer: str = _printing.PAGE_FOOTER) -> list[dict]:
    """Print the single page ``page_html`` to ``pdf`` with page numbers in its contents list and
    its footers, and bookmarks; return the contents entries (``level``, ``title``, ``target``,
    ``page``)."""
    pdf = Path(pdf)
    draft = pdf.with_name(f".{pdf.stem}.draft.pdf")
    try:
        with _printing.open_in_browser(page_html) as page:
            printed = None  # the page numbers written in the contents list (None: placeholders)
            for count in range(1, MAX_PRINTS + 1):
                if count > 1:
                    # Every print starts from a freshly loaded page: Chromium laid out a second
                    # print of the same page differently from the first (chapter 9's first
                    # section moved by a page on every other print, with nothing else changed).
                    _printing.reload_page(page)
                entries = page.evaluate("() => vaePrintContents.build()")
                if printed is not None:
                    page.evaluate("(pages) => vaePrintContents.setPages(pages)", printed)
                print(f"printing {page_html.name} to PDF ({count})", flush=True)
                _printing.save_pdf(page, draft, footer=footer)
                landed = _entry_pages(entries, _printing.destination_pages(draft))
                if landed == printed:
                    break
                if printed is not None:
                    moved = [f"{target}: {printed[target]} -> {landed[target]}"
                             for target in landed if landed[target] != printed[target]]
                    print(f"  {len(moved)} contents entries moved: {', '.join(moved[:8])}", flush=True)
                printed = landed
            else:
                raise RuntimeError(f"The contents' page numbers still moved after {MAX_PRINTS} prints.")
        _printing.add_bookmarks(draft, [(entry["level"], entry["title"], entry["target"]) for entry in entries])
        draft.replace(pdf)
    finally:
        draft.unlink(missing_ok=True)
    return [{**entry, "page": printed[entry["target"]]} for entry in entries]


def _entry_pages(entries: list[dict], destinations: dict[str, tuple[int, float]]) -> dict[str, int]:
    missing = [entry["title"] for entry in entries if entry["target"] not in destinations]
    if missing:
        raise RuntimeError(f"The PDF has no link target for the contents entries {missing[:5]}.")
    return {entry["target"]: destinations[entry["target"]][0] for entry in entries}


def student_single_page(cache_from: Path, language: str = "en") -> tuple[Path, set[str]]:
    """Write the student edition's sources (``book/student_edition.py``) and build them as one
    page, reusing the execution cache ``cache_from``; return the page and the solution fragments
    that must not appear in it.

    The student site is built too when there was one (``make student``): the edition is written
    into an emptied ``student/``, and the site must not be lost or left behind the sources.
    """
    import student_edition  # book/, beside this file

    output = student_edition.STUDENT / "book"
    had_site = (output / "_build" / "html").is_dir()
    student_edition.build(build_site=had_site, cache_from=cache_from)
    cache = output / "_build" / ".jupyter_cache"
    if not cache.exists() and Path(cache_from).is_dir():
        shutil.copytree(cache_from, cache)
    if language != "en":
        page = build_translated_single_page(output, language, source=student_edition.STUDENT, cache=cache)
    else:
        page = build_single_page(output, source=student_edition.STUDENT)
    return page, student_edition.book_fragments()


def has_chinese_font() -> bool | None:
    """Whether the system has a font for Chinese (the glossary's terms); ``None`` when it cannot tell."""
    if shutil.which("fc-list") is None:
        return None
    listed = subprocess.run(["fc-list", ":lang=zh", "family"], capture_output=True, text=True, check=False)
    return bool(listed.stdout.strip())


def _missing_tools() -> list[str]:
    missing = []
    if _printing.find_chromium() is None:
        missing.append("Chromium to print the book: install it (Debian/Ubuntu: apt-get install chromium) "
                       "or set VAE_BOOK_CHROMIUM=/path/to/chrome")
    for module in ("playwright", "pypdf"):
        if importlib.util.find_spec(module) is None:
            missing.append(f"{module} (the dev extra): pip install -c constraints.txt -e '.[dev]'")
    return missing


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Print the whole book as one PDF (offline).")
    parser.add_argument("--edition", choices=sorted(PDF_NAMES), default="lecturer",
                        help="lecturer: the book as the site shows it, solutions included (default); "
                             "student: without any solution")
    parser.add_argument("--path-output", type=Path, default=REPO / "book",
                        help="the build folder whose execution cache is reused, and where the PDF goes "
                             "(PATH_OUTPUT/_build/pdf; default: book, as `make book`)")
    parser.add_argument("--lang", choices=LANGUAGES, default="en",
                        help="the edition's language (zh_CN: the Chinese edition, from the English build's results)")
    parser.add_argument("--pdf", type=Path, default=None,
                        help="the PDF to write (default: PATH_OUTPUT/_build/pdf/vae-book[-student].pdf)")
    args = parser.parse_args(argv)
    missing = _missing_tools()
    if missing:
        print("\n".join(f"make pdf needs {tool}." for tool in missing), file=sys.stderr)
        return 1
    if has_chinese_font() is False:
        print("note: no font for Chinese is installed, so the glossary's Chinese terms will print as boxes.\n"
              "      Install one (Debian/Ubuntu: apt-get install fonts-wqy-microhei) and run make pdf again.")
    pdf = args.pdf or args.path_output / "_build" / "pdf" / pdf_name(args.edition, args.lang)
    pdf.parent.mkdir(parents=True, exist_ok=True)
    if args.edition == "student":
        page, fragments = student_single_page(args.path_output / "_build" / ".jupyter_cache", args.lang)
    elif args.lang != "en":
        page, fragments = build_translated_single_page(args.path_output, args.lang), set()
    else:
        page, fragments = build_single_page(args.path_output), set()
    entries = print_book(page, pdf, footer=FOOTERS[args.lang])
    if fragments:
        from vae_lib._solutions import find_leaks

        leaks = find_leaks(fragments, pdf) + find_leaks(fragments, page)
        if leaks:
            pdf.unlink()
            print("Solution text leaked into the student PDF (deleted):\n" + "\n".join(leaks[:20]), file=sys.stderr)
            return 1
        print("Searched the student PDF and the page it was printed from for solution text: none found.")
    print(f"\nThe book as a PDF ({args.edition}'s copy, {len(entries)} contents entries and bookmarks): {pdf}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
