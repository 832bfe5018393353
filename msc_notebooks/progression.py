"""Scores at injection times, periods and progression rates (SPEC §2–5, §12), vectorised.

Everything here works on all patients at once: no Python loop per patient. The result is
the per-patient period table of SPEC §11 *before* responders are classified
(:mod:`msc_notebooks.responders` adds improvement and responder columns).

How the period table is built
-----------------------------
1. :class:`Cohort` (built once per analysis): the patients as integer codes, one
   outcome's assessments and the injections, each sorted by patient and day.
2. :func:`_nearest_assessments`: the assessment used for each injection (SPEC §3).
3. :func:`_reference_rows`: one reference row per treated patient (SPEC §4).
4. :func:`_treatment_rows`: the periods between injections, after the last injection and
   the whole treatment (SPEC §3, §12).
5. :func:`_rates`: the one rate rule (SPEC §5) both kinds of rows use.
6. :func:`_assemble`: the rows in patient and period order, with ids and texts put back.

The public functions (:func:`compute_periods`, :func:`scores_at_injections`) take and
return DataFrames; :func:`msc_notebooks.analysis.analyze` builds the cohort itself and
calls :meth:`Cohort.period_table`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .columns import (
    OUTCOME_MAX,
    RATE_COLUMNS,
    number_in_time_order,
    patient_order,
    shared_codes,
)
from .errors import InputError, SettingsError
from .settings import Settings

__all__ = [
    "scores_at_injections",
    "compute_periods",
    "ZERO_RATE",
    "RATE_COLUMNS",
]

#: A rate within this many points/month of zero is zero (SPEC §6).
ZERO_RATE = 1e-9

#: ``period_index`` of the period after the last injection and of the whole treatment (the
#: reference is 0 and period k-(k+1) is k): rows sort by it within a patient.
AFTER_LAST_INDEX = 90
WHOLE_INDEX = 99


def _check_outcome(visits: pd.DataFrame, outcome: str) -> None:
    if outcome not in visits.columns:
        raise SettingsError(
            f"outcome column '{outcome}' is not in the visits table; "
            f"numeric columns available: {', '.join(visits.select_dtypes('number').columns)}"
        )


@dataclass(frozen=True)
class Cohort:
    """A study as the analysis works on it: one outcome's assessments and the injections,
    patients as integer codes.

    Code ``k`` is the ``k``-th patient id in sorted order (``ids[k]``): sorting, grouping
    and joining work on integers, and the ids are put back once, in the output. Built once
    per analysis with :meth:`from_tables`. Internal to the kit (not in ``__all__``): the
    public functions take and return DataFrames, and no result shows a code.

    Attributes
    ----------
    ids : pandas.Index
        The patient ids of the visits and injections, sorted (code -> id).
    outcome : str
        The outcome column the assessments are of.
    visit_patient, visit_day, visit_score : numpy.ndarray
        The assessments (visit rows where the outcome is present), sorted by patient code
        and day: patient code, day, score.
    visit_bounds : numpy.ndarray
        Patient ``k``'s assessments are rows ``visit_bounds[k]`` to
        ``visit_bounds[k + 1] - 1`` (none when the two are equal).
    injection_patient, injection_day, injection_number : numpy.ndarray
        The injections sorted by patient code and day: patient code, day, number (1, 2,
        ... in time order within the patient, SPEC §12).
    injection_rows : numpy.ndarray
        The position of each sorted injection in the injections table given.
    patients : pandas.DataFrame or None
        The patients table (for ``onset_day``).

    Examples
    --------
    >>> v = pd.DataFrame({"patient_id": ["b", "a", "a"], "day": [0.0, 30.0, 0.0],
    ...                   "alsfrs_r_total": [40.0, 38.0, 39.0]})
    >>> i = pd.DataFrame({"patient_id": ["b"], "day": [0.0]})
    >>> c = Cohort.from_tables(v, i, None, "alsfrs_r_total")
    >>> c.ids.tolist(), c.visit_patient.tolist(), c.visit_day.tolist()
    (['a', 'b'], [0, 0, 1], [0.0, 30.0, 0.0])
    """

    ids: pd.Index
    outcome: str
    visit_patient: np.ndarray
    visit_bounds: np.ndarray
    visit_day: np.ndarray
    visit_score: np.ndarray
    injection_patient: np.ndarray
    injection_day: np.ndarray
    injection_number: np.ndarray
    injection_rows: np.ndarray
    patients: pd.DataFrame | None

    @classmethod
    def from_tables(
        cls,
        visits: pd.DataFrame,
        injections: pd.DataFrame,
        patients: pd.DataFrame | None,
        outcome: str,
    ) -> Cohort:
        """The cohort of canonical visits, injections and patients tables, for one outcome."""
        _check_outcome(visits, outcome)
        (visit_codes, injection_codes), uniques = shared_codes(
            visits["patient_id"], injections["patient_id"]
        )
        for table, codes in (("visits", visit_codes), ("injections", injection_codes)):
            if (codes < 0).any():  # validated tables have none
                raise InputError(
                    "a row has no patient id",
                    source=table,
                    column="patient_id",
                    fix="read the tables with read_study(), which excludes such rows",
                )
        # int32: half the memory of int64 for a million rows
        visit_codes, injection_codes = (
            visit_codes.astype(np.int32),
            injection_codes.astype(np.int32),
        )
        # assessments: rows where the outcome is missing are not assessments
        score = visits[outcome].to_numpy(dtype=float, na_value=np.nan)
        present = ~np.isnan(score)
        keep = slice(None) if present.all() else present  # usually every row: no copy
        patient = visit_codes[keep]
        day = visits["day"].to_numpy(dtype=float)[keep]
        order = patient_order(patient, day)
        inj_day = injections["day"].to_numpy(dtype=float)
        inj_order = patient_order(injection_codes, inj_day)
        inj_patient = injection_codes[inj_order]
        patient = patient[order]
        return cls(
            ids=pd.Index(uniques),
            outcome=outcome,
            visit_patient=patient,
            visit_bounds=np.searchsorted(patient, np.arange(len(uniques) + 1)),
            visit_day=day[order],
            visit_score=score[keep][order],
            injection_patient=inj_patient,
            injection_day=inj_day[inj_order],
            injection_number=number_in_time_order(inj_patient),
            injection_rows=np.arange(len(injections))[inj_order],
            patients=patients,
        )

    def first_assessment(self, patient: np.ndarray) -> np.ndarray:
        """The row of each patient's first assessment (-1 for a patient with none)."""
        first, end = self.visit_bounds[patient], self.visit_bounds[patient + 1]
        return np.where(first < end, first, -1)

    def last_assessment(self, patient: np.ndarray) -> np.ndarray:
        """The row of each patient's last assessment (-1 for a patient with none)."""
        first, end = self.visit_bounds[patient], self.visit_bounds[patient + 1]
        return np.where(first < end, end - 1, -1)

    def onset_days(self) -> np.ndarray:
        """Symptom-onset day of every patient code (NaN where unknown; first row wins)."""
        onset = np.full(len(self.ids), np.nan)
        p = self.patients
        if p is None or "onset_day" not in p:
            return onset
        known = self.ids.get_indexer(p["patient_id"])
        rows = np.flatnonzero(known >= 0)
        _, first = np.unique(known[rows], return_index=True)
        onset[known[rows[first]]] = p["onset_day"].to_numpy(dtype=float, na_value=np.nan)[
            rows[first]
        ]
        return onset

    def period_table(self, settings: Settings) -> pd.DataFrame:
        """:func:`compute_periods` of this cohort (see there for the columns)."""
        used = _nearest_assessments(self, settings.window_days)
        if not len(used):
            empty = pd.DataFrame({c: pd.Series(dtype=float) for c in RATE_COLUMNS})
            return empty.astype({"patient_id": object, "period": object, "rate_reason": object})
        reasons = _Reasons(settings)
        reference = _reference_rows(self, used, settings, reasons)
        treatment = _treatment_rows(self, used, settings, reasons)
        return _assemble(self, reference, treatment, reasons)


