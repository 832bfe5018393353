"""The analysis: from a validated study and settings to every result table (SPEC §2–9).

:func:`analyze` is the one entry point the widgets, the command line and the templates
call. :func:`reclassify` is the fast path for responder-threshold changes.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from .columns import OUTCOME_LABELS, OUTCOME_MAX, OUTCOMES, SUMMARY_COLUMNS
from .progression import Cohort
from .responders import classify, flag_responders
from .schedule import edited_patients, interval_table
from .settings import Settings
from .study import StudyData
from .summary import (
    clinical_improvement,
    clinical_summary,
    interval_correlation,
    not_evaluable_table,
    period_order,
    period_statistics,
    responder_sentence,
    summarize,
)

if TYPE_CHECKING:
    from .matched_controls import MatchedControls
    from .safety import SafetyResult
    from .slopes import SlopesResult

__all__ = [
    "AnalysisResult",
    "analyze",
    "reclassify",
    "update",
    "update_kind",
    "INCREMENTAL_MAX_SHARE",
    "THRESHOLD_SETTINGS",
    "outcome_summaries",
    "DEFAULT_OUTCOMES",
    "NO_EFFECT_RENAMES",
    "outcome_line",
    "outcome_lines",
    "outcome_view",
    "OUTCOME_VIEW_COLUMNS",
    "OUTCOME_NOTE",
]


@dataclass
class AnalysisResult:
    """Everything the kit reports for one study, outcome and set of settings.

    Attributes
    ----------
    periods : pandas.DataFrame
        Per patient and period (SPEC §11): ``patient_id``, ``period``, ``start_day``,
        ``end_day`` (days from the first injection), ``start_score``, ``end_score``,
        ``months``, ``rate`` (points lost per month; positive = decline),
        ``reference_rate``, ``improvement_pct`` (%), ``responder``, ``absolute_change``
        (points/month), ``absolute_responder``, ``evaluable``, ``reason``,
        ``small_reference`` (reference rate below 0.3 points/month, SPEC §7).
    summary : pandas.DataFrame
        Per period (SPEC §7, §11): :data:`msc_notebooks.columns.SUMMARY_COLUMNS`
        (see :func:`msc_notebooks.summary.period_statistics` for the patients left out,
        the intervals, the ratio of mean rates and the Wilcoxon method).
    clinical : pandas.DataFrame
        Clinically improved after each cycle (SPEC §6): ``cycle``, ``n_evaluable``,
        ``n_improved``, ``improved_change_min``, ``improved_change_max``, ``change_min``,
        ``change_max`` (points).
    clinical_patients : pandas.DataFrame
        Per patient and cycle: ``patient_id``, ``cycle``, ``period``, ``change`` (points),
        ``improved``, ``reason``.
    intervals : pandas.DataFrame
        Spearman correlation of interval length with improvement (SPEC §8): ``scope``,
        ``rho``, ``p``, ``n``, ``n_patients``, ``method``.
    interval_lengths : pandas.DataFrame
        Per patient and interval: ``patient_id``, ``interval``, ``start_day``, ``end_day``,
        ``days``, ``months``.
    safety : SafetyResult or None
        Adverse events (SPEC §9), when an adverse-event table was given.
    null : pandas.DataFrame or None
        Responders expected with no treatment effect (SPEC §13), when simulated.
    slopes : method
        ``result.slopes(outcome=None)``: the broken-stick mixed model (SPEC §14), fitted on
        first call and cached (``slopes.csv``; see :mod:`msc_notebooks.slopes`).
    matched : MatchedControls or None
        The comparison with matched natural-history controls (SPEC §15), when attached
        with :func:`msc_notebooks.matched_controls.attach_matched`.
    outcomes : pandas.DataFrame or None
        Every outcome's summary beside its no-effect expectation
        (:func:`outcome_summaries`), when asked for (``--outcomes``).
    settings : Settings
        The settings used (they travel with the result).
    study : StudyData
        The study analysed.
    rates : pandas.DataFrame
        The rate table before classification (for :func:`reclassify` and the null model);
        after :func:`analyze` its columns are the same arrays as those of ``periods``
        (copy-on-write), not copies; after an incremental :func:`update`, equal values.
    """

    periods: pd.DataFrame
    summary: pd.DataFrame
    clinical: pd.DataFrame
    clinical_patients: pd.DataFrame
    intervals: pd.DataFrame
    interval_lengths: pd.DataFrame
    settings: Settings
    study: StudyData
    rates: pd.DataFrame = field(repr=False)
    statistics: pd.DataFrame = field(repr=False)
    safety: SafetyResult | None = None
    null: pd.DataFrame | None = None
    matched: MatchedControls | None = None
    outcomes: pd.DataFrame | None = None
    _slopes: dict = field(default_factory=dict, repr=False, compare=False)

    def slopes(self, outcome: str | None = None, method: str = "auto") -> SlopesResult:
        """The broken-stick mixed model of SPEC §14, fitted on first use and then cached.

        Not part of :func:`analyze` (a mixed-model fit takes longer than the rest of the
        analysis); :func:`msc_notebooks.slopes.fit_slopes` documents the parameters.

        Examples
        --------
        >>> from msc_notebooks import analyze, load_demo
        >>> r = analyze(load_demo())
        >>> r.slopes().table.term.iloc[0], r.slopes() is r.slopes()
        ('slope:reference', True)
        """
        from .slopes import fit_slopes

        key = (outcome or self.settings.outcome, method)
        if key not in self._slopes:
            self._slopes[key] = fit_slopes(self, outcome=key[0], method=method)
        return self._slopes[key]

    @property
    def fitted_slopes(self) -> SlopesResult | None:
        """The model of :meth:`slopes` for the settings' outcome if already fitted, else None.

        The faces that write files (``write_results``) use it so that writing never starts
        a model fit; ``run_analysis`` (the command line) and the report fit it first.

        Examples
        --------
        >>> from msc_notebooks import analyze, load_demo
        >>> r = analyze(load_demo())
        >>> r.fitted_slopes is None, r.slopes() is r.fitted_slopes
        (True, True)
        """
        return self._slopes.get((self.settings.outcome, "auto"))

    def responders(self, period: str) -> str:
        """Responders of one period as ``"n/N"``.

        Examples
        --------
        >>> from msc_notebooks import analyze, load_demo
        >>> analyze(load_demo()).responders("1-2")
        '15/19'
        """
        row = self.summary[self.summary["period"] == period]
        if row.empty:
            return "0/0"
        return f"{int(row.n_responders.iloc[0])}/{int(row.n_evaluable.iloc[0])}"

    def responder_sentence(self, period: str) -> str:
        """Responders of one period with the patients left out and why (SPEC §7).

        Examples
        --------
        >>> from msc_notebooks import analyze, load_demo
        >>> analyze(load_demo()).responder_sentence("1-2")
        '15/19 evaluable responders; all 19 treated evaluable'
        """
        row = self.summary[self.summary["period"] == period]
        if row.empty:
            return f"no patient reached period {period}"
        return responder_sentence(row.iloc[0])

    @property
    def not_evaluable(self) -> pd.DataFrame:
        """Patients not evaluable per period and reason: ``period``, ``reason``, ``n`` (SPEC §7).

        Examples
        --------
        >>> from msc_notebooks import analyze, load_demo
        >>> analyze(load_demo()).not_evaluable.columns.tolist()
        ['period', 'reason', 'n']
        """
        return not_evaluable_table(self.periods)

    @property
    def excluded_patients(self) -> pd.DataFrame:
        """Patients with no injection (withdrawn before treatment): ``patient_id``, ``reason``."""
        treated = set(self.study.injections["patient_id"])
        pats = self.study.patients
        rest = pats[~pats["patient_id"].isin(treated)]
        reason = [
            "withdrawn before the first injection" if w else "no injection recorded"
            for w in rest.get("withdrawn", pd.Series(False, index=rest.index)).fillna(False)
        ]
        return pd.DataFrame({"patient_id": rest["patient_id"].tolist(), "reason": reason})


def analyze(
    study: StudyData,
    settings: Settings | None = None,
    *,
    safety: bool = True,
    **overrides: Any,
) -> AnalysisResult:
    """Analyse a study: periods, rates, improvement, responders, summaries, safety.

    Parameters
    ----------
    study : StudyData
        From :func:`msc_notebooks.read_study` or :func:`msc_notebooks.load_demo`.
    settings : Settings, optional
        Defaults of SPEC.md when omitted.
    safety : bool, default True
        Also analyse adverse events (when the study has them).
    **overrides
        Settings to change, e.g. ``threshold_pct=30`` or ``outcome="fvc_pct"``.

    Returns
    -------
    AnalysisResult
        See :class:`AnalysisResult` for every table and column.

    Examples
    --------
    >>> from msc_notebooks import load_demo
    >>> result = analyze(load_demo())
    >>> result.summary.set_index("period").loc[["1-2", "2-3", "3-4", "whole"], "n_responders"].tolist()
    [15, 11, 8, 13]
    >>> analyze(load_demo(), outcome="fvc_pct").settings.outcome
    'fvc_pct'
    """
    s = settings or Settings()
    if overrides:
        s = s.replace(**overrides)
    return _with_cohort_tables(study, s, *_patient_tables(study, s), safety=safety)


def _patient_tables(
    study: StudyData, s: Settings
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The per-patient tables of :func:`analyze`: ``rates``, ``periods``,
    ``clinical_patients``, ``interval_lengths``, each sorted by patient id. A patient's rows
    depend on that patient's assessments, injections and onset only (what :func:`update`
    relies on to re-analyse a few patients)."""
    # the patients as integer codes, the outcome's assessments and the injections, sorted
    # once: the period table is computed on these, and the ids are put back in it
    rates = Cohort.from_tables(
        study.visits, study.injections, study.patients, s.outcome
    ).period_table(s)
    return (
        rates,
        classify(rates, s),
        clinical_improvement(rates, s),
        interval_table(study.injections, s.month_days),
    )


