"""One citation style (CONTRIBUTING.md, "Citations"): sphinxcontrib-bibtex roles, used one way.

``{cite:t}`` where the authors are part of the sentence ("Burda et al. (2015)"), ``{cite:p}`` at
the end of a clause ("(Burda et al., 2015)"), nothing typed by hand: no author-year in the text,
no plain ``{cite}``, no ``{cite:t}`` inside parentheses, no authors' names before a ``{cite:p}``.
Every chapter follows it (issue 16); ``PENDING`` in tests/test_notation.py would stage an exception.
"""

from __future__ import annotations

import re

import pytest
from notation_math import CHAPTERS, REPO
from test_notation import assert_follows_notation

BOOK_PAGES = sorted((REPO / "book").glob("*.md"))
PAGES = [(number, page) for number, page in enumerate(CHAPTERS, 1)] + [(0, page) for page in BOOK_PAGES]

#: A year typed by hand after authors' names: "et al. (2016)", "(Tipping and Bishop, 1999", "Ghosh et al. (2020,".
HAND_WRITTEN = re.compile(r"et al\.,? \(?(19|20)\d\d|\([^()$`<>]*?[A-Z][a-z]+[^()$`<>]*?\b(19|20)\d\d\b"
                          r"|[A-Z][a-z]+ \((19|20)\d\d[,)]")


def _surnames() -> dict[str, set[str]]:
    """The authors' surnames of every entry of book/references.bib, by key."""
    text = (REPO / "book" / "references.bib").read_text(encoding="utf-8")
    names = {}
    for key, body in re.findall(r"@\w+\{([\w-]+),(.*?)\n\}", text, flags=re.S):
        authors = re.search(r"author\s*=\s*\{(.*?)\},?\n", body, flags=re.S)
        people = authors.group(1).split(" and ") if authors else []
        names[key] = {person.split(",")[0].split()[-1].strip("{}") if "," in person
                      else person.split()[-1].strip("{}") for person in people if person.strip()}
    return names


SURNAMES = _surnames()


def _prose(text: str) -> str:
    """A page's text without code, inline code other than a role's key, and math."""
    out, fence = [], None
    for line in text.split("\n"):
        stripped = line.strip()
        if fence:
            fence = None if stripped == fence else fence
            out.append("")
            continue
        opening = re.match(r"^(`{3,})(\{code-cell\}|python|text|bash|\s*$)", stripped)
        if opening and opening.group(2) is not None and not re.match(r"^`{3,}\s*$", stripped):
            fence = opening.group(1)
            out.append("")
            continue
        out.append(line)
    text = "\n".join(out)
    text = re.sub(r"\$\$.*?\$\$", " ", text, flags=re.S)
    text = re.sub(r"(?<!\\)\$[^$\n]+\$", " ", text)
    text = re.sub(r"(\{[\w:-]+\})`([^`\n]*)`", r"\1<\2>", text)     # a role keeps its target, as <...>
    return re.sub(r"`[^`\n]*`", " ", text)


def _problems(text: str) -> list[str]:
    text, found = _prose(text), []
    for match in HAND_WRITTEN.finditer(text):
        found.append(f"typed by hand: {match.group(0)!r}")
    for match in re.finditer(r"\{cite\}<", text):
        found.append("a plain {cite} role: say {cite:t} or {cite:p}")
    for paragraph in re.split(r"\n\s*\n", text):
        for match in re.finditer(r"\{cite:t\}<", paragraph):
            before = paragraph[:match.start()]
            if before.count("(") > before.count(")"):
                context = paragraph[max(0, match.start() - 60):match.end() + 30]
                found.append(f"{{cite:t}} inside parentheses: {context!r}")
        for match in re.finditer(r"\{cite:p\}<([\w, -]+)>", paragraph):
            sentence = re.split(r"[.!?:;]\s", paragraph[:match.start()])[-1]
            named = {name for key in match.group(1).split(",") for name in SURNAMES.get(key.strip(), ())
                     if re.search(rf"\b{re.escape(name)}\b", sentence)}
            if named:
                found.append(f"authors named before {{cite:p}} (use {{cite:t}}): {sentence[-60:]!r}")
    return found


def test_every_cited_key_is_in_the_bibliography():
    for _, page in PAGES:
        for keys in re.findall(r"\{cite(?::[tp])?\}`([^`]+)`", page.read_text(encoding="utf-8")):
            for key in keys.split(","):
                assert key.strip() in SURNAMES, f"{page.name}: {key} is not in book/references.bib"


@pytest.mark.parametrize("number, page", PAGES, ids=lambda value: getattr(value, "name", str(value)))
def test_citations_use_one_style(number, page):
    found = _problems(page.read_text(encoding="utf-8"))
    assert_follows_notation(found, number, page.name)


def test_the_check_sees_each_mistake():
    assert HAND_WRITTEN.search("Burda et al. (2016) report") and HAND_WRITTEN.search("(Cremer, Li and Duvenaud, 2018,")
    assert not HAND_WRITTEN.search("trained for 75 epochs (1998 steps)")
    assert SURNAMES["kingma2013autoencoding"] >= {"Kingma", "Welling"}
    assert _problems("the VAE paper of Kingma and Welling {cite:p}`kingma2013autoencoding`, inference")
    assert _problems("a graph draws it\n(see {cite:t}`murphy2022probabilistic` for more):")
    assert _problems("as {cite}`burda2015importance` shows")
    assert not _problems("the bound of {cite:t}`burda2015importance` (the importance-weighted one)")
    assert not _problems("samples are blurred {cite:p}`larsen2016autoencoding`. Kingma and Welling call it AEVB.")
