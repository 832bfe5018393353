"""Honest summaries (issue #14): every denominator shown, tests chosen on purpose (SPEC §6-9).

Every expected value is worked out by hand here, with the SPEC section it comes from, or
computed by an independent implementation written in this file.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from msc_notebooks import analyze
from msc_notebooks.study import StudyData
from msc_notebooks.summary import (
    cluster_permutation_p,
    improvement_intervals,
    not_evaluable_table,
    responder_sentence,
    wilcoxon_test,
)

M = 365.25 / 12  # SPEC §2


def six_patient_tables() -> tuple[pd.DataFrame, pd.DataFrame]:
    """The issue's 6-patient cohort: 4 decliners who stop declining after treatment, and two
    patients with a flat (P5) or rising (P6) run-in who decline after treatment.

    Injections on days 0 and 90; assessments on days -90, 0, 90, 180.
    """
    visits = []
    for pid in ("P1", "P2", "P3", "P4"):
        visits += [(pid, -90, 40), (pid, 0, 37), (pid, 90, 37), (pid, 180, 36)]
    visits += [("P5", -90, 40), ("P5", 0, 40), ("P5", 90, 37), ("P5", 180, 35)]
    visits += [("P6", -90, 39), ("P6", 0, 40), ("P6", 90, 36), ("P6", 180, 33)]
    v = pd.DataFrame(visits, columns=["patient_id", "day", "alsfrs_r_total"])
    inj = pd.DataFrame(
        [(p, d) for p in ("P1", "P2", "P3", "P4", "P5", "P6") for d in (0, 90)],
        columns=["patient_id", "day"],
    )
    return v, inj


def six_patient_study() -> StudyData:
    v, inj = six_patient_tables()
    # days as floats, as read_study gives them (charts merge visits and injections on day)
    v["day"], inj["day"] = v["day"].astype(float), inj["day"].astype(float)
    inj = inj.assign(injection_number=inj.groupby("patient_id").cumcount() + 1)
    patients = pd.DataFrame({"patient_id": sorted(set(v.patient_id))})
    return StudyData(visits=v, injections=inj, patients=patients, time_kind="day")


SIX_SENTENCE = "4/4 evaluable responders; 2 of 6 treated not evaluable (2 flat or rising reference)"


def test_six_patients_left_out_and_why():
    # SPEC §6-7: P5's run-in rate is 0, P6's is -1 / (90 / M) < 0: not evaluable, with why
    r = analyze(six_patient_study())
    ref = r.periods[r.periods.period == "reference"].set_index("patient_id")
    assert not ref.loc["P5", "evaluable"] and not ref.loc["P6", "evaluable"]
    assert "reference rate <= 0" in ref.loc["P5", "reason"]
    assert ref.loc["P1", "evaluable"] and ref.loc["P1", "reason"] == ""
    s = r.summary.set_index("period").loc["1-2"]
    assert (s.n_in_period, s.n_evaluable, s.n_not_evaluable, s.n_responders) == (6, 4, 2, 4)
    assert s.not_evaluable_reasons == "2 flat or rising reference"
    assert r.responder_sentence("1-2") == SIX_SENTENCE
    table = r.not_evaluable
    assert table[table.period == "1-2"].values.tolist() == [["1-2", "flat or rising reference", 2]]
    # the reference period itself lists the two as well
    assert table[table.period == "reference"].n.tolist() == [2]


def test_responder_sentence_spec_example():
    # SPEC §7's own wording
    row = {
        "n_responders": 8,
        "n_evaluable": 11,
        "n_in_period": 14,
        "n_not_evaluable": 3,
        "not_evaluable_reasons": "2 flat run-in, 1 no assessment",
    }
    assert responder_sentence(row) == (
        "8/11 evaluable responders; 3 of 14 treated not evaluable (2 flat run-in, 1 no assessment)"
    )


def test_not_evaluable_counts_by_reason():
    p = pd.DataFrame(
        {
            "period": ["1-2"] * 5 + ["2-3"],
            "evaluable": [False, False, False, True, False, True],
            "reason": [
                "no assessment within 14 days of injection 2",
                "reference rate not evaluable (run-in too short: fewer than two ...)",
                "no assessment within 14 days of injection 2",
                "",
                "no decline before treatment (reference rate <= 0): improvement undefined",
                "",
            ],
        }
    )
    assert not_evaluable_table(p).values.tolist() == [
        ["1-2", "no assessment", 2],
        ["1-2", "flat or rising reference", 1],
        ["1-2", "run-in too short", 1],
    ]


def test_small_reference_flag_and_count():
    # SPEC §7: reference rates below 0.3 points/month flagged and counted.
    # Run-in 40 -> 39 over 4 months: 0.25 points/month (small); 40 -> 37: 0.75 (not).
    days = round(4 * M)
    v = pd.DataFrame(
        [
            ("S", -days, 40),
            ("S", 0, 39),
            ("S", 90, 39),
            ("B", -days, 40),
            ("B", 0, 37),
            ("B", 90, 37),
        ],
        columns=["patient_id", "day", "alsfrs_r_total"],
    )
    inj = pd.DataFrame({"patient_id": ["S", "S", "B", "B"], "day": [0, 90, 0, 90]})
    inj["injection_number"] = [1, 2, 1, 2]
    st = StudyData(v, inj, pd.DataFrame({"patient_id": ["B", "S"]}), time_kind="day")
    r = analyze(st)
    per = r.periods.set_index(["patient_id", "period"])
    assert per.loc[("S", "1-2"), "small_reference"]
    assert not per.loc[("B", "1-2"), "small_reference"]
    assert r.summary.set_index("period").loc["1-2", "n_small_reference"] == 1


def test_ratio_of_mean_rates_and_median_paired_difference():
    # SPEC §7: 100 x (mean ref - mean rate) / mean ref; median of ref - rate.
    # Reference rates 3/(90/M) each (= 1.0146); period rates 0, 1/(90/M), 3/(90/M).
    v, inj = [], []
    for pid, drop in (("P1", 0), ("P2", 1), ("P3", 3)):
        v += [(pid, -90, 44), (pid, 0, 41), (pid, 90, 41 - drop)]
        inj += [(pid, 0), (pid, 90)]
    vis = pd.DataFrame(v, columns=["patient_id", "day", "alsfrs_r_total"])
    i = pd.DataFrame(inj, columns=["patient_id", "day"])
    i["injection_number"] = i.groupby("patient_id").cumcount() + 1
    r = analyze(
        StudyData(vis, i, pd.DataFrame({"patient_id": ["P1", "P2", "P3"]}), time_kind="day")
    )
    s = r.summary.set_index("period").loc["1-2"]
    unit = 1 / (90 / M)
    mean_ref, mean_rate = 3 * unit, (0 + 1 + 3) * unit / 3
    assert s.ratio_of_mean_rates_pct == pytest.approx(100 * (mean_ref - mean_rate) / mean_ref)
    # differences 3u, 2u, 0: median 2u
    assert s.median_paired_difference == pytest.approx(2 * unit)


def test_wilcoxon_exact_by_hand():
    # SPEC §7: no zeros, no ties, n <= 50 -> exact. Differences 0.5, -0.2, 1.0, 0.8, 0.3:
    # |d| ranks 3, 1, 5, 4, 2; T- = 1. Two-sided p = 2 P(T <= 1) = 2 x 2/32 (the subsets
    # of {1..5} with rank sum <= 1 are {} and {1}).
    r = wilcoxon_test(np.array([1.5, 0.8, 2.0, 1.8, 1.3]), np.ones(5))
    assert r["wilcoxon_method"] == "exact"
    assert r["wilcoxon_statistic"] == 1.0
    assert r["wilcoxon_p"] == pytest.approx(2 * 2 / 32)
    assert r["wilcoxon_n"] == 5


def test_wilcoxon_ties_and_zero_normal_approximation_by_hand():
    # SPEC §7: ties or zeros -> normal approximation with the tie correction.
    # Differences 1, 1, -1, 2, 0: zero dropped, n = 4; |d| = 1, 1, 1, 2 -> ranks 2, 2, 2, 4.
    # T+ = 8, T- = 2; mean n(n+1)/4 = 5; var = n(n+1)(2n+1)/24 - sum(t^3 - t)/48
    # = 7.5 - 24/48 = 7.0; z = (2 - 5)/sqrt(7); p = erfc(|z|/sqrt(2)).
    r = wilcoxon_test(np.array([2.0, 2.0, 0.0, 3.0, 1.0]), np.array([1.0, 1.0, 1.0, 1.0, 1.0]))
    assert r["wilcoxon_method"].startswith("normal approximation with tie correction")
    assert r["wilcoxon_statistic"] == 2.0
    assert r["wilcoxon_p"] == pytest.approx(math.erfc(3 / math.sqrt(7) / math.sqrt(2)))
    assert r["median_paired_difference"] == 1.0


def test_wilcoxon_exact_limit_is_50():
    # n = 51 distinct differences: the normal approximation, no tie term
    d = np.arange(1, 52) * 0.01
    r = wilcoxon_test(d, np.zeros(51))
    n = 51
    z = (0 - n * (n + 1) / 4) / math.sqrt(n * (n + 1) * (2 * n + 1) / 24)
    assert r["wilcoxon_method"].startswith("normal")
    assert r["wilcoxon_p"] == pytest.approx(math.erfc(abs(z) / math.sqrt(2)))
    assert wilcoxon_test(d[:50], np.zeros(50))["wilcoxon_method"] == "exact"


def _bca_by_hand(x: np.ndarray, resamples: int, seed: int) -> tuple[float, float]:
    """BCa interval of the mean (Efron & Tibshirani 1993, ch. 14), written independently."""
    rng = np.random.default_rng(seed)
    n = len(x)
    boot = x[rng.integers(0, n, (resamples, n))].mean(axis=1)
    theta = x.mean()
    z0 = stats.norm.ppf((boot < theta).mean())
    jack = (x.sum() - x) / (n - 1)
    d = jack.mean() - jack
    a = (d**3).sum() / (6 * ((d**2).sum()) ** 1.5)
    out = []
    for alpha in (0.025, 0.975):
        z = stats.norm.ppf(alpha)
        q = stats.norm.cdf(z0 + (z0 + z) / (1 - a * (z0 + z)))
        out.append(float(np.quantile(boot, q)))
    return out[0], out[1]


def test_bca_interval_agrees_with_a_hand_implementation():
    # SPEC §7: the mean's interval is BCa; skewed data (a ratio with a small denominator)
    x = np.array([95.0, 80, 72, 60, 55, 40, 33, 20, 5, -10, -60, -400])
    got = improvement_intervals(x, samples=20000, seed=3)
    low, high = _bca_by_hand(x, 40000, 11)
    assert "BCa" in got["ci_method"] and "percentile" in got["ci_method"]
    spread = high - low
    assert got["ci_low_pct"] == pytest.approx(low, abs=0.05 * spread)
    assert got["ci_high_pct"] == pytest.approx(high, abs=0.05 * spread)
    # the BCa interval is not the percentile one: shifted towards the long left tail
    rng = np.random.default_rng(5)
    pct = np.percentile(x[rng.integers(0, 12, (20000, 12))].mean(axis=1), [2.5, 97.5])
    assert got["ci_low_pct"] < pct[0]
    # median: percentile bootstrap, within the data's range and around the median 36.5
    assert got["median_ci_low_pct"] <= np.median(x) <= got["median_ci_high_pct"]
    # seeded: the same seed gives the same interval
    assert improvement_intervals(x, 2000, 7) == improvement_intervals(x, 2000, 7)


def _no_effect_pairs(rng: np.random.Generator, n_patients: int = 20):
    """Pairs (interval, improvement) with no relation between them but strong clustering:
    a patient's intervals share a patient-level length, a patient's improvements a
    patient-level level (independent of each other)."""
    xs, ys, cl = [], [], []
    for i in range(n_patients):
        k = int(rng.integers(1, 4))
        base_x = rng.uniform(2, 8)
        base_y = rng.normal(0, 60)
        xs += list(base_x + rng.normal(0, 0.3, k))
        ys += list(base_y + rng.normal(0, 20, k))
        cl += [i] * k
    return np.array(xs), np.array(ys), np.array(cl)


def test_pooled_correlation_false_positive_rate_near_5_percent():
    # SPEC §8: pairs of one patient are not independent. On 400 no-effect cohorts the plain
    # Spearman p rejects far more often than 5 %; the patient-block permutation p about 5 %.
    rng = np.random.default_rng(20261130)
    plain = perm = 0
    cohorts = 400
    for c in range(cohorts):
        x, y, cl = _no_effect_pairs(rng)
        plain += stats.spearmanr(x, y).pvalue <= 0.05
        perm += cluster_permutation_p(x, y, cl, 199, seed=c)[1] <= 0.05
    assert plain / cohorts > 0.10  # the problem SPEC §8 names
    assert 0.025 <= perm / cohorts <= 0.08


def test_interval_correlation_has_method_and_patients():
    r = analyze(six_patient_study())
    row = r.intervals.set_index("scope").loc["all"]
    assert row.method.startswith("permutation of whole patients")
    assert row.n_patients == 4 and row.n == 4


# ---------------------------------------------------------------- every face (issue #14)
def write_six(folder) -> tuple[str, str]:
    v, inj = six_patient_tables()
    folder.mkdir(parents=True, exist_ok=True)
    v.to_csv(folder / "visits.csv", index=False)
    inj.to_csv(folder / "injections.csv", index=False)
    return str(folder / "visits.csv"), str(folder / "injections.csv")


def test_six_patients_every_face(tmp_path, capsys):
    import json

    from msc_notebooks.charts import all_figures
    from msc_notebooks.cli import main
    from msc_notebooks.columns import SUMMARY_COLUMNS
    from msc_notebooks.report import html_report
    from msc_notebooks.widgets.results_step import responder_sentence as wizard_line

    visits, injections = write_six(tmp_path / "data")
    out = tmp_path / "out"
    assert main(["analyze", "--visits", visits, "--injections", injections, "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    # CLI: the sentence and the median first on the period's line; no p without expectation
    line = next(x for x in printed.splitlines() if x.startswith("1-2: "))
    assert SIX_SENTENCE in line and "median improvement 100.0 %" in line
    assert line.index("median") < line.index("mean")
    assert "Wilcoxon p" not in printed and "synthetic demo data" not in printed
    # exported files: summary.csv with the new columns, not_evaluable.csv beside it
    summary = pd.read_csv(out / "summary.csv")
    # SPEC §11's columns, then the no-effect expectation and the note beside wilcoxon_p
    # (no simulation in this run: empty expectation, a note saying the p stands alone)
    beside = ["no_effect_expected_responders", "no_effect_expected_low"]
    beside += ["no_effect_expected_high", "no_effect_p_value"]
    beside += ["no_effect_mean_simulated_evaluable", "wilcoxon_note"]
    assert list(summary.columns) == [*SUMMARY_COLUMNS, *beside]
    assert summary["no_effect_expected_low"].isna().all()
    assert summary["wilcoxon_note"].str.contains("does not test the treatment").all()
    row = summary.set_index("period").loc["1-2"]
    assert (row.n_in_period, row.n_not_evaluable) == (6, 2)
    # four equal differences (3 / (90 / M) each): ties -> the normal approximation (SPEC §7);
    # four improvements of 100 %: no spread for a bootstrap
    assert row.wilcoxon_method.startswith("normal approximation")
    assert row.ci_method == "all values equal (no spread)"
    ne = pd.read_csv(out / "not_evaluable.csv")
    assert ne[ne.period == "1-2"].values.tolist() == [["1-2", "flat or rising reference", 2]]
    assert SIX_SENTENCE in (out / "summary.txt").read_text("utf-8")
    assert json.loads((out / "settings.json").read_text("utf-8"))["data"] == "the user's study"
    # report, figures, Wizard line
    r = analyze(six_patient_study())
    page = html_report(r, figures=False)
    assert SIX_SENTENCE in page and "flat or rising reference" in page
    assert "Wilcoxon p =" not in page
    figures = all_figures(r)
    sub = figures["improvement_1-2"].to_dict()
    title = sub.get("title") or sub["vconcat"][0]["title"]
    assert title["subtitle"][0].startswith(SIX_SENTENCE)
    bars = figures["responders_by_period"].to_dict()["title"]["subtitle"]
    assert f"1-2: {SIX_SENTENCE}" in bars
    assert f"1-2: {SIX_SENTENCE}" in wizard_line(r.summary, r.settings)


def test_wilcoxon_p_only_beside_the_no_effect_expectation():
    from msc_notebooks.report import html_report
    from msc_notebooks.summary import WILCOXON_CAVEAT, display_summary, period_lines

    r = analyze(six_patient_study())
    null = pd.DataFrame(
        {
            "period": ["1-2"],
            "expected_responders": [1.4],
            "expected_low": [0],
            "expected_high": [3],
            "p_value": [0.012],
            "n_simulations": [500],
        }
    )
    lines = period_lines(r.summary, null)
    # 1-2: differences 3u > 0 for the 4 evaluable patients, all equal -> ties: normal
    # approximation. The expectation stands beside the p, and the caveat follows.
    assert "Wilcoxon p = " in lines[0]
    assert "with no treatment effect 1.4 [0-3] responders expected, 4 observed" in lines[0]
    assert lines[-1] == WILCOXON_CAVEAT
    shown = display_summary(r.summary, null)["before/after test"]
    assert shown.iloc[0].startswith("Wilcoxon p = ") and "responders expected" in shown.iloc[0]
    # the report of a real no-effect simulation (demo cohort): the caveat beside the p
    from msc_notebooks import load_demo
    from msc_notebooks.null_model import attach_null

    page = html_report(attach_null(analyze(load_demo()), 50), figures=False)
    assert WILCOXON_CAVEAT in page and "responders expected, 15 observed" in page
    shown = display_summary(r.summary, None)["before/after test"]
    assert not shown.str.contains("Wilcoxon p =").any()


def test_demo_results_say_synthetic_demo_data(tmp_path):
    import json

    from msc_notebooks import load_demo, write_results
    from msc_notebooks.report import html_report

    r = analyze(load_demo())
    page = html_report(r, figures=False)
    assert "<title>MSC trial analysis (synthetic demo data)</title>" in page
    assert "class='banner'" in page
    write_results(r, tmp_path)
    assert json.loads((tmp_path / "settings.json").read_text("utf-8"))["data"] == (
        "synthetic demo data"
    )
    assert (
        (tmp_path / "summary.txt")
        .read_text("utf-8")
        .startswith("Computed from synthetic demo data")
    )


def test_run_on_study_with_missing_data_exits_2_naming_them(tmp_path, capsys):
    from msc_notebooks.cli import main
    from msc_notebooks.projects import new_project

    project = new_project(tmp_path / "study")  # demo: false; data/ holds no files
    assert main(["run", str(project / "03_progression.ipynb")]) == 2
    err = capsys.readouterr().err
    assert "data file(s) not found: data/visits.csv, data/injections.csv" in err
    assert "demo: true" in err


def test_large_period_intervals_by_hand():
    # above BOOTSTRAP_MAX_N (SPEC §7 leaves the large-n interval open; README Decisions):
    # values 0..2000, n = 2001. Median: order statistics n/2 -+ 1.96 sqrt(n)/2 =
    # 1000.5 -+ 43.84 -> positions 956 and 1045 (0-based), values 956 and 1045.
    # Mean: 1000 -+ 1.959964 x SD / sqrt(n), SD^2 = n (n + 1) / 12 for 0..n-1 (ddof 1).
    from msc_notebooks.summary import BOOTSTRAP_MAX_N

    n = 2001
    assert n > BOOTSTRAP_MAX_N
    got = improvement_intervals(np.arange(n, dtype=float))
    assert (got["median_ci_low_pct"], got["median_ci_high_pct"]) == (956.0, 1045.0)
    se = math.sqrt(n * (n + 1) / 12) / math.sqrt(n)
    assert got["ci_low_pct"] == pytest.approx(1000 - 1.959964 * se)
    assert got["ci_high_pct"] == pytest.approx(1000 + 1.959964 * se)
    assert got["ci_method"].startswith("median: order statistics; mean: normal")


def test_summary_csv_carries_the_no_effect_expectation_beside_wilcoxon_p(tmp_path):
    """With a no-effect simulation, every period's row of summary.csv holds the expected
    range and the simulation's p beside the Wilcoxon p, and the caveat (SPEC §7, §13)."""
    from msc_notebooks.cli import main
    from msc_notebooks.summary import WILCOXON_CAVEAT

    out = tmp_path / "out"
    args = ["analyze", "--demo", "--null-simulations", "200", "--no-slopes", "--out", str(out)]
    assert main(args) == 0
    summary = pd.read_csv(out / "summary.csv").set_index("period")
    null = pd.read_csv(out / "null_summary.csv").set_index("period")
    for period in null.index:
        row = summary.loc[period]
        assert pd.notna(row.wilcoxon_p)
        assert row.no_effect_expected_low == null.loc[period, "expected_low"]
        assert row.no_effect_expected_high == null.loc[period, "expected_high"]
        assert row.no_effect_p_value == null.loc[period, "p_value"]
        # the count's denominator travels with it (issue #17)
        assert row.no_effect_mean_simulated_evaluable == pytest.approx(
            null.loc[period, "mean_simulated_evaluable"]
        )
        # p = (b + 1) / (m + 1) with m = 200 simulations: never below 1/201 (SPEC §13)
        assert row.no_effect_p_value >= 1 / 201
        assert row.wilcoxon_note == WILCOXON_CAVEAT


