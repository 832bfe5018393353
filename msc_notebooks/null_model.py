"""Responders expected with no treatment effect: simulated no-effect cohorts (SPEC §13).

Two-point progression rates over a few months are noisy, and decline in ALS is not one
constant rate, so "> 25 % slower decline" happens without any treatment. :func:`simulate_null`
says how many responders a cohort with *no* effect would show, at the patients' own
assessment and injection times, under the same settings and rules, and the same under the
plain constant-rate model beside it (a sensitivity line).

The model
---------
Each simulated patient has a true rate ``b`` (points/month), which changes between the
patient's periods (segments between the first assessment, the injection days and the last
assessment): in segment ``k`` of ``m_k`` months the rate is ``b + e_k``, with ``e_k``
independent, mean ``rate_trend * t_k / 12`` (``t_k`` the segment's middle in months from
the first injection; default trend 0) and variance ``a / 2 + c / m_k``. Two consecutive
periods' rates then differ, beyond measurement noise, by a variance

    extra = a + c (1/m0 + 1/m1)          ((points/month)^2)

``a = rate_change_sd^2`` is a change of rate whatever the period's length; ``c =
rate_change_diffusion`` (points^2/month) a change that averages out over longer periods
(the same as a random walk of the score seen at the period ends). Scores are
``a_i - (accumulated decline since the first injection) + N(0, sigma^2)``, rounded to whole
points when the outcome is scored in whole points and kept within the outcome's range
(0-48 for ALSFRS-R, 0-12 for a domain, 0 and up for FVC %). ``a_i`` is the patient's run-in
line at the first injection; for whole-point scores it is known only to within a point, so
each simulated patient's ``a_i`` is moved by U(-0.5, 0.5) (drawn afresh in every
simulation): otherwise rounding would err the same way in every simulation, and on scores
quieter than their rounding the assessment at the first injection, shared by the reference
and the periods that start there, would vary less than in real data (period 1-2 then gave
p <= 0.05 in 11-27 % of no-effect cohorts instead of 3-5 %, VALIDATION.md).

- ``sigma``: the pooled residual SD of per-patient least-squares lines over the run-in
  (assessments up to the first injection day; patients with at least 3 such assessments),
  ``sqrt(sum RSS / sum (n_i - 2))``, less the rounding variance 1/12 for whole-point
  scores (Sheppard's correction), floored at 1/12 (sigma 0.29) where that correction
  leaves less; or given by the user.
- ``a``, ``c``: in this order, estimated from a natural-history cohort the user gives
  (:func:`estimate_rate_change`: virtual injections at the trial's schedule, then the
  variance of consecutive rate differences minus its noise part, regressed on
  ``1/m0 + 1/m1``); otherwise the defaults fitted to real natural history (ALSFRS-R total
  only: ``a = 0.40``, ``c = 1.30``, :data:`DEFAULT_RATE_CHANGE`); the user can set either.
  For another outcome without natural history the rate is constant (and the table says so).
- True rates ``b``: drawn for every simulated patient from ``N(mu, tau^2)``, the
  distribution of *true* reference rates: ``mu`` the mean observed reference rate (less
  the trend at the reference's middle), ``tau^2 = max(var(observed) - mean(noise_i) -
  mean(a/2 + c/m_i), floor)``, ``noise_i`` the sampling variance of the patient's observed
  reference rate (``2 s^2 / months_i^2`` for the run-in endpoints rate, ``s^2 / Sxx_i`` for
  the least-squares rate, ``s^2 / months_i^2`` for the onset rate, which has no rate
  change), ``s^2 = sigma^2 + 1/12`` for whole-point scores, floor ``0.01 var(observed)``.
  Draws, not each patient's own rate: an observed reference rate shares its last
  assessment with period 1-2, so tying a simulated patient to it correlates the simulated
  counts with the observed noise and under-counts false responders.
- Intercept: the patient's run-in least-squares line at the first injection (2+ run-in
  assessments), otherwise the observed score there, otherwise the patient's mean score.

What it does not cover: a decline that speeds up or slows down on average over the months
of the trial. Set ``rate_trend`` (points/month per year) to see what such a trend does;
``calibration/calibrate_null.py`` records how far the default model is off then.

How it is computed
------------------
The engine's own :func:`msc_notebooks.progression.compute_periods` is run once on the
real schedule with *probe* scores (each assessment's position), which gives, for every
period row, the two assessments used (or the range, for ``ols``) and whether the period
is evaluable by its days. Scores never change which assessments a period uses, so every
simulation reuses that structure: the simulated scores of all simulations form one
matrix, and rates, improvement and responders are computed on it at once with the rules
of :mod:`msc_notebooks.responders` (in chunks of simulations, to bound memory). The test
suite runs the same draws through ``compute_periods`` and ``classify`` and checks the two
agree.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import sparse

from .columns import OUTCOME_MAX
from .errors import Fix, InputError, Option
from .progression import ZERO_RATE, compute_periods
from .responders import absolute_responder, improvement_pct, relative_responder
from .settings import Settings

if TYPE_CHECKING:
    from .analysis import AnalysisResult

__all__ = [
    "DEFAULT_RATE_CHANGE",
    "NULL_COLUMNS",
    "NullModelChoices",
    "NullParameters",
    "attach_null",
    "estimate_rate_change",
    "estimate_sigma",
    "no_effect_lines",
    "no_effect_parameters",
    "no_effect_sentence",
    "no_effect_sentences",
    "null_parameters",
    "simulate_null",
    "true_rate_distribution",
]

#: Columns of :func:`simulate_null` (the first 17 unchanged since version 0.1).
NULL_COLUMNS = (
    "period",
    "n_evaluable",
    "observed_responders",
    "expected_responders",
    "expected_low",
    "expected_high",
    "p_value",
    "observed_absolute_responders",
    "expected_absolute_responders",
    "expected_absolute_low",
    "expected_absolute_high",
    "p_value_absolute",
    "sigma",
    "sigma_n_patients",
    "true_rate_mean",
    "true_rate_sd",
    "n_simulations",
    "mean_simulated_evaluable",
    "expected_responders_constant",
    "expected_low_constant",
    "expected_high_constant",
    "p_value_constant",
    "sensitivity",
    "sigma_source",
    "rate_change_sd",
    "rate_change_diffusion",
    "rate_trend",
    "rate_change_source",
    "outcome",
    "outcome_low",
    "outcome_high",
    "whole_points",
)

#: The columns of :data:`NULL_COLUMNS` that hold the model's parameters and sources.
_PARAMETER_COLUMNS = (
    NULL_COLUMNS[NULL_COLUMNS.index("sigma") : NULL_COLUMNS.index("n_simulations") + 1]
    + NULL_COLUMNS[NULL_COLUMNS.index("sigma_source") :]
)

#: Rate change between periods fitted to real natural history (ALSFRS-R total, SPEC §13):
#: ``(a, c)`` with extra variance ``a + c (1/m0 + 1/m1)``: a in (points/month)^2,
#: c in points^2/month. Reproduces the extra variance 1.30 between two 2.9-month periods
#: (real 1.33) and 0.84 between two 5.9-month periods (real 0.85).
DEFAULT_RATE_CHANGE = (0.40, 1.30)

#: Variance of rounding a continuous score to whole points (Sheppard's correction).
ROUNDING_VARIANCE = 1.0 / 12.0

#: Said in ``sigma_source`` when the run-in sigma is floored (see :func:`estimate_sigma`).
SIGMA_FLOOR_NOTE = (
    "floored at the rounding SD 0.29 (the run-in scatter is within whole-point rounding, "
    "where Sheppard's correction does not hold)"
)

#: Simulated scores held in memory at once (simulations x assessments).
_CHUNK_CELLS = 4_000_000


def _assessments(visits: pd.DataFrame, outcome: str, patient_ids) -> pd.DataFrame:
    v = visits.loc[
        visits[outcome].notna() & visits["patient_id"].isin(patient_ids),
        ["patient_id", "day", outcome],
    ]
    v = v.rename(columns={outcome: "score"}).sort_values(["patient_id", "day"], kind="stable")
    return v.reset_index(drop=True)


def _whole_numbers(score: np.ndarray) -> bool:
    return bool(len(score)) and float(np.mean(score == np.round(score))) >= 0.9


def _runin_fits(a: pd.DataFrame, t1: pd.Series) -> pd.DataFrame:
    """Per-patient least-squares lines over the run-in (day <= first injection day)."""
    first = a["patient_id"].map(t1).to_numpy(dtype=float)
    r = a[a["day"].to_numpy(dtype=float) <= first]
    g = r.groupby("patient_id", sort=False)
    x = r["day"].to_numpy(dtype=float)
    y = r["score"].to_numpy(dtype=float)
    code = g.ngroup().to_numpy()
    k = int(code.max()) + 1 if len(code) else 0
    n = np.bincount(code, minlength=k).astype(float)
    xm = np.bincount(code, x, minlength=k) / np.maximum(n, 1)
    ym = np.bincount(code, y, minlength=k) / np.maximum(n, 1)
    dx, dy = x - xm[code], y - ym[code]
    sxx = np.bincount(code, dx * dx, minlength=k)
    sxy = np.bincount(code, dx * dy, minlength=k)
    syy = np.bincount(code, dy * dy, minlength=k)
    with np.errstate(invalid="ignore", divide="ignore"):
        slope = np.where(sxx > 0, sxy / sxx, np.nan)
        rss = np.where(sxx > 0, np.maximum(syy - sxy * slope, 0.0), np.nan)
    ids = r["patient_id"].to_numpy()[np.unique(code, return_index=True)[1]]
    out = pd.DataFrame({"patient_id": ids, "n": n, "sxx": sxx, "rss": rss, "slope": slope})
    out["fit_at_t1"] = ym + slope * (out["patient_id"].map(t1).to_numpy(dtype=float) - xm)
    return out


def estimate_sigma(
    visits: pd.DataFrame,
    injections: pd.DataFrame,
    outcome: str = "alsfrs_r_total",
) -> tuple[float, int]:
    """Pooled residual SD of the patients' run-in least-squares lines (SPEC §13).

    Run-in: the assessments on or before the patient's first injection day. Patients with
    at least 3 run-in assessments contribute: ``sqrt(sum RSS_i / sum (n_i - 2))``. When the
    scores are whole numbers, the rounding variance h^2/12 = 1/12 is removed (Sheppard's
    correction), so the value is the noise SD before rounding. Sheppard's correction holds
    when the noise is wide against the rounding step; when the corrected variance falls
    below h^2/12 (run-in scatter under 1/6 point^2, e.g. a 0-12 domain that hardly moves)
    whole-point data cannot tell a noise SD of 0 from one of 0.29, and 0 would make every
    simulated flat patient flat in every simulation: the variance is then floored at
    h^2/12 (sigma = 1/sqrt(12) = 0.289 points), the smallest noise whole points resolve,
    and :func:`null_parameters` says so in ``sigma_source``.

    Parameters
    ----------
    visits, injections : pandas.DataFrame
        Canonical tables (``patient_id``, ``day``, the outcome).
    outcome : str, default 'alsfrs_r_total'
        The outcome column.

    Returns
    -------
    (float, int)
        sigma (outcome points) and the number of patients it came from.

    Raises
    ------
    InputError
        When no patient has 3 run-in assessments (then give ``sigma`` yourself).

    Examples
    --------
    Residuals of 40, 38, 37 at days 0, 30, 60 around their line: 1/6, -1/3, 1/6, RSS 1/6,
    one degree of freedom: sqrt(1/6 - 1/12) = 0.2887 after the rounding correction.

    >>> v = pd.DataFrame({"patient_id": ["a"] * 4, "day": [0.0, 30.0, 60.0, 90.0],
    ...                   "alsfrs_r_total": [40.0, 38.0, 37.0, 30.0]})
    >>> i = pd.DataFrame({"patient_id": ["a"], "day": [60.0]})
    >>> s, n = estimate_sigma(v, i)
    >>> round(s, 4), n
    (0.2887, 1)

    A flat run-in (10, 10, 10: RSS 0) is floored at the rounding SD, not 0:

    >>> v["alsfrs_r_total"] = [10.0, 10.0, 10.0, 9.0]
    >>> round(estimate_sigma(v, i)[0], 4)
    0.2887
    """
    sigma, n, _ = _runin_sigma(visits, injections, outcome)
    return sigma, n


def _runin_sigma(visits: pd.DataFrame, injections: pd.DataFrame, outcome: str):
    """:func:`estimate_sigma` and whether the rounding floor was applied."""
    t1 = injections.groupby("patient_id")["day"].min()
    a = _assessments(visits, outcome, t1.index)
    fits = _runin_fits(a, t1)
    use = fits[fits["n"] >= 3]
    if use.empty:
        raise InputError(
            "sigma (visit-to-visit noise) cannot be estimated: no patient has 3 or more "
            "assessments up to the first injection",
            source="visits",
            column=outcome,
            fix=Fix("give sigma yourself, e.g. ", Option("sigma", 1.5)),
        )
    var = float(use["rss"].sum() / (use["n"] - 2).sum())
    floored = False
    if _whole_numbers(a["score"].to_numpy(dtype=float)):
        var -= ROUNDING_VARIANCE  # Sheppard's correction
        floored = var < ROUNDING_VARIANCE
        var = max(var, ROUNDING_VARIANCE)
    return float(np.sqrt(var)), int(len(use)), floored


def true_rate_distribution(
    rates: pd.DataFrame,
    visits: pd.DataFrame,
    injections: pd.DataFrame,
    sigma: float,
    settings: Settings | None = None,
    *,
    rate_change: tuple[float, float] = (0.0, 0.0),
    rate_trend: float = 0.0,
) -> tuple[float, float]:
    """Mean and SD of the *true* reference rates (SPEC §13, empirical Bayes).

    ``tau^2 = max(var(observed) - mean(noise_i) - mean(a/2 + c/m_i), floor)``: the
    observed reference rates' spread minus their measurement noise and minus the reference
    period's own change of rate (see the module docstring).

    Parameters
    ----------
    rates : pandas.DataFrame
        The rate table (:func:`msc_notebooks.progression.compute_periods`).
    visits, injections : pandas.DataFrame
        Canonical tables.
    sigma : float
        Noise SD before rounding (outcome points).
    settings : Settings, optional
    rate_change : (float, float), default (0, 0)
        ``(a, c)`` of the rate change between periods (module docstring).
    rate_trend : float, default 0
        Mean change of the rate, points/month per year.

    Returns
    -------
    (float, float)
        Mean and SD (points/month).

    Examples
    --------
    Observed reference rates 0.5 and 1.5 over 3 months with sigma 0: tau = SD = 0.7071;
    with a rate change a = 0.2, c = 0.3: tau^2 = 0.5 - (0.1 + 0.1) = 0.3.

    >>> r = pd.DataFrame({"patient_id": ["a", "b"], "period": ["reference"] * 2,
    ...                   "months": [3.0, 3.0], "rate": [0.5, 1.5]})
    >>> v = pd.DataFrame({"patient_id": ["a", "b"], "day": [0.0, 0.0],
    ...                   "alsfrs_r_total": [40.5, 40.0]})
    >>> i = pd.DataFrame({"patient_id": ["a", "b"], "day": [91.3, 91.3]})
    >>> [round(x, 4) for x in true_rate_distribution(r, v, i, 0.0)]
    [1.0, 0.7071]
    >>> round(true_rate_distribution(r, v, i, 0.0, rate_change=(0.2, 0.3))[1] ** 2, 4)
    0.3
    """
    s = settings or Settings()
    ref = rates[(rates["period"] == "reference") & rates["rate"].notna()]
    if ref.empty:
        raise InputError(
            "no patient has an evaluable reference (pre-treatment) rate, so the no-effect "
            "rates cannot be estimated",
            source="visits",
            fix=Fix(
                "check the run-in assessments (methods §4) or use ", Option("reference", "onset")
            ),
        )
    obs = ref["rate"].to_numpy(dtype=float)
    months = ref["months"].to_numpy(dtype=float)
    t1 = injections.groupby("patient_id")["day"].min()
    score = visits[s.outcome].dropna().to_numpy(dtype=float)
    s2 = sigma**2 + (ROUNDING_VARIANCE if _whole_numbers(score) else 0.0)
    a, c = rate_change
    if s.reference == "onset":
        noise = s2 / months**2
        change = np.zeros_like(months)
        mid = np.zeros_like(months)
    else:
        if s.method == "ols":
            fits = _runin_fits(_assessments(visits, s.outcome, t1.index), t1)
            fits = fits.set_index("patient_id")
            sxx = ref["patient_id"].map(fits["sxx"]).to_numpy(dtype=float) / s.month_days**2
            noise = np.where(sxx > 0, s2 / sxx, 2 * s2 / months**2)
        else:
            noise = 2 * s2 / months**2
        change = a / 2 + c / np.maximum(months, 1e-9)
        mid = -months / 2
    mu = float(obs.mean()) - rate_trend * float(mid.mean()) / 12.0
    var = float(obs.var(ddof=1)) if len(obs) > 1 else 0.0
    var = var if var > 1e-12 else 0.0
    tau2 = max(var - float(np.mean(noise)) - float(np.mean(change)), 0.01 * var)
    return mu, float(np.sqrt(tau2))


@dataclasses.dataclass(frozen=True)
class NullParameters:
    """Every parameter of one no-effect model, with where it came from (SPEC §13).

    Attributes
    ----------
    sigma : float
        Measurement noise SD before rounding, outcome points.
    sigma_source : str
        ``"run-in of N patients"`` or ``"user"``.
    sigma_n_patients : int
        Patients sigma was estimated from (0 when given).
    true_rate_mean, true_rate_sd : float
        Distribution of the true rates, points/month.
    rate_change_sd : float
        ``sqrt(a)``: SD of the change of rate between two periods whatever their length,
        points/month.
    rate_change_diffusion : float
        ``c``: the part that averages out over longer periods, points^2/month.
    rate_trend : float
        Mean change of the rate, points/month per year (0: none).
    rate_change_source : str
        Where ``a`` and ``c`` came from.
    outcome : str
        The outcome column.
    outcome_low, outcome_high : float
        The outcome's range (scores are kept within it).
    whole_points : bool
        Whether scores are rounded to whole points.
    """

    sigma: float
    sigma_source: str
    sigma_n_patients: int
    true_rate_mean: float
    true_rate_sd: float
    rate_change_sd: float
    rate_change_diffusion: float
    rate_trend: float
    rate_change_source: str
    outcome: str
    outcome_low: float
    outcome_high: float
    whole_points: bool

    def constant_rate(self) -> NullParameters:
        """The same model without any change of rate (the plain constant-rate model)."""
        return dataclasses.replace(
            self,
            rate_change_sd=0.0,
            rate_change_diffusion=0.0,
            rate_trend=0.0,
            rate_change_source="none: constant rate",
        )

    def as_dict(self) -> dict[str, Any]:
        """Plain values (for ``settings.json``)."""
        return {k: (v.item() if hasattr(v, "item") else v) for k, v in vars(self).items()}


def _consecutive_pairs(rates: pd.DataFrame) -> pd.DataFrame:
    """Pairs of one patient's consecutive period rates (reference, 1-2, 2-3, ...)."""
    r = rates[rates["rate"].notna() & rates["months"].notna()]
    r = r[(r["period"] == "reference") | r["period"].str.fullmatch(r"\d+-\d+")]
    first = pd.to_numeric(r["period"].str.split("-").str[0], errors="coerce")
    order = first.fillna(0.0).to_numpy(dtype=float)  # reference: 0, "k-(k+1)": k
    r = r.assign(_k=order).sort_values(["patient_id", "_k"], kind="stable")
    nxt = r.groupby("patient_id", sort=False).shift(-1)
    ok = (nxt["_k"] == r["_k"] + 1).to_numpy()
    return pd.DataFrame(
        {
            "patient_id": r["patient_id"].to_numpy()[ok],
            "difference": (nxt["rate"] - r["rate"]).to_numpy(dtype=float)[ok],
            "m0": r["months"].to_numpy(dtype=float)[ok],
            "m1": nxt["months"].to_numpy(dtype=float)[ok],
        }
    )


