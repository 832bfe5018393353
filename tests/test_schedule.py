"""Injection schedules: protocol generation, per-patient edits, interval lengths (SPEC §8, §12)."""

import pandas as pd
import pytest

from msc_notebooks import analyze, load_demo
from msc_notebooks.errors import ScheduleError
from msc_notebooks.schedule import (
    apply_protocol,
    interval_table,
    protocol_schedule,
    renumber,
    set_injections,
)

M = 365.25 / 12


def test_protocol_days_by_hand():
    # 4.5 months = 136.97 days -> 137; cumulative 9 months = 273.94 -> 274 (rounded once)
    inj = protocol_schedule(["p"], 10, 4.5, 3, time_kind="day")
    assert inj.day.tolist() == [10.0, 147.0, 284.0]
    assert inj.injection_number.tolist() == [1, 2, 3]
    # per-interval months and per-patient first dates
    inj = protocol_schedule(["a", "b"], {"a": "2020-01-31", "b": "2020-02-29"}, [3, 6], 3)
    assert inj[inj.patient_id == "b"].date.dt.strftime("%Y-%m-%d").tolist() == [
        "2020-02-29",
        "2020-05-30",
        "2020-11-29",
    ]  # +91 and +274 days (Nov 29 is day 274)


@pytest.mark.parametrize("count, months", [(0, 3), (3, 0), (3, [3, 4, 5])])
def test_impossible_protocols_are_refused(count, months):
    with pytest.raises(ScheduleError):
        protocol_schedule(["p"], 0, months, count, time_kind="day")


def test_apply_protocol_to_selected_patients_keeps_the_others():
    study = load_demo()
    before = study.injections[study.injections.patient_id == "002"].day.tolist()
    edited = apply_protocol(study, "2016-06-01", 3, 2, ["001"])
    one = edited.injections[edited.injections.patient_id == "001"]
    assert one.date.dt.strftime("%Y-%m-%d").tolist() == ["2016-06-01", "2016-08-31"]
    assert edited.injections[edited.injections.patient_id == "002"].day.tolist() == before
    assert study.injections is not edited.injections  # the original is not modified
    # the analysis follows the edit: patient 001 now has periods 1-2, after-last, whole only
    r = analyze(edited)
    assert r.periods[r.periods.patient_id == "001"].period.tolist() == [
        "reference",
        "1-2",
        "after-last",
        "whole",
    ]


def test_set_injections_moves_an_injection_and_the_interval_follows():
    study = load_demo()
    days = study.injections[study.injections.patient_id == "013"].day.tolist()
    moved = set_injections(study, "013", [days[0], days[1] + 30])
    iv = interval_table(moved.injections).set_index(["patient_id", "interval"])
    assert iv.loc[("013", "1-2"), "days"] == days[1] - days[0] + 30
    assert iv.loc[("013", "1-2"), "months"] == pytest.approx((days[1] - days[0] + 30) / M)
    with pytest.raises(ScheduleError, match="same day"):
        set_injections(study, "013", [days[0], days[0]])


def test_renumber_follows_time_order():
    inj = pd.DataFrame({"patient_id": ["x", "x", "y"], "day": [50.0, 5.0, 1.0], "row": [2, 3, 4]})
    out = renumber(inj)
    assert out[["patient_id", "day", "injection_number"]].values.tolist() == [
        ["x", 5.0, 1],
        ["x", 50.0, 2],
        ["y", 1.0, 1],
    ]
