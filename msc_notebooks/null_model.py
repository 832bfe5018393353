"""Responders expected with no treatment effect: simulated no-effect cohorts (SPEC §13).

Two-point progression rates over a few months are noisy, so "> 25 % slower decline"
happens without any treatment. :func:`simulate_null` says how many responders a cohort
with *no* effect would show, at the patients' own assessment and injection times, under
the same settings and rules.

The model (SPEC §13)
--------------------
Each simulated patient declines at a constant true rate ``b`` (points/month) through the
whole follow-up: ``score(t) = a - b (t - T1) / month + N(0, sigma^2)``, rounded to whole
points (half up) and kept in 0..max (48 for ALSFRS-R; no upper bound for an outcome
without a known maximum).

- ``sigma``: the pooled residual standard deviation of per-patient least-squares lines
  over the run-in (assessments up to the first injection day; patients with at least 3
  such assessments): ``sqrt(sum RSS / sum (n_i - 2))``. When the scores are whole
  numbers, the variance of rounding (1/12 point^2, Sheppard's correction) is removed, so
  that ``sigma`` is the noise *before* rounding, as the model adds it.
- True rates ``b``: drawn independently for every simulated patient from
  ``N(mu, tau^2)``, the distribution of *true* reference rates. ``mu`` is the mean of the
  observed reference rates; ``tau^2 = max(var(observed) - mean(noise_i), floor)``
  (method of moments, empirical Bayes), where ``noise_i`` is the sampling variance of the
  patient's observed reference rate: ``2 s^2 / months_i^2`` for the run-in endpoints
  rate (two noisy scores), ``s^2 / Sxx_i`` (months^2) for the run-in least-squares rate,
  ``s^2 / months_i^2`` for the onset rate (one noisy score), with ``s^2`` the
  per-assessment variance after rounding (``sigma^2 + 1/12`` for whole-point scores).
  The floor is ``0.01 var(observed)`` (a tenth of the observed SD).
  Why draws and not each patient's own (shrunk) rate: an observed reference rate shares
  its last assessment with period 1-2, so a patient whose score at T1 was low by chance
  looks like a fast decliner *and* a responder. Tying a simulated patient's true rate to
  its observed rate (even shrunk) correlates the simulated counts with the observed
  noise and under-counts false responders; draws from ``N(mu, tau^2)`` give the
  no-effect distribution of the count itself (checked by ``validation/calibrate_null.py``,
  see VALIDATION.md).
- Intercept ``a``: the patient's run-in least-squares line at the first injection
  (patients with 2+ run-in assessments), otherwise the observed score at the first
  injection, otherwise the patient's mean score.

How it is computed
------------------
The engine's own :func:`msc_notebooks.progression.compute_periods` is run once on the
real schedule with *probe* scores (each assessment's position), which gives, for every
period row, the two assessments used (or the range, for ``ols``) and whether the period
is evaluable by its days. Scores never change which assessments a period uses, so every
simulation reuses that structure: the simulated scores of all simulations form one
matrix, and rates, improvement and responders are computed on it at once with the rules
of :mod:`msc_notebooks.responders` (in chunks of simulations, to bound memory).
:func:`engine_null_counts` runs the same simulation through ``compute_periods`` and
``classify`` for a few simulations; the tests check the two agree.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .columns import OUTCOME_MAX
from .errors import Fix, InputError, Option
from .progression import ZERO_RATE, compute_periods
from .responders import absolute_responder, classify, improvement_pct, relative_responder
from .settings import Settings
from .study import StudyData

if TYPE_CHECKING:
    from .analysis import AnalysisResult

__all__ = [
    "NULL_COLUMNS",
    "attach_null",
    "engine_null_counts",
    "benchmark_null",
    "estimate_sigma",
    "no_effect_cohort",
    "simulate_null",
    "true_rate_distribution",
]

#: Columns of :func:`simulate_null`.
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
)

#: Variance of rounding a continuous score to whole points (Sheppard's correction).
ROUNDING_VARIANCE = 1.0 / 12.0

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
    scores are whole numbers, the rounding variance 1/12 is removed (Sheppard's
    correction), so the value is the noise SD before rounding.

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
    """
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
    if _whole_numbers(a["score"].to_numpy(dtype=float)):
        var = max(var - ROUNDING_VARIANCE, 0.0)
    return float(np.sqrt(var)), int(len(use))