def _fit_rate_change(pairs: pd.DataFrame, s2: float) -> tuple[float, float, str]:
    """Method of moments: ``(d - mean d)^2 - noise`` regressed on ``1/m0 + 1/m1``."""
    from scipy.optimize import nnls

    d = pairs["difference"].to_numpy()
    m0, m1 = pairs["m0"].to_numpy(), pairs["m1"].to_numpy()
    noise = s2 * (1 / m0**2 + (1 / m0 + 1 / m1) ** 2 + 1 / m1**2)
    y = (d - d.mean()) ** 2 * len(d) / max(len(d) - 1, 1) - noise
    x = 1 / m0 + 1 / m1
    lo, hi = np.quantile(x, [0.05, 0.95])
    if hi - lo >= 0.15:  # period lengths vary enough to tell a from c
        coef, _ = nnls(np.column_stack([np.ones_like(x), x]), y)
        return float(coef[0]), float(coef[1]), "a and c"
    # one period length: only the size, with the shape of the defaults
    a0, c0 = DEFAULT_RATE_CHANGE
    shape = a0 + c0 * x
    k = max(float(np.sum(y * shape) / np.sum(shape * shape)), 0.0)
    return k * a0, k * c0, "size only (periods of one length)"


def estimate_rate_change(
    natural_history: Any,
    schedule_from: AnalysisResult | None = None,
    *,
    protocol: tuple[float, float, int] | None = None,
    settings: Settings | None = None,
    sigma: float | None = None,
) -> pd.DataFrame:
    """Rate change between periods in an untreated cohort (SPEC §13).

    Virtual injections are placed at the trial's schedule
    (:func:`msc_notebooks.natural_history.virtual_injections`), the cohort is analysed
    with endpoint rates and a run-in reference, and for every pair of a patient's
    consecutive periods (reference and 1-2, 1-2 and 2-3, ...) the difference of the two
    rates ``d`` (points/month) over ``m0`` and ``m1`` months is taken. Its variance beyond
    measurement noise, ``(d - mean d)^2 - s^2 (1/m0^2 + (1/m0 + 1/m1)^2 + 1/m1^2)`` (the
    two periods share their middle assessment), is regressed on ``1/m0 + 1/m1`` with
    non-negative coefficients: intercept ``a``, slope ``c``. When the period lengths hardly
    vary (5-95 % range of ``1/m0 + 1/m1`` below 0.15 per month) only the size is
    estimated, with the defaults' ratio of ``c`` to ``a``.

    Parameters
    ----------
    natural_history : path, pandas.DataFrame or StudyData
        The untreated cohort (PRO-ACT ``alsfrs.csv`` layout or canonical names).
    schedule_from : AnalysisResult, optional
        The trial whose schedules are placed on the cohort.
    protocol : (float, float, int), optional
        ``(first_offset_days, interval_months, count)`` instead of a trial's schedules.
    settings : Settings, optional
        Default: the trial's (window, outcome, month length).
    sigma : float, optional
        The cohort's noise SD before rounding; default from its run-in
        (:func:`estimate_sigma`, patients with 3 run-in assessments).

    Returns
    -------
    pandas.DataFrame
        One row: ``rate_change_sd`` (``sqrt(a)``, points/month), ``rate_change_diffusion``
        (``c``, points^2/month), ``mean_difference`` (points/month, later minus earlier),
        ``sigma`` (points), ``sigma_n_patients``, ``n_patients`` (with at least one
        pair), ``n_pairs``, ``fit`` (what was estimated).

    Examples
    --------
    >>> from msc_notebooks.synthetic import natural_history_cohort
    >>> est = estimate_rate_change(natural_history_cohort(300, seed=1), protocol=(90, 3, 4))
    >>> int(est.n_patients.iloc[0]) > 250, est.fit.iloc[0]
    (True, 'size only (periods of one length)')
    """
    from .natural_history import _study, virtual_injections

    base = settings or (schedule_from.settings if schedule_from is not None else Settings())
    s = dataclasses.replace(base, method="endpoints", reference="run-in")
    study = _study(natural_history)
    inj = virtual_injections(study, schedule_from, protocol=protocol, settings=s)
    from .progression import compute_periods as periods

    rates = periods(study.visits, inj, study.patients, s)
    if sigma is None:
        sigma_value, sigma_n = estimate_sigma(study.visits, inj, s.outcome)
    else:
        sigma_value, sigma_n = float(sigma), 0
    pairs = _consecutive_pairs(rates)
    if len(pairs) < 10:
        raise InputError(
            f"the natural-history cohort gives only {len(pairs)} pairs of consecutive "
            "period rates at the trial's schedule: too few to estimate the rate change",
            source=study.sources.get("visits", "natural history"),
            column=s.outcome,
            fix=Fix("give a larger natural-history cohort, or set ", Option("rate_change_sd", 0.6)),
        )
    score = study.visits[s.outcome].dropna().to_numpy(dtype=float)
    s2 = sigma_value**2 + (ROUNDING_VARIANCE if _whole_numbers(score) else 0.0)
    a, c, fit = _fit_rate_change(pairs, s2)
    return pd.DataFrame(
        {
            "rate_change_sd": [float(np.sqrt(a))],
            "rate_change_diffusion": [c],
            "mean_difference": [float(pairs["difference"].mean())],
            "sigma": [sigma_value],
            "sigma_n_patients": [sigma_n],
            "n_patients": [int(pairs["patient_id"].nunique())],
            "n_pairs": [len(pairs)],
            "fit": [fit],
        }
    )


