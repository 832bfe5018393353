"""An outcome over time, aligned on each patient's first injection: per-visit and per month.

Time is months from the patient's first injection (SPEC §2: days / ``month_days``), so
injection 1 is at 0 for every patient. The cohort tables bin the visits by month; a patient
with several visits in one bin counts once (their mean), so a patient seen often weighs no
more than one seen once. The charts (``charts.trajectories``, ``charts.cohort_mean``) draw
these tables; they compute no statistic themselves.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .errors import InputError, require_columns
from .settings import MONTH_DAYS

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["aligned_visits", "aligned_injections", "cohort_mean_table", "outcome_quantiles"]

#: Quantiles of :func:`outcome_quantiles` (columns ``q10`` ... ``q90``).
QUANTILES: tuple[float, ...] = (0.10, 0.25, 0.50, 0.75, 0.90)


def _first_day(study: Any) -> pd.Series:
    require_columns(study.injections, ("patient_id", "day"), "injections")
    return study.injections.groupby("patient_id", sort=False)["day"].min().rename("first_day")


def _date_text(dates: pd.Series) -> pd.Series:
    """Calendar dates as 'YYYY-MM-DD' text (never shifted by a time zone); '' where missing."""
    import pandas as pd

    return pd.to_datetime(dates, errors="coerce").dt.strftime("%Y-%m-%d").fillna("")


def aligned_visits(
    study: Any, outcome: str = "alsfrs_r_total", month_days: float = MONTH_DAYS
) -> pd.DataFrame:
    """Every assessment of an outcome with its time from the patient's first injection.

    Parameters
    ----------
    study : StudyData
        Validated study (``visits`` and ``injections``).
    outcome : str, default 'alsfrs_r_total'
        Visits column (points for ALSFRS-R, % predicted for FVC).
    month_days : float, default 30.4375
        Days in a month (SPEC §2).

    Returns
    -------
    pandas.DataFrame
        ``patient_id``, ``day`` (study day), ``date`` ('YYYY-MM-DD' or ''), ``months``
        (months from the first injection; negative before it), ``score`` (the outcome,
        float). Patients without an injection and visits without the outcome are left out.

    Examples
    --------
    >>> import msc_notebooks as msc
    >>> v = aligned_visits(msc.load_demo())
    >>> v.columns.tolist(), bool(v.groupby("patient_id").months.min().lt(0).all())
    (['patient_id', 'day', 'date', 'months', 'score'], True)
    """
    visits = study.visits
    require_columns(visits, ("patient_id", "day"), "visits")
    if outcome not in visits.columns:
        from .columns import OUTCOME_MAX

        known = [c for c in visits.columns if c in OUTCOME_MAX or c == "fvc_pct"]
        raise InputError(
            f"no outcome column '{outcome}' in the visits",
            source="visits",
            column=outcome,
            fix=f"choose one of {', '.join(known) or 'the numeric visit columns'}",
        )
    v = visits.loc[visits[outcome].notna(), ["patient_id", "day"]]
    v = v.assign(score=visits.loc[v.index, outcome].astype(float))
    if "date" in visits.columns:
        v["date"] = _date_text(visits.loc[v.index, "date"])
    else:
        v["date"] = ""
    v = v.join(_first_day(study), on="patient_id", how="inner")
    v["months"] = (v["day"] - v["first_day"]) / month_days
    return v[["patient_id", "day", "date", "months", "score"]].reset_index(drop=True)


def aligned_injections(study: Any, month_days: float = MONTH_DAYS) -> pd.DataFrame:
    """Every injection with its time from the patient's first injection.

    Returns
    -------
    pandas.DataFrame
        ``patient_id``, ``day``, ``months`` (0 for injection 1), ``date`` ('YYYY-MM-DD' or
        ''), ``injection_number`` (1, 2, ... by time when the table has none).

    Examples
    --------
    >>> import msc_notebooks as msc
    >>> inj = aligned_injections(msc.load_demo())
    >>> float(inj.loc[inj.injection_number == 1, "months"].abs().max())
    0.0
    """
    import pandas as pd

    inj = study.injections.join(_first_day(study), on="patient_id")
    number = (
        inj["injection_number"]
        if "injection_number" in inj.columns
        else inj.groupby("patient_id")["day"].rank(method="first")
    )
    return pd.DataFrame(
        {
            "patient_id": inj["patient_id"],
            "day": inj["day"].astype(float),
            "months": (inj["day"] - inj["first_day"]) / month_days,
            "date": _date_text(inj["date"]) if "date" in inj.columns else "",
            "injection_number": number,
        }
    ).reset_index(drop=True)


def _per_patient_bins(visits: pd.DataFrame, bin_months: float) -> pd.Series:
    """Each patient's mean score per bin ``k = floor(months / bin_months + 0.5)``."""
    import numpy as np

    month = np.floor(visits["months"] / bin_months + 0.5) * bin_months
    return visits.assign(month=month).groupby(["month", "patient_id"], sort=True)["score"].mean()


