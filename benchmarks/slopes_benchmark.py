"""Fit time of the broken-stick model (SPEC §14; issue #15) against the number of patients.

For each size, a cohort from ``benchmarks/synth.py`` (12 assessments per patient, 1-4
injections, rounded scores: not the model's own generator) is read with ``read_study`` and
fitted by ``fit_slopes`` with ``method="mixed"`` (statsmodels MixedLM, every fallback it
needs) and ``method="two-stage"``. Wall-clock seconds (``time.perf_counter``), one run per
size (the mixed model at 10,000 patients takes minutes; no repeat), after a warm-up fit of
a small cohort (imports not counted). No tracemalloc: it slows MixedLM's Python loops
many-fold. Results go to ``benchmarks/results/slopes.json`` and are copied into
BENCHMARKS.md by hand.

Run::

    PYTHONPATH=. python3 benchmarks/slopes_benchmark.py --sizes 20 200 2000 10000
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from synth import synth_cohort  # noqa: E402

from msc_notebooks.loading import read_study  # noqa: E402
from msc_notebooks.slopes import fit_slopes  # noqa: E402


def measure(n: int, methods: list[str]) -> dict:
    tables = synth_cohort(n, seed=1, time="day")
    study = read_study(**tables)
    out = {"patients": n, "visits": int(len(study.visits))}
    for method in methods:
        t0 = time.perf_counter()
        s = fit_slopes(study, method=method)
        seconds = time.perf_counter() - t0
        t = s.table.set_index("term")
        out[method] = {
            "seconds": round(seconds, 2),
            "structure": str(t.structure.iloc[0]),
            "converged": bool(t.converged.iloc[0]),
            "structures_tried": len(s.attempts),
            "slope_reference": round(float(t.loc["slope:reference", "estimate"]), 4),
            "change_1": round(float(t.loc["change:1", "estimate"]), 4),
            "change_1_se": round(float(t.loc["change:1", "se"]), 4),
        }
        print(n, method, out[method], flush=True)
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[20, 200, 2000, 10000])
    p.add_argument("--methods", nargs="+", default=["mixed", "two-stage"])
    p.add_argument("--out", type=Path, default=HERE / "results" / "slopes.json")
    a = p.parse_args()
    import statsmodels

    warm = read_study(**synth_cohort(10, seed=2, time="day"))
    for method in a.methods:
        fit_slopes(warm, method=method)
    old = json.loads(a.out.read_text()) if a.out.exists() else {}
    results = old.get("results", {})
    for n in a.sizes:
        results[str(n)] = measure(n, a.methods)
    meta = {
        "python": platform.python_version(),
        "statsmodels": statsmodels.__version__,
        "machine": platform.machine(),
        "note": "2 cores shared with other jobs; wall-clock, one run per size",
    }
    a.out.write_text(json.dumps({"meta": meta, "results": results}, indent=2))


if __name__ == "__main__":
    main()
