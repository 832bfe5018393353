"""Write the template notebooks (the source of truth for their cells).

Run ``python templates/build_notebooks.py`` after changing a cell here. Notebooks are made
with ``nbformat.v4`` (cell ids), stored without outputs, and contain no Jinja: cookiecutter
copies them as they are (``_copy_without_render``). Each reads its settings in a cell
tagged ``parameters`` (papermill) from ``study.yaml`` / ``lesson.yaml``; the cells only
call msc-notebooks functions and display what they return.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from msc_notebooks.summary import INTERVAL_P_TESTS

HERE = Path(__file__).resolve().parent
STUDY = HERE / "msc-study" / "{{cookiecutter._folder_name}}"
TEACHING = HERE / "msc-teaching" / "{{cookiecutter._folder_name}}"

md = new_markdown_cell


def code(source: str, *tags: str):
    cell = new_code_cell(source.strip("\n"))
    if tags:
        cell.metadata["tags"] = list(tags)
    return cell


STUDY_PARAMETERS = code(
    """
# Parameters (papermill). The defaults come from study.yaml in this folder, then from
# study-state.yaml (what you changed in the Wizard), which wins;
# `msc-notebooks run THIS.ipynb -p threshold_pct 30` overrides one value for one run.
from msc_notebooks.study_state import read_state

config = read_state(".")
visits = config["visits"]
injections = config["injections"]
patients = config["patients"]
adverse_events = config["adverse_events"]
natural_history = config["natural_history"]  # untreated cohort for matched controls
threshold_pct = config["threshold_pct"]
reference = config["reference"]
method = config["method"]
renderer = None  # None: interactive charts; svg: static (set by msc-notebooks run --html)
""",
    "parameters",
)

STUDY_SETUP = code(
    """
import msc_notebooks as msc
from msc_notebooks import charts
from msc_notebooks.study_state import load_problem, record_recognised, restore, state_settings

msc.setup_notebook(renderer=renderer or "jupyter")  # offline charts; errors in words

state = {**config, "visits": visits, "injections": injections, "patients": patients,
         "adverse_events": adverse_events, "natural_history": natural_history,
         "threshold_pct": threshold_pct,
         "reference": reference, "method": method}
try:
    study, settings = restore(state)  # the data, the column map, your injection edits
    print(record_recognised(".", study))
except msc.MscError as problem:
    study, settings = None, state_settings(state)
    print(load_problem(problem, state))
print(f"Study: {config['study_title']}")
print(f"Settings: reference {settings.reference}, method {settings.method}, responder > {settings.threshold_pct:g} %")
"""
)

ANALYZE = code(
    """
from msc_notebooks.summary import display_summary

result = msc.analyze(study, settings)
# the patients left out beside every count; a Wilcoxon p only beside the no-effect
# expectation (SPEC §7); every column: result.summary
display_summary(result.summary, result.null)
"""
)

RESPONDER_LINES = code(
    """
from msc_notebooks.summary import period_lines

print(f"Responder: improvement > {settings.threshold_pct:g} %")
for line in period_lines(result.summary, result.null):
    print(line)
