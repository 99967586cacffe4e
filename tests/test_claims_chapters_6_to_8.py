"""The claims chapters 6-8 make in words, checked here by independent code (issue 16's errata).

Each test recomputes one sentence's number without the chapter's own cells, through the
library (``divergences.kl_standard_normal``, ``VAE``) where the chapter writes a formula by
hand. The chapters assert the same facts on their pages; these tests keep the facts from
drifting when the library changes, without building the book. Claims about the trained MNIST
models (chapter 7's variance shares, chapter 8's autoencoder) need the training runs and are
asserted on the pages only.
"""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from vae_lib.divergences import kl_standard_normal
from vae_lib.models import VAE

# ----------------------------------------------------------------------------- chapter 6


def _one_dimension_negative_elbo(variance, pull):
    """-ELBO of a one-pixel decoder's q as a function of σ², its mean at the optimum: the
    reconstruction's pull times σ² plus the KL's width penalty, through the library's KL."""
    logvar = torch.log(variance).reshape(1, 1)
    return pull * variance + kl_standard_normal(torch.zeros(1, 1, dtype=variance.dtype), logvar).sum()


def _variance_after_one_step(start, pull, parameter, optimizer_class, lr=1e-3):
    value = torch.tensor(start if parameter == "variance" else math.log(start), dtype=torch.float64,
                         requires_grad=True)
    optimizer = optimizer_class([value], lr=lr)
    variance = value if parameter == "variance" else value.exp()
    _one_dimension_negative_elbo(variance, pull).backward()
    optimizer.step()
    return value.item() if parameter == "variance" else math.exp(value.item())


def test_the_kl_alone_pushes_a_sharp_variance_up_not_below_zero():
    """"One plain gradient step with η = 1e-3 takes σ² = 1e-4 to about 5"."""
    assert 4 < _variance_after_one_step(1e-4, 0.0, "variance", torch.optim.SGD) < 6


def test_steps_on_the_variance_overshoot_and_steps_on_the_log_variance_do_not():
    """With the reconstruction's pull of 5,000 (noise sd 0.01), a step on σ² from half or twice the
    best variance overshoots or goes below zero, with SGD and Adam; a step on log σ² moves σ² by
    under 1 %; the stable plain step sizes are 4σ⁴ in σ² and 4 in log σ², whatever the width."""
    for noise_sd in (0.1, 0.01, 0.001):
        pull = 1 / (2 * noise_sd**2)
        best = 1 / (1 + 2 * pull)
        if noise_sd == 0.01:
            assert round(pull) == 5000
            assert _variance_after_one_step(best / 2, pull, "variance", torch.optim.SGD) > 1
            assert _variance_after_one_step(2 * best, pull, "variance", torch.optim.SGD) < 0
            assert _variance_after_one_step(2 * best, pull, "variance", torch.optim.Adam) < 0
            for start in (best / 2, 2 * best):
                for optimizer_class in (torch.optim.SGD, torch.optim.Adam):
                    after = _variance_after_one_step(start, pull, "log variance", optimizer_class)
                    assert abs(after / start - 1) < 0.01
        in_variance = torch.autograd.functional.hessian(
            lambda v: _one_dimension_negative_elbo(v, pull), torch.tensor(best, dtype=torch.float64))
        in_log_variance = torch.autograd.functional.hessian(
            lambda u: _one_dimension_negative_elbo(u.exp(), pull), torch.tensor(math.log(best), dtype=torch.float64))
        assert 2 / in_variance.item() == pytest.approx(4 * best**2)
        assert 2 / in_log_variance.item() == pytest.approx(4)


def test_the_log_variance_gradient_is_bounded_below_only():
    """"Never below -1/2" for sharp codes, but growing like σ²/2 for wide ones (it does blow up)."""
    logvar = torch.linspace(-30, 10, 81, dtype=torch.float64, requires_grad=True)
    kl_standard_normal(torch.zeros(81, 1, dtype=torch.float64), logvar[:, None]).sum().backward()
    assert logvar.grad.min() > -0.5 and logvar.grad[-1] == pytest.approx(0.5 * (math.exp(10) - 1))


