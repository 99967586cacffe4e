"""Chapter 11 (beyond the basic VAE): its problem data and exercise self-checks.

Every expected value and every known mistake is computed from the data below, by the right
method and by the typical wrong ones; a test checks that the chapter states the same data.

>>> from vae_lib.exercises import beyond as exercises
>>> len(exercises.NORMAL_SCORES), len(exercises.ANOMALOUS_SCORES)
(6, 5)
>>> exercises.check_best_blur(0.5).correct
✗ Not quite. Each pixel's best probability is the fraction of the images in which it is 1; then average log p(x) = Σ_j log Bernoulli(x_j; x̂_j) over the two images. If you rounded, pass the full-precision number your code computes.
False
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
from scipy.stats import norm

from vae_lib.anomaly import area_under_roc
from vae_lib.checks import Check, CheckResult, Mistake
from vae_lib.diffusion_toy import FINAL_SIGNAL, signal_schedule

__all__ = [
    "TWO_IMAGES",
    "NORMAL_SCORES",
    "ANOMALOUS_SCORES",
    "NORMAL_SCORE_MEAN",
    "NORMAL_SCORE_SD",
    "ANOMALY_SCORE_MEAN",
    "ANOMALY_SCORE_SD",
    "FALSE_ALARM_RATE",
    "DIFFUSION_STEPS",
    "SIGNAL_LEFT",
    "check_best_blur",
    "check_auc",
    "check_caught_fraction",
    "check_step_size",
]

# ----------------------------------------------------------------------------- problem data

#: ex-beyond-blur: two binary images of four pixels, equally likely.
TWO_IMAGES = ((1, 1, 0, 0), (0, 1, 1, 0))
#: ex-beyond-auc: anomaly scores (−ELBO, nats) of six normal images and five anomalies.
NORMAL_SCORES = (95.0, 102.0, 99.0, 110.0, 104.0, 97.0)
ANOMALOUS_SCORES = (108.0, 130.0, 99.0, 160.0, 101.0)
#: ex-beyond-detection: normal scores ~ N(100, 8²), anomalies ~ N(125, 12²); 5 % false alarms allowed.
NORMAL_SCORE_MEAN, NORMAL_SCORE_SD = 100.0, 8.0
ANOMALY_SCORE_MEAN, ANOMALY_SCORE_SD = 125.0, 12.0
FALSE_ALARM_RATE = 0.05
#: ex-beyond-schedule: this many equal forward steps leave this fraction of the signal's variance
#: (the chapter's toy: vae_lib.diffusion_toy.FINAL_SIGNAL).
DIFFUSION_STEPS = 1000
SIGNAL_LEFT = FINAL_SIGNAL


# ----------------------------------------------------------------------------- ex-beyond-blur


def _mean_log_likelihood(p: np.ndarray, images: np.ndarray) -> float:
    """Average over the images of Σ_j log Bernoulli(x_j; x̂_j), in nats (log 0 counts as −inf)."""
    with np.errstate(divide="ignore"):
        per_pixel = np.where(images == 1, np.log(p), np.log1p(-p))
    return float(per_pixel.sum(1).mean())


@lru_cache(maxsize=None)
def _blur_check() -> Check:
    images = np.array(TWO_IMAGES, dtype=float)
    best = images.mean(0)  # the best independent-pixel model: each pixel's average
    right = _mean_log_likelihood(best, images)
    return Check(
        "best average log-likelihood",
        right,
        [
            Mistake(right / math.log(2), "That is in bits (log base 2): the question asks for nats."),
            Mistake(right / images.shape[1], "That is per pixel: the log-likelihood of an image sums its pixels."),
            Mistake(-right, "A log-probability is never positive: check the sign."),
            Mistake(right / 2, "You counted only one of the two uncertain pixels."),
        ],
        kind="number",
        hint="Each pixel's best probability is the fraction of the images in which it is 1; then average "
             "log p(x) = Σ_j log Bernoulli(x_j; x̂_j) over the two images.",
        correct_message="The best model is the average of the two images: neither of them, a blur of both.",
    )


def check_best_blur(answer: object) -> CheckResult:
    """Exercise ex-beyond-blur: the best average log-likelihood an independent-pixel model gives two images.

    Args:
        answer: the student's number in nats (``None`` while not answered yet).
    """
    return _blur_check()(answer)


# ----------------------------------------------------------------------------- ex-beyond-auc


def _pairs_above(normal: np.ndarray, anomalous: np.ndarray, tie: float) -> float:
    above = (anomalous[:, None] > normal[None, :]).sum()
    ties = (anomalous[:, None] == normal[None, :]).sum()
    return float((above + tie * ties) / (normal.size * anomalous.size))


@lru_cache(maxsize=None)
def _auc_check() -> Check:
    normal, anomalous = np.array(NORMAL_SCORES), np.array(ANOMALOUS_SCORES)
    right = area_under_roc(normal, anomalous)
    return Check(
        "AUC",
        right,
        [
            Mistake(_pairs_above(normal, anomalous, 0.0), "Ties count one half: a tied pair is a coin flip."),
            Mistake(_pairs_above(normal, anomalous, 1.0), "Ties count one half, not as wins."),
            Mistake(1 - right, "Swapped: the AUC is the chance that the *anomaly* scores higher."),
        ],
        kind="probability",
        hint="Go through all normal-anomalous pairs and count those where the anomaly scores higher "
             "(a tie counts one half); divide by the number of pairs.",
        correct_message="The AUC is the fraction of pairs the score puts in the right order.",
    )


def check_auc(answer: object) -> CheckResult:
    """Exercise ex-beyond-auc: the area under the ROC curve of eleven anomaly scores.

    Args:
        answer: the student's number (``None`` while not answered yet).
    """
    return _auc_check()(answer)


# ----------------------------------------------------------------------------- ex-beyond-detection


def _caught(threshold: float, sd: float = ANOMALY_SCORE_SD) -> float:
    return float(norm.sf(threshold, ANOMALY_SCORE_MEAN, sd))


@lru_cache(maxsize=None)
def _detection_check() -> Check:
    threshold = norm.isf(FALSE_ALARM_RATE, NORMAL_SCORE_MEAN, NORMAL_SCORE_SD)
    right = _caught(threshold)
    two_sided = norm.isf(FALSE_ALARM_RATE / 2, NORMAL_SCORE_MEAN, NORMAL_SCORE_SD)
    return Check(
        "fraction of anomalies caught",
        right,
        [
            Mistake(1 - right, "That is the fraction of anomalies missed."),
            Mistake(_caught(two_sided), "Only high scores are flagged: the 5 % lie in one tail (use the 95th "
                                        "percentile, not the 97.5th)."),
            Mistake(_caught(threshold, NORMAL_SCORE_SD), "The anomalies' scores have their own spread: use it."),
            Mistake(1 - FALSE_ALARM_RATE, "That is the fraction of normal images let through, not of anomalies caught."),
            Mistake(_caught(norm.isf(FALSE_ALARM_RATE, NORMAL_SCORE_MEAN, ANOMALY_SCORE_SD)),
                    "The threshold comes from the normal scores' spread, not the anomalies'."),
        ],
        kind="probability",
        hint="First the threshold: the score that only 5 % of normal images exceed. Then the chance that an "
             "anomaly's score exceeds it.",
        correct_message="The threshold is set by the normal images alone; the anomalies decide how many are caught.",
    )


def check_caught_fraction(answer: object) -> CheckResult:
    """Exercise ex-beyond-detection: the true-positive rate at 5 % false alarms for two Gaussian score distributions.

    Args:
        answer: the student's number (``None`` while not answered yet).
    """
    return _detection_check()(answer)


# ----------------------------------------------------------------------------- ex-beyond-schedule


@lru_cache(maxsize=None)
def _step_check() -> Check:
    schedule = signal_schedule(DIFFUSION_STEPS, SIGNAL_LEFT)
    right = float(1 - schedule[1])  # γ: the fraction of the variance one step replaces by noise
    return Check(
        "γ of one step",
        right,
        [
            Mistake((1 - SIGNAL_LEFT) / DIFFUSION_STEPS,
                    "The steps multiply the signal, they do not subtract from it: ᾱ_T = (1 − γ)^T."),
            Mistake(float(schedule[1]), "That is 1 − γ, the fraction each step keeps."),
            Mistake(SIGNAL_LEFT / DIFFUSION_STEPS, "The steps multiply: solve (1 − γ)^T = ᾱ_T for γ."),
        ],
        kind="probability",
        rel_tol=1e-4,
        hint="Each step keeps the fraction 1 − γ of the variance, so after T steps (1 − γ)^T is left.",
        correct_message="Less than one percent of noise per step: each backward step has little to undo.",
    )


def check_step_size(answer: object) -> CheckResult:
    """Exercise ex-beyond-schedule: the γ of equal forward steps that leave ᾱ_T after T steps.

    Args:
        answer: the student's number (``None`` while not answered yet).
    """
    return _step_check()(answer)
