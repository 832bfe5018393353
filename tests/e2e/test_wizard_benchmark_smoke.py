"""The Wizard browser benchmark (``benchmarks/wizard_browser.py``, issue #20) runs end to end.

A smoke run: 30 patients, one repeat, three threshold changes, in a real JupyterLab and
Debian's Chromium. It checks that every figure was measured (a positive number; the heap
growth and the longest ``longtask`` may be zero or, for the heap, negative) and that the
JSON and markdown hold every key. Speed itself is never asserted (BENCHMARKS.md records it).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from msc_e2e import REPO_ROOT

pytestmark = pytest.mark.browser

SCRIPT = REPO_ROOT / "benchmarks" / "wizard_browser.py"
#: Figures that may be zero (no long task) or negative (memory freed).
MAY_BE_ZERO = {"longest_longtask_s", "heap_growth_mb"}


def test_wizard_benchmark_runs_and_records_every_figure(chromium_path, tmp_path):
    sys.path.insert(0, str(SCRIPT.parent))
    from wizard_browser import METRICS, TARGETS

    out = tmp_path / "wizard_browser.json"
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT), MSC_CHROMIUM=chromium_path)
    cmd = [sys.executable, str(SCRIPT), "--sizes", "30", "--repeats", "1", "--changes", "3"]
    proc = subprocess.run(
        [*cmd, "--label", "smoke", "--out", str(out)],
        capture_output=True,
        text=True,
        env=env,
        timeout=400,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    data = json.loads(out.read_text())
    entry = data["runs"]["smoke"]
    assert set(entry["machine"]["versions"]) >= {"jupyterlab", "ipywidgets", "chromium"}
    assert entry["machine"]["versions"]["chromium"]
    size = entry["sizes"]["30"]
    assert len(size["git"]) >= 7 and size["git_subject"]
    assert len(size["load_before"]) == 3 and len(size["load_after"]) == 3
    (run,) = size["runs"]
    assert run["errors"] == {}, run["errors"]
    for key, _ in METRICS:
        value = run[key]
        assert isinstance(value, int | float), (key, value)
        if key == "heap_growth_mb":
            continue
        assert value > 0 or (key in MAY_BE_ZERO and value == 0), (key, value)
        assert size["summary"][key]["median"] == value, key
    # the edit was checked on the page: interval 1-2 one day longer, 2-3 one day shorter
    before, after = run["intervals"]["before"], run["intervals"]["after"]
    first, second = list(before)[:2]
    assert after[first] == before[first] + 1 and after[second] == before[second] - 1
    assert run["threshold_changes"] == 3 and len(run["threshold_later_s"]) == 2
    assert run["heap_growth_mb"] == pytest.approx(
        run["heap_after_changes_mb"] - run["heap_first_change_mb"], abs=0.11
    )
    md = out.with_suffix(".md").read_text()
    assert "| Run All → Wizard visible (s) |" in md and "30 patients" in md
    assert "| target | patients | measured | |" in md
    for metric, _, limit, unit in TARGETS:  # every target has its row, measured or not
        assert f"| {dict(METRICS)[metric]} ≤ {limit:,g} {unit} |" in md, metric
    assert "Run All → Wizard visible" in proc.stdout  # the table is printed
