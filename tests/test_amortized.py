"""vae_lib.amortized: per-image variational parameters, SVI, the amortization gap, the 2-D grid posterior.

The reference is a linear-Gaussian VAE built here: z ~ N(0, I), x | z ~ N(W z + b, s² I) with
orthogonal columns in W, whose posterior p(z|x) is an exactly known diagonal Gaussian and whose
p(x) is an exactly known multivariate normal (Tipping & Bishop's probabilistic PCA).
"""

from __future__ import annotations

import math

import pytest
import torch
from torch.distributions import Bernoulli, Independent, MultivariateNormal, Normal, kl_divergence

from vae_lib import amortized
from vae_lib.data import synthetic_digits
from vae_lib.models import VAE
from vae_lib.train import fit

NOISE = 0.5


def seeded(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def linear_model(latent_dim: int = 2, pixels: int = 6, seed: int = 0):
    """A linear-Gaussian VAE, its exact posterior (mean function, variance) and its exact p(x)."""
    generator = seeded(seed)
    basis, _ = torch.linalg.qr(torch.randn(pixels, latent_dim, generator=generator, dtype=torch.float64))
    scales = torch.linspace(2.0, 1.0, latent_dim, dtype=torch.float64)
    weight, bias = basis * scales, 0.3 * torch.randn(pixels, generator=generator, dtype=torch.float64)
    model = VAE(latent_dim=latent_dim, architecture="linear", likelihood="gaussian", sigma=NOISE,
                image_shape=(1, 1, pixels)).double()
    posterior_var = 1.0 / (1.0 + scales**2 / NOISE**2)
    mean_weight = posterior_var[:, None] * weight.T / NOISE**2
    with torch.no_grad():
        model.decoder.out.weight.copy_(weight)
        model.decoder.out.bias.copy_(bias)
        model.encoder.mu.weight.copy_(mean_weight)
        model.encoder.mu.bias.copy_(-mean_weight @ bias)
        model.encoder.logvar.weight.zero_()
        model.encoder.logvar.bias.copy_(posterior_var.log())
    marginal = MultivariateNormal(bias, weight @ weight.T + NOISE**2 * torch.eye(pixels, dtype=torch.float64))

    def exact_posterior(x):
        return (x - bias) @ mean_weight.T, posterior_var.log().expand(len(x), -1)

    return model, exact_posterior, marginal


# ----------------------------------------------------------------------------- the ELBO for a given q


def test_elbo_with_posterior_is_the_models_elbo_for_the_encoders_q():
    model, x = VAE(latent_dim=3, hidden_dim=16), torch.rand(5, 784).bernoulli(generator=seeded())
    mu, logvar = model.encode(x)
    ours = amortized.elbo_with_posterior(model, x, mu, logvar, samples=3, generator=seeded(1))
    library = model.elbo(x, samples=3, generator=seeded(1)).elbo
    assert torch.allclose(ours, library)


def test_elbo_with_posterior_against_torch_distributions():
    """E_q[log Bernoulli(x | decoder(z))] by the same draws, minus torch's own Gaussian KL."""
    model, x = VAE(latent_dim=2, hidden_dim=16), torch.rand(4, 784).bernoulli(generator=seeded())
    mu, logvar = torch.randn(4, 2, generator=seeded(2)), torch.randn(4, 2, generator=seeded(3)) - 1
    ours = amortized.elbo_with_posterior(model, x, mu, logvar, samples=5, generator=seeded(4))
    z = model.reparameterize(mu, logvar, samples=5, generator=seeded(4))
    reconstruction = Bernoulli(logits=model.decode(z).flatten(2)).log_prob(x).sum(-1).mean(0)
    q = Independent(Normal(mu, (0.5 * logvar).exp()), 1)
    prior = Independent(Normal(torch.zeros(2), torch.ones(2)), 1)
    assert torch.allclose(ours, reconstruction - kl_divergence(q, prior), atol=1e-4)


# ----------------------------------------------------------------------------- optimizing each q


def test_fit_posteriors_finds_the_exact_posterior_of_a_linear_model():
    """The posterior is a diagonal Gaussian here, so the best q in the family is the posterior itself."""
    model, exact_posterior, marginal = linear_model()
    x = marginal.loc + torch.randn(4, 6, generator=seeded(5), dtype=torch.float64) @ marginal.scale_tril.T
    start = torch.zeros(4, 2, dtype=torch.float64)
    rough = amortized.fit_posteriors(model, x, start, start, steps=300, lr=0.05, samples=8, generator=seeded(6))
    fine = amortized.fit_posteriors(model, x, rough.mu, rough.logvar, steps=300, lr=0.005, samples=64,
                                    generator=seeded(7))    # a smaller step settles closer to the optimum
    exact_mu, exact_logvar = exact_posterior(x)
    assert torch.allclose(fine.mu, exact_mu, atol=0.03) and torch.allclose(fine.logvar, exact_logvar, atol=0.1)
    assert rough.elbo_trace[-20:].mean() > rough.elbo_trace[:20].mean()


def test_fit_posteriors_leaves_the_model_alone_and_records_snapshots():
    model = VAE(latent_dim=2, hidden_dim=16)
    weights = [p.detach().clone() for p in model.parameters()]
    x = torch.rand(3, 784).bernoulli(generator=seeded())
    start = torch.zeros(3, 2)
    fit = amortized.fit_posteriors(model, x, start, start, steps=4, record_at=(0, 2, 4), generator=seeded(1))
    assert all(torch.equal(a, b) for a, b in zip(weights, model.parameters()))
    assert all(p.grad is None for p in model.parameters())
    assert torch.equal(fit.snapshots[0][0], start) and torch.equal(fit.snapshots[4][0], fit.mu)
    assert not torch.equal(fit.snapshots[2][0], start) and fit.elbo_trace.shape == (4, 3)
    with pytest.raises(ValueError, match="steps must be a whole number >= 1"):
        amortized.fit_posteriors(model, x, start, start, steps=0)


# ----------------------------------------------------------------------------- SVI


def test_svi_trains_the_decoder_and_fills_the_table():
    images, _ = synthetic_digits(60, seed=0)
    torch.manual_seed(0)
    model = VAE(latent_dim=2, hidden_dim=32)
    encoder = [p.detach().clone() for p in model.encoder.parameters()]
    decoder = [p.detach().clone() for p in model.decoder.parameters()]
    result = amortized.svi(model, images, epochs=6, batch_size=20, inner_steps=3, lr=1e-2, seed=0)
    model_, mu, logvar, history = result
    assert model_ is model and mu.shape == logvar.shape == (60, 2)
    assert all(torch.equal(a, b) for a, b in zip(encoder, model.encoder.parameters()))  # never used
    assert not all(torch.equal(a, b) for a, b in zip(decoder, model.decoder.parameters()))
    assert not torch.equal(mu, torch.zeros_like(mu))
    elbos = history.column("train_elbo")
    assert len(elbos) == 6 and elbos[-1] > elbos[0]


def test_svi_is_reproducible_and_checks_its_arguments():
    images, _ = synthetic_digits(20, seed=1)

    def run():
        torch.manual_seed(0)
        return amortized.svi(VAE(latent_dim=2, hidden_dim=8), images, epochs=1, batch_size=10, seed=3).mu

    assert torch.equal(run(), run())
    with pytest.raises(ValueError, match="binarize='dynamic' or 'none'"):
        amortized.svi(VAE(latent_dim=2, hidden_dim=8), images, epochs=1, binarize="static")
    with pytest.raises(ValueError, match="epochs must be a whole number"):
        amortized.svi(VAE(latent_dim=2, hidden_dim=8), images, epochs=0)


# ----------------------------------------------------------------------------- the amortization gap


def test_an_exact_encoder_has_no_amortization_gap_and_a_perturbed_one_has():
    model, _, marginal = linear_model(seed=1)
    x = marginal.loc + torch.randn(8, 6, generator=seeded(7), dtype=torch.float64) @ marginal.scale_tril.T
    exact = amortized.amortization_gap(model, x, steps=100, eval_samples=400, importance_samples=300)
    assert exact.amortization.abs().max() < 0.05          # already optimal: nothing to gain
    # q is close to the exact posterior, so every importance weight is close to p(x):
    assert torch.all((exact.log_px - marginal.log_prob(x)).abs() < 5 * exact.log_px_error + 1e-3)
    assert torch.all(exact.log_px_error < 0.05)

    with torch.no_grad():
        model.encoder.mu.weight.add_(0.5 * torch.randn(model.encoder.mu.weight.shape, generator=seeded(8),
                                                       dtype=torch.float64))
        model.encoder.logvar.bias.add_(1.0)
    worse = amortized.amortization_gap(model, x, steps=400, lr=0.05, samples=8, eval_samples=400,
                                       importance_samples=300)
    assert worse.amortization.mean() > 0.5
    assert worse.approximation.mean().abs() < 0.1        # the family still holds the posterior
    assert torch.all((worse.log_px - marginal.log_prob(x)).abs() < 5 * worse.log_px_error + 1e-3)


def test_a_gap_without_log_px_says_so():
    gap = amortized.amortization_gap(VAE(latent_dim=2, hidden_dim=8), torch.rand(2, 784).bernoulli(), steps=2)
    assert gap.log_px is None and gap.log_px_error is None
    with pytest.raises(ValueError, match="importance_samples > 0"):
        gap.approximation


# ----------------------------------------------------------------------------- the grid posterior


def test_log_joint_on_grid_integrates_to_the_exact_evidence():
    model, exact_posterior, marginal = linear_model(seed=2)
    x = marginal.loc + torch.randn(3, 6, generator=seeded(9), dtype=torch.float64) @ marginal.scale_tril.T
    axis = torch.linspace(-5, 5, 201, dtype=torch.float64)
    log_joint = amortized.log_joint_on_grid(model, x, axis)
    log_px = torch.logsumexp(log_joint.flatten(1), dim=1) + 2 * math.log(axis[1] - axis[0])
    assert torch.allclose(log_px, marginal.log_prob(x), atol=1e-6)
    # Entry [b, i, j] sits at z = (axis[j], axis[i]): the grid's posterior mean is the exact one.
    posterior = torch.softmax(log_joint.flatten(1), dim=1).view_as(log_joint)
    mean = torch.stack([(posterior.sum(1) * axis).sum(1), (posterior.sum(2) * axis).sum(1)], dim=1)
    assert torch.allclose(mean, exact_posterior(x)[0], atol=1e-6)
    centred = amortized.log_joint_on_grid(model, x, axis / 2, center=exact_posterior(x)[0])
    centred_log_px = torch.logsumexp(centred.flatten(1), dim=1) + 2 * math.log((axis[1] - axis[0]) / 2)
    assert torch.allclose(centred_log_px, marginal.log_prob(x), atol=1e-6)
    with pytest.raises(ValueError, match="latent_dim=2"):
        amortized.log_joint_on_grid(VAE(latent_dim=3, hidden_dim=8), torch.rand(1, 784), axis)


# ----------------------------------------------------------------------------- the autoencoder


def test_the_autoencoder_decodes_the_mean_code_without_noise_or_kl():
    model = amortized.Autoencoder(latent_dim=2, hidden_dim=16)
    x = torch.rand(4, 784).bernoulli(generator=seeded())
    terms = model.elbo(x, generator=seeded(1))
    mu, _ = model.encode(x)
    assert torch.equal(terms.reconstruction, model.log_px_given_z(x, mu))
    assert torch.equal(terms.kl, torch.zeros(4)) and torch.equal(terms.objective, terms.reconstruction)
    assert torch.equal(model.elbo(x, generator=seeded(2)).elbo, terms.elbo)   # deterministic


def test_fit_trains_an_autoencoder():
    images, _ = synthetic_digits(64, seed=0)
    torch.manual_seed(0)
    model, history = fit(amortized.Autoencoder(latent_dim=2, hidden_dim=32), images, epochs=4, batch_size=16,
                         lr=3e-3, progress="none", device="cpu")
    assert history[-1]["train_reconstruction"] > history[0]["train_reconstruction"]
    assert history[-1]["train_kl"] == 0.0
