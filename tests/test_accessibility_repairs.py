"""book/_ext/accessibility.py: each repair of the built HTML does what it says, on the HTML the
theme, myst-nb and docutils write (copied from a built page), and leaves other HTML alone."""

from __future__ import annotations

import importlib.util
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("accessibility_ext", REPO / "book" / "_ext" / "accessibility.py")
extension = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(extension)

SEARCH = ('<button class="btn search-button-field search-button__button pst-js-only" title="Search" '
          'aria-label="Search" data-bs-placement="bottom" data-bs-toggle="tooltip">')
ICON_ONLY_SEARCH = ('<button class="btn btn-sm pst-navbar-icon search-button search-button__button pst-js-only" '
                    'title="Search" aria-label="Search" data-bs-placement="bottom" data-bs-toggle="tooltip">')
THEME_ICON = '<i class="theme-switch fa-solid fa-sun                fa-lg" data-mode="light" title="Light"></i>'
TOGGLE = ('<summary aria-label="Toggle hidden content">\n<p class="collapsed admonition-title">Show code cell '
          'source</p>')
BRAND = '<div class="sidebar-primary-item">\n\n  \n<a class="navbar-brand logo" href="../book/intro.html">'
CITATION = '<div role="list" class="citation-list">\n<div class="citation" id="id31" role="doc-biblioentry">'


def test_each_repair():
    assert extension.repair(SEARCH) == SEARCH.replace(' aria-label="Search"', "")
    assert extension.repair(ICON_ONLY_SEARCH) == ICON_ONLY_SEARCH, "an icon-only button keeps its name"
    assert extension.repair(THEME_ICON) == ('<i aria-hidden="true" class="theme-switch fa-solid fa-sun'
                                            '                fa-lg" data-mode="light"></i>')
    assert extension.repair(TOGGLE) == TOGGLE.replace(' aria-label="Toggle hidden content"', "")
    assert 'role="navigation" aria-label="Book"' in extension.repair(BRAND)
    assert extension.repair(CITATION) == CITATION.replace("doc-biblioentry", "listitem")


def test_repairs_are_idempotent_and_leave_other_html_alone():
    page = "\n".join([SEARCH, ICON_ONLY_SEARCH, THEME_ICON, TOGGLE, BRAND, CITATION])
    once = extension.repair(page)
    assert extension.repair(once) == once
    other = '<p>A <a class="reference internal" href="#x">link</a>.</p><summary>Solution</summary>'
    assert extension.repair(other) == other
