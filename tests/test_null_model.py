"""Responders expected with no treatment effect (SPEC §13): hand-worked checks."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from msc_notebooks import InputError, analyze, load_demo, read_study
from msc_notebooks.null_model import (
    DEFAULT_RATE_CHANGE,
    NULL_COLUMNS,
    _design,
    _draw_counts,
    attach_null,
    estimate_rate_change,
    estimate_sigma,
    no_effect_sentence,
    null_parameters,
    simulate_null,
    true_rate_distribution,
)
from msc_notebooks.progression import compute_periods
from msc_notebooks.responders import classify
from msc_notebooks.settings import Settings
from msc_notebooks.synthetic import natural_history_cohort

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


# version 0.1's columns, as the header of its null_summary.csv (taken from version 0.1's
# NULL_COLUMNS): kept, in this order (issue #13: add, do not rename)
OLD_COLUMNS = tuple(
    (Path(__file__).parent / "golden" / "null_summary_v0.1_header.csv")
    .read_text()
    .strip()
    .split(",")
)


def test_no_noise_straight_lines_constant_rate_gives_no_responders():
    # sigma = 0 and one true rate: under the constant-rate model every simulated rate
    # equals the reference rate, improvement is 0 % and nobody responds (SPEC §6, §13).
    result = analyze(straight_line_study(), safety=False)
    null = simulate_null(result, 200, sigma=0.0, seed=1)
    assert list(null.columns[: len(OLD_COLUMNS)]) == list(OLD_COLUMNS)
    assert list(null.columns) == list(NULL_COLUMNS)
    assert null["observed_responders"].tolist() == [0] * len(null)
    assert null["expected_responders_constant"].tolist() == [0.0] * len(null)
    assert null["expected_high_constant"].tolist() == [0] * len(null)
    # every one of the m = 200 simulations reaches 0: p = (200 + 1) / (200 + 1) = 1
    assert null["p_value"].tolist() == [1.0] * len(null)
    assert null["p_value_constant"].tolist() == [1.0] * len(null)
    assert null["sigma"].iloc[0] == 0.0 and null["sigma_n_patients"].iloc[0] == 0
    assert null["sigma_source"].iloc[0] == "user"
    # the true rates: every observed reference rate is 30.4375 / 30 points/month, so tau = 0
    assert null["true_rate_mean"].iloc[0] == pytest.approx(30.4375 / 30)
    assert null["true_rate_sd"].iloc[0] == 0.0
    # with the default change of rate between periods, rates differ: responders appear
    assert null["expected_responders"].iloc[0] > 0
    assert null.set_index("period").loc["1-2", "n_evaluable"] == 3
    # ... and with the change set to zero by the user the two models agree
    zero = simulate_null(
        result, 200, sigma=0.0, seed=1, rate_change_sd=0.0, rate_change_diffusion=0.0
    )
    assert zero["expected_responders"].tolist() == [0.0] * len(zero)
    assert (
        zero["rate_change_source"].iloc[0].endswith("user: rate_change_sd, rate_change_diffusion")
    )


def test_p_value_is_b_plus_1_over_m_plus_1_and_ranges_are_whole_counts():
    # SPEC §13: p = (b + 1)/(m + 1), b of m simulations reaching the observed count;
    # the 2.5 / 97.5 % quantiles as whole counts (smallest k with F(k) >= q).
    result = analyze(load_demo())
    m = 400
    null = simulate_null(result, m, seed=3).set_index("period")
    design = _design(result)
    params = null_parameters(result)
    counts, _, n_eval = _draw_counts(design, params, m, np.random.default_rng(3))
    for j, period in enumerate(design["periods"]):
        c = np.sort(counts[:, j])
        obs = null.loc[period, "observed_responders"]
        b = int((c >= obs).sum())
        assert null.loc[period, "p_value"] == pytest.approx((b + 1) / (m + 1))
        assert null.loc[period, "p_value"] >= 1 / (m + 1)  # never 0
        # inverted CDF by hand: the value at sorted position ceil(q m) - 1
        assert null.loc[period, "expected_low"] == c[int(np.ceil(0.025 * m)) - 1]
        assert null.loc[period, "expected_high"] == c[int(np.ceil(0.975 * m)) - 1]
        assert null.loc[period, "mean_simulated_evaluable"] == pytest.approx(n_eval[:, j].mean())
    for col in ("expected_low", "expected_high", "expected_low_constant", "expected_high_constant"):
        assert pd.api.types.is_integer_dtype(null[col])


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


def test_sigma_floored_at_rounding_sd_by_hand():
    # README Decisions (SPEC §13): Sheppard's correction subtracts h^2/12 = 1/12; when
    # what is left is below 1/12 the variance is floored at 1/12 (sigma 0.2887).
    # Run-in 10, 10, 10, 9 at days 0, 30, 60, 90 (first injection day 90): x - mean =
    # -45, -15, 15, 45 (Sxx 4500), y - mean (9.75) = .25, .25, .25, -.75 (Syy 0.75),
    # Sxy = -11.25 - 3.75 + 3.75 - 33.75 = -45; RSS = 0.75 - 45^2/4500 = 0.3, 2 degrees of
    # freedom: 0.15; corrected 0.15 - 1/12 = 0.0667 < 1/12: floored, sqrt(1/12)
    v = pd.DataFrame(
        {"patient_id": ["a"] * 5, "day": [0.0, 30, 60, 90, 120], "bulbar": [10, 10, 10, 9, 5.0]}
    )
    i = pd.DataFrame({"patient_id": ["a"], "day": [90.0]})
    assert estimate_sigma(v, i, "bulbar") == (pytest.approx(np.sqrt(1 / 12)), 1)
    # all flat (RSS 0): floored too, never 0
    flat = v.assign(bulbar=[10, 10, 10, 10, 5.0])
    assert estimate_sigma(flat, i, "bulbar")[0] == pytest.approx(np.sqrt(1 / 12))
    # 40, 37, 37, 34: y - mean (37) = 3, 0, 0, -3, Syy 18, Sxy = -135 - 135 = -270,
    # RSS = 18 - 270^2/4500 = 1.8, /2 = 0.9; corrected 0.9 - 1/12 = 0.8167: unchanged
    wide = v.assign(bulbar=[40, 37, 37, 34, 30.0])
    assert estimate_sigma(wide, i, "bulbar")[0] == pytest.approx(np.sqrt(0.9 - 1 / 12))
    # continuous scores (not whole numbers): no correction, no floor; an exact line is 0
    line = v.assign(bulbar=[10.5, 10.0, 9.5, 9.0, 5.0])
    assert estimate_sigma(line, i, "bulbar")[0] == pytest.approx(0.0, abs=1e-9)


def test_floored_sigma_is_reported_as_its_source():
    # the demo's respiratory domain: its run-in residual variance (independent
    # np.polyfit per patient, >= 3 run-in assessments) is below 1/6, so the corrected
    # value is below 1/12 and the model says it floored sigma
    study = load_demo()
    t1 = study.injections.groupby("patient_id")["day"].min()
    rss = df = 0.0
    visits = study.visits.dropna(subset=["respiratory"])
    for pid, g in visits[visits["patient_id"].isin(t1.index)].groupby("patient_id"):
        g = g[g["day"] <= t1[pid]]
        if len(g) >= 3:
            coef = np.polyfit(g["day"], g["respiratory"], 1)
            rss += float(((g["respiratory"] - np.polyval(coef, g["day"])) ** 2).sum())
            df += len(g) - 2
    assert rss / df < 1 / 6
    result = analyze(study, Settings(outcome="respiratory"))
    p = null_parameters(result)
    assert p.sigma == pytest.approx(np.sqrt(1 / 12))
    assert "floored at the rounding SD 0.29" in p.sigma_source
    # a user's sigma is the user's: no floor
    assert null_parameters(result, sigma=0.0).sigma == 0.0


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


def test_demo_observed_and_both_models():
    result = analyze(load_demo())
    null = simulate_null(result, 300).set_index("period")
    row = null.loc["1-2"]
    assert row["observed_responders"] == 15 and row["n_evaluable"] == 19
    assert 0 <= row["expected_low"] <= row["expected_responders"] <= row["expected_high"] <= 19
    assert row["n_simulations"] == 300
    assert 0 < row["p_value"] <= 1
    # the default model (rates change between periods) expects more responders than the
    # constant-rate model, never fewer
    assert row["expected_responders"] > row["expected_responders_constant"]
    assert row["sensitivity"] in {
        "above the range of both models",
        "above the constant-rate model's range only: within what natural changes of decline give",
        "within the range of both models",
    }
    assert null.loc["whole", "observed_absolute_responders"] == int(
        result.summary.set_index("period").loc["whole", "n_absolute_responders"]
    )
    assert row["rate_change_sd"] == pytest.approx(np.sqrt(DEFAULT_RATE_CHANGE[0]))
    assert row["rate_change_diffusion"] == DEFAULT_RATE_CHANGE[1]


def _engine_counts(y, a, study, s, periods):
    """Test oracle: the counts of one chunk of simulated scores through the engine itself
    (every simulation's patients as patients "{sim}:{patient}" in one
    compute_periods/classify call)."""
    m = y.shape[0]
    pid = a["patient_id"].astype(str).to_numpy()
    sim = np.repeat(np.arange(m), len(a))
    ids = pd.Series(sim.astype(str)).str.cat(pd.Series(np.tile(pid, m)), sep=":")
    visits = pd.DataFrame(
        {"patient_id": ids.to_numpy(), "day": np.tile(a["day"].to_numpy(), m), s.outcome: y.ravel()}
    )
    inj = study.injections[study.injections["patient_id"].isin(a["patient_id"].unique())]
    inj_ids = pd.Series(np.repeat(np.arange(m), len(inj)).astype(str)).str.cat(
        pd.Series(np.tile(inj["patient_id"].astype(str).to_numpy(), m)), sep=":"
    )
    injections = pd.DataFrame({"patient_id": inj_ids.to_numpy(), "day": np.tile(inj["day"], m)})
    patients = None
    if study.patients is not None and "onset_day" in study.patients:
        pat = study.patients
        pat_ids = pd.Series(np.repeat(np.arange(m), len(pat)).astype(str)).str.cat(
            pd.Series(np.tile(pat["patient_id"].astype(str).to_numpy(), m)), sep=":"
        )
        patients = pd.DataFrame(
            {"patient_id": pat_ids.to_numpy(), "onset_day": np.tile(pat["onset_day"], m)}
        )
    table = classify(compute_periods(visits, injections, patients, s), s)
    ev = table[table["evaluable"].astype(bool) & table["period"].isin(periods)]
    sim_of = ev["patient_id"].str.split(":", n=1).str[0].astype(int).to_numpy()
    col = pd.Index(periods).get_indexer(ev["period"])
    counts = np.zeros((m, len(periods)), dtype=np.int64)
    counts_abs = np.zeros((m, len(periods)), dtype=np.int64)
    np.add.at(counts, (sim_of, col), ev["responder"].fillna(False).astype(int).to_numpy())
    np.add.at(
        counts_abs, (sim_of, col), ev["absolute_responder"].fillna(False).astype(int).to_numpy()
    )
    return counts, counts_abs


@pytest.mark.parametrize(
    "overrides",
    [{}, {"method": "ols"}, {"reference": "onset"}, {"threshold_pct": 10, "inclusive": True}],
)
def test_fast_path_agrees_with_the_engine(overrides):
    # the same simulated scores (every assessment simulated) classified by compute_periods
    # + classify and by the matrix path
    result = analyze(load_demo(), **overrides)
    design = _design(result, all_assessments=True)
    params = null_parameters(result)
    fast, fast_abs, _ = _draw_counts(design, params, 30, np.random.default_rng(5))
    eng, eng_abs, _ = _draw_counts(
        design,
        params,
        30,
        np.random.default_rng(5),
        scores_hook=lambda y: _engine_counts(
            y, design["a"], result.study, result.settings, design["periods"]
        ),
    )
    np.testing.assert_array_equal(fast, eng)
    np.testing.assert_array_equal(fast_abs, eng_abs)
    assert fast.sum() > 0


def test_attach_null_and_bad_arguments():
    result = analyze(load_demo())
    attached = attach_null(result, 20, sigma=1.0)
    assert result.null is None
    assert attached.null["sigma"].iloc[0] == 1.0
    assert dataclasses.replace(attached, null=None).summary is result.summary
    with pytest.raises(InputError, match="sigma must be zero or more"):
        simulate_null(result, 10, sigma=-1)
    with pytest.raises(InputError, match="rate_change_sd must be zero or more"):
        simulate_null(result, 10, rate_change_sd=-0.1)
    with pytest.raises(InputError, match="n_simulations"):
        simulate_null(result, 0)


def own_model_natural_history(n, a, c, sigma=1.0, seed=0, cuts=None):
    """Untreated patients built exactly as the no-effect model says, with known a, c:
    visits at day round(k * MONTH), k = 0..12; each patient's rate changes at the days the
    virtual injections will fall on (trial patient A: injections at visits 3, 4, 5, 6,
    i.e. 1-month periods; trial patient B: visits 3 and 12, a 9-month period). In a
    segment of m months the rate is b + e, e ~ N(0, a/2 + c/m) (module docstring)."""
    rng = np.random.default_rng(seed)
    day = np.round(np.arange(13) * MONTH)
    cuts = cuts or {0: [0, 3, 4, 5, 6, 12], 1: [0, 3, 12]}  # segment bounds, visit numbers
    rows = []
    for p in range(n):
        bounds = cuts[p % 2]
        rate = np.empty(12)
        for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
            m = (day[hi] - day[lo]) / MONTH
            rate[lo:hi] = 0.8 + rng.normal(0, np.sqrt(a / 2 + c / m))
        b = rng.normal(0.0, 0.3)
        step = (rate + b) * np.diff(day) / MONTH
        true = 40 - np.concatenate([[0.0], np.cumsum(step)])
        score = np.clip(np.floor(true + rng.normal(0, sigma, 13) + 0.5), 0, 48)
        rows.append(pd.DataFrame({"patient_id": f"P{p:05d}", "day": day, "alsfrs_r_total": score}))
    return read_study(pd.concat(rows, ignore_index=True))


def two_schedule_trial():
    """Trial patients A (injections at visits 3, 4, 5, 6) and B (visits 3 and 12)."""
    day = np.round(np.arange(13) * MONTH)
    v = pd.DataFrame(
        {
            "patient_id": ["A"] * 13 + ["B"] * 13,
            "day": np.tile(day, 2),
            "alsfrs_r_total": np.tile(40 - np.arange(13.0), 2),
        }
    )
    i = pd.DataFrame({"patient_id": ["A"] * 4 + ["B"] * 2, "day": day[[3, 4, 5, 6, 3, 12]]})
    return analyze(read_study(v, i), safety=False)


def test_rate_change_estimated_from_natural_history_with_known_truth():
    # truth a = 0.40 (points/month)^2, c = 1.30 points^2/month, sigma = 1.0 (SPEC §13's
    # defaults); virtual injections at the trial's schedules: pairs with 1/m0 + 1/m1 from
    # 1/3 + 1/9 = 0.44 to 1 + 1 = 2 per month, enough to tell a from c
    nh = own_model_natural_history(4000, 0.40, 1.30, seed=1)
    est = estimate_rate_change(nh, two_schedule_trial()).iloc[0]
    assert est["fit"] == "a and c"
    assert est["n_patients"] == 4000
    # A: ref|1-2, 1-2|2-3, 2-3|3-4 (after-last is not a treatment period); B: ref|1-2
    assert est["n_pairs"] == 2000 * 3 + 2000 * 1
    assert est["sigma"] == pytest.approx(1.0, abs=0.1)
    assert est["rate_change_sd"] ** 2 == pytest.approx(0.40, abs=0.2)
    assert est["rate_change_diffusion"] == pytest.approx(1.30, abs=0.25)
    # no change of rate at all: both near 0
    flat = estimate_rate_change(
        own_model_natural_history(4000, 0.0, 0.0, seed=2), two_schedule_trial()
    )
    assert flat.iloc[0]["rate_change_sd"] ** 2 < 0.1
    assert flat.iloc[0]["rate_change_diffusion"] < 0.15


def test_rate_change_size_only_with_one_period_length():
    # one schedule (3-month periods): only the size is estimated, with the defaults' ratio
    # c / a = 1.30 / 0.40; truth 1.5 x the defaults -> a = 0.60, c = 1.95, and the extra
    # variance of two 3-month periods a + c (2/3) = 1.90
    cuts = {0: [0, 3, 6, 9, 12], 1: [0, 3, 6, 9, 12]}  # the protocol's 3-month periods
    nh = own_model_natural_history(4000, 0.60, 1.95, seed=3, cuts=cuts)
    est = estimate_rate_change(nh, protocol=(91, 3, 4)).iloc[0]
    assert est["fit"] == "size only (periods of one length)"
    a, c = est["rate_change_sd"] ** 2, est["rate_change_diffusion"]
    assert c / a == pytest.approx(1.30 / 0.40)
    assert a == pytest.approx(0.60, abs=0.15)
    assert a + c * (2 / 3) == pytest.approx(1.90, abs=0.3)


def test_natural_history_given_to_simulate_null_sets_the_source():
    result = analyze(load_demo())
    nh = natural_history_cohort(400, seed=5)
    null = simulate_null(result, 100, natural_history=nh)
    src = null["rate_change_source"].iloc[0]
    assert src.startswith("natural history: ") and "patients" in src
    params = null_parameters(result, natural_history=nh)
    assert null["rate_change_sd"].iloc[0] == params.rate_change_sd


def test_no_effect_cohort_from_another_generator_falls_in_range():
    # 150 untreated patients of the synthetic natural-history generator (rates that wander
    # smoothly, t-distributed noise, floor at 0: not the kit's model), given virtual
    # injections every 3 months, analysed as a trial: the observed responder count of
    # period 1-2 lies inside the default model's 2.5-97.5 % range
    study = natural_history_cohort(150, seed=21)
    from msc_notebooks.natural_history import natural_history_result

    res = natural_history_result(study, protocol=(91, 3, 3))
    null = simulate_null(res, 500, seed=2).set_index("period")
    for period in ("1-2", "2-3"):
        row = null.loc[period]
        assert row["expected_low"] <= row["observed_responders"] <= row["expected_high"], period
    # the constant-rate model expects fewer: the change of rate matters
    assert (null["expected_responders"] > null["expected_responders_constant"]).all()


def test_other_outcomes_use_their_own_range_and_rounding():
    result = analyze(load_demo(), outcome="fvc_pct")
    p = null_parameters(result)
    # FVC % predicted: continuous (not whole points), 0 and up, no default rate change
    assert p.whole_points is False and p.outcome_low == 0 and p.outcome_high == np.inf
    assert p.rate_change_sd == 0 and p.rate_change_source.startswith("no default for fvc_pct")
    null = simulate_null(result, 50, rate_change_sd=0.5, outcome_range=(0, 150))
    assert null["outcome"].iloc[0] == "fvc_pct" and null["outcome_high"].iloc[0] == 150
    assert null["rate_change_source"].iloc[0].endswith("user: rate_change_sd")


def test_rate_trend_faster_decline_later_means_fewer_responders():
    # decline speeding up by 2 points/month per year: later periods decline faster than
    # the reference, so fewer "> 25 % slower" periods without any treatment
    result = analyze(load_demo())
    base = simulate_null(result, 300, seed=4).set_index("period")
    faster = simulate_null(result, 300, seed=4, rate_trend=2.0).set_index("period")
    assert faster.loc["whole", "expected_responders"] < base.loc["whole", "expected_responders"]
    assert faster["rate_trend"].iloc[0] == 2.0


def test_no_effect_sentence_reads_the_table():
    result = analyze(load_demo())
    null = simulate_null(result, 200, seed=1)
    row = null.set_index("period").loc["1-2"]
    text = no_effect_sentence(null, "1-2")
    assert text.startswith("With no treatment effect and the natural variation of ALS decline, ")
    assert f"{row.expected_low}–{row.expected_high} patients would be counted" in text
    assert f"19 evaluable here, {row.mean_simulated_evaluable:.1f} on average" in text


def test_simulated_evaluable_denominator_by_hand():
    # SPEC §13: each simulated cohort applies the evaluability rule to its own reference
    # rates, so its responder count is out of its own evaluable patients, and every face
    # states both denominators. Four patients, continuous scores, visits at months 0, 3,
    # 6, 9, injections at months 3 and 6; observed run-in rates 1, 3, 0, 0 points/month:
    # 2 evaluable (SPEC §7: a reference rate <= 0 is not). With sigma 0 and no rate change
    # the true-rate SD is the observed one (SPEC §13, noise and change parts 0):
    # mean 1, var = (0 + 4 + 1 + 1) / 3 = 2. A simulated patient is evaluable when its
    # drawn rate b ~ N(1, 2) is > 0: E[evaluable] = 4 * Phi(1 / sqrt(2)) = 3.041.
    from scipy.stats import norm

    days = np.round(np.array([0, 3, 6, 9]) * MONTH)  # whole days; scores on exact lines
    rates = {"A": 1.0, "B": 3.0, "C": 0.0, "D": 0.0}
    visits = pd.concat(
        pd.DataFrame({"patient_id": p, "day": days, "alsfrs_r_total": 30.25 - r * days / MONTH})
        for p, r in rates.items()
    ).reset_index(drop=True)
    inj = pd.DataFrame({"patient_id": list("AABBCCDD"), "day": [days[1], days[2]] * 4})
    result = analyze(read_study(visits, inj))
    null = simulate_null(
        result,
        4000,
        seed=3,
        sigma=0.0,
        rate_change_sd=0.0,
        rate_change_diffusion=0.0,
        whole_points=False,
        outcome_range=(-1000.0, 1000.0),
    ).set_index("period")
    assert null.loc["1-2", "true_rate_mean"] == pytest.approx(1.0)
    assert null.loc["1-2", "true_rate_sd"] == pytest.approx(np.sqrt(2.0))
    assert null.loc["1-2", "n_evaluable"] == 2
    expected = 4 * norm.cdf(1 / np.sqrt(2))  # 3.041; SD of the mean 0.014
    assert null.loc["1-2", "mean_simulated_evaluable"] == pytest.approx(expected, abs=0.06)
    text = no_effect_sentence(null.reset_index(), "1-2")
    assert "2 evaluable here, 3.0 on average in the simulated cohorts" in text


def test_report_and_lesson_show_the_expectation_in_words():
    from pathlib import Path

    from msc_notebooks.report import html_report

    result = attach_null(analyze(load_demo()), 100)
    page = html_report(result, figures=False)
    assert "Responders expected with no treatment effect (simulated cohorts" in page
    assert "observed count above the range of both models." in page
    lesson = (
        Path(__file__).resolve().parents[1]
        / "templates/msc-teaching/{{cookiecutter._folder_name}}/lesson.ipynb"
    ).read_text()
    # the real natural-history figure (SPEC §13: 773 of 1,463 at 3-monthly virtual
    # injections), described in words, not as a SPEC section number
    assert "773 of 1,463" in lesson and "NullReading(null)" in lesson
    # the lesson reads each period with the CLI's and the report's sentence (one place)
    from msc_notebooks.null_model import no_effect_sentences
    from msc_notebooks.teaching import null_sentences

    lines, paragraphs = no_effect_sentences(result.null), null_sentences(result.null)
    assert len(lines) == len(paragraphs) == 5  # the demo's periods, all with evaluable patients
    for line, paragraph in zip(lines, paragraphs, strict=True):
        assert line in paragraph
    assert "SPEC §13" not in lesson
