"""vae_lib.estimators: log-mean-exp, ESS and importance sampling against a model whose p(x) is known exactly.

The generic estimators are checked on a 1-D linear-Gaussian model, z ~ N(0, 1) and
x|z ~ N(w z, σ²), for which p(x) = N(0, w² + σ²) and p(z|x) = N(w x / (w² + σ²), σ² / (w² + σ²)).
The VAE functions are checked against their old behaviour and against ``linear_gaussian_vae``.
"""

from __future__ import annotations

import math

import pytest
import torch
from torch.distributions import Normal

from vae_lib.estimators import (
    effective_sample_size,
    importance_log_sums,
    iwae_bound,
    log_importance_weights,
    log_mean_exp,
    monte_carlo_log_evidence,
)
from vae_lib.linear_gaussian import linear_gaussian_vae
from vae_lib.models import VAE

W, SIGMA = 1.5, 0.5
X = torch.tensor(2.0, dtype=torch.float64)  # in the prior's tail, so that the prior is a poor proposal


def normal(mean, std) -> Normal:
    """A float64 Normal (Python numbers would make float32 parameters and cost digits)."""
    return Normal(torch.as_tensor(mean, dtype=torch.float64), torch.as_tensor(std, dtype=torch.float64))


def seeded(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def sample_images(marginal: torch.distributions.MultivariateNormal, n: int, seed: int = 0) -> torch.Tensor:
    """n seeded draws from the exact p(x) of ``linear_gaussian_vae`` (the global RNG stays untouched)."""
    noise = torch.randn(n, marginal.loc.shape[-1], generator=seeded(seed), dtype=marginal.loc.dtype)
    return marginal.loc + noise @ marginal.scale_tril.T


def log_joint(z: torch.Tensor) -> torch.Tensor:
    """log p(x, z) = log p(z) + log p(x|z) at the fixed observation X."""
    return normal(0.0, 1.0).log_prob(z) + normal(W * z, SIGMA).log_prob(X)


def exact_log_px() -> float:
    return normal(0.0, math.sqrt(W**2 + SIGMA**2)).log_prob(X).item()


def exact_posterior(copies: int = 1) -> Normal:
    variance = SIGMA**2 / (W**2 + SIGMA**2)
    mean = W * X / (W**2 + SIGMA**2)
    return normal(mean.expand(copies), torch.full((copies,), math.sqrt(variance), dtype=torch.float64))


def prior(copies: int) -> Normal:
    """``copies`` independent N(0, 1) proposals: one estimate each, all in one call."""
    return normal(torch.zeros(copies), torch.ones(copies))


# ---------------------------------------------------------------------------- log-mean-exp and ESS


def test_log_mean_exp_matches_logsumexp_and_the_naive_formula():
    values = torch.randn(50, 3, generator=seeded(0), dtype=torch.float64) * 5
    expected = torch.logsumexp(values, dim=0) - math.log(50)
    torch.testing.assert_close(log_mean_exp(values), expected)
    torch.testing.assert_close(log_mean_exp(values), values.exp().mean(0).log())  # no overflow here
    torch.testing.assert_close(log_mean_exp(values, dim=1), torch.logsumexp(values, dim=1) - math.log(3))


def test_log_mean_exp_survives_where_the_naive_formula_overflows():
    values = torch.tensor([1000.0, 1000.0 + math.log(3.0)])  # mean of exp = 2 · exp(1000)
    assert torch.isinf(values.exp().mean().log())
    torch.testing.assert_close(log_mean_exp(values), torch.tensor(1000.0 + math.log(2.0)))
    tiny = torch.tensor([-1000.0, -1000.0])
    assert torch.isinf(tiny.exp().mean().log())  # underflow: log 0
    torch.testing.assert_close(log_mean_exp(tiny), torch.tensor(-1000.0))
    assert log_mean_exp(torch.full((4,), -math.inf)).item() == -math.inf  # all weights zero
    with pytest.raises(ValueError, match="at least one value"):
        log_mean_exp(torch.zeros(0, 3))


def test_log_mean_exp_gradient_is_the_softmax():
    values = torch.randn(6, generator=seeded(1), dtype=torch.float64, requires_grad=True)
    log_mean_exp(values).backward()
    torch.testing.assert_close(values.grad, torch.softmax(values.detach(), 0))


def test_effective_sample_size():
    assert effective_sample_size(torch.zeros(25)).item() == pytest.approx(25.0)
    assert effective_sample_size(torch.tensor([0.0, -60.0, -60.0, -60.0])).item() == pytest.approx(1.0)
    log_w = torch.randn(40, 2, generator=seeded(2), dtype=torch.float64)
    w = log_w.exp()
    torch.testing.assert_close(effective_sample_size(log_w), w.sum(0) ** 2 / w.pow(2).sum(0))
    torch.testing.assert_close(effective_sample_size(log_w - 700.0), effective_sample_size(log_w))  # scale-free
    torch.testing.assert_close(effective_sample_size(log_w.T, dim=1), effective_sample_size(log_w))


# ---------------------------------------------------------------------------- importance sampling, exactly known p(x)


@pytest.mark.parametrize("k", [1, 5, 100])
def test_exact_posterior_as_proposal_has_zero_variance(k):
    result = monte_carlo_log_evidence(log_joint, exact_posterior(), k, generator=seeded(k))
    # Every weight p(x, z) / p(z|x) equals p(x): any k, any draw.
    torch.testing.assert_close(result.log_weights, torch.full((k, 1), exact_log_px(), dtype=torch.float64))
    assert result.log_evidence.item() == pytest.approx(exact_log_px(), abs=1e-12)
    assert result.ess.item() == pytest.approx(k)
    if k == 1:
        assert math.isnan(result.standard_error.item())
    else:
        assert result.standard_error.item() == pytest.approx(0.0, abs=1e-6)


def test_prior_as_proposal_is_unbiased_on_the_px_scale():
    repeats = 4000
    for k in (1, 10):
        result = monte_carlo_log_evidence(log_joint, prior(repeats), k, generator=seeded(k))
        estimates = result.evidence  # one unbiased estimate of p(x) per repeat
        # Naive Monte Carlo: the weights are likelihoods p(x|z_i), never above the peak density of N(·, σ²).
        assert (result.log_weights <= -math.log(SIGMA * math.sqrt(2 * math.pi)) + 1e-12).all()
        standard_error = estimates.std() / math.sqrt(repeats)
        assert abs(estimates.mean().item() - math.exp(exact_log_px())) < 4 * standard_error.item()


def test_log_of_the_estimate_is_biased_low_and_the_bias_shrinks_with_k():
    repeats = 4000
    biases, errors = {}, {}
    for k in (1, 10, 100):
        log_estimates = monte_carlo_log_evidence(log_joint, prior(repeats), k, generator=seeded(k)).log_evidence
        biases[k] = exact_log_px() - log_estimates.mean().item()
        errors[k] = log_estimates.std().item() / math.sqrt(repeats)
    assert all(biases[k] > 3 * errors[k] for k in biases), (biases, errors)  # Jensen: E[log p̂] < log p(x)
    assert biases[1] > biases[10] > biases[100], biases


def test_standard_error_is_the_spread_of_the_weights():
    result = monte_carlo_log_evidence(log_joint, prior(3), 200, generator=seeded(3))
    w = result.log_weights.exp()
    torch.testing.assert_close(result.standard_error, w.std(0) / math.sqrt(200))
    torch.testing.assert_close(result.log_evidence, w.mean(0).log())
    torch.testing.assert_close(result.ess, w.sum(0) ** 2 / w.pow(2).sum(0))


def test_monte_carlo_log_evidence_is_reproducible_and_leaves_the_global_rng_alone():
    state = torch.random.get_rng_state()
    a = monte_carlo_log_evidence(log_joint, prior(2), 30, generator=seeded(5))
    b = monte_carlo_log_evidence(log_joint, prior(2), 30, generator=seeded(5))
    assert torch.equal(a.log_weights, b.log_weights)
    assert not torch.equal(a.log_weights, monte_carlo_log_evidence(log_joint, prior(2), 30, seeded(6)).log_weights)
    assert torch.equal(torch.random.get_rng_state(), state)


def test_monte_carlo_log_evidence_rejects_bad_arguments():
    with pytest.raises(ValueError, match="k .* must be an integer >= 1, got 0"):
        monte_carlo_log_evidence(log_joint, prior(1), 0)
    with pytest.raises(TypeError, match="proposal must be a torch.distributions object"):
        monte_carlo_log_evidence(log_joint, lambda n: torch.zeros(n), 5)
    with pytest.raises(ValueError, match=r"one log p\(x, z\) per draw"):
        monte_carlo_log_evidence(lambda z: log_joint(z).sum(), prior(1), 5)


# ---------------------------------------------------------------------------- a VAE: the encoder as proposal


def test_iwae_bound_is_reproducible_with_a_generator():
    images = torch.rand(5, 1, 28, 28, generator=seeded(123))
    model = VAE(latent_dim=2, hidden_dim=16)
    assert torch.equal(iwae_bound(model, images, k=5, generator=seeded(3)),
                       iwae_bound(model, images, k=5, generator=seeded(3)))


def test_sample_i_is_the_same_whatever_the_chunking():
    images = torch.rand(4, 784, generator=seeded(7))
    model = VAE(latent_dim=2, hidden_dim=16)
    ten = log_importance_weights(model, images, k=10, generator=seeded(1))
    torch.testing.assert_close(log_importance_weights(model, images, k=4, generator=seeded(1)), ten[:4])
    whole = importance_log_sums(model, images, k=10, generator=seeded(1))
    chunked = importance_log_sums(model, images, k=10, chunk_size=3, generator=seeded(1))
    torch.testing.assert_close(chunked, whole)
    torch.testing.assert_close(whole[0], torch.logsumexp(ten, 0))
    torch.testing.assert_close(whole[1], torch.logsumexp(2 * ten, 0))


def test_exact_posterior_closes_the_gap():
    model, marginal = linear_gaussian_vae(seed=0)
    x = sample_images(marginal, 200)
    exact = marginal.log_prob(x)
    log_weights = log_importance_weights(model, x, k=8, generator=seeded(0))
    # With q(z|x) = p(z|x) every importance weight equals p(x): zero variance, zero gap.
    torch.testing.assert_close(log_weights, exact.expand(8, -1), rtol=0, atol=1e-9)
    torch.testing.assert_close(iwae_bound(model, x, k=1, generator=seeded(0)), exact, rtol=0, atol=1e-9)
    # The ELBO's own estimator (analytic KL + sampled reconstruction) is unbiased for the same value.
    elbo = model.elbo(x, samples=200, generator=seeded(1)).elbo
    assert elbo.mean().item() == pytest.approx(exact.mean().item(), abs=0.02)


def test_bounds_are_ordered_and_converge_to_the_exact_log_likelihood():
    model, marginal = linear_gaussian_vae(encoder_error=0.1, seed=1)
    x = sample_images(marginal, 300)
    exact = marginal.log_prob(x).mean().item()
    elbo = model.elbo(x, samples=20, generator=seeded(0)).elbo.mean().item()
    bounds = {k: iwae_bound(model, x, k=k, generator=seeded(k), chunk_size=250).mean().item() for k in (1, 10, 100, 1000)}
    gaps = {k: exact - bound for k, bound in bounds.items()}
    assert elbo == pytest.approx(bounds[1], abs=0.3)  # two estimates of the same ELBO
    assert elbo < bounds[10] < bounds[1000] < exact + 0.01
    assert gaps[1] > gaps[10] > gaps[100] > gaps[1000] > -0.01
    assert gaps[1] > 1.0 and gaps[1000] < 0.15


def test_the_generic_estimator_with_a_vae_exact_posterior_gives_the_exact_log_px():
    model, marginal = linear_gaussian_vae(seed=2)
    x = sample_images(marginal, 20)

    def log_joint_of_x(z: torch.Tensor) -> torch.Tensor:
        return model.log_px_given_z(x, z) + model.prior().log_prob(z)

    with torch.no_grad():  # the encoder of linear_gaussian_vae holds the exact posterior
        result = monte_carlo_log_evidence(log_joint_of_x, model.posterior(x), k=6, generator=seeded(0))
    torch.testing.assert_close(result.log_evidence, marginal.log_prob(x), rtol=0, atol=1e-9)
    torch.testing.assert_close(result.ess, torch.full((20,), 6.0, dtype=torch.float64))


def test_vae_estimators_reject_bad_arguments():
    model = VAE(latent_dim=2, hidden_dim=16)
    images = torch.rand(5, 1, 28, 28, generator=seeded(123))
    with pytest.raises(ValueError, match="k .* must be an integer >= 1"):
        iwae_bound(model, images, k=0)
    with pytest.raises(ValueError, match="k .* must be an integer >= 1"):
        log_importance_weights(model, images, k=0)
    with pytest.raises(ValueError, match="chunk_size must be an integer >= 1"):
        importance_log_sums(model, images, k=5, chunk_size=0)
    with pytest.raises(ValueError, match="add the channel dimension"):
        iwae_bound(model, images[:, 0], k=2)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_iwae_bound_runs_on_cuda_with_a_cuda_generator():
    model = VAE(latent_dim=2, hidden_dim=16, architecture="conv").cuda()
    x = torch.rand(5, 1, 28, 28, generator=seeded(123)).cuda()
    g = torch.Generator(device="cuda").manual_seed(0)
    assert iwae_bound(model, x, k=7, generator=g, chunk_size=3).device.type == "cuda"