"""
)


SLOW_PROGRESSORS_TEXT = md(
    "## Why slow progressors look like responders\n\n"
    "The improvement % divides by the pre-treatment rate. A patient who lost 0.2 "
    "points/month before treatment and 0.1 after has 'improved' by 50 %: one point over "
    "ten months, less than the one or two points ALSFRS-R varies between two visits. The "
    "smaller the pre-treatment rate, the more a point of noise moves the percentage, so "
    "slow progressors cross a 25 % threshold easily, with no treatment effect at all.\n\n"
    "The slope before diagnosis sorts patients: ΔFS = (48 − ALSFRS-R at the first "
    "assessment) / months from symptom onset to it; slow < 0.47, intermediate 0.47–1.11, "
    "fast > 1.11 points/month (Labra et al. 2016). When most responders are slow "
    "progressors, the responder rate says more about who was enrolled than about the "
    "cells. The table below gives responders per stratum, with the patients left out; with "
    "`n_simulations` above 0, each stratum's responders stand beside those expected with no "
    "treatment effect."
)


def study_intro(title: str, text: str) -> list:
    return [
        md(f"# {title}\n\n{text}"),
        md(
            "The next cell holds this notebook's settings (read from `study.yaml`). "
            "When `data/visits.csv` or `data/injections.csv` is absent, the next cell "
            "stops with an error naming them, unless `study.yaml` says `demo: true`: then "
            "the bundled synthetic demo cohort is analysed and every result says so."
        ),
        STUDY_PARAMETERS,
        STUDY_SETUP,
    ]


def guided() -> nbformat.NotebookNode:
    cells = study_intro(
        "Guided analysis",
        "Part 1 is a step-by-step wizard: data, injections, settings, results. Part 2 runs "
        "the same analysis top to bottom with the settings in `study.yaml`: that is what "
        "*Run All* and `msc-notebooks run guided.ipynb` do, with no clicks.",
    )
    cells += [
        md(
            "## 1. The wizard\n\nIt starts from the data and settings above. Each step "
            "explains itself; errors show in the step, with the file, column, rows and fix."
        ),
        code(
            """
from msc_notebooks.widgets import Wizard

# the Wizard keeps what you load and change in study-state.yaml (this folder)
wizard = Wizard(study=study, settings=settings, folder=".", folder_state=state)
wizard
"""
        ),
        md(
            "## 2. The analysis, top to bottom\n\n"
            "Per period: patients evaluable, responders, mean and median improvement of "
            "the progression rate against the pre-treatment rate, bootstrap interval and "
            "Wilcoxon test (methods §7)."
        ),
        code(
            """
# the study and settings the Wizard shows (run this part again after changing them)
study, settings = wizard.state.study, wizard.state.settings
result = msc.analyze(study, settings) if study is not None else None
if result is None:
    print("No data loaded yet: finish step 1 (Load) of the Wizard above, then run this part again.")
else:
    display(result.summary)
"""
        ),
        code(
            """
if result is not None:
    for row in result.summary.itertuples():
        print(f"{row.period}: {row.n_responders}/{row.n_evaluable} responders (improvement > {settings.threshold_pct:g} %)")
"""
        ),
        md("### Each patient's ALSFRS-R, with the injections"),
        code("charts.trajectories(result) if result is not None else None"),
        md("### Responders per period"),
        code("charts.responders_by_period(result) if result is not None else None"),
        md("### Improvement between injections 1 and 2, patient by patient"),
        code('charts.improvement_waterfall(result, "1-2") if result is not None else None'),
        md("### Safety (the trial's primary endpoint)"),
        code(
            """
if result is None:
    pass
elif result.safety is None:
    print("No adverse-events table: safety not analysed.")
else:
    print(result.safety.sentence)
"""
        ),
        md(
            "Next: `03_progression.ipynb` for the details, `05_report.ipynb` to export "
            "every table and figure into `results/`."
        ),
    ]
    return _notebook(cells)


def data() -> nbformat.NotebookNode:
    cells = study_intro(
        "1. Data",
        "What was read, what was used, and every row left out with the reason "
        "(methods §10: rows used + rows excluded = rows read, for every table).",
    )
    cells += [
        md("## Rows read, used and excluded, per table"),
        code("study.ledger"),
        md("## Rows left out, and why"),
        code("study.exclusions"),
        md("## Warnings"),
        code(
            """
for warning in study.warnings:
    print(warning)
print(f"{len(study.warnings)} warning(s)")
"""
        ),
        md("## Each patient's ALSFRS-R, with the injections"),
        code("charts.trajectories(study)"),
        md("## The first rows of each table, as the kit reads them (canonical names)"),
        code("study.visits.head(10)"),
        code("study.patients.head(10)"),
    ]
    return _notebook(cells)


def injections_nb() -> nbformat.NotebookNode:
    cells = study_intro(
        "2. Injections",
        "The injection schedule and the intervals between injections (methods §8), and "
        "whether response relates to the interval length.",
    )
    cells += [
        md("## Injections"),
        code("study.injections"),
        md("## Intervals between consecutive injections (months)"),
        code(
            """