def test_every_face_says_what_the_interval_p_tests(tmp_path):
    """The interval correlation's p is shown with what it tests and its measured false
    positive rate (VALIDATION.md) in the report, the Results step, the figure and the
    study template, never alone."""
    import json

    import ipywidgets

    from msc_notebooks import analyze, charts, load_demo
    from msc_notebooks.report import html_report
    from msc_notebooks.summary import INTERVAL_P_TESTS
    from msc_notebooks.widgets import ResultsStep, WizardState

    assert "8.5 %" in INTERVAL_P_TESTS and "not a test of the treatment" in INTERVAL_P_TESTS
    result = analyze(load_demo())
    report = html_report(result, figures=False)
    assert report.index("Interval length and response") < report.index("not a test of the")

    state = WizardState()
    results = ResultsStep(state, figures=False)
    state.study = load_demo()

    def texts(box):
        for child in getattr(box, "children", ()):
            yield from texts(child)
        if isinstance(box, ipywidgets.HTML):
            yield box.value

    assert any(INTERVAL_P_TESTS in t for t in texts(results))

    spec = charts.interval_vs_improvement(result).to_dict()
    assert "not the treatment" in json.dumps(spec["title"]["subtitle"])

    notebook = Path(__file__).parents[1] / "templates" / "msc-study"
    cells = json.loads(next(notebook.glob("*/02_injections.ipynb")).read_text())["cells"]
    assert any(
        INTERVAL_P_TESTS in "".join(c["source"]) for c in cells if c["cell_type"] == "markdown"
    )
