"""Mixture of Gaussians: the simplest latent variable model (chapter 3, ``chap-mixture``).

The generative process picks a component, then a point from that component's Gaussian:

    z ~ Categorical(π),    x | z = k ~ N(μ_k, Σ_k),

so that p(x) = Σ_k π_k N(x; μ_k, Σ_k) (computed with log-sum-exp), and Bayes' rule gives each
component's *responsibility* for a point, p(z = k | x). :func:`fit_em` fits the weights, means
and full covariances to data by expectation-maximization (EM), keeping every iterate.

NumPy and SciPy suffice: EM needs no gradients. The tests compare this module with
``sklearn.mixture.GaussianMixture``.

>>> import numpy as np
>>> from vae_lib.mixture import MixtureOfGaussians, fit_em
>>> truth = MixtureOfGaussians(weights=[0.5, 0.5], means=[[-3.0], [3.0]], covariances=[[[1.0]], [[1.0]]])
>>> x, z = truth.sample(400, seed=0)
>>> x.shape, sorted(set(z.tolist()))
((400, 1), [0, 1])
>>> fit = fit_em(x, 2, seed=0)
>>> bool(np.all(np.diff(fit.log_likelihoods) > -1e-9)), np.sort(fit.mixture.means.ravel()).round(0)
(True, array([-3.,  3.]))
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np
from scipy.special import logsumexp, softmax

from vae_lib._checking import is_positive_int

__all__ = ["MixtureOfGaussians", "EMResult", "gaussian_log_density", "random_init", "em_step", "fit_em", "DEFAULT_RIDGE"]

#: Added to the diagonal of every fitted covariance, so that a component that shrinks onto a
#: few points keeps an invertible covariance (scikit-learn's ``reg_covar`` does the same).
DEFAULT_RIDGE = 1e-6
#: Added to each component's total responsibility, so that an empty component divides by a
#: tiny number instead of zero (the same constant as scikit-learn).
_EMPTY_COMPONENT = 10 * np.finfo(float).eps


@dataclass(frozen=True)
class MixtureOfGaussians:
    """A mixture of K Gaussians in D dimensions: weights π, means μ and full covariances Σ.

    Args:
        weights: shape ``(K,)``, non-negative, summing to 1: the prior p(z = k).
        means: shape ``(K, D)``: the center of each component.
        covariances: shape ``(K, D, D)``: symmetric positive definite matrices.

    Lists are accepted and converted to float arrays; bad shapes or values raise ``ValueError``.

    >>> mog = MixtureOfGaussians([0.3, 0.7], [[0.0, 0.0], [2.0, 1.0]], [np.eye(2), 0.5 * np.eye(2)])
    >>> mog.n_components, mog.dim
    (2, 2)
    """

    weights: np.ndarray
    means: np.ndarray
    covariances: np.ndarray

    def __post_init__(self) -> None:
        weights, means, covariances = _checked_parameters(self.weights, self.means, self.covariances)
        object.__setattr__(self, "weights", weights)
        object.__setattr__(self, "means", means)
        object.__setattr__(self, "covariances", covariances)

    @property
    def n_components(self) -> int:
        """K, the number of components."""
        return len(self.weights)

    @property
    def dim(self) -> int:
        """D, the dimension of a data point."""
        return self.means.shape[1]

    def sample(self, n: int, seed: int | np.random.Generator = 0) -> tuple[np.ndarray, np.ndarray]:
        """Draw ``n`` points by the generative process: first z ~ π, then x ~ N(μ_z, Σ_z).

        Returns:
            ``(x, z)``: points of shape ``(n, D)`` and their components, shape ``(n,)``.

        >>> mog = MixtureOfGaussians([1.0], [[5.0]], [[[1e-12]]])
        >>> mog.sample(3, seed=1)[0].ravel().round(3)
        array([5., 5., 5.])
        """
        if not is_positive_int(n):
            raise ValueError(f"n must be a whole number >= 1 (how many points to draw), got {n!r}.")
        rng = np.random.default_rng(seed)
        z = rng.choice(self.n_components, size=n, p=self.weights)
        noise = rng.standard_normal((n, self.dim))
        cholesky = np.linalg.cholesky(self.covariances)       # Σ_k = L_k L_kᵀ
        x = self.means[z] + np.einsum("nij,nj->ni", cholesky[z], noise)
        return x, z

    def log_joint(self, x: np.ndarray) -> np.ndarray:
        """log p(x, z = k) = log π_k + log N(x; μ_k, Σ_k) for every point and component: shape ``(n, K)``.

        >>> mog = MixtureOfGaussians([0.5, 0.5], [[0.0], [1.0]], [[[1.0]], [[1.0]]])
        >>> mog.log_joint(np.zeros((1, 1))).round(4)
        array([[-1.6121, -2.1121]])
        """
        x = _checked_points(x, self.dim)
        with np.errstate(divide="ignore"):  # a weight of exactly 0 gives log 0 = -inf: allowed
            log_weights = np.log(self.weights)
        return gaussian_log_density(x, self.means, self.covariances) + log_weights

    def log_prob(self, x: np.ndarray) -> np.ndarray:
        """log p(x) = log Σ_k π_k N(x; μ_k, Σ_k) for every point, by log-sum-exp: shape ``(n,)``.

        >>> mog = MixtureOfGaussians([1.0], [[0.0]], [[[1.0]]])
        >>> mog.log_prob(np.zeros((1, 1))).round(4)          # log N(0; 0, 1) = -½ log 2π
        array([-0.9189])
        """
        return logsumexp(self.log_joint(x), axis=1)

    def responsibilities(self, x: np.ndarray) -> np.ndarray:
        """The posterior p(z = k | x) of every component for every point: shape ``(n, K)``, rows sum to 1.

        >>> mog = MixtureOfGaussians([0.5, 0.5], [[-1.0], [1.0]], [[[1.0]], [[1.0]]])
        >>> mog.responsibilities(np.zeros((1, 1)))          # halfway: both equally responsible
        array([[0.5, 0.5]])
        """
        return softmax(self.log_joint(x), axis=1)

    def permuted(self, order) -> MixtureOfGaussians:
        """The same mixture with its components relabeled in ``order``: the same p(x).

        >>> mog = MixtureOfGaussians([0.2, 0.8], [[0.0], [3.0]], [[[1.0]], [[2.0]]])
        >>> mog.permuted([1, 0]).weights
        array([0.8, 0.2])
        """
        order = list(order)
        if sorted(order) != list(range(self.n_components)):
            raise ValueError(f"order must list each of the {self.n_components} components once, got {order}.")
        return MixtureOfGaussians(self.weights[order], self.means[order], self.covariances[order])


def gaussian_log_density(x: np.ndarray, means: np.ndarray, covariances: np.ndarray) -> np.ndarray:
    """log N(x_n; μ_k, Σ_k) for every point n and Gaussian k: shape ``(n, K)``.

    With the Cholesky factor Σ = L Lᵀ and the whitened residual u = L⁻¹(x − μ),
    log N = −½ D log 2π − Σ_i log L_ii − ½ uᵀu. (The same as ``scipy.stats.multivariate_normal``,
    for all components at once.)

    >>> gaussian_log_density(np.zeros((1, 1)), np.zeros((1, 1)), np.ones((1, 1, 1))).round(4)
    array([[-0.9189]])
    """
    cholesky = np.linalg.cholesky(covariances)                          # (K, D, D)
    residuals = x[None, :, :] - means[:, None, :]                       # (K, n, D)
    whitened = np.linalg.solve(cholesky, residuals.transpose(0, 2, 1))  # (K, D, n)
    log_det_half = np.log(np.diagonal(cholesky, axis1=1, axis2=2)).sum(axis=1)
    squared = np.einsum("kdn,kdn->nk", whitened, whitened)
    return -0.5 * x.shape[1] * np.log(2 * np.pi) - log_det_half - 0.5 * squared


@dataclass(frozen=True)
class EMResult:
    """What :func:`fit_em` returns: every iterate and its log-likelihood.

    Attributes:
        history: the mixture before the first step and after each EM step.
        log_likelihoods: ``history[i]``'s average log p(x) over the data, in nats per point.
        converged: whether the last step raised the average log-likelihood by less than ``tol``.
    """

    history: tuple[MixtureOfGaussians, ...]
    log_likelihoods: np.ndarray
    converged: bool

    @property
    def mixture(self) -> MixtureOfGaussians:
        """The fitted mixture (the last iterate)."""
        return self.history[-1]

    @property
    def n_steps(self) -> int:
        """How many EM steps were taken."""
        return len(self.history) - 1


def random_init(x: np.ndarray, k: int, seed: int | np.random.Generator = 0,
                ridge: float = DEFAULT_RIDGE) -> MixtureOfGaussians:
    """A starting mixture: means at ``k`` distinct random data points, each covariance the data's, equal weights.

    >>> x = np.array([[0.0], [1.0], [2.0], [3.0]])
    >>> start = random_init(x, 2, seed=0)
    >>> start.weights, np.isin(start.means, x).all()
    (array([0.5, 0.5]), np.True_)
    """
    x = _checked_points(x)
    _check_k(k, len(x))
    rng = np.random.default_rng(seed)
    means = x[rng.choice(len(x), size=k, replace=False)]
    spread = np.atleast_2d(np.cov(x, rowvar=False, bias=True)) + ridge * np.eye(x.shape[1])
    return MixtureOfGaussians(np.full(k, 1 / k), means, np.repeat(spread[None], k, axis=0))


def em_step(mixture: MixtureOfGaussians, x: np.ndarray, ridge: float = DEFAULT_RIDGE) -> MixtureOfGaussians:
    """One EM step: responsibilities from ``mixture`` (E), then weighted averages (M).

    >>> mog = MixtureOfGaussians([0.5, 0.5], [[-1.0], [1.0]], [[[1.0]], [[1.0]]])
    >>> em_step(mog, np.array([[-2.0], [-1.0], [1.0], [2.0]])).means.ravel().round(3)
    array([-1.345,  1.345])
    """
    return _maximization(_checked_points(x, mixture.dim), mixture.responsibilities(x), ridge)


def _maximization(x: np.ndarray, resp: np.ndarray, ridge: float) -> MixtureOfGaussians:
    """The M-step: each component's weight, mean and covariance, weighting every point by its responsibility."""
    counts = resp.sum(axis=0) + _EMPTY_COMPONENT                  # N_k, a "soft" count of points
    means = resp.T @ x / counts[:, None]
    centerd = x[:, None, :] - means[None, :, :]                   # (n, K, D)
    scatter = np.einsum("nkd,nke->kde", resp[:, :, None] * centerd, centerd)
    covariances = scatter / counts[:, None, None] + ridge * np.eye(x.shape[1])
    return MixtureOfGaussians(counts / counts.sum(), means, covariances)


