"""Step 2, Injections: the schedule per patient, a protocol generator, interval lengths and
the interactive timeline, kept in sync both ways.

A marker move at registry scale (issue #20): the study's assessments and injection days
are grouped by patient once per study (:class:`PatientSchedules`), an edit replaces one
patient's days there, the selected patient's intervals are shown before the analysis is
brought up to date (:func:`msc_notebooks.analysis.update`, which re-analyses only that
patient), and the all-patients table shows :data:`PAGE_ROWS` rows at a time, redrawn only
when the page shown holds an edited patient.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import ipywidgets as w
import numpy as np
import pandas as pd

from ..charts import outcome_label
from ..columns import date_to_day, day_text
from ..errors import InputError, ScheduleError
from .common import PagedTable, Step, note, table_html
from .state import WizardState
from .timeline import InjectionTimeline

__all__ = ["InjectionsStep", "PatientSchedules", "PAGE_ROWS", "parse_days", "format_day"]

#: Rows per page of the all-patients schedule table.
PAGE_ROWS = 50


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


class PatientSchedules:
    """A study's assessments and injection days grouped by patient, once per study.

    What the Injections step reads for one patient (the timeline, the edit box, the
    intervals, a page of the all-patients table) without filtering the whole visits or
    injection table; an edit replaces one patient's days (:meth:`set_days`), and a study
    whose injections changed elsewhere (a protocol, a restored state) is followed with
    :meth:`follow`, which regroups only the patients whose injections differ
    (:func:`msc_notebooks.schedule.edited_patients`).

    Parameters
    ----------
    study : StudyData
        The study.

    Attributes
    ----------
    study : StudyData
        The study described (after :meth:`set_days` or :meth:`follow`, the new one).
    ids : list of str
        Every patient of the patients, injections and visits tables, sorted.
    days : dict of str to list of float
        Each treated patient's injection days (study time base), sorted.

    Examples
    --------
    >>> from msc_notebooks import load_demo
    >>> from msc_notebooks.schedule import set_injections
    >>> study = load_demo()
    >>> p = PatientSchedules(study)
    >>> len(p.ids), p.days["001"][:2], p.first_assessment("001")
    (20, [16962.0, 17062.0], 16808.0)
    >>> p.assessments("001", "alsfrs_r_total")[0]
    {'day': 16808.0, 'score': 42.0}
    >>> sorted(p.follow(set_injections(study, "002", [16990.0])))
    ['002']
    >>> p.days["002"]
    [16990.0]
    >>> p.set_days(set_injections(p.study, "003", []), "003", []); "003" in p.days, "003" in p.ids
    (False, True)
    """

    def __init__(self, study: Any) -> None:
        self.study = study
        visits = study.visits
        codes, uniques = pd.factorize(visits["patient_id"])  # missing ids: -1, left out
        day = visits["day"].to_numpy(dtype=float)
        known = np.flatnonzero(codes >= 0)
        # each patient's rows together, in day order (canonical tables already are)
        self._visit_rows = known[np.lexsort((day[known], codes[known]))]
        ends = np.cumsum(np.bincount(codes[known], minlength=len(uniques)))
        starts = ends - np.bincount(codes[known], minlength=len(uniques))
        self._visit_slice = {
            str(u): (int(a), int(b)) for u, a, b in zip(uniques, starts, ends, strict=True)
        }
        self.days = self._group(study.injections)
        pats = study.patients
        self._base_ids = set(self._visit_slice)
        if pats is not None and "patient_id" in pats:
            self._base_ids.update(str(p) for p in pats["patient_id"].dropna())
        self.ids = sorted(self._base_ids | set(self.days))

    @staticmethod
    def _group(injections: pd.DataFrame) -> dict[str, list[float]]:
        """Injection days per patient (sorted), from one sort of the table."""
        if not len(injections):
            return {}
        pid = injections["patient_id"].astype(str).to_numpy()
        day = injections["day"].to_numpy(dtype=float)
        order = np.lexsort((day, pid))
        pid, day = pid[order], day[order]
        cut = np.flatnonzero(pid[1:] != pid[:-1]) + 1
        return {
            str(p): d.tolist() for p, d in zip(pid[np.r_[0, cut]], np.split(day, cut), strict=True)
        }

    def assessments(self, patient_id: str, outcome: str) -> list[dict[str, float | None]]:
        """The patient's assessments in day order: ``{"day": day, "score": value or None}``."""
        a, b = self._visit_slice.get(str(patient_id), (0, 0))
        rows = self._visit_rows[a:b]
        visits = self.study.visits
        day = visits["day"].to_numpy(dtype=float)[rows]
        if outcome in visits:
            score = visits[outcome].to_numpy(dtype=float, na_value=np.nan)[rows]
        else:
            score = np.full(len(rows), np.nan)
        return [
            {"day": float(d), "score": (float(s) if s == s else None)}
            for d, s in zip(day, score, strict=True)
        ]

    def first_assessment(self, patient_id: str) -> float | None:
        """Day of the patient's first visit (None without any)."""
        a, b = self._visit_slice.get(str(patient_id), (0, 0))
        if b <= a:
            return None
        return float(self.study.visits["day"].to_numpy(dtype=float)[self._visit_rows[a]])

    def set_days(self, study: Any, patient_id: str, days: Iterable[float]) -> None:
        """Describe ``study``: this one's with ``patient_id``'s injections set to ``days``."""
        pid = str(patient_id)
        days = sorted(float(d) for d in days)
        if days:
            self.days[pid] = days
        else:
            self.days.pop(pid, None)
        if pid not in self._base_ids and pid not in self.ids:
            self.ids = sorted(self._base_ids | set(self.days))
        self.study = study

    def follow(self, study: Any) -> frozenset[str] | None:
        """Describe ``study`` if only injections changed: the patients regrouped, else None.

        None (nothing changed here) means another study: make a new
        :class:`PatientSchedules`.
        """
        from ..schedule import edited_patients

        changed = edited_patients(self.study, study)
        if changed is None:
            return None
        if changed:
            inj = study.injections
            fresh = self._group(inj[inj["patient_id"].astype(str).isin(list(changed))])
            for pid in changed:
                self.set_days(study, pid, fresh.get(str(pid), []))
        self.study = study
        return frozenset(str(p) for p in changed)


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
    injection_table : PagedTable
        The schedule of every patient, :data:`PAGE_ROWS` rows a page (only the page's rows
        are built).
    interval_table : ipywidgets.HTML
        The selected patient's interval lengths.
    schedules : PatientSchedules or None
        The study's schedules grouped by patient (None before data are loaded).
    """

    title = "Injections"

    def __init__(self, state: WizardState | None = None, **kwargs: Any) -> None:
        super().__init__(state, **kwargs)
        self._syncing = False
        self.schedules: PatientSchedules | None = None
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
        self.injection_table = PagedTable(PAGE_ROWS, css_class="msc-injection-table")

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
        self.state.observe(self.guarded(self._on_study), names="study")
        self.state.observe(self.guarded(self._on_settings), names="settings")

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

    def refresh(self) -> None:
        """Redraw everything from the shared study (its schedules grouped anew)."""
        study = self.state.study
        if study is None:
            self.schedules = None
            self.patient.options = []
            self.injection_table.show(None)
            self.injection_table.table.value = note("Load data first (step 1).")
            self.interval_table.value = ""
            return
        self.schedules = PatientSchedules(study)
        self._show_patients()

    def _on_study(self, change: dict[str, Any]) -> None:
        """A new study in the state: only what changed is redrawn."""
        study = self.state.study
        if study is None or self.schedules is None:
            self.refresh()
            return
        if study is self.schedules.study:  # this step's own edit: already shown
            return
        ids = self.schedules.ids
        changed = self.schedules.follow(study)
        if changed is None:  # another study
            self.refresh()
            return
        if self.schedules.ids != ids:
            self._show_patients()
            return
        self._fill_protocol_first()
        if self._on_page(changed):
            self.injection_table.redraw()
        if self.patient.value in changed:
            self._show_patient()

    def _on_settings(self, change: dict[str, Any]) -> None:
        old, new = change["old"], change["new"]
        if self.schedules is None or (
            old.month_days == new.month_days and old.outcome == new.outcome
        ):
            return
        self.injection_table.redraw()
        self._show_patient()

    def _show_patients(self) -> None:
        """The patient lists, the first protocol day, the table page and the patient."""
        ids = self.schedules.ids
        current = self.patient.value
        if list(self.patient.options) != ids:
            self.patient.options = ids
        wanted = current if current in ids else (ids[0] if ids else None)
        if self.patient.value != wanted:
            self.patient.value = wanted
        selected = [p for p in self.protocol_patients.value if p in ids]
        if list(self.protocol_patients.options) != ids:
            self.protocol_patients.options = ids
        self.protocol_patients.value = tuple(selected)
        self._fill_protocol_first()
        self.injection_table.show_rows(len(ids), self._schedule_rows, keep_page=True)
        self._show_patient()

    def _fill_protocol_first(self) -> None:
        # the generator starts at this cohort's first injection, unless the user typed one
        # (a value left from another cohort, e.g. the demo's 2016, is replaced)
        inj = self.state.study.injections
        first = format_day(float(inj["day"].min()), self.time_kind) if len(inj) else ""
        if not self.protocol_first.value or self.protocol_first.value == getattr(
            self, "_first_filled", None
        ):
            self.protocol_first.value = first
            self._first_filled = first

    def _on_page(self, patient_ids: Iterable[str]) -> bool:
        """Whether one of these patients is on the page of the schedule table shown."""
        rows = self.injection_table.rows_shown()
        shown = self.schedules.ids[rows.start : rows.stop]
        return not set(shown).isdisjoint(str(p) for p in patient_ids)

    def _intervals(self, patient_ids: list[str]) -> pd.DataFrame:
        """The interval table (:func:`msc_notebooks.schedule.interval_table`) of a few patients."""
        from ..schedule import interval_table

        days = self.schedules.days
        counts = [len(days.get(p, ())) for p in patient_ids]
        inj = pd.DataFrame(
            {
                "patient_id": np.repeat(np.array(patient_ids, dtype=object), counts),
                "day": np.array([d for p in patient_ids for d in days.get(p, ())], dtype=float),
            }
        )
        return interval_table(inj, month_days=self.state.settings.month_days)

    def _schedule_rows(self, start: int, stop: int) -> pd.DataFrame:
        """Rows ``start`` to ``stop - 1`` of the all-patients schedule table."""
        ids = self.schedules.ids[start:stop]
        intervals = self._intervals(ids)
        by_patient: dict[str, list[str]] = {}
        for pid, name, months in zip(
            intervals["patient_id"], intervals["interval"], intervals["months"], strict=True
        ):
            by_patient.setdefault(str(pid), []).append(f"{name}: {months:.2f}")
        edits = self.state.injection_edits
        return pd.DataFrame(
            [
                {
                    "patient_id": pid,
                    "injections": len(self.schedules.days.get(pid, ())),
                    "times": ", ".join(
                        format_day(d, self.time_kind) for d in self.schedules.days.get(pid, ())
                    ),
                    "intervals (months)": ", ".join(by_patient.get(pid, ())),
                    "edited": "yes" if pid in edits else "",
                }
                for pid in ids
            ],
            columns=["patient_id", "injections", "times", "intervals (months)", "edited"],
        )

    def _patient_days(self, patient_id: str) -> list[float]:
        return list(self.schedules.days.get(str(patient_id), [])) if self.schedules else []

    def _show_patient(self) -> None:
        """The selected patient on the timeline, in the edit box and the interval table."""
        pid = self.patient.value
        if self.schedules is None or pid is None:
            return
        days = self._patient_days(pid)
        outcome = self.state.settings.outcome
        col = outcome if outcome in self.state.study.visits else "alsfrs_r_total"
        self._syncing = True
        try:
            with self.timeline.hold_sync():
                self.timeline.patient_id = str(pid)
                self.timeline.time_kind = self.time_kind
                self.timeline.score_label = outcome_label(col)
                self.timeline.assessments = self.schedules.assessments(pid, col)
                self.timeline.injections = days
                if self.timeline.selected >= len(days):
                    self.timeline.selected = len(days) - 1
                self.timeline.error = ""
        finally:
            self._syncing = False
        self.days_text.value = ", ".join(format_day(d, self.time_kind) for d in days)
        self._show_intervals(pid)
        self.timeline_message.value = ""

    def _show_intervals(self, patient_id: str) -> None:
        iv = self._intervals([str(patient_id)])
        if len(iv):
            shown = iv[["interval", "start_day", "end_day", "days", "months"]].copy()
            if self.time_kind == "date":
                shown["start_day"] = [format_day(d, "date") for d in shown["start_day"]]
                shown["end_day"] = [format_day(d, "date") for d in shown["end_day"]]
                shown = shown.rename(columns={"start_day": "from", "end_day": "to"})
            self.interval_table.value = table_html(shown)
        else:
            self.interval_table.value = note("Fewer than two injections: no interval.")

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
        first assessment is applied, with a warning. The patient's intervals, edit box and
        row of the table (when on the page shown) are updated first; then the study is
        set, which brings the analysis up to date (re-analysing this patient only).
        """
        from ..schedule import set_injections

        study = self.state.study
        if study is None or self.schedules is None:
            raise InputError("no data loaded", fix="load data first (step 1)")
        pid = str(patient_id)
        days = sorted(float(d) for d in days)
        warnings = check_schedule(days, self.schedules.first_assessment(pid), self.time_kind)
        new = set_injections(study, pid, days)
        self.schedules.set_days(new, pid, days)
        self.state.injection_edits = {**self.state.injection_edits, pid: days}
        if pid == self.patient.value:
            self._syncing = True
            try:
                self.timeline.injections = days  # already there after a marker move
            finally:
                self._syncing = False
            self.days_text.value = ", ".join(format_day(d, self.time_kind) for d in days)
            self._show_intervals(pid)
        if self._on_page([pid]):
            self.injection_table.redraw()
        text = "; ".join(warnings)
        self.timeline.error = text
        self.timeline_message.value = note(text, "error") if text else ""
        self.state.study = new  # the analysis runs now
        self.show(f"Patient {pid}: {len(days)} injections set.", "ok")

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
        days = PatientSchedules._group(
            new.injections[new.injections["patient_id"].astype(str).isin(edited)]
        )
        self.state.injection_edits = {
            **self.state.injection_edits,
            **{str(pid): days.get(str(pid), []) for pid in edited},
        }
        self.state.study = new
        self.show(
            f"Protocol applied to {len(edited)} patients: {self.protocol_count.value} injections "
            f"every {self.protocol_interval.value:g} months from {text}.",
            "ok",
        )
