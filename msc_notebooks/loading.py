"""Read the tables a user brings: CSV, Excel, Parquet or a pandas DataFrame (SPEC §1, §11).

:func:`read_table` reads one raw table (every cell as written, so that ``'007'`` stays
``'007'``), adds the ``row`` provenance column and renames columns to the canonical names
(the user's ``column_map`` first, then the PRO-ACT names, then a case-insensitive match
of the canonical names). :func:`read_study` reads the tables of one study and validates
them with :func:`msc_notebooks.validation.validate_study`.

Users' files are only ever opened for reading.
"""

from __future__ import annotations

import codecs
import csv
import io
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd

from .columns import TABLES, recognise_columns
from .errors import Fix, InputError, Option
from .study import StudyData

__all__ = ["read_table", "read_study", "Source"]

#: What a table can be read from: a path or a DataFrame.
Source = str | os.PathLike | pd.DataFrame

_EXCEL = (".xlsx", ".xlsm", ".xls")
_PARQUET = (".parquet", ".pq")


def _name(source: Source) -> str:
    return "DataFrame" if isinstance(source, pd.DataFrame) else Path(source).name


def read_table(
    source: Source,
    table: str,
    *,
    column_map: Mapping[str, str] | None = None,
    date_format: str | None = None,
    sheet: str | None = None,
) -> pd.DataFrame:
    """Read one raw table (no validation) with its row numbers and canonical column names.

    Parameters
    ----------
    source : path or pandas.DataFrame
        A CSV file (comma or semicolon separated, decimal point or comma, UTF-8 with or
        without BOM, Latin-1 fallback), an Excel workbook (``.xlsx``; the sheet named like
        ``table``, or ``sheet``), a Parquet file, or a DataFrame (copied, never modified).
    table : {'visits', 'injections', 'patients', 'adverse_events'}
        Which table this is (decides the PRO-ACT names and canonical names).
    column_map : mapping, optional
        Your column name to the canonical name, e.g. ``{'Subject': 'patient_id'}``.
    date_format : str, optional
        Accepted for symmetry with :func:`read_study`; dates are parsed by validation.
    sheet : str, optional
        Workbook sheet to read (default: the sheet named like ``table``, or the only sheet).

    Returns
    -------
    pandas.DataFrame
        The cells as text (files) or as given (DataFrames), canonical column names, and a
        ``row`` column: the spreadsheet row number for files (header = row 1, first data
        row = row 2), the index label for DataFrames. Fully empty lines are skipped (their
        row numbers are not reused). ``attrs['source']`` holds the file name or
        ``'DataFrame'``.

    Raises
    ------
    InputError
        Missing, empty, binary or unreadable file; a workbook without the sheet; two
        columns with the same canonical name.

    Examples
    --------
    >>> import pandas as pd
    >>> raw = read_table(pd.DataFrame({"Subject_ID": [" 007"], "ALSFRS_Delta": [0]}), "visits")
    >>> raw.to_dict("records")
    [{'patient_id': ' 007', 'day': 0, 'row': 0}]
    """
    if table not in TABLES:
        raise InputError(f"unknown table {table!r}", fix=f"use one of {list(TABLES)}")
    name = _name(source)
    if isinstance(source, pd.DataFrame):
        df = source.copy(deep=False)  # copy-on-write: the caller's frame is never changed
        df.columns = [str(c) for c in df.columns]
        if "row" not in df.columns:
            index = df.index  # RangeIndex.to_numpy would cache an array on the caller's frame
            rng = isinstance(index, pd.RangeIndex)
            df["row"] = np.arange(index.start, index.stop, index.step) if rng else index.to_numpy()
        df = df.reset_index(drop=True)
    else:
        path = Path(source)
        if not path.is_file():
            raise InputError(
                "file not found", source=str(path), fix="check the path and the file name"
            )
        suffix = path.suffix.lower()
        head = path.open("rb").read(8)
        if suffix in _EXCEL or head.startswith(b"PK\x03\x04") or head.startswith(b"\xd0\xcf"):
            df = _read_excel(path, table, sheet)
        elif suffix in _PARQUET or head.startswith(b"PAR1"):
            df = _read_parquet(path)
        else:
            df = _read_csv(path)
    df = _rename(df, table, column_map, name)
    df.attrs["source"] = name
    return df


