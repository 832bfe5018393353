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
  large cohort ships a few hundred rows, not every visit;
- every chart stays readable at any cohort size: each chart kind draws one mark per
  patient (or term) up to a documented limit (``DETAIL_LIMITS``, one module constant per
  kind) and a summary above it (quantile bands, a histogram, counts per reason), and says
  so in its subtitle (:func:`size_switch`). Small cohorts keep every patient's detail.
  Enable the VegaFusion data transformer (``setup_notebook()`` does) for data above 5,000
  rows.

Inputs are an ``AnalysisResult`` (``analysis.analyze``) or, for the trajectory charts,
a ``StudyData``. Any object with the same attributes works (duck typing).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from .columns import OUTCOME_LABELS, OUTCOME_SHORT, OUTCOMES
from .errors import InputError, require_columns
from .settings import Settings

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
    "TRAJECTORIES_MAX_PATIENTS",
    "TRAJECTORIES_SAMPLE",
    "RATES_MAX_PATIENTS",
    "WATERFALL_MAX_BARS",
    "FOOTNOTE_MAX_LINES",
    "INTERVAL_MAX_POINTS",
    "SAFETY_MAX_TERMS",
    "DETAIL_LIMITS",
    "size_switch",
    "trajectories",
    "cohort_mean",
    "rate_comparison",
    "improvement_waterfall",
    "not_evaluable_footnote",
    "not_evaluable_rows",
    "not_evaluable_counts",
    "responders_by_period",
    "interval_vs_improvement",
    "safety_by_term",
    "safety_by_injection",
    "null_comparison",
    "matched_comparison",
    "stage_transitions",
    "all_figures",
    "RESPONDER_FIGURES",
    "responder_figure",
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

# outcome labels and short names come from the schema
_SHORT = OUTCOME_SHORT
_EXTRA_OUTCOMES = OUTCOMES[1:]
_WIDTH = 560
_HEIGHT = 320

# --------------------------------------------------------------------------- size switch
# Each chart kind draws one mark per patient (or term) up to the size at which its marks
# stay readable on a _WIDTH x _HEIGHT chart, and a summary above it. The limits are
# module constants so that a reader, a test and a new chart kind find them in one place.

#: Trajectories: one line per patient up to this many patients (100 lines on 560 px
#: already overlap); above, 10-90 % and 25-75 % quantile bands and the median per month,
#: with ``TRAJECTORIES_SAMPLE`` patients' lines drawn at random over them.
TRAJECTORIES_MAX_PATIENTS = 100
#: Individual lines drawn over the quantile bands of a large cohort.
TRAJECTORIES_SAMPLE = 20
#: Rate comparison (slope graph): one line per patient up to this many patients; above, a
#: box per period (10th-90th and 25th-75th percentiles of the rates, median tick).
RATES_MAX_PATIENTS = 100
#: Improvement waterfall: one bar per evaluable patient up to this many (bars narrower
#: than about 3.5 px at 560 px merge into an area); above, a histogram of improvement in
#: 10 % bins stacked by responder status, with the threshold marked.
WATERFALL_MAX_BARS = 150
#: Footnote of the patients not evaluable for a period: one line per patient up to this
#: many; above, one line per reason with its count.
FOOTNOTE_MAX_LINES = 20
#: Interval vs improvement: one point per patient and period up to this many points;
#: above, a two-dimensional histogram (patient-periods per cell).
INTERVAL_MAX_POINTS = 400
#: Adverse events by term: one bar per term up to this many terms (18 px each); above,
#: the most frequent terms and one bar for all the others.
SAFETY_MAX_TERMS = 30

#: The limit of every chart kind (``None``: the chart draws aggregates whatever the size,
#: one mark per period, bin or injection number). A new chart kind adds its entry here
#: and calls :func:`size_switch`.
DETAIL_LIMITS: dict[str, int | None] = {
    "trajectories": TRAJECTORIES_MAX_PATIENTS,
    "cohort_mean": None,
    "rate_comparison": RATES_MAX_PATIENTS,
    "improvement_waterfall": WATERFALL_MAX_BARS,
    "not_evaluable_footnote": FOOTNOTE_MAX_LINES,
    "responders_by_period": None,
    "interval_vs_improvement": INTERVAL_MAX_POINTS,
    "safety_by_term": SAFETY_MAX_TERMS,
    "safety_by_injection": None,
    "null_comparison": None,
    "matched_comparison": None,  # one row per period: no per-patient detail
    "stage_transitions": None,  # patients counted per period, stage and end: aggregates
}


def size_switch(n: int, limit: int | None, summary: str, unit: str = "patients") -> str | None:
    """Decide between per-item detail and a summary; return the subtitle line of a summary.

    Parameters
    ----------
    n : int
        Items the chart would draw one by one (patients, patient-periods, terms).
    limit : int or None
        The chart kind's limit (``DETAIL_LIMITS``); ``None`` = never summarised.
    summary : str
        What the chart shows instead, for the subtitle.
    unit : str, default 'patients'
        What ``n`` counts.

    Returns
    -------
    str or None
        ``None`` when ``n <= limit`` (draw every item); otherwise the sentence the chart
        puts in its subtitle.

    Examples
    --------
    >>> size_switch(80, WATERFALL_MAX_BARS, "a histogram") is None
    True
    >>> size_switch(3000, WATERFALL_MAX_BARS, "a histogram of improvement")
    '3,000 patients (more than 150 to show one by one): a histogram of improvement.'
    """
    if limit is None or n <= limit:
        return None
    return f"{n:,} {unit} (more than {limit:,} to show one by one): {summary}."


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


def _titled(
    chart: Any, title: str, subtitle: Any = None, *, width: Any = _WIDTH, height: Any = _HEIGHT
) -> Any:
    """``chart`` with the kit's title block (title and subtitle lines, left-aligned) and size."""
    alt = _alt()
    subtitle = alt.Undefined if subtitle is None else subtitle
    return chart.properties(
        title=alt.TitleParams(title, subtitle=subtitle, anchor="start"), width=width, height=height
    )


def _percent(channel: Any, title: str) -> Any:
    """Position channel (``alt.X`` or ``alt.Y``) of the ``pct`` column on a 0-100 % scale."""
    return channel("pct:Q", title=title, scale=_alt().Scale(domain=[0, 100]))


def _series_color(field: str, series: list, colors: list, **legend: Any) -> Any:
    """Colour by the nominal ``field``: ``series`` in order with ``colors``, legend below."""
    alt = _alt()
    scale = alt.Scale(domain=series, range=colors)
    legend_below = alt.Legend(orient="bottom", **legend)
    return alt.Color(f"{field}:N", title=None, sort=series, scale=scale, legend=legend_below)


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


def _part(result: Any, name: str, problem: str, fix: str) -> Any:
    """``result.<name>``; when it is missing, an InputError with ``problem`` and ``fix``."""
    part = getattr(result, name, None)
    if part is None:
        raise InputError(problem, source=f"result.{name}", fix=fix)
    return part


def _table(result: Any, name: str, what: str) -> pd.DataFrame:
    problem = f"the result has no '{name}' table, needed for {what}"
    fix = "pass the AnalysisResult returned by msc_notebooks.analyze(study)"
    return _part(result, name, problem, fix)


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


def _fmt_p(p: float) -> str:
    if p != p:  # NaN
        return "n/a"
    return f"{p:.2g}" if p >= 0.001 else "< 0.001"


# --------------------------------------------------------------------------- trajectories


def _outcome_of(data: Any, outcome: str | None) -> str:
    if outcome is not None:
        return outcome
    return _settings_of(data).outcome


