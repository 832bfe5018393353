"""Calibration of the no-effect simulation (SPEC §13): does the simulated range hold?

Generates replicate cohorts with NO treatment effect (each patient declines at a constant
true rate; scores = line + N(0, sigma^2), rounded, kept in 0-48), at a trial-like design
(monthly visits with a few days' jitter, run-in 3-6 months, 2-4 injections 3-6 months
apart, follow-up 3-6 months after the last), analyses each with the kit's default
settings, runs :func:`msc_notebooks.null_model.simulate_null` (sigma estimated from the
run-in, as a user would), and counts per period how often the observed responder count
falls inside the simulated 2.5-97.5 % range. The cohorts come from
:func:`msc_notebooks.null_model.no_effect_cohort`. The bar (SPEC §13): at least 90 %.

Usage::

    python validation/calibrate_null.py                # 100 cohorts x 500 simulations
    python validation/calibrate_null.py --write        # ... and rewrite VALIDATION.md
    python validation/calibrate_null.py --cohorts 20 --simulations 200   # quick look
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from msc_notebooks import analyze
from msc_notebooks.null_model import no_effect_cohort, simulate_null

ROOT = Path(__file__).resolve().parents[1]

#: (true-rate mean, true-rate SD, sigma): realistic spreads of ALSFRS-R decline
#: (points/month) and visit-to-visit noise (points). Rates are clipped at 0.05.
SCENARIOS = (
    (1.0, 0.3, 1.0),
    (1.0, 0.3, 1.5),
    (0.8, 0.5, 1.5),
    (0.8, 0.5, 2.0),
    (1.2, 0.6, 1.0),
)

PERIODS = ("1-2", "2-3", "3-4", "after-last", "whole")


def run(n_cohorts: int, n_simulations: int, seed: int) -> pd.DataFrame:
    """One row per cohort and period: observed, simulated range, inside or not."""
    rng = np.random.default_rng(seed)
    rows = []
    for c in range(n_cohorts):
        mean, sd, sigma = SCENARIOS[c % len(SCENARIOS)]
        study = no_effect_cohort(
            int(rng.integers(20, 31)),
            rate_mean=mean,
            rate_sd=sd,
            sigma=sigma,
            seed=int(rng.integers(2**31)),
        )
        result = analyze(study, safety=False)
        null = simulate_null(result, n_simulations, seed=seed + c)
        null = null[null["period"].isin(PERIODS)]
        for r in null.itertuples():
            rows.append(
                {
                    "cohort": c,
                    "scenario": f"N({mean}, {sd}^2), sigma {sigma}",
                    "true_sigma": sigma,
                    "period": r.period,
                    "n_evaluable": r.n_evaluable,
                    "observed": r.observed_responders,
                    "expected": r.expected_responders,
                    "low": r.expected_low,
                    "high": r.expected_high,
                    "inside": r.expected_low <= r.observed_responders <= r.expected_high,
                    "sigma_hat": r.sigma,
                    "observed_abs": r.observed_absolute_responders,
                    "inside_abs": r.expected_absolute_low
                    <= r.observed_absolute_responders
                    <= r.expected_absolute_high,
                }
            )
    return pd.DataFrame(rows)


def per_period(table: pd.DataFrame) -> pd.DataFrame:
    """Coverage per period over the cohorts where the period had evaluable patients."""
    t = table[table["n_evaluable"] > 0]
    g = t.groupby("period", sort=False)
    out = g.agg(
        cohorts=("cohort", "size"),
        inside=("inside", "sum"),
        mean_evaluable=("n_evaluable", "mean"),
        mean_observed=("observed", "mean"),
        mean_expected=("expected", "mean"),
        inside_abs=("inside_abs", "sum"),
    ).reindex([p for p in PERIODS if p in set(t["period"])])
    out["coverage_pct"] = 100 * out["inside"] / out["cohorts"]
    out["coverage_abs_pct"] = 100 * out["inside_abs"] / out["cohorts"]
    return out.reset_index()


def markdown(
    summary: pd.DataFrame, table: pd.DataFrame, command: str, seconds: float, speed: float
) -> str:
    lines = [
        "| period | cohorts | observed inside 2.5–97.5 % | coverage | mean evaluable "
        "| mean observed responders | mean expected responders | absolute responders: coverage |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in summary.itertuples():
        lines.append(
            f"| {r.period} | {r.cohorts} | {r.inside} | {r.coverage_pct:.0f} % "
            f"| {r.mean_evaluable:.1f} | {r.mean_observed:.2f} | {r.mean_expected:.2f} "
            f"| {r.coverage_abs_pct:.0f} % |"
        )
    sig = table.groupby("true_sigma")["sigma_hat"].mean()
    sig_text = ", ".join(f"true {k:g} → estimated {v:.2f}" for k, v in sig.items())
    scen = table.groupby("scenario", sort=False)["inside"].mean() * 100
    scen_text = "\n".join(f"- {k}: {v:.0f} %" for k, v in scen.items())
    ok = bool((summary["coverage_pct"] >= 90).all())
    return f"""# Validation

