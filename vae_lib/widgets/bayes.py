"""The chapter-1 explorer: sliders for a prior and two likelihoods, bars for prior and posterior.

It works on the static site with no kernel: every picture the sliders can ask for is
precomputed as a tiny inline SVG and switched in the browser (see
:mod:`vae_lib.widgets.precomputed`).

>>> from vae_lib.widgets import bayes_explorer, widget_state_size
>>> explorer = bayes_explorer({"clogged": 0.3, "low water": 0.7}, {"clogged": 0.9, "low water": 0.2},
...                           observation="noise")
>>> len(explorer.sliders), len(explorer.links)
(3, 92)
>>> widget_state_size(explorer) < 1_500_000          # bytes of widget state embedded in the page
True
"""

from __future__ import annotations

import base64
import html
from collections.abc import Mapping, Sequence

import ipywidgets as widgets
from ipywidgets.widgets.widget_string import HTMLStyle

from vae_lib import bayes, plots
from vae_lib.i18n import tr
from vae_lib.widgets.pictures import figure_png
from vae_lib.widgets.precomputed import (SLIDER_LAYOUT, SLIDER_STYLE, leaves, link_levels, nested_stacks,
                                         shown_leaf)

__all__ = ["BayesExplorer", "bayes_explorer", "belief_svg", "DEFAULT_GRID"]

#: Slider values of the static explorer: 0.1, 0.2, ..., 0.9 (9 values → 9³ = 729 pictures).
DEFAULT_GRID: tuple[float, ...] = tuple(round(0.1 * i, 1) for i in range(1, 10))
#: Refuse grids whose pictures would make the page too heavy.
MAX_PICTURES = 2000  # 9³ + 9 = 738 pictures by default

_COLOURS = ("#d95f02", "#1b9e77")  # first and second hypothesis


# --------------------------------------------------------------------------- the picture


def belief_svg(belief: dict[str, float] | None, title: str | None = None, footer: str = "") -> str:
    """A small inline SVG bar chart of a belief over a few hypotheses, each bar labelled with its value.

    Args:
        belief: ``{hypothesis: probability}``; ``None`` draws no bars (e.g. an undefined posterior).
        title: an optional line above the bars, e.g. ``"prior P(h)"``.
        footer: an optional line below the bars (e.g. the evidence).

    Returns:
        An ``<svg>`` string, under half a kilobyte for two hypotheses without a title.

    >>> svg = belief_svg({"clogged": 0.3, "low water": 0.7}, "prior")
    >>> svg.startswith("<svg") and "0.70" in svg
    True
    """
    names = list(belief) if belief else []
    width, bar = 220, 54
    top = 22 if title else 4
    base = top + 110  # probability 1 is 110 px tall; bars start below the value labels
    height = base + 22 + (18 if footer else 0)
    spacing = width / max(len(names), 1)
    parts = [
        f'<svg width="{width}" height="{height}"><g font-family="sans-serif" font-size="12" text-anchor="middle">'
    ]
    if title:
        parts.append(f'<text x="{width / 2:g}" y="14" font-weight="bold">{html.escape(title)}</text>')
    parts.append(f'<path d="M4 {base}H{width - 4}" stroke="#444"/>')
    for number, name in enumerate(names):
        value = belief[name]
        centre = spacing * (number + 0.5)
        bar_height = round(value * (base - top - 14), 1)  # leave 14 px above a full bar for its label
        parts.append(
            f'<rect x="{centre - bar / 2:g}" y="{base - bar_height:g}" width="{bar}" height="{bar_height:g}" '
            f'fill="{_COLOURS[number % len(_COLOURS)]}"/>'
            f'<text x="{centre:g}" y="{base - bar_height - 4:g}">{value:.2f}</text>'
            f'<text x="{centre:g}" y="{base + 16}">{html.escape(name)}</text>'
        )
    if footer:
        parts.append(f'<text x="{width / 2:g}" y="{height - 4}">{html.escape(footer)}</text>')
    parts.append("</g></svg>")
    return "".join(parts)


def _prior_svg(prior_first: float, hypotheses: Sequence[str]) -> str:
    first, second = hypotheses
    return belief_svg({first: prior_first, second: round(1.0 - prior_first, 12)})


