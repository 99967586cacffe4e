"""Sphinx extension: the book's editions (English and Chinese) from one source.

The one place that says what differs between editions is :data:`EDITIONS` with
:func:`sphinx_overrides`; ``book/translate.py`` builds an edition with the English
``book/_config.yml`` plus these overrides (never a hand-kept copy of the configuration).

Each edition's site sits inside the English one: ``html/`` holds the English pages and
``html/zh_CN/`` the Chinese ones, page for page. On every page this extension adds

- a **language switch** in the article header: a relative link to the same page in the other
  edition (relative, so it works from ``file://`` and on any host), and ``<link rel="alternate"
  hreflang>`` tags;
- in a translated edition, the chapters' **outputs in the reader's language**: the chapters are
  executed once, in English, and the library messages in their outputs (self-check verdicts,
  widget labels, widget pictures' alt text) are rewritten through vae_lib's catalogue
  (:func:`vae_lib.i18n.translate_output`, :func:`translate_html`). Code, printed numbers and
  figure labels stay as executed;
- in a translated edition, sphinx-exercise's **word for an exercise** as :data:`EDITIONS` gives it.
"""

from __future__ import annotations

import functools
import gettext
import html
import json
import posixpath
import re
from dataclasses import dataclass
from pathlib import Path

from docutils import nodes
from myst_nb.core.render import sanitize_script_content
from sphinx.application import Sphinx
from sphinx.config import Config

from vae_lib.i18n import _compile, _literal_text, catalogue, interface_messages, translate_output

TEMPLATES = Path(__file__).resolve().parent / "templates"


@dataclass(frozen=True)
class Edition:
    """One language edition of the book.

    Attributes:
        language: the Sphinx language code (``"en"``, ``"zh_CN"``).
        label: the switch's text, written in the edition's own language.
        folder: where the edition's site sits inside the English site (``""`` for English).
        title: the book's title in that language (``None``: the one in ``book/_config.yml``).
        interface: the extensions' own words on the page, e.g. the hint on folded solutions.
        exercise: what the edition calls an exercise (``None``: as sphinx-exercise translates
            "Exercise"). The exercises' labels ("习题 2.1"), the solutions' titles and the
            cross-references use it, so that they say what the glossary, the chapters' headings
            and the exercise index say.
    """

    language: str
    label: str
    folder: str
    title: str | None = None
    interface: tuple[tuple[str, str], ...] = ()
    exercise: str | None = None

    @property
    def hreflang(self) -> str:
        """The edition's language as an HTML ``lang`` value (``zh-CN``)."""
        return self.language.replace("_", "-")


SOURCE_LANGUAGE = "en"
EDITIONS: dict[str, Edition] = {
    "en": Edition("en", "English", ""),
    "zh_CN": Edition("zh_CN", "中文", "zh_CN", "变分自编码器：从贝叶斯公式到 MNIST",
                     interface=(("togglebutton_hint", "点击展开"), ("togglebutton_hint_hide", "点击收起")),
                     # sphinx-exercise's own Chinese says 练习; the book (headings, exercise index) 习题.
                     exercise="习题"),
}


def sphinx_overrides(language: str, repo: Path) -> dict:
    """The Sphinx settings an edition changes in ``book/_config.yml``: all of them, in one place.

    >>> sorted(sphinx_overrides("zh_CN", Path("/repo")))[:6]
    ['gettext_compact', 'html_title', 'language', 'locale_dirs', 'numfig_format', 'project']
    >>> sphinx_overrides("zh_CN", Path("/repo"))["numfig_format"]
    {'exercise': '习题 %s'}
    """
    edition = EDITIONS[language]
    overrides = {
        "language": language,
        "vae_edition": language,
        # One catalogue per page (book/locales/zh_CN/LC_MESSAGES/chapters/01_bayes.po).
        "locale_dirs": [str(repo / "book" / "locales")],
        "gettext_compact": False,
    }
    if edition.title:
        overrides |= {"html_title": edition.title, "project": edition.title}
    if edition.exercise:
        # The numbered exercises' labels and references (sphinx-exercise reads numfig_format).
        overrides["numfig_format"] = {"exercise": f"{edition.exercise} %s"}
    return overrides | dict(edition.interface)


