"""The book's second-language editions: message catalogues and builds (`make translations`, `make book`).

    python book/translate.py update                 # after an English change: refresh every catalogue
    python book/translate.py stat                   # per page: translated, fuzzy, untranslated
    python book/translate.py build zh_CN            # the Chinese site, from the English build's results

**Catalogues.** ``update`` extracts every translatable message of the book (Sphinx's gettext
builder, chapters not executed) and merges it into ``book/locales/<lang>/LC_MESSAGES/<page>.po``
with ``sphinx-intl``: existing translations are kept, a changed English message keeps its old
translation marked *fuzzy* (to be checked), a new one is empty. It does the same for the
library's messages (``vae_lib/locales/<lang>/LC_MESSAGES/vae_lib.po``), extracted from the
literal strings passed to ``vae_lib.i18n.tr`` and ``N_``.

**Builds.** ``build`` builds an edition with ``book/_config.yml`` plus the few settings that
``book/_ext/editions.py`` overrides (language, catalogues, title), into
``PATH_OUTPUT/_build/<lang>/html``, then copies that site into the English one
(``PATH_OUTPUT/_build/html/<lang>``), where the language switch expects it. It never executes a
chapter: the outputs come from the English build's execution cache, and the build fails if a
chapter had to be executed (run the English build first).
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import io
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "book" / "_ext"))

from editions import EDITIONS, SOURCE_LANGUAGE, sphinx_overrides  # noqa: E402

LOCALES = REPO / "book" / "locales"
LIBRARY = REPO / "vae_lib"
#: The functions whose literal first argument is a library message.
MESSAGE_FUNCTIONS = {"tr", "N_"}
#: Catalogue lines are wrapped at this width (sphinx-intl and the library catalogue alike).
LINE_WIDTH = 100
#: Written as every catalogue's creation date, so that updating one changes it only where messages changed.
FIXED_DATE_EPOCH = 1767225600  # 2026-01-01
TRANSLATED_LANGUAGES = [language for language in EDITIONS if language != SOURCE_LANGUAGE]


# ----------------------------------------------------------------------------- Sphinx


class _Tee(io.TextIOBase):
    """Write to the terminal and keep a copy (to read the build log afterwards)."""

    def __init__(self, stream):
        self.stream, self.copy = stream, io.StringIO()

    def write(self, text: str) -> int:
        self.copy.write(text)
        return self.stream.write(text)

    def flush(self) -> None:
        self.stream.flush()


@contextlib.contextmanager
def _captured_output() -> Iterator[_Tee]:
    tee_out, tee_err = _Tee(sys.stdout), _Tee(sys.stderr)
    with contextlib.redirect_stdout(tee_out), contextlib.redirect_stderr(tee_err):
        yield tee_out
    tee_out.copy.write(tee_err.copy.getvalue())


def _sphinx(outdir: Path, doctrees: Path, builder: str, overrides: dict, *, strict: bool = False,
            force_all: bool = False, quiet: bool = False) -> tuple[int, str]:
    """Run one Sphinx build of the book as `jupyter-book build` does; return its status and log."""
    from jupyter_book.sphinx import build_sphinx

    confoverrides = {"external_toc_path": str(REPO / "book" / "_toc.yml"), "latex_individualpages": False,
                     **overrides}
    with _captured_output() as log:
        status = build_sphinx(REPO, outdir, noconfig=True, path_config=str(REPO / "book" / "_config.yml"),
                              confoverrides=confoverrides, builder=builder, doctreedir=doctrees,
                              warningiserror=strict, keep_going=strict, force_all=force_all, freshenv=force_all,
                              quiet=quiet)
    return status, log.copy.getvalue()


def extract_book_messages(folder: Path) -> Path:
    """Write the book's message templates (``.pot``, one per page) into ``folder``; return it.

    Chapters are not executed: code and outputs are not translated, so they are not needed.
    """
    folder = Path(folder)
    # A fixed creation date: catalogues change only when their messages do (no merge conflicts).
    os.environ["SOURCE_DATE_EPOCH"] = str(FIXED_DATE_EPOCH)
    status, log = _sphinx(folder / "gettext", folder / ".doctrees-gettext", "gettext",
                          {"nb_execution_mode": "off", "gettext_compact": False, "gettext_location": False,
                           "gettext_uuid": False, "project": "vae-book"}, force_all=True, quiet=True)
    if status:
        raise SystemExit(f"Extracting the book's messages failed (status {status}):\n{log[-3000:]}")
    return folder / "gettext"


# ----------------------------------------------------------------------------- the library


#: Book extensions that make reader-facing text with ``tr`` (the exercise index's tables): their
#: messages go into the library's catalogue too (located as ``book/_ext/...``).
BOOK_EXTENSIONS = REPO / "book" / "_ext"


def library_messages(package: Path = LIBRARY, extensions: Path | None = BOOK_EXTENSIONS) -> dict[str, list[str]]:
    """``{message: [file:line, ...]}`` of every literal passed to ``tr``/``N_`` in the library
    and in the book's extensions."""
    found: dict[str, list[str]] = {}
    paths = sorted(package.rglob("*.py")) + (sorted(extensions.glob("*.py")) if extensions else [])
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) in MESSAGE_FUNCTIONS and node.args:
                first = node.args[0]
                if isinstance(first, ast.Constant) and isinstance(first.value, str):
                    found.setdefault(first.value, []).append(f"{path.relative_to(package.parent)}:{node.lineno}")
    return found


