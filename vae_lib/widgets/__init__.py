"""Interactive figures that also work on the static website, where no Python kernel runs.

- :mod:`vae_lib.widgets.precomputed`: the general mechanism, :func:`slider_figure`: sliders
  that switch between pictures drawn in advance for every slider setting, in the browser.
- :mod:`vae_lib.widgets.pictures`: matplotlib figures as small inline PNGs.
- :mod:`vae_lib.widgets.bayes`: the chapter on Bayes' rule's explorer of prior, likelihood and posterior.
- :mod:`vae_lib.widgets.mixture`: pictures of a mixture of Gaussians and the EM explorer (chapter 3).
- :mod:`vae_lib.widgets.importance`: the chapter on importance sampling's explorer of proposals.
- :mod:`vae_lib.widgets.elbo`: the chapter on the ELBO's explorer of q, the ELBO, its terms and the gap.
- :mod:`vae_lib.widgets.kl`: the KL chapter's explorer, one Gaussian fitted to a bimodal target.
- :mod:`vae_lib.widgets.gradients`: the chapter on gradients of expectations: how REINFORCE and
  reparameterized estimates scatter, for sliders μ, σ and L.
- :mod:`vae_lib.widgets.amortized`: the chapter on amortized inference: a 2-D posterior, the
  encoder's q and a per-image q being optimized.
- :mod:`vae_lib.widgets.prior_samples`: the chapter on training a VAE on MNIST: decoded prior samples.
- :mod:`vae_lib.widgets.anomaly`: the chapter beyond the basic VAE: an anomaly detector's threshold.
- :mod:`vae_lib.widgets.latent_sliders`: the chapter on exploring the latent space's sliders, which
  decode any setting in the reader's browser (a small JavaScript model), and their live version.

Every figure also carries a PNG of its starting picture, which builds that cannot show widgets
(PDF) display instead.
"""

from vae_lib.widgets.anomaly import threshold_explorer
from vae_lib.widgets.amortized import posterior_explorer, posterior_fits
from vae_lib.widgets.bayes import DEFAULT_GRID, BayesExplorer, bayes_explorer, belief_svg
from vae_lib.widgets.elbo import elbo_explorer
from vae_lib.widgets.importance import importance_explorer
from vae_lib.widgets.kl import kl_fit_explorer
from vae_lib.widgets.gradients import gradient_estimates, gradient_explorer
from vae_lib.widgets.latent_sliders import (LatentSliders, LiveLatentSliders, dimension_sliders,
                                            interpolation_slider, live_dimension_sliders)
from vae_lib.widgets.mixture import em_explorer, plot_mixture
from vae_lib.widgets.pictures import figure_png, png_img
from vae_lib.widgets.precomputed import Slider, SliderFigure, slider_figure, widget_state_size
from vae_lib.widgets.prior_samples import prior_scale_explorer

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
    "elbo_explorer",
    "em_explorer",
    "figure_png",
    "gradient_estimates",
    "gradient_explorer",
    "importance_explorer",
    "interpolation_slider",
    "kl_fit_explorer",
    "live_dimension_sliders",
    "plot_mixture",
    "png_img",
    "posterior_explorer",
    "posterior_fits",
    "prior_scale_explorer",
    "slider_figure",
    "threshold_explorer",
    "widget_state_size",
]
