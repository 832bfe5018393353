"""Improvement and responders (SPEC §6): cheap to recompute when a threshold changes.

:func:`classify` turns the rate table of :func:`msc_notebooks.progression.compute_periods`
into the per-patient period table of SPEC §11. It never recomputes a rate, so the widgets
call it alone when only ``threshold_pct``, ``inclusive`` or ``absolute_threshold`` change.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .columns import PERIODS_COLUMNS, shared_codes
from .progression import ZERO_RATE
from .settings import Settings

__all__ = [
    "improvement_table",
    "classify",
    "flag_responders",
    "improvement_pct",
    "relative_responder",
    "absolute_responder",
    "THRESHOLD_TOLERANCE",
    "SMALL_REFERENCE_RATE",
    "NO_DECLINE_REASON",
]

#: Comparisons with a threshold allow for floating-point error of this size, so that an
#: improvement computed as 25.000000000000004 % is not "above 25 %" (SPEC §6).
THRESHOLD_TOLERANCE = 1e-9

#: A reference rate below this many points/month (outcome units per month) is a small
#: denominator: the improvement % of its periods can explode (SPEC §7). Such rows are
#: flagged (``small_reference``) and counted in the summary, never dropped.
SMALL_REFERENCE_RATE = 0.3

#: Why a reference row with a rate <= 0 is not evaluable (SPEC §6, §7).
NO_DECLINE_REASON = "no decline before treatment (reference rate <= 0)"


def improvement_pct(reference_rate: np.ndarray, rate: np.ndarray) -> np.ndarray:
    """Improvement % = 100 x (reference - rate) / reference (SPEC §6), no evaluability check.

    Written as ``100 * (1 - rate / reference)`` so that a rate of 0 gives exactly 100 and a
    rate equal to the reference exactly 0.

    Examples
    --------
    >>> improvement_pct(np.array([2.0, 0.3, 0.3]), np.array([0.5, 0.0, 0.3])).tolist()
    [75.0, 100.0, 0.0]
    """
    with np.errstate(invalid="ignore", divide="ignore"):
        return 100.0 * (
            1.0 - np.asarray(rate, dtype=float) / np.asarray(reference_rate, dtype=float)
        )


def relative_responder(improvement: np.ndarray, settings: Settings) -> np.ndarray:
    """Improvement above ``threshold_pct`` (at least, with ``inclusive``), SPEC §6.

    Examples
    --------
    >>> relative_responder(np.array([25.0, 25.000000000001, 26.0]), Settings()).tolist()
    [False, False, True]
    >>> relative_responder(np.array([24.999999999999]), Settings(inclusive=True)).tolist()
    [True]
    """
    imp = np.asarray(improvement, dtype=float)
    with np.errstate(invalid="ignore"):
        if settings.inclusive:
            return imp >= settings.threshold_pct - THRESHOLD_TOLERANCE
        return imp > settings.threshold_pct + THRESHOLD_TOLERANCE


def absolute_responder(change: np.ndarray, settings: Settings) -> np.ndarray:
    """Reference rate - period rate at least ``absolute_threshold`` points/month (SPEC §6).

    Examples
    --------
    >>> absolute_responder(np.array([1.2499999999999, 1.0]), Settings()).tolist()
    [True, False]
    """
    with np.errstate(invalid="ignore"):
        return np.asarray(change, dtype=float) >= settings.absolute_threshold - THRESHOLD_TOLERANCE


def improvement_table(rates: pd.DataFrame) -> pd.DataFrame:
    """Add the reference rate, improvement % and evaluability to every period row (SPEC §6).

    Parameters
    ----------
    rates : pandas.DataFrame
        Output of :func:`msc_notebooks.progression.compute_periods`.

    Returns
    -------
    pandas.DataFrame
        The SPEC §11 columns except the responder flags: ``reference_rate``
        (points/month), ``improvement_pct`` = 100 x (reference - rate) / reference
        (NaN where not evaluable, never infinite), ``absolute_change`` = reference - rate
        (points/month), ``evaluable``, ``reason``, ``small_reference`` (reference rate
        above 0 and below :data:`SMALL_REFERENCE_RATE` points/month, SPEC §7). A reference
        row whose rate is <= 0 is not evaluable (SPEC §7), and neither is any period of
        that patient.

    Examples
    --------
    Reference 2 points/month, period 0.5: improvement 100 x (2 - 0.5) / 2 = 75 %.

    >>> r = pd.DataFrame({"patient_id": ["a", "a"], "period": ["reference", "1-2"],
    ...     "period_index": [0, 1], "start_day": [-90.0, 0.0], "end_day": [0.0, 90.0],
    ...     "start_score": [40.0, 37.0], "end_score": [37.0, 36.0], "months": [3.0, 3.0],
    ...     "rate": [2.0, 0.5], "rate_reason": ["", ""]})
    >>> improvement_table(r)[["period", "improvement_pct", "absolute_change"]].values.tolist()
    [['reference', nan, nan], ['1-2', 75.0, 1.5]]
    """
    out = rates.copy(deep=False)  # copy-on-write: the rate columns are shared, not copied
    is_ref = out["period_index"].to_numpy() == 0  # the reference row (SPEC §11)
    rate = out["rate"].to_numpy(dtype=float)
    # reasons as codes into their few distinct texts (missing = no reason); texts are built
    # once per distinct value, never per row
    own, texts = pd.factorize(out["rate_reason"])
    texts = list(texts)
    if "" not in texts:
        texts.append("")
    blank = texts.index("")
    own = np.where(own < 0, blank, own)
    # each row's reference row (the patient's first): integer codes, not a map over text
    codes = shared_codes(out["patient_id"])[0][0]
    ref_rows = np.flatnonzero(is_ref & (codes >= 0))
    first_ref = np.full(codes.max() + 1 if len(codes) else 0, -1, dtype=np.int64)
    uniq, first = np.unique(codes[ref_rows], return_index=True)
    first_ref[uniq] = ref_rows[first]
    at = np.where(codes >= 0, first_ref[np.maximum(codes, 0)] if len(first_ref) else -1, -1)
    has = at >= 0
    ref_rate = np.where(has, rate[np.maximum(at, 0)] if len(rate) else np.nan, np.nan)
    ref_reason = np.where(has, own[np.maximum(at, 0)] if len(own) else blank, blank)

    reason = own.copy()
    no_ref = ~is_ref & (reason == blank) & np.isnan(ref_rate)
    for r in np.unique(ref_reason[no_ref]):
        texts.append(f"reference rate not evaluable ({texts[r]})")
        reason[no_ref & (ref_reason == r)] = len(texts) - 1
    no_decline = ~is_ref & (reason == blank) & (ref_rate <= ZERO_RATE)
    texts.append(f"{NO_DECLINE_REASON}: improvement undefined")
    reason[no_decline] = len(texts) - 1
    flat_ref = is_ref & (reason == blank) & (rate <= ZERO_RATE)  # SPEC §7: not evaluable
    texts.append(NO_DECLINE_REASON)
    reason[flat_ref] = len(texts) - 1
    reason_text = pd.Index(texts).take(reason)
    evaluable = (reason == blank) & ~np.isnan(rate)
    pair = ~is_ref & evaluable
    improvement = np.where(pair, improvement_pct(ref_rate, rate), np.nan)
    out["reference_rate"] = ref_rate
    out["improvement_pct"] = improvement
    out["absolute_change"] = np.where(pair, ref_rate - rate, np.nan)
    out["evaluable"] = evaluable
    out["reason"] = reason_text
    with np.errstate(invalid="ignore"):
        out["small_reference"] = (ref_rate > ZERO_RATE) & (ref_rate < SMALL_REFERENCE_RATE)
    return out


def flag_responders(improved: pd.DataFrame, settings: Settings | None = None) -> pd.DataFrame:
    """Add ``responder`` and ``absolute_responder`` (SPEC §6) to an improvement table.

    Relative responder: improvement above ``threshold_pct`` (or at least, with
    ``inclusive``). Absolute responder: reference rate - period rate at least
    ``absolute_threshold`` points/month. Both are missing (``<NA>``) where the row is not
    evaluable or is the reference row.

    Examples
    --------
    >>> t = pd.DataFrame({"improvement_pct": [25.0, 30.0, np.nan],
    ...                   "absolute_change": [1.25, 0.2, np.nan]})
    >>> flag_responders(t).responder.tolist()
    [False, True, <NA>]
    >>> flag_responders(t).absolute_responder.tolist()
    [True, False, <NA>]
    >>> flag_responders(t, Settings(inclusive=True)).responder.tolist()[0]
    True
    """
    s = settings or Settings()
    imp = improved["improvement_pct"].to_numpy(dtype=float)
    absolute = improved["absolute_change"].to_numpy(dtype=float)
    known = ~np.isnan(imp)
    rel = relative_responder(imp, s)
    ab = absolute_responder(absolute, s)
    out = improved.copy(deep=False)  # copy-on-write: only the two new columns are new
    out["responder"] = pd.arrays.BooleanArray(np.where(known, rel, False), ~known)
    out["absolute_responder"] = pd.arrays.BooleanArray(np.where(known, ab, False), ~known)
    return out


def classify(rates: pd.DataFrame, settings: Settings | None = None) -> pd.DataFrame:
    """The per-patient period table of SPEC §11 from a rate table.

    Parameters
    ----------
    rates : pandas.DataFrame
        Output of :func:`msc_notebooks.progression.compute_periods`.
    settings : Settings, optional
        ``threshold_pct``, ``inclusive``, ``absolute_threshold``.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`msc_notebooks.columns.PERIODS_COLUMNS`, one row per treated patient
        and period.

    Examples
    --------
    >>> r = pd.DataFrame({"patient_id": ["a", "a"], "period": ["reference", "1-2"],
    ...     "period_index": [0, 1], "start_day": [-90.0, 0.0], "end_day": [0.0, 90.0],
    ...     "start_score": [40.0, 37.0], "end_score": [37.0, 36.0], "months": [3.0, 3.0],
    ...     "rate": [2.0, 0.5], "rate_reason": ["", ""]})
    >>> classify(r).loc[1, ["improvement_pct", "responder", "absolute_responder"]].tolist()
    [75.0, True, True]
    """
    table = flag_responders(improvement_table(rates), settings)
    return table[list(PERIODS_COLUMNS)]
