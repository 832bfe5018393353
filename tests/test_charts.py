"""Chart builders (issue #4): fields, encodings, data worked out by hand, SVG rendering.

The fixture is a small hand-made study (real ``StudyData``) and a result-like namespace with
the attributes of ``AnalysisResult`` (CONTRIBUTING.md), so these tests do not depend on
the analysis engine; the tests at the end use the real demo result when it exists.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from types import SimpleNamespace

import altair as alt
import numpy as np
import pandas as pd
import pytest

from msc_notebooks import charts
from msc_notebooks.errors import InputError
from msc_notebooks.settings import Settings
from msc_notebooks.study import StudyData

MONTH = 365.25 / 12  # SPEC §2
B = 18687  # 2021-03-01 as days since 1970-01-01 (the canonical calendar `day`, CONTRIBUTING)
EPOCH = pd.Timestamp("1970-01-01")


def _dated(df: pd.DataFrame) -> pd.DataFrame:
    df = df.copy()
    df["date"] = EPOCH + pd.to_timedelta(df["day"], unit="D")
    return df


def hand_study() -> StudyData:
    """Three patients; days relative to each patient's first injection are in comments."""
    visits = _dated(
        pd.DataFrame(
            {
                "patient_id": ["P1"] * 5 + ["P2"] * 4 + ["P3"] * 4,
                # P1 first injection B: rel -120, 0, 30, 91, 200
                # P2 first injection B+10: rel -100, -10, 30, 183
                # P3 first injection B+5: rel -60, 0, 10, 100
                "day": [B - 120, B, B + 30, B + 91, B + 200]
                + [B - 90, B, B + 40, B + 193]
                + [B - 55, B + 5, B + 15, B + 105],
                "alsfrs_r_total": [42, 40, 39, 38, 36] + [46, 44, 41, 39] + [35, 34, 33, 30],
                "fvc_pct": [90, 88, 87, 85, 80] + [100, 99, 97, 95] + [70, 69, 68, 66],
                "bulbar": [12, 12, 11, 11, 10] + [12, 12, 12, 11] + [9, 9, 9, 8],
            }
        ).astype({"day": float, "alsfrs_r_total": float, "fvc_pct": float, "bulbar": float})
    )
    injections = _dated(
        pd.DataFrame(
            {
                "patient_id": ["P1", "P1", "P2", "P2", "P3"],
                "day": [B, B + 91, B + 10, B + 193, B + 5],
                "injection_number": [1, 2, 1, 2, 1],
            }
        ).astype({"day": float})
    )
    patients = pd.DataFrame({"patient_id": ["P1", "P2", "P3"]})
    return StudyData(visits=visits, injections=injections, patients=patients)


def hand_result(settings: Settings | None = None, *, null: bool = True, safety: bool = True):
    periods = pd.DataFrame(
        {
            "patient_id": ["P1", "P1", "P1", "P2", "P2", "P2", "P3", "P3"],
            "period": ["reference", "1-2", "whole", "reference", "1-2", "whole"]
            + ["reference", "1-2"],
            "start_day": [-120, 0, 0, -100, -10, -10, -60, 0],
            "end_day": [0, 91, 91, -10, 183, 183, 0, np.nan],
            "rate": [0.5, 0.1, 0.1, 0.2, 0.3, 0.3, 0.25, np.nan],
            "reference_rate": [0.5] * 3 + [0.2] * 3 + [0.25] * 2,
            # SPEC §6: 100 * (ref - rate) / ref
            "improvement_pct": [np.nan, 80.0, 80.0, np.nan, -50.0, -50.0, np.nan, np.nan],
            "responder": pd.array(
                [None, True, True, None, False, False, None, None], dtype="boolean"
            ),
            "evaluable": [True, True, True, True, True, True, True, False],
            "reason": [""] * 7 + ["no assessment after injection 1"],
        }
    )
    summary = pd.DataFrame(
        {
            "period": ["1-2", "2-3", "3-4", "whole"],
            "n_evaluable": [19, 12, 10, 0],
            "n_responders": [15, 11, 8, 0],
            "n_absolute_responders": [9, 6, 4, 0],
        }
    )
    intervals = pd.DataFrame(
        {"scope": ["all", "1-2"], "rho": [0.612, 0.5], "p": [0.0123, 0.2], "n": [2, 2]}
    )
    safety_result = SimpleNamespace(
        by_term=pd.DataFrame(
            {
                "term": ["Headache", "Headache", "Back pain", "Fever"],
                "severity": ["mild", "moderate", "mild", "severe"],
                "n_events": [4, 2, 1, 3],
                "n_patients": [3, 2, 1, 2],
            }
        ),
        by_injection=pd.DataFrame(
            {
                # 0 = before the first injection, NA = outside every window (SPEC §9)
                "injection_number": pd.array([1, 2, 0, None], dtype="Int64"),
                "n_injections": pd.array([3, 2, None, None], dtype="Int64"),
                "n_events": [7, 3, 1, 2],
                "n_patients_with_event": [3, 1, 1, 2],
            }
        ),
    )
    null_table = pd.DataFrame(
        {
            "period": ["2-3", "1-2"],
            "n_evaluable": [12, 19],
            "observed_responders": [11, 15],
            "expected_responders": [4.2, 7.5],
            "expected_low": [1.0, 3.0],
            "expected_high": [8.0, 12.0],
            "p_value": [0.0004, 0.01],
        }
    )
    return SimpleNamespace(
        periods=periods,
        summary=summary,
        intervals=intervals,
        clinical=None,
        settings=settings or Settings(),
        study=hand_study(),
        safety=safety_result if safety else None,
        null=null_table if null else None,
    )


