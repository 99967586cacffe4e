"""Sphinx extension: repairs to the HTML the theme and other extensions write, for WCAG 2.1 AA.

The axe-core scan in ``tests/test_accessibility.py`` found these on every site; each is fixed
here, where the book's build can fix it, rather than excluded from the scan:

- the ipywidgets sliders had no accessible name and a value text that was not the read-out
  (``accessibility_static/vae-a11y.js``), and no visible keyboard focus (``vae-a11y.css``);
- the theme's header buttons and myst-nb's folded cells were named unlike their visible text,
  the book's title sat outside any landmark, and the references page's list had no list items
  (docutils' deprecated ``doc-biblioentry`` role): :data:`FIXES` repairs each written page
  (``build-finished``), the only place the theme's and docutils' HTML can be changed without
  copying their templates.

Figures' alt text (``mystnb: image: alt:`` in a code cell's metadata) is prose like any other: it
is translated through the page's catalogue. Sphinx extracts and translates an image's ``alt``
(``sphinx.util.nodes.extract_messages`` and the ``Locale`` transform), and myst-nb makes the
output images while it parses a notebook, before that transform, so an executed chapter's
figures are translated as they are. But the catalogues are extracted from chapters that are not
executed (``book/translate.py``), which have no output images: :class:`FigureAltMessages` gives
each such cell's alt text to the catalogue as a hidden message of its own.
"""

from __future__ import annotations

import re
from pathlib import Path

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.transforms import SphinxTransform

STATIC = Path(__file__).resolve().parent / "accessibility_static"

#: (what it repairs, pattern, replacement), applied to every HTML page the build writes. Each
#: is a fault of the theme (pydata-sphinx-theme 0.16 / sphinx-book-theme 1.3), myst-nb or
#: docutils that axe-core reports on every page.
FIXES: list[tuple[str, re.Pattern[str], str]] = [
    # label-content-name-mismatch: the search field's button says "Search Ctrl+K" but is named
    # "Search" (aria-label); without the label its name is what it says.
    ("search button named unlike its text",
     re.compile(r'(<button class="btn search-button-field [^"]*"[^>]*?) aria-label="[^"]*"'), r"\1"),
    # label-content-name-mismatch: the colour-mode button's icons carry titles ("Light", "Dark",
    # ...), which Font Awesome turns into <svg><title>, read as the button's text although its
    # name is "Color mode"; the icons are decoration.
    ("colour-mode icons read as text",
     re.compile(r'<i class="theme-switch ([^"]*)" data-mode="(\w+)"\s+title="[^"]*">'),
     r'<i aria-hidden="true" class="theme-switch \1" data-mode="\2">'),
    # label-content-name-mismatch: myst-nb's folded cells show "Show code cell source" but are
    # named "Toggle hidden content"; without the label the shown text names them.
    ("folded cell toggle named unlike its text",
     re.compile(r'<summary aria-label="[^"]*">(\s*<p class="collapsed admonition-title">)'), r"<summary>\1"),
    # region: the book's title link at the top of the sidebar sat outside every landmark.
    ("book title outside a landmark",
     re.compile(r'<div class="sidebar-primary-item">(\s*<a class="navbar-brand logo")'),
     r'<div class="sidebar-primary-item" role="navigation" aria-label="Book">\1'),
    # aria-required-children, aria-deprecated-role, aria-allowed-role: docutils (0.21) writes the
    # bibliography as role="list" whose entries have the deprecated DPUB role doc-biblioentry
    # instead of listitem.
    ("bibliography entries that are no list items",
     re.compile(r'(<div class="citation" id="[^"]*") role="doc-biblioentry"'), r'\1 role="listitem"'),
]


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


def cell_alt_text(metadata: dict) -> str | None:
    """The alt text a code cell's metadata gives its figures (``mystnb: image: alt:``), if any.

    >>> cell_alt_text({"mystnb": {"image": {"alt": "A bar chart"}}})
    'A bar chart'
    >>> cell_alt_text({"tags": ["hide-input"]}) is None
    True
    """
    options = (metadata or {}).get("mystnb") or {}
    for key in ("image", "render_image_options"):  # myst-nb's cell key and its field name
        alt = (options.get(key) or {}).get("alt")
        if isinstance(alt, str) and alt.strip():
            return alt
    return None


class FigureAltMessages(SphinxTransform):
    """Make the alt text of every figure cell a message of the page's catalogue.

    A cell whose outputs hold an image with that alt text needs nothing: Sphinx extracts and
    translates the image's ``alt`` itself. A cell without one (a chapter read without being
    executed, as the catalogues are extracted) gets a comment holding the alt text as a
    translatable inline with the cell's source line: the gettext builder extracts it, and no
    page shows it (comments are not written)."""

    default_priority = 15  # before sphinx.transforms.i18n.Locale (20), which translates the messages

    def apply(self, **kwargs) -> None:
        for cell in list(self.document.findall(_is_code_cell)):
            alt = cell_alt_text(cell.get("cell_metadata", {}))
            if alt is None or any(image.get("alt") == alt for image in cell.findall(nodes.image)):
                continue
            message = nodes.inline(alt, alt, translatable=True)
            message.source, message.line = cell.source or self.document["source"], cell.line or 1
            holder = nodes.comment("", "", classes=["figure-alt-message"])
            holder.source, holder.line = message.source, message.line
            holder += message
            cell += holder


def _is_code_cell(node) -> bool:
    return isinstance(node, nodes.container) and node.get("nb_element") == "cell_code"


def setup(app: Sphinx) -> dict:
    app.add_transform(FigureAltMessages)
    app.connect("builder-inited", _add_static)
    app.connect("build-finished", _repair_pages)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
