"""The explorers of the chapters on importance sampling and on the ELBO: numbers from the library, pictures that respond."""

from __future__ import annotations

import math

import matplotlib
import pytest
import torch

from vae_lib.estimators import monte_carlo_log_evidence
from vae_lib.linear_gaussian import LinearGaussian, diagonal_gaussian
from vae_lib.widgets import elbo_explorer, importance_explorer
from vae_lib.widgets._sketch import Panel, Sketch, nice_ticks
from vae_lib.widgets.elbo import draw_elbo, elbo_ledger, elbo_sketch
from vae_lib.widgets.importance import draw_importance_runs, importance_runs, importance_sketch

matplotlib.use("Agg")

MODEL = LinearGaussian(A=[[3.0]], b=[0.0], sigma=1.0)
X = torch.tensor([4.0])
POSTERIOR = MODEL.posterior(X)


def follow_links(figure) -> None:
    """Do what the browser does with jslink: copy each link's source value to its target."""
    for link in figure.links:
        (source, source_attr), (target, target_attr) = link.source, link.target
        setattr(target, target_attr, getattr(source, source_attr))


def shown_pictures(figure) -> list[str]:
    """The picture shown for every slider setting, in slider order.

    Only their first 2,000 characters are kept: the browser test compares no more than that, so
    the pictures must differ early (the SVG's title names the setting).
    """
    pictures = []
    mean_slider, width_slider = figure.sliders
    for i in range(len(mean_slider.options)):
        for j in range(len(width_slider.options)):
            mean_slider.index, width_slider.index = i, j
            follow_links(figure)
            pictures.append(figure.shown_html()[:2000])
    return pictures


# ---------------------------------------------------------------------------- importance sampling


def test_runs_are_the_library_estimates():
    runs = importance_runs(MODEL, X, mean=0.5, width=0.6, k=7, repeats=30, seed=3)
    proposal = diagonal_gaussian([0.5], [0.6]).expand((30,))
    estimate = monte_carlo_log_evidence(lambda z: MODEL.log_joint(X, z), proposal, 7, torch.Generator().manual_seed(3))
    torch.testing.assert_close(runs.ratios, (estimate.log_evidence - MODEL.log_evidence(X)).exp())
    torch.testing.assert_close(runs.mean_ess, estimate.ess.mean())


def test_estimates_are_unbiased_and_exact_with_the_posterior():
    runs = importance_runs(MODEL, X, mean=0.8, width=0.6, k=10, repeats=4000, seed=0)
    assert abs(runs.ratios.mean().item() - 1.0) < 4 * runs.relative_spread / math.sqrt(4000)
    exact = importance_runs(MODEL, X, POSTERIOR.mean.item(), POSTERIOR.stddev.item(), k=10, repeats=50)
    assert exact.relative_spread < 1e-12 and exact.mean_ess.item() == pytest.approx(10.0)


def test_importance_picture_states_the_runs_numbers():
    runs = importance_runs(MODEL, X, 0.0, 1.0, k=10, repeats=200, seed=0)
    svg = draw_importance_runs(MODEL, X, 0.0, 1.0)
    assert f"sd {runs.relative_spread:.2f}, mean ESS {runs.mean_ess.item():.1f} of 10" in svg
    assert "q = N(0.00, 1.00²)" in svg and svg.startswith("<svg") and len(svg) < 12_000


def test_the_printable_version_draws_the_same_panels():
    sketch = importance_sketch(MODEL, X, 0.0, 1.0, repeats=50)
    fig = sketch.figure()
    assert [ax.get_title() for ax in fig.axes] == [panel.title for panel in sketch.panels]
    matplotlib.pyplot.close(fig)


def test_importance_explorer_switches_pictures_in_the_browser():
    figure = importance_explorer(MODEL, X, [0.0, 1.2], [0.3, 1.0], repeats=20)
    assert figure.n_pictures == 4 and len(figure.sliders) == 2
    assert [s.description for s in figure.sliders] == ["proposal mean", "proposal width (sd)"]
    assert [s.value for s in figure.sliders] == [0.0, 1.0]   # starts at the prior: naive Monte Carlo
    assert len(set(shown_pictures(figure))) == 4
    assert figure.fallback_png.startswith(b"\x89PNG")   # for builds that cannot show widgets


