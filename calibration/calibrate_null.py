"""Calibration of the no-effect model (SPEC §13), including where the model is wrong.

Replicate 25-patient cohorts with NO treatment effect come from generators the model was
not built from (``generators.py``; and :func:`msc_notebooks.synthetic.natural_history_cohort`
for the natural-history-like scenario), plus the model's own form (correctly specified).
Each cohort is analysed with the kit's default settings, then
:func:`msc_notebooks.null_model.simulate_null` runs as a user would run it (sigma from the
run-in, the default rate change). Per scenario and period:

- coverage: the observed responder count inside the simulated 2.5-97.5 % range (target
  >= 90 %; in the correctly specified scenario also <= 99 %, not wider than needed);
- false positives: p <= 0.05 (target <= 7 %);
- the same for the constant-rate model (the sensitivity line);
- power: a true 50 % slower decline after injection 1 (own-model generator), the share of
  cohorts with p <= 0.05.

Usage::

    python calibration/calibrate_null.py                     # 200 cohorts x 400 simulations
    python calibration/calibrate_null.py --write             # ... and rewrite VALIDATION.md
    python calibration/calibrate_null.py --cohorts 20 --simulations 200   # quick look
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

from coverage import coverage_flags, coverage_rates  # noqa: E402
from generators import trial_cohort  # noqa: E402

from msc_notebooks import analyze, read_study  # noqa: E402
from msc_notebooks.natural_history import virtual_injections  # noqa: E402
from msc_notebooks.null_model import DEFAULT_RATE_CHANGE, simulate_null  # noqa: E402
from msc_notebooks.synthetic import natural_history_cohort  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
PERIODS = ("1-2", "2-3", "3-4", "after-last", "whole")
N_PATIENTS = 25

#: name -> (description, generator keyword arguments or "natural-history")
SCENARIOS: dict[str, tuple[str, object]] = {
    "correctly specified": (
        "the model's own form: rate N(0.9, 0.4²) changing at the injections "
        f"(a = {DEFAULT_RATE_CHANGE[0]}, c = {DEFAULT_RATE_CHANGE[1]}), normal noise σ = 1.2",
        {"rate_sd": 0.4, "model_change": DEFAULT_RATE_CHANGE},
    ),
    "constant rate": (
        "one constant rate per patient, N(0.9, 0.5²), normal noise σ = 1.2 (version 0.1's model)",
        {},
    ),
    "rates change at random times": (
        "random walk of the rate: a jump N(0, 0.7²) every 3 months on average, "
        "not at the injections; σ = 1.2",
        {"jump_sd": 0.7},
    ),
    "heavy-tailed, unequal noise": (
        "Student t (3 df) noise, each patient's σ uniform in 0.5–2.1; rates change at "
        "random times (jump SD 0.5)",
        {"noise": "t3", "sigma": 1.3, "sigma_spread": 0.6, "jump_sd": 0.5},
    ),
    "floor, fast decliners": (
        "rates N(1.8, 1.0²), start scores 12–30 (many reach 0), rate jumps SD 0.5",
        {"rate_mean": 1.8, "rate_sd": 1.0, "start": (12.0, 30.0), "jump_sd": 0.5},
    ),
    "decline speeding up": (
        "mean rate +0.6 point/month per year from the first injection (real natural "
        "history: consecutive 3-month rates differ by −0.15 to +0.01 on average); rate "
        "jumps SD 0.5",
        {"trend": 0.6, "jump_sd": 0.5},
    ),
    "decline slowing down": (
        "mean rate −0.6 point/month per year from the first injection; rate jumps SD 0.5",
        {"trend": -0.6, "jump_sd": 0.5},
    ),
    "decline slowing down, rate_trend set": (
        "as above, analysed with simulate_null(..., rate_trend=-0.6): the setting that "
        "covers a known trend",
        {"trend": -0.6, "jump_sd": 0.5},
    ),
    "curved decline (sigmoid)": (
        "each patient's rate follows a logistic bell of scale 6 months around a random "
        "midpoint (slow, fast, slow: a smooth non-linear ALSFRS-R trajectory), mean rate "
        "N(0.9, 0.5²), σ = 1.2",
        {"sigmoid_months": 6.0},
    ),
    "natural-history-like": (
        "msc_notebooks.synthetic.natural_history_cohort (smoothly wandering rates, t noise, "
        "floor), virtual injections at day 91 then every 3, 4 or 6 months (snapped to the "
        "nearest visit)",
        "natural-history",
    ),
}

#: simulate_null settings per scenario (default: none, as a user would run it)
MODEL_SETTINGS = {"decline slowing down, rate_trend set": {"rate_trend": -0.6}}

#: name -> (description, generator keyword arguments): cohorts WITH a known effect
POWERS: dict[str, tuple[str, dict]] = {
    "power": (
        "true 50 % slower decline after injection 1 (correctly specified generator)",
        {"rate_sd": 0.4, "model_change": DEFAULT_RATE_CHANGE, "effect": 0.5},
    ),
    "power, curved decline": (
        "true 50 % slower decline after injection 1 on the sigmoid trajectories",
        {"sigmoid_months": 6.0, "effect": 0.5},
    ),
}


def natural_history_trial(seed: int, interval_months: float):
    """25 untreated patients of the synthetic natural history as an uncontrolled trial."""
    study = natural_history_cohort(N_PATIENTS, seed=seed, items=False)
    inj = virtual_injections(study, protocol=(91, interval_months, 4))
    visits = study.visits[["patient_id", "day", "alsfrs_r_total"]]
    days = visits.groupby("patient_id")["day"].apply(np.asarray)
    snapped = [
        days[p][np.argmin(np.abs(days[p] - d))]
        for p, d in zip(inj["patient_id"], inj["day"], strict=True)
    ]
    inj = pd.DataFrame({"patient_id": inj["patient_id"], "day": snapped}).drop_duplicates()
    return read_study(visits, inj)


def cohort(scenario: str, seed: int, index: int):
    spec = (SCENARIOS | POWERS)[scenario][1]
    if spec == "natural-history":
        return natural_history_trial(seed, (3.0, 4.0, 6.0)[index % 3])
    return trial_cohort(N_PATIENTS, seed=seed, **spec)


def run(n_cohorts: int, n_simulations: int, seed: int, scenarios: list[str]) -> pd.DataFrame:
    """One row per scenario, cohort and period."""
    rows = []
    for s_i, name in enumerate(scenarios):
        rng = np.random.default_rng([seed, s_i])
        for c in range(n_cohorts):
            study = cohort(name, int(rng.integers(2**31)), c)
            result = analyze(study, safety=False)
            model = MODEL_SETTINGS.get(name, {})
            null = simulate_null(result, n_simulations, seed=seed + c, **model)
            wilcoxon_p = result.summary.set_index("period")["wilcoxon_p"]
            for r in null[null["period"].isin(PERIODS)].itertuples():
                if r.n_evaluable == 0:
                    continue
                rows.append(
                    {
                        "scenario": name,
                        "cohort": c,
                        "period": r.period,
                        "n_evaluable": r.n_evaluable,
                        "mean_simulated_evaluable": r.mean_simulated_evaluable,
                        "observed": r.observed_responders,
                        "expected": r.expected_responders,
                        **coverage_flags(
                            r.observed_responders,
                            r.expected_low,
                            r.expected_high,
                            r.p_value,
                            r.expected_low_constant,
                            r.expected_high_constant,
                            r.p_value_constant,
                        ),
                        "sigma_hat": r.sigma,
                        # the before/after test (SPEC §7): what it "finds" without effect
                        "wilcoxon_p05": bool(wilcoxon_p.get(r.period, np.nan) <= 0.05),
                    }
                )
    return pd.DataFrame(rows)


def summarise(table: pd.DataFrame) -> pd.DataFrame:
    """Coverage and p <= 0.05 rates per scenario and period, with the targets."""
    out = coverage_rates(
        table,
        ["scenario", "period"],
        mean_simulated_evaluable=("mean_simulated_evaluable", "mean"),
        mean_expected=("expected", "mean"),
        wilcoxon_p05_pct=("wilcoxon_p05", "mean"),
    )
    out["wilcoxon_p05_pct"] *= 100
    out["period"] = pd.Categorical(out["period"], PERIODS, ordered=True)
    out = out.sort_values(["scenario", "period"], key=_scenario_order).reset_index(drop=True)
    correct = out["scenario"] == "correctly specified"
    ok = (out["coverage_pct"] >= 90) & (out["p05_pct"] <= 7)
    ok &= ~correct | (out["coverage_pct"] <= 99)
    power = out["scenario"].isin(list(POWERS))
    out["meets_targets"] = np.where(power, "", np.where(ok, "yes", "NO"))
    return out


def _scenario_order(col: pd.Series) -> pd.Series:
    if col.name == "scenario":
        order = {k: i for i, k in enumerate([*SCENARIOS, *POWERS])}
        return col.map(order)
    return col


def markdown(summary: pd.DataFrame, command: str, seconds: float, n_sims: int) -> str:
    head = (
        "| scenario | period | cohorts | mean evaluable (simulated) | mean observed | "
        "mean expected | coverage | p ≤ 0.05 | constant-rate: coverage | constant-rate: "
        "p ≤ 0.05 | Wilcoxon p ≤ 0.05 | targets met |\n"
        "|---|---|---|---|---|---|---|---|---|---|---|---|"
    )
    lines = [head]
    power = summary["scenario"].isin(list(POWERS))
    for r in summary[~power].itertuples():
        lines.append(
            f"| {r.scenario} | {r.period} | {r.cohorts} | {r.mean_evaluable:.1f} "
            f"({r.mean_simulated_evaluable:.1f}) | {r.mean_observed:.2f} | {r.mean_expected:.2f} "
            f"| {r.coverage_pct:.1f} % | {r.p05_pct:.1f} % | {r.coverage_constant_pct:.1f} % "
            f"| {r.p05_constant_pct:.1f} % | {r.wilcoxon_p05_pct:.1f} % | {r.meets_targets} |"
        )
    plines = [
        "| scenario | period | cohorts | mean evaluable | mean observed | mean expected | "
        "p ≤ 0.05 (default model) | p ≤ 0.05 (constant-rate model) | Wilcoxon p ≤ 0.05 |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in summary[power].itertuples():
        plines.append(
            f"| {r.scenario} | {r.period} | {r.cohorts} | {r.mean_evaluable:.1f} | "
            f"{r.mean_observed:.2f} | {r.mean_expected:.2f} | {r.p05_pct:.1f} % | "
            f"{r.p05_constant_pct:.1f} % | {r.wilcoxon_p05_pct:.1f} % |"
        )
    scen = "\n".join(f"- **{k}**: {v[0]}" for k, v in SCENARIOS.items())
    failing = summary[(summary["meets_targets"] == "NO")]
    fail_text = (
        "\n".join(
            f"- {r.scenario}, {r.period}: coverage {r.coverage_pct:.1f} %, "
            f"p ≤ 0.05 in {r.p05_pct:.1f} %"
            for r in failing.itertuples()
        )
        or "- none"
    )
    return f"""## Figures (written by the script)

