"""The student edition: every solution removed, every exercise kept, the site still builds."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import book_build_env

REPO = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("student_edition", REPO / "book" / "student_edition.py")
student_edition = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(student_edition)
strip_solutions = student_edition.strip_solutions

SAMPLE = """\
# Chapter

```{exercise} Add
:label: ex-add
What is 1 + 1?
```

````{solution} ex-add
:class: dropdown
It is two:
```python
print(1 + 1)
```
````

:::{solution} ex-add
Also in a colon fence.
:::

```{code-cell} ipython3
:tags: [hide-input, solution]
answer = 2
```

```{code-cell} ipython3
:tags: [hide-input]
kept = True
```

```{solution-start} ex-add
```
gated solution text
```{solution-end}
```

The end.
"""


def test_strip_solutions_removes_every_form_of_solution():
    stripped = strip_solutions(SAMPLE)
    for secret in ("It is two", "print(1 + 1)", "colon fence", "answer = 2", "gated solution", "{solution"):
        assert secret not in stripped, f"{secret!r} survived"
    for kept in ("{exercise} Add", "What is 1 + 1?", "kept = True", "The end."):
        assert kept in stripped, f"{kept!r} was removed"


def test_strip_solutions_refuses_an_unclosed_block():
    with pytest.raises(ValueError, match="unclosed"):
        strip_solutions("```{solution} ex\nnever closed\n")


@pytest.mark.parametrize("chapter", sorted((REPO / "chapters").glob("*.md")), ids=lambda p: p.name)
def test_every_chapter_keeps_its_exercises_and_loses_its_solutions(chapter):
    text = chapter.read_text()
    stripped = strip_solutions(text)
    assert "{solution" not in stripped
    assert len(re.findall(r"\{exercise\}", stripped)) == len(re.findall(r"\{exercise\}", text))
    # What is left is still a notebook jupytext can read.
    import jupytext

    notebook = jupytext.reads(stripped, fmt="md:myst")
    assert notebook.cells


@pytest.mark.slow
def test_make_student_builds_a_site_without_solutions():
    result = subprocess.run(
        [sys.executable, str(REPO / "book" / "student_edition.py")],
        cwd=REPO, env=book_build_env(), capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    html = REPO / "student" / "book" / "_build" / "html"
    pages = list((html / "chapters").glob("*.html"))
    assert pages, "the student site has no chapters"
    for page in pages:
        content = page.read_text(encoding="utf-8")
        assert 'class="solution' not in content and "Solution to" not in content, page
        assert "exercise" in content, f"{page.name} lost its exercises"
    notebooks = list((REPO / "student" / "notebooks").glob("*.ipynb"))
    assert len(notebooks) == len(list((REPO / "chapters").glob("*.md")))
    for notebook in notebooks:
        assert "{solution" not in notebook.read_text()
