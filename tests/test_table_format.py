"""Readable tables (issue #18): one set of precision rules for the Wizard and the report."""

from __future__ import annotations

import pandas as pd

from msc_notebooks.table_format import (
    column_digits,
    filter_sort,
    format_table,
    format_value,
    table_html,
)


def test_precision_rules_by_column():
    # rates to 0.01 (points/month), percentages to 0.1, p to 2 significant digits, days whole
    t = pd.DataFrame(
        {
            "rate": [1 / 3],
            "reference_rate": [0.875],
            "improvement_pct": [200 / 3],
            "wilcoxon_p": [0.0004],
            "p": [0.04567],
            "rho": [0.61234],
            "start_day": [91.3125],
            "months": [2.999],
            "start_score": [43.25],
            "n_evaluable": [19],
            "responder": [True],
            "ratio_of_means": [0.123456],
        }
    )
    row = format_table(t).iloc[0].to_dict()
    assert row == {
        "rate": "0.33",
        "reference_rate": "0.88",  # 0.875 -> 0.88 (round half to even on the binary value)
        "improvement_pct": "66.7",
        "wilcoxon_p": "< 0.001",
        "p": "0.046",
        "rho": "0.61",
        "start_day": "91",
        "months": "3.0",
        "start_score": "43.2",  # 43.25 is exactly representable: half to even
        "n_evaluable": "19",
        "responder": "yes",
        "ratio_of_means": "0.123",
    }


def test_missing_and_large_values():
    assert format_value(float("nan"), 1) == ""
    assert format_value(pd.NA, 1) == ""
    assert format_value(None, 1) == ""
    assert format_value(1234.5, 1) == "1,234.5"
    assert format_value(-0.001, 2) == "0"  # no "-0.00"
    assert column_digits("n_patients") is None


def test_table_html_sets_not_evaluable_rows_apart_and_cuts_long_reasons():
    t = pd.DataFrame(
        {
            "patient_id": ["001", "002"],
            "rate": [0.5, None],
            "evaluable": [True, False],
            "reason": ["", "no assessment within 14 days of injection 2 " * 3],
        }
    )
    page = table_html(t, sortable=True)
    rows = page.split("<tr")[2:]  # header first
    assert "msc-not-evaluable" not in rows[0] and 'class="msc-not-evaluable"' in rows[1]
    assert '<td class="msc-text" title="no assessment within 14 days' in rows[1]
    assert 'class="msc-table msc-sortable"' in page
    short = table_html(t, max_rows=1)
    assert "1 more rows not shown (first 1 of 2)" in short and "002" not in short


def test_filter_sort_on_values_not_text():
    t = pd.DataFrame(
        {"patient_id": ["a", "b", "c", "d"], "improvement_pct": [9.0, 10.0, None, -5.0]}
    )
    # as text "10.0" < "9.0"; as numbers 10 > 9; missing last in both directions
    assert filter_sort(t, sort_by="improvement_pct").patient_id.tolist() == ["d", "a", "b", "c"]
    assert filter_sort(t, sort_by="improvement_pct", ascending=False).patient_id.tolist() == [
        "b",
        "a",
        "d",
        "c",
    ]
    # the filter matches the displayed text: 10.0 is shown "10.0", -5 as "-5.0"
    assert filter_sort(t, "-5.0").patient_id.tolist() == ["d"]
    assert filter_sort(t, "zzz").empty


def test_wizard_per_patient_table_filters_and_sorts():
    import msc_notebooks as msc
    from msc_notebooks.widgets import Wizard

    # the demo cohort with patient 001's visits after its first injection removed: 001
    # is not evaluable in period 1-2 (no assessment near injection 2, SPEC §3)
    t = msc.demo_tables()
    first = t["injections"].query("patient_id == '001'").date.min()
    v = t["visits"]
    t["visits"] = v[(v.patient_id != "001") | (v.date <= first)]
    wiz = Wizard(msc.read_study(t["visits"], t["injections"], t["patients"]), figures=False)
    wiz.go("Results")  # built when opened
    step = wiz.results
    periods = wiz.state.result.periods
    step.period.value = "1-2"
    ref = periods[periods.period == "1-2"]
    assert not ref.set_index("patient_id").loc["001", "evaluable"]
    rows = step.periods_table.value.split("<tbody>")[1].split("<tr")[1:]
    assert len(rows) == len(ref)
    step.sort_by.value = "improvement_pct"
    step.descending.value = True
    best = ref.sort_values("improvement_pct", ascending=False).iloc[0]
    first = step.periods_table.value.split("<tbody>")[1].split("</tr>")[0]
    assert f"<td>{best.patient_id}</td>" in first
    assert f"<td>{best.improvement_pct:.1f}</td>" in first  # percentages to 0.1
    # the not-evaluable patient sorts last (no improvement) and is set apart
    last = step.periods_table.value.split("<tbody>")[1].split("<tr")[-1]
    assert last.startswith(' class="msc-not-evaluable"')
    step.filter.value = str(best.patient_id)
    assert step.periods_table.value.count("<tr") == 2  # header + the one patient


def test_report_tables_are_rounded_and_sortable():
    import msc_notebooks as msc

    t = msc.demo_tables()  # patient 001 not evaluable after its first injection
    first = t["injections"].query("patient_id == '001'").date.min()
    t["visits"] = t["visits"][(t["visits"].patient_id != "001") | (t["visits"].date <= first)]
    result = msc.analyze(msc.read_study(t["visits"], t["injections"], t["patients"]))
    page = msc.html_report(result, figures=False)
    assert (~result.periods.evaluable).sum() > 0
    assert "msc-sortable" in page and "<script>" in page and "<script src" not in page
    rate = float(result.periods.loc[0, "rate"])
    assert f"<td>{rate:.2f}</td>" in page  # rates to 0.01
    assert f"{rate:.6f}" not in page  # never 15 digits
    assert page.count('class="msc-not-evaluable"') == int((~result.periods.evaluable).sum())
