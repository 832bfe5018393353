"""Step 2, Injections: the schedule per patient, a protocol generator, interval lengths and
the interactive timeline, kept in sync both ways."""

from __future__ import annotations

from typing import Any

import ipywidgets as w

from ..charts import outcome_label
from ..columns import date_to_day, day_text
from ..errors import InputError, ScheduleError
from .common import Step, note, table_html
from .state import WizardState
from .timeline import InjectionTimeline

__all__ = ["InjectionsStep", "parse_days", "format_day"]


#: A day as the user reads it (an ISO date for calendar data): the schema's rule.
format_day = day_text


def parse_days(text: str, time_kind: str) -> list[float]:
    """Parse a comma-separated list of injection times into days.

    Parameters
    ----------
    text : str
        Day numbers (``"90, 180"``) or, for calendar data, ISO dates (``"2021-03-01"``).
    time_kind : {'date', 'day'}
        The study's time base.

    Returns
    -------
    list of float
        Days in the study's time base (days since 1970-01-01 for dates).

    Examples
    --------
    >>> parse_days("90, 180.0", "day")
    [90.0, 180.0]
    >>> parse_days("2021-03-01", "date")
    [18687.0]
    >>> parse_days("soon", "day")
    Traceback (most recent call last):
    ...
    msc_notebooks.errors.ScheduleError: 'soon' is not a day number. Fix: type days like 90, 180
    """
    out = []
    for part in [p.strip() for p in text.replace(";", ",").split(",") if p.strip()]:
        try:
            out.append(float(part))
            continue
        except ValueError:
            pass
        if time_kind != "date":
            raise ScheduleError(f"{part!r} is not a day number", fix="type days like 90, 180")
        try:
            out.append(float(date_to_day([part])[0]))
        except (ValueError, TypeError) as exc:
            raise ScheduleError(
                f"{part!r} is not a date", fix="type ISO dates like 2021-03-01, 2021-06-01"
            ) from exc
    return out


def check_schedule(days: list[float], first_assessment: float | None, time_kind: str) -> list[str]:
    """Return warnings about a schedule that is possible but questionable.

    Impossible schedules (two injections on one day) are refused where every schedule is
    checked, :func:`msc_notebooks.schedule.renumber` (SPEC §12).

    Examples
    --------
    >>> check_schedule([90.0, 180.0], 0.0, "day")
    []
    >>> check_schedule([-5.0], 0.0, "day")
    ['injection 1 (-5) is before the first assessment (0): no run-in for this patient']
    """
    out = []
    if first_assessment is not None:
        for i, d in enumerate(sorted(days), start=1):
            if d < first_assessment:
                out.append(
                    f"injection {i} ({format_day(d, time_kind)}) is before the first assessment "
                    f"({format_day(first_assessment, time_kind)}): no run-in for this patient"
                )
    return out


