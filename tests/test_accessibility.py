"""Accessibility of the built sites (WCAG 2.1 AA), measured in Chromium.

- **axe-core** (pinned in ``book/assets``, injected from ``node_modules``) scans every page of
  each edition and of the student site: any critical or serious violation fails; the moderate
  and minor ones may only go down (their counts per rule are capped by
  ``tests/accessibility_baseline.json``). The counts per rule and page are written next to the
  site (``_build/accessibility/<site>.json``) and printed at the end of the run.
- **Figures** say what they show: every visible image in a page's main content has alt text,
  and not a file name.
- **Keyboard**: an arrow key moves a focused slider, its value text and picture follow, and the
  focus is drawn.
- **Math** is read out: MathJax adds assistive MathML beside every typeset formula.

The pages are loaded once per site (the ``audits`` fixtures) and every check reads those loads.
"""

from __future__ import annotations

import functools
import http.server
import json
import re
import threading
from pathlib import Path

import pytest

import page_audit
from conftest import SITE_REPORT
# The site test's fixtures: the session's build, served over HTTP, one browser per module.
from test_site import (_QuietHandler, _folder, _pages, _settle, browser, edition, root,  # noqa: F401
                       root_server, server, site)

pytestmark = [pytest.mark.slow, pytest.mark.browser]

REPO = Path(__file__).resolve().parents[1]
BASELINE = Path(__file__).with_name("accessibility_baseline.json")
#: A chapter with a precomputed slider figure (vae_lib.widgets.slider_figure).
KEYBOARD_PAGE = "chapters/05_elbo.html"


def _require_axe() -> None:
    assert page_audit.AXE.is_file(), (
        f"axe-core is missing ({page_audit.AXE}): run `make assets` (npm ci in book/assets).")


def _audit_site(browser, base_url: str, site: Path) -> dict[str, dict]:  # noqa: F811
    _require_axe()
    audits = {}
    for path in _pages(site):
        relative = path.relative_to(site).as_posix()
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.set_default_timeout(240_000)
        page.goto(f"{base_url}/{relative}")
        _settle(page)
        audits[relative] = page_audit.audit(page)
        page.close()
    return audits


def _report(label: str, audits: dict[str, dict], out: Path, request) -> dict[str, dict]:
    summary = page_audit.summarize(audits)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{label}.json").write_text(json.dumps(summary, indent=1, sort_keys=True) + "\n")
    request.config.stash.setdefault(SITE_REPORT, []).extend(page_audit.report_lines(summary, label))
    return summary


def _problems(label: str, summary: dict[str, dict]) -> list[str]:
    """Critical and serious violations, and any rule whose count grew past the baseline."""
    baseline = json.loads(BASELINE.read_text())
    allowed = baseline.get(label, {})
    problems = []
    for rule, entry in summary.items():
        pages = ", ".join(f"{page} ({count})" for page, count in entry["pages"].items())
        if entry["impact"] in page_audit.FAILING_IMPACTS:
            problems.append(f"{label}: {rule} [{entry['impact']}] on {entry['count']} elements: {pages}")
        elif entry["count"] > allowed.get(rule, 0):
            problems.append(f"{label}: {rule} [{entry['impact']}] on {entry['count']} elements, more than the "
                            f"{allowed.get(rule, 0)} of {BASELINE.name}: {pages}")
    return problems


@pytest.fixture(scope="module")
def audits(site, server, browser, edition) -> dict[str, dict]:  # noqa: F811
    """Each page of one edition, loaded once and audited: ``{page: {violations, images}}``."""
    return _audit_site(browser, server, site)


def test_axe_finds_no_serious_violation_on_any_page(audits, edition, site, request):
    label = "en" if edition == "en" else edition
    summary = _report(label, audits, site.parent / "accessibility" if edition == "en"
                      else site.parent.parent / "accessibility", request)
    problems = _problems(label, summary)
    assert not problems, "\n".join(problems)


def test_student_site_has_no_serious_violation(student_site, browser, request):  # noqa: F811
    result, html = student_site
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    handler = functools.partial(_QuietHandler, directory=str(html))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        audits = _audit_site(browser, f"http://127.0.0.1:{httpd.server_address[1]}", html)
    finally:
        httpd.shutdown()
    summary = _report("student", audits, html.parent / "accessibility", request)
    bad_images = [f"student {page}: {image['src']}: {why}" for page, result in audits.items()
                  for image in result["images"] if (why := page_audit.bad_alt_text(image))]
    problems = _problems("student", summary) + bad_images
    assert not problems, "\n".join(problems)


def test_every_figure_says_what_it_shows(audits):
    """Every visible image in the main content has alt text written for a reader, not a path."""
    problems = [f"{page}: image {image['src']}…: {why} ({image['alt']!r})"
                for page, result in audits.items() for image in result["images"]
                if (why := page_audit.bad_alt_text(image))]
    checked = sum(len(result["images"]) for result in audits.values())
    assert checked > 40, f"only {checked} images were found on the site"
    assert not problems, f"{len(problems)} of {checked} images:\n" + "\n".join(problems)


_CJK = re.compile(r"[\u4e00-\u9fff]")


def _is_figure(image: dict) -> bool:
    """A chapter's figure (an image file myst-nb wrote), not a picture a widget draws."""
    return "_images/" in image["src"]


