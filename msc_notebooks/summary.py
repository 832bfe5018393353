"""Per-period summaries, clinical improvement and the interval correlation (SPEC §6–8).

The statistics that do not depend on the responder threshold (mean, median, bootstrap CI,
Wilcoxon) are computed by :func:`period_statistics`; the counts that do (responders) by
:func:`responder_counts`. :func:`summarize` joins the two into the SPEC §11 summary, so a
threshold change recomputes only the counts.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from .columns import (
    STATISTICS_COLUMNS,
    SUMMARY_COLUMNS,
    number_in_time_order,
    patient_order,
    shared_codes,
)
from .progression import WHOLE_INDEX, ZERO_RATE
from .responders import SMALL_REFERENCE_RATE
from .settings import Settings

__all__ = [
    "period_order",
    "period_statistics",
    "responder_counts",
    "summarize",
    "clinical_improvement",
    "clinical_summary",
    "interval_correlation",
    "cluster_permutation_p",
    "BOOTSTRAP_MAX_N",
    "improvement_intervals",
    "wilcoxon_test",
    "reason_label",
    "not_evaluable_table",
    "responder_sentence",
    "STATISTICS_COLUMNS",
    "WILCOXON_CAVEAT",
    "WILCOXON_WITHOUT_EXPECTATION",
    "wilcoxon_text",
    "display_summary",
    "period_lines",
    "summary_with_expectation",
]

#: Above this many evaluable patients in a period, the 95 % CI of the mean improvement is
#: the normal interval (mean +- 1.96 SE) rather than the BCa bootstrap, and that of the
#: median the order-statistic interval: with so many patients the bootstrap distribution
#: of a mean is close to normal, and the two bootstraps of 2,000 resamples take about a
#: second per period at 2,000 patients (seconds per period beyond).
BOOTSTRAP_MAX_N = 2000


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


def _median_order_ci(values: np.ndarray) -> tuple[float, float]:
    """Distribution-free 95 % interval of a median from order statistics (large n)."""
    n = len(values)
    v = np.sort(values)
    half = 1.959964 * np.sqrt(n) / 2
    lo = int(np.clip(np.floor(n / 2 - half), 0, n - 1))
    hi = int(np.clip(np.ceil(n / 2 + half), 0, n - 1))
    return float(v[lo]), float(v[hi])


def improvement_intervals(
    values: np.ndarray, samples: int = 2000, seed: int = 0
) -> dict[str, float | str]:
    """95 % intervals of the median and the mean improvement of one period (SPEC §7).

    The median gets the percentile bootstrap, the mean the BCa bootstrap (bias-corrected and
    accelerated; :func:`scipy.stats.bootstrap`), both seeded. Above
    :data:`BOOTSTRAP_MAX_N` values the mean gets the normal interval (mean +- 1.96 SE) and
    the median the distribution-free order-statistic interval, and the method says so.

    Parameters
    ----------
    values : numpy.ndarray
        Improvement % of the evaluable patients.
    samples : int
        Bootstrap resamples.
    seed : int
        Random seed (same seed, same interval).

    Returns
    -------
    dict
        ``median_ci_low_pct``, ``median_ci_high_pct``, ``ci_low_pct``, ``ci_high_pct`` (the
        mean's interval, %), ``ci_method`` (text naming both methods; NaN intervals and
        ``"none (n < 2)"`` with fewer than two values).

    Examples
    --------
    Every value equal: every resample gives the same median and mean.

    >>> improvement_intervals(np.array([50.0, 50.0, 50.0]))["ci_low_pct"]
    50.0
    >>> improvement_intervals(np.array([10.0]))["ci_method"]
    'none (n < 2)'
    """
    from scipy import stats

    values = np.asarray(values, dtype=float)
    n = len(values)
    out: dict[str, float | str] = dict.fromkeys(
        ("median_ci_low_pct", "median_ci_high_pct", "ci_low_pct", "ci_high_pct"), np.nan
    )
    if n < 2:
        out["ci_method"] = "none (n < 2)"
        return out
    if np.ptp(values) == 0:  # every resample is the same value: no spread to estimate
        v = float(values[0])
        out.update(median_ci_low_pct=v, median_ci_high_pct=v, ci_low_pct=v, ci_high_pct=v)
        out["ci_method"] = "all values equal (no spread)"
        return out
    if n > BOOTSTRAP_MAX_N:
        se = values.std(ddof=1) / np.sqrt(n)
        out["ci_low_pct"] = float(values.mean() - 1.959964 * se)
        out["ci_high_pct"] = float(values.mean() + 1.959964 * se)
        out["median_ci_low_pct"], out["median_ci_high_pct"] = _median_order_ci(values)
        out["ci_method"] = f"median: order statistics; mean: normal (n > {BOOTSTRAP_MAX_N})"
        return out
    batch = max(1, 2_000_000 // n)

    def interval(statistic, method: str):  # each statistic from the same seeded resamples
        rng = np.random.default_rng(seed)
        return stats.bootstrap(
            (values,),
            statistic,
            n_resamples=samples,
            method=method,
            vectorized=True,
            batch=batch,
            rng=rng,
        ).confidence_interval

    med = interval(np.median, "percentile")
    mean = interval(np.mean, "BCa")
    out.update(
        median_ci_low_pct=float(med.low),
        median_ci_high_pct=float(med.high),
        ci_low_pct=float(mean.low),
        ci_high_pct=float(mean.high),
    )
    out["ci_method"] = (
        f"median: percentile bootstrap; mean: BCa bootstrap ({samples} resamples, seed {seed})"
    )
    return out


#: The Wilcoxon variants the kit chooses between (SPEC §7).
WILCOXON_EXACT = "exact"
WILCOXON_NORMAL = "normal approximation with tie correction (zero differences dropped)"

#: Largest number of non-zero differences for the exact Wilcoxon distribution (SPEC §7).
WILCOXON_EXACT_MAX_N = 50


def in_rank_order(values: np.ndarray, key: np.ndarray) -> np.ndarray:
    """``values`` ordered by ``key``, for a scipy rank test that ranks ``key``.

    scipy ranks with a stable sort, which takes linear time on values already sorted
    (about 4 times less on 85,000 rates than on shuffled ones). The Wilcoxon and Spearman
    results do not depend on the order of the values or pairs: the rank sums and products
    are sums of half-integers, exact in floating point, so the result is the same to the
    last bit.

    Parameters
    ----------
    values, key : numpy.ndarray
        The values to hand over, and what they are ranked by (the same length).

    Returns
    -------
    numpy.ndarray
        ``values[argsort(key)]``.

    Examples
    --------
    >>> in_rank_order(np.array([0.5, -0.2, 1.0]), np.abs([0.5, -0.2, 1.0])).tolist()
    [-0.2, 0.5, 1.0]
    """
    return np.asarray(values)[np.argsort(key)]


def wilcoxon_test(reference_rate: np.ndarray, rate: np.ndarray) -> dict[str, float | str]:
    """Paired two-sided Wilcoxon signed-rank test of reference vs period rate (SPEC §7).

    The method is chosen here, not by the library: ``exact`` where the differences have
    no zeros and no ties and n <= 50, otherwise the normal approximation with the tie
    correction (zero differences dropped, no continuity correction). Differences are
    compared after rounding to 1e-9 points/month, so values equal in exact arithmetic are
    ties.

    Parameters
    ----------
    reference_rate, rate : numpy.ndarray
        Paired rates (points/month) of the evaluable patients.

    Returns
    -------
    dict
        ``wilcoxon_statistic`` (the smaller of the positive-rank and negative-rank sums),
        ``wilcoxon_p``, ``wilcoxon_n`` (non-zero differences), ``wilcoxon_method``,
        ``median_paired_difference`` (median of reference - period rate over every pair,
        points/month; positive = slower decline after treatment). Statistic and p are NaN
        with fewer than 2 non-zero differences.

    Examples
    --------
    Differences 0.5, -0.2, 1.0, 0.8, 0.3: ranks 3, 1, 5, 4, 2, negative sum 1; exact
    two-sided p = 2 x P(T <= 1) = 2 x 2/32 = 0.125.

    >>> r = wilcoxon_test(np.array([1.5, 0.8, 2.0, 1.8, 1.3]), np.ones(5))
    >>> r["wilcoxon_statistic"], r["wilcoxon_p"], r["wilcoxon_method"]
    (1.0, 0.125, 'exact')
    >>> r["median_paired_difference"]
    0.5
    """
    from scipy import stats

    d = np.round(np.asarray(reference_rate, float) - np.asarray(rate, float), 9)
    out: dict[str, float | str] = {
        "wilcoxon_statistic": np.nan,
        "wilcoxon_p": np.nan,
        "wilcoxon_n": 0,
        "wilcoxon_method": "not computed (fewer than 2 non-zero differences)",
        "median_paired_difference": float(np.median(d)) if len(d) else np.nan,
    }
    nonzero = d[d != 0]
    n = len(nonzero)
    out["wilcoxon_n"] = n
    if n < 2:
        return out
    small = n == len(d) and n <= WILCOXON_EXACT_MAX_N  # no zero differences, n <= 50
    nonzero = in_rank_order(nonzero, np.abs(nonzero))
    if small and len(np.unique(np.abs(nonzero))) == n:  # and no ties
        res = stats.wilcoxon(nonzero, method="exact")
        out["wilcoxon_method"] = WILCOXON_EXACT
    else:
        res = stats.wilcoxon(nonzero, zero_method="wilcox", correction=False, method="approx")
        out["wilcoxon_method"] = WILCOXON_NORMAL
    out["wilcoxon_statistic"] = float(res.statistic)
    out["wilcoxon_p"] = float(res.pvalue)
    return out


def _evaluable_periods(periods: pd.DataFrame) -> tuple[np.ndarray, list, np.ndarray]:
    """Period codes, the period names (first-seen order) and the evaluable non-reference mask."""
    pcode, names = pd.factorize(periods["period"])
    names = list(names)
    ref = names.index("reference") if "reference" in names else -2
    ev = periods["evaluable"].to_numpy(dtype=bool, na_value=False) & (pcode != ref)
    return pcode, names, ev


#: Short labels of the reasons a row is not evaluable, by a phrase of the full reason
#: (first match wins); used in the not-evaluable table and the responder sentence (SPEC §7).
REASON_LABELS = (
    ("reference rate <= 0", "flat or rising reference"),
    ("run-in too short", "run-in too short"),
    ("no symptom-onset date", "no onset date"),
    ("symptom onset is not before", "onset not before first injection"),
    ("no assessment within", "no assessment"),
    ("not distinct and at least", "span too short"),
    ("after the last injection", "no assessment after the last injection"),
    ("only one injection", "one injection only"),
)


def reason_label(reason: str) -> str:
    """The short label of a not-evaluable reason (SPEC §7), for counts and sentences.

    Examples
    --------
    >>> reason_label("no decline before treatment (reference rate <= 0): improvement undefined")
    'flat or rising reference'
    >>> reason_label("reference rate not evaluable (no assessment within 14 days of injection 1)")
    'no assessment'
    >>> reason_label("something new")
    'something new'
    """
    text = str(reason) if isinstance(reason, str) else ""
    for phrase, label in REASON_LABELS:
        if phrase in text:
            return label
    return text or "rate not computable"


def not_evaluable_table(periods: pd.DataFrame) -> pd.DataFrame:
    """Patients not evaluable per period and reason (SPEC §7): the ``not_evaluable.csv`` table.

    Parameters
    ----------
    periods : pandas.DataFrame
        The per-patient period table (SPEC §11): ``period``, ``evaluable``, ``reason``.

    Returns
    -------
    pandas.DataFrame
        ``period`` (``reference`` first, then reading order), ``reason`` (short label, see
        :func:`reason_label`), ``n`` (patients); most frequent reason first within a period.
        No row for a period where every patient is evaluable.

    Examples
    --------
    >>> p = pd.DataFrame({"period": ["reference", "1-2", "1-2", "1-2"],
    ...     "evaluable": [False, False, False, True],
    ...     "reason": ["no decline before treatment (reference rate <= 0)",
    ...                "no decline before treatment (reference rate <= 0): improvement undefined",
    ...                "no assessment within 14 days of injection 2", ""]})
    >>> not_evaluable_table(p).values.tolist()
    [['reference', 'flat or rising reference', 1], ['1-2', 'flat or rising reference', 1], ['1-2', 'no assessment', 1]]
    """
    bad = np.flatnonzero(~periods["evaluable"].to_numpy(dtype=bool, na_value=False))
    cols = ["period", "reason", "n"]
    if not len(bad):
        return pd.DataFrame({c: pd.Series(dtype=object if c != "n" else "int64") for c in cols})
    # count on integer codes: the periods and reasons of the rows not evaluable, and the
    # short label of each distinct reason text (a missing reason is labelled as "")
    period, period_names = pd.factorize(periods["period"].take(bad))
    reason, reason_texts = pd.factorize(periods["reason"].take(bad))
    label, labels = pd.factorize(pd.Series([*map(reason_label, [*reason_texts, ""])]))
    # rows per (period, short reason), counted on one integer key (rows with no period: none)
    key = (period * len(labels) + label[reason])[period >= 0]
    n = np.bincount(key, minlength=len(period_names) * len(labels))
    pairs = np.flatnonzero(n)
    t = pd.DataFrame(
        {
            "period": np.asarray(period_names, dtype=object)[pairs // len(labels)],
            "reason": np.asarray(labels, dtype=object)[pairs % len(labels)],
            "n": n[pairs],
        }
    )
    order = {p: i for i, p in enumerate(["reference", *period_order(pd.Series(period_names))])}
    t["_o"] = t["period"].map(order)
    t = t.sort_values(["_o", "n", "reason"], ascending=[True, False, True], kind="stable")
    t = t[cols].reset_index(drop=True).astype({"period": object, "reason": object, "n": "int64"})
    return t


def _reasons_texts(table: pd.DataFrame) -> dict[str, str]:
    """Each period's not-evaluable counts of :func:`not_evaluable_table` as one text,
    e.g. ``"2 flat or rising reference, 1 no assessment"``."""
    parts: dict[str, list[str]] = {}
    for period, reason, n in zip(table["period"], table["reason"], table["n"], strict=True):
        parts.setdefault(period, []).append(f"{int(n)} {reason}")
    return {period: ", ".join(texts) for period, texts in parts.items()}


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
        One row per period (reference excluded): ``period``, ``n_in_period`` (patients
        who reached the period), ``n_evaluable``, ``n_not_evaluable``,
        ``not_evaluable_reasons`` (e.g. ``"2 flat or rising reference, 1 no assessment"``),
        ``median_improvement_pct``, ``median_ci_low_pct``, ``median_ci_high_pct``
        (percentile bootstrap), ``mean_improvement_pct``, ``ci_low_pct``, ``ci_high_pct``
        (95 % BCa bootstrap CI of the mean), ``ci_method``, ``ratio_of_mean_rates_pct``
        (100 x (mean reference rate - mean period rate) / mean reference rate),
        ``n_small_reference`` (evaluable patients with a reference rate below 0.3
        points/month), ``wilcoxon_statistic``, ``wilcoxon_p``, ``wilcoxon_n``,
        ``wilcoxon_method``, ``median_paired_difference`` (see :func:`wilcoxon_test`).

    Examples
    --------
    >>> p = pd.DataFrame({"period": ["1-2"] * 3, "evaluable": [True] * 3,
    ...     "improvement_pct": [10.0, 50.0, 90.0], "reference_rate": [1.0, 1.0, 1.0],
    ...     "rate": [0.9, 0.5, 0.1], "reason": [""] * 3})
    >>> st = period_statistics(p)
    >>> st[["n_evaluable", "mean_improvement_pct", "median_improvement_pct"]].to_dict("records")[0]
    {'n_evaluable': 3, 'mean_improvement_pct': 50.0, 'median_improvement_pct': 50.0}
    >>> float(st.wilcoxon_p.iloc[0])   # exact test, n = 3, all differences positive: 2/8
    0.25
    """
    s = settings or Settings()
    # period codes (few distinct names) instead of grouping and filtering on text; each
    # period's values stay in row order, as with groupby
    pcode, names, ev = _evaluable_periods(periods)
    order = period_order(pd.Series(names, dtype=object))
    code_of = {name: i for i, name in enumerate(names)}
    imp = periods["improvement_pct"].to_numpy(dtype=float)
    ref_rate = periods["reference_rate"].to_numpy(dtype=float)
    rate = periods["rate"].to_numpy(dtype=float)
    reached = np.bincount(pcode[pcode >= 0], minlength=len(names))
    if "reason" in periods:
        not_ev = not_evaluable_table(periods)
    else:
        not_ev = pd.DataFrame(columns=["period", "reason", "n"])
    reasons_texts = _reasons_texts(not_ev)
    rows = []
    for name in order:
        member = (
            np.flatnonzero(ev & (pcode == code_of[name]))
            if name in code_of
            else np.array([], dtype=np.int64)
        )
        vals = imp[member]
        r0, r1 = ref_rate[member], rate[member]
        n_in = int(reached[code_of[name]]) if name in code_of else 0
        mean_ref = float(r0.mean()) if len(r0) else np.nan
        with np.errstate(invalid="ignore", divide="ignore"):
            ratio = 100.0 * (mean_ref - r1.mean()) / mean_ref if len(r0) else np.nan
        rows.append(
            {
                "period": name,
                "n_in_period": n_in,
                "n_evaluable": len(vals),
                "n_not_evaluable": n_in - len(vals),
                "not_evaluable_reasons": reasons_texts.get(name, ""),
                "median_improvement_pct": float(np.median(vals)) if len(vals) else np.nan,
                "mean_improvement_pct": float(vals.mean()) if len(vals) else np.nan,
                **improvement_intervals(vals, int(s.bootstrap_samples), int(s.seed)),
                "ratio_of_mean_rates_pct": float(ratio),
                "n_small_reference": int(
                    np.count_nonzero((r0 > ZERO_RATE) & (r0 < SMALL_REFERENCE_RATE))
                ),
                **wilcoxon_test(r0, r1),
            }
        )
    return pd.DataFrame(rows, columns=list(STATISTICS_COLUMNS)).astype(
        {
            "n_in_period": "int64",
            "n_evaluable": "int64",
            "n_not_evaluable": "int64",
            "n_small_reference": "int64",
            "wilcoxon_n": "int64",
            "period": object,
        }
    )


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