def _with_cohort_tables(
    study: StudyData,
    s: Settings,
    rates: pd.DataFrame,
    periods: pd.DataFrame,
    clinical_patients: pd.DataFrame,
    lengths: pd.DataFrame,
    *,
    safety: bool,
    statistics: pd.DataFrame | None = None,
) -> AnalysisResult:
    """The result: the cohort tables (summary, clinical, intervals, safety) computed from
    the per-patient tables of :func:`_patient_tables` (``statistics`` when known)."""
    if statistics is None:
        statistics = period_statistics(periods, s)
    safety_result = None
    if safety and study.adverse_events is not None:
        from .safety import analyze_safety

        safety_result = analyze_safety(study, s)
    return AnalysisResult(
        periods=periods,
        summary=summarize(periods, s, statistics),
        clinical=clinical_summary(clinical_patients),
        clinical_patients=clinical_patients,
        intervals=interval_correlation(
            periods, lengths, n_permutations=int(s.bootstrap_samples), seed=int(s.seed)
        ),
        interval_lengths=lengths,
        settings=s,
        study=study,
        rates=rates,
        statistics=statistics,
        safety=safety_result,
    )


#: Settings that change only the responder flags and counts.
THRESHOLD_SETTINGS = frozenset({"threshold_pct", "inclusive", "absolute_threshold"})


