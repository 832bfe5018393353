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
        Shows the selected step.

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
        **kwargs: Any,
    ) -> None:
        self.state = WizardState(settings=settings or Settings(), auto_analyze=True)
        self.load = LoadStep(self.state)
        self.injections = InjectionsStep(self.state)
        self.settings = SettingsStep(self.state)
        self.results = ResultsStep(self.state, figures=figures)
        self.safety = SafetyStep(self.state, figures=figures)
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
        if study is not None:
            self.state.source = {"kind": "study"}
            self.state.study = study
            self.go("Injections")
        if state_file is not None:
            try:
                self.load_state(state_file)
            except Exception as exc:
                self.message.value = note(describe_error(exc), "error")

    # -- navigation ------------------------------------------------------------------------
    def _select(self, index: int) -> None:
        index = max(0, min(len(self.steps) - 1, index))
        self.stack.selected_index = index
        self.nav.value = index + 1
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
