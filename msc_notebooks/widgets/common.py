"""Pieces shared by the steps: the message area, safe callbacks, HTML tables, charts."""

from __future__ import annotations

import functools
import html
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import ipywidgets as w

from .state import WizardState, describe_error

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "Step",
    "PagedTable",
    "table_html",
    "chart_output",
    "show_figures",
    "figure_fingerprint",
    "note",
]


def note(text: str, kind: str = "info") -> str:
    """Return a small HTML paragraph for a message area (``kind``: info, ok, error).

    Examples
    --------
    >>> note("Loaded 3 patients", "ok")
    '<div class="msc-note msc-note-ok" style="color:#1b5e20;">Loaded 3 patients</div>'
    >>> note("a < b")
    '<div class="msc-note msc-note-info">a &lt; b</div>'
    """
    colour = {"error": "color:#b00020;", "ok": "color:#1b5e20;"}.get(kind, "")
    style = f' style="{colour}"' if colour else ""
    return f'<div class="msc-note msc-note-{kind}"{style}>{html.escape(text)}</div>'


def table_html(
    df: pd.DataFrame | None, *, max_rows: int | None = 50, css_class: str = "msc-table"
) -> str:
    """A DataFrame as an escaped HTML table (first ``max_rows`` rows), with its styles.

    The precision and layout rules are :func:`msc_notebooks.table_format.table_html`'s,
    the same as the HTML report's.

    Examples
    --------
    >>> import pandas as pd
    >>> out = table_html(pd.DataFrame({"rate": [1.23456, 2.0]}))
    >>> "<td>1.23</td>" in out and 'class="msc-table"' in out and "<style>" in out
    True
    >>> table_html(None)
    '<div class="msc-note msc-note-info">(none)</div>'
    """
    from ..table_format import TABLE_CSS
    from ..table_format import table_html as html_table

    if df is None:
        return note("(none)")
    return f"<style>{TABLE_CSS}</style>" + html_table(df, max_rows=max_rows, css_class=css_class)


def chart_output(chart: Any) -> dict[str, Any]:
    """Return a chart as one notebook output (a ``display_data`` dict), offline.

    The active Altair renderer is used when it works without the internet (``jupyter``
    offline, inline HTML, svg, png: :func:`msc_notebooks.notebook.setup_notebook` sets one
    up); the default renderers would load JavaScript from a CDN, so the chart is then
    rendered to SVG in the kernel (vl-convert). With ``jupyter``, the widget is made by
    :func:`msc_notebooks.notebook.jupyter_chart`, which keeps the chart's data until the
    browser draws it (Altair's own renderer loses them when the chart is drawn later, for
    example in a step shown after the cell ran: issue #19); the widget is returned under
    the key ``"widget"`` so that it can be closed when replaced.

    Parameters
    ----------
    chart : altair chart

    Returns
    -------
    dict
        ``{"output_type": "display_data", "data": {mimetype: ...}, "metadata": {...}}``,
        ready to append to ``ipywidgets.Output.outputs`` (pop ``"widget"`` first).
    """
    import io

    import altair as alt

    active = alt.renderers.active
    if active in ("default", "html", "mimetype", "jupyterlab", "colab", "kaggle"):
        buffer = io.StringIO()
        chart.save(buffer, format="svg")
        return {
            "output_type": "display_data",
            "data": {"image/svg+xml": buffer.getvalue(), "text/plain": "<chart>"},
            "metadata": {},
        }
    if active == "jupyter":
        from ..notebook import jupyter_chart

        options = dict(alt.renderers.options)
        widget = jupyter_chart(
            chart,
            offline=bool(options.get("offline", False)),
            embed_options=options.get("embed_options"),
        )
        bundle = widget._repr_mimebundle_()
        data, metadata = bundle if isinstance(bundle, tuple) else (bundle, {})
        return {
            "output_type": "display_data",
            "data": data,
            "metadata": metadata or {},
            "widget": widget,
        }
    bundle = chart._repr_mimebundle_(include=None, exclude=None)
    data, metadata = bundle if isinstance(bundle, tuple) else (bundle, {})
    return {"output_type": "display_data", "data": data, "metadata": metadata or {}}


