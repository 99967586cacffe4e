"""vae_lib: the small library behind the book *Variational Autoencoders, from Bayes' rule to MNIST*.

One module per idea, each one a chapter points at (CONTRIBUTING.md maps them to the chapters):

- :mod:`vae_lib.device`  pick CUDA, Apple MPS or the CPU, and say why
- :mod:`vae_lib.data`    MNIST that never fails to load (local dir, cache, download, bundled subset)
- :mod:`vae_lib.paths`   the cache folder for downloads and trained models
- :mod:`vae_lib.bayes`   discrete Bayes updates (the coffee machine)
- :mod:`vae_lib.mixture` the mixture of Gaussians: sampling, log p(x), responsibilities, EM
- :mod:`vae_lib.estimators` Monte Carlo and importance sampling of p(x), ESS, IWAE bounds,
  REINFORCE and reparameterized gradients
- :mod:`vae_lib.networks` the encoder and decoder networks (MLP, convolutional, linear)
- :mod:`vae_lib.model_config` ``VAEConfig``: a VAE's architecture, hashable and checked
- :mod:`vae_lib.models`  ``VAE``: encode → reparameterize → decode → ELBO
- :mod:`vae_lib.linear_gaussian` models whose evidence and posterior are known exactly
- :mod:`vae_lib.amortized` one q per image (SVI) versus one encoder: the amortization gap
- :mod:`vae_lib.train`   the training loop (``fit``), its settings and result
- :mod:`vae_lib.history` the record of a training run, one dict per epoch
- :mod:`vae_lib.progress` the progress display: a bar, one line per epoch, or nothing
- :mod:`vae_lib.checkpoints` checkpoint files: atomic writes, loading, exact resume
- :mod:`vae_lib.model_cache` ``trained_vae``: train a model once, then load it from the cache
- :mod:`vae_lib.recipes` the book's MNIST VAE recipes, for a GPU and for a 2-core CPU
- :mod:`vae_lib.evaluate` test ELBO, importance-sampled log p(x), bits per dimension
- :mod:`vae_lib.expected` what number should I get: expected results of the book's recipes, with tolerances
- :mod:`vae_lib.anomaly` the ELBO as an anomaly score, ROC curves and their area
- :mod:`vae_lib.diffusion_toy` a 1-D toy: many small noisy steps against one big step
- :mod:`vae_lib.latent`  exploring a latent space: encode a set, decoded grid, interpolation, active units
- :mod:`vae_lib.divergences` KL divergences in closed form and by Monte Carlo
- :mod:`vae_lib.plots`   small plotting helpers the chapters share
- :mod:`vae_lib.widgets` interactive figures that also work on the static site
- :mod:`vae_lib.checks`  the self-check machinery: never reveals an answer or confirms a digit
- :mod:`vae_lib.i18n`    the library's messages in the reader's language (``VAE_LIB_LANG``)
- :mod:`vae_lib.exercises` one module per chapter: its problem data and exercise self-checks
- :mod:`vae_lib.assign`  for lecturers: chosen exercises as one notebook and a printable sheet
- :mod:`vae_lib.variants` for lecturers: a roster, and each student's own variant of the exercises
- :mod:`vae_lib.grade`   for lecturers: re-execute submissions, check each student's variant, a gradebook

Modules are imported on demand (``from vae_lib import data``) so that ``import vae_lib``
stays cheap.
"""

__version__ = "0.1.0"
