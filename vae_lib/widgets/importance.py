"""The importance-sampling explorer: move a proposal q(z) and watch the estimates of p(x) spread or tighten.

For a model whose evidence and posterior are exact (a one-dimensional
:class:`~vae_lib.linear_gaussian.LinearGaussian`), each picture shows, for one proposal
q = N(mean, width²), the densities on the left (prior, exact posterior, proposal) and on the
right the histogram of p̂(x) / p(x) over many independent runs of k draws each: the truth is
1, so the spread is the estimator's error. Defined in the chapter on the marginal likelihood
and importance sampling; it works on the static site through :func:`~vae_lib.widgets.slider_figure`.

>>> import matplotlib; matplotlib.use("Agg")
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
import torch
from matplotlib.figure import Figure
from torch import Tensor

from vae_lib.estimators import monte_carlo_log_evidence
from vae_lib.linear_gaussian import LinearGaussian, diagonal_gaussian
from vae_lib.widgets.precomputed import Slider, SliderFigure, slider_figure

__all__ = ["ImportanceRuns", "importance_runs", "draw_importance_runs", "importance_explorer"]

PRIOR_COLOUR, POSTERIOR_COLOUR, PROPOSAL_COLOUR = "#969696", "black", "#d95f02"
#: The histogram's range of p̂(x) / p(x); larger ratios are counted in the last bin.
RATIO_RANGE = (0.0, 3.0)


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


def _densities(ax, model: LinearGaussian, x: Tensor, mean: float, width: float, z_range: tuple[float, float]) -> None:
    z = torch.linspace(*z_range, 400, dtype=torch.float64)[:, None]
    posterior = model.posterior(x)
    proposal = diagonal_gaussian([float(mean)], [float(width)])
    for distribution, colour, label, style in [(model.prior(), PRIOR_COLOUR, "prior p(z)", "--"),
                                               (posterior, POSTERIOR_COLOUR, "posterior p(z|x)", "-"),
                                               (proposal, PROPOSAL_COLOUR, "proposal q(z)", "-")]:
        ax.plot(z[:, 0], distribution.log_prob(z).exp(), style, color=colour, lw=2, label=label)
    ax.set_xlabel("z")
    ax.set_ylabel("density")
    ax.set_xlim(*z_range)
    tallest = 1 / (math.sqrt(2 * math.pi) * min(float(width), float(posterior.stddev.min())))  # a Gaussian's peak
    ax.set_ylim(0, 1.15 * tallest)
    ax.legend(frameon=False, fontsize=8, loc="upper left")


def _histogram(ax, runs: ImportanceRuns) -> None:
    low, high = RATIO_RANGE
    clipped = runs.ratios.clamp(low, high - 1e-9).numpy()
    ax.hist(clipped, bins=30, range=RATIO_RANGE, color=PROPOSAL_COLOUR, alpha=0.7)
    ax.axvline(1.0, color=POSTERIOR_COLOUR, lw=2, label="truth")
    ax.axvline(float(runs.ratios.mean()), color=PROPOSAL_COLOUR, lw=2, ls="--", label="mean of the runs")
    ax.set_xlim(*RATIO_RANGE)
    ax.set_xlabel(f"p̂(x) / p(x), k = {runs.k} draws per run")
    ax.set_yticks([])
    ax.legend(frameon=False, fontsize=8, loc="upper right")
    ax.set_title(f"sd {runs.relative_spread:.2f}, mean ESS {float(runs.mean_ess):.1f} of {runs.k}", fontsize=10)


def draw_importance_runs(model: LinearGaussian, x: Tensor, mean: float, width: float, k: int = 10,
                         repeats: int = 200, seed: int = 0, z_range: tuple[float, float] = (-3.0, 4.0)) -> Figure:
    """The picture for one proposal: densities (left) and the spread of p̂(x) / p(x) over runs (right).

    >>> import matplotlib; matplotlib.use("Agg")
    >>> from vae_lib.linear_gaussian import LinearGaussian
    >>> fig = draw_importance_runs(LinearGaussian([[3.0]], [0.0], 1.0), torch.tensor([4.0]), 0.0, 1.0, repeats=20)
    >>> len(fig.axes)
    2
    """
    runs = importance_runs(model, x, mean, width, k, repeats, seed)
    fig, (left, right) = plt.subplots(1, 2, figsize=(7.5, 3.0))
    fig.subplots_adjust(left=0.08, right=0.98, bottom=0.2, top=0.9, wspace=0.25)
    _densities(left, model, x, mean, width, z_range)
    left.set_title(f"q = N({mean:.2f}, {width:.2f}²)", fontsize=10)
    _histogram(right, runs)
    for ax in (left, right):
        ax.spines[["top", "right"]].set_visible(False)
    return fig


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

    def draw(mean: float, width: float) -> Figure:
        return draw_importance_runs(model, x, mean, width, k, repeats, seed)

    return slider_figure(draw, {"mean": Slider("proposal mean", means, start_mean, "{:.2f}"),
                                "width": Slider("proposal width (sd)", widths, start_width, "{:.2f}")})

