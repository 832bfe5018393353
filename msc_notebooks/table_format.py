"""Tables people read: numbers at the precision that means something, rows that stay short.

One set of rules for every face that shows a table to a person (the Wizard's Results step
and the HTML report): :func:`format_table` turns a result table into text, and
:func:`table_html` into an escaped HTML table in which long texts are cut to one line
(full text on hover) and rows not evaluable are set apart (class ``msc-not-evaluable``,
grey and italic). :func:`filter_sort` is the per-patient table's filter and sort, used by
the Wizard in the kernel; the report does the same in the page (``FILTER_SCRIPT``).
Exported files (CSV, Excel) keep every digit: these rules are for reading only.

Precision by column name (first rule that matches):

========================================  ===========  =====================================
columns                                   shown to     why
========================================  ===========  =====================================
``p``, ``*_p``, ``p_value``               2 signif.    "< 0.001" below 0.001
``rho``, ``*_rho``                        0.01
``*_pct``, ``pct``, ``*_percent``         0.1          percentages (SPEC §6)
``*rate*``, ``*per_month*``, ``*slope*``  0.01         points per month (SPEC §2)
``*day*``                                 1            study days
``months``, ``*_months``                  0.1
``*score*``, ``mean*``, ``median*``,      0.1          ALSFRS-R points are integers; a
``sd``, ``se``, ``ci_*``                               tenth shows interpolation
other floats                              3 signif.
========================================  ===========  =====================================

Integers stay integers, booleans read ``yes``/``no``, missing values are blank.
"""

from __future__ import annotations

import html
import math
import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "TABLE_CSS",
    "FILTER_SCRIPT",
    "column_digits",
    "format_value",
    "format_table",
    "table_html",
    "filter_sort",
    "count_of",
]

#: Text columns cut to one line (full text in the cell's tooltip).
_LONG_TEXT = ("reason", "reasons", "note", "sentence", "term", "message")

#: (pattern, digits after the point; negative = significant digits) in order of priority.
_RULES: tuple[tuple[str, int], ...] = (
    (r"(.*_)?p(_value)?$", -2),
    (r"(.*_)?rho$", 2),
    (r"(.*_)?(pct|percent)(_.*)?$", 1),
    (r".*(rate|per_month|slope).*", 2),
    (r".*day.*", 0),
    (r"(.*_)?months$", 1),
    (r"estimate|se|ci_low|ci_high", 2),  # slopes.csv (methods §14): per month, like rates
    (r".*score.*|mean.*|median.*|sd|se|ci_.*", 1),
)

#: Styles of :func:`table_html` tables (``msc-table``), shared by the Wizard and the report.
TABLE_CSS = """
.msc-table{border-collapse:collapse;font-size:.85em;margin:.5em 0}
.msc-table td,.msc-table th{border:1px solid #ddd;padding:.2em .5em;text-align:right;
white-space:nowrap}
.msc-table th{background:#f3f3f3;position:sticky;top:0;cursor:pointer}
.msc-table td.msc-text{text-align:left;max-width:22em;overflow:hidden;text-overflow:ellipsis}
.msc-table tr.msc-not-evaluable td{color:#777;font-style:italic;background:#f7f7f7}
.msc-table-scroll{max-height:32em;overflow:auto;display:inline-block;max-width:100%}
"""

#: A small script for the report: a filter box and sorting by a click on a column header,
#: for every ``table.msc-sortable`` (no library, nothing loaded from outside).
FILTER_SCRIPT = """
document.querySelectorAll('table.msc-sortable').forEach(function (table) {
  var body = table.tBodies[0], rows = Array.prototype.slice.call(body.rows);
  var box = document.createElement('input');
  box.type = 'search'; box.placeholder = 'Filter rows (any text)'; box.className = 'msc-filter';
  table.parentNode.parentNode.insertBefore(box, table.parentNode);
  box.addEventListener('input', function () {
    var q = box.value.toLowerCase();
    rows.forEach(function (r) {
      r.style.display = r.textContent.toLowerCase().indexOf(q) >= 0 ? '' : 'none';
    });
  });
  Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, col) {
    var up = true;
    th.title = 'Click to sort';
    th.addEventListener('click', function () {
      var key = function (r) {
        var t = r.cells[col].textContent.trim(), v = parseFloat(t.replace('< ', ''));
        return isNaN(v) || /[a-z]/i.test(t.replace(/e-?\\d+$/, '')) ? t : v;
      };
      rows.sort(function (a, b) {
        var x = key(a), y = key(b);
        if (x === '' || y === '') return (x === '') - (y === '');
        var c = typeof x === typeof y ? (x < y ? -1 : x > y ? 1 : 0) : typeof x === 'number' ? -1 : 1;
        return up ? c : -c;
      });
      up = !up;
      rows.forEach(function (r) { body.appendChild(r); });
    });
  });
});
"""


