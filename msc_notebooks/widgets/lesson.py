"""The teaching notebook's widgets: a responder explorer, exercises, the no-effect reading.

For students who do not code, in JupyterLab or Voilà: a threshold slider and the
reference and window choices move the responder counts and figures live; exercises are
answered in boxes and buttons, with feedback in words and the solution only on request.
The words and checks come from :mod:`msc_notebooks.teaching`.
"""

from __future__ import annotations

import html
from typing import Any

import ipywidgets as w

from ..settings import Settings
from ..teaching import Exercise, null_sentences, responder_lines
from .common import note, show_figures
from .state import WizardState, describe_error

__all__ = ["ResponderExplorer", "ExerciseBox", "exercise_boxes", "NullReading"]


class ResponderExplorer(w.VBox):
    """Threshold, reference and window controls with the responder counts and figures.

    Parameters
    ----------
    study : StudyData
        The cohort (the lesson uses the demo cohort).
    settings : Settings, optional
        Starting settings.
    figures : bool, default True
        Draw the responders-per-period figure and the waterfall of period 1-2. At each
        change the new charts go into the same chart widgets (only the figures whose
        picture changed are sent: :func:`.common.show_figures`), so a student dragging
        the slider never piles up chart widgets in the browser.

    Attributes
    ----------
    threshold : ipywidgets.FloatSlider
        Responder threshold in % (CSS class ``msc-lesson-threshold``).
    reference : ipywidgets.ToggleButtons
        ``run-in`` or ``onset``.
    window : ipywidgets.IntSlider
        Days an assessment may be from an injection and still be used.
    counts : ipywidgets.HTML
        One line per period (CSS class ``msc-lesson-count``).
    state : WizardState
        The analysis kept up to date (a threshold change only re-classifies).

    Examples
    --------
    >>> from msc_notebooks import load_demo
    >>> ex = ResponderExplorer(load_demo(), figures=False)
    >>> "1-2: 15 of 19" in ex.counts.value
    True
    >>> ex.threshold.value = 50
    >>> "1-2: 15 of 19" in ex.counts.value
    False
    """

    def __init__(
        self, study: Any, settings: Settings | None = None, *, figures: bool = True, **kw: Any
    ) -> None:
        settings = settings or Settings()
        self.state = WizardState(settings=settings, auto_analyze=True)
        self.draw_figures = figures
        self.threshold = w.FloatSlider(
            value=settings.threshold_pct,
            min=0,
            max=100,
            step=1,
            readout_format=".0f",
            continuous_update=False,
            description="threshold (%)",
            style={"description_width": "120px"},
            layout=w.Layout(width="560px"),
        )
        self.threshold.add_class("msc-lesson-threshold")
        self.reference = w.ToggleButtons(
            options=[("run-in (before injection 1)", "run-in"), ("from onset", "onset")],
            value=settings.reference,
            description="reference",
            style={"description_width": "120px"},
        )
        self.window = w.IntSlider(
            value=int(settings.window_days),
            min=0,
            max=60,
            step=1,
            continuous_update=False,
            description="window (days)",
            style={"description_width": "120px"},
            layout=w.Layout(width="560px"),
        )
        self.help = w.HTML(
            note(
                "threshold: a patient is a responder when the progression rate improved by "
                "more than this %. reference: the rate before treatment is measured over "
                "the run-in (first assessment to injection 1) or from disease onset. "
                "window: how many days an assessment may be from an injection and still "
                "stand for the score at that injection."
            )
        )
        self.message = w.HTML("")
        self.counts = w.HTML("")
        self.counts.add_class("msc-lesson-count")
        self.figures = w.Output()
        self.figures.add_class("msc-figures")
        for control in (self.threshold, self.reference, self.window):
            control.observe(self._on_control, names="value")
        self.state.observe(lambda _: self._show(), names=["result", "analysis_error"])
        super().__init__(
            [
                self.threshold,
                self.reference,
                self.window,
                self.help,
                self.message,
                self.counts,
                self.figures,
            ],
            **kw,
        )
        self.add_class("msc-lesson-explorer")
        self.state.study = study

    @property
    def result(self) -> Any:
        """The current analysis (None if it failed: :attr:`message` says why)."""
        return self.state.result

    def _on_control(self, _change: dict[str, Any]) -> None:
        try:
            self.state.settings = self.state.settings.replace(
                threshold_pct=float(self.threshold.value),
                reference=self.reference.value,
                window_days=float(self.window.value),
            )
        except Exception as exc:  # shown in words, never a traceback
            self.message.value = note(describe_error(exc), "error")

    def _show(self) -> None:
        result = self.state.result
        if result is None:
            self.counts.value = ""
            self.message.value = note(
                f"No result with these choices: {self.state.analysis_error}", "error"
            )
            show_figures(self.figures, {})
            return
        self.message.value = ""
        lines = responder_lines(result)
        self.counts.value = "<ul>" + "".join(f"<li>{html.escape(t)}</li>" for t in lines) + "</ul>"
        if self.draw_figures:
            from .. import charts

            show_figures(
                self.figures,
                {
                    "Responders per period": charts.responders_by_period(result),
                    "Improvement between injections 1 and 2": charts.improvement_waterfall(
                        result, "1-2"
                    ),
                },
            )


