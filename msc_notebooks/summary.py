"""Per-period summaries, clinical improvement and the interval correlation (SPEC §6–8).

The statistics that do not depend on the responder threshold (mean, median, bootstrap CI,
Wilcoxon) are computed by :func:`period_statistics`; the counts that do (responders) by
:func:`responder_counts`. :func:`summarize` joins the two into the SPEC §11 summary, so a
threshold change recomputes only the counts.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .columns import SUMMARY_COLUMNS
from .settings import Settings

__all__ = [
    "period_order",
    "period_statistics",
    "responder_counts",
    "summarize",
    "clinical_improvement",
    "clinical_summary",
    "interval_correlation",
    "BOOTSTRAP_MAX_N",
]

#: Above this many evaluable patients in a period, the 95 % CI of the mean improvement is
#: the normal interval (mean +- 1.96 SE) rather than the percentile bootstrap: with so many
#: patients the bootstrap distribution of a mean is normal to well under 0.1 %, and
#: resampling 100,000 patients 2,000 times would take seconds.
BOOTSTRAP_MAX_N = 5000


def period_order(periods: pd.Series) -> list[str]:
    """Periods in reading order: ``1-2``, ``2-3``, ..., ``after-last``, ``whole``.

    Examples
    --------
    >>> period_order(pd.Series(["whole", "10-11", "2-3", "after-last", "1-2", "reference"]))
    ['1-2', '2-3', '10-11', 'after-last', 'whole']
    """
    names = [p for p in pd.unique(periods) if p != "reference"]

    def key(p: str) -> tuple[int, int]:
        if p == "after-last":
            return (1, 0)
        if p == "whole":
            return (2, 0)
        return (0, int(str(p).split("-")[0]))

    return sorted(names, key=key)


def _bootstrap_ci(
    groups: dict[str, np.ndarray], samples: int, seed: int
) -> dict[str, tuple[float, float]]:
    rng = np.random.default_rng(seed)
    out = {}
    for name, values in groups.items():
        n = len(values)
        if n == 0:
            out[name] = (np.nan, np.nan)
        elif n > BOOTSTRAP_MAX_N:
            se = values.std(ddof=1) / np.sqrt(n)
            out[name] = (values.mean() - 1.959964 * se, values.mean() + 1.959964 * se)
        else:
            means = np.empty(samples)
            step = max(1, 2_000_000 // max(n, 1))
            for start in range(0, samples, step):
                stop = min(samples, start + step)
                idx = rng.integers(0, n, size=(stop - start, n))
                means[start:stop] = values[idx].mean(axis=1)
            low, high = np.percentile(means, [2.5, 97.5])
            out[name] = (float(low), float(high))
    return out


def _evaluable_periods(periods: pd.DataFrame) -> tuple[np.ndarray, list, np.ndarray]:
    """Period codes, the period names (first-seen order) and the evaluable non-reference mask."""
    pcode, names = pd.factorize(periods["period"])
    names = list(names)
    ref = names.index("reference") if "reference" in names else -2
    ev = periods["evaluable"].to_numpy(dtype=bool, na_value=False) & (pcode != ref)
    return pcode, names, ev


def period_statistics(periods: pd.DataFrame, settings: Settings | None = None) -> pd.DataFrame:
    """Threshold-free statistics of each period over its evaluable patients (SPEC §7).

    Parameters
    ----------
    periods : pandas.DataFrame
        The per-patient period table (SPEC §11).
    settings : Settings, optional
        ``bootstrap_samples`` and ``seed``.

    Returns
    -------
    pandas.DataFrame
        One row per period (reference excluded): ``period``, ``n_evaluable``,
        ``mean_improvement_pct``, ``median_improvement_pct``, ``ci_low_pct``,
        ``ci_high_pct`` (95 % percentile-bootstrap CI of the mean improvement, seeded;
        the normal interval above ``BOOTSTRAP_MAX_N`` patients), ``wilcoxon_statistic``,
        ``wilcoxon_p`` (paired two-sided Wilcoxon signed-rank test of reference rate vs
        period rate; NaN when fewer than 2 non-zero differences).

    Examples
    --------
    >>> p = pd.DataFrame({"period": ["1-2"] * 3, "evaluable": [True] * 3,
    ...     "improvement_pct": [10.0, 50.0, 90.0], "reference_rate": [1.0, 1.0, 1.0],
    ...     "rate": [0.9, 0.5, 0.1]})
    >>> st = period_statistics(p)
    >>> st[["n_evaluable", "mean_improvement_pct", "median_improvement_pct"]].to_dict("records")[0]
    {'n_evaluable': 3, 'mean_improvement_pct': 50.0, 'median_improvement_pct': 50.0}
    >>> float(st.wilcoxon_p.iloc[0])   # exact test, n = 3, all differences positive: 2/8
    0.25
    """
    from scipy import stats

    s = settings or Settings()
    # period codes (few distinct names) instead of grouping and filtering on text; each
    # period's values stay in row order, as with groupby
    pcode, names, ev = _evaluable_periods(periods)
    order = period_order(pd.Series(names, dtype=object))
    code_of = {name: i for i, name in enumerate(names)}
    imp = periods["improvement_pct"].to_numpy(dtype=float)
    ref_rate = periods["reference_rate"].to_numpy(dtype=float)
    rate = periods["rate"].to_numpy(dtype=float)
    members = {
        name: np.flatnonzero(ev & (pcode == code_of[name]))
        if name in code_of
        else np.array([], dtype=np.int64)
        for name in order
    }
    groups = {name: imp[rows] for name, rows in members.items()}
    cis = _bootstrap_ci(groups, int(s.bootstrap_samples), int(s.seed))
    rows = []
    for name in order:
        vals = groups[name]
        stat, p = np.nan, np.nan
        diff = ref_rate[members[name]] - rate[members[name]]
        if np.count_nonzero(diff) >= 2:
            res = stats.wilcoxon(ref_rate[members[name]], rate[members[name]])
            stat, p = float(res.statistic), float(res.pvalue)
        rows.append(
            {
                "period": name,
                "n_evaluable": len(vals),
                "mean_improvement_pct": float(vals.mean()) if len(vals) else np.nan,
                "median_improvement_pct": float(np.median(vals)) if len(vals) else np.nan,
                "ci_low_pct": cis[name][0],
                "ci_high_pct": cis[name][1],
                "wilcoxon_statistic": stat,
                "wilcoxon_p": p,
            }
        )
    cols = [
        "period",
        "n_evaluable",
        "mean_improvement_pct",
        "median_improvement_pct",
        "ci_low_pct",
        "ci_high_pct",
        "wilcoxon_statistic",
        "wilcoxon_p",
    ]
    return pd.DataFrame(rows, columns=cols).astype({"n_evaluable": "int64", "period": object})


def responder_counts(periods: pd.DataFrame) -> pd.DataFrame:
    """Responder counts per period over the evaluable patients (SPEC §6–7).

    Returns
    -------
    pandas.DataFrame
        ``period``, ``n_responders``, ``mean_improvement_responders_pct`` (mean over the
        relative responders only), ``n_absolute_responders``.

    Examples
    --------
    >>> p = pd.DataFrame({"period": ["1-2"] * 3, "evaluable": [True, True, False],
    ...     "improvement_pct": [10.0, 50.0, np.nan],
    ...     "responder": pd.array([False, True, pd.NA], dtype="boolean"),
    ...     "absolute_responder": pd.array([False, False, pd.NA], dtype="boolean")})
    >>> responder_counts(p).values.tolist()
    [['1-2', 1, 50.0, 0]]
    """
    pcode, names, ev = _evaluable_periods(periods)
    rows = np.flatnonzero(ev)
    resp = periods["responder"].to_numpy(dtype=float, na_value=0.0)[rows] > 0
    absr = periods["absolute_responder"].to_numpy(dtype=float, na_value=0.0)[rows] > 0
    frame = pd.DataFrame(
        {
            "period": pcode[rows],  # integer codes: the same sums and means, no text keys
            "r": resp.astype(int),
            "a": absr.astype(int),
            "imp_r": np.where(resp, periods["improvement_pct"].to_numpy(dtype=float)[rows], np.nan),
        },
        copy=False,
    )
    g = frame.groupby("period", sort=False).agg(
        n_responders=("r", "sum"),
        mean_improvement_responders_pct=("imp_r", "mean"),
        n_absolute_responders=("a", "sum"),
    )
    g.index = pd.Index(np.asarray(names, dtype=object)[g.index.to_numpy()], dtype=object)
    order = period_order(pd.Series(names, dtype=object))
    g = g.reindex(order)
    g["n_responders"] = g["n_responders"].fillna(0).astype("int64")
    g["n_absolute_responders"] = g["n_absolute_responders"].fillna(0).astype("int64")
    g = g.rename_axis("period").reset_index()
    g["period"] = g["period"].astype(object)
    return g[["period", "n_responders", "mean_improvement_responders_pct", "n_absolute_responders"]]


def summarize(
    periods: pd.DataFrame,
    settings: Settings | None = None,
    statistics: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The per-period summary of SPEC §7 and §11.

    Parameters
    ----------
    periods : pandas.DataFrame
        The per-patient period table.
    settings : Settings, optional
        Bootstrap settings.
    statistics : pandas.DataFrame, optional
        Output of :func:`period_statistics` for the same rates, reused when only the
        responder threshold changed.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`msc_notebooks.columns.SUMMARY_COLUMNS`; ``responder_pct`` is
        100 x n_responders / n_evaluable.

    Examples
    --------
    >>> p = pd.DataFrame({"period": ["1-2"] * 4, "evaluable": [True] * 4,
    ...     "improvement_pct": [10.0, 50.0, 90.0, 30.0], "reference_rate": [1.0] * 4,
    ...     "rate": [0.9, 0.5, 0.1, 0.7],
    ...     "responder": pd.array([False, True, True, True], dtype="boolean"),
    ...     "absolute_responder": pd.array([False] * 4, dtype="boolean")})
    >>> summarize(p)[["n_responders", "n_evaluable", "responder_pct"]].to_dict("records")[0]
    {'n_responders': 3, 'n_evaluable': 4, 'responder_pct': 75.0}
    """
    stats_ = statistics if statistics is not None else period_statistics(periods, settings)
    counts = responder_counts(periods)
    out = stats_.merge(counts, on="period", how="left")
    with np.errstate(invalid="ignore", divide="ignore"):
        out["responder_pct"] = np.where(
            out["n_evaluable"] > 0, 100.0 * out["n_responders"] / out["n_evaluable"], np.nan
        )
    return out[list(SUMMARY_COLUMNS)]


