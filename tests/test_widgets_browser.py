"""The timeline's ES module in a real browser (headless Chromium), without JupyterLab.

The module is imported as it is shipped and rendered with a minimal model object that has
the anywidget model interface (``get``, ``set``, ``save_changes``, ``on``, ``off``); the
test then uses the pointer and the keyboard as a person would and reads the model back.
The full JupyterLab round trip is the end-to-end test of issue #7.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

HARNESS = """
async ([code, state]) => {
  const url = URL.createObjectURL(new Blob([code], { type: "text/javascript" }));
  const mod = await import(url);
  const handlers = {};
  const data = { ...state };
  window.saves = 0;
  window.model = {
    get: (k) => data[k],
    set: (k, v) => { data[k] = v; for (const h of handlers["change:" + k] || []) h(); },
    save_changes: () => { window.saves += 1; },
    on: (e, h) => { (handlers[e] = handlers[e] || []).push(h); },
    off: (e, h) => { handlers[e] = (handlers[e] || []).filter((x) => x !== h); },
  };
  const el = document.createElement("div");
  el.style.width = "720px";
  document.body.appendChild(el);
  window.cleanup = mod.default.render({ model: window.model, el });
  return typeof window.cleanup;
}
"""


@pytest.fixture
def page():
    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.skip("chromium is not installed")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 900, "height": 500})
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.set_content("<html><body></body></html>")
        page.add_style_tag(
            content=(ROOT / "msc_notebooks" / "widgets" / "static" / "timeline.css").read_text()
        )
        state = {
            "patient_id": "A",
            "assessments": [
                {"day": 0, "score": 40},
                {"day": 90, "score": 37},
                {"day": 180, "score": 36},
            ],
            "injections": [90.0, 180.0],
            "selected": -1,
            "error": "",
            "time_kind": "day",
            "score_label": "alsfrs_r_total",
        }
        kind = page.evaluate(
            HARNESS,
            [(ROOT / "msc_notebooks" / "widgets" / "static" / "timeline.js").read_text(), state],
        )
        assert kind == "function"
        yield page
        assert errors == [], errors
        browser.close()


def injections(page) -> list[float]:
    return page.evaluate("window.model.get('injections')")


def test_markers_are_drawn_with_labels(page):
    markers = page.locator(".msc-timeline-injection")
    assert markers.count() == 2
    assert markers.nth(1).get_attribute("aria-label") == "Injection 2 at day 180"
    assert page.locator(".msc-timeline-assessment").count() == 3


def test_keyboard_moves_and_deletes(page):
    page.locator(".msc-timeline-injection").nth(1).focus()
    page.keyboard.press("ArrowRight")
    page.keyboard.press("Shift+ArrowRight")
    page.wait_for_function("window.model.get('injections')[1] === 188")  # 180 + 1 + 7
    assert injections(page) == [90, 188]
    page.locator(".msc-timeline-injection").nth(0).focus()
    page.keyboard.press("ArrowLeft")
    page.wait_for_function("window.model.get('injections')[0] === 89")
    page.locator(".msc-timeline-injection").nth(0).focus()
    page.keyboard.press("Delete")
    assert injections(page) == [188]


def test_key_release_sends_the_edit_once(page):
    """A released arrow key sends the edit at once, and a key held down its last position."""
    page.locator(".msc-timeline-injection").nth(1).focus()
    saves = page.evaluate("window.saves")
    page.keyboard.press("ArrowRight")  # keydown + keyup
    # no wait: the release itself sent it (not the fallback timer)
    assert page.evaluate("window.saves") == saves + 1
    assert injections(page) == [90, 181]
    for _ in range(3):  # auto-repeat while held: the marker moves 3 days
        page.keyboard.down("ArrowRight")
    page.keyboard.up("ArrowRight")
    # sent on release (the fallback timer may also have fired on a slow machine)
    assert page.evaluate("window.saves") >= saves + 2
    assert injections(page) == [90, 184]


def test_drag_and_double_click(page):
    marker = page.locator(".msc-timeline-injection").nth(1)
    box = marker.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + 60, y, steps=5)
    page.mouse.up()
    moved = injections(page)
    assert moved[0] == 90 and moved[1] > 180
    saves = page.evaluate("window.saves")
    page.locator(".msc-timeline-background").dblclick(position={"x": 30, "y": 30})
    assert len(injections(page)) == 3
    assert page.evaluate("window.saves") == saves + 1


def test_error_is_shown(page):
    page.evaluate("window.model.set('error', 'two injections on the same day')")
    box = page.locator(".msc-timeline-error")
    assert box.is_visible() and box.inner_text() == "two injections on the same day"
