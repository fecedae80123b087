"""Which sensors `record` uses, and over which radio.

Real sensors are found by name or address in a scan, and their family told from what they
advertise (`--protocol` overrides it). Emulated sensors (`--emulate`) play a simulated night
on bumble's in-memory link; the sessions reach both the same way (`Radio.connect`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from sleepmove.base.errors import InputError
from sleepmove.base.interrupt import unless_first
from sleepmove.sensor.recorder import HostClock
from sleepmove.sensor.registry import SensorFamily, emulated_models, family, family_of
from sleepmove.sensor.scan import advertised

if TYPE_CHECKING:
    from sleepmove.sensor.simulate_night import NightPlan

FIND_TIMEOUT_S = 10.0  # how long one scan for a sensor lasts before the next try
SCAN_TURN_S = 2.0  # how long a scan keeps the adapter while another sensor waits for it


class AdapterTurns:
    """One scan or connection at a time on the adapter: BlueZ answers a second one while
    the first is under way with org.bluez.Error.InProgress, and a connection is made by
    scanning for its peer. A scan gives way after SCAN_TURN_S to a sensor that waits for a
    turn: a second sensor out of range scanned for 10 s at a time, holding up the live
    sensor's reconnection as long (its samples lost meanwhile)."""

    def __init__(self) -> None:
        self._lock = asyncio.Lock()  # first come, first served
        self._waiting = 0
        self._asked = asyncio.Event()  # set while a sensor waits for a turn

    @asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        self._waiting += 1
        self._asked.set()
        try:
            await self._lock.acquire()
        finally:
            self._waiting -= 1
            if not self._waiting:
                self._asked.clear()
        try:
            yield
        finally:
            self._lock.release()

    async def asked(self) -> None:
        """Returns once a sensor waits for a turn."""
        await self._asked.wait()


class SimulatedClock:
    """Wall time that runs `speed` times faster, for emulated nights."""

    def __init__(self, start: float, speed: float) -> None:
        self.start, self.speed, self.origin = start, speed, time.monotonic()

    def __call__(self) -> float:
        return self.start + (time.monotonic() - self.origin) * self.speed


@dataclass
class Radio:
    """How sensors are reached: bleak's own backend (the adapter) unless told otherwise.

    `scanner` and `client` are extra keyword arguments for `BleakScanner` and `BleakClient`
    (bumble's backends and their in-memory link); `clock` and `speed` say how fast the night
    runs (emulated nights run faster than real time)."""

    scanner: dict = field(default_factory=dict)
    client: dict = field(default_factory=dict)
    clock: Callable[[], float] = field(default_factory=HostClock)
    speed: float = 1.0
    turns: AdapterTurns = field(default_factory=AdapterTurns)

    async def find(self, wanted: str, timeout: float = FIND_TIMEOUT_S) -> tuple[Any, Any] | None:
        """(device, advertisement) of the sensor whose address or advertised name is
        `wanted`, or None when none was seen within `timeout` of scanning, in turns of the
        adapter (`AdapterTurns`)."""
        async with self._finding(wanted, timeout) as found:
            return found

    @asynccontextmanager
    async def _finding(self, wanted: str, timeout: float) -> AsyncIterator[tuple[Any, Any] | None]:
        """`find`'s answer, with the adapter's turn in which the sensor was seen held while
        the body runs: its connection follows, no other sensor's scan between the two."""
        seen: dict = {}

        def match(device, advertisement) -> bool:
            if wanted.lower() == device.address.lower() or wanted in (
                device.name,
                advertisement.local_name,
            ):
                seen["advertisement"] = advertisement
                return True
            return False

        loop = asyncio.get_running_loop()
        left = timeout
        while left > 0:  # a loop over turns of the adapter
            async with self.turns.turn():
                began = loop.time()
                device = await self._scan_turn(match, left)
                if device is not None:
                    yield device, seen["advertisement"]
                    return
                left -= loop.time() - began
        yield None

    async def _scan_turn(self, match: Callable, left: float) -> Any:
        """The device `match` takes, scanning for up to `left` s, or None: not seen, or
        SCAN_TURN_S passed while another sensor waits for the adapter."""
        from bleak import BleakScanner

        loop = asyncio.get_running_loop()
        given_way = loop.time() + SCAN_TURN_S

        async def give_way() -> None:
            await asyncio.sleep(max(given_way - loop.time(), 0.0))
            await self.turns.asked()

        # The scan stops before the turn is given
        scan = BleakScanner.find_device_by_filter(match, timeout=left, **self.scanner)
        return await unless_first(scan, give_way())

    async def connect(self, wanted: str, on_lost: Callable) -> tuple[Any, Any]:
        """Find the sensor by address or name, then connect with bleak-retry-connector."""
        from bleak import BleakClient
        from bleak_retry_connector import establish_connection

        async with self._finding(wanted, FIND_TIMEOUT_S) as found:  # no scan while connecting
            if found is None:
                raise LookupError(f"{wanted} not found; still looking")
            device = found[0]
            return await establish_connection(
                BleakClient,
                device,
                device.name or wanted,
                disconnected_callback=on_lost,
                max_attempts=3,
                **self.client,
            )


