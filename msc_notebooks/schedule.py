"""Injection schedules: from a table, from a protocol, edited per patient; interval lengths.

All functions take and return canonical injection tables (``patient_id``, ``day``,
``date``, ``injection_number``, ``dose_million_cells``, ``route``, ``row``; see
:mod:`msc_notebooks.study`). Days are float days; with calendar data ``day`` counts days
since 1970-01-01 and ``date`` holds the calendar date.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd

from .columns import (
    INJECTIONS_COLUMNS,
    date_to_day,
    day_to_date,
    number_in_time_order,
    patient_order,
    shared_codes,
)
from .errors import ScheduleError
from .settings import MONTH_DAYS

if TYPE_CHECKING:
    from .study import StudyData

__all__ = [
    "INJECTION_COLUMNS",
    "protocol_schedule",
    "interval_table",
    "set_injections",
    "apply_protocol",
    "renumber",
    "edited_patients",
]

INJECTION_COLUMNS = INJECTIONS_COLUMNS


def _empty() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "patient_id": pd.Series(dtype="object"),
            "day": pd.Series(dtype=float),
            "date": pd.Series(dtype="datetime64[ns]"),
            "injection_number": pd.Series(dtype="int64"),
            "dose_million_cells": pd.Series(dtype=float),
            "route": pd.Series(dtype="object"),
            "row": pd.Series(dtype="object"),
        }
    )


def renumber(injections: pd.DataFrame) -> pd.DataFrame:
    """Sort injections by patient and day and number them 1, 2, ... in time order (SPEC §12).

    Two injections of one patient on one day are an error here (the loader merges them
    with a warning; an edit that creates them is refused).

    Examples
    --------
    >>> inj = pd.DataFrame({"patient_id": ["a", "a"], "day": [100.0, 10.0]})
    >>> renumber(inj)[["day", "injection_number"]].to_dict("list")
    {'day': [10.0, 100.0], 'injection_number': [1, 2]}
    """
    out = injections.sort_values(["patient_id", "day"], kind="stable").reset_index(drop=True)
    dup = out.duplicated(["patient_id", "day"], keep=False)
    if dup.any():
        pids = sorted(set(out.loc[dup, "patient_id"]))
        raise ScheduleError(
            "two injections of one patient on the same day",
            column="day",
            rows=list(out.loc[dup, "row"]) if "row" in out else None,
            fix=f"move or remove one of them (patients {', '.join(map(str, pids))})",
        )
    out["injection_number"] = number_in_time_order(out["patient_id"].to_numpy())
    return out


def protocol_schedule(
    patient_ids: Iterable[str],
    first: object | Mapping[str, object],
    interval_months: float | Sequence[float],
    count: int,
    *,
    month_days: float = MONTH_DAYS,
    time_kind: Literal["date", "day"] = "date",
) -> pd.DataFrame:
    """Generate injections from a protocol: a first injection, then one every interval.

    Parameters
    ----------
    patient_ids : iterable of str
        Patients to schedule.
    first : date, day number, or mapping patient_id -> date/day
        The first injection: a calendar date (``"2021-03-01"``) with ``time_kind='date'``,
        or a day number with ``time_kind='day'``; a mapping gives each patient its own.
    interval_months : float or sequence of float
        Months between consecutive injections (one value, or ``count - 1`` values).
    count : int
        Number of injections per patient (at least 1).
    month_days : float, default 30.4375
        Days per month (SPEC §2); injection days are rounded to whole days.
    time_kind : {'date', 'day'}
        Whether ``first`` is a calendar date or a day offset.

    Returns
    -------
    pandas.DataFrame
        Canonical injections: ``patient_id``, ``day`` (days), ``date``,
        ``injection_number`` (1..count), ``dose_million_cells`` (NaN), ``route`` (None),
        ``row`` (``"protocol"``).

    Examples
    --------
    >>> inj = protocol_schedule(["01", "02"], 0, 3, 3, time_kind="day")
    >>> inj[inj.patient_id == "01"].day.tolist()     # 3 months = 91.3125 days, rounded
    [0.0, 91.0, 183.0]
    >>> protocol_schedule(["01"], "2021-03-01", [3, 6], 3).date.dt.strftime("%Y-%m-%d").tolist()
    ['2021-03-01', '2021-05-31', '2021-11-30']
    """
    count = int(count)
    if count < 1:
        raise ScheduleError("the number of injections must be at least 1", fix="set count >= 1")
    given = np.atleast_1d(np.asarray(interval_months, dtype=float))
    if count > 1 and given.size not in (1, count - 1):
        raise ScheduleError(
            f"{given.size} intervals given for {count} injections",
            fix=f"give one interval or {count - 1}",
        )
    gaps = np.broadcast_to(given, (max(count - 1, 0),)) if count > 1 else np.array([])
    if (gaps <= 0).any():
        raise ScheduleError("injection intervals must be positive", fix="use months > 0")
    offsets = np.concatenate([[0.0], np.round(np.cumsum(gaps) * month_days)])
    ids = [str(p) for p in patient_ids]
    if isinstance(first, Mapping):
        firsts = [first[p] for p in ids]
    else:
        firsts = [first] * len(ids)
    if time_kind == "date":
        start = date_to_day([pd.Timestamp(f).strftime("%Y-%m-%d") for f in firsts])
    else:
        start = np.asarray(firsts, dtype=float)
    if not len(ids):
        return _empty()
    day = (start[:, None] + offsets[None, :]).ravel()
    out = pd.DataFrame(
        {
            "patient_id": np.repeat(np.array(ids, dtype=object), count),
            "day": day,
            "date": day_to_date(day) if time_kind == "date" else pd.NaT,
            "injection_number": np.tile(np.arange(1, count + 1, dtype="int64"), len(ids)),
            "dose_million_cells": np.nan,
            "route": None,
            "row": "protocol",
        }
    )
    out["date"] = out["date"].astype("datetime64[ns]")
    return out


def interval_table(injections: pd.DataFrame, month_days: float = MONTH_DAYS) -> pd.DataFrame:
    """Interval lengths between consecutive injections (SPEC §8).

    Parameters
    ----------
    injections : pandas.DataFrame
        Canonical injections (``patient_id``, ``day``).
    month_days : float, default 30.4375
        Days per month.

    Returns
    -------
    pandas.DataFrame
        One row per interval: ``patient_id``, ``interval`` (``"1-2"``, ``"2-3"``, ...),
        ``start_day``, ``end_day`` (injection days), ``days``, ``months`` (days / month_days).

    Examples
    --------
    >>> inj = pd.DataFrame({"patient_id": ["a", "a", "a"], "day": [0.0, 91.0, 274.0]})
    >>> interval_table(inj)[["interval", "days"]].to_dict("list")
    {'interval': ['1-2', '2-3'], 'days': [91.0, 183.0]}
    >>> round(interval_table(inj).months.iloc[0], 4)   # 91 / 30.4375
    2.9897
    """
    if not len(injections):
        out = pd.DataFrame(
            {
                "patient_id": np.array([], dtype=object),
                "interval": pd.Series([], dtype=object),
                "start_day": np.array([], dtype=float),
                "end_day": np.array([], dtype=float),
                "days": np.array([], dtype=float),
            }
        )
        out["months"] = out["days"] / month_days
        return out
    # integer patient codes in id order instead of text: the same order as sorting by
    # patient_id then day (stable), without comparing strings
    (codes,), uniques = shared_codes(injections["patient_id"])
    missing = len(uniques)
    codes = np.where(codes < 0, missing, codes)  # missing ids last, like sort_values
    day = injections["day"].to_numpy(dtype=float)
    order = patient_order(codes, day)  # usually in order already
    codes, day = codes[order], day[order]
    same = (codes[1:] == codes[:-1]) & (codes[:-1] != missing)  # a missing id is no patient
    k = number_in_time_order(codes)  # the rows are sorted by patient and day
    start, end, kk = day[:-1][same], day[1:][same], k[:-1][same]
    # the few interval labels are built once and indexed (not one f-string per row)
    labels = pd.Index([f"{a}-{a + 1}" for a in range(1, int(k.max()))] or [""])
    ids = pd.Index(uniques).take(codes[:-1][same])
    out = pd.DataFrame(
        {
            "patient_id": ids,
            "interval": labels.take(kk - 1),  # text like the ids (no Python string per row)
            "start_day": start,
            "end_day": end,
            "days": end - start,
        },
        copy=False,
    )
    out["months"] = out["days"] / month_days
    return out


def set_injections(study: StudyData, patient_id: str, days: Iterable[float]) -> StudyData:
    """Return the study with one patient's injections replaced (an edit in the editor).

    Parameters
    ----------
    study : StudyData
        The study.
    patient_id : str
        The patient whose schedule changes.
    days : iterable of float
        The new injection days (same time base as the study's ``day``).

    Returns
    -------
    StudyData
        A new study; the original is not modified.

    Examples
    --------
    >>> from msc_notebooks.study import StudyData
    >>> inj = protocol_schedule(["a"], 0, 3, 2, time_kind="day")
    >>> s = StudyData(visits=pd.DataFrame(), injections=inj, patients=pd.DataFrame(), time_kind="day")
    >>> set_injections(s, "a", [0, 120]).injections.day.tolist()
    [0.0, 120.0]
    """
    days = sorted(float(d) for d in days)
    if len(set(days)) != len(days):
        raise ScheduleError(
            f"two injections of patient {patient_id} on the same day",
            fix="move or remove one of them",
        )
    old = study.injections
    keep = old[old["patient_id"] != patient_id]
    mine = old[old["patient_id"] == patient_id].sort_values("day")
    new = pd.DataFrame({"patient_id": [str(patient_id)] * len(days), "day": days})
    for col in ("dose_million_cells", "route"):
        vals = mine[col].tolist() if col in mine else []
        new[col] = (vals + [None] * len(days))[: len(days)]
    new["row"] = "edited"
    new["date"] = day_to_date(days) if study.time_kind == "date" else pd.NaT
    new["date"] = new["date"].astype("datetime64[ns]")
    frames = [f for f in (keep, new) if len(f)]
    combined = pd.concat(frames, ignore_index=True) if frames else _empty()
    return study.with_injections(renumber(combined)[list(INJECTION_COLUMNS)])


def apply_protocol(
    study: StudyData,
    first: object | Mapping[str, object],
    interval_months: float | Sequence[float],
    count: int,
    patient_ids: Iterable[str] | None = None,
    *,
    month_days: float = MONTH_DAYS,
) -> StudyData:
    """Return the study with a protocol schedule applied to some or all patients.

    Patients not named keep their injections. ``patient_ids=None`` means every patient of
    the patients table who is not withdrawn.

    Examples
    --------
    >>> from msc_notebooks.study import StudyData
    >>> pats = pd.DataFrame({"patient_id": ["a", "b"], "withdrawn": [False, True]})
    >>> s = StudyData(visits=pd.DataFrame(), injections=protocol_schedule([], 0, 3, 1),
    ...               patients=pats, time_kind="day")
    >>> apply_protocol(s, 10, 3, 2).injections[["patient_id", "day"]].values.tolist()
    [['a', 10.0], ['a', 101.0]]
    """
    if patient_ids is None:
        pats = study.patients
        if "withdrawn" in pats:
            pats = pats[~pats["withdrawn"].fillna(False).astype(bool)]
        patient_ids = pats["patient_id"].tolist()
    ids = [str(p) for p in patient_ids]
    new = protocol_schedule(
        ids, first, interval_months, count, month_days=month_days, time_kind=study.time_kind
    )
    old = study.injections
    keep = old[~old["patient_id"].isin(ids)] if len(old) else old
    frames = [f for f in (keep, new) if len(f)]
    combined = pd.concat(frames, ignore_index=True) if frames else _empty()
    return study.with_injections(renumber(combined)[list(INJECTION_COLUMNS)])


def edited_patients(old: StudyData, new: StudyData) -> frozenset[str] | None:
    """The patients whose injections differ between two versions of one study.

    What an incremental update needs (:func:`msc_notebooks.analysis.update`): when ``new``
    is ``old`` with some patients' injections edited (:func:`set_injections`,
    :func:`apply_protocol`, or :meth:`StudyData.with_injections` with any table), only
    those patients need re-analysing. The comparison is exact (every column of the
    injection table, a missing value equal to a missing value) and per patient: a patient
    whose rows differ in any way (number, day, date, dose, route, even the ``row`` note)
    is returned. Two tables whose rows are in another order than the canonical one (by
    patient then day) at worst return more patients than changed, never fewer.

    Parameters
    ----------
    old, new : StudyData
        The study analysed before and the study wanted.

    Returns
    -------
    frozenset of str or None
        The ids of the patients whose injections differ (empty when none do), or None when
        anything else differs: another visits, patients or adverse-event table (compared
        by identity: the editing functions share them), another time kind, or injection
        tables with other columns. None means "analyse again from scratch".

    Examples
    --------
    >>> from msc_notebooks import load_demo
    >>> study = load_demo()
    >>> sorted(edited_patients(study, set_injections(study, "001", [16962.0, 17100.0])))
    ['001']
    >>> edited_patients(study, study), edited_patients(study, load_demo())
    (frozenset(), None)
    """
    if new is old:
        return frozenset()
    if (
        new.visits is not old.visits
        or new.patients is not old.patients
        or new.adverse_events is not old.adverse_events
        or new.time_kind != old.time_kind
    ):
        return None
    a, b = old.injections, new.injections
    if a is b:
        return frozenset()
    if list(a.columns) != list(b.columns) or "patient_id" not in a:
        return None
    # rows as integer patient codes (one code space for both tables); a patient whose row
    # count differs has changed; the others' rows are compared position by position
    ids = pd.concat([a["patient_id"], b["patient_id"]], ignore_index=True)
    codes, uniques = pd.factorize(ids, use_na_sentinel=False)
    ca, cb = codes[: len(a)], codes[len(a) :]
    na, nb = np.bincount(ca, minlength=len(uniques)), np.bincount(cb, minlength=len(uniques))
    changed = na != nb
    ra = np.flatnonzero(~changed[ca])
    rb = np.flatnonzero(~changed[cb])
    ra = ra[np.argsort(ca[ra], kind="stable")]  # each patient's rows together, in table order
    rb = rb[np.argsort(cb[rb], kind="stable")]
    differ = np.zeros(len(ra), dtype=bool)
    for col in a.columns:
        x = a[col].iloc[ra].reset_index(drop=True)
        y = b[col].iloc[rb].reset_index(drop=True)
        same = (x == y).to_numpy(dtype=bool, na_value=False) | (x.isna() & y.isna()).to_numpy()
        differ |= ~same
    changed[ca[ra[differ]]] = True
    return frozenset(pd.Index(uniques).take(np.flatnonzero(changed)).tolist())
