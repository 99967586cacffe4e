"""vae_lib.mixture against independent references: scipy.stats and scikit-learn's GaussianMixture.

scikit-learn is a test-only dependency (the [dev] extra): the book teaches EM by hand, and these
tests check that the hand-written version gives the reference's numbers.
"""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest
from scipy import stats
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture as SklearnGaussianMixture

from vae_lib.mixture import (DEFAULT_RIDGE, EMResult, MixtureOfGaussians, em_step, fit_em, gaussian_log_density,
                             random_init)


def rotated(angle: float, sd_major: float, sd_minor: float) -> np.ndarray:
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    return rotation @ np.diag([sd_major**2, sd_minor**2]) @ rotation.T


@pytest.fixture(scope="module")
def truth() -> MixtureOfGaussians:
    return MixtureOfGaussians([0.5, 0.3, 0.2], [[-2.0, 0.0], [1.5, 1.0], [1.0, -2.0]],
                              [rotated(0.4, 1.0, 0.4), rotated(-0.8, 0.7, 0.5), rotated(0.0, 0.5, 0.3)])


@pytest.fixture(scope="module")
def data(truth) -> np.ndarray:
    return truth.sample(400, seed=0)[0]


def direct_density(mog: MixtureOfGaussians, x: np.ndarray) -> np.ndarray:
    """p(x) as the plain sum Σ_k π_k N(x; μ_k, Σ_k), with scipy's Gaussian."""
    return sum(w * stats.multivariate_normal(m, c).pdf(x) for w, m, c in zip(mog.weights, mog.means, mog.covariances))


def sklearn_from(start: MixtureOfGaussians, iterations: int, ridge: float = DEFAULT_RIDGE) -> SklearnGaussianMixture:
    """A scikit-learn mixture started from exactly ``start``, running ``iterations`` EM steps."""
    return SklearnGaussianMixture(
        n_components=start.n_components, covariance_type="full", max_iter=iterations, tol=0.0, reg_covar=ridge,
        weights_init=start.weights, means_init=start.means, precisions_init=np.linalg.inv(start.covariances))


# ----------------------------------------------------------------------------- densities and posteriors


def test_gaussian_log_density_matches_scipy(truth, data):
    ours = gaussian_log_density(data, truth.means, truth.covariances)
    reference = np.column_stack([stats.multivariate_normal(m, c).logpdf(data)
                                 for m, c in zip(truth.means, truth.covariances)])
    np.testing.assert_allclose(ours, reference, rtol=1e-12, atol=1e-12)


def test_log_prob_equals_the_log_of_the_direct_sum(truth, data):
    np.testing.assert_allclose(truth.log_prob(data), np.log(direct_density(truth, data)), rtol=1e-12)


def test_log_prob_survives_where_the_direct_sum_underflows(truth):
    far = np.array([[60.0, -45.0], [-80.0, 10.0]])
    assert np.all(direct_density(truth, far) == 0.0)
    log_joint = np.column_stack([np.log(w) + stats.multivariate_normal(m, c).logpdf(far)
                                 for w, m, c in zip(truth.weights, truth.means, truth.covariances)])
    expected = np.log(np.exp(log_joint - log_joint.max(axis=1, keepdims=True)).sum(axis=1)) + log_joint.max(axis=1)
    np.testing.assert_allclose(truth.log_prob(far), expected, rtol=1e-12)
    assert np.all(np.isfinite(truth.log_prob(far)))


def test_density_integrates_to_one_in_one_dimension():
    mog = MixtureOfGaussians([0.2, 0.5, 0.3], [[-3.0], [0.0], [4.0]], [[[0.5]], [[1.0]], [[2.0]]])
    grid = np.linspace(-15, 20, 20001)
    area = np.trapezoid(np.exp(mog.log_prob(grid[:, None])), grid)
    assert area == pytest.approx(1.0, abs=1e-8)


def test_responsibilities_are_bayes_rule(truth, data):
    joint = np.column_stack([w * stats.multivariate_normal(m, c).pdf(data)
                             for w, m, c in zip(truth.weights, truth.means, truth.covariances)])
    np.testing.assert_allclose(truth.responsibilities(data), joint / joint.sum(axis=1, keepdims=True), rtol=1e-10)
    np.testing.assert_allclose(truth.responsibilities(data).sum(axis=1), 1.0)


def test_relabeling_the_components_changes_nothing(truth, data):
    for order in itertools.permutations(range(truth.n_components)):
        relabeled = truth.permuted(order)
        np.testing.assert_allclose(relabeled.log_prob(data), truth.log_prob(data), rtol=1e-12)
        np.testing.assert_allclose(relabeled.responsibilities(data), truth.responsibilities(data)[:, list(order)])


