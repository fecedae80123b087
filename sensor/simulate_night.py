"""What happens in a simulated night: sleep timeline and every movement, with ground truth."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

SCENARIOS = {
    "healthy": "few isolated limb movements, posture changes, a hypnic jerk or two",
    "plmd-moderate": "PLM series through NREM sleep, PLM index about 40-55/h",
    "plmd-severe": "long dense PLM series, PLM index about 130-150/h",
    "myoclonus": "dense brief twitches in long spans, hypnic jerks at sleep onset",
    "alternating": "two legs, PLMs alternating between the legs",
    "bilateral": "two legs, PLMs on both legs at once",
    "lossy": "low rate, packet losses and disconnections",
    "hard": "small movements, noisy sensor, a restless bed partner, foot tremor",
    "cramps": "a healthy night with up to 4 nocturnal leg cramps, each followed by waking",
    "infant": "an infant: sleep in 30-90 min bouts between 5-30 min awake, clusters of "
    "brief jerks (benign sleep myoclonus) in sleep only, often on both legs",
    "wrist-plmd": "a wrist: leg PLM series (45-60/h) of which the arm joins a fifth to a half "
    "as smaller forearm flexions; the rest reach the wrist only as faint body jolts; arm "
    "repositioning, hand movements, a partner's arm jolting the mattress",
    "wrist-healthy": "a wrist, no PLMs: hand and forearm movements, arm repositioning, "
    "restless wake, a partner's arm jolting the mattress",
}
# Scenarios whose sensor is on a wrist: their events are the arm's; what the legs did is in
# `NightPlan.leg_events` (written to legs.json beside truth.json).
WRIST_SCENARIOS = ("wrist-plmd", "wrist-healthy")

# Scenarios whose events need a longer night (hours), measured: cramps keep 30 min clear of
# sleep onset and offset on both sides; an infant's first sleep bout starts up to 20 min in
# and needs 20 min more. Shorter nights are refused (sleepmove simulate).
SHORTEST_HOURS = {"cramps": 1.2, "infant": 0.7}


@dataclass
class TruthEvent:
    onset_s: float
    duration_s: float
    kind: str  # jerk, jerk_cluster (its jerks are events too), lm, movement, hft, alma, vibration
    side: str  # left, right, bilateral ("" for one unnamed sensor)
    amplitude: float = 0.0  # degrees of rotation (lm, movement), g (jerk, vibration)
    hypnic: bool = False


@dataclass
class NightPlan:
    hours: float
    sleep_onset_s: float
    sleep_offset_s: float
    wake_bouts_s: list[tuple[float, float]]
    events: list[TruthEvent] = field(default_factory=list)
    # Physics that varies from night to night, so no single setting is learned.
    lm_degrees: tuple[float, float] = (6.0, 30.0)
    wake_gap_s: float = 12.0
    posture_every_s: tuple[float, float] = (1200.0, 3600.0)
    # A wrist night: the legs' own movements, which the wrist sensor does not carry.
    leg_events: list[TruthEvent] = field(default_factory=list)

    def lm_amplitude(self, rng: np.random.Generator) -> float:
        return float(rng.uniform(*self.lm_degrees))

    def asleep(self, t: float) -> bool:
        if not self.sleep_onset_s <= t < self.sleep_offset_s:
            return False
        return not any(a <= t < b for a, b in self.wake_bouts_s)


def plan_night(
    scenario: str, hours: float, sides: list[str], rng: np.random.Generator
) -> NightPlan:
    if scenario not in SCENARIOS:
        raise ValueError(f"unknown scenario {scenario!r}; known: {', '.join(SCENARIOS)}")
    if scenario == "infant":
        return _infant_night(hours, sides, rng)
    if scenario in WRIST_SCENARIOS:
        return _wrist_night(scenario, hours, sides, rng)
    total = hours * 3600.0
    # Sleep latency 5-38 min and final wake 2-24 min in 8 h: people differ, and a latency
    # nearly the same every night taught the sleep model a fixed one. These are a seed's
    # first draws, the same for every scenario: turned by the scenario's place (a golden-
    # ratio step around the unit interval), each scenario of a seed has its own.
    turn = (list(SCENARIOS).index(scenario) * 0.6180339887) % 1.0
    onset = (0.01 + 0.07 * ((rng.uniform() + turn) % 1.0)) * total
    offset = total - (0.005 + 0.045 * ((rng.uniform() + 2 * turn) % 1.0)) * total
    bouts = _wake_bouts(onset, offset, rng)
    cramps = _cramp_times(onset, offset, bouts, rng) if scenario == "cramps" else []
    # A cramp wakes: the minutes after it are a wake bout (restless, like any other).
    bouts = sorted(bouts + [(t, t + length + rng.uniform(3, 10) * 60) for t, length in cramps])
    plan = NightPlan(hours, onset, offset, bouts)
    small = scenario == "hard"
    plan.lm_degrees = (
        (rng.uniform(2, 4), rng.uniform(8, 14))
        if small
        else (rng.uniform(3, 8), rng.uniform(15, 35))
    )
    plan.wake_gap_s = float(rng.uniform(6, 40))
    plan.posture_every_s = (rng.uniform(600, 1500), rng.uniform(2400, 4800))
    two = len(sides) == 2
    leg_choice = sides if sides else [""]
    _restlessness(plan, [(0.0, onset), (offset, total), *bouts], leg_choice, rng)
    _posture_changes(plan, leg_choice, two, rng)
    severity = {
        "healthy": 0,
        "plmd-moderate": 1,
        "plmd-severe": 2,
        "alternating": 1,
        "bilateral": 1,
        "lossy": 1,
        "hard": 1,
        "myoclonus": 0,
        "cramps": 0,
    }[scenario]
    if severity:
        _plm_series(plan, severity, scenario, leg_choice, rng)
    _isolated_lms(plan, leg_choice, rng, per_hour=3.0 if scenario != "hard" else 5.0)
    _hypnic_jerks(plan, leg_choice, two, rng)
    if scenario == "myoclonus":
        _twitch_spans(plan, leg_choice, rng)
    if scenario == "hard":
        _bed_partner(plan, rng, count=int(rng.integers(15, 30)))
        _foot_tremor(plan, leg_choice, rng)
    if two and scenario in ("alternating", "bilateral"):
        _alma(plan, rng)
    for t, length in cramps:  # a loop over cramps: a strong plantar flexion, held
        side = _side(leg_choice, rng)
        plan.events.append(TruthEvent(t, length, "cramp", side, rng.uniform(30, 60)))
    plan.events.sort(key=lambda e: e.onset_s)
    _drop_overlaps(plan)
    return plan


def _infant_night(hours: float, sides: list[str], rng: np.random.Generator) -> NightPlan:
    """Sleep in 30-90 min bouts with 5-30 min awake between; in some sleep bouts, 5-20 min
    of jerk clusters (a jerk 1-5 a second, irregularly, for 3-20 s, every 20-90 s)."""
    total = hours * 3600.0
    onset = rng.uniform(5, 20) * 60
    sleeps: list[tuple[float, float]] = []
    t = onset
    while t < total - 20 * 60:  # a loop over sleep bouts
        end = min(t + rng.uniform(30, 90) * 60, total - rng.uniform(3, 10) * 60)
        sleeps.append((t, end))
        t = end + rng.uniform(5, 30) * 60
    bouts = [(a[1], b[0]) for a, b in zip(sleeps[:-1], sleeps[1:])]
    plan = NightPlan(hours, onset, sleeps[-1][1], bouts)
    plan.lm_degrees = (rng.uniform(3, 8), rng.uniform(15, 35))
    plan.wake_gap_s = float(rng.uniform(6, 40))
    plan.posture_every_s = (rng.uniform(600, 1500), rng.uniform(2400, 4800))
    legs = sides if sides else [""]
    _restlessness(plan, [(0.0, onset), (plan.sleep_offset_s, total), *bouts], legs, rng)
    clusters = [_jerk_clusters(a, b, legs, rng) for a, b in sleeps if rng.uniform() < 0.8]
    busy = [(c.onset_s - 5, c.onset_s + c.duration_s + 5) for run in clusters for c in run]
    # Other sleep events keep clear of the clusters: the truth stays unambiguous.
    _posture_changes(plan, legs, len(legs) == 2, rng)
    _isolated_lms(plan, legs, rng, per_hour=3.0)
    plan.events = [
        e
        for e in plan.events
        if not any(a < e.onset_s + e.duration_s and e.onset_s < b for a, b in busy)
    ]
    plan.events.sort(key=lambda e: e.onset_s)
    _drop_overlaps(plan)
    plan.events += [e for run in clusters for c in run for e in [c, *c.members]]
    plan.events.sort(key=lambda e: e.onset_s)
    return plan


def _wrist_night(
    scenario: str, hours: float, sides: list[str], rng: np.random.Generator
) -> NightPlan:
    """A sensor on the wrist. What sleep research says of arms in sleep: the arms move more
    often than the legs (repositioning, hand movements; wrist actigraphy scores sleep from
    them), and in PLMD and restless legs periodic arm movements exist but are fewer than
    the legs' (they join some leg series, as smaller flexions of elbow and wrist). A leg's
    PLM the arm does not join reaches the wrist only through the body: a faint jolt, no
    turn of the forearm (truth kind "vibration": not an event of this sensor)."""
    total = hours * 3600.0
    onset = rng.uniform(0.04, 0.09) * total
    offset = total - rng.uniform(0.03, 0.07) * total
    bouts = _wake_bouts(onset, offset, rng)
    plan = NightPlan(hours, onset, offset, bouts)
    plan.lm_degrees = (rng.uniform(3, 6), rng.uniform(12, 30))
    plan.wake_gap_s = float(rng.uniform(4, 25))  # awake, the hands are busier than the feet
    plan.posture_every_s = (rng.uniform(600, 1500), rng.uniform(2400, 4800))
    arm = sides if sides else [""]
    _restlessness(plan, [(0.0, onset), (offset, total), *bouts], arm, rng)
    _posture_changes(plan, arm, False, rng)  # a turn of the whole body moves the arm too
    _arm_repositioning(plan, rng)
    legs = NightPlan(hours, onset, offset, bouts)
    legs.lm_degrees = (rng.uniform(3, 8), rng.uniform(15, 35))
    if scenario == "wrist-plmd":
        _plm_series(legs, 1, "plmd-moderate", [""], rng)
    series = _runs_of(legs.events)
    _isolated_lms(legs, [""], rng, per_hour=3.0)
    joined = rng.uniform(0.2, 0.5)  # the share of leg series the arm joins
    arm_degrees = (rng.uniform(2, 4), rng.uniform(6, 12))
    for run in series:  # a loop over leg PLM series
        with_arm = rng.uniform() < joined
        for leg in run:  # a loop over the series' LMs
            if with_arm and rng.uniform() < 0.9:
                duration = float(np.clip(leg.duration_s * rng.uniform(0.5, 1.0), 0.6, 8.0))
                onset_s = leg.onset_s + rng.uniform(-0.3, 0.3)
                plan.events.append(
                    TruthEvent(onset_s, duration, "lm", arm[0], rng.uniform(*arm_degrees))
                )
            else:
                plan.events.append(_jolt(leg, arm[0], rng))
    for leg in legs.events[sum(len(run) for run in series) :]:  # isolated leg LMs
        plan.events.append(_jolt(leg, arm[0], rng))
    _isolated_lms(plan, arm, rng, per_hour=float(rng.uniform(2, 6)))  # hands and forearms
    _hypnic_jerks(plan, arm, False, rng)
    _partner_arm(plan, rng)
    plan.leg_events = sorted(legs.events, key=lambda e: e.onset_s)
    plan.events.sort(key=lambda e: e.onset_s)
    _drop_overlaps(plan)
    return plan


def _runs_of(events: list[TruthEvent]) -> list[list[TruthEvent]]:
    """The series `_plm_series` wrote, in order: a new one after a gap of over 90 s."""
    runs: list[list[TruthEvent]] = []
    for event in events:  # a loop over events
        if runs and event.onset_s - runs[-1][-1].onset_s <= 90.0:
            runs[-1].append(event)
        else:
            runs.append([event])
    return runs


def _jolt(leg: TruthEvent, side: str, rng: np.random.Generator) -> TruthEvent:
    """A leg's movement felt at the wrist through the body and the mattress."""
    return TruthEvent(leg.onset_s, leg.duration_s, "vibration", side, rng.uniform(0.002, 0.008))


