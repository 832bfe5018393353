"""Notebook templates (issue #6): rendering with real cookiecutter, hostile values, stored
notebooks, generated files (yaml, git ignore rules, Binder), the JupyterLab Launcher
configuration, and every generated notebook executed headless on the demo cohort.

Responder counts asserted here are the demo cohort's design figures, which reproduce the
published ones (SPEC "Reference figures"): 15/19 responders between injections 1 and 2,
11/12 between 2 and 3, 8/10 between 3 and 4, 13/19 over the whole period.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
import zipfile
from pathlib import Path

import nbformat
import pytest
import yaml

from msc_notebooks.errors import InputError, MscError, SettingsError
from msc_notebooks.projects import (
    TEMPLATES,
    load_project_study,
    new_project,
    read_project_config,
    template_defaults,
    templates_dir,
)

REPO = Path(__file__).resolve().parents[1]
TEMPLATE_ROOT = REPO / "templates"
NOTEBOOKS = {
    "msc-study": [
        "guided.ipynb",
        "01_data.ipynb",
        "02_injections.ipynb",
        "03_progression.ipynb",
        "04_safety.ipynb",
        "05_report.ipynb",
    ],
    "msc-teaching": ["lesson.ipynb"],
}
LAUNCHER_TITLES = {
    "MSC study - guided analysis": "guided.ipynb",
    "MSC study - 1 data": "01_data.ipynb",
    "MSC study - 2 injections": "02_injections.ipynb",
    "MSC study - 3 progression": "03_progression.ipynb",
    "MSC study - 4 safety": "04_safety.ipynb",
    "MSC study - 5 report": "05_report.ipynb",
    "MSC teaching - lesson": "lesson.ipynb",
}
HOSTILE = [
    "Étude ALS – «ß»",
    "Trial: phase II # open-label",
    'He said "stop" \\ C:\\data\\new.csv',
    "{{ cookiecutter.study_title }} {% raw %} {# x #} }}",
    "it's <b>&amp;</b> - [x] ? * & ! | > @ `",
    "null",
    "yes",
    "line one\nline two\n",
    "emoji \U0001f9ea and a lone-looking \\ud83d escape",
]


def template_folder(template: str) -> Path:
    return TEMPLATE_ROOT / template / "{{cookiecutter._folder_name}}"


def text_files(folder: Path):
    for path in sorted(folder.rglob("*")):
        if path.is_file() and path.suffix != ".ipynb":
            yield path


def code_outputs(nb) -> str:
    """All text a notebook printed or displayed as text/plain, in order."""
    parts = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        for out in cell.get("outputs", []):
            if out.output_type == "stream":
                parts.append(out.text)
            elif out.output_type in ("execute_result", "display_data"):
                parts.append(out.get("data", {}).get("text/plain", ""))
            elif out.output_type == "error":
                parts.append(f"{out.ename}: {out.evalue}")
    return "\n".join(parts)


# ------------------------------------------------------------------ stored templates
@pytest.mark.parametrize("template", TEMPLATES)
def test_templates_are_found_and_listed(template):
    assert templates_dir() == TEMPLATE_ROOT  # editable install / source checkout
    names = sorted(p.name for p in template_folder(template).glob("*.ipynb"))
    assert names == sorted(NOTEBOOKS[template])


@pytest.mark.parametrize(
    "notebook", [template_folder(t) / n for t, ns in NOTEBOOKS.items() for n in ns], ids=str
)
def test_stored_notebook_is_clean(notebook):
    nb = nbformat.read(notebook, as_version=4)
    nbformat.validate(nb)
    assert nb.nbformat == 4 and nb.nbformat_minor >= 5  # cell ids
    ids = [cell.id for cell in nb.cells]
    assert all(ids) and len(set(ids)) == len(ids)
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, "exactly one cell tagged 'parameters' (papermill)"
    assert "renderer = None" in tagged[0].source
    for cell in nb.cells:
        # no Jinja in notebooks: values come from study.yaml / lesson.yaml at run time
        assert "{{" not in cell.source and "{%" not in cell.source
        assert "cookiecutter" not in cell.source
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None
            compile(cell.source, str(notebook), "exec")
    assert nb.metadata.kernelspec.name == "python3"


def test_notebooks_are_copied_without_rendering():
    for template in TEMPLATES:
        cfg = json.loads((TEMPLATE_ROOT / template / "cookiecutter.json").read_text("utf-8"))
        assert cfg["_copy_without_render"] == ["*.ipynb"]


def test_template_defaults_match_settings_defaults():
    # SPEC §4–6 defaults: run-in reference, endpoints method, 25 % threshold
    from msc_notebooks.settings import Settings

    d = template_defaults("msc-study")
    s = Settings()
    assert (d["threshold_pct"], d["reference"], d["method"]) == (
        s.threshold_pct,
        s.reference,
        s.method,
    )
    assert template_defaults("msc-teaching")["threshold_pct"] == 25


# ------------------------------------------------------------------------ rendering
def check_rendered(project: Path, template: str, value: str = "") -> None:
    """Nothing left unrendered; notebooks copied byte for byte; yaml parses.

    ``value`` (a hostile value given on purpose) is removed before looking for leftovers.
    """
    source = template_folder(template)
    for path in text_files(project):
        text = path.read_text("utf-8")
        if value:
            text = text.replace(value, "")
        assert "cookiecutter." not in text, path
    for name in NOTEBOOKS[template]:
        assert (project / name).read_bytes() == (source / name).read_bytes()
        nbformat.validate(nbformat.read(project / name, as_version=4))
    config_name = "study.yaml" if template == "msc-study" else "lesson.yaml"
    assert isinstance(yaml.safe_load((project / config_name).read_text("utf-8")), dict)


@pytest.mark.parametrize("reference", ["run-in", "onset"])
@pytest.mark.parametrize("method", ["endpoints", "ols"])
def test_render_study_options(tmp_path, reference, method):
    context = {
        "reference": reference,
        "method": method,
        "threshold_pct": "30.5",
        "date_format": "%d/%m/%Y",
        "visits": "data/alsfrs.xlsx",
    }
    project = new_project(tmp_path / "s", context=context)
    assert project == tmp_path / "s"
    check_rendered(project, "msc-study")
    cfg = yaml.safe_load((project / "study.yaml").read_text("utf-8"))
    assert (cfg["reference"], cfg["method"], cfg["date_format"]) == (reference, method, "%d/%m/%Y")
    assert cfg["visits"] == "data/alsfrs.xlsx"
    read = read_project_config(project / "study.yaml")
    assert read["threshold_pct"] == 30.5 and read["column_map"] == {}
    assert "{{" not in (project / "README.md").read_text("utf-8")


@pytest.mark.parametrize("template", TEMPLATES)
def test_render_defaults(tmp_path, template):
    project = new_project(tmp_path / "p", template=template)
    check_rendered(project, template)
    config_name = "study.yaml" if template == "msc-study" else "lesson.yaml"
    read = read_project_config(project / config_name)
    for key, value in template_defaults(template).items():
        # an empty optional path or date format reads as None (read_project_config)
        empty_is_none = key in ("date_format", "natural_history") and value == ""
        expected = None if empty_is_none else value
        assert read[key] == expected, key


def test_render_teaching_options(tmp_path):
    project = new_project(
        tmp_path / "l",
        template="msc-teaching",
        context={"lesson_title": "ALS 101", "threshold_pct": 40, "n_simulations": "200"},
    )
    check_rendered(project, "msc-teaching")
    read = read_project_config(project / "lesson.yaml")
    assert (read["lesson_title"], read["threshold_pct"], read["n_simulations"]) == (
        "ALS 101",
        40,
        200,
    )


@pytest.mark.parametrize("value", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_values_survive(tmp_path, value):
    project = new_project(
        tmp_path / "h",
        context={"study_title": value, "investigator": value, "patients": value},
    )
    check_rendered(project, "msc-study", value)
    raw = yaml.safe_load((project / "study.yaml").read_text("utf-8"))
    assert raw["study_title"] == value  # exactly, as written by any YAML reader
    assert raw["investigator"] == value and raw["patients"] == value
    assert read_project_config(project / "study.yaml")["study_title"] == value
    lesson = new_project(tmp_path / "t", template="msc-teaching", context={"lesson_title": value})
    check_rendered(lesson, "msc-teaching", value)
    assert yaml.safe_load((lesson / "lesson.yaml").read_text("utf-8"))["lesson_title"] == value


def test_hostile_folder_name(tmp_path):
    name = "Étude {{ x }} «ß» 'q'"
    project = new_project(tmp_path / name)
    assert project == tmp_path / name and (project / "study.yaml").is_file()


@pytest.mark.parametrize(
    "context, message",
    [
        ({"titel": "x"}, "unknown template variable(s) titel"),
        ({"reference": "baseline"}, "reference must be one of 'run-in', 'onset'"),
        ({"method": "slope"}, "method must be one of 'endpoints', 'ols'"),
        ({"threshold_pct": "a lot"}, "threshold_pct must be a number"),
    ],
)
def test_bad_context_is_refused_before_writing(tmp_path, context, message):
    with pytest.raises(SettingsError, match=re.escape(message)):
        new_project(tmp_path / "bad", context=context)
    assert not (tmp_path / "bad").exists()


def test_existing_folder_and_unknown_template(tmp_path):
    (tmp_path / "there").mkdir()
    with pytest.raises(MscError, match="already exists"):
        new_project(tmp_path / "there")
    with pytest.raises(SettingsError, match="unknown template 'msc-x'"):
        new_project(tmp_path / "new", template="msc-x")


# ------------------------------------------------------------------ generated files
def test_gitignore_keeps_data_and_outputs_out_of_git(tmp_path):
    project = new_project(tmp_path / "g")
    for name in ["data/visits.csv", "data/sub/x.xlsx", "05_report.executed.ipynb", "results/a.csv"]:
        (project / name).parent.mkdir(parents=True, exist_ok=True)
        (project / name).write_text("x", "utf-8")
    subprocess.run(["git", "init", "-q"], cwd=project, check=True)
    ignored = subprocess.run(
        ["git", "check-ignore", "--no-index", "data/visits.csv", "data/sub/x.xlsx",
         "05_report.executed.ipynb", "results/a.csv", "data/README.md", "study.yaml",
         "guided.ipynb"],
        cwd=project, capture_output=True, text=True,
    ).stdout.split()  # fmt: skip
    assert ignored == [
        "data/visits.csv",
        "data/sub/x.xlsx",
        "05_report.executed.ipynb",
        "results/a.csv",
    ]


@pytest.mark.parametrize("template", TEMPLATES)
def test_binder_files(tmp_path, template):
    from msc_notebooks import __version__

    project = new_project(tmp_path / "b", template=template)
    binder = project / "binder"
    assert (binder / "runtime.txt").read_text().strip() == "python-3.12"
    reqs = [
        line
        for line in (binder / "requirements.txt").read_text().splitlines()
        if line and not line.startswith("#")
    ]
    assert reqs == [f"msc-notebooks=={__version__}"]
    post = binder / "postBuild"
    assert os.access(post, os.X_OK)
    lines = post.read_text().splitlines()
    assert lines[0] == "#!/bin/bash" and "set -e" in lines
    # run it for real, with a prefix of our own
    prefix = tmp_path / "prefix"
    env = {**os.environ, "NB_PYTHON_PREFIX": str(prefix)}
    subprocess.run([str(post)], cwd=project, env=env, check=True)
    overrides = json.loads((prefix / "share/jupyter/lab/settings/overrides.json").read_text())
    assert overrides == {
        "@jupyterlab/apputils-extension:notification": {
            "fetchNews": "false",
            "checkForUpdates": False,
        }
    }


# --------------------------------------------------------------- notebook helpers
def test_read_project_config_without_file(tmp_path, capsys):
    cfg = read_project_config(tmp_path / "study.yaml")
    assert "No study.yaml in this folder" in capsys.readouterr().out
    assert cfg["visits"] == "data/visits.csv" and cfg["threshold_pct"] == 25
    lesson = read_project_config(tmp_path / "lesson.yaml")
    assert lesson["n_simulations"] == 1000 and "visits" not in lesson


@pytest.mark.parametrize("template", TEMPLATES)
def test_read_project_config_in_template_folder(template, capsys):
    """A template notebook run in place (Voilà default, nbmake) reads the defaults."""
    name = "study.yaml" if template == "msc-study" else "lesson.yaml"
    cfg = read_project_config(template_folder(template) / name)
    assert "is an unrendered template" in capsys.readouterr().out
    assert cfg["threshold_pct"] == 25


def test_read_project_config_errors(tmp_path):
    bad = tmp_path / "study.yaml"
    bad.write_text("threshold_pct: [1, 2\n", "utf-8")
    with pytest.raises(MscError, match="not valid YAML"):
        read_project_config(bad)
    bad.write_text("- a list\n", "utf-8")
    with pytest.raises(MscError, match="must hold 'name: value' lines"):
        read_project_config(bad)
    bad.write_text("threshold_pct: many\n", "utf-8")
    with pytest.raises(SettingsError, match="threshold_pct must be a number, not 'many'"):
        read_project_config(bad)


def test_load_project_study_missing_files_is_an_error(tmp_path):
    # issue #14: wrong data paths never silently analyse the demo cohort
    (tmp_path / "study.yaml").write_text("demo: false\n", "utf-8")  # a study folder
    with pytest.raises(InputError) as err:
        load_project_study("data/visits.csv", "data/injections.csv", base_dir=tmp_path)
    text = str(err.value)
    assert "data file(s) not found: data/visits.csv, data/injections.csv" in text
    assert "study.yaml" in text and "demo: true" in text


def test_load_project_study_demo_only_when_asked(tmp_path, capsys):
    study = load_project_study(
        "data/visits.csv", "data/injections.csv", base_dir=tmp_path, demo=True
    )
    out = capsys.readouterr().out
    assert "Data files not found (data/visits.csv, data/injections.csv)" in out
    assert "SYNTHETIC demo cohort" in out
    # the demo: 20 enrolled, 19 treated (SPEC "Reference figures")
    assert len(study.patients) == 20 and study.injections.patient_id.nunique() == 19


def test_load_project_study_reads_real_files(tmp_path, capsys):
    from msc_notebooks.demo import demo_paths

    data = tmp_path / "data"
    data.mkdir()
    for name, path in demo_paths().items():
        shutil.copy(path, data / f"{name}.csv")
    study = load_project_study(
        "data/visits.csv",
        "data/injections.csv",
        "data/patients.csv",
        "data/missing_events.csv",
        base_dir=tmp_path,
    )
    out = capsys.readouterr().out
    assert "No adverse_events file at data/missing_events.csv" in out
    assert "Data read from: data/visits.csv, data/injections.csv, data/patients.csv" in out
    assert study.adverse_events is None or len(study.adverse_events) == 0
    assert study.injections.patient_id.nunique() == 19


# ------------------------------------------------------------------------ launcher
def launcher_yaml() -> Path:
    from jupyter_core.paths import jupyter_path

    found = [
        Path(p) / "jp_app_launcher_msc_notebooks.yaml"
        for p in jupyter_path("jupyter_app_launcher")
        if (Path(p) / "jp_app_launcher_msc_notebooks.yaml").is_file()
    ]
    assert found, "run `pip install -e .` so that shared data are installed"
    return found[0]


def test_launcher_config_is_installed_and_valid():
    from jupyter_app_launcher.utils import parse_config

    path = launcher_yaml()
    assert path.parent == Path(sys.prefix) / "share/jupyter/jupyter_app_launcher"
    # the installed copy is the repository's
    assert (
        path.read_bytes()
        == (REPO / "msc_notebooks/launcher/jp_app_launcher_msc_notebooks.yaml").read_bytes()
    )
    items = parse_config(str(path.parent), str(path))  # jupyter-app-launcher's own reader
    assert {i["title"]: Path(i["source"]).name for i in items} == LAUNCHER_TITLES
    for item in items:
        assert item["type"] == "notebook" and item["catalog"] == "MSC notebooks"
        source = Path(item["source"])
        assert source.is_file()
        template = "msc-teaching" if source.name == "lesson.ipynb" else "msc-study"
        # the installed notebook is the template's, unchanged
        assert source.read_bytes() == (template_folder(template) / source.name).read_bytes()
        assert json.loads(item["sourceCode"])["cells"]


def test_launcher_titles_are_file_names_on_every_system():
    """A card saves "<title>.ipynb": no character Windows refuses in a file name (#19)."""
    text = (REPO / "msc_notebooks/launcher/jp_app_launcher_msc_notebooks.yaml").read_text("utf-8")
    titles = [i["title"] for i in yaml.safe_load(text)]
    assert sorted(titles) == sorted(LAUNCHER_TITLES)
    for title in titles:
        assert not set(title) & set('<>:"/\\|?*'), title
        assert title == title.strip() and not title.endswith(".")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url: str, proc: subprocess.Popen, log: Path, timeout: float = 90) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            urllib.request.urlopen(url, timeout=3)
            return
        except Exception:
            if proc.poll() is not None:
                raise RuntimeError(log.read_text()) from None
            time.sleep(0.3)
    raise RuntimeError(f"{url} did not answer:\n{log.read_text()}")


