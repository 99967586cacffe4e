"""vae_lib.checks and the chapters' self-checks: right answers pass, known mistakes are diagnosed,
and neither the answer nor the digits of a guess ever leak."""

from __future__ import annotations

import contextlib
import functools
import importlib
import io
import math
import pkgutil
import re
import types
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import torch
from scipy import integrate, optimize, stats

import vae_lib.exercises
from vae_lib import bayes, divergences
from vae_lib.checks import ROUNDING_ADVICE, Check, CheckResult, Mistake, checks_by_exercise
from vae_lib.exercises import amortized_inference as amortized_exercises
from vae_lib.exercises import bayes as exercises
from vae_lib.exercises import beyond as beyond_exercises
from vae_lib.exercises import training_mnist as mnist_exercises
from vae_lib.exercises import elbo as elbo_exercises
from vae_lib.exercises import importance_sampling as importance_exercises
from vae_lib.exercises import kl_divergence as kl_exercises
from vae_lib.exercises import gradients as gradient_exercises
from vae_lib.exercises import latent_space as latent_space_exercises
from vae_lib.exercises import latent_variables as latent_exercises
from vae_lib.exercises import mixture as mixture_exercises

CHAPTERS_DIR = Path(__file__).resolve().parents[1] / "chapters"

# Each chapter-1 self-check: (public function, the cached builder of the Check it uses).
CHAPTER_CHECKS = {
    "ex-bayes-silence": (exercises.check_silent_machine, exercises._silent_machine_check),
    "ex-bayes-two-mornings": (exercises.check_noise_then_silence, exercises._noise_then_silence_check),
    "ex-bayes-loaded-die": (exercises.check_loaded_die_mle, exercises._loaded_die_check),
    "ex-bayes-grid": (exercises.check_grid_dimension, exercises._grid_dimension_check),
    "ex-mnist-parameters": (mnist_exercises.check_parameter_count, mnist_exercises._parameter_check),
    "ex-mnist-steps": (mnist_exercises.check_adam_steps, mnist_exercises._steps_check),
    "ex-mnist-bits": (mnist_exercises.check_bits_per_dim, mnist_exercises._bits_check),
    "ex-mnist-kl": (mnist_exercises.check_closed_form_kl, mnist_exercises._kl_check),
    "ex-beyond-blur": (beyond_exercises.check_best_blur, beyond_exercises._blur_check),
    "ex-beyond-auc": (beyond_exercises.check_auc, beyond_exercises._auc_check),
    "ex-beyond-detection": (beyond_exercises.check_caught_fraction, beyond_exercises._detection_check),
    "ex-beyond-schedule": (beyond_exercises.check_step_size, beyond_exercises._step_check),
}
# Chapters 2 and 3 (their chapter-specific tests are in test_exercises_<module>.py).
CHAPTER_CHECKS |= {
    "ex-latent-umbrella": (latent_exercises.check_umbrella_posterior, latent_exercises._umbrella_posterior_check),
    "ex-latent-parameters": (latent_exercises.check_chain_parameters, latent_exercises._chain_parameters_check),
    "ex-latent-loglik": (latent_exercises.check_height_log_likelihood,
                         latent_exercises._height_log_likelihood_check),
    "ex-latent-mle": (latent_exercises.check_height_mle_variance, latent_exercises._height_mle_variance_check),
    "ex-mixture-responsibility": (mixture_exercises.check_responsibility, mixture_exercises._responsibility_check),
    "ex-mixture-density": (mixture_exercises.check_marginal_density, mixture_exercises._marginal_density_check),
    "ex-mixture-em-mean": (mixture_exercises.check_em_mean, mixture_exercises._em_mean_check),
    "ex-mixture-binary-terms": (mixture_exercises.check_binary_terms, mixture_exercises._binary_terms_check),
}
# Chapters 4 and 5 (their chapter-specific tests are in test_exercises_<module>.py).
CHAPTER_CHECKS |= {
    "ex-importance-weight": (importance_exercises.check_importance_weight, importance_exercises._importance_weight_check),
    "ex-importance-ess": (importance_exercises.check_effective_sample_size,
                          importance_exercises._effective_sample_size_check),
    "ex-importance-bias": (importance_exercises.check_samples_for_small_bias,
                           importance_exercises._samples_for_small_bias_check),
    "ex-elbo-gaussian": (elbo_exercises.check_elbo_of_gaussian, elbo_exercises._elbo_of_gaussian_check),
    "ex-elbo-gap": (elbo_exercises.check_gap, elbo_exercises._gap_check),
    "ex-elbo-entropy": (elbo_exercises.check_gaussian_entropy, elbo_exercises._gaussian_entropy_check),
}


# The chapter on the KL divergence (its chapter-specific tests are in test_exercises_kl_divergence.py).
CHAPTER_CHECKS |= {
    "ex-kl-forecast": (kl_exercises.check_forecast_kl, kl_exercises._forecast_kl_check),
    "ex-kl-forecast-reverse": (kl_exercises.check_forecast_kl_reverse, kl_exercises._forecast_kl_reverse_check),
    "ex-kl-closed-form": (kl_exercises.check_closed_form_kl, kl_exercises._closed_form_check),
    "ex-kl-moment-matching": (kl_exercises.check_moment_matching_variance, kl_exercises._moment_matching_check),
    "ex-kl-reverse-fit": (kl_exercises.check_reverse_fit_kl, kl_exercises._reverse_fit_check),
}


