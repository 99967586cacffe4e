"""vae_lib.linear_gaussian: the exact evidence, posterior and ELBO, against independent references.

References: scipy's multivariate normal, the conditional of the joint Gaussian of (z, x) (the
Woodbury form, not the formula the module uses), numerical integration in 1-D,
``torch.distributions.kl_divergence`` and seeded Monte Carlo estimates.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import integrate, stats
from torch.distributions import kl_divergence

from vae_lib.linear_gaussian import LinearGaussian, diagonal_gaussian, linear_gaussian_vae

DTYPE = torch.float64


def seeded(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@pytest.fixture(scope="module")
def model() -> LinearGaussian:
    """d = 3 latents, D = 5 observed values, a non-zero offset, a general (not orthogonal) A."""
    generator = seeded(0)
    A = torch.randn(5, 3, generator=generator, dtype=DTYPE)
    b = torch.randn(5, generator=generator, dtype=DTYPE)
    return LinearGaussian(A, b, sigma=0.7)


@pytest.fixture(scope="module")
def observations(model) -> torch.Tensor:
    return model.sample(4, seeded(1))[1]


def joint_gaussian_conditional(model: LinearGaussian, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and covariance of z | x from the joint Gaussian of (z, x): Aᵀ C⁻¹ (x − b), I − Aᵀ C⁻¹ A."""
    A, b = model.A, model.b
    C = A @ A.T + model.sigma**2 * torch.eye(model.data_dim, dtype=DTYPE)
    gain = torch.linalg.solve(C, A).T  # Aᵀ C⁻¹
    return (x - b) @ gain.T, torch.eye(model.latent_dim, dtype=DTYPE) - gain @ A


def test_evidence_matches_scipy(model, observations):
    covariance = (model.A @ model.A.T).numpy() + model.sigma**2 * np.eye(model.data_dim)
    expected = stats.multivariate_normal(model.b.numpy(), covariance).logpdf(observations.numpy())
    np.testing.assert_allclose(model.log_evidence(observations).numpy(), expected, rtol=1e-12)


def test_evidence_matches_numerical_integration_in_one_dimension():
    model = LinearGaussian(A=[[2.0]], b=[0.5], sigma=0.8)
    x = 2.7
    integrand = lambda z: stats.norm.pdf(z) * stats.norm.pdf(x, loc=2.0 * z + 0.5, scale=0.8)  # noqa: E731
    evidence, _ = integrate.quad(integrand, -12, 12, epsabs=1e-14)
    assert model.log_evidence(torch.tensor([x])).item() == pytest.approx(math.log(evidence), rel=1e-7)


