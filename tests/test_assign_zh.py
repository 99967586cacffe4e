"""Assignments in Chinese (issue 20.4): statements, titles, hints and the sheet from the chapters'
page catalogues, a student's variant rendered into the Chinese statement, self-checks that answer
in Chinese when the notebook runs, and grading that reads them right whatever the language."""

from __future__ import annotations

import csv
import importlib.util
import json
import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from vae_lib import _exercise_language, _printing, assign, grade, variants
from vae_lib._book_sources import read_book
from vae_lib._notebook_export import META
from vae_lib._solutions import find_leaks, words
from vae_lib.exercises import bayes, latent_variables

REPO = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("student_edition", REPO / "book" / "student_edition.py")
student_edition = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(student_edition)

ALL_LABELS = [exercise.label for chapter in read_book() for exercise in chapter.exercises]
_MATH_OR_CODE = re.compile(r"\$\$.+?\$\$|\$[^$]+\$|`[^`]+`|\{\w+\}`[^`]*`", flags=re.S)


def _english_sentences() -> set[str]:
    """Every sentence of four or more English words of the exercises' statements (math and code left out)."""
    found = set()
    for chapter in read_book():
        for exercise in chapter.exercises:
            prose = _MATH_OR_CODE.sub(" ", exercise.body)
            for sentence in re.split(r"(?<=[.?!:;])\s+", " ".join(prose.split())):
                sentence_words = words(sentence)
                if sum(1 for word in sentence_words.split() if re.fullmatch(r"[a-z]{2,}", word)) >= 4:
                    found.add(sentence_words)
    return found


def _markdown_words(notebook) -> str:
    return " " + words(" ".join(cell.source for cell in notebook.cells if cell.cell_type == "markdown")) + " "


def test_every_exercise_has_a_chinese_statement_and_title():
    for chapter in read_book():
        for exercise in chapter.exercises:
            chinese = _exercise_language.localized_exercise(exercise, "zh_CN", REPO)
            assert chinese.body != exercise.body
            heading = _exercise_language.exercise_heading(exercise, "zh_CN", REPO)
            assert heading.startswith(f"习题 {exercise.number}："), heading
            assert exercise.title not in heading


def test_a_chinese_assignment_has_no_english_statement_sentence_and_no_solution(tmp_path):
    """All 42 exercises in one Chinese assignment: no English sentence of a statement is left in the
    notebook's text or the sheet, and no solution, English or Chinese, is in any file written."""
    assign.write_assignment(assign.select(ALL_LABELS, language="zh_CN"), tmp_path, pdf=False)
    notebook = nbformat.read(tmp_path / "assignment.ipynb", as_version=4)
    text = _markdown_words(notebook)
    sheet = " " + words(re.sub(r"<(svg|mjx-assistive-mml)\b.*?</\1>|<[^>]+>", " ",
                               (tmp_path / "sheet.html").read_text(encoding="utf-8"), flags=re.S)) + " "
    sentences = _english_sentences()
    assert len(sentences) > 100
    left = sorted(sentence for sentence in sentences if f" {sentence} " in text or f" {sentence} " in sheet)
    assert not left, f"English statement text left in the Chinese assignment: {left[:5]}"
    assert " 习 题 " in text
    chinese = student_edition.translated_fragments("zh_CN")
    assert len(chinese) > 40, "the catalogues translate the solutions: there is Chinese to search for"
    assert find_leaks(student_edition.book_fragments(), tmp_path) == []


def test_a_planted_chinese_solution_is_found(tmp_path):
    fragment = sorted(student_edition.translated_fragments("zh_CN"), key=len)[0]
    planted = tmp_path / "assignment.ipynb"
    # As a page would wrap it: the characters of a Chinese solution split across lines.
    characters = fragment.replace(" ", "")
    planted.write_text(json.dumps({"cells": [{"source": characters[:5] + "\n" + characters[5:]}]}), encoding="utf-8")
    assert find_leaks({fragment}, tmp_path)


ALL_VARIANTS = [variant for module in variants.VARIANT_MODULES for variant in module.VARIANTS]


@pytest.mark.parametrize("variant", ALL_VARIANTS, ids=lambda variant: variant.label)
def test_a_variant_s_numbers_are_rendered_into_the_chinese_statement(variant):
    """Every variant of every chapter, for many students: the Chinese statement has the variant's numbers where
    the book's were, the book's numbers that changed are gone, and no English words are added."""
    exercise = assign.select([variant.label]).exercises[0]
    book_chinese = _exercise_language.localized_exercise(exercise, "zh_CN", REPO).body
    statements = set()
    for number in range(12):
        key = variants.key_for(variants.Student(f"s{number:03d}"), variant.label)
        chinese = _exercise_language.localized_exercise(exercise, "zh_CN", REPO, variant=variant, key=key).body
        statements.add(chinese)
        english = variant.render(exercise.body, key)
        for book_fragment, variant_fragment in variant.text(variant.data(key)):
            new_numbers = re.findall(r"\d+(?:\.\d+)?", variant_fragment)
            for value in new_numbers:
                assert value in chinese, f"{variant.label}: {value} of {variant_fragment!r} not in {chinese!r}"
            prose = words(_MATH_OR_CODE.sub(" ", variant_fragment))
            latin = " ".join(word for word in prose.split() if re.fullmatch(r"[a-z]{4,}", word))
            if latin:  # words the variant adds: they come in Chinese
                assert not any(f" {word} " in f" {words(_MATH_OR_CODE.sub(' ', chinese))} " for word in latin.split()
                               if word not in ("clogged", "water", "noise", "prior")), (variant.label, chinese)
        assert chinese != book_chinese and english != exercise.body
    assert len(statements) >= 6, "the students' Chinese statements differ"


