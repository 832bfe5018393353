"""Writing results: CSV and Excel files that are safe to open, and the settings beside them.

Spreadsheet programs run a cell that starts with ``=``, ``+``, ``-`` or ``@`` as a
formula. Every text cell that starts so is written with a leading apostrophe (the OWASP
advice for CSV injection), so opening an exported result can run nothing. Numbers are
written as numbers.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .demo import DEMO_LABEL, is_demo
from .strata import stage_and_strata_tables
from .summary import WILCOXON_CAVEAT, period_lines, summary_with_expectation

if TYPE_CHECKING:
    from .analysis import AnalysisResult

__all__ = [
    "neutralise",
    "restore",
    "write_csv",
    "write_results",
    "read_results",
    "RESULT_FILES",
]

#: The files :func:`write_results` always writes.
RESULT_FILES = ("periods.csv", "summary.csv", "exclusions.csv", "ledger.csv", "settings.json")

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(table: pd.DataFrame) -> pd.DataFrame:
    """Return a copy in which no text cell can be read as a spreadsheet formula.

    Text cells starting with ``=``, ``+``, ``-``, ``@``, tab or carriage return get a
    leading apostrophe. Numeric columns are unchanged.

    Examples
    --------
    >>> t = pd.DataFrame({"term": ["=1+1", "headache", "-2"], "n": [1, 2, 3]})
    >>> neutralise(t).term.tolist(), neutralise(t).n.tolist()
    (["'=1+1", 'headache', "'-2"], [1, 2, 3])
    """
    out = table.copy()
    for col in out.columns:
        s = out[col]
        if s.dtype == object or pd.api.types.is_string_dtype(s):
            text = s.astype("string")
            risky = text.str.startswith(_FORMULA_START).fillna(False).to_numpy(dtype=bool)
            if risky.any():
                s = s.astype(object).copy()
                s[risky] = "'" + text[risky].astype(str)
                out[col] = s
    return out


def restore(table: pd.DataFrame) -> pd.DataFrame:
    """Undo :func:`neutralise`: drop the apostrophe put before a formula-like text.

    Examples
    --------
    >>> t = pd.DataFrame({"term": ["=1+1", "it's", "-2"]})
    >>> restore(neutralise(t)).term.tolist()
    ['=1+1', "it's", '-2']
    """
    out = table.copy()
    for col in out.columns:
        s = out[col]
        if s.dtype == object or pd.api.types.is_string_dtype(s):
            text = s.astype("string")
            guarded = text.str.startswith("'").fillna(False) & text.str[1:2].isin(
                list(_FORMULA_START)
            ).fillna(False)
            mask = guarded.to_numpy(dtype=bool)
            if mask.any():
                s = s.astype(object).copy()
                s[mask] = text[mask].str[1:].astype(str)
                out[col] = s
    return out


def write_csv(table: pd.DataFrame, path: str | Path) -> Path:
    """Write one table as UTF-8 CSV with formula neutralisation; return the path.

    Examples
    --------
    >>> import tempfile, os
    >>> p = write_csv(pd.DataFrame({"a": ["@x"]}), os.path.join(tempfile.mkdtemp(), "t.csv"))
    >>> p.read_text().splitlines()
    ['a', "'@x"]
    """
    path = Path(path)
    neutralise(table).to_csv(path, index=False, encoding="utf-8")
    return path


def _jsonable(value: object) -> object:
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    return value


def write_results(
    result: AnalysisResult,
    out_dir: str | Path,
    *,
    figures: bool = False,
    excel: bool = False,
    report: bool = False,
    title: str | None = None,
) -> list[Path]:
    """Write every result table of an analysis into a folder.

    Parameters
    ----------
    result : AnalysisResult
        From :func:`msc_notebooks.analyze`.
    out_dir : str or Path
        Folder to write into (created if needed). Nothing outside it is written.
    figures : bool, default False
        Also write every figure as SVG and PNG (vl-convert, offline).
    excel : bool, default False
        Also write ``results.xlsx`` with one sheet per table.
    report : bool, default False
        Also write ``report.html``, a self-contained report.
    title : str, optional
        The report's title (a study's ``study_title``); default the report's own.

    Returns
    -------
    list of Path
        The files written: always ``periods.csv``, ``summary.csv``, ``not_evaluable.csv``
        (period, reason, n: the patients left out, SPEC §7), ``exclusions.csv``,
        ``ledger.csv`` (table, rows_read, rows_used, rows_excluded), ``settings.json``
        (settings, sources, ``data``: ``"synthetic demo data"`` for the demo cohort, and
        the Wilcoxon caveat), ``summary.txt`` (one line per period, as the command line
        prints it, headed by the demo label for the demo cohort);
        also ``clinical.csv``, ``intervals.csv``, ``interval_lengths.csv``,
        ``injections.csv`` (the schedule analysed, edits included); with adverse
        events ``safety_by_term.csv``, ``safety_by_injection.csv``, ``serious_events.csv``
        (a header alone when none), ``safety_incidence.csv`` and ``safety_summary.txt``;
        with a no-effect simulation ``null_summary.csv``; with ``result.outcomes``
        ``outcomes_summary.csv`` (every outcome beside its no-effect expectation); with matched natural-history
        controls (``result.matched``, SPEC §15) ``matched_controls.csv``,
        ``matching_balance.csv``, ``matched_pairs.csv`` and ``matching_unmatched.csv``;
        when the broken-stick model has been fitted (``result.slopes()``, SPEC §14) ``slopes.csv`` and the shrunken
        per-patient values ``slopes_patients.csv`` (writing never starts a fit);
        always the clinical stages and progression strata of
        :func:`stage_and_strata_tables` (``stages.csv``, ``stage_transitions.csv``,
        ``strata_summary.csv``, ...).

    Examples
    --------
    >>> import tempfile
    >>> from msc_notebooks import analyze, load_demo
    >>> files = write_results(analyze(load_demo()), tempfile.mkdtemp())
    >>> sorted(f.name for f in files)[:5]
    ['clinical.csv', 'exclusions.csv', 'injections.csv', 'interval_lengths.csv', 'intervals.csv']
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    study = result.study
    tables: dict[str, pd.DataFrame] = {
        "periods.csv": result.periods,
        # the Wilcoxon p with the no-effect expectation and the caveat beside it (SPEC §7)
        "summary.csv": summary_with_expectation(result.summary, result.null),
        "not_evaluable.csv": result.not_evaluable,
        "exclusions.csv": study.exclusions,
        "ledger.csv": study.ledger if study.ledger is not None else pd.DataFrame(),
        "clinical.csv": result.clinical,
        "intervals.csv": result.intervals,
        "interval_lengths.csv": _with_dates(result.interval_lengths, study.time_kind),
        # the injection schedule analysed, with any edit made in the Wizard (issue #19)
        "injections.csv": study.injections.drop(columns=["row"], errors="ignore"),
    }
    if result.safety is not None:
        tables.update(result.safety.tables())
        tables["safety_incidence.csv"] = result.safety.incidence
    if result.null is not None:
        tables["null_summary.csv"] = result.null
    if getattr(result, "outcomes", None) is not None:
        tables["outcomes_summary.csv"] = result.outcomes
    matched = getattr(result, "matched", None)
    if matched is not None:
        tables["matched_controls.csv"] = matched.summary
        tables["matching_balance.csv"] = matched.balance
        tables["matched_pairs.csv"] = matched.pairs
        tables["matching_unmatched.csv"] = matched.unmatched
    if result.fitted_slopes is not None:
        tables["slopes.csv"] = result.fitted_slopes.table
        tables["slopes_patients.csv"] = result.fitted_slopes.patients
    tables.update(stage_and_strata_tables(result))
    written = [write_csv(table, out / name) for name, table in tables.items()]
    settings = {k: _jsonable(v) for k, v in result.settings.to_dict().items()}
    demo = is_demo(study)
    meta = {
        "data": DEMO_LABEL if demo else "the user's study",
        "settings": settings,
        "wilcoxon_caveat": WILCOXON_CAVEAT,
        "sources": study.sources,
        "columns_recognised": study.recognised,
        "time_kind": study.time_kind,
        "warnings": list(study.warnings),
        "msc_notebooks_version": __import__("msc_notebooks").__version__,
    }
    if result.null is not None and len(result.null):
        from .null_model import no_effect_parameters

        meta["no_effect_model"] = no_effect_parameters(result.null)
    path = out / "settings.json"
    path.write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    written.append(path)
    path = out / "summary.txt"
    head = [f"Computed from {DEMO_LABEL} (not a real study)."] if demo else []
    lines = head + period_lines(result.summary, result.null)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    written.append(path)
    if result.safety is not None:
        path = out / "safety_summary.txt"
        path.write_text(result.safety.sentence + "\n", encoding="utf-8")
        written.append(path)
    if excel:
        path = out / "results.xlsx"
        with pd.ExcelWriter(path, engine="openpyxl") as writer:
            for name, table in tables.items():
                sheet = name.removesuffix(".csv")[:31]
                frame = neutralise(table)
                for col in frame.select_dtypes(include=["datetimetz"]).columns:
                    frame[col] = frame[col].dt.tz_localize(None)
                frame.to_excel(writer, sheet_name=sheet, index=False)
        written.append(path)
    if figures:
        from .charts import save_figures

        written.extend(save_figures(result, out))
    if report:
        from .report import write_report

        extra = {"title": title} if title else {}
        written.append(write_report(result, out / "report.html", **extra))
    return written


