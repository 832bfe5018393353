"""Calibration of the no-effect expectation of each outcome type (SPEC §13, issue #21).

Replicate 40-patient cohorts with NO treatment effect (``tests/outcome_cohorts.py``): a
continuous FVC-like score and a 0-12 whole-point ALSFRS-R domain, each (a) declining at
one constant rate per patient (the kit's model for an outcome without natural history)
and (b) with the rate changing at random every 3 months (the model is wrong), without
and (c) with an untreated cohort of the same generator given as natural history, and (d)
declining along a smooth sigmoid (non-linear) trajectory; "power" generators add a known
effect (50 % slower decline after injection 1). Each cohort
goes through :func:`msc_notebooks.analysis.outcome_summaries` as ``--outcomes`` runs it
(sigma from the outcome's own run-in, its own range and rounding). Per scenario and
period: coverage (observed responder count inside the simulated 2.5-97.5 % range) and
false positives (no-effect p <= 0.05), for the model and its constant-rate line.

Usage::

    python calibration/outcomes_coverage.py                  # 100 cohorts x 400 simulations
    python calibration/outcomes_coverage.py --cohorts 10 --simulations 200   # quick look
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from coverage import coverage_flags, coverage_rates  # noqa: E402
from outcome_cohorts import KINDS, no_effect_cohort  # noqa: E402

from msc_notebooks.analysis import outcome_summaries  # noqa: E402
from msc_notebooks.natural_history import read_natural_history  # noqa: E402

PERIODS = ("1-2", "2-3", "3-4", "after-last", "whole")


#: generator name -> (``no_effect_cohort`` keywords, a natural-history cohort is given);
#: "power" generators have a known effect (50 % slower decline after injection 1): their
#: p <= 0.05 share is the power
SCENARIOS = {
    "constant rate": ({}, False),
    "rate changes": ({"rate_change": True}, False),
    "rate changes + natural history": ({"rate_change": True}, True),
    "sigmoid decline": ({"sigmoid_months": 6.0}, False),
    "power (constant rate)": ({"effect": 0.5}, False),
    "power (sigmoid decline)": ({"sigmoid_months": 6.0, "effect": 0.5}, False),
    # visit noise SD 0.2 points, below the rounding SD of whole points (0.29): for a
    # domain, sigma is then floored at the rounding SD (issue #17's Sheppard floor)
    "quiet scores": ({"noise_sd": 0.2}, False),
    "quiet scores + rate changes": ({"noise_sd": 0.2, "rate_change": True}, False),
    "power (quiet scores)": ({"noise_sd": 0.2, "effect": 0.5}, False),
}


def natural_history_for(kind: str):
    """One untreated 200-patient cohort of the same generator (a user has one), read as
    natural history: the rate change is estimated there at the trial's schedule."""
    visits = no_effect_cohort(kind, 999, n=200, rate_change=True).visits
    return read_natural_history(visits.drop(columns=["row"], errors="ignore"))


def run(
    cohorts: int, simulations: int, scenarios: list[str], kinds: list[str] | None = None
) -> pd.DataFrame:
    rows = []
    for kind in kinds or sorted(KINDS):
        col = KINDS[kind][0]
        for name in scenarios:
            spec, with_nh = SCENARIOS[name]
            nh = natural_history_for(kind) if with_nh else None
            for seed in range(cohorts):
                study = no_effect_cohort(kind, 1000 + seed, **spec)
                t = outcome_summaries(
                    study, outcomes=[col], n_simulations=simulations, seed=seed, natural_history=nh
                )
                t = t[t.period.isin(PERIODS)]
                for r in t.itertuples():
                    rows.append(
                        {
                            "outcome_type": kind,
                            "generator": name,
                            "period": r.period,
                            "n_evaluable": r.n_evaluable,
                            "observed": r.n_responders,
                            **coverage_flags(
                                r.n_responders,
                                r.expected_low,
                                r.expected_high,
                                r.no_effect_p_value,
                                r.expected_low_constant,
                                r.expected_high_constant,
                                r.no_effect_p_value_constant,
                            ),
                            # the before/after test (SPEC §7), for comparison
                            "wilcoxon_p05": bool(r.wilcoxon_p <= 0.05),
                            # sigma floored at the rounding SD (whole-point scores)
                            "sigma_floored": "floored" in str(r.sigma_source),
                        }
                    )
    return pd.DataFrame(rows)


def table(raw: pd.DataFrame) -> pd.DataFrame:
    out = coverage_rates(
        raw,
        ["outcome_type", "generator", "period"],
        wilcoxon_p05_pct=("wilcoxon_p05", "mean"),
        sigma_floored_pct=("sigma_floored", "mean"),
    )
    out[["wilcoxon_p05_pct", "sigma_floored_pct"]] *= 100
    pct = ["coverage_pct", "p05_pct", "coverage_constant_pct", "p05_constant_pct"]
    pct += ["wilcoxon_p05_pct", "sigma_floored_pct"]
    return out.round({c: 1 for c in ["mean_evaluable", "mean_observed", *pct]})


def markdown(t: pd.DataFrame) -> str:
    lines = ["| " + " | ".join(t.columns) + " |", "|" + "---|" * len(t.columns)]
    lines += ["| " + " | ".join(str(v) for v in row) + " |" for row in t.itertuples(index=False)]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cohorts", type=int, default=100)
    ap.add_argument("--simulations", type=int, default=400)
    ap.add_argument("--scenarios", default=",".join(SCENARIOS), help="comma-separated")
    ap.add_argument("--kinds", default=",".join(sorted(KINDS)), help="comma-separated")
    ap.add_argument("--name", default="outcomes_coverage", help="results/NAME.md")
    args = ap.parse_args()
    t0 = time.time()
    raw = run(args.cohorts, args.simulations, args.scenarios.split(","), args.kinds.split(","))
    result = table(raw)
    out = Path(__file__).resolve().parent / "results" / f"{args.name}.md"
    out.write_text(
        f"{args.cohorts} cohorts x {args.simulations} simulations, "
        f"{time.time() - t0:.0f} s\n\n" + markdown(result) + "\n",
        encoding="utf-8",
    )
    print(out.read_text(encoding="utf-8"))


if __name__ == "__main__":
    main()