def _arm_repositioning(plan: NightPlan, rng: np.random.Generator) -> None:
    """The arm alone moves to a new rest (under the pillow, onto the chest): every 15-60 min."""
    t = plan.sleep_onset_s + rng.uniform(300, 1800)
    while t < plan.sleep_offset_s - 300:  # a loop over repositionings
        plan.events.append(
            TruthEvent(t, rng.uniform(2, 6), "movement", "posture", rng.uniform(20, 90))
        )
        t += rng.uniform(15, 60) * 60


def _partner_arm(plan: NightPlan, rng: np.random.Generator) -> None:
    """The partner's arm and turns: the mattress shakes, now and then a jolt."""
    for t in rng.uniform(plan.sleep_onset_s, plan.sleep_offset_s, int(rng.integers(10, 30))):
        strong = rng.uniform() < 0.3
        duration = rng.uniform(0.6, 2.0) if strong else rng.uniform(0.5, 5)
        size = rng.uniform(0.02, 0.08) if strong else rng.uniform(0.005, 0.03)
        plan.events.append(TruthEvent(t, duration, "vibration", "bilateral", size))


@dataclass
class _Cluster(TruthEvent):
    members: list[TruthEvent] = field(default_factory=list)


def _jerk_clusters(
    start: float, end: float, legs: list[str], rng: np.random.Generator
) -> list[_Cluster]:
    """5-20 min of clusters in one sleep bout, each cluster a truth event of its own."""
    if end - start < 10 * 60:
        return []
    first = rng.uniform(start + 2 * 60, max(end - 8 * 60, start + 2 * 60))
    stop = min(first + rng.uniform(5, 20) * 60, end - 60)
    bilateral = 0.6 if len(legs) == 2 else 0.0
    found: list[_Cluster] = []
    t = first
    while t < stop:  # a loop over clusters
        rate = rng.uniform(1, 5)
        length = rng.uniform(3, 20)
        side = "bilateral" if rng.uniform() < bilateral else _side(legs, rng)
        members, jt = [], t
        while jt < t + length:  # a loop over jerks: irregular (gamma, CV 0.5), no rhythm
            members.append(
                TruthEvent(jt, rng.uniform(0.07, 0.2), "jerk", side, rng.uniform(0.1, 0.5))
            )
            jt += max(rng.gamma(4.0, 0.25) / rate, 0.25)
        last = members[-1]
        duration = last.onset_s + last.duration_s - t
        found.append(_Cluster(t, duration, "jerk_cluster", side, len(members), members=members))
        t += duration + rng.uniform(20, 90)
    return found


