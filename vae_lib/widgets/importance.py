"""The importance-sampling explorer: move a proposal q(z) and watch the estimates of p(x) spread or tighten.

For a model whose evidence and posterior are exact (a one-dimensional
:class:`~vae_lib.linear_gaussian.LinearGaussian`), each picture shows, for one proposal
q = N(mean, width²), the densities on the left (prior, exact posterior, proposal) and on the
right the histogram of p̂(x) / p(x) over many independent runs of k draws each: the truth is
1, so the spread is the estimator's error. Defined in the chapter on the marginal likelihood
and importance sampling; it works on the static site through :func:`~vae_lib.widgets.slider_figure`,
with one small SVG picture per slider setting.

>>> import torch
>>> from vae_lib.linear_gaussian import LinearGaussian
>>> model, x = LinearGaussian(A=[[3.0]], b=[0.0], sigma=1.0), torch.tensor([4.0])
>>> exact = importance_runs(model, x, mean=1.2, width=10**-0.5, k=10, repeats=50)   # q = p(z|x)
>>> float(exact.ratios.std()) < 1e-9, round(float(exact.mean_ess), 9)
(True, 10.0)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
import torch
from scipy import stats
from torch import Tensor

from vae_lib.estimators import monte_carlo_log_evidence
from vae_lib.i18n import tr
from vae_lib.linear_gaussian import LinearGaussian, diagonal_gaussian
from vae_lib.widgets._sketch import Panel, Sketch, nice_ticks
from vae_lib.widgets.mixture import label_fonts
from vae_lib.widgets.pictures import figure_png
from vae_lib.widgets.precomputed import Slider, SliderFigure, slider_figure

__all__ = ["ImportanceRuns", "importance_runs", "importance_sketch", "draw_importance_runs", "importance_explorer"]

PRIOR_COLOUR, POSTERIOR_COLOUR, PROPOSAL_COLOUR = "#969696", "black", "#d95f02"
#: The histogram's range of p̂(x) / p(x) and its number of bins; larger ratios go into the last bin.
RATIO_RANGE, BINS = (0.0, 3.0), 30
Z_RANGE = (-3.0, 4.0)


@dataclass
class ImportanceRuns:
    """Many independent importance-sampling estimates of p(x) with one proposal.

    Attributes:
        ratios: p̂(x) / p(x) of each run (``[repeats]``); their mean is near 1 (unbiased).
        mean_ess: the effective sample size, averaged over the runs (between 1 and k).
        k: draws per run.
    """

    ratios: Tensor
    mean_ess: Tensor
    k: int

    @property
    def relative_spread(self) -> float:
        """The standard deviation of p̂(x) / p(x) over the runs: the estimator's relative error."""
        return float(self.ratios.std())


def importance_runs(model: LinearGaussian, x: Tensor, mean: float, width: float, k: int = 10,
                    repeats: int = 200, seed: int = 0) -> ImportanceRuns:
    """Run ``repeats`` independent importance-sampling estimates of p(x) with q = N(mean, width²).

    Args:
        model: a model with one latent dimension and an exact evidence.
        x: the observation, shape ``[D]``.
        mean, width: the proposal's mean and standard deviation.
        k: draws per estimate.
        repeats: number of independent estimates.
        seed: seeds the draws.
    """
    if model.latent_dim != 1:
        raise ValueError(f"The explorer draws one-dimensional proposals; the model has d = {model.latent_dim}.")
    proposal = diagonal_gaussian([float(mean)], [float(width)]).expand((repeats,))
    estimate = monte_carlo_log_evidence(lambda z: model.log_joint(x, z), proposal, k,
                                        torch.Generator().manual_seed(seed))
    ratios = (estimate.log_evidence - model.log_evidence(x)).exp()
    return ImportanceRuns(ratios=ratios, mean_ess=estimate.ess.mean(), k=k)


def density_panel(model: LinearGaussian, x: Tensor, mean: float, width: float, q_label: str | None = None,
                  z_range: tuple[float, float] = Z_RANGE) -> Panel:
    """Prior (dashed), exact posterior and q = N(mean, width²) over z, scaled to the tallest peak.

    ``q_label`` names the proposal in the legend (default: "proposal q(z)" in the reader's language).
    """
    q_label = tr("proposal q(z)") if q_label is None else q_label
    posterior = model.posterior(x)
    post_mean, post_sd = posterior.mean.item(), posterior.stddev.item()
    tallest = 1 / (math.sqrt(2 * math.pi) * min(float(width), post_sd))  # a Gaussian's peak
    panel = Panel(x_range=z_range, y_range=(0.0, 1.15 * tallest), title=f"q = N({mean:.2f}, {width:.2f}²)",
                  xlabel="z", ylabel=tr("density"), xticks=nice_ticks(*z_range, most=8),
                  yticks=nice_ticks(0.0, 1.15 * tallest))
    z = np.linspace(*z_range, 141)
    for (centre, spread), colour, label, dashed in [((0.0, 1.0), PRIOR_COLOUR, tr("prior p(z)"), True),
                                                    ((post_mean, post_sd), POSTERIOR_COLOUR, tr("posterior p(z|x)"),
                                                     False),
                                                    ((mean, width), PROPOSAL_COLOUR, q_label, False)]:
        panel.line(z, stats.norm.pdf(z, centre, spread), colour, dashed=dashed, label=label)
    return panel