def _search_runs(
    values: np.ndarray, lo: np.ndarray, hi: np.ndarray, targets: np.ndarray
) -> np.ndarray:
    """``lo + np.searchsorted(values[lo:hi], target)`` (the first value on or after the
    target) for every row at once.

    Each run ``values[lo:hi]`` is sorted (one patient's assessment days, missing days
    last). One binary search over all rows together: each loop halves every run still
    open, so it loops log2 of the longest run times.
    """
    lo, hi = lo.copy(), hi.copy()
    last = max(len(values) - 1, 0)
    while True:
        open_ = lo < hi
        if not open_.any():
            return lo
        mid = (lo + hi) // 2
        value = values[np.minimum(mid, last)]
        go_right = (value < targets) & open_
        lo = np.where(go_right, mid + 1, lo)
        hi = np.where(open_ & ~go_right, mid, hi)


def _nearest_assessments(cohort: Cohort, window_days: float) -> np.ndarray:
    """The assessment used for each injection (SPEC §3), as a row of the cohort's
    assessments; -1 where none lies within ``window_days`` of the injection.

    The nearest assessment of the same patient within the window either side; a tie (one
    as far before as another after) goes to the one before.

    Parameters
    ----------
    cohort : Cohort
        The cohort (injections in its sorted order).
    window_days : float
        Days either side of the injection.

    Returns
    -------
    numpy.ndarray of int64
        One assessment row per injection of the cohort, -1 if none.

    Examples
    --------
    Assessments on days 0, 95 and 105; injections on days 100 (95 and 105 tie: the one
    before) and 200 (nothing within 14 days).

    >>> v = pd.DataFrame({"patient_id": ["a"] * 3, "day": [0.0, 95.0, 105.0],
    ...                   "alsfrs_r_total": [40.0, 38.0, 37.0]})
    >>> i = pd.DataFrame({"patient_id": ["a", "a"], "day": [100.0, 200.0]})
    >>> _nearest_assessments(Cohort.from_tables(v, i, None, "alsfrs_r_total"), 14).tolist()
    [1, -1]
    """
    day, injection_day = cohort.visit_day, cohort.injection_day
    if not len(day):
        return np.full(len(injection_day), -1, dtype=np.int64)
    window = float(window_days)
    # each patient's assessments are one sorted run of rows: [first, end)
    patient = cohort.injection_patient
    first, end = cohort.visit_bounds[patient], cohort.visit_bounds[patient + 1]
    after = _search_runs(day, first, end, injection_day)  # first on or after
    last = len(day) - 1
    # the last on or before: just before ``after``, unless assessments fall on the
    # injection day (one at most once same-day visits are merged): then the last of them
    before = after - 1
    while True:
        on_day = (before + 1 < end) & (day[np.clip(before + 1, 0, last)] == injection_day)
        if not on_day.any():
            break
        before[on_day] += 1
    with np.errstate(invalid="ignore"):
        gap_before = injection_day - day[np.clip(before, 0, last)]
        gap_after = day[np.clip(after, 0, last)] - injection_day
        ok_before = (before >= first) & (np.abs(gap_before) <= window)
        ok_after = (after < end) & (np.abs(gap_after) <= window)
        use_after = ok_after & (~ok_before | (gap_after < gap_before))
    return np.where(use_after, after, np.where(ok_before, before, -1)).astype(np.int64)