def fit_em(x: np.ndarray, k: int, *, init: str | MixtureOfGaussians = "random", seed: int = 0,
           iterations: int = 200, tol: float = 1e-6, ridge: float = DEFAULT_RIDGE) -> EMResult:
    """Fit a K-component mixture of Gaussians with full covariances by EM, keeping every iterate.

    Args:
        x: data, shape ``(n, D)`` (1-D data: ``x[:, None]``).
        k: the number of components.
        init: ``"random"`` (see :func:`random_init`, drawn with ``seed``) or a starting mixture.
        seed: seeds the random initialization.
        iterations: the most EM steps to take.
        tol: stop once a step raises the average log-likelihood by less than this (nats per point).
        ridge: added to the diagonal of every covariance (the M-step is exact for ``ridge=0``).

    Returns:
        An :class:`EMResult`. EM never lowers the log-likelihood (up to the tiny ``ridge``).

    >>> x = np.array([[0.0], [0.2], [5.0], [5.2]])
    >>> fit_em(x, 2, seed=1).mixture.means.ravel().round(2)
    array([0.1, 5.1])
    """
    x = _checked_points(x)
    _check_k(k, len(x))
    _check_settings(iterations, tol, ridge)
    if isinstance(init, MixtureOfGaussians):
        if (init.n_components, init.dim) != (k, x.shape[1]):
            raise ValueError(f"init has {init.n_components} components in {init.dim} dimensions, but the fit "
                             f"asks for k={k} in the data's {x.shape[1]}: make them agree.")
        mixture = init
    elif init == "random":
        mixture = random_init(x, k, seed, ridge)
    else:
        raise ValueError(f"init must be 'random' or a MixtureOfGaussians, got {init!r}.")
    history, log_joint = [mixture], mixture.log_joint(x)
    log_likelihoods = [logsumexp(log_joint, axis=1).mean()]
    converged = False
    for _ in range(iterations):
        mixture = _maximization(x, softmax(log_joint, axis=1), ridge)
        log_joint = mixture.log_joint(x)
        history.append(mixture)
        log_likelihoods.append(logsumexp(log_joint, axis=1).mean())
        if log_likelihoods[-1] - log_likelihoods[-2] < tol:
            converged = True
            break
    return EMResult(tuple(history), np.array(log_likelihoods), converged)