def clinical_improvement(
    rates: pd.DataFrame,
    settings: Settings | None = None,
    *,
    patient_codes: np.ndarray | None = None,
) -> pd.DataFrame:
    """Score change since the first injection at the end of each cycle, per patient (SPEC §6).

    Cycle k ends where treatment period k ends: at the assessment used for injection k+1
    (period ``k-(k+1)``), or, for the last injection, at the patient's last assessment
    (period ``after-last``). Change = end score - score at the first injection (points;
    positive = better). Clinically improved: change >= ``clinical_points`` (default +1).

    Parameters
    ----------
    rates : pandas.DataFrame
        Output of :func:`msc_notebooks.progression.compute_periods`.
    settings : Settings, optional
        ``clinical_points``.
    patient_codes : numpy.ndarray, optional
        Integer patient codes of the rows in patient_id order (as
        :func:`msc_notebooks.progression.patient_codes` gives); computed when omitted.

    Returns
    -------
    pandas.DataFrame
        ``patient_id``, ``cycle`` (1, 2, ...), ``period``, ``change`` (points; NaN where
        the period has no computable end), ``improved`` (nullable bool), ``reason``.

    Examples
    --------
    >>> r = pd.DataFrame({"patient_id": ["a"] * 3, "period": ["reference", "1-2", "after-last"],
    ...     "period_index": [0, 1, 90], "start_score": [40.0, 37.0, 39.0],
    ...     "end_score": [37.0, 39.0, 36.0], "rate": [1.0, -0.5, 0.8],
    ...     "rate_reason": ["", "", ""]})
    >>> clinical_improvement(r)[["cycle", "change", "improved"]].values.tolist()
    [[1, 2.0, True], [2, -1.0, False]]
    """
    s = settings or Settings()
    # integer patient codes in id order: sorting, numbering and the T1 lookup without text
    codes = (
        pd.factorize(rates["patient_id"], sort=True)[0] if patient_codes is None else patient_codes
    )
    period = rates["period"]
    is_ref = (period == "reference").to_numpy(dtype=bool)
    end_score = rates["end_score"].to_numpy(dtype=float)
    t1 = np.full(codes.max() + 1 if len(codes) else 0, np.nan)
    known_ref = is_ref & (codes >= 0)
    t1[codes[known_ref]] = end_score[known_ref]
    rows = np.flatnonzero(~(is_ref | (period == "whole").to_numpy(dtype=bool)))
    rows = rows[np.lexsort((rates["period_index"].to_numpy()[rows], codes[rows]))]  # stable
    c = codes[rows]
    first = np.ones(len(c), dtype=bool)
    first[1:] = c[1:] != c[:-1]
    at = np.arange(len(c))
    cycle = at - np.maximum.accumulate(np.where(first, at, 0)) + 1
    base = np.where(c >= 0, t1[np.maximum(c, 0)], np.nan) if len(t1) else np.full(len(c), np.nan)
    # the row's own reason as codes into its few distinct texts (no per-row strings)
    rcode, rtexts = pd.factorize(rates["rate_reason"].take(rows))  # missing -> -1
    own_ok = rcode == -1
    if "" in rtexts:
        own_ok |= rcode == list(rtexts).index("")
    ok = own_ok & ~np.isnan(base)
    change = np.where(ok, rates["end_score"].to_numpy(dtype=float)[rows] - base, np.nan)
    texts = pd.Index([*rtexts, "", "no score at the first injection"])
    reason = texts.take(np.where(ok, len(rtexts), np.where(np.isnan(base), len(rtexts) + 1, rcode)))
    out = pd.DataFrame(
        {
            "patient_id": rates["patient_id"].array.take(rows),
            "cycle": cycle.astype("int64"),
            "period": rates["period"].array.take(rows),
            "change": change,
        },
        copy=False,
    )
    out["improved"] = pd.arrays.BooleanArray(
        np.where(ok, change >= s.clinical_points - 1e-9, False), ~ok
    )
    out["reason"] = reason
    return out