def figure_fingerprint(spec: dict, tables: dict | None = None) -> str:
    """A digest of what a chart draws: its spec, and the content of the tables it names.

    Two charts with the same fingerprint draw the same picture, so a figure whose
    fingerprint did not change is left as it is (no new spec sent, nothing redrawn).
    VegaFusion table names are random (a new name per chart): each is replaced by a
    digest of its DataFrame (columns, dtypes and values).

    Parameters
    ----------
    spec : dict
        The chart's spec (:func:`msc_notebooks.notebook.chart_spec`).
    tables : dict, optional
        Table name to DataFrame, the spec's VegaFusion tables.

    Returns
    -------
    str
        A hex digest.

    Examples
    --------
    >>> import pandas as pd
    >>> url = "vegafusion+dataset://table_"
    >>> a = figure_fingerprint({"data": {"url": url + "1"}}, {"table_1": pd.DataFrame({"x": [1]})})
    >>> b = figure_fingerprint({"data": {"url": url + "2"}}, {"table_2": pd.DataFrame({"x": [1]})})
    >>> c = figure_fingerprint({"data": {"url": url + "3"}}, {"table_3": pd.DataFrame({"x": [2]})})
    >>> a == b, a == c
    (True, False)
    """
    import hashlib
    import json

    import pandas as pd

    text = json.dumps(spec, sort_keys=True, default=str)
    for name in sorted(tables or {}, key=len, reverse=True):
        frame = tables[name]
        digest = hashlib.sha1(
            json.dumps([[str(c), str(t)] for c, t in frame.dtypes.items()]).encode()
        )
        try:
            digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
        except TypeError:  # unhashable cells: compare their text
            digest.update(frame.to_json().encode())
        text = text.replace(name, digest.hexdigest())
    return hashlib.sha1(text.encode()).hexdigest()


def _title_output(name: str) -> dict[str, Any]:
    return {
        "output_type": "display_data",
        "data": {"text/html": f"<h4>{html.escape(name)}</h4>", "text/plain": name},
        "metadata": {},
    }


def show_figures(output: Any, figures: dict[str, Any]) -> list[str]:
    """Show the given charts in an Output widget, titled by name, changing only what changed.

    A figure is known by its name. A figure whose fingerprint (:func:`figure_fingerprint`)
    did not change is left alone; a changed one drawn by a chart widget (the ``jupyter``
    renderer) gets the new spec in the same widget
    (:func:`msc_notebooks.notebook.update_jupyter_chart`), so the browser redraws it where
    it is, with no new widget; the Output's list is rewritten only when figures come,
    go, change order or are static pictures that changed. Chart widgets no longer shown
    are closed (their data freed, in the kernel and the browser).

    Parameters
    ----------
    output : ipywidgets.Output
    figures : dict of str to altair chart or None
        What to show, in order (empty: show nothing, close every chart widget). ``None``
        keeps a figure already shown as it is (not recomputed by the caller).

    Returns
    -------
    list of str
        The names shown.
    """
    from ..notebook import chart_spec, update_jupyter_chart

    shown: dict[str, dict[str, Any]] = getattr(output, "_msc_figures", {})
    kept: dict[str, dict[str, Any]] = {}
    rewrite = list(shown) != list(figures)
    for name, chart in figures.items():
        if chart is None:  # kept as shown
            if name in shown:
                kept[name] = shown[name]
            continue
        made = chart_spec(chart, validate=False)  # the kit's own charts: checked when built
        fingerprint = figure_fingerprint(*made)
        entry = shown.get(name)
        if entry is not None and entry["fingerprint"] == fingerprint:
            kept[name] = entry
        elif entry is not None and entry["widget"] is not None and _widget_renderer():
            update_jupyter_chart(entry["widget"], chart, made)
            kept[name] = {**entry, "fingerprint": fingerprint}
        else:
            out = chart_output(chart)
            widget = out.pop("widget", None)
            kept[name] = {"fingerprint": fingerprint, "output": out, "widget": widget}
            rewrite = True
    if rewrite:
        outputs = []
        for name, entry in kept.items():
            outputs += [_title_output(name), entry["output"]]
        output.outputs = tuple(outputs)
    still = {id(e["widget"]) for e in kept.values()}
    for entry in shown.values():  # after their views left the page
        if entry["widget"] is not None and id(entry["widget"]) not in still:
            entry["widget"].close()
    output._msc_figures = kept
    output._msc_chart_widgets = [e["widget"] for e in kept.values() if e["widget"] is not None]
    return list(kept)