from msc_notebooks.schedule import interval_table

interval_table(study.injections, settings.month_days)
"""
        ),
        md(
            "## Interval length against improvement (Spearman, methods §8)\n\n"
            + INTERVAL_P_TESTS
        ),
        ANALYZE,
        code("result.intervals"),
        code("charts.interval_vs_improvement(result)"),
    ]
    return _notebook(cells)


def progression() -> nbformat.NotebookNode:
    cells = study_intro(
        "3. Progression and responders",
        "Progression rates (ALSFRS-R points lost per month) before and between "
        "injections, improvement against the pre-treatment rate, and responders "
        "(methods §3–7).",
    )
    cells += [
        md("## Per period"),
        ANALYZE,
        RESPONDER_LINES,
        code("charts.responders_by_period(result)"),
        md("## Rates before and after treatment"),
        code("charts.rate_comparison(result)"),
        code("charts.cohort_mean(result)"),
        md("## Improvement between injections 1 and 2"),
        code('charts.improvement_waterfall(result, "1-2")'),
        md(
            "## Model-based slopes from every visit (methods §14)\n\n"
            "One broken-stick mixed model uses every assessment: the decline before the "
            "first injection, in each period, and its change at each injection, with 95 % "
            "CIs. `change:k` negative = slower decline after injection k. The per-patient "
            "values are shrunken estimates: descriptive, never responders."
        ),
        code(
            """
slopes = result.slopes()  # also: result.slopes(outcome="fvc_pct")
print(slopes.sentence)
slopes.table
"""
        ),
        code("slopes.patients"),
        md("## Clinically improved after each cycle (methods §6)"),
        code("result.clinical"),
        md("## Every patient and period (methods §11)"),
        code("result.periods"),
        md(
            "## Clinical stages (King's and MiToS)\n\n"
            "Both staging systems are derived from the ALSFRS-R items of the assessments "
            "used for each period: the stage at its start and at its end, and the patients "
            "whose stage progressed, with an exact 95 % confidence interval. A missing item "
            "leaves a stage missing (the reason is given), never 'not involved'. Stages "
            "derived from item scores can go back when a score goes up."
        ),
        code("stages = msc.stage_tables(result)\nstages.progression"),
        code("charts.stage_transitions(stages)"),
        SLOW_PROGRESSORS_TEXT,
        code(
            """
strata = msc.progression_strata(study, settings)
print(strata.stratum.value_counts().to_string())
msc.strata_summary(result, strata)
"""
        ),
        md(
            "## Matched natural-history controls (methods §15)\n\n"
            "Without a control group, the fairest comparison is with untreated patients who "
            "looked the same when treatment started. When `natural_history:` in `study.yaml` "
            "names an untreated cohort (one visits file, or a folder of PRO-ACT files), each "
            "treated patient is matched at the first injection to `match_k` untreated "
            "patients (default 5) with a similar reference rate, score and time since onset "
            "(within `caliper` standard deviations, default 0.5); the "
            "controls get virtual injections at their patient's own intervals and the same "
            "rules. Per period: responders among the treated and among their controls, the "
            "difference (percentage points, treated minus controls) with a 95 % bootstrap "
            "interval, and the median improvements; then the balance of the matching "
            "variables and the treated patients without a match. Matching makes the groups "
            "alike on what was measured at T1, not on everything: it is not randomisation."
        ),
        code(
            """
from msc_notebooks.study_state import matched_controls_for