@dataclasses.dataclass(frozen=True)
class NullModelChoices:
    """What the user chooses of the no-effect model; ``None`` = the default (SPEC §13).

    :func:`null_parameters` turns these into :class:`NullParameters` (values with their
    sources). Every function that runs the model takes the fields as keywords.

    Attributes
    ----------
    sigma : float, optional
        Noise SD before rounding, outcome points (default: the trial's run-in,
        :func:`estimate_sigma`).
    natural_history : path, pandas.DataFrame or StudyData, optional
        An untreated cohort: the rate change is estimated there
        (:func:`estimate_rate_change`) at the trial's own schedule.
    rate_change_sd : float, optional
        ``sqrt(a)``, points/month: overrides the estimate or the default.
    rate_change_diffusion : float, optional
        ``c``, points^2/month: overrides the estimate or the default.
    rate_trend : float, default 0
        Mean change of the decline rate, points/month per year (> 0: speeds up).
    outcome_range : (float, float), optional
        Lowest and highest possible score; default 0 to the outcome's maximum (48 for
        ALSFRS-R, 12 for a domain, no maximum otherwise).
    whole_points : bool, optional
        Round simulated scores to whole points; default when 90 % of the observed scores
        are whole numbers.

    Examples
    --------
    >>> NullModelChoices(sigma=1.5).replace(rate_trend=0.3)
    NullModelChoices(sigma=1.5, natural_history=None, rate_change_sd=None, rate_change_diffusion=None, rate_trend=0.3, outcome_range=None, whole_points=None)
    """

    sigma: float | None = None
    natural_history: Any = None
    rate_change_sd: float | None = None
    rate_change_diffusion: float | None = None
    rate_trend: float = 0.0
    outcome_range: tuple[float, float] | None = None
    whole_points: bool | None = None

    def replace(self, **changes: Any) -> NullModelChoices:
        """A copy with some fields changed (an unknown name raises ``TypeError``)."""
        return dataclasses.replace(self, **changes)


