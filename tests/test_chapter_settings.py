"""Chapter settings live in book/chapters.yml, survive a save from JupyterLab, and scale with the machine.

JupyterLab saves a chapter through jupytext, which drops the front matter's ``mystnb:`` key (the
control test below shows it); the build reads each chapter's cell limit and myst-nb options from
``book/chapters.yml`` instead and writes them into the chapter as Sphinx reads it.
"""

from __future__ import annotations

import asyncio
import shutil
import sys
from pathlib import Path

import jupytext
import pytest
import yaml
from jupyter_server.services.contents.largefilemanager import AsyncLargeFileManager
from jupytext.async_contentsmanager import build_async_jupytext_contents_manager_class

from vae_lib._lab_contents import BookContentsManager

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "book" / "_ext"))
import chapter_settings  # noqa: E402

CHAPTERS = sorted((REPO / "chapters").glob("[0-9][0-9]_*.md"))


def _save_through(manager_class, folder: Path, name: str) -> None:
    """Open a chapter and save it back, as JupyterLab does (the contents manager's get, then save)."""
    manager = manager_class(root_dir=str(folder))

    async def round_trip():
        model = await manager.get(name, content=True, type="notebook")
        await manager.save({"type": "notebook", "format": "json", "content": model["content"]}, name)

    asyncio.run(round_trip())


def _cells(text: str) -> list[tuple]:
    return [(cell.cell_type, cell.source, dict(cell.metadata)) for cell in jupytext.reads(text, fmt="md:myst").cells]


def _front_matter(text: str) -> dict:
    return yaml.safe_load(text.split("---\n")[1])


def test_the_table_covers_exactly_the_chapters():
    table = chapter_settings.read_table()
    assert set(table.chapters) == {f"chapters/{chapter.stem}" for chapter in CHAPTERS}
    assert 1 < table.max_slowdown <= 10 and table.reference_probe_seconds > 0


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda path: path.stem)
def test_a_save_from_jupyterlab_changes_neither_the_chapter_nor_its_settings(chapter, tmp_path):
    shutil.copy(chapter, tmp_path / chapter.name)
    before = chapter_settings.read_table().chapters[f"chapters/{chapter.stem}"]
    _save_through(BookContentsManager, tmp_path, chapter.name)  # the manager `make lab` uses
    saved = (tmp_path / chapter.name).read_text(encoding="utf-8")
    original = chapter.read_text(encoding="utf-8")
    assert _cells(saved) == _cells(original)
    assert "vae-book-macros" not in saved, "the macro cell JupyterLab shows is never written"
    meta = _front_matter(saved)
    assert meta["kernelspec"] == _front_matter(original)["kernelspec"] and "mystnb" not in meta
    assert chapter_settings.read_table().chapters[f"chapters/{chapter.stem}"] == before
    settings = chapter_settings.with_settings(saved, before, 321)
    assert _front_matter(settings)["mystnb"]["execution_timeout"] == 321


def test_control_jupytext_drops_mystnb_from_the_front_matter(tmp_path):
    """Why the settings moved: a chapter that kept them in its front matter loses them on save."""
    text = CHAPTERS[0].read_text(encoding="utf-8").replace("kernelspec:", "mystnb:\n  execution_timeout: 600\nkernelspec:", 1)
    (tmp_path / "old.md").write_text(text, encoding="utf-8")
    _save_through(build_async_jupytext_contents_manager_class(AsyncLargeFileManager), tmp_path, "old.md")
    assert "mystnb" in _front_matter(text)
    assert "mystnb" not in _front_matter((tmp_path / "old.md").read_text(encoding="utf-8"))


def test_the_settings_reach_myst_nb_as_the_build_reads_the_chapter(monkeypatch):
    from myst_nb.core.read import read_myst_markdown_notebook

    class FakeApp:
        pass

    monkeypatch.setattr(chapter_settings, "probe_seconds", lambda repeats=3: 0.09 * 2.5)
    source = [(REPO / "chapters" / "09_training_mnist.md").read_text(encoding="utf-8")]
    chapter_settings._apply(FakeApp(), "chapters/09_training_mnist", source)
    notebook = read_myst_markdown_notebook(source[0])
    table = chapter_settings.read_table()
    budget = table.chapters["chapters/09_training_mnist"].budget
    expected = round(budget * 0.09 * 2.5 / table.reference_probe_seconds)
    assert notebook.metadata["mystnb"] == {"execution_timeout": expected, "render_markdown_format": "myst"}
    other = ["no front matter: not a chapter"]
    chapter_settings._apply(FakeApp(), "book/glossary", other)
    assert other == ["no front matter: not a chapter"], "pages outside the table are left alone"


@pytest.mark.parametrize("slowdown, expected", [(0.3, 600), (1.0, 600), (2.5, 1500), (6.0, 3600), (50.0, 3600)])
def test_the_cell_limit_grows_with_the_slowdown_up_to_the_hang_detector(slowdown, expected):
    assert chapter_settings.cell_limit(600, slowdown, 6) == expected


def test_a_busy_machine_measures_slower(monkeypatch):
    table = chapter_settings.read_table()
    assert chapter_settings.machine_slowdown(table, probe=lambda: 3 * table.reference_probe_seconds) == pytest.approx(3)
    assert chapter_settings.probe_seconds(repeats=1) > 0


def test_a_chapter_that_keeps_mystnb_in_its_front_matter_is_refused():
    with pytest.raises(ValueError, match="book/chapters.yml"):
        chapter_settings.with_settings("---\nmystnb:\n  execution_timeout: 5\n---\n", chapter_settings.ChapterSettings(1), 1)
