"""Interactive figures that also work on the static website, where no Python kernel runs.

- :mod:`vae_lib.widgets.precomputed`: the general mechanism, :func:`slider_figure`: sliders
  that switch between pictures drawn in advance for every slider setting, in the browser.
- :mod:`vae_lib.widgets.pictures`: matplotlib figures as small inline PNGs.
- :mod:`vae_lib.widgets.bayes`: the chapter on Bayes' rule's explorer of prior, likelihood and posterior.
- :mod:`vae_lib.widgets.prior_samples`: the chapter on training a VAE on MNIST: decoded prior samples.
- :mod:`vae_lib.widgets.anomaly`: the chapter beyond the basic VAE: an anomaly detector's threshold.

Every figure also carries a PNG of its starting picture, which builds that cannot show widgets
(PDF) display instead.
"""

from vae_lib.widgets.anomaly import threshold_explorer
from vae_lib.widgets.bayes import DEFAULT_GRID, BayesExplorer, bayes_explorer, belief_svg
from vae_lib.widgets.pictures import figure_png, png_img
from vae_lib.widgets.precomputed import Slider, SliderFigure, slider_figure, widget_state_size
from vae_lib.widgets.prior_samples import prior_scale_explorer

__all__ = [
    "DEFAULT_GRID",
    "BayesExplorer",
    "Slider",
    "SliderFigure",
    "bayes_explorer",
    "belief_svg",
    "figure_png",
    "png_img",
    "prior_scale_explorer",
    "slider_figure",
    "threshold_explorer",
    "widget_state_size",
]