def responder_sentence(row: Mapping[str, Any] | Any) -> str:
    """The responder count with the patients left out and why (SPEC §7), as every face shows it.

    Parameters
    ----------
    row : mapping or named tuple
        A row of the per-period summary: ``n_responders``, ``n_evaluable``,
        ``n_in_period``, ``n_not_evaluable``, ``not_evaluable_reasons``.

    Returns
    -------
    str
        E.g. ``"8/11 evaluable responders; 3 of 14 treated not evaluable (2 flat or rising
        reference, 1 no assessment)"``.

    Examples
    --------
    >>> responder_sentence({"n_responders": 8, "n_evaluable": 11, "n_in_period": 14,
    ...     "n_not_evaluable": 3,
    ...     "not_evaluable_reasons": "2 flat or rising reference, 1 no assessment"})
    '8/11 evaluable responders; 3 of 14 treated not evaluable (2 flat or rising reference, 1 no assessment)'
    >>> responder_sentence({"n_responders": 4, "n_evaluable": 4, "n_in_period": 4,
    ...     "n_not_evaluable": 0, "not_evaluable_reasons": ""})
    '4/4 evaluable responders; all 4 treated evaluable'
    """

    def get(name: str) -> Any:
        return _field(row, name)

    r, n = int(get("n_responders")), int(get("n_evaluable"))
    n_in, left = int(get("n_in_period")), int(get("n_not_evaluable"))
    head = f"{r}/{n} evaluable responders"
    if left == 0:
        return f"{head}; all {n_in} treated evaluable"
    reasons = get("not_evaluable_reasons")
    why = f" ({reasons})" if isinstance(reasons, str) and reasons else ""
    return f"{head}; {left} of {n_in} treated not evaluable{why}"


