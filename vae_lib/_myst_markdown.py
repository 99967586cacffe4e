"""MyST Markdown as CommonMark + HTML: the text half of the notebook exporter.

Jupyter frontends without the MyST extension (Colab, VS Code, classic Notebook, GitHub's viewer,
a JupyterLab without ``jupyterlab-myst``) show MyST syntax as typed. :func:`to_commonmark` turns
one Markdown cell of a chapter into text they all render:

- ``{exercise}`` → a heading ``### Exercise 1.2: Title (★, 5 min)`` and its text;
- ``{solution}`` → ``<details><summary>Solution to Exercise 1.2</summary> … </details>`` (folded
  until clicked), or nothing when solutions are left out;
- admonitions (``{admonition} Title``, ``{note}``, ``{tip}``, ...) → a blockquote led by its
  title in bold (one with ``:class: dropdown`` → ``<details>``);
- roles → text: ``{term}``, ``{ref}``, ``{numref}``, ``{doc}`` and ``{cite}`` become their text,
  linked to the published book when its address is known; ``{math}`` becomes ``$…$``;
- labels ``(name)=`` and equation labels ``$$ … $$ (name)`` are removed;
- the book's LaTeX macros (``\\E``, ``\\KL``, ``\\N``) are expanded, so the math renders in any
  MathJax or KaTeX.

Anything else written as a directive or role is refused with an error naming it, so that a
chapter never ships syntax a reader would see raw.

>>> links = Links(titles={"chap-bayes": "Bayes' rule"}, macros={"E": "\\\\mathbb{E}"})
>>> print(to_commonmark("(chap-x)=\\n# Title\\n\\nSee {ref}`chap-bayes` and $\\\\E[x]$.", links))
# Title
<BLANKLINE>
See Bayes' rule and $\\mathbb{E}[x]$.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

__all__ = ["Links", "to_commonmark", "expand_macros", "ADMONITIONS", "ROLES"]

#: Admonition directives and the title each shows when it is given none.
ADMONITIONS = {name: name.capitalize() for name in (
    "note", "tip", "hint", "important", "warning", "caution", "attention", "danger", "error", "seealso")}
ADMONITIONS["seealso"] = "See also"
#: The roles the exporter turns into text.
ROLES = ("term", "ref", "numref", "doc", "cite", "cite:t", "cite:p", "cite:ps", "cite:ts", "math", "eq",
         "sub", "sup", "abbr")

_FENCE = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,}|:{3,})\s*(?P<info>.*?)\s*$")
_DIRECTIVE = re.compile(r"^\{(?P<name>[\w:-]+)\}\s*(?P<argument>.*)$")
_OPTION = re.compile(r"^\s*:(?P<key>[\w-]+):\s*(?P<value>.*?)\s*$")
_LABEL = re.compile(r"^\s*\((?P<label>[^()\s]+)\)=\s*$")
_EQUATION_LABEL = re.compile(r"^(?P<math>.*\$\$)\s*\([\w:.-]+\)\s*$")
_ROLE = re.compile(r"\{(?P<role>[\w:-]+)\}`(?P<content>[^`]*)`")
_CODE_SPAN = re.compile(r"(?P<ticks>`+)(?P<code>[^`][\s\S]*?)(?P=ticks)")
_EXPLICIT = re.compile(r"^(?P<text>.*?)\s*<(?P<target>[^<>]+)>$", flags=re.S)
_CODE_LANGUAGES = {"code-cell": "python", "code-block": "", "code": "", "sourcecode": ""}


@dataclass(frozen=True)
class Links:
    """What the roles refer to, and where the published book is (everything optional).

    Attributes:
        titles: label → the text a reference shows (``"ex-bayes-grid": "Exercise 1.4"``,
            ``"chap-bayes": "Bayes' rule and the coffee machine"``).
        pages: label or document name → its address relative to the site root
            (``"ex-bayes-grid": "chapters/01_bayes.html#ex-bayes-grid"``).
        terms: glossary term in lower case → its address (``"prior": "book/glossary.html#term-Prior"``).
        citations: citation key → ``(authors, year)``.
        site_url: the published book's address, ``""`` when it has none (then no link is made).
        macros: LaTeX macro name → definition (``{"E": "\\\\mathbb{E}"}``).
        exercise_titles: exercise label → its heading (``"Exercise 1.2: Title (★, 5 min)"``).
    """

    titles: dict[str, str] = field(default_factory=dict)
    pages: dict[str, str] = field(default_factory=dict)
    terms: dict[str, str] = field(default_factory=dict)
    citations: dict[str, tuple[str, str]] = field(default_factory=dict)
    site_url: str = ""
    macros: dict[str, str] = field(default_factory=dict)
    exercise_titles: dict[str, str] = field(default_factory=dict)

    def link(self, text: str, page: str | None) -> str:
        """``[text](site/page)`` when both the site and the page are known, else ``text``."""
        if not self.site_url or not page:
            return text
        return f"[{text}]({self.site_url.rstrip('/')}/{page})"


def expand_macros(tex: str, macros: dict[str, str]) -> str:
    """Replace the book's argument-free LaTeX macros by their definitions.

    >>> expand_macros(r"\\E[x] + \\KL(q \\| p) + \\Exp", {"E": r"\\mathbb{E}", "KL": r"\\mathrm{KL}"})
    '\\\\mathbb{E}[x] + \\\\mathrm{KL}(q \\\\| p) + \\\\Exp'
    """
    if not macros:
        return tex
    names = "|".join(sorted((re.escape(name) for name in macros), key=len, reverse=True))
    return re.sub(rf"\\({names})(?![A-Za-z])", lambda match: macros[match.group(1)], tex)


def _role(role: str, content: str, links: Links) -> str:
    explicit = _EXPLICIT.match(content)
    text, target = (explicit.group("text"), explicit.group("target")) if explicit else (None, content)
    if role == "math":
        return f"${content}$"
    if role in ("sub", "sup"):
        return f"<{role}>{content}</{role}>"
    if role == "abbr":
        return text or content
    if role == "term":
        return links.link(text or target, links.terms.get(target.strip().lower()))
    if role.startswith("cite"):
        return _citation(role, content, links)
    if role == "doc":
        name = re.sub(r"^(\.\./|/)+", "", target).removesuffix(".md")
        return links.link(text or links.titles.get(name, name.rsplit("/", 1)[-1]), links.pages.get(name))
    if role == "eq":
        return text or f"({target})"
    # ref, numref
    shown = text or links.titles.get(target, target)
    return links.link(shown.replace("%s", links.titles.get(target, "")), links.pages.get(target))


def _citation(role: str, content: str, links: Links) -> str:
    parts = []
    for key in (key.strip() for key in content.split(",")):
        authors, year = links.citations.get(key, (key, ""))
        parts.append((authors, year))
    page = links.pages.get("book/references")
    if role in ("cite:t", "cite:ts"):
        return "; ".join(links.link(f"{authors} ({year})" if year else authors, page) for authors, year in parts)
    inner = "; ".join(f"{authors}, {year}" if year else authors for authors, year in parts)
    return "(" + links.link(inner, page) + ")"


def _inline(line: str, links: Links, where: str) -> str:
    """Roles turned into text and macros expanded, outside inline code."""
    out, position = [], 0
    while position < len(line):
        role = _ROLE.match(line, position)
        code = _CODE_SPAN.match(line, position) if line[position] == "`" else None
        if role and line[position] == "{":
            if role.group("role") not in ROLES:
                raise ValueError(f"{where}: the notebook exporter does not know the role {{{role.group('role')}}}; "
                                 "add it to vae_lib._myst_markdown.ROLES (and _role) or write plain Markdown.")
            out.append(expand_macros(_role(role.group("role"), role.group("content"), links), links.macros))
            position = role.end()
        elif code:
            out.append(code.group(0))
            position = code.end()
        else:
            following = [index for index in (line.find("{", position + 1), line.find("`", position + 1)) if index >= 0]
            end = min(following) if following else len(line)
            out.append(expand_macros(line[position:end], links.macros))
            position = end
    return "".join(out)


def _closing(lines: list[str], start: int, fence: str, where: str) -> int:
    for index in range(start + 1, len(lines)):
        stripped = lines[index].strip()
        if len(stripped) >= len(fence) and set(stripped) == {fence[0]}:
            return index
    raise ValueError(f"{where}: unclosed {fence} block: {lines[start].strip()!r}")


def _split_options(body: list[str]) -> tuple[dict[str, str], list[str]]:
    options, index = {}, 0
    while index < len(body) and (match := _OPTION.match(body[index])):
        options[match.group("key")] = match.group("value")
        index += 1
    if index < len(body) and not body[index].strip():
        index += 1
    return options, body[index:]


def _quote(lines: list[str]) -> list[str]:
    return [f"> {line}" if line.strip() else ">" for line in lines]


def _details(summary: str, body: list[str]) -> list[str]:
    return ["<details>", f"<summary>{summary}</summary>", "", *body, "", "</details>"]


def to_commonmark(text: str, links: Links | None = None, *, keep_solutions: bool = True, where: str = "markdown") -> str:
    """One MyST Markdown text (a notebook cell) as CommonMark + HTML (see the module docstring).

    ``where`` names the text in error messages (e.g. ``"chapters/01_bayes.md, cell 3"``).
    """
    links = links or Links()
    return "\n".join(_convert(text.splitlines(), links, keep_solutions, where)).strip("\n")


def _convert(lines: list[str], links: Links, keep_solutions: bool, where: str) -> list[str]:
    out: list[str] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        fence = _FENCE.match(line)
        if _LABEL.match(line):
            index += 1
            if index < len(lines) and not lines[index].strip() and (not out or not out[-1].strip()):
                index += 1
            continue
        if not fence:
            # A run of plain lines is converted together: a role may wrap onto the next line.
            block = []
            while index < len(lines) and not _FENCE.match(lines[index]) and not _LABEL.match(lines[index]):
                text = lines[index]
                if not text.lstrip().startswith("% "):  # a MyST comment
                    equation = _EQUATION_LABEL.match(text)
                    block.append(equation.group("math") if equation else text)
                index += 1
            out += _inline("\n".join(block), links, where).split("\n")
            continue
        end = _closing(lines, index, fence.group("fence"), where)
        info, body = fence.group("info"), lines[index + 1:end]
        directive = _DIRECTIVE.match(info)
        if not directive:
            out += [line, *body, lines[end]]  # a plain code block: verbatim
        else:
            out += _directive(directive.group("name"), directive.group("argument"), body, fence.group("fence"),
                              links, keep_solutions, where)
        index = end + 1
    return out


def _directive(name: str, argument: str, body: list[str], fence: str, links: Links, keep_solutions: bool,
               where: str) -> list[str]:
    options, content = _split_options(body)
    ticks = "`" * max(3, len(fence) if fence.startswith("`") else 3)

    def inner() -> list[str]:
        return _convert(content, links, keep_solutions, where)

    if name in _CODE_LANGUAGES:
        language = argument.split()[0] if argument else _CODE_LANGUAGES[name]
        return [f"{ticks}{language}", *content, ticks]
    if name == "math":
        return ["$$", *(expand_macros(line, links.macros) for line in content), "$$"]
    if name == "exercise":
        label = options.get("label", "")
        heading = links.exercise_titles.get(label) or f"Exercise: {argument}"
        return [f"### {_inline(heading, links, where)}", "", *inner()]
    if name == "solution":
        if not keep_solutions:
            return []
        exercise = links.titles.get(argument.strip(), "the exercise")
        return _details(f"Solution to {exercise}", inner())
    if name in ("solution-start", "solution-end"):
        if name == "solution-end" or not keep_solutions:
            return []
        return [f"**Solution to {links.titles.get(argument.strip(), 'the exercise')}**"]
    if name == "admonition" or name in ADMONITIONS:
        title = _inline(argument or ADMONITIONS.get(name, "Note"), links, where)
        if "dropdown" in options.get("class", "").split():
            return _details(title, inner())
        return _quote([f"**{title}**", "", *inner()])
    if name == "dropdown":
        return _details(_inline(argument or "Details", links, where), inner())
    if name in ("figure", "image"):
        alt = options.get("alt", "")
        caption = [_inline(line, links, where) for line in content] if name == "figure" else []
        return [f"![{alt}]({argument})", *([""] + [f"*{' '.join(caption).strip()}*"] if any(caption) else [])]
    raise ValueError(f"{where}: the notebook exporter cannot convert the directive {{{name}}}; teach "
                     "vae_lib._myst_markdown._directive to, or write it in plain Markdown.")
