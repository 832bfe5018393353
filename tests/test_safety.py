"""Safety analysis (SPEC §9): counts per term x severity, serious events, events per injection.

Every expected number below is worked out by hand in the comments from the small cohorts
built here as canonical tables (msc_notebooks/study.py documents them).
"""

from __future__ import annotations

import importlib.util
import math
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from scipy import optimize, stats

from msc_notebooks.errors import InputError
from msc_notebooks.loading import read_study
from msc_notebooks.safety import (
    BY_INJECTION_COLUMNS,
    BY_TERM_COLUMNS,
    INCIDENCE_COLUMNS,
    INDEPENDENCE_NOTE,
    SERIOUS_COLUMNS,
    analyze_safety,
    clopper_pearson,
    garwood,
)
from msc_notebooks.settings import Settings
from msc_notebooks.study import StudyData


def make_study(
    injections: list[tuple[str, float]],
    events: list[tuple] | None,
    patients: list[str],
    time_kind: str = "day",
) -> StudyData:
    """Read and validate a study from rows, as every face does (``read_study``).

    ``injections``: (patient_id, day), numbered by validation in time order per patient.
    ``events``: (patient_id, day, term, severity, serious[, outcome, injection_number]);
    ``None`` means no adverse-event table at all. With ``time_kind='date'`` the days count
    from 1970-01-01 and the tables give dates. Every patient has one assessment on day 0.
    """

    def timed(frame: pd.DataFrame) -> pd.DataFrame:
        if time_kind == "date":
            frame = frame.assign(day=pd.to_datetime(frame["day"], unit="D"))
            frame = frame.rename(columns={"day": "date"})
        return frame

    visits = pd.DataFrame({"patient_id": patients, "day": 0.0, "alsfrs_r_total": 40.0})
    inj = pd.DataFrame(injections, columns=["patient_id", "day"]).astype({"day": float})
    inj = inj.assign(dose_million_cells=1.0, route="intrathecal")
    pts = pd.DataFrame({"patient_id": patients, "withdrawn": False})
    ae = None
    if events is not None:
        rows = []
        for ev in events:
            pid, day, term, severity, serious, *rest = ev
            rows.append(
                {
                    "patient_id": pid,
                    "day": float(day),
                    "term": term,
                    "severity": severity,
                    "serious": serious,
                    "related": "possibly",
                    "outcome": rest[0] if rest else "recovered",
                    "injection_number": rest[1] if len(rest) > 1 else None,
                }
            )
        ae = timed(pd.DataFrame(rows))
    return read_study(timed(visits), timed(inj), pts, ae)


# The hand-worked cohort used by most tests (SPEC §9, window 30 days).
#   P01: injections day 0 (#1), day 100 (#2)
#   P02: injections day 0 (#1), day 100 (#2), day 200 (#3)
#   P03: injection day 0 (#1); no adverse event
#   P04: enrolled, withdrawn before any injection
# Injections given: #1 x3, #2 x2, #3 x1 = 6 in all; treated = P01, P02, P03 = 3; enrolled = 4.
COHORT_INJECTIONS = [
    ("P01", 0),
    ("P01", 100),
    ("P02", 0),
    ("P02", 100),
    ("P02", 200),
    ("P03", 0),
]
COHORT_EVENTS = [
    # e1: before P01's first injection                        -> pre-treatment
    ("P01", -10, "Headache", "mild", False),
    # e2: 30 days after #1, exactly the window edge             -> injection 1
    ("P01", 30, "Headache", "mild", False),
    # e3: 31 days after #2, one day beyond the window           -> not attributed
    ("P01", 131, "Back pain", "moderate", False),
    # e4: 5 days after #1                                       -> injection 1
    ("P02", 5, "Headache", "mild", False),
    # e5: 6 days after #1, severity missing                     -> injection 1, 'not recorded'
    ("P02", 6, "Fever", None, False),
    # e6: 30 days after #2, severity empty text                 -> injection 2, 'not recorded'
    ("P02", 130, "Fever", "", False),
    # e7: 200 days after #3 (last), serious                     -> not attributed
    ("P02", 400, "Headache", "severe", True, "recovered with sequelae", 3),
    # e8: P04 was never injected                                -> pre-treatment
    ("P04", 3, "Nausea", "mild", False),
]
COHORT_PATIENTS = ["P01", "P02", "P03", "P04"]