Command: `{command}`
Date: {dt.date.today().isoformat()} (run time {seconds:.0f} s; {n_sims} simulations per
cohort and model)

Scenarios (every cohort {N_PATIENTS} patients, trial-like design: monthly visits, run-in
3–6 months, 2–4 injections 3–6 months apart, follow-up 3–6 months; no treatment effect):

{scen}

Targets per scenario and period: coverage (observed count inside the simulated 2.5–97.5 %
range) ≥ 90 %, p ≤ 0.05 in ≤ 7 % of cohorts, and in the correctly specified scenario
coverage ≤ 99 %. "Constant-rate" is the sensitivity line (the model without change of
rate, version 0.1's model).

{chr(10).join(lines)}

Scenario-periods that miss a target:

{fail_text}

### Power

{chr(10).join(f"- **{k}**: {v[0]}" for k, v in POWERS.items())}

25-patient cohorts: share of cohorts with p ≤ 0.05.

{chr(10).join(plines)}
"""


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cohorts", type=int, default=200)
    ap.add_argument("--simulations", type=int, default=400)
    ap.add_argument("--seed", type=int, default=20261130)
    ap.add_argument("--scenario", action="append", help="only these (repeatable)")
    ap.add_argument("--write", action="store_true", help="rewrite VALIDATION.md's figures")
    args = ap.parse_args(argv)
    names = args.scenario or [*SCENARIOS, *POWERS]
    t0 = time.perf_counter()
    table = run(args.cohorts, args.simulations, args.seed, names)
    seconds = time.perf_counter() - t0
    summary = summarise(table)
    pd.set_option("display.width", 200)
    pd.set_option("display.max_columns", 20)
    print(summary.round(1).to_string(index=False))
    print(f"{seconds:.1f} s")
    if args.write:
        command = (
            f"python calibration/calibrate_null.py --cohorts {args.cohorts} "
            f"--simulations {args.simulations} --seed {args.seed} --write"
        )
        path = ROOT / "VALIDATION.md"
        text = path.read_text(encoding="utf-8")
        marker = "## Figures (written by the script)"
        before, _, after = text.partition(marker) if marker in text else (text, "", "")
        rest = after[after.find("\n# ") + 1 :] if "\n# " in after else ""  # other sections
        new = markdown(summary, command, seconds, args.simulations)
        path.write_text(before + new + ("\n" + rest if rest else ""), encoding="utf-8")
    return 0 if (summary["meets_targets"] != "NO").all() else 1


if __name__ == "__main__":
    sys.exit(main())
