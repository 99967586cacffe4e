"""Small plotting helpers the chapters share. Each returns the matplotlib Axes or Figure it drew.

>>> import matplotlib
>>> matplotlib.use("Agg")
>>> from vae_lib.plots import plot_beliefs
>>> ax = plot_beliefs({"prior": {"clogged": 0.3, "low water": 0.7},
...                    "posterior": {"clogged": 0.66, "low water": 0.34}})
>>> ax.get_ylabel()
'probability'
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.colors import PowerNorm
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from scipy.integrate import trapezoid

__all__ = ["plot_beliefs", "plot_probability_vs_likelihood", "plot_log_growth", "plot_digits", "plot_training_curves",
           "scatter_by_digit", "DIGIT_COLOURS", "DIGIT_MARKERS"]

#: One colour per digit class 0-9 that readers with any common colour-vision deficiency can tell
#: apart (Paul Tol's "muted" scheme, with black as its tenth): under simulated protanopia,
#: deuteranopia and tritanopia every pair stays at least 15 CIELAB units apart
#: (tests/test_palette.py; matplotlib's tab10 falls to 5). Plots also mark classes by shape and label.
DIGIT_COLOURS = ("#332288", "#88CCEE", "#44AA99", "#117733", "#999933",
                 "#DDCC77", "#CC6677", "#882255", "#AA4499", "#000000")
#: One marker shape per digit class, so that the classes differ in more than colour.
DIGIT_MARKERS = ("o", "s", "^", "v", "D", "P", "X", "*", "<", ">")

#: Colours for successive stages of a belief (prior, posterior, ...), light to dark.
STAGE_COLOURS = ["#9ecae1", "#4292c6", "#08519c", "#08306b", "#041c40"]


def plot_beliefs(
    stages: Mapping[str, Mapping[str, float]],
    *,
    ax: Axes | None = None,
    title: str | None = None,
    decimals: int = 2,
) -> Axes:
    """Grouped bars: one group per hypothesis, one bar per stage of belief, each labelled with its value.

    Args:
        stages: ``{stage name: {hypothesis: probability}}`` in order, e.g.
            ``{"prior": ..., "after 1 noise": ..., "after 2 noises": ...}``.
        ax: the Axes to draw into (a new figure if None).
        title: optional title.
        decimals: decimals of the value printed on each bar.

    >>> import matplotlib; matplotlib.use("Agg")
    >>> ax = plot_beliefs({"prior": {"a": 0.5, "b": 0.5}})
    >>> len(ax.patches)
    2
    """
    if not stages:
        raise ValueError("Give at least one stage, e.g. {'prior': {'clogged': 0.3, 'low water': 0.7}}.")
    hypotheses = list(next(iter(stages.values())))
    for name, belief in stages.items():
        if list(belief) != hypotheses:
            raise ValueError(f"Stage {name!r} has hypotheses {list(belief)}, expected {hypotheses} (same order).")
    if ax is None:
        _, ax = plt.subplots(figsize=(1.6 + 1.4 * len(hypotheses) * max(1, len(stages) / 2), 3.2))
    width = 0.8 / len(stages)
    positions = np.arange(len(hypotheses))
    for number, (stage, belief) in enumerate(stages.items()):
        offset = (number - (len(stages) - 1) / 2) * width
        values = [belief[h] for h in hypotheses]
        bars = ax.bar(positions + offset, values, width * 0.92, label=stage,
                      color=STAGE_COLOURS[number % len(STAGE_COLOURS)])
        ax.bar_label(bars, labels=[f"{v:.{decimals}f}" for v in values], padding=2, fontsize=9)
    ax.set_xticks(positions, hypotheses)
    ax.set_ylim(0, 1.12)
    ax.set_ylabel("probability")
    ax.spines[["top", "right"]].set_visible(False)
    ax.legend(frameon=False, loc="upper left", ncols=min(len(stages), 3), fontsize=9)
    if title:
        ax.set_title(title)
    return ax


def plot_probability_vs_likelihood(
    table: np.ndarray,
    params: Sequence[float],
    data: Sequence[int],
    *,
    fixed_param: float,
    fixed_data: int,
    param_label: str | None = None,
    data_label: str = "data $x$",
    data_symbol: str = "x",
    param_symbol: str = "ρ",
) -> Figure:
    """One function p(x | ρ), read two ways: across x it is a distribution, across ρ a likelihood.

    The table is drawn as a heat map (ρ across, x up). Reading it along the vertical line at
    ``ρ = fixed_param`` gives the bars on the right: a probability distribution over x, which
    sums to 1. Reading it along the horizontal line at ``x = fixed_data`` gives the curve
    below: the likelihood of each ρ, whose area need not be 1. Panel titles report the sum and
    the area. (The book keeps θ for a model's decoder parameters, hence ρ here.)

    Args:
        table: ``table[i, j] = p(data[j] | params[i])``, shape ``(len(params), len(data))``.
        params: the grid of parameter values (increasing).
        data: the possible (discrete, evenly spaced) data values.
        fixed_param: the ρ whose distribution is shown (the nearest grid value is used).
        fixed_data: the observed x whose likelihood is shown.
        param_label, data_label: axis labels (matplotlib mathtext allowed); by default the
            parameter's label is "parameter" and its symbol.
        data_symbol: the symbol for the data in formulas (matplotlib mathtext, without the dollar
            signs), e.g. ``"n_6"`` for a count of sixes.
        param_symbol: the symbol for the parameter (one character, e.g. ``"ρ"``).

    >>> import matplotlib; matplotlib.use("Agg")
    >>> from scipy.stats import binom
    >>> rho = np.linspace(0, 1, 11); k = np.arange(4)      # a coarse grid: the area is near 1/4
    >>> fig = plot_probability_vs_likelihood(binom.pmf(k[None, :], 3, rho[:, None]), rho, k,
    ...                                      fixed_param=0.5, fixed_data=1)
    >>> fig.axes[2].get_title()
    '$x$ = 1 fixed: the likelihood, area = 0.247'
    """
    table = np.asarray(table, dtype=float)
    params = np.asarray(params, dtype=float)
    data = np.asarray(data)
    if table.shape != (params.size, data.size):
        raise ValueError(f"table has shape {table.shape}, expected (len(params), len(data)) = {(params.size, data.size)}.")
    if fixed_data not in data:
        raise ValueError(f"fixed_data={fixed_data!r} is not one of the data values.")
    row = int(np.argmin(np.abs(params - fixed_param)))
    column = int(np.flatnonzero(data == fixed_data)[0])
    p_of = rf"$p({data_symbol} \mid {param_symbol})$"
    if param_label is None:
        param_label = f"parameter ${param_symbol}$"
    distribution_colour, likelihood_colour = "#d95f02", "#7570b3"

    fig = plt.figure(figsize=(8.5, 6.2), layout="constrained")
    grid = fig.add_gridspec(2, 2, width_ratios=[3, 1.3], height_ratios=[3, 1.4])
    ax_map = fig.add_subplot(grid[0, 0])
    ax_prob = fig.add_subplot(grid[0, 1], sharey=ax_map)
    ax_like = fig.add_subplot(grid[1, 0], sharex=ax_map)
    ax_note = fig.add_subplot(grid[1, 1])

    step = data[1] - data[0] if data.size > 1 else 1
    image = ax_map.imshow(table.T, origin="lower", aspect="auto", cmap="Blues", norm=PowerNorm(0.5),
                          extent=[params[0], params[-1], data[0] - step / 2, data[-1] + step / 2])
    ax_map.axvline(params[row], color=distribution_colour, lw=2)
    ax_map.axhline(fixed_data, color=likelihood_colour, lw=2)
    ax_map.set_ylabel(data_label)
    ax_map.set_title(f"the whole table {p_of}")
    ax_map.tick_params(labelbottom=False)

    ax_prob.barh(data, table[row], color=distribution_colour, height=0.8 * step)
    ax_prob.set_xlabel(p_of)
    ax_prob.set_title(f"{param_symbol} = {params[row]:.2f} fixed:\nsums to {table[row].sum():.3f}",
                      color=distribution_colour)
    ax_prob.tick_params(labelleft=False)

    curve = table[:, column]
    area = trapezoid(curve, params)
    ax_like.plot(params, curve, color=likelihood_colour, lw=2)
    ax_like.fill_between(params, curve, color=likelihood_colour, alpha=0.2)
    ax_like.set_xlabel(param_label)
    ax_like.set_ylabel("likelihood")
    ax_like.set_title(f"${data_symbol}$ = {fixed_data} fixed: the likelihood, area = {area:.3f}",
                      color=likelihood_colour)

    colorbar = fig.colorbar(image, ax=ax_note, location="bottom", fraction=0.2, label=p_of)
    colorbar.set_ticks([float(f"{f * table.max():.2g}") for f in (0, 0.1, 0.3, 0.6, 1)])
    ax_note.axis("off")
    ax_note.text(0.0, 0.95, f"orange: fix {param_symbol}, vary ${data_symbol}$\n"
                            "→ a probability distribution\n\n"
                            f"purple: fix ${data_symbol}$, vary {param_symbol}\n→ a likelihood",
                 transform=ax_note.transAxes, va="top", fontsize=9)

    for ax in (ax_prob, ax_like):
        ax.spines[["top", "right"]].set_visible(False)
    ax_prob.set_xlim(left=0)
    ax_like.set_ylim(bottom=0)
    return fig


def plot_log_growth(
    x_measured: Sequence[float],
    y_measured: Sequence[float],
    x_model: Sequence[float],
    y_model: Sequence[float],
    *,
    references: Mapping[str, float] | None = None,
    xlabel: str = "",
    ylabel: str = "",
    measured_label: str = "measured",
    model_label: str = "extrapolated",
    ax: Axes | None = None,
) -> Axes:
    """Measured points and an extrapolation on a log scale, with labelled horizontal reference lines.

    Args:
        x_measured, y_measured: what was measured (drawn as dots).
        x_model, y_model: the model or extrapolation (drawn as a dashed line).
        references: ``{label: y}`` horizontal lines, e.g. ``{"one day": 86400}``.
        xlabel, ylabel, measured_label, model_label: axis and legend labels.
        ax: the Axes to draw into (a new figure if None).

    >>> import matplotlib; matplotlib.use("Agg")
    >>> ax = plot_log_growth([1, 2], [1e-3, 1e-2], [1, 2, 3], [1e-3, 1e-2, 1e-1], references={"1 s": 1})
    >>> ax.get_yscale()
    'log'
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 4))
    ax.plot(x_model, y_model, "--", color="#4292c6", label=model_label)
    ax.plot(x_measured, y_measured, "o", color="#08306b", label=measured_label)
    ax.set_yscale("log")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    left = min(np.min(x_measured), np.min(x_model))
    for label, value in (references or {}).items():
        ax.axhline(value, color="grey", lw=0.8, ls=":")
        ax.annotate(label, (left, value), xytext=(2, 2), textcoords="offset points", fontsize=8, color="dimgrey")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.spines[["top", "right"]].set_visible(False)
    ax.legend(frameon=False, loc="lower right")
    return ax


