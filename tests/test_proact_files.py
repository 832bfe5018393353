"""PRO-ACT natural history as users have it: several files, every row accounted for (SPEC §1,
§10, §15), and outcome tables on their own days (issue #21 point 3)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from msc_notebooks import InputError, analyze, read_study
from msc_notebooks.natural_history import read_natural_history
from msc_notebooks.outcome_tables import add_outcome_table, read_outcome_table
from msc_notebooks.proact import proact_files, read_proact

MD = 365.25 / 12  # SPEC §2
ITEM_COLS = [
    "Q1_Speech",
    "Q2_Salivation",
    "Q3_Swallowing",
    "Q4_Handwriting",
    "Q5a_Cutting_without_Gastrostomy",
    "Q5b_Cutting_with_Gastrostomy",
    "Q6_Dressing_and_Hygiene",
    "Q7_Turning_in_Bed",
    "Q8_Walking",
    "Q9_Climbing_Stairs",
    "R_1_Dyspnea",
    "R_2_Orthopnea",
    "R_3_Respiratory_Insufficiency",
]


def balanced(study) -> None:
    """read = used + excluded for every table; the exclusions (rows, not cell notes) agree."""
    led = study.ledger
    assert (led.rows_read == led.rows_used + led.rows_excluded).all(), led
    counts = study.exclusions.groupby("table").size()
    for rec in led.itertuples():
        assert counts.get(rec.table, 0) == rec.rows_excluded, rec


# --- q5a and q5b both filled (SPEC §1) -----------------------------------------------------


def _item_row(pid, day, q5a, q5b, total):
    # every other item 4: 11 x 4 = 44 plus item 5
    items = [4, 4, 4, 4, q5a, q5b, 4, 4, 4, 4, 4, 4, 4]
    return [pid, day, *items, total]


def test_both_q5a_and_q5b_kept_when_total_matches_exactly_one():
    rows = [
        _item_row("1", 0, 3, 2, 47),  # 44 + 3 = 47: q5a counts, q5b noted
        _item_row("1", 30, 3, 1, 45),  # 44 + 1 = 45: q5b counts (gastrostomy)
        _item_row("1", 60, 2, 2, 46),  # both give 46: cannot tell -> excluded
        _item_row("1", 90, 3, 2, 40),  # neither gives 40 -> excluded
        _item_row("1", 120, 3, 2, None),  # no total to tell -> excluded
    ]
    v = pd.DataFrame(rows, columns=["subject_id", "ALSFRS_Delta", *ITEM_COLS, "ALSFRS_R_Total"])
    s = read_study(v)
    assert s.visits.day.tolist() == [0.0, 30.0]
    assert s.visits.q5.tolist() == [3.0, 1.0]
    assert s.visits.gastrostomy.tolist() == [False, True]
    assert s.visits.alsfrs_r_total.tolist() == [47.0, 45.0]
    assert s.visits.fine_motor.tolist() == [11.0, 9.0]  # q4 + q5 + q6
    ex = s.exclusions
    notes = ex[ex.table == "visits (cells)"]
    assert notes.row.tolist() == [0, 1]
    assert notes.column.tolist() == ["q5b", "q5a"]
    assert notes.value.tolist() == ["2", "3"]
    assert notes.reason.str.contains("row kept").all()
    rows_out = ex[ex.table == "visits"]
    assert rows_out.row.tolist() == [2, 3, 4]
    assert rows_out.reason.str.startswith("both q5a and q5b are filled").all()
    assert s.ledger.iloc[0].tolist() == ["visits", 5, 2, 3]  # the notes are not rows out
    balanced(s)


# --- an outcome table with its own days ----------------------------------------------------


def test_outcome_table_keeps_values_on_days_without_alsfrs():
    # visits: days 0 and 91 (ALSFRS-R 40 and 37; FVC 90 on day 0 already in the visits)
    # FVC table: day 0 (clash: the visits hold FVC that day -> excluded), day 30 (own row),
    # day 30 again (merged, mean (80 + 84) / 2 = 82), day 61 (own row), day 91 (fills the
    # visit), day 120 patient 9 (unknown), day 150 "n/a" (missing value), day 151 -3
    # (below 0).
    s = read_study(
        pd.DataFrame(
            {
                "patient_id": ["1", "1"],
                "day": [0, 91],
                "alsfrs_r_total": [40, 37],
                "fvc_pct": [90, None],
            }
        )
    )
    fvc = pd.DataFrame(
        {
            "patient_id": ["1", "1", "1", "1", "1", "9", "1", "1"],
            "day": [0, 30, 30, 61, 91, 120, 150, 151],
            "fvc_pct": ["88", "80", "84", "76", "74", "70", "n/a", "-3"],
        }
    )
    s2 = add_outcome_table(s, read_outcome_table(fvc))
    v = s2.visits
    assert v.day.tolist() == [0.0, 30.0, 61.0, 91.0]
    assert v.fvc_pct.tolist() == [90.0, 82.0, 76.0, 74.0]
    assert v.alsfrs_r_total.isna().tolist() == [False, True, True, False]
    reasons = s2.exclusions.set_index("row").reason
    assert reasons[0].startswith("the visits already hold fvc_pct on this day")
    assert reasons[2] == "same-day duplicate of row 1: merged (mean used)"
    assert reasons[5].startswith("unknown patient")
    assert reasons[6] == "missing fvc_pct"
    assert reasons[7] == "fvc_pct below 0"
    assert s2.ledger.set_index("table").loc["fvc_pct"].tolist() == [8, 3, 5]
    balanced(s2)
    # the ALSFRS-R analysis is unchanged by the FVC-only rows; FVC rates use FVC days
    inj = pd.DataFrame({"patient_id": ["1", "1"], "day": [30, 61]})
    s3 = s2.with_injections(
        read_study(v[["patient_id", "day"]].assign(alsfrs_r_total=40), inj).injections
    )
    p = analyze(s3, outcome="fvc_pct", safety=False).periods.set_index("period")
    # reference (run-in): 90 -> 82 over 30 days; 1-2: 82 -> 76 over 31 days
    assert p.loc["reference", "rate"] == pytest.approx(8 / (30 / MD))
    assert p.loc["1-2", "rate"] == pytest.approx(6 / (31 / MD))


def test_read_study_outcome_tables_option(tmp_path):
    (tmp_path / "v.csv").write_text("patient_id,day,alsfrs_r_total\n1,0,40\n1,90,38\n")
    (tmp_path / "fvc.csv").write_text("patient_id,day,fvc_pct\n1,45,80\n1,90,78\n")
    s = read_study(tmp_path / "v.csv", outcome_tables={"fvc_pct": tmp_path / "fvc.csv"})
    assert s.visits.fvc_pct.tolist()[1:] == [80.0, 78.0]
    assert s.sources["fvc_pct"] == "fvc.csv"
    balanced(s)


def test_outcome_table_time_kind_must_match():
    s = read_study(pd.DataFrame({"patient_id": ["1"], "day": [0], "alsfrs_r_total": [40]}))
    fvc = pd.DataFrame({"patient_id": ["1"], "date": ["2020-01-01"], "fvc_pct": [80]})
    with pytest.raises(InputError, match="no 'day' column"):
        add_outcome_table(s, read_outcome_table(fvc))


# --- several PRO-ACT files together ---------------------------------------------------------


def write_export(folder):
    """A tiny PRO-ACT export (synthetic). Subjects: 1 placebo, 2 active, 3 no arm known."""
    alsfrs = pd.DataFrame(
        {
            "subject_id": [1, 1, 1, 2, 2, 3, 3, 3],
            "ALSFRS_Delta": [0, 60, 120, 0, 60, 0, 45, 90],
            "ALSFRS_R_Total": [40, 38, 36, 44, 43, 30, 29, 27],
        }
    )
    alsfrs.to_csv(folder / "alsfrs.csv", index=False)
    pd.DataFrame(
        {
            # subject 1: first row without onset, second -300, third -250 (first counts)
            "subject_id": [1, 1, 1, 2, 3, 4],
            "Onset_Delta": ["", "-300", "-250", "-200", "-400", "-100"],
            "Diagnosis_Delta": ["-30", "", "", "", "-60", ""],
        }
    ).to_csv(folder / "AlsHistory.csv", index=False)
    pd.DataFrame(
        {
            # FVC of subject 1 on day 30 (no ALSFRS-R that day) and day 60 (shared); of
            # subject 2 (active: out); of subject 3 on day 20
            "subject_id": [1, 1, 2, 3],
            "Forced_Vital_Capacity_Delta": [30, 60, 0, 20],
            "pct_of_Normal_Trial_1": [85, 80, 90, 70],
            "pct_of_Normal_Trial_2": [88, "", 91, 69],
            "pct_of_Normal_Trial_3": ["", "", "", ""],
        }
    ).to_csv(folder / "Fvc.csv", index=False)
    pd.DataFrame(
        {"subject_id": [1, 3], "Subject_Died": ["Yes", "No"], "Death_Days": [400, ""]}
    ).to_csv(folder / "DeathData.csv", index=False)
    pd.DataFrame({"subject_id": [1, 2, 5], "Study_Arm": ["Placebo", "Active", ""]}).to_csv(
        folder / "Treatment.csv", index=False
    )


def test_read_proact_folder_every_row_accounted(tmp_path):
    write_export(tmp_path)
    s = read_proact(tmp_path)
    # subject 2 (Active) is out of every table; 1 (placebo) and 3 (arm unknown) stay
    assert s.visits.patient_id.unique().tolist() == ["1", "3"]
    pats = s.patients.set_index("patient_id")
    assert pats.loc["1", "onset_day"] == -300.0  # first non-missing Onset_Delta
    assert pats.loc["1", "diagnosis_day"] == -30.0
    assert pats.loc["3", "onset_day"] == -400.0
    assert pats.loc["1", "death_day"] == 400.0 and np.isnan(pats.loc["3", "death_day"])
    # FVC: subject 1 day 30 kept as its own row (best of trials: 88), day 60 fills the
    # visit (80); subject 3 day 20 (70)
    fvc = s.visits.dropna(subset=["fvc_pct"]).set_index(["patient_id", "day"]).fvc_pct
    assert fvc.to_dict() == {("1", 30.0): 88.0, ("1", 60.0): 80.0, ("3", 20.0): 70.0}
    led = s.ledger.set_index("table")
    assert led.loc["visits"].tolist() == [8, 6, 2]  # subject 2's two assessments out
    assert led.loc["history"].tolist() == [6, 2, 4]  # 1 and 3 used; 1's other two, 2, 4
    assert led.loc["deaths"].tolist() == [2, 2, 0]
    assert led.loc["treatment"].tolist() == [3, 2, 1]  # subject 5: arm not recorded
    assert led.loc["fvc_pct"].tolist() == [4, 3, 1]
    balanced(s)
    ex = s.exclusions
    hist = ex[ex.table == "history"].set_index("row").reason
    assert hist[2].startswith("further history row") and "row 3" in hist[2]
    assert hist[4].startswith("further history row")
    assert hist[5].startswith("treated in its trial")
    assert hist[7].startswith("no ALSFRS-R assessment")
    assert ex[(ex.table == "visits")].reason.str.startswith("treated in its trial").all()
    assert any("1 patient(s) treated in their trial" in w for w in s.warnings)


def test_read_natural_history_dispatch_and_errors(tmp_path):
    write_export(tmp_path)
    files = [tmp_path / "alsfrs.csv", tmp_path / "AlsHistory.csv"]
    s = read_natural_history([str(f) for f in files])
    assert set(s.ledger.table) == {"visits", "history"}
    # one file alone is read as a visits table (canonical or PRO-ACT names)
    assert read_natural_history(str(tmp_path / "alsfrs.csv")).visits.patient_id.nunique() == 3
    with pytest.raises(InputError, match="no ALSFRS-R file"):
        proact_files([tmp_path / "AlsHistory.csv"])
    (tmp_path / "notes.csv").write_text("x\n1\n")
    with pytest.raises(InputError, match="not a PRO-ACT natural-history file"):
        proact_files([tmp_path / "alsfrs.csv", tmp_path / "notes.csv"])
    assert "visits" in proact_files(tmp_path)  # in a folder, other files are skipped


def test_cli_outcome_table_for_the_main_study(tmp_path):
    # the demo's FVC on extra days: two values on days without an assessment (the demo
    # has calendar dates), one for an unknown patient; all in the ledger
    from msc_notebooks.cli import main
    from msc_notebooks.export import read_results

    (tmp_path / "fvc.csv").write_text(
        "patient_id,date,fvc_pct\n001,2016-01-09,91\n001,2016-01-10,90\nzzz,2016-01-10,80\n"
    )
    out = tmp_path / "out"
    argv = ["analyze", "--demo", "--outcome-table", f"fvc_pct={tmp_path / 'fvc.csv'}",
            "--out", str(out), "--quiet"]  # fmt: skip
    assert main(argv) == 0
    t = read_results(out)
    led = t["ledger"].set_index("table").loc["fvc_pct"]
    assert (led.rows_read, led.rows_used, led.rows_excluded) == (3, 2, 1)
    ex = t["exclusions"]
    assert ex[ex.table == "fvc_pct"].reason.str.startswith("unknown patient").all()
    assert main(["analyze", "--demo", "--outcome-table", "fvc.csv"]) == 2