def test_a_dimension_the_decoder_ignores_has_the_prior_as_its_best_q():
    """Posterior collapse: with decoder weight w = 0 only the KL depends on q, and its best q is
    N(0, 1) with KL 0 (found by optimization, not by the formula); with w > 0 the best q is the
    exact posterior of x = w z + noise, whose KL falls as w falls."""
    mean = torch.full((1, 1), 0.7, dtype=torch.float64, requires_grad=True)
    logvar = torch.full((1, 1), -2.0, dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.Adam([mean, logvar], lr=0.05)
    for _ in range(2000):
        optimizer.zero_grad()
        kl_standard_normal(mean, logvar).sum().backward()
        optimizer.step()
    assert abs(mean.item()) < 1e-3 and abs(logvar.item()) < 1e-3
    assert kl_standard_normal(mean, logvar).item() < 1e-6
    kls = []
    for w in (1.0, 0.3, 0.1):
        post_var = 0.1**2 / (w**2 + 0.1**2)
        post_mean = torch.tensor([[w * w / (w**2 + 0.1**2)]], dtype=torch.float64)
        kls.append(kl_standard_normal(post_mean, torch.tensor([[math.log(post_var)]], dtype=torch.float64)).item())
    assert kls == sorted(kls, reverse=True) and kls[-1] > 0


# ----------------------------------------------------------------------------- chapter 7


def test_half_the_squared_distance_of_two_draws_estimates_the_total_variance():
    """Chapter 7 measures a gradient's total variance as the mean of ½‖g₁ - g₂‖² over independent
    pairs, with the standard error of that mean: unbiased for the trace of the covariance."""
    generator = torch.Generator().manual_seed(0)
    scales = torch.linspace(0.1, 3.0, 50, dtype=torch.float64)
    pairs = 4000
    first = torch.randn(pairs, 50, generator=generator, dtype=torch.float64) * scales
    second = torch.randn(pairs, 50, generator=generator, dtype=torch.float64) * scales
    halves = ((first - second) ** 2).sum(1) / 2
    error = halves.std() / math.sqrt(pairs)
    assert abs(halves.mean() - (scales**2).sum()) < 4 * error


# ----------------------------------------------------------------------------- chapter 8


def _mean_code_gradient(model, inputs, targets):
    """Gradient of -ELBO at the mean code (chapter 8's dynamic-binarization cell), the encoder reading `inputs`."""
    mu, logvar = model.encode(inputs)
    loss = (F.binary_cross_entropy_with_logits(model.decode(mu), targets, reduction="sum")
            + kl_standard_normal(mu, logvar).sum())
    return torch.cat([g.flatten() for g in torch.autograd.grad(loss, list(model.parameters()))])


def test_coin_flips_keep_the_expected_gradient_only_while_the_code_is_fixed():
    """"Grey pixels are not coin flips": with the encoder reading the grey image the gradient is
    affine in the target, so its average over any set of flips is the gradient at their average;
    with the encoder reading the flips it is not."""
    torch.manual_seed(0)
    model = VAE(latent_dim=2, hidden_dim=16).double()
    grey = torch.rand(3, 1, 28, 28, dtype=torch.float64)
    flips = torch.bernoulli(grey.expand(64, -1, -1, -1, -1), generator=torch.Generator().manual_seed(1))
    average_flip = flips.mean(0)
    reads_grey = torch.stack([_mean_code_gradient(model, grey, b) for b in flips]).mean(0)
    assert torch.allclose(reads_grey, _mean_code_gradient(model, grey, average_flip), rtol=1e-9, atol=1e-9)
    reads_flips = torch.stack([_mean_code_gradient(model, b, b) for b in flips]).mean(0)
    at_average = _mean_code_gradient(model, average_flip, average_flip)
    assert (reads_flips - at_average).norm() > 0.01 * at_average.norm()


def test_the_bce_of_a_fixed_reconstruction_is_linear_in_its_target():
    """E_b[BCE(x̂, b)] = BCE(x̂, E[b]): the sum over the four targets of two pixels, weighted by
    their probabilities, equals the BCE at the grey levels exactly."""
    x_hat, grey = torch.tensor([0.2, 0.7], dtype=torch.float64), torch.tensor([0.4, 0.9], dtype=torch.float64)
    expected = 0.0
    for b0 in (0.0, 1.0):
        for b1 in (0.0, 1.0):
            target = torch.tensor([b0, b1], dtype=torch.float64)
            weight = torch.prod(torch.where(target == 1, grey, 1 - grey))
            expected += weight * F.binary_cross_entropy(x_hat, target, reduction="sum")
    assert expected.item() == pytest.approx(F.binary_cross_entropy(x_hat, grey, reduction="sum").item())
