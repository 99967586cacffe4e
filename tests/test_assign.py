"""Assignments: the chosen exercises run in one notebook, their checks pass with the solutions
filled in, say "not answered yet" when left blank, and nothing of a solution is copied."""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from conftest import MYST_FRONT_MATTER, ORIGINAL_ENV
from vae_lib import _printing, assign
from vae_lib._book_sources import read_book
from vae_lib._solutions import find_leaks, solution_fragments

REPO = Path(__file__).resolve().parents[1]

# ----------------------------------------------------------------------------- which cells


@pytest.mark.parametrize("source, defined, needed", [
    ("p_silence = {h: 1 - p for h, p in p_noise.items()}", {"p_silence"}, {"p_noise"}),
    ("def f(t):\n    return t * scale\ny = f(2)", {"f", "y"}, {"scale"}),
    ("x = x + 1", {"x"}, {"x"}),
    ("for d in range(3):\n    total += d", {"d", "total"}, {"total"}),
    ("%matplotlib inline\nimport numpy as np\nfrom scipy import stats", {"np", "stats"}, set()),
    ("table['a'] = len(rows)", set(), {"table", "rows"}),
])
def test_cell_names_finds_what_a_cell_defines_and_needs(source, defined, needed):
    assert assign.cell_names(source) == (defined, needed)


CHAPTER = MYST_FRONT_MATTER + """\

(chap-{name})=
# Chapter {name}

```{{code-cell}} ipython3
%matplotlib inline
from vae_lib.checks import Check
```

```{{code-cell}} ipython3
base = {base}
unrelated = "a cell no exercise needs"
```

```{{code-cell}} ipython3
scale = 2 * base
check_{name} = Check("{name}", expected=scale * 10, kind="number")
```

```{{code-cell}} ipython3
base = -1  # the chapter moves on; the exercise below must not see this
```

```{{code-cell}} ipython3
base = {base}
```

```{{exercise}} Ten times the scale (★, 5 min)
:label: ex-{name}-ten

Multiply `scale` by ten.
```

```{{code-cell}} ipython3
my_answer = None  # replace None with your computation
check_{name}(my_answer)
```

````{{solution}} ex-{name}-ten
:class: dropdown

The secret of chapter {name} is multiplying the scale by exactly ten.

```python
my_answer = scale * 10
check_{name}(my_answer)
```
````
"""


@pytest.fixture
def small_book(tmp_path):
    """A book of three tiny chapters that define the same names differently."""
    (tmp_path / "book").mkdir()
    (tmp_path / "chapters").mkdir()
    (tmp_path / "book" / "_config.yml").write_text((REPO / "book" / "_config.yml").read_text())
    toc = {"format": "jb-book", "root": "book/intro",
           "parts": [{"caption": "Part", "numbered": True,
                      "chapters": [{"file": f"chapters/0{i}_{name}"} for i, name in enumerate("abc", 1)]}]}
    (tmp_path / "book" / "_toc.yml").write_text(json.dumps(toc))
    for i, (name, base) in enumerate([("a", 2), ("b", 5), ("c", 7)], start=1):
        (tmp_path / "chapters" / f"0{i}_{name}.md").write_text(CHAPTER.format(name=name, base=base))
    return tmp_path


def test_context_is_the_imports_and_the_cells_the_exercise_needs(small_book):
    chapter = read_book(small_book)[0]
    cells = assign.context_cells(chapter, list(chapter.exercises))
    sources = [chapter.cells[index].source for index in cells]
    # The imports, the cell defining `base` that `scale` uses, and the one defining `scale` and the
    # check; not the later reassignments of `base`, and never a self-check cell.
    assert [source.splitlines()[0] for source in sources] == ["%matplotlib inline", "base = 2", "scale = 2 * base"]


# ----------------------------------------------------------------------------- running notebooks


def _real_cache_env(monkeypatch) -> None:
    """Kernels see the user's model cache and data (as a book build does), not the test's temporary one."""
    for name in ("VAE_LIB_CACHE", "VAE_LIB_OFFLINE", "VAE_LIB_DATA"):
        if name in ORIGINAL_ENV:
            monkeypatch.setenv(name, ORIGINAL_ENV[name])
        else:
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("VAE_LIB_PROGRESS", "lines")


