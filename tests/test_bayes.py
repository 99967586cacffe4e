"""vae_lib.bayes: the coffee-machine numbers, sequential updating, input validation."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy import stats

from vae_lib import bayes

PRIOR = {"clogged": 0.3, "low water": 0.7}
P_NOISE = {"clogged": 0.9, "low water": 0.2}
P_SILENCE = {h: 1 - p for h, p in P_NOISE.items()}


def test_coffee_machine_evidence_and_posterior():
    assert bayes.evidence(PRIOR, P_NOISE) == pytest.approx(0.41, abs=1e-12)
    post = bayes.posterior(PRIOR, P_NOISE)
    assert post["clogged"] == pytest.approx(0.27 / 0.41, abs=1e-12)
    assert post["clogged"] == pytest.approx(0.6585, abs=5e-5)
    assert post["low water"] == pytest.approx(0.14 / 0.41, abs=1e-12)
    assert sum(post.values()) == pytest.approx(1.0)
    assert list(post) == list(PRIOR)  # same hypotheses, same order


def test_joint_is_likelihood_times_prior():
    joint = bayes.joint(PRIOR, P_NOISE)
    assert joint == pytest.approx({"clogged": 0.27, "low water": 0.14})
    assert sum(joint.values()) == pytest.approx(bayes.evidence(PRIOR, P_NOISE))


def test_sequences_work_like_dicts():
    post = bayes.posterior([0.3, 0.7], [0.9, 0.2])
    assert isinstance(post, np.ndarray)
    assert post == pytest.approx([0.27 / 0.41, 0.14 / 0.41])
    assert bayes.evidence(np.array([0.3, 0.7]), (0.9, 0.2)) == pytest.approx(0.41)


def test_likelihood_need_not_sum_to_one():
    assert sum(P_NOISE.values()) == pytest.approx(1.1)  # no error: likelihoods are not a distribution over h
    bayes.posterior(PRIOR, P_NOISE)


def test_sequential_updating_equals_a_single_joint_update():
    beliefs = bayes.update_sequentially(PRIOR, [P_NOISE, P_NOISE])
    assert len(beliefs) == 3 and beliefs[0] == PRIOR
    assert beliefs[1] == pytest.approx(bayes.posterior(PRIOR, P_NOISE))
    joint_update = bayes.posterior(PRIOR, bayes.combine_likelihoods(P_NOISE, P_NOISE))
    assert beliefs[-1] == pytest.approx(joint_update, abs=1e-12)
    assert joint_update["clogged"] == pytest.approx(0.3 * 0.81 / (0.3 * 0.81 + 0.7 * 0.04))


def test_order_of_observations_does_not_matter():
    finals = [
        bayes.update_sequentially(PRIOR, list(order))[-1]["clogged"]
        for order in itertools.permutations([P_NOISE, P_SILENCE, P_NOISE])
    ]
    assert np.allclose(finals, finals[0], atol=1e-12)


def test_update_with_no_observation_returns_just_the_prior():
    assert bayes.update_sequentially(PRIOR, []) == [PRIOR]


def test_equal_likelihoods_leave_the_prior_unchanged():
    assert bayes.posterior(PRIOR, {"clogged": 0.4, "low water": 0.4}) == pytest.approx(PRIOR)


def test_combine_likelihoods_with_arrays_and_errors():
    assert bayes.combine_likelihoods([0.9, 0.2], [0.1, 0.8]) == pytest.approx([0.09, 0.16])
    with pytest.raises(ValueError, match="same hypotheses"):
        bayes.combine_likelihoods(P_NOISE, {"clogged": 0.5})
    with pytest.raises(ValueError, match="different lengths"):
        bayes.combine_likelihoods([0.9, 0.2], [0.5])
    with pytest.raises(ValueError, match="at least one"):
        bayes.combine_likelihoods()


# ----------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    "prior, match",
    [
        ({"clogged": 0.3, "low water": 0.6}, r"sums to 0\.9"),
        ({"clogged": -0.3, "low water": 1.3}, r"'clogged' is -0\.3.*\[0, 1\]"),
        ({"clogged": float("nan"), "low water": 0.7}, "NaN"),
        ({}, "empty"),
        ([[0.5, 0.5]], "one-dimensional"),
    ],
)
def test_bad_priors_are_refused_with_a_clear_message(prior, match):
    likelihood = P_NOISE if isinstance(prior, dict) and prior else [[0.5, 0.5]]
    with pytest.raises(ValueError, match=match):
        bayes.posterior(prior, likelihood)


def test_bad_likelihoods_are_refused_with_a_clear_message():
    with pytest.raises(ValueError, match=r"'low water' is 1\.2.*density=True"):
        bayes.posterior(PRIOR, {"clogged": 0.9, "low water": 1.2})
    with pytest.raises(ValueError, match=r"is -0\.1"):
        bayes.posterior(PRIOR, {"clogged": 0.9, "low water": -0.1})
    with pytest.raises(ValueError, match=r"missing: \['low water'\]"):
        bayes.posterior(PRIOR, {"clogged": 0.9})
    with pytest.raises(ValueError, match=r"not in the prior: \['empty'\]"):
        bayes.posterior(PRIOR, {"clogged": 0.9, "low water": 0.2, "empty": 0.5})
    with pytest.raises(ValueError, match="3 entries but the prior has 2"):
        bayes.posterior([0.3, 0.7], [0.9, 0.2, 0.1])
    with pytest.raises(TypeError, match="same form"):
        bayes.posterior(PRIOR, [0.9, 0.2])
    with pytest.raises(TypeError, match="dict"):
        bayes.posterior(PRIOR, {"clogged": "high", "low water": 0.2})


def test_densities_above_one_are_allowed_when_asked_for():
    densities = {"clogged": stats.norm.pdf(0.0, 0, 0.1), "low water": stats.norm.pdf(0.0, 1, 0.1)}
    assert densities["clogged"] > 1
    post = bayes.posterior(PRIOR, densities, density=True)
    assert post["clogged"] > 0.99


def test_zero_evidence_says_the_observation_is_impossible():
    with pytest.raises(bayes.ImpossibleObservationError, match="probability 0") as info:
        bayes.posterior(PRIOR, {"clogged": 0.0, "low water": 0.0})
    assert "every hypothesis" in str(info.value)
    assert isinstance(info.value, ValueError)  # callers catching ValueError still catch it
    # Impossible only where the prior allows: zero prior times zero likelihood is fine.
    assert bayes.posterior({"a": 0.0, "b": 1.0}, {"a": 0.0, "b": 0.5}) == {"a": 0.0, "b": 1.0}
    with pytest.raises(bayes.ImpossibleObservationError):
        bayes.posterior({"a": 0.0, "b": 1.0}, {"a": 1.0, "b": 0.0})


def test_format_belief():
    assert bayes.format_belief(bayes.posterior(PRIOR, P_NOISE)) == "clogged 0.6585 · low water 0.3415"


# ----------------------------------------------------------------------------- the grid evidence


def test_evidence_on_grid_matches_a_linear_gaussian_model():
    nodes, weights = np.polynomial.hermite_e.hermegauss(10)
    weights = weights / weights.sum()
    for dim in (1, 2, 3):
        w = np.linspace(0.3, 0.7, dim)
        exact = stats.norm.pdf(1.0, 0.0, math.sqrt(w @ w + 0.25))
        approx = bayes.evidence_on_grid(lambda z: stats.norm.pdf(1.0, z @ w, 0.5), nodes, weights, dim,
                                        chunk_size=37)  # odd chunk size: exercises the chunk boundaries
        assert approx == pytest.approx(exact, rel=1e-3)


def test_evidence_on_grid_visits_every_point_once():
    seen = []

    def record(z):
        seen.extend(map(tuple, z))
        return np.ones(len(z))

    total = bayes.evidence_on_grid(record, [0.0, 1.0, 2.0], [0.2, 0.3, 0.5], dim=3, chunk_size=5)
    assert total == pytest.approx(1.0)  # likelihood 1 everywhere: the prior weights sum to 1
    assert len(seen) == 27 and len(set(seen)) == 27


def test_evidence_on_grid_refuses_huge_grids_and_bad_input():
    with pytest.raises(ValueError, match="1e\\+20 points"):
        bayes.evidence_on_grid(lambda z: np.ones(len(z)), np.zeros(10), np.full(10, 0.1), dim=20)
    with pytest.raises(ValueError, match="positive whole number"):
        bayes.evidence_on_grid(lambda z: np.ones(len(z)), [0.0], [1.0], dim=0)
    with pytest.raises(ValueError, match="same length"):
        bayes.evidence_on_grid(lambda z: np.ones(len(z)), [0.0, 1.0], [1.0], dim=1)
    with pytest.raises(ValueError, match="sums to"):
        bayes.evidence_on_grid(lambda z: np.ones(len(z)), [0.0, 1.0], [0.5, 0.6], dim=1)


# ----------------------------------------------------------------------------- the chapter's plots


def test_chapter_plots_draw_what_they_say():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from vae_lib import plots

    ax = plots.plot_beliefs({"prior": PRIOR, "posterior": bayes.posterior(PRIOR, P_NOISE)})
    heights = sorted(round(bar.get_height(), 4) for bar in ax.patches)
    assert heights == sorted([0.3, 0.7, 0.6585, 0.3415])
    assert [t.get_text() for t in ax.get_xticklabels()] == list(PRIOR)
    with pytest.raises(ValueError, match="same order"):
        plots.plot_beliefs({"prior": PRIOR, "other": {"low water": 0.7, "clogged": 0.3}})

    rho, k = np.linspace(0, 1, 401), np.arange(6)
    table = stats.binom.pmf(k[None, :], 5, rho[:, None])
    fig = plots.plot_probability_vs_likelihood(table, rho, k, fixed_param=0.5, fixed_data=2, data_symbol="k")
    titles = [ax.get_title() for ax in fig.axes]
    assert "ρ = 0.50 fixed:\nsums to 1.000" in titles
    assert "$k$ = 2 fixed: the likelihood, area = 0.167" in titles  # 1/(n+1) with n = 5
    assert fig.axes[2].get_xlabel() == "parameter $ρ$" and fig.axes[2].get_ylabel() == "likelihood"
    # θ is the book's symbol for a decoder's parameters: the die's parameter never shows it.
    texts = [t.get_text() for axis in fig.axes for t in axis.texts] + titles
    texts += [label for axis in fig.axes for label in (axis.get_xlabel(), axis.get_ylabel())]
    assert not any("θ" in text or "theta" in text for text in texts)
    fig = plots.plot_probability_vs_likelihood(table, rho, k, fixed_param=0.5, fixed_data=2, param_symbol="q")
    assert "q = 0.50 fixed:\nsums to 1.000" in [ax.get_title() for ax in fig.axes]
    with pytest.raises(ValueError, match="not one of the data values"):
        plots.plot_probability_vs_likelihood(table, rho, k, fixed_param=0.5, fixed_data=9)

    ax = plots.plot_log_growth([1, 2], [1e-3, 1e-2], [1, 2, 3], [1e-3, 1e-2, 1e-1], references={"1 s": 1.0},
                               xlabel="d", ylabel="seconds")
    assert ax.get_yscale() == "log" and ax.get_xlabel() == "d"
    plt.close("all")
