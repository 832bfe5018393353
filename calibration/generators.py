"""Cohorts with NO treatment effect (or a known one) for calibrating the no-effect model.

Every cohort has a trial-like design: monthly visits with up to 4 days' jitter (none at
day 0 and on injection days), a run-in of 3-6 months, 2-4 injections 3-6 months apart,
follow-up 3-6 months after the last. What differs between scenarios is how the scores
move (see :data:`SCENARIOS` in ``calibrate_null.py``):

- ``rate_sd_between``: each patient's rate, normal (clipped at 0.05 points/month);
- ``model_change``: the kit's own model (segments between first visit, injections, last
  visit; the rate in a segment of m months is ``b + e``, ``e ~ N(0, a/2 + c/m)``);
- ``jumps``: rate changes at random times (not at injections): a random walk of the rate
  with a jump every ``jump_months`` on average, jump SD ``jump_sd``;
- ``trend``: the mean rate changes by ``trend`` points/month per year from the first
  injection on (decline speeding up > 0 or slowing down < 0);
- ``noise``: ``"normal"`` or ``"t3"`` (Student t with 3 df, scaled to SD ``sigma``);
  ``sigma_spread``: each patient's sigma uniform in ``sigma * [1 - spread, 1 + spread]``;
- ``sigmoid_months``: a smooth non-linear (sigmoid) decline: each patient's rate follows
  the bell of a logistic curve of scale ``sigmoid_months`` around a midpoint drawn
  uniformly over the patient's follow-up, scaled so its mean over the follow-up is the
  patient's rate (slow, then fast, then slow again; no jumps, no treatment effect);
- ``start``: range of the start scores (low starts and fast rates give floor effects);
- ``effect``: the rate after the first injection is ``(1 - effect)`` times the rate
  (0.5 = a true 50 % slower decline), for power.

Scores are the accumulated decline on a daily grid plus noise, rounded to whole points,
kept in 0-48.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from msc_notebooks import read_study
from msc_notebooks.study import StudyData

MONTH = 365.25 / 12


def trial_cohort(
    n_patients: int = 25,
    *,
    seed: int = 0,
    rate_mean: float = 0.9,
    rate_sd: float = 0.5,
    sigma: float = 1.2,
    noise: str = "normal",
    sigma_spread: float = 0.0,
    model_change: tuple[float, float] = (0.0, 0.0),
    jump_sd: float = 0.0,
    jump_months: float = 3.0,
    trend: float = 0.0,
    sigmoid_months: float = 0.0,
    start: tuple[float, float] = (30.0, 44.0),
    effect: float = 0.0,
) -> StudyData:
    """One trial-like cohort (module docstring), read through ``read_study``.

    Examples
    --------
    >>> study = trial_cohort(5, seed=1)
    >>> study.injections.patient_id.nunique(), study.time_kind
    (5, 'day')
    """
    rng = np.random.default_rng(seed)
    n = int(n_patients)
    runin = rng.integers(3, 7, n)
    n_inj = rng.integers(2, 5, n)
    gaps = rng.integers(3, 7, (n, 3))
    after = rng.integers(3, 7, n)
    rate = np.maximum(rng.normal(rate_mean, rate_sd, n), 0.05)
    start0 = rng.uniform(start[0], start[1], n)
    sig = sigma * rng.uniform(1 - sigma_spread, 1 + sigma_spread, n)
    visits, injections = [], []
    for p in range(n):  # builds the input tables; 25 patients per cohort
        inj_month = runin[p] + np.concatenate([[0], np.cumsum(gaps[p, : n_inj[p] - 1])])
        months = np.arange(inj_month[-1] + after[p] + 1)
        jitter = rng.integers(-4, 5, len(months))
        jitter[np.isin(months, inj_month) | (months == 0)] = 0
        day = (np.round(months * MONTH) + jitter).astype(int)
        inj_day = np.round(inj_month * MONTH).astype(int)
        grid = np.arange(day.max() + 1)
        r = np.full(len(grid), rate[p])
        t1 = inj_day[0]
        if model_change != (0.0, 0.0):
            a, c = model_change
            bounds = np.unique(np.concatenate([[0], inj_day, [day.max()]]))
            for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
                m = (hi - lo) / MONTH
                r[lo:hi] += rng.normal(0.0, np.sqrt(a / 2 + c / m))
        if jump_sd > 0:
            jumps = rng.uniform(size=len(grid)) < 1.0 / (jump_months * MONTH)
            r += np.cumsum(np.where(jumps, rng.normal(0.0, jump_sd, len(grid)), 0.0))
        if trend:
            r += trend * (grid - t1) / MONTH / 12.0
        if sigmoid_months > 0:
            z = (grid / MONTH - rng.uniform(0, grid[-1] / MONTH)) / sigmoid_months
            bell = 1.0 / np.cosh(z / 2) ** 2  # logistic density shape, peak 1 at z = 0
            r *= bell / bell.mean()
        if effect:
            r[t1:] *= 1.0 - effect
        loss = np.concatenate([[0.0], np.cumsum(r[:-1])]) / MONTH
        if noise == "t3":
            e = rng.standard_t(3, len(day)) / np.sqrt(3.0)
        else:
            e = rng.normal(0.0, 1.0, len(day))
        score = np.clip(np.floor(start0[p] - loss[day] + sig[p] * e + 0.5), 0, 48)
        pid = f"S{p:03d}"
        visits.append(pd.DataFrame({"patient_id": pid, "day": day, "alsfrs_r_total": score}))
        injections.append(pd.DataFrame({"patient_id": pid, "day": inj_day}))
    return read_study(
        pd.concat(visits, ignore_index=True), pd.concat(injections, ignore_index=True)
    )
