"""The command line: files written, parity with the Python API, clean errors."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pandas as pd
import pytest

from msc_notebooks import Settings
from msc_notebooks.cli import main
from msc_notebooks.pipeline import run_analysis


def test_analyze_demo_writes_the_five_files_and_safety(tmp_path, capsys):
    out = tmp_path / "results"
    assert main(["analyze", "--demo", "--out", str(out)]) == 0
    for name in (
        "periods.csv",
        "summary.csv",
        "exclusions.csv",
        "ledger.csv",
        "settings.json",
        "safety_by_term.csv",
        "safety_by_injection.csv",
        "serious_events.csv",
        "safety_summary.txt",
    ):
        assert (out / name).exists(), name
    ledger = pd.read_csv(out / "ledger.csv")
    assert list(ledger.columns) == ["table", "rows_read", "rows_used", "rows_excluded"]
    assert (ledger.rows_read == ledger.rows_used + ledger.rows_excluded).all()
    assert json.loads((out / "settings.json").read_text())["settings"]["threshold_pct"] == 25
    serious = pd.read_csv(out / "serious_events.csv")
    assert serious.empty and "term" in serious.columns  # header alone
    assert "15/19" in capsys.readouterr().out


def test_every_option_reaches_the_function(tmp_path):
    # CLI/API parity: the same settings through both faces give identical files
    files = {}
    for t in ("visits", "injections", "patients"):
        files[t] = tmp_path / f"{t}.csv"
    main(["demo-data", "--out", str(tmp_path)])
    args = [
        "analyze",
        "--visits",
        str(files["visits"]),
        "--injections",
        str(files["injections"]),
        "--patients",
        str(files["patients"]),
        "--reference",
        "onset",
        "--method",
        "ols",
        "--window-days",
        "20",
        "--min-span-days",
        "30",
        "--threshold-pct",
        "30",
        "--inclusive",
        "--absolute-threshold",
        "1.5",
        "--month-days",
        "30",
        "--bootstrap-samples",
        "500",
        "--seed",
        "7",
        "--clinical-points",
        "2",
        "--ae-window-days",
        "10",
        "--date-format",
        "%Y-%m-%d",
        "--map",
        "alsfrs_r_total=alsfrs_r_total",
        "--out",
        str(tmp_path / "cli"),
        "--outcomes",
        "--quiet",
    ]
    assert main(args) == 0
    settings = Settings(
        reference="onset",
        method="ols",
        window_days=20,
        min_span_days=30,
        threshold_pct=30,
        inclusive=True,
        absolute_threshold=1.5,
        month_days=30,
        bootstrap_samples=500,
        seed=7,
        clinical_points=2,
        ae_window_days=10,
    )
    api = run_analysis(
        files["visits"],
        files["injections"],
        files["patients"],
        settings=settings,
        date_format="%Y-%m-%d",
        column_map={"alsfrs_r_total": "alsfrs_r_total"},
        out=tmp_path / "api",
        outcomes=True,
    )
    saved = json.loads((tmp_path / "cli" / "settings.json").read_text())["settings"]
    assert Settings.from_dict(saved) == settings == api.settings
    for name in (
        "periods.csv",
        "summary.csv",
        "clinical.csv",
        "ledger.csv",
        "outcomes_summary.csv",
        "slopes.csv",
    ):
        a = pd.read_csv(tmp_path / "cli" / name)
        b = pd.read_csv(tmp_path / "api" / name)
        pd.testing.assert_frame_equal(a, b)


def test_bad_input_exits_2_with_a_message_and_no_traceback(tmp_path):
    bad = tmp_path / "visits.csv"
    bad.write_text("Subjekt,date,alsfrs_r_total\n001,2020-01-01,40\n", encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "msc_notebooks.cli", "analyze", "--visits", str(bad)],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "visits.csv" in proc.stderr and "patient_id" in proc.stderr
    assert "Fix" in proc.stderr or "fix" in proc.stderr


@pytest.mark.parametrize("argv", [["analyze"], ["analyze", "--demo", "--map", "nonsense"]])
def test_usage_errors_exit_2(argv, capsys):
    assert main(argv) == 2
    assert "error" in capsys.readouterr().err


def test_entry_point_is_installed(tmp_path):
    proc = subprocess.run(
        ["msc-notebooks", "demo-data", "--out", str(tmp_path)], capture_output=True, text=True
    )
    assert proc.returncode == 0
    assert (tmp_path / "visits.csv").read_text().splitlines()[1].startswith("001,")


def test_null_simulations_and_natural_history_files(tmp_path):
    out = tmp_path / "r"
    demo_visits = tmp_path / "demo"
    assert main(["demo-data", "--out", str(demo_visits)]) == 0
    argv = [
        "analyze",
        "--demo",
        "--null-simulations",
        "200",
        "--natural-history",
        str(demo_visits / "visits.csv"),
        "--out",
        str(out),
        "--quiet",
    ]
    assert main(argv) == 0
    null = pd.read_csv(out / "null_summary.csv").set_index("period")
    # observed responders are the analysis' own counts (SPEC §13 result columns)
    assert null.loc["1-2", "observed_responders"] == 15
    assert null.loc["1-2", "n_simulations"] == 200
    assert 0 <= null.loc["1-2", "expected_low"] <= null.loc["1-2", "expected_responders"]
    assert null.loc["1-2", "expected_responders"] <= null.loc["1-2", "expected_high"] <= 19
    nh = pd.read_csv(out / "natural_history_summary.csv")
    assert {"period", "n_evaluable", "n_responders", "responder_pct"} <= set(nh.columns)
    # the change of rate was estimated in the natural-history cohort, and every parameter
    # of the no-effect model is in settings.json with its source (issue #13)
    assert null.loc["1-2", "rate_change_source"].startswith("natural history: ")
    model = json.loads((out / "settings.json").read_text())["no_effect_model"]
    assert model["rate_change_source"] == null.loc["1-2", "rate_change_source"]
    assert model["sigma"] == pytest.approx(null.loc["1-2", "sigma"])
    assert model["outcome_high"] == 48 and model["n_simulations"] == 200


def test_analyze_prints_the_no_effect_sentence(capsys):
    assert main(["analyze", "--demo", "--null-simulations", "100"]) == 0
    text = capsys.readouterr().out
    # each number once (issue #17): the expectation beside the Wilcoxon p in the period
    # line, then the assumptions once and per period what the line does not say
    row = "with no treatment effect "
    period_12 = next(line for line in text.splitlines() if line.startswith("1-2: "))
    assert row in period_12 and "15 observed" in period_12
    assert text.count("scores that vary by about") == 1
    # the expected range itself ("... effect 7.5 [3-11] responders expected"): once per
    # period line, nowhere else
    assert len(re.findall(row + r"\d", text)) == 5
    detail = next(line for line in text.splitlines() if line.startswith("  1-2: "))
    assert detail.startswith("  1-2: 19 evaluable here, ")
    assert "if every patient declined at one constant rate" in detail


def test_analyze_outcomes_prints_the_primary_outcome_once(capsys):
    argv = ["analyze", "--demo", "--null-simulations", "50", "--outcomes", "--quiet"]
    assert main(argv[:-1]) == 0
    text = capsys.readouterr().out
    assert "ALSFRS-R total (points" not in text  # its lines are the period lines
    assert text.count("FVC (% predicted), 1-2: ") == 1
    assert "evaluable on average in the simulated cohorts" in text


def test_analyze_no_effect_model_options(tmp_path):
    # --rate-change-sd and --rate-trend reach the model and its table (issue #13)
    out = tmp_path / "r"
    argv = ["analyze", "--demo", "--null-simulations", "50", "--rate-change-sd", "0.3"]
    assert main([*argv, "--rate-trend", "-0.5", "--out", str(out), "--quiet"]) == 0
    null = pd.read_csv(out / "null_summary.csv")
    assert null["rate_change_sd"].iloc[0] == pytest.approx(0.3)
    assert null["rate_trend"].iloc[0] == -0.5
    assert null["rate_change_source"].iloc[0].endswith("user: rate_change_sd, rate_trend")


def _subcommands() -> list[str]:
    import argparse

    from msc_notebooks.cli import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return sorted(sub.choices)


@pytest.mark.parametrize("command", _subcommands())
def test_every_subcommand_help_exits_0(command, capsys):
    # analyze --help used to crash on a literal '%' in a setting's help ("95% CI")
    with pytest.raises(SystemExit) as exit_:
        main([command, "--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: msc-notebooks {command}")


def test_settings_options_come_from_settings_fields():
    import dataclasses

    from msc_notebooks.cli import build_parser
    from msc_notebooks.settings import SETTING_CHOICES

    analyze = build_parser()._subparsers._group_actions[0].choices["analyze"]
    options = {a.dest: a for a in analyze._actions}
    for field in dataclasses.fields(Settings):
        if field.name == "extra":
            continue
        assert field.name in options, f"--{field.name.replace('_', '-')} is missing"
        if field.name in SETTING_CHOICES:
            assert tuple(options[field.name].choices) == SETTING_CHOICES[field.name]


def test_cli_errors_give_the_fix_as_command_line_options(tmp_path, capsys):
    # an ambiguous date column: the fix names --date-format, not date_format='...'
    visits = tmp_path / "visits.csv"
    visits.write_text(
        "patient_id,date,alsfrs_r_total\n1,03/04/2020,40\n1,05/06/2020,39\n", encoding="utf-8"
    )
    injections = tmp_path / "injections.csv"
    injections.write_text("patient_id,date\n1,04/05/2020\n", encoding="utf-8")
    assert main(["analyze", "--visits", str(visits), "--injections", str(injections)]) == 2
    err = capsys.readouterr().err
    assert "--date-format %d/%m/%Y" in err and "date_format=" not in err
    # the same error from Python gives the keyword argument
    from msc_notebooks import InputError, read_study

    with pytest.raises(InputError) as info:
        read_study(visits, injections)
    assert "date_format='%d/%m/%Y'" in str(info.value) and "--date-format" not in str(info.value)


def test_cli_missing_column_fix_is_a_map_option(tmp_path, capsys):
    visits = tmp_path / "visits.csv"
    visits.write_text("Patiant,date,alsfrs_r_total\n1,2020-01-01,40\n", encoding="utf-8")
    assert main(["analyze", "--visits", str(visits)]) == 2
    err = capsys.readouterr().err
    assert "--map " in err and "column_map" not in err


def test_cli_sigma_fix_is_an_option():
    from msc_notebooks.errors import Fix, InputError, Option

    err = InputError("sigma cannot be estimated", fix=Fix("give ", Option("sigma", 1.5)))
    assert err.render("cli").endswith("Fix: give --sigma 1.5")
    assert str(err).endswith("Fix: give sigma=1.5")
    assert err.render("yaml").endswith("Fix: give sigma: 1.5 in study.yaml")


def test_every_cli_flag_an_error_can_name_exists():
    # the flags Option writes for the command line are real options of `analyze`
    from msc_notebooks.cli import build_parser
    from msc_notebooks.errors import Option

    analyze = build_parser()._subparsers._group_actions[0].choices["analyze"]
    flags = {s for a in analyze._actions for s in a.option_strings}
    for name, value in [
        ("column_map", {"a": "b"}),
        ("date_format", "%d/%m/%Y"),
        ("sigma", 1.5),
        ("n_simulations", 100),
        ("reference", "onset"),
        ("visits", "v.csv"),
        ("demo", True),
        ("match_k", 5),
        ("caliper", 0.5),
    ]:
        assert Option(name, value).render("cli").split()[0] in flags, name


def test_analyze_without_injections_says_so_and_exits_2(tmp_path, capsys):
    visits = tmp_path / "visits.csv"
    visits.write_text(
        "patient_id,date,alsfrs_r_total\n1,2020-01-01,40\n1,2020-04-01,38\n", encoding="utf-8"
    )
    assert main(["analyze", "--visits", str(visits), "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert "no injections" in err and "no treatment period" in err
    assert "--injections injections.csv" in err
    assert not (tmp_path / "r" / "periods.csv").exists()  # no empty tables written


def test_analyze_with_no_matching_patients_exits_2(tmp_path, capsys):
    # injections of a patient without assessments are excluded: nothing left to analyse
    visits = tmp_path / "visits.csv"
    visits.write_text(
        "patient_id,date,alsfrs_r_total\n1,2020-01-01,40\n1,2020-04-01,38\n", encoding="utf-8"
    )
    injections = tmp_path / "injections.csv"
    injections.write_text("patient_id,date\n2,2020-02-01\n", encoding="utf-8")
    assert main(["analyze", "--visits", str(visits), "--injections", str(injections)]) == 2
    assert "no treatment period" in capsys.readouterr().err


def test_recognised_columns_are_reported_on_the_command_line(tmp_path, capsys):
    visits = tmp_path / "visits.csv"
    visits.write_text(
        "Subject,Visit Date,ALSFRS-R\n1,2020-01-01,40\n1,2020-03-01,39\n1,2020-06-01,38\n",
        encoding="utf-8",
    )
    injections = tmp_path / "injections.csv"
    injections.write_text("Patient ID,Injection Date\n1,2020-03-05\n", encoding="utf-8")
    out = tmp_path / "r"
    argv = ["analyze", "--visits", str(visits), "--injections", str(injections), "--out", str(out)]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "visits: columns recognised and renamed: 'Subject' -> patient_id" in printed
    saved = json.loads((out / "settings.json").read_text())["columns_recognised"]
    assert saved["injections"] == {"Patient ID": "patient_id", "Injection Date": "date"}


def test_analyze_says_which_rows_were_left_out_and_the_warnings(tmp_path, capsys):
    """A CRF-like export (semicolons, day/month dates, clinic column names, one typo): the
    command line says how many rows were read, used and excluded, quotes the excluded row
    and why, and prints the warnings (SPEC §10); a clean export prints no such line."""
    visits = tmp_path / "visits.csv"
    rows = ["Subject ID;Visit Date;ALSFRS-R Total;Comment"]
    for pid, start in (("001", 1), ("002", 2), ("003", 3)):
        for k, (month, score) in enumerate(
            zip((1, 2, 4, 7, 10), (44, 42, 40, 38, 36), strict=True)
        ):
            rows.append(f"{pid};{start + 14}/{month:02d}/2020;{score};note {k}")
    rows[8] = rows[8].replace(";40;", ";4O;")  # the typo: a letter O, file row 9
    assert ";4O;" in rows[8]
    visits.write_text("\n".join(rows) + "\n", encoding="utf-8")
    injections = tmp_path / "injections.csv"
    injections.write_text(
        "Subject ID;Injection Date\n"
        + "".join(
            f"{p};{d}/04/2020\n{p};{d}/07/2020\n"
            for p, d in (("001", 15), ("002", 16), ("003", 17))
        ),
        encoding="utf-8",
    )
    assert main(["analyze", "--visits", str(visits), "--injections", str(injections)]) == 0
    out = capsys.readouterr().out
    assert "visits (visits.csv): 15 rows read, 14 used, 1 excluded (row 9: " in out, out
    assert "alsfrs_r_total is not a number" in out
    assert "injections (injections.csv): 6 rows read, all used" in out
    assert "Warning: " in out and "'Comment'" in out  # the text column not used

    rows[8] = rows[8].replace(";4O;", ";40;")
    visits.write_text("\n".join(r.rsplit(";", 1)[0] for r in rows) + "\n", encoding="utf-8")
    assert main(["analyze", "--visits", str(visits), "--injections", str(injections)]) == 0
    out = capsys.readouterr().out
    assert "rows read" not in out and "Warning" not in out


def test_output_closed_by_its_reader_stops_silently():
    """`msc-notebooks analyze ... | head -1`: the first line, then a quiet stop with 141
    (128 + SIGPIPE, as other tools), not "internal error: BrokenPipeError"."""
    import shutil

    from msc_notebooks.cli import EXIT_CODES

    exe = shutil.which("msc-notebooks")
    if exe is None:
        pytest.skip("msc-notebooks is not installed on PATH")
    done = subprocess.run(
        [
            "bash",
            "-c",
            f'set -o pipefail; "{exe}" analyze --demo | head -1; exit ${{PIPESTATUS[0]}}',
        ],
        capture_output=True,
        text=True,
    )
    assert done.stdout.strip() == "Computed from synthetic demo data (not a real study)."
    assert done.stderr == "" and done.returncode == EXIT_CODES["output closed"] == 141
