"""Altair chart builders: every function returns a chart and never displays anything.

Callers compose, test with ``to_dict()`` and save (``save_figures``). The charts follow
the SPEC's conventions:

- time is months from each patient's first injection (SPEC §2: one month =
  ``settings.month_days`` days) unless a calendar axis is asked for;
- a progression rate is points **lost** per month, positive = decline (SPEC §2), and the
  axis says so;
- calendar dates are passed to Vega-Lite as ``'YYYY-MM-DD'`` strings on a UTC time scale,
  so a visit on 2021-03-01 is drawn and labelled 2021-03-01 whatever the viewer's time zone;
- colours come from the Okabe–Ito palette (safe for colour-blind readers);
- data are aggregated in pandas where possible (cohort means, counts) so that a chart of a
  large cohort ships a few hundred rows, not every visit. Per-patient trajectories of a
  cohort above ``max_patients`` patients show a seeded random sample and say so in the
  subtitle. Enable the VegaFusion data transformer (``setup_notebook()`` does) for data
  above 5,000 rows.

Inputs are an ``AnalysisResult`` (``analysis.analyze``) or, for the trajectory charts,
a ``StudyData``. Any object with the same attributes works (duck typing).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, Literal

from .errors import InputError
from .settings import MONTH_DAYS, Settings

if TYPE_CHECKING:
    import altair as alt
    import pandas as pd

__all__ = [
    "OKABE_ITO",
    "PALETTE",
    "RESPONDER_COLORS",
    "SEVERITY_COLORS",
    "OUTCOME_LABELS",
    "outcome_label",
    "rate_label",
    "trajectories",
    "cohort_mean_table",
    "cohort_mean",
    "rate_comparison",
    "improvement_waterfall",
    "responders_by_period",
    "interval_vs_improvement",
    "safety_by_term",
    "safety_by_injection",
    "null_comparison",
    "all_figures",
    "save_figures",
]

#: The Okabe–Ito colour-blind-safe palette (Okabe & Ito 2008), by name.
OKABE_ITO: dict[str, str] = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "bluish_green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish_purple": "#CC79A7",
}

#: Categorical colour order (black last: it is used for reference lines).
PALETTE: tuple[str, ...] = (
    OKABE_ITO["blue"],
    OKABE_ITO["orange"],
    OKABE_ITO["bluish_green"],
    OKABE_ITO["vermillion"],
    OKABE_ITO["reddish_purple"],
    OKABE_ITO["sky_blue"],
    OKABE_ITO["yellow"],
    OKABE_ITO["black"],
)

#: Responder / non-responder colours (blue vs orange: distinct for every colour vision).
RESPONDER_COLORS: dict[str, str] = {
    "Responder": OKABE_ITO["blue"],
    "Non-responder": OKABE_ITO["orange"],
}

#: Adverse-event severity colours, mild to severe, then not recorded.
SEVERITY_COLORS: dict[str, str] = {
    "mild": OKABE_ITO["sky_blue"],
    "moderate": OKABE_ITO["orange"],
    "severe": OKABE_ITO["vermillion"],
    "not recorded": "#999999",
}

#: Axis titles (with units) of the outcomes the kit knows.
OUTCOME_LABELS: dict[str, str] = {
    "alsfrs_r_total": "ALSFRS-R total (points, 0–48)",
    "fvc_pct": "FVC (% predicted)",
    "bulbar": "ALSFRS-R bulbar domain (points, 0–12)",
    "fine_motor": "ALSFRS-R fine motor domain (points, 0–12)",
    "gross_motor": "ALSFRS-R gross motor domain (points, 0–12)",
    "respiratory": "ALSFRS-R respiratory domain (points, 0–12)",
}

# short names used in rate axes and titles
_SHORT = {
    "alsfrs_r_total": ("ALSFRS-R", "points"),
    "fvc_pct": ("FVC", "% predicted"),
    "bulbar": ("ALSFRS-R bulbar", "points"),
    "fine_motor": ("ALSFRS-R fine motor", "points"),
    "gross_motor": ("ALSFRS-R gross motor", "points"),
    "respiratory": ("ALSFRS-R respiratory", "points"),
}

_EXTRA_OUTCOMES = ("fvc_pct", "bulbar", "fine_motor", "gross_motor", "respiratory")
_WIDTH = 560
_HEIGHT = 320


# --------------------------------------------------------------------------- labels


def outcome_label(outcome: str) -> str:
    """Return the axis title (with units) of an outcome column.

    Parameters
    ----------
    outcome : str
        A visits column, e.g. ``'alsfrs_r_total'`` or ``'fvc_pct'``.

    Returns
    -------
    str
        The title; unknown columns are returned as they are.

    Examples
    --------
    >>> outcome_label("fvc_pct")
    'FVC (% predicted)'
    >>> outcome_label("grip_kg")
    'grip_kg'
    """
    return OUTCOME_LABELS.get(outcome, outcome)


def rate_label(outcome: str = "alsfrs_r_total") -> str:
    """Return the axis title of a progression rate (SPEC §2: positive = decline).

    Examples
    --------
    >>> rate_label()
    'ALSFRS-R points lost per month (positive = decline)'
    >>> rate_label("fvc_pct")
    'FVC % predicted lost per month (positive = decline)'
    """
    name, unit = _SHORT.get(outcome, (outcome, "units"))
    return f"{name} {unit} lost per month (positive = decline)"


# --------------------------------------------------------------------------- helpers


def _alt() -> Any:
    import altair as alt

    return alt


def _study_of(data: Any) -> Any:
    if hasattr(data, "visits") and hasattr(data, "injections"):
        return data
    study = getattr(data, "study", None)
    if study is not None and hasattr(study, "visits"):
        return study
    raise InputError(
        f"expected a StudyData or an AnalysisResult, got {type(data).__name__}",
        fix="pass msc_notebooks.read_study(...) or msc_notebooks.analyze(study)",
    )


def _settings_of(data: Any) -> Settings:
    settings = getattr(data, "settings", None)
    return settings if isinstance(settings, Settings) else Settings()


def _table(result: Any, name: str, what: str) -> pd.DataFrame:
    table = getattr(result, name, None)
    if table is None:
        raise InputError(
            f"the result has no '{name}' table, needed for {what}",
            source=f"result.{name}",
            fix="pass the AnalysisResult returned by msc_notebooks.analyze(study)",
        )
    return table


def _require_columns(table: pd.DataFrame, columns: Iterable[str], source: str) -> None:
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise InputError(
            f"missing column(s) {', '.join(missing)}",
            source=source,
            column=missing[0],
            fix=f"the table needs the columns {', '.join(columns)} (SPEC §11)",
        )


def _period_key(period: str) -> tuple[int, float, str]:
    """Sort key: reference, 1-2, 2-3, ..., after-last, whole, then anything else."""
    if period == "reference":
        return (0, 0.0, period)
    match = re.fullmatch(r"(\d+)-(\d+)", str(period))
    if match:
        return (1, float(match.group(1)), period)
    if period == "after-last":
        return (2, 0.0, period)
    if period == "whole":
        return (3, 0.0, period)
    return (4, 0.0, str(period))


def _period_order(periods: Iterable[str]) -> list[str]:
    return sorted({str(p) for p in periods}, key=_period_key)


def _date_strings(dates: pd.Series) -> pd.Series:
    """Calendar dates as 'YYYY-MM-DD' text (no time zone, never shifted); '' where missing."""
    import pandas as pd

    parsed = pd.to_datetime(dates, errors="coerce")
    return parsed.dt.strftime("%Y-%m-%d").fillna("")


def _fmt_p(p: float) -> str:
    if p != p:  # NaN
        return "n/a"
    return f"{p:.2g}" if p >= 0.001 else "< 0.001"


# --------------------------------------------------------------------------- trajectories


def _outcome_of(data: Any, outcome: str | None) -> str:
    if outcome is not None:
        return outcome
    return _settings_of(data).outcome


def _aligned_visits(data: Any, outcome: str) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    """Visits and injections with ``months`` from each patient's first injection.

    Returns the visits (patient_id, day, date, months, score), the injections (patient_id,
    day, date, months, injection_number) and the number of patients dropped because they
    have no injection.
    """
    import pandas as pd

    study = _study_of(data)
    month_days = _settings_of(data).month_days
    visits, injections = study.visits, study.injections
    _require_columns(visits, ("patient_id", "day"), "visits")
    _require_columns(injections, ("patient_id", "day"), "injections")
    if outcome not in visits.columns:
        numeric = [c for c in visits.columns if c in OUTCOME_LABELS or c.startswith("q")]
        raise InputError(
            f"no outcome column '{outcome}' in the visits",
            source="visits",
            column=outcome,
            fix=f"choose one of {', '.join(numeric) or 'the numeric visit columns'}",
        )
    first = injections.groupby("patient_id", sort=False)["day"].min().rename("first_day")
    v = visits[visits[outcome].notna()]
    cols = ["patient_id", "day"] + (["date"] if "date" in v.columns else [])
    v = v[cols].assign(score=visits.loc[v.index, outcome].astype(float))
    n_all = v["patient_id"].nunique()
    v = v.join(first, on="patient_id", how="inner")
    dropped = n_all - v["patient_id"].nunique()
    v["months"] = (v["day"] - v["first_day"]) / month_days
    v["date"] = _date_strings(v["date"]) if "date" in v.columns else ""
    inj = injections.join(first, on="patient_id")
    inj = pd.DataFrame(
        {
            "patient_id": inj["patient_id"],
            "day": inj["day"].astype(float),
            "months": (inj["day"] - inj["first_day"]) / month_days,
            "date": _date_strings(inj["date"]) if "date" in inj.columns else "",
            "injection_number": (
                inj["injection_number"]
                if "injection_number" in inj.columns
                else inj.groupby("patient_id")["day"].rank(method="first")
            ),
        }
    )
    return v.drop(columns="first_day").reset_index(drop=True), inj.reset_index(drop=True), dropped


def _score_at(visits: pd.DataFrame, points: pd.DataFrame) -> pd.Series:
    """Linear interpolation of each patient's score at ``points.day`` (nearest end outside)."""
    import numpy as np
    import pandas as pd

    if points.empty:
        return pd.Series(dtype=float)
    left = points[["patient_id", "day"]].reset_index().sort_values("day")
    right = visits[["patient_id", "day", "score"]].sort_values("day")
    right = right.assign(vday=right["day"])
    before = pd.merge_asof(left, right, on="day", by="patient_id", direction="backward")
    after = pd.merge_asof(left, right, on="day", by="patient_id", direction="forward")
    before, after = before.set_index("index"), after.set_index("index")
    span = after["vday"] - before["vday"]
    frac = ((before.index.map(points["day"]) - before["vday"]) / span).where(span > 0, 0.0)
    score = before["score"] + frac * (after["score"] - before["score"])
    score = score.fillna(before["score"]).fillna(after["score"])
    return score.reindex(points.index).astype(float).where(lambda s: np.isfinite(s))


