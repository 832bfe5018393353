"""A PRO-ACT export read as users have it: several files of one untreated cohort (SPEC §15).

A natural-history cohort in the PRO-ACT layout comes as several files, recognised by name
(case-insensitive, any of CSV, Excel, Parquet):

- ``alsfrs*`` — the ALSFRS-R assessments (required): the visits table, read and validated
  like any visits table (SPEC §1, §10-12);
- ``AlsHistory*`` — history, with several rows per subject: the **first non-missing**
  ``Onset_Delta`` (in file order) is the onset, likewise ``Diagnosis_Delta`` and
  ``Site_of_Onset``; the row that gave the onset (else the subject's first row) counts as
  used, the subject's other rows are listed as merged;
- ``Fvc*`` — FVC as its own table with its own days
  (:func:`msc_notebooks.outcome_tables.add_outcome_table`): values on days without an
  ALSFRS-R assessment are kept as rows of their own;
- ``DeathData*`` — ``Subject_Died``, ``Death_Days``: ``death_day`` in the patients table;
- ``Treatment*`` — the trial arm (``Study_Arm``). Patients whose arm is known and is not
  placebo (``Active``, ...) were treated in their trial: all their rows in every file are
  listed as excluded ("treated in its trial"). Patients with no known arm are kept (most
  PRO-ACT subjects have none); the warnings say how many.

Every row of every file is in the ledger (one line per file's table) and, when not used, in
the exclusions table with the reason.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from .cells import clean_text, parse_numbers
from .columns import EXCLUSIONS_COLUMNS, LEDGER_COLUMNS
from .errors import InputError
from .ledger import RowLedger
from .study import StudyData

__all__ = ["PROACT_FILES", "proact_files", "read_proact"]

#: File roles and the lower-case name prefixes that identify them.
PROACT_FILES = {
    "visits": ("alsfrs",),
    "history": ("alshistory", "als_history"),
    "fvc": ("fvc",),
    "deaths": ("deathdata", "death"),
    "treatment": ("treatment",),
}

_READABLE = (".csv", ".txt", ".xlsx", ".xlsm", ".xls", ".parquet", ".pq")

#: Arms that mean "not treated" in a trial (compared lower-case).
UNTREATED_ARMS = frozenset({"placebo", "untreated", "control", "none", "no treatment"})


def _role(path: Path) -> str | None:
    stem = path.name.lower()
    for role, prefixes in PROACT_FILES.items():
        if any(stem.startswith(p) for p in prefixes):
            return role
    return None


def proact_files(sources: str | Path | Iterable[str | Path]) -> dict[str, Path]:
    """Which file plays which role: a folder, or a list of files, by file name.

    Parameters
    ----------
    sources : path or list of paths
        A folder holding the export, or the files themselves.

    Returns
    -------
    dict
        Role (``visits``, ``history``, ``fvc``, ``deaths``, ``treatment``) to path.

    Raises
    ------
    InputError
        No ALSFRS-R file, two files for one role, or a file given by name that is none of
        these.

    Examples
    --------
    >>> sorted(proact_files(["data/alsfrs.csv", "data/AlsHistory.csv"]).items())
    [('history', PosixPath('data/AlsHistory.csv')), ('visits', PosixPath('data/alsfrs.csv'))]
    """
    if isinstance(sources, (str, Path)) and Path(sources).is_dir():
        folder = Path(sources)
        paths = sorted(p for p in folder.iterdir() if p.suffix.lower() in _READABLE)
        strict = False
    else:
        paths = [Path(p) for p in ([sources] if isinstance(sources, (str, Path)) else sources)]
        strict = True
    found: dict[str, Path] = {}
    for path in paths:
        role = _role(path)
        if role is None:
            if strict:
                raise InputError(
                    "not a PRO-ACT natural-history file: the name should start with "
                    "alsfrs, AlsHistory, Fvc, DeathData or Treatment",
                    source=str(path),
                    fix="give the export's files under their PRO-ACT names, or a folder "
                    "holding them",
                )
            continue
        if role in found:
            raise InputError(
                f"two files for the {role} table: {found[role].name} and {path.name}",
                source=str(path),
                fix="give one file per table (join the two first)",
            )
        found[role] = path
    if "visits" not in found:
        raise InputError(
            "no ALSFRS-R file (alsfrs.csv) among the natural-history files",
            source=", ".join(p.name for p in paths) or str(sources),
            fix="add the export's alsfrs.csv (the ALSFRS-R assessments)",
        )
    return found


def _column(raw: pd.DataFrame, name: str) -> str | None:
    low = {str(c).lower(): c for c in raw.columns}
    return low.get(name.lower())


def _treated_ids(t: RowLedger) -> tuple[set, int]:
    """Ids treated in their trial (arm known and not placebo), and placebo ids count."""
    col = _column(t.raw, "Study_Arm") or _column(t.raw, "arm")
    if col is None:
        raise InputError(
            "the treatment file has no Study_Arm column",
            source=t.source,
            column="Study_Arm",
            fix="give the PRO-ACT Treatment.csv (subject_id, Study_Arm)",
        )
    arm = clean_text(t.raw[col]).str.lower().reset_index(drop=True)
    t.exclude(t.id_series.isna().to_numpy(), "missing patient id", "patient_id")
    t.exclude(arm.isna().to_numpy(), "arm not recorded (Study_Arm empty)", col)
    ok = t.kept
    treated = ok & ~arm.isin(UNTREATED_ARMS).to_numpy()
    treated_ids = set(t.id_series[treated])
    placebo_ids = set(t.id_series[ok & ~treated]) - treated_ids
    return treated_ids, len(placebo_ids)


def _remove_treated(raw: pd.DataFrame, treated: set, label: str, table: str) -> tuple:
    """Rows of treated patients out of a raw table, with their exclusion rows."""
    ids = clean_text(raw["patient_id"]).reset_index(drop=True)
    out = ids.isin(treated).to_numpy()
    ex = pd.DataFrame(
        {
            "table": table,
            "source": label,
            "row": raw["row"].to_numpy()[out],
            "patient_id": ids.to_numpy(dtype=object)[out],
            "column": "patient_id",
            "value": ids.to_numpy(dtype=object)[out],
            "reason": "treated in its trial (Treatment file: arm not placebo): not natural history",
        },
        columns=list(EXCLUSIONS_COLUMNS),
    )
    kept = raw[~out].reset_index(drop=True)
    kept.attrs = dict(raw.attrs)
    return kept, ex


def _drop_outsiders(t: RowLedger, cohort: set, treated: set) -> None:
    """Rows without id, of a patient treated in its trial, or of no natural-history patient."""
    t.exclude(t.id_series.isna().to_numpy(), "missing patient id", "patient_id")
    t.exclude(t.id_series.isin(treated).to_numpy(), "treated in its trial (Treatment file: arm not "
           "placebo): not natural history", "patient_id")  # fmt: skip
    t.exclude(~t.id_series.isin(cohort).to_numpy(), "no ALSFRS-R assessment of this subject in the "
           "natural-history visits", "patient_id")  # fmt: skip


def _history(t: RowLedger, cohort: set, treated: set) -> pd.DataFrame:
    """One row per subject: first non-missing onset, diagnosis and site (file order)."""
    _drop_outsiders(t, cohort, treated)
    values = {}
    for canon in ("onset_day", "diagnosis_day"):
        if canon in t.raw:
            values[canon] = parse_numbers(t.raw[canon])[0]
        else:
            values[canon] = np.full(t.n, np.nan)
    site = (
        clean_text(t.raw["site_of_onset"]).to_numpy(dtype=object)
        if "site_of_onset" in t.raw
        else np.full(t.n, None, dtype=object)
    )
    ok = np.flatnonzero(t.kept)
    f = pd.DataFrame({"pid": t.id_series.to_numpy(dtype=object)[ok], "pos": ok,
                      "onset": values["onset_day"][ok], "dx": values["diagnosis_day"][ok],
                      "site": site[ok]})  # fmt: skip
    f["order"] = np.arange(len(f))
    g = f.groupby("pid", sort=True)
    first = g["pos"].first()
    onset_pos = f[f["onset"].notna()].groupby("pid")["pos"].first()
    used = first.copy()
    used.loc[onset_pos.index] = onset_pos
    out = pd.DataFrame(
        {
            "onset_day": g["onset"].first(),  # first non-missing, in file order
            "diagnosis_day": g["dx"].first(),
            "site_of_onset": g["site"].first(),
            "pos": used,
        }
    )
    later = np.ones(t.n, bool)
    later[out["pos"].to_numpy()] = False
    later &= t.kept
    if later.any():
        pos = np.flatnonzero(later)
        kept_row = pd.Series(t.rows[out["pos"].to_numpy()], index=out.index)
        why = np.full(t.n, None, dtype=object)
        why[pos] = [
            f"further history row of this subject: merged (the first non-missing "
            f"Onset_Delta counts, row {kept_row[p]})"
            for p in t.id_series.to_numpy(dtype=object)[pos]
        ]
        t.exclude(later, why, "patient_id")
    return out


def _deaths(t: RowLedger, cohort: set, treated: set) -> pd.Series:
    """Death day per subject (``Death_Days`` where ``Subject_Died`` is yes)."""
    _drop_outsiders(t, cohort, treated)
    dcol = _column(t.raw, "Death_Days")
    died_col = _column(t.raw, "Subject_Died")
    days = parse_numbers(t.raw[dcol])[0] if dcol else np.full(t.n, np.nan)
    if died_col:
        died = clean_text(t.raw[died_col]).str.lower().reset_index(drop=True)
        yes = died.isin(["yes", "y", "true", "1"]).to_numpy()
        t.exclude(died.isna().to_numpy() & np.isnan(days), "neither Subject_Died nor "
               "Death_Days filled", died_col)  # fmt: skip
    else:
        yes = ~np.isnan(days)
    dup = t.id_series.duplicated().to_numpy() & t.kept
    t.exclude(dup, "further death row of this subject (the first counts)", "patient_id")
    ok = t.kept & yes
    return (
        pd.Series(days[ok], index=t.id_series.to_numpy(dtype=object)[ok]).groupby(level=0).first()
    )


def read_proact(
    sources: str | Path | Iterable[str | Path],
    *,
    date_format: str | None = None,
) -> StudyData:
    """Read a natural-history cohort from the files of a PRO-ACT export (module docstring).

    Parameters
    ----------
    sources : path or list of paths
        A folder holding the export's files, or the files (``alsfrs.csv`` required;
        ``AlsHistory.csv``, ``Fvc.csv``, ``DeathData.csv``, ``Treatment.csv`` optional).
    date_format : str, optional
        strftime format when the ALSFRS-R file has calendar dates.

    Returns
    -------
    StudyData
        ``visits`` (ALSFRS-R, and ``fvc_pct`` from the FVC file, on its own days where
        needed), no injections, ``patients`` (``onset_day``, ``diagnosis_day``,
        ``site_of_onset``, ``death_day``), the ledger with one line per file and the
        exclusions of every file.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> pd.DataFrame({"subject_id": [1, 1, 2, 2], "ALSFRS_Delta": [0, 60, 0, 60],
    ...               "ALSFRS_R_Total": [40, 38, 44, 43]}).to_csv(d / "alsfrs.csv", index=False)
    >>> pd.DataFrame({"subject_id": [1, 1, 2], "Onset_Delta": ["", -300, -200]}).to_csv(
    ...     d / "AlsHistory.csv", index=False)
    >>> pd.DataFrame({"subject_id": [1, 2], "Study_Arm": ["Placebo", "Active"]}).to_csv(
    ...     d / "Treatment.csv", index=False)
    >>> s = read_proact(d)
    >>> s.visits.patient_id.unique().tolist(), s.patients.onset_day.tolist()
    (['1'], [-300.0])
    >>> s.ledger.values.tolist()
    [['visits', 4, 2, 2], ['history', 3, 1, 2], ['treatment', 2, 2, 0]]
    """
    from .loading import read_table
    from .outcome_tables import add_outcome_table, read_outcome_table
    from .validation import validate_study

    files = proact_files(sources)
    warnings: list[str] = []
    treated: set = set()
    extra_ex: list[pd.DataFrame] = []
    treatment = None
    if "treatment" in files:
        treatment = RowLedger("treatment", read_table(files["treatment"], "patients"))
        treated, n_placebo = _treated_ids(treatment)
        warnings.append(
            f"{treatment.source}: {len(treated)} patient(s) treated in their trial left out; "
            f"{n_placebo} placebo; patients without a known arm are kept"
        )
    raw_v = read_table(files["visits"], "visits")
    vlabel = raw_v.attrs.get("source", files["visits"].name)
    raw_v, ex_v = _remove_treated(raw_v, treated, vlabel, "visits")
    study = validate_study({"visits": raw_v}, {"visits": vlabel}, date_format)
    ledger = study.ledger.copy()
    n_out = len(ex_v)
    ledger.loc[ledger.table == "visits", ["rows_read", "rows_excluded"]] += n_out
    extra_ex.append(ex_v)
    cohort = set(study.visits["patient_id"])
    patients = study.patients.copy()
    extra_ledger = []
    if "history" in files:
        t = RowLedger("history", read_table(files["history"], "patients"))
        hist = _history(t, cohort, treated)
        for col in ("onset_day", "diagnosis_day", "site_of_onset"):
            patients[col] = (
                patients["patient_id"]
                .map(hist[col])
                .to_numpy(dtype=object if col == "site_of_onset" else float)
            )
        extra_ledger.append(t.counts())
        extra_ex.append(t.frame())
    if "deaths" in files:
        t = RowLedger("deaths", read_table(files["deaths"], "patients"))
        death = _deaths(t, cohort, treated)
        patients["death_day"] = patients["patient_id"].map(death).to_numpy(dtype=float)
        extra_ledger.append(t.counts())
        extra_ex.append(t.frame())
    if treatment is not None:
        extra_ledger.append(treatment.counts())
        extra_ex.append(treatment.frame())
    ledger = pd.concat(
        [ledger, pd.DataFrame(extra_ledger, columns=list(LEDGER_COLUMNS))], ignore_index=True
    )
    frames = [f for f in (study.exclusions, *extra_ex) if len(f)]
    exclusions = pd.concat(frames, ignore_index=True) if frames else study.exclusions
    sources_ = {**study.sources, **{r: p.name for r, p in files.items()}}
    study = replace(
        study,
        patients=patients,
        ledger=ledger,
        exclusions=exclusions,
        sources=sources_,
        warnings=[*study.warnings, *warnings],
    )
    if "fvc" in files:
        raw_f = read_outcome_table(files["fvc"], "fvc_pct")
        flabel = raw_f.attrs.get("source", files["fvc"].name)
        raw_f, ex_f = _remove_treated(raw_f, treated, flabel, "fvc_pct")
        raw_f.attrs["source"] = flabel
        study = add_outcome_table(study, raw_f, "fvc_pct", date_format=date_format)
        led = study.ledger.copy()
        led.loc[led.table == "fvc_pct", ["rows_read", "rows_excluded"]] += len(ex_f)
        exc = pd.concat([study.exclusions, ex_f], ignore_index=True) if len(ex_f) else None
        study = replace(study, ledger=led, exclusions=study.exclusions if exc is None else exc)
    return study