async def choose_families(
    wanted: list[str], protocol: str | None, radio: Radio, timeout: float | None = None
) -> list[SensorFamily]:
    """Each wanted sensor's family: `--protocol` when given, else what its advertisement
    says (its services, then its name), else what the name given says. Refused in one line
    when none of these tells, before anything is written."""
    if protocol:
        return [family(protocol)] * len(wanted)
    timeout = FIND_TIMEOUT_S if timeout is None else timeout
    chosen = []
    for name in wanted:  # a loop over sensors
        found = await radio.find(name, timeout)
        described = family_of(*advertised(*found)) if found else None
        described = described or family_of(name, [])
        if described is None:
            seen = (
                f"advertises {advertised(*found)[0]!r} with services "
                f"{', '.join(advertised(*found)[1]) or 'none'}"
                if found
                else f"was not seen in {timeout:g} s"
            )
            raise InputError(
                f"--device {name}",
                f"{seen}, and its protocol cannot be told from that",
                expected="a sensor in range and advertising, or --protocol",
            )
        chosen.append(described)
    return chosen


def emulated_families(emulate: str) -> list[tuple[str, SensorFamily]]:
    """The `--emulate` models asked for (one, or two for two legs) and their families."""
    names = emulate.split(",")  # "polar-verity," is a second model left out, not one
    models = emulated_models()
    if len(names) > 2 or any(name not in models for name in names):
        raise InputError(
            "--emulate",
            f"cannot emulate {emulate!r}",
            expected=", ".join(models) + " (one, or two for two legs)",
        )
    return [(name, models[name][0]) for name in names]


async def emulate(
    models: list[tuple[str, SensorFamily]],
    sources: list[Callable[[int, int], np.ndarray]],
    rates_hz: list[int],
    speed: float,
) -> tuple[Radio, list]:
    """Emulated sensors advertising on a fresh in-memory link, and the radio to reach them."""
    from sleepmove.sensor.ble.bumble_backend import BumbleClient, BumbleScanner, VirtualAir

    air = VirtualAir()
    await air.start()
    emulators = []
    all_models = emulated_models()
    for index, ((name, _), source, rate_hz) in enumerate(zip(models, sources, rates_hz)):
        model = all_models[name][1]  # a loop over sensors
        address = f"E0:E1:E2:E3:E4:E{index}"
        emulator = model.build(air, address, source, rate_hz, speed, f"{model.advertised} {index}")
        await emulator.start()
        emulators.append(emulator)
    radio = Radio(
        scanner={"backend": BumbleScanner, "air": air},
        client={"backend": BumbleClient, "air": air},
        clock=SimulatedClock(time.time(), speed),
        speed=speed,
    )
    return radio, emulators


def simulated_night(
    scenario: str, hours: float, rate_hz: int | list[int], sides: list[str], seed: int
) -> tuple[list[Callable[[int, int], np.ndarray]], NightPlan]:
    """The simulator's night: one sample source per leg, and the plan (the truth); a rate
    for all legs, or one per leg (two sensor families)."""
    from sleepmove.sensor.simulate_night import plan_night
    from sleepmove.sensor.simulate_signal import draw_physics, leg_signal

    rng = np.random.default_rng(seed)
    plan = plan_night(scenario, hours, [s for s in sides if s], rng)
    rates = rate_hz if isinstance(rate_hz, list) else [rate_hz] * len(sides)
    sources = []
    for side, rate in zip(sides, rates):  # a loop over legs
        physics = draw_physics(rng, float(rate), scenario)
        _, xyz = leg_signal(plan, side, physics, 0.0, rng)
        sources.append(frames_of(xyz))
    return sources, plan


def frames_of(xyz: np.ndarray) -> Callable[[int, int], np.ndarray]:
    """A sample source: `count` samples from `first`, the last sample repeated past the end."""

    def source(first: int, count: int) -> np.ndarray:
        chunk = xyz[first : first + count]
        return chunk if len(chunk) == count else np.tile(xyz[-1], (count, 1))

    return source
