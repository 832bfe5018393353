"""Exceptions raised by msc-notebooks.

Every error a user can cause derives from :class:`MscError` (a ``ValueError``), and
carries what a person needs to fix it: the file, the column, the rows and the fix.
The command line turns these into a message and exit status 2; the widgets show them
in the step's own message area. Nothing here ever prints a traceback.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

__all__ = ["MscError", "InputError", "ScheduleError", "SettingsError", "format_rows"]


def format_rows(rows: Iterable[object], limit: int = 10) -> str:
    """Return a short, human list of row numbers.

    Parameters
    ----------
    rows : iterable
        Row numbers (as the user sees them) or index labels.
    limit : int, default 10
        How many to show before ``and N more``.

    Returns
    -------
    str
        For example ``"rows 2, 5, 9"``.

    Examples
    --------
    >>> format_rows([2, 5, 9])
    'rows 2, 5, 9'
    >>> format_rows([4])
    'row 4'
    >>> format_rows(range(1, 15), limit=3)
    'rows 1, 2, 3 and 11 more'
    """
    rows = list(rows)
    if not rows:
        return "no rows"
    shown = ", ".join(str(r) for r in rows[:limit])
    more = f" and {len(rows) - limit} more" if len(rows) > limit else ""
    return f"{'row' if len(rows) == 1 else 'rows'} {shown}{more}"


class MscError(ValueError):
    """Base class of every error msc-notebooks raises for bad input or settings."""


class InputError(MscError):
    """A problem in the data a user brought, with where it is and how to fix it.

    Parameters
    ----------
    problem : str
        What is wrong, in one sentence.
    source : str, optional
        The file name (or ``"DataFrame 'visits'"``) the problem is in.
    column : str, optional
        The column concerned.
    rows : sequence, optional
        The rows concerned (spreadsheet row numbers for files, index labels for DataFrames).
    fix : str, optional
        What to do about it.

    Examples
    --------
    >>> err = InputError("ambiguous dates", source="visits.csv", column="date",
    ...                  rows=[2, 3], fix="pass date_format='%d/%m/%Y'")
    >>> print(err)
    visits.csv, column 'date', rows 2, 3: ambiguous dates. Fix: pass date_format='%d/%m/%Y'
    """

    def __init__(
        self,
        problem: str,
        *,
        source: str | None = None,
        column: str | None = None,
        rows: Sequence[object] | None = None,
        fix: str | None = None,
    ) -> None:
        self.problem = problem
        self.source = source
        self.column = column
        self.rows = list(rows) if rows is not None else []
        self.fix = fix
        super().__init__(str(self))

    def __str__(self) -> str:
        where = []
        if self.source:
            where.append(str(self.source))
        if self.column:
            where.append(f"column '{self.column}'")
        if self.rows:
            where.append(format_rows(self.rows))
        text = (", ".join(where) + ": " if where else "") + self.problem
        if self.fix:
            text += f". Fix: {self.fix}"
        return text


class ScheduleError(InputError):
    """An impossible or contradictory injection schedule."""


class SettingsError(MscError):
    """A setting outside its allowed values."""
