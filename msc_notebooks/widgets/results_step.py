"""Step 4, Results: responders per period, the per-patient periods, clinical improvement,
intervals, model-based slopes, responders expected with no effect, and the figures."""

from __future__ import annotations

import html
from typing import Any

import ipywidgets as w

from ..analysis import OUTCOME_NOTE, outcome_summaries
from ..report import outcomes_html
from ..strata import stage_and_strata_tables
from ..summary import INTERVAL_P_TESTS, display_summary
from ..table_format import filter_sort
from .common import PagedTable, Step, note, show_figures, table_html
from .matched_panel import MatchedPanel
from .state import WizardState

__all__ = ["ResultsStep", "responder_sentence"]

_SAFETY_FIGURES = ("safety_by_term", "safety_by_injection")

#: ``analysis.update_kind`` answers for which a result has the study and rates of an
#: earlier one (only responder flags, counts and attached comparisons may differ); after
#: an injection edit (``'patients'``) or a new analysis everything is recomputed.
_SAME_RATES = ("nothing", "reclassify")

#: Rows per page of the per-patient table (about 17 page elements per row).
PERIODS_PAGE = 100
#: Rows per page of the patients left out for one period and reason.
NOT_EVALUABLE_PAGE = 50


def responder_sentence(summary: Any, settings: Any) -> str:
    """Return the responder counts per period, with the patients left out, one line each.

    The per-period wording is :func:`msc_notebooks.summary.responder_sentence` (SPEC §7),
    the same on every face.

    Parameters
    ----------
    summary : pandas.DataFrame
        ``AnalysisResult.summary`` (``period``, ``n_evaluable``, ``n_responders``,
        ``n_in_period``, ``n_not_evaluable``, ``not_evaluable_reasons``).
    settings : Settings
        The settings used (threshold and strict/inclusive).

    Examples
    --------
    >>> import pandas as pd
    >>> from msc_notebooks.settings import Settings
    >>> s = pd.DataFrame({"period": ["1-2", "whole"], "n_evaluable": [4, 0],
    ...     "n_responders": [4, 0], "n_in_period": [6, 6], "n_not_evaluable": [2, 6],
    ...     "not_evaluable_reasons": ["2 flat or rising reference", "6 one injection only"]})
    >>> print(responder_sentence(s, Settings()))
    Responders (improvement > 25%):
    1-2: 4/4 evaluable responders; 2 of 6 treated not evaluable (2 flat or rising reference)
    whole: 0/0 evaluable responders; 6 of 6 treated not evaluable (6 one injection only)
    """
    from ..summary import responder_sentence as sentence

    sign = ">=" if settings.inclusive else ">"
    lines = [
        f"{row.period}: {sentence(row)}"
        for row in summary.itertuples(index=False)
        if row.period != "reference"
    ]
    return "\n".join([f"Responders (improvement {sign} {settings.threshold_pct:g}%):", *lines])