def trajectories(
    data: Any,
    outcome: str | None = None,
    *,
    x: Literal["months", "date"] = "months",
    highlight: str | Sequence[str] | None = None,
    max_patients: int = 200,
    seed: int = 0,
) -> alt.LayerChart:
    """Per-patient trajectories of an outcome, with a marker at every injection.

    Parameters
    ----------
    data : StudyData or AnalysisResult
        The study (or a result, whose ``study`` and ``settings`` are used).
    outcome : str, optional
        Visits column to draw: ``'alsfrs_r_total'`` (the result's analysed outcome by
        default), ``'fvc_pct'`` or a domain (``'bulbar'``, ``'fine_motor'``,
        ``'gross_motor'``, ``'respiratory'``). The y axis title carries its units.
    x : {'months', 'date'}
        ``'months'`` (default): months from each patient's first injection
        (days / ``settings.month_days``), so injection 1 is at 0. ``'date'``: calendar
        date (only for studies with dates), on a UTC scale so dates never shift.
    highlight : str or sequence of str, optional
        Patient id(s) highlighted when the chart opens. Hovering a point highlights
        that patient (selection ``patient`` on ``patient_id``, shown by opacity).
    max_patients : int, default 200
        Above this many patients a random sample of ``max_patients`` patients (seeded by
        ``seed``, highlighted patients always kept) is drawn and the subtitle says so;
        ``cohort_mean`` summarises every patient.
    seed : int, default 0
        Seed of that sample.

    Returns
    -------
    altair.LayerChart
        Layers: lines, visit points (tooltips: patient id, date, study day, months, score)
        and injection markers (triangles on the line at the injection time, interpolated
        between the visits either side).

    Examples
    --------
    >>> from msc_notebooks.charts import _example_result
    >>> chart = trajectories(_example_result())
    >>> chart.to_dict()["title"]["text"]
    'ALSFRS-R total (points, 0–48) per patient, aligned on the first injection'
    >>> chart.to_dict()["layer"][0]["encoding"]["x"]["title"]
    'Months from first injection'
    """
    import numpy as np

    alt = _alt()
    outcome = _outcome_of(data, outcome)
    if x not in ("months", "date"):
        raise InputError(f"x must be 'months' or 'date', not {x!r}", fix="use x='months'")
    visits, inj, dropped = _aligned_visits(data, outcome)
    if x == "date" and (visits["date"] == "").all():
        raise InputError(
            "the visits have no calendar dates (day offsets only)",
            source="visits",
            column="date",
            fix="use x='months' (months from the first injection)",
        )
    highlights = [highlight] if isinstance(highlight, str) else list(highlight or [])
    ids = visits["patient_id"].unique()
    n_patients = len(ids)
    subtitle = []
    if n_patients > max_patients:
        rng = np.random.default_rng(seed)
        keep = set(rng.choice(ids, size=max_patients, replace=False).tolist()) | set(highlights)
        visits = visits[visits["patient_id"].isin(keep)]
        inj = inj[inj["patient_id"].isin(keep)]
        subtitle.append(
            f"Showing a random sample of {len(keep)} of {n_patients} patients (seed {seed});"
            " cohort_mean() summarises all of them."
        )
    else:
        subtitle.append(f"{n_patients} patients; triangles mark injections. Hover to highlight.")
    if dropped:
        subtitle.append(f"{dropped} patient(s) without an injection are not shown.")
    inj = inj[inj["patient_id"].isin(set(visits["patient_id"]))].copy()
    inj["score"] = _score_at(visits, inj)
    inj = inj[inj["score"].notna()]

    y_title = outcome_label(outcome)
    if x == "months":
        x_enc = alt.X("months:Q", title="Months from first injection")
        title = f"{y_title} per patient, aligned on the first injection"
    else:
        visits = visits[visits["date"] != ""]
        inj = inj[inj["date"] != ""]
        x_enc = alt.X(
            "date:T",
            title="Date",
            scale=alt.Scale(type="utc"),
            axis=alt.Axis(format="%Y-%m-%d", labelAngle=-30),
        )
        title = f"{y_title} per patient over calendar time"

    visits = visits[["patient_id", "date", "day", "months", "score"]]
    inj = inj[["patient_id", "date", "day", "months", "score", "injection_number"]]
    sel = alt.selection_point(
        name="patient",
        fields=["patient_id"],
        on="pointerover",
        nearest=True,
        clear="dblclick",
        value=[{"patient_id": h} for h in highlights] or alt.Undefined,
    )
    faded = alt.condition(sel, alt.value(0.9), alt.value(0.15))
    y_enc = alt.Y("score:Q", title=y_title, scale=alt.Scale(zero=False))
    tooltip = [
        alt.Tooltip("patient_id:N", title="Patient"),
        alt.Tooltip("date:N", title="Date"),
        alt.Tooltip("day:Q", title="Study day", format=".0f"),
        alt.Tooltip("months:Q", title="Months from first injection", format=".1f"),
        alt.Tooltip("score:Q", title=y_title, format=".4g"),
    ]
    base = alt.Chart(visits).encode(x=x_enc, y=y_enc, detail="patient_id:N")
    lines = base.mark_line(color=OKABE_ITO["blue"], strokeWidth=1.5).encode(
        opacity=faded,
        strokeWidth=alt.condition(sel, alt.value(2.5), alt.value(1.2), empty=False),
    )
    points = (
        base.mark_point(filled=True, size=30, color=OKABE_ITO["blue"])
        .encode(opacity=faded, tooltip=tooltip)
        .add_params(sel)
    )
    markers = (
        alt.Chart(inj)
        .mark_point(shape="triangle-down", filled=True, size=70, color=OKABE_ITO["vermillion"])
        .encode(
            x=x_enc,
            y=y_enc,
            opacity=faded,
            tooltip=[
                alt.Tooltip("patient_id:N", title="Patient"),
                alt.Tooltip("injection_number:Q", title="Injection", format=".0f"),
                alt.Tooltip("date:N", title="Date"),
                alt.Tooltip("day:Q", title="Study day", format=".0f"),
            ],
        )
    )
    return alt.layer(lines, points, markers).properties(
        title=alt.TitleParams(title, subtitle=subtitle, anchor="start"),
        width=_WIDTH,
        height=_HEIGHT,
    )