@pytest.mark.parametrize("variant", ALL_VARIANTS, ids=lambda variant: variant.label)
def test_every_variant_renders_into_chinese_for_many_students(variant):
    """Each replacement of a paragraph is rendered against the book's translation: a number that an
    earlier replacement wrote (a student's prior of 0.4) is never taken for a book's number."""
    exercise = assign.select([variant.label]).exercises[0]
    for number in range(30):
        key = variants.key_for(variants.Student(f"t{number:03d}"), variant.label)
        chinese = _exercise_language.localized_exercise(exercise, "zh_CN", REPO, variant=variant, key=key).body
        assert chr(_exercise_language._TOKEN) not in chinese


def test_a_replacement_never_takes_the_number_an_earlier_one_wrote():
    pending: list[str] = []
    english, chinese = "Priors 0.5 and 0.3, rain 0.4.", "先验 0.5 和 0.3，下雨 0.4。"
    chinese = _exercise_language.render_fragment("Priors 0.5 and 0.3", "Priors 0.4 and 0.6", english, chinese,
                                                 "zh_CN", where="test", pending=pending)
    chinese = _exercise_language.render_fragment("rain 0.4", "rain 0.9", english, chinese, "zh_CN", where="test",
                                                 pending=pending)
    assert _exercise_language.settle(chinese, pending) == "先验 0.4 和 0.6，下雨 0.9。"


def test_a_number_with_two_places_in_the_translation_is_refused():
    with pytest.raises(_exercise_language.UntranslatedError, match="cannot tell"):
        _exercise_language.render_fragment("in 12 rolls", "in 15 rolls", "A die: 12 sides, in 12 rolls.",
                                           "骰子有 12 面，掷 12 次。", "zh_CN", where="test")


def test_numbers_that_part_ways_go_through_the_catalogue_s_words_or_are_refused():
    """A 2 that stays and a 2 that changes cannot be told apart by number: the catalogue's words say
    it when they are there (chapter 2's season), and without them the number route's error stands."""
    english = "Add a season, where the season takes 4 values, the weather 3, rain 2 and umbrella 2. How many?"
    chinese = "加入季节，其中季节有 4 个取值，天气 3 个，下雨 2 个，雨伞 2 个。有多少个？"
    assert _exercise_language.render_fragment(
        "takes 4 values, the weather 3, rain 2 and umbrella 2.",
        "takes 6 values, the weather 2, rain 2 and umbrella 3.",
        english, chinese, "zh_CN", where="test") == "加入季节，其中季节有 6 个取值，天气 2 个，下雨 2 个，雨伞 3 个。有多少个？"
    with pytest.raises(_exercise_language.UntranslatedError, match="becomes two different numbers"):
        _exercise_language.render_fragment("rain 2 and umbrella 2", "rain 2 and umbrella 3",
                                           "So rain 2 and umbrella 2.", "下雨 2 个，雨伞 2 个。", "zh_CN", where="test")


def test_a_sign_in_math_is_part_of_the_number():
    """A student's negative draw replaces the book's formula as a whole (no catalogue message needed)."""
    assert _exercise_language.render_fragment(
        "$q = \\N(0.8,\\ 0.5^2)$ produced the draw $z = 1$", "$q = \\N(0.8,\\ 0.8^2)$ produced the draw $z = -0.4$",
        "A proposal $q = \\N(0.8,\\ 0.5^2)$ produced the draw $z = 1$.", "提议分布 $q = \\N(0.8,\\ 0.5^2)$ 抽出了样本 $z = 1$。",
        "zh_CN", where="test") == "提议分布 $q = \\N(0.8,\\ 0.8^2)$ 抽出了样本 $z = -0.4$。"


def test_the_chinese_sheet_is_chinese():
    exercise, chapter = assign.select(["ex-bayes-grid"]).exercises[0], read_book()[0]
    chinese = _exercise_language.localized_exercise(exercise, "zh_CN", REPO)
    page = assign._assignment_sheet.sheet_html("作业", [(chinese, chapter)], assign.book_links(REPO),
                                               mathjax_src="mathjax.js", language="zh_CN", repo=REPO)
    assert '<html lang="zh-CN">' in page
    assert "习题 1.4：" in page and "第 1 章：" in page and "笔记本中的自我检查" in page
    for english in ("Self-check in the notebook", "exercises from the book", "Chapter 1", "Exercise 1.4", "label"):
        assert english not in re.sub(r"<code>.*?</code>|id=\"[^\"]*\"", "", page), english