def dataset(spec: dict, layer: dict | None = None) -> list[dict]:
    """The inline rows of a (layer of a) Vega-Lite spec."""
    data = (layer or {}).get("data") or spec["data"]  # shared data is lifted to the top
    name = data["name"]
    return spec["datasets"][name]


# --------------------------------------------------------------------------- trajectories


def test_trajectories_months_axis_points_and_injection_markers():
    spec = charts.trajectories(hand_result()).to_dict()
    lines, points, markers = spec["layer"]
    assert spec["title"]["text"] == (
        "ALSFRS-R total (points, 0–48) per patient, aligned on the first injection"
    )
    assert lines["mark"]["type"] == "line"
    assert lines["encoding"]["x"] == {
        "field": "months",
        "type": "quantitative",
        "title": "Months from first injection",
    }
    assert points["encoding"]["y"]["field"] == "score"
    assert points["encoding"]["y"]["title"] == "ALSFRS-R total (points, 0–48)"
    assert lines["encoding"]["detail"]["field"] == "patient_id"
    tips = [t["field"] for t in points["encoding"]["tooltip"]]
    assert tips[:2] == ["patient_id", "date"] and "score" in tips
    # hover selection on patient_id, shown through opacity
    (param,) = spec["params"]
    assert param["name"] == "patient" and param["views"] == [points["name"]]
    assert "value" not in param
    assert param["select"]["fields"] == ["patient_id"]
    assert param["select"]["on"] == "pointerover"
    assert points["encoding"]["opacity"]["condition"]["param"] == "patient"
    rows = pd.DataFrame(dataset(spec, lines))
    p1 = rows[rows.patient_id == "P1"].sort_values("day")
    # SPEC §2: months = days from the first injection / 30.4375
    assert p1.months.tolist() == pytest.approx(
        [-120 / MONTH, 0, 30 / MONTH, 91 / MONTH, 200 / MONTH]
    )
    assert p1.date.tolist()[1] == "2021-03-01"
    assert len(rows) == 13
    # injection markers sit on the line: P2's injection on day B+10 lies between its
    # visits on B (44) and B+40 (41): 44 + 10/40 * (41 - 44) = 43.25
    inj = pd.DataFrame(dataset(spec, markers))
    assert markers["mark"]["shape"] == "triangle-down"
    got = inj.set_index(["patient_id", "injection_number"])["score"]
    assert got[("P2", 1)] == pytest.approx(43.25)
    assert got[("P1", 1)] == pytest.approx(40.0)
    assert got[("P1", 2)] == pytest.approx(38.0)
    assert inj.set_index(["patient_id", "injection_number"])["months"][("P2", 2)] == pytest.approx(
        183 / MONTH
    )


def test_trajectories_highlight_sets_initial_selection():
    spec = charts.trajectories(hand_result(), highlight="P2").to_dict()
    assert spec["params"][0]["value"] == [{"patient_id": "P2"}]


@pytest.mark.parametrize(
    ("outcome", "title"),
    [
        ("fvc_pct", "FVC (% predicted)"),
        ("bulbar", "ALSFRS-R bulbar domain (points, 0–12)"),
    ],
)
def test_trajectories_other_outcomes_same_builder(outcome, title):
    spec = charts.trajectories(hand_study(), outcome).to_dict()
    assert spec["layer"][0]["encoding"]["y"]["title"] == title
    rows = pd.DataFrame(dataset(spec, spec["layer"][0]))
    first = rows[(rows.patient_id == "P1") & (rows.day == B)]
    assert first.score.item() == {"fvc_pct": 88.0, "bulbar": 12.0}[outcome]


def test_trajectories_calendar_dates_are_not_shifted():
    """SPEC §1: a visit on 2021-03-01 stays 2021-03-01 (strings + UTC scale)."""
    spec = charts.trajectories(hand_result(), x="date").to_dict()
    x = spec["layer"][0]["encoding"]["x"]
    assert x["field"] == "date" and x["type"] == "temporal"
    assert x["scale"] == {"type": "utc"}
    rows = dataset(spec, spec["layer"][0])
    assert {"patient_id": "P1", "date": "2021-03-01"}.items() <= next(
        r for r in rows if r["patient_id"] == "P1" and r["day"] == B
    ).items()
    tooltip = {t["field"]: t["type"] for t in spec["layer"][1]["encoding"]["tooltip"]}
    assert tooltip["date"] == "nominal"  # shown verbatim, no time-zone conversion


def test_trajectories_svg_identical_in_every_time_zone():
    """The rendered picture does not depend on the machine's time zone (vl-convert's V8
    follows ``TZ``; a local-time scale gives different SVGs in these three zones)."""
    spec = json.dumps(charts.trajectories(hand_result(), x="date").to_dict())
    script = (
        "import sys, vl_convert; sys.stdout.write(vl_convert.vegalite_to_svg(sys.stdin.read()))"
    )
    svgs = []
    for tz in ("UTC", "America/Los_Angeles", "Pacific/Kiritimati"):
        out = subprocess.run(
            [sys.executable, "-c", script],
            input=spec,
            env={**os.environ, "TZ": tz},
            capture_output=True,
            text=True,
            check=True,
            timeout=120,
        )
        svgs.append(out.stdout)
    assert svgs[0].startswith("<svg")
    assert "2021-03-01" in svgs[0]  # an axis tick on the first of the month
    assert svgs[0] == svgs[1] == svgs[2]


