"""Read the math of the book's pages as tokens, section by section: the helpers of tests/test_notation.py.

A page's math is every ``$...$`` and ``$$...$$`` span of its prose, exercises and solutions
(code cells, code blocks and inline code are left out: they are code, not notation). Each span
becomes a list of tokens, one per letter, digit, sign or LaTeX command, with spacing, sizing
and the book's macros normalized away, so that ``\\hat{x}_j`` and ``\\hat x_j`` read the same.
A *section* is the text from one ``(label)=`` target to the next, so that every "first appears"
entry of the notation page names a section that can be searched.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((REPO / "chapters").glob("[0-9][0-9]_*.md"))

#: The book's macros (book/_config.yml, ``mathjax3_config``), expanded before tokenizing.
MACROS = {r"\E": r"\mathbb{E}", r"\N": r"\mathcal{N}", r"\KL": r"\mathrm{KL}"}
#: Commands that only space, size or bracket-size: dropped.
SPACING = {r"\,", r"\;", r"\!", r"\:", r"\ ", r"\quad", r"\qquad", r"\left", r"\right", r"\big", r"\Big",
           r"\bigl", r"\bigr", r"\Bigl", r"\Bigr", r"\bigg", r"\Bigg", r"\displaystyle", r"\tfrac", r"\dfrac",
           r"\limits", "&", r"\\"}
#: Spellings of one sign.
SAME = {r"\|": r"\Vert", r"\lVert": r"\Vert", r"\rVert": r"\Vert", r"\lvert": "|", r"\rvert": "|", r"\vert": "|",
        r"\frac": r"\frac", r"\dots": r"\ldots", r"\cdots": r"\ldots", r"\star": "*", r"\ast": "*", r"\le": r"\leq",
        r"\ge": r"\geq", r"\to": r"\rightarrow", r"\varepsilon": r"\varepsilon"}
#: Commands whose braced argument is one token (words and names, not symbols).
WORD_COMMANDS = ("text", "mathrm", "operatorname", "textrm", "textbf", "mathbf", "mathcal", "mathbb",
                 "boldsymbol", "mathit", "begin", "end")
#: Decorations that make a new symbol of the token they sit on (x, x̂, x̄ and x̃ are four symbols).
DECORATIONS = {r"\hat", r"\widehat", r"\bar", r"\overline", r"\tilde", r"\widetilde", r"\dot", r"\vec"}
#: Subscripts that number items of one kind (``x_i``, ``σ_j``, ``π_k``, ``z_l``, ``x_t``) rather than name a
#: new symbol (``σ_x``, ``p_θ``): a symbol with an index subscript is still that symbol.
INDEX_LETTERS = set("ijklt") | set("0123456789")

#: A ``d`` that starts a differential (``dz``, ``d\rho``, ``dx``), not the latent dimension d.
DIFFERENTIAL = re.compile(r"(?<![A-Za-z\\])d(?=(?:[xyzpu]|\\rho|\\mu|\\sigma|\\varepsilon|\\mathcal\{L\}|\\theta|\\phi|"
                          r"\\mathcal|f\b|f\^|\s?F)(?![A-Za-z]))")
_TOKEN = re.compile(r"\\[A-Za-z]+|\\.|[A-Za-z0-9]|[^\sA-Za-z0-9\\]")


def tokens(latex: str) -> list[str]:
    """The tokens of one LaTeX span: letters, digits and signs one by one, commands whole.

    >>> tokens(r"\\hat{x}_j = \\sigma_x^2 \\, \\text{ESS}")
    ['\\\\hat', 'x', '_', 'j', '=', '\\\\sigma', '_', 'x', '^', '2', '\\\\text{ESS}']
    """
    for macro, expansion in MACROS.items():
        latex = re.sub(re.escape(macro) + r"(?![A-Za-z])", lambda _: expansion, latex)
    latex = re.sub(r"\\\\\s*\[[0-9.]+(pt|em|ex|mm)\]", " ", latex)          # a line break's extra space
    latex = re.sub(r"\\frac\{d\}", r"\\frac{\\mathrm{d}}", latex)              # d/dp: a differential
    latex = re.sub(DIFFERENTIAL, r"\\mathrm{d}", latex)                         # dz, d\rho, ...: differentials
    word = r"\\(" + "|".join(WORD_COMMANDS) + r")\s*\{([^{}]*)\}"                    # \text{...}: one token
    latex = re.sub(word, lambda m: f" \\{m.group(1)}{{{m.group(2).strip()}}}\0 ", latex)
    out: list[str] = []
    for piece in re.split(r"(\\(?:" + "|".join(WORD_COMMANDS) + r")\{[^{}]*\}\0)", latex):
        if piece.endswith("\0"):
            out.append(piece[:-1])
            continue
        for token in _TOKEN.findall(piece):
            token = SAME.get(token, token)
            if token not in SPACING:
                out.append(token)
    return _unbrace(out)


def _unbrace(tokens_: list[str]) -> list[str]:
    """Drop braces around a single token (``{x}`` → ``x``) and pairs that group nothing."""
    changed = True
    while changed:
        changed = False
        for i in range(len(tokens_) - 2):
            if tokens_[i] == "{" and tokens_[i + 2] == "}":
                del tokens_[i + 2], tokens_[i]
                changed = True
                break
        for i in range(len(tokens_) - 1):
            if tokens_[i] == "{" and tokens_[i + 1] == "}":
                del tokens_[i:i + 2]
                changed = True
                break
    return tokens_


def prose(text: str) -> str:
    """A page's text with its code cells, code blocks and inline code blanked (lines kept)."""
    out, code_fence, directives = [], None, []
    for line in text.split("\n"):
        stripped = line.strip()
        if code_fence is not None:                      # inside code: blank until it closes
            if stripped == code_fence:
                code_fence = None
            out.append("")
            continue
        fence = re.match(r"^(`{3,}|~{3,})(.*)$", stripped)
        if fence and fence.group(2).startswith("{") and not fence.group(2).startswith("{code-cell}"):
            directives.append(fence.group(1))           # an admonition, exercise or solution: prose
            out.append("")
            continue
        if fence and not fence.group(2) and directives and directives[-1] == fence.group(1):
            directives.pop()                            # the end of that directive
            out.append("")
            continue
        if fence:                                       # a code cell or a code block
            code_fence = fence.group(1)
            out.append("")
            continue
        out.append(re.sub(r"`[^`\n]*`", "", line))
    return "\n".join(out)


