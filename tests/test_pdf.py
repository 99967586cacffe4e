"""The printed book: `make pdf` writes one PDF of the whole book, offline, math typeset, with page
numbers, a contents list that gives them, bookmarks and tags; `make pdf EDITION=student` prints
the student edition the same way, without a word of any solution.

Uses the session's book build (conftest.built_book), so its execution cache is reused and no
chapter runs again; skipped with a message where Chromium is missing.
"""

from __future__ import annotations

import functools
import re
import subprocess
import sys
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from conftest import book_build_env
from vae_lib import _printing
from vae_lib._book_sources import read_book
from vae_lib._solutions import find_leaks

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "book"))
import print_book  # noqa: E402
import student_edition  # noqa: E402

#: A4 pages a chapter takes in print (prose, code, outputs, figures); the reference pages
#: (intro, notation, exercise index, glossary, references, instructor guide) take FRONT_AND_BACK.
PAGES_PER_CHAPTER = (8, 60)
FRONT_AND_BACK = (6, 40)
#: A heading that opens a page is at most this many points below the top of the page's text
#: area (where Chromium's destinations count from; a mid-page heading is hundreds below).
TOP_OF_PAGE = 90


@dataclass
class PrintedBook:
    """A PDF that print_book.py wrote, read back."""

    edition: str
    path: Path
    pages: list[str]  # the text of every page
    bookmarks: list[tuple[int, str, int]]  # (level, title, page), pages counted from 1
    tops: list[float]  # each bookmark's height on its page, in points from the page's top edge
    catalog: dict


def _plain(text: str) -> str:
    """Text compared as words: ligatures undone (NFKC), curly quotes straight, spaces collapsed."""
    text = unicodedata.normalize("NFKC", text).replace("’", "'").replace("‘", "'")
    return " ".join(text.split())


def _bookmarks(reader, outline, level: int = 1) -> list[tuple[int, str, int, float]]:
    found = []
    for item in outline:
        if isinstance(item, list):
            found += _bookmarks(reader, item, level + 1)
        else:
            page = reader.get_destination_page_number(item)
            found.append((level, item.title, page + 1, float(reader.pages[page].mediabox.top) - float(item.top)))
    return found


