"""The "stages" night family: a hypnogram, then movements drawn per stage and per wake state.

Built from sleep physiology, independently of the first simulator family: 30-s epochs in
~90-min NREM/REM cycles (N3 early, REM late), a sleep latency, wake bouts, a final awakening;
wake carries irregular fidgeting, long still stretches or (restless legs) periodic movements;
sleep carries posture changes near stage transitions, isolated LMs, PLM series, hypnic jerks
and brief twitches. This module only says *what* happens and *when*; the physics that turns
it into samples lives in `sensor.simulate_stages_signal`.
"""

from __future__ import annotations

import bisect
import zlib
from dataclasses import dataclass, field

import numpy as np

EPOCH_S = 30.0
MARGIN_S = 1.5  # rest kept between two events on one leg, so the truth is unambiguous
SLEEP_STAGES = ("N1", "N2", "N3", "R")
POSTURES = ("supine", "left", "right", "prone", "semi-left", "semi-right")
SERIES_KINDS = ("lm", "movement", "hft", "alma")


@dataclass(frozen=True)
class Profile:
    """What one scenario's nights look like; ranges are drawn per seed."""

    description: str
    plms_index: tuple[float, float] = (0.0, 0.0)  # PLMs in series per hour of sleep
    plm_stage_weight: tuple[float, float, float, float] = (1.0, 1.0, 0.1, 0.05)  # N1 N2 N3 R
    latency_min: tuple[float, float] = (8.0, 25.0)
    waso_per_8h: tuple[int, int] = (3, 7)
    waso_min: tuple[float, float] = (1.0, 8.0)
    fidget_per_min: tuple[float, float] = (0.2, 0.9)  # Poisson rate of wake fidgets
    wake_posture_per_min: tuple[float, float] = (0.06, 0.2)
    isolated_lm_per_h: tuple[float, float] = (2.0, 6.0)  # in N1/N2; fewer in N3 and REM
    rem_twitch_per_min: tuple[float, float] = (0.1, 0.6)
    noise_mg: tuple[float, float] = (1.5, 5.0)
    sides: tuple[str, ...] = ()
    rls_train: bool = False
    still_wake: bool = False
    myoclonus: bool = False
    hft_trains: tuple[int, int] = (0, 1)
    alma_trains: tuple[int, int] = (0, 0)
    vibrations_per_h: tuple[float, float] = (0.0, 0.0)
    disconnects_per_8h: tuple[int, int] = (0, 2)
    losses_per_h: tuple[float, float] = (0.5, 4.0)
    rate_hz: float | None = None
    units: str | None = None  # "g" or "m/s2"; None: drawn
    time_format: str | None = None  # see simulate_stages_signal.TIME_FORMATS; None: drawn
    placement: str = "ankle"  # "wrist": the sensor is on a forearm (see wrist_view)
    hand_moves_per_h: tuple[float, float] = (2.0, 6.0)  # a wrist's own movements in sleep
    arm_joins: tuple[float, float] = (0.2, 0.5)  # share of leg PLM series the arm joins