@pytest.fixture
def cohort() -> StudyData:
    return make_study(COHORT_INJECTIONS, COHORT_EVENTS, COHORT_PATIENTS)


def test_by_term_counts_events_and_patients(cohort):
    # SPEC §9 events per term x severity: events and distinct patients.
    # Back pain/moderate: e3 -> 1 event, 1 patient.
    # Fever/not recorded: e5 (missing) + e6 (empty) -> 2 events, 1 patient (P02).
    # Headache/mild: e1, e2 (P01), e4 (P02) -> 3 events, 2 patients.
    # Headache/severe: e7 -> 1, 1.  Nausea/mild: e8 -> 1, 1.
    # Sorted by term, then mild, moderate, severe, not recorded.
    result = analyze_safety(cohort)
    assert tuple(result.by_term.columns) == BY_TERM_COLUMNS
    assert result.by_term.values.tolist() == [
        ["Back pain", "moderate", 1, 1],
        ["Fever", "not recorded", 2, 1],
        ["Headache", "mild", 3, 2],
        ["Headache", "severe", 1, 1],
        ["Nausea", "mild", 1, 1],
    ]
    # Nothing dropped: 8 events in, 8 counted.
    assert result.by_term["n_events"].sum() == 8


def test_severity_order_within_a_term():
    # SPEC §9: one term at every severity, given in scrambled order, comes out as
    # mild, moderate, severe, not recorded; two patients with the same term and severity
    # give n_events 2 and n_patients 2, one patient twice gives n_events 2, n_patients 1.
    study = make_study(
        [("A", 0), ("B", 0)],
        [
            ("A", 1, "Pain", None, False),
            ("A", 2, "Pain", "severe", False),
            ("A", 3, "Pain", "moderate", False),
            ("A", 4, "Pain", "mild", False),
            ("B", 4, "Pain", "mild", False),
            ("A", 5, "Rash", "moderate", False),
            ("A", 6, "Rash", "moderate", False),
        ],
        ["A", "B"],
    )
    by_term = analyze_safety(study).by_term
    assert by_term.values.tolist() == [
        ["Pain", "mild", 2, 2],
        ["Pain", "moderate", 1, 1],
        ["Pain", "severe", 1, 1],
        ["Pain", "not recorded", 1, 1],
        ["Rash", "moderate", 2, 1],
    ]


def test_by_injection_attribution_and_window_edge(cohort):
    # SPEC §9, window 30 days: an event d days after injection t is attributed when
    # 0 <= d - t <= 30.
    # #1: 3 given; events e2 (P01, +30: the edge, attributed), e4 (P02, +5), e5 (P02, +6)
    #     -> 3 events in 2 patients; 3 / 3 = 1.0 event per injection.
    # #2: 2 given; e6 (P02, +30) -> 1 event, 1 patient; 1 / 2 = 0.5.  (e3 is +31: not.)
    # #3: 1 given; no event -> 0, 0, 0.0.
    # pre-treatment (injection_number 0): e1 (P01 day -10), e8 (P04 never injected) -> 2, 2.
    # not attributed (<NA>): e3 (+31 after #2), e7 (+200 after #3) -> 2, 2.
    # 3 + 1 + 0 + 2 + 2 = 8 = every event.
    table = analyze_safety(cohort).by_injection
    assert tuple(table.columns) == BY_INJECTION_COLUMNS
    assert table["attribution"].tolist() == [
        "injection 1",
        "injection 2",
        "injection 3",
        "pre-treatment",
        "not attributed",
    ]
    assert table["injection_number"].tolist()[:4] == [1, 2, 3, 0]
    assert pd.isna(table["injection_number"].iloc[4])
    assert table["n_injections"].tolist()[:3] == [3, 2, 1]
    assert table["n_injections"].iloc[3:].isna().all()
    assert table["n_events"].tolist() == [3, 1, 0, 2, 2]
    assert table["n_patients_with_event"].tolist() == [2, 1, 0, 2, 2]
    assert table["incidence_per_injection"].iloc[:3].tolist() == [1.0, 0.5, 0.0]
    assert table["incidence_per_injection"].iloc[3:].isna().all()
    assert table["n_events"].sum() == 8
    # Per-row interval: exact Poisson (Garwood). #3: 0 events in 1 injection ->
    # [0, -ln(0.025) / 1] = [0, 3.6889].
    assert table["ci_low"].iloc[2] == 0.0
    assert table["ci_high"].iloc[2] == pytest.approx(-math.log(0.025), rel=1e-9)


