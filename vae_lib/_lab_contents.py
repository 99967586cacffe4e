"""The chapters in JupyterLab: jupytext's contents manager, plus the book's LaTeX macros.

``make lab`` (and Binder, through ``postBuild``) start JupyterLab with
``--ServerApp.contents_manager_class=vae_lib._lab_contents.BookContentsManager``. It is
jupytext's contents manager (a chapter opens as a notebook) with one addition: jupyterlab-myst
reads MathJax macros only from a front-matter block in a notebook's first cell, which a chapter
cannot have (Jupyter Book would print it). So when a chapter is opened, a first cell holding
the book's macros (``sphinx.config.mathjax3_config`` in ``book/_config.yml``, the same the site
uses) is added, read-only; when it is saved, that cell is taken out again, so the file on disk
never changes because of it.

>>> notebook = {"cells": [], "metadata": {}}
>>> add_macro_cell(notebook, {"E": "\\\\mathbb{E}"})["cells"][0]["source"].splitlines()[:3]
['---', 'math:', '  \\\\E: \\\\mathbb{E}']
>>> remove_macro_cells(notebook)["cells"]
[]
"""

from __future__ import annotations

import yaml
from jupyter_server.services.contents.largefilemanager import AsyncLargeFileManager
from jupytext.async_contentsmanager import build_async_jupytext_contents_manager_class

from vae_lib._book_sources import REPO

__all__ = ["BookContentsManager", "add_macro_cell", "remove_macro_cells", "book_macros", "ROLE"]

#: ``cell.metadata["vae_book"]["role"]`` of the added cell.
ROLE = "macros"


def book_macros() -> dict[str, str]:
    """The book's MathJax macros, from ``book/_config.yml`` (empty when there is no book around)."""
    config_path = REPO / "book" / "_config.yml"
    if not config_path.is_file():
        return {}
    config = yaml.safe_load(config_path.read_text(encoding="utf-8")) or {}
    tex = (((config.get("sphinx") or {}).get("config") or {}).get("mathjax3_config") or {}).get("tex") or {}
    return {name: value for name, value in (tex.get("macros") or {}).items() if isinstance(value, str)}


def add_macro_cell(notebook: dict, macros: dict[str, str]) -> dict:
    """Put a read-only first cell with the macros as MyST front matter into ``notebook`` (a dict)."""
    if not macros or any(_is_macro_cell(cell) for cell in notebook.get("cells", [])):
        return notebook
    front = yaml.safe_dump({"math": {f"\\{name}": value for name, value in macros.items()}},
                           allow_unicode=True, default_flow_style=False, sort_keys=False)
    cell = {"cell_type": "markdown", "id": "vae-book-macros", "source": f"---\n{front}---",
            "metadata": {"vae_book": {"role": ROLE}, "editable": False, "deletable": False,
                         "jupyter": {"source_hidden": True}}, "attachments": {}}
    notebook["cells"] = [cell, *notebook.get("cells", [])]
    return notebook


def remove_macro_cells(notebook: dict) -> dict:
    """Take the macro cell out of ``notebook`` (a dict), before it is written."""
    notebook["cells"] = [cell for cell in notebook.get("cells", []) if not _is_macro_cell(cell)]
    return notebook


def _is_macro_cell(cell: dict) -> bool:
    return ((cell.get("metadata") or {}).get("vae_book") or {}).get("role") == ROLE


_JupytextContentsManager = build_async_jupytext_contents_manager_class(AsyncLargeFileManager)


class BookContentsManager(_JupytextContentsManager):
    """jupytext's contents manager that shows the book's macros to jupyterlab-myst (see the module)."""

    async def get(self, path, content=True, type=None, format=None, **kwargs):  # noqa: A002 (the server's names)
        model = await super().get(path, content=content, type=type, format=format, **kwargs)
        if content and model.get("type") == "notebook" and str(path).endswith(".md") and model.get("content"):
            add_macro_cell(model["content"], book_macros())
        return model

    async def save(self, model, path=""):
        if model.get("type") == "notebook" and model.get("content"):
            remove_macro_cells(model["content"])
        return await super().save(model, path)
