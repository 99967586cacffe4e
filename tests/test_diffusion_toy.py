"""vae_lib.diffusion_toy: the exact noisy marginals and backward steps, checked by simulating the forward process."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from vae_lib import diffusion_toy as toy

DATA = toy.GaussianMixture1D(weights=(0.3, 0.7), means=(-2.0, 1.5), sds=(0.3, 0.5))


def forward(x0: np.ndarray, schedule: np.ndarray, rng: np.random.Generator) -> list[np.ndarray]:
    """x_0, x_1, ..., x_T by the forward process itself, one step at a time."""
    path = [x0]
    for t in range(1, len(schedule)):
        keep = schedule[t] / schedule[t - 1]
        path.append(np.sqrt(keep) * path[-1] + np.sqrt(1 - keep) * rng.standard_normal(x0.size))
    return path


def test_schedule_multiplies_to_the_final_signal():
    schedule = toy.signal_schedule(50, final_signal=1e-3)
    betas = 1 - schedule[1:] / schedule[:-1]
    assert schedule[0] == 1 and schedule[-1] == pytest.approx(1e-3)
    np.testing.assert_allclose(betas, betas[0])
    assert np.prod(1 - betas) == pytest.approx(1e-3)
    for bad in (0, 2.5):
        with pytest.raises(ValueError, match="steps"):
            toy.signal_schedule(bad)
    with pytest.raises(ValueError, match="final_signal"):
        toy.signal_schedule(3, final_signal=1.0)


def test_noised_marginal_matches_the_simulated_forward_process():
    rng = np.random.default_rng(0)
    schedule = toy.signal_schedule(10, final_signal=0.05)
    path = forward(DATA.sample(40_000, seed=1), schedule, rng)
    for t in (3, 10):
        noisy = DATA.noised(schedule[t])
        grid = np.linspace(-4, 4, 9)
        empirical = np.array([(path[t] <= g).mean() for g in grid])
        exact = np.array([stats.norm.cdf(g, noisy.means, noisy.sds) @ np.array(noisy.weights) for g in grid])
        assert np.abs(empirical - exact).max() < 0.01  # a Kolmogorov distance of a few standard errors


def test_mixture_density_integrates_to_one_and_matches_scipy():
    x = np.linspace(-8, 8, 4001)
    assert np.trapezoid(DATA.pdf(x), x) == pytest.approx(1.0, abs=1e-9)
    reference = 0.3 * stats.norm.pdf(x, -2.0, 0.3) + 0.7 * stats.norm.pdf(x, 1.5, 0.5)
    np.testing.assert_allclose(DATA.pdf(x), reference, rtol=1e-12, atol=1e-300)


def test_backward_step_moments_match_simulation():
    """E[x_{t-1} | x_t] and Var[x_{t-1} | x_t] from pairs simulated forward, binned on x_t."""
    rng = np.random.default_rng(2)
    schedule = toy.signal_schedule(4, final_signal=0.05)
    t = 2
    path = forward(DATA.sample(400_000, seed=3), schedule, rng)
    before, now = path[t - 1], path[t]
    for centre in (-1.0, 0.0, 0.8):
        inside = np.abs(now - centre) < 0.01
        mean, variance = toy.reverse_step_moments(DATA, schedule, t, np.array([centre]))
        standard_error = np.sqrt(variance[0] / inside.sum())
        assert abs(before[inside].mean() - mean[0]) < 4 * standard_error + 0.01  # + the bin's width
        assert before[inside].var() == pytest.approx(variance[0], rel=0.1)


def test_a_gaussian_needs_no_more_than_one_gaussian_step():
    gaussian = toy.GaussianMixture1D((1.0,), (1.0,), (0.5,))
    assert toy.chain_gap(gaussian, steps=1) == pytest.approx(0.0, abs=1e-9)
    assert toy.chain_gap(gaussian, steps=7) == pytest.approx(0.0, abs=1e-9)


def test_one_big_step_costs_the_kl_of_the_data_from_its_best_gaussian():
    two_modes = toy.GaussianMixture1D(weights=(0.5, 0.5), means=(-2.0, 2.0), sds=(0.3, 0.3))
    x = np.linspace(-8, 8, 20001)
    p = two_modes.pdf(x)
    variance = 4.0 + 0.09  # the mixture's mean is 0
    kl = np.trapezoid(p * (np.log(p + 1e-300) - stats.norm.logpdf(x, 0, np.sqrt(variance))), x)
    # With almost no signal left, x_1 says next to nothing about x_0: the step must make the data.
    assert toy.chain_gap(two_modes, steps=1, final_signal=1e-6) == pytest.approx(kl, rel=1e-3)


def test_many_small_steps_are_nearly_gaussian_and_reproduce_the_data():
    gaps = [toy.chain_gap(DATA, steps) for steps in (1, 10, 100)]
    assert gaps[0] > 2 * gaps[1] > 20 * gaps[2] > 0
    data = DATA.sample(20_000, seed=9)
    one = toy.sample_with_gaussian_steps(DATA, 1, 20_000, seed=4)
    many = toy.sample_with_gaussian_steps(DATA, 100, 20_000, seed=4)
    assert stats.wasserstein_distance(many, data) < 0.05 < 0.3 < stats.wasserstein_distance(one, data)
    assert np.array_equal(many, toy.sample_with_gaussian_steps(DATA, 100, 20_000, seed=4))


def test_bad_mixtures_are_refused():
    with pytest.raises(ValueError, match="sum to 1"):
        toy.GaussianMixture1D((0.5, 0.6), (0.0, 1.0), (1.0, 1.0))
    with pytest.raises(ValueError, match="same, non-zero length"):
        toy.GaussianMixture1D((1.0,), (0.0, 1.0), (1.0,))