def test_posterior_matches_the_conditional_of_the_joint_gaussian(model, observations):
    posterior = model.posterior(observations)
    mean, covariance = joint_gaussian_conditional(model, observations)
    torch.testing.assert_close(posterior.mean, mean, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(posterior.covariance_matrix, covariance.expand(4, -1, -1), rtol=1e-10, atol=1e-12)
    assert posterior.batch_shape == (4,) and posterior.event_shape == (model.latent_dim,)


def test_bayes_rule_holds_at_every_z(model, observations):
    """log p(x) = log p(x, z) − log p(z|x) for any z: evidence, joint and posterior agree."""
    z = torch.randn(6, 4, model.latent_dim, generator=seeded(2), dtype=DTYPE)
    via_bayes = model.log_joint(observations, z) - model.posterior(observations).log_prob(z)
    torch.testing.assert_close(via_bayes, model.log_evidence(observations).expand(6, -1), rtol=1e-10, atol=1e-10)


def test_samples_follow_the_marginal(model):
    _, x = model.sample(40_000, seeded(3))
    marginal = model.marginal()
    torch.testing.assert_close(x.mean(0), marginal.mean, atol=0.05, rtol=0)
    torch.testing.assert_close(torch.cov(x.T), marginal.covariance_matrix, atol=0.15, rtol=0.03)


def test_closed_form_elbo_equals_log_evidence_minus_kl_to_the_posterior(model, observations):
    q_mean = torch.randn(4, model.latent_dim, generator=seeded(4), dtype=DTYPE)
    q_std = 0.2 + torch.rand(4, model.latent_dim, generator=seeded(5), dtype=DTYPE)
    q = diagonal_gaussian(q_mean, q_std)
    gap = kl_divergence(q, model.posterior(observations))
    torch.testing.assert_close(model.elbo(observations, q_mean, q_std),
                               model.log_evidence(observations) - gap, rtol=1e-10, atol=1e-10)
    assert bool((gap > 0).all())


def test_closed_form_terms_match_monte_carlo(model, observations):
    x = observations[0]
    q_mean, q_std = torch.tensor([0.3, -0.2, 0.5], dtype=DTYPE), torch.tensor([0.4, 0.9, 0.6], dtype=DTYPE)
    q = diagonal_gaussian(q_mean, q_std)
    z = q_mean + q_std * torch.randn(200_000, 3, generator=seeded(6), dtype=DTYPE)  # z ~ q
    log_likelihood = model.likelihood(z).log_prob(x)
    log_weights = model.log_joint(x, z) - q.log_prob(z)
    for exact, samples in [(model.expected_log_likelihood(x, q_mean, q_std), log_likelihood),
                           (model.elbo(x, q_mean, q_std), log_weights)]:
        standard_error = samples.std() / math.sqrt(len(samples))
        assert abs(samples.mean() - exact) < 4 * standard_error


def test_kl_to_prior_matches_torch(model):
    q_mean, q_std = torch.tensor([0.3, -1.2, 2.0], dtype=DTYPE), torch.tensor([0.5, 1.0, 3.0], dtype=DTYPE)
    expected = kl_divergence(diagonal_gaussian(q_mean, q_std), model.prior())
    torch.testing.assert_close(model.kl_to_prior(q_mean, q_std), expected, rtol=1e-12, atol=1e-12)


def test_the_exact_posterior_maximizes_the_elbo_in_one_dimension():
    model = LinearGaussian(A=[[3.0]], b=[0.0], sigma=1.0)
    x = torch.tensor([4.0])
    posterior = model.posterior(x)
    best_mean, best_std = posterior.mean, posterior.stddev
    means = best_mean + torch.linspace(-1, 1, 41, dtype=DTYPE)[:, None]
    stds = best_std * torch.logspace(-1, 1, 41, dtype=DTYPE)[:, None]
    grid = model.elbo(x, means[:, None], stds[None, :])
    assert grid.shape == (41, 41)
    assert tuple(int(i) for i in np.unravel_index(grid.argmax().item(), grid.shape)) == (20, 20)
    assert model.elbo(x, best_mean, best_std).item() == pytest.approx(model.log_evidence(x).item(), abs=1e-12)


def test_bad_arguments_say_what_to_fix():
    with pytest.raises(ValueError, match=r"A must be a matrix of shape \[D, d\]"):
        LinearGaussian(A=[2.0], b=[0.0], sigma=1.0)
    with pytest.raises(ValueError, match="b must have one entry per row of A"):
        LinearGaussian(A=[[2.0], [1.0]], b=[0.0], sigma=1.0)
    with pytest.raises(ValueError, match="sigma .* must be a positive number"):
        LinearGaussian(A=[[2.0]], b=[0.0], sigma=0.0)
    model = LinearGaussian(A=[[2.0]], b=[0.0], sigma=1.0)
    with pytest.raises(ValueError, match=r"Observations must have shape \[..., D\] with D = 1"):
        model.log_evidence(torch.tensor(3.0))
    with pytest.raises(ValueError, match=r"Latent codes must have shape \[..., d\] with d = 1"):
        model.log_joint(torch.tensor([3.0]), torch.zeros(2, 2))
    with pytest.raises(ValueError, match="must be positive; pass std"):
        model.elbo(torch.tensor([3.0]), torch.tensor([0.0]), torch.tensor([-1.0]))


def test_random_models_are_reproducible():
    first, second = LinearGaussian.random(2, 10, seed=7), LinearGaussian.random(2, 10, seed=7)
    assert torch.equal(first.A, second.A) and not torch.equal(first.A, LinearGaussian.random(2, 10, seed=8).A)
    assert repr(first) == "LinearGaussian(d=2, D=10, sigma=1)"


# ---------------------------------------------------------------------------- the same model as a VAE


def test_linear_gaussian_vae_marginal_is_its_decoder_model():
    vae, marginal = linear_gaussian_vae(latent_dim=2, image_shape=(1, 3, 3), sigma=0.4, seed=5)
    A, b = vae.decoder.out.weight.detach(), vae.decoder.out.bias.detach()
    expected = LinearGaussian(A, b, 0.4).marginal()
    torch.testing.assert_close(marginal.covariance_matrix, expected.covariance_matrix)
    torch.testing.assert_close(marginal.mean, expected.mean)


def test_linear_gaussian_vae_encoder_is_the_exact_posterior():
    vae, marginal = linear_gaussian_vae(latent_dim=2, image_shape=(1, 3, 3), sigma=0.4, seed=5)
    A, b = vae.decoder.out.weight.detach(), vae.decoder.out.bias.detach()
    x = marginal.sample((3,))
    with torch.no_grad():
        mu, logvar = vae.encode(x)
    exact = LinearGaussian(A, b, 0.4).posterior(x)
    torch.testing.assert_close(mu, exact.mean)
    torch.testing.assert_close(logvar.exp(), exact.variance)


def test_linear_gaussian_vae_rejects_too_many_latents():
    with pytest.raises(ValueError, match="latent_dim=20 must not exceed the number of pixels"):
        linear_gaussian_vae(latent_dim=20, image_shape=(1, 4, 4))
