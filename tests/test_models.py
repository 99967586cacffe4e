"""vae_lib.models: shapes, the ELBO's parts against torch.distributions, configs, errors.

The importance-sampling bounds, checked against an exact log p(x), are in test_estimators.py.
"""

from __future__ import annotations

import json
import math

import pytest
import torch
from torch.distributions import Bernoulli, Normal, kl_divergence

from vae_lib.models import VAE, ELBOTerms, VAEConfig, build_vae

LIKELIHOODS = {
    "bernoulli": dict(likelihood="bernoulli"),
    "gaussian-fixed": dict(likelihood="gaussian", sigma=0.2),
    "gaussian-learned": dict(likelihood="gaussian", sigma=None),
}


def small_vae(**overrides) -> VAE:
    return VAE(**{"hidden_dim": 16, **overrides})


def seeded(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@pytest.fixture
def images() -> torch.Tensor:
    return torch.rand(5, 1, 28, 28, generator=seeded(123))


# ---------------------------------------------------------------------------- shapes and the ELBO


@pytest.mark.parametrize("likelihood", LIKELIHOODS)
@pytest.mark.parametrize("latent_dim", [2, 20])
@pytest.mark.parametrize("architecture", ["mlp", "conv", "linear"])
def test_shapes_decomposition_and_loss(architecture, latent_dim, likelihood, images):
    model = small_vae(architecture=architecture, latent_dim=latent_dim, **LIKELIHOODS[likelihood])
    mu, logvar = model.encode(images)
    assert mu.shape == logvar.shape == (5, latent_dim)
    assert model.decode(mu).shape == (5, 1, 28, 28)
    assert model.decode(torch.zeros(3, 5, latent_dim)).shape == (3, 5, 1, 28, 28)

    terms = model.elbo(images, beta=0.25, generator=seeded(1))
    for value in (terms.elbo, terms.objective, terms.reconstruction, terms.kl):
        assert value.shape == (5,) and torch.isfinite(value).all()
    torch.testing.assert_close(terms.elbo, terms.reconstruction - terms.kl)
    torch.testing.assert_close(terms.objective, terms.reconstruction - 0.25 * terms.kl)
    assert (terms.kl >= 0).all()

    loss = model.loss(images, beta=0.25, generator=seeded(1))
    assert loss.shape == ()
    torch.testing.assert_close(loss, -terms.objective.mean(), rtol=1e-5, atol=1e-3)
    loss.backward()
    assert all(p.grad is not None for p in model.parameters())
    if likelihood == "gaussian-learned":
        assert model.log_sigma.grad is not None and model.log_sigma.grad != 0


@pytest.mark.parametrize("architecture", ["mlp", "conv"])
def test_reconstruct_and_sample_are_images_in_unit_interval(architecture, images):
    for likelihood in LIKELIHOODS.values():
        model = small_vae(architecture=architecture, latent_dim=2, **likelihood)
        with torch.no_grad():  # push outputs far above 1, so that the sigmoid / clamp has work to do
            list(model.decoder.children())[-1].bias.add_(3.0)
        for out in (model.reconstruct(images), model.sample(6, generator=seeded(0))):
            assert out.shape[1:] == (1, 28, 28)
            assert out.min() >= 0 and out.max() <= 1
            assert not out.requires_grad


def test_gaussian_images_are_clamped_means():
    model = small_vae(likelihood="gaussian", sigma=0.1, latent_dim=2)
    output = torch.tensor([-0.5, 0.3, 1.7])
    assert torch.equal(model.to_images(output), torch.tensor([0.0, 0.3, 1.0]))


def test_flat_and_image_inputs_give_the_same_result(images):
    model = small_vae(latent_dim=2)
    a = model.elbo(images, generator=seeded(4))
    b = model.elbo(images.reshape(5, 784), generator=seeded(4))
    torch.testing.assert_close(a.elbo, b.elbo)


def test_mlp_matches_the_paper_architecture():
    model = VAE()
    shapes = [tuple(p.shape) for p in model.parameters()]
    assert shapes == [(400, 784), (400,), (20, 400), (20,), (20, 400), (20,), (400, 20), (400,), (784, 400), (784,)]


# ---------------------------------------------------------------------------- likelihoods and KL


def test_bernoulli_log_likelihood_matches_torch_distributions(images):
    model = small_vae(latent_dim=2)
    binary = (images > 0.5).float()
    z = torch.randn(4, 5, 2, generator=seeded(2))
    logits = model.decode(z)
    reference = Bernoulli(logits=logits).log_prob(binary.expand_as(logits)).sum((-3, -2, -1))
    ours = model.log_px_given_z(binary, z)
    assert ours.shape == (4, 5)
    torch.testing.assert_close(ours, reference)
    torch.testing.assert_close(model.log_px_given_z(binary, z[0]), reference[0])


@pytest.mark.parametrize("sigma", [0.05, None])
def test_gaussian_log_likelihood_matches_torch_distributions(sigma, images):
    model = small_vae(latent_dim=2, likelihood="gaussian", sigma=sigma)
    if sigma is None:
        with torch.no_grad():
            model.log_sigma.fill_(math.log(0.3))
    z = torch.randn(3, 5, 2, generator=seeded(3))
    mean = model.decode(z)
    reference = Normal(mean, sigma or 0.3).log_prob(images).sum((-3, -2, -1))
    torch.testing.assert_close(model.log_px_given_z(images, z), reference)
    if sigma == 0.05:
        # A density, not a probability: near the mean and with a small σ it is positive.
        at_mean = model.log_px_given_z(model.decode(z[0]).detach(), z[0])
        assert (at_mean > 0).all()


def test_kl_term_matches_torch_distributions(images):
    model = small_vae(latent_dim=3)
    terms = model.elbo(images, generator=seeded(0))
    torch.testing.assert_close(terms.kl, kl_divergence(model.posterior(images), model.prior()))


def test_reconstruction_averages_the_requested_samples(images):
    model = small_vae(latent_dim=2)
    terms = model.elbo(images, samples=7, generator=seeded(5))
    mu, logvar = model.encode(images)
    z = model.reparameterize(mu, logvar, samples=7, generator=seeded(5))
    torch.testing.assert_close(terms.reconstruction, model.log_px_given_z(images, z).mean(0))


def test_generator_makes_sampling_reproducible(images):
    model = small_vae(latent_dim=2)
    assert torch.equal(model.sample(4, generator=seeded(1)), model.sample(4, generator=seeded(1)))
    assert not torch.equal(model.sample(4, generator=seeded(1)), model.sample(4, generator=seeded(2)))
    a, b = (model.elbo(images, generator=seeded(9)).elbo for _ in range(2))
    assert torch.equal(a, b)
    assert not torch.equal(a, model.elbo(images, generator=seeded(10)).elbo)


def test_elbo_terms_means_are_floats(images):
    t = torch.tensor([1.0, 2.0])
    assert ELBOTerms(t, t, t, -t).means() == {"elbo": 1.5, "objective": 1.5, "reconstruction": 1.5, "kl": -1.5}
    terms = small_vae(latent_dim=2).elbo(images)  # tensors still attached to the graph
    assert terms.means()["elbo"] == pytest.approx(terms.elbo.mean().item())


# ---------------------------------------------------------------------------- configuration


def test_config_round_trips_through_json():
    config = VAEConfig(latent_dim=2, hidden_dim=64, architecture="conv", likelihood="gaussian", sigma=0.1)
    restored = VAEConfig.from_dict(json.loads(json.dumps(config.to_dict())))
    assert restored == config and hash(restored) == hash(config)
    assert restored.image_shape == (1, 28, 28)
    assert VAEConfig(image_shape=[1, 28, 28]) == VAEConfig()


def test_model_construction_forms_agree():
    config = VAEConfig(latent_dim=2)
    assert VAE(latent_dim=2).config == config
    assert VAE(config).config == config
    assert VAE(VAEConfig(), latent_dim=2).config == config
    assert VAE({"latent_dim": 2}).config == config
    assert build_vae(config.to_dict()).config == config
    assert build_vae(config).config == config
    with pytest.raises(TypeError, match="VAEConfig or a dict"):
        build_vae("mlp")
    with pytest.raises(TypeError, match="VAEConfig or a dict"):
        VAE("mlp")


def test_one_coercion_serves_every_constructor():
    config = VAEConfig(latent_dim=2)
    assert VAEConfig.coerce() == VAEConfig() == build_vae(None).config
    assert VAEConfig.coerce(config) is config  # nothing to change: the same object
    assert VAEConfig.coerce(config, hidden_dim=64) == VAEConfig(latent_dim=2, hidden_dim=64)
    assert VAEConfig.coerce(config.to_dict(), hidden_dim=64) == VAEConfig(latent_dim=2, hidden_dim=64)
    assert VAEConfig.coerce(latent_dim=2) == config
    with pytest.raises(ValueError, match="'latnet_dim'"):
        VAEConfig.coerce(config, latnet_dim=3)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"latent_dim": 0}, "latent_dim must be an integer >= 1, got 0"),
        ({"latent_dim": 2.5}, "latent_dim must be an integer >= 1"),
        ({"hidden_dim": -3}, "hidden_dim must be an integer >= 1"),
        ({"architecture": "cnn"}, "architecture must be one of 'mlp', 'conv', 'linear', got 'cnn'"),
        ({"likelihood": "poisson"}, "likelihood must be one of 'bernoulli', 'gaussian', got 'poisson'"),
        ({"likelihood": "gaussian", "sigma": 0}, r"sigma must be > 0 \(e.g. 0.1\) or None"),
        ({"likelihood": "gaussian", "sigma": -1.0}, "sigma must be > 0"),
        ({"likelihood": "gaussian", "sigma": "0.1"}, "sigma must be a number > 0 or None"),
        ({"sigma": 0.1}, "only applies to likelihood='gaussian'"),
        ({"image_shape": (28, 28)}, r"image_shape must be three positive integers"),
        ({"architecture": "conv", "image_shape": (1, 30, 30)}, "divisible by 4"),
    ],
)
def test_bad_config_values_say_what_to_change(fields, message):
    with pytest.raises(ValueError, match=message):
        VAEConfig(**fields)
    with pytest.raises(ValueError, match=message):
        VAEConfig.from_dict(fields)
    with pytest.raises(ValueError, match=message):
        VAE(**fields)


