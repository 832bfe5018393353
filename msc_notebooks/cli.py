"""The ``msc-notebooks`` command: the batch face of the same functions the notebooks call.

Subcommands: ``analyze``, ``demo-data`` (here) and ``new``, ``run``, ``lab``, ``app``
(:mod:`msc_notebooks.projects`). Bad input exits with status 2 and a message naming the
file, the column, the rows and the fix; never a Python traceback (set ``MSC_DEBUG=1`` to
see one for an unexpected error).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from .settings import SETTING_HELP, Settings

__all__ = ["main", "build_parser", "settings_from_args", "parse_map"]


def parse_map(pairs: Sequence[str] | None) -> dict[str, str]:
    """Parse repeated ``--map OLD=NEW`` options into a column map.

    Examples
    --------
    >>> parse_map(["Subject=patient_id", "Visit date=date"])
    {'Subject': 'patient_id', 'Visit date': 'date'}
    """
    from .errors import InputError

    out = {}
    for pair in pairs or []:
        old, sep, new = pair.partition("=")
        if not sep or not old or not new:
            raise InputError(
                f"--map {pair!r} is not OLD=NEW", fix="write it like --map Subject=patient_id"
            )
        out[old] = new
    return out


def _add_settings(p: argparse.ArgumentParser) -> None:
    d = Settings()
    g = p.add_argument_group("settings (SPEC.md)")
    g.add_argument(
        "--reference",
        choices=("run-in", "onset"),
        default=d.reference,
        help=SETTING_HELP["reference"],
    )
    g.add_argument(
        "--method", choices=("endpoints", "ols"), default=d.method, help=SETTING_HELP["method"]
    )
    g.add_argument(
        "--window-days", type=float, default=d.window_days, help=SETTING_HELP["window_days"]
    )
    g.add_argument(
        "--min-span-days", type=float, default=d.min_span_days, help=SETTING_HELP["min_span_days"]
    )
    g.add_argument(
        "--threshold-pct", type=float, default=d.threshold_pct, help=SETTING_HELP["threshold_pct"]
    )
    g.add_argument("--inclusive", action="store_true", help=SETTING_HELP["inclusive"])
    g.add_argument(
        "--absolute-threshold",
        type=float,
        default=d.absolute_threshold,
        help=SETTING_HELP["absolute_threshold"],
    )
    g.add_argument(
        "--month-days", type=float, default=d.month_days, help=SETTING_HELP["month_days"]
    )
    g.add_argument("--outcome", default=d.outcome, help=SETTING_HELP["outcome"])
    g.add_argument(
        "--clinical-points",
        type=float,
        default=d.clinical_points,
        help=SETTING_HELP["clinical_points"],
    )
    g.add_argument(
        "--bootstrap-samples",
        type=int,
        default=d.bootstrap_samples,
        help=SETTING_HELP["bootstrap_samples"],
    )
    g.add_argument("--seed", type=int, default=d.seed, help=SETTING_HELP["seed"])
    g.add_argument(
        "--ae-window-days",
        type=float,
        default=d.ae_window_days,
        help=SETTING_HELP["ae_window_days"],
    )


def settings_from_args(args: argparse.Namespace) -> Settings:
    """Build :class:`Settings` from parsed ``analyze`` options.

    Examples
    --------
    >>> args = build_parser().parse_args(["analyze", "--demo", "--threshold-pct", "30"])
    >>> settings_from_args(args).threshold_pct
    30.0
    """
    return Settings(
        reference=args.reference,
        method=args.method,
        window_days=args.window_days,
        min_span_days=args.min_span_days,
        threshold_pct=args.threshold_pct,
        inclusive=args.inclusive,
        absolute_threshold=args.absolute_threshold,
        month_days=args.month_days,
        outcome=args.outcome,
        clinical_points=args.clinical_points,
        bootstrap_samples=args.bootstrap_samples,
        seed=args.seed,
        ae_window_days=args.ae_window_days,
    )


def _analyze(args: argparse.Namespace) -> int:
    from .pipeline import run_analysis

    result = run_analysis(
        args.visits,
        args.injections,
        args.patients,
        args.adverse_events,
        demo=args.demo,
        settings=settings_from_args(args),
        column_map=parse_map(args.map),
        date_format=args.date_format,
        out=args.out,
        figures=args.figures,
        excel=args.excel,
        report=args.report,
        null_simulations=args.null_simulations,
        sigma=args.sigma,
        natural_history=args.natural_history,
        outcomes=args.outcomes,
    )
    if not args.quiet:
        for row in result.summary.itertuples():
            print(
                f"{row.period:>10}: {result.responders(row.period):>6} responders"
                + (
                    f", mean improvement {row.mean_improvement_pct:.1f} %"
                    if row.n_evaluable
                    else ""
                )
            )
        if result.safety is not None:
            print(result.safety.sentence)
        if args.out:
            print(f"results written to {args.out}")
    return 0


def _demo_data(args: argparse.Namespace) -> int:
    import shutil
    from pathlib import Path

    from .demo import demo_paths

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for path in demo_paths().values():
        shutil.copyfile(path, out / path.name)
        print(out / path.name)
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argparse parser of ``msc-notebooks`` (all subcommands).

    Examples
    --------
    >>> build_parser().parse_args(["demo-data", "--out", "d"]).out
    'd'
    """
    parser = argparse.ArgumentParser(
        prog="msc-notebooks",
        description="Analyse repeated-injection cell-therapy trials in ALS (ALSFRS-R).",
    )
    from . import __version__

    parser.add_argument("--version", action="version", version=f"msc-notebooks {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("analyze", help="analyse a study (or the demo cohort) and write results")
    src = p.add_argument_group("data")
    src.add_argument("--visits", help="visits file (CSV, XLSX, Parquet): ALSFRS-R assessments")
    src.add_argument("--injections", help="injections file")
    src.add_argument("--patients", help="patients file (onset dates, withdrawn flag)")
    src.add_argument("--adverse-events", help="adverse-events file")
    src.add_argument("--demo", action="store_true", help="use the bundled synthetic demo cohort")
    src.add_argument("--date-format", help="strftime format of dates, e.g. %%d/%%m/%%Y")
    src.add_argument(
        "--map",
        action="append",
        metavar="OLD=NEW",
        help="rename a column (repeatable), e.g. --map Subject=patient_id",
    )
    _add_settings(p)
    o = p.add_argument_group("output")
    o.add_argument(
        "--out",
        help="folder for periods.csv, summary.csv, exclusions.csv, "
        "ledger.csv, settings.json and the safety tables",
    )
    o.add_argument("--figures", action="store_true", help="also write every figure (SVG, PNG)")
    o.add_argument("--excel", action="store_true", help="also write results.xlsx")
    o.add_argument("--report", action="store_true", help="also write report.html")
    o.add_argument(
        "--null-simulations",
        type=int,
        default=0,
        metavar="N",
        help="simulate N no-effect cohorts and write null_summary.csv (SPEC §13)",
    )
    o.add_argument(
        "--sigma",
        type=float,
        help="noise SD (points) for the simulation; estimated from the run-in when omitted",
    )
    o.add_argument(
        "--natural-history",
        metavar="FILE",
        help="an untreated cohort's visits: writes natural_history_summary.csv",
    )
    o.add_argument(
        "--outcomes",
        action="store_true",
        help="also summarise FVC and the four ALSFRS-R domains into outcomes_summary.csv",
    )
    o.add_argument("--quiet", action="store_true", help="print nothing on success")
    p.set_defaults(func=_analyze)

    p = sub.add_parser("demo-data", help="write the demo cohort as canonical CSV files")
    p.add_argument("--out", required=True, help="folder to write into")
    p.set_defaults(func=_demo_data)

    try:
        from .projects import add_subcommands
    except ImportError:  # pragma: no cover - projects ships with the package
        pass
    else:
        add_subcommands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status (0 ok, 2 bad input, 1 internal error).

    Examples
    --------
    >>> main(["analyze", "--visits", "no-such-file.csv", "--quiet"])
    2
    """
    from .errors import MscError

    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except MscError as err:
        print(f"msc-notebooks: error: {err}", file=sys.stderr)
        return 2
    except (FileNotFoundError, IsADirectoryError, PermissionError) as err:
        name = getattr(err, "filename", None) or ""
        print(
            f"msc-notebooks: error: {name}: {err.strerror or err}. Fix: check the path",
            file=sys.stderr,
        )
        return 2
    except KeyboardInterrupt:
        return 130
    except Exception as err:  # noqa: BLE001 - last line of defence: no traceback for users
        if os.environ.get("MSC_DEBUG"):
            raise
        print(
            f"msc-notebooks: internal error: {type(err).__name__}: {err}. "
            "Set MSC_DEBUG=1 to see the traceback, and please report it.",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
