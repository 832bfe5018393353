"""The lesson's words and exercises: plain functions the teaching notebook's widgets call.

Nothing here draws anything: :mod:`msc_notebooks.widgets.lesson` puts these texts and
checks behind sliders, answer boxes and buttons, so that a student who does not code (in
JupyterLab or in Voilà) never types Python, never sees a traceback and sees a solution only
after asking for it. The numbers are defined in ``docs/methods.md``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd

__all__ = [
    "Exercise",
    "format_p",
    "responder_lines",
    "interpret_null",
    "lesson_exercises",
    "check_number",
    "check_choice",
    "null_sentences",
    "matched_exercise",
]


def format_p(p: float, n_simulations: int | None = None) -> str:
    """Return a p-value as text with two significant digits (never ``0.00``).

    The digits follow :mod:`msc_notebooks.table_format` (the kit's one set of reading
    rules); a share of simulations that is 0 is written as "< 1/n".

    Parameters
    ----------
    p : float
        The p-value (0-1); NaN when it could not be computed.
    n_simulations : int, optional
        For a p-value that is a share of simulations: 0 is then written as "< 1/n" (none
        of the n simulations reached the observed value).

    Returns
    -------
    str
        ``"p = 0.0049"``, ``"p = 0.32"``, ``"p < 0.0005"``, ``"p < 0.001"``, or
        ``"p not computed"``.

    Examples
    --------
    >>> format_p(0.0049), format_p(0.3215), format_p(0.05)
    ('p = 0.0049', 'p = 0.32', 'p = 0.05')
    >>> format_p(0.0, n_simulations=2000), format_p(0.00001), format_p(float("nan"))
    ('p < 0.0005', 'p < 0.001', 'p not computed')
    """
    from .table_format import format_value

    if p is None or (isinstance(p, float) and math.isnan(p)):
        return "p not computed"
    p = float(p)
    if p <= 0 and n_simulations:
        return f"p < {1 / int(n_simulations):.2g}"
    text = format_value(p, -2)
    return f"p {text}" if text.startswith("<") else f"p = {text}"


def responder_lines(result: Any, periods: tuple[str, ...] | None = None) -> list[str]:
    """One sentence per period: responders of the evaluable patients, and who was left out.

    Parameters
    ----------
    result : AnalysisResult
        An analysis (``summary``, ``periods`` and ``settings`` are read).
    periods : tuple of str, optional
        Periods to describe (default: every period but ``reference``).

    Returns
    -------
    list of str
        E.g. ``"1-2: 15 of 19 evaluable patients improved by more than 25 % (responders);
        1 enrolled patient left out: not treated (withdrawn before the first injection)."``

    Examples
    --------
    >>> from msc_notebooks import analyze, load_demo
    >>> responder_lines(analyze(load_demo()), ("1-2",))[0][:68]
    '1-2: 15 of 19 evaluable patients improved by more than 25 % (respond'
    """
    s = result.settings
    sign = "at least" if s.inclusive else "more than"
    per = result.periods
    excluded = result.excluded_patients
    lines = []
    for row in result.summary.itertuples():
        if row.period == "reference" or (periods is not None and row.period not in periods):
            continue
        text = (
            f"{row.period}: {int(row.n_responders)} of {int(row.n_evaluable)} evaluable "
            f"patients improved by {sign} {s.threshold_pct:g} % (responders)"
        )
        left = per[(per["period"].astype(str) == str(row.period)) & ~per["evaluable"]]
        reasons = left["reason"].fillna("not evaluable").astype(str).value_counts()
        parts = [f"{n} {why}" for why, n in reasons.items()]
        if len(excluded):
            parts.append(f"{len(excluded)} not treated ({excluded['reason'].iloc[0]})")
        if parts:
            text += "; left out: " + "; ".join(parts)
        lines.append(text + ".")
    return lines


def interpret_null(row: Any) -> str:
    """Say in words what one period's no-effect comparison means, and what it does not.

    The expectation itself is :func:`msc_notebooks.null_model.no_effect_sentences`' (the
    CLI's and the report's): the range with both denominators (evaluable here, and on
    average in the simulated cohorts), the assumptions and the constant-rate range. This
    function adds the count observed and what it means.

    Parameters
    ----------
    row : mapping or namedtuple
        One row of :func:`msc_notebooks.null_model.simulate_null` (every column).

    Returns
    -------
    str
        A short paragraph for students.

    Examples
    --------
    >>> row = {"period": "1-2", "n_evaluable": 19, "observed_responders": 15,
    ...     "expected_low": 3, "expected_high": 10, "p_value": 0.0, "n_simulations": 2000,
    ...     "mean_simulated_evaluable": 16.7, "expected_low_constant": 2,
    ...     "expected_high_constant": 8, "sensitivity": "above the range of both models",
    ...     "sigma": 1.21, "sigma_source": "run-in of 19 patients",
    ...     "rate_change_source": "default", "rate_trend": 0.0}
    >>> text = interpret_null(row)
    >>> text.split(". ")[0]
    'Period 1-2: 15 of 19 patients were responders'
    >>> "(period 1-2: 19 evaluable here, 16.7 on average in the simulated cohorts" in text
    True
    >>> "does not show that the cells slowed ALS" in text
    True
    """
    from .null_model import no_effect_sentences

    if not isinstance(row, dict):
        row = row._asdict() if hasattr(row, "_asdict") else dict(row)
    get = row.get
    obs, n = int(get("observed_responders")), int(get("n_evaluable"))
    low, high = get("expected_low"), get("expected_high")
    p = format_p(get("p_value"), int(get("n_simulations") or 0) or None)
    if not n:
        return f"Period {get('period')}: no evaluable patient, so nothing to compare."
    (expectation,) = no_effect_sentences(pd.DataFrame([row]))
    head = f"Period {get('period')}: {obs} of {n} patients were responders. {expectation} "
    if obs > high:
        return head + (
            f"Few simulated no-effect cohorts had as many ({p}), so the count is hard to "
            "explain by visit-to-visit noise and the natural changes of decline rate alone, "
            "under these assumptions. It does not show that the cells slowed ALS: in an "
            "open-label trial without a control group, regression to the mean (fast "
            "decliners slow down anyway), a decline that is not a straight line, selection "
            "(only patients well enough to be injected again count later) and expectation "
            "(everyone knew about the treatment) can all give more responders than this "
            "simple model. Only a randomised, blinded, controlled trial can separate these "
            "from an effect."
        )
    if obs < low:
        return head + f"Fewer responders than noise alone would give ({p} for as many or more)."
    return head + (
        "That is what a cohort with no treatment effect at all would often show "
        f"({p}): the responders of this period are no evidence of an effect."
    )


@dataclass(frozen=True)
class Exercise:
    """One exercise: its question, how an answer is checked, and the worked solution.

    Attributes
    ----------
    key : str
        Short name (``"improvement"``).
    question : str
        The question shown to the student (Markdown-free text).
    kind : {'number', 'choice'}
        A number box or buttons.
    check : callable
        ``check(answer) -> (correct, feedback)``; feedback in words, never a traceback.
    solution : str
        The worked solution, shown only when asked for.
    choices : tuple of str
        The buttons of a ``choice`` exercise.
    unit : str
        Shown beside a number box.
    """

    key: str
    question: str
    kind: str
    check: Callable[[Any], tuple[bool, str]]
    solution: str
    choices: tuple[str, ...] = ()
    unit: str = ""


def check_number(answer: Any, expected: float, tolerance: float, hint: str) -> tuple[bool, str]:
    """Check a number given by a student; feedback in words.

    Examples
    --------
    >>> check_number(77.8, 77.78, 0.5, "hint")
    (True, 'Correct.')
    >>> check_number("abc", 77.78, 0.5, "Compute both rates first.")
    (False, 'Please type a number (for example 12.5).')
    >>> check_number(22.2, 77.78, 0.5, "Compute both rates first.")
    (False, 'Not quite: 22.2 is not it. Compute both rates first.')
    """
    try:
        value = float(str(answer).replace(",", ".").replace("%", "").strip())
    except ValueError:
        return False, "Please type a number (for example 12.5)."
    if math.isnan(value):
        return False, "Please type a number (for example 12.5)."
    if abs(value - expected) <= tolerance:
        return True, "Correct."
    return False, f"Not quite: {value:g} is not it. {hint}"


def check_choice(answer: Any, expected: str, hint: str) -> tuple[bool, str]:
    """Check a choice (button) answer; feedback in words.

    Examples
    --------
    >>> check_choice("Yes", "Yes", "h"), check_choice(None, "Yes", "h")[1]
    ((True, 'Correct.'), 'Choose an answer first.')
    """
    if answer in (None, ""):
        return False, "Choose an answer first."
    if str(answer) == expected:
        return True, "Correct."
    return False, f"Not quite. {hint}"


def lesson_exercises(result: Any) -> list[Exercise]:
    """The lesson's exercises on the demo cohort (answers computed, never shown in a cell).

    Parameters
    ----------
    result : AnalysisResult
        The lesson's analysis (exercise 3 counts its responders at another threshold).

    Returns
    -------
    list of Exercise
        1: an improvement worked by hand; 2: is that patient a responder; 3: responders
        in period 1-2 at a 50 % threshold (read off the lesson's slider).

    Examples
    --------
    >>> from msc_notebooks import analyze, load_demo
    >>> ex = lesson_exercises(analyze(load_demo()))
    >>> [e.key for e in ex]
    ['improvement', 'responder', 'threshold-50']
    >>> ex[0].check("77.8"), ex[1].check("Yes")[0]
    ((True, 'Correct.'), True)
    """
    from .analysis import reclassify

    # Exercise 1, by hand (docs/methods.md, rates and improvement): reference rate
    # (40 - 34) / 4 = 1.5 points/month; period rate (34 - 33) / 3 = 0.333 points/month;
    # improvement 100 x (1.5 - 0.333) / 1.5 = 77.8 %.
    ref_rate, rate = (40 - 34) / 4, (34 - 33) / 3
    improvement = 100 * (ref_rate - rate) / ref_rate
    stricter = reclassify(result, result.settings.replace(threshold_pct=50))
    row = stricter.summary.set_index("period").loc["1-2"]
    n50, n_ev = int(row["n_responders"]), int(row["n_evaluable"])
    return [
        Exercise(
            key="improvement",
            question=(
                "A patient's ALSFRS-R fell from 40 to 34 over the 4 months before the first "
                "injection, then from 34 to 33 over the 3 months between injections 1 and "
                "2. What is the improvement (%) in period 1-2?"
            ),
            kind="number",
            unit="%",
            check=lambda a: check_number(
                a,
                improvement,
                0.5,
                "First compute both rates in points per month (points lost / months), then "
                "improvement = 100 x (reference rate - period rate) / reference rate.",
            ),
            solution=(
                f"Reference rate = (40 - 34) / 4 = {ref_rate:g} points/month. Period rate = "
                f"(34 - 33) / 3 = {rate:.3f} points/month. Improvement = 100 x "
                f"({ref_rate:g} - {rate:.3f}) / {ref_rate:g} = {improvement:.1f} %."
            ),
        ),
        Exercise(
            key="responder",
            question=("Is the patient of exercise 1 a relative responder at the 25 % threshold?"),
            kind="choice",
            choices=("Yes", "No"),
            check=lambda a: check_choice(
                a, "Yes", "Compare the improvement of exercise 1 with 25 %."
            ),
            solution=(
                f"Yes: the improvement, {improvement:.1f} %, is more than 25 %, so the "
                "patient counts as a responder."
            ),
        ),
        Exercise(
            key="threshold-50",
            question=(
                "Move the threshold slider above to 50 %. How many demo patients are "
                "responders between injections 1 and 2?"
            ),
            kind="number",
            unit="patients",
            check=lambda a: check_number(
                a,
                n50,
                0,
                "Set the slider to 50 and read the line of period 1-2 (the first number).",
            ),
            solution=(
                f"At 50 %, {n50} of the {n_ev} evaluable patients improved by more than "
                "50 % in period 1-2."
            ),
        ),
    ]


def null_sentences(null: pd.DataFrame) -> list[str]:
    """:func:`interpret_null` for every row of a no-effect table (empty when None)."""
    if null is None:
        return []
    return [interpret_null(row) for row in null.to_dict("records")]


def matched_exercise(summary: pd.DataFrame, period: str = "1-2") -> Exercise:
    """The matched-controls exercise: does the difference's 95 % interval contain 0?

    Parameters
    ----------
    summary : pandas.DataFrame
        ``MatchedResult.summary`` of an untreated cohort matched to untreated controls
        (``period``, ``difference_ci_low``, ``difference_ci_high``).
    period : str, default '1-2'

    Examples
    --------
    >>> s = pd.DataFrame({"period": ["1-2"], "difference_ci_low": [-10.0],
    ...                   "difference_ci_high": [18.0]})
    >>> ex = matched_exercise(s)
    >>> ex.check("Yes"), ex.check("No")[0]
    ((True, 'Correct.'), False)
    """
    row = summary.set_index("period").loc[period]
    low, high = float(row["difference_ci_low"]), float(row["difference_ci_high"])
    contains = low <= 0 <= high
    answer = "Yes" if contains else "No"
    hint = f"Read difference_ci_low and difference_ci_high in the row of period {period}."
    verdict = (
        "contains 0: a cohort that received nothing looks like its matched controls."
        if contains
        else "does not contain 0: this cohort differs from its controls (chance or imbalance)."
    )
    return Exercise(
        key="matched",
        question=(
            f"Does the 95 % interval of the period {period} difference (treated minus "
            "matched controls) contain 0?"
        ),
        kind="choice",
        choices=("Yes", "No"),
        check=lambda a: check_choice(a, answer, hint),
        solution=f"The interval runs from {low:+.1f} to {high:+.1f} percentage points, so it "
        + verdict,
    )