matched = matched_controls_for(result, state)  # None (and said so) with no natural_history:
matched.summary if matched is not None else None
"""
        ),
        code("matched.balance if matched is not None else None"),
        code("matched.unmatched if matched is not None else None"),
    ]
    return _notebook(cells)


def safety_nb() -> nbformat.NotebookNode:
    cells = study_intro(
        "4. Safety",
        "Adverse events per term and severity, serious events one by one, and events "
        "per injection given (methods §9). Patients with no event count in every denominator.",
    )
    cells += [
        ANALYZE,
        code(
            """
safety = result.safety
if safety is None:
    print("No adverse-events table: safety not analysed (add data/adverse_events.csv).")
else:
    print(safety.sentence)
"""
        ),
        md("## Events per term and severity"),
        code(
            """
if safety is not None:
    display(safety.by_term)
    display(charts.safety_by_term(result))
"""
        ),
        md("## Serious events"),
        code(
            """
if safety is not None:
    display(safety.serious)
"""
        ),
        md("## Events per injection"),
        code(
            """
if safety is not None:
    display(safety.by_injection)
    display(safety.incidence)
    display(charts.safety_by_injection(result))
"""
        ),
    ]
    return _notebook(cells)


def report() -> nbformat.NotebookNode:
    cells = study_intro(
        "5. Report",
        "The whole analysis, and every table and figure written to `results/` with the "
        "settings used beside them. `msc-notebooks run 05_report.ipynb --html "
        "reports/report.html` makes an HTML report without code.",
    )
    cells += [
        md("## Responders per period"),
        ANALYZE,
        RESPONDER_LINES,
        md("## Safety"),
        code(
            """
print(result.safety.sentence if result.safety is not None else "No adverse-events table.")
"""
        ),
        md("## Figures"),
        code(
            """
for name, chart in charts.all_figures(result).items():
    print(name)
    display(chart)
"""
        ),
        md("## Export"),
        code(
            """
from pathlib import Path

written = msc.write_results(result, "results", figures=True, report=True,
                            title=config["study_title"])
print(f"Results written to {Path('results').resolve()}")
"""
        ),
    ]
    return _notebook(cells)


# ---------------------------------------------------------------------------- teaching
def lesson() -> nbformat.NotebookNode:
    cells = [
        md(
            "# Reading an open-label MSC trial in ALS\n\n"
            "A lesson on the bundled **synthetic** demo cohort, built to resemble the "
            "published trial (no real patient data). Every number below is computed by "
            "msc-notebooks; the cells print the arithmetic so you can redo it by hand."
        ),
        code(
            """
# Parameters (papermill). Defaults come from lesson.yaml in this folder.
from msc_notebooks.projects import read_project_config

config = read_project_config("lesson.yaml")
threshold_pct = config["threshold_pct"]
n_simulations = config["n_simulations"]
renderer = None  # None: interactive charts; svg: static (set by msc-notebooks run --html)
""",
            "parameters",
        ),
        code(
            """
import msc_notebooks as msc
from msc_notebooks import charts

msc.setup_notebook(renderer=renderer or "jupyter")  # offline charts

study = msc.load_demo()
settings = msc.Settings(threshold_pct=threshold_pct)
result = msc.analyze(study, settings)
print(f"Lesson: {config['lesson_title']}")
print(f"Demo cohort: {study.patients.patient_id.nunique()} patients, "
      f"{len(study.injections)} injections, {len(study.visits)} ALSFRS-R assessments")
