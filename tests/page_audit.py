"""Accessibility audits of built pages: axe-core and figure alt text.

Used by tests/test_accessibility.py and tests/test_figure_alt_text.py.

axe-core is pinned in ``book/assets/package.json`` and injected from ``node_modules`` (never a
CDN) into each page once it has settled. A page's audit lists axe's violations, with the
selectors of the elements at fault, and the alt text of every image in its main content.

Run it by hand over a built site while fixing pages (prints the counts per rule)::

    .venv/bin/python tests/page_audit.py book/_build/html [page.html ...]
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
AXE = REPO / "book" / "assets" / "node_modules" / "axe-core" / "axe.min.js"

#: Impacts that fail the site test outright; "moderate" and "minor" may only go down
#: (tests/accessibility_baseline.json holds their counts).
FAILING_IMPACTS = ("critical", "serious")

#: Rule → CSS selectors whose elements axe may not judge for that rule, each with the reason.
#: Only for faults with no fix on our side; name the upstream issue.
EXCLUDED: dict[str, dict[str, str]] = {}

#: The WCAG 2.1 AA rules and axe's best practices.
AXE_OPTIONS = {"resultTypes": ["violations"],
               "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]}}

_AUDIT = """
async ([options, excluded]) => {
  const result = await axe.run(document, options);
  const judged = (rule, target) => {
    const selectors = excluded[rule] || [];
    if (!selectors.length) return true;
    let element = null;
    try { element = document.querySelector(target[0]); } catch (e) { return true; }
    return !(element && selectors.some((s) => element.closest(s)));
  };
  const violations = result.violations.map((v) => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.filter((n) => judged(v.id, n.target)).map((n) => n.target.join(' ')),
  })).filter((v) => v.nodes.length);
  const main = document.querySelector('main') || document.body;
  // Pictures: <img>, and the <svg> and <canvas> pictures widgets draw (named by aria-label).
  const images = [...main.querySelectorAll('img, svg[role="img"], canvas[role="img"]')]
      .filter((img) => !!(img.offsetWidth || img.offsetHeight || img.getClientRects().length))
      .filter((img) => !img.closest('mjx-container, [aria-hidden="true"]'))
      .map((img) => ({src: img.tagName === 'IMG' ? (img.getAttribute('src') || '').slice(0, 80) : img.tagName,
                      alt: img.tagName === 'IMG' ? img.getAttribute('alt') : img.getAttribute('aria-label'),
                      role: img.tagName === 'IMG' ? img.getAttribute('role') : null}));
  return {violations, images};
}
"""


def audit(page) -> dict:
    """axe-core's violations on a loaded, settled page, and the alt text of its visible images."""
    page.add_script_tag(path=str(AXE))
    excluded = {rule: list(selectors) for rule, selectors in EXCLUDED.items()}
    return page.evaluate(_AUDIT, [AXE_OPTIONS, excluded])


_FILE_NAME = re.compile(r"(^|[/\\])[\w.-]+\.(png|jpe?g|gif|svg|webp)$|^\.\.?/|/_images/|^data:", re.I)


def bad_alt_text(image: dict) -> str | None:
    """Why an image's alt text would not serve a reader who cannot see it, or ``None``.

    >>> bad_alt_text({"src": "a.png", "alt": "../_images/f823a3be.png", "role": None})
    'alt text is a file name or path'
    >>> bad_alt_text({"src": "a.png", "alt": "", "role": None})
    'no alt text'
    >>> bad_alt_text({"src": "a.png", "alt": "", "role": "presentation"}) is None
    True
    >>> bad_alt_text({"src": "a.png", "alt": "Loss against epoch: both curves fall.", "role": None}) is None
    True
    """
    alt = (image.get("alt") or "").strip()
    if image.get("role") in ("presentation", "none"):
        return None  # marked decorative on purpose
    if not alt:
        return "no alt text"
    if _FILE_NAME.search(alt) or re.fullmatch(r"[\w.-]+", alt) and "." in alt:
        return "alt text is a file name or path"
    return None


def summarize(audits: dict[str, dict]) -> dict[str, dict]:
    """Per rule: its impact, its number of faulty elements, and the pages with their counts."""
    rules: dict[str, dict] = {}
    for page, result in sorted(audits.items()):
        for violation in result["violations"]:
            entry = rules.setdefault(violation["id"], {"impact": violation["impact"], "count": 0,
                                                       "pages": defaultdict(int)})
            entry["count"] += len(violation["nodes"])
            entry["pages"][page] += len(violation["nodes"])
    return {rule: {**entry, "pages": dict(entry["pages"])} for rule, entry in sorted(rules.items())}


def report_lines(summary: dict[str, dict], label: str) -> list[str]:
    """The summary as short lines for the terminal."""
    if not summary:
        return [f"{label}: no axe-core violations"]
    lines = [f"{label}: axe-core violations per rule (elements, pages)"]
    for rule, entry in summary.items():
        lines.append(f"  {rule} [{entry['impact']}]: {entry['count']} on {len(entry['pages'])} pages")
    return lines


def _main(argv: list[str]) -> int:
    import functools
    import http.server
    import threading

    from playwright.sync_api import sync_playwright

    site = Path(argv[0]).resolve()
    names = argv[1:] or sorted(
        p.relative_to(site).as_posix() for p in site.rglob("*.html")
        if not {"_static", "_sources", "zh_CN"} & set(p.relative_to(site).parts)
        and p.name not in ("genindex.html", "search.html", "index.html"))

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(site)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    audits = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        for name in names:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.set_default_timeout(240_000)
            page.goto(f"http://127.0.0.1:{httpd.server_address[1]}/{name}", wait_until="load")
            page.wait_for_timeout(1500)
            page.evaluate("() => window.MathJax && MathJax.startup ? MathJax.startup.promise : null")
            audits[name] = audit(page)
            page.close()
            bad = [i for i in audits[name]["images"] if bad_alt_text(i)]
            print(f"{name}: {sum(len(v['nodes']) for v in audits[name]['violations'])} violations, "
                  f"{len(bad)} of {len(audits[name]['images'])} images without good alt text", flush=True)
        browser.close()
    httpd.shutdown()
    summary = summarize(audits)
    print("\n".join(report_lines(summary, str(site))))
    Path("/tmp/axe-audits.json").write_text(json.dumps(audits, indent=1))
    return 0


if __name__ == "__main__":
    import sys

    sys.exit(_main(sys.argv[1:]))