def test_event_attribution_per_event(cohort):
    # Same hand attribution as above, event by event (input order e1..e8).
    events = analyze_safety(cohort).events
    assert events["attribution"].tolist() == [
        "pre-treatment",
        "injection",
        "not attributed",
        "injection",
        "injection",
        "injection",
        "not attributed",
        "pre-treatment",
    ]
    assert events["attributed_injection"].tolist()[:2] == [0, 1]
    assert pd.isna(events["attributed_injection"].iloc[2])
    # days after the latest earlier injection: e2 30-0, e3 131-100, e6 130-100, e7 400-200.
    assert events["days_after_injection"].iloc[[1, 2, 5, 6]].tolist() == [30, 31, 30, 200]
    assert events["row"].tolist() == list(range(len(COHORT_EVENTS)))  # the rows read


def test_window_is_a_setting(cohort):
    # SPEC §9: the window is a setting. With 31 days e3 (+31 after #2) joins injection 2:
    # #2 -> 2 events (e6, e3) in 2 patients; not attributed -> only e7.
    # With 0 days only same-day events count: none here, so #1..#3 all 0 and the 4
    # post-injection events within 30 days plus e3, e7 (6 in all) are not attributed.
    wide = analyze_safety(cohort, Settings(ae_window_days=31))
    assert wide.settings.ae_window_days == 31
    assert wide.by_injection["n_events"].tolist() == [3, 2, 0, 2, 1]
    assert wide.by_injection["n_patients_with_event"].tolist() == [2, 2, 0, 2, 1]
    narrow = analyze_safety(cohort, Settings(ae_window_days=0))
    assert narrow.by_injection["n_events"].tolist() == [0, 0, 0, 2, 6]


def test_event_on_injection_day_is_attributed_to_that_injection():
    # An event on the day of injection #2 (day 100) follows #2 (d - t = 0), not #1.
    study = make_study([("A", 0), ("A", 100)], [("A", 100, "Headache", "mild", False)], ["A"])
    table = analyze_safety(study).by_injection
    assert table["n_events"].tolist() == [0, 1, 0, 0]


def test_serious_events_listed_one_by_one(cohort):
    # SPEC §9: serious events one by one. Only e7 is serious: P02, day 400, Headache,
    # severe, recorded against injection 3, but 200 days after it -> attributed <NA>.
    serious = analyze_safety(cohort).serious
    assert tuple(serious.columns) == SERIOUS_COLUMNS
    assert len(serious) == 1
    row = serious.iloc[0]
    assert (row.patient_id, row.day, row.term, row.severity) == ("P02", 400.0, "Headache", "severe")
    assert row.outcome == "recovered with sequelae"
    assert row.injection_number == 3
    assert pd.isna(row.attributed_injection)


def test_two_serious_events_and_their_sentence():
    # Calendar dates: 19 treated patients, one injection each on 2021-01-01 (day 18628),
    # 19 injections. Two serious events: meningitis in patient 012 on day 18628 + 40 =
    # 2021-02-10, headache in patient 007 on day 18628 + 12 = 2021-01-13; one mild event.
    # Listing order: patient 007 first (sorted by patient, then day).
    start = (pd.Timestamp("2021-01-01") - pd.Timestamp("1970-01-01")).days
    assert start == 18628
    ids = [f"{i:03d}" for i in range(1, 20)]
    study = make_study(
        [(pid, start) for pid in ids],
        [
            ("012", start + 40, "meningitis", "severe", True),
            ("007", start + 12, "headache", "moderate", True),
            ("003", start + 1, "back pain", "mild", False),
        ],
        ids,
        time_kind="date",
    )
    result = analyze_safety(study)
    assert result.serious["patient_id"].tolist() == ["007", "012"]
    assert result.serious["date"].dt.strftime("%Y-%m-%d").tolist() == ["2021-01-13", "2021-02-10"]
    assert result.sentence == (
        "2 serious adverse events in 19 treated patients over 19 injections: "
        "headache (patient 007, 2021-01-13), meningitis (patient 012, 2021-02-10); "
        "3 adverse events in 3 patients in all."
        # SPEC §9 primary figure: 3 of 19 treated, Clopper-Pearson
        # [B(.025; 3, 17), B(.975; 4, 16)] = [3.4 %, 39.6 %]
        " 3 of 19 treated patients (16 %, exact 95 % CI 3-40 %) had an adverse event on or after their first injection."
    )
    # meningitis is 40 days after the injection: not attributed; headache (+12) is #1.
    assert result.serious["attributed_injection"].iloc[0] == 1
    assert pd.isna(result.serious["attributed_injection"].iloc[1])
    # 2 of 19 treated with a serious event; Clopper-Pearson from the beta quantiles.
    row = result.incidence.set_index("measure").loc["treated patients with a serious event"]
    assert (row.numerator, row.denominator) == (2, 19)
    assert row.ci_low == pytest.approx(stats.beta.ppf(0.025, 2, 18), rel=1e-9)
    assert row.ci_high == pytest.approx(stats.beta.ppf(0.975, 3, 17), rel=1e-9)


