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

Blank charts on first view (issue #19), and the fix here: with the VegaFusion transformer,
``chart.to_dict()`` does not put the data in the spec; it stores the DataFrame under a name
(``vegafusion+dataset://table_…``) in Altair's ``extracted_inline_tables``, a
``WeakValueDictionary``. Altair's ``jupyter`` renderer builds its ``JupyterChart`` from
that spec alone, and the chart is only computed when the browser first draws it and sends
its time zone (``local_tz``). By then the chart object that held the DataFrame is often
gone (a chart built inside a callback or a ``display(chart)`` loop), the weak entry with
it, and the view stays blank with ``ValueError: Internal error: No inline dataset named
table_…`` in the log. :func:`jupyter_chart` keeps strong references to those DataFrames
in the widget for as long as the widget lives, and puts them back before every
(re)computation; :func:`setup_notebook` registers it as Altair's ``jupyter`` renderer.

Altair is imported only inside the functions, so ``import msc_notebooks.notebook`` is
cheap.
"""

from __future__ import annotations

from typing import Any, Literal

from .errors import SettingsError

__all__ = [
    "RENDERERS",
    "setup_notebook",
    "load_ipython_extension",
    "jupyter_chart",
    "chart_spec",
    "update_jupyter_chart",
]

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
        alt.renderers.register("jupyter", _jupyter_renderer)
        alt.renderers.enable("jupyter", offline=True)
    else:
        alt.renderers.enable(renderer)
    alt.data_transformers.enable(transformer)


#: URL prefix of the data the VegaFusion transformer keeps in the kernel (Altair's own).
_VEGAFUSION_PREFIX = "vegafusion+dataset://"

_KEPT_CHART_CLASS: Any = None

#: Front-end module of the kit's chart widget. anywidget gives a widget's module 2 s to
#: load (``[anywidget] Failed to initialize model.``); Altair's offline bundle is ~0.9 MB,
#: and a page with a dozen charts (a Voila app, a busy machine) parses a dozen copies at
#: once and misses that limit, leaving every chart blank. This loader is tiny: it imports
#: the bundle (sent as the ``_msc_bundle`` trait) once per page, inside ``render``, where
#: no time limit applies, and hands over to Altair's own ``render``.
_LOADER_ESM = """
const CACHE = (globalThis.__mscAltairBundles ??= {});
// Altair's render adds a 'change:_params' and a 'change:_py_to_js_updates' listener each
// time it draws a new spec and never removes the old ones, which keep every earlier Vega
// view (and its data) alive: the model handed over keeps only the latest of each.
const REPLACED = new Set(["change:_params", "change:_py_to_js_updates"]);
function latestListeners(model) {
  const latest = {};
  return {
    ...model,
    on(name, callback) {
      if (REPLACED.has(name)) {
        if (latest[name]) model.off(name, latest[name]);
        latest[name] = callback;
      }
      return model.on(name, callback);
    },
  };
}
function bundle(model) {
  const key = model.get("_msc_bundle_id");
  if (!CACHE[key]) {
    const src = model.get("_msc_bundle");
    const url = URL.createObjectURL(new Blob([src], { type: "text/javascript" }));
    CACHE[key] = import(url).finally(() => URL.revokeObjectURL(url));
  }
  return CACHE[key];
}
export default {
  async render({ model, el }) {
    let mod;
    try {
      mod = await bundle(model);
    } catch (error) {
      delete CACHE[model.get("_msc_bundle_id")];
      el.textContent = "The chart's code could not be loaded: " + error;
      throw error;
    }
    return mod.default.render({ model: latestListeners(model), el });
  },
};
"""


def _inline_table_names(spec: Any) -> set[str]:
    """Names of the VegaFusion inline tables a (Vega or Vega-Lite) spec refers to.

    Examples
    --------
    >>> sorted(_inline_table_names({"data": {"url": "vegafusion+dataset://table_1"},
    ...                             "layer": [{"data": {"url": "x.csv"}}]}))
    ['table_1']
    """
    found: set[str] = set()
    stack = [spec]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, str) and item.startswith(_VEGAFUSION_PREFIX):
            found.add(item[len(_VEGAFUSION_PREFIX) :])
    return found


def _kept_chart_class() -> Any:
    """``JupyterChart`` that holds its VegaFusion tables (built once, on first use)."""
    global _KEPT_CHART_CLASS
    if _KEPT_CHART_CLASS is None:
        import altair as alt
        import traitlets
        from altair import JupyterChart
        from altair.utils._vegafusion_data import extracted_inline_tables

        class KeptDataJupyterChart(JupyterChart):
            """A ``JupyterChart`` whose inline tables live as long as the widget.

            Its front-end module is a small loader (:data:`_LOADER_ESM`); Altair's ~0.9 MB
            bundle travels as the ``_msc_bundle`` trait and is imported once per page.
            """

            _esm = _LOADER_ESM
            _msc_bundle = traitlets.Unicode("").tag(sync=True)
            _msc_bundle_id = traitlets.Unicode("").tag(sync=True)

            def __init__(self, *args: Any, kept_tables: dict | None = None, **kw: Any) -> None:
                self._kept_tables = dict(kept_tables or {})
                self._msc_spec: dict | None = None  # the chart's spec, when already made
                bundle = JupyterChart._esm
                bundle_id = f"altair-{alt.__version__}-{len(bundle)}-{hash(bundle)}"
                super().__init__(*args, _msc_bundle=bundle, _msc_bundle_id=bundle_id, **kw)

            def _set_chart(self, chart: Any, kept_tables: dict, spec: dict | None = None) -> None:
                """Show ``chart`` (its tables in ``kept_tables``; its spec, if made) here."""
                # Altair's chart observer adds a 'local_tz' (not drawn yet) or a
                # '_js_to_py_updates' observer for each chart and never removes the old
                # ones (nothing else observes these two): drop them, so that the new
                # chart is compiled once and answers the browser once.
                for name in ("local_tz", "_js_to_py_updates"):
                    for handler in list(self._trait_notifiers.get(name, {}).get("change", [])):
                        self.unobserve(handler, names=name)
                self._kept_tables = dict(kept_tables)
                self._msc_spec = spec
                self.chart = chart

            def _init_with_vegafusion(self, local_tz: str) -> None:
                # Altair pops the tables when it compiles; a second time zone (another
                # browser) compiles again, so put them back every time.
                extracted_inline_tables.update(self._kept_tables)
                if self._msc_spec is None or self.chart is None:
                    super()._init_with_vegafusion(local_tz)
                    return
                # Altair's own steps, from the spec already made (no second to_dict and
                # schema check of the same chart)
                from altair.utils._vegafusion_data import compile_to_vegafusion_chart_state

                with self.hold_sync():
                    state = compile_to_vegafusion_chart_state(self._msc_spec, local_tz)
                    self._chart_state = state
                    self._js_watch_plan = state.get_watch_plan()["client_to_server"]
                    self.spec = state.get_transformed_spec()
                    self.observe(self._msc_js_to_py, ["_js_to_py_updates"])

            def _msc_js_to_py(self, change: dict) -> None:
                """Answer the browser's selections and signals (VegaFusion updates)."""
                self._py_to_js_updates = self._chart_state.update(change["new"])

        _KEPT_CHART_CLASS = KeptDataJupyterChart
    return _KEPT_CHART_CLASS


def jupyter_chart(chart: Any, *, offline: bool = True, embed_options: dict | None = None) -> Any:
    """Return an Altair ``JupyterChart`` widget that draws on first view, offline.

    Unlike Altair's own ``jupyter`` renderer, the widget keeps the DataFrames a VegaFusion
    spec refers to until the widget is closed, so a chart shown later (a hidden step, a
    ``display(chart)`` in a loop) is never blank (see the module docstring).

    Parameters
    ----------
    chart : altair chart or dict
        A chart, or a Vega-Lite spec made by ``chart.to_dict()`` in this kernel.
    offline : bool, default True
        Bundle the JavaScript with vl-convert (no CDN).
    embed_options : dict, optional
        vega-embed options.

    Returns
    -------
    altair.JupyterChart
        The widget (display it, or put it in an ipywidgets container).

    Examples
    --------
    >>> import gc, altair as alt, pandas as pd
    >>> _ = alt.data_transformers.enable("vegafusion")
    >>> def bars():  # the DataFrame lives only as long as the chart
    ...     return alt.Chart(pd.DataFrame({"x": [1, 2]})).mark_bar().encode(x="x:Q")
    >>> widget = jupyter_chart(bars(), offline=False)
    >>> _ = gc.collect()          # the chart is gone, its weak table entry too
    >>> widget.local_tz = "UTC"   # what the browser sends when it first draws the chart
    >>> len(widget.spec["data"][0]["values"])  # the two bars, computed in the kernel
    2
    >>> widget.close(); _ = alt.data_transformers.enable("default")
    """
    import altair as alt

    cls = _kept_chart_class()
    alt.JupyterChart.enable_offline(offline=offline)
    chart, kept = _chart_and_tables(chart)
    return cls(chart=chart, embed_options=embed_options, kept_tables=kept)


def _chart_and_tables(chart: Any) -> tuple[Any, dict]:
    """The chart a widget draws and the tables it must keep.

    A chart object holds its own DataFrames (nothing to keep, no spec round trip, which
    would validate the spec twice); a spec dict names tables that only a weak dictionary
    holds, so they are kept by the widget.
    """
    import altair as alt

    if not isinstance(chart, dict):
        return chart, {}
    spec, kept = chart_spec(chart)
    return alt.Chart.from_dict(spec), kept


def chart_spec(chart: Any, *, validate: bool = True) -> tuple[dict, dict]:
    """A chart's Vega-Lite spec, as :func:`jupyter_chart` sends it, and the data it refers to.

    With the VegaFusion transformer the spec names its DataFrames
    (``vegafusion+dataset://table_…``) instead of holding them; they are returned by name
    (strong references, taken while the chart is alive). With other transformers the data
    are in the spec and the dict is empty.

    Parameters
    ----------
    chart : altair chart or dict
        A chart, or a spec made by ``chart.to_dict(context={"pre_transform": False})``.
    validate : bool, default True
        Check the spec against the Vega-Lite schema (off for a fingerprint of a chart
        the kit built: the schema check costs more than the rest).

    Returns
    -------
    (dict, dict)
        The spec, and table name to DataFrame.

    Examples
    --------
    >>> import altair as alt, pandas as pd
    >>> _ = alt.data_transformers.enable("vegafusion")
    >>> chart = alt.Chart(pd.DataFrame({"x": [1, 2]})).mark_bar().encode(x="x:Q")
    >>> spec, tables = chart_spec(chart)
    >>> [len(t) for t in tables.values()], spec["data"]["url"][:21]
    ([2], 'vegafusion+dataset://')
    >>> _ = alt.data_transformers.enable("default")
    """
    from altair.utils._vegafusion_data import extracted_inline_tables

    spec = (
        chart
        if isinstance(chart, dict)
        else chart.to_dict(context={"pre_transform": False}, validate=validate)
    )
    kept = {
        name: extracted_inline_tables[name]
        for name in _inline_table_names(spec)
        if name in extracted_inline_tables
    }
    return spec, kept


def update_jupyter_chart(widget: Any, chart: Any, made: tuple[dict, dict] | None = None) -> None:
    """Draw another chart in a widget made by :func:`jupyter_chart`, in place.

    The widget stays the same object (and so does its view in the browser, which draws
    the new spec where the old one was): no new widget model, no second copy of the
    JavaScript bundle, nothing left for the browser to collect but the old Vega view.
    The data the new spec names are kept by the widget from now on (the old ones are
    released).

    Parameters
    ----------
    widget : altair.JupyterChart
        Made by :func:`jupyter_chart`.
    chart : altair chart or dict
        The new chart, or its spec (:func:`chart_spec`, while the chart is alive).
    made : (dict, dict), optional
        ``chart_spec(chart)`` when the caller already made it: the widget compiles that
        spec (and keeps its tables) instead of converting the chart again.

    Examples
    --------
    >>> import altair as alt, pandas as pd
    >>> _ = alt.data_transformers.enable("vegafusion")
    >>> def bars(n):
    ...     return alt.Chart(pd.DataFrame({"x": range(n)})).mark_bar().encode(x="x:Q")
    >>> widget = jupyter_chart(bars(2), offline=False)
    >>> widget.local_tz = "UTC"   # drawn once in a browser
    >>> update_jupyter_chart(widget, bars(3))
    >>> len(widget.spec["data"][0]["values"])  # the same widget, the new data
    3
    >>> widget.close(); _ = alt.data_transformers.enable("default")
    """
    if made is not None and not isinstance(chart, dict):
        widget._set_chart(chart, made[1], made[0])
    else:
        widget._set_chart(*_chart_and_tables(chart))


def _jupyter_renderer(spec: dict, **metadata: Any) -> Any:
    """Altair renderer ``jupyter`` with :func:`jupyter_chart` (data kept until drawn)."""
    widget = jupyter_chart(
        spec,
        offline=bool(metadata.get("offline", False)),
        embed_options=metadata.get("embed_options"),
    )
    return widget._repr_mimebundle_()


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