def reclassify(
    result: AnalysisResult, settings: Settings | None = None, **overrides: Any
) -> AnalysisResult:
    """Re-apply responder thresholds without recomputing any rate (the widgets' fast path).

    When a setting other than ``threshold_pct``, ``inclusive`` or ``absolute_threshold``
    differs, this falls back to a full :func:`analyze`.

    Parameters
    ----------
    result : AnalysisResult
        A previous result.
    settings : Settings, optional
        The new settings (default: the result's).
    **overrides
        Settings to change.

    Returns
    -------
    AnalysisResult

    Examples
    --------
    >>> from msc_notebooks import analyze, load_demo
    >>> r = analyze(load_demo())
    >>> reclassify(r, threshold_pct=1000).responders("1-2")
    '0/19'
    """
    s = (settings or result.settings).replace(**overrides)
    if update_kind(result, s) == "analyze":
        return analyze(result.study, s, safety=result.safety is not None)
    periods = flag_responders(result.periods, s)
    return dataclasses.replace(
        result,
        periods=periods,
        summary=summarize(periods, s, result.statistics),
        settings=s,
        null=None,
        matched=None,  # its responders depend on the thresholds: attach again
    )


def update_kind(
    result: AnalysisResult | None, settings: Settings, study: StudyData | None = None
) -> Literal["nothing", "reclassify", "patients", "analyze"]:
    """What bringing a result up to date with new settings (or a new study) takes.

    ``'nothing'`` when nothing changed; ``'reclassify'`` when only the responder
    thresholds changed (:data:`THRESHOLD_SETTINGS`: flags and counts are recomputed, no
    rate); ``'patients'`` when the new study is the result's with some patients' injections
    edited (:func:`msc_notebooks.schedule.edited_patients`: the visits, patients and
    adverse events are the same tables) and at most :data:`INCREMENTAL_MAX_SHARE` of the
    patients changed (only they are re-analysed, see :func:`update`; the thresholds may
    change too); ``'analyze'`` for anything else (another study, another rate setting).

    Parameters
    ----------
    result : AnalysisResult or None
        The current result (None: nothing analysed yet).
    settings : Settings
        The settings wanted.
    study : StudyData, optional
        The study wanted (default: the result's).

    Returns
    -------
    {'nothing', 'reclassify', 'patients', 'analyze'}

    Examples
    --------
    >>> from msc_notebooks import analyze, load_demo
    >>> from msc_notebooks.schedule import set_injections
    >>> r = analyze(load_demo())
    >>> [update_kind(r, r.settings.replace(**c)) for c in ({}, {"threshold_pct": 30},
    ...                                                     {"method": "ols"})]
    ['nothing', 'reclassify', 'analyze']
    >>> edited = set_injections(r.study, "001", [16962.0, 17100.0])
    >>> update_kind(r, r.settings, edited), update_kind(r, r.settings, load_demo())
    ('patients', 'analyze')
    """
    return _plan(result, settings, study)[0]


