"""Colour: the ten digit classes stay distinguishable for readers with a colour-vision deficiency.

Each palette is seen through Machado, Oliveira and Fernandes' (2009) simulation of complete
protanopia, deuteranopia and tritanopia (their severity-1.0 matrices, applied to linear RGB);
the smallest CIELAB distance (ΔE*ab, CIE 1976) between any two simulated colours must stay
above :data:`MIN_DELTA_E`. The control: matplotlib's ``tab10`` fails for protanopia.
"""

from __future__ import annotations

import itertools

import matplotlib
import numpy as np
import pytest
from matplotlib.colors import to_rgb

from vae_lib import plots

#: Smallest allowed ΔE*ab between two classes: about twice what readers see as "clearly different"
#: for small marks; matplotlib's tab10 reaches 5 under protanopia.
MIN_DELTA_E = 12.0

MACHADO = {
    "protanopia": [[0.152286, 1.052583, -0.204868],
                   [0.114503, 0.786281, 0.099216],
                   [-0.003882, -0.048116, 1.051998]],
    "deuteranopia": [[0.367322, 0.860646, -0.227968],
                     [0.280085, 0.672501, 0.047413],
                     [-0.011820, 0.042940, 0.968881]],
    "tritanopia": [[1.255528, -0.076749, -0.178779],
                   [-0.078411, 0.930809, 0.147602],
                   [0.004733, 0.691367, 0.303900]],
}


def _linear(srgb: np.ndarray) -> np.ndarray:
    return np.where(srgb <= 0.04045, srgb / 12.92, ((srgb + 0.055) / 1.055) ** 2.4)


def _lab(linear_rgb: np.ndarray) -> np.ndarray:
    """CIELAB (D65 white) of linear sRGB colours, one per row."""
    to_xyz = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]])
    t = linear_rgb @ to_xyz.T / np.array([0.95047, 1.0, 1.08883])
    f = np.where(t > (6 / 29) ** 3, np.cbrt(t), t / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.stack([116 * f[:, 1] - 16, 500 * (f[:, 0] - f[:, 1]), 200 * (f[:, 1] - f[:, 2])], axis=1)


def smallest_distance(colours, deficiency: str | None) -> float:
    """The smallest ΔE*ab between two of ``colours`` as a reader with ``deficiency`` sees them."""
    rgb = _linear(np.array([to_rgb(c) for c in colours]))
    if deficiency is not None:
        rgb = np.clip(rgb @ np.array(MACHADO[deficiency]).T, 0, 1)
    lab = _lab(rgb)
    return min(float(np.linalg.norm(lab[i] - lab[j])) for i, j in itertools.combinations(range(len(lab)), 2))


def test_the_simulation_keeps_white_and_grey_and_confuses_red_with_green():
    """Sanity of the matrices: greys are unchanged; a reddish and a greenish colour a normal eye
    tells apart easily look alike without the cone they need."""
    greys = _linear(np.array([[1.0, 1.0, 1.0], [0.5, 0.5, 0.5]]))
    for matrix in MACHADO.values():
        np.testing.assert_allclose(greys @ np.array(matrix).T, greys, atol=2e-3)
    red_green = ["#a05000", "#508000"]  # a brown and an olive
    assert smallest_distance(red_green, None) > 50
    assert smallest_distance(red_green, "deuteranopia") < 8
    assert smallest_distance(red_green, "protanopia") < 20
    assert smallest_distance(red_green, "tritanopia") > 50  # blue-yellow blindness keeps red-green


@pytest.mark.parametrize("deficiency", [None, *MACHADO])
def test_the_digit_palette_stays_distinguishable(deficiency):
    assert len(set(plots.DIGIT_COLOURS)) == 10 and len(set(plots.DIGIT_MARKERS)) == 10
    distance = smallest_distance(plots.DIGIT_COLOURS, deficiency)
    assert distance >= MIN_DELTA_E, f"{deficiency}: two digit colours only {distance:.1f} apart"


def test_the_control_tab10_is_not_safe():
    tab10 = [matplotlib.colormaps["tab10"](i) for i in range(10)]
    assert smallest_distance(tab10, "protanopia") < MIN_DELTA_E


def test_a_digit_scatter_differs_in_colour_shape_and_label():
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    points = np.random.default_rng(0).normal(size=(200, 2))
    labels = np.arange(200) % 10
    _, ax = plt.subplots()
    plots.scatter_by_digit(ax, points, labels)
    shapes = {collection.get_paths()[0].vertices.tobytes() for collection in ax.collections}
    colours = {tuple(collection.get_facecolor()[0]) for collection in ax.collections}
    assert len(ax.collections) == len(shapes) == len(colours) == 10
    assert sorted(text.get_text() for text in ax.texts) == [str(d) for d in range(10)]
    plt.close("all")