def _execute(notebook: nbformat.NotebookNode, folder: Path) -> nbformat.NotebookNode:
    NotebookClient(notebook, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(folder)}}).execute()
    return notebook


# Put before the exercises of a filled-in notebook: makes a typical wrong answer from a right one.
_WRONG_ANSWER = textwrap.dedent('''
    import json as _vae_json
    import numpy as _vae_np

    def _vae_wrong(answer):
        """The right answer off by a clear margin (a probability stays in [0, 1])."""
        if callable(answer):
            return lambda *args, **kwargs: _vae_wrong(answer(*args, **kwargs))
        if isinstance(answer, (int, _vae_np.integer)) and not isinstance(answer, bool):
            return answer + 1
        if hasattr(answer, "detach"):
            return answer * 0.5 + 0.137
        wrong = _vae_np.asarray(answer, dtype=float) * 0.5 + 0.137
        return float(wrong) if wrong.ndim == 0 else wrong
''')


def _probe(check_function: str) -> str:
    """Code run after a solution: the check's verdicts on the right, a wrong and no answer."""
    return textwrap.dedent(f'''
        _vae_results = {{"right": {check_function}(my_answer), "wrong": {check_function}(_vae_wrong(my_answer)),
                         "blank": {check_function}(None)}}
        _vae_value = my_answer
        print("VAE-VERDICT " + _vae_json.dumps({{
            "verdicts": {{name: result.correct for name, result in _vae_results.items()}},
            "messages": {{name: result.message for name, result in _vae_results.items()}},
            "value": float(_vae_value) if isinstance(_vae_value, (int, float)) else None}}))
    ''')


def fill_in_solutions(notebook: nbformat.NotebookNode, assignment: assign.Assignment) -> nbformat.NotebookNode:
    """The notebook with each self-check cell replaced by its exercise's solution, then the probes."""
    by_label = {exercise.label: exercise for exercise in assignment.exercises}
    filled = nbformat.from_dict(json.loads(json.dumps(notebook)))
    filled.cells.insert(1, nbformat.v4.new_code_cell(_WRONG_ANSWER, id="wrong-answers"))
    for cell in filled.cells:
        role = cell.metadata.get(assign.META, {})
        if role.get("role") != "self-check":
            continue
        exercise = by_label[role["exercise"]]
        assert exercise.solution_code, f"{exercise.label}: its solution has no code to fill in"
        assert "my_answer" in exercise.solution_code, f"{exercise.label}: the solution must set my_answer"
        cell.source = exercise.solution_code + "\n" + _probe(exercise.check_function)
    return filled


def _check_outputs(notebook: nbformat.NotebookNode) -> dict[str, str]:
    """The printed output of each self-check cell, by exercise label."""
    outputs = {}
    for cell in notebook.cells:
        role = cell.metadata.get(assign.META, {})
        if role.get("role") == "self-check":
            outputs[role["exercise"]] = "".join(output.get("text", "") for output in cell.outputs)
    return outputs


def _assert_every_check_passes_and_rejects(filled: nbformat.NotebookNode) -> None:
    outputs = _check_outputs(filled)
    assert outputs, "the notebook has no self-check cell"
    for label, text in outputs.items():
        verdict = json.loads(re.search(r"^VAE-VERDICT (.*)$", text, flags=re.M).group(1))
        assert verdict["verdicts"] == {"right": True, "wrong": False, "blank": None}, (label, verdict)
        value = verdict["value"]
        if isinstance(value, float) and not value.is_integer():
            for name in ("wrong", "blank"):
                assert f"{value:.3g}" not in verdict["messages"][name], f"{label}: the check revealed the answer"


def test_an_assignment_from_three_chapters_runs_blank_and_filled(small_book, tmp_path):
    """The chapters define the same names differently: each chapter's block brings its own setup."""
    assignment = assign.select(["ex-c-ten", "ex-a-ten", "ex-b-ten"], repo=small_book)
    notebook = assign.assignment_notebook(assignment)
    assert [cell.source.splitlines()[0] for cell in notebook.cells if cell.source.startswith("## Setup")] == [
        "## Setup from Chapter 3: Chapter c", "## Setup from Chapter 1: Chapter a", "## Setup from Chapter 2: Chapter b"]
    assert "secret of chapter" not in json.dumps(notebook), "no solution text is copied"
    blank = _execute(assign.assignment_notebook(assignment), tmp_path)
    assert all("Not answered yet" in text for text in _check_outputs(blank).values())
    filled = _execute(fill_in_solutions(assign.assignment_notebook(assignment), assignment), tmp_path)
    _assert_every_check_passes_and_rejects(filled)