def scores_at_injections(
    visits: pd.DataFrame,
    injections: pd.DataFrame,
    window_days: float = 14,
    outcome: str = "alsfrs_r_total",
) -> pd.DataFrame:
    """The score at each injection: the nearest assessment within a window (SPEC §3).

    Ties (one assessment as far before as another after) go to the assessment before.

    Parameters
    ----------
    visits : pandas.DataFrame
        Canonical visits (``patient_id``, ``day``, the outcome column).
    injections : pandas.DataFrame
        Canonical injections (``patient_id``, ``day``).
    window_days : float, default 14
        Days either side of the injection.
    outcome : str, default 'alsfrs_r_total'
        The outcome column.

    Returns
    -------
    pandas.DataFrame
        One row per injection, sorted by patient and day: ``patient_id``,
        ``injection_day``, ``injection_number`` (1.. in time order), ``score_day`` (day of
        the assessment used, NaN if none in the window), ``score``, ``pos`` (position of
        the assessment among the patient's sorted assessments, -1 if none).

    Examples
    --------
    >>> v = pd.DataFrame({"patient_id": ["a"] * 3, "day": [0.0, 95.0, 105.0],
    ...                   "alsfrs_r_total": [40.0, 38.0, 37.0]})
    >>> i = pd.DataFrame({"patient_id": ["a"], "day": [100.0]})
    >>> scores_at_injections(v, i)[["score_day", "score"]].values.tolist()   # tie -> before
    [[95.0, 38.0]]
    """
    cohort = Cohort.from_tables(visits, injections, None, outcome)
    used = _nearest_assessments(cohort, window_days)
    found = used >= 0
    return pd.DataFrame(
        {
            "patient_id": injections["patient_id"].array.take(cohort.injection_rows),
            "injection_day": injections["day"].array.take(cohort.injection_rows),
            "injection_number": cohort.injection_number,
            "score_day": _at(used, cohort.visit_day),
            "score": _at(used, cohort.visit_score),
            "pos": np.where(found, used, -1),
        }
    )