PROFILES: dict[str, Profile] = {
    "plmd-moderate": Profile(
        "one ankle, PLMS index 15-25/h mostly in N1/N2, few in REM, realistic wake",
        plms_index=(14.0, 23.0),
    ),
    "plmd-severe": Profile(
        "one ankle, PLMS index 40-70/h in long series through N1/N2",
        plms_index=(40.0, 70.0),
        plm_stage_weight=(1.0, 1.0, 0.15, 0.06),
    ),
    "healthy-restless": Profile(
        "healthy sleeper without PLMs; wake and latency full of irregular fidgeting (1-4/min)",
        latency_min=(15.0, 40.0),
        waso_per_8h=(4, 8),
        waso_min=(2.0, 12.0),
        fidget_per_min=(1.0, 4.0),
        wake_posture_per_min=(0.1, 0.3),
        isolated_lm_per_h=(1.0, 4.0),
    ),
    "myoclonus": Profile(
        "clusters of brief small twitches (30-70 mg, 5-10/min for 15-35 min) in NREM; PLMS < 5/h",
        plms_index=(0.0, 4.0),
        noise_mg=(2.0, 3.0),
        myoclonus=True,
    ),
    "two-legs": Profile(
        "two ankles, PLM series alternating between legs and bilateral; ALMA trains",
        plms_index=(15.0, 40.0),
        sides=("left", "right"),
        alma_trains=(1, 4),
    ),
    "lossy": Profile(
        "25 Hz, m/s^2, ISO times, many packet losses and several disconnections; moderate PLMs",
        plms_index=(12.0, 30.0),
        disconnects_per_8h=(4, 8),
        losses_per_h=(40.0, 120.0),
        rate_hz=25.0,
        units="m/s2",
        time_format="iso",
    ),
    "noisy": Profile(
        "noise SD 8-15 mg, bed partner shaking the bed, foot tremor trains near sleep onset",
        plms_index=(12.0, 30.0),
        noise_mg=(8.0, 15.0),
        hft_trains=(2, 4),
        vibrations_per_h=(3.0, 10.0),
    ),
    "rls": Profile(
        "restless legs: periodic leg movements while awake before sleep and in wake bouts; "
        "low PLMS index",
        plms_index=(2.0, 6.0),
        waso_per_8h=(3, 6),
        waso_min=(4.0, 20.0),
        rls_train=True,
    ),
    "still-wake": Profile(
        "insomnia: long still wake (20-90 min) in the sleep latency and mid-night; moderate PLMs",
        plms_index=(12.0, 25.0),
        latency_min=(20.0, 90.0),
        fidget_per_min=(0.02, 0.1),
        wake_posture_per_min=(0.01, 0.04),
        still_wake=True,
    ),
    "wrist-plmd": Profile(
        "one wrist: leg PLMS index 14-30/h; the arm joins a fifth to a half of the series as "
        "smaller flexions, the rest reach the wrist as faint body jolts; arm repositioning, "
        "hand movements, a partner's arm shaking the mattress",
        plms_index=(14.0, 30.0),
        fidget_per_min=(0.4, 1.5),
        vibrations_per_h=(1.5, 4.0),
        hft_trains=(0, 0),  # foot tremor does not reach a wrist
        placement="wrist",
    ),
    "wrist-healthy": Profile(
        "one wrist, no PLMs: hand and forearm movements, arm repositioning, busy hands awake, "
        "a partner's arm shaking the mattress",
        fidget_per_min=(0.4, 1.5),
        vibrations_per_h=(1.5, 4.0),
        hft_trains=(0, 0),  # foot tremor does not reach a wrist
        placement="wrist",
    ),
}


@dataclass
class Night:
    hours: float
    legs: list[str]  # "" for one unnamed sensor
    hypnogram: list[list]  # [start_s, end_s, stage]
    events: list[dict] = field(default_factory=list)  # with private keys "_legs", "_spec"
    posture0: str = "supine"
    noise_mg: float | None = None  # set where the scenario ties event sizes to the noise
    leg_events: list[dict] = field(default_factory=list)  # a wrist night: what the legs did

    @property
    def onset_s(self) -> float:
        return next(a for a, _, s in self.hypnogram if s != "W")

    @property
    def offset_s(self) -> float:
        return next(b for _, b, s in reversed(self.hypnogram) if s != "W")

    def wake_bouts(self) -> list[list[float]]:
        on, off = self.onset_s, self.offset_s
        return [[a, b] for a, b, s in self.hypnogram if s == "W" and a >= on and b <= off]


# --- hypnogram ------------------------------------------------------------------------------


def _epochs(seconds: float) -> int:
    return max(1, int(round(seconds / EPOCH_S)))