# ---------------------------------------------------------------------------- the ELBO


def test_ledger_is_the_models_exact_elbo():
    ledger = elbo_ledger(MODEL, X, mean=1.0, width=0.5)
    mean, std = torch.tensor([1.0], dtype=torch.float64), torch.tensor([0.5], dtype=torch.float64)
    assert ledger.elbo == pytest.approx(MODEL.elbo(X, mean, std).item(), abs=1e-12)
    assert ledger.log_evidence - ledger.gap == pytest.approx(ledger.elbo, abs=1e-12)
    assert ledger.kl_prior == pytest.approx(MODEL.kl_to_prior(mean, std).item())
    exact = elbo_ledger(MODEL, X, POSTERIOR.mean.item(), POSTERIOR.stddev.item())
    assert exact.gap == pytest.approx(0.0, abs=1e-12)


def test_elbo_picture_states_the_ledgers_numbers():
    ledger = elbo_ledger(MODEL, X, 1.0, 0.5)
    sketch = elbo_sketch(MODEL, X, 1.0, 0.5)
    labels = [label for _, label in sketch.panels[1].xticks]
    assert labels == [f"E_q log p(x|z)\n{ledger.reconstruction:.2f}", f"ELBO\n{ledger.elbo:.2f}",
                      f"log p(x)\n{ledger.log_evidence:.2f}"]
    svg = draw_elbo(MODEL, X, 1.0, 0.5)
    assert f"KL(q‖p(z)) = {ledger.kl_prior:.2f}" in svg and f"gap = KL(q‖p(z|x)) = {ledger.gap:.2f}" in svg
    assert ">ELBO<" in svg and f">{ledger.elbo:.2f}<" in svg


def test_values_below_the_ledger_are_marked_not_dropped():
    far = elbo_ledger(MODEL, X, -0.4, 0.1)
    assert far.elbo < far.log_evidence - 8
    assert any(mark[0] == "down" for mark in elbo_sketch(MODEL, X, -0.4, 0.1).panels[1].marks)


def test_elbo_explorer_switches_pictures_in_the_browser():
    figure = elbo_explorer(MODEL, X, [0.0, 1.2], [0.3, 1.0])
    assert figure.n_pictures == 4 and [s.value for s in figure.sliders] == [0.0, 1.0]
    assert all("$" not in s.description for s in figure.sliders)
    assert len(set(shown_pictures(figure))) == 4
    assert figure.fallback_png.startswith(b"\x89PNG")


def test_explorers_need_a_one_dimensional_latent():
    model = LinearGaussian.random(latent_dim=2, data_dim=3)
    with pytest.raises(ValueError, match="one-dimensional"):
        importance_runs(model, torch.zeros(3), 0.0, 1.0)
    with pytest.raises(ValueError, match="one-dimensional"):
        elbo_ledger(model, torch.zeros(3), 0.0, 1.0)


# ---------------------------------------------------------------------------- the SVG sketches


def test_sketch_escapes_text_and_keeps_marks_inside_the_panel():
    panel = Panel(x_range=(0.0, 1.0), y_range=(0.0, 1.0), title="a < b & c")
    panel.line([0.0, 0.5, 2.0], [0.5, 9.0, -3.0], "black")     # leaves the panel on both sides
    svg = Sketch([panel], panel_width=300, height=240).svg()
    assert "a &lt; b &amp; c" in svg and "a < b" not in svg
    points = svg.split('points="')[1].split('"')[0].split()
    xs, ys = zip(*((float(v) for v in point.split(",")) for point in points))
    assert min(xs) >= 0 and max(xs) <= 300 and min(ys) >= 0 and max(ys) <= 240


def test_nice_ticks_are_round_and_few():
    assert [v for v, _ in nice_ticks(-3, 4, most=8)] == [-3, -2, -1, 0, 1, 2, 3, 4]
    assert [label for _, label in nice_ticks(-10.9, -0.4)] == ["−10", "−8", "−6", "−4", "−2"]
    assert len(nice_ticks(0, 123.4)) <= 6