def plot_digits(
    images,
    *,
    columns: int | None = None,
    row_labels: Sequence[str] | None = None,
    ax: Axes | None = None,
    scale: float = 0.45,
) -> Axes:
    """Images in [0, 1] tiled into one grey-level picture (white ink on black, as MNIST), with optional row labels.

    Args:
        images: ``[rows, columns, H, W]``, or ``[N, H, W]`` / ``[N, 1, H, W]`` with ``columns`` given
            (``N`` a multiple of ``columns``); a tensor or an array.
        columns: images per row for a flat ``images``.
        row_labels: one text per row, written left of it.
        ax: the Axes to draw into (a new figure, ``scale`` inches per image, if None).
        scale: inches per image for a new figure.

    >>> import matplotlib; matplotlib.use("Agg")
    >>> ax = plot_digits(np.zeros((6, 28, 28)), columns=3, row_labels=["a", "b"])
    >>> ax.images[0].get_array().shape
    (57, 86)
    """
    array = np.asarray(images, dtype=float)
    if array.ndim != 4 or array.shape[1] == 1:
        array = array.reshape(-1, *array.shape[-2:])
        if columns is None or array.shape[0] % columns:
            raise ValueError(f"{array.shape[0]} images do not fill rows of columns={columns}: give images as "
                             "[rows, columns, H, W], or a columns that divides their number.")
        array = array.reshape(-1, columns, *array.shape[-2:])
    rows, cols, height, width = array.shape
    gap = 1
    tiled = np.ones((rows * (height + gap) - gap, cols * (width + gap) - gap))
    for r in range(rows):
        for c in range(cols):
            tiled[r * (height + gap):r * (height + gap) + height, c * (width + gap):c * (width + gap) + width] = array[r, c]
    if ax is None:
        _, ax = plt.subplots(figsize=(scale * cols + (1.2 if row_labels else 0), scale * rows))
    ax.imshow(tiled, cmap="gray", vmin=0.0, vmax=1.0, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([(height + gap) * r + height / 2 for r in range(rows)] if row_labels else [])
    if row_labels:
        ax.set_yticklabels(row_labels)
        ax.tick_params(left=False)
    for spine in ax.spines.values():
        spine.set_visible(False)
    return ax


def plot_training_curves(history: Sequence[Mapping[str, float]], *, test_label: str = "test",
                         figsize: tuple[float, float] = (10, 3.2)) -> Figure:
    """Three panels over the epochs: the ELBO, the reconstruction term and the KL term, train and test.

    Args:
        history: one dict per epoch with ``train_elbo``, ``train_reconstruction``, ``train_kl``
            and, when the run had test data, ``test_elbo``, ``test_reconstruction``, ``test_kl``
            (a :class:`vae_lib.history.History`).
        test_label: the legend's name for the test split (``"held-out"`` for the bundled subset).
        figsize: the figure size in inches.

    >>> import matplotlib; matplotlib.use("Agg")
    >>> rows = [{"epoch": e, "train_elbo": -120 + e, "train_reconstruction": -100 + e, "train_kl": 20.0,
    ...          "test_elbo": -119 + e, "test_reconstruction": -99 + e, "test_kl": 20.0} for e in (1, 2)]
    >>> [ax.get_title() for ax in plot_training_curves(rows).axes]
    ['ELBO', 'reconstruction E[log p(x|z)]', 'KL(q(z|x) || p(z))']
    """
    if not history:
        raise ValueError("The history is empty: train for at least one epoch first.")
    epochs = [record["epoch"] for record in history]
    fig, axes = plt.subplots(1, 3, figsize=figsize, layout="constrained")
    panels = (("elbo", "ELBO"), ("reconstruction", "reconstruction E[log p(x|z)]"), ("kl", "KL(q(z|x) || p(z))"))
    for ax, (key, title) in zip(axes, panels):
        ax.plot(epochs, [record[f"train_{key}"] for record in history], "o-", ms=3, color="#4292c6", label="train")
        if history[0].get(f"test_{key}") is not None:
            ax.plot(epochs, [record[f"test_{key}"] for record in history], "s--", ms=3, color="#d95f02",
                    label=test_label)
        ax.set_title(title)
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.spines[["top", "right"]].set_visible(False)
    axes[0].set_ylabel("nats per image")
    axes[0].legend(frameon=False, loc="lower right")
    return fig


def scatter_by_digit(ax: Axes, points, labels, *, size: float = 4, alpha: float = 1.0,
                     label_classes: bool = True) -> Axes:
    """Points coloured *and* shaped by their digit class, each class named on the plot.

    Colour alone does not tell ten classes apart for every reader: each class gets a colour of
    :data:`DIGIT_COLOURS`, a marker of :data:`DIGIT_MARKERS`, and (``label_classes``) its digit
    written at the median of its points, so that the plot needs no colour bar.

    Args:
        ax: the Axes to draw into.
        points: ``[n, 2]`` coordinates.
        labels: ``[n]`` digit classes 0-9.
        size, alpha: marker area (points²) and opacity.
        label_classes: write each class's digit at the median of its points.

    >>> import matplotlib; matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> _, ax = plt.subplots()
    >>> ax = scatter_by_digit(ax, np.array([[0, 0], [1, 1], [2, 2]]), np.array([3, 3, 7]))
    >>> len(ax.collections), sorted(t.get_text() for t in ax.texts)
    (2, ['3', '7'])
    """
    import matplotlib.patheffects as effects

    points, labels = np.asarray(points), np.asarray(labels).astype(int)
    for digit in np.unique(labels):
        chosen = points[labels == digit]
        ax.scatter(chosen[:, 0], chosen[:, 1], s=size, alpha=alpha, color=DIGIT_COLOURS[digit],
                   marker=DIGIT_MARKERS[digit], linewidths=0, label=str(digit))
        if label_classes:
            x, y = np.median(chosen, axis=0)
            # Black on a white halo: readable on any colour (some of the palette is light).
            ax.text(x, y, str(digit), ha="center", va="center", fontsize=13, fontweight="bold",
                    color="black", path_effects=[effects.withStroke(linewidth=3, foreground="white")])
    return ax