# Chapters 7 and 8 (their chapter-specific tests are in test_exercises_<module>.py).
CHAPTER_CHECKS |= {
    "ex-gradients-exp": (gradient_exercises.check_exp_gradient, gradient_exercises._exp_gradient_check),
    "ex-gradients-one-sample": (gradient_exercises.check_one_sample, gradient_exercises._one_sample_check),
    "ex-gradients-samples": (gradient_exercises.check_samples_needed, gradient_exercises._samples_needed_check),
    "ex-gradients-baseline": (gradient_exercises.check_optimal_baseline,
                              gradient_exercises._optimal_baseline_check),
    "ex-amortized-table": (amortized_exercises.check_table_size, amortized_exercises._table_size_check),
    "ex-amortized-gaussian": (amortized_exercises.check_gaussian_log_likelihood,
                              amortized_exercises._gaussian_check),
    "ex-amortized-reduction": (amortized_exercises.check_reduction_weight, amortized_exercises._reduction_check),
    "ex-amortized-grey-floor": (amortized_exercises.check_grey_floor, amortized_exercises._grey_floor_check),
}



# The chapter on exploring the latent space (its chapter-specific tests: test_exercises_latent_space.py).
CHAPTER_CHECKS |= {
    "ex-latent-space-kl": (latent_space_exercises.check_kl_one_dimension,
                           latent_space_exercises._kl_one_dimension_check),
    "ex-latent-space-midpoint": (latent_space_exercises.check_midpoint_length, latent_space_exercises._midpoint_check),
    "ex-latent-space-active-units": (latent_space_exercises.check_active_units,
                                     latent_space_exercises._active_units_check),
}


def run(check, answer):
    """Call a check; return (result, printed text)."""
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        result = check(answer)
    return result, buffer.getvalue()


def answer_spellings(value: float) -> list[str]:
    """Ways the expected value could show up in text."""
    spellings = {repr(value), str(value)}
    if float(value).is_integer():
        spellings.add(str(int(value)))
    else:
        for decimals in range(2, 8):
            spellings.add(f"{value:.{decimals}f}")
        spellings.add(f"{100 * value:.0f}%")
        spellings.add(f"{100 * value:.1f}%")
    return sorted(spellings)


def expected_values():
    """The chapters' answers, computed here independently of the checks (closed forms)."""
    prior, noise = exercises.COFFEE_PRIOR, exercises.COFFEE_P_NOISE
    silence = {h: 1 - p for h, p in noise.items()}
    return {
        **training_mnist_answers(),
        **beyond_answers(),
        "ex-bayes-silence": prior["clogged"] * silence["clogged"] / bayes.evidence(prior, silence),
        "ex-bayes-two-mornings": bayes.update_sequentially(prior, [noise, silence])[-1]["clogged"],
        "ex-bayes-loaded-die": exercises.FRIEND_DIE_SIXES / exercises.FRIEND_DIE_ROLLS,
        "ex-bayes-grid": max(d for d in range(40)
                             if 10**d <= exercises.GRID_TERMS_PER_SECOND * exercises.GRID_SECONDS_ALLOWED),
    } | latent_variables_answers() | mixture_answers() | importance_sampling_answers() | elbo_answers() \
        | kl_divergence_answers() | gradients_answers() | amortized_answers() | latent_space_answers()


def latent_variables_answers() -> dict[str, float]:
    """Chapter 2's answers, computed here another way than its exercise module does."""
    data = latent_exercises
    p_umbrella_given_w = {w: sum(data.P_UMBRELLA_GIVEN_RAIN["rain" if rains else "no rain"]
                                 * (p if rains else 1 - p) for rains in (True, False))
                          for w, p in data.P_RAIN_GIVEN_WEATHER.items()}
    evidence = sum(p_umbrella_given_w[w] * prior for w, prior in data.WEATHER_PRIOR.items())
    sizes = list(data.CHAIN_SIZES.values())
    entries = [sizes[0]] + [parent * child for parent, child in zip(sizes, sizes[1:])]
    distributions = [1] + sizes[:-1]                      # one distribution per value of the parent
    heights, mu, sd = np.array(data.HEIGHTS_CM), data.HEIGHT_MODEL_MEAN, data.HEIGHT_MODEL_SD
    _, scale = stats.norm.fit(heights)                    # scipy's maximum-likelihood fit
    return {
        "ex-latent-umbrella": p_umbrella_given_w["stormy"] * data.WEATHER_PRIOR["stormy"] / evidence,
        "ex-latent-parameters": sum(entries) - sum(distributions),
        "ex-latent-loglik": float(np.sum(-np.log(sd * np.sqrt(2 * np.pi)) - (heights - mu) ** 2 / (2 * sd**2))),
        "ex-latent-mle": scale**2,
    }


