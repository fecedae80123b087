"""`sleepmove record`: one or two sensors overnight, then the same analysis as `analyze`.

Its jobs live apart: which sensors and over which radio (`record_devices`), the session loop
(`record_session`), the status line (`record_status`); this module checks the command's
arguments, wires them together, and analyzes the night.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager

from sleepmove.base.errors import InputError
from sleepmove.base.limits import RATES_HZ
from sleepmove.checks import check_no_report_there
from sleepmove.record_devices import (
    Radio,
    choose_families,
    emulate,
    emulated_families,
    simulated_night,
)
from sleepmove.record_session import Sensor, night_start, run_sessions, truth_keeper, write_truth
from sleepmove.record_status import say
from sleepmove.sensor.recorder import SensorSession, span
from sleepmove.sensor.recording_files import DiskFull, SpaceReserve

# What a recording leaves in its folder: a folder holding any of them is never written into.
RECORDING_FILES = ("night.csv", "left.csv", "right.csv", "recording.json", "truth.json")
LONGEST_S = 48 * 3600.0  # a night and a day: longer is a typo (1e9h), not a recording
# An emulated night plays this many times faster at most: beyond, the emulators fall behind
# and their backlog grows without bound (1e9 grew 37 MB/s). 1 is real time; slower is not
# a night.
SPEEDS = (1.0, 1000.0)
NIGHT_PAST_END_H = 0.1  # the emulated night runs on past --duration: the end is recorded whole
# The options only an emulated night uses, and their defaults. argparse declares none, so an
# option given without --emulate is told from its default and refused (it was ignored).
EMULATION_DEFAULTS = {"scenario": "plmd-moderate", "speed": 1.0, "seed": 0}
CLOCK_STEP_TOLD_S = 60.0  # a wall clock set by more than this during the night is told


def emulation(args: argparse.Namespace) -> tuple[str, float, int]:
    """`args`' --scenario, --speed and --seed, each its default where not given (None)."""

    def given(name: str) -> object:
        value = getattr(args, name, None)
        return EMULATION_DEFAULTS[name] if value is None else value

    return str(given("scenario")), float(given("speed")), int(given("seed"))


def check_destination(out: str) -> None:
    """Refuse a folder that already holds a recording, before anything is written: a rerun
    would append to a CSV whose last line may be cut (unreadable after it) and replace the
    first session's recording.json and truth.json."""
    if os.path.exists(out) and not os.path.isdir(out):
        raise InputError(out, "is a file, not a folder", expected="a new or empty folder for --out")
    present = [name for name in RECORDING_FILES if os.path.exists(os.path.join(out, name))]
    if present:
        raise InputError(
            out,
            f"already holds a recording ({', '.join(present)}); nothing was changed",
            expected="a new or empty folder for --out",
        )
    # its night's report would replace a trend report's or a validation's
    check_no_report_there(out, "the recording's results")


def parse_duration(text: str) -> float:
    """'9h', '30m', '45s' or seconds: above 0 and at most LONGEST_S."""
    units = {"h": 3600, "m": 60, "s": 1}
    expected = f"e.g. 9h, 30m, 600: above 0 s and at most {LONGEST_S / 3600:g}h"
    try:
        if text[-1] in units:
            seconds = float(text[:-1]) * units[text[-1]]
        else:
            seconds = float(text)
    except (ValueError, IndexError):
        raise InputError("--duration", f"cannot read {text!r}", expected=expected) from None
    if not 0 < seconds <= LONGEST_S:  # nan too
        raise InputError("--duration", repr(text), expected=expected)
    return seconds


