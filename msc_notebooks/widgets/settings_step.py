"""Step 3, Settings: every analysis setting with its default and a one-line explanation."""

from __future__ import annotations

import dataclasses
import html
from typing import Any

import ipywidgets as w

from ..columns import OUTCOMES, SETTING_CHOICES
from ..settings import SETTING_HELP, Settings
from .common import Step
from .state import WizardState

__all__ = ["SettingsStep"]

_LABELS = {
    "reference": "reference rate",
    "method": "rate method",
    "window_days": "window (days)",
    "min_span_days": "min span (days)",
    "threshold_pct": "threshold (%)",
    "inclusive": "inclusive (>=)",
    "absolute_threshold": "absolute (pts/month)",
    "month_days": "month (days)",
    "outcome": "outcome",
    "clinical_points": "clinical (points)",
    "bootstrap_samples": "bootstrap samples",
    "seed": "random seed",
    "ae_window_days": "AE window (days)",
}


def _make_control(name: str, default: Any) -> w.Widget:
    style = {"description_width": "150px"}
    label = _LABELS.get(name, name)
    if name == "threshold_pct":
        return w.FloatSlider(
            value=default,
            min=0,
            max=100,
            step=1,
            continuous_update=False,
            description=label,
            style=style,
            readout_format=".0f",
            layout=w.Layout(width="560px"),  # 0-100 % needs room to be set to the unit
        )
    if name in SETTING_CHOICES:
        return w.ToggleButtons(
            options=list(SETTING_CHOICES[name]), value=default, description=label, style=style
        )
    if name == "outcome":
        return w.Dropdown(options=list(OUTCOMES), value=default, description=label, style=style)
    if isinstance(default, bool):
        return w.Checkbox(value=default, description=label, indent=True, style=style)
    if isinstance(default, int):
        return w.BoundedIntText(value=default, min=0, max=10**9, description=label, style=style)
    return w.BoundedFloatText(
        value=float(default), min=0, max=1e6, step=0.25, description=label, style=style
    )


class SettingsStep(Step):
    """Every setting of :class:`~msc_notebooks.settings.Settings`, bound to the shared state.

    A change of threshold, inclusive or absolute threshold re-classifies the responders
    (fast); any other change re-runs the analysis (the data are not re-read).

    Attributes
    ----------
    controls : dict
        Setting name to its control (``threshold_pct`` is a FloatSlider with
        ``continuous_update=False`` and the CSS class ``msc-threshold``).
    reset : ipywidgets.Button
        Back to the SPEC defaults.

    Examples
    --------
    >>> step = SettingsStep()
    >>> step.controls["threshold_pct"].value = 30
    >>> step.state.settings.threshold_pct == 30
    True
    """

    title = "Settings"

    def __init__(self, state: WizardState | None = None, **kwargs: Any) -> None:
        super().__init__(state, **kwargs)
        self._updating = False
        defaults = Settings()
        self.controls: dict[str, w.Widget] = {}
        rows = []
        for field in dataclasses.fields(Settings):
            if field.name == "extra":
                continue
            default = getattr(defaults, field.name)
            control = _make_control(field.name, default)
            control.add_class(f"msc-setting-{field.name.replace('_', '-')}")
            self.controls[field.name] = control
            help_text = SETTING_HELP.get(field.name, "")
            shown_default = f"{default:g}" if isinstance(default, float) else str(default)
            rows.append(
                w.VBox(
                    [
                        control,
                        w.HTML(
                            f'<div class="msc-setting-help" style="margin-left:155px;'
                            f'font-size:90%;color:#555">{html.escape(help_text)} '
                            f"<i>(default: {html.escape(shown_default)})</i></div>"
                        ),
                    ]
                )
            )
            control.observe(self.guarded(self._on_change), names="value")
        self.controls["threshold_pct"].add_class("msc-threshold")
        self.reset = w.Button(description="Reset to defaults")
        self.reset.on_click(self.guarded(lambda _: self.set_settings(Settings())))
        self.status = w.HTML("")
        self.status.add_class("msc-analysis-status")
        self.state.observe(self.guarded(lambda _: self._from_state()), names="settings")
        self.state.observe(
            self.guarded(lambda _: self._show_status()), names=["result", "analysis_error"]
        )
        self.state.observe(self.guarded(lambda _: self._outcomes()), names="study")
        self.children = [
            w.HTML("<h3>3. Settings</h3>"),
            *rows,
            self.reset,
            self.message,
            self.status,
        ]
        self._outcomes()
        self._from_state()

    def _outcomes(self) -> None:
        """Offer the numeric outcome columns of the loaded visits."""
        study = self.state.study
        options = list(OUTCOMES)
        if study is not None:
            import pandas as pd

            visits = study.visits
            skip = {"day", "row", "patient_id", "date", "gastrostomy"}
            options = [
                c
                for c in visits.columns
                if c not in skip
                and pd.api.types.is_numeric_dtype(visits[c])
                and not pd.api.types.is_bool_dtype(visits[c])
            ] or options
        drop = self.controls["outcome"]
        current = self.state.settings.outcome
        if current not in options:
            options = [current, *options]
        self._updating = True
        try:
            drop.options = options
            drop.value = current
        finally:
            self._updating = False

    def _from_state(self) -> None:
        settings = self.state.settings
        self._updating = True
        try:
            for name, control in self.controls.items():
                value = getattr(settings, name)
                if name == "outcome" and value not in control.options:
                    control.options = [value, *control.options]
                control.value = value
        finally:
            self._updating = False

    def current(self) -> Settings:
        """Return the settings the controls show (raises SettingsError when invalid)."""
        values = {}
        for name, control in self.controls.items():
            value = control.value
            default = getattr(Settings(), name)
            if isinstance(default, int) and not isinstance(default, bool):
                value = int(value)
            values[name] = value
        return Settings(**values)

    def _on_change(self, change: dict[str, Any]) -> None:
        if self._updating:
            return
        self.set_settings(self.current())

    def set_settings(self, settings: Settings) -> None:
        """Set the shared settings (the result updates) and the controls."""
        self.show("")
        self.state.settings = settings
        self._from_state()

    def _show_status(self) -> None:
        if self.state.analysis_error:
            self.show(f"Analysis failed: {self.state.analysis_error}", "error")
        elif self.state.result is not None:
            how = (
                "responders re-classified"
                if self.state.last_run == "reclassify"
                else "analysis re-run"
            )
            self.status.value = f'<div class="msc-note">Results up to date ({how}).</div>'
