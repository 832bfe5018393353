"""Scale targets of issue #18: figures, PNG size, CSV end to end, command-line start-up.

One command per target (each runs the kit as a user does, in a fresh process)::

    python benchmarks/scale.py cohort --n 10000               # CSV files of a cohort
    python benchmarks/scale.py figures --n 10000 --label after  # analyze with and without --figures
    python benchmarks/scale.py csv --n 100000 --label after     # CSV -> all result files vs pandas.read_csv
    python benchmarks/scale.py demo --label after               # analyze --demo vs import pandas, numpy
    python benchmarks/scale.py importtime                       # -X importtime of analyze --demo

Each case appends its figures under ``--label`` to ``benchmarks/results/scale.json`` (so
the figures before and after a change sit side by side) and prints them. Cohorts come from
``synth.synth_cohort`` plus adverse events (``add_adverse_events``), written as CSV into
``--data`` (default ``/tmp/msc-scale``). Timings are wall clock of the whole process
(``time.perf_counter`` around ``subprocess``), best of ``--repeats``; peak memory is the
child's ``ru_maxrss`` from ``os.wait4``. Nothing here is a timed test.

Targets (issue #18):

- ``figures``: ``analyze --figures`` on 10,000 patients within 10x the same analysis
  without figures; every PNG <= 2 MB and <= 4,000 pixels on its longer side.
- ``csv``: 100,000 patients from CSV to all result files within 3x the time
  ``pandas.read_csv`` needs to read the same CSV files.
- ``demo``: ``analyze --demo`` from the command line within 2x the time of
  ``python -c "import pandas, numpy"`` plus the analysis itself (measured in a warm
  process).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import struct
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
RESULTS = HERE / "results" / "scale.json"
DATA = Path(os.environ.get("MSC_SCALE_DATA", "/tmp/msc-scale"))
CLI = [sys.executable, "-m", "msc_notebooks.cli"]

TARGETS = {
    "figures_ratio": 10.0,
    "png_bytes": 2_000_000,
    "png_pixels": 4000,
    "csv_ratio": 3.0,
    "demo_ratio": 2.0,
}

_TERMS = ("headache", "back pain", "subfebrile fever", "nausea", "injection site pain")


def add_adverse_events(tables: dict, seed: int = 0) -> None:
    """Add an ``adverse_events`` table (about 1.5 events per patient) to a synth cohort.

    Events fall 0-20 days after a random injection of the patient; terms, severities and
    seriousness are drawn at random (about 2 % serious).

    Examples
    --------
    >>> from synth import synth_cohort
    >>> t = synth_cohort(20, seed=1)
    >>> add_adverse_events(t)
    >>> sorted(t["adverse_events"].columns)[:3]
    ['date', 'patient_id', 'serious']
    """
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    inj = tables["injections"]
    n = int(len(tables["patients"]) * 1.5)
    rows = inj.iloc[rng.integers(0, len(inj), size=n)]
    offset = pd.to_timedelta(rng.integers(0, 21, size=n), unit="D")
    tables["adverse_events"] = pd.DataFrame(
        {
            "patient_id": rows["patient_id"].to_numpy(),
            "date": (rows["date"] + offset).dt.strftime("%Y-%m-%d").to_numpy(),
            "term": rng.choice(_TERMS, size=n),
            "severity": rng.choice(["mild", "moderate", "severe"], size=n, p=[0.7, 0.25, 0.05]),
            "serious": np.where(rng.random(n) < 0.02, "yes", "no"),
        }
    )


def cohort_dir(n: int, data: Path = DATA) -> Path:
    """Write (once) the CSV files of an ``n``-patient cohort and return their folder."""
    d = data / f"n{n}"
    if (d / "adverse_events.csv").exists():
        return d
    from synth import synth_cohort

    d.mkdir(parents=True, exist_ok=True)
    tables = synth_cohort(n, seed=0, time="date")
    add_adverse_events(tables)
    for name, frame in tables.items():
        frame.to_csv(d / f"{name}.csv", index=False)
    return d


def _files(d: Path) -> list[str]:
    args = []
    for name in ("visits", "injections", "patients", "adverse_events"):
        args += [f"--{name.replace('_', '-')}", str(d / f"{name}.csv")]
    return args


def run(cmd: list[str]) -> dict:
    """Run a command; wall and CPU time (s) and the child's peak resident set (bytes)."""
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - t0
    err = proc.stderr.read().decode() if proc.stderr else ""
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{err[-2000:]}")
    cpu = usage.ru_utime + usage.ru_stime  # less disturbed than wall time by a busy machine
    return {"s": seconds, "cpu_s": cpu, "peak_rss_bytes": usage.ru_maxrss * 1024}


