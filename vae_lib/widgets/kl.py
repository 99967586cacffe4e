"""The KL chapter's explorer: one Gaussian fitted to a bimodal target by the forward or the reverse KL.

Sliders set the distance between the target's two modes, which divergence the fit minimizes,
and (for the reverse KL, which can have two local optima) where its optimizer starts. Every
picture is precomputed with :mod:`vae_lib.divergences` and switched in the browser (see
:mod:`vae_lib.widgets.precomputed`), so it works on the static site too.

>>> import matplotlib; matplotlib.use("Agg")
>>> explorer = kl_fit_explorer(separations=(0.0, 6.0))
>>> explorer.n_pictures, [s.description for s in explorer.sliders]
(8, ['mode separation', 'fitted by', 'reverse fit starts'])
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from vae_lib.divergences import (GaussianFit, fit_gaussian, forward_kl, gaussian_mixture_1d, moment_matching,
                                 reverse_kl)
from vae_lib.i18n import tr
from vae_lib.mixture import MixtureOfGaussians
from vae_lib.widgets.precomputed import Slider, SliderFigure, slider_figure

__all__ = ["FORWARD", "REVERSE", "KLFitSetting", "bimodal_target", "kl_fit_setting", "draw_kl_fit", "kl_fit_explorer"]

#: The two choices of the "fitted by" slider (plain text: widget labels do not render LaTeX).
FORWARD, REVERSE = "forward KL(p||q)", "reverse KL(q||p)"
#: Where the reverse fit starts: one unit outside the left or the right mode, with std 1.
STARTS = ("left", "right")
#: Default slider values of the mode separation.
SEPARATIONS = tuple(float(s) for s in range(9))

_COLORS = {FORWARD: "#d95f02", REVERSE: "#7570b3"}
_X = np.linspace(-10.0, 10.0, 801)


def bimodal_target(separation: float, weights: Sequence[float] = (0.3, 0.7), std: float = 1.0) -> MixtureOfGaussians:
    """Two Gaussians of equal width ``std`` at ∓separation/2, with the given weights.

    >>> bimodal_target(4.0).means.ravel().tolist()
    [-2.0, 2.0]
    """
    return gaussian_mixture_1d(weights, [-separation / 2, separation / 2], [std, std])


class KLFitSetting(NamedTuple):
    """What one picture shows: the target, the fitted Gaussian, both divergences of that fit, the start."""

    target: MixtureOfGaussians
    fit: GaussianFit
    forward: float
    reverse: float
    start: tuple[float, float]


def kl_fit_setting(target: MixtureOfGaussians, divergence: str, start: str = "left") -> KLFitSetting:
    """Fit one Gaussian to ``target`` by ``divergence`` (:data:`FORWARD` or :data:`REVERSE`).

    The reverse fit runs :func:`~vae_lib.divergences.fit_gaussian` from ``start`` ("left" or
    "right" of the modes); the forward fit is moment matching, its unique optimum, whatever
    the start.
    """
    if start not in STARTS:
        raise ValueError(f"start must be one of {STARTS}, got {start!r}.")
    modes = target.means.ravel()
    start_point = (float(modes.min()) - 1.0, 1.0) if start == "left" else (float(modes.max()) + 1.0, 1.0)
    if divergence == FORWARD:
        fit = moment_matching(target)
    elif divergence == REVERSE:
        fit = fit_gaussian(target, "reverse", start=start_point)
    else:
        raise ValueError(f"divergence must be {FORWARD!r} or {REVERSE!r}, got {divergence!r}.")
    return KLFitSetting(target, fit, forward_kl(target, fit.mean, fit.std), reverse_kl(target, fit.mean, fit.std),
                        start_point)


def draw_kl_fit(setting: KLFitSetting, divergence: str) -> Figure:
    """The target p (gray), the fitted q (colored), the start (a triangle, hollow when unused), both KLs of the fit."""
    target, fit = setting.target, setting.fit
    q = np.exp(-0.5 * ((_X - fit.mean) / fit.std) ** 2) / (fit.std * np.sqrt(2 * np.pi))
    fig, ax = plt.subplots(figsize=(6.0, 3.2))
    ax.fill_between(_X, np.exp(target.log_prob(_X[:, None])), color="#bdbdbd", label="target p")
    ax.plot(_X, q, color=_COLORS[divergence], lw=2.2, label=f"q fitted by {divergence.split()[0]} KL")
    if divergence == REVERSE:
        ax.plot([setting.start[0]], [0.0], marker="^", ms=9, color="black", clip_on=False, ls="none",
                label="start of the fit")
    else:  # shown, so that the start slider visibly does something: here, nothing to the fit
        ax.plot([setting.start[0]], [0.0], marker="^", ms=9, mfc="white", mec="#969696", clip_on=False, ls="none",
                label="start (unused: one optimum)")
    ax.set_xlim(_X[0], _X[-1])
    ax.set_ylim(0, 0.5)
    ax.set_xlabel("z")
    ax.set_title(f"q = N({fit.mean:.2f}, {fit.std:.2f}²)", fontsize=10)
    marks = {FORWARD: ("  (minimized)", ""), REVERSE: ("", "  (minimized)")}[divergence]
    ax.text(0.99, 0.97, f"KL(p||q) = {setting.forward:.2f} nats{marks[0]}\nKL(q||p) = {setting.reverse:.2f} nats{marks[1]}",
            transform=ax.transAxes, ha="right", va="top", fontsize=9)
    ax.spines[["top", "right"]].set_visible(False)
    ax.legend(frameon=False, fontsize=9, loc="upper left")
    return fig


def kl_fit_explorer(separations: Sequence[float] = SEPARATIONS, weights: Sequence[float] = (0.3, 0.7),
                    std: float = 1.0, *, start_separation: float | None = None, static: bool = True) -> SliderFigure:
    """Sliders for the mode separation, the divergence and the reverse fit's start; the fit below.

    Args:
        separations: slider values of the distance between the two modes.
        weights, std: the target's mixing weights and its components' standard deviation.
        start_separation: the separation shown first (default: the largest).
        static: precompute every picture (static site and Jupyter) or redraw live (Jupyter only).

    Returns:
        A :class:`~vae_lib.widgets.precomputed.SliderFigure` with
        ``len(separations) × 2 × 2`` pictures.
    """
    separations = [float(s) for s in separations]

    def draw(separation: float, divergence: str, start: str) -> Figure:
        setting = kl_fit_setting(bimodal_target(separation, weights, std), divergence, start)
        return draw_kl_fit(setting, divergence)

    first = separations[-1] if start_separation is None else float(start_separation)
    # The read-outs show the choices in the reader's language; the drawing gets the English values.
    return slider_figure(draw, {
        "separation": Slider(tr("mode separation"), separations, first),
        "divergence": Slider(tr("fitted by"), [FORWARD, REVERSE], REVERSE,
                             labels=[tr("forward KL(p||q)"), tr("reverse KL(q||p)")]),
        "start": Slider(tr("reverse fit starts"), list(STARTS), "left",
                        labels=[tr("left of the modes"), tr("right of the modes")]),
    }, static=static, alt=tr("The two-mode target density p and the Gaussian q fitted to it by the chosen "
                             "divergence, with both KL(p||q) and KL(q||p) written in the corner"))