def test_a_zero_weight_component_is_allowed_and_ignored(truth, data):
    padded = MixtureOfGaussians(np.append(truth.weights, 0.0), np.vstack([truth.means, [[9.0, 9.0]]]),
                                np.concatenate([truth.covariances, np.eye(2)[None]]))
    np.testing.assert_allclose(padded.log_prob(data), truth.log_prob(data), rtol=1e-12)
    assert np.all(padded.responsibilities(data)[:, -1] == 0.0)


# ----------------------------------------------------------------------------- sampling


def test_samples_follow_the_generative_process(truth):
    x, z = truth.sample(40_000, seed=1)
    counts = np.bincount(z, minlength=truth.n_components) / len(z)
    assert np.all(np.abs(counts - truth.weights) < 4 * np.sqrt(truth.weights * (1 - truth.weights) / len(z)))
    for k in range(truth.n_components):
        group = x[z == k]
        standard_errors = np.sqrt(np.diag(truth.covariances[k]) / len(group))
        assert np.all(np.abs(group.mean(axis=0) - truth.means[k]) < 4 * standard_errors)
        np.testing.assert_allclose(np.cov(group.T), truth.covariances[k], atol=0.06)


def test_sampling_is_reproducible(truth):
    first, second = truth.sample(10, seed=5), truth.sample(10, seed=5)
    np.testing.assert_array_equal(first[0], second[0])
    np.testing.assert_array_equal(first[1], second[1])
    assert not np.array_equal(first[0], truth.sample(10, seed=6)[0])


# ----------------------------------------------------------------------------- EM against scikit-learn


