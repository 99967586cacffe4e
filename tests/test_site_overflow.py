"""Printed lines fit their box: no output on any page of the built site needs a horizontal scroll bar.

A line wider than its output box is cut off at the box's edge; a reader sees half a sentence
and may never find the scroll bar. This loads every page in headless Chromium (the fixtures of
tests/test_site.py: the build, the local server, the browser) and fails on any output block whose
content is wider than the block (``scrollWidth > clientWidth``), naming the page and the line.
Chapters keep printed lines to about 76 characters (CONTRIBUTING.md).
"""

from __future__ import annotations

import functools
import http.server
import threading

from test_site import PAGE_TIMEOUT_MS, _pages, _QuietHandler, _settle, browser, server, site  # noqa: F401 (fixtures)

#: JavaScript: every output block of the page (a code cell's printed or displayed text) that is wider than its box.
_OVERFLOWING_OUTPUTS = """
() => [...document.querySelectorAll('main .cell_output pre, main .output pre')]
  .filter((pre) => pre.getClientRects().length && pre.scrollWidth > pre.clientWidth + 1)
  .map((pre) => {
    const lines = pre.innerText.split('\\n');
    const longest = lines.reduce((a, b) => (b.length > a.length ? b : a), '');
    return `${pre.scrollWidth - pre.clientWidth} px too wide: ${longest.slice(0, 100)}`;
  })
"""


def overflowing_outputs(browser, url: str, name: str) -> list[str]:
    """``"<page>: <n> px too wide: <the longest line>"`` for every output block of the page wider than its box."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.set_default_timeout(PAGE_TIMEOUT_MS)
    page.goto(url)
    _settle(page)
    found = page.evaluate(_OVERFLOWING_OUTPUTS)
    page.close()
    return [f"{name}: {line}" for line in found]


def test_printed_lines_fit_their_box_on_every_page(site, server, browser):  # noqa: F811 (fixtures)
    problems: list[str] = []
    for path in _pages(site):
        relative = path.relative_to(site).as_posix()
        problems += overflowing_outputs(browser, f"{server}/{relative}", relative)
    assert not problems, ("Output lines wider than their box (keep printed lines to about 76 characters):\n"
                          + "\n".join(problems))


def test_the_overflow_check_catches_a_long_line(tmp_path, browser):  # noqa: F811 (fixture)
    """The checker itself, on two pages styled like the book's output blocks: one line too long, one that fits."""
    style = "<style>main { width: 300px } pre { overflow: auto; white-space: pre }</style>"
    block = '<main><div class="cell_output"><pre>{}</pre></div></main>'
    (tmp_path / "long.html").write_text(style + block.format("x" * 200))
    (tmp_path / "short.html").write_text(style + block.format("fits"))
    handler = functools.partial(_QuietHandler, directory=str(tmp_path))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{httpd.server_address[1]}"
    try:
        long = overflowing_outputs(browser, f"{base}/long.html", "long")
        short = overflowing_outputs(browser, f"{base}/short.html", "short")
    finally:
        httpd.shutdown()
    assert len(long) == 1 and "px too wide: xxxx" in long[0]
    assert short == []
