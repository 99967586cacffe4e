"""Build the student edition: the same book with every solution removed.

    python book/student_edition.py            # what `make student` runs

writes ``student/``: the chapters with solutions stripped (``student/chapters``), the site
built from them (``student/book/_build/html``) and unexecuted notebooks to hand out
(``student/notebooks``). Hiding solutions with a theme option is not enough (they would
still ship in the page sources, the downloads and the notebooks), so the solutions are cut
from the sources themselves.

What counts as a solution is defined in ``vae_lib/_solutions.py`` (a ``{solution}`` block,
anything between ``{solution-start}`` and ``{solution-end}``, a code cell tagged ``solution``).
After the build, every file written under ``student/`` (pages, page sources, downloads,
notebooks, search index, execution cache) is searched for the text of every solution; the
build fails if any is found.

    python book/student_edition.py --cache-from book/_build/.jupyter_cache

reuses the execution results of a build of the full book (code cells are the same in both
editions), so the student site is built without executing the chapters again.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
from pathlib import Path

from vae_lib._solutions import find_leaks, solution_fragments, strip_solutions

__all__ = ["build", "strip_solutions", "solution_fragments", "find_leaks", "book_fragments"]

REPO = Path(__file__).resolve().parents[1]
STUDENT = REPO / "student"


def book_fragments(chapters_folder: Path = REPO / "chapters") -> set[str]:
    """The recognizable solution lines of every chapter (what must not appear in student output)."""
    return {fragment for chapter in sorted(Path(chapters_folder).glob("*.md"))
            for fragment in solution_fragments(chapter.read_text(encoding="utf-8"))}


def _run(command: list[str]) -> None:
    print("+", " ".join(command), flush=True)
    subprocess.run(command, cwd=REPO, check=True)


def _student_config(text: str) -> str:
    """The book's configuration, retitled, and without a repository URL: launch buttons would open
    the repository's chapters, solutions included, so the student edition shows none."""
    text = re.sub(r'^title: "(.*)"$', r'title: "\1 (student edition)"', text, count=1, flags=re.M)
    return re.sub(r'^(repository:\n(?:  .*\n)*?  url:) *"?[^"\n]*"?', r'\1 ""', text, count=1, flags=re.M)


def build(build_site: bool = True, cache_from: Path | None = None) -> Path:
    """Write the student edition into ``student/`` and return its HTML folder.

    Args:
        build_site: also build the site (``False``: only the stripped chapters and notebooks).
        cache_from: an execution cache (``.jupyter_cache``) of a build of the full book to start
            from, so that unchanged chapters are not executed again.
    """
    shutil.rmtree(STUDENT, ignore_errors=True)
    shutil.copytree(
        REPO / "book", STUDENT / "book",
        ignore=shutil.ignore_patterns("_build", "node_modules", "student_edition.py"),
    )
    config = STUDENT / "book" / "_config.yml"
    config.write_text(_student_config(config.read_text()))
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
        if cache_from and Path(cache_from).is_dir():
            shutil.copytree(cache_from, STUDENT / "book" / "_build" / ".jupyter_cache")
        _run([str(bin_dir / "jupyter-book"), "build", str(STUDENT),
              "--config", str(config), "--toc", str(STUDENT / "book" / "_toc.yml"),
              "--path-output", str(STUDENT / "book"), "-W", "--keep-going"])
    leaks = find_leaks(book_fragments(), STUDENT)
    if leaks:
        raise SystemExit("Solution text leaked into the student edition:\n" + "\n".join(leaks[:20]))
    print(f"\nStudent edition: file://{html / 'book' / 'intro.html'}")
    print(f"Notebooks to hand out: {STUDENT / 'notebooks'}")
    print("Searched every file under student/ for solution text: none found.")
    return html


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Build the student edition (no solutions) into student/.")
    parser.add_argument("--cache-from", type=Path, default=REPO / "book" / "_build" / ".jupyter_cache",
                        help="execution cache of a full build to reuse (default: book/_build/.jupyter_cache)")
    parser.add_argument("--no-site", action="store_true", help="only write the stripped chapters and notebooks")
    args = parser.parse_args(argv)
    build(build_site=not args.no_site, cache_from=args.cache_from)


if __name__ == "__main__":
    main()