def build_hypnogram(rng: np.random.Generator, hours: float, p: Profile) -> tuple[list, dict]:
    """30-s epoch stages for the night; also the planned wake structure (latency, trains)."""
    night = hours * 3600.0
    plan: dict = {}
    if p.rls_train:
        pre = rng.uniform(3, 8) * 60
        train = rng.uniform(20, 60) * 60
        post = rng.uniform(2, 8) * 60
        room = 0.55 * night - pre - post
        train = float(np.clip(train, min(20 * 60, room), max(room, 60.0)))
        plan["rls_train"] = (pre, pre + train)
        latency = pre + train + post
    else:
        latency = rng.uniform(*p.latency_min) * 60
    latency = min(latency, 0.55 * night)
    final_wake = min(rng.uniform(3, 20) * 60, 0.08 * night)
    sleep_epochs = _epochs(night - final_wake) - _epochs(latency)
    stages: list[tuple[str, int]] = [("W", _epochs(latency))]
    waso_p = float(np.mean(p.waso_per_8h)) / 5.0  # a cycle ends in a wake bout this often
    long_wake_cycles = set()
    if p.still_wake:
        long_wake_cycles = set(rng.choice([0, 1, 2], size=int(rng.integers(1, 3)), replace=False))
    cycle, total = 0, 0
    while total < sleep_epochs:  # a loop over sleep cycles
        n3 = rng.uniform(15, 40) * max(0.0, 1.0 - 0.35 * cycle) * 60
        rem = min(40.0, rng.uniform(5, 12) + cycle * rng.uniform(4, 9)) * 60
        n1 = rng.uniform(2, 7) * 60
        length = rng.uniform(80, 110) * 60
        n2 = max(10 * 60, length - n1 - n3 - rem)
        split = rng.uniform(0.4, 0.8)
        parts = [("N1", n1), ("N2", n2 * split), ("N3", n3), ("N2", n2 * (1 - split)), ("R", rem)]
        if cycle > 0 and rng.random() < 0.5:  # later cycles often skip N1 after REM
            parts = parts[1:]
        for stage, seconds in parts:  # a loop over stage periods
            if seconds < EPOCH_S:
                continue
            if stage == "N2" and rng.random() < waso_p * 0.5:  # a brief arousal to wake
                cut = rng.uniform(0.3, 0.7)
                stages += [("N2", _epochs(seconds * cut)), ("W", _epochs(rng.uniform(0.5, 2) * 60))]
                stages.append(("N1", _epochs(rng.uniform(1, 3) * 60)))
                seconds *= 1 - cut
            stages.append((stage, _epochs(seconds)))
        if cycle in long_wake_cycles:
            stages.append(("W", _epochs(rng.uniform(20, 90) * 60)))
        elif rng.random() < waso_p:
            stages.append(("W", _epochs(rng.uniform(*p.waso_min) * 60)))
        total = sum(n for _, n in stages) - stages[0][1]
        cycle += 1
    hyp: list[list] = []
    t_epoch, limit = 0, _epochs(night - final_wake)
    for stage, n in stages:  # a loop over stage periods, cut at the final awakening
        n = min(n, limit - t_epoch)
        if n <= 0:
            break
        if hyp and hyp[-1][2] == stage:
            hyp[-1][1] += n * EPOCH_S
        else:
            hyp.append([t_epoch * EPOCH_S, (t_epoch + n) * EPOCH_S, stage])
        t_epoch += n
    if hyp[-1][2] == "W":
        hyp[-1][1] = night
    else:
        hyp.append([t_epoch * EPOCH_S, night, "W"])
    return hyp, plan


# --- event placement -------------------------------------------------------------------------


class Planner:
    """Per-leg occupancy, so events on one leg keep MARGIN_S of rest between them."""

    def __init__(self, legs: list[str], night_s: float) -> None:
        self.busy: dict[str, list[tuple[float, float]]] = {leg: [] for leg in legs}
        self.night_s = night_s
        self.protected: list[tuple[float, float]] = []  # PLM series spans: no extra LMs there

    def free(self, legs: list[str], a: float, b: float, margin: float = MARGIN_S) -> bool:
        if a < 1.0 or b > self.night_s - 1.0:
            return False
        for leg in legs:  # a loop over legs
            spans = self.busy[leg]
            i = bisect.bisect_left(spans, (a, b))
            for j in (i - 1, i):
                if 0 <= j < len(spans):
                    s, e = spans[j]
                    if s < b + margin and e > a - margin:
                        return False
        return True

    def unprotected(self, a: float, b: float) -> bool:
        return not any(s < b and e > a for s, e in self.protected)

    def take(self, legs: list[str], a: float, b: float) -> None:
        for leg in legs:
            bisect.insort(self.busy[leg], (a, b))


