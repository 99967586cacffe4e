"""The exercise index and the instructor guide's chapter table speak the edition's language.

Unit-level: the functions of ``book/_ext/exercise_pages.py`` that make the tables, on the real
chapters, in English (exactly as before the Chinese edition) and in Chinese (the interface text
from vae_lib's catalogue, the titles from the chapters' catalogues).
"""

from __future__ import annotations

import dataclasses
import re
import sys
from pathlib import Path

import pytest
from docutils import nodes

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "book" / "_ext"))

import exercise_pages  # noqa: E402

from vae_lib._book_sources import read_book  # noqa: E402

_CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture(scope="module")
def chapters():
    return read_book(REPO)


def _texts(found: list[nodes.Node]) -> list[str]:
    """Every paragraph's text, in order (sentences, headings, tables' header and body cells)."""
    return [paragraph.astext() for node in found for paragraph in
            ([node] if isinstance(node, nodes.paragraph) else node.findall(nodes.paragraph))]


def _headers(found: list[nodes.Node]) -> list[list[str]]:
    return [[entry.astext() for entry in head.findall(nodes.entry)]
            for node in found if isinstance(node, nodes.table) for head in node.findall(nodes.thead)]


def _fake_times(monkeypatch, runtimes: dict[str, float]) -> None:
    monkeypatch.setattr(exercise_pages.NbMetadataCollector, "get_exec_data",
                        staticmethod(lambda env, docname: {"runtime": runtimes[docname]} if docname in runtimes else None))
    monkeypatch.setattr(exercise_pages.torch.cuda, "is_available", lambda: False)


def test_the_english_index_is_as_before(chapters):
    found = exercise_pages.exercise_index("exercises", chapters)
    texts = _texts(found)
    exercises = [exercise for chapter in chapters for exercise in chapter.exercises]
    with_exercises = [chapter for chapter in chapters if chapter.exercises]
    minutes = sum(exercise.minutes or 0 for exercise in exercises)
    assert all(exercise.minutes for exercise in exercises)  # else the sentence has a second part
    assert texts[0] == f"{len(exercises)} exercises in {len(with_exercises)} chapters, about {minutes} minutes of work."
    assert set(map(tuple, _headers(found))) == {("Exercise", "Title", "Difficulty", "Time", "Self-check", "Label")}
    first = chapters[0]
    assert f"Chapter {first.number}: {first.title}" in texts
    row = texts.index(first.exercises[0].title)
    assert texts[row - 1] == f"Exercise {first.exercises[0].number}" or texts[row - 1] == first.exercises[0].label
    assert texts[row + 1:row + 5] == [first.exercises[0].stars, f"{first.exercises[0].minutes} min",
                                       "yes" if first.exercises[0].check_source else "—", first.exercises[0].label]
    assert not any(_CJK.search(text) for text in texts)
    assert exercise_pages.exercise_index("exercises", chapters, "en")[0].astext() == texts[0]


def test_the_english_summary_keeps_its_singulars_and_its_missing_estimates(chapters):
    one = dataclasses.replace(chapters[0], exercises=chapters[0].exercises[:1])
    assert exercise_pages._summary([one], "en").astext() == \
        f"1 exercise in 1 chapter, about {one.exercises[0].minutes} minutes of work."
    untimed = dataclasses.replace(chapters[0], exercises=tuple(
        dataclasses.replace(exercise, minutes=None) if index else exercise
        for index, exercise in enumerate(chapters[0].exercises)))
    count = len(untimed.exercises)
    assert exercise_pages._summary([untimed], "en").astext() == (
        f"{count} exercises in 1 chapter, about {untimed.exercises[0].minutes} minutes of work"
        f" ({count - 1} without a time estimate yet).")
    assert exercise_pages._summary([untimed], "zh_CN").astext() == (
        f"共 {count} 道习题，分布在 1 章中，总计约 {untimed.exercises[0].minutes} 分钟"
        f"（其中 {count - 1} 道尚未标注预计用时）。")
    empty = [dataclasses.replace(chapter, exercises=()) for chapter in chapters]
    assert [node.astext() for node in exercise_pages.exercise_index("exercises", empty)] == ["The book has no exercises yet."]
    assert [node.astext() for node in exercise_pages.exercise_index("exercises", empty, "zh_CN")] == ["本书还没有习题。"]


