"""The printable sheet of an assignment: its exercises as one HTML page, and that page as a PDF.

The exercise texts are MyST Markdown with math; the notebook exporter turns them into CommonMark
(:mod:`vae_lib._notebook_export`, the same text the assignment notebook shows), the sheet renders
that with markdown-it (what the book's own parser is built on) and typesets the math with the
MathJax the site serves
(``book/_offline``, installed by ``make book``) in headless Chromium. The saved ``sheet.html``
holds the typeset math as inline SVG, so it needs no script or network to show; ``sheet.pdf``
is that page printed.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

from markdown_it import MarkdownIt
from mdit_py_plugins.dollarmath import dollarmath_plugin

from vae_lib import _exercise_language, _printing
from vae_lib._atomic_files import atomic_write
from vae_lib._book_sources import REPO, Chapter, Exercise, check_summary
from vae_lib._myst_markdown import Links
from vae_lib._notebook_export import export_markdown
from vae_lib.i18n import tr

__all__ = ["sheet_html", "write_sheet"]

OFFLINE_MATHJAX = REPO / "book" / "_offline" / "mathjax" / "tex-mml-chtml.js"
CDN_MATHJAX = "https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex-mml-chtml.js"

_STYLE = """
body { font-family: "DejaVu Serif", Georgia, "Noto Serif CJK SC", "Noto Sans CJK SC",
       "WenQuanYi Micro Hei", serif; max-width: 44em; margin: 2em auto; line-height: 1.45;
       color: #111; padding: 0 1em; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; }
h2 { font-size: 1.15em; margin: 1.6em 0 0.3em; border-bottom: 1px solid #999; }
.meta, .check { color: #444; font-size: 0.9em; }
.check { border-left: 3px solid #bbb; padding-left: 0.7em; margin-top: 0.6em; }
code { font-family: "DejaVu Sans Mono", monospace; font-size: 0.9em; }
.answer-space { height: 6em; }
section.exercise { break-inside: avoid; }
@page { size: A4; margin: 18mm; }
"""


def _markdown() -> MarkdownIt:
    def math(content: str, options: dict) -> str:
        opened, closed = (r"\[", r"\]") if options.get("display_mode") else (r"\(", r"\)")
        return html.escape(f"{opened}{content}{closed}")

    return MarkdownIt("commonmark").enable("table").use(dollarmath_plugin, renderer=math, double_inline=True)


def _mathjax(source: str) -> str:
    config = {"svg": {"fontCache": "global"},
              "loader": {"load": ["output/svg"]}, "startup": {"output": "svg"}}
    return (f"<script>window.MathJax = {json.dumps(config)};</script>\n"
            f'<script class="mathjax" src="{source}"></script>')


def sheet_html(title: str, exercises: list[tuple[Exercise, Chapter]], links: Links, *, mathjax_src: str,
               language: str = "en", repo: Path = REPO) -> str:
    """The sheet as an HTML page whose math MathJax (loaded from ``mathjax_src``) will typeset.

    ``exercises`` are the chosen exercises with their chapters, in order, their statements in
    ``language`` already (:func:`vae_lib.assign.localized`); ``links`` what the texts' roles refer
    to (:func:`vae_lib._notebook_export.book_links`). The sheet's own words, the headings and the
    references' titles are made here in ``language``.
    """
    markdown = _markdown()
    links = _exercise_language.localized_links(links, language, repo)
    sections = []
    for exercise, chapter in exercises:
        chapter_title = _exercise_language.chapter_title(chapter, language, repo)
        where = (_exercise_language.join_label(tr("Chapter {number}:", language=language, number=chapter.number),
                                               chapter_title) if chapter.number else chapter_title)
        check = ""
        if exercise.check_source:
            # The check's summary is its docstring's first line, in English: a translated sheet leaves it out.
            verifies = check_summary(chapter, exercise) if language == "en" else None
            call = html.escape(f"{exercise.check_function}(my_answer)")
            check = (f'<p class="check">{html.escape(tr("Self-check in the notebook:", language=language))} '
                     f"<code>{call}</code>" + (f" checks {html.escape(verifies)}" if verifies else "") + "</p>")
        heading = _exercise_language.exercise_heading(exercise, language, repo)
        sections.append(
            f'<section class="exercise" id="{html.escape(exercise.label)}">\n'
            f"<h2>{markdown.renderInline(heading)}</h2>\n"
            f'<p class="meta">{html.escape(where)} · {html.escape(tr("label", language=language))} '
            f"<code>{html.escape(exercise.label)}</code></p>\n"
            f"{markdown.render(export_markdown(exercise.body, links, keep_solutions=False, where=exercise.label))}"
            f"\n{check}\n"
            '<div class="answer-space"></div>\n</section>')
    book = tr("Variational Autoencoders, from Bayes' rule to MNIST", language=language)
    count = tr("Exercises: {count}, from the book", language=language, count=len(exercises))
    return (f'<!DOCTYPE html>\n<html lang="{language.replace("_", "-")}"><head><meta charset="utf-8">\n'
            f"<title>{html.escape(title)}</title>\n<style>{_STYLE}</style>\n"
            f"{_mathjax(mathjax_src)}\n</head><body>\n<h1>{html.escape(title)}</h1>\n"
            f'<p class="meta">{html.escape(count)} <em>{html.escape(book)}</em>.</p>\n'
            + "\n".join(sections) + "\n</body></html>\n")


def _without_scripts(dom: str) -> str:
    """The typeset page without MathJax's scripts (the math is already SVG in it)."""
    dom = re.sub(r"<script\b[^>]*>.*?</script>", "", dom, flags=re.S)
    return dom if dom.lstrip().lower().startswith("<!doctype") else "<!DOCTYPE html>\n" + dom


def write_sheet(title: str, exercises: list[tuple[Exercise, Chapter]], links: Links, out: Path, *,
                pdf: bool = True, language: str = "en", repo: Path = REPO) -> list[Path]:
    """Write ``sheet.html`` (and ``sheet.pdf`` when ``pdf`` and Chromium are there); return the paths."""
    out = Path(out)
    page = out / "sheet.html"
    can_typeset = OFFLINE_MATHJAX.is_file() and _printing.find_chromium() is not None
    if not can_typeset:
        print("note: sheet.html loads MathJax from a CDN to show its math (no Chromium or no offline "
              "MathJax: run `make book` and install chromium for a self-contained sheet and its PDF).")
        page.write_text(sheet_html(title, exercises, links, mathjax_src=CDN_MATHJAX, language=language, repo=repo),
                        encoding="utf-8")
        return [page]
    source = out / "sheet.source.html"
    source.write_text(sheet_html(title, exercises, links, mathjax_src=OFFLINE_MATHJAX.as_uri(), language=language,
                                 repo=repo), encoding="utf-8")
    try:
        typeset = _without_scripts(_printing.typeset_html(source))
    finally:
        source.unlink(missing_ok=True)
    if "<mjx-container" not in typeset and "\\(" in typeset:
        raise RuntimeError("MathJax did not typeset the sheet's math; is book/_offline complete?")
    atomic_write(page, lambda stream: stream.write(typeset.encode("utf-8")))
    written = [page]
    if pdf:
        written.append(_printing.print_to_pdf(page, out / "sheet.pdf"))
    return written
