"""The Wizard's matched natural-history controls panel (SPEC §15), driven in JupyterLab.

A notebook opens the Wizard on the synthetic demo trial (19 treated patients); the user
goes to Results, types the folder of a synthetic natural-history cohort written as PRO-ACT
files (``alsfrs.csv``, ``AlsHistory.csv``: 300 untreated patients, no real patient) into
the panel, clicks *Read and compare*, then changes k and the caliper. At each step the
numbers shown must be those recomputed here by hand (SPEC §15): the matching written out
with pandas (standardised distances, one anchor per untreated patient, the k nearest
within the caliper) and the pooled responder rates, their difference and the medians per
period. Before commit d13c230 this panel showed 'Unexpected error' instead of its tables
and no test saw it.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import nbformat
import numpy as np
import pytest
from msc_e2e import assert_log_clean, parse_table

from msc_notebooks import analyze, load_demo, natural_history_cohort
from msc_notebooks.matched_controls import candidate_anchors, treated_baseline
from msc_notebooks.natural_history import read_natural_history

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/: the by-hand matching
from matched_cohorts import match_by_hand, pooled_by_hand, write_proact  # noqa: E402

pytestmark = pytest.mark.browser

PANEL = ".msc-wizard .msc-step-matched-natural-history-controls"


def check_shown(page, expected: dict, n_unmatched: int) -> list[dict[str, str]]:
    """The panel's table against the numbers by hand (shown to 0.1 percentage point)."""
    rows = parse_table(page, f"{PANEL} .msc-matched-table table")
    shown = {r["period"]: r for r in rows}
    assert set(shown) == set(expected), (list(shown), list(expected))
    for period, want in expected.items():
        row = shown[period]
        assert int(row["n_unmatched"]) == n_unmatched, (period, row)
        for col, value in want.items():
            if col.startswith("n_"):
                assert int(row[col]) == value, (period, col, row[col], value)
            elif np.isnan(value):  # no evaluable patient in an arm: shown blank
                assert row[col] == "", (period, col, row[col])
            else:
                assert abs(float(row[col]) - value) <= 0.05 + 1e-9, (period, col, row[col], value)
    return rows


def set_number(page, css: str, value: str, shown: str) -> None:
    """Type ``value`` into the panel's number box ``css``, Enter; wait for the sentence
    to say ``shown`` (the comparison redone)."""
    box = page.locator(f"{PANEL} {css} input")
    box.fill(value)
    box.press("Enter")
    page.wait_for_function(
        "([sel, text]) => document.querySelector(sel).innerText.includes(text)",
        arg=[f"{PANEL} .msc-matched-sentence", shown],
        timeout=120_000,
    )


def test_matched_panel_shows_hand_computed_numbers(lab_server, browser_page):
    started = time.monotonic()
    folder = lab_server.root / "matched"
    write_proact(natural_history_cohort(300, seed=2, items=False), folder / "proact")
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.cells = [
        nbformat.v4.new_code_cell(
            "import msc_notebooks as msc\n"
            "from msc_notebooks.widgets import Wizard\n\n"
            'msc.setup_notebook(renderer="jupyter")\n'
            "wizard = Wizard(msc.load_demo())  # the synthetic demo trial: 19 treated patients\n"
            "wizard"
        )
    ]
    nbformat.write(nb, folder / "matched.ipynb")

    # the same inputs, analysed here: the trial, the cohort read from the same files
    result = analyze(load_demo())
    nh = read_natural_history(folder / "proact")
    anchors, base = candidate_anchors(nh, result.settings), treated_baseline(result)

    def by_hand(k: int, caliper: float):
        pairs, unmatched = match_by_hand(base, anchors, k, caliper)
        return pairs, unmatched, pooled_by_hand(result, nh, pairs)

    bp = browser_page
    page = bp.page
    bp.open_lab(lab_server, "matched/matched.ipynb")
    bp.wait_notebook_ready("matched.ipynb")
    bp.run_all_cells()
    page.locator(".msc-wizard").first.wait_for(state="attached", timeout=120_000)
    bp.assert_ran_clean()
    bp.wizard_step("Results")
    panel = page.locator(PANEL).first
    panel.wait_for(state="visible", timeout=120_000)
    assert "No natural-history cohort given yet" in panel.inner_text()

    # the folder typed in, Read and compare: k = 5, caliper 0.5 (the defaults)
    page.locator(f"{PANEL} .msc-matched-paths input").fill("proact")
    page.locator(f"{PANEL} .msc-matched-load").click()
    sentence = page.locator(f"{PANEL} .msc-matched-sentence")
    page.wait_for_function(
        f"""() => {{ const p = document.querySelector('{PANEL}');
             return !!p && (p.querySelector('.msc-matched-table table') !== null
                            || /error/i.test(p.innerText)); }}""",
        timeout=120_000,
    )
    assert "Unexpected error" not in panel.inner_text(), panel.inner_text()
    assert "error" not in page.locator(f"{PANEL} > .msc-message").inner_text().lower()
    pairs, unmatched, expected = by_hand(5, 0.5)
    n_treated = len(base)
    assert n_treated == 19  # the demo's treated patients
    text = sentence.inner_text()
    assert (
        f"{pairs.treated_id.nunique()} of {n_treated} treated patients matched to "
        f"{len(pairs)} controls (k = 5, caliper 0.5 SD) from {anchors.patient_id.nunique()} "
        "untreated patients with a candidate anchor (of 300)" in text
    ), text
    default_rows = check_shown(page, expected, len(unmatched))
    panel.scroll_into_view_if_needed()
    bp.screenshot("matched-k5-caliper0.5", panel)

    # k = 2: fewer controls per treated patient, numbers recomputed
    set_number(page, ".msc-matched-k", "2", "(k = 2, caliper 0.5 SD)")
    pairs2, unmatched2, expected2 = by_hand(2, 0.5)
    assert len(pairs2) < len(pairs) and pairs2.groupby("treated_id").size().max() == 2
    assert f"matched to {len(pairs2)} controls" in sentence.inner_text()
    k2_rows = check_shown(page, expected2, len(unmatched2))
    assert k2_rows != default_rows  # the shown numbers followed k

    # caliper 0.15 SD: some treated patients have no untreated anchor that close
    set_number(page, ".msc-matched-caliper", "0.15", "(k = 2, caliper 0.15 SD)")
    pairs3, unmatched3, expected3 = by_hand(2, 0.15)
    assert 0 < len(unmatched3) < n_treated, unmatched3
    text = sentence.inner_text()
    assert f"{n_treated - len(unmatched3)} of {n_treated} treated patients" in text, text
    assert f"; {len(unmatched3)} unmatched." in text, text
    check_shown(page, expected3, len(unmatched3))
    left_out = parse_table(page, f"{PANEL} .msc-matched-unmatched table")
    assert sorted(r["patient_id"] for r in left_out) == sorted(unmatched3)
    assert all(r["reason"] == "no untreated anchor within the caliper" for r in left_out)
    assert "Unexpected error" not in panel.inner_text()
    panel.scroll_into_view_if_needed()
    bp.screenshot("matched-k2-caliper0.15", panel)

    bp.assert_ran_clean()
    bp.requests.assert_local()
    bp.assert_no_js_errors()
    assert_log_clean(lab_server)
    print(f"matched-controls panel in JupyterLab: {time.monotonic() - started:.1f} s")