#: The one sentence that stands beside every before/after (Wilcoxon) p-value (SPEC §7).
WILCOXON_CAVEAT = (
    "The before/after Wilcoxon test does not test the treatment: it is significant in "
    "untreated patients too (only patients declining before treatment are evaluable, and "
    "the reference shares an assessment with the first period), so compare the responders "
    "with those expected with no treatment effect."
)


def wilcoxon_text(row: Mapping[str, Any] | Any, null_row: Mapping[str, Any] | Any | None) -> str:
    """A period's Wilcoxon p with the no-effect expectation beside it (SPEC §7, §13).

    Parameters
    ----------
    row : mapping or named tuple
        A row of the per-period summary (``wilcoxon_p``, ``wilcoxon_method``,
        ``wilcoxon_n``, ``median_paired_difference``, ``n_responders``).
    null_row : mapping or named tuple, optional
        The period's row of :func:`msc_notebooks.null_model.simulate_null`
        (``expected_responders``, ``expected_low``, ``expected_high``, ``p_value``).
        Without it the p is not shown (a p without the no-effect expectation misleads).

    Returns
    -------
    str
        Empty when there is no p.

    Examples
    --------
    >>> row = {"wilcoxon_p": 0.0123, "wilcoxon_method": "exact", "wilcoxon_n": 11,
    ...        "median_paired_difference": 0.42, "n_responders": 8}
    >>> wilcoxon_text(row, {"expected_responders": 6.1, "expected_low": 3,
    ...                     "expected_high": 9, "p_value": 0.21})
    'Wilcoxon p = 0.0123 (exact, n = 11; median paired difference +0.42 points/month); with no treatment effect 6.1 [3-9] responders expected, 8 observed (p = 0.21)'
    >>> wilcoxon_text(row, None)
    'Wilcoxon p not shown: no no-effect simulation to stand beside it'
    """

    get = _field

    p = get(row, "wilcoxon_p")
    if p is None or pd.isna(p):
        return ""
    if null_row is None:
        return "Wilcoxon p not shown: no no-effect simulation to stand beside it"
    diff = float(get(row, "median_paired_difference"))
    null_p = float(get(null_row, "p_value"))
    p_text = f"p = {null_p:.2g}"
    if null_p <= 0:  # no simulation reached the observed count
        m = get(null_row, "n_simulations") if "n_simulations" in _names(null_row) else None
        p_text = f"p < {1 / float(m):.2g}" if m else "p < 1/simulations"
    return (
        f"Wilcoxon p = {float(p):.3g} ({get(row, 'wilcoxon_method')}, "
        f"n = {int(get(row, 'wilcoxon_n'))}; median paired difference {diff:+.2f} "
        f"points/month); with no treatment effect "
        f"{float(get(null_row, 'expected_responders')):.1f} "
        f"[{int(get(null_row, 'expected_low'))}-{int(get(null_row, 'expected_high'))}] "
        f"responders expected, {int(get(row, 'n_responders'))} observed "
        f"({p_text})"
    )


