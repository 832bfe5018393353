"""msc-notebooks: analyse repeated-injection cell-therapy trials in ALS, in Jupyter.

The data flows one way, and each stage is a plain function:

>>> import msc_notebooks as msc
>>> study = msc.load_demo()                       # read and validate (tables + exclusions + ledger)
>>> result = msc.analyze(study)                   # periods, rates, summaries, safety
>>> result.summary.loc[result.summary.period == "1-2", "n_responders"].item()
15

Heavy libraries (pandas, altair, ipywidgets) are imported when first needed, so that
``import msc_notebooks`` stays fast.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# public name -> module that defines it (imported lazily, PEP 562)
_LAZY = {
    "Settings": "settings",
    "SETTING_HELP": "settings",
    "MscError": "errors",
    "InputError": "errors",
    "ScheduleError": "errors",
    "SettingsError": "errors",
    "StudyData": "study",
    "read_study": "loading",
    "read_table": "loading",
    "load_demo": "demo",
    "demo_tables": "demo",
    "analyze": "analysis",
    "AnalysisResult": "analysis",
    "reclassify": "analysis",
    "protocol_schedule": "schedule",
    "interval_table": "schedule",
    "analyze_safety": "safety",
    "write_results": "export",
    "setup_notebook": "notebook",
    "load_ipython_extension": "notebook",
    "simulate_null": "null_model",
    "attach_null": "null_model",
    "natural_history_responders": "natural_history",
    "natural_history_cohort": "synthetic",
    "match_controls": "matched_controls",
    "MatchedControls": "matched_controls",
    "SafetyResult": "safety",
    "run_analysis": "pipeline",
    "fit_slopes": "slopes",
    "SlopesResult": "slopes",
    "cohort_mean_table": "trajectory",
    "outcome_quantiles": "trajectory",
    "html_report": "report",
    "Wizard": "widgets",
    "stage_tables": "stages",
    "assessment_stages": "stages",
    "progression_strata": "strata",
    "strata_summary": "strata",
}

# submodules reachable as ``msc.charts`` etc. (imported on first use). No function shares
# a submodule's name (importing a submodule sets the package attribute to the module, so
# such a function would come and go): ``msc.natural_history`` and ``msc.matched_controls``
# are modules; their functions are ``natural_history_responders`` and ``match_controls``.
_SUBMODULES = (
    "analysis",
    "cells",
    "charts",
    "cli",
    "columns",
    "demo",
    "errors",
    "export",
    "ledger",
    "loading",
    "matched_controls",
    "natural_history",
    "notebook",
    "notebook_runs",
    "null_model",
    "outcome_tables",
    "pipeline",
    "proact",
    "progression",
    "projects",
    "report",
    "responders",
    "safety",
    "schedule",
    "servers",
    "settings",
    "slopes",
    "stages",
    "strata",
    "study",
    "study_state",
    "summary",
    "synthetic",
    "table_format",
    "teaching",
    "trajectory",
    "validation",
    "voila_app",
    "widgets",
)

__all__ = sorted([*_LAZY, *_SUBMODULES]) + ["__version__"]


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'msc_notebooks' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
