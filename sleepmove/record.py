"""`sleepmove record`: one or two sensors overnight, then the same analysis as `analyze`."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time

import numpy as np

from sleepmove.base.atomic import write_file
from sleepmove.base.errors import InputError
from sleepmove.live import LiveView, LiveWindow
from sleepmove.sensor.protocols import witmotion
from sleepmove.sensor.recorder import (
    CsvAppender,
    DiskFull,
    MetaMotionSession,
    MovesenseSession,
    PineTimeSession,
    PolarSession,
    SessionStats,
    SpaceReserve,
    WitMotionSession,
    iso_now,
    write_recording_json,
)

LIVE_EVERY_S = 30.0  # the live view re-runs the detector this often (real seconds)
EMULATED = {
    "polar-verity": "Polar Sense EMU",
    "polar-h10": "Polar H10 EMU",
    "witmotion": "WT901BLE EMU",
    "movesense": "Movesense EMU",
    "metamotion": "MetaWear EMU",
    "metamotion-bmi270": "MetaWear BMI270 EMU",
    "pinetime": "InfiniTime EMU",
}
SESSIONS = {
    "polar": (PolarSession, "polar-pmd"),
    "witmotion": (WitMotionSession, "witmotion"),
    "movesense": (MovesenseSession, "movesense"),
    "metamotion": (MetaMotionSession, "metamotion"),
    "pinetime": (PineTimeSession, "pinetime (coarse)"),
}
MOVESENSE_RATES = (13, 26, 52, 104, 208, 416, 833, 1666)
# What a recording leaves in its folder: a folder holding any of them is never written into.
RECORDING_FILES = ("night.csv", "left.csv", "right.csv", "recording.json", "truth.json")


def protocol_of_device(name: str) -> str:
    return name.split("-")[0]  # polar-verity -> polar, metamotion-bmi270 -> metamotion


def rate_for(protocol: str, wanted: int) -> int:
    """The nearest rate the device offers to what was asked."""
    if protocol == "witmotion":
        return min(witmotion.RATE_CODES, key=lambda rate: abs(rate - wanted))
    if protocol == "movesense":
        return min(MOVESENSE_RATES, key=lambda rate: abs(rate - wanted))
    if protocol == "metamotion":
        return 50  # the published start sequence sets 50 Hz
    if protocol == "pinetime":
        return 10  # at most about 10 Hz, notified on change
    return wanted


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


def parse_duration(text: str) -> float:
    """'9h', '30m', '45s' or seconds."""
    units = {"h": 3600, "m": 60, "s": 1}
    try:
        if text[-1] in units:
            return float(text[:-1]) * units[text[-1]]
        return float(text)
    except (ValueError, IndexError):
        problem = f"cannot read {text!r}"
    raise InputError("--duration", problem, expected="e.g. 9h, 30m, 600")


class SimulatedClock:
    """Wall time that runs `speed` times faster, for emulated nights."""

    def __init__(self, start: float, speed: float) -> None:
        self.start, self.speed, self.origin = start, speed, time.monotonic()

    def __call__(self) -> float:
        return self.start + (time.monotonic() - self.origin) * self.speed


def simulated_night(scenario: str, hours: float, rate_hz: int, sides: list[str], seed: int):
    """The simulator's night: one sample source per leg, and the plan (the truth)."""
    from sleepmove.sensor.simulate_night import plan_night
    from sleepmove.sensor.simulate_signal import draw_physics, leg_signal

    rng = np.random.default_rng(seed)
    plan = plan_night(scenario, hours, [s for s in sides if s], rng)
    sources = []
    for side in sides:
        physics = draw_physics(rng, float(rate_hz), scenario)
        _, xyz = leg_signal(plan, side, physics, 0.0, rng)
        sources.append(_frames_of(xyz))
    return sources, plan


def _frames_of(xyz: np.ndarray):
    def source(first: int, count: int) -> np.ndarray:
        chunk = xyz[first : first + count]
        return chunk if len(chunk) == count else np.tile(xyz[-1], (count, 1))

    return source