def column_digits(column: str) -> int | None:
    """Digits shown for a column of floats (negative = significant digits); see the module.

    Examples
    --------
    >>> [column_digits(c) for c in ("rate", "improvement_pct", "wilcoxon_p", "start_day")]
    [2, 1, -2, 0]
    >>> column_digits("ratio_of_means") is None
    True
    """
    name = column.lower()
    for pattern, digits in _RULES:
        if re.fullmatch(pattern, name):
            return digits
    return None


def format_value(value: Any, digits: int | None) -> str:
    """One cell as text: ``digits`` after the point (negative: significant digits).

    Examples
    --------
    >>> format_value(12.3456, 1), format_value(0.00012, -2), format_value(0.0123, -2)
    ('12.3', '< 0.001', '0.012')
    >>> format_value(float("nan"), 2), format_value(True, None), format_value(7, 2)
    ('', 'yes', '7')
    """
    if value is None or value is getattr(__import__("pandas"), "NA", None):
        return ""
    if isinstance(value, bool) or type(value).__name__ == "bool_":
        return "yes" if value else "no"
    if isinstance(value, int) or type(value).__name__.startswith(("int", "uint")):
        return f"{int(value):d}"
    if isinstance(value, float) or type(value).__name__.startswith("float"):
        v = float(value)
        if math.isnan(v):
            return ""
        if math.isinf(v):
            return "∞" if v > 0 else "−∞"
        if digits is not None and digits < 0:
            if 0 < abs(v) < 0.001:
                return "< 0.001"
            return f"{v:.{-digits}g}"
        if digits is None:
            return f"{v:.3g}" if abs(v) < 1e6 else f"{v:,.0f}"
        text = f"{v:,.{digits}f}"
        return "0" if text.strip("-0.,") == "" and digits else text
    return str(value)


def format_table(frame: pd.DataFrame) -> pd.DataFrame:
    """A result table as text at the precision that means something (rules: module doc).

    Parameters
    ----------
    frame : pandas.DataFrame
        Any result table (``periods``, ``summary``, ``clinical``, ...).

    Returns
    -------
    pandas.DataFrame
        Same columns and index, every cell text (missing values blank).

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"rate": [0.123456], "improvement_pct": [33.33333],
    ...                   "wilcoxon_p": [0.0312], "evaluable": [True], "n": [19]})
    >>> format_table(t).iloc[0].tolist()
    ['0.12', '33.3', '0.031', 'yes', '19']
    """
    import pandas as pd

    out = {}
    for column in frame.columns:
        digits = column_digits(str(column))
        out[column] = [format_value(v, digits) for v in frame[column].tolist()]
    return pd.DataFrame(out, index=frame.index, columns=frame.columns)


def _not_evaluable(frame: pd.DataFrame) -> list[bool]:
    if "evaluable" not in frame.columns:
        return [False] * len(frame)
    return [v is False or v == False for v in frame["evaluable"].tolist()]  # noqa: E712