class InjectionsStep(Step):
    """Edit the injection schedule: per patient, by protocol, or on the timeline.

    Attributes
    ----------
    patient : ipywidgets.Dropdown
        The patient shown on the timeline and in the edit box.
    timeline : InjectionTimeline
        The selected patient's assessments and injections (drag, keys, double-click).
    days_text, apply_days : ipywidgets.Text, ipywidgets.Button
        The selected patient's injection times, editable as text.
    protocol_first, protocol_interval, protocol_count, protocol_patients, apply_protocol
        The protocol generator (first date or day, interval in months, count) for the
        selected patients (none selected: every patient not withdrawn).
    injection_table, interval_table : ipywidgets.HTML
        The schedule of every patient; the selected patient's interval lengths.
    """

    title = "Injections"

    def __init__(self, state: WizardState | None = None, **kwargs: Any) -> None:
        super().__init__(state, **kwargs)
        self._syncing = False
        self.patient = w.Dropdown(options=[], description="patient")
        self.timeline = InjectionTimeline()
        self.timeline_message = w.HTML("")
        self.timeline_message.add_class("msc-timeline-message")
        self.days_text = w.Text(
            description="injections", layout=w.Layout(width="520px"), continuous_update=False
        )
        self.apply_days = w.Button(description="Apply to this patient")
        self.interval_table = w.HTML("")
        self.interval_table.add_class("msc-interval-table")
        self.injection_table = w.HTML("")
        self.injection_table.add_class("msc-injection-table")

        self.protocol_first = w.Text(description="first", placeholder="date or day of injection 1")
        self.protocol_interval = w.BoundedFloatText(
            value=3.0, min=0.1, max=120, step=0.5, description="every (months)"
        )
        self.protocol_count = w.BoundedIntText(value=3, min=1, max=50, description="injections")
        self.protocol_patients = w.SelectMultiple(
            options=[], description="patients", rows=6, layout=w.Layout(width="300px")
        )
        self.apply_protocol = w.Button(description="Apply protocol")
        protocol_box = w.VBox(
            [
                w.HTML(
                    "<b>Protocol generator</b>: the same schedule for the selected patients "
                    "(none selected: all patients not withdrawn)."
                ),
                w.HBox(
                    [
                        w.VBox([self.protocol_first, self.protocol_interval, self.protocol_count]),
                        self.protocol_patients,
                    ]
                ),
                self.apply_protocol,
            ]
        )

        self.patient.observe(self.guarded(lambda _: self._show_patient()), names="value")
        self.timeline.observe(self.guarded(self._on_timeline), names="injections")
        self.apply_days.on_click(self.guarded(lambda _: self.set_patient_days_from_text()))
        self.apply_protocol.on_click(self.guarded(lambda _: self.run_protocol()))
        self.state.observe(self.guarded(lambda _: self.refresh()), names="study")

        self.children = [
            w.HTML("<h3>2. Injections</h3>"),
            self.message,
            self.patient,
            self.timeline,
            self.timeline_message,
            w.HBox([self.days_text, self.apply_days]),
            w.HTML("<b>Intervals of this patient</b>"),
            self.interval_table,
            protocol_box,
            w.HTML("<b>All patients</b>"),
            self.injection_table,
        ]
        self.refresh()

    # -- showing --------------------------------------------------------------------------
    @property
    def time_kind(self) -> str:
        study = self.state.study
        return getattr(study, "time_kind", "day") if study is not None else "day"

    def _patient_ids(self) -> list[str]:
        study = self.state.study
        ids: set[str] = set()
        for table in (study.patients, study.injections, study.visits):
            if table is not None and "patient_id" in table:
                ids.update(str(p) for p in table["patient_id"].dropna().unique())
        return sorted(ids)

    def refresh(self) -> None:
        """Redraw everything from the shared study."""
        study = self.state.study
        if study is None:
            self.patient.options = []
            self.injection_table.value = note("Load data first (step 1).")
            self.interval_table.value = ""
            return
        ids = self._patient_ids()
        current = self.patient.value
        if list(self.patient.options) != ids:
            self.patient.options = ids
        wanted = current if current in ids else (ids[0] if ids else None)
        if self.patient.value != wanted:
            self.patient.value = wanted
        selected = [p for p in self.protocol_patients.value if p in ids]
        self.protocol_patients.options = ids
        self.protocol_patients.value = tuple(selected)
        # the generator starts at this cohort's first injection, unless the user typed one
        # (a value left from another cohort, e.g. the demo's 2016, is replaced)
        inj = study.injections
        first = format_day(float(inj["day"].min()), self.time_kind) if len(inj) else ""
        if not self.protocol_first.value or self.protocol_first.value == getattr(
            self, "_first_filled", None
        ):
            self.protocol_first.value = first
            self._first_filled = first
        self.injection_table.value = self._schedule_html()
        self._show_patient()

    def _patient_days(self, patient_id: str) -> list[float]:
        inj = self.state.study.injections
        mine = inj[inj["patient_id"].astype(str) == str(patient_id)]
        return sorted(float(d) for d in mine["day"])

    def _schedule_html(self) -> str:
        import pandas as pd

        from ..schedule import interval_table

        study = self.state.study
        month_days = self.state.settings.month_days
        intervals = interval_table(study.injections, month_days=month_days)
        rows = []
        for pid in self._patient_ids():
            days = self._patient_days(pid)
            iv = intervals[intervals["patient_id"].astype(str) == pid]
            rows.append(
                {
                    "patient_id": pid,
                    "injections": len(days),
                    "times": ", ".join(format_day(d, self.time_kind) for d in days),
                    "intervals (months)": ", ".join(
                        f"{a}: {m:.2f}" for a, m in zip(iv["interval"], iv["months"], strict=True)
                    ),
                    "edited": "yes" if pid in self.state.injection_edits else "",
                }
            )
        return table_html(pd.DataFrame(rows), max_rows=500)

    def _show_patient(self) -> None:
        study = self.state.study
        pid = self.patient.value
        if study is None or pid is None:
            return
        from ..schedule import interval_table

        days = self._patient_days(pid)
        visits = study.visits[study.visits["patient_id"].astype(str) == str(pid)]
        outcome = self.state.settings.outcome
        col = outcome if outcome in visits else "alsfrs_r_total"
        assessments = [
            {"day": float(d), "score": (float(s) if s == s else None)}
            for d, s in zip(
                visits["day"], visits[col] if col in visits else [None] * len(visits), strict=True
            )
        ]
        self._syncing = True
        try:
            with self.timeline.hold_sync():
                self.timeline.patient_id = str(pid)
                self.timeline.time_kind = self.time_kind
                self.timeline.score_label = outcome_label(col)
                self.timeline.assessments = assessments
                self.timeline.injections = days
                if self.timeline.selected >= len(days):
                    self.timeline.selected = len(days) - 1
                self.timeline.error = ""
        finally:
            self._syncing = False
        self.days_text.value = ", ".join(format_day(d, self.time_kind) for d in days)
        iv = interval_table(study.injections, month_days=self.state.settings.month_days)
        iv = iv[iv["patient_id"].astype(str) == str(pid)]
        if len(iv):
            shown = iv[["interval", "start_day", "end_day", "days", "months"]].copy()
            if self.time_kind == "date":
                shown["start_day"] = [format_day(d, "date") for d in shown["start_day"]]
                shown["end_day"] = [format_day(d, "date") for d in shown["end_day"]]
                shown = shown.rename(columns={"start_day": "from", "end_day": "to"})
            self.interval_table.value = table_html(shown)
        else:
            self.interval_table.value = note("Fewer than two injections: no interval.")
        self.timeline_message.value = ""

    # -- editing ---------------------------------------------------------------------------
    def _on_timeline(self, change: dict[str, Any]) -> None:
        if self._syncing:
            return
        try:
            self.set_patient_days(self.timeline.patient_id, list(change["new"]))
        except Exception as exc:
            self.timeline.error = str(exc)
            self.timeline_message.value = note(str(exc), "error")
            raise

    def set_patient_days_from_text(self) -> None:
        """Apply the injection times typed in the edit box to the selected patient."""
        if self.patient.value is None:
            raise InputError("no patient selected", fix="load data first (step 1)")
        self.set_patient_days(self.patient.value, parse_days(self.days_text.value, self.time_kind))

    def set_patient_days(self, patient_id: str, days: list[float]) -> None:
        """Replace one patient's injections (from the timeline or the edit box).

        Two injections on one day are refused with a message; an injection before the
        first assessment is applied, with a warning.
        """
        from ..schedule import set_injections

        study = self.state.study
        if study is None:
            raise InputError("no data loaded", fix="load data first (step 1)")
        days = sorted(float(d) for d in days)
        visits = study.visits[study.visits["patient_id"].astype(str) == str(patient_id)]
        first = float(visits["day"].min()) if len(visits) else None
        warnings = check_schedule(days, first, self.time_kind)
        new = set_injections(study, str(patient_id), days)
        self.state.injection_edits = {**self.state.injection_edits, str(patient_id): days}
        self.state.study = new
        text = "; ".join(warnings)
        self.timeline.error = text
        self.timeline_message.value = note(text, "error") if text else ""
        self.show(f"Patient {patient_id}: {len(days)} injections set.", "ok")

    def run_protocol(self) -> None:
        """Apply the protocol generator to the selected patients (or all)."""
        from ..schedule import apply_protocol

        study = self.state.study
        if study is None:
            raise InputError("no data loaded", fix="load data first (step 1)")
        text = self.protocol_first.value.strip()
        if not text:
            raise ScheduleError("no first injection given", fix="type a date or a day number")
        first_days = parse_days(text, self.time_kind)
        if len(first_days) != 1:
            raise ScheduleError("give one first injection", fix="type one date or day number")
        first: object = first_days[0]
        if self.time_kind == "date":
            first = format_day(first_days[0], "date")
        ids = list(self.protocol_patients.value) or None
        new = apply_protocol(
            study,
            first,
            self.protocol_interval.value,
            self.protocol_count.value,
            ids,
            month_days=self.state.settings.month_days,
        )
        edited = ids if ids is not None else sorted(set(new.injections["patient_id"].astype(str)))
        edits = dict(self.state.injection_edits)
        for pid in edited:
            mine = new.injections[new.injections["patient_id"].astype(str) == str(pid)]
            edits[str(pid)] = sorted(float(d) for d in mine["day"])
        self.state.injection_edits = edits
        self.state.study = new
        self.show(
            f"Protocol applied to {len(edited)} patients: {self.protocol_count.value} injections "
            f"every {self.protocol_interval.value:g} months from {text}.",
            "ok",
        )