def best(cmd: list[str], repeats: int) -> dict:
    runs = [run(cmd) for _ in range(repeats)]
    top = min(runs, key=lambda r: r["s"])
    return {**top, "times_s": [r["s"] for r in runs]}


def png_size(path: Path) -> tuple[int, int]:
    """Width and height of a PNG from its IHDR chunk."""
    with open(path, "rb") as f:
        head = f.read(24)
    return struct.unpack(">II", head[16:24])


def case_figures(n: int, repeats: int) -> dict:
    d = cohort_dir(n)
    out = Path(tempfile.mkdtemp(prefix="msc-scale-fig-"))
    plain = best([*CLI, "analyze", *_files(d), "--out", str(out / "plain")], repeats)
    figs = best([*CLI, "analyze", *_files(d), "--out", str(out / "figs"), "--figures"], 1)
    pngs = {}
    for p in sorted((out / "figs").glob("*.png")):
        w, h = png_size(p)
        pngs[p.stem] = {"bytes": p.stat().st_size, "width": w, "height": h}
    total = sum(p.stat().st_size for p in (out / "figs").iterdir())
    largest = max(pngs.values(), key=lambda v: v["bytes"]) if pngs else {}
    longest = max((max(v["width"], v["height"]) for v in pngs.values()), default=0)
    return {
        "patients": n,
        "without_figures": plain,
        "with_figures": figs,
        "ratio": figs["s"] / plain["s"],
        "cpu_ratio": figs["cpu_s"] / plain["cpu_s"],
        "pngs": pngs,
        "largest_png_bytes": largest.get("bytes", 0),
        "longest_png_side": longest,
        "output_bytes": total,
        "out_dir": str(out / "figs"),
        "met": {
            "figures_ratio": figs["s"] / plain["s"] <= TARGETS["figures_ratio"],
            "png_bytes": largest.get("bytes", 0) <= TARGETS["png_bytes"],
            "png_pixels": longest <= TARGETS["png_pixels"],
        },
    }


_READ = """
import sys, time
import pandas as pd
t0 = time.perf_counter()
for name in ("visits", "injections", "patients", "adverse_events"):
    pd.read_csv(sys.argv[1] + "/" + name + ".csv")
print(time.perf_counter() - t0)
"""

_ANALYZE = """
import sys, time
from msc_notebooks.pipeline import run_analysis
d, out = sys.argv[1], sys.argv[2]
run_analysis(demo=True, out=out + "/warm")  # imports and first-call costs
t0 = time.perf_counter()
if d == "demo":
    run_analysis(demo=True, out=out + "/timed")
else:
    run_analysis(*(d + "/" + n + ".csv" for n in ("visits", "injections", "patients",
                 "adverse_events")), out=out + "/timed")
print(time.perf_counter() - t0)
"""


def _inproc(code: str, *args: str) -> float:
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    out = subprocess.run(
        [sys.executable, "-c", code, *args], env=env, capture_output=True, text=True, check=True
    )
    return float(out.stdout.strip().splitlines()[-1])


