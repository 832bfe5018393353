"""pytest fixtures for the real-browser end-to-end tests (JupyterLab, Voila, Binder rebuild).

Everything is real: JupyterLab or Voila started as a subprocess on 127.0.0.1 (free port,
token, temp folders), Debian's Chromium driven by Playwright (never ``playwright install``),
the kit's own Launcher cards and notebooks. The helpers live in ``msc_e2e.py``.

No browser on the machine: browser tests are skipped with "no chromium installed:
apt-get install chromium", unless ``CI=true`` or ``MSC_REQUIRE_BROWSER=1``, in which case
they fail instead.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from msc_e2e import (
    CHROMIUM_ARGS,
    VIEWPORT,
    BrowserPage,
    RequestLog,
    Server,
    find_chromium,
    installed_card_configs,
    skip_or_fail,
    start_lab,
    write_overrides,
)


@pytest.fixture(scope="session")
def chromium_path() -> str:
    """Debian's Chromium; skip (or fail on CI / MSC_REQUIRE_BROWSER=1) when missing."""
    path = find_chromium()
    if path is None:
        skip_or_fail("no chromium installed: apt-get install chromium")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        skip_or_fail(
            "playwright is not installed: pip install playwright (no `playwright install`)"
        )
    return path


@pytest.fixture(scope="module")
def browser(chromium_path: str) -> Iterator[object]:
    """One headless Chromium per test module, launched from the Debian binary.

    Module scope, not session: Playwright's sync API runs its own event loop in this thread
    while it is open, so a session-long instance would make every later test that opens
    its own ``sync_playwright()`` (tests/test_widgets_browser.py, ...) fail with "using
    Playwright Sync API inside the asyncio loop".
    """
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def browser_page(browser, request) -> Iterator[BrowserPage]:
    """A fresh page that records every request; fails at teardown on outside requests.

    A last screenshot ``test-artifacts/<test>-final.png`` is saved at teardown, pass or
    fail.
    """
    context = browser.new_context(viewport=VIEWPORT)
    requests = RequestLog()
    context.on("request", lambda r: requests.urls.append(r.url))
    page = context.new_page()
    page.on("websocket", lambda ws: requests.urls.append(ws.url))
    page.set_default_timeout(60_000)
    bp = BrowserPage(page, requests, request.node.name)
    try:
        yield bp
    finally:
        try:
            bp.screenshot("final")
        except Exception:  # noqa: BLE001 - a screenshot must not hide the real failure
            pass
        context.close()
    requests.assert_local()


@pytest.fixture(scope="session")
def lab_server(tmp_path_factory) -> Iterator[Server]:
    """JupyterLab from this Python on 127.0.0.1 (free port, token) in a temp root.

    User settings, workspaces, config and data dirs are temporary; ``overrides.json``
    (no news, no update checks) lives in a temp ``app_settings_dir``.
    """
    base = tmp_path_factory.mktemp("lab")
    root = base / "root"
    root.mkdir()
    home = base / "home"
    settings = write_overrides(base / "app-settings")
    server = start_lab(root, home, app_settings_dir=settings)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def kit_cards() -> list[Path]:
    """The kit's installed app-launcher configs; fail if ``pip install`` did not put them."""
    cards = installed_card_configs()
    if not cards:
        pytest.fail(
            "the kit's Launcher cards are not installed: no jp_app_launcher*.yaml in the "
            "Jupyter data path; run `pip install -e .` (shared-data in pyproject.toml)"
        )
    return cards
