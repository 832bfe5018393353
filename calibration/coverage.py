"""Coverage and false-positive rates of a no-effect expectation over replicate cohorts.

One rule for every calibration of the SPEC §13 expectation (``calibrate_null.py`` for the
ALSFRS-R total, ``outcomes_coverage.py`` per outcome type): a cohort's observed responder
count is *covered* when it lies inside the simulated 2.5-97.5 % range, and a *false
positive* when the no-effect p is at most 0.05; the same for the constant-rate
sensitivity line.
"""

from __future__ import annotations

import pandas as pd

#: The per-cohort flags :func:`coverage_flags` gives and :func:`coverage_rates` averages.
FLAGS = ("inside", "p05", "inside_constant", "p05_constant")


def coverage_flags(
    observed: int,
    low: int,
    high: int,
    p: float,
    low_constant: int,
    high_constant: int,
    p_constant: float,
) -> dict[str, bool]:
    """One cohort and period: observed count inside each model's range, p <= 0.05.

    >>> coverage_flags(8, 3, 9, 0.2, 2, 7, 0.04)
    {'inside': True, 'p05': False, 'inside_constant': False, 'p05_constant': True}
    """
    return {
        "inside": bool(low <= observed <= high),
        "p05": bool(p <= 0.05),
        "inside_constant": bool(low_constant <= observed <= high_constant),
        "p05_constant": bool(p_constant <= 0.05),
    }


def coverage_rates(raw: pd.DataFrame, by: list[str], **extra: tuple[str, str]) -> pd.DataFrame:
    """Per group of ``by``: cohorts, mean evaluable and observed responders, and the
    percentages of cohorts covered and with p <= 0.05 under each model.

    ``raw`` has one row per cohort and period with ``n_evaluable``, ``observed`` and the
    :data:`FLAGS`; ``extra`` adds named aggregations (pandas ``agg`` syntax).

    Returns columns ``by``, ``cohorts``, ``mean_evaluable``, the ``extra`` ones,
    ``mean_observed``, ``coverage_pct``, ``p05_pct``, ``coverage_constant_pct``,
    ``p05_constant_pct`` (percent of cohorts).

    >>> raw = pd.DataFrame({"period": ["1-2"] * 4, "n_evaluable": [10, 12, 11, 11],
    ...     "observed": [4, 5, 6, 9], "inside": [True, True, True, False],
    ...     "p05": [False, False, False, True], "inside_constant": [True] * 4,
    ...     "p05_constant": [False] * 4})
    >>> coverage_rates(raw, ["period"]).iloc[0].tolist()
    ['1-2', 4, 11.0, 6.0, 75.0, 25.0, 100.0, 0.0]
    """
    out = (
        raw.groupby(by, sort=False)
        .agg(
            cohorts=("inside", "size"),
            mean_evaluable=("n_evaluable", "mean"),
            **extra,
            mean_observed=("observed", "mean"),
            coverage_pct=("inside", "mean"),
            p05_pct=("p05", "mean"),
            coverage_constant_pct=("inside_constant", "mean"),
            p05_constant_pct=("p05_constant", "mean"),
        )
        .reset_index()
    )
    pct = ["coverage_pct", "p05_pct", "coverage_constant_pct", "p05_constant_pct"]
    out[pct] = 100 * out[pct].astype(float)
    return out
