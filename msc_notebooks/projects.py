"""Study and teaching projects: create them from templates, run their notebooks, open them.

This module is what ``msc-notebooks new | run | lab | app`` call (the command line is a
thin face over these functions, see :func:`add_subcommands`), and what the template
notebooks call to read their settings file and their data.

* :func:`new_project` renders a cookiecutter template (``msc-study`` or ``msc-teaching``)
  into a new folder. Notebooks are copied as they are (no Jinja in a notebook); the values
  a user gives go into ``study.yaml`` / ``lesson.yaml``, which each notebook's cell
  tagged ``parameters`` reads through :func:`read_project_config`.
* :func:`load_project_study` reads the study's data files, or falls back to the bundled
  demo cohort (and says so) when they are absent, so every notebook runs top to bottom.
* :func:`run_notebook` executes a notebook with papermill and can export an HTML report
  without code. Interactive charts (the anywidget ``JupyterChart``) cannot render in a
  static page, so for an HTML report the notebook's ``renderer`` parameter is set to
  ``'svg'``: figures become static SVG drawn by vl-convert, and the page loads nothing
  from the internet (no require.js, MathJax, Mermaid or widget scripts).
* :func:`lab_command` / :func:`start_lab` and :func:`app_command` / :func:`start_app`
  start JupyterLab and Voilà with offline-safe settings.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .errors import MscError, SettingsError

__all__ = [
    "TEMPLATES",
    "add_subcommands",
    "app_command",
    "export_html",
    "lab_command",
    "load_project_study",
    "new_project",
    "notebook_parameters",
    "read_project_config",
    "run_notebook",
    "start_app",
    "start_lab",
    "template_defaults",
    "templates_dir",
]

#: The project templates shipped with the package, by name.
TEMPLATES: tuple[str, ...] = ("msc-study", "msc-teaching")

#: The settings file each template writes (and its notebooks read).
CONFIG_FILES: dict[str, str] = {"msc-study": "study.yaml", "msc-teaching": "lesson.yaml"}

#: Context keys the generator fills itself (never asked, never written to the yaml).
_INTERNAL_KEYS = ("folder_name",)

#: Numeric settings in the templates (converted from text given on the command line).
_NUMERIC_KEYS = ("threshold_pct", "n_simulations")

#: Choice settings in the templates, checked before anything is written.
_CHOICES = {"reference": ("run-in", "onset"), "method": ("endpoints", "ols")}

#: JupyterLab options that keep it from fetching anything on its own (news, updates).
OFFLINE_LAB_ARGS: tuple[str, ...] = (
    "--LabApp.news_url=None",
    "--LabApp.check_for_updates_class=jupyterlab.handlers.announcements.NeverCheckForUpdate",
    "--ServerApp.ip=127.0.0.1",
)


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
    unknown = sorted(set(context) - set(known))
    if unknown:
        raise SettingsError(
            f"unknown template variable(s) {', '.join(unknown)} for {template!r}; "
            f"known variables: {', '.join(sorted(known))}"
        )
    for key in _NUMERIC_KEYS:
        if key in context:
            context[key] = _number(key, context[key])
    for key, allowed in _CHOICES.items():
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
        extra = {**cleaned, "folder_name": "project", "_msc_notebooks_version": __version__}
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
    for key in ("date_format", "patients", "adverse_events"):
        if key in config and config[key] in ("", None):
            config[key] = None
    if config.get("column_map") is None and template == "msc-study":
        config["column_map"] = {}
    return config


def load_project_study(
    visits: str | os.PathLike[str] | None,
    injections: str | os.PathLike[str] | None,
    patients: str | os.PathLike[str] | None = None,
    adverse_events: str | os.PathLike[str] | None = None,
    column_map: Mapping[str, Any] | None = None,
    date_format: str | None = None,
    base_dir: str | os.PathLike[str] | None = None,
):
    """Read a study's data files, or the bundled demo cohort when they are absent.

    Parameters
    ----------
    visits, injections : path
        The two required tables (relative paths are relative to ``base_dir``). If either
        file does not exist, the demo cohort is loaded instead and a line says so.
    patients, adverse_events : path, optional
        Optional tables; a named file that does not exist is skipped, with a line saying so.
    column_map, date_format
        Passed to :func:`msc_notebooks.read_study`.
    base_dir : path, optional
        Folder the relative paths start from (default: the current folder, which is the
        notebook's folder in Jupyter and in :func:`run_notebook`).

    Returns
    -------
    msc_notebooks.StudyData
        The validated study (see ``study.StudyData``).

    Examples
    --------
    >>> study = load_project_study("no/visits.csv", "no/injections.csv")  # doctest: +SKIP
    Data files not found (no/visits.csv, no/injections.csv): using the bundled demo cohort ...
    """
    import msc_notebooks as msc

    base = Path(base_dir) if base_dir is not None else Path.cwd()

    def resolve(name: Any) -> Path | None:
        if name in (None, ""):
            return None
        p = Path(name).expanduser()
        return p if p.is_absolute() else base / p

    required = {"visits": visits, "injections": injections}
    missing = [str(v) for v in required.values() if resolve(v) is None or not resolve(v).is_file()]
    if missing:
        print(
            f"Data files not found ({', '.join(missing)}): using the bundled demo cohort "
            "(synthetic patients) instead. Put your files in place and run again."
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


# ------------------------------------------------------------------------ run notebooks
def notebook_parameters(notebook: str | os.PathLike[str]) -> list[str]:
    """Return the names a notebook's cell tagged ``parameters`` defines.

    Parameters
    ----------
    notebook : path
        An ``.ipynb`` file.

    Returns
    -------
    list of str
        Names assigned at the top level of the cell, in order.

    Examples
    --------
    >>> nb = templates_dir() / "msc-teaching" / "{{cookiecutter.folder_name}}" / "lesson.ipynb"
    >>> "threshold_pct" in notebook_parameters(nb)
    True
    """
    import ast

    import nbformat

    path = Path(notebook)
    if not path.is_file():
        raise MscError(f"notebook {path} not found")
    nb = nbformat.read(path, as_version=4)
    names: list[str] = []
    for cell in nb.cells:
        if cell.cell_type == "code" and "parameters" in cell.metadata.get("tags", []):
            for node in ast.parse(cell.source).body:
                targets = getattr(node, "targets", None) or [getattr(node, "target", None)]
                for t in targets:
                    if isinstance(t, ast.Name) and t.id not in names:
                        names.append(t.id)
    return names


_EXTERNAL_HEAD_BLOCKS = """{%- extends 'lab/index.html.j2' -%}
{% block html_head_js %}{% endblock html_head_js %}
{% block jupyter_widgets %}{% endblock jupyter_widgets %}
{% block html_head_js_mathjax %}{% endblock html_head_js_mathjax %}
{% block html_head_js_mermaidjs %}{% endblock html_head_js_mermaidjs %}
"""


def export_html(notebook: str | os.PathLike[str], html: str | os.PathLike[str]) -> Path:
    """Write an executed notebook as an HTML report without code cells, for offline reading.

    Code (inputs and prompts) is left out; outputs and text stay. Nothing is loaded from
    the internet: the page has no require.js, MathJax, Mermaid or widget-manager scripts
    (widget views cannot render in a static page; run the notebook with
    ``renderer='svg'`` so that figures are static SVG, as :func:`run_notebook` does).

    Parameters
    ----------
    notebook : path
        An executed ``.ipynb``.
    html : path
        The HTML file to write (folders are created).

    Returns
    -------
    pathlib.Path
        ``html``.

    Examples
    --------
    >>> import tempfile, nbformat
    >>> d = Path(tempfile.mkdtemp())
    >>> nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("secret = 1")])
    >>> nbformat.write(nb, d / "a.ipynb")
    >>> text = export_html(d / "a.ipynb", d / "a.html").read_text("utf-8")
    >>> "secret" in text, "<script src=" in text
    (False, False)
    """
    import jinja2
    import nbformat
    from nbconvert import HTMLExporter

    nb = nbformat.read(Path(notebook), as_version=4)
    nb.metadata.pop("widgets", None)
    # a widget view cannot render in a static page, and its text fallback is a Python repr:
    # leave such outputs out of the report
    for cell in nb.cells:
        if cell.get("cell_type") == "code":
            cell.outputs = [
                o
                for o in cell.get("outputs", [])
                if "application/vnd.jupyter.widget-view+json" not in o.get("data", {})
            ]
    exporter = HTMLExporter(
        extra_loaders=[jinja2.DictLoader({"msc_report.html.j2": _EXTERNAL_HEAD_BLOCKS})],
        template_file="msc_report.html.j2",
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
    )
    body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": Path(html).stem}})
    out = Path(html)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(body, "utf-8")
    return out


def _no_format(path: Path) -> str:
    return str(path).replace("{", "{{").replace("}", "}}")


def run_notebook(
    notebook: str | os.PathLike[str],
    parameters: Mapping[str, Any] | None = None,
    output: str | os.PathLike[str] | None = None,
    html: str | os.PathLike[str] | None = None,
    timeout: float = 900,
) -> Path:
    """Execute a notebook with papermill (and optionally export an HTML report).

    The notebook runs in its own folder (so ``study.yaml`` and ``data/`` are found).

    Parameters
    ----------
    notebook : path
        The notebook to run; it is not modified.
    parameters : dict, optional
        Values for names in the notebook's cell tagged ``parameters``, for example
        ``{"threshold_pct": 30}``. An unknown name is an error that lists the known ones.
    output : path, optional
        Where to write the executed notebook; default ``NAME.executed.ipynb`` beside the
        input (ignored by git in a generated study).
    html : path, optional
        Also write an HTML report without code (see :func:`export_html`). The notebook's
        ``renderer`` parameter, if it has one and it is not given, is set to ``'svg'`` so
        figures are static SVG that display with no internet and no kernel.
    timeout : float, default 900
        Seconds allowed per cell.

    Returns
    -------
    pathlib.Path
        The executed notebook.

    Raises
    ------
    MscError
        Unknown parameter, missing notebook, or a cell failed (the message names the
        cell's error; the partly executed notebook is still written).

    Examples
    --------
    >>> import tempfile, nbformat
    >>> d = Path(tempfile.mkdtemp())
    >>> cell = nbformat.v4.new_code_cell("x = 1", metadata={"tags": ["parameters"]})
    >>> nbformat.write(nbformat.v4.new_notebook(cells=[cell]), d / "n.ipynb")
    >>> run_notebook(d / "n.ipynb", {"y": 2})
    Traceback (most recent call last):
    ...
    msc_notebooks.errors.MscError: unknown parameter(s) y for n.ipynb; its parameters: x
    """
    import papermill
    from papermill.exceptions import PapermillExecutionError

    path = Path(notebook).expanduser().absolute()
    known = notebook_parameters(path)
    parameters = dict(parameters or {})
    unknown = sorted(set(parameters) - set(known))
    if unknown:
        raise MscError(
            f"unknown parameter(s) {', '.join(unknown)} for {path.name}; "
            f"its parameters: {', '.join(known) or '(none: no cell is tagged parameters)'}"
        )
    if html is not None and "renderer" in known and "renderer" not in parameters:
        parameters["renderer"] = "svg"
    out = Path(output) if output is not None else path.with_name(f"{path.stem}.executed.ipynb")
    out = out.expanduser().absolute()
    out.parent.mkdir(parents=True, exist_ok=True)
    try:
        papermill.execute_notebook(
            _no_format(path),  # papermill formats paths with the parameters: keep braces
            _no_format(out),
            parameters=parameters,
            cwd=str(path.parent),
            progress_bar=False,
            execution_timeout=timeout,
            kernel_name="python3",
            language="python",
        )
    except PapermillExecutionError as err:
        raise MscError(
            f"{path.name} failed in cell {err.exec_count}: {err.ename}: {err.evalue} "
            f"(the partly executed notebook is {out})"
        ) from None
    if html is not None:
        export_html(out, html)
    return out


# ------------------------------------------------------------------------- lab and app
def lab_command(directory: str | os.PathLike[str] = ".") -> list[str]:
    """Return the command that starts JupyterLab on a folder, offline-safe.

    No news feed and no update check (``--LabApp.news_url=None``, the
    ``NeverCheckForUpdate`` class), listening on 127.0.0.1 only.

    Parameters
    ----------
    directory : path, default '.'
        The folder JupyterLab opens (its root directory).

    Returns
    -------
    list of str
        An argument list for :func:`subprocess.run`.

    Examples
    --------
    >>> cmd = lab_command("/tmp")
    >>> cmd[1:3], "--LabApp.news_url=None" in cmd, "--ServerApp.root_dir=/tmp" in cmd
    (['-m', 'jupyterlab'], True, True)
    """
    root = Path(directory).expanduser().absolute()
    if root.exists() and not root.is_dir():
        raise MscError(f"{root} is not a folder; give the folder to open in JupyterLab")
    return [sys.executable, "-m", "jupyterlab", *OFFLINE_LAB_ARGS, f"--ServerApp.root_dir={root}"]


def _serve(cmd: list[str]) -> int:
    """Run a server until it stops; a SIGTERM or SIGINT sent to us is passed on to it.

    Without this, stopping ``msc-notebooks lab`` (or ``app``) would leave the JupyterLab
    (or Voilà) process running on its own.
    """
    import signal
    import threading

    proc = subprocess.Popen(cmd)
    previous = {}
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT):
            previous[sig] = signal.signal(sig, lambda signum, _frame: proc.send_signal(signum))
    try:
        return proc.wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)


def start_lab(directory: str | os.PathLike[str] = ".", extra_args: Sequence[str] = ()) -> int:
    """Start JupyterLab on a folder (blocks until it is stopped) and return its exit status.

    Parameters
    ----------
    directory : path, default '.'
        The folder to open; see :func:`lab_command`.
    extra_args : sequence of str
        More JupyterLab options, for example ``["--no-browser", "--port=8899"]``.

    Returns
    -------
    int
        JupyterLab's exit status.

    Examples
    --------
    >>> start_lab("/no/such/folder")  # doctest: +SKIP
    """
    root = Path(directory).expanduser().absolute()
    if not root.is_dir():
        raise MscError(f"folder {root} not found; create it or give an existing folder")
    return _serve([*lab_command(root), *extra_args])


def _default_app_notebook() -> Path:
    here = Path.cwd() / "guided.ipynb"
    if here.is_file():
        return here
    return templates_dir() / "msc-study" / "{{cookiecutter.folder_name}}" / "guided.ipynb"


def app_command(notebook: str | os.PathLike[str] | None = None) -> list[str]:
    """Return the command that serves a notebook as a Voilà app (no code shown).

    Parameters
    ----------
    notebook : path, optional
        The notebook; default ``guided.ipynb`` in the current folder, else the guided
        study template (which runs on the demo cohort).

    Returns
    -------
    list of str
        An argument list for :func:`subprocess.run`; Voilà listens on 127.0.0.1.

    Examples
    --------
    >>> cmd = app_command(templates_dir() / "msc-teaching" / "{{cookiecutter.folder_name}}" / "lesson.ipynb")
    >>> cmd[1:3], cmd[3].endswith("lesson.ipynb"), "--Voila.ip=127.0.0.1" in cmd
    (['-m', 'voila'], True, True)
    """
    path = Path(notebook).expanduser().absolute() if notebook else _default_app_notebook()
    if not path.is_file():
        raise MscError(f"notebook {path} not found; give the .ipynb file to serve")
    return [sys.executable, "-m", "voila", str(path), "--Voila.ip=127.0.0.1"]


def start_app(
    notebook: str | os.PathLike[str] | None = None, extra_args: Sequence[str] = ()
) -> int:
    """Serve a notebook with Voilà (blocks until stopped) and return its exit status.

    Parameters
    ----------
    notebook : path, optional
        See :func:`app_command`.
    extra_args : sequence of str
        More Voilà options, for example ``["--no-browser", "--port=8866"]``.

    Returns
    -------
    int
        Voilà's exit status.

    Examples
    --------
    >>> start_app("missing.ipynb")
    Traceback (most recent call last):
    ...
    msc_notebooks.errors.MscError: notebook .../missing.ipynb not found; give the .ipynb file to serve
    """
    return _serve([*app_command(notebook), *extra_args])


# --------------------------------------------------------------------------- the CLI
_KEY_VALUE = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)=(.*)$", re.S)


def _key_values(items: Sequence[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items:
        match = _KEY_VALUE.match(item)
        if not match:
            raise SettingsError(f"expected key=value, got {item!r} (for example threshold_pct=30)")
        out[match.group(1)] = match.group(2)
    return out


def _parse_value(text: str) -> Any:
    """A ``-p`` value: int, float, true/false/none, else the text itself (as papermill)."""
    lowered = text.strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered in ("none", "null"):
        return None
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def _new_arguments(p: argparse.ArgumentParser, with_context: bool = False) -> None:
    p.add_argument("dest", help="the folder to create (must not exist)")
    p.add_argument("--template", choices=TEMPLATES, default=None, help="default: msc-study")
    if with_context:
        p.add_argument("context", nargs="*", default=[])
    else:
        p.usage = (
            "msc-notebooks new DEST [--template {msc-study,msc-teaching}] "
            "[key=value ...] [--no-input | --input]"
        )
        p.epilog = "key=value: template variables, e.g. study_title='My trial' threshold_pct=30"
    group = p.add_mutually_exclusive_group()
    group.add_argument(
        "--no-input",
        dest="no_input",
        action="store_true",
        default=None,
        help="do not ask for the other variables (default)",
    )
    group.add_argument(
        "--input", dest="no_input", action="store_false", help="ask for each variable not given"
    )


def _new_options(args: argparse.Namespace) -> argparse.Namespace:
    """Merge the options given before DEST with those (and key=value) after it."""
    inner = argparse.ArgumentParser(prog="msc-notebooks new", add_help=False)
    _new_arguments(inner, with_context=True)
    try:
        later = inner.parse_intermixed_args([args.dest, *args.rest])
    except SystemExit:
        raise SettingsError(f"could not read the arguments {' '.join(args.rest)!r}") from None
    template = later.template or args.template or "msc-study"
    no_input = later.no_input if later.no_input is not None else args.no_input
    return argparse.Namespace(
        dest=args.dest,
        template=template,
        context=later.context,
        no_input=True if no_input is None else no_input,
    )


def _cmd_new(args: argparse.Namespace) -> int:
    opts = _new_options(args)
    path = new_project(
        opts.dest, template=opts.template, context=_key_values(opts.context), no_input=opts.no_input
    )
    print(f"Created {path}")
    return 0


def _cmd_run(args: argparse.Namespace) -> int:
    params = {key: _parse_value(value) for key, value in args.parameters}
    out = run_notebook(args.notebook, params, output=args.output, html=args.html)
    print(f"Executed notebook: {out}")
    if args.html:
        print(f"HTML report: {Path(args.html).absolute()}")
    return 0


def _extra(args: argparse.Namespace) -> list[str]:
    extra = list(args.extra)
    return extra[1:] if extra[:1] == ["--"] else extra


def _cmd_lab(args: argparse.Namespace) -> int:
    return start_lab(args.directory, extra_args=_extra(args))


def _cmd_app(args: argparse.Namespace) -> int:
    return start_app(args.notebook, extra_args=_extra(args))


def _guard(handler):
    def run(args: argparse.Namespace) -> int:
        try:
            return handler(args)
        except MscError as err:
            print(f"msc-notebooks {args.command}: error: {err}", file=sys.stderr)
            return 2

    run.__name__ = handler.__name__
    return run


def add_subcommands(subparsers: argparse._SubParsersAction) -> None:
    """Register ``new``, ``run``, ``lab`` and ``app`` on an argparse subparsers object.

    Each subcommand's ``func`` default takes the parsed namespace and returns an exit
    status: 0 on success, 2 (with the message on stderr) for an :class:`MscError`.

    Parameters
    ----------
    subparsers : argparse subparsers action
        From ``parser.add_subparsers(dest="command")``.

    Examples
    --------
    >>> parser = argparse.ArgumentParser(prog="msc-notebooks")
    >>> add_subcommands(parser.add_subparsers(dest="command"))
    >>> args = parser.parse_args(["new", "x", "--template", "msc-teaching", "lesson_title=L1"])
    >>> opts = _new_options(args)
    >>> opts.template, opts.context, opts.no_input
    ('msc-teaching', ['lesson_title=L1'], True)
    >>> args = parser.parse_args(["run", "a.ipynb", "-p", "threshold_pct", "30", "--html", "r.html"])
    >>> args.parameters, args.html
    ([['threshold_pct', '30']], 'r.html')
    """
    p = subparsers.add_parser(
        "new",
        help="create a study or lesson folder from a template",
        description="Create a study (msc-study) or lesson (msc-teaching) folder. "
        "Values given as key=value go into study.yaml / lesson.yaml. "
        "Options and key=value pairs may come in any order after DEST.",
    )
    _new_arguments(p)
    # Anything after DEST (options and key=value, in any order) is parsed again by
    # _cmd_new: argparse cannot interleave options with a variable-length positional.
    p.add_argument("rest", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    p.set_defaults(func=_guard(_cmd_new))

    p = subparsers.add_parser(
        "run",
        help="execute a notebook (papermill), optionally export an HTML report",
        description="Execute a notebook in its own folder with papermill.",
    )
    p.add_argument("notebook", help="the .ipynb to run (it is not modified)")
    p.add_argument(
        "-p",
        "--parameter",
        dest="parameters",
        nargs=2,
        action="append",
        default=[],
        metavar=("KEY", "VALUE"),
        help="set a parameter (numbers, true/false and none are converted)",
    )
    p.add_argument("-o", "--output", help="executed notebook (default NAME.executed.ipynb)")
    p.add_argument("--html", help="also write an HTML report without code, with static figures")
    p.set_defaults(func=_guard(_cmd_run))

    p = subparsers.add_parser(
        "lab", help="start JupyterLab on a folder (no news, no update checks, 127.0.0.1)"
    )
    p.add_argument("directory", nargs="?", default=".", help="folder to open (default: .)")
    p.add_argument("extra", nargs=argparse.REMAINDER, help="more JupyterLab options after --")
    p.set_defaults(func=_guard(_cmd_lab))

    p = subparsers.add_parser("app", help="serve a notebook as a Voilà app (code hidden)")
    p.add_argument("notebook", nargs="?", default=None, help="default: ./guided.ipynb")
    p.add_argument("extra", nargs=argparse.REMAINDER, help="more Voilà options after --")
    p.set_defaults(func=_guard(_cmd_app))
