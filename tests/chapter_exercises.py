"""Helpers for the tests of a chapter's exercises: read its blocks, run its solutions and checks."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import jupytext

REPO = Path(__file__).resolve().parents[1]


def run(check, answer):
    """Call a self-check; return (result, printed text)."""
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        result = check(answer)
    return result, buffer.getvalue()


def blocks(chapter: Path, directive: str) -> dict[str, str]:
    """``{label: body}`` of the chapter's ``{exercise}`` or ``{solution}`` blocks."""
    text = chapter.read_text(encoding="utf-8")
    if directive == "solution":
        pattern = r"^````\{solution\} (\S+)\n(.*?)^````$"
    else:
        pattern = r"^```\{exercise\}[^\n]*\n:label: (\S+)\n(.*?)^```$"
    return dict(re.findall(pattern, text, flags=re.S | re.M))


def run_solution(chapter: Path, label: str, namespace: dict) -> str:
    """Execute the python blocks of a solution in ``namespace``; return what they printed."""
    body = blocks(chapter, "solution")[label]
    code_blocks = re.findall(r"```python\n(.*?)```", body, flags=re.S)
    assert code_blocks, f"solution {label} has no python code"
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        for code in code_blocks:
            exec(compile(code, f"<solution {label}>", "exec"), namespace)  # noqa: S102 - our own chapter
    return buffer.getvalue()


def code_cells(chapter: Path) -> str:
    """The source of every code cell of the chapter, joined."""
    notebook = jupytext.reads(chapter.read_text(encoding="utf-8"), fmt="md:myst")
    return "\n".join(cell.source for cell in notebook.cells if cell.cell_type == "code")
