"""The command line over msc_notebooks.projects (issue #6): every option reaches its
function (each call made both ways, results compared), errors give exit status 2 and a
message on stderr, and lab / app start real servers with offline-safe settings.
"""

from __future__ import annotations

import argparse
import filecmp
import json
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

from msc_notebooks.cli import build_parser, main
from msc_notebooks.errors import MscError
from msc_notebooks.notebook_runs import notebook_parameters, run_notebook
from msc_notebooks.projects import new_project, templates_dir
from msc_notebooks.servers import app_command, lab_command, start_lab, stop


def cli(argv: list[str]) -> int:
    """Run the command line in-process."""
    try:
        return main(argv) or 0
    except SystemExit as exit_:
        return int(exit_.code or 0)


def cli_command() -> list[str]:
    """The command line as a separate process."""
    return [sys.executable, "-m", "msc_notebooks.cli"]


def same_tree(a: Path, b: Path) -> None:
    files_a = sorted(p.relative_to(a) for p in a.rglob("*"))
    files_b = sorted(p.relative_to(b) for p in b.rglob("*"))
    assert files_a == files_b
    for rel in files_a:
        if (a / rel).is_file():
            assert filecmp.cmp(a / rel, b / rel, shallow=False), rel


def outputs(path: Path) -> str:
    nb = nbformat.read(path, as_version=4)
    return "".join(
        o.get("text", "")
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.outputs
        if o.output_type == "stream"
    )