def library_template(messages: dict[str, list[str]]):
    """The library's messages as a babel catalogue template."""
    from babel.messages.catalog import Catalog

    from datetime import datetime, timezone

    template = Catalog(project="vae_lib", fuzzy=False,
                       creation_date=datetime.fromtimestamp(FIXED_DATE_EPOCH, timezone.utc))
    for message, places in messages.items():
        template.add(message, locations=[(place.rsplit(":", 1)[0], int(place.rsplit(":", 1)[1])) for place in places],
                     flags=["python-brace-format"] if "{" in message else [])
    return template


def update_library_catalogue(language: str) -> Path:
    """Merge the library's current messages into its catalogue for ``language`` (kept, fuzzy, new)."""
    from babel.messages.catalog import Catalog
    from babel.messages.pofile import read_po, write_po

    import vae_lib
    from vae_lib.i18n import catalogue_path

    # This checkout's library, even when the vae_lib imported is another checkout's (a worktree
    # run with the main checkout's environment).
    path = LIBRARY / catalogue_path(language).relative_to(Path(vae_lib.__file__).resolve().parent)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.is_file():
        with path.open("rb") as file:
            catalogue = read_po(file, locale=language)
    else:
        catalogue = Catalog(locale=language, project="vae_lib", fuzzy=False)
    catalogue.update(library_template(library_messages()))
    with path.open("wb") as file:
        # Files without line numbers: an edit elsewhere in a module leaves the catalogue unchanged.
        write_po(file, catalogue, width=LINE_WIDTH, ignore_obsolete=True, include_lineno=False)
    return path


# ----------------------------------------------------------------------------- catalogues


def has_words(message: str) -> bool:
    """Whether a message has text to translate: not display math, nor only numbers and inline math.

    >>> has_words("0.3"), has_words("$x = 1$, $y$"), has_words("hypothesis $h$")
    (False, False, True)
    """
    if message.startswith("\n") and "\\" in message:
        return False  # a display-math block: the same in every language
    prose = re.sub(r"\$[^$]*\$|`[^`]*`", " ", message)
    return re.search(r"[^\W\d_]{2,}", prose) is not None


def tidy_page_catalogue(path: Path) -> int:
    """Give every message without words (math, numbers) itself as its translation, and drop the
    ``python-format`` flags babel guesses from prose ("90 % certainty" reads as ``% c``: msgfmt
    would then demand a ``% c`` in the Chinese); return how many messages changed."""
    from babel.messages.pofile import read_po, write_po

    with path.open("rb") as file:
        catalogue = read_po(file)
    changed = 0
    for message in catalogue:
        if not message.id:
            continue
        if "python-format" in message.flags:  # page prose is never %-formatted
            message.flags.discard("python-format")
            changed += 1
        if isinstance(message.id, str) and not has_words(message.id) and (
                message.string != message.id or message.fuzzy):
            message.string = message.id
            message.flags.discard("fuzzy")
            changed += 1
    if changed:
        with path.open("wb") as file:
            write_po(file, catalogue, width=LINE_WIDTH, ignore_obsolete=True, include_lineno=False)
    return changed


def update_catalogues(languages: list[str] = TRANSLATED_LANGUAGES) -> None:
    """After an English change: extract the messages and merge them into every catalogue."""
    pot = extract_book_messages(REPO / "book" / "_build")
    for language in languages:
        subprocess.run([str(Path(sys.executable).with_name("sphinx-intl")), "update", "--pot-dir", str(pot),
                        "--locale-dir", str(LOCALES), "--language", language, "--line-width", str(LINE_WIDTH),
                        "--no-obsolete", "--jobs", "1"], check=True)
        for path in page_catalogues(language).values():
            tidy_page_catalogue(path)
        print("Updated:", update_library_catalogue(language).relative_to(REPO))


