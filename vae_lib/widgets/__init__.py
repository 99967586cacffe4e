"""Interactive figures that also work on the static website, where no Python kernel runs.

- :mod:`vae_lib.widgets.precomputed`: the general mechanism, :func:`slider_figure`: sliders
  that switch between pictures drawn in advance for every slider setting, in the browser.
- :mod:`vae_lib.widgets.pictures`: matplotlib figures as small inline PNGs.
- :mod:`vae_lib.widgets.bayes`: the chapter on Bayes' rule's explorer of prior, likelihood and posterior.
- :mod:`vae_lib.widgets.mixture`: pictures of a mixture of Gaussians and the EM explorer (chapter 3).
- :mod:`vae_lib.widgets.latent_sliders`: the chapter on exploring the latent space's sliders, which
  decode any setting in the reader's browser (a small JavaScript model), and their live version.

Every figure also carries a PNG of its starting picture, which builds that cannot show widgets
(PDF) display instead.
"""

from vae_lib.widgets.bayes import DEFAULT_GRID, BayesExplorer, bayes_explorer, belief_svg
from vae_lib.widgets.latent_sliders import (LatentSliders, LiveLatentSliders, dimension_sliders,
                                            interpolation_slider, live_dimension_sliders)
from vae_lib.widgets.mixture import em_explorer, plot_mixture
from vae_lib.widgets.pictures import figure_png, png_img
from vae_lib.widgets.precomputed import Slider, SliderFigure, slider_figure, widget_state_size

__all__ = [
    "DEFAULT_GRID",
    "BayesExplorer",
    "LatentSliders",
    "LiveLatentSliders",
    "Slider",
    "SliderFigure",
    "bayes_explorer",
    "belief_svg",
    "dimension_sliders",
    "em_explorer",
    "figure_png",
    "interpolation_slider",
    "live_dimension_sliders",
    "plot_mixture",
    "png_img",
    "slider_figure",
    "widget_state_size",
]
