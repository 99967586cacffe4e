"""vae_lib.latent against independent references: the model's own methods, scipy, torch.distributions, NumPy."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import stats
from torch.distributions import Normal, kl_divergence

from vae_lib import latent
from vae_lib.divergences import kl_standard_normal
from vae_lib.models import VAE


@pytest.fixture
def model() -> VAE:
    torch.manual_seed(0)
    return VAE(latent_dim=3, hidden_dim=32)


def test_encode_set_matches_one_big_forward_pass_and_scales_uint8(model):
    images = torch.randint(0, 256, (23, 1, 28, 28), dtype=torch.uint8)
    codes = latent.encode_set(model, images, batch_size=5)
    mu, logvar = model.encode(images.float() / 255)
    torch.testing.assert_close(codes.mu, mu.detach())
    torch.testing.assert_close(codes.logvar, logvar.detach())
    torch.testing.assert_close(codes.sigma, (0.5 * logvar.detach()).exp())
    assert model.training, "encode_set must leave the model's mode as it found it"


def test_decode_is_the_sigmoid_of_the_decoder(model):
    z = torch.randn(4, 3, generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(latent.decode(model, z), torch.sigmoid(model.decode(z)).detach())
    with pytest.raises(ValueError, match="latent space has 3"):
        latent.decode(model, torch.zeros(2, 5))


def test_normal_grid_is_the_prior_quantiles():
    values = latent.normal_grid(7, outer_probability=0.1)
    np.testing.assert_allclose(values.numpy(), stats.norm.ppf(np.linspace(0.1, 0.9, 7)), atol=1e-6)
    with pytest.raises(ValueError, match="between 0 and 0.5"):
        latent.normal_grid(5, outer_probability=0.5)


def test_decoded_grid_puts_large_z2_at_the_top_like_a_plot():
    torch.manual_seed(0)
    model = VAE(latent_dim=2, hidden_dim=16)
    images, values = latent.decoded_grid(model, n=4)
    top_left = latent.decode(model, torch.tensor([[values[0], values[-1]]]))
    bottom_right = latent.decode(model, torch.tensor([[values[-1], values[0]]]))
    torch.testing.assert_close(images[0, 0], top_left[0, 0])
    torch.testing.assert_close(images[-1, -1], bottom_right[0, 0])
    with pytest.raises(ValueError, match="needs a 2-D latent space"):
        latent.decoded_grid(VAE(latent_dim=3))


def test_interpolation_is_a_straight_line_with_both_ends():
    a, b = torch.tensor([1.0, -2.0, 0.5]), torch.tensor([-3.0, 4.0, 0.5])
    path = latent.interpolate(a, b, steps=9)
    torch.testing.assert_close(path[0], a)
    torch.testing.assert_close(path[-1], b)
    torch.testing.assert_close(path[4], (a + b) / 2)
    second_difference = path[2:] - 2 * path[1:-1] + path[:-2]
    assert second_difference.abs().max() < 1e-6  # equal steps on one line
    with pytest.raises(ValueError, match="same shape"):
        latent.interpolate(a, torch.zeros(2), steps=3)


def test_kl_per_dimension_adds_up_to_the_elbos_kl_and_matches_torch():
    generator = torch.Generator().manual_seed(0)
    mu = torch.randn(200, 4, generator=generator, dtype=torch.float64) * torch.tensor([0.1, 1.0, 2.0, 0.0],
                                                                                       dtype=torch.float64)
    logvar = torch.randn(200, 4, generator=generator, dtype=torch.float64) - 1.0
    per_dim = latent.kl_per_dimension(mu, logvar)
    reference = kl_divergence(Normal(mu, (0.5 * logvar).exp()), Normal(0.0, 1.0)).mean(0)
    torch.testing.assert_close(per_dim, reference)
    torch.testing.assert_close(per_dim.sum(), kl_standard_normal(mu, logvar).mean())


def test_kl_of_one_dimension_agrees_with_monte_carlo():
    mu, sigma = 1.2, 0.5
    closed = float(latent.kl_per_dimension(torch.tensor([[mu]]), torch.tensor([[2 * np.log(sigma)]])))
    z = np.random.default_rng(0).normal(mu, sigma, size=200_000)
    log_ratio = stats.norm.logpdf(z, mu, sigma) - stats.norm.logpdf(z)
    assert abs(log_ratio.mean() - closed) < 4 * log_ratio.std() / np.sqrt(z.size)


def test_activity_is_the_variance_of_the_posterior_means_over_the_data():
    mu = torch.tensor(np.random.default_rng(0).normal(size=(50, 3)) * [1.0, 0.05, 0.2], dtype=torch.float32)
    np.testing.assert_allclose(latent.activity(mu).numpy(), np.var(mu.numpy(), axis=0), rtol=1e-5)
    assert latent.active_units(mu).tolist() == [True, False, True]  # 0.05² = 0.0025 < 0.01 < 0.2² = 0.04
    exactly = torch.tensor([[0.1], [-0.1]])  # variance 0.01: not *more* than the threshold
    assert not bool(latent.active_units(exactly, threshold=float(latent.activity(exactly)))[0])
    with pytest.raises(ValueError, match="at least two images"):
        latent.activity(torch.zeros(1, 3))