#: Above this share of the study's patients edited at once (e.g. a protocol applied to
#: everyone), :func:`update` analyses the whole study again instead of only them.
INCREMENTAL_MAX_SHARE = 0.5


def _plan(
    result: AnalysisResult | None, settings: Settings, study: StudyData | None
) -> tuple[str, frozenset | None]:
    """:func:`update_kind` and, for ``'patients'``, the ids of the patients to re-analyse."""
    if result is None:
        return "analyze", None
    old, new = result.settings.to_dict(), settings.to_dict()
    changed = {k for k in new if new[k] != old.get(k)}
    if not changed <= THRESHOLD_SETTINGS:
        return "analyze", None
    if study is None or study is result.study:
        return ("reclassify" if changed else "nothing"), None
    ids = edited_patients(result.study, study)
    if ids is None or len(ids) > INCREMENTAL_MAX_SHARE * max(len(study.patients), 1):
        return "analyze", None
    return "patients", ids


def update(
    result: AnalysisResult | None, settings: Settings, study: StudyData | None = None
) -> AnalysisResult:
    """Bring a result up to date with new settings (or a new study), doing only what is needed.

    The faces (the Wizard) call this and decide nothing themselves: see
    :func:`update_kind` for what is recomputed. After an injection edit (``'patients'``)
    only the edited patients are analysed again, by the per-patient part of
    :func:`analyze` (the same code) run on a study holding only them; their rows replace theirs in the
    per-patient tables (``periods``, ``rates``, ``clinical_patients``,
    ``interval_lengths``, patients kept in id order), and the cohort tables are recomputed
    from the spliced tables: ``summary``, ``clinical``, ``intervals`` in full, and
    ``statistics`` for the periods whose rows changed (a period's statistics depend on its
    own rows only: the others are kept). Safety is analysed again in full (it depends on
    every injection; about 0.4 s at 10,000 patients, see BENCHMARKS.md). The result equals
    a full :func:`analyze` of the new study, table by table (``tests/test_incremental.py``).
    The no-effect simulation, the matched controls, the outcome table and the fitted
    slopes are not carried over (they depend on every patient): attach them again.

    Parameters
    ----------
    result : AnalysisResult or None
        The current result (None: analyse ``study``).
    settings : Settings
        The settings wanted.
    study : StudyData, optional
        The study wanted (default: the result's; required when ``result`` is None).

    Returns
    -------
    AnalysisResult
        ``result`` itself when nothing changed.

    Examples
    --------
    >>> from msc_notebooks import analyze, load_demo
    >>> from msc_notebooks.schedule import set_injections
    >>> r = analyze(load_demo())
    >>> update(r, r.settings) is r, update(r, r.settings.replace(threshold_pct=1000)).responders("1-2")
    (True, '0/19')
    >>> edited = set_injections(r.study, "001", [16962.0, 17100.0])
    >>> new = update(r, r.settings, edited)
    >>> new.summary.equals(analyze(edited).summary)
    True
    """
    kind, ids = _plan(result, settings, study)
    if kind == "nothing":
        return result
    if kind == "reclassify":
        return reclassify(result, settings)
    if kind == "patients":
        return _reanalyse_patients(result, settings, study, ids)
    target = study if study is not None else result.study
    return analyze(target, settings, safety=result is None or result.safety is not None)


