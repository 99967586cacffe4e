"""bench/grading_speed.py: the class it hands in has every kind the issue lists, and a small run
grades each kind as expected (the timing itself is the benchmark's business, not a test's)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
import grading_speed  # noqa: E402 (a script in bench/, importable once its folder is on the path)


def test_a_class_of_40_hands_in_every_kind_and_half_are_right():
    kinds = grading_speed.class_kinds(40)
    assert len(kinds) == 40 and kinds.count("right") == 20
    assert set(kinds) == set(grading_speed.EXPECTED_VERDICTS)
    assert {kind: kinds.count(kind) for kind in grading_speed.KINDS} == grading_speed.KINDS


def test_a_small_class_keeps_half_right():
    for size in (1, 2, 7, 13):
        kinds = grading_speed.class_kinds(size)
        assert len(kinds) == size and kinds.count("right") >= size / 2


def test_a_small_run_grades_every_submission_as_its_kind(capsys):
    result = grading_speed.run(grading_speed.parse_args(["--students", "2", "--reference-runs", "1", "--timeout", "60"]))
    assert result["grade_exit_status"] == 0
    assert result["kinds_handed_in"] == {"wrong": 1, "right": 1}
    assert result["verdicts_as_expected"], result["unexpected_verdicts"]
    assert result["grading_seconds"] > 0 and result["reference"]["class_seconds"] > 0
    assert isinstance(result["timings_are_a_result"], bool)
