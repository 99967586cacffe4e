"""The chapter on training a VAE on MNIST: decoded prior samples, with a slider for how far from the prior.

New digits come from the prior: z ~ N(0, I), then the decoder. The explorer decodes the same
noise ε scaled by a factor τ (the temperature), z = τ · ε: τ = 1 draws from the prior itself, τ = 0 decodes the
prior's mean for every sample, and τ > 1 goes where the KL term kept the codes of the training
images from going. A second slider shows either the decoder's pixel probabilities (what the
book plots as "the sample") or one binary image drawn from them. Every picture is precomputed
(see :mod:`vae_lib.widgets.precomputed`), so the sliders work on the static site too.

>>> import matplotlib; matplotlib.use("Agg")
>>> from vae_lib.models import VAE
>>> explorer = prior_scale_explorer(VAE(latent_dim=2, hidden_dim=8), scales=(0.0, 1.0), n=4)
>>> explorer.n_pictures, [s.description for s in explorer.sliders]
(4, ['temperature τ of z', 'what to show'])
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import torch
from matplotlib.figure import Figure

from vae_lib.i18n import tr
from vae_lib.models import VAE
from vae_lib.plots import plot_digits
from vae_lib.widgets.precomputed import Slider, SliderFigure, slider_figure

__all__ = ["DEFAULT_SCALES", "SHOW", "scaled_prior_samples", "prior_scale_explorer"]

#: Slider values of τ: 0 (the prior's mean), 1 (the prior itself), up to 3 standard deviations.
DEFAULT_SCALES: tuple[float, ...] = (0.0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 2.5, 3.0)
#: What the second slider offers.
SHOW = ("probabilities", "a binary sample")


@torch.no_grad()
def scaled_prior_samples(model: VAE, scale: float, n: int = 16, seed: int = 0,
                         binary: bool = False) -> torch.Tensor:
    """Decode z = scale · ε for ``n`` seeded ε ~ N(0, I): pixel probabilities, or one binary image each.

    The same ``seed`` gives the same ε for every scale, so the pictures differ by the scale only.

    Args:
        model: a trained Bernoulli :class:`~vae_lib.models.VAE`.
        scale: the factor τ; 1 samples from the prior.
        n: how many samples.
        seed: seeds ε (and the binary draw).
        binary: draw one binary image from the pixel probabilities instead of returning them.

    Returns:
        ``[n, 1, 28, 28]`` images in [0, 1] on the CPU.

    >>> from vae_lib.models import VAE
    >>> model = VAE(latent_dim=2, hidden_dim=8)
    >>> a = scaled_prior_samples(model, 0.0, n=3)
    >>> bool(torch.allclose(a[0], a[1], atol=1e-6)), a.shape
    (True, torch.Size([3, 1, 28, 28]))
    """
    generator = torch.Generator().manual_seed(seed)
    epsilon = torch.randn(n, model.config.latent_dim, generator=generator)
    model.eval()
    probabilities = model.to_images(model.decode((scale * epsilon).to(model.device))).cpu()
    if not binary:
        return probabilities
    return (torch.rand(probabilities.shape, generator=generator) < probabilities).float()


def _draw(model: VAE, scale: float, show: str, n: int, seed: int) -> Figure:
    images = scaled_prior_samples(model, scale, n=n, seed=seed, binary=show == SHOW[1])
    columns = 4 if n % 4 == 0 else n
    fig, ax = plt.subplots(figsize=(3.4, 3.4 * (n // columns) / columns + 0.35))
    plot_digits(images, columns=columns, ax=ax)
    what = "pixel probabilities" if show == SHOW[0] else "binary samples"
    ax.set_title(f"z = {scale:g} · ε: {what}", fontsize=10)
    return fig


def prior_scale_explorer(model: VAE, scales: Sequence[float] = DEFAULT_SCALES, n: int = 16,
                         seed: int = 0) -> SliderFigure:
    """Sliders for the temperature τ of z = τ · ε and for what to show; a grid of ``n`` decoded samples.

    Args:
        model: a trained Bernoulli :class:`~vae_lib.models.VAE`.
        scales: the values of the scale slider (it starts at 1, the prior, when 1 is one of them).
        n: samples per picture (a multiple of 4 draws a square-ish grid).
        seed: seeds ε; the same for every picture.
    """
    start = 1.0 if 1.0 in scales else None
    return slider_figure(lambda scale, show: _draw(model, scale, show, n, seed),
                         {"scale": Slider(tr("temperature τ of z"), list(scales), start),
                          "show": Slider(tr("what to show"), list(SHOW), SHOW[0],
                                         labels=[tr("pixel probabilities"), tr("a binary sample")])},
                         alt=tr("A grid of {n} digits decoded from z = τ · ε, ε drawn from the prior N(0, I)", n=str(n)))