def _wake_bouts(onset: float, offset: float, rng: np.random.Generator) -> list[tuple[float, float]]:
    bouts: list[tuple[float, float]] = []
    if offset - onset < 4000:  # a nap: no room for wake bouts
        return bouts
    for _ in range(int(rng.integers(2, 6))):
        start = rng.uniform(onset + 1800, offset - 1800)
        length = rng.uniform(3, 15) * 60
        if all(start > b + 1200 or start + length < a - 1200 for a, b in bouts):
            bouts.append((start, start + length))
    return sorted(bouts)


def _cramp_times(
    onset: float, offset: float, bouts: list[tuple[float, float]], rng: np.random.Generator
) -> list[tuple[float, float]]:
    """(onset, length) of up to 4 cramps of 20 s to 2 min in sleep: 2-4 drawn, those near a
    wake bout or another cramp left out."""
    cramps: list[tuple[float, float]] = []
    for _ in range(int(rng.integers(2, 5))):  # a loop over cramps
        t = rng.uniform(onset + 1800, offset - 1800)
        if all(abs(t - a) > 1800 and abs(t - b) > 1800 for a, b in bouts) and all(
            abs(t - c) > 2400 for c, _ in cramps
        ):
            cramps.append((t, float(rng.uniform(20, 120))))
    return sorted(cramps)