# ----------------------------------------------------------------------------- the real book


def _cheapest_exercises(chapters: int) -> list[str]:
    """From each of the first ``chapters`` chapters with self-checks, the exercise needing the fewest setup cells."""
    picked = []
    for chapter in read_book():
        checked = [exercise for exercise in chapter.exercises if exercise.check_source]
        if checked:
            picked.append(min(checked, key=lambda e: len(assign.context_cells(chapter, [e]))).label)
    return picked[:chapters]


@pytest.mark.slow
def test_a_book_assignment_from_three_chapters_passes_filled_and_waits_blank(tmp_path, monkeypatch):
    labels = _cheapest_exercises(3)
    with_checks = sum(1 for chapter in read_book() if any(e.check_source for e in chapter.exercises))
    assert len(labels) == min(3, with_checks)
    _real_cache_env(monkeypatch)
    assignment = assign.select(labels)
    blank = _execute(assign.assignment_notebook(assignment), tmp_path)
    outputs = _check_outputs(blank)
    assert set(outputs) == set(labels)
    for label, text in outputs.items():
        assert "Not answered yet" in text, f"{label}: a blank answer must say 'not answered yet', said {text!r}"
    filled = _execute(fill_in_solutions(assign.assignment_notebook(assignment), assignment), tmp_path)
    _assert_every_check_passes_and_rejects(filled)


@pytest.mark.slow
def test_every_self_check_of_the_book_accepts_its_solution_and_rejects_a_wrong_answer(tmp_path, monkeypatch):
    labels = [exercise.label for chapter in read_book() for exercise in chapter.exercises if exercise.check_source]
    _real_cache_env(monkeypatch)
    assignment = assign.select(labels)
    filled = _execute(fill_in_solutions(assign.assignment_notebook(assignment), assignment), tmp_path)
    _assert_every_check_passes_and_rejects(filled)


# ----------------------------------------------------------------------------- output and command line


def test_the_assignment_files_hold_no_solution(tmp_path):
    printing = _printing.find_chromium() is not None
    if printing:
        pytest.importorskip("pypdf", reason="pypdf (the dev extra) reads the PDF sheet back")
    labels = [exercise.label for chapter in read_book() for exercise in chapter.exercises]
    assign.write_assignment(assign.select(labels), tmp_path, pdf=printing)
    fragments = {fragment for chapter in sorted((REPO / "chapters").glob("*.md"))
                 for fragment in solution_fragments(chapter.read_text())}
    assert fragments, "the chapters have solutions, so there is something to search for"
    written = sorted(path.name for path in tmp_path.iterdir())
    assert {"assignment.ipynb", "sheet.html"} <= set(written)
    if printing:
        assert "sheet.pdf" in written
    assert find_leaks(fragments, tmp_path) == []


def test_the_sheet_has_every_exercise_with_math_typeset(tmp_path):
    if _printing.find_chromium() is None:
        pytest.skip("No Chromium: the sheet's math is typeset by headless Chromium (apt-get install chromium).")
    chapter = read_book()[0]
    labels = [exercise.label for exercise in chapter.exercises]
    assign.write_assignment(assign.select(labels, title="Homework 1"), tmp_path, pdf=False)
    sheet = (tmp_path / "sheet.html").read_text(encoding="utf-8")
    assert "<script" not in sheet, "the saved sheet needs no script"
    assert "<mjx-container" in sheet and "$" not in re.sub(r"<[^>]+>", "", sheet), "math is typeset"
    for exercise in chapter.exercises:
        assert f'id="{exercise.label}"' in sheet and f"Exercise {exercise.number}:" in sheet