def null_parameters(
    result: AnalysisResult, choices: NullModelChoices | None = None, **keywords: Any
) -> NullParameters:
    """The no-effect model's parameters for a trial, each with its source (SPEC §13).

    Parameters
    ----------
    result : AnalysisResult
        The trial's analysis (its outcome is ``result.settings.outcome``).
    choices : NullModelChoices, optional
        The user's choices (default: every default).
    **keywords
        Fields of :class:`NullModelChoices` (``sigma``, ``natural_history``,
        ``rate_change_sd``, ``rate_change_diffusion``, ``rate_trend``, ``outcome_range``,
        ``whole_points``), overriding ``choices``.

    Returns
    -------
    NullParameters

    Examples
    --------
    >>> from msc_notebooks import analyze, load_demo
    >>> p = null_parameters(analyze(load_demo()))
    >>> p.rate_change_sd.__round__(3), p.rate_change_diffusion, p.rate_change_source
    (0.632, 1.3, 'default (fitted to real natural history, ALSFRS-R total)')
    >>> null_parameters(analyze(load_demo()), rate_change_sd=0.0).rate_change_source
    'default (fitted to real natural history, ALSFRS-R total); user: rate_change_sd'
    """
    m = (choices or NullModelChoices()).replace(**keywords)
    s = result.settings
    study = result.study
    if m.sigma is None:
        sigma_value, sigma_n, floored = _runin_sigma(study.visits, study.injections, s.outcome)
        sigma_source = f"run-in of {sigma_n} patients"
        if floored:
            sigma_source += f"; {SIGMA_FLOOR_NOTE}"
    else:
        sigma_value, sigma_n = float(m.sigma), 0
        sigma_source = "user"
        if not sigma_value >= 0:
            raise InputError(
                f"sigma must be zero or more, not {m.sigma!r}",
                fix=Fix("e.g. ", Option("sigma", 1.5)),
            )
    for name, value in (
        ("rate_change_sd", m.rate_change_sd),
        ("rate_change_diffusion", m.rate_change_diffusion),
    ):
        if value is not None and not float(value) >= 0:
            raise InputError(
                f"{name} must be zero or more, not {value!r}", fix=Fix("e.g. ", Option(name, 0))
            )
    if m.natural_history is not None:
        est = estimate_rate_change(m.natural_history, result, settings=s).iloc[0]
        a, c = float(est["rate_change_sd"]) ** 2, float(est["rate_change_diffusion"])
        source = (
            f"natural history: {int(est['n_patients'])} patients, {int(est['n_pairs'])} "
            f"pairs of consecutive periods at the trial's schedule ({est['fit']})"
        )
    elif s.outcome == "alsfrs_r_total":
        a, c = DEFAULT_RATE_CHANGE
        source = "default (fitted to real natural history, ALSFRS-R total)"
    else:
        a, c = 0.0, 0.0
        source = (
            f"no default for {s.outcome}: constant rate (give a natural-history cohort "
            "or rate_change_sd)"
        )
    user = []
    if m.rate_change_sd is not None:
        a = float(m.rate_change_sd) ** 2
        user.append("rate_change_sd")
    if m.rate_change_diffusion is not None:
        c = float(m.rate_change_diffusion)
        user.append("rate_change_diffusion")
    if m.rate_trend:
        user.append("rate_trend")
    if user:
        source += "; user: " + ", ".join(user)
    mu, tau = true_rate_distribution(
        result.rates,
        study.visits,
        study.injections,
        sigma_value,
        s,
        rate_change=(a, c),
        rate_trend=float(m.rate_trend),
    )
    low, high = (
        (0.0, float(OUTCOME_MAX.get(s.outcome, np.inf)))
        if m.outcome_range is None
        else (float(m.outcome_range[0]), float(m.outcome_range[1]))
    )
    whole_points = m.whole_points
    if whole_points is None:
        score = study.visits[s.outcome].dropna().to_numpy(dtype=float)
        whole_points = _whole_numbers(score)
    return NullParameters(
        sigma=sigma_value,
        sigma_source=sigma_source,
        sigma_n_patients=int(sigma_n),
        true_rate_mean=mu,
        true_rate_sd=tau,
        rate_change_sd=float(np.sqrt(a)),
        rate_change_diffusion=float(c),
        rate_trend=float(m.rate_trend),
        rate_change_source=source,
        outcome=s.outcome,
        outcome_low=low,
        outcome_high=high,
        whole_points=bool(whole_points),
    )


