"""Reading files and DataFrames (SPEC §1, §10, §11): real files written to tmp_path."""

from __future__ import annotations

import datetime as dt
import hashlib

import openpyxl
import pandas as pd
import pytest

from msc_notebooks.errors import InputError
from msc_notebooks.loading import read_study, read_table

JAN1_2020 = 18262  # days from 1970-01-01 to 2020-01-01 (50 x 365 + 12 leap days)


def sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_xlsx(path, sheets: dict[str, list[list]]) -> None:
    book = openpyxl.Workbook()
    book.remove(book.active)
    for name, rows in sheets.items():
        sheet = book.create_sheet(name)
        for r in rows:
            sheet.append(r)
    book.save(path)


def test_csv_text_kept_as_written_with_row_numbers(tmp_path):
    path = tmp_path / "visits.csv"
    path.write_text("patient_id,date,alsfrs_r_total\n007,2020-01-01,40\n 08 ,2020-01-02,39.0\n")
    raw = read_table(path, "visits")
    assert raw.patient_id.tolist() == ["007", " 08 "]
    assert raw.alsfrs_r_total.tolist() == ["40", "39.0"]
    assert raw.row.tolist() == [2, 3]
    assert raw.attrs["source"] == "visits.csv"


def test_blank_lines_do_not_shift_row_numbers(tmp_path):
    path = tmp_path / "visits.csv"
    path.write_text("patient_id,day,alsfrs_r_total\n1,0,40\n\n1,30,39\n,,\n1,60,38\n")
    assert read_table(path, "visits").row.tolist() == [2, 4, 6]


def test_semicolon_and_decimal_comma(tmp_path):
    path = tmp_path / "visits.csv"
    path.write_text("patient_id;day;alsfrs_r_total;fvc_pct\n1;0;40;81,5\n1;30;38,5;80\n")
    study = read_study(path)
    assert study.visits.alsfrs_r_total.tolist() == [40.0, 38.5]
    assert study.visits.fvc_pct.tolist() == [81.5, 80.0]


def test_utf8_bom_header(tmp_path):
    path = tmp_path / "visits.csv"
    path.write_bytes(b"\xef\xbb\xbfpatient_id,day,alsfrs_r_total\n1,0,40\n")
    assert read_table(path, "visits").columns.tolist() == [
        "patient_id",
        "day",
        "alsfrs_r_total",
        "row",
    ]


def test_latin1_fallback(tmp_path):
    v = tmp_path / "visits.csv"
    v.write_text("patient_id,day,alsfrs_r_total\nJosé,0,40\n", encoding="latin-1")
    p = tmp_path / "patients.csv"
    p.write_text("patient_id,site_of_onset\nJosé,Bulbär\n", encoding="latin-1")
    study = read_study(v, patients=p)
    assert study.visits.patient_id.tolist() == ["José"]
    assert study.patients.site_of_onset.tolist() == ["Bulbär"]


def test_dataframe_is_copied_not_modified_and_rows_are_index_labels():
    df = pd.DataFrame(
        {
            "Patient_ID": [" 7", "7"],
            "DATE": ["2020-01-01", "2020-01-02"],
            "alsfrs_r_total": [40, 39],
        },
        index=[10, 11],
    )
    before = df.copy()
    study = read_study(df)
    pd.testing.assert_frame_equal(df, before)
    assert study.visits.row.tolist() == [10, 11]
    assert study.visits.patient_id.tolist() == ["7", "7"]
    assert study.sources == {"visits": "DataFrame"}


def test_column_map_flat_and_per_table(tmp_path):
    v = pd.DataFrame({"Subject": ["1"], "Visit": ["2020-01-01"], "Score": ["40"]})
    i = pd.DataFrame({"Subject": ["1"], "When": ["2020-02-01"]})
    flat = {"Subject": "patient_id", "Visit": "date", "Score": "alsfrs_r_total", "When": "date"}
    assert read_study(v, i, column_map=flat).injections.day.tolist() == [JAN1_2020 + 31]
    per_table = {
        "visits": {"Subject": "patient_id", "Visit": "date", "Score": "alsfrs_r_total"},
        "injections": {"subject": "patient_id", "When": "date"},  # keys case-insensitive
    }
    assert read_study(v, i, column_map=per_table).injections.day.tolist() == [JAN1_2020 + 31]


def test_two_columns_with_one_meaning(tmp_path):
    df = pd.DataFrame({"patient_id": ["1"], "subject_id": ["1"], "day": [0], "alsfrs_r_total": [4]})
    with pytest.raises(InputError, match="two columns both mean 'patient_id'"):
        read_table(df, "visits")


def test_proact_names(tmp_path):
    path = tmp_path / "alsfrs.csv"
    items = "Q1_Speech,Q2_Salivation,Q3_Swallowing,Q4_Handwriting,Q5a_Cutting_without_Gastrostomy,Q5b_Cutting_with_Gastrostomy,Q6_Dressing_and_Hygiene,Q7_Turning_in_Bed,Q8_Walking,Q9_Climbing_Stairs,R_1_Dyspnea,R_2_Orthopnea,R_3_Respiratory_Insufficiency"
    path.write_text(
        f"subject_id,ALSFRS_Delta,{items},ALSFRS_R_Total\n329,-7,4,4,4,3,,2,3,3,3,3,4,4,4,\n"
    )
    v = read_study(path).visits
    # 4+4+4 + 3+2+3 + 3+3+3 + 4+4+4 = 41, item 5 from 5b: gastrostomy
    assert v[["patient_id", "day", "alsfrs_r_total", "gastrostomy"]].values.tolist() == [
        ["329", -7.0, 41.0, True]
    ]


