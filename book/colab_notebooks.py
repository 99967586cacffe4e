"""Write the chapters as portable ``.ipynb`` notebooks (Colab, VS Code, plain Jupyter, GitHub).

    python book/colab_notebooks.py             # notebooks/*.ipynb   (what `make notebooks` runs)
    python book/colab_notebooks.py --publish   # also commit them to the branch `notebooks`

The notebook exporter (``vae_lib._notebook_export``) writes them: Markdown that renders without
the MyST extension, solutions folded under each exercise, and a first cell that installs
``vae_lib`` where it is missing (from ``notebooks.install_from`` or ``repository.url`` in
``book/_config.yml``) and does nothing where it is installed. ``--publish`` commits the notebooks
to the local branch ``notebooks`` (which the lecturer site's Colab buttons open) without touching
the working tree; push it with ``git push origin notebooks``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat

from vae_lib._atomic_files import atomic_write
from vae_lib._notebook_export import book_links, export_chapter, install_requirement

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "book" / "_ext"))
from launch_buttons import NOTEBOOKS_BRANCH  # noqa: E402  (the book's own extension)

_BRANCH_README = """# Generated notebooks

The chapters of the book as Jupyter notebooks, written by `make publish-notebooks` from the
MyST sources on the main branch. Do not edit them here: edit `chapters/*.md` and publish again.
"""


def chapter_notebook(chapter: Path, requirement: str, *, keep_solutions: bool = True) -> nbformat.NotebookNode:
    """One chapter as a portable notebook (the install cell installs ``requirement``)."""
    return export_chapter(chapter, links=book_links(REPO), keep_solutions=keep_solutions, requirement=requirement)


def write_notebooks(out: Path, repo: Path = REPO, *, keep_solutions: bool = True) -> list[Path]:
    """Write every chapter as ``out/<chapter>.ipynb``; return the paths."""
    requirement = install_requirement(repo)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for chapter in sorted((repo / "chapters").glob("*.md")):
        path = out / f"{chapter.stem}.ipynb"
        text = nbformat.writes(chapter_notebook(chapter, requirement, keep_solutions=keep_solutions))
        atomic_write(path, lambda stream, text=text: stream.write(text.encode("utf-8")))
        written.append(path)
    if not requirement:
        print("note: neither notebooks.install_from nor repository.url is set in book/_config.yml, so the "
              "notebooks' install cell cannot install vae_lib where it is missing (it says so when run).")
    return written


def _git(repo: Path, *args: str, env: dict | None = None, stdin: str | None = None) -> str:
    result = subprocess.run(["git", *args], cwd=repo, env=env, input=stdin, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"git {' '.join(args)} failed:\n{result.stderr.strip()}")
    return result.stdout.strip()


def publish(notebooks: list[Path], repo: Path = REPO, branch: str = NOTEBOOKS_BRANCH, *,
            readme: str = _BRANCH_README, extra: dict[str, str] | None = None) -> str:
    """Commit the notebooks (a README, and ``extra`` files by name) to ``branch`` with git plumbing.

    Returns the commit id. The working tree, the index and the current branch are left as they are.
    """
    with tempfile.TemporaryDirectory() as folder:
        env = {**os.environ, "GIT_INDEX_FILE": str(Path(folder) / "index")}
        files = {path.name: path.read_bytes().decode("utf-8") for path in notebooks}
        files["README.md"] = readme
        files.update(extra or {})
        for name, text in sorted(files.items()):
            blob = _git(repo, "hash-object", "-w", "--stdin", stdin=text)
            _git(repo, "update-index", "--add", "--cacheinfo", f"100644,{blob},{name}", env=env)
        tree = _git(repo, "write-tree", env=env)
    parent = subprocess.run(["git", "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}"], cwd=repo,
                            capture_output=True, text=True).stdout.strip()
    source = _git(repo, "rev-parse", "--short", "HEAD")
    commit = _git(repo, "commit-tree", tree, *(["-p", parent] if parent else []),
                  "-m", f"Notebooks generated from {source}")
    _git(repo, "update-ref", f"refs/heads/{branch}", commit)
    return commit


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write the chapters as .ipynb notebooks (for Colab).")
    parser.add_argument("--out", type=Path, default=REPO / "notebooks", help="where to write (default: notebooks/)")
    parser.add_argument("--publish", action="store_true",
                        help=f"also commit them to the branch '{NOTEBOOKS_BRANCH}' that the Colab buttons open")
    args = parser.parse_args(argv)
    notebooks = write_notebooks(args.out)
    print(f"Notebooks (generated: do not edit) written to {args.out}")
    if args.publish:
        commit = publish(notebooks)
        print(f"Committed them to the branch '{NOTEBOOKS_BRANCH}' ({commit[:10]}); "
              f"push it with: git push origin {NOTEBOOKS_BRANCH}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
