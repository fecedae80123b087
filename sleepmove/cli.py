"""The `sleepmove` command. Heavy libraries are imported inside the commands: --help stays fast."""

from __future__ import annotations

import argparse
import os
import re
import sys
from typing import NoReturn

from sleepmove.base.words import how_many
from sleepmove.detection.params import RULE_SETS, WASM2016  # stdlib only: --help stays fast
from sleepmove.sensor.simulator_families import SIMULATOR_FAMILIES

RULES = tuple(RULE_SETS)  # the rule-set names, defined once (detection/params.py)


class OneLineParser(argparse.ArgumentParser):
    """argparse with the project's one-line refusals: what is wrong and where to look, no
    usage block (8-10 lines that bury the one that matters); exit status 2 as before."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}; see '{self.prog} --help'\n")


def add_analysis_options(parser: argparse.ArgumentParser) -> None:
    """The options that change how a night is scored (shared by analyze and batch)."""
    parser.add_argument(
        "--criteria",
        choices=RULES,
        default=WASM2016.name,
        help="scoring rules (default: wasm2016, WASM/IRLSSG 2016)",
    )
    parser.add_argument(
        "--units",
        choices=("auto", "g", "m/s2", "mg"),
        default="auto",
        help="acceleration units (default: detected from the data)",
    )
    parser.add_argument("--placement", choices=("ankle", "wrist"), default="ankle")
    parser.add_argument(
        "--age-group",
        choices=("adult", "child", "infant"),
        default="adult",
        help="sets the PLM index threshold: 15/h adults, 5/h children and infants; "
        "infant: sleep in many short bouts, no one sleep period",
    )
    parser.add_argument(
        "--sleep-window",
        metavar="START,END",
        help="lights out and lights on (HH:MM, ISO datetime or seconds from "
        "the start); replaces the estimated sleep period",
    )
    parser.add_argument(
        "--timezone",
        metavar="ZONE",
        help="IANA time zone (e.g. Europe/Berlin) of clock times that state none: .cwa files "
        "and CSVs with zone-less times; clock times in the outputs carry its offset",
    )
    parser.add_argument(
        "--min-duration",
        type=float,
        metavar="MINUTES",
        help="analyze recordings shorter than the usual 10 minutes, down to this many "
        "(the summary then warns how little the figures rest on)",
    )
    add_clock_option(parser)
    parser.add_argument(
        "--config",
        metavar="FILE",
        help="settings file (settings.toml, as every output folder holds): its options and "
        "parameters replace the defaults, options given here still win; the same input and "
        "file give the same results",
    )
    parser.add_argument(
        "--no-report",
        action="store_true",
        help="write only the tables and summary, skip the slow report",
    )


def add_clock_option(parser: argparse.ArgumentParser) -> None:
    """--no-clock-alignment (analyze, batch, record)."""
    parser.add_argument(
        "--no-clock-alignment",
        action="store_true",
        help="two sensors: use the second sensor's time stamps as they are, without aligning "
        "its clock onto the first's from the movements both legs show",
    )


def record_protocols() -> tuple[str, ...]:
    """The sensor families `record` speaks, from the registry (by module name: `--help`
    imports no protocol code)."""
    from sleepmove.sensor.registry import family_names

    return family_names()


class _Given(argparse.Action):
    """Stores the value and notes it was given (`<dest>_given`): a default is not asked for,
    and what cannot be done as asked is said only of what was (record --rate)."""

    def __call__(self, parser, namespace, values, option_string=None) -> None:  # noqa: ANN001
        setattr(namespace, self.dest, values)
        setattr(namespace, f"{self.dest}_given", True)


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="sleepmove",
        description="Find sleep movements (brief jerks, limb movements, PLM series) in "
        "wearable accelerometer recordings.",
    )
    parser.add_argument("--version", action="version", version=_version())
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    analyze = commands.add_parser(
        "analyze",
        help="score one recorded night",
        description="Score one night from one sensor (FILE) or two (--left/--right). Writes "
        "events.csv, epochs.csv, summary.json and settings.toml into --out.",
    )
    analyze.add_argument(
        "file", nargs="?", help="one sensor's file: CSV (or .gz), .cwa, .bin, .gt3x or Parquet"
    )
    analyze.add_argument("--left", help="recording of the left leg")
    analyze.add_argument("--right", help="recording of the right leg")
    analyze.add_argument("--side", choices=("left", "right"), help="leg of a single sensor")
    analyze.add_argument("--out", required=True, help="folder for the results")
    add_analysis_options(analyze)
    analyze.add_argument(
        "--respiratory-events",
        metavar="FILE",
        help="a sleep study's apneas, hypopneas and RERAs (CSV of onset,duration,type; EDF+; "
        "NSRR XML): LMs near them are no CLMs, as the rules require (an accelerometer has "
        "no breathing channel to tell them)",
    )

    batch = commands.add_parser(
        "batch",
        help="analyze many nights in parallel, resumably",
        description="Analyze every recording found in INPUTS (files, folders searched "
        "recursively, glob patterns) into DIR/<night-id>/, with DIR/nights.csv and "
        "DIR/batch.json. Finished nights made with the same parameters are skipped.",
    )
    batch.add_argument("inputs", nargs="+", metavar="INPUT")
    batch.add_argument("--out", required=True)
    batch.add_argument(
        "--workers", type=int, default=None, help="local processes (default: the number of cores)"
    )
    batch.add_argument(
        "--scheduler", metavar="ADDRESS", help="run on a Dask cluster, e.g. tcp://host:8786"
    )
    batch.add_argument(
        "--pairs",
        metavar="PATTERN",
        help="pair left/right files of a night, e.g. {night}_{side}.csv",
    )
    batch.add_argument(
        "--shard",
        metavar="K/N",
        help="only every N-th night from the K-th (for job arrays: one shard per task)",
    )
    batch.add_argument(
        "--sleep-log",
        metavar="FILE",
        help="CSV of night (id or file name), lights_out, lights_on: each night's "
        "--sleep-window; nights not in it keep the estimate",
    )
    batch.add_argument("--force", action="store_true", help="redo finished nights")
    batch.add_argument(
        "--respiratory-events",
        metavar="PATTERN",
        help="each night's sleep study events, {night} its id, e.g. psg/{night}-nsrr.xml "
        "(as analyze --respiratory-events; a night whose file is missing is an error row)",
    )
    add_analysis_options(batch)

    protocols = record_protocols()
    scan = commands.add_parser(
        "scan",
        help="list the supported sensors in range",
        description="List the sensors in range that speak a supported protocol ("
        + ", ".join(protocols)
        + "): name, address, signal strength and protocol.",
    )
    scan.add_argument("--seconds", type=float, default=10.0)

    record = commands.add_parser(
        "record",
        help="record a night from BLE sensors (or emulated ones), then analyze it",
        description="Connect to one or two sensors, stream until --duration ends or Ctrl-C, "
        "reconnecting whenever the link drops, writing DIR/<side>.csv and DIR/recording.json "
        "as it goes; then analyze what was recorded into DIR. Every protocol 'sleepmove scan' "
        "lists records (" + ", ".join(protocols) + "); the protocol is told from what the "
        "sensor advertises.",
    )
    record.add_argument("--device", help="name or address of the (left) sensor")
    record.add_argument("--device-right", help="name or address of the right sensor")
    record.add_argument("--out", required=True)
    record.add_argument("--side", choices=("left", "right"))
    record.add_argument(
        "--rate", type=int, default=52, action=_Given, help="samples per second (default 52)"
    )
    record.add_argument("--duration", default="9h", help="e.g. 9h, 30m (default 9h)")
    record.add_argument(
        "--protocol",
        choices=protocols,
        help="what the --device sensors speak (default: told from what they advertise)",
    )
    record.add_argument(
        "--emulate",
        metavar="DEVICE[,DEVICE]",
        help="record from emulated sensors playing a simulated night: a protocol's name "
        "(e.g. polar) or one of its models (e.g. polar-h10; an unknown name lists them all); "
        "two (comma-separated) for two legs",
    )
    # No argparse defaults for the emulated night's options: one given without --emulate
    # must be told from the default to be refused (record.EMULATION_DEFAULTS holds them).
    record.add_argument(
        "--scenario", help="simulated night to play, with --emulate (default plmd-moderate)"
    )
    record.add_argument(
        "--speed",
        type=float,
        help="emulated nights play this many times faster than real time (default 1)",
    )
    record.add_argument("--seed", type=int, help="the emulated night's seed (default 0)")
    record.add_argument("--no-report", action="store_true")
    add_clock_option(record)

    report = commands.add_parser(
        "report",
        help="compare analyzed nights",
        description="Gather nights analyzed by 'sleepmove analyze' (their folders, or folders "
        "that hold them) and write nights.csv, a trend plot and report.html into --out.",
    )
    report.add_argument("folders", nargs="+", metavar="DIR")
    report.add_argument("--out", required=True)
    report.add_argument(
        "--diary",
        metavar="FILE",
        help="a CSV of date,tag[,from]: nights on tagged dates are marked; from=yes notes a "
        "change that holds from that date on, and the nights before and after are compared",
    )

    validate = commands.add_parser(
        "validate",
        help="compare analyzed nights with reference scoring",
        description="Match the events of analyzed nights with reference scoring (CSV, EDF+ "
        "annotations, NSRR XML or a simulator's truth.json), one reference per night in the "
        "same order, and write validation.csv, validation.json and report.html into --out.",
    )
    validate.add_argument("results", nargs="+", metavar="RESULT_DIR")
    validate.add_argument("--reference", nargs="+", required=True, metavar="REF")
    validate.add_argument(
        "--tolerance",
        type=float,
        default=1.0,
        help="onset tolerance for limb movements, s (default 1.0)",
    )
    validate.add_argument(
        "--jerk-tolerance",
        type=float,
        default=0.3,
        help="onset tolerance for brief jerks, s (default 0.3)",
    )
    validate.add_argument(
        "--offset", type=float, default=0.0, help="known clock offset, s, added to reference onsets"
    )
    validate.add_argument("--out", required=True)

    simulate = commands.add_parser(
        "simulate",
        help="write a simulated night with ground truth",
        description="Write simulated recording(s) in the recorder's CSV format and truth.json.",
    )
    simulate.add_argument("--out", help="the folder to write (needed but for --scenario list)")
    simulate.add_argument("--hours", type=float, default=8.0)
    simulate.add_argument("--rate", type=float, default=50.0)
    simulate.add_argument(
        "--sides",
        default="",
        help="e.g. left,right for two sensors (default: the scenario's: night.csv, or "
        "left.csv and right.csv for a two-leg scenario)",
    )
    simulate.add_argument("--seed", type=int, default=0, help="(default 0)")
    simulate.add_argument(
        "--family",
        choices=tuple(SIMULATOR_FAMILIES),
        default="hinge",
        help="simulator family (default hinge): "
        + "; ".join(f"{name} ({what})" for name, what in SIMULATOR_FAMILIES.items()),
    )
    simulate.add_argument(
        "--scenario",
        default="plmd-moderate",
        help="a scenario of the family (default plmd-moderate); `--scenario list` prints "
        "every family's scenarios",
    )
    simulate.add_argument("--gzip", action="store_true", help="write .csv.gz")
    parser.commands = {"analyze": analyze, "batch": batch}  # those that take --config
    # Each command's own parser: its refusals name the command (`sleepmove validate: ...`)
    parser.subcommands = dict(commands.choices)
    return parser


# Commands whose every output is written, closed and renamed into place when main returns
# (summary.json last): the console script leaves after them without the interpreter's
# teardown, which frees every module and array one by one (20-35 ms of an 8-hour night's
# half second, measured on 2 cores). Not `record` or `batch`: their pools, links and
# cluster clients are shut down by it.
DONE_ON_RETURN = ("analyze",)
_command_run: list[str] = []  # the command main() ran, for entry()


def entry() -> NoReturn:
    """The console script (`sleepmove`, `python -m sleepmove`): main() on sys.argv."""
    try:
        code = main()
    except KeyboardInterrupt:  # between main's own handling and the exit: one line, no trace
        print(f"sleepmove: interrupted; {_what_was_written()}", file=sys.stderr)
        sys.stderr.flush()
        os._exit(130)
    # matplotlib (the report) removes its temporary cache folder at exit: the usual exit then.
    if _command_run and _command_run[-1] in DONE_ON_RETURN and "matplotlib" not in sys.modules:
        for stream in (sys.stdout, sys.stderr):
            try:
                if stream is not None:
                    stream.flush()
            except (OSError, ValueError):  # closed, or a reader gone: as Python's own exit
                code = code or 120
        os._exit(code)
    sys.exit(code)


# Options whose value is a pair that may start with a minus (seconds before the start).
PAIR_OPTIONS = ("--sleep-window",)
# ...and whose value has a unit: `--duration -1m` is refused by its own range, in its words.
UNIT_OPTIONS = ("--duration",)


def _pairs_joined(argv: list[str]) -> list[str]:
    """`--sleep-window -5,100` as `--sleep-window=-5,100`: argparse takes a value that starts
    with "-" and is no plain number for an option, and refused the window ("expected one
    argument"); so too `--duration -1m`."""
    joined: list[str] = []
    for token in argv:  # a loop over a command line's words
        pair = joined and joined[-1] in PAIR_OPTIONS and "," in token
        unit = joined and joined[-1] in UNIT_OPTIONS and re.fullmatch(r"-[\d.]+[a-z]*", token)
        if token[:1] == "-" and (pair or unit):
            joined[-1] = f"{joined[-1]}={token}"
        else:
            joined.append(token)
    return joined


def main(argv: list[str] | None = None) -> int:
    # No command uses BLAS, yet numpy's OpenBLAS starts a thread per core that spins for a
    # while after the import: 0.1 s of CPU taken from the parse (measured on 2 cores).
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    parser = build_parser()
    argv = _pairs_joined(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(argv)
    _command_run.append(args.command)
    _written.clear()  # of this command (tests call main again and again)
    command = parser.subcommands[args.command]
    from sleepmove.base.errors import InputError

    try:
        if getattr(args, "config", None):
            args = _with_settings(parser, argv, args)
        if args.command == "analyze":
            return _analyze(command, args)
        if args.command == "report":
            return _report(args)
        if args.command == "batch":
            return _batch(args)
        if args.command == "scan":
            return _scan(args)
        if args.command == "record":
            if not (args.emulate or args.device):
                command.error("give --device NAME_OR_ADDRESS, or --emulate polar-verity")
            from sleepmove.record import run_record_command

            return run_record_command(args)
        if args.command == "validate":
            return _validate(command, args)
        return _simulate(command, args)
    except InputError as error:
        print(f"sleepmove: error: {_from_settings(error, args)}", file=sys.stderr)
        return 2
    except OSError as error:  # the destination failed mid-way (a full disk): still one line
        where = f" {error.filename}" if error.filename else ""
        print(f"sleepmove: error: cannot write{where} ({error.strerror or error})", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"sleepmove: interrupted; {_what_was_written()}", file=sys.stderr)
        return 130


_written: list[str] = []  # output folders whose results this process has written whole


def _what_was_written() -> str:
    if _command_run and _command_run[-1] == "batch":  # its nights are written one by one
        return "the nights finished are kept; the same command again does the rest"
    if _written:
        return f"the results were written to {_written[-1]}"
    record = sys.modules.get("sleepmove.record")  # loaded once a record command began
    if _command_run and _command_run[-1] == "record" and record is not None:
        # The night's samples (and its results) stay in its folder whenever the Ctrl-C came
        return record.on_disk() or "nothing was written"
    return "nothing was written"


def _with_settings(
    parser: argparse.ArgumentParser, argv: list[str] | None, args: argparse.Namespace
) -> argparse.Namespace:
    """The arguments again, with the --config file's options as the command's defaults (the
    command line still wins) and its parameter changes in `args.parameter_changes`."""
    from sleepmove.base.errors import InputError
    from sleepmove.settings import OPTIONS, other_release_warning, read_settings

    settings = read_settings(args.config)
    older = other_release_warning(settings)
    if older:
        print(f"sleepmove: warning: {older}", file=sys.stderr)
    if settings.retired:
        print(
            f"sleepmove: warning: {args.config}: {', '.join(settings.retired)} no longer "
            "used by this release (it never changed a result): ignored",
            file=sys.stderr,
        )
    command = parser.commands[args.command]
    defaults = settings.argument_defaults()
    for action in command._actions:  # argparse checks choices of given values, not defaults
        value = defaults.get(action.dest)
        if value is not None and action.choices is not None and value not in action.choices:
            name = next(n for n, dest in OPTIONS.items() if dest == action.dest)
            raise InputError(
                args.config,
                f"[options] {name} = {value!r}",
                expected="one of " + ", ".join(map(str, action.choices)),
            )
    command.set_defaults(**defaults)
    args = parser.parse_args(argv)
    args.parameter_changes = settings.changes
    _check_changes_fit(args)
    # The options the file gave and the command line did not change: a refusal of one of
    # them must name the file, not an option the user never typed (_from_settings).
    args.from_settings = {
        name: value
        for name, value in settings.options.items()
        if getattr(args, OPTIONS[name], None) == defaults[OPTIONS[name]]
    }
    return args


def _check_changes_fit(args: argparse.Namespace) -> None:
    """The file's parameter changes on the defaults of the options as finally given: a rule
    set named on the command line may not take them (a file's imi_max_s of 7.5 under
    wasm2016's imi_min_s of 10). One line naming the file, not a traceback."""
    from sleepmove.base.errors import InputError
    from sleepmove.detection.parameter_changes import ParameterError, with_changes
    from sleepmove.detection.params import default_parameters

    if not args.parameter_changes or not hasattr(args, "criteria"):
        return
    defaults = default_parameters(
        args.criteria, getattr(args, "age_group", "adult"), getattr(args, "placement", "ankle")
    )
    try:
        with_changes(defaults, args.parameter_changes)
    except ParameterError as error:
        raise InputError(args.config, error.problem, expected=error.expected) from None


# The settings file's options whose values are checked only once the recording is read, by
# the option name their refusal gives.
CHECKED_LATER = {"--sleep-window": "sleep_window", "--timezone": "timezone"}


def _from_settings(error: Exception, args: argparse.Namespace) -> object:
    """The refusal, naming the --config file's line when the refused value came from it."""
    name = CHECKED_LATER.get(getattr(error, "path", ""))
    given = getattr(args, "from_settings", {})
    if name is None or name not in given:
        return error
    from sleepmove.base.errors import InputError

    return InputError(
        args.config,
        f"[options] {name} = {given[name]!r}: {error.problem}",
        where=error.where,
        expected=error.expected,
    )


def _analyze(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    if args.file and (args.left or args.right):
        parser.error("give either FILE or --left/--right, not both")
    # A --config file's side is the leg of the FILE it was written for: --left or --right
    # given instead name theirs.
    configured_side = "side" in getattr(args, "from_settings", {})
    if args.side and not args.file and not configured_side:
        # was ignored: --side right --left L.csv scored a left leg
        parser.error("--side names the leg of one FILE; --left and --right name theirs")
    if args.file:
        inputs = {args.side or "": args.file}
    elif args.left and args.right:
        inputs = {"left": args.left, "right": args.right}
    elif args.left or args.right:
        inputs = {"left": args.left} if args.left else {"right": args.right}
    else:
        parser.error("give a recording: FILE, or --left and --right")
    from sleepmove.checks import (
        check_destination,
        check_inputs_apart,
        check_no_report_there,
        check_two_sensors,
        replacing_outputs,
    )

    check_two_sensors(inputs)
    check_destination(args.out)  # before the read: a bad --out must not cost the analysis
    check_no_report_there(args.out, "the night's results")
    check_inputs_apart(inputs, args.out)
    shorter = min_duration_option(args)
    from sleepmove.prefetch import finish_reading, start_reading

    if args.timezone is not None:  # "" too: it names no zone
        from sleepmove.sensor.zones import check_zone

        check_zone(args.timezone)
    reading = start_reading(inputs, args.units, args.timezone)
    from sleepmove.memory import reuse_freed_memory
    from sleepmove.pipeline import AnalyzeRequest, analyze  # imports while the files parse

    recordings = finish_reading(reading)
    reuse_freed_memory()  # for the analysis's arrays, once the parse's threads are done
    with replacing_outputs(args.out):  # a rerun leaves no older report beside new tables
        result = analyze(
            AnalyzeRequest(
                inputs=inputs,
                out_dir=args.out,
                criteria=args.criteria,
                units=args.units,
                placement=args.placement,
                age_group=args.age_group,
                sleep_window=args.sleep_window,
                report=not args.no_report,
                timezone=args.timezone,
                clock_alignment=not args.no_clock_alignment,
                parameter_changes=getattr(args, "parameter_changes", None),
                respiratory_events=args.respiratory_events,
                **shorter,
            ),
            recordings=recordings,
        )
    _written.append(args.out)  # an interrupt from here on no longer undoes anything
    print(_headline(result.summary, args.out, report=not args.no_report))
    _print_warnings(result.summary)
    return 0


SHOWN_WARNINGS = 10


def _print_warnings(summary: dict) -> None:
    """The notes on the data (blocks of a device file left out, rows dropped, a sensor
    fault) on the terminal too: they were only in summary.json and the report's box."""
    quality = summary["quality"]
    notes = [note for note in quality["warnings"] if note != quality.get("short_recording")]
    for note in notes[:SHOWN_WARNINGS]:  # a loop over a few notes
        print(f"sleepmove: warning: {note}", file=sys.stderr)
    if len(notes) > SHOWN_WARNINGS:
        print(
            f"sleepmove: warning: and {len(notes) - SHOWN_WARNINGS} more notes on the data "
            "(summary.json: quality.warnings)",
            file=sys.stderr,
        )


def min_duration_option(args: argparse.Namespace) -> dict[str, float]:
    """--min-duration as the request's `min_duration_s`, only when given and not the default
    (a settings file always names it: a batch's resume key then stays that of a plain run)."""
    if args.min_duration is None:
        return {}
    from sleepmove.pipeline import MIN_DURATION_S
    from sleepmove.settings import LEAST_MIN_DURATION_MIN as least
    from sleepmove.settings import MIN_DURATION_RANGE, min_duration_allowed

    if not min_duration_allowed(args.min_duration):
        from sleepmove.base.errors import InputError

        raise InputError(
            "--min-duration",
            f"{args.min_duration:g}",
            expected=f"{MIN_DURATION_RANGE}: sleep is scored on 30 s epochs weighed with "
            f"their neighbours, so no option analyzes less than {least:g}, and no night is "
            "longer than a day",
        )

    seconds = args.min_duration * 60.0
    return {} if seconds == MIN_DURATION_S else {"min_duration_s": seconds}


def _headline(summary: dict, out: str, report: bool = False) -> str:
    def show(value, fmt, unit=""):  # n/a alone: "n/a/h" read as a value
        return "n/a" if value is None else format(value, fmt) + unit

    from sleepmove.reports.readable import against, rate
    from sleepmove.reports.summary import rules_shown

    rules = rules_shown(summary)
    sleep = summary["sleep"]
    per_min = summary["jerk_rate_per_min"]
    index, threshold = summary["plm_index"], summary["assessment"]["threshold_per_h"]
    plm_index = "n/a" if index is None else f"{against(index, threshold)}/h"
    lines = [
        f"PLM index {plm_index}  "
        f"in bed {show(summary.get('plm_index_in_bed'), '.1f', '/h')}  periodicity "
        f"{show(summary['periodicity_index'], '.2f')}  "
        f"jerks {rate(per_min) + ('' if per_min is None else '/min')}  "
        f"sleep {sleep['total_sleep_h']:.2f} h ({sleep['source']})  rules {rules}",
        *summary["assessment"]["statements"],
        *[summary["quality"][key] for key in ("short_recording",) if key in summary["quality"]],
        f"results in {out}/ ({'report.html, ' if report else ''}events.csv, epochs.csv, "
        "summary.json, settings.toml)",
    ]
    return "\n".join(lines)


def _scan(args: argparse.Namespace) -> int:
    import asyncio

    from sleepmove.sensor.scan import scan

    try:
        rows = asyncio.run(scan(args.seconds))
    except Exception as error:  # no adapter, no BlueZ, no permission: say which
        print(
            f"sleepmove: error: cannot scan for Bluetooth devices ({error}); "
            "expected a Bluetooth adapter (try 'sleepmove record --emulate polar-verity')",
            file=sys.stderr,
        )
        return 2
    if not rows:
        print("no supported sensor in range")
    for row in rows:
        print(f"{row['name']:24} {row['address']:18} {row['rssi']:5d} dBm  {row['protocol']}")
    return 0


def _batch(args: argparse.Namespace) -> int:
    from sleepmove.checks import check_destination, check_no_report_there, require_extra

    check_destination(args.out)
    check_no_report_there(args.out, "the batch's results")
    if args.scheduler:
        require_extra("distributed", "cluster", "--scheduler")
    from sleepmove.batch_command import run_batch_command

    return run_batch_command(args)


def _report(args: argparse.Namespace) -> int:
    from sleepmove.checks import check_destination

    check_destination(args.out)
    from sleepmove.report_command import write_trend

    count = write_trend(args.folders, args.out, diary=args.diary)
    nights = "1 night" if count == 1 else f"{count} nights"
    print(f"{nights}: {args.out}/report.html, {args.out}/nights.csv")
    return 0


def _validate(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    if len(args.results) != len(args.reference):
        parser.error(
            f"{len(args.results)} result folders but {len(args.reference)} references: "
            "give one reference per night, in the same order"
        )
    from sleepmove.validate import check_matching_options, refuse_repeated_folders

    check_matching_options(args.tolerance, args.jerk_tolerance, args.offset)
    # Before any night is read: a slip named at once, not after minutes of checking.
    refuse_repeated_folders(args.results)
    import json

    from sleepmove.checks import check_destination, require_extra

    check_destination(args.out)
    from sleepmove.checks import TREND_MARK
    from sleepmove.report_command import check_report_destination

    # `validate DIR --out DIR` replaced the night's own report.html
    check_report_destination(args.out, "the validation report", TREND_MARK)
    for reference in args.reference:  # a loop over files
        if reference.lower().endswith((".edf", ".bdf")):
            require_extra("edfio", "edf", reference)
    from sleepmove.base.atomic import write_files
    from sleepmove.reports.tables import to_csv
    from sleepmove.reports.validation_report import validation_files
    from sleepmove.validate import pooled, validate_night

    nights = [
        validate_night(r, ref, args.tolerance, args.jerk_tolerance, args.offset)
        for r, ref in zip(args.results, args.reference)
    ]
    import pandas as pd

    parameters = {
        "tolerance_s": args.tolerance,
        "jerk_tolerance_s": args.jerk_tolerance,
        "offset_s": args.offset,
    }
    summary = {
        "parameters": parameters,
        "pooled": pooled(nights),
        "nights": [n["row"] for n in nights],
    }
    files = {
        "validation.csv": to_csv(pd.DataFrame([n["row"] for n in nights])),
        "validation.json": json.dumps(_no_nan(summary), indent=2, default=_plain) + "\n",
    }
    files |= validation_files(nights, summary["pooled"], parameters)
    write_files(args.out, files)
    told = [w for night in nights for w in night["warnings"]] + summary["pooled"]["warnings"]
    for warning in told:  # a loop over warnings
        print(f"sleepmove: warning: {warning}", file=sys.stderr)
    lm = summary["pooled"]["lm"]
    # LMs scored by different duration bounds are not pooled (validate.pooled)
    lm_f1 = f"LM F1 {lm['f1']:.3f}" if lm else "LM F1 per rule set (validation.json)"
    print(f"{how_many(len(nights), 'night')}: {lm_f1}; results in {args.out}/")
    return 0


def _plain(value):
    """JSON for numpy scalars."""
    return value.item() if hasattr(value, "item") else str(value)


def _no_nan(value):
    """`value` with every NaN float as None: json.dumps writes NaN, which is not JSON (a
    hand-edited summary's index of NaN reached validation.json so)."""
    if isinstance(value, dict):
        return {key: _no_nan(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_no_nan(item) for item in value]
    if isinstance(value, float) and value != value:  # numpy's float64 is a float
        return None
    return value


def _simulate(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    from sleepmove.sensor.simulate import family_scenarios, simulate_family, two_leg_scenarios

    if args.scenario == "list":
        two_legs = two_leg_scenarios()
        for family, scenarios in family_scenarios().items():
            print(f"{family}: {SIMULATOR_FAMILIES[family]}")
            for name, what in scenarios.items():
                legs = " [two legs: left.csv, right.csv]" if name in two_legs[family] else ""
                print(f"  {name:18} {what}{legs}")
        return 0
    if not args.out:
        parser.error("the following arguments are required: --out")
    scenarios = family_scenarios()[args.family]
    if args.scenario not in scenarios:
        parser.error(
            f"unknown {args.family} scenario {args.scenario!r}; choose from {', '.join(scenarios)}"
        )
    sides = [s for s in args.sides.split(",") if s]
    if (
        any(s not in ("left", "right") for s in sides)
        or len(set(sides)) != len(sides)
        or (args.sides and not sides)  # "," names no side
    ):
        parser.error(f"--sides {args.sides!r}: expected left, right or left,right")
    _check_simulation(args)
    from sleepmove.checks import check_destination

    check_destination(args.out)  # an existing file as --out: refused before anything is made
    _refuse_a_recording(args.out)
    import signal
    import threading

    def terminated(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    # SIGTERM as an interrupt: the night's staged files are then removed (its default action
    # would leave them) and "nothing was written" stays true. Handlers: main thread only.
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, terminated)
    try:
        truth = simulate_family(
            args.family,
            args.out,
            hours=args.hours,
            rate_hz=args.rate,
            # None, not []: a family's two-leg scenario then writes both legs, as the
            # benchmarks' nights of it have; [] asked for one unnamed sensor.
            sides=sides or None,
            seed=args.seed,
            scenario=args.scenario,
            compress=args.gzip,
        )
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    _written.append(args.out)
    made = [side for side in truth["files"] if side]
    if sides and set(made) != set(sides):  # a two-leg scenario: said, not done silently
        print(
            f"sleepmove: warning: scenario {args.scenario!r} is a night of two legs: wrote "
            f"{' and '.join(made)} (--sides {args.sides} asked for {', '.join(sides)})",
            file=sys.stderr,
        )
    print(f"wrote {', '.join(truth['files'].values())} and truth.json to {args.out}/")
    return 0


def _refuse_a_recording(out: str) -> None:
    """A folder holding a recording that no simulation made (record's recording.json, or a
    CSV without truth.json beside it) is refused: simulate would replace the recorded night.
    An earlier simulation's folder is written over, as before."""
    from sleepmove.base.errors import InputError

    names = set(os.listdir(out)) if os.path.isdir(out) else set()
    written = {f"{leg}.csv{gz}" for leg in ("night", "left", "right") for gz in ("", ".gz")}
    recorded = sorted(
        name
        for name in names
        if name == "recording.json" or ("truth.json" not in names and name in written)
    )
    if recorded:
        raise InputError(
            out,
            f"holds a recording ({', '.join(recorded[:3])}) that simulate would replace; "
            "nothing was changed",
            expected="a new or empty folder for --out, or an earlier simulation's",
        )


def _check_simulation(args: argparse.Namespace) -> None:
    """Refuse, in one line and before anything is written, a night the simulator cannot
    plan or that would not fit in memory (sensor.simulate says why each bound)."""
    from sleepmove.base.errors import InputError
    from sleepmove.base.limits import RATES_HZ
    from sleepmove.sensor.simulate import MOST_SAMPLES, shortest_hours
    from sleepmove.sensor.time_guards import LONGEST_NIGHT_H

    least = shortest_hours(args.family, args.scenario)
    if not least <= args.hours <= LONGEST_NIGHT_H:  # nan, inf too
        raise InputError(
            "--hours",
            f"{args.hours:g}",
            expected=f"hours from {least:g} to {LONGEST_NIGHT_H:g} for a {args.family} "
            f"{args.scenario} night",
        )
    low, high = RATES_HZ
    if not low <= args.rate <= high:
        raise InputError("--rate", f"{args.rate:g}", expected=f"Hz from {low:g} to {high:g}")
    samples = args.hours * 3600 * args.rate
    if samples > MOST_SAMPLES:
        raise InputError(
            f"--hours {args.hours:g} --rate {args.rate:g}",
            f"{samples / 1e6:.1f} million samples per sensor",
            expected=f"at most {MOST_SAMPLES / 1e6:.1f} million (30 h at 100 Hz, 3 h at 1000 "
            "Hz): the simulator holds the night in memory",
        )
    if args.seed < 0:
        raise InputError("--seed", str(args.seed), expected="a whole number 0 or above")


def _version() -> str:
    from sleepmove import __version__

    return f"sleepmove {__version__}"


if __name__ == "__main__":
    entry()
