"""The hand-derived Gaussian KL against torch.distributions and against Monte Carlo."""

from __future__ import annotations

import math

import pytest
import torch
from torch.distributions import Independent, Normal, kl_divergence

from vae_lib.divergences import gaussian_kl, kl_monte_carlo, kl_standard_normal


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
