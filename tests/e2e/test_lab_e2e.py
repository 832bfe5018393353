"""The kit in a real JupyterLab, driven by headless Chromium as a person would.

Launcher -> section "MSC notebooks" -> card -> a named copy opens -> Run All -> the
Wizard and the figures render; the Settings threshold slider changes the responder counts
in Results, and moving an injection on the timeline changes the interval table. No
request leaves 127.0.0.1 (checked by the ``browser_page`` fixture). Screenshots go to
``test-artifacts/``.
"""

from __future__ import annotations

import time

import pytest
from msc_e2e import GUIDED_CARD, LAUNCHER_SECTION, TEACHING_CARD, assert_log_clean

pytestmark = pytest.mark.browser


def open_card(bp, server, title: str) -> str:
    """Open JupyterLab, click the Launcher card ``title``; return the opened copy's path."""
    bp.open_lab(server)
    bp.open_launcher()
    assert LAUNCHER_SECTION in bp.launcher_section_titles()
    bp.screenshot("launcher")
    card = bp.launcher_card(title)
    assert card.count() == 1, f"Launcher card {title!r} not found (or found twice)"
    card.click()
    path = bp.wait_notebook_ready(title).lstrip("/")
    assert bp.kernel_dialogs == 0, "the notebook asked which kernel to use"
    # jupyter-app-launcher saves a named copy in the current folder of the file browser
    assert path.endswith(".ipynb") and path.startswith(title), path
    assert (server.root / path).is_file(), f"{path} was not saved into {server.root}"
    return path


def test_guided_card_wizard_and_figures(lab_server, kit_cards, browser_page):
    started = time.monotonic()
    bp = browser_page
    open_card(bp, lab_server, GUIDED_CARD)
    out = bp.check_guided_notebook()
    assert out["figures"] >= 1
    bp.requests.assert_local()
    bp.assert_no_js_errors()
    assert_log_clean(lab_server)
    print(f"guided notebook in JupyterLab: {time.monotonic() - started:.1f} s, {out}")


def test_teaching_card_runs_clean(lab_server, kit_cards, browser_page):
    started = time.monotonic()
    bp = browser_page
    open_card(bp, lab_server, TEACHING_CARD)
    bp.run_all_cells()
    figures = bp.wait_figures(1)
    bp.assert_ran_clean()
    bp.screenshot("after-run-all")
    bp.requests.assert_local()
    bp.assert_no_js_errors()
    assert_log_clean(lab_server)
    print(f"teaching notebook in JupyterLab: {time.monotonic() - started:.1f} s, {figures} figures")