def clinical_summary(clinical: pd.DataFrame) -> pd.DataFrame:
    """Patients clinically improved after each cycle, with the range of their change (SPEC §6).

    Returns
    -------
    pandas.DataFrame
        ``cycle``, ``n_evaluable``, ``n_improved``, ``improved_change_min``,
        ``improved_change_max`` (points gained by the improved patients), ``change_min``,
        ``change_max`` (over all evaluable patients).

    Examples
    --------
    >>> c = pd.DataFrame({"cycle": [1, 1, 1], "change": [2.0, -1.0, 4.0],
    ...                   "improved": pd.array([True, False, True], dtype="boolean")})
    >>> clinical_summary(c).to_dict("records")[0]  # doctest: +NORMALIZE_WHITESPACE
    {'cycle': 1, 'n_evaluable': 3, 'n_improved': 2, 'improved_change_min': 2.0,
     'improved_change_max': 4.0, 'change_min': -1.0, 'change_max': 4.0}
    """
    # only the three columns used: the text columns are not copied
    ev = clinical.loc[clinical["improved"].notna().to_numpy(), ["cycle", "change", "improved"]]
    ev["imp"] = ev["improved"].astype(bool)
    ev["imp_change"] = ev["change"].where(ev["imp"])
    g = ev.groupby("cycle").agg(
        n_evaluable=("change", "size"),
        n_improved=("imp", "sum"),
        improved_change_min=("imp_change", "min"),
        improved_change_max=("imp_change", "max"),
        change_min=("change", "min"),
        change_max=("change", "max"),
    )
    g = g.reset_index().astype({"cycle": "int64", "n_evaluable": "int64", "n_improved": "int64"})
    return g


