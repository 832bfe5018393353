"""Clinical stages from ALSFRS-R items: King's and MiToS (SPEC §16), vectorised.

:func:`stage_items` is the rule itself, on item scores (one row per assessment, no loop).
:func:`assessment_stages` applies it to a study's visits (with gastrostomy and death dates
from the patients table); :func:`stage_tables` gives the stage at each injection, at the
start and end of each period, the per-period transition table and the share of patients
whose stage progressed (exact Clopper-Pearson CI).

King's (Balendra et al. 2014)
    Regions involved: bulbar (any of q1, q2, q3 < 4), upper limb (q4 < 4 or q5a < 4; q5b is
    another scale and is not used), lower limb (q8 < 4; q9 is not used). Stage 1-3 = the
    number of regions involved; no region involved but a total below 48 is stage 1 and is
    flagged. 4A = gastrostomy (q5b answered instead of q5a, or a gastrostomy date on or
    before the assessment); 4B = q10 = 0 or q12 < 4. 4B takes precedence over 4A, 4A over
    1-3. 5 = death, only from a death date.
MiToS (Chiò et al. 2015)
    Domains lost: movement (q8 <= 1 or q6 <= 1), swallowing (q3 <= 1), communicating
    (q1 <= 1 **and** q4 <= 1), breathing (q10 <= 1 or q12 <= 2). Stage = domains lost
    (0-4); 5 = death.

Missing items: a stage is given only when the items present decide it whatever the
missing ones are (computed twice, missing items as 4 and as 0: the two must agree;
otherwise the stage is missing and ``reason`` names the items). A missing item is never
read as "not involved".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .progression import scores_at_injections
from .settings import Settings
from .summary import period_order

if TYPE_CHECKING:
    from .analysis import AnalysisResult
    from .study import StudyData

__all__ = [
    "KINGS_LABELS",
    "PROGRESSION_COLUMNS",
    "STAGE_COLUMNS",
    "StageResult",
    "assessment_stages",
    "kings_regions",
    "stage_items",
    "stage_tables",
]

#: King's stages in order (index = rank - 1); 4B ranks above 4A (the precedence rule).
KINGS_LABELS = ("1", "2", "3", "4A", "4B", "5")
#: King's stage number of each rank (4A and 4B are both stage 4).
_KINGS_NUMBER = np.array([np.nan, 1, 2, 3, 4, 4, 5], dtype=float)

#: Columns of ``StageResult.progression``.
PROGRESSION_COLUMNS = (
    "period",
    "system",
    "n_in_period",
    "n_staged",
    "n_not_staged",
    "n_progressed",
    "n_same",
    "n_back",
    "progressed_pct",
    "ci_low_pct",
    "ci_high_pct",
)

#: Columns of :func:`stage_items`.
STAGE_COLUMNS = ("kings", "mitos", "reason", "flag")

# the item scores each system reads ("q5a" is item 5 without gastrostomy)
_KINGS_ITEMS = ("q1", "q2", "q3", "q4", "q5a", "q8", "q10", "q12")
_MITOS_ITEMS = ("q1", "q3", "q4", "q6", "q8", "q10", "q12")
_ALL_ITEMS = ("q1", "q2", "q3", "q4", "q5a", "q6", "q8", "q10", "q12")


def _column(items: pd.DataFrame, name: str) -> np.ndarray:
    if name not in items.columns:
        return np.full(len(items), np.nan)
    return pd.to_numeric(items[name], errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def kings_regions(q: dict[str, np.ndarray]) -> np.ndarray:
    """Number of King's regions involved (0-3) from item scores (SPEC §16).

    Parameters
    ----------
    q : dict of str to numpy.ndarray
        Item scores (points, 0-4) ``q1``, ``q2``, ``q3``, ``q4``, ``q5a``, ``q8``; NaN in
        ``q5a`` reads as not involved (use it only where q5b was answered instead).

    Returns
    -------
    numpy.ndarray of int
        Bulbar (any of q1-q3 < 4) + upper limb (q4 < 4 or q5a < 4) + lower limb (q8 < 4).

    Examples
    --------
    >>> q = {k: np.array([4.0, 3.0]) for k in ("q1", "q2", "q3", "q4", "q5a", "q8")}
    >>> kings_regions(q).tolist()
    [0, 3]
    """
    bulbar = (q["q1"] < 4) | (q["q2"] < 4) | (q["q3"] < 4)
    upper = (q["q4"] < 4) | (q["q5a"] < 4)
    lower = q["q8"] < 4
    return bulbar.astype(int) + upper.astype(int) + lower.astype(int)


def _mitos_lost(q: dict[str, np.ndarray]) -> np.ndarray:
    movement = (q["q8"] <= 1) | (q["q6"] <= 1)
    swallowing = q["q3"] <= 1
    communicating = (q["q1"] <= 1) & (q["q4"] <= 1)  # "and": Table 1 of Chiò et al. 2015
    breathing = (q["q10"] <= 1) | (q["q12"] <= 2)
    return movement.astype(int) + swallowing + communicating + breathing.astype(int)


def _kings_rank(q: dict[str, np.ndarray], gastrostomy: np.ndarray, total: np.ndarray):
    """King's rank (1..5 = 1, 2, 3, 4A, 4B; 0 = no stage) and the no-region flag."""
    regions = kings_regions(q)
    rank = regions.copy()
    no_region = regions == 0
    rank[no_region & (total < 48)] = 1
    rank[gastrostomy] = 4
    rank[(q["q10"] == 0) | (q["q12"] < 4)] = 5
    return rank, no_region & (rank == 1)


