"""The widgets, driven from Python as the browser drives them (issue #5).

A tiny cohort whose numbers are worked out by hand (SPEC §2, §3, §5, §6, §8):

* three patients A, B, C with ALSFRS-R assessments on days 0, 90 and 180 and injections
  on days 90 and 180; one month = 30.4375 days, so every 90-day span is
  90 / 30.4375 = 2.9569 months;
* all three lose 3 points in the run-in (40 -> 37): reference rate 3 / 2.9569 per month;
* in period 1-2, A loses 1 point, B 2, C 3. With equal spans, improvement % =
  100 (3 - drop) / 3: A 66.67 %, B 33.33 %, C 0 % (SPEC §6);
* responders (> 25 %): A and B, 2 of 3. Threshold 50 %: A only. Threshold 0 %, strict:
  A and B; inclusive (>=): all three.
"""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
from pathlib import Path

import ipywidgets
import pandas as pd
import pytest

from msc_notebooks.settings import Settings
from msc_notebooks.widgets import (
    InjectionsStep,
    InjectionTimeline,
    LoadStep,
    ResultsStep,
    SettingsStep,
    Wizard,
    WizardState,
)
from msc_notebooks.widgets.timeline import static_file

ROOT = Path(__file__).resolve().parents[1]
MONTH = 30.4375

VISITS_CSV = (
    "Patient ID,day,ALSFRS-R total\n"
    "A,0,40\nA,90,37\nA,180,36\n"
    "B,0,40\nB,90,37\nB,180,35\n"
    "C,0,40\nC,90,37\nC,180,34\n"
)
INJECTIONS_CSV = "Patient ID,day\nA,90\nA,180\nB,90\nB,180\nC,90\nC,180\n"


def tiny_tables() -> tuple[pd.DataFrame, pd.DataFrame]:
    visits = pd.DataFrame(
        {
            "patient_id": ["A"] * 3 + ["B"] * 3 + ["C"] * 3,
            "day": [0, 90, 180] * 3,
            "alsfrs_r_total": [40, 37, 36, 40, 37, 35, 40, 37, 34],
        }
    )
    injections = pd.DataFrame({"patient_id": ["A", "A", "B", "B", "C", "C"], "day": [90, 180] * 3})
    return visits, injections


@pytest.fixture
def study():
    from msc_notebooks.loading import read_study

    return read_study(*tiny_tables())


@pytest.fixture
def wizard(study):
    return Wizard(study, figures=False)


def responders_1_2(wizard: Wizard) -> str:
    wizard.go("Results")  # a hidden step does not follow the state: opened, it catches up
    text = wizard.results.responder_count.value
    return text.split("1-2: ")[1].split(" evaluable responders")[0]


