"""vae_lib.widgets.prior_samples: decoded prior samples, scaled; the explorer's pictures differ and match the model."""

from __future__ import annotations

import matplotlib
import pytest
import torch

from vae_lib.models import VAE
from vae_lib.widgets.precomputed import leaves
from vae_lib.widgets.prior_samples import SHOW, prior_scale_explorer, scaled_prior_samples

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return VAE(latent_dim=4, hidden_dim=16).eval()


def test_samples_are_the_decoded_scaled_noise(model):
    epsilon = torch.randn(6, 4, generator=torch.Generator().manual_seed(3))
    for scale in (0.0, 1.0, 2.5):
        with torch.no_grad():
            direct = torch.sigmoid(model.decode(scale * epsilon))
        torch.testing.assert_close(scaled_prior_samples(model, scale, n=6, seed=3), direct)


def test_scale_zero_decodes_the_prior_mean_for_every_sample(model):
    images = scaled_prior_samples(model, 0.0, n=5)
    assert all(torch.allclose(images[0], image, atol=1e-6) for image in images)  # equal up to rounding
    assert not torch.equal(*scaled_prior_samples(model, 1.0, n=2))


def test_binary_samples_are_binary_and_follow_the_probabilities(model):
    probabilities = scaled_prior_samples(model, 1.0, n=400)
    binary = scaled_prior_samples(model, 1.0, n=400, binary=True)
    assert set(binary.unique().tolist()) <= {0.0, 1.0}
    # Averaged over 400 images of 784 pixels, the ink matches the probabilities within a few standard errors.
    standard_error = (probabilities * (1 - probabilities)).sum().sqrt() / probabilities.numel()
    assert abs(binary.mean() - probabilities.mean()) < 4 * standard_error


def test_explorer_pictures_differ_across_settings(model):
    explorer = prior_scale_explorer(model, scales=(0.0, 1.0, 3.0), n=4)
    pictures = [leaf.value for leaf in leaves(explorer.picture)]
    assert explorer.n_pictures == 3 * len(SHOW) and len(set(pictures)) == len(pictures)
    assert explorer.sliders[0].value == 1.0 and explorer.sliders[1].value == SHOW[0]
    assert all("$" not in slider.description for slider in explorer.sliders)
