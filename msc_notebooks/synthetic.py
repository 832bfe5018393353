"""Synthetic untreated ALS cohorts for teaching and testing (no real patient in them).

:func:`natural_history_cohort` makes a natural-history cohort: patients followed without
any treatment, visits about monthly, in the kit's canonical tables. Its aggregate figures
resemble those of real natural history (SPEC §13: a PRO-ACT-like cohort with virtual
injections at day 90 and then every G days, 21-day window). With the defaults, 2,000
patients, seed 3 (real figures in brackets):

- G = 90 days, period 1-2: 51.9 % "> 25 % responders" (52.8 %); mean reference rate
  0.86 points/month (0.84); pooled residual SD of run-in fits 1.27 points (1.24);
  variance of the difference between the reference and period 1-2 rates 2.38
  (points/month)^2 (2.54), of which 1.21 is beyond measurement noise (1.33);
- G = 120 and 180 days, period 1-2: 53.7 % and 56.0 % (50.3 %, 50.7 %).

Where it differs from real data: the change of rate beyond noise does not shrink with
longer periods (1.3 (points/month)^2 between two 6-month periods, real 0.85), and the
whole treatment period has more "responders" (57 % at G = 90, real 47.5 %).

The model (chosen to resemble real data, *not* the kit's no-effect model)
-------------------------------------------------------------------------
- True decline rate ``b_i`` (points/month): log-normal with median ``rate_median`` and
  log-SD ``rate_log_sd``.
- The rate wanders: ``b_i(t) = b_i + X_i(t) + trend * t / 12``, where ``X_i`` is an
  Ornstein-Uhlenbeck process (stationary SD ``wander_sd`` points/month, correlation time
  ``wander_months``), so decline speeds up and slows down smoothly, at any time, not at
  injection days. ``trend`` (points/month per year, default 0) makes decline speed up
  (> 0) or slow down (< 0) on average.
- Optionally the score itself wanders (a random walk of diffusion ``score_wander``
  points^2/month; default none).
- The score is 48 minus the loss accumulated since onset, integrated on a weekly grid,
  plus measurement noise: Student's t with ``noise_df`` degrees of freedom scaled to SD
  ``noise_sd`` points, rounded to whole points and kept in 0-48 (a floor for fast
  decliners).
- Visits: day 0, then every ``visit_days`` days with up to 7 days' jitter; follow-up
  uniform in 9-18 months, shorter for patients who reach 0 points.
- Items ``q1``-``q12``: each patient loses points in an order of its own (bulbar- or
  limb-first), so the items always sum to the total and each stays in 0-4.
- Onset: ``onset_day`` (negative: before the first visit) from the score at the first
  visit and the pre-baseline rate (the true rate times a log-normal factor).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .columns import ITEMS
from .study import StudyData

__all__ = ["natural_history_cohort"]

_MONTH = 365.25 / 12


def _items(total: np.ndarray, patient: np.ndarray, bulbar: np.ndarray, rng) -> np.ndarray:
    """Items q1..q12 summing to ``total``: each patient loses item points in its own order."""
    n_pat = len(bulbar)
    # 48 point-slots per patient (each item 4 times), ordered by random keys; bulbar-onset
    # patients lose bulbar items (q1-q3) first, limb-onset patients limb items (q4-q9).
    item_of_slot = np.tile(np.repeat(np.arange(12), 4), (n_pat, 1))
    early = np.where(bulbar[:, None], item_of_slot < 3, (item_of_slot >= 3) & (item_of_slot < 9))
    key = rng.uniform(size=(n_pat, 48)) + np.where(early, 0.0, 0.6)
    order = np.take_along_axis(item_of_slot, np.argsort(key, axis=1), axis=1)
    lost = np.zeros((n_pat, 49, 12), dtype=np.int8)
    lost[:, 1:, :] = np.cumsum(order[:, :, None] == np.arange(12)[None, None, :], axis=1)
    deficit = (48 - total).astype(np.int64)
    return 4 - lost[patient, deficit, :].astype(np.int64)


def natural_history_cohort(
    n_patients: int = 500,
    *,
    seed: int = 0,
    rate_median: float = 0.62,
    rate_log_sd: float = 0.75,
    wander_sd: float = 1.35,
    wander_months: float = 2.0,
    trend: float = 0.0,
    score_wander: float = 0.0,
    noise_sd: float = 1.2,
    noise_df: float = 5.0,
    visit_days: float = 30.0,
    items: bool = True,
) -> StudyData:
    """A synthetic natural-history cohort: untreated ALS patients (no real data).

    Parameters
    ----------
    n_patients : int, default 500
        Patients.
    seed : int, default 0
        Random seed: same seed, same cohort.
    rate_median : float, default 0.62
        Median true decline rate, points/month.
    rate_log_sd : float, default 0.75
        SD of the log of the true rates (spread between patients).
    wander_sd : float, default 1.35
        Stationary SD of the rate's wandering (points/month).
    wander_months : float, default 2.0
        Correlation time of the wandering, months.
    trend : float, default 0.0
        Mean change of the decline rate per year, points/month per year (> 0: decline
        speeds up over time).
    score_wander : float, default 0.0
        Diffusion of a random walk added to the score, points^2/month (wander of the
        score itself, on top of the rate's).
    noise_sd : float, default 1.2
        Measurement noise SD before rounding, points.
    noise_df : float, default 5.0
        Degrees of freedom of the Student-t noise (heavier tails than normal); ``inf``
        for normal noise.
    visit_days : float, default 30.0
        Days between visits.
    items : bool, default True
        Also write the 12 items ``q1``-``q12``.

    Returns
    -------
    StudyData
        Read through :func:`msc_notebooks.read_study` (``time_kind='day'``): visits
        (``patient_id``, ``day``, ``alsfrs_r_total``, items), no injections, patients
        (``patient_id``, ``onset_day``, ``site_of_onset``). Give it virtual injections with
        :func:`msc_notebooks.natural_history.virtual_injections`.

    Examples
    --------
    >>> study = natural_history_cohort(20, seed=1)
    >>> study.visits.patient_id.nunique(), study.injections.empty, study.time_kind
    (20, True, 'day')
    >>> bool(study.visits.alsfrs_r_total.between(0, 48).all())
    True
    >>> bool((study.visits[list(ITEMS)].sum(axis=1) == study.visits.alsfrs_r_total).all())
    True
    """
    from .loading import read_study

    rng = np.random.default_rng(seed)
    n = int(n_patients)
    rate = rate_median * np.exp(rng.normal(0.0, rate_log_sd, n))
    follow = rng.uniform(9.0, 18.0, n) * _MONTH
    n_vis = np.floor(follow / visit_days).astype(np.int64) + 1
    patient = np.repeat(np.arange(n), n_vis)
    k = np.arange(n_vis.sum()) - np.repeat(np.cumsum(n_vis) - n_vis, n_vis)
    jitter = np.where(k > 0, rng.integers(-7, 8, len(k)), 0)
    day = (k * visit_days + jitter).astype(float)

    # the rate on a weekly grid: Ornstein-Uhlenbeck wander around the patient's rate
    step = 7.0
    n_grid = int(np.ceil(day.max() / step)) + 2
    dt = step / _MONTH
    phi = np.exp(-dt / wander_months)
    x = np.empty((n, n_grid))
    x[:, 0] = rng.normal(0.0, wander_sd, n)
    shocks = rng.normal(0.0, wander_sd * np.sqrt(1.0 - phi**2), (n, n_grid - 1))
    for j in range(1, n_grid):  # over weeks (about 80), vectorised over patients
        x[:, j] = phi * x[:, j - 1] + shocks[:, j - 1]
    grid_months = np.arange(n_grid) * dt
    r = rate[:, None] + x + trend * grid_months[None, :] / 12.0
    step_loss = r[:, :-1] * dt + rng.normal(0.0, np.sqrt(score_wander * dt), (n, n_grid - 1))
    loss = np.concatenate([np.zeros((n, 1)), np.cumsum(step_loss, axis=1)], axis=1)
    pos = day / step
    lo = np.floor(pos).astype(np.int64)
    frac = pos - lo
    lost = loss[patient, lo] * (1 - frac) + loss[patient, lo + 1] * frac

    start = rng.uniform(26.0, 46.0, n)
    noise = (
        rng.standard_t(noise_df, len(day)) if np.isfinite(noise_df) else rng.normal(size=len(day))
    )
    if np.isfinite(noise_df) and noise_df > 2:
        noise = noise / np.sqrt(noise_df / (noise_df - 2.0))
    true = start[patient] - lost
    score = np.clip(np.floor(true + noise_sd * noise + 0.5), 0.0, 48.0)
    # patients stop coming some months after reaching 0
    keep = true > -6.0
    onset_rate = rate * np.exp(rng.normal(0.0, 0.3, n))
    onset_day = -np.round(np.clip((48.0 - start) / onset_rate, 3.0, 72.0) * _MONTH)
    bulbar = rng.uniform(size=n) < 0.3
    ids = np.array([f"NH{p:05d}" for p in range(n)], dtype=object)
    visits = pd.DataFrame({"patient_id": ids[patient], "day": day, "alsfrs_r_total": score})[
        keep
    ].reset_index(drop=True)
    if items:
        it = _items(visits["alsfrs_r_total"].to_numpy(), patient[keep], bulbar, rng)
        for c, name in enumerate(ITEMS):
            visits[name] = it[:, c]
    patients = pd.DataFrame(
        {
            "patient_id": ids,
            "onset_day": onset_day,
            "site_of_onset": np.where(bulbar, "bulbar", "limb"),
        }
    )
    return read_study(visits, None, patients)
