"""Step 5, Safety: adverse events per term and severity, per injection, serious events,
the summary sentence and the figures (SPEC §9)."""

from __future__ import annotations

import html
from typing import Any

import ipywidgets as w

from .common import Step, note, show_figures, table_html
from .state import WizardState

__all__ = ["SafetyStep"]


class SafetyStep(Step):
    """The safety analysis of the current result (``AnalysisResult.safety``).

    Attributes
    ----------
    sentence : ipywidgets.HTML
        The summary sentence (CSS class ``msc-safety-sentence``).
    tables : ipywidgets.HTML
        Every table of ``SafetyResult.tables()``.
    show_figures : ipywidgets.Checkbox
    figures : ipywidgets.Output
        ``safety_by_term`` and ``safety_by_injection`` (drawn when the step is shown; in
        the Wizard, when first opened).
    figure_names : list of str
    """

    title = "Safety"

    def __init__(
        self, state: WizardState | None = None, *, figures: bool = True, **kwargs: Any
    ) -> None:
        super().__init__(state, **kwargs)
        self.sentence = w.HTML("")
        self.sentence.add_class("msc-safety-sentence")
        self.tables = w.HTML("")
        self.tables.add_class("msc-safety-tables")
        self._add_figure_area(figures)
        self.children = [
            w.HTML("<h3>5. Safety</h3>"),
            self.message,
            self.sentence,
            self.tables,
            self.show_figures,
            self.figures,
        ]
        self._shown_safety: Any = None  # the SafetyResult shown (None: none)
        self.request_refresh()

    def refresh(self) -> None:
        """Show the safety part of the current result.

        A new result with the same safety analysis (a threshold change re-counts
        responders only) changes nothing here: the tables and figures stay as they are.
        """
        result = self.state.result
        safety = getattr(result, "safety", None) if result is not None else None
        if safety is not None and safety is self._shown_safety:
            return
        self._shown_safety = None
        self.sentence.value = ""
        self.tables.value = ""
        if safety is None:  # figures only for a safety analysis
            show_figures(self.figures, {})
            self.figure_names = []
        if result is None:
            if self.state.analysis_error:
                self.show(f"Analysis failed: {self.state.analysis_error}", "error")
            else:
                self.show("Load data first (step 1).")
            return
        safety = getattr(result, "safety", None)
        if safety is None:
            self.show("No adverse-event table was loaded: no safety analysis.")
            return
        self.show("")
        self.sentence.value = f"<p><b>{html.escape(str(safety.sentence))}</b></p>"
        parts = []
        tables = dict(safety.tables())
        incidence = getattr(safety, "incidence", None)
        if incidence is not None:
            tables["incidence"] = incidence
        for name, table in tables.items():
            title = name.removesuffix(".csv").replace("_", " ")
            parts.append(f"<h4>{html.escape(title)}</h4>")
            parts.append(table_html(table, max_rows=200) if len(table) else note("(none)"))
        self.tables.value = "".join(parts)
        self._figures()
        self._shown_safety = safety

    def _figures(self) -> None:
        result = self.state.result
        if result is None or getattr(result, "safety", None) is None or not self.show_figures.value:
            show_figures(self.figures, {})
            self.figure_names = []
            return
        from .. import charts

        figures = {
            "safety_by_term": charts.safety_by_term(result),
            "safety_by_injection": charts.safety_by_injection(result),
        }
        self.figure_names = show_figures(self.figures, figures)
