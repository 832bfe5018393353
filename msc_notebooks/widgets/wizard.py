"""The Wizard: the six steps in order, sharing one state, with save and restore."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import ipywidgets as w

from ..errors import InputError
from ..settings import Settings
from .common import note
from .export_step import ExportStep
from .injections_step import InjectionsStep
from .load_step import LoadStep
from .results_step import ResultsStep
from .safety_step import SafetyStep
from .settings_step import SettingsStep
from .state import WizardState, describe_error

__all__ = ["Wizard", "STATE_VERSION"]

#: Version of the saved-state file layout.
STATE_VERSION = 1


class Wizard(w.VBox):
    """Load, Injections, Settings, Results, Safety, Export: one step at a time.

    Parameters
    ----------
    study : StudyData, optional
        A study already read (e.g. ``read_study(...)``); the wizard then opens at step 2.
        Without it the wizard opens at *Load*, with the demo cohort one click away.
    settings : Settings, optional
        Starting settings (default: the SPEC defaults).
    state_file : str or Path, optional
        A file written by :meth:`save_state` to restore (data paths, column map, injection
        edits, settings).
    figures : bool, default True
        Draw the figures in the Results and Safety steps.
    folder : str or Path, optional
        A study folder: the Wizard then keeps the study's state there
        (``study-state.yaml``, :mod:`msc_notebooks.study_state`): every load, column
        map, date format, injection edit and setting is written as it happens, so a
        kernel restart, the other notebooks and ``msc-notebooks run`` see it. Uploads
        are saved into the folder's ``data/``.
    folder_state : dict, optional
        The state the study was restored from (:func:`~msc_notebooks.study_state.read_state`);
        without a study, the Load step opens with its files and the columns the kit
        recognised filled in (a study that failed to load).

    Attributes
    ----------
    state : WizardState
        The study, settings and result the steps share.
    steps : list
        ``load``, ``injections``, ``settings``, ``results``, ``safety``, ``export`` (also
        attributes of those names).
    nav : ipywidgets.ToggleButtons
        The step buttons; ``back`` and ``next`` move one step.
    stack : ipywidgets.Stack
        Shows the selected step (the browser draws only that one).

    Notes
    -----
    Work only for what is visible: the Results and Safety steps are built empty and make
    their tables and figures when first opened; a step not shown does not follow the
    state (a new result only marks it stale: ``Step.stale``) and catches up when shown
    again. A 10,000-patient study thus costs the analysis and the step opened, not six
    steps' worth of figures, at construction and at every change.

    Examples
    --------
    >>> wiz = Wizard()
    >>> [s.title for s in wiz.steps]
    ['Load', 'Injections', 'Settings', 'Results', 'Safety', 'Export']
    >>> wiz.go("Settings"); wiz.stack.selected_index
    2
    """

    def __init__(
        self,
        study: Any = None,
        settings: Settings | None = None,
        state_file: str | Path | None = None,
        *,
        figures: bool = True,
        folder: str | Path | None = None,
        folder_state: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        self.folder = Path(folder) if folder is not None else None
        self.state = WizardState(settings=settings or Settings(), auto_analyze=True)
        self.load = LoadStep(self.state)
        self.injections = InjectionsStep(self.state)
        self.settings = SettingsStep(self.state)
        # built hidden: their tables and figures are made when first opened (set_shown)
        self.results = ResultsStep(self.state, figures=figures, shown=False)
        self.safety = SafetyStep(self.state, figures=figures, shown=False)
        self.export = ExportStep(self.state)
        self.steps = [
            self.load,
            self.injections,
            self.settings,
            self.results,
            self.safety,
            self.export,
        ]
        names = [s.title for s in self.steps]
        self.nav = w.ToggleButtons(
            options=[(f"{i}. {n}", i) for i, n in enumerate(names, start=1)], value=1
        )
        self.nav.add_class("msc-wizard-nav")
        self.stack = w.Stack(list(self.steps), selected_index=0)
        self.back = w.Button(description="< Back", disabled=True)
        self.next = w.Button(description="Next >")
        self.message = w.HTML("")
        self.message.add_class("msc-message")
        self.nav.observe(lambda ch: self._select(ch["new"] - 1), names="value")
        self.back.on_click(lambda _: self._select(self.stack.selected_index - 1))
        self.next.on_click(lambda _: self._select(self.stack.selected_index + 1))
        super().__init__(
            [self.nav, self.message, self.stack, w.HBox([self.back, self.next])], **kwargs
        )
        self.add_class("msc-wizard")
        self._select(0)
        if study is not None:
            self.state.source = {"kind": "study"}
            self.state.study = study
            self.go("Injections")
        if state_file is not None:
            try:
                self.load_state(state_file)
            except Exception as exc:
                self.message.value = note(describe_error(exc), "error")
        if self.folder is not None:
            self._start_in_folder(study, dict(folder_state or {}))

    # -- the study folder's state (study-state.yaml) ------------------------------------------
    def _start_in_folder(self, study: Any, folder_state: dict[str, Any]) -> None:
        from ..study_state import edit_days

        self.load.save_uploads_to = self.folder / "data"
        files = {
            t: folder_state.get(t) for t in ("visits", "injections", "patients", "adverse_events")
        }
        if study is not None:
            edits = folder_state.get("injection_edits") or {}
            self.state.injection_edits = {
                str(k): edit_days(list(v), study.time_kind) for k, v in edits.items()
            }
            existing = {t: f for t, f in files.items() if f and (self.folder / f).is_file()}
            self.state.source = (
                {
                    "kind": "files",
                    "paths": existing,
                    "column_map": folder_state.get("column_map") or {},
                    "date_format": folder_state.get("date_format"),
                }
                if {"visits", "injections"} <= set(existing)
                else {"kind": "demo"}
            )
        else:
            # the study did not load: open step 1 on its files, recognised columns filled in
            self.load.source_choice.value = "files"
            for table, box in self.load.paths.items():
                name = files.get(table)
                box.value = str(self.folder / name) if name else ""
                if name and not (self.folder / name).is_file():
                    box.value = ""
            self.load.date_format.value = folder_state.get("date_format") or ""
            try:
                self.load.preview_files()
                self.load.set_column_map(folder_state.get("column_map") or {})
            except Exception as exc:
                self.load.show_error(exc)
            self.go("Load")
        self.state.observe(
            lambda _: self.save_folder_state(),
            names=["study", "settings", "injection_edits", "source"],
        )

    def folder_state(self) -> dict[str, Any]:
        """The study's state as :func:`~msc_notebooks.study_state.write_state` keeps it."""
        from ..study_state import edits_for_state

        source = dict(self.state.source)
        out: dict[str, Any] = {}
        # the demo cohort: no paths written, so study.yaml's apply (absent files: the demo)
        if source.get("kind") in ("files", "upload"):
            paths = source.get("paths") or {}
            for table in ("visits", "injections", "patients", "adverse_events"):
                p = paths.get(table)
                if p and self.folder is not None and Path(p).is_absolute():
                    try:
                        p = str(Path(p).resolve().relative_to(self.folder.resolve()))
                    except ValueError:
                        p = str(Path(p).resolve())
                out[table] = p or ""
            out["column_map"] = source.get("column_map") or {}
            out["date_format"] = source.get("date_format") or ""
        study = self.state.study
        kind = study.time_kind if study is not None else "day"
        out["injection_edits"] = edits_for_state(dict(self.state.injection_edits), kind)
        settings = self.state.settings.to_dict()
        settings.pop("extra", None)
        out["settings"] = settings
        return out

    def save_folder_state(self) -> Any:
        """Write :meth:`folder_state` to the study folder's ``study-state.yaml``."""
        if self.folder is None or self.state.study is None:
            return None
        from ..study_state import write_state

        try:
            return write_state(self.folder, self.folder_state())
        except Exception as exc:  # shown, never silent
            self.message.value = note(
                f"The study state was not saved: {describe_error(exc)}", "error"
            )
            return None

    # -- navigation ------------------------------------------------------------------------
    def _select(self, index: int) -> None:
        index = max(0, min(len(self.steps) - 1, index))
        self.stack.selected_index = index
        self.nav.value = index + 1
        for i, step in enumerate(self.steps):  # hidden steps stop working; shown ones catch up
            step.set_shown(i == index)
        self.back.disabled = index == 0
        self.next.disabled = index == len(self.steps) - 1

    def go(self, step: str | int) -> None:
        """Show a step, by title (``"Results"``) or index (0-5)."""
        if isinstance(step, str):
            titles = [s.title.lower() for s in self.steps]
            if step.lower() not in titles:
                raise ValueError(f"unknown step {step!r}; steps: {', '.join(titles)}")
            step = titles.index(step.lower())
        self._select(int(step))

    # -- saving and restoring ------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """Return what :meth:`save_state` writes (no data, only where they came from)."""
        source = dict(self.state.source)
        return {
            "version": STATE_VERSION,
            "source": source,
            "column_map": self.load.column_map() or source.get("column_map", {}),
            "injection_edits": {k: list(v) for k, v in self.state.injection_edits.items()},
            "settings": self.state.settings.to_dict(),
            "step": self.steps[self.stack.selected_index].title,
        }

    def save_state(self, path: str | Path) -> Path:
        """Save data paths, column map, injection edits, settings and step (JSON or YAML).

        The data themselves are not saved, and uploaded files are never stored: a state
        saved after an upload restores the settings and edits, and asks for the upload again.

        Parameters
        ----------
        path : str or Path
            ``.json``, or ``.yaml``/``.yml``.

        Returns
        -------
        Path
            The file written.
        """
        path = Path(path)
        data = self.state_dict()
        if path.suffix.lower() in (".yaml", ".yml"):
            import yaml

            text = yaml.safe_dump(data, sort_keys=False)
        else:
            text = json.dumps(data, indent=2)
        path.write_text(text, encoding="utf-8")
        return path

    def load_state(self, path: str | Path) -> None:
        """Restore a state saved by :meth:`save_state`: re-read the data, re-apply the edits
        and settings, and show the saved step."""
        path = Path(path)
        if not path.is_file():
            raise InputError("state file not found", source=str(path), fix="check the path")
        text = path.read_text(encoding="utf-8")
        if path.suffix.lower() in (".yaml", ".yml"):
            import yaml

            data = yaml.safe_load(text) or {}
        else:
            data = json.loads(text)
        if not isinstance(data, dict) or data.get("version") != STATE_VERSION:
            raise InputError(
                "not a saved wizard state (or another version)",
                source=path.name,
                fix="save the state again with Wizard.save_state",
            )
        settings = Settings.from_dict(data.get("settings") or {})
        source = data.get("source") or {}
        column_map = data.get("column_map") or {}
        edits = data.get("injection_edits") or {}
        kind = source.get("kind")
        self.state.auto_analyze = False
        try:
            self.state.settings = settings
            if kind == "demo":
                self.load.source_choice.value = "demo"
                self.load.load_demo()
            elif kind == "files":
                self.load.source_choice.value = "files"
                for table, box in self.load.paths.items():
                    box.value = (source.get("paths") or {}).get(table) or ""
                self.load.date_format.value = source.get("date_format") or ""
                self.load.preview_files()
                self.load.set_column_map(column_map)
                self.load.load()
            elif kind in ("upload", "study"):
                what = "uploaded files are" if kind == "upload" else "a study passed in is"
                self.message.value = note(
                    f"The saved state used data that are not stored ({what} never saved): "
                    "load the data again; settings were restored.",
                    "error",
                )
                edits = {} if self.state.study is None else edits
            if self.state.study is not None and edits:
                from ..schedule import set_injections

                study = self.state.study
                for pid, days in edits.items():
                    study = set_injections(study, str(pid), [float(d) for d in days])
                self.state.injection_edits = {
                    str(k): [float(d) for d in v] for k, v in edits.items()
                }
                self.state.study = study
        finally:
            self.state.auto_analyze = True
        self.state.refresh()
        step = data.get("step")
        if step:
            self.go(step)