def _posterior_svg(prior_first: float, p_obs_first: float, p_obs_second: float,
                   hypotheses: Sequence[str], observation: str) -> str:
    """The posterior's bars, with the evidence as a footer."""
    first, second = hypotheses
    prior = {first: prior_first, second: round(1.0 - prior_first, 12)}
    likelihood = {first: p_obs_first, second: p_obs_second}
    try:
        post = bayes.posterior(prior, likelihood)
    except bayes.ImpossibleObservationError:
        return belief_svg(None, footer=f"P({observation}) = 0: impossible under every hypothesis")
    return belief_svg(post, footer=f"P({observation}) = {bayes.evidence(prior, likelihood):.2f}")


def _titled(title: str, picture: widgets.Widget) -> widgets.VBox:
    """The picture under a bold title (kept out of the picture so it is stored once, not per picture)."""
    return widgets.VBox([widgets.HTML(f"<b>{html.escape(title)}</b>"), picture],
                        layout=widgets.Layout(align_items="center", margin="0 12px"))


# --------------------------------------------------------------------------- the widget


class BayesExplorer(widgets.VBox):
    """The widget :func:`bayes_explorer` returns: a VBox with handles to its parts.

    Attributes:
        sliders: the three sliders (prior of the first hypothesis, then the two likelihoods).
        links: the browser-side links slider → stack (static mode; empty in live mode).
        picture: an HBox of two titled panels (prior, posterior); each panel's last child shows
            the bars: nested Stacks of HTML pictures in static mode, one HTML in live mode.
        static: which mode was built.
        fallback_png: the starting prior and posterior as a PNG bar chart (for PDF builds).
    """

    def __init__(self, children, *, sliders, links, picture, static, fallback_png):
        super().__init__(children)
        self.sliders = tuple(sliders)
        self.links = list(links)
        self.picture = picture
        self.static = static
        self.fallback_png = fallback_png

    @property
    def n_pictures(self) -> int:
        """How many bar pictures the widget holds (all precomputed ones in static mode)."""
        return sum(1 for panel in self.picture.children for _ in leaves(panel.children[-1]))

    def __repr__(self) -> str:
        mode = "static: precomputed pictures switched in the browser" if self.static else "live: redrawn by Python"
        return f"BayesExplorer({mode}; {len(self.sliders)} sliders, {self.n_pictures} pictures)"

    def shown_html(self) -> str:
        """The HTML of the pictures that the current selections display (following the stacks)."""
        return "\n".join(shown_leaf(panel.children[-1]).value for panel in self.picture.children)

    def _repr_mimebundle_(self, **kwargs):
        bundle = super()._repr_mimebundle_(**kwargs)
        if bundle is not None:
            bundle["image/png"] = base64.b64encode(self.fallback_png).decode("ascii")
        return bundle


def bayes_explorer(
    prior: Mapping[str, float],
    likelihood: Mapping[str, float],
    *,
    observation: str = "the observation",
    static: bool = True,
    grid: Sequence[float] = DEFAULT_GRID,
) -> BayesExplorer:
    """Sliders for the prior and the two likelihoods; bars for the prior and the posterior.

    Args:
        prior: the starting belief over exactly two hypotheses, ``{name: probability}``.
        likelihood: the starting P(observation | hypothesis), with the same names.
        observation: what was observed, used in labels (e.g. ``"noise"``).
        static: ``True`` (default) precomputes a picture for every combination of slider values
            on ``grid`` and switches between them in the browser (``jslink`` to nested
            ``Stack`` widgets), so it works on the static website *and* live in Jupyter.
            ``False`` builds continuous sliders (steps of 0.01) whose Python callback recomputes
            the posterior; it needs a running kernel (live Jupyter only).
        grid: the slider values of the static mode (the starting values must be on it).

    Returns:
        A :class:`BayesExplorer` (an ``ipywidgets.VBox``); display it as a cell's last value.

    >>> explorer = bayes_explorer({"a": 0.3, "b": 0.7}, {"a": 0.9, "b": 0.2}, static=False)
    >>> "0.66" in explorer.shown_html()
    True
    """
    if len(prior) != 2:
        raise ValueError(f"The explorer compares exactly two hypotheses, got {len(prior)}: {list(prior)}.")
    bayes.posterior(prior, likelihood)  # a clear error for a malformed problem
    first, second = hypotheses = tuple(prior)
    initial = (prior[first], likelihood[first], likelihood[second])
    names = (f"P({first})", f"P({observation} | {first})", f"P({observation} | {second})")
    if static:
        sliders, links, picture = _static_parts(initial, names, hypotheses, observation, grid)
    else:
        sliders, links, picture = _live_parts(initial, names, hypotheses, observation)
    prior_name, first_name, second_name = (html.escape(n) for n in names)
    explanation = tr("<b>{prior}</b> is the prior: how likely '{cause}' is before the {what}. <b>{first}</b> and "
                     "<b>{second}</b> are the likelihoods: how often each cause makes the {what}.",
                     prior=prior_name, first=first_name, second=second_name, cause=html.escape(first),
                     what=html.escape(observation))
    legend = widgets.HTML(f"<div style='line-height: 1.4; font-size: 0.9em'>{explanation}</div>",
                          layout=widgets.Layout(max_width="560px"))
    fallback = _fallback_png(prior, likelihood, observation)
    return BayesExplorer([legend, *sliders, picture], sliders=sliders, links=links, picture=picture,
                         static=static, fallback_png=fallback)