## No-effect simulation calibration (SPEC §13)

Command: `{command}`
Date: {dt.date.today().isoformat()} (run time {seconds:.0f} s)
Result: **{"PASS" if ok else "FAIL"}** (bar: at least 90 % coverage in every period)

{summary["cohorts"].max()} replicate cohorts with no treatment effect, each of 20–30
patients at a trial-like design (monthly visits with up to 4 days' jitter, run-in 3–6
months, 2–4 injections 3–6 months apart, follow-up 3–6 months after the last injection).
Each patient declines at a constant true rate drawn from the scenario's normal
distribution (clipped at 0.05 points/month); scores are the line plus N(0, σ²) noise,
rounded to whole points and kept in 0–48. The cohorts cycle over these scenarios (true
rates, noise σ):

{chr(10).join(f"- N({m}, {s}²) points/month, σ = {g} points" for m, s, g in SCENARIOS)}

Each cohort is analysed with the default settings (run-in reference, endpoints rates,
> 25 % relative responder, ≥ 1.25 points/month absolute responder), then
`simulate_null(result, n_simulations)` with σ estimated from the run-in, exactly as a
user would run it. "Inside" means the cohort's observed responder count lies in the
simulated 2.5–97.5 % range (inclusive); periods with no evaluable patient are skipped.

{chr(10).join(lines)}

Coverage of relative responders by scenario (all periods together):

{scen_text}

σ estimated from the run-in (mean over cohorts): {sig_text}.

How the simulation draws the true rates (see `msc_notebooks/null_model.py`): every
simulated patient gets a true rate from N(μ, τ²), μ the mean observed reference rate and
τ² = max(var(observed reference rates) − mean sampling variance, 1 % of the observed
variance), the sampling variance of a run-in endpoints rate being 2 s²/months² with
s² = σ² + 1/12 (rounding). The observed reference rates themselves are not used as the
truth: they are noisy and share their last assessment with period 1-2 (SPEC §13).

## Speed of the simulation

`msc_notebooks.null_model.benchmark_null(100, 2000)` (2,000 simulations of a 100-patient
no-effect cohort, best of 3, on the machine and date above): **{speed:.2f} s** (target ≤ 2 s).
"""


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cohorts", type=int, default=100)
    ap.add_argument("--simulations", type=int, default=500)
    ap.add_argument("--seed", type=int, default=20261125)
    ap.add_argument("--write", action="store_true", help="rewrite VALIDATION.md")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    table = run(args.cohorts, args.simulations, args.seed)
    seconds = time.perf_counter() - t0
    summary = per_period(table)
    pd.set_option("display.width", 160)
    print(summary.to_string(index=False))
    print(f"{seconds:.1f} s")
    from msc_notebooks.null_model import benchmark_null

    speed = benchmark_null(100, 2000)
    print(f"benchmark_null(100, 2000): {speed:.2f} s")
    if args.write:
        command = (
            f"python validation/calibrate_null.py --cohorts {args.cohorts} "
            f"--simulations {args.simulations} --seed {args.seed} --write"
        )
        (ROOT / "VALIDATION.md").write_text(
            markdown(summary, table, command, seconds, speed), encoding="utf-8"
        )
    return 0 if (summary["coverage_pct"] >= 90).all() else 1


if __name__ == "__main__":
    sys.exit(main())