def true_rate_distribution(
    rates: pd.DataFrame,
    visits: pd.DataFrame,
    injections: pd.DataFrame,
    sigma: float,
    settings: Settings | None = None,
) -> tuple[float, float]:
    """Mean and SD of the *true* reference rates (SPEC §13, empirical Bayes).

    ``tau^2 = max(var(observed) - mean(noise_i), floor)``: the observed reference rates'
    spread minus their measurement noise (see the module docstring for ``noise_i``).

    Parameters
    ----------
    rates : pandas.DataFrame
        The rate table (:func:`msc_notebooks.progression.compute_periods`).
    visits, injections : pandas.DataFrame
        Canonical tables.
    sigma : float
        Noise SD before rounding (outcome points).
    settings : Settings, optional

    Returns
    -------
    (float, float)
        Mean and SD (points/month).

    Examples
    --------
    Observed reference rates 0.5 and 1.5 over 3 months with sigma 0: tau = SD = 0.7071.

    >>> r = pd.DataFrame({"patient_id": ["a", "b"], "period": ["reference"] * 2,
    ...                   "months": [3.0, 3.0], "rate": [0.5, 1.5]})
    >>> v = pd.DataFrame({"patient_id": ["a", "b"], "day": [0.0, 0.0],
    ...                   "alsfrs_r_total": [40.5, 40.0]})
    >>> i = pd.DataFrame({"patient_id": ["a", "b"], "day": [91.3, 91.3]})
    >>> [round(x, 4) for x in true_rate_distribution(r, v, i, 0.0)]
    [1.0, 0.7071]
    """
    s = settings or Settings()
    ref = rates[(rates["period"] == "reference") & rates["rate"].notna()]
    if ref.empty:
        raise InputError(
            "no patient has an evaluable reference (pre-treatment) rate, so the no-effect "
            "rates cannot be estimated",
            source="visits",
            fix=Fix("check the run-in assessments (SPEC §4) or use ", Option("reference", "onset")),
        )
    obs = ref["rate"].to_numpy(dtype=float)
    months = ref["months"].to_numpy(dtype=float)
    t1 = injections.groupby("patient_id")["day"].min()
    score = visits[s.outcome].dropna().to_numpy(dtype=float)
    s2 = sigma**2 + (ROUNDING_VARIANCE if _whole_numbers(score) else 0.0)
    if s.reference == "onset":
        noise = s2 / months**2
    elif s.method == "ols":
        fits = _runin_fits(_assessments(visits, s.outcome, t1.index), t1).set_index("patient_id")
        sxx = ref["patient_id"].map(fits["sxx"]).to_numpy(dtype=float) / s.month_days**2
        noise = np.where(sxx > 0, s2 / sxx, 2 * s2 / months**2)
    else:
        noise = 2 * s2 / months**2
    mu = float(obs.mean())
    var = float(obs.var(ddof=1)) if len(obs) > 1 else 0.0
    var = var if var > 1e-12 else 0.0
    tau2 = max(var - float(np.mean(noise)), 0.01 * var)
    return mu, float(np.sqrt(tau2))


def _probe(a: pd.DataFrame, study, s: Settings) -> pd.DataFrame:
    """Run the engine on probe scores (assessment positions): which assessments each
    period uses, and whether it is evaluable by its days."""
    probe = pd.DataFrame(
        {"patient_id": a["patient_id"], "day": a["day"], s.outcome: np.arange(len(a), dtype=float)}
    )
    inj = study.injections[study.injections["patient_id"].isin(a["patient_id"].unique())]
    return compute_periods(probe, inj, study.patients, s).reset_index(drop=True)


