"""Pictures of a mixture of Gaussians, and the EM explorer of chapter 3 (``chap-mixture``).

- :func:`plot_mixture` draws 2-D points colored by their responsibilities (a point half owned
  by two components gets a blend of their colors) and each component as an ellipse.
- :func:`draw_em_state` draws one EM iterate next to the log-likelihood curve of its run.
- :func:`em_explorer` puts sliders over the EM step and the restart: every picture is drawn in
  advance, so it works on the static site with no kernel (:mod:`vae_lib.widgets.precomputed`).

>>> import matplotlib; matplotlib.use("Agg")
>>> import numpy as np
>>> from vae_lib.mixture import MixtureOfGaussians
>>> mog = MixtureOfGaussians([0.5, 0.5], [[-2.0, 0.0], [2.0, 0.0]], [np.eye(2), np.eye(2)])
>>> x, _ = mog.sample(50, seed=0)
>>> ax = plot_mixture(mog, x)
>>> len(ax.patches), len(ax.collections)      # two ellipses, one scatter of points
(2, 1)
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure
from matplotlib.patches import Ellipse

from vae_lib.i18n import current_language, tr
from vae_lib.mixture import EMResult, MixtureOfGaussians
from vae_lib.widgets.precomputed import Slider, SliderFigure, slider_figure

__all__ = ["COMPONENT_COLORS", "CJK_FONTS", "label_fonts", "component_colors", "gaussian_ellipse", "plot_mixture",
           "draw_em_state", "em_explorer"]

#: One color per component (repeated beyond eight); color-blind friendly (ColorBrewer Dark2).
COMPONENT_COLORS = ("#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d", "#666666")


def component_colors(k: int) -> np.ndarray:
    """RGB colors of ``k`` components, shape ``(k, 3)``.

    >>> component_colors(2).shape
    (2, 3)
    """
    return np.array([to_rgb(COMPONENT_COLORS[i % len(COMPONENT_COLORS)]) for i in range(k)])


def gaussian_ellipse(mean, covariance, n_std: float = 2.0, **style) -> Ellipse:
    """The ellipse of points ``n_std`` Mahalanobis units from ``mean`` (its axes: the covariance's eigenvectors).

    >>> e = gaussian_ellipse([0, 0], [[4.0, 0.0], [0.0, 1.0]], n_std=1.0)
    >>> e.width, e.height, round(e.angle) % 180
    (4.0, 2.0, 0)
    """
    eigenvalues, eigenvectors = np.linalg.eigh(np.asarray(covariance, dtype=float))
    major = eigenvectors[:, -1]                        # direction of the largest variance
    angle = np.degrees(np.arctan2(major[1], major[0]))
    width, height = 2 * n_std * np.sqrt(eigenvalues[::-1])
    return Ellipse(tuple(mean), float(width), float(height), angle=float(angle), fill=False, **style)


def plot_mixture(mixture: MixtureOfGaussians, x: np.ndarray | None = None, *, ax: Axes | None = None,
                 color_points: bool = True, n_std: float = 2.0, limits: tuple | None = None) -> Axes:
    """Points colored by responsibility, and each component's ``n_std`` ellipse with its mean.

    Args:
        mixture: a 2-D :class:`~vae_lib.mixture.MixtureOfGaussians`.
        x: points of shape ``(n, 2)`` to scatter (optional).
        ax: the Axes to draw into (a new figure if None).
        color_points: blend the component colors by responsibility; ``False`` draws gray points.
        n_std: the ellipses' size in standard deviations (2 holds about 86 % of a 2-D Gaussian).
        limits: ``((x_min, x_max), (y_min, y_max))``, to keep several pictures on the same scale.
    """
    if mixture.dim != 2:
        raise ValueError(f"plot_mixture draws 2-D mixtures; this one has {mixture.dim} dimensions.")
    if ax is None:
        _, ax = plt.subplots(figsize=(4, 4))
    colors = component_colors(mixture.n_components)
    if x is not None:
        point_colors = mixture.responsibilities(x) @ colors if color_points else "0.6"
        ax.scatter(x[:, 0], x[:, 1], s=7, c=point_colors, linewidths=0)
    for k in range(mixture.n_components):
        style = {"edgecolor": colors[k], "linewidth": 1.0 + 3.0 * mixture.weights[k]}
        ax.add_patch(gaussian_ellipse(mixture.means[k], mixture.covariances[k], n_std, **style))
        ax.plot(*mixture.means[k], marker="+", markersize=9, color="black", markeredgewidth=1.5)
    if limits is not None:
        ax.set_xlim(*limits[0])
        ax.set_ylim(*limits[1])
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    return ax


#: Fonts with Chinese glyphs, in order of preference: matplotlib falls back to the first one
#: installed for a character DejaVu Sans lacks (its own default font has no CJK glyphs).
CJK_FONTS = ("Noto Sans CJK SC", "Source Han Sans SC", "WenQuanYi Micro Hei", "SimHei", "Microsoft YaHei",
             "PingFang SC")


def label_fonts() -> dict:
    """rcParams for a figure's labels in the reader's language: English keeps matplotlib's
    defaults; another language draws with DejaVu Sans and falls back to an installed CJK font."""
    if current_language() == "en":
        return {}
    from matplotlib.font_manager import fontManager

    installed = {font.name for font in fontManager.ttflist}
    return {"font.family": ["DejaVu Sans", *(name for name in CJK_FONTS if name in installed)]}


def _limits(x: np.ndarray, margin: float = 0.08) -> tuple:
    low, high = x.min(axis=0), x.max(axis=0)
    pad = margin * (high - low)
    return tuple(zip(low - pad, high + pad))


def draw_em_state(x: np.ndarray, run: EMResult, step: int, *, ll_limits: tuple | None = None,
                  max_step: int | None = None) -> Figure:
    """One EM iterate (left) and its run's log-likelihood curve with the step marked (right).

    Steps beyond the end of the run show its last iterate (EM had converged).

    Args:
        x: the 2-D data.
        run: a :func:`~vae_lib.mixture.fit_em` result.
        step: which iterate to show (0 = the initialization).
        ll_limits: y-limits of the curve, to share a scale across runs.
        max_step: x-limit of the curve, to share a scale across runs.
    """
    with plt.rc_context(label_fonts()):  # the labels are made with the fonts of their language
        return _draw_em_state(x, run, min(step, run.n_steps), ll_limits, max_step)


def _draw_em_state(x: np.ndarray, run: EMResult, shown: int, ll_limits: tuple | None, max_step: int | None) -> Figure:
    fig, (left, right) = plt.subplots(1, 2, figsize=(7.2, 3.2), gridspec_kw={"width_ratios": [1.15, 1]})
    plot_mixture(run.history[shown], x, ax=left, limits=_limits(x))
    left.set_title(tr("after {steps} steps of EM", steps=shown) if shown else tr("initialization"), fontsize=10)
    steps = np.arange(run.n_steps + 1)
    right.plot(steps, run.log_likelihoods, color="0.45", lw=1.5)
    right.plot(shown, run.log_likelihoods[shown], "o", color="#d95f02", markersize=7)
    right.set_xlim(-1, (max_step if max_step is not None else run.n_steps) + 1)
    if ll_limits is not None:
        right.set_ylim(*ll_limits)
    right.set_xlabel(tr("EM step"))
    right.set_ylabel(tr("mean log p(x), nats"))
    # Distinct from the chapter's printed "... nats per point" lines, which the Chinese site leaves as printed.
    right.set_title(tr("log-likelihood per point: {value} nats", value=f"{run.log_likelihoods[shown]:.3f}"),
                    fontsize=10)
    right.spines[["top", "right"]].set_visible(False)
    fig.subplots_adjust(left=0.02, right=0.98, bottom=0.16, top=0.9, wspace=0.3)
    return fig


def em_explorer(x: np.ndarray, runs: Sequence[EMResult], steps: Sequence[int], *,
                numbers: Sequence[int] | None = None, static: bool = True) -> SliderFigure:
    """Sliders over the EM step and the restart (one :func:`~vae_lib.mixture.fit_em` run each).

    Args:
        x: the 2-D data the runs were fitted to.
        runs: the restarts to show.
        steps: the EM steps the step slider offers (e.g. ``[0, 1, 2, 5, 10, 50]``).
        numbers: the name the restart slider gives each run, e.g. its number in a list the
            page printed (default ``1, 2, ...``); distinct whole numbers, one per run.
        static: precompute every picture (works on the static site), or redraw live in Jupyter.

    Returns:
        A :class:`~vae_lib.widgets.precomputed.SliderFigure` with ``len(steps) × len(runs)`` pictures.
    """
    if not runs or not steps:
        raise ValueError("Give at least one EM run and at least one step to show.")
    numbers = list(range(1, len(runs) + 1)) if numbers is None else [int(n) for n in numbers]
    if len(numbers) != len(runs) or len(set(numbers)) != len(numbers):
        raise ValueError(f"Give one distinct number per run: {len(runs)} runs, numbers {numbers}.")
    run_named = dict(zip(numbers, runs))
    lows = [run.log_likelihoods[0] for run in runs]
    highs = [run.log_likelihoods.max() for run in runs]
    pad = 0.05 * (max(highs) - min(lows))
    ll_limits = (min(lows) - pad, max(highs) + pad)
    max_step = max(max(steps), max(run.n_steps for run in runs))

    def draw(step: int, restart: int) -> Figure:
        return draw_em_state(x, run_named[restart], step, ll_limits=ll_limits, max_step=max_step)

    # Labels long enough (MIN_OUTPUT_MESSAGE) for the Chinese site to translate them in executed outputs.
    sliders = {"step": Slider(tr("EM step shown"), list(steps), steps[0]),
               "restart": Slider(tr("restart number"), numbers, numbers[0])}
    return slider_figure(draw, sliders, static=static,
                         # no apostrophe: the alt attribute escapes it, and the Chinese site must find this text
                         alt=tr("Left: the 2-D data and the Gaussians of the mixture, drawn as ellipses, at the EM "
                                "step the slider picks; right: the log-likelihood against the EM step, which never "
                                "goes down"))
