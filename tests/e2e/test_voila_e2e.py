"""The guided notebook served as an app (``msc-notebooks app`` -> Voila) in headless Chromium.

A study folder is created with :func:`msc_notebooks.projects.new_project` (what ``msc-notebooks
new`` does); its ``guided.ipynb`` is served with the command of
:func:`msc_notebooks.servers.app_command` plus a free port. The page must show the Wizard
and the figures with no error, the threshold slider must change the responder counts and
the timeline must change the interval table, as in JupyterLab.

Outside requests: Voila 0.5's ``lab`` template links Font Awesome CSS from
cdn.jsdelivr.net (``voila/templates/lab/index.html.j2``; RECIPES.md section 8); the kit
serves its apps with its own ``msc-offline`` template (``msc_notebooks.voila_app``), which
drops those links. Any request that leaves 127.0.0.1 fails the test, Font Awesome's too.
"""

from __future__ import annotations

import re
import time

import pytest
from msc_e2e import assert_log_clean, start_voila

from msc_notebooks.projects import new_project

pytestmark = pytest.mark.browser

FONT_AWESOME = re.compile(
    r"^https://cdn\.jsdelivr\.net/npm/@fortawesome/fontawesome-free@[^/]+/css/"
)


@pytest.fixture
def voila_app(tmp_path):
    """Voila serving a new study's guided.ipynb on 127.0.0.1 (free port)."""
    study = new_project(tmp_path / "study", context={"demo": True})
    server = start_voila(study / "guided.ipynb", tmp_path / "home")
    try:
        yield server
    finally:
        server.stop()


def test_guided_notebook_as_voila_app(voila_app, browser_page):
    started = time.monotonic()
    bp = browser_page
    bp.page.goto(voila_app.url + "/", wait_until="commit", timeout=180_000)
    bp.page.locator(".msc-wizard").first.wait_for(state="visible", timeout=240_000)
    figures = bp.wait_figures(1, timeout=240_000)
    body = bp.page.locator("body").inner_text()
    assert "There was an error when executing cell" not in body
    assert "Traceback" not in body
    assert bp.error_outputs() == [], bp.error_outputs()
    bp.screenshot("app")
    # first view of each step with figures: every figure drawn (issue #19)
    assert bp.check_step_figures("Results", 5) >= 5
    assert bp.check_step_figures("Safety", 2) == 2
    bp.check_threshold_changes_responders()
    bp.check_timeline_moves_interval()
    assert bp.error_outputs() == []
    bp.requests.assert_local()
    bp.assert_no_js_errors()
    assert_log_clean(voila_app)
    assert not any(FONT_AWESOME.match(u) for u in bp.requests.urls), "Font Awesome requested"
    print(f"guided notebook in Voila: {time.monotonic() - started:.1f} s, {figures} figures")
