"""Towards diffusion: why many small noisy steps are easier to learn than one big step (a 1-D toy).

Take data with two modes, a mixture of two narrow Gaussians. A *forward process* destroys it
step by step: ``x_t = sqrt(1 − γ_t) · x_{t−1} + sqrt(γ_t) · ε``, ε ~ N(0, 1), until after T steps
only noise is left (diffusion papers write β_t for γ_t; the book keeps β for the KL weight). A generator must run the process backwards, from noise to data. Suppose
each backward step is modelled by a Gaussian, as a VAE's decoder models images:

- with **one big step** (T = 1) the backward step must turn pure noise into the two-mode data
  in one go; the best Gaussian can only cover both modes with one wide bump, its mean lying
  between them: the blurry average of a VAE;
- with **many small steps** each backward step undoes a little noise, and its true
  distribution q(x_{t−1} | x_t) is almost exactly Gaussian, so a Gaussian model is nearly exact
  at every step, and the chain of them reproduces both modes.

Because the data are a Gaussian mixture, everything here is exact: the noisy marginals
q(x_t), the backward steps q(x_{t−1} | x_t) (a mixture of Gaussians, reweighted by x_t) and the
best Gaussian for each (the one with the same mean and variance). :func:`chain_gap` adds up
how far each backward step is from its best Gaussian; by the chain rule of the KL divergence
that sum bounds how far the generated samples can be from the data. Defined in the chapter
beyond the basic VAE.

>>> data = GaussianMixture1D(weights=(0.5, 0.5), means=(-2.0, 2.0), sds=(0.3, 0.3))
>>> chain_gap(data, steps=1) > 10 * chain_gap(data, steps=100)
True
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.integrate import trapezoid

__all__ = ["GaussianMixture1D", "signal_schedule", "reverse_step", "reverse_step_moments",
           "reverse_step_gap", "chain_gap", "sample_with_gaussian_steps"]

LOG_SQRT_2PI = 0.5 * np.log(2 * np.pi)

#: ᾱ_T, the fraction of the data's variance left after the last forward step: almost pure noise.
FINAL_SIGNAL = 1e-3


def _normal_logpdf(x: np.ndarray, mean: np.ndarray, sd: np.ndarray) -> np.ndarray:
    """log N(x; mean, sd²), broadcast (plain NumPy: scipy.stats' overhead dominates these small arrays)."""
    return -0.5 * ((x - mean) / sd) ** 2 - np.log(sd) - LOG_SQRT_2PI


@dataclass(frozen=True)
class GaussianMixture1D:
    """A mixture of 1-D Gaussians: ``Σ_k weights[k] · N(means[k], sds[k]²)``."""

    weights: tuple[float, ...]
    means: tuple[float, ...]
    sds: tuple[float, ...]

    def __post_init__(self) -> None:
        w, m, s = (np.asarray(v, dtype=float) for v in (self.weights, self.means, self.sds))
        if not (w.shape == m.shape == s.shape) or w.ndim != 1 or w.size == 0:
            raise ValueError("weights, means and sds must be three sequences of the same, non-zero length.")
        if (w <= 0).any() or not np.isclose(w.sum(), 1.0) or (s <= 0).any():
            raise ValueError(f"weights must be positive and sum to 1 (got {w.sum():g}); sds must be positive.")

    def _arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return (np.asarray(self.weights, float), np.asarray(self.means, float), np.asarray(self.sds, float))

    def pdf(self, x: np.ndarray) -> np.ndarray:
        """The density at ``x`` (any shape).

        >>> float(GaussianMixture1D((1.0,), (0.0,), (1.0,)).pdf(np.array(0.0)))  # 1/sqrt(2π)
        0.3989422804014327
        """
        w, m, s = self._arrays()
        return (w * np.exp(_normal_logpdf(np.asarray(x, dtype=float)[..., None], m, s))).sum(-1)

    def sample(self, n: int, seed: int = 0) -> np.ndarray:
        """``n`` seeded draws."""
        rng = np.random.default_rng(seed)
        w, m, s = self._arrays()
        component = rng.choice(w.size, size=n, p=w)
        return m[component] + s[component] * rng.standard_normal(n)

    def noised(self, signal: float) -> GaussianMixture1D:
        """The distribution of ``sqrt(signal) · x + sqrt(1 − signal) · ε``: the data after noising to ᾱ = ``signal``.

        >>> GaussianMixture1D((1.0,), (2.0,), (0.5,)).noised(0.25)
        GaussianMixture1D(weights=(1.0,), means=(1.0,), sds=(0.9013878188659973,))
        """
        w, m, s = self._arrays()
        sds = np.sqrt(signal * s**2 + 1.0 - signal)
        return GaussianMixture1D(tuple(w.tolist()), tuple((np.sqrt(signal) * m).tolist()), tuple(sds.tolist()))


def signal_schedule(steps: int, final_signal: float = FINAL_SIGNAL) -> np.ndarray:
    """ᾱ_0 = 1, ᾱ_1, ..., ᾱ_T: the signal left after each of ``steps`` equal forward steps.

    Every step keeps the same fraction 1 − γ of the variance, so ᾱ_t = (1 − γ)^t and
    γ = 1 − final_signal^(1/T).

    >>> signal_schedule(2, final_signal=0.25).tolist()
    [1.0, 0.5, 0.25]
    """
    if not isinstance(steps, (int, np.integer)) or steps < 1:
        raise ValueError(f"steps must be a whole number >= 1, got {steps!r}.")
    if not 0 < final_signal < 1:
        raise ValueError(f"final_signal must lie strictly between 0 and 1, got {final_signal!r}.")
    return final_signal ** (np.arange(steps + 1) / steps)


def reverse_step(data: GaussianMixture1D, schedule: np.ndarray, t: int,
                 x_t: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The exact backward step q(x_{t−1} | x_t): a Gaussian mixture for every value of ``x_t``.

    Within data component k, x_{t−1} and x_t are jointly Gaussian, so x_{t−1} given x_t is
    Gaussian (Bayes' rule for a linear-Gaussian pair); the components are reweighted by how
    well each explains x_t.

    Returns:
        ``(weights, means, variances)``: weights and means shaped ``[len(x_t), K]``, variances ``[K]``.
    """
    signal_before, signal_now = schedule[t - 1], schedule[t]
    keep = signal_now / signal_before  # 1 − γ_t
    gamma = 1.0 - keep  # the fraction of the variance this step replaces by noise
    before = data.noised(signal_before)
    w, m, s = before._arrays()
    x = np.asarray(x_t, dtype=float).reshape(-1, 1)
    variances = 1.0 / (1.0 / s**2 + keep / gamma)
    means = variances * (m / s**2 + np.sqrt(keep) * x / gamma)
    # How well each component explains x_t: x_t ~ N(sqrt(keep)·m, keep·s² + γ) within it.
    log_fit = np.log(w) + _normal_logpdf(x, np.sqrt(keep) * m, np.sqrt(keep * s**2 + gamma))
    weights = np.exp(log_fit - log_fit.max(1, keepdims=True))
    return weights / weights.sum(1, keepdims=True), means, variances


def reverse_step_moments(data: GaussianMixture1D, schedule: np.ndarray, t: int,
                         x_t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and variance of q(x_{t−1} | x_t): the best Gaussian model of the backward step."""
    weights, means, variances = reverse_step(data, schedule, t, x_t)
    mean = (weights * means).sum(1)
    second = (weights * (variances + means**2)).sum(1)
    return mean, np.maximum(second - mean**2, 1e-300)


def reverse_step_gap(data: GaussianMixture1D, schedule: np.ndarray, t: int, points: int = 201) -> float:
    """E over x_t ~ q(x_t) of KL(q(x_{t−1} | x_t) ‖ its best Gaussian), in nats, by quadrature.

    Zero when the backward step is exactly Gaussian (e.g. Gaussian data); the more the step
    has to create modes, the larger it is.
    """
    noisy = data.noised(schedule[t])
    _, m, s = noisy._arrays()
    x_t = np.linspace((m - 8 * s).min(), (m + 8 * s).max(), points)
    weights, means, variances = reverse_step(data, schedule, t, x_t)
    mean, variance = reverse_step_moments(data, schedule, t, x_t)
    sd = np.sqrt(variance)[:, None]
    x_before = mean[:, None] + sd * np.linspace(-10, 10, points)  # a grid around each step's mass
    components = np.exp(_normal_logpdf(x_before[..., None], means[:, None, :], np.sqrt(variances)))
    exact = (weights[:, None, :] * components).sum(-1)
    log_ratio = np.log(np.maximum(exact, 1e-300)) - _normal_logpdf(x_before, mean[:, None], sd)
    kl = np.maximum(trapezoid(exact * log_ratio, x_before, axis=1), 0.0)
    density = noisy.pdf(x_t)
    return float(trapezoid(kl * density, x_t) / trapezoid(density, x_t))


def chain_gap(data: GaussianMixture1D, steps: int, final_signal: float = FINAL_SIGNAL) -> float:
    """Σ_t E[KL(q(x_{t−1} | x_t) ‖ best Gaussian)]: a bound on KL(data ‖ samples of :func:`sample_with_gaussian_steps`).

    By the chain rule of the KL divergence, this sum is the KL divergence between the whole
    true backward chain and the chain of best Gaussians (both started from q(x_T)), and
    dropping x_1..x_T can only shrink a KL divergence.
    """
    schedule = signal_schedule(steps, final_signal)
    return sum(reverse_step_gap(data, schedule, t) for t in range(1, steps + 1))


def sample_with_gaussian_steps(data: GaussianMixture1D, steps: int, n: int, seed: int = 0,
                               final_signal: float = FINAL_SIGNAL) -> np.ndarray:
    """Generate ``n`` samples: draw x_T ~ q(x_T), then ``steps`` backward steps, each its best Gaussian.

    >>> data = GaussianMixture1D(weights=(0.5, 0.5), means=(-2.0, 2.0), sds=(0.3, 0.3))
    >>> one, many = (sample_with_gaussian_steps(data, steps, 4000) for steps in (1, 200))
    >>> float(np.mean(np.abs(one) < 1)) > 0.2 > 0.01 > float(np.mean(np.abs(many) < 1))
    True
    """
    schedule = signal_schedule(steps, final_signal)
    rng = np.random.default_rng(seed)
    x = data.noised(schedule[-1]).sample(n, seed=seed + 1)
    for t in range(steps, 0, -1):
        mean, variance = reverse_step_moments(data, schedule, t, x)
        x = mean + np.sqrt(variance) * rng.standard_normal(n)
    return x
