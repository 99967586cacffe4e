"""The ELBO explorer: move a Gaussian q(z) and watch the ELBO, its two terms, log p(x) and the gap.

For one observation of a one-dimensional :class:`~vae_lib.linear_gaussian.LinearGaussian`,
every quantity is exact: each picture shows the densities on the left (prior, exact posterior,
q) and, on the right, a ledger read from left to right: the reconstruction term
E_q[log p(x|z)], minus KL(q ‖ p(z)), gives the ELBO; plus the gap KL(q ‖ p(z|x)), gives
log p(x). Defined in the chapter on the ELBO; it works on the static site through
:func:`~vae_lib.widgets.slider_figure`.

>>> import torch
>>> from vae_lib.linear_gaussian import LinearGaussian
>>> model, x = LinearGaussian(A=[[3.0]], b=[0.0], sigma=1.0), torch.tensor([4.0])
>>> ledger = elbo_ledger(model, x, mean=1.0, width=0.5)
>>> round(ledger.reconstruction - ledger.kl_prior + ledger.gap - ledger.log_evidence, 12)
0.0
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import matplotlib.pyplot as plt
import torch
from matplotlib.figure import Figure
from torch import Tensor
from torch.distributions import kl_divergence

from vae_lib.linear_gaussian import LinearGaussian, diagonal_gaussian
from vae_lib.widgets.importance import POSTERIOR_COLOUR, PRIOR_COLOUR, PROPOSAL_COLOUR
from vae_lib.widgets.precomputed import Slider, SliderFigure, slider_figure

__all__ = ["ELBOLedger", "elbo_ledger", "draw_elbo", "elbo_explorer"]

GAP_COLOUR, KL_COLOUR = "#e7298a", "#7570b3"
#: How far below log p(x) the ledger's axis reaches (nats); lower values are marked as off the chart.
DEPTH = 8.0


@dataclass(frozen=True)
class ELBOLedger:
    """The exact ELBO of q = N(mean, width²) and its parts, in nats.

    Attributes:
        log_evidence: log p(x).
        reconstruction: E_q[log p(x|z)].
        kl_prior: KL(q ‖ p(z)), the regularizer.
        gap: KL(q ‖ p(z|x)) = log p(x) − ELBO.
    """

    log_evidence: float
    reconstruction: float
    kl_prior: float
    gap: float

    @property
    def elbo(self) -> float:
        """E_q[log p(x|z)] − KL(q ‖ p(z))."""
        return self.reconstruction - self.kl_prior


def elbo_ledger(model: LinearGaussian, x: Tensor, mean: float, width: float) -> ELBOLedger:
    """Every term of the ELBO of q = N(mean, width²) for ``x``, exactly (the gap via ``kl_divergence``)."""
    if model.latent_dim != 1:
        raise ValueError(f"The explorer draws one-dimensional q's; the model has d = {model.latent_dim}.")
    q_mean = torch.tensor([float(mean)], dtype=torch.float64)
    q_std = torch.tensor([float(width)], dtype=torch.float64)
    gap = kl_divergence(diagonal_gaussian(q_mean, q_std), model.posterior(x))
    return ELBOLedger(log_evidence=model.log_evidence(x).item(),
                      reconstruction=model.expected_log_likelihood(x, q_mean, q_std).item(),
                      kl_prior=model.kl_to_prior(q_mean, q_std).item(), gap=gap.item())


def _densities(ax, model: LinearGaussian, x: Tensor, mean: float, width: float, z_range: tuple[float, float]) -> None:
    z = torch.linspace(*z_range, 400, dtype=torch.float64)[:, None]
    posterior = model.posterior(x)
    for distribution, colour, label, style in [(model.prior(), PRIOR_COLOUR, "prior p(z)", "--"),
                                               (posterior, POSTERIOR_COLOUR, "posterior p(z|x)", "-"),
                                               (diagonal_gaussian([mean], [width]), PROPOSAL_COLOUR, "q(z)", "-")]:
        ax.plot(z[:, 0], distribution.log_prob(z).exp(), style, color=colour, lw=2, label=label)
    tallest = 1 / (math.sqrt(2 * math.pi) * min(float(width), float(posterior.stddev.min())))  # a Gaussian's peak
    ax.set_ylim(0, 1.15 * tallest)
    ax.set_xlim(*z_range)
    ax.set_xlabel("z")
    ax.set_ylabel("density")
    ax.set_title(f"q = N({mean:.2f}, {width:.2f}²)", fontsize=10)
    ax.legend(frameon=False, fontsize=8, loc="upper left")


def _level(ax, column: float, value: float, floor: float, colour: str) -> float:
    """Mark ``value`` at ``column``; a value below the axis is drawn at its floor as ▼. Returns the drawn y."""
    if value < floor:
        ax.plot(column, floor, "v", color=colour, ms=9)
        return floor
    ax.plot([column - 0.25, column + 0.25], [value, value], color=colour, lw=3)
    return value


def _ledger(ax, ledger: ELBOLedger, top: float) -> None:
    """Three levels, left to right: E_q[log p(x|z)], the ELBO (−KL(q‖p(z)) below it), log p(x) (+gap above)."""
    floor = ledger.log_evidence - DEPTH
    reconstruction = _level(ax, 0.0, ledger.reconstruction, floor, PROPOSAL_COLOUR)
    elbo = _level(ax, 1.0, ledger.elbo, floor, "black")
    _level(ax, 2.0, ledger.log_evidence, floor, POSTERIOR_COLOUR)
    ax.annotate("", xy=(0.75, elbo), xytext=(0.25, reconstruction),
                arrowprops={"arrowstyle": "->", "color": KL_COLOUR, "lw": 1.5})
    ax.plot([1.5, 1.5], [elbo, ledger.log_evidence], color=GAP_COLOUR, lw=5, solid_capstyle="butt")
    ax.axhline(ledger.log_evidence, color=POSTERIOR_COLOUR, ls=":", lw=1)
    ax.set_xticks([0.0, 1.0, 2.0], [f"E_q log p(x|z)\n{ledger.reconstruction:.2f}", f"ELBO\n{ledger.elbo:.2f}",
                                    f"log p(x)\n{ledger.log_evidence:.2f}"], fontsize=8)
    ax.get_xticklabels()[0].set_color(PROPOSAL_COLOUR)
    ax.set_xlim(-0.5, 2.5)
    ax.set_ylim(floor - 0.3, top)
    ax.set_ylabel("nats")
    ax.set_title(f"KL(q‖p(z)) = {ledger.kl_prior:.2f}     gap = KL(q‖p(z|x)) = {ledger.gap:.2f}", fontsize=9)


def draw_elbo(model: LinearGaussian, x: Tensor, mean: float, width: float,
              z_range: tuple[float, float] = (-3.0, 4.0)) -> Figure:
    """The picture for one q: densities (left) and the ledger reconstruction − KL = ELBO = log p(x) − gap (right).

    >>> import matplotlib; matplotlib.use("Agg")
    >>> from vae_lib.linear_gaussian import LinearGaussian
    >>> fig = draw_elbo(LinearGaussian([[3.0]], [0.0], 1.0), torch.tensor([4.0]), 0.0, 1.0)
    >>> len(fig.axes)
    2
    """
    ledger = elbo_ledger(model, x, mean, width)
    top = -0.5 * model.data_dim * math.log(2 * math.pi * model.sigma**2) + 0.5  # above the largest E_q log p(x|z)
    fig, (left, right) = plt.subplots(1, 2, figsize=(7.5, 3.0))
    fig.subplots_adjust(left=0.08, right=0.98, bottom=0.2, top=0.9, wspace=0.25)
    _densities(left, model, x, mean, width, z_range)
    _ledger(right, ledger, top)
    for ax in (left, right):
        ax.spines[["top", "right"]].set_visible(False)
    return fig


def elbo_explorer(model: LinearGaussian, x: Tensor, means: Sequence[float], widths: Sequence[float], *,
                  start: tuple[float, float] | None = None) -> SliderFigure:
    """Sliders for q's mean and width over precomputed pictures of :func:`draw_elbo`.

    Args:
        model, x: the model (one latent dimension) and the observation.
        means, widths: the slider values (``len(means) × len(widths)`` pictures are drawn).
        start: the starting ``(mean, width)`` (values on the sliders); default: the prior's (0, 1)
            if on the sliders, else the middle values.
    """
    means, widths = [float(m) for m in means], [float(w) for w in widths]
    start_mean, start_width = start if start is not None else (0.0 if 0.0 in means else None,
                                                             1.0 if 1.0 in widths else None)

    def draw(mean: float, width: float) -> Figure:
        return draw_elbo(model, x, mean, width)

    return slider_figure(draw, {"mean": Slider("q mean", means, start_mean, "{:.2f}"),
                                "width": Slider("q width (sd)", widths, start_width, "{:.2f}")})