_FULL = 512  # King's: no region involved and a total of 48
_UNKNOWN = 513  # King's: no region involved and the total unknown
_FLAGS = (
    "King's 1 with no region",
    "King's decided despite missing",
    "MiToS decided despite missing",
    "death date on or before the assessment",
)


def _missing_names(bits: int, names: tuple[str, ...], system: str) -> str:
    found = [n.replace("q5a", "q5") for i, n in enumerate(names) if bits >> i & 1]
    word = "item" if len(found) == 1 else "items"
    return f"{system}: {word} {', '.join(found)} missing"


def _reason_text(key: int) -> str:
    """The reason of a key of :func:`stage_items` (no items | King's code | MiToS bits)."""
    if key >> 30:
        return "no item scores (only the total)"
    parts = []
    k_code, m_bits = (key >> 10) & 1023, key & 1023
    if k_code == _FULL:
        parts.append("King's: no region involved and a total of 48")
    elif k_code == _UNKNOWN:
        parts.append("King's: no region involved and the total unknown")
    elif k_code:
        parts.append(_missing_names(k_code, _KINGS_ITEMS, "King's"))
    if m_bits:
        parts.append(_missing_names(m_bits, _MITOS_ITEMS, "MiToS"))
    return "; ".join(parts)


def _flag_text(key: int) -> str:
    return "; ".join(text for i, text in enumerate(_FLAGS) if key >> i & 1)


def _texts_by_key(key: np.ndarray, text_of) -> np.ndarray:
    """One text per row from an integer key, each distinct key's text built once."""
    if not len(key):
        return np.array([], dtype=object)
    u, inv = np.unique(key, return_inverse=True)
    return np.array([text_of(int(k)) for k in u], dtype=object)[inv.reshape(-1)]


def _join(*parts: np.ndarray) -> np.ndarray:
    out = np.full(len(parts[0]), "", dtype=object)
    for p in parts:
        has = p != ""
        both = has & (out != "")
        out[both] = out[both] + "; " + p[both]
        only = has & ~both
        out[only] = p[only]
    return out


