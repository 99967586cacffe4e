"""vae_lib.widgets: the Bayes explorer builds, its browser-side links are right, its pages are light."""

from __future__ import annotations

import json

import ipywidgets
import pytest
from ipywidgets.widgets.widget_link import Link

from vae_lib import bayes, widgets
from vae_lib.exercises.bayes import COFFEE_P_NOISE, COFFEE_PRIOR
from vae_lib.widgets import DEFAULT_GRID, bayes_explorer, widget_state_size


# The chapter-1 coffee machine, as the chapter and its exercises define it.
PRIOR = dict(COFFEE_PRIOR)
P_NOISE = dict(COFFEE_P_NOISE)


def coffee_explorer(**kwargs):
    return bayes_explorer(PRIOR, P_NOISE, observation="noise", **kwargs)


@pytest.fixture(scope="module")
def explorer():
    return coffee_explorer()


def follow_links(explorer) -> None:
    """Do what the browser does with jslink: copy each link's source value to its target."""
    for link in explorer.links:
        (source, source_attr), (target, target_attr) = link.source, link.target
        setattr(target, target_attr, getattr(source, source_attr))


def expected_texts(prior: float, p_first: float, p_second: float) -> list[str]:
    """Numbers the picture must show for these slider values, computed with vae_lib.bayes."""
    belief = {"clogged": prior, "low water": round(1 - prior, 12)}  # as the widget does: 1 - 0.9 is not 0.1
    likelihood = {"clogged": p_first, "low water": p_second}
    post = bayes.posterior(belief, likelihood)
    return [f">{prior:.2f}<", f">{1 - prior:.2f}<", f">{post['clogged']:.2f}<", f">{post['low water']:.2f}<",
            f"P(noise) = {bayes.evidence(belief, likelihood):.2f}"]



def test_static_explorer_structure(explorer):
    assert isinstance(explorer, ipywidgets.VBox) and explorer.static
    assert all(isinstance(s, ipywidgets.SelectionSlider) for s in explorer.sliders)
    assert [s.description for s in explorer.sliders] == ["P(clogged)", "P(noise | clogged)", "P(noise | low water)"]
    assert all("$" not in s.description for s in explorer.sliders)  # no LaTeX in widget text
    assert [list(s.options) for s in explorer.sliders] == [[(f"{v:g}", v) for v in DEFAULT_GRID]] * 3
    n = len(DEFAULT_GRID)
    assert explorer.n_pictures == n + n**3
    assert "738 pictures" in repr(explorer) and len(repr(explorer)) < 200


def test_links_connect_slider_index_to_stack_selected_index(explorer):
    prior_slider, first_slider, second_slider = explorer.sliders
    prior_stack = explorer.picture.children[0].children[-1]
    posterior_stack = explorer.picture.children[1].children[-1]
    middle = list(posterior_stack.children)
    inner = [stack for m in middle for stack in m.children]

    assert all(isinstance(link, Link) for link in explorer.links)  # jslink, not a Python link
    targets = {}
    for link in explorer.links:
        (source, source_attr), (target, target_attr) = link.source, link.target
        assert (source_attr, target_attr) == ("index", "selected_index")
        assert isinstance(target, ipywidgets.Stack)
        targets.setdefault(source.model_id, set()).add(target.model_id)

    assert targets[prior_slider.model_id] == {prior_stack.model_id, posterior_stack.model_id}
    assert targets[first_slider.model_id] == {s.model_id for s in middle}
    assert targets[second_slider.model_id] == {s.model_id for s in inner}
    assert len(explorer.links) == 2 + len(middle) + len(inner)
    assert all(len(s.children) == len(DEFAULT_GRID) for s in [posterior_stack, *middle, *inner])


def test_stacks_start_at_the_sliders_positions(explorer):
    prior_slider, first_slider, second_slider = explorer.sliders
    for link in explorer.links:
        (source, _), (target, _) = link.source, link.target
        assert target.selected_index == source.index  # consistent before any JavaScript runs


def test_default_picture_shows_the_coffee_machine_posterior(explorer):
    assert [s.value for s in explorer.sliders] == [0.3, 0.9, 0.2]
    shown = explorer.shown_html()
    for text in expected_texts(0.3, 0.9, 0.2):
        assert text in shown, text
    assert ">0.66<" in shown and "P(noise) = 0.41" in shown