# --------------------------------------------------------------------------- cohort mean


def cohort_mean_table(
    data: Any, outcome: str | None = None, *, bin_months: float = 1.0
) -> pd.DataFrame:
    """Cohort mean of an outcome per monthly bin from the first injection, with a 95 % CI.

    Each visit falls in bin ``k = floor(months / bin_months + 0.5)`` (months from the
    patient's first injection, so bin k covers k ± 0.5 bins). A patient with several
    visits in one bin contributes their mean once. Across patients:
    ``mean``, ``sd`` (ddof = 1), ``se = sd / sqrt(n)`` and the 95 % t-interval
    ``mean ± t(0.975, n − 1) · se`` (NaN when n < 2).

    Parameters
    ----------
    data : StudyData or AnalysisResult
    outcome : str, optional
        Visits column (default: the result's outcome, else ``'alsfrs_r_total'``).
    bin_months : float, default 1
        Width of a bin, months.

    Returns
    -------
    pandas.DataFrame
        ``month`` (bin centre, months from the first injection), ``n_patients``, ``mean``,
        ``sd``, ``se``, ``ci_low``, ``ci_high`` (outcome units), sorted by ``month``.

    Examples
    --------
    >>> from msc_notebooks.charts import _example_result
    >>> table = cohort_mean_table(_example_result())
    >>> table.loc[table.month == 0, ["n_patients", "mean"]].values.tolist()
    [[3.0, 38.0]]
    """
    import numpy as np
    import pandas as pd
    from scipy import stats

    outcome = _outcome_of(data, outcome)
    visits, _, _ = _aligned_visits(data, outcome)
    visits = visits.assign(month=np.floor(visits["months"] / bin_months + 0.5) * bin_months)
    per_patient = visits.groupby(["month", "patient_id"], sort=True)["score"].mean()
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


def cohort_mean(
    data: Any,
    outcome: str | None = None,
    *,
    bin_months: float = 1.0,
    min_patients: int = 3,
) -> alt.LayerChart:
    """Cohort mean trajectory aligned on the first injection, with its 95 % interval band.

    The numbers are those of :func:`cohort_mean_table` (monthly bins; band = mean ±
    t(0.975, n − 1)·SE across patients). Only the aggregated bins are embedded in the
    chart, so it stays small for any cohort size.

    Parameters
    ----------
    data : StudyData or AnalysisResult
    outcome : str, optional
        Visits column (default: the result's outcome, else ``'alsfrs_r_total'``).
    bin_months : float, default 1
        Width of a bin, months.
    min_patients : int, default 3
        Bins with fewer patients are left out (a mean of one or two patients is noise).

    Returns
    -------
    altair.LayerChart
        Band (``ci_low``..``ci_high``), mean line and points (tooltips: month, patients,
        mean, CI) and a dashed rule at month 0 (first injection).

    Examples
    --------
    >>> from msc_notebooks.charts import _example_result
    >>> spec = cohort_mean(_example_result(), min_patients=2).to_dict()
    >>> spec["layer"][1]["encoding"]["y"]["field"]
    'mean'
    """
    alt = _alt()
    outcome = _outcome_of(data, outcome)
    table = cohort_mean_table(data, outcome, bin_months=bin_months)
    n_total = int(_aligned_visits(data, outcome)[0]["patient_id"].nunique())
    table = table[table["n_patients"] >= min_patients]
    y_title = outcome_label(outcome)
    x_enc = alt.X("month:Q", title="Months from first injection")
    base = alt.Chart(table).encode(x=x_enc)
    band = base.mark_area(opacity=0.25, color=OKABE_ITO["sky_blue"]).encode(
        y=alt.Y("ci_low:Q", title=y_title, scale=alt.Scale(zero=False)), y2="ci_high:Q"
    )
    line = base.mark_line(color=OKABE_ITO["blue"], point=True).encode(
        y=alt.Y("mean:Q", title=y_title, scale=alt.Scale(zero=False)),
        tooltip=[
            alt.Tooltip("month:Q", title="Months from first injection", format=".1f"),
            alt.Tooltip("n_patients:Q", title="Patients", format=".0f"),
            alt.Tooltip("mean:Q", title="Mean", format=".2f"),
            alt.Tooltip("ci_low:Q", title="95% CI low", format=".2f"),
            alt.Tooltip("ci_high:Q", title="95% CI high", format=".2f"),
        ],
    )
    rule = (
        alt.Chart(alt.Data(values=[{"month": 0, "label": "first injection"}]))
        .mark_rule(strokeDash=[4, 4], color=OKABE_ITO["vermillion"])
        .encode(x="month:Q", tooltip=alt.Tooltip("label:N", title="Event"))
    )
    return alt.layer(band, line, rule).properties(
        title=alt.TitleParams(
            f"Cohort mean {y_title}, aligned on the first injection",
            subtitle=[
                f"{n_total} patients; bins of {bin_months:g} month(s) with at least "
                f"{min_patients} patients.",
                "Band: 95 % t-interval of the mean (mean ± t·SE across patients).",
            ],
            anchor="start",
        ),
        width=_WIDTH,
        height=_HEIGHT,
    )


