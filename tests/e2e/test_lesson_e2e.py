"""The teaching lesson for students who do not code, in JupyterLab and as a Voilà app.

A lesson folder is made with :func:`msc_notebooks.projects.new_project` (template
``msc-teaching``). In the browser, as a student would: the threshold slider is moved with
the keyboard (End: 100 %) and the responder count of period 1-2 must fall (SPEC section 6:
a higher threshold can only remove responders; the demo cohort has 15/19 at 25 % and
fewer at 100 %); exercise 1 is answered in its box: a wrong answer gets "Not quite" in
words, no traceback, no solution; the right one (77.8 %: (40-34)/4 = 1.5 and (34-33)/3 =
0.333 points/month, 100 x (1.5 - 0.333) / 1.5 = 77.8) gets "Correct"; the solution shows
only after "Show solution". No request leaves 127.0.0.1, no JavaScript or kernel error.
"""

from __future__ import annotations

import re
import time

import pytest
from msc_e2e import assert_log_clean, start_voila

from msc_notebooks.projects import new_project

pytestmark = pytest.mark.browser

COUNT = ".msc-lesson-explorer .msc-lesson-count"


def responders_1_2(page) -> tuple[int, int]:
    # textContent: JupyterLab may skip painting cells out of view (innerText is then "")
    text = page.locator(COUNT).first.text_content()
    m = re.search(r"1-2: (\d+) of (\d+) evaluable", text)
    assert m, text
    return int(m.group(1)), int(m.group(2))


def check_lesson(bp) -> dict:
    """Slider moves the counts; exercise 1 answered through its widget."""
    page = bp.page
    page.locator(COUNT).first.wait_for(state="visible", timeout=240_000)
    bp.wait_figures(2, timeout=240_000)
    before = responders_1_2(page)
    assert before == (15, 19), before  # the demo cohort at 25 % (README, SPEC section 6)
    handle = page.locator(".msc-lesson-threshold .noUi-handle").first
    handle.scroll_into_view_if_needed()
    handle.focus()
    page.keyboard.press("End")
    page.wait_for_function(
        "(sel) => /1-2: \\d+ of 19/.test(document.querySelector(sel).textContent)"
        " && document.querySelector(sel).textContent.includes('more than 100 %')",
        arg=COUNT,
        timeout=120_000,
    )
    after = responders_1_2(page)
    assert after[1] == before[1] and after[0] < before[0], (before, after)
    bp.screenshot("lesson-threshold-100", page.locator(".msc-lesson-explorer").first)

    box = page.locator(".msc-exercise-improvement").first
    box.scroll_into_view_if_needed()
    solution = box.locator(".msc-exercise-solution")
    feedback = box.locator(".msc-exercise-feedback")
    answer = box.locator(".msc-exercise-answer input")
    answer.fill("22.2")
    answer.press("Tab")  # leave the box, as a student does on the way to Check
    box.locator(".msc-exercise-check").click()
    feedback.filter(has_text="Not quite").wait_for(timeout=60_000)
    assert not solution.is_visible()
    answer.fill("77.8")
    answer.press("Tab")
    box.locator(".msc-exercise-check").click()
    feedback.filter(has_text="Correct").wait_for(timeout=60_000)
    assert not solution.is_visible()
    box.locator(".msc-exercise-reveal").click()
    solution.filter(has_text="77.8 %").wait_for(state="visible", timeout=60_000)
    bp.screenshot("lesson-exercise", box)
    interpretation = page.locator(".msc-null-interpretation").first
    interpretation.wait_for(state="attached", timeout=60_000)
    text = interpretation.text_content()
    assert "Period 1-2" in text and "no treatment effect" in text, text
    # both denominators, as in the CLI and report (null_model.no_effect_sentence)
    assert "19 evaluable here" in text and "on average in the simulated cohorts" in text, text
    return {"before": before, "after": after}


def test_lesson_in_jupyterlab(lab_server, browser_page):
    started = time.monotonic()
    lesson = new_project(lab_server.root / "lesson", template="msc-teaching")
    bp = browser_page
    bp.open_lab(lab_server, f"{lesson.name}/lesson.ipynb")
    bp.wait_notebook_ready("lesson.ipynb")
    bp.run_all_cells()
    out = check_lesson(bp)
    bp.assert_ran_clean()
    bp.requests.assert_local()
    bp.assert_no_js_errors()
    assert_log_clean(lab_server)
    print(f"lesson in JupyterLab: {time.monotonic() - started:.1f} s, {out}")


def test_lesson_as_voila_app(tmp_path, browser_page):
    started = time.monotonic()
    lesson = new_project(tmp_path / "lesson", template="msc-teaching")
    server = start_voila(lesson / "lesson.ipynb", tmp_path / "home")
    try:
        bp = browser_page
        bp.page.goto(server.url + "/", wait_until="commit", timeout=180_000)
        out = check_lesson(bp)
        body = bp.page.locator("body").inner_text()
        assert "Traceback" not in body and "There was an error" not in body
        bp.requests.assert_local()  # no Font Awesome from a CDN either (issue #19)
        assert not bp.requests.aborted
        bp.assert_no_js_errors()
        assert_log_clean(server)
    finally:
        server.stop()
    print(f"lesson in Voila: {time.monotonic() - started:.1f} s, {out}")
