"""Sliders that switch between precomputed pictures in the browser: interactive with no kernel.

On a static web page no Python runs, so a slider cannot call a function to redraw. What does
run in the browser are *links* between widget properties (:func:`ipywidgets.jslink`). So a
:class:`SliderFigure` draws the picture for every combination of slider values in advance,
nests them in :class:`ipywidgets.Stack` widgets (one level per slider), and links each
slider's position to the ``selected_index`` of every stack on its level. Moving a slider then
switches pictures in the browser, on the static site and live in Jupyter alike.

The same object also carries a PNG of its initial picture (``image/png`` in its display
bundle), which builds that cannot show widgets (PDF, LaTeX) use instead.

Every picture says what it shows to a reader who cannot see it: its alt text (``alt`` of an
``<img>``, ``aria-label`` of an ``<svg role="img">``) is the figure's description followed by
the slider settings it was drawn for, so the text a screen reader reads changes with the
sliders as the picture does.

>>> import matplotlib; matplotlib.use("Agg")
>>> import matplotlib.pyplot as plt
>>> def draw(mean, width):
...     fig, ax = plt.subplots(figsize=(2, 1.5))
...     ax.plot([mean - width, mean, mean + width], [0, 1, 0])
...     return fig
>>> figure = slider_figure(draw, {"mean": Slider("mean μ", [-1, 0, 1], 0),
...                               "width": Slider("width σ", [0.5, 1.0])}, alt="A tent")
>>> figure.n_pictures, len(figure.links), figure.fallback_png is not None
(6, 4, True)
>>> import re; re.search(r'alt="([^"]*)"', figure.shown_html()).group(1)
'A tent, at mean μ = 0, width σ = 1.'
"""

from __future__ import annotations

import base64
import itertools
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import ipywidgets as widgets
import ipywidgets.embed
from ipywidgets.widgets.widget_string import HTMLStyle
from matplotlib.figure import Figure

from vae_lib.i18n import tr
from vae_lib.widgets.pictures import as_html, figure_png, png_img, with_alt

__all__ = ["Slider", "SliderFigure", "slider_figure", "settings_text", "nested_stacks", "link_levels",
           "widget_state_size"]

#: Refuse more precomputed pictures than this: the page would load slowly.
MAX_PICTURES = 2000
#: Refuse more picture data than this (bytes of HTML, before the widget state's own overhead).
MAX_PICTURE_BYTES = 2_500_000

SLIDER_STYLE = {"description_width": "150px"}
SLIDER_LAYOUT = {"width": "460px"}


@dataclass(frozen=True)
class Slider:
    """One slider: its label, the values it offers, and where it starts.

    Args:
        label: the text before the slider (plain text: LaTeX does not render in widgets).
        values: the values, in slider order (numbers or short strings).
        value: the starting value (one of ``values``); ``None`` starts in the middle.
        format: how the read-out shows a value, e.g. ``"{:.2f}"``.
        labels: what the read-out shows for each value instead (e.g. translated words for string
            values the drawing function compares); ``None``: the values, formatted.
    """

    label: str
    values: Sequence[Any]
    value: Any = None
    format: str = "{:g}"
    labels: Sequence[str] | None = None

    def start_index(self) -> int:
        """Index of the starting value; a clear error if it is not one of the values."""
        values = list(self.values)
        if not values:
            raise ValueError(f"Slider {self.label!r} has no values: give at least one.")
        if self.labels is not None and len(self.labels) != len(values):
            raise ValueError(f"Slider {self.label!r} has {len(values)} values but {len(self.labels)} labels: "
                             "give one label per value.")
        if self.value is None:
            return len(values) // 2
        for index, candidate in enumerate(values):
            if candidate == self.value or (_is_number(candidate) and _is_number(self.value)
                                           and abs(candidate - self.value) < 1e-9):
                return index
        raise ValueError(f"The starting value {self.value!r} of slider {self.label!r} is not one of its "
                         f"values {values}: pick one of those.")

    def shown(self, value: Any) -> str:
        """What the read-out (and the alt text) shows for ``value``: its label, else the value formatted.

        >>> Slider("show", ["p", "b"], labels=["probabilities", "a sample"]).shown("b")
        'a sample'
        """
        if self.labels is not None:
            return str(self.labels[list(self.values).index(value)])
        return self.format.format(value) if _is_number(value) else str(value)

    def widget(self) -> widgets.SelectionSlider:
        options = [(self.shown(v), v) for v in self.values]
        return widgets.SelectionSlider(options=options, index=self.start_index(), description=self.label,
                                       continuous_update=True, style=SLIDER_STYLE, layout=SLIDER_LAYOUT)


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


# --------------------------------------------------------------------------- building blocks