def _at(rows: np.ndarray, values: np.ndarray) -> np.ndarray:
    """``values[rows]``, NaN where the row is -1 (no assessment)."""
    if not len(values):
        return np.full(len(rows), np.nan)
    return np.where(rows >= 0, values[np.maximum(rows, 0)], np.nan)


class _Reasons:
    """Why a rate is missing, as integer codes into a few texts (0: no reason).

    Each distinct text is written once, and the text column once at the end (not one
    Python string per row).
    """

    def __init__(self, settings: Settings) -> None:
        self.texts = [""]
        self.window = f"{settings.window_days:g}"

    def code(self, text: str) -> int:
        if text not in self.texts:
            self.texts.append(text)
        return self.texts.index(text)

    def no_assessment(self, injection_number: np.ndarray) -> np.ndarray:
        """The code of "no assessment within the window of injection k", per row."""
        numbers, which = np.unique(np.asarray(injection_number, np.int64), return_inverse=True)
        codes = [
            self.code(f"no assessment within {self.window} days of injection {k}") for k in numbers
        ]
        return np.array(codes, dtype=np.int64)[which.reshape(-1)] if len(numbers) else which

    def column(self, codes: np.ndarray) -> pd.Index:
        return pd.Index(self.texts).take(codes)


def _ols_points_lost_per_day(cohort: Cohort, start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """Minus the least-squares slope (points/day) of assessments start..end inclusive.

    Every range is expanded to its rows and centred sums are taken per range with
    ``bincount`` (exact for constant scores: the slope is then exactly 0).
    """
    n = end - start + 1
    k = len(n)
    if k == 0:
        return np.array([], dtype=float)
    segment = np.repeat(np.arange(k), n)
    rows = np.repeat(start, n) + np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n)
    x = cohort.visit_day[rows]
    y = cohort.visit_score[rows]
    dx = x - (np.bincount(segment, x, minlength=k) / n)[segment]
    dy = y - (np.bincount(segment, y, minlength=k) / n)[segment]
    sxx = np.bincount(segment, dx * dx, minlength=k)
    sxy = np.bincount(segment, dx * dy, minlength=k)
    with np.errstate(invalid="ignore", divide="ignore"):
        return -sxy / sxx


