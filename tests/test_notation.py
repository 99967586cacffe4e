"""One symbol, one meaning: book/notation.md lists each symbol once, and the chapters keep to it.

What is checked, on the sources (tests/notation_math.py reads their math as tokens):

- the notation page lists no symbol twice;
- every "first appears" entry names a label of the chapter it names, and that label's section is
  the first section of the book whose math writes the symbol (for an index such as ``i``, the first
  whose math uses it as a subscript); every other symbol of the entry is written somewhere;
- a symbol that the page reserves for some chapters (``b``, the baseline of chapter 7; ``m`` and
  ``s``, the exact posterior of chapters 4 and 5; ...) is written in no other chapter: that is how
  a letter's old meanings show, mechanically;
- the notations the book retired (``L(ρ)``, ``f_b``, ``a_k``, ``z(t)``, ...) appear in no chapter,
  book page or exercise module of a chapter the notation has been applied to.

What cannot be checked mechanically: that a letter written in an allowed chapter means what the
page says there (a reader's job), and code variables, code comments and figure labels (code).

Issue 16 applied the notation in two stages (chapters 1-5, then 6-11); both have landed, so every
check is strict for every chapter. ``PENDING`` stays as the way to stage a future change: a
chapter listed there turns its failures into expected failures that list what is left to do.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from notation_math import CHAPTERS, DECORATIONS, REPO, _subscript_end, occurrences, section_uses, sections, tokens

PAGE = REPO / "book" / "notation.md"
#: Chapters the notation has not been applied to yet (none since issue 16's stage 2).
PENDING: set[int] = set()

#: Symbols the page keeps for a few chapters, and the chapters that may write them.
RESERVED = {
    "h": {1}, "n": {1}, r"\rho": {1, 7},
    "y": {2}, "c": {2, 11}, r"\psi": {2}, "Z": {2}, "F": {2}, r"\kappa": {2},
    "r": {3}, r"\ell": {3}, "M": {3, 4}, "W": {3, 8, 10},
    "A": {4}, "a": {1, 4, 5, 6}, "m": {4, 5}, "s": {4, 5}, r"\mu'": {4, 11}, r"\sigma'": {4, 11},
    "Y": {4, 5}, "V": {4, 6, 7}, "w": {4, 5},
    r"\xi": {6},
    "f": {7}, "g": {7}, "b": {7}, "S": {7}, r"\nu": {7}, r"\zeta": {7}, "u": {7, 10}, r"\Phi": {7, 10},
    r"\lambda": {8}, r"\tilde x": {8}, r"\bar x": {8, 11},
    r"\eta": {9}, r"\tau": {9},
    "v": {10}, r"\omega": {10}, r"\delta": {10},
    "t": {11}, "T": {11}, r"\gamma": {11}, r"\bar\alpha": {11},
}

#: A letter that is both a symbol and an index, told apart by the page's rules (k counts importance
#: samples, and as a subscript numbers a mixture's components): the chapters whose uses of the
#: letter are the index's, where the symbol's first use is not sought.
INDEX_CHAPTERS = {"k": {3, 6}}
#: The quantities whose subscript k numbers a mixture's components, and the bound L_k with k samples.
K_SUBSCRIPTED = {r"\pi", r"\mu", r"\Sigma", r"\sigma", "r", "N", r"\mathcal{N}", r"\mathcal{L}", r"\sum",
                 r"\max", r"\prod"}

#: Letters a subscript may hold: the indices i, j, k, l, t; the names of what a quantity belongs to
#: (σ_x, p_z, z_a and z_b, E_q, p_θ, x̂_κ); sizes as the last index (x_D, z_L, x_N, ᾱ_T, I_d); the primed
#: dummies of a sum (h′, y′). Any other letter is an index the page does not know, or a name it does not.
SUBSCRIPT_LETTERS = set("ijkltxzabpqdDLNThy") | {r"\theta", r"\phi", r"\beta", r"\kappa", r"\varepsilon"}

#: Notations the book retired, with what replaced them; written nowhere the notation applies.
RETIRED = {
    r"L(\rho)": "the likelihood of ρ is written p(n_6 | ρ)",
    r"p(k": "the die's count of sixes is n_6",
    r"\binom{n}{k}": "the die's count of sixes is n_6",
    "f_b": "the bent line is x̂_κ",
    "a_k": "log-sum-exp writes log p(x, z = k) and M",
    "a_i": "log-mean-exp writes log w_l and M",
    r"\log t": "Gibbs' inequality uses log ξ ≤ ξ − 1",
    r"\mu_u": "a latent coordinate is numbered j",
    "z(t)": "an interpolation is z(ω)",
    "b_j": "a binarized pixel is x̃_j",
    "w_k": "a mixture's weights are π_k",
    r"\ell_j": "a pixel's logit is η_j",
    "s(x)": "the anomaly score is written −ELBO(x)",
    "s(z)": "the score is S(z)",
    r"\varphi": "the normal density is written with 𝒩 or Φ′",
    r"\epsilon": "ε is standard normal noise (Adam's constant is written eps)",
    r"\hat g": "a gradient estimate is ∇̂",
}
#: Retired spellings in the exercise modules' messages (plain text, not LaTeX).
RETIRED_TEXT = ("a z + b", "aμ − b", "L(ρ)", "f_b", "q = N(m, s²)", "s_k²", "(z − t)", "s(z)", "from m to n", "; p_j)")
EXERCISE_MODULES = {1: "bayes", 2: "latent_variables", 3: "mixture", 4: "importance_sampling", 5: "elbo",
                    6: "kl_divergence", 7: "gradients", 8: "amortized_inference", 9: "training_mnist",
                    10: "latent_space", 11: "beyond"}


@dataclass
class Entry:
    """One row of the notation page."""

    heading: str
    pieces: list[str]
    chapter: int
    label: str
    line: int

    @property
    def is_index(self) -> bool:
        return self.heading == "Indices"

    def __str__(self) -> str:
        return f"notation.md:{self.line} ${self.pieces[0]}$"


def _entries() -> list[Entry]:
    entries, heading = [], ""
    for number, line in enumerate(PAGE.read_text(encoding="utf-8").split("\n"), 1):
        if line.startswith("## "):
            heading = line[3:].strip()
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")] if line.startswith("| ") else []
        if len(cells) != 3 or cells[0] in ("symbol", "---"):
            continue
        where = re.fullmatch(r"Chapter (\d+), \{ref\}`(?:[^`<]*<)?([\w-]+)>?`(?: \(.*\))?", cells[2])
        assert where, f"notation.md:{number}: the third column must read 'Chapter N, {{ref}}`label`'"
        pieces = re.findall(r"\$(.+?)\$", cells[0])
        assert pieces, f"notation.md:{number}: the symbol column must be math"
        entries.append(Entry(heading, pieces, int(where.group(1)), where.group(2), number))
    return entries


ENTRIES = _entries()
SECTIONS = [(index + 1, section) for index, page in enumerate(CHAPTERS) for section in sections(page)]


def _key(piece: str) -> list[str]:
    """The tokens to search for: the symbol without its placeholder arguments."""
    piece = re.sub(r"\s*(\(\\cdot\)|\[\\,\\cdot\\,\]|\[\\cdot\])\s*$", "", piece)
    return tokens(piece)


def _first_use(key: list[str], as_index: bool, skip: set[int] = frozenset()) -> tuple[int, str] | None:
    for chapter, section in SECTIONS:
        if chapter not in skip and section_uses(section, key, as_index=as_index):
            return chapter, section.label
    return None


def assert_follows_notation(found: list[str], number: int, problem: str) -> None:
    """Fail with every finding of chapter ``number`` (an expected failure while it is ``PENDING``)."""
    if found and number in PENDING:
        pytest.xfail("pending: " + "; ".join(found))
    assert not found, f"{problem}:\n" + "\n".join(found)


def _pending(*chapters: int) -> bool:
    return any(chapter in PENDING for chapter in chapters)


def test_the_page_has_its_tables():
    assert len(ENTRIES) > 80
    assert {entry.heading for entry in ENTRIES} >= {"Sizes", "Indices", "Models of single chapters"}


def test_the_page_lists_every_symbol_once():
    """A letter may be listed once as a symbol and once as an index (k), never twice as either."""
    seen: dict[tuple, Entry] = {}
    for entry in ENTRIES:
        for piece in entry.pieces:
            key = (entry.is_index, *_key(piece))
            assert key not in seen, f"{entry} lists {piece!r}, which {seen[key]} lists already"
            seen[key] = entry


@pytest.mark.parametrize("entry", ENTRIES, ids=str)
def test_first_appears_names_the_first_section_that_writes_the_symbol(entry):
    labels = {section.label for chapter, section in SECTIONS if chapter == entry.chapter}
    assert entry.label in labels, f"{entry}: chapter {entry.chapter} has no label {entry.label!r}"
    skip = set() if entry.is_index else INDEX_CHAPTERS.get(entry.pieces[0], set())
    first = _first_use(_key(entry.pieces[0]), entry.is_index, skip)
    if first != (entry.chapter, entry.label) and _pending(entry.chapter, *(first or (entry.chapter,))[:1]):
        pytest.xfail(f"pending: {entry} first appears in {first}, the page says {entry.chapter}, {entry.label}")
    assert first == (entry.chapter, entry.label), (
        f"{entry}: the first section that writes it is {first}, not chapter {entry.chapter}, {entry.label}")


@pytest.mark.parametrize("entry", [entry for entry in ENTRIES if len(entry.pieces) > 1], ids=str)
def test_every_symbol_of_an_entry_is_written_somewhere(entry):
    for piece in entry.pieces[1:]:
        if _first_use(_key(piece), entry.is_index) is None:
            if _pending(entry.chapter):
                pytest.xfail(f"pending: {entry} ${piece}$ is written nowhere yet")
            pytest.fail(f"{entry}: ${piece}$ is written in no chapter")


def test_every_reserved_symbol_is_on_the_page():
    listed = {tuple(_key(piece)) for entry in ENTRIES for piece in entry.pieces}
    listed |= {tuple(_key(piece))[:len(tokens(symbol))] for entry in ENTRIES for piece in entry.pieces
               for symbol in RESERVED}
    for symbol in RESERVED:
        assert tuple(tokens(symbol)) in listed, f"{symbol} is reserved by this test but not on the notation page"


def _violations(chapter: int, page: Path) -> list[str]:
    found = []
    for section in sections(page):
        for symbol, allowed in RESERVED.items():
            if chapter not in allowed:
                found += [f"{page.name}:{line}: {symbol} (kept for chapters {sorted(allowed)})"
                          for line in section_uses(section, tokens(symbol))]
        for retired, replacement in RETIRED.items():
            key = tokens(retired)
            found += [f"{page.name}:{line}: {retired} ({replacement})" for line, seq in section.spans
                      if any(seq[i:i + len(key)] == key for i in range(len(seq)))]
    return sorted(set(found))


@pytest.mark.parametrize("number", range(1, len(CHAPTERS) + 1), ids=lambda n: f"chapter {n}")
def test_a_chapter_writes_no_symbol_with_another_meaning(number):
    found = _violations(number, CHAPTERS[number - 1])
    assert_follows_notation(found, number, "symbols used against book/notation.md")


def _k_subscripts(page: Path) -> list[str]:
    """Subscripts holding k on anything but a mixture's quantities or L_k (k counts samples elsewhere)."""
    found = []
    for section in sections(page):
        for line, seq in section.spans:
            for i, token in enumerate(seq[:-1]):
                if token != "_" or not i:
                    continue
                group = seq[i + 1:i + 2] if seq[i + 1] != "{" else seq[i + 1:seq.index("}", i + 1)]
                if "k" in group and seq[i - 1] not in K_SUBSCRIPTED:
                    found.append(f"{page.name}:{line}: {seq[i - 1]}_{''.join(group)}")
    return found


