"""Write the chapters as ``.ipynb`` notebooks, for tools that do not read MyST (Colab above all).

    python book/colab_notebooks.py             # notebooks/*.ipynb   (what `make notebooks` runs)
    python book/colab_notebooks.py --publish   # also commit them to the branch `notebooks`

When the book's repository URL is set (``repository.url`` in ``book/_config.yml``), each notebook
starts with a cell that installs ``vae_lib`` from that repository when it runs on Colab (and
does nothing elsewhere), so a chapter opened from a Colab launch button runs as it is.
``--publish`` commits the notebooks to the local branch ``notebooks`` (which the Colab buttons
open) without touching the working tree; push it with ``git push origin notebooks``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import jupytext
import nbformat
import yaml

from vae_lib._atomic_files import atomic_write

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "book" / "_ext"))
from launch_buttons import NOTEBOOKS_BRANCH, repository_parts  # noqa: E402  (the book's own extension)

_BRANCH_README = """# Generated notebooks

The chapters of the book as Jupyter notebooks, written by `make publish-notebooks` from the
MyST sources on the main branch. Do not edit them here: edit `chapters/*.md` and publish again.
"""


def repository_settings(repo: Path = REPO) -> tuple[str, str]:
    """``(url, branch)`` of the book's repository, from ``book/_config.yml`` (url may be empty)."""
    config = yaml.safe_load((repo / "book" / "_config.yml").read_text(encoding="utf-8"))
    repository = config.get("repository") or {}
    return (repository.get("url") or "").strip(), (repository.get("branch") or "main").strip()


def install_cell(url: str, branch: str) -> nbformat.NotebookNode:
    """The first cell of a Colab notebook: install ``vae_lib`` from the repository, on Colab only.

    >>> "git+https://github.com/o/r@main" in install_cell("https://github.com/o/r", "main").source
    True
    """
    requirement = f"vae_lib @ git+{url.removesuffix('/')}@{branch}"
    source = ("# On Colab, install the book's library first (elsewhere this cell does nothing).\n"
              "import subprocess, sys\n"
              'if "google.colab" in sys.modules:\n'
              f'    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "{requirement}"], check=True)')
    return nbformat.v4.new_code_cell(source, id="install-vae-lib", metadata={"tags": ["remove-cell"]})


def chapter_notebook(chapter: Path, url: str, branch: str) -> nbformat.NotebookNode:
    """One chapter as a notebook, with the install cell first when the repository URL is set."""
    notebook = jupytext.read(chapter, fmt="md:myst")
    if repository_parts(url) is not None:
        notebook.cells.insert(0, install_cell(url, branch))
    return notebook


def write_notebooks(out: Path, repo: Path = REPO) -> list[Path]:
    """Write every chapter as ``out/<chapter>.ipynb``; return the paths."""
    url, branch = repository_settings(repo)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for chapter in sorted((repo / "chapters").glob("*.md")):
        path = out / f"{chapter.stem}.ipynb"
        text = nbformat.writes(chapter_notebook(chapter, url, branch))
        atomic_write(path, lambda stream, text=text: stream.write(text.encode("utf-8")))
        written.append(path)
    if repository_parts(url) is None:
        print("note: repository.url in book/_config.yml is empty, so the notebooks have no install cell "
              "for Colab (they need vae_lib installed).")
    return written


def _git(repo: Path, *args: str, env: dict | None = None, stdin: str | None = None) -> str:
    result = subprocess.run(["git", *args], cwd=repo, env=env, input=stdin, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"git {' '.join(args)} failed:\n{result.stderr.strip()}")
    return result.stdout.strip()


def publish(notebooks: list[Path], repo: Path = REPO, branch: str = NOTEBOOKS_BRANCH) -> str:
    """Commit the notebooks (and a README) to ``branch`` with git plumbing; return the commit id.

    The working tree, the index and the current branch are left as they are.
    """
    with tempfile.TemporaryDirectory() as folder:
        env = {**os.environ, "GIT_INDEX_FILE": str(Path(folder) / "index")}
        files = {path.name: path.read_bytes().decode("utf-8") for path in notebooks}
        files["README.md"] = _BRANCH_README
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