def mixture_answers() -> dict[str, float]:
    """Chapter 3's answers, computed here another way than its exercise module does."""
    data = mixture_exercises
    weights, means, sds = map(np.array, (data.EXERCISE_WEIGHTS, data.EXERCISE_MEANS, data.EXERCISE_SDS))
    joint = weights * np.exp(-0.5 * ((data.EXERCISE_POINT - means) / sds) ** 2) / (sds * np.sqrt(2 * np.pi))
    points = np.array(data.EM_DATA)[:, None]
    resp = weights * np.exp(-0.5 * ((points - means) / sds) ** 2) / sds
    resp = resp / resp.sum(axis=1, keepdims=True)
    return {
        "ex-mixture-responsibility": joint[0] / joint.sum(),
        "ex-mixture-density": joint.sum(),
        "ex-mixture-em-mean": float(resp[:, 0] @ points[:, 0] / resp[:, 0].sum()),
        "ex-mixture-binary-terms": data.CLASSES * 2**data.BINARY_UNITS,
    }


def _one_dimensional_posterior() -> tuple[float, float]:
    """Mean and variance of p(z|x) for z ~ N(0, 1), x | z ~ N(a z + b, σ²), by the scalar formulas."""
    data = importance_exercises
    a, b, sigma, x = data.SLOPE, data.OFFSET, data.NOISE_STD, data.OBSERVED_X
    variance = sigma**2 / (sigma**2 + a**2)
    return variance * a * (x - b) / sigma**2, variance


def importance_sampling_answers() -> dict[str, float]:
    """Chapter 4's answers in closed form (the bias exercise: the Gaussian integral of p(z|x)² / q(z))."""
    data = importance_exercises
    a, b, sigma, x, z = data.SLOPE, data.OFFSET, data.NOISE_STD, data.OBSERVED_X, data.WEIGHT_Z
    weight = stats.norm.pdf(z) * stats.norm.pdf(x, a * z + b, sigma) / stats.norm.pdf(
        z, data.WEIGHT_PROPOSAL_MEAN, data.WEIGHT_PROPOSAL_STD)
    weights = np.exp(np.array(data.LOG_WEIGHTS))
    m, s2 = _one_dimensional_posterior()
    q_mean, q_sd = data.BIAS_PROPOSAL_MEAN, data.BIAS_PROPOSAL_STD
    second_moment, _ = integrate.quad(  # ∫ p(z|x)² / q(z) dz, numerically
        lambda t: math.exp(2 * stats.norm.logpdf(t, m, math.sqrt(s2)) - stats.norm.logpdf(t, q_mean, q_sd)),
        -40, 40, points=[m], epsabs=1e-13, epsrel=1e-12, limit=200)
    return {
        "ex-importance-weight": weight,
        "ex-importance-ess": weights.sum() ** 2 / (weights**2).sum(),
        "ex-importance-bias": math.floor((second_moment - 1) / (2 * data.BIAS_THRESHOLD)) + 1,
    }


def elbo_answers() -> dict[str, float]:
    """Chapter 5's answers from the scalar formulas of the one-dimensional model."""
    data = elbo_exercises
    a, b, sigma, x = data.SLOPE, data.OFFSET, data.NOISE_STD, data.OBSERVED_X
    mu, s = data.ELBO_Q_MEAN, data.ELBO_Q_STD
    reconstruction = -0.5 * math.log(2 * math.pi * sigma**2) - ((x - a * mu - b) ** 2 + a**2 * s**2) / (2 * sigma**2)
    kl_prior = 0.5 * (mu**2 + s**2 - math.log(s**2) - 1)
    m, v = _one_dimensional_posterior()
    mu, s = data.GAP_Q_MEAN, data.GAP_Q_STD
    gap = 0.5 * (math.log(v / s**2) + (s**2 + (mu - m) ** 2) / v - 1)
    return {
        "ex-elbo-gaussian": reconstruction - kl_prior,
        "ex-elbo-gap": gap,
        "ex-elbo-entropy": sum(stats.norm(scale=s).entropy() for s in data.ENTROPY_STDS),
    }


@functools.lru_cache(maxsize=None)  # the reverse fit takes seconds; expected_values() is called per test
def kl_divergence_answers() -> dict[str, float]:
    """The KL chapter's answers, computed here another way than its exercise module does."""
    data = kl_exercises
    p, q = np.array(data.FORECAST_P), np.array(data.FORECAST_Q)
    mu, sigma = np.array(data.ENCODER_MU), np.array(data.ENCODER_SIGMA)
    weights, means, sds = map(np.array, (data.MIXTURE_WEIGHTS, data.MIXTURE_MEANS, data.MIXTURE_STDS))
    # The reverse fit: the best point of a coarse landscape, then polished by Nelder-Mead.
    target = divergences.gaussian_mixture_1d(data.REVERSE_WEIGHTS, data.REVERSE_MEANS, data.REVERSE_STDS)
    grid_means, grid_stds = np.linspace(-6, 6, 121), np.exp(np.linspace(-2, 2, 81))
    landscape = divergences.reverse_kl_grid(target, grid_means, grid_stds)
    i, j = np.unravel_index(np.argmin(landscape), landscape.shape)
    polished = optimize.minimize(lambda v: divergences.reverse_kl(target, v[0], np.exp(v[1])),
                                 [grid_means[i], np.log(grid_stds[j])], method="Nelder-Mead",
                                 options={"xatol": 1e-8, "fatol": 1e-12})
    return {
        "ex-kl-forecast": float(np.sum(p * np.log(p / q))),
        "ex-kl-forecast-reverse": float(np.sum(q * np.log(q / p))),
        "ex-kl-closed-form": float(np.sum(0.5 * mu**2 + 0.5 * sigma**2 - np.log(sigma) - 0.5)),
        "ex-kl-moment-matching": float(weights @ (sds**2 + means**2) - (weights @ means) ** 2),
        "ex-kl-reverse-fit": float(polished.fun),
    }