def _histogram_panel(runs: ImportanceRuns) -> Panel:
    low, high = RATIO_RANGE
    counts = torch.histc(runs.ratios.clamp(low, high - 1e-9).float(), bins=BINS, min=low, max=high)
    panel = Panel(x_range=RATIO_RANGE, y_range=(0.0, 1.2 * float(counts.max())),
                  # the draws per run after the message: a message ends with literal text
                  title=tr("sd {sd}, mean ESS {ess} of", sd=f"{runs.relative_spread:.2f}",
                           ess=f"{float(runs.mean_ess):.1f}") + f" {runs.k}",
                  xlabel=tr("p̂(x) / p(x), k = {k} draws per run", k=runs.k), ylabel=tr("number of runs"),
                  xticks=nice_ticks(low, high, most=7), legend_corner="right")
    width = (high - low) / BINS
    panel.bars([low + width * i for i in range(BINS)], width, counts.tolist(), PROPOSAL_COLOUR)
    top = panel.y_range[1]
    panel.line([1.0, 1.0], [0.0, top], POSTERIOR_COLOUR, label=tr("truth"))
    mean = float(runs.ratios.mean())
    panel.line([mean, mean], [0.0, top], PROPOSAL_COLOUR, dashed=True, label=tr("mean of the runs"))
    return panel


def importance_sketch(model: LinearGaussian, x: Tensor, mean: float, width: float, k: int = 10,
                      repeats: int = 200, seed: int = 0) -> Sketch:
    """The picture for one proposal: densities (left) and the spread of p̂(x) / p(x) over runs (right)."""
    runs = importance_runs(model, x, mean, width, k, repeats, seed)
    return Sketch([density_panel(model, x, mean, width), _histogram_panel(runs)])


def draw_importance_runs(model: LinearGaussian, x: Tensor, mean: float, width: float, k: int = 10,
                         repeats: int = 200, seed: int = 0) -> str:
    """:func:`importance_sketch` as inline SVG.

    >>> from vae_lib.linear_gaussian import LinearGaussian
    >>> svg = draw_importance_runs(LinearGaussian([[3.0]], [0.0], 1.0), torch.tensor([4.0]), 0.0, 1.0, repeats=20)
    >>> svg.startswith("<svg") and "mean ESS" in svg
    True
    """
    return importance_sketch(model, x, mean, width, k, repeats, seed).svg()


def importance_explorer(model: LinearGaussian, x: Tensor, means: Sequence[float], widths: Sequence[float], *,
                        start: tuple[float, float] | None = None, k: int = 10, repeats: int = 200,
                        seed: int = 0) -> SliderFigure:
    """Sliders for the proposal's mean and width over precomputed pictures of :func:`draw_importance_runs`.

    Args:
        model, x: the model (one latent dimension) and the observation.
        means, widths: the slider values (``len(means) × len(widths)`` pictures are drawn).
        start: the starting ``(mean, width)`` (values on the sliders); default: the prior's (0, 1)
            if on the sliders, else the middle values.
        k, repeats, seed: as in :func:`importance_runs`; every picture uses the same seed.
    """
    means, widths = [float(m) for m in means], [float(w) for w in widths]
    start_mean, start_width = start if start is not None else (0.0 if 0.0 in means else None,
                                                             1.0 if 1.0 in widths else None)

    def draw(mean: float, width: float) -> str:
        return draw_importance_runs(model, x, mean, width, k, repeats, seed)

    def describe(mean: float, width: float) -> str:
        runs = importance_runs(model, x, mean, width, k, repeats, seed)
        return tr("Left: the exact posterior and the proposal q; right: a histogram of p̂(x)/p(x) over "
                  "{repeats} runs of k = {k} draws, which spread {spread} around 1 (mean ESS {ess} of {k})",
                  repeats=repeats, k=k, spread=f"{runs.relative_spread:.2f}", ess=f"{float(runs.mean_ess):.1f}")

    figure = slider_figure(draw, {"mean": Slider(tr("proposal mean"), means, start_mean, "{:.2f}"),
                                  "width": Slider(tr("proposal width (sd)"), widths, start_width, "{:.2f}")},
                           alt=describe)
    shown = [slider.value for slider in figure.sliders]
    with plt.rc_context(label_fonts()):  # the PDF's picture: its labels drawn in their language's fonts
        figure.fallback_png = figure_png(importance_sketch(model, x, *shown, k, repeats, seed).figure())
    return figure