"""
        ),
        md(
            "## 1. The question\n\n"
            "Petrou et al. (Front. Biosci. 2021, 26(10):693–706, doi 10.52586/4980) gave 19 "
            "people with definite ALS 1 to 4 intrathecal injections of their own "
            "mesenchymal stem cells (MSC), 3 to 6 months apart, in an **open-label** phase II "
            "trial: no control group, everyone knew they were treated. The primary endpoint "
            "was safety; the question this lesson follows is the secondary one:\n\n"
            "> **Does the ALSFRS-R decline slow down after the injections?**\n\n"
            "The paper reports that the progression rate improved by more than 25 % in "
            "**15/19** patients between injections 1 and 2 (mean improvement 107.1 %), in "
            "11/12 between 2 and 3 and in 8/10 between 3 and 4, and that no serious adverse "
            "event occurred. Below, each of these numbers is rebuilt step by step."
        ),
        md(
            "## 2. ALSFRS-R and the progression rate\n\n"
            "The ALSFRS-R has 12 items scored 0–4 (4 = normal), total 0–48; it goes down as "
            "ALS progresses. A **progression rate** is points lost per month:\n\n"
            "    rate = (score at start − score at end) / months between them\n"
            "    1 month = 365.25 / 12 = 30.4375 days\n\n"
            "Positive = decline, 0 = stable, negative = the score went up. The "
            "**reference** (pre-treatment) rate runs from the first assessment to the "
            "first injection (the run-in); the period rates run between injections "
            "(`1-2`, `2-3`, …). We follow one demo patient."
        ),
        code(
            """
periods = result.periods
patient = periods.loc[(periods.period == "1-2") & periods.evaluable, "patient_id"].iloc[0]
mine = periods[periods.patient_id == patient].set_index("period")
print(f"Patient {patient}")
mine[["start_day", "end_day", "start_score", "end_score", "months", "rate", "improvement_pct", "responder"]]
"""
        ),
        code(
            """
for name in ["reference", "1-2"]:
    row = mine.loc[name]
    print(f"{name}: months = ({row.end_day:g} - {row.start_day:g}) days / {settings.month_days} = {row.months:.3f}")
    print(f"{name}: rate = ({row.start_score:g} - {row.end_score:g}) / {row.months:.3f} = {row.rate:.3f} points/month")
"""
        ),
        md(
            "## 3. Improvement and responders\n\n"
            "    improvement % = 100 × (reference rate − period rate) / reference rate\n\n"
            "100 % = no further decline; above 100 % = the score went up; negative = faster "
            "decline. A **relative responder** improves by more than the threshold (25 % in "
            "the paper). An **absolute responder** slows by at least 1.25 points/month."
        ),
        code(
            """
row = mine.loc["1-2"]
print(f"improvement = 100 x ({row.reference_rate:.3f} - {row.rate:.3f}) / {row.reference_rate:.3f} = {row.improvement_pct:.1f} %")
print(f"relative responder (improvement > {settings.threshold_pct:g} %): {bool(row.responder)}")
print(f"absolute change = {row.reference_rate:.3f} - {row.rate:.3f} = {row.absolute_change:.3f} points/month; "
      f"absolute responder (>= {settings.absolute_threshold:g}): {bool(row.absolute_responder)}")
"""
        ),
        md(
            "**Why coarse subscales make 'responders' out of stable patients.** The four "
            "ALSFRS-R domains (bulbar, fine motor, gross motor, respiratory) score 0–12 in "
            "whole points. A domain losing a quarter of a point a month moves 0 or 1 point "
            "over a 3-month period, so most two-point rates are exactly 0. A rate of 0 after "
            "any decline before treatment is an improvement of 100 × (reference − 0) / "
            "reference = 100 %: far above 25 %, with no treatment at all. On untreated "
            "natural-history patients with virtual injections every 90 days, 61–75 % of "
            "patients 'respond' on a domain. So a domain's responder count means something "
            "only beside the count expected with no effect, simulated on the same 0–12 "
            "whole-point scale: `msc-notebooks analyze --outcomes` and "
            "`outcome_summaries(study, n_simulations=2000)` give both, outcome by outcome."
        ),
        md(
            "## 4. The whole demo cohort\n\n"
            "Move the **threshold** slider and watch the responder counts and the figures "
            "follow. Try the **reference** (run-in or disease onset) and the **window** "
            "(how far an assessment may be from an injection). Each line also says who was "
            "left out of the count, and why: a count never hides its denominator."
        ),
        code(
            """
from msc_notebooks.widgets.lesson import ResponderExplorer

explorer = ResponderExplorer(study, settings)
explorer
"""
        ),
        md(
            "## 5. Exercises\n\n"
            "Type or choose your answer and press **Check**. **Show solution** shows the "
            "worked answer when you want it."
        ),
        code(
            """