def _rates(cohort: Cohort, rows: dict, method: str, month_days: float) -> None:
    """The one rate rule (SPEC §5): add ``months`` and ``rate`` (points lost per month) to
    ``rows``; the rate is NaN where the row has a reason.

    ``endpoints``: (start score - end score) / months between the two assessments.
    ``ols``: minus the least-squares slope of every assessment from the start assessment
    to the end assessment (rows ``start`` to ``end``), in points per month.
    """
    months = (rows["end_day"] - rows["start_day"]) / month_days
    computable = rows["reason"] == 0
    if method == "ols":
        rate = np.full(len(months), np.nan)
        start, end = rows["start"][computable], rows["end"][computable]
        rate[computable] = _ols_points_lost_per_day(cohort, start, end) * month_days
    else:
        with np.errstate(invalid="ignore", divide="ignore"):
            rate = (rows["start_score"] - rows["end_score"]) / months
    rows["months"] = months
    rows["rate"] = np.where(computable, rate, np.nan)


def _reference_rows(cohort: Cohort, used: np.ndarray, s: Settings, reasons: _Reasons) -> dict:
    """One reference row per treated patient (SPEC §4), ending at the score at injection 1.

    ``run-in``: from the patient's first assessment, with the rate rule of ``s.method``;
    needs the two assessments at least ``s.min_span_days`` apart. ``onset``: from the
    outcome's maximum at symptom onset, (maximum - score at injection 1) / months.
    """
    first = np.flatnonzero(cohort.injection_number == 1)
    patient = cohort.injection_patient[first]
    end = used[first]  # the assessment used for injection 1
    reason = np.zeros(len(first), dtype=np.int64)
    reason[end < 0] = reasons.no_assessment(np.ones(np.count_nonzero(end < 0)))
    end_day = _at(end, cohort.visit_day)
    rows = {
        "patient": patient,
        "end": end,
        "end_day": end_day,
        "end_score": _at(end, cohort.visit_score),
        "reason": reason,
    }
    if s.reference == "run-in":
        start = cohort.first_assessment(patient)
        start_day = _at(start, cohort.visit_day)
        too_short = (end >= 0) & (end_day - start_day < s.min_span_days)
        reason[(reason == 0) & too_short] = reasons.code(
            f"run-in too short: fewer than two assessments at least {float(s.min_span_days):g} "
            "days apart up to the first injection"
        )
        rows.update(start=start, start_day=start_day, start_score=_at(start, cohort.visit_score))
        _rates(cohort, rows, s.method, float(s.month_days))
        return rows
    top = OUTCOME_MAX.get(cohort.outcome)
    if top is None:
        raise SettingsError(
            f"the onset reference needs a bounded score (ALSFRS-R or a domain); "
            f"'{cohort.outcome}' has no known maximum. Use reference='run-in'"
        )
    onset = cohort.onset_days()[patient]
    reason[(reason == 0) & np.isnan(onset)] = reasons.code("no symptom-onset date")
    with np.errstate(invalid="ignore"):
        not_before = end_day <= onset
    reason[(reason == 0) & not_before] = reasons.code(
        "symptom onset is not before the first injection"
    )
    rows.update(
        start=np.full(len(first), -1), start_day=onset, start_score=np.full(len(first), float(top))
    )
    _rates(cohort, rows, "endpoints", float(s.month_days))  # always (top - score) / months
    return rows