def check_arguments(args: argparse.Namespace) -> None:
    """Refuse, in one line and before anything is made, what cannot be recorded: a session
    found wrong only once the folder holds its files leaves them there (--duration 0m)."""
    duration = parse_duration(args.duration)
    low, high = RATES_HZ
    if not low <= args.rate <= high:
        raise InputError(
            "--rate", str(args.rate), expected=f"samples per second, {low:g} to {high:g}"
        )
    two = args.device_right or len([name for name in (args.emulate or "").split(",") if name]) > 1
    if args.side and two:  # two sensors are left and right: --side was silently ignored
        raise InputError(
            "--side",
            "names the leg of one sensor; two sensors record the left and the right leg",
            expected="--side with one --device or one --emulate model",
        )
    if not args.emulate:
        given = [f"--{name}" for name in EMULATION_DEFAULTS if getattr(args, name) is not None]
        if given:  # a real sensor's night has no scenario, speed or seed: it was ignored
            verb = "is" if len(given) == 1 else "are"
            raise InputError(
                ", ".join(given),
                f"{verb} for emulated sensors, and no --emulate was given",
                expected="--emulate MODEL with it, or no " + " or ".join(given),
            )
        return
    if args.device or args.device_right:
        given = "--device" if args.device else "--device-right"
        raise InputError(
            given,
            "is for real sensors, and --emulate records emulated ones",
            expected="one of them; two emulated legs are --emulate MODEL,MODEL",
        )
    if args.protocol:  # an emulated model speaks its own protocol: --protocol was ignored
        spoken = sorted({family.name for _, family in emulated_families(args.emulate)})
        if spoken != [args.protocol]:
            raise InputError(
                "--protocol",
                f"{args.protocol!r}, but the emulated {args.emulate} "
                + ("speaks " if len(spoken) == 1 else "speak ")
                + " and ".join(spoken),
                expected=f"--protocol {spoken[0]}, or none"
                if len(spoken) == 1
                else "no --protocol (each emulated model speaks its own)",
            )
    scenario, speed, seed = emulation(args)
    slowest, fastest = SPEEDS
    if not slowest <= speed <= fastest:  # nan too
        raise InputError(
            "--speed", f"{speed:g}", expected=f"times real time, {slowest:g} to {fastest:g}"
        )
    from sleepmove.sensor.simulate import shortest_hours
    from sleepmove.sensor.simulate_night import SCENARIOS

    if scenario not in SCENARIOS:
        raise InputError("--scenario", repr(scenario), expected="one of " + ", ".join(SCENARIOS))
    least = shortest_hours("hinge", scenario)
    if duration / 3600 + NIGHT_PAST_END_H < least:
        raise InputError(
            "--duration",
            repr(args.duration),
            expected=f"at least {(least - NIGHT_PAST_END_H) * 60:.0f}m for a {scenario} night",
        )
    if seed < 0:
        raise InputError("--seed", str(seed), expected="a whole number 0 or above")


@contextmanager
def hangup_ignored() -> Iterator[None]:
    """SIGHUP ignored (the terminal went away: an ssh session closed), then as it was: the
    night goes on, as under nohup, and the status line goes quiet. Its default ended the
    process, the rest unrecorded. The loop's own handler for it was removed with the loop,
    and asyncio put back the default, not nohup's 'ignore': a terminal closed during the
    analysis after the night killed it, its results unwritten."""
    try:
        previous = signal.signal(signal.SIGHUP, signal.SIG_IGN)
    except (AttributeError, ValueError):  # no SIGHUP here, or not the main thread
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGHUP, signal.SIG_DFL if previous is None else previous)


async def record(
    args: argparse.Namespace,
    script: Callable[[list], Awaitable[None]] | None = None,
    radio: Radio | None = None,
) -> dict:
    """Record the night `args` asks for; returns the files, stats, sessions, emulators and
    problems. `script(emulators)`: a coroutine that misbehaves on purpose (tests). `radio`:
    how real (non-emulated) sensors are reached, the adapter unless given (tests give
    bumble's in-memory link, with emulated sensors on it, to take the hardware path)."""
    with hangup_ignored():
        return await _record(args, script, radio)