def _field(row: Mapping[str, Any] | Any, name: str) -> Any:
    """A field of a mapping, pandas Series or named tuple."""
    return row[name] if isinstance(row, Mapping | pd.Series) else getattr(row, name)


def _names(row: Mapping[str, Any] | Any) -> set[str]:
    """Field names of a mapping, named tuple or pandas Series."""
    if isinstance(row, Mapping):
        return set(row)
    if isinstance(row, pd.Series):
        return set(row.index)
    return set(getattr(row, "_fields", ()))


def period_lines(summary: pd.DataFrame, null: pd.DataFrame | None = None) -> list[str]:
    """One line per period for people to read (CLI, report, ``summary.txt``), SPEC §7.

    Each line gives the responders with the patients left out and why, the median
    improvement with its CI, then the mean with its CI; with a no-effect simulation, the
    Wilcoxon p with the expectation beside it, and the caveat once at the end.

    Parameters
    ----------
    summary : pandas.DataFrame
        The per-period summary.
    null : pandas.DataFrame, optional
        :func:`msc_notebooks.null_model.simulate_null` for the same result.

    Returns
    -------
    list of str

    Examples
    --------
    >>> from msc_notebooks import analyze, load_demo
    >>> print(period_lines(analyze(load_demo()).summary)[0])
    1-2: 15/19 evaluable responders; all 19 treated evaluable; median improvement 85.2 % [95 % CI 32.8 to 122.8], mean 107.1 % [54.0 to 180.7]
    """
    by_period = null.set_index("period") if null is not None and len(null) else None
    lines, shown = [], False
    for row in summary.itertuples(index=False):
        line = f"{row.period}: {responder_sentence(row)}"
        if row.n_evaluable:
            line += f"; median improvement {row.median_improvement_pct:.1f} %"
            if pd.notna(row.median_ci_low_pct):
                line += f" [95 % CI {row.median_ci_low_pct:.1f} to {row.median_ci_high_pct:.1f}]"
            line += f", mean {row.mean_improvement_pct:.1f} %"
            if pd.notna(row.ci_low_pct):
                line += f" [{row.ci_low_pct:.1f} to {row.ci_high_pct:.1f}]"
        if by_period is not None and row.period in by_period.index:
            text = wilcoxon_text(row, by_period.loc[row.period])
            if text:
                line += f"; {text}"
                shown = True
        lines.append(line)
    if shown:
        lines.append(WILCOXON_CAVEAT)
    return lines


