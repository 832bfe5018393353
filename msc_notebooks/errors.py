"""Exceptions raised by msc-notebooks.

Every error a user can cause derives from :class:`MscError` (a ``ValueError``), and
carries what a person needs to fix it: the file, the column, the rows and the fix.
The command line turns these into a message and exit status 2; the widgets show them
in the step's own message area. Nothing here ever prints a traceback.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

__all__ = [
    "FACES",
    "Fix",
    "InputError",
    "MscError",
    "Option",
    "ScheduleError",
    "SettingsError",
    "face",
    "format_rows",
    "require_columns",
]

#: The faces a fix can be written for: Python calls, the command line, a study's
#: ``study.yaml`` (the template notebooks).
FACES = ("python", "cli", "yaml")

#: Command-line options whose name is not the keyword with ``-`` for ``_``.
_CLI_FLAGS = {"column_map": "--map", "n_simulations": "--null-simulations"}

_FACE: ContextVar[str] = ContextVar("msc_notebooks_face", default="python")


@contextmanager
def face(name: str) -> Iterator[None]:
    """Write every error's fix in the words of one face while the block runs.

    Parameters
    ----------
    name : {'python', 'cli', 'yaml'}
        The face showing the error.

    Examples
    --------
    >>> err = InputError("ambiguous dates", fix=Fix("give ", Option("date_format", "%d/%m/%Y")))
    >>> with face("cli"):
    ...     print(err)
    ambiguous dates. Fix: give --date-format %d/%m/%Y
    """
    if name not in FACES:
        raise ValueError(f"face must be one of {FACES}, not {name!r}")
    token = _FACE.set(name)
    try:
        yield
    finally:
        _FACE.reset(token)


@dataclass(frozen=True)
class Option:
    """A setting named in a fix, written as each face spells it.

    Parameters
    ----------
    name : str
        The Python keyword (``column_map``, ``date_format``, ``sigma``, a ``Settings``
        field); the command-line option is the same name with dashes (``--date-format``),
        except ``column_map`` (``--map OLD=NEW``) and ``n_simulations``
        (``--null-simulations``); in a study it is a key of ``study.yaml``.
    value : object
        An example value (a dict for ``column_map``).

    Examples
    --------
    >>> o = Option("column_map", {"Subject": "patient_id"})
    >>> [o.render(f) for f in FACES]
    ["column_map={'Subject': 'patient_id'}", '--map Subject=patient_id', 'column_map: {Subject: patient_id} in study.yaml']
    >>> Option("sigma", 1.5).render("cli")
    '--sigma 1.5'
    """

    name: str
    value: Any

    def render(self, face: str = "python") -> str:
        """Return the option as the face writes it (see the class examples)."""
        if face == "cli":
            flag = _CLI_FLAGS.get(self.name, "--" + self.name.replace("_", "-"))
            if isinstance(self.value, Mapping):
                return " ".join(f"{flag} {shlex.quote(f'{k}={v}')}" for k, v in self.value.items())
            if self.value is True:
                return flag
            return f"{flag} {shlex.quote(str(self.value))}"
        if face == "yaml":
            if isinstance(self.value, Mapping):
                text = "{" + ", ".join(f"{k}: {v}" for k, v in self.value.items()) + "}"
            elif isinstance(self.value, str):
                text = f"'{self.value}'"
            else:
                text = str(self.value)
            return f"{self.name}: {text} in study.yaml"
        return f"{self.name}={self.value!r}"


class Fix:
    """The fix of an error, whose settings are written in the words of the face showing it.

    Parameters
    ----------
    *parts : str or Option
        Text and settings, joined in order.

    Examples
    --------
    >>> fix = "correct the dates, or " + Fix("give ", Option("date_format", "%d/%m/%Y"))
    >>> fix.render("python"), fix.render("yaml")
    ("correct the dates, or give date_format='%d/%m/%Y'", "correct the dates, or give date_format: '%d/%m/%Y' in study.yaml")
    """

    def __init__(self, *parts: str | Option) -> None:
        self.parts = parts

    def render(self, face: str = "python") -> str:
        """Return the fix as one face writes it."""
        return "".join(p if isinstance(p, str) else p.render(face) for p in self.parts)

    def __add__(self, other: str | Fix) -> Fix:
        return Fix(*self.parts, *(other.parts if isinstance(other, Fix) else (other,)))

    def __radd__(self, other: str) -> Fix:
        return Fix(other, *self.parts)

    def __str__(self) -> str:
        return self.render(_FACE.get())

    def __repr__(self) -> str:
        return f"Fix{self.parts!r}"


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


def check_names(
    given: Iterable[str], known: Iterable[str], what: str, where: str = "", none: str = "none"
) -> None:
    """Refuse names that are not known, listing the known ones (settings, parameters, ...).

    Parameters
    ----------
    given, known : iterable of str
        The names given and the names allowed.
    what : str
        What a name is (``"setting"``, ``"parameter"``), for the message.
    where : str, optional
        Where the names belong (``" for n.ipynb"``).
    none : str, optional
        What to say when nothing is known.

    Raises
    ------
    SettingsError
        When a given name is not known.

    Examples
    --------
    >>> check_names(["a", "zz"], ["a", "b"], "parameter", " for n.ipynb")
    Traceback (most recent call last):
    ...
    msc_notebooks.errors.SettingsError: unknown parameter(s) zz for n.ipynb; known parameters: a, b
    """
    known = list(known)
    unknown = sorted(set(given) - set(known))
    if unknown:
        raise SettingsError(
            f"unknown {what}(s) {', '.join(unknown)}{where}; "
            f"known {what}s: {', '.join(known) or none}"
        )


class MscError(ValueError):
    """Base class of every error msc-notebooks raises for bad input or settings.

    In IPython and Jupyter it shows as its message alone (:meth:`_render_traceback_`): the
    message names the file, column, rows and the fix, and a traceback of the kit's code
    above it would hide it from people who do not code. Other errors keep their traceback.
    """

    def _render_traceback_(self) -> list[str]:
        """The lines IPython shows for this error instead of a traceback (IPython's hook
        for exception classes; Jupyter and papermill get it as the cell's error output).

        Examples
        --------
        >>> lines = InputError("no visits", source="visits.csv")._render_traceback_()
        >>> len(lines), lines[0].endswith("InputError\x1b[0m: visits.csv: no visits")
        (1, True)
        """
        return [f"\x1b[0;31m{type(self).__name__}\x1b[0m: {self}"]

    def render(self, face: str = "python") -> str:
        """Return the message as one face writes it (``python``, ``cli`` or ``yaml``).

        Examples
        --------
        >>> err = InputError("no sigma", fix=Fix("give ", Option("sigma", 1.5)))
        >>> err.render("cli")
        'no sigma. Fix: give --sigma 1.5'
        """
        token = _FACE.set(face)
        try:
            return str(self)
        finally:
            _FACE.reset(token)


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
    fix : str or Fix, optional
        What to do about it. A :class:`Fix` names settings with :class:`Option`, so that
        the command line shows ``--date-format %d/%m/%Y`` where Python shows
        ``date_format='%d/%m/%Y'`` (see :func:`face`).

    Examples
    --------
    >>> err = InputError("ambiguous dates", source="visits.csv", column="date",
    ...                  rows=[2, 3], fix=Fix("give ", Option("date_format", "%d/%m/%Y")))
    >>> print(err)
    visits.csv, column 'date', rows 2, 3: ambiguous dates. Fix: give date_format='%d/%m/%Y'
    >>> print(err.render("cli"))
    visits.csv, column 'date', rows 2, 3: ambiguous dates. Fix: give --date-format %d/%m/%Y
    """

    def __init__(
        self,
        problem: str,
        *,
        source: str | None = None,
        column: str | None = None,
        rows: Sequence[object] | None = None,
        fix: str | Fix | None = None,
    ) -> None:
        self.problem = problem
        self.source = source
        self.column = column
        self.rows = list(rows) if rows is not None else []
        self.fix = fix
        super().__init__(problem)

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


def require_columns(table: Any, columns: Sequence[str], source: str) -> None:
    """Raise an :class:`InputError` naming the columns a table lacks (SPEC §11 names).

    Parameters
    ----------
    table : pandas.DataFrame
        The table to check.
    columns : sequence of str
        Columns it needs.
    source : str
        Where the table comes from, for the message (``'visits'``, ``'result.periods'``).

    Examples
    --------
    >>> import pandas as pd
    >>> require_columns(pd.DataFrame({"day": [1]}), ("patient_id", "day"), "visits")
    Traceback (most recent call last):
    ...
    msc_notebooks.errors.InputError: visits, column 'patient_id': missing column(s) patient_id. Fix: ... (methods §11)
    """
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise InputError(
            f"missing column(s) {', '.join(missing)}",
            source=source,
            column=missing[0],
            fix=f"the table needs the columns {', '.join(columns)} (methods §11)",
        )
