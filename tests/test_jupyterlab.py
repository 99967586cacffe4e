"""The chapters live, where students run them: a real JupyterLab driven by a real browser.

A headless JupyterLab (free port, token, temporary settings) serves copies of the chapters;
Playwright opens each chapter in Debian's Chromium as ``make lab`` opens it (jupytext +
jupyterlab-myst + the book's macros), runs all its cells and checks: no error output; no raw
MyST in the rendered Markdown; every solution folded until its summary is clicked; every
ipywidgets slider moves from the keyboard and changes its picture; chapter 10's in-browser latent
sliders redraw after the run, and its Python sliders (added to the notebook) answer. Then a
second JupyterLab *without* jupyterlab-myst (the plain frontend Colab and VS Code resemble)
opens exported notebooks (``make notebooks``, the student edition, an assignment): rendered,
solutions folded, no raw syntax, and the exported chapter runs.

The terminal summary reports each chapter's live run time (beside its build-time execution when
a build's cache is at hand) and the browser-measured round trip of a Python slider move
(median and 95th percentile). Screenshots land in ``book/_build/screenshots/jupyterlab/``
(``NN_name-rendered.png``: a chapter's opening as rendered; ``NN_name.png``: after the run).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

from conftest import ORIGINAL_ENV, SITE_REPORT
from vae_lib import assign
from vae_lib._notebook_export import book_links, export_chapter

REPO = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((REPO / "chapters").glob("[0-9][0-9]_*.md"))
#: VAE_LAB_CHAPTERS=01,10 runs only those chapters live (while working on the test).
LIVE_CHAPTERS = [chapter for chapter in CHAPTERS if not os.environ.get("VAE_LAB_CHAPTERS")
                 or chapter.name[:2] in os.environ["VAE_LAB_CHAPTERS"].split(",")]
SCREENSHOTS = REPO / "book" / "_build" / "screenshots" / "jupyterlab"
#: The longest a chapter may take to run all its cells before the test calls it hung.
RUN_LIMIT_S = 1500
#: How many times the Python slider is moved to measure its round trip.
PYTHON_SLIDER_MOVES = 25
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
#: MyST that JupyterLab would show raw if it were not rendered (checked on the visible text of Markdown cells).
RAW_MYST = [
    (re.compile(r"\{[\w:-]+\}`?"), "a role or directive"),
    (re.compile(r"```|:::"), "a code fence"),
    (re.compile(r"^\s*:(class|label|name|tags|nonumber):", flags=re.M), "a directive option"),
    (re.compile(r"^\s*\([\w:.-]+\)=\s*$", flags=re.M), "a label"),
    (re.compile(r"\\(E|KL|N)(?![A-Za-z])"), "an unexpanded macro"),
    (re.compile(r"Undefined control sequence|ParseError"), "math that did not render"),
]



def _chromium() -> str:
    for candidate in (os.environ.get("VAE_BOOK_CHROMIUM"), "chromium", "chromium-browser", "google-chrome"):
        if candidate and shutil.which(candidate):
            return shutil.which(candidate)
    pytest.skip("No Chromium: the JupyterLab test drives a real browser (apt-get install chromium).")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _write_settings(folder: Path) -> None:
    """User settings for the test's JupyterLab: every cell rendered (no windowing), no news pop-up."""
    settings = {"@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
                "@jupyterlab/apputils-extension/notification.jupyterlab-settings":
                    {"fetchNews": "false", "checkForUpdates": False}}
    for name, value in settings.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(json.dumps(value))


