"""King's and MiToS stages, stage changes per period, ΔFS strata (SPEC §16).

Every expected stage below is worked out by hand from the item scores written in the test,
with the rule of SPEC §16 it exercises named in a comment.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from msc_notebooks import analyze, load_demo, read_study
from msc_notebooks.settings import MONTH_DAYS, Settings
from msc_notebooks.stages import assessment_stages, kings_regions, stage_items, stage_tables
from msc_notebooks.strata import progression_strata, strata_summary

ITEM_NAMES = ["q1", "q2", "q3", "q4", "q5a", "q5b", "q6", "q7", "q8", "q9", "q10", "q11", "q12"]


def row(**changes) -> dict:
    """One assessment, every item 4 (normal) and q5 scored as 5a, with changes."""
    r = {k: 4.0 for k in ITEM_NAMES}
    r["q5b"] = np.nan
    r.update({k: (np.nan if v is None else float(v)) for k, v in changes.items()})
    return r


def stage(**changes) -> pd.Series:
    total = changes.pop("total", None)
    gastrostomy = changes.pop("gastrostomy_date", False)
    dead = changes.pop("dead", False)
    items = pd.DataFrame([row(**changes)])
    if total is not None:
        items["alsfrs_r_total"] = float(total)
    return stage_items(items, gastrostomy=[gastrostomy], dead=[dead]).iloc[0]


# --------------------------------------------------------------------------- King's


@pytest.mark.parametrize(
    "changes, kings",
    [
        ({"q2": 3}, "1"),  # bulbar: any of q1-q3 < 4
        ({"q1": 0, "q3": 2}, "1"),  # still one region
        ({"q4": 3}, "1"),  # upper limb: q4 < 4
        ({"q5a": 3}, "1"),  # upper limb: q5a < 4
        ({"q8": 3}, "1"),  # lower limb: q8 < 4
        ({"q1": 3, "q4": 3}, "2"),  # bulbar + upper
        ({"q3": 2, "q8": 1}, "2"),  # bulbar + lower
        ({"q1": 3, "q5a": 2, "q8": 3}, "3"),  # all three regions
        ({"q5a": None, "q5b": 4}, "4A"),  # q5b answered instead of q5a: gastrostomy
        ({"q5a": None, "q5b": 1, "q1": 3, "q4": 2, "q8": 3}, "4A"),  # 4A over 3
        ({"q10": 0}, "4B"),  # q10 = 0
        ({"q12": 3}, "4B"),  # q12 < 4
        ({"q12": 3, "q5a": None, "q5b": 2}, "4B"),  # 4B over 4A
        ({"q10": 0, "q1": 2, "q4": 2, "q8": 2}, "4B"),  # 4B over 3
    ],
)
def test_kings_rules(changes, kings):
    assert stage(**changes)["kings"] == kings


def test_kings_items_not_used():
    # q9 (stairs) is not the lower-limb item, q10 = 1 is not respiratory failure and q11
    # is not used: no region involved, total 48 - 2 - 3 - 3 = 40 < 48: stage 1, flagged
    s = stage(q9=2, q10=1, q11=1, total=40)
    assert s["kings"] == "1" and "King's 1 with no region" in s["flag"]
    # q5b is another scale: q5b = 2 alone does not involve the upper limb, but it is 4A
    assert stage(q5a=None, q5b=2)["kings"] == "4A"


def test_kings_no_region_full_score_is_not_staged():
    s = stage(total=48)
    assert pd.isna(s["kings"]) and s["reason"] == "King's: no region involved and a total of 48"


def test_kings_gastrostomy_date_and_death():
    # a gastrostomy date on or before the assessment: 4A although q5a was answered
    assert stage(q1=3, gastrostomy_date=True)["kings"] == "4A"
    # 4B over a gastrostomy date
    assert stage(q10=0, gastrostomy_date=True)["kings"] == "4B"
    # stage 5 only from a death date, over everything else; also MiToS 5
    s = stage(q10=0, dead=True)
    assert (s["kings"], s["mitos"]) == ("5", 5)
    # the worst items without a death date are not stage 5
    s = stage(**{k: 0 for k in ITEM_NAMES if k != "q5b"})
    assert (s["kings"], s["mitos"]) == ("4B", 4)


# --------------------------------------------------------------------------- MiToS


@pytest.mark.parametrize(
    "changes, mitos",
    [
        ({}, 0),
        ({"q8": 1}, 1),  # movement: q8 <= 1
        ({"q6": 1}, 1),  # movement: q6 <= 1
        ({"q8": 2, "q6": 2, "q7": 0, "q9": 0}, 0),  # q7, q9 are not MiToS items
        ({"q3": 1}, 1),  # swallowing: q3 <= 1
        ({"q3": 2}, 0),
        ({"q1": 1}, 0),  # communicating needs q1 <= 1 AND q4 <= 1: q4 = 4
        ({"q4": 0}, 0),  # ... and q1 = 4
        ({"q1": 1, "q4": 1}, 1),  # both: communicating lost
        ({"q10": 1}, 1),  # breathing: q10 <= 1
        ({"q12": 2}, 1),  # breathing: q12 <= 2
        ({"q12": 3, "q10": 2}, 0),  # q12 = 3 is King's 4B but not MiToS breathing
        ({"q8": 0, "q6": 0}, 1),  # one domain however many of its items
        ({"q8": 1, "q3": 1, "q1": 0, "q4": 1, "q12": 0}, 4),  # all four domains
        ({"q6": 1, "q3": 0, "q10": 0}, 3),
    ],
)
def test_mitos_rules(changes, mitos):
    assert stage(**changes)["mitos"] == mitos


# --------------------------------------------------------------------------- missing items


def test_missing_item_makes_the_stage_missing():
    # q8 missing with bulbar + upper involved: King's 2 (q8 = 4) or 3 (q8 < 4): missing.
    # MiToS: q8 missing, q6 = 4: movement lost only if q8 <= 1: missing.
    s = stage(q1=3, q4=3, q8=None)
    assert pd.isna(s["kings"]) and pd.isna(s["mitos"])
    assert s["reason"] == "King's: item q8 missing; MiToS: item q8 missing"


def test_missing_item_that_cannot_change_the_stage():
    # q10 = 0 is 4B whatever q1 is; MiToS: q4 = 4 so communicating is not lost whatever q1
    # is ("and"), breathing lost by q10 = 0: 1 domain
    s = stage(q1=None, q10=0)
    assert (s["kings"], s["mitos"], s["reason"]) == ("4B", 1, "")
    assert "King's decided despite missing" in s["flag"]
    # with q4 <= 1 the missing q1 decides communicating: MiToS missing (the "and")
    s = stage(q1=None, q4=1, q10=0)
    assert s["kings"] == "4B" and pd.isna(s["mitos"])
    assert s["reason"] == "MiToS: item q1 missing"


def test_missing_item_5_both_forms():
    # neither q5a nor q5b: upper limb unknown and gastrostomy unknown (4A possible)
    s = stage(q5a=None, q8=3)
    assert pd.isna(s["kings"]) and s["reason"] == "King's: item q5 missing"
    assert s["mitos"] == 0  # item 5 is not a MiToS item
    # ... unless 4B decides: q12 = 3
    assert stage(q5a=None, q12=3)["kings"] == "4B"


def test_no_items_only_total():
    items = pd.DataFrame({"alsfrs_r_total": [40.0]})
    s = stage_items(items).iloc[0]
    assert pd.isna(s["kings"]) and pd.isna(s["mitos"])
    assert s["reason"] == "no item scores (only the total)"


def test_canonical_q5_with_gastrostomy_flag():
    # the kit's canonical visits: q5 + gastrostomy (True = q5 is q5b)
    base = {f"q{i}": [4.0, 4.0, 3.0] for i in range(1, 13)}
    items = pd.DataFrame({**base, "gastrostomy": [True, False, False]})
    # row 0: q5b answered -> 4A; row 1: all 4, total 48 -> not staged; row 2: every item 3
    # -> regions 3, q12 = 3 -> 4B
    out = stage_items(items)
    assert out["kings"].fillna("").tolist() == ["4A", "", "4B"]
    # a plain q5 without a gastrostomy column is read as q5a: q5 = 3 involves the upper limb
    one = pd.DataFrame({**{f"q{i}": [4.0] for i in range(1, 13)}, "q5": [3.0]})
    assert stage_items(one)["kings"].tolist() == ["1"]


# --------------------------------------------------------------------------- properties

item = st.one_of(st.none(), st.integers(0, 4))


@st.composite
def item_rows(draw, allow_missing=True):
    n = draw(st.integers(1, 6))
    rows = []
    for _ in range(n):
        r = {f"q{i}": draw(item if allow_missing else st.integers(0, 4)) for i in range(1, 13)}
        q5 = r.pop("q5")  # item 5 scored one way: 5b (gastrostomy) or 5a
        gastro = draw(st.booleans())
        r["q5a"], r["q5b"] = (None, q5) if gastro else (q5, None)
        rows.append(r)
    return pd.DataFrame(rows, dtype=float)


@settings(max_examples=60, deadline=None)
@given(item_rows(), st.randoms(use_true_random=False))
def test_stage_does_not_depend_on_row_or_column_order(items, rnd):
    expected = stage_items(items)
    cols = list(items.columns)
    rnd.shuffle(cols)
    rows = list(items.index)
    rnd.shuffle(rows)
    shuffled = stage_items(items.loc[rows, cols])
    pd.testing.assert_frame_equal(shuffled.loc[expected.index], expected)


def _rank(kings: pd.Series) -> np.ndarray:
    order = {"": 0, "1": 1, "2": 2, "3": 3, "4A": 4, "4B": 5, "5": 6}
    return np.array([order[k] for k in kings.fillna("")])


@settings(max_examples=60, deadline=None)
@given(item_rows(allow_missing=False), st.sampled_from(["q1", "q2", "q3", "q4", "q5a", "q8"]))
def test_a_lower_item_never_lowers_the_region_count(items, name):
    q = {k: items[k].to_numpy() for k in ("q1", "q2", "q3", "q4", "q5a", "q8")}
    before = kings_regions(q)
    q[name] = np.where(np.isnan(q[name]), q[name], np.maximum(q[name] - 1, 0))
    assert (kings_regions(q) >= before).all()


@settings(max_examples=60, deadline=None)
@given(item_rows(allow_missing=False), st.sampled_from([f"q{i}" for i in range(1, 13) if i != 5]))
def test_a_lower_item_never_lowers_a_stage(items, name):
    before = stage_items(items)
    lower = items.copy()
    lower[name] = np.maximum(lower[name] - 1, 0)
    after = stage_items(lower)
    assert (_rank(after["kings"]) >= _rank(before["kings"])).all()
    assert (after["mitos"].to_numpy() >= before["mitos"].to_numpy()).all()


# --------------------------------------------------------------------------- studies


def _study(visits, injections, patients=None):
    return read_study(pd.DataFrame(visits), pd.DataFrame(injections), patients)


def test_stage_at_injections_and_periods_small_study():
    # patient a: day 0 q1 = 3 (King's 1), day 60 + q4 = 3 (2), day 150 + q8 = 3 (3);
    # patient b: day 0 all 4 but q7 = 3 (total 47, King's 1 flagged), day 60 q5 missing,
    # day 150 q10 = 0 (4B). Injections day 60 and 150 (the assessment on the day is used).
    base = {f"q{i}": 4 for i in range(1, 13)}
    v = []
    for pid, days_changes in {
        "a": [(0, {"q1": 3}), (60, {"q1": 3, "q4": 3}), (150, {"q1": 3, "q4": 3, "q8": 3})],
        "b": [(0, {"q7": 3}), (60, {"q7": 3, "q5": None}), (150, {"q7": 3, "q10": 0})],
    }.items():
        for d, ch in days_changes:
            r = {**base, **ch}
            # the total is given (with q5 missing it cannot be summed from the items)
            total = sum(x for x in r.values() if x is not None) + (4 if "q5" in ch else 0)
            v.append({"patient_id": pid, "day": d, **r, "alsfrs_r_total": total})
    inj = [{"patient_id": p, "day": d} for p in "ab" for d in (60, 150)]
    study = _study(v, inj)
    result = analyze(study)
    st_ = stage_tables(result)
    at = st_.injections.set_index(["patient_id", "injection_number"])
    assert at.loc[("a", 1), "kings"] == "2" and at.loc[("a", 2), "kings"] == "3"
    assert pd.isna(at.loc[("b", 1), "kings"])
    assert at.loc[("b", 1), "reason"] == "King's: item q5 missing"
    assert at.loc[("b", 2), "kings"] == "4B"
    per = st_.periods.set_index(["patient_id", "period"])
    # a: reference 1 -> 2 (progressed), 1-2: 2 -> 3 (progressed)
    assert per.loc[("a", "reference"), ["kings_start", "kings_end"]].tolist() == ["1", "2"]
    assert per.loc[("a", "1-2"), ["kings_start", "kings_end"]].tolist() == ["2", "3"]
    assert bool(per.loc[("a", "1-2"), "kings_progressed"])
    # b: 1-2 starts at the assessment with q5 missing: not staged, with the reason
    assert pd.isna(per.loc[("b", "1-2"), "kings_progressed"])
    assert per.loc[("b", "1-2"), "reason"] == "at the start: King's: item q5 missing"
    prog = st_.progression.set_index(["period", "system"])
    row12 = prog.loc[("1-2", "kings")]
    assert (row12.n_in_period, row12.n_staged, row12.n_not_staged, row12.n_progressed) == (
        2,
        1,
        1,
        1,
    )
    # exact Clopper-Pearson of 1/1 (independent library call)
    ci = stats.binomtest(1, 1).proportion_ci(method="exact")
    assert row12.ci_low_pct == pytest.approx(100 * ci.low)
    assert row12.ci_high_pct == pytest.approx(100 * ci.high)
    trans = st_.transitions
    got = trans[(trans.period == "1-2") & (trans.system == "kings")]
    assert got[["stage_start", "stage_end", "n_patients"]].values.tolist() == [["2", "3", 1]]
    # MiToS of b at 150: q10 = 0 -> breathing lost: 1; at 0: 0 -> 1-2 start missing only for
    # King's (q5 is not a MiToS item): MiToS 0 -> 1, progressed
    assert per.loc[("b", "1-2"), ["mitos_start", "mitos_end"]].tolist() == [0, 1]


def test_gastrostomy_and_death_dates_from_the_patients_table():
    base = {f"q{i}": 4 for i in range(1, 13)}
    v = [
        {"patient_id": "a", "date": "2020-01-01", **base, "q1": 3},
        {"patient_id": "a", "date": "2020-03-01", **base, "q1": 3},
        {"patient_id": "a", "date": "2020-05-01", **base, "q1": 3},
    ]
    inj = [{"patient_id": "a", "date": "2020-03-01"}]
    pats = pd.DataFrame(
        {"patient_id": ["a"], "gastrostomy_date": ["2020-03-01"], "death_date": ["2020-09-01"]}
    )
    study = read_study(pd.DataFrame(v), pd.DataFrame(inj), pats)
    t = assessment_stages(study)
    # gastrostomy date on (2020-03-01) or before (2020-05-01) the assessment: 4A; before: 1;
    # the death date adds a stage-5 row
    assert t["kings"].tolist() == ["1", "4A", "4A", "5"]
    assert t["mitos"].tolist() == [0, 0, 0, 5]
    assert t["flag"].iloc[-1] == "death date"
    csv = stage_tables(analyze(study)).stages_csv()
    assert csv.columns.tolist() == ["patient_id", "date", "kings", "mitos", "reason", "flag"]
    assert csv["date"].tolist() == ["2020-01-01", "2020-03-01", "2020-05-01", "2020-09-01"]


def test_running_max_setting():
    # derived stages 2, 1, 3, 2 -> running maximum 2, 2, 3, 3
    base = {f"q{i}": 4 for i in range(1, 13)}
    ch = [{"q1": 3, "q4": 3}, {"q1": 3}, {"q1": 3, "q4": 3, "q8": 3}, {"q1": 3, "q4": 3}]
    v = [{"patient_id": "a", "day": 30 * i, **base, **c} for i, c in enumerate(ch)]
    study = _study(v, [{"patient_id": "a", "day": 60}])
    assert assessment_stages(study)["kings"].tolist() == ["2", "1", "3", "2"]
    t = assessment_stages(study, Settings(stages_running_max=True))
    assert t["kings"].tolist() == ["2", "2", "3", "3"]
    assert t["flag"].tolist() == ["", "running maximum", "", "running maximum"]


# --------------------------------------------------------------------------- demo by hand


def test_demo_transitions_by_hand():
    # Items read from msc_notebooks/data/demo/visits.csv at the assessments used (every
    # injection has an assessment on its day; after-last ends at the last assessment).
    # 001 (limb onset): 2016-01-08 q4 = 2, q8 = 4 -> upper only: 1
    #   T1 2016-06-10 q4 = 2, q8 = 2 -> upper + lower: 2;  T2 2016-09-18 q8 = 4 -> 1;
    #   T3 2017-03-01 q8 = 4 -> 1;  T4 2017-07-24 q8 = 4 -> 1;  last 2017-11-21 q8 = 2 -> 2.
    #   MiToS always 0 (q8 >= 2, q6 >= 2, q3 = 4, q1 = 4, q10 = q12 = 4).
    # 003 (bulbar onset): 2016-02-10 q1-q3 = 2, q4 = 2, q8 = 4 -> 2;
    #   T1 2016-05-27 q8 = 3 -> 3;  T2 2016-10-27 q8 = 4 -> 2;  T3 2017-02-09 q8 = 2 -> 3;
    #   T4 2017-06-05 q8 = 2 -> 3;  last 2017-10-05 q8 = 2, q10 = q12 = 4 -> 3.
    per = stage_tables(analyze(load_demo())).periods.set_index(["patient_id", "period"])
    expected = {
        "001": {
            "reference": ("1", "2"),
            "1-2": ("2", "1"),
            "2-3": ("1", "1"),
            "3-4": ("1", "1"),
            "after-last": ("1", "2"),
            "whole": ("2", "1"),
        },
        "003": {
            "reference": ("2", "3"),
            "1-2": ("3", "2"),
            "2-3": ("2", "3"),
            "3-4": ("3", "3"),
            "after-last": ("3", "3"),
            "whole": ("3", "3"),
        },
    }
    for pid, periods in expected.items():
        for period, (a, b) in periods.items():
            got = tuple(per.loc[(pid, period), ["kings_start", "kings_end"]])
            assert got == (a, b), (pid, period)
            assert tuple(per.loc[(pid, period), ["mitos_start", "mitos_end"]]) == (0, 0)
    assert per.loc[("001", "after-last"), "kings_progressed"]
    assert not per.loc[("001", "whole"), "kings_progressed"]  # went back: 2 -> 1


# --------------------------------------------------------------------------- ΔFS strata


def test_delta_fs_by_hand():
    # a: onset day -365.25 (12 months before the first assessment at day 0), score 42:
    #    (48 - 42) / 12 = 0.5 -> intermediate.  b: 6 months, 45: 3 / 6 = 0.5 -> intermediate
    # at 0.47 cut-off?  no: 0.5 >= 0.47. c: 4 months, 40: 8/4 = 2.0 -> fast.
    # d: 12 months, 46: 2/12 = 0.1667 -> slow. e: onset after the first assessment -> unknown.
    # f: no onset date -> unknown.
    m = MONTH_DAYS
    onset = {"a": -12 * m, "b": -6 * m, "c": -4 * m, "d": -12 * m, "e": 10.0, "f": None}
    score = {"a": 42, "b": 45, "c": 40, "d": 46, "e": 40, "f": 40}
    v = [
        {"patient_id": p, "day": d, "alsfrs_r_total": score[p] - k}
        for p in onset
        for k, d in enumerate((0, 90))
    ]
    pats = pd.DataFrame({"patient_id": list(onset), "onset_day": list(onset.values())})
    study = read_study(pd.DataFrame(v), None, pats)
    t = progression_strata(study).set_index("patient_id")
    assert t.loc["a", "delta_fs"] == pytest.approx(0.5)
    assert t.loc["c", "delta_fs"] == pytest.approx(2.0)
    assert t.loc["d", "delta_fs"] == pytest.approx(2 / 12)
    assert t["stratum"].to_dict() == {
        "a": "intermediate",
        "b": "intermediate",
        "c": "fast",
        "d": "slow",
        "e": "unknown",
        "f": "unknown",
    }
    assert t.loc["e", "reason"] == "symptom onset is not before the first assessment"
    assert t.loc["f", "reason"] == "no symptom-onset date"
    # the cut-offs are settings: slow below 0.6 makes a and b slow
    t2 = progression_strata(study, Settings(dfs_slow_below=0.6)).set_index("patient_id")
    assert t2.loc[["a", "b"], "stratum"].tolist() == ["slow", "slow"]
    # exactly at a cut-off is intermediate (0.47 <= ΔFS <= 1.11)
    t3 = progression_strata(study, Settings(dfs_slow_below=0.5, dfs_fast_above=2.0))
    assert t3.set_index("patient_id").loc[["a", "c"], "stratum"].tolist() == [
        "intermediate",
        "intermediate",
    ]


def test_strata_summary_counts_add_up_on_the_demo():
    result = analyze(load_demo())
    t = strata_summary(result)
    # per period, the strata partition the patients of the overall summary
    overall = result.summary.set_index("period")
    for period, g in t.groupby("period"):
        assert g.n_evaluable.sum() == overall.loc[period, "n_evaluable"]
        assert g.n_responders.sum() == overall.loc[period, "n_responders"]
    # the median of one stratum, recomputed from the period table
    strata = progression_strata(result.study).set_index("patient_id")["stratum"]
    p = result.periods[(result.periods.period == "1-2") & result.periods.evaluable]
    slow = p[p.patient_id.map(strata) == "slow"].improvement_pct
    row = t[(t.period == "1-2") & (t.stratum == "slow")].iloc[0]
    assert row.median_improvement_pct == pytest.approx(float(np.median(slow)))
    assert row.responders.startswith(f"{int((slow > 25).sum())}/{len(slow)} evaluable")


def test_strata_summary_no_effect_expectation_is_simulate_null_on_the_stratum():
    from msc_notebooks.null_model import simulate_null
    from msc_notebooks.strata import _subset

    result = analyze(load_demo())
    t = strata_summary(result, n_simulations=40, sigma=1.0)
    ids = set(progression_strata(result.study).query("stratum == 'intermediate'").patient_id)
    ids &= set(result.periods.patient_id)
    sub = analyze(dataclasses.replace(_subset(result.study, ids)))
    null = simulate_null(sub, 40, sigma=1.0).set_index("period")
    got = t[t.stratum == "intermediate"].set_index("period")
    assert got.loc["1-2", "expected_responders"] == null.loc["1-2", "expected_responders"]
    assert got.loc["1-2", "n_evaluable"] == null.loc["1-2", "n_evaluable"]


def test_onset_reference_has_no_starting_stage_and_other_outcomes_use_alsfrs():
    # with the onset reference the run-in starts at symptom onset, not at an assessment
    st_ = stage_tables(analyze(load_demo(), reference="onset", method="ols"))
    ref = st_.periods[st_.periods.period == "reference"]
    assert ref.kings_start.isna().all()
    assert (ref.reason == "the onset reference starts at symptom onset, not an assessment").all()
    # the stages of period 1-2 are those of the ALSFRS-R assessments whatever the outcome
    default = stage_tables(analyze(load_demo())).transitions
    fvc = stage_tables(analyze(load_demo(), outcome="fvc_pct")).transitions
    pd.testing.assert_frame_equal(default, fvc)