#: The columns of the period table that :func:`msc_notebooks.summary.period_statistics`
#: reads: a period whose edited rows agree on these keeps its statistics.
_STATISTICS_INPUTS = [
    "patient_id",
    "period",
    "evaluable",
    "improvement_pct",
    "reference_rate",
    "rate",
    "reason",
]


def _reanalyse_patients(
    result: AnalysisResult, settings: Settings, study: StudyData, ids: frozenset
) -> AnalysisResult:
    """:func:`update` after the injections of the patients ``ids`` were edited."""
    if not ids:  # another study object, the same injections: every table stands
        kept = reclassify(result, settings) if settings != result.settings else result
        return dataclasses.replace(kept, study=study)
    wanted = list(ids)

    def only(table: pd.DataFrame) -> pd.DataFrame:
        return table[table["patient_id"].isin(wanted).to_numpy()]

    sub = dataclasses.replace(
        study,
        visits=only(study.visits),
        injections=only(study.injections),
        patients=only(study.patients),
        adverse_events=None,
    )
    # the same engine as analyze, on the edited patients only; their rows replace theirs
    new_rates, new_periods, new_clinical, new_lengths = _patient_tables(sub, settings)
    at = _splice_order(result.periods["patient_id"], new_periods["patient_id"], wanted)
    rates = _splice(result.rates, new_rates, wanted, at)  # the same rows as periods
    periods = _splice(result.periods, new_periods, wanted, at)
    clinical_patients = _splice(result.clinical_patients, new_clinical, wanted)
    lengths = _splice(result.interval_lengths, new_lengths, wanted)
    if settings != result.settings:  # thresholds only (_plan): the kept rows' flags
        periods = flag_responders(periods, settings)
    return _with_cohort_tables(
        study,
        settings,
        rates,
        periods,
        clinical_patients,
        lengths,
        safety=result.safety is not None,
        statistics=_restate_statistics(result, periods, new_periods, wanted, settings),
    )


def _splice_order(
    old_ids: pd.Series, new_ids: pd.Series, wanted: list
) -> tuple[np.ndarray, np.ndarray | None]:
    """Rows of an old per-patient table to keep, and the order of (kept rows, new rows).

    Both tables are sorted by patient id (the engine's order) and the new rows are those
    of the patients ``wanted`` only: each new patient's block goes where its id sorts among
    the kept ids (``searchsorted``), kept and new rows each staying in their own order.
    The order is None when there are no new rows (the kept rows are already in order).
    """
    kept = np.flatnonzero(~old_ids.isin(wanted).to_numpy())
    if not len(new_ids):
        return kept, None
    kept_ids = old_ids.to_numpy()[kept]
    at = np.searchsorted(kept_ids, new_ids.to_numpy(), side="left")
    key = np.concatenate([2 * np.arange(len(kept)) + 1, 2 * at])  # a new block before row `at`
    return kept, np.argsort(key, kind="stable")


def _splice(
    old: pd.DataFrame,
    new: pd.DataFrame,
    wanted: list,
    at: tuple[np.ndarray, np.ndarray | None] | None = None,
) -> pd.DataFrame:
    """``old`` with the rows of the patients ``wanted`` replaced by ``new`` (all theirs),
    in patient id order; ``at`` is :func:`_splice_order` when already computed."""
    kept, order = (
        at if at is not None else _splice_order(old["patient_id"], new["patient_id"], wanted)
    )
    frames = [f for f in (old.take(kept), new) if len(f)]
    if not frames:
        return old.iloc[:0]
    table = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    if order is not None and len(frames) > 1:
        table = table.take(order)
    return table.reset_index(drop=True)


def _restate_statistics(
    result: AnalysisResult,
    periods: pd.DataFrame,
    new_rows: pd.DataFrame,
    wanted: list,
    settings: Settings,
) -> pd.DataFrame:
    """The period statistics of the spliced ``periods``: recomputed for the periods where
    the edited patients' rows changed (or appeared, or went), kept for the others."""
    cols = _STATISTICS_INPUTS
    before = result.periods.loc[result.periods["patient_id"].isin(wanted).to_numpy(), cols]
    after = new_rows[cols]
    changed = []
    for name in set(before["period"]) | set(after["period"]):
        a = before[before["period"] == name].reset_index(drop=True)
        b = after[after["period"] == name].reset_index(drop=True)
        if name != "reference" and not a.equals(b):
            changed.append(name)
    old = result.statistics
    kept = old[~old["period"].isin(changed).to_numpy()]
    if changed:
        fresh = period_statistics(periods[periods["period"].isin(changed).to_numpy()], settings)
        kept = pd.concat([kept, fresh], ignore_index=True) if len(kept) else fresh
    at = {name: i for i, name in enumerate(kept["period"])}
    return kept.take([at[name] for name in period_order(periods["period"])]).reset_index(drop=True)