def _treatment_rows(cohort: Cohort, used: np.ndarray, s: Settings, reasons: _Reasons) -> dict:
    """The periods after the reference (SPEC §3, §12), each between two assessments.

    ``k-(k+1)``: from the score at injection k to the score at injection k+1.
    ``after-last``: from the score at the last injection to the patient's last assessment.
    ``whole``: from the score at injection 1 to the score at the last injection.
    """
    patient, number = cohort.injection_patient, cohort.injection_number
    is_last = np.ones(len(patient), dtype=bool)  # a patient's last injection
    is_last[:-1] = patient[1:] != patient[:-1]
    pair = np.flatnonzero(~is_last)  # an injection followed by another of the patient
    last = np.flatnonzero(is_last)
    first = np.flatnonzero(number == 1)
    m_pairs, m_last = len(pair), len(last)
    kind = np.repeat([0, 1, 2], [m_pairs, m_last, m_last])  # pair, after-last, whole
    is_after, is_whole = kind == 1, kind == 2
    start = np.concatenate([used[pair], used[last], used[first]])
    end = np.concatenate([used[pair + 1], cohort.last_assessment(patient[last]), used[last]])
    start_number = np.concatenate([number[pair], number[last], np.ones(m_last, np.int64)])
    end_number = np.concatenate([number[pair] + 1, np.full(m_last, -1), number[last]])
    # why a rate cannot be computed (the first reason that applies)
    reason = np.zeros(len(start), dtype=np.int64)
    reason[is_whole & (end_number < 2)] = reasons.code(
        "only one injection: no whole treatment period"
    )
    no_start = (reason == 0) & (start < 0)
    reason[no_start] = reasons.no_assessment(start_number[no_start])
    no_end = (reason == 0) & (end < 0) & ~is_after
    reason[no_end] = reasons.no_assessment(end_number[no_end])
    start_day, end_day = _at(start, cohort.visit_day), _at(end, cohort.visit_day)
    span = float(s.min_span_days)
    with np.errstate(invalid="ignore"):
        too_short = (reason == 0) & ((end <= start) | (end_day - start_day < span))
    reason[too_short & is_after] = reasons.code(
        f"no assessment at least {span:g} days after the last injection"
    )
    reason[too_short & ~is_after] = reasons.code(
        f"the two assessments used are not distinct and at least {span:g} days apart"
    )
    rows = {
        "patient": np.concatenate([patient[pair], patient[last], patient[last]]),
        "period_index": np.concatenate(
            [number[pair], np.full(m_last, AFTER_LAST_INDEX), np.full(m_last, WHOLE_INDEX)]
        ),
        "start": start,
        "end": end,
        "start_day": start_day,
        "end_day": end_day,
        "start_score": _at(start, cohort.visit_score),
        "end_score": _at(end, cohort.visit_score),
        "reason": reason,
    }
    _rates(cohort, rows, s.method, float(s.month_days))
    return rows


def _assemble(cohort: Cohort, reference: dict, treatment: dict, reasons: _Reasons) -> pd.DataFrame:
    """The rate table: each treated patient's rows together in period order, patients in
    id order, days counted from the patient's first injection, ids and texts put back
    (SPEC §11).

    A patient with k injections has k + 2 rows: the reference first, then period
    j-(j+1) at place j, after-last at place k and whole at place k + 1; every row is
    written straight to its place.
    """
    injections = np.bincount(cohort.injection_patient, minlength=len(cohort.ids))
    n_rows = np.where(injections > 0, injections + 2, 0)
    start = np.cumsum(n_rows) - n_rows  # the patient's first row
    reference["period_index"] = np.zeros(len(reference["patient"]), dtype=np.int64)
    treated, index = treatment["patient"], treatment["period_index"]
    place_in_patient = np.where(
        index == AFTER_LAST_INDEX,
        injections[treated],
        np.where(index == WHOLE_INDEX, injections[treated] + 1, index),
    )
    places = (start[reference["patient"]], start[treated] + place_in_patient)

    def column(name: str) -> np.ndarray:
        out = np.empty(int(n_rows.sum()), np.result_type(reference[name], treatment[name]))
        out[places[0]], out[places[1]] = reference[name], treatment[name]
        return out

    patient, period_index = column("patient"), column("period_index")
    first = cohort.injection_number == 1
    first_injection_day = np.full(len(cohort.ids), np.nan)
    first_injection_day[cohort.injection_patient[first]] = cohort.injection_day[first]
    t1 = first_injection_day[patient]
    kmax = int(cohort.injection_number.max())
    labels = pd.Index(
        ["reference", *[f"{k}-{k + 1}" for k in range(1, kmax)], "after-last", "whole"]
    )
    label = np.where(period_index == AFTER_LAST_INDEX, kmax, period_index)
    label = np.where(period_index == WHOLE_INDEX, kmax + 1, label)
    rate = column("rate")
    rate[np.abs(rate) < ZERO_RATE] = 0.0  # SPEC §6
    table = {
        "patient_id": cohort.ids.take(patient),
        "period": labels.take(label),
        "period_index": period_index,
        "start_day": column("start_day") - t1,
        "end_day": column("end_day") - t1,
        "start_score": column("start_score"),
        "end_score": column("end_score"),
        "months": column("months"),
        "rate": rate,
        "rate_reason": reasons.column(column("reason")),
    }
    # copy=False: the columns are fresh arrays; no copy into one 2-D block (time, memory)
    return pd.DataFrame(table, copy=False)


