"""The schema: every rule about names, words and time that more than one module needs.

Canonical column names of every table (SPEC §11), ALSFRS-R items and domains (SPEC §1),
outcomes and their labels, the PRO-ACT layout and the other names recognised without a
column map, setting choices, missing and yes/no words, date <-> day conversion, patient
ids (and other values) as integer codes, and the numbering of injections by time (SPEC §12). Everything else imports these; a second
copy anywhere is a bug.

numpy and pandas are imported inside the functions that need them, so that importing
the schema stays cheap.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = [
    "TABLES",
    "OUTCOMES",
    "OUTCOME_LABELS",
    "OUTCOME_SHORT",
    "SETTING_CHOICES",
    "MISSING_WORDS",
    "TRUE_WORDS",
    "FALSE_WORDS",
    "SEVERITIES",
    "NOT_RECORDED",
    "SYNONYMS",
    "EPOCH",
    "date_to_day",
    "day_to_date",
    "day_text",
    "number_in_time_order",
    "shared_codes",
    "patient_order",
    "recognise_columns",
    "suggest_column",
    "ITEMS",
    "PATIENT_EVENTS",
    "OPTIONAL_PATIENT_EVENTS",
    "DOMAINS",
    "DOMAIN_MAX",
    "OUTCOME_MAX",
    "CANONICAL",
    "REQUIRED",
    "PROACT",
    "PERIODS_COLUMNS",
    "RATE_COLUMNS",
    "INJECTIONS_COLUMNS",
    "ADVERSE_EVENTS_COLUMNS",
    "SUMMARY_COLUMNS",
    "RESPONDER_COLUMNS",
    "STATISTICS_COLUMNS",
    "EXCLUSIONS_COLUMNS",
    "LEDGER_COLUMNS",
]

#: The four tables a user brings (SPEC §1), in reading order.
TABLES = ("visits", "injections", "patients", "adverse_events")

#: ALSFRS-R items q1..q12 (item 5 is q5, read from q5a or q5b; SPEC §1).
ITEMS = tuple(f"q{i}" for i in range(1, 13))

#: ALSFRS-R domains and their items (SPEC §1); each domain is scored 0-12.
DOMAINS = {
    "bulbar": ("q1", "q2", "q3"),
    "fine_motor": ("q4", "q5", "q6"),
    "gross_motor": ("q7", "q8", "q9"),
    "respiratory": ("q10", "q11", "q12"),
}
DOMAIN_MAX = 12

#: Highest possible value of each bounded outcome (used by the onset reference, SPEC §4,
#: and by range checks). Unbounded outcomes (FVC %) are absent.
OUTCOME_MAX = {"alsfrs_r_total": 48, **{d: DOMAIN_MAX for d in DOMAINS}}

#: Dated events of the patients table, each read from ``<event>_date`` (calendar input) or
#: ``<event>_day`` (day offsets): onset and diagnosis (SPEC §11), gastrostomy and death
#: (optional, for King's 4A and stage 5: SPEC §16).
PATIENT_EVENTS = ("onset", "diagnosis", "gastrostomy", "death")
#: The events whose columns exist in the canonical patients table only when given.
OPTIONAL_PATIENT_EVENTS = ("gastrostomy", "death")

#: Canonical input columns per table (SPEC §11).
CANONICAL = {
    "visits": ("patient_id", "date", "day", "alsfrs_r_total", *ITEMS, "q5a", "q5b", "fvc_pct"),
    "injections": ("patient_id", "date", "day", "injection_number", "dose_million_cells", "route"),
    "patients": (
        "patient_id",
        "onset_date",
        "onset_day",
        "diagnosis_date",
        "diagnosis_day",
        "gastrostomy_date",
        "gastrostomy_day",
        "death_date",
        "death_day",
        "sex",
        "age",
        "site_of_onset",
        "withdrawn",
    ),
    "adverse_events": (
        "patient_id",
        "date",
        "day",
        "term",
        "severity",
        "serious",
        "related",
        "outcome",
        "injection_number",
    ),
}

#: Required columns per table; a tuple inside means "one of these".
REQUIRED = {
    "visits": ("patient_id", ("date", "day")),
    "injections": ("patient_id", ("date", "day")),
    "patients": ("patient_id",),
    "adverse_events": ("patient_id", ("date", "day"), "term"),
}

#: The PRO-ACT export names, recognised without a column map (SPEC §1).
PROACT = {
    "visits": {
        "subject_id": "patient_id",
        "ALSFRS_Delta": "day",
        "Q1_Speech": "q1",
        "Q2_Salivation": "q2",
        "Q3_Swallowing": "q3",
        "Q4_Handwriting": "q4",
        "Q5a_Cutting_without_Gastrostomy": "q5a",
        "Q5b_Cutting_with_Gastrostomy": "q5b",
        "Q6_Dressing_and_Hygiene": "q6",
        "Q7_Turning_in_Bed": "q7",
        "Q8_Walking": "q8",
        "Q9_Climbing_Stairs": "q9",
        "R_1_Dyspnea": "q10",
        "R_2_Orthopnea": "q11",
        "R_3_Respiratory_Insufficiency": "q12",
        "ALSFRS_R_Total": "alsfrs_r_total",
        # ALSFRS_Total is the original 0-40 scale: recognised so that it can be refused.
        "ALSFRS_Total": "alsfrs_total_original",
    },
    "injections": {"subject_id": "patient_id", "Injection_Delta": "day"},
    "patients": {
        "subject_id": "patient_id",
        "Onset_Delta": "onset_day",
        "Diagnosis_Delta": "diagnosis_day",
        "Sex": "sex",
        "Age": "age",
        "Site_of_Onset": "site_of_onset",
    },
    "adverse_events": {
        "subject_id": "patient_id",
        "Preferred_Term": "term",
        "Severity": "severity",
        "Outcome": "outcome",
        "Start_Date_Delta": "day",
        "Serious": "serious",
    },
}

#: The per-patient period table (SPEC §11), in order.
PERIODS_COLUMNS = (
    "patient_id",
    "period",
    "start_day",
    "end_day",
    "start_score",
    "end_score",
    "months",
    "rate",
    "reference_rate",
    "improvement_pct",
    "responder",
    "absolute_change",
    "absolute_responder",
    "evaluable",
    "reason",
    "small_reference",
)

#: The rate table before classification (``progression.compute_periods``): the periods'
#: first columns, the period's position, and why a rate is missing.
RATE_COLUMNS = (*PERIODS_COLUMNS[:2], "period_index", *PERIODS_COLUMNS[2:8], "rate_reason")

#: The validated injection and adverse-event tables (``StudyData``), in order: the
#: canonical columns with ``day`` before ``date``, and the ``row`` they came from.
INJECTIONS_COLUMNS = ("patient_id", "day", "date", *CANONICAL["injections"][3:], "row")
ADVERSE_EVENTS_COLUMNS = ("patient_id", "day", "date", *CANONICAL["adverse_events"][3:], "row")

#: The per-period summary table (SPEC §7 and §11), in order: the patients left out beside
#: the evaluable ones, the median before the mean (SPEC §7).
SUMMARY_COLUMNS = (
    "period",
    "n_in_period",
    "n_evaluable",
    "n_not_evaluable",
    "not_evaluable_reasons",
    "n_responders",
    "responder_pct",
    "median_improvement_pct",
    "median_ci_low_pct",
    "median_ci_high_pct",
    "mean_improvement_pct",
    "ci_low_pct",
    "ci_high_pct",
    "ci_method",
    "ratio_of_mean_rates_pct",
    "mean_improvement_responders_pct",
    "n_small_reference",
    "wilcoxon_statistic",
    "wilcoxon_p",
    "wilcoxon_n",
    "wilcoxon_method",
    "median_paired_difference",
    "n_absolute_responders",
)

#: The summary columns that count responders (they change with the thresholds, SPEC §6).
RESPONDER_COLUMNS = (
    "n_responders",
    "responder_pct",
    "mean_improvement_responders_pct",
    "n_absolute_responders",
)

#: The summary columns that do not depend on the responder thresholds
#: (``summary.period_statistics``): computed once, kept by a re-count.
STATISTICS_COLUMNS = tuple(c for c in SUMMARY_COLUMNS if c not in RESPONDER_COLUMNS)

#: Every row read and not used, with why (SPEC §10).
EXCLUSIONS_COLUMNS = ("table", "source", "row", "patient_id", "column", "value", "reason")

#: Rows read = used + excluded, per table (SPEC §10).
LEDGER_COLUMNS = ("table", "rows_read", "rows_used", "rows_excluded")


# ----------------------------------------------------------------------------- outcomes
#: Outcomes the kit knows, in the order faces offer them (SPEC §7: the ALSFRS-R total,
#: FVC, then the four domains).
OUTCOMES = ("alsfrs_r_total", "fvc_pct", *DOMAINS)

#: Axis titles (with units) of the outcomes.
OUTCOME_LABELS: dict[str, str] = {
    "alsfrs_r_total": "ALSFRS-R total (points, 0–48)",
    "fvc_pct": "FVC (% predicted)",
    **{d: f"ALSFRS-R {d.replace('_', ' ')} domain (points, 0–12)" for d in DOMAINS},
}

#: Short name and unit of each outcome (rate axes and titles).
OUTCOME_SHORT: dict[str, tuple[str, str]] = {
    "alsfrs_r_total": ("ALSFRS-R", "points"),
    "fvc_pct": ("FVC", "% predicted"),
    **{d: (f"ALSFRS-R {d.replace('_', ' ')}", "points") for d in DOMAINS},
}

# ----------------------------------------------------------------------------- settings
#: The allowed values of every choice setting (the first is the default); ``Settings``,
#: the widgets, the command line and the templates take their options from here.
SETTING_CHOICES: dict[str, tuple[str, ...]] = {
    "reference": ("run-in", "onset"),
    "method": ("endpoints", "ols"),
}

# -------------------------------------------------------------------------------- words
#: Cell values read as missing (compared case-insensitively, after stripping spaces).
MISSING_WORDS = ("", "na", "n/a", "nan", ".", "-", "missing", "#n/a")

#: Cell values read as yes / no (any case): ``withdrawn``, ``serious``.
TRUE_WORDS = frozenset({"yes", "y", "true", "t", "1", "1.0"})
FALSE_WORDS = frozenset({"no", "n", "false", "f", "0", "0.0"})

#: Adverse-event severities (SPEC §9), and the word for an event without one.
SEVERITIES = ("mild", "moderate", "severe")
NOT_RECORDED = "not recorded"

# ------------------------------------------------------------------------ column names
#: Other names people give the canonical columns (compared without case, spaces or
#: punctuation). A column with one of these names is mapped without a column map when
#: no other column of the table claims the same canonical name.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "patient_id": ("subject", "subject_id", "patient", "patient_no", "participant", "pid"),
    "date": ("visit_date", "assessment_date", "injection_date", "event_date"),
    "day": ("days", "study_day", "visit_day", "day_offset"),
    "alsfrs_r_total": ("alsfrs_r", "alsfrsr", "alsfrs_r_score", "alsfrsr_total"),
    "term": ("adverse_event", "event", "ae", "preferred_term", "ae_term"),
    "onset_date": ("date_of_onset", "symptom_onset", "onset"),
    "diagnosis_date": ("date_of_diagnosis", "diagnosis"),
    "fvc_pct": ("fvc", "fvc_percent", "fvc_predicted"),
    "dose_million_cells": ("dose", "cells_million"),
}

# names recognised in one table only (besides PRO-ACT)
_ALIASES = {
    "visits": {"Q5_Cutting": "q5", "Q10_Respiratory": "q10_original"},
    "injections": {},
    "patients": {},
    # a case-report form's adverse-event page dates the event by its onset
    "adverse_events": {"Onset date": "date", "Start date": "date", "AE start date": "date"},
}
# names every table recognises
_COMMON = {"alsfrs_total_original": "alsfrs_total_original"}

# canonical names that hold numbers (a suggestion for them must be a numeric column)
_NUMERIC = frozenset(
    {"day", "onset_day", "diagnosis_day", "alsfrs_r_total", "fvc_pct", "age", *ITEMS}
    | {"q5a", "q5b", "injection_number", "dose_million_cells"}
)


def _norm(name: object) -> str:
    return re.sub(r"[^0-9a-z]", "", str(name).strip().lstrip("\ufeff").lower())


def recognise_columns(table: str, names: Iterable[object]) -> dict[str, str]:
    """Map the columns whose names the kit recognises to canonical names.

    A name is recognised when, ignoring case, spaces and punctuation, it is the
    canonical name, a PRO-ACT export name (SPEC §1) or one of :data:`SYNONYMS`. Two
    columns claiming one canonical name are both listed: reading then refuses the table
    ("two columns both mean ...") and asks for a column map.

    Parameters
    ----------
    table : {'visits', 'injections', 'patients', 'adverse_events'}
        The table the columns belong to.
    names : iterable
        The file's column names.

    Returns
    -------
    dict
        ``{their name: canonical name}`` for every recognised column whose name is not
        already canonical.

    Examples
    --------
    >>> recognise_columns("visits", ["Patient ID", "Visit Date", "ALSFRS-R", "Study_Arm"])
    {'Patient ID': 'patient_id', 'Visit Date': 'date', 'ALSFRS-R': 'alsfrs_r_total'}
    >>> recognise_columns("visits", ["subject_id", "ALSFRS_Delta", "Q1_Speech"])
    {'subject_id': 'patient_id', 'ALSFRS_Delta': 'day', 'Q1_Speech': 'q1'}
    >>> recognise_columns("visits", ["Patient", "Subject"])   # ambiguous: both listed
    {'Patient': 'patient_id', 'Subject': 'patient_id'}
    """
    known = {_norm(c): c for c in CANONICAL[table]}
    for canon, others in SYNONYMS.items():
        if canon in CANONICAL[table]:
            for other in others:
                known.setdefault(_norm(other), canon)
    for other, canon in {**PROACT[table], **_ALIASES[table], **_COMMON}.items():
        known[_norm(other)] = canon
    out = {}
    for name in names:
        canon = known.get(_norm(name))
        if canon is not None and name not in ("row", canon):
            out[str(name)] = canon
    return out


def suggest_column(want: str, names: Iterable[object], numeric: Mapping[str, bool] | None = None):
    """Suggest the column that most likely holds a canonical column, for a fix or a form.

    Only a suggestion (never applied without the user): the closest name by
    :mod:`difflib` (ratio at least 0.6) to the canonical name or a synonym. A canonical
    column that holds numbers (``day``, scores, ...) is never suggested from a column
    known to hold text.

    Parameters
    ----------
    want : str
        The canonical name.
    names : iterable
        The file's column names.
    numeric : mapping, optional
        ``{name: whether the column holds numbers}``; names absent are not checked.

    Returns
    -------
    str or None

    Examples
    --------
    >>> suggest_column("day", ["Study_Arm", "subject"], numeric={"Study_Arm": False})
    >>> suggest_column("day", ["Study_Dy", "subject"], numeric={"Study_Dy": True})
    'Study_Dy'
    """
    import difflib

    candidates = {}
    for name in names:
        if name == "row":
            continue
        if want in _NUMERIC and numeric is not None and numeric.get(str(name)) is False:
            continue
        candidates[_norm(name)] = str(name)
    for syn in (want, *SYNONYMS.get(want, ())):
        close = difflib.get_close_matches(_norm(syn), list(candidates), n=1, cutoff=0.6)
        if close:
            return candidates[close[0]]
    return None


# --------------------------------------------------------------------------------- time
#: Day 0 of calendar data: with dates, ``day`` counts days since this date.
EPOCH = "1970-01-01"


def date_to_day(dates: Any) -> Any:
    """Convert calendar dates to float days since :data:`EPOCH` (NaN for a missing date).

    Parameters
    ----------
    dates : array-like
        ``datetime64`` values, Timestamps or ISO date text.

    Returns
    -------
    numpy.ndarray of float
        Days (fractions kept for a time of day; no time zone involved).

    Examples
    --------
    >>> date_to_day(["1970-01-02", "2021-03-01", None]).tolist()
    [1.0, 18687.0, nan]
    """
    import numpy as np
    import pandas as pd

    values = np.asarray(dates)
    if values.dtype.kind != "M":
        values = pd.to_datetime(pd.Series(values, dtype=object), format="ISO8601").to_numpy()
    if values.dtype != np.dtype("datetime64[ns]"):
        values = values.astype("datetime64[ns]")
    # nanoseconds since the epoch, as integers (a view: no copy of a million dates)
    ns = values.view(np.int64) - np.datetime64(EPOCH, "ns").astype(np.int64)
    days = ns / 86_400e9
    days[np.isnat(values)] = np.nan
    return days


def day_to_date(days: Any) -> Any:
    """Convert days since :data:`EPOCH` back to calendar dates (midnight, no time zone).

    Examples
    --------
    >>> day_to_date([18687.0]).dt.strftime("%Y-%m-%d").tolist()
    ['2021-03-01']
    """
    import numpy as np
    import pandas as pd

    values = pd.Series(np.asarray(days, dtype=float))
    return pd.Timestamp(EPOCH) + pd.to_timedelta(values.round(), unit="D")


def day_text(day: float, time_kind: str) -> str:
    """A day as the user reads it: an ISO date for calendar data, else the day number.

    Examples
    --------
    >>> day_text(18687.0, "date"), day_text(90.0, "day")
    ('2021-03-01', '90')
    """
    if time_kind == "date":
        return day_to_date([day]).iloc[0].strftime("%Y-%m-%d")
    return f"{day:g}"


# ------------------------------------------------------------------------------ patients
def _sorted_runs(values: Any) -> tuple[Any, Any] | None:
    """Codes and distinct values of values in sorted runs (each value's rows together,
    values increasing); None when they are not so (or one is missing)."""
    import numpy as np
    import pandas as pd

    if len(values) < 2 or pd.isna(values).any():
        return None
    try:
        change = np.asarray(values[1:] != values[:-1], dtype=bool)
        starts = np.flatnonzero(np.concatenate([[True], change]))
        distinct = values.take(starts)
        if not np.asarray(distinct[1:] > distinct[:-1], dtype=bool).all():
            return None
    except TypeError:  # values that do not compare (mixed types)
        return None
    return np.cumsum(np.concatenate([[0], change])), distinct


def _same_values(a: Any, b: Any) -> bool:
    """Whether two arrays of distinct values are the same values, of the same type."""
    import numpy as np

    if len(a) != len(b) or a.dtype != b.dtype or a.dtype == object:
        return False  # object: 1 == True == 1.0 would merge values pandas keeps apart
    return bool(np.asarray(a == b, dtype=bool).all())


def shared_codes(*columns: Any) -> tuple[list[Any], Any]:
    """The values of one or more columns (patient ids, period labels) as integer codes, in
    one code space.

    Code ``k`` is the ``k``-th distinct value in sorted order; a missing value is -1. The
    same as ``pandas.factorize(..., sort=True)`` of all the columns together. A column in
    sorted runs, as the kit's tables are by patient, gets its codes from where the value
    changes, without hashing every row (several times faster on a million text ids);
    other columns are factorized. Columns with the same distinct values (a study's tables
    usually hold the same patients) are in one code space already: nothing is merged.

    Parameters
    ----------
    *columns : pandas.Series or array-like
        The values.

    Returns
    -------
    (list of numpy.ndarray, array-like)
        The codes of each column, and the distinct values in sorted order (code -> value).

    Examples
    --------
    >>> (a, b), ids = shared_codes(["p1", "p1", "p2"], ["p3", "p1"])
    >>> a.tolist(), b.tolist(), list(ids)
    ([0, 0, 1], [2, 0], ['p1', 'p2', 'p3'])
    """
    import numpy as np
    import pandas as pd

    def values_of(column: Any) -> Any:
        """The column's values: its extension array (text), else a numpy array."""
        column = pd.Series(column, copy=False)
        is_extension = isinstance(column.dtype, pd.api.extensions.ExtensionDtype)
        return column.array if is_extension else column.to_numpy()

    parts = []
    for column in columns:
        values = values_of(column)
        parts.append(_sorted_runs(values) or pd.factorize(values, sort=True))
    first = parts[0][1]
    if all(_same_values(first, distinct) for _, distinct in parts[1:]):
        return [codes for codes, _ in parts], first  # one code space already (the usual case)
    # one code space: the distinct values of every column, sorted
    every = pd.concat([pd.Series(distinct) for _, distinct in parts], ignore_index=True)
    codes, distinct = pd.factorize(values_of(every), sort=True)
    out, at = [], 0
    for own, own_distinct in parts:
        to_shared = np.append(codes[at : at + len(own_distinct)], -1)  # own -1 (missing): -1
        out.append(to_shared[own])
        at += len(own_distinct)
    return out, distinct


