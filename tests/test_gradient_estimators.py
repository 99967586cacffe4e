"""vae_lib.estimators, chapter 7: REINFORCE and reparameterized gradients of E_q[f(z)], q = N(μ, σ²).

References: closed-form expectations E_q[f] and their gradients for f(z) = z², exp(a z) and
(z − c)²; autograd through ``torch.distributions.Normal`` (its ``log_prob`` for the score, its
``rsample`` for the reparameterization); the normal CDF for a step function.
"""

from __future__ import annotations

import math

import pytest
import torch
from scipy import stats
from torch.distributions import Normal

from vae_lib.estimators import (
    GradientSamples,
    gauss_hermite_expectation,
    gauss_hermite_rule,
    reparameterized_gradients,
    score_function_gradients,
)

A, C = 0.7, 1.5  # the constants of exp(a z) and (z − c)²


def closed_form(name: str, mu: float, sigma: float) -> tuple[float, float, float]:
    """(E_q[f], ∂E/∂μ, ∂E/∂σ), derived by hand for q = N(μ, σ²)."""
    if name == "square":
        return mu**2 + sigma**2, 2 * mu, 2 * sigma
    if name == "exp":
        expectation = math.exp(A * mu + A**2 * sigma**2 / 2)
        return expectation, A * expectation, A**2 * sigma * expectation
    if name == "shifted square":
        return (mu - C) ** 2 + sigma**2, 2 * (mu - C), 2 * sigma
    raise KeyError(name)


FUNCTIONS = {
    "square": lambda z: z**2,
    "exp": lambda z: torch.exp(A * z),
    "shifted square": lambda z: (z - C) ** 2,
}
SETTINGS = [(0.0, 1.0), (1.0, 0.5), (-2.0, 2.0), (3.0, 0.3)]
ESTIMATORS = {"score function": score_function_gradients, "reparameterized": reparameterized_gradients}


