"""The claims chapters 2-5 make in words, checked here by independent code (issue 16's errata).

Each test recomputes one sentence's number without the chapter's own cells: with scipy
quadrature where the chapter uses a closed form, with the library where the chapter writes
the formula by hand. The chapters assert the same facts on their pages; these tests keep the
facts from drifting when the library changes, without building the book.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import integrate, stats
from torch.distributions import Normal

from vae_lib.estimators import effective_sample_size, monte_carlo_log_evidence
from vae_lib.exercises import mixture as mixture_exercises
from vae_lib.linear_gaussian import LinearGaussian, diagonal_gaussian

#: The one-dimensional model of chapters 4 and 5: z ~ N(0, 1), x | z ~ N(3 z, 1), observed x = 4.
MODEL = LinearGaussian(A=[[3.0]], b=[0.0], sigma=1.0)
X = torch.tensor([4.0])
POSTERIOR_MEAN, POSTERIOR_SD = 1.2, math.sqrt(0.1)


def _generator(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _second_moment_by_quadrature(q_mean: float, q_sd: float) -> float:
    """E_q[w²] / p(x)² = ∫ p(z|x)² / q(z) dz, by numerical integration."""
    def integrand(z):
        return math.exp(2 * stats.norm.logpdf(z, POSTERIOR_MEAN, POSTERIOR_SD) - stats.norm.logpdf(z, q_mean, q_sd))
    value, _ = integrate.quad(integrand, -20, 20, points=[POSTERIOR_MEAN], limit=200)
    return value


# ----------------------------------------------------------------------------- chapter 2


def test_a_product_of_densities_overflows_in_a_smaller_unit_while_the_log_likelihood_only_shifts():
    data = np.random.default_rng(1).normal(2.0, 1.5, size=1000)
    densities = stats.norm.pdf(data, 2.0, 1.5)
    assert densities.max() < 1 and np.prod(densities) == 0.0                 # underflow
    in_metres = data / 100
    with np.errstate(over="ignore"):
        assert np.prod(stats.norm.pdf(in_metres, 0.02, 0.015)) == np.inf     # overflow
    shift = stats.norm.logpdf(in_metres, 0.02, 0.015).sum() - stats.norm.logpdf(data, 2.0, 1.5).sum()
    assert shift == pytest.approx(1000 * math.log(100))


# ----------------------------------------------------------------------------- chapter 3


def test_the_peak_height_factor_tips_the_exercises_responsibility():
    weights, means, sds = (np.array(v) for v in (mixture_exercises.EXERCISE_WEIGHTS, mixture_exercises.EXERCISE_MEANS,
                                                 mixture_exercises.EXERCISE_SDS))
    x = mixture_exercises.EXERCISE_POINT
    with_heights = weights * stats.norm.pdf(x, means, sds)
    without_heights = weights * np.exp(-0.5 * ((x - means) / sds) ** 2)
    assert sds[0] / sds[1] == 2
    assert with_heights[0] / with_heights.sum() == pytest.approx(0.43, abs=0.005)
    assert without_heights[0] / without_heights.sum() == pytest.approx(0.60, abs=0.005)
    assert mixture_exercises.check_responsibility(with_heights[0] / with_heights.sum()).correct


# ----------------------------------------------------------------------------- chapter 4


def test_the_average_of_log_weights_stays_at_the_elbo_while_the_log_of_the_average_climbs():
    q = diagonal_gaussian([0.8], [0.5])
    elbo = MODEL.elbo(X, q.mean, q.stddev).item()
    log_px = MODEL.log_evidence(X).item()
    climbing = []
    for k in (1, 10, 100):
        run = monte_carlo_log_evidence(lambda z: MODEL.log_joint(X, z), q.expand((4000,)), k, _generator(k))
        average_of_logs = run.log_weights.mean(dim=0)
        se = average_of_logs.std().item() / math.sqrt(4000)
        assert abs(average_of_logs.mean().item() - elbo) < 4 * se
        climbing.append(run.log_evidence.mean().item())
    assert climbing == sorted(climbing) and climbing[0] < log_px - 0.5 and climbing[-1] > log_px - 0.05


def test_a_near_miss_proposal_loses_the_ess_exponentially_with_the_dimension():
    near_mean, near_sd = POSTERIOR_MEAN + 0.2 * POSTERIOR_SD, 1.2 * POSTERIOR_SD
    per_coordinate = 1 / _second_moment_by_quadrature(near_mean, near_sd)      # ESS/k for d = 1
    assert per_coordinate**8 == pytest.approx(0.57, abs=0.005)               # the numbers
    assert per_coordinate**32 == pytest.approx(0.11, abs=0.006)
    assert per_coordinate**128 == pytest.approx(1.2e-4, rel=0.05)
    for d in (8, 32):
        z = near_mean + near_sd * torch.randn(50_000, d, generator=_generator(d), dtype=torch.float64)
        log_ratio = (Normal(POSTERIOR_MEAN, POSTERIOR_SD).log_prob(z) - Normal(near_mean, near_sd).log_prob(z)).sum(-1)
        assert effective_sample_size(log_ratio).item() / 50_000 == pytest.approx(per_coordinate**d, rel=0.1)
    exact = torch.zeros(1000)                                                 # the posterior: all w = p(x)
    assert effective_sample_size(exact).item() == pytest.approx(1000)


# ----------------------------------------------------------------------------- chapter 5


def test_a_gaussian_coordinates_entropy_is_negative_only_below_one_over_root_two_pi_e():
    threshold = 1 / math.sqrt(2 * math.pi * math.e)
    assert threshold == pytest.approx(0.242, abs=5e-4)
    assert Normal(0.0, threshold).entropy().item() == pytest.approx(0.0, abs=1e-12)
    assert Normal(0.0, 0.5).entropy().item() == pytest.approx(0.726, abs=5e-4)     # narrow, yet positive
    assert Normal(0.0, 0.2).entropy().item() < 0


@pytest.mark.parametrize("x_value", [0.0, 4.0, 8.0])
def test_the_best_width_is_the_posteriors_whatever_x_while_the_terms_cross_elsewhere(x_value):
    observation = torch.tensor([x_value])
    centre = MODEL.posterior(observation).mean
    widths = torch.logspace(-2.5, 0.5, 2000, dtype=torch.float64)[:, None]
    reconstruction = MODEL.expected_log_likelihood(observation, centre, widths).numpy()
    kl = MODEL.kl_to_prior(centre, widths).numpy()
    widths = widths[:, 0].numpy()
    assert widths[np.argmax(reconstruction - kl)] == pytest.approx(POSTERIOR_SD, rel=0.005)
    crossing = widths[np.argmin(np.abs(reconstruction + kl))]
    expected = {0.0: 0.205, 4.0: 0.311, 8.0: 0.632}[x_value]                 # the crossing moves with x
    assert crossing == pytest.approx(expected, rel=0.01)


def test_a_higher_elbo_can_come_with_a_lower_log_likelihood_away_from_where_the_bound_touches():
    data = MODEL.sample(200, _generator(7))[1]
    start = LinearGaussian(A=[[2.0]], b=[0.0], sigma=1.0).posterior(data)
    slopes = np.linspace(0.5, 5.0, 181)
    models = [LinearGaussian(A=[[a]], b=[0.0], sigma=1.0) for a in slopes]
    log_likelihood = np.array([m.log_evidence(data).sum().item() for m in models])
    elbo = np.array([m.elbo(data, start.mean, start.stddev).sum().item() for m in models])
    i0, i1, i_ml = np.argmin(np.abs(slopes - 2.0)), np.argmax(elbo), np.argmax(log_likelihood)
    assert elbo[i0] == pytest.approx(log_likelihood[i0])                    # touching at a0 ...
    assert log_likelihood[i1] > log_likelihood[i0]                          # ... so a1 is better than a0
    assert elbo[i1] > elbo[i_ml] and log_likelihood[i1] < log_likelihood[i_ml]   # but not better than a_ml


def test_a_sampled_upper_bound_is_biased_low_and_can_fall_below_log_px():
    q_mean, q_sd = 0.5, 0.6
    log_px = MODEL.log_evidence(X).item()
    upper = log_px + 0.5 * math.log(_second_moment_by_quadrature(q_mean, q_sd))
    assert upper > log_px
    z = q_mean + q_sd * torch.randn(20_000, 10, 1, generator=_generator(0), dtype=torch.float64)
    log_w = MODEL.log_joint(X, z) - Normal(q_mean, q_sd).log_prob(z)[..., 0]
    estimates = 0.5 * (torch.logsumexp(2 * log_w, dim=1) - math.log(10))
    assert estimates.mean().item() < upper - 0.05
    assert (estimates < log_px).float().mean().item() > 0.05
