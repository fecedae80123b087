"""A device's own clock for the simulators: an offset, a crystal's drift and a reset's step.

Both families stamp samples on one host clock by default (both legs agree). With a
`ClockError` a sensor writes its stamps on its own clock instead; truth stays in true time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MAX_OFFSET_S = 5.0
MAX_DRIFT_PPM = 100.0


@dataclass(frozen=True)
class ClockError:
    offset_s: float = 0.0  # the device's clock minus true time at the night's start
    drift_ppm: float = 0.0  # how much faster it runs than true time
    step_at_s: float | None = None  # true time (s from the night's start) of a reset
    step_s: float = 0.0  # how far its clock jumps there (after the drift so far)
    lost_s: float = 0.0  # samples the reset loses, from step_at_s on

    def stamps(self, host_s: np.ndarray, true_s: np.ndarray | None = None) -> np.ndarray:
        """The device's stamps of samples the host would stamp `host_s` (s from the night's
        start); the reset falls by their true times `true_s` (default: `host_s`)."""
        host_s = np.asarray(host_s, dtype=np.float64)
        out = self.offset_s + host_s * (1 + self.drift_ppm * 1e-6)
        if self.step_at_s is not None:
            out[(host_s if true_s is None else true_s) >= self.step_at_s] += self.step_s
        return out

    def kept(self, true_s: np.ndarray) -> np.ndarray:
        """Which samples survive the reset."""
        if self.step_at_s is None or self.lost_s <= 0:
            return np.ones(len(true_s), dtype=bool)
        return (true_s < self.step_at_s) | (true_s >= self.step_at_s + self.lost_s)

    def lost_span(self) -> list[float] | None:
        """The reset's loss in true time, as a data gap of truth.json."""
        if self.step_at_s is None or self.lost_s <= 0:
            return None
        return [round(self.step_at_s, 3), round(self.step_at_s + self.lost_s, 3)]

    def truth(self) -> dict:
        return {
            "offset_s": round(self.offset_s, 6),
            "drift_ppm": round(self.drift_ppm, 4),
            "step_at_s": None if self.step_at_s is None else round(self.step_at_s, 3),
            "step_s": round(self.step_s, 6),
            "lost_s": round(self.lost_s, 3),
        }


def draw_clock_errors(
    seed: int, sides: list[str], hours: float, step: bool = False, reference_too: bool = False
) -> dict[str, ClockError]:
    """Independent clocks for the sensors (all but the first unless `reference_too`): offsets
    up to ±5 s, drift up to ±100 ppm and, with `step`, one reset somewhere in the middle of
    the night (a jump of 1.5-5 s either way, 2-20 s of samples lost). Drawn from their own
    generator: the night itself comes out as without them."""
    rng = np.random.default_rng([seed, 0xC10C])
    errors = {}
    for index, side in enumerate(sides or [""]):  # a loop over sensors
        if index == 0 and not reference_too:
            continue
        offset = float(rng.uniform(-MAX_OFFSET_S, MAX_OFFSET_S))
        drift = float(rng.uniform(-MAX_DRIFT_PPM, MAX_DRIFT_PPM))
        at, jump, lost = None, 0.0, 0.0
        if step:
            at = float(rng.uniform(0.3, 0.7) * hours * 3600)
            jump = float(rng.uniform(1.5, 5.0) * rng.choice([-1, 1]))
            lost = float(rng.uniform(2, 20))
        errors[side] = ClockError(offset, drift, at, jump, lost)
    return errors
