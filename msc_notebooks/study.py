"""The validated study: canonical tables, the exclusions table and the ledger (SPEC §10–11).

This is the hand-over point between reading (``loading``/``validation``) and analysing
(``analysis``). Every later stage takes a :class:`StudyData`; nothing later reads files.

Canonical tables (all sorted by ``patient_id`` then ``day``)
----------------------------------------------------------
Time is one number, ``day`` (float days). With calendar input it counts days since
1970-01-01 and ``date`` holds the date (``datetime64``, no time zone, midnight);
with PRO-ACT style ``*_day``/``*_Delta`` input it is the patient's own day offset and
``date`` is NaT. All tables of one study use the same time kind (``time_kind``).
Every table also keeps ``row``: where the row came from (spreadsheet row number for a
file, header = row 1; the index label for a DataFrame).

``visits``
    ``patient_id`` (str, exactly as written), ``day``, ``date``, ``alsfrs_r_total`` (float),
    items ``q1``..``q12`` when given (``q5`` from 5a or 5b), ``gastrostomy`` (bool, when
    items are given), domains ``bulbar``, ``fine_motor``, ``gross_motor``, ``respiratory``
    (when items are given), ``fvc_pct`` and any other numeric outcome columns, ``row``.
    One row per patient and day (same-day assessments merged: SPEC §12).
``injections``
    ``patient_id``, ``day``, ``date``, ``injection_number`` (1, 2, ... in time order),
    ``dose_million_cells``, ``route``, ``row``. One per patient and day.
``patients``
    ``patient_id``, ``onset_day``, ``diagnosis_day``, ``onset_date``, ``diagnosis_date``,
    ``sex``, ``age``, ``site_of_onset``, ``withdrawn`` (bool), then, only when the input
    has them, ``gastrostomy_day``/``gastrostomy_date`` and ``death_day``/``death_date``
    (King's 4A and stage 5, SPEC §16), and ``row``. When no patient table is given it is
    built from the ids seen in visits and injections (``row`` NA).
``adverse_events``
    ``patient_id``, ``day``, ``date``, ``term``, ``severity`` (``mild``/``moderate``/
    ``severe``/``not recorded``), ``serious`` (bool), ``related``, ``outcome``,
    ``injection_number``, ``row``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from .columns import EXCLUSIONS_COLUMNS, LEDGER_COLUMNS

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["StudyData", "empty_exclusions"]


def empty_exclusions() -> pd.DataFrame:
    """Return an empty exclusions table with the canonical columns (SPEC §10).

    Examples
    --------
    >>> list(empty_exclusions().columns)
    ['table', 'source', 'row', 'patient_id', 'column', 'value', 'reason']
    """
    import pandas as pd

    return pd.DataFrame({c: pd.Series(dtype="object") for c in EXCLUSIONS_COLUMNS})


@dataclass
class StudyData:
    """A validated study, ready to analyse.

    Attributes
    ----------
    visits, injections, patients : pandas.DataFrame
        Canonical tables (see the module docstring).
    adverse_events : pandas.DataFrame or None
        Canonical adverse-event table, or None when none was given.
    exclusions : pandas.DataFrame
        One row per input row not used: ``table``, ``source``, ``row``, ``patient_id``,
        ``column``, ``value``, ``reason``.
    ledger : pandas.DataFrame
        ``table``, ``rows_read``, ``rows_used``, ``rows_excluded`` (read = used + excluded).
    sources : dict
        Table name to where it came from (file name or ``"DataFrame"``).
    time_kind : {'date', 'day'}
        Calendar dates or integer day offsets.
    warnings : list of str
        Things worth telling the user that did not exclude a row (e.g. merged injections).
    recognised : dict
        Table name to ``{their column: canonical name}``: the columns renamed without a
        column map because the kit recognised their names (reported by every face).
    """

    visits: pd.DataFrame
    injections: pd.DataFrame
    patients: pd.DataFrame
    adverse_events: pd.DataFrame | None = None
    exclusions: pd.DataFrame = field(default_factory=empty_exclusions)
    ledger: pd.DataFrame | None = None
    sources: dict[str, str] = field(default_factory=dict)
    time_kind: Literal["date", "day"] = "date"
    warnings: list[str] = field(default_factory=list)
    recognised: dict[str, dict[str, str]] = field(default_factory=dict)

    def with_injections(self, injections: pd.DataFrame) -> StudyData:
        """Return a copy of the study with another (canonical) injection table.

        Used by the schedule editor and the protocol generator: the visits, exclusions and
        ledger are shared, not copied.
        """
        from dataclasses import replace

        return replace(self, injections=injections)

    @property
    def ledger_columns(self) -> tuple[str, ...]:
        return LEDGER_COLUMNS
