"""Speed of the no-effect simulation (SPEC §13): 2,000 simulations of a 100-patient cohort.

Target (issue #10): at most 2 s. Run ``python benchmarks/null_speed.py [patients]
[simulations]``; the figure goes into BENCHMARKS.md.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from synth import synth_cohort  # noqa: E402


def benchmark_null(n_patients: int = 100, n_simulations: int = 2000, repeat: int = 3) -> float:
    """Seconds (best of ``repeat``) for ``simulate_null`` (both models) on a synthetic cohort."""
    from msc_notebooks import analyze, read_study
    from msc_notebooks.null_model import simulate_null

    t = synth_cohort(n_patients, seed=0, time="day")
    result = analyze(read_study(t["visits"], t["injections"], t["patients"]), safety=False)
    best = float("inf")
    for _ in range(int(repeat)):
        t0 = time.perf_counter()
        simulate_null(result, n_simulations, seed=0)
        best = min(best, time.perf_counter() - t0)
    return best


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:3]]
    print(f"{benchmark_null(*args):.3f} s")
