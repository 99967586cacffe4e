"""The hand-derived Gaussian KL against torch.distributions and against Monte Carlo; the forward and
reverse KL fits of one Gaussian to a 1-D mixture against scipy's quadrature and their own optima."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import integrate, special, stats
from torch.distributions import Categorical, Independent, MixtureSameFamily, Normal, kl_divergence

from vae_lib.divergences import (
    fit_gaussian,
    forward_kl,
    gaussian_expectation,
    gaussian_kl,
    gaussian_mixture_1d,
    kl_monte_carlo,
    kl_standard_normal,
    moment_matching,
    reverse_kl,
    reverse_kl_grid,
)
from vae_lib.mixture import MixtureOfGaussians


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
PARAMETERS = {"bimodal": ((0.3, 0.7), (-3.0, 3.0), (1.0, 1.0)),
              "uneven": ((0.2, 0.5, 0.3), (-3.0, 0.5, 2.5), (0.5, 1.0, 0.8))}
BIMODAL, UNEVEN = (gaussian_mixture_1d(*PARAMETERS[name]) for name in ("bimodal", "uneven"))


def scipy_log_density(weights, means, stds):
    """log Σ_k w_k N(z; μ_k, σ_k²) from scipy: a reference independent of vae_lib (log-sum-exp: no underflow)."""
    def log_p(z):
        terms = [np.log(w) + stats.norm.logpdf(z, m, s) for w, m, s in zip(weights, means, stds)]
        return special.logsumexp(terms, axis=0)
    return log_p


def quad_reverse_kl(name, mean, std):
    """KL(N(mean, std²) || target) by scipy's adaptive quadrature: an independent reference."""
    weights, means, stds = PARAMETERS[name]
    log_p = scipy_log_density(weights, means, stds)

    def integrand(z):
        return stats.norm.pdf(z, mean, std) * (stats.norm.logpdf(z, mean, std) - log_p(z))
    return integrate.quad(integrand, mean - 14 * std, mean + 14 * std, points=sorted({mean, *means}), limit=500)[0]


def quad_forward_kl(name, mean, std):
    weights, means, stds = PARAMETERS[name]
    log_p = scipy_log_density(weights, means, stds)

    def integrand(z):
        return np.exp(log_p(z)) * (log_p(z) - stats.norm.logpdf(z, mean, std))
    edges = [m + k * s for m, s in zip(means, stds) for k in (-14, 14)]
    return integrate.quad(integrand, min(edges), max(edges), points=sorted({mean, *means}), limit=500)[0]


def test_gaussian_mixture_1d_builds_the_chapter_3_mixture():
    weights, means, stds = PARAMETERS["uneven"]
    reference = MixtureSameFamily(Categorical(torch.tensor(weights)), Normal(torch.tensor(means), torch.tensor(stds)))
    z = np.linspace(-8, 8, 101)
    np.testing.assert_allclose(UNEVEN.log_prob(z[:, None]), reference.log_prob(torch.from_numpy(z)).numpy(),
                               rtol=1e-6)
    assert UNEVEN.dim == 1 and UNEVEN.n_components == 3
    with pytest.raises(ValueError, match="finite and positive"):
        gaussian_mixture_1d([1.0], [0.0], [0.0])


def test_targets_other_than_a_1d_mixture_are_refused_clearly():
    two_dimensional = MixtureOfGaussians([1.0], [[0.0, 0.0]], [np.eye(2)])
    for call in (lambda: reverse_kl(two_dimensional, 0.0, 1.0), lambda: forward_kl(two_dimensional, 0.0, 1.0),
                 lambda: moment_matching(two_dimensional)):
        with pytest.raises(ValueError, match="1-D MixtureOfGaussians.*got a 2-D mixture"):
            call()
    with pytest.raises(ValueError, match="1-D MixtureOfGaussians.*got Normal"):
        forward_kl(Normal(0.0, 1.0), 0.0, 1.0)


def test_gaussian_expectation_is_exact_for_moments_and_matches_quad():
    for k, moment in [(1, 0.0), (2, 1.0), (4, 3.0), (6, 15.0)]:
        assert gaussian_expectation(lambda z, k=k: z**k, 0.0, 1.0) == pytest.approx(moment, abs=1e-9)
    reference = integrate.quad(lambda z: stats.norm.pdf(z, 0.7, 1.3) * np.cos(z), -20, 20)[0]
    assert gaussian_expectation(np.cos, 0.7, 1.3) == pytest.approx(reference, abs=1e-12)


