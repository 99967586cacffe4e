"""The hand-derived Gaussian KL against torch.distributions and against Monte Carlo; the forward and
reverse KL fits of one Gaussian to a 1-D mixture against scipy's quadrature and their own optima."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import integrate, stats
from torch.distributions import Independent, Normal, kl_divergence

from vae_lib.divergences import (
    GaussianMixture1D,
    fit_gaussian,
    forward_kl,
    gaussian_expectation,
    gaussian_kl,
    kl_monte_carlo,
    kl_standard_normal,
    moment_matching,
    reverse_kl,
    reverse_kl_grid,
)


def diagonal_gaussian(mu: torch.Tensor, logvar: torch.Tensor) -> Independent:
    return Independent(Normal(mu, torch.exp(0.5 * logvar)), 1)


def random_parameters(*shape: int, seed: int, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(*shape, generator=g, dtype=dtype) * scale for scale in (2.0, 1.0, 2.0, 1.0)]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_gaussian_kl_matches_torch_distributions(dtype):
    mu_q, logvar_q, mu_p, logvar_p = random_parameters(6, 4, 5, seed=1, dtype=dtype)
    ours = gaussian_kl(mu_q, logvar_q, mu_p, logvar_p)
    reference = kl_divergence(diagonal_gaussian(mu_q, logvar_q), diagonal_gaussian(mu_p, logvar_p))
    assert ours.shape == (6, 4)
    torch.testing.assert_close(ours, reference, rtol=1e-5, atol=1e-5)


def test_kl_standard_normal_is_the_vae_special_case():
    mu, logvar, _, _ = random_parameters(8, 20, seed=2)
    prior = diagonal_gaussian(torch.zeros_like(mu), torch.zeros_like(logvar))
    reference = kl_divergence(diagonal_gaussian(mu, logvar), prior)
    torch.testing.assert_close(kl_standard_normal(mu, logvar), reference, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(gaussian_kl(mu, logvar), reference, rtol=1e-5, atol=1e-5)


def test_gaussian_kl_broadcasts_the_reference_distribution():
    mu_q, logvar_q, mu_p, logvar_p = random_parameters(7, 3, seed=3)
    one_p = gaussian_kl(mu_q, logvar_q, mu_p[0], logvar_p[0])
    expanded = gaussian_kl(mu_q, logvar_q, mu_p[0].expand(7, 3), logvar_p[0].expand(7, 3))
    torch.testing.assert_close(one_p, expanded)


def test_closed_form_agrees_with_monte_carlo():
    mu_q, logvar_q, mu_p, logvar_p = (t.float() for t in random_parameters(4, 3, seed=4))
    q, p = diagonal_gaussian(mu_q, logvar_q), diagonal_gaussian(mu_p, logvar_p)
    mc = kl_monte_carlo(q, p, samples=20_000, generator=torch.Generator().manual_seed(0))
    exact = gaussian_kl(mu_q, logvar_q, mu_p, logvar_p)
    z_scores = (mc.estimate - exact) / mc.standard_error
    assert mc.estimate.shape == exact.shape == (4,)
    assert z_scores.abs().max() < 4, z_scores


def test_monte_carlo_is_reproducible_and_leaves_the_global_rng_alone():
    q, p = Normal(torch.tensor(0.5), torch.tensor(1.5)), Normal(torch.tensor(0.0), torch.tensor(1.0))
    state = torch.get_rng_state()
    a = kl_monte_carlo(q, p, samples=100, generator=torch.Generator().manual_seed(7))
    b = kl_monte_carlo(q, p, samples=100, generator=torch.Generator().manual_seed(7))
    c = kl_monte_carlo(q, p, samples=100, generator=torch.Generator().manual_seed(8))
    assert torch.equal(torch.get_rng_state(), state)
    assert torch.equal(a.estimate, b.estimate)
    assert not torch.equal(a.estimate, c.estimate)


def test_kl_is_non_negative_and_zero_only_for_equal_distributions():
    mu_q, logvar_q, mu_p, logvar_p = random_parameters(1000, 3, seed=5)
    assert (gaussian_kl(mu_q, logvar_q, mu_p, logvar_p) > 0).all()
    assert torch.equal(gaussian_kl(mu_q, logvar_q, mu_q, logvar_q), torch.zeros(1000, dtype=torch.float64))
    assert torch.equal(kl_standard_normal(torch.zeros(2, 5), torch.zeros(2, 5)), torch.zeros(2))
    # Any small move away from q = p makes it positive (in the mean or in the variance).
    assert gaussian_kl(mu_q + 1e-3, logvar_q, mu_q, logvar_q).min() > 0
    assert gaussian_kl(mu_q, logvar_q + 1e-3, mu_q, logvar_q).min() > 0


def test_kl_is_not_symmetric():
    # KL(N(0, 1) || N(0, 2²)) = log 2 + 1/8 − 1/2, but the reverse is log ½ + 4/2 − 1/2.
    narrow, wide = torch.tensor([0.0]), torch.tensor([math.log(4.0)])
    zero = torch.tensor([0.0])
    forward = gaussian_kl(zero, narrow, zero, wide)
    reverse = gaussian_kl(zero, wide, zero, narrow)
    assert forward.item() == pytest.approx(math.log(2) + 1 / 8 - 1 / 2)
    assert reverse.item() == pytest.approx(-math.log(2) + 2 - 1 / 2)
    assert reverse.item() > 2 * forward.item()


def test_monte_carlo_rejects_mismatched_event_shapes_and_too_few_samples():
    q = diagonal_gaussian(torch.zeros(3), torch.zeros(3))
    with pytest.raises(ValueError, match="event shape.*Independent"):
        kl_monte_carlo(q, Normal(torch.zeros(3), torch.ones(3)))
    with pytest.raises(ValueError, match="samples must be an integer >= 2"):
        kl_monte_carlo(q, q, samples=1)


# =========================================================================== fitting one Gaussian (chapter on the KL)
BIMODAL = GaussianMixture1D((0.3, 0.7), (-3.0, 3.0), (1.0, 1.0))
UNEVEN = GaussianMixture1D((0.2, 0.5, 0.3), (-3.0, 0.5, 2.5), (0.5, 1.0, 0.8))


def quad_reverse_kl(target, mean, std):
    """KL(N(mean, std²) || target) by scipy's adaptive quadrature: an independent reference."""
    def integrand(z):
        return stats.norm.pdf(z, mean, std) * (stats.norm.logpdf(z, mean, std) - target.log_prob(z))
    return integrate.quad(integrand, mean - 14 * std, mean + 14 * std, points=sorted({mean, *target.means}),
                          limit=500)[0]