class Stages:
    """Stage at a time, and the spans of a set of stages."""

    def __init__(self, hyp: list[list]) -> None:
        self.hyp = hyp
        self.starts = np.array([h[0] for h in hyp])

    def at(self, t: float) -> str:
        return self.hyp[max(0, int(np.searchsorted(self.starts, t, side="right")) - 1)][2]

    def spans(self, stages: tuple[str, ...]) -> list[tuple[float, float]]:
        out: list[tuple[float, float]] = []
        for a, b, s in self.hyp:  # a loop over stage periods, merging neighbours
            if s in stages:
                if out and out[-1][1] == a:
                    out[-1] = (out[-1][0], b)
                else:
                    out.append((a, b))
        return out


def _event(onset: float, duration: float, kind: str, legs: list[str], spec: dict, **flags) -> dict:
    return {
        "onset_s": float(onset),
        "duration_s": float(duration),
        "kind": kind,
        "hypnic": bool(flags.get("hypnic", False)),
        "posture_change": bool(flags.get("posture_change", False)),
        "_legs": legs,
        "_spec": spec,
    }


def _lm_spec(rng: np.random.Generator, low: float, high: float, style: str = "lm") -> dict:
    # sizes are log-uniform: many small movements, some large
    return {"style": style, "deg": float(np.exp(rng.uniform(np.log(low), np.log(high))))}


def _lm_duration(rng: np.random.Generator, median: float = 2.0) -> float:
    # kept inside 0.8-9 s: the shaped rise and release must leave >= 0.5 s of clear activity
    return float(np.clip(rng.lognormal(np.log(median), 0.5), 0.8, 9.0))


