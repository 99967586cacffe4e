"""The Chinese README (README.zh-CN.md) keeps up with README.md: it names the same make commands,
and each links the other."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ENGLISH = REPO / "README.md"
CHINESE = REPO / "README.zh-CN.md"


def make_commands(text: str) -> set[str]:
    """The make targets a README names: ``make X`` in inline code or at the start of a code line.

    >>> sorted(make_commands("Run `make book`, then\\nmake test  # all\\nto make things"))
    ['book', 'test']
    """
    return set(re.findall(r"(?:`|^)make ([a-z][\w-]*)", text, flags=re.M))


def makefile_targets() -> set[str]:
    return set(re.findall(r"^([a-z][\w-]*):", (REPO / "Makefile").read_text(), flags=re.M))


def test_the_chinese_readme_names_the_same_make_commands():
    english, chinese = make_commands(ENGLISH.read_text()), make_commands(CHINESE.read_text())
    assert {"book", "test"} <= english
    assert chinese == english, (f"README.zh-CN.md lacks {sorted(english - chinese)}, "
                                f"names beyond README.md {sorted(chinese - english)}")


def test_the_readmes_name_only_real_targets():
    unknown = make_commands(ENGLISH.read_text()) - makefile_targets()
    assert not unknown, f"README.md names make targets the Makefile lacks: {sorted(unknown)}"


def test_each_readme_links_the_other():
    assert "](README.zh-CN.md)" in ENGLISH.read_text().split("\n## ")[0]
    assert "](README.md)" in CHINESE.read_text().split("\n## ")[0]