def math_spans(text: str) -> list[tuple[int, str]]:
    """``(line number, LaTeX)`` of every math span of a page's prose."""
    text = prose(text)
    spans = []
    for match in re.finditer(r"\$\$(.+?)\$\$", text, flags=re.S):
        spans.append((text.count("\n", 0, match.start()) + 1, match.group(1)))
    inline_only = re.sub(r"\$\$(.+?)\$\$", lambda m: " " * len(m.group(0)), text, flags=re.S)
    for match in re.finditer(r"(?<![\\$])\$((?:[^$\n]|\n(?!\s*\n))+?)\$", inline_only):
        spans.append((text.count("\n", 0, match.start()) + 1, match.group(1)))
    return sorted(spans)


@dataclass
class Section:
    """The text from one ``(label)=`` target to the next, and the tokens of its math, span by span."""

    page: Path
    label: str
    first_line: int
    spans: list[tuple[int, list[str]]]


def sections(page: Path) -> list[Section]:
    """A page's sections in order (the text before its first label belongs to no section)."""
    text = page.read_text(encoding="utf-8")
    starts = [(text.count("\n", 0, m.start()) + 1, m.group(1))
              for m in re.finditer(r"^\(([\w-]+)\)=$", text, flags=re.M)]
    spans = [(line, tokens(latex)) for line, latex in math_spans(text)]
    result = []
    for index, (line, label) in enumerate(starts):
        end = starts[index + 1][0] if index + 1 < len(starts) else 10**9
        result.append(Section(page, label, line, [(n, t) for n, t in spans if line <= n < end]))
    return result


def _subscript_end(seq: list[str], start: int) -> int:
    """Index after the subscript (or superscript) group that begins at ``seq[start]``."""
    if start >= len(seq):
        return start
    if seq[start] != "{":
        return start + 1
    depth = 0
    for i in range(start, len(seq)):
        depth += {"{": 1, "}": -1}.get(seq[i], 0)
        if depth == 0:
            return i + 1
    return len(seq)


def occurrences(key: list[str], seq: list[str], *, as_index: bool = False) -> list[int]:
    """Where the symbol ``key`` is used in the token list ``seq``, as a symbol of its own.

    Not counted: a match that is itself a subscript or superscript (the ``x`` of ``σ_x``), a match
    under a decoration (the ``x`` of ``x̂``), and a match followed by a naming subscript or a prime
    (``σ`` in ``σ_x`` or ``σ′``: other symbols). A following index subscript (``σ_j``) still counts.
    With ``as_index``, only subscript uses count: the uses of an index letter such as ``i``.

    >>> occurrences(["\\\\sigma"], tokens(r"\\sigma_x + \\sigma_j + \\sigma' + \\hat\\sigma + \\sigma^2"))
    [4, 14]
    >>> occurrences(["i"], tokens(r"x_i + \\sum_{i=1}^N"), as_index=True)
    [2, 7]
    """
    found, n = [], len(key)
    for i in range(len(seq) - n + 1):
        if seq[i:i + n] != key:
            continue
        before = seq[i - 1] if i else ""
        if as_index:
            if before in ("_", "{") and (before == "_" or (i > 1 and seq[i - 2] == "_")):
                found.append(i)
            continue
        if before in ("_", "^") or (before in DECORATIONS and key[0] not in DECORATIONS):
            continue
        if before == "{" and i > 1 and seq[i - 2] in ("_", "^"):
            continue
        after = i + n
        if after < len(seq) and seq[after] == "'" and "'" not in key:
            continue
        if after < len(seq) and seq[after] == "_" and key[-1] not in ("_",) and "_" not in key:
            sub = seq[after + 1:_subscript_end(seq, after + 1)]
            sub = [t for t in sub if t not in "{}"]
            if not sub or not all(t in INDEX_LETTERS or t in "=+-,'" for t in sub):
                continue
        found.append(i)
    return found


def section_uses(section: Section, key: list[str], *, as_index: bool = False) -> list[int]:
    """Line numbers where the section's math uses ``key``."""
    return [line for line, seq in section.spans if occurrences(key, seq, as_index=as_index)]
