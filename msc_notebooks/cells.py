"""Reading cells: missing values, numbers, dates and yes/no words (SPEC §1, §10).

Every function takes a column of raw cells (text as written, or numbers from a
DataFrame) and returns numpy arrays, vectorised; the words come from
:mod:`msc_notebooks.columns`. A problem with a whole column (ambiguous dates, words that
are not yes/no) raises :class:`~msc_notebooks.errors.InputError`; a bad single cell is
reported back to the caller, which excludes its row.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from .columns import FALSE_WORDS, MISSING_WORDS, TRUE_WORDS, date_to_day
from .errors import Fix, InputError, Option

__all__ = [
    "as_text",
    "clean_text",
    "is_missing",
    "parse_dates",
    "parse_numbers",
    "parse_yes_no",
    "scalar_text",
]


def is_missing(values: pd.Series) -> np.ndarray:
    """Return which cells are missing: empty, NaN, or a missing marker.

    Parameters
    ----------
    values : pandas.Series
        Raw cells (text or numbers).

    Returns
    -------
    numpy.ndarray of bool
        True where the cell is missing (``''``, ``NA``, ``n/a``, ``NaN``, ``.``, ``-``,
        ``missing``, ... in any case, surrounding spaces ignored).

    Examples
    --------
    >>> import pandas as pd
    >>> is_missing(pd.Series(["3", " NA ", "n/a", "", "Missing", "-1"])).tolist()
    [False, True, True, True, True, False]
    """
    text = as_text(values)
    if text is None:
        return values.isna().to_numpy()
    return (text.isna() | text.str.strip().str.lower().isin(MISSING_WORDS)).to_numpy()


def as_text(values: pd.Series) -> pd.Series | None:
    """The cells as strings (NA kept), or None when the column is numeric/bool/datetime."""
    dtype = values.dtype
    if pd.api.types.is_string_dtype(dtype) and not pd.api.types.is_object_dtype(dtype):
        return values
    if (
        pd.api.types.is_numeric_dtype(dtype)
        or pd.api.types.is_bool_dtype(dtype)
        or pd.api.types.is_datetime64_any_dtype(dtype)
    ):
        return None
    kind = pd.api.types.infer_dtype(values, skipna=True)
    if kind in ("string", "empty"):
        return values
    return values.map(lambda v: v if isinstance(v, str) else scalar_text(v))


def scalar_text(value: object) -> str | None:
    """One cell as text; None for None/NaN/NA/NaT. Dates print as ISO."""
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):  # list-like cells
        pass
    return str(value)


def clean_text(values: pd.Series) -> pd.Series:
    """Stripped text (``str`` dtype) with missing markers turned into NaN."""
    text = as_text(values)
    if text is None:
        if pd.api.types.is_float_dtype(values.dtype):
            whole = values.dropna()
            if len(whole) and (whole == np.round(whole)).all():
                out = values.astype("Int64").astype(object).where(values.notna(), None)
                return out.astype("str")
        if pd.api.types.is_integer_dtype(values.dtype) and not values.hasnans:
            return values.astype("str")
        out = values.astype(object).map(scalar_text)
        return out.astype("str")
    stripped = text.astype("str").str.strip()
    missing = stripped.isna() | stripped.str.lower().isin(MISSING_WORDS)
    return stripped.where(~missing)


def parse_numbers(values: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Read numbers, accepting a decimal comma; tell missing cells from non-numbers.

    Parameters
    ----------
    values : pandas.Series
        Raw cells (text as written, or numbers).

    Returns
    -------
    values : numpy.ndarray of float
        The numbers (NaN where missing or not a number).
    missing : numpy.ndarray of bool
        Empty or a missing marker (see :data:`MISSING_WORDS`).
    bad : numpy.ndarray of bool
        Not missing, but not a finite number either.

    Examples
    --------
    >>> import pandas as pd
    >>> v, missing, bad = parse_numbers(pd.Series(["1,5", "40", "NA", "forty"]))
    >>> v.tolist()[:2], missing.tolist(), bad.tolist()
    ([1.5, 40.0], [False, False, True, False], [False, False, False, True])
    """
    text = as_text(values)
    if text is None and not pd.api.types.is_datetime64_any_dtype(values.dtype):
        v = values.to_numpy(dtype=float, na_value=np.nan)
        missing = np.isnan(v)
        bad = np.isinf(v)
        v = np.where(bad, np.nan, v)
        return v, missing, bad
    if text is values:  # text: read each distinct cell once (a score column has ~50)
        codes, uniques = pd.factorize(values)
        v, missing, bad = _parse_number_text(pd.Series(uniques))
        # code -1 (NaN/None) is a missing cell
        return (
            np.append(v, np.nan)[codes],
            np.append(missing, True)[codes],
            np.append(bad, False)[codes],
        )
    return _parse_number_text(values)