def edition_link(pagename: str, source: str, target: str) -> str:
    """The relative URL of page ``pagename`` of edition ``target``, seen from the same page of ``source``.

    >>> edition_link("chapters/01_bayes", "en", "zh_CN")
    '../zh_CN/chapters/01_bayes.html'
    >>> edition_link("chapters/01_bayes", "zh_CN", "en")
    '../../chapters/01_bayes.html'
    >>> edition_link("index", "en", "zh_CN")
    'zh_CN/index.html'
    """
    up = "../" * pagename.count("/")
    between = posixpath.relpath(EDITIONS[target].folder or ".", EDITIONS[source].folder or ".")
    return posixpath.normpath(f"{up}{between}/{pagename}.html")


# ----------------------------------------------------------------------------- the switch


def _prepare(app: Sphinx, config: Config) -> None:
    """Put the switch at the end of the article header, beside the theme's buttons."""
    config.templates_path = [*config.templates_path, str(TEMPLATES)]
    options = dict(config.html_theme_options)
    end = options.get("article_header_end") or ["article-header-buttons.html"]
    end = [end] if isinstance(end, str) else list(end)
    if "language-switch.html" not in end:
        options["article_header_end"] = [*end, "language-switch.html"]
    config.html_theme_options = options


def _add_switch(app: Sphinx, pagename: str, templatename: str, context: dict, doctree) -> None:
    if not app.config.vae_language_switch:
        return  # a build with no other edition beside it (e.g. a student edition in one language)
    this = app.config.vae_edition
    links = [{"url": edition_link(pagename, this, other.language), "label": other.label,
              "hreflang": other.hreflang}
             for other in EDITIONS.values() if other.language != this]
    context["vae_language_links"] = links
    tags = "".join(f'<link rel="alternate" hreflang="{link["hreflang"]}" href="{link["url"]}">\n' for link in links)
    context["metatags"] = context.get("metatags", "") + tags


# ----------------------------------------------------------------------------- exercises


#: sphinx-exercise's message catalogue (``sphinx.locale`` keeps one translator per catalogue).
EXERCISE_CATALOGUE = ("general", "exercise")


class _EditionWords(gettext.NullTranslations):
    """An edition's words for an extension's messages, in front of the extension's own catalogue."""

    def __init__(self, words: dict[str, str], base: gettext.NullTranslations | None) -> None:
        super().__init__()
        self.words, self.base = words, base
        if base is not None:
            self.add_fallback(base)

    def gettext(self, message: str) -> str:
        return self.words[message] if message in self.words else super().gettext(message)


def _exercise_words(app: Sphinx, config: Config) -> None:
    """Give sphinx-exercise the edition's word for an exercise: its solutions' titles ("解答
    习题 2.1") are made from its translation of "Exercise", not from ``numfig_format``.

    The translators are shared by every Sphinx application in a process: an English build after a
    Chinese one gets sphinx-exercise's own catalogue back."""
    from sphinx import locale

    current = locale.translators.get(EXERCISE_CATALOGUE)
    base = current.base if isinstance(current, _EditionWords) else current
    word = EDITIONS[config.vae_edition].exercise if config.vae_edition in EDITIONS else None
    if word:
        locale.translators[EXERCISE_CATALOGUE] = _EditionWords({"Exercise": word}, base)
    elif base is not None:
        locale.translators[EXERCISE_CATALOGUE] = base


# ----------------------------------------------------------------------------- outputs


