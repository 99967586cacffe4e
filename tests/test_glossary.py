"""The book-wide pages: the glossary (with the notes' Chinese terms) and the BibTeX references."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pybtex.database import parse_file

REPO = Path(__file__).resolve().parents[1]
GLOSSARY = REPO / "book" / "glossary.md"
BIB = REPO / "book" / "references.bib"
#: Pages that use terms and citations: the chapters and the book's own pages.
SOURCES = sorted((REPO / "chapters").glob("*.md")) + sorted((REPO / "book").glob("*.md"))

#: Terms the source notes name, with their Chinese (the issue's list): every one must be there.
REQUIRED_TERMS = {
    "prior": "先验", "likelihood": "似然", "evidence": "证据", "marginal likelihood": "边缘似然",
    "posterior": "后验", "inference": "推断", "latent variable": "隐变量", "variational inference": "变分推断",
    "elbo": "证据下界", "reparameterization trick": "重参数化", "amortized inference": "摊销推断",
    "kl divergence": "KL 散度",
}
#: Terms whose Chinese the notes get wrong or loose (issue 16): the bold term a Chinese textbook uses.
TEXTBOOK_TERMS = {
    "intractable": "难解", "responsibility": "响应度", "importance weight": "重要性权重",
    "reparameterization trick": "重参数化技巧", "bernoulli likelihood": "伯努利似然",
    "mixture of gaussians": "高斯混合模型",
}
REQUIRED_REFERENCES = ["kingma2013autoencoding", "rezende2014stochastic", "burda2015importance",
                       "kingma2019introduction", "blei2017variational", "lecun2010mnist"]
_CJK = re.compile(r"[\u3400-\u9fff]")


def glossary_entries(text: str) -> list[tuple[list[str], str]]:
    """``[(terms, definition), ...]`` of the one ``{glossary}`` block in ``text``."""
    blocks = re.findall(r"^```\{glossary\}\n(.*?)^```$", text, flags=re.M | re.S)
    assert len(blocks) == 1, "the glossary page must hold exactly one {glossary} block"
    entries: list[tuple[list[str], str]] = []
    for chunk in re.split(r"\n\s*\n", blocks[0]):
        lines = [line for line in chunk.splitlines() if line.strip() and not line.startswith(":")]
        if not lines:
            continue
        terms = [line.strip() for line in lines if not line.startswith(" ")]
        definition = " ".join(line.strip() for line in lines if line.startswith(" "))
        assert terms and definition, f"a glossary entry needs a term line and an indented definition: {chunk!r}"
        entries.append((terms, definition))
    return entries


ENTRIES = glossary_entries(GLOSSARY.read_text(encoding="utf-8"))
TERMS = {term.lower(): definition for terms, definition in ENTRIES for term in terms}


def _roles(name: str, pages=SOURCES) -> list[tuple[Path, str]]:
    """(page, target) of every ``{name}`...``` role in the pages (``text <target>`` gives target)."""
    found = []
    for page in pages:
        for content in re.findall(rf"\{{{name}(?::\w+)?\}}`([^`]+)`", page.read_text(encoding="utf-8")):
            explicit = re.match(r".*<([^<>]+)>\s*$", content, flags=re.S)
            found.append((page, (explicit.group(1) if explicit else content).strip()))
    return found


@pytest.mark.parametrize("terms, definition", ENTRIES, ids=[terms[0] for terms, _ in ENTRIES])
def test_every_entry_gives_the_notes_chinese_term_first(terms, definition):
    match = re.match(r"\*\*([^*]+)\*\*", definition)
    assert match and _CJK.search(match.group(1)), (
        f"{terms[0]}: start the definition with the Chinese term in bold, e.g. '**先验** · meaning'")


@pytest.mark.parametrize("term, chinese", sorted(REQUIRED_TERMS.items()))
def test_the_notes_core_terms_are_there_with_their_chinese(term, chinese):
    assert term in TERMS, f"the glossary has no entry for {term!r}"
    assert chinese in TERMS[term], f"{term!r}: its entry does not give the notes' term {chinese}"


@pytest.mark.parametrize("term, chinese", sorted(TEXTBOOK_TERMS.items()))
def test_the_chinese_term_is_the_textbooks_not_the_notes_slip(term, chinese):
    bold = re.match(r"\*\*([^*]+)\*\*", TERMS[term]).group(1)
    assert bold == chinese, f"{term!r}: the entry's term is {bold}, a Chinese textbook writes {chinese}"


def test_every_term_reference_resolves():
    unknown = [f"{page.relative_to(REPO)}: {target}" for page, target in _roles("term") if target.lower() not in TERMS]
    assert not unknown, "{term} references with no glossary entry:\n" + "\n".join(unknown)


def test_every_glossary_term_is_used_somewhere():
    used = {target.lower() for page, target in _roles("term") if page != GLOSSARY}
    unused = [terms[0] for terms, _ in ENTRIES if not any(term.lower() in used for term in terms)]
    assert not unused, "glossary terms no page links with {term}: " + ", ".join(unused)


# ----------------------------------------------------------------------------- references

BIBLIOGRAPHY = parse_file(str(BIB))


@pytest.mark.parametrize("key", REQUIRED_REFERENCES)
def test_the_core_references_are_in_the_bibliography(key):
    assert key in BIBLIOGRAPHY.entries, f"book/references.bib has no entry {key}"


@pytest.mark.parametrize("key", sorted(BIBLIOGRAPHY.entries))
def test_every_reference_has_a_year_and_a_link_or_publisher(key):
    fields = BIBLIOGRAPHY.entries[key].fields
    assert re.fullmatch(r"\d{4}", fields.get("year", "")), f"{key}: no year"
    assert any(name in fields for name in ("url", "doi", "publisher")), f"{key}: no url, doi or publisher"


def test_every_citation_resolves():
    unknown = [f"{page.relative_to(REPO)}: {key}" for page, keys in _roles("cite")
               for key in keys.split(",") if key.strip() not in BIBLIOGRAPHY.entries]
    assert not unknown, "citations with no entry in book/references.bib:\n" + "\n".join(unknown)


def test_the_core_references_are_cited_from_the_chapters():
    chapters = [page for page in SOURCES if page.parent.name == "chapters"]
    cited = {key.strip() for _, keys in _roles("cite", chapters) for key in keys.split(",")}
    missing = [key for key in REQUIRED_REFERENCES if key not in cited]
    assert not missing, "never cited from a chapter: " + ", ".join(missing)
