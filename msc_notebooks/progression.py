"""Scores at injection times, periods and progression rates (SPEC §2–5, §12), vectorised.

Everything here works on all patients at once: no Python loop per patient. The result is
the per-patient period table of SPEC §11 *before* responders are classified
(:mod:`msc_notebooks.responders` adds improvement and responder columns).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .columns import OUTCOME_MAX, RATE_COLUMNS, number_in_time_order
from .errors import SettingsError
from .settings import Settings

__all__ = [
    "scores_at_injections",
    "compute_periods",
    "coded_periods",
    "patient_codes",
    "ZERO_RATE",
    "RATE_COLUMNS",
]

#: A rate within this many points/month of zero is zero (SPEC §6).
ZERO_RATE = 1e-9


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
    inj["injection_number"] = number_in_time_order(inj["patient_id"].to_numpy())  # sorted
    # nearest assessment before (or on) and after (or on) each injection of the same patient:
    # one stable sort of assessments and injections together (what merge_asof does, by
    # patient, without its per-call overhead)
    n_v = len(v)
    pk = np.concatenate([v["patient_id"].to_numpy(), inj["patient_id"].to_numpy()])
    if pk.dtype.kind not in "iu" or (len(pk) and pk.min() < 0):
        # text ids: integer codes (compute_periods passes codes already: nothing to do)
        pk = pd.factorize(pd.concat([v["patient_id"], inj["patient_id"]], ignore_index=True))[0]
    vday = v["day"].to_numpy(dtype=float)
    iday = inj["injection_day"].to_numpy(dtype=float)
    window = float(window_days)

    def nearest(backward: bool) -> np.ndarray:
        """Row of v nearest before (after) each injection within the window, or -1."""
        cand = np.full(len(inj), -1, dtype=np.int64)
        if n_v == 0 or len(inj) == 0:
            return cand
        # on equal days an assessment sorts before (backward) or after (forward) the injection
        is_inj = np.arange(n_v + len(inj)) >= n_v
        days = np.concatenate([vday, iday])
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
        if n_v == 0 or len(inj) == 0:
            return None
        lo = min(vday.min(), iday.min())
        hi = max(vday.max(), iday.max())
        if not (np.isfinite(lo) and np.isfinite(hi)):  # NaN or infinite days
            return None
        vpk, ipk = pk[:n_v], pk[n_v:]
        if (vpk[1:] < vpk[:-1]).any():
            return None
        # whole days only (checked on the integer copies, which then make the keys)
        vint, iint = vday.astype(np.int64), iday.astype(np.int64)
        if not ((vint == vday).all() and (iint == iday).all()):
            return None
        span_days = int(hi) - int(lo) + 1
        if (int(pk.max()) + 1) * span_days >= 2**62:
            return None
        vkey = vpk.astype(np.int64) * np.int64(span_days)
        vkey += vint - np.int64(lo)
        ikey = ipk.astype(np.int64) * np.int64(span_days)
        ikey += iint - np.int64(lo)
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

    def pick(idx: np.ndarray, values: np.ndarray) -> np.ndarray:
        if n_v == 0:
            return np.full(len(idx), np.nan)
        return np.where(idx >= 0, values[np.maximum(idx, 0)], np.nan)

    back = {"score_day": pick(b_idx, vday), "score": pick(b_idx, score_v)}
    fwd = {"score_day": pick(f_idx, vday), "score": pick(f_idx, score_v)}
    b_dist = iday - back["score_day"]
    f_dist = fwd["score_day"] - iday
    use_fwd = np.isnan(b_dist) | (f_dist < b_dist)  # NaN comparisons are False: ties -> back
    use_fwd &= ~np.isnan(f_dist)
    out = inj.copy(deep=False)
    for col in ("score_day", "score"):
        out[col] = np.where(use_fwd, fwd[col], back[col])
    row = np.where(use_fwd, f_idx, b_idx)  # the assessment used, -1 if none in the window
    pos_v = v["pos"].to_numpy(dtype=np.int64)
    out["pos"] = np.where(row >= 0, pos_v[np.maximum(row, 0)], -1) if n_v else np.full(len(row), -1)
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


def _rates(
    method: str,
    v: pd.DataFrame,
    start_pos: np.ndarray,
    end_pos: np.ndarray,
    ok: np.ndarray,
    start_score: np.ndarray,
    end_score: np.ndarray,
    months: np.ndarray,
    month_days: float,
) -> np.ndarray:
    """Points lost per month over each period (SPEC §5), the one rate rule.

    ``endpoints``: (start score - end score) / months; ``ols``: minus the least-squares
    slope of the period's assessments (rows ``start_pos`` to ``end_pos`` of ``v``), only
    where ``ok``.
    """
    if method == "ols":
        rate = np.full(len(start_pos), np.nan)
        rate[ok] = _ols_rates(v, start_pos[ok], end_pos[ok]) * month_days
        return rate
    with np.errstate(invalid="ignore", divide="ignore"):
        return (start_score - end_score) / months


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
    return coded_periods(visits, injections, patients, settings or Settings())[0]


def patient_codes(
    visits: pd.DataFrame, injections: pd.DataFrame
) -> tuple[np.ndarray, np.ndarray, pd.Index]:
    """Integer codes of the patients of visits and injections, in patient_id order.

    Returns the codes of the visit rows, of the injection rows, and the ids (code -> id).
    The analysis works on these codes, not on the text ids: grouping, joining and sorting
    integers is several times faster, and the ids are put back once, at the end.

    Examples
    --------
    >>> v = pd.DataFrame({"patient_id": ["b", "a", "b"]})
    >>> i = pd.DataFrame({"patient_id": ["a", "c"]})
    >>> vc, ic, ids = patient_codes(v, i)
    >>> vc.tolist(), ic.tolist(), ids.tolist()
    ([1, 0, 1], [0, 2], ['a', 'b', 'c'])
    """
    ids = pd.concat([visits["patient_id"], injections["patient_id"]], ignore_index=True)
    codes, uniques = pd.factorize(ids, sort=True)
    if len(uniques) < 2**31 - 1:  # half the memory of int64 codes
        codes = codes.astype(np.int32)
    return codes[: len(visits)], codes[len(visits) :], pd.Index(uniques)


def coded_periods(
    visits: pd.DataFrame,
    injections: pd.DataFrame,
    patients: pd.DataFrame | None,
    s: Settings,
    coded: tuple[np.ndarray, np.ndarray, pd.Index] | None = None,
) -> tuple[pd.DataFrame, np.ndarray]:
    """:func:`compute_periods`, and the patient code of each row, for :func:`analyze`.

    The analysis numbers the patients once (:func:`patient_codes`) and hands the codes
    from step to step, so that no step groups, joins or sorts on the text ids.

    Parameters
    ----------
    visits, injections, patients, s
        As :func:`compute_periods`.
    coded : tuple, optional
        :func:`patient_codes` of the visits and injections, when the caller has them.

    Returns
    -------
    (pandas.DataFrame, numpy.ndarray)
        The table of :func:`compute_periods` and the patient code of each of its rows.

    Examples
    --------
    >>> v = pd.DataFrame({"patient_id": ["a"] * 3, "day": [0.0, 90.0, 180.0],
    ...                   "alsfrs_r_total": [40.0, 37.0, 36.0]})
    >>> i = pd.DataFrame({"patient_id": ["a"], "day": [90.0]})
    >>> table, codes = coded_periods(v, i, None, Settings())
    >>> table["period"].tolist(), codes.tolist()
    (['reference', 'after-last', 'whole'], [0, 0, 0])
    """
    outcome = s.outcome
    md = float(s.month_days)
    span = float(s.min_span_days)
    # work on integer patient codes (sorted like the ids), not on text: grouping, merging and
    # sorting are then several times faster; the ids are put back once, at the end
    if outcome not in visits.columns:
        _assessments(visits, outcome)  # raises the SettingsError that lists the columns
    vcodes, icodes, uniques = coded if coded is not None else patient_codes(visits, injections)
    # the assessments (rows where the outcome is missing are not assessments), sorted; built
    # from the few columns used, without copying the visits table
    has = visits[outcome].notna().to_numpy()
    keep = slice(None) if has.all() else has  # every row an assessment: no copy at all
    v = pd.DataFrame(
        {
            "patient_id": vcodes[keep],
            "day": visits["day"].to_numpy()[keep],
            "score": visits[outcome].to_numpy()[keep],
        },
        copy=False,
    )
    v = _sort(v, "patient_id", "day").reset_index(drop=True)
    v["pos"] = np.arange(len(v))
    injections = pd.DataFrame(
        {"patient_id": icodes, "day": injections["day"].reset_index(drop=True)}
    )
    at = _scores_at(v, injections, s.window_days)
    if not len(at):
        empty = pd.DataFrame({c: pd.Series(dtype=float) for c in RATE_COLUMNS}).astype(
            {"patient_id": object, "period": object, "rate_reason": object}
        )
        return empty, np.array([], dtype=np.int64)

    # everything below is plain numpy on the injection rows, sorted by patient and day
    day = v["day"].to_numpy(dtype=float)
    score = v["score"].to_numpy(dtype=float)
    vcode = v["patient_id"].to_numpy()
    pc = at["patient_id"].to_numpy()
    k = at["injection_number"].to_numpy(dtype=np.int64)
    pos = at["pos"].to_numpy(dtype=np.int64)
    n = len(at)
    is_first = np.ones(n, dtype=bool)  # a patient's first injection (injection_number 1)
    is_first[1:] = pc[1:] != pc[:-1]
    is_last = np.ones(n, dtype=bool)  # a patient's last injection
    is_last[:-1] = pc[1:] != pc[:-1]
    first_row = np.flatnonzero(is_first)
    last_row = np.flatnonzero(is_last)
    # per injection row: the patient's first injection row, and the patient's facts
    patient_first = first_row[np.cumsum(is_first) - 1]
    t1 = at["injection_day"].to_numpy(dtype=float)[patient_first]
    n_inj = k[last_row][np.cumsum(is_first) - 1]
    # first and last assessment of each patient (v is sorted by patient: binary search)
    lo = np.searchsorted(vcode, pc[first_row], side="left")
    hi = np.searchsorted(vcode, pc[first_row], side="right") - 1
    has_v = hi >= lo
    first_pos = np.where(has_v, lo, -1)  # one per patient, aligned with first_row
    last_pos = np.where(has_v, hi, -1)
    win = f"{s.window_days:g}"

    # reasons are integer codes into `texts` (0 = no reason): each distinct text is built
    # once, and the text column once at the end (not one Python string per row)
    texts = [""]

    def say(text: str) -> int:
        if text not in texts:
            texts.append(text)
        return texts.index(text)

    def missing_reason(kk: np.ndarray) -> np.ndarray:
        u, inv = np.unique(np.asarray(kk, dtype=np.int64), return_inverse=True)
        said = np.array([say(f"no assessment within {win} days of injection {x}") for x in u])
        return said[inv.reshape(-1)] if len(u) else np.array([], dtype=np.int64)

    def at_pos(p: np.ndarray, values: np.ndarray) -> np.ndarray:
        return np.where(p >= 0, values[np.maximum(p, 0)], np.nan) if len(values) else p * np.nan

    # --- reference (SPEC §4) ---------------------------------------------------------
    ref_code = pc[first_row]
    end_pos = pos[first_row]
    has_t1 = end_pos >= 0
    ref_end_day = at_pos(end_pos, day)
    ref_end_score = at_pos(end_pos, score)
    reason = np.zeros(len(first_row), dtype=np.int64)
    reason[~has_t1] = missing_reason(k[first_row][~has_t1])
    if s.reference == "run-in":
        start_pos = first_pos
        ref_start_day = at_pos(start_pos, day)
        ref_start_score = at_pos(start_pos, score)
        short = has_t1 & (ref_end_day - ref_start_day < span)
        reason[(reason == 0) & short] = say(
            f"run-in too short: fewer than two assessments at least {span:g} days apart "
            "up to the first injection"
        )
        ok = reason == 0
        ref_months = (ref_end_day - ref_start_day) / md
        rate = _rates(
            s.method, v, start_pos, end_pos, ok, ref_start_score, ref_end_score, ref_months, md
        )
    else:  # onset (ΔFS)
        top = OUTCOME_MAX.get(outcome)
        if top is None:
            raise SettingsError(
                f"the onset reference needs a bounded score (ALSFRS-R or a domain); "
                f"'{outcome}' has no known maximum. Use reference='run-in'"
            )
        onset_by_code = np.full(len(uniques), np.nan)
        if patients is not None and "onset_day" in patients:
            known = pd.Index(uniques).get_indexer(patients["patient_id"])
            onset_day = patients["onset_day"].to_numpy(dtype=float, na_value=np.nan)
            rows = np.flatnonzero(known >= 0)
            _, once = np.unique(known[rows], return_index=True)  # first row of each patient
            onset_by_code[known[rows[once]]] = onset_day[rows[once]]
        onset = onset_by_code[ref_code] if len(uniques) else np.full(len(ref_code), np.nan)
        ref_start_day = onset
        ref_start_score = np.full(len(first_row), float(top))
        reason[(reason == 0) & np.isnan(onset)] = say("no symptom-onset date")
        with np.errstate(invalid="ignore"):
            reason[(reason == 0) & (ref_end_day <= ref_start_day)] = say(
                "symptom onset is not before the first injection"
            )
        ok = reason == 0
        ref_months = (ref_end_day - ref_start_day) / md
        with np.errstate(invalid="ignore", divide="ignore"):
            rate = (top - ref_end_score) / ref_months
    ref_rate = np.where(reason == 0, rate, np.nan)
    ref_reason = reason

    # --- periods between injections, after-last, whole (SPEC §3, §5, §12) ---------------
    # the same three blocks (pairs, after-last, whole) in the same order as before
    pair = np.flatnonzero(~is_last)  # an injection followed by another of the same patient
    whole_first = first_row  # whole: first to last injection, one per patient
    sp = np.concatenate([pos[pair], pos[last_row], pos[whole_first]])
    ep = np.concatenate([pos[pair + 1], last_pos, pos[last_row]])
    start_k = np.concatenate([k[pair], k[last_row], np.ones(len(last_row), dtype=np.int64)])
    end_k = np.concatenate([k[pair] + 1, np.full(len(last_row), -1), k[last_row]])
    kmax = int(k.max())
    # period label codes into ["reference", "1-2", ..., f"{kmax-1}-{kmax}", after-last, whole]
    label = np.concatenate(
        [k[pair], np.full(len(last_row), kmax), np.full(len(last_row), kmax + 1)]
    )
    period_index = np.concatenate([k[pair], np.full(len(last_row), 90), np.full(len(last_row), 99)])
    per_code = np.concatenate([pc[pair], pc[last_row], pc[last_row]])
    per_t1 = np.concatenate([t1[pair], t1[last_row], t1[last_row]])
    per_n_inj = np.concatenate([n_inj[pair], n_inj[last_row], n_inj[last_row]])
    m_pairs, m_last = len(pair), len(last_row)
    is_after = np.zeros(len(sp), dtype=bool)
    is_after[m_pairs : m_pairs + m_last] = True
    is_whole = np.zeros(len(sp), dtype=bool)
    is_whole[m_pairs + m_last :] = True
    reason = np.zeros(len(sp), dtype=np.int64)
    reason[is_whole & (per_n_inj < 2)] = say("only one injection: no whole treatment period")
    need = reason == 0
    miss_start = need & (sp < 0)
    reason[miss_start] = missing_reason(start_k[miss_start])
    miss_end = (reason == 0) & (ep < 0) & ~is_after
    reason[miss_end] = missing_reason(end_k[miss_end])
    ok = reason == 0
    sd = np.where(ok, day[np.maximum(sp, 0)], np.nan)
    ed = np.where(ok | ((reason == 0) & (ep >= 0)), day[np.maximum(ep, 0)], np.nan)
    too_short = ok & ((ep <= sp) | (ed - sd < span))
    reason[too_short & is_after] = say(
        f"no assessment at least {span:g} days after the last injection"
    )
    reason[too_short & ~is_after] = say(
        f"the two assessments used are not distinct and at least {span:g} days apart"
    )
    ok = reason == 0
    # where not computable, keep the assessments found (for display) but no rate
    start_day_abs = at_pos(sp, day)
    end_day_abs = at_pos(ep, day)
    start_score = at_pos(sp, score)
    end_score = at_pos(ep, score)
    months = (end_day_abs - start_day_abs) / md
    rate = _rates(s.method, v, sp, ep, ok, start_score, end_score, months, md)
    rate = np.where(ok, rate, np.nan)
    # free what is no longer needed before the output table is assembled (peak memory)
    del v, day, score, vcode, at, pc, k, pos, sp, ep, sd, ed, start_k, end_k, per_n_inj

    # --- reference rows first, then the rest; sorted by patient and period (stable) ------
    code = np.concatenate([ref_code, per_code])
    pidx = np.concatenate([np.zeros(len(ref_code), dtype=np.int64), period_index])
    order = np.lexsort((pidx, code))  # stable, like sort_values(kind="stable")
    t1_all = np.concatenate([t1[first_row], per_t1])[order]

    def put(ref_part: np.ndarray, per_part: np.ndarray) -> np.ndarray:
        return np.concatenate([ref_part, per_part])[order]

    # one output column at a time, each block array freed once used (peak memory)
    code = code[order]
    cols = {"patient_id": uniques.take(code)}
    labels = ["reference", *[f"{a}-{a + 1}" for a in range(1, kmax)], "after-last", "whole"]
    cols["period"] = pd.Index(labels).take(put(np.zeros(len(ref_code), dtype=np.int64), label))
    del label
    cols["period_index"] = pidx[order]
    del pidx
    cols["start_day"] = put(ref_start_day, start_day_abs) - t1_all
    del start_day_abs
    cols["end_day"] = put(ref_end_day, end_day_abs) - t1_all
    del end_day_abs, t1_all
    cols["start_score"] = put(ref_start_score, start_score)
    del start_score
    cols["end_score"] = put(ref_end_score, end_score)
    del end_score
    cols["months"] = put(ref_months, months)
    del months
    rate = put(ref_rate, rate)
    rate[np.abs(rate) < ZERO_RATE] = 0.0  # SPEC §6
    cols["rate"] = rate
    cols["rate_reason"] = pd.Index(texts).take(put(ref_reason, reason))
    # copy=False: the columns are fresh arrays; no copy into one 2-D block (time, memory)
    table = pd.DataFrame(cols, copy=False)
    return table, code
