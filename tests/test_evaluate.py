"""vae_lib.evaluate: test ELBO, chunked importance sampling, ESS, and the IWAE gap against an exact log p(x)."""

from __future__ import annotations

import math

import pytest
import torch

from vae_lib import evaluate  # not `from ... import test_elbo`: pytest would collect it as a test
from vae_lib._sampling import derived_seed
from vae_lib.data import binarize
from vae_lib.estimators import log_importance_weights
from vae_lib.linear_gaussian import linear_gaussian_vae
from vae_lib.models import VAE


def seeded(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@pytest.fixture
def model() -> VAE:
    return VAE(latent_dim=2, hidden_dim=16)


@pytest.fixture
def images() -> torch.Tensor:
    return torch.rand(12, 1, 28, 28, generator=seeded(123))


def test_bits_per_dim():
    assert evaluate.bits_per_dim(784 * math.log(2)) == pytest.approx(1.0)
    assert evaluate.bits_per_dim(16 * math.log(2) * 3, dims=16) == pytest.approx(3.0)
    torch.testing.assert_close(evaluate.bits_per_dim(torch.tensor([0.0, 784 * math.log(2)])), torch.tensor([0.0, 1.0]))
    with pytest.raises(ValueError, match="dims must be a positive integer"):
        evaluate.bits_per_dim(1.0, dims=0)


def test_test_elbo_averages_the_model_elbo_per_image(model, images):
    model.train()
    result = evaluate.test_elbo(model, images, batch_size=5, seed=3)
    assert model.training, "the model's mode must be restored"
    assert result["n_images"] == 12
    assert result["elbo"] == pytest.approx(result["reconstruction"] - result["kl"], abs=1e-4)
    assert result["bits_per_dim"] == pytest.approx(-result["elbo"] / (784 * math.log(2)))
    # The same number from the model directly (one batch, the same seed: the same z draws).
    whole = evaluate.test_elbo(model, images, batch_size=100, seed=3)
    direct = model.elbo(images, generator=seeded(derived_seed(3, evaluate.TEST_NOISE_STREAM)))
    assert whole["elbo"] == pytest.approx(direct.elbo.mean().item(), rel=1e-6)
    assert whole["kl"] == pytest.approx(result["kl"], rel=1e-6)  # the KL is exact, batching can't change it


def test_test_elbo_binarizes_and_converts_uint8(model, images):
    as_bytes = (images * 255).round().to(torch.uint8)
    thresholded = evaluate.test_elbo(model, as_bytes, binarize="threshold")
    by_hand = evaluate.test_elbo(model, (images > 0.5).float())
    assert thresholded["elbo"] == pytest.approx(by_hand["elbo"], rel=1e-6)
    sampled = [evaluate.test_elbo(model, images, binarize="dynamic", seed=s)["elbo"] for s in (0, 0, 1)]
    assert sampled[0] == sampled[1] != sampled[2]
    # "dynamic" and "static" score the same one seeded sample; it does not depend on the batch size.
    assert evaluate.test_elbo(model, images, binarize="static", seed=0)["elbo"] == sampled[0]
    one_sample = binarize(images, "static", seed=derived_seed(0, evaluate.TEST_BINARIZE_STREAM))
    assert evaluate.test_elbo(model, one_sample, seed=0)["elbo"] == sampled[0]
    assert evaluate.log_px(model, images, k=5, binarize="dynamic", batch_size=3).mean == pytest.approx(
        evaluate.log_px(model, one_sample, k=5, batch_size=3).mean, rel=1e-6)
    with pytest.raises(ValueError, match="Unknown binarization 'round'"):
        evaluate.test_elbo(model, images, binarize="round")


def test_chunked_log_px_equals_the_unchunked_computation(model, images):
    k = 50
    chunked = evaluate.log_px(model, images, k=k, chunk_size=7, batch_size=100, seed=11)
    one_chunk = evaluate.log_px(model, images, k=k, chunk_size=k, batch_size=100, seed=11)
    torch.testing.assert_close(chunked.log_px, one_chunk.log_px, rtol=1e-5, atol=1e-5)
    # The ESS is a ratio of sums of tiny weights: float32 leaves it good to ~1e-4 relative.
    torch.testing.assert_close(chunked.ess, one_chunk.ess, rtol=1e-3, atol=1e-3)
    # ... and both equal logsumexp of all k log-weights at once, from the shared implementation.
    with torch.no_grad():
        log_w = log_importance_weights(model, images, k=k, generator=seeded(11))
    torch.testing.assert_close(one_chunk.log_px, torch.logsumexp(log_w, 0) - math.log(k), rtol=1e-5, atol=1e-5)
    ess = torch.logsumexp(log_w, 0).mul(2).sub(torch.logsumexp(2 * log_w, 0)).exp()
    torch.testing.assert_close(one_chunk.ess, ess, rtol=1e-3, atol=1e-3)
    assert ((1 <= chunked.ess) & (chunked.ess <= k)).all()
    assert 1 <= chunked.mean_ess <= k
    assert chunked.mean == pytest.approx(chunked.log_px.mean().item(), rel=1e-6)
    assert (chunked.standard_error >= 0).all() and chunked.mean_standard_error >= 0


def test_log_px_is_reproducible_and_restores_the_model(model, images):
    model.train()
    a = evaluate.log_px(model, images, k=20, seed=5)
    b = evaluate.log_px(model, images, k=20, generator=seeded(5))
    assert torch.equal(a.log_px, b.log_px)
    assert not torch.equal(a.log_px, evaluate.log_px(model, images, k=20, seed=6).log_px)
    assert model.training and model.device.type == "cpu"
    assert math.isnan(evaluate.log_px(model, images, k=1).standard_error[0].item())


def test_exact_posterior_gives_full_ess_and_exact_log_likelihood():
    model, marginal = linear_gaussian_vae(seed=2)
    x = marginal.sample((50,))
    result = evaluate.log_px(model, x, k=30, chunk_size=8)
    torch.testing.assert_close(result.log_px.double(), marginal.log_prob(x), rtol=0, atol=1e-5)
    torch.testing.assert_close(result.ess, torch.full((50,), 30.0), rtol=1e-5, atol=1e-4)
    assert result.mean_standard_error < 1e-3


def test_importance_sampling_converges_to_the_exact_log_likelihood():
    model, marginal = linear_gaussian_vae(encoder_error=0.1, seed=3)
    x = marginal.sample((200,))
    exact = marginal.log_prob(x).mean().item()
    elbo = evaluate.test_elbo(model, x)["elbo"]
    bounds = evaluate.iwae_gap(model, x, ks=(1, 10, 100), chunk_size=250, batch_size=200)
    result = evaluate.log_px(model, x, k=1000, chunk_size=250, batch_size=200)
    bounds[1000] = result.mean  # the same seed and estimator as iwae_gap uses
    gaps = [exact - bounds[k] for k in (1, 10, 100, 1000)]
    assert elbo < bounds[10] < bounds[1000]
    assert gaps == sorted(gaps, reverse=True), gaps  # the gap shrinks as k grows ...
    assert gaps[0] > 1.0 and -0.02 < gaps[-1] < 0.15  # ... from over a nat to almost nothing
    assert result.mean_standard_error < 0.05
    # An imperfect encoder leaves fewer effective samples than the k drawn (the exact one leaves all k).
    assert 1 < result.mean_ess < 0.9 * 1000


def test_standard_error_does_not_see_the_gap_of_a_poor_encoder():
    # What LogPxResult's docstring warns about: the estimate sits nats below log p(x) while its
    # standard error (the spread around L_k, not the distance to log p(x)) is a few hundredths.
    model, marginal = linear_gaussian_vae(encoder_error=0.3, seed=4)
    noise = torch.randn(100, marginal.loc.shape[-1], generator=seeded(4), dtype=marginal.loc.dtype)
    x = marginal.loc + noise @ marginal.scale_tril.T  # seeded draws from the exact p(x)
    result = evaluate.log_px(model, x, k=100)
    gap = marginal.log_prob(x).mean().item() - result.mean
    assert gap > 2.0 and result.mean_standard_error < 0.1
    assert gap > 20 * result.mean_standard_error
    assert result.mean_ess < 0.1 * result.k  # the warning sign that is there to see


def test_bad_arguments_are_rejected(model, images):
    with pytest.raises(ValueError, match="k must be a positive integer"):
        evaluate.log_px(model, images, k=0)
    with pytest.raises(ValueError, match="chunk_size must be a positive integer"):
        evaluate.log_px(model, images, k=10, chunk_size=0)
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        evaluate.test_elbo(model, images, batch_size=0)
    with pytest.raises(ValueError, match="non-empty batch"):
        evaluate.test_elbo(model, images[:0])
    with pytest.raises(ValueError, match="ks must list at least one"):
        evaluate.iwae_gap(model, images, ks=())
    with pytest.raises(ValueError, match=r"values in \[0, 1\]"):
        evaluate.log_px(model, images * 255, k=2)
