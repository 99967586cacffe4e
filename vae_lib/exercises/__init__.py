"""The book's exercises: one module per chapter, with that chapter's problem data and self-checks.

- :mod:`vae_lib.exercises.latent_variables`  chapter 2, generative models and latent variables
- :mod:`vae_lib.exercises.mixture`  chapter 3, the mixture of Gaussians
"""