@pytest.mark.parametrize("number", range(1, len(CHAPTERS) + 1), ids=lambda n: f"chapter {n}")
def test_a_subscript_k_numbers_a_mixtures_components(number):
    found = _k_subscripts(CHAPTERS[number - 1])
    assert_follows_notation(found, number, "k as a subscript of something other than a mixture's quantities")


def _odd_subscripts(page: Path) -> list[str]:
    """Single letters in subscripts that are neither an index of the page nor a name it uses."""
    found = []
    for section in sections(page):
        for line, seq in section.spans:
            for i, token in enumerate(seq[:-1]):
                group = seq[i + 1:_subscript_end(seq, i + 1)] if token == "_" else []
                if "(" in group:                       # a label under a brace, not a subscript
                    continue
                known = SUBSCRIPT_LETTERS | DECORATIONS | {r"\sim", r"\mid", r"\in", r"\leq", r"\geq", r"\ldots"}
                found += [f"{page.name}:{line}: _{letter}" for letter in group
                          if re.fullmatch(r"[A-Za-z]|\\[a-z]+", letter) and letter not in known]
    return found


@pytest.mark.parametrize("number", range(1, len(CHAPTERS) + 1), ids=lambda n: f"chapter {n}")
def test_subscripts_are_indices_or_names(number):
    found = _odd_subscripts(CHAPTERS[number - 1])
    assert_follows_notation(found, number, "subscripts the notation page does not know")


