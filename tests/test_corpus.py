"""The bad-input corpus (issue #9) and property tests of the loader (SPEC §10).

Each case in ``tests/corpus/expected.yaml`` runs through :func:`read_study`: the outcome is
the expected InputError (with file, column, rows and fix in the message) or the expected
exclusions; the ledger balances; the input files are not changed; nothing but an
InputError escapes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from msc_notebooks.columns import TABLES
from msc_notebooks.errors import InputError
from msc_notebooks.loading import read_study

CORPUS = Path(__file__).parent / "corpus"
CASES = yaml.safe_load((CORPUS / "expected.yaml").read_text(encoding="utf-8"))


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def check_ledger(study) -> None:
    led = study.ledger
    assert (led.rows_read == led.rows_used + led.rows_excluded).all(), led
    per_table = study.exclusions.groupby("table").size()
    for rec in led.itertuples():
        assert per_table.get(rec.table, 0) == rec.rows_excluded
    used = {
        "visits": study.visits,
        "injections": study.injections,
        "patients": study.patients,
        "adverse_events": study.adverse_events,
    }
    for rec in led.itertuples():
        assert len(used[rec.table]) == rec.rows_used


def test_corpus_is_large_and_complete():
    assert len(CASES) >= 40
    named = {case[t] for case in CASES.values() for t in TABLES if t in case}
    on_disk = {p.name for p in CORPUS.iterdir() if p.suffix not in (".yaml", ".py")}
    assert on_disk - named == set(), "files without a case"
    assert named - on_disk == set(), "cases without a file"
    assert len(on_disk) >= 40


@pytest.mark.parametrize("name", sorted(CASES))
def test_corpus_case(name):
    case = CASES[name]
    paths = {t: CORPUS / case[t] for t in TABLES if t in case}
    before = {p: sha(p) for p in paths.values()}
    options = {k: case[k] for k in ("column_map", "date_format") if k in case}
    try:
        study = read_study(**paths, **options)
    except InputError as err:
        message = str(err)
        assert "error" in case, f"unexpected InputError: {message}"
        for part in case["error"]:
            assert part in message, f"{part!r} not in {message!r}"
        study = None
    else:
        assert "error" not in case, "expected an InputError"
    finally:
        assert {p: sha(p) for p in paths.values()} == before, "an input file was changed"
    if study is None:
        return
    check_ledger(study)
    got: dict[str, Counter] = {}
    for rec in study.exclusions.itertuples():
        got.setdefault(rec.table, Counter())[rec.reason] += 1
    want = {t: Counter(r) for t, r in (case.get("excluded") or {}).items()}
    assert got == want
    used = dict(zip(study.ledger.table, study.ledger.rows_used, strict=True))
    for table, n in (case.get("used") or {}).items():
        assert used[table] == n, (table, used)
    for part in case.get("warnings", []):
        assert any(part in w for w in study.warnings), (part, study.warnings)
    assert set(study.exclusions.source) <= {p.name for p in paths.values()}


# ------------------------------------------------------------------ property tests

CORRUPT = ["", "NA", "n/a", "-", "abc", "99", "-3", "2.5", "4,0", " 7 ", "31/02/2020", "1e3", "0"]


@st.composite
def cohorts(draw):
    """A small cohort (visits, injections, events as text tables) with random corruptions."""
    n_pat = draw(st.integers(1, 4))
    vrows, irows, erows = [], [], []
    for p in range(n_pat):
        pid = f"{p:03d}"
        for _ in range(draw(st.integers(1, 4))):
            vrows.append(
                {
                    "patient_id": pid,
                    "day": str(draw(st.integers(-60, 400))),
                    "alsfrs_r_total": str(draw(st.integers(0, 48))),
                    "fvc_pct": str(draw(st.integers(30, 110))),
                }
            )
        for _ in range(draw(st.integers(0, 3))):
            irows.append({"patient_id": pid, "day": str(draw(st.integers(0, 300)))})
        for _ in range(draw(st.integers(0, 2))):
            erows.append(
                {
                    "patient_id": pid,
                    "day": str(draw(st.integers(0, 300))),
                    "term": draw(st.sampled_from(["Headache", "Fever", ""])),
                    "severity": draw(st.sampled_from(["mild", "Moderate", "", "grade 2"])),
                    "serious": draw(st.sampled_from(["yes", "no", ""])),
                }
            )
    tables = {
        "visits": pd.DataFrame(vrows),
        "injections": pd.DataFrame(irows, columns=["patient_id", "day"]),
        "adverse_events": pd.DataFrame(
            erows, columns=["patient_id", "day", "term", "severity", "serious"]
        ),
    }
    for _ in range(draw(st.integers(0, 6))):
        t = draw(st.sampled_from(sorted(tables)))
        df = tables[t]
        if len(df) == 0:
            continue
        kind = draw(st.sampled_from(["cell", "duplicate", "cell", "unknown"]))
        i = draw(st.integers(0, len(df) - 1))
        if kind == "cell":
            col = draw(st.sampled_from(list(df.columns)))
            df.iloc[i, df.columns.get_loc(col)] = draw(st.sampled_from(CORRUPT))
        elif kind == "duplicate":
            df = pd.concat([df, df.iloc[[i]]], ignore_index=True)
        else:
            df.iloc[i, 0] = "999"
        tables[t] = df
    return tables


def _canon(df: pd.DataFrame | None) -> pd.DataFrame | None:
    return None if df is None else df.reset_index(drop=True)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(cohorts(), st.randoms(use_true_random=False))
def test_random_corruptions_only_input_errors_no_lost_rows_order_free(tables, rnd):
    try:
        study = read_study(**tables)
    except InputError:
        study = None
    if study is not None:
        check_ledger(study)
        read = dict(zip(study.ledger.table, study.ledger.rows_read, strict=True))
        for t, df in tables.items():
            assert read[t] == len(df)
    # shuffling the rows (row labels travel with them) changes nothing
    shuffled = {}
    for t, df in tables.items():
        order = list(range(len(df)))
        rnd.shuffle(order)
        shuffled[t] = df.iloc[order]
    try:
        again = read_study(**shuffled)
    except InputError:
        assert study is None
        return
    assert study is not None
    for t in ("visits", "injections", "patients", "adverse_events"):
        a, b = _canon(getattr(study, t)), _canon(getattr(again, t))
        if a is None:
            assert b is None
            continue
        pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=1e-12)
    key = ["table", "row"]
    pd.testing.assert_frame_equal(
        study.exclusions.sort_values(key).reset_index(drop=True),
        again.exclusions.sort_values(key).reset_index(drop=True),
    )


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["1", "2"]),
            st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2199, 12, 31)),
            st.integers(0, 48),
        ),
        min_size=1,
        max_size=8,
    )
)
def test_calendar_dates_round_trip_through_csv(tmp_path_factory, rows):
    # ISO dates written to a real CSV come back as the same calendar days (no shift)
    path = tmp_path_factory.mktemp("dates") / "visits.csv"
    lines = ["patient_id,date,alsfrs_r_total"] + [f"{p},{d.isoformat()},{s}" for p, d, s in rows]
    path.write_text("\n".join(lines) + "\n")
    study = read_study(path)
    check_ledger(study)
    want = {(p, (np.datetime64(d) - np.datetime64("1970-01-01")).astype(int)) for p, d, _ in rows}
    assert set(zip(study.visits.patient_id, study.visits.day.astype(int), strict=True)) == want


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["delete", "insert", "replace"]),
            st.integers(0, 10_000),
            st.binary(min_size=1, max_size=3),
        ),
        min_size=1,
        max_size=6,
    )
)
def test_byte_mutations_of_a_good_file_give_a_study_or_an_input_error(tmp_path_factory, edits):
    # fuzz the bytes of a valid file: never a traceback other than InputError (issue #9)
    data = bytearray((CORPUS / "ok_minimal.csv").read_bytes())
    for kind, at, chunk in edits:
        at = at % (len(data) + 1)
        if kind == "delete":
            del data[at : at + len(chunk)]
        elif kind == "insert":
            data[at:at] = chunk
        else:
            data[at : at + len(chunk)] = chunk
    path = tmp_path_factory.mktemp("fuzz") / "visits.csv"
    path.write_bytes(bytes(data))
    try:
        study = read_study(path)
    except InputError as err:
        assert "visits.csv" in str(err)
        return
    check_ledger(study)
