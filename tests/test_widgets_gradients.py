"""vae_lib.widgets.gradients: the μ, σ, L explorer of REINFORCE and reparameterized estimates."""

from __future__ import annotations

import math

import matplotlib
import pytest
import torch

matplotlib.use("Agg")

from vae_lib.estimators import reparameterized_gradients, score_function_gradients  # noqa: E402
from vae_lib.widgets import gradient_estimates, gradient_explorer  # noqa: E402
from vae_lib.widgets.gradients import draw_gradient_estimates, exact_gradient  # noqa: E402
from vae_lib.widgets.precomputed import leaves  # noqa: E402

TARGET = 2.0


def f(z):
    return (z - TARGET) ** 2


def follow_links(figure) -> None:
    """What the browser does with jslink: copy each link's source value to its target."""
    for link in figure.links:
        (source, source_attr), (target, target_attr) = link.source, link.target
        setattr(target, target_attr, getattr(source, source_attr))


def test_exact_gradient_is_the_closed_form():
    for mu, sigma in [(0.0, 1.0), (1.5, 0.3), (-2.0, 2.0)]:
        assert exact_gradient(f, mu, sigma) == pytest.approx((2 * (mu - TARGET), 2 * sigma))


def test_estimates_are_means_of_the_librarys_per_sample_estimates_on_shared_draws():
    estimates = gradient_estimates(f, 0.5, 1.0, samples=4, repeats=3, seed=7)
    eps = torch.randn(12, generator=torch.Generator().manual_seed(7), dtype=torch.float64)
    for name, estimator in (("REINFORCE", score_function_gradients), ("reparameterized", reparameterized_gradients)):
        per_sample = estimator(f, 0.5, 1.0, noise=eps)
        assert torch.allclose(estimates[name].d_mu, per_sample.d_mu.view(3, 4).mean(1))
        assert torch.allclose(estimates[name].d_sigma, per_sample.d_sigma.view(3, 4).mean(1))


def test_estimates_centre_on_the_exact_gradient_and_shrink_with_l():
    exact = exact_gradient(f, 1.0, 0.5)
    one, hundred = (gradient_estimates(f, 1.0, 0.5, samples=n, repeats=2000) for n in (1, 100))
    for name in one:
        for part in (0, 1):
            values = hundred[name][part]
            assert abs(values.mean().item() - exact[part]) < 5 * values.std().item() / math.sqrt(len(values))
            assert 8 < (one[name][part].std() / values.std()).item() < 12.5


def test_the_picture_states_the_librarys_numbers_and_keeps_its_axes_when_l_moves():
    pictures = {n: draw_gradient_estimates(f, 0.0, 1.0, samples=n, repeats=300, seed=1) for n in (1, 30)}
    estimates = gradient_estimates(f, 0.0, 1.0, samples=30, repeats=300, seed=1)
    exact = exact_gradient(f, 0.0, 1.0)
    for part, ax in enumerate(pictures[30].axes[:2]):
        title = ax.get_title()
        assert f"exact {exact[part]:.3g}" in title
        assert f"sd {estimates['REINFORCE'][part].numpy().std():.3g} REINFORCE" in title
        assert f"{estimates['reparameterized'][part].numpy().std():.3g} reparam." in title
        assert ax.get_xlim() == pictures[1].axes[part].get_xlim()
    assert "L = 30" in pictures[30].texts[0].get_text()


def test_the_explorer_switches_between_different_pictures():
    figure = gradient_explorer(f, mus=[0.0, 2.0], sigmas=[1.0], sample_counts=[1, 10], start=(0.0, 1.0, 10),
                               repeats=200)
    pictures = [leaf.value for leaf in leaves(figure.picture)]
    assert figure.n_pictures == 4 and len(set(pictures)) == 4
    assert [s.description for s in figure.sliders] == ["mean mu", "std sigma", "samples L"]
    assert all("$" not in s.description for s in figure.sliders)
    shown = figure.shown_html()
    figure.sliders[0].value = 2.0
    follow_links(figure)
    assert figure.shown_html() != shown