def nested_stacks(sizes: Sequence[int], leaf: Callable[[tuple[int, ...]], widgets.Widget],
                  start: Sequence[int]) -> tuple[widgets.Stack, list[list[widgets.Stack]]]:
    """Stacks nested one level per slider, with ``leaf(indices)`` at the bottom.

    Returns ``(root, levels)``: ``levels[i]`` lists every stack on level ``i``, all of which
    slider ``i`` must switch. Every stack starts at ``start[i]``, the slider's position.

    >>> import ipywidgets as w
    >>> root, levels = nested_stacks([2, 3], lambda idx: w.HTML(str(idx)), start=[0, 1])
    >>> [len(level) for level in levels], root.children[1].children[2].value
    ([1, 2], '(1, 2)')
    """
    levels: list[list[widgets.Stack]] = [[] for _ in sizes]
    layout = widgets.Layout()  # one shared layout model keeps the embedded state small

    def build(prefix: tuple[int, ...]) -> widgets.Widget:
        depth = len(prefix)
        if depth == len(sizes):
            return leaf(prefix)
        stack = widgets.Stack([build((*prefix, i)) for i in range(sizes[depth])],
                              selected_index=start[depth], layout=layout)
        levels[depth].append(stack)
        return stack

    return build(()), levels


def link_levels(sliders: Sequence[widgets.SelectionSlider],
                levels: Sequence[Sequence[widgets.Stack]]) -> list[widgets.Link]:
    """Browser-side links: slider ``i``'s index → ``selected_index`` of every stack on level ``i``."""
    return [widgets.jslink((slider, "index"), (stack, "selected_index"))
            for slider, level in zip(sliders, levels) for stack in level]


def widget_state_size(widget: widgets.Widget) -> int:
    """Bytes of JSON widget state a page embeds for ``widget``: it, everything it contains, its links.

    Counts the full state (defaults included), as a notebook saved with its widget state stores it.
    """
    roots = [widget] + list(getattr(widget, "links", []))
    state = widgets.embed.dependency_state(roots, drop_defaults=False)
    return len(json.dumps(state))


def leaves(widget: widgets.Widget) -> Iterator[widgets.Widget]:
    """Every non-container widget inside ``widget`` (depth first)."""
    children = getattr(widget, "children", None)
    if children is None:
        yield widget
        return
    for child in children:
        yield from leaves(child)


def shown_leaf(widget: widgets.Widget) -> widgets.Widget:
    """The picture a stack (or nested stacks) currently shows, following ``selected_index`` down."""
    while isinstance(widget, widgets.Stack):
        widget = widget.children[widget.selected_index]
    return widget


# --------------------------------------------------------------------------- the figure


