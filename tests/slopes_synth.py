"""Synthetic cohorts drawn from the broken-stick mixed model of SPEC §14, with known truth.

Used by ``tests/test_slopes.py`` and ``calibration/slopes_coverage.py`` (never by the library).

Each patient: a run-in of 3-5 assessments about a month apart before the first injection,
1-4 injections 3-6 months apart, assessments about monthly (±5 days) until 2-5 months after
the last injection. The outcome follows SPEC §14 exactly:

    y = b0 + b1 * t + b2 * post_1 + sum_k beta_k * post_k + noise

with t in months from the first injection and post_k = max(0, t - tau_k) (0 when the patient
has no k-th injection). Patient intercept, slope and change at injection 1 are normal around
the fixed values (so their means are the truth); noise is normal (SD ``sigma``). The
exact model outcome is the visits column ``score``; ``alsfrs_r_total`` is it rounded and
kept within 0-48, as a real scale is (no longer exactly the model).

Truth is given as declines (points/month, positive = losing function), the way the kit
reports them: ``slope:reference`` = -(score slope before T1), ``change:k`` = -(change of the
score slope at injection k).

Examples
--------
>>> c = slope_cohort(5, seed=1)
>>> sorted(c), c["visits"].patient_id.nunique()
(['injections', 'truth', 'visits'], 5)
>>> c["truth"]["slope:reference"], c["truth"]["change:1"]
(1.0, -0.5)
"""

from __future__ import annotations

import numpy as np
import pandas as pd

MONTH_DAYS = 365.25 / 12

#: Default truth (declines, points/month): 1.0 before, 0.5 after injection 1, 0.6 after 2.
TRUTH = {"slope:reference": 1.0, "change:1": -0.5, "change:2": 0.1, "change:3": 0.0}


def slope_cohort(
    n: int,
    seed: int = 0,
    *,
    truth: dict[str, float] | None = None,
    intercept: float = 38.0,
    sd_intercept: float = 4.0,
    sd_slope: float = 0.4,
    sd_change: float = 0.3,
    sd_later: float = 0.0,
    sigma: float = 1.0,
    max_injections: int = 4,
) -> dict:
    """Draw one cohort; returns ``visits``, ``injections`` (canonical names, ``day``) and ``truth``.

    ``visits.score`` is the model's outcome exactly (unrounded, unbounded);
    ``visits.alsfrs_r_total`` is the same rounded to whole points and kept within 0-48 (a
    real scale's constraints: not the model).

    ``sd_later`` > 0 makes the changes at injections 2, 3, … vary between patients too
    (the model has no random term for them). ``truth`` maps ``slope:reference`` and ``change:1`` … ``change:3`` (declines,
    points/month) to their true values; ``slope:1-2`` etc. follow as sums.
    """
    t = dict(TRUTH if truth is None else truth)
    rng = np.random.default_rng(seed)
    ids, vis_pid, vis_day, vis_y, inj_pid, inj_day, inj_num = [], [], [], [], [], [], []
    for i in range(n):
        pid = f"P{i + 1:04d}"
        ids.append(pid)
        k = int(rng.integers(1, max_injections + 1))
        gaps = rng.integers(91, 183, size=k - 1)
        taus = np.concatenate([[0], np.cumsum(gaps)]).astype(float)  # days from T1
        n_run = int(rng.integers(3, 6))
        end = taus[-1] + rng.integers(60, 152)
        grid = np.arange(-n_run * 30.0, end + 1, 30.0)
        days = np.unique(np.round(grid + rng.uniform(-5, 5, size=grid.size)))
        months = days / MONTH_DAYS
        b0 = intercept + rng.normal(0, sd_intercept)
        b1 = -t["slope:reference"] + rng.normal(0, sd_slope)
        y = b0 + b1 * months
        for j, tau in enumerate(taus, start=1):
            beta = -t.get(f"change:{j}", 0.0)
            if j == 1:
                beta += rng.normal(0, sd_change)
            elif sd_later:  # changes at later injections that vary between patients
                beta += rng.normal(0, sd_later)
            y = y + beta * np.maximum(0.0, months - tau / MONTH_DAYS)
        y = y + rng.normal(0, sigma, size=y.size)
        vis_pid += [pid] * days.size
        vis_day += days.tolist()
        vis_y += y.tolist()
        inj_pid += [pid] * k
        inj_day += taus.tolist()
        inj_num += list(range(1, k + 1))
    y = np.asarray(vis_y)
    visits = pd.DataFrame(
        {
            "patient_id": vis_pid,
            "day": vis_day,
            "alsfrs_r_total": np.clip(np.round(y), 0, 48),
            "score": y,
        }
    )
    injections = pd.DataFrame({"patient_id": inj_pid, "day": inj_day, "injection_number": inj_num})
    return {"visits": visits, "injections": injections, "truth": t}


def true_terms(truth: dict[str, float], n_injections: int = 4) -> dict[str, float]:
    """Every reported term's true value (declines, points/month) from ``truth``.

    Examples
    --------
    >>> true_terms(TRUTH)["slope:2-3"]
    0.6
    """
    out = {"slope:reference": truth["slope:reference"]}
    slope = truth["slope:reference"]
    names = [f"{k}-{k + 1}" for k in range(1, n_injections)] + [f"after-{n_injections}"]
    for k, name in enumerate(names, start=1):
        change = truth.get(f"change:{k}", 0.0)
        slope = round(slope + change, 12)
        out[f"slope:{name}"] = slope
        out[f"change:{k}"] = change
    return out