def _join_intervals(
    periods: pd.DataFrame,
    left: np.ndarray,
    intervals: pd.DataFrame,
    patient_codes: tuple[np.ndarray, np.ndarray] | None = None,
) -> pd.DataFrame:
    """Rows ``left`` of ``periods`` with the length of their interval (inner join, left order).

    The same as merging on (patient_id, period = interval), on integer keys instead of text.
    """
    right = intervals[["patient_id", "interval", "months"]]

    def codes(lvals: pd.Series, rvals: pd.Series) -> tuple[np.ndarray, np.ndarray, int]:
        lc, lu = pd.factorize(lvals)
        rc, ru = pd.factorize(rvals)
        to_left = (
            pd.Index(lu).get_indexer(pd.Index(ru)) if len(ru) else np.array([], dtype=np.int64)
        )
        rc = np.where(rc >= 0, to_left[np.maximum(rc, 0)] if len(ru) else -1, -1)
        return lc, rc, len(lu) + 1

    if patient_codes is None:
        lp, rp, _ = codes(periods["patient_id"].take(left), right["patient_id"])
    else:  # integer codes given for both tables: no text to compare
        lp, rp = patient_codes[0][left], patient_codes[1]
    lk, rk, n_k = codes(periods["period"].take(left), right["interval"])
    lkey = np.where((lp >= 0) & (lk >= 0), lp.astype(np.int64) * n_k + lk, -1)
    rkey = np.where((rp >= 0) & (rk >= 0), rp.astype(np.int64) * n_k + rk, -2)
    valid = np.flatnonzero(rkey >= 0)  # intervals of patients and periods on the left
    rindex = pd.Index(rkey[valid])
    if not rindex.is_unique:  # several intervals with one key: the general merge
        return periods.iloc[left][["patient_id", "period", "improvement_pct"]].merge(
            right.rename(columns={"interval": "period", "months": "interval_months"}),
            on=["patient_id", "period"],
            how="inner",
        )
    found = rindex.get_indexer(lkey)
    match = np.full(len(lkey), -1, dtype=np.int64)
    match[found >= 0] = valid[found[found >= 0]]
    hit = match >= 0
    rows = left[hit]
    return pd.DataFrame(
        {
            "period": periods["period"].array.take(rows),
            "improvement_pct": periods["improvement_pct"].to_numpy(dtype=float)[rows],
            "interval_months": right["months"].to_numpy(dtype=float)[match[hit]],
        },
        copy=False,
    )