#: Outcomes analysed by :func:`outcome_summaries` when present (SPEC §7: FVC first, then
#: the four ALSFRS-R domains).
DEFAULT_OUTCOMES = OUTCOMES


#: Columns of the no-effect table (SPEC §13) renamed in :func:`outcome_summaries`, where
#: they stand beside the Wilcoxon p of SPEC §7 and must not be mistaken for it.
NO_EFFECT_RENAMES = {
    "p_value": "no_effect_p_value",
    "p_value_absolute": "no_effect_p_value_absolute",
    "p_value_constant": "no_effect_p_value_constant",
}


def outcome_summaries(
    study: StudyData,
    settings: Settings | None = None,
    outcomes: tuple[str, ...] | list[str] | None = None,
    n_simulations: int = 0,
    *,
    seed: int | None = None,
    natural_history: Any = None,
) -> pd.DataFrame:
    """The per-period summary (SPEC §7) for several outcome columns, one block per outcome,
    each beside its own no-effect expectation (SPEC §13) when ``n_simulations`` > 0.

    Parameters
    ----------
    study : StudyData
        The study.
    settings : Settings, optional
        Settings shared by every outcome (``outcome`` is replaced for each).
    outcomes : sequence of str, optional
        Visit columns to analyse; by default those of ``DEFAULT_OUTCOMES`` that the
        visits table has with at least one value (with the ``onset`` reference, only the
        bounded ones: FVC has no maximum to start from).
    n_simulations : int, default 0
        Simulated no-effect cohorts per outcome (:func:`msc_notebooks.null_model.simulate_null`
        run on that outcome: its own noise sigma from its own run-in, its own range, 0-48
        or 0-12 in whole points for ALSFRS-R scores, continuous from 0 up for FVC unless
        its values are whole numbers); 0 = summaries only.
    seed : int, optional
        Seed of the simulations (default ``settings.seed``); the same for every outcome.
    natural_history : StudyData, optional
        An untreated cohort: each outcome's change of rate between periods is estimated
        there (:func:`msc_notebooks.null_model.estimate_rate_change`); an outcome it
        cannot be estimated for keeps the default and ``no_effect_note`` says why.

    Returns
    -------
    pandas.DataFrame
        ``outcome`` followed by the summary columns of SPEC §11 (denominators
        ``n_in_period``, ``n_evaluable``, ``n_not_evaluable``, ``not_evaluable_reasons``;
        median first; ``wilcoxon_method``; ``n_small_reference``). With simulations, the
        columns of :data:`msc_notebooks.null_model.NULL_COLUMNS` follow (not repeating
        ``period``, ``n_evaluable``, ``outcome`` and the observed counts, which are
        ``n_responders`` and ``n_absolute_responders``), their p-values renamed
        ``no_effect_p_value``, ``no_effect_p_value_absolute``, ``no_effect_p_value_constant``
        (the chance of at least the observed count with no treatment effect: not the
        Wilcoxon p), and ``no_effect_note`` (why an outcome has no expectation, else
        empty). The ``reference`` row has no expectation. Rates of each outcome are in
        that outcome's units per month (FVC: percentage points per month).

    Examples
    --------
    >>> from msc_notebooks import load_demo
    >>> t = outcome_summaries(load_demo(), outcomes=["alsfrs_r_total", "fvc_pct"])
    >>> t[t.period == "1-2"][["outcome", "n_evaluable"]].values.tolist()
    [['alsfrs_r_total', 19], ['fvc_pct', 19]]
    >>> t = outcome_summaries(load_demo(), outcomes=["fvc_pct", "bulbar"], n_simulations=50)
    >>> t[t.period == "1-2"][["outcome", "whole_points", "outcome_high"]].values.tolist()
    [['fvc_pct', False, inf], ['bulbar', True, 12.0]]
    """
    s = settings or Settings()
    visits = study.visits
    if outcomes is None:
        outcomes = [c for c in DEFAULT_OUTCOMES if c in visits and visits[c].notna().any()]
        if s.reference == "onset":  # the onset reference needs a bounded score (methods §4)
            outcomes = [c for c in outcomes if c in OUTCOME_MAX]
    blocks = []
    for outcome in outcomes:
        result = analyze(study, s.replace(outcome=outcome), safety=False)
        block = result.summary.assign(outcome=outcome)
        if n_simulations:
            block = block.merge(
                _outcome_no_effect(result, int(n_simulations), seed, natural_history),
                on="period",
                how="left",
            )
            block["no_effect_note"] = block["no_effect_note"].fillna("")
        blocks.append(block)
    if not blocks:
        return pd.DataFrame(columns=["outcome"])
    table = pd.concat(blocks, ignore_index=True)
    return table[["outcome", *[c for c in table.columns if c != "outcome"]]]