def quad_forward_kl(target, mean, std):
    def integrand(z):
        return target.prob(z) * (target.log_prob(z) - stats.norm.logpdf(z, mean, std))
    edges = [m + k * s for m, s in zip(target.means, target.stds) for k in (-14, 14)]
    return integrate.quad(integrand, min(edges), max(edges), points=sorted({mean, *target.means}), limit=500)[0]


def test_mixture_agrees_with_torch_and_scipy():
    torch_mixture = UNEVEN.to_torch()
    z = np.linspace(-8, 8, 101)
    by_hand = sum(w * stats.norm.pdf(z, m, s) for w, m, s in zip(UNEVEN.weights, UNEVEN.means, UNEVEN.stds))
    np.testing.assert_allclose(UNEVEN.prob(z), by_hand, rtol=1e-12)
    np.testing.assert_allclose(UNEVEN.log_prob(z), torch_mixture.log_prob(torch.from_numpy(z)).numpy(), rtol=1e-12)
    assert UNEVEN.mean == pytest.approx(torch_mixture.mean.item(), rel=1e-12)
    assert UNEVEN.variance == pytest.approx(torch_mixture.variance.item(), rel=1e-12)
    # Far in the tails the log-density stays finite (log-sum-exp), where the density underflows.
    assert np.isfinite(UNEVEN.log_prob(1e3)) and UNEVEN.prob(1e3) == 0


def test_mixture_samples_have_its_moments_and_are_reproducible():
    draws = UNEVEN.sample(200_000, seed=0)
    assert np.array_equal(draws, UNEVEN.sample(200_000, seed=0))
    assert abs(draws.mean() - UNEVEN.mean) < 4 * draws.std() / np.sqrt(len(draws))
    assert draws.var() == pytest.approx(UNEVEN.variance, rel=0.01)


def test_mixture_normalises_weights_and_rejects_bad_parameters():
    assert GaussianMixture1D((2, 6), (0, 1), (1, 1)).weights == (0.25, 0.75)
    with pytest.raises(ValueError, match="as many weights as means"):
        GaussianMixture1D((1, 1), (0.0,), (1.0, 1.0))
    with pytest.raises(ValueError, match="stds positive"):
        GaussianMixture1D((1,), (0.0,), (0.0,))
    with pytest.raises(ValueError, match="not all zero"):
        GaussianMixture1D((0, 0), (0.0, 1.0), (1.0, 1.0))


def test_gaussian_expectation_is_exact_for_moments_and_matches_quad():
    for k, moment in [(1, 0.0), (2, 1.0), (4, 3.0), (6, 15.0)]:
        assert gaussian_expectation(lambda z, k=k: z**k, 0.0, 1.0) == pytest.approx(moment, abs=1e-9)
    reference = integrate.quad(lambda z: stats.norm.pdf(z, 0.7, 1.3) * np.cos(z), -20, 20)[0]
    assert gaussian_expectation(np.cos, 0.7, 1.3) == pytest.approx(reference, abs=1e-12)


