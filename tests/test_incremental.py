"""Incremental updates after an injection edit (issue #20): the same tables as a full analysis.

:func:`msc_notebooks.analysis.update` re-analyses only the patients whose injections were
edited (``update_kind == 'patients'``) and splices their rows into the result. Here every
edit (move, add, remove an injection; an edit that leaves a period or the whole patient
not evaluable; several patients at once; a protocol) on several cohorts (the demo with its
adverse events, synthetic cohorts with calendar dates and with day numbers, a
natural-history cohort given a protocol, scored on a domain with the onset reference) is
checked table by table against a full :func:`msc_notebooks.analyze` of the edited study:
the oracle is the engine run from scratch, which the other test files check against
values worked out by hand. A second set of tests proves that only the edited patients
were re-analysed.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

from synth import synth_cohort  # noqa: E402

import msc_notebooks.analysis as analysis  # noqa: E402
from msc_notebooks import analyze, load_demo, read_study  # noqa: E402
from msc_notebooks.analysis import update, update_kind  # noqa: E402
from msc_notebooks.natural_history import virtual_injections  # noqa: E402
from msc_notebooks.schedule import apply_protocol, edited_patients, set_injections  # noqa: E402
from msc_notebooks.settings import Settings  # noqa: E402
from msc_notebooks.synthetic import natural_history_cohort  # noqa: E402

#: Fewer resamples than the default: the same code paths, a faster suite.
FAST = Settings(bootstrap_samples=199)

TABLES = (
    "periods",
    "rates",
    "summary",
    "statistics",
    "clinical",
    "clinical_patients",
    "intervals",
    "interval_lengths",
)
SAFETY_TABLES = ("by_term", "serious", "by_injection", "incidence", "events")


def assert_same_result(got, want) -> None:
    """Every table of two results equal (values, dtypes, order, index)."""
    for name in TABLES:
        try:
            pd.testing.assert_frame_equal(getattr(got, name), getattr(want, name))
        except AssertionError as exc:
            raise AssertionError(f"table {name!r} differs: {exc}") from None
    assert got.settings == want.settings
    assert (got.safety is None) == (want.safety is None)
    if want.safety is not None:
        for name in SAFETY_TABLES:
            pd.testing.assert_frame_equal(getattr(got.safety, name), getattr(want.safety, name))
        assert got.safety.sentence == want.safety.sentence
        assert (got.safety.n_treated, got.safety.n_injections) == (
            want.safety.n_treated,
            want.safety.n_injections,
        )


def _day_events(tables: dict, seed: int) -> pd.DataFrame:
    """Adverse events 0-40 days after random injections (day-numbered cohorts)."""
    rng = np.random.default_rng(seed)
    inj = tables["injections"]
    rows = inj.iloc[rng.integers(0, len(inj), size=len(inj))]
    return pd.DataFrame(
        {
            "patient_id": rows["patient_id"].to_numpy(),
            "day": rows["day"].to_numpy() + rng.integers(0, 41, size=len(rows)),
            "term": rng.choice(["headache", "back pain", "fever"], size=len(rows)),
            "severity": rng.choice(["mild", "moderate", "severe"], size=len(rows)),
            "serious": np.where(rng.random(len(rows)) < 0.05, "yes", "no"),
        }
    )


def _synth(time: str):
    tables = synth_cohort(120, seed=5, time=time)
    if time == "day":
        events = _day_events(tables, 5)
    else:
        inj = tables["injections"]
        rng = np.random.default_rng(5)
        rows = inj.iloc[rng.integers(0, len(inj), size=len(inj))]
        events = pd.DataFrame(
            {
                "patient_id": rows["patient_id"].to_numpy(),
                "date": (rows["date"] + pd.to_timedelta(rng.integers(0, 41, len(rows)), "D"))
                .dt.strftime("%Y-%m-%d")
                .to_numpy(),
                "term": rng.choice(["headache", "fever"], size=len(rows)),
                "severity": rng.choice(["mild", "moderate"], size=len(rows)),
                "serious": "no",
            }
        )
    return read_study(tables["visits"], tables["injections"], tables["patients"], events)


def _natural_history():
    study = natural_history_cohort(60, seed=3)
    return study.with_injections(virtual_injections(study, protocol=(90, 3, 3)))


COHORTS = {
    "demo": (load_demo, FAST),
    "synth-date": (lambda: _synth("date"), FAST),
    "synth-day": (lambda: _synth("day"), FAST.replace(method="ols")),
    "natural-history-onset-bulbar": (
        _natural_history,
        FAST.replace(outcome="bulbar", reference="onset"),
    ),
}


@pytest.fixture(scope="module", params=sorted(COHORTS))
def base(request):
    make, s = COHORTS[request.param]
    study = make()
    return analyze(study, s)


def random_edit(study, rng: np.random.Generator):
    """One random edit of 1-3 patients' injections: move, add, remove, or a protocol."""
    inj = study.injections
    visits = study.visits
    ids = sorted(set(study.patients["patient_id"]))
    chosen = list(rng.choice(ids, size=int(rng.integers(1, 4)), replace=False))
    kind = rng.choice(["move", "add", "remove", "far", "before", "protocol"])
    if kind == "protocol":
        first = visits.loc[visits["patient_id"] == chosen[0], "day"].min()
        first = float(first) + float(rng.integers(30, 200))
        if study.time_kind == "date":
            first = pd.Timestamp("1970-01-01") + pd.Timedelta(days=first)
        return kind, apply_protocol(
            study, first, float(rng.uniform(2, 6)), int(rng.integers(1, 5)), chosen
        )
    for pid in chosen:
        days = sorted(inj.loc[inj["patient_id"] == pid, "day"].tolist())
        seen = visits.loc[visits["patient_id"] == pid, "day"]
        lo, hi = float(seen.min()), float(seen.max())
        if kind == "move" and days:
            k = int(rng.integers(len(days)))
            days[k] += float(rng.integers(-40, 41))  # may leave the 14-day window
        elif kind == "add":
            days.append(float(rng.integers(int(lo), int(hi) + 1)))
        elif kind == "remove" and days:
            days.pop(int(rng.integers(len(days))))  # may leave the patient untreated
        elif kind == "far":  # beyond every assessment: periods not evaluable
            days.append(hi + 400.0)
        elif kind == "before":  # before the run-in: no reference rate
            days = [lo - 60.0, *days]
        days = sorted(set(days))
        study = set_injections(study, pid, days)
    return kind, study


