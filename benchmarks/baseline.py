"""A straightforward per-patient implementation of SPEC.md: the reference for the benchmarks.

This is the code an analyst would write first: a loop over patients, plain pandas and
Python, independent of the engine's code (nothing is imported from ``msc_notebooks``). It
covers the default settings (run-in reference, endpoints rates) of SPEC §3–7: the score at
each injection (nearest assessment within 14 days, ties to the one before), the run-in rate,
the period rates, improvement %, relative (> 25 %) and absolute (>= 1.25 points/month)
responders, and the per-period counts, means, medians and Wilcoxon test. It does not
compute the bootstrap CI, clinical improvement or the interval correlation (the engine does:
the speed ratio is therefore conservative).

Examples
--------
>>> import pandas as pd
>>> v = pd.DataFrame({"patient_id": ["a"] * 4, "day": [-90, 0, 120, 240],
...                   "alsfrs_r_total": [40, 37, 36, 36]})
>>> i = pd.DataFrame({"patient_id": ["a", "a"], "day": [0, 120]})
>>> periods, summary = baseline_analysis(v, i)
>>> round(periods.loc[periods.period == "1-2", "improvement_pct"].item(), 4)   # 100*(1.0146-0.2536)/1.0146
75.0
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["baseline_analysis"]

MONTH_DAYS = 365.25 / 12
WINDOW = 14.0
MIN_SPAN = 28.0
THRESHOLD = 25.0
ABSOLUTE = 1.25


def _to_days(df: pd.DataFrame) -> pd.Series:
    if "day" in df.columns:
        return df["day"].astype(float)
    dates = pd.to_datetime(df["date"])
    return (dates - pd.Timestamp("1970-01-01")).dt.days.astype(float)


def _score_at(days: np.ndarray, scores: np.ndarray, t: float):
    """Index of the assessment nearest to t within the window (ties: before), or None."""
    best = None
    best_dist = None
    for j in range(len(days)):
        d = abs(days[j] - t)
        if d > WINDOW:
            continue
        # days are sorted: an equal distance found later is after t, so keep the earlier
        if best is None or d < best_dist:
            best, best_dist = j, d
    return best


def _rate(days, scores, a, b):
    months = (days[b] - days[a]) / MONTH_DAYS
    rate = (scores[a] - scores[b]) / months
    return 0.0 if abs(rate) < 1e-9 else rate


def baseline_analysis(
    visits: pd.DataFrame,
    injections: pd.DataFrame,
    outcome: str = "alsfrs_r_total",
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Periods, improvement and responders patient by patient (SPEC §3–7, defaults).

    Parameters
    ----------
    visits, injections : pandas.DataFrame
        ``patient_id``, ``date`` (calendar) or ``day`` (days), and for visits the outcome.
    outcome : str
        The visits column analysed.

    Returns
    -------
    periods : pandas.DataFrame
        ``patient_id``, ``period``, ``rate``, ``reference_rate`` (points/month),
        ``improvement_pct`` (%), ``responder``, ``absolute_responder``, ``evaluable``.
        One row per treated patient and period (reference row excluded).
    summary : pandas.DataFrame
        Per period: ``period``, ``n_evaluable``, ``n_responders``, ``responder_pct``,
        ``mean_improvement_pct``, ``median_improvement_pct``,
        ``mean_improvement_responders_pct``, ``wilcoxon_statistic``, ``wilcoxon_p``,
        ``n_absolute_responders``.
    """
    from scipy import stats

    v = visits[["patient_id"]].copy()
    v["day"] = _to_days(visits)
    v["score"] = pd.to_numeric(visits[outcome], errors="coerce").astype(float)
    v = v.dropna(subset=["score"])
    # two assessments on one day: their mean is the assessment (SPEC §12)
    v = v.groupby(["patient_id", "day"], as_index=False)["score"].mean()
    inj = injections[["patient_id"]].copy()
    inj["day"] = _to_days(injections)
    inj_by_patient = {pid: g["day"].sort_values().unique() for pid, g in inj.groupby("patient_id")}

    rows = []
    for pid, g in v.groupby("patient_id"):
        if pid not in inj_by_patient:
            continue
        g = g.sort_values("day")
        days = g["day"].to_numpy()
        scores = g["score"].to_numpy()
        t = inj_by_patient[pid]
        at = [_score_at(days, scores, x) for x in t]

        # reference: first assessment to the score at T1, at least 28 days apart (SPEC §4)
        ref = np.nan
        if at[0] is not None and days[at[0]] - days[0] >= MIN_SPAN:
            ref = _rate(days, scores, 0, at[0])

        periods = []
        for k in range(len(t) - 1):
            periods.append((f"{k + 1}-{k + 2}", at[k], at[k + 1]))
        periods.append(("after-last", at[-1], len(days) - 1))
        if len(t) >= 2:
            periods.append(("whole", at[0], at[-1]))
        else:
            periods.append(("whole", None, None))
        for name, a, b in periods:
            rate = np.nan
            if a is not None and b is not None and b > a and days[b] - days[a] >= MIN_SPAN:
                rate = _rate(days, scores, a, b)
            evaluable = not np.isnan(rate) and not np.isnan(ref) and ref > 1e-9
            imp = 100.0 * (ref - rate) / ref if evaluable else np.nan
            rows.append(
                {
                    "patient_id": pid,
                    "period": name,
                    "rate": rate,
                    "reference_rate": ref,
                    "improvement_pct": imp,
                    "responder": bool(evaluable and imp > THRESHOLD),
                    "absolute_responder": bool(evaluable and ref - rate >= ABSOLUTE - 1e-9),
                    "evaluable": evaluable,
                }
            )
    periods = pd.DataFrame(rows)

    summary = []
    names = sorted(
        periods["period"].unique(),
        key=lambda p: (
            (1, 0) if p == "after-last" else (2, 0) if p == "whole" else (0, int(p.split("-")[0]))
        ),
    )
    for name in names:
        ev = periods[(periods["period"] == name) & periods["evaluable"]]
        n = len(ev)
        resp = ev[ev["responder"]]
        stat, p = np.nan, np.nan
        if np.count_nonzero(ev["reference_rate"] - ev["rate"]) >= 2:
            res = stats.wilcoxon(ev["reference_rate"], ev["rate"])
            stat, p = float(res.statistic), float(res.pvalue)
        summary.append(
            {
                "period": name,
                "n_evaluable": n,
                "n_responders": len(resp),
                "responder_pct": 100.0 * len(resp) / n if n else np.nan,
                "mean_improvement_pct": ev["improvement_pct"].mean(),
                "median_improvement_pct": ev["improvement_pct"].median(),
                "mean_improvement_responders_pct": resp["improvement_pct"].mean(),
                "wilcoxon_statistic": stat,
                "wilcoxon_p": p,
                "n_absolute_responders": int(ev["absolute_responder"].sum()),
            }
        )
    return periods, pd.DataFrame(summary)
