"""Leftovers of the stress tests: each test here failed before its fix."""

import pytest

from tests.test_cli_robustness import refused

# --- record: the emulated night's options without --emulate -----------------------------


@pytest.mark.parametrize(
    "options, wanted",
    [
        (["--speed", "50"], "--speed: is for emulated sensors, and no --emulate was given"),
        (["--scenario", "healthy"], "--scenario: is for emulated sensors"),
        (["--seed", "3"], "--seed: is for emulated sensors"),
        (["--scenario", "healthy", "--speed", "1"], "--scenario, --speed: are for emulated"),
    ],
)
def test_record_refuses_emulation_options_for_a_real_sensor(tmp_path, capsys, options, wanted):
    """They were ignored (the night recorded at real time from the sensor); refused before
    the adapter is tried (a refusal for want of Bluetooth would hide them) or --out made."""
    out = tmp_path / "r"
    argv = ["record", "--device", "Polar Sense 1", "--out", str(out), "--duration", "1m"]
    line = refused(capsys, [*argv, *options], wanted)
    assert "Bluetooth" not in line
    assert not out.exists()