def _aligned(data: Any, outcome: str) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    """Aligned visits and injections (``trajectory``) and the patients left out.

    The last number counts the patients with the outcome but no injection (not drawn).
    """
    from .trajectory import aligned_injections, aligned_visits

    study = _study_of(data)
    month_days = _settings_of(data).month_days
    visits = aligned_visits(study, outcome, month_days)
    with_outcome = study.visits.loc[study.visits[outcome].notna(), "patient_id"].nunique()
    dropped = int(with_outcome - visits["patient_id"].nunique())
    return visits, aligned_injections(study, month_days), dropped


def _score_at(visits: pd.DataFrame, points: pd.DataFrame) -> pd.Series:
    """Linear interpolation of each patient's score at ``points.day`` (nearest end outside)."""
    import numpy as np
    import pandas as pd

    if points.empty:
        return pd.Series(dtype=float)
    # days may be integers in a StudyData built by hand: one dtype for merge_asof's key
    left = points[["patient_id", "day"]].astype({"day": float}).reset_index().sort_values("day")
    right = visits[["patient_id", "day", "score"]].astype({"day": float}).sort_values("day")
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
    max_patients: int = TRAJECTORIES_MAX_PATIENTS,
    sample: int = TRAJECTORIES_SAMPLE,
    seed: int = 0,
) -> alt.LayerChart:
    """Per-patient trajectories of an outcome, with a marker at every injection.

    Up to ``max_patients`` patients every patient's line is drawn. Above, the chart shows
    the cohort's 10-90 % and 25-75 % quantile bands and median per month from the first
    injection (:func:`msc_notebooks.trajectory.outcome_quantiles`) with ``sample``
    patients' lines drawn at random over them, and its subtitle says so.

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
        date (only for studies with dates), on a UTC scale so dates never shift; a large
        cohort then shows the random sample only (bands need a common time origin).
    highlight : str or sequence of str, optional
        Patient id(s) highlighted when the chart opens (always drawn). Hovering a point
        highlights that patient (selection ``patient`` on ``patient_id``, by opacity).
    max_patients : int, default ``TRAJECTORIES_MAX_PATIENTS`` (100)
        Above this many patients the chart summarises (see above).
    sample : int, default ``TRAJECTORIES_SAMPLE`` (20)
        Patients drawn one by one over the bands of a large cohort.
    seed : int, default 0
        Seed of that sample.

    Returns
    -------
    altair.LayerChart
        Small cohorts: lines, visit points (tooltips: patient id, date, study day, months,
        score) and injection markers (triangles on the line, interpolated between the
        visits either side). Large cohorts: the two bands and the median line first, then
        the same three layers for the sample.

    Examples
    --------
    >>> import msc_notebooks as msc
    >>> chart = trajectories(msc.analyze(msc.load_demo()))
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
    visits, inj, dropped = _aligned(data, outcome)
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
    if x == "months":
        shown = "10–90 % and 25–75 % bands and the median (black) per month"
    else:
        shown = "a random sample of them; cohort_mean() summarises all"
    note = size_switch(n_patients, max_patients, shown)
    subtitle = []
    if note is not None:
        rng = np.random.default_rng(seed)
        picked = rng.choice(ids, size=min(sample, n_patients), replace=False).tolist()
        keep = set(picked) | set(highlights)
        visits = visits[visits["patient_id"].isin(keep)]
        inj = inj[inj["patient_id"].isin(keep)]
        subtitle.append(note)
        subtitle.append(
            f"Lines: {len(keep)} patients drawn at random (seed {seed}); triangles mark injections."
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
        x_title = "Months from first injection"
        x_enc = alt.X("months:Q", title=x_title)
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
    if note is None:
        faded = alt.condition(sel, alt.value(0.9), alt.value(0.15))
    else:  # the sample stays light over the bands until a line is hovered
        faded = alt.condition(sel, alt.value(0.9), alt.value(0.35), empty=False)
    y_enc = alt.Y("score:Q", title=y_title, scale=alt.Scale(zero=False))
    tooltip = [
        alt.Tooltip("patient_id:N", title="Patient"),
        alt.Tooltip("date:N", title="Date"),
        alt.Tooltip("day:Q", title="Study day", format=".0f"),
        alt.Tooltip("months:Q", title="Months from first injection", format=".1f"),
        alt.Tooltip("score:Q", title=y_title, format=".4g"),
    ]
    base = alt.Chart(visits).encode(x=x_enc, y=y_enc, detail=alt.Detail("patient_id:N"))
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
    layers = [lines, points, markers]
    if note is not None and x == "months":
        # bands under the sample's lines, the median line over them
        outer, inner, median = _quantile_bands(data, outcome, x_title, y_title)
        layers = [outer, inner, *layers, median]
    return _titled(alt.layer(*layers), title, subtitle)


def _quantile_tooltips(fmt: str) -> list[Any]:
    """Tooltips of the columns q10 ... q90 (10th percentile ... 90th percentile)."""
    alt = _alt()
    names = {"q10": "10th percentile", "q25": "25th percentile", "q50": "Median"}
    names |= {"q75": "75th percentile", "q90": "90th percentile"}
    return [alt.Tooltip(f"{q}:Q", title=title, format=fmt) for q, title in names.items()]


def _quantile_bands(data: Any, outcome: str, x_title: str, y_title: str) -> list[Any]:
    """Layers of the outcome's 10-90 % and 25-75 % bands and median per month."""
    from .trajectory import outcome_quantiles

    alt = _alt()
    bands = outcome_quantiles(_study_of(data), outcome, month_days=_settings_of(data).month_days)
    base = alt.Chart(bands).encode(x=alt.X("month:Q", title=x_title))
    tooltip = [
        alt.Tooltip("month:Q", title="Months from first injection", format=".0f"),
        alt.Tooltip("n_patients:Q", title="Patients"),
        *_quantile_tooltips(".1f"),
    ]
    y = alt.Y("q10:Q", title=y_title, scale=alt.Scale(zero=False))
    outer = base.mark_area(color=OKABE_ITO["sky_blue"], opacity=0.25).encode(
        y=y, y2=alt.Y2("q90:Q")
    )
    inner = base.mark_area(color=OKABE_ITO["sky_blue"], opacity=0.45).encode(
        y=alt.Y("q25:Q", title=y_title), y2=alt.Y2("q75:Q")
    )
    median = base.mark_line(color=OKABE_ITO["black"], strokeWidth=2.5).encode(
        y=alt.Y("q50:Q", title=y_title), tooltip=tooltip
    )
    return [outer, inner, median]


# --------------------------------------------------------------------------- cohort mean


def cohort_mean(
    data: Any,
    outcome: str | None = None,
    *,
    bin_months: float = 1.0,
    min_patients: int = 3,
) -> alt.LayerChart:
    """Cohort mean trajectory aligned on the first injection, with its 95 % interval band.

    The numbers are those of :func:`msc_notebooks.trajectory.cohort_mean_table` (monthly
    bins; band = mean ± t(0.975, n − 1)·SE across patients). Only the aggregated bins are
    embedded in the chart, so it is the same chart for any cohort size (no size switch).

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
    >>> import msc_notebooks as msc
    >>> spec = cohort_mean(msc.load_demo()).to_dict()
    >>> spec["layer"][1]["encoding"]["y"]["field"]
    'mean'
    """
    from .trajectory import cohort_mean_table

    alt = _alt()
    outcome = _outcome_of(data, outcome)
    study = _study_of(data)
    month_days = _settings_of(data).month_days
    table = cohort_mean_table(study, outcome, bin_months=bin_months, month_days=month_days)
    n_total = int(_aligned(data, outcome)[0]["patient_id"].nunique())
    table = table[table["n_patients"] >= min_patients]
    y_title = outcome_label(outcome)
    x_enc = alt.X("month:Q", title="Months from first injection")
    base = alt.Chart(table).encode(x=x_enc)
    band = base.mark_area(opacity=0.25, color=OKABE_ITO["sky_blue"]).encode(
        y=alt.Y("ci_low:Q", title=y_title, scale=alt.Scale(zero=False)), y2=alt.Y2("ci_high:Q")
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
        .encode(x=alt.X("month:Q"), tooltip=alt.Tooltip("label:N", title="Event"))
    )
    return _titled(
        alt.layer(band, line, rule),
        f"Cohort mean {y_title}, aligned on the first injection",
        [
            f"{n_total} patients; bins of {bin_months:g} month(s) with at least "
            f"{min_patients} patients.",
            "Band: 95 % t-interval of the mean (mean ± t·SE across patients).",
        ],
    )