async def _record(
    args: argparse.Namespace,
    script: Callable[[list], Awaitable[None]] | None,
    radio: Radio | None,
) -> dict:
    duration = parse_duration(args.duration)
    scenario, speed, seed = emulation(args)
    models = emulated_families(args.emulate) if args.emulate else []
    check_destination(args.out)
    if models:
        two = len(models) == 2
        sides = ["left", "right"] if two else [args.side or ""]
        families = [described for _, described in models]
        # Each leg's night at its own sensor's rate: two families on two legs (Movesense 52
        # Hz, MetaMotion 50) played one 52 Hz night at 50 Hz, 4 % slow, 96 s apart by 40 min.
        rates = [family.rate_for(args.rate) for family in families]
        sources, plan = simulated_night(
            scenario, duration / 3600 + NIGHT_PAST_END_H, rates, sides, seed
        )
        radio, emulators = await emulate(models, sources, rates, speed)
        wanted = [e.address for e in emulators]
    else:
        wanted = [args.device] + ([args.device_right] if args.device_right else [])
        sides = ["left", "right"] if args.device_right else [args.side or ""]
        radio = radio or Radio()
        emulators = []
        families = await choose_families(wanted, args.protocol, radio)
    for family in {family.name: family for family in families}.values():  # a loop over families
        # The nearest rate it offers, said where far from the one asked (52 is 50 Hz on some)
        asked = getattr(args, "rate_given", False)  # the default 52 is not asked for
        if asked and abs(family.rate_for(args.rate) - args.rate) > 0.1 * args.rate:
            offered = ", ".join(f"{rate:g}" for rate in family.rates_hz)
            say(
                f"sleepmove: {family.name} sensors offer {offered} Hz, not the {args.rate} "
                f"asked: recording at {family.rate_for(args.rate)} Hz",
                sys.stderr,
            )
    os.makedirs(args.out, exist_ok=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    extra = {
        "duration_planned_s": duration,
        "emulated": bool(models),
        "speed": radio.speed,
    }
    sensors = [Sensor(*described) for described in zip(wanted, sides, families)]
    tick = None
    if emulators:  # its truth.json as the night goes: a recording killed keeps its truth
        tick = truth_keeper(args.out, plan, scenario, seed, families, emulators)
    result = await run_sessions(
        args.out,
        sensors,
        radio,
        args.rate,
        duration,
        stop,
        extra,
        (lambda: script(emulators)) if script is not None else None,
        tick=tick,
    )
    result["emulators"] = emulators
    result["families"] = families
    # How far the wall clock moved from the recording's clock (NTP, or by hand).
    result["host_clock_stepped_s"] = getattr(radio.clock, "stepped_s", lambda: 0.0)()
    sessions = result["sessions"]
    start = night_start(sessions, families, emulators) if emulators else None
    if start is not None:
        try:
            write_truth(args.out, plan, scenario, seed, sessions, start)
        except OSError as error:
            result["problems"].append(f"truth.json: cannot write ({error.strerror or error})")
    return result


async def _adapter_ready() -> None:
    from bleak import BleakScanner

    await BleakScanner.discover(timeout=0.5)


def run_record_command(args: argparse.Namespace) -> int:
    """The record command: its exit status, its lines said. Interrupted (130), it leaves
    Ctrl-C ignored: the process is on its way out."""
    _last_night.clear()  # an earlier command's (tests run many in one process)
    with hangup_ignored():  # the night and its analysis
        return _run_record_command(args)


def _run_record_command(args: argparse.Namespace) -> int:
    from sleepmove.checks import check_destination as check_writable
    from sleepmove.checks import require_extra

    check_arguments(args)
    if args.emulate:  # before the folder is made: a missing extra leaves nothing behind
        require_extra("bumble", "emulator", "--emulate")
    check_destination(args.out)  # before the adapter is tried: a refusal costs nothing
    check_writable(args.out)
    if not args.emulate:
        try:  # no adapter, no BlueZ, no permission: say so now, not after a night of retries
            asyncio.run(_adapter_ready())
        except Exception as error:
            print(
                f"sleepmove: error: cannot use Bluetooth ({error}); expected a Bluetooth "
                "adapter (or try --emulate polar-verity)",
                file=sys.stderr,
            )
            return 2
    made = not os.path.exists(args.out)  # only then is the folder ours to remove
    night: dict = {}  # the night's result, kept before the loop closes; "analyzed" after
    _last_night[:] = [args, night]
    previous = {signum: signal.getsignal(signum) for signum in STOPPING}
    try:
        code = _record_and_analyze(args, night, made)
    except KeyboardInterrupt as stopped:  # cli's own line would say "nothing was written"
        # Ctrl-C stays ignored: the process is on its way out, and one more in the
        # interpreter's exit killed it by the signal (status -2, not the 130 returned).
        return _interrupted(args, night, made, isinstance(stopped, Terminated))
    for signum, handler in previous.items():  # `_interrupt_once` never fired: as they were
        signal.signal(signum, handler)
    return code


class Terminated(KeyboardInterrupt):
    """SIGTERM after the night (a service stopped, a shutdown), told as Ctrl-C is: it
    ended the analysis silently (status 143), the recording's command unsaid."""


STOPPING = (signal.SIGINT, signal.SIGTERM)  # the signals that stop a recording


async def _the_night(args: argparse.Namespace, night: dict) -> None:
    """The recording, its result kept in `night` the moment it ends: a Ctrl-C in
    asyncio.run's teardown (its loop closed, Python's own handler back) raised out of
    asyncio.run and lost it, and cli said "nothing was written" of a whole night. From
    here Ctrl-C raises once (`_interrupt_once`), where the loop's handler only stopped."""
    night["result"] = await record(args)
    for signum in STOPPING:
        asyncio.get_running_loop().remove_signal_handler(signum)
        signal.signal(signum, _interrupt_once)


def _interrupt_once(signum: int, _frame: object) -> None:
    """The first Ctrl-C (or SIGTERM) after the night: later ones ask the same, and one
    landing while the first is said, or in the interpreter's exit, killed the process by
    the signal."""
    for each in STOPPING:
        signal.signal(each, signal.SIG_IGN)
    raise Terminated if signum == signal.SIGTERM else KeyboardInterrupt


def _record_and_analyze(args: argparse.Namespace, night: dict, made: bool) -> int:
    try:
        asyncio.run(_the_night(args, night))
    except DiskFull as error:  # not even a CSV's header could be written
        _discard_empty(args.out, None, made)
        say(f"sleepmove: error: {error}; nothing was recorded", sys.stderr)
        return 1
    result = night["result"]
    files = result["files"]
    samples = sum(s.samples for s in result["stats"])
    stepped = result.get("host_clock_stepped_s", 0.0)
    if abs(stepped) > CLOCK_STEP_TOLD_S:
        say(_clock_stepped(stepped), sys.stderr)
    if not samples and not result["problems"]:  # its files only blocked the next try
        _discard_empty(args.out, files, made)  # (a full disk's are kept: they say what was lost)
    if result["problems"]:
        command = _analyze_command(files, args.out)
        if any(session.write_error for session in result["sessions"]) and not samples:
            told = f"nothing of the recording is kept in {args.out}/"
        elif any(session.write_error for session in result["sessions"]):
            told = (
                f"the recording stopped there, and the {samples} samples written are kept in "
                f"{args.out}/: free some space, then run '{command}'"
            )
        else:  # only recording.json or truth.json: the CSV took every sample
            told = (
                f"the recording itself is whole, {samples} samples in {args.out}/: run "
                f"'{command}' where it can write"
            )
        say(f"sleepmove: error: {'; '.join(dict.fromkeys(result['problems']))}; {told}", sys.stderr)
        return 1
    if not samples:
        say(f"sleepmove: error: nothing was recorded into {args.out}/", sys.stderr)
        return 1
    from sleepmove.pipeline import AnalyzeRequest, analyze

    inputs = {side: path for side, path in files.items()}
    try:
        aligned = not getattr(args, "no_clock_alignment", False)
        request = AnalyzeRequest(
            inputs, args.out, report=not args.no_report, clock_alignment=aligned
        )
        analysis = analyze(request)
    except InputError as error:
        alone = _one_leg_alone(error, result["sessions"], files, args.out)
        told = alone or f"{error}{_then_short(error, files, args.out)}"
        say(
            f"sleepmove: error: recorded {samples} samples into {args.out}/, but not "
            f"analyzed: {told}",
            sys.stderr,
        )
        return 1
    except OSError as error:  # the recording is whole; only the results could not be written
        say(
            f"sleepmove: error: recorded {samples} samples into {args.out}/, but the "
            f"analysis could not be written ({error.strerror or error}); run "
            f"'{_analyze_command(files, args.out)}' when there is room",
            sys.stderr,
        )
        return 1
    night["analyzed"] = True
    plm_index = analysis.summary["plm_index"]
    shown = "n/a" if plm_index is None else f"{plm_index:.1f}/h"
    say(f"recorded {samples} samples; PLM index {shown}; results in {args.out}/")
    return 0


_last_night: list = []  # [args, night] of the record command this process runs (on_disk)


def on_disk() -> str | None:
    """What the folder of the record command this process ran holds, as a Ctrl-C's line
    says it (cli's too, for one that lands after the command returned); None while it
    holds no sample."""
    if not _last_night:
        return None
    args, night = _last_night
    result = night.get("result")
    samples = sum(s.samples for s in result["stats"]) if result else 0
    if not samples:
        return None
    if night.get("analyzed"):
        return f"recorded {samples} samples and analyzed them; results in {args.out}/"
    command = _analyze_command(result["files"], args.out)
    return f"recorded {samples} samples into {args.out}/, not analyzed: run '{command}'"


def _interrupted(
    args: argparse.Namespace, night: dict, made: bool, terminated: bool = False
) -> int:
    """Ctrl-C's (or SIGTERM's) one line: what the folder holds and, once a sample is in
    it, the command that analyzes it (exit status 130, or 143)."""
    for signum in STOPPING:  # the line below is said whole
        signal.signal(signum, signal.SIG_IGN)
    told = on_disk()
    result = night.get("result")
    if told is None and result and result["problems"]:  # a full disk: its files are kept
        told = f"nothing was recorded into {args.out}/"
    elif told is None:  # stopped before the recording ended (or before its first sample)
        kept = _discard_empty(args.out, result["files"] if result else None, made)
        command = _analyze_command(kept, args.out) if kept else ""
        told = (
            f"the recording is kept in {args.out}/, not analyzed: run '{command}'"
            if kept
            else f"nothing was recorded into {args.out}/"
        )
    say(f"sleepmove: {'terminated' if terminated else 'interrupted'}; {told}", sys.stderr)
    return 143 if terminated else 130


CSV_HEADER = b"time,x,y,z\n"  # what CsvAppender writes first: a CSV holding only it is empty


def _discard_empty(out: str, files: dict[str, str] | None, made: bool) -> dict[str, str]:
    """Remove what a recording that got no sample made in `out` (its CSVs, header only,
    recording.json, truth.json, the space reserve, and the folder if it made it), so that
    the folder takes the next try: check_destination refused it for files that held
    nothing. `files`: the CSVs by side, when the recording told them (else the names it
    gives). Any CSV holding a sample keeps everything: returned by side, nothing removed.
    check_destination found none of these names there before: they are the recording's."""
    if files is None:
        names = {"": "night.csv", "left": "left.csv", "right": "right.csv"}
        files = {side: os.path.join(out, name) for side, name in names.items()}
    held = {}
    for side, path in files.items():  # a loop over sensors
        try:
            with open(path, "rb") as handle:
                head = handle.read(len(CSV_HEADER) + 1)
        except FileNotFoundError:
            continue
        except OSError:  # unreadable: it may hold samples, so nothing goes
            head = b"unknown"
        if not CSV_HEADER.startswith(head):  # a byte past the header: a sample, kept
            held[side] = path
    if held:
        return held
    others = ("recording.json", "truth.json", SpaceReserve.NAME)
    for path in [*files.values(), *(os.path.join(out, name) for name in others)]:
        try:
            os.remove(path)
        except OSError:  # not made (FileNotFoundError), or not ours to remove
            pass
    if made:
        try:
            os.rmdir(out)
        except OSError:  # something else was put in it since: left as it is
            pass
    return {}


def _clock_stepped(stepped_s: float) -> str:
    """The wall clock set during the night (a Raspberry Pi without a real-time clock starts
    with a stale one, then NTP sets it): the samples keep the clock as it was at the start
    (an NTP step mid-night moved no sample), so their times are off by the step if the
    clock was wrong then. recording.json's host_clock_stepped_s said so; nothing read it."""
    way = "forward" if stepped_s > 0 else "back"
    side = "behind" if stepped_s > 0 else "ahead of"
    return (
        f"sleepmove: warning: the system clock was set {way} by {span(abs(stepped_s))} during "
        f"the night (NTP, or by hand): the recording's times follow the clock as it was at "
        f"the start, {span(abs(stepped_s))} {side} the clock now"
    )


def _analyze_command(files: dict[str, str], out: str) -> str:
    if set(files) == {"left", "right"}:
        return f"sleepmove analyze --left {files['left']} --right {files['right']} --out {out}"
    side, path = next(iter(files.items()))
    return f"sleepmove analyze {path}{f' --side {side}' if side else ''} --out {out}"


def _one_leg_alone(
    error: InputError, sessions: list[SensorSession], files: dict[str, str], out: str
) -> str | None:
    """For two legs refused because one sensor recorded too little (it was lost early, or
    never found) while the other recorded enough: the refusal, and the command that analyzes
    that leg alone. The refusal's own way forward (--min-duration) analyzed only the minutes
    the two have in common, or nothing."""
    from sleepmove.pipeline import MIN_DURATION_S

    if set(files) != {"left", "right"}:
        return None
    recorded = {s.side: s.stats.samples / s.rate_hz for s in sessions}
    short = [side for side, seconds in recorded.items() if seconds < MIN_DURATION_S]
    if len(short) != 1 or files[short[0]] not in error.path:
        return None
    kept = "right" if short[0] == "left" else "left"
    command = _analyze_command({kept: files[kept]}, out)
    return (
        f"{error.path}: {error.problem}, and the {kept} leg holds "
        f"{recorded[kept] / 60:.1f} min: analyze it alone with '{command}'"
    )


def _then_short(error: InputError, files: dict[str, str], out: str) -> str:
    """For a refusal that points to --min-duration, which record does not take: the
    analyze command that does."""
    if "--min-duration" not in str(error):
        return ""
    command = f"{_analyze_command(files, out)} --min-duration MINUTES"
    return f" (record takes no --min-duration: run '{command}')"
