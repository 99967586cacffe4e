"""Launch buttons appear only when they can work, say what they open, and the notebooks Colab
opens install vae_lib.

The repository URL is set in one place (book/_config.yml); both states are tested: empty (as
now: no button at all) and set (Binder, Colab for GitHub, JupyterHub when a hub is named), for
the lecturer site (the full chapters) and the student edition (the student notebooks).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import parse_qs, urlparse

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "book" / "_ext"))
sys.path.insert(0, str(REPO / "book"))
import colab_notebooks  # noqa: E402
import launch_buttons  # noqa: E402

GITHUB = "https://github.com/someone/vae-book"
SETTINGS = {"binderhub_url": "https://mybinder.org", "colab_url": "https://colab.research.google.com",
            "jupyterhub_url": "", "notebook_interface": "jupyterlab"}


def _page_buttons(repository_url: str, settings=SETTINGS, pagename="chapters/01_bayes", notebook=True):
    """What a page gets from the extension, run the way Sphinx runs it (config, then page)."""
    config = SimpleNamespace(html_theme_options={"repository_url": repository_url, "repository_branch": "main",
                                                 "launch_buttons": dict(settings)})
    launch_buttons._take_over_launch_buttons(None, config)
    metadata = {pagename: {"kernelspec": {"name": "python3"}} if notebook else {}}
    app = SimpleNamespace(config=config, env=SimpleNamespace(metadata=metadata))
    context = {"header_buttons": []}
    launch_buttons._add_buttons(app, pagename, "page.html", context, None)
    return config, context["header_buttons"]


def _configured_url() -> str:
    config = yaml.safe_load((REPO / "book" / "_config.yml").read_text())
    assert "url" in config["repository"], "book/_config.yml must say repository.url (empty or the address)"
    return config["repository"]["url"] or ""


@pytest.mark.slow
def test_the_built_chapters_show_launch_buttons_exactly_when_the_url_is_set(built_book):
    pages = sorted((built_book / "_build" / "html" / "chapters").glob("*.html"))
    assert pages
    for page in pages:
        shown = "on Binder" in page.read_text(encoding="utf-8")
        assert shown == (launch_buttons.repository_parts(_configured_url()) is not None), page.name


def test_without_a_repository_url_no_page_shows_a_launch_button():
    config, buttons = _page_buttons("")
    assert buttons == []
    assert config.html_theme_options["launch_buttons"] == {}, "the theme's own buttons must stay off"
    assert config.html_theme_options["use_repository_button"] is False


def test_with_a_github_url_chapters_get_binder_and_colab():
    config, buttons = _page_buttons(GITHUB)
    (group,) = buttons
    links = {button["text"]: button["url"] for button in group["buttons"]}
    assert set(links) == {"Binder (full chapter)", "Colab (full chapter)"}, "the buttons say they open the full chapter"
    assert links["Binder (full chapter)"] == (
        "https://mybinder.org/v2/gh/someone/vae-book/main?urlpath=lab/tree/chapters/01_bayes.md")
    assert links["Colab (full chapter)"] == ("https://colab.research.google.com/github/someone/vae-book/blob/"
                                             f"{launch_buttons.NOTEBOOKS_BRANCH}/01_bayes.ipynb"), "Colab opens the .ipynb"
    assert all("with solutions" in button["tooltip"] for button in group["buttons"])
    assert "full chapter" in group["tooltip"]
    assert config.html_theme_options["use_repository_button"] is True


def test_the_student_edition_buttons_open_the_student_notebooks():
    _, buttons = _page_buttons(GITHUB, settings={**SETTINGS, "jupyterhub_url": "https://hub.example.edu",
                                                 "edition": "student"})
    (group,) = buttons
    links = {button["text"]: button["url"] for button in group["buttons"]}
    branch = launch_buttons.STUDENT_BRANCH
    assert links == {
        "Binder (student notebook)": f"https://mybinder.org/v2/gh/someone/vae-book/{branch}?urlpath=lab/tree/01_bayes.ipynb",
        "JupyterHub (student notebook)": (
            "https://hub.example.edu/hub/user-redirect/git-pull?repo=https%3A//github.com/someone/vae-book"
            f"&branch={branch}&urlpath=lab/tree/vae-book/01_bayes.ipynb"),
        "Colab (student notebook)": f"https://colab.research.google.com/github/someone/vae-book/blob/{branch}/01_bayes.ipynb",
    }
    assert all("no solutions" in button["tooltip"] for button in group["buttons"])


def test_the_student_edition_without_a_url_has_no_buttons_and_a_wrong_edition_is_refused():
    _, buttons = _page_buttons("", settings={**SETTINGS, "edition": "student"})
    assert buttons == []
    with pytest.raises(ValueError, match="edition"):
        launch_buttons.launch_links("chapters/01_bayes", repository_url=GITHUB, branch="main", edition="teacher")


def test_pages_that_are_not_notebooks_get_no_launch_button():
    _, buttons = _page_buttons(GITHUB, pagename="book/glossary", notebook=False)
    assert buttons == []


def test_a_course_hub_adds_a_jupyterhub_button_and_other_hosts_get_no_colab():
    links = launch_buttons.launch_links("chapters/01_bayes", repository_url="https://gitlab.com/team/vae-book",
                                        branch="main", binderhub_url="https://mybinder.org",
                                        jupyterhub_url="https://hub.example.edu/",
                                        colab_url="https://colab.research.google.com")
    by_name = {link["text"].split(" (")[0]: link["url"] for link in links}
    assert set(by_name) == {"Binder", "JupyterHub"}, "Colab opens GitHub repositories only"
    assert by_name["Binder"].startswith("https://mybinder.org/v2/gl/team%2Fvae-book/main?")
    query = parse_qs(urlparse(by_name["JupyterHub"]).query)
    assert query == {"repo": ["https://gitlab.com/team/vae-book"], "branch": ["main"],
                     "urlpath": ["lab/tree/vae-book/chapters/01_bayes.md"]}


@pytest.mark.parametrize("url", ["", "   ", "not a url", "https://github.com/only-owner"])
def test_an_unusable_url_means_no_buttons(url):
    assert launch_buttons.launch_links("chapters/01_bayes", repository_url=url, branch="main", **{
        key: value for key, value in SETTINGS.items() if key != "notebook_interface"}) == []


# ----------------------------------------------------------------------------- Colab notebooks


def test_colab_notebooks_start_with_the_install_cell_from_the_configured_place(tmp_path, monkeypatch):
    chapter = sorted((REPO / "chapters").glob("*.md"))[0]
    requirement = f"vae_lib @ git+{GITHUB}@main"
    first = colab_notebooks.chapter_notebook(chapter, requirement).cells[0]
    assert first.cell_type == "code" and repr(requirement) in first.source
    assert 'find_spec("vae_lib") is None' in first.source, "where vae_lib is installed the cell does nothing"
    # The install cell is valid Python that does nothing here, where vae_lib is installed.
    exec(compile(first.source, "install-cell", "exec"), {})
    # Without a place to install from it still comes first, and says what to do when vae_lib is missing.
    bare = colab_notebooks.chapter_notebook(chapter, "").cells[0]
    assert "pip" not in bare.source.split("raise")[0] and "ModuleNotFoundError" in bare.source


def test_make_notebooks_writes_every_chapter_with_folded_solutions(tmp_path):
    written = colab_notebooks.write_notebooks(tmp_path)
    assert [path.stem for path in written] == sorted(p.stem for p in (REPO / "chapters").glob("*.md"))
    text = written[0].read_text(encoding="utf-8")
    assert "<details>" in text and "<summary>Solution to Exercise 1.1</summary>" in text


def test_publish_commits_the_notebooks_to_their_own_branch_and_leaves_the_work_tree(tmp_path, monkeypatch):
    repo = tmp_path / "repo"
    repo.mkdir()
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.org"]
    subprocess.run([*git, "init", "-q", "-b", "main"], cwd=repo, check=True)
    (repo / "file.txt").write_text("x")
    subprocess.run([*git, "add", "file.txt"], cwd=repo, check=True)
    subprocess.run([*git, "commit", "-qm", "first"], cwd=repo, check=True)
    notebook = tmp_path / "01_bayes.ipynb"
    notebook.write_text('{"cells": []}')
    for variable in ("GIT_AUTHOR_NAME", "GIT_COMMITTER_NAME"):
        monkeypatch.setenv(variable, "t")
    for variable in ("GIT_AUTHOR_EMAIL", "GIT_COMMITTER_EMAIL"):
        monkeypatch.setenv(variable, "t@example.org")
    first = colab_notebooks.publish([notebook], repo=repo)
    notebook.write_text('{"cells": [1]}')
    second = colab_notebooks.publish([notebook], repo=repo)
    files = subprocess.run(["git", "ls-tree", "--name-only", "notebooks"], cwd=repo, capture_output=True,
                           text=True, check=True).stdout.split()
    assert files == ["01_bayes.ipynb", "README.md"]
    parent = subprocess.run(["git", "rev-parse", f"{second}^"], cwd=repo, capture_output=True, text=True).stdout.strip()
    assert parent == first, "publishing again adds a commit on top of the branch"
    status = subprocess.run(["git", "status", "--porcelain"], cwd=repo, capture_output=True, text=True).stdout
    head = subprocess.run(["git", "branch", "--show-current"], cwd=repo, capture_output=True, text=True).stdout
    assert status == "" and head.strip() == "main", "the work tree and the current branch are untouched"