# --------------------------------------------------------------------------- rates


def _quantiles_by(data: pd.DataFrame, by: str, value: str) -> pd.DataFrame:
    """Per group: n, 10th, 25th, 50th, 75th and 90th percentiles of ``value`` (drawing only)."""
    grouped = data.groupby(by, sort=False)[value]
    table = grouped.quantile([0.1, 0.25, 0.5, 0.75, 0.9]).unstack()
    table.columns = ["q10", "q25", "q50", "q75", "q90"]
    table.insert(0, "n", grouped.size())
    return table.reset_index()


def rate_comparison(
    result: Any, *, include_whole: bool = False, max_patients: int = RATES_MAX_PATIENTS
) -> alt.LayerChart:
    """Each patient's pre-treatment rate next to their rate in every period (slope graph).

    Up to ``max_patients`` patients one line per patient; above, a box per period (bar:
    25th-75th percentile, whisker: 10th-90th, black tick: median), and the subtitle says so.

    Parameters
    ----------
    result : AnalysisResult
        Uses ``result.periods`` (SPEC §11): the reference rate is ``reference_rate``,
        each period's rate is ``rate`` (rows with a rate, evaluable or not).
    include_whole : bool, default False
        Also draw the ``whole`` period (T1 to Tn), which overlaps the others.
    max_patients : int, default ``RATES_MAX_PATIENTS`` (100)
        Above this many patients the chart shows boxes instead of lines.

    Returns
    -------
    altair.LayerChart
        x: period (reference first, in time order); y: points lost per month, positive =
        decline (SPEC §2). Small cohorts: one line per patient (hover highlights it), a
        black tick for the median of each period; large cohorts: whiskers, boxes and the
        median tick. Both: a rule at 0 (no decline).

    Examples
    --------
    >>> import msc_notebooks as msc
    >>> spec = rate_comparison(msc.analyze(msc.load_demo())).to_dict()
    >>> spec["layer"][0]["encoding"]["y"]["title"]
    'ALSFRS-R points lost per month (positive = decline)'
    >>> spec["layer"][0]["encoding"]["x"]["sort"]
    ['reference', '1-2', '2-3', '3-4', 'after-last']
    """
    import pandas as pd

    alt = _alt()
    periods = _table(result, "periods", "the rate comparison")
    require_columns(periods, ("patient_id", "period", "rate", "reference_rate"), "periods")
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
    y_title = rate_label(outcome)
    x_enc = alt.X(
        "period:N", sort=order, title="Period (injection k to k+1)", axis=alt.Axis(labelAngle=0)
    )
    n = data["patient_id"].nunique()
    note = size_switch(
        n,
        max_patients,
        "per period, bar = 25th–75th percentile, whisker = 10th–90th, black tick = median",
    )
    zero = (
        alt.Chart(alt.Data(values=[{"rate": 0}]))
        .mark_rule(strokeDash=[4, 4])
        .encode(y=alt.Y("rate:Q"))
    )
    if note is None:
        layers = _rate_lines(data, x_enc, y_title)
        subtitle = [
            f"{n} patients; one line per patient, black tick = median. "
            "Above 0 = decline; lower = slower decline."
        ]
    else:
        layers = _rate_boxes(_quantiles_by(data, "period", "rate"), x_enc, y_title)
        subtitle = [note, "Above 0 = decline; lower = slower decline."]
    return _titled(
        alt.layer(*layers, zero),
        "Progression rate before treatment (reference) and between injections",
        subtitle,
    )


def _rate_lines(data: pd.DataFrame, x_enc: Any, y_title: str) -> list[Any]:
    """One line per patient with points, and the median tick of each period."""
    alt = _alt()
    median = data.groupby("period", as_index=False)["rate"].median()
    sel = alt.selection_point(name="patient", fields=["patient_id"], on="pointerover")
    base = alt.Chart(data).encode(x=x_enc, y=alt.Y("rate:Q", title=y_title))
    lines = base.mark_line(color="#999999").encode(
        detail=alt.Detail("patient_id:N"),
        opacity=alt.condition(sel, alt.value(0.8), alt.value(0.15)),
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
            y=alt.Y("rate:Q"),
            tooltip=[
                alt.Tooltip("period:N", title="Period"),
                alt.Tooltip("rate:Q", title="Median rate", format=".2f"),
            ],
        )
    )
    return [lines, points, ticks]


def _rate_boxes(boxes: pd.DataFrame, x_enc: Any, y_title: str) -> list[Any]:
    """Whisker (10th-90th), box (25th-75th) and median tick per period."""
    alt = _alt()
    tooltip = [
        alt.Tooltip("period:N", title="Period"),
        alt.Tooltip("n:Q", title="Patients"),
        *_quantile_tooltips(".2f"),
    ]
    base = alt.Chart(boxes).encode(x=x_enc, tooltip=tooltip)
    whisker = base.mark_rule(color=OKABE_ITO["blue"]).encode(
        y=alt.Y("q10:Q", title=y_title), y2=alt.Y2("q90:Q")
    )
    box = base.mark_bar(color=OKABE_ITO["sky_blue"], size=40).encode(
        y=alt.Y("q25:Q", title=y_title), y2=alt.Y2("q75:Q")
    )
    median = base.mark_tick(color=OKABE_ITO["black"], thickness=3, size=40).encode(
        y=alt.Y("q50:Q", title=y_title)
    )
    return [whisker, box, median]


# --------------------------------------------------------------------------- responders


def _responder_word(settings: Settings) -> str:
    sign = "≥" if settings.inclusive else ">"
    return f"improvement {sign} {settings.threshold_pct:g} %"


_IMPROVEMENT_TITLE = "Improvement vs pre-treatment rate (%; 100 = no further decline)"
#: Width of a histogram bin of improvement (%), and the range beyond which values are
#: counted in the end bins (improvement of patients with a small reference rate can reach
#: thousands of %: SPEC §7).
_HIST_WIDTH = 10.0
_HIST_RANGE = (-200.0, 200.0)


