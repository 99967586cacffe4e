"""Print the whole book as one PDF, offline: what `make pdf` runs.

    python book/print_book.py                       # book/_build/pdf/vae-book.pdf
    python book/print_book.py --path-output DIR     # build into DIR/_build (reusing its execution cache)

The route (the others need a network download or TeX): build the book as a single HTML page
(``--builder singlehtml``; executed chapters come from the same execution cache as
``make book``, so chapters are not run again when the site is built), then print that page
with headless Chromium. Chromium runs MathJax before printing, so math prints typeset. A
single page cannot show ipywidgets, so each widget prints as the picture of its starting
position that it carries (``image/png``, preferred for this builder in ``book/_config.yml``);
``book/_ext/print_layout.py`` opens solutions and folded code for print.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from vae_lib import _printing

REPO = Path(__file__).resolve().parents[1]


def build_single_page(path_output: Path) -> Path:
    """Build the book as one HTML page under ``path_output/_build/singlehtml``; return the page."""
    command = [str(Path(sys.executable).with_name("jupyter-book")), "build", str(REPO),
               "--config", str(REPO / "book" / "_config.yml"), "--toc", str(REPO / "book" / "_toc.yml"),
               "--path-output", str(path_output), "--builder", "singlehtml", "-W", "--keep-going"]
    print("+", " ".join(command), flush=True)
    subprocess.run(command, cwd=REPO, check=True)
    folder = Path(path_output) / "_build" / "singlehtml"
    root = yaml.safe_load((REPO / "book" / "_toc.yml").read_text(encoding="utf-8"))["root"]
    written = folder / f"{root}.html"
    if not written.is_file():
        raise SystemExit(f"The single-page build wrote no {written}.")
    # The builder writes the page where the root document lives (book/intro.html) but links its
    # styles, scripts and images as if it sat in the build folder itself: put it there.
    page = folder / "vae-book.html"
    page.write_text(written.read_text(encoding="utf-8"), encoding="utf-8")
    return page


def has_chinese_font() -> bool | None:
    """Whether the system has a font for Chinese (the glossary's terms); ``None`` when it cannot tell."""
    if shutil.which("fc-list") is None:
        return None
    listed = subprocess.run(["fc-list", ":lang=zh", "family"], capture_output=True, text=True, check=False)
    return bool(listed.stdout.strip())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Print the whole book as one PDF (offline).")
    parser.add_argument("--path-output", type=Path, default=REPO / "book",
                        help="where the build goes (its _build folder; default: book, as `make book`)")
    parser.add_argument("--pdf", type=Path, default=None,
                        help="the PDF to write (default: PATH_OUTPUT/_build/pdf/vae-book.pdf)")
    args = parser.parse_args(argv)
    if _printing.find_chromium() is None:
        print("make pdf needs Chromium to print the book: install it (Debian/Ubuntu: apt-get install chromium)\n"
              "or set VAE_BOOK_CHROMIUM=/path/to/chrome.", file=sys.stderr)
        return 1
    if has_chinese_font() is False:
        print("note: no font for Chinese is installed, so the glossary's Chinese terms will print as boxes.\n"
              "      Install one (Debian/Ubuntu: apt-get install fonts-wqy-microhei) and run make pdf again.")
    page = build_single_page(args.path_output)
    pdf = args.pdf or args.path_output / "_build" / "pdf" / "vae-book.pdf"
    pdf.parent.mkdir(parents=True, exist_ok=True)
    _printing.print_to_pdf(page, pdf)
    print(f"\nThe book as a PDF: {pdf}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