# ----------------------------------------------------------------------------- input checks


def _checked_points(x: object, dim: int | None = None) -> np.ndarray:
    x = np.asarray(x, dtype=float)
    if x.ndim != 2:
        raise ValueError(f"x must be a 2-D array of shape (n_points, dim), got shape {x.shape}; "
                         "for 1-D data write x[:, None].")
    if len(x) == 0 or not np.all(np.isfinite(x)):
        raise ValueError("x must hold at least one point and only finite numbers (no NaN or inf).")
    if dim is not None and x.shape[1] != dim:
        raise ValueError(f"The points have {x.shape[1]} coordinates but the mixture lives in {dim} dimensions.")
    return x


def _check_k(k: object, n: int) -> None:
    if not is_positive_int(k) or k > n:
        raise ValueError(f"k must be a whole number from 1 to the number of points ({n}), got {k!r}.")


def _check_settings(iterations: object, tol: object, ridge: object) -> None:
    if not (isinstance(iterations, numbers.Integral) and not isinstance(iterations, bool) and iterations >= 0):
        raise ValueError(f"iterations must be a whole number >= 0, got {iterations!r}.")
    for name, value in (("tol", tol), ("ridge", ridge)):
        if not (isinstance(value, numbers.Real) and np.isfinite(value) and value >= 0):
            raise ValueError(f"{name} must be a finite number >= 0, got {value!r}.")


