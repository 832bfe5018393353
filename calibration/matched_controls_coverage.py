"""Calibration of the matched-control comparison (SPEC §15): coverage with no effect, power.

Replicate studies, each: a fresh natural-history pool of untreated patients and a fresh
"treated" cohort of 30 drawn from the *same* process (no effect: the treated patients'
decline is untouched), injections at about days 120, 210, 300 and 420 (moved to the nearest
visit). Each treated cohort is analysed with the kit's default settings and compared with
matched controls (k = 5, caliper 0.5 SD). Counted per period: how often the 95 % CI of the
responder-rate difference (and of the median-improvement difference) covers 0, and the
mean difference. With ``--effect F`` the treated decline is multiplied by F from the first
injection on, and the share of CIs above 0 (power) is counted instead.

Generators: ``tests/matched_cohorts.py`` (monthly visits, wandering rates; written for
these tests) and, when present, ``msc_notebooks.synthetic.natural_history_cohort`` (the
kit's natural-history-like generator).

Usage::

    python calibration/matched_controls_coverage.py --replicates 200
    python calibration/matched_controls_coverage.py --replicates 100 --effect 0.2
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from matched_cohorts import natural_history_study, treated_cohort  # noqa: E402

from msc_notebooks import analyze, read_study  # noqa: E402
from msc_notebooks.matched_controls import match_controls  # noqa: E402

WANTED = (120, 210, 300, 420)


def _synthetic_pair(seed: int, n_pool: int, n_treated: int, effect: float):
    """Pool and treated cohort from msc_notebooks.synthetic (treated: another seed)."""
    from msc_notebooks.synthetic import natural_history_cohort

    pool = natural_history_cohort(n_pool, seed=seed)
    src = natural_history_cohort(n_treated, seed=seed + 7919, items=False)
    v = src.visits[["patient_id", "day", "alsfrs_r_total"]].copy()
    inj = []
    for pid, g in v.groupby("patient_id"):
        days = g["day"].to_numpy()
        at = sorted({days[np.argmin(np.abs(days - w))] for w in WANTED if w <= days[-1]})
        inj += [(pid, d) for d in at]
    inj = pd.DataFrame(inj, columns=["patient_id", "day"])
    if effect != 1.0:  # slow the decline after T1: score = score(T1) + effect * change since
        t1 = v["patient_id"].map(inj.groupby("patient_id")["day"].min())
        s1 = v.merge(
            inj.groupby("patient_id")["day"].min().rename("t1").reset_index(), on="patient_id"
        )
        at_t1 = s1[s1.day == s1.t1].set_index("patient_id")["alsfrs_r_total"]
        after = v["day"] > t1
        base = v["patient_id"].map(at_t1)
        v.loc[after, "alsfrs_r_total"] = np.round(
            base[after] + effect * (v.loc[after, "alsfrs_r_total"] - base[after])
        )
    pats = src.patients[["patient_id", "onset_day"]]
    return pool, read_study(v, inj, pats)


def run(replicates: int, seed: int, effect: float, generator: str) -> pd.DataFrame:
    rows = []
    for rep in range(replicates):
        s = seed + rep
        if generator == "tests":
            pool = natural_history_study(400, seed=s, prefix="N")
            treated = treated_cohort(30, seed=s + 100_000, effect=effect)
        else:
            pool, treated = _synthetic_pair(s, 400, 30, effect)
        m = match_controls(analyze(treated, safety=False), pool)
        for _, r in m.summary.iterrows():
            rows.append(
                {
                    "replicate": rep,
                    "period": r.period,
                    "difference_pct": r.difference_pct,
                    "covers": r.difference_ci_low <= 0 <= r.difference_ci_high,
                    "above": r.difference_ci_low > 0,
                    "median_covers": r.median_difference_ci_low <= 0 <= r.median_difference_ci_high,
                    "median_above": r.median_difference_ci_low > 0,
                    "n_unmatched": r.n_unmatched,
                }
            )
    return pd.DataFrame(rows)


def summarise(table: pd.DataFrame) -> pd.DataFrame:
    g = table.groupby("period", sort=False)
    return pd.DataFrame(
        {
            "replicates": g.size(),
            "mean_difference_pp": g["difference_pct"].mean().round(2),
            "sd_difference_pp": g["difference_pct"].std().round(2),
            "ci_covers_0_pct": (100 * g["covers"].mean()).round(1),
            "ci_above_0_pct": (100 * g["above"].mean()).round(1),
            "median_ci_covers_0_pct": (100 * g["median_covers"].mean()).round(1),
            "median_ci_above_0_pct": (100 * g["median_above"].mean()).round(1),
            "mean_unmatched": g["n_unmatched"].mean().round(2),
        }
    ).reset_index()


def markdown(table: pd.DataFrame) -> str:
    """A Markdown table (no extra dependency)."""
    lines = ["| " + " | ".join(table.columns) + " |", "|" + "---|" * len(table.columns)]
    lines += ["| " + " | ".join(str(v) for v in row) + " |" for row in table.to_numpy()]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--replicates", type=int, default=200)
    ap.add_argument("--seed", type=int, default=20261130)
    ap.add_argument("--effect", type=float, default=1.0)
    ap.add_argument("--generator", choices=["tests", "synthetic"], default="tests")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    table = run(args.replicates, args.seed, args.effect, args.generator)
    out = summarise(table)
    print(markdown(out))
    print(f"{time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
