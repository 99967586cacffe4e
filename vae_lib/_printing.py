"""Print HTML pages to PDF, offline, with headless Chromium (the book's PDF and assignment sheets).

Chromium runs the page's JavaScript before printing, so math typeset by MathJax prints as
math. ``--virtual-time-budget`` lets the page finish its scripts (MathJax loads its parts
lazily) before the snapshot; no network is needed when MathJax is served from disk.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

__all__ = ["find_chromium", "print_to_pdf", "typeset_html", "NoChromiumError"]

#: Milliseconds of page time Chromium grants the page's scripts (MathJax) before it prints.
SCRIPT_BUDGET_MS = 20_000
_FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync",
          "--disable-background-networking", "--disable-component-update", "--allow-file-access-from-files",
          f"--virtual-time-budget={SCRIPT_BUDGET_MS}"]


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