def test_unknown_config_keys_are_named_with_the_known_ones():
    with pytest.raises(ValueError, match=r"Unknown VAEConfig key\(s\) 'latent'; the known keys are latent_dim, hidden_dim"):
        VAEConfig.from_dict({"latent": 2})
    with pytest.raises(ValueError, match="'latnet_dim'"):
        VAE(latnet_dim=2)
    with pytest.raises(ValueError, match="needs a dict"):
        VAEConfig.from_dict([("latent_dim", 2)])


# ---------------------------------------------------------------------------- bad inputs


@pytest.mark.parametrize(
    ("make_input", "message"),
    [
        (lambda x: x[:, 0], r"\[B, 1, 28, 28\] \(or flat \[B, 784\]\), got \[5, 28, 28\]; add the channel dimension with x.unsqueeze\(1\)"),
        (lambda x: x[0], r"got \[1, 28, 28\]; add the channel dimension"),
        (lambda x: torch.rand(5, 1, 32, 32), r"\[B, 1, 28, 28\].*got \[5, 1, 32, 32\]; reshape"),
        (lambda x: torch.rand(5, 100), r"got \[5, 100\]"),
        (lambda x: (x * 255).to(torch.uint8), r"dtype torch.uint8.*x.float\(\) / 255"),
        (lambda x: x.double(), r"dtype torch.float64 but the model's parameters are torch.float32"),
        (lambda x: x * 255, r"values in \[0, 1\].*divide by 255"),
        (lambda x: x - 0.5, r"values in \[0, 1\], got values in \[-0\.\d+"),
        (lambda x: x.masked_fill(x > 0.9, float("nan")), "NaN or infinite"),
        (lambda x: x[:0], "empty batch"),
        (lambda x: x.numpy(), "Expected a torch.Tensor"),
    ],
)
def test_bad_inputs_say_what_to_fix(make_input, message, images):
    model = small_vae(latent_dim=2)
    bad = make_input(images)
    with pytest.raises(ValueError, match=message):
        model.check_input(bad)
    with pytest.raises(ValueError, match=message):
        model.elbo(bad)
    with pytest.raises(ValueError, match=message):
        model.loss(bad, validate=True)


