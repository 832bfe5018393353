"""Progression strata by the pre-diagnosis slope ΔFS, and per-period summaries by stratum.

ΔFS = (48 - ALSFRS-R at the first assessment) / months from symptom onset to it
(Kimura et al. 2006); strata by the cut-offs of Labra et al. 2016: slow < 0.47,
intermediate 0.47-1.11, fast > 1.11 points/month (settings ``dfs_slow_below`` and
``dfs_fast_above``; SPEC §16). Slow progressors have small reference rates, so their
"improvement" percentages explode: responder figures are shown per stratum beside the
responders expected with no treatment effect in that stratum (SPEC §13).
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .settings import Settings
from .summary import period_order, responder_counts

if TYPE_CHECKING:
    from .analysis import AnalysisResult
    from .stages import StageResult
    from .study import StudyData

__all__ = [
    "stage_and_strata_tables",
    "STRATA",
    "STRATA_COLUMNS",
    "STRATA_SUMMARY_COLUMNS",
    "progression_strata",
    "strata_summary",
]

#: Stratum labels in order; ``unknown`` where ΔFS is missing.
STRATA = ("slow", "intermediate", "fast", "unknown")

#: Columns of :func:`progression_strata`.
STRATA_COLUMNS = (
    "patient_id",
    "onset_day",
    "first_day",
    "first_score",
    "months",
    "delta_fs",
    "stratum",
    "reason",
)

#: Columns of :func:`strata_summary`.
STRATA_SUMMARY_COLUMNS = (
    "period",
    "stratum",
    "n_patients",
    "n_in_period",
    "n_evaluable",
    "n_not_evaluable",
    "n_responders",
    "responder_pct",
    "responders",
    "median_improvement_pct",
    "n_small_reference",
    "expected_responders",
    "expected_low",
    "expected_high",
    "p_value",
)

#: Comparisons with a cut-off allow this much float error (as SPEC §6 does for thresholds).
_EPS = 1e-9
#: A reference rate below this makes a percentage explode (SPEC §7): counted per stratum.
_SMALL_REFERENCE = 0.3


def progression_strata(study: StudyData, settings: Settings | None = None) -> pd.DataFrame:
    """ΔFS and the progression stratum of every patient (SPEC §16).

    Parameters
    ----------
    study : StudyData
        Needs ``onset_day`` in the patients table; the first assessment is the patient's
        earliest visit with an ALSFRS-R total.
    settings : Settings, optional
        ``month_days``, ``dfs_slow_below``, ``dfs_fast_above``.

    Returns
    -------
    pandas.DataFrame
        One row per patient of the patients table: ``patient_id``, ``onset_day``,
        ``first_day`` (canonical days), ``first_score`` (points), ``months`` (onset to the
        first assessment), ``delta_fs`` (points/month; NaN where the months are unknown or
        <= 0), ``stratum`` (``slow``, ``intermediate``, ``fast``, ``unknown``), ``reason``
        (why ΔFS is missing; empty otherwise).

    Examples
    --------
    Patient 001 of the demo: onset 2013-10-14, first assessment 2016-01-08 (816 days =
    26.81 months) at 42 points: ΔFS = 6 / 26.81 = 0.224, slow.

    >>> from msc_notebooks import load_demo
    >>> t = progression_strata(load_demo()).set_index("patient_id")
    >>> round(float(t.loc["001", "delta_fs"]), 3), t.loc["001", "stratum"]
    (0.224, 'slow')
    """
    s = settings or Settings()
    v = study.visits
    v = v.loc[v["alsfrs_r_total"].notna(), ["patient_id", "day", "alsfrs_r_total"]]
    first = v.sort_values(["patient_id", "day"], kind="stable").drop_duplicates("patient_id")
    first = first.set_index("patient_id")
    pats = study.patients
    ids = pats["patient_id"]
    onset = (
        pd.to_numeric(pats["onset_day"], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        if "onset_day" in pats
        else np.full(len(pats), np.nan)
    )
    first_day = ids.map(first["day"]).to_numpy(dtype=float, na_value=np.nan)
    first_score = ids.map(first["alsfrs_r_total"]).to_numpy(dtype=float, na_value=np.nan)
    months = (first_day - onset) / float(s.month_days)
    ok = months > 0  # NaN compares False
    with np.errstate(invalid="ignore", divide="ignore"):
        dfs = np.where(ok, (48 - first_score) / months, np.nan)
    stratum = np.full(len(pats), "unknown", dtype=object)
    known = ~np.isnan(dfs)
    stratum[known] = "intermediate"
    stratum[known & (dfs < s.dfs_slow_below - _EPS)] = "slow"
    stratum[known & (dfs > s.dfs_fast_above + _EPS)] = "fast"
    reason = np.full(len(pats), "", dtype=object)
    reason[np.isnan(first_day)] = "no ALSFRS-R assessment"
    reason[(reason == "") & np.isnan(onset)] = "no symptom-onset date"
    reason[(reason == "") & ~ok] = "symptom onset is not before the first assessment"
    return pd.DataFrame(
        {
            "patient_id": ids.to_numpy(),
            "onset_day": onset,
            "first_day": first_day,
            "first_score": first_score,
            "months": months,
            "delta_fs": dfs,
            "stratum": stratum,
            "reason": reason,
        }
    )


def _subset(study: StudyData, ids: set) -> StudyData:
    def keep(t: pd.DataFrame | None) -> pd.DataFrame | None:
        return None if t is None else t[t["patient_id"].isin(ids)].reset_index(drop=True)

    return dataclasses.replace(
        study,
        visits=keep(study.visits),
        injections=keep(study.injections),
        patients=keep(study.patients),
        adverse_events=keep(study.adverse_events),
    )


def strata_summary(
    result: AnalysisResult,
    strata: pd.DataFrame | None = None,
    *,
    n_simulations: int = 0,
    sigma: float | None = None,
    **null_options: Any,
) -> pd.DataFrame:
    """Responders and median improvement per period and progression stratum (SPEC §16).

    Parameters
    ----------
    result : AnalysisResult
        From :func:`msc_notebooks.analyze`.
    strata : pandas.DataFrame, optional
        From :func:`progression_strata` (computed with the result's settings if omitted).
    n_simulations : int, default 0
        When positive, the responders expected with no treatment effect in each stratum
        (SPEC §13: :func:`msc_notebooks.null_model.simulate_null` on the stratum's
        patients, with their own reference rates) are added; otherwise those columns are
        empty.
    sigma : float, optional
        Measurement-noise SD (points) for the simulation; default: estimated once from the
        whole cohort's run-in (a stratum alone has few run-in fits).
    **null_options
        Passed to :func:`msc_notebooks.null_model.simulate_null` (``rate_change_sd``,
        ``rate_change_diffusion``, ``rate_trend``, ...): the same no-effect model as the
        whole cohort's.

    Returns
    -------
    pandas.DataFrame
        One row per period (reference excluded) and stratum with treated patients
        (:data:`STRATA_SUMMARY_COLUMNS`): ``period``, ``stratum``, ``n_patients`` (treated
        in the stratum), ``n_in_period``, ``n_evaluable``, ``n_not_evaluable``,
        ``n_responders``, ``responder_pct`` (of the evaluable), ``responders`` (text with
        the denominators), ``median_improvement_pct``, ``n_small_reference`` (evaluable
        patients whose reference rate is below 0.3 points/month), ``expected_responders``,
        ``expected_low``, ``expected_high`` (2.5-97.5 % of simulated no-effect counts),
        ``p_value`` (share of simulations reaching the observed count).

    Examples
    --------
    >>> from msc_notebooks import analyze, load_demo
    >>> t = strata_summary(analyze(load_demo()))
    >>> t[t.period == "1-2"].set_index("stratum").n_evaluable.to_dict()
    {'slow': 16, 'intermediate': 3}
    """
    s = result.settings
    if strata is None:
        strata = progression_strata(result.study, s)
    stratum_of = strata.drop_duplicates("patient_id").set_index("patient_id")["stratum"]
    periods = result.periods
    treated = periods[["patient_id"]].drop_duplicates()
    treated = treated.assign(stratum=treated["patient_id"].map(stratum_of).fillna("unknown"))
    if n_simulations and sigma is None:
        from .null_model import estimate_sigma

        sigma = estimate_sigma(result.study.visits, result.study.injections, s.outcome)[0]
    blocks = []
    for name in STRATA:
        ids = set(treated.loc[treated["stratum"] == name, "patient_id"])
        if not ids:
            continue
        sub = periods[periods["patient_id"].isin(ids)]
        # the counts of SPEC §6-7 (summary.responder_counts) and the median over the
        # evaluable patients; no bootstrap or test per stratum (speed at any size)
        counts = responder_counts(sub).set_index("period")
        rows = sub[sub["period"] != "reference"]
        in_period = rows.groupby("period", sort=False).size()
        ev = rows[rows["evaluable"].to_numpy(dtype=bool, na_value=False)]
        g = ev.groupby("period", sort=False)["improvement_pct"]
        small = ev[ev["reference_rate"] < _SMALL_REFERENCE].groupby("period").size()
        order = period_order(rows["period"])
        block = pd.DataFrame({"period": order, "stratum": name, "n_patients": len(ids)})
        block["n_in_period"] = in_period.reindex(order).fillna(0).astype(int).to_numpy()
        block["n_evaluable"] = g.size().reindex(order).fillna(0).astype(int).to_numpy()
        block["n_not_evaluable"] = block["n_in_period"] - block["n_evaluable"]
        block["n_responders"] = (
            counts["n_responders"].reindex(order).fillna(0).astype(int).to_numpy()
        )
        with np.errstate(invalid="ignore", divide="ignore"):
            block["responder_pct"] = np.where(
                block["n_evaluable"] > 0, 100 * block["n_responders"] / block["n_evaluable"], np.nan
            )
        block["responders"] = [
            f"{r}/{e} evaluable responders; {n - e} of {n} in the period not evaluable"
            for r, e, n in zip(
                block.n_responders, block.n_evaluable, block.n_in_period, strict=True
            )
        ]
        block["median_improvement_pct"] = g.median().reindex(order).to_numpy(dtype=float)
        block["n_small_reference"] = small.reindex(order).fillna(0).astype(int).to_numpy()
        for col in ("expected_responders", "expected_low", "expected_high", "p_value"):
            block[col] = np.nan
        if n_simulations:
            from .analysis import analyze
            from .null_model import simulate_null

            sub_result = analyze(_subset(result.study, ids), s, safety=False)
            null = simulate_null(sub_result, n_simulations, sigma=sigma, **null_options)
            null = null.set_index("period")
            for col in ("expected_responders", "expected_low", "expected_high", "p_value"):
                if col in null.columns:
                    block[col] = null[col].reindex(order).to_numpy(dtype=float)
        blocks.append(block)
    if not blocks:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in STRATA_SUMMARY_COLUMNS})
    return pd.concat(blocks, ignore_index=True)[list(STRATA_SUMMARY_COLUMNS)]


def stage_and_strata_tables(
    result: AnalysisResult, stages: StageResult | None = None
) -> dict[str, pd.DataFrame]:
    """The clinical-stage and progression-strata tables of a result, by file name (SPEC §16).

    ``stages.csv``, ``stage_injections.csv``, ``stage_periods.csv``,
    ``stage_transitions.csv``, ``stage_progression.csv`` (:class:`msc_notebooks.stages.
    StageResult`), ``strata.csv`` (:func:`progression_strata`) and
    ``strata_summary.csv`` (:func:`strata_summary`; with the no-effect
    expectation per stratum when the result carries a no-effect simulation: as many
    simulated cohorts, the same noise and rate-change parameters).

    Parameters
    ----------
    result : AnalysisResult
    stages : StageResult, optional
        :func:`msc_notebooks.stages.stage_tables` of this result, when already computed
        (the Wizard keeps it across threshold changes: stages depend on the study, the
        rates and the window, never on the responder thresholds).

    Examples
    --------
    >>> from msc_notebooks import analyze, load_demo
    >>> sorted(stage_and_strata_tables(analyze(load_demo())))[:3]
    ['stage_injections.csv', 'stage_periods.csv', 'stage_progression.csv']
    """
    from .stages import stage_tables

    tables = (stages if stages is not None else stage_tables(result)).tables()
    strata = progression_strata(result.study, result.settings)
    n_sim, model = 0, {}
    null = result.null
    if null is not None and "n_simulations" in null and len(null):
        # the whole cohort's no-effect model (noise and rate-change parameters) per stratum
        n_sim = int(null["n_simulations"].iloc[0])
        names = ("sigma", "rate_change_sd", "rate_change_diffusion", "rate_trend")
        model = {
            k: float(null[k].iloc[0]) for k in names if k in null and pd.notna(null[k].iloc[0])
        }
    tables["strata.csv"] = strata
    tables["strata_summary.csv"] = strata_summary(result, strata, n_simulations=n_sim, **model)
    return tables