@pytest.mark.slow
def test_launcher_cards_served_by_jupyter(tmp_path):
    """A real server's jupyter-app-launcher API lists our cards with their notebooks."""
    port, token = free_port(), "launcher-test"
    log = tmp_path / "server.log"
    cmd = [
        sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root", f"--port={port}",
        "--ServerApp.port_retries=0", "--ip=127.0.0.1", f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={tmp_path}",
    ]  # fmt: skip
    with log.open("w") as fh:
        proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, cwd=tmp_path)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_for(f"{base}/api/status?token={token}", proc, log)
        request = urllib.request.Request(
            f"{base}/jupyterlab-app-launcher",
            data=json.dumps({"method": "init_launcher"}).encode(),
            headers={"Authorization": f"token {token}", "Content-Type": "application/json"},
            method="POST",
        )
        cards = json.load(urllib.request.urlopen(request, timeout=30))
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
    ours = {c["title"]: c for c in cards if c.get("catalog") == "MSC notebooks"}
    assert set(ours) == set(LAUNCHER_TITLES)
    lesson = json.loads(ours["MSC teaching - lesson"]["sourceCode"])
    assert any("parameters" in c["metadata"].get("tags", []) for c in lesson["cells"])


@pytest.mark.slow
def test_wheel_ships_templates_and_launcher(tmp_path):
    """Build the wheel for real: templates inside the package, launcher as shared data."""
    out = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(REPO)],
        check=True,
        capture_output=True,
    )
    (wheel,) = out.glob("msc_notebooks-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    data = "msc_notebooks-0.1.0.data/data/share/jupyter/jupyter_app_launcher/"
    assert data + "jp_app_launcher_msc_notebooks.yaml" in names
    for nb in LAUNCHER_TITLES.values():
        assert data + "msc_notebooks/" + nb in names
    for template in TEMPLATES:
        assert f"msc_notebooks/templates/{template}/cookiecutter.json" in names
        for nb in NOTEBOOKS[template]:
            assert (
                f"msc_notebooks/templates/{template}/{{{{cookiecutter._folder_name}}}}/{nb}"
                in names
            )
    # the unpacked wheel finds its own templates and renders a project
    unpacked = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(unpacked)
    code = (
        "import sys; from msc_notebooks.projects import templates_dir, new_project;"
        "print(templates_dir()); print(new_project(sys.argv[1]))"
    )
    res = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "from_wheel")],
        env={**os.environ, "PYTHONPATH": str(unpacked)},
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
    )
    assert res.stdout.splitlines()[0] == str(unpacked / "msc_notebooks" / "templates")
    assert (tmp_path / "from_wheel" / "guided.ipynb").is_file()


