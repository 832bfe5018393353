"""The Results step's panel for matched natural-history controls (SPEC §15)."""

from __future__ import annotations

import html
from typing import Any

import ipywidgets as w

from .common import Step, note, table_html
from .state import WizardState

__all__ = ["MatchedPanel"]


class MatchedPanel(Step):
    """Compare the treated patients with matched untreated patients of a natural history.

    Attributes
    ----------
    paths : ipywidgets.Text
        One visits file, several PRO-ACT files (comma-separated) or their folder (CSS
        class ``msc-matched-paths``).
    load_button : ipywidgets.Button
        Read the natural-history cohort (CSS class ``msc-matched-load``).
    synthetic_button : ipywidgets.Button
        Use a synthetic natural-history cohort instead (teaching; no real patient).
    k, caliper : ipywidgets widgets
        Controls per treated patient; largest standardised distance (0 = none) (CSS
        classes ``msc-matched-k``, ``msc-matched-caliper``).
    sentence : ipywidgets.HTML
        Who was matched and who not (CSS class ``msc-matched-sentence``).
    summary_table, balance_table, unmatched_table : ipywidgets.HTML
        ``matched_controls.csv`` (CSS class ``msc-matched-table``),
        ``matching_balance.csv``, the unmatched patients (``msc-matched-unmatched``).

    Examples
    --------
    >>> from msc_notebooks import load_demo, natural_history_cohort
    >>> state = WizardState(study=load_demo())
    >>> panel = MatchedPanel(state)
    >>> state.natural_history = natural_history_cohort(200, seed=1)
    >>> "treated patients matched" in panel.sentence.value
    True
    >>> panel.message.value, "msc-table" in panel.summary_table.value
    ('', True)
    """

    title = "Matched natural-history controls"

    def __init__(self, state: WizardState | None = None, **kwargs: Any) -> None:
        super().__init__(state, **kwargs)
        self.paths = w.Text(
            placeholder="alsfrs.csv, AlsHistory.csv, Fvc.csv, ... or their folder",
            description="natural history",
            style={"description_width": "initial"},
            layout=w.Layout(width="60%"),
        )
        self.paths.add_class("msc-matched-paths")
        self.load_button = w.Button(description="Read and compare")
        self.load_button.add_class("msc-matched-load")
        self.load_button.on_click(self.guarded(lambda _: self._load()))
        self.synthetic_button = w.Button(
            description="Synthetic cohort (teaching)",
            tooltip="A synthetic untreated cohort (msc_notebooks.synthetic): no real patient",
            layout=w.Layout(width="auto"),
        )
        self.synthetic_button.on_click(self.guarded(lambda _: self._synthetic()))
        self.k = w.BoundedIntText(value=self.state.match_k, min=1, max=50, description="k")
        self.caliper = w.BoundedFloatText(
            value=self.state.caliper, min=0, max=10, step=0.1, description="caliper (SD)"
        )
        self.k.add_class("msc-matched-k")
        self.caliper.add_class("msc-matched-caliper")
        self.k.observe(self.guarded(lambda c: setattr(self.state, "match_k", c.new)), "value")
        self.caliper.observe(
            self.guarded(lambda c: setattr(self.state, "caliper", float(c.new))), "value"
        )
        self.sentence = w.HTML("")
        self.sentence.add_class("msc-matched-sentence")
        self.summary_table = w.HTML("")
        self.summary_table.add_class("msc-matched-table")
        self.balance_table = w.HTML("")
        self.unmatched_table = w.HTML("")
        self.unmatched_table.add_class("msc-matched-unmatched")
        self.state.observe(self.guarded(lambda _: self.refresh()), names=["result"])
        self.children = [
            w.HTML("<b>Matched natural-history controls</b>"),
            w.HTML(
                note(
                    "Each treated patient is matched at the first injection to untreated "
                    "patients with a similar reference rate, score and time since onset; the "
                    "controls get virtual injections at the same intervals and the same "
                    "rules (methods §15)."
                )
            ),
            self.message,
            w.HBox([self.paths, self.load_button]),
            w.HBox([self.synthetic_button, self.k, self.caliper]),
            self.sentence,
            self.summary_table,
            w.HTML("<i>Balance of the matching variables (standardised mean differences)</i>"),
            self.balance_table,
            self.unmatched_table,
        ]
        self.refresh()

    def _load(self) -> None:
        from ..natural_history import read_natural_history

        text = self.paths.value.strip()
        if not text:
            self.show("Give the natural-history file(s) or their folder.", "error")
            return
        parts = [p.strip() for p in text.split(",") if p.strip()]
        study = read_natural_history(parts[0] if len(parts) == 1 else parts)
        self.state.natural_history = study
        self._after()

    def _synthetic(self) -> None:
        from ..synthetic import natural_history_cohort

        self.state.natural_history = natural_history_cohort(500, seed=1)
        self._after()

    def _after(self) -> None:
        if self.state.analysis_error:
            self.show(f"Comparison failed: {self.state.analysis_error}", "error")
        else:
            self.show("")

    def refresh(self) -> None:
        """Show the comparison of the current result, if any."""
        result = self.state.result
        matched = getattr(result, "matched", None) if result is not None else None
        if matched is None:
            self.sentence.value = note("No natural-history cohort given yet.")
            for box in (self.summary_table, self.balance_table, self.unmatched_table):
                box.value = ""
            return
        self.sentence.value = f"<div>{html.escape(matched.sentence())}</div>"
        self.summary_table.value = table_html(matched.summary)
        self.balance_table.value = table_html(matched.balance)
        self.unmatched_table.value = (
            "<div><i>Treated patients without a match (left out of both arms)</i></div>"
            + table_html(matched.unmatched)
            if len(matched.unmatched)
            else ""
        )
