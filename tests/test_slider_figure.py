"""vae_lib.widgets.precomputed: sliders that switch precomputed pictures in the browser."""

from __future__ import annotations

import base64
import itertools

import ipywidgets
import matplotlib
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from vae_lib.widgets import Slider, slider_figure, widget_state_size  # noqa: E402
from vae_lib.widgets.precomputed import MAX_PICTURES  # noqa: E402

SLIDERS = {
    "a": Slider("first a", [1, 2, 3], value=2),
    "b": Slider("second b", ["x", "y"], value="x"),
    "c": Slider("third c", [0.1, 0.2, 0.3, 0.4], value=0.4, format="{:.1f}"),
}


def label(a, b, c) -> str:
    return f"<p>a={a} b={b} c={c:.1f}</p>"


def follow_links(figure) -> None:
    """What the browser does with jslink: copy each link's source value to its target."""
    for link in figure.links:
        (source, source_attr), (target, target_attr) = link.source, link.target
        setattr(target, target_attr, getattr(source, source_attr))


@pytest.fixture(scope="module")
def figure():
    return slider_figure(label, SLIDERS, caption="<b>a caption</b>")


def test_structure_and_starting_picture(figure):
    assert figure.static and figure.n_pictures == 3 * 2 * 4
    assert [s.description for s in figure.sliders] == ["first a", "second b", "third c"]
    assert [s.value for s in figure.sliders] == [2, "x", 0.4]
    assert [label for label, _ in figure.sliders[2].options] == ["0.1", "0.2", "0.3", "0.4"]
    assert figure.shown_html() == label(2, "x", 0.4)
    assert len(figure.links) == 1 + 3 + 3 * 2  # one per stack: 1 root, 3 middle, 6 inner
    assert all(isinstance(link, ipywidgets.widgets.widget_link.Link) for link in figure.links)
    assert "a caption" in figure.children[0].value


def test_every_setting_shows_its_own_picture(figure):
    for indices in itertools.product(range(3), range(2), range(4)):
        for slider, index in zip(figure.sliders, indices):
            slider.index = index
        follow_links(figure)
        values = [spec.values[i] for spec, i in zip(SLIDERS.values(), indices)]
        assert figure.shown_html() == label(*values), indices


def test_links_start_where_the_sliders_are():
    fresh = slider_figure(label, SLIDERS)
    for link in fresh.links:
        (source, _), (target, _) = link.source, link.target
        assert target.selected_index == source.index


def test_matplotlib_pictures_are_small_pngs_with_a_fallback():
    def draw(shift):
        fig, ax = plt.subplots(figsize=(3, 2))
        ax.plot([0, 1, 2], [shift, 1 + shift, shift])
        return fig

    figure = slider_figure(draw, {"shift": Slider("shift", [0.0, 0.5, 1.0], 0.5)})
    assert figure.shown_html().startswith('<img src="data:image/png;base64,')
    assert widget_state_size(figure) < 100_000
    bundle = figure._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    png = base64.b64decode(bundle["image/png"])
    assert png == figure.fallback_png and png.startswith(b"\x89PNG")
    assert not plt.get_fignums(), "figures are closed once converted, so a notebook does not show them twice"


def test_live_mode_redraws_in_python():
    figure = slider_figure(label, SLIDERS, static=False)
    assert not figure.static and figure.links == [] and figure.n_pictures == 1
    figure.sliders[0].value = 3
    figure.sliders[2].value = 0.1
    assert figure.shown_html() == label(3, "x", 0.1)


def test_html_pictures_have_no_png_fallback(figure):
    assert figure.fallback_png is None and "image/png" not in figure._repr_mimebundle_()


@pytest.mark.parametrize(
    "sliders, match",
    [
        ({"a": Slider("a", [1, 2], value=5)}, "not one of its values"),
        ({"a": Slider("a", [])}, "no values"),
        ({"a": Slider("a", range(MAX_PICTURES + 1))}, "too many to precompute"),
    ],
)
def test_bad_sliders_are_refused(sliders, match):
    with pytest.raises(ValueError, match=match):
        slider_figure(lambda a: str(a), sliders)


def test_pictures_too_heavy_for_a_page_are_refused():
    with pytest.raises(ValueError, match="more than a page should carry"):
        slider_figure(lambda a: "x" * 200_000, {"a": Slider("a", list(range(20)))})


def test_every_picture_says_what_it_shows_at_its_own_setting():
    """Alt text (<img alt>, <svg aria-label>) = the description, the slider settings and a
    matplotlib figure's titles, so what a screen reader reads changes with the sliders."""
    import re

    def draw(shift):
        fig, ax = plt.subplots(figsize=(3, 2))
        ax.plot([0, 1, 2], [shift, 1 + shift, shift])
        ax.set_title(f"peak at {1 + shift:.1f}")
        return fig

    figure = slider_figure(draw, {"shift": Slider("shift", [0.0, 0.5, 1.0], 0.5)}, alt="A tent-shaped line")
    alts = [re.search(r' alt="([^"]*)"', leaf.value).group(1) for leaf in figure.picture.children]
    assert alts == [f"A tent-shaped line, at shift = {s:g}. Titles: peak at {1 + s:.1f}." for s in (0.0, 0.5, 1.0)]

    svg = slider_figure(lambda a: f'<svg width="10"><text>{a}</text></svg>', {"a": Slider("a", [1, 2])},
                        alt=lambda a: f"A number, {a}, written")
    labels = [re.search(r'<svg role="img" aria-label="([^"]*)"', leaf.value).group(1)
              for leaf in svg.picture.children]
    assert labels == ["A number, 1, written, at a = 1.", "A number, 2, written, at a = 2."]