# -------------------------------------------------------- execution on the demo cohort
def execute(path: Path, timeout: int = 600):
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    )
    client.execute()
    return nb


@pytest.fixture(scope="module")
def study_project(tmp_path_factory):
    return new_project(tmp_path_factory.mktemp("exec") / "study", context={"demo": True})


@pytest.mark.slow
@pytest.mark.parametrize("name", NOTEBOOKS["msc-study"])
def test_study_notebook_runs_on_demo(study_project, name):
    nb = execute(study_project / name)
    text = code_outputs(nb)
    assert "analysing the bundled SYNTHETIC demo cohort" in text
    assert "Settings: reference run-in, method endpoints, responder > 25 %" in text
    if name == "guided.ipynb":
        assert "15/19" in text
    if name in ("03_progression.ipynb", "05_report.ipynb"):
        # SPEC "Reference figures", reproduced by the demo cohort; who was left out (§7)
        assert "1-2: 15/19 evaluable responders; all 19 treated evaluable" in text
        assert "2-3: 11/12 evaluable responders" in text
        assert "3-4: 8/10 evaluable responders" in text
        assert "whole: 13/19 evaluable responders" in text
    if name == "03_progression.ipynb":  # SPEC §14, the model-based slopes
        assert "Broken-stick mixed model" in text and "19 patients" in text
        from msc_notebooks.study_state import NO_NATURAL_HISTORY

        assert NO_NATURAL_HISTORY in text  # no natural_history: in study.yaml, said plainly
    if name == "05_report.ipynb":
        assert (study_project / "results").is_dir() and any((study_project / "results").iterdir())
    if name == "04_safety.ipynb":
        assert "serious" in text.lower()