def _print(built_book: Path, edition: str, language: str = "en") -> PrintedBook:
    if _printing.find_chromium() is None:
        pytest.skip("No Chromium found, so the book was not printed to a PDF. Install it "
                    "(Debian/Ubuntu: apt-get install chromium) or set VAE_BOOK_CHROMIUM=/path/to/chrome.")
    pytest.importorskip("pypdf", reason="pypdf (the dev extra) reads the PDF back")
    pdf = built_book / "_build" / "pdf" / print_book.pdf_name(edition, language)
    pdf.unlink(missing_ok=True)
    result = subprocess.run([sys.executable, str(REPO / "book" / "print_book.py"), "--edition", edition,
                             "--path-output", str(built_book), "--lang", language],
                            cwd=REPO, env=book_build_env(), capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "WARNING:" not in result.stdout + result.stderr, "a build of the single page warned"
    assert "Executing notebook" not in result.stdout + result.stderr, (
        "a chapter was executed again: the single-page build did not reuse the execution cache of the "
        "session's build (with VAE_BOOK_SITE, rebuild that site after changing a chapter's code)")
    return _read(pdf, edition)


def _read(pdf: Path, edition: str) -> PrintedBook:
    import pypdf

    reader = pypdf.PdfReader(pdf)
    bookmarks = _bookmarks(reader, reader.outline)
    return PrintedBook(edition, pdf, [page.extract_text() or "" for page in reader.pages],
                       [bookmark[:3] for bookmark in bookmarks], [bookmark[3] for bookmark in bookmarks],
                       reader.trailer["/Root"])


@pytest.fixture(scope="module")
def lecturer_pdf(built_book) -> PrintedBook:
    """The book printed from the session's build (solutions included)."""
    return _print(built_book, "lecturer")


@pytest.fixture(scope="module")
def student_pdf(built_book) -> PrintedBook:
    """The student edition printed from the session's build (its execution cache reused)."""
    return _print(built_book, "student")


@pytest.fixture(params=["lecturer", "student"])
def printed(request) -> PrintedBook:
    """Each edition's PDF in turn: both must be navigable in the same ways."""
    return request.getfixturevalue(f"{request.param}_pdf")


def _document_titles(edition: str = "lecturer") -> list[str]:
    """The top-level bookmarks the book must have, in order: the introduction, each chapter as
    numbered, each reference page (the first heading of its file); the student edition has no
    lecturers' pages (the instructor guide)."""
    toc = yaml.safe_load((REPO / "book" / "_toc.yml").read_text(encoding="utf-8"))
    chapters = {chapter.docname: f"{chapter.number}. {chapter.title}" for chapter in read_book()}
    titles = ["Introduction"]
    for part in toc["parts"]:
        for entry in part["chapters"]:
            if edition == "student" and entry["file"] in student_edition.LECTURER_PAGES:
                continue
            if entry["file"] in chapters:
                titles.append(chapters[entry["file"]])
            else:
                source = (REPO / f"{entry['file']}.md").read_text(encoding="utf-8")
                titles.append(re.search(r"^# (.+)$", source, re.M).group(1).strip())
    return titles


def test_bookmarks_nest_by_level_and_keep_the_documents_title(tmp_path):
    """add_bookmarks on a small PDF with named destinations, as Chromium writes them (no browser needed)."""
    pypdf = pytest.importorskip("pypdf")
    writer = pypdf.PdfWriter()
    for _ in range(3):
        writer.add_blank_page(595, 842)
    for name, page in (("chapter-1", 0), ("section-1-1", 1), ("chapter-2", 2)):
        writer.add_named_destination(name, page)
    writer.add_metadata({"/Title": "A book"})
    pdf = tmp_path / "book.pdf"
    writer.write(pdf)
    _printing.add_bookmarks(pdf, [(1, "1. One", "chapter-1"), (2, "1.1. Inside", "section-1-1"), (1, "2. Two", "chapter-2")])
    reader = pypdf.PdfReader(pdf)
    assert [(level, title, page) for level, title, page, _ in _bookmarks(reader, reader.outline)] == [
        (1, "1. One", 1), (2, "1.1. Inside", 2), (1, "2. Two", 3)]
    # The title survives the incremental update, named in its trailer (the one readers read first).
    data = pdf.read_bytes()
    last_trailer = int(data.rsplit(b"startxref", 1)[1].split()[0])
    assert reader.metadata.title == "A book" and b"/Info" in data[last_trailer:last_trailer + 1000]
    assert reader.trailer["/Root"]["/PageMode"] == "/UseOutlines"
    with pytest.raises(KeyError, match="no destination named nowhere"):
        _printing.add_bookmarks(pdf, [(1, "Lost", "nowhere")])
    with pytest.raises(ValueError, match="level 2 follows one of level 0"):
        _printing.add_bookmarks(pdf, [(2, "An orphan", "chapter-1")])


def test_make_pdf_says_what_is_missing_before_building_anything(monkeypatch, capsys):
    monkeypatch.setattr(_printing, "find_chromium", lambda: None)
    monkeypatch.setattr(print_book, "build_single_page", lambda *args, **kwargs: pytest.fail("built without Chromium"))
    assert print_book.main([]) == 1
    assert "make pdf needs Chromium to print the book: install it" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        print_book.main(["--edition", "teacher"])
    assert "argument --edition: invalid choice: 'teacher'" in capsys.readouterr().err


@pytest.mark.slow
def test_every_page_carries_its_number_in_the_footer(printed):
    total = len(printed.pages)
    unnumbered = [number for number, text in enumerate(printed.pages, start=1)
                  if f"page {number} of {total}" not in _plain(text)]
    assert not unnumbered, f"pages without 'page N of {total}' in their footer: {unnumbered[:10]}"
    title = "(student edition)" if printed.edition == "student" else "Variational Autoencoders"
    assert all(title in _plain(text) for text in printed.pages), f"a footer lacks the book's title {title!r}"


@functools.cache
def _titles_with_math() -> set[str]:
    """The numbers ("7.5.") of the sections whose heading holds math. Typeset math prints as
    glyphs that pypdf cannot read back as text, so their text is not looked for in the PDF."""
    numbers = set()
    for chapter in read_book():
        sections = [line for cell in chapter.cells if cell["cell_type"] == "markdown"
                    for line in cell["source"].splitlines() if line.startswith("## ")]
        numbers |= {f"{chapter.number}.{index}." for index, line in enumerate(sections, start=1)
                    if "$" in line or "{math}" in line}
    return numbers


def _readable(title: str) -> bool:
    return title.split(" ")[0] not in _titles_with_math()


@pytest.mark.slow
def test_the_bookmarks_lead_to_every_chapter_and_its_sections(printed):
    top = [(title, page) for level, title, page in printed.bookmarks if level == 1]
    assert [_plain(title) for title, _ in top] == [_plain(title) for title in _document_titles(printed.edition)]
    starts = [page for _, page in top]
    assert starts == sorted(starts) and len(set(starts)) == len(starts), f"documents' first pages: {starts}"
    # Each chapter and reference page starts a new page, its heading first on it (within the top
    # margin and a little air); the introduction's heading is the book's title above the contents.
    tops = [top for (level, _, _), top in zip(printed.bookmarks, printed.tops) if level == 1]
    for (title, page), top in zip(top[1:], tops[1:]):
        assert top < TOP_OF_PAGE, f"{title!r} begins {top:.0f} pt below the top of page {page}, not at its top"
        assert _plain(title) in _plain(printed.pages[page - 1]), f"{title!r} is not printed on page {page}"
    sections = [(title, page) for level, title, page in printed.bookmarks if level == 2]
    assert len(sections) > 4 * len(read_book()), "too few section bookmarks"
    for title, page in sections:
        if _readable(title):
            assert _plain(title) in _plain(printed.pages[page - 1]), f"section {title!r} is not on page {page}"
    pages = [page for _, _, page in printed.bookmarks]
    assert pages == sorted(pages), "the bookmarks are not in the order of the pages"


@pytest.mark.slow
def test_the_contents_list_gives_the_page_where_each_chapter_and_section_starts(printed):
    first_page = min(page for _, _, page in printed.bookmarks)
    contents = _plain(" ".join(printed.pages[:first_page - 1]))
    assert " Contents " in contents[:300], "the book does not open with its contents list"
    checked = 0
    for _, title, page in printed.bookmarks:
        if not _readable(title):
            continue
        listed = re.search(rf"(?<![\w.]){re.escape(_plain(title))} (\d+)\b", contents)
        assert listed, f"the contents list has no entry {title!r} with a page number"
        assert int(listed.group(1)) == page, f"the contents list gives page {listed.group(1)} for {title!r}, on page {page}"
        checked += 1
    assert checked >= len(printed.bookmarks) - len(_titles_with_math())
    assert not re.search(r"\b000\b", contents), "a placeholder page number was printed"


@pytest.mark.slow
def test_the_pdf_is_tagged_for_screen_readers_and_declares_its_language(printed):
    config = yaml.safe_load((REPO / "book" / "_config.yml").read_text(encoding="utf-8"))
    language = config.get("sphinx", {}).get("config", {}).get("language") or "en"
    tree = printed.catalog.get("/StructTreeRoot")
    assert tree is not None and tree.get_object().get("/K"), "no structure tree (/StructTreeRoot): the PDF is untagged"
    assert printed.catalog["/MarkInfo"]["/Marked"] == True  # noqa: E712 (a pypdf BooleanObject)
    assert printed.catalog.get("/Lang") == language, f"/Lang is {printed.catalog.get('/Lang')!r}, not {language!r}"
    assert printed.catalog.get("/PageMode") == "/UseOutlines", "the PDF does not open with its bookmarks shown"


@pytest.mark.slow
def test_the_student_pdf_holds_no_solution_and_the_lecturers_does(lecturer_pdf, student_pdf, tmp_path):
    # print_book.py searched the student PDF itself (a leak fails it); searched again here from
    # the text already read, with the lecturer's copy as the control that the search can see.
    fragments = student_edition.book_fragments()
    for printed in (lecturer_pdf, student_pdf):
        (tmp_path / f"{printed.edition}.txt").write_text("\n".join(printed.pages), encoding="utf-8")
    assert find_leaks(fragments, tmp_path / "lecturer.txt"), "control: the search found no solution in the lecturer's PDF"
    assert find_leaks(fragments, tmp_path / "student.txt") == []
    solution_box = re.compile(r"Solution to Exercise \d+\.\d+")  # the title of every solution printed open
    assert solution_box.search(_plain(" ".join(lecturer_pdf.pages)))
    assert not solution_box.search(_plain(" ".join(student_pdf.pages)))
    # Every exercise is still there, only its solution is gone.
    exercises = sum(len(chapter.exercises) for chapter in read_book())
    assert len(re.findall(r"\bExercise \d+\.\d+\b", _plain(" ".join(student_pdf.pages)))) >= exercises


@pytest.mark.slow
def test_the_pdf_has_a_plausible_number_of_pages(lecturer_pdf):
    pages = len(lecturer_pdf.pages)
    chapters = len(read_book())
    low = PAGES_PER_CHAPTER[0] * chapters + FRONT_AND_BACK[0]
    high = PAGES_PER_CHAPTER[1] * chapters + FRONT_AND_BACK[1]
    assert low <= pages <= high, f"{pages} pages for {chapters} chapters: expected {low} to {high}"


@pytest.mark.slow
def test_the_pdf_holds_every_chapter_and_reference_page(lecturer_pdf):
    plain = _plain(" ".join(lecturer_pdf.pages))
    missing = [title for title in _document_titles()[1:] if _plain(title) not in plain]
    assert not missing, f"chapter or page titles missing from the PDF's text: {missing}"


@pytest.mark.slow
def test_the_pdf_shows_typeset_math_and_pictures_not_sources(lecturer_pdf):
    text = "\n".join(lecturer_pdf.pages)
    for raw in ("\\(", "\\[", "$$", "\\frac", "\\mid", "\\begin{"):
        assert raw not in text, f"math source {raw!r} printed: MathJax did not typeset before printing"
    # A widget printed as itself would show its Python repr instead of its picture.
    assert not re.search(r"\b(VBox|HBox|Stack|IntSlider|SelectionSlider)\(", text), "a widget printed as text"
    assert "∣" in text or "|" in text, "no typeset math found at all"


@pytest.mark.slow
def test_the_glossary_prints_the_chinese_terms(lecturer_pdf):
    if print_book.has_chinese_font() is not True:
        pytest.skip("No font for Chinese installed (Debian/Ubuntu: apt-get install fonts-wqy-microhei).")
    text = "\n".join(lecturer_pdf.pages)
    for chinese in ("先验", "似然", "后验", "变分推断", "证据下界"):
        assert chinese in text, f"{chinese} missing from the printed glossary"


# ----------------------------------------------------------------------------- the Chinese edition


@pytest.fixture(scope="module")
def chinese_pdf(built_book) -> PrintedBook:
    """The Chinese edition printed from the session's build (`make pdf LANG=zh_CN`)."""
    return _print(built_book, "lecturer", "zh_CN")


@pytest.fixture(scope="module")
def chinese_student_pdf(built_book) -> PrintedBook:
    """The Chinese student edition (`make pdf EDITION=student LANG=zh_CN`)."""
    return _print(built_book, "student", "zh_CN")


def _squeezed(text: str) -> str:
    """Chinese text compared without the spaces a PDF's text extraction puts between glyphs."""
    return "".join(unicodedata.normalize("NFKC", text).split())


def test_the_chinese_pdf_is_named_and_footed_in_chinese():
    assert print_book.pdf_name("lecturer", "zh_CN") == "vae-book-zh_CN.pdf"
    assert print_book.pdf_name("student", "zh_CN") == "vae-book-student-zh_CN.pdf"
    footer = print_book.FOOTERS["zh_CN"]
    assert "第 <span class=\"pageNumber\"></span> 页" in footer and "page" not in re.sub(r"<[^>]+>", "", footer)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["chinese_pdf", "chinese_student_pdf"])
