"""Coverage of the broken-stick model's 95 % intervals (SPEC §14; issue #15 point 2).

Replicate cohorts with known truth, fitted by :func:`msc_notebooks.slopes.fit_slopes`; for
each term, the share of replicates whose 95 % CI covers the true value (and for terms whose
truth is 0, the share whose CI excludes 0: the false-positive rate). Three generators:

- ``model``: the model itself (tests/slopes_synth.py): normal random intercept, slope and
  change at injection 1, normal noise SD 1, unrounded; truth: decline 1.0 before,
  change -0.5 at injection 1, +0.1 at 2, 0 at 3.
- ``model-rounded-null``: the same with no effect at any injection (all changes 0), scores
  rounded to whole points and kept within 0-48 (so no longer exactly the model).
- ``misspecified-null``: NOT the model: each patient's rate of decline (gamma, mean 0.9)
  changes at random times unrelated to the injections (about every 4 months, normal
  steps of SD 0.3), heavy-tailed noise (t with 4 df, scale 1), rounded, kept within 0-48;
  no effect of the injections (true mean change 0 at every injection; slope truth not
  defined, only the changes are scored).

Run (8-15 minutes per generator and size on one busy core; logs of the recorded runs in
calibration/results/slopes_coverage_*.log)::

    PYTHONPATH=. python3 calibration/slopes_coverage.py --replicates 200 --out calibration/slopes_coverage.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from slopes_synth import MONTH_DAYS, slope_cohort, true_terms  # noqa: E402

from msc_notebooks.loading import read_study  # noqa: E402
from msc_notebooks.slopes import fit_slopes  # noqa: E402

NULL = {"slope:reference": 1.0, "change:1": 0.0, "change:2": 0.0, "change:3": 0.0}


def misspecified_cohort(n: int, seed: int) -> dict:
    """No-effect cohort whose decline changes at random times (not the model)."""
    rng = np.random.default_rng(seed)
    base = slope_cohort(n, seed=seed, truth=NULL, sd_change=0.0)  # visit and injection times
    v = base["visits"].copy()
    out = []
    for _, g in v.groupby("patient_id", sort=False):
        months = g["day"].to_numpy() / MONTH_DAYS
        lo, hi = months.min(), months.max()
        knots = np.sort(rng.uniform(lo, hi, size=rng.poisson((hi - lo) / 4) + 0))
        rate0 = rng.gamma(4.0, 0.22)
        steps = rng.normal(0, 0.3, size=knots.size)
        slope = -rate0 * (months - lo)
        for kn, st in zip(knots, steps, strict=True):
            slope = slope - st * np.maximum(0.0, months - kn)
        y = 40 + rng.normal(0, 3) + slope + rng.standard_t(4, size=months.size)
        out.append(np.clip(np.round(y), 0, 48))
    v["alsfrs_r_total"] = np.concatenate(out)
    return {"visits": v, "injections": base["injections"], "truth": NULL}


#: name -> (cohort generator, outcome column fitted)
GENERATORS = {
    "model": (lambda n, seed: slope_cohort(n, seed=seed), "score"),
    "model-rounded-null": (
        lambda n, seed: slope_cohort(n, seed=seed, truth=NULL),
        "alsfrs_r_total",
    ),
    "misspecified-null": (misspecified_cohort, "alsfrs_r_total"),
}


def run(replicates: int, sizes: list[int], generators: list[str]) -> dict:
    results = {}
    for gen in generators:
        for n in sizes:
            hits: dict[str, list[bool]] = {}
            excl0: dict[str, list[bool]] = {}
            structures: dict[str, int] = {}
            notconv, t0 = 0, time.perf_counter()
            for r in range(replicates):
                seed = 10_000 * n + r
                make, outcome = GENERATORS[gen]
                c = make(n, seed)
                study = read_study(visits=c["visits"], injections=c["injections"])
                s = fit_slopes(study, outcome=outcome, method="mixed")
                table = s.table.set_index("term")
                structures[table.structure.iloc[0]] = structures.get(table.structure.iloc[0], 0) + 1
                notconv += int(not table.converged.iloc[0])
                truth = true_terms(c["truth"])
                for term, row in table.iterrows():
                    if gen == "misspecified-null" and not term.startswith("change"):
                        continue
                    if term not in truth:
                        continue
                    cover = row.ci_low <= truth[term] <= row.ci_high
                    hits.setdefault(term, []).append(bool(cover))
                    if truth[term] == 0:
                        excl0.setdefault(term, []).append(not cover)
            results[f"{gen}/n={n}"] = {
                "generator": gen,
                "patients": n,
                "replicates": replicates,
                "coverage": {k: float(np.mean(v)) for k, v in hits.items()},
                "fits_per_term": {k: len(v) for k, v in hits.items()},
                "false_positive_rate": {k: float(np.mean(v)) for k, v in excl0.items()},
                "structures": structures,
                "not_converged": notconv,
                "seconds": round(time.perf_counter() - t0, 1),
            }
            print(json.dumps(results[f"{gen}/n={n}"]), flush=True)
    return results


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--replicates", type=int, default=200)
    p.add_argument("--sizes", type=int, nargs="+", default=[20, 40])
    p.add_argument("--generators", nargs="+", default=list(GENERATORS))
    p.add_argument("--out", type=Path, default=Path("calibration/slopes_coverage.json"))
    a = p.parse_args()
    res = run(a.replicates, a.sizes, a.generators)
    a.out.write_text(json.dumps(res, indent=2))
    rows = []
    for key, r in res.items():
        for term, cov in r["coverage"].items():
            rows.append((key, term, cov, r["false_positive_rate"].get(term)))
    print(pd.DataFrame(rows, columns=["cohorts", "term", "coverage", "fpr"]).to_string())


if __name__ == "__main__":
    main()