@pytest.mark.slow
def test_study_notebook_reads_data_folder(tmp_path):
    from msc_notebooks.demo import demo_paths

    project = new_project(tmp_path / "withdata", context={"threshold_pct": 25})
    for name, path in demo_paths().items():
        shutil.copy(path, project / "data" / f"{name}.csv")
    text = code_outputs(execute(project / "03_progression.ipynb"))
    assert "Data read from: data/visits.csv, data/injections.csv" in text
    assert "demo cohort" not in text
    assert "1-2: 15/19 evaluable responders" in text


def html_table_rows(page: str) -> list[dict[str, str]]:
    """The rows of the one pandas HTML table in ``page``: header -> cell text."""
    rows = [
        [
            re.sub(r"<[^>]+>", "", c).strip()
            for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", r, re.S)
        ]
        for r in re.findall(r"<tr[^>]*>(.*?)</tr>", page, re.S)
    ]
    head = rows[0][1:]  # the index column has no header
    return [dict(zip(head, r[1:], strict=True)) for r in rows[1:]]


@pytest.mark.slow
def test_progression_notebook_compares_with_matched_natural_history(tmp_path):
    """study.yaml names a natural-history cohort (PRO-ACT files in data/proact): Run All of
    03_progression.ipynb shows the matched comparison (SPEC §15), its sentence and per-period
    table equal to the matching and pooled rates recomputed by hand."""
    from matched_cohorts import match_by_hand, pooled_by_hand, write_proact

    from msc_notebooks import analyze, load_demo, natural_history_cohort
    from msc_notebooks.matched_controls import candidate_anchors, treated_baseline
    from msc_notebooks.natural_history import read_natural_history

    project = new_project(tmp_path / "nh", context={"demo": True, "natural_history": "data/proact"})
    write_proact(natural_history_cohort(150, seed=7, items=False), project / "data" / "proact")
    nb = execute(project / "03_progression.ipynb")
    text = code_outputs(nb)
    # by hand: the demo trial (19 treated) against the 150 untreated patients written
    result = analyze(load_demo())
    nh = read_natural_history(project / "data" / "proact")
    anchors = candidate_anchors(nh, result.settings)
    pairs, unmatched = match_by_hand(treated_baseline(result), anchors, 5, 0.5)
    assert (
        f"{pairs.treated_id.nunique()} of 19 treated patients matched to {len(pairs)} controls "
        f"(k = 5, caliper 0.5 SD) from {anchors.patient_id.nunique()} untreated patients with "
        f"a candidate anchor (of 150); {len(unmatched)} unmatched." in text
    ), text
    (cell,) = [c for c in nb.cells if "matched_controls_for(" in c.source]
    (shown,) = [o for o in cell.outputs if o.output_type == "execute_result"]
    rows = {r["period"]: r for r in html_table_rows(shown.data["text/html"])}
    expected = pooled_by_hand(result, nh, pairs)
    assert set(rows) == set(expected)
    for period, want in expected.items():
        for col, value in want.items():
            assert float(rows[period][col]) == pytest.approx(value, abs=1e-4, nan_ok=True), (
                period,
                col,
            )
    assert "No natural-history cohort" not in text