class Builder:
    def __init__(self, rng: np.random.Generator, night: Night, profile: Profile, plan: dict):
        self.rng, self.night, self.p, self.plan = rng, night, profile, plan
        self.stages = Stages(night.hypnogram)
        self.planner = Planner(night.legs, night.hours * 3600.0)
        self.series_id = 0

    # helpers ----------------------------------------------------------------------------------

    def _legs_for(self, bilateral_p: float) -> list[str]:
        legs = self.night.legs
        if len(legs) >= 2 and self.rng.random() < bilateral_p:
            return list(legs)
        return [legs[int(self.rng.integers(len(legs)))]]

    def add(self, event: dict, margin: float = MARGIN_S) -> bool:
        a = event["onset_s"]
        b = a + event["duration_s"]
        in_series = "series" in event["_spec"]
        if (
            event["kind"] in SERIES_KINDS
            and not in_series
            and not self.planner.unprotected(a - 2, b + 2)
        ):
            return False  # a stray LM or movement inside a series would change its PLMs
        if event["kind"] != "vibration":
            if not self.planner.free(event["_legs"], a, b, margin):
                return False
            self.planner.take(event["_legs"], a, b)
        self.night.events.append(event)
        return True

    def add_near(self, event: dict, tolerance: float) -> bool:
        """Place at the wanted time or the nearest free time within the tolerance."""
        onset = event["onset_s"]
        for shift in np.concatenate([[0.0], np.repeat(np.arange(5.0, tolerance, 5.0), 2)]):
            sign = 1 if self.rng.random() < 0.5 else -1
            event["onset_s"] = onset + sign * shift
            b = event["onset_s"] + event["duration_s"]
            if self.planner.unprotected(event["onset_s"] - 2, b + 2) and self.add(event):
                return True
        return False

    # wake ------------------------------------------------------------------------------------

    def periodic_train(
        self, a: float, b: float, imi: tuple[float, float], group: str
    ) -> list[dict]:
        """Regular leg movements from a to b (restless legs while awake, PLMs in sleep)."""
        rng = self.rng
        mean = rng.uniform(*imi)
        cv = rng.uniform(0.08, 0.25)
        pattern = rng.choice(["one", "alternate", "bilateral", "mixed"])
        size = (5.0, 35.0) if group == "rls" else (4.0, 30.0)
        median_d = rng.uniform(1.2, 3.5)
        self.series_id += 1
        onsets: list[float] = []
        t = a + rng.uniform(0, 5)
        while t < b:  # a loop over the train's movements
            onsets.append(t)
            t += float(np.clip(mean * (1 + cv * rng.standard_normal()), 10.5, 88.0))
        placed: list[dict] = []
        for k, onset in enumerate(onsets):
            legs = self.night.legs
            if len(legs) >= 2:
                legs = {
                    "one": [legs[self.series_id % 2]],
                    "alternate": [legs[k % 2]],
                    "bilateral": list(legs),
                    "mixed": self._legs_for(0.3),
                }[pattern]
            spec = _lm_spec(rng, *size)
            spec["group"], spec["series"] = group, self.series_id
            event = _event(onset, _lm_duration(rng, median_d), "lm", legs, spec)
            if onset + event["duration_s"] > b or not self.add(event):
                break  # a blocked slot ends the series: the truth keeps only clean runs
            placed.append(event)
        if placed:  # the 95 s keep stray LMs from lengthening the series at either end
            self.planner.protected.append((placed[0]["onset_s"] - 95, placed[-1]["onset_s"] + 95))
        return placed

    def fidget(self, t: float, size_scale: float = 1.0) -> None:
        """One wake movement: toe wiggle, leg shift, scratching, kick, big shift or turning."""
        rng = self.rng
        kind_p = [0.3, 0.25, 0.15, 0.1, 0.12, 0.08]
        what = rng.choice(["wiggle", "shift", "scratch", "kick", "big", "turn"], p=kind_p)
        legs = self._legs_for(0.25 if what in ("big", "turn") else 0.1)
        if what == "wiggle":
            event = _event(t, _lm_duration(rng, 1.2), "lm", legs, _lm_spec(rng, 3, 8, "fidget"))
        elif what == "shift":
            spec = _lm_spec(rng, 8, 35 * size_scale, "fidget")
            event = _event(t, _lm_duration(rng, 3.0), "lm", legs, spec)
        elif what == "scratch":
            spec = _lm_spec(rng, 3, 10, "scratch")
            spec["hz"] = float(rng.uniform(2.5, 6.0))
            event = _event(t, float(rng.uniform(2.0, 9.0)), "lm", legs, spec)
        elif what == "kick":
            spec = {"style": "jerk", "g": float(rng.uniform(0.1, 0.6)), "deg": rng.uniform(1, 5)}
            event = _event(t, float(rng.uniform(0.1, 0.4)), "jerk", legs, spec)
        else:
            turn = what == "turn" or rng.random() < 0.4
            spec = _lm_spec(rng, 10, 45, "posture" if turn else "big")
            spec["posture"] = str(rng.choice(POSTURES))
            event = _event(
                t, float(rng.uniform(10.5, 40.0)), "movement", legs, spec, posture_change=turn
            )
        self.add(event)

    def wake(self, a: float, b: float, rate_per_min: float) -> None:
        rng = self.rng
        t = a + rng.exponential(60.0 / rate_per_min)
        while t < b - 12:  # a loop over Poisson fidgets
            self.fidget(t)
            t += rng.exponential(60.0 / rate_per_min)
        posture_rate = rng.uniform(*self.p.wake_posture_per_min)
        t = a + rng.exponential(60.0 / posture_rate)
        while t < b - 30:  # a loop over wake posture changes
            self.posture(t, 60.0)
            t += rng.exponential(60.0 / posture_rate)

    def posture(self, t: float, tolerance: float, bilateral_p: float = 0.8) -> None:
        rng = self.rng
        spec = _lm_spec(rng, 15, 60, "posture")
        spec["posture"] = str(rng.choice(POSTURES))
        event = _event(
            t,
            float(rng.uniform(3.0, 25.0)),
            "movement",
            self._legs_for(bilateral_p),
            spec,
            posture_change=True,
        )
        self.add_near(event, tolerance)

    # sleep -----------------------------------------------------------------------------------

    def plm_series(self, target: int) -> None:
        rng = self.rng
        weights = dict(zip(SLEEP_STAGES, self.p.plm_stage_weight))
        periods = [(a, b, s) for a, b, s in self.night.hypnogram if s in weights]
        w = np.array([(b - a) * weights[s] for a, b, s in periods])
        count, tries = 0, 0
        # a series has 4 LMs at least: stop when fewer remain (short nights, low indices)
        while target - count >= 3 and tries < 400 and w.sum() > 0:  # a loop over series
            tries += 1
            a, b, stage = periods[int(rng.choice(len(periods), p=w / w.sum()))]
            # a series runs on through the neighbouring stages that carry PLMs
            good = ("N1", "N2") if stage in ("N1", "N2") else (stage,)
            span = next((x, y) for x, y in self.stages.spans(good) if x <= a < y)
            want = int(np.clip(rng.lognormal(np.log(12), 0.6), 4, 80))
            want = min(want, max(4, target - count + 2))
            mean = rng.uniform(14, 40)
            start = rng.uniform(span[0], max(span[0], span[1] - 4 * mean))
            end = min(span[1] - 2, start + want * mean)
            if not self.planner.unprotected(start - 95, end + 95):
                continue
            placed = self.periodic_train(start, end, (mean, mean), "plm")
            if 0 < len(placed) < 4:
                self._drop(placed)
                continue
            count += len(placed)

    def _drop(self, placed: list[dict]) -> None:
        """Take back a series too short to be one (its LMs would be isolated LMs)."""
        for e in placed:  # a loop over events
            self.night.events.remove(e)
            for leg in e["_legs"]:
                self.planner.busy[leg].remove((e["onset_s"], e["onset_s"] + e["duration_s"]))
        self.planner.protected.pop()

    def hypnic(self, onset: float, p: float) -> None:
        rng = self.rng
        if rng.random() > p:
            return
        for _ in range(int(rng.integers(1, 3))):  # a loop over jerks
            spec = {"style": "jerk", "g": float(rng.uniform(0.25, 1.3)), "deg": rng.uniform(2, 8)}
            t = onset + rng.uniform(-45, 90)
            self.add(
                _event(
                    t,
                    float(rng.uniform(0.08, 0.25)),
                    "jerk",
                    self._legs_for(0.7),
                    spec,
                    hypnic=True,
                )
            )

    def twitches(
        self, a: float, b: float, rate_per_min: float, size_g: tuple[float, float], group: str
    ) -> None:
        rng = self.rng
        t = a + rng.exponential(60.0 / rate_per_min)
        while t < b:  # a loop over Poisson twitches
            spec = {"style": "twitch", "g": float(rng.uniform(*size_g)), "group": group}
            self.add(_event(t, float(rng.uniform(0.07, 0.25)), "jerk", self._legs_for(0.1), spec))
            t += max(2.0, rng.exponential(60.0 / rate_per_min))

    def isolated(self, a: float, b: float, per_h: float) -> None:
        rng = self.rng
        for t in rng.uniform(a, b, rng.poisson(per_h * (b - a) / 3600)):  # a loop over LMs
            duration = _lm_duration(rng, 2.0)
            self.add(_event(t, duration, "lm", self._legs_for(0.2), _lm_spec(rng, 4, 30)))

    def train(self, t: float, kind: str) -> None:
        rng = self.rng
        if kind == "hft":
            spec = {"style": "hft", "hz": float(rng.uniform(0.5, 3.0)), "deg": rng.uniform(2, 6)}
            event = _event(t, float(rng.uniform(10.0, 15.0)), "hft", self._legs_for(0.2), spec)
        else:
            spec = {
                "style": "alma",
                "hz": float(rng.uniform(0.5, 3.0)),
                "deg": rng.uniform(3, 8),
                "burst_s": float(rng.uniform(0.1, 0.5)),
            }
            event = _event(t, float(rng.uniform(5.0, 20.0)), "alma", list(self.night.legs), spec)
            # bursts alternate at hz: each leg's burst must end before the other's starts
            spec["burst_s"] = min(spec["burst_s"], 0.45 / spec["hz"])
        self.add_near(event, 120.0)