#: What ``wilcoxon_note`` says in ``summary.csv`` when no no-effect simulation was run.
WILCOXON_WITHOUT_EXPECTATION = (
    "No no-effect expectation was computed for this run (0 simulations), so this p has "
    "nothing to stand beside: it does not test the treatment. Run with "
    "--null-simulations 2000 (null_simulations=2000) to see the responders expected with "
    "no treatment effect."
)


def summary_with_expectation(
    summary: pd.DataFrame, null: pd.DataFrame | None = None
) -> pd.DataFrame:
    """The per-period summary as exported: the Wilcoxon p never travels alone (SPEC §7, §13).

    ``summary.csv`` keeps the SPEC §11 columns, ``wilcoxon_p`` among them; this adds, per
    period, the responders expected with no treatment effect beside it and a note.

    Parameters
    ----------
    summary : pandas.DataFrame
        The per-period summary (:func:`summarize`).
    null : pandas.DataFrame, optional
        :func:`msc_notebooks.null_model.simulate_null` for the same result.

    Returns
    -------
    pandas.DataFrame
        ``summary`` plus ``no_effect_expected_responders`` (mean count),
        ``no_effect_expected_low`` and ``no_effect_expected_high`` (2.5 and 97.5 %
        quantiles, whole counts), ``no_effect_p_value`` (share of no-effect cohorts with at
        least the observed responders), ``no_effect_mean_simulated_evaluable`` (the
        simulated cohorts' own evaluable patients, on average: the count's denominator)
        — empty without a simulation — and
        ``wilcoxon_note``: the caveat (:data:`WILCOXON_CAVEAT`), or
        :data:`WILCOXON_WITHOUT_EXPECTATION` when no simulation was run.

    Examples
    --------
    >>> from msc_notebooks import analyze, load_demo
    >>> out = summary_with_expectation(analyze(load_demo()).summary)
    >>> out[["period", "wilcoxon_p", "no_effect_expected_low"]].head(1)
      period  wilcoxon_p  no_effect_expected_low
    0    1-2    0.000645                     NaN
    >>> out["wilcoxon_note"].iloc[0][:45]
    'No no-effect expectation was computed for thi'
    """
    columns = {
        "no_effect_expected_responders": "expected_responders",
        "no_effect_expected_low": "expected_low",
        "no_effect_expected_high": "expected_high",
        "no_effect_p_value": "p_value",
        "no_effect_mean_simulated_evaluable": "mean_simulated_evaluable",
    }
    out = summary.copy()
    if null is not None and len(null):
        by_period = null.set_index("period")
        for name, source in columns.items():
            out[name] = out["period"].map(by_period[source]).astype(float)
        note = WILCOXON_CAVEAT
    else:
        for name in columns:
            out[name] = float("nan")
        note = WILCOXON_WITHOUT_EXPECTATION
    out["wilcoxon_note"] = note
    return out