from msc_notebooks.teaching import lesson_exercises
from msc_notebooks.widgets.lesson import exercise_boxes

exercise_boxes(lesson_exercises(result))
"""
        ),
        md(
            "## 6. What an open-label, uncontrolled design can and cannot show\n\n"
            "Without a control group, a slower decline after an injection has other "
            "explanations than the cells:\n\n"
            "* **Noise.** ALSFRS-R varies by a point or two between visits, so a rate from "
            "two assessments a few months apart is noisy: some patients look better by "
            "chance.\n"
            "* **Regression to the mean.** Patients who declined fast before treatment tend "
            "to decline less fast next time, treated or not.\n"
            "* **Non-linear decline, expectation, selection.** ALS does not decline in a "
            "straight line; raters and patients knew about the treatment; only patients "
            "fit enough to be injected again contribute to the later periods.\n\n"
            "Such a trial **can** show that repeated injections are feasible and safe "
            "enough to test further. It **cannot** show that they slow ALS. One way to see "
            "this: simulate cohorts with **no treatment effect at all**, at the demo "
            "patients' own visit and injection times, and count how many 'responders' "
            "they produce (`docs/methods.md`, *Responders expected with no effect*).\n\n"
            "How large is the trap in real life? In a large natural-history data set of "
            "untreated ALS patients from past trials, with *virtual* injections placed every "
            "3 months, **about half of the untreated patients (773 of 1,463, 53 %) were "
            "'> 25 % responders'** between virtual injections 1 and 2. Their decline is "
            "not one constant rate: a patient's rate changes from one 3-month period to "
            "the next by about as much again as measurement noise alone would explain. "
            "The simulation below includes that change of rate (its size taken from such "
            "natural history), and shows beside it the plain constant-rate model."
        ),
        code(
            """
from msc_notebooks.widgets.lesson import NullReading

null = msc.simulate_null(result, n_simulations=n_simulations, seed=0)
null[["period", "n_evaluable", "observed_responders", "expected_responders", "expected_low", "expected_high", "p_value"]]
"""
        ),
        md(
            "**Reading the comparison.** Below, each period in words. Then the question: "
            "the paper's headline is 15/19 responders between injections 1 and 2. What "
            "does the comparison mean for the claim that the cells slowed the disease? "
            "What would a trial need to answer the question (think: control group, "
            "blinding, pre-registered endpoint)? Write your answer in the box."
        ),
        code(
            "NullReading(null)  # each period: the no-effect sentence of the CLI and report, read"
        ),
        md(
            "## 7. Matched untreated controls\n\n"
            "A fairer comparison than no comparison: for each treated patient, find "
            "untreated patients who **looked the same when treatment started** (same "
            "reference rate, same ALSFRS-R score, same time since symptom onset), give them "
            "*virtual* injections at the treated patient's own intervals, and apply exactly "
            "the same rules (SPEC §15). Database controls matched this way reproduced the "
            "placebo arms of real trials (Czaplinski et al., Neurology 2006).\n\n"
            "Real natural-history data (PRO-ACT) cannot be shipped in a lesson, so the "
            "untreated cohort below is **synthetic** (`msc.natural_history_cohort`), built "
            "to resemble real natural history (no real patient)."
        ),
        code(
            """
from msc_notebooks.matched_controls import attach_matched

pool = msc.natural_history_cohort(500, seed=1)  # synthetic untreated patients
matched = attach_matched(result, pool, k=5, caliper=0.5).matched
print(matched.sentence())
matched.balance.round(2)
"""
        ),
        md(
            "The **balance table** shows the matching variables' standardised mean "
            "differences (SMD): before matching the demo patients differ from the untreated "
            "pool; after matching the SMDs should be close to 0 (|SMD| < 0.1 is the usual "
            "mark). Now the comparison, period by period: the responder rates of both arms "
            "and their difference with a 95 % bootstrap confidence interval."
        ),
        code(
            """
