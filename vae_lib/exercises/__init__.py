"""The book's exercises: one module per chapter, with that chapter's problem data and self-checks.

Each module holds the numbers a chapter's problems are stated with (so that the chapter, its
exercises and the checks cannot drift apart: a test compares them with the chapter) and one
``check_<what>(answer)`` function per exercise, built on :mod:`vae_lib.checks`. A chapter
imports its module under a readable name and calls the checks in its self-check cells:

>>> from vae_lib.exercises import bayes as exercises
>>> exercises.check_silent_machine(None).correct is None
• Not answered yet: replace None with your computation and run the cell.
True

- :mod:`vae_lib.exercises.bayes`  chapter 1, Bayes' rule and the coffee machine
- :mod:`vae_lib.exercises.latent_variables`  chapter 2, generative models and latent variables
- :mod:`vae_lib.exercises.mixture`  chapter 3, the mixture of Gaussians
- :mod:`vae_lib.exercises.importance_sampling`  chapter 4, the marginal likelihood and importance sampling
- :mod:`vae_lib.exercises.elbo`  chapter 5, the ELBO, two ways
- :mod:`vae_lib.exercises.kl_divergence`  chapter 6, the KL divergence: both directions, the closed form, the two fits
- :mod:`vae_lib.exercises.gradients`  chapter 7, gradients of expectations
- :mod:`vae_lib.exercises.amortized_inference`  chapter 8, amortized inference
- :mod:`vae_lib.exercises.training_mnist`  chapter 9, training a VAE on MNIST
- :mod:`vae_lib.exercises.latent_space`  chapter 10, exploring the latent space
- :mod:`vae_lib.exercises.beyond`  chapter 11, beyond the basic VAE
"""