# --------------------------------------------------------------------------- rates


def rate_comparison(result: Any, *, include_whole: bool = False) -> alt.LayerChart:
    """Each patient's pre-treatment rate next to their rate in every period (slope graph).

    Parameters
    ----------
    result : AnalysisResult
        Uses ``result.periods`` (SPEC §11): the reference rate is ``reference_rate``,
        each period's rate is ``rate`` (rows with a rate, evaluable or not).
    include_whole : bool, default False
        Also draw the ``whole`` period (T1 to Tn), which overlaps the others.

    Returns
    -------
    altair.LayerChart
        x: period (reference first, in time order); y: points lost per month, positive =
        decline (SPEC §2); one line per patient (hover highlights it), a black tick for
        the median of each period and a rule at 0 (no decline).

    Examples
    --------
    >>> from msc_notebooks.charts import _example_result
    >>> spec = rate_comparison(_example_result()).to_dict()
    >>> spec["layer"][0]["encoding"]["y"]["title"]
    'ALSFRS-R points lost per month (positive = decline)'
    >>> spec["layer"][0]["encoding"]["x"]["sort"]
    ['reference', '1-2', '2-3']
    """
    import pandas as pd

    alt = _alt()
    periods = _table(result, "periods", "the rate comparison")
    _require_columns(periods, ("patient_id", "period", "rate", "reference_rate"), "periods")
    outcome = _settings_of(result).outcome
    ref = (
        periods.dropna(subset=["reference_rate"])
        .groupby("patient_id", sort=False)["reference_rate"]
        .first()
        .rename("rate")
        .reset_index()
        .assign(period="reference")
    )
    rest = periods[(periods["period"] != "reference") & periods["rate"].notna()]
    if not include_whole:
        rest = rest[rest["period"] != "whole"]
    data = pd.concat([ref, rest[["patient_id", "period", "rate"]]], ignore_index=True)
    data["rate"] = data["rate"].astype(float)
    data["patient_id"] = data["patient_id"].astype(str)
    order = _period_order(data["period"])
    median = data.groupby("period", as_index=False)["rate"].median()
    y_title = rate_label(outcome)
    x_enc = alt.X(
        "period:N", sort=order, title="Period (injection k to k+1)", axis=alt.Axis(labelAngle=0)
    )
    sel = alt.selection_point(name="patient", fields=["patient_id"], on="pointerover")
    base = alt.Chart(data).encode(x=x_enc, y=alt.Y("rate:Q", title=y_title))
    lines = base.mark_line(color="#999999").encode(
        detail="patient_id:N", opacity=alt.condition(sel, alt.value(0.8), alt.value(0.15))
    )
    points = (
        base.mark_point(filled=True, size=40, color=OKABE_ITO["blue"])
        .encode(
            opacity=alt.condition(sel, alt.value(0.9), alt.value(0.2)),
            tooltip=[
                alt.Tooltip("patient_id:N", title="Patient"),
                alt.Tooltip("period:N", title="Period"),
                alt.Tooltip("rate:Q", title="Points lost per month", format=".2f"),
            ],
        )
        .add_params(sel)
    )
    ticks = (
        alt.Chart(median)
        .mark_tick(color=OKABE_ITO["black"], thickness=3, size=30)
        .encode(
            x=x_enc,
            y="rate:Q",
            tooltip=[
                alt.Tooltip("period:N", title="Period"),
                alt.Tooltip("rate:Q", title="Median rate", format=".2f"),
            ],
        )
    )
    zero = alt.Chart(alt.Data(values=[{"rate": 0}])).mark_rule(strokeDash=[4, 4]).encode(y="rate:Q")
    n = data["patient_id"].nunique()
    return alt.layer(lines, points, ticks, zero).properties(
        title=alt.TitleParams(
            "Progression rate before treatment (reference) and between injections",
            subtitle=[
                f"{n} patients; one line per patient, black tick = median. "
                "Above 0 = decline; lower = slower decline."
            ],
            anchor="start",
        ),
        width=_WIDTH,
        height=_HEIGHT,
    )


# --------------------------------------------------------------------------- responders


def _responder_word(settings: Settings) -> str:
    sign = "≥" if settings.inclusive else ">"
    return f"improvement {sign} {settings.threshold_pct:g} %"


