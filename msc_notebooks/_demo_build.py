"""Build the bundled demo cohort (synthetic!) — run ``python -m msc_notebooks._demo_build``.

The demo cohort is SYNTHETIC: no real patient is in it. It is modelled on the published
phase II trial (Petrou et al. 2021; SPEC.md "Reference figures"): 20 enrolled, one
withdrawn before the first injection, 19 treated with 2-4 intrathecal injections 3-6
months apart, a run-in, visits about monthly with integer ALSFRS-R scores and noise as
large as in real natural history (run-in residual SD about 1.2 points), FVC % predicted,
a patient table and mild, transient adverse events.

Each treated patient is written down below as a plan: the run-in length and decline, the
injection intervals and the whole-point score change over every period. Between the
planned assessments (the run-in start and one on each injection day), monthly visits
follow the straight line plus a Brownian bridge (the rate wanders between planned
assessments) and measurement noise, rounded. The plan was chosen so that, under the
default settings, the analysis gives the published figures; ``tests/test_demo.py``
checks them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

OUT = Path(__file__).parent / "data" / "demo"
MONTH = 365.25 / 12
#: Measurement noise SD of the visits between anchors, points (before rounding).
NOISE_SD = 1.1
#: Wander of the score between anchors (Brownian bridge), points^2/month.
WANDER = 0.5
#: The noise generator's seed is the demo seed plus this.
NOISE_SEED_OFFSET = 2

# patient plan: (run-in days, run-in drop, score at T1, [interval days], [period drops],
#                after-last days, after-last drop)
# drop = points lost over the period (negative = the score went up)
PLANS: list[tuple[int, int, int, list[int], list[int], int, int]] = [
    # four injections (10 patients)
    (154, 4, 38, [100, 164, 145], [-4, 1, 1], 120, 3),
    (163, 2, 41, [98, 149, 183], [-4, 1, 0], 91, 1),
    (107, 7, 33, [153, 105, 116], [-1, 2, 2], 122, 0),
    (151, 7, 36, [128, 160, 150], [-2, 5, 4], 93, 0),
    (156, 8, 30, [116, 137, 91], [1, 1, 0], 120, 5),
    (153, 2, 42, [106, 107, 157], [-4, 0, 7], 90, 6),
    (107, 5, 35, [127, 131, 134], [2, 3, 3], 152, 3),
    (90, 2, 39, [115, 125, 125], [0, 0, 7], 120, 3),
    (102, 7, 28, [94, 157, 163], [0, 6, 3], 91, 0),
    (166, 2, 42, [121, 108, 157], [1, 8, 1], 123, 6),
    # three injections (2 patients)
    (163, 5, 34, [97, 98], [2, -3], 150, 4),
    (129, 3, 40, [99, 158], [-3, 1], 121, 0),
    # two injections (7 patients)
    (171, 3, 37, [150], [5], 120, 3),
    (127, 5, 31, [148], [7], 91, 7),
    (108, 4, 43, [183], [1], 150, 7),
    (163, 5, 36, [114], [6], 120, 5),
    (184, 3, 39, [108], [2], 90, 0),
    (175, 8, 38, [96], [-1], 122, 2),
    (140, 5, 35, [134], [2], 120, 6),
]


def _items(total: np.ndarray, priority: list[int]) -> np.ndarray:
    """Distribute the deficit 48 - total over the 12 items in a patient's priority order.

    The deficit spreads the way ALS does: two points from each item in the patient's order
    of spread (onset region first, breathing last), then two more from each (so King's and
    MiToS stages derived from the items rise with the deficit, respiratory items last).
    """
    items = np.full((len(total), 12), 4, dtype=int)
    deficit = 48 - total.astype(int)
    for r, d in enumerate(deficit):
        for _wave in range(2):
            for i in priority:
                take = min(2, d)
                items[r, i] -= take
                d -= take
    return items


def build(seed: int = 20211020) -> dict[str, pd.DataFrame]:
    """Return the demo tables (visits, injections, patients, adverse_events)."""
    rng = np.random.default_rng(seed)
    noise_rng = np.random.default_rng(seed + NOISE_SEED_OFFSET)
    start = pd.Timestamp("2016-01-04")
    visits, injections, patients, events = [], [], [], []
    # order of spread (item index 0 = q1): limb onset hands, legs, bulbar, breathing;
    # bulbar onset speech, swallowing, salivation, hands, legs, breathing
    limb = [3, 4, 5, 8, 7, 6, 0, 2, 1, 10, 9, 11]
    bulbar = [0, 2, 1, 3, 4, 5, 8, 7, 6, 10, 9, 11]
    ae_terms = ["headache", "low back pain", "subfebrile fever", "leg pain", "nausea"]
    for i, plan in enumerate(PLANS + [None]):
        pid = f"{i + 1:03d}"
        enrol = start + pd.Timedelta(days=int(17 * i + rng.integers(0, 10)))
        site = "bulbar" if i in (2, 8, 13) else "limb"
        onset = enrol - pd.Timedelta(days=int(rng.integers(300, 900)))
        patients.append(
            {
                "patient_id": pid,
                "onset_date": onset.date().isoformat(),
                "diagnosis_date": (onset + pd.Timedelta(days=int(rng.integers(90, 250))))
                .date()
                .isoformat(),
                "sex": "F" if i % 3 == 0 else "M",
                "age": int(rng.integers(24, 69)),
                "site_of_onset": site,
                "withdrawn": "yes" if plan is None else "no",
            }
        )
        if plan is None:  # withdrew after the run-in, before the first injection
            anchors_day = [0, 30, 61]
            anchors_score = [40, 40, 39]
            inj_days: list[int] = []
        else:
            runin, d0, s1, gaps, drops, after_days, after_drop = plan
            inj_days = list(np.cumsum([runin, *gaps]))
            anchors_day = [0, *inj_days, inj_days[-1] + after_days]
            scores = [s1 + d0, s1]
            for d in drops:
                scores.append(scores[-1] - d)
            scores.append(scores[-1] - after_drop)
            anchors_score = scores
        # monthly visits between anchors: the straight line, plus a Brownian bridge (the
        # rate wanders between anchors, the anchors stay exact) and measurement noise,
        # rounded; drawn from their own generator so that everything else is unchanged
        rows = []
        for a in range(len(anchors_day) - 1):
            d_a, d_b = anchors_day[a], anchors_day[a + 1]
            s_a, s_b = anchors_score[a], anchors_score[a + 1]
            rows.append((d_a, s_a))
            n_between = max(int(round((d_b - d_a) / MONTH)) - 1, 0)
            for j in range(1, n_between + 1):
                day = int(round(d_a + j * (d_b - d_a) / (n_between + 1))) + int(rng.integers(-3, 4))
                if abs(day - d_a) < 20 or abs(d_b - day) < 20:
                    continue
                line = s_a + (s_b - s_a) * (day - d_a) / (d_b - d_a)
                rng.integers(-1, 2)  # version 0.1's noise: drawn, not used (same stream)
                frac = (day - d_a) / (d_b - d_a)
                bridge = noise_rng.normal(
                    0.0, np.sqrt(WANDER * frac * (1 - frac) * (d_b - d_a) / MONTH)
                )
                noisy = line + bridge + noise_rng.normal(0.0, NOISE_SD)
                rows.append((day, int(np.clip(np.floor(noisy + 0.5), 0, 48))))
        rows.append((anchors_day[-1], anchors_score[-1]))
        days = np.array([r[0] for r in rows])
        totals = np.array([r[1] for r in rows])
        items = _items(totals, bulbar if site == "bulbar" else limb)
        fvc = np.round(100 - 1.1 * (48 - totals) + rng.normal(0, 2.5, len(totals)), 1)
        for r in range(len(rows)):
            rec = {
                "patient_id": pid,
                "date": (enrol + pd.Timedelta(days=int(days[r]))).date().isoformat(),
                "alsfrs_r_total": int(totals[r]),
            }
            rec.update({f"q{k + 1}": int(items[r, k]) for k in range(12)})
            rec["fvc_pct"] = float(fvc[r])
            visits.append(rec)
        for k, d in enumerate(inj_days):
            date = enrol + pd.Timedelta(days=int(d))
            injections.append(
                {
                    "patient_id": pid,
                    "date": date.date().isoformat(),
                    "injection_number": k + 1,
                    "dose_million_cells": round(float(rng.uniform(0.9, 1.5)), 2),
                    "route": "intrathecal",
                }
            )
            for _ in range(int(rng.poisson(0.6))):
                lag = int(rng.integers(0, 4))
                events.append(
                    {
                        "patient_id": pid,
                        "date": (date + pd.Timedelta(days=lag)).date().isoformat(),
                        "term": str(rng.choice(ae_terms)),
                        "severity": "mild",
                        "serious": "no",
                        "related": "yes",
                        "outcome": "resolved",
                        "injection_number": k + 1,
                    }
                )
    events = pd.DataFrame(events).drop_duplicates(["patient_id", "date", "term"])
    return {
        "visits": pd.DataFrame(visits),
        "injections": pd.DataFrame(injections),
        "patients": pd.DataFrame(patients),
        "adverse_events": events.reset_index(drop=True),
    }


HEADER = (
    "# SYNTHETIC demo cohort of msc-notebooks: no real patient data. "
    "Modelled on Petrou et al. 2021 (Front. Biosci. 26(10):693-706)."
)


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for name, table in build().items():
        table.to_csv(OUT / f"{name}.csv", index=False)
    (OUT / "README.md").write_text(
        "# Demo cohort (synthetic)\n\n"
        "These four tables are **synthetic**: made by `msc_notebooks/_demo_build.py`, "
        "not measured on any person. They are modelled on the published phase II trial of "
        "repeated intrathecal MSC injections in ALS (Petrou et al. 2021): 20 enrolled, one "
        "withdrawn before the first injection, 19 treated with 2-4 injections 3-6 months "
        "apart, monthly ALSFRS-R as noisy as real natural history (run-in residual SD "
        "about 1.2 points), FVC % predicted, mild transient "
        "adverse events. Under the default settings the analysis reproduces the study's "
        "headline figures (see SPEC.md, 'Reference figures').\n",
        encoding="utf-8",
    )


if __name__ == "__main__":
    main()