#: The columns every face shows of :func:`outcome_summaries`: the responders with their
#: denominators (SPEC §7) beside the no-effect expectation (SPEC §13); the CSV has all.
OUTCOME_VIEW_COLUMNS = (
    "outcome",
    *SUMMARY_COLUMNS[: SUMMARY_COLUMNS.index("n_responders") + 1],  # period ... n_responders
    "expected_low",
    "expected_high",
    "mean_simulated_evaluable",
    "no_effect_p_value",
    "expected_low_constant",
    "expected_high_constant",
    "median_improvement_pct",
    "wilcoxon_p",
    "wilcoxon_method",
    "n_small_reference",
    "sigma",
    "whole_points",
    "rate_change_source",
    "no_effect_note",
)

#: One sentence beside every face's outcome table (issue #21).
OUTCOME_NOTE = (
    "Each outcome's responders beside the count its own no-effect simulation expects "
    "(its own noise, range and rounding; SPEC §13). On a 0-12 domain most two-point rates "
    "over a few months are exactly 0, and a rate of 0 after any decline is a 100 % "
    "improvement: stable untreated patients count as responders, so read a domain's "
    "responders only against its expectation. The Wilcoxon p compares reference and period "
    "rates; it does not test the treatment (SPEC §7)."
)


def outcome_view(table: pd.DataFrame) -> pd.DataFrame:
    """The rows of :func:`outcome_summaries` the faces show (no ``reference`` row) with
    :data:`OUTCOME_VIEW_COLUMNS` (those present).

    Examples
    --------
    >>> from msc_notebooks import load_demo
    >>> v = outcome_view(outcome_summaries(load_demo(), outcomes=["bulbar"], n_simulations=20))
    >>> list(v.columns[:6]), "reference" in set(v.period)
    (['outcome', 'period', 'n_in_period', 'n_evaluable', 'n_not_evaluable', 'not_evaluable_reasons'], False)
    """
    rows = table[table["period"] != "reference"]
    return rows[[c for c in OUTCOME_VIEW_COLUMNS if c in rows]].reset_index(drop=True)


def outcome_line(row: Any, *, with_note: bool = True) -> str:
    """One line per outcome and period: its responders with the patients left out (SPEC §7)
    beside the count expected with no treatment effect (SPEC §13), as the faces print it.

    Parameters
    ----------
    row : mapping or named tuple
        A row of :func:`outcome_summaries` (with or without the simulation columns).
    with_note : bool, default True
        End with the row's ``no_effect_note`` (:func:`outcome_lines` says it once per
        outcome instead).

    Returns
    -------
    str

    Examples
    --------
    >>> row = {"outcome": "bulbar", "period": "1-2", "n_responders": 3, "n_evaluable": 4,
    ...     "n_in_period": 6, "n_not_evaluable": 2,
    ...     "not_evaluable_reasons": "2 flat or rising reference", "expected_low": 1,
    ...     "expected_high": 4, "no_effect_p_value": 0.31, "expected_low_constant": 1,
    ...     "expected_high_constant": 4, "mean_simulated_evaluable": 4.6,
    ...     "no_effect_note": ""}
    >>> print(outcome_line(row))  # doctest: +NORMALIZE_WHITESPACE
    ALSFRS-R bulbar domain (points, 0–12), 1-2: 3/4 evaluable responders; 2 of 6 treated not
    evaluable (2 flat or rising reference); with no treatment effect 1–4 expected
    (of 4.6 evaluable on average in the simulated cohorts; p = 0.31; constant rate 1–4)
    """

    def get(name: str) -> Any:
        if isinstance(row, dict):
            return row.get(name)
        return getattr(row, name, None)

    outcome = str(get("outcome"))
    head = f"{OUTCOME_LABELS.get(outcome, outcome)}, {get('period')}: {responder_sentence(row)}"
    low = get("expected_low")
    note = get("no_effect_note")
    note = note if isinstance(note, str) and with_note else ""
    if low is None or pd.isna(low):
        return head + (f"; no no-effect expectation: {note}" if note else "")
    simulated = get("mean_simulated_evaluable")
    among = (
        ""
        if simulated is None or pd.isna(simulated)
        else f"of {float(simulated):.1f} evaluable on average in the simulated cohorts; "
    )
    return head + (
        f"; with no treatment effect {int(low)}–{int(get('expected_high'))} expected "
        f"({among}p = {float(get('no_effect_p_value')):.2g}; constant rate "
        f"{int(get('expected_low_constant'))}–{int(get('expected_high_constant'))})"
        + (f"; note: {note}" if note else "")
    )