def test_xlsx_workbook_sheets_and_real_date_cells(tmp_path):
    path = tmp_path / "study.xlsx"
    write_xlsx(
        path,
        {
            "Visits": [
                ["patient_id", "date", "alsfrs_r_total"],
                ["007", dt.date(2020, 1, 5), 40],
                ["007", dt.datetime(2020, 3, 5), 38.5],
            ],
            "injections": [["patient_id", "date"], ["007", "2020-02-01"]],
        },
    )
    digest = sha(path)
    study = read_study(path)
    assert study.visits.patient_id.tolist() == ["007", "007"]
    assert study.visits.day.tolist() == [JAN1_2020 + 4, JAN1_2020 + 31 + 29 + 4]
    assert study.visits.alsfrs_r_total.tolist() == [40.0, 38.5]
    assert study.visits.row.tolist() == [2, 3]
    assert study.injections.day.tolist() == [JAN1_2020 + 31]
    assert study.sources == {"visits": "study.xlsx", "injections": "study.xlsx"}
    assert sha(path) == digest


def test_xlsx_without_visits_sheet(tmp_path):
    path = tmp_path / "study.xlsx"
    write_xlsx(path, {"Sheet1": [["a"], [1]], "injections": [["patient_id", "day"], [1, 0]]})
    with pytest.raises(InputError) as err:
        read_study(path)
    msg = str(err.value)
    assert "study.xlsx" in msg and "'visits'" in msg and "['Sheet1', 'injections']" in msg


def test_xlsx_explicit_sheet(tmp_path):
    path = tmp_path / "book.xlsx"
    write_xlsx(
        path, {"a": [["x"]], "scores": [["patient_id", "day", "alsfrs_r_total"], [1, 0, 40]]}
    )
    assert read_table(path, "visits", sheet="scores").row.tolist() == [2]


def test_parquet(tmp_path):
    path = tmp_path / "visits.parquet"
    pd.DataFrame(
        {
            "patient_id": ["007", "007"],
            "date": pd.to_datetime(["2020-01-05", "2020-01-06"]),
            "alsfrs_r_total": [40.0, 39.0],
        }
    ).to_parquet(path)
    study = read_study(path)
    assert study.visits.day.tolist() == [JAN1_2020 + 4, JAN1_2020 + 5]
    assert study.visits.row.tolist() == [2, 3]


def test_file_problems(tmp_path):
    with pytest.raises(InputError, match="file not found"):
        read_study(tmp_path / "nope.csv")
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(InputError, match="empty.csv: the file is empty"):
        read_study(empty)
    garbage = tmp_path / "garbage.csv"
    garbage.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(InputError, match="binary"):
        read_study(garbage)
    fake = tmp_path / "fake.xlsx"
    fake.write_text("patient_id,day\n")
    with pytest.raises(InputError, match="fake.xlsx.*Excel workbook"):
        read_study(fake)


def test_unknown_table_name():
    with pytest.raises(InputError, match="unknown table"):
        read_table(pd.DataFrame(), "visit")


def test_files_are_never_written(tmp_path):
    v = tmp_path / "v.csv"
    v.write_text("patient_id,day,alsfrs_r_total\n1,0,40\n1,0,42\n1,30,99\n")
    i = tmp_path / "i.csv"
    i.write_text("patient_id,day\n1,10\n1,10\n")
    before = {p: sha(p) for p in (v, i)}
    mtimes = {p: p.stat().st_mtime_ns for p in (v, i)}
    read_study(v, i)
    assert {p: sha(p) for p in (v, i)} == before
    assert {p: p.stat().st_mtime_ns for p in (v, i)} == mtimes


def test_dataframe_dtypes_nullable_objects_and_numbers():
    visits = pd.DataFrame(
        {
            "patient_id": [7, 7, 8.0],  # numbers become text ids: '7', '8'
            "date": [dt.date(2020, 1, 5), pd.Timestamp("2020-02-05"), None],
            "alsfrs_r_total": pd.array([40, None, 30], dtype="Int64"),
        }
    )
    study = read_study(visits)
    assert study.visits.patient_id.tolist() == ["7"]
    assert study.visits.day.tolist() == [JAN1_2020 + 4]
    ex = study.exclusions[["row", "patient_id", "reason"]].to_dict("records")
    assert ex == [
        {"row": 1, "patient_id": "7", "reason": "no ALSFRS-R total or items"},
        {"row": 2, "patient_id": "8", "reason": "missing date"},
    ]


def test_dataframe_nullable_string_and_bool_columns():
    visits = pd.DataFrame(
        {
            "patient_id": pd.array(["a", "b", pd.NA], dtype="string"),
            "day": pd.array([0, 5, None], dtype="Int64"),
            "alsfrs_r_total": [40.0, 41.0, 42.0],
        }
    )
    patients = pd.DataFrame({"patient_id": ["a", "b"], "withdrawn": [True, False]})
    study = read_study(visits, patients=patients)
    assert study.visits.patient_id.tolist() == ["a", "b"]
    assert study.patients.withdrawn.tolist() == [True, False]
    assert study.exclusions[["row", "patient_id", "reason"]].to_dict("records") == [
        {"row": 2, "patient_id": None, "reason": "missing patient id"}
    ]