def improvement_waterfall(result: Any, period: str = "1-2") -> alt.TopLevelMixin:
    """Sorted per-patient improvement in one period, coloured by responder status.

    Parameters
    ----------
    result : AnalysisResult
        Uses ``result.periods`` (``improvement_pct``, ``responder``, ``evaluable``,
        ``reason``) and ``result.settings.threshold_pct`` (SPEC §6).
    period : str, default '1-2'
        A period of ``result.periods`` (``'1-2'``, ``'2-3'``, ..., ``'after-last'``,
        ``'whole'``).

    Returns
    -------
    altair.LayerChart or altair.VConcatChart
        Bars (y: improvement %, 100 = no further decline; sorted high to low), a dashed
        rule at the responder threshold, and, when some patients are not evaluable for
        the period, a list of them with the reason below the bars.

    Examples
    --------
    >>> from msc_notebooks.charts import _example_result
    >>> spec = improvement_waterfall(_example_result(), "1-2").to_dict()
    >>> spec["vconcat"][0]["title"]["subtitle"]
    ['2/3 evaluable patients responded (improvement > 25 %).']
    """
    import pandas as pd

    alt = _alt()
    periods = _table(result, "periods", "the improvement waterfall")
    _require_columns(
        periods, ("patient_id", "period", "improvement_pct", "evaluable", "reason"), "periods"
    )
    settings = _settings_of(result)
    rows = periods[periods["period"] == period]
    if rows.empty:
        raise InputError(
            f"no period {period!r} in the result",
            source="result.periods",
            column="period",
            fix=f"choose one of {', '.join(_period_order(periods['period']))}",
        )
    evaluable = rows["evaluable"].fillna(False).astype(bool)
    ok = rows[evaluable & rows["improvement_pct"].notna()]
    responder = ok["responder"].fillna(False).astype(bool) if "responder" in ok else None
    data = pd.DataFrame(
        {
            "patient_id": ok["patient_id"].astype(str),
            "improvement_pct": ok["improvement_pct"].astype(float),
            "status": (
                responder.map({True: "Responder", False: "Non-responder"})
                if responder is not None
                else "Non-responder"
            ),
        }
    ).sort_values("improvement_pct", ascending=False, kind="stable")
    n_resp = int((data["status"] == "Responder").sum())
    n_eval = len(data)
    bars = (
        alt.Chart(data)
        .mark_bar()
        .encode(
            x=alt.X(
                "patient_id:N",
                # "-y" (not an explicit list of ids): an 8,000-entry sort list crashes
                # vegafusion; the order is the same, best improvement first
                sort="-y",
                title="Patient (sorted by improvement)",
                axis=alt.Axis(labels=n_eval <= 60, labelAngle=0),
            ),
            y=alt.Y(
                "improvement_pct:Q",
                title="Improvement vs pre-treatment rate (%; 100 = no further decline)",
            ),
            color=alt.Color(
                "status:N",
                title=None,
                scale=alt.Scale(
                    domain=list(RESPONDER_COLORS), range=list(RESPONDER_COLORS.values())
                ),
            ),
            tooltip=[
                alt.Tooltip("patient_id:N", title="Patient"),
                alt.Tooltip("improvement_pct:Q", title="Improvement (%)", format=".1f"),
                alt.Tooltip("status:N", title="Status"),
            ],
        )
    )
    threshold = pd.DataFrame(
        {"threshold_pct": [float(settings.threshold_pct)], "label": [_responder_word(settings)]}
    )
    rule = (
        alt.Chart(threshold)
        .mark_rule(strokeDash=[6, 3], color=OKABE_ITO["black"])
        .encode(y="threshold_pct:Q", tooltip=alt.Tooltip("label:N", title="Threshold"))
    )
    label = (
        alt.Chart(threshold)
        .mark_text(align="left", dy=-6, x=4, color=OKABE_ITO["black"])
        .encode(y="threshold_pct:Q", text="label:N")
    )
    chart = alt.layer(bars, rule, label).properties(
        title=alt.TitleParams(
            f"Improvement in progression rate, period {period} vs pre-treatment",
            subtitle=[
                f"{n_resp}/{n_eval} evaluable patients responded ({_responder_word(settings)})."
            ],
            anchor="start",
        ),
        width=_WIDTH,
        height=_HEIGHT,
    )
    missing = rows[~evaluable | rows["improvement_pct"].isna()]
    if missing.empty:
        return chart
    lines = pd.DataFrame(
        {
            "line": [
                f"{pid}: {reason or 'not evaluable'}"
                for pid, reason in zip(
                    missing["patient_id"].astype(str), missing["reason"].fillna(""), strict=True
                )
            ]
        }
    )
    lines["order"] = range(len(lines))
    listing = (
        alt.Chart(lines)
        .mark_text(align="left", baseline="middle", x=0)
        .encode(y=alt.Y("order:O", axis=None), text="line:N")
        .properties(
            title=alt.TitleParams(
                f"Not evaluable for period {period} (n = {len(lines)})",
                anchor="start",
                fontSize=12,
            ),
            width=_WIDTH,
            height=16 * len(lines),
            view=alt.ViewBackground(stroke=None),
        )
    )
    return alt.vconcat(chart, listing)


def responders_by_period(result: Any) -> alt.LayerChart:
    """Responders per period, relative and absolute side by side, labelled n/N.

    Parameters
    ----------
    result : AnalysisResult
        Uses ``result.summary`` (SPEC §7): ``n_responders``, ``n_absolute_responders``
        and ``n_evaluable`` per period; periods with no evaluable patient are left out.

    Returns
    -------
    altair.LayerChart
        Grouped bars (y: % of evaluable patients, 0–100) with ``n/N`` text labels.

    Examples
    --------
    >>> from msc_notebooks.charts import _example_result
    >>> spec = responders_by_period(_example_result()).to_dict()
    >>> [row["label"] for row in list(spec["datasets"].values())[0]][:2]
    ['2/3', '1/3']
    """
    import pandas as pd

    alt = _alt()
    summary = _table(result, "summary", "the responder chart")
    _require_columns(summary, ("period", "n_evaluable", "n_responders"), "summary")
    settings = _settings_of(result)
    s = summary[(summary["period"] != "reference") & (summary["n_evaluable"].fillna(0) > 0)]
    order = _period_order(s["period"])
    relative = f"Relative ({_responder_word(settings)})"
    absolute = f"Absolute (≥ {settings.absolute_threshold:g} points/month slower)"
    frames = [(relative, s["n_responders"])]
    if "n_absolute_responders" in s.columns:
        frames.append((absolute, s["n_absolute_responders"]))
    data = pd.concat(
        [
            pd.DataFrame(
                {
                    "period": s["period"].astype(str),
                    "kind": kind,
                    "n": n.astype(int),
                    "N": s["n_evaluable"].astype(int),
                }
            )
            for kind, n in frames
        ],
        ignore_index=True,
    )
    data["pct"] = 100.0 * data["n"] / data["N"]
    data["label"] = data["n"].astype(str) + "/" + data["N"].astype(str)
    kinds = [k for k, _ in frames]
    data["_order"] = data["period"].map({p: i for i, p in enumerate(order)})
    data["_kind"] = data["kind"].map({k: i for i, k in enumerate(kinds)})
    data = data.sort_values(["_order", "_kind"], kind="stable").drop(columns=["_order", "_kind"])
    x_enc = alt.X(
        "period:N", sort=order, title="Period (injection k to k+1)", axis=alt.Axis(labelAngle=0)
    )
    base = alt.Chart(data).encode(x=x_enc, xOffset=alt.XOffset("kind:N", sort=kinds))
    bars = base.mark_bar().encode(
        y=alt.Y(
            "pct:Q",
            title="Responders (% of evaluable patients)",
            scale=alt.Scale(domain=[0, 100]),
        ),
        color=alt.Color(
            "kind:N",
            title=None,
            sort=kinds,
            scale=alt.Scale(domain=kinds, range=list(PALETTE[: len(kinds)])),
            legend=alt.Legend(orient="bottom", labelLimit=400),
        ),
        tooltip=[
            alt.Tooltip("period:N", title="Period"),
            alt.Tooltip("kind:N", title="Responders"),
            alt.Tooltip("label:N", title="n/N"),
            alt.Tooltip("pct:Q", title="%", format=".1f"),
        ],
    )
    text = base.mark_text(dy=-6, baseline="bottom").encode(y="pct:Q", text="label:N")
    return alt.layer(bars, text).properties(
        title=alt.TitleParams(
            "Responders per period",
            subtitle=["Labels: responders / evaluable patients (SPEC §6–7)."],
            anchor="start",
        ),
        width=_WIDTH,
        height=_HEIGHT,
    )


# --------------------------------------------------------------------------- intervals


def _intervals(injections: pd.DataFrame, month_days: float) -> pd.DataFrame:
    """``patient_id``, ``interval`` ('1-2', ...), ``months`` between injections (SPEC §8).

    Uses ``schedule.interval_table``; the fallback computes the same numbers.
    """
    try:
        from .schedule import interval_table
    except ImportError:  # schedule.py not there (yet)
        interval_table = None
    if interval_table is not None:
        return interval_table(injections, month_days)[["patient_id", "interval", "months"]]
    import pandas as pd

    _require_columns(injections, ("patient_id", "day"), "injections")
    inj = injections.sort_values(["patient_id", "day"], kind="stable")
    number = inj.groupby("patient_id", sort=False).cumcount() + 1
    nxt = inj.groupby("patient_id", sort=False)["day"].shift(-1)
    has = nxt.notna()
    return pd.DataFrame(
        {
            "patient_id": inj["patient_id"][has],
            "interval": number[has].astype(str) + "-" + (number[has] + 1).astype(str),
            "months": (nxt[has] - inj["day"][has]) / month_days,
        }
    ).reset_index(drop=True)


