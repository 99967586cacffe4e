"""Pictures and exercises in the reader's language, checked without a book build (issue 20).

- Figures' alt text (``mystnb: image: alt:``) reaches the page catalogues even when a chapter is
  read without being executed (``book/_ext/accessibility.py``, :class:`FigureAltMessages`);
  tests/test_translations.py checks that the catalogues hold exactly those messages, and
  tests/test_accessibility.py that the built sites show them in each edition's language.
- Widget pictures' alt text, made by the library in English when the chapters execute, is
  rewritten through vae_lib's catalogue in a translated edition, escaped as it is in HTML
  (``editions.translate_html``).
- sphinx-exercise calls an exercise what the edition calls it (``editions._exercise_words``).
"""

from __future__ import annotations

import doctest
import gettext
import html
import re
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from docutils import nodes
from docutils.frontend import get_default_settings
from docutils.parsers.rst import Parser
from docutils.utils import new_document

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "book" / "_ext"))

import accessibility  # noqa: E402
import editions  # noqa: E402

from vae_lib.i18n import tr  # noqa: E402

_CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.mark.parametrize("module", [accessibility, editions], ids=lambda module: module.__name__)
def test_the_extensions_examples_hold(module):
    result = doctest.testmod(module)
    assert result.attempted and not result.failed


# ----------------------------------------------------------------------------- figures' alt text


def _page_with_cells(*cells: tuple[dict, bool]) -> nodes.document:
    """A page of code cells, each with its metadata and, if asked, an output image with its alt."""
    document = new_document("chapter.md", get_default_settings(Parser))
    for line, (metadata, with_image) in enumerate(cells, start=1):
        cell = nodes.container(nb_element="cell_code", cell_metadata=metadata)
        cell.source, cell.line = "chapter.md", 10 * line
        alt = accessibility.cell_alt_text(metadata)
        if with_image:
            cell += nodes.container("", nodes.image(uri="_images/x.png", alt=alt), classes=["cell_output"])
        document += cell
    return document


def _messages(document: nodes.document) -> list[tuple[str, str, int]]:
    from sphinx.util.nodes import extract_messages

    return [(message, node.source, node.line) for node, message in extract_messages(document)]


def test_an_unexecuted_figure_cell_gives_its_alt_text_to_the_catalogue():
    alt = "A bar chart of the prior and the posterior: belief moves toward a clog."
    document = _page_with_cells(({"mystnb": {"image": {"alt": alt}}}, False), ({"tags": ["hide-input"]}, False))
    accessibility.FigureAltMessages(document).apply()
    assert _messages(document) == [(alt, "chapter.md", 10)]
    holder = next(document.findall(nodes.comment))  # written by no builder
    assert holder.astext() == alt and "figure-alt-message" in holder["classes"]


def test_an_executed_figure_cell_is_left_to_sphinx():
    """Its output image carries the alt text, which Sphinx extracts and translates itself."""
    alt = "Three panels against the epoch: the ELBO, the reconstruction term and the KL term."
    document = _page_with_cells(({"mystnb": {"image": {"alt": alt}}}, True))
    accessibility.FigureAltMessages(document).apply()
    assert not list(document.findall(nodes.comment))
    assert [message for message, _, _ in _messages(document)] == [alt]


# ----------------------------------------------------------------------------- widget pictures


def test_a_widget_picture_s_escaped_alt_text_is_translated():
    message = "That is the full joint table, which ignores the graph's independences."
    chinese = tr(message, language="zh_CN")
    assert _CJK.search(chinese)
    picture = f'<div><img src="data:image/png;base64,AAAA" alt="{html.escape(message)}"></div>'
    assert "&#x27;" in picture  # as vae_lib.widgets.pictures writes it
    assert editions.translate_html(picture, "zh_CN") == picture.replace(html.escape(message), html.escape(chinese))
    assert editions.translate_html(picture, "en") == picture


def test_short_library_messages_are_translated_in_alt_text_only():
    """"Or:" is too short to look for in an output's text, but an alt text is the library's own."""
    alt = "Or: 0.50, 1.25."
    page = f'<p>Or: 0.50</p><svg role="img" aria-label="{alt}"><rect/></svg>'
    translated = editions.translate_html(page, "zh_CN")
    assert translated.startswith("<p>Or: 0.50</p>")
    assert f'aria-label="{tr("Or:", language="zh_CN")} 0.50, 1.25."' in translated


# ----------------------------------------------------------------------------- the exercise's name


def _config(language: str) -> SimpleNamespace:
    return SimpleNamespace(vae_edition=language)


def test_sphinx_exercise_says_what_the_edition_calls_an_exercise(monkeypatch):
    from sphinx import locale

    own = gettext.NullTranslations()
    monkeypatch.setitem(locale.translators, editions.EXERCISE_CATALOGUE, own)
    translate = locale.get_translation("exercise")
    editions._exercise_words(None, _config("zh_CN"))
    assert translate("Exercise") == editions.EDITIONS["zh_CN"].exercise == "习题"
    assert translate("Solution to") == "Solution to"  # the extension's own catalogue answers the rest
    editions._exercise_words(None, _config("en"))  # a later English build in the same process
    assert locale.translators[editions.EXERCISE_CATALOGUE] is own and translate("Exercise") == "Exercise"
    assert editions.sphinx_overrides("zh_CN", REPO)["numfig_format"] == {"exercise": "习题 %s"}
    assert "numfig_format" not in editions.sphinx_overrides("en", REPO)


def test_a_picture_s_settings_are_kept_whole(monkeypatch):
    """A precomputed widget's alt text is made of short messages around its sliders' settings
    ("Picture", ", at {settings}.", "Titles:"): each is translated, and a setting's decimal point
    does not end the placeholder."""
    words = {"Picture": "图", ", at {settings}.": "，设置为 {settings}。", "Titles:": "标题："}
    monkeypatch.setattr(editions, "catalogue", lambda language: words)
    monkeypatch.setattr(editions, "interface_messages", lambda language: frozenset())
    editions._short_patterns.cache_clear()
    try:
        alt = "Picture, at bend κ = 1, noise σₓ = 0.2. Titles: bend κ = 1."
        expected = "图，设置为 bend κ = 1, noise σₓ = 0.2。 标题： bend κ = 1."
        assert editions.translate_picture_text(alt, "zh_CN") == expected
        # Not inside a longer word.
        assert editions.translate_picture_text("Pictures, at 0.5.", "zh_CN") == "Pictures，设置为 0.5。"
    finally:
        editions._short_patterns.cache_clear()