async def record(args, script=None) -> dict:
    """`script(emulators)`: a coroutine that misbehaves on purpose (tests)."""
    duration = parse_duration(args.duration)
    emulate = [d for d in (args.emulate or "").split(",") if d]
    unknown = [d for d in emulate if d not in EMULATED]
    if unknown or len(emulate) > 2:
        raise InputError(
            "--emulate",
            f"cannot emulate {args.emulate!r}",
            expected=", ".join(EMULATED) + " (one, or two for two legs)",
        )
    check_destination(args.out)
    os.makedirs(args.out, exist_ok=True)
    two = bool(args.device_right) or len(emulate) == 2
    sides = ["left", "right"] if two else [args.side or ""]
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    clock = time.time
    extra_kwargs: dict = {}
    emulators = []
    if args.emulate:
        from sleepmove.sensor.ble.bumble_backend import BumbleClient, BumbleScanner, VirtualAir
        from sleepmove.sensor.ble.emulated_others import (
            EmulatedMetaMotion,
            EmulatedMovesense,
            EmulatedPineTime,
        )
        from sleepmove.sensor.ble.emulated_polar import EmulatedPolar
        from sleepmove.sensor.ble.emulated_witmotion import EmulatedWitMotion

        OTHER_EMULATORS = {
            "movesense": EmulatedMovesense,
            "metamotion": EmulatedMetaMotion,
            "pinetime": EmulatedPineTime,
        }

        air = VirtualAir()
        await air.start()
        clock = SimulatedClock(time.time(), args.speed)
        protocols = [protocol_of_device(d) for d in emulate]
        rate = rate_for(protocols[0], args.rate)
        sources, plan = simulated_night(
            args.scenario, duration / 3600 + 0.1, rate, sides, args.seed
        )
        for index, source in enumerate(sources):
            address, name = f"E0:E1:E2:E3:E4:E{index}", f"{EMULATED[emulate[index]]} {index}"
            if protocols[index] == "witmotion":
                emulator = EmulatedWitMotion(air, address, source, args.speed, name=name)
            elif protocols[index] in OTHER_EMULATORS:
                options = {"chip": 4} if emulate[index] == "metamotion-bmi270" else {}
                emulator = OTHER_EMULATORS[protocols[index]](
                    air, address, source, args.speed, name, **options
                )
            else:
                emulator = EmulatedPolar(
                    air,
                    address,
                    source,
                    rate,
                    args.speed,
                    name=name,
                    frame_samples=70 if emulate[index] == "polar-verity" else 36,
                    burst_s=1.5 if emulate[index] == "polar-verity" else 0.0,
                )
            await emulator.start()
            emulators.append(emulator)
        addresses = [e.address for e in emulators]
        backend, scanner_backend = BumbleClient, BumbleScanner
        extra_kwargs = {"air": air}
    else:
        addresses = [args.device] + ([args.device_right] if args.device_right else [])
        backend = scanner_backend = None
        protocols = [args.protocol] * len(addresses)

    async def connect(address, on_lost):
        """Find the sensor by address or name, then connect with bleak-retry-connector."""
        from bleak import BleakClient, BleakScanner
        from bleak_retry_connector import establish_connection

        scanner_kwargs = {"backend": scanner_backend, **extra_kwargs} if backend else {}
        device = await BleakScanner.find_device_by_filter(
            lambda d, adv: address in (d.address, d.name, adv.local_name),
            timeout=10.0,
            **scanner_kwargs,
        )
        if device is None:
            raise LookupError(f"{address} not found; still looking")
        client_kwargs = {"backend": backend, **extra_kwargs} if backend else {}
        return await establish_connection(
            BleakClient,
            device,
            device.name or address,
            disconnected_callback=on_lost,
            max_attempts=3,
            **client_kwargs,
        )

    deadline = clock() + duration
    reserve = SpaceReserve(args.out)
    sessions, writers, stats = [], [], []
    connect_lock = asyncio.Lock()
    windows = {side: LiveWindow() for side in sides}
    for address, side, protocol in zip(addresses, sides, protocols):
        session_class, protocol_name = SESSIONS[protocol]
        writer = CsvAppender(os.path.join(args.out, f"{side or 'night'}.csv"))
        info = SessionStats(
            device=address,
            protocol=protocol_name,
            side=side,
            rate_hz=rate_for(protocol, args.rate),
            range_g=16 if protocol == "witmotion" else 8,
            start=iso_now(),
        )
        sessions.append(
            session_class(
                address, side, writer, info, connect, clock, connect_lock, windows[side].add
            )
        )
        if args.emulate:  # a scheduling hiccup of the emulator lasts `speed` times longer
            sessions[-1].reanchor_s = 2.0 * max(args.speed / 10, 1.0)
        writers.append(writer)
        stats.append(info)
    path = os.path.join(args.out, "recording.json")
    extra = {
        "duration_planned_s": duration,
        "emulated": bool(args.emulate),
        "speed": args.speed if args.emulate else 1.0,
    }
    tasks = [asyncio.create_task(s.run(stop, deadline)) for s in sessions]
    if script is not None:
        asyncio.create_task(script(emulators))
    view = LiveView(windows)
    live, last_live = None, time.monotonic()
    try:
        while not all(t.done() for t in tasks):
            await asyncio.sleep(1.0)
            every = max(LIVE_EVERY_S / (args.speed if args.emulate else 1.0), 1.0)
            if time.monotonic() - last_live >= every:
                live, last_live = view.update(), time.monotonic()
                if live:
                    extra["live"] = live
                if view.errors:
                    extra["live_errors"] = view.errors
            _status(stats, live)
            try:
                write_recording_json(path, stats, extra)
            except DiskFull:
                pass  # the CSV comes first; the last write below has the reserve
    finally:
        stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)
        for writer in writers:
            writer.close()
        reserve.release()  # room for the last recording.json even on a full disk
        problems = [s.write_error for s in sessions if s.write_error]
        try:
            write_recording_json(path, stats, extra)
        except DiskFull as error:
            problems.append(f"{error}; it describes the recording as it was before")
        sys.stderr.write("\n")
    if args.emulate and sessions[0].offset_s is not None:
        try:
            _write_truth(args, plan, sides, sessions, emulators)
        except OSError as error:
            problems.append(f"truth.json: cannot write ({error.strerror or error})")
    return {
        "files": {s.side: w.path for s, w in zip(stats, writers)},
        "stats": stats,
        "emulators": emulators,
        "problems": problems,  # one line each: writing failed (disk full)
    }


