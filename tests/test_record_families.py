"""Every sensor family records through the path real hardware takes (issue 19.2): `record
--device NAME` scans, tells the family from the advertisement, connects by name, streams and
reconnects; only the radio differs (bumble's in-memory link instead of the adapter, and a
clock that runs faster). No `--emulate` shortcut: the emulated sensors are peripherals in
range, nothing more."""

import asyncio
import json
import time

import numpy as np
import pytest

pytest.importorskip("bumble")

from sleepmove.cli import build_parser, main  # noqa: E402
from sleepmove.record import record  # noqa: E402
from sleepmove.record_devices import Radio, SimulatedClock, simulated_night  # noqa: E402
from sleepmove.record_session import plan_start, write_truth  # noqa: E402
from sleepmove.sensor.readers import read_recording  # noqa: E402
from sleepmove.sensor.registry import emulated_models, family_names  # noqa: E402

SCENARIO = "plmd-moderate"
# How many times faster than real time each family's night plays. The emulated sensors that
# measure all the time (all but Polar, which measures while it streams) are also the host's
# clock: on a busy machine their night slows down instead of falling behind the host, which
# the recorder would rightly count as losses. PineTime and MetaMotion send a notification per
# sample or per three, which is what their hour costs.
# PineTime's night (this seed, at 10 Hz) lies in postures where 15 of its LMs tilt the shank
# under 1.5 degrees against gravity, which the detector once rejected as bed vibrations from a
# file too (0.857). Its recording is judged against the same samples written straight to a
# file: what the radio and the recorder cost, not what the detector makes of 10 Hz.
COARSE = {"pinetime"}
# The PineTime stamps its coarse samples on the host, on change: at 600 x a millisecond of a
# loaded machine's scheduling is 0.6 s of the night, which cost one LM in a CI run (F1 0.968).
# The emulators play in wall time: starved of CPU (the suite runs four workers on two cores)
# they fall behind and the hour ends before they have sent it. At 400-600 x six such tests
# side by side kept 0.45-0.92 of the hour, before this session's recorder changes as after;
# at 200-300 x all of it. PineTime plays at 150 x: at 300 x, a CI run with a busy neighbour
# process scored 0.953 (host stamps a starved scheduler spread); at 150 x 0.992 under the same.
SPEEDS = {"polar": 200, "witmotion": 300, "movesense": 300, "metamotion": 300, "pinetime": 150}


class SensorTime:
    """The host clock of a test night: the first emulated sensor's own time, from `start`."""

    def __init__(self, sensor, start: float) -> None:
        self.sensor, self.start = sensor, start

    def __call__(self) -> float:
        return self.start + self.sensor.played_s


async def in_range(air, model: str, address: str, name: str, hours: float, speed: float, seed=0):
    """An emulated sensor of `model` advertising `name`, playing a simulated night."""
    described, emulation = emulated_models()[model]
    rate = described.rate_for(52)
    sources, plan = simulated_night(SCENARIO, hours, rate, [""], seed)
    sensor = emulation.build(air, address, sources[0], rate, speed, name)
    await sensor.start()
    return sensor, plan


async def hardware_record(out, sensors, speed, duration, extra=(), script=None):
    """`sleepmove record --device NAME [...]` through a radio that reaches `sensors`."""
    from sleepmove.sensor.ble.bumble_backend import BumbleClient, BumbleScanner, VirtualAir

    air = VirtualAir()
    await air.start()
    started = [
        await in_range(air, model, f"E0:E1:E2:E3:E5:E{i}", name, duration / 3600 + 0.1, speed)
        for i, (model, name) in enumerate(sensors)
    ]
    radio = Radio(
        scanner={"backend": BumbleScanner, "air": air},
        client={"backend": BumbleClient, "air": air},
        speed=speed,
    )
    first = started[0][0]
    if hasattr(first, "played_s"):
        radio.clock = SensorTime(first, time.time())
    else:
        radio.clock = SimulatedClock(time.time(), speed)
    argv = ["record", "--device", sensors[0][1], "--out", str(out)]
    argv += ["--duration", f"{duration:g}", "--no-report", *extra]
    args = build_parser().parse_args(argv)
    emulators = [sensor for sensor, _ in started]
    result = await record(args, (lambda _: script(emulators)) if script else None, radio)
    return result, started


