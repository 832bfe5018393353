"""Notebook set-up: offline Altair rendering and large data, and ``%load_ext msc_notebooks``.

Why this is needed (RECIPES.md §2): Altair's default ``html`` renderer loads its
JavaScript from a CDN, so charts stay blank without internet; the ``mimetype`` renderer
emits Vega-Lite 6, which JupyterLab 4 cannot draw. The ``jupyter`` renderer in offline
mode (``JupyterChart`` with a vl-convert bundle) works offline in JupyterLab, Notebook 7
and Voila, and keeps selections interactive. The VegaFusion data transformer lifts
Altair's 5,000-row limit and pre-computes transforms in the kernel.

Notebook size: each ``jupyter``-rendered chart's widget model carries the ~0.9 MB
JavaScript bundle. JupyterLab does not save widget state by default, so a notebook
saved from JupyterLab stays small; a notebook *executed headless* with widget state
stored (nbclient / papermill defaults) grows by ~0.9 MB per chart. For executed reports,
use ``setup_notebook(renderer='svg')`` (static pictures, a few kB each).

Altair is imported only inside the functions, so ``import msc_notebooks.notebook`` is
cheap.
"""

from __future__ import annotations

from typing import Any, Literal

from .errors import SettingsError

__all__ = ["RENDERERS", "setup_notebook", "load_ipython_extension"]

#: Renderers ``setup_notebook`` accepts: interactive offline widget, or static pictures.
RENDERERS = ("jupyter", "svg", "png")


def setup_notebook(
    renderer: Literal["jupyter", "svg", "png"] = "jupyter",
    *,
    transformer: Literal["vegafusion", "default"] = "vegafusion",
) -> None:
    """Make Altair charts render offline and cope with large cohorts.

    Parameters
    ----------
    renderer : {'jupyter', 'svg', 'png'}, default 'jupyter'
        ``'jupyter'``: interactive charts (hover, selections) drawn by ``JupyterChart``
        with its JavaScript bundled offline by vl-convert
        (``alt.renderers.enable('jupyter', offline=True)``). ``'svg'`` / ``'png'``:
        static pictures made in the kernel by vl-convert, small and right for reports
        executed headless (papermill, nbclient) or exported to HTML/PDF.
    transformer : {'vegafusion', 'default'}, default 'vegafusion'
        Altair data transformer. ``'vegafusion'`` handles data above 5,000 rows (no
        ``MaxRowsError``) and sends only what the chart draws.

    Returns
    -------
    None
        Altair's global renderer and data transformer are switched.

    Raises
    ------
    SettingsError
        For an unknown renderer or transformer.

    Examples
    --------
    >>> import altair as alt
    >>> setup_notebook(renderer="svg")
    >>> alt.renderers.active, alt.data_transformers.active
    ('svg', 'vegafusion')
    >>> _ = alt.renderers.enable("default"); _ = alt.data_transformers.enable("default")
    """
    if renderer not in RENDERERS:
        raise SettingsError(
            f"renderer must be one of {', '.join(map(repr, RENDERERS))}, not {renderer!r}"
        )
    if transformer not in ("vegafusion", "default"):
        raise SettingsError(f"transformer must be 'vegafusion' or 'default', not {transformer!r}")
    import altair as alt

    if renderer == "jupyter":
        alt.renderers.enable("jupyter", offline=True)
    else:
        alt.renderers.enable(renderer)
    alt.data_transformers.enable(transformer)


def load_ipython_extension(ipython: Any) -> None:
    """Entry point of ``%load_ext msc_notebooks``: calls :func:`setup_notebook`.

    Parameters
    ----------
    ipython : IPython.core.interactiveshell.InteractiveShell
        The running shell (unused; the set-up is global to the kernel).

    Examples
    --------
    >>> import altair as alt
    >>> load_ipython_extension(None)
    >>> alt.renderers.active, alt.data_transformers.active
    ('jupyter', 'vegafusion')
    >>> _ = alt.renderers.enable("default"); _ = alt.data_transformers.enable("default")
    """
    setup_notebook()
