"""The simulator families and their nights, as the benchmarks use them."""

from __future__ import annotations

import os

from sleepmove.sensor.simulate import family_scenarios, simulate_family

FAMILIES = {family: list(scenarios) for family, scenarios in family_scenarios().items()}


def simulate_night(
    family: str, out_dir: str, hours: float, seed: int, scenario: str, rate_hz: float = 50.0
) -> tuple[dict, dict[str, str]]:
    """Simulate one night; returns its truth and the analysis inputs (side -> path)."""
    truth = simulate_family(
        family, out_dir, hours=hours, rate_hz=rate_hz, seed=seed, scenario=scenario
    )
    inputs = {
        side if side != "single" else "": os.path.join(out_dir, name)
        for side, name in truth["files"].items()
    }
    return truth, inputs
