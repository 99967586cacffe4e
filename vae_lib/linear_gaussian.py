"""Models whose evidence and posterior are known exactly: the linear-Gaussian model (probabilistic PCA).

The model draws a latent code and maps it linearly, with Gaussian noise:

    z ~ N(0, I_d),        x | z ~ N(A z + b, σ_x² I_D),

with an offset ``b`` (zero in the book's chapters, which write x | z ~ N(A z, σ_x² I); the
argument ``sigma`` is σ_x, the book's notation page has the letters). Everything a VAE can only
estimate is exact here:

- the evidence      p(x) = N(x; b, A Aᵀ + σ_x² I_D)        (x is a linear map of Gaussians plus noise);
- the posterior     p(z|x) = N(m, S),  S = (I_d + AᵀA / σ_x²)⁻¹,  m = S Aᵀ (x − b) / σ_x²;
- the ELBO of any Gaussian q = N(μ, diag σ²), with no sampling at all:

      E_q[log p(x|z)] = −(D/2) log(2πσ_x²) − (‖x − A μ − b‖² + Σ_j σ_j² ‖A_j‖²) / (2σ_x²),
      KL(q ‖ p(z))   = ½ Σ_j (μ_j² + σ_j² − log σ_j² − 1),

  where A_j is the j-th column of A (E_q‖x − A z − b‖² is the squared error at the mean plus
  the variance that z's spread adds, trace(A diag(σ²) Aᵀ)).

So estimators can be compared with the truth: the chapter on the marginal likelihood and
importance sampling (:class:`LinearGaussian` with one latent dimension) and the chapter on the
ELBO use it, and :func:`linear_gaussian_vae` builds a :class:`~vae_lib.models.VAE` with the
same model inside, whose encoder holds the exact posterior, to test the VAE's estimators.

>>> import torch
>>> model = LinearGaussian(A=[[2.0]], b=[0.0], sigma=1.0)      # 1-D z, 1-D x
>>> x = torch.tensor([3.0])
>>> posterior = model.posterior(x)                               # N(0.4 x, 1/5)
>>> round(posterior.mean.item(), 4), round(posterior.variance.item(), 4)
(1.2, 0.2)
>>> mean, std = posterior.mean, posterior.variance.sqrt()
>>> bool(torch.isclose(model.elbo(x, mean, std), model.log_evidence(x)))  # q = p(z|x): no gap
True
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

import torch
from torch import Tensor
from torch.distributions import Independent, MultivariateNormal, Normal

from vae_lib.divergences import kl_standard_normal
from vae_lib.models import VAE, VAEConfig

__all__ = ["LinearGaussian", "diagonal_gaussian", "linear_gaussian_vae"]

DTYPE = torch.float64  # exact comparisons hold to many digits


def _as_matrix(A: Tensor | Sequence) -> Tensor:
    matrix = torch.as_tensor(A, dtype=DTYPE)
    if matrix.dim() != 2 or 0 in matrix.shape:
        raise ValueError(f"A must be a matrix of shape [D, d] (data dimension × latent dimension), "
                         f"got shape {list(matrix.shape)}; for one pixel and one latent write [[a]].")
    return matrix


def diagonal_gaussian(mean: Tensor | Sequence, std: Tensor | Sequence) -> MultivariateNormal:
    """N(mean, diag std²) as a ``MultivariateNormal`` (so that ``kl_divergence`` pairs it with any other).

    Args:
        mean, std: shape ``[..., d]`` (std > 0).

    >>> diagonal_gaussian([0.0, 1.0], [1.0, 2.0]).covariance_matrix
    tensor([[1., 0.],
            [0., 4.]], dtype=torch.float64)
    """
    mean, std = torch.as_tensor(mean, dtype=DTYPE), torch.as_tensor(std, dtype=DTYPE)
    if not bool((std > 0).all()):
        raise ValueError("Every standard deviation of q must be positive; pass std, not log std or variance.")
    mean, std = torch.broadcast_tensors(mean, std)
    return MultivariateNormal(mean, scale_tril=torch.diag_embed(std))


class LinearGaussian:
    """z ~ N(0, I_d), x | z ~ N(A z + b, σ_x² I_D): a latent variable model with an exact p(x) and p(z|x).

    Args:
        A: the ``[D, d]`` matrix that maps a latent code to the mean of x.
        b: the offset, length D.
        sigma: the observation noise σ_x > 0 (a standard deviation).

    All tensors are float64. Observations ``x`` have shape ``[..., D]`` and codes ``z`` shape
    ``[..., d]``; leading dimensions broadcast.

    >>> model = LinearGaussian(A=[[2.0]], b=[0.0], sigma=1.0)
    >>> model.latent_dim, model.data_dim
    (1, 1)
    """

    def __init__(self, A: Tensor | Sequence, b: Tensor | Sequence, sigma: float):
        self.A = _as_matrix(A)
        self.b = torch.as_tensor(b, dtype=DTYPE)
        if self.b.shape != (self.data_dim,):
            raise ValueError(f"b must have one entry per row of A ({self.data_dim}), got shape {list(self.b.shape)}.")
        if isinstance(sigma, bool) or not (isinstance(sigma, numbers.Real) and math.isfinite(sigma) and sigma > 0):
            raise ValueError(f"sigma (the observation noise's standard deviation) must be a positive number, "
                             f"got {sigma!r}.")
        self.sigma = float(sigma)

    @classmethod
    def random(cls, latent_dim: int, data_dim: int, sigma: float = 1.0, seed: int = 0) -> LinearGaussian:
        """A model with A's entries drawn from N(0, 1) and b = 0 (reproducible from ``seed``).

        >>> LinearGaussian.random(latent_dim=2, data_dim=784, sigma=1.0).A.shape
        torch.Size([784, 2])
        """
        generator = torch.Generator().manual_seed(seed)
        return cls(torch.randn(data_dim, latent_dim, generator=generator, dtype=DTYPE), torch.zeros(data_dim, dtype=DTYPE),
                   sigma)

    @property
    def latent_dim(self) -> int:
        """d, the length of z."""
        return self.A.shape[1]

    @property
    def data_dim(self) -> int:
        """D, the length of x (the number of "pixels")."""
        return self.A.shape[0]

    def __repr__(self) -> str:
        return f"LinearGaussian(d={self.latent_dim}, D={self.data_dim}, sigma={self.sigma:g})"

    # ----------------------------------------------------------------- the generative model

    def prior(self) -> MultivariateNormal:
        """p(z) = N(0, I_d).

        >>> LinearGaussian(A=[[2.0]], b=[0.0], sigma=1.0).prior().log_prob(torch.zeros(1))  # −½ log 2π
        tensor(-0.9189, dtype=torch.float64)
        """
        return MultivariateNormal(torch.zeros(self.latent_dim, dtype=DTYPE), torch.eye(self.latent_dim, dtype=DTYPE))

    def likelihood(self, z: Tensor) -> Independent:
        """p(x|z) = N(A z + b, σ_x² I_D) for codes ``z`` of shape ``[..., d]`` (batch shape ``[...]``).

        >>> LinearGaussian(A=[[2.0]], b=[0.5], sigma=1.0).likelihood(torch.tensor([1.0])).mean
        tensor([2.5000], dtype=torch.float64)
        """
        z = self._as_codes(z)
        return Independent(Normal(z @ self.A.T + self.b, self.sigma), 1)

    def log_joint(self, x: Tensor, z: Tensor) -> Tensor:
        """log p(x, z) = log p(z) + log p(x|z), shape: the broadcast of ``x[..., D]`` and ``z[..., d]``.

        >>> model = LinearGaussian(A=[[2.0]], b=[0.0], sigma=1.0)
        >>> model.log_joint(torch.tensor([3.0]), torch.zeros(5, 1)).shape    # 5 codes, one x
        torch.Size([5])
        """
        z = self._as_codes(z)
        return self.prior().log_prob(z) + self.likelihood(z).log_prob(self._as_data(x))

    def sample(self, n: int, generator: torch.Generator | None = None) -> tuple[Tensor, Tensor]:
        """Draw ``n`` pairs (z, x) from the model: z ``[n, d]``, x ``[n, D]``.

        >>> z, x = LinearGaussian(A=[[2.0]], b=[0.0], sigma=1.0).sample(4, torch.Generator().manual_seed(0))
        >>> z.shape, x.shape
        (torch.Size([4, 1]), torch.Size([4, 1]))
        """
        z = torch.randn(n, self.latent_dim, generator=generator, dtype=DTYPE)
        noise = torch.randn(n, self.data_dim, generator=generator, dtype=DTYPE)
        return z, z @ self.A.T + self.b + self.sigma * noise

    # ----------------------------------------------------------------- what is exact here

    def marginal(self) -> MultivariateNormal:
        """p(x) = N(b, A Aᵀ + σ_x² I_D) as a distribution over x.

        >>> round(LinearGaussian(A=[[2.0]], b=[0.0], sigma=1.0).marginal().variance.item(), 9)   # 2² + 1²
        5.0
        """
        covariance = self.A @ self.A.T + self.sigma**2 * torch.eye(self.data_dim, dtype=DTYPE)
        return MultivariateNormal(self.b, covariance_matrix=covariance)

    def log_evidence(self, x: Tensor) -> Tensor:
        """log p(x), exactly; one value per observation (shape ``[...]`` for x ``[..., D]``).

        >>> round(LinearGaussian(A=[[2.0]], b=[0.0], sigma=1.0).log_evidence(torch.tensor([0.0])).item(), 4)  # log N(0; 0, 5)
        -1.7237
        """
        return self.marginal().log_prob(self._as_data(x))

    def posterior_covariance(self) -> Tensor:
        """S = (I_d + AᵀA / σ_x²)⁻¹: the same for every x.

        >>> LinearGaussian(A=[[2.0]], b=[0.0], sigma=1.0).posterior_covariance()
        tensor([[0.2000]], dtype=torch.float64)
        """
        precision = torch.eye(self.latent_dim, dtype=DTYPE) + self.A.T @ self.A / self.sigma**2
        return torch.linalg.inv(precision)

    def posterior(self, x: Tensor) -> MultivariateNormal:
        """p(z|x) = N(S Aᵀ (x − b) / σ_x², S), with batch shape ``[...]`` for x ``[..., D]``.

        >>> LinearGaussian(A=[[2.0]], b=[0.0], sigma=1.0).posterior(torch.tensor([[3.0], [0.0]])).mean
        tensor([[1.2000],
                [0.0000]], dtype=torch.float64)
        """
        covariance = self.posterior_covariance()
        mean = (self._as_data(x) - self.b) @ self.A @ covariance / self.sigma**2
        return MultivariateNormal(mean, covariance_matrix=covariance)

    # ----------------------------------------------------------------- the ELBO of a Gaussian q, in closed form

    def expected_log_likelihood(self, x: Tensor, q_mean: Tensor, q_std: Tensor) -> Tensor:
        """E_q[log p(x|z)] for q = N(q_mean, diag q_std²), exactly: the ELBO's reconstruction term.

        >>> model = LinearGaussian(A=[[2.0]], b=[0.0], sigma=1.0)
        >>> model.expected_log_likelihood(torch.tensor([2.0]), torch.tensor([1.0]), torch.tensor([1e-9]))  # = log N(2; 2, 1)
        tensor(-0.9189, dtype=torch.float64)
        """
        x, q_mean, q_std = self._as_data(x), self._as_codes(q_mean), self._as_std(q_std)
        squared_error = (x - q_mean @ self.A.T - self.b).pow(2).sum(-1)
        spread = (q_std.pow(2) * self.A.pow(2).sum(0)).sum(-1)  # Σ_j σ_j² ‖A_j‖² = trace(A diag(σ²) Aᵀ)
        log_normaliser = 0.5 * self.data_dim * math.log(2 * math.pi * self.sigma**2)
        return -log_normaliser - (squared_error + spread) / (2 * self.sigma**2)

    def kl_to_prior(self, q_mean: Tensor, q_std: Tensor) -> Tensor:
        """KL(q ‖ p(z)) for q = N(q_mean, diag q_std²): the ELBO's regularizer, computable in closed form.

        >>> LinearGaussian(A=[[2.0]], b=[0.0], sigma=1.0).kl_to_prior(torch.tensor([1.0]), torch.tensor([1.0]))
        tensor(0.5000, dtype=torch.float64)
        """
        q_mean, q_std = self._as_codes(q_mean), self._as_std(q_std)
        q_mean, q_std = torch.broadcast_tensors(q_mean, q_std)
        return kl_standard_normal(q_mean, 2 * q_std.log())

    def elbo(self, x: Tensor, q_mean: Tensor, q_std: Tensor) -> Tensor:
        """The ELBO of q = N(q_mean, diag q_std²) for x, exactly: E_q[log p(x|z)] − KL(q ‖ p(z)).

        It equals log p(x) − KL(q ‖ p(z|x)); no sampling is involved.

        Args:
            x: observations ``[..., D]``.
            q_mean, q_std: q's mean and standard deviation, ``[..., d]`` (std > 0).

        >>> model = LinearGaussian(A=[[2.0]], b=[0.0], sigma=1.0)
        >>> x = torch.tensor([3.0])
        >>> bool(model.elbo(x, torch.tensor([0.0]), torch.tensor([1.0])) < model.log_evidence(x))  # q = prior
        True
        """
        return self.expected_log_likelihood(x, q_mean, q_std) - self.kl_to_prior(q_mean, q_std)

    # ----------------------------------------------------------------- input checks

    def _as_codes(self, z: Tensor | Sequence) -> Tensor:
        z = torch.as_tensor(z, dtype=DTYPE)
        if z.dim() == 0 or z.shape[-1] != self.latent_dim:
            raise ValueError(f"Latent codes must have shape [..., d] with d = {self.latent_dim}, got "
                             f"{list(z.shape)}; a single 1-D code is written torch.tensor([value]).")
        return z

    def _as_data(self, x: Tensor | Sequence) -> Tensor:
        x = torch.as_tensor(x, dtype=DTYPE)
        if x.dim() == 0 or x.shape[-1] != self.data_dim:
            raise ValueError(f"Observations must have shape [..., D] with D = {self.data_dim}, got "
                             f"{list(x.shape)}; a single 1-D observation is written torch.tensor([value]).")
        return x

    def _as_std(self, std: Tensor | Sequence) -> Tensor:
        std = self._as_codes(std)
        if not bool((std > 0).all()):
            raise ValueError("Every standard deviation of q must be positive; pass std, not log std or variance.")
        return std


# --------------------------------------------------------------------------- the same model as a VAE


def linear_gaussian_vae(latent_dim: int = 3, image_shape: tuple[int, int, int] = (1, 4, 4), sigma: float = 0.5,
                        encoder_error: float = 0.0, seed: int = 0,
                        dtype: torch.dtype = torch.float64) -> tuple[VAE, MultivariateNormal]:
    """A VAE whose log p(x) is known exactly: probabilistic PCA, with its exact (or a perturbed) posterior.

    The decoder is the :class:`LinearGaussian` model x = A z + b + σ ε with A = Q · diag(s)
    (orthogonal columns), which makes the true posterior diagonal,
    p(z|x) = N(Σ Aᵀ (x − b) / σ², Σ) with Σ = diag(1 / (1 + s²/σ²)), so the ``"linear"``
    encoder can represent it exactly. Then log p(x, z) − log q(z|x) = log p(x) for *every* z:
    the ELBO gap is zero. ``encoder_error > 0`` perturbs the encoder (its mean weights by that
    much noise, its log-variances by +encoder_error · 5), opening a gap. The test bed of the
    VAE's estimators (:mod:`vae_lib.estimators`, :mod:`vae_lib.evaluate`).

    Args:
        latent_dim: size of z (at most the number of pixels).
        image_shape: ``(channels, height, width)``; keep it small, the exact covariance is dense.
        sigma: observation noise σ.
        encoder_error: 0 for the exact posterior; larger values give a worse q(z|x).
        seed: seeds A, b and the perturbation.
        dtype: float64 by default, so that exact comparisons hold to many digits.

    Returns:
        ``(model, marginal)``: the VAE and ``MultivariateNormal`` p(x) over flat images.

    >>> import torch
    >>> model, marginal = linear_gaussian_vae()
    >>> x = marginal.sample((5,))
    >>> from vae_lib.estimators import log_importance_weights
    >>> log_w = log_importance_weights(model, x, k=3)  # log p(x, z) − log q(z|x) for 3 draws of z
    >>> bool(torch.allclose(log_w, marginal.log_prob(x)))  # each one is log p(x): no gap at all
    True
    """
    config = VAEConfig(latent_dim=latent_dim, architecture="linear", likelihood="gaussian", sigma=sigma,
                       image_shape=image_shape)
    pixels = config.pixels
    if latent_dim > pixels:
        raise ValueError(f"latent_dim={latent_dim} must not exceed the number of pixels ({pixels}).")
    generator = torch.Generator().manual_seed(seed)
    orthonormal, _ = torch.linalg.qr(torch.randn(pixels, latent_dim, generator=generator, dtype=dtype))
    scales = torch.linspace(2.0, 0.5, latent_dim, dtype=dtype)
    weight = orthonormal * scales
    bias = 0.3 * torch.randn(pixels, generator=generator, dtype=dtype)
    posterior_var = 1.0 / (1.0 + scales.pow(2) / sigma**2)
    posterior_mean_weight = posterior_var[:, None] * weight.T / sigma**2

    model = VAE(config).to(dtype)
    with torch.no_grad():
        model.decoder.out.weight.copy_(weight)
        model.decoder.out.bias.copy_(bias)
        model.encoder.mu.weight.copy_(posterior_mean_weight)
        model.encoder.mu.bias.copy_(-posterior_mean_weight @ bias)
        model.encoder.logvar.weight.zero_()
        model.encoder.logvar.bias.copy_(posterior_var.log())
        if encoder_error:
            noise = torch.randn(latent_dim, pixels, generator=generator, dtype=dtype)
            model.encoder.mu.weight.add_(encoder_error * noise)
            model.encoder.logvar.bias.add_(5.0 * encoder_error)
    marginal = LinearGaussian(weight, bias, sigma).marginal()
    return model, MultivariateNormal(marginal.mean.to(dtype), covariance_matrix=marginal.covariance_matrix.to(dtype))