def improvement_waterfall(
    result: Any, period: str = "1-2", *, max_bars: int = WATERFALL_MAX_BARS
) -> alt.TopLevelMixin:
    """Per-patient improvement in one period, coloured by responder status.

    Up to ``max_bars`` evaluable patients: one bar per patient, sorted high to low. Above:
    a histogram of improvement (10 % bins whose edges fall on the responder threshold,
    values beyond ±200 % counted in the end bins), stacked by responder status. The
    patients not evaluable for the period are listed below the chart with their reason,
    one line each up to ``FOOTNOTE_MAX_LINES``, else one line per reason with its count.
    Each switch is named in the subtitle.

    Parameters
    ----------
    result : AnalysisResult
        Uses ``result.periods`` (``improvement_pct``, ``responder``, ``evaluable``,
        ``reason``) and ``result.settings.threshold_pct`` (SPEC §6).
    period : str, default '1-2'
        A period of ``result.periods`` (``'1-2'``, ``'2-3'``, ..., ``'after-last'``,
        ``'whole'``).
    max_bars : int, default ``WATERFALL_MAX_BARS`` (150)
        Above this many evaluable patients the chart is a histogram.

    Returns
    -------
    altair.LayerChart or altair.VConcatChart
        Bars (y: improvement %, 100 = no further decline) or the histogram (x: improvement
        %, y: patients), a dashed rule at the responder threshold and, when some patients
        are not evaluable for the period, the footnote below.

    Examples
    --------
    >>> import msc_notebooks as msc
    >>> spec = improvement_waterfall(msc.analyze(msc.load_demo()), "1-2").to_dict()
    >>> spec["title"]["subtitle"][0]
    '15/19 evaluable responders; all 19 treated evaluable (improvement > 25 %).'

    """
    import pandas as pd

    alt = _alt()
    periods = _table(result, "periods", "the improvement waterfall")
    require_columns(
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
    headline = f"{n_resp}/{n_eval} evaluable patients responded"
    summary = getattr(result, "summary", None)
    if summary is not None and "n_not_evaluable" in summary.columns:
        at = summary[summary["period"] == period]
        if len(at):  # the patients left out beside the count (SPEC §7)
            from .summary import responder_sentence

            headline = responder_sentence(at.iloc[0])
    subtitle = [f"{headline} ({_responder_word(settings)})."]
    color = alt.Color(
        "status:N",
        title=None,
        scale=alt.Scale(domain=list(RESPONDER_COLORS), range=list(RESPONDER_COLORS.values())),
    )
    threshold = pd.DataFrame(
        {"threshold_pct": [float(settings.threshold_pct)], "label": [_responder_word(settings)]}
    )
    note = size_switch(
        n_eval,
        max_bars,
        f"histogram of improvement in {_HIST_WIDTH:g} % bins",
        unit="evaluable patients",
    )
    if note is None:
        layers = _waterfall_bars(data, color, threshold)
    else:
        hist, below, above = _improvement_histogram(data, float(settings.threshold_pct))
        layers = _histogram_bars(hist, color, threshold)
        ends = [
            f"{k:,} patient(s) {word} {edge:+g} %"
            for k, word, edge in (
                (below, "below", _HIST_RANGE[0]),
                (above, "above", _HIST_RANGE[1]),
            )
            if k
        ]
        subtitle.append(note)
        if ends:
            subtitle.append(f"End bins include {' and '.join(ends)}.")
    chart = _titled(
        alt.layer(*layers),
        f"Improvement in progression rate, period {period} vs pre-treatment",
        subtitle,
    )
    missing = not_evaluable_rows(rows, period)
    if missing.empty:
        return chart
    return alt.vconcat(chart, not_evaluable_footnote(missing, period))


def _waterfall_bars(data: pd.DataFrame, color: Any, threshold: pd.DataFrame) -> list[Any]:
    """One bar per patient (sorted, best first), the threshold rule and its label."""
    alt = _alt()
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
                axis=alt.Axis(labels=len(data) <= 60, labelAngle=0),
            ),
            y=alt.Y("improvement_pct:Q", title=_IMPROVEMENT_TITLE),
            color=color,
            tooltip=[
                alt.Tooltip("patient_id:N", title="Patient"),
                alt.Tooltip("improvement_pct:Q", title="Improvement (%)", format=".1f"),
                alt.Tooltip("status:N", title="Status"),
            ],
        )
    )
    return [bars, *_threshold_marks(threshold, "y")]


def _improvement_histogram(data: pd.DataFrame, threshold: float) -> tuple[pd.DataFrame, int, int]:
    """Patients per improvement bin and status; bin edges at ``threshold + k * width``.

    Values beyond ``_HIST_RANGE`` are counted in the end bins; returns the table
    (``bin_start``, ``bin_end``, ``status``, ``n``) and how many were below and above.
    """
    import numpy as np

    lo, hi = _HIST_RANGE
    values = data["improvement_pct"]
    below, above = int((values < lo).sum()), int((values > hi).sum())
    start = threshold + np.floor((values.clip(lo, hi) - threshold) / _HIST_WIDTH) * _HIST_WIDTH
    hist = (
        data.assign(bin_start=start)
        .groupby(["bin_start", "status"], as_index=False)
        .size()
        .rename(columns={"size": "n"})
    )
    hist["bin_end"] = hist["bin_start"] + _HIST_WIDTH
    return hist[["bin_start", "bin_end", "status", "n"]], below, above


def _histogram_bars(hist: pd.DataFrame, color: Any, threshold: pd.DataFrame) -> list[Any]:
    """Stacked histogram bars, a vertical threshold rule and its label."""
    alt = _alt()
    bars = (
        alt.Chart(hist)
        .mark_bar(binSpacing=0, stroke="white", strokeWidth=0.5)
        .encode(
            x=alt.X("bin_start:Q", title=_IMPROVEMENT_TITLE),
            x2=alt.X2("bin_end:Q"),
            y=alt.Y("sum(n):Q", title="Patients", stack="zero"),
            color=color,
            tooltip=[
                alt.Tooltip("bin_start:Q", title="From (%)", format=".0f"),
                alt.Tooltip("bin_end:Q", title="To (%)", format=".0f"),
                alt.Tooltip("status:N", title="Status"),
                alt.Tooltip("sum(n):Q", title="Patients"),
            ],
        )
    )
    return [bars, *_threshold_marks(threshold, "x")]


def _threshold_marks(threshold: pd.DataFrame, axis: Literal["x", "y"]) -> list[Any]:
    """The responder threshold as a dashed rule on ``axis`` and its label beside it."""
    alt = _alt()
    at = {axis: (alt.X if axis == "x" else alt.Y)("threshold_pct:Q")}
    offset = {"dy": -6, "x": 4} if axis == "y" else {"dx": 4, "y": 8}
    rule = (
        alt.Chart(threshold)
        .mark_rule(strokeDash=[6, 3], color=OKABE_ITO["black"])
        .encode(**at, tooltip=alt.Tooltip("label:N", title="Threshold"))
    )
    label = (
        alt.Chart(threshold)
        .mark_text(align="left", color=OKABE_ITO["black"], **offset)
        .encode(**at, text=alt.Text("label:N"))
    )
    return [rule, label]


def not_evaluable_footnote(
    rows: pd.DataFrame, period: str, *, max_lines: int = FOOTNOTE_MAX_LINES
) -> alt.Chart:
    """The patients left out of a period, as a text chart placed under another chart.

    Up to ``max_lines`` patients one line each (``id: reason``); above, one line per
    reason with its count, most frequent first, and the title says so. Lines longer than
    the chart are cut with an ellipsis (the full text is in the tooltip).

    Parameters
    ----------
    rows : pandas.DataFrame
        ``patient_id`` and ``reason`` of the patients not evaluable (``result.periods``
        rows).
    period : str
        The period, for the title.
    max_lines : int, default ``FOOTNOTE_MAX_LINES`` (20)

    Returns
    -------
    altair.Chart
        A text mark (``line``), one row per line, no axes.

    Examples
    --------
    >>> import pandas as pd
    >>> rows = pd.DataFrame({"patient_id": [f"{i:03d}" for i in range(30)],
    ...                      "reason": ["flat run-in"] * 21 + ["no visit"] * 9})
    >>> spec = not_evaluable_footnote(rows, "1-2").to_dict()
    >>> [r["line"] for r in list(spec["datasets"].values())[0]]
    ['21 flat run-in', '9 no visit']
    >>> spec["title"]["text"]
    '30 patients not evaluable for period 1-2 (more than 20 to show one by one): counts per reason'
    """
    import pandas as pd

    alt = _alt()
    n = len(rows)
    note = size_switch(n, max_lines, "counts per reason", unit="patients not evaluable")
    if note is None:
        text = [
            f"{pid}: {reason}"
            for pid, reason in zip(rows["patient_id"].astype(str), _reasons(rows), strict=True)
        ]
        title = f"Not evaluable for period {period} (n = {n})"
    else:
        counts = not_evaluable_counts(rows)
        text = [
            f"{k:,} {reason}"
            for reason, k in zip(counts["reason"], counts["patients"], strict=True)
        ]
        title = note.removesuffix(".").replace(" (more", f" for period {period} (more")
    lines = pd.DataFrame({"line": text, "order": range(len(text))})
    return (
        alt.Chart(lines)
        .mark_text(align="left", baseline="middle", x=0, limit=_WIDTH)
        .encode(
            y=alt.Y("order:O", axis=None), text=alt.Text("line:N"), tooltip=alt.Tooltip("line:N")
        )
        .properties(
            title=alt.TitleParams(title, anchor="start", fontSize=12),
            width=_WIDTH,
            height=16 * len(lines),
            view=alt.ViewBackground(stroke=None),
        )
    )


