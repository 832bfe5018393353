"""Write the bad-input corpus (issue #9). Run once: ``python tests/corpus/make_corpus.py``.

The files are committed; this script documents how the binary ones (xlsx, parquet,
garbage) were made. Expected outcomes live in ``expected.yaml``.
"""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

HERE = Path(__file__).parent

ITEMS = (
    "Q1_Speech,Q2_Salivation,Q3_Swallowing,Q4_Handwriting,Q5a_Cutting_without_Gastrostomy,"
    "Q5b_Cutting_with_Gastrostomy,Q6_Dressing_and_Hygiene,Q7_Turning_in_Bed,Q8_Walking,"
    "Q9_Climbing_Stairs,R_1_Dyspnea,R_2_Orthopnea,R_3_Respiratory_Insufficiency"
)
Q = "patient_id,day," + ",".join(f"q{i}" for i in range(1, 13)) + ",alsfrs_r_total"
V = "patient_id,date,alsfrs_r_total"
D = "patient_id,day,alsfrs_r_total"

TEXT = {
    "ok_minimal.csv": f"{V}\n001,2020-01-06,42\n001,2020-03-02,40\n002,2020-01-13,38\n",
    "ok_injections.csv": "patient_id,date\n001,2020-02-03\n002,2020-02-10\n",
    "missing_patient_column.csv": "Subjekt,date,alsfrs_r_total\n1,2020-01-06,42\n",
    "missing_time_column.csv": "patient_id,visit_when,alsfrs_r_total\n1,2020-01-06,42\n",
    "missing_score_column.csv": "patient_id,date,FVC\n1,2020-01-06,80\n",
    "renamed_columns.csv": "Patient Number,Visit Date,ALSFRS-R\n1,2020-01-06,42\n1,2020-02-06,41\n",
    "renamed_case_insensitive.csv": "Patient_ID,DATE,ALSFRS_R_TOTAL\n1,2020-01-06,42\n",
    "empty.csv": "",
    "whitespace_only.csv": "\n  \n\n",
    "header_only.csv": f"{V}\n",
    "non_numeric_scores.csv": f"{D}\n1,0,42\n1,30,forty\n1,60,??\n1,90,39\n",
    "total_out_of_range.csv": f"{D}\n1,0,49\n1,30,-2\n1,60,48\n1,90,0\n",
    "items_above_4.csv": f"{Q}\n1,0,4,4,4,4,4,4,5,4,4,4,4,4,\n1,30,4,4,4,4,4,4,4,4,4,4,4,4,\n",
    "items_fractional.csv": f"{Q}\n1,0,4,4,3.5,4,4,4,4,4,4,4,4,4,\n1,30,4,4,3,4,4,4,4,4,4,4,4,4,47\n",
    "items_inconsistent_total.csv": f"{Q}\n1,0,4,4,4,4,4,4,4,4,4,4,0,0,42\n1,30,4,4,4,4,4,4,4,4,4,4,0,0,40\n",
    "items_only.csv": f"{Q}\n1,0,4,4,4,4,4,4,4,4,4,4,4,4,\n1,30,3,3,3,3,3,3,3,3,3,3,3,3,\n",
    "both_5a_5b.csv": "patient_id,day,q1,q2,q3,q4,q5a,q5b,q6,q7,q8,q9,q10,q11,q12\n"
    "1,0,4,4,4,4,4,,4,4,4,4,4,4,4\n1,30,4,4,4,4,3,2,4,4,4,4,4,4,4\n1,60,4,4,4,4,,2,4,4,4,4,4,4,4\n",
    "impossible_dates.csv": f"{V}\n1,25/03/2020,42\n1,31/02/2020,41\n1,30/04/2020,40\n1,00/05/2020,39\n",
    "ambiguous_dates.csv": f"{V}\n1,03/02/2020,42\n1,04/05/2020,41\n1,06/07/2020,40\n",
    "mixed_order_dates.csv": f"{V}\n1,25/03/2020,42\n1,04/26/2020,41\n",
    "no_readable_dates.csv": f"{V}\n1,March 3rd,42\n1,next week,41\n",
    "mixed_date_day_columns.csv": "patient_id,date,day,alsfrs_r_total\n1,2020-01-06,0,42\n1,2020-02-06,31,41\n",
    "kind_visits_dates.csv": f"{V}\n1,2020-01-06,42\n",
    "kind_injections_days.csv": "patient_id,day\n1,30\n",
    "days_visits.csv": f"{D}\n1,0,42\n1,90,40\n2,0,44\n2,90,43\n",
    "unknown_patient_injections.csv": "patient_id,day\n1,30\n3,30\n04,30\n",
    "unknown_patient_events.csv": "patient_id,day,term,severity\n1,31,Headache,mild\n7,31,Fever,mild\n",
    "duplicate_injections.csv": "patient_id,day\n1,30\n1,30\n1,60\n2,30\n2,30\n2,30\n",
    "out_of_order_injections.csv": "patient_id,day,injection_number\n2,60,2\n1,60,2\n1,30,1\n2,30,1\n",
    "injection_numbers_contradict.csv": "patient_id,day,injection_number\n1,30,2\n1,60,1\n",
    "semicolon_decimal_comma.csv": "patient_id;day;alsfrs_r_total;fvc_pct\n1;0;40;81,5\n1;30;38,5;80,25\n",
    "ids_leading_zeros_spaces.csv": f"{D}\n007,0,42\n 007 ,30,41\n0007,0,40\n   ,30,39\n",
    "na_markers.csv": f"{D}\n1,0,42\n1,10,NA\n1,20,n/a\n1,30,\n1,40,N/A\n1,50,.\n1,60,-\n1,70,missing\n1,80,NaN\n",
    "single_visit_patients.csv": f"{D}\n1,0,42\n2,0,40\n3,0,30\n",
    "original_alsfrs.csv": "subject_id,ALSFRS_Delta,ALSFRS_Total\n1,0,35\n1,30,34\n",
    "proact_alsfrs.csv": f"subject_id,ALSFRS_Delta,{ITEMS},ALSFRS_R_Total,ALSFRS_Total\n"
    "329,-7,4,4,4,3,3,,3,3,3,3,4,4,4,42,\n"
    "329,0,4,4,4,3,3,2,3,3,3,3,4,4,4,,\n"
    "329,30,4,4,4,3,2.5,,3,3,3,3,4,4,4,,\n"
    "329,30,4,4,4,3,3,,3,3,3,3,4,4,4,,\n"
    "329,60,,,,,,,,,,,,,,,\n"
    "329,90,,,,,,,,,,,,,,39,\n",
    "proact_adverse_events.csv": "subject_id,Preferred_Term,Severity,Outcome,Start_Date_Delta\n"
    "329,Nausea,Moderate,Recovered,12\n329,Headache,,Recovered,40\n",
    "same_day_duplicate_visits.csv": f"{D}\n1,0,40\n1,30,38\n1,30,36\n1,60,35\n",
    "patients_known.csv": "patient_id,withdrawn,onset_day\n1,no,-400\n2,YES,-200\n2,no,-100\n",
    "visits_with_stranger.csv": f"{D}\n1,0,42\n2,0,40\n5,0,30\n",
    "withdrawn_bad.csv": "patient_id,withdrawn\n1,perhaps\n2,no\n",
    "ae_severity_variants.csv": "patient_id,day,term,severity,serious\n"
    "1,10,Headache,Mild,no\n1,11,Headache,MODERATE,N\n1,12,Fever,,yes\n2,13,Rash,grade 3,1\n",
    "ae_duplicates_and_empty_terms.csv": "patient_id,day,term,severity\n"
    "1,10,Headache,mild\n1,10,Headache,Mild\n1,11,  ,mild\n1,12,Headache,severe\n",
    "ae_serious_bad.csv": "patient_id,day,term,serious\n1,10,Headache,sometimes\n",
    "day_offsets_fractional.csv": f"{D}\n1,0,42\n1,30.0,41\n1,45.5,40\n",
    "ragged_rows.csv": f"{D}\n1,0,42\n1,30,41,extra,cells\n",
    "iso_with_time.csv": f"{V}\n1,2020-01-06 00:00:00,42\n1,2020-02-06T23:59:59+05:00,41\n",
    "all_rows_bad.csv": f"{D}\n1,0,50\n1,30,60\n",
    "score_with_items_partial.csv": "patient_id,day,q1,q2,q3,alsfrs_r_total\n1,0,4,4,4,44\n1,30,4,4,,\n",
    "fvc_text_values.csv": f"{D},fvc_pct\n1,0,42,80\n1,30,41,not done\n1,60,40,77\n",
    "injection_unknown_with_patients.csv": "patient_id,day\n1,30\n5,30\n",
    "negative_deltas.csv": f"{D}\n1,-60,44\n1,-30,43\n1,0,42\n",
    "proact_original_scale_rows.csv": "subject_id,ALSFRS_Delta,ALSFRS_R_Total,ALSFRS_Total\n"
    "11,0,40,\n11,30,,33\n11,60,38,\n",
    "two_digit_years.csv": f"{V}\n1,25/03/20,42\n1,26/04/20,41\n",
    "duplicate_header.csv": "patient_id,day,q1,q1,alsfrs_r_total\n1,0,4,4,40\n",
    "two_id_columns.csv": "patient_id,subject_id,day,alsfrs_r_total\n1,1,0,42\n",
}