def patient_order(patients: Any, days: Any) -> Any:
    """The stable order of rows by patient code, then day (missing days last).

    ``slice(None)`` (every row where it is) when the rows are in that order already, as
    the kit's tables are: then nothing is sorted or moved.

    Examples
    --------
    >>> patient_order([0, 0, 1], [5.0, 9.0, 1.0])
    slice(None, None, None)
    >>> patient_order([1, 0, 0], [1.0, 9.0, float("nan")]).tolist()
    [1, 2, 0]
    """
    import numpy as np

    patients, days = np.asarray(patients), np.asarray(days, dtype=float)
    step = np.diff(patients)
    d0, d1 = days[:-1], days[1:]
    out_of_order = (step < 0) | ((step == 0) & ((d1 < d0) | (np.isnan(d0) & ~np.isnan(d1))))
    if not out_of_order.any():
        return slice(None)
    return np.lexsort((days, patients))


# ---------------------------------------------------------------------------- injections
def number_in_time_order(patients: Any, days: Any | None = None) -> Any:
    """Number each patient's injections 1, 2, ... in time order (SPEC §12).

    Parameters
    ----------
    patients : array-like
        The patient of each injection.
    days : array-like, optional
        The day of each injection. Omitted: the rows are already sorted by patient and
        day, and only the patient changes are looked at.

    Returns
    -------
    numpy.ndarray of int64
        The injection number of each row, in the rows' own order.

    Examples
    --------
    >>> number_in_time_order(["a", "b", "a"], [200.0, 50.0, 100.0]).tolist()
    [2, 1, 1]
    >>> number_in_time_order([7, 7, 9]).tolist()
    [1, 2, 1]
    """
    import numpy as np
    import pandas as pd

    codes = np.asarray(patients)
    if codes.dtype.kind not in "iu":
        codes = pd.factorize(codes)[0]
    if days is None:
        order = np.arange(len(codes))
    else:
        order = np.lexsort((np.asarray(days, dtype=float), codes))
    c = codes[order]
    position = np.arange(len(c))
    starts = np.ones(len(c), dtype=bool)
    starts[1:] = c[1:] != c[:-1]
    number = np.empty(len(c), dtype=np.int64)
    number[order] = position - np.maximum.accumulate(np.where(starts, position, 0)) + 1
    return number
