"""vae_lib.expected: the table of expected results is complete, looked up by recipe, and compared honestly."""

from __future__ import annotations

import dataclasses
import math

import pytest

from vae_lib import expected, recipes
from vae_lib.data import MnistSource


def test_every_row_names_a_recipe_the_library_can_build():
    keys = set(expected.recipe_fields(recipes.mnist_recipe(device="cpu")))
    for row in expected.EXPECTED:
        assert set(row.recipe) == keys, row.name
        assert row.data in ("full", "bundled") and row.provenance
        assert row.log_px_k >= 1 and row.log_px_images >= 1


def test_the_cpu_recipe_of_chapter_9_has_rows_on_both_data_sets():
    """Changing recipes.CPU_SETTINGS (after a new bench/cpu_budget.py run) must come with new rows."""
    for data in ("full", "bundled"):
        recipe = recipes.mnist_recipe(device="cpu", n_train=expected.TRAIN_IMAGES[data])
        row = expected.expected_for(recipe, data)
        assert row is not None, f"no expected values for the CPU recipe on {data} data: run bench/expected_values.py"
        assert None not in (row.test_elbo, row.log_px, row.kl, row.active_units), row
        protocol = expected.LOG_PX_PROTOCOL["cpu"]
        assert (row.log_px_k, row.log_px_images) == (protocol["k"], protocol["images"])


def test_rows_are_plausible():
    for row in expected.EXPECTED:
        if row.test_elbo is None:
            continue
        assert row.log_px > row.test_elbo, "log p(x) lies above the ELBO"
        assert 0 < row.kl < -row.test_elbo
        assert 0 <= row.active_units <= row.recipe["latent_dim"]


def test_no_two_rows_for_the_same_recipe_and_data():
    keys = [(tuple(sorted(row.recipe.items())), row.data) for row in expected.EXPECTED]
    assert len(keys) == len(set(keys))


def test_lookup_needs_the_exact_recipe():
    recipe = recipes.mnist_recipe(device="cpu")
    assert expected.expected_for(recipe.replace(seed=1), "full") is None
    assert expected.expected_for(recipe.replace(epochs=recipe.epochs + 1), "full") is None
    with pytest.raises(ValueError, match="'full' or 'bundled'"):
        expected.expected_for(recipe, "test")


def test_tolerances_cover_every_quantity_on_both_data_sets():
    assert set(expected.TOLERANCES) == {"full", "bundled"}
    assert all(set(t) == set(expected.QUANTITIES) for t in expected.TOLERANCES.values())


def test_tolerances_allow_for_what_a_change_of_seed_does():
    """Another machine moves a run as a seed change would at most: each tolerance covers the measured range."""
    assert set(expected.SEED_RANGES) == set(expected.TOLERANCES)
    for data, ranges in expected.SEED_RANGES.items():
        assert set(ranges) == set(expected.QUANTITIES)
        for quantity, spread in ranges.items():
            assert expected.TOLERANCES[data][quantity] >= 1.5 * spread, (data, quantity)


def test_every_bundled_row_takes_the_steps_of_its_full_row():
    """Rows on the bundled subset train as many optimizer steps as the same recipe on full MNIST (within 5 %)."""
    def steps(row):
        return row.recipe["epochs"] * math.ceil(expected.TRAIN_IMAGES[row.data] / row.recipe["batch_size"])
    full = {row.name: row for row in expected.EXPECTED if row.data == "full"}
    for row in expected.EXPECTED:
        if row.data == "bundled":
            assert abs(steps(row) / steps(full[row.name]) - 1) < 0.05, row.name


def test_compare_and_check():
    row = expected.ExpectedRow("toy", {}, "full", -100.0, -95.0, 25.0, 18, 5000, 256, "made up")
    inside = expected.check(row, {"test_elbo": -100.9, "log_px": -94.1, "kl": 26.4, "active_units": 20})
    assert all(c.within for c in inside) and "within the tolerance" in str(inside[0])
    with pytest.raises(AssertionError, match=r"active_units: 22.00, expected 18.00 ± 3 \(OUTSIDE"):
        expected.check(row, {"active_units": 22})
    with pytest.raises(AssertionError, match="test_elbo"):
        expected.check(row, {"test_elbo": float("nan")})
    unmeasured = dataclasses.replace(row, log_px=None)
    (comparison,) = expected.compare(unmeasured, {"log_px": -94.0})
    assert comparison.within is None and "no expected value" in str(comparison)
    with pytest.raises(ValueError, match="Unknown quantities"):
        expected.compare(row, {"elbo": -100.0})


def test_data_kind_of_a_source():
    bundled = MnistSource("bundled", "/x.csv.gz", 4000, "abc", "train")
    official = MnistSource("env", "/data", 60000, "def", "train")
    assert expected.data_kind(bundled) == "bundled" and expected.data_kind(official) == "full"


def test_markdown_table_lists_every_row_and_highlights_one():
    row = expected.EXPECTED[0]
    table = expected.markdown_table(highlight=row)
    assert table.count("\n| ") == len(expected.EXPECTED) + 1  # the separator line and one line per row
    assert f"**{row.name}**" in table and "held-out" in table and "Tolerances on the bundled subset:" in table