def _translate_outputs(app: Sphinx, doctree: nodes.document) -> None:
    """In a translated edition, write the library's messages in executed outputs in its language."""
    language = app.config.vae_edition
    if language == SOURCE_LANGUAGE:
        return
    for container in doctree.findall(lambda node: isinstance(node, nodes.container)
                                     and "cell_output" in node.get("classes", [])):
        for node in list(container.findall(lambda n: isinstance(n, (nodes.literal_block, nodes.raw)))):
            text = node.astext()
            translate = translate_html if isinstance(node, nodes.raw) else translate_output
            translated = translate(text, language)
            if translated != text:
                node.children = [nodes.Text(translated)]
                if isinstance(node, nodes.literal_block):
                    node.rawsource = translated
    _translate_widget_state(app, language)


#: A picture's text alternative in HTML: ``alt`` of an ``<img>``, ``aria-label`` of an ``<svg>`` or
#: a ``<canvas>`` (vae_lib.widgets.pictures.with_alt), written double-quoted and HTML-escaped.
_PICTURE_TEXT = re.compile(r'(\b(?:alt|aria-label)=")([^"]*)(")')


@functools.lru_cache(maxsize=None)
def _short_patterns(language: str) -> tuple:
    """Every library message, the short ones included, as patterns that match whole words."""
    found, interface = [], interface_messages(language)  # the extensions' own words are never in outputs
    for message, translation in sorted(catalogue(language).items(), key=lambda item: -len(item[0])):
        if message in interface or not re.search(r"[^\W\d_]{2,}", _literal_text(message)):
            continue
        pattern = _compile(message, translation)
        # A placeholder ends at a full stop, not at a decimal point ("at σ = 0.2." is one setting).
        regex = re.sub(r"(\(\?P<\w+>[^()]*\))\\\.", r"\1\\.(?!\\d)", pattern.regex.pattern)
        before = r"(?<!\w)" if re.match(r"\w", message) else ""  # whole words only
        after = r"(?!\w)" if re.search(r"\w$", message) else ""
        found.append((re.compile(before + regex + after), pattern))
    return tuple(found)


def translate_picture_text(text: str, language: str) -> str:
    """A picture's alt text in ``language``. Widgets make it from the library's messages, short
    ones among them ("Picture", "Titles:"), which :func:`vae_lib.i18n.translate_output` leaves
    alone in outputs (too likely to match elsewhere); in an alt text they are the library's own.

    >>> translate_picture_text("Or: 0.5.", "zh_CN")
    '或者： 0.5.'
    >>> translate_picture_text("Order: 0.5. Time: 2 s", "zh_CN")   # no part of a word, no interface text
    'Order: 0.5. Time: 2 s'
    """
    text = translate_output(text, language)
    for regex, pattern in _short_patterns(language):
        if pattern.anchor in text:
            text = regex.sub(lambda match: pattern.translation.format(**match.groupdict()), text)
    return text


def translate_html(text: str, language: str) -> str:
    """An output's HTML with the library's messages in ``language``: its text as
    :func:`vae_lib.i18n.translate_output` translates it, and its pictures' alt text (escaped in
    the HTML: "image&#x27;s" would not match "image's") as :func:`translate_picture_text` does.

    >>> translate_html('<img alt="Not answered yet: replace None with your computation and run the cell.">',
    ...                "zh_CN").startswith('<img alt="尚未作答')
    True
    """
    text = translate_output(text, language)

    def picture(match: re.Match) -> str:
        alt = html.unescape(match[2])
        translated = translate_picture_text(alt, language)
        return match[0] if translated == alt else match[1] + html.escape(translated) + match[3]

    return _PICTURE_TEXT.sub(picture, text)


