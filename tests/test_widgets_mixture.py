"""vae_lib.widgets.mixture: the pictures show the library's numbers and change with the sliders."""

from __future__ import annotations

import re

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import Ellipse  # noqa: E402

from vae_lib.mixture import MixtureOfGaussians, fit_em  # noqa: E402
from vae_lib.widgets.mixture import (component_colors, draw_em_state, em_explorer,  # noqa: E402
                                     gaussian_ellipse, plot_mixture)
from vae_lib.widgets.precomputed import leaves  # noqa: E402


@pytest.fixture(scope="module")
def data():
    truth = MixtureOfGaussians([0.4, 0.3, 0.3], [[-2.0, 0.0], [2.0, 1.0], [0.0, -2.5]],
                               [np.eye(2) * 0.4, np.eye(2) * 0.3, np.diag([0.6, 0.2])])
    return truth.sample(150, seed=0)[0]


@pytest.fixture(scope="module")
def runs(data):
    return [fit_em(data, 3, seed=seed, iterations=30) for seed in (0, 1)]


def test_ellipse_axes_are_the_covariance_eigenvectors():
    angle = 0.6
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    covariance = rotation @ np.diag([4.0, 0.25]) @ rotation.T
    ellipse = gaussian_ellipse([1.0, 2.0], covariance, n_std=2.0)
    assert ellipse.center == (1.0, 2.0)
    assert ellipse.width == pytest.approx(2 * 2 * 2.0) and ellipse.height == pytest.approx(2 * 2 * 0.5)
    assert np.radians(ellipse.angle) % np.pi == pytest.approx(angle)
    # A point on the ellipse is exactly n_std Mahalanobis units from the center.
    on_edge = ellipse.get_verts()[0] - np.array([1.0, 2.0])
    assert on_edge @ np.linalg.solve(covariance, on_edge) == pytest.approx(4.0, rel=1e-6)


def test_plot_mixture_draws_the_mixture(data, runs):
    mog = runs[0].mixture
    ax = plot_mixture(mog, data)
    ellipses = [patch for patch in ax.patches if isinstance(patch, Ellipse)]
    np.testing.assert_allclose([e.center for e in ellipses], mog.means)
    colors = ax.collections[0].get_facecolors()[:, :3]
    np.testing.assert_allclose(colors, mog.responsibilities(data) @ component_colors(3), atol=1e-6)
    plt.close(ax.figure)
    with pytest.raises(ValueError, match="2-D mixtures"):
        plot_mixture(MixtureOfGaussians([1.0], [[0.0]], [[[1.0]]]))


def test_em_state_shows_the_runs_numbers(data, runs):
    run = runs[1]
    for step in (0, 3, 999):
        shown = min(step, run.n_steps)
        fig = draw_em_state(data, run, step)
        left, right = fig.axes
        centers = [patch.center for patch in left.patches if isinstance(patch, Ellipse)]
        np.testing.assert_allclose(centers, run.history[shown].means)
        assert right.get_title() == f"log-likelihood per point: {run.log_likelihoods[shown]:.3f} nats"
        np.testing.assert_allclose(right.lines[0].get_ydata(), run.log_likelihoods)
        assert list(right.lines[1].get_xdata()) == [shown]
        plt.close(fig)


def test_explorer_has_a_different_picture_for_every_setting(data, runs):
    steps = [0, 1, 5, 20]
    explorer = em_explorer(data, runs, steps)
    assert explorer.n_pictures == len(steps) * len(runs)
    assert [s.description for s in explorer.sliders] == ["EM step shown", "restart number"]
    pictures = [leaf.value for leaf in leaves(explorer.picture)]
    assert len(set(pictures)) == len(pictures)
    assert all(p.startswith('<img src="data:image/png;base64,') for p in pictures)


def test_explorer_names_the_runs_by_the_numbers_given(data, runs):
    explorer = em_explorer(data, runs, [0, 5], numbers=[4, 9])
    restart = explorer.sliders[1]
    assert [label for label, _ in restart.options] == ["4", "9"] and restart.value == 4
    by_default = em_explorer(data, runs, [0, 5])
    assert [value for _, value in by_default.sliders[1].options] == [1, 2]
    # the run named 9 is the second run: the same pictures as the second run by default (whose
    # alt text names it "restart number = 2")
    def drawn(figure):
        return [re.sub(r' alt="[^"]*"', "", leaf.value) for leaf in leaves(figure.picture)]

    assert drawn(explorer) == drawn(by_default)
    assert "restart number = 9" in list(leaves(explorer.picture))[-1].value


def test_explorer_refuses_numbers_that_do_not_name_each_run_once(data, runs):
    for numbers in ([1], [3, 3]):
        with pytest.raises(ValueError, match="one distinct number per run"):
            em_explorer(data, runs, [0, 1], numbers=numbers)


def test_explorer_refuses_empty_input(data, runs):
    with pytest.raises(ValueError, match="at least one"):
        em_explorer(data, [], [0, 1])
    with pytest.raises(ValueError, match="at least one"):
        em_explorer(data, runs, [])