LATIN1 = {"latin1.csv": f"{V}\nJosé,2020-01-06,42\nMüller,2020-01-07,40\n"}
BOM = {"utf8_bom.csv": f"{V}\n1,2020-01-06,42\n"}
UTF16 = {"utf16_tabs.csv": "patient_id\tday\talsfrs_r_total\n1\t0\t42\n1\t30\t41\n"}


def main() -> None:
    for name, text in TEXT.items():
        (HERE / name).write_bytes(text.encode("utf-8"))
    for name, text in LATIN1.items():
        (HERE / name).write_bytes(text.encode("latin-1"))
    for name, text in BOM.items():
        (HERE / name).write_bytes(text.encode("utf-8-sig"))
    for name, text in UTF16.items():
        (HERE / name).write_bytes(text.encode("utf-16"))
    rng = random.Random(9)
    (HERE / "binary_garbage.csv").write_bytes(bytes(rng.randrange(256) for _ in range(2048)))
    (HERE / "binary_garbage.xlsx").write_bytes(bytes(rng.randrange(256) for _ in range(2048)))

    import openpyxl
    import pandas as pd

    def book(name, sheets):
        wb = openpyxl.Workbook()
        wb.remove(wb.active)
        for sheet, rows in sheets.items():
            ws = wb.create_sheet(sheet)
            for r in rows:
                ws.append(r)
        wb.save(HERE / name)

    book(
        "excel_ok.xlsx",
        {
            "visits": [
                ["patient_id", "date", "alsfrs_r_total"],
                ["007", dt.date(2020, 1, 6), 42],
                ["007", dt.date(2020, 3, 2), 40],
            ],
            "injections": [["patient_id", "date"], ["007", dt.date(2020, 2, 3)]],
        },
    )
    book(
        "excel_missing_sheet.xlsx",
        {
            "Tabelle1": [["patient_id", "date", "alsfrs_r_total"], ["1", "2020-01-06", 42]],
            "injections": [["patient_id", "date"], ["1", "2020-02-03"]],
        },
    )
    pd.DataFrame(
        {
            "patient_id": ["007", "007", "008"],
            "date": pd.to_datetime(["2020-01-06", "2020-03-02", "2020-01-06"]),
            "alsfrs_r_total": [42.0, 40.0, 55.0],
        }
    ).to_parquet(HERE / "parquet_visits.parquet")


if __name__ == "__main__":
    main()
