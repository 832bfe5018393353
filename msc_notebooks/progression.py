"""Scores at injection times, periods and progression rates (SPEC §2–5, §12), vectorised.

Everything here works on all patients at once: no Python loop per patient. The result is
the per-patient period table of SPEC §11 *before* responders are classified
(:mod:`msc_notebooks.responders` adds improvement and responder columns).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .columns import OUTCOME_MAX
from .errors import SettingsError
from .settings import Settings

__all__ = ["scores_at_injections", "compute_periods", "ZERO_RATE", "RATE_COLUMNS"]

#: A rate within this many points/month of zero is zero (SPEC §6).
ZERO_RATE = 1e-9

#: Columns of :func:`compute_periods`.
RATE_COLUMNS = (
    "patient_id",
    "period",
    "period_index",
    "start_day",
    "end_day",
    "start_score",
    "end_score",
    "months",
    "rate",
    "rate_reason",
)


def _sort(df: pd.DataFrame, first: str, second: str) -> pd.DataFrame:
    """``df.sort_values([first, second], kind="stable")``; faster for integer ``first``."""
    x = df[first].to_numpy()
    if x.dtype.kind not in "iu":
        return df.sort_values([first, second], kind="stable")
    y = df[second].to_numpy(dtype=float)
    dx = np.diff(x)
    y0, y1 = y[:-1], y[1:]
    unsorted = (dx < 0) | ((dx == 0) & ((y1 < y0) | (np.isnan(y0) & ~np.isnan(y1))))
    if not unsorted.any():  # already in order (the usual case): nothing to move
        return df
    if np.isfinite(y).all() and (y == np.round(y)).all() and len(y):
        lo, width = y.min(), y.max() - y.min() + 1
        if (int(x.max()) + 1) * width < 2**62 and x.min() >= 0:
            key = x.astype(np.int64) * np.int64(width) + (y - lo).astype(np.int64)
            return df.take(np.argsort(key, kind="stable"))
    return df.take(np.lexsort((y, x)))  # stable, NaN last


def _assessments(visits: pd.DataFrame, outcome: str) -> pd.DataFrame:
    """Sorted assessments of one outcome (rows where it is missing are not assessments)."""
    if outcome not in visits.columns:
        raise SettingsError(
            f"outcome column '{outcome}' is not in the visits table; "
            f"numeric columns available: {', '.join(visits.select_dtypes('number').columns)}"
        )
    v = visits.loc[visits[outcome].notna(), ["patient_id", "day", outcome]]
    v = _sort(v.rename(columns={outcome: "score"}), "patient_id", "day")
    v = v.reset_index(drop=True)
    v["pos"] = np.arange(len(v))
    return v


def scores_at_injections(
    visits: pd.DataFrame,
    injections: pd.DataFrame,
    window_days: float = 14,
    outcome: str = "alsfrs_r_total",
) -> pd.DataFrame:
    """The score at each injection: the nearest assessment within a window (SPEC §3).

    Ties (one assessment as far before as another after) go to the assessment before.

    Parameters
    ----------
    visits : pandas.DataFrame
        Canonical visits (``patient_id``, ``day``, the outcome column).
    injections : pandas.DataFrame
        Canonical injections (``patient_id``, ``day``).
    window_days : float, default 14
        Days either side of the injection.
    outcome : str, default 'alsfrs_r_total'
        The outcome column.

    Returns
    -------
    pandas.DataFrame
        One row per injection, sorted by patient and day: ``patient_id``,
        ``injection_number`` (1.. in time order), ``injection_day``, ``score_day`` (day of
        the assessment used, NaN if none in the window), ``score``, ``pos`` (position of
        the assessment among the patient's sorted assessments, -1 if none).

    Examples
    --------
    >>> v = pd.DataFrame({"patient_id": ["a"] * 3, "day": [0.0, 95.0, 105.0],
    ...                   "alsfrs_r_total": [40.0, 38.0, 37.0]})
    >>> i = pd.DataFrame({"patient_id": ["a"], "day": [100.0]})
    >>> scores_at_injections(v, i)[["score_day", "score"]].values.tolist()   # tie -> before
    [[95.0, 38.0]]
    """
    v = _assessments(visits, outcome)
    return _scores_at(v, injections, window_days)


def _scores_at(v: pd.DataFrame, injections: pd.DataFrame, window_days: float) -> pd.DataFrame:
    inj = injections[["patient_id", "day"]].rename(columns={"day": "injection_day"})
    inj = _sort(inj, "patient_id", "injection_day").reset_index(drop=True)
    inj["injection_number"] = inj.groupby("patient_id", sort=False).cumcount() + 1
    # nearest assessment before (or on) and after (or on) each injection of the same patient:
    # one stable sort of assessments and injections together (what merge_asof does, by
    # patient, without its per-call overhead)
    n_v = len(v)
    pk = pd.factorize(pd.concat([v["patient_id"], inj["patient_id"]], ignore_index=True))[0]
    vday = v["day"].to_numpy(dtype=float)
    iday = inj["injection_day"].to_numpy(dtype=float)
    days = np.concatenate([vday, iday])
    is_inj = np.arange(n_v + len(inj)) >= n_v
    window = float(window_days)

    def nearest(backward: bool) -> np.ndarray:
        """Row of v nearest before (after) each injection within the window, or -1."""
        cand = np.full(len(inj), -1, dtype=np.int64)
        if n_v == 0 or len(inj) == 0:
            return cand
        # on equal days an assessment sorts before (backward) or after (forward) the injection
        order = np.lexsort((is_inj if backward else ~is_inj, days, pk))
        at = np.arange(len(order))
        if backward:
            seen = np.maximum.accumulate(np.where(order < n_v, at, -1))
        else:
            seen = np.minimum.accumulate(np.where(order < n_v, at, len(order))[::-1])[::-1]
        sel = order >= n_v
        rows = order[sel] - n_v
        found = seen[sel]
        ok = (found >= 0) & (found < len(order))
        vi = np.where(ok, order[np.clip(found, 0, len(order) - 1)], 0)
        ok &= (pk[vi] == pk[n_v + rows]) & (np.abs(iday[rows] - vday[vi]) <= window)
        cand[rows[ok]] = vi[ok]
        return cand

    def nearest_fast() -> tuple[np.ndarray, np.ndarray] | None:
        """Both neighbours by binary search on one integer key (whole days, v sorted)."""
        if n_v == 0 or len(inj) == 0 or not np.isfinite(days).all():
            return None
        if not (days == np.round(days)).all() or (np.diff(pk[:n_v]) < 0).any():
            return None
        lo, span_days = days.min(), days.max() - days.min() + 1
        if (pk.max() + 1) * span_days >= 2**62:
            return None
        key = pk.astype(np.int64) * np.int64(span_days) + (days - lo).astype(np.int64)
        vkey, ikey = key[:n_v], key[n_v:]
        found = (
            np.searchsorted(vkey, ikey, side="right") - 1,  # last on or before
            np.searchsorted(vkey, ikey, side="left"),  # first on or after
        )
        out = []
        for vi in found:
            ok = (vi >= 0) & (vi < n_v)
            vi = np.where(ok, vi, 0)
            ok &= (pk[vi] == pk[n_v:]) & (np.abs(iday - vday[vi]) <= window)
            out.append(np.where(ok, vi, -1).astype(np.int64))
        return out[0], out[1]

    fast = nearest_fast()
    b_idx, f_idx = fast if fast is not None else (nearest(True), nearest(False))
    score_v = v["score"].to_numpy(dtype=float)
    pos_v = v["pos"].to_numpy(dtype=float)

    def pick(idx: np.ndarray, values: np.ndarray) -> np.ndarray:
        if n_v == 0:
            return np.full(len(idx), np.nan)
        return np.where(idx >= 0, values[np.maximum(idx, 0)], np.nan)

    back = {
        "score_day": pick(b_idx, vday),
        "score": pick(b_idx, score_v),
        "pos": pick(b_idx, pos_v),
    }
    fwd = {"score_day": pick(f_idx, vday), "score": pick(f_idx, score_v), "pos": pick(f_idx, pos_v)}
    b_dist = iday - back["score_day"]
    f_dist = fwd["score_day"] - iday
    use_fwd = np.isnan(b_dist) | (f_dist < b_dist)  # NaN comparisons are False: ties -> back
    use_fwd &= ~np.isnan(f_dist)
    out = inj.copy()
    for col in ("score_day", "score", "pos"):
        out[col] = np.where(use_fwd, fwd[col], back[col])
    out["pos"] = np.nan_to_num(out["pos"].to_numpy(), nan=-1).astype(np.int64)
    return out


def _ols_rates(v: pd.DataFrame, start_pos: np.ndarray, end_pos: np.ndarray) -> np.ndarray:
    """Minus the least-squares slope (points/day) of assessments start_pos..end_pos inclusive.

    Vectorised: every range is expanded to its rows, and centred sums are taken per range
    with ``bincount`` (exact for constant scores: the slope is then exactly 0).
    """
    n = end_pos - start_pos + 1
    k = len(n)
    if k == 0:
        return np.array([], dtype=float)
    seg = np.repeat(np.arange(k), n)
    offsets = np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n)
    rows = np.repeat(start_pos, n) + offsets
    x = v["day"].to_numpy(dtype=float)[rows]
    y = v["score"].to_numpy(dtype=float)[rows]
    x_mean = np.bincount(seg, x, minlength=k) / n
    y_mean = np.bincount(seg, y, minlength=k) / n
    dx = x - x_mean[seg]
    dy = y - y_mean[seg]
    sxx = np.bincount(seg, dx * dx, minlength=k)
    sxy = np.bincount(seg, dx * dy, minlength=k)
    with np.errstate(invalid="ignore", divide="ignore"):
        return -sxy / sxx


def compute_periods(
    visits: pd.DataFrame,
    injections: pd.DataFrame,
    patients: pd.DataFrame | None = None,
    settings: Settings | None = None,
) -> pd.DataFrame:
    """Periods and their progression rates for every treated patient (SPEC §3–5, §12).

    Parameters
    ----------
    visits, injections, patients : pandas.DataFrame
        Canonical tables (:mod:`msc_notebooks.study`). ``patients`` is needed for the
        ``onset`` reference (``onset_day``).
    settings : Settings, optional
        ``reference``, ``method``, ``window_days``, ``min_span_days``, ``month_days``,
        ``outcome``.

    Returns
    -------
    pandas.DataFrame
        One row per treated patient and period (``reference``, ``1-2``, ..., ``after-last``,
        ``whole``), every treated patient present: ``patient_id``, ``period``,
        ``period_index`` (0 reference, k for k-(k+1), 90 after-last, 99 whole; for sorting),
        ``start_day``, ``end_day`` (days from the patient's first injection to the
        assessments used; for the onset reference ``start_day`` is the onset),
        ``start_score``, ``end_score``, ``months`` (between the two assessments used),
        ``rate`` (points lost per month; positive = decline; NaN where not computable),
        ``rate_reason`` (why the rate is not computable; empty otherwise).

    Notes
    -----
    endpoints: rate = (start score - end score) / months (SPEC §5).
    ols: rate = - least-squares slope (points/month) of every assessment from the start
    assessment to the end assessment inclusive. The ``onset`` reference is always
    (48 - score at T1) / months from onset to the assessment used for T1 (SPEC §4).
    A rate within 1e-9 points/month of 0 is 0 (SPEC §6).

    Examples
    --------
    Run-in from day -90 (score 40) to injection 1 at day 0 (score 37), then injection 2 at
    day 120 (score 36): reference rate 3 / (90 / 30.4375) = 1.0146 points/month, period 1-2
    rate 1 / (120 / 30.4375) = 0.2536.

    >>> v = pd.DataFrame({"patient_id": ["a"] * 3, "day": [-90.0, 0.0, 120.0],
    ...                   "alsfrs_r_total": [40.0, 37.0, 36.0]})
    >>> i = pd.DataFrame({"patient_id": ["a", "a"], "day": [0.0, 120.0]})
    >>> p = compute_periods(v, i)
    >>> p[["period", "rate"]].round(4).values.tolist()
    [['reference', 1.0146], ['1-2', 0.2536], ['after-last', nan], ['whole', 0.2536]]
    >>> p.rate_reason.iloc[2]
    'no assessment at least 28 days after the last injection'
    """
    s = settings or Settings()
    outcome = s.outcome
    md = float(s.month_days)
    span = float(s.min_span_days)
    # work on integer patient codes (sorted like the ids), not on text: grouping, merging and
    # sorting are then several times faster; the ids are put back at the end
    if outcome not in visits.columns:
        _assessments(visits, outcome)  # raises the SettingsError that lists the columns
    ids = pd.concat([visits["patient_id"], injections["patient_id"]], ignore_index=True)
    codes, uniques = pd.factorize(ids, sort=True)
    visits = pd.DataFrame(
        {
            "patient_id": codes[: len(visits)],
            "day": visits["day"].reset_index(drop=True),
            outcome: visits[outcome].reset_index(drop=True),
        }
    )
    injections = pd.DataFrame(
        {"patient_id": codes[len(visits) :], "day": injections["day"].reset_index(drop=True)}
    )
    v = _assessments(visits, outcome)
    at = _scores_at(v, injections, s.window_days)
    if not len(at):
        return pd.DataFrame({c: pd.Series(dtype=float) for c in RATE_COLUMNS}).astype(
            {"patient_id": object, "period": object, "rate_reason": object}
        )

    # per-patient facts, aligned on the injection rows
    first_pos = v.groupby("patient_id", sort=False)["pos"].min()
    last_pos = v.groupby("patient_id", sort=False)["pos"].max()
    n_inj = at.groupby("patient_id", sort=False)["injection_number"].transform("max").to_numpy()
    at["first_pos"] = at["patient_id"].map(first_pos).fillna(-1).astype(np.int64).to_numpy()
    at["last_pos"] = at["patient_id"].map(last_pos).fillna(-1).astype(np.int64).to_numpy()
    at["n_inj"] = n_inj
    t1 = at.groupby("patient_id", sort=False)["injection_day"].transform("first").to_numpy()
    at["t1"] = t1
    day = v["day"].to_numpy(dtype=float)
    score = v["score"].to_numpy(dtype=float)
    win = f"{s.window_days:g}"

    def missing_reason(k: pd.Series) -> np.ndarray:
        return np.array([f"no assessment within {win} days of injection {int(x)}" for x in k])

    blocks = []

    # --- reference (SPEC §4) ---------------------------------------------------------
    first = at[at["injection_number"] == 1].reset_index(drop=True)
    has_t1 = first["pos"].to_numpy() >= 0
    end_pos = first["pos"].to_numpy()
    ref = pd.DataFrame(
        {"patient_id": first["patient_id"], "period": "reference", "period_index": 0}
    )
    ref["end_day_abs"] = np.where(has_t1, day[np.maximum(end_pos, 0)], np.nan)
    ref["end_score"] = np.where(has_t1, score[np.maximum(end_pos, 0)], np.nan)
    reason = np.where(has_t1, "", missing_reason(first["injection_number"]) if len(first) else "")
    if s.reference == "run-in":
        start_pos = first["first_pos"].to_numpy()
        ref["start_day_abs"] = np.where(start_pos >= 0, day[np.maximum(start_pos, 0)], np.nan)
        ref["start_score"] = np.where(start_pos >= 0, score[np.maximum(start_pos, 0)], np.nan)
        short = has_t1 & (ref["end_day_abs"] - ref["start_day_abs"] < span).to_numpy()
        reason = np.where(
            (reason == "") & short,
            f"run-in too short: fewer than two assessments at least {span:g} days apart "
            "up to the first injection",
            reason,
        )
        ok = reason == ""
        ref["months"] = (ref["end_day_abs"] - ref["start_day_abs"]) / md
        if s.method == "ols":
            rate = np.full(len(ref), np.nan)
            rate[ok] = _ols_rates(v, start_pos[ok], end_pos[ok]) * md
        else:
            with np.errstate(invalid="ignore", divide="ignore"):
                rate = (ref["start_score"] - ref["end_score"]).to_numpy() / ref["months"].to_numpy()
    else:  # onset (ΔFS)
        top = OUTCOME_MAX.get(outcome)
        if top is None:
            raise SettingsError(
                f"the onset reference needs a bounded score (ALSFRS-R or a domain); "
                f"'{outcome}' has no known maximum. Use reference='run-in'"
            )
        onset = pd.Series(np.nan, index=ref.index)
        if patients is not None and "onset_day" in patients:
            known = pd.Index(uniques).get_indexer(patients["patient_id"])
            onset_map = (
                pd.DataFrame({"patient_id": known, "onset_day": patients["onset_day"].to_numpy()})
                .loc[known >= 0]
                .drop_duplicates("patient_id")
                .set_index("patient_id")["onset_day"]
            )
            onset = ref["patient_id"].map(onset_map).astype(float)
        ref["start_day_abs"] = onset.to_numpy()
        ref["start_score"] = float(top)
        reason = np.where((reason == "") & onset.isna().to_numpy(), "no symptom-onset date", reason)
        reason = np.where(
            (reason == "") & (ref["end_day_abs"] <= ref["start_day_abs"]).to_numpy(),
            "symptom onset is not before the first injection",
            reason,
        )
        ok = reason == ""
        ref["months"] = (ref["end_day_abs"] - ref["start_day_abs"]) / md
        with np.errstate(invalid="ignore", divide="ignore"):
            rate = (top - ref["end_score"]).to_numpy() / ref["months"].to_numpy()
    ref["rate"] = np.where(reason == "", rate, np.nan)
    ref["rate_reason"] = reason
    ref["t1"] = first["t1"].to_numpy()
    blocks.append(ref)

    # --- periods between injections, after-last, whole (SPEC §3, §5, §12) ---------------
    nxt = at.groupby("patient_id", sort=False).shift(-1)
    pairs = at[nxt["injection_day"].notna()].copy()
    pairs["end_pos"] = nxt.loc[pairs.index, "pos"].astype(np.int64)
    pairs["end_k"] = pairs["injection_number"] + 1
    pairs["period"] = [f"{k}-{k + 1}" for k in pairs["injection_number"]]
    pairs["period_index"] = pairs["injection_number"]

    last = at[at["injection_number"] == at["n_inj"]].copy()
    last["end_pos"] = last["last_pos"]
    last["end_k"] = -1
    last["period"] = "after-last"
    last["period_index"] = 90

    whole = last.copy()
    whole["pos"] = first.set_index("patient_id").loc[whole["patient_id"], "pos"].to_numpy()
    whole["injection_number"] = 1
    whole["end_pos"] = last["pos"].to_numpy()
    whole["end_k"] = last["injection_number"].to_numpy()
    whole["period"] = "whole"
    whole["period_index"] = 99

    per = pd.concat([pairs, last, whole], ignore_index=True)
    sp = per["pos"].to_numpy()
    ep = per["end_pos"].to_numpy()
    reason = np.full(len(per), "", dtype=object)
    is_whole = per["period"].to_numpy() == "whole"
    is_after = per["period"].to_numpy() == "after-last"
    reason[is_whole & (per["n_inj"].to_numpy() < 2)] = (
        "only one injection: no whole treatment period"
    )
    need = reason == ""
    miss_start = need & (sp < 0)
    reason[miss_start] = missing_reason(per.loc[miss_start, "injection_number"])
    miss_end = (reason == "") & (ep < 0) & ~is_after
    reason[miss_end] = missing_reason(per.loc[miss_end, "end_k"])
    ok = reason == ""
    sd = np.where(ok, day[np.maximum(sp, 0)], np.nan)
    ed = np.where(ok | ((reason == "") & (ep >= 0)), day[np.maximum(ep, 0)], np.nan)
    too_short = ok & ((ep <= sp) | (ed - sd < span))
    reason[too_short & is_after] = f"no assessment at least {span:g} days after the last injection"
    reason[too_short & ~is_after] = (
        f"the two assessments used are not distinct and at least {span:g} days apart"
    )
    ok = reason == ""
    per["start_day_abs"] = np.where(sp >= 0, day[np.maximum(sp, 0)], np.nan)
    per["end_day_abs"] = np.where(ep >= 0, day[np.maximum(ep, 0)], np.nan)
    per["start_score"] = np.where(sp >= 0, score[np.maximum(sp, 0)], np.nan)
    per["end_score"] = np.where(ep >= 0, score[np.maximum(ep, 0)], np.nan)
    # where not computable, keep the assessments found (for display) but no rate
    per["months"] = (per["end_day_abs"] - per["start_day_abs"]) / md
    if s.method == "ols":
        rate = np.full(len(per), np.nan)
        rate[ok] = _ols_rates(v, sp[ok], ep[ok]) * md
    else:
        with np.errstate(invalid="ignore", divide="ignore"):
            rate = (per["start_score"] - per["end_score"]).to_numpy() / per["months"].to_numpy()
    per["rate"] = np.where(ok, rate, np.nan)
    per["rate_reason"] = reason
    blocks.append(per)

    out = pd.concat(blocks, ignore_index=True)
    out["start_day"] = out["start_day_abs"] - out["t1"]
    out["end_day"] = out["end_day_abs"] - out["t1"]
    rate = out["rate"].to_numpy(dtype=float, copy=True)
    rate[np.abs(rate) < ZERO_RATE] = 0.0
    out["rate"] = rate
    out = _sort(out, "patient_id", "period_index").reset_index(drop=True)
    out["patient_id"] = uniques.take(out["patient_id"].to_numpy())
    return out[list(RATE_COLUMNS)]