def _fallback_png(prior: Mapping[str, float], likelihood: Mapping[str, float], observation: str) -> bytes:
    """The starting prior and posterior as a bar chart, for builds that cannot show widgets."""
    ax = plots.plot_beliefs({"prior": dict(prior), f"posterior given {observation}": bayes.posterior(prior, likelihood)})
    return figure_png(ax.figure)


def _grid_index(grid: Sequence[float], name: str, value: float) -> int:
    matches = [i for i, v in enumerate(grid) if abs(v - value) < 1e-9]
    if not matches:
        raise ValueError(f"The initial {name} = {value} is not on the slider grid {list(grid)}: pick one of those values.")
    return matches[0]


def _static_parts(initial, names, hypotheses, observation, grid):
    grid = [float(v) for v in grid]
    if not grid or any(not 0.0 <= v <= 1.0 for v in grid) or len(set(grid)) != len(grid):
        raise ValueError(f"grid must hold distinct probabilities in [0, 1], got {grid}.")
    if len(grid) ** 3 > MAX_PICTURES:
        raise ValueError(
            f"A grid of {len(grid)} values needs {len(grid) ** 3} precomputed pictures (at most {MAX_PICTURES}): "
            "the page would get too heavy. Use fewer values, or static=False in live Jupyter."
        )
    start = [_grid_index(grid, name, value) for name, value in zip(names, initial)]
    sliders = [
        widgets.SelectionSlider(options=[(f"{v:g}", v) for v in grid], index=i, description=name,
                                continuous_update=True, style=SLIDER_STYLE, layout=SLIDER_LAYOUT)
        for name, i in zip(names, start)
    ]
    # One Layout/Style model shared by all pictures keeps the embedded state small.
    layout, style = widgets.Layout(), HTMLStyle()

    def prior_leaf(idx: tuple[int, ...]) -> widgets.HTML:
        return widgets.HTML(_prior_svg(grid[idx[0]], hypotheses), layout=layout, style=style)

    def posterior_leaf(idx: tuple[int, ...]) -> widgets.HTML:
        p, a, b = (grid[i] for i in idx)
        return widgets.HTML(_posterior_svg(p, a, b, hypotheses, observation), layout=layout, style=style)

    n = len(grid)
    prior_stack, prior_levels = nested_stacks([n], prior_leaf, start[:1])
    posterior_stack, posterior_levels = nested_stacks([n, n, n], posterior_leaf, start)
    links = link_levels(sliders[:1], prior_levels) + link_levels(sliders, posterior_levels)
    return sliders, links, _panels(prior_stack, posterior_stack, observation)


def _panels(prior_part: widgets.Widget, posterior_part: widgets.Widget, observation: str) -> widgets.HBox:
    return widgets.HBox([_titled(tr("before: prior P(h)"), prior_part),
                         _titled(tr("after: posterior P(h | {observation})", observation=observation), posterior_part)])


def _live_parts(initial, names, hypotheses, observation):
    sliders = [
        widgets.FloatSlider(value=value, min=0.01, max=0.99, step=0.01, description=name,
                            continuous_update=True, style=SLIDER_STYLE, layout=SLIDER_LAYOUT)
        for name, value in zip(names, initial)
    ]
    prior_view, posterior_view = widgets.HTML(), widgets.HTML()

    def redraw(_change=None) -> None:
        prior, p_obs_first, p_obs_second = (s.value for s in sliders)
        prior_view.value = _prior_svg(prior, hypotheses)
        posterior_view.value = _posterior_svg(prior, p_obs_first, p_obs_second, hypotheses, observation)

    for slider in sliders:
        slider.observe(redraw, names="value")
    redraw()
    return sliders, [], _panels(prior_view, posterior_view, observation)