def build_night(seed: int, hours: float, legs: list[str], scenario: str) -> Night:
    """The hypnogram and the events of one night (no samples yet)."""
    p = PROFILES[scenario]
    rng = np.random.default_rng([seed, zlib.crc32(scenario.encode())])
    hyp, plan = build_hypnogram(rng, hours, p)
    night = Night(hours, legs, hyp, posture0=str(rng.choice(POSTURES[:3])))
    b = Builder(rng, night, p, plan)
    st = b.stages
    sleep_h = sum(y - x for x, y, s in hyp if s != "W") / 3600.0
    two = len(legs) >= 2

    # 1) what defines the night's indices first: wake trains and PLM series
    if "rls_train" in plan:
        b.periodic_train(*plan["rls_train"], (15.0, 45.0), "rls")
    if p.rls_train:
        for x, y in night.wake_bouts():  # a loop over wake bouts
            if y - x >= 300 and rng.random() < 0.7:
                b.periodic_train(x + 30, y - 20, (12.0, 40.0), "rls")
    b.plm_series(int(round(rng.uniform(*p.plms_index) * sleep_h)))

    # 2) hypnic jerks at the wake-to-sleep transitions
    b.hypnic(night.onset_s, 0.8)
    for _, y in night.wake_bouts():
        b.hypnic(y, 0.25)

    # 3) posture changes: every 20-60 min in sleep, drawn to the nearest stage transition
    transitions = np.array([h[0] for h in hyp[1:]])
    t = night.onset_s + rng.uniform(5, 30) * 60
    while t < night.offset_s:  # a loop over sleep posture changes
        near = transitions[np.argmin(np.abs(transitions - t))] if len(transitions) else t
        when = near if abs(near - t) < 10 * 60 else t
        if st.at(when) != "W":
            b.posture(when + rng.uniform(-40, 40), 300.0)
        t = when + rng.uniform(20, 60) * 60

    # 4) myoclonus clusters in NREM
    if p.myoclonus:
        noise_mg = float(rng.uniform(*p.noise_mg))
        night.noise_mg = noise_mg
        nrem = [s for s in st.spans(("N1", "N2", "N3")) if s[1] - s[0] >= 10 * 60]
        n_clusters = max(1, int(round(sleep_h * rng.uniform(0.4, 0.7))))
        size = (max(0.030, 12 * noise_mg / 1000), min(0.070, 25 * noise_mg / 1000))
        for k in rng.permutation(len(nrem))[:n_clusters]:  # a loop over clusters
            x, y = nrem[int(k)]
            length = min(rng.uniform(15, 35) * 60, y - x)
            start = rng.uniform(x, y - length)
            b.twitches(start, start + length, rng.uniform(5, 10), size, "myoclonus")

    # 5) trains near sleep onset (foot tremor) and in NREM (ALMA)
    for _ in range(int(rng.integers(p.hft_trains[0], p.hft_trains[1] + 1))):
        b.train(night.onset_s + rng.uniform(-8, 12) * 60, "hft")
    if two:
        nrem = st.spans(("N1", "N2"))
        for _ in range(int(rng.integers(p.alma_trains[0], p.alma_trains[1] + 1))):
            x, y = nrem[int(rng.integers(len(nrem)))]
            b.train(rng.uniform(x, y), "alma")

    # 6) the rest: isolated LMs and twitches by stage, fidgeting in wake
    lm_rate = rng.uniform(*p.isolated_lm_per_h)
    stage_factor = {"N1": 1.5, "N2": 1.0, "N3": 0.15, "R": 0.3}
    twitch_rate = rng.uniform(*p.rem_twitch_per_min)
    twitch_size = (0.03, 0.07) if p.myoclonus else (0.03, 0.15)
    for x, y, s in hyp:  # a loop over stage periods
        if s == "W":
            still = p.still_wake and y - x >= 20 * 60
            rate = rng.uniform(0.02, 0.08) if still else rng.uniform(*p.fidget_per_min)
            b.wake(x, y, rate)
        else:
            b.isolated(x, y, lm_rate * stage_factor[s])
            if s == "R":
                b.twitches(x, y, twitch_rate, twitch_size, "rem")

    # 6b) a wrist: the arm's view of the legs' movements, and the arm's own
    if p.placement == "wrist":
        wrist_view(b)

    # 7) the bed partner (not this person's movement: may overlap anything)
    vib_rate = rng.uniform(*p.vibrations_per_h)
    for t in np.sort(rng.uniform(60, hours * 3600 - 60, rng.poisson(vib_rate * hours))):
        spec = {
            "style": "vibration",
            "g": float(rng.uniform(0.01, 0.08)),
            "hz": float(rng.uniform(2.0, 8.0)),
        }
        b.add(_event(t, float(rng.uniform(1.0, 10.0)), "vibration", list(legs), spec))

    night.events.sort(key=lambda e: e["onset_s"])
    return night