# ------------------------------------------------------------------------------ new
@pytest.mark.parametrize(
    "template, context",
    [
        ("msc-study", {}),
        (
            "msc-study",
            {
                "study_title": 'Étude ALS – «ß» "x" {{ y }} : #',
                "threshold_pct": "30",
                "reference": "onset",
                "method": "ols",
                "visits": "C:\\data\\v.csv",
            },
        ),
        ("msc-teaching", {"lesson_title": "Lesson: one", "n_simulations": "50"}),
    ],
)
def test_new_parity(tmp_path, template, context):
    by_function = new_project(tmp_path / "f" / "proj", template=template, context=context)
    argv = ["new", str(tmp_path / "c" / "proj"), "--template", template, "--no-input"]
    argv += [f"{k}={v}" for k, v in context.items()]
    assert cli(argv) == 0
    same_tree(by_function, tmp_path / "c" / "proj")
    # and as a separate process, as a user types it
    done = subprocess.run(
        [*cli_command(), *argv[:1], str(tmp_path / "p" / "proj"), *argv[2:]],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert f"Created {tmp_path / 'p' / 'proj'}" in done.stdout
    same_tree(by_function, tmp_path / "p" / "proj")


@pytest.mark.parametrize(
    "order",
    [
        ["DEST", "--template", "msc-teaching", "lesson_title=A b", "--no-input"],
        ["--template", "msc-teaching", "DEST", "lesson_title=A b"],
        ["DEST", "lesson_title=A b", "--template", "msc-teaching"],
        ["--no-input", "DEST", "lesson_title=A b", "--template=msc-teaching"],
    ],
)
def test_new_options_in_any_order(tmp_path, order):
    by_function = new_project(tmp_path / "f", "msc-teaching", {"lesson_title": "A b"})
    dest = tmp_path / "c"
    assert cli(["new", *[str(dest) if a == "DEST" else a for a in order]]) == 0
    same_tree(by_function, dest)


@pytest.mark.parametrize(
    "extra, message",
    [
        (["colour=blue"], "unknown template variable(s) colour"),
        (["reference=baseline"], "reference must be one of 'run-in', 'onset', not 'baseline'"),
        (["threshold_pct=high"], "threshold_pct must be a number, not 'high'"),
        (["no-equals-sign"], "expected key=value, got 'no-equals-sign'"),
    ],
)
def test_new_errors_exit_2(tmp_path, extra, message, capsys):
    assert cli(["new", str(tmp_path / "x"), *extra]) == 2
    err = capsys.readouterr().err
    assert "msc-notebooks new: error:" in err and message in err
    assert not (tmp_path / "x").exists()


def test_new_existing_folder_exit_2(tmp_path):
    done = subprocess.run([*cli_command(), "new", str(tmp_path)], capture_output=True, text=True)
    assert done.returncode == 2
    assert f"{tmp_path} already exists" in done.stderr
    assert "Traceback" not in done.stderr


# ------------------------------------------------------------------------------ run
def tiny_notebook(folder: Path) -> Path:
    """A notebook that prints the type and value of each parameter."""
    cells = [
        nbformat.v4.new_code_cell(
            "a = 0\nb = 0\nc = 0\nd = 0\ne = 0", metadata={"tags": ["parameters"]}
        ),
        nbformat.v4.new_code_cell("print(repr((a, b, c, d, e)))"),
        nbformat.v4.new_code_cell("import os\nprint(os.getcwd())"),
    ]
    path = folder / "tiny.ipynb"
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(nbformat.v4.new_notebook(cells=cells), path)
    return path


@pytest.mark.slow
def test_run_parity_and_value_conversion(tmp_path):
    nb = tiny_notebook(tmp_path / "nb {x} }{ é")  # papermill formats paths: braces kept
    by_function = run_notebook(
        nb, {"a": 30, "b": 2.5, "c": True, "d": None, "e": 'C:\\x "y"'}, output=tmp_path / "f.ipynb"
    )
    argv = ["run", str(nb), "-p", "a", "30", "-p", "b", "2.5", "-p", "c", "true"]
    argv += ["-p", "d", "none", "-p", "e", 'C:\\x "y"', "-o", str(tmp_path / "c.ipynb")]
    assert cli(argv) == 0
    expected = "(30, 2.5, True, None, 'C:\\\\x \"y\"')\n" + f"{nb.parent}\n"
    assert outputs(by_function) == expected  # runs in the notebook's own folder
    assert outputs(tmp_path / "c.ipynb") == expected
    assert all(not c.get("outputs") for c in nbformat.read(nb, 4).cells)  # input untouched


@pytest.mark.slow
def test_run_default_output_and_html(tmp_path):
    nb = tiny_notebook(tmp_path)
    done = subprocess.run(
        [*cli_command(), "run", str(nb), "-p", "a", "7", "--html", str(tmp_path / "r" / "t.html")],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    executed = tmp_path / "tiny.executed.ipynb"
    assert f"Executed notebook: {executed}" in done.stdout
    assert outputs(executed).startswith("(7, 0, 0, 0, 0)")
    html = (tmp_path / "r" / "t.html").read_text("utf-8")
    assert "(7, 0, 0, 0, 0)" in html
    assert "print(repr" not in html  # no code in the report
    assert "<script src=" not in html  # nothing fetched from the internet


def test_run_unknown_parameter_exit_2(tmp_path, capsys):
    nb = tiny_notebook(tmp_path)
    with pytest.raises(MscError, match="unknown parameter"):
        run_notebook(nb, {"zz": 1})
    assert cli(["run", str(nb), "-p", "zz", "1"]) == 2
    err = capsys.readouterr().err
    assert "unknown parameter(s) zz for tiny.ipynb; known parameters: a, b, c, d, e" in err
    assert cli(["run", str(tmp_path / "missing.ipynb")]) == 2
    assert "notebook" in capsys.readouterr().err


@pytest.mark.slow
def test_run_failing_cell_exit_2(tmp_path, capsys):
    cells = [nbformat.v4.new_code_cell("raise ValueError('bad things')")]
    nb = tmp_path / "fail.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=cells), nb)
    assert cli(["run", str(nb)]) == 2
    err = capsys.readouterr().err
    assert "fail.ipynb failed in cell 1: ValueError: bad things" in err
    assert (tmp_path / "fail.executed.ipynb").is_file()


@pytest.mark.slow
def test_run_study_report_with_parameters(tmp_path):
    """A generated study's notebook, threshold overridden, HTML with static SVG figures."""
    project = new_project(tmp_path / "study", context={"demo": True})
    nb = project / "03_progression.ipynb"
    assert {"threshold_pct", "reference", "method", "renderer"} <= set(notebook_parameters(nb))
    out = run_notebook(nb, {"threshold_pct": 50}, html=project / "reports" / "progression.html")
    text = outputs(out)
    assert "responder > 50 %" in text and "1-2: " in text
    html = (project / "reports" / "progression.html").read_text("utf-8")
    # figures are static SVG images (renderer='svg' for HTML reports), embedded in the page
    # responders, rate comparison, cohort mean, waterfall, stage transitions
    assert html.count('src="data:image/svg+xml;base64,') == 5
    assert "<script src=" not in html and "read_project_config" not in html
    assert "application/vnd.jupyter.widget-view+json" not in html


# ------------------------------------------------------------------------- lab / app
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url: str, timeout: float = 10) -> str:
    return urllib.request.urlopen(url, timeout=timeout).read().decode("utf-8")


def serve(cmd: list[str], url: str, log: Path, timeout: float = 90):
    """Start a server; ready when ``url`` answers (or, for a bare base URL, its port)."""
    fh = log.open("w")
    proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT)
    port = int(url.split(":")[2].split("/")[0])
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if url.count("/") > 2:
                get(url, timeout=3)
            else:
                socket.create_connection(("127.0.0.1", port), timeout=3).close()
            return proc
        except Exception:
            if proc.poll() is not None:
                raise RuntimeError(log.read_text()) from None
            time.sleep(0.3)
    proc.kill()
    raise RuntimeError(log.read_text())