def test_loss_checks_shape_always_and_values_only_on_request(images):
    model = small_vae(latent_dim=2)
    with pytest.raises(ValueError, match="unsqueeze"):
        model.loss(images[:, 0])  # metadata checks cost nothing: always on
    assert torch.isfinite(model.loss(images * 255))  # the value check waits for the device: opt-in
    with pytest.raises(ValueError, match="divide by 255"):
        model.elbo(images * 255)
    model.elbo(images * 255, validate=False)


def test_gaussian_likelihood_accepts_values_outside_unit_interval(images):
    model = small_vae(latent_dim=2, likelihood="gaussian", sigma=1.0)
    model.check_input(images * 2 - 1)
    assert torch.isfinite(model.elbo(images * 2 - 1).elbo).all()


def test_bad_arguments_are_rejected(images):
    model = small_vae(latent_dim=2)
    with pytest.raises(ValueError, match="beta must be >= 0"):
        model.elbo(images, beta=-1.0)
    with pytest.raises(ValueError, match="samples must be an integer >= 1"):
        model.elbo(images, samples=0)
    with pytest.raises(ValueError, match="n must be a positive integer"):
        model.sample(0)
    with pytest.raises(ValueError, match="likelihood='gaussian' only"):
        model.observation_sigma()


# ---------------------------------------------------------------------------- devices


def test_cpu_generator_draws_the_same_samples_on_any_device():
    device = "cuda" if torch.cuda.is_available() else "cpu"
    model = small_vae(latent_dim=2)
    expected = model.sample(3, generator=seeded(0))
    on_device = model.to(device).sample(3, generator=seeded(0), device="cpu")
    torch.testing.assert_close(on_device, expected, rtol=1e-4, atol=1e-5)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_runs_on_cuda_with_a_cuda_generator(images):
    model = small_vae(latent_dim=2, architecture="conv").cuda()
    x = images.cuda()
    model.check_input(x)
    g = torch.Generator(device="cuda").manual_seed(0)
    terms = model.elbo(x, generator=g)
    assert terms.elbo.device.type == "cuda"
    model.loss(x, generator=g).backward()
    with pytest.raises(ValueError, match=r"x.to\(model.device\)"):
        model.elbo(images)