def lesson_arithmetic(text: str) -> None:
    """Redo by hand every piece of arithmetic the lesson prints (SPEC §2, §6)."""
    month = 365.25 / 12  # SPEC §2
    months = re.findall(r"months = \(([-\d.]+) - ([-\d.]+)\) days / ([\d.]+) = ([\d.]+)", text)
    assert len(months) == 2
    for end, start, m_days, m in months:
        assert float(m_days) == pytest.approx(month)
        assert (float(end) - float(start)) / month == pytest.approx(float(m), abs=6e-4)
    rates = re.findall(
        r"rate = \(([-\d.]+) - ([-\d.]+)\) / ([\d.]+) = ([-\d.]+) points/month", text
    )
    assert len(rates) == 2
    for a, b, m, r in rates:
        assert (float(a) - float(b)) / float(m) == pytest.approx(float(r), abs=2e-3)
    (imp,) = re.findall(
        r"improvement = 100 x \(([-\d.]+) - ([-\d.]+)\) / ([-\d.]+) = ([-\d.]+) %", text
    )
    ref, per, ref2, pct = map(float, imp)
    assert ref == ref2 == pytest.approx(float(rates[0][3]), abs=1e-3)
    assert per == pytest.approx(float(rates[1][3]), abs=1e-3)
    assert 100 * (ref - per) / ref == pytest.approx(pct, abs=0.2)
    responder = re.search(r"relative responder \(improvement > 25 %\): (True|False)", text)
    assert responder and (responder.group(1) == "True") == (pct > 25)


