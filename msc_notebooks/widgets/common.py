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

__all__ = ["Step", "table_html", "chart_output", "show_figures", "note"]


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


def table_html(df: pd.DataFrame | None, *, max_rows: int = 50, css_class: str = "msc-table") -> str:
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


def show_figures(output: Any, figures: dict[str, Any]) -> list[str]:
    """Replace the content of an Output widget with the given charts, titled by name.

    Chart widgets shown before in ``output`` are closed (their data freed). Returns the
    names drawn.
    """
    old_widgets = getattr(output, "_msc_chart_widgets", [])
    widgets = []
    outputs = []
    for name, chart in figures.items():
        outputs.append(
            {
                "output_type": "display_data",
                "data": {"text/html": f"<h4>{html.escape(name)}</h4>", "text/plain": name},
                "metadata": {},
            }
        )
        out = chart_output(chart)
        widget = out.pop("widget", None)
        if widget is not None:
            widgets.append(widget)
        outputs.append(out)
    output.outputs = tuple(outputs)
    output._msc_chart_widgets = widgets
    for old in old_widgets:  # after their views left the page
        old.close()
    return list(figures)


class Step(w.VBox):
    """Base of the wizard steps: a shared :class:`WizardState` and a message area.

    Parameters
    ----------
    state : WizardState, optional
        The state shared with other steps; a new one when omitted (the step alone in a cell).
    """

    title = "Step"

    def __init__(self, state: WizardState | None = None, **kwargs: Any) -> None:
        self.state = state if state is not None else WizardState()
        self.message = w.HTML("")
        self.message.add_class("msc-message")
        super().__init__(**kwargs)
        self.add_class("msc-step")
        self.add_class("msc-step-" + re.sub(r"[^a-z0-9]+", "-", self.title.lower()).strip("-"))

    def _add_figure_area(self, figures: bool) -> None:
        """The "show figures" checkbox, the figures' Output and their names; the step
        redraws on a result change and when the box is ticked (``_figures``)."""
        self.show_figures = w.Checkbox(value=figures, description="show figures")
        self.figures = w.Output()
        self.figures.add_class("msc-figures")
        self.figure_names: list[str] = []
        self.state.observe(
            self.guarded(lambda _: self.refresh()), names=["result", "analysis_error"]
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
