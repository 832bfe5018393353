"""Small synthetic cohorts for the matched-controls tests and calibration (no real patient).

A generator written for these tests, independent of the kit's no-effect model and of
``msc_notebooks.synthetic``: each patient's true decline rate is log-normal (median 0.7
points/month, log-SD 0.6) and wanders from month to month (an AR(1) of SD 0.5
points/month, correlation 0.6 per month); scores carry normal noise of SD 1.2 points, are
rounded and kept in 0-48; visits about monthly (up to 5 days' jitter) for 10-18 months;
onset 6-30 months before the first visit.

``treated_cohort`` draws "treated" patients from the same process and gives them
injections at days ``first, first + gaps...`` (each moved to the nearest visit); with
``effect`` the true decline rate is multiplied by ``effect`` from the first injection on.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from msc_notebooks import read_study
from msc_notebooks.matched_controls import control_periods

MONTH = 365.25 / 12


def _patients(n: int, rng, prefix: str):
    rows = []
    for i in range(n):
        pid = f"{prefix}{i:04d}"
        base = 0.7 * np.exp(rng.normal(0, 0.6))
        onset_months = rng.uniform(6, 30)
        start = 48 - base * onset_months * np.exp(rng.normal(0, 0.2))
        n_vis = int(rng.integers(11, 19))
        days = np.round(np.arange(n_vis) * 30 + np.r_[0, rng.uniform(-5, 5, n_vis - 1)])
        wander = np.zeros(n_vis)
        for j in range(1, n_vis):
            wander[j] = 0.6 * wander[j - 1] + rng.normal(0, 0.5 * np.sqrt(1 - 0.36))
        rows.append((pid, base, max(start, 12.0), days, wander, -onset_months * MONTH))
    return rows


def _scores(start, base, days, wander, rng, effect_from=None, effect=1.0):
    rate = np.maximum(base + wander, 0.0)  # points/month in each month
    score = np.empty(len(days))
    true = start
    score[0] = true
    for j in range(1, len(days)):
        r = rate[j]
        if effect_from is not None and days[j] > effect_from:
            r = r * effect
        true = true - r * (days[j] - days[j - 1]) / MONTH
        score[j] = true
    noisy = np.round(score + rng.normal(0, 1.2, len(days)))
    return np.clip(noisy, 0, 48)


def natural_history_tables(n: int, seed: int, prefix: str = "N") -> dict[str, pd.DataFrame]:
    """Canonical visits and patients of an untreated cohort."""
    rng = np.random.default_rng(seed)
    vis, pats = [], []
    for pid, base, start, days, wander, onset in _patients(n, rng, prefix):
        sc = _scores(start, base, days, wander, rng)
        vis.append(pd.DataFrame({"patient_id": pid, "day": days, "alsfrs_r_total": sc}))
        pats.append((pid, onset))
    return {
        "visits": pd.concat(vis, ignore_index=True),
        "patients": pd.DataFrame(pats, columns=["patient_id", "onset_day"]),
    }


def natural_history_study(n: int, seed: int, prefix: str = "N"):
    t = natural_history_tables(n, seed, prefix)
    return read_study(t["visits"], None, t["patients"])


def treated_cohort(
    n: int,
    seed: int,
    *,
    effect: float = 1.0,
    first: float = 120,
    gaps: tuple[float, ...] = (90, 90, 120),
):
    """A "treated" study from the same process (effect 1 = no effect)."""
    rng = np.random.default_rng(seed)
    vis, inj, pats = [], [], []
    for pid, base, start, days, wander, onset in _patients(n, rng, "T"):
        wanted = np.cumsum([first, *gaps])
        at = [days[np.argmin(np.abs(days - w))] for w in wanted if w <= days[-1]]
        at = sorted(set(at))
        sc = _scores(start, base, days, wander, rng, effect_from=at[0], effect=effect)
        vis.append(pd.DataFrame({"patient_id": pid, "day": days, "alsfrs_r_total": sc}))
        inj.append(pd.DataFrame({"patient_id": pid, "day": at}))
        pats.append((pid, onset))
    return read_study(
        pd.concat(vis, ignore_index=True),
        pd.concat(inj, ignore_index=True),
        pd.DataFrame(pats, columns=["patient_id", "onset_day"]),
    )


# --- SPEC §15 by hand, for the faces' tests (Wizard panel, study notebook) --------------------

MATCH_VARIABLES = ["reference_rate", "score", "months_from_onset"]


def write_proact(study, folder) -> None:
    """An untreated cohort written as PRO-ACT files (alsfrs.csv, AlsHistory.csv) in a new
    ``folder``: whole days, whole scores, onset days."""
    folder.mkdir(parents=True)
    v, p = study.visits, study.patients
    pd.DataFrame(
        {
            "subject_id": v.patient_id,
            "ALSFRS_Delta": v.day.astype(int),
            "ALSFRS_R_Total": v.alsfrs_r_total.astype(int),
        }
    ).to_csv(folder / "alsfrs.csv", index=False)
    pd.DataFrame({"subject_id": p.patient_id, "Onset_Delta": p.onset_day.astype(int)}).to_csv(
        folder / "AlsHistory.csv", index=False
    )


def match_by_hand(base: pd.DataFrame, anchors: pd.DataFrame, k: int, caliper: float):
    """SPEC §15 matching written out: each variable divided by its SD over the anchors
    (ddof 1); Euclidean distance over the variables the treated patient has (onset only
    where known, anchors without it then out); per untreated patient its nearest anchor
    (ties: earlier day); the k nearest patients within the caliper (ties: id order)."""
    sd = anchors[MATCH_VARIABLES].std(ddof=1)
    rows, unmatched = [], []
    for t in base.itertuples():
        use = [v for v in MATCH_VARIABLES if np.isfinite(getattr(t, v))]
        a = anchors.dropna(subset=use).copy()
        a["d"] = np.sqrt(sum(((a[v] - getattr(t, v)) / sd[v]) ** 2 for v in use))
        a = a[a["d"] <= caliper]
        a = a.sort_values(["d", "anchor_day"]).groupby("patient_id", sort=False).head(1)
        a = a.sort_values(["d", "patient_id"]).head(k)
        if not len(a):
            unmatched.append(t.patient_id)
        rows += [(t.patient_id, c, day) for c, day in zip(a.patient_id, a.anchor_day, strict=True)]
    pairs = pd.DataFrame(rows, columns=["treated_id", "control_id", "anchor_day"])
    return pairs, unmatched


def pooled_by_hand(result, nh, pairs: pd.DataFrame) -> dict[str, dict[str, float]]:
    """Per period (SPEC §15): responders / evaluable among the matched treated patients and
    among their controls (pooled), the difference in percentage points, the medians."""
    controls = control_periods(result, nh, pairs)  # SPEC §3-6 at the virtual injections
    treated = result.periods[result.periods.patient_id.isin(pairs.treated_id)]
    out = {}
    for period, t in treated.groupby("period"):
        if period == "reference":
            continue
        t = t[t.evaluable.astype(bool)]
        c = controls[(controls.period == period) & controls.evaluable.astype(bool)]
        tr, cr = 100 * t.responder.astype(bool).mean(), 100 * c.responder.astype(bool).mean()
        out[period] = {
            "n_treated": len(t),
            "n_matched": len(c),
            "treated_responder_pct": tr,
            "control_responder_pct": cr,
            "difference_pct": tr - cr,
            "treated_median_improvement_pct": t.improvement_pct.median(),
            "control_median_improvement_pct": c.improvement_pct.median(),
        }
    return out
