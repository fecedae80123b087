"""The limb family's sleep architecture: a hypnogram of 30 s epochs drawn per night.

Cycles of about 80-110 min run N1 -> N2 -> N3 -> N2 -> REM; slow-wave sleep is front-loaded
and fades by the third cycle, REM lengthens toward morning. Awakenings interrupt the night
(most under 3 min, some long), each followed by a little N1; the night ends in a final
awakening. Sleep latency is drawn per night (3 to 60 min).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

EPOCH_S = 30.0
STAGES = ("W", "N1", "N2", "N3", "REM")


@dataclass
class Hypnogram:
    """Stages per 30 s epoch, from the start of the night."""

    epochs: np.ndarray  # stage index into STAGES, one per epoch

    @property
    def night_s(self) -> float:
        return len(self.epochs) * EPOCH_S

    def segments(self) -> list[tuple[float, float, str]]:
        """[start_s, end_s, stage] runs."""
        change = np.flatnonzero(np.diff(self.epochs)) + 1
        starts = np.concatenate([[0], change])
        ends = np.concatenate([change, [len(self.epochs)]])
        return [
            (float(a * EPOCH_S), float(b * EPOCH_S), STAGES[int(self.epochs[a])])
            for a, b in zip(starts, ends)
        ]

    def stage_at(self, t: np.ndarray | float) -> np.ndarray:
        """Stage index at times `t` (seconds from the start)."""
        index = np.clip((np.asarray(t) // EPOCH_S).astype(int), 0, len(self.epochs) - 1)
        return self.epochs[index]

    def asleep(self) -> np.ndarray:
        return self.epochs > 0

    def onset_s(self) -> float:
        sleep = np.flatnonzero(self.asleep())
        return float(sleep[0] * EPOCH_S) if len(sleep) else self.night_s

    def offset_s(self) -> float:
        sleep = np.flatnonzero(self.asleep())
        return float((sleep[-1] + 1) * EPOCH_S) if len(sleep) else self.night_s

    def wake_bouts(self) -> list[tuple[float, float]]:
        """Wake between sleep onset and the final awakening."""
        onset, offset = self.onset_s(), self.offset_s()
        return [(a, b) for a, b, s in self.segments() if s == "W" and a > onset and b < offset]


def plan_hypnogram(
    rng: np.random.Generator,
    night_s: float,
    latency_median_min: float,
    awakenings_per_h: float,
    long_wake: bool,
) -> Hypnogram:
    """A night's hypnogram. `long_wake`: one mid-night awakening of 15-40 min (restless legs)."""
    total = max(int(night_s // EPOCH_S), 4)
    latency_min = float(np.clip(latency_median_min * np.exp(rng.normal(0, 0.5)), 3, 60))
    latency = max(1, min(int(latency_min * 2), int(total * 0.3)))
    final = max(1, min(int(rng.uniform(2, 20) * 2), int(total * 0.1)))
    span = total - latency - final
    sws = rng.uniform(0.4, 1.3)  # slow-wave sleep varies a lot between sleepers
    sleep: list[int] = []
    cycle = 0
    while len(sleep) < span:  # a loop over sleep cycles
        length = rng.normal(95, 10) if cycle else rng.uniform(70, 100)
        n1 = rng.uniform(1, 7) if cycle == 0 else rng.uniform(0.5, 3)
        n3 = max(0.0, sws * rng.normal(32, 8) * np.exp(-0.9 * cycle) - 2)
        rem = min(length * 0.45, rng.uniform(4, 12) + cycle * rng.uniform(5, 9))
        n2 = max(5.0, length - n1 - n3 - rem)
        split = rng.uniform(0.45, 0.75)
        for stage, minutes in ((1, n1), (2, n2 * split), (3, n3), (2, n2 * (1 - split)), (4, rem)):
            sleep += [stage] * int(round(minutes * 2))
        cycle += 1
    sleep_epochs = np.array(sleep[:span], dtype=int)
    # Awakenings, more often out of REM and late in the night; each returns through N1.
    count = rng.poisson(awakenings_per_h * span * EPOCH_S / 3600)
    lengths = [int(rng.choice([1, 2, 3, 4, 6])) for _ in range(count)]
    lengths = [n if rng.random() > 0.12 else int(rng.uniform(10, 40)) for n in lengths]
    long_one = long_wake and span > 60
    if long_one:
        lengths.append(int(rng.uniform(30, 80)))
    weights = np.linspace(0.7, 1.3, span) * np.where(sleep_epochs == 4, 2.0, 1.0)
    weights[: min(span, 20)] = 0.0  # not straight after falling asleep
    if weights.sum() > 0:
        for index, n in enumerate(lengths):  # a loop over awakenings
            n = min(n, max(1, span // 5))
            where = int(rng.choice(span, p=weights / weights.sum()))
            if long_one and index == len(lengths) - 1:
                where = int(rng.uniform(0.35, 0.6) * span)  # the restless-legs night's long one
            stop = min(where + n, span - 2)
            if stop <= where:
                continue
            sleep_epochs[where:stop] = 0
            back = min(stop + int(rng.integers(1, 5)), span - 1)
            sleep_epochs[stop:back] = np.where(sleep_epochs[stop:back] == 0, 0, 1)
    if span > 0:
        sleep_epochs[0] = max(sleep_epochs[0], 1)
        sleep_epochs[-1] = max(sleep_epochs[-1], 1)
    epochs = np.concatenate([np.zeros(latency, int), sleep_epochs, np.zeros(final, int)])
    return Hypnogram(epochs=epochs[:total])
