"""The empirical no-effect responder rate: a natural-history cohort with virtual injections.

SPEC §13: given a cohort without treatment (the PRO-ACT ``alsfrs.csv`` layout or
canonical names), place virtual injections on each patient's timeline at the trial's own
schedule and apply the same rules. The responder rate there is what "responders" look
like with no treatment at all.

Virtual schedules
-----------------
- ``schedule_from`` (a trial's :class:`~msc_notebooks.analysis.AnalysisResult`): the
  treated patients' own schedules (days from their first injection) are cycled over the
  natural-history patients in id order (patient j gets treated patient j mod K's
  schedule). The first virtual injection lies at the patient's first assessment day plus
  the trial's median run-in (days from the first assessment to the first injection).
- ``protocol=(first_offset_days, interval_months, count)``: the first virtual injection
  at the first assessment day + ``first_offset_days``, then one every
  ``interval_months`` (days rounded to whole days, as
  :func:`msc_notebooks.schedule.protocol_schedule` does).

Virtual injections later than the patient's last assessment + ``window_days`` are dropped
(a patient who has left the study receives no more injections).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .columns import day_to_date, number_in_time_order
from .errors import InputError, SettingsError
from .schedule import protocol_schedule
from .settings import Settings
from .study import StudyData

if TYPE_CHECKING:
    from .analysis import AnalysisResult

__all__ = [
    "NATURAL_HISTORY_COLUMNS",
    "natural_history_responders",
    "natural_history_result",
    "read_natural_history",
    "virtual_injections",
]

#: Columns of :func:`natural_history_responders` (the ``trial_*`` ones only with ``schedule_from``).
NATURAL_HISTORY_COLUMNS = (
    "period",
    "n_evaluable",
    "n_responders",
    "responder_pct",
    "n_absolute_responders",
    "trial_n_evaluable",
    "trial_n_responders",
    "trial_responder_pct",
)


def read_natural_history(source: Any, *, date_format: str | None = None) -> StudyData:
    """Read an untreated cohort: one visits table, or the several files of a PRO-ACT export.

    Parameters
    ----------
    source : StudyData, pandas.DataFrame, path, list of paths or folder
        A study already read (returned as is); one visits table (canonical or PRO-ACT
        ``alsfrs.csv`` names) as a DataFrame or file; or several PRO-ACT files
        (``alsfrs.csv``, ``AlsHistory.csv``, ``Fvc.csv``, ``DeathData.csv``,
        ``Treatment.csv``) or the folder that holds them (:func:`msc_notebooks.proact.read_proact`).
    date_format : str, optional
        strftime format of calendar dates.

    Returns
    -------
    StudyData
        The cohort, without injections; every row of every file in the ledger and
        exclusions.

    Examples
    --------
    >>> v = pd.DataFrame({"subject_id": ["1", "1"], "ALSFRS_Delta": [0, 90],
    ...                   "ALSFRS_R_Total": [40, 37]})
    >>> read_natural_history(v).visits.alsfrs_r_total.tolist()
    [40.0, 37.0]
    """
    from pathlib import Path

    if isinstance(source, StudyData):
        return source
    if isinstance(source, pd.DataFrame):
        from .loading import read_study

        return read_study(source, injections=None, date_format=date_format)
    several = not isinstance(source, (str, Path))
    if several or Path(source).is_dir():
        from .proact import read_proact

        return read_proact(source, date_format=date_format)
    from .loading import read_study

    return read_study(source, injections=None, date_format=date_format)


def _study(visits: Any) -> StudyData:
    return read_natural_history(visits)


def virtual_injections(
    study: StudyData,
    schedule_from: AnalysisResult | None = None,
    *,
    protocol: tuple[float, float, int] | None = None,
    settings: Settings | None = None,
) -> pd.DataFrame:
    """Virtual injections on each natural-history patient's timeline (SPEC §13).

    Parameters
    ----------
    study : StudyData
        The natural-history cohort (its injection table is ignored).
    schedule_from : AnalysisResult, optional
        A trial whose schedules are cycled over the patients (module docstring).
    protocol : (float, float, int), optional
        ``(first_offset_days, interval_months, count)``: the first injection that many days
        after the patient's first assessment, then one every ``interval_months`` months.
    settings : Settings, optional
        ``month_days``, ``window_days`` and ``outcome`` (default: the trial's, or SPEC
        defaults).

    Returns
    -------
    pandas.DataFrame
        Canonical injections: ``patient_id``, ``day`` (days), ``date``,
        ``injection_number``, ``dose_million_cells`` (NaN), ``route`` (None), ``row``
        (``"virtual"``).

    Examples
    --------
    First assessment at day 10, first injection 90 days later, then every 3 months
    (91.3125 days, rounded to 91): days 100 and 191.

    >>> from msc_notebooks import read_study
    >>> v = pd.DataFrame({"subject_id": ["1"] * 3, "ALSFRS_Delta": [10, 100, 200],
    ...                   "ALSFRS_R_Total": [40, 38, 36]})
    >>> virtual_injections(read_study(v), protocol=(90, 3, 2)).day.tolist()
    [100.0, 191.0]
    """
    s = settings or (schedule_from.settings if schedule_from is not None else Settings())
    if (schedule_from is None) == (protocol is None):
        raise SettingsError(
            "give exactly one of schedule_from (a trial's AnalysisResult) or "
            "protocol=(first_offset_days, interval_months, count)"
        )
    v = study.visits[study.visits[s.outcome].notna()] if s.outcome in study.visits else None
    if v is None or v.empty:
        raise InputError(
            f"the natural-history visits have no '{s.outcome}' scores",
            source=study.sources.get("visits", "visits"),
            column=s.outcome,
            fix="check the column names (PRO-ACT ALSFRS_R_Total or canonical alsfrs_r_total)",
        )
    first = v.groupby("patient_id")["day"].min()
    last = v.groupby("patient_id")["day"].max()
    ids = first.index.to_numpy(dtype=object)

    if protocol is not None:
        offset, interval, count = protocol
        inj = protocol_schedule(
            ids,
            dict(zip(ids, first.to_numpy() + float(offset), strict=True)),
            float(interval),
            int(count),
            month_days=s.month_days,
            time_kind="day",
        )
        pid, day = inj["patient_id"].to_numpy(dtype=object), inj["day"].to_numpy(dtype=float)
    else:
        trial = schedule_from.study
        tinj = trial.injections.sort_values(["patient_id", "day"], kind="stable")
        t1 = tinj.groupby("patient_id")["day"].transform("min")
        offsets = (tinj["day"] - t1).to_numpy(dtype=float)
        tcode, tids = pd.factorize(tinj["patient_id"], sort=True)
        tvis = trial.visits[trial.visits[s.outcome].notna()]
        runin = (
            tinj.groupby("patient_id")["day"].min() - tvis.groupby("patient_id")["day"].min()
        ).dropna()
        if not len(tids) or runin.empty:
            raise InputError(
                "the trial given as schedule_from has no treated patient with assessments",
                source="schedule_from",
                fix="pass a trial result with injections, or use protocol=(...)",
            )
        runin_days = float(np.median(runin.to_numpy(dtype=float)))
        k = np.arange(len(ids)) % len(tids)  # natural-history patient j -> trial patient k
        # rows of the trial injections, per trial patient, expanded for each NH patient
        counts = np.bincount(tcode, minlength=len(tids))
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
        n = counts[k]
        rows = np.repeat(starts[k], n) + (np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n))
        pid = np.repeat(ids, n)
        day = np.repeat(first.to_numpy(dtype=float) + runin_days, n) + offsets[rows]

    keep = day <= pd.Series(pid).map(last).to_numpy(dtype=float) + float(s.window_days)
    pid, day = pid[keep], day[keep]
    out = pd.DataFrame({"patient_id": pid, "day": day})
    out["injection_number"] = number_in_time_order(pid)
    out["date"] = day_to_date(day).to_numpy() if study.time_kind == "date" else pd.NaT
    out["date"] = out["date"].astype("datetime64[ns]")
    out["dose_million_cells"] = np.nan
    out["route"] = None
    out["row"] = "virtual"
    return out[
        ["patient_id", "day", "date", "injection_number", "dose_million_cells", "route", "row"]
    ].reset_index(drop=True)


def natural_history_result(
    visits: Any,
    schedule_from: AnalysisResult | None = None,
    *,
    protocol: tuple[float, float, int] | None = None,
    settings: Settings | None = None,
) -> AnalysisResult:
    """Analyse a natural-history cohort with virtual injections (SPEC §13).

    Parameters
    ----------
    visits : path, pandas.DataFrame or StudyData
        The untreated cohort's assessments (PRO-ACT ``alsfrs.csv`` layout or canonical
        names), read with :func:`msc_notebooks.read_study` (no injections).
    schedule_from, protocol, settings
        See :func:`virtual_injections`. The settings default to the trial's.

    Returns
    -------
    AnalysisResult
        The full analysis of the cohort with its virtual injections.

    Examples
    --------
    >>> v = pd.DataFrame({"subject_id": ["1"] * 3, "ALSFRS_Delta": [0, 91, 182],
    ...                   "ALSFRS_R_Total": [40, 37, 35]})
    >>> natural_history_result(v, protocol=(91, 3, 2)).responders("1-2")
    '1/1'
    """
    from .analysis import analyze

    s = settings or (schedule_from.settings if schedule_from is not None else Settings())
    study = _study(visits)
    inj = virtual_injections(study, schedule_from, protocol=protocol, settings=s)
    return analyze(study.with_injections(inj), s, safety=False)


def natural_history_responders(
    visits: Any,
    schedule_from: AnalysisResult | None = None,
    *,
    protocol: tuple[float, float, int] | None = None,
    settings: Settings | None = None,
) -> pd.DataFrame:
    """Responders in an untreated cohort at the trial's schedule: the empirical no-effect rate.

    Parameters
    ----------
    visits : path, pandas.DataFrame or StudyData
        The natural-history assessments (PRO-ACT ``alsfrs.csv`` or canonical names).
    schedule_from : AnalysisResult, optional
        The trial: its schedules are cycled over the cohort, its settings used, and its
        responder figures put beside the cohort's.
    protocol : (float, float, int), optional
        ``(first_offset_days, interval_months, count)`` instead of a trial's schedules.
    settings : Settings, optional
        Default: the trial's, or the SPEC defaults.

    Returns
    -------
    pandas.DataFrame
        ``natural_history_summary``, one row per period except ``reference``
        (:data:`NATURAL_HISTORY_COLUMNS`): ``period``, ``n_evaluable``, ``n_responders``,
        ``responder_pct`` (%), ``n_absolute_responders``, and with ``schedule_from``
        ``trial_n_evaluable``, ``trial_n_responders``, ``trial_responder_pct`` (%).

    Examples
    --------
    Run-in 40 -> 37 over 3 months (1 point/month), then 37 -> 35 over the next 3 (2/3
    point/month, improvement 33 % > 25 %: a responder without any treatment).

    >>> v = pd.DataFrame({"subject_id": ["1"] * 3, "ALSFRS_Delta": [0, 91, 182],
    ...                   "ALSFRS_R_Total": [40, 37, 35]})
    >>> natural_history_responders(v, protocol=(91, 3, 2))[["period", "n_responders"]].values.tolist()
    [['1-2', 1], ['after-last', 0], ['whole', 1]]
    """
    res = natural_history_result(visits, schedule_from, protocol=protocol, settings=settings)
    summ = res.summary[res.summary["period"] != "reference"]
    out = summ[list(NATURAL_HISTORY_COLUMNS[:5])].reset_index(drop=True)
    if schedule_from is not None:
        trial = schedule_from.summary.set_index("period")
        out["trial_n_evaluable"] = out["period"].map(trial["n_evaluable"]).astype("Int64")
        out["trial_n_responders"] = out["period"].map(trial["n_responders"]).astype("Int64")
        out["trial_responder_pct"] = out["period"].map(trial["responder_pct"]).astype(float)
    return out
