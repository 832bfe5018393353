"""Every outcome beside its own no-effect expectation (issue #21; SPEC §6, §7, §13).

Synthetic no-effect cohorts per outcome type (a continuous score like FVC % predicted, a
0-12 whole-point ALSFRS-R domain): the observed responder count must fall inside the
simulated 2.5-97.5 % range in most replicate cohorts. Hand-worked cases for a rate of
exactly 0 on a subscale (SPEC §6: improvement 100 %, a responder).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from outcome_cohorts import KINDS, no_effect_cohort

from msc_notebooks import analyze, load_demo, read_study
from msc_notebooks.analysis import outcome_line, outcome_summaries
from msc_notebooks.null_model import simulate_null


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_no_effect_cohort_observed_count_inside_expectation(kind):
    # 10 replicate no-effect cohorts: the observed count of "> 25 %" responders lies in the
    # simulated 2.5-97.5 % range (SPEC §13) in at least 8 of 10 of them, in every period.
    col = KINDS[kind][0]
    inside: dict[str, int] = {}
    for seed in range(10):
        study = no_effect_cohort(kind, seed)
        t = outcome_summaries(study, outcomes=[col], n_simulations=400, seed=100 + seed)
        t = t[t.period != "reference"]
        assert (t["whole_points"] == KINDS[kind][5]).all()
        assert (t["outcome_high"] == KINDS[kind][6][1]).all()
        ok = (t["n_responders"] >= t["expected_low"]) & (t["n_responders"] <= t["expected_high"])
        for period, hit in zip(t["period"], ok, strict=True):
            inside[period] = inside.get(period, 0) + int(hit)
    assert set(inside) >= {"1-2", "2-3", "3-4", "whole"}
    assert all(v >= 8 for v in inside.values()), inside


def test_domain_rounding_makes_responders_of_stable_patients():
    # No measurement noise (sigma = 0) and one constant true rate per patient: on a
    # continuous scale every simulated period rate equals the reference rate, improvement
    # 0 %, nobody responds. The same model in whole points on 0-12: a domain losing ~0.3
    # points/month moves 0 or 1 point over a 3-month period, a rate of 0 after a positive
    # reference is 100 % improvement (SPEC §6), and many "respond" (issue #21).
    study = no_effect_cohort("domain_0_12", 0)
    result = analyze(study, outcome="gross_motor", safety=False)
    whole = simulate_null(result, 400, sigma=0.0, seed=1, whole_points=True).set_index("period")
    cont = simulate_null(result, 400, sigma=0.0, seed=1, whole_points=False).set_index("period")
    assert cont.loc["1-2", "rate_change_sd"] == 0.0  # no default rate change for a domain
    assert cont.loc["1-2", "expected_responders"] == 0.0
    sim_evaluable = whole.loc["1-2", "mean_simulated_evaluable"]
    assert whole.loc["1-2", "expected_responders"] > 0.3 * sim_evaluable


def test_rate_exactly_zero_on_a_subscale_is_100_percent_improvement():
    # Bulbar domain 12 at day 0, 11 at T1 = day 60, 11 at T2 = day 150, 10 at day 240.
    # Reference (run-in, endpoints, SPEC §4-5): (12 - 11) / (60 / 30.4375) = 0.50729
    # points/month. Period 1-2: (11 - 11) / (90 / 30.4375) = 0 -> improvement
    # 100 x (0.50729 - 0) / 0.50729 = 100 % > 25 %: a responder (SPEC §6). Absolute change
    # 0.50729 < 1.25 points/month: not an absolute responder.
    visits = pd.DataFrame(
        {
            "patient_id": ["a"] * 4,
            "day": [0.0, 60.0, 150.0, 240.0],
            "alsfrs_r_total": [40.0, 38.0, 37.0, 35.0],
            "bulbar": [12.0, 11.0, 11.0, 10.0],
        }
    )
    inj = pd.DataFrame({"patient_id": ["a", "a"], "day": [60.0, 150.0]})
    result = analyze(read_study(visits, inj), outcome="bulbar", safety=False)
    p = result.periods.set_index("period")
    assert p.loc["reference", "rate"] == pytest.approx(1 / (60 / 30.4375))
    assert p.loc["1-2", "rate"] == 0.0
    assert p.loc["1-2", "improvement_pct"] == pytest.approx(100.0)
    assert bool(p.loc["1-2", "responder"]) is True
    assert bool(p.loc["1-2", "absolute_responder"]) is False
    # after-last: (11 - 10) / (90 / 30.4375) = 0.33819 -> 100 x (0.50729 - 0.33819) /
    # 0.50729 = 33.33 % (= 100 x (1/60 - 1/90) / (1/60)): also a responder, though the
    # patient lost a point.
    assert p.loc["after-last", "improvement_pct"] == pytest.approx(100 * (1 / 60 - 1 / 90) * 60)
    assert bool(p.loc["after-last", "responder"]) is True


def test_rate_exactly_zero_after_flat_reference_is_not_evaluable():
    # Reference 12 -> 12 over 60 days: rate 0, not evaluable (SPEC §6: reference <= 0),
    # never +-inf; the summary says why (SPEC §7).
    visits = pd.DataFrame(
        {
            "patient_id": ["a"] * 3,
            "day": [0.0, 60.0, 150.0],
            "alsfrs_r_total": [40.0, 39.0, 38.0],
            "bulbar": [12.0, 12.0, 12.0],
        }
    )
    inj = pd.DataFrame({"patient_id": ["a", "a"], "day": [60.0, 150.0]})
    result = analyze(read_study(visits, inj), outcome="bulbar", safety=False)
    p = result.periods.set_index("period")
    assert bool(p.loc["1-2", "evaluable"]) is False
    assert np.isnan(p.loc["1-2", "improvement_pct"])
    s = result.summary.set_index("period").loc["1-2"]
    assert (s["n_in_period"], s["n_evaluable"], s["n_not_evaluable"]) == (1, 0, 1)


def test_outcome_summaries_with_expectation_per_outcome_demo():
    # Each outcome's own noise and scale: FVC continuous without maximum, domains 0-12
    # in whole points, the total 0-48; sigma differs between outcomes.
    t = outcome_summaries(load_demo(), n_simulations=100, seed=3)
    rows = t[t.period == "1-2"].set_index("outcome")
    assert list(rows.index) == [
        "alsfrs_r_total", "fvc_pct", "bulbar", "fine_motor", "gross_motor", "respiratory"
    ]  # fmt: skip
    assert rows.loc["fvc_pct", "whole_points"] == False  # noqa: E712
    assert rows.loc["fvc_pct", "outcome_high"] == np.inf
    assert (rows.drop(index="fvc_pct")["whole_points"] == True).all()  # noqa: E712
    assert rows.loc["bulbar", "outcome_high"] == 12.0
    assert rows.loc["alsfrs_r_total", "outcome_high"] == 48.0
    assert rows["sigma"].nunique() > 3
    assert (rows["expected_low"] <= rows["expected_high"]).all()
    # a simulated cohort can have more evaluable patients than the observed one (its own
    # reference rates decide), never more than reached the period (issue #13:
    # mean_simulated_evaluable is reported beside n_evaluable)
    assert (rows["expected_high"] <= rows["n_in_period"]).all()
    # denominators (SPEC §7) beside the expectation
    assert (rows["n_evaluable"] + rows["n_not_evaluable"] == rows["n_in_period"]).all()
    line = outcome_line(next(t[t.period == "1-2"].itertuples()))
    assert "evaluable responders" in line and "with no treatment effect" in line
    # a run-in scatter within whole-point rounding (corrected variance below 1/12) is
    # floored at the rounding SD 1/sqrt(12) (README Decisions, SPEC §13), never 0; every
    # such outcome says so, and only those
    floored = np.isclose(rows["sigma"], np.sqrt(1 / 12))
    assert floored.any()  # the demo's respiratory domain: pooled residual variance 0.016
    assert (rows["sigma"] > 0).all()
    said = rows["no_effect_note"].str.contains("floored at the rounding SD")
    assert (said == floored).all()
    first = rows.index[floored][0]
    line = outcome_line(next(t[(t.period == "1-2") & (t.outcome == first)].itertuples()))
    assert "note: sigma floored at the rounding SD 0.29" in line


def test_outcome_rate_change_from_natural_history_per_outcome():
    # With an untreated cohort, each outcome's change of rate is estimated there on that
    # outcome (SPEC §13); an outcome the cohort lacks (here FVC) keeps the constant-rate
    # model and says why, instead of losing its expectation.
    from msc_notebooks.synthetic import natural_history_cohort

    nh = natural_history_cohort(150, seed=2)
    t = outcome_summaries(
        load_demo(), outcomes=["fvc_pct", "bulbar"], n_simulations=50, natural_history=nh
    )
    rows = t[t.period == "1-2"].set_index("outcome")
    assert rows.loc["bulbar", "rate_change_source"].startswith("natural history")
    # the natural history was used for bulbar (its note only says its run-in sigma,
    # 0.127 after Sheppard's correction, is floored at 1/sqrt(12))
    assert rows.loc["bulbar", "no_effect_note"] == (
        "sigma floored at the rounding SD 0.29 (the run-in scatter is within whole-point "
        "rounding, where Sheppard's correction does not hold)"
    )
    assert rows.loc["fvc_pct", "rate_change_source"].startswith("no default for fvc_pct")
    assert "natural history not used" in rows.loc["fvc_pct", "no_effect_note"]
    assert rows["expected_high"].notna().all()


def test_faces_show_each_outcome_beside_its_expectation(tmp_path, capsys):
    # CLI: one line per outcome and period with denominators and the expectation; the
    # report: the outcomes section; outcomes_summary.csv: the expectation columns.
    from msc_notebooks.cli import main

    out = tmp_path / "out"
    argv = ["analyze", "--demo", "--outcomes", "--null-simulations", "100", "--no-slopes",
            "--report", "--out", str(out)]  # fmt: skip
    assert main(argv) == 0
    printed = capsys.readouterr().out
    lines = [x for x in printed.splitlines() if x.startswith("ALSFRS-R bulbar domain")]
    notes = [x for x in lines if "note on the no-effect expectation" in x]
    lines = [x for x in lines if x not in notes]
    assert len(lines) == 5  # 1-2, 2-3, 3-4, after-last, whole
    assert len(notes) == 1 and "sigma floored at the rounding SD" in notes[0]  # said once
    assert all("evaluable responders" in x and "with no treatment effect" in x for x in lines)
    assert any("not evaluable (" in x for x in lines)  # the patients left out, and why
    t = pd.read_csv(out / "outcomes_summary.csv")
    assert {"n_in_period", "no_effect_p_value", "expected_high", "sigma"} <= set(t.columns)
    assert t.loc[t.period != "reference", "expected_high"].notna().all()
    page = (out / "report.html").read_text(encoding="utf-8")
    assert "Every outcome beside its no-effect expectation" in page
    assert page.count("with no treatment effect") >= 5 * 6


def test_wizard_results_step_summarises_every_outcome():
    from msc_notebooks.widgets import ResultsStep
    from msc_notebooks.widgets.state import WizardState

    state = WizardState()
    state.study = load_demo()
    step = ResultsStep(state, figures=False)
    assert "Not computed yet" in step.outcomes_table.value
    step.null_n.value = 100
    step.outcomes_button.click()
    value = step.outcomes_table.value
    assert "FVC (% predicted), 1-2:" in value and "with no treatment effect" in value
    assert "msc-table" in value
    state.settings = state.settings.replace(threshold_pct=50)  # a new result: computed again
    assert "Not computed yet" in step.outcomes_table.value


def test_each_outcome_note_is_said_once_after_its_periods():
    """The CLI and the report print an outcome's note on the no-effect expectation (e.g.
    the sigma floor) once, after its periods, not on every period's line."""
    from msc_notebooks.analysis import outcome_lines, outcome_view

    view = outcome_view(outcome_summaries(load_demo(), n_simulations=50, seed=1))
    lines = outcome_lines(view)
    noted = view.loc[view["no_effect_note"].fillna("") != "", "outcome"].unique()
    assert len(noted) >= 1
    assert sum("note on the no-effect expectation" in line for line in lines) == len(noted)
    assert len(lines) == len(view) + len(noted)
    assert not any("; note:" in line for line in lines)
    for outcome in noted:  # the note follows the outcome's last period
        from msc_notebooks.analysis import OUTCOME_LABELS

        label = OUTCOME_LABELS.get(outcome, outcome)
        at = [i for i, line in enumerate(lines) if line.startswith(label)]
        assert "note on the no-effect expectation" in lines[at[-1]]
        assert lines[at[-2]].startswith(f"{label}, whole:")