def _reasons(rows: pd.DataFrame) -> pd.Series:
    """The reason of each row not evaluable, ``'not evaluable'`` where none is given."""
    return rows["reason"].fillna("").astype(str).replace("", "not evaluable")


def not_evaluable_rows(
    periods: pd.DataFrame, period: str | None = None, reason: str | None = None
) -> pd.DataFrame:
    """The rows of ``result.periods`` left out of the responder counts (SPEC §7).

    A patient-period is left out when it is not evaluable or has no improvement %: the
    rows the waterfall's footnote and the Wizard's "not evaluable" panel count.

    Parameters
    ----------
    periods : pandas.DataFrame
        ``result.periods`` (``period``, ``evaluable``, ``improvement_pct``, ``reason``).
    period : str, optional
        Keep this period only (default: every period but ``reference``).
    reason : str, optional
        Keep this reason only (as :func:`not_evaluable_counts` writes it: ``'not
        evaluable'`` for rows without one).

    Returns
    -------
    pandas.DataFrame
        Those rows, every column, in the table's order.

    Examples
    --------
    >>> import pandas as pd
    >>> p = pd.DataFrame({"patient_id": ["a", "b", "c"], "period": ["1-2"] * 3,
    ...     "evaluable": [True, False, True], "improvement_pct": [10.0, None, None],
    ...     "reason": ["", "no visit", ""]})
    >>> not_evaluable_rows(p, "1-2")["patient_id"].tolist()
    ['b', 'c']
    >>> not_evaluable_rows(p, "1-2", "not evaluable")["patient_id"].tolist()
    ['c']
    """
    rows = periods[periods["period"] == period] if period is not None else periods
    if period is None:
        rows = rows[rows["period"].astype(str) != "reference"]
    evaluable = rows["evaluable"].fillna(False).astype(bool)
    rows = rows[~evaluable | rows["improvement_pct"].isna()]
    return rows if reason is None else rows[_reasons(rows) == reason]


def not_evaluable_counts(rows: pd.DataFrame, by_period: bool = False) -> pd.DataFrame:
    """Patients per reason among rows left out (:func:`not_evaluable_rows`).

    Parameters
    ----------
    rows : pandas.DataFrame
        ``reason`` (and ``period`` with ``by_period``) of the rows left out.
    by_period : bool, default False
        One count per period and reason (periods in their order).

    Returns
    -------
    pandas.DataFrame
        ``reason`` (``'not evaluable'`` when none is given) and ``patients``, most
        frequent first; with ``by_period``, ``period`` first.

    Examples
    --------
    >>> import pandas as pd
    >>> rows = pd.DataFrame({"period": ["1-2", "1-2", "2-3"],
    ...                      "reason": ["no visit", "", "no visit"]})
    >>> not_evaluable_counts(rows).values.tolist()
    [['no visit', 2], ['not evaluable', 1]]
    >>> not_evaluable_counts(rows, by_period=True).values.tolist()
    [['1-2', 'no visit', 1], ['1-2', 'not evaluable', 1], ['2-3', 'no visit', 1]]
    """
    import pandas as pd

    keys = {"reason": _reasons(rows)}
    if by_period:
        keys = {"period": rows["period"].astype(str), **keys}
    table = pd.DataFrame(keys)
    counts = table.value_counts(sort=False).rename("patients").reset_index()
    counts = counts.sort_values("patients", ascending=False, kind="stable")
    if by_period:
        order = {p: i for i, p in enumerate(_period_order(counts["period"]))}
        counts = counts.sort_values("period", key=lambda c: c.map(order), kind="stable")
    return counts.reset_index(drop=True)


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
    >>> import msc_notebooks as msc
    >>> spec = responders_by_period(msc.analyze(msc.load_demo())).to_dict()
    >>> [row["label"] for row in list(spec["datasets"].values())[0]][:2]
    ['15/19', '9/19']
    """
    import pandas as pd

    alt = _alt()
    summary = _table(result, "summary", "the responder chart")
    require_columns(summary, ("period", "n_evaluable", "n_responders"), "summary")
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
        y=_percent(alt.Y, "Responders (% of evaluable patients)"),
        color=_series_color("kind", kinds, list(PALETTE[: len(kinds)]), labelLimit=400),
        tooltip=[
            alt.Tooltip("period:N", title="Period"),
            alt.Tooltip("kind:N", title="Responders"),
            alt.Tooltip("label:N", title="n/N"),
            alt.Tooltip("pct:Q", title="%", format=".1f"),
        ],
    )
    text = base.mark_text(dy=-6, baseline="bottom").encode(
        y=alt.Y("pct:Q"), text=alt.Text("label:N")
    )
    subtitle = ["Labels: responders / evaluable patients (methods §6–7)."]
    if "n_not_evaluable" in s.columns:  # the patients left out beside the counts (SPEC §7)
        from .summary import responder_sentence

        subtitle += [
            f"{row.period}: {responder_sentence(row)}"
            for row in s.itertuples(index=False)
            if row.n_not_evaluable
        ]
    return _titled(
        alt.layer(bars, text),
        "Responders per period",
        subtitle,
    )


# --------------------------------------------------------------------------- intervals


def _intervals(injections: pd.DataFrame, month_days: float) -> pd.DataFrame:
    """``patient_id``, ``interval`` ('1-2', ...), ``months`` between injections (SPEC §8).

    From ``schedule.interval_table`` (one rule, one place).
    """
    from .schedule import interval_table

    return interval_table(injections, month_days)[["patient_id", "interval", "months"]]


def interval_vs_improvement(
    result: Any, *, max_points: int = INTERVAL_MAX_POINTS
) -> alt.LayerChart:
    """Improvement in each inter-injection period against the interval's length (SPEC §8).

    Parameters
    ----------
    result : AnalysisResult
        Uses ``result.periods`` (evaluable ``k-(k+1)`` rows), the study's injections
        (interval = months from Tk to Tk+1) and ``result.intervals`` (Spearman ``rho``,
        ``p``, ``n`` of scope ``'all'``), which is written in the title.

    max_points : int, default ``INTERVAL_MAX_POINTS`` (400)
        Above this many patient-periods the chart is a two-dimensional histogram: cells
        of half a month by 25 % (improvement beyond ±200 % in the end cells) coloured by
        the number of patient-periods, periods pooled; the subtitle says so.

    Returns
    -------
    altair.LayerChart
        Scatter (x: interval, months; y: improvement %), coloured by period, or the
        histogram's cells, with the responder threshold as a dashed rule.

    Examples
    --------
    >>> import msc_notebooks as msc
    >>> interval_vs_improvement(msc.analyze(msc.load_demo())).to_dict()["title"]["text"]
    'Improvement vs interval between injections (Spearman ρ = ..., p = ..., n = ...)'
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
    rule = (
        alt.Chart(alt.Data(values=[{"threshold_pct": float(settings.threshold_pct)}]))
        .mark_rule(strokeDash=[6, 3], color=OKABE_ITO["black"])
        .encode(y=alt.Y("threshold_pct:Q"))
    )
    note = size_switch(
        len(data),
        max_points,
        "cells of 0.5 month × 25 %, coloured by patient-periods, periods pooled",
        unit="patient-periods",
    )
    threshold = f"responder threshold ({_responder_word(settings)})."
    if note is None:
        marks = _interval_points(data)
        subtitle = ["Each point is one patient and period; dashed line: " + threshold]
    else:
        marks = _interval_cells(data)
        subtitle = [note, "Dashed line: " + threshold]
    if stats is not None and "method" in stats.columns and (stats["scope"] == "all").any():
        how = stats[stats["scope"] == "all"].iloc[0]["method"]
        subtitle.append(f"p: {how}; a patient's pairs are not independent (SPEC §8).")
        subtitle.append(
            "p tests whether improvement is unrelated to the interval, not the treatment."
        )
    return _titled(alt.layer(marks, rule), title, subtitle)


