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
from vae_lib._variant import Variant
from vae_lib.checks import Check, CheckResult, Mistake
from vae_lib.i18n import current_language, tr
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
    "VARIANTS",
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
def _blur_check(language: str | None = None) -> Check:  # one per language (messages translated)
    images = np.array(TWO_IMAGES, dtype=float)
    best = images.mean(0)  # the best independent-pixel model: each pixel's average
    right = _mean_log_likelihood(best, images)
    return Check(
        "best average log-likelihood",
        right,
        [
            Mistake(right / math.log(2), tr("That is in bits (log base 2): the question asks for nats.")),
            Mistake(right / images.shape[1], tr("That is per pixel: the log-likelihood of an image sums its pixels.")),
            Mistake(-right, tr("A log-probability is never positive: check the sign.")),
            Mistake(right / 2, tr("You counted only one of the two uncertain pixels.")),
        ],
        kind="number",
        hint=tr("Each pixel's best probability is the fraction of the images in which it is 1; then average "
                "log p(x) = Σ_j log Bernoulli(x_j; x̂_j) over the two images."),
        correct_message=tr("The best model is the average of the two images: neither of them, a blur of both."),
    )


def check_best_blur(answer: object) -> CheckResult:
    """Exercise ex-beyond-blur: the best average log-likelihood an independent-pixel model gives two images.

    Args:
        answer: the student's number in nats (``None`` while not answered yet).
    """
    return _blur_check(current_language())(answer)


# ----------------------------------------------------------------------------- ex-beyond-auc


def _pairs_above(normal: np.ndarray, anomalous: np.ndarray, tie: float) -> float:
    above = (anomalous[:, None] > normal[None, :]).sum()
    ties = (anomalous[:, None] == normal[None, :]).sum()
    return float((above + tie * ties) / (normal.size * anomalous.size))


_AUC_BOOK = {"normal": list(NORMAL_SCORES), "anomalous": list(ANOMALOUS_SCORES)}


def _auc_variant(rng: np.random.Generator) -> dict:
    """Other scores, whole nats as the book's: six normal ones around 100, five anomalies around 118
    with a wider spread (so some score below normal images), one of them tied with a normal score."""
    normal = [float(v) for v in np.round(rng.normal(100, 6, 6))]
    anomalous = [float(v) for v in np.round(rng.normal(118, 18, 5))]
    anomalous[int(rng.integers(5))] = normal[int(rng.integers(6))]  # a tie, as in the book
    return {"normal": normal, "anomalous": anomalous}


def _auc_check(data=_AUC_BOOK) -> Check:
    normal, anomalous = np.array(data["normal"]), np.array(data["anomalous"])
    right = area_under_roc(normal, anomalous)
    return Check(
        "AUC",
        right,
        [
            Mistake(_pairs_above(normal, anomalous, 0.0), tr("Ties count one half: a tied pair is a coin flip.")),
            Mistake(_pairs_above(normal, anomalous, 1.0), tr("Ties count one half, not as wins.")),
            Mistake(1 - right, tr("Swapped: the AUC is the chance that the *anomaly* scores higher.")),
        ],
        kind="probability",
        hint=tr("Go through all normal-anomalous pairs and count those where the anomaly scores higher "
                "(a tie counts one half); divide by the number of pairs."),
        correct_message=tr("The AUC is the fraction of pairs the score puts in the right order."),
    )


def _scores(values) -> str:
    return ", ".join(f"{v:g}" for v in values)


AUC = Variant(
    "ex-beyond-auc", _AUC_BOOK, _auc_variant, _auc_check,
    text=lambda d: [("$95, 102, 99, 110, 104, 97$", f"${_scores(d['normal'])}$"),
                    ("$108, 130, 99, 160, 101$", f"${_scores(d['anomalous'])}$")],
    code=lambda d: [("np.array(exercises.NORMAL_SCORES)", f"np.array([{_scores(d['normal'])}])"),
                    ("np.array(exercises.ANOMALOUS_SCORES)", f"np.array([{_scores(d['anomalous'])}])")])


def check_auc(answer: object, variant: str | None = None) -> CheckResult:
    """Exercise ex-beyond-auc: the area under the ROC curve of eleven anomaly scores.

    Args:
        answer: the student's number (``None`` while not answered yet).
        variant: a student's variant key (an assignment's data cell says which); ``None``: the book's.
    """
    return AUC.check(variant)(answer)


# ----------------------------------------------------------------------------- ex-beyond-detection


_DETECTION_BOOK = {"normal_mean": NORMAL_SCORE_MEAN, "normal_sd": NORMAL_SCORE_SD,
                   "anomaly_mean": ANOMALY_SCORE_MEAN, "anomaly_sd": ANOMALY_SCORE_SD}


def _detection_variant(rng: np.random.Generator) -> dict:
    """Other score distributions, whole nats: normal images N(80..120, (5..12)²), anomalies 10 to 40
    nats higher on average with a spread of their own, (6..20)² (the 5 % false alarms stay)."""
    normal_mean = float(rng.integers(80, 121))
    normal_sd = float(rng.integers(5, 13))
    anomaly_sd = float(rng.choice([sd for sd in range(6, 21) if sd != normal_sd]))
    return {"normal_mean": normal_mean, "normal_sd": normal_sd,
            "anomaly_mean": normal_mean + float(rng.integers(10, 41)), "anomaly_sd": anomaly_sd}


