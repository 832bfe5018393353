"""The Wizard in a real JupyterLab in headless Chromium, at registry scale (issue #20).

::

    python benchmarks/wizard_browser.py                                   # 200 2,000 10,000
    python benchmarks/wizard_browser.py --sizes 200 2000 --repeats 3 --label before

For each size a synthetic cohort (``synth.synth_cohort`` plus adverse events, the CSV
files of ``scale.cohort_dir``) is written next to a notebook whose cells are what a user
types::

    import msc_notebooks as msc
    msc.setup_notebook()
    msc.Wizard(study=msc.read_study("data/visits.csv", ..., "data/adverse_events.csv"))

A real JupyterLab is started (``tests/e2e/msc_e2e.start_lab``: temp folders, free port,
token) and Debian's Chromium is driven by Playwright as a person would, with one fresh
kernel per repeat. Measured (times on the page's own clock, ``performance.now()``):

- ``run_all_to_wizard_s``: Run All (``notebook:run-all-cells``) -> the Wizard's step
  buttons and its first step on screen.
- ``marker_move_s``: the keydown of ArrowRight on the second injection marker of the
  timeline (one day later) -> the interval table shows that interval one day longer and
  the next one day shorter (checked, not assumed). ``marker_move_after_commit_s`` counts
  from the moment the page sent the new injection days to the kernel (the timeline
  sends the edit when the key is released; ``KEY_COMMIT_MS`` is only its fallback).
- ``results_first_view_s``: the first click on *Results* -> its counts and every figure
  drawn, the page settled (as below). Done before the threshold changes, so that those are
  timed on a Results step already shown once.
- ``threshold_counts_s`` / ``threshold_figures_s``: the Enter that sets the Settings
  threshold from 25 to 50 % (typed into the slider's readout), then a click on *Results*
  -> the responder counts say 50 %, and -> every Results figure is drawn (each figure
  title with a drawn ``svg.marks``/``canvas.marks`` under it) and the page has settled:
  the end is the last change to the Wizard (DOM mutation or canvas drawing) before a
  second of quiet with the kernel idle.
- ``*_kernel_s``: of those times, how long the kernel said it was busy (its status
  messages as JupyterLab receives them); the rest is the browser (and the wire).
- ``results_dom_nodes`` / ``results_height_px``: every node (elements, text, comments)
  under the Results step, and its height, after that first change with the figures drawn;
  ``document_dom_nodes`` is CDP's ``Memory.getDOMCounters`` (nodes still alive, detached
  ones that survive a garbage collection included).
- ``heap_start_mb``, ``heap_first_change_mb``, ``heap_after_changes_mb``: the page's JS
  heap (CDP ``Runtime.getHeapUsage``, used size, MB = 2**20 bytes) after forced garbage
  collection (``HeapProfiler.collectGarbage``, twice): after Run All, after the first
  threshold change, after ``--changes`` changes in all (default 10: 50, 30, 40, ...).
- ``longest_frozen_s``: the longest gap between two animation frames (a
  ``requestAnimationFrame`` loop on the page) from Run All to the last threshold change
  (JupyterLab's own start, the forced garbage collections and the screenshots are left
  out); per phase in ``frozen_*_s`` and ``frozen_by_phase_s``, and the longest
  ``longtask`` entry beside it.

Every figure, the git commit, the load average before and after, the machine and the
versions go to ``--out`` (``benchmarks/results/wizard_browser.json``, kept per
``--label`` so that figures before and after a change sit side by side) and a markdown
table beside it (``wizard_browser.md``), printed at the end. A measurement that fails
(a timeout, a figure that never draws) is recorded as ``null`` with its error and the
run goes on. Nothing here is a timed test (``tests/e2e/test_wizard_benchmark_smoke.py``
only checks that the harness runs).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT / "tests" / "e2e"))

from msc_e2e import (  # noqa: E402 - the e2e helpers live beside the browser tests
    CHROMIUM_ARGS,
    FIGURES_DRAWN_JS,
    VIEWPORT,
    BrowserPage,
    RequestLog,
    find_chromium,
    parse_interval_days,
    start_lab,
    write_overrides,
)
from scale import cohort_dir  # noqa: E402

RESULTS = HERE / "results" / "wizard_browser.json"

#: Threshold values set one after the other (the first is the timed 25 -> 50 change).
THRESHOLDS = [50, 30, 40, 35, 45, 55, 60, 65, 70, 50, 30, 40, 35, 45, 55, 60, 65, 70, 75, 80]

#: Issue #20's targets: (metric, size, limit, unit). ``heap_growth_mb`` is
#: ``heap_after_changes_mb - heap_first_change_mb``.
TARGETS = [
    ("marker_move_s", 200, 0.3, "s"),
    ("threshold_figures_s", 200, 0.5, "s"),
    ("threshold_later_median_s", 200, 0.5, "s"),
    ("marker_move_s", 10_000, 1.0, "s"),
    ("threshold_figures_s", 10_000, 2.0, "s"),
    ("threshold_later_median_s", 10_000, 2.0, "s"),
    ("run_all_to_wizard_s", 10_000, 10.0, "s"),
    ("results_dom_nodes", None, 20_000, "nodes"),
    ("heap_growth_mb", None, 100.0, "MB"),
]

#: Figures of one run, in the order of the tables.
METRICS = [
    ("run_all_to_wizard_s", "Run All → Wizard visible (s)"),
    ("marker_move_s", "arrow key on a marker → interval table updated (s)"),
    ("marker_move_after_commit_s", "  of which after the timeline sent the edit (s)"),
    ("marker_move_kernel_s", "  of which the kernel was busy (s)"),
    ("results_first_view_s", "first click on Results → counts and figures drawn (s)"),
    ("results_first_view_kernel_s", "  of which the kernel was busy (s)"),
    ("threshold_counts_s", "threshold 25 → 50 → Results counts shown (s)"),
    ("threshold_figures_s", "threshold 25 → 50 → counts and figures drawn (s)"),
    ("threshold_kernel_s", "  of which the kernel was busy (s)"),
    ("threshold_later_median_s", "later threshold changes → counts and figures, median (s)"),
    ("threshold_later_kernel_median_s", "  of which the kernel was busy, median (s)"),
    ("results_dom_nodes", "Results step DOM nodes"),
    ("results_height_px", "Results step height (px)"),
    ("results_figures", "Results figures drawn"),
    ("document_dom_nodes", "document DOM nodes (CDP, detached included)"),
    ("heap_start_mb", "JS heap after GC: after Run All (MB)"),
    ("heap_first_change_mb", "JS heap after GC: after the first threshold change (MB)"),
    ("heap_after_changes_mb", "JS heap after GC: after the last threshold change (MB)"),
    ("heap_growth_mb", "JS heap growth, first → last change (MB)"),
    ("longest_frozen_s", "longest frozen stretch (s)"),
    ("longest_longtask_s", "longest 'longtask' entry (s)"),
    ("frozen_run_all_s", "  longest frozen stretch during Run All (s)"),
    ("frozen_marker_move_s", "  … during the marker move (s)"),
    ("frozen_results_first_view_s", "  … during the first view of Results (s)"),
    ("frozen_first_threshold_change_s", "  … during the first threshold change (s)"),
    ("frozen_later_threshold_changes_s", "  … during the later threshold changes (s)"),
    ("frozen_page_load_s", "JupyterLab's own start, not counted above (s)"),
]

# ------------------------------------------------------------------ the page's monitors

#: Installed before any page script: a requestAnimationFrame gap monitor, a longtask
#: observer, the time of the last change to the Wizard (DOM mutation or canvas drawing),
#: the time of the last keydown, and the time the page last sent injection days to the
#: kernel (widget messages travel over the kernel's WebSocket).
MONITOR_JS = r"""
(() => {
  const M = (window.__msc = {
    phaseGap: 0, phaseLong: 0,
    lastWizard: 0, lastKey: 0, lastClick: 0, sentInjections: 0,
  });
  let last = performance.now();
  const frame = (t) => {
    const gap = t - last; last = t;
    if (gap > M.phaseGap) M.phaseGap = gap;
    requestAnimationFrame(frame);
  };
  requestAnimationFrame(frame);
  try {
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) {
        if (e.duration > M.phaseLong) M.phaseLong = e.duration;
      }
    }).observe({ type: "longtask", buffered: true });
  } catch (e) { M.noLongtask = String(e); }
  M.phase = () => { const out = [M.phaseGap, M.phaseLong]; M.phaseGap = 0; M.phaseLong = 0; return out; };
  document.addEventListener("keydown", () => { M.lastKey = performance.now(); }, true);
  document.addEventListener("click", () => { M.lastClick = performance.now(); }, true);
  const inWizard = (node) => {
    const el = node && (node.nodeType === 1 ? node : node.parentElement);
    return !!(el && el.closest && el.closest(".msc-wizard"));
  };
  const start = () => {
    new MutationObserver((records) => {
      const n = records.length;
      for (let i = 0; i < n; i = i < 40 ? i + 1 : (i < n - 1 ? n - 1 : n)) {
        if (inWizard(records[i].target)) { M.lastWizard = performance.now(); return; }
      }
    }).observe(document.documentElement, {
      subtree: true, childList: true, characterData: true, attributes: true,
    });
  };
  if (document.documentElement) start(); else document.addEventListener("DOMContentLoaded", start);
  const seen = new WeakMap();
  for (const name of ["clearRect", "fillRect", "drawImage", "fill", "stroke"]) {
    const orig = CanvasRenderingContext2D.prototype[name];
    CanvasRenderingContext2D.prototype[name] = function (...args) {
      const c = this.canvas;
      let w = seen.get(c);
      if (w === undefined || !c.isConnected) { w = inWizard(c); seen.set(c, w); }
      if (w) M.lastWizard = performance.now();
      return orig.apply(this, args);
    };
  }
  const decoder = new TextDecoder();
  const send = WebSocket.prototype.send;
  WebSocket.prototype.send = function (data) {
    try {
      const text = typeof data === "string" ? data
        : (data instanceof ArrayBuffer || ArrayBuffer.isView(data)) ? decoder.decode(data) : "";
      if (text.includes('"comm_msg"') && text.includes('"injections"')) {
        M.sentInjections = performance.now();
      }
    } catch (e) { /* never break the page */ }
    return send.call(this, data);
  };
})();
"""

#: ``() => [titles, drawn]`` of the Results step's figures (``msc_e2e.FIGURES_DRAWN_JS``).
FIGURES_JS = f"() => ({FIGURES_DRAWN_JS})('.msc-wizard .msc-step-results .msc-figures')"

KERNEL_IDLE_JS = """() => { const w = window.jupyterapp.shell.currentWidget;
  const k = w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;
  return !!k && k.status === 'idle'; }"""


class Failed(RuntimeError):
    """A measurement that did not complete (recorded as null with this message)."""


def mb(nbytes: float) -> float:
    """Bytes to MB (2**20), rounded to 0.1.

    Examples
    --------
    >>> mb(3 * 2**20 + 2**19)
    3.5
    """
    return round(nbytes / 2**20, 1)


def notebook_source(data: str = "data") -> list[str]:
    """The notebook's code cells: set-up, then the Wizard on the cohort's CSV files.

    Examples
    --------
    >>> notebook_source()[1].startswith("msc.Wizard(study=msc.read_study(")
    True
    """
    files = ", ".join(
        f'"{data}/{t}.csv"' for t in ("visits", "injections", "patients", "adverse_events")
    )
    return [
        "import msc_notebooks as msc\nmsc.setup_notebook()",
        f"msc.Wizard(study=msc.read_study({files}))",
    ]


def write_notebook(path: Path, data: str) -> Path:
    """Write the benchmark notebook (Python 3 kernel, no outputs)."""
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.cells = [nbformat.v4.new_code_cell(src) for src in notebook_source(data)]
    nbformat.write(nb, path)
    return path


# ------------------------------------------------------------------ one run in the browser


def busy_between(events: list, t0: float, t1: float) -> float:
    """Time busy within ``[t0, t1]`` from ``[time, status]`` events (busy until not busy).

    Examples
    --------
    >>> busy_between([[0, "busy"], [10, "idle"], [20, "busy"], [40, "idle"]], 5, 30)
    15
    """
    total, since = 0, None
    for t, status in events:
        if status == "busy" and since is None:
            since = t
        elif status != "busy" and since is not None:
            total += max(0, min(t, t1) - max(since, t0))
            since = None
    if since is not None:
        total += max(0, t1 - max(since, t0))
    return total


class WizardRun:
    """One repeat at one size: a fresh kernel, Run All, then every measurement in turn."""

    def __init__(self, bp: BrowserPage, cdp, changes: int, timeout: float) -> None:
        self.bp = bp
        self.page = bp.page
        self.cdp = cdp
        self.changes = changes
        self.timeout_ms = timeout * 1000
        self.out: dict[str, object] = {"errors": {}, "frozen_by_phase_s": {}}

    # -- helpers -----------------------------------------------------------------------------
    def now(self) -> float:
        return self.page.evaluate("() => performance.now()")

    def until(self, js: str, arg: object = None, polling: object = "raf") -> float:
        """Wait until ``js`` is truthy; the page's clock (ms) when it first was."""
        handle = self.page.wait_for_function(
            f"(arg) => {{ const ok = ({js})(arg); return ok ? [performance.now()] : false; }}",
            arg=arg,
            timeout=self.timeout_ms,
            polling=polling,
        )
        return handle.json_value()[0]

    def settled(self, quiet_ms: float = 1000.0) -> float:
        """Wait for a quiet second (no change to the Wizard, kernel idle); the time of the
        last change (ms)."""
        deadline = time.monotonic() + self.timeout_ms / 1000
        while time.monotonic() < deadline:
            state = self.page.evaluate(
                f"() => [performance.now(), window.__msc.lastWizard, ({KERNEL_IDLE_JS})()]"
            )
            if state[2] and state[0] - state[1] >= quiet_ms:
                return state[1]
            time.sleep(0.2)
        raise Failed(f"the Wizard did not settle within {self.timeout_ms / 1000:.0f} s")

    def watch_kernel(self) -> None:
        """Record the kernel's status changes (busy/idle) on the page's clock."""
        self.page.evaluate(
            """() => { const M = window.__msc; M.kstat = [];
                 const k = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
                 k.statusChanged.connect((_, s) => { M.kstat.push([performance.now(), s]); }); }"""
        )

    def kernel_busy_s(self, t0: float, t1: float) -> float:
        """Seconds the kernel said it was busy between page times ``t0`` and ``t1`` (ms)."""
        events = self.page.evaluate("() => window.__msc.kstat || []")
        return round(busy_between(events, t0, t1) / 1000, 3)

    def heap_mb(self) -> float:
        """Used JS heap (MB) after two forced garbage collections."""
        for _ in range(2):
            self.cdp.send("HeapProfiler.collectGarbage")
        used = self.cdp.send("Runtime.getHeapUsage")["usedSize"]
        self.page.evaluate("() => window.__msc.phase()")  # the forced GC froze the page
        return mb(used)

    def phase(self, name: str) -> None:
        """Close a phase: its longest frame gap and longtask (s)."""
        gap, long = self.page.evaluate("() => window.__msc.phase()")
        self.out[f"frozen_{name}_s"] = round(gap / 1000, 3)
        self.out["frozen_by_phase_s"][name] = {
            "frame_gap": round(gap / 1000, 3),
            "longtask": round(long / 1000, 3),
        }

    def step(self, title: str) -> None:
        self.bp.wizard_step(title)

    def measure(self, name: str, func) -> object:
        """Run one measurement; on failure record null and the error, and go on."""
        try:
            return func()
        except Exception as exc:  # noqa: BLE001 - recorded, the run goes on
            self.out["errors"][name] = f"{type(exc).__name__}: {str(exc)[:600]}"
            try:
                self.bp.screenshot(f"failed-{name}")
            except Exception:  # noqa: BLE001
                pass
            return None

    # -- the measurements ------------------------------------------------------------------
    def run_all(self) -> None:
        page = self.page
        self.phase("page_load")  # JupyterLab's own start: not counted as the Wizard's
        t0 = page.evaluate(
            "() => { const t = performance.now(); window.__mscRunAll = window.jupyterapp.commands"
            ".execute('notebook:run-all-cells').then(() => 'done', e => 'failed: ' + e);"
            " return t; }"
        )
        t1 = self.until(
            """() => { const n = document.querySelector('.msc-wizard .msc-wizard-nav');
                 const s = document.querySelector('.msc-wizard .msc-step');
                 return !!(n && s && n.offsetHeight > 0 && s.offsetHeight > 0); }"""
        )
        self.out["run_all_to_wizard_s"] = round((t1 - t0) / 1000, 3)
        # every cell ran, the kernel is idle, the Wizard is drawn
        self.until(
            f"""() => {{ if (!({KERNEL_IDLE_JS})()) return false;
                 const cells = Array.from(window.jupyterapp.shell.currentWidget.content.model.cells);
                 return cells.filter(c => c.type === 'code')
                   .every(c => c.executionCount !== null && c.executionCount !== undefined); }}""",
            polling=200,
        )
        self.bp.assert_ran_clean()
        self.settled()
        self.phase("run_all")
        self.out["heap_start_mb"] = self.heap_mb()
        self.watch_kernel()

    def marker_move(self) -> None:
        page = self.page
        self.step("Injections")
        markers = page.locator(".msc-wizard .msc-timeline .msc-timeline-injection")
        markers.first.wait_for(state="visible", timeout=self.timeout_ms)
        page.wait_for_function(
            "() => document.querySelectorAll('.msc-wizard .msc-interval-table tbody tr').length",
            timeout=self.timeout_ms,
        )
        before = parse_interval_days(page, ".msc-wizard .msc-interval-table table")
        n = markers.count()
        if n < 3 or len(before) != n - 1:
            raise Failed(f"the first patient needs 3+ injections: {n} markers, {before}")
        names = list(before)
        expected = dict(before)
        expected[names[0]] += 1  # marker 2 one day later: interval 1-2 longer ...
        expected[names[1]] -= 1  # ... and interval 2-3 shorter (SPEC section 2)
        marker = markers.nth(1)
        marker.scroll_into_view_if_needed()
        marker.focus()
        self.settled(500)
        page.evaluate("() => window.__msc.phase()")
        page.keyboard.press("ArrowRight")
        t0 = page.evaluate("() => window.__msc.lastKey")
        t1 = self.until(
            """(want) => { const t = document.querySelector('.msc-wizard .msc-interval-table table');
                 if (!t) return false;
                 const head = Array.from(t.querySelectorAll('thead th')).map(h => h.textContent.trim());
                 const iv = head.indexOf('interval'), dy = head.indexOf('days');
                 const got = {};
                 for (const tr of t.querySelectorAll('tbody tr')) {
                   const c = Array.from(tr.querySelectorAll('th, td')).map(x => x.textContent.trim());
                   const off = c.length - head.length;
                   got[c[iv + off]] = parseFloat(c[dy + off].replace(/,/g, ''));
                 }
                 return Object.keys(want).every(k => Math.abs(got[k] - want[k]) < 1e-6); }""",
            arg=expected,
        )
        sent = page.evaluate("() => window.__msc.sentInjections")
        self.out["marker_move_s"] = round((t1 - t0) / 1000, 3)
        self.out["marker_move_kernel_s"] = self.kernel_busy_s(t0, t1)
        self.out["marker_move_after_commit_s"] = round((t1 - sent) / 1000, 3) if sent > t0 else None
        self.out["intervals"] = {"before": before, "after": expected}
        self.settled()
        self.phase("marker_move")

    def wait_results(self, value: int | None = None) -> tuple[float, float]:
        """Page times (ms) when the Results counts show (saying ``value`` %, if given) and
        when every figure is drawn and the Wizard has settled."""
        t_counts = self.until(
            """(v) => { const e = document.querySelector('.msc-wizard .msc-responder-count');
                 return !!e && e.offsetHeight > 0 && /\\d+\\/\\d+/.test(e.textContent)
                        && (v === null || e.textContent.includes(v + '%')); }""",
            arg=value,
        )
        t_figs = self.until(
            f"""() => {{ const f = ({FIGURES_JS})(); return !!f && f[0] > 0 && f[0] === f[1]; }}""",
            polling=50,
        )
        return t_counts, max(t_figs, self.settled())

    def results_first_view(self) -> None:
        """Click *Results* for the first time -> counts and every figure drawn.

        Done before the threshold changes, so that a change is timed on a Results step
        already shown once (a Wizard that builds its steps when first opened pays for the
        first view here, not in the threshold change).
        """
        self.page.evaluate("() => window.__msc.phase()")
        self.step("Results")
        t0 = self.page.evaluate("() => window.__msc.lastClick")
        _, t1 = self.wait_results()
        self.out["results_first_view_s"] = round((t1 - t0) / 1000, 3)
        self.out["results_first_view_kernel_s"] = self.kernel_busy_s(t0, t1)
        self.phase("results_first_view")

    def set_threshold(self, value: int) -> dict[str, float]:
        """Settings: type ``value`` into the threshold readout, Enter, then click Results.

        Returns the page times (ms) of the Enter, the counts shown and the figures drawn
        and settled.
        """
        page = self.page
        self.step("Settings")
        readout = page.locator(".msc-wizard .msc-threshold .widget-readout")
        readout.wait_for(state="visible", timeout=self.timeout_ms)
        readout.click()
        page.keyboard.press("Control+A")
        page.keyboard.type(str(value))
        page.keyboard.press("Enter")
        t0 = page.evaluate("() => window.__msc.lastKey")
        self.step("Results")
        t_counts, t_figures = self.wait_results(value)
        return {"t0": t0, "counts": t_counts, "figures": t_figures}

    def thresholds(self) -> None:
        page = self.page
        page.evaluate("() => window.__msc.phase()")
        first = self.set_threshold(THRESHOLDS[0])
        self.out["threshold_counts_s"] = round((first["counts"] - first["t0"]) / 1000, 3)
        self.out["threshold_figures_s"] = round((first["figures"] - first["t0"]) / 1000, 3)
        self.out["threshold_kernel_s"] = self.kernel_busy_s(first["t0"], first["figures"])
        self.phase("first_threshold_change")
        self.results_dom()
        self.out["heap_first_change_mb"] = self.heap_mb()
        later, busy = [], []
        for value in THRESHOLDS[1 : self.changes]:
            t = self.set_threshold(value)
            later.append(round((t["figures"] - t["t0"]) / 1000, 3))
            busy.append(self.kernel_busy_s(t["t0"], t["figures"]))
        self.out["threshold_later_s"] = later
        self.out["threshold_later_median_s"] = statistics.median(later) if later else None
        self.out["threshold_later_kernel_median_s"] = statistics.median(busy) if busy else None
        self.phase("later_threshold_changes")
        self.out["heap_after_changes_mb"] = self.heap_mb()
        self.out["threshold_changes"] = self.changes
        self.out["heap_growth_mb"] = round(
            self.out["heap_after_changes_mb"] - self.out["heap_first_change_mb"], 1
        )

    def results_dom(self) -> None:
        """Nodes and height of the Results step; the document's live nodes (CDP)."""
        nodes, height, figures = self.page.evaluate(
            f"""() => {{ const s = document.querySelector('.msc-wizard .msc-step-results');
                 if (!s) return [null, null, null];
                 const w = document.createTreeWalker(s, NodeFilter.SHOW_ALL);
                 let n = 1; while (w.nextNode()) n++;
                 const f = ({FIGURES_JS})();
                 return [n, Math.round(s.getBoundingClientRect().height), f ? f[1] : 0]; }}"""
        )
        self.out["results_dom_nodes"] = nodes
        self.out["results_height_px"] = height
        self.out["results_figures"] = figures
        self.cdp.send("HeapProfiler.collectGarbage")  # detached nodes nothing holds go
        self.out["document_dom_nodes"] = self.cdp.send("Memory.getDOMCounters")["nodes"]
        self.bp.screenshot("results")
        self.page.evaluate("() => window.__msc.phase()")  # the screenshot is not the page's

    def run(self) -> dict[str, object]:
        started = time.monotonic()
        self.measure("run_all", self.run_all)
        self.measure("marker_move", self.marker_move)
        self.measure("results_first_view", self.results_first_view)
        self.measure("thresholds", self.thresholds)
        phases = {k: v for k, v in self.out["frozen_by_phase_s"].items() if k != "page_load"}
        self.out["longest_frozen_s"] = max((v["frame_gap"] for v in phases.values()), default=None)
        self.out["longest_longtask_s"] = max((v["longtask"] for v in phases.values()), default=None)
        self.out["wall_s"] = round(time.monotonic() - started, 1)
        js = [e for e in self.bp.js_errors if "pageerror" in e or "console.error" in e]
        self.out["js_errors"] = js[:10]
        return self.out