def gradients_answers() -> dict[str, float]:
    """Chapter 7's answers from the closed forms derived by hand (the module uses quadrature)."""
    data = gradient_exercises
    mu, sigma, a = data.EXP_MU, data.EXP_SIGMA, data.EXP_A
    z = data.ONE_SAMPLE_MU + data.ONE_SAMPLE_SIGMA * data.ONE_SAMPLE_EPS
    d, s = data.SAMPLES_MU - data.TARGET, data.SAMPLES_SIGMA
    return {
        "ex-gradients-exp": a**2 * sigma * math.exp(a * mu + a**2 * sigma**2 / 2),
        "ex-gradients-one-sample": (z - data.TARGET) ** 2 * (data.ONE_SAMPLE_EPS**2 - 1) / data.ONE_SAMPLE_SIGMA,
        "ex-gradients-samples": math.ceil((d**4 + 14 * d**2 * s**2 + 15 * s**4) / (4 * s**4)),
        "ex-gradients-baseline": data.BASELINE_MU**2 + 3 * data.BASELINE_SIGMA**2,
    }


def amortized_answers() -> dict[str, float]:
    """Chapter 8's answers by hand (the module counts parameters and uses torch's distributions)."""
    data = amortized_exercises
    hidden, latent = data.TABLE_HIDDEN, data.TABLE_LATENT
    encoder = 784 * hidden + hidden + 2 * (hidden * latent + latent)
    sigma, pixels, mse = data.GAUSSIAN_SIGMA, data.GAUSSIAN_PIXELS, data.GAUSSIAN_MSE
    return {
        "ex-amortized-table": encoder // (2 * latent) + 1,
        "ex-amortized-gaussian": -pixels / 2 * math.log(2 * math.pi * sigma**2) - pixels * mse / (2 * sigma**2),
        "ex-amortized-reduction": data.REDUCTION_BATCH * data.REDUCTION_PIXELS,
        "ex-amortized-grey-floor": sum(-p * math.log(p) - (1 - p) * math.log(1 - p)
                                       for p in data.GREY_PIXELS if 0 < p < 1),
    }


