"""Validate raw tables into the canonical study tables (SPEC §1, §10, §11, §12).

:func:`validate_study` takes the raw tables read by :mod:`msc_notebooks.loading` (every
value as written, plus the ``row`` provenance column) and returns a
:class:`~msc_notebooks.study.StudyData`. Problems with a whole table (a missing column,
ambiguous dates, contradictory injection numbers, ...) raise an
:class:`~msc_notebooks.errors.InputError` naming the file, column, rows and the fix.
Problems with single rows exclude that row and list it in the exclusions table with the
reason (SPEC §10): nothing is dropped silently, and for every table
``rows_read = rows_used + rows_excluded``.

All checks are vectorised (no Python loop over rows in the normal path).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .cells import clean_text, is_missing, parse_dates, parse_numbers, parse_yes_no
from .columns import (
    CANONICAL,
    DOMAINS,
    EXCLUSIONS_COLUMNS,
    ITEMS,
    LEDGER_COLUMNS,
    NOT_RECORDED,
    OPTIONAL_PATIENT_EVENTS,
    PATIENT_EVENTS,
    TABLES,
    number_in_time_order,
    suggest_column,
)
from .errors import Fix, InputError, Option, format_rows
from .ledger import PatientCodes, RowLedger
from .study import StudyData

__all__ = ["validate_study", "empty_injections"]

_ITEM_INPUTS = (*ITEMS, "q5a", "q5b")
# columns recognised but never analysed as an outcome (the original ALSFRS, SPEC §1)
_NOT_OUTCOMES = frozenset({"alsfrs_total_original", "q10_original", "row", "q5"})

# ---------------------------------------------------------------------- helpers


@dataclass
class _Table:
    """What every table check needs: the raw rows, where they came from, the study's time.

    One per table given; ``known`` and ``known_where`` say which patients the study
    knows (from the patients table, else from the visits) once that is decided.
    """

    raw: pd.DataFrame  # cells as read, canonical column names, ``row``
    label: str  # the file name (or "DataFrame 'visits'") for messages
    kind: str  # the study's kind of time: 'date' or 'day'
    date_format: str | None
    rows: RowLedger  # the table's excluded rows and why
    warnings: list[str]  # the study's warnings (shared by every table)
    known: np.ndarray | None = None  # per id code: a patient the study knows
    known_where: str = ""  # where the known patients come from, for messages

    def unpack(self) -> tuple[pd.DataFrame, str, str, str | None, RowLedger, list[str]]:
        return self.raw, self.label, self.kind, self.date_format, self.rows, self.warnings


def _per_row(mask: np.ndarray, make, *arrays) -> np.ndarray:
    """Object array of per-row texts, built only for the masked rows."""
    out = np.full(len(mask), None, dtype=object)
    idx = np.flatnonzero(mask)
    out[idx] = [make(*vals) for vals in zip(*(np.asarray(a)[idx] for a in arrays), strict=True)]
    return out


def _num(x: float) -> str:
    return f"{x:g}"


# ---------------------------------------------------------------------- table checks


def _label(table: str, source: str) -> str:
    return f"DataFrame '{table}'" if source == "DataFrame" else source


def _check_columns(df: pd.DataFrame, table: str, label: str) -> None:
    their = {new: old for old, new in df.attrs.get("recognised", {}).items()}
    found = [their.get(c, c) for c in df.columns if c != "row"]
    needed: list[tuple[str, ...]] = [("patient_id",)]
    if table in ("visits", "injections", "adverse_events"):
        needed.append(("date", "day"))
    if table == "adverse_events":
        needed.append(("term",))
    missing = [alts for alts in needed if not any(a in df.columns for a in alts)]
    if table == "visits" and not any(c in df.columns for c in ("alsfrs_r_total", *_ITEM_INPUTS)):
        if "alsfrs_total_original" in df.columns:
            raise InputError(
                "the file has only the original ALSFRS total (ALSFRS_Total, 10 items, 0-40), "
                "not ALSFRS-R (12 items, 0-48); the two are different scales and their "
                "totals and slopes cannot be mixed (methods §1)",
                source=label,
                column="ALSFRS_Total",
                fix="bring the ALSFRS-R total (ALSFRS_R_Total) or the 12 ALSFRS-R items; "
                "only map ALSFRS_Total to alsfrs_r_total if it really is ALSFRS-R",
            )
        missing.append(("alsfrs_r_total",))
    if not missing:
        return
    names = [" or ".join(alts) for alts in missing]
    numeric = {}
    for col in df.columns.drop("row", errors="ignore"):
        _, blank, bad = parse_numbers(df[col].iloc[:200])
        numeric[their.get(col, col)] = int((~blank & ~bad).sum()) > int(bad.sum())
    guesses = {}
    for alts in missing:
        for want in alts:
            guess = suggest_column(want, found, numeric)
            if guess is not None and guess not in guesses:
                guesses[guess] = want
                break
    if guesses:
        hint = "; ".join(f"column '{g}' looks like '{w}'" for g, w in guesses.items())
        example = {str(g): w for g, w in guesses.items()}
    else:
        hint = ""
        example = {"<your column>": missing[0][0]}
    extra = " (or the 12 items q1..q12)" if ("alsfrs_r_total",) in missing else ""
    raise InputError(
        f"missing required column(s) {', '.join(repr(n) for n in names)}{extra}; columns found: "
        f"{found}" + (f"; {hint}" if hint else ""),
        source=label,
        column=names[0],
        fix=Fix("rename the column in the file, or map it: ", Option("column_map", example)),
    )


def _filled(df: pd.DataFrame, col: str) -> bool:
    """Whether the column has any cell that is not missing (the first rows usually tell)."""
    if col not in df.columns or len(df) == 0:
        return False
    head = df[col].iloc[:1000]
    return not is_missing(head).all() or not is_missing(df[col]).all()


def _time_kind(df: pd.DataFrame, date_col: str, day_col: str, label: str) -> str | None:
    has_date, has_day = _filled(df, date_col), _filled(df, day_col)
    if has_date and has_day:
        raise InputError(
            f"mixed date and day columns: both '{date_col}' (calendar dates) and "
            f"'{day_col}' (day offsets) are filled",
            source=label,
            column=day_col,
            fix=f"keep one of the two columns (delete '{day_col}' or '{date_col}'), "
            "and use the same kind of time in every table",
        )
    if has_date:
        return "date"
    if has_day:
        return "day"
    return None


def _parse_time(
    df: pd.DataFrame,
    kind: str,
    date_format: str | None,
    label: str,
    rep: RowLedger,
    prefix: str = "",
) -> tuple[np.ndarray, np.ndarray]:
    """Canonical ``day`` and ``date`` for a table; excludes missing or bad times."""
    n = len(df)
    date_col, day_col = f"{prefix}date", f"{prefix}day"
    if kind == "date":
        col = date_col if date_col in df.columns else None
    else:
        col = day_col if day_col in df.columns else None
    if col is None:
        nan = np.full(n, np.nan)
        rep.exclude(np.ones(n, bool), f"missing {kind}", None)
        return nan, np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]")
    if kind == "date":
        days, dates, missing, bad = parse_dates(
            df[col], date_format, source=label, column=col, rows=df["row"]
        )
        rep.exclude(missing, "missing date", col)
        rep.exclude(bad, "unparseable or impossible date", col)
        return days, dates
    v, missing, bad = parse_numbers(df[col])
    rep.exclude(missing, "missing day", col)
    rep.exclude(bad, "day is not a number", col)
    frac = ~missing & ~bad & (v != np.round(v))
    rep.exclude(frac, "day offset is not a whole number of days", col)
    v = np.where(frac, np.nan, v)
    return v, np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]")


def _order_key(rows: pd.Series) -> np.ndarray:
    """Sort key for 'the first row': the row number where numeric, else position."""
    rows = pd.Series(rows) if not isinstance(rows, pd.Series) else rows
    if pd.api.types.is_numeric_dtype(rows.dtype) and not rows.hasnans:
        return rows.to_numpy(dtype=float)
    numeric = pd.to_numeric(pd.Series(np.asarray(rows, dtype=object)), errors="coerce")
    if numeric.notna().all():
        return numeric.to_numpy(dtype=float)
    return np.arange(len(rows), dtype=float)


def _text_column(df: pd.DataFrame, col: str) -> pd.Series:
    """The cleaned text of a column: ``str`` when it holds any text, else object (None
    where the column is absent, NaN where every cell is empty)."""
    if col not in df.columns:
        return pd.Series([None] * len(df), dtype=object)
    text = clean_text(df[col]).reset_index(drop=True)
    return pd.Series(text.to_numpy(dtype=object)) if text.isna().all() else text


def _numeric_extras(
    df: pd.DataFrame, table: str, known: set[str], label: str, warnings: list[str]
) -> dict[str, np.ndarray]:
    """Other columns numeric in most rows kept as float; non-numbers -> NaN + warning."""
    out: dict[str, np.ndarray] = {}
    ignored = []
    for col in df.columns:
        if col in known or col in _NOT_OUTCOMES:
            continue
        v, missing, bad = parse_numbers(df[col])
        n_num = int((~missing & ~bad).sum())
        if col == "fvc_pct" or (n_num > 0 and n_num > int(bad.sum())):
            out[col] = v
            if bad.any():
                rows = df["row"].to_numpy()[bad]
                warnings.append(
                    f"{label}, column '{col}', {format_rows(rows)}: {int(bad.sum())} "
                    "value(s) are not numbers and were left empty (the visits are kept)"
                )
        elif not (missing.all() and col in CANONICAL[table]):
            ignored.append(col)
    if ignored:
        warnings.append(f"{label}: column(s) {ignored} are not numeric and were not used")
    return out


# ------------------------------------------------------------------------- the tables


def _validate_patients(t: _Table) -> pd.DataFrame:
    raw, label, kind, date_format, rep, warnings = t.unpack()
    codes = rep.codes
    rep.exclude(codes < 0, "missing patient id", "patient_id")
    order = _order_key(raw["row"])
    sorted_idx = np.lexsort((order, codes))  # by id, then row: the first row comes first
    sorted_idx = sorted_idx[~rep.out[sorted_idx]]
    c = codes[sorted_idx]
    dup = np.zeros(len(c), bool)
    dup[1:] = c[1:] == c[:-1]
    if dup.any():
        first_at = np.maximum.accumulate(np.where(dup, 0, np.arange(len(c))))
        rows = raw["row"].to_numpy()
        later = sorted_idx[dup]
        firsts = rows[sorted_idx[first_at[dup]]]
        reasons = [f"duplicate patient id (first at row {r})" for r in firsts]
        order_later = np.argsort(later, kind="stable")
        rep.exclude_at(
            later[order_later], np.array(reasons, dtype=object)[order_later], "patient_id"
        )
    keep = sorted_idx[~dup]  # sorted by id: one row per patient
    out = {"patient_id": rep.ids.column(codes[keep])}
    for what in PATIENT_EVENTS:
        if what in OPTIONAL_PATIENT_EVENTS and not (
            f"{what}_date" in raw.columns or f"{what}_day" in raw.columns
        ):
            continue  # optional events (SPEC §16) are columns only when given
        days = np.full(len(raw), np.nan)
        dates = np.full(len(raw), np.datetime64("NaT"), dtype="datetime64[ns]")
        if kind == "date" and f"{what}_date" in raw.columns:
            days, dates, missing, bad = parse_dates(
                raw[f"{what}_date"],
                date_format,
                source=label,
                column=f"{what}_date",
                rows=raw["row"],
            )
        elif kind == "day" and f"{what}_day" in raw.columns:
            days, missing, bad = parse_numbers(raw[f"{what}_day"])
        else:
            bad = np.zeros(len(raw), bool)
        bad = bad & ~rep.out
        if bad.any():
            warnings.append(
                f"{label}, column '{what}_{kind}', {format_rows(raw['row'].to_numpy()[bad])}: "
                f"could not be read and was left empty (the patients are kept)"
            )
        out[f"{what}_day"] = days[keep]
        out[f"{what}_date"] = dates[keep]
    for col in ("sex", "site_of_onset"):
        out[col] = _text_column(raw, col).array.take(keep)
    if "age" in raw.columns:
        age, _, bad = parse_numbers(raw["age"])
        if (bad & ~rep.out).any():
            warnings.append(
                f"{label}, column 'age', {format_rows(raw['row'].to_numpy()[bad & ~rep.out])}: "
                "not a number, left empty"
            )
        out["age"] = age[keep]
    else:
        out["age"] = np.full(len(keep), np.nan)
    if "withdrawn" in raw.columns:
        w = parse_yes_no(raw["withdrawn"], False, label, "withdrawn", raw["row"])
    else:
        w = np.zeros(len(raw), bool)
    out["withdrawn"] = w[keep]
    out["row"] = raw["row"].to_numpy()[keep]
    return _finish_patients(pd.DataFrame(out), presorted=True)


def _finish_patients(df: pd.DataFrame, presorted: bool = False) -> pd.DataFrame:
    cols = [
        "patient_id",
        "onset_day",
        "diagnosis_day",
        "onset_date",
        "diagnosis_date",
        "sex",
        "age",
        "site_of_onset",
        "withdrawn",
        "row",
    ]
    # optional events (gastrostomy, death: SPEC §16) before ``row``, only when given
    extra = [f"{w}_{k}" for w in OPTIONAL_PATIENT_EVENTS for k in ("day", "date")]
    cols[-1:-1] = [c for c in extra if c in df.columns]
    df = df[cols]
    if not presorted:
        df = df.sort_values("patient_id", kind="stable")
    df = df.reset_index(drop=True)
    df["withdrawn"] = df["withdrawn"].astype(bool)
    return df


def _patients_from_ids(ids, presorted: bool = False) -> pd.DataFrame:
    """A patients table with only the ids (``presorted``: already sorted and distinct)."""
    ids = ids if presorted else sorted(set(ids))
    n = len(ids)
    nat = np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]")
    return _finish_patients(
        pd.DataFrame(
            {
                "patient_id": pd.Series(ids, dtype=object),
                "onset_day": np.full(n, np.nan),
                "diagnosis_day": np.full(n, np.nan),
                "onset_date": nat,
                "diagnosis_date": nat,
                "sex": pd.Series([None] * n, dtype=object),
                "age": np.full(n, np.nan),
                "site_of_onset": pd.Series([None] * n, dtype=object),
                "withdrawn": np.zeros(n, bool),
                "row": pd.array([pd.NA] * n, dtype="Int64"),
            }
        )
    )


def _unknown(rep: RowLedger, known: np.ndarray | None, where: str) -> None:
    """Exclude rows whose id is not ``known`` (a boolean per id code)."""
    if known is None:
        return
    codes = rep.codes
    mask = (codes >= 0) & ~known[np.maximum(codes, 0)]
    rep.exclude(mask, f"unknown patient: not in the {where}", "patient_id")


def _validate_visits(t: _Table) -> pd.DataFrame:
    raw, label, kind, date_format, rep, warnings = t.unpack()
    known, known_where = t.known, t.known_where
    n = len(raw)
    rep.exclude(rep.codes < 0, "missing patient id", "patient_id")
    _unknown(rep, known, known_where)
    day, date = _parse_time(raw, kind, date_format, label, rep)

    items: dict[str, np.ndarray] = {}
    for col in (*_ITEM_INPUTS, "q5"):
        if col not in raw.columns or col in items:
            continue
        v, missing, bad = parse_numbers(raw[col])
        rep.exclude(bad, f"{col} is not a number", col)
        ok = ~missing & ~bad
        rep.exclude(ok & ((v < 0) | (v > 4)), f"{col} outside 0-4", col)
        rep.exclude(
            ok & (v != np.round(v)),
            f"{col} is not a whole number (fractional item score)",
            col,
        )
        items[col] = v
    has_items = bool(items)
    nan = np.full(n, np.nan) if has_items else None
    if has_items:
        q5a, q5b = items.get("q5a", nan), items.get("q5b", nan)
        both = ~np.isnan(q5a) & ~np.isnan(q5b)
        # SPEC §1: both filled is kept when the given total equals the item sum with
        # exactly one of them (that one counts; the other cell is noted, not used)
        use_a = use_b = np.zeros(n, bool)
        if both.any() and "alsfrs_r_total" in raw.columns:
            given = parse_numbers(raw["alsfrs_r_total"])[0]
            others = sum(items.get(c, nan) for c in ITEMS if c != "q5")
            with np.errstate(invalid="ignore"):
                match_a = both & (np.abs(others + q5a - given) < 1e-9)
                match_b = both & (np.abs(others + q5b - given) < 1e-9)
            use_a, use_b = match_a & ~match_b, match_b & ~match_a
        rep.exclude(
            both & ~use_a & ~use_b,
            "both q5a and q5b are filled (item 5 is scored one way only)",
            "q5b",
        )
        for use, kept, other in ((use_a, "q5a", "q5b"), (use_b, "q5b", "q5a")):
            rep.note(
                use,
                f"cell not used, row kept: both q5a and q5b are filled and the given total "
                f"equals the items with {kept} (methods §1)",
                other,
            )
        q5a = np.where(use_b, np.nan, q5a)
        q5b = np.where(use_a, np.nan, q5b)
        q5 = items.get("q5", nan)
        q5 = np.where(np.isnan(q5), np.where(np.isnan(q5a), q5b, q5a), q5)
        gastrostomy = ~np.isnan(q5b) & np.isnan(q5a)
        item_arrays = [q5 if c == "q5" else items.get(c, nan) for c in ITEMS]
        n_items = np.zeros(n, dtype=np.int64)
        for a in item_arrays:
            n_items += ~np.isnan(a)
        complete = n_items == 12

    if "alsfrs_r_total" in raw.columns:
        total, t_missing, t_bad = parse_numbers(raw["alsfrs_r_total"])
        rep.exclude(t_bad, "alsfrs_r_total is not a number", "alsfrs_r_total")
        rep.exclude(
            ~t_missing & ~t_bad & ((total < 0) | (total > 48)),
            "alsfrs_r_total outside 0-48",
            "alsfrs_r_total",
        )
    else:
        total = np.full(n, np.nan)
    if has_items:  # without items there is no sum to check or to fall back on
        item_sum = sum(item_arrays[1:], item_arrays[0].copy())  # NaN unless all 12 present
        has_total = ~np.isnan(total)
        incons = complete & has_total & (np.abs(item_sum - total) > 1e-9)
        rep.exclude(
            incons,
            _per_row(
                incons,
                lambda s, t: f"items sum to {_num(s)} but total is {_num(t)}",
                item_sum,
                total,
            ),
            "alsfrs_r_total",
        )
        total = np.where(has_total, total, item_sum)
        del item_sum
    none = np.isnan(total)
    if has_items:
        partial = none & (n_items > 0)
        rep.exclude(
            partial,
            _per_row(partial, lambda k: f"no ALSFRS-R total and only {k} of 12 items", n_items),
            "alsfrs_r_total",
        )
    if "alsfrs_total_original" in raw.columns:
        original, o_missing, _ = parse_numbers(raw["alsfrs_total_original"])
        rep.exclude(
            none & ~o_missing,
            "only the original ALSFRS total (10 items, 0-40): a different scale from ALSFRS-R, "
            "not used (methods §1)",
            "alsfrs_total_original",
        )
    rep.exclude(none, "no ALSFRS-R total or items", "alsfrs_r_total")

    known_cols = {
        "patient_id",
        "date",
        "day",
        "alsfrs_r_total",
        *_ITEM_INPUTS,
        "q5",
        "row",
        "alsfrs_total_original",
        "q10_original",
    }
    extras = _numeric_extras(raw, "visits", known_cols, label, warnings)

    cols: dict[str, np.ndarray] = {
        "day": day,
        "date": date,
        "alsfrs_r_total": total,
    }
    if has_items:
        for c, a in zip(ITEMS, item_arrays, strict=True):
            cols[c] = a
        cols["gastrostomy"] = gastrostomy
        for dom, its in DOMAINS.items():
            cols[dom] = sum(item_arrays[ITEMS.index(c)] for c in its)
    cols.update(extras)
    cols["row"] = raw["row"].to_numpy()
    del day, date, total  # only cols holds them now: _build_frame lets go of each once taken
    return _one_per_day(
        cols, rep, kind if kind in raw.columns else None, "merged (mean used)", merge=True
    )


def _sorted_rows(
    codes: np.ndarray, day: np.ndarray, order: np.ndarray, keep: np.ndarray
) -> np.ndarray:
    """Positions ``keep`` sorted by patient code, day, then ``order`` (stable).

    Tables usually arrive sorted already: that is checked in one pass, and then nothing
    is sorted (and nothing copied when ``keep`` is every row).
    """
    if len(keep) < 2:
        return keep
    if len(keep) == len(codes):  # every row: keep is 0, 1, ..., n - 1
        c, d, o = codes, day, order
    else:
        c, d, o = codes[keep], day[keep], order[keep]
    c0, c1, d0, d1 = c[:-1], c[1:], d[:-1], d[1:]
    in_order = (c0 < c1) | ((c0 == c1) & ((d0 < d1) | ((d0 == d1) & (o[:-1] <= o[1:]))))
    if in_order.all():
        return keep
    return keep[np.lexsort((o, d, c))]


def _one_per_day(
    cols: dict[str, np.ndarray], rep: RowLedger, time_col: str | None, what: str, merge: bool
) -> pd.DataFrame:
    """Sort the kept rows by patient and day; keep one row per patient and day.

    The first row (lowest row number) is kept; with ``merge`` it gets the mean of every
    numeric column over the day's rows (SPEC §12). The others are excluded with
    ``same-day duplicate of row N: <what>``. Works on integer patient codes and numpy
    arrays (1 million rows in a fraction of a second). The result starts with
    ``patient_id``, followed by ``cols`` in their order.
    """
    keep = np.flatnonzero(~rep.out)
    codes = rep.codes
    day = cols["day"]
    order = _order_key(pd.Series(cols["row"]))
    sel = _sorted_rows(codes, day, order, keep)
    every_row_in_order = sel is keep and len(keep) == len(codes)  # sel is 0, 1, ..., n - 1
    del order, keep
    same = np.zeros(len(sel), bool)
    if len(sel) > 1:
        c, d = (codes, day) if every_row_in_order else (codes[sel], day[sel])
        same[1:] = (c[1:] == c[:-1]) & (d[1:] == d[:-1])
        del c, d
    final = sel
    updates: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    if same.any():
        later = np.flatnonzero(same)
        # the first row of a group is just before its first later row
        starts_run = np.ones(len(later), bool)
        starts_run[1:] = later[1:] != later[:-1] + 1
        first_pos = np.maximum.accumulate(np.where(starts_run, later - 1, 0))
        if merge:
            # rows in a group of two or more: the later rows and the first row before them
            at = np.union1d(later, first_pos)
            numeric = [
                k
                for k, v in cols.items()
                if k not in ("day", "row") and isinstance(v, np.ndarray) and v.dtype.kind in "fb"
            ]
            sub = pd.DataFrame({k: cols[k][sel[at]] for k in numeric})
            # a group is labelled by the position of its first row
            sub["_g"] = first_pos[np.searchsorted(later, at)]
            agg = sub.groupby("_g", sort=True).agg(
                {k: ("max" if cols[k].dtype.kind == "b" else "mean") for k in numeric}
            )
            # the first row of a group stays; it moves up by the later rows before it
            first = agg.index.to_numpy()
            targets = first - np.searchsorted(later, first)
            updates = {k: (targets, agg[k].to_numpy()) for k in numeric}
        rows = np.asarray(cols["row"])
        firsts = rows[sel[first_pos]]
        excluded = sel[later]
        by_row = np.argsort(excluded, kind="stable")
        reasons = np.array([f"same-day duplicate of row {r}: {what}" for r in firsts], object)
        rep.exclude_at(excluded[by_row], reasons[by_row], time_col)
        final = sel[~same]
    del sel, same, day
    return _build_frame({"patient_id": rep.ids.text(codes[final])}, cols, final, updates)


def _build_frame(
    first: dict[str, object],
    cols: dict[str, np.ndarray],
    take: np.ndarray,
    updates: dict[str, tuple[np.ndarray, np.ndarray]],
) -> pd.DataFrame:
    """``DataFrame({**first, **{k: v[take]}})`` without pandas consolidating (copying).

    ``first`` holds columns already taken. Runs of float columns are taken straight into
    one 2-D block; ``updates`` (positions, values) are written into the result before it
    is wrapped, so nothing is copied twice. Each column is removed from ``cols`` once
    taken, so that the caller's arrays can be freed while the result is built.
    """
    parts: list[pd.DataFrame] = [pd.DataFrame({k: v}, copy=False) for k, v in first.items()]
    run: list[str] = []
    n_all = len(cols["row"])
    if len(take) == n_all and (take == np.arange(n_all)).all():
        # already in order, nothing dropped: wrap the (freshly computed) arrays as they are
        for k, v in cols.items():
            if k in updates or k == "row":
                v = np.array(v, copy=True)
                if k in updates:
                    v[updates[k][0]] = updates[k][1]
            parts.append(pd.DataFrame({k: v}, copy=False))
        return pd.concat(parts, axis=1)

    def flush() -> None:
        if not run:
            return
        block = np.empty((len(run), len(take)))
        for i, k in enumerate(run):
            np.take(cols.pop(k), take, out=block[i])
            if k in updates:
                block[i][updates[k][0]] = updates[k][1]
        parts.append(pd.DataFrame(block.T, columns=list(run), copy=False))
        run.clear()

    for k in list(cols):
        if isinstance(cols[k], np.ndarray) and cols[k].dtype == np.float64:
            run.append(k)
            continue
        flush()
        taken = cols.pop(k)[take]
        if k in updates:
            taken = np.array(taken, copy=True)
            taken[updates[k][0]] = updates[k][1]
        parts.append(pd.DataFrame({k: taken}))
    flush()
    if not parts:
        return pd.DataFrame(index=pd.RangeIndex(len(take)))
    return pd.concat(parts, axis=1)


def _validate_injections(t: _Table) -> pd.DataFrame:
    raw, label, kind, date_format, rep, warnings = t.unpack()
    known, known_where = t.known, t.known_where
    n = len(raw)
    codes = rep.codes
    rep.exclude(codes < 0, "missing patient id", "patient_id")
    _unknown(rep, known, known_where)
    day, date = _parse_time(raw, kind, date_format, label, rep)
    given = np.full(n, np.nan)
    if "injection_number" in raw.columns:
        given, missing, bad = parse_numbers(raw["injection_number"])
        wrong = bad | (~missing & ((given != np.round(given)) | (given < 1)))
        rep.exclude(
            wrong, "injection_number is not a whole number of at least 1", "injection_number"
        )
    dose = np.full(n, np.nan)
    if "dose_million_cells" in raw.columns:
        dose, _, bad = parse_numbers(raw["dose_million_cells"])
        if (bad & ~rep.out).any():
            warnings.append(
                f"{label}, column 'dose_million_cells', "
                f"{format_rows(raw['row'].to_numpy()[bad & ~rep.out])}: not a number, left empty"
            )
    rows = raw["row"].to_numpy()
    sel = _sorted_rows(codes, day, _order_key(raw["row"]), np.flatnonzero(~rep.out))
    c, d = codes[sel], day[sel]
    dup = np.zeros(len(sel), bool)
    dup[1:] = (c[1:] == c[:-1]) & (d[1:] == d[:-1])
    del d
    if dup.any():
        later = sel[dup]
        first_at = np.maximum.accumulate(np.where(dup, 0, np.arange(len(sel))))
        firsts = rows[sel[first_at[dup]]]
        reasons = np.array(
            [f"same-day duplicate of row {r}: one injection counted" for r in firsts], object
        )
        by_row = np.argsort(later, kind="stable")
        rep.exclude_at(later[by_row], reasons[by_row], kind if kind in raw.columns else None)
        pats = rep.ids.text(np.unique(codes[later])).tolist()
        warnings.append(
            f"{label}: {len(later)} injection(s) on the same day as another injection of the "
            f"same patient ({format_rows(rows[later].tolist())}; patients {pats[:10]}) were "
            "counted once (methods §12)"
        )
        sel, c = sel[~dup], c[~dup]
    number = number_in_time_order(c)  # rows sorted by patient and day (SPEC §12)
    given = given[sel]
    has = ~np.isnan(given)
    if has.any():
        sc, sg = c[has], given[has]
        number_sub = number[has]
        prev_ok = np.zeros(len(sc), bool)
        prev_ok[1:] = sc[1:] == sc[:-1]
        prev = np.full(len(sc), np.nan)
        prev[1:] = sg[:-1]
        prev = np.where(prev_ok, prev, np.nan)
        wrong = (prev_ok & (sg <= prev)) | (sg < number_sub)
        if wrong.any():
            row_of = rows[sel][has].astype(object)
            out_rows = []
            for i in np.flatnonzero(wrong):
                out_rows.extend([row_of[i - 1], row_of[i]] if prev_ok[i] else [row_of[i]])
            out_rows = list(dict.fromkeys(out_rows))
            raise InputError(
                "injection numbers contradict the time order of the injections (methods §12)",
                source=label,
                column="injection_number",
                rows=out_rows,
                fix="correct the numbers or the dates, or delete the injection_number column "
                "so that injections are numbered by date",
            )
    if "route" in raw.columns:
        route = _text_column(raw, "route").take(sel).reset_index(drop=True)
    else:
        route = pd.Series([None] * len(sel), dtype=object)
    columns = {
        "patient_id": rep.ids.column(c, typed_by=codes),
        "day": day[sel],
        "date": date[sel],
        "injection_number": number.astype("int64", copy=False),
        "dose_million_cells": dose[sel],
        "route": route,
        "row": rows[sel],
    }
    # one frame per column, joined: DataFrame(columns) would copy same-type columns again
    return pd.concat([pd.DataFrame({k: v}, copy=False) for k, v in columns.items()], axis=1)


def empty_injections(time_kind: str = "date") -> pd.DataFrame:
    """Return an empty canonical injection table.

    Examples
    --------
    >>> list(empty_injections().columns)
    ['patient_id', 'day', 'date', 'injection_number', 'dose_million_cells', 'route', 'row']
    """
    return pd.DataFrame(
        {
            "patient_id": pd.Series([], dtype=object),
            "day": pd.Series([], dtype=float),
            "date": pd.Series([], dtype="datetime64[ns]"),
            "injection_number": pd.Series([], dtype="int64"),
            "dose_million_cells": pd.Series([], dtype=float),
            "route": pd.Series([], dtype=object),
            "row": pd.Series([], dtype="int64"),
        }
    )


def _validate_events(t: _Table) -> pd.DataFrame:
    raw, label, kind, date_format, rep, warnings = t.unpack()
    known, known_where = t.known, t.known_where
    n = len(raw)
    ids = rep.id_series
    rep.exclude(ids.isna().to_numpy(), "missing patient id", "patient_id")
    _unknown(rep, known, known_where)
    day, date = _parse_time(raw, kind, date_format, label, rep)
    term = _text_column(raw, "term")
    rep.exclude(term.isna().to_numpy(), "missing adverse event term", "term")
    sev = _text_column(raw, "severity").str.lower()
    sev = sev.where(sev.notna(), NOT_RECORDED).to_numpy(dtype=object)
    if "serious" in raw.columns:
        serious = parse_yes_no(raw["serious"], False, label, "serious", raw["row"])
    else:
        serious = np.zeros(n, bool)
    inj = np.full(n, np.nan)
    if "injection_number" in raw.columns:
        inj, _, bad = parse_numbers(raw["injection_number"])
        frac = ~np.isnan(inj) & (inj != np.round(inj))
        if ((bad | frac) & ~rep.out).any():
            warnings.append(
                f"{label}, column 'injection_number', "
                f"{format_rows(raw['row'].to_numpy()[(bad | frac) & ~rep.out])}: "
                "not a whole number, left empty"
            )
        inj = np.where(frac, np.nan, inj)
    frame = pd.DataFrame(
        {
            "patient_id": ids.to_numpy(dtype=object),
            "day": day,
            "date": date,
            "term": term.to_numpy(dtype=object),
            "severity": sev,
            "serious": serious,
            "related": _text_column(raw, "related").to_numpy(dtype=object),
            "outcome": _text_column(raw, "outcome").to_numpy(dtype=object),
            "injection_number": pd.array(inj, dtype="Float64").astype("Int64"),
            "row": raw["row"].to_numpy(),
            "_order": _order_key(raw["row"]),
            "_pos": np.arange(n),
        }
    ).iloc[np.flatnonzero(~rep.out)]
    frame = frame.sort_values(["patient_id", "day", "_order"], kind="stable")
    key = ["patient_id", "day", "term", "severity"]
    dup = frame.duplicated(key, keep="first").to_numpy()
    if dup.any():
        first_row = frame.groupby(key, sort=False)["row"].transform("first")
        later = frame.loc[dup]
        mask = np.zeros(n, bool)
        mask[later["_pos"].to_numpy()] = True
        firsts = np.full(n, None, dtype=object)
        firsts[later["_pos"].to_numpy()] = first_row[dup].to_numpy()
        rep.exclude(
            mask,
            _per_row(
                mask,
                lambda r: f"duplicate of row {r} (same patient, day, term and severity)",
                firsts,
            ),
            "term",
        )
        frame = frame.loc[~dup]
    frame = frame.drop(columns=["_order", "_pos"]).reset_index(drop=True)
    frame["serious"] = frame["serious"].astype(bool)
    return frame


# ---------------------------------------------------------------------- the whole study


def validate_study(
    raw_tables: Mapping[str, pd.DataFrame | None],
    sources: Mapping[str, str],
    date_format: str | None = None,
) -> StudyData:
    """Validate raw tables into a :class:`StudyData` (SPEC §1, §10–12).

    Parameters
    ----------
    raw_tables : mapping
        Table name (``visits``, ``injections``, ``patients``, ``adverse_events``) to the
        raw table from :func:`msc_notebooks.loading.read_table` (canonical column names,
        cells as written, a ``row`` column). ``visits`` is required; the others may be
        missing or None.
    sources : mapping
        Table name to the file name (basename) or ``"DataFrame"``.
    date_format : str, optional
        strftime format of calendar dates (e.g. ``'%d/%m/%Y'``); None accepts only
        unambiguous dates.

    Returns
    -------
    StudyData
        Canonical tables (sorted by ``patient_id``, ``day``), ``exclusions``
        (``table, source, row, patient_id, column, value, reason``), ``ledger``
        (``table, rows_read, rows_used, rows_excluded``; read = used + excluded),
        ``sources``, ``time_kind`` and ``warnings``.

    Raises
    ------
    InputError
        For problems with a whole table: missing columns, no data rows, ambiguous dates,
        mixed time kinds, injection numbers against time order, original-ALSFRS totals,
        unrecognised yes/no values, no usable visit.

    Examples
    --------
    >>> import pandas as pd
    >>> visits = pd.DataFrame({"patient_id": ["007", "007", "008"],
    ...                        "date": ["2020-01-06", "2020-03-02", "2020-01-06"],
    ...                        "alsfrs_r_total": ["40", "38,5", "52"], "row": [2, 3, 4]})
    >>> study = validate_study({"visits": visits}, {"visits": "visits.csv"})
    >>> study.visits[["patient_id", "day", "alsfrs_r_total"]]
      patient_id      day  alsfrs_r_total
    0        007  18267.0            40.0
    1        007  18323.0            38.5
    >>> study.exclusions[["row", "reason"]].to_dict("records")
    [{'row': 4, 'reason': 'alsfrs_r_total outside 0-48'}]
    >>> study.ledger.to_dict("records")
    [{'table': 'visits', 'rows_read': 3, 'rows_used': 2, 'rows_excluded': 1}]
    """
    given = {t: raw_tables.get(t) for t in TABLES if raw_tables.get(t) is not None}
    if "visits" not in given:
        raise InputError("no visits table was given", fix="pass the visits (ALSFRS-R) table")
    tables: dict[str, pd.DataFrame] = {}
    labels = {}
    for t, df in given.items():
        df = df.reset_index(drop=True)
        if "row" not in df.columns:
            df = df.assign(row=np.arange(len(df)))
        tables[t] = df
        labels[t] = _label(t, sources.get(t, "DataFrame"))
        _check_columns(df, t, labels[t])
        if len(df) == 0 and t in ("visits", "patients"):
            raise InputError(
                "the table has a header but no data rows: nothing to analyse",
                source=labels[t],
                fix=f"add the {t} rows below the header, or check that the right file was given",
            )

    # one kind of time for the whole study (SPEC §1)
    kinds = {}
    for t, df in tables.items():
        if t == "patients":
            found = {w: _time_kind(df, f"{w}_date", f"{w}_day", labels[t]) for w in PATIENT_EVENTS}
            found = {w: k for w, k in found.items() if k}
            if len(set(found.values())) > 1:
                raise InputError(
                    "the patient dates use different kinds of time (dates and day offsets): "
                    + ", ".join(f"{w}_{k}" for w, k in found.items()),
                    source=labels[t],
                    fix="use dates in every column, or day offsets in every column",
                )
            kinds[t] = next(iter(found.values()), None)
        else:
            kinds[t] = _time_kind(df, "date", "day", labels[t])
    kind = kinds["visits"] or ("date" if "date" in tables["visits"].columns else "day")
    for t, k in kinds.items():
        if k is not None and k != kind:
            word = {"date": "calendar dates", "day": "day offsets"}
            raise InputError(
                f"{labels[t]} uses {word[k]} but {labels['visits']} uses {word[kind]}; all "
                "tables of one study must use the same kind of time",
                source=labels[t],
                column="date" if k == "date" else "day",
                fix="give every table dates, or every table day offsets (PRO-ACT *_Delta)",
            )

    warnings: list[str] = []
    ids = PatientCodes(tables)
    reps: dict[str, RowLedger] = {}
    for t, df in tables.items():
        reps[t] = RowLedger(t, df, source=sources.get(t, "DataFrame"), ids=ids)

    def table(name: str, known: np.ndarray | None = None, known_where: str = "") -> _Table:
        return _Table(
            tables[name], labels[name], kind, date_format, reps[name], warnings, known, known_where
        )

    patients = None
    known: np.ndarray | None = None  # per id code: in the patients (or visits) table
    known_where = ""
    if "patients" in tables:
        patients = _validate_patients(table("patients"))
        known = ids.mask(reps["patients"].codes[~reps["patients"].out])
        known_where = "patients table"

    visits = _validate_visits(table("visits", known, known_where))
    if len(visits) == 0:
        reasons = pd.Series(reps["visits"].reasons()).value_counts()
        top = "; ".join(f"{r} ({c} rows)" for r, c in reasons.head(3).items())
        raise InputError(
            f"none of the {len(tables['visits'])} visit rows could be used ({top})",
            source=labels["visits"],
            fix="correct the rows listed, or check the column names and formats",
        )
    seen = ids.mask(reps["visits"].codes)
    if known is None:
        known, known_where = seen, "visits table"

    if "injections" in tables:
        injections = _validate_injections(table("injections", known, known_where))
    else:
        injections = empty_injections()
    if patients is None:
        patients = _patients_from_ids(
            ids.text(np.flatnonzero(seen)).to_numpy(dtype=object), presorted=True
        )

    events = None
    if "adverse_events" in tables:
        events = _validate_events(table("adverse_events", known, known_where))

    used = {
        "visits": len(visits),
        "injections": len(injections),
        "patients": len(patients),
        "adverse_events": 0 if events is None else len(events),
    }
    ledger_rows = []
    for t in tables:
        rep = reps[t]
        ledger_rows.append(
            {
                "table": t,
                "rows_read": rep.n,
                "rows_used": used[t],
                "rows_excluded": int(rep.out.sum()),
            }
        )
        if rep.n != used[t] + int(rep.out.sum()):  # pragma: no cover - a bug, not bad input
            raise AssertionError(f"ledger does not balance for {t}")
    ledger = pd.DataFrame(ledger_rows, columns=list(LEDGER_COLUMNS))
    frames = [reps[t].frame() for t in tables if reps[t].out.any()]
    frames += [note for t in tables for note in reps[t].notes]
    if frames:
        exclusions = pd.concat(frames, ignore_index=True)
    else:
        exclusions = pd.DataFrame({c: pd.Series(dtype=object) for c in EXCLUSIONS_COLUMNS})
    return StudyData(
        visits=visits,
        injections=injections,
        patients=patients,
        adverse_events=events,
        exclusions=exclusions,
        ledger=ledger,
        sources={t: sources.get(t, "DataFrame") for t in tables},
        time_kind=kind,
        warnings=warnings,
        recognised={
            t: dict(df.attrs["recognised"]) for t, df in given.items() if df.attrs.get("recognised")
        },
    )