_INTERVAL_X = "Interval between injections (months)"


def _interval_points(data: pd.DataFrame) -> Any:
    """One point per patient and period, coloured and shaped by period."""
    alt = _alt()
    order = _period_order(data["period"])
    return (
        alt.Chart(data)
        .mark_point(filled=True, size=70)
        .encode(
            x=alt.X("interval_months:Q", title=_INTERVAL_X, scale=alt.Scale(zero=False)),
            y=alt.Y("improvement_pct:Q", title=_IMPROVEMENT_TITLE),
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


def _interval_cells(data: pd.DataFrame) -> Any:
    """Patient-periods per cell of 0.5 month x 25 % (values beyond ±200 % in the end cells)."""
    import numpy as np

    alt = _alt()
    lo, hi = _HIST_RANGE
    x0 = np.floor(data["interval_months"] / 0.5) * 0.5
    y0 = np.floor(data["improvement_pct"].clip(lo, hi - 1e-9) / 25.0) * 25.0
    cells = (data.assign(x0=x0, y0=y0).groupby(["x0", "y0"], as_index=False).size()).rename(
        columns={"size": "n"}
    )
    cells["x1"], cells["y1"] = cells["x0"] + 0.5, cells["y0"] + 25.0
    return (
        alt.Chart(cells)
        .mark_rect()
        .encode(
            x=alt.X("x0:Q", title=_INTERVAL_X, scale=alt.Scale(zero=False)),
            x2=alt.X2("x1:Q"),
            y=alt.Y("y0:Q", title=_IMPROVEMENT_TITLE),
            y2=alt.Y2("y1:Q"),
            color=alt.Color("n:Q", title="Patient-periods", scale=alt.Scale(scheme="blues")),
            tooltip=[
                alt.Tooltip("x0:Q", title="Interval from (months)", format=".1f"),
                alt.Tooltip("x1:Q", title="to", format=".1f"),
                alt.Tooltip("y0:Q", title="Improvement from (%)", format=".0f"),
                alt.Tooltip("y1:Q", title="to", format=".0f"),
                alt.Tooltip("n:Q", title="Patient-periods"),
            ],
        )
    )


# --------------------------------------------------------------------------- safety


def _safety_of(data: Any) -> Any:
    if hasattr(data, "by_term") or hasattr(data, "by_injection"):
        return data
    return _part(
        data,
        "safety",
        "the result has no safety analysis (no adverse-event table was given)",
        "read the study with an adverse_events table (methods §9)",
    )


def safety_by_term(data: Any, *, max_terms: int = SAFETY_MAX_TERMS) -> alt.Chart:
    """Adverse events per term, stacked by severity (SPEC §9).

    Parameters
    ----------
    data : AnalysisResult or SafetyResult
        Uses ``safety.by_term`` (``term``, ``severity``, ``n_events``, ``n_patients``).
    max_terms : int, default ``SAFETY_MAX_TERMS`` (30)
        Above this many terms, the ``max_terms - 1`` most frequent are drawn and the others
        are summed in one bar ``other terms (k)``; the subtitle says so.

    Returns
    -------
    altair.Chart
        Horizontal bars (x: number of events), terms sorted by total events.

    Examples
    --------
    >>> import msc_notebooks as msc
    >>> order = safety_by_term(msc.analyze(msc.load_demo())).to_dict()["encoding"]["y"]["sort"]
    >>> order[0]
    'nausea'
    """
    import pandas as pd

    alt = _alt()
    safety = _safety_of(data)
    table = safety.by_term
    require_columns(table, ("term", "severity", "n_events", "n_patients"), "safety.by_term")
    table = table.assign(
        term=table["term"].astype(str),
        severity=table["severity"].fillna("not recorded").astype(str),
        n_events=table["n_events"].astype(int),
        n_patients=table["n_patients"].astype(int),
    )
    table = table[table["n_events"] > 0]
    totals = table.groupby("term")["n_events"].sum()
    order = sorted(totals.index, key=lambda t: (-totals[t], t))
    subtitle = []
    note = size_switch(
        len(order), max_terms, f"the {max_terms - 1} most frequent and the others summed", "terms"
    )
    if note is not None:
        rest = order[max_terms - 1 :]
        other = f"other terms ({len(rest)})"
        # n_patients of the merged bar would double-count patients: left blank
        merged = table[table["term"].isin(rest)].groupby("severity", as_index=False)["n_events"]
        merged = merged.sum().assign(term=other, n_patients=pd.NA)
        table = pd.concat([table[~table["term"].isin(rest)], merged], ignore_index=True)
        order = order[: max_terms - 1] + [other]
        subtitle.append(note)
    severities = list(SEVERITY_COLORS) + sorted(set(table["severity"]) - set(SEVERITY_COLORS))
    colors = list(SEVERITY_COLORS.values()) + list(PALETTE[: len(severities) - 4])
    n_events = int(table["n_events"].sum())
    chart = (
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
    )
    return _titled(
        chart,
        "Adverse events by term and severity",
        [f"{n_events} events in total.", *subtitle],
        height=alt.Step(18),
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
    >>> import msc_notebooks as msc
    >>> spec = safety_by_injection(msc.analyze(msc.load_demo())).to_dict()
    >>> [row["label"] for row in list(spec["datasets"].values())[0]]
    ['8/19 patients', '8/19 patients', '5/12 patients', '7/10 patients']
    """
    alt = _alt()
    safety = _safety_of(data)
    table = safety.by_injection
    require_columns(
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
    text = base.mark_text(dy=-6, baseline="bottom").encode(
        y=alt.Y("n_events:Q"), text=alt.Text("label:N")
    )
    subtitle = [
        "Labels: patients with an event / injections given.",
        "Per injection: counts events as independent, but they cluster within "
        "patients (SPEC §9); the patient-level figures are in the safety table.",
    ]
    if other:
        subtitle.append(
            f"{other} event(s) before the first injection or outside every window are not shown."
        )
    return _titled(
        alt.layer(bars, text),
        f"Adverse events within {window:g} days after each injection",
        subtitle,
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
    >>> import msc_notebooks as msc
    >>> result = msc.attach_null(msc.analyze(msc.load_demo()), 200)
    >>> spec = null_comparison(result).to_dict()
    >>> spec["layer"][0]["encoding"]["x"]["field"], spec["layer"][0]["encoding"]["x2"]["field"]
    ('expected_low', 'expected_high')
    """
    alt = _alt()
    null = _part(
        result,
        "null",
        "the result has no no-effect simulation",
        "run msc_notebooks.simulate_null(result) (methods §13) and pass its result",
    )
    from .null_model import NULL_COLUMNS

    cols = NULL_COLUMNS[:7]  # period ... p_value: the relative responders
    require_columns(null, cols, "result.null")
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
        x2=alt.X2("expected_high:Q"),
    )
    expected = base.mark_point(shape="circle", size=80, color=OKABE_ITO["black"]).encode(
        x=alt.X("expected_responders:Q", title=x_title)
    )
    observed = base.mark_point(
        shape="diamond", filled=True, size=120, color=OKABE_ITO["vermillion"]
    ).encode(x=alt.X("observed_responders:Q", title=x_title))
    text = base.mark_text(align="left", dx=10).encode(
        x=alt.X("observed_responders:Q", title=x_title), text=alt.Text("p_label:N")
    )
    return _titled(
        alt.layer(band, expected, observed, text),
        "Observed responders vs responders expected with no treatment effect",
        [
            "Bar: simulated 2.5–97.5 % range; circle: simulated mean; "
            "diamond: observed (methods §13)."
        ],
        height=alt.Step(28),
    )


def matched_comparison(result: Any) -> alt.HConcatChart:
    """Treated patients against matched natural-history controls per period (SPEC §15).

    Parameters
    ----------
    result : AnalysisResult
        Uses ``result.matched.summary`` (``matched_controls.csv``): ``period``,
        ``treated_responder_pct``, ``control_responder_pct``, ``difference_pct``,
        ``difference_ci_low``, ``difference_ci_high``, ``n_treated``, ``n_matched``.

    Returns
    -------
    altair.HConcatChart
        Left: responders (% of evaluable) of the treated (diamonds) and their matched
        controls (circles) per period. Right: the difference (percentage points, treated
        minus controls) with its 95 % bootstrap CI, and a line at 0.

    Examples
    --------
    >>> from msc_notebooks import analyze, load_demo
    >>> from msc_notebooks.matched_controls import attach_matched
    >>> r = attach_matched(analyze(load_demo()), load_demo(), k=1, caliper=None)
    >>> spec = matched_comparison(r).to_dict()
    >>> spec["hconcat"][1]["layer"][0]["encoding"]["x"]["field"]
    'difference_ci_low'
    """
    import pandas as pd

    alt = _alt()
    matched = _part(
        result,
        "matched",
        "the result has no matched natural-history controls",
        "attach them with msc_notebooks.matched_controls.attach_matched(result, "
        "natural_history) (methods §15)",
    )
    cols = (
        "period",
        "n_treated",
        "n_matched",
        "treated_responder_pct",
        "control_responder_pct",
        "difference_pct",
        "difference_ci_low",
        "difference_ci_high",
    )
    require_columns(matched.summary, cols, "result.matched.summary")
    data = matched.summary[list(cols)].copy()
    data = data[(data["n_treated"] > 0) & (data["n_matched"] > 0)]
    data["period"] = data["period"].astype(str)
    order = _period_order(data["period"])
    y_enc = alt.Y("period:N", sort=order, title="Period")
    arms = ["Treated", "Matched controls"]
    long = pd.concat(
        [
            pd.DataFrame(
                {
                    "period": data["period"],
                    "arm": arm,
                    "pct": data[col],
                    "n": data[n_col].astype(int),
                }
            )
            for arm, col, n_col in (
                ("Treated", "treated_responder_pct", "n_treated"),
                ("Matched controls", "control_responder_pct", "n_matched"),
            )
        ],
        ignore_index=True,
    )
    rates = (
        alt.Chart(long)
        .mark_point(filled=True, size=110)
        .encode(
            y=y_enc,
            x=_percent(alt.X, "Responders (% of evaluable)"),
            color=_series_color("arm", arms, [OKABE_ITO["vermillion"], OKABE_ITO["blue"]]),
            shape=alt.Shape(
                "arm:N", sort=arms, scale=alt.Scale(domain=arms, range=["diamond", "circle"])
            ),
            tooltip=[
                alt.Tooltip("period:N", title="Period"),
                alt.Tooltip("arm:N", title="Arm"),
                alt.Tooltip("pct:Q", title="Responders %", format=".1f"),
                alt.Tooltip("n:Q", title="Evaluable"),
            ],
        )
        .properties(width=_WIDTH // 2, height=alt.Step(28))
    )
    base = alt.Chart(data).encode(y=y_enc)
    x_title = "Difference, treated − controls (percentage points)"
    ci = base.mark_rule(strokeWidth=2, color=OKABE_ITO["black"]).encode(
        x=alt.X("difference_ci_low:Q", title=x_title), x2=alt.X2("difference_ci_high:Q")
    )
    point = base.mark_point(
        shape="diamond", filled=True, size=110, color=OKABE_ITO["vermillion"]
    ).encode(
        x=alt.X("difference_pct:Q", title=x_title),
        tooltip=[
            alt.Tooltip("period:N", title="Period"),
            alt.Tooltip("difference_pct:Q", title="Difference (pp)", format=".1f"),
            alt.Tooltip("difference_ci_low:Q", title="95 % CI low", format=".1f"),
            alt.Tooltip("difference_ci_high:Q", title="95 % CI high", format=".1f"),
        ],
    )
    zero = (
        alt.Chart(pd.DataFrame({"x": [0.0]}))
        .mark_rule(strokeDash=[4, 4], color=OKABE_ITO["black"])
        .encode(x=alt.X("x:Q"))
    )
    diff = alt.layer(ci, point, zero).properties(width=_WIDTH // 2, height=alt.Step(28))
    return alt.hconcat(rates, diff).properties(
        title=alt.TitleParams(
            "Treated patients vs matched natural-history controls",
            subtitle=[
                matched.sentence(),
                "Right: difference with its 95 % bootstrap CI over treated patients (methods §15).",
            ],
            anchor="start",
        )
    )


# --------------------------------------------------------------------------- all figures


# --------------------------------------------------------------------------- stages


def stage_transitions(stages: Any) -> alt.HConcatChart:
    """Clinical stages at the start and end of each period, King's and MiToS (SPEC §16).

    Parameters
    ----------
    stages : StageResult or AnalysisResult
        From :func:`msc_notebooks.stages.stage_tables` (computed from an AnalysisResult
        when one is given). Patients with both stages of a period known are drawn.

    Returns
    -------
    altair.HConcatChart
        One panel per system: per period two stacked bars (start, end), patients per stage;
        the subtitle gives the patients whose stage progressed, n/N per period.

    Examples
    --------
    >>> from msc_notebooks import analyze, load_demo
    >>> spec = stage_transitions(analyze(load_demo())).to_dict()
    >>> [c["title"]["text"] for c in spec["hconcat"]]
    ["King's stage", 'MiToS stage']
    """
    import pandas as pd

    alt = _alt()
    if not hasattr(stages, "progression"):
        from .stages import stage_tables

        stages = stage_tables(stages)
    per, prog = stages.periods, stages.progression
    panels = []
    for system, title, labels in (
        ("kings", "King's stage", ("1", "2", "3", "4A", "4B", "5")),
        ("mitos", "MiToS stage", ("0", "1", "2", "3", "4", "5")),
    ):
        a, b = per[f"{system}_start"], per[f"{system}_end"]
        both = per[a.notna() & b.notna()]
        rows = []
        for when, col in (("start", f"{system}_start"), ("end", f"{system}_end")):
            counts = both.groupby(["period", col]).size().reset_index(name="n")
            counts = counts.rename(columns={col: "stage"}).assign(when=when)
            rows.append(counts)
        data = pd.concat(rows, ignore_index=True)
        data["stage"] = data["stage"].astype(str)
        data["period"] = data["period"].astype(str)
        order = _period_order(data["period"])
        p = prog[prog["system"] == system]
        said = "; ".join(
            f"{r.period}: {int(r.n_progressed)}/{int(r.n_staged)}"
            for r in p.itertuples()
            if r.n_staged
        )
        chart = (
            alt.Chart(data)
            .mark_bar()
            .encode(
                x=alt.X("period:N", sort=order, title="Period", axis=alt.Axis(labelAngle=0)),
                xOffset=alt.XOffset("when:N", sort=["start", "end"]),
                y=alt.Y("sum(n):Q", title="Patients (both stages known)", stack="zero"),
                color=alt.Color(
                    "stage:N",
                    title=title,
                    sort=list(labels),
                    scale=alt.Scale(domain=list(labels), range=list(PALETTE[:6])),
                ),
                order=alt.Order("stage:N", sort="ascending"),
                tooltip=[
                    alt.Tooltip("period:N", title="Period"),
                    alt.Tooltip("when:N", title="At the"),
                    alt.Tooltip("stage:N", title=title),
                    alt.Tooltip("sum(n):Q", title="Patients"),
                ],
            )
            .properties(
                title=alt.TitleParams(
                    title,
                    subtitle=[
                        "Left bar: stage at the start of the period; right bar: at the end.",
                        f"Stage progressed (n/N): {said}" if said else "No period staged.",
                    ],
                    anchor="start",
                ),
                width=_WIDTH // 2,
                height=_HEIGHT,
            )
        )
        panels.append(chart)
    return alt.hconcat(*panels).resolve_scale(color="independent")


#: Figures drawn from the responder flags and counts, the thresholds, or the no-effect and
#: matched-control comparisons attached to a result (names, or name prefixes ending in
#: ``_``): the only ones a threshold change can alter (``analysis.update_kind`` is
#: ``'reclassify'``), so the faces redraw only these then. Every other figure is drawn from
#: the study and the rates alone. tests/test_widgets.py checks the split on a real
#: threshold change (every other figure identical).
RESPONDER_FIGURES = (
    "improvement_",
    "responders_by_period",
    "interval_vs_improvement",
    "null_comparison",
    "matched_controls",
)


def responder_figure(name: str) -> bool:
    """Whether the figure ``name`` of :func:`all_figures` is in :data:`RESPONDER_FIGURES`.

    Examples
    --------
    >>> responder_figure("improvement_1-2"), responder_figure("trajectories")
    (True, False)
    """
    return any(name.startswith(r) if r.endswith("_") else name == r for r in RESPONDER_FIGURES)


def all_figures(
    result: Any, only: Callable[[str], bool] | None = None
) -> dict[str, alt.TopLevelMixin]:
    """Every figure the result has data for, by file-friendly name.

    Names: ``trajectories``, ``cohort_mean``, ``rate_comparison``,
    ``improvement_<period>`` (every period but the reference that has evaluable
    patients), ``responders_by_period``, ``interval_vs_improvement``, ``safety_by_term``,
    ``safety_by_injection``, ``null_comparison``, ``matched_controls``,
    ``stage_transitions`` (with ALSFRS-R items), then ``trajectories_<outcome>`` for FVC
    and the ALSFRS-R domains present in the visits. Figures without data are skipped.

    Parameters
    ----------
    result : AnalysisResult
    only : callable, optional
        Draw only the figures whose name it accepts (e.g. :func:`responder_figure` after
        a threshold change); the others are not computed.

    Returns
    -------
    dict of str to altair chart

    Examples
    --------
    >>> import msc_notebooks as msc
    >>> result = msc.analyze(msc.load_demo())
    >>> list(all_figures(result))[:4]
    ['trajectories', 'cohort_mean', 'rate_comparison', 'improvement_1-2']
    >>> list(all_figures(result, only=responder_figure))[:2]
    ['improvement_1-2', 'improvement_2-3']
    """

    def want(name: str) -> bool:
        return only is None or bool(only(name))

    figures: dict[str, Any] = {}
    settings = _settings_of(result)
    study = _study_of(result)
    if want("trajectories"):
        figures["trajectories"] = trajectories(result)
    if want("cohort_mean"):
        figures["cohort_mean"] = cohort_mean(result)
    periods = getattr(result, "periods", None)
    if periods is not None and not periods.empty:
        if want("rate_comparison"):
            figures["rate_comparison"] = rate_comparison(result)
        ok = periods[periods["evaluable"].fillna(False).astype(bool)]
        for period in _period_order(ok["period"]):
            if period != "reference" and want(f"improvement_{period}"):
                figures[f"improvement_{period}"] = improvement_waterfall(result, period)
    summary = getattr(result, "summary", None)
    if (
        want("responders_by_period")
        and summary is not None
        and (summary["n_evaluable"].fillna(0) > 0).any()
    ):
        figures["responders_by_period"] = responders_by_period(result)
    if want("interval_vs_improvement") and periods is not None and not periods.empty:
        chart = interval_vs_improvement(result)
        if chart.layer[0].data.shape[0] > 0:
            figures["interval_vs_improvement"] = chart
    safety = getattr(result, "safety", None)
    if safety is not None:
        by_term = getattr(safety, "by_term", None)
        by_injection = getattr(safety, "by_injection", None)
        if want("safety_by_term") and by_term is not None and len(by_term):
            figures["safety_by_term"] = safety_by_term(result)
        if want("safety_by_injection") and by_injection is not None and len(by_injection):
            figures["safety_by_injection"] = safety_by_injection(result)
    null = getattr(result, "null", None)
    if want("null_comparison") and null is not None and len(null):
        figures["null_comparison"] = null_comparison(result)
    matched = getattr(result, "matched", None)
    if want("matched_controls") and matched is not None and len(matched.summary):
        figures["matched_controls"] = matched_comparison(result)
    if want("stage_transitions") and hasattr(result, "rates") and "q1" in study.visits.columns:
        # clinical stages need the ALSFRS-R items and a full AnalysisResult (SPEC §16)
        from .stages import stage_tables

        stages = stage_tables(result)
        if (stages.progression["n_staged"] > 0).any():
            figures["stage_transitions"] = stage_transitions(stages)
    for outcome in _EXTRA_OUTCOMES:
        if outcome == settings.outcome or outcome not in study.visits.columns:
            continue
        if want(f"trajectories_{outcome}") and study.visits[outcome].notna().any():
            figures[f"trajectories_{outcome}"] = trajectories(result, outcome)
    from .demo import DEMO_LABEL, is_demo

    if is_demo(study):  # every figure of the demo cohort says so where a reader sees it
        figures = {name: _label_demo(chart, DEMO_LABEL) for name, chart in figures.items()}
    return figures


def _label_demo(chart: Any, label: str) -> Any:
    """Add "Synthetic demo data: not a real study." to a chart's subtitle (top chart)."""
    alt = _alt()
    target = chart.vconcat[0] if isinstance(chart, alt.VConcatChart) else chart
    title = target.title
    line = label[0].upper() + label[1:] + ": not a real study."
    if isinstance(title, alt.TitleParams):
        sub = title.subtitle
        subs = [] if sub is alt.Undefined else ([sub] if isinstance(sub, str) else list(sub))
        target.title = alt.TitleParams(title.text, subtitle=[*subs, line], anchor=title.anchor)
    elif isinstance(title, str):
        target.title = alt.TitleParams(title, subtitle=[line], anchor="start")
    return chart


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
    >>> import msc_notebooks as msc
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     paths = save_figures(msc.analyze(msc.load_demo()), tmp, formats=("svg",))
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
    drawn = [f for f in formats if f in ("svg", "png", "pdf")]
    if drawn:
        import vl_convert as vlc
    with alt.data_transformers.enable("vegafusion"):
        for name, chart in figures.items():
            # one Vega spec per chart (vegafusion runs the transforms once) for every
            # drawn format, instead of one compilation per file
            vega = chart.to_dict(format="vega") if drawn else None
            for fmt in formats:
                path = out / f"{name}.{fmt}"
                if fmt == "svg":
                    path.write_text(vlc.vega_to_svg(vega), encoding="utf-8")
                elif fmt == "png":
                    path.write_bytes(vlc.vega_to_png(vega))
                elif fmt == "pdf":
                    path.write_bytes(vlc.vega_to_pdf(vega))
                elif fmt == "html":
                    chart.save(path, inline=True)
                else:
                    chart.save(path)
                paths.append(path)
    return paths