class ResultsStep(Step):
    """The analysis result, kept up to date with the shared state.

    Attributes
    ----------
    responder_count : ipywidgets.HTML
        Responders per period (CSS class ``msc-responder-count``).
    summary_table, periods_table, clinical_table, intervals_table, null_table : HTML
    fit_slopes : ipywidgets.Checkbox
        Fit the broken-stick mixed model (SPEC §14) for each result (on by default; cached
        per result, so threshold changes do not refit). It is fitted last, after the
        counts, tables and figures are shown ("Fitting the mixed model..." meanwhile).
    slopes_sentence, slopes_table, slopes_patients : ipywidgets.HTML
        Its sentence, ``slopes.csv`` table and shrunken per-patient values (CSS classes
        ``msc-slopes-sentence``, ``msc-slopes-table``).
    stages_table, strata_table : HTML
        Stage progression per period and responders by ΔFS stratum (SPEC §16).
    outcomes_button, outcomes_table : ipywidgets.Button, HTML
        FVC and the four ALSFRS-R domains, each beside its own no-effect expectation
        (:func:`msc_notebooks.analysis.outcome_summaries` with ``null_n`` simulations per
        outcome; CSS class ``msc-outcomes-table``); computed on demand for the current result.
    period : ipywidgets.Dropdown
        Which period the per-patient table shows (``all`` for every row).
    periods_table : PagedTable
        The per-patient rows, :data:`PERIODS_PAGE` at a time (``value``: the page's HTML).
    not_evaluable_counts : ipywidgets.HTML
        Patients left out of the responder counts, per period and reason (CSS class
        ``msc-not-evaluable-counts``; :func:`msc_notebooks.charts.not_evaluable_counts`).
    not_evaluable_choice, not_evaluable_button : ipywidgets.Dropdown, Button
        A period and reason, and "show these patients": their rows are put in
        ``not_evaluable_rows`` (a :class:`PagedTable`) only when asked.
    filter, sort_by, descending : ipywidgets.Text, Dropdown, Checkbox
        The per-patient table keeps the rows containing ``filter`` and is sorted by
        ``sort_by`` (values, not text; :func:`msc_notebooks.table_format.filter_sort`).
    show_figures : ipywidgets.Checkbox
        Draw the figures (Altair). At a change only the figures whose picture changed are
        sent again, each into its own chart widget (:func:`.common.show_figures`); after
        a threshold change only :data:`msc_notebooks.charts.RESPONDER_FIGURES` are even
        recomputed.
    matched : MatchedPanel
        Matched natural-history controls (SPEC §15).
    figures : ipywidgets.Output
        The figures of :func:`msc_notebooks.charts.all_figures` (safety ones are in step 5).
    figure_names : list of str
        Names of the figures drawn.
    """

    title = "Results"

    def __init__(
        self, state: WizardState | None = None, *, figures: bool = True, **kwargs: Any
    ) -> None:
        super().__init__(state, **kwargs)
        self.responder_count = w.HTML("")
        self.responder_count.add_class("msc-responder-count")
        self.summary_table = w.HTML("")
        self.summary_table.add_class("msc-summary-table")
        self.period = w.Dropdown(options=["all"], value="all", description="period")
        self.filter = w.Text(
            value="", description="filter", placeholder="any text: id, reason, value"
        )
        self.sort_by = w.Dropdown(options=["(as analysed)"], description="sort by")
        self.descending = w.Checkbox(value=False, description="descending")
        self.periods_table = PagedTable(PERIODS_PAGE, css_class="msc-periods-table")
        self.not_evaluable_counts = w.HTML("")
        self.not_evaluable_counts.add_class("msc-not-evaluable-counts")
        self.not_evaluable_choice = w.Dropdown(
            options=[], description="rows of", layout=w.Layout(width="480px")
        )
        self.not_evaluable_button = w.Button(description="Show these patients")
        self.not_evaluable_button.on_click(self.guarded(lambda _: self._not_evaluable_rows()))
        self.not_evaluable_rows = PagedTable(NOT_EVALUABLE_PAGE, css_class="msc-not-evaluable-rows")
        self.clinical_table = w.HTML("")
        self.intervals_table = w.HTML("")
        self.null_table = w.HTML("")
        self.null_table.add_class("msc-null-table")
        self.stages_table = w.HTML("")
        self.stages_table.add_class("msc-stages-table")
        self.strata_table = w.HTML("")
        self.strata_table.add_class("msc-strata-table")
        self.null_n = w.BoundedIntText(
            value=2000, min=100, max=100_000, step=100, description="simulations"
        )
        self.null_button = w.Button(
            description="Simulate no-effect cohorts",
            tooltip="How many responders would a cohort with no treatment effect show? (methods §13)",
        )
        self.null_button.add_class("msc-null-simulate")
        self.null_button.on_click(self.guarded(lambda _: self._simulate()))
        self.outcomes_button = w.Button(
            description="Summarise every outcome",
            tooltip="FVC and the four ALSFRS-R domains, each beside its no-effect expectation",
        )
        self.outcomes_button.on_click(self.guarded(lambda _: self._outcomes(compute=True)))
        self.outcomes_table = w.HTML("")
        self.outcomes_table.add_class("msc-outcomes-table")
        self._outcomes_cache: tuple[Any, Any] | None = None
        self.matched = MatchedPanel(self.state)
        self.fit_slopes = w.Checkbox(value=True, description="fit the mixed model")
        self.fit_slopes.observe(self.guarded(lambda _: self._slopes()), names="value")
        self.slopes_sentence = w.HTML("")
        self.slopes_sentence.add_class("msc-slopes-sentence")
        self.slopes_table = w.HTML("")
        self.slopes_table.add_class("msc-slopes-table")
        self.slopes_patients = w.HTML("")
        self._add_figure_area(figures)
        for control in (self.period, self.filter, self.sort_by, self.descending):
            control.observe(self.guarded(lambda _: self._periods()), names="value")
        self.children = [
            w.HTML("<h3>4. Results</h3>"),
            self.message,
            self.responder_count,
            w.HTML("<b>Per period</b>"),
            self.summary_table,
            w.HTML("<b>Per patient</b>"),
            w.HBox([self.period, self.filter]),
            w.HBox([self.sort_by, self.descending]),
            self.periods_table,
            w.HTML("<b>Left out of the responder counts: patients per period and reason</b>"),
            self.not_evaluable_counts,
            w.HBox([self.not_evaluable_choice, self.not_evaluable_button]),
            self.not_evaluable_rows,
            w.HTML("<b>Clinically improved after each cycle</b>"),
            self.clinical_table,
            w.HTML("<b>Interval length and improvement</b>"),
            self.intervals_table,
            w.HTML(note(INTERVAL_P_TESTS)),
            w.HTML("<b>Model-based slopes from every visit (broken-stick mixed model)</b>"),
            w.HTML(
                note(
                    "Declines per month (positive = losing function) before the first "
                    "injection and in each period, and the change at each injection "
                    "(negative = slower decline), with 95% CIs, from one model of every "
                    "assessment (methods §14). Per-patient values are shrunken estimates: "
                    "descriptive, never responders."
                )
            ),
            self.fit_slopes,
            self.slopes_sentence,
            self.slopes_table,
            self.slopes_patients,
            w.HTML("<b>Responders expected with no treatment effect</b>"),
            w.HTML(
                note(
                    "Two-point rates are noisy: some untreated patients also decline more "
                    "than 25% slower between two injections. Simulated cohorts with no "
                    "effect, at the patients' own visit and injection times, show how many."
                )
            ),
            w.HBox([self.null_n, self.null_button]),
            self.null_table,
            w.HTML("<b>Every outcome beside its no-effect expectation</b>"),
            w.HTML(note(OUTCOME_NOTE)),
            self.outcomes_button,
            self.outcomes_table,
            self.matched,
            w.HTML("<b>Clinical stages: patients whose stage progressed per period</b>"),
            w.HTML(
                note(
                    "King's and MiToS stages from the ALSFRS-R items at the start and end of "
                    "each period (figure 'stage_transitions' below); exact 95% CI."
                )
            ),
            self.stages_table,
            w.HTML("<b>Responders by progression stratum (ΔFS before treatment)</b>"),
            w.HTML(
                note(
                    "Slow progressors have small reference rates: a point or two makes their "
                    "improvement % large, so they look like responders even with no effect. "
                    "Compare each stratum with its no-effect expectation (filled once "
                    "no-effect cohorts are simulated)."
                )
            ),
            self.strata_table,
            self.show_figures,
            self.figures,
        ]
        self._figures_of: Any = None  # the result the figures shown were drawn from
        self._stages: tuple[Any, Any] | None = None  # (result, its StageResult)
        self.request_refresh()

    def refresh(self) -> None:
        """Show the current result (or why there is none)."""
        result = self.state.result
        if result is None:
            for box in (
                self.responder_count,
                self.summary_table,
                self.not_evaluable_counts,
                self.clinical_table,
                self.intervals_table,
                self.null_table,
                self.slopes_sentence,
                self.slopes_table,
                self.slopes_patients,
                self.stages_table,
                self.strata_table,
                self.outcomes_table,
            ):
                box.value = ""
            self.periods_table.show(None)
            self.not_evaluable_choice.options = []
            self.not_evaluable_rows.show(None)
            show_figures(self.figures, {})
            self.figure_names = []
            self._figures_of = None
            if self.state.analysis_error:
                self.show(f"Analysis failed: {self.state.analysis_error}", "error")
            else:
                self.show("Load data first (step 1).")
            return
        self.show("")
        lines = responder_sentence(result.summary, result.settings).split("\n")
        self.responder_count.value = (
            f'<div class="msc-responders"><b>{html.escape(lines[0])}</b><br>'
            + "<br>".join(html.escape(line) for line in lines[1:])
            + "</div>"
        )
        # the patients left out beside every count, the median first, and a Wilcoxon p
        # only beside the no-effect expectation (SPEC §7)
        self.summary_table.value = table_html(
            display_summary(result.summary, getattr(result, "null", None))
        )
        periods = ["all"] + [str(p) for p in result.summary["period"]]
        current = self.period.value
        self.period.options = periods
        self.period.value = current if current in periods else "all"
        self._periods()
        self._not_evaluable()
        self.clinical_table.value = table_html(getattr(result, "clinical", None))
        self.intervals_table.value = table_html(getattr(result, "intervals", None))
        null = getattr(result, "null", None)
        self.null_table.value = (
            _no_effect_html(null) + table_html(null)
            if null is not None
            else note("Not simulated yet: press 'Simulate no-effect cohorts'.")
        )
        if self.fit_slopes.value and getattr(result, "fitted_slopes", None) is None:
            # the model is fitted last (seconds for a few hundred patients): the counts,
            # tables and figures are on the page first
            self.slopes_sentence.value = note("Fitting the mixed model...")
            self.slopes_table.value = self.slopes_patients.value = ""
        self._outcomes()
        self._figures()  # before the slower tables: counts and figures first
        staged = stage_and_strata_tables(result, stages=self._stage_tables(result))
        self.stages_table.value = table_html(staged["stage_progression.csv"])
        self.strata_table.value = table_html(staged["strata_summary.csv"])
        self._slopes()

    def _stage_tables(self, result: Any) -> Any:
        """The clinical stages of ``result``, kept across threshold changes (stages do not
        depend on the responder thresholds: ``analysis.update_kind`` decides)."""
        from ..analysis import update_kind
        from ..stages import stage_tables

        cached = self._stages
        if (
            cached is not None
            and update_kind(cached[0], result.settings, result.study) in _SAME_RATES
        ):
            return cached[1]
        stages = stage_tables(result)
        self._stages = (result, stages)
        return stages

    def _slopes(self) -> None:
        """Show the broken-stick model of the current result (fitted once per result)."""
        result = self.state.result
        if result is None or not self.fit_slopes.value:
            self.slopes_sentence.value = self.slopes_table.value = self.slopes_patients.value = ""
            if result is not None:
                self.slopes_sentence.value = note("Not fitted (tick 'fit the mixed model').")
            return
        from ..errors import MscError

        try:
            slopes = result.slopes()
        except MscError as exc:
            self.slopes_sentence.value = note(f"Not fitted: {exc}", "error")
            self.slopes_table.value = self.slopes_patients.value = ""
            return
        self.slopes_sentence.value = f"<div>{html.escape(slopes.sentence)}</div>"
        self.slopes_table.value = table_html(slopes.table)
        self.slopes_patients.value = "<b>Per patient (shrunken, descriptive)</b>" + table_html(
            slopes.patients
        )

    def _outcomes(self, compute: bool = False) -> None:
        """Show every outcome of the current result beside its no-effect expectation
        (computed when asked, kept for that result)."""
        result = self.state.result
        if result is None:
            self.outcomes_table.value = ""
            return
        cached = self._outcomes_cache
        table = getattr(result, "outcomes", None)
        if table is None and cached is not None and cached[0] is result:
            table = cached[1]
        if table is None and compute:
            table = outcome_summaries(
                result.study, result.settings, n_simulations=int(self.null_n.value)
            )
            self._outcomes_cache = (result, table)
        if table is None:
            self.outcomes_table.value = note("Not computed yet: press 'Summarise every outcome'.")
            return
        self.outcomes_table.value = outcomes_html(table, table_html)

    def _simulate(self) -> None:
        """Attach a no-effect simulation of ``null_n`` cohorts to the result (SPEC §13)."""
        if self.state.result is None:
            self.show("Load data first (step 1).", "error")
            return
        self.state.null_simulations = int(self.null_n.value)
        if self.state.analysis_error:
            self.show(f"Simulation failed: {self.state.analysis_error}", "error")

    def _periods(self) -> None:
        result = self.state.result
        if result is None:
            return
        df = result.periods
        if self.period.value != "all":
            df = df[df["period"].astype(str) == self.period.value]
        columns = ["(as analysed)", *map(str, df.columns)]
        if list(self.sort_by.options) != columns:
            self.sort_by.options = columns  # same columns after a re-analysis: kept
        sort_by = None if self.sort_by.value == "(as analysed)" else self.sort_by.value
        df = filter_sort(df, self.filter.value, sort_by, ascending=not self.descending.value)
        self.periods_table.show(df)

    def _not_evaluable(self) -> None:
        """Counts of the patients left out, per period and reason; the rows on demand."""
        from ..charts import not_evaluable_counts, not_evaluable_rows

        result = self.state.result
        counts = not_evaluable_counts(not_evaluable_rows(result.periods), by_period=True)
        if counts.empty:
            self.not_evaluable_counts.value = note("Every patient-period is evaluable.")
        else:
            self.not_evaluable_counts.value = table_html(counts, max_rows=None)
        options = [
            (f"{row.period}: {row.reason} ({row.patients:,})", (row.period, row.reason))
            for row in counts.itertuples(index=False)
        ]
        current = self.not_evaluable_choice.value
        shown = self.not_evaluable_rows.frame is not None
        self.not_evaluable_choice.options = options
        values = [v for _, v in options]
        self.not_evaluable_choice.value = (
            current if current in values else (values[0] if values else None)
        )
        self.not_evaluable_button.disabled = not options
        if shown and current in values:
            self._not_evaluable_rows(keep_page=True)
        else:
            self.not_evaluable_rows.show(None)

    def _not_evaluable_rows(self, keep_page: bool = False) -> None:
        """Show the rows of the period and reason chosen (a page at a time)."""
        from ..charts import not_evaluable_rows

        result, choice = self.state.result, self.not_evaluable_choice.value
        if result is None or choice is None:
            self.not_evaluable_rows.show(None)
            return
        period, reason = choice
        rows = not_evaluable_rows(result.periods, period, reason)
        self.not_evaluable_rows.show(rows, keep_page=keep_page)

    def _figures(self) -> None:
        """Draw the figures of the current result, recomputing only what can have changed.

        After a threshold change (``analysis.update_kind`` between the result drawn and
        this one is ``'nothing'`` or ``'reclassify'``: the same study and rates) only :data:`~msc_notebooks.charts.RESPONDER_FIGURES`
        are computed; the others keep their picture. :func:`.common.show_figures` then
        sends only the figures whose picture changed.
        """
        result = self.state.result
        if result is None or not self.show_figures.value:
            show_figures(self.figures, {})
            self.figure_names = []
            self._figures_of = None
            return
        previous = self._figures_of
        if previous is result and self.figure_names:
            return
        from ..analysis import update_kind
        from ..charts import all_figures, responder_figure

        names = self.figure_names
        first = next((i for i, n in enumerate(names) if responder_figure(n)), None)
        if (
            previous is not None
            and first is not None
            and update_kind(previous, result.settings, result.study) in _SAME_RATES
        ):
            # the others drawn from the study and the rates: kept as shown (None)
            head = {n: None for n in names[:first] if not responder_figure(n)}
            tail = {n: None for n in names[first:] if not responder_figure(n)}
            new = all_figures(result, only=responder_figure)
            figures = {**head, **new, **tail}
        else:
            figures = all_figures(result)
        figures = {k: v for k, v in figures.items() if k not in _SAFETY_FIGURES}
        self.figure_names = show_figures(self.figures, figures)
        self._figures_of = result


def _no_effect_html(null) -> str:
    """One sentence per period: the no-effect expectation with its assumptions (SPEC §13)."""
    import html

    from ..null_model import no_effect_sentences

    items = "".join(f"<li>{html.escape(t)}</li>" for t in no_effect_sentences(null))
    return f"<ul class='msc-no-effect'>{items}</ul>"
