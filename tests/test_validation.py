"""Validation rules (SPEC §1, §10, §11, §12), each with a small table built here.

Day numbers are worked out by hand: 2020-01-01 is day 18262 since 1970-01-01
(50 years x 365 days + 12 leap days: 1972, 1976, ..., 2016).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from msc_notebooks.columns import EXCLUSIONS_COLUMNS, LEDGER_COLUMNS
from msc_notebooks.errors import InputError
from msc_notebooks.loading import read_study

JAN1_2020 = 18262


def csv(tmp_path, name: str, text: str):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def balanced(study) -> None:
    led = study.ledger
    assert list(led.columns) == list(LEDGER_COLUMNS)
    assert (led.rows_read == led.rows_used + led.rows_excluded).all()
    counts = study.exclusions.groupby("table").size()
    for rec in led.itertuples():
        assert counts.get(rec.table, 0) == rec.rows_excluded


def reasons(study, table: str = "visits") -> dict:
    ex = study.exclusions[study.exclusions.table == table]
    return dict(zip(ex["row"], ex["reason"], strict=True))


# ----------------------------------------------------------------------- columns


def test_missing_columns_guess_and_column_map_fix(tmp_path):
    path = csv(tmp_path, "v.csv", "Subjekt,date,alsfrs_r_total\n1,2020-01-01,40\n")
    with pytest.raises(InputError) as err:
        read_study(path)
    msg = str(err.value)
    assert "v.csv" in msg and "'patient_id'" in msg
    assert "columns found: ['Subjekt', 'date', 'alsfrs_r_total']" in msg
    assert "column_map={'Subjekt': 'patient_id'}" in msg
    assert "--map Subjekt=patient_id" in err.value.render("cli")
    study = read_study(path, column_map={"Subjekt": "patient_id"})
    assert study.visits.patient_id.tolist() == ["1"]


def test_recognised_column_names_are_mapped_and_reported(tmp_path):
    # a CRF export's own names: no column map needed, and the renaming is reported
    v = csv(tmp_path, "v.csv", "Subject,Visit Date,ALSFRS-R\n1,2020-01-01,40\n1,2020-03-01,38\n")
    i = csv(tmp_path, "i.csv", "Patient ID,Injection Date\n1,2020-02-01\n")
    study = read_study(v, i)
    assert study.visits[["patient_id", "alsfrs_r_total"]].values.tolist() == [["1", 40], ["1", 38]]
    assert study.recognised == {
        "visits": {"Subject": "patient_id", "Visit Date": "date", "ALSFRS-R": "alsfrs_r_total"},
        "injections": {"Patient ID": "patient_id", "Injection Date": "date"},
    }


def test_two_columns_claiming_one_name_are_not_guessed(tmp_path):
    # 'Patient' and 'Subject' both mean patient_id: neither is chosen, the user is asked
    path = csv(tmp_path, "v.csv", "Patient,Subject,date,alsfrs_r_total\n1,1,2020-01-01,40\n")
    with pytest.raises(InputError, match="two columns both mean 'patient_id'"):
        read_study(path)


def test_day_column_is_never_guessed_from_a_text_column(tmp_path):
    # 'Study_Arm' is close to the synonym 'study_day' by name, but holds text: the fix
    # must not suggest it as the day column
    path = csv(tmp_path, "v.csv", "patient_id,Study_Arm,alsfrs_r_total\n1,MSC,40\n1,MSC,39\n")
    with pytest.raises(InputError) as err:
        read_study(path)
    msg = str(err.value)
    assert "'date or day'" in msg
    assert "Study_Arm' looks like" not in msg and "'Study_Arm': 'day'" not in msg
    # a numeric column of the same shape of name is suggested
    path = csv(tmp_path, "w.csv", "patient_id,Study_Dy,alsfrs_r_total\n1,0,40\n1,30,39\n")
    with pytest.raises(InputError) as err:
        read_study(path)
    assert "column 'Study_Dy' looks like 'day'" in str(err.value)


def test_missing_score_column(tmp_path):
    path = csv(tmp_path, "v.csv", "patient_id,date,fvc\n1,2020-01-01,80\n")
    with pytest.raises(InputError, match="alsfrs_r_total"):
        read_study(path)


def test_header_only_visits_is_an_error(tmp_path):
    path = csv(tmp_path, "v.csv", "patient_id,date,alsfrs_r_total\n")
    with pytest.raises(InputError, match="no data rows"):
        read_study(path)


def test_header_only_events_is_fine(tmp_path):
    v = csv(tmp_path, "v.csv", "patient_id,date,alsfrs_r_total\n1,2020-01-01,40\n")
    ae = csv(tmp_path, "ae.csv", "patient_id,date,term,severity\n")
    study = read_study(v, adverse_events=ae)
    assert len(study.adverse_events) == 0
    balanced(study)


def test_original_alsfrs_is_refused(tmp_path):
    path = csv(tmp_path, "alsfrs.csv", "subject_id,ALSFRS_Delta,ALSFRS_Total\n1,0,35\n")
    with pytest.raises(InputError) as err:
        read_study(path)
    msg = str(err.value)
    assert "alsfrs.csv" in msg and "original ALSFRS" in msg and "ALSFRS-R" in msg


def test_original_total_beside_alsfrs_r_is_not_an_outcome(tmp_path):
    text = "subject_id,ALSFRS_Delta,ALSFRS_R_Total,ALSFRS_Total\n1,0,44,36\n"
    study = read_study(csv(tmp_path, "alsfrs.csv", text))
    assert "alsfrs_total_original" not in study.visits.columns
    assert study.visits.alsfrs_r_total.tolist() == [44.0]


# ------------------------------------------------------------------------ dates


def test_iso_dates_and_no_time_zone_shift():
    # a time-zone-aware timestamp late in the evening keeps its own calendar date (SPEC §1)
    stamps = pd.to_datetime(["2020-01-05 23:30", "2020-02-01 00:15"]).tz_localize("Etc/GMT-2")
    visits = pd.DataFrame({"patient_id": ["a", "a"], "date": stamps, "alsfrs_r_total": [40, 39]})
    study = read_study(visits)
    assert study.visits.date.dt.strftime("%Y-%m-%d").tolist() == ["2020-01-05", "2020-02-01"]
    assert study.visits.day.tolist() == [JAN1_2020 + 4, JAN1_2020 + 31]
    assert study.visits.date.dt.tz is None
    assert study.time_kind == "date"


def test_datetime_column_at_midnight_and_with_times_before_1970():
    # dates already at midnight are used as they are; a time of day (before 1970 too)
    # keeps its calendar date (SPEC §1); the study does not share the caller's column
    midnight = pd.to_datetime(["1969-12-31", "2020-01-05"]).astype("datetime64[s]")
    timed = pd.to_datetime(["1969-12-31 23:30", "2020-01-05 00:15"])
    for stamps in (midnight, timed):
        visits = pd.DataFrame(
            {"patient_id": ["a", "a"], "date": stamps, "alsfrs_r_total": [40, 39]}
        )
        study = read_study(visits)
        assert study.visits.day.tolist() == [-1.0, JAN1_2020 + 4]
        visits.loc[0, "date"] = pd.Timestamp("2000-01-01")
        assert study.visits.date.dt.strftime("%Y-%m-%d").tolist() == ["1969-12-31", "2020-01-05"]


def test_iso_text_with_time_part_keeps_the_date(tmp_path):
    text = "patient_id,date,alsfrs_r_total\n1,2020-01-05T23:59:00+05:00,40\n"
    study = read_study(csv(tmp_path, "v.csv", text))
    assert study.visits.day.tolist() == [JAN1_2020 + 4]


def test_day_first_settled_by_a_value_above_12(tmp_path):
    text = "patient_id,date,alsfrs_r_total\n1,03/02/2020,40\n1,25/03/2020,39\n"
    study = read_study(csv(tmp_path, "v.csv", text))
    # 3 February 2020 = day 18262 + 31 + 2; 25 March 2020 = 18262 + 31 + 29 + 24
    assert study.visits.day.tolist() == [JAN1_2020 + 33, JAN1_2020 + 84]


def test_month_first_settled_by_a_value_above_12(tmp_path):
    text = "patient_id,date,alsfrs_r_total\n1,02/03/2020,40\n1,03/25/2020,39\n"
    study = read_study(csv(tmp_path, "v.csv", text))
    # 3 February and 25 March 2020
    assert study.visits.day.tolist() == [JAN1_2020 + 33, JAN1_2020 + 84]


def test_ambiguous_dates_ask_for_the_format(tmp_path):
    text = "patient_id,date,alsfrs_r_total\n1,03/02/2020,40\n1,04/05/2020,39\n"
    path = csv(tmp_path, "v.csv", text)
    with pytest.raises(InputError) as err:
        read_study(path)
    msg = str(err.value)
    assert "ambiguous" in msg and "v.csv" in msg and "column 'date'" in msg
    assert "date_format='%d/%m/%Y'" in msg and "--date-format" not in msg
    # the command line writes the same fix as its option (errors.Fix, rendered by the face)
    assert "--date-format %d/%m/%Y" in err.value.render("cli")
    study = read_study(path, date_format="%m/%d/%Y")
    # 2 March and 5 April 2020
    assert study.visits.day.tolist() == [JAN1_2020 + 31 + 29 + 1, JAN1_2020 + 31 + 29 + 31 + 4]


def test_same_day_and_month_is_not_ambiguous(tmp_path):
    text = "patient_id,date,alsfrs_r_total\n1,01/01/2020,40\n1,02/02/2020,39\n"
    study = read_study(csv(tmp_path, "v.csv", text))
    assert study.visits.day.tolist() == [JAN1_2020, JAN1_2020 + 32]


def test_mixed_day_first_and_month_first_is_an_error(tmp_path):
    text = "patient_id,date,alsfrs_r_total\n1,25/03/2020,40\n1,03/26/2020,39\n"
    with pytest.raises(InputError, match="mix day-first and month-first"):
        read_study(csv(tmp_path, "v.csv", text))


def test_impossible_and_unparseable_dates_are_excluded(tmp_path):
    text = (
        "patient_id,date,alsfrs_r_total\n"
        "1,2020-01-01,40\n1,31/02/2020,39\n1,someday,38\n1,2020-02-30,37\n1,,36\n"
    )
    study = read_study(csv(tmp_path, "v.csv", text))
    assert study.visits.row.tolist() == [2]
    r = reasons(study)
    assert r[3] == r[4] == r[5] == "unparseable or impossible date"
    assert r[6] == "missing date"
    balanced(study)


def test_explicit_date_format(tmp_path):
    text = "patient_id,date,alsfrs_r_total\n1,05.01.2020,40\n1,2020-01-06,40\n"
    study = read_study(csv(tmp_path, "v.csv", text), date_format="%d.%m.%Y")
    assert study.visits.day.tolist() == [JAN1_2020 + 4, JAN1_2020 + 5]


def test_column_with_no_readable_date_is_an_error(tmp_path):
    text = "patient_id,date,alsfrs_r_total\n1,5,40\n1,40,39\n"
    with pytest.raises(InputError, match="could be read as a date"):
        read_study(csv(tmp_path, "v.csv", text))


def test_day_offsets_whole_numbers_only(tmp_path):
    text = "patient_id,day,alsfrs_r_total\n1,12.0,40\n1,12.5,39\n1,-30,41\n1,x,40\n"
    study = read_study(csv(tmp_path, "v.csv", text))
    assert study.time_kind == "day"
    assert study.visits.day.tolist() == [-30.0, 12.0]  # negative offsets allowed (PRO-ACT)
    assert study.visits.date.isna().all()
    r = reasons(study)
    assert r[3] == "day offset is not a whole number of days"
    assert r[5] == "day is not a number"


def test_mixed_date_and_day_columns_is_an_error(tmp_path):
    text = "patient_id,date,day,alsfrs_r_total\n1,2020-01-01,0,40\n"
    with pytest.raises(InputError, match="mixed date and day columns"):
        read_study(csv(tmp_path, "v.csv", text))


def test_empty_day_column_beside_dates_is_fine(tmp_path):
    text = "patient_id,date,day,alsfrs_r_total\n1,2020-01-01,,40\n"
    assert read_study(csv(tmp_path, "v.csv", text)).time_kind == "date"


def test_all_tables_use_one_kind_of_time(tmp_path):
    v = csv(tmp_path, "v.csv", "patient_id,date,alsfrs_r_total\n1,2020-01-01,40\n")
    i = csv(tmp_path, "inj.csv", "patient_id,day\n1,30\n")
    with pytest.raises(InputError) as err:
        read_study(v, i)
    assert "inj.csv uses day offsets but v.csv uses calendar dates" in str(err.value)


# -------------------------------------------------------------- ids and markers


def test_ids_keep_leading_zeros_and_lose_spaces(tmp_path):
    text = (
        "patient_id,date,alsfrs_r_total\n007,2020-01-01,40\n 007 ,2020-02-01,39\n  ,2020-03-01,38\n"
    )
    study = read_study(csv(tmp_path, "v.csv", text))
    assert study.visits.patient_id.tolist() == ["007", "007"]
    assert reasons(study) == {4: "missing patient id"}
    assert study.patients.patient_id.tolist() == ["007"]
    assert study.patients.row.isna().all()


@pytest.mark.parametrize(
    "marker", ["", "NA", "N/A", "n/a", "na", "NaN", "nan", ".", "-", "MISSING"]
)
def test_missing_markers(tmp_path, marker):
    text = f"patient_id,date,alsfrs_r_total,fvc_pct\n1,2020-01-01,40,{marker}\n1,2020-02-01,{marker},80\n"
    study = read_study(csv(tmp_path, "v.csv", text))
    assert study.visits.fvc_pct.isna().tolist() == [True]
    assert reasons(study) == {3: "no ALSFRS-R total or items"}
    assert study.warnings == []  # a missing value is not a non-number


# ------------------------------------------------------------------------ scores


ITEMS_HEADER = "patient_id,day," + ",".join(f"q{i}" for i in range(1, 13)) + ",alsfrs_r_total"


def test_total_from_items_and_domains(tmp_path):
    # items 4,3,2 | 4,3,2 | 1,1,1 | 4,4,4: bulbar 9, fine 9, gross 3, respiratory 12, total 33
    text = f"{ITEMS_HEADER}\n1,0,4,3,2,4,3,2,1,1,1,4,4,4,\n"
    study = read_study(csv(tmp_path, "v.csv", text))
    row = study.visits.iloc[0]
    assert row.alsfrs_r_total == 33
    assert (row.bulbar, row.fine_motor, row.gross_motor, row.respiratory) == (9, 9, 3, 12)
    assert not row.gastrostomy


def test_items_inconsistent_with_total(tmp_path):
    text = f"{ITEMS_HEADER}\n1,0,4,3,2,4,3,2,1,1,1,4,4,4,34\n1,30,4,3,2,4,3,2,1,1,1,4,4,4,33\n"
    study = read_study(csv(tmp_path, "v.csv", text))
    assert reasons(study) == {2: "items sum to 33 but total is 34"}
    assert study.visits.day.tolist() == [30.0]


def test_item_range_fractional_and_non_numeric(tmp_path):
    text = (
        f"{ITEMS_HEADER}\n"
        "1,0,5,3,2,4,3,2,1,1,1,4,4,4,\n"
        "1,10,4,3,2.5,4,3,2,1,1,1,4,4,4,\n"
        "1,20,4,3,two,4,3,2,1,1,1,4,4,4,\n"
        "1,30,4,3,2,4,3,2,1,1,1,4,4,4,\n"
    )
    study = read_study(csv(tmp_path, "v.csv", text))
    assert reasons(study) == {
        2: "q1 outside 0-4",
        3: "q3 is not a whole number (fractional item score)",
        4: "q3 is not a number",
    }
    assert study.visits.alsfrs_r_total.tolist() == [33.0]


def test_total_out_of_range_and_non_numeric(tmp_path):
    text = "patient_id,day,alsfrs_r_total\n1,0,49\n1,1,-1\n1,2,forty\n1,3,48\n1,4,0\n"
    study = read_study(csv(tmp_path, "v.csv", text))
    assert reasons(study) == {
        2: "alsfrs_r_total outside 0-48",
        3: "alsfrs_r_total outside 0-48",
        4: "alsfrs_r_total is not a number",
    }
    assert study.visits.alsfrs_r_total.tolist() == [48.0, 0.0]


def test_partial_items_without_total(tmp_path):
    text = "patient_id,day,q1,q2,alsfrs_r_total\n1,0,4,4,\n1,30,4,4,40\n"
    study = read_study(csv(tmp_path, "v.csv", text))
    assert reasons(study) == {2: "no ALSFRS-R total and only 2 of 12 items"}
    assert study.visits.alsfrs_r_total.tolist() == [40.0]
    assert np.isnan(study.visits.bulbar.iloc[0])  # q3 missing


def test_q5a_q5b_and_gastrostomy(tmp_path):
    header = "patient_id,day,q1,q2,q3,q4,q5a,q5b,q6,q7,q8,q9,q10,q11,q12"
    text = (
        f"{header}\n"
        "1,0,4,4,4,4,3,,4,4,4,4,4,4,4\n"
        "1,30,4,4,4,4,,2,4,4,4,4,4,4,4\n"
        "1,60,4,4,4,4,3,2,4,4,4,4,4,4,4\n"
    )
    study = read_study(csv(tmp_path, "v.csv", text))
    v = study.visits
    assert v.q5.tolist() == [3.0, 2.0]
    assert v.gastrostomy.tolist() == [False, True]
    assert v.alsfrs_r_total.tolist() == [47.0, 46.0]  # 11 x 4 + item 5
    assert v.fine_motor.tolist() == [11.0, 10.0]
    assert "both q5a and q5b" in reasons(study)[4]


def test_extra_numeric_outcome_and_non_numeric_warning(tmp_path):
    text = (
        "patient_id,day,alsfrs_r_total,fvc_pct,grip_kg,site\n"
        '1,0,40,80,30,a\n1,30,39,n.d.,31,b\n1,60,38,"75,5",32,c\n'
    )
    study = read_study(csv(tmp_path, "v.csv", text))
    v = study.visits
    assert v.fvc_pct.tolist()[0] == 80 and np.isnan(v.fvc_pct.tolist()[1])
    assert v.fvc_pct.tolist()[2] == 75.5
    assert v.grip_kg.tolist() == [30.0, 31.0, 32.0]
    assert "site" not in v.columns
    assert any("fvc_pct" in w and "row 3" in w for w in study.warnings)
    assert len(v) == 3  # the visit with a bad FVC is kept


def test_same_day_visits_are_merged_with_the_mean(tmp_path):
    # SPEC §12: two assessments on one day -> their mean; the merge is listed
    text = "patient_id,day,alsfrs_r_total,fvc_pct\n1,0,40,80\n1,30,37,\n1,30,38,70\n1,30,42,72\n"
    study = read_study(csv(tmp_path, "v.csv", text))
    v = study.visits
    assert v.alsfrs_r_total.tolist() == [40.0, (37 + 38 + 42) / 3]
    assert v.fvc_pct.tolist() == [80.0, 71.0]
    assert v.row.tolist() == [2, 3]
    assert reasons(study) == {
        4: "same-day duplicate of row 3: merged (mean used)",
        5: "same-day duplicate of row 3: merged (mean used)",
    }
    balanced(study)


def test_visits_sorted_by_patient_and_day(tmp_path):
    text = "patient_id,day,alsfrs_r_total\nb,30,30\na,30,40\nb,0,33\na,0,41\n"
    v = read_study(csv(tmp_path, "v.csv", text)).visits
    assert list(zip(v.patient_id, v.day, strict=True)) == [
        ("a", 0),
        ("a", 30),
        ("b", 0),
        ("b", 30),
    ]
    assert v.row.tolist() == [5, 3, 4, 2]


# ------------------------------------------------------------------ injections


V3 = "patient_id,day,alsfrs_r_total\n1,0,40\n1,90,38\n2,0,45\n"


def test_injections_sorted_numbered_and_unknown_patients(tmp_path):
    inj = csv(tmp_path, "inj.csv", "patient_id,day,dose_million_cells\n1,60,1.5\n1,30,1\n9,30,1\n")
    study = read_study(csv(tmp_path, "v.csv", V3), inj)
    i = study.injections
    assert i.day.tolist() == [30.0, 60.0] and i.injection_number.tolist() == [1, 2]
    assert i.dose_million_cells.tolist() == [1.0, 1.5]
    assert reasons(study, "injections") == {4: "unknown patient: not in the visits table"}
    balanced(study)


def test_same_day_injections_counted_once_with_warning(tmp_path):
    inj = csv(tmp_path, "inj.csv", "patient_id,day\n1,30\n1,30\n1,60\n")
    study = read_study(csv(tmp_path, "v.csv", V3), inj)
    assert study.injections.injection_number.tolist() == [1, 2]
    assert reasons(study, "injections") == {3: "same-day duplicate of row 2: one injection counted"}
    assert any("methods §12" in w and "inj.csv" in w for w in study.warnings)


def test_injection_numbers_against_time_order_are_an_error(tmp_path):
    inj = csv(tmp_path, "inj.csv", "patient_id,day,injection_number\n1,30,2\n1,60,1\n")
    with pytest.raises(InputError) as err:
        read_study(csv(tmp_path, "v.csv", V3), inj)
    msg = str(err.value)
    assert "inj.csv" in msg and "injection_number" in msg and "rows 2, 3" in msg


def test_given_injection_numbers_in_order_are_kept(tmp_path):
    inj = csv(tmp_path, "inj.csv", "patient_id,day,injection_number\n1,60,2\n1,30,1\n")
    study = read_study(csv(tmp_path, "v.csv", V3), inj)
    assert study.injections.injection_number.tolist() == [1, 2]
    assert study.injections.row.tolist() == [3, 2]


def test_no_injections_gives_an_empty_canonical_table(tmp_path):
    study = read_study(csv(tmp_path, "v.csv", V3))
    assert len(study.injections) == 0
    assert list(study.injections.columns) == [
        "patient_id",
        "day",
        "date",
        "injection_number",
        "dose_million_cells",
        "route",
        "row",
    ]
    assert study.ledger.table.tolist() == ["visits"]


# -------------------------------------------------------------------- patients


def test_patients_table_unknown_visits_withdrawn_and_onset(tmp_path):
    v = csv(tmp_path, "v.csv", "patient_id,date,alsfrs_r_total\n1,2020-02-01,40\n3,2020-02-01,40\n")
    p = csv(
        tmp_path,
        "p.csv",
        "patient_id,onset_date,withdrawn,age\n1,2019-01-01,Yes,60\n2,,no,\n1,2019-02-01,0,61\n",
    )
    study = read_study(v, patients=p)
    pats = study.patients
    assert pats.patient_id.tolist() == ["1", "2"]
    assert pats.withdrawn.tolist() == [True, False]
    # 2019-01-01 = 2020-01-01 - 365 days
    assert pats.onset_day.iloc[0] == JAN1_2020 - 365
    assert reasons(study, "patients") == {4: "duplicate patient id (first at row 2)"}
    assert reasons(study) == {3: "unknown patient: not in the patients table"}
    balanced(study)


def test_withdrawn_values_not_yes_no_are_an_error(tmp_path):
    v = csv(tmp_path, "v.csv", V3)
    p = csv(tmp_path, "p.csv", "patient_id,withdrawn\n1,maybe\n2,no\n")
    with pytest.raises(InputError, match="withdrawn"):
        read_study(v, patients=p)


# ---------------------------------------------------------------- adverse events


def test_adverse_events(tmp_path):
    v = csv(tmp_path, "v.csv", V3)
    ae = csv(
        tmp_path,
        "ae.csv",
        "patient_id,day,term,severity,serious\n"
        "1,31,Headache,Mild,no\n"
        "1,31,Headache,MILD,\n"
        "1,40,Fever,,YES\n"
        "1,41,,severe,no\n"
        "9,41,Fever,severe,no\n"
        "2,5,Back pain,grade 2,1\n",
    )
    study = read_study(v, adverse_events=ae)
    e = study.adverse_events
    assert e.term.tolist() == ["Headache", "Fever", "Back pain"]
    assert e.severity.tolist() == ["mild", "not recorded", "grade 2"]
    assert e.serious.tolist() == [False, True, True]
    assert reasons(study, "adverse_events") == {
        3: "duplicate of row 2 (same patient, day, term and severity)",
        5: "missing adverse event term",
        6: "unknown patient: not in the visits table",
    }
    balanced(study)


def test_proact_adverse_events_layout(tmp_path):
    v = csv(tmp_path, "alsfrs.csv", "subject_id,ALSFRS_Delta,ALSFRS_R_Total\n1,0,40\n")
    ae = csv(
        tmp_path,
        "AdverseEvents.csv",
        "subject_id,Preferred_Term,Severity,Outcome,Start_Date_Delta\n1,Nausea,Moderate,Recovered,12\n",
    )
    e = read_study(v, adverse_events=ae).adverse_events
    assert e[["patient_id", "day", "term", "severity", "outcome"]].values.tolist() == [
        ["1", 12.0, "Nausea", "moderate", "Recovered"]
    ]


# ----------------------------------------------------------------- ledger, speed


def test_exclusions_columns_and_ledger_order(tmp_path):
    v = csv(tmp_path, "v.csv", V3 + "1,120,99\n")
    i = csv(tmp_path, "i.csv", "patient_id,day\n1,30\n")
    p = csv(tmp_path, "p.csv", "patient_id\n1\n2\n")
    study = read_study(v, i, p)
    assert list(study.exclusions.columns) == list(EXCLUSIONS_COLUMNS)
    assert study.exclusions.iloc[0].to_dict() == {
        "table": "visits",
        "source": "v.csv",
        "row": 5,
        "patient_id": "1",
        "column": "alsfrs_r_total",
        "value": "99",
        "reason": "alsfrs_r_total outside 0-48",
    }
    assert study.ledger.to_dict("records") == [
        {"table": "visits", "rows_read": 4, "rows_used": 3, "rows_excluded": 1},
        {"table": "injections", "rows_read": 1, "rows_used": 1, "rows_excluded": 0},
        {"table": "patients", "rows_read": 2, "rows_used": 2, "rows_excluded": 0},
    ]
    assert study.sources == {"visits": "v.csv", "injections": "i.csv", "patients": "p.csv"}


def test_no_usable_visit_is_an_error(tmp_path):
    with pytest.raises(InputError, match="none of the 2 visit rows"):
        read_study(csv(tmp_path, "v.csv", "patient_id,day,alsfrs_r_total\n1,0,50\n1,1,60\n"))


def test_a_million_visits_validate_quickly():
    import time

    n, k = 100_000, 12
    rng = np.random.default_rng(1)
    data = {
        "patient_id": np.repeat(np.array([f"P{i:06d}" for i in range(n)], dtype=object), k),
        "day": np.tile(np.arange(k) * 30.0, n),
    }
    for i in range(1, 13):
        data[f"q{i}"] = rng.integers(0, 5, n * k).astype(float)
    data["alsfrs_r_total"] = sum(data[f"q{i}"] for i in range(1, 13))
    visits = pd.DataFrame(data)
    start = time.perf_counter()
    study = read_study(visits)
    elapsed = time.perf_counter() - start
    assert study.ledger.rows_used.tolist() == [n * k]
    # about 1 s on a free core; the bound only catches a per-row Python loop (minutes)
    assert elapsed < 20, elapsed


def test_explicit_format_with_offsets_keeps_the_written_date(tmp_path):
    # 23:30 at +05:00 is 18:30 UTC the same day; 01:00 at -08:00 is 09:00 UTC: no shift either way
    text = (
        "patient_id;date;alsfrs_r_total\n1;05/01/2020 23:30 +0500;40\n1;06/01/2020 01:00 -0800;40\n"
    )
    study = read_study(csv(tmp_path, "v.csv", text), date_format="%d/%m/%Y %H:%M %z")
    assert study.visits.day.tolist() == [JAN1_2020 + 4, JAN1_2020 + 5]


def test_unusable_date_format(tmp_path):
    text = "patient_id,date,alsfrs_r_total\n1,05/01/2020,40\n"
    with pytest.raises(InputError, match="not a usable strftime format"):
        read_study(csv(tmp_path, "v.csv", text), date_format="%d/%Q/%Y")


# ------------------------------------------------- once per distinct value (#17)


def test_patient_codes_one_code_space_with_or_without_a_merge():
    # shared_codes is pandas.factorize(sort=True) of the columns together, whether the
    # columns hold the same distinct ids (no merge needed) or not (merged)
    from msc_notebooks.columns import shared_codes

    same = (pd.Series(["a", "a", "b", "c"], dtype="str"), pd.Series(["c", "a", "b"], dtype="str"))
    other = (pd.Series(["a", "b", "b"], dtype="str"), pd.Series(["b", "d"], dtype="str"))
    kinds = (np.array([1, 2, 2]), np.array([1.0, 2.0]))  # equal values, not the same type
    for columns in (same, other, kinds):
        codes, ids = shared_codes(*columns)
        together, expected = pd.factorize(pd.concat(map(pd.Series, columns)), sort=True)
        assert np.concatenate(codes).tolist() == together.tolist()
        assert list(ids) == list(expected) and ids.dtype == expected.dtype


def test_same_day_visit_dates_shown_as_their_cells():
    # an excluded same-day duplicate shows its own date cell, printed as the Timestamp
    visits = pd.DataFrame(
        {
            "patient_id": ["a", "a", "a", "b", "b", "b"],
            "date": pd.to_datetime(
                ["2021-01-01", "2021-02-01", "2021-02-01", "2021-01-05", "2021-01-05", "2021-03-01"]
            ),
            "alsfrs_r_total": [40, 38, 36, 44, 42, 41],
        }
    )
    ex = read_study(visits).exclusions
    assert ex["value"].tolist() == ["2021-02-01 00:00:00", "2021-01-05 00:00:00"]


def test_text_cells_cleaned_alike_however_often_they_repeat():
    # route " IT " / "it" stripped once per distinct cell; "NA" and "" are missing
    v = pd.DataFrame({"patient_id": ["a"] * 4, "day": [0, 30, 60, 90], "alsfrs_r_total": 40})
    inj = pd.DataFrame(
        {"patient_id": ["a"] * 4, "day": [0, 30, 60, 90], "route": [" IT ", "IT", "NA", ""]},
        dtype=object,
    ).astype({"route": "str", "day": float})
    route = read_study(v, inj).injections["route"].tolist()
    assert route[:2] == ["IT", "IT"] and pd.isna(route[2]) and pd.isna(route[3])


def test_patients_text_columns_are_text_when_given_and_none_when_absent():
    # sex and site of onset keep the kit's text type (``str``, cleaned, missing markers
    # -> NaN) when the column holds text; a column without any text is object (as route)
    visits = pd.DataFrame(
        {"patient_id": ["a", "a", "b"], "day": [0, 30, 0], "alsfrs_r_total": [40, 39, 41]}
    )
    given = pd.DataFrame({"patient_id": ["b", "a"], "sex": [" F ", "n/a"], "site_of_onset": None})
    patients = read_study(visits, patients=given).patients.set_index("patient_id")
    assert patients["sex"].dtype == "str" and patients["site_of_onset"].dtype == object
    assert patients.loc["b", "sex"] == "F" and pd.isna(patients.loc["a", "sex"])
    assert patients["site_of_onset"].isna().all()
    absent = read_study(visits, patients=pd.DataFrame({"patient_id": ["a", "b"]})).patients
    assert absent["sex"].dtype == object and absent["sex"].tolist() == [None, None]