def _detection_check(data=_DETECTION_BOOK) -> Check:
    normal_mean, normal_sd = data["normal_mean"], data["normal_sd"]
    anomaly_mean, anomaly_sd = data["anomaly_mean"], data["anomaly_sd"]

    def caught(threshold: float, sd: float = anomaly_sd) -> float:
        return float(norm.sf(threshold, anomaly_mean, sd))

    threshold = norm.isf(FALSE_ALARM_RATE, normal_mean, normal_sd)
    right = caught(threshold)
    two_sided = norm.isf(FALSE_ALARM_RATE / 2, normal_mean, normal_sd)
    return Check(
        "fraction of anomalies caught",
        right,
        [
            Mistake(1 - right, tr("That is the fraction of anomalies missed.")),
            Mistake(caught(two_sided), tr("Only high scores are flagged: the 5 % lie in one tail (use the 95th "
                                          "percentile, not the 97.5th).")),
            Mistake(caught(threshold, normal_sd), tr("The anomalies' scores have their own spread: use it.")),
            Mistake(1 - FALSE_ALARM_RATE,
                    tr("That is the fraction of normal images let through, not of anomalies caught.")),
            Mistake(caught(norm.isf(FALSE_ALARM_RATE, normal_mean, anomaly_sd)),
                    tr("The threshold comes from the normal scores' spread, not the anomalies'.")),
        ],
        kind="probability",
        hint=tr("First the threshold: the score that only 5 % of normal images exceed. Then the chance that an "
                "anomaly's score exceeds it."),
        correct_message=tr("The threshold is set by the normal images alone; the anomalies decide how many are caught."),
    )


DETECTION = Variant(
    "ex-beyond-detection", _DETECTION_BOOK, _detection_variant, _detection_check,
    text=lambda d: [("$\\N(100, 8^2)$", f"$\\N({d['normal_mean']:g}, {d['normal_sd']:g}^2)$"),
                    ("$\\N(125, 12^2)$", f"$\\N({d['anomaly_mean']:g}, {d['anomaly_sd']:g}^2)$")],
    code=lambda d: [(f"exercises.{name}", f"{d[key]:g}") for name, key in
                    [("NORMAL_SCORE_MEAN", "normal_mean"), ("NORMAL_SCORE_SD", "normal_sd"),
                     ("ANOMALY_SCORE_MEAN", "anomaly_mean"), ("ANOMALY_SCORE_SD", "anomaly_sd")]])


def check_caught_fraction(answer: object, variant: str | None = None) -> CheckResult:
    """Exercise ex-beyond-detection: the true-positive rate at 5 % false alarms for two Gaussian score distributions.

    Args:
        answer: the student's number (``None`` while not answered yet).
        variant: a student's variant key; ``None``: the book's.
    """
    return DETECTION.check(variant)(answer)


# ----------------------------------------------------------------------------- ex-beyond-schedule


_SCHEDULE_BOOK = {"steps": DIFFUSION_STEPS, "signal_exponent": round(-math.log10(SIGNAL_LEFT))}
assert 10.0 ** -_SCHEDULE_BOOK["signal_exponent"] == SIGNAL_LEFT
#: The numbers of steps a variant's forward process may take.
_STEP_CHOICES = (100, 200, 250, 400, 500, 800, 1000, 1500, 2000, 4000)


def _schedule_variant(rng: np.random.Generator) -> dict:
    """Another forward process: 100 to 4000 equal steps that leave 10^-2 to 10^-5 of the signal."""
    return {"steps": int(rng.choice(_STEP_CHOICES)), "signal_exponent": int(rng.integers(2, 6))}


def _step_check(data=_SCHEDULE_BOOK) -> Check:
    steps, signal_left = data["steps"], 10.0 ** -data["signal_exponent"]
    schedule = signal_schedule(steps, signal_left)
    right = float(1 - schedule[1])  # γ: the fraction of the variance one step replaces by noise
    return Check(
        "γ of one step",
        right,
        [
            Mistake((1 - signal_left) / steps,
                    tr("The steps multiply the signal, they do not subtract from it: ᾱ_T = (1 − γ)^T.")),
            Mistake(float(schedule[1]), tr("That is 1 − γ, the fraction each step keeps.")),
            Mistake(signal_left / steps, tr("The steps multiply: solve (1 − γ)^T = ᾱ_T for γ.")),
        ],
        kind="probability",
        rel_tol=1e-4,
        hint=tr("Each step keeps the fraction 1 − γ of the variance, so after T steps (1 − γ)^T is left."),
        # A claim about the book's numbers; a variant's may not bear it out.
        correct_message=tr("Less than one percent of noise per step: each backward step has little to undo.")
        if data == _SCHEDULE_BOOK else "",
    )


SCHEDULE = Variant(
    "ex-beyond-schedule", _SCHEDULE_BOOK, _schedule_variant, _step_check,
    text=lambda d: [("takes 1000 equal steps", f"takes {d['steps']} equal steps"),
                    # The formula and the words apart: a catalogue message cannot hold the formula's braces.
                    ("$\\bar\\alpha_T = 10^{-3}$", f"$\\bar\\alpha_T = 10^{{-{d['signal_exponent']}}}$"),
                    ("of the signal's variance is\nleft (the value of this chapter's toy)",
                     "of the signal's variance is\nleft")],
    code=lambda d: [("exercises.SIGNAL_LEFT ** (1 / exercises.DIFFUSION_STEPS)",
                     f"1e-{d['signal_exponent']} ** (1 / {d['steps']})")])

#: The exercises of this chapter whose problem data varies from student to student; ex-beyond-blur
#: is fixed (see vae_lib.variants.FIXED_EXERCISES).
VARIANTS = (AUC, DETECTION, SCHEDULE)


def check_step_size(answer: object, variant: str | None = None) -> CheckResult:
    """Exercise ex-beyond-schedule: the γ of equal forward steps that leave ᾱ_T after T steps.

    Args:
        answer: the student's number (``None`` while not answered yet).
        variant: a student's variant key; ``None``: the book's.
    """
    return SCHEDULE.check(variant)(answer)