def test_every_picture_is_described_in_the_edition_s_language(audits, edition):
    """On the Chinese site every picture's alt text is Chinese: the figures' from the chapters'
    catalogues (their cells' ``mystnb: image: alt:``), the widgets' from vae_lib's; on the
    English site none is."""
    problems, figures = [], 0
    for page, result in audits.items():
        for image in result["images"]:
            alt = image["alt"] or ""
            if not alt.strip() or image["role"] in ("presentation", "none"):
                continue  # decoration; test_every_figure_says_what_it_shows judges that
            figures += _is_figure(image)
            chinese = bool(_CJK.search(alt))
            if edition == "en" and chinese:
                problems.append(f"{page}: {image['src']}…: Chinese on the English site: {alt!r}")
            elif edition != "en" and not chinese:
                problems.append(f"{page}: {image['src']}…: not in the edition's language: {alt!r}")
    assert figures > 40, f"only {figures} figures were found on the site"
    assert not problems, f"{len(problems)} pictures:\n" + "\n".join(problems)


def test_the_audit_catches_what_it_should(tmp_path, browser):  # noqa: F811
    """The checker itself: a page with an unnamed slider, faint text and a file name for alt text."""
    _require_axe()
    (tmp_path / "bad.html").write_text(
        '<html lang="en"><head><title>Bad</title></head><body><main>'
        '<div role="slider" tabindex="0" aria-valuenow="1" aria-valuemin="0" aria-valuemax="2"></div>'
        '<p style="color:#bbb;background:#fff">Faint text.</p>'
        '<img src="../_images/f823a3be.png" alt="../_images/f823a3be.png"></main></body></html>')
    handler = functools.partial(_QuietHandler, directory=str(tmp_path))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    page = browser.new_page()
    try:
        page.goto(f"http://127.0.0.1:{httpd.server_address[1]}/bad.html")
        result = page_audit.audit(page)
    finally:
        page.close()
        httpd.shutdown()
    rules = {violation["id"]: violation["impact"] for violation in result["violations"]}
    assert rules.get("aria-input-field-name") == "serious"
    assert rules.get("color-contrast") == "serious"
    assert [page_audit.bad_alt_text(image) for image in result["images"]] == ["alt text is a file name or path"]


_SLIDER_STATE = """
(handle) => {
  const area = handle.closest('.widget-vbox, .jupyter-widgets');
  const pictures = [...area.querySelectorAll('img, svg[role="img"]')]
      .filter((picture) => picture.getBoundingClientRect().width > 0);
  const style = getComputedStyle(handle);
  return {
    name: handle.getAttribute('aria-label') || (handle.getAttribute('aria-labelledby') &&
          document.getElementById(handle.getAttribute('aria-labelledby')).textContent),
    valueText: handle.getAttribute('aria-valuetext'),
    readout: handle.closest('.widget-slider').querySelector('.widget-readout').textContent,
    picture: pictures.map((p) => p.tagName === 'IMG' ? p.src.slice(-200) : p.innerHTML.slice(0, 2000)).join('|'),
    alt: pictures.map((p) => p.getAttribute('alt') || p.getAttribute('aria-label')).join('|'),
    focused: document.activeElement === handle,
    outline: style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2,
  };
}
"""


def test_a_slider_moves_with_the_arrow_keys_and_shows_its_focus(server, browser):  # noqa: F811
    """Keyboard only: focus the first slider of a figure, press an arrow key; the value text,
    the read-out, the picture and its alt text follow, and the focused handle is outlined."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.set_default_timeout(240_000)
    page.goto(f"{server}/{KEYBOARD_PAGE}")
    _settle(page)
    handle = page.locator(".cell_output .widget-slider .noUi-handle").first
    handle.scroll_into_view_if_needed()
    handle.focus()
    before = handle.evaluate(_SLIDER_STATE)
    page.keyboard.press("ArrowRight")
    page.wait_for_timeout(300)
    after = handle.evaluate(_SLIDER_STATE)
    if after["readout"] == before["readout"]:  # it started at its maximum
        page.keyboard.press("ArrowLeft")
        page.keyboard.press("ArrowLeft")
        page.wait_for_timeout(300)
        after = handle.evaluate(_SLIDER_STATE)
    page.close()
    assert before["name"], "the slider has no accessible name"
    assert after["focused"], "the slider lost the focus"
    assert after["outline"], "the focused slider shows no outline"
    assert after["readout"] != before["readout"], "the arrow key did not move the slider"
    assert after["valueText"] == after["readout"], "a screen reader would not hear the value shown"
    assert after["picture"] != before["picture"], "the picture did not change"
    assert after["alt"] != before["alt"] and after["alt"], "the picture's alt text did not follow the slider"


def test_formulas_are_read_out(server, browser):  # noqa: F811
    """MathJax's assistive MathML sits beside every typeset formula (screen readers read it)."""
    page = browser.new_page()
    page.set_default_timeout(240_000)
    page.goto(f"{server}/chapters/01_bayes.html")
    _settle(page)
    counts = page.evaluate("""() => ({
        formulas: document.querySelectorAll('mjx-container').length,
        assistive: document.querySelectorAll('mjx-container mjx-assistive-mml math').length})""")
    page.close()
    assert counts["formulas"] > 10
    assert counts["assistive"] == counts["formulas"], counts
