"""Print HTML pages to PDF, offline, with headless Chromium (the book's PDF and assignment sheets).

Chromium runs the page's JavaScript before printing, so math typeset by MathJax prints as
math; no network is needed when MathJax is served from disk. Two routes:

- :func:`print_to_pdf` (assignment sheets): Chromium's command line, ``--print-to-pdf``;
  ``--virtual-time-budget`` lets the page finish its scripts before the snapshot.
- :func:`open_in_browser` and :func:`save_pdf` (the printed book): Chromium driven through the
  DevTools protocol by Playwright, which can print a page several times without loading it
  again, with a page number in every footer, and tagged (a structure tree for screen readers,
  with the page's language). :func:`destination_pages` and :func:`add_bookmarks` read such a PDF
  back and give it an outline (pypdf).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from vae_lib._atomic_files import atomic_write

__all__ = ["find_chromium", "print_to_pdf", "typeset_html", "NoChromiumError", "open_in_browser", "save_pdf",
           "destination_pages", "add_bookmarks", "PAGE_FOOTER", "reload_page"]

#: Milliseconds of page time Chromium grants the page's scripts (MathJax) before it prints.
SCRIPT_BUDGET_MS = 20_000
_BROWSER_FLAGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync",
                  "--disable-background-networking", "--disable-component-update",
                  "--allow-file-access-from-files"]
_FLAGS = ["--headless=new", *_BROWSER_FLAGS, f"--virtual-time-budget={SCRIPT_BUDGET_MS}"]

#: The footer of every page :func:`save_pdf` prints: the page's ``<title>`` and the page number.
#: (Chromium fills the spans; the footer is drawn in the bottom page margin.)
PAGE_FOOTER = ('<div style="width: 100%; margin: 0 15mm; font: 8pt sans-serif; color: #333; text-align: center">'
               '<span class="title"></span> &middot; page <span class="pageNumber"></span> of '
               '<span class="totalPages"></span></div>')


class NoChromiumError(RuntimeError):
    """No Chromium browser was found to print with."""


def find_chromium() -> str | None:
    """The path of a Chromium-like browser: ``$VAE_BOOK_CHROMIUM``, ``chromium``, ``chromium-browser``
    or ``google-chrome`` (the first on the PATH), or ``None``.

    >>> find_chromium() is None or Path(find_chromium()).exists()
    True
    """
    for candidate in (os.environ.get("VAE_BOOK_CHROMIUM"), "chromium", "chromium-browser", "google-chrome"):
        if candidate and shutil.which(candidate):
            return shutil.which(candidate)
    return None


def _chromium() -> str:
    browser = find_chromium()
    if browser is None:
        raise NoChromiumError(
            "No Chromium found to print the PDF. Install it (Debian/Ubuntu: apt-get install chromium)\n"
            "or set VAE_BOOK_CHROMIUM=/path/to/chrome.")
    return browser


def _run(arguments: list[str], timeout: float) -> subprocess.CompletedProcess:
    # A private profile folder: a shared one locks when two printers run at once.
    with tempfile.TemporaryDirectory(prefix="vae-chromium-") as profile:
        return subprocess.run([_chromium(), *_FLAGS, f"--user-data-dir={profile}", *arguments],
                              capture_output=True, timeout=timeout, check=False)


def print_to_pdf(html: Path, pdf: Path, *, timeout: float = 600) -> Path:
    """Print the page ``html`` (a local file) to ``pdf``, written atomically; return ``pdf``.

    Raises:
        NoChromiumError: no browser to print with.
        RuntimeError: Chromium did not write a PDF (its last output lines say why).
    """
    pdf = Path(pdf)
    partial = pdf.with_name(pdf.name + ".partial")
    partial.unlink(missing_ok=True)
    result = _run(["--no-pdf-header-footer", f"--print-to-pdf={partial}", Path(html).resolve().as_uri()], timeout)
    if not partial.is_file() or not partial.read_bytes().startswith(b"%PDF"):
        tail = "\n".join(result.stderr.decode(errors="replace").splitlines()[-5:])
        raise RuntimeError(f"Chromium did not print {html} to a PDF:\n{tail}")
    partial.replace(pdf)
    return pdf


def typeset_html(html: Path, *, timeout: float = 300) -> str:
    """The page ``html`` after its scripts ran (math typeset), as Chromium's DOM serializes it."""
    result = _run(["--dump-dom", Path(html).resolve().as_uri()], timeout)
    dom = result.stdout.decode("utf-8", errors="replace")
    if "<body" not in dom:
        raise RuntimeError(f"Chromium returned no page for {html}.")
    return dom