def wrist_view(b: Builder) -> None:
    """Turn a night of leg movements into what a wrist sensor carries.

    Arms move more often than legs in sleep (repositioning, hand movements: wrist actigraphy
    scores sleep from them). Periodic arm movements exist in PLMD and restless legs but are
    fewer than the legs': the arm joins some leg series, as smaller elbow and wrist
    flexions. A leg movement the arm does not join reaches the wrist only through the body
    and the mattress: a faint jolt with no turn of the forearm (kind "vibration": not an event
    of this sensor). The legs' own movements are kept in `night.leg_events`. Wake fidgeting,
    turns of the body, hypnic jerks and REM twitches move the arm as well and stay."""
    rng, night = b.rng, b.night
    joined = rng.uniform(*b.p.arm_joins)
    series_with_arm: dict[int, bool] = {}
    for e in night.events:  # a loop over events
        spec = e["_spec"]
        if e["kind"] != "lm" or spec.get("style") != "lm":
            continue  # fidgets, scratching, turns, jerks: the arm's too
        night.leg_events.append(dict(e, _spec=dict(spec)))
        series = spec.pop("series", None)
        if series is not None:
            spec["leg_series"] = series
            with_arm = series_with_arm.setdefault(series, bool(rng.random() < joined))
            arm = with_arm and rng.random() < 0.9
        else:
            arm = rng.random() < 0.3  # an isolated leg movement the arm shares
        if arm:
            spec["deg"] = float(spec["deg"] * rng.uniform(0.3, 0.6))
            e["duration_s"] = float(max(0.8, e["duration_s"] * rng.uniform(0.5, 1.0)))
        else:
            e["kind"] = "vibration"
            e["_spec"] = {
                "style": "vibration",
                "g": float(rng.uniform(0.002, 0.008)),
                "hz": float(rng.uniform(2.0, 6.0)),
                "leg": True,
            }
    hand_rate = rng.uniform(*b.p.hand_moves_per_h)
    stage_factor = {"N1": 1.5, "N2": 1.0, "N3": 0.3, "R": 0.6}
    for x, y, s in night.hypnogram:  # a loop over stage periods: the hand's own movements
        if s != "W":
            b.isolated(x, y, hand_rate * stage_factor[s])
    t = night.onset_s + rng.uniform(5, 30) * 60
    while t < night.offset_s:  # a loop over arm repositionings (the arm alone)
        if b.stages.at(t) != "W":
            b.posture(t, 300.0)
        t += rng.uniform(15, 60) * 60
    # the partner's arm: now and then a stronger, shorter jolt through the mattress
    for t in rng.uniform(night.onset_s, night.offset_s, int(rng.integers(3, 10))):
        spec = {"style": "vibration", "g": float(rng.uniform(0.03, 0.1)), "hz": 3.0}
        spec["hz"] = float(rng.uniform(2.0, 8.0))
        b.add(_event(t, float(rng.uniform(0.6, 2.0)), "vibration", list(night.legs), spec))


def side_of(legs: list[str], all_legs: list[str]) -> str:
    if len(all_legs) >= 2 and len(legs) >= 2:
        return "bilateral"
    return legs[0]


def plm_series_of(events: list[dict]) -> list[list[dict]]:
    """WASM-style series from truth events (legs pooled): runs of >= 4 CLMs, IMI 10-90 s.

    A simple scorer for checks and figures: bilateral merging is left out (the simulator
    never puts two legs' LMs within 0.5 s unless it labels them one bilateral LM).
    """
    seq = sorted((e for e in events if e["kind"] in SERIES_KINDS), key=lambda e: e["onset_s"])
    runs: list[list[dict]] = []
    run: list[dict] = []
    for e in seq:  # a loop over events
        clm = e["kind"] == "lm" and 0.5 <= e["duration_s"] <= 10.0
        if run and clm and 10.0 <= e["onset_s"] - run[-1]["onset_s"] <= 90.0:
            run.append(e)
            continue
        if len(run) >= 4:
            runs.append(run)
        run = [e] if clm else []
    if len(run) >= 4:
        runs.append(run)
    return runs
