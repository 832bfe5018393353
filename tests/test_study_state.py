"""One study state (issue #19): the Wizard writes study-state.yaml in the study folder;
read_state + restore rebuild what the user saw (a kernel restart, the other notebooks,
``msc-notebooks run``); exports carry the edited schedule and the source file names."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml

from msc_notebooks.export import write_results
from msc_notebooks.projects import new_project
from msc_notebooks.study_state import STATE_FILE, load_problem, read_state, restore
from msc_notebooks.widgets import Wizard

DEMO = Path(__file__).resolve().parents[1] / "msc_notebooks" / "data" / "demo"


@pytest.fixture
def study_folder(tmp_path) -> Path:
    folder = new_project(tmp_path / "study")
    for name in ("visits", "injections", "patients", "adverse_events"):
        shutil.copy(DEMO / f"{name}.csv", folder / "data" / f"{name}.csv")
    return folder


def open_wizard(folder: Path) -> Wizard:
    """What the guided notebook does in a fresh kernel."""
    state = read_state(folder)
    study, settings = restore(state, base_dir=folder)
    return Wizard(study, settings, folder=folder, folder_state=state, figures=False)


def test_wizard_edits_survive_a_restart_and_reach_the_export(study_folder, tmp_path):
    wiz = open_wizard(study_folder)
    assert not (study_folder / STATE_FILE).exists()  # opening writes nothing
    before = wiz.state.study.injections.query("patient_id == '001'").day.tolist()
    moved = [before[0], before[1] + 7, *before[2:]]  # injection 2 one week later
    wiz.injections.set_patient_days("001", moved)
    wiz.settings.controls["threshold_pct"].value = 40
    saved = yaml.safe_load((study_folder / STATE_FILE).read_text("utf-8"))
    assert saved["settings"]["threshold_pct"] == 40
    # calendar data: edits kept as dates (day 0 = 1970-01-01)
    second = (pd.Timestamp("1970-01-01") + pd.Timedelta(days=moved[1])).date().isoformat()
    assert saved["injection_edits"]["001"][1] == second
    assert saved["visits"] == "data/visits.csv"

    # "kernel restart": nothing in memory, only the folder
    again = open_wizard(study_folder)
    days = again.state.study.injections.query("patient_id == '001'").day.tolist()
    assert days == moved
    assert again.state.settings.threshold_pct == 40
    assert again.state.injection_edits == {"001": moved}
    # the responder counts at 40 % follow from the per-patient rows (SPEC section 6)
    result = again.state.result
    per = result.periods[(result.periods.period == "1-2") & result.periods.evaluable]
    row = result.summary.set_index("period").loc["1-2"]
    assert row.n_responders == int((per.improvement_pct > 40).sum())

    files = {p.name: p for p in write_results(result, tmp_path / "out")}
    injections = pd.read_csv(files["injections.csv"], dtype={"patient_id": str})
    assert injections.query("patient_id == '001'").day.tolist() == moved
    settings = (tmp_path / "out" / "settings.json").read_text()
    assert '"visits": "visits.csv"' in settings and "DataFrame" not in settings
    lengths = pd.read_csv(files["interval_lengths.csv"])
    assert lengths.start_date.iloc[0] == str(
        (pd.Timestamp("1970-01-01") + pd.Timedelta(days=lengths.start_day.iloc[0])).date()
    )


def test_a_study_that_does_not_load_opens_the_load_step(study_folder):
    (study_folder / "data" / "visits.csv").write_text(
        "Subject;When;Score\n001;2016-01-01;40\n", "utf-8"
    )
    state = read_state(study_folder)
    with pytest.raises(Exception) as err:
        restore(state, base_dir=study_folder)
    text = load_problem(err.value, state, study_folder)
    assert "Traceback" not in text and "study.yaml" in text and "Wizard" in text
    wiz = Wizard(None, folder=study_folder, folder_state=state, figures=False)
    assert wiz.steps[wiz.stack.selected_index].title == "Load"
    assert wiz.load.source_choice.value == "files"
    assert wiz.load.paths["visits"].value.endswith("data/visits.csv")
    assert set(wiz.load.mapping) >= {"visits", "injections"}  # columns offered to map


def test_report_title_is_the_study_title(tmp_path):
    from msc_notebooks import analyze, load_demo

    write_results(analyze(load_demo()), tmp_path, report=True, title='ALS-MSC "2022" <site>')
    text = (tmp_path / "report.html").read_text("utf-8")
    # the title, escaped, opens the heading (the demo's data are then said to be synthetic)
    assert "<h1>ALS-MSC &quot;2022&quot; &lt;site&gt; (synthetic demo data)</h1>" in text


def test_lab_command_as_root_needs_no_extra_option(monkeypatch):
    import os

    from msc_notebooks import servers

    monkeypatch.setattr(os, "geteuid", lambda: 0)
    assert "--allow-root" in servers.lab_command(".")
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    assert "--allow-root" not in servers.lab_command(".")


@pytest.mark.slow
def test_a_fresh_run_reproduces_the_wizard_state(study_folder):
    """`msc-notebooks run` (run_notebook) reads study-state.yaml like the notebooks do."""
    from msc_notebooks.notebook_runs import run_notebook

    wiz = open_wizard(study_folder)
    wiz.settings.controls["threshold_pct"].value = 40
    result = wiz.state.result
    out = run_notebook(study_folder / "guided.ipynb")
    text = "\n".join(
        "".join(o.get("text", "")) for c in __import__("nbformat").read(out, 4).cells
        for o in c.get("outputs", []) if o.get("output_type") == "stream"
    )  # fmt: skip
    row = result.summary.set_index("period").loc["1-2"]
    assert "responder > 40 %" in text
    assert f"1-2: {int(row.n_responders)}/{int(row.n_evaluable)} responders" in text


def test_load_step_hides_items_when_the_total_is_mapped_and_clears_old_reports(tmp_path):
    from msc_notebooks.widgets import LoadStep

    visits = tmp_path / "v.csv"
    visits.write_text("Patient,day,ALSFRS-R total\nA,0,40\n", "utf-8")
    step = LoadStep()
    step.source_choice.value = "files"
    step.paths["visits"].value = str(visits)
    step.report.value = "<b>an old report</b>"
    step.preview_files()
    assert step.report.value == ""  # no stale report under a new preview or error
    items = [b for b in step.mapping_box.children if "msc-item-map" in b._dom_classes]
    assert len(items) == 1 and items[0].layout.display == "none"  # total mapped: hidden
    step.mapping["visits"]["alsfrs_r_total"].value = ""
    assert items[0].layout.display is None  # no total: the items are needed
    assert step.date_format in step.upload_box.children  # date format on Upload too


def test_no_news_toast_override_is_installed_by_pip(tmp_path):
    """The kit ships a namespaced JupyterLab override (no news question, no update check)."""
    import json
    import tomllib

    from jupyterlab_server.settings_utils import _get_overrides

    root = Path(__file__).resolve().parents[1]
    shared = tomllib.loads((root / "pyproject.toml").read_text("utf-8"))["tool"]["hatch"]["build"][
        "targets"
    ]["wheel"]["shared-data"]
    source = "msc_notebooks/share/jupyter/lab/settings/overrides.d/msc-notebooks.json"
    assert shared[source] == "share/jupyter/lab/settings/overrides.d/msc-notebooks.json"
    # JupyterLab's own reader, on an app-settings folder laid out as pip installs it
    (tmp_path / "overrides.d").mkdir()
    shutil.copy(root / source, tmp_path / "overrides.d" / "msc-notebooks.json")
    overrides, error = _get_overrides(str(tmp_path))
    assert not error
    notification = overrides["@jupyterlab/apputils-extension:notification"]
    assert (
        notification
        == json.loads((root / source).read_text())["@jupyterlab/apputils-extension:notification"]
    )
    assert notification["fetchNews"] == "false" and notification["checkForUpdates"] is False


def test_natural_history_in_study_yaml_words(tmp_path, capsys):
    """``natural_history:`` of study.yaml (SPEC §15): absent or empty = no comparison, said
    plainly; a wrong value, a missing path or an unreadable cohort = an InputError that
    names study.yaml and the key (and quotes the file's own problem)."""
    from msc_notebooks import analyze, load_demo
    from msc_notebooks.errors import InputError
    from msc_notebooks.study_state import NO_NATURAL_HISTORY, matched_controls_for

    folder = new_project(tmp_path / "s", context={"demo": True})
    state = read_state(folder)
    assert state["natural_history"] is None  # the template's default: empty
    (folder / "study.yaml").write_text("demo: true\n", "utf-8")  # an older study.yaml
    assert read_state(folder)["natural_history"] is None
    result = analyze(load_demo())
    assert matched_controls_for(result, state, folder) is None
    assert capsys.readouterr().out.strip() == NO_NATURAL_HISTORY

    def problem(value) -> str:
        with pytest.raises(InputError) as err:
            matched_controls_for(result, {"natural_history": value}, folder)
        text = err.value.render("yaml")
        assert text.startswith("study.yaml, column 'natural_history': "), text
        return text

    assert "not found: " + str(folder / "data" / "proact") in problem("data/proact")
    assert "must be a path or a list of paths, not 5" in problem(5)
    assert "not found" in problem(["data/alsfrs.csv", "data/none.csv"])
    (folder / "data" / "nh.csv").write_text("foo,bar\n1,2\n", "utf-8")  # not a cohort
    text = problem("data/nh.csv")
    assert "could not be used (nh.csv, column 'patient_id': missing required" in text, text
    assert "column_map" not in text  # the trial's column map does not apply here


def test_match_k_and_caliper_in_study_yaml_words(tmp_path, capsys):
    """``match_k`` and ``caliper`` of study.yaml reach the matching (SPEC §15): the same
    comparison as match_controls called with them (caliper 0 = none); a wrong value is an
    InputError naming study.yaml and the key."""
    from msc_notebooks import analyze, load_demo, natural_history_cohort
    from msc_notebooks.errors import InputError
    from msc_notebooks.matched_controls import match_controls
    from msc_notebooks.natural_history import read_natural_history
    from msc_notebooks.study_state import matched_controls_for

    folder = new_project(tmp_path / "s", context={"demo": True})
    assert (read_state(folder)["match_k"], read_state(folder)["caliper"]) == (5, 0.5)
    natural_history_cohort(120, seed=3).visits.drop(columns=["row"], errors="ignore").to_csv(
        folder / "data" / "nh.csv", index=False
    )
    result = analyze(load_demo())
    state = {"natural_history": "data/nh.csv", "match_k": 2, "caliper": 0}
    matched = matched_controls_for(result, state, folder)
    by_hand = match_controls(
        result, read_natural_history(folder / "data" / "nh.csv"), k=2, caliper=None
    )
    pd.testing.assert_frame_equal(matched.summary, by_hand.summary)
    assert "k = 2" in capsys.readouterr().out
    for key, value, words in (
        ("match_k", 0, "match_k must be a whole number of controls, at least 1, not 0"),
        ("match_k", 2.5, "not 2.5"),
        ("caliper", -1, "caliper must be a positive number of standard deviations, not -1"),
        ("caliper", "wide", "not 'wide'"),
    ):
        with pytest.raises(InputError) as err:
            matched_controls_for(result, {**state, key: value}, folder)
        text = err.value.render("yaml")
        assert text.startswith(f"study.yaml, column '{key}': ") and words in text, text
