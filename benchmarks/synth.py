"""Synthetic cohorts of any size for the benchmarks (vectorised numpy, no loop per patient).

Every patient has 12 assessments: two run-in visits (90-150 and 30-60 days before the first
injection), one visit near each injection (a few days either side; about 3 % of them fall
outside the 14-day window so that some periods are not evaluable), and the rest spread over
the treatment and follow-up. 1 to 4 injections, 3 to 6 months apart. Scores are integers
0-48: a linear decline at the patient's own rate, slower after the first injection by a
patient-specific factor, plus Gaussian noise of 1 point, rounded.

The tables use the canonical names of SPEC §11 (``patient_id`` as zero-padded text, calendar
``date`` or integer ``day``), so :func:`msc_notebooks.read_study` reads them without a
column map.

Examples
--------
>>> t = synth_cohort(3, seed=1)
>>> sorted(t), len(t["visits"]), t["visits"].patient_id.iloc[0]
(['injections', 'patients', 'visits'], 36, '001')
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["synth_cohort", "VISITS_PER_PATIENT", "MONTH_DAYS"]

#: Assessments per patient.
VISITS_PER_PATIENT = 12
#: Days per month (SPEC §2).
MONTH_DAYS = 365.25 / 12


def synth_cohort(n: int, seed: int = 0, time: str = "date") -> dict[str, pd.DataFrame]:
    """A synthetic cohort of ``n`` treated patients as canonical DataFrames.

    Parameters
    ----------
    n : int
        Number of patients (all treated).
    seed : int, default 0
        Random seed (the cohort is reproducible).
    time : {'date', 'day'}
        Calendar dates (``date``, ``datetime64[ns]``, ``onset_date``) or integer days from
        each patient's first injection (``day``, ``onset_day``).

    Returns
    -------
    dict of str to pandas.DataFrame
        ``visits`` (``patient_id``, ``date``/``day``, ``alsfrs_r_total``; 12 rows per
        patient), ``injections`` (``patient_id``, ``date``/``day``, ``injection_number``,
        ``dose_million_cells``, ``route``), ``patients`` (``patient_id``,
        ``onset_date``/``onset_day``, ``sex``, ``age``, ``site_of_onset``, ``withdrawn``).

    Examples
    --------
    >>> t = synth_cohort(50, seed=2, time="day")
    >>> t["visits"].groupby("patient_id").size().unique().tolist()
    [12]
    >>> bool(t["injections"].groupby("patient_id").size().between(1, 4).all())
    True
    >>> bool(t["visits"].alsfrs_r_total.between(0, 48).all())
    True
    """
    if time not in ("date", "day"):
        raise ValueError(f"time must be 'date' or 'day', not {time!r}")
    rng = np.random.default_rng(seed)
    width = max(3, len(str(n)))
    ids = np.char.zfill(np.arange(1, n + 1).astype(str), width).astype(object)

    # --- injections: 1-4 per patient, 91-183 days apart, first at day 0 ------------------
    n_inj = rng.choice([1, 2, 3, 4], size=n, p=[0.05, 0.15, 0.2, 0.6])
    gaps = rng.integers(91, 184, size=(n, 4))
    gaps[:, 0] = 0
    inj_days = np.cumsum(gaps, axis=1)  # (n, 4); only the first n_inj[i] are used
    has_inj = np.arange(4)[None, :] < n_inj[:, None]
    last_inj = inj_days[np.arange(n), n_inj - 1]

    # --- visits: 2 run-in, 4 near-injection slots, 6 spread over follow-up ---------------
    v = np.empty((n, VISITS_PER_PATIENT), dtype=np.int64)
    v[:, 0] = -rng.integers(90, 151, size=n)
    v[:, 1] = -rng.integers(30, 61, size=n)
    jitter = rng.integers(-7, 8, size=(n, 4))
    far = rng.random((n, 4)) < 0.03
    jitter[far] = rng.choice([-20, -17, 16, 19], size=int(far.sum()))
    follow_end = last_inj + rng.integers(60, 181, size=n)
    # slots without an injection become follow-up visits
    extra = rng.integers(1, 10_000, size=(n, 4)) % np.maximum(follow_end, 1)[:, None]
    v[:, 2:6] = np.where(has_inj, inj_days + jitter, 20 + extra)
    frac = rng.random((n, 6))
    v[:, 6:] = 20 + (frac * (follow_end - 20)[:, None]).astype(np.int64)
    v.sort(axis=1)

    # --- scores: run-in decline, patient-specific effect after the first injection -------
    rate = rng.gamma(4.0, 0.22, size=n)  # points/month, mean about 0.9
    effect = rng.uniform(-0.3, 0.9, size=n)  # fraction of the decline removed
    base = rng.uniform(30.0, 44.0, size=n)  # true score at the first injection
    months = v / MONTH_DAYS
    after = np.where(months > 0, rate[:, None] * (1 - effect[:, None]), rate[:, None])
    score = base[:, None] - after * months + rng.normal(0.0, 1.0, size=v.shape)
    score = np.clip(np.rint(score), 0, 48).astype(np.int64)

    start = np.datetime64("2015-01-01") + rng.integers(0, 5 * 365, size=n).astype("timedelta64[D]")
    onset = -rng.integers(200, 1500, size=n)

    pid_v = np.repeat(ids, VISITS_PER_PATIENT)
    visits = {"patient_id": pid_v}
    inj_pid = np.repeat(ids, n_inj)
    inj_day = inj_days[has_inj]
    inj_num = (np.arange(4)[None, :].repeat(n, 0) + 1)[has_inj]
    inj = {"patient_id": inj_pid}
    pats = {"patient_id": ids}
    if time == "date":
        visits["date"] = (
            np.repeat(start, VISITS_PER_PATIENT) + v.ravel().astype("timedelta64[D]")
        ).astype("datetime64[ns]")
        inj["date"] = (np.repeat(start, n_inj) + inj_day.astype("timedelta64[D]")).astype(
            "datetime64[ns]"
        )
        pats["onset_date"] = (start + onset.astype("timedelta64[D]")).astype("datetime64[ns]")
    else:
        visits["day"] = v.ravel()
        inj["day"] = inj_day
        pats["onset_day"] = onset
    visits["alsfrs_r_total"] = score.ravel()
    inj["injection_number"] = inj_num
    inj["dose_million_cells"] = np.round(rng.uniform(0.8, 1.6, size=len(inj_pid)), 2)
    inj["route"] = np.full(len(inj_pid), "intrathecal", dtype=object)
    pats["sex"] = np.where(rng.random(n) < 0.6, "M", "F").astype(object)
    pats["age"] = rng.integers(20, 71, size=n)
    pats["site_of_onset"] = np.where(rng.random(n) < 0.25, "bulbar", "limb").astype(object)
    pats["withdrawn"] = np.full(n, "no", dtype=object)
    return {
        "visits": pd.DataFrame(visits),
        "injections": pd.DataFrame(inj),
        "patients": pd.DataFrame(pats),
    }


def table_bytes(tables: dict[str, pd.DataFrame]) -> int:
    """Total in-memory size of the tables (``DataFrame.memory_usage(deep=True)``), bytes.

    Examples
    --------
    >>> table_bytes(synth_cohort(10)) > 0
    True
    """
    return int(sum(df.memory_usage(deep=True).sum() for df in tables.values()))