def display_summary(summary: pd.DataFrame, null: pd.DataFrame | None = None) -> pd.DataFrame:
    """The per-period summary as people read it (SPEC §7): what every face shows.

    The patients left out stand beside every responder count, the median comes before the
    mean, and the Wilcoxon p appears only with the no-effect expectation beside it.

    Parameters
    ----------
    summary : pandas.DataFrame
        The per-period summary (:data:`msc_notebooks.columns.SUMMARY_COLUMNS`).
    null : pandas.DataFrame, optional
        :func:`msc_notebooks.null_model.simulate_null` for the same result; without it the
        Wilcoxon column says why no p is shown.

    Returns
    -------
    pandas.DataFrame
        ``period``, ``responders`` (:func:`responder_sentence`), ``median improvement %
        [95 % CI]``, ``mean improvement % [95 % CI]``, ``ratio of mean rates %``,
        ``reference rate < 0.3/month``, ``absolute responders``, ``before/after test``
        (:func:`wilcoxon_text`). All text.

    Examples
    --------
    >>> from msc_notebooks import analyze, load_demo
    >>> t = display_summary(analyze(load_demo()).summary)
    >>> t.iloc[0]["responders"]
    '15/19 evaluable responders; all 19 treated evaluable'
    >>> t.iloc[0]["before/after test"]
    'Wilcoxon p not shown: no no-effect simulation to stand beside it'
    """

    def ci(mid: float, low: float, high: float) -> str:
        if pd.isna(mid):
            return ""
        if pd.isna(low):
            return f"{mid:.1f}"
        return f"{mid:.1f} [{low:.1f}; {high:.1f}]"

    by_period = null.set_index("period") if null is not None and len(null) else None
    rows = []
    for row in summary.itertuples(index=False):
        null_row = None
        if by_period is not None and row.period in by_period.index:
            null_row = by_period.loc[row.period]
        rows.append(
            {
                "period": row.period,
                "responders": responder_sentence(row),
                "median improvement % [95 % CI]": ci(
                    row.median_improvement_pct, row.median_ci_low_pct, row.median_ci_high_pct
                ),
                "mean improvement % [95 % CI]": ci(
                    row.mean_improvement_pct, row.ci_low_pct, row.ci_high_pct
                ),
                "ratio of mean rates %": ci(row.ratio_of_mean_rates_pct, np.nan, np.nan),
                f"reference rate < {SMALL_REFERENCE_RATE:g}/month": str(row.n_small_reference),
                "absolute responders": f"{row.n_absolute_responders}/{row.n_evaluable}",
                "before/after test": wilcoxon_text(row, null_row),
            }
        )
    return pd.DataFrame(rows, dtype=object)


def clinical_improvement(rates: pd.DataFrame, settings: Settings | None = None) -> pd.DataFrame:
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
    codes = shared_codes(rates["patient_id"])[0][0]
    period_index = rates["period_index"].to_numpy()
    is_ref = period_index == 0
    end_score = rates["end_score"].to_numpy(dtype=float)
    t1 = np.full(codes.max() + 1 if len(codes) else 0, np.nan)
    known_ref = is_ref & (codes >= 0)
    t1[codes[known_ref]] = end_score[known_ref]
    rows = np.flatnonzero(~is_ref & (period_index != WHOLE_INDEX))
    rows = rows[patient_order(codes[rows], period_index[rows])]
    c = codes[rows]
    cycle = number_in_time_order(c)  # rows sorted by patient and period
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
    periods: pd.DataFrame, left: np.ndarray, intervals: pd.DataFrame
) -> pd.DataFrame:
    """Rows ``left`` of ``periods`` with the length of their interval: an inner join on
    (patient_id, period = interval), in the order of ``left``.

    The kit's two tables line up: the period rows between two injections are, in order, the
    rows of the interval table (both sorted by patient, then injection). When they do
    (checked on every row), the join is a selection; otherwise the keys are matched.
    """
    between = np.flatnonzero(periods["period"].isin(intervals["interval"].unique()))
    if len(between) == len(intervals) and all(
        np.asarray(periods[a].array.take(between) == intervals[b].array, dtype=bool).all()
        for a, b in (("period", "interval"), ("patient_id", "patient_id"))
    ):
        (patient,), _ = shared_codes(intervals["patient_id"])
        wanted = np.zeros(len(periods), dtype=bool)
        wanted[left] = True
        hit = wanted[between]
        rows = between[hit]
        return pd.DataFrame(
            {
                "period": periods["period"].array.take(rows),
                "improvement_pct": periods["improvement_pct"].to_numpy(dtype=float)[rows],
                "interval_months": intervals["months"].to_numpy(dtype=float)[hit],
                "patient": patient[hit],
            },
            copy=False,
        )
    return _match_intervals(periods, left, intervals)


