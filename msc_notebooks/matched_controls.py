"""Matched natural-history controls (SPEC §15): untreated patients who looked the same at T1.

An uncontrolled trial's fairest comparison is with untreated patients who, when treatment
started, had the same reference rate, the same score and (where known) the same time since
symptom onset. This module

1. lists the **candidate anchors** of a natural-history cohort
   (:func:`candidate_anchors`): every assessment of an untreated patient with enough
   history before it (the reference rules of SPEC §4, applied by the kit's own
   :func:`~msc_notebooks.progression.compute_periods` with one virtual injection at the
   assessment) and follow-up after it (an assessment at least ``min_span_days`` later:
   the kit's ``after-last`` rule);
2. **matches** each treated patient at T1 to up to ``k`` anchors (:func:`match_anchors`):
   Euclidean distance on the matching variables standardised by the anchors' standard
   deviations, nearest first, one anchor per untreated patient per treated patient (the
   patient's nearest), with replacement across treated patients, within a caliper;
3. gives each matched control **virtual injections** at its treated patient's own
   intervals from the anchor and applies the same rules (SPEC §3-6) with
   :func:`~msc_notebooks.progression.compute_periods` and
   :func:`~msc_notebooks.responders.classify`: no rule is written twice;
4. compares, per period, the treated and matched-control responder rates and median
   improvements, with a 95 % percentile bootstrap CI of the differences over treated
   patients (each resampled with its matched set) (:func:`compare_matched`), and gives the
   balance table (:func:`balance_table`).

Choices the SPEC leaves open (README "Decisions")
-------------------------------------------------
- Matching variables: ``reference_rate`` (points/month), ``score`` (the score at T1, the
  outcome's units) and ``months_from_onset`` (months from symptom onset to T1). The onset
  term is used for a treated patient whose onset is known when at least one anchor has a
  known onset; anchors without a known onset are then not candidates for that patient.
- Standardisation: each variable is divided by its standard deviation over the candidate
  anchors (ddof 1; 1 when that is 0 or undefined). The caliper is on the Euclidean
  distance in those units (default 0.5).
- A matched control keeps every virtual injection of its treated patient's schedule, even
  after its own follow-up ends: it then is not evaluable in the later periods (with the
  reason), exactly as a treated patient without an assessment would be. Both arms are
  judged over the same intervals.
- Rates per period are pooled: treated responders / treated patients evaluable (matched
  treated patients only), control responders / evaluable controls of those patients' sets.
  Medians likewise over the pooled evaluable improvements. Treated patients without a
  match are counted (``n_unmatched``) and left out of both arms.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .errors import Fix, InputError, Option
from .progression import compute_periods
from .responders import classify
from .settings import Settings
from .study import StudyData
from .summary import period_order
from .table_format import count_of

__all__ = [
    "MATCHED_COLUMNS",
    "BALANCE_COLUMNS",
    "PAIRS_COLUMNS",
    "MATCH_VARIABLES",
    "MatchedControls",
    "candidate_anchors",
    "treated_baseline",
    "match_anchors",
    "control_periods",
    "compare_matched",
    "balance_table",
    "match_controls",
    "attach_matched",
]

#: The matching variables, in order.
MATCH_VARIABLES = ("reference_rate", "score", "months_from_onset")

#: Columns of ``matched_controls.csv`` (SPEC §15), one row per period.
MATCHED_COLUMNS = (
    "period",
    "n_treated",
    "n_matched",
    "n_unmatched",
    "treated_responder_pct",
    "control_responder_pct",
    "difference_pct",
    "difference_ci_low",
    "difference_ci_high",
    "treated_median_improvement_pct",
    "control_median_improvement_pct",
    "median_difference_ci_low",
    "median_difference_ci_high",
)

#: Columns of ``matching_balance.csv``, one row per matching variable.
BALANCE_COLUMNS = (
    "variable",
    "n_treated",
    "treated_mean",
    "n_pool",
    "pool_mean",
    "n_matched",
    "matched_mean",
    "pooled_sd",
    "smd_before",
    "smd_after",
)

#: Columns of the matched pairs table, one row per treated patient and matched control.
PAIRS_COLUMNS = (
    "treated_id",
    "control_id",
    "anchor_day",
    "rank",
    "distance",
    *(f"control_{v}" for v in MATCH_VARIABLES),
)

DEFAULT_K = 5
DEFAULT_CALIPER = 0.5


def _onset_of(patients: pd.DataFrame | None, ids: pd.Series) -> np.ndarray:
    """Onset day of each id (NaN where unknown)."""
    if patients is None or "onset_day" not in patients or not len(patients):
        return np.full(len(ids), np.nan)
    onset = patients.drop_duplicates("patient_id").set_index("patient_id")["onset_day"]
    return ids.map(onset).to_numpy(dtype=float, na_value=np.nan)


def candidate_anchors(study: StudyData, settings: Settings | None = None) -> pd.DataFrame:
    """Every assessment of an untreated patient that can stand for a treated patient's T1.

    An assessment is a candidate when the reference rate up to it is computable by the rules
    of SPEC §4 (run-in: the patient's first assessment at least ``min_span_days`` before;
    onset: a known onset before it) and an assessment follows at least ``min_span_days``
    after it (the ``after-last`` rule of SPEC §12). Both are decided by
    :func:`~msc_notebooks.progression.compute_periods` itself, run with one virtual injection
    at the assessment.

    Parameters
    ----------
    study : StudyData
        The natural-history cohort (its injection table is ignored).
    settings : Settings, optional
        Given to :func:`~msc_notebooks.progression.compute_periods` (the same rate
        settings and outcome as the trial's analysis).

    Returns
    -------
    pandas.DataFrame
        One row per candidate anchor, sorted by patient and day: ``patient_id``,
        ``anchor_day`` (days, the patient's own time), ``reference_rate`` (points/month,
        may be <= 0), ``score`` (the score at the anchor), ``months_from_onset`` (months
        from onset to the anchor; NaN where onset is unknown).

    Examples
    --------
    Assessments at days 0, 20, 60, 120: day 0 and 20 lack a run-in of 28 days, day 120 has
    no follow-up, so day 60 is the one anchor: rate (40 - 38) / (60 / 30.4375) = 1.0146.

    >>> from msc_notebooks import read_study
    >>> v = pd.DataFrame({"subject_id": ["1"] * 4, "ALSFRS_Delta": [0, 20, 60, 120],
    ...                   "ALSFRS_R_Total": [40, 40, 38, 37]})
    >>> a = candidate_anchors(read_study(v))
    >>> a[["patient_id", "anchor_day", "score"]].values.tolist()
    [['1', 60.0, 38.0]]
    >>> round(a.reference_rate.iloc[0], 4)
    1.0146
    """
    s = settings or Settings()
    visits = study.visits
    if s.outcome not in visits or not visits[s.outcome].notna().any():
        raise InputError(
            f"the natural-history visits have no '{s.outcome}' scores",
            source=study.sources.get("visits", "natural history"),
            column=s.outcome,
            fix="give the untreated cohort's ALSFRS-R file (PRO-ACT alsfrs.csv or canonical "
            "names), or analyse an outcome it has",
        )
    v = visits.loc[visits[s.outcome].notna(), ["patient_id", "day", s.outcome]]
    v = v.sort_values(["patient_id", "day"], kind="stable").reset_index(drop=True)
    code, ids = pd.factorize(v["patient_id"], sort=True)
    n = np.bincount(code, minlength=len(ids))
    start = np.concatenate([[0], np.cumsum(n)[:-1]])
    # anchor a = one assessment; its pseudo-patient holds all of its patient's assessments
    a_pat = code  # anchor -> patient code (one anchor per assessment row)
    reps = n[a_pat]  # each anchor copies its patient's n assessments
    anchor_of_row = np.repeat(np.arange(len(v)), reps)
    offset = np.arange(reps.sum()) - np.repeat(np.cumsum(reps) - reps, reps)
    src = np.repeat(start[a_pat], reps) + offset
    pv = pd.DataFrame(
        {
            "patient_id": anchor_of_row,
            "day": v["day"].to_numpy(dtype=float)[src],
            s.outcome: v[s.outcome].to_numpy(dtype=float)[src],
        }
    )
    pinj = pd.DataFrame({"patient_id": np.arange(len(v)), "day": v["day"].to_numpy(float)})
    onset = _onset_of(study.patients, v["patient_id"])
    ppat = pd.DataFrame({"patient_id": np.arange(len(v)), "onset_day": onset})
    rates = compute_periods(pv, pinj, ppat, s)
    ref = rates[rates["period"] == "reference"].set_index("patient_id")
    after = rates[rates["period"] == "after-last"].set_index("patient_id")
    idx = np.arange(len(v))
    ref_rate = ref["rate"].reindex(idx).to_numpy(dtype=float)
    follow = after["end_day"].reindex(idx).to_numpy(dtype=float) >= float(s.min_span_days)
    ok = np.isfinite(ref_rate) & follow
    anchor_day = v["day"].to_numpy(dtype=float)
    with np.errstate(invalid="ignore"):
        mfo = (anchor_day - onset) / float(s.month_days)
    out = pd.DataFrame(
        {
            "patient_id": v["patient_id"].to_numpy(dtype=object),
            "anchor_day": anchor_day,
            "reference_rate": ref_rate,
            "score": ref["end_score"].reindex(idx).to_numpy(dtype=float),
            "months_from_onset": np.where(mfo > 0, mfo, np.nan),
        }
    )
    return out[ok].reset_index(drop=True)


def treated_baseline(result) -> pd.DataFrame:
    """The matching variables of each treated patient at T1, from an analysis result.

    Parameters
    ----------
    result : AnalysisResult
        The trial's analysis (:func:`msc_notebooks.analyze`).

    Returns
    -------
    pandas.DataFrame
        One row per treated patient: ``patient_id``, ``t1_day`` (day of the first
        injection), ``reference_rate`` (points/month; NaN where not computable),
        ``score`` (the score at T1, SPEC §3), ``months_from_onset`` (NaN where onset is
        unknown), ``reason`` (why the patient cannot be matched; empty otherwise).

    Examples
    --------
    >>> from msc_notebooks import analyze, load_demo
    >>> b = treated_baseline(analyze(load_demo()))
    >>> len(b), b.reason.eq("").all()
    (19, True)
    """
    s = result.settings
    ref = result.periods[result.periods["period"] == "reference"]
    t1 = result.study.injections.groupby("patient_id")["day"].min()
    ids = ref["patient_id"].reset_index(drop=True)
    t1_day = ids.map(t1).to_numpy(dtype=float)
    onset = _onset_of(result.study.patients, ids)
    with np.errstate(invalid="ignore"):
        mfo = (t1_day - onset) / float(s.month_days)
    rate = ref["rate"].to_numpy(dtype=float)
    reason = np.where(
        np.isfinite(rate),
        "",
        "no reference rate (" + ref["reason"].fillna("").astype(str).to_numpy() + ")",
    )
    return pd.DataFrame(
        {
            "patient_id": ids.to_numpy(dtype=object),
            "t1_day": t1_day,
            "reference_rate": rate,
            "score": ref["end_score"].to_numpy(dtype=float),
            "months_from_onset": np.where(mfo > 0, mfo, np.nan),
            "reason": reason,
        }
    )


def _scales(anchors: pd.DataFrame) -> dict[str, float]:
    out = {}
    for var in MATCH_VARIABLES:
        x = anchors[var].to_numpy(dtype=float)
        x = x[np.isfinite(x)]
        sd = float(np.std(x, ddof=1)) if len(x) > 1 else np.nan
        out[var] = sd if np.isfinite(sd) and sd > 0 else 1.0
    return out


def match_anchors(
    treated: pd.DataFrame,
    anchors: pd.DataFrame,
    *,
    k: int = DEFAULT_K,
    caliper: float | None = DEFAULT_CALIPER,
) -> pd.DataFrame:
    """Match each treated patient to up to ``k`` untreated anchors (SPEC §15).

    Distance = Euclidean distance of the standardised matching variables (each divided by
    its standard deviation over ``anchors``). ``months_from_onset`` takes part when the
    treated patient's onset is known and some anchor's is (anchors without it are then not
    candidates). Per untreated patient only its nearest anchor competes (ties: the earlier
    day); the ``k`` nearest patients within the caliper are kept (ties: patient id order).
    Anchors are reused across treated patients (matching with replacement).

    Parameters
    ----------
    treated : pandas.DataFrame
        ``patient_id`` and the matching variables (:func:`treated_baseline`); rows with a
        missing reference rate or score are not matched.
    anchors : pandas.DataFrame
        :func:`candidate_anchors`.
    k : int, default 5
        Controls per treated patient.
    caliper : float or None, default 0.5
        Largest distance (standard-deviation units) accepted; None = no caliper.

    Returns
    -------
    pandas.DataFrame
        :data:`PAIRS_COLUMNS`: ``treated_id``, ``control_id``, ``anchor_day``, ``rank``
        (1 = nearest), ``distance`` (SD units), ``control_reference_rate``,
        ``control_score``, ``control_months_from_onset``.

    Examples
    --------
    Anchors' SDs: rate sd(1, 2, 3) = 1, score sd(40, 42, 44) = 2 (no onset anywhere).
    Treated (rate 1.5, score 41): distances sqrt(0.5² + 0.5²) = 0.7071 to A and to B's day
    30 anchor; B's day 60 anchor (3, 44) is farther, and only B's nearest counts.

    >>> a = pd.DataFrame({"patient_id": ["A", "B", "B"], "anchor_day": [30.0, 30.0, 60.0],
    ...     "reference_rate": [1.0, 2.0, 3.0], "score": [40.0, 42.0, 44.0],
    ...     "months_from_onset": [np.nan] * 3})
    >>> t = pd.DataFrame({"patient_id": ["T"], "reference_rate": [1.5], "score": [41.0],
    ...     "months_from_onset": [np.nan]})
    >>> m = match_anchors(t, a, k=5, caliper=None)
    >>> m[["control_id", "anchor_day", "rank"]].values.tolist()
    [['A', 30.0, 1], ['B', 30.0, 2]]
    >>> m.distance.round(4).tolist()
    [0.7071, 0.7071]
    """
    if int(k) < 1:
        raise InputError(
            "k (controls per treated patient) must be at least 1",
            fix=Fix("e.g. ", Option("match_k", 5)),
        )
    if caliper is not None and not caliper > 0:
        raise InputError(
            "the caliper must be positive",
            fix=Fix("e.g. ", Option("caliper", 0.5), " (no caliper: leave it out)"),
        )
    scale = _scales(anchors)
    a_ids = anchors["patient_id"].to_numpy(dtype=object)
    a_code, _ = pd.factorize(anchors["patient_id"], sort=True)
    a_day = anchors["anchor_day"].to_numpy(dtype=float)
    z = {v: anchors[v].to_numpy(dtype=float) / scale[v] for v in MATCH_VARIABLES}
    a_onset = np.isfinite(z["months_from_onset"])
    any_onset = bool(a_onset.any())
    blocks = []
    for _, row in treated.iterrows():
        tz = {v: float(row[v]) / scale[v] for v in MATCH_VARIABLES}
        if not (np.isfinite(tz["reference_rate"]) and np.isfinite(tz["score"])):
            continue
        use_onset = any_onset and np.isfinite(tz["months_from_onset"])
        d2 = (z["reference_rate"] - tz["reference_rate"]) ** 2 + (z["score"] - tz["score"]) ** 2
        cand = np.ones(len(d2), dtype=bool)
        if use_onset:
            d2 = d2 + (z["months_from_onset"] - tz["months_from_onset"]) ** 2
            cand &= a_onset
        d = np.sqrt(d2)
        if caliper is not None:
            cand &= d <= float(caliper) + 1e-12
        rows = np.flatnonzero(cand)
        if not len(rows):
            continue
        # nearest first; ties by patient, then day: the first row of each patient is its
        # nearest anchor
        order = rows[np.lexsort((a_day[rows], a_code[rows], d[rows]))]
        _, first = np.unique(a_code[order], return_index=True)
        best = order[np.sort(first)][: int(k)]
        blocks.append(
            pd.DataFrame(
                {
                    "treated_id": row["patient_id"],
                    "control_id": a_ids[best],
                    "anchor_day": a_day[best],
                    "rank": np.arange(1, len(best) + 1),
                    "distance": d[best],
                    **{
                        f"control_{v}": anchors[v].to_numpy(dtype=float)[best]
                        for v in MATCH_VARIABLES
                    },
                }
            )
        )
    if not blocks:
        return pd.DataFrame(
            {c: pd.Series(dtype=object if c.endswith("_id") else float) for c in PAIRS_COLUMNS}
        )
    return pd.concat(blocks, ignore_index=True)[list(PAIRS_COLUMNS)]


def control_periods(result, natural_history: StudyData, pairs: pd.DataFrame) -> pd.DataFrame:
    """The per-patient period table (SPEC §11) of every matched control.

    Each pair's control gets virtual injections at ``anchor_day + (Tk - T1)`` for the
    treated patient's injections Tk, and the kit's own period, rate, improvement and
    responder rules are applied (same settings as the trial).

    Parameters
    ----------
    result : AnalysisResult
        The trial (its injections and settings).
    natural_history : StudyData
        The untreated cohort.
    pairs : pandas.DataFrame
        :func:`match_anchors`.

    Returns
    -------
    pandas.DataFrame
        ``treated_id``, ``control_id`` and the columns of SPEC §11 (``period``,
        ``rate``, ``reference_rate``, ``improvement_pct``, ``responder``, ``evaluable``,
        ``reason``, ...), one row per pair and period.

    Examples
    --------
    >>> from msc_notebooks import analyze, load_demo
    >>> r = analyze(load_demo())
    >>> nh = r.study  # any cohort with assessments stands in here
    >>> t1 = nh.injections.groupby("patient_id").day.min()
    >>> pairs = pd.DataFrame({"treated_id": ["001"], "control_id": ["002"],
    ...                       "anchor_day": [t1["002"]]})
    >>> control_periods(r, nh, pairs).period.tolist()[:2]
    ['reference', '1-2']
    """
    s = result.settings
    if not len(pairs):
        return pd.DataFrame(columns=["treated_id", "control_id", *classify_columns()])
    tinj = result.study.injections[["patient_id", "day"]]
    t1 = tinj.groupby("patient_id")["day"].transform("min")
    offs = pd.DataFrame({"treated_id": tinj["patient_id"], "offset": tinj["day"] - t1})
    p = pairs[["treated_id", "control_id", "anchor_day"]].reset_index(drop=True)
    p["pair"] = np.arange(len(p))
    inj = p.merge(offs, on="treated_id", how="inner")
    inj = pd.DataFrame({"patient_id": inj["pair"], "day": inj["anchor_day"] + inj["offset"]})
    nv = natural_history.visits
    nv = nv.loc[nv[s.outcome].notna(), ["patient_id", "day", s.outcome]]
    vis = p[["pair", "control_id"]].merge(
        nv.rename(columns={"patient_id": "control_id"}), on="control_id", how="inner"
    )
    vis = vis.drop(columns="control_id").rename(columns={"pair": "patient_id"})
    onset = _onset_of(natural_history.patients, p["control_id"])
    pats = pd.DataFrame({"patient_id": p["pair"], "onset_day": onset})
    periods = classify(compute_periods(vis, inj, pats, s), s)
    pair = periods["patient_id"].to_numpy(dtype=np.int64)
    periods = periods.drop(columns="patient_id")
    periods.insert(0, "control_id", p["control_id"].to_numpy(dtype=object)[pair])
    periods.insert(0, "treated_id", p["treated_id"].to_numpy(dtype=object)[pair])
    return periods.reset_index(drop=True)


def classify_columns() -> list[str]:
    """The per-patient period columns (SPEC §11) without ``patient_id``.

    Examples
    --------
    >>> classify_columns()[:2]
    ['period', 'start_day']
    """
    from .columns import PERIODS_COLUMNS

    return [c for c in PERIODS_COLUMNS if c != "patient_id"]


def _weighted_median(values: np.ndarray, owner: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Median of the multiset where value j appears ``weights[b, owner[j]]`` times, per row b."""
    out = np.full(weights.shape[0], np.nan)
    if not len(values):
        return out
    order = np.argsort(values, kind="stable")
    vals = values[order]
    w = weights[:, owner[order]]
    cum = np.cumsum(w, axis=1)
    total = cum[:, -1]
    has = total > 0
    lo_q = (total - 1) // 2  # 0-based positions of the two middle elements
    hi_q = total // 2
    lo = np.argmax(cum > lo_q[:, None], axis=1)
    hi = np.argmax(cum > hi_q[:, None], axis=1)
    out[has] = (vals[lo[has]] + vals[hi[has]]) / 2
    return out


def compare_matched(
    treated_periods: pd.DataFrame,
    controls: pd.DataFrame,
    matched_ids: list | np.ndarray,
    n_unmatched: int,
    *,
    samples: int = 2000,
    seed: int = 0,
) -> pd.DataFrame:
    """Per period: treated against matched-control responders and median improvement.

    Parameters
    ----------
    treated_periods : pandas.DataFrame
        The trial's per-patient period table (``AnalysisResult.periods``).
    controls : pandas.DataFrame
        :func:`control_periods`.
    matched_ids : sequence
        The treated patients with at least one matched control (the units resampled).
    n_unmatched : int
        Treated patients without a match (reported in every row).
    samples : int, default 2000
        Bootstrap resamples of the treated patients (each with its matched set).
    seed : int, default 0
        Seed of the bootstrap.

    Returns
    -------
    pandas.DataFrame
        :data:`MATCHED_COLUMNS`, one row per period (``reference`` excluded):
        ``n_treated`` (matched treated patients evaluable in the period), ``n_matched``
        (their evaluable controls, counting a control once per treated patient it serves),
        ``n_unmatched``, ``treated_responder_pct``, ``control_responder_pct``,
        ``difference_pct`` (percentage points, treated minus controls) with its 95 %
        percentile bootstrap CI ``difference_ci_low``/``difference_ci_high``, the median
        improvements (%) of both arms and the 95 % CI of their difference.

    Examples
    --------
    Two treated patients, one responder of two (50 %); controls: one of four (25 %);
    difference 25 percentage points.

    >>> t = pd.DataFrame({"patient_id": ["a", "b"], "period": ["1-2"] * 2,
    ...     "evaluable": [True, True], "responder": [True, False],
    ...     "improvement_pct": [60.0, 10.0]})
    >>> c = pd.DataFrame({"treated_id": ["a", "a", "b", "b"], "period": ["1-2"] * 4,
    ...     "evaluable": [True] * 4, "responder": [True, False, False, False],
    ...     "improvement_pct": [30.0, 0.0, -10.0, 20.0]})
    >>> r = compare_matched(t, c, ["a", "b"], 0, samples=200)
    >>> r[["treated_responder_pct", "control_responder_pct", "difference_pct"]].values.tolist()
    [[50.0, 25.0, 25.0]]
    >>> r[["treated_median_improvement_pct", "control_median_improvement_pct"]].values.tolist()
    [[35.0, 10.0]]
    """
    ids = pd.Index(pd.unique(np.asarray(matched_ids, dtype=object)))
    n = len(ids)
    rng = np.random.default_rng(seed)
    # one multinomial weight matrix, shared by every period (resampled treated patients)
    weights = rng.multinomial(n, np.full(n, 1.0 / n), size=int(samples)) if n else None

    def arm(table: pd.DataFrame, id_col: str, period: str):
        t = table[(table["period"] == period) & table[id_col].isin(ids)]
        ev = t["evaluable"].to_numpy(dtype=bool, na_value=False)
        t = t[ev]
        owner = ids.get_indexer(t[id_col])
        resp = t["responder"].to_numpy(dtype=bool, na_value=False).astype(float)
        imp = t["improvement_pct"].to_numpy(dtype=float)
        return owner, resp, imp

    periods = period_order(
        pd.concat([treated_periods["period"], controls["period"]], ignore_index=True)
    )
    rows = []
    for period in periods:
        t_owner, t_resp, t_imp = arm(treated_periods, "patient_id", period)
        c_owner, c_resp, c_imp = arm(controls, "treated_id", period)
        with np.errstate(invalid="ignore", divide="ignore"):
            t_pct = 100 * t_resp.mean() if len(t_resp) else np.nan
            c_pct = 100 * c_resp.mean() if len(c_resp) else np.nan
        t_med = float(np.median(t_imp)) if len(t_imp) else np.nan
        c_med = float(np.median(c_imp)) if len(c_imp) else np.nan
        ci = (np.nan, np.nan)
        mci = (np.nan, np.nan)
        if weights is not None and len(t_resp) and len(c_resp):
            tn = np.bincount(t_owner, minlength=n)
            tr = np.bincount(t_owner, t_resp, minlength=n)
            cn = np.bincount(c_owner, minlength=n)
            cr = np.bincount(c_owner, c_resp, minlength=n)
            with np.errstate(invalid="ignore", divide="ignore"):
                diff = 100 * (weights @ tr / (weights @ tn) - weights @ cr / (weights @ cn))
                mdiff = _weighted_median(t_imp, t_owner, weights) - _weighted_median(
                    c_imp, c_owner, weights
                )
            if np.isfinite(diff).any():
                ci = tuple(np.nanpercentile(diff, [2.5, 97.5]))
            if np.isfinite(mdiff).any():
                mci = tuple(np.nanpercentile(mdiff, [2.5, 97.5]))
        rows.append(
            {
                "period": period,
                "n_treated": len(t_resp),
                "n_matched": len(c_resp),
                "n_unmatched": int(n_unmatched),
                "treated_responder_pct": t_pct,
                "control_responder_pct": c_pct,
                "difference_pct": t_pct - c_pct,
                "difference_ci_low": float(ci[0]),
                "difference_ci_high": float(ci[1]),
                "treated_median_improvement_pct": t_med,
                "control_median_improvement_pct": c_med,
                "median_difference_ci_low": float(mci[0]),
                "median_difference_ci_high": float(mci[1]),
            }
        )
    if not rows:
        return pd.DataFrame({c: pd.Series(dtype=float) for c in MATCHED_COLUMNS})
    return pd.DataFrame(rows)[list(MATCHED_COLUMNS)]


def balance_table(
    treated: pd.DataFrame, anchors: pd.DataFrame, pairs: pd.DataFrame
) -> pd.DataFrame:
    """Standardised mean differences of the matching variables before and after matching.

    SMD = (treated mean - comparison mean) / pooled SD, with pooled SD =
    sqrt((treated variance + pool variance) / 2) from **before** matching (ddof 1), used for
    both rows so that a change of SMD is a change of means, not of scale. Before: every
    treated patient with the variable against every candidate anchor. After: the matched
    treated patients against their matched anchors (a control counted once per treated
    patient it serves). |SMD| < 0.1 is the usual mark of good balance.

    Parameters
    ----------
    treated : pandas.DataFrame
        :func:`treated_baseline`.
    anchors : pandas.DataFrame
        :func:`candidate_anchors`.
    pairs : pandas.DataFrame
        :func:`match_anchors`.

    Returns
    -------
    pandas.DataFrame
        :data:`BALANCE_COLUMNS`, one row per matching variable: ``variable``,
        ``n_treated``, ``treated_mean``, ``n_pool``, ``pool_mean``, ``n_matched``,
        ``matched_mean``, ``pooled_sd``, ``smd_before``, ``smd_after``.

    Examples
    --------
    Treated rates 1 and 3 (mean 2, variance 2), pool 0, 1, 2 (mean 1, variance 1): pooled
    SD sqrt(1.5) = 1.2247, SMD before (2 - 1) / 1.2247 = 0.8165.

    >>> t = pd.DataFrame({"patient_id": ["a", "b"], "reference_rate": [1.0, 3.0],
    ...     "score": [40.0, 40.0], "months_from_onset": [np.nan, np.nan]})
    >>> a = pd.DataFrame({"patient_id": ["x", "y", "z"], "anchor_day": [1.0] * 3,
    ...     "reference_rate": [0.0, 1.0, 2.0], "score": [40.0] * 3,
    ...     "months_from_onset": [np.nan] * 3})
    >>> b = balance_table(t, a, match_anchors(t, a, k=1, caliper=None))
    >>> round(b.smd_before.iloc[0], 4), b.n_matched.iloc[0]
    (0.8165, 2)
    """
    rows = []
    matched = treated[treated["patient_id"].isin(pairs["treated_id"])]
    for var in MATCH_VARIABLES:
        t = treated[var].to_numpy(dtype=float)
        t = t[np.isfinite(t)]
        pool = anchors[var].to_numpy(dtype=float)
        pool = pool[np.isfinite(pool)]
        tm = matched[var].to_numpy(dtype=float)
        tm = tm[np.isfinite(tm)]
        cm = pairs[f"control_{var}"].to_numpy(dtype=float)
        cm = cm[np.isfinite(cm)]
        vt = np.var(t, ddof=1) if len(t) > 1 else np.nan
        vp = np.var(pool, ddof=1) if len(pool) > 1 else np.nan
        sd = float(np.sqrt(np.nansum([vt, vp]) / 2)) if len(t) or len(pool) else np.nan
        if not (np.isfinite(vt) and np.isfinite(vp)):
            sd = (
                float(np.sqrt(vt if np.isfinite(vt) else vp))
                if np.isfinite(vt) or np.isfinite(vp)
                else np.nan
            )
        sd = sd if sd and np.isfinite(sd) and sd > 0 else np.nan

        def mean(x: np.ndarray) -> float:
            return float(x.mean()) if len(x) else np.nan

        rows.append(
            {
                "variable": var,
                "n_treated": len(t),
                "treated_mean": mean(t),
                "n_pool": len(pool),
                "pool_mean": mean(pool),
                "n_matched": len(cm),
                "matched_mean": mean(cm),
                "pooled_sd": sd,
                "smd_before": (mean(t) - mean(pool)) / sd,
                "smd_after": (mean(tm) - mean(cm)) / sd,
            }
        )
    return pd.DataFrame(rows)[list(BALANCE_COLUMNS)]


@dataclass
class MatchedControls:
    """The matched natural-history comparison of one trial (SPEC §15).

    Attributes
    ----------
    summary : pandas.DataFrame
        ``matched_controls.csv``: :data:`MATCHED_COLUMNS`, one row per period.
    balance : pandas.DataFrame
        ``matching_balance.csv``: :data:`BALANCE_COLUMNS`, one row per matching variable.
    pairs : pandas.DataFrame
        ``matched_pairs.csv``: :data:`PAIRS_COLUMNS`.
    unmatched : pandas.DataFrame
        Treated patients without a match: ``patient_id``, ``reason``.
    controls : pandas.DataFrame
        The matched controls' per-patient period table (:func:`control_periods`).
    anchors : pandas.DataFrame
        The candidate anchors (:func:`candidate_anchors`).
    k : int
        Controls sought per treated patient.
    caliper : float or None
        Largest distance accepted (SD units).
    n_natural_history : int
        Patients in the natural-history cohort with assessments.
    settings : Settings or None
        The trial's settings the comparison was made with.
    source : StudyData or None
        The natural-history cohort used.
    """

    summary: pd.DataFrame
    balance: pd.DataFrame
    pairs: pd.DataFrame
    unmatched: pd.DataFrame
    controls: pd.DataFrame = field(repr=False)
    anchors: pd.DataFrame = field(repr=False)
    k: int = DEFAULT_K
    caliper: float | None = DEFAULT_CALIPER
    n_natural_history: int = 0
    settings: Settings | None = field(default=None, repr=False)
    source: StudyData | None = field(default=None, repr=False)

    def sentence(self) -> str:
        """One line on what was matched and who was left out.

        Examples
        --------
        >>> m = MatchedControls(pd.DataFrame(), pd.DataFrame(),
        ...     pd.DataFrame({"treated_id": ["a", "a"]}), pd.DataFrame({"patient_id": ["b"]}),
        ...     pd.DataFrame(), pd.DataFrame({"patient_id": ["x", "y"]}), n_natural_history=3)
        >>> m.sentence()
        '1 of 2 treated patients matched to 2 controls (k = 5, caliper 0.5 SD) from 2 untreated patients with a candidate anchor (of 3); 1 unmatched.'
        """
        n_m = self.pairs["treated_id"].nunique() if len(self.pairs) else 0
        n_t = n_m + len(self.unmatched)
        cal = "no caliper" if self.caliper is None else f"caliper {self.caliper:g} SD"
        n_pool = self.anchors["patient_id"].nunique() if len(self.anchors) else 0
        return (
            f"{n_m} of {count_of(n_t, 'treated patient')} matched to "
            f"{count_of(len(self.pairs), 'control')} "
            f"(k = {self.k}, {cal}) from {count_of(n_pool, 'untreated patient')} with a "
            "candidate anchor "
            f"(of {self.n_natural_history}); {len(self.unmatched)} unmatched."
        )


def _nh_study(natural_history) -> StudyData:
    if isinstance(natural_history, StudyData):
        return natural_history
    from .natural_history import read_natural_history

    return read_natural_history(natural_history)


def match_controls(
    result,
    natural_history,
    *,
    k: int = DEFAULT_K,
    caliper: float | None = DEFAULT_CALIPER,
) -> MatchedControls:
    """Compare a trial with matched natural-history controls (SPEC §15).

    Parameters
    ----------
    result : AnalysisResult
        The trial's analysis; its settings are applied to the controls.
    natural_history : StudyData, path or pandas.DataFrame
        The untreated cohort (PRO-ACT layout or canonical names).
    k : int, default 5
        Controls per treated patient.
    caliper : float or None, default 0.5
        Largest standardised distance accepted; None = no caliper.

    Returns
    -------
    MatchedControls
        ``summary`` (``matched_controls.csv``), ``balance`` (``matching_balance.csv``),
        ``pairs``, ``unmatched``, ``controls``, ``anchors``.

    Examples
    --------
    The demo trial against itself as "natural history" (for illustration only: its
    patients were treated):

    >>> from msc_notebooks import analyze, load_demo
    >>> r = analyze(load_demo())
    >>> m = match_controls(r, r.study, k=2, caliper=None)
    >>> list(m.summary.columns) == list(MATCHED_COLUMNS)
    True
    """
    s = result.settings
    nh = _nh_study(natural_history)
    anchors = candidate_anchors(nh, s)
    base = treated_baseline(result)
    pairs = match_anchors(base, anchors, k=k, caliper=caliper)
    matched = set(pairs["treated_id"])
    um = base[~base["patient_id"].isin(matched)]
    reason = np.where(
        um["reason"] != "",
        um["reason"],
        "no untreated anchor within the caliper" if caliper is not None else "no untreated anchor",
    )
    if not len(anchors):
        reason = np.full(len(um), "the natural-history cohort has no candidate anchor")
    unmatched = pd.DataFrame(
        {"patient_id": um["patient_id"].to_numpy(dtype=object), "reason": reason}
    )
    controls = control_periods(result, nh, pairs)
    ids = base.loc[base["patient_id"].isin(matched), "patient_id"].to_numpy(dtype=object)
    summary = compare_matched(
        result.periods,
        controls,
        ids,
        len(unmatched),
        samples=s.bootstrap_samples,
        seed=s.seed,
    )
    n_nh = int(nh.visits.loc[nh.visits[s.outcome].notna(), "patient_id"].nunique())
    return MatchedControls(
        summary=summary,
        balance=balance_table(base, anchors, pairs),
        pairs=pairs,
        unmatched=unmatched,
        controls=controls,
        anchors=anchors,
        k=int(k),
        caliper=caliper,
        n_natural_history=n_nh,
        settings=s,
        source=nh,
    )


def attach_matched(
    result,
    natural_history,
    *,
    k: int = DEFAULT_K,
    caliper: float | None = DEFAULT_CALIPER,
):
    """Return the result with its matched-control comparison attached (``result.matched``).

    Parameters
    ----------
    result : AnalysisResult
        The trial's analysis.
    natural_history : StudyData, path, list of paths, folder or pandas.DataFrame
        The untreated cohort (:func:`msc_notebooks.natural_history.read_natural_history`).
    k, caliper
        See :func:`match_controls`.

    Returns
    -------
    AnalysisResult
        A copy whose ``matched`` is a :class:`MatchedControls`; the exports, the report and
        the figures then include the comparison.

    Examples
    --------
    >>> from msc_notebooks import analyze, load_demo
    >>> r = attach_matched(analyze(load_demo()), load_demo(), k=1, caliper=None)
    >>> r.matched.k
    1
    """
    import dataclasses

    return dataclasses.replace(
        result, matched=match_controls(result, natural_history, k=k, caliper=caliper)
    )
