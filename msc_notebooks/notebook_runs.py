"""Run a notebook headless (papermill) and export it as an HTML report without code.

This is what ``msc-notebooks run`` calls. Interactive charts (the anywidget
``JupyterChart``) cannot render in a static page, so for an HTML report the notebook's
``renderer`` parameter is set to ``'svg'``: figures become static SVG drawn by
vl-convert, and the page loads nothing from the internet (no require.js, MathJax,
Mermaid or widget scripts).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .errors import MscError, check_names

__all__ = ["export_html", "notebook_parameters", "run_notebook"]


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
    >>> from msc_notebooks.projects import templates_dir
    >>> nb = templates_dir() / "msc-teaching" / "{{cookiecutter._folder_name}}" / "lesson.ipynb"
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
    msc_notebooks.errors.SettingsError: unknown parameter(s) y for n.ipynb; known parameters: x
    """
    import papermill
    from papermill.exceptions import PapermillExecutionError

    path = Path(notebook).expanduser().absolute()
    known = notebook_parameters(path)
    parameters = dict(parameters or {})
    check_names(
        parameters, known, "parameter", f" for {path.name}", "none (no cell is tagged parameters)"
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
