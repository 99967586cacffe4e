"""Build the student edition: the same book with every solution removed.

    python book/student_edition.py            # what `make student` runs

writes ``student/``: the chapters with solutions stripped (``student/chapters``), the site
built from them (``student/book/_build/html``) and unexecuted notebooks to hand out
(``student/notebooks``). Hiding solutions with a theme option is not enough (they would
still ship in the page sources, the downloads and the notebooks), so the solutions are cut
from the sources themselves.

What counts as a solution, so that authors can rely on it:

- a ``{solution}`` directive (backtick or colon fence, any fence length, nested blocks inside);
- everything between ``{solution-start}`` and ``{solution-end}``;
- a code cell tagged ``solution`` (``:tags: [solution]``).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
STUDENT = REPO / "student"

_FENCE = re.compile(r"^(?P<indent>\s*)(?P<fence>`{3,}|:{3,})\s*(?P<info>.*)$")


def _closes(line: str, fence: str) -> bool:
    stripped = line.strip()
    return len(stripped) >= len(fence) and set(stripped) == {fence[0]}


def _is_tagged_solution_cell(lines: list[str], start: int) -> bool:
    """Whether the code cell opening at lines[start] carries the tag ``solution``."""
    for line in lines[start + 1:start + 8]:
        match = re.match(r"\s*:?tags:\s*\[(.*)\]", line)
        if match:
            return "solution" in [tag.strip().strip("'\"") for tag in match.group(1).split(",")]
        if line.strip() and not line.strip().startswith((":", "---")) and ":" not in line:
            return False
    return False


def strip_solutions(text: str) -> str:
    """Return MyST text with every solution removed (see the module docstring).

    >>> strip_solutions("a\\n```{solution} ex-1\\nsecret\\n```\\nb\\n")
    'a\\nb\\n'
    """
    lines = text.splitlines(keepends=True)
    kept: list[str] = []
    index = 0
    skipping_until_end_marker = False
    while index < len(lines):
        line = lines[index]
        match = _FENCE.match(line)
        if skipping_until_end_marker:
            if match and match.group("info").startswith("{solution-end}"):
                skipping_until_end_marker = False
                index = _end_of_block(lines, index, match.group("fence"))
            index += 1
            continue
        if match:
            info, fence = match.group("info"), match.group("fence")
            if info.startswith("{solution-start}"):
                skipping_until_end_marker = True
                index = _end_of_block(lines, index, fence) + 1
                continue
            if info.startswith("{solution}") or (
                info.startswith("{code-cell}") and _is_tagged_solution_cell(lines, index)
            ):
                index = _end_of_block(lines, index, fence) + 1
                # Drop one blank line after the removed block, so gaps do not pile up.
                if index < len(lines) and not lines[index].strip() and kept and not kept[-1].strip():
                    index += 1
                continue
        kept.append(line)
        index += 1
    return "".join(kept)


def _end_of_block(lines: list[str], start: int, fence: str) -> int:
    """Index of the line closing the fenced block opened at ``start``."""
    for index in range(start + 1, len(lines)):
        if _closes(lines[index], fence):
            return index
    raise ValueError(f"unclosed {fence} block opened on line {start + 1}")


def _run(command: list[str]) -> None:
    print("+", " ".join(command), flush=True)
    subprocess.run(command, cwd=REPO, check=True)


def build(build_site: bool = True) -> Path:
    """Write the student edition into ``student/`` and return its HTML folder."""
    shutil.rmtree(STUDENT, ignore_errors=True)
    shutil.copytree(
        REPO / "book", STUDENT / "book",
        ignore=shutil.ignore_patterns("_build", "node_modules", "student_edition.py"),
    )
    config = STUDENT / "book" / "_config.yml"
    config.write_text(
        re.sub(r"^title: \"(.*)\"$", r'title: "\1 (student edition)"', config.read_text(), count=1, flags=re.M)
    )
    (STUDENT / "chapters").mkdir(parents=True)
    for chapter in sorted((REPO / "chapters").glob("*.md")):
        (STUDENT / "chapters" / chapter.name).write_text(strip_solutions(chapter.read_text()))

    bin_dir = Path(sys.executable).parent
    (STUDENT / "notebooks").mkdir()
    for chapter in sorted((STUDENT / "chapters").glob("*.md")):
        _run([str(bin_dir / "jupytext"), "--quiet", "--to", "ipynb",
              "--output", str(STUDENT / "notebooks" / f"{chapter.stem}.ipynb"), str(chapter)])
    html = STUDENT / "book" / "_build" / "html"
    if build_site:
        _run([str(bin_dir / "jupyter-book"), "build", str(STUDENT),
              "--config", str(config), "--toc", str(STUDENT / "book" / "_toc.yml"),
              "--path-output", str(STUDENT / "book"), "-W", "--keep-going"])
        leaked = [page for page in html.rglob("*.html") if 'class="solution' in page.read_text(encoding="utf-8")]
        if leaked:
            raise SystemExit(f"solutions leaked into the student edition: {leaked}")
    print(f"\nStudent edition: file://{html / 'book' / 'intro.html'}")
    print(f"Notebooks to hand out: {STUDENT / 'notebooks'}")
    return html


if __name__ == "__main__":
    build()
