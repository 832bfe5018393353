"""Run the msc-notebooks performance benchmarks (GitHub issue #8) and write JSON + markdown.

One command::

    python benchmarks/run_benchmarks.py [--sizes 100 1000 10000 100000] [--quick]

Every measurement runs in a fresh subprocess (``--worker``), so imports, caches and memory
of one measurement never leak into another. Timings are wall-clock (``time.perf_counter``),
best of ``--repeats`` runs (median also recorded). Peak memory is measured on a separate run
of the same work, two ways: the kernel's peak resident set (``VmHWM``, reset through
``/proc/self/clear_refs`` just before the work; ``ru_maxrss`` delta where that is not
possible) minus the resident set before the work, and ``tracemalloc``'s peak (Python and
numpy allocations; pyarrow buffers are not traced). The target uses the larger of the two.

Measured:

- ``engine_df``: ``read_study`` from DataFrames + ``analyze`` (safety off: no adverse events).
- ``engine_csv``: CSV files -> ``read_study`` -> ``analyze`` -> results written
  (``msc_notebooks.write_results`` when it exists, else pandas ``to_csv`` of every table).
- ``baseline``: ``benchmarks/baseline.py`` (a per-patient loop) on the same DataFrames;
  above ``--baseline-max`` patients its time is extrapolated linearly from the largest size
  measured, and the table says so.
- ``recompute`` (10,000 patients): threshold change -> ``reclassify`` (no rate recomputed);
  rate method change -> ``reclassify`` falls back to a full ``analyze``.
- ``import``: ``import msc_notebooks`` in a fresh interpreter, best of 5.
- ``notebook``: the generated ``guided.ipynb`` (``new_project``) executed headless with
  nbclient on the demo cohort, kernel start included.
- ``figures`` (10,000 patients): ``charts.all_figures(result)`` + ``to_dict()`` of each with
  the vegafusion data transformer enabled.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

TARGETS = {
    "df_100k_s": 1.5,
    "speedup": 30.0,
    "memory_ratio": 3.0,
    "threshold_ms": 50.0,
    "import_s": 1.0,
    "notebook_s": 20.0,
}


# ----------------------------------------------------------------------------- memory
def _hwm_kib() -> int | None:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def _rss_kib() -> int:
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") // 1024


def _reset_hwm() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def _measure(work, repeats: int) -> dict:
    """Time ``work()`` (best and median of ``repeats``), then its peak memory (two ways)."""
    times = []
    for _ in range(repeats):
        gc.collect()
        t0 = time.perf_counter()
        out = work()
        times.append(time.perf_counter() - t0)
        del out
    gc.collect()
    before = _rss_kib()
    reset = _reset_hwm()
    maxrss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    out = work()
    if reset:
        peak_rss = (_hwm_kib() - before) * 1024
    else:
        peak_rss = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - maxrss0) * 1024
    del out
    gc.collect()
    tracemalloc.start()
    out = work()
    _, peak_traced = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del out
    return {
        "best_s": min(times),
        "median_s": statistics.median(times),
        "times_s": times,
        "peak_rss_bytes": int(peak_rss),
        "peak_rss_method": "VmHWM reset" if reset else "ru_maxrss delta",
        "peak_traced_bytes": int(peak_traced),
    }


# ----------------------------------------------------------------------------- workers
def _tables(n: int, time_kind: str = "date"):
    from synth import synth_cohort

    return synth_cohort(n, seed=0, time=time_kind)


def _warm() -> None:
    """Import everything and run once on a tiny cohort (imports are measured separately)."""
    import msc_notebooks as msc

    t = _tables(20)
    msc.analyze(msc.read_study(t["visits"], t["injections"], t["patients"]), safety=False)


def _write_results(result, out_dir: Path) -> str:
    import msc_notebooks as msc

    try:
        writer = msc.write_results
    except (AttributeError, ImportError):
        writer = None
    if writer is not None:
        writer(result, out_dir)
        return "msc_notebooks.write_results"
    out_dir.mkdir(parents=True, exist_ok=True)
    for name in ("periods", "summary", "clinical", "clinical_patients", "intervals"):
        getattr(result, name).to_csv(out_dir / f"{name}.csv", index=False)
    (out_dir / "settings.json").write_text(result.settings.to_json(), encoding="utf-8")
    return "pandas to_csv (msc_notebooks.write_results not available)"


def worker(task: str, n: int, repeats: int, data: str | None) -> dict:
    from synth import table_bytes

    import msc_notebooks as msc

    _warm()
    if task == "engine_df":
        t = _tables(n)
        res = _measure(
            lambda: msc.analyze(
                msc.read_study(t["visits"], t["injections"], t["patients"]), safety=False
            ),
            repeats,
        )
        res["input_bytes"] = table_bytes(t)
        res["rows"] = {k: len(v) for k, v in t.items()}
        return res
    if task == "engine_csv":
        d = Path(data)
        out = Path(tempfile.mkdtemp(prefix="msc-bench-out-"))
        how = {}

        def work():
            s = msc.read_study(
                str(d / "visits.csv"), str(d / "injections.csv"), str(d / "patients.csv")
            )
            r = msc.analyze(s, safety=False)
            how["writer"] = _write_results(r, out / f"run{time.perf_counter_ns()}")
            return r

        res = _measure(work, repeats)
        res["writer"] = how["writer"]
        res["input_file_bytes"] = sum(
            (d / f"{k}.csv").stat().st_size for k in ("visits", "injections", "patients")
        )
        return res
    if task == "baseline":
        from baseline import baseline_analysis

        t = _tables(n)
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            baseline_analysis(t["visits"], t["injections"])
            times.append(time.perf_counter() - t0)
        return {"best_s": min(times), "median_s": statistics.median(times), "times_s": times}
    if task == "recompute":
        from msc_notebooks.analysis import reclassify

        t = _tables(n)
        result = msc.analyze(
            msc.read_study(t["visits"], t["injections"], t["patients"]), safety=False
        )
        times = []
        for i in range(max(repeats, 20)):
            t0 = time.perf_counter()
            new = reclassify(result, threshold_pct=30 + i % 2)
            times.append(time.perf_counter() - t0)
        assert new.rates is result.rates  # no rate recomputed
        m_times = []
        for _ in range(max(1, min(repeats, 3))):
            t0 = time.perf_counter()
            new = reclassify(result, method="ols")
            m_times.append(time.perf_counter() - t0)
        return {
            "threshold_best_ms": 1000 * min(times),
            "threshold_median_ms": 1000 * statistics.median(times),
            "threshold_rates_reused": True,
            "method_best_s": min(m_times),
            "method_median_s": statistics.median(m_times),
        }
    if task == "figures":
        import altair as alt

        from msc_notebooks import charts

        t = _tables(n)
        result = msc.analyze(
            msc.read_study(t["visits"], t["injections"], t["patients"]), safety=False
        )
        skip = tuple(p for p in (data or "").split(",") if p)
        times = []
        names: list[str] = []
        for _ in range(max(1, min(repeats, 3))):
            t0 = time.perf_counter()
            with alt.data_transformers.enable("vegafusion"):
                figs = charts.all_figures(result)
                names = [k for k in figs if not k.startswith(skip)] if skip else list(figs)
                for name in names:
                    figs[name].to_dict(format="vega")
            times.append(time.perf_counter() - t0)
        return {
            "best_s": min(times),
            "median_s": statistics.median(times),
            "figures": len(names),
            "names": names,
            "skipped_prefixes": list(skip),
        }
    raise SystemExit(f"unknown task {task}")


# ----------------------------------------------------------------------------- parent
def _run_worker(task: str, n: int, repeats: int, data: str | None = None) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", task, "--n", str(n)]
    cmd += ["--repeats", str(repeats)]
    if data:
        cmd += ["--data", data]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        signal = f" (killed by signal {-proc.returncode})" if proc.returncode < 0 else ""
        raise RuntimeError(
            f"worker {task} n={n} failed with exit code {proc.returncode}{signal}:"
            f"\n{proc.stderr[-3000:]}"
        )
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _import_time(repeats: int = 5) -> dict:
    code = "import time; t=time.perf_counter(); import msc_notebooks; print(time.perf_counter()-t)"
    inproc, whole = [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        whole.append(time.perf_counter() - t0)
        inproc.append(float(out.stdout.strip()))
    return {"best_s": min(inproc), "process_best_s": min(whole), "times_s": inproc}


def _notebook_time(repeats: int) -> dict:
    import nbformat
    from nbclient import NotebookClient

    from msc_notebooks.projects import new_project

    root = Path(tempfile.mkdtemp(prefix="msc-bench-nb-"))
    project = new_project(root / "study")
    guided = project / "guided.ipynb"
    times = []
    for _ in range(repeats):
        nb = nbformat.read(guided, as_version=4)
        t0 = time.perf_counter()
        NotebookClient(
            nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(project)}}
        ).execute()
        times.append(time.perf_counter() - t0)
    cells = sum(1 for c in nb.cells if c.cell_type == "code")
    return {
        "best_s": min(times),
        "median_s": statistics.median(times),
        "times_s": times,
        "notebook": "templates/msc-study guided.ipynb (new_project, demo cohort)",
        "code_cells": cells,
    }


def machine() -> dict:
    import importlib.metadata as md

    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                ram = round(int(line.split()[1]) / 1024**2, 1)
    except OSError:
        pass
    versions = {}
    for pkg in ("msc-notebooks", "pandas", "numpy", "scipy", "pyarrow", "altair", "vegafusion"):
        try:
            versions[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            versions[pkg] = None
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "ram_gib": ram,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "versions": versions,
    }


def _mb(b: float) -> str:
    return f"{b / 1e6:.1f} MB"


def _peak(r: dict) -> int:
    """Peak memory of one measurement: the larger of peak RSS and traced allocations."""
    return max(r["peak_rss_bytes"], r["peak_traced_bytes"])


def _by_size(runs: dict) -> list:
    """``(patients, measurement)`` pairs in increasing number of patients (JSON keys are text)."""
    return sorted(runs.items(), key=lambda kv: int(kv[0]))


def _timed_row(label: str, n: str, r: dict, *cells: str) -> str:
    """A measurement's table row: label, patients, best and median time, then ``cells``."""
    head = [label, f"{int(n):,}", f"{r['best_s']:.3f} s", f"{r['median_s']:.3f} s"]
    return "| " + " | ".join([*head, *cells]) + " |"