class Lab:
    """A headless JupyterLab on a free port, with a token; ``plain`` disables jupyterlab-myst."""

    def __init__(self, root: Path, home: Path, *, plain: bool):
        self.port, self.token, self.root = _free_port(), secrets.token_hex(16), root
        settings, config = home / "settings", home / "config"
        _write_settings(settings)
        env = {**ORIGINAL_ENV, "JUPYTER_CONFIG_DIR": str(config), "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
               "PYTHONUNBUFFERED": "1"}
        env.pop("VAE_LIB_PROGRESS", None)  # live notebooks show their progress bars
        if plain:
            (config / "labconfig").mkdir(parents=True, exist_ok=True)
            (config / "labconfig" / "page_config.json").write_text(
                json.dumps({"disabledExtensions": {"jupyterlab-myst": True}}))
        self.log = home / "server.log"
        command = [sys.executable, "-m", "jupyter", "lab", "--no-browser", f"--port={self.port}", "--ip=127.0.0.1",
                   f"--IdentityProvider.token={self.token}", f"--ServerApp.root_dir={root}",
                   "--LabApp.expose_app_in_browser=True", f"--LabApp.user_settings_dir={settings}",
                   f"--LabApp.workspaces_dir={home / 'workspaces'}", "--ServerApp.allow_root=True"]
        if not plain:
            command.append("--ServerApp.contents_manager_class=vae_lib._lab_contents.BookContentsManager")
        self.process = subprocess.Popen(command, stdout=self.log.open("w"), stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"{self.url}/api/status?token={self.token}", timeout=2)
                return
            except OSError:
                time.sleep(0.5)
        self.stop()
        pytest.fail(f"JupyterLab did not start in 120 s; its log: {self.log}")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.process.kill()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    executable = _chromium()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def _open_lab(browser, lab: Lab):
    page = browser.new_page(viewport={"width": 1300, "height": 1600})
    page.set_default_timeout(240_000)
    page.goto(f"{lab.url}/lab?reset&token={lab.token}")
    page.wait_for_function("() => window.jupyterapp && window.jupyterapp.started", timeout=240_000)
    page.evaluate("() => window.jupyterapp.started")
    return page


_OPEN = """async ([path, factory]) => {
  const app = window.jupyterapp;
  const panel = await app.commands.execute('docmanager:open', {path, factory});
  await panel.context.ready; await panel.sessionContext.ready;
  app.shell.activateById(panel.id);
  return panel.content.widgets.filter(c => c.model.type === 'markdown').length;
}"""
_RENDERED = """(expected) => {
  const cells = window.jupyterapp.shell.currentWidget.content.widgets.filter(c => c.model.type === 'markdown');
  return cells.length >= expected && cells.every(c => c.rendered);
}"""
#: Rendered Markdown: JupyterLab's own renderer (.jp-MarkdownOutput) or jupyterlab-myst's (.myst).
MARKDOWN = ".jp-NotebookPanel:not(.lm-mod-hidden) .jp-MarkdownCell :is(.jp-MarkdownOutput, .myst)"
_VISIBLE_TEXT = """() => [...document.querySelectorAll('MARKDOWN')]
  .map(node => { const copy = node.cloneNode(true);
    copy.querySelectorAll('.katex-mathml, annotation, mjx-assistive-mml, code, pre, script, style').forEach(n => n.remove());
    return copy.innerText || copy.textContent; })""".replace("MARKDOWN", MARKDOWN)
_SOLUTIONS = """() => [...document.querySelectorAll('MARKDOWN details')]
  .filter(d => /Solution/.test((d.querySelector('summary') || {}).textContent || ''))
  .map(d => ({open: d.open, text: d.innerText.length}))""".replace("MARKDOWN", MARKDOWN)
_RUN_ALL = """async (limitMs) => {
  const app = window.jupyterapp, panel = app.shell.currentWidget;
  const started = performance.now();
  const run = app.commands.execute('notebook:run-all-cells');
  const outcome = await Promise.race([run.then(() => 'done'), new Promise(r => setTimeout(() => r('timeout'), limitMs))]);
  const cells = panel.content.widgets.filter(c => c.model.type === 'code');
  const errors = cells.flatMap(c => c.model.outputs.toJSON()).filter(o => o.output_type === 'error')
    .map(o => `${o.ename}: ${o.evalue}`.slice(0, 300));
  const unrun = cells.filter(c => c.model.sharedModel.source.trim() && c.model.executionCount === null).length;
  return {outcome, seconds: (performance.now() - started) / 1000, errors, unrun};
}"""
_CLOSE = """async () => { const panel = window.jupyterapp.shell.currentWidget;
  await panel.sessionContext.shutdown(); panel.dispose(); }"""


def _markdown_problems(page, where: str) -> list[str]:
    problems = []
    texts = page.evaluate(_VISIBLE_TEXT)
    assert len(texts) > 3 and sum(map(len, texts)) > 2000, f"{where}: the rendered Markdown was not found"
    for index, text in enumerate(texts):
        for pattern, what in RAW_MYST:
            found = pattern.search(text)
            if found:
                problems.append(f"{where}, Markdown cell {index}: {what} shows: {found.group(0)!r}")
    return problems


