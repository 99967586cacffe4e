"""The chapter on gradients of expectations: how far REINFORCE and reparameterized estimates scatter.

:func:`gradient_explorer` has sliders for the mean μ and standard deviation σ of q = N(μ, σ²) and
for the number L of samples averaged; each picture shows histograms of many L-sample
estimates of ∂/∂μ and ∂/∂σ of E_q[f(z)] by both estimators, around the exact gradient.
The sliders' labels and the pictures' alt text are in the reader's language (:func:`vae_lib.i18n.tr`);
the text drawn in the pictures stays in English, like every figure label of the book.

>>> import matplotlib; matplotlib.use("Agg")
>>> fig = draw_gradient_estimates(lambda z: (z - 2) ** 2, mu=0.0, sigma=1.0, samples=10, repeats=200)
>>> [ax.get_title().splitlines()[0] for ax in fig.axes]
['∂/∂μ: exact -4', '∂/∂σ: exact 2']
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure
from torch import Tensor

from vae_lib.estimators import (
    GradientSamples,
    gauss_hermite_expectation,
    gauss_hermite_rule,
    reparameterized_gradients,
    score_function_gradients,
)
from vae_lib.i18n import tr
from vae_lib.widgets.precomputed import Slider, SliderFigure, slider_figure

__all__ = ["ESTIMATORS", "gradient_estimates", "exact_gradient", "draw_gradient_estimates", "gradient_explorer"]

#: The two estimators, by the names the pictures use, with their colours.
ESTIMATORS = {"REINFORCE": score_function_gradients, "reparameterized": reparameterized_gradients}
COLOURS = {"REINFORCE": "#d95f02", "reparameterized": "#1f78b4"}
PANELS = ("∂/∂μ", "∂/∂σ")


def gradient_estimates(f: Callable[[Tensor], Tensor], mu: float, sigma: float, samples: int,
                       repeats: int = 2000, seed: int = 0) -> dict[str, GradientSamples]:
    """``repeats`` estimates of ∇ E_q[f] by each estimator, each the mean of ``samples`` per-sample ones.

    Both estimators use the same draws of ε. Returns ``{name: GradientSamples}``, each field
    of shape ``[repeats]``.

    >>> estimates = gradient_estimates(lambda z: z**2, 1.0, 0.5, samples=4, repeats=3)
    >>> estimates["REINFORCE"].d_mu.shape
    torch.Size([3])
    """
    eps = torch.randn(repeats * samples, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    found = {}
    for name, estimator in ESTIMATORS.items():
        per_sample = estimator(f, mu, sigma, noise=eps)
        found[name] = GradientSamples(*(values.view(repeats, samples).mean(1) for values in per_sample))
    return found


def exact_gradient(f: Callable[[Tensor], Tensor], mu: float, sigma: float) -> tuple[float, float]:
    """(∂/∂μ, ∂/∂σ) of E_q[f] by autograd through Gauss–Hermite quadrature.

    >>> exact_gradient(lambda z: z**2, 3.0, 0.5)  # (2μ, 2σ)
    (6.0, 1.0)
    """
    mu_t, sigma_t = (torch.tensor(float(v), dtype=torch.float64, requires_grad=True) for v in (mu, sigma))
    d_mu, d_sigma = torch.autograd.grad(gauss_hermite_expectation(f, mu_t, sigma_t), (mu_t, sigma_t))
    return round(d_mu.item(), 12), round(d_sigma.item(), 12)


def _single_sample_spread(f: Callable[[Tensor], Tensor], mu: float, sigma: float) -> tuple[float, float]:
    """The standard deviation of one REINFORCE sample of each partial derivative, by quadrature."""
    nodes, weights = gauss_hermite_rule(64)
    spreads = []
    for values in score_function_gradients(f, mu, sigma, noise=nodes):
        mean = weights @ values
        spreads.append(float(torch.sqrt(weights @ (values - mean) ** 2)))
    return spreads[0], spreads[1]


def draw_gradient_estimates(f: Callable[[Tensor], Tensor], mu: float, sigma: float, samples: int, *,
                            repeats: int = 2000, seed: int = 0) -> Figure:
    """Histograms of ``repeats`` L-sample estimates of ∂/∂μ and ∂/∂σ of E_q[f], for both estimators.

    The x-ranges depend on μ and σ only (the exact gradient ± 3 standard deviations of a
    single REINFORCE sample), so that moving L shows the histograms narrowing. Each panel's
    title gives the exact value and the standard deviations of the two estimators' estimates.
    """
    estimates = gradient_estimates(f, mu, sigma, samples, repeats, seed)
    exact = exact_gradient(f, mu, sigma)
    spreads = _single_sample_spread(f, mu, sigma)
    fig, axes = plt.subplots(1, 2, figsize=(6.4, 3.0))
    for index, (ax, truth, spread, title) in enumerate(zip(axes, exact, spreads, PANELS)):
        edges = np.linspace(truth - 3 * spread, truth + 3 * spread, 61)
        sds = []
        for name, found in estimates.items():
            values = found[index].numpy()
            counts, _ = np.histogram(values, edges)
            ax.stairs(counts, edges, fill=True, alpha=0.55, color=COLOURS[name], label=name)
            sds.append(f"{values.std():.3g}")
        ax.axvline(truth, color="black", lw=1.2)
        ax.set_title(f"{title}: exact {truth:.3g}\nsd {sds[0]} REINFORCE, {sds[1]} reparam.", fontsize=9)
        ax.set_yticks([])
        ax.spines[["top", "right", "left"]].set_visible(False)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncols=2, frameon=False, fontsize=8.5)
    fig.suptitle(f"μ = {mu:g}, σ = {sigma:g}, L = {samples}: {repeats} estimates of each", fontsize=9.5)
    fig.subplots_adjust(left=0.02, right=0.98, bottom=0.22, top=0.76, wspace=0.08)
    return fig


def gradient_explorer(f: Callable[[Tensor], Tensor], mus: Sequence[float], sigmas: Sequence[float],
                      sample_counts: Sequence[int], *, start: tuple[float, float, int] | None = None,
                      repeats: int = 2000, seed: int = 0) -> SliderFigure:
    """Sliders for μ, σ and L over :func:`draw_gradient_estimates`, precomputed for the static site.

    Args:
        f: the function whose expectation is differentiated.
        mus, sigmas, sample_counts: the values each slider offers.
        start: the starting (μ, σ, L); ``None`` starts each slider in its middle.
        repeats: estimates per histogram.
        seed: seeds the draws (the same for every picture).
    """
    mu0, sigma0, count0 = start if start is not None else (None, None, None)

    def draw(mu: float, sigma: float, samples: int) -> Figure:
        return draw_gradient_estimates(f, mu, sigma, samples, repeats=repeats, seed=seed)

    return slider_figure(draw, {
        "mu": Slider(tr("mean mu"), list(mus), mu0),
        "sigma": Slider(tr("std sigma"), list(sigmas), sigma0),
        "samples": Slider(tr("samples L"), list(sample_counts), count0),
    }, alt=tr("Histograms of REINFORCE and reparameterized estimates of the gradient with respect to μ "
              "(left) and σ (right), each with the exact gradient as a vertical line; the titles give "
              "the standard deviation of each estimator"))  # no apostrophe: the HTML escapes it