def _simulate_counts(
    result: AnalysisResult,
    n_simulations: int,
    sigma: float,
    mu: float,
    tau: float,
    rng: np.random.Generator,
    engine: bool = False,
) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Responder and absolute-responder counts, simulations x periods.

    ``engine=True`` classifies the same simulated scores through ``compute_periods`` and
    ``classify`` instead (slow; for checking the fast path)."""
    s = result.settings
    study = result.study
    rates = result.rates
    pids = rates.loc[rates["period"] == "reference", "patient_id"].unique()
    a = _assessments(study.visits, s.outcome, pids)
    tmpl = _probe(a, study, s)
    periods = [p for p in result.summary["period"] if p != "reference"]

    # per-assessment facts
    pat_codes, pat_index = pd.factorize(a["patient_id"])
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
    top = OUTCOME_MAX.get(s.outcome, np.inf)

    # template rows
    row_pid = pd.Index(pat_index).get_indexer(tmpl["patient_id"])
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

    if s.method == "ols":
        weights = np.zeros((len(a), len(tmpl)))
        need = ok & ~onset_ref
        for k in np.flatnonzero(need):  # one row per patient-period, not per simulation
            rows = np.arange(sp_i[k], ep_i[k] + 1)
            x = months_from_t1[rows]
            dx = x - x.mean()
            weights[rows, k] = -dx / (dx @ dx)

    # only the assessments some evaluable-by-days period uses get simulated noise, and only
    # those period rows get rates (the others cannot change any count)
    sel = np.flatnonzero(ok)
    used = np.zeros(len(a), dtype=bool)
    used[ep_i[sel]] = True
    used[sp_i[ok & ~onset_ref]] = True
    if s.method == "ols":
        used |= (weights != 0).any(axis=1)
    cols = np.flatnonzero(used)
    remap = np.full(len(a), -1, dtype=np.int64)
    remap[cols] = np.arange(len(cols))
    sp_s, ep_s = remap[sp_i[sel]], remap[ep_i[sel]]
    months_s = months[sel]
    is_ref_s = is_ref[sel]
    in_sel = np.full(len(tmpl), 0, dtype=np.int64)
    in_sel[sel] = np.arange(len(sel))
    ref_s = in_sel[np.maximum(ref_idx[sel], 0)]
    cand_s = cand[sel]
    ind_s = ind[sel]
    w_s = weights[cols][:, sel] if s.method == "ols" else None
    line_icpt, line_months, line_pat = intercept_a[cols], months_from_t1[cols], pat_codes[cols]

    chunk = max(1, _CHUNK_CELLS // max(len(cols), 1))
    counts = np.zeros((n_simulations, len(periods)), dtype=np.int64)
    counts_abs = np.zeros((n_simulations, len(periods)), dtype=np.int64)
    for lo in range(0, n_simulations, chunk):
        m = min(chunk, n_simulations - lo)
        b = rng.normal(mu, tau, size=(m, n_pat))
        noise = rng.normal(0.0, 1.0, size=(m, len(cols))) * sigma
        y = line_icpt[None, :] - b[:, line_pat] * line_months[None, :] + noise
        y = np.clip(np.floor(y + 0.5), 0.0, top)
        if engine:  # unused assessments: the line itself (they change no rate)
            full = intercept_a[None, :] - b[:, pat_codes] * months_from_t1[None, :]
            full = np.clip(np.floor(full + 0.5), 0.0, top)
            full[:, cols] = y
            c, ca = _engine_counts(full, a, study, s, periods)
            counts[lo : lo + m], counts_abs[lo : lo + m] = c, ca
            continue
        if s.method == "ols":
            rate = y @ w_s
        else:
            with np.errstate(invalid="ignore", divide="ignore"):
                rate = (y[:, sp_s] - y[:, ep_s]) / months_s[None, :]
        if s.reference == "onset":
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
    return periods, counts, counts_abs


def _engine_counts(
    y: np.ndarray, a: pd.DataFrame, study, s: Settings, periods: list[str]
) -> tuple[np.ndarray, np.ndarray]:
    """Counts of one chunk through the engine: every simulation's patients as extra
    patients ``"{sim}:{patient}"`` in one compute_periods/classify call."""
    m = y.shape[0]
    pid = a["patient_id"].astype(str).to_numpy()
    sim = np.repeat(np.arange(m), len(a))
    ids = pd.Series(sim.astype(str)).str.cat(pd.Series(np.tile(pid, m)), sep=":")
    visits = pd.DataFrame(
        {"patient_id": ids.to_numpy(), "day": np.tile(a["day"].to_numpy(), m), s.outcome: y.ravel()}
    )
    inj = study.injections[study.injections["patient_id"].isin(a["patient_id"].unique())]
    inj_ids = pd.Series(np.repeat(np.arange(m), len(inj)).astype(str)).str.cat(
        pd.Series(np.tile(inj["patient_id"].astype(str).to_numpy(), m)), sep=":"
    )
    injections = pd.DataFrame({"patient_id": inj_ids.to_numpy(), "day": np.tile(inj["day"], m)})
    patients = None
    if study.patients is not None and "onset_day" in study.patients:
        pat = study.patients
        pat_ids = pd.Series(np.repeat(np.arange(m), len(pat)).astype(str)).str.cat(
            pd.Series(np.tile(pat["patient_id"].astype(str).to_numpy(), m)), sep=":"
        )
        patients = pd.DataFrame(
            {"patient_id": pat_ids.to_numpy(), "onset_day": np.tile(pat["onset_day"], m)}
        )
    table = classify(compute_periods(visits, injections, patients, s), s)
    ev = table[table["evaluable"].astype(bool) & table["period"].isin(periods)]
    sim_of = ev["patient_id"].str.split(":", n=1).str[0].astype(int).to_numpy()
    col = pd.Index(periods).get_indexer(ev["period"])
    counts = np.zeros((m, len(periods)), dtype=np.int64)
    counts_abs = np.zeros((m, len(periods)), dtype=np.int64)
    np.add.at(counts, (sim_of, col), ev["responder"].fillna(False).astype(int).to_numpy())
    np.add.at(
        counts_abs, (sim_of, col), ev["absolute_responder"].fillna(False).astype(int).to_numpy()
    )
    return counts, counts_abs


def _parameters(result: AnalysisResult, sigma: float | None) -> tuple[float, int, float, float]:
    s = result.settings
    study = result.study
    if sigma is None:
        sigma_value, sigma_n = estimate_sigma(study.visits, study.injections, s.outcome)
    else:
        sigma_value, sigma_n = float(sigma), 0
        if not sigma_value >= 0:
            raise InputError(
                f"sigma must be zero or more, not {sigma!r}", fix=Fix("e.g. ", Option("sigma", 1.5))
            )
    mu, tau = true_rate_distribution(result.rates, study.visits, study.injections, sigma_value, s)
    return sigma_value, sigma_n, mu, tau


def engine_null_counts(
    result: AnalysisResult,
    n_simulations: int = 20,
    *,
    sigma: float | None = None,
    seed: int | None = None,
    engine: bool = True,
) -> pd.DataFrame:
    """Responder counts of every simulated cohort (the draws of :func:`simulate_null`).

    With ``engine=True`` the simulated cohorts go through the engine itself
    (:func:`~msc_notebooks.progression.compute_periods` and
    :func:`~msc_notebooks.responders.classify`, every simulation's patients stacked as
    patients ``"{sim}:{patient}"``); with ``engine=False`` through the fast matrix path
    :func:`simulate_null` uses. Same seed, same draws: the two must agree.

    Returns
    -------
    pandas.DataFrame
        ``simulation``, ``period``, ``n_responders``, ``n_absolute_responders``.

    Examples
    --------
    >>> from msc_notebooks import analyze, load_demo
    >>> r = analyze(load_demo())
    >>> engine_null_counts(r, 3).equals(engine_null_counts(r, 3, engine=False))
    True
    """
    sigma_value, _, mu, tau = _parameters(result, sigma)
    rng = np.random.default_rng(result.settings.seed if seed is None else seed)
    periods, counts, counts_abs = _simulate_counts(
        result, int(n_simulations), sigma_value, mu, tau, rng, engine=engine
    )
    n = int(n_simulations)
    return pd.DataFrame(
        {
            "simulation": np.repeat(np.arange(n), len(periods)),
            "period": np.tile(np.array(periods, dtype=object), n),
            "n_responders": counts.ravel(),
            "n_absolute_responders": counts_abs.ravel(),
        }
    )


def simulate_null(
    result: AnalysisResult,
    n_simulations: int = 2000,
    *,
    sigma: float | None = None,
    seed: int | None = None,
) -> pd.DataFrame:
    """Responders expected with no treatment effect, per period (SPEC §13).

    Parameters
    ----------
    result : AnalysisResult
        From :func:`msc_notebooks.analyze`; its settings, schedule and assessment days are
        reused.
    n_simulations : int, default 2000
        Number of simulated no-effect cohorts.
    sigma : float, optional
        Visit-to-visit noise SD before rounding (outcome points). Default: estimated from
        the run-in (:func:`estimate_sigma`).
    seed : int, optional
        Random seed (default ``result.settings.seed``): same seed, same numbers.

    Returns
    -------
    pandas.DataFrame
        One row per period of ``result.summary`` except ``reference``
        (:data:`NULL_COLUMNS`): ``period``, ``n_evaluable`` (observed), ``observed_responders``,
        ``expected_responders`` (mean over simulations), ``expected_low``, ``expected_high``
        (2.5 and 97.5 % of the simulated counts), ``p_value`` (share of simulations with at
        least as many responders as observed), the same for absolute responders
        (``observed_absolute_responders``, ``expected_absolute_responders``,
        ``expected_absolute_low``, ``expected_absolute_high``, ``p_value_absolute``),
        ``sigma`` (points), ``sigma_n_patients`` (patients sigma was estimated from; 0 when
        given), ``true_rate_mean``, ``true_rate_sd`` (points/month, the distribution the
        true rates were drawn from), ``n_simulations``.

    Examples
    --------
    >>> from msc_notebooks import analyze, load_demo
    >>> null = simulate_null(analyze(load_demo()), 50, seed=1)
    >>> row = null.set_index("period").loc["1-2"]
    >>> int(row.observed_responders), int(row.n_evaluable), 0 <= row.expected_responders <= 19
    (15, 19, True)
    """
    n_simulations = int(n_simulations)
    if n_simulations < 1:
        raise InputError(
            "n_simulations must be at least 1", fix=Fix("use e.g. ", Option("n_simulations", 2000))
        )
    s = result.settings
    sigma_value, sigma_n, mu, tau = _parameters(result, sigma)
    rng = np.random.default_rng(s.seed if seed is None else seed)
    periods, counts, counts_abs = _simulate_counts(result, n_simulations, sigma_value, mu, tau, rng)
    summ = result.summary.set_index("period")
    obs = summ["n_responders"].reindex(periods).fillna(0).to_numpy(dtype=np.int64)
    obs_abs = summ["n_absolute_responders"].reindex(periods).fillna(0).to_numpy(dtype=np.int64)
    n_ev = summ["n_evaluable"].reindex(periods).fillna(0).to_numpy(dtype=np.int64)
    out = pd.DataFrame(
        {
            "period": periods,
            "n_evaluable": n_ev,
            "observed_responders": obs,
            "expected_responders": counts.mean(axis=0),
            "expected_low": np.percentile(counts, 2.5, axis=0),
            "expected_high": np.percentile(counts, 97.5, axis=0),
            "p_value": (counts >= obs[None, :]).mean(axis=0),
            "observed_absolute_responders": obs_abs,
            "expected_absolute_responders": counts_abs.mean(axis=0),
            "expected_absolute_low": np.percentile(counts_abs, 2.5, axis=0),
            "expected_absolute_high": np.percentile(counts_abs, 97.5, axis=0),
            "p_value_absolute": (counts_abs >= obs_abs[None, :]).mean(axis=0),
            "sigma": sigma_value,
            "sigma_n_patients": sigma_n,
            "true_rate_mean": mu,
            "true_rate_sd": tau,
            "n_simulations": n_simulations,
        }
    )
    return out[list(NULL_COLUMNS)]


def attach_null(
    result: AnalysisResult,
    n_simulations: int = 2000,
    *,
    sigma: float | None = None,
    seed: int | None = None,
) -> AnalysisResult:
    """Return a copy of ``result`` with ``.null`` filled by :func:`simulate_null`.

    Examples
    --------
    >>> from msc_notebooks import analyze, load_demo
    >>> r = attach_null(analyze(load_demo()), 20)
    >>> list(r.null.period[:2])
    ['1-2', '2-3']
    """
    table = simulate_null(result, n_simulations, sigma=sigma, seed=seed)
    return dataclasses.replace(result, null=table)


def no_effect_cohort(
    n_patients: int = 100,
    *,
    rate_mean: float = 1.0,
    rate_sd: float = 0.3,
    sigma: float = 1.5,
    seed: int = 0,
) -> StudyData:
    """A synthetic cohort with NO treatment effect, at a trial-like design (SPEC §13).

    Monthly visits (up to 4 days' jitter; none at day 0 and on injection days), a run-in
    of 3-6 months, 2-4 injections 3-6 months apart, follow-up 3-6 months after the last.
    Each patient declines at a constant true rate from N(rate_mean, rate_sd^2) clipped at
    0.05 points/month, from a start score uniform in 30-44; scores are the line plus
    N(0, sigma^2), rounded to whole points and kept in 0-48. Used by the calibration
    script (``validation/calibrate_null.py``) and the speed benchmark.

    Parameters
    ----------
    n_patients : int, default 100
    rate_mean, rate_sd : float
        True decline rates, points/month.
    sigma : float, default 1.5
        Visit-to-visit noise SD, points.
    seed : int, default 0

    Returns
    -------
    StudyData
        Read through :func:`msc_notebooks.read_study` (days, ``time_kind='day'``).

    Examples
    --------
    >>> study = no_effect_cohort(5, seed=1)
    >>> study.injections.patient_id.nunique(), study.time_kind
    (5, 'day')
    """
    from .loading import read_study

    rng = np.random.default_rng(seed)
    n = int(n_patients)
    runin = rng.integers(3, 7, n)
    n_inj = rng.integers(2, 5, n)
    gaps = rng.integers(3, 7, (n, 3))
    after = rng.integers(3, 7, n)
    rate = np.maximum(rng.normal(rate_mean, rate_sd, n), 0.05)
    start = rng.uniform(30, 44, n)
    md = 365.25 / 12
    visits, injections = [], []
    for p in range(n):  # builds the input tables only; the analysis is vectorised
        inj_month = runin[p] + np.concatenate([[0], np.cumsum(gaps[p, : n_inj[p] - 1])])
        months = np.arange(inj_month[-1] + after[p] + 1)
        jitter = rng.integers(-4, 5, len(months))
        jitter[np.isin(months, inj_month) | (months == 0)] = 0
        day = np.round(months * md) + jitter
        score = start[p] - rate[p] * day / md + rng.normal(0.0, sigma, len(day))
        score = np.clip(np.floor(score + 0.5), 0, 48)
        pid = f"S{p:03d}"
        visits.append(pd.DataFrame({"patient_id": pid, "day": day, "alsfrs_r_total": score}))
        injections.append(pd.DataFrame({"patient_id": pid, "day": np.round(inj_month * md)}))
    return read_study(
        pd.concat(visits, ignore_index=True), pd.concat(injections, ignore_index=True)
    )


def benchmark_null(
    n_patients: int = 100, n_simulations: int = 2000, *, repeat: int = 3, seed: int = 0
) -> float:
    """Seconds (best of ``repeat``) for :func:`simulate_null` on a no-effect cohort.

    The target (issue #10): 2,000 simulations of a 100-patient cohort in at most 2 s.

    Examples
    --------
    >>> benchmark_null(10, 20, repeat=1) < 10
    True
    """
    import time

    from .analysis import analyze

    result = analyze(no_effect_cohort(n_patients, seed=seed), safety=False)
    best = float("inf")
    for _ in range(int(repeat)):
        t0 = time.perf_counter()
        simulate_null(result, n_simulations, seed=seed)
        best = min(best, time.perf_counter() - t0)
    return best