@pytest.mark.parametrize("iterations", [1, 5, 30])
def test_em_iterates_match_scikit_learn_from_the_same_start(data, iterations):
    start = random_init(data, 3, seed=2)
    ours = fit_em(data, 3, init=start, iterations=iterations, tol=0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reference = sklearn_from(start, iterations).fit(data)
    assert ours.n_steps == reference.n_iter_ == iterations
    np.testing.assert_allclose(ours.mixture.weights, reference.weights_, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(ours.mixture.means, reference.means_, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(ours.mixture.covariances, reference.covariances_, rtol=1e-9, atol=1e-12)
    assert ours.log_likelihoods[-1] == pytest.approx(reference.score(data), rel=1e-10)
    np.testing.assert_allclose(ours.mixture.log_prob(data), reference.score_samples(data), rtol=1e-10)
    np.testing.assert_allclose(ours.mixture.responsibilities(data), reference.predict_proba(data), atol=1e-10)


def test_converged_fit_matches_scikit_learns_converged_fit(data):
    start = random_init(data, 3, seed=0)
    ours = fit_em(data, 3, init=start, iterations=1000, tol=1e-10)
    reference = sklearn_from(start, 1000)
    reference.set_params(tol=1e-10)
    reference.fit(data)
    assert ours.converged and reference.converged_
    assert ours.log_likelihoods[-1] == pytest.approx(reference.score(data), abs=1e-8)
    np.testing.assert_allclose(ours.mixture.means, reference.means_, atol=1e-4)


def test_em_never_lowers_the_log_likelihood(data):
    for seed in range(6):
        run = fit_em(data, 4, seed=seed, iterations=150, tol=0.0)
        assert np.all(np.diff(run.log_likelihoods) > -1e-9), seed


def test_log_likelihood_history_belongs_to_each_iterate(data):
    run = fit_em(data, 3, seed=1, iterations=8, tol=0.0)
    assert len(run.history) == len(run.log_likelihoods) == 9
    for mixture, value in zip(run.history, run.log_likelihoods):
        assert value == pytest.approx(mixture.log_prob(data).mean(), rel=1e-12)
    for before, after in zip(run.history, run.history[1:]):
        np.testing.assert_allclose(em_step(before, data).means, after.means, rtol=1e-12)


def test_one_component_is_the_sample_mean_and_covariance(data):
    run = fit_em(data, 1, iterations=3, tol=0.0, ridge=0.0)
    np.testing.assert_allclose(run.history[1].means[0], data.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(run.history[1].covariances[0], np.cov(data.T, bias=True), rtol=1e-10)
    assert run.history[1].weights == pytest.approx([1.0])


def test_em_finds_the_generating_mixture(truth):
    x, _ = truth.sample(3000, seed=3)
    best = max((fit_em(x, 3, seed=seed) for seed in range(4)), key=lambda run: run.log_likelihoods[-1])
    order = [int(np.argmin(np.linalg.norm(best.mixture.means - mean, axis=1))) for mean in truth.means]
    fitted = best.mixture.permuted(order)
    np.testing.assert_allclose(fitted.weights, truth.weights, atol=0.03)
    np.testing.assert_allclose(fitted.means, truth.means, atol=0.1)
    np.testing.assert_allclose(fitted.covariances, truth.covariances, atol=0.1)


def test_tol_stops_early_and_iterations_zero_returns_the_start(data):
    stopped = fit_em(data, 3, seed=0, iterations=500, tol=1e-3)
    assert stopped.converged and stopped.n_steps < 500
    assert np.diff(stopped.log_likelihoods)[-1] < 1e-3
    untouched = fit_em(data, 3, seed=0, iterations=0)
    assert untouched.n_steps == 0 and not untouched.converged
    np.testing.assert_array_equal(untouched.mixture.means, random_init(data, 3, seed=0).means)


def test_ridge_keeps_repeated_points_fittable():
    x = np.array([[0.0, 0.0]] * 5 + [[3.0, 3.0]] * 5)      # each cluster a single repeated point
    run = fit_em(x, 2, seed=0, iterations=20)
    assert np.all(np.isfinite(run.log_likelihoods))
    eigenvalues = np.linalg.eigvalsh(run.mixture.covariances)
    assert np.all(eigenvalues >= DEFAULT_RIDGE * 0.999)


def test_random_init_uses_distinct_data_points(data):
    start = random_init(data, 5, seed=4)
    assert len({tuple(mean) for mean in start.means}) == 5
    assert all(any(np.array_equal(mean, point) for point in data) for mean in start.means)
    np.testing.assert_allclose(start.weights, 0.2)


def test_the_result_type():
    run = fit_em(np.arange(6.0)[:, None], 2, iterations=2, tol=0.0)
    assert isinstance(run, EMResult) and run.mixture is run.history[-1] and run.n_steps == 2


# ----------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("args, match", [
    (([0.5, 0.6], [[0.0], [1.0]], [[[1.0]], [[1.0]]]), "sum to 1"),
    (([-0.5, 1.5], [[0.0], [1.0]], [[[1.0]], [[1.0]]]), "non-negative"),
    (([1.0], [0.0], [[[1.0]]]), "Shapes"),
    (([0.5, 0.5], [[0.0], [1.0]], [[[1.0]]]), "Shapes"),
    (([1.0], [[0.0, 0.0]], [[[1.0, 0.5], [0.0, 1.0]]]), "symmetric"),
    (([1.0], [[0.0, 0.0]], [[[1.0, 2.0], [2.0, 1.0]]]), "positive definite"),
    (([1.0], [[np.nan]], [[[1.0]]]), "finite"),
])
def test_bad_parameters_are_refused(args, match):
    with pytest.raises(ValueError, match=match):
        MixtureOfGaussians(*args)


@pytest.mark.parametrize("x, k, kwargs, match", [
    (np.zeros(5), 2, {}, "2-D array"),
    (np.array([[0.0], [np.inf]]), 1, {}, "finite"),
    (np.zeros((3, 1)), 4, {}, "from 1 to the number of points"),
    (np.zeros((3, 1)), 0, {}, "from 1 to the number of points"),
    (np.zeros((3, 1)), 1.0, {}, "whole number"),
    (np.zeros((3, 1)), 1, {"iterations": -1}, "iterations"),
    (np.zeros((3, 1)), 1, {"tol": -1e-3}, "tol"),
    (np.zeros((3, 1)), 1, {"ridge": float("nan")}, "ridge"),
    (np.zeros((3, 1)), 1, {"init": "kmeans"}, "init must be"),
])
def test_bad_fit_arguments_are_refused(x, k, kwargs, match):
    with pytest.raises(ValueError, match=match):
        fit_em(x, k, **kwargs)


def test_mismatched_inputs_are_refused(truth):
    with pytest.raises(ValueError, match="coordinates"):
        truth.log_prob(np.zeros((4, 3)))
    with pytest.raises(ValueError, match="make them agree"):
        fit_em(np.zeros((6, 2)), 2, init=truth)
    with pytest.raises(ValueError, match="each of the 3 components once"):
        truth.permuted([0, 0, 1])
    with pytest.raises(ValueError, match="n must be"):
        truth.sample(0)


def test_error_messages_are_short(truth):
    for call in (lambda: MixtureOfGaussians([0.5], [[0.0]], [[[1.0]]]), lambda: fit_em(np.zeros(4), 1),
                 lambda: truth.log_prob(np.zeros((1, 5)))):
        with pytest.raises(ValueError) as info:
            call()
        assert len(str(info.value).splitlines()) <= 3