def _check_solutions_folded(page, where: str, expected: int) -> None:
    try:  # rendering is asynchronous (jupyterlab-myst processes the whole notebook after the cells)
        page.wait_for_function(f"() => ({_SOLUTIONS})().length >= {expected}", timeout=60_000)
    except Exception:  # noqa: BLE001 (Playwright's TimeoutError): the assertion below says what is wrong
        pass
    solutions = page.evaluate(_SOLUTIONS)
    assert len(solutions) == expected, f"{where}: {len(solutions)} folded solutions shown, {expected} in the chapter"
    assert not any(solution["open"] for solution in solutions), f"{where}: a solution is shown unfolded"
    if solutions:
        summary = page.locator(f"{MARKDOWN} details summary", has_text="Solution").first
        summary.click()
        assert page.evaluate(_SOLUTIONS)[0]["open"], f"{where}: clicking the summary does not open the solution"


_SLIDER_PROBE = """(index) => {
  const sliders = [...document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-OutputArea-output .widget-slider')];
  const slider = sliders[index];
  const area = slider.closest('.jp-OutputArea-output');
  const picture = () => [...area.querySelectorAll('img, canvas, svg')]
    .filter(n => n.getClientRects().length > 0 && !n.closest('.widget-slider'))
    .map(n => n.tagName === 'IMG' ? n.src : n.tagName === 'CANVAS' ? n.toDataURL() : n.outerHTML).join('|');
  window.__vaeBefore = {picture: picture(), readout: (slider.querySelector('.widget-readout') || {}).textContent};
  window.__vaePicture = picture;
  window.__vaeSlider = slider;
  return sliders.length;
}"""
_SLIDER_CHANGED = """() => window.__vaePicture() !== window.__vaeBefore.picture
  && (window.__vaeBefore.readout === undefined
      || window.__vaeSlider.querySelector('.widget-readout').textContent !== window.__vaeBefore.readout)"""


def _check_sliders(page, where: str) -> int:
    """Move every ipywidgets slider with the keyboard; its readout and picture must change."""
    count = page.evaluate("() => document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) "
                          ".jp-OutputArea-output .widget-slider').length")
    for index in range(count):
        page.evaluate(_SLIDER_PROBE, index)
        handle = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-OutputArea-output .widget-slider").nth(index) \
            .locator(".noUi-handle").first
        handle.scroll_into_view_if_needed()
        handle.focus()
        key = "ArrowLeft" if handle.get_attribute("aria-valuenow") == handle.get_attribute("aria-valuemax") else "ArrowRight"
        page.keyboard.press(key)
        try:
            page.wait_for_function(_SLIDER_CHANGED, timeout=20_000)
        except Exception:  # noqa: BLE001 (Playwright's TimeoutError): say which slider
            pytest.fail(f"{where}: slider {index + 1} of {count} moved from the keyboard but its picture did not change")
    return count


_LATENT = """async () => {
  const roots = [...document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-OutputArea-output')]
    .filter(o => o.querySelector('input[type="range"]') && o.querySelector('canvas.vae-ls-canvas, .vae-ls-picture'));
  const results = [];
  for (const root of roots) {
    const canvas = root.querySelector('canvas.vae-ls-canvas');
    if (!canvas) { results.push('not redrawn: no canvas (the script did not run)'); continue; }
    const input = root.querySelector('input[type="range"]'), before = canvas.toDataURL();
    input.value = String(Number(input.max) * 0.9); input.dispatchEvent(new Event('input', {bubbles: true}));
    await new Promise(r => setTimeout(r, 200));
    results.push(canvas.toDataURL() !== before ? 'redrawn' : 'not redrawn: the picture did not change');
  }
  return results;
}"""
_PYTHON_SLIDER_CELL = ("live = widgets.live_dimension_sliders(model, codes.mu[example], dims=top_dims)\n"
                       "live")
_ADD_AND_RUN = """async (source) => {
  const app = window.jupyterapp, panel = app.shell.currentWidget, notebook = panel.content;
  notebook.model.sharedModel.insertCell(notebook.model.cells.length, {cell_type: 'code', source});
  notebook.activeCellIndex = notebook.widgets.length - 1;
  await app.commands.execute('notebook:run-cell');
  const cell = notebook.widgets[notebook.widgets.length - 1];
  for (let i = 0; i < 600 && !(cell.node.querySelector('.jp-OutputArea img') && cell.node.querySelector('.noUi-handle')); i++)
    await new Promise(r => setTimeout(r, 100));
  cell.node.scrollIntoView();
  const image = cell.node.querySelector('.jp-OutputArea img');
  window.__vaeTimes = []; window.__vaeImage = image;
  const handle = cell.node.querySelector('.noUi-handle');
  handle.addEventListener('keydown', () => { window.__vaeStart = performance.now(); }, true);
  new MutationObserver(() => { if (window.__vaeStart) { window.__vaeTimes.push(performance.now() - window.__vaeStart);
    window.__vaeStart = null; } }).observe(image, {attributes: true, attributeFilter: ['src']});
  return cell.model.outputs.toJSON().filter(o => o.output_type === 'error').length;
}"""


