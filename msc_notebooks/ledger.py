"""Bookkeeping of rows read, used and excluded (SPEC §10): every row not used, with why.

:class:`PatientCodes` turns the patient ids of every table into integer codes once per
study; :class:`RowLedger` records, for one raw table, which rows are excluded and why
(first reason wins) and builds its part of the exclusions table. Validation
(:mod:`msc_notebooks.validation`) fills them; nothing here decides what is valid.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cached_property

import numpy as np
import pandas as pd

from .cells import as_text, clean_text, scalar_text
from .columns import EXCLUSIONS_COLUMNS, shared_codes

__all__ = ["PatientCodes", "RowLedger", "ledger_lines"]


class PatientCodes:
    """The patient ids of every table as integer codes into one sorted list of ids.

    Ids are cleaned (spaces stripped, missing markers -> missing) once per *distinct* raw
    value, not once per row, and factorized once for the whole study: code ``k`` is the
    ``k``-th id in sorted order, so sorting, duplicate checks and unknown-patient checks
    work on integers. Missing ids have code -1.
    """

    def __init__(self, tables: Mapping[str, pd.DataFrame]) -> None:
        per_table = {}
        cleaned = []
        seen: list[tuple[pd.Index, pd.Series]] = []  # distinct raw ids, cleaned
        for t, df in tables.items():
            col = df["patient_id"]
            if as_text(col) is col:  # text: clean the distinct values only
                (raw_codes,), raw_uniques = shared_codes(col)
                raw_uniques = pd.Index(raw_uniques)
                # the tables of a study usually hold the same ids: cleaned once
                clean = next((c for raw, c in seen if raw.equals(raw_uniques)), None)
                if clean is None:
                    clean = clean_text(pd.Series(raw_uniques))
                    seen.append((raw_uniques, clean))
            else:  # numbers and mixed cells: 1 and 1.0 are the same key but not the same text
                raw_codes, raw_uniques = pd.factorize(clean_text(col))
                clean = pd.Series(raw_uniques, dtype="str")
            per_table[t] = raw_codes
            cleaned.append(clean.reset_index(drop=True))
        if not cleaned:
            cleaned = [pd.Series([], dtype="str")]
        codes, uniques = shared_codes(*(clean.astype("str") for clean in cleaned))
        #: the distinct ids in sorted order (``str`` array)
        self.uniques = uniques
        self.codes: dict[str, np.ndarray] = {}
        for t, clean_codes in zip(per_table, codes, strict=False):
            # int32: half the memory of int64 for a million rows
            to_global = np.append(clean_codes, -1).astype(np.int32)
            self.codes[t] = to_global[per_table[t]]  # raw code -1 (missing) -> last entry, -1

    def text(self, codes: np.ndarray) -> pd.api.extensions.ExtensionArray:
        """The ids of ``codes`` (NA for -1), as a ``str`` array."""
        return self.uniques.take(codes, allow_fill=True)

    def column(
        self, codes: np.ndarray, typed_by: np.ndarray | None = None
    ) -> pd.api.extensions.ExtensionArray | np.ndarray:
        """:meth:`text` for a table's ``patient_id`` column.

        Its type is that of a column built from the ids as Python strings, then filtered:
        ``str`` when there is an id among ``typed_by`` (default: ``codes``), else
        ``object``.
        """
        typed_by = codes if typed_by is None else typed_by
        if len(codes) or (typed_by >= 0).any():
            return self.text(codes)
        return np.array([], dtype=object)

    def mask(self, codes: np.ndarray) -> np.ndarray:
        """Boolean array over all ids: True for the ids in ``codes`` (-1 ignored)."""
        out = np.zeros(len(self.uniques), bool)
        out[codes[codes >= 0]] = True
        return out


class RowLedger:
    """Which rows of one raw table are excluded, and why (first reason wins).

    Only the excluded rows are stored (positions, reasons, column, values), so a table
    with a million rows and few exclusions costs a boolean per row.

    Parameters
    ----------
    table : str
        The table's name in the ledger and the exclusions table.
    raw : pandas.DataFrame
        The raw table, with ``patient_id`` and ``row`` (file row numbers).
    source : str, optional
        The file it came from (default: ``raw.attrs['source']``, else ``'DataFrame'``).
    ids : PatientCodes, optional
        The study's patient codes (default: codes of this table's ids alone).

    Examples
    --------
    >>> t = RowLedger("fvc_pct", pd.DataFrame({"patient_id": ["1", None], "row": [2, 3]}))
    >>> t.exclude(t.id_series.isna().to_numpy(), "missing patient id", "patient_id")
    >>> t.counts(), t.frame().reason.tolist()
    ({'table': 'fvc_pct', 'rows_read': 2, 'rows_used': 1, 'rows_excluded': 1}, ['missing patient id'])
    """

    def __init__(
        self,
        table: str,
        raw: pd.DataFrame,
        *,
        source: str | None = None,
        ids: PatientCodes | None = None,
    ) -> None:
        self.table = table
        self.source = raw.attrs.get("source", "DataFrame") if source is None else source
        self.n = len(raw)
        self.raw = raw
        self.rows = raw["row"].to_numpy()
        self.ids = PatientCodes({table: raw}) if ids is None else ids
        self.codes = self.ids.codes[table]
        self.out = np.zeros(self.n, bool)
        self._parts: list[tuple[np.ndarray, object, str | None, object]] = []
        #: cells not used in rows that are kept (table ``"<table> (cells)"``: not counted
        #: in the ledger, which counts rows)
        self.notes: list[pd.DataFrame] = []

    def note(self, mask, reason, column: str) -> None:
        """List cells of kept rows that are not used (e.g. q5b when q5a counts)."""
        idx = np.flatnonzero(np.asarray(mask, bool) & ~self.out)
        if not len(idx):
            return
        values = self.raw[column] if column in self.raw else pd.Series([None] * self.n)
        self.notes.append(
            pd.DataFrame(
                {
                    "table": f"{self.table} (cells)",
                    "source": self.source,
                    "row": self.rows[idx],
                    "patient_id": self.ids.text(self.codes[idx]).to_numpy(
                        dtype=object, na_value=None
                    ),
                    "column": column,
                    "value": [scalar_text(v) for v in values.iloc[idx]],
                    "reason": reason[idx] if isinstance(reason, np.ndarray) else reason,
                },
                columns=list(EXCLUSIONS_COLUMNS),
            )
        )

    @cached_property
    def id_series(self) -> pd.Series:
        """The cleaned ids, one per row (NaN where missing)."""
        return pd.Series(self.ids.text(self.codes))

    @property
    def kept(self) -> np.ndarray:
        """Boolean per row: True where the row is not excluded (yet)."""
        return ~self.out

    def exclude(self, mask, reason, column: str | None = None, values=None) -> None:
        """Exclude the rows where ``mask`` is True that are not excluded yet.

        ``reason`` is one text or an array with one per row of the table; ``column`` the
        column at fault; ``values`` what to show (default: the raw cells of ``column``).
        """
        m = np.asarray(mask, bool) & ~self.out
        if not m.any():
            return
        idx = np.flatnonzero(m)
        if isinstance(reason, np.ndarray):  # one reason per row of the table
            reason = reason[idx]
        self.exclude_at(idx, reason, column, values)

    def exclude_at(self, idx: np.ndarray, reason, column: str | None = None, values=None) -> None:
        """Exclude the rows at positions ``idx`` (none of them excluded yet)."""
        self.out[idx] = True
        if values is None and column is not None and column in self.raw:
            values = self.raw[column]
        shown = None
        if values is not None:
            values = pd.Series(values)
            if isinstance(values.dtype, pd.StringDtype):
                shown = values.iloc[idx].to_numpy(dtype=object, na_value=None)
            elif pd.api.types.is_datetime64_any_dtype(values.dtype):
                # each distinct date printed once (NaT: code -1 -> the appended None)
                code, dates = pd.factorize(values.iloc[idx])
                texts = np.array([*map(scalar_text, dates), None], dtype=object)
                shown = list(texts[code])
            else:
                shown = [scalar_text(v) for v in values.iloc[idx]]
        self._parts.append((idx, reason, column, shown))

    def _columns(self) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Positions of the excluded rows (in row order) and their reason/column/value."""
        k = sum(len(p[0]) for p in self._parts)
        idx = np.empty(k, dtype=np.int64)
        out = {name: np.full(k, None, dtype=object) for name in ("reason", "column", "value")}
        at = 0
        for pos, reason, column, shown in self._parts:
            sl = slice(at, at + len(pos))
            idx[sl] = pos
            out["reason"][sl] = reason
            out["column"][sl] = column
            if shown is not None:
                out["value"][sl] = shown
            at += len(pos)
        order = np.argsort(idx, kind="stable")
        return idx[order], {name: a[order] for name, a in out.items()}

    def reasons(self) -> np.ndarray:
        """The reasons of the excluded rows, in row order."""
        return self._columns()[1]["reason"]

    def frame(self) -> pd.DataFrame:
        """The excluded rows as exclusions-table rows (``columns.EXCLUSIONS_COLUMNS``)."""
        idx, cols = self._columns()
        return pd.DataFrame(
            {
                "table": self.table,
                "source": self.source,
                "row": self.rows[idx],
                "patient_id": self.ids.text(self.codes[idx]).to_numpy(dtype=object, na_value=None),
                "column": cols["column"],
                "value": cols["value"],
                "reason": cols["reason"],
            },
            columns=list(EXCLUSIONS_COLUMNS),
        )

    def counts(self) -> dict:
        """The table's ledger line: ``table``, ``rows_read``, ``rows_used``, ``rows_excluded``."""
        k = int(self.out.sum())
        return {"table": self.table, "rows_read": self.n, "rows_used": self.n - k,
                "rows_excluded": k}  # fmt: skip