def interval_vs_improvement(result: Any) -> alt.LayerChart:
    """Improvement in each inter-injection period against the interval's length (SPEC §8).

    Parameters
    ----------
    result : AnalysisResult
        Uses ``result.periods`` (evaluable ``k-(k+1)`` rows), the study's injections
        (interval = months from Tk to Tk+1) and ``result.intervals`` (Spearman ``rho``,
        ``p``, ``n`` of scope ``'all'``), which is written in the title.

    Returns
    -------
    altair.LayerChart
        Scatter (x: interval, months; y: improvement %), coloured by period, with the
        responder threshold as a dashed rule.

    Examples
    --------
    >>> from msc_notebooks.charts import _example_result
    >>> interval_vs_improvement(_example_result()).to_dict()["title"]["text"]
    'Improvement vs interval between injections (Spearman ρ = 0.50, p = 0.67, n = 3)'
    """
    import pandas as pd

    alt = _alt()
    periods = _table(result, "periods", "the interval chart")
    settings = _settings_of(result)
    study = _study_of(result)
    intervals = getattr(result, "interval_lengths", None)
    if intervals is None or not {"patient_id", "interval", "months"} <= set(intervals.columns):
        intervals = _intervals(study.injections, settings.month_days)
    rows = periods[
        periods["period"].astype(str).str.fullmatch(r"\d+-\d+")
        & periods["evaluable"].fillna(False).astype(bool)
        & periods["improvement_pct"].notna()
    ]
    data = rows[["patient_id", "period", "improvement_pct"]].merge(
        intervals[["patient_id", "interval", "months"]].rename(columns={"interval": "period"}),
        on=["patient_id", "period"],
        how="inner",
    )
    data = pd.DataFrame(
        {
            "patient_id": data["patient_id"].astype(str),
            "period": data["period"].astype(str),
            "interval_months": data["months"].astype(float),
            "improvement_pct": data["improvement_pct"].astype(float),
        }
    )
    stats = getattr(result, "intervals", None)
    title = "Improvement vs interval between injections"
    if stats is not None and "scope" in stats.columns and (stats["scope"] == "all").any():
        row = stats[stats["scope"] == "all"].iloc[0]
        title += (
            f" (Spearman ρ = {row['rho']:.2f}, p = {_fmt_p(float(row['p']))}, n = {int(row['n'])})"
        )
    order = _period_order(data["period"])
    points = (
        alt.Chart(data)
        .mark_point(filled=True, size=70)
        .encode(
            x=alt.X(
                "interval_months:Q",
                title="Interval between injections (months)",
                scale=alt.Scale(zero=False),
            ),
            y=alt.Y(
                "improvement_pct:Q",
                title="Improvement vs pre-treatment rate (%; 100 = no further decline)",
            ),
            color=alt.Color(
                "period:N",
                title="Period",
                sort=order,
                scale=alt.Scale(domain=order, range=list(PALETTE[: max(len(order), 1)])),
            ),
            shape=alt.Shape("period:N", sort=order, title="Period", scale=alt.Scale(domain=order)),
            tooltip=[
                alt.Tooltip("patient_id:N", title="Patient"),
                alt.Tooltip("period:N", title="Period"),
                alt.Tooltip("interval_months:Q", title="Interval (months)", format=".1f"),
                alt.Tooltip("improvement_pct:Q", title="Improvement (%)", format=".1f"),
            ],
        )
    )
    rule = (
        alt.Chart(alt.Data(values=[{"threshold_pct": float(settings.threshold_pct)}]))
        .mark_rule(strokeDash=[6, 3], color=OKABE_ITO["black"])
        .encode(y="threshold_pct:Q")
    )
    return alt.layer(points, rule).properties(
        title=alt.TitleParams(
            title,
            subtitle=[
                "Each point is one patient and period; dashed line: responder threshold "
                f"({_responder_word(settings)})."
            ],
            anchor="start",
        ),
        width=_WIDTH,
        height=_HEIGHT,
    )


# --------------------------------------------------------------------------- safety


def _safety_of(data: Any) -> Any:
    if hasattr(data, "by_term") or hasattr(data, "by_injection"):
        return data
    safety = getattr(data, "safety", None)
    if safety is None:
        raise InputError(
            "the result has no safety analysis (no adverse-event table was given)",
            source="result.safety",
            fix="read the study with an adverse_events table (SPEC §9)",
        )
    return safety


def safety_by_term(data: Any) -> alt.Chart:
    """Adverse events per term, stacked by severity (SPEC §9).

    Parameters
    ----------
    data : AnalysisResult or SafetyResult
        Uses ``safety.by_term`` (``term``, ``severity``, ``n_events``, ``n_patients``).

    Returns
    -------
    altair.Chart
        Horizontal bars (x: number of events), terms sorted by total events.

    Examples
    --------
    >>> from msc_notebooks.charts import _example_result
    >>> safety_by_term(_example_result()).to_dict()["encoding"]["y"]["sort"]
    ['Headache', 'Back pain']
    """
    alt = _alt()
    safety = _safety_of(data)
    table = safety.by_term
    _require_columns(table, ("term", "severity", "n_events", "n_patients"), "safety.by_term")
    table = table.assign(
        term=table["term"].astype(str),
        severity=table["severity"].fillna("not recorded").astype(str),
        n_events=table["n_events"].astype(int),
        n_patients=table["n_patients"].astype(int),
    )
    table = table[table["n_events"] > 0]
    totals = table.groupby("term")["n_events"].sum()
    order = sorted(totals.index, key=lambda t: (-totals[t], t))
    severities = list(SEVERITY_COLORS) + sorted(set(table["severity"]) - set(SEVERITY_COLORS))
    colors = list(SEVERITY_COLORS.values()) + list(PALETTE[: len(severities) - 4])
    n_events = int(table["n_events"].sum())
    return (
        alt.Chart(table)
        .mark_bar()
        .encode(
            y=alt.Y("term:N", sort=order, title="Adverse event (term)"),
            x=alt.X(
                "sum(n_events):Q",
                title="Adverse events (count)",
                axis=alt.Axis(tickMinStep=1),
            ),
            color=alt.Color(
                "severity:N", title="Severity", scale=alt.Scale(domain=severities, range=colors)
            ),
            order=alt.Order("severity_rank:Q"),
            tooltip=[
                alt.Tooltip("term:N", title="Term"),
                alt.Tooltip("severity:N", title="Severity"),
                alt.Tooltip("n_events:Q", title="Events"),
                alt.Tooltip("n_patients:Q", title="Patients"),
            ],
        )
        .transform_calculate(severity_rank=f"indexof({json.dumps(severities)}, datum.severity)")
        .properties(
            title=alt.TitleParams(
                "Adverse events by term and severity",
                subtitle=[f"{n_events} events in total."],
                anchor="start",
            ),
            width=_WIDTH,
            height=alt.Step(18),
        )
    )


