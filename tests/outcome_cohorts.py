"""Synthetic no-effect cohorts per outcome type (issue #21): a continuous score like FVC %
predicted and a 0-12 whole-point ALSFRS-R domain. No real patient.

Used by ``tests/test_outcomes_no_effect.py`` and ``calibration/outcomes_coverage.py``
(never by the library).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from msc_notebooks import read_study
from msc_notebooks.study import StudyData

MONTH = 365.25 / 12  # days (SPEC §2)

#: outcome type -> (column, start score, mean and SD of the true rate per month, noise SD,
#: whole points, range, SD of the change of rate between 3-month segments). Rates and
#: noise of the order seen in ALS cohorts (a domain declines about a quarter as fast as
#: the 0-48 total).
KINDS = {
    "continuous": ("fvc_pct", 85.0, 1.5, 0.6, 3.0, False, (0.0, np.inf), 0.8),
    "domain_0_12": ("gross_motor", 10.0, 0.3, 0.12, 0.45, True, (0.0, 12.0), 0.15),
}

#: Injection months (a 4-month run-in, then every 3 months); visits monthly, months 0-16.
INJECTION_MONTHS = (4, 7, 10, 13)


def no_effect_cohort(
    kind: str,
    seed: int,
    n: int = 40,
    *,
    rate_change: bool = False,
    sigmoid_months: float = 0.0,
    effect: float = 0.0,
    noise_sd: float | None = None,
) -> StudyData:
    """A cohort with no treatment effect (unless ``effect``), read through ``read_study``.

    Monthly visits at months 0-16 (whole days), injections at months 4, 7, 10, 13. Each
    patient declines at a true rate drawn once (``rate_change=False``: one constant rate,
    the kit's model for an outcome without natural history) or changing at random every
    3 months from month 4 (``rate_change=True``: the model is wrong), plus normal noise;
    domain scores rounded to whole points and kept in 0-12. ``alsfrs_r_total`` is a
    required column, filled with a plain decline; it is not analysed here.

    ``sigmoid_months`` > 0: a smooth non-linear decline instead of a constant rate: the
    monthly rate follows a logistic bell of that scale (months) around a midpoint drawn
    uniformly over months 0-16, scaled to mean the patient's rate (slow, fast, slow).
    ``effect``: a known treatment effect for power, the rate from the first injection
    (month 4) on multiplied by ``1 - effect``. ``noise_sd``: the visit-to-visit noise SD
    instead of the kind's (e.g. 0.2 points: below the rounding SD 1/sqrt(12) of whole
    points, where the kit floors sigma).
    """
    col, start, mu, tau, sigma, whole, (low, high), change_sd = KINDS[kind]
    if noise_sd is not None:
        sigma = float(noise_sd)
    rng = np.random.default_rng(seed)
    months = np.arange(0, 17)
    rows = []
    for i in range(n):
        rate = np.full(len(months), max(rng.normal(mu, tau), 0.0))
        if rate_change:
            segment = np.maximum((months - 4) // 3 + 1, 0)  # 0 = run-in
            rate = rate + rng.normal(0.0, change_sd, segment.max() + 1)[segment]
        if sigmoid_months > 0:
            bell = 1.0 / np.cosh((months - rng.uniform(0, months[-1])) / sigmoid_months / 2) ** 2
            rate = rate * bell / bell.mean()
        if effect:
            rate = np.where(months >= INJECTION_MONTHS[0], rate * (1.0 - effect), rate)
        steps = np.concatenate([[0.0], rate[:-1]])  # decline during each past month
        y = start - np.cumsum(steps) + rng.normal(0.0, sigma, len(months))
        if whole:
            y = np.floor(y + 0.5)
        rows.append(
            pd.DataFrame(
                {
                    "patient_id": f"p{i:02d}",
                    "day": np.round(months * MONTH),
                    "alsfrs_r_total": 40.0 - months // 2,
                    col: np.clip(y, low, high),
                }
            )
        )
    injections = pd.DataFrame(
        {
            "patient_id": np.repeat([f"p{i:02d}" for i in range(n)], len(INJECTION_MONTHS)),
            "day": np.tile(np.round(np.array(INJECTION_MONTHS) * MONTH), n),
        }
    )
    return read_study(pd.concat(rows, ignore_index=True), injections)