def test_trajectories_bad_input_is_a_clear_error():
    with pytest.raises(InputError, match="column 'grip'.*no outcome column"):
        charts.trajectories(hand_study(), "grip")
    study = hand_study()
    study.visits["date"] = pd.NaT
    with pytest.raises(InputError, match="no calendar dates.*x='months'"):
        charts.trajectories(study, x="date")
    with pytest.raises(InputError, match="StudyData or an AnalysisResult"):
        charts.trajectories(pd.DataFrame())


def test_trajectories_size_switch_bands_and_a_sample():
    study = synthetic_study(n_patients=300, n_visits=4)
    # at the limit: every patient's line, no band
    detail = charts.trajectories(synthetic_study(12, 4), max_patients=12).to_dict()
    assert [layer["mark"]["type"] for layer in detail["layer"]] == ["line", "point", "point"]
    assert detail["title"]["subtitle"][0].startswith("12 patients; triangles mark injections")
    # above it (default limit 100): two bands, the sampled lines, the median line on top
    spec = charts.trajectories(study, highlight="S0299").to_dict()
    marks = [layer["mark"]["type"] for layer in spec["layer"]]
    assert marks == ["area", "area", "line", "point", "point", "line"]
    outer, inner, lines, _, _, median = spec["layer"]
    assert (outer["encoding"]["y"]["field"], outer["encoding"]["y2"]["field"]) == ("q10", "q90")
    assert (inner["encoding"]["y"]["field"], inner["encoding"]["y2"]["field"]) == ("q25", "q75")
    assert median["encoding"]["y"]["field"] == "q50"
    rows = pd.DataFrame(dataset(spec, lines))
    assert rows.patient_id.nunique() == charts.TRAJECTORIES_SAMPLE + 1  # + the highlighted
    assert "S0299" in set(rows.patient_id)
    assert spec["title"]["subtitle"][:2] == [
        "300 patients (more than 100 to show one by one): 10–90 % and 25–75 % bands and the "
        "median (black) per month.",
        "Lines: 21 patients drawn at random (seed 0); triangles mark injections.",
    ]
    # the bands are the patients' quantiles per month bin, computed here with numpy:
    # visits are monthly (30 days) from day B, first injection at B+60, so the visit on
    # day B+30k is at (30k - 60) / 30.4375 months, in bin round(that)
    bands = pd.DataFrame(dataset(spec, median)).set_index("month")
    scores = study.visits.assign(
        m=np.floor((study.visits["day"] - (B + 60)) / MONTH + 0.5)
    ).groupby("m")["alsfrs_r_total"]
    for month, values in scores:
        assert bands.loc[month, "q50"] == pytest.approx(np.median(values))
        assert bands.loc[month, "q10"] == pytest.approx(np.percentile(values, 10))
    # calendar axis: no common origin for bands, the sample only
    dated = charts.trajectories(study, x="date").to_dict()
    assert [layer["mark"]["type"] for layer in dated["layer"]] == ["line", "point", "point"]
    assert "a random sample of them" in dated["title"]["subtitle"][0]


def test_outcome_quantiles_by_hand():
    from msc_notebooks.trajectory import outcome_quantiles

    table = outcome_quantiles(hand_study(), min_patients=1).set_index("month")
    # bin 0: P1 40, P2 44, P3 mean(34, 33) = 33.5 (one value per patient); sorted
    # 33.5, 40, 44; linear quantile at position q * (3 - 1): q10 -> 0.2: 33.5 + 0.2 * 6.5
    assert table.loc[0.0, "n_patients"] == 3
    assert table.loc[0.0, "q10"] == pytest.approx(34.8)
    assert table.loc[0.0, "q50"] == pytest.approx(40.0)
    assert table.loc[0.0, "q90"] == pytest.approx(40 + 0.8 * 4)  # position 1.8
    # bins with fewer patients than min_patients are left out (default 10)
    assert outcome_quantiles(hand_study()).empty


# --------------------------------------------------------------------------- cohort mean


def test_cohort_mean_table_by_hand():
    from msc_notebooks.trajectory import cohort_mean_table

    table = cohort_mean_table(hand_study()).set_index("month")
    # bin 0 (|months| < 0.5): P1 40 (day 0), P2 44 (day -10), P3 mean(34, 33) = 33.5
    # (days 0 and 10: one patient counts once per bin)
    mean0 = (40 + 44 + 33.5) / 3
    sd0 = math.sqrt(((40 - mean0) ** 2 + (44 - mean0) ** 2 + (33.5 - mean0) ** 2) / 2)
    t2 = 4.302652729749464  # t(0.975, df=2), statistical tables
    row = table.loc[0.0]
    assert row.n_patients == 3
    assert row["mean"] == pytest.approx(mean0)
    assert row.sd == pytest.approx(sd0)
    assert row.ci_low == pytest.approx(mean0 - t2 * sd0 / math.sqrt(3))
    assert row.ci_high == pytest.approx(mean0 + t2 * sd0 / math.sqrt(3))
    # bin 1 (day 30 = 0.99 months): P1 39, P2 41 -> mean 40, sd sqrt(2), se 1, t(0.975,1)
    t1 = 12.706204736174705
    assert table.loc[1.0, ["n_patients", "mean", "se"]].tolist() == pytest.approx([2, 40, 1])
    assert table.loc[1.0, "ci_high"] == pytest.approx(40 + t1)
    # bin 3: P1 day 91 (2.99 months) 38 and P3 day 100 (3.29 months) 30: 34
    assert table.loc[3.0, "mean"] == pytest.approx(34)
    # single-patient bins have no interval
    assert table.loc[7.0, "n_patients"] == 1 and math.isnan(table.loc[7.0, "ci_low"])


