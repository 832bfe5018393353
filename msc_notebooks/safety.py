"""Safety: adverse events per term and severity, serious events, events per injection (SPEC §9).

Safety was the primary endpoint of the source trial. This module turns the canonical
adverse-event table of a :class:`~msc_notebooks.study.StudyData` into the tables a report
needs, with every treated patient counted in the denominators whether or not they had an
event.

Attribution (SPEC §9)
---------------------
An event on day ``d`` is attributed to the patient's latest injection on day ``t`` with
``t <= d`` and ``d - t <= settings.ae_window_days`` (default 30 days; an event on the day
of an injection, or exactly 30 days after it, is attributed to it). Two kinds of event are
attributed to no injection and are reported on their own rows of ``by_injection``:

``pre-treatment``
    the event happened before the patient's first injection (or the patient was never
    injected). Its row has ``injection_number`` 0.
``not attributed``
    the event happened more than the window after the patient's latest earlier injection.
    Its row has ``injection_number`` missing (``<NA>``).

The rows of ``by_injection`` therefore add up to every event recorded.

Intervals
---------
Proportions (``x`` of ``n``) get the exact Clopper–Pearson 95 % interval,
``[B(0.025; x, n - x + 1), B(0.975; x + 1, n - x)]`` with ``B`` the beta quantile
(lower bound 0 when ``x = 0``, upper bound 1 when ``x = n``). Rates that can exceed one
(events per injection: a patient can have two events after one injection) get the exact
Poisson (Garwood) 95 % interval, ``[G(0.025; k) / n, G(0.975; k + 1) / n]`` with ``G``
the quantile of the standard gamma distribution (lower bound 0 when ``k = 0``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from .columns import ADVERSE_EVENTS_COLUMNS
from .settings import Settings
from .study import StudyData
from .table_format import count_of

__all__ = [
    "SafetyResult",
    "analyze_safety",
    "clopper_pearson",
    "garwood",
    "SEVERITY_ORDER",
    "BY_TERM_COLUMNS",
    "SERIOUS_COLUMNS",
    "BY_INJECTION_COLUMNS",
    "INCIDENCE_COLUMNS",
    "INDEPENDENCE_NOTE",
    "EVENTS_COLUMNS",
]

#: Severity levels in report order; a missing severity is reported as ``'not recorded'``.
SEVERITY_ORDER = ("mild", "moderate", "severe", "not recorded")

#: Columns of :attr:`SafetyResult.by_term`.
BY_TERM_COLUMNS = ("term", "severity", "n_events", "n_patients")

#: Columns of :attr:`SafetyResult.serious` (the adverse-event table's own columns, then the
#: injection the event is attributed to by the window rule).
SERIOUS_COLUMNS = (
    "patient_id",
    "day",
    "date",
    "term",
    "severity",
    "outcome",
    "related",
    "injection_number",
    "attributed_injection",
)

#: Columns of :attr:`SafetyResult.by_injection`.
BY_INJECTION_COLUMNS = (
    "injection_number",
    "n_injections",
    "n_events",
    "n_patients_with_event",
    "incidence_per_injection",
    "ci_low",
    "ci_high",
    "attribution",
    "interval",
)

#: Columns of :attr:`SafetyResult.incidence`.
INCIDENCE_COLUMNS = (
    "measure",
    "unit",
    "numerator",
    "denominator",
    "estimate",
    "ci_low",
    "ci_high",
    "interval",
    "cluster_ci_low",
    "cluster_ci_high",
    "cluster_interval",
)

#: The label of every per-injection or per-event interval that treats events as independent
#: (SPEC §9): events cluster within patients.
INDEPENDENCE_NOTE = "treats events as independent (they cluster within patients)"

#: Columns of :attr:`SafetyResult.events` (one row per adverse event).
EVENTS_COLUMNS = (
    *ADVERSE_EVENTS_COLUMNS,
    "attributed_injection",
    "days_after_injection",
    "attribution",
)

_CONFIDENCE = 0.95
_PRE = "pre-treatment"
_NOT_ATTRIBUTED = "not attributed"
# Days are floats: an event "exactly" at the window edge must not fall out by rounding.
_EDGE = 1e-9


def clopper_pearson(
    x: int | np.ndarray, n: int | np.ndarray, confidence: float = _CONFIDENCE
) -> tuple[np.ndarray, np.ndarray]:
    """Exact Clopper–Pearson interval of a proportion ``x / n``.

    Parameters
    ----------
    x : int or array of int
        Successes (patients or injections with an event).
    n : int or array of int
        Trials; the interval is NaN where ``n`` is 0.
    confidence : float, default 0.95
        Two-sided confidence level.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        Lower and upper bounds, proportions between 0 and 1.

    Notes
    -----
    ``lower = B(a/2; x, n - x + 1)`` (0 when ``x = 0``) and
    ``upper = B(1 - a/2; x + 1, n - x)`` (1 when ``x = n``), ``B`` the beta quantile and
    ``a = 1 - confidence``. For ``x = 0`` the upper bound is ``1 - (a/2) ** (1/n)``.

    Examples
    --------
    >>> low, high = clopper_pearson(0, 19)
    >>> float(low), round(float(high), 4)
    (0.0, 0.1765)
    >>> low, high = clopper_pearson(5, 10)
    >>> round(float(low), 4), round(float(high), 4)
    (0.1871, 0.8129)
    """
    x = np.asarray(x, dtype=float)
    n = np.asarray(n, dtype=float)
    alpha = 1 - confidence
    with np.errstate(invalid="ignore", divide="ignore"):
        low = np.where(x > 0, stats.beta.ppf(alpha / 2, x, n - x + 1), 0.0)
        high = np.where(x < n, stats.beta.ppf(1 - alpha / 2, x + 1, n - x), 1.0)
    bad = n <= 0
    return np.where(bad, np.nan, low), np.where(bad, np.nan, high)


def garwood(
    k: int | np.ndarray, n: int | np.ndarray, confidence: float = _CONFIDENCE
) -> tuple[np.ndarray, np.ndarray]:
    """Exact Poisson (Garwood) interval of a rate ``k / n`` (events per injection).

    Parameters
    ----------
    k : int or array of int
        Events counted.
    n : int or array of int
        Exposure (injections given); the interval is NaN where ``n`` is 0.
    confidence : float, default 0.95
        Two-sided confidence level.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        Lower and upper bounds, events per injection (may exceed 1).

    Notes
    -----
    ``lower = G(a/2; k) / n`` (0 when ``k = 0``) and ``upper = G(1 - a/2; k + 1) / n``,
    ``G`` the quantile of the standard gamma distribution (equivalently half the chi-square
    quantile with ``2k`` and ``2k + 2`` degrees of freedom), ``a = 1 - confidence``.
    For ``k = 0`` the upper bound is ``-ln(a/2) / n``.

    Examples
    --------
    >>> low, high = garwood(0, 10)
    >>> float(low), round(float(high), 4)
    (0.0, 0.3689)
    >>> low, high = garwood(12, 10)
    >>> round(float(low), 4), round(float(high), 4)
    (0.6201, 2.0962)
    """
    k = np.asarray(k, dtype=float)
    n = np.asarray(n, dtype=float)
    alpha = 1 - confidence
    with np.errstate(invalid="ignore", divide="ignore"):
        low = np.where(k > 0, stats.gamma.ppf(alpha / 2, np.maximum(k, 1e-300)), 0.0) / n
        high = stats.gamma.ppf(1 - alpha / 2, k + 1) / n
    bad = n <= 0
    return np.where(bad, np.nan, low), np.where(bad, np.nan, high)


@dataclass
class SafetyResult:
    """The safety analysis of one study (SPEC §9).

    Attributes
    ----------
    by_term : pandas.DataFrame
        One row per term and severity: ``term``, ``severity`` (``mild``, ``moderate``,
        ``severe``, ``not recorded``, or another recorded value after ``severe``),
        ``n_events`` (events), ``n_patients`` (distinct patients with such an event).
        Sorted by term, then severity in that order. Every event recorded counts,
        including pre-treatment ones.
    serious : pandas.DataFrame
        One row per serious event: ``patient_id``, ``day``, ``date``, ``term``,
        ``severity``, ``outcome``, ``related``, ``injection_number`` (as recorded),
        ``attributed_injection`` (by the window rule; 0 = pre-treatment, ``<NA>`` = not
        attributed). Empty, with these columns, when there is none.
    by_injection : pandas.DataFrame
        One row per injection number, then a ``pre-treatment`` row (``injection_number``
        0) and a ``not attributed`` row (``injection_number`` ``<NA>``):
        ``injection_number``, ``n_injections`` (injections given with that number, all
        treated patients; ``<NA>`` on the two extra rows), ``n_events`` (events attributed),
        ``n_patients_with_event`` (distinct patients), ``incidence_per_injection``
        (``n_events / n_injections``, events per injection), ``ci_low``, ``ci_high``
        (exact Poisson / Garwood 95 % interval), ``attribution`` (``injection 1``, …,
        ``pre-treatment``, ``not attributed``), ``interval`` (the method, labelled as
        treating events as independent, SPEC §9). ``n_events`` adds up to all events.
    incidence : pandas.DataFrame
        One row per measure, the patient-level (primary, SPEC §9) measures first:
        ``measure``, ``unit`` (``patients`` or ``injections``), ``numerator``,
        ``denominator``, ``estimate`` (numerator / denominator), ``ci_low``, ``ci_high``
        (exact 95 %), ``interval`` (the method used; per-injection rows say that it treats
        events as independent), ``cluster_ci_low``, ``cluster_ci_high``,
        ``cluster_interval`` (per-injection rows only: 95 % percentile bootstrap over
        treated patients, seeded with ``settings.seed``, ``settings.bootstrap_samples``
        resamples, which allows for events clustering within patients). Measures:
        ``treated patients with an event`` (treated patients with an event on or after
        their first injection / treated patients, Clopper–Pearson), ``treated patients
        with a serious event`` (likewise), ``enrolled patients with an event`` (patients
        with any event / enrolled patients), ``events per injection`` (attributed events /
        injections given, Garwood), ``injections followed by an event`` (injections with at
        least one attributed event / injections given, Clopper–Pearson). Treated = at
        least one injection; patients without events count in every denominator.
    events : pandas.DataFrame
        Every event with its attribution: the adverse-event columns, then
        ``attributed_injection`` (Int64; 0 = pre-treatment, ``<NA>`` = not attributed),
        ``days_after_injection`` (days since the latest earlier injection, NaN when none)
        and ``attribution`` (``injection``, ``pre-treatment``, ``not attributed``).
    sentence : str
        One sentence a report can quote.
    settings : Settings
        The settings used (``ae_window_days``).
    n_enrolled, n_treated, n_injections : int
        Patients enrolled, patients with at least one injection, injections given.
    """

    by_term: pd.DataFrame
    serious: pd.DataFrame
    by_injection: pd.DataFrame
    incidence: pd.DataFrame
    events: pd.DataFrame
    sentence: str
    settings: Settings = field(default_factory=Settings)
    n_enrolled: int = 0
    n_treated: int = 0
    n_injections: int = 0

    def tables(self) -> dict[str, pd.DataFrame]:
        """Return the tables the exporter writes, by file name.

        Returns
        -------
        dict of str to pandas.DataFrame
            ``safety_by_term.csv`` (:attr:`by_term`), ``safety_by_injection.csv``
            (:attr:`by_injection`: ``injection_number``, ``n_injections``, ``n_events``,
            ``n_patients_with_event`` first, then the rate, its interval and the
            attribution label) and ``serious_events.csv`` (:attr:`serious`).

        Examples
        --------
        >>> import pandas as pd
        >>> from msc_notebooks.study import StudyData
        >>> injections = pd.DataFrame({"patient_id": ["A"], "day": [0.0], "injection_number": [1]})
        >>> study = StudyData(visits=pd.DataFrame(), injections=injections,
        ...                   patients=pd.DataFrame({"patient_id": ["A"]}), time_kind="day")
        >>> result = analyze_safety(study)
        >>> sorted(result.tables())
        ['safety_by_injection.csv', 'safety_by_term.csv', 'serious_events.csv']
        """
        return {
            "safety_by_term.csv": self.by_term,
            "safety_by_injection.csv": self.by_injection[list(BY_INJECTION_COLUMNS)],
            "serious_events.csv": self.serious,
        }


#: Column types of the adverse-event table of a study without one (SPEC §11).
_NO_EVENTS = {
    "patient_id": "str",
    "day": "float64",
    "date": "datetime64[ns]",
    "term": object,
    "severity": object,
    "serious": bool,
    "related": object,
    "outcome": object,
    "injection_number": "Int64",
    "row": "int64",
}


def _events_table(events: pd.DataFrame | None) -> pd.DataFrame:
    """The study's adverse events, canonical columns only (an empty table when it has none).

    The study is validated (:func:`msc_notebooks.read_study`): every event has a patient, a
    day and a term, ``severity`` is lower case ('not recorded' when missing), ``serious``
    is a flag read with the schema's yes/no words. Nothing is checked again here.
    """
    if events is None:
        return pd.DataFrame({c: pd.Series(dtype=t) for c, t in _NO_EVENTS.items()})
    ev = events[list(ADVERSE_EVENTS_COLUMNS)].copy()
    ev[["term", "severity"]] = ev[["term", "severity"]].astype(object)  # as in every table
    ev["patient_id"] = ev["patient_id"].astype(str)  # one id type with the injections
    return ev


def _injections_table(injections: pd.DataFrame) -> pd.DataFrame:
    """``patient_id``, ``day``, ``injection_number`` of the validated injections (numbered
    in time order, SPEC §12)."""
    inj = injections[["patient_id", "day", "injection_number"]].copy()
    inj["patient_id"] = inj["patient_id"].astype(str)  # one id type with the events
    inj["injection_number"] = inj["injection_number"].astype("Int64")
    return inj


def _attribute(events: pd.DataFrame, injections: pd.DataFrame, window: float) -> pd.DataFrame:
    """Attach the injection each event follows within ``window`` days (merge_asof)."""
    left = events.reset_index(drop=True)
    left["_order"] = np.arange(len(left))
    right = injections.rename(
        columns={"day": "_inj_day", "injection_number": "attributed_injection"}
    )
    merged = pd.merge_asof(
        left.sort_values("day"),
        right.sort_values("_inj_day"),
        left_on="day",
        right_on="_inj_day",
        by="patient_id",
        direction="backward",
        allow_exact_matches=True,
    ).sort_values("_order")
    merged = merged.reset_index(drop=True)
    since = merged["day"] - merged["_inj_day"]
    within = since.le(window + _EDGE)
    merged["days_after_injection"] = since.astype("float64")
    merged["attribution"] = np.where(
        merged["_inj_day"].isna(), _PRE, np.where(within, "injection", _NOT_ATTRIBUTED)
    )
    attributed = merged["attributed_injection"].astype("Int64")
    attributed = attributed.mask(merged["attribution"].eq(_PRE), 0)
    attributed = attributed.mask(merged["attribution"].eq(_NOT_ATTRIBUTED), pd.NA)
    merged["attributed_injection"] = attributed
    return merged[list(EVENTS_COLUMNS)]


def _severity_rank(severity: pd.Series) -> pd.Series:
    known = {s: i for i, s in enumerate(SEVERITY_ORDER)}
    # Any other recorded level sorts after 'severe' and before 'not recorded'.
    return severity.map(known).fillna(len(SEVERITY_ORDER) - 1.5)


def _by_term(events: pd.DataFrame) -> pd.DataFrame:
    table = (
        events.groupby(["term", "severity"], sort=False)
        .agg(n_events=("patient_id", "size"), n_patients=("patient_id", "nunique"))
        .reset_index()
    )
    table["_rank"] = _severity_rank(table["severity"])
    table = table.sort_values(["term", "_rank", "severity"], kind="stable")
    table = table[list(BY_TERM_COLUMNS)].reset_index(drop=True)
    return table.astype({"term": object, "severity": object, "n_events": int, "n_patients": int})


def _by_injection(events: pd.DataFrame, injections: pd.DataFrame) -> pd.DataFrame:
    given = injections.groupby("injection_number").size().rename("n_injections")
    attributed = events[events["attribution"].eq("injection")]
    counts = attributed.groupby("attributed_injection").agg(
        n_events=("patient_id", "size"), n_patients_with_event=("patient_id", "nunique")
    )
    per = pd.DataFrame({"n_injections": given}).join(counts, how="outer").fillna(0)
    per.index = per.index.astype("Int64").rename("injection_number")
    per = per.reset_index().sort_values("injection_number")
    per["attribution"] = "injection " + per["injection_number"].astype(str)

    extra = []
    for label, number in ((_PRE, 0), (_NOT_ATTRIBUTED, pd.NA)):
        rows = events[events["attribution"].eq(label)]
        extra.append(
            {
                "injection_number": number,
                "n_injections": pd.NA,
                "n_events": len(rows),
                "n_patients_with_event": rows["patient_id"].nunique(),
                "attribution": label,
            }
        )
    table = pd.concat([per, pd.DataFrame(extra)], ignore_index=True)
    for col in ("injection_number", "n_injections", "n_events", "n_patients_with_event"):
        table[col] = table[col].astype("Int64")
    n = table["n_injections"].astype("float64").to_numpy(na_value=np.nan)
    k = table["n_events"].astype("float64").to_numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        table["incidence_per_injection"] = np.where(n > 0, k / n, np.nan)
    table["ci_low"], table["ci_high"] = garwood(k, np.nan_to_num(n, nan=0.0))
    table["attribution"] = table["attribution"].astype(object)
    table["interval"] = f"exact Poisson (Garwood) 95%; {INDEPENDENCE_NOTE}"
    return table[list(BY_INJECTION_COLUMNS)]


def _patient_bootstrap(
    events: np.ndarray, exposure: np.ndarray, samples: int, seed: int
) -> list[tuple[float, float, str]]:
    """95 % intervals of sum(events[k]) / sum(exposure) resampling whole patients (SPEC §9).

    ``events`` holds one row of per-patient counts per measure (all over the same
    patients and exposure); the same resamples serve every row, so the intervals equal
    those of one bootstrap per row with the same seed. Percentile bootstrap over patients
    (seeded); above 20,000 patients the cluster-robust normal interval of a ratio (delta
    method), which the returned method names.
    """
    events = np.atleast_2d(events)
    n = events.shape[1]
    if n == 0 or exposure.sum() <= 0:
        return [(np.nan, np.nan, "none (no exposure)")] * len(events)
    ratio = events.sum(axis=1) / exposure.sum()
    if n > 20_000:
        resid = events - ratio[:, None] * exposure
        se = np.sqrt(n / (n - 1) * (resid**2).sum(axis=1)) / exposure.sum()
        how = "cluster-robust normal 95% over patients (n > 20,000)"
        return [
            (float(max(r - 1.959964 * e, 0.0)), float(r + 1.959964 * e), how)
            for r, e in zip(ratio, se, strict=True)
        ]
    rng = np.random.default_rng(seed)
    stats_ = np.empty((len(events), samples))
    step = max(1, 2_000_000 // n)
    for start in range(0, samples, step):
        stop = min(samples, start + step)
        idx = rng.integers(0, n, size=(stop - start, n))
        given = exposure[idx].sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            for k, row in enumerate(events):
                stats_[k, start:stop] = row[idx].sum(axis=1) / given
    how = f"bootstrap over patients 95% ({samples}, seed {seed})"
    return [
        (float(low), float(high), how)
        for low, high in np.nanpercentile(stats_, [2.5, 97.5], axis=1).T
    ]


def _incidence(
    events: pd.DataFrame, injections: pd.DataFrame, enrolled: int, settings: Settings
) -> tuple[pd.DataFrame, int, int]:
    n_injections = len(injections)
    treated = set(injections["patient_id"])
    attributed = events[events["attribution"].eq("injection")]
    emergent = events[events["attribution"].ne(_PRE) & events["patient_id"].isin(treated)]
    followed = attributed[["patient_id", "attributed_injection"]].drop_duplicates()
    # patients are the unit of the primary figures (SPEC §9): they come first
    rows = [
        (
            "treated patients with an event",
            "patients",
            emergent["patient_id"].nunique(),
            len(treated),
            "Clopper-Pearson",
        ),
        (
            "treated patients with a serious event",
            "patients",
            emergent.loc[emergent["serious"], "patient_id"].nunique(),
            len(treated),
            "Clopper-Pearson",
        ),
        (
            "enrolled patients with an event",
            "patients",
            events["patient_id"].nunique(),
            enrolled,
            "Clopper-Pearson",
        ),
        ("events per injection", "injections", len(attributed), n_injections, "Garwood"),
        (
            "injections followed by an event",
            "injections",
            len(followed),
            n_injections,
            "Clopper-Pearson",
        ),
    ]
    table = pd.DataFrame(rows, columns=["measure", "unit", "numerator", "denominator", "interval"])
    x = table["numerator"].to_numpy(dtype=float)
    n = table["denominator"].to_numpy(dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        table["estimate"] = np.where(n > 0, x / n, np.nan)
    cp_low, cp_high = clopper_pearson(np.minimum(x, n), n)
    g_low, g_high = garwood(x, n)
    is_rate = table["interval"].eq("Garwood").to_numpy()
    per_injection = table["unit"].eq("injections").to_numpy()
    table["ci_low"] = np.where(is_rate, g_low, cp_low)
    table["ci_high"] = np.where(is_rate, g_high, cp_high)
    label = np.where(is_rate, "exact Poisson (Garwood) 95%", "exact Clopper-Pearson 95%")
    table["interval"] = np.where(per_injection, [f"{t}; {INDEPENDENCE_NOTE}" for t in label], label)
    # per-injection figures also get an interval that allows for the clustering (SPEC §9)
    ids = sorted(treated, key=str)
    given = injections.groupby("patient_id").size().reindex(ids).to_numpy(dtype=float)
    n_events = attributed.groupby("patient_id").size().reindex(ids, fill_value=0)
    n_followed = followed.groupby("patient_id").size().reindex(ids, fill_value=0)
    table["cluster_ci_low"] = np.nan
    table["cluster_ci_high"] = np.nan
    table["cluster_interval"] = ""
    samples, seed = int(settings.bootstrap_samples), int(settings.seed)
    measures = ("events per injection", "injections followed by an event")
    counts = np.vstack([n_events.to_numpy(dtype=float), n_followed.to_numpy(dtype=float)])
    for measure, (low, high, how) in zip(
        measures, _patient_bootstrap(counts, given, samples, seed), strict=True
    ):
        at = table.index[table["measure"] == measure][0]
        table.loc[at, ["cluster_ci_low", "cluster_ci_high"]] = [low, high]
        table.loc[at, "cluster_interval"] = how
    table = table.astype(
        {"numerator": int, "denominator": int, "interval": object, "cluster_interval": object}
    )
    return table[list(INCIDENCE_COLUMNS)], len(treated), n_injections


def _primary(incidence: pd.DataFrame) -> str:
    """The patient-level incidence with its exact interval (SPEC §9), as a clause."""
    row = incidence.set_index("measure").loc["treated patients with an event"]
    if row.denominator == 0:
        return ""
    return (
        f" {int(row.numerator)} of {count_of(int(row.denominator), 'treated patient')} "
        f"({100 * row.estimate:.0f} %, exact 95 % CI {100 * row.ci_low:.0f}-"
        f"{100 * row.ci_high:.0f} %) had an adverse event on or after their first injection."
    )


def _when(event: pd.Series) -> str:
    date = event["date"]
    if pd.notna(date):
        return pd.Timestamp(date).strftime("%Y-%m-%d")
    return f"day {float(event['day']):g}"


def _sentence(events: pd.DataFrame, serious: pd.DataFrame, n_treated: int, n_inj: int) -> str:
    exposure = f"in {count_of(n_treated, 'treated patient')} over {count_of(n_inj, 'injection')}"
    if events.empty:
        return f"No adverse events were recorded {exposure}."
    total = (
        f"{count_of(len(events), 'adverse event')} in "
        f"{count_of(events['patient_id'].nunique(), 'patient')}"
    )
    n_pre = int(events["attribution"].eq(_PRE).sum())
    pre = f" ({n_pre} before the first injection)" if n_pre else ""
    if serious.empty:
        levels = set(events["severity"])
        if levels == {"mild"}:
            kind = "all mild"
        elif levels <= {"mild", "moderate"}:
            kind = "all mild or moderate"
        else:
            counts = events["severity"].value_counts()
            order = sorted(counts.index, key=lambda s: _severity_rank(pd.Series([s])).iloc[0])
            kind = ", ".join(
                f"{counts[s]} with severity not recorded"
                if s == "not recorded"
                else f"{counts[s]} {s}"
                for s in order
            )
        return f"No serious adverse events {exposure}; {total}{pre}, {kind}."
    listed = ", ".join(
        f"{ev['term']} (patient {ev['patient_id']}, {_when(ev)})" for _, ev in serious.iterrows()
    )
    head = count_of(len(serious), "serious adverse event")
    return f"{head} {exposure}: {listed}; {total} in all{pre}."


def analyze_safety(study: StudyData, settings: Settings | None = None) -> SafetyResult:
    """Analyse the adverse events of a study (SPEC §9).

    Parameters
    ----------
    study : StudyData
        The validated study (:func:`msc_notebooks.read_study`, :func:`msc_notebooks.load_demo`;
        its checks are not repeated here). ``study.adverse_events`` may be None or empty: the
        result then has empty tables and says that no adverse events were recorded. ``day``
        is in days (the same time axis as ``study.injections``).
    settings : Settings, optional
        ``settings.ae_window_days`` (days, default 30) is the attribution window after each
        injection.

    Returns
    -------
    SafetyResult
        ``by_term``, ``serious``, ``by_injection``, ``incidence``, ``events``, ``sentence``
        and ``settings``; see :class:`SafetyResult` for every column.

    Notes
    -----
    An event on day ``d`` is attributed to the latest injection on day ``t <= d`` with
    ``d - t <= ae_window_days``; events before the first injection are ``pre-treatment``
    (``injection_number`` 0 in ``by_injection``) and events beyond the window are ``not
    attributed`` (``injection_number`` ``<NA>``): neither counts as an event after an
    injection. Proportions have exact Clopper–Pearson intervals, events per injection the
    exact Poisson (Garwood) interval (see the module docstring).

    Examples
    --------
    Patient A: injections on days 0 and 90, events on day -5 (pre-treatment), day 2
    (after injection 1) and day 200 (110 days after injection 2: not attributed).
    Patient B: injections on days 0 and 90, no event.

    >>> import pandas as pd
    >>> from msc_notebooks import read_study
    >>> visits = pd.DataFrame({"patient_id": ["A", "B"], "day": [0.0, 0.0],
    ...                        "alsfrs_r_total": [40, 41]})
    >>> injections = pd.DataFrame({"patient_id": ["A", "A", "B", "B"],
    ...                            "day": [0.0, 90.0, 0.0, 90.0]})
    >>> events = pd.DataFrame({"patient_id": ["A", "A", "A"], "day": [-5.0, 2.0, 200.0],
    ...                        "term": ["Headache", "Headache", "Back pain"],
    ...                        "severity": ["mild", "mild", None],
    ...                        "serious": ["no", "no", "no"]})
    >>> result = analyze_safety(read_study(visits, injections, None, events))
    >>> result.by_term
            term      severity  n_events  n_patients
    0  Back pain  not recorded         1           1
    1   Headache          mild         2           1
    >>> result.by_injection[["injection_number", "n_injections", "n_events", "attribution"]]
       injection_number  n_injections  n_events     attribution
    0                 1             2         1     injection 1
    1                 2             2         0     injection 2
    2                 0          <NA>         1   pre-treatment
    3              <NA>          <NA>         1  not attributed
    >>> result.sentence
    'No serious adverse events in 2 treated patients over 4 injections; 3 adverse events in 1 patient (1 before the first injection), 2 mild, 1 with severity not recorded. 1 of 2 treated patients (50 %, exact 95 % CI 1-99 %) had an adverse event on or after their first injection.'
    >>> row = result.incidence.set_index("measure").loc["treated patients with an event"]
    >>> int(row.numerator), int(row.denominator), float(row.estimate)
    (1, 2, 0.5)
    """
    settings = settings if settings is not None else Settings()
    window = float(settings.ae_window_days)

    injections = _injections_table(study.injections)
    events = _events_table(study.adverse_events)
    events = _attribute(events, injections, window)

    ids = [study.patients["patient_id"]] if "patient_id" in study.patients.columns else []
    ids += [injections["patient_id"], events["patient_id"]]
    enrolled = pd.concat([s.astype(str) for s in ids]).nunique()

    by_term = _by_term(events)
    serious = events.loc[events["serious"], list(SERIOUS_COLUMNS)]
    serious = serious.sort_values(["patient_id", "day"], kind="stable").reset_index(drop=True)
    by_injection = _by_injection(events, injections)
    incidence, n_treated, n_injections = _incidence(events, injections, enrolled, settings)
    sentence = _sentence(events, serious, n_treated, n_injections) + _primary(incidence)
    return SafetyResult(
        by_term=by_term,
        serious=serious,
        by_injection=by_injection,
        incidence=incidence,
        events=events,
        sentence=sentence,
        settings=settings,
        n_enrolled=int(enrolled),
        n_treated=n_treated,
        n_injections=n_injections,
    )
