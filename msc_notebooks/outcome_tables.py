"""Outcomes measured on their own schedule: an outcome table with its own dates (SPEC §1, §10).

FVC is often measured on other days than ALSFRS-R (PRO-ACT ``Fvc.csv``; a trial's
spirometry log). :func:`add_outcome_table` puts such a table's values into the visits:
a value on a day that has an assessment row fills that row's column; a value on any other
day becomes a visits row of its own (no ALSFRS-R score: not an ALSFRS-R assessment, but an
assessment of this outcome). So no value is lost because no ALSFRS-R row shares its day.
Every row of the table is accounted for in the ledger (its own line) and in the
exclusions table.

Rules, in order (the first reason wins): missing patient id; a patient who is not in the
study; missing or unreadable time (the study's own time kind: calendar dates or day
offsets, whole days); missing or non-numeric value; a value outside the outcome's range
(0 to its maximum for a bounded score, below 0 for any other); a second value of the
same patient and day (merged: the mean counts, as SPEC §12 does for assessments); a day on
which the visits table already holds this outcome (the visits' value is kept).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

import numpy as np
import pandas as pd

from .cells import parse_dates, parse_numbers
from .columns import LEDGER_COLUMNS, OUTCOME_MAX
from .errors import InputError
from .ledger import RowLedger
from .study import StudyData

__all__ = ["read_outcome_table", "add_outcome_table", "proact_fvc"]


def proact_fvc(raw: pd.DataFrame) -> pd.DataFrame:
    """PRO-ACT ``Fvc.csv`` columns to canonical ones: ``day`` and ``fvc_pct``.

    ``fvc_pct`` is the best (largest) of ``pct_of_Normal_Trial_1..3`` (the best effort of
    the session, as spirometry reports it); ``day`` is ``Forced_Vital_Capacity_Delta``.
    A table that already has ``fvc_pct`` and ``day`` (or ``date``) is returned unchanged.

    Examples
    --------
    >>> raw = pd.DataFrame({"patient_id": ["1"], "Forced_Vital_Capacity_Delta": ["30"],
    ...     "pct_of_Normal_Trial_1": ["80"], "pct_of_Normal_Trial_2": ["84.5"],
    ...     "pct_of_Normal_Trial_3": [""], "row": [2]})
    >>> proact_fvc(raw)[["patient_id", "day", "fvc_pct"]].values.tolist()
    [['1', '30', 84.5]]
    """
    low = {str(c).lower(): c for c in raw.columns}
    out = raw.copy(deep=False)
    if "day" not in out and "date" not in out:
        delta = low.get("forced_vital_capacity_delta")
        if delta is not None:
            out = out.rename(columns={delta: "day"})
    if "fvc_pct" not in out:
        trials = [c for k, c in low.items() if k.startswith("pct_of_normal_trial")]
        if trials:
            values = np.column_stack([parse_numbers(out[c])[0] for c in trials])
            known = ~np.isnan(values)
            best = np.where(known, values, -np.inf).max(axis=1)
            best[~known.any(axis=1)] = np.nan
            out["fvc_pct"] = best
    return out


def read_outcome_table(
    source, outcome: str = "fvc_pct", *, column_map: Mapping[str, str] | None = None
) -> pd.DataFrame:
    """Read an outcome table (no validation): ``patient_id``, ``day`` or ``date``, the value.

    Parameters
    ----------
    source : path or pandas.DataFrame
        The table: canonical names (``patient_id``, ``date`` or ``day``, a column named
        like the outcome) or the PRO-ACT ``Fvc.csv`` layout (:func:`proact_fvc`).
    outcome : str, default 'fvc_pct'
        The visits column the values belong to.
    column_map : mapping, optional
        ``{your name: canonical name}``.

    Returns
    -------
    pandas.DataFrame
        The raw table with ``row`` (file row numbers) and canonical names;
        ``attrs['source']`` names the file.

    Examples
    --------
    >>> raw = read_outcome_table(pd.DataFrame({"subject_id": ["1"], "day": [3],
    ...                                        "fvc_pct": [90]}))
    >>> list(raw.columns)
    ['patient_id', 'day', 'fvc_pct', 'row']
    """
    from .loading import read_table

    raw = read_table(source, "visits", column_map=column_map)
    name = raw.attrs.get("source", "DataFrame")
    if outcome == "fvc_pct":
        raw = proact_fvc(raw)
    raw.attrs["source"] = name
    return raw


def add_outcome_table(
    study: StudyData,
    raw: pd.DataFrame,
    outcome: str = "fvc_pct",
    *,
    table: str | None = None,
    date_format: str | None = None,
) -> StudyData:
    """Put an outcome table measured on its own days into the study's visits.

    Parameters
    ----------
    study : StudyData
        The validated study.
    raw : pandas.DataFrame
        :func:`read_outcome_table` (``patient_id``, ``day`` or ``date``, ``outcome``,
        ``row``).
    outcome : str, default 'fvc_pct'
        The visits column to fill.
    table : str, optional
        The table's name in the ledger and exclusions (default: the outcome).
    date_format : str, optional
        strftime format of calendar dates.

    Returns
    -------
    StudyData
        A copy with the values in ``visits`` (new rows where no visit shares the day; their
        ALSFRS-R columns empty), the ledger with one more line (read = used + excluded),
        the exclusions with this table's rows not used.

    Examples
    --------
    Visits on days 0 and 90; FVC on day 0 (fills the visit) and day 45 (a row of its own);
    a second FVC value on day 45 is merged (mean 81).

    >>> from msc_notebooks import read_study
    >>> s = read_study(pd.DataFrame({"patient_id": ["1", "1"], "day": [0, 90],
    ...                              "alsfrs_r_total": [40, 38]}))
    >>> fvc = pd.DataFrame({"patient_id": ["1", "1", "1"], "day": [0, 45, 45],
    ...                     "fvc_pct": [90, 80, 82]})
    >>> s2 = add_outcome_table(s, read_outcome_table(fvc))
    >>> s2.visits[["day", "alsfrs_r_total", "fvc_pct"]].values.tolist()
    [[0.0, 40.0, 90.0], [45.0, nan, 81.0], [90.0, 38.0, nan]]
    >>> s2.ledger.iloc[-1].tolist()
    ['fvc_pct', 3, 2, 1]
    """
    name = table or outcome
    label = raw.attrs.get("source", "DataFrame")
    if "patient_id" not in raw:
        raise InputError(
            "the outcome table has no patient id column",
            source=label,
            column="patient_id",
            fix="name the column patient_id (or subject_id), or map it with column_map",
        )
    if outcome not in raw:
        raise InputError(
            f"the outcome table has no '{outcome}' column",
            source=label,
            column=outcome,
            fix=f"name the values' column {outcome}, or map it with column_map",
        )
    t = RowLedger(name, raw, source=label)
    n, rows, ids, drop = t.n, t.rows, t.id_series, t.exclude
    drop(ids.isna().to_numpy(), "missing patient id", "patient_id")
    known = set(study.patients["patient_id"]) | set(study.visits["patient_id"])
    drop(~ids.isin(known).to_numpy() & ids.notna().to_numpy(),
         "unknown patient: not in the study's visits or patients", "patient_id")  # fmt: skip
    kind = study.time_kind
    col = "date" if kind == "date" else "day"
    if col not in raw:
        raise InputError(
            f"the outcome table has no '{col}' column, and the study's times are "
            + ("calendar dates" if kind == "date" else "day offsets"),
            source=label,
            column=col,
            fix=f"give the table a '{col}' column like the visits' (the same kind of time)",
        )
    if kind == "date":
        day, _, missing, bad = parse_dates(
            raw["date"], date_format, source=label, column="date", rows=raw["row"]
        )
        drop(missing, "missing date", "date")
        drop(bad, "unparseable or impossible date", "date")
    else:
        day, missing, bad = parse_numbers(raw["day"])
        drop(missing, "missing day", "day")
        drop(bad, "day is not a number", "day")
        drop(~missing & ~bad & (day != np.round(day)),
             "day offset is not a whole number of days", "day")  # fmt: skip
    value, missing, bad = parse_numbers(raw[outcome])
    drop(missing, f"missing {outcome}", outcome)
    drop(bad, f"{outcome} is not a number", outcome)
    top = OUTCOME_MAX.get(outcome)
    with np.errstate(invalid="ignore"):
        if top is not None:
            drop((value < 0) | (value > top), f"{outcome} outside 0-{top}", outcome)
        else:
            drop(value < 0, f"{outcome} below 0", outcome)

    # one value per patient and day: the first row counts, with the mean of the day's values
    ok = np.flatnonzero(t.kept)
    frame = pd.DataFrame({"pid": ids.to_numpy(dtype=object)[ok], "day": day[ok],
                          "value": value[ok], "pos": ok})  # fmt: skip
    frame = frame.sort_values(["pid", "day", "pos"], kind="stable")
    first_pos = frame.groupby(["pid", "day"], sort=False)["pos"].transform("first")
    later = frame["pos"].to_numpy() != first_pos.to_numpy()
    if later.any():
        pos = frame["pos"].to_numpy()[later]
        first_rows = rows[first_pos.to_numpy()[later]]
        why = np.full(n, None, dtype=object)
        why[pos] = [f"same-day duplicate of row {r}: merged (mean used)" for r in first_rows]
        mask = np.zeros(n, bool)
        mask[pos] = True
        drop(mask, why, col)
    per_day = frame.groupby(["pid", "day"], sort=False).agg(
        value=("value", "mean"), pos=("pos", "first")
    )
    # a day on which the visits already hold this outcome: the visits' value stays
    visits = study.visits
    if outcome in visits:
        held = visits.loc[visits[outcome].notna(), ["patient_id", "day", "row"]]
        held = held.drop_duplicates(["patient_id", "day"]).set_index(["patient_id", "day"])
        clash = per_day.index.isin(held.index)
        if clash.any():
            pos = per_day["pos"].to_numpy()[clash]
            vrow = held.loc[per_day.index[clash], "row"].to_numpy()
            why = np.full(n, None, dtype=object)
            why[pos] = [f"the visits already hold {outcome} on this day (visits row {r})"
                        for r in vrow]  # fmt: skip
            mask = np.zeros(n, bool)
            mask[pos] = True
            drop(mask, why, outcome)
            per_day = per_day[~clash]

    # merge: fill the visit of that day, or add a row of its own
    visits = visits.copy()
    if outcome not in visits:
        visits[outcome] = np.nan
    key = pd.MultiIndex.from_arrays([visits["patient_id"], visits["day"]])
    at = key.get_indexer(per_day.index)
    fill = at >= 0
    if fill.any():
        col_at = visits.columns.get_loc(outcome)
        visits.iloc[at[fill], col_at] = per_day["value"].to_numpy()[fill]
    new = per_day[~fill]
    if len(new):
        add = pd.DataFrame(
            {
                "patient_id": new.index.get_level_values(0).astype(str),
                "day": new.index.get_level_values(1).astype(float),
                outcome: new["value"].to_numpy(),
                "row": rows[new["pos"].to_numpy()],
            }
        )
        if "date" in visits:
            add["date"] = (
                pd.to_datetime(add["day"], unit="D").astype(visits["date"].dtype)
                if kind == "date"
                else pd.NaT
            )
        if "gastrostomy" in visits:
            add["gastrostomy"] = False  # no item 5 on a day without ALSFRS-R
        visits = pd.concat([visits, add[[c for c in add if c in visits]]], ignore_index=True)
        visits = visits.sort_values(["patient_id", "day"], kind="stable").reset_index(drop=True)
        if "gastrostomy" in visits:
            visits["gastrostomy"] = visits["gastrostomy"].astype(bool)

    ex = t.frame()
    ledger_row = pd.DataFrame([t.counts()], columns=list(LEDGER_COLUMNS))
    ledger = ledger_row if study.ledger is None else pd.concat([study.ledger, ledger_row],
                                                               ignore_index=True)  # fmt: skip
    exclusions = (
        pd.concat([study.exclusions, ex], ignore_index=True) if len(ex) else study.exclusions
    )
    sources = {**study.sources, name: label}
    return replace(study, visits=visits, ledger=ledger, exclusions=exclusions, sources=sources)
