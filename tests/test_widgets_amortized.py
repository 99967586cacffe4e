"""vae_lib.widgets.amortized: the posterior explorer (exact posterior, encoder's q, per-image q)."""

from __future__ import annotations

import matplotlib
import pytest
import torch

matplotlib.use("Agg")

from vae_lib.amortized import elbo_with_posterior  # noqa: E402
from vae_lib.models import VAE  # noqa: E402
from vae_lib.widgets.amortized import draw_posterior, posterior_explorer, posterior_fits  # noqa: E402
from vae_lib.widgets.precomputed import leaves  # noqa: E402


@pytest.fixture(scope="module")
def fits():
    torch.manual_seed(0)
    model = VAE(latent_dim=2, hidden_dim=16)
    x = torch.rand(2, 784, generator=torch.Generator().manual_seed(1)).bernoulli()
    return model, x, posterior_fits(model, x, steps=(0, 5, 20), points=21, eval_samples=50, seed=3)


def test_the_fits_hold_the_librarys_numbers(fits):
    model, x, found = fits
    assert found.steps == [0, 5, 20] and found.elbo.shape == (3, 2)
    assert torch.allclose(found.posterior.flatten(1).sum(1), torch.ones(2))
    zeros = torch.zeros(2, 2)
    assert torch.equal(found.snapshots[0][0], zeros) and torch.equal(found.snapshots[0][1], zeros)  # the prior
    with torch.no_grad():
        mu, logvar = model.encode(x)
        encoder_elbo = elbo_with_posterior(model, x, mu, logvar, 50, torch.Generator().manual_seed(4))
        prior_elbo = elbo_with_posterior(model, x, zeros, zeros, 50, torch.Generator().manual_seed(4))
    assert torch.allclose(found.encoder_elbo, encoder_elbo) and torch.allclose(found.elbo[0], prior_elbo)


def test_the_picture_shows_the_elbos_and_holds_both_ellipses(fits):
    _, _, found = fits
    figure = draw_posterior(found, image=1, step=20)
    ax = figure.axes[0]
    assert f"per-image q {found.elbo[2, 1]:.1f}" in ax.get_title()
    assert f"encoder {found.encoder_elbo[1]:.1f}" in ax.get_title()
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    for mu in (found.encoder[0][1], found.snapshots[20][0][1]):
        assert x0 < mu[0].item() < x1 and y0 < mu[1].item() < y1
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["encoder's q", "per-image q, step 20"]


def test_the_explorer_has_one_distinct_picture_per_image_and_step(fits):
    _, _, found = fits
    figure = posterior_explorer(found)
    pictures = [leaf.value for leaf in leaves(figure.picture)]
    assert figure.n_pictures == 6 and len(set(pictures)) == 6
    assert [s.description for s in figure.sliders] == ["test image", "optimization step"]
