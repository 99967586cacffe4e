"""bench/cpu_budget.py: a setting's result is what it reached within the budget; the winner is the best of them."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
import cpu_budget  # noqa: E402 (a script in bench/, importable once its folder is on the path)


def setting(batch_size, lr, seconds, elbos):
    s = cpu_budget.Setting(batch_size, lr, Path("unused.pt"))
    s.wall_seconds = list(seconds)
    s.history = [{"test_elbo": e} for e in elbos]
    return s


def test_only_epochs_that_end_within_the_budget_count():
    s = setting(128, 1e-3, [40, 40, 40, 41], [-120, -110, -105, -100])
    assert s.epochs_within(120) == 3 and s.epochs_within(119.9) == 2 and s.epochs_within(10) == 0
    summary = cpu_budget.summary(s, 120)
    assert summary["test_elbo_within_budget"] == -105 and summary["seconds_within_budget"] == 120
    assert cpu_budget.summary(s, 10)["test_elbo_within_budget"] is None


def test_the_winner_and_the_margin_over_the_reference():
    results = [cpu_budget.summary(setting(128, 1e-3, [30] * 5, [-130, -120, -112, -108, -105]), 120),
               cpu_budget.summary(setting(256, 3e-3, [20] * 7, [-125, -113, -107, -104, -102, -101, -99]), 120)]
    chosen = cpu_budget.winner_and_reference(results)
    assert chosen["winner"]["settings"] == {"epochs": 6, "batch_size": 256, "lr": 3e-3}
    assert chosen["reference"]["test_elbo_within_budget"] == -108
    assert chosen["winner"]["beats_reference_by_nats"] == pytest.approx(7.0)


def test_no_epoch_within_the_budget_is_an_error():
    results = [cpu_budget.summary(setting(128, 1e-3, [200], [-130]), 120)]
    with pytest.raises(RuntimeError, match="larger --budget"):
        cpu_budget.winner_and_reference(results)


def test_quick_mode_keeps_an_explicit_budget():
    assert cpu_budget.parse_args(["--quick"]).budget == cpu_budget.QUICK["budget"]
    assert cpu_budget.parse_args(["--quick", "--budget", "60"]).budget == 60
    assert cpu_budget.parse_args([]).budget == cpu_budget.recipes.CPU_BUDGET_SECONDS