def lm_f1(out, tmp_path) -> float:
    """Analyze the recording, then score it against its truth, as a user would."""
    analysis, validation = tmp_path / "analysis", tmp_path / "validation"
    assert main(["analyze", str(out / "night.csv"), "--out", str(analysis), "--no-report"]) == 0
    argv = ["validate", str(analysis), "--reference", str(out / "truth.json")]
    assert main([*argv, "--out", str(validation)]) == 0
    return json.loads((validation / "validation.json").read_text())["pooled"]["lm"]["f1"]


@pytest.mark.parametrize("name", family_names())
def test_an_emulated_hour_per_family_through_the_hardware_path(tmp_path, name, capsys):
    """One hour, found by its advertised name among sensors of another family, its protocol
    told from the advertisement; the recording then scores LM F1 >= 0.95 against its truth."""
    out = tmp_path / "night"
    own = emulated_models()[name][1].advertised + " 7"
    other = "pinetime" if name == "polar" else "polar"  # a neighbour of another family
    decoy = emulated_models()[other][1].advertised + " 8"
    speed = SPEEDS[name]

    async def scenario():
        result, started = await hardware_record(out, [(name, own), (other, decoy)], speed, 3600.0)
        (sensor, plan), (neighbour, _) = started
        [session] = result["sessions"]
        start = plan_start(session, result["families"][0], sensor)
        write_truth(str(out), plan, SCENARIO, 0, result["sessions"], start)
        return result, neighbour

    result, neighbour = asyncio.run(asyncio.wait_for(scenario(), 120))
    [stats] = result["stats"]
    described = emulated_models()[name][0]
    print(
        f"{name}: {stats.samples / (3600 * stats.rate_hz):.3f} of the hour kept, "
        f"{stats.data_loss_s:.0f} s lost, {len(stats.gaps)} gaps, {stats.reconnections} reconn"
    )
    assert result["families"] == [described] and stats.protocol == described.label
    assert stats.device == own and not neighbour.device.connections
    assert stats.bad_frames == 0 and stats.samples > 0.95 * 3600 * stats.rate_hz
    assert len(read_recording(str(out / "night.csv")).time_s) == stats.samples
    f1 = lm_f1(out, tmp_path)
    print(f"{name}: LM F1 {f1:.3f} at {speed}x")
    if name in COARSE:
        # The same samples written straight to a file score 1.0 now (the recording 0.99-1.0):
        # the vibration rules reject 1 burst, not 15. A CI run scored 0.867: the truth was laid
        # from a first frame the loaded host took 1 s (of the night) late (recorder.anchor_s).
        assert f1 >= direct_f1(tmp_path, stats.rate_hz) - 0.02
    else:
        assert f1 >= 0.95


def direct_f1(tmp_path, rate_hz: int) -> float:
    """LM F1 of the same simulated hour written straight to a CSV, with no radio between."""
    import numpy as np

    from sleepmove.sensor.simulate import truth_record

    folder = tmp_path / "direct"
    folder.mkdir()
    sources, plan = simulated_night(SCENARIO, 1.1, rate_hz, [""], 0)
    count = 3600 * rate_hz
    times = 1.7e9 + np.arange(count) / rate_hz
    rows = np.column_stack([times, sources[0](0, count)])
    header = "time,x,y,z"
    np.savetxt(folder / "night.csv", rows, fmt="%.5f", delimiter=",", header=header, comments="")
    sensors = {"single": {"start_offset_s": 0.0, "rate_hz": rate_hz}}
    truth = truth_record(
        plan, [""], 1.7e9, {"single": "night.csv"}, sensors, {"single": []}, SCENARIO, 0
    )
    (folder / "truth.json").write_text(json.dumps(truth))
    return lm_f1(folder, folder)


def test_two_legs_of_two_families_are_told_apart_by_their_services(tmp_path):
    """Names that say nothing ('Left ankle'): the advertised services tell the family."""
    out = tmp_path / "two"
    sensors = [("metamotion", "Left ankle"), ("movesense", "Right ankle")]

    async def scenario():
        result, _ = await hardware_record(
            out, sensors, 60, 120.0, ["--device-right", "Right ankle"]
        )
        return result

    result = asyncio.run(asyncio.wait_for(scenario(), 60))
    left, right = result["stats"]
    assert (left.side, left.protocol, left.device) == ("left", "metamotion", "Left ankle")
    assert (right.side, right.protocol, right.rate_hz) == ("right", "movesense", 52)
    assert left.samples > 0.8 * 120 * 50 and right.samples > 0.8 * 120 * 52