def widget_texts(nb) -> str:
    """Every text value of the widgets a notebook executed headless left in its state."""
    state = (
        nb.metadata.get("widgets", {})
        .get("application/vnd.jupyter.widget-state+json", {})
        .get("state", {})
    )
    return "\n".join(
        str(m["state"].get("value", ""))
        for m in state.values()
        if isinstance(m.get("state", {}).get("value"), str)
    )


@pytest.mark.slow
def test_lesson_runs_clean_with_its_widgets(tmp_path):
    """Run All on the lesson: no error; arithmetic redone by hand; the widgets' words."""
    project = new_project(
        tmp_path / "lesson", template="msc-teaching", context={"n_simulations": 100}
    )
    nb = execute(project / "lesson.ipynb")
    text = code_outputs(nb)
    assert "Error" not in text and "Traceback" not in text, text[-2000:]
    lesson_arithmetic(text)
    shown = widget_texts(nb)
    # the explorer's count line for period 1-2 at 25 % (README: 15/19 on the demo cohort)
    assert "1-2: 15 of 19 evaluable patients improved by more than 25 % (responders)" in shown
    # the no-effect section read in words, period by period
    assert "Period 1-2: 15 of 19 patients were responders" in shown
    # exercises: questions shown, no solution in any code cell's source
    assert "Exercise 1." in shown
    # section 7, matched controls (methods §15): every treated demo patient accounted for,
    # each printed difference is treated minus controls (whole percents, rounding +-1)
    assert "of 19 treated patients matched to" in text
    lines = re.findall(
        r"treated (\d+) % vs matched controls (\d+) %: difference ([-+]\d+) points", text
    )
    assert lines
    for treated, controls, diff in lines:
        assert abs(int(treated) - int(controls) - int(diff)) <= 1
    assert "Exercise 4." in shown  # answered with buttons, not in code
    sources = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    assert "77.8" not in sources and "assert" not in sources
    # the no-effect expectation in one sentence with its assumptions (issue #13), the
    # simulated denominator beside the observed one (null_model.no_effect_sentence)
    assert "With no treatment effect and the natural variation of ALS decline" in shown
    assert re.search(r"\(period 1-2: 19 evaluable here, \d+\.\d on average in the simulated", shown)


