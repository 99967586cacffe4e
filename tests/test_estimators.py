"""vae_lib.estimators: the VAE's importance sampling, against its old behaviour and an exact log p(x)."""

from __future__ import annotations

import pytest
import torch

from vae_lib.estimators import importance_log_sums, iwae_bound, log_importance_weights
from vae_lib.models import VAE, linear_gaussian_vae


def seeded(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def sample_images(marginal: torch.distributions.MultivariateNormal, n: int, seed: int = 0) -> torch.Tensor:
    """n seeded draws from the exact p(x) of ``linear_gaussian_vae`` (the global RNG stays untouched)."""
    noise = torch.randn(n, marginal.loc.shape[-1], generator=seeded(seed), dtype=marginal.loc.dtype)
    return marginal.loc + noise @ marginal.scale_tril.T


# ---------------------------------------------------------------------------- a VAE: the encoder as proposal


def test_iwae_bound_is_reproducible_with_a_generator():
    images = torch.rand(5, 1, 28, 28, generator=seeded(123))
    model = VAE(latent_dim=2, hidden_dim=16)
    assert torch.equal(iwae_bound(model, images, k=5, generator=seeded(3)),
                       iwae_bound(model, images, k=5, generator=seeded(3)))


def test_sample_i_is_the_same_whatever_the_chunking():
    images = torch.rand(4, 784, generator=seeded(7))
    model = VAE(latent_dim=2, hidden_dim=16)
    ten = log_importance_weights(model, images, k=10, generator=seeded(1))
    torch.testing.assert_close(log_importance_weights(model, images, k=4, generator=seeded(1)), ten[:4])
    whole = importance_log_sums(model, images, k=10, generator=seeded(1))
    chunked = importance_log_sums(model, images, k=10, chunk_size=3, generator=seeded(1))
    torch.testing.assert_close(chunked, whole)
    torch.testing.assert_close(whole[0], torch.logsumexp(ten, 0))
    torch.testing.assert_close(whole[1], torch.logsumexp(2 * ten, 0))


def test_exact_posterior_closes_the_gap():
    model, marginal = linear_gaussian_vae(seed=0)
    x = sample_images(marginal, 200)
    exact = marginal.log_prob(x)
    log_weights = log_importance_weights(model, x, k=8, generator=seeded(0))
    # With q(z|x) = p(z|x) every importance weight equals p(x): zero variance, zero gap.
    torch.testing.assert_close(log_weights, exact.expand(8, -1), rtol=0, atol=1e-9)
    torch.testing.assert_close(iwae_bound(model, x, k=1, generator=seeded(0)), exact, rtol=0, atol=1e-9)
    # The ELBO's own estimator (analytic KL + sampled reconstruction) is unbiased for the same value.
    elbo = model.elbo(x, samples=200, generator=seeded(1)).elbo
    assert elbo.mean().item() == pytest.approx(exact.mean().item(), abs=0.02)


def test_bounds_are_ordered_and_converge_to_the_exact_log_likelihood():
    model, marginal = linear_gaussian_vae(encoder_error=0.1, seed=1)
    x = sample_images(marginal, 300)
    exact = marginal.log_prob(x).mean().item()
    elbo = model.elbo(x, samples=20, generator=seeded(0)).elbo.mean().item()
    bounds = {k: iwae_bound(model, x, k=k, generator=seeded(k), chunk_size=250).mean().item() for k in (1, 10, 100, 1000)}
    gaps = {k: exact - bound for k, bound in bounds.items()}
    assert elbo == pytest.approx(bounds[1], abs=0.3)  # two estimates of the same ELBO
    assert elbo < bounds[10] < bounds[1000] < exact + 0.01
    assert gaps[1] > gaps[10] > gaps[100] > gaps[1000] > -0.01
    assert gaps[1] > 1.0 and gaps[1000] < 0.15


def test_vae_estimators_reject_bad_arguments():
    model = VAE(latent_dim=2, hidden_dim=16)
    images = torch.rand(5, 1, 28, 28, generator=seeded(123))
    with pytest.raises(ValueError, match="k .* must be an integer >= 1"):
        iwae_bound(model, images, k=0)
    with pytest.raises(ValueError, match="k .* must be an integer >= 1"):
        log_importance_weights(model, images, k=0)
    with pytest.raises(ValueError, match="chunk_size must be an integer >= 1"):
        importance_log_sums(model, images, k=5, chunk_size=0)
    with pytest.raises(ValueError, match="add the channel dimension"):
        iwae_bound(model, images[:, 0], k=2)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_iwae_bound_runs_on_cuda_with_a_cuda_generator():
    model = VAE(latent_dim=2, hidden_dim=16, architecture="conv").cuda()
    x = torch.rand(5, 1, 28, 28, generator=seeded(123)).cuda()
    g = torch.Generator(device="cuda").manual_seed(0)
    assert iwae_bound(model, x, k=7, generator=g, chunk_size=3).device.type == "cuda"