def _with_dates(table: pd.DataFrame, time_kind: str) -> pd.DataFrame:
    """Calendar dates beside ``start_day``/``end_day`` (days since 1970) for dated studies.

    Examples
    --------
    >>> t = pd.DataFrame({"start_day": [19000.0], "end_day": [19090.0]})
    >>> _with_dates(t, "date").columns.tolist()
    ['start_date', 'end_date', 'start_day', 'end_day']
    >>> str(_with_dates(t, "date").start_date.iloc[0]), _with_dates(t, "day").columns.tolist()
    ('2022-01-08', ['start_day', 'end_day'])
    """
    if time_kind != "date" or table is None or "start_day" not in table.columns:
        return table
    out = table.copy()
    epoch = pd.Timestamp("1970-01-01")
    for end in ("start", "end"):
        if f"{end}_day" in out.columns:
            when = epoch + pd.to_timedelta(out[f"{end}_day"].round(), unit="D")
            at = out.columns.get_loc("start_day")
            out.insert(at, f"{end}_date", when.dt.date.astype(str))
    return out


def read_results(out_dir: str | Path) -> dict[str, pd.DataFrame]:
    """Read back the CSV tables written by :func:`write_results` (formula guards removed).

    Text columns that hold ids (``patient_id``, ``period``, ``term``, ...) stay text, so
    ``007`` comes back as ``007``.

    Parameters
    ----------
    out_dir : str or Path
        A folder written by :func:`write_results`.

    Returns
    -------
    dict of str to pandas.DataFrame
        File name (without ``.csv``) to table.

    Examples
    --------
    >>> import tempfile
    >>> from msc_notebooks import analyze, load_demo
    >>> folder = tempfile.mkdtemp()
    >>> _ = write_results(analyze(load_demo()), folder)
    >>> read_results(folder)["periods"].patient_id.iloc[0]
    '001'
    """
    text_columns = {
        "patient_id",
        "period",
        "reason",
        "term",
        "severity",
        "table",
        "source",
        "column",
        "value",
        "scope",
        "interval",
        "outcome",
        "route",
        "attribution",
        "measure",
        "interval_method",
        "row",
        "kings",
        "kings_start",
        "kings_end",
        "stage_start",
        "stage_end",
        "stratum",
        "flag",
        "system",
        "not_evaluable_reasons",
        "ci_method",
        "wilcoxon_method",
        "method",
        "unit",
        "cluster_interval",
    }
    tables = {}
    for path in sorted(Path(out_dir).glob("*.csv")):
        head = pd.read_csv(path, nrows=0).columns
        text = [c for c in head if c in text_columns]
        # text stays text ('' stays ''); in other columns an empty cell is missing
        table = pd.read_csv(
            path,
            dtype={c: str for c in text},
            keep_default_na=False,
            na_values={c: ["", "NaN", "nan", "<NA>"] for c in head if c not in text},
        )
        tables[path.stem] = restore(table)
    return tables