def _translate_widget_state(app: Sphinx, language: str) -> None:
    """Widget labels live in the page's widget state (stored by myst-nb per page): translate them there."""
    metadata = getattr(app.env, "nb_metadata", {}).get(app.env.docname, {})
    entry = metadata.get("js_files", {}).get("ipywidgets_state")
    if not entry:
        return
    uri, attributes = entry
    state = json.loads(attributes["body"])
    for model in state.get("state", {}).values():
        fields = model.get("state", {})
        for key in ("description", "value", "tooltip", "placeholder"):
            if isinstance(fields.get(key), str):
                fields[key] = translate_html(fields[key], language)
        if isinstance(fields.get("_options_labels"), list):  # what a selection slider's read-out shows
            fields["_options_labels"] = [translate_output(label, language) if isinstance(label, str) else label
                                         for label in fields["_options_labels"]]
    body = sanitize_script_content(json.dumps(state))  # as myst-nb wrote it
    metadata["js_files"]["ipywidgets_state"] = (uri, {**attributes, "body": body})


@functools.lru_cache(maxsize=None)
def page_messages(repo: Path, language: str, docname: str) -> dict[str, str]:
    """``{English message: translation}`` of one page's catalogue (``book/locales/<language>/
    LC_MESSAGES/<docname>.po``): translated, non-fuzzy entries only; ``{}`` when it has none.

    For text made after Sphinx has translated the pages (the exercise index shows the chapters'
    and exercises' titles as the chapters' own catalogues translate them)."""
    path = Path(repo) / "book" / "locales" / language / "LC_MESSAGES" / f"{docname}.po"
    if language == SOURCE_LANGUAGE or not path.is_file():
        return {}
    from babel.messages.pofile import read_po

    with path.open("rb") as file:
        entries = read_po(file)
    return {message.id: message.string for message in entries
            if message.id and isinstance(message.id, str) and message.string and not message.fuzzy}


def _page_catalogue(app: Sphinx):
    """The gettext catalogue of the page being read (``None`` when it has none)."""
    from sphinx.locale import init as init_locale
    from sphinx.util.i18n import docname_to_domain

    folders = [str(Path(app.srcdir) / folder) for folder in app.config.locale_dirs]
    catalogue, found = init_locale(folders, app.config.language,
                                   docname_to_domain(app.env.docname, app.config.gettext_compact))
    return catalogue if found else None


def _late_messages(app: Sphinx, doctree: nodes.document) -> None:
    """Text that extensions add after Sphinx has translated a page: give it to the catalogues
    (a source line, so that the gettext builder extracts it) and, in a translated edition,
    translate it from the page's catalogue. The parts' captions ("Foundations", inserted by
    sphinx-external-toc) and the exercises' titles ("A silent failure (★, 10 min)",
    sphinx-exercise) are such text."""
    from sphinx import addnodes
    from sphinx_exercise.nodes import exercise_subtitle

    catalogue = _page_catalogue(app) if app.config.vae_edition != SOURCE_LANGUAGE else None
    translate = catalogue.gettext if catalogue is not None else (lambda text: text)
    for toctree in doctree.findall(addnodes.toctree):
        if toctree.get("caption"):
            toctree["caption"] = translate(toctree["caption"])
    # sphinx-exercise keeps a copy of each exercise (its solutions' titles are made from it).
    copies = [entry["node"] for entry in getattr(app.env, "sphinx_exercise_registry", {}).values()
              if entry.get("docname") == app.env.docname and entry.get("node") is not None]
    for subtitle in [found for root in (doctree, *copies) for found in root.findall(exercise_subtitle)]:
        # One translatable inline with a source line: the gettext builder extracts it even after
        # sphinx-exercise has moved it into the exercise's title.
        text = subtitle.astext()
        message = nodes.inline(text, translate(text), translatable=True)
        message.source, message.line = app.env.doc2path(app.env.docname), subtitle.line or 1
        subtitle.clear()
        subtitle += message


def setup(app: Sphinx) -> dict:
    app.add_config_value("vae_edition", SOURCE_LANGUAGE, "env")
    app.add_config_value("vae_language_switch", True, "html")
    app.connect("config-inited", _prepare, priority=950)
    app.connect("config-inited", _exercise_words, priority=400)  # before sphinx-exercise numbers exercises
    app.connect("html-page-context", _add_switch)
    app.connect("doctree-read", _translate_outputs)
    app.connect("doctree-read", _late_messages)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
