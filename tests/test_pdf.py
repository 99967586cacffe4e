"""The printed book: `make pdf` writes one PDF of the whole book, offline, math typeset.

Uses the session's book build (conftest.built_book), so its execution cache is reused and no
chapter runs again; skipped with a message where Chromium is missing.
"""

from __future__ import annotations

import re
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest

from conftest import book_build_env
from vae_lib import _printing
from vae_lib._book_sources import read_book

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "book"))
import print_book  # noqa: E402

#: A4 pages a chapter takes in print (prose, code, outputs, figures); the reference pages
#: (intro, notation, exercise index, glossary, references, instructor guide) take FRONT_AND_BACK.
PAGES_PER_CHAPTER = (8, 60)
FRONT_AND_BACK = (6, 40)


@pytest.fixture(scope="module")
def pdf_text(built_book) -> tuple[int, str]:
    """(number of pages, text of every page) of the book printed from the session's build."""
    if _printing.find_chromium() is None:
        pytest.skip("No Chromium found, so the book was not printed to a PDF. Install it "
                    "(Debian/Ubuntu: apt-get install chromium) or set VAE_BOOK_CHROMIUM=/path/to/chrome.")
    pypdf = pytest.importorskip("pypdf", reason="pypdf (the dev extra) reads the PDF back")
    pdf = built_book / "_build" / "pdf" / "vae-book.pdf"
    pdf.unlink(missing_ok=True)
    result = subprocess.run([sys.executable, str(REPO / "book" / "print_book.py"), "--path-output", str(built_book)],
                            cwd=REPO, env=book_build_env(), capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "WARNING:" not in result.stdout + result.stderr, "the single-page build warned"
    reader = pypdf.PdfReader(pdf)
    text = "\n".join(page.extract_text() or "" for page in reader.pages)
    return len(reader.pages), text


def _plain(text: str) -> str:
    """Text compared as words: ligatures undone (NFKC), curly quotes straight, spaces collapsed."""
    text = unicodedata.normalize("NFKC", text).replace("’", "'").replace("‘", "'")
    return " ".join(text.split())


@pytest.mark.slow
def test_the_pdf_has_a_plausible_number_of_pages(pdf_text):
    pages, _ = pdf_text
    chapters = len(read_book())
    low = PAGES_PER_CHAPTER[0] * chapters + FRONT_AND_BACK[0]
    high = PAGES_PER_CHAPTER[1] * chapters + FRONT_AND_BACK[1]
    assert low <= pages <= high, f"{pages} pages for {chapters} chapters: expected {low} to {high}"


@pytest.mark.slow
def test_the_pdf_holds_every_chapter_and_reference_page(pdf_text):
    _, text = pdf_text
    plain = _plain(text)
    titles = [chapter.title for chapter in read_book()]
    titles += ["Exercise index", "Glossary", "References", "Instructor guide"]
    missing = [title for title in titles if _plain(title) not in plain]
    assert not missing, f"chapter or page titles missing from the PDF's text: {missing}"


@pytest.mark.slow
def test_the_pdf_shows_typeset_math_and_pictures_not_sources(pdf_text):
    _, text = pdf_text
    for raw in ("\\(", "\\[", "$$", "\\frac", "\\mid", "\\begin{"):
        assert raw not in text, f"math source {raw!r} printed: MathJax did not typeset before printing"
    # A widget printed as itself would show its Python repr instead of its picture.
    assert not re.search(r"\b(VBox|HBox|Stack|IntSlider|SelectionSlider)\(", text), "a widget printed as text"
    assert "∣" in text or "|" in text, "no typeset math found at all"


@pytest.mark.slow
def test_the_glossary_prints_the_chinese_terms(pdf_text):
    if print_book.has_chinese_font() is not True:
        pytest.skip("No font for Chinese installed (Debian/Ubuntu: apt-get install fonts-wqy-microhei).")
    _, text = pdf_text
    for chinese in ("先验", "似然", "后验", "变分推断", "证据下界"):
        assert chinese in text, f"{chinese} missing from the printed glossary"