@pytest.mark.parametrize("seed", range(8))
def test_random_edits_equal_a_full_analysis(base, seed):
    rng = np.random.default_rng(seed)
    kind, edited = random_edit(base.study, rng)
    assert update_kind(base, base.settings, edited) == "patients", kind
    assert_same_result(update(base, base.settings, edited), analyze(edited, base.settings))


def test_a_chain_of_edits_equals_a_full_analysis(base):
    """Ten edits in a row, each result updated from the previous incremental one."""
    rng = np.random.default_rng(99)
    result = base
    for _ in range(10):
        _, edited = random_edit(result.study, rng)
        result = update(result, result.settings, edited)
    assert_same_result(result, analyze(result.study, base.settings))


def test_an_edit_with_a_threshold_change(base):
    rng = np.random.default_rng(7)
    _, edited = random_edit(base.study, rng)
    wanted = base.settings.replace(threshold_pct=40, inclusive=True)
    assert update_kind(base, wanted, edited) == "patients"
    assert_same_result(update(base, wanted, edited), analyze(edited, wanted))


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    pick=st.integers(0, 10_000),
    days=st.lists(st.integers(-200, 900), min_size=0, max_size=5, unique=True),
)
def test_any_schedule_of_one_patient(pick, days):
    """Hypothesis: any set of injection days for any demo patient (including none)."""
    base = _demo_result()
    ids = sorted(set(base.study.patients["patient_id"]))
    pid = ids[pick % len(ids)]
    first = float(base.study.visits.loc[base.study.visits["patient_id"] == pid, "day"].min())
    edited = set_injections(base.study, pid, [first + d for d in days])
    assert update_kind(base, base.settings, edited) == "patients"
    assert_same_result(update(base, base.settings, edited), analyze(edited, base.settings))


_DEMO: list = []


def _demo_result():
    if not _DEMO:
        _DEMO.append(analyze(load_demo(), FAST))
    return _DEMO[0]