def _probe(a: pd.DataFrame, study, s: Settings) -> pd.DataFrame:
    """Run the engine on probe scores (assessment positions): which assessments each
    period uses, and whether it is evaluable by its days."""
    probe = pd.DataFrame(
        {"patient_id": a["patient_id"], "day": a["day"], s.outcome: np.arange(len(a), dtype=float)}
    )
    inj = study.injections[study.injections["patient_id"].isin(a["patient_id"].unique())]
    return compute_periods(probe, inj, study.patients, s).reset_index(drop=True)


def _segments(a: pd.DataFrame, pat_codes: np.ndarray, pat_index: pd.Index, inj, t1_pat):
    """Each patient's segments between its first assessment, injection days and last
    assessment: patient code, start and end day, months, middle (months from T1)."""
    day = a["day"].to_numpy(dtype=float)
    n_pat = len(pat_index)
    first = np.full(n_pat, np.inf)
    last = np.full(n_pat, -np.inf)
    np.minimum.at(first, pat_codes, day)
    np.maximum.at(last, pat_codes, day)
    ic = pat_index.get_indexer(inj["patient_id"])
    keep = ic >= 0
    code = np.concatenate([np.arange(n_pat), ic[keep], np.arange(n_pat)])
    bound = np.concatenate([first, inj["day"].to_numpy(dtype=float)[keep], last])
    b = pd.DataFrame({"code": code, "day": bound}).drop_duplicates()
    b = b.sort_values(["code", "day"], kind="stable")
    c, d = b["code"].to_numpy(), b["day"].to_numpy()
    same = c[1:] == c[:-1]
    seg_code, start, end = c[:-1][same], d[:-1][same], d[1:][same]
    return seg_code, start, end


def _design(result: AnalysisResult, all_assessments: bool = False) -> dict[str, Any]:
    """Everything about the trial's schedule that the simulations share."""
    s = result.settings
    study = result.study
    rates = result.rates
    pids = rates.loc[rates["period"] == "reference", "patient_id"].unique()
    a = _assessments(study.visits, s.outcome, pids)
    tmpl = _probe(a, study, s)
    periods = [p for p in result.summary["period"] if p != "reference"]

    pat_codes, pat_index = pd.factorize(a["patient_id"])
    pat_index = pd.Index(pat_index)
    n_pat = len(pat_index)
    t1 = study.injections.groupby("patient_id")["day"].min()
    day = a["day"].to_numpy(dtype=float)
    t1_a = a["patient_id"].map(t1).to_numpy(dtype=float)
    months_from_t1 = (day - t1_a) / s.month_days
    fits = _runin_fits(a, t1).set_index("patient_id")
    ref_rows = rates[rates["period"] == "reference"].set_index("patient_id")
    icpt = pd.Series(np.nan, index=pat_index)
    icpt = icpt.fillna(fits["fit_at_t1"].where(fits["n"] >= 2).reindex(pat_index))
    icpt = icpt.fillna(ref_rows["end_score"].reindex(pat_index))
    icpt = icpt.fillna(a.groupby("patient_id")["score"].mean().reindex(pat_index))
    intercept_a = icpt.to_numpy(dtype=float)[pat_codes]

    # template rows
    row_pid = pat_index.get_indexer(tmpl["patient_id"])
    is_ref = (tmpl["period"] == "reference").to_numpy()
    sp = tmpl["start_score"].to_numpy(dtype=float)
    ep = tmpl["end_score"].to_numpy(dtype=float)
    months = tmpl["months"].to_numpy(dtype=float)
    ok = (tmpl["rate_reason"].fillna("") == "").to_numpy() & ~np.isnan(months)
    onset_ref = is_ref & (s.reference == "onset")
    sp_i = np.where(np.isnan(sp) | onset_ref, 0, sp).astype(np.int64)
    ep_i = np.where(np.isnan(ep), 0, ep).astype(np.int64)
    ref_of_row = np.full(n_pat, -1, dtype=np.int64)
    ref_of_row[row_pid[is_ref]] = np.flatnonzero(is_ref)
    ref_idx = ref_of_row[row_pid]
    ref_ok = ok[ref_idx] & (ref_idx >= 0)
    cand = ~is_ref & ok & ref_ok
    col = {p: i for i, p in enumerate(periods)}
    row_period = np.array([col.get(p, -1) for p in tmpl["period"]])
    cand &= row_period >= 0
    ind = np.zeros((len(tmpl), len(periods)))
    ind[np.flatnonzero(cand), row_period[cand]] = 1.0

    weights = None
    if s.method == "ols":
        weights = np.zeros((len(a), len(tmpl)))
        need = ok & ~onset_ref
        for k in np.flatnonzero(need):  # one row per patient-period, not per simulation
            rows = np.arange(sp_i[k], ep_i[k] + 1)
            x = months_from_t1[rows]
            dx = x - x.mean()
            weights[rows, k] = -dx / (dx @ dx)

    # only the assessments some evaluable-by-days period uses get simulated, and only
    # those period rows get rates (the others cannot change any count)
    sel = np.flatnonzero(ok)
    used = np.zeros(len(a), dtype=bool)
    used[ep_i[sel]] = True
    used[sp_i[ok & ~onset_ref]] = True
    if weights is not None:
        used |= (weights != 0).any(axis=1)
    if all_assessments:
        used[:] = True
    cols = np.flatnonzero(used)
    remap = np.full(len(a), -1, dtype=np.int64)
    remap[cols] = np.arange(len(cols))
    in_sel = np.full(len(tmpl), 0, dtype=np.int64)
    in_sel[sel] = np.arange(len(sel))

    # segments and how much of each lies between T1 and each simulated assessment
    inj = study.injections[study.injections["patient_id"].isin(pat_index)]
    seg_code, seg_start, seg_end = _segments(a, pat_codes, pat_index, inj, t1)
    t1_pat = t1.reindex(pat_index).to_numpy(dtype=float)
    n_seg_pat = np.bincount(seg_code, minlength=n_pat)
    first_seg = np.concatenate([[0], np.cumsum(n_seg_pat)[:-1]])
    col_pat = pat_codes[cols]
    reps = n_seg_pat[col_pat]
    pair_col = np.repeat(np.arange(len(cols)), reps)
    pair_seg = np.repeat(first_seg[col_pat], reps) + (
        np.arange(reps.sum()) - np.repeat(np.cumsum(reps) - reps, reps)
    )
    t = day[cols][pair_col]
    lo, hi = seg_start[pair_seg], seg_end[pair_seg]
    t1p = t1_pat[seg_code[pair_seg]]
    w = (np.clip(t, lo, hi) - np.clip(t1p, lo, hi)) / s.month_days
    nz = w != 0
    seg_w = sparse.csr_matrix(
        (w[nz], (pair_seg[nz], pair_col[nz])), shape=(len(seg_code), len(cols))
    )
    seg_months = (seg_end - seg_start) / s.month_days
    seg_mid = ((seg_start + seg_end) / 2 - t1_pat[seg_code]) / s.month_days

    return {
        "settings": s,
        "a": a,
        "study": study,
        "periods": periods,
        "n_pat": n_pat,
        "pat_codes": pat_codes,
        "cols": cols,
        "sp_s": remap[sp_i[sel]],
        "ep_s": remap[ep_i[sel]],
        "months_s": months[sel],
        "is_ref_s": is_ref[sel],
        "ref_s": in_sel[np.maximum(ref_idx[sel], 0)],
        "cand_s": cand[sel],
        "ind_s": ind[sel],
        "w_s": weights[cols][:, sel] if weights is not None else None,
        "line_icpt": intercept_a[cols],
        "line_months": months_from_t1[cols],
        "line_pat": pat_codes[cols],
        "seg_code": seg_code,
        "seg_w": seg_w,
        "seg_months": np.maximum(seg_months, 1e-9),
        "seg_mid": seg_mid,
    }


