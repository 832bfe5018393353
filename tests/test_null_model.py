"""Responders expected with no treatment effect (SPEC §13): hand-worked checks."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from msc_notebooks import InputError, analyze, load_demo, read_study
from msc_notebooks.null_model import (
    NULL_COLUMNS,
    attach_null,
    benchmark_null,
    engine_null_counts,
    estimate_sigma,
    simulate_null,
    true_rate_distribution,
)

MONTH = 365.25 / 12  # 30.4375 days, exact in binary (SPEC §2)


def straight_line_study() -> object:
    """Three patients losing exactly 1 point every 30 days (30.4375 / 30 = 1.0146
    points/month, SPEC §2), visits every 30 days: whole scores, no noise (SPEC §13)."""
    visits, injections = [], []
    for pid, start, n_months, inj in [
        ("a", 40, 12, [3, 6, 9]),
        ("b", 35, 10, [4, 7]),
        ("c", 44, 14, [3, 8, 11]),
    ]:
        m = np.arange(n_months + 1)
        visits.append(
            pd.DataFrame({"patient_id": pid, "day": m * 30.0, "alsfrs_r_total": start - m * 1.0})
        )
        injections.append(pd.DataFrame({"patient_id": pid, "day": np.array(inj) * 30.0}))
    return read_study(
        pd.concat(visits, ignore_index=True), pd.concat(injections, ignore_index=True)
    )


def test_no_noise_straight_lines_give_no_responders():
    # sigma = 0 and one true rate: every simulated rate equals the reference rate, so
    # improvement is 0 % everywhere and nobody responds (SPEC §6, §13).
    result = analyze(straight_line_study(), safety=False)
    null = simulate_null(result, 200, sigma=0.0, seed=1)
    assert list(null.columns) == list(NULL_COLUMNS)
    assert null["observed_responders"].tolist() == [0] * len(null)
    assert null["expected_responders"].tolist() == [0.0] * len(null)
    assert null["expected_high"].tolist() == [0.0] * len(null)
    assert null["p_value"].tolist() == [1.0] * len(null)  # every simulation has >= 0
    assert null["sigma"].iloc[0] == 0.0 and null["sigma_n_patients"].iloc[0] == 0
    # the true rates: every observed reference rate is 30.4375 / 30 points/month, so tau = 0
    assert null["true_rate_mean"].iloc[0] == pytest.approx(30.4375 / 30)
    assert null["true_rate_sd"].iloc[0] == 0.0
    # periods evaluable: 1-2 for a, b, c (3 patients)
    assert null.set_index("period").loc["1-2", "n_evaluable"] == 3


def test_same_seed_same_numbers_other_seed_other_numbers():
    result = analyze(load_demo())
    a = simulate_null(result, 300, seed=7)
    b = simulate_null(result, 300, seed=7)
    c = simulate_null(result, 300, seed=8)
    pd.testing.assert_frame_equal(a, b)
    assert not a["expected_responders"].equals(c["expected_responders"])
    # default seed: the settings' seed (0)
    pd.testing.assert_frame_equal(simulate_null(result, 50), simulate_null(result, 50, seed=0))


def test_sigma_recovered_from_a_cohort_with_known_sigma():
    # 200 patients, 5 run-in assessments each, sigma = 1.5, whole-point scores
    rng = np.random.default_rng(42)
    n, sigma = 200, 1.5
    rows, inj = [], []
    for p in range(n):
        days = np.arange(5) * MONTH
        rate = rng.normal(1.0, 0.3)
        score = np.floor(38 - rate * np.arange(5) + rng.normal(0, sigma, 5) + 0.5)
        rows.append(pd.DataFrame({"patient_id": str(p), "day": days, "alsfrs_r_total": score}))
        inj.append(pd.DataFrame({"patient_id": [str(p)], "day": [days[-1]]}))
    visits, injections = pd.concat(rows), pd.concat(inj)
    est, n_used = estimate_sigma(visits, injections)
    assert n_used == 200
    assert est == pytest.approx(1.5, rel=0.10)


def test_sigma_by_hand():
    # Run-in 40, 38, 37 at days 0, 30, 60 (first injection day 60): least-squares line
    # 38.333 - 0.05 (day - 30), residuals 1/6, -1/3, 1/6, RSS 1/6, n - 2 = 1 degree of
    # freedom. Whole numbers: the rounding variance 1/12 is removed: sqrt(1/12).
    v = pd.DataFrame(
        {
            "patient_id": ["a"] * 4,
            "day": [0.0, 30.0, 60.0, 90.0],
            "alsfrs_r_total": [40, 38, 37, 30.0],
        }
    )
    i = pd.DataFrame({"patient_id": ["a"], "day": [60.0]})
    assert estimate_sigma(v, i) == (pytest.approx(np.sqrt(1 / 12)), 1)
    # not whole numbers (40.5): no correction. Mean 38.5, slope -(−30·2+30·−1.5)/1800 =
    # -0.058333, residuals 0.25, -0.5, 0.25: RSS 0.375
    v2 = v.assign(alsfrs_r_total=[40.5, 38.0, 37.0, 30.5])
    assert estimate_sigma(v2, i)[0] == pytest.approx(np.sqrt(0.375))
    # patient b with two run-in assessments does not count (needs 3)
    vb = pd.concat(
        [
            v,
            pd.DataFrame(
                {"patient_id": ["b"] * 2, "day": [0.0, 40.0], "alsfrs_r_total": [40.0, 35]}
            ),
        ]
    )
    ib = pd.concat([i, pd.DataFrame({"patient_id": ["b"], "day": [40.0]})])
    assert estimate_sigma(vb, ib)[1] == 1


def test_sigma_not_estimable_is_a_clear_error():
    v = pd.DataFrame(
        {"patient_id": ["a"] * 3, "day": [0.0, 60.0, 120.0], "alsfrs_r_total": [40.0, 38, 37]}
    )
    i = pd.DataFrame({"patient_id": ["a"], "day": [60.0]})
    with pytest.raises(InputError, match="give sigma yourself"):
        estimate_sigma(v, i)


def test_true_rate_spread_is_observed_spread_minus_noise():
    # Observed reference rates 0.5, 1.0, 1.5 (run-in of 3 months each), sigma = 1, whole
    # scores: per-score variance s² = 1 + 1/12 = 13/12; noise of an endpoints rate over 3
    # months = 2 s² / 9 = 0.240741; var(observed) = 0.25 (ddof 1);
    # tau² = 0.25 - 0.240741 = 0.009259 (SPEC §13, empirical Bayes).
    r = pd.DataFrame(
        {
            "patient_id": list("abc"),
            "period": ["reference"] * 3,
            "months": [3.0] * 3,
            "rate": [0.5, 1.0, 1.5],
        }
    )
    v = pd.DataFrame(
        {"patient_id": list("abc"), "day": [0.0] * 3, "alsfrs_r_total": [40.0, 41, 42]}
    )
    i = pd.DataFrame({"patient_id": list("abc"), "day": [3 * MONTH] * 3})
    mu, tau = true_rate_distribution(r, v, i, 1.0)
    assert mu == pytest.approx(1.0)
    assert tau == pytest.approx(np.sqrt(0.25 - 2 * (13 / 12) / 9))
    # noise larger than the spread: the floor, a tenth of the observed SD
    mu, tau = true_rate_distribution(r, v, i, 3.0)
    assert tau == pytest.approx(0.05)


def test_demo_observed_15_and_expected_within_cohort():
    result = analyze(load_demo())
    null = simulate_null(result, 300).set_index("period")
    row = null.loc["1-2"]
    assert row["observed_responders"] == 15 and row["n_evaluable"] == 19
    assert 0 <= row["expected_low"] <= row["expected_responders"] <= row["expected_high"] <= 19
    assert row["n_simulations"] == 300
    assert 0 <= row["p_value"] <= 1
    # 15/19 is far beyond what noise gives in this demo: fewer than 15 in most simulations
    assert row["expected_high"] < 15
    assert null.loc["whole", "observed_absolute_responders"] == int(
        result.summary.set_index("period").loc["whole", "n_absolute_responders"]
    )


@pytest.mark.parametrize(
    "overrides",
    [{}, {"method": "ols"}, {"reference": "onset"}, {"threshold_pct": 10, "inclusive": True}],
)
def test_fast_path_agrees_with_the_engine(overrides):
    # the same simulated scores classified by compute_periods + classify (every simulation
    # stacked as patients "{sim}:{patient}") and by the matrix path
    result = analyze(load_demo(), **overrides)
    engine = engine_null_counts(result, 40, seed=5)
    fast = engine_null_counts(result, 40, seed=5, engine=False)
    pd.testing.assert_frame_equal(engine, fast)


def test_attach_null_and_bad_arguments():
    result = analyze(load_demo())
    attached = attach_null(result, 20, sigma=1.0)
    assert result.null is None
    assert attached.null["sigma"].iloc[0] == 1.0
    assert dataclasses.replace(attached, null=None).summary is result.summary
    with pytest.raises(InputError, match="sigma must be zero or more"):
        simulate_null(result, 10, sigma=-1)
    with pytest.raises(InputError, match="n_simulations"):
        simulate_null(result, 0)


def test_speed_2000_simulations_of_100_patients():
    # target (issue #10): <= 2 s; the bound here leaves room for a busy CI machine
    assert benchmark_null(100, 2000, repeat=1) < 6
