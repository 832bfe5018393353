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