def _side(legs: list[str], rng: np.random.Generator) -> str:
    return legs[int(rng.integers(len(legs)))]


def _restlessness(plan, spans, legs, rng) -> None:
    """Wake: irregular LMs, fidgeting and posture changes every few seconds to a minute."""
    for a, b in spans:
        t = a + rng.uniform(2, 10)
        while t < b - 5:
            roll = rng.uniform()
            if roll < 0.3:
                plan.events.append(
                    TruthEvent(t, rng.uniform(3, 8), "movement", "posture", rng.uniform(20, 70))
                )
            elif roll < 0.5:
                plan.events.append(
                    TruthEvent(
                        t, rng.uniform(11, 25), "movement", _side(legs, rng), rng.uniform(10, 30)
                    )
                )
            else:
                plan.events.append(
                    TruthEvent(
                        t, rng.uniform(0.6, 6), "lm", _side(legs, rng), plan.lm_amplitude(rng)
                    )
                )
            t += plan.events[-1].duration_s + rng.exponential(plan.wake_gap_s) + 1.5


def _posture_changes(plan, legs, two, rng) -> None:
    t = plan.sleep_onset_s + rng.uniform(600, 2400)
    while t < plan.sleep_offset_s - 300:
        plan.events.append(
            TruthEvent(t, rng.uniform(3, 8), "movement", "posture", rng.uniform(25, 80))
        )
        t += rng.uniform(*plan.posture_every_s)