def test_the_chinese_pdf_is_navigable_tagged_and_in_chinese(name, request):
    printed = request.getfixturevalue(name)
    if print_book.has_chinese_font() is not True:
        pytest.skip("No font for Chinese installed (Debian/Ubuntu: apt-get install fonts-wqy-microhei).")
    total = len(printed.pages)
    unnumbered = [number for number, text in enumerate(printed.pages, start=1)
                  if _squeezed(f"第{number}页，共{total}页") not in _squeezed(text)]
    assert not unnumbered, f"pages without '第 N 页，共 {total} 页' in their footer: {unnumbered[:10]}"
    # The same documents as the English edition, their titles in Chinese.
    top = [title for level, title, _ in printed.bookmarks if level == 1]
    assert len(top) == len(_document_titles(printed.edition))
    assert any("贝叶斯公式" in title for title in top) and "1. Bayes' rule and the coffee machine" not in top
    assert len([1 for level, _, _ in printed.bookmarks if level == 2]) > 4 * len(read_book())
    pages = [page for _, _, page in printed.bookmarks]
    assert pages == sorted(pages)
    # The contents list gives each chapter's page.
    first_page = min(pages)
    contents = _squeezed(" ".join(printed.pages[:first_page - 1]))
    for level, title, page in printed.bookmarks:
        if level == 1:
            assert f"{_squeezed(title)}{page}" in contents, f"the contents list gives no page {page} for {title!r}"
    assert printed.catalog.get("/Lang") == "zh-CN"
    tree = printed.catalog.get("/StructTreeRoot")
    assert tree is not None and tree.get_object().get("/K"), "the Chinese PDF is untagged"
    fonts = set()
    for page in _pdf_pages(printed.path)[:first_page + 20]:
        for font in (page.get("/Resources", {}).get("/Font", {}) or {}).values():
            font = font.get_object()
            descendants = font.get("/DescendantFonts") or [font]
            for descendant in descendants:
                descriptor = descendant.get_object().get("/FontDescriptor")
                if descriptor is not None and any(key in descriptor.get_object() for key in
                                                  ("/FontFile", "/FontFile2", "/FontFile3")):
                    fonts.add(str(font.get("/BaseFont")))
    assert any(re.search(r"(?i)wenquanyi|wqy|cjk|hei|song|ming|kai", name) for name in fonts), \
        f"no CJK font embedded among {sorted(fonts)}"
    text = _squeezed(" ".join(printed.pages))
    for chinese in ("先验", "似然", "后验", "变分推断", "证据下界"):
        assert chinese in text
    if printed.edition == "student":
        assert find_leaks(student_edition.book_fragments(), printed.path) == []


def _pdf_pages(path: Path):
    import pypdf

    return pypdf.PdfReader(path).pages