def stage_items(
    items: pd.DataFrame,
    *,
    total: np.ndarray | pd.Series | None = None,
    gastrostomy: np.ndarray | pd.Series | None = None,
    dead: np.ndarray | pd.Series | None = None,
) -> pd.DataFrame:
    """King's and MiToS stage of each assessment from its ALSFRS-R items (SPEC §16).

    Parameters
    ----------
    items : pandas.DataFrame
        One row per assessment with item scores (points, 0-4) ``q1`` ... ``q12`` and item 5
        as ``q5a``/``q5b`` (as read), or as the kit's canonical ``q5`` with a ``gastrostomy``
        flag (True: q5 is q5b). A plain ``q5`` without a ``gastrostomy`` column is read as
        q5a. Column order does not matter; missing cells are NaN.
    total : array-like, optional
        ALSFRS-R total (points, 0-48) of each row; default ``alsfrs_r_total`` when present,
        else the item sum where every item is present. Used only for King's stage 1 without
        an involved region.
    gastrostomy : array-like of bool, optional
        True where a gastrostomy date lies on or before the assessment.
    dead : array-like of bool, optional
        True where a death date lies on or before the assessment (stage 5).

    Returns
    -------
    pandas.DataFrame
        Same index as ``items``: ``kings`` (``"1"``, ``"2"``, ``"3"``, ``"4A"``, ``"4B"``,
        ``"5"`` or None), ``mitos`` (Int64 0-5 or NA), ``reason`` (why a stage is missing;
        empty otherwise), ``flag`` (notes on a stage given: King's stage 1 without an
        involved region, stage decided despite missing items, death).

    Examples
    --------
    Bulbar (q1 = 3) and lower limb (q8 = 3) involved: King's 2. MiToS: q1 <= 1 but q4 = 4,
    so communicating is not lost ("and"): 0 domains.

    >>> row = dict(q1=1, q2=4, q3=4, q4=4, q5a=4, q6=4, q7=4, q8=3, q9=4, q10=4, q11=4, q12=4)
    >>> stage_items(pd.DataFrame([row]))[["kings", "mitos"]].values.tolist()
    [['2', 0]]
    >>> row.update(q5a=None, q5b=2)          # q5b answered: gastrostomy, 4A
    >>> stage_items(pd.DataFrame([row])).kings.tolist()
    ['4A']
    >>> row.update(q8=None)                  # q8 missing: MiToS undecided, King's still 4A
    >>> stage_items(pd.DataFrame([row]))[["kings", "reason"]].values.tolist()
    [['4A', 'MiToS: item q8 missing']]
    """
    n = len(items)
    cols = items.columns
    q = {k: _column(items, k) for k in ("q1", "q2", "q3", "q4", "q6", "q8", "q10", "q12")}
    if "q5a" in cols or "q5b" in cols:
        q5a, q5b = _column(items, "q5a"), _column(items, "q5b")
    else:
        q5 = _column(items, "q5")
        flag = (
            items["gastrostomy"].fillna(False).to_numpy(dtype=bool)
            if "gastrostomy" in cols
            else np.zeros(n, bool)
        )
        q5a, q5b = np.where(flag, np.nan, q5), np.where(flag, q5, np.nan)
    answered_b = np.isnan(q5a) & ~np.isnan(q5b)  # q5b answered instead of q5a
    g_date = np.zeros(n, bool) if gastrostomy is None else np.asarray(gastrostomy, dtype=bool)
    dead_ = np.zeros(n, bool) if dead is None else np.asarray(dead, dtype=bool)
    if total is None:
        if "alsfrs_r_total" in cols:
            total = _column(items, "alsfrs_r_total")
        else:
            all12 = [_column(items, f"q{i}") for i in (1, 2, 3, 4, 6, 7, 8, 9, 10, 11, 12)]
            total = np.sum(all12, axis=0) + np.where(np.isnan(q5a), q5b, q5a)
    total = np.asarray(total, dtype=float)
    # q5a read as missing only when neither form was answered (under q5b it is not used)
    q["q5a"] = np.where(answered_b, 4.0, q5a)
    missing = {k: np.isnan(v) for k, v in q.items()}

    def filled(value: float) -> dict[str, np.ndarray]:
        return {k: np.where(missing[k], value, v) for k, v in q.items()}

    best, worst = filled(4.0), filled(0.0)
    # gastrostomy: known from q5b or a date; unknown where item 5 is not answered at all
    g_best = answered_b | g_date
    g_worst = g_best | missing["q5a"]
    # an unknown total with no region involved could be 48 or less: both ends are tried
    t_best = np.where(np.isnan(total), 48.0, total)
    t_worst = np.where(np.isnan(total), 0.0, total)
    k_lo, no_region_lo = _kings_rank(best, g_best, t_best)
    k_hi, _ = _kings_rank(worst, g_worst, t_worst)
    m_lo, m_hi = _mitos_lost(best), _mitos_lost(worst)
    k_known = (k_lo == k_hi) & (k_lo > 0)
    m_known = m_lo == m_hi
    k_rank = np.where(k_known, k_lo, 0)
    k_rank[dead_] = 6
    m_stage = np.where(m_known, m_lo, -1)
    m_stage[dead_] = 5
    k_known |= dead_
    m_known |= dead_

    k_miss = np.column_stack([missing[k] for k in _KINGS_ITEMS])
    m_miss = np.column_stack([missing[k] for k in _MITOS_ITEMS])
    no_items = np.column_stack([missing[k] for k in _ALL_ITEMS]).all(axis=1)
    k_bits = k_miss.astype(np.int64) @ (1 << np.arange(len(_KINGS_ITEMS)))
    m_bits = m_miss.astype(np.int64) @ (1 << np.arange(len(_MITOS_ITEMS)))
    full = ~k_known & (k_lo == 0) & (k_hi == 0)  # every item present, none involved, 48
    # reasons and flags as integer keys: each distinct text is built once (speed at scale)
    k_code = np.where(k_known, 0, np.where(full, _FULL, np.where(k_bits > 0, k_bits, _UNKNOWN)))
    m_code = np.where(m_known, 0, m_bits)
    reason_key = ((no_items & ~dead_).astype(np.int64) << 30) | (k_code << 10) | m_code
    flag_key = (
        (k_known & ~dead_ & no_region_lo & (k_rank == 1)).astype(np.int64)
        | (k_known & ~dead_ & (k_bits > 0)) << 1
        | (m_known & ~dead_ & (m_bits > 0)) << 2
        | dead_.astype(np.int64) << 3
    )
    reason = _texts_by_key(reason_key, _reason_text)
    flag = _texts_by_key(flag_key, _flag_text)
    kings = np.array([None, *KINGS_LABELS], dtype=object)[k_rank]
    mitos = pd.array(np.where(m_stage >= 0, m_stage, 0), dtype="Int64")
    mitos[m_stage < 0] = pd.NA
    return pd.DataFrame(
        {"kings": kings, "mitos": mitos, "reason": reason, "flag": flag},
        index=items.index,
    )