def delete_sessions(server) -> None:
    """Shut down every kernel session of the server (the next repeat starts cold)."""
    import urllib.request

    for s in server.get_json("/api/sessions"):
        req = urllib.request.Request(
            f"{server.url}/api/sessions/{s['id']}?token={server.token}", method="DELETE"
        )
        urllib.request.urlopen(req, timeout=30).close()


def one_repeat(browser, server, notebook: str, args, tag: str) -> dict[str, object]:
    context = browser.new_context(viewport=VIEWPORT)
    context.add_init_script(MONITOR_JS)
    try:
        page = context.new_page()
        page.set_default_timeout(args.timeout * 1000)
        bp = BrowserPage(page, RequestLog(), tag)
        cdp = context.new_cdp_session(page)
        bp.open_lab(server, notebook)
        bp.wait_notebook_ready(notebook, timeout=args.timeout * 1000)
        return WizardRun(bp, cdp, args.changes, args.timeout).run()
    finally:
        context.close()
        delete_sessions(server)


def summarise(runs: list[dict]) -> dict[str, object]:
    """Median (and min, max) of each figure over the repeats; null when none measured.

    Examples
    --------
    >>> summarise([{"marker_move_s": 2.0}, {"marker_move_s": 1.0}, {"marker_move_s": None}])
    {'marker_move_s': {'median': 1.5, 'min': 1.0, 'max': 2.0, 'n': 2}}
    """
    keys = [k for k, _ in METRICS if any(k in r for r in runs)]
    out: dict[str, object] = {}
    for key in keys:
        values = [r[key] for r in runs if isinstance(r.get(key), int | float)]
        median = statistics.median(values)
        if all(isinstance(v, int) for v in values) and median == int(median):
            median = int(median)  # a count stays a count
        out[key] = (
            {
                "median": median,
                "min": min(values),
                "max": max(values),
                "n": len(values),
            }
            if values
            else None
        )
    return out