def training_mnist_answers() -> dict[str, float]:
    """Chapter 9's answers: layer sizes counted by formula, a ceiling, a change of units, the KL formula."""
    data = mnist_exercises
    D, H, d = data.PIXELS, data.BIG_HIDDEN, data.BIG_LATENT
    mu, logvar = np.array(data.ENCODER_MU), np.array(data.ENCODER_LOGVAR)
    return {
        "ex-mnist-parameters": (D + 1) * H + 2 * (H + 1) * d + (d + 1) * H + (H + 1) * D,
        "ex-mnist-steps": data.EPOCHS * -(-data.N_TRAIN // data.BATCH_SIZE),
        "ex-mnist-bits": data.BURDA_NLL_NATS / (data.PIXELS * math.log(2)),
        "ex-mnist-kl": 0.5 * float(np.sum(mu**2 + np.exp(logvar) - 1 - logvar)),
    }


def beyond_answers() -> dict[str, float]:
    """Chapter 11's answers: the mean image's likelihood, pairs counted, Gaussian tails, a root."""
    data = beyond_exercises
    images = np.array(data.TWO_IMAGES)
    undecided = int((images[0] != images[1]).sum())  # pixels at probability 1/2, in both images
    pairs = [(a > n) + 0.5 * (a == n) for a in data.ANOMALOUS_SCORES for n in data.NORMAL_SCORES]
    threshold = data.NORMAL_SCORE_MEAN + data.NORMAL_SCORE_SD * stats.norm.ppf(1 - data.FALSE_ALARM_RATE)
    return {
        "ex-beyond-blur": undecided * math.log(0.5),
        "ex-beyond-auc": sum(pairs) / len(pairs),
        "ex-beyond-detection": 1 - stats.norm.cdf((threshold - data.ANOMALY_SCORE_MEAN) / data.ANOMALY_SCORE_SD),
        "ex-beyond-schedule": -math.expm1(math.log(data.SIGNAL_LEFT) / data.DIFFUSION_STEPS),
    }


def latent_space_answers() -> dict[str, float]:
    """The latent-space chapter's answers, computed here another way than its exercise module does."""
    data = latent_space_exercises
    mu, sigma = data.ONE_DIM_MU, data.ONE_DIM_SIGMA
    z = np.random.default_rng(0).normal(mu, sigma, size=400_000)  # Monte Carlo, then the closed form
    monte_carlo = float(np.mean(stats.norm.logpdf(z, mu, sigma) - stats.norm.logpdf(z)))
    closed_form = 0.5 * (mu**2 + sigma**2 - math.log(sigma**2) - 1)
    assert abs(monte_carlo - closed_form) < 0.01
    midpoint = [(a + b) / 2 for a, b in zip(data.CODE_A, data.CODE_B)]
    return {
        "ex-latent-space-kl": closed_form,
        "ex-latent-space-midpoint": math.hypot(*midpoint),
        "ex-latent-space-active-units": sum(variance > 0.01 for variance in data.ACTIVITY),
    }


def digit_search_guesses(expected: float) -> list[float]:
    """What a student searching digit by digit tries, up to 2 significant figures.

    For an answer 0.0508: 0.1, ..., 0.9, 0.01, ..., 0.09, then 0.050, 0.051, ..., 0.059.
    """
    exponent = math.floor(math.log10(abs(expected)))
    leading = int(abs(expected) / 10**exponent)
    guesses = [digit * 10.0**power for power in (exponent + 1, exponent) for digit in range(1, 10)]
    guesses += [(10 * leading + digit) * 10.0**(exponent - 1) for digit in range(10)]
    return [round(guess, 12) for guess in guesses]


def assert_no_digit_is_confirmed(check: Check, guesses: list[float]) -> list[str]:
    """Every guess that is neither right nor a known mistake gets one and the same message."""
    mistake_messages = {m.message for m in check._mistakes}
    unexplained = {}
    for guess in guesses:
        if check.kind == "probability" and guess > 1:
            continue  # "out of range" is said of any such guess: it confirms no digit
        result = check(guess, quiet=True)
        explained = result.message[2:].split(" Or: ")
        if result.correct or set(explained) <= mistake_messages:
            continue
        unexplained[guess] = result.message
    assert len(unexplained) >= 10, f"too few unexplained guesses to test: {unexplained}"
    assert len(set(unexplained.values())) == 1, unexplained
    return list(unexplained.values())


# ----------------------------------------------------------------------------- the generic mechanism


def test_generic_check_tolerance_and_kinds():
    third = Check("a third", 1 / 3, kind="number", rel_tol=1e-3)
    assert third(Fraction(1, 3), quiet=True).correct
    assert third(0.3334, quiet=True).correct
    assert not third(0.335, quiet=True).correct
    # Rounded, close or far: one message, which says nothing about how close the guess is.
    messages = {third(guess, quiet=True).message for guess in (0.33, 0.345, 0.335, 5.0, -2.0)}
    assert messages == {f"✗ Not quite. {third.hint} {ROUNDING_ADVICE}"}
    assert third(5.0, quiet=True).correct is False  # a "number" has no range check
    count = Check("count", 13, kind="integer")
    assert count(13.0, quiet=True).correct and not count(13.0000001, quiet=True).correct
    assert ROUNDING_ADVICE not in count(12, quiet=True).message  # whole numbers are not rounded


@pytest.mark.parametrize("expected", [1 / 3, 0.0508, 0.6585, 0.9491, 2.718281828, 137.036])
def test_a_digit_by_digit_search_gets_no_confirmation(expected):
    check = Check("x", expected, kind="number")
    guesses = digit_search_guesses(expected)
    assert_no_digit_is_confirmed(check, guesses)
    # The guesses do approach the answer (to 2 significant figures), so the test has teeth.
    assert min(abs(guess - expected) / expected for guess in guesses) < 0.1


def test_mistake_equal_to_the_answer_is_ignored():
    check = Check("x", 0.25, [Mistake(0.25, "never shown"), Mistake(0.5, "doubled")])
    assert check(0.25, quiet=True).correct
    assert len(check._mistakes) == 1


def test_an_exact_mistake_beats_one_the_student_may_have_rounded():
    check = Check("x", 0.9, [Mistake(0.1, "the likelihood"), Mistake(0.1004, "the joint")])
    assert check(0.1004, quiet=True).message == "✗ the joint"
    assert check(0.1, quiet=True).message == "✗ the likelihood"
    assert check(0.1002, quiet=True).message == "✗ the likelihood Or: the joint"  # both, rounded


def test_two_slips_giving_the_same_number_are_both_named():
    check = Check("x", 0.9, [Mistake(0.3, "that is the other die."), Mistake(0.3, "your grid is too coarse."),
                             Mistake(0.3, "that is the other die.")])
    assert check(0.3, quiet=True).message == "✗ that is the other die. Or: your grid is too coarse."


def test_quiet_mode_and_display_print_once():
    check = Check("x", 0.25, kind="probability")
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        loud = check(0.25)
        loud._ipython_display_()  # already printed: Jupyter shows nothing more
        quiet = check(0.25, quiet=True)
    assert buffer.getvalue().count("✓") == 1
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        quiet._ipython_display_()
    assert buffer.getvalue().startswith("✓")
    assert isinstance(loud, CheckResult) and loud.correct and quiet.correct


def test_bad_kind_is_refused():
    with pytest.raises(ValueError, match="kind must be"):
        Check("x", 0.5, kind="percent")


def test_construction_errors_do_not_leak_the_value():
    with pytest.raises(ValueError) as info:
        Check("secret", 0.123456, kind="fraction")
    assert "0.123" not in str(info.value)
    with pytest.raises(ValueError) as info:
        Check("secret", float("nan"))
    assert "nan" not in str(info.value).lower().replace("finite", "")


def test_result_repr_has_no_expected_value():
    check = Check("a third", 1 / 3)
    result = check(0.5, quiet=True)
    assert "0.333" not in repr(result) and "0.333" not in repr(check)


def test_checks_by_exercise_reads_the_docstrings():
    module = types.ModuleType("chapter_x")
    exec(  # noqa: S102 - a tiny module of our own
        'def check_a(answer):\n    """Exercise ex-x-a: the first."""\n'
        'def check_b(answer):\n    """Exercise ex-x-b: the second."""\n'
        'def _check_c(answer):\n    """Exercise ex-x-c: private, not a self-check."""\n'
        'def helper(answer):\n    """Not an exercise."""\n',
        module.__dict__)
    for function in vars(module).values():
        if isinstance(function, types.FunctionType):
            function.__module__ = module.__name__
    module.imported = exercises.check_silent_machine  # imported from elsewhere: not this module's
    assert {label: f.__name__ for label, f in checks_by_exercise(module).items()} == {
        "ex-x-a": "check_a", "ex-x-b": "check_b"}
    module.check_a.__doc__ = "Exercise ex-x-b: a second check for the same exercise."
    with pytest.raises(ValueError, match="Two self-checks .* claim exercise 'ex-x-b'"):
        checks_by_exercise(module)


# ----------------------------------------------------------------------------- the chapters' checks


def exercise_modules() -> list[types.ModuleType]:
    return [importlib.import_module(f"vae_lib.exercises.{info.name}")
            for info in pkgutil.iter_modules(vae_lib.exercises.__path__)]


def test_every_chapter_check_is_tested_here():
    """A new chapter's checks must be added to a table like CHAPTER_CHECKS, so they get these tests."""
    found = {label: function for module in exercise_modules() for label, function in checks_by_exercise(module).items()}
    assert found == {label: function for label, (function, _) in CHAPTER_CHECKS.items()}
    for label, (function, _) in CHAPTER_CHECKS.items():
        assert function.__doc__.startswith(f"Exercise {label}:")


@pytest.mark.parametrize("label", CHAPTER_CHECKS)
def test_right_answer_is_accepted(label):
    check, _ = CHAPTER_CHECKS[label]
    value = expected_values()[label]
    for answer in (value, np.float64(value), torch.tensor(value), np.array([value])):
        result, printed = run(check, answer)
        assert result.correct is True, (label, answer, result.message)
        assert bool(result) and printed.startswith("✓")


@pytest.mark.parametrize("label", CHAPTER_CHECKS)
def test_none_means_not_answered(label):
    check, _ = CHAPTER_CHECKS[label]
    result, printed = run(check, None)
    assert result.correct is None and not result
    assert "Not answered yet" in printed and "Not answered yet" in result.message


@pytest.mark.parametrize("label", CHAPTER_CHECKS)
def test_each_known_mistake_is_diagnosed(label):
    check, make = CHAPTER_CHECKS[label]
    mistakes = make()._mistakes
    assert len(mistakes) >= 3, "each exercise should know at least three typical mistakes"
    for mistake in mistakes:
        result, printed = run(check, mistake.value)
        assert result.correct is False
        assert mistake.message in result.message.removeprefix("✗ ").split(" Or: ")
        assert printed.strip() == result.message


@pytest.mark.parametrize("label", CHAPTER_CHECKS)
def test_a_digit_by_digit_search_on_a_chapter_check_gets_no_confirmation(label):
    _, make = CHAPTER_CHECKS[label]
    check = make()
    assert_no_digit_is_confirmed(check, digit_search_guesses(expected_values()[label]))
    for message in {check._unexplained_message()}:
        assert not re.search(r"close|rounded to|decimal place|within", message, flags=re.I)


def test_mistake_messages_name_the_error():
    messages = {m.message for m in exercises._silent_machine_check()._mistakes}
    text = " ".join(messages)
    assert "likelihood P(silence | clogged)" in text
    assert "joint P(silence, clogged)" in text and "forgot to divide by the evidence" in text
    assert "normalized the likelihoods" in text
    assert "prior" in text


def test_the_die_check_names_the_chapters_die_and_a_coarse_grid():
    """Reusing the chapter's rolls, or a grid with steps of 0.01, are diagnosed as what they are."""
    chapters_die = exercises.CHAPTER_DIE_SIXES / exercises.CHAPTER_DIE_ROLLS
    result, _ = run(exercises.check_loaded_die_mle, chapters_die)
    assert result.message.startswith(
        f"✗ That is the chapter's die, {exercises.CHAPTER_DIE_SIXES} sixes in {exercises.CHAPTER_DIE_ROLLS} rolls")
    for points, correct in ((101, False), (100_001, True)):
        grid = np.linspace(0, 1, points)
        best = grid[np.argmax(stats.binom.pmf(exercises.FRIEND_DIE_SIXES, exercises.FRIEND_DIE_ROLLS, grid))]
        result, _ = run(exercises.check_loaded_die_mle, best)
        assert result.correct is correct
        if not correct:
            assert result.message == "✗ Your ρ grid is too coarse: its step is larger than the tolerance " \
                                     "of this check. Use a finer grid, or solve it exactly."
    assert not any("θ" in m.message for m in exercises._loaded_die_check()._mistakes)
    assert "θ" not in exercises._loaded_die_check()._unexplained_message()


@pytest.mark.parametrize("label", ["ex-bayes-silence", "ex-bayes-two-mornings", "ex-bayes-loaded-die"])
def test_out_of_range_and_rounding(label):
    check, make = CHAPTER_CHECKS[label]
    value = expected_values()[label]
    for bad in (1.7, -0.2):
        result, _ = run(check, bad)
        assert result.correct is False and "Out of range: a probability lies in [0, 1]" in result.message
    result, _ = run(check, round(value, 2))
    assert result.correct is False
    mistake_messages = {f"✗ {m.message}" for m in make()._mistakes}
    assert result.message in mistake_messages | {make()._unexplained_message()}


@pytest.mark.parametrize(
    "answer, fragment",
    [("0.5", "string"), ([0.1, 0.2], "list of 2"), ({"clogged": 0.1}, "dict"), (np.array([0.1, 0.2]), "2 entries"),
     (True, "True/False"), (float("nan"), "NaN"), (float("inf"), "infinite"), (1 + 2j, "complex")],
)
def test_malformed_answers_get_a_helpful_message(answer, fragment):
    result, _ = run(exercises.check_silent_machine, answer)
    assert result.correct is False and fragment in result.message


def test_integer_check_wants_a_whole_number():
    result, _ = run(exercises.check_grid_dimension, 12.5)
    assert result.correct is False and "whole number" in result.message


def test_problem_data_cannot_be_changed_by_accident():
    with pytest.raises(TypeError):
        exercises.COFFEE_PRIOR["clogged"] = 0.5


# ----------------------------------------------------------------------------- the answer never leaks


WRONG_ANSWERS = [None, 0.0, 1.0, 0.5, 1.7, -1, "x", [1, 2], float("nan"), 1e9, 7, 0.9, 0.3]


@pytest.mark.parametrize("label", CHAPTER_CHECKS)
def test_the_answer_never_leaks(label):
    check, make = CHAPTER_CHECKS[label]
    value = expected_values()[label]
    spellings = answer_spellings(value)
    near_misses = [m.value for m in make()._mistakes] + [round(value, 2), round(value, 1), value * 1.02]
    texts = [repr(make()), str(make())]
    for answer in WRONG_ANSWERS + near_misses + [value]:
        result, printed = run(check, answer)
        texts += [printed, result.message, repr(result), str(result)]
    for text in texts:
        for spelling in spellings:
            # whole-token match, so that e.g. "13" is not found inside "0.13"
            assert not re.search(rf"(?<![\d.]){re.escape(spelling)}(?!\d)", text), (label, spelling, text)


# ----------------------------------------------------------------------------- chapter 1's solutions

CHAPTER_1_LABELS = [label for label in CHAPTER_CHECKS if label.startswith("ex-bayes-")]


def chapter_blocks(directive: str) -> dict[str, str]:
    """``{label: body}`` of every ```` ```{exercise} ```` / ```` ````{solution} ```` block in the chapters."""
    if directive == "solution":
        pattern = r"^````\{solution\} (\S+)\n(.*?)^````$"
    else:
        pattern = r"^```\{exercise\}[^\n]*\n:label: (\S+)\n(.*?)^```$"
    blocks = {}
    for chapter in sorted(CHAPTERS_DIR.glob("[0-9][0-9]_*.md")):
        blocks.update(re.findall(pattern, chapter.read_text(encoding="utf-8"), flags=re.S | re.M))
    return blocks


def solution_namespace(label: str) -> dict[str, object]:
    """What a solution's code may use: ``exercises`` is its chapter's module (chapter 1 also has its data)."""
    check, _ = CHAPTER_CHECKS[label]
    module = importlib.import_module(check.__module__)
    namespace = {"np": np, "stats": stats, "torch": torch, "exercises": module}
    if module is exercises:
        namespace.update(bayes=bayes, prior=dict(exercises.COFFEE_PRIOR), p_noise=dict(exercises.COFFEE_P_NOISE))
    return namespace


def test_every_chapter_check_has_an_exercise_and_a_solution():
    exercise_blocks, solutions = chapter_blocks("exercise"), chapter_blocks("solution")
    assert set(exercise_blocks) == set(solutions), "every exercise has a solution, every solution an exercise"
    assert set(CHAPTER_CHECKS) <= set(exercise_blocks), "every self-check belongs to an exercise of a chapter"


@pytest.mark.parametrize("label", CHAPTER_1_LABELS)
def test_the_solution_code_passes_its_own_check(label):
    body = chapter_blocks("solution")[label]
    code_blocks = re.findall(r"```python\n(.*?)```", body, flags=re.S)
    assert code_blocks, f"solution {label} has no python code"
    namespace = solution_namespace(label)
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        for code in code_blocks:
            exec(compile(code, f"<solution {label}>", "exec"), namespace)  # noqa: S102 - our own chapter
    printed = buffer.getvalue()
    assert "✓ Correct" in printed and "✗" not in printed, printed


# ----------------------------------------------------------------------------- odd answers (issues 16 and 21)


def test_a_whole_number_mistake_next_to_the_answer_is_never_named():
    """Issue 16: check_samples_for_small_bias(33) said "take the next whole number", which gave 34 away.
    Whatever such a mistake says, naming it points at the answer, so a check never names it."""
    expected = expected_values()["ex-importance-bias"]
    for wrong in (expected - 1, expected + 1):
        result, _ = run(importance_exercises.check_samples_for_small_bias, wrong)
        assert result.message == importance_exercises._samples_for_small_bias_check()._unexplained_message()
        assert "next whole number" not in result.message
    check = Check("count", 10, [Mistake(9, "one too few: take the next one"), Mistake(11, "one too many"),
                                Mistake(20, "you doubled it")], kind="integer")
    assert [m.value for m in check._mistakes] == [20]
    assert check(9, quiet=True).message == check(11, quiet=True).message == check._unexplained_message()
    grid = expected_values()["ex-bayes-grid"]
    assert all(abs(m.value - grid) > 1 for m in exercises._grid_dimension_check()._mistakes)


@pytest.mark.parametrize("huge", [10**400, -(10**400), Fraction(10**400, 3), np.int64(2**62)],
                         ids=["10**400", "-10**400", "Fraction(10**400, 3)", "np.int64(2**62)"])
@pytest.mark.parametrize("kind", ["probability", "number", "integer"])
def test_a_huge_number_is_a_wrong_answer_not_an_overflow_error(huge, kind):
    """Issue 16/21: 10**400 escaped as OverflowError."""
    result = Check("x", 12, kind=kind)(huge, quiet=True)
    assert result.correct is False and result.message.startswith("✗")
    if kind == "probability":
        assert "Out of range" in result.message


@pytest.mark.parametrize("answer", [np.bool_(True), np.bool_(False), np.array(True), torch.tensor(True)])
def test_numpy_and_torch_booleans_are_true_or_false_like_python_ones(answer):
    """Issue 16: np.bool_(True) was taken as the number 1 while True was not."""
    result = Check("x", 1, kind="integer")(answer, quiet=True)
    assert result.correct is False and "True/False" in result.message


@pytest.mark.parametrize("answer", [b"0.5", b"16", bytearray(b"16"), memoryview(b"0.5")])
def test_bytes_are_text_like_strings_not_numbers(answer):
    """Issue 16: b'16' and b"0.5" were taken as numbers while "0.5" was not."""
    for check in (Check("x", 16, kind="integer"), Check("x", 0.5)):
        result = check(answer, quiet=True)
        assert result.correct is False and "bytes" in result.message


def test_messages_use_the_right_article_and_number():
    """Issue 16: "a object", "1 items"."""
    check = Check("x", 0.5)
    assert "of type object" in check(object(), quiet=True).message
    assert "a list of 1 item:" in check([0.5], quiet=True).message
    assert "a object" not in check(object(), quiet=True).message
    assert "a tuple of 2 items" in check((0.5, 0.1), quiet=True).message
    assert "an array with 2 entries" in check(np.array([0.1, 0.2]), quiet=True).message


def test_the_dict_message_names_the_answers_keys_not_a_hypothesis():
    """Issue 16: the dict message spoke of "the hypothesis" in every chapter."""
    message = Check("x", 0.5)({"mu": 1.0, "sigma": 2.0}, quiet=True).message
    assert "hypothesis" not in message and "'mu', 'sigma'" in message and "dict" in message
    many = Check("x", 0.5)({f"k{i}": i for i in range(30)}, quiet=True).message
    assert "'k3', ..." in many and "k4" not in many
    assert "no keys" in Check("x", 0.5)({}, quiet=True).message


@pytest.mark.parametrize("percentage", [75, 75.0, 50, 100])
def test_a_percentage_for_a_probability_is_told_to_give_a_probability(percentage):
    """Issue 16: 75 (a percentage) was told "a missing division by the evidence"."""
    message = Check("x", 0.75, kind="probability")(percentage, quiet=True).message
    assert "Out of range" in message and "percentage" in message and "between 0 and 1" in message
    assert "evidence" not in message
    assert "percentage" not in Check("x", 0.75, kind="probability")(250, quiet=True).message
    assert "sign" in Check("x", 0.75, kind="probability")(-0.2, quiet=True).message


class _RaisingFloat:
    def __float__(self):
        raise RuntimeError("no float for you")


class _BrokenShape:
    item = None

    @property
    def shape(self):
        raise RuntimeError("shape is broken")


def test_answers_whose_own_methods_raise_get_a_message():
    """Issue 21, item 8: an answer whose __float__ raises, a meta tensor, a broken .shape: tracebacks."""
    check = Check("x", 0.5)
    for answer, fragment in [(_RaisingFloat(), "raised RuntimeError"), (_BrokenShape(), "raised RuntimeError"),
                             (torch.zeros((), device="meta"), "meta device"), (1 + 2j, "complex"),
                             (np.complex64(1 + 1j), "complex")]:
        result = check(answer, quiet=True)
        assert result.correct is False and fragment in result.message, (answer, result.message)
    assert check(torch.tensor(0.5, requires_grad=True), quiet=True).correct
    assert check(np.array([[0.5]], dtype=np.float16), quiet=True).correct
