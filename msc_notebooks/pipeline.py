"""The batch job in one call: read files (or the demo), analyse, optionally simulate, write.

``msc-notebooks analyze`` is a thin face over :func:`run_analysis`; the parity test checks
that every option reaches it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import Fix, InputError, Option
from .settings import Settings

if TYPE_CHECKING:
    from .analysis import AnalysisResult

__all__ = ["run_analysis"]


def run_analysis(
    visits: str | Path | None = None,
    injections: str | Path | None = None,
    patients: str | Path | None = None,
    adverse_events: str | Path | None = None,
    *,
    demo: bool = False,
    settings: Settings | None = None,
    column_map: Mapping[str, str] | None = None,
    date_format: str | None = None,
    out: str | Path | None = None,
    figures: bool = False,
    excel: bool = False,
    report: bool = False,
    null_simulations: int = 0,
    sigma: float | None = None,
    null_model: Mapping[str, Any] | None = None,
    natural_history: str | Path | list[str | Path] | None = None,
    outcomes: bool = False,
    match_k: int = 5,
    caliper: float | None = 0.5,
    slopes: bool = True,
    outcome_tables: Mapping[str, str | Path] | None = None,
) -> AnalysisResult:
    """Read, validate, analyse and (optionally) write everything, as the command line does.

    Parameters
    ----------
    visits, injections, patients, adverse_events : path, optional
        The study's files (CSV, Excel, Parquet). ``visits`` is required unless ``demo``.
    demo : bool, default False
        Analyse the bundled (synthetic) demo cohort instead of files.
    settings : Settings, optional
        Analysis settings (SPEC defaults when omitted).
    column_map : mapping, optional
        ``{"their name": "canonical name"}`` applied to every table.
    date_format : str, optional
        strftime format of the date columns (e.g. ``"%d/%m/%Y"``).
    out : path, optional
        Folder to write the results into (see :func:`msc_notebooks.export.write_results`).
    figures, excel, report : bool
        Also write figures (SVG + PNG), ``results.xlsx``, ``report.html``.
    null_simulations : int, default 0
        Number of simulated no-effect cohorts (SPEC §13); 0 = none.
    sigma : float, optional
        Measurement noise (points) for the simulation; estimated from the run-in when None.
    null_model : mapping, optional
        Further keywords of :func:`msc_notebooks.null_model.null_parameters`
        (``rate_change_sd``, ``rate_change_diffusion``, ``rate_trend``, ...).
    natural_history : path, list of paths or folder, optional
        An untreated cohort (one visits file in canonical or PRO-ACT names, or several
        PRO-ACT files: ``alsfrs.csv``, ``AlsHistory.csv``, ``Fvc.csv``, ``DeathData.csv``,
        ``Treatment.csv``, or the folder holding them). Its responder rate under the
        trial's schedule is written to ``natural_history_summary.csv`` (SPEC §13), and the
        comparison with matched controls (SPEC §15) is attached as ``result.matched`` and
        written to ``matched_controls.csv`` and ``matching_balance.csv``; the no-effect
        simulation estimates its change of rate between periods there (SPEC §13).
    outcomes : bool, default False
        Also summarise FVC and the four ALSFRS-R domains (SPEC §7), each beside its own
        no-effect expectation (SPEC §13: ``null_simulations`` cohorts, 2000 when 0), into
        ``result.outcomes`` and ``outcomes_summary.csv``
        (:func:`msc_notebooks.analysis.outcome_summaries`).
    match_k : int, default 5
        Matched controls per treated patient (SPEC §15).
    caliper : float or None, default 0.5
        Largest standardised matching distance (SD units); None = no caliper.
    slopes : bool, default True
        Fit the broken-stick model (SPEC §14, :func:`msc_notebooks.slopes.fit_slopes`):
        ``slopes.csv`` and ``slopes_patients.csv``; with ``natural_history``, the same model
        on the untreated cohort with its virtual injections gives the no-effect change at
        each injection, ``natural_history_slopes.csv``. A cohort it cannot be fitted to
        gets a warning, not an error (the rest of the analysis stands).
    outcome_tables : mapping, optional
        ``{outcome column: file}``: outcomes measured on their own days (e.g. FVC), see
        :func:`msc_notebooks.read_study`.

    Returns
    -------
    AnalysisResult

    Examples
    --------
    >>> run_analysis(demo=True).responders("whole")
    '13/19'
    """
    from .analysis import analyze

    if demo:
        if visits is not None:
            raise InputError(
                "both the demo cohort and a visits file were given",
                fix=Fix("give ", Option("demo", True), " or a visits file, not both"),
            )
        from .demo import load_demo

        study = load_demo()
        if outcome_tables:
            from .outcome_tables import add_outcome_table, read_outcome_table

            for outcome, src in outcome_tables.items():
                raw = read_outcome_table(src, outcome, column_map=column_map)
                study = add_outcome_table(study, raw, outcome, date_format=date_format)
    else:
        if visits is None:
            raise InputError(
                "no visits file given",
                fix=Fix(
                    "give ",
                    Option("visits", "visits.csv"),
                    " (and ",
                    Option("injections", "injections.csv"),
                    "), or ",
                    Option("demo", True),
                    " for the demo cohort",
                ),
            )
        from .loading import read_study

        study = read_study(
            visits,
            injections,
            patients,
            adverse_events,
            column_map=dict(column_map) if column_map else None,
            date_format=date_format,
            outcome_tables=dict(outcome_tables) if outcome_tables else None,
        )
    if len(study.injections) == 0:
        raise InputError(
            "the study has no injections, so there is no treatment period to analyse",
            source=study.sources.get("injections"),
            fix=Fix("give the injections table: ", Option("injections", "injections.csv")),
        )
    result = analyze(study, settings or Settings())
    if result.periods.empty:
        raise InputError(
            "no patient has both assessments and injections: nothing to analyse",
            fix="check that the patient ids of the visits and injections tables match",
        )
    nh_study = None
    if natural_history is not None:
        from .natural_history import read_natural_history

        nh_study = read_natural_history(natural_history, date_format=date_format)
    if null_simulations:
        from .null_model import attach_null

        result = attach_null(
            result,
            int(null_simulations),
            sigma=sigma,
            natural_history=nh_study,
            **dict(null_model or {}),
        )
    if slopes:
        result_slopes = _fit_slopes_or_warn(result)
    nh = nh_slopes = None
    if nh_study is not None:
        from .matched_controls import attach_matched
        from .natural_history import natural_history_responders, natural_history_result

        nh = natural_history_responders(nh_study, schedule_from=result, settings=result.settings)
        if slopes and result_slopes is not None:  # the no-effect change at injection, §14
            nh_result = natural_history_result(nh_study, result, settings=result.settings)
            nh_slopes = _fit_slopes_or_warn(nh_result, "natural-history ")
        result = attach_matched(result, nh_study, k=match_k, caliper=caliper)
    if outcomes:
        from .analysis import outcome_summaries

        table = outcome_summaries(
            study,
            result.settings,
            n_simulations=null_simulations or 2000,
            natural_history=nh_study,
        )
        result = dataclasses.replace(result, outcomes=table)
    if out is not None:
        from .export import write_csv, write_results

        write_results(result, out, figures=figures, excel=excel, report=report)
        if nh is not None:
            write_csv(nh, Path(out) / "natural_history_summary.csv")
        if nh_slopes is not None:
            write_csv(nh_slopes.table, Path(out) / "natural_history_slopes.csv")
    return result


def _fit_slopes_or_warn(result: AnalysisResult, what: str = ""):
    """``result.slopes()``, or a warning (not an error) when the model cannot be fitted."""
    from .errors import MscError

    try:
        return result.slopes()
    except MscError as exc:
        import warnings

        warnings.warn(f"{what}model-based slopes not fitted: {exc}", stacklevel=3)
        return None
