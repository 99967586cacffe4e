"""The editions are kept in step: every catalogue current with the English text, complete, and
consistent with the glossary's Chinese terms.

The book's catalogues are ``book/locales/<lang>/LC_MESSAGES/<page>.po`` (``make translations``
writes them; CONTRIBUTING.md, "Translating"). A change to the English prose makes the
up-to-date test fail until ``make translations`` is run, and then the completeness test fails
(the changed message is fuzzy or empty) until a translator has updated the Chinese.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "book"))

import translate  # noqa: E402  (book/translate.py)
from test_glossary import ENTRIES  # noqa: E402

LANGUAGES = translate.TRANSLATED_LANGUAGES


def _messages(path: Path):
    from babel.messages.pofile import read_po

    with path.open("rb") as file:
        return [message for message in read_po(file) if message.id]


def _missing(path: Path) -> dict[str, int]:
    counts = translate.catalogue_status(path)
    return {kind: counts[kind] for kind in ("untranslated", "fuzzy") if counts[kind]}


# ----------------------------------------------------------------------------- in step with the English


@pytest.mark.slow
def test_the_catalogues_hold_exactly_the_messages_of_the_english_text(tmp_path):
    """Extract the messages afresh (as `make translations` does, into a temporary folder) and
    compare them with every catalogue: a message added, changed or removed in English fails."""
    # In a process of its own, as `make translations` runs it: sphinx-external-toc scans every
    # object alive in the process (gc), and other tests keep deliberately hostile objects alive
    # (test_check_answers_fuzz.py's answer whose __class__ raises).
    result = subprocess.run([sys.executable, str(REPO / "book" / "translate.py"), "extract", str(tmp_path)],
                            cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    pot_folder = tmp_path / "gettext"
    templates = {path.relative_to(pot_folder).with_suffix("").as_posix(): path
                 for path in pot_folder.rglob("*.pot")}
    problems = []
    for language in LANGUAGES:
        catalogues = translate.page_catalogues(language)
        if set(templates) != set(catalogues):
            problems.append(f"{language}: pages without a catalogue {sorted(set(templates) - set(catalogues))}, "
                            f"catalogues without a page {sorted(set(catalogues) - set(templates))}")
        for page in sorted(set(templates) & set(catalogues)):
            english = {message.id for message in _messages(templates[page])}
            translated = {message.id for message in _messages(catalogues[page])}
            if english != translated:
                problems.append(f"{language}/{page}: {len(english - translated)} new or changed English "
                                f"messages, {len(translated - english)} no longer in the text")
    assert not problems, "Run `make translations` (then translate what it marks):\n" + "\n".join(problems)


def test_the_library_catalogue_holds_exactly_the_library_s_messages():
    from vae_lib.i18n import catalogue_path

    messages = set(translate.library_messages())
    for language in LANGUAGES:
        in_catalogue = {message.id for message in _messages(catalogue_path(language))}
        assert in_catalogue == messages, (
            f"vae_lib's {language} catalogue is out of date: run `make translations`. New: "
            f"{sorted(messages - in_catalogue)[:5]}; gone: {sorted(in_catalogue - messages)[:5]}")


# ----------------------------------------------------------------------------- complete


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_library_messages_are_all_translated(language):
    from vae_lib.i18n import catalogue_path

    assert not _missing(catalogue_path(language)), f"vae_lib's {language} catalogue: {_missing(catalogue_path(language))}"


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_message_of_every_page_is_translated(language):
    """Every page is translated: a change to the English (a message new or fuzzy after
    `make translations`) fails here until the Chinese is updated."""
    report = {page: _missing(path) for page, path in translate.page_catalogues(language).items()}
    report = {page: missing for page, missing in report.items() if missing}
    assert not report, f"{language}: messages still to translate, by page:\n" + "\n".join(
        f"  {page}: " + ", ".join(f"{count} {kind}" for kind, count in missing.items())
        for page, missing in report.items())


@pytest.mark.parametrize("language", LANGUAGES)
def test_no_page_message_is_taken_for_a_format_string(language):
    """Babel flags prose such as "90 % certainty" as ``python-format`` (``% c``); msgfmt would then
    demand the same directive in the Chinese. `make translations` drops those flags."""
    # The file's text, not babel's reading of it: babel adds the flag again to what it reads.
    flagged = [page for page, path in translate.page_catalogues(language).items()
               if re.search(r"^#,.*python-format", path.read_text(encoding="utf-8"), re.MULTILINE)]
    assert not flagged, "Run `make translations` (it drops the flags):\n" + "\n".join(flagged)


def test_tidying_drops_a_guessed_format_flag(tmp_path):
    page = tmp_path / "page.po"
    page.write_text('msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n\n'
                    '#, python-format\nmsgid "Sure with 90 % certainty."\nmsgstr "有 90 % 的把握。"\n', encoding="utf-8")
    assert translate.tidy_page_catalogue(page) == 1
    assert "python-format" not in page.read_text(encoding="utf-8")
    if shutil.which("msgfmt"):
        subprocess.run(["msgfmt", "--check-format", "-o", "/dev/null", str(page)], check=True)


def test_the_completeness_check_sees_untranslated_and_fuzzy_messages(tmp_path):
    """The checker itself, on a small catalogue with one message of each kind."""
    (tmp_path / "page.po").write_text(
        'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n\n'
        'msgid "Done"\nmsgstr "完成"\n\n#, fuzzy\nmsgid "Changed"\nmsgstr "旧的"\n\nmsgid "New"\nmsgstr ""\n',
        encoding="utf-8")
    assert translate.catalogue_status(tmp_path / "page.po") == {"translated": 1, "fuzzy": 1, "untranslated": 1}


# ----------------------------------------------------------------------------- terminology

#: English uses of a glossary word that are not the glossary's term: (term, phrase in the English).
#: Each with its reason; keep the list short.
TERM_EXCEPTIONS = {
    # "prior knowledge": knowing something beforehand, not a prior distribution.
    ("prior", "prior knowledge"),
}


def _glossary_terms() -> list[tuple[str, list[str]]]:
    """``[(English term, [Chinese forms]), ...]``: a definition's bold Chinese, split at " / "."""
    terms = []
    for english_terms, definition in ENTRIES:
        chinese = re.match(r"\*\*([^*]+)\*\*", definition).group(1)
        forms = [form.strip() for form in chinese.split("/")]
        for position, english in enumerate(english_terms):
            # "Evidence / Marginal likelihood" ↔ "证据 / 边缘似然": one Chinese form per English name.
            terms.append((english, [forms[position]] if len(forms) == len(english_terms) else forms))
    return terms