def _plm_series(plan, severity, scenario, legs, rng) -> None:
    period_fraction = 0.35 if severity == 1 else 0.75
    t = plan.sleep_onset_s + rng.uniform(300, 900)
    while t < plan.sleep_offset_s - 600:
        span = rng.uniform(8, 30) * 60 * (1.5 if severity == 2 else 1.0)
        mean_imi = rng.uniform(18, 35) if severity == 1 else rng.uniform(14, 26)
        s_time = t
        index = 0
        while s_time < min(t + span, plan.sleep_offset_s - 60):
            side = _series_side(scenario, legs, index, rng)
            duration = float(np.clip(rng.lognormal(np.log(1.8), 0.45), 0.6, 8.0))
            plan.events.append(TruthEvent(s_time, duration, "lm", side, plan.lm_amplitude(rng)))
            if side == "bilateral":
                plan.events[-1].duration_s = duration
            s_time += float(np.clip(rng.normal(mean_imi, mean_imi * 0.15), 11, 85))
            index += 1
        t = s_time + span * (1 - period_fraction) / period_fraction * rng.uniform(0.5, 1.5)


def _series_side(scenario, legs, index, rng) -> str:
    if len(legs) < 2:
        return legs[0]
    if scenario == "alternating":
        return legs[index % 2] if rng.uniform() < 0.9 else _side(legs, rng)
    if scenario == "bilateral":
        return "bilateral" if rng.uniform() < 0.8 else _side(legs, rng)
    return _side(legs, rng) if rng.uniform() < 0.6 else "bilateral"


def _isolated_lms(plan, legs, rng, per_hour) -> None:
    sleep_h = (plan.sleep_offset_s - plan.sleep_onset_s) / 3600
    for t in rng.uniform(plan.sleep_onset_s, plan.sleep_offset_s, int(per_hour * sleep_h)):
        plan.events.append(
            TruthEvent(
                t, float(rng.uniform(0.6, 5)), "lm", _side(legs, rng), plan.lm_amplitude(rng)
            )
        )


def _hypnic_jerks(plan, legs, two, rng) -> None:
    onsets = [plan.sleep_onset_s] + [b for _, b in plan.wake_bouts_s]
    for onset in onsets[: int(rng.integers(1, 4))]:
        t = onset + rng.uniform(-120, 240)
        side = "bilateral" if two else legs[0]
        plan.events.append(
            TruthEvent(t, rng.uniform(0.1, 0.25), "jerk", side, rng.uniform(0.4, 1.5), hypnic=True)
        )


def _twitch_spans(plan, legs, rng) -> None:
    for _ in range(int(rng.integers(2, 4))):
        start = rng.uniform(plan.sleep_onset_s, max(plan.sleep_offset_s - 2400, plan.sleep_onset_s))
        if not plan.asleep(start):
            continue
        end = start + rng.uniform(25, 40) * 60
        rate = rng.uniform(5.5, 9) / 60
        t = start
        while t < end:
            if plan.asleep(t):
                plan.events.append(
                    TruthEvent(
                        t, rng.uniform(0.08, 0.3), "jerk", _side(legs, rng), rng.uniform(0.08, 0.6)
                    )
                )
            t += max(rng.exponential(1 / rate), 1.5)


def _bed_partner(plan, rng, count) -> None:
    for t in rng.uniform(plan.sleep_onset_s, plan.sleep_offset_s, count):
        plan.events.append(
            TruthEvent(t, rng.uniform(0.5, 5), "vibration", "bilateral", rng.uniform(0.005, 0.05))
        )


def _foot_tremor(plan, legs, rng) -> None:
    t = plan.sleep_onset_s + rng.uniform(-300, 300)
    plan.events.append(
        TruthEvent(t, rng.uniform(10, 15), "hft", _side(legs, rng), rng.uniform(4, 10))
    )


def _alma(plan, rng) -> None:
    t = plan.sleep_onset_s + rng.uniform(600, 3600)
    if plan.asleep(t):
        plan.events.append(
            TruthEvent(t, rng.uniform(6, 15), "alma", "bilateral", rng.uniform(4, 10))
        )


def _drop_overlaps(plan: NightPlan) -> None:
    """Events on a leg never overlap (1.5 s apart at least), so truth stays unambiguous."""
    kept: list[TruthEvent] = []
    last_end = -np.inf
    for event in plan.events:
        if event.kind == "vibration":
            kept.append(event)
        elif event.onset_s > last_end + 1.5:
            kept.append(event)
            last_end = event.onset_s + event.duration_s
    plan.events = kept