def _label_rank(kings: pd.Series) -> np.ndarray:
    """Rank of King's labels: 1, 2, 3, 4 (4A), 5 (4B), 6 (5); NaN where missing."""
    ranks = {label: i + 1 for i, label in enumerate(KINGS_LABELS)}
    return kings.map(ranks).to_numpy(dtype=float, na_value=np.nan)


def _patient_days(study: StudyData, name: str, ids: pd.Series) -> np.ndarray:
    pats = study.patients
    if pats is None or f"{name}_day" not in pats.columns:
        return np.full(len(ids), np.nan)
    per = pats.drop_duplicates("patient_id").set_index("patient_id")[f"{name}_day"]
    return pd.to_numeric(ids.map(per), errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def assessment_stages(study: StudyData, settings: Settings | None = None) -> pd.DataFrame:
    """The King's and MiToS stage of every ALSFRS-R assessment of a study (SPEC §16).

    Parameters
    ----------
    study : StudyData
        Validated study; the patients table may have ``gastrostomy_day`` and ``death_day``
        (from ``gastrostomy_date``/``gastrostomy_day`` and ``death_date``/``death_day``).
    settings : Settings, optional
        ``stages_running_max``: report the running maximum of each patient's stages
        instead of the stages as derived (which can go back).

    Returns
    -------
    pandas.DataFrame
        One row per assessment (rows with an ALSFRS-R total or items), sorted by patient
        and day, plus one row at each death date: ``patient_id``, ``day`` (canonical day),
        ``date`` (calendar input; NaT otherwise), ``kings``, ``mitos``, ``reason``,
        ``flag`` (see :func:`stage_items`; ``"death date"`` on the death rows).

    Examples
    --------
    >>> from msc_notebooks import load_demo
    >>> t = assessment_stages(load_demo())
    >>> t[t.patient_id == "001"].kings.head(3).tolist()
    ['1', '1', '2']
    """
    s = settings or Settings()
    v = study.visits
    item_cols = [c for c in v.columns if c in {f"q{i}" for i in range(1, 13)} | {"gastrostomy"}]
    has = v["alsfrs_r_total"].notna() if "alsfrs_r_total" in v else pd.Series(False, v.index)
    for c in item_cols:
        if c != "gastrostomy":
            has |= v[c].notna()
    v = v.loc[has].sort_values(["patient_id", "day"], kind="stable")
    ids = v["patient_id"]
    day = v["day"].to_numpy(dtype=float)
    g_day = _patient_days(study, "gastrostomy", ids)
    d_day = _patient_days(study, "death", ids)
    st = stage_items(
        v[[*item_cols, *(["alsfrs_r_total"] if "alsfrs_r_total" in v else [])]],
        gastrostomy=g_day <= day,
        dead=d_day <= day,
    )
    date = v["date"] if "date" in v else pd.Series(pd.NaT, index=v.index)
    out = pd.DataFrame(
        {
            "patient_id": ids.to_numpy(),
            "day": day,
            "date": date.to_numpy(),
            "kings": st["kings"].to_numpy(),
            "mitos": st["mitos"].array,
            "reason": st["reason"].to_numpy(),
            "flag": st["flag"].to_numpy(),
        }
    )
    deaths = study.patients
    if deaths is not None and "death_day" in deaths.columns:
        deaths = deaths[deaths["death_day"].notna()]
        if len(deaths):
            rows = pd.DataFrame(
                {
                    "patient_id": deaths["patient_id"].to_numpy(),
                    "day": deaths["death_day"].to_numpy(dtype=float),
                    "date": (
                        deaths["death_date"].to_numpy()
                        if "death_date" in deaths
                        else np.full(len(deaths), np.datetime64("NaT"), "datetime64[ns]")
                    ),
                    "kings": "5",
                    "mitos": pd.array([5] * len(deaths), dtype="Int64"),
                    "reason": "",
                    "flag": "death date",
                }
            )
            out = pd.concat([out, rows], ignore_index=True)
            out = out.sort_values(["patient_id", "day"], kind="stable").reset_index(drop=True)
    if s.stages_running_max and len(out):
        out = _running_max(out)
    return out


def _running_max(t: pd.DataFrame) -> pd.DataFrame:
    """Each patient's highest stage so far (missing stages stay missing)."""
    t = t.copy()
    rank = pd.Series(_label_rank(t["kings"]), index=t.index)
    k_max = rank.groupby(t["patient_id"], sort=False).cummax()
    k_max = k_max.where(rank.notna())
    labels = np.array([None, *KINGS_LABELS], dtype=object)
    new_k = labels[np.nan_to_num(k_max.to_numpy(), nan=0).astype(int)]
    m = t["mitos"].astype("Float64")
    m_max = m.groupby(t["patient_id"], sort=False).cummax().where(m.notna())
    new_m = m_max.round().astype("Int64")
    raised = (rank.to_numpy() != k_max.to_numpy()) & rank.notna().to_numpy()
    raised |= (m.fillna(-1) != m_max.fillna(-1)).to_numpy()
    t["flag"] = _join(t["flag"].to_numpy(), np.where(raised, "running maximum", ""))
    t["kings"] = new_k
    t["mitos"] = new_m
    return t


def _lookup(stages: pd.DataFrame, ids: pd.Series, days: np.ndarray) -> pd.DataFrame:
    """The stage row of each (patient, day); NaN/None where there is no such assessment."""
    key_rows = stages[stages["flag"].ne("death date")]
    n = len(key_rows)
    codes, _ = pd.factorize(pd.concat([key_rows["patient_id"], ids], ignore_index=True))
    all_days = np.concatenate([key_rows["day"].to_numpy(dtype=float), np.asarray(days, float)])
    ok = np.isfinite(all_days)
    # one int64 key per (patient, day in thousandths of a day)
    ticks = np.where(ok, np.round(all_days * 1000), 0).astype(np.int64) + (1 << 40)
    key = (codes.astype(np.int64) << 42) | ticks
    st_key, probe_key = key[:n], key[n:]
    order = np.argsort(st_key, kind="stable")
    at = np.searchsorted(st_key[order], probe_key)
    at = np.minimum(at, max(n - 1, 0))
    hit = (n > 0) & ok[n:]
    if n:
        hit &= st_key[order][at] == probe_key
    rows = np.where(hit, order[at] if n else 0, 0)
    out = pd.DataFrame({"patient_id": ids.to_numpy(), "day": np.asarray(days, float)})
    kings = key_rows["kings"].to_numpy(dtype=object)
    reason = key_rows["reason"].to_numpy(dtype=object)
    out["kings"] = np.where(hit, kings[rows], None) if n else None
    out["mitos"] = key_rows["mitos"].array.take(np.where(hit, rows, -1), allow_fill=True)
    out["reason"] = np.where(hit, reason[rows], None) if n else None
    return out


@dataclass
class StageResult:
    """Stages of one analysed study (SPEC §16).

    Attributes
    ----------
    assessments : pandas.DataFrame
        :func:`assessment_stages`.
    injections : pandas.DataFrame
        Stage at each injection (the assessment nearest the injection within the window,
        SPEC §3): ``patient_id``, ``injection_number``, ``injection_day``, ``score_day``,
        ``kings``, ``mitos``, ``reason``.
    periods : pandas.DataFrame
        Per patient and period: ``patient_id``, ``period``, ``start_day``, ``end_day``
        (days from the first injection to the assessments used), ``rate`` (points/month),
        ``kings_start``, ``kings_end``, ``mitos_start``, ``mitos_end``,
        ``kings_progressed``, ``mitos_progressed`` (stage number higher at the end; King's
        4A and 4B are both 4), ``reason`` (why the change is not known).
    transitions : pandas.DataFrame
        ``period``, ``system`` (``kings``/``mitos``), ``stage_start``, ``stage_end``,
        ``n_patients``: patients with both stages known, per combination seen.
    progression : pandas.DataFrame
        ``period``, ``system``, ``n_in_period``, ``n_staged`` (both stages known),
        ``n_not_staged``, ``n_progressed``, ``n_same``, ``n_back`` (lower stage at the end:
        derived stages can go back), ``progressed_pct``, ``ci_low_pct``, ``ci_high_pct``
        (exact Clopper-Pearson 95 % CI of the share progressed, %).
    time_kind : {'date', 'day'}
        Time of the study's input.
    """

    assessments: pd.DataFrame
    injections: pd.DataFrame
    periods: pd.DataFrame
    transitions: pd.DataFrame
    progression: pd.DataFrame
    time_kind: str = "date"

    def stages_csv(self) -> pd.DataFrame:
        """``stages.csv``: ``patient_id``, ``date`` (or ``day`` for day offsets), ``kings``,
        ``mitos``, ``reason``, ``flag``.

        Examples
        --------
        >>> from msc_notebooks import analyze, load_demo
        >>> stage_tables(analyze(load_demo())).stages_csv().columns.tolist()
        ['patient_id', 'date', 'kings', 'mitos', 'reason', 'flag']
        """
        t = self.assessments
        when = (t["date"].dt.strftime("%Y-%m-%d") if self.time_kind == "date" else t["day"]).rename(
            self.time_kind
        )
        return pd.concat([t[["patient_id"]], when, t[["kings", "mitos", "reason", "flag"]]], axis=1)

    def tables(self) -> dict[str, pd.DataFrame]:
        """File name to table, as :func:`msc_notebooks.export.write_results` writes them.

        Examples
        --------
        >>> from msc_notebooks import analyze, load_demo
        >>> sorted(stage_tables(analyze(load_demo())).tables())[-2:]
        ['stage_transitions.csv', 'stages.csv']
        """
        return {
            "stages.csv": self.stages_csv(),
            "stage_injections.csv": self.injections,
            "stage_periods.csv": self.periods,
            "stage_transitions.csv": self.transitions,
            "stage_progression.csv": self.progression,
        }


def stage_tables(result: AnalysisResult) -> StageResult:
    """Stages at injections and periods, transitions and progression (SPEC §16).

    The assessments used are those of the analysis (SPEC §3: the nearest assessment within
    the window; period ends as in the period table), of the ALSFRS-R total.

    Parameters
    ----------
    result : AnalysisResult
        From :func:`msc_notebooks.analyze`. With another outcome than ALSFRS-R the periods
        are recomputed on the ALSFRS-R total (stages belong to ALSFRS-R assessments).

    Returns
    -------
    StageResult

    Examples
    --------
    >>> from msc_notebooks import analyze, load_demo
    >>> st = stage_tables(analyze(load_demo()))
    >>> p = st.progression.set_index(["period", "system"])
    >>> int(p.loc[("1-2", "kings"), "n_staged"])
    19
    """
    from .safety import clopper_pearson

    s = result.settings
    study = result.study
    stages = assessment_stages(study, s)
    # the stage at each injection: the kit's nearest-assessment rule (SPEC §3)
    at = scores_at_injections(study.visits, study.injections, s.window_days, "alsfrs_r_total")
    found = _lookup(stages, at["patient_id"], at["score_day"].to_numpy(dtype=float))
    reason = found["reason"].fillna("").to_numpy(dtype=object, copy=True)
    none = at["score_day"].isna().to_numpy()
    reason[none] = [
        f"no assessment within {s.window_days:g} days of injection {k}"
        for k in at["injection_number"][none]
    ]
    inj = pd.DataFrame(
        {
            "patient_id": at["patient_id"].to_numpy(),
            "injection_number": at["injection_number"].to_numpy(),
            "injection_day": at["injection_day"].to_numpy(),
            "score_day": at["score_day"].to_numpy(),
            "kings": found["kings"].to_numpy(),
            "mitos": found["mitos"].array,
            "reason": reason,
        }
    )
    # periods: the assessments the analysis used (recomputed on ALSFRS-R for other outcomes)
    if s.outcome == "alsfrs_r_total":
        rates = result.rates
    else:
        from .progression import compute_periods

        rates = compute_periods(
            study.visits, study.injections, study.patients, s.replace(outcome="alsfrs_r_total")
        )
    t1 = study.injections.groupby("patient_id")["day"].min()
    base = rates["patient_id"].map(t1).to_numpy(dtype=float)
    ok = rates["rate_reason"].eq("").to_numpy(copy=True)
    if s.reference == "onset":
        ok &= rates["period"].ne("reference").to_numpy()
    start = _lookup(stages, rates["patient_id"], rates["start_day"].to_numpy(dtype=float) + base)
    end = _lookup(stages, rates["patient_id"], rates["end_day"].to_numpy(dtype=float) + base)
    per = pd.DataFrame(
        {
            "patient_id": rates["patient_id"].to_numpy(),
            "period": rates["period"].to_numpy(),
            "start_day": rates["start_day"].to_numpy(),
            "end_day": rates["end_day"].to_numpy(),
            "rate": rates["rate"].to_numpy(),
        }
    )
    why = np.where(ok, "", rates["rate_reason"].to_numpy(dtype=object))
    if s.reference == "onset":
        why = np.where(
            rates["period"].eq("reference") & (why == ""),
            "the onset reference starts at symptom onset, not an assessment",
            why,
        )
    for system in ("kings", "mitos"):
        for end_name, side in (("start", start), ("end", end)):
            col = side[system]
            per[f"{system}_{end_name}"] = (
                col.where(pd.Series(ok)).array
                if system == "mitos"
                else np.where(ok, col.to_numpy(dtype=object), None)
            )
    s_reason = start["reason"].fillna("").to_numpy(dtype=object)
    e_reason = end["reason"].fillna("").to_numpy(dtype=object)
    staged_reason = _join(
        np.where(ok & (s_reason != ""), "at the start: " + s_reason.astype(str), ""),
        np.where(ok & (e_reason != ""), "at the end: " + e_reason.astype(str), ""),
    )
    per["reason"] = _join(why.astype(object), staged_reason)
    k0, k1 = _label_rank(per["kings_start"]), _label_rank(per["kings_end"])
    n0 = _KINGS_NUMBER[np.nan_to_num(k0, nan=0).astype(int)]
    n1 = _KINGS_NUMBER[np.nan_to_num(k1, nan=0).astype(int)]
    m0 = per["mitos_start"].astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    m1 = per["mitos_end"].astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    per["kings_progressed"] = pd.array(np.where(np.isnan(n0 + n1), None, n1 > n0), dtype="boolean")
    per["mitos_progressed"] = pd.array(np.where(np.isnan(m0 + m1), None, m1 > m0), dtype="boolean")
    # the run-in (reference) first: stage change before treatment, then the periods
    order = ["reference"] * bool(per["period"].eq("reference").any()) + period_order(per["period"])
    trans, prog = [], []
    for period in order:
        rows = per[per["period"] == period]
        for system, a, b in (("kings", n0, n1), ("mitos", m0, m1)):
            sel = (per["period"] == period).to_numpy()
            x0, x1 = a[sel], b[sel]
            both = ~np.isnan(x0 + x1)
            counts = (
                rows.loc[both, [f"{system}_start", f"{system}_end"]]
                .astype(str)
                .value_counts()
                .sort_index()
            )
            for (s0, s1), n in counts.items():
                trans.append((period, system, s0, s1, int(n)))
            n_staged = int(both.sum())
            n_up = int((x1[both] > x0[both]).sum())
            prog.append(
                {
                    "period": period,
                    "system": system,
                    "n_in_period": len(rows),
                    "n_staged": n_staged,
                    "n_not_staged": len(rows) - n_staged,
                    "n_progressed": n_up,
                    "n_same": int((x1[both] == x0[both]).sum()),
                    "n_back": int((x1[both] < x0[both]).sum()),
                }
            )
    progression = pd.DataFrame(prog, columns=list(PROGRESSION_COLUMNS[:8]))
    for col in PROGRESSION_COLUMNS[8:]:
        progression[col] = pd.Series(dtype=float)
    if len(progression):
        lo, hi = clopper_pearson(
            progression["n_progressed"].to_numpy(), progression["n_staged"].to_numpy()
        )
        with np.errstate(invalid="ignore", divide="ignore"):
            pct = (
                100
                * progression["n_progressed"]
                / progression["n_staged"].where(progression["n_staged"] > 0)
            )
        progression["progressed_pct"] = pct
        staged = progression["n_staged"].to_numpy() > 0
        progression["ci_low_pct"] = np.where(staged, 100 * np.asarray(lo, dtype=float), np.nan)
        progression["ci_high_pct"] = np.where(staged, 100 * np.asarray(hi, dtype=float), np.nan)
    transitions = pd.DataFrame(
        trans, columns=["period", "system", "stage_start", "stage_end", "n_patients"]
    )
    return StageResult(
        assessments=stages,
        injections=inj,
        periods=per,
        transitions=transitions,
        progression=progression,
        time_kind=study.time_kind,
    )