def markdown(res: dict) -> str:
    lines = ["| measurement | patients | best | median | peak memory | input | notes |"]
    lines.append("|---|---:|---:|---:|---:|---:|---|")
    for n, r in _by_size(res["engine_df"]):
        peak = _peak(r)
        memory = f"{_mb(peak)} ({peak / r['input_bytes']:.2f}× input)"
        notes = f"RSS {_mb(r['peak_rss_bytes'])}, traced {_mb(r['peak_traced_bytes'])}"
        label = "DataFrames → read_study + analyze"
        lines.append(_timed_row(label, n, r, memory, _mb(r["input_bytes"]), notes))
    for n, r in _by_size(res["engine_csv"]):
        label = "CSV files → read_study + analyze + write"
        files = f"{_mb(r['input_file_bytes'])} (files)"
        lines.append(_timed_row(label, n, r, _mb(_peak(r)), files, r["writer"]))
    for n, r in _by_size(res["baseline"]):
        eng = res["engine_df"].get(n)
        ratio = f"baseline time ÷ engine time = {r['best_s'] / eng['best_s']:.1f}" if eng else ""
        note = "EXTRAPOLATED linearly from " + r["from"] if r.get("extrapolated") else "measured"
        med = f"{r['median_s']:.3f} s" if "median_s" in r else "–"
        lines.append(
            f"| baseline (per-patient loop) | {int(n):,} | {r['best_s']:.3f} s | {med} | – | – "
            f"| {note}; {ratio} |"
        )
    rc = res.get("recompute")
    if rc:
        lines.append(
            f"| threshold change → reclassify | {rc['n']:,} | {rc['threshold_best_ms']:.1f} ms | "
            f"{rc['threshold_median_ms']:.1f} ms | – | – | rates reused (no slope recomputed) |"
        )
        lines.append(
            f"| rate method change → analyze | {rc['n']:,} | {rc['method_best_s']:.3f} s | "
            f"{rc['method_median_s']:.3f} s | – | – | full recomputation |"
        )
    im = res.get("import")
    if im:
        lines.append(
            f"| import msc_notebooks | – | {im['best_s'] * 1000:.0f} ms | – | – | – | fresh "
            f"interpreter, best of 5; whole process {im['process_best_s']:.2f} s |"
        )
    nb = res.get("notebook")
    if nb:
        lines.append(
            f"| guided notebook end to end | 20 (demo) | {nb['best_s']:.1f} s | "
            f"{nb['median_s']:.1f} s | – | – | {nb['notebook']}, kernel start included |"
        )
    fg = res.get("figures")
    if fg:
        lines.append(
            f"| all figures + to_dict (vegafusion) | {fg['n']:,} | {fg['best_s']:.2f} s | "
            f"{fg['median_s']:.2f} s | – | – | {fg['figures']} figures"
            + (
                f"; WITHOUT {', '.join(fg['skipped_prefixes'])}* (those crash the process: "
                "see BENCHMARKS.md)"
                if fg.get("skipped_prefixes")
                else ""
            )
            + " |"
        )
    lines.append("")
    lines.append("Targets:")
    lines.append("")
    for name, t in res["targets"].items():
        lines.append(f"- {name}: {t['value']} (target {t['target']}) — **{t['status']}**")
    return "\n".join(lines) + "\n"