@pytest.mark.parametrize("page", ["notation.md", "glossary.md"])
def test_the_book_pages_write_no_retired_notation(page):
    path = REPO / "book" / page
    found = [line for line in _violations(0, path) if "kept for chapters" not in line]
    assert not found, "\n".join(found)


@pytest.mark.parametrize("number", sorted(EXERCISE_MODULES), ids=lambda n: f"chapter {n}")
def test_exercise_messages_use_the_chapters_letters(number):
    text = (REPO / "vae_lib" / "exercises" / f"{EXERCISE_MODULES[number]}.py").read_text(encoding="utf-8")
    found = [spelling for spelling in RETIRED_TEXT if spelling in text]
    assert_follows_notation(found, number, f"vae_lib/exercises/{EXERCISE_MODULES[number]}.py still writes")


def test_the_check_finds_the_old_meanings():
    """The mechanical check sees a letter's retired meaning and spares its subscript uses."""
    chapter_two = sections(CHAPTERS[1])
    bent_line = next(section for section in chapter_two if section.label == "latent-bent-line")
    assert section_uses(bent_line, tokens(r"\kappa")) and not section_uses(bent_line, tokens("b"))
    assert occurrences(tokens("b"), tokens(r"(f(z) - b)\,\nabla_\phi")) == [6]
    assert occurrences(tokens("b"), tokens(r"z(\omega) = (1 - \omega) z_a + \omega z_b")) == []
    assert occurrences(tokens("s"), tokens(r"\N(m, s^2)")) == [4]