def test_protocol_overrides_what_the_scan_sees_and_a_silent_unknown_is_refused(
    tmp_path, monkeypatch
):
    import sleepmove.record_devices

    monkeypatch.setattr(sleepmove.record_devices, "FIND_TIMEOUT_S", 0.5)

    async def scenario():
        from sleepmove.sensor.ble.bumble_backend import BumbleClient, BumbleScanner, VirtualAir

        air = VirtualAir()
        await air.start()
        radio = Radio({"backend": BumbleScanner, "air": air}, {"backend": BumbleClient, "air": air})
        args = build_parser().parse_args(
            ["record", "--device", "Bedside 1", "--out", str(tmp_path / "x"), "--duration", "1m"]
        )
        from sleepmove.record_devices import choose_families

        told = await choose_families(["Bedside 1"], "witmotion", radio, timeout=0.3)
        try:
            await record(args, radio=radio)
        except Exception as error:  # noqa: BLE001 - the test looks at what it is
            return told, error
        return told, None

    told, error = asyncio.run(asyncio.wait_for(scenario(), 60))
    assert [f.name for f in told] == ["witmotion"]
    from sleepmove.base.errors import InputError

    assert isinstance(error, InputError)
    assert "Bedside 1" in str(error) and "--protocol" in str(error)
    assert not (tmp_path / "x").exists()  # refused before anything was written


@pytest.mark.parametrize(
    "model, rate, battery",
    [
        ("polar", 52, 93),
        ("witmotion", 50, None),  # WitMotion has no battery service
        ("movesense", 52, 87),
        ("metamotion", 50, 87),
        ("metamotion-bmi270", 50, 87),
        ("pinetime", 10, 87),
    ],
)
def test_a_sensor_found_by_name_comes_back_after_a_drop(tmp_path, model, rate, battery):
    """The hardware path reconnects: scan again, connect by name, configure again."""
    from tests.test_record import streaming

    out = tmp_path / model
    name = emulated_models()[model][1].advertised + " 3"

    async def drop(emulators):
        await streaming(emulators[0], settle=1.0)
        await emulators[0].drop_link()

    async def scenario():
        result, started = await hardware_record(out, [(model, name)], 40.0, 240.0, script=drop)
        return result, started[0][0]

    result, sensor = asyncio.run(asyncio.wait_for(scenario(), 120))
    [stats] = result["stats"]
    assert stats.rate_hz == rate and stats.reconnections >= 1
    if model.startswith("metamotion"):  # the chip was asked, and its packed register used
        chip = 4 if model.endswith("bmi270") else 1
        assert bytes([3, 0x05 if chip == 4 else 0x1C, 1]) in sensor.commands
    assert stats.battery_percent == battery and stats.bad_frames == 0
    recorded = read_recording(str(out / "night.csv"))
    span = (recorded.time_s[-1] - recorded.time_s[0]) * rate + 1
    assert stats.samples + stats.data_loss_s * rate == pytest.approx(span, rel=0.02)
    assert stats.samples > 0.6 * 4 * 60 * rate


def test_two_families_on_two_legs_each_play_the_night_at_their_own_rate():
    """Movesense (52 Hz) and MetaMotion (50 Hz) on two legs: one 52 Hz night played at 50 Hz
    ran 4 % slow (96 s apart after 40 minutes; LM F1 0.64 against the truth, 0.99 now)."""
    sources, _ = simulated_night(SCENARIO, 0.1, [52, 50], ["left", "right"], 0)
    night_s = 0.1 * 3600
    for source, rate in zip(sources, (52, 50)):  # the last second of the night is movement
        last = source(int(night_s * rate) - rate, rate)
        assert len(last) == rate and np.ptp(last, axis=0).max() > 0  # not the end's repeat
        past = source(int(night_s * rate) + 1, 4)
        assert np.ptp(past, axis=0).max() == 0  # past the end: the last sample repeated