def test_cohort_mean_chart_embeds_only_bins():
    spec = charts.cohort_mean(hand_result(), min_patients=2).to_dict()
    band, line, rule = spec["layer"]
    assert band["mark"]["type"] == "area"
    assert (band["encoding"]["y"]["field"], band["encoding"]["y2"]["field"]) == (
        "ci_low",
        "ci_high",
    )
    assert line["encoding"]["y"]["field"] == "mean"
    assert line["encoding"]["x"]["title"] == "Months from first injection"
    assert [r["month"] for r in dataset(spec, band)] == [0.0, 1.0, 3.0]
    assert "95 % t-interval" in spec["title"]["subtitle"][1]


# --------------------------------------------------------------------------- rates, responders


def test_rate_comparison_slope_graph():
    spec = charts.rate_comparison(hand_result()).to_dict()
    lines = spec["layer"][0]
    assert lines["encoding"]["y"]["title"] == "ALSFRS-R points lost per month (positive = decline)"
    assert lines["encoding"]["x"]["sort"] == ["reference", "1-2"]  # 'whole' left out
    rows = pd.DataFrame(dataset(spec, lines)).set_index(["patient_id", "period"])["rate"]
    assert rows[("P1", "reference")] == 0.5 and rows[("P2", "1-2")] == 0.3
    assert ("P3", "1-2") not in rows.index  # no rate
    medians = pd.DataFrame(dataset(spec, spec["layer"][2])).set_index("period")["rate"]
    assert medians["reference"] == 0.25  # median of 0.5, 0.2, 0.25
    assert medians["1-2"] == pytest.approx(0.2)  # median of 0.1, 0.3
    whole = charts.rate_comparison(hand_result(), include_whole=True).to_dict()
    assert whole["layer"][0]["encoding"]["x"]["sort"] == ["reference", "1-2", "whole"]


def test_rate_label_for_fvc():
    result = hand_result(Settings(outcome="fvc_pct"))
    spec = charts.rate_comparison(result).to_dict()
    assert spec["layer"][0]["encoding"]["y"]["title"] == (
        "FVC % predicted lost per month (positive = decline)"
    )


@pytest.mark.parametrize(("threshold", "inclusive"), [(25, False), (30, True)])
def test_improvement_waterfall(threshold, inclusive):
    result = hand_result(Settings(threshold_pct=threshold, inclusive=inclusive))
    spec = charts.improvement_waterfall(result, "1-2").to_dict()
    top, listing = spec["vconcat"]
    bars, rule, label = top["layer"]
    assert bars["encoding"]["y"]["field"] == "improvement_pct"
    # bars sorted by improvement, best first: P1 (80) then P2 (-50)
    assert bars["encoding"]["x"]["sort"] == "-y"
    assert bars["encoding"]["color"]["scale"] == {
        "domain": ["Responder", "Non-responder"],
        "range": ["#0072B2", "#E69F00"],
    }
    assert [r["status"] for r in dataset(spec, bars)] == ["Responder", "Non-responder"]
    assert dataset(spec, rule)[0]["threshold_pct"] == threshold
    sign = "≥" if inclusive else ">"
    assert top["title"]["subtitle"] == [
        f"1/2 evaluable patients responded (improvement {sign} {threshold} %)."
    ]
    assert top["title"]["text"] == "Improvement in progression rate, period 1-2 vs pre-treatment"
    assert listing["title"]["text"] == "Not evaluable for period 1-2 (n = 1)"
    assert [r["line"] for r in dataset(spec, listing)] == ["P3: no assessment after injection 1"]


def test_improvement_waterfall_all_evaluable_and_unknown_period():
    spec = charts.improvement_waterfall(hand_result(), "whole").to_dict()
    assert "vconcat" not in spec and spec["layer"][0]["mark"]["type"] == "bar"
    with pytest.raises(InputError, match="no period '9-10'.*reference, 1-2, whole"):
        charts.improvement_waterfall(hand_result(), "9-10")


def test_responders_by_period_labels_by_hand():
    spec = charts.responders_by_period(hand_result()).to_dict()
    rows = dataset(spec, spec["layer"][0])
    # the published counts (SPEC "Reference figures"): 15/19, 11/12, 8/10; 'whole' has
    # no evaluable patient and is left out
    rel = "Relative (improvement > 25 %)"
    ab = "Absolute (≥ 1.25 points/month slower)"
    assert [(r["period"], r["kind"], r["label"]) for r in rows] == [
        ("1-2", rel, "15/19"),
        ("1-2", ab, "9/19"),
        ("2-3", rel, "11/12"),
        ("2-3", ab, "6/12"),
        ("3-4", rel, "8/10"),
        ("3-4", ab, "4/10"),
    ]
    assert rows[0]["pct"] == pytest.approx(100 * 15 / 19)
    assert rows[2]["pct"] == pytest.approx(100 * 11 / 12)
    bars, text = spec["layer"]
    assert bars["encoding"]["y"]["scale"] == {"domain": [0, 100]}
    assert bars["encoding"]["y"]["title"] == "Responders (% of evaluable patients)"
    assert text["encoding"]["text"]["field"] == "label"
    assert spec["layer"][0]["encoding"]["xOffset"]["field"] == "kind"