def _parse_number_text(values: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`parse_numbers` for cells that are (or are read as) text."""
    clean = clean_text(values)
    missing = clean.isna().to_numpy()
    numbers = pd.to_numeric(
        clean.str.replace(",", ".", regex=False).astype(object), errors="coerce"
    )
    v = np.asarray(numbers, dtype=float)
    bad = ~np.isfinite(v) & ~missing
    v = np.where(bad, np.nan, v)
    return v, missing, bad


#: Nanoseconds in a day (a date at midnight is a multiple of it).
_DAY_NS = 86_400 * 10**9

_ISO = re.compile(r"^(\d{4})[-/](\d{1,2})[-/](\d{1,2})(?:[ T].*)?$")
_DMY = r"^(\d{1,2})([/.\-])(\d{1,2})[/.\-](\d{4})$"


def parse_dates(
    values: pd.Series,
    date_format: str | None = None,
    *,
    source: str = "data",
    column: str = "date",
    rows: pd.Series | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Read calendar dates without guessing and without any time-zone shift (SPEC §1).

    ISO ``YYYY-MM-DD`` (optionally followed by a time, which is ignored) is always read.
    ``dd/mm/yyyy`` versus ``mm/dd/yyyy`` is decided only when a value in the column has a
    part above 12; when every value is ambiguous an :class:`InputError` asks for
    ``date_format``. With an explicit ``date_format`` (strftime codes) that format is used
    (ISO values are still accepted).

    Parameters
    ----------
    values : pandas.Series
        Raw cells (text, or datetime64 from a DataFrame/Parquet/Excel).
    date_format : str, optional
        strftime format such as ``'%d/%m/%Y'``.
    source, column : str
        Where the values come from (for error messages).
    rows : pandas.Series, optional
        Row numbers for error messages (defaults to the index).

    Returns
    -------
    days : numpy.ndarray of float
        Days since 1970-01-01 (NaN where not read).
    dates : numpy.ndarray of datetime64[ns]
        The dates at midnight, no time zone (NaT where not read).
    missing : numpy.ndarray of bool
        Empty cells and missing markers.
    bad : numpy.ndarray of bool
        Present but unparseable or impossible (e.g. 31/02/2020).

    Raises
    ------
    InputError
        Ambiguous day/month order, day-first and month-first values mixed, or no value
        of the column readable as a date.

    Examples
    --------
    >>> import pandas as pd
    >>> parse_dates(pd.Series(["03/04/2020", "05/06/2020"]), source="visits.csv")
    Traceback (most recent call last):
    ...
    msc_notebooks.errors.InputError: visits.csv, column 'date', rows 0, 1: dates are ambiguous: ...
    >>> days, dates, missing, bad = parse_dates(pd.Series(["13/01/2020", "31/02/2020", ""]))
    >>> days.tolist()[0], str(dates[0])[:10], bad.tolist(), missing.tolist()
    (18274.0, '2020-01-13', [False, True, False], [False, False, True])
    """
    rows = values.index.to_series() if rows is None else rows
    n = len(values)
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        ser = values
        if getattr(ser.dt, "tz", None) is not None:
            ser = ser.dt.tz_localize(None)  # wall-clock date as written: no shift
        dates = ser.to_numpy(dtype="datetime64[ns]", copy=True)
        if (dates.view(np.int64) % _DAY_NS).any():  # a time of day (or a missing date)
            dates = ser.dt.normalize().to_numpy(dtype="datetime64[ns]")  # midnight
        missing = np.isnat(dates)
        return _whole_days(dates), dates, missing, np.zeros(n, bool)

    text = clean_text(values)
    missing = text.isna().to_numpy()
    parsed = np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]")

    # plain YYYY-MM-DD (the usual case) by slicing, vectorised; the rest by the ISO pattern
    strict = text.str.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}").fillna(False).to_numpy(bool)
    is_iso = strict.copy()
    if strict.any():
        # each distinct date once (a study has a few thousand dates, repeated)
        codes, uniques = pd.factorize(text[strict])
        s = pd.Series(uniques)
        parts = _from_parts(s.str.slice(0, 4), s.str.slice(5, 7), s.str.slice(8, 10))
        parsed[strict] = parts[codes]
    others = ~strict & ~missing
    if others.any():
        iso = text[others].str.extract(_ISO.pattern)
        hit = iso[0].notna().to_numpy()
        where = np.flatnonzero(others)[hit]
        is_iso[where] = True
        parsed[where] = _from_parts(iso[0][hit], iso[1][hit], iso[2][hit])

    rest = ~is_iso & ~missing
    if date_format is not None and rest.any():
        _check_format(date_format, source, column)
        try:
            got = pd.Series(
                pd.to_datetime(text[rest].astype(object), format=date_format, errors="coerce")
            )
        except ValueError:  # e.g. mixed UTC offsets: read each date as written
            got = pd.Series(
                [_strptime_date(v, date_format) for v in text[rest]], dtype="datetime64[ns]"
            )
        if getattr(got.dt, "tz", None) is not None:
            got = got.dt.tz_localize(None)  # keep the written calendar date (no shift)
        got = got.dt.normalize().to_numpy(dtype="datetime64[ns]")
        parsed[rest] = got
    elif rest.any():
        dmy = text.str.extract(_DMY)
        slashed = dmy[0].notna().to_numpy() & rest
        if slashed.any():
            a = dmy[0].to_numpy()[slashed].astype(int)
            sep = dmy[1].to_numpy()[slashed]
            b = dmy[2].to_numpy()[slashed].astype(int)
            year = dmy[3].to_numpy()[slashed]
            slashed_rows = np.asarray(rows)[slashed]
            day_first = (a > 12) & (b <= 12)
            month_first = (b > 12) & (a <= 12)
            sep0 = str(sep[0])
            fmt_d = f"%d{sep0}%m{sep0}%Y"
            fmt_m = f"%m{sep0}%d{sep0}%Y"
            fix = Fix(
                "give ",
                Option("date_format", fmt_d),
                " (day first) or ",
                Option("date_format", fmt_m),
                " (month first)",
            )
            if day_first.any() and month_first.any():
                i, j = np.flatnonzero(day_first)[0], np.flatnonzero(month_first)[0]
                raise InputError(
                    "dates mix day-first and month-first order "
                    f"('{text[slashed].iloc[i]}' at row {slashed_rows[i]} is day first, "
                    f"'{text[slashed].iloc[j]}' at row {slashed_rows[j]} is month first)",
                    source=source,
                    column=column,
                    rows=[slashed_rows[i], slashed_rows[j]],
                    fix="correct the dates in the file, or " + fix,
                )
            if month_first.any():
                a, b = b, a
            elif not day_first.any() and (a != b).any():
                which = np.flatnonzero(a != b)
                example = text[slashed].iloc[which[0]]
                raise InputError(
                    f"dates are ambiguous: '{example}' could be day/month or month/day, "
                    "and no value in the column has a day above 12 to settle the order",
                    source=source,
                    column=column,
                    rows=list(slashed_rows[which[:5]]),
                    fix=fix,
                )
            parsed[slashed] = _from_parts(pd.Series(year), pd.Series(b), pd.Series(a))

    bad = ~missing & np.isnat(parsed)
    if (~missing).any() and bad[~missing].all():
        shown = text[~missing].iloc[:3].tolist()
        raise InputError(
            f"no value in the column could be read as a date (for example {shown})",
            source=source,
            column=column,
            rows=list(np.asarray(rows)[~missing][:5]),
            fix=Fix(
                "use ISO dates (YYYY-MM-DD) or give the format, e.g. ",
                Option("date_format", "%d/%m/%Y"),
                " (%y for two-digit years); if the column holds day offsets, map it to 'day': ",
                Option("column_map", {column: "day"}),
            ),
        )
    return _whole_days(parsed), parsed, missing, bad