def test_lesson_widgets_follow_the_slider_and_check_answers():
    """The explorer's counts and the exercises, checked against counts made by hand."""
    from msc_notebooks import analyze, load_demo
    from msc_notebooks.teaching import lesson_exercises
    from msc_notebooks.widgets.lesson import ExerciseBox, ResponderExplorer

    explorer = ResponderExplorer(load_demo(), figures=False)
    periods = explorer.result.periods
    one_two = periods[(periods["period"] == "1-2") & periods["evaluable"]]
    for threshold in (25, 50, 90):
        explorer.threshold.value = threshold
        # SPEC section 6: responder = improvement > threshold, among evaluable patients
        by_hand = int((one_two["improvement_pct"] > threshold).sum())
        assert f"1-2: {by_hand} of {len(one_two)} evaluable" in explorer.counts.value
    explorer.reference.value = "onset"  # needs onset dates: the demo has them
    assert explorer.result.settings.reference == "onset" and explorer.message.value == ""

    result = analyze(load_demo())
    improvement, responder, at_50 = (ExerciseBox(e, i) for i, e in enumerate(
        lesson_exercises(result), start=1))  # fmt: skip
    # exercise 1 by hand: (40-34)/4 = 1.5, (34-33)/3 = 0.333 points/month;
    # 100 x (1.5 - 0.333) / 1.5 = 77.8 %
    for answer, ok in (("", False), ("abc", False), ("22.2", False), ("77,8", True)):
        improvement.answer.value = answer
        improvement.check.click()
        assert improvement.correct is ok, answer
        assert "Traceback" not in improvement.feedback.value
    assert improvement.solution.layout.display == "none"
    improvement.reveal.click()
    assert improvement.solution.layout.display is None
    assert "77.8 %" in improvement.solution.value
    responder.answer.value = "No"
    responder.check.click()
    assert responder.correct is False and "Not quite" in responder.feedback.value
    by_hand_50 = int((one_two["improvement_pct"] > 50).sum())
    at_50.answer.value = str(by_hand_50)
    at_50.check.click()
    assert at_50.correct is True


@pytest.mark.slow
def test_notebook_copied_by_launcher_runs_anywhere(tmp_path):
    """A card's copy lands in any folder, without study.yaml: it still runs (demo)."""
    from jupyter_app_launcher.utils import parse_config

    path = launcher_yaml()
    items = {i["title"]: i for i in parse_config(str(path.parent), str(path))}
    target = tmp_path / "MSC study - guided analysis.ipynb"
    target.write_text(items["MSC study - guided analysis"]["sourceCode"], "utf-8")
    text = code_outputs(execute(target))
    assert "No study.yaml in this folder" in text
    assert "No study: the bundled synthetic demo cohort is analysed" in text
    # "evaluable responders" once the installed Launcher copies are rebuilt (pip install)
    assert re.search(r"1-2: 15/19 (evaluable )?responders", text)