def _prose(msgid: str) -> str:
    """What a reader reads of a message: roles by their text, without math, code or link targets."""
    text = re.sub(r"\{[\w:-]+\}`([^`<]*?)\s*<[^>`]+>`", r"\1", msgid)
    text = re.sub(r"\{[\w:-]+\}`([^`]*)`", r"\1", text)
    text = re.sub(r"\$\$.*?\$\$|\$[^$]*\$|`[^`]*`", " ", text, flags=re.S)
    return re.sub(r"\]\([^)]*\)", "]", text)


def terminology_problems(messages, terms) -> list[str]:
    """Translated messages whose English uses a glossary term but whose Chinese lacks its form."""
    problems = []
    for message in messages:
        if not message.string or message.fuzzy or not translate.has_words(message.id):
            continue  # untranslated, or nothing to translate (math, numbers)
        prose = _prose(message.id)
        for english, forms in terms:
            if not re.search(rf"(?<![\w-]){re.escape(english)}(s|es)?(?![\w-])", prose, flags=re.I):
                continue
            if any(phrase.lower() in prose.lower() for term, phrase in TERM_EXCEPTIONS if term == english.lower()):
                continue
            # An acronym (MCMC, ELBO) may stay as it is, as Chinese texts write it.
            accepted = [*forms, english] if english.isupper() else forms
            if not any(form in message.string for form in accepted):
                problems.append(f"{english!r} → {' / '.join(forms)} missing in: {message.string[:80]}…")
    return problems


@pytest.mark.parametrize("language", LANGUAGES)
def test_translations_use_the_glossary_s_chinese_terms(language):
    terms = _glossary_terms()
    problems = [f"{page}: {problem}" for page, path in translate.page_catalogues(language).items()
                for problem in terminology_problems(_messages(path), terms)]
    assert not problems, "Use the glossary's term (book/glossary.md) or add a documented exception:\n" + "\n".join(
        problems[:40])


def test_the_terminology_check_catches_a_wrong_term():
    from babel.messages.catalog import Message

    terms = [("posterior", ["后验"]), ("prior", ["先验"])]
    good = Message("The {term}`posterior` after the noise.", "听到噪声后的后验。")
    wrong = Message("The posterior after the noise.", "听到噪声后的事后概率。")
    excepted = Message("No prior knowledge is assumed.", "不需要事先了解。")
    math_only = Message("Here $p(prior)$ is code.", "这里是代码。")
    problems = terminology_problems([good, wrong, excepted, math_only], terms)
    assert len(problems) == 1 and "事后概率" in problems[0]


# ----------------------------------------------------------------------------- one configuration


def test_the_editions_share_one_configuration():
    """No hand-kept copy of _config.yml: an edition is the English configuration plus the overrides
    of book/_ext/editions.py, which change nothing but language settings and the title."""
    from editions import sphinx_overrides

    assert sorted(path.name for path in (REPO / "book").glob("_config*.yml")) == ["_config.yml"]
    for language in LANGUAGES:
        assert set(sphinx_overrides(language, REPO)) <= {
            "language", "vae_edition", "locale_dirs", "gettext_compact", "html_title", "project", "numfig_format",
            "togglebutton_hint", "togglebutton_hint_hide"}
        assert (REPO / "book" / "locales" / language / "LC_MESSAGES").is_dir()