class SliderFigure(widgets.VBox):
    """Sliders above a picture; built by :func:`slider_figure`.

    Attributes:
        sliders: the slider widgets, in the order given.
        links: the browser-side links (static mode; empty in live mode).
        picture: the nested stacks of pictures (static) or the one redrawn picture (live).
        static: which mode was built.
        fallback_png: PNG bytes of the starting picture (for PDF/LaTeX builds), or ``None``.
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
        """How many pictures the figure holds (every precomputed one in static mode)."""
        return sum(1 for _ in leaves(self.picture))

    def shown_html(self) -> str:
        """The HTML of the picture the sliders currently select."""
        return shown_leaf(self.picture).value

    def __repr__(self) -> str:
        mode = "static: precomputed pictures switched in the browser" if self.static else "live: redrawn by Python"
        return f"SliderFigure({mode}; {len(self.sliders)} sliders, {self.n_pictures} pictures)"

    def _repr_mimebundle_(self, **kwargs):
        bundle = super()._repr_mimebundle_(**kwargs)
        if bundle is not None and self.fallback_png is not None:
            bundle["image/png"] = base64.b64encode(self.fallback_png).decode("ascii")
        return bundle


def settings_text(sliders: Mapping[str, Slider], values: Mapping[str, Any]) -> str:
    """The sliders' settings as a reader hears them: ``"mean μ = 0.50, width σ = 1"``.

    >>> settings_text({"m": Slider("mean μ", [0.5], format="{:.2f}")}, {"m": 0.5})
    'mean μ = 0.50'
    """
    return ", ".join(f"{spec.label} = {spec.shown(values[name])}" for name, spec in sliders.items())


def _describe(alt: str | Callable[..., str] | None, sliders: Mapping[str, Slider], values: Mapping[str, Any],
              picture: str | Figure | None = None) -> str:
    """A picture's alt text: what the figure shows (``alt``, a text or ``alt(**values)``), its
    settings and, for a matplotlib figure, the titles it prints (where its numbers are)."""
    what = alt(**values) if callable(alt) else (alt or tr("Picture"))
    text = what.rstrip(".:; ") + tr(", at {settings}.", settings=settings_text(sliders, values))
    titles = figure_titles(picture) if isinstance(picture, Figure) else []
    return text + (f" {tr('Titles:')} " + "; ".join(titles) + "." if titles else "")


def figure_titles(fig: Figure) -> list[str]:
    """The titles a figure prints (its suptitle, then each axes' titles), one line each.

    >>> import matplotlib; matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> fig, ax = plt.subplots(); _ = ax.set_title("ROC, AUC = 0.91"); _ = fig.suptitle("Two   spaces")
    >>> figure_titles(fig)
    ['Two spaces', 'ROC, AUC = 0.91']
    >>> plt.close(fig)
    """
    texts = [fig._suptitle] if getattr(fig, "_suptitle", None) is not None else []
    for ax in fig.axes:
        texts += [ax.title, ax._left_title, ax._right_title]
    return [" ".join(t.get_text().split()) for t in texts if t.get_text().strip()]


def slider_figure(draw: Callable[..., str | Figure], sliders: Mapping[str, Slider], *,
                  static: bool = True, caption: str | None = None,
                  alt: str | Callable[..., str] | None = None) -> SliderFigure:
    """An interactive figure: ``draw(**values)`` for every combination of the sliders' values.

    Args:
        draw: makes the picture for one setting; called with one keyword argument per slider
            (the keys of ``sliders``) and returns a matplotlib ``Figure`` (embedded as a small
            PNG) or an HTML/SVG string.
        sliders: ``{keyword: Slider(label, values, start)}``, in the order they appear.
        static: ``True`` precomputes every picture and switches them in the browser (works on
            the static site and in Jupyter); ``False`` draws on demand from a Python callback
            (live Jupyter only, for grids too large to precompute).
        caption: optional HTML shown above the sliders.
        alt: what the picture shows, for a reader who cannot see it: a text, or a function
            called like ``draw`` that describes one setting (the numbers to notice). Each
            picture's alt text is this followed by its slider settings.

    Returns:
        A :class:`SliderFigure`; display it as a cell's last value.

    Raises:
        ValueError: a starting value is not on its slider, or the pictures would make the page
            too heavy (more than :data:`MAX_PICTURES` pictures or :data:`MAX_PICTURE_BYTES` bytes).
    """
    names = list(sliders)
    specs = [sliders[name] for name in names]
    slider_widgets = [spec.widget() for spec in specs]
    start = [spec.start_index() for spec in specs]
    first_values = {name: spec.values[i] for name, spec, i in zip(names, specs, start)}
    first_picture = draw(**first_values)
    fallback = figure_png(first_picture) if isinstance(first_picture, Figure) else None
    first_alt = _describe(alt, sliders, first_values, first_picture)
    first_html = png_img(fallback, first_alt) if fallback is not None else with_alt(as_html(first_picture), first_alt)

    def described(**values) -> str:
        picture = draw(**values)
        text = _describe(alt, sliders, values, picture)
        return with_alt(as_html(picture, text), text)

    if static:
        links, picture = _static_picture(described, names, specs, slider_widgets, start, (tuple(start), first_html))
    else:
        links, picture = [], _live_picture(described, names, slider_widgets, first_html)
    children = ([widgets.HTML(caption)] if caption else []) + [*slider_widgets, picture]
    return SliderFigure(children, sliders=slider_widgets, links=links, picture=picture, static=static,
                        fallback_png=fallback)


def _static_picture(draw, names, specs, slider_widgets, start, known):
    sizes = [len(spec.values) for spec in specs]
    count = 1
    for size in sizes:
        count *= size
    if count > MAX_PICTURES:
        raise ValueError(f"{' × '.join(map(str, sizes))} = {count} pictures is too many to precompute "
                         f"(at most {MAX_PICTURES}): use fewer slider values, or static=False in live Jupyter.")
    pictures = {known[0]: known[1]}
    for indices in itertools.product(*(range(size) for size in sizes)):
        if indices not in pictures:
            values = {name: spec.values[i] for name, spec, i in zip(names, specs, indices)}
            pictures[indices] = draw(**values)
    total = sum(len(p) for p in pictures.values())
    if total > MAX_PICTURE_BYTES:
        raise ValueError(f"The {count} pictures weigh {total / 1e6:.1f} MB, more than a page should carry "
                         f"({MAX_PICTURE_BYTES / 1e6:.1f} MB): use fewer slider values or smaller figures.")
    layout, style = widgets.Layout(), HTMLStyle()  # shared by every picture: a smaller page
    root, levels = nested_stacks(sizes, lambda idx: widgets.HTML(pictures[idx], layout=layout, style=style), start)
    return link_levels(slider_widgets, levels), root


def _live_picture(draw, names, slider_widgets, first_html):
    view = widgets.HTML(first_html)

    def redraw(_change=None) -> None:
        view.value = draw(**{name: s.value for name, s in zip(names, slider_widgets)})

    for slider in slider_widgets:
        slider.observe(redraw, names="value")
    return view
