"""Issue #20, kernel side: what one injection edit costs, engine and Injections step.

```
PYTHONPATH=$PWD python benchmarks/edit_speed.py                # 200 2,000 10,000; 3 repeats
PYTHONPATH=$PWD python benchmarks/edit_speed.py --wizard --label after
PYTHONPATH=/path/to/old/worktree python benchmarks/edit_speed.py --label before
```

On a synthetic cohort (``synth.synth_cohort`` plus adverse events, ``scale.add_adverse_events``)
read with :func:`msc_notebooks.read_study`, each size measures (wall clock,
``time.perf_counter``, best and median of the repeats; each repeat moves one injection of
another patient by a few days, as an arrow key does):

- ``analyze``: a full :func:`msc_notebooks.analyze` of the edited study;
- ``update``: :func:`msc_notebooks.analysis.update` from the previous result to the edited
  study (what the Wizard runs);
- ``safety``: :func:`msc_notebooks.safety.analyze_safety` alone (part of both);
- ``step_intervals``: in an :class:`~msc_notebooks.widgets.InjectionsStep` on a
  :class:`~msc_notebooks.widgets.state.WizardState` (auto-analysis on, no figures), from
  the timeline's ``injections`` change (what a marker move sends) to the moment the
  patient's interval table is set (its comm message leaves the kernel then);
- ``step_total``: the same edit until the handler returns (the analysis brought up to date
  and every view of the step updated);
- with ``--wizard``, ``wizard_build`` and ``wizard_total``: the whole
  :class:`~msc_notebooks.widgets.Wizard` (opened on its Injections step) built on the
  study, then the same marker move until every observer of the state has run (the other
  steps' tables included). Figures off: outside a notebook the kit renders figures to SVG
  in the kernel (vl-convert), which a notebook does not do; the browser benchmark
  measures them.

Results go to ``benchmarks/results/edit_speed.json`` under ``--label`` (kept side by side
with earlier labels); BENCHMARKS.md quotes them. Never a timed assertion in the tests.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # synth, scale; the kit from PYTHONPATH (a worktree)

from scale import add_adverse_events  # noqa: E402
from synth import synth_cohort  # noqa: E402

OUT = HERE / "results" / "edit_speed.json"


def cohort(n: int):
    """The synthetic study of ``n`` patients, read as a user reads it."""
    from msc_notebooks import read_study

    tables = synth_cohort(n, seed=0)
    add_adverse_events(tables)
    return read_study(
        tables["visits"], tables["injections"], tables["patients"], tables["adverse_events"]
    )


def moved(study, k: int) -> tuple[str, list[float]]:
    """The k-th edit: one patient with two or more injections, injection 2 moved +3 days."""
    inj = study.injections
    counts = inj.groupby("patient_id").size()
    ids = counts[counts >= 2].index.tolist()
    pid = ids[(k * 7919) % len(ids)]
    days = sorted(inj.loc[inj["patient_id"] == pid, "day"].tolist())
    days[1] += 3.0
    return str(pid), days


def timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def measure(n: int, repeats: int, wizard: bool = False) -> dict:
    from msc_notebooks import analyze
    from msc_notebooks.analysis import update
    from msc_notebooks.safety import analyze_safety
    from msc_notebooks.schedule import set_injections
    from msc_notebooks.widgets import InjectionsStep
    from msc_notebooks.widgets.state import WizardState

    study = cohort(n)
    base = analyze(study)
    out: dict[str, list[float]] = {
        k: [] for k in ("analyze", "update", "safety", "step_intervals", "step_total")
    }
    for k in range(repeats):
        pid, days = moved(study, k)
        edited = set_injections(study, pid, days)
        out["analyze"].append(timed(lambda e=edited: analyze(e)))
        out["update"].append(timed(lambda e=edited: update(base, base.settings, e)))
        out["safety"].append(timed(lambda e=edited: analyze_safety(e, base.settings)))

    state = WizardState()
    state.study = study
    step = InjectionsStep(state)
    stamps: list[float] = []
    step.interval_table.observe(lambda _: stamps.append(time.perf_counter()), names="value")
    for k in range(repeats):
        pid, days = moved(state.study, k + 100)
        step.patient.value = pid  # the patient on the timeline (not timed)
        stamps.clear()
        t0 = time.perf_counter()
        step.timeline.injections = days  # what a marker move sends
        t1 = time.perf_counter()
        assert (
            state.study.injections.loc[state.study.injections["patient_id"] == pid, "day"].tolist()
            == days
        ), "the edit did not reach the study"
        assert stamps, "the interval table was not updated"
        out["step_intervals"].append(stamps[0] - t0)
        out["step_total"].append(t1 - t0)
    if wizard:
        from msc_notebooks.widgets import Wizard

        t0 = time.perf_counter()
        wiz = Wizard(study=study, figures=False)
        out["wizard_build"] = [time.perf_counter() - t0]
        out["wizard_total"] = []
        for k in range(repeats):
            pid, days = moved(wiz.state.study, k + 200)
            wiz.injections.patient.value = pid
            out["wizard_total"].append(
                timed(lambda d=days: setattr(wiz.injections.timeline, "injections", d))
            )
    return {
        k: {"best_s": round(min(v), 4), "median_s": round(statistics.median(v), 4)}
        for k, v in out.items()
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[200, 2000, 10000])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--label", default="after")
    ap.add_argument("--wizard", action="store_true", help="also the whole Wizard (slow)")
    args = ap.parse_args(argv)
    data = json.loads(OUT.read_text()) if OUT.exists() else {}
    run = {
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "load": os.getloadavg()[0],
            "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        },
        "sizes": {},
    }
    for n in args.sizes:
        run["sizes"][str(n)] = measure(n, args.repeats, args.wizard)
        print(n, json.dumps(run["sizes"][str(n)]), flush=True)
    data[args.label] = run
    OUT.write_text(json.dumps(data, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