def cohort_mean_table(
    study: Any,
    outcome: str = "alsfrs_r_total",
    *,
    bin_months: float = 1.0,
    month_days: float = MONTH_DAYS,
) -> pd.DataFrame:
    """Cohort mean of an outcome per monthly bin from the first injection, with a 95 % CI.

    Each visit falls in bin ``k = floor(months / bin_months + 0.5)`` (months from the
    patient's first injection, so bin k covers k ± 0.5 bins). A patient with several
    visits in one bin contributes their mean once. Across patients:
    ``mean``, ``sd`` (ddof = 1), ``se = sd / sqrt(n)`` and the 95 % t-interval
    ``mean ± t(0.975, n − 1) · se`` (NaN when n < 2).

    Parameters
    ----------
    study : StudyData
    outcome : str, default 'alsfrs_r_total'
        Visits column.
    bin_months : float, default 1
        Width of a bin, months.
    month_days : float, default 30.4375
        Days in a month (SPEC §2).

    Returns
    -------
    pandas.DataFrame
        ``month`` (bin centre, months from the first injection), ``n_patients``, ``mean``,
        ``sd``, ``se``, ``ci_low``, ``ci_high`` (outcome units), sorted by ``month``.

    Examples
    --------
    >>> import msc_notebooks as msc
    >>> table = cohort_mean_table(msc.load_demo())
    >>> table.loc[table.month == 0, "n_patients"].item()
    19.0
    """
    import numpy as np
    import pandas as pd
    from scipy import stats

    per_patient = _per_patient_bins(aligned_visits(study, outcome, month_days), bin_months)
    grouped = per_patient.groupby(level="month")
    table = pd.DataFrame(
        {"n_patients": grouped.size(), "mean": grouped.mean(), "sd": grouped.std(ddof=1)}
    ).reset_index()
    n = table["n_patients"].astype(float)
    table["n_patients"] = n
    table["se"] = table["sd"] / np.sqrt(n)
    t = pd.Series(stats.t.ppf(0.975, (n - 1).where(n >= 2)), index=table.index)
    table["ci_low"] = table["mean"] - t * table["se"]
    table["ci_high"] = table["mean"] + t * table["se"]
    return table[["month", "n_patients", "mean", "sd", "se", "ci_low", "ci_high"]]


def outcome_quantiles(
    study: Any,
    outcome: str = "alsfrs_r_total",
    *,
    bin_months: float = 1.0,
    month_days: float = MONTH_DAYS,
    min_patients: int = 10,
) -> pd.DataFrame:
    """Quantiles of an outcome across patients per monthly bin from the first injection.

    The bins and the one-value-per-patient rule are those of :func:`cohort_mean_table`.
    Quantiles are pandas' linear interpolation (type 7) of the patients' values in the bin.

    Parameters
    ----------
    study : StudyData
    outcome : str, default 'alsfrs_r_total'
    bin_months : float, default 1
        Width of a bin, months.
    month_days : float, default 30.4375
    min_patients : int, default 10
        Bins with fewer patients are left out (a decile of fewer than 10 values is one
        patient's value).

    Returns
    -------
    pandas.DataFrame
        ``month`` (bin centre), ``n_patients``, ``q10``, ``q25``, ``q50`` (median),
        ``q75``, ``q90`` (outcome units), sorted by ``month``.

    Examples
    --------
    >>> import msc_notebooks as msc
    >>> q = outcome_quantiles(msc.load_demo())
    >>> q.columns.tolist()
    ['month', 'n_patients', 'q10', 'q25', 'q50', 'q75', 'q90']
    >>> bool((q.q10 <= q.q50).all() and (q.q50 <= q.q90).all())
    True
    """
    import pandas as pd

    per_patient = _per_patient_bins(aligned_visits(study, outcome, month_days), bin_months)
    grouped = per_patient.groupby(level="month")
    table = grouped.quantile(list(QUANTILES)).unstack()
    table.columns = [f"q{round(q * 100)}" for q in table.columns]
    table.insert(0, "n_patients", grouped.size())
    table = table[table["n_patients"] >= min_patients].reset_index()
    return pd.DataFrame(table).astype({"n_patients": int})