# -- the front-end module ----------------------------------------------------------------------
def test_es_module_is_local_valid_esm():
    js = ROOT / "msc_notebooks" / "widgets" / "static" / "timeline.js"
    css = ROOT / "msc_notebooks" / "widgets" / "static" / "timeline.css"
    assert js.is_file() and css.is_file()
    text = js.read_text()
    assert "export default" in text and "render" in text
    # nothing from the internet: no URL at all, so no remote import either
    assert "http://" not in text and "https://" not in text
    for line in text.splitlines():
        if line.lstrip().startswith("import "):
            pytest.fail(f"the timeline must not import anything: {line}")
    for name in (
        "msc-timeline-injection",
        "aria-label",
        "ArrowLeft",
        "ArrowRight",
        "Delete",
        "pointerdown",
        "dblclick",
    ):
        assert name in text
    assert static_file("timeline.js").read_text() == text


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_es_module_parses_with_node(tmp_path):
    module = tmp_path / "timeline.mjs"  # .mjs: parsed as an ES module whatever node's default
    shutil.copy(ROOT / "msc_notebooks" / "widgets" / "static" / "timeline.js", module)
    done = subprocess.run(["node", "--check", str(module)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_timeline_traits_and_css_class():
    t = InjectionTimeline(patient_id="A", injections=[90.0, 180.0])
    assert "msc-timeline" in t._dom_classes
    assert {"patient_id", "assessments", "injections", "selected", "error"} <= set(t.keys)
    assert "export default" in t._esm


# -- the wizard ----------------------------------------------------------------------------------
def test_wizard_without_arguments_starts_at_load():
    wiz = Wizard(figures=False)
    assert [s.title for s in wiz.steps] == [
        "Load",
        "Injections",
        "Settings",
        "Results",
        "Safety",
        "Export",
    ]
    assert wiz.stack.selected_index == 0
    assert wiz.load.source_choice.value == "demo"
    assert wiz.state.result is None
    wiz.next.click()
    assert wiz.stack.selected_index == 1 and wiz.nav.value == 2
    wiz.back.click()
    assert wiz.stack.selected_index == 0


def test_steps_share_one_state(study):
    state = WizardState()
    settings_step, results = SettingsStep(state), ResultsStep(state, figures=False)
    state.study = study
    assert "1-2: 2/3" in results.responder_count.value
    settings_step.controls["threshold_pct"].value = 50
    assert "1-2: 1/3" in results.responder_count.value


# -- settings and results (SPEC §6) ----------------------------------------------------------
def test_threshold_change_reclassifies(wizard):
    threshold = wizard.settings.controls["threshold_pct"]
    assert "msc-threshold" in threshold._dom_classes
    assert threshold.continuous_update is False
    assert "msc-responder-count" in wizard.results.responder_count._dom_classes
    assert responders_1_2(wizard) == "2/3"  # A 66.7 %, B 33.3 % > 25 %
    rates = wizard.state.result.periods["rate"].copy()

    threshold.value = 50
    assert wizard.state.last_run == "reclassify"
    assert responders_1_2(wizard) == "1/3"  # A only
    pd.testing.assert_series_equal(wizard.state.result.periods["rate"], rates)

    threshold.value = 0
    assert responders_1_2(wizard) == "2/3"  # C's 0 % is not > 0
    wizard.settings.controls["inclusive"].value = True
    assert wizard.state.last_run == "reclassify"
    assert responders_1_2(wizard) == "3/3"  # 0 % >= 0
    assert "improvement &gt;= 0%" in wizard.results.responder_count.value


def test_other_setting_reruns_analysis(wizard):
    # a 90-day run-in is shorter than a 100-day minimum span: nobody is evaluable (SPEC §12)
    wizard.settings.controls["min_span_days"].value = 100
    assert wizard.state.last_run == "analyze"
    assert responders_1_2(wizard) == "0/0"
    wizard.settings.reset.click()
    assert wizard.state.settings == Settings()
    assert responders_1_2(wizard) == "2/3"


def test_settings_show_help_and_defaults():
    step = SettingsStep()
    text = " ".join(c.children[1].value for c in step.children if isinstance(c, ipywidgets.VBox))
    assert "Relative responder" in text and "(default: 25)" in text
    assert set(step.controls) == set(Settings().to_dict())


def test_bad_setting_shows_error(wizard):
    wizard.settings.controls["window_days"].value = 0
    assert "window_days must be positive" in wizard.settings.message.value
    assert wizard.state.settings.window_days == 14


def test_analysis_error_is_shown(wizard):
    wizard.state.settings = Settings(outcome="fvc_pct")  # the tiny cohort has no FVC
    assert wizard.state.result is None
    for step in (wizard.results, wizard.safety, wizard.settings):
        wizard.go(step.title)
        assert "Analysis failed" in step.message.value
        assert "fvc_pct" in step.message.value
    wizard.settings.controls["outcome"].value = "alsfrs_r_total"
    assert responders_1_2(wizard) == "2/3"
    assert wizard.results.message.value == ""


# -- injections and timeline (SPEC §8) ---------------------------------------------------------
def test_moving_a_marker_changes_the_interval(wizard):
    step = wizard.injections
    step.patient.value = "A"
    assert step.timeline.injections == [90.0, 180.0]
    assert "msc-interval-table" in step.interval_table._dom_classes
    # 90 days = 2.9569 months, shown to 0.1 month (table_format) beside the days
    assert "<td>90</td><td>3.0</td>" in step.interval_table.value

    step.timeline.injections = [90.0, 210.0]  # what dragging marker 2 does

    inj = wizard.state.study.injections
    assert inj.loc[inj.patient_id == "A", "day"].tolist() == [90.0, 210.0]
    assert wizard.state.injection_edits == {"A": [90.0, 210.0]}
    assert f"{120 / MONTH:.1f}" == "3.9" and "<td>120</td><td>3.9</td>" in step.interval_table.value
    assert "1-2: 3.94" in step.injection_table.value
    # no assessment within 14 days of day 210: A's period 1-2 is not evaluable (SPEC §3),
    # leaving B (33.3 %, responder) and C (0 %)
    assert responders_1_2(wizard) == "1/2"


def test_two_injections_same_day_refused(wizard):
    step = wizard.injections
    step.patient.value = "B"
    before = wizard.state.study
    step.timeline.injections = [90.0, 90.0]
    assert "same day" in step.timeline.error
    assert "same day" in step.message.value and "msc-note-error" in step.message.value
    assert wizard.state.study is before


def test_injection_before_first_assessment_warns(wizard):
    step = wizard.injections
    step.patient.value = "C"
    step.timeline.injections = [-30.0, 180.0]
    assert "before the first assessment" in step.timeline.error
    inj = wizard.state.study.injections
    assert inj.loc[inj.patient_id == "C", "day"].tolist() == [-30.0, 180.0]


def test_table_edit_moves_markers(wizard):
    step = wizard.injections
    step.patient.value = "A"
    step.days_text.value = "90, 150"
    step.apply_days.click()
    assert step.timeline.injections == [90.0, 150.0]
    assert "<td>60</td><td>2.0</td>" in step.interval_table.value  # 1.9713 months, to 0.1
    step.days_text.value = "90, soon"
    step.apply_days.click()
    assert "not a day number" in step.message.value


def test_protocol_generator_for_selected_patients(wizard):
    step = wizard.injections
    step.protocol_patients.value = ("B", "C")
    step.protocol_first.value = "0"
    step.protocol_interval.value = 3
    step.protocol_count.value = 3
    step.apply_protocol.click()
    inj = wizard.state.study.injections
    # 3 months = 91.3125 days -> day 91; 6 months = 182.625 -> day 183 (rounded, SPEC §2)
    assert inj.loc[inj.patient_id == "B", "day"].tolist() == [0.0, 91.0, 183.0]
    assert inj.loc[inj.patient_id == "A", "day"].tolist() == [90.0, 180.0]
    assert wizard.state.injection_edits["C"] == [0.0, 91.0, 183.0]
    step.patient.value = "C"
    assert step.timeline.injections == [0.0, 91.0, 183.0]


def test_injections_step_alone_without_data():
    step = InjectionsStep()
    assert "Load data first" in step.injection_table.value
    step.apply_protocol.click()
    assert "no data loaded" in step.message.value


# -- loading -------------------------------------------------------------------------------------
def _upload(step: LoadStep, table: str, name: str, content: bytes) -> None:
    step.upload_table.value = table
    step.upload.value = (
        {
            "name": name,
            "type": "text/csv",
            "size": len(content),
            "content": memoryview(content),
            "last_modified": dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        },
    )


def _holds_bytes(value, needle: bytes) -> bool:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return True
    if isinstance(value, str):
        return needle.decode() in value
    if isinstance(value, dict):
        return any(_holds_bytes(v, needle) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(_holds_bytes(v, needle) for v in value)
    return False


def _tree(widget):
    yield widget
    for child in getattr(widget, "children", ()) or ():
        yield from _tree(child)


def test_upload_reads_maps_and_keeps_no_bytes():
    wiz = Wizard(figures=False)
    step = wiz.load
    step.source_choice.value = "upload"
    _upload(step, "visits", "visits.csv", VISITS_CSV.encode())
    _upload(step, "injections", "inj.csv", INJECTIONS_CSV.encode())
    assert step.upload.value == ()
    # 'Patient ID' and 'ALSFRS-R total' are guessed (punctuation and case ignored)
    assert step.mapping["visits"]["patient_id"].value == "Patient ID"
    assert step.mapping["visits"]["alsfrs_r_total"].value == "ALSFRS-R total"
    assert step.column_map()["visits"] == {
        "Patient ID": "patient_id",
        "ALSFRS-R total": "alsfrs_r_total",
    }
    assert "<td>A</td>" in step.preview.value
    step.load_button.click()
    assert "Loaded 3 patients" in step.message.value, step.message.value
    assert wiz.state.source["kind"] == "upload"
    assert "msc-ledger" in step.report.value
    assert responders_1_2(wiz) == "2/3"
    # no widget of the wizard holds the file's bytes (nor its whole text)
    registry = getattr(ipywidgets.widgets.widget, "_instances", {})  # every live widget
    widgets = list(_tree(wiz)) + list(registry.values())
    for widget in widgets:
        for name in widget.trait_names():
            if name.startswith("_") and name not in ("_esm", "_css"):
                continue
            value = getattr(widget, name, None)
            assert not _holds_bytes(value, INJECTIONS_CSV.encode()), (widget, name)


def test_load_files_preview_and_state_roundtrip(tmp_path):
    (tmp_path / "visits.csv").write_text(VISITS_CSV)
    (tmp_path / "injections.csv").write_text(INJECTIONS_CSV)
    wiz = Wizard(figures=False)
    step = wiz.load
    step.source_choice.value = "files"
    step.paths["visits"].value = str(tmp_path / "visits.csv")
    step.paths["injections"].value = str(tmp_path / "injections.csv")
    step.preview_button.click()
    assert step.mapping["injections"]["patient_id"].value == "Patient ID"
    step.load_button.click()
    assert wiz.state.source["kind"] == "files"
    assert responders_1_2(wiz) == "2/3"

    wiz.injections.patient.value = "A"
    wiz.injections.timeline.injections = [90.0, 210.0]
    wiz.settings.controls["threshold_pct"].value = 40
    wiz.go("Results")
    for suffix in (".json", ".yaml"):
        saved = wiz.save_state(tmp_path / f"state{suffix}")
        again = Wizard(state_file=saved, figures=False)
        assert again.state.settings.threshold_pct == 40
        inj = again.state.study.injections
        assert inj.loc[inj.patient_id == "A", "day"].tolist() == [90.0, 210.0]
        assert again.load.column_map()["visits"]["Patient ID"] == "patient_id"
        assert again.stack.selected_index == 3
        # B 33.3 % and C 0 % are below 40 %; A is not evaluable in 1-2
        assert responders_1_2(again) == "0/2"


def test_load_errors_are_visible(tmp_path):
    step = LoadStep()
    step.source_choice.value = "files"
    step.load_button.click()
    assert "no visits file given" in step.message.value
    step.paths["visits"].value = str(tmp_path / "missing.csv")
    step.paths["injections"].value = str(tmp_path / "missing.csv")
    step.load_button.click()
    assert "file not found" in step.message.value and "msc-note-error" in step.message.value
    step.source_choice.value = "upload"
    _upload(step, "visits", "notes.pdf", b"%PDF")
    assert "unsupported file type" in step.message.value
    assert step.upload.value == ()


def test_bad_state_file_is_reported(tmp_path):
    path = tmp_path / "state.json"
    path.write_text('{"hello": 1}')
    wiz = Wizard(state_file=path, figures=False)
    assert "not a saved wizard state" in wiz.message.value


def test_demo_cohort_loads():
    pytest.importorskip("msc_notebooks.demo")
    wiz = Wizard(figures=False)
    wiz.load.demo_button.click()
    assert "Loaded" in wiz.load.message.value, wiz.load.message.value
    assert wiz.state.source == {"kind": "demo"}
    assert wiz.state.result is not None
    # the injections step shows the first patient at once
    step = wiz.injections
    assert step.patient.value == step.patient.options[0]
    assert len(step.timeline.injections) >= 1 and len(step.timeline.assessments) >= 2


# -- safety, figures, export ---------------------------------------------------------------------
def test_safety_step(tmp_path):
    from msc_notebooks.loading import read_study

    visits, injections = tiny_tables()
    events = pd.DataFrame(
        {
            "patient_id": ["A", "B"],
            "day": [100, 95],
            "term": ["Headache", "Headache"],
            "severity": ["mild", "mild"],
        }
    )
    wiz = Wizard(read_study(visits, injections, adverse_events=events), figures=False)
    wiz.go("Safety")
    tables = wiz.safety.tables.value
    assert "Headache" in tables and "safety by term" in tables
    # 2 mild headache events in 2 patients (SPEC §9): one by_term row with 2 and 2
    by_term = wiz.state.result.safety.by_term
    assert by_term[["n_events", "n_patients"]].values.tolist() == [[2, 2]]
    assert wiz.safety.sentence.value


def test_safety_without_events(wizard):
    wizard.go("Safety")
    assert "No adverse-event table" in wizard.safety.message.value


@pytest.mark.slow
def test_results_and_safety_figures_are_drawn(study):
    wiz = Wizard(study, figures=True)
    wiz.go("Results")
    assert "rate_comparison" in wiz.results.figure_names
    assert "safety_by_term" not in wiz.results.figure_names
    svg = [o for o in wiz.results.figures.outputs if "image/svg+xml" in o["data"]]
    assert svg and svg[0]["data"]["image/svg+xml"].lstrip().startswith("<svg")
    wiz.results.show_figures.value = False
    assert wiz.results.figures.outputs == ()


def test_export_without_result_shows_error(tmp_path):
    wiz = Wizard(figures=False)
    wiz.export.folder.value = str(tmp_path / "out")
    wiz.export.write.click()
    assert "no result to export" in wiz.export.message.value


def test_export_writes_files(wizard, tmp_path):
    wizard.export.folder.value = str(tmp_path / "out")
    wizard.export.figures.value = False
    wizard.export.report.value = False
    wizard.export.write.click()
    assert "files written" in wizard.export.message.value, wizard.export.message.value
    names = {p.name for p in wizard.export.written}
    assert {"periods.csv", "summary.csv", "settings.json", "results.xlsx"} <= names
    assert all(p.exists() for p in wizard.export.written)
    assert "summary.csv" in wizard.export.files.value
    summary = pd.read_csv(tmp_path / "out" / "summary.csv")
    assert summary.loc[summary.period == "1-2", "n_responders"].item() == 2  # A and B


@pytest.mark.slow
def test_export_figures_and_report(wizard, tmp_path):
    wizard.export.folder.value = str(tmp_path / "out")
    wizard.export.write.click()
    assert "files written" in wizard.export.message.value, wizard.export.message.value
    names = {p.name for p in wizard.export.written}
    assert "report.html" in names
    assert any(n.endswith(".svg") for n in names) and any(n.endswith(".png") for n in names)


@pytest.fixture
def jupyter_renderer():
    """The kit's notebook set-up (``jupyter`` renderer, VegaFusion); Altair's restored after."""
    import altair as alt
    from altair.vegalite.v6.display import jupyter_renderer as altair_jupyter

    from msc_notebooks.notebook import setup_notebook

    renderer, options = alt.renderers.active, dict(alt.renderers.options)
    transformer = alt.data_transformers.active
    setup_notebook()
    yield
    alt.renderers.register("jupyter", altair_jupyter)
    alt.renderers.enable(renderer, **options)
    alt.data_transformers.enable(transformer)


@pytest.mark.slow
def test_figures_draw_when_first_viewed_after_their_charts_are_gone(jupyter_renderer):
    """Issue #19: Safety/Results figures were blank on first view.

    A JupyterChart computes its chart (VegaFusion) only when the browser first draws it and
    sends its time zone. Altair's own renderer keeps the chart's DataFrame only in a weak
    dictionary, so a chart built in a callback and gone by then fails with "No inline
    dataset named table_...". Here the steps' charts are dropped and collected, then each
    widget gets a time zone as a browser would send it: every figure must compute.
    """
    import gc

    from altair.vegalite.v6.display import jupyter_renderer as altair_jupyter
    from ipywidgets.widgets.widget import _instances

    from msc_notebooks import charts
    from msc_notebooks.demo import load_demo

    wiz = Wizard(load_demo())
    wiz.go("Results")
    wiz.go("Safety")
    gc.collect()
    drawn = []
    for step in (wiz.results, wiz.safety):
        assert step.figure_names, step.title
        widgets = step.figures._msc_chart_widgets
        assert len(widgets) == len(step.figure_names)
        for widget in widgets:
            widget.local_tz = "Europe/Paris"
            assert widget.spec is not None and widget.spec.get("data"), step.title
            drawn.append(widget)
    assert len(drawn) >= 6
    # a second browser in another time zone computes again from the same data
    drawn[-1].local_tz = "America/New_York"
    assert drawn[-1].spec.get("data")
    # figures taken off the page close their widgets (their data are freed)
    old = wiz.safety.figures._msc_chart_widgets
    wiz.safety.show_figures.value = False
    assert old and all(w.comm is None for w in old)

    # the root cause, with Altair's own renderer: the same chart, drawn late, fails
    spec = charts.safety_by_term(wiz.state.result).to_dict(context={"pre_transform": False})
    bundle = altair_jupyter(spec, offline=True)
    bundle = bundle[0] if isinstance(bundle, tuple) else bundle
    stock = _instances[bundle["application/vnd.jupyter.widget-view+json"]["model_id"]]
    del spec
    gc.collect()
    with pytest.raises(ValueError, match="No inline dataset named table_"):
        stock.local_tz = "Europe/Paris"
    stock.close()


def test_protocol_generator_starts_at_the_loaded_cohort():
    """Issue #19: the demo's first injection date stayed after loading a 2022 cohort."""
    from msc_notebooks.demo import load_demo
    from msc_notebooks.study import StudyData

    wiz = Wizard(load_demo(), figures=False)
    demo_first = wiz.injections.protocol_first.value
    assert demo_first == "2016-05-27"  # the demo's earliest injection (injections.csv)
    later = wiz.state.study
    # the same cohort moved to 2022: day 19000 = 2022-01-08 (days since 1970-01-01)
    shift = 19000 - later.injections["day"].min()
    moved = StudyData(
        visits=later.visits.assign(day=later.visits["day"] + shift),
        injections=later.injections.assign(day=later.injections["day"] + shift),
        patients=later.patients,
        time_kind=later.time_kind,
    )
    wiz.state.study = moved
    assert wiz.injections.protocol_first.value == "2022-01-08"
    wiz.injections.protocol_first.value = "2022-02-01"  # typed by the user: kept
    wiz.state.study = later
    assert wiz.injections.protocol_first.value == "2022-02-01"


# -- work only for what is visible (issue #20) --------------------------------------------------
def test_hidden_steps_are_built_when_opened_and_catch_up(wizard):
    """The Wizard opens on Injections: Results and Safety are built empty and stale, follow
    no change while hidden, and show the current result when opened (issue #20)."""
    assert wizard.stack.selected_index == 1
    for step in (wizard.results, wizard.safety):
        assert step.stale and not step.shown
    assert wizard.results.responder_count.value == ""
    assert wizard.results.periods_table.value == ""
    assert wizard.safety.message.value == ""
    # A 66.67 %, B 33.33 %, C 0 % (module docstring): 2 of 3 above 25 %
    assert responders_1_2(wizard) == "2/3"
    assert not wizard.results.stale
    wizard.go("Settings")
    wizard.state.settings = wizard.state.settings.replace(threshold_pct=50)
    assert wizard.state.last_run == "reclassify"
    # hidden: marked stale, still showing the 25 % counts
    assert wizard.results.stale
    assert "1-2: 2/3" in wizard.results.responder_count.value
    assert responders_1_2(wizard) == "1/3"  # only A above 50 %, once opened


def not_evaluable_tables() -> tuple[pd.DataFrame, pd.DataFrame]:
    """The tiny cohort plus three patients left out by construction (SPEC §3, §5):

    * D: 40, 40, 39 on days 0, 90, 180: run-in rate 0 (no decline before treatment);
    * E: 40, 37 on days 0 and 90 only: no assessment at injection 2 (day 180);
    * F: 40, 41, 39: run-in rate negative (rising score, no decline before treatment).

    Every patient's last assessment is on day 180 or before, the day of injection 2, so
    no one has an assessment 28 days after the last injection (period after-last).
    """
    visits = pd.DataFrame(
        {
            "patient_id": [p for p in "ABCDF" for _ in range(3)] + ["E", "E"],
            "day": [0, 90, 180] * 5 + [0, 90],
            "alsfrs_r_total": [40, 37, 36, 40, 37, 35, 40, 37, 34, 40, 40, 39, 40, 41, 39]
            + [40, 37],
        }
    )
    injections = pd.DataFrame({"patient_id": [p for p in "ABCDEF" for _ in (0, 1)]})
    injections["day"] = [90, 180] * 6
    return visits, injections


def test_not_evaluable_counts_per_reason_and_rows_on_demand():
    """Patients left out of the responder counts: counts per period and reason, and the
    rows of one reason only when asked (issue #20), checked against the cohort's design
    and against the periods table counted by hand."""
    from msc_notebooks.loading import read_study

    step = ResultsStep(WizardState(), figures=False)
    step.state.study = read_study(*not_evaluable_tables())
    periods = step.state.result.periods
    # the rows of the periods table left out (not evaluable or no improvement %), counted
    # one by one by period and reason
    by_hand: dict[tuple[str, str], list[str]] = {}
    for row in periods.itertuples(index=False):
        if row.period == "reference":
            continue
        if not row.evaluable or pd.isna(row.improvement_pct):
            by_hand.setdefault((row.period, row.reason), []).append(row.patient_id)
    flat = "reference rate <= 0"
    no_inj2 = "within 14 days of injection 2"
    no_after = "28 days after the last"

    def ids(period: str, words: str) -> list[str]:
        found = [v for (p, r), v in by_hand.items() if p == period and words in r]
        return sorted(sum(found, []))

    # the design (docstring of not_evaluable_tables)
    assert ids("1-2", flat) == ["D", "F"] and ids("1-2", no_inj2) == ["E"]
    assert ids("whole", flat) == ["D", "F"] and ids("whole", no_inj2) == ["E"]
    assert ids("after-last", no_after) == ["A", "B", "C", "D", "F"]
    assert ids("after-last", no_inj2) == ["E"]
    # the dropdown lists every (period, reason) with its count, nothing else
    options = dict(step.not_evaluable_choice.options)
    assert {v: int(k.rsplit("(", 1)[1].rstrip(")")) for k, v in options.items()} == {
        key: len(v) for key, v in by_hand.items()
    }
    assert "msc-table" in step.not_evaluable_counts.value
    # the rows are built only when asked
    assert step.not_evaluable_rows.frame is None and step.not_evaluable_rows.value == ""
    key = next(k for k in by_hand if k[0] == "1-2" and flat in k[1])
    step.not_evaluable_choice.value = key
    step.not_evaluable_button.click()
    shown = step.not_evaluable_rows.frame
    assert sorted(shown["patient_id"]) == ["D", "F"]
    assert set(shown["period"]) == {"1-2"}
    assert "<td>D</td>" in step.not_evaluable_rows.value
    # a threshold change keeps the choice and the rows (evaluability does not change)
    step.state.settings = step.state.settings.replace(threshold_pct=50)
    assert step.not_evaluable_choice.value == key
    assert sorted(step.not_evaluable_rows.frame["patient_id"]) == ["D", "F"]


def test_periods_table_is_paged():
    """The per-patient table puts one page of rows in the page, and says so (issue #20)."""
    from msc_notebooks.demo import load_demo
    from msc_notebooks.widgets.results_step import PERIODS_PAGE

    step = ResultsStep(WizardState(), figures=False)
    step.state.study = load_demo()
    n = len(step.state.result.periods)
    assert n <= PERIODS_PAGE  # the demo fits on one page: no arrows, no note
    assert step.periods_table.value.count("<tr") == n + 1
    assert step.periods_table.arrows.layout.display == "none"
    step.periods_table.page_size = 40
    step._periods()
    assert step.periods_table.value.count("<tr") == 41
    assert f"rows 1-40 of {n}" in step.periods_table.value
    assert "more rows not shown" in step.periods_table.value  # what the e2e test reads
    step.periods_table.next.click()
    assert f"rows 41-80 of {n}" in step.periods_table.value


def test_responder_figures_are_the_only_ones_a_threshold_changes():
    """charts.RESPONDER_FIGURES: after a threshold change every other figure draws exactly
    the same picture, so the Results step may skip recomputing them (issue #20)."""
    from msc_notebooks import analyze
    from msc_notebooks.analysis import reclassify
    from msc_notebooks.charts import all_figures, responder_figure
    from msc_notebooks.demo import load_demo
    from msc_notebooks.notebook import chart_spec
    from msc_notebooks.widgets.common import figure_fingerprint

    result = analyze(load_demo())

    def prints(r):
        return {n: figure_fingerprint(*chart_spec(c)) for n, c in all_figures(r).items()}

    before, again = prints(result), prints(result)
    after = prints(reclassify(result, threshold_pct=50))
    assert before == again  # the fingerprint is a function of the picture
    assert list(before) == list(after)
    changed = {n for n in before if before[n] != after[n]}
    assert changed and all(responder_figure(n) for n in changed)
    assert {"improvement_1-2", "responders_by_period"} <= changed
    assert any(not responder_figure(n) for n in before)  # the others exist and stayed


def test_stage_tables_kept_across_a_threshold_change_are_the_same():
    """The Results step keeps the clinical stages across threshold changes; recomputed from
    the reclassified result they are identical, and the strata table still follows the
    threshold (SPEC §16)."""
    from msc_notebooks import analyze
    from msc_notebooks.analysis import reclassify
    from msc_notebooks.demo import load_demo
    from msc_notebooks.stages import stage_tables
    from msc_notebooks.strata import stage_and_strata_tables

    result = analyze(load_demo())
    moved = reclassify(result, threshold_pct=50)
    fresh = stage_and_strata_tables(moved)
    kept = stage_and_strata_tables(moved, stages=stage_tables(result))
    assert list(fresh) == list(kept)
    for name in fresh:
        pd.testing.assert_frame_equal(fresh[name], kept[name])
    before = stage_and_strata_tables(result)["strata_summary.csv"]
    assert not before.equals(fresh["strata_summary.csv"])


@pytest.mark.slow
def test_threshold_change_updates_the_same_chart_widgets(jupyter_renderer):
    """Issue #20: a threshold change sends new data into the chart widgets already on the
    page (same objects, still open), only for the figures that changed; the Safety step,
    whose analysis did not change, keeps its figures untouched; unticking "show figures"
    closes the widgets."""
    import json

    from msc_notebooks.charts import responder_figure
    from msc_notebooks.demo import load_demo

    wiz = Wizard(load_demo())
    results, safety = wiz.results, wiz.safety
    # not opened yet: nothing built
    assert results.figure_names == [] and results.figures.outputs == ()
    assert safety.figure_names == [] and safety.figures.outputs == ()
    wiz.go("Safety")
    wiz.go("Results")
    assert "improvement_1-2" in results.figure_names and safety.figure_names
    charts = dict(zip(results.figure_names, results.figures._msc_chart_widgets, strict=True))
    safety_charts = list(safety.figures._msc_chart_widgets)
    for widget in [*charts.values(), *safety_charts]:
        widget.local_tz = "Europe/Paris"  # drawn by a browser
    specs = {n: json.dumps(w.spec, sort_keys=True) for n, w in charts.items()}
    safety_specs = [json.dumps(w.spec, sort_keys=True) for w in safety_charts]
    outputs = results.figures.outputs

    wiz.state.settings = wiz.state.settings.replace(threshold_pct=50)
    assert wiz.state.last_run == "reclassify"
    after = dict(zip(results.figure_names, results.figures._msc_chart_widgets, strict=True))
    assert list(after) == list(charts)
    assert all(after[n] is charts[n] and charts[n].comm is not None for n in charts)
    assert results.figures.outputs is outputs  # the page's views are kept
    changed = {n for n, w in charts.items() if json.dumps(w.spec, sort_keys=True) != specs[n]}
    assert {"improvement_1-2", "responders_by_period"} <= changed
    assert all(responder_figure(n) for n in changed)
    # the new spec draws the new threshold (the dashed rule's data) and not the old one
    rule = json.dumps(charts["improvement_1-2"].spec)
    assert '"threshold_pct": 50.0' in rule and '"threshold_pct": 25.0' not in rule

    wiz.go("Safety")  # stale while hidden; its analysis is the same object: nothing redone
    assert safety.figures._msc_chart_widgets == safety_charts
    assert [json.dumps(w.spec, sort_keys=True) for w in safety_charts] == safety_specs
    wiz.go("Results")
    # an injection edit changes the rates: every figure is recomputed (patient 001's two
    # injections moved, SPEC §2), still into the same widgets
    from msc_notebooks.schedule import set_injections

    specs = {n: json.dumps(w.spec, sort_keys=True) for n, w in charts.items()}
    wiz.state.study = set_injections(wiz.state.study, "001", [16962.0, 17100.0])
    assert wiz.state.last_run in ("patients", "analyze")
    after = dict(zip(results.figure_names, results.figures._msc_chart_widgets, strict=True))
    assert all(after[n] is charts[n] for n in charts if n in after)
    changed = {n for n, w in after.items() if json.dumps(w.spec, sort_keys=True) != specs.get(n)}
    assert "rate_comparison" in changed  # drawn from the rates, not the thresholds
    results.show_figures.value = False
    assert results.figures.outputs == () and results.figure_names == []
    assert all(w.comm is None for w in charts.values())  # closed: their data freed


@pytest.mark.slow
def test_lesson_explorer_updates_its_figures_in_place(jupyter_renderer):
    """The lesson's slider sends new charts into the same two chart widgets (issue #20)."""
    import json

    from msc_notebooks.demo import load_demo
    from msc_notebooks.widgets.lesson import ResponderExplorer

    explorer = ResponderExplorer(load_demo())
    widgets = list(explorer.figures._msc_chart_widgets)
    assert len(widgets) == 2
    for widget in widgets:
        widget.local_tz = "Europe/Paris"  # drawn by a browser
    specs = [json.dumps(w.spec, sort_keys=True) for w in widgets]
    outputs = explorer.figures.outputs
    explorer.threshold.value = 50
    assert explorer.figures._msc_chart_widgets == widgets
    assert all(w.comm is not None for w in widgets) and explorer.figures.outputs is outputs
    assert all(json.dumps(w.spec, sort_keys=True) != t for w, t in zip(widgets, specs, strict=True))
    explorer.window.value = 7  # a rate setting: a new analysis, still the same widgets
    assert explorer.figures._msc_chart_widgets == widgets
