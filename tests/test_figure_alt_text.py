"""Every figure a chapter draws has alt text in its cell's metadata (checked on the sources, fast;
tests/test_accessibility.py checks what the built pages show)."""

from __future__ import annotations

from pathlib import Path

import jupytext
import pytest

from page_audit import bad_alt_text

REPO = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((REPO / "chapters").glob("*.md"))


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda path: path.stem)
def test_every_figure_cell_has_alt_text(chapter):
    notebook = jupytext.read(chapter)
    problems, figures = [], 0
    for number, cell in enumerate(c for c in notebook.cells if c.cell_type == "code"):
        if "plt.show()" not in cell.source:
            continue
        figures += 1
        alt = cell.metadata.get("mystnb", {}).get("image", {}).get("alt", "")
        why = bad_alt_text({"alt": alt, "role": None})
        if why is None and len(alt.split()) < 8:
            why = "too short to say what is plotted and what to notice"
        if why:
            first_line = cell.source.strip().splitlines()[0]
            problems.append(f"code cell {number} ({first_line[:50]!r}): {why}; add `mystnb: image: alt:`")
    assert figures, f"{chapter.name} draws no figure"
    assert not problems, "\n".join(problems)
