"""Sphinx extension: each chapter's execution settings, from ``book/chapters.yml``.

A chapter's cell time limit and other myst-nb settings used to sit in its front matter
(``mystnb:``), which JupyterLab drops when it saves the chapter through jupytext. They now live
in one table, ``book/chapters.yml``, that the build and the tests read: when Sphinx reads a
chapter, this extension writes the chapter's settings into its front matter, in memory only.

The cell limit scales with the machine: right before a chapter is read (and, if its code
changed, executed), a short CPU probe measures how much slower this machine is, now, than the
quiet 2-core machine the budgets were set on (:func:`machine_slowdown`: the probe's wall time
over its CPU time there, so a slow CPU and a busy one both count). The limit is the chapter's
budget times that slowdown, at least the budget and at most ``max_slowdown`` times it: a
fresh-clone build on a machine with a load average of 5 gets the time its training needs, and
a cell that hangs still fails the build.
"""

from __future__ import annotations

import re
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

import yaml
from sphinx.application import Sphinx
from sphinx.util import logging

TABLE = Path(__file__).resolve().parents[1] / "chapters.yml"
_FRONT_MATTER = re.compile(r"\A---\n(?P<yaml>.*?\n)---\n", flags=re.S)
logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ChapterSettings:
    """One chapter's row of ``book/chapters.yml``."""

    budget: int
    render_markdown_format: str | None = None


@dataclass(frozen=True)
class Table:
    chapters: dict[str, ChapterSettings]
    reference_probe_seconds: float
    max_slowdown: float


def read_table(path: Path = TABLE) -> Table:
    """The table, checked: every row has an integer budget between 1 and 1800 seconds."""
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    chapters = {}
    for docname, row in (data.get("chapters") or {}).items():
        budget = (row or {}).get("budget")
        if not isinstance(budget, int) or not 0 < budget <= 1800:
            raise ValueError(f"{path}: {docname} needs a budget, a whole number of seconds from 1 to 1800.")
        unknown = set(row) - {"budget", "render_markdown_format"}
        if unknown:
            raise ValueError(f"{path}: {docname} has unknown settings {sorted(unknown)}.")
        chapters[docname] = ChapterSettings(budget, row.get("render_markdown_format"))
    return Table(chapters, float(data["reference_probe_seconds"]), float(data["max_slowdown"]))


def probe_seconds(repeats: int = 3) -> float:
    """Wall seconds of a fixed piece of CPU work (the median of ``repeats`` runs)."""
    times = []
    for _ in range(repeats):
        start, total = time.perf_counter(), 0
        for number in range(2_000_000):
            total += number * number % 7
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def machine_slowdown(table: Table, probe=None) -> float:
    """How many times slower this machine runs the probe now than the reference machine."""
    return (probe or probe_seconds)() / table.reference_probe_seconds


def cell_limit(budget: int, slowdown: float, max_slowdown: float) -> int:
    """The budget scaled by the slowdown, never below the budget nor above ``max_slowdown`` times it.

    >>> cell_limit(600, 2.5, 6), cell_limit(600, 0.4, 6), cell_limit(600, 40, 6)
    (1500, 600, 3600)
    """
    return int(round(budget * min(max(slowdown, 1.0), max_slowdown)))


def with_settings(text: str, settings: ChapterSettings, limit: int) -> str:
    """The chapter's text with its settings in the front matter's ``mystnb:`` block (in memory).

    >>> with_settings("---\\nkernelspec: {name: python3}\\n---\\nx", ChapterSettings(120), 300).splitlines()[1:3]
    ['kernelspec: {name: python3}', 'mystnb:']
    """
    match = _FRONT_MATTER.match(text)
    if match is None:
        raise ValueError("a chapter starts with its jupytext front matter (---)")
    front = yaml.safe_load(match.group("yaml")) or {}
    if "mystnb" in front:
        raise ValueError("a chapter's mystnb settings belong in book/chapters.yml, not in its front matter "
                         "(JupyterLab drops them when it saves the chapter)")
    mystnb = {"execution_timeout": limit}
    if settings.render_markdown_format:
        mystnb["render_markdown_format"] = settings.render_markdown_format
    block = yaml.safe_dump({"mystnb": mystnb}, sort_keys=False)
    return f"---\n{match.group('yaml')}{block}---\n" + text[match.end():]


def _apply(app: Sphinx, docname: str, source: list[str]) -> None:
    table = read_table()
    settings = table.chapters.get(docname)
    if settings is None:
        return
    slowdown = machine_slowdown(table)
    limit = cell_limit(settings.budget, slowdown, table.max_slowdown)
    logger.info(f"[chapter settings] {docname}: cell limit {limit} s (budget {settings.budget} s x measured "
                f"slowdown {slowdown:.2f})")
    source[0] = with_settings(source[0], settings, limit)


def setup(app: Sphinx) -> dict:
    read_table()  # a broken table fails the build at once, with its message
    app.connect("source-read", _apply)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
