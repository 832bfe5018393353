"""Time the clinical stages and ΔFS strata (SPEC §16) against cohort size (issue #16).

``PYTHONPATH=. python3 benchmarks/stages_benchmark.py --sizes 1000 10000 100000``

Cohorts from ``benchmarks/synth.py`` (ALSFRS-R totals only, no items: every stage is
missing with its reason, which is the most text per row) and the demo cohort with items.
Writes ``benchmarks/results/stages.json``: per size the wall-clock seconds of
``analyze``, ``stage_tables`` and ``strata_summary`` (one run each after the read).
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

from msc_notebooks import analyze, read_study  # noqa: E402
from msc_notebooks.stages import stage_tables  # noqa: E402
from msc_notebooks.strata import strata_summary  # noqa: E402


def one(n: int) -> dict:
    t = synth_cohort(n)
    study = read_study(t["visits"], t["injections"], t["patients"])
    row = {"patients": n, "assessments": int(len(study.visits))}
    start = time.perf_counter()
    result = analyze(study, safety=False)
    row["analyze_s"] = time.perf_counter() - start
    start = time.perf_counter()
    stage_tables(result)
    row["stage_tables_s"] = time.perf_counter() - start
    start = time.perf_counter()
    strata_summary(result)
    row["strata_summary_s"] = time.perf_counter() - start
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    args = parser.parse_args()
    rows = []
    for n in args.sizes:
        row = one(n)
        rows.append(row)
        print(json.dumps({k: round(v, 2) if isinstance(v, float) else v for k, v in row.items()}))
    out = HERE / "results" / "stages.json"
    out.write_text(
        json.dumps({"machine": platform.platform(), "rows": rows}, indent=2) + "\n",
        encoding="utf-8",
    )


if __name__ == "__main__":
    main()