def _check_format(date_format: str, source: str, column: str) -> None:
    import datetime as dt

    probe = dt.datetime(2020, 1, 31, 0, 0, tzinfo=dt.UTC)
    try:
        dt.datetime.strptime(probe.strftime(date_format), date_format)
    except ValueError as err:
        raise InputError(
            f"date_format {date_format!r} is not a usable strftime format ({err})",
            source=source,
            column=column,
            fix=Fix(
                "use codes such as ",
                Option("date_format", "%d/%m/%Y"),
                " or ",
                Option("date_format", "%Y-%m-%d"),
            ),
        ) from err


def _strptime_date(value: str, date_format: str) -> np.datetime64:
    import datetime as dt

    try:
        return np.datetime64(dt.datetime.strptime(value, date_format).date(), "ns")
    except (ValueError, TypeError):
        return np.datetime64("NaT", "ns")


def _from_parts(year: pd.Series, month: pd.Series, day: pd.Series) -> np.ndarray:
    """Build dates from text parts; impossible dates (31/02) become NaT."""
    parts = pd.DataFrame(
        {
            "year": pd.to_numeric(pd.Series(np.asarray(year, dtype=object)), errors="coerce"),
            "month": pd.to_numeric(pd.Series(np.asarray(month, dtype=object)), errors="coerce"),
            "day": pd.to_numeric(pd.Series(np.asarray(day, dtype=object)), errors="coerce"),
        }
    )
    ok = parts["year"].between(1800, 2200)
    out = pd.to_datetime(parts.where(ok, np.nan), errors="coerce")
    return out.to_numpy(dtype="datetime64[ns]")


def _whole_days(dates: np.ndarray) -> np.ndarray:
    """Whole days since the epoch (the schema's date_to_day, floored in place)."""
    days = date_to_day(dates)
    return np.floor(days, out=days)


def parse_yes_no(values: pd.Series, default: bool, source: str, column: str, rows) -> np.ndarray:
    """yes/no/true/false/1/0 (any case) to bool; missing -> default; other -> InputError."""
    if pd.api.types.is_bool_dtype(values.dtype):
        return values.fillna(default).to_numpy(dtype=bool)
    text = clean_text(values)
    low = text.str.lower()
    true = low.isin(TRUE_WORDS).to_numpy()
    false = low.isin(FALSE_WORDS).to_numpy()
    missing = text.isna().to_numpy()
    other = ~(true | false | missing)
    if other.any():
        shown = sorted(set(text[other].tolist()))[:5]
        raise InputError(
            f"values {shown} are not yes/no",
            source=source,
            column=column,
            rows=list(np.asarray(rows)[other]),
            fix="use yes/no, true/false or 1/0 (an empty cell means no)",
        )
    return np.where(missing, default, true)
