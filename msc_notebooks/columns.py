"""Canonical column names (SPEC §11), ALSFRS-R items and domains (SPEC §1), the PRO-ACT layout.

This module holds names only: no pandas, so it is cheap to import.
"""

from __future__ import annotations

__all__ = [
    "TABLES",
    "ITEMS",
    "PATIENT_EVENTS",
    "OPTIONAL_PATIENT_EVENTS",
    "DOMAINS",
    "DOMAIN_MAX",
    "OUTCOME_MAX",
    "CANONICAL",
    "REQUIRED",
    "PROACT",
    "PERIODS_COLUMNS",
    "SUMMARY_COLUMNS",
    "EXCLUSIONS_COLUMNS",
    "LEDGER_COLUMNS",
]

#: The four tables a user brings (SPEC §1), in reading order.
TABLES = ("visits", "injections", "patients", "adverse_events")

#: ALSFRS-R items q1..q12 (item 5 is q5, read from q5a or q5b; SPEC §1).
ITEMS = tuple(f"q{i}" for i in range(1, 13))

#: ALSFRS-R domains and their items (SPEC §1); each domain is scored 0-12.
DOMAINS = {
    "bulbar": ("q1", "q2", "q3"),
    "fine_motor": ("q4", "q5", "q6"),
    "gross_motor": ("q7", "q8", "q9"),
    "respiratory": ("q10", "q11", "q12"),
}
DOMAIN_MAX = 12

#: Highest possible value of each bounded outcome (used by the onset reference, SPEC §4,
#: and by range checks). Unbounded outcomes (FVC %) are absent.
OUTCOME_MAX = {"alsfrs_r_total": 48, **{d: DOMAIN_MAX for d in DOMAINS}}

#: Dated events of the patients table, each read from ``<event>_date`` (calendar input) or
#: ``<event>_day`` (day offsets): onset and diagnosis (SPEC §11), gastrostomy and death
#: (optional, for King's 4A and stage 5: SPEC §16).
PATIENT_EVENTS = ("onset", "diagnosis", "gastrostomy", "death")
#: The events whose columns exist in the canonical patients table only when given.
OPTIONAL_PATIENT_EVENTS = ("gastrostomy", "death")

#: Canonical input columns per table (SPEC §11).
CANONICAL = {
    "visits": ("patient_id", "date", "day", "alsfrs_r_total", *ITEMS, "q5a", "q5b", "fvc_pct"),
    "injections": ("patient_id", "date", "day", "injection_number", "dose_million_cells", "route"),
    "patients": (
        "patient_id",
        "onset_date",
        "onset_day",
        "diagnosis_date",
        "diagnosis_day",
        "gastrostomy_date",
        "gastrostomy_day",
        "death_date",
        "death_day",
        "sex",
        "age",
        "site_of_onset",
        "withdrawn",
    ),
    "adverse_events": (
        "patient_id",
        "date",
        "day",
        "term",
        "severity",
        "serious",
        "related",
        "outcome",
        "injection_number",
    ),
}

#: Required columns per table; a tuple inside means "one of these".
REQUIRED = {
    "visits": ("patient_id", ("date", "day")),
    "injections": ("patient_id", ("date", "day")),
    "patients": ("patient_id",),
    "adverse_events": ("patient_id", ("date", "day"), "term"),
}

#: The PRO-ACT export names, recognised without a column map (SPEC §1).
PROACT = {
    "visits": {
        "subject_id": "patient_id",
        "ALSFRS_Delta": "day",
        "Q1_Speech": "q1",
        "Q2_Salivation": "q2",
        "Q3_Swallowing": "q3",
        "Q4_Handwriting": "q4",
        "Q5a_Cutting_without_Gastrostomy": "q5a",
        "Q5b_Cutting_with_Gastrostomy": "q5b",
        "Q6_Dressing_and_Hygiene": "q6",
        "Q7_Turning_in_Bed": "q7",
        "Q8_Walking": "q8",
        "Q9_Climbing_Stairs": "q9",
        "R_1_Dyspnea": "q10",
        "R_2_Orthopnea": "q11",
        "R_3_Respiratory_Insufficiency": "q12",
        "ALSFRS_R_Total": "alsfrs_r_total",
        # ALSFRS_Total is the original 0-40 scale: recognised so that it can be refused.
        "ALSFRS_Total": "alsfrs_total_original",
    },
    "injections": {"subject_id": "patient_id", "Injection_Delta": "day"},
    "patients": {
        "subject_id": "patient_id",
        "Onset_Delta": "onset_day",
        "Diagnosis_Delta": "diagnosis_day",
        "Sex": "sex",
        "Age": "age",
        "Site_of_Onset": "site_of_onset",
    },
    "adverse_events": {
        "subject_id": "patient_id",
        "Preferred_Term": "term",
        "Severity": "severity",
        "Outcome": "outcome",
        "Start_Date_Delta": "day",
        "Serious": "serious",
    },
}

#: The per-patient period table (SPEC §11), in order.
PERIODS_COLUMNS = (
    "patient_id",
    "period",
    "start_day",
    "end_day",
    "start_score",
    "end_score",
    "months",
    "rate",
    "reference_rate",
    "improvement_pct",
    "responder",
    "absolute_change",
    "absolute_responder",
    "evaluable",
    "reason",
    "small_reference",
)

#: The per-period summary table (SPEC §7 and §11), in order: the patients left out beside
#: the evaluable ones, the median before the mean (SPEC §7).
SUMMARY_COLUMNS = (
    "period",
    "n_in_period",
    "n_evaluable",
    "n_not_evaluable",
    "not_evaluable_reasons",
    "n_responders",
    "responder_pct",
    "median_improvement_pct",
    "median_ci_low_pct",
    "median_ci_high_pct",
    "mean_improvement_pct",
    "ci_low_pct",
    "ci_high_pct",
    "ci_method",
    "ratio_of_mean_rates_pct",
    "mean_improvement_responders_pct",
    "n_small_reference",
    "wilcoxon_statistic",
    "wilcoxon_p",
    "wilcoxon_n",
    "wilcoxon_method",
    "median_paired_difference",
    "n_absolute_responders",
)

#: Every row read and not used, with why (SPEC §10).
EXCLUSIONS_COLUMNS = ("table", "source", "row", "patient_id", "column", "value", "reason")

#: Rows read = used + excluded, per table (SPEC §10).
LEDGER_COLUMNS = ("table", "rows_read", "rows_used", "rows_excluded")