class ExerciseBox(w.VBox):
    """One exercise: the question, an answer box or buttons, Check, and Show solution.

    Parameters
    ----------
    exercise : Exercise
        From :func:`msc_notebooks.teaching.lesson_exercises`.
    number : int
        Shown as "Exercise <number>".

    Attributes
    ----------
    answer : ipywidgets.Text or ipywidgets.ToggleButtons
        Where the student answers (CSS class ``msc-exercise-answer``).
    check : ipywidgets.Button
        Checks the answer; :attr:`feedback` says, in words, whether it is right.
    feedback : ipywidgets.HTML
        CSS class ``msc-exercise-feedback``.
    reveal : ipywidgets.Button
        Shows :attr:`solution` (hidden until pressed).
    correct : bool or None
        The last check's outcome (None before any check).

    Examples
    --------
    >>> from msc_notebooks import analyze, load_demo
    >>> from msc_notebooks.teaching import lesson_exercises
    >>> box = ExerciseBox(lesson_exercises(analyze(load_demo()))[0], 1)
    >>> box.answer.value = "12"; box.check.click(); box.correct, "Not quite" in box.feedback.value
    (False, True)
    >>> box.solution.layout.display
    'none'
    >>> box.answer.value = "77.8"; box.check.click(); box.correct
    True
    """

    def __init__(self, exercise: Exercise, number: int, **kw: Any) -> None:
        self.exercise = exercise
        self.correct: bool | None = None
        question = w.HTML(f"<p><b>Exercise {number}.</b> {html.escape(exercise.question)}</p>")
        if exercise.kind == "choice":
            self.answer = w.ToggleButtons(options=list(exercise.choices), value=None)
        else:
            self.answer = w.Text(
                placeholder=f"your answer ({exercise.unit})" if exercise.unit else "your answer",
                layout=w.Layout(width="220px"),
                continuous_update=False,  # sent on Enter or when leaving the box (Check)
            )
        self.answer.add_class("msc-exercise-answer")
        self.check = w.Button(description="Check", button_style="primary")
        self.check.add_class("msc-exercise-check")
        self.feedback = w.HTML("")
        self.feedback.add_class("msc-exercise-feedback")
        self.reveal = w.Button(description="Show solution")
        self.reveal.add_class("msc-exercise-reveal")
        self.solution = w.HTML(note(exercise.solution))
        self.solution.add_class("msc-exercise-solution")
        self.solution.layout.display = "none"
        self.check.on_click(lambda _: self._check())
        self.reveal.on_click(lambda _: self._reveal())
        super().__init__(
            [
                question,
                w.HBox([self.answer, self.check, self.reveal]),
                self.feedback,
                self.solution,
            ],
            **kw,
        )
        self.add_class("msc-exercise")
        self.add_class(f"msc-exercise-{exercise.key}")

    def _check(self) -> None:
        try:
            ok, text = self.exercise.check(self.answer.value)
        except Exception as exc:  # feedback in words, never a traceback
            ok, text = False, describe_error(exc)
        self.correct = ok
        self.feedback.value = note(text, "ok" if ok else "error")

    def _reveal(self) -> None:
        self.solution.layout.display = None
        self.reveal.disabled = True


def exercise_boxes(exercises: list[Exercise]) -> w.VBox:
    """Every exercise in one box, numbered from 1.

    Examples
    --------
    >>> from msc_notebooks import analyze, load_demo
    >>> from msc_notebooks.teaching import lesson_exercises
    >>> len(exercise_boxes(lesson_exercises(analyze(load_demo()))).children)
    3
    """
    return w.VBox([ExerciseBox(e, i) for i, e in enumerate(exercises, start=1)])


class NullReading(w.VBox):
    """The no-effect table in words: one paragraph per period, and the question to answer.

    Parameters
    ----------
    null : pandas.DataFrame or None
        From :func:`msc_notebooks.null_model.simulate_null`.

    Examples
    --------
    >>> NullReading(None).children[0].value[:40]
    '<div class="msc-note msc-note-info">The '
    """

    def __init__(self, null: Any, **kw: Any) -> None:
        if null is None:
            parts = [w.HTML(note("The no-effect simulation was not run."))]
        else:
            parts = [w.HTML(f"<p>{html.escape(text)}</p>") for text in null_sentences(null)]
        for part in parts:
            part.add_class("msc-null-interpretation")
        self.answer = w.Textarea(
            placeholder="Your answer, in words (kept in this page only)",
            layout=w.Layout(width="100%", height="120px"),
        )
        self.answer.add_class("msc-free-answer")
        super().__init__([*parts, self.answer], **kw)