def table_html(
    frame: pd.DataFrame | None,
    *,
    max_rows: int | None = None,
    sortable: bool = False,
    css_class: str = "msc-table",
) -> str:
    """An escaped HTML table of :func:`format_table`'s text, for the Wizard and the report.

    Long text columns (``reason``, ``term``, ...) are cut to one line with the full text
    in the cell's tooltip; rows with ``evaluable`` false get the class
    ``msc-not-evaluable`` (grey, italic: ``TABLE_CSS``).

    Parameters
    ----------
    frame : pandas.DataFrame or None
    max_rows : int, optional
        Show the first rows only and say how many are left out.
    sortable : bool, default False
        Add the class ``msc-sortable`` (the report's ``FILTER_SCRIPT`` adds a filter box
        and sorting by a click on a header).
    css_class : str, default 'msc-table'

    Returns
    -------
    str
        ``<div class="msc-table-scroll"><table ...>...</table></div>`` (and a note of the
        rows left out), or a note ``(none)``.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"patient_id": ["<a>", "b"], "rate": [0.123, None],
    ...                   "evaluable": [True, False], "reason": ["", "no visit " * 20]})
    >>> page = table_html(t)
    >>> "&lt;a&gt;" in page, "<td>0.12</td>" in page, page.count("msc-not-evaluable")
    (True, True, 1)
    >>> 'class="msc-text" title="no visit' in page
    True
    """
    if frame is None or len(frame.columns) == 0:
        return "<p class='msc-note'>(none)</p>"
    shown = frame if max_rows is None else frame.head(max_rows)
    text = format_table(shown)
    long = [str(c).lower() in _LONG_TEXT for c in text.columns]
    classes = css_class + (" msc-sortable" if sortable else "")
    parts = [f'<div class="msc-table-scroll"><table class="{classes}"><thead><tr>']
    parts += [f"<th>{html.escape(str(c))}</th>" for c in text.columns]
    parts.append("</tr></thead><tbody>")
    for row, apart in zip(text.itertuples(index=False), _not_evaluable(shown), strict=True):
        parts.append('<tr class="msc-not-evaluable">' if apart else "<tr>")
        for cell, is_long in zip(row, long, strict=True):
            value = html.escape(cell)
            if is_long and cell:
                parts.append(f'<td class="msc-text" title="{value}">{value}</td>')
            else:
                parts.append(f"<td>{value}</td>")
        parts.append("</tr>")
    parts.append("</tbody></table></div>")
    if max_rows is not None and len(frame) > max_rows:
        parts.append(
            f"<p class='msc-note'>... {len(frame) - max_rows:,} more rows not shown (first "
            f"{max_rows:,} of {len(frame):,}); filter or sort to see the others (every row is "
            "in the exported files).</p>"
        )
    return "".join(parts)


def filter_sort(
    frame: pd.DataFrame, text: str = "", sort_by: str | None = None, ascending: bool = True
) -> pd.DataFrame:
    """Rows whose text contains ``text`` (any column, case-insensitive), sorted by a column.

    Sorting uses the values, not their text (so 10 comes after 9); missing values last.

    Parameters
    ----------
    frame : pandas.DataFrame
    text : str, default ''
        Kept rows contain it in any column's displayed text; '' keeps every row.
    sort_by : str, optional
        A column of ``frame``; ``None`` keeps the order.
    ascending : bool, default True

    Returns
    -------
    pandas.DataFrame
        The kept rows, in order.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"patient_id": ["001", "002", "003"], "rate": [0.9, None, 0.1],
    ...                   "reason": ["", "no visit", ""]})
    >>> filter_sort(t, sort_by="rate").patient_id.tolist()
    ['003', '001', '002']
    >>> filter_sort(t, "VISIT").patient_id.tolist()
    ['002']
    """
    kept = frame
    if text:
        shown = format_table(frame)
        needle = text.lower()
        mask = shown.apply(lambda col: col.str.lower().str.contains(needle, regex=False))
        kept = frame[mask.any(axis=1).to_numpy()]
    if sort_by is not None and sort_by in kept.columns:
        kept = kept.sort_values(sort_by, ascending=ascending, kind="stable", na_position="last")
    return kept


def count_of(n: int, word: str, plural: str | None = None) -> str:
    """A count with its noun in the right number, for sentences on every face.

    Parameters
    ----------
    n : int
        The count.
    word : str
        The noun for one (``"control"``).
    plural : str, optional
        The noun for several when it is not ``word + "s"``.

    Returns
    -------
    str

    Examples
    --------
    >>> count_of(1, "control"), count_of(2, "control"), count_of(0, "patient")
    ('1 control', '2 controls', '0 patients')
    """
    return f"{n} {word if n == 1 else (plural or word + 's')}"
