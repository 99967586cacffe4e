"""Sphinx extension: the single-page build that ``make pdf`` prints (``book/print_book.py``).

Only for the ``singlehtml`` builder:

- every node an extension taught the ``html`` builder to write is written the same way by the
  single-page builder. (Sphinx looks handlers up by builder name first, and sphinx-exercise
  registers some for ``singlehtml``, so that builder does not fall back to the ``html`` ones:
  myst-nb's folded code cells would stop the build.)
- folded code cells (``hide-input``) are printed open: on paper nothing can be clicked;
- a print stylesheet (``print_static/vae-print.css``): no navigation, no buttons, solutions
  printed open, figures kept whole on a page;
- the script that turns the theme's printed contents list into one with sections and page
  numbers (``print_static/vae-print-contents.js``); it runs only when ``print_book.py`` calls it.
"""

from __future__ import annotations

from html import escape
from pathlib import Path

from myst_nb.sphinx_ import HideCodeCellNode
from sphinx.application import Sphinx

STATIC = Path(__file__).resolve().parent / "print_static"


def visit_open_details(self, node: HideCodeCellNode) -> None:
    classes = " ".join(node["classes"])
    self.body.append(f'<details open class="admonition hide {escape(classes)}">\n'
                     '<summary class="print-hidden"></summary>\n')


def depart_open_details(self, node: HideCodeCellNode) -> None:
    self.body.append("</details>\n")


def _prepare_single_page(app: Sphinx) -> None:
    if app.builder.name != "singlehtml":
        return
    handlers = app.registry.translation_handlers
    single = handlers.setdefault("singlehtml", {})
    for node_name, visitors in handlers.get("html", {}).items():
        single.setdefault(node_name, visitors)
    single[HideCodeCellNode.__name__] = (visit_open_details, depart_open_details)
    app.config.html_static_path = [*app.config.html_static_path, str(STATIC)]
    app.add_css_file("vae-print.css")
    app.add_js_file("vae-print-contents.js")


def setup(app: Sphinx) -> dict:
    app.connect("builder-inited", _prepare_single_page)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