def ledger_lines(
    ledger: pd.DataFrame | None,
    exclusions: pd.DataFrame | None,
    sources: Mapping[str, str] | None = None,
    examples: int = 3,
) -> list[str]:
    """The rows read, used and excluded of every table in words, one line a table, with the
    first excluded rows and why (SPEC §10): what a face prints beside the results.

    Parameters
    ----------
    ledger : pandas.DataFrame or None
        ``StudyData.ledger`` (:data:`~msc_notebooks.columns.LEDGER_COLUMNS`).
    exclusions : pandas.DataFrame or None
        ``StudyData.exclusions`` (:data:`~msc_notebooks.columns.EXCLUSIONS_COLUMNS`).
    sources : mapping, optional
        ``StudyData.sources``: where each table came from (a file name is shown).
    examples : int, default 3
        Excluded rows quoted per table (the exclusions table lists them all).

    Returns
    -------
    list of str
        Nothing when there is no ledger (a study built by hand).

    Examples
    --------
    >>> ledger = pd.DataFrame({"table": ["visits", "injections"], "rows_read": [356, 60],
    ...     "rows_used": [355, 60], "rows_excluded": [1, 0]})
    >>> exc = pd.DataFrame({"table": ["visits"], "source": ["visits.csv"], "row": [7],
    ...     "patient_id": ["001"], "column": ["alsfrs_r_total"], "value": ["4O"],
    ...     "reason": ["alsfrs_r_total is not a number"]})
    >>> for line in ledger_lines(ledger, exc, {"visits": "visits.csv", "injections": "inj.csv"}):
    ...     print(line)
    visits (visits.csv): 356 rows read, 355 used, 1 excluded (row 7: alsfrs_r_total is not a number)
    injections (inj.csv): 60 rows read, all used
    """
    if ledger is None:
        return []
    lines = []
    for t in ledger.itertuples(index=False):
        excluded = (
            exclusions[exclusions["table"] == t.table]
            if exclusions is not None and len(exclusions)
            else pd.DataFrame(columns=["source", "row", "reason"])
        )
        source = (sources or {}).get(t.table)
        name = f"{t.table} ({source})" if source else str(t.table)
        if not t.rows_excluded:
            lines.append(f"{name}: {t.rows_read:,} rows read, all used")
            continue
        shown = "; ".join(
            f"row {r.row}: {r.reason}" for r in excluded.head(examples).itertuples(index=False)
        )
        more = t.rows_excluded - min(examples, len(excluded))
        if more > 0:
            shown += f"; {more:,} more in the exclusions table"
        lines.append(
            f"{name}: {t.rows_read:,} rows read, {t.rows_used:,} used, "
            f"{t.rows_excluded:,} excluded ({shown})"
        )
    return lines