@pytest.mark.parametrize("mean, std", [(0.0, 0.2), (1.0, 2.0), (-3.0, 1.0), (0.0, 6.0), (5.0, 0.05)])
def test_quadrature_divergences_match_scipy_quad(mean, std):
    for name, target in [("bimodal", BIMODAL), ("uneven", UNEVEN)]:
        assert reverse_kl(target, mean, std) == pytest.approx(quad_reverse_kl(name, mean, std), rel=1e-9, abs=1e-8)
        assert forward_kl(target, mean, std) == pytest.approx(quad_forward_kl(name, mean, std), rel=1e-9, abs=1e-8)


def test_divergences_to_a_single_gaussian_match_the_closed_form():
    target = gaussian_mixture_1d([1.0], [0.5], [1.5])
    mean, std = -1.0, 0.7
    q_to_p = gaussian_kl(torch.tensor([mean]), torch.tensor([math.log(std**2)]), 0.5, math.log(1.5**2)).item()
    p_to_q = gaussian_kl(torch.tensor([0.5]), torch.tensor([math.log(1.5**2)]), mean, math.log(std**2)).item()
    assert reverse_kl(target, mean, std) == pytest.approx(q_to_p, rel=1e-6)
    assert forward_kl(target, mean, std) == pytest.approx(p_to_q, rel=1e-6)


def test_reverse_kl_needs_the_target_only_up_to_a_constant():
    shifted = reverse_kl(lambda z: BIMODAL.log_prob(z.reshape(-1, 1)).reshape(z.shape) + 5.0, 1.0, 2.0)
    assert shifted == pytest.approx(reverse_kl(BIMODAL, 1.0, 2.0) - 5.0, abs=1e-12)


def test_reverse_kl_grid_matches_pointwise_values():
    means, stds = np.array([-3.0, 0.0, 2.5]), np.array([0.5, 1.0, 4.0])
    grid = reverse_kl_grid(BIMODAL, means, stds)
    assert grid.shape == (3, 3)
    np.testing.assert_allclose(grid, [[reverse_kl(BIMODAL, m, s) for s in stds] for m in means], rtol=1e-12)
    with pytest.raises(ValueError, match="std > 0"):
        reverse_kl_grid(BIMODAL, means, [1.0, -1.0])


def test_moment_matching_is_the_numerical_forward_optimum_and_torchs_moments():
    for parameters in (*PARAMETERS.values(), ((0.5, 0.5), (-1.0, 4.0), (0.3, 2.0))):
        target = gaussian_mixture_1d(*parameters)
        weights, means, stds = (torch.tensor(v, dtype=torch.float64) for v in parameters)
        reference = MixtureSameFamily(Categorical(weights), Normal(means, stds))
        matched = moment_matching(target)
        assert matched.mean == pytest.approx(reference.mean.item(), abs=1e-12)
        assert matched.std**2 == pytest.approx(reference.variance.item(), rel=1e-12)
        numerical = fit_gaussian(target, "forward", start=(0.0, 1.0))
        assert numerical.mean == pytest.approx(matched.mean, abs=1e-5)
        assert numerical.std == pytest.approx(matched.std, rel=1e-5)
        assert numerical.kl == pytest.approx(matched.kl, abs=1e-9)
        assert matched.kl == pytest.approx(forward_kl(target, matched.mean, matched.std))


def test_reverse_fit_recovers_a_gaussian_target_exactly():
    fit = fit_gaussian(gaussian_mixture_1d([1.0], [2.0], [0.5]), "reverse", start=(-1.0, 3.0))
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
    # Minimizing the forward KL instead covers both modes.
    assert moment_matching(BIMODAL).std > 2.5 * max(left.std, right.std)


def test_fits_reject_bad_arguments():
    with pytest.raises(ValueError, match="'forward'.*'reverse'"):
        fit_gaussian(BIMODAL, "backward")
    with pytest.raises(ValueError, match="needs a MixtureOfGaussians"):
        fit_gaussian(lambda z: -0.5 * z**2, "forward")
    with pytest.raises(ValueError, match="std > 0"):
        fit_gaussian(BIMODAL, "reverse", start=(0.0, 0.0))
    with pytest.raises(ValueError, match="std > 0"):
        reverse_kl(BIMODAL, 0.0, -1.0)