# -- only the edited patients are re-analysed -----------------------------------------------
def test_only_the_edited_patient_is_reanalysed(monkeypatch):
    base = analyze(_synth("date"), FAST)
    pid = "017"
    days = sorted(base.study.injections.loc[base.study.injections.patient_id == pid, "day"])
    assert len(days) >= 2
    edited = set_injections(base.study, pid, [days[0], days[1] + 25.0, *days[2:]])

    seen = []
    engine = analysis._patient_tables  # what analyze runs per patient

    def spy(study, *args, **kwargs):
        seen.append(
            (
                sorted(set(study.visits["patient_id"])),
                sorted(set(study.injections["patient_id"])),
                len(study.visits),
            )
        )
        return engine(study, *args, **kwargs)

    monkeypatch.setattr(analysis, "_patient_tables", spy)
    analyze(load_demo(), FAST)  # a full analysis runs the same engine, on every patient
    assert len(seen) == 1 and len(seen[0][0]) == 20 and seen[0][2] > 100
    seen.clear()
    full = []
    monkeypatch.setattr(analysis, "analyze", lambda *a, **k: full.append(a) or None)
    stats_periods = []
    statistics = analysis.period_statistics

    def stats_spy(periods, *args, **kwargs):
        stats_periods.append(sorted(set(periods["period"])))
        return statistics(periods, *args, **kwargs)

    monkeypatch.setattr(analysis, "period_statistics", stats_spy)

    result = update(base, base.settings, edited)

    # the engine ran once, on a study holding only patient 017 (its 12 assessments), and
    # no full analysis ran
    assert seen == [([pid], [pid], 12)] and full == []
    # injection 2 moved: periods 1-2 and 2-3 changed; the other periods kept their statistics
    recomputed = [p for p in stats_periods[-1] if p != "reference"]
    assert set(recomputed) <= {"1-2", "2-3"} and recomputed
    # and the rows of the other patients are the old ones
    others = base.periods.patient_id != pid
    pd.testing.assert_frame_equal(
        result.periods[result.periods.patient_id != pid].reset_index(drop=True),
        base.periods[others].reset_index(drop=True),
    )
    assert (
        not result.periods[result.periods.patient_id == pid]
        .reset_index(drop=True)
        .equals(base.periods[~others].reset_index(drop=True))
    )
    monkeypatch.undo()
    assert_same_result(result, analyze(edited, FAST))


def test_other_changes_analyse_everything():
    base = _demo_result()
    study = base.study
    other_visits = study.visits.assign(alsfrs_r_total=study.visits["alsfrs_r_total"] - 1)
    import dataclasses

    changed = dataclasses.replace(study, visits=other_visits)
    assert edited_patients(study, changed) is None
    assert update_kind(base, base.settings, changed) == "analyze"
    assert update_kind(base, base.settings.replace(window_days=20), study) == "analyze"
    edited = set_injections(study, "001", [16962.0, 17100.0])
    assert update_kind(base, base.settings.replace(window_days=20), edited) == "analyze"
    # a protocol for every patient: more than half of them, a full analysis
    everyone = apply_protocol(study, "2016-06-01", 3, 3)
    assert update_kind(base, base.settings, everyone) == "analyze"


def test_edited_patients_is_exact():
    study = _demo_result().study
    one = set_injections(study, "002", [16980.0])
    two = set_injections(one, "005", [17000.0, 17100.0])
    assert edited_patients(study, two) == {"002", "005"}
    assert edited_patients(one, two) == {"005"}
    # the same days written again: only the row note differs ("edited"), still an edit
    days = study.injections.loc[study.injections.patient_id == "003", "day"].tolist()
    again = set_injections(study, "003", days)
    assert edited_patients(study, again) == {"003"}
    # the same table as another object: nothing edited, every table stands
    copy = study.with_injections(study.injections.copy())
    assert edited_patients(study, copy) == frozenset()
    base = _demo_result()
    same = update(base, base.settings, copy)
    assert same.study is copy
    assert_same_result(same, base)