def _checked_parameters(weights, means, covariances) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    weights, means = np.asarray(weights, dtype=float), np.asarray(means, dtype=float)
    covariances = np.asarray(covariances, dtype=float)
    k = len(weights) if weights.ndim == 1 else 0
    if k == 0 or means.ndim != 2 or len(means) != k or covariances.shape != (k, means.shape[1], means.shape[1]):
        raise ValueError(f"Shapes must be weights (K,), means (K, D), covariances (K, D, D); got "
                         f"{weights.shape}, {means.shape}, {covariances.shape}.")
    if not (np.all(np.isfinite(means)) and np.all(np.isfinite(covariances))):
        raise ValueError("means and covariances must hold finite numbers only (no NaN or inf).")
    if np.any(weights < 0) or not np.isclose(weights.sum(), 1.0, rtol=0, atol=1e-6):
        raise ValueError(f"weights must be non-negative and sum to 1 (they are p(z = k)); got {weights}.")
    if not np.allclose(covariances, covariances.transpose(0, 2, 1)):
        raise ValueError("Every covariance must be symmetric (Σ = Σᵀ).")
    try:
        np.linalg.cholesky(covariances)
    except np.linalg.LinAlgError:
        raise ValueError("Every covariance must be positive definite (all eigenvalues > 0); "
                         "a ridge added to the diagonal fixes a singular one.") from None
    return weights, means, covariances