def seeded(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def quadrature_mean_and_variance(samples: GradientSamples, weights: torch.Tensor) -> list[tuple[float, float]]:
    """Exact mean and variance of each per-sample estimator, from its values at the quadrature nodes."""
    moments = []
    for values in samples:
        mean = float(weights @ values)
        moments.append((mean, float(weights @ values**2) - mean**2))
    return moments


# ----------------------------------------------------------------------------- the formulas


def test_the_score_is_the_gradient_of_log_q():
    """With f ≡ 1 the score function estimator returns ∇ log q(z) itself: compare with autograd."""
    mu = torch.tensor(0.8, dtype=torch.float64, requires_grad=True)
    sigma = torch.tensor(1.7, dtype=torch.float64, requires_grad=True)
    eps = torch.randn(50, generator=seeded(), dtype=torch.float64)
    scores = score_function_gradients(lambda z: torch.ones_like(z), mu.detach(), sigma.detach(), noise=eps)
    z = (mu + sigma * eps).detach()
    for i in range(len(eps)):
        d_mu, d_sigma = torch.autograd.grad(Normal(mu, sigma).log_prob(z[i]), (mu, sigma))
        assert torch.isclose(scores.d_mu[i], d_mu) and torch.isclose(scores.d_sigma[i], d_sigma)


@pytest.mark.parametrize("name", FUNCTIONS)
def test_reparameterized_samples_are_autograd_through_rsample(name):
    f = FUNCTIONS[name]
    mu = torch.tensor(-0.4, dtype=torch.float64, requires_grad=True)
    sigma = torch.tensor(0.9, dtype=torch.float64, requires_grad=True)
    estimates = reparameterized_gradients(f, mu.detach(), sigma.detach(), samples=20, generator=seeded(3))
    torch.manual_seed(0)  # rsample draws from the global generator: reproduce the same ε from z
    for i in range(20):
        z = Normal(mu, sigma).rsample()
        eps = (z - mu) / sigma
        replay = reparameterized_gradients(f, mu.detach(), sigma.detach(), noise=eps.detach().reshape(1))
        d_mu, d_sigma = torch.autograd.grad(f(z), (mu, sigma))
        assert torch.isclose(replay.d_mu[0], d_mu) and torch.isclose(replay.d_sigma[0], d_sigma)
    assert estimates.d_mu.shape == (20,)


@pytest.mark.parametrize("name", FUNCTIONS)
@pytest.mark.parametrize("mu, sigma", SETTINGS)
def test_gauss_hermite_gives_the_closed_form_expectation_and_gradient(name, mu, sigma):
    mu_t = torch.tensor(mu, dtype=torch.float64, requires_grad=True)
    sigma_t = torch.tensor(sigma, dtype=torch.float64, requires_grad=True)
    expectation = gauss_hermite_expectation(FUNCTIONS[name], mu_t, sigma_t, points=80)
    d_mu, d_sigma = torch.autograd.grad(expectation, (mu_t, sigma_t))
    exact = closed_form(name, mu, sigma)
    assert [expectation.item(), d_mu.item(), d_sigma.item()] == pytest.approx(exact, rel=1e-10, abs=1e-12)


# ----------------------------------------------------------------------------- unbiased: exactly and by sampling


@pytest.mark.parametrize("estimator", ESTIMATORS)
@pytest.mark.parametrize("name", FUNCTIONS)
@pytest.mark.parametrize("mu, sigma", SETTINGS)
def test_both_estimators_are_unbiased_exactly(estimator, name, mu, sigma):
    """Averaged over every ε by quadrature, each estimator gives the closed-form gradient."""
    nodes, weights = gauss_hermite_rule(80)
    samples = ESTIMATORS[estimator](FUNCTIONS[name], mu, sigma, noise=nodes)
    (mean_mu, _), (mean_sigma, _) = quadrature_mean_and_variance(samples, weights)
    _, d_mu, d_sigma = closed_form(name, mu, sigma)
    assert (mean_mu, mean_sigma) == pytest.approx((d_mu, d_sigma), rel=1e-8, abs=1e-10)


@pytest.mark.parametrize("estimator", ESTIMATORS)
@pytest.mark.parametrize("name", FUNCTIONS)
def test_both_estimators_are_unbiased_by_sampling(estimator, name):
    mu, sigma, n = 0.5, 0.8, 200_000
    samples = ESTIMATORS[estimator](FUNCTIONS[name], mu, sigma, samples=n, generator=seeded(1))
    _, *exact = closed_form(name, mu, sigma)
    for values, truth in zip(samples, exact):
        standard_error = values.std().item() / math.sqrt(n)
        assert abs(values.mean().item() - truth) < 5 * standard_error


def test_reparameterized_variance_matches_its_closed_form():
    """For f = z², the reparameterized ∂/∂μ sample is 2z: variance 4σ²; ∂/∂σ is 2zε: variance 4(μ² + 2σ²)."""
    mu, sigma = 1.2, 0.7
    nodes, weights = gauss_hermite_rule(40)
    exact = quadrature_mean_and_variance(reparameterized_gradients(FUNCTIONS["square"], mu, sigma, noise=nodes),
                                         weights)
    assert exact[0][1] == pytest.approx(4 * sigma**2) and exact[1][1] == pytest.approx(4 * (mu**2 + 2 * sigma**2))
    drawn = reparameterized_gradients(FUNCTIONS["square"], mu, sigma, samples=100_000, generator=seeded(2))
    assert drawn.d_mu.var().item() == pytest.approx(4 * sigma**2, rel=0.02)


@pytest.mark.parametrize("name", FUNCTIONS)
@pytest.mark.parametrize("mu, sigma", SETTINGS)
def test_reparameterization_has_the_lower_variance_on_these_smooth_functions(name, mu, sigma):
    nodes, weights = gauss_hermite_rule(80)
    f = FUNCTIONS[name]
    score = quadrature_mean_and_variance(score_function_gradients(f, mu, sigma, noise=nodes), weights)
    reparam = quadrature_mean_and_variance(reparameterized_gradients(f, mu, sigma, noise=nodes), weights)
    for (_, var_score), (_, var_reparam) in zip(score, reparam):
        assert var_reparam < var_score


# ----------------------------------------------------------------------------- baselines and where each fails


def test_a_baseline_keeps_the_mean_and_cuts_the_variance():
    """f = z² at μ = 3: f is large everywhere q puts mass, so subtracting b = E_q[f] helps a lot."""
    mu, sigma = 3.0, 0.5
    nodes, weights = gauss_hermite_rule(40)
    expectation, d_mu, d_sigma = closed_form("square", mu, sigma)
    plain = quadrature_mean_and_variance(score_function_gradients(FUNCTIONS["square"], mu, sigma, noise=nodes),
                                         weights)
    with_baseline = quadrature_mean_and_variance(
        score_function_gradients(FUNCTIONS["square"], mu, sigma, baseline=expectation, noise=nodes), weights)
    for (mean_a, var_a), (mean_b, var_b), truth in zip(plain, with_baseline, (d_mu, d_sigma)):
        assert mean_a == pytest.approx(truth) and mean_b == pytest.approx(truth)
        assert var_b < var_a / 3


def test_a_step_function_defeats_reparameterization_but_not_the_score_function():
    """f(z) = 1[z > 0]: E_q[f] = Φ(μ/σ), ∂/∂μ = φ(μ/σ)/σ. Autograd sees a flat f: the reparameterized estimate is 0."""
    mu, sigma, n = 0.3, 0.6, 200_000
    step = lambda z: (z > 0).to(z.dtype)  # noqa: E731
    exact_d_mu = stats.norm.pdf(mu / sigma) / sigma
    reparam = reparameterized_gradients(step, mu, sigma, samples=1000, generator=seeded())
    assert torch.equal(reparam.d_mu, torch.zeros(1000, dtype=torch.float64))
    score = score_function_gradients(step, mu, sigma, samples=n, generator=seeded())
    standard_error = score.d_mu.std().item() / math.sqrt(n)
    assert abs(score.d_mu.mean().item() - exact_d_mu) < 5 * standard_error


# ----------------------------------------------------------------------------- shapes, seeds and errors


def test_the_same_seed_gives_both_estimators_the_same_draws():
    identity = lambda z: z  # noqa: E731 - f' = 1, so the reparameterized ∂/∂σ sample is ε itself
    one = lambda z: torch.ones_like(z)  # noqa: E731 - the score function ∂/∂μ sample is then ε/σ
    eps = reparameterized_gradients(identity, 0.0, 2.0, samples=7, generator=seeded(5)).d_sigma
    score = score_function_gradients(one, 0.0, 2.0, samples=7, generator=seeded(5)).d_mu
    assert torch.allclose(score * 2.0, eps)
    again = reparameterized_gradients(identity, 0.0, 2.0, samples=7, generator=seeded(5)).d_sigma
    assert torch.equal(eps, again)


def test_parameters_broadcast_and_keep_a_tensor_dtype():
    mu = torch.tensor([0.0, 1.0, 2.0])
    samples = score_function_gradients(FUNCTIONS["square"], mu, 0.5, samples=4, generator=seeded())
    assert samples.d_mu.shape == (4, 3) and samples.d_mu.dtype == torch.float32
    samples = reparameterized_gradients(FUNCTIONS["square"], 0.0, 1.0, samples=4, generator=seeded())
    assert samples.d_sigma.dtype == torch.float64  # Python numbers: float64
    assert gauss_hermite_expectation(FUNCTIONS["square"], mu, 0.5).shape == (3,)


def test_drawing_leaves_the_global_rng_alone():
    state = torch.random.get_rng_state()
    score_function_gradients(FUNCTIONS["square"], 0.0, 1.0, samples=10, generator=seeded())
    gauss_hermite_expectation(FUNCTIONS["square"], 0.0, 1.0)
    assert torch.equal(state, torch.random.get_rng_state())


@pytest.mark.parametrize("estimator", ESTIMATORS.values())
def test_bad_arguments_are_explained(estimator):
    f = FUNCTIONS["square"]
    with pytest.raises(ValueError, match="sigma.*must be > 0"):
        estimator(f, 0.0, 0.0, samples=3)
    with pytest.raises(ValueError, match="samples .* must be an integer >= 1"):
        estimator(f, 0.0, 1.0, samples=0)
    with pytest.raises(ValueError, match="noise must hold one ε per sample"):
        estimator(f, 0.0, 1.0, noise=torch.tensor(0.5))
    with pytest.raises(ValueError, match="f must act elementwise"):
        estimator(lambda z: z.sum(), 0.0, 1.0, samples=3)
    with pytest.raises(ValueError, match="points must be an integer"):
        gauss_hermite_rule(0)