def _python_slider_round_trips(page) -> list[float]:
    """Add chapter 10's Python sliders, move one with the keyboard; milliseconds from key to new picture."""
    assert page.evaluate(_ADD_AND_RUN, _PYTHON_SLIDER_CELL) == 0, "the Python sliders' cell failed"
    handle = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell").last.locator(".noUi-handle").first
    handle.focus()
    for move in range(PYTHON_SLIDER_MOVES):
        page.keyboard.press("ArrowRight")
        page.wait_for_function(f"() => window.__vaeTimes.length > {move}", timeout=20_000)
    return page.evaluate("() => window.__vaeTimes")


def _build_seconds() -> dict[str, float]:
    """Each chapter's execution time in the last `make book` (its cache), when there is one."""
    folder = REPO / "book" / "_build" / ".jupyter_cache"
    if not folder.is_dir():
        return {}
    from jupyter_cache import get_cache

    return {Path(record.uri).stem: record.data.get("execution_seconds", float("nan"))
            for record in get_cache(str(folder)).list_cache_records()}


def _solution_count(chapter: Path) -> int:
    return len(re.findall(r"^[`:]{3,}\{solution\}", chapter.read_text(encoding="utf-8"), flags=re.M))


@pytest.fixture(scope="module")
def live_copies(tmp_path_factory) -> Path:
    """Copies of the chapters (a live run must never change the sources; JupyterLab autosaves)."""
    folder = tmp_path_factory.mktemp("lab") / "chapters"
    folder.mkdir()
    for chapter in CHAPTERS:
        shutil.copy(chapter, folder / chapter.name)
    return folder


@pytest.mark.slow
@pytest.mark.browser
def test_every_chapter_renders_and_runs_live_in_jupyterlab(browser, live_copies, tmp_path_factory, request):
    lab = Lab(live_copies, tmp_path_factory.mktemp("lab-home"), plain=False)
    report = request.config.stash.setdefault(SITE_REPORT, [])
    built = _build_seconds()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    problems, round_trips = [], []
    try:
        page = _open_lab(browser, lab)
        for chapter in LIVE_CHAPTERS:
            where = f"{chapter.name} (JupyterLab + jupyterlab-myst)"
            markdown_cells = page.evaluate(_OPEN, [chapter.name, "Jupytext Notebook"])
            page.wait_for_function(_RENDERED, arg=markdown_cells, timeout=120_000)
            page.wait_for_timeout(1500)  # math typesetting
            problems += _markdown_problems(page, where)
            page.screenshot(path=str(SCREENSHOTS / f"{chapter.stem}-rendered.png"))  # the opening, as rendered
            _check_solutions_folded(page, where, _solution_count(chapter))
            result = page.evaluate(_RUN_ALL, RUN_LIMIT_S * 1000)
            assert result["outcome"] == "done", f"{where}: still running after {RUN_LIMIT_S} s"
            assert not result["errors"], f"{where}: error output: {result['errors']}"
            assert result["unrun"] == 0, f"{where}: {result['unrun']} code cells did not run"
            sliders = _check_sliders(page, where)
            extra = ""
            if chapter.stem == "10_latent_space":
                latent = page.evaluate(_LATENT)
                assert latent and all(state == "redrawn" for state in latent), f"{where}: latent sliders: {latent}"
                round_trips = _python_slider_round_trips(page)
                extra = f", {len(latent)} in-browser latent slider figure(s) redrawn"
            page.screenshot(path=str(SCREENSHOTS / f"{chapter.stem}.png"), full_page=False)
            build = built.get(chapter.stem)
            versus = f" (build {build:.1f} s, ratio {result['seconds'] / build:.2f})" if build else ""
            report.append(f"JupyterLab live {chapter.stem}: all cells in {result['seconds']:.1f} s{versus}, "
                          f"{sliders} slider(s) moved by keyboard{extra}")
            page.evaluate(_CLOSE)
        page.close()
    finally:
        lab.stop()
    assert not problems, "Raw MyST in JupyterLab:\n" + "\n".join(problems[:30])
    if not any(chapter.stem == "10_latent_space" for chapter in LIVE_CHAPTERS):
        return
    assert len(round_trips) == PYTHON_SLIDER_MOVES
    report.append(f"JupyterLab Python slider round trip (browser, key to new picture, {len(round_trips)} moves): "
                  f"median {statistics.median(round_trips):.0f} ms, "
                  f"95th percentile {statistics.quantiles(round_trips, n=20)[-1]:.0f} ms")