def outcome_lines(table: pd.DataFrame) -> list[str]:
    """:func:`outcome_line` of every row, each outcome's ``no_effect_note`` said once, on a
    line of its own after its periods (the faces print these lines).

    Parameters
    ----------
    table : pandas.DataFrame
        :func:`outcome_summaries` or :func:`outcome_view` rows.

    Returns
    -------
    list of str

    Examples
    --------
    >>> rows = pd.DataFrame({"outcome": ["bulbar", "bulbar"], "period": ["1-2", "2-3"],
    ...     "n_responders": [3, 1], "n_evaluable": [4, 2], "n_in_period": [4, 2],
    ...     "n_not_evaluable": [0, 0], "not_evaluable_reasons": ["", ""],
    ...     "no_effect_note": ["sigma floored", "sigma floored"]})
    >>> for line in outcome_lines(rows):
    ...     print(line)  # doctest: +NORMALIZE_WHITESPACE
    ALSFRS-R bulbar domain (points, 0–12), 1-2: 3/4 evaluable responders; all 4 treated evaluable
    ALSFRS-R bulbar domain (points, 0–12), 2-3: 1/2 evaluable responders; all 2 treated evaluable
    ALSFRS-R bulbar domain (points, 0–12), note on the no-effect expectation: sigma floored
    """
    lines = []
    rows = list(table.itertuples(index=False))
    for i, row in enumerate(rows):
        lines.append(outcome_line(row, with_note=False))
        last_of_outcome = i + 1 == len(rows) or rows[i + 1].outcome != row.outcome
        note = getattr(row, "no_effect_note", None)
        if last_of_outcome and isinstance(note, str) and note:
            label = OUTCOME_LABELS.get(str(row.outcome), str(row.outcome))
            lines.append(f"{label}, note on the no-effect expectation: {note}")
    return lines


def _outcome_no_effect(
    result: AnalysisResult, n_simulations: int, seed: int | None, natural_history: Any
) -> pd.DataFrame:
    """The no-effect table of one outcome for :func:`outcome_summaries` (one row a period),
    or rows saying why there is none (e.g. no run-in to estimate its noise from)."""
    from .errors import InputError
    from .null_model import SIGMA_FLOOR_NOTE, simulate_null

    outcome = result.settings.outcome
    # ALSFRS-R scores are whole points by definition; other outcomes: as their values are
    whole = True if outcome in OUTCOME_MAX else None
    note = ""
    try:
        try:
            null = simulate_null(
                result,
                n_simulations,
                seed=seed,
                whole_points=whole,
                natural_history=natural_history,
            )
        except InputError as exc:
            if natural_history is None:
                raise
            note = f"natural history not used for this outcome: {exc}"
            null = simulate_null(result, n_simulations, seed=seed, whole_points=whole)
    except InputError as exc:
        return pd.DataFrame({"period": list(result.summary["period"]), "no_effect_note": str(exc)})
    if len(null) and SIGMA_FLOOR_NOTE in str(null["sigma_source"].iloc[0]):
        note = "; ".join(x for x in (note, f"sigma {SIGMA_FLOOR_NOTE}") if x)
    drop = ["n_evaluable", "outcome", "observed_responders", "observed_absolute_responders"]
    return null.drop(columns=drop).rename(columns=NO_EFFECT_RENAMES).assign(no_effect_note=note)
