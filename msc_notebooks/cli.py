"""The ``msc-notebooks`` command: the batch face of the same functions the notebooks call.

Subcommands: ``analyze`` (:func:`msc_notebooks.pipeline.run_analysis`), ``demo-data``,
``new`` (:mod:`msc_notebooks.projects`), ``run`` (:mod:`msc_notebooks.notebook_runs`),
``lab`` and ``app`` (:mod:`msc_notebooks.servers`). This is the only module that knows
argparse. Bad input exits with status 2 and a message naming the file, the column, the
rows and the fix, written with command-line options (``--map OLD=NEW``); never a Python
traceback (set ``MSC_DEBUG=1`` to see one for an unexpected error).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, get_type_hints

from .errors import InputError, MscError, SettingsError
from .projects import TEMPLATES
from .settings import SETTING_CHOICES, SETTING_HELP, Settings

__all__ = ["main", "build_parser", "settings_from_args", "parse_map", "EXIT_CODES"]

#: Exit status of each outcome: success, bad input or settings, internal error, Ctrl-C, and
#: the output closed by its reader (``msc-notebooks analyze ... | head``; 128 + SIGPIPE, as
#: other command-line tools).
EXIT_CODES = {
    "ok": 0,
    "internal error": 1,
    "bad input": 2,
    "interrupted": 130,
    "output closed": 141,
}


def parse_map(pairs: Sequence[str] | None) -> dict[str, str]:
    """Parse repeated ``--map OLD=NEW`` options into a column map.

    Examples
    --------
    >>> parse_map(["Subject=patient_id", "Visit date=date"])
    {'Subject': 'patient_id', 'Visit date': 'date'}
    """
    out = {}
    for pair in pairs or []:
        old, sep, new = pair.partition("=")
        if not sep or not old or not new:
            raise InputError(
                f"--map {pair!r} is not OLD=NEW", fix="write it like --map Subject=patient_id"
            )
        out[old] = new
    return out


def parse_outcome_tables(pairs: Sequence[str] | None) -> dict[str, str]:
    """Parse repeated ``--outcome-table COLUMN=FILE`` options.

    Examples
    --------
    >>> parse_outcome_tables(["fvc_pct=fvc.csv"])
    {'fvc_pct': 'fvc.csv'}
    """
    out = {}
    for pair in pairs or []:
        column, sep, path = pair.partition("=")
        if not sep or not column or not path:
            raise InputError(
                f"--outcome-table {pair!r} is not COLUMN=FILE",
                fix="write it like --outcome-table fvc_pct=fvc.csv",
            )
        out[column] = path
    return out


def _help(text: str) -> str:
    """argparse formats help with %: a literal percent sign must be doubled."""
    return text.replace("%", "%%")


def _setting_fields() -> list[dataclasses.Field]:
    return [f for f in dataclasses.fields(Settings) if f.name in SETTING_HELP]


def _add_settings(p: argparse.ArgumentParser) -> None:
    """One option per :class:`Settings` field, with its help, type and choices."""
    defaults = Settings()
    types = get_type_hints(Settings)
    group = p.add_argument_group("settings (SPEC.md)")
    for field in _setting_fields():
        flag = "--" + field.name.replace("_", "-")
        default = getattr(defaults, field.name)
        help_text = _help(SETTING_HELP[field.name])
        kind = types[field.name]
        if kind is bool:
            group.add_argument(flag, action="store_true", default=default, help=help_text)
        else:
            group.add_argument(
                flag,
                type=kind if kind in (int, float) else str,
                default=default,
                choices=SETTING_CHOICES.get(field.name),
                help=help_text + " (default: %(default)s)",
            )


def settings_from_args(args: argparse.Namespace) -> Settings:
    """Build :class:`Settings` from parsed ``analyze`` options.

    Examples
    --------
    >>> args = build_parser().parse_args(["analyze", "--demo", "--threshold-pct", "30"])
    >>> settings_from_args(args).threshold_pct
    30.0
    """
    return Settings(**{f.name: getattr(args, f.name) for f in _setting_fields()})


def _one_or_many(paths: list[str] | None) -> str | list[str] | None:
    """One path as itself, several as a list (``--natural-history A B``).

    Examples
    --------
    >>> _one_or_many(["a.csv"]), _one_or_many(["a.csv", "b.csv"]), _one_or_many(None)
    ('a.csv', ['a.csv', 'b.csv'], None)
    """
    if not paths:
        return None
    return paths[0] if len(paths) == 1 else list(paths)


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
        outcome_tables=parse_outcome_tables(args.outcome_table),
        date_format=args.date_format,
        out=args.out,
        figures=args.figures,
        excel=args.excel,
        report=args.report,
        null_simulations=args.null_simulations,
        sigma=args.sigma,
        null_model={"rate_change_sd": args.rate_change_sd, "rate_trend": args.rate_trend},
        natural_history=_one_or_many(args.natural_history),
        outcomes=args.outcomes,
        match_k=args.match_k,
        caliper=None if args.caliper == 0 else args.caliper,
        slopes=args.slopes,
    )
    if not args.quiet:
        for table, names in result.study.recognised.items():
            pairs = ", ".join(f"{old!r} -> {new}" for old, new in names.items())
            print(f"{table}: columns recognised and renamed: {pairs}")
        from .ledger import ledger_lines

        study = result.study
        if study.exclusions is not None and len(study.exclusions):  # every row used: silent
            for line in ledger_lines(study.ledger, study.exclusions, study.sources):
                print(line)
        for text in study.warnings or []:
            print(f"Warning: {text}")
        from .demo import DEMO_LABEL, is_demo
        from .summary import period_lines

        if is_demo(result.study):
            print(f"Computed from {DEMO_LABEL} (not a real study).")
        # one line per period: the patients left out beside the responders, the median
        # first; a Wilcoxon p only beside the no-effect expectation (SPEC §7)
        for line in period_lines(result.summary, result.null):
            print(line)
        if result.null is not None:  # what the period lines do not already say
            from .null_model import no_effect_lines

            first, *rest = no_effect_lines(result.summary, result.null)
            print(first)
            for text in rest:
                print("  " + text)
        if result.matched is not None:
            print("matched natural-history controls: " + result.matched.sentence())
            for row in result.matched.summary.itertuples():
                print(
                    f"{row.period:>10}: treated {row.treated_responder_pct:.1f} % vs "
                    f"controls {row.control_responder_pct:.1f} % responders, difference "
                    f"{row.difference_pct:+.1f} points [95 % CI {row.difference_ci_low:+.1f}, "
                    f"{row.difference_ci_high:+.1f}] ({row.n_treated} treated, "
                    f"{row.n_matched} controls evaluable)"
                )
        if result.outcomes is not None:
            from .analysis import outcome_lines, outcome_view

            view = outcome_view(result.outcomes)
            if result.null is not None:  # the primary outcome is printed above
                view = view[view["outcome"] != result.settings.outcome]
            for line in outcome_lines(view):
                print(line)
        if result.fitted_slopes is not None:
            print(result.fitted_slopes.sentence)
        if result.safety is not None:
            print(result.safety.sentence)
        if args.out:
            print(f"results written to {args.out}")
    return 0


def _demo_data(args: argparse.Namespace) -> int:
    import shutil

    from .demo import demo_paths

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for path in demo_paths().values():
        shutil.copyfile(path, out / path.name)
        print(out / path.name)
    return 0


_KEY_VALUE = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)=(.*)$", re.S)


def _key_values(items: Sequence[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items:
        match = _KEY_VALUE.match(item)
        if not match:
            raise SettingsError(f"expected key=value, got {item!r} (for example threshold_pct=30)")
        out[match.group(1)] = match.group(2)
    return out


def _parse_value(text: str) -> Any:
    """A ``-p`` value: int, float, true/false/none, else the text itself (as papermill)."""
    lowered = text.strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered in ("none", "null"):
        return None
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def _new_arguments(p: argparse.ArgumentParser, with_context: bool = False) -> None:
    p.add_argument("dest", help="the folder to create (must not exist)")
    p.add_argument("--template", choices=TEMPLATES, default=None, help="default: msc-study")
    if with_context:
        p.add_argument("context", nargs="*", default=[])
    else:
        p.usage = (
            "msc-notebooks new DEST [--template {msc-study,msc-teaching}] "
            "[key=value ...] [--no-input | --input]"
        )
        p.epilog = "key=value: template variables, e.g. study_title='My trial' threshold_pct=30"
    group = p.add_mutually_exclusive_group()
    group.add_argument(
        "--no-input",
        dest="no_input",
        action="store_true",
        default=None,
        help="do not ask for the other variables (default)",
    )
    group.add_argument(
        "--input", dest="no_input", action="store_false", help="ask for each variable not given"
    )


def _new_options(args: argparse.Namespace) -> argparse.Namespace:
    """Merge the options given before DEST with those (and key=value) after it."""
    inner = argparse.ArgumentParser(prog="msc-notebooks new", add_help=False)
    _new_arguments(inner, with_context=True)
    try:
        later = inner.parse_intermixed_args([args.dest, *args.rest])
    except SystemExit:
        raise SettingsError(f"could not read the arguments {' '.join(args.rest)!r}") from None
    template = later.template or args.template or "msc-study"
    no_input = later.no_input if later.no_input is not None else args.no_input
    return argparse.Namespace(
        dest=args.dest,
        template=template,
        context=later.context,
        no_input=True if no_input is None else no_input,
    )


def _cmd_new(args: argparse.Namespace) -> int:
    from .projects import new_project

    opts = _new_options(args)
    path = new_project(
        opts.dest, template=opts.template, context=_key_values(opts.context), no_input=opts.no_input
    )
    print(f"Created {path}")
    return 0


def _cmd_run(args: argparse.Namespace) -> int:
    from .notebook_runs import run_notebook

    params = {key: _parse_value(value) for key, value in args.parameters}
    study_file = Path(args.notebook).expanduser().absolute().parent / "study.yaml"
    if study_file.is_file():  # a study notebook: its data files first (exit 2 naming them)
        from .projects import check_study_data, read_project_config

        config = {**read_project_config(study_file), **params}
        check_study_data(
            config.get("visits"), config.get("injections"), study_file.parent, config.get("demo")
        )
    out = run_notebook(args.notebook, params, output=args.output, html=args.html)
    print(f"Executed notebook: {out}")
    if args.html:
        print(f"HTML report: {Path(args.html).absolute()}")
    return 0


def _extra(args: argparse.Namespace) -> list[str]:
    extra = list(args.extra)
    return extra[1:] if extra[:1] == ["--"] else extra


def _cmd_lab(args: argparse.Namespace) -> int:
    from .servers import start_lab

    return start_lab(args.directory, extra_args=_extra(args))


def _cmd_app(args: argparse.Namespace) -> int:
    from .servers import start_app

    return start_app(args.notebook, extra_args=_extra(args))


def build_parser() -> argparse.ArgumentParser:
    """The argparse parser of ``msc-notebooks`` (all subcommands).

    Each subcommand's ``func`` default takes the parsed namespace and returns an exit
    status; :func:`main` turns errors into messages and exit statuses.

    Examples
    --------
    >>> build_parser().parse_args(["demo-data", "--out", "d"]).out
    'd'
    >>> args = build_parser().parse_args(["new", "x", "--template", "msc-teaching", "lesson_title=L1"])
    >>> opts = _new_options(args)
    >>> opts.template, opts.context, opts.no_input
    ('msc-teaching', ['lesson_title=L1'], True)
    >>> args = build_parser().parse_args(["run", "a.ipynb", "-p", "threshold_pct", "30", "--html", "r.html"])
    >>> args.parameters, args.html
    ([['threshold_pct', '30']], 'r.html')
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
    src.add_argument(
        "--outcome-table",
        action="append",
        metavar="COLUMN=FILE",
        help="an outcome measured on its own days (repeatable), e.g. --outcome-table "
        "fvc_pct=fvc.csv (patient_id, date or day, the value; or PRO-ACT Fvc.csv)",
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
        "--no-slopes",
        dest="slopes",
        action="store_false",
        help="skip the broken-stick mixed model of every visit (slopes.csv, methods §14; "
        "fitted by default: about 1 s for 20 patients, a two-stage estimate above 1,000)",
    )
    o.add_argument(
        "--null-simulations",
        type=int,
        default=0,
        metavar="N",
        help="simulate N no-effect cohorts and write null_summary.csv (methods §13)",
    )
    o.add_argument(
        "--sigma",
        type=float,
        help="noise SD (points) for the simulation; estimated from the run-in when omitted",
    )
    o.add_argument(
        "--rate-change-sd",
        type=float,
        help="no-effect model: SD of the change of decline rate between two periods, "
        "points/month (default: from --natural-history, else fitted to real natural history)",
    )
    o.add_argument(
        "--rate-trend",
        type=float,
        default=0.0,
        help="no-effect model: mean change of the decline rate, points/month per year "
        "(> 0 speeds up, < 0 slows down; default 0)",
    )
    o.add_argument(
        "--natural-history",
        metavar="FILE",
        nargs="+",
        help="an untreated cohort: one visits file, several PRO-ACT files (alsfrs.csv, "
        "AlsHistory.csv, Fvc.csv, DeathData.csv, Treatment.csv) or their folder; writes "
        "natural_history_summary.csv, matched_controls.csv and matching_balance.csv "
        "(methods §13, §15)",
    )
    o.add_argument(
        "--match-k",
        type=int,
        default=5,
        metavar="K",
        help="matched natural-history controls per treated patient (default 5)",
    )
    o.add_argument(
        "--caliper",
        type=float,
        default=0.5,
        metavar="SD",
        help="largest standardised matching distance (default 0.5; 0 = no caliper)",
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

    p = sub.add_parser(
        "new",
        help="create a study or lesson folder from a template",
        description="Create a study (msc-study) or lesson (msc-teaching) folder. "
        "Values given as key=value go into study.yaml / lesson.yaml. "
        "Options and key=value pairs may come in any order after DEST.",
    )
    _new_arguments(p)
    # Anything after DEST (options and key=value, in any order) is parsed again by
    # _cmd_new: argparse cannot interleave options with a variable-length positional.
    p.add_argument("rest", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    p.set_defaults(func=_cmd_new)

    p = sub.add_parser(
        "run",
        help="execute a notebook (papermill), optionally export an HTML report",
        description="Execute a notebook in its own folder with papermill.",
    )
    p.add_argument("notebook", help="the .ipynb to run (it is not modified)")
    p.add_argument(
        "-p",
        "--parameter",
        dest="parameters",
        nargs=2,
        action="append",
        default=[],
        metavar=("KEY", "VALUE"),
        help="set a parameter (numbers, true/false and none are converted)",
    )
    p.add_argument("-o", "--output", help="executed notebook (default NAME.executed.ipynb)")
    p.add_argument("--html", help="also write an HTML report without code, with static figures")
    p.set_defaults(func=_cmd_run)

    p = sub.add_parser(
        "lab", help="start JupyterLab on a folder (no news, no update checks, 127.0.0.1)"
    )
    p.add_argument("directory", nargs="?", default=".", help="folder to open (default: .)")
    p.add_argument("extra", nargs=argparse.REMAINDER, help="more JupyterLab options after --")
    p.set_defaults(func=_cmd_lab)

    p = sub.add_parser("app", help="serve a notebook as a Voilà app (code hidden)")
    p.add_argument("notebook", nargs="?", default=None, help="default: ./guided.ipynb")
    p.add_argument("extra", nargs=argparse.REMAINDER, help="more Voilà options after --")
    p.set_defaults(func=_cmd_app)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status (see :data:`EXIT_CODES`).

    0 on success; 2 for bad input or settings (the message, with the fix written as
    command-line options, on stderr); 1 for an internal error; 130 for Ctrl-C; 141 when
    the output was closed by its reader (``| head``), silently.

    Examples
    --------
    >>> main(["analyze", "--visits", "no-such-file.csv", "--quiet"])
    2
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    prog = f"msc-notebooks {args.command}"
    try:
        return int(args.func(args) or 0)
    except MscError as err:
        print(f"{prog}: error: {err.render('cli')}", file=sys.stderr)
        return EXIT_CODES["bad input"]
    except (FileNotFoundError, IsADirectoryError, PermissionError) as err:
        name = getattr(err, "filename", None) or ""
        print(f"{prog}: error: {name}: {err.strerror or err}. Fix: check the path", file=sys.stderr)
        return EXIT_CODES["bad input"]
    except KeyboardInterrupt:
        return EXIT_CODES["interrupted"]
    except BrokenPipeError:  # the reader stopped reading (`| head`): stop without a word
        try:  # and without another BrokenPipeError when Python flushes stdout at exit
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except (OSError, ValueError):  # no real stdout (e.g. captured in a test)
            pass
        return EXIT_CODES["output closed"]
    except Exception as err:  # noqa: BLE001 - last line of defence: no traceback for users
        if os.environ.get("MSC_DEBUG"):
            raise
        print(
            f"{prog}: internal error: {type(err).__name__}: {err}. "
            "Set MSC_DEBUG=1 to see the traceback, and please report it.",
            file=sys.stderr,
        )
        return EXIT_CODES["internal error"]


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
