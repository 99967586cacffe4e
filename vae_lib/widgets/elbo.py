"""The ELBO explorer: move a Gaussian q(z) and watch the ELBO, its two terms, log p(x) and the gap.

For one observation of a one-dimensional :class:`~vae_lib.linear_gaussian.LinearGaussian`,
every quantity is exact: each picture shows the densities on the left (prior, exact posterior,
q) and, on the right, a ledger read from left to right: the reconstruction term
E_q[log p(x|z)], minus KL(q ‖ p(z)), gives the ELBO; plus the gap KL(q ‖ p(z|x)), gives
log p(x). Defined in the chapter on the ELBO; it works on the static site through
:func:`~vae_lib.widgets.slider_figure`, with one small SVG picture per slider setting.

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

import torch
from torch import Tensor
from torch.distributions import kl_divergence

from vae_lib.i18n import tr
from vae_lib.linear_gaussian import LinearGaussian, diagonal_gaussian
from vae_lib.widgets._sketch import Panel, Sketch, nice_ticks
from vae_lib.widgets.importance import POSTERIOR_COLOUR, PROPOSAL_COLOUR, density_panel
from vae_lib.widgets.pictures import figure_png
from vae_lib.widgets.precomputed import Slider, SliderFigure, slider_figure

__all__ = ["ELBOLedger", "elbo_ledger", "elbo_sketch", "draw_elbo", "elbo_explorer"]

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


def _ledger_panel(ledger: ELBOLedger, top: float) -> Panel:
    """Three levels, left to right: E_q[log p(x|z)], the ELBO (−KL(q‖p(z)) below it), log p(x) (+gap above)."""
    floor = ledger.log_evidence - DEPTH
    ticks = [(0.0, f"E_q log p(x|z)\n{ledger.reconstruction:.2f}"), (1.0, f"ELBO\n{ledger.elbo:.2f}"),
             (2.0, f"log p(x)\n{ledger.log_evidence:.2f}")]
    panel = Panel(x_range=(-0.5, 2.5), y_range=(floor - 0.3, top), ylabel="nats", xticks=ticks,
                  yticks=nice_ticks(floor, top),
                  title=f"KL(q‖p(z)) = {ledger.kl_prior:.2f};  gap = KL(q‖p(z|x)) = {ledger.gap:.2f}")
    panel.line([-0.5, 2.5], [ledger.log_evidence] * 2, POSTERIOR_COLOUR, width=1, dashed=True)
    levels = {}
    for column, value, colour in [(0.0, ledger.reconstruction, PROPOSAL_COLOUR), (1.0, ledger.elbo, "black"),
                                  (2.0, ledger.log_evidence, POSTERIOR_COLOUR)]:
        if value < floor:
            panel.down_marker(column, floor, colour)
        else:
            panel.line([column - 0.25, column + 0.25], [value, value], colour, width=4)
        levels[column] = max(value, floor)
    panel.arrow((0.25, levels[0.0]), (0.75, levels[1.0]), KL_COLOUR)
    panel.line([1.5, 1.5], [levels[1.0], ledger.log_evidence], GAP_COLOUR, width=6)
    return panel


def elbo_sketch(model: LinearGaussian, x: Tensor, mean: float, width: float) -> Sketch:
    """The picture for one q: densities (left) and the ledger reconstruction − KL = ELBO = log p(x) − gap (right)."""
    ledger = elbo_ledger(model, x, mean, width)
    top = -0.5 * model.data_dim * math.log(2 * math.pi * model.sigma**2) + 0.5  # above the largest E_q log p(x|z)
    return Sketch([density_panel(model, x, mean, width, q_label="q(z)"), _ledger_panel(ledger, top)])


def draw_elbo(model: LinearGaussian, x: Tensor, mean: float, width: float) -> str:
    """:func:`elbo_sketch` as inline SVG.

    >>> from vae_lib.linear_gaussian import LinearGaussian
    >>> svg = draw_elbo(LinearGaussian([[3.0]], [0.0], 1.0), torch.tensor([4.0]), 0.0, 1.0)
    >>> svg.startswith("<svg") and "ELBO" in svg
    True
    """
    return elbo_sketch(model, x, mean, width).svg()


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

    def draw(mean: float, width: float) -> str:
        return draw_elbo(model, x, mean, width)

    def describe(mean: float, width: float) -> str:
        ledger = elbo_ledger(model, x, mean, width)
        return tr("Left: the exact posterior p(z|x) and q(z); right: the ELBO ledger, reconstruction "
                  "{reconstruction} minus KL {kl} gives the ELBO {elbo}, below log p(x) = {log_evidence} "
                  "by the gap {gap} nats", reconstruction=f"{ledger.reconstruction:.2f}", kl=f"{ledger.kl_prior:.2f}",
                  elbo=f"{ledger.reconstruction - ledger.kl_prior:.2f}", log_evidence=f"{ledger.log_evidence:.2f}",
                  gap=f"{ledger.gap:.2f}")

    figure = slider_figure(draw, {"mean": Slider(tr("q mean (μ)"), means, start_mean, "{:.2f}"),
                                  "width": Slider(tr("q width (sd)"), widths, start_width, "{:.2f}")},
                           alt=describe)
    figure.fallback_png = figure_png(elbo_sketch(model, x, *[s.value for s in figure.sliders]).figure())
    return figure