def test_interval_vs_improvement():
    spec = charts.interval_vs_improvement(hand_result()).to_dict()
    assert spec["title"]["text"] == (
        "Improvement vs interval between injections (Spearman ρ = 0.61, p = 0.012, n = 2)"
    )
    points, rule = spec["layer"]
    assert points["encoding"]["x"]["title"] == "Interval between injections (months)"
    rows = pd.DataFrame(dataset(spec, points)).set_index("patient_id")
    # SPEC §8: interval 1-2 of P1 = 91 days, of P2 = 183 days, / 30.4375
    assert rows.loc["P1", "interval_months"] == pytest.approx(91 / MONTH)
    assert rows.loc["P2", "interval_months"] == pytest.approx(183 / MONTH)
    assert rows.loc["P2", "improvement_pct"] == -50
    assert "P3" not in rows.index  # not evaluable
    assert rule["data"]["values"][0]["threshold_pct"] == 25


# --------------------------------------------------------------------------- safety, null


def test_safety_charts():
    by_term = charts.safety_by_term(hand_result()).to_dict()
    # totals: Headache 6, Fever 3, Back pain 1
    assert by_term["encoding"]["y"]["sort"] == ["Headache", "Fever", "Back pain"]
    assert by_term["encoding"]["x"]["title"] == "Adverse events (count)"
    assert by_term["encoding"]["color"]["scale"]["domain"][:3] == ["mild", "moderate", "severe"]
    assert by_term["title"]["subtitle"] == ["10 events in total."]
    by_inj = charts.safety_by_injection(hand_result().safety).to_dict()
    assert by_inj["title"]["text"] == "Adverse events within 30 days after each injection"
    assert [r["label"] for r in dataset(by_inj, by_inj["layer"][0])] == [
        "3/3 patients",
        "1/2 patients",
    ]
    # SPEC §9: the per-injection figure says it counts clustered events as independent
    assert "counts events as independent" in by_inj["title"]["subtitle"][1]
    assert by_inj["title"]["subtitle"][2] == (
        "3 event(s) before the first injection or outside every window are not shown."
    )
    with pytest.raises(InputError, match="no safety analysis"):
        charts.safety_by_term(hand_result(safety=False))


def test_null_comparison():
    spec = charts.null_comparison(hand_result()).to_dict()
    band, expected, observed, text = spec["layer"]
    assert band["encoding"]["y"]["sort"] == ["1-2", "2-3"]
    assert (band["encoding"]["x"]["field"], band["encoding"]["x2"]["field"]) == (
        "expected_low",
        "expected_high",
    )
    assert expected["encoding"]["x"]["field"] == "expected_responders"
    assert observed["encoding"]["x"]["field"] == "observed_responders"
    assert observed["mark"]["shape"] == "diamond"
    assert [r["p_label"] for r in dataset(spec, band)] == ["p = < 0.001", "p = 0.01"]
    with pytest.raises(InputError, match="simulate_null"):
        charts.null_comparison(hand_result(null=False))


# --------------------------------------------------------------------------- all, save, svg


def test_all_figures_names_and_skips():
    names = list(charts.all_figures(hand_result()))
    assert names == [
        "trajectories",
        "cohort_mean",
        "rate_comparison",
        "improvement_1-2",
        "improvement_whole",
        "responders_by_period",
        "interval_vs_improvement",
        "safety_by_term",
        "safety_by_injection",
        "null_comparison",
        "trajectories_fvc_pct",
        "trajectories_bulbar",
    ]
    fewer = charts.all_figures(hand_result(null=False, safety=False))
    assert not {"null_comparison", "safety_by_term", "safety_by_injection"} & set(fewer)


EXPECTED_TITLES = {
    "trajectories": "per patient, aligned on the first injection",
    "cohort_mean": "Cohort mean",
    "rate_comparison": "Progression rate before treatment",
    "improvement_1-2": "Not evaluable for period 1-2",
    "improvement_whole": "period whole vs pre-treatment",
    "responders_by_period": "Responders per period",
    "interval_vs_improvement": "Improvement vs interval between injections",
    "safety_by_term": "Adverse events by term and severity",
    "safety_by_injection": "Adverse events within 30 days after each injection",
    "null_comparison": "expected with no treatment effect",
    "trajectories_fvc_pct": "FVC (% predicted) per patient",
    "trajectories_bulbar": "bulbar domain",
}


def test_every_chart_renders_to_svg(tmp_path):
    figures = charts.all_figures(hand_result())
    figures["trajectories_by_date"] = charts.trajectories(hand_result(), x="date")
    for name, chart in figures.items():
        path = tmp_path / f"{name}.svg"
        chart.save(path)
        svg = path.read_text()
        assert svg.startswith("<svg"), name
        expected = EXPECTED_TITLES.get(name, "per patient over calendar time")
        assert expected in svg, name