def test_sentence_with_serious_events_in_day_units(cohort):
    # Day units (PRO-ACT *_Delta): the listing gives the day. 8 events in P01, P02, P04
    # (3 patients); 2 before the first injection (e1, e8).
    assert analyze_safety(cohort).sentence == (
        "1 serious adverse event in 3 treated patients over 6 injections: "
        "Headache (patient P02, day 400); 8 adverse events in 3 patients in all "
        "(2 before the first injection)."
        # P01 and P02 of 3 treated: 2/3, [B(.025; 2, 2), B(.975; 3, 1)] = [9.4 %, 99.2 %]
        " 2 of 3 treated patients (67 %, exact 95 % CI 9-99 %) had an adverse event on or after their first injection."
    )


def test_sentence_no_serious_all_mild_or_moderate():
    # 2 treated patients, 3 injections; events: mild, moderate (A), mild (B) -> 3 events
    # in 2 patients, none serious, all mild or moderate.
    study = make_study(
        [("A", 0), ("A", 90), ("B", 0)],
        [
            ("A", 1, "Headache", "mild", False),
            ("A", 91, "Back pain", "moderate", False),
            ("B", 2, "Headache", "mild", False),
        ],
        ["A", "B"],
    )
    assert analyze_safety(study).sentence == (
        "No serious adverse events in 2 treated patients over 3 injections; "
        "3 adverse events in 2 patients, all mild or moderate."
        # 2 of 2: [0.025 ** (1/2), 1] = [15.8 %, 100 %]
        " 2 of 2 treated patients (100 %, exact 95 % CI 16-100 %) had an adverse event on or after their first injection."
    )
    only_mild = replace(study, adverse_events=study.adverse_events.iloc[[0, 2]])
    assert analyze_safety(only_mild).sentence == (
        "No serious adverse events in 2 treated patients over 3 injections; "
        "2 adverse events in 2 patients, all mild."
        " 2 of 2 treated patients (100 %, exact 95 % CI 16-100 %) had an adverse event on or after their first injection."
    )


def test_no_adverse_event_table_and_header_only_table(cohort):
    # SPEC §9 with nothing recorded: 3 treated patients over 6 injections (see COHORT).
    header_only = replace(cohort, adverse_events=cohort.adverse_events.iloc[0:0])
    no_table = replace(cohort, adverse_events=None)
    for study in (header_only, no_table):
        result = analyze_safety(study)
        assert result.sentence == (
            "No adverse events were recorded in 3 treated patients over 6 injections."
            # 0 of 3: upper bound 1 - 0.025 ** (1/3) = 70.8 %
            " 0 of 3 treated patients (0 %, exact 95 % CI 0-71 %) had an adverse event on or after their first injection."
        )
        assert result.by_term.empty and tuple(result.by_term.columns) == BY_TERM_COLUMNS
        assert result.serious.empty and tuple(result.serious.columns) == SERIOUS_COLUMNS
        # Every injection number still has its row, with zero events.
        assert result.by_injection["n_injections"].tolist()[:3] == [3, 2, 1]
        assert result.by_injection["n_events"].tolist() == [0, 0, 0, 0, 0]
        inc = result.incidence.set_index("measure")
        assert inc.loc["treated patients with an event", "numerator"] == 0
        assert inc.loc["treated patients with an event", "denominator"] == 3
        # 0 of 3: upper bound 1 - 0.025 ** (1/3) = 0.7076.
        assert inc.loc["treated patients with an event", "ci_high"] == pytest.approx(
            1 - 0.025 ** (1 / 3), rel=1e-9
        )
        assert set(result.tables()) == {
            "safety_by_term.csv",
            "safety_by_injection.csv",
            "serious_events.csv",
        }


