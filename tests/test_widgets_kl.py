"""vae_lib.widgets.kl: the forward/reverse KL explorer shows the library's fits, a different picture per setting."""

from __future__ import annotations

import itertools

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")

from vae_lib.divergences import fit_gaussian, forward_kl, moment_matching, reverse_kl  # noqa: E402
from vae_lib.widgets import kl_fit_explorer, widget_state_size  # noqa: E402
from vae_lib.widgets.kl import FORWARD, REVERSE, STARTS, bimodal_target, draw_kl_fit, kl_fit_setting  # noqa: E402

SEPARATIONS = (0.0, 3.0, 7.0)


def follow_links(figure) -> None:
    """What the browser does with jslink: copy each link's source value to its target."""
    for link in figure.links:
        (source, source_attr), (target, target_attr) = link.source, link.target
        setattr(target, target_attr, getattr(source, source_attr))


@pytest.fixture(scope="module")
def explorer():
    return kl_fit_explorer(separations=SEPARATIONS)


def shown(explorer, separation, divergence, start) -> str:
    values = (separation, divergence, start)
    for slider, value in zip(explorer.sliders, values):
        slider.index = list(slider_values(slider)).index(value)
    follow_links(explorer)
    return explorer.shown_html()


def slider_values(slider):
    return [value for _, value in slider.options]


def test_structure(explorer):
    assert [s.description for s in explorer.sliders] == ["mode separation", "fitted by", "reverse fit starts"]
    assert all("$" not in s.description for s in explorer.sliders)  # no LaTeX in widget text
    assert explorer.n_pictures == len(SEPARATIONS) * 2 * len(STARTS)
    assert [s.value for s in explorer.sliders] == [7.0, REVERSE, "left"]  # the largest separation first
    assert explorer.fallback_png is not None
    assert widget_state_size(explorer) < 200_000


def test_every_setting_has_its_own_picture(explorer):
    pictures = {setting: shown(explorer, *setting)
                for setting in itertools.product(SEPARATIONS, [FORWARD, REVERSE], STARTS)}
    # Distinct even where the fit is the same (the forward fit, or the reverse fit of one Gaussian):
    # the start marker moves, so no slider ever seems dead.
    assert len(set(pictures.values())) == len(pictures)
    assert all(html.startswith('<img src="data:image/png;base64,') for html in pictures.values())


def test_settings_hold_the_librarys_fits():
    target = bimodal_target(6.0)
    assert target.means.ravel().tolist() == [-3.0, 3.0] and target.weights.tolist() == [0.3, 0.7]
    forward = kl_fit_setting(target, FORWARD)
    assert forward.fit == moment_matching(target) == kl_fit_setting(target, FORWARD, "right").fit
    for start, start_mean in [("left", -4.0), ("right", 4.0)]:
        setting = kl_fit_setting(target, REVERSE, start)
        assert setting.start == (start_mean, 1.0)
        assert setting.fit == fit_gaussian(target, "reverse", start=(start_mean, 1.0))
        assert setting.forward == forward_kl(target, setting.fit.mean, setting.fit.std)
        assert setting.reverse == reverse_kl(target, setting.fit.mean, setting.fit.std)
    left, right = (kl_fit_setting(target, REVERSE, side).fit for side in STARTS)
    assert left.mean < 0 < right.mean


def test_drawing_shows_the_fit_and_its_numbers():
    setting = kl_fit_setting(bimodal_target(6.0), REVERSE, "right")
    fig = draw_kl_fit(setting, REVERSE)
    ax = fig.axes[0]
    texts = " ".join(t.get_text() for t in ax.texts) + ax.get_title()
    assert f"KL(p||q) = {setting.forward:.2f}" in texts and f"KL(q||p) = {setting.reverse:.2f}" in texts
    assert "(minimized)" in texts.split("KL(q||p)")[1]  # the reverse KL is the one minimized
    x, q = ax.lines[0].get_data()
    expected = np.exp(-0.5 * ((x - setting.fit.mean) / setting.fit.std) ** 2) / (setting.fit.std * np.sqrt(2 * np.pi))
    np.testing.assert_allclose(q, expected)
    matplotlib.pyplot.close(fig)


def test_bad_choices_are_refused():
    with pytest.raises(ValueError, match="divergence must be"):
        kl_fit_setting(bimodal_target(2.0), "symmetric KL")
    with pytest.raises(ValueError, match="start must be one of"):
        kl_fit_setting(bimodal_target(2.0), REVERSE, "middle")