def test_save_figures_writes_svg_and_png(tmp_path):
    paths = charts.save_figures(hand_result(null=False), tmp_path / "figs")
    names = sorted(p.name for p in paths)
    assert "responders_by_period.png" in names and "responders_by_period.svg" in names
    assert "null_comparison.svg" not in names
    assert len(paths) == 2 * 11
    for path in paths:
        head = path.read_bytes()[:8]
        assert head.startswith(b"<svg") if path.suffix == ".svg" else head == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(InputError, match="unknown figure format"):
        charts.save_figures(hand_result(), tmp_path, formats=("gif",))


def test_palette_is_okabe_ito():
    assert charts.OKABE_ITO["vermillion"] == "#D55E00"
    assert set(charts.PALETTE) <= set(charts.OKABE_ITO.values())
    assert len(set(charts.PALETTE)) == 8


# --------------------------------------------------------------------------- scale


def synthetic_study(n_patients: int, n_visits: int) -> StudyData:
    """n_patients x n_visits visits, one visit a month, injections at months 2 and 5."""
    rng = np.random.default_rng(1)
    pid = np.repeat([f"S{i:04d}" for i in range(n_patients)], n_visits)
    day = np.tile(np.arange(n_visits) * 30.0, n_patients) + B
    score = np.clip(44 - np.tile(np.arange(n_visits), n_patients) * 0.8, 0, 48)
    visits = pd.DataFrame(
        {"patient_id": pid, "day": day, "alsfrs_r_total": score + rng.integers(-1, 2, len(pid))}
    )
    ids = [f"S{i:04d}" for i in range(n_patients)]
    injections = pd.DataFrame(
        {
            "patient_id": np.repeat(ids, 2),
            "day": np.tile([B + 60.0, B + 150.0], n_patients),
            "injection_number": np.tile([1, 2], n_patients),
        }
    )
    return StudyData(
        visits=_dated(visits),
        injections=_dated(injections),
        patients=pd.DataFrame({"patient_id": ids}),
    )


def test_hundred_thousand_visits_with_vegafusion(tmp_path):
    study = synthetic_study(n_patients=5000, n_visits=20)
    assert len(study.visits) == 100_000
    with alt.data_transformers.enable("vegafusion"):
        # every patient drawn: 100,000 rows go through VegaFusion, no MaxRowsError
        full = charts.trajectories(study, max_patients=10**6)
        vega = full.to_dict(format="vega")
        assert vega["$schema"].startswith("https://vega.github.io/schema/vega/")
        # the default sample and the aggregated mean stay small and render
        charts.trajectories(study).save(tmp_path / "traj.svg")
        mean = charts.cohort_mean(study)
        mean.save(tmp_path / "mean.svg")
    assert "Cohort mean" in (tmp_path / "mean.svg").read_text()
    # 20 monthly bins, not 100,000 visits, are embedded in the cohort-mean chart
    assert len(mean.layer[0].data) == 20


def test_default_transformer_small_enough_without_vegafusion():
    """Without VegaFusion a 100,000-visit cohort still charts: sampled and aggregated."""
    study = synthetic_study(n_patients=5000, n_visits=20)
    spec = charts.trajectories(study).to_dict()  # 20 sampled patients x 20 visits
    assert len(dataset(spec, spec["layer"][2])) == 400
    assert len(dataset(spec, spec["layer"][0])) == 20  # 20 monthly bins of quantiles
    charts.cohort_mean(study).to_dict()


# --------------------------------------------------------------------------- real demo


def _demo_result():
    pytest.importorskip("msc_notebooks.analysis", reason="msc_notebooks.analysis not written yet")
    pytest.importorskip("msc_notebooks.demo", reason="msc_notebooks.demo not written yet")
    import msc_notebooks as msc

    return msc.analyze(msc.load_demo())


def test_demo_result_all_figures_render(tmp_path):
    result = _demo_result()
    figures = charts.all_figures(result)
    assert {"trajectories", "cohort_mean", "responders_by_period", "improvement_1-2"} <= set(
        figures
    )
    spec = figures["responders_by_period"].to_dict()
    summary = result.summary.set_index("period")
    rows = [r for r in dataset(spec, spec["layer"][0]) if r["kind"].startswith("Relative")]
    for row in rows:
        n, N = summary.loc[row["period"], ["n_responders", "n_evaluable"]]
        assert row["label"] == f"{int(n)}/{int(N)}"
    paths = charts.save_figures(result, tmp_path, formats=("svg",))
    assert all(p.read_text().startswith("<svg") for p in paths)


def test_public_surface_is_all():
    import inspect

    public = {
        name
        for name, obj in vars(charts).items()
        if not name.startswith("_")
        and inspect.isfunction(obj)
        and obj.__module__ == "msc_notebooks.charts"
    }
    assert public <= set(charts.__all__)
    assert all(hasattr(charts, name) for name in charts.__all__)