@contextmanager
def open_in_browser(html: Path, *, timeout: float = 600) -> Iterator:
    """Open the local page ``html`` in headless Chromium; yield the Playwright page once it is
    ready to print (loaded, images in, math typeset). The browser closes on leaving the block.

    Raises:
        NoChromiumError: no browser to print with.
        RuntimeError: Playwright (the dev extra) is not installed.
    """
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as error:
        raise RuntimeError("Printing the book needs Playwright: pip install -c constraints.txt -e '.[dev]'") from error
    executable = _chromium()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=_BROWSER_FLAGS)
        try:
            page = browser.new_page()
            page.set_default_timeout(timeout * 1000)
            page.goto(Path(html).resolve().as_uri(), wait_until="load")
            if not _typeset_math(page):
                print(f"note: MathJax did not load in {html}, so its math prints as TeX source "
                      "(run `make assets`, which serves MathJax from the site).")
            yield page
        finally:
            browser.close()


def reload_page(page) -> None:
    """Load the Playwright ``page`` afresh and wait, as :func:`open_in_browser` does, until its
    math is typeset: a print of the page as it was first loaded."""
    page.reload(wait_until="load")
    _typeset_math(page)


def _typeset_math(page) -> bool:
    """Wait until MathJax (if the page loaded it) has typeset the page; whether it had."""
    return page.evaluate("""async () => {
        await document.fonts.ready;
        if (!(window.MathJax && MathJax.startup && MathJax.startup.promise)) return false;
        await MathJax.startup.promise;
        await document.fonts.ready;
        return true;
    }""")


def save_pdf(page, pdf: Path, *, footer: str = PAGE_FOOTER) -> Path:
    """Print the Playwright ``page`` to ``pdf`` (written atomically): tagged, with the page's
    language, the page size and margins of its CSS ``@page`` rule, and ``footer`` on every page."""
    data = page.pdf(display_header_footer=True, header_template="<span></span>", footer_template=footer,
                    prefer_css_page_size=True, tagged=True, outline=False)
    if not data.startswith(b"%PDF"):
        raise RuntimeError(f"Chromium returned no PDF for {page.url}.")
    pdf = Path(pdf)
    atomic_write(pdf, lambda stream: stream.write(data))
    return pdf


def destination_pages(pdf: Path) -> dict[str, tuple[int, float]]:
    """``{id: (page, top)}`` for every named destination in ``pdf``: Chromium writes one for each
    element a link on the page points to, named by the element's id. Pages count from 1; ``top``
    is the destination's height on its page in PDF points (from the bottom edge)."""
    import pypdf  # the dev extra, as Playwright

    reader = pypdf.PdfReader(pdf)
    return {str(name).removeprefix("/"): (reader.get_destination_page_number(destination) + 1,
                                          float(destination.top or 0))
            for name, destination in reader.named_destinations.items()}


def add_bookmarks(pdf: Path, entries: Sequence[tuple[int, str, str]]) -> None:
    """Give ``pdf`` an outline (bookmarks), appended as an incremental update so its pages and
    structure tree stay byte for byte; viewers open it with the outline shown.

    Args:
        entries: ``(level, title, destination)`` in reading order, level 1 at the top of the
            outline; ``destination`` is a named destination of the PDF (see :func:`destination_pages`).
    Raises:
        KeyError: an entry's destination is not in the PDF.
        ValueError: an entry is more than one level below the one before it.
    """
    import pypdf
    from pypdf.generic import Fit, NameObject

    destinations = destination_pages(pdf)
    missing = [target for _, _, target in entries if target not in destinations]
    if missing:
        raise KeyError(f"{pdf} has no destination named {', '.join(missing[:5])}")
    writer = pypdf.PdfWriter(pdf, incremental=True)
    parents: list = [None]  # parents[k]: the latest bookmark of level k (0: the outline itself)
    for level, title, target in entries:
        if not 1 <= level <= len(parents):
            raise ValueError(f"bookmark {title!r} of level {level} follows one of level {len(parents) - 1}")
        del parents[level:]
        page, top = destinations[target]
        parents.append(writer.add_outline_item(title=title, page_number=page - 1, parent=parents[-1],
                                               fit=Fit.xyz(top=top), is_open=False))
    writer.page_mode = "/UseOutlines"
    # An incremental update is written with a cross-reference stream, a PDF 1.5 feature (the
    # catalog's /Version raises the header's 1.4), and its trailer names /Info only if it
    # changed: stamp the modification, so readers that follow the last trailer keep the title.
    writer.root_object[NameObject("/Version")] = NameObject("/1.5")
    writer.add_metadata({"/ModDate": time.strftime("D:%Y%m%d%H%M%SZ", time.gmtime())})
    atomic_write(Path(pdf), writer.write)