def safety_by_injection(data: Any) -> alt.LayerChart:
    """Adverse events attributed to each injection (SPEC §9), labelled by patients affected.

    Parameters
    ----------
    data : AnalysisResult or SafetyResult
        Uses ``safety.by_injection`` (``injection_number``, ``n_injections``, ``n_events``,
        ``n_patients_with_event``); the attribution window comes from the result's
        settings (``ae_window_days``).

    Returns
    -------
    altair.LayerChart
        Bars (y: events) per injection number, text ``patients with an event / injections
        given``.

    Examples
    --------
    >>> from msc_notebooks.charts import _example_result
    >>> spec = safety_by_injection(_example_result()).to_dict()
    >>> [row["label"] for row in list(spec["datasets"].values())[0]]
    ['2/3 patients', '0/2 patients']
    """
    alt = _alt()
    safety = _safety_of(data)
    table = safety.by_injection
    _require_columns(
        table,
        ("injection_number", "n_injections", "n_events", "n_patients_with_event"),
        "safety.by_injection",
    )
    window = _settings_of(data).ae_window_days
    # rows for events before the first injection (0) or outside every window (NA) are
    # not an injection: they are counted in the subtitle instead
    given = table["injection_number"].notna() & table["n_injections"].notna()
    given &= table["injection_number"].fillna(0) >= 1
    other = int(table.loc[~given, "n_events"].fillna(0).sum())
    table = table[given]
    table = table.assign(
        injection_number=table["injection_number"].astype(int),
        n_injections=table["n_injections"].astype(int),
        n_events=table["n_events"].astype(int),
        n_patients_with_event=table["n_patients_with_event"].astype(int),
    )[["injection_number", "n_injections", "n_events", "n_patients_with_event"]]
    table["label"] = (
        table["n_patients_with_event"].astype(str)
        + "/"
        + table["n_injections"].astype(str)
        + " patients"
    )
    base = alt.Chart(table).encode(
        x=alt.X("injection_number:O", title="Injection number", axis=alt.Axis(labelAngle=0))
    )
    top = max(1.0, float(table["n_events"].max() if len(table) else 0) * 1.15)
    bars = base.mark_bar(color=OKABE_ITO["blue"]).encode(
        y=alt.Y(
            "n_events:Q",
            title="Adverse events (count)",
            axis=alt.Axis(tickMinStep=1),
            scale=alt.Scale(domainMax=top),
        ),
        tooltip=[
            alt.Tooltip("injection_number:O", title="Injection"),
            alt.Tooltip("n_injections:Q", title="Injections given"),
            alt.Tooltip("n_events:Q", title="Events"),
            alt.Tooltip("n_patients_with_event:Q", title="Patients with an event"),
        ],
    )
    text = base.mark_text(dy=-6, baseline="bottom").encode(y="n_events:Q", text="label:N")
    return alt.layer(bars, text).properties(
        title=alt.TitleParams(
            f"Adverse events within {window:g} days after each injection",
            subtitle=["Labels: patients with an event / injections given."]
            + (
                [
                    f"{other} event(s) before the first injection or outside every window are not shown."
                ]
                if other
                else []
            ),
            anchor="start",
        ),
        width=_WIDTH,
        height=_HEIGHT,
    )


# --------------------------------------------------------------------------- null model


def null_comparison(result: Any) -> alt.LayerChart:
    """Observed responders next to those expected with no treatment effect (SPEC §13).

    Parameters
    ----------
    result : AnalysisResult
        Uses ``result.null`` (``period``, ``n_evaluable``, ``observed_responders``,
        ``expected_responders``, ``expected_low``, ``expected_high``, ``p_value``).

    Returns
    -------
    altair.LayerChart
        Per period (y): a bar from the 2.5 % to the 97.5 % simulated count, an open circle
        at the expected mean, and a filled diamond at the observed count.

    Examples
    --------
    >>> from msc_notebooks.charts import _example_result
    >>> spec = null_comparison(_example_result()).to_dict()
    >>> spec["layer"][0]["encoding"]["x"]["field"], spec["layer"][0]["encoding"]["x2"]["field"]
    ('expected_low', 'expected_high')
    """
    alt = _alt()
    null = getattr(result, "null", None)
    if null is None:
        raise InputError(
            "the result has no no-effect simulation",
            source="result.null",
            fix="run msc_notebooks.simulate_null(result) (SPEC §13) and pass its result",
        )
    cols = (
        "period",
        "n_evaluable",
        "observed_responders",
        "expected_responders",
        "expected_low",
        "expected_high",
        "p_value",
    )
    _require_columns(null, cols, "result.null")
    data = null[list(cols)].copy()
    data["period"] = data["period"].astype(str)
    data["p_label"] = data["p_value"].map(lambda p: "p = " + _fmt_p(float(p)))
    order = _period_order(data["period"])
    y_enc = alt.Y("period:N", sort=order, title="Period")
    x_title = "Responders (patients)"
    tooltip = [
        alt.Tooltip("period:N", title="Period"),
        alt.Tooltip("n_evaluable:Q", title="Evaluable"),
        alt.Tooltip("observed_responders:Q", title="Observed"),
        alt.Tooltip("expected_responders:Q", title="Expected (no effect)", format=".1f"),
        alt.Tooltip("expected_low:Q", title="2.5 %", format=".1f"),
        alt.Tooltip("expected_high:Q", title="97.5 %", format=".1f"),
        alt.Tooltip("p_label:N", title="p"),
    ]
    base = alt.Chart(data).encode(y=y_enc, tooltip=tooltip)
    band = base.mark_bar(color=OKABE_ITO["sky_blue"], opacity=0.5, size=14).encode(
        x=alt.X("expected_low:Q", title=x_title, axis=alt.Axis(tickMinStep=1)),
        x2="expected_high:Q",
    )
    expected = base.mark_point(shape="circle", size=80, color=OKABE_ITO["black"]).encode(
        x=alt.X("expected_responders:Q", title=x_title)
    )
    observed = base.mark_point(
        shape="diamond", filled=True, size=120, color=OKABE_ITO["vermillion"]
    ).encode(x=alt.X("observed_responders:Q", title=x_title))
    text = base.mark_text(align="left", dx=10).encode(
        x=alt.X("observed_responders:Q", title=x_title), text="p_label:N"
    )
    return alt.layer(band, expected, observed, text).properties(
        title=alt.TitleParams(
            "Observed responders vs responders expected with no treatment effect",
            subtitle=[
                "Bar: simulated 2.5–97.5 % range; circle: simulated mean; "
                "diamond: observed (SPEC §13)."
            ],
            anchor="start",
        ),
        width=_WIDTH,
        height=alt.Step(28),
    )


# --------------------------------------------------------------------------- all figures