# -- the Wizard's state and the Injections step ----------------------------------------------
def test_the_state_reattaches_the_null_and_the_matched_controls_after_an_edit():
    from msc_notebooks.matched_controls import attach_matched
    from msc_notebooks.null_model import attach_null
    from msc_notebooks.widgets.state import WizardState

    nh = natural_history_cohort(60, seed=4)
    state = WizardState()
    state.study = load_demo()
    state.null_simulations = 60
    state.natural_history = nh
    before = state.result
    assert before.null is not None and before.matched is not None
    days = state.study.injections.loc[state.study.injections.patient_id == "001", "day"]
    moved = sorted(days)
    moved[1] += 45.0  # injection 2 far from any assessment: 001's 1-2 and 2-3 change
    state.study = set_injections(state.study, "001", moved)
    assert state.last_run == "patients"
    full = analyze(state.study)
    assert_same_result(state.result, full)
    assert not state.result.summary.equals(before.summary)
    # both attached again, to the new result: equal to attaching them to a full analysis
    pd.testing.assert_frame_equal(state.result.null, attach_null(full, 60).null)
    want = attach_matched(full, nh, k=state.match_k, caliper=state.caliper).matched
    pd.testing.assert_frame_equal(state.result.matched.summary, want.summary)
    pd.testing.assert_frame_equal(state.result.matched.pairs, want.pairs)


@pytest.fixture
def step():
    from msc_notebooks.widgets import InjectionsStep
    from msc_notebooks.widgets.state import WizardState

    tables = synth_cohort(120, seed=8, time="day")
    state = WizardState()
    state.study = read_study(tables["visits"], tables["injections"], tables["patients"])
    return InjectionsStep(state)


def _rows(html: str) -> list[str]:
    """The patient ids of the rows of a schedule table page."""
    import re

    return re.findall(r"<tr><td>(\d{3})</td>", html)


def test_the_schedule_table_is_paged(step):
    from msc_notebooks.widgets.injections_step import PAGE_ROWS

    assert PAGE_ROWS == 50
    ids = sorted(set(step.state.study.patients.patient_id))
    assert _rows(step.injection_table.value) == ids[:50]
    pager = step.injection_table  # the one pager of the Wizard (widgets.common.PagedTable)
    assert "(rows 1-50 of 120, page 1 of 3)" in pager.value
    assert pager.previous.disabled and not pager.next.disabled
    pager.next.click()
    assert _rows(pager.value) == ids[50:100]
    assert "(rows 51-100 of 120, page 2 of 3)" in pager.value
    pager.page_number.value = 3
    assert _rows(pager.value) == ids[100:]
    assert "(rows 101-120 of 120, page 3 of 3)" in pager.value and pager.next.disabled


def test_an_edit_redraws_only_the_page_that_shows_it(step):
    drawn = []
    step.injection_table.table.observe(lambda ch: drawn.append(ch["new"]), names="value")
    step.injection_table.page_number.value = 3
    assert len(drawn) == 1
    # patient 002 is on page 1: the page shown (101-120) is not redrawn
    step.patient.value = "002"
    step.timeline.injections = [0.0, 100.0]  # a marker move
    assert len(drawn) == 1
    assert "<td>100</td><td>3.3</td>" in step.interval_table.value  # 100 / 30.4375 months
    assert step.state.last_run == "patients"
    # patient 110 is on page 3: its row changes, with the intervals of SPEC §8
    step.patient.value = "110"
    step.timeline.injections = [0.0, 91.3125, 200.0]
    assert len(drawn) == 2
    row = drawn[-1].split("<td>110</td>")[1].split("</tr>")[0]
    assert "<td>3</td>" in row and "1-2: 3.00, 2-3: 3.57" in row and "yes" in row
    # page 1 shows 002's edit when opened
    step.injection_table.page_number.value = 1
    row = step.injection_table.value.split("<td>002</td>")[1].split("</tr>")[0]
    assert "1-2: 3.29" in row and "yes" in row
    inj = step.state.study.injections
    assert inj.loc[inj.patient_id == "002", "day"].tolist() == [0.0, 100.0]
    assert_same_result(step.state.result, analyze(step.state.study))


def test_a_patient_without_assessments():
    """Injections for an id with no visit (a new patient): no period computable, no row."""
    base = _demo_result()
    edited = set_injections(base.study, "999", [17000.0, 17100.0])
    assert update_kind(base, base.settings, edited) == "patients"
    result = update(base, base.settings, edited)
    assert_same_result(result, analyze(edited, base.settings))
    again = update(result, result.settings, set_injections(edited, "999", []))
    assert_same_result(again, analyze(again.study, base.settings))