def test_waterfall_of_thousands_of_patients_builds_under_vegafusion(tmp_path):
    # an explicit 8,000-id sort list used to crash vegafusion (segfault): run in a subprocess
    import subprocess
    import sys

    code = (
        "import numpy as np, pandas as pd, altair as alt\n"
        "from types import SimpleNamespace\n"
        "from msc_notebooks import charts\n"
        "from msc_notebooks.settings import Settings\n"
        "n = 8000\n"
        "rng = np.random.default_rng(0)\n"
        "periods = pd.DataFrame({'patient_id': [f'{i:05d}' for i in range(n)], 'period': '1-2',\n"
        "    'improvement_pct': rng.normal(50, 60, n), 'evaluable': True, 'reason': '',\n"
        "    'responder': rng.random(n) > 0.5})\n"
        "r = SimpleNamespace(periods=periods, settings=Settings())\n"
        "with alt.data_transformers.enable('vegafusion'):\n"
        "    spec = charts.improvement_waterfall(r, '1-2').to_dict(format='vega')\n"
        "print('ok', len(spec['data']))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.startswith("ok")


# --------------------------------------------------------------------------- size switch (#18)


def many_periods(n: int, improvement, *, not_evaluable: dict[str, int] | None = None):
    """A result whose period 1-2 has ``n`` evaluable patients with the given improvements."""
    improvement = np.asarray(improvement, dtype=float)
    ids = [f"{i:05d}" for i in range(n)]
    ref = np.linspace(0.5, 1.5, n)
    rows = pd.DataFrame(
        {
            "patient_id": ids * 2,
            "period": ["reference"] * n + ["1-2"] * n,
            "rate": np.concatenate([ref, ref * (1 - improvement / 100)]),
            "reference_rate": np.concatenate([ref, ref]),
            "improvement_pct": np.concatenate([np.full(n, np.nan), improvement]),
            "responder": pd.array([None] * n + list(improvement > 25), dtype="boolean"),
            "evaluable": True,
            "reason": "",
        }
    )
    extra = []
    for reason, k in (not_evaluable or {}).items():
        extra.append(
            pd.DataFrame(
                {
                    "patient_id": [f"{reason[:3]}{i}" for i in range(k)],
                    "period": "1-2",
                    "rate": np.nan,
                    "reference_rate": np.nan,
                    "improvement_pct": np.nan,
                    "responder": pd.array([None] * k, dtype="boolean"),
                    "evaluable": False,
                    "reason": reason,
                }
            )
        )
    periods = pd.concat([rows, *extra], ignore_index=True)
    return SimpleNamespace(periods=periods, settings=Settings())


def test_detail_limits_name_every_chart_kind():
    import inspect

    helpers = {
        "outcome_label",
        "rate_label",
        "size_switch",
        "all_figures",
        "save_figures",
        "responder_figure",
        "not_evaluable_rows",
        "not_evaluable_counts",
    }
    builders = {
        name
        for name in charts.__all__
        if inspect.isfunction(getattr(charts, name)) and name not in helpers
    }
    assert builders == set(charts.DETAIL_LIMITS)
    assert charts.DETAIL_LIMITS["improvement_waterfall"] == charts.WATERFALL_MAX_BARS == 150
    assert charts.size_switch(150, 150, "x") is None
    assert (
        charts.size_switch(151, 150, "x") == "151 patients (more than 150 to show one by one): x."
    )
    assert charts.size_switch(10**6, None, "x") is None


def test_waterfall_size_switch_histogram_with_threshold():
    # 198 evaluable patients: 100 at +30 % (responders), 96 at +20 %, one at -500 %, one at
    # +400 %. Bins of 10 % with edges on the threshold (25 + 10 k): +30 -> [25, 35),
    # +20 -> [15, 25); -500 is counted in the end bin of -200: 25 + floor(-225 / 10) * 10
    # = -205 -> [-205, -195); +400 in that of +200: [195, 205)
    values = [30.0] * 100 + [20.0] * 96 + [-500.0, 400.0]
    result = many_periods(len(values), values)
    bars = charts.improvement_waterfall(result, "1-2", max_bars=198).to_dict()
    assert bars["layer"][0]["encoding"]["x"]["field"] == "patient_id"  # at the limit: bars
    spec = charts.improvement_waterfall(result, "1-2").to_dict()  # default limit 150
    hist, rule, label = spec["layer"]
    assert hist["encoding"]["x"]["field"] == "bin_start"
    assert hist["encoding"]["x2"]["field"] == "bin_end"
    got = {(r["bin_start"], r["status"]): r["n"] for r in dataset(spec, hist)}
    assert got == {
        (25.0, "Responder"): 100,
        (15.0, "Non-responder"): 96,
        (-205.0, "Non-responder"): 1,
        (195.0, "Responder"): 1,
    }
    assert rule["encoding"]["x"]["field"] == "threshold_pct"  # vertical threshold line
    assert dataset(spec, rule)[0]["threshold_pct"] == 25
    assert spec["title"]["subtitle"] == [
        "101/198 evaluable patients responded (improvement > 25 %).",
        "198 evaluable patients (more than 150 to show one by one): histogram of improvement "
        "in 10 % bins.",
        "End bins include 1 patient(s) below -200 % and 1 patient(s) above +200 %.",
    ]


def test_footnote_size_switch_counts_per_reason():
    small = charts.improvement_waterfall(
        many_periods(3, [30, 20, 10], not_evaluable={"flat run-in": 2}), "1-2"
    ).to_dict()
    listing = small["vconcat"][1]
    assert [r["line"] for r in dataset(small, listing)] == [
        "fla0: flat run-in",
        "fla1: flat run-in",
    ]
    # 1,412 + 418 = 1,830 patients not evaluable: one line per reason, largest first
    result = many_periods(3, [30, 20, 10], not_evaluable={"no visit": 418, "flat run-in": 1412})
    spec = charts.improvement_waterfall(result, "1-2").to_dict()
    listing = spec["vconcat"][1]
    assert [r["line"] for r in dataset(spec, listing)] == ["1,412 flat run-in", "418 no visit"]
    assert listing["title"]["text"] == (
        "1,830 patients not evaluable for period 1-2 (more than 20 to show one by one): "
        "counts per reason"
    )
    assert listing["mark"]["limit"] == 560  # long reasons are cut, not stretched
    assert listing["height"] == 32  # 16 px per line


def test_rate_comparison_size_switch_boxes():
    n = 150
    result = many_periods(n, np.linspace(-50, 100, n))
    lines = charts.rate_comparison(result, max_patients=150).to_dict()
    assert lines["layer"][0]["mark"]["type"] == "line"
    spec = charts.rate_comparison(result).to_dict()
    whisker, box, median, zero = spec["layer"]
    assert (whisker["mark"]["type"], box["mark"]["type"], median["mark"]["type"]) == (
        "rule",
        "bar",
        "tick",
    )
    rows = pd.DataFrame(dataset(spec, box)).set_index("period")
    ref = np.linspace(0.5, 1.5, n)
    # numpy's percentiles of the reference rates (independent of the chart's pandas code)
    assert rows.loc["reference", "q25"] == pytest.approx(np.percentile(ref, 25))
    assert rows.loc["reference", "q50"] == pytest.approx(1.0)
    rate12 = ref * (1 - np.linspace(-50, 100, n) / 100)
    assert rows.loc["1-2", "q90"] == pytest.approx(np.percentile(rate12, 90))
    assert rows.loc["1-2", "n"] == n
    assert spec["title"]["subtitle"][0].startswith("150 patients (more than 100 to show")


def test_interval_size_switch_cells_by_hand():
    detail = charts.interval_vs_improvement(hand_result(), max_points=2).to_dict()
    assert detail["layer"][0]["mark"]["type"] == "point"
    spec = charts.interval_vs_improvement(hand_result(), max_points=1).to_dict()
    cells, rule = spec["layer"]
    assert cells["mark"]["type"] == "rect"
    # P1: 91 days = 2.99 months -> cell [2.5, 3.0); 80 % -> [75, 100)
    # P2: 183 days = 6.01 months -> [6.0, 6.5); -50 % -> [-50, -25)
    got = sorted((r["x0"], r["x1"], r["y0"], r["y1"], r["n"]) for r in dataset(spec, cells))
    assert got == [(2.5, 3.0, 75.0, 100.0, 1), (6.0, 6.5, -50.0, -25.0, 1)]
    assert spec["title"]["subtitle"][0].startswith("2 patient-periods (more than 1 to show")


def test_safety_by_term_size_switch_other_terms():
    spec = charts.safety_by_term(hand_result(), max_terms=2).to_dict()
    # totals: Headache 6, Fever 3 (severe), Back pain 1 (mild): the last two summed
    assert spec["encoding"]["y"]["sort"] == ["Headache", "other terms (2)"]
    rows = pd.DataFrame(dataset(spec))
    other = rows[rows.term == "other terms (2)"].set_index("severity")["n_events"]
    assert other.to_dict() == {"mild": 1, "severe": 3}
    assert spec["title"]["subtitle"][1] == (
        "3 terms (more than 2 to show one by one): the 1 most frequent and the others summed."
    )
    assert charts.safety_by_term(hand_result(), max_terms=3).to_dict()["title"]["subtitle"] == [
        "10 events in total."
    ]


def test_every_figure_of_a_large_cohort_stays_small(tmp_path):
    """2,000 patients: no figure embeds a row per patient; summarised ones say so."""
    import msc_notebooks as msc

    study = synthetic_study(n_patients=2000, n_visits=8)
    result = msc.analyze(study)
    figures = charts.all_figures(result)
    for name, chart in figures.items():
        spec = chart.to_dict()
        biggest = max(len(rows) for rows in spec.get("datasets", {"": []}).values())
        assert biggest <= 200, (name, biggest)  # 20 sampled patients x 8 visits = 160
    for name in ("trajectories", "rate_comparison", "improvement_1-2", "interval_vs_improvement"):
        spec = figures[name].to_dict()
        title = spec.get("title") or spec["vconcat"][0]["title"]
        assert any("to show one by one" in line for line in title["subtitle"]), name


def test_trajectories_accept_integer_days_in_a_hand_built_study():
    """A StudyData built by hand may carry integer days in one table and float days in the
    other; the injection markers still sit on the interpolated score (36 is halfway
    between 40 on day -90 and 32 on day 90, so the marker at day 0 is at 36; the one at
    day 90 sits on the assessment, 32)."""
    from msc_notebooks.analysis import analyze

    visits = pd.DataFrame(
        {"patient_id": ["A"] * 4, "day": [-90, 0, 90, 180], "alsfrs_r_total": [40, 36, 32, 30]}
    )
    visits.loc[1, "alsfrs_r_total"] = np.nan  # no assessment on the injection day itself
    visits = visits.dropna()
    injections = pd.DataFrame(
        {"patient_id": ["A", "A"], "day": [0.0, 90.0], "injection_number": [1, 2]}
    )
    study = StudyData(
        visits=visits,
        injections=injections,
        patients=pd.DataFrame({"patient_id": ["A"]}),
        time_kind="day",
    )
    spec = charts.trajectories(analyze(study)).to_dict()
    values = [row for data in spec.get("datasets", {}).values() for row in data]
    marker_scores = sorted(
        row["score"] for row in values if "injection_number" in row and "score" in row
    )
    assert marker_scores == [pytest.approx(32.0), pytest.approx(36.0)]