@pytest.mark.slow
@pytest.mark.browser
def test_exported_notebooks_render_and_run_in_a_jupyterlab_without_myst(browser, tmp_path_factory, request):
    """The plain frontend (no jupyterlab-myst), as on Colab or in VS Code: Colab, student and assignment notebooks."""
    folder = tmp_path_factory.mktemp("plain")
    links = book_links()
    notebooks = {
        "01_bayes.ipynb": (export_chapter(CHAPTERS[0], links=links, requirement=""), _solution_count(CHAPTERS[0])),
        "06_kl_student.ipynb": (export_chapter(CHAPTERS[5], links=links, keep_solutions=False, requirement=""), 0),
        "assignment.ipynb": (assign.assignment_notebook(assign.select(
            [exercise.label for chapter in assign.read_book()[:6] for exercise in chapter.exercises]), requirement=""), 0),
    }
    for name, (notebook, _) in notebooks.items():
        nbformat.write(notebook, folder / name)
    lab = Lab(folder, tmp_path_factory.mktemp("plain-home"), plain=True)
    report = request.config.stash.setdefault(SITE_REPORT, [])
    try:
        page = _open_lab(browser, lab)
        disabled = page.evaluate("() => JSON.parse(document.getElementById('jupyter-config-data').textContent)"
                                 ".disabledExtensions")
        assert "jupyterlab-myst" in json.dumps(disabled), f"jupyterlab-myst must be off here: {disabled}"
        problems = []
        for name, (_, solutions) in notebooks.items():
            where = f"{name} (JupyterLab without jupyterlab-myst)"
            markdown_cells = page.evaluate(_OPEN, [name, "Notebook"])
            page.wait_for_function(_RENDERED, arg=markdown_cells, timeout=120_000)
            page.wait_for_timeout(1500)
            problems += _markdown_problems(page, where)
            _check_solutions_folded(page, where, solutions)
            if name == "01_bayes.ipynb":
                result = page.evaluate(_RUN_ALL, RUN_LIMIT_S * 1000)
                assert result["outcome"] == "done" and not result["errors"], f"{where}: {result}"
                sliders = _check_sliders(page, where)
                report.append(f"Plain JupyterLab {name}: all cells in {result['seconds']:.1f} s, {sliders} slider(s) "
                              f"moved, {solutions} solutions folded")
            page.screenshot(path=str(SCREENSHOTS / f"plain-{Path(name).stem}.png"))
            page.evaluate(_CLOSE)
        page.close()
    finally:
        lab.stop()
    assert not problems, "Raw syntax in a JupyterLab without MyST:\n" + "\n".join(problems[:30])


def test_jupyterlab_loads_the_books_extensions():
    """The pinned pair works: jupyterlab-myst, jupytext and the widget manager all load ("OK")."""
    result = subprocess.run([sys.executable, "-m", "jupyter", "labextension", "list"], capture_output=True, text=True,
                            env={**os.environ, "NO_COLOR": "1"})
    listing = re.sub(r"\x1b\[[0-9;]*m", "", result.stdout + result.stderr)
    for extension in ("jupyterlab-myst", "jupyterlab-jupytext", "@jupyter-widgets/jupyterlab-manager"):
        line = next((line for line in listing.splitlines() if line.strip().startswith(extension)), "")
        assert "enabled" in line and line.rstrip().endswith(")") and " OK" in line, f"{extension}: {line or listing}"


def test_binder_configures_jupyterlab_as_make_lab_does():
    post_build = (REPO / "postBuild").read_text()
    makefile = (REPO / "Makefile").read_text()
    manager = "vae_lib._lab_contents.BookContentsManager"
    assert manager in post_build and manager in makefile
    assert "jupyterlab-overrides.json" in post_build and "jupyterlab-overrides.json" in makefile
