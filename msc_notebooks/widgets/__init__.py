"""Jupyter widgets: the six steps of an analysis and the :class:`Wizard` that joins them.

>>> from msc_notebooks.widgets import Wizard
>>> wizard = Wizard()          # in a notebook cell: shows step 1, Load (demo one click away)

Each step also works alone, on its own or on a shared :class:`WizardState`::

    state = WizardState()
    LoadStep(state); SettingsStep(state); ResultsStep(state)

The interactive injection timeline is :class:`InjectionTimeline` (an anywidget whose front
end is ``widgets/static/timeline.js``, no build step, nothing from the internet).
"""

from __future__ import annotations

from .export_step import ExportStep
from .injections_step import InjectionsStep
from .load_step import LoadStep, guess_column_map
from .results_step import ResultsStep
from .safety_step import SafetyStep
from .settings_step import SettingsStep
from .state import WizardState
from .timeline import InjectionTimeline
from .wizard import Wizard

__all__ = [
    "Wizard",
    "WizardState",
    "LoadStep",
    "InjectionsStep",
    "SettingsStep",
    "ResultsStep",
    "SafetyStep",
    "ExportStep",
    "InjectionTimeline",
    "guess_column_map",
]
