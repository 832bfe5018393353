"""Matched natural-history controls (SPEC §15), checked by hand and against known truth."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matched_cohorts import natural_history_study, treated_cohort, write_proact

from msc_notebooks import InputError, Settings, analyze, read_study
from msc_notebooks.matched_controls import (
    BALANCE_COLUMNS,
    MATCHED_COLUMNS,
    _weighted_median,
    balance_table,
    candidate_anchors,
    compare_matched,
    control_periods,
    match_anchors,
    match_controls,
)

MD = 365.25 / 12  # SPEC §2


def _anchor_table(rows):
    return pd.DataFrame(
        rows, columns=["patient_id", "anchor_day", "reference_rate", "score", "months_from_onset"]
    )


# --- candidate anchors (SPEC §4 run-in and onset rules, §12 follow-up) ---------------------


def test_anchors_run_in_rules_by_hand():
    # patient 1: days 0, 20, 60, 120, 150. Day 0 and 20: no assessment 28 days before
    # (run-in too short); day 60: run-in 0->60, follow-up 120 -> anchor; day 120: follow-up
    # 150 is 30 days later (>= 28) -> anchor; day 150: nothing after -> not.
    # patient 2: days 0, 30 only: day 30 has a run-in but no follow-up -> no anchor.
    v = pd.DataFrame(
        {
            "patient_id": ["1"] * 5 + ["2"] * 2,
            "day": [0, 20, 60, 120, 150, 0, 30],
            "alsfrs_r_total": [40, 40, 38, 37, 37, 30, 29],
        }
    )
    a = candidate_anchors(read_study(v))
    assert a[["patient_id", "anchor_day"]].values.tolist() == [["1", 60.0], ["1", 120.0]]
    # reference rates (run-in from the first assessment, endpoints): (40-38)/(60/MD) and
    # (40-37)/(120/MD)
    assert a.reference_rate.tolist() == pytest.approx([2 / (60 / MD), 3 / (120 / MD)])
    assert a.score.tolist() == [38.0, 37.0]
    assert a.months_from_onset.isna().all()  # no onset given


def test_anchors_onset_reference_by_hand():
    # onset reference (SPEC §4): (48 - score) / months from onset. Onset 10 months
    # (304.375 days) before day 0. Day 0 qualifies now (no run-in needed), day 150 not
    # (no follow-up). Patient 2 has no onset: no anchor under this reference.
    v = pd.DataFrame(
        {
            "patient_id": ["1"] * 4 + ["2"] * 3,
            "day": [0, 60, 120, 150, 0, 60, 120],
            "alsfrs_r_total": [40, 38, 37, 37, 30, 29, 28],
        }
    )
    p = pd.DataFrame({"patient_id": ["1", "2"], "onset_day": [-304.375, np.nan]})
    a = candidate_anchors(read_study(v, None, p), Settings(reference="onset"))
    assert a.anchor_day.tolist() == [0.0, 60.0, 120.0]
    months = np.array([304.375, 364.375, 424.375]) / MD
    assert a.reference_rate.to_numpy() == pytest.approx(np.array([8, 10, 11]) / months)
    assert a.months_from_onset.to_numpy() == pytest.approx(months)


def test_anchors_without_scores_is_an_input_error():
    # the trial analyses FVC; the natural history has no FVC column
    v = pd.DataFrame({"patient_id": ["1"], "day": [0], "alsfrs_r_total": [40]})
    with pytest.raises(InputError, match="no 'fvc_pct' scores"):
        candidate_anchors(read_study(v), Settings(outcome="fvc_pct"))


# --- matching (SPEC §15): standardised distances, one anchor per patient, caliper ------------

ANCHORS = _anchor_table(
    [
        ("A", 30.0, 1.0, 40.0, 10.0),
        ("B", 30.0, 1.0, 40.0, np.nan),
        ("C", 60.0, 2.0, 36.0, 14.0),
        ("D", 90.0, 0.0, 44.0, 12.0),
    ]
)
# SDs over the anchors (ddof 1): rate of (1, 1, 2, 0): variance 2/3; score of (40, 40, 36,
# 44): variance 32/3; months of (10, 14, 12): variance 4, SD 2.
SD_RATE, SD_SCORE, SD_MONTHS = np.sqrt(2 / 3), np.sqrt(32 / 3), 2.0


def test_matching_with_onset_by_hand():
    # treated (rate 1, score 40, 12 months): onset known, so B (no onset) is no candidate.
    # d(A) = |10-12|/2 = 1; d(D) = sqrt((1/SD_RATE)^2 + (4/SD_SCORE)^2 + 0) = sqrt(3);
    # d(C) = sqrt(1.5 + 1.5 + 1) = 2.
    t = pd.DataFrame(
        {"patient_id": ["T"], "reference_rate": [1.0], "score": [40.0], "months_from_onset": [12.0]}
    )
    m = match_anchors(t, ANCHORS, k=5, caliper=None)
    assert m.control_id.tolist() == ["A", "D", "C"]
    d_d = np.sqrt((1 / SD_RATE) ** 2 + (4 / SD_SCORE) ** 2)
    assert m.distance.tolist() == pytest.approx([1.0, d_d, 2.0])
    assert d_d == pytest.approx(np.sqrt(3))
    assert m["rank"].tolist() == [1, 2, 3]
    # k = 2 keeps the two nearest; a caliper of 1.8 SD drops C (2.0 > 1.8)
    assert match_anchors(t, ANCHORS, k=2, caliper=None).control_id.tolist() == ["A", "D"]
    assert match_anchors(t, ANCHORS, k=5, caliper=1.8).control_id.tolist() == ["A", "D"]
    # a caliper below every distance: no match at all
    assert match_anchors(t, ANCHORS, k=5, caliper=0.9).empty


def test_matching_without_onset_ties_in_id_order():
    # onset unknown: rate and score only. A and B at distance 0 (tie: id order A, B); C and D
    # both at sqrt(1.5 + 1.5) (tie: C, D).
    t = pd.DataFrame(
        {
            "patient_id": ["U"],
            "reference_rate": [1.0],
            "score": [40.0],
            "months_from_onset": [np.nan],
        }
    )
    m = match_anchors(t, ANCHORS, k=5, caliper=None)
    assert m.control_id.tolist() == ["A", "B", "C", "D"]
    assert m.distance.tolist() == pytest.approx([0, 0, np.sqrt(3), np.sqrt(3)])


def test_one_anchor_per_untreated_patient_and_reuse_across_treated():
    # patient X has two anchors; only its nearest (ties: the earlier day) is used. Two
    # treated patients may share the same control (matching with replacement).
    a = _anchor_table(
        [
            ("X", 30.0, 1.0, 40.0, np.nan),
            ("X", 60.0, 1.0, 40.0, np.nan),  # same distance as day 30: day 30 wins
            ("X", 90.0, 1.1, 40.0, np.nan),
            ("Y", 30.0, 3.0, 30.0, np.nan),
        ]
    )
    t = pd.DataFrame(
        {
            "patient_id": ["T1", "T2"],
            "reference_rate": [1.0, 1.0],
            "score": [40.0, 40.0],
            "months_from_onset": [np.nan, np.nan],
        }
    )
    m = match_anchors(t, a, k=5, caliper=None)
    assert m[["treated_id", "control_id", "anchor_day"]].values.tolist() == [
        ["T1", "X", 30.0],
        ["T1", "Y", 30.0],
        ["T2", "X", 30.0],
        ["T2", "Y", 30.0],
    ]


def test_matching_settings_are_checked():
    t = pd.DataFrame(
        {"patient_id": ["T"], "reference_rate": [1.0], "score": [40.0], "months_from_onset": [1.0]}
    )
    with pytest.raises(InputError, match="at least 1"):
        match_anchors(t, ANCHORS, k=0)
    with pytest.raises(InputError, match="caliper"):
        match_anchors(t, ANCHORS, caliper=-1)


# --- the same rules for the controls (SPEC §3-6) -------------------------------------------


def test_control_virtual_injections_and_rates_by_hand():
    # treated T: injections at days 90 and 180 (offsets 0 and 90).
    # control C: assessments 0 (40), 60 (38), 120 (37), 210 (33), 240 (32); anchor 120 ->
    # virtual injections 120 and 210.
    # reference (run-in 0 -> 120): (40 - 37) / (120 / MD); 1-2: (37 - 33) / (90 / MD);
    # improvement 100 (1 - (4/90) / (3/120)) = -77.78 % (faster decline: not a responder);
    # after-last 210 -> 240 (30 days >= 28): (33 - 32) / (30 / MD).
    tv = pd.DataFrame(
        {"patient_id": ["T"] * 4, "day": [0, 90, 180, 300], "alsfrs_r_total": [44, 41, 40, 38]}
    )
    trial = analyze(read_study(tv, pd.DataFrame({"patient_id": ["T"] * 2, "day": [90, 180]})))
    cv = pd.DataFrame(
        {
            "patient_id": ["C"] * 5,
            "day": [0, 60, 120, 210, 240],
            "alsfrs_r_total": [40, 38, 37, 33, 32],
        }
    )
    pairs = pd.DataFrame({"treated_id": ["T"], "control_id": ["C"], "anchor_day": [120.0]})
    c = control_periods(trial, read_study(cv), pairs).set_index("period")
    assert c.loc["reference", "rate"] == pytest.approx(3 / (120 / MD))
    assert c.loc["1-2", "rate"] == pytest.approx(4 / (90 / MD))
    assert c.loc["1-2", "improvement_pct"] == pytest.approx(100 * (1 - (4 / 90) / (3 / 120)))
    assert not c.loc["1-2", "responder"]
    assert c.loc["after-last", "rate"] == pytest.approx(1 / (30 / MD))
    assert c.loc["whole", "rate"] == pytest.approx(c.loc["1-2", "rate"])
    assert set(c.treated_id) == {"T"} and set(c.control_id) == {"C"}
    # anchor 60 -> second virtual injection at 150: no assessment within 14 days (120 and
    # 210 are 30 and 60 days away): 1-2 not evaluable, with the kit's reason
    pairs.loc[0, "anchor_day"] = 60.0
    c = control_periods(trial, read_study(cv), pairs).set_index("period")
    assert not c.loc["1-2", "evaluable"]
    assert c.loc["1-2", "reason"] == "no assessment within 14 days of injection 2"


def test_twin_controls_reproduce_the_treated_exactly():
    # the natural history holds exact copies of the treated patients' histories (days and
    # onset shifted by 1000): with k = 1 each treated patient's twin is its only match at
    # distance 0, the same rules give the same rates, and every difference is exactly 0.
    tr = treated_cohort(12, seed=5)
    v = tr.visits[["patient_id", "day", "alsfrs_r_total"]].copy()
    v["patient_id"] = "twin-" + v["patient_id"]
    v["day"] += 1000
    p = tr.patients[["patient_id", "onset_day"]].copy()
    p["patient_id"] = "twin-" + p["patient_id"]
    p["onset_day"] += 1000
    result = analyze(tr, safety=False)
    m = match_controls(result, read_study(v, None, p), k=1, caliper=0.01)
    assert (m.pairs.control_id == "twin-" + m.pairs.treated_id).all()
    assert (m.pairs.distance < 1e-9).all()  # 0 up to rounding of the shifted onset
    assert m.unmatched.empty
    s = m.summary
    assert (s.difference_pct == 0).all()
    assert (s.treated_median_improvement_pct == s.control_median_improvement_pct).all()
    assert (s.difference_ci_low == 0).all() and (s.difference_ci_high == 0).all()
    assert (s.n_treated == s.n_matched).all()
    # and the treated figures are the kit's own summary of the trial
    summ = result.summary.set_index("period")
    for _, row in s.iterrows():
        assert row.n_treated == summ.loc[row.period, "n_evaluable"]
        assert row.treated_responder_pct == pytest.approx(summ.loc[row.period, "responder_pct"])


# --- the comparison: pooled rates and bootstrap over treated patients ----------------------


def test_compare_all_responders_against_none():
    # every treated patient a responder (improvement 50 %), every control not (0 %): the
    # difference is 100 percentage points in every resample, the median difference 50.
    t = pd.DataFrame(
        {
            "patient_id": list("abc"),
            "period": ["1-2"] * 3,
            "evaluable": [True] * 3,
            "responder": [True] * 3,
            "improvement_pct": [50.0] * 3,
        }
    )
    c = pd.DataFrame(
        {
            "treated_id": list("aabbcc"),
            "period": ["1-2"] * 6,
            "evaluable": [True] * 6,
            "responder": [False] * 6,
            "improvement_pct": [0.0] * 6,
        }
    )
    r = compare_matched(t, c, list("abc"), 2, samples=300).iloc[0]
    assert (r.difference_pct, r.difference_ci_low, r.difference_ci_high) == (100, 100, 100)
    assert (r.median_difference_ci_low, r.median_difference_ci_high) == (50, 50)
    assert (r.n_treated, r.n_matched, r.n_unmatched) == (3, 6, 2)


def test_compare_excludes_not_evaluable_and_unmatched():
    # treated b is not evaluable; treated z is not in the matched ids (unmatched): neither
    # counts. Treated: a responder of 1 -> 100 %; controls of a and b evaluable: 1 of 3.
    t = pd.DataFrame(
        {
            "patient_id": ["a", "b", "z"],
            "period": ["1-2"] * 3,
            "evaluable": [True, False, True],
            "responder": [True, pd.NA, False],
            "improvement_pct": [40.0, np.nan, 0.0],
        }
    )
    c = pd.DataFrame(
        {
            "treated_id": ["a", "a", "b", "b"],
            "period": ["1-2"] * 4,
            "evaluable": [True, False, True, True],
            "responder": [True, pd.NA, False, False],
            "improvement_pct": [30.0, np.nan, 10.0, -5.0],
        }
    )
    r = compare_matched(t, c, ["a", "b"], 1, samples=100).iloc[0]
    assert r.treated_responder_pct == 100 and r.control_responder_pct == pytest.approx(100 / 3)
    assert r.control_median_improvement_pct == 10.0  # median of 30, 10, -5
    assert (r.n_treated, r.n_matched) == (1, 3)


def test_weighted_median_equals_numpy_median_of_the_resample():
    rng = np.random.default_rng(1)
    values = rng.normal(size=17)
    owner = rng.integers(0, 6, size=17)
    weights = rng.multinomial(6, np.full(6, 1 / 6), size=50)
    got = _weighted_median(values, owner, weights)
    for b in range(50):
        expanded = np.repeat(values, weights[b, owner])
        want = np.median(expanded) if len(expanded) else np.nan
        assert got[b] == pytest.approx(want, nan_ok=True)


# --- balance (standardised mean differences) ------------------------------------------------


def test_balance_by_hand():
    # treated rates 1, 3 (mean 2, var 2); pool 0, 1, 2 (mean 1, var 1): pooled SD
    # sqrt(1.5). k = 1: a (1) -> y (1), b (3) -> z (2): matched mean 1.5.
    # SMD before (2 - 1)/sqrt(1.5) = 0.8165, after (2 - 1.5)/sqrt(1.5) = 0.4082.
    t = pd.DataFrame(
        {
            "patient_id": ["a", "b"],
            "reference_rate": [1.0, 3.0],
            "score": [40.0, 40.0],
            "months_from_onset": [np.nan, np.nan],
        }
    )
    a = _anchor_table(
        [
            ("x", 1.0, 0.0, 40.0, np.nan),
            ("y", 1.0, 1.0, 40.0, np.nan),
            ("z", 1.0, 2.0, 40.0, np.nan),
        ]
    )
    b = balance_table(t, a, match_anchors(t, a, k=1, caliper=None)).set_index("variable")
    assert list(b.reset_index().columns) == list(BALANCE_COLUMNS)
    assert b.loc["reference_rate", "smd_before"] == pytest.approx(1 / np.sqrt(1.5))
    assert b.loc["reference_rate", "smd_after"] == pytest.approx(0.5 / np.sqrt(1.5))
    assert b.loc["reference_rate", "matched_mean"] == 1.5
    assert np.isnan(b.loc["score", "smd_before"])  # no spread at all: no SMD, not inf
    assert b.loc["months_from_onset", "n_treated"] == 0


# --- end to end, and against known truth ----------------------------------------------------


def test_unmatched_are_counted_with_reasons():
    nh = natural_history_study(60, seed=3)
    result = analyze(treated_cohort(10, seed=4), safety=False)
    m = match_controls(result, nh, k=3, caliper=0.05)
    n_matched = m.pairs.treated_id.nunique()
    assert n_matched + len(m.unmatched) == 10
    assert len(m.unmatched) > 0
    assert (m.summary.n_unmatched == len(m.unmatched)).all()
    assert m.unmatched.reason.str.contains("caliper").all()
    assert list(m.summary.columns) == list(MATCHED_COLUMNS)
    assert m.pairs.groupby("treated_id").size().max() <= 3
    # no treated patient gets the same untreated patient twice
    assert not m.pairs.duplicated(["treated_id", "control_id"]).any()
    assert (m.pairs.distance <= 0.05 + 1e-12).all()


@pytest.fixture(scope="module")
def pool():
    return natural_history_study(300, seed=11)


def test_no_effect_difference_ci_covers_zero(pool):
    # 40 treated cohorts of 30 drawn from the same process as the natural history (no
    # effect). The 95 % CI of the period 1-2 difference should cover 0 in about 95 % of
    # them; with 40 replicates, fewer than 34 would happen with probability < 0.5 % if the
    # coverage were 95 % (binomial). The full study (200 replicates, every period) is in
    # calibration/matched_controls_coverage.py and README "Decisions".
    covered = 0
    for rep in range(40):
        result = analyze(treated_cohort(30, seed=1000 + rep), safety=False)
        s = match_controls(result, pool).summary.set_index("period")
        covered += s.loc["1-2", "difference_ci_low"] <= 0 <= s.loc["1-2", "difference_ci_high"]
    assert covered >= 34


def test_known_effect_is_detected(pool):
    # decline slowed to 20 % of its rate from the first injection on: treated responders
    # exceed matched controls, and the whole-period CI excludes 0, in most cohorts.
    detected = 0
    for rep in range(10):
        result = analyze(treated_cohort(30, seed=2000 + rep, effect=0.2), safety=False)
        s = match_controls(result, pool).summary.set_index("period")
        detected += s.loc["whole", "difference_ci_low"] > 0
        assert s.loc["whole", "difference_pct"] > 0
    assert detected >= 8


# --- the faces: CLI, export, report, Wizard ---------------------------------------------------


def test_cli_natural_history_folder_writes_the_comparison(tmp_path, capsys):
    from msc_notebooks.cli import main
    from msc_notebooks.export import read_results
    from msc_notebooks.matched_controls import PAIRS_COLUMNS

    nh = tmp_path / "proact"
    write_proact(natural_history_study(150, seed=21), nh)
    out = tmp_path / "out"
    argv = ["analyze", "--demo", "--natural-history", str(nh), "--match-k", "3",
            "--caliper", "0.8", "--out", str(out)]  # fmt: skip
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "matched natural-history controls:" in printed and "k = 3" in printed
    tables = read_results(out)
    assert list(tables["matched_controls"].columns) == list(MATCHED_COLUMNS)
    assert list(tables["matching_balance"].columns) == list(BALANCE_COLUMNS)
    assert list(tables["matched_pairs"].columns) == list(PAIRS_COLUMNS)
    summary = tables["matched_controls"].set_index("period")
    pairs = tables["matched_pairs"]
    n_matched = pairs.treated_id.nunique()
    assert n_matched + summary.loc["1-2", "n_unmatched"] == 19  # the demo's treated patients
    assert pairs.groupby("treated_id").size().max() <= 3
    # the treated responder rate is the kit's own, over the matched treated patients
    assert summary.loc["1-2", "n_treated"] <= 19
    # both files of the export are in the natural-history ledger via the summary file
    assert (out / "natural_history_summary.csv").exists()


def test_report_and_figure_include_the_comparison():
    from msc_notebooks.charts import all_figures
    from msc_notebooks.matched_controls import attach_matched
    from msc_notebooks.report import html_report

    result = attach_matched(analyze(treated_cohort(15, seed=8), safety=False),
                            natural_history_study(120, seed=9))  # fmt: skip
    page = html_report(result, figures=False)
    assert "Matched natural-history controls" in page and "smd_after" in page
    assert "matched_controls" in all_figures(result)


def test_wizard_state_reattaches_after_a_threshold_change():
    from msc_notebooks.widgets.state import WizardState

    state = WizardState(study=treated_cohort(12, seed=3))
    state.natural_history = natural_history_study(100, seed=4)
    first = state.result.matched
    assert first is not None and first.settings.threshold_pct == 25
    state.settings = state.settings.replace(threshold_pct=1000)  # the fast path
    again = state.result.matched
    assert again is not first and again.settings.threshold_pct == 1000
    assert (again.summary.treated_responder_pct.fillna(0) == 0).all()
    state.natural_history = None
    assert state.result.matched is None