def all_figures(result: Any) -> dict[str, alt.TopLevelMixin]:
    """Every figure the result has data for, by file-friendly name.

    Names: ``trajectories``, ``cohort_mean``, ``rate_comparison``,
    ``improvement_<period>`` (every period but the reference that has evaluable
    patients), ``responders_by_period``, ``interval_vs_improvement``, ``safety_by_term``,
    ``safety_by_injection``, ``null_comparison``, then ``trajectories_<outcome>`` for FVC
    and the ALSFRS-R domains present in the visits. Figures without data are skipped.

    Parameters
    ----------
    result : AnalysisResult

    Returns
    -------
    dict of str to altair chart

    Examples
    --------
    >>> from msc_notebooks.charts import _example_result
    >>> list(all_figures(_example_result()))[:4]
    ['trajectories', 'cohort_mean', 'rate_comparison', 'improvement_1-2']
    """
    figures: dict[str, Any] = {}
    settings = _settings_of(result)
    study = _study_of(result)
    figures["trajectories"] = trajectories(result)
    figures["cohort_mean"] = cohort_mean(result)
    periods = getattr(result, "periods", None)
    if periods is not None and not periods.empty:
        figures["rate_comparison"] = rate_comparison(result)
        ok = periods[periods["evaluable"].fillna(False).astype(bool)]
        for period in _period_order(ok["period"]):
            if period != "reference":
                figures[f"improvement_{period}"] = improvement_waterfall(result, period)
    summary = getattr(result, "summary", None)
    if summary is not None and (summary["n_evaluable"].fillna(0) > 0).any():
        figures["responders_by_period"] = responders_by_period(result)
    if periods is not None and not periods.empty:
        chart = interval_vs_improvement(result)
        if chart.layer[0].data.shape[0] > 0:
            figures["interval_vs_improvement"] = chart
    safety = getattr(result, "safety", None)
    if safety is not None:
        if getattr(safety, "by_term", None) is not None and len(safety.by_term):
            figures["safety_by_term"] = safety_by_term(result)
        if getattr(safety, "by_injection", None) is not None and len(safety.by_injection):
            figures["safety_by_injection"] = safety_by_injection(result)
    null = getattr(result, "null", None)
    if null is not None and len(null):
        figures["null_comparison"] = null_comparison(result)
    for outcome in _EXTRA_OUTCOMES:
        if outcome == settings.outcome or outcome not in study.visits.columns:
            continue
        if study.visits[outcome].notna().any():
            figures[f"trajectories_{outcome}"] = trajectories(result, outcome)
    return figures


def save_figures(
    result: Any, out_dir: str | Path, formats: Sequence[str] = ("svg", "png")
) -> list[Path]:
    """Write every figure of :func:`all_figures` to ``out_dir`` (offline, with vl-convert).

    The VegaFusion data transformer is used while saving, so large cohorts do not hit
    Altair's 5,000-row limit.

    Parameters
    ----------
    result : AnalysisResult
    out_dir : str or Path
        Folder to write into (created if needed).
    formats : sequence of str, default ('svg', 'png')
        Any of ``'svg'``, ``'png'``, ``'pdf'``, ``'html'``, ``'json'``.

    Returns
    -------
    list of Path
        The files written, ``<name>.<format>``.

    Examples
    --------
    >>> import tempfile
    >>> from msc_notebooks.charts import _example_result
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     paths = save_figures(_example_result(), tmp, formats=("svg",))
    ...     sorted(p.name for p in paths)[:2]
    ['cohort_mean.svg', 'improvement_1-2.svg']
    """
    alt = _alt()
    allowed = ("svg", "png", "pdf", "html", "json")
    bad = [f for f in formats if f not in allowed]
    if bad:
        raise InputError(
            f"unknown figure format(s) {', '.join(map(str, bad))}",
            fix=f"use some of {', '.join(allowed)}",
        )
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths: list[Path] = []
    figures = all_figures(result)
    with alt.data_transformers.enable("vegafusion"):
        for name, chart in figures.items():
            for fmt in formats:
                path = out / f"{name}.{fmt}"
                if fmt == "html":
                    chart.save(path, inline=True)
                else:
                    chart.save(path)
                paths.append(path)
    return paths


# --------------------------------------------------------------------------- example


def _example_result() -> SimpleNamespace:
    """A tiny hand-made result (3 patients) for the doctests; not the demo cohort.

    Patients a, b, c: injections on days 0 and 91.3125 (3 months) and, for a, 243.5.
    """
    import pandas as pd

    m = MONTH_DAYS
    visits = pd.DataFrame(
        {
            "patient_id": ["a"] * 4 + ["b"] * 3 + ["c"] * 3,
            "day": [-90.0, 0, 91.3125, 243.5, -60, 0, 91.3125, -60, 0, 120],
            "alsfrs_r_total": [42.0, 39, 38, 37, 41, 38, 36, 40, 37, 33],
        }
    )
    base = pd.Timestamp("2021-01-04")
    visits["date"] = base + pd.to_timedelta(visits["day"], unit="D").dt.round("D")
    injections = pd.DataFrame(
        {
            "patient_id": ["a", "a", "a", "b", "b", "c", "c"],
            "day": [0, 91.3125, 243.5, 0, 91.3125, 0, 3 * m],
            "injection_number": [1, 2, 3, 1, 2, 1, 2],
        }
    )
    injections["date"] = base + pd.to_timedelta(injections["day"], unit="D").dt.round("D")
    # rates in points lost per month; improvement = 100 * (ref - rate) / ref (SPEC §6)
    periods = pd.DataFrame(
        {
            "patient_id": ["a", "a", "a", "b", "b", "c", "c", "c", "d", "d"],
            "period": ["reference", "1-2", "2-3"]
            + ["reference", "1-2"]
            + ["reference", "1-2", "after-last"]
            + ["reference", "1-2"],
            "rate": [1.0, 1 / 3, 0.2, 1.5, 1.35, 1.5, 0.9, None, -0.5, 0.5],
            "reference_rate": [1.0, 1.0, 1.0, 1.5, 1.5, 1.5, 1.5, 1.5, -0.5, -0.5],
            "improvement_pct": [None, 200 / 3, 80.0, None, 10.0, None, 40.0, None, None, None],
            "responder": pd.array(
                [None, True, True, None, False, None, True, None, None, None], dtype="boolean"
            ),
            "evaluable": [True, True, True, True, True, True, True, False, False, False],
            "reason": [""] * 7
            + ["no assessment after the last injection"]
            + ["no pre-treatment decline (reference rate <= 0)"] * 2,
        }
    )
    summary = pd.DataFrame(
        {
            "period": ["1-2", "2-3", "after-last"],
            "n_evaluable": [3, 2, 0],
            "n_responders": [2, 1, 0],
            "n_absolute_responders": [1, 0, 0],
        }
    )
    intervals = pd.DataFrame({"scope": ["all"], "rho": [0.5], "p": [0.667], "n": [3]})
    safety = SimpleNamespace(
        by_term=pd.DataFrame(
            {
                "term": ["Headache", "Headache", "Back pain"],
                "severity": ["mild", "moderate", "mild"],
                "n_events": [2, 1, 1],
                "n_patients": [2, 1, 1],
            }
        ),
        by_injection=pd.DataFrame(
            {
                "injection_number": [1, 2],
                "n_injections": [3, 2],
                "n_events": [3, 0],
                "n_patients_with_event": [2, 0],
            }
        ),
    )
    null = pd.DataFrame(
        {
            "period": ["1-2"],
            "n_evaluable": [3],
            "observed_responders": [2],
            "expected_responders": [1.2],
            "expected_low": [0.0],
            "expected_high": [3.0],
            "p_value": [0.35],
        }
    )
    study = SimpleNamespace(visits=visits, injections=injections, time_kind="date")
    return SimpleNamespace(
        periods=periods,
        summary=summary,
        intervals=intervals,
        settings=Settings(),
        study=study,
        safety=safety,
        null=null,
    )