def _draw_counts(
    design: dict[str, Any],
    p: NullParameters,
    n_simulations: int,
    rng: np.random.Generator,
    scores_hook: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Responders, absolute responders and evaluable patients: simulations x periods.

    ``scores_hook(y)`` (tests only) receives each chunk's simulated scores (simulations x
    simulated assessments) and returns its counts instead of the matrix path."""
    s = design["settings"]
    n_pat, cols = design["n_pat"], design["cols"]
    periods = design["periods"]
    sp_s, ep_s, months_s = design["sp_s"], design["ep_s"], design["months_s"]
    is_ref_s, ref_s, cand_s, ind_s = (
        design["is_ref_s"],
        design["ref_s"],
        design["cand_s"],
        design["ind_s"],
    )
    a2 = p.rate_change_sd**2
    seg_sd = np.sqrt(a2 / 2 + p.rate_change_diffusion / design["seg_months"])
    seg_mean = p.rate_trend * design["seg_mid"] / 12.0
    changing = bool(a2 > 0 or p.rate_change_diffusion > 0 or p.rate_trend != 0)
    seg_wt = design["seg_w"].T.tocsr()
    n_seg = len(design["seg_code"])
    chunk = max(1, _CHUNK_CELLS // max(len(cols), n_seg, 1))
    shape = (n_simulations, len(periods))
    # where each patient's T1 score lies inside its whole point (module docstring): a
    # stream of its own, so that the other draws are those of any earlier version
    place = rng.spawn(1)[0] if p.whole_points else None
    counts = np.zeros(shape, dtype=np.int64)
    counts_abs = np.zeros(shape, dtype=np.int64)
    n_eval = np.zeros(shape, dtype=np.int64)
    for lo in range(0, n_simulations, chunk):
        m = min(chunk, n_simulations - lo)
        b = rng.normal(p.true_rate_mean, p.true_rate_sd, size=(m, n_pat))
        noise = rng.normal(0.0, 1.0, size=(m, len(cols))) * p.sigma
        y = design["line_icpt"][None, :] - b[:, design["line_pat"]] * design["line_months"]
        if changing:
            e = seg_mean[None, :] + rng.normal(0.0, 1.0, size=(m, n_seg)) * seg_sd[None, :]
            y -= (seg_wt @ e.T).T
        y += noise
        if place is not None:
            y += place.uniform(-0.5, 0.5, size=(m, n_pat))[:, design["line_pat"]]
            y = np.floor(y + 0.5)
        y = np.clip(y, p.outcome_low, p.outcome_high)
        if scores_hook is not None:
            c, ca = scores_hook(y)
            counts[lo : lo + m], counts_abs[lo : lo + m] = c, ca
            continue
        if s.method == "ols":
            rate = y @ design["w_s"]
        else:
            with np.errstate(invalid="ignore", divide="ignore"):
                rate = (y[:, sp_s] - y[:, ep_s]) / months_s[None, :]
        if s.reference == "onset":
            top = p.outcome_high
            with np.errstate(invalid="ignore", divide="ignore"):
                rate[:, is_ref_s] = (top - y[:, ep_s[is_ref_s]]) / months_s[None, is_ref_s]
        rate[np.abs(rate) < ZERO_RATE] = 0.0
        ref_rate = rate[:, ref_s]
        evaluable = cand_s[None, :] & (ref_rate > ZERO_RATE)
        # the same rules as the engine (responders.py, SPEC §6)
        rel = relative_responder(improvement_pct(ref_rate, rate), s)
        absr = absolute_responder(ref_rate - rate, s)
        counts[lo : lo + m] = np.rint((evaluable & rel) @ ind_s).astype(np.int64)
        counts_abs[lo : lo + m] = np.rint((evaluable & absr) @ ind_s).astype(np.int64)
        n_eval[lo : lo + m] = np.rint(evaluable @ ind_s).astype(np.int64)
    return counts, counts_abs, n_eval


def _whole_quantile(counts: np.ndarray, q: float) -> np.ndarray:
    """The q-quantile of simulated counts as a whole count (smallest k with F(k) >= q)."""
    return np.quantile(counts, q, axis=0, method="inverted_cdf").astype(np.int64)


def _p_value(counts: np.ndarray, observed: np.ndarray) -> np.ndarray:
    """(b + 1) / (m + 1): b of m simulations reach at least the observed count."""
    b = (counts >= observed[None, :]).sum(axis=0)
    return (b + 1) / (counts.shape[0] + 1)


def _sensitivity(obs: int, high: int, high_constant: int) -> str:
    if obs > high and obs > high_constant:
        return "above the range of both models"
    if obs > high_constant:
        return (
            "above the constant-rate model's range only: within what natural changes of "
            "decline give"
        )
    if obs > high:
        return "above the default model's range only"
    return "within the range of both models"


def simulate_null(
    result: AnalysisResult,
    n_simulations: int = 2000,
    *,
    seed: int | None = None,
    choices: NullModelChoices | None = None,
    **keywords: Any,
) -> pd.DataFrame:
    """Responders expected with no treatment effect, per period (SPEC §13).

    Parameters
    ----------
    result : AnalysisResult
        From :func:`msc_notebooks.analyze`; its settings (and outcome), schedule and
        assessment days are reused.
    n_simulations : int, default 2000
        Number of simulated no-effect cohorts (for each of the two models).
    seed : int, optional
        Random seed (default ``result.settings.seed``): same seed, same numbers.
    choices : NullModelChoices, optional
        The model's choices (default: every default).
    **keywords
        Fields of :class:`NullModelChoices`, overriding ``choices``: ``sigma`` (noise SD
        before rounding, outcome points; default from the run-in), ``natural_history``,
        ``rate_change_sd``, ``rate_change_diffusion``, ``rate_trend``, ``outcome_range``,
        ``whole_points``.

    Returns
    -------
    pandas.DataFrame
        One row per period of ``result.summary`` except ``reference``
        (:data:`NULL_COLUMNS`): ``period``, ``n_evaluable`` (observed),
        ``observed_responders``, ``expected_responders`` (mean over simulations),
        ``expected_low``, ``expected_high`` (2.5 and 97.5 % quantiles of the simulated
        counts, whole counts), ``p_value`` (``(b + 1) / (m + 1)``, ``b`` of the ``m``
        simulations with at least the observed count: the chance of so many responders
        with no treatment effect), the same for absolute responders
        (``observed_absolute_responders``, ``expected_absolute_responders``,
        ``expected_absolute_low``, ``expected_absolute_high``, ``p_value_absolute``),
        ``sigma`` (points), ``sigma_n_patients``, ``true_rate_mean``, ``true_rate_sd``
        (points/month), ``n_simulations``, ``mean_simulated_evaluable`` (mean simulated
        number of evaluable patients), the constant-rate sensitivity line
        (``expected_responders_constant``, ``expected_low_constant``,
        ``expected_high_constant``, ``p_value_constant``), ``sensitivity`` (in words:
        which model's range the observed count exceeds), and the parameters with their
        sources (``sigma_source``, ``rate_change_sd``, ``rate_change_diffusion``,
        ``rate_trend``, ``rate_change_source``, ``outcome``, ``outcome_low``,
        ``outcome_high``, ``whole_points``).

    Examples
    --------
    >>> from msc_notebooks import analyze, load_demo
    >>> null = simulate_null(analyze(load_demo()), 50, seed=1)
    >>> row = null.set_index("period").loc["1-2"]
    >>> int(row.observed_responders), int(row.n_evaluable), 0 <= row.expected_responders <= 19
    (15, 19, True)
    >>> bool(row.expected_responders > row.expected_responders_constant), float(row.p_value) > 0
    (True, True)
    """
    n_simulations = int(n_simulations)
    if n_simulations < 1:
        raise InputError(
            "n_simulations must be at least 1", fix=Fix("use e.g. ", Option("n_simulations", 2000))
        )
    params = null_parameters(result, choices, **keywords)
    return _null_table(
        result, params, n_simulations, result.settings.seed if seed is None else seed
    )


def _null_table(
    result: AnalysisResult, params: NullParameters, n_simulations: int, seed: int
) -> pd.DataFrame:
    design = _design(result)
    rng = np.random.default_rng(seed)
    counts, counts_abs, n_eval = _draw_counts(design, params, n_simulations, rng)
    const = params.constant_rate()
    counts_c, _, _ = _draw_counts(design, const, n_simulations, np.random.default_rng(seed))
    periods = design["periods"]
    summ = result.summary.set_index("period")
    obs = summ["n_responders"].reindex(periods).fillna(0).to_numpy(dtype=np.int64)
    obs_abs = summ["n_absolute_responders"].reindex(periods).fillna(0).to_numpy(dtype=np.int64)
    n_ev = summ["n_evaluable"].reindex(periods).fillna(0).to_numpy(dtype=np.int64)
    high = _whole_quantile(counts, 0.975)
    high_c = _whole_quantile(counts_c, 0.975)
    out = pd.DataFrame(
        {
            "period": periods,
            "n_evaluable": n_ev,
            "observed_responders": obs,
            "expected_responders": counts.mean(axis=0),
            "expected_low": _whole_quantile(counts, 0.025),
            "expected_high": high,
            "p_value": _p_value(counts, obs),
            "observed_absolute_responders": obs_abs,
            "expected_absolute_responders": counts_abs.mean(axis=0),
            "expected_absolute_low": _whole_quantile(counts_abs, 0.025),
            "expected_absolute_high": _whole_quantile(counts_abs, 0.975),
            "p_value_absolute": _p_value(counts_abs, obs_abs),
            "sigma": params.sigma,
            "sigma_n_patients": params.sigma_n_patients,
            "true_rate_mean": params.true_rate_mean,
            "true_rate_sd": params.true_rate_sd,
            "n_simulations": n_simulations,
            "mean_simulated_evaluable": n_eval.mean(axis=0),
            "expected_responders_constant": counts_c.mean(axis=0),
            "expected_low_constant": _whole_quantile(counts_c, 0.025),
            "expected_high_constant": high_c,
            "p_value_constant": _p_value(counts_c, obs),
            "sensitivity": [
                _sensitivity(int(o), int(h), int(hc))
                for o, h, hc in zip(obs, high, high_c, strict=True)
            ],
            "sigma_source": params.sigma_source,
            "rate_change_sd": params.rate_change_sd,
            "rate_change_diffusion": params.rate_change_diffusion,
            "rate_trend": params.rate_trend,
            "rate_change_source": params.rate_change_source,
            "outcome": params.outcome,
            "outcome_low": params.outcome_low,
            "outcome_high": params.outcome_high,
            "whole_points": params.whole_points,
        }
    )
    return out[list(NULL_COLUMNS)]


def _source_words(source: str) -> str:
    if source.startswith("default"):
        return "as much as in real untreated patients"
    if source.startswith("natural history"):
        return "as much as in the natural-history cohort given"
    if source.startswith("none") or source.startswith("no default"):
        return "not at all"
    return "as set by the user"


def _assumptions(row: pd.Series) -> str:
    """What a no-effect table assumes, in words (the same for every period)."""
    trend = float(row.get("rate_trend", 0.0))
    trend_words = (
        "no overall speeding up or slowing down of decline"
        if trend == 0
        else f"decline {'speeding up' if trend > 0 else 'slowing down'} by {abs(trend):.2g} "
        "points/month per year"
    )
    return (
        f"scores that vary by about {float(row['sigma']):.1f} points between visits "
        f"({row['sigma_source']}), decline rates that change between periods "
        f"{_source_words(str(row['rate_change_source']))}, and {trend_words}"
    )


#: Why a simulated cohort has its own number of evaluable patients (SPEC §13: the same
#: rules on every simulated cohort).
SIMULATED_EVALUABLE = "each simulated cohort's own reference rates decide who is evaluable"


def _denominator(row: pd.Series, why: bool = True) -> str:
    """Observed evaluable patients beside the simulated ones (SPEC §7, §13): a simulated
    count is out of that cohort's own evaluable patients, not the observed ones."""
    n = int(row["n_evaluable"])
    if "mean_simulated_evaluable" not in row.index:
        return f"{n} evaluable"
    text = f"{n} evaluable here, {float(row['mean_simulated_evaluable']):.1f} on average in the simulated cohorts"
    return (
        f"{text}, where each cohort's own reference rates decide who is evaluable" if why else text
    )


def no_effect_sentence(null: pd.DataFrame, period: str = "1-2") -> str:
    """The no-effect expectation of one period with its assumptions, for a clinician.

    The simulated range is a count of responders among each simulated cohort's own
    evaluable patients, so the sentence gives both denominators.

    Parameters
    ----------
    null : pandas.DataFrame
        From :func:`simulate_null`.
    period : str, default '1-2'

    Returns
    -------
    str

    Examples
    --------
    >>> t = pd.DataFrame({"period": ["1-2"], "n_evaluable": [19], "observed_responders": [15],
    ...     "expected_low": [9], "expected_high": [15], "p_value": [0.04],
    ...     "mean_simulated_evaluable": [16.7],
    ...     "expected_low_constant": [3], "expected_high_constant": [9],
    ...     "sensitivity": ["above the constant-rate model's range only: ..."],
    ...     "sigma": [1.21], "sigma_source": ["run-in of 19 patients"],
    ...     "rate_change_source": ["default (fitted to real natural history, ...)"],
    ...     "rate_trend": [0.0]})
    >>> print(no_effect_sentence(t))  # doctest: +NORMALIZE_WHITESPACE
    With no treatment effect and the natural variation of ALS decline, 9–15 patients
    would be counted as responders here (period 1-2: 19 evaluable here, 16.7 on average in
    the simulated cohorts, where each cohort's own reference rates decide who is evaluable;
    observed 15, p = 0.04). This assumes scores that vary by about 1.2 points between visits (run-in
    of 19 patients), decline rates that change between periods as much as in real
    untreated patients, and no overall speeding up or slowing down of decline; if every
    patient declined at one constant rate, 3–9.
    """
    row = null.set_index("period").loc[period]
    return (
        f"With no treatment effect and the natural variation of ALS decline, "
        f"{int(row['expected_low'])}–{int(row['expected_high'])} patients would be "
        f"counted as responders here (period {period}: {_denominator(row)}; observed "
        f"{int(row['observed_responders'])}, p = {float(row['p_value']):.2g}). This assumes "
        f"{_assumptions(row)}; if every patient declined at one constant rate, "
        f"{int(row['expected_low_constant'])}–{int(row['expected_high_constant'])}."
    )


def no_effect_sentences(null: pd.DataFrame) -> list[str]:
    """:func:`no_effect_sentence` for every period with evaluable patients, each followed
    by which model's range the observed count exceeds (the sensitivity line, in words).

    Examples
    --------
    >>> from msc_notebooks import analyze, load_demo
    >>> lines = no_effect_sentences(simulate_null(analyze(load_demo()), 20))
    >>> len(lines), lines[0].endswith("range of both models.")
    (5, True)
    """
    return [
        f"{no_effect_sentence(null, p)} Observed count {v}."
        for p, v, n in zip(null["period"], null["sensitivity"], null["n_evaluable"], strict=True)
        if n
    ]


def no_effect_lines(summary: pd.DataFrame, null: pd.DataFrame) -> list[str]:
    """The no-effect block printed under :func:`msc_notebooks.summary.period_lines`
    (CLI, report): each number once (SPEC §7, §13).

    The period lines already give, beside each Wilcoxon p, the responders expected with no
    treatment effect; this block adds what they do not: the model's assumptions (once),
    and per period both denominators, the constant-rate line and which range the observed
    count exceeds. A period whose line shows no expectation (no Wilcoxon p) gets its range
    here.

    Parameters
    ----------
    summary : pandas.DataFrame
        The per-period summary the period lines come from.
    null : pandas.DataFrame
        :func:`simulate_null` for the same result.

    Returns
    -------
    list of str
        The assumptions, then one line per period with evaluable patients.

    Examples
    --------
    >>> from msc_notebooks import analyze, load_demo
    >>> r = analyze(load_demo())
    >>> lines = no_effect_lines(r.summary, simulate_null(r, 20, seed=1))
    >>> print(lines[0])  # doctest: +NORMALIZE_WHITESPACE
    Responders expected with no treatment effect (simulated cohorts at the patients' own
    visit and injection times) assume scores that vary by about 1.2 points between visits
    (run-in of 19 patients), decline rates that change between periods as much as in real
    untreated patients, and no overall speeding up or slowing down of decline; each
    simulated cohort's own reference rates decide who is evaluable.
    >>> lines[1].startswith("1-2: 19 evaluable here, ")
    True
    """
    from .summary import wilcoxon_text

    if null is None or not len(null):
        return []
    by_period = summary.set_index("period")
    lines = [
        "Responders expected with no treatment effect (simulated cohorts at the patients' "
        f"own visit and injection times) assume {_assumptions(null.iloc[0])}; "
        f"{SIMULATED_EVALUABLE}."
    ]
    for _, row in null.iterrows():
        if not row["n_evaluable"]:
            continue
        period = row["period"]
        shown = period in by_period.index and wilcoxon_text(by_period.loc[period], row)
        head = (
            ""
            if shown
            else f"{int(row['expected_low'])}–{int(row['expected_high'])} responders expected "
            f"(observed {int(row['observed_responders'])}, p = {float(row['p_value']):.2g}); "
        )
        lines.append(
            f"{period}: {head}{_denominator(row, why=False)}; if every patient declined at one "
            f"constant rate, {int(row['expected_low_constant'])}–"
            f"{int(row['expected_high_constant'])}; observed count {row['sensitivity']}."
        )
    return lines


def no_effect_parameters(null: pd.DataFrame) -> dict[str, Any]:
    """Every parameter of a no-effect table with its source, as plain values.

    For ``settings.json`` (JSON has no infinity: an outcome without maximum gives None).

    Parameters
    ----------
    null : pandas.DataFrame
        From :func:`simulate_null`.

    Returns
    -------
    dict

    Examples
    --------
    >>> from msc_notebooks import analyze, load_demo
    >>> p = no_effect_parameters(simulate_null(analyze(load_demo()), 20))
    >>> p["rate_change_diffusion"], p["outcome_high"], p["n_simulations"]
    (1.3, 48.0, 20)
    """
    row = null.iloc[0]
    out: dict[str, Any] = {}
    for k in _PARAMETER_COLUMNS:
        v = row[k]
        v = v.item() if hasattr(v, "item") else v
        out[k] = None if isinstance(v, float) and not np.isfinite(v) else v
    return out


def attach_null(
    result: AnalysisResult, n_simulations: int = 2000, **options: Any
) -> AnalysisResult:
    """Return a copy of ``result`` with ``.null`` filled by :func:`simulate_null`.

    ``options`` are :func:`simulate_null`'s keywords (``sigma``, ``seed``,
    ``natural_history``, ``rate_change_sd``, ...).

    Examples
    --------
    >>> from msc_notebooks import analyze, load_demo
    >>> r = attach_null(analyze(load_demo()), 20)
    >>> list(r.null.period[:2])
    ['1-2', '2-3']
    """
    table = simulate_null(result, n_simulations, **options)
    return dataclasses.replace(result, null=table)
