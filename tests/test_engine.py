"""The computations of SPEC §2–8 and §12 against values worked by hand."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from msc_notebooks import Settings, analyze
from msc_notebooks.analysis import reclassify
from msc_notebooks.progression import compute_periods, scores_at_injections
from msc_notebooks.study import StudyData

M = 365.25 / 12  # SPEC §2


def study(visits, injections, patients=None) -> StudyData:
    v = pd.DataFrame(visits, columns=["patient_id", "day", "alsfrs_r_total"])
    i = pd.DataFrame(injections, columns=["patient_id", "day"])
    i["injection_number"] = i.groupby("patient_id").cumcount() + 1
    if patients is None:
        patients = pd.DataFrame({"patient_id": sorted(set(v.patient_id) | set(i.patient_id))})
    return StudyData(visits=v, injections=i, patients=patients, time_kind="day")


def row(result, pid, period):
    p = result.periods
    return p[(p.patient_id == pid) & (p.period == period)].iloc[0]


# Patient A: run-in day -120 (44) .. day 0 (40); injections at 0, 90, 210; visits at
# 0 (40), 90 (41), 210 (38), 300 (35).
A = [
    ("A", -120, 44),
    ("A", -60, 42),
    ("A", 0, 40),
    ("A", 90, 41),
    ("A", 150, 40),
    ("A", 210, 38),
    ("A", 300, 35),
]
A_INJ = [("A", 0), ("A", 90), ("A", 210)]


def test_endpoint_rates_and_improvement_by_hand():
    r = analyze(study(A, A_INJ))
    # SPEC §4 run-in: (44 - 40) / (120 / 30.4375) = 1.014583 points/month
    ref = 4 / (120 / M)
    assert row(r, "A", "reference").rate == pytest.approx(ref)
    # SPEC §5 endpoints, period 1-2: (40 - 41) / (90 / M) = -0.338194 (score went up)
    r12 = (40 - 41) / (90 / M)
    assert row(r, "A", "1-2").rate == pytest.approx(r12)
    # SPEC §6: improvement = 100 (ref - rate) / ref = 100 (1.014583 + 0.338194) / 1.014583
    assert row(r, "A", "1-2").improvement_pct == pytest.approx(100 * (ref - r12) / ref)
    assert row(r, "A", "1-2").improvement_pct == pytest.approx(133.3333, abs=1e-3)
    # period 2-3: (41 - 38) / (120 / M) = 0.760938; improvement 25.0 % exactly -> not > 25
    r23 = 3 / (120 / M)
    assert row(r, "A", "2-3").improvement_pct == pytest.approx(25.0)
    assert not row(r, "A", "2-3").responder
    # inclusive (>=) makes it a responder
    assert row(reclassify(r, inclusive=True), "A", "2-3").responder
    # after-last: 38 -> 35 over 90 days; whole: 40 -> 38 over 210 days
    assert row(r, "A", "after-last").rate == pytest.approx(3 / (90 / M))
    assert row(r, "A", "whole").rate == pytest.approx(2 / (210 / M))
    # absolute change = ref - rate; 1.014583 - 0.760938 = 0.253646 < 1.25
    assert row(r, "A", "2-3").absolute_change == pytest.approx(ref - r23)
    assert not row(r, "A", "2-3").absolute_responder
    # SPEC §11 start/end days from the first injection
    assert (row(r, "A", "reference").start_day, row(r, "A", "reference").end_day) == (-120, 0)
    assert row(r, "A", "2-3").months == pytest.approx(120 / M)


def test_ols_rate_by_hand():
    # SPEC §5 ols over period 1-2 of A: assessments (90, 41), (150, 40), (210, 38)
    # x mean 150, y mean 39.6667; Sxy = (-60)(1.3333) + 0 + 60(-1.6667) = -180; Sxx = 7200
    # slope = -0.025 points/day -> rate = 0.025 * 30.4375 = 0.7609 points/month
    r = analyze(study(A, A_INJ), method="ols")
    assert row(r, "A", "2-3").rate == pytest.approx(0.025 * M)
    # reference: (-120, 44), (-60, 42), (0, 40): slope -1/30 per day
    assert row(r, "A", "reference").rate == pytest.approx(M / 30)


def test_constant_scores_give_exact_zero_rate_and_not_evaluable():
    # SPEC §6: a least-squares fit of constant scores is 0, and reference <= 0 is not evaluable
    v = [("B", d, 40) for d in (-100, -50, 0, 50, 100)]
    r = analyze(study(v, [("B", 0), ("B", 100)]), method="ols")
    ref = row(r, "B", "reference")
    assert ref.rate == 0.0
    p12 = row(r, "B", "1-2")
    assert not p12.evaluable and np.isnan(p12.improvement_pct)
    assert "no decline before treatment" in p12.reason
    assert np.isfinite(r.periods.improvement_pct.dropna()).all()


def test_score_at_injection_window_and_ties():
    # SPEC §3: nearest within 14 days, ties go to the assessment before
    v = pd.DataFrame(
        {
            "patient_id": ["C"] * 4,
            "day": [-100.0, -5.0, 5.0, 200.0],
            "alsfrs_r_total": [45.0, 42.0, 41.0, 30.0],
        }
    )
    i = pd.DataFrame({"patient_id": ["C", "C"], "day": [0.0, 100.0]})
    at = scores_at_injections(v, i)
    assert at.score.tolist()[0] == 42.0  # tie -5 / +5 -> before
    assert np.isnan(at.score.tolist()[1])  # nothing within 14 days of day 100
    r = analyze(study([tuple(x) for x in v.values], [("C", 0), ("C", 100)]))
    assert row(r, "C", "1-2").reason == "no assessment within 14 days of injection 2"
    assert not row(r, "C", "whole").evaluable
    # a wider window (SPEC §3 setting) finds no visit either: the nearest is 95 days away
    assert not row(
        analyze(study([tuple(x) for x in v.values], [("C", 0), ("C", 100)]), window_days=20),
        "C",
        "1-2",
    ).evaluable


def test_run_in_too_short_and_single_injection_and_onset():
    # SPEC §4: the run-in must span >= 28 days; SPEC §3: n = 1 has no whole period
    v = [("D", -20, 40), ("D", 0, 39), ("D", 100, 37)]
    r = analyze(study(v, [("D", 0)]))
    assert "run-in too short" in row(r, "D", "reference").reason
    assert row(r, "D", "whole").reason == "only one injection: no whole treatment period"
    # onset reference: (48 - 39) / ((0 - (-400)) / M) = 0.684844 points/month
    pats = pd.DataFrame({"patient_id": ["D"], "onset_day": [-400.0]})
    r = analyze(study(v, [("D", 0)], pats), reference="onset")
    assert row(r, "D", "reference").rate == pytest.approx(9 / (400 / M))
    assert row(r, "D", "after-last").improvement_pct == pytest.approx(
        100 * (9 / (400 / M) - 2 / (100 / M)) / (9 / (400 / M))
    )
    # no onset date: not evaluable, no silent fallback to run-in (SPEC §4)
    r = analyze(study(v, [("D", 0)]), reference="onset")
    assert row(r, "D", "reference").reason == "no symptom-onset date"


def test_period_needs_distinct_assessments_28_days_apart():
    # SPEC §12: injections 20 days apart both use... distinct assessments < 28 days apart
    v = [("E", -60, 44), ("E", 0, 42), ("E", 20, 41), ("E", 120, 38)]
    r = analyze(study(v, [("E", 0), ("E", 20), ("E", 120)]))
    assert not row(r, "E", "1-2").evaluable
    assert "28 days" in row(r, "E", "1-2").reason
    assert row(r, "E", "2-3").evaluable


def test_every_treated_patient_has_every_period_row():
    r = analyze(study(A + [("F", 0, 40)], A_INJ + [("F", 0)]))
    assert set(r.periods.patient_id) == {"A", "F"}
    assert r.periods[r.periods.patient_id == "F"].period.tolist() == [
        "reference",
        "after-last",
        "whole",
    ]


def test_summary_by_hand():
    # three patients, period 1-2 improvements worked by hand; SPEC §7
    v, inj = [], []
    for pid, drop in (("P1", 0), ("P2", 1), ("P3", 3)):
        # run-in 44 -> 41 over 90 days: 3 / (90 / M) = 1.014583
        v += [(pid, -90, 44), (pid, 0, 41), (pid, 90, 41 - drop)]
        inj += [(pid, 0), (pid, 90)]
    r = analyze(study(v, inj))
    s = r.summary.set_index("period").loc["1-2"]
    # improvements: drop 0 -> 100 %, drop 1 -> 66.67 %, drop 3 -> 0 %
    assert s.n_evaluable == 3 and s.n_responders == 2
    assert s.mean_improvement_pct == pytest.approx((100 + 200 / 3 + 0) / 3)
    assert s.median_improvement_pct == pytest.approx(200 / 3)
    assert s.mean_improvement_responders_pct == pytest.approx((100 + 200 / 3) / 2)
    assert s.responder_pct == pytest.approx(200 / 3)
    assert s.ci_low_pct <= s.mean_improvement_pct <= s.ci_high_pct
    # Wilcoxon (SPEC §7): differences ref - rate = 1.0146, 0.6764, 0 -> a zero, so the
    # normal approximation: zero dropped, n = 2, ranks 2, 1, T- = 0; mean n(n+1)/4 = 1.5,
    # variance n(n+1)(2n+1)/24 = 1.25, z = -1.5 / sqrt(1.25), p = erfc(|z| / sqrt 2)
    assert s.wilcoxon_method.startswith("normal approximation")
    assert s.wilcoxon_n == 2
    assert s.wilcoxon_p == pytest.approx(math.erfc(1.5 / math.sqrt(1.25) / math.sqrt(2)))
    # clinical: change at T2 - T1 = 0, -1, -3 -> nobody improved (SPEC §6)
    assert r.clinical.set_index("cycle").loc[1, "n_improved"] == 0


def test_interval_correlation_and_threshold_change_keeps_rates():
    v, inj = [], []
    for _k, (pid, gap, drop) in enumerate(
        (("Q1", 91, 0), ("Q2", 122, 1), ("Q3", 152, 2), ("Q4", 183, 4))
    ):
        v += [(pid, -90, 44), (pid, 0, 41), (pid, gap, 41 - drop)]
        inj += [(pid, 0), (pid, gap)]
    r = analyze(study(v, inj))
    # longer interval, lower improvement, monotone: rho = -1 (SPEC §8)
    assert r.intervals.set_index("scope").loc["all", "rho"] == pytest.approx(-1.0)
    r2 = reclassify(r, threshold_pct=90)
    assert r2.rates is r.rates  # no slope recomputed
    assert r2.responders("1-2") == "1/4"  # only the 100 % one


def test_interval_correlation_does_not_need_tables_that_line_up():
    """The join of periods and intervals (SPEC §8) gives the same pairs whether the two
    tables line up row for row (the kit's own) or are shuffled; per period, rho and p are
    scipy's Spearman of an independent pandas merge."""
    from scipy import stats

    from msc_notebooks import load_demo
    from msc_notebooks.summary import interval_correlation

    r = analyze(load_demo())
    lined_up = interval_correlation(r.periods, r.interval_lengths).set_index("scope")
    shuffled = interval_correlation(
        r.periods.sample(frac=1, random_state=1), r.interval_lengths.sample(frac=1, random_state=2)
    ).set_index("scope")
    pd.testing.assert_frame_equal(lined_up.drop(columns="p"), shuffled.drop(columns="p"))
    merged = r.periods[r.periods["evaluable"]].merge(
        r.interval_lengths.rename(columns={"interval": "period", "months": "interval_months"}),
        on=["patient_id", "period"],
    )
    assert lined_up.loc["all", "n"] == len(merged) > 0
    assert lined_up.loc["all", "n_patients"] == merged["patient_id"].nunique()
    for period, pairs in merged.groupby("period"):
        expected = stats.spearmanr(pairs["interval_months"], pairs["improvement_pct"])
        assert lined_up.loc[period, "n"] == len(pairs)
        assert lined_up.loc[period, "rho"] == pytest.approx(expected.statistic, abs=1e-12)
        assert lined_up.loc[period, "p"] == pytest.approx(expected.pvalue, abs=1e-12)
        assert shuffled.loc[period, "p"] == pytest.approx(expected.pvalue, abs=1e-12)


def test_row_order_does_not_change_results():
    s1 = study(A, A_INJ)
    shuffled = StudyData(
        visits=s1.visits.sample(frac=1, random_state=3),
        injections=s1.injections.sample(frac=1, random_state=4),
        patients=s1.patients,
        time_kind="day",
    )
    a, b = analyze(s1).periods, analyze(shuffled).periods
    pd.testing.assert_frame_equal(a, b)


def test_other_outcome_columns_use_the_same_machinery():
    v = pd.DataFrame(A, columns=["patient_id", "day", "alsfrs_r_total"])
    v["fvc_pct"] = [90.0, 88.0, 86.0, 85.0, 84.0, 83.0, 80.0]
    s = StudyData(
        visits=v,
        injections=study(A, A_INJ).injections,
        patients=pd.DataFrame({"patient_id": ["A"]}),
        time_kind="day",
    )
    r = analyze(s, outcome="fvc_pct")
    # reference: (90 - 86) / (120 / M)
    assert row(r, "A", "reference").rate == pytest.approx(4 / (120 / M))
    with pytest.raises(ValueError, match="onset reference needs a bounded score"):
        analyze(s, outcome="fvc_pct", reference="onset")


def test_compute_periods_uses_assessment_days_not_injection_days():
    # SPEC §12: months use the days between the assessments actually used
    v = [("G", -90, 44), ("G", 3, 41), ("G", 95, 40)]
    p = compute_periods(*(lambda s: (s.visits, s.injections))(study(v, [("G", 0), ("G", 100)])))
    r12 = p[p.period == "1-2"].iloc[0]
    assert r12.months == pytest.approx(92 / M)
    assert r12.rate == pytest.approx(1 / (92 / M))


def test_settings_travel_with_the_result():
    r = analyze(study(A, A_INJ), Settings(threshold_pct=40))
    assert r.settings.threshold_pct == 40


def test_outcome_summaries_cover_fvc_and_domains():
    from msc_notebooks import load_demo
    from msc_notebooks.analysis import outcome_summaries

    study = load_demo()
    t = outcome_summaries(study)
    assert list(dict.fromkeys(t.outcome)) == [
        "alsfrs_r_total",
        "fvc_pct",
        "bulbar",
        "fine_motor",
        "gross_motor",
        "respiratory",
    ]
    # each block equals a plain analysis of that outcome
    fvc = analyze(study, outcome="fvc_pct").summary
    pd.testing.assert_frame_equal(
        t[t.outcome == "fvc_pct"].drop(columns="outcome").reset_index(drop=True), fvc
    )
    # the onset reference has no starting value for FVC: only bounded scores
    assert "fvc_pct" not in set(outcome_summaries(study, Settings(reference="onset")).outcome)


def test_threshold_comparisons_are_exact_at_the_boundary():
    # SPEC §6: a stable period (rate 0) is exactly 100 % improvement; at a 100 % strict
    # threshold it is not a responder, at 100 % inclusive it is. Reference 3 / (90 / M).
    v = [("H", -90, 44), ("H", 0, 41), ("H", 97, 41)]
    r = analyze(study(v, [("H", 0), ("H", 97)]))
    assert row(r, "H", "1-2").improvement_pct == 100.0
    assert not row(reclassify(r, threshold_pct=100), "H", "1-2").responder
    assert row(reclassify(r, threshold_pct=100, inclusive=True), "H", "1-2").responder
