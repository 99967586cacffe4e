"""The chapter on amortized inference: a 2-D posterior, the encoder's q, and a per-image q being optimized.

:func:`posterior_fits` computes, for a few images and a trained two-dimensional VAE, the exact
posterior p(z|x) on a fine grid around it, the encoder's q(z|x), and a per-image Gaussian
optimized from the prior, recorded at chosen steps, each with its ELBO. :func:`posterior_explorer`
turns them into sliders (image, optimization step) that work on the static site. The sliders'
labels and the pictures' alt text are in the reader's language (:func:`vae_lib.i18n.tr`); the text
drawn in the pictures stays in English, like every figure label of the book.

>>> import matplotlib; matplotlib.use("Agg")
>>> import torch
>>> from vae_lib.models import VAE
>>> fits = posterior_fits(VAE(latent_dim=2, hidden_dim=8), torch.rand(2, 784).bernoulli(), steps=(0, 3),
...                       points=11, eval_samples=4)
>>> fits.elbo.shape, fits.posterior.shape, fits.steps
(torch.Size([2, 2]), torch.Size([2, 11, 11]), [0, 3])
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure
from matplotlib.patches import Ellipse
from torch import Tensor

from vae_lib.amortized import elbo_with_posterior, fit_posteriors, log_joint_on_grid
from vae_lib.i18n import tr
from vae_lib.models import VAE
from vae_lib.widgets.precomputed import Slider, SliderFigure, slider_figure

__all__ = ["PosteriorFits", "posterior_fits", "draw_posterior", "posterior_explorer"]

ENCODER_COLOUR, FITTED_COLOUR = "#d95f02", "#1f78b4"


@dataclass
class PosteriorFits:
    """Everything the explorer shows, for B images.

    Attributes:
        images: ``[B, 1, 28, 28]``.
        centers: ``[B, 2]``, the posterior means, where each image's grid is centred.
        axes: ``[B, G]``, each image's grid offsets along both latent axes.
        posterior: p(z|x) on each image's grid, ``[B, G, G]`` (rows go up z₂), summing to 1.
        encoder: the encoder's ``(mu, logvar)``, each ``[B, 2]``.
        snapshots: ``{step: (mu, logvar)}`` of the per-image q optimized from the prior.
        elbo: ``[len(steps), B]``: the ELBO at each snapshot (the same draws for every snapshot).
        encoder_elbo: ``[B]``: the ELBO of the encoder's q (the same draws again).
    """

    images: Tensor
    centers: Tensor
    axes: Tensor
    posterior: Tensor
    encoder: tuple[Tensor, Tensor]
    snapshots: dict[int, tuple[Tensor, Tensor]]
    elbo: Tensor
    encoder_elbo: Tensor

    @property
    def steps(self) -> list[int]:
        return sorted(self.snapshots)


def _posterior_on_local_grids(model: VAE, x: Tensor, points: int) -> tuple[Tensor, Tensor, Tensor]:
    """Find each posterior on a coarse grid, then evaluate it on a fine grid of ±5 sd around its mean."""
    coarse_axis = torch.linspace(-4.0, 4.0, 81)
    coarse = torch.softmax(log_joint_on_grid(model, x, coarse_axis).flatten(1), dim=1).view(len(x), 81, 81)
    second, first = torch.meshgrid(coarse_axis, coarse_axis, indexing="ij")
    centers = torch.stack([(coarse * first).sum((1, 2)), (coarse * second).sum((1, 2))], dim=1)
    spread = torch.stack([(coarse * (first - centers[:, 0, None, None]) ** 2).sum((1, 2)),
                          (coarse * (second - centers[:, 1, None, None]) ** 2).sum((1, 2))], dim=1).sqrt()
    half_widths = 5 * spread.amax(1).clamp_min(0.05)
    axes, posteriors = [], []
    for i in range(len(x)):
        axis = torch.linspace(-1.0, 1.0, points) * half_widths[i]
        log_joint = log_joint_on_grid(model, x[i:i + 1], axis, center=centers[i:i + 1])
        axes.append(axis)
        posteriors.append(torch.softmax(log_joint.flatten(), dim=0).view(points, points))
    return centers, torch.stack(axes), torch.stack(posteriors)


def posterior_fits(model: VAE, x: Tensor, steps: Sequence[int] = (0, 10, 50, 300), *, points: int = 61,
                   lr: float = 0.05, samples: int = 4, eval_samples: int = 200, seed: int = 0) -> PosteriorFits:
    """The exact posterior on a fine grid, the encoder's q and a per-image q optimized from the prior N(0, I).

    Args:
        model: a trained VAE with ``latent_dim=2``.
        x: a few images (binary for a Bernoulli decoder).
        steps: the optimization steps to record (0 is the prior itself).
        points: grid points along each axis of each image's grid.
        lr, samples: the per-image optimization (see :func:`vae_lib.amortized.fit_posteriors`).
        eval_samples: draws of z per ELBO estimate.
        seed: seeds every draw.
    """
    steps = sorted(set(int(s) for s in steps))
    centers, axes, posterior = _posterior_on_local_grids(model, x, points)
    with torch.no_grad():
        encoder = model.encode(x)
    start = torch.zeros_like(encoder[0])
    fit = fit_posteriors(model, x, start, start.clone(), steps=max(max(steps), 1), lr=lr, samples=samples,
                         generator=torch.Generator().manual_seed(seed), record_at=tuple(steps))
    with torch.no_grad():
        def score(mu: Tensor, logvar: Tensor) -> Tensor:
            return elbo_with_posterior(model, x, mu, logvar, eval_samples, torch.Generator().manual_seed(seed + 1))
        elbo = torch.stack([score(*fit.snapshots[step]) for step in steps])
        encoder_elbo = score(*encoder)
    return PosteriorFits(x.view(len(x), 1, 28, 28), centers, axes, posterior, encoder, fit.snapshots, elbo,
                         encoder_elbo)


def _ellipse(ax, mu: Tensor, logvar: Tensor, colour: str, style: str, label: str) -> np.ndarray:
    """Draw the 2-standard-deviation ellipse of a diagonal Gaussian; return its bounding box [x0, x1, y0, y1]."""
    centre, sd = mu.numpy(), (0.5 * logvar).exp().numpy()
    ax.add_patch(Ellipse(tuple(centre), 4 * sd[0], 4 * sd[1], fill=False, edgecolor=colour, linestyle=style,
                         linewidth=1.8, label=label))
    ax.plot(*centre, "+", color=colour, markersize=7)
    return np.array([centre[0] - 2 * sd[0], centre[0] + 2 * sd[0], centre[1] - 2 * sd[1], centre[1] + 2 * sd[1]])


def _square_window(boxes: list[np.ndarray]) -> tuple[tuple[float, float], tuple[float, float]]:
    """The smallest square (with a margin) holding every box."""
    boxes = np.array(boxes)
    x0, x1, y0, y1 = boxes[:, 0].min(), boxes[:, 1].max(), boxes[:, 2].min(), boxes[:, 3].max()
    half = 0.55 * max(x1 - x0, y1 - y0)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    return (cx - half, cx + half), (cy - half, cy + half)


def draw_posterior(fits: PosteriorFits, image: int, step: int) -> Figure:
    """One picture: the posterior of image ``image`` (0-based), the encoder's q and the optimized q at ``step``.

    The window zooms to hold all three, so the optimized q is seen arriving from the prior.
    """
    index = fits.steps.index(step)
    fig, ax = plt.subplots(figsize=(4.6, 4.0))
    centre, axis = fits.centers[image].numpy(), fits.axes[image].numpy()
    posterior = fits.posterior[image].numpy()
    ax.contourf(centre[0] + axis, centre[1] + axis, posterior,
                levels=np.linspace(posterior.max() * 0.03, posterior.max(), 7), cmap="Greys")
    boxes = [np.array([centre[0] + axis[0] * 0.8, centre[0] + axis[-1] * 0.8,
                       centre[1] + axis[0] * 0.8, centre[1] + axis[-1] * 0.8])]
    boxes.append(_ellipse(ax, fits.encoder[0][image], fits.encoder[1][image], ENCODER_COLOUR, "--", "encoder's q"))
    mu, logvar = fits.snapshots[step]
    boxes.append(_ellipse(ax, mu[image], logvar[image], FITTED_COLOUR, "-", f"per-image q, step {step}"))
    xlim, ylim = _square_window(boxes)
    ax.set(xlim=xlim, ylim=ylim, aspect="equal", xlabel="z₁", ylabel="z₂")
    ax.legend(loc="lower left", fontsize=8, frameon=True, framealpha=0.85)
    inset = ax.inset_axes([0.78, 0.78, 0.2, 0.2])
    inset.imshow(fits.images[image, 0].numpy(), cmap="gray_r")
    inset.set_xticks([])
    inset.set_yticks([])
    ax.set_title(f"ELBO: per-image q {fits.elbo[index, image]:.1f}, encoder {fits.encoder_elbo[image]:.1f}",
                 fontsize=9.5)
    fig.subplots_adjust(left=0.15, right=0.97, bottom=0.12, top=0.92)
    return fig


def posterior_explorer(fits: PosteriorFits) -> SliderFigure:
    """Sliders for the image and the optimization step over :func:`draw_posterior`, precomputed."""
    def draw(image: int, step: int) -> Figure:
        return draw_posterior(fits, image - 1, step)

    return slider_figure(draw, {
        "image": Slider(tr("test image"), list(range(1, len(fits.images) + 1)), 1),
        "step": Slider(tr("optimization step"), fits.steps, fits.steps[0]),
    }, alt=tr("Grey contours of the exact posterior of one test image over z₁ and z₂, the q of the encoder as a "
              "dashed ellipse and the per-image q, optimized step by step, as a solid ellipse; the digit in a "
              "corner"))  # no apostrophe: the HTML escapes it, and the Chinese edition could not find the text
