"""Anomaly detection with a VAE: score each image by its ELBO, then measure how well the score separates.

A VAE trained on digits gives every image an ELBO, a lower bound on log p(x). An image the
model finds unlikely, one with a low ELBO, is a candidate anomaly, so the **anomaly score** is
−ELBO in nats (higher means more anomalous). How good is the score? Choose a threshold and call
everything above it an anomaly: the **false-positive rate** is the fraction of normal images
flagged, the **true-positive rate** the fraction of anomalies caught. Sweeping the threshold
traces the **ROC curve**; the area under it (**AUC**) is the probability that a random anomaly
scores higher than a random normal image (ties count one half): 1 is perfect, 0.5 is chance.
Defined in the chapter beyond the basic VAE; the tests check the curve and the area against
``sklearn.metrics``.

The **reconstruction error** is a second score, the one autoencoders offer: −E_q[log p(x | z)],
the ELBO without its KL term, which asks only how well the decoder redraws the image from its
code (An & Cho, 2015, score a VAE by this "reconstruction probability").

>>> import torch
>>> normal, anomalous = torch.tensor([1.0, 2.0, 3.0]), torch.tensor([2.5, 4.0])
>>> area_under_roc(normal, anomalous)
0.8333333333333334
>>> curve = roc_curve(normal, anomalous)
>>> curve.false_positive_rate.tolist(), curve.true_positive_rate.tolist()
([0.0, 0.0, 0.3333333333333333, 0.3333333333333333, 0.6666666666666666, 1.0], [0.0, 0.5, 0.5, 1.0, 1.0, 1.0])
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from scipy.stats import rankdata
from torch import Tensor

from vae_lib._sampling import derived_seed
from vae_lib.data import binarize as binarize_set
from vae_lib.models import VAE

__all__ = ["SCORE_KINDS", "anomaly_scores", "RocCurve", "roc_curve", "area_under_roc", "rates_at"]

#: The random stream the binary sample of a scored set comes from (see :func:`anomaly_scores`).
SCORE_BINARIZE_STREAM = "anomaly-binarize"
#: What :func:`anomaly_scores` can score: −ELBO, or the reconstruction error −E_q[log p(x | z)].
SCORE_KINDS = ("elbo", "reconstruction")


@torch.no_grad()
def anomaly_scores(model: VAE, images: Tensor, *, binarize: str | None = "dynamic", samples: int = 1,
                   seed: int = 0, batch_size: int = 1000, kind: str = "elbo") -> Tensor:
    """−ELBO (or the reconstruction error) of every image, in nats, on the CPU: the higher, the less expected.

    Args:
        model: a trained :class:`~vae_lib.models.VAE`.
        images: ``[N, 1, 28, 28]`` (or ``[N, 784]``) in [0, 1].
        binarize: as the model was trained (:data:`vae_lib.data.BINARIZATIONS`): ``"dynamic"`` and
            ``"static"`` score one seeded binary sample of the images, ``"none"`` the grey levels.
        samples: z samples per image for the reconstruction term (more: a less noisy score).
        seed: seeds the binary sample and the z draws: the two kinds of score of one seed come
            from the same binary images and the same z draws.
        batch_size: images per forward pass.
        kind: ``"elbo"`` for −ELBO, ``"reconstruction"`` for −E_q[log p(x | z)] (−ELBO minus the KL term).

    >>> from vae_lib.models import VAE
    >>> model, x = VAE(latent_dim=2), torch.rand(5, 784)
    >>> scores = anomaly_scores(model, x, seed=1)
    >>> scores.shape, bool((scores > 0).all())
    (torch.Size([5]), True)
    >>> bool((anomaly_scores(model, x, seed=1, kind="reconstruction") < scores).all())   # the KL term is > 0
    True
    """
    if kind not in SCORE_KINDS:
        raise ValueError(f"kind must be one of {', '.join(map(repr, SCORE_KINDS))}, got {kind!r}.")
    model.eval()
    x = binarize_set(images.float(), binarize, seed=derived_seed(seed, SCORE_BINARIZE_STREAM))
    generator = torch.Generator().manual_seed(seed)
    scores = []
    for batch in x.split(batch_size):
        terms = model.elbo(batch.to(model.device), samples=samples, generator=generator)
        scores.append(-(terms.elbo if kind == "elbo" else terms.reconstruction).cpu())
    return torch.cat(scores)


@dataclass(frozen=True)
class RocCurve:
    """The ROC curve of an anomaly score: one point per threshold, from "flag nothing" to "flag all".

    Attributes:
        thresholds: decreasing; an image is flagged when its score is ``>=`` the threshold
            (the first is ``+inf``: nothing flagged).
        false_positive_rate: fraction of normal images flagged at each threshold.
        true_positive_rate: fraction of anomalies flagged at each threshold.
    """

    thresholds: np.ndarray
    false_positive_rate: np.ndarray
    true_positive_rate: np.ndarray

    def area(self) -> float:
        """The area under the curve by the trapezoid rule (equal to :func:`area_under_roc`)."""
        return float(np.trapezoid(self.true_positive_rate, self.false_positive_rate))


def _as_array(scores: Tensor | Sequence[float] | np.ndarray, name: str) -> np.ndarray:
    array = np.asarray(scores.cpu() if isinstance(scores, Tensor) else scores, dtype=float).ravel()
    if array.size == 0 or not np.isfinite(array).all():
        raise ValueError(f"{name} must be a non-empty set of finite scores, got {array.size} values "
                         f"({int((~np.isfinite(array)).sum())} not finite).")
    return array


def roc_curve(normal: Tensor | Sequence[float], anomalous: Tensor | Sequence[float]) -> RocCurve:
    """The ROC curve of scores where higher means "more anomalous".

    Every distinct score is a threshold; tied scores move both rates at once (a diagonal step).

    Args:
        normal: scores of images that are not anomalies (e.g. test digits).
        anomalous: scores of images that are.

    >>> curve = roc_curve([0.0, 1.0], [1.0, 2.0])
    >>> curve.thresholds.tolist(), curve.area()
    ([inf, 2.0, 1.0, 0.0], 0.875)
    """
    normal, anomalous = _as_array(normal, "normal"), _as_array(anomalous, "anomalous")
    thresholds = np.concatenate([[np.inf], np.unique(np.concatenate([normal, anomalous]))[::-1]])
    return RocCurve(thresholds, _share_at_least(normal, thresholds), _share_at_least(anomalous, thresholds))


def _share_at_least(scores: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """For each threshold, the fraction of ``scores`` that are ``>=`` it (by a binary search)."""
    below = np.searchsorted(np.sort(scores), thresholds, side="left")
    return (scores.size - below) / scores.size


def area_under_roc(normal: Tensor | Sequence[float], anomalous: Tensor | Sequence[float]) -> float:
    """P(a random anomaly scores higher than a random normal image), ties counted one half.

    Computed from ranks (the Mann–Whitney U statistic divided by the number of pairs), which
    equals the area under :func:`roc_curve`.

    >>> area_under_roc([1.0, 2.0], [3.0, 4.0]), area_under_roc([3.0, 4.0], [1.0, 2.0])
    (1.0, 0.0)
    """
    normal, anomalous = _as_array(normal, "normal"), _as_array(anomalous, "anomalous")
    ranks = rankdata(np.concatenate([normal, anomalous]))  # tied scores share their average rank
    rank_sum = ranks[normal.size:].sum()
    wins = rank_sum - anomalous.size * (anomalous.size + 1) / 2
    return float(wins / (normal.size * anomalous.size))


def rates_at(threshold: float, normal: Tensor | Sequence[float],
             anomalous: Tensor | Sequence[float]) -> tuple[float, float]:
    """``(false-positive rate, true-positive rate)`` when scores ``>= threshold`` are flagged.

    >>> rates_at(2.0, [1.0, 2.0, 3.0, 4.0], [2.0, 5.0])
    (0.75, 1.0)
    """
    normal, anomalous = _as_array(normal, "normal"), _as_array(anomalous, "anomalous")
    return float((normal >= threshold).mean()), float((anomalous >= threshold).mean())
