"""Model-based slopes from every visit: the broken-stick mixed model (SPEC §14).

One linear mixed model per outcome uses every assessment of every treated patient:

    y_ij = β0 + β1·t_ij + Σ_k β_(k+1)·post_k,ij + b0_i + b1_i·t_ij (+ b2_i·post_1,ij) + ε_ij

with ``t`` in months from the patient's own first injection (negative in the run-in) and
``post_k = max(0, t − τ_ik)``, ``τ_ik`` the patient's k-th injection. A patient with fewer
than k injections has ``post_k = 0`` at every visit (the SPEC's "τ = 0" would make post_k
equal post_1; the term is absent instead). Knots exist for k = 1 … K, K the largest
injection number after which some patient has an assessment.

Reported (:func:`fit_slopes`), as declines in the outcome's units per month (positive =
losing function, as every rate of the kit):

- ``slope:reference`` = −β1, the decline before the first injection;
- ``slope:k-(k+1)`` = −(β1 + … + β_(k+1)), the decline after injection k (until injection
  k+1 for patients who had it); ``slope:after-K`` after the last knot;
- ``change:k`` = −β_(k+1), the change of the decline at injection k (negative = slower
  decline after it);

each with its standard error from the fitted covariance of the fixed effects V (a contrast
c'β has variance c'Vc) and a 95 % Wald interval (estimate ± 1.96 se; the calibration in
VALIDATION.md measures its coverage). V is the larger, contrast by contrast, of the
model-based covariance and the cluster-robust one (:func:`robust_covariance`): the random
effects cover the intercept, slope and change at injection 1 only, and when the decline
changes from period to period in a way the model does not describe (real natural history
does, SPEC §13) the model-based se of ``change:2`` … is too small (VALIDATION.md).

**Estimation.** REML (statsmodels ``MixedLM``, formula API), because with 20–40 patients ML
underestimates the random-effect variances and so the standard errors of the slopes.
**Random-effects structure, in this fixed fallback order**; the first fit that passes every
check is used and named in the ``structure`` column:

1. intercept + slope + change at injection 1, correlated (unstructured 3×3 covariance);
2. the same three, uncorrelated (diagonal covariance);
3. intercept + slope, correlated;
4. intercept + slope, uncorrelated;
5. intercept only.

A fit passes when the optimiser converged without a warning, every fixed-effect standard
error is finite and positive, and the random-effect covariance is not on the boundary of
its space (each variance above 1e-6 × the residual variance, correlation matrix not
singular). When no structure passes, the last one fitted is reported with
``converged = False``: its figures are shown, never silently replaced.

**Large cohorts.** ``MixedLM`` loops over patients in Python at every likelihood
evaluation; its time grows about linearly with the number of patients (BENCHMARKS.md).
With ``method="auto"`` (the default) a cohort of more than :data:`MIXED_MAX_PATIENTS`
patients gets the **two-stage** estimate instead (:func:`two_stage_slopes`): per-patient
least-squares broken-stick fits, then for each term a random-effects weighted mean of the
patients' estimates (DerSimonian–Laird weights) with a cluster-robust standard error.

Per-patient slopes (:attr:`SlopesResult.patients`) are shrunken estimates (BLUPs of the
mixed model; empirical-Bayes shrinkage of the per-patient fits in the two-stage method):
descriptive values, never responders.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from .errors import InputError, SettingsError
from .settings import Settings

if TYPE_CHECKING:
    from .analysis import AnalysisResult
    from .study import StudyData

__all__ = [
    "SLOPES_COLUMNS",
    "STRUCTURES",
    "MIXED_MAX_PATIENTS",
    "SlopesResult",
    "fit_slopes",
    "robust_covariance",
    "slope_design",
    "two_stage_slopes",
]

#: Columns of ``slopes.csv`` (SPEC §14).
SLOPES_COLUMNS = (
    "term",
    "estimate",
    "se",
    "ci_low",
    "ci_high",
    "n_patients",
    "n_visits",
    "structure",
    "converged",
)

#: Random-effects structures tried, in order: (name, random-effects formula, correlated).
STRUCTURES = (
    ("intercept + slope + change:1, correlated", "~t + post1", True),
    ("intercept + slope + change:1, uncorrelated", "~t + post1", False),
    ("intercept + slope, correlated", "~t", True),
    ("intercept + slope, uncorrelated", "~t", False),
    ("intercept only", "~1", True),
)

#: Above this many patients, ``method="auto"`` uses the two-stage estimate (BENCHMARKS.md:
#: the mixed model takes about 10 ms per patient of 12 visits here, 2,000 patients ~21 s;
#: the two-stage estimate 0.4 s, with the same figures to 0.002 points/month at that size).
MIXED_MAX_PATIENTS = 1000

#: Normal quantile of the 95 % intervals.
Z95 = 1.959963984540054

TWO_STAGE = "two-stage: per-patient least squares, random-effects weighted mean, robust se"


@dataclass
class SlopesResult:
    """The broken-stick model of one outcome (SPEC §14).

    Attributes
    ----------
    table : pandas.DataFrame
        ``slopes.csv``: ``term``, ``estimate``, ``se``, ``ci_low``, ``ci_high`` (outcome
        units per month; declines, positive = losing function; ``change:k`` negative =
        slower decline after injection k), ``n_patients``, ``n_visits``, ``structure``
        (random-effects structure fitted and estimation, e.g. ``"intercept + slope,
        correlated; REML"``), ``converged`` (bool).
    patients : pandas.DataFrame
        Shrunken per-patient values, descriptive only (never responders): ``patient_id``,
        ``n_visits``, ``slope:reference``, ``change:1``, ``slope:1-2`` (declines per month;
        ``slope:1-2`` is the decline after injection 1).
    attempts : pandas.DataFrame
        Every structure tried, in order: ``structure``, ``converged``, ``note``.
    outcome : str
        The visits column modelled.
    method : {'mixed', 'two-stage'}
        The estimator used.
    reml : bool
        REML (True) or ML.
    month_days : float
        Days per month used for ``t``.
    """

    table: pd.DataFrame
    patients: pd.DataFrame
    attempts: pd.DataFrame
    outcome: str
    method: str
    reml: bool
    month_days: float
    fit: Any = field(default=None, repr=False)

    @property
    def sentence(self) -> str:
        """One sentence for the report and the command line.

        Examples
        --------
        >>> from msc_notebooks import analyze, load_demo
        >>> print(fit_slopes(analyze(load_demo())).sentence)  # doctest: +ELLIPSIS
        Broken-stick mixed model (...REML) on ... visits of 19 patients: decline ... points/month before the first injection (95 % CI ...), ... after it; change at injection 1 ...; negative = slower decline).
        """
        t = self.table.set_index("term")
        if "change:1" not in t.index:
            return f"Broken-stick model of {self.outcome}: no assessment after an injection."
        units = "points/month" if self.outcome != "fvc_pct" else "percentage points/month"
        ref, after, ch = t.loc["slope:reference"], t.loc[_after_term(t.index)], t.loc["change:1"]
        kind = "mixed model" if self.method == "mixed" else "two-stage estimate"
        flag = "" if bool(ch.converged) else " (the fit did NOT converge: read with caution)"
        return (
            f"Broken-stick {kind} ({ref.structure}) on {int(t['n_visits'].max())} visits of "
            f"{int(t['n_patients'].max())} patients: decline {ref.estimate:.2f} {units} before "
            f"the first injection (95 % CI {ref.ci_low:.2f} to {ref.ci_high:.2f}), "
            f"{after.estimate:.2f} after it; change at injection 1 {ch.estimate:+.2f} "
            f"(95 % CI {ch.ci_low:.2f} to {ch.ci_high:.2f}; negative = slower decline){flag}."
        )


def _after_term(terms) -> str:
    """The name of the slope after injection 1 (``slope:1-2``, or ``slope:after-1``)."""
    return "slope:1-2" if "slope:1-2" in terms else "slope:after-1"


def _period_names(k_max: int) -> list[str]:
    """Names of the periods after each knot (none without a knot)."""
    if k_max == 0:
        return []
    return [f"{k}-{k + 1}" for k in range(1, k_max)] + [f"after-{k_max}"]


def slope_design(
    study: StudyData, outcome: str = "alsfrs_r_total", month_days: float = 365.25 / 12
) -> pd.DataFrame:
    """The model's data: one row per assessment of a treated patient (SPEC §14).

    Parameters
    ----------
    study : StudyData
        The validated study.
    outcome : str
        A numeric visits column (``alsfrs_r_total``, ``fvc_pct``, a domain, …).
    month_days : float
        Days per month (SPEC §2).

    Returns
    -------
    pandas.DataFrame
        ``patient_id``, ``y`` (the outcome), ``t`` (months from the patient's first
        injection), ``post1`` … ``postK`` (months since injection k, 0 before it and for
        patients without a k-th injection). K is the largest injection number after which
        some assessment exists. Patients without injections and visits without the
        outcome are left out.

    Examples
    --------
    >>> from msc_notebooks import load_demo
    >>> d = slope_design(load_demo())
    >>> d.columns.tolist()
    ['patient_id', 'y', 't', 'post1', 'post2', 'post3', 'post4']
    >>> d.patient_id.nunique(), bool((d.post1 <= d.t.clip(lower=0)).all())
    (19, True)
    """
    visits = study.visits
    if outcome not in visits.columns or not pd.api.types.is_numeric_dtype(visits[outcome]):
        numeric = ", ".join(
            visits.select_dtypes("number").columns.drop(["day", "row"], errors="ignore")
        )
        raise InputError(
            f"the outcome '{outcome}' is not a numeric column of the visits table",
            source=study.sources.get("visits"),
            column=outcome,
            fix=f"choose one of: {numeric}",
        )
    inj = study.injections
    v = visits.loc[visits[outcome].notna(), ["patient_id", "day", outcome]]
    first = inj.groupby("patient_id", sort=False)["day"].min()
    t1 = v["patient_id"].map(first)
    v = v.loc[t1.notna()]
    t1 = t1.loc[v.index].to_numpy(float)
    out = pd.DataFrame(
        {
            "patient_id": v["patient_id"].to_numpy(),
            "y": v[outcome].to_numpy(float),
            "t": (v["day"].to_numpy(float) - t1) / month_days,
        }
    )
    number = inj.groupby("patient_id", sort=False)["day"].rank(method="first").astype(int)
    k = 1
    while True:
        tau = inj.loc[number == k].set_index("patient_id")["day"]
        if tau.empty:
            break
        tau_t = (out["patient_id"].map(tau).to_numpy(float) - (t1)) / month_days
        post = np.where(np.isnan(tau_t), 0.0, np.maximum(0.0, out["t"].to_numpy() - tau_t))
        if not (post > 0).any():
            break
        out[f"post{k}"] = post
        k += 1
    return out


def _contrasts(k_max: int) -> dict[str, np.ndarray]:
    """Term name -> contrast over (Intercept, t, post1 … postK), as a decline (minus sign)."""
    p = k_max + 2
    terms: dict[str, np.ndarray] = {}
    c = np.zeros(p)
    c[1] = -1.0
    terms["slope:reference"] = c.copy()
    for k, name in enumerate(_period_names(k_max), start=1):
        c[k + 1] = -1.0
        terms[f"slope:{name}"] = c.copy()
    for k in range(1, k_max + 1):
        e = np.zeros(p)
        e[k + 1] = -1.0
        terms[f"change:{k}"] = e
    return terms


def _terms_table(
    beta, cov, k_max, n_patients, n_visits, structure, converged, robust=None
) -> pd.DataFrame:
    rows = []
    for term, c in _contrasts(k_max).items():
        est = float(c @ beta)
        var = c @ cov @ c
        if robust is not None:  # the larger of the model-based and robust variances
            var = max(var, c @ robust @ c)
        se = float(np.sqrt(max(var, 0.0)))
        rows.append((term, est, se, est - Z95 * se, est + Z95 * se))
    table = pd.DataFrame(rows, columns=["term", "estimate", "se", "ci_low", "ci_high"])
    table["n_patients"] = n_patients
    table["n_visits"] = n_visits
    table["structure"] = structure
    table["converged"] = bool(converged)
    return table[list(SLOPES_COLUMNS)]


def _passes(res, correlated: bool) -> tuple[bool, str]:
    """Whether a MixedLM fit passes the checks of the module docstring, and why not."""
    if not getattr(res, "converged", False):
        return False, "optimiser did not converge"
    k_fe = len(res.fe_params)
    bse = np.asarray(res.bse)[:k_fe]
    if not np.all(np.isfinite(bse)) or np.any(bse <= 0):
        return False, "fixed-effect standard errors not finite"
    cov_re = np.asarray(res.cov_re, dtype=float)
    var = np.diag(cov_re)
    if not np.all(np.isfinite(cov_re)) or np.any(var <= 1e-6 * float(res.scale)):
        return False, "a random-effect variance is zero (boundary fit)"
    if correlated and cov_re.shape[0] > 1:
        corr = cov_re / np.sqrt(np.outer(var, var))
        if np.linalg.eigvalsh(corr).min() < 1e-6:
            return False, "random effects perfectly correlated (boundary fit)"
    return True, ""


def _fit_one(data, formula, re_formula, correlated, reml):
    import statsmodels.formula.api as smf
    from statsmodels.regression.mixed_linear_model import MixedLMParams

    model = smf.mixedlm(formula, data, groups="patient_id", re_formula=re_formula)
    kwargs: dict[str, Any] = {"reml": reml}
    if not correlated:
        k_re = model.k_re
        kwargs["free"] = MixedLMParams.from_components(np.ones(model.k_fe), np.eye(k_re))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            res = model.fit(**kwargs)
        except (np.linalg.LinAlgError, ValueError) as exc:
            return None, f"fit failed: {exc}"
    from statsmodels.tools.sm_exceptions import ConvergenceWarning

    notes = sorted(
        {
            str(w.message).split("\n")[0]
            for w in caught
            if issubclass(w.category, ConvergenceWarning)
        }
    )
    return res, "; ".join(notes)


def robust_covariance(
    design: pd.DataFrame, beta: np.ndarray, cov_re: np.ndarray, scale: float, re_cols: list[str]
) -> np.ndarray:
    """Cluster-robust (sandwich, CR1) covariance of the fixed effects of a fitted mixed model.

    With V_i = Z_i G Z_i' + σ² I the fitted covariance of patient i's assessments,
    A = Σ X_i' V_i⁻¹ X_i and r_i = y_i − X_i β̂, it is
    m/(m − 1) · A⁻¹ (Σ X_i' V_i⁻¹ r_i r_i' V_i⁻¹ X_i) A⁻¹ over m patients: valid when the
    random-effects structure is wrong (e.g. the change at injection 2 varies between
    patients but the model has no random term for it).

    Parameters
    ----------
    design : pandas.DataFrame
        From :func:`slope_design`.
    beta : numpy.ndarray
        Fixed effects (Intercept, t, post1 … postK).
    cov_re : numpy.ndarray
        Fitted covariance G of the random effects (intercept first, then ``re_cols``).
    scale : float
        Residual variance σ².
    re_cols : list of str
        Design columns with a random slope (after the random intercept), e.g. ``["t"]``.

    Returns
    -------
    numpy.ndarray
        (K + 2) × (K + 2) covariance matrix.

    Examples
    --------
    >>> d = pd.DataFrame({"patient_id": list("aabbcc"), "y": [1.0, 2, 2, 3, 1, 3],
    ...                   "t": [0.0, 1] * 3})
    >>> v = robust_covariance(d, np.array([1.0, 1.0]), np.array([[0.0]]), 1.0, [])
    >>> v.shape
    (2, 2)
    """
    k_max = sum(c.startswith("post") for c in design.columns)
    xcols = ["t", *[f"post{k}" for k in range(1, k_max + 1)]]
    x_all = np.column_stack([np.ones(len(design)), design[xcols].to_numpy(float)])
    z_all = np.column_stack([np.ones(len(design)), design[re_cols].to_numpy(float)])
    y_all = design["y"].to_numpy(float)
    codes = pd.factorize(design["patient_id"], sort=False)[0]
    order = np.argsort(codes, kind="stable")
    bounds = np.flatnonzero(np.diff(codes[order])) + 1
    p = x_all.shape[1]
    bread, meat = np.zeros((p, p)), np.zeros((p, p))
    for idx in np.split(order, bounds):
        x, z, y = x_all[idx], z_all[idx], y_all[idx]
        v = z @ cov_re @ z.T + scale * np.eye(len(idx))
        xtw = np.linalg.solve(v, x).T  # X' V⁻¹ (V symmetric)
        bread += xtw @ x
        u = xtw @ (y - x @ beta)
        meat += np.outer(u, u)
    m = len(bounds) + 1
    inv = np.linalg.inv(bread)
    return m / max(m - 1, 1) * inv @ meat @ inv


def _mixed(design: pd.DataFrame, reml: bool):
    k_max = sum(c.startswith("post") for c in design.columns)
    formula = "y ~ t" + "".join(f" + post{k}" for k in range(1, k_max + 1))
    estimation = "REML" if reml else "ML"
    attempts, chosen = [], None
    for name, re_formula, correlated in STRUCTURES:
        if "post1" in re_formula and k_max == 0:
            continue
        res, note = _fit_one(design, formula, re_formula, correlated, reml)
        ok = False
        if res is not None:
            ok, why = _passes(res, correlated)
            ok = ok and not note  # a convergence warning fails the fit too
            note = "; ".join(x for x in (note, why) if x)
        attempts.append((f"{name}; {estimation}", ok, note))
        if res is not None:
            chosen = (f"{name}; {estimation}", res, ok, re_formula)
        if ok:
            break
    attempts = pd.DataFrame(attempts, columns=["structure", "converged", "note"])
    if chosen is None:
        raise InputError(
            "the broken-stick mixed model could not be fitted with any random-effects "
            "structure: " + "; ".join(attempts["note"]),
            column="slopes",
            fix="check that the patients have several assessments around their injections, "
            "or use method='two-stage'",
        )
    structure, res, ok, re_formula = chosen
    names = ["Intercept", "t", *[f"post{k}" for k in range(1, k_max + 1)]]
    beta = res.fe_params[names].to_numpy(float)
    cov = res.cov_params().loc[names, names].to_numpy(float)
    re_cols = [c.strip() for c in re_formula.lstrip("~").split("+") if c.strip() != "1"]
    robust = robust_covariance(
        design, beta, np.asarray(res.cov_re, float), float(res.scale), re_cols
    )
    n_patients, n_visits = design["patient_id"].nunique(), len(design)
    table = _terms_table(beta, cov, k_max, n_patients, n_visits, structure, ok, robust)
    # per-patient BLUPs (declines): fixed + random
    re = pd.DataFrame(res.random_effects).T
    counts = design.groupby("patient_id", sort=False).size()
    b_t = re["t"].to_numpy(float) if "t" in re else 0.0
    b_p = re["post1"].to_numpy(float) if "post1" in re else 0.0
    ref = -(beta[1] + b_t) * np.ones(len(re))
    change = -(beta[2] + b_p) * np.ones(len(re)) if k_max else np.full(len(re), np.nan)
    patients = pd.DataFrame(
        {
            "patient_id": re.index.to_numpy(),
            "n_visits": counts.reindex(re.index).to_numpy(int),
            "slope:reference": ref,
            "change:1": change,
            "slope:1-2": ref + change,
        }
    )
    return table, patients, attempts, res


def _per_patient_ols(design: pd.DataFrame):
    """Least-squares broken-stick fit per patient (the two-stage method's first stage).

    A knot after which the patient has too few assessments to separate the slopes is
    dropped together with the assessments after it (so the earlier slopes stay unbiased).
    """
    k_max = sum(c.startswith("post") for c in design.columns)
    p_all = k_max + 2
    codes, uniques = pd.factorize(design["patient_id"], sort=False)
    order = np.argsort(codes, kind="stable")
    x_all = np.column_stack(
        [np.ones(len(design)), design["t"].to_numpy(float)]
        + [design[f"post{k}"].to_numpy(float) for k in range(1, k_max + 1)]
    )[order]
    y_all = design["y"].to_numpy(float)[order]
    bounds = np.flatnonzero(np.diff(codes[order])) + 1
    fits = []
    for idx, (x, y) in enumerate(
        zip(np.split(x_all, bounds), np.split(y_all, bounds), strict=True)
    ):
        m = int(np.max(np.flatnonzero(np.any(x[:, 2:] > 0, axis=0)), initial=-1)) + 1
        keep = np.ones(len(y), bool)
        while True:
            p = m + 2
            xs = x[keep][:, :p]
            if keep.sum() >= p and np.linalg.matrix_rank(xs) == p:
                break
            if m == 0:
                xs = None
                break
            keep &= x[:, m + 1] <= 0  # drop the last knot and the visits after it
            m -= 1
        if xs is None:
            continue
        ys = y[keep]
        xtx_inv = np.linalg.inv(xs.T @ xs)
        beta = xtx_inv @ xs.T @ ys
        rss = float(np.sum((ys - xs @ beta) ** 2))
        b = np.full(p_all, np.nan)
        b[:p] = beta
        v = np.full((p_all, p_all), np.nan)
        v[:p, :p] = xtx_inv
        fits.append((uniques[idx], len(ys), p, b, v, rss, len(ys) - p))
    return fits, k_max


def two_stage_slopes(design: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The two-stage estimate of every term, for cohorts too large for the mixed model.

    Stage 1: each patient's own least-squares broken-stick fit (:func:`slope_design`
    columns). Stage 2, for each term: the patients whose fit identifies it give an estimate
    θ_i with variance v_i = σ²·c'(X_i'X_i)⁻¹c (σ² pooled over patients); the between-patient
    variance τ² is the DerSimonian–Laird moment estimate; the term is the weighted mean with
    weights w_i = 1/(v_i + τ²), and its standard error the cluster-robust
    sqrt(n/(n−1)·Σ w_i²(θ_i − θ̂)²)/Σ w_i (valid whatever the weights). 95 % CI:
    estimate ± 1.96 se.

    Parameters
    ----------
    design : pandas.DataFrame
        From :func:`slope_design`.

    Returns
    -------
    (table, patients)
        ``table`` with the columns of ``slopes.csv`` (``n_patients``/``n_visits`` count the
        patients whose fit identifies the term and their assessments); ``patients`` the
        empirical-Bayes shrunken per-patient values (columns of
        :attr:`SlopesResult.patients`; NaN where the patient's data do not identify it).

    Examples
    --------
    Three patients on exact lines (no noise): declines 1, 2 and 3 points/month before the
    first injection and 0.5 less after it; every patient's fit is exact, so the estimate is
    the mean of the patients' values, 2.0, and the change is -0.5.

    >>> rows = []
    >>> for i, rate in enumerate([1.0, 2.0, 3.0]):
    ...     for t in [-3.0, -2.0, -1.0, 0.0, 1.0, 2.0, 3.0]:
    ...         y = 40 - rate * t + 0.5 * max(0.0, t)
    ...         rows.append((f"p{i}", y, t, max(0.0, t)))
    >>> design = pd.DataFrame(rows, columns=["patient_id", "y", "t", "post1"])
    >>> table, _ = two_stage_slopes(design)
    >>> table.set_index("term").loc[["slope:reference", "change:1"], "estimate"].round(6).tolist()
    [2.0, -0.5]
    """
    fits, k_max = _per_patient_ols(design)
    if not fits:
        raise InputError(
            "no patient has enough assessments for a per-patient broken-stick fit",
            column="slopes",
            fix="each patient needs at least three assessments at distinct times",
        )
    ids = [f[0] for f in fits]
    n_vis = np.array([f[1] for f in fits])
    betas = np.array([f[3] for f in fits])
    xtx = np.array([f[4] for f in fits])
    rss = np.array([f[5] for f in fits])
    df = np.array([f[6] for f in fits])
    sigma2 = rss[df > 0].sum() / df[df > 0].sum() if (df > 0).any() else np.nan
    rows, shrunk = [], {}
    for term, c in _contrasts(k_max).items():
        nz = c != 0
        used = np.isfinite(betas[:, nz]).all(axis=1)
        theta = betas[used][:, nz] @ c[nz]
        v = sigma2 * np.einsum("i,nij,j->n", c[nz], xtx[used][:, nz][:, :, nz], c[nz])
        n = int(used.sum())
        if n == 0:
            rows.append((term, np.nan, np.nan, np.nan, np.nan, 0, 0))
            continue
        w = 1.0 / v
        mean_w = np.sum(w * theta) / w.sum()
        q = np.sum(w * (theta - mean_w) ** 2)
        denom = w.sum() - np.sum(w**2) / w.sum()
        tau2 = max(0.0, (q - (n - 1)) / denom) if denom > 0 else 0.0
        ws = 1.0 / (v + tau2)
        est = float(np.sum(ws * theta) / ws.sum())
        if n > 1:
            se = float(np.sqrt(n / (n - 1) * np.sum(ws**2 * (theta - est) ** 2)) / ws.sum())
        else:
            se = np.nan
        rows.append((term, est, se, est - Z95 * se, est + Z95 * se, n, int(n_vis[used].sum())))
        s = np.full(len(fits), np.nan)
        s[used] = est + tau2 / (tau2 + v) * (theta - est)
        shrunk[term] = s
    table = pd.DataFrame(
        rows, columns=["term", "estimate", "se", "ci_low", "ci_high", "n_patients", "n_visits"]
    )
    table["structure"] = TWO_STAGE
    table["converged"] = True
    after = _after_term(shrunk)
    patients = pd.DataFrame(
        {
            "patient_id": ids,
            "n_visits": n_vis,
            "slope:reference": shrunk.get("slope:reference"),
            "change:1": shrunk.get("change:1", np.full(len(ids), np.nan)),
            "slope:1-2": shrunk.get(after, np.full(len(ids), np.nan)),
        }
    )
    return table[list(SLOPES_COLUMNS)], patients


def fit_slopes(
    source: AnalysisResult | StudyData,
    settings: Settings | None = None,
    *,
    outcome: str | None = None,
    method: Literal["auto", "mixed", "two-stage"] = "auto",
    reml: bool = True,
) -> SlopesResult:
    """Fit the broken-stick model of SPEC §14 to one outcome.

    Parameters
    ----------
    source : AnalysisResult or StudyData
        A result of :func:`msc_notebooks.analyze` (its study and settings are used) or a
        study.
    settings : Settings, optional
        For ``month_days`` and the default outcome (default: the result's, else SPEC's).
    outcome : str, optional
        Visits column to model (default: the settings' outcome, ALSFRS-R total). FVC
        (``fvc_pct``) and the domains (``bulbar``, ``fine_motor``, ``gross_motor``,
        ``respiratory``) go through the same model.
    method : {'auto', 'mixed', 'two-stage'}
        ``auto``: the mixed model up to :data:`MIXED_MAX_PATIENTS` patients, the two-stage
        estimate above.
    reml : bool, default True
        REML (default) or ML estimation of the mixed model.

    Returns
    -------
    SlopesResult
        ``.table`` is ``slopes.csv`` (columns :data:`SLOPES_COLUMNS`), ``.patients`` the
        shrunken per-patient values, ``.attempts`` the structures tried.

    Examples
    --------
    >>> from msc_notebooks import analyze, load_demo
    >>> s = fit_slopes(analyze(load_demo()))
    >>> s.table.term.tolist()[:3], s.method
    (['slope:reference', 'slope:1-2', 'slope:2-3'], 'mixed')
    >>> t = s.table.set_index("term")
    >>> bool(t.loc["change:1", "ci_low"] < t.loc["change:1", "estimate"] < t.loc["change:1", "ci_high"])
    True
    >>> fit_slopes(load_demo(), outcome="fvc_pct").outcome
    'fvc_pct'
    """
    from .study import StudyData

    if isinstance(source, StudyData):
        study, s = source, settings or Settings()
    else:
        study, s = source.study, settings or source.settings
    if method not in ("auto", "mixed", "two-stage"):
        raise SettingsError(f"method must be one of 'auto', 'mixed', 'two-stage', not {method!r}")
    outcome = outcome or s.outcome
    design = slope_design(study, outcome, s.month_days)
    n_patients = design["patient_id"].nunique()
    if n_patients == 0:
        raise InputError(
            f"no treated patient has an assessment of '{outcome}'",
            column=outcome,
            fix="check the injections table and the outcome column",
        )
    if method == "auto":
        method = "mixed" if n_patients <= MIXED_MAX_PATIENTS else "two-stage"
    if method == "mixed":
        if n_patients < 3:
            raise InputError(
                f"the mixed model needs at least 3 patients; {n_patients} have '{outcome}'",
                column=outcome,
                fix="fit it to a larger cohort",
            )
        table, patients, attempts, res = _mixed(design, reml)
    else:
        table, patients = two_stage_slopes(design)
        attempts = pd.DataFrame([(TWO_STAGE, True, "")], columns=["structure", "converged", "note"])
        res = None
    return SlopesResult(
        table=table,
        patients=patients,
        attempts=attempts,
        outcome=outcome,
        method=method,
        reml=reml,
        month_days=s.month_days,
        fit=res,
    )