def test_incidence_counts_patients_without_events(cohort):
    # SPEC §9: patients without events stay in every denominator.
    # events per injection: attributed e2, e4, e5, e6 = 4 over 6 injections.
    # injections followed by an event: (P01,#1), (P02,#1), (P02,#2) = 3 of 6.
    # treated patients with an event on/after their first injection: P01 (e2, e3),
    #   P02 (e4..e7) = 2 of 3 treated (P03 has none, still counted).
    # treated patients with a serious event: P02 (e7) = 1 of 3.
    # enrolled patients with any event: P01, P02, P04 = 3 of 4 (P03 counted).
    inc = analyze_safety(cohort).incidence
    assert tuple(inc.columns) == INCIDENCE_COLUMNS
    # patients first: they are the unit of the primary figures (SPEC §9)
    assert inc[["measure", "numerator", "denominator"]].values.tolist() == [
        ["treated patients with an event", 2, 3],
        ["treated patients with a serious event", 1, 3],
        ["enrolled patients with an event", 3, 4],
        ["events per injection", 4, 6],
        ["injections followed by an event", 3, 6],
    ]
    assert inc["estimate"].tolist() == pytest.approx([2 / 3, 1 / 3, 3 / 4, 4 / 6, 3 / 6])
    assert inc["unit"].tolist() == ["patients"] * 3 + ["injections"] * 2
    # per-injection figures are labelled as treating events as independent (SPEC §9)
    assert inc["interval"].tolist() == [
        *["exact Clopper-Pearson 95%"] * 3,
        f"exact Poisson (Garwood) 95%; {INDEPENDENCE_NOTE}",
        f"exact Clopper-Pearson 95%; {INDEPENDENCE_NOTE}",
    ]
    # Events per injection, exact Poisson for k = 4: published 95 % limits for a Poisson
    # count of 4 are 1.0899 and 10.2416 (e.g. Ulm 1990 / standard tables), over 6 injections.
    epi = inc.set_index("measure").loc["events per injection"]
    assert epi.ci_low == pytest.approx(1.0899 / 6, abs=1e-4)
    assert epi.ci_high == pytest.approx(10.2416 / 6, abs=1e-4)
    # Same from the chi-square definition: chi2(0.025; 8) / 2 and chi2(0.975; 10) / 2.
    assert epi.ci_low == pytest.approx(stats.chi2.ppf(0.025, 8) / 2 / 6, rel=1e-9)
    assert epi.ci_high == pytest.approx(stats.chi2.ppf(0.975, 10) / 2 / 6, rel=1e-9)
    assert epi.cluster_interval.startswith("bootstrap over patients")
    # the patient-level rows need no clustering allowance
    assert inc["cluster_ci_low"].iloc[:3].isna().all()


def test_per_injection_interval_allows_for_clustering():
    # SPEC §9: 10 treated patients with 2 injections each; all 10 events in patient P00,
    # after injection 1. Events per injection 10/20 = 0.5; Garwood treats the 10 events as
    # independent: [chi2(.025; 20)/2, chi2(.975; 22)/2] / 20 = [0.240, 0.920].
    # Resampling patients: K copies of P00 among 10 draws, K ~ Binomial(10, 0.1), ratio
    # 10 K / 20 = K / 2. P(K = 0) = 0.349 > 2.5 % -> lower 0; P(K <= 2) = 0.930,
    # P(K <= 3) = 0.987 -> the 97.5 % point is K = 3 -> upper 1.5.
    ids = [f"P{i:02d}" for i in range(10)]
    study = make_study(
        [(p, d) for p in ids for d in (0, 90)],
        [("P00", 1 + j, "Headache", "mild", False) for j in range(10)],
        ids,
    )
    result = analyze_safety(study, Settings(bootstrap_samples=20000, seed=4))
    row = result.incidence.set_index("measure").loc["events per injection"]
    assert row.estimate == 0.5
    assert row.ci_low == pytest.approx(stats.chi2.ppf(0.025, 20) / 2 / 20, rel=1e-9)
    assert row.ci_high == pytest.approx(stats.chi2.ppf(0.975, 22) / 2 / 20, rel=1e-9)
    assert (row.cluster_ci_low, row.cluster_ci_high) == (0.0, 1.5)
    # two patients, one injection each, one event: resamples give 1, 0, 0.5 -> [0, 1]
    two = make_study([("A", 0), ("B", 0)], [("A", 1, "Rash", "mild", False)], ["A", "B"])
    row = analyze_safety(two).incidence.set_index("measure").loc["events per injection"]
    assert (row.cluster_ci_low, row.cluster_ci_high) == (0.0, 1.0)


