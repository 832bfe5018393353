"""One study state, kept in the study folder: what was loaded, how, the edits and settings.

A study folder holds ``study.yaml`` (written once by ``msc-notebooks new``, edited by
hand) and, beside it, ``study-state.yaml``: what the Wizard changed (data files, column
map, date format, injection edits, settings). :func:`read_state` reads both (the Wizard's
file wins); :func:`restore` turns a state into the study and settings the analysis needs.
Every template notebook, the Wizard, a kernel restart and ``msc-notebooks run`` go through
these two functions, so they all see what the user last saw.

State keys (all optional except where said): ``visits``, ``injections`` (paths, relative
to the study folder; missing files mean the demo cohort), ``patients``,
``adverse_events``, ``column_map`` (table -> {your column: canonical name}),
``date_format``, ``injection_edits`` (patient id -> list of injection dates
``YYYY-MM-DD``, or day numbers for day-based data), ``settings`` (any
:class:`~msc_notebooks.settings.Settings` field), and ``threshold_pct``, ``reference``,
``method`` (``study.yaml``'s own settings; they win over ``settings``), ``natural_history``
(an untreated cohort for the matched controls, :func:`matched_controls_for`), with
``match_k`` and ``caliper``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
from pathlib import Path
from typing import Any

from .errors import InputError
from .settings import Settings

__all__ = [
    "STATE_FILE",
    "CONFIG_FILE",
    "read_state",
    "write_state",
    "restore",
    "state_settings",
    "column_map_yaml",
    "edits_for_state",
    "edit_days",
    "load_problem",
    "record_recognised",
    "matched_controls_for",
    "NO_NATURAL_HISTORY",
]

#: The study's settings file (written by ``msc-notebooks new``).
CONFIG_FILE = "study.yaml"
#: The Wizard's state file, beside ``study.yaml``.
STATE_FILE = "study-state.yaml"

_TOP_SETTINGS = ("threshold_pct", "reference", "method")
_HEADER = (
    "# Written by the msc-notebooks Wizard: what you loaded and changed in it (data files,\n"
    "# column map, date format, injection edits, settings). Every notebook of this folder\n"
    "# and `msc-notebooks run` read it after study.yaml (its values win). Delete this file\n"
    "# to go back to study.yaml alone.\n"
)


def _folder(path: str | os.PathLike[str]) -> Path:
    p = Path(path)
    return p.parent if p.suffix in (".yaml", ".yml") else p


def read_state(folder: str | os.PathLike[str] = ".") -> dict[str, Any]:
    """Read a study folder's state: ``study.yaml``, then the Wizard's ``study-state.yaml``.

    Parameters
    ----------
    folder : path, default '.'
        The study folder (or its ``study.yaml``).

    Returns
    -------
    dict
        Every key of ``study.yaml`` (template defaults for what it omits), overridden by
        ``study-state.yaml``; ``settings`` holds the Wizard's settings, and
        ``threshold_pct``, ``reference``, ``method`` follow them.

    Examples
    --------
    >>> import tempfile, yaml
    >>> d = Path(tempfile.mkdtemp())
    >>> _ = (d / "study.yaml").write_text('threshold_pct: 25\\nvisits: "data/v.csv"\\n')
    >>> _ = (d / "study-state.yaml").write_text(yaml.safe_dump({"settings": {"threshold_pct": 30}}))
    >>> s = read_state(d)
    >>> s["threshold_pct"], s["visits"], s["injection_edits"]
    (30, 'data/v.csv', {})
    """
    import yaml

    from .projects import read_project_config

    folder = _folder(folder)
    config_path = folder / CONFIG_FILE
    state = read_project_config(config_path, template="msc-study")
    state.setdefault("injection_edits", {})
    state.setdefault("settings", {})
    path = folder / STATE_FILE
    if path.is_file():
        try:
            saved = yaml.safe_load(path.read_text("utf-8")) or {}
        except yaml.YAMLError as err:
            raise InputError(
                f"not valid YAML: {err}", source=STATE_FILE, fix=f"delete {STATE_FILE}"
            ) from None
        if not isinstance(saved, dict):
            raise InputError("must hold 'name: value' lines", source=STATE_FILE)
        settings = dict(state.get("settings") or {})
        settings.update(saved.pop("settings", None) or {})
        state.update(saved)
        state["settings"] = settings
        for key in _TOP_SETTINGS:
            if key in settings:
                state[key] = settings[key]
    for key in ("column_map", "injection_edits", "settings"):
        if state.get(key) is None:
            state[key] = {}
    return state


def write_state(folder: str | os.PathLike[str], state: dict[str, Any]) -> Path:
    """Write the Wizard's part of a state to ``study-state.yaml`` in the study folder.

    Parameters
    ----------
    folder : path
        The study folder.
    state : dict
        Keys ``visits``, ``injections``, ``patients``, ``adverse_events``, ``column_map``,
        ``date_format``, ``injection_edits``, ``settings`` (others are ignored).

    Returns
    -------
    Path
        The file written.

    Examples
    --------
    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp())
    >>> p = write_state(d, {"visits": "data/v.csv", "settings": {"threshold_pct": 40}})
    >>> read_state(d)["threshold_pct"]
    No study.yaml in this folder: using the template's default settings.
    No study: the bundled synthetic demo cohort is analysed (demo: true).
    40
    """
    import yaml

    keep = ("visits", "injections", "patients", "adverse_events", "column_map", "date_format")
    data = {k: state.get(k) for k in keep if k in state}
    data["injection_edits"] = {
        str(k): list(v) for k, v in (state.get("injection_edits") or {}).items()
    }
    data["settings"] = dict(state.get("settings") or {})
    path = _folder(folder) / STATE_FILE
    text = _HEADER + yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
    return path


def state_settings(state: dict[str, Any]) -> Settings:
    """The analysis settings of a state (``study.yaml``'s three keys win over ``settings``).

    Examples
    --------
    >>> state_settings({"settings": {"window_days": 7}, "threshold_pct": 30}).window_days
    7
    """
    fields = {f.name for f in dataclasses.fields(Settings)} - {"extra"}
    values = {k: v for k, v in (state.get("settings") or {}).items() if k in fields}
    for key in _TOP_SETTINGS:
        if state.get(key) is not None:
            values[key] = state[key]
    return Settings.from_dict(values)


def edit_days(values: list[Any], time_kind: str) -> list[float]:
    """Injection edits read back from the state file as days (dates: days since 1970).

    Examples
    --------
    >>> edit_days(["2022-01-08", 19090], "date"), edit_days([90], "day")
    ([19000.0, 19090.0], [90.0])
    """
    days = []
    for v in values:
        if isinstance(v, dt.date) or (isinstance(v, str) and "-" in v.strip()[1:]):
            d = v if isinstance(v, dt.date) else dt.date.fromisoformat(str(v).strip())
            days.append(float((d - dt.date(1970, 1, 1)).days))
        else:
            days.append(float(v))
    return days


def edits_for_state(edits: dict[str, list[float]], time_kind: str) -> dict[str, list[Any]]:
    """Injection edits as the state file keeps them: ISO dates for calendar data.

    Examples
    --------
    >>> edits_for_state({"A": [19000.0]}, "date"), edits_for_state({"A": [90.0]}, "day")
    ({'A': ['2022-01-08']}, {'A': [90.0]})
    """
    if time_kind != "date":
        return {str(k): [float(d) for d in v] for k, v in edits.items()}
    epoch = dt.date(1970, 1, 1)
    return {
        str(k): [(epoch + dt.timedelta(days=round(float(d)))).isoformat() for d in v]
        for k, v in edits.items()
    }


def restore(
    state: dict[str, Any], base_dir: str | os.PathLike[str] | None = None
) -> tuple[Any, Settings]:
    """Rebuild the study and settings of a state (what the user saw in the Wizard).

    Reads the data files (or the demo cohort when the visits or injections file is
    absent) with the state's column map and date format, applies the injection edits, and
    builds the settings.

    Parameters
    ----------
    state : dict
        From :func:`read_state`.
    base_dir : path, optional
        The study folder (relative paths start there); default the current folder.

    Returns
    -------
    (StudyData, Settings)

    Raises
    ------
    InputError
        When a file cannot be read or validated: the message names the file, column,
        rows and the fix.

    Examples
    --------
    >>> study, settings = restore({"visits": "none.csv", "injections": "none.csv",
    ...                            "injection_edits": {"001": [16950, 17050]}})  # doctest: +ELLIPSIS
    Data files not found ...
    >>> study.injections.query("patient_id == '001'").day.tolist(), settings.threshold_pct
    ([16950.0, 17050.0], 25)
    """
    from .projects import load_project_study
    from .schedule import set_injections

    settings = state_settings(state)
    study = load_project_study(
        state.get("visits"),
        state.get("injections"),
        state.get("patients"),
        state.get("adverse_events"),
        column_map=state.get("column_map") or None,
        date_format=state.get("date_format") or None,
        base_dir=base_dir,
        demo=state.get("demo"),
    )
    known = set(study.injections["patient_id"].astype(str)) | set(
        study.patients["patient_id"].astype(str) if len(study.patients) else []
    )
    for pid, values in (state.get("injection_edits") or {}).items():
        if str(pid) not in known:
            raise InputError(
                f"injection edits for patient {pid}, who is not in the data",
                source=STATE_FILE,
                fix=f"delete the lines of patient {pid} under injection_edits in {STATE_FILE}",
            )
        study = set_injections(study, str(pid), edit_days(list(values), study.time_kind))
    return study, settings


def column_map_yaml(column_map: dict[str, dict[str, str]]) -> str:
    """The ``column_map:`` line to put in ``study.yaml`` for a map (a fix users can copy).

    Examples
    --------
    >>> column_map_yaml({"visits": {"Patient": "patient_id"}})
    'column_map: {visits: {Patient: patient_id}}'
    """
    import yaml

    return (
        "column_map: " + yaml.safe_dump(column_map, default_flow_style=True, width=10_000).strip()
    )


def load_problem(
    error: BaseException, state: dict[str, Any], folder: str | os.PathLike[str] = "."
) -> str:
    """What a template notebook says when the study's data do not load (no traceback).

    The error's own message (file, column, rows, fix), then the fix in ``study.yaml``
    terms: the ``column_map`` line with the columns the kit recognised in each file, and
    the Wizard's Load step as the way to do it without editing anything.

    Parameters
    ----------
    error : Exception
        What :func:`restore` raised.
    state : dict
        From :func:`read_state`.
    folder : path, default '.'
        The study folder.

    Returns
    -------
    str
        Plain text for ``print``.

    Examples
    --------
    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp()); (d / "data").mkdir()
    >>> _ = (d / "data" / "v.csv").write_text("Patient;Visit dt;ALSFRS-R\\nA;01/02/2022;40\\n")
    >>> err = InputError("missing required column(s) 'patient_id'", source="v.csv")
    >>> text = load_problem(err, {"visits": "data/v.csv"}, d)
    >>> print(text.splitlines()[0])
    The data could not be loaded: v.csv: missing required column(s) 'patient_id'
    >>> print(text.splitlines()[3])
        column_map: {visits: {ALSFRS-R: alsfrs_r_total, Patient: patient_id, Visit dt: date}}
    """
    from .columns import REQUIRED, suggest_column
    from .errors import MscError
    from .loading import read_table

    folder = _folder(folder)
    text = str(error) if isinstance(error, MscError) else f"{type(error).__name__}: {error}"
    lines = [f"The data could not be loaded: {text}"]
    guessed: dict[str, dict[str, str]] = {}
    for table in ("visits", "injections", "patients", "adverse_events"):
        name = state.get(table)
        if not name or not (folder / name).is_file():
            continue
        try:
            raw = read_table(folder / name, table)
        except Exception:  # noqa: BLE001 - the main error is already said
            continue
        pairs = dict(raw.attrs.get("recognised", {}))  # their name -> canonical
        free = [str(c) for c in raw.columns if c != "row" and str(c) not in pairs.values()]
        needed = list(REQUIRED[table]) + (["alsfrs_r_total"] if table == "visits" else [])
        for want in needed:
            options = want if isinstance(want, tuple) else (want,)
            if any(o in raw.columns for o in options):
                continue
            pick = suggest_column(options[0], [c for c in free if c not in pairs])
            if pick is not None:
                pairs[pick] = options[0]
        if pairs:
            guessed[table] = dict(sorted(pairs.items()))
    lines.append(
        "To fix it without code: the Wizard below opens on step 1 (Load) with your files "
        "and the columns the kit recognised filled in; check them, press 'Load and "
        "validate', and the Wizard records the map in study-state.yaml for every notebook."
    )
    if guessed:
        lines.append(
            "Or write the map in study.yaml (replace its column_map line), then run again:\n"
            "    " + column_map_yaml(guessed)
        )
    if not state.get("date_format"):
        lines.append(
            "If your dates are day/month/year and some are ambiguous, also set in study.yaml:"
            '\n    date_format: "%d/%m/%Y"'
        )
    return "\n".join(lines)


def record_recognised(folder: str | os.PathLike[str], study: Any) -> str:
    """Record the column names the kit recognised in ``study-state.yaml``; say which.

    The state file's ``column_map`` is only filled when it has none yet (a map chosen
    in the Wizard is never replaced).

    Parameters
    ----------
    folder : path
        The study folder.
    study : StudyData
        A study read from files (``study.recognised``: table -> {your column: canonical}).

    Returns
    -------
    str
        One line per table with recognised columns (empty when none).

    Examples
    --------
    >>> import tempfile
    >>> from types import SimpleNamespace
    >>> d = Path(tempfile.mkdtemp())
    >>> s = SimpleNamespace(recognised={"visits": {"Patient": "patient_id"}})
    >>> print(record_recognised(d, s))
    Columns recognised in visits: Patient -> patient_id (recorded in study-state.yaml)
    >>> import yaml; yaml.safe_load((d / STATE_FILE).read_text())["column_map"]
    {'visits': {'Patient': 'patient_id'}}
    """
    import yaml

    recognised = {t: dict(m) for t, m in (getattr(study, "recognised", None) or {}).items() if m}
    if not recognised:
        return ""
    path = _folder(folder) / STATE_FILE
    saved = {}
    if path.is_file():
        saved = yaml.safe_load(path.read_text("utf-8")) or {}
    if not saved.get("column_map"):
        saved["column_map"] = recognised
        write_state(folder, saved)
    return "\n".join(
        f"Columns recognised in {t}: "
        + ", ".join(f"{a} -> {b}" for a, b in m.items())
        + f" (recorded in {STATE_FILE})"
        for t, m in recognised.items()
    )


#: What the study notebooks say when ``study.yaml`` names no natural-history cohort.
NO_NATURAL_HISTORY = (
    "No natural-history cohort named in study.yaml (natural_history: is empty): no "
    "comparison with matched untreated patients. To make one, put an untreated cohort in "
    "data/ (one visits file, or the PRO-ACT files alsfrs.csv, AlsHistory.csv, ... in a "
    'folder) and name it in study.yaml, e.g. natural_history: "data/proact".'
)


def _natural_history_paths(value: Any, base: Path) -> list[Path]:
    """The paths ``natural_history:`` names (one, or a list), resolved from ``base``."""
    values = value if isinstance(value, list) else [value]
    if not values or not all(isinstance(v, str) and v.strip() for v in values):
        raise InputError(
            f"natural_history must be a path or a list of paths, not {value!r}",
            source=CONFIG_FILE,
            column="natural_history",
            fix='e.g. natural_history: "data/proact" in study.yaml (empty: no matched controls)',
        )
    paths = [Path(v.strip()) for v in values]
    paths = [p if p.is_absolute() else base / p for p in paths]
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise InputError(
            f"natural-history cohort not found: {', '.join(missing)}",
            source=CONFIG_FILE,
            column="natural_history",
            fix="put the untreated cohort's file(s) there or correct natural_history: in "
            "study.yaml (empty: no matched controls)",
        )
    return paths


def _matching_options(state: dict[str, Any]) -> tuple[int, float | None]:
    """``match_k`` and ``caliper`` of ``study.yaml`` for :func:`match_controls` (defaults 5
    and 0.5; a caliper of 0 means none), checked in ``study.yaml``'s words."""
    from .matched_controls import DEFAULT_CALIPER, DEFAULT_K

    k = state.get("match_k", DEFAULT_K)
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise InputError(
            f"match_k must be a whole number of controls, at least 1, not {k!r}",
            source=CONFIG_FILE,
            column="match_k",
            fix="e.g. match_k: 5 in study.yaml",
        )
    caliper = state.get("caliper", DEFAULT_CALIPER)
    if caliper is None or caliper == 0:
        return k, None
    if isinstance(caliper, bool) or not isinstance(caliper, (int, float)) or not caliper > 0:
        raise InputError(
            f"caliper must be a positive number of standard deviations, not {caliper!r}",
            source=CONFIG_FILE,
            column="caliper",
            fix="e.g. caliper: 0.5 in study.yaml (0: no caliper)",
        )
    return k, float(caliper)


