"""The state every step shares: the study, the settings and the analysis result.

One :class:`WizardState` is passed to every step; the steps observe it (traitlets) and
set it. The state keeps the result up to date through :func:`msc_notebooks.analysis.update`,
which decides between re-counting responders and a new analysis (a face decides nothing).
"""

from __future__ import annotations

from typing import Any

import traitlets

from ..settings import Settings

__all__ = ["WizardState", "describe_error"]


def describe_error(exc: BaseException) -> str:
    """Return the message a user sees for an exception raised while doing what they asked.

    Errors of the kit (:class:`msc_notebooks.errors.MscError`) already say where and how to
    fix; anything else is reported by its type and first line.

    Examples
    --------
    >>> from msc_notebooks.errors import InputError
    >>> describe_error(InputError("no rows", source="v.csv"))
    'v.csv: no rows'
    >>> describe_error(KeyError("day"))
    "Unexpected error (KeyError): 'day'"
    """
    from ..errors import MscError

    if isinstance(exc, MscError):
        return str(exc)
    text = " ".join(str(exc).split())
    if len(text) > 300:
        text = text[:297] + "..."
    return f"Unexpected error ({type(exc).__name__}): {text}".rstrip(": ")


class WizardState(traitlets.HasTraits):
    """The study, settings and result shared by the steps, with where the data came from.

    Attributes
    ----------
    study : StudyData or None
        The validated study (after any injection edits).
    settings : Settings
        The analysis settings.
    result : AnalysisResult or None
        The analysis of ``study`` with ``settings`` (None before data are loaded, or when
        the analysis failed: then ``analysis_error`` says why).
    analysis_error : str
        Why the last analysis failed; empty when it worked.
    last_run : {'', 'analyze', 'reclassify', 'patients'}
        How the current result was made (:func:`msc_notebooks.analysis.update_kind`: the
        fast paths are ``'reclassify'`` for a threshold and ``'patients'`` for an
        injection edit, which re-analyses the edited patients only). The no-effect
        simulation and the matched controls are attached again to every new result.
    source : dict
        How the data were loaded, for :meth:`Wizard.save_state`: ``{"kind": "demo"}``,
        ``{"kind": "files", "paths": {...}, "column_map": {...}, "date_format": ...}``,
        ``{"kind": "upload", "names": {...}}`` (uploads are never stored) or
        ``{"kind": "study"}`` (a StudyData passed in).
    injection_edits : dict
        Patient id to the list of injection days set in the injections step.
    auto_analyze : bool
        Re-run the analysis whenever the study or the settings change (default True).
    null_simulations : int
        Simulated no-effect cohorts attached to every result (SPEC §13); 0 = none.
    natural_history : StudyData or None
        An untreated cohort: when set, every result carries its comparison with matched
        natural-history controls (``result.matched``, SPEC §15).
    match_k : int
        Matched controls per treated patient (default 5).
    caliper : float
        Largest standardised matching distance (default 0.5; 0 = no caliper).

    Examples
    --------
    >>> state = WizardState()
    >>> state.settings.threshold_pct
    25
    >>> state.result is None
    True
    """

    study = traitlets.Any(None, allow_none=True)
    settings = traitlets.Instance(Settings)
    result = traitlets.Any(None, allow_none=True)
    analysis_error = traitlets.Unicode("")
    last_run = traitlets.Unicode("")
    source = traitlets.Dict()
    injection_edits = traitlets.Dict()
    auto_analyze = traitlets.Bool(True)
    null_simulations = traitlets.Int(0)
    natural_history = traitlets.Any(None, allow_none=True)
    match_k = traitlets.Int(5)
    caliper = traitlets.Float(0.5)

    @traitlets.default("settings")
    def _default_settings(self) -> Settings:
        return Settings()

    @traitlets.observe(
        "study", "settings", "null_simulations", "natural_history", "match_k", "caliper"
    )
    def _on_inputs(self, change: dict[str, Any]) -> None:
        if self.auto_analyze:
            self.refresh()

    def refresh(self) -> None:
        """Bring :attr:`result` up to date with :attr:`study` and :attr:`settings`.

        Never raises: a failure empties the result and sets :attr:`analysis_error`.
        """
        if self.study is None:
            self.result = None
            self.analysis_error = ""
            self.last_run = ""
            return
        try:
            from ..analysis import update, update_kind

            old = self.result
            kind = update_kind(old, self.settings, self.study)
            run = self.last_run if kind == "nothing" else kind
            result = self._with_null(update(old, self.settings, self.study))
            result = self._with_matched(result)
        except Exception as exc:  # shown by the steps; never a silent no-op
            self.analysis_error = describe_error(exc)
            self.result = None
            self.last_run = ""
            return
        if result is old:
            return
        self.analysis_error = ""
        self.last_run = run
        self.result = result

    def _with_matched(self, result: Any) -> Any:
        """Attach (or drop) the matched-control comparison (SPEC §15) to match the state."""
        import dataclasses

        matched = getattr(result, "matched", None)
        if self.natural_history is None:
            return result if matched is None else dataclasses.replace(result, matched=None)
        caliper = None if self.caliper <= 0 else float(self.caliper)
        if (
            matched is not None
            and matched.settings == result.settings
            and matched.k == int(self.match_k)
            and matched.caliper == caliper
            and matched.source is self.natural_history
        ):
            return result
        from ..matched_controls import attach_matched

        return attach_matched(result, self.natural_history, k=int(self.match_k), caliper=caliper)

    def _with_null(self, result: Any) -> Any:
        """Attach (or drop) the no-effect simulation so it matches :attr:`null_simulations`."""
        import dataclasses

        n = int(self.null_simulations)
        null = result.null
        if n <= 0:
            return result if null is None else dataclasses.replace(result, null=None)
        if null is not None and len(null) and int(null["n_simulations"].iloc[0]) == n:
            return result
        from ..null_model import attach_null

        return attach_null(result, n)