def _binomial_tail_limits(x: int, n: int) -> tuple[float, float]:
    """Clopper-Pearson from its definition: the p at which each binomial tail is 2.5 %."""
    low = 0.0 if x == 0 else optimize.brentq(lambda p: stats.binom.sf(x - 1, n, p) - 0.025, 0, 1)
    high = 1.0 if x == n else optimize.brentq(lambda p: stats.binom.cdf(x, n, p) - 0.025, 0, 1)
    return low, high


def test_clopper_pearson_by_hand():
    # 0 of 19: upper = 1 - 0.025 ** (1/19) = 0.17647 (the textbook "rule of 3"-type bound;
    # P(0 events | p) = (1 - p) ** 19 = 0.025).
    low, high = clopper_pearson(0, 19)
    assert low == 0.0
    assert high == pytest.approx(1 - 0.025 ** (1 / 19), rel=1e-12)
    assert round(float(high), 4) == 0.1765
    # 3 of 6 (the cohort's injections followed by an event): textbook 0.1181 to 0.8819,
    # and the binomial-tail definition solved numerically.
    low, high = clopper_pearson(3, 6)
    assert (round(float(low), 4), round(float(high), 4)) == (0.1181, 0.8819)
    ref = _binomial_tail_limits(3, 6)
    assert (float(low), float(high)) == pytest.approx(ref, abs=1e-9)
    # 19 of 19: lower = 0.025 ** (1/19) = 0.8235, upper 1.
    low, high = clopper_pearson(19, 19)
    assert low == pytest.approx(0.025 ** (1 / 19), rel=1e-12)
    assert high == 1.0
    # Beta-quantile definition for 2 of 19.
    low, high = clopper_pearson(2, 19)
    assert float(low) == pytest.approx(stats.beta.ppf(0.025, 2, 18), rel=1e-12)
    assert (float(low), float(high)) == pytest.approx(_binomial_tail_limits(2, 19), abs=1e-9)
    # No trials: no interval.
    low, high = clopper_pearson(0, 0)
    assert np.isnan(low) and np.isnan(high)


def test_garwood_by_hand():
    # k = 0: upper = -ln(0.025) / n (P(0 | rate) = exp(-rate) = 0.025).
    low, high = garwood(0, 10)
    assert low == 0.0 and high == pytest.approx(-math.log(0.025) / 10, rel=1e-12)
    # Rate above 1 is allowed: 12 events in 10 injections.
    low, high = garwood(12, 10)
    assert float(high) > 1.2 > float(low)
    low, high = garwood(3, 0)
    assert np.isnan(low) and np.isnan(high)


def test_zero_serious_in_19_treated_gives_textbook_bound():
    # 19 treated patients (one injection each), no event at all: serious-event upper
    # bound = 1 - 0.025 ** (1/19) = 0.1765.
    ids = [f"{i:03d}" for i in range(1, 21)]  # 20 enrolled, patient 020 never injected
    study = make_study([(pid, 0) for pid in ids[:19]], None, ids)
    result = analyze_safety(study)
    inc = result.incidence.set_index("measure")
    assert inc.loc["treated patients with a serious event", "denominator"] == 19
    assert inc.loc["treated patients with a serious event", "ci_high"] == pytest.approx(
        0.1765, abs=5e-5
    )
    assert inc.loc["enrolled patients with an event", "denominator"] == 20
    assert result.n_enrolled == 20 and result.n_treated == 19 and result.n_injections == 19
    assert (
        result.sentence
        == "No adverse events were recorded in 19 treated patients over 19 injections."
        # 0 of 19: upper bound 1 - 0.025 ** (1/19) = 17.6 %
        " 0 of 19 treated patients (0 %, exact 95 % CI 0-18 %) had an adverse event on or after their first injection."
    )


def test_tables_for_the_exporter(cohort):
    tables = analyze_safety(cohort).tables()
    assert list(tables) == ["safety_by_term.csv", "safety_by_injection.csv", "serious_events.csv"]
    assert list(tables["safety_by_injection.csv"].columns)[:4] == [
        "injection_number",
        "n_injections",
        "n_events",
        "n_patients_with_event",
    ]
    assert len(tables["serious_events.csv"]) == 1