def matched_controls_for(
    result: Any, state: dict[str, Any], base_dir: str | os.PathLike[str] | None = None
) -> Any:
    """The study's comparison with matched natural-history controls (SPEC §15), if asked for.

    ``natural_history:`` in ``study.yaml`` names the untreated cohort: one visits file
    (canonical or PRO-ACT ``alsfrs.csv`` names), several PRO-ACT files (a list) or their
    folder, relative to the study folder. Prints one line: who was matched and who not
    (:meth:`~msc_notebooks.matched_controls.MatchedControls.sentence`), or
    :data:`NO_NATURAL_HISTORY` when no cohort is named.

    Parameters
    ----------
    result : AnalysisResult
        The study's analysis (its settings apply to the controls).
    state : dict
        From :func:`read_state` (its ``natural_history`` key).
    base_dir : path, optional
        The study folder (relative paths start there); default the current folder.

    Returns
    -------
    MatchedControls or None
        :func:`msc_notebooks.matched_controls.match_controls` with ``match_k`` controls
        per treated patient and ``caliper`` (``study.yaml``; defaults 5 and 0.5 SD, 0 = no
        caliper); None when ``natural_history`` is empty.

    Raises
    ------
    InputError
        In ``study.yaml``'s words: the path is not a path, does not exist, or the cohort
        cannot be read or matched (the underlying file problem is quoted).

    Examples
    --------
    >>> from msc_notebooks import analyze, load_demo
    >>> r = analyze(load_demo())
    >>> matched_controls_for(r, {"natural_history": None}) is None  # doctest: +ELLIPSIS
    No natural-history cohort named in study.yaml ...
    True
    >>> try:
    ...     matched_controls_for(r, {"natural_history": "data/none"})
    ... except InputError as err:
    ...     print(err.render("yaml"))  # doctest: +ELLIPSIS
    study.yaml, column 'natural_history': natural-history cohort not found: data/none. Fix: ...
    """
    from .errors import MscError
    from .matched_controls import match_controls
    from .natural_history import read_natural_history

    value = state.get("natural_history")
    if value in (None, "", []):
        print(NO_NATURAL_HISTORY)
        return None
    k, caliper = _matching_options(state)
    paths = _natural_history_paths(value, Path(base_dir) if base_dir is not None else Path())
    try:
        cohort = read_natural_history(paths[0] if len(paths) == 1 else paths)
        matched = match_controls(result, cohort, k=k, caliper=caliper)
    except MscError as err:
        # the file's own problem, without its fix (a column_map would not apply here)
        where = (
            InputError(err.problem, source=err.source, column=err.column, rows=err.rows)
            if isinstance(err, InputError)
            else err
        )
        raise InputError(
            f"the natural-history cohort it names could not be used ({where})",
            source=CONFIG_FILE,
            column="natural_history",
            fix="correct the untreated cohort's file(s) (canonical or PRO-ACT names), or "
            "empty natural_history: in study.yaml to leave the matched controls out",
        ) from None
    print(matched.sentence())
    return matched
