"""Printed lines and code lines fit their box: no output or code block of the built site needs a horizontal scroll bar.

A line wider than its box is cut off at the box's edge; a reader sees half a sentence or half a
statement and may never find the scroll bar. This loads every page in headless Chromium (the
fixtures of tests/test_site.py: the build, the local server, the browser) and fails on any output
block (a code cell's printed or displayed text) or code input block (a code cell's visible code)
whose content is wider than the block (``scrollWidth > clientWidth``), naming the page and the
line. Chapters keep printed lines to about 76 characters and code lines to 77 (CONTRIBUTING.md).
Code a reader must unfold first (a ``hide-input`` cell, a solution) is not measured here: it has
no box until it is opened; tests/test_line_widths.py checks every code line on the sources, and
the lines only the offline build prints.
"""

from __future__ import annotations

import functools
import http.server
import threading

from test_site import (  # noqa: F401 (fixtures)
    PAGE_TIMEOUT_MS, _pages, _QuietHandler, _settle, browser, edition, root, root_server, server, site)

#: The blocks measured: what a code cell printed or displayed, and the code of a code cell.
BLOCKS = {"output": "main .cell_output pre, main .output pre", "code": "main .cell_input pre"}

#: JavaScript: every visible block matching the selector (not inside a closed <details>) that is wider than its box.
_OVERFLOWING = """
(selector) => [...document.querySelectorAll(selector)]
  .filter((pre) => pre.getClientRects().length && pre.checkVisibility() && pre.scrollWidth > pre.clientWidth + 1)
  .map((pre) => {
    const lines = pre.innerText.split('\\n');
    const longest = lines.reduce((a, b) => (b.length > a.length ? b : a), '');
    return `${pre.scrollWidth - pre.clientWidth} px too wide: ${longest.slice(0, 100)}`;
  })
"""


def overflowing_blocks(browser, url: str, name: str) -> list[str]:
    """``"<page>: <kind> block <n> px too wide: <its longest line>"`` for every block of the page wider than its box."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.set_default_timeout(PAGE_TIMEOUT_MS)
    page.goto(url)
    _settle(page)
    found = [f"{name}: {kind} block {line}" for kind, selector in BLOCKS.items()
             for line in page.evaluate(_OVERFLOWING, selector)]
    page.close()
    return found


def test_printed_and_code_lines_fit_their_box_on_every_page(site, server, browser):  # noqa: F811 (fixtures)
    problems: list[str] = []
    for path in _pages(site):
        relative = path.relative_to(site).as_posix()
        problems += overflowing_blocks(browser, f"{server}/{relative}", relative)
    assert not problems, ("Lines wider than their box (keep printed lines to about 76 characters, "
                          "code lines to 77):\n" + "\n".join(problems))


def test_the_overflow_check_catches_a_long_line(tmp_path, browser):  # noqa: F811 (fixture)
    """The checker itself, on pages styled like the book's blocks: a line too long, in an output or in code, and lines that fit."""
    style = "<style>main { width: 300px } pre { overflow: auto; white-space: pre }</style>"
    output = '<div class="cell_output"><pre>{}</pre></div>'
    code = '<div class="cell_input"><pre>{}</pre></div>'
    pages = {"long-output": output.format("x" * 200), "long-code": code.format("y" * 200),
             "short": output.format("fits") + code.format("fits too"),
             "folded": f'<details>{code.format("z" * 200)}</details>'}   # closed: no box to overflow
    for name, body in pages.items():
        (tmp_path / f"{name}.html").write_text(f"{style}<main>{body}</main>")
    handler = functools.partial(_QuietHandler, directory=str(tmp_path))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{httpd.server_address[1]}"
    try:
        found = {name: overflowing_blocks(browser, f"{base}/{name}.html", name) for name in pages}
    finally:
        httpd.shutdown()
    assert len(found["long-output"]) == 1 and "output block" in found["long-output"][0]
    assert "px too wide: xxxx" in found["long-output"][0]
    assert len(found["long-code"]) == 1 and "code block" in found["long-code"][0]
    assert "px too wide: yyyy" in found["long-code"][0]
    assert found["short"] == [] and found["folded"] == []