# The input checks live in validation (read_study): analyze_safety trusts the validated
# study and checks nothing again (#17). These tests read raw tables as every face does.
def read_with_events(
    ae: pd.DataFrame,
    injections: list[tuple[str, float]] = COHORT_INJECTIONS,
    patients: list[str] = COHORT_PATIENTS,
) -> StudyData:
    visits = pd.DataFrame({"patient_id": patients, "day": 0.0, "alsfrs_r_total": 40.0})
    inj = pd.DataFrame(injections, columns=["patient_id", "day"]).astype({"day": float})
    return read_study(visits, inj, pd.DataFrame({"patient_id": patients}), ae)


def raw_cohort_events() -> pd.DataFrame:
    columns = ["patient_id", "day", "term", "severity", "serious"]
    return pd.DataFrame([e[:5] for e in COHORT_EVENTS], columns=columns)


def test_missing_required_column_is_an_input_error():
    with pytest.raises(InputError, match="column 'term'") as err:
        read_with_events(raw_cohort_events().drop(columns=["term"]))
    assert "Fix:" in str(err.value)


def test_event_without_time_is_excluded_with_its_row():
    ae = raw_cohort_events()
    ae.loc[3, "day"] = np.nan  # e4, row 3 of the table
    study = read_with_events(ae)
    excluded = study.exclusions[study.exclusions["table"] == "adverse_events"]
    assert excluded[["row", "column", "reason"]].values.tolist() == [[3, "day", "missing day"]]
    # the other seven events are analysed: injection 1 keeps e2 and e5
    assert analyze_safety(study).by_injection["n_events"].tolist()[:3] == [2, 1, 0]


def test_optional_columns_may_be_absent():
    # SPEC §1: only patient_id, time and term are required. Without severity every event is
    # 'not recorded'; without serious none is serious.
    ae = pd.DataFrame({"patient_id": ["A", "A"], "day": [1.0, 2.0], "term": ["Rash", "Rash"]})
    result = analyze_safety(read_with_events(ae, [("A", 0)], ["A"]))
    assert result.by_term.values.tolist() == [["Rash", "not recorded", 2, 1]]
    assert result.serious.empty
    assert result.sentence == (
        "No serious adverse events in 1 treated patient over 1 injection; "
        "2 adverse events in 1 patient, 2 with severity not recorded."
        # 1 of 1: [0.025, 1]
        " 1 of 1 treated patient (100 %, exact 95 % CI 3-100 %) had an adverse event on or after their first injection."
    )


def test_no_injections_at_all():
    # Nobody treated: every event is pre-treatment; rates per injection are undefined (NaN).
    study = make_study([], [("A", 1, "Rash", "mild", False)], ["A"])
    result = analyze_safety(study)
    assert result.by_injection["attribution"].tolist() == ["pre-treatment", "not attributed"]
    assert result.by_injection["n_events"].tolist() == [1, 0]
    inc = result.incidence.set_index("measure")
    assert np.isnan(inc.loc["events per injection", "estimate"])
    assert result.sentence.startswith(
        "No serious adverse events in 0 treated patients over 0 injections"
    )


@pytest.mark.skipif(
    importlib.util.find_spec("msc_notebooks.demo") is None,
    reason="msc_notebooks.demo not written yet",
)
def test_demo_cohort_has_no_serious_events():
    # The demo cohort mirrors the published trial: "No serious adverse events" (SPEC,
    # Reference figures); its events are mild and transient.
    from msc_notebooks.demo import load_demo

    result = analyze_safety(load_demo())
    assert result.serious.empty
    assert result.sentence.startswith("No serious adverse events")
    inc = result.incidence.set_index("measure")
    assert inc.loc["treated patients with a serious event", "numerator"] == 0


def test_serious_flag_as_text_and_bad_flag():
    # yes/no text is read as the flag; a missing flag is not serious (e7 is the only 'Yes').
    ae = raw_cohort_events()
    ae["serious"] = ["no", "No", None, "n", "false", "0", "Yes", ""]
    result = analyze_safety(read_with_events(ae))
    assert result.serious["patient_id"].tolist() == ["P02"]
    ae.loc[1, "serious"] = "maybe"  # e2, row 1 of the table
    with pytest.raises(InputError, match="column 'serious', row 1"):
        read_with_events(ae)