def test_the_command_line_writes_an_assignment_and_names_unknown_labels(tmp_path, capsys):
    label = read_book()[0].exercises[0].label
    assert assign.main(["--exercises", label, "--out", str(tmp_path / "hw"), "--no-pdf"]) == 0
    assert (tmp_path / "hw" / "assignment.ipynb").is_file()
    assert assign.main(["--exercises", f"{label},ex-nowhere", "--out", str(tmp_path / "x")]) == 2
    assert "ex-nowhere" in capsys.readouterr().err
    assert not (tmp_path / "x").exists(), "nothing is written for a bad choice"
    assert assign.main(["--list"]) == 0
    assert label in capsys.readouterr().out


@pytest.mark.parametrize("labels, message", [([], "No exercises"), (["ex-bayes-grid"] * 2, "listed twice")])
def test_a_bad_choice_is_refused_clearly(labels, message):
    with pytest.raises(ValueError, match=message):
        assign.select(labels)


# ----------------------------------------------------------------------------- issue 17 / 21 (9-10)


def test_setup_cells_follow_the_code_not_the_words_of_the_statement(small_book):
    """A name in the statement's inline code (`trained`) pulls in no cell; the check and solution do."""
    path = small_book / "chapters" / "01_a.md"
    text = path.read_text().replace("```{exercise}", '```{code-cell} ipython3\ntrained = "two expensive models"\n```\n\n'
                                    "```{exercise}", 1).replace("Multiply `scale` by ten.",
                                                                "Multiply `scale` by ten (not `trained`).")
    path.write_text(text)
    chapter = read_book(small_book)[0]
    sources = [chapter.cells[index].source for index in assign.context_cells(chapter, list(chapter.exercises))]
    assert "trained" in chapter.exercises[0].body
    assert not any("trained" in source for source in sources)
    assert any(source.startswith("scale = ") for source in sources)


def test_an_answer_of_128_times_784_needs_no_training_cell():
    """Chapter 8's statement names the models it trains; its answer is arithmetic: imports only."""
    chapter = next(chapter for chapter in read_book() if chapter.docname == "chapters/08_amortized_inference")
    exercise = next(exercise for exercise in chapter.exercises if exercise.label == "ex-amortized-reduction")
    first_code = min(index for index, cell in enumerate(chapter.cells) if cell.cell_type == "code")
    assert assign.context_cells(chapter, [exercise]) == [first_code]


def test_each_check_cell_imports_its_own_chapters_checks():
    assignment = assign.select(["ex-bayes-silence", read_book()[1].exercises[0].label])
    notebook = assign.assignment_notebook(assignment, requirement="")
    checks = [cell.source for cell in notebook.cells if cell.metadata.get(assign.META, {}).get("role") == "self-check"]
    assert checks[0].startswith("from vae_lib.exercises import bayes as exercises")
    assert checks[1].startswith("from vae_lib.exercises import latent_variables as exercises")


@pytest.mark.slow
def test_an_earlier_check_runs_again_after_a_later_chapters_setup(tmp_path, monkeypatch):
    """Exercise 1.1's check, run again after chapter 2's setup (which binds `exercises` to its own
    checks), still runs chapter 1's check (it raised AttributeError before)."""
    _real_cache_env(monkeypatch)
    later = min((exercise for exercise in read_book()[1].exercises if exercise.check_source),
                key=lambda e: len(assign.context_cells(read_book()[1], [e])))
    notebook = assign.assignment_notebook(assign.select(["ex-bayes-silence", later.label]), requirement="")
    client = NotebookClient(notebook, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}})
    with client.setup_kernel():
        for index, cell in enumerate(notebook.cells):
            client.execute_cell(cell, index)
        first_check = next(index for index, cell in enumerate(notebook.cells)
                           if cell.metadata.get(assign.META, {}).get("exercise") == "ex-bayes-silence"
                           and cell.cell_type == "code")
        cell = client.execute_cell(notebook.cells[first_check], first_check)
    text = "".join(output.get("text", "") for output in cell.outputs)
    assert "Not answered yet" in text and "Error" not in text, text


def _run_cli(arguments: list[str], capsys) -> tuple[int, str]:
    code = assign.main(arguments)
    return code, capsys.readouterr().err