@pytest.mark.parametrize("mean, std", [(0.0, 0.2), (1.0, 2.0), (-3.0, 1.0), (0.0, 6.0), (5.0, 0.05)])
def test_quadrature_divergences_match_scipy_quad(mean, std):
    for target in (BIMODAL, UNEVEN):
        assert reverse_kl(target, mean, std) == pytest.approx(quad_reverse_kl(target, mean, std), rel=1e-9, abs=1e-8)
        assert forward_kl(target, mean, std) == pytest.approx(quad_forward_kl(target, mean, std), rel=1e-9, abs=1e-8)


def test_divergences_to_a_single_gaussian_match_the_closed_form():
    target = GaussianMixture1D((1.0,), (0.5,), (1.5,))
    mean, std = -1.0, 0.7
    q_to_p = gaussian_kl(torch.tensor([mean]), torch.tensor([math.log(std**2)]), 0.5, math.log(1.5**2)).item()
    p_to_q = gaussian_kl(torch.tensor([0.5]), torch.tensor([math.log(1.5**2)]), mean, math.log(std**2)).item()
    assert reverse_kl(target, mean, std) == pytest.approx(q_to_p, rel=1e-6)
    assert forward_kl(target, mean, std) == pytest.approx(p_to_q, rel=1e-6)


def test_reverse_kl_needs_the_target_only_up_to_a_constant():
    shifted = reverse_kl(lambda z: BIMODAL.log_prob(z) + 5.0, 1.0, 2.0)
    assert shifted == pytest.approx(reverse_kl(BIMODAL, 1.0, 2.0) - 5.0, abs=1e-12)


def test_reverse_kl_grid_matches_pointwise_values():
    means, stds = np.array([-3.0, 0.0, 2.5]), np.array([0.5, 1.0, 4.0])
    grid = reverse_kl_grid(BIMODAL, means, stds)
    assert grid.shape == (3, 3)
    np.testing.assert_allclose(grid, [[reverse_kl(BIMODAL, m, s) for s in stds] for m in means], rtol=1e-12)
    with pytest.raises(ValueError, match="std > 0"):
        reverse_kl_grid(BIMODAL, means, [1.0, -1.0])


def test_moment_matching_is_the_numerical_forward_optimum():
    for target in (BIMODAL, UNEVEN, GaussianMixture1D((0.5, 0.5), (-1.0, 4.0), (0.3, 2.0))):
        matched = moment_matching(target)
        numerical = fit_gaussian(target, "forward", start=(0.0, 1.0))
        assert numerical.mean == pytest.approx(matched.mean, abs=1e-5)
        assert numerical.std == pytest.approx(matched.std, rel=1e-5)
        assert numerical.kl == pytest.approx(matched.kl, abs=1e-9)
        assert matched.kl == pytest.approx(forward_kl(target, matched.mean, matched.std))


def test_reverse_fit_recovers_a_gaussian_target_exactly():
    fit = fit_gaussian(GaussianMixture1D((1.0,), (2.0,), (0.5,)), "reverse", start=(-1.0, 3.0))
    assert (fit.mean, fit.std) == (pytest.approx(2.0, abs=1e-5), pytest.approx(0.5, abs=1e-5))
    assert fit.kl == pytest.approx(0.0, abs=1e-9)


def test_reverse_fit_has_a_local_minimum_per_separated_mode():
    left = fit_gaussian(BIMODAL, "reverse", start=(-4.0, 1.0))
    right = fit_gaussian(BIMODAL, "reverse", start=(4.0, 1.0))
    assert left.mean == pytest.approx(-3.0, abs=0.05) and right.mean == pytest.approx(3.0, abs=0.05)
    assert right.kl < left.kl  # the heavier mode is the better optimum
    for fit in (left, right):
        assert fit.kl == pytest.approx(reverse_kl(BIMODAL, fit.mean, fit.std))
        for dm, ds in [(0.02, 0), (-0.02, 0), (0, 0.02), (0, -0.02)]:  # a minimum: every nudge costs
            assert reverse_kl(BIMODAL, fit.mean + dm, fit.std + ds) > fit.kl
    # Minimising the forward KL instead covers both modes.
    assert moment_matching(BIMODAL).std > 2.5 * max(left.std, right.std)


def test_fits_reject_bad_arguments():
    with pytest.raises(ValueError, match="'forward'.*'reverse'"):
        fit_gaussian(BIMODAL, "backward")
    with pytest.raises(ValueError, match="needs a GaussianMixture1D"):
        fit_gaussian(BIMODAL.log_prob, "forward")
    with pytest.raises(ValueError, match="std > 0"):
        fit_gaussian(BIMODAL, "reverse", start=(0.0, 0.0))
    with pytest.raises(ValueError, match="std > 0"):
        reverse_kl(BIMODAL, 0.0, -1.0)