def page_catalogues(language: str) -> dict[str, Path]:
    """``{page: catalogue}`` of a language, e.g. ``{"chapters/01_bayes": .../chapters/01_bayes.po}``."""
    folder = LOCALES / language / "LC_MESSAGES"
    return {path.relative_to(folder).with_suffix("").as_posix(): path for path in sorted(folder.rglob("*.po"))}


def catalogue_status(path: Path) -> dict[str, int]:
    """How many messages of a catalogue are translated, fuzzy and untranslated (obsolete ones aside)."""
    from babel.messages.pofile import read_po

    with Path(path).open("rb") as file:
        entries = [message for message in read_po(file) if message.id]
    fuzzy = sum(1 for message in entries if message.string and message.fuzzy)
    untranslated = sum(1 for message in entries if not message.string)
    return {"translated": len(entries) - fuzzy - untranslated, "fuzzy": fuzzy, "untranslated": untranslated}


def print_status(language: str) -> None:
    from vae_lib.i18n import catalogue_path

    rows = {**page_catalogues(language), "(vae_lib messages)": catalogue_path(language)}
    for page, path in rows.items():
        counts = catalogue_status(path)
        print(f"{page:32} {counts['translated']:4} translated {counts['fuzzy']:4} fuzzy "
              f"{counts['untranslated']:4} untranslated")


# ----------------------------------------------------------------------------- builds


def edition_folders(language: str, path_output: Path) -> dict[str, Path]:
    """Where an edition is built, where its site is copied, and the English execution cache it reads."""
    build = Path(path_output).resolve() / "_build"
    return {"outdir": build / language / "html", "doctrees": build / language / ".doctrees",
            "site": build / "html" / EDITIONS[language].folder, "cache": build / ".jupyter_cache"}


def chapters_executed(log: str) -> list[str]:
    """The notebooks a build log says were executed rather than taken from the cache."""
    executed = []
    for line in log.splitlines():
        found = re.search(r"(\S+\.(?:md|ipynb)): Executing notebook", line)
        if found:
            executed.append(found.group(1))
    return executed


def build_edition(language: str, path_output: Path, *, force_all: bool = False) -> int:
    """Build one translated edition strictly (warnings are errors); return the exit status."""
    if language not in TRANSLATED_LANGUAGES:
        raise SystemExit(f"No translated edition {language!r}: choose one of {', '.join(TRANSLATED_LANGUAGES)}.")
    folders = edition_folders(language, path_output)
    if not folders["cache"].is_dir():
        raise SystemExit(f"No execution cache in {folders['cache']}: build the English edition first (make book).")
    overrides = {**sphinx_overrides(language, REPO), "nb_execution_cache_path": str(folders["cache"])}
    status, log = _sphinx(folders["outdir"], folders["doctrees"], "html", overrides, strict=True,
                          force_all=force_all)
    executed = chapters_executed(log)
    if executed:
        print(f"The {language} build executed {', '.join(executed)}: it must reuse the English build's results. "
              "Build the English edition first (make book).", file=sys.stderr)
        status = status or 1
    if status:
        return status
    shutil.rmtree(folders["site"], ignore_errors=True)
    shutil.copytree(folders["outdir"], folders["site"])
    print(f"\nThe {language} edition: file://{folders['site'] / 'book' / 'intro.html'}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Translation catalogues and builds of the book's other editions.")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("update", help="extract the book's and the library's messages; update every catalogue")
    commands.add_parser("stat", help="per page: how many messages are translated, fuzzy, untranslated")
    extract = commands.add_parser("extract", help="only write the book's message templates (.pot) into a folder")
    extract.add_argument("folder", type=Path, help="where to write them (under FOLDER/gettext)")
    build = commands.add_parser("build", help="build a translated edition from the English build's results")
    build.add_argument("language", choices=TRANSLATED_LANGUAGES)
    build.add_argument("--path-output", type=Path, default=REPO / "book",
                       help="the folder holding _build (as jupyter-book's --path-output; default: book)")
    build.add_argument("--all", action="store_true", help="rebuild every page from scratch")
    args = parser.parse_args(argv)
    if args.command == "update":
        update_catalogues()
        return 0
    if args.command == "extract":
        print(extract_book_messages(args.folder))
        return 0
    if args.command == "stat":
        for language in TRANSLATED_LANGUAGES:
            print_status(language)
        return 0
    return build_edition(args.language, args.path_output, force_all=args.all)


if __name__ == "__main__":
    sys.exit(main())