for row in matched.summary.itertuples():
    print(f"{row.period}: treated {row.treated_responder_pct:.0f} % vs matched controls "
          f"{row.control_responder_pct:.0f} %: difference {row.difference_pct:+.0f} points "
          f"(95 % CI {row.difference_ci_low:+.0f} to {row.difference_ci_high:+.0f})")
"""
        ),
        code("charts.matched_comparison(attach_matched(result, pool))"),
        md(
            "**Exercise 4.** Make a small 'treated' cohort that received **nothing**: 20 "
            "other synthetic untreated patients with virtual injections 120 days after "
            "their first visit and then every 3 months. Before you run the cell: what "
            "difference from its matched controls do you expect? Then answer with the "
            "buttons below the table."
        ),
        code(
            """
from msc_notebooks.natural_history import virtual_injections

others = msc.natural_history_cohort(20, seed=2)
untreated = others.with_injections(virtual_injections(others, protocol=(120, 3, 3)))
fake = attach_matched(msc.analyze(untreated, settings), pool).matched
fake.summary[["period", "treated_responder_pct", "control_responder_pct", "difference_pct",
              "difference_ci_low", "difference_ci_high"]].round(1)
"""
        ),
        code(
            """
from msc_notebooks.teaching import matched_exercise
from msc_notebooks.widgets.lesson import ExerciseBox

ExerciseBox(matched_exercise(fake.summary), 4)
"""
        ),
        md(
            "Matching can only balance what was measured. Untreated patients from other "
            "trials and other years may differ in ways no column shows (care, riluzole, "
            "how carefully the scale was rated), and they did not know they were untreated "
            "in *this* trial. So matched controls make an uncontrolled result easier to "
            "read, not a randomised trial."
        ),
        SLOW_PROGRESSORS_TEXT,
        code(
            """
strata = msc.progression_strata(study, settings).set_index("patient_id")
row = strata.loc[patient]
print(f"Patient {patient}: first assessment {row.first_score:g} points, "
      f"{row.months:.1f} months after symptom onset")
print(f"delta-FS = (48 - {row.first_score:g}) / {row.months:.2f} = {row.delta_fs:.3f} points/month: {row.stratum}")
print(strata.stratum.value_counts().to_string())
"""
        ),
        code(
            """
by_stratum = msc.strata_summary(result, n_simulations=n_simulations)
by_stratum[["period", "stratum", "responders", "median_improvement_pct",
            "expected_responders", "expected_low", "expected_high"]]
"""
        ),
        md(
            "**Question.** In which stratum are most of the demo's responders? Do they "
            "exceed what that stratum shows with no treatment effect?"
        ),
    ]
    return _notebook(cells)


def _notebook(cells: list) -> nbformat.NotebookNode:
    """A notebook of fresh copies of ``cells`` (each with its own id), no outputs."""
    nb = new_notebook(
        metadata={
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
        }
    )
    for cell in cells:
        make = new_code_cell if cell.cell_type == "code" else new_markdown_cell
        nb.cells.append(make(cell.source, metadata=dict(cell.metadata)))
    return nb


NOTEBOOKS = {
    STUDY / "guided.ipynb": guided,
    STUDY / "01_data.ipynb": data,
    STUDY / "02_injections.ipynb": injections_nb,
    STUDY / "03_progression.ipynb": progression,
    STUDY / "04_safety.ipynb": safety_nb,
    STUDY / "05_report.ipynb": report,
    TEACHING / "lesson.ipynb": lesson,
}


def main() -> None:
    for path, build in NOTEBOOKS.items():
        nb = build()
        for number, cell in enumerate(nb.cells):  # stable ids: small diffs on rebuild
            cell.id = f"{path.stem.replace('_', '-')}-{number:02d}"
        nbformat.validate(nb)
        nbformat.write(nb, path)
        print(f"wrote {path.relative_to(HERE)} ({len(nb.cells)} cells)")


if __name__ == "__main__":
    main()
