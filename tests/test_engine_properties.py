"""Invariants of the analysis on random cohorts (hypothesis)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from msc_notebooks import Settings, analyze
from msc_notebooks.study import StudyData


@st.composite
def cohorts(draw):
    n = draw(st.integers(1, 6))
    visits, injections = [], []
    for p in range(n):
        pid = f"{p:03d}"
        days = sorted(set(draw(st.lists(st.integers(-200, 600), min_size=1, max_size=12))))
        for d in days:
            visits.append((pid, float(d), float(draw(st.integers(0, 48)))))
        inj = sorted(set(draw(st.lists(st.integers(0, 500), min_size=1, max_size=4))))
        injections += [(pid, float(d)) for d in inj]
    v = pd.DataFrame(visits, columns=["patient_id", "day", "alsfrs_r_total"])
    i = pd.DataFrame(injections, columns=["patient_id", "day"])
    i["injection_number"] = i.sort_values("day").groupby("patient_id").cumcount() + 1
    pats = pd.DataFrame({"patient_id": [f"{p:03d}" for p in range(n)]})
    return StudyData(visits=v, injections=i, patients=pats, time_kind="day")


SETTINGS = st.builds(
    Settings,
    method=st.sampled_from(["endpoints", "ols"]),
    threshold_pct=st.floats(0, 100),
    inclusive=st.booleans(),
    window_days=st.sampled_from([7.0, 14.0, 30.0]),
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cohorts(), SETTINGS, st.randoms())
def test_invariants(study, s, rnd):
    s = s.replace(bootstrap_samples=200)
    r = analyze(study, s)
    p = r.periods
    # every treated patient present, once per period
    assert set(p.patient_id) == set(study.injections.patient_id)
    assert not p.duplicated(["patient_id", "period"]).any()
    # no infinities anywhere (SPEC §6)
    num = p.select_dtypes("number").to_numpy(dtype=float)
    assert not np.isinf(num).any()
    # improvement consistent with the rates wherever evaluable (SPEC §6)
    ev = p[p.evaluable & (p.period != "reference")]
    expected = 100 * (ev.reference_rate - ev.rate) / ev.reference_rate
    np.testing.assert_allclose(ev.improvement_pct, expected, rtol=1e-9, atol=1e-9)
    assert (ev.reference_rate > 0).all()
    # not evaluable rows say why; evaluable rows have no reason
    assert (p.loc[~p.evaluable, "reason"] != "").all()
    assert (p.loc[p.evaluable, "reason"] == "").all()
    # responders are a subset of evaluable periods and match the threshold
    resp = ev.responder.astype(bool)
    thr = (
        ev.improvement_pct >= s.threshold_pct
        if s.inclusive
        else ev.improvement_pct > s.threshold_pct
    )
    assert (resp == thr).all()
    # the summary counts agree with the table
    for row in r.summary.itertuples():
        sub = ev[ev.period == row.period]
        assert row.n_evaluable == len(sub)
        assert row.n_responders == int(sub.responder.astype(bool).sum())
    # row order does not change the results
    idx = list(range(len(study.visits)))
    rnd.shuffle(idx)
    shuffled = StudyData(
        visits=study.visits.iloc[idx],
        injections=study.injections.iloc[::-1],
        patients=study.patients,
        time_kind="day",
    )
    pd.testing.assert_frame_equal(analyze(shuffled, s).periods, p)


@st.composite
def visits_and_injections(draw):
    """Hand-built tables (not validated): days may repeat, half-days included."""
    n = draw(st.integers(1, 4))
    day = st.integers(-60, 120).map(lambda d: d / 2)
    visits = [
        (f"p{p}", draw(day), float(k)) for p in range(n) for k in range(draw(st.integers(0, 8)))
    ]
    injections = [(f"p{p}", draw(day)) for p in range(n) for _ in range(draw(st.integers(1, 4)))]
    return (
        pd.DataFrame(visits, columns=["patient_id", "day", "alsfrs_r_total"]),
        pd.DataFrame(injections, columns=["patient_id", "day"]),
    )


@settings(max_examples=200, deadline=None)
@given(visits_and_injections(), st.sampled_from([0.0, 3.0, 14.0]))
def test_score_at_injection_is_the_nearest_within_the_window(tables, window):
    """SPEC §3 read literally, one injection at a time: the nearest assessment of the
    patient within the window; a tie goes to the one before; among assessments on the
    same day, the one listed last (the stable sort's last on or before the injection)."""
    from msc_notebooks.progression import scores_at_injections

    v, i = tables
    got = scores_at_injections(v, i, window_days=window)
    for row in got.itertuples():
        own = v[v["patient_id"] == row.patient_id].sort_values("day", kind="stable")
        before = own[own["day"] <= row.injection_day]
        after = own[own["day"] >= row.injection_day]
        candidates = []
        if len(before) and row.injection_day - before["day"].iloc[-1] <= window:
            candidates.append((row.injection_day - before["day"].iloc[-1], 0, before.iloc[-1]))
        if len(after) and after["day"].iloc[0] - row.injection_day <= window:
            candidates.append((after["day"].iloc[0] - row.injection_day, 1, after.iloc[0]))
        if not candidates:
            assert np.isnan(row.score) and np.isnan(row.score_day)
            continue
        _, _, best = min(candidates, key=lambda c: (c[0], c[1]))
        assert (row.score_day, row.score) == (best["day"], best["alsfrs_r_total"])
