"""Natural-history mode (SPEC §13): virtual injections on an untreated cohort, by hand."""

from __future__ import annotations

import pandas as pd
import pytest

from msc_notebooks import SettingsError, analyze, read_study
from msc_notebooks.natural_history import (
    NATURAL_HISTORY_COLUMNS,
    natural_history_responders,
    natural_history_result,
    virtual_injections,
)

MD = 365.25 / 12  # SPEC §2


def proact_file(tmp_path):
    """Three untreated patients in the PRO-ACT alsfrs.csv layout, written to disk."""
    rows = [
        # patient 1: 40, 37, 35, 33 at days 0, 90, 181, 272
        ("1", 0, 40),
        ("1", 90, 37),
        ("1", 181, 35),
        ("1", 272, 33),
        # patient 2: 44, 41, 38, 35 at days 10, 100, 191, 282
        ("2", 10, 44),
        ("2", 100, 41),
        ("2", 191, 38),
        ("2", 282, 35),
        # patient 3: leaves at day 120, before the second virtual injection
        ("3", 0, 42),
        ("3", 60, 40),
        ("3", 90, 39),
        ("3", 120, 39),
    ]
    df = pd.DataFrame(rows, columns=["subject_id", "ALSFRS_Delta", "ALSFRS_R_Total"])
    path = tmp_path / "alsfrs.csv"
    df.to_csv(path, index=False)
    return path


def test_protocol_virtual_injections_by_hand(tmp_path):
    # protocol (90 days after the first assessment, every 3 months, 2 injections):
    # 3 months = 91.3125 days, rounded to 91 (schedule.protocol_schedule). Patient 3's
    # second injection (day 181) is after its last assessment (120) + 14 days: dropped.
    inj = virtual_injections(read_study(str(proact_file(tmp_path))), protocol=(90, 3, 2))
    got = inj.groupby("patient_id")["day"].apply(list).to_dict()
    assert got == {"1": [90.0, 181.0], "2": [100.0, 191.0], "3": [90.0]}
    assert inj["row"].eq("virtual").all()


def test_protocol_responders_by_hand(tmp_path):
    # SPEC §4-6 by hand (run-in reference, endpoints rates, responder > 25 %):
    # patient 1: reference (40 - 37) / (90 / 30.4375) = 1.014583 points/month;
    #   1-2: (37 - 35) / (91 / 30.4375) = 0.668956, improvement 34.07 % -> responder;
    #   after-last (35 - 33) over 91 days: the same 34.07 % -> responder; whole = 1-2.
    # patient 2: reference 3 / (90 / MD) = 1.014583; 1-2: 3 / (91 / MD) = 1.003434,
    #   improvement 1.10 % -> not; after-last the same -> not; whole the same -> not.
    # patient 3: one injection (day 90): reference (42 - 39) / (90 / MD) = 1.014583;
    #   after-last day 90 -> 120 (30 days >= 28): (39 - 39) = 0, improvement 100 % ->
    #   responder; no 1-2 period, whole not evaluable (only one injection).
    ref = 3 / (90 / MD)
    p1 = 2 / (91 / MD)
    p2 = 3 / (91 / MD)
    res = natural_history_result(str(proact_file(tmp_path)), protocol=(90, 3, 2))
    per = res.periods.set_index(["patient_id", "period"])
    assert per.loc[("1", "reference"), "rate"] == pytest.approx(ref)
    assert per.loc[("1", "1-2"), "rate"] == pytest.approx(p1)
    assert per.loc[("1", "1-2"), "improvement_pct"] == pytest.approx(100 * (ref - p1) / ref)
    assert per.loc[("2", "1-2"), "improvement_pct"] == pytest.approx(100 * (ref - p2) / ref)
    assert per.loc[("3", "after-last"), "improvement_pct"] == pytest.approx(100.0)

    summary = natural_history_responders(str(proact_file(tmp_path)), protocol=(90, 3, 2))
    assert list(summary.columns) == list(NATURAL_HISTORY_COLUMNS[:5])
    s = summary.set_index("period")
    assert s.loc["1-2", ["n_evaluable", "n_responders"]].tolist() == [2, 1]
    assert s.loc["1-2", "responder_pct"] == pytest.approx(50.0)
    assert s.loc["after-last", ["n_evaluable", "n_responders"]].tolist() == [3, 2]
    assert s.loc["after-last", "responder_pct"] == pytest.approx(200 / 3)
    assert s.loc["whole", ["n_evaluable", "n_responders"]].tolist() == [2, 1]
    # absolute responders need a drop of 1.25 points/month: none here (largest 1.0146)
    assert s["n_absolute_responders"].sum() == 0


def trial_result():
    """Two treated patients: A (first assessment day 0, injections 100, 200) and
    B (first assessment day 10, injections 70, 160, 340)."""
    visits = pd.DataFrame(
        {
            "patient_id": ["A"] * 5 + ["B"] * 6,
            "day": [0, 50, 100, 200, 260, 10, 40, 70, 160, 340, 400],
            "alsfrs_r_total": [40, 39, 37, 36, 35, 44, 43, 41, 40, 36, 35],
        }
    )
    injections = pd.DataFrame(
        {"patient_id": ["A", "A", "B", "B", "B"], "day": [100, 200, 70, 160, 340]}
    )
    return analyze(read_study(visits, injections), safety=False)


def test_trial_schedules_cycled_over_the_cohort(tmp_path):
    # median run-in of the trial: A 100 days, B 60 days -> 80 days. Patients in id order
    # take the trial patients' schedules in turn: 1 <- A (offsets 0, 100), 2 <- B (0, 90,
    # 270), 3 <- A. First virtual injection at the first assessment + 80 days; injections
    # after the last assessment + 14 days are dropped.
    study = read_study(str(proact_file(tmp_path)))
    inj = virtual_injections(study, trial_result())
    got = inj.groupby("patient_id")["day"].apply(list).to_dict()
    assert got == {"1": [80.0, 180.0], "2": [90.0, 180.0], "3": [80.0]}
    # 2: 90 + 270 = 360 > 282 + 14; 3: 80 + 100 = 180 > 120 + 14


def test_summary_beside_the_trial(tmp_path):
    trial = trial_result()
    summary = natural_history_responders(str(proact_file(tmp_path)), trial)
    assert list(summary.columns) == list(NATURAL_HISTORY_COLUMNS)
    t = trial.summary.set_index("period")
    s = summary.set_index("period")
    assert s.loc["1-2", "trial_n_evaluable"] == t.loc["1-2", "n_evaluable"]
    assert s.loc["1-2", "trial_responder_pct"] == pytest.approx(t.loc["1-2", "responder_pct"])


def test_exactly_one_schedule_source(tmp_path):
    path = str(proact_file(tmp_path))
    with pytest.raises(SettingsError, match="exactly one"):
        natural_history_responders(path)
    with pytest.raises(SettingsError, match="exactly one"):
        natural_history_responders(path, trial_result(), protocol=(90, 3, 2))