def test_the_chinese_index_speaks_chinese(chapters):
    found = exercise_pages.exercise_index("exercises", chapters, "zh_CN")
    texts = _texts(found)
    exercises = [exercise for chapter in chapters for exercise in chapter.exercises]
    with_exercises = [chapter for chapter in chapters if chapter.exercises]
    minutes = sum(exercise.minutes or 0 for exercise in exercises)
    assert texts[0] == f"共 {len(exercises)} 道习题，分布在 {len(with_exercises)} 章中，总计约 {minutes} 分钟。"
    assert set(map(tuple, _headers(found))) == {("习题", "题目", "难度", "用时", "自测", "标签")}
    # Chapter 1's title and first exercise's title, as chapter 1's own catalogue gives them.
    assert "第 1 章：贝叶斯公式与咖啡机" in texts
    row = texts.index("安静的故障")
    assert texts[row + 1:row + 5] == ["★", "10 分钟", "有", "ex-bayes-silence"]
    english = {text for text in _texts(exercise_pages.exercise_index("exercises", chapters))}
    for chapter in with_exercises:
        # Each title as the chapter's catalogue translates it (English where it does not yet).
        messages = exercise_pages.page_messages(REPO, "zh_CN", chapter.docname)
        title = exercise_pages.chapter_title(chapter, "zh_CN")
        assert title == messages.get(chapter.title, chapter.title)
        assert f"第 {chapter.number} 章：{title}" in texts
        for exercise in chapter.exercises:
            title = exercise_pages.exercise_title(chapter, exercise, "zh_CN")
            line = f"{exercise.title} ({exercise.stars}, {exercise.minutes} min)"
            if messages.get(line):
                assert _CJK.search(title) and "★" not in title and "分钟" not in title, (exercise.title, title)
                assert messages[line].startswith(title), (messages[line], title)
            else:
                assert title == messages.get(exercise.title, exercise.title)
            assert title in texts
    leftover = {"yes", "min", "Chapter", "exercises in"} & {word for text in texts for word in
                                                            re.findall(r"[A-Za-z][A-Za-z -]*[a-z]", text)}
    assert not leftover, leftover
    assert english.isdisjoint({"习题", "题目", "有"})


def test_the_chapter_overview_in_both_languages(chapters, monkeypatch):
    first, second = chapters[0], chapters[1]
    _fake_times(monkeypatch, {first.docname: 12.4})
    unchecked = dataclasses.replace(second, exercises=tuple(
        dataclasses.replace(exercise, check_source=None) for exercise in second.exercises))
    subset = [first, unchecked]

    english = exercise_pages.chapter_overview(None, "instructor_guide", subset)
    texts = _texts(english)
    assert texts[0].startswith("Execution times are those of each chapter's last run") and texts[0].endswith("no GPU).")
    assert _headers(english) == [["Chapter", "Execution time, CPU", "Execution time, GPU", "Exercises"],
                                 ["Exercise", "Title", "Difficulty", "Time", "The self-check verifies"]]
    assert texts[5:9] == [f"Chapter 1: {first.title}", "12 s", "not measured", str(len(first.exercises))]
    assert texts[9:13] == [f"Chapter 2: {second.title}", "not executed", "not measured", str(len(second.exercises))]
    assert "no self-check" in texts
    assert "The exercises, and what each self-check verifies (without revealing the answer):" in texts

    chinese = exercise_pages.chapter_overview(None, "instructor_guide", subset, "zh_CN")
    texts = _texts(chinese)
    assert texts[0].startswith("执行时间取自各章最近一次运行") and "无 GPU）。" in texts[0]
    assert _headers(chinese) == [["章", "执行时间（CPU）", "执行时间（GPU）", "习题数"],
                                 ["习题", "题目", "难度", "用时", "自测检查的内容"]]
    assert texts[5:9] == ["第 1 章：贝叶斯公式与咖啡机", "12 秒", "未测量", str(len(first.exercises))]
    assert texts[9:12] == [f"第 2 章：{exercise_pages.chapter_title(second, 'zh_CN')}", "未执行", "未测量"]
    assert "无自测" in texts and "安静的故障" in texts and "10 分钟" in texts


def test_the_gpu_column_in_both_languages(chapters, monkeypatch):
    _fake_times(monkeypatch, {chapters[0].docname: 7.0})
    monkeypatch.setattr(exercise_pages.torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(exercise_pages.torch.cuda, "get_device_name", lambda index: "Test GPU")
    english = _texts(exercise_pages.chapter_overview(None, "instructor_guide", chapters[:1]))
    assert english[0].endswith("on a machine with a GPU (Test GPU).") and english[6:8] == ["not measured", "7 s"]
    chinese = _texts(exercise_pages.chapter_overview(None, "instructor_guide", chapters[:1], "zh_CN"))
    assert chinese[0].endswith("测量机器带有 GPU（Test GPU）。") and chinese[6:8] == ["未测量", "7 秒"]