def targets(res: dict) -> dict:
    out = {}
    big = max(res["engine_df"], key=int) if res["engine_df"] else None

    def row(value: str, target: str, ok: bool) -> dict:
        return {"value": value, "target": target, "status": "met" if ok else "not met"}

    if big:
        r = res["engine_df"][big]
        out[f"{int(big):,} patients from DataFrames"] = row(
            f"{r['best_s']:.2f} s",
            "≤ 1.5 s (100,000 patients)",
            r["best_s"] <= TARGETS["df_100k_s"],
        )
        b = res["baseline"].get(big)
        if b:
            ratio = b["best_s"] / r["best_s"]
            extrapolated = " (baseline extrapolated)" if b.get("extrapolated") else ""
            out[f"speed-up vs baseline at {int(big):,}"] = row(
                f"{ratio:.1f}×{extrapolated}", "≥ 30×", ratio >= TARGETS["speedup"]
            )
        peak = _peak(r)
        out[f"peak memory at {int(big):,}"] = row(
            f"{peak / r['input_bytes']:.2f}× input ({_mb(peak)} vs {_mb(r['input_bytes'])})",
            "≤ 3× input tables",
            peak <= TARGETS["memory_ratio"] * r["input_bytes"],
        )
    if res.get("recompute"):
        v = res["recompute"]["threshold_best_ms"]
        out["threshold change, 10,000 patients"] = row(
            f"{v:.1f} ms", "≤ 50 ms", v <= TARGETS["threshold_ms"]
        )
    if res.get("import"):
        v = res["import"]["best_s"]
        out["import msc_notebooks"] = row(f"{v * 1000:.0f} ms", "≤ 1 s", v <= TARGETS["import_s"])
    if res.get("notebook"):
        v = res["notebook"]["best_s"]
        out["guided notebook end to end"] = row(f"{v:.1f} s", "≤ 20 s", v <= TARGETS["notebook_s"])
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 10000, 100000])
    p.add_argument("--quick", action="store_true", help="sizes 100 and 1000, 1 repeat")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--baseline-max", type=int, default=10000)
    p.add_argument("--recompute-n", type=int, default=10000)
    p.add_argument("--out", default=str(HERE / "results"))
    p.add_argument("--skip", nargs="*", default=[], help="e.g. notebook figures csv baseline")
    p.add_argument("--worker", help=argparse.SUPPRESS)
    p.add_argument("--n", type=int, help=argparse.SUPPRESS)
    p.add_argument("--data", help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if a.worker:
        print(json.dumps(worker(a.worker, a.n, a.repeats, a.data)))
        return 0
    if a.quick:
        a.sizes, a.repeats, a.recompute_n = [100, 1000], 1, 1000
    res: dict = {"machine": machine(), "engine_df": {}, "engine_csv": {}, "baseline": {}}
    res["command"] = "python benchmarks/run_benchmarks.py " + " ".join(sys.argv[1:])
    res["started"] = time.strftime("%Y-%m-%d %H:%M:%S %Z")

    def log(msg: str) -> None:
        print(msg, flush=True)

    from synth import synth_cohort

    for n in a.sizes:
        reps = a.repeats if n <= 10000 else max(1, a.repeats)
        r = _run_worker("engine_df", n, reps)
        res["engine_df"][str(n)] = r
        log(f"engine_df  n={n:>7}: {r['best_s']:.3f} s, peak RSS {_mb(r['peak_rss_bytes'])}")
        if "csv" not in a.skip:
            with tempfile.TemporaryDirectory(prefix="msc-bench-csv-") as d:
                t = synth_cohort(n, seed=0)
                for name, df in t.items():
                    df.to_csv(Path(d) / f"{name}.csv", index=False, date_format="%Y-%m-%d")
                del t
                r = _run_worker("engine_csv", n, reps, d)
            res["engine_csv"][str(n)] = r
            log(f"engine_csv n={n:>7}: {r['best_s']:.3f} s")
        if "baseline" not in a.skip and n <= a.baseline_max:
            r = _run_worker("baseline", n, 1 if n >= 10000 else reps)
            res["baseline"][str(n)] = r
            log(f"baseline   n={n:>7}: {r['best_s']:.3f} s")
    if "baseline" not in a.skip:
        measured = [int(k) for k in res["baseline"]]
        for n in a.sizes:
            if n > a.baseline_max and measured:
                src = max(measured)
                b = res["baseline"][str(src)]
                res["baseline"][str(n)] = {
                    "best_s": b["best_s"] * n / src,
                    "extrapolated": True,
                    "from": f"{src:,} patients ({b['best_s']:.2f} s × {n // src})",
                }
    if "recompute" not in a.skip:
        r = _run_worker("recompute", a.recompute_n, a.repeats)
        r["n"] = a.recompute_n
        res["recompute"] = r
        log(
            f"recompute  n={a.recompute_n}: threshold {r['threshold_best_ms']:.1f} ms, "
            f"method {r['method_best_s']:.3f} s"
        )
    if "import" not in a.skip:
        res["import"] = _import_time(5)
        log(f"import: {res['import']['best_s'] * 1000:.0f} ms")
    if "notebook" not in a.skip:
        res["notebook"] = _notebook_time(1 if a.quick else a.repeats)
        log(f"notebook: {res['notebook']['best_s']:.1f} s")
    if "figures" not in a.skip:
        try:
            r = _run_worker("figures", a.recompute_n, 1 if a.quick else 2)
        except RuntimeError as err:
            # e.g. a crash inside vegafusion: say so, and time the figures that do build
            first_error = str(err)[-500:]
            r = _run_worker("figures", a.recompute_n, 1 if a.quick else 2, "improvement_")
            r["error_with_all_figures"] = first_error
        r["n"] = a.recompute_n
        res["figures"] = r
        log(f"figures n={a.recompute_n}: {r['best_s']:.2f} s")
    res["targets"] = targets(res)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(res, indent=2), encoding="utf-8")
    md = markdown(res)
    (out / "results.md").write_text(md, encoding="utf-8")
    print(md)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