def compute_periods(
    visits: pd.DataFrame,
    injections: pd.DataFrame,
    patients: pd.DataFrame | None = None,
    settings: Settings | None = None,
) -> pd.DataFrame:
    """Periods and their progression rates for every treated patient (SPEC §3–5, §12).

    Parameters
    ----------
    visits, injections, patients : pandas.DataFrame
        Canonical tables (:mod:`msc_notebooks.study`). ``patients`` is needed for the
        ``onset`` reference (``onset_day``).
    settings : Settings, optional
        ``reference``, ``method``, ``window_days``, ``min_span_days``, ``month_days``,
        ``outcome``.

    Returns
    -------
    pandas.DataFrame
        One row per treated patient and period (``reference``, ``1-2``, ..., ``after-last``,
        ``whole``), every treated patient present: ``patient_id``, ``period``,
        ``period_index`` (0 reference, k for k-(k+1), 90 after-last, 99 whole; for sorting),
        ``start_day``, ``end_day`` (days from the patient's first injection to the
        assessments used; for the onset reference ``start_day`` is the onset),
        ``start_score``, ``end_score``, ``months`` (between the two assessments used),
        ``rate`` (points lost per month; positive = decline; NaN where not computable),
        ``rate_reason`` (why the rate is not computable; empty otherwise).

    Notes
    -----
    endpoints: rate = (start score - end score) / months (SPEC §5).
    ols: rate = - least-squares slope (points/month) of every assessment from the start
    assessment to the end assessment inclusive. The ``onset`` reference is always
    (48 - score at T1) / months from onset to the assessment used for T1 (SPEC §4).
    A rate within 1e-9 points/month of 0 is 0 (SPEC §6).

    Examples
    --------
    Run-in from day -90 (score 40) to injection 1 at day 0 (score 37), then injection 2 at
    day 120 (score 36): reference rate 3 / (90 / 30.4375) = 1.0146 points/month, period 1-2
    rate 1 / (120 / 30.4375) = 0.2536.

    >>> v = pd.DataFrame({"patient_id": ["a"] * 3, "day": [-90.0, 0.0, 120.0],
    ...                   "alsfrs_r_total": [40.0, 37.0, 36.0]})
    >>> i = pd.DataFrame({"patient_id": ["a", "a"], "day": [0.0, 120.0]})
    >>> p = compute_periods(v, i)
    >>> p[["period", "rate"]].round(4).values.tolist()
    [['reference', 1.0146], ['1-2', 0.2536], ['after-last', nan], ['whole', 0.2536]]
    >>> p.rate_reason.iloc[2]
    'no assessment at least 28 days after the last injection'
    """
    s = settings or Settings()
    return Cohort.from_tables(visits, injections, patients, s.outcome).period_table(s)