# ------------------------------------------------------------------ environment and output


def machine(browser_version: str | None = None) -> dict[str, object]:
    """Python, cores, load average and the versions that matter here."""
    import importlib.metadata as md

    versions: dict[str, str | None] = {}
    for pkg in (
        "jupyterlab",
        "ipywidgets",
        "jupyterlab_widgets",
        "anywidget",
        "altair",
        "vegafusion",
        "vl-convert-python",
        "pandas",
        "numpy",
        "playwright",
    ):
        try:
            versions[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            versions[pkg] = None
    versions["chromium"] = browser_version
    return {
        "python": platform.python_version(),
        "cores": os.cpu_count(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "versions": versions,
    }


def git(*args: str, repo: Path = ROOT) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True
    ).stdout.strip()


def fmt(value: object) -> str:
    """A figure as shown in the tables.

    Examples
    --------
    >>> fmt(None), fmt(12345), fmt(0.1234), fmt(69.25), fmt({"median": 2.0, "min": 1.5, "max": 2.5, "n": 3})
    ('—', '12,345', '0.123', '69.2', '2.00 (1.50–2.50)')
    """
    if value is None:
        return "—"
    if isinstance(value, dict):
        if value.get("n", 1) > 1 and value["min"] != value["max"]:
            return f"{fmt(value['median'])} ({fmt(value['min'])}–{fmt(value['max'])})"
        return fmt(value["median"])
    if isinstance(value, int) or (isinstance(value, float) and value >= 1000):
        return f"{value:,.0f}"
    if isinstance(value, float) and value < 10:
        return f"{value:.3f}" if value < 1 else f"{value:.2f}"
    return f"{value:.1f}"


def target_rows(entry: dict, only: list[str] | None = None) -> list[tuple[str, str, str, str]]:
    """Issue #20's targets: (target, size, measured median, met?) for one label's run."""
    sizes = {s: v for s, v in entry["sizes"].items() if only is None or s in only}
    rows = []
    for metric, size, limit, unit in TARGETS:
        label = dict(METRICS)[metric]
        which = [str(size)] if size is not None else sorted(sizes, key=int)
        for s in which:
            summary = sizes.get(s, {}).get("summary", {}).get(metric) if s in sizes else None
            value = summary["median"] if summary else None
            if size is None and value is None:
                continue
            met = "—" if value is None else ("met" if value <= limit else "**not met**")
            rows.append((f"{label} ≤ {limit:,g} {unit}", f"{int(s):,}", fmt(value), met))
    return rows


def markdown(data: dict, only: list[str] | None = None) -> str:
    """Every label's table (figure x size, with when, commit and load) and its targets."""
    lines = ["# Wizard in headless Chromium (issue #20)", ""]
    for label, entry in data.get("runs", {}).items():
        sizes = sorted((s for s in entry["sizes"] if only is None or s in only), key=int)
        if not sizes:
            continue
        m = entry["machine"]
        v = m["versions"]
        info = [entry["sizes"][s] for s in sizes]
        lines += [
            f"## {label}",
            "",
            f"{m['cores']} cores shared with other work (load average over 1/5/15 min before "
            "and after each size below); median of the repeats, range in brackets; chromium "
            f"{v.get('chromium')}, jupyterlab {v.get('jupyterlab')}, ipywidgets "
            f"{v.get('ipywidgets')}, anywidget {v.get('anywidget')}, altair {v.get('altair')}, "
            f"playwright {v.get('playwright')}, Python {m['python']}.",
            "",
            "| | " + " | ".join(f"{int(s):,} patients" for s in sizes) + " |",
            "|---|" + "---:|" * len(sizes),
            "| measured | " + " | ".join(i["when"] for i in info) + " |",
            "| commit | " + " | ".join(i["git"] for i in info) + " |",
            "| load average before → after | "
            + " | ".join(
                f"{'/'.join(map(str, i['load_before']))} → {'/'.join(map(str, i['load_after']))}"
                for i in info
            )
            + " |",
            "| repeats × threshold changes | "
            + " | ".join(f"{i['repeats']} × {i['changes']}" for i in info)
            + " |",
        ]
        for key, title in METRICS:
            cells = [fmt(entry["sizes"][s].get("summary", {}).get(key)) for s in sizes]
            if all(c == "—" for c in cells):
                continue
            lines.append(f"| {title} | " + " | ".join(cells) + " |")
        errors = [
            (s, r["errors"]) for s in sizes for r in entry["sizes"][s]["runs"] if r.get("errors")
        ]
        lines += ["", "| target | patients | measured | |", "|---|---:|---:|---|"]
        lines += [f"| {t} | {s} | {v} | {met} |" for t, s, v, met in target_rows(entry, sizes)]
        if errors:
            lines += ["", "Measurements that failed:"]
            lines += [f"- {int(s):,} patients: {json.dumps(e)[:400]}" for s, e in errors]
        lines.append("")
    return "\n".join(lines)


def comparison(data: dict, first: str, second: str) -> str:
    """Two labels side by side: each figure ``first → second`` per size, and the targets.

    Examples
    --------
    >>> run = lambda v: {"sizes": {"200": {"summary": {"marker_move_s": {"median": v, "n": 1}}}}}
    >>> print(comparison({"runs": {"a": run(2.5), "b": run(0.25)}}, "a", "b").splitlines()[4])
    | arrow key on a marker → interval table updated (s) | 2.50 → 0.250 |
    """
    a, b = data["runs"][first], data["runs"][second]
    sizes = sorted(set(a["sizes"]) & set(b["sizes"]), key=int)

    def cell(entry: dict, size: str, key: str) -> str:
        return fmt(entry["sizes"][size].get("summary", {}).get(key))

    lines = [
        f"## {first} → {second}",
        "",
        "| | " + " | ".join(f"{int(s):,} patients" for s in sizes) + " |",
        "|---|" + "---:|" * len(sizes),
    ]
    for key, title in METRICS:
        cells = [f"{cell(a, s, key)} → {cell(b, s, key)}" for s in sizes]
        if any(c != "— → —" for c in cells):
            lines.append(f"| {title} | " + " | ".join(cells) + " |")
    before = {(t, s): v for t, s, v, _ in target_rows(a, sizes)}
    lines += ["", f"| target | patients | {first} | {second} | |", "|---|---:|---:|---:|---|"]
    for t, s, v, met in target_rows(b, sizes):
        lines.append(f"| {t} | {s} | {before.get((t, s), '—')} | {v} | {met} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[200, 2000, 10_000])
    p.add_argument("--repeats", type=int, default=1)
    p.add_argument("--changes", type=int, default=10, help="threshold changes in all")
    p.add_argument("--label", default="latest", help="key of this run in the JSON")
    p.add_argument("--out", type=Path, default=RESULTS, help="JSON file (the .md goes beside)")
    p.add_argument("--timeout", type=float, default=300.0, help="per wait, seconds")
    p.add_argument("--keep", action="store_true", help="keep the temp folder")
    p.add_argument(
        "--kit",
        type=Path,
        default=ROOT,
        help="checkout whose msc_notebooks the kernels import (default: this one), "
        "e.g. a worktree at the commit to compare with",
    )
    p.add_argument(
        "--compare",
        nargs=2,
        metavar=("FIRST", "SECOND"),
        help="print two labels of --out side by side (no measurement), e.g. before latest",
    )
    a = p.parse_args(argv)
    if a.compare:
        print(comparison(json.loads(a.out.read_text()), *a.compare))
        return 0
    a.changes = max(1, min(a.changes, len(THRESHOLDS)))
    chromium = find_chromium()
    if chromium is None:
        print("no chromium installed: apt-get install chromium", file=sys.stderr)
        return 2
    from playwright.sync_api import sync_playwright

    base = Path(tempfile.mkdtemp(prefix="msc-wizard-bench-"))
    root = base / "root"
    root.mkdir()
    notebooks = {}
    for n in a.sizes:
        cohort_dir(n, data=root)  # root/n{n}/*.csv
        notebooks[n] = write_notebook(root / f"wizard_{n}.ipynb", f"n{n}").name
    entry: dict[str, object] = {"repeats": a.repeats, "changes": a.changes, "sizes": {}}
    server = start_lab(
        root, base / "home", app_settings_dir=write_overrides(base / "settings"), kit=a.kit
    )
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(
                executable_path=chromium, args=CHROMIUM_ARGS, headless=True
            )
            entry["machine"] = machine(browser.version)
            try:
                for n in a.sizes:
                    runs = []
                    size_info = {
                        "when": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
                        "git": git("rev-parse", "--short", "HEAD", repo=a.kit),
                        "git_subject": git("log", "-1", "--format=%s", repo=a.kit),
                        "kit": str(a.kit.resolve()),
                        "harness_git": git("rev-parse", "--short", "HEAD"),
                        "load_before": [round(x, 2) for x in os.getloadavg()],
                    }
                    for r in range(a.repeats):
                        print(f"{n} patients, repeat {r + 1}/{a.repeats} ...", flush=True)
                        try:
                            out = one_repeat(browser, server, notebooks[n], a, f"bench-{n}-{r}")
                        except Exception as exc:  # noqa: BLE001 - recorded, go on
                            out = {"errors": {"repeat": traceback.format_exc()[-1500:]}}
                            print(f"  failed: {exc}", file=sys.stderr)
                        out["load_average"] = [round(x, 2) for x in os.getloadavg()]
                        runs.append(out)
                        shown = {k: out.get(k) for k, _ in METRICS if k in out}
                        print("  " + json.dumps(shown), flush=True)
                        if out.get("errors"):
                            print("  errors: " + json.dumps(out["errors"])[:1500], flush=True)
                    entry["sizes"][str(n)] = {
                        **size_info,
                        "load_after": [round(x, 2) for x in os.getloadavg()],
                        "repeats": a.repeats,
                        "changes": a.changes,
                        "summary": summarise(runs),
                        "runs": runs,
                    }
            finally:
                browser.close()
    finally:
        server.stop()
    out_path = a.out
    data = json.loads(out_path.read_text()) if out_path.exists() else {}
    # sizes measured again under the same label replace theirs; the others are kept
    old = data.setdefault("runs", {}).get(a.label, {})
    entry["sizes"] = {**old.get("sizes", {}), **entry["sizes"]}
    data["runs"][a.label] = entry
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(json.dumps(data, indent=1) + "\n")
    md = markdown({"runs": {a.label: entry}}, only=[str(n) for n in a.sizes])
    text = markdown(data)
    for label in data["runs"]:
        if "before" in data["runs"] and label != "before":
            text += "\n" + comparison(data, "before", label)
    out_path.with_suffix(".md").write_text(text)
    print(md)
    if not a.keep:
        import shutil

        shutil.rmtree(base, ignore_errors=True)
    else:
        print(f"kept {base}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
