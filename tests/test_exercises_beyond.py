"""Chapter 11's exercises: the chapter states the data its checks use; the checks agree with the library.

The generic properties of every self-check are tested for all chapters in tests/test_checks.py.
"""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import jupytext
import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from vae_lib import anomaly, diffusion_toy
from vae_lib.exercises import beyond as exercises

CHAPTER = Path(__file__).resolve().parents[1] / "chapters" / "11_beyond.md"
TEXT = CHAPTER.read_text(encoding="utf-8")


def exercise_text(label: str) -> str:
    start = TEXT.index(f":label: {label}")
    return " ".join(TEXT[start:TEXT.index("```", start)].split())


def quiet(check, answer):
    with contextlib.redirect_stdout(io.StringIO()):
        return check(answer)


def test_chapter_is_a_notebook_with_the_exercise_module():
    notebook = jupytext.reads(TEXT, fmt="md:myst")
    code = "\n".join(cell.source for cell in notebook.cells if cell.cell_type == "code")
    assert "from vae_lib.exercises import beyond as exercises" in code
    assert TEXT.count("```{exercise}") == 4


def test_exercise_texts_state_the_module_data():
    images = ", ".join("$(" + ", ".join(map(str, image)) + ")$" for image in exercises.TWO_IMAGES)
    assert images.replace("$, $", "$ and $") in exercise_text("ex-beyond-blur")
    auc = exercise_text("ex-beyond-auc")
    assert ", ".join(f"{v:g}" for v in exercises.NORMAL_SCORES) in auc
    assert ", ".join(f"{v:g}" for v in exercises.ANOMALOUS_SCORES) in auc
    detection = exercise_text("ex-beyond-detection")
    assert f"\\N({exercises.NORMAL_SCORE_MEAN:g}, {exercises.NORMAL_SCORE_SD:g}^2)" in detection
    assert f"\\N({exercises.ANOMALY_SCORE_MEAN:g}, {exercises.ANOMALY_SCORE_SD:g}^2)" in detection
    assert f"{100 * exercises.FALSE_ALARM_RATE:g} %" in detection
    schedule = exercise_text("ex-beyond-schedule")
    assert f"{exercises.DIFFUSION_STEPS} equal steps" in schedule
    assert f"10^{{{round(np.log10(exercises.SIGNAL_LEFT))}}}" in schedule
    assert exercises.SIGNAL_LEFT == diffusion_toy.FINAL_SIGNAL == 10.0 ** round(np.log10(exercises.SIGNAL_LEFT))


def test_auc_check_agrees_with_sklearn_and_the_library():
    labels = np.r_[np.zeros(len(exercises.NORMAL_SCORES)), np.ones(len(exercises.ANOMALOUS_SCORES))]
    reference = roc_auc_score(labels, np.r_[exercises.NORMAL_SCORES, exercises.ANOMALOUS_SCORES])
    assert reference == anomaly.area_under_roc(exercises.NORMAL_SCORES, exercises.ANOMALOUS_SCORES)
    assert quiet(exercises.check_auc, reference).correct


def test_step_check_agrees_with_the_toy_schedule():
    schedule = diffusion_toy.signal_schedule(exercises.DIFFUSION_STEPS, exercises.SIGNAL_LEFT)
    assert quiet(exercises.check_step_size, 1 - schedule[1]).correct


@pytest.mark.parametrize("check", [exercises.check_best_blur, exercises.check_auc, exercises.check_caught_fraction,
                                   exercises.check_step_size])
def test_unknown_wrong_answers_all_get_the_same_reply(check):
    replies = {quiet(check, value).message for value in (0.123, 0.456, 0.0123)}
    assert len(replies) == 1 and next(iter(replies)).startswith("✗ Not quite.")
    assert quiet(check, None).correct is None