def _widget_renderer() -> bool:
    """True when charts are drawn by chart widgets (Altair's ``jupyter`` renderer)."""
    import altair as alt

    return alt.renderers.active == "jupyter"


class PagedTable(w.VBox):
    """A long table shown one page at a time: only that page's rows are in the page.

    A page of a few dozen rows is what a person reads; thousands of rows in the browser
    cost seconds and memory at every redraw. Arrows and a page number move between pages;
    the note under the table says which rows are shown and that the others are on other
    pages (every row is in the exported files). The rows come from a table
    (:meth:`show`) or, when building every row would cost too much, from a function that
    builds only the rows of the page shown (:meth:`show_rows`).

    Parameters
    ----------
    page_size : int, default 100
        Rows per page.
    css_class : str, optional
        A CSS class for the box (e.g. ``msc-periods-table``).

    Attributes
    ----------
    table : ipywidgets.HTML
        The current page (:func:`table_html`); ``value`` is its HTML.
    previous, next : ipywidgets.Button
    page_number : ipywidgets.BoundedIntText
        The page shown, 1 = first (typed or moved by the arrows).
    page : int
        The page shown, 0 = first.
    frame : pandas.DataFrame or None
        The table given to :meth:`show` (None with :meth:`show_rows`).

    Examples
    --------
    >>> import pandas as pd
    >>> t = PagedTable(page_size=2)
    >>> t.show(pd.DataFrame({"x": [1, 2, 3, 4, 5]}))
    >>> t.value.count("<tr>"), "rows 1-2 of 5" in t.value
    (3, True)
    >>> t.next.click(); t.next.click(); t.value.count("<tr>"), "page 3 of 3" in t.value
    (2, True)
    >>> t.show_rows(4, lambda start, stop: pd.DataFrame({"x": range(start, stop)}))
    >>> t.page_number.value = 2; t.rows_shown(), "rows 3-4 of 4" in t.value
    (range(2, 4), True)
    """

    def __init__(self, page_size: int = 100, css_class: str | None = None, **kwargs: Any):
        self.page_size = int(page_size)
        self.page = 0
        self.frame: pd.DataFrame | None = None
        self._count = 0
        self._rows_of: Callable[[int, int], pd.DataFrame] | None = None
        self.table = w.HTML("")
        self.previous = w.Button(description="< rows", layout=w.Layout(width="90px"))
        self.next = w.Button(description="rows >", layout=w.Layout(width="90px"))
        self.page_number = w.BoundedIntText(
            value=1, min=1, max=1, description="page", layout=w.Layout(width="170px")
        )
        self.previous.on_click(lambda _: self._turn(-1))
        self.next.on_click(lambda _: self._turn(1))
        self._numbering = False  # True while the page number follows the page shown
        self.page_number.observe(
            lambda c: None if self._numbering else self._go(int(c.new) - 1), names="value"
        )
        self.arrows = w.HBox([self.previous, self.page_number, self.next])
        self.arrows.layout.display = "none"
        super().__init__([self.table, self.arrows], **kwargs)
        if css_class:
            self.add_class(css_class)

    @property
    def value(self) -> str:
        """The HTML of the page shown."""
        return self.table.value

    @property
    def pages(self) -> int:
        """Number of pages (at least 1)."""
        return max(1, -(-self._count // self.page_size))

    def rows_shown(self) -> range:
        """Positions of the rows on the page shown."""
        start = self.page * self.page_size
        return range(start, min(start + self.page_size, self._count))

    def show(self, frame: pd.DataFrame | None, *, keep_page: bool = False) -> None:
        """Show ``frame`` from its first page (or the same page, if it still exists)."""
        self.frame = frame
        rows_of = None if frame is None else (lambda start, stop: frame.iloc[start:stop])
        self._show(0 if frame is None else len(frame), rows_of, keep_page)

    def show_rows(
        self, count: int, rows_of: Callable[[int, int], pd.DataFrame], *, keep_page: bool = False
    ) -> None:
        """Show ``count`` rows of which only the page's are built: ``rows_of(start, stop)``
        returns rows ``start`` to ``stop - 1`` as a table."""
        self.frame = None
        self._show(int(count), rows_of, keep_page)

    def redraw(self) -> None:
        """Build the page shown again (its rows changed)."""
        self._draw()

    def _show(self, count: int, rows_of: Any, keep_page: bool) -> None:
        self._count, self._rows_of = count, rows_of
        self.page = min(self.page, self.pages - 1) if keep_page else 0
        self._draw()

    def _turn(self, step: int) -> None:
        self._go(self.page + step)

    def _go(self, page: int) -> None:
        page = max(0, min(self.pages - 1, page))
        if page != self.page:
            self.page = page
            self._draw()

    def _draw(self) -> None:
        self._numbering = True
        try:
            self.page_number.max = self.pages
            self.page_number.value = self.page + 1
        finally:
            self._numbering = False
        if self._rows_of is None:
            self.table.value = ""
            self.arrows.layout.display = "none"
            return
        shown = self.rows_shown()
        rows = self._rows_of(shown.start, shown.stop)
        text = table_html(rows, max_rows=None)
        if self.pages > 1:
            text += note(
                f"... {self._count - len(shown):,} more rows not shown on this page (rows "
                f"{shown.start + 1:,}-{shown.stop:,} of {self._count:,}, page {self.page + 1} "
                f"of {self.pages}): use the arrows or the page number, or filter and sort; "
                "every row is in the exported files."
            )
        self.table.value = text
        self.arrows.layout.display = "flex" if self.pages > 1 else "none"
        self.previous.disabled = self.page == 0
        self.next.disabled = self.page >= self.pages - 1


class Step(w.VBox):
    """Base of the wizard steps: a shared :class:`WizardState` and a message area.

    A step works only while it is shown. When the state changes while it is hidden, it
    is marked :attr:`stale` and brings itself up to date the next time it is shown
    (:meth:`set_shown`, called by the Wizard); a step alone in a cell is always shown.

    Parameters
    ----------
    state : WizardState, optional
        The state shared with other steps; a new one when omitted (the step alone in a cell).
    shown : bool, default True
        Whether the step is on screen; the Wizard builds every step but the one it opens
        with ``shown=False``, so their tables and figures are made when first opened.

    Attributes
    ----------
    shown : bool
    stale : bool
        The state changed since the step last showed it.
    """

    title = "Step"

    def __init__(
        self, state: WizardState | None = None, *, shown: bool = True, **kwargs: Any
    ) -> None:
        self.state = state if state is not None else WizardState()
        self.shown = bool(shown)
        self.stale = False
        self.message = w.HTML("")
        self.message.add_class("msc-message")
        super().__init__(**kwargs)
        self.add_class("msc-step")
        self.add_class("msc-step-" + re.sub(r"[^a-z0-9]+", "-", self.title.lower()).strip("-"))

    def refresh(self) -> None:
        """Show the current state (each step says how)."""

    def request_refresh(self) -> None:
        """Refresh now if the step is shown, else mark it stale (refreshed when shown)."""
        if self.shown:
            self.stale = False
            self.refresh()
        else:
            self.stale = True

    def set_shown(self, shown: bool) -> None:
        """Tell the step whether it is on screen; a stale step shown is refreshed."""
        self.shown = bool(shown)
        if self.shown and self.stale:
            self.guarded(self.request_refresh)()

    def _add_figure_area(self, figures: bool) -> None:
        """The "show figures" checkbox, the figures' Output and their names; the step
        redraws on a result change (when shown) and when the box is ticked (``_figures``)."""
        self.show_figures = w.Checkbox(value=figures, description="show figures")
        self.figures = w.Output()
        self.figures.add_class("msc-figures")
        self.figure_names: list[str] = []
        self.state.observe(
            self.guarded(lambda _: self.request_refresh()), names=["result", "analysis_error"]
        )
        self.show_figures.observe(self.guarded(lambda _: self._figures()), names="value")

    # -- messages ------------------------------------------------------------------------
    def show(self, text: str, kind: str = "info") -> None:
        """Show a message in this step's message area."""
        self.message.value = note(text, kind) if text else ""

    def show_error(self, exc: BaseException) -> None:
        """Show an exception as a clear message in this step's message area."""
        self.show(describe_error(exc), "error")

    def guarded(self, func: Callable[..., Any]) -> Callable[..., Any]:
        """Wrap a callback so that any error shows in the message area (never silent)."""

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                return func(*args, **kwargs)
            except Exception as exc:
                self.show_error(exc)
                return None

        return wrapper
