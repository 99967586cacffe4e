"""The student edition: every solution removed, every exercise kept, the site still builds."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import pytest

from vae_lib._solutions import find_leaks, solution_fragments

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


def test_the_leak_search_sees_solution_text_through_markup_and_json(tmp_path):
    chapter = (
        "Divide the joint by the evidence.\n"
        "```{solution} ex-1\n"
        "The answer is the joint divided by the evidence, as always.\n"
        "Divide the joint by the evidence.\n"
        "```python\nmy_answer = joint[\"clogged\"] / evidence  # the posterior\nx = 1\n```\n"
        "```\n")
    fragments = solution_fragments(chapter)
    # Short lines, and lines also found outside the solution, would match by chance: left out;
    # the answer line counts with and without its comment.
    assert fragments == {"the answer is the joint divided by the evidence as always",
                         "my answer joint clogged evidence the posterior", "my answer joint clogged evidence"}
    (tmp_path / "page.html").write_text(
        '<div class="highlight"><pre><span class="n">my_answer</span> <span class="o">=</span> '
        '<span class="n">joint</span>[<span class="s2">&quot;clogged&quot;</span>] / evidence '
        '<span class="c1"># the posterior</span></pre></div>')
    (tmp_path / "notebook.ipynb").write_text(json.dumps({"cells": [{"source": [
        "The answer is the joint\n", "divided by the evidence, as always."]}]}))
    (tmp_path / "clean.html").write_text("<p>Divide the joint by the evidence.</p>")
    leaks = find_leaks(fragments, tmp_path)
    assert sorted({Path(leak.split(": ")[0]).name for leak in leaks}) == ["notebook.ipynb", "page.html"]


def test_the_leak_search_sees_a_short_answer_line(tmp_path):
    """Issue 18.6: the line that gives the answer is often short (``my_answer = best.kl``)."""
    chapter = ("```{exercise} Fit it\n:label: ex-1\nFit it.\n```\n"
               "```{code-cell} ipython3\nmy_answer = None  # replace None with your computation\n"
               "exercises.check_fit(my_answer)\n```\n"
               "````{solution} ex-1\n```python\nbest = fit()\nmy_answer = best.kl\n"
               "my_answer = 128 * 784  # pixels\n```\n````\n")
    fragments = solution_fragments(chapter)
    assert {"my answer best kl", "my answer 128 784"} <= fragments
    assert "best fit" not in fragments, "a short line that computes no answer would match by chance"
    student = tmp_path / "student.ipynb"
    student.write_text(json.dumps({"cells": [{"cell_type": "code", "source": [
        "my_answer = None  # replace None with your computation\n", "exercises.check_fit(my_answer)"]}]}))
    assert find_leaks(fragments, tmp_path) == [], "the blank answer cell is not a leak"
    student.write_text(json.dumps({"cells": [{"cell_type": "code", "source": [
        "my_answer = best.kl\n", "exercises.check_fit(my_answer)"]}]}))
    leaks = find_leaks(fragments, tmp_path)
    assert [leak.split(": ", 1)[1] for leak in leaks] == ["my answer best kl"]
    (tmp_path / "page.html").write_text('<span class="n">my_answer</span> = <span class="mi">128</span> * 784')
    assert len(find_leaks(fragments, tmp_path)) == 2


def test_a_line_another_chapter_shows_is_not_solution_text(tmp_path):
    """Chapter 5's solution and chapter 8's code share a comment: the student edition shows it in chapter 8."""
    (tmp_path / "05.md").write_text("```{solution} ex-5\nThe squared error over two sigma squared, kept.\n"
                                    "The posterior's variance is one over the precision sum.\n```\n")
    (tmp_path / "08.md").write_text("The squared error over two sigma squared, kept.\n")
    assert student_edition.book_fragments(tmp_path) == {"the posterior s variance is one over the precision sum"}


def test_student_config_keeps_the_url_and_makes_the_launch_buttons_open_student_notebooks():
    import yaml

    config = yaml.safe_load(student_edition._student_config(
        'title: "Book"\nrepository:\n  url: "https://github.com/o/r"\n  branch: main\n'
        "launch_buttons:\n  colab_url: https://colab.research.google.com\n"))
    assert config["title"] == "Book (student edition)"
    assert config["repository"]["url"] == "https://github.com/o/r"
    assert config["launch_buttons"] == {"colab_url": "https://colab.research.google.com", "edition": "student"}


def test_the_student_edition_ships_no_instructor_guide_and_no_promise_of_solutions(tmp_path, monkeypatch):
    monkeypatch.setattr(student_edition, "STUDENT", tmp_path / "student")
    student_edition.build(build_site=False)
    student = tmp_path / "student"
    assert not (student / "book" / "instructor_guide.md").exists()
    assert "instructor_guide" not in (student / "book" / "_toc.yml").read_text()
    pages = {path.name: path.read_text(encoding="utf-8") for path in (student / "book").glob("*.md")}
    assert "lecturer-only" in (REPO / "book" / "intro.md").read_text(), "the full book marks its lecturer passages"
    for name, text in pages.items():
        assert "instructor_guide" not in text and "lecturer-only" not in text, name
        assert "folded" not in text, f"{name} promises folded solutions"
    written = [*sorted((student / "chapters").glob("*.md")), *sorted((student / "notebooks").glob("*.ipynb"))]
    assert len(written) == 2 * len(list((REPO / "chapters").glob("*.md")))
    for path in written:
        text = re.sub(r"\s+", " ", path.read_text(encoding="utf-8").replace("\\n", " "))
        assert "Solutions are folded" not in text, path.name
    notebook = json.loads((student / "notebooks" / "01_bayes.ipynb").read_text())
    assert notebook["cells"][0]["id"] == "install-vae-lib", "student notebooks install vae_lib where it is missing"
    assert "<details>" not in json.dumps(notebook)
    assert not (student / "book" / "locales").exists(), "the catalogues translate the solutions too"
    assert find_leaks(student_edition.book_fragments(), student) == []


def test_the_full_chapters_do_promise_folded_solutions():
    """The control: the sentence the student edition removes is there to remove."""
    assert any("Solutions are folded" in re.sub(r"\s+", " ", chapter.read_text())
               for chapter in (REPO / "chapters").glob("*.md"))


@pytest.mark.slow
def test_the_search_finds_the_solutions_in_the_full_books_pages(built_book):
    """The control for the test below: in the book (not the student edition) the solutions are there."""
    leaks = find_leaks(student_edition.book_fragments(), built_book / "_build" / "html" / "chapters")
    assert leaks, "the leak search found no solution text even where the solutions are shown"


@pytest.mark.slow
def test_make_student_builds_a_site_without_solutions(student_site):
    result, html = student_site  # built once per test run (conftest.student_site)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    student = REPO / "student"
    pages = list((html / "chapters").glob("*.html"))
    assert pages, "the student site has no chapters"
    for page in pages:
        content = page.read_text(encoding="utf-8")
        assert 'class="solution' not in content and "Solution to" not in content, page
        assert "exercise" in content, f"{page.name} lost its exercises"
    notebooks = list((student / "notebooks").glob("*.ipynb"))
    assert len(notebooks) == len(list((REPO / "chapters").glob("*.md")))
    # Every file of the edition: pages, page sources, downloads, notebooks, search index, cache.
    assert find_leaks(student_edition.book_fragments(), student) == []
    assert not (html / "book" / "instructor_guide.html").exists(), "the student site has no instructor guide"
    shown = " ".join(page.read_text(encoding="utf-8") for page in pages)
    assert "full chapter" not in shown, "no button of the student site opens the full chapters"
    assert "vae-language-switch" not in shown, "no switch to a Chinese student site that does not exist"


@pytest.fixture(scope="module")
def chinese_student_site(student_site):
    """The Chinese student edition added to the session's English one (`make student LANG=zh_CN`
    builds both; here the English build is reused)."""
    import subprocess
    import sys

    from conftest import book_build_env

    result, html = student_site
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    chinese = subprocess.run([sys.executable, str(REPO / "book" / "student_edition.py"), "--lang", "zh_CN",
                              "--translated-only"], cwd=REPO, env=book_build_env(), capture_output=True, text=True)
    return chinese, html / "zh_CN"


@pytest.mark.slow
def test_make_student_lang_zh_cn_builds_a_chinese_site_and_notebooks_without_solutions(chinese_student_site):
    result, html = chinese_student_site
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "Executing notebook" not in result.stdout + result.stderr, "the Chinese build reuses the English results"
    student = REPO / "student"
    pages = sorted((html / "chapters").glob("*.html"))
    assert len(pages) == len(list((REPO / "chapters").glob("*.md")))
    first = pages[0].read_text(encoding="utf-8")
    assert '<html lang="zh-CN"' in first and "贝叶斯公式" in first and "习题" in first
    for page in pages:
        content = page.read_text(encoding="utf-8")
        assert 'class="solution' not in content and '<p class="admonition-title">解答' not in content, page
        assert "解答折叠在每道题下方" not in content, f"{page.name} promises folded solutions"
    assert not (html / "book" / "instructor_guide.html").exists()
    # No catalogue is shipped (they translate the solutions), and no solution, English or Chinese, is anywhere.
    shipped = [path for path in student.rglob("*") if path.suffix in (".po", ".mo", ".pot")
               and "_static/locales" not in path.as_posix()]  # the theme's own interface words
    assert not shipped, f"catalogues shipped with the student edition: {shipped[:5]}"
    assert student_edition.translated_fragments("zh_CN"), "there are Chinese solutions to search for"
    assert find_leaks(student_edition.book_fragments(), student) == []
    notebooks = sorted((student / "notebooks" / "zh_CN").glob("*.ipynb"))
    assert len(notebooks) == len(pages)
    notebook = json.loads(notebooks[0].read_text(encoding="utf-8"))
    assert 'os.environ["VAE_LIB_LANG"] = "zh_CN"' in "".join(notebook["cells"][1]["source"])
    assert "贝叶斯公式" in "".join("".join(cell["source"]) for cell in notebook["cells"] if cell["cell_type"] == "markdown")


def test_a_chinese_solution_counts_for_the_leak_search():
    """The chapters' solutions as the Chinese catalogue translates them are fragments; a message the
    student edition shows is not."""
    fragments = student_edition.translated_fragments("zh_CN")
    assert len(fragments) > 40
    shown = find_leaks(fragments, REPO / "book" / "locales" / "zh_CN" / "LC_MESSAGES" / "chapters")
    assert shown, "control: the catalogues themselves hold the Chinese solutions"
