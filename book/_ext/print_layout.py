"""Sphinx extension: the single-page build that ``make pdf`` prints (``book/print_book.py``).

Only for the ``singlehtml`` builder:

- folded code cells (``hide-input``) are printed open: on paper nothing can be clicked;
  myst-nb registers its folding node for the ``html`` builder only, and the single-page builder
  needs its own visitor anyway;
- a print stylesheet (``print_static/vae-print.css``): no navigation, no buttons, solutions
  printed open, figures kept whole on a page.
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


def _add_print_stylesheet(app: Sphinx) -> None:
    if app.builder.name != "singlehtml":
        return
    app.config.html_static_path = [*app.config.html_static_path, str(STATIC)]
    app.add_css_file("vae-print.css")


def setup(app: Sphinx) -> dict:
    app.add_node(HideCodeCellNode, override=True, singlehtml=(visit_open_details, depart_open_details))
    app.connect("builder-inited", _add_print_stylesheet)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