def port_answers(port: int) -> bool:
    """Whether anything still listens on 127.0.0.1:port (after a short grace period)."""
    for _ in range(20):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
        except OSError:
            return False
        time.sleep(0.5)
    return True


def test_lab_command_is_offline_safe(tmp_path):
    cmd = lab_command(tmp_path)
    assert cmd[:3] == [sys.executable, "-m", "jupyterlab"]
    assert "--LabApp.news_url=None" in cmd
    assert (
        "--LabApp.check_for_updates_class=jupyterlab.handlers.announcements.NeverCheckForUpdate"
        in cmd
    )
    assert "--ServerApp.ip=127.0.0.1" in cmd and f"--ServerApp.root_dir={tmp_path}" in cmd
    with pytest.raises(MscError, match="not found"):
        start_lab(tmp_path / "missing")


def test_lab_missing_folder_exit_2(tmp_path, capsys):
    assert cli(["lab", str(tmp_path / "missing")]) == 2
    assert f"folder {tmp_path / 'missing'} not found" in capsys.readouterr().err


def lab_facts(base: str, token: str) -> dict:
    page = get(f"{base}/lab?token={token}")
    start = page.index('id="jupyter-config-data"')
    config = json.loads(page[page.index(">", start) + 1 : page.index("</script>", start)])
    contents = json.loads(get(f"{base}/api/contents?token={token}"))
    update = json.loads(get(f"{base}/lab/api/update?token={token}"))
    return {
        "news": config.get("news"),
        "files": sorted(item["name"] for item in contents["content"]),
        "update": update,
    }


@pytest.mark.slow
def test_lab_parity_cli_and_function(tmp_path):
    (tmp_path / "hello.ipynb").write_text(nbformat.writes(nbformat.v4.new_notebook()), "utf-8")
    facts = []
    for how in ("cli", "function"):
        port, token = free_port(), f"tok-{how}"
        extra = ["--no-browser", "--allow-root", f"--port={port}",
                 "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}"]  # fmt: skip
        if how == "cli":
            cmd = [*cli_command(), "lab", str(tmp_path), "--", *extra]
        else:
            code = "import sys; from msc_notebooks.servers import start_lab; "
            code += "sys.exit(start_lab(sys.argv[1], extra_args=sys.argv[2:]))"
            cmd = [sys.executable, "-c", code, str(tmp_path), *extra]
        base = f"http://127.0.0.1:{port}"
        proc = serve(cmd, f"{base}/api/status?token={token}", tmp_path.parent / f"{how}.log")
        try:
            facts.append(lab_facts(base, token))
        finally:
            stop(proc)
        assert not port_answers(port)  # stopping the command stops the server it started
    assert facts[0] == facts[1]
    assert facts[0]["news"] == {"disabled": True}  # no news feed fetched
    assert facts[0]["update"] == {"notification": None}  # no update check
    assert facts[0]["files"] == ["hello.ipynb"]  # root_dir reached the server


def test_app_command_default_and_errors(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    cmd = app_command()
    assert (
        cmd[:3] == [sys.executable, "-m", "msc_notebooks.voila_app"]
        and "--Voila.ip=127.0.0.1" in cmd
    )
    template = templates_dir() / "msc-study" / "{{cookiecutter._folder_name}}" / "guided.ipynb"
    assert Path(cmd[3]) == template  # no guided.ipynb here: the template (demo cohort)
    project = new_project(tmp_path / "s")
    monkeypatch.chdir(project)
    assert Path(app_command()[3]) == project / "guided.ipynb"
    assert cli(["app", str(tmp_path / "nope.ipynb")]) == 2
    assert f"notebook {tmp_path / 'nope.ipynb'} not found" in capsys.readouterr().err


@pytest.mark.slow
def test_app_serves_notebook(tmp_path):
    project = new_project(tmp_path / "study", context={"demo": True})
    port = free_port()
    cmd = [*cli_command(), "app", str(project / "03_progression.ipynb"), "--",
           "--no-browser", f"--port={port}"]  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    proc = serve(cmd, base, tmp_path / "voila.log", timeout=60)
    try:
        page = get(f"{base}/", timeout=180)
    finally:
        stop(proc)
    assert not port_answers(port)  # stopping the command stops the server it started
    assert "1-2: 15/19 evaluable responders" in page  # SPEC reference figures, demo cohort
    assert "read_project_config" not in page  # Voilà hides the code


def test_subcommands_registered():
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    assert set(sub.choices) == {"analyze", "demo-data", "new", "run", "lab", "app"}
    args = parser.parse_args(["lab"])
    assert args.directory == "." and args.extra == []
    args = parser.parse_args(["app"])
    assert args.notebook is None