def _write_truth(args, plan, sides, sessions, emulators) -> None:
    """The emulated night's truth, on the recording's clock, for `sleepmove validate`."""
    import json

    from sleepmove.sensor.simulate import truth_record

    legs = sides if sides[0] else [""]
    files = {side or "single": f"{side or 'night'}.csv" for side in sides}
    sensors = {
        side or "single": {"start_offset_s": 0.0, "rate_hz": s.stats.rate_hz}
        for side, s in zip(sides, sessions)
    }
    gaps = {
        side or "single": [
            [a - sessions[0].offset_s, b - sessions[0].offset_s] for a, b in s.stats.gaps
        ]
        for side, s in zip(sides, sessions)
    }
    truth = truth_record(
        plan, legs, sessions[0].offset_s, files, sensors, gaps, args.scenario, args.seed
    )
    path = os.path.join(args.out, "truth.json")
    write_file(path, json.dumps(truth, indent=1))  # never half a truth.json


def _status(stats: list[SessionStats], live: dict | None) -> None:
    """One line a second: each sensor's state, and what the last minutes held."""
    parts = [
        f"{s.side or 'sensor'}: {s.state}, {s.samples} samples, "
        f"{s.data_loss_s:.1f} s lost, {s.reconnections} reconnections"
        for s in stats
    ]
    if live:
        parts.append(
            f"last {live['minutes']:.0f} min: {live['jerks_per_min']:.1f} jerks/min, "
            f"{live['lms']} LMs, PLM series {live['series_length']}"
        )
    line = " | ".join(parts)
    if sys.stderr.isatty():
        sys.stderr.write("\r" + line[:150].ljust(150))
    else:
        sys.stderr.write(line + "\n")
    sys.stderr.flush()


async def _adapter_ready() -> None:
    from bleak import BleakScanner

    await BleakScanner.discover(timeout=0.5)


def run_record_command(args) -> int:
    from sleepmove.checks import check_destination as check_writable
    from sleepmove.checks import require_extra

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
    try:
        result = asyncio.run(record(args))
    except DiskFull as error:  # not even a CSV's header could be written
        print(f"sleepmove: error: {error}; nothing was recorded", file=sys.stderr)
        return 1
    files = result["files"]
    samples = sum(s.samples for s in result["stats"])
    if result["problems"]:
        print(
            f"sleepmove: error: {result['problems'][0]}; the recording stopped there, and the "
            f"{samples} samples written are kept in {args.out}/: free some space, then run "
            f"'{_analyze_command(files, args.out)}'",
            file=sys.stderr,
        )
        return 1
    if not samples:
        print(f"sleepmove: error: nothing was recorded into {args.out}/", file=sys.stderr)
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
        print(
            f"sleepmove: error: recorded {samples} samples into {args.out}/, but not "
            f"analyzed: {error}",
            file=sys.stderr,
        )
        return 1
    except OSError as error:  # the recording is whole; only the results could not be written
        print(
            f"sleepmove: error: recorded {samples} samples into {args.out}/, but the "
            f"analysis could not be written ({error.strerror or error}); run "
            f"'{_analyze_command(files, args.out)}' when there is room",
            file=sys.stderr,
        )
        return 1
    plm_index = analysis.summary["plm_index"]
    shown = "n/a" if plm_index is None else f"{plm_index:.1f}/h"
    print(f"recorded {samples} samples; PLM index {shown}; results in {args.out}/")
    return 0


def _analyze_command(files: dict[str, str], out: str) -> str:
    if set(files) == {"left", "right"}:
        return f"sleepmove analyze --left {files['left']} --right {files['right']} --out {out}"
    side, path = next(iter(files.items()))
    return f"sleepmove analyze {path}{f' --side {side}' if side else ''} --out {out}"