@pytest.mark.parametrize("case", ["a file", "under a file", "not writable"])
def test_an_unusable_out_gets_one_line_and_no_traceback(case, tmp_path, capsys):
    label = read_book()[0].exercises[0].label
    (tmp_path / "file.txt").write_text("the lecturer's notes")
    out = {"a file": tmp_path / "file.txt", "under a file": tmp_path / "file.txt" / "hw",
           "not writable": Path("/proc/vae-book-no-such-folder/hw")}[case]
    code, err = _run_cli(["--exercises", label, "--out", str(out), "--no-pdf"], capsys)
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err and "--out" in err, err
    assert (tmp_path / "file.txt").read_text() == "the lecturer's notes"


def test_a_folder_with_files_is_never_overwritten_silently(tmp_path, capsys):
    label = read_book()[0].exercises[0].label
    out = tmp_path / "hw1"
    assert assign.main(["--exercises", label, "--out", str(out), "--no-pdf"]) == 0
    edited = out / "assignment.ipynb"
    edited.write_text("the lecturer's edited assignment")
    (out / "sheet.pdf").write_text("an old printed sheet")
    (out / "marking-notes.md").write_text("keep me")
    code, err = _run_cli(["--exercises", label, "--out", str(out), "--no-pdf"], capsys)
    assert code == 2 and "--force" in err and len(err.strip().splitlines()) == 1
    assert edited.read_text() == "the lecturer's edited assignment", "nothing was overwritten"
    # --force replaces the assignment's own files, leaves no stale sheet.pdf, and keeps the rest.
    assert assign.main(["--exercises", label, "--out", str(out), "--no-pdf", "--force"]) == 0
    assert json.loads(edited.read_text())["cells"], "a fresh notebook"
    assert not (out / "sheet.pdf").exists(), "no stale sheet.pdf survives a rebuild"
    assert (out / "marking-notes.md").read_text() == "keep me"
    assert sorted(path.name for path in out.iterdir()) == ["assignment.ipynb", "marking-notes.md", "sheet.html"]


def test_an_empty_existing_folder_is_used_as_it_is(tmp_path):
    label = read_book()[0].exercises[0].label
    (tmp_path / "hw").mkdir()
    assert assign.main(["--exercises", label, "--out", str(tmp_path / "hw"), "--no-pdf"]) == 0


def test_the_assignment_notebook_starts_with_the_install_cell_and_has_portable_text():
    assignment = assign.select([exercise.label for exercise in read_book()[5].exercises])
    notebook = assign.assignment_notebook(assignment, requirement="vae_lib @ https://example.org/vae_lib-0.1.0.tar.gz")
    assert notebook.cells[0].id == "install-vae-lib"
    assert "https://example.org/vae_lib-0.1.0.tar.gz" in notebook.cells[0].source
    text = "\n".join(cell.source for cell in notebook.cells if cell.cell_type == "markdown")
    assert "{term}" not in text and "{ref}" not in text and "\\KL" not in text and "\\mathrm{KL}" in text


def test_a_roster_without_no_pdf_writes_one_pdf_sheet_per_student(tmp_path):
    """Issue 18: `assign --roster` prints each student's sheet, with the student's own numbers."""
    if _printing.find_chromium() is None:
        pytest.skip("No Chromium: the PDF sheets are printed by headless Chromium (apt-get install chromium).")
    pypdf = pytest.importorskip("pypdf", reason="pypdf (the dev extra) reads the PDF sheets back")
    from vae_lib import variants

    roster = tmp_path / "roster.csv"
    roster.write_text("id,name\ns01,Ada Lovelace\ns02,Alan Turing\n", encoding="utf-8")
    out = tmp_path / "hw1"
    assert assign.main(["--exercises", "ex-bayes-loaded-die", "--roster", str(roster), "--out", str(out)]) == 0
    texts = {}
    for student in variants.read_roster(roster):
        sheet = out / student.id / "sheet.pdf"
        assert sheet.is_file() and sheet.read_bytes().startswith(b"%PDF")
        text = " ".join(" ".join((page.extract_text() or "").split()) for page in pypdf.PdfReader(sheet).pages)
        die = variants.variant_of("ex-bayes-loaded-die").data(variants.key_for(student, "ex-bayes-loaded-die"))
        assert student.name in text
        assert f"shows {die['sixes']} sixes in {die['rolls']} rolls" in text, text
        texts[student.id] = text
    assert texts["s01"] != texts["s02"]
    assert not list(out.rglob("sheet.source.html")), "the intermediate page is removed"
