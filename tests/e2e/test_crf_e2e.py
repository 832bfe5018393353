"""An analyst's own clinic export, in JupyterLab: files into data/, Run All, no edits (#19).

The files look like a case-report-form export: semicolons, decimal commas, day/month/year
dates, CRF column names (``Patient``, ``Visit date``, ``ALSFRS-R total``, ``Injection
date``, ``Onset date``, ``Event``), one empty score and one impossible date (31/02). The
study folder is made by :func:`msc_notebooks.projects.new_project`, its ``study.yaml`` is
left as generated. Run All on ``guided.ipynb`` must: recognise every column and say so,
record the map in ``study-state.yaml``, leave out exactly the two bad rows with their
reasons (rows used + excluded = rows read), show the Wizard and its figures, and print
the responders of the 12 patients; no error, no traceback, nothing from the internet.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
import yaml
from msc_e2e import assert_log_clean

from msc_notebooks.projects import new_project

N_PATIENTS = 12


def write_crf_files(data) -> None:
    """12 patients, 10 monthly visits, injections at months 3 and 6, a few events."""
    visits = ["Patient;Visit date;ALSFRS-R total;FVC %"]
    injections = ["Patient;Injection date"]
    patients = ["Patient;Onset date;Sex"]
    events = ["Patient;Event;Onset date;Severity"]
    for i in range(1, N_PATIENTS + 1):
        pid = f"P{i:02d}"
        start = dt.date(2022, 1, 10) + dt.timedelta(days=7 * i)
        for k in range(10):
            day = start + dt.timedelta(days=30 * k)
            score = round(42 - i % 4 - 0.8 * k + (1.5 if k >= 4 else 0))
            fvc = f"{80 - 1.5 * k:.1f}".replace(".", ",")
            visits.append(f"{pid};{day:%d/%m/%Y};{score};{fvc}")
        for k in (3, 6):
            injections.append(f"{pid};{start + dt.timedelta(days=30 * k + 2):%d/%m/%Y}")
        patients.append(f"{pid};{start - dt.timedelta(days=400):%d/%m/%Y};{'MF'[i % 2]}")
        if i % 3 == 0:
            events.append(f"{pid};headache;{start + dt.timedelta(days=95):%d/%m/%Y};mild")
    visits[5] = visits[5].split(";")[0] + ";" + visits[5].split(";")[1] + ";;79,0"  # empty
    visits[15] = "P02;31/02/2022;40;78,0"  # an impossible date
    for name, lines in (
        ("visits", visits),
        ("injections", injections),
        ("patients", patients),
        ("adverse_events", events),
    ):
        (data / f"{name}.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.mark.browser
def test_crf_files_to_results_with_run_all(lab_server, browser_page):
    study = new_project(lab_server.root / "clinic")
    write_crf_files(study / "data")
    bp = browser_page
    bp.open_lab(lab_server, f"{study.name}/guided.ipynb")
    bp.wait_notebook_ready("guided.ipynb")
    bp.run_all_cells()
    bp.page.locator(".msc-wizard").first.wait_for(state="attached", timeout=120_000)
    bp.wait_figures(1)
    bp.assert_ran_clean()
    text = bp.output_text()
    assert "Columns recognised in visits: Patient -> patient_id, Visit date -> date" in text
    assert "Injection date -> date" in text and "Event -> term" in text
    assert "demo cohort" not in text  # the user's data, not the demo
    # Part 2: one line per period; 12 treated patients, none left out by the two bad rows
    lines = re.findall(r"(1-2|whole): (\d+)/(\d+) responders", text)
    assert lines and all(int(n) == N_PATIENTS for _, _, n in lines), lines
    saved = yaml.safe_load((study / "study-state.yaml").read_text("utf-8"))
    assert saved["column_map"]["injections"] == {"Patient": "patient_id", "Injection date": "date"}
    assert saved["column_map"]["adverse_events"]["Onset date"] == "date"
    # the Wizard's Results step shows the same counts, its figures drawn
    assert bp.check_step_figures("Results", 3) >= 3
    count = bp.page.locator(".msc-wizard .msc-responder-count").first.text_content()
    assert f"/{N_PATIENTS}" in count, count
    bp.screenshot("crf-results")
    bp.requests.assert_local()
    bp.assert_no_js_errors()
    assert_log_clean(lab_server)


def test_crf_files_are_read_as_shown(tmp_path):
    """The same files read in Python: the two bad rows excluded with their reasons."""
    from msc_notebooks.study_state import read_state, restore

    study_dir = new_project(tmp_path / "clinic")
    write_crf_files(study_dir / "data")
    study, _ = restore(read_state(study_dir), base_dir=study_dir)
    ledger = study.ledger.set_index("table")
    assert ledger.loc["visits"].tolist() == [N_PATIENTS * 10, N_PATIENTS * 10 - 2, 2]
    reasons = dict(zip(study.exclusions["row"], study.exclusions["reason"], strict=True))
    assert reasons[6] == "no ALSFRS-R total or items"  # file row 6: the empty score
    assert "date" in reasons[16]  # file row 16: 31/02/2022
    assert study.visits["fvc_pct"].iloc[1] == 78.5  # "78,5": decimal comma
