"""vae_lib.anomaly and its explorer: ELBO scores, the ROC curve and its area, checked against scikit-learn."""

from __future__ import annotations

import matplotlib
import numpy as np
import pytest
import torch
from sklearn import metrics

from vae_lib import anomaly
from vae_lib.data import binarize
from vae_lib.models import VAE
from vae_lib.widgets.anomaly import operating_point, threshold_explorer, threshold_for
from vae_lib.widgets.precomputed import leaves

matplotlib.use("Agg")


def labelled(normal, anomalous):
    return np.r_[np.zeros(len(normal)), np.ones(len(anomalous))], np.r_[normal, anomalous]


@pytest.mark.parametrize("seed", range(5))
def test_area_matches_sklearn_with_and_without_ties(seed):
    rng = np.random.default_rng(seed)
    normal = rng.normal(100, 10, 300)
    anomalous = rng.normal(112, 15, 120)
    if seed % 2:  # rounded scores: many ties
        normal, anomalous = normal.round(), anomalous.round()
    labels, scores = labelled(normal, anomalous)
    expected = metrics.roc_auc_score(labels, scores)
    assert anomaly.area_under_roc(normal, anomalous) == pytest.approx(expected, abs=1e-12)
    assert anomaly.roc_curve(normal, anomalous).area() == pytest.approx(expected, abs=1e-12)


def test_curve_points_match_sklearn():
    rng = np.random.default_rng(7)
    normal, anomalous = rng.normal(0, 1, 50).round(1), rng.normal(1, 1, 40).round(1)
    labels, scores = labelled(normal, anomalous)
    fpr, tpr, thresholds = metrics.roc_curve(labels, scores, drop_intermediate=False)
    curve = anomaly.roc_curve(normal, anomalous)
    np.testing.assert_allclose(curve.false_positive_rate, fpr)
    np.testing.assert_allclose(curve.true_positive_rate, tpr)
    np.testing.assert_allclose(curve.thresholds[1:], thresholds[1:])
    assert curve.thresholds[0] == np.inf and np.all(np.diff(curve.thresholds) < 0)


def test_perfect_reversed_and_chance():
    assert anomaly.area_under_roc([1, 2, 3], [4, 5]) == 1.0
    assert anomaly.area_under_roc([4, 5], [1, 2, 3]) == 0.0
    assert anomaly.area_under_roc([1, 1], [1, 1]) == 0.5


def test_rates_at_a_threshold():
    fpr, tpr = anomaly.rates_at(10.0, [8, 9, 10, 11], [9, 12, 13])
    assert (fpr, tpr) == (0.5, pytest.approx(2 / 3))


@pytest.mark.parametrize("bad", [[], [1.0, np.nan], [np.inf]])
def test_bad_scores_are_refused(bad):
    with pytest.raises(ValueError, match="non-empty set of finite scores"):
        anomaly.area_under_roc(bad, [1.0])


def test_scores_are_minus_the_elbo_of_one_seeded_binary_sample():
    torch.manual_seed(0)
    model = VAE(latent_dim=3, hidden_dim=16)
    images = torch.rand(7, 1, 28, 28, generator=torch.Generator().manual_seed(1))
    scores = anomaly.anomaly_scores(model, images, seed=5)
    binary = binarize(images, "dynamic", seed=anomaly.derived_seed(5, anomaly.SCORE_BINARIZE_STREAM))
    with torch.no_grad():
        direct = -model.elbo(binary, generator=torch.Generator().manual_seed(5)).elbo
    torch.testing.assert_close(scores, direct)
    assert torch.equal(scores, anomaly.anomaly_scores(model, images, seed=5))
    assert anomaly.anomaly_scores(model, images, seed=5, batch_size=3).shape == (7,)
    assert not torch.equal(scores, anomaly.anomaly_scores(model, images, seed=6))


def test_the_reconstruction_error_is_the_elbo_score_without_its_kl_term():
    """kind="reconstruction" scores −E_q[log p(x|z)] from the same binary images and z draws as −ELBO."""
    torch.manual_seed(0)
    model = VAE(latent_dim=3, hidden_dim=16)
    images = torch.rand(7, 1, 28, 28, generator=torch.Generator().manual_seed(1))
    elbo = anomaly.anomaly_scores(model, images, seed=5, samples=3)
    reconstruction = anomaly.anomaly_scores(model, images, seed=5, samples=3, kind="reconstruction")
    binary = binarize(images, "dynamic", seed=anomaly.derived_seed(5, anomaly.SCORE_BINARIZE_STREAM))
    with torch.no_grad():
        terms = model.elbo(binary, samples=3, generator=torch.Generator().manual_seed(5))
        kl = model.elbo(binary).kl  # exact, whatever the z draws
    torch.testing.assert_close(reconstruction, -terms.reconstruction)
    torch.testing.assert_close(elbo - reconstruction, kl, rtol=0, atol=1e-3)  # a difference of sums of ~500 nats
    with pytest.raises(ValueError, match="kind must be one of 'elbo', 'reconstruction'"):
        anomaly.anomaly_scores(model, images, kind="kl")


def test_more_z_samples_give_a_steadier_score():
    torch.manual_seed(0)
    model = VAE(latent_dim=3, hidden_dim=16)
    images = torch.rand(200, 1, 28, 28, generator=torch.Generator().manual_seed(1))
    spread = [torch.stack([anomaly.anomaly_scores(model, images, samples=s, seed=k) for k in range(4)]).std(0).mean()
              for s in (1, 16)]
    assert spread[1] < spread[0] / 2


def test_threshold_explorer_pictures_differ_and_state_the_library_rates():
    rng = np.random.default_rng(0)
    normal = rng.normal(100, 10, 400)
    sets = {"noise": rng.normal(160, 20, 100), "shapes": rng.normal(105, 10, 100)}
    explorer = threshold_explorer(normal, sets, false_positive_rates=(0.01, 0.1))
    pictures = [leaf.value for leaf in leaves(explorer.picture)]
    assert len(pictures) == 4 and len(set(pictures)) == 4
    assert threshold_for(0.1, normal) == pytest.approx(np.quantile(normal, 0.9))
    fpr, tpr = anomaly.rates_at(threshold_for(0.1, normal), normal, sets["shapes"])
    assert operating_point(0.1, normal, sets["shapes"]).endswith(f"{fpr:.1%} false alarms, {tpr:.1%} caught")
    assert explorer.fallback_png is not None and all(link.source[0] in explorer.sliders for link in explorer.links)
    with pytest.raises(ValueError, match="between 0 and 1"):
        threshold_for(1.0, normal)
    with pytest.raises(ValueError, match="at least one set"):
        threshold_explorer(normal, {})