def test_moving_sliders_switches_to_the_right_picture():
    explorer = coffee_explorer()
    before = explorer.shown_html()
    for indices in [(0, 8, 0), (8, 0, 8), (4, 4, 4), (2, 8, 1)]:
        for slider, index in zip(explorer.sliders, indices):
            slider.index = index
        follow_links(explorer)
        shown = explorer.shown_html()
        values = [DEFAULT_GRID[i] for i in indices]
        for text in expected_texts(*values):
            assert text in shown, (indices, text)
        if indices != (2, 8, 1):
            assert shown != before
    assert explorer.shown_html() == before  # back at the default position, back at the default picture


def test_every_precomputed_picture_matches_bayes(explorer):
    posterior_stack = explorer.picture.children[1].children[-1]
    for i, prior in enumerate(DEFAULT_GRID):
        for j, p_first in enumerate(DEFAULT_GRID):
            for k, p_second in enumerate(DEFAULT_GRID):
                svg = posterior_stack.children[i].children[j].children[k].value
                for text in expected_texts(prior, p_first, p_second)[2:]:
                    assert text in svg


def test_embedded_state_is_light_and_holds_the_links(explorer):
    size = widget_state_size(explorer)
    assert size < 1_500_000, f"{size / 1e6:.2f} MB of widget state is too heavy for one page"
    state = ipywidgets.embed.dependency_state([explorer, *explorer.links], drop_defaults=False)
    models = [entry["model_name"] for entry in state.values()]
    assert models.count("LinkModel") == len(explorer.links)
    assert models.count("HTMLModel") >= explorer.n_pictures
    json.dumps(state)  # serialisable as a page embeds it


def test_live_explorer_recomputes_in_python():
    explorer = coffee_explorer(static=False)
    assert not explorer.static and explorer.links == []
    assert all(isinstance(s, ipywidgets.FloatSlider) for s in explorer.sliders)
    for text in expected_texts(0.3, 0.9, 0.2):
        assert text in explorer.shown_html()
    explorer.sliders[0].value = 0.55
    explorer.sliders[2].value = 0.37
    for text in expected_texts(0.55, 0.9, 0.37):
        assert text in explorer.shown_html()


def test_custom_names_and_impossible_observations():
    explorer = bayes_explorer({"rain": 0.5, "sprinkler": 0.5}, {"rain": 1.0, "sprinkler": 0.0},
                              observation="wet grass", grid=(0.0, 0.5, 1.0))
    assert explorer.sliders[1].description == "P(wet grass | rain)"
    for slider, index in zip(explorer.sliders, (1, 0, 0)):
        slider.index = index
    follow_links(explorer)
    assert "impossible" in explorer.shown_html()


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"prior": {"clogged": 0.35, "low water": 0.65}}, "not on the slider grid"),
        ({"grid": tuple(i / 20 for i in range(1, 20))}, "too heavy"),
        ({"grid": (0.1, 1.2)}, r"\[0, 1\]"),
        ({"prior": {"a": 0.2, "b": 0.3, "c": 0.5}, "likelihood": {"a": 1, "b": 1, "c": 1}}, "exactly two"),
        ({"likelihood": {"clogged": 0.9}}, "missing"),
    ],
)
def test_bad_arguments_are_refused(kwargs, match):
    arguments = {"prior": PRIOR, "likelihood": P_NOISE, **kwargs}
    with pytest.raises(ValueError, match=match):
        bayes_explorer(arguments.pop("prior"), arguments.pop("likelihood"), **arguments)


def test_belief_svg_is_small_and_labelled():
    svg = widgets.belief_svg({"clogged": 0.3, "low water": 0.7}, footer="P(noise) = 0.41")
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert ">clogged<" in svg and ">0.70<" in svg and "P(noise) = 0.41" in svg
    assert len(svg) < 600
    assert "&lt;b&gt;" in widgets.belief_svg({"<b>": 1.0})  # names are escaped


def test_explorer_carries_a_png_of_its_starting_state_for_pdf_builds(explorer):
    import base64

    bundle = explorer._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    png = base64.b64decode(bundle["image/png"])
    assert png.startswith(b"\x89PNG") and len(png) < 60_000