def interval_correlation(
    periods: pd.DataFrame,
    intervals: pd.DataFrame,
    *,
    patient_codes: tuple[np.ndarray, np.ndarray] | None = None,
) -> pd.DataFrame:
    """Spearman correlation of interval length with improvement (SPEC §8).

    Parameters
    ----------
    periods : pandas.DataFrame
        The per-patient period table.
    intervals : pandas.DataFrame
        :func:`msc_notebooks.schedule.interval_table` (``patient_id``, ``interval``,
        ``months``).

    patient_codes : (numpy.ndarray, numpy.ndarray), optional
        Integer patient codes of the rows of ``periods`` and of ``intervals``, in one code
        space (:func:`msc_notebooks.progression.patient_codes`); computed when omitted.

    Returns
    -------
    pandas.DataFrame
        ``scope`` (``all`` for every evaluable patient-period between injections, then each
        period), ``rho``, ``p`` (two-sided), ``n``. rho and p are NaN where n < 3 or a
        variable is constant.

    Examples
    --------
    >>> per = pd.DataFrame({"patient_id": list("abcd"), "period": ["1-2"] * 4,
    ...                     "evaluable": [True] * 4, "improvement_pct": [10.0, 20.0, 40.0, 30.0]})
    >>> iv = pd.DataFrame({"patient_id": list("abcd"), "interval": ["1-2"] * 4,
    ...                    "months": [3.0, 4.0, 6.0, 5.0]})
    >>> interval_correlation(per, iv)[["scope", "rho", "n"]].values.tolist()
    [['all', 1.0, 4], ['1-2', 1.0, 4]]
    """
    from scipy import stats

    ev = periods["evaluable"].to_numpy(dtype=bool, na_value=False)
    left = np.flatnonzero(ev)
    joined = _join_intervals(periods, left, intervals, patient_codes)
    rows = []

    def corr(scope: str, frame: pd.DataFrame) -> None:
        x = frame["interval_months"].to_numpy(float)
        y = frame["improvement_pct"].to_numpy(float)
        rho = p = np.nan
        if len(x) >= 3 and np.ptp(x) > 0 and np.ptp(y) > 0:
            res = stats.spearmanr(x, y)
            rho, p = float(res.statistic), float(res.pvalue)
        rows.append({"scope": scope, "rho": rho, "p": p, "n": len(x)})

    corr("all", joined)
    if len(joined):
        pcode, names = pd.factorize(joined["period"])
        for name in period_order(pd.Series(names, dtype=object)):
            corr(name, joined[pcode == list(names).index(name)])
    return pd.DataFrame(rows, columns=["scope", "rho", "p", "n"]).astype({"n": "int64"})
