"""Study and teaching projects: create a folder from a template, read its settings and data.

This module is what ``msc-notebooks new`` calls, and what the template notebooks call to
read their settings file and their data (running notebooks is
:mod:`msc_notebooks.notebook_runs`; starting JupyterLab and Voilà is
:mod:`msc_notebooks.servers`).

* :func:`new_project` renders a cookiecutter template (``msc-study`` or ``msc-teaching``)
  into a new folder. Notebooks are copied as they are (no Jinja in a notebook); the values
  a user gives go into ``study.yaml`` / ``lesson.yaml``, which each notebook's cell
  tagged ``parameters`` reads through :func:`read_project_config`.
* :func:`load_project_study` reads the study's data files, or falls back to the bundled
  demo cohort (and says so) when they are absent, so every notebook runs top to bottom.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .errors import InputError, MscError, SettingsError, check_names
from .settings import SETTING_CHOICES

__all__ = [
    "TEMPLATES",
    "CONFIG_FILES",
    "join_surrogate_escapes",
    "load_project_study",
    "check_study_data",
    "new_project",
    "read_project_config",
    "template_defaults",
    "templates_dir",
]

#: The project templates shipped with the package, by name.
TEMPLATES: tuple[str, ...] = ("msc-study", "msc-teaching")

#: The settings file each template writes (and its notebooks read).
CONFIG_FILES: dict[str, str] = {"msc-study": "study.yaml", "msc-teaching": "lesson.yaml"}

#: Context keys the generator fills itself (never asked, never written to the yaml).
_INTERNAL_KEYS = ("_folder_name",)

#: Numeric settings in the templates (converted from text given on the command line).
_NUMERIC_KEYS = ("threshold_pct", "n_simulations")


# --------------------------------------------------------------------------- templates
def templates_dir() -> Path:
    """Return the folder holding the cookiecutter templates.

    In a wheel the templates are inside the package (``msc_notebooks/templates``); in a
    source checkout or an editable install they are the repository's ``templates/``.

    Returns
    -------
    pathlib.Path
        A folder with one sub-folder per name in :data:`TEMPLATES`.

    Examples
    --------
    >>> (templates_dir() / "msc-study" / "cookiecutter.json").is_file()
    True
    """
    here = Path(__file__).resolve().parent
    for candidate in (here / "templates", here.parent / "templates"):
        if (candidate / TEMPLATES[0] / "cookiecutter.json").is_file():
            return candidate
    raise MscError(  # pragma: no cover - only a broken installation gets here
        f"the project templates are missing (looked in {here / 'templates'} and "
        f"{here.parent / 'templates'}); reinstall msc-notebooks"
    )


def _template_path(template: str) -> Path:
    if template not in TEMPLATES:
        raise SettingsError(
            f"unknown template {template!r}; choose one of {', '.join(repr(t) for t in TEMPLATES)}"
        )
    return templates_dir() / template


def template_defaults(template: str = "msc-study") -> dict[str, Any]:
    """Return the variables a template asks for, with their defaults.

    Parameters
    ----------
    template : {'msc-study', 'msc-teaching'}
        The template.

    Returns
    -------
    dict
        Variable name -> default (for a choice, the first choice). Private variables
        (``_...``) and the folder name (taken from the destination) are left out.

    Examples
    --------
    >>> d = template_defaults("msc-study")
    >>> d["threshold_pct"], d["reference"], d["method"], d["visits"]
    (25, 'run-in', 'endpoints', 'data/visits.csv')
    """
    raw = json.loads((_template_path(template) / "cookiecutter.json").read_text("utf-8"))
    return {
        key: (value[0] if isinstance(value, list) else value)
        for key, value in raw.items()
        if not key.startswith("_") and key not in _INTERNAL_KEYS
    }


def _number(key: str, value: Any) -> int | float:
    if isinstance(value, bool):
        raise SettingsError(f"{key} must be a number, not {value!r}")
    if isinstance(value, int | float):
        return value
    try:
        number = float(str(value).strip())
    except ValueError:
        raise SettingsError(f"{key} must be a number, not {value!r}") from None
    return int(number) if number.is_integer() else number


def _clean_context(template: str, context: Mapping[str, Any] | None) -> dict[str, Any]:
    """Check a template context: known keys, numbers, choices (errors name the key)."""
    known = template_defaults(template)
    context = dict(context or {})
    check_names(context, sorted(known), "template variable", f" for {template!r}")
    for key in _NUMERIC_KEYS:
        if key in context:
            context[key] = _number(key, context[key])
    for key, allowed in SETTING_CHOICES.items():
        if key in context and context[key] not in allowed:
            quoted = ", ".join(repr(a) for a in allowed)
            raise SettingsError(f"{key} must be one of {quoted}, not {context[key]!r}")
    for key, value in context.items():
        if key not in _NUMERIC_KEYS and not isinstance(value, str):
            context[key] = "" if value is None else str(value)
    return context


def _jinja_literal(value: Any) -> Any:
    """Text that cookiecutter's Jinja pass renders back to ``value`` exactly.

    Cookiecutter renders every variable once as a template (for derived defaults), so a
    title holding ``{{`` would be evaluated. Every ``{`` (the start of all Jinja tags) and
    every newline (Jinja drops a trailing one) become Jinja string expressions.
    """
    if not isinstance(value, str):
        return value
    out = value.replace("{", '{{ "{" }}')
    return out.replace("\r", '{{ "\\r" }}').replace("\n", '{{ "\\n" }}')


def new_project(
    dest: str | os.PathLike[str],
    template: str = "msc-study",
    context: Mapping[str, Any] | None = None,
    no_input: bool = True,
) -> Path:
    """Create a study (or a lesson) folder from a template.

    Parameters
    ----------
    dest : path
        The folder to create; it must not exist yet. Its name is the project's folder name.
    template : {'msc-study', 'msc-teaching'}
        ``msc-study``: guided analysis notebooks, ``study.yaml``, ``data/`` (ignored by
        git), a README and ``binder/``. ``msc-teaching``: a lesson on the demo cohort.
    context : dict, optional
        Template variables to set (see :func:`template_defaults`), for example
        ``{"study_title": "MSC-ALS 2021", "threshold_pct": 30}``. Any text is safe
        (quotes, backslashes, braces, non-ASCII): values are written to the yaml file as
        quoted strings and never into a notebook.
    no_input : bool, default True
        False asks for every variable not given, on the terminal (cookiecutter prompts).

    Returns
    -------
    pathlib.Path
        The created folder.

    Raises
    ------
    MscError
        If ``dest`` exists, the template is unknown, or a variable is unknown or invalid.

    Examples
    --------
    >>> import tempfile, yaml
    >>> tmp = Path(tempfile.mkdtemp())
    >>> p = new_project(tmp / "trial", context={"study_title": 'Étude "ALS" {{ 2 }}'})
    >>> sorted(f.name for f in p.glob("*.ipynb"))[:2]
    ['01_data.ipynb', '02_injections.ipynb']
    >>> yaml.safe_load((p / "study.yaml").read_text("utf-8"))["study_title"]
    'Étude "ALS" {{ 2 }}'
    """
    from cookiecutter.main import cookiecutter

    from . import __version__

    dest = Path(dest).expanduser().absolute()
    template_path = _template_path(template)
    cleaned = _clean_context(template, context)
    if dest.exists():
        raise MscError(f"{dest} already exists; choose a new folder name for the project")
    if not dest.name:
        raise MscError(f"{dest} is not a usable folder name")
    dest.parent.mkdir(parents=True, exist_ok=True)
    cleaned = {key: _jinja_literal(value) for key, value in cleaned.items()}
    # Cookiecutter renders every path below the project folder as a template, so the
    # project is generated under a plain name in a scratch folder beside ``dest`` and then
    # moved into place (any folder name works; a failure leaves nothing behind).
    scratch = Path(tempfile.mkdtemp(prefix=".msc-new-", dir=dest.parent))
    try:
        extra = {**cleaned, "_folder_name": "project", "_msc_notebooks_version": __version__}
        created = cookiecutter(
            str(template_path),
            no_input=no_input,
            extra_context=extra,
            output_dir=str(scratch),
            accept_hooks=True,
        )
        Path(created).rename(dest)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return dest


# ------------------------------------------------------------------ notebook helpers
_SURROGATE_PAIR = re.compile(r"\\\\|\\u(d[89ab][0-9a-f][0-9a-f])\\u(d[c-f][0-9a-f][0-9a-f])", re.I)


def join_surrogate_escapes(folder: str | os.PathLike[str] = ".") -> None:
    r"""Make a rendered ``study.yaml`` / ``lesson.yaml`` valid YAML for astral characters.

    The templates' post-generation hooks call this. The settings file is rendered with
    Jinja's ``tojson``, which writes a character outside the Basic Multilingual Plane (an
    emoji, say) as a JSON surrogate pair ``\\ud83d\\ude00``; YAML forbids surrogate
    escapes, so each pair becomes one ``\\U0001f600`` escape. Escaped backslashes are
    matched first, so a literal backslash followed by ``u`` in a value is left alone.

    Examples
    --------
    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp())
    >>> _ = (d / "study.yaml").write_text('t: "\\ud83d\\ude00 \\\\ud83d"', "utf-8")
    >>> join_surrogate_escapes(d)
    >>> (d / "study.yaml").read_text("utf-8")
    't: "\\U0001f600 \\\\ud83d"'
    """

    def join(match: re.Match) -> str:
        if match.group(1) is None:
            return match.group(0)
        high, low = int(match.group(1), 16), int(match.group(2), 16)
        return "\\U" + format(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00), "08x")

    for name in CONFIG_FILES.values():
        path = Path(folder) / name
        if path.is_file():
            text = path.read_text(encoding="utf-8")
            path.write_text(_SURROGATE_PAIR.sub(join, text), encoding="utf-8")


def _fix_surrogates(value: Any) -> Any:
    # PyYAML decodes a "\ud83d\ude00" escape pair as two lone surrogates: join them.
    if isinstance(value, str):
        try:
            return value.encode("utf-16", "surrogatepass").decode("utf-16")
        except UnicodeDecodeError:  # pragma: no cover - a lone surrogate: keep it
            return value
    if isinstance(value, dict):
        return {k: _fix_surrogates(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_fix_surrogates(v) for v in value]
    return value


def read_project_config(
    path: str | os.PathLike[str] = "study.yaml", template: str | None = None
) -> dict[str, Any]:
    """Read a project's settings file, with the template's defaults for what it omits.

    The template notebooks call this in their cell tagged ``parameters``, so the
    defaults of a run come from the file and papermill (``msc-notebooks run -p``) can
    still override them. A missing file (a notebook copied from the JupyterLab Launcher
    into any folder) gives the template defaults, with a printed line saying so.

    Parameters
    ----------
    path : path, default 'study.yaml'
        The settings file (``study.yaml`` for a study, ``lesson.yaml`` for a lesson).
    template : {'msc-study', 'msc-teaching'}, optional
        Whose defaults to use; by default guessed from the file name.

    Returns
    -------
    dict
        Every template variable (numbers as numbers, empty ``date_format`` as None) plus
        ``column_map`` (dict, default empty) for a study.

    Examples
    --------
    >>> import tempfile
    >>> f = Path(tempfile.mkdtemp()) / "study.yaml"
    >>> _ = f.write_text('threshold_pct: "30"\\nreference: "onset"\\n', "utf-8")
    >>> c = read_project_config(f)
    >>> c["threshold_pct"], c["reference"], c["method"], c["date_format"]
    (30, 'onset', 'endpoints', None)
    """
    import yaml

    path = Path(path)
    if template is None:
        template = "msc-teaching" if path.name == CONFIG_FILES["msc-teaching"] else "msc-study"
    config = template_defaults(template)
    if template == "msc-study":
        config["column_map"] = {}
    text = path.read_text("utf-8") if path.is_file() else None
    # values in a rendered file are quoted, so only a template has them bare
    if text is not None and re.search(r"^\w+:\s*\{\{\s*cookiecutter\.", text, re.M):
        # the template's own, unrendered file (a notebook run inside templates/)
        print(f"{path.name} here is an unrendered template: using the template's default settings.")
        text = None
    elif text is None:
        print(f"No {path.name} in this folder: using the template's default settings.")
    if text is None and template == "msc-study":
        # no study here (a Launcher copy, the template itself): the synthetic demo cohort,
        # asked for by the absence of any study, and said so
        config["demo"] = True
        print("No study: the bundled synthetic demo cohort is analysed (demo: true).")
    if text is not None:
        try:
            loaded = yaml.safe_load(text) or {}
        except yaml.YAMLError as err:
            raise MscError(f"{path} is not valid YAML: {err}") from None
        if not isinstance(loaded, dict):
            raise MscError(f"{path} must hold 'name: value' lines, not {type(loaded).__name__}")
        config.update(_fix_surrogates(loaded))
    for key in _NUMERIC_KEYS:
        if key in config:
            config[key] = _number(key, config[key])
    for key in ("date_format", "patients", "adverse_events", "natural_history"):
        if key in config and config[key] in ("", None):
            config[key] = None
    if "demo" in config:  # key=value on the command line gives text: read it as yes/no
        config["demo"] = _yes(config["demo"])
    if config.get("column_map") is None and template == "msc-study":
        config["column_map"] = {}
    return config


def _yes(value: Any) -> bool:
    """A yes/no setting from YAML or the command line (true/false, yes/no, 1/0).

    Examples
    --------
    >>> _yes("true"), _yes(False), _yes("no"), _yes(None)
    (True, False, False, False)
    """
    if isinstance(value, bool) or value is None:
        return bool(value)
    text = str(value).strip().lower()
    if text in ("true", "yes", "y", "1", "on"):
        return True
    if text in ("false", "no", "n", "0", "off", ""):
        return False
    raise SettingsError(f"demo must be true or false, not {value!r}")


def check_study_data(
    visits: Any, injections: Any, base_dir: str | os.PathLike[str], demo: bool | None
) -> list[str]:
    """The required data files that are missing; an error naming them unless ``demo``.

    Parameters
    ----------
    visits, injections : path
        As in ``study.yaml`` (relative to ``base_dir``).
    base_dir : path
        The study folder.
    demo : bool
        ``demo: true``: missing files are allowed (the demo cohort is analysed).

    Returns
    -------
    list of str
        The missing files (empty when both exist).

    Raises
    ------
    InputError
        A file is missing and ``demo`` is false.

    Examples
    --------
    >>> check_study_data("v.csv", "i.csv", "/nowhere", demo=True)
    ['v.csv', 'i.csv']
    """
    base = Path(base_dir)

    def absent(name: Any) -> bool:
        if name in (None, ""):
            return True
        p = Path(name).expanduser()
        return not (p if p.is_absolute() else base / p).is_file()

    missing = [str(v) for v in (visits, injections) if absent(v)]
    if missing and not demo:
        raise InputError(
            f"data file(s) not found: {', '.join(missing)} (looked in {base})",
            source="study.yaml",
            column="visits" if absent(visits) else "injections",
            fix="put the files there or correct the paths in study.yaml; to analyse the "
            "bundled synthetic demo cohort instead, set demo: true in study.yaml",
        )
    return missing


def load_project_study(
    visits: str | os.PathLike[str] | None,
    injections: str | os.PathLike[str] | None,
    patients: str | os.PathLike[str] | None = None,
    adverse_events: str | os.PathLike[str] | None = None,
    column_map: Mapping[str, Any] | None = None,
    date_format: str | None = None,
    base_dir: str | os.PathLike[str] | None = None,
    demo: bool | None = None,
):
    """Read a study's data files; the bundled demo cohort only when asked for (``demo``).

    Parameters
    ----------
    visits, injections : path
        The two required tables (relative paths are relative to ``base_dir``). If either
        file does not exist, that is an :class:`~msc_notebooks.errors.InputError` naming
        them, unless ``demo`` is true: then the synthetic demo cohort is analysed and a
        line says so (and every result says "synthetic demo data").
    patients, adverse_events : path, optional
        Optional tables; a named file that does not exist is skipped, with a line saying so.
    column_map, date_format
        Passed to :func:`msc_notebooks.read_study`.
    base_dir : path, optional
        Folder the relative paths start from (default: the current folder, which is the
        notebook's folder in Jupyter and in :func:`run_notebook`).
    demo : bool, optional
        ``demo: true`` in ``study.yaml``: analyse the demo cohort when the files are absent.
        Default: false in a study folder (``base_dir`` holds ``study.yaml``), true where
        there is no study at all (a notebook copied from the JupyterLab Launcher).

    Returns
    -------
    msc_notebooks.StudyData
        The validated study (see ``study.StudyData``).

    Raises
    ------
    InputError
        A required data file does not exist and ``demo`` is false.

    Examples
    --------
    >>> load_project_study("no/visits.csv", "no/injections.csv", base_dir="/nowhere",
    ...                    demo=False)
    Traceback (most recent call last):
    ...
    msc_notebooks.errors.InputError: study.yaml, ...: data file(s) not found: no/visits.csv, no/injections.csv ...
    """
    import msc_notebooks as msc

    base = Path(base_dir) if base_dir is not None else Path.cwd()
    if demo is None:  # no study here at all: the demo cohort, said so below
        demo = not (base / CONFIG_FILES["msc-study"]).is_file()

    def resolve(name: Any) -> Path | None:
        if name in (None, ""):
            return None
        p = Path(name).expanduser()
        return p if p.is_absolute() else base / p

    missing = check_study_data(visits, injections, base, demo)
    if missing:
        print(
            f"Data files not found ({', '.join(missing)}) and demo: true in study.yaml: "
            "analysing the bundled SYNTHETIC demo cohort (synthetic demo data, not a real "
            "study). Put your files in place, set demo: false and run again."
        )
        return msc.load_demo()
    optional: dict[str, Path | None] = {}
    for name, value in {"patients": patients, "adverse_events": adverse_events}.items():
        p = resolve(value)
        if p is not None and not p.is_file():
            print(f"No {name} file at {value}: analysing without it.")
            p = None
        optional[name] = p
    read = [str(v) for v in (visits, injections, patients, adverse_events) if v]
    study = msc.read_study(
        visits=resolve(visits),
        injections=resolve(injections),
        patients=optional["patients"],
        adverse_events=optional["adverse_events"],
        column_map=dict(column_map) if column_map else None,
        date_format=date_format or None,
    )
    print(f"Data read from: {', '.join(read)}")
    return study
