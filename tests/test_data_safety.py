"""Issue #9: exports safe to open and read back whole; no network at run time."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap

import numpy as np
import openpyxl
import pandas as pd
import pytest

from msc_notebooks import analyze, load_demo, read_study
from msc_notebooks.export import read_results, write_results


def _norm(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.reset_index(drop=True).astype(object)
    return out.where(pd.notna(out), None).map(lambda v: v if v is not None else None)


def test_exported_results_read_back_give_the_same_tables(tmp_path):
    from msc_notebooks.summary import summary_with_expectation

    result = analyze(load_demo())
    write_results(result, tmp_path)
    back = read_results(tmp_path)
    for name, table in {
        "periods": result.periods,
        # summary.csv: the summary with the no-effect expectation beside wilcoxon_p
        "summary": summary_with_expectation(result.summary, result.null),
        "clinical": result.clinical,
        "ledger": result.study.ledger,
    }.items():
        got = back[name]
        assert list(got.columns) == list(table.columns), name
        for col in table.columns:
            a, b = table[col].reset_index(drop=True), got[col]
            if pd.api.types.is_numeric_dtype(a) and not pd.api.types.is_bool_dtype(a):
                np.testing.assert_allclose(
                    b.astype(float),
                    a.astype(float),
                    rtol=1e-12,
                    equal_nan=True,
                    err_msg=f"{name}.{col}",
                )
            else:
                norm_a = [None if pd.isna(v) or v == "" else str(v) for v in a]
                norm_b = [None if pd.isna(v) or v == "" else str(v) for v in b]
                assert norm_a == norm_b, f"{name}.{col}"


@pytest.fixture
def hostile_study(tmp_path):
    data = tmp_path / "in"
    data.mkdir()
    (data / "visits.csv").write_text(
        "patient_id,day,alsfrs_r_total\n"
        "=cmd|' /C calc'!A0,-90,44\n=cmd|' /C calc'!A0,0,41\n=cmd|' /C calc'!A0,90,41\n"
        "@SUM(1),-90,40\n@SUM(1),0,38\n@SUM(1),100,35\n",
        encoding="utf-8",
    )
    (data / "injections.csv").write_text(
        "patient_id,day\n=cmd|' /C calc'!A0,0\n=cmd|' /C calc'!A0,90\n@SUM(1),0\n@SUM(1),100\n",
        encoding="utf-8",
    )
    (data / "adverse_events.csv").write_text(
        'patient_id,day,term,severity\n@SUM(1),2,"=HYPERLINK(""http://x"",""y"")",mild\n'
        "@SUM(1),3,+headache,\n",
        encoding="utf-8",
    )
    return data


def test_exports_neutralise_spreadsheet_formulas(hostile_study, tmp_path):
    before = {p.name: p.read_bytes() for p in hostile_study.iterdir()}
    study = read_study(
        hostile_study / "visits.csv",
        hostile_study / "injections.csv",
        adverse_events=hostile_study / "adverse_events.csv",
    )
    result = analyze(study)
    out = tmp_path / "out"
    write_results(result, out, excel=True)
    for path in out.glob("*.csv"):
        for line in path.read_text(encoding="utf-8").splitlines()[1:]:
            for cell in line.split(","):
                assert not cell.lstrip('"').startswith(("=", "+", "@")), (path.name, cell)
    wb = openpyxl.load_workbook(out / "results.xlsx")
    cells = [c for ws in wb.worksheets for row in ws.iter_rows() for c in row]
    assert cells and all(c.data_type != "f" for c in cells)  # no formula anywhere
    texts = {c.value for c in cells if isinstance(c.value, str)}
    assert "'=cmd|' /C calc'!A0" in texts and "'@SUM(1)" in texts
    # reading the results back restores the values exactly as the user wrote them
    back = read_results(out)
    assert set(back["periods"].patient_id) == {"=cmd|' /C calc'!A0", "@SUM(1)"}
    assert '=HYPERLINK("http://x","y")' in set(back["safety_by_term"].term)
    # and the user's files were not touched
    assert before == {p.name: p.read_bytes() for p in hostile_study.iterdir()}


@pytest.fixture
def no_network(monkeypatch):
    """Refuse (and record) every outbound connection except to loopback."""
    attempts = []
    real_connect = socket.socket.connect

    def guarded(self, address):
        host = address[0] if isinstance(address, tuple) else address
        if (
            isinstance(host, str)
            and host not in ("127.0.0.1", "localhost", "::1")
            and self.family in (socket.AF_INET, socket.AF_INET6)
        ):
            attempts.append(address)
            raise OSError(f"network blocked in tests: {address}")
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)
    monkeypatch.setattr(
        socket, "create_connection", lambda address, *a, **k: guarded(socket.socket(), address)
    )
    return attempts


def test_analysis_figures_and_report_make_no_network_call(no_network, tmp_path):
    from msc_notebooks.null_model import attach_null

    result = attach_null(analyze(load_demo()), 100)
    write_results(result, tmp_path, figures=True, report=True, excel=True)
    assert (tmp_path / "report.html").exists()
    assert any(tmp_path.glob("*.svg")) and any(tmp_path.glob("*.png"))
    assert no_network == []


GUARD = textwrap.dedent(
    """
    import os, socket
    _real = socket.socket.connect
    def _guarded(self, address):
        host = address[0] if isinstance(address, tuple) else address
        if self.family in (socket.AF_INET, socket.AF_INET6) and host not in (
                "127.0.0.1", "localhost", "::1"):
            with open(os.environ["MSC_NET_LOG"], "a") as f:
                f.write(repr(address) + "\\n")
            raise OSError("network blocked in tests")
        return _real(self, address)
    socket.socket.connect = _guarded
    """
)


def test_headless_notebook_execution_makes_no_network_call(tmp_path):
    import nbformat

    guard_dir = tmp_path / "guard"
    guard_dir.mkdir()
    (guard_dir / "sitecustomize.py").write_text(GUARD, encoding="utf-8")
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(
            "import socket; assert socket.socket.connect.__name__ == '_guarded'"
        ),
        nbformat.v4.new_code_cell(
            "import msc_notebooks as msc\nmsc.setup_notebook(renderer='svg')\n"
            "from msc_notebooks.charts import all_figures\n"
            "result = msc.analyze(msc.load_demo())\n"
            "for chart in all_figures(result).values():\n    display(chart)\n"
            "print(result.responders('1-2'))"
        ),
    ]
    path = tmp_path / "nb.ipynb"
    nbformat.write(nb, path)
    log = tmp_path / "net.log"
    env = dict(
        os.environ,
        PYTHONPATH=os.pathsep.join([str(guard_dir), os.environ.get("PYTHONPATH", "")]),
        MSC_NET_LOG=str(log),
    )
    proc = subprocess.run(
        [sys.executable, "-m", "jupyter", "execute", "--output", "out", str(path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    executed = nbformat.read(tmp_path / "out.ipynb", as_version=4)
    text = "".join(o.get("text", "") for c in executed.cells for o in c.get("outputs", []))
    assert "15/19" in text
    svgs = [
        o
        for c in executed.cells
        for o in c.get("outputs", [])
        if "image/svg+xml" in o.get("data", {})
    ]
    assert len(svgs) >= 5
    assert not log.exists() or log.read_text() == ""


def test_cli_figures_are_written_offline(no_network, tmp_path):
    from msc_notebooks.charts import all_figures
    from msc_notebooks.cli import main

    out = tmp_path / "results"
    assert main(["analyze", "--demo", "--figures", "--out", str(out), "--quiet"]) == 0
    names = set(all_figures(analyze(load_demo())))
    assert len(names) >= 8
    for name in names:
        svg = (out / f"{name}.svg").read_text(encoding="utf-8")
        assert "<svg" in svg
        assert (out / f"{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert no_network == []
