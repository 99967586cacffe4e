"""The chapter beyond the basic VAE: pick how many false alarms to accept, see which anomalies are caught.

Anomaly scores (−ELBO, :mod:`vae_lib.anomaly`) of normal images and of several kinds of
anomalies. One slider sets the false-positive rate you accept, which fixes the threshold (that
quantile of the normal scores); the other picks the kind of anomaly. The picture shows both
score histograms with the threshold, and the ROC curve with the operating point. Every picture
is precomputed (see :mod:`vae_lib.widgets.precomputed`), so it works on the static site too.

>>> import matplotlib; matplotlib.use("Agg")
>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> explorer = threshold_explorer(rng.normal(100, 10, 500), {"noise": rng.normal(150, 10, 200)},
...                               false_positive_rates=(0.01, 0.1))
>>> explorer.n_pictures, [s.description for s in explorer.sliders]
(2, ['false alarms', 'kind of anomaly'])
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from vae_lib.anomaly import area_under_roc, rates_at, roc_curve
from vae_lib.i18n import tr
from vae_lib.widgets.precomputed import Slider, SliderFigure, slider_figure

__all__ = ["DEFAULT_RATES", "threshold_for", "operating_point", "threshold_explorer"]

#: The false-positive rates the slider offers.
DEFAULT_RATES: tuple[float, ...] = (0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5)
NORMAL_COLOUR, ANOMALY_COLOUR = "#4292c6", "#d95f02"


def threshold_for(false_positive_rate: float, normal_scores) -> float:
    """The threshold that flags (about) this fraction of the normal images: their (1 − rate) quantile.

    >>> threshold_for(0.25, [1.0, 2.0, 3.0, 4.0, 5.0])
    4.0
    """
    if not 0 < false_positive_rate < 1:
        raise ValueError(f"false_positive_rate must lie strictly between 0 and 1, got {false_positive_rate!r}.")
    return float(np.quantile(np.asarray(normal_scores, dtype=float), 1 - false_positive_rate))


def operating_point(rate: float, normal_scores, anomalous_scores) -> str:
    """The line above each picture: the threshold for ``rate`` and what it does, e.g. ``threshold 120: ...``.

    >>> operating_point(0.25, [1.0, 2.0, 3.0, 4.0, 5.0], [4.5, 6.0])
    'threshold 4: 40.0% false alarms, 100.0% caught'
    """
    threshold = threshold_for(rate, normal_scores)
    fpr, tpr = rates_at(threshold, normal_scores, anomalous_scores)
    return f"threshold {threshold:.0f}: {fpr:.1%} false alarms, {tpr:.1%} caught"


def _draw(normal: np.ndarray, anomalous: np.ndarray, name: str, rate: float, bins: np.ndarray,
          split: str = "test") -> Figure:
    threshold = threshold_for(rate, normal)
    fpr, tpr = rates_at(threshold, normal, anomalous)
    fig, (hist, roc) = plt.subplots(1, 2, figsize=(6.6, 2.7), width_ratios=[1.7, 1], layout="constrained")
    clipped = np.clip(anomalous, bins[0], bins[-1])  # off-scale scores pile up in the last bin
    hist.hist(normal, bins=bins, density=True, color=NORMAL_COLOUR, alpha=0.7, label=f"{split} digits")  # a figure label: English
    hist.hist(clipped, bins=bins, density=True, color=ANOMALY_COLOUR, alpha=0.6, label=name)
    hist.axvline(threshold, color="black", lw=1.5)
    hist.set_xlabel("anomaly score −ELBO (nats)")
    hist.set_yticks([])
    hist.legend(frameon=False, fontsize=8, loc="upper right")
    hist.set_title(operating_point(rate, normal, anomalous), fontsize=9)
    curve = roc_curve(normal, anomalous)
    roc.plot(curve.false_positive_rate, curve.true_positive_rate, color=ANOMALY_COLOUR)
    roc.plot([0, 1], [0, 1], ":", color="grey")
    roc.plot([fpr], [tpr], "o", color="black")
    roc.set_xlabel("false-positive rate")
    roc.set_ylabel("true-positive rate")
    roc.set_title(f"ROC, AUC = {area_under_roc(normal, anomalous):.3f}", fontsize=9)
    for ax in (hist, roc):
        ax.spines[["top", "right"]].set_visible(False)
    return fig


def threshold_explorer(normal_scores, anomalous_scores: Mapping[str, Sequence[float]],
                       false_positive_rates: Sequence[float] = DEFAULT_RATES, split: str = "test") -> SliderFigure:
    """Sliders for the accepted false-positive rate and the kind of anomaly; histograms and ROC below.

    Args:
        normal_scores: anomaly scores of normal images (e.g. test digits).
        split: the name of the split the normal images come from, as the data source names it
            (``history.test_name``: ``"test"``, or ``"held-out"`` for the bundled offline subset).
        anomalous_scores: ``{name: scores}`` for each kind of anomaly.
        false_positive_rates: the values of the first slider (it starts at 5 % when offered).
    """
    normal = np.asarray(normal_scores, dtype=float)
    sets = {name: np.asarray(scores, dtype=float) for name, scores in anomalous_scores.items()}
    if not sets:
        raise ValueError("Give at least one set of anomalous scores, e.g. {'noise': scores}.")
    high = np.quantile(normal, 0.999) * 1.6 - 0.6 * np.quantile(normal, 0.001)
    low = min(np.quantile(normal, 0.001), *(s.min() for s in sets.values()))
    bins = np.linspace(low, max(high, np.quantile(normal, 0.999)), 60)
    start = 0.05 if 0.05 in false_positive_rates else None
    return slider_figure(lambda rate, name: _draw(normal, sets[name], name, rate, bins, split),
                         {"rate": Slider(tr("false alarms"), list(false_positive_rates), start, format="{:.1%}"),
                          "name": Slider(tr("kind of anomaly"), list(sets))},
                         alt=tr("Left: histograms of the anomaly score of normal {split} digits and of the "
                                "anomalies, with the threshold that gives the chosen false-alarm rate; right: "
                                "the ROC curve, true-positive against false-positive rate, with that threshold "
                                "marked as a dot", split=split))