def _match_intervals(
    periods: pd.DataFrame, left: np.ndarray, intervals: pd.DataFrame
) -> pd.DataFrame:
    """:func:`_join_intervals` of tables that do not line up, on integer keys."""
    (lp, rp), _ = shared_codes(periods["patient_id"].take(left), intervals["patient_id"])
    (lk, rk), labels = shared_codes(periods["period"].take(left), intervals["interval"])
    n_k = len(labels)
    lkey = np.where((lp >= 0) & (lk >= 0), lp.astype(np.int64) * n_k + lk, -1)
    rkey = np.where((rp >= 0) & (rk >= 0), rp.astype(np.int64) * n_k + rk, -2)
    valid = np.flatnonzero(rkey >= 0)  # intervals of patients and periods on the left
    rindex = pd.Index(rkey[valid])
    if not rindex.is_unique:  # several intervals with one key: the general merge
        right = intervals[["patient_id", "interval", "months"]]
        merged = periods.iloc[left][["patient_id", "period", "improvement_pct"]].merge(
            right.rename(columns={"interval": "period", "months": "interval_months"}),
            on=["patient_id", "period"],
            how="inner",
        )
        merged["patient"] = pd.factorize(merged["patient_id"])[0]
        return merged
    found = rindex.get_indexer(lkey)
    match = np.full(len(lkey), -1, dtype=np.int64)
    match[found >= 0] = valid[found[found >= 0]]
    hit = match >= 0
    rows = left[hit]
    return pd.DataFrame(
        {
            "period": periods["period"].array.take(rows),
            "improvement_pct": periods["improvement_pct"].to_numpy(dtype=float)[rows],
            "interval_months": intervals["months"].to_numpy(dtype=float)[match[hit]],
            "patient": np.asarray(lp)[hit],
        },
        copy=False,
    )


#: Above this many pooled pairs the pooled correlation uses one pair per patient (means)
#: instead of the permutation test (which would resample every pair thousands of times).
PERMUTATION_MAX_PAIRS = 20_000

#: How the pooled p of :func:`interval_correlation` is computed (SPEC §8).
CORRELATION_PERMUTATION = "permutation of whole patients' interval sequences"
CORRELATION_MEANS = "Spearman, one pair per patient (mean interval, mean improvement)"
CORRELATION_PER_PERIOD = "Spearman (one pair per patient)"

#: What the p-values of :func:`interval_correlation` test, in the words every face shows
#: beside them (the rates in VALIDATION.md, "The per-period statistics").
INTERVAL_P_TESTS = (
    "p tests whether improvement is unrelated to the interval length; it is not a test of "
    "the treatment. In simulated cohorts with no treatment effect the pooled p was at or "
    "below 0.05 in up to 8.5 % (not 5 %), and a relation can arise without any treatment "
    "(on a curving decline, intervals of different lengths cover different stretches)."
)