def _numbered(df: pd.DataFrame, first: int = 2) -> pd.DataFrame:
    """Add spreadsheet row numbers, then drop fully empty lines."""
    df = df.reset_index(drop=True)
    df.columns = [str(c) for c in df.columns]
    row = pd.RangeIndex(first, first + len(df)).to_numpy()
    # a line is empty when every cell is blank: look at the next column only for the
    # lines still blank so far (usually none after the first column)
    empty = np.ones(len(df), bool)
    for col in range(df.shape[1]):
        at = np.flatnonzero(empty)
        if len(at) == 0:
            break
        cells = df.iloc[at, col].astype(str).str.strip()
        empty[at] = (cells == "").to_numpy(dtype=bool, na_value=False)
    if "row" in df.columns:
        df = df.rename(columns={"row": "row_in_file"})
    df["row"] = row
    return df.loc[~empty].reset_index(drop=True)


def _decode(data: bytes, name: str) -> tuple[str, str]:
    """The text of a file and its encoding (``utf-16``, ``utf-8-sig`` or ``latin-1``)."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16"), "utf-16"
    sample = data[:4096]
    controls = sum(b < 32 and b not in (9, 10, 13) for b in sample)
    if b"\x00" in sample or controls > len(sample) * 0.01:
        raise InputError(
            "the file is not a text table (it looks like binary data)",
            source=name,
            fix="export the table as CSV (comma or semicolon separated), .xlsx or .parquet",
        )
    try:
        return data.decode("utf-8-sig"), "utf-8-sig"
    except UnicodeDecodeError:
        return data.decode("latin-1"), "latin-1"


def _read_csv(path: Path) -> pd.DataFrame:
    name = path.name
    data = path.read_bytes()
    if not data.strip():
        raise InputError(
            "the file is empty",
            source=name,
            fix="export the table with a header row and one row per record",
        )
    text, encoding = _decode(data, name)
    stripped = text.lstrip("\r\n")
    skipped = text[: len(text) - len(stripped)].count("\n")
    # the first line, without splitting the whole file (splitlines ends a line at \n or
    # earlier, e.g. at \r)
    newline = stripped.find("\n")
    head = stripped if newline < 0 else stripped[: newline + 1]
    first_line = head.splitlines()[0] if stripped.strip() else ""
    if not first_line.strip():
        raise InputError("the file is empty", source=name, fix="add a header row and data rows")
    counts = {sep: first_line.count(sep) for sep in (",", ";", "\t")}
    sep = max(counts, key=counts.get) if max(counts.values()) else ","
    if encoding == "utf-8-sig":
        # the parser reads the UTF-8 bytes as they are: no second copy of the text
        body = data[3:] if data.startswith(codecs.BOM_UTF8) else data
        source, options = io.BytesIO(body.lstrip(b"\r\n")), {"encoding": "utf-8"}
    else:
        source, options = io.StringIO(stripped), {}
    del text, stripped, data
    try:
        df = pd.read_csv(
            source,
            **options,
            sep=sep,
            dtype=str,
            keep_default_na=False,
            skip_blank_lines=False,
            quoting=csv.QUOTE_MINIMAL,
        )
    except (pd.errors.ParserError, csv.Error, ValueError) as err:
        raise InputError(
            f"the file cannot be read as a '{sep}' separated table ({err})",
            source=name,
            fix="check the separators and quotes on that line, or export the table again",
        ) from err
    header = [h.strip() for h in next(csv.reader([first_line], delimiter=sep))]
    twice = sorted({h for h in header if h and header.count(h) > 1})
    if twice:
        raise InputError(
            f"the header names column(s) {twice} more than once",
            source=name,
            column=twice[0],
            rows=[1 + skipped],
            fix="give every column its own name (or delete the copy)",
        )
    return _numbered(df, first=2 + skipped)


@contextmanager
def _reading(path: Path, what: str, fix: str) -> Iterator[None]:
    """Turn a reader's failure (openpyxl, zipfile, pyarrow raise many kinds) into an
    InputError naming the file, what could not be read and the fix."""
    try:
        yield
    except InputError:
        raise
    except Exception as err:
        raise InputError(
            f"{what} ({type(err).__name__}: {err})", source=path.name, fix=fix
        ) from err


def _sheet_names(path: Path) -> list[str]:
    with _reading(
        path,
        "the file cannot be read as an Excel workbook",
        "open it in your spreadsheet program and save it again as .xlsx, or export CSV",
    ):
        with pd.ExcelFile(path) as book:
            return [str(s) for s in book.sheet_names]


def _pick_sheet(path: Path, table: str, sheet: str | None, sheets: list[str]) -> str | None:
    if sheet is not None:
        return sheet if sheet in sheets else None
    low = {s.strip().lower(): s for s in sheets}
    if table in low:
        return low[table]
    others = set(TABLES) - {table}
    if len(sheets) == 1 and sheets[0].strip().lower() not in others:
        return sheets[0]
    return None


def _read_excel(path: Path, table: str, sheet: str | None) -> pd.DataFrame:
    sheets = _sheet_names(path)
    chosen = _pick_sheet(path, table, sheet, sheets)
    if chosen is None:
        want = sheet if sheet is not None else table
        raise InputError(
            f"the workbook has no sheet named '{want}'; sheets found: {sheets}",
            source=path.name,
            fix=f"rename the sheet to '{want}', pass sheet='<name>', or give the {table} "
            "table as its own file",
        )
    with _reading(
        path,
        f"sheet '{chosen}' cannot be read",
        "save the workbook again as .xlsx, or export the sheet as CSV",
    ):
        df = pd.read_excel(path, sheet_name=chosen, dtype=str, keep_default_na=False)
    return _numbered(df)


def _read_parquet(path: Path) -> pd.DataFrame:
    with _reading(
        path,
        "the file cannot be read as Parquet",
        "write it again with pandas.DataFrame.to_parquet, or export CSV",
    ):
        df = pd.read_parquet(path)
    df = df.reset_index(drop=True)
    df.columns = [str(c) for c in df.columns]
    if "row" in df.columns:
        df = df.rename(columns={"row": "row_in_file"})
    df["row"] = pd.RangeIndex(2, 2 + len(df)).to_numpy()
    return df


def _rename(
    df: pd.DataFrame, table: str, column_map: Mapping[str, str] | None, source: str
) -> pd.DataFrame:
    """Canonical column names: the user's map first, then the names the schema recognises.

    The columns renamed without a map are listed in ``attrs['recognised']`` so that every
    face can report them.
    """
    user = dict(column_map or {})
    user_low = {str(k).strip().lower(): v for k, v in user.items()}
    clean = {col: str(col).strip().lstrip("\ufeff").strip() for col in df.columns if col != "row"}
    by_user = {}
    for col, name in clean.items():
        for key, pool in ((col, user), (name, user), (name.lower(), user_low)):
            if key in pool:
                by_user[col] = pool[key]
                break
    recognised = recognise_columns(table, [n for c, n in clean.items() if c not in by_user])
    new = [
        col if col == "row" else by_user.get(col, recognised.get(clean[col], clean[col]))
        for col in df.columns
    ]
    seen: dict[str, str] = {}
    for old, n in zip(df.columns, new, strict=True):
        if n in seen:
            raise InputError(
                f"two columns both mean '{n}': '{seen[n]}' and '{old}'",
                source=source if source != "DataFrame" else f"DataFrame '{table}'",
                column=n,
                fix=Fix(
                    "delete one of them, or rename one: ",
                    Option("column_map", {str(old): "<new name>"}),
                ),
            )
        seen[n] = str(old)
    df = df.set_axis(new, axis=1)
    df.attrs["recognised"] = recognised
    return df


def _split_map(column_map) -> dict[str, dict[str, str]]:
    if not column_map:
        return {t: {} for t in TABLES}
    if all(k in TABLES for k in column_map) and all(
        isinstance(v, Mapping) for v in column_map.values()
    ):
        return {t: dict(column_map.get(t) or {}) for t in TABLES}
    return {t: dict(column_map) for t in TABLES}


def _is_workbook(source) -> bool:
    return not isinstance(source, pd.DataFrame) and Path(source).suffix.lower() in _EXCEL


def read_study(
    visits: Source,
    injections: Source | None = None,
    patients: Source | None = None,
    adverse_events: Source | None = None,
    *,
    column_map: Mapping | None = None,
    date_format: str | None = None,
    workbook_sheets: bool = True,
    outcome_tables: Mapping[str, Source] | None = None,
) -> StudyData:
    """Read and validate the tables of one study (SPEC §1, §10–12).

    Parameters
    ----------
    visits : path or pandas.DataFrame
        ALSFRS-R assessments (required). An ``.xlsx`` workbook given alone is read sheet by
        sheet: ``visits`` (required), and ``injections``, ``patients``, ``adverse_events``
        when those sheets exist.
    injections, patients, adverse_events : path or pandas.DataFrame, optional
        The other tables. Without injections the injection table is empty (generate a
        protocol schedule later); without patients it is built from the ids seen.
    column_map : mapping, optional
        ``{your name: canonical name}`` applied to every table, or
        ``{table: {your name: canonical name}}``.
    date_format : str, optional
        strftime format of calendar dates, e.g. ``'%d/%m/%Y'``. Without it only
        unambiguous dates are read, and ambiguous columns raise an InputError.
    workbook_sheets : bool, default True
        Read the other tables from the sheets of a workbook given as ``visits``.
    outcome_tables : mapping, optional
        ``{outcome column: table}``: outcomes measured on their own days, e.g.
        ``{"fvc_pct": "fvc.csv"}`` (``patient_id``, ``date`` or ``day``, the value; or the
        PRO-ACT ``Fvc.csv`` layout). Values on days without an assessment are kept as rows
        of their own (:func:`msc_notebooks.outcome_tables.add_outcome_table`); each table
        has its line in the ledger.

    Returns
    -------
    StudyData
        Canonical tables (``day`` in days; days since 1970-01-01 for calendar dates),
        exclusions, ledger, sources, time kind and warnings.

    Raises
    ------
    InputError
        For problems with a whole file or column (see :func:`read_table` and
        :func:`msc_notebooks.validation.validate_study`).

    Examples
    --------
    >>> import pandas as pd
    >>> visits = pd.DataFrame({"subject_id": ["7", "7", "7"], "ALSFRS_Delta": [0, 30, 30],
    ...                        "ALSFRS_R_Total": [40, 39, 38]})
    >>> study = read_study(visits, pd.DataFrame({"patient_id": ["7"], "day": [10]}))
    >>> study.visits[["patient_id", "day", "alsfrs_r_total", "row"]]
      patient_id   day  alsfrs_r_total  row
    0          7   0.0            40.0    0
    1          7  30.0            38.5    1
    >>> study.exclusions["reason"].tolist()
    ['same-day duplicate of row 1: merged (mean used)']
    >>> study.ledger["rows_used"].tolist(), study.time_kind
    ([2, 1], 'day')
    """
    from .validation import validate_study

    maps = _split_map(column_map)
    given = {
        "visits": visits,
        "injections": injections,
        "patients": patients,
        "adverse_events": adverse_events,
    }
    raw: dict[str, pd.DataFrame] = {}
    if (
        workbook_sheets
        and _is_workbook(visits)
        and injections is None
        and patients is None
        and adverse_events is None
    ):
        path = Path(visits)
        if not path.is_file():
            raise InputError("file not found", source=str(path), fix="check the path")
        sheets = _sheet_names(path)
        low = {s.strip().lower() for s in sheets}
        for t in TABLES:
            if t == "visits" or t in low:
                raw[t] = read_table(path, t, column_map=maps[t])
    else:
        for t, src in given.items():
            if src is not None:
                raw[t] = read_table(src, t, column_map=maps[t])
    sources = {t: df.attrs.get("source", "DataFrame") for t, df in raw.items()}
    study = validate_study(raw, sources, date_format)
    if outcome_tables:
        from .outcome_tables import add_outcome_table, read_outcome_table

        for outcome, src in outcome_tables.items():
            table = read_outcome_table(src, outcome, column_map=maps["visits"])
            study = add_outcome_table(study, table, outcome, date_format=date_format)
    return study
