"""BLE through the real bleak API, over bumble's in-memory link, with emulated sensors."""

import asyncio

import numpy as np
import pytest

pytest.importorskip("bumble")

from bleak import BleakClient, BleakScanner  # noqa: E402

from sleepmove.sensor.ble.bumble_backend import BumbleClient, BumbleScanner, VirtualAir  # noqa: E402
from sleepmove.sensor.ble.emulated_polar import EmulatedPolar  # noqa: E402
from sleepmove.sensor.protocols import polar  # noqa: E402


def resting(first, count):
    return np.tile([0.0, 0.1, 0.99], (count, 1))


def run(coroutine):
    return asyncio.run(asyncio.wait_for(coroutine, 30))


def test_scan_connect_configure_and_stream_a_polar_sensor():
    async def scenario():
        air = VirtualAir()
        await air.start()
        sensor = EmulatedPolar(air, "E0:E1:E2:E3:E4:E5", resting, speed=20)
        await sensor.start()
        found = await BleakScanner.discover(timeout=1.0, backend=BumbleScanner, air=air)
        assert [(d.address, d.name) for d in found] == [(sensor.address, "Polar Sense EMU01")]
        replies, frames = [], []
        decoder = polar.PolarDecoder(rate_hz=52)
        async with BleakClient(sensor.address, backend=BumbleClient, air=air, timeout=5) as client:
            assert client.mtu_size >= polar.MIN_MTU
            features = bytes(await client.read_gatt_char(polar.CONTROL_POINT))
            assert features[1] & 0x04  # accelerometer
            await client.start_notify(polar.CONTROL_POINT, lambda _, d: replies.append(bytes(d)))
            await client.start_notify(polar.DATA, lambda _, d: frames.append(decoder.decode(d)))
            await client.write_gatt_char(
                polar.CONTROL_POINT, polar.start_command(52, 8, 16, 3), response=True
            )
            await client.write_gatt_char(
                polar.CONTROL_POINT, polar.start_command(52, 8, 16, 3), response=True
            )
            await asyncio.sleep(0.6)
            await client.write_gatt_char(polar.CONTROL_POINT, polar.STOP_COMMAND, response=True)
            await asyncio.sleep(0.1)
        return replies, frames, sensor

    replies, frames, sensor = run(scenario())
    meanings = [polar.parse_control(r).meaning for r in replies]
    assert meanings == ["success", "already in state", "success"]
    assert polar.parse_control(replies[0]).settings == {"factor": [1.0]}
    assert frames and all(not f.problems for f in frames)
    samples = np.vstack([f.xyz_g for f in frames])
    np.testing.assert_allclose(samples, resting(0, len(samples)), atol=0.0011)
    assert sensor.commands[0] == polar.start_command(52, 8, 16, 3)


def test_scan_lists_supported_sensors_with_their_protocol():
    from sleepmove.sensor.scan import protocol_of, scan

    async def scenario():
        air = VirtualAir()
        await air.start()
        sensor = EmulatedPolar(air, "E0:E1:E2:E3:E4:E7", resting)
        await sensor.start()
        return await scan(1.0, backend=BumbleScanner, air=air), sensor

    rows, sensor = run(scenario())
    assert [(r["name"], r["address"], r["protocol"]) for r in rows] == [
        ("Polar Sense EMU01", sensor.address, "polar")
    ]
    assert protocol_of("Movesense 123", []) == "movesense"
    assert protocol_of("InfiniTime", []) == "pinetime (coarse: about 10 Hz, on change)"
    assert protocol_of("Headphones", ["0000180f-0000-1000-8000-00805f9b34fb"]) is None


def test_scan_without_an_adapter_says_so(capsys):
    from sleepmove.cli import main

    code = main(["scan", "--seconds", "0.5"])
    if code == 0:
        pytest.skip("this machine has a Bluetooth adapter")
    assert code == 2 and "cannot scan for Bluetooth devices" in capsys.readouterr().err


def test_the_emulations_chatter_stays_off_the_terminal():
    """bumble's warnings (a notification after a subscriber left, as a link goes down on
    Ctrl-C) reached stderr through logging's last-resort handler, beside the recorder's."""
    import subprocess
    import sys

    script = (
        "import logging, sleepmove.sensor.ble.bumble_backend\n"
        "logging.getLogger('bumble.gatt_client').warning('!!! received notification with no "
        "subscriber')\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0 and done.stderr == ""