def spearman(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """scipy's Spearman rho and two-sided p of paired values (one pair per patient).

    Parameters
    ----------
    x, y : numpy.ndarray
        The paired values.

    Returns
    -------
    (float, float)
        ``scipy.stats.spearmanr``'s statistic and p-value.

    Examples
    --------
    >>> spearman(np.array([3.0, 4, 6, 5]), np.array([10.0, 20, 40, 30]))
    (1.0, 0.0)
    """
    from scipy import stats

    order = np.argsort(y)  # the pairs in the order of y (see in_rank_order)
    res = stats.spearmanr(np.asarray(x)[order], np.asarray(y)[order])
    return float(res.statistic), float(res.pvalue)


def _ranks(x: np.ndarray) -> np.ndarray:
    from scipy import stats

    return stats.rankdata(x)


def cluster_permutation_p(
    x: np.ndarray,
    y: np.ndarray,
    cluster: np.ndarray,
    n_permutations: int = 2000,
    seed: int = 0,
) -> tuple[float, float]:
    """Spearman rho and a p-value that keeps each patient's pairs together (SPEC §8).

    Under "no relation between interval and improvement", the whole sequence of interval
    lengths of one patient is exchangeable with that of another patient with as many pairs.
    Each permutation hands every patient the x-sequence of another patient of the same
    size (pairs kept in their order) and recomputes rho; p = (b + 1) / (m + 1), b the
    permutations with |rho| at least the observed one. Patients' pairs are never treated
    as independent.

    Parameters
    ----------
    x, y : numpy.ndarray
        Paired values (interval months, improvement %), grouped by patient in a stable
        order.
    cluster : numpy.ndarray
        Integer patient code of each pair.
    n_permutations : int
        Permutations (m).
    seed : int
        Random seed.

    Returns
    -------
    (float, float)
        rho (Spearman over every pair) and the two-sided permutation p.

    Examples
    --------
    Two patients with two pairs each: x = (1, 2 | 3, 4), y = (1, 2 | 3, 4), rho = 1. The
    only other arrangement swaps the patients' x-sequences, x = (3, 4 | 1, 2): centred
    ranks (0.5, 1.5, -1.5, -0.5) against (-1.5, -0.5, 0.5, 1.5) give rho = -3 / 5 = -0.6.
    Half of the permutations reach |rho| = 1, so p is near 1/2 (not the 0 of four
    independent pairs).

    >>> rho, p = cluster_permutation_p(np.array([1.0, 2, 3, 4]), np.array([1.0, 2, 3, 4]),
    ...                                np.array([0, 0, 1, 1]), 999)
    >>> round(rho, 6), 0.45 < p < 0.55
    (1.0, True)
    """
    x = np.asarray(x, float)
    y = np.asarray(y, float)
    cluster = np.asarray(cluster)
    order = np.lexsort((np.arange(len(cluster)), cluster))  # stable within patient
    x, y, cluster = x[order], y[order], cluster[order]
    rx, ry = _ranks(x), _ranks(y)
    rxc, ryc = rx - rx.mean(), ry - ry.mean()
    denom = np.sqrt((rxc**2).sum() * (ryc**2).sum())
    rho = float((rxc * ryc).sum() / denom)
    # blocks: patients' row ranges, grouped into strata of equal size
    starts = np.flatnonzero(np.r_[True, cluster[1:] != cluster[:-1]])
    sizes = np.diff(np.r_[starts, len(cluster)])
    rng = np.random.default_rng(seed)
    exceed = 0
    chunk = max(1, 2_000_000 // max(len(x), 1))
    done = 0
    while done < n_permutations:
        m = min(chunk, n_permutations - done)
        idx = np.tile(np.arange(len(x)), (m, 1))
        for size in np.unique(sizes):
            blocks = starts[sizes == size]
            if len(blocks) < 2:
                continue
            pos = blocks[:, None] + np.arange(size)  # (patients, size) row numbers
            perm = np.argsort(rng.random((m, len(blocks))), axis=1)
            idx[:, pos.reshape(-1)] = pos[perm].reshape(m, -1)
        stat = (rxc[idx] * ryc).sum(axis=1) / denom
        exceed += int(np.count_nonzero(np.abs(stat) >= abs(rho) - 1e-12))
        done += m
    return rho, (exceed + 1) / (n_permutations + 1)


def interval_correlation(
    periods: pd.DataFrame,
    intervals: pd.DataFrame,
    *,
    n_permutations: int = 2000,
    seed: int = 0,
) -> pd.DataFrame:
    """Spearman correlation of interval length with improvement (SPEC §8).

    A patient gives several pairs to the pooled (``all``) correlation, so its p comes from
    :func:`cluster_permutation_p`, which keeps each patient's pairs together (above
    :data:`PERMUTATION_MAX_PAIRS` pairs: one pair per patient, mean interval against mean
    improvement). Each single period has one pair per patient: the plain Spearman p.

    Parameters
    ----------
    periods : pandas.DataFrame
        The per-patient period table.
    intervals : pandas.DataFrame
        :func:`msc_notebooks.schedule.interval_table` (``patient_id``, ``interval``,
        ``months``).
    n_permutations : int, default 2000
        Permutations of the pooled test.
    seed : int, default 0
        Random seed of the permutations.

    Returns
    -------
    pandas.DataFrame
        ``scope`` (``all`` for every evaluable patient-period between injections, then each
        period), ``rho``, ``p`` (two-sided), ``n`` (pairs), ``n_patients``, ``method`` (how
        p was computed). rho and p are NaN where n < 3 or a variable is constant.

    Examples
    --------
    >>> per = pd.DataFrame({"patient_id": list("abcd"), "period": ["1-2"] * 4,
    ...                     "evaluable": [True] * 4, "improvement_pct": [10.0, 20.0, 40.0, 30.0]})
    >>> iv = pd.DataFrame({"patient_id": list("abcd"), "interval": ["1-2"] * 4,
    ...                    "months": [3.0, 4.0, 6.0, 5.0]})
    >>> interval_correlation(per, iv)[["scope", "rho", "n"]].values.tolist()
    [['all', 1.0, 4], ['1-2', 1.0, 4]]
    """
    ev = periods["evaluable"].to_numpy(dtype=bool, na_value=False)
    left = np.flatnonzero(ev)
    joined = _join_intervals(periods, left, intervals)
    rows = []

    def usable(x: np.ndarray, y: np.ndarray) -> bool:
        return len(x) >= 3 and np.ptp(x) > 0 and np.ptp(y) > 0

    x = joined["interval_months"].to_numpy(float)
    y = joined["improvement_pct"].to_numpy(float)
    pat = joined["patient"].to_numpy()
    patients, inv = np.unique(pat, return_inverse=True)
    n_pat = len(patients)
    rho = p = np.nan
    if len(x) > PERMUTATION_MAX_PAIRS:
        method = CORRELATION_MEANS
        cnt = np.bincount(inv)
        mx, my = np.bincount(inv, x) / cnt, np.bincount(inv, y) / cnt
        if usable(mx, my):
            rho, p = spearman(mx, my)
    else:
        method = CORRELATION_PERMUTATION + f" ({n_permutations}, seed {seed})"
        if usable(x, y):
            rho, p = cluster_permutation_p(x, y, pat, n_permutations, seed)
    rows.append(
        {"scope": "all", "rho": rho, "p": p, "n": len(x), "n_patients": n_pat, "method": method}
    )
    if len(joined):
        pcode, names = pd.factorize(joined["period"])
        for name in period_order(pd.Series(names, dtype=object)):
            sel = pcode == list(names).index(name)
            xs, ys = x[sel], y[sel]
            rho = p = np.nan
            if usable(xs, ys):
                rho, p = spearman(xs, ys)
            rows.append(
                {
                    "scope": name,
                    "rho": rho,
                    "p": p,
                    "n": len(xs),
                    "n_patients": len(pd.unique(pat[sel])),
                    "method": CORRELATION_PER_PERIOD,
                }
            )
    cols = ["scope", "rho", "p", "n", "n_patients", "method"]
    return pd.DataFrame(rows, columns=cols).astype({"n": "int64", "n_patients": "int64"})