def case_csv(n: int, repeats: int) -> dict:
    d = cohort_dir(n)
    out = Path(tempfile.mkdtemp(prefix="msc-scale-csv-"))
    read = min(_inproc(_READ, str(d)) for _ in range(repeats))
    work = min(_inproc(_ANALYZE, str(d), str(out / f"r{i}")) for i in range(repeats))
    cli = best([*CLI, "analyze", *_files(d), "--out", str(out / "cli")], 1)
    return {
        "patients": n,
        "csv_bytes": sum(p.stat().st_size for p in d.glob("*.csv")),
        "pandas_read_csv_s": read,
        "csv_to_results_s": work,
        "cli_wall_s": cli["s"],
        "cli_peak_rss_bytes": cli["peak_rss_bytes"],
        "ratio": work / read,
        "met": {"csv_ratio": work / read <= TARGETS["csv_ratio"]},
    }


def case_demo(repeats: int) -> dict:
    out = Path(tempfile.mkdtemp(prefix="msc-scale-demo-"))
    imports = best([sys.executable, "-c", "import pandas, numpy"], repeats)
    analysis = min(_inproc(_ANALYZE, "demo", str(out / f"a{i}")) for i in range(repeats))
    cli = best([*CLI, "analyze", "--demo", "--out", str(out / "cli")], repeats)
    bound = imports["s"] + analysis
    return {
        "import_pandas_numpy_s": imports["s"],
        "analysis_s": analysis,
        "cli_s": cli["s"],
        "cli_peak_rss_bytes": cli["peak_rss_bytes"],
        "ratio": cli["s"] / bound,
        "met": {"demo_ratio": cli["s"] <= TARGETS["demo_ratio"] * bound},
    }


def case_importtime() -> dict:
    """Cumulative import time (s) of the slowest top-level packages in ``analyze --demo``."""
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    out = Path(tempfile.mkdtemp(prefix="msc-scale-imp-"))
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "msc_notebooks.cli", "analyze", "--demo"]
        + ["--out", str(out)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    top: dict[str, float] = {}
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        _, cumulative, raw = line[len("import time:") :].split("|")
        name, depth = raw.strip(), len(raw) - len(raw.lstrip())
        if not cumulative.strip().isdigit():
            continue
        for watched in ("scipy.stats", "statsmodels", "altair", "vl_convert", "vegafusion"):
            if name == watched:
                top[f"{name} (anywhere)"] = (
                    top.get(f"{name} (anywhere)", 0.0) + int(cumulative) / 1e6
                )
        if depth == 1:  # imported by the program itself, not by another module
            top[name] = top.get(name, 0.0) + int(cumulative) / 1e6
    heavy = dict(sorted(top.items(), key=lambda kv: -kv[1])[:15])
    return {"cumulative_s": heavy, "total_s": sum(v for k, v in top.items() if "(" not in k)}


def machine() -> dict:
    import importlib.metadata as md

    versions = {}
    for pkg in ("pandas", "numpy", "altair", "vegafusion", "vl-convert-python", "scipy"):
        try:
            versions[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            versions[pkg] = None
    return {
        "python": platform.python_version(),
        "cores": os.cpu_count(),
        "load_average": os.getloadavg()[0],
        "versions": versions,
    }


def record(case: str, label: str, figures: dict) -> None:
    data = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    entry = {
        "when": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "git": subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
        ).stdout.strip(),
        "machine": machine(),
        **figures,
    }
    data.setdefault(case, {})[label] = entry
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("case", choices=["cohort", "figures", "csv", "demo", "importtime"])
    p.add_argument("--n", type=int, default=10_000, help="patients")
    p.add_argument("--label", default="after", help="'before' or 'after' (key in scale.json)")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--no-record", action="store_true", help="print only")
    a = p.parse_args(argv)
    if a.case == "cohort":
        print(cohort_dir(a.n))
        return 0
    if a.case == "figures":
        figures = case_figures(a.n, a.repeats)
    elif a.case == "csv":
        figures = case_csv(a.n, a.repeats)
    elif a.case == "demo":
        figures = case_demo(a.repeats)
    else:
        figures = case_importtime()
    print(json.dumps(figures, indent=1))
    if not a.no_record:
        case = a.case if a.case != "figures" else f"figures_{a.n}"
        record(case, a.label, figures)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