def _run(notebook, tmp_path, monkeypatch):
    # The kernel starts with English as the lecturer's shell would have it: the notebook's own cell
    # must switch its checks to Chinese.
    monkeypatch.setenv("VAE_LIB_LANG", "en")
    NotebookClient(notebook, timeout=180, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    return {cell.metadata[META]["exercise"]: "".join(output.get("text", "") for output in cell.outputs)
            for cell in notebook.cells if cell.metadata.get(META, {}).get("role") == "self-check"}


def test_the_checks_of_a_chinese_assignment_answer_in_chinese(tmp_path, monkeypatch):
    notebook = assign.assignment_notebook(assign.localized(assign.select(["ex-bayes-silence"], language="zh_CN")),
                                          requirement="")
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code[1].metadata[META]["role"] == "language" and "VAE_LIB_LANG" in code[1].source
    for cell in notebook.cells:
        if cell.metadata.get(META, {}).get("role") == "self-check":
            cell.source = cell.source.replace("my_answer = None", 'my_answer = prior["clogged"]')
    outputs = _run(notebook, tmp_path, monkeypatch)
    said = outputs["ex-bayes-silence"]
    assert "✗" in said and re.search(r"[\u4e00-\u9fff]", said) and "Not quite" not in said, said


def test_a_chinese_submission_is_graded_in_english_whatever_the_shell_speaks(tmp_path, monkeypatch, capsys):
    """One student, one exercise with variants, a Chinese roster assignment: a known mistake is named
    in the (English) gradebook with the lecturer's shell in Chinese, and the Chinese written-answer
    placeholder counts as no written answer."""
    roster = tmp_path / "roster.csv"
    roster.write_text("id,name\ns01,张三\n", encoding="utf-8")
    out = tmp_path / "hw1"
    assert assign.main(["--exercises", "ex-bayes-silence", "--roster", str(roster), "--out", str(out),
                        "--lang", "zh_CN", "--no-pdf"]) == 0
    notebook = nbformat.read(out / "s01" / "assignment.ipynb", as_version=4)
    cells = {cell.get("id"): cell for cell in notebook.cells}
    assert cells["student"].source.startswith("**学生：** 张三 (s01)")
    assert cells["ex-bayes-silence-written"].source == _exercise_language.written_placeholder("zh_CN") != \
        variants.WRITTEN_PLACEHOLDER
    assert cells["ex-bayes-silence-data"].source.startswith("# 你这道习题的数据")
    data = variants.variant_of("ex-bayes-silence").data(variants.key_for(variants.Student("s01"), "ex-bayes-silence"))
    assert str(data["prior"]["clogged"]) in cells["ex-bayes-silence"].source
    assert "Compute it from" not in cells["ex-bayes-silence"].source and "你的机器的先验" in cells["ex-bayes-silence"].source
    check = cells["ex-bayes-silence-check"]
    check.source = check.source.replace("my_answer = None", 'my_answer = prior["clogged"]')  # the prior: a known mistake
    submissions = tmp_path / "submissions"
    submissions.mkdir()
    nbformat.write(notebook, submissions / "s01.ipynb")
    monkeypatch.setenv("VAE_LIB_LANG", "zh_CN")
    assert grade.main([str(submissions), "--roster", str(roster), "--assignment", str(out),
                       "--out", str(tmp_path / "grades"), "--timeout", "120"]) == 0
    with (tmp_path / "grades" / "gradebook.csv").open(encoding="utf-8") as stream:
        [row] = list(csv.DictReader(stream))
    assert row["verdict"] == "wrong" and row["points"] == "0"
    assert "prior" in row["mistake"] and not re.search(r"[\u4e00-\u9fff]", row["mistake"]), row
    feedback = (tmp_path / "grades" / "feedback" / "s01.html").read_text(encoding="utf-8")
    assert _exercise_language.written_placeholder("zh_CN") not in feedback


def test_the_command_line_takes_lang_and_refuses_another(tmp_path, capsys):
    assert assign.main(["--exercises", "ex-bayes-grid", "--out", str(tmp_path / "hw"), "--lang", "zh_CN",
                        "--no-pdf"]) == 0
    notebook = nbformat.read(tmp_path / "hw" / "assignment.ipynb", as_version=4)
    assert notebook.cells[1].source.startswith("# 作业")
    with pytest.raises(SystemExit):
        assign.main(["--exercises", "ex-bayes-grid", "--out", str(tmp_path / "x"), "--lang", "fr"])


@pytest.mark.skipif(_printing.find_chromium() is None, reason="No Chromium: the PDF sheet is printed by headless "
                    "Chromium (apt-get install chromium).")
def test_a_chinese_pdf_sheet_has_its_chinese_text(tmp_path):
    pypdf = pytest.importorskip("pypdf", reason="pypdf (the dev extra) reads the PDF sheet back")
    assign.write_assignment(assign.select(["ex-bayes-silence"], language="zh_CN"), tmp_path)
    text = "".join("".join((page.extract_text() or "").split()) for page in pypdf.PdfReader(tmp_path / "sheet.pdf").pages)
    assert "作业" in text and "习题1.1：安静的故障" in text and "Assignment" not in text
