"""When things happen in a "kinematic" night: turns, PLM series, LMs, fidgeting, jerks.

Everything is placed against the hypnogram; no two movements of one leg come within a
second of each other (so each truth event is one movement), brief jerks within 0.6 s.
Posture changes are placed first, PLM series next, then the rest wherever a leg is free.
A series is only kept off the turns' and shifts' own time spans: one may fall between two
of its members (`plm_series_planned` is the plan, not a scoring of the truth's events).

Kinds here are provisional for turns and leg shifts: the truth (simulate_kinematic) calls an
event a posture change when the leg's resting orientation changes by 5 degrees or more,
which needs the sensor's geometry; PLM series members are pulses and never change posture.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field

import numpy as np

from sleepmove.sensor import simulate_kinematic_moves as mv
from sleepmove.sensor.simulate_kinematic_hypnogram import EPOCH_S, STAGES, build_hypnogram, segments
from sleepmove.sensor.simulate_kinematic_render import Component

GUARD_S = 1.0
JERK_GUARD_S = 0.6


@dataclass
class Plan:
    stages: np.ndarray
    q0: dict[str, np.ndarray]
    events: list[dict] = field(default_factory=list)
    components: list[Component] = field(default_factory=list)
    series: list[list[int]] = field(default_factory=list)


class Occupancy:
    """Busy spans of one leg, kept sorted and disjoint."""

    def __init__(self) -> None:
        self.starts: list[float] = []
        self.ends: list[float] = []

    def free(self, a: float, b: float) -> bool:
        i = bisect.bisect_left(self.starts, b)
        return i == 0 or self.ends[i - 1] <= a

    def take(self, a: float, b: float) -> None:
        i = bisect.bisect_left(self.starts, a)
        self.starts.insert(i, a)
        self.ends.insert(i, b)


class Planner:
    def __init__(self, rng, hours: float, legs: list[str], signs: dict[str, float], profile):
        self.rng, self.hours, self.legs, self.signs, self.p = rng, hours, legs, signs, profile
        self.night_s = hours * 3600.0
        self.stages = build_hypnogram(rng, hours, profile)
        self.busy = {leg: Occupancy() for leg in legs}
        self.plan = Plan(self.stages, {})

    def stage_at(self, t: float) -> str:
        i = int(np.clip(t // EPOCH_S, 0, len(self.stages) - 1))
        return STAGES[int(self.stages[i])]

    def times_in(self, stages: dict[str, float], count: int) -> np.ndarray:
        """`count` random times in epochs weighted by stage."""
        weight = np.array([stages.get(STAGES[s], 0.0) for s in self.stages])
        if count <= 0 or weight.sum() == 0:
            return np.array([])
        epochs = self.rng.choice(len(weight), count, p=weight / weight.sum())
        return np.sort(epochs * EPOCH_S + self.rng.uniform(0, EPOCH_S, count))

    def hours_in(self, names: tuple[str, ...]) -> float:
        codes = [STAGES.index(n) for n in names]
        return float(np.isin(self.stages, codes).sum() * EPOCH_S / 3600)

    # -- events ---------------------------------------------------------------------------
    def _legs_of(self, comps) -> list[str]:
        named = {c[0] for c in comps}
        return list(self.legs) if "body" in named else [leg for leg in self.legs if leg in named]

    def fits(self, comps, guard: float) -> bool:
        onset = min(c[3] for c in comps)
        end = max(c[3] + c[4].length_s for c in comps)
        if onset < 1.0 or end > self.night_s - 1.0:
            return False
        return all(self.busy[leg].free(onset - guard, end + guard) for leg in self._legs_of(comps))

    def commit(self, comps, guard: float, hypnic=False, posture=False, series=None) -> int:
        onset = min(c[3] for c in comps)
        end = max(c[3] + c[4].length_s for c in comps)
        felt = max(
            c[3] + (c[4].params["D"] if c[4].kind == "twitch" else c[4].length_s) for c in comps
        )
        duration = felt - onset
        if posture:
            kind = "movement"
        elif duration < 0.5:
            kind = "jerk"
        else:
            kind = "lm" if duration <= 10.0 else "movement"
        index = len(self.plan.events)
        legs = self._legs_of(comps)
        for leg in legs:
            self.busy[leg].take(onset - guard, end + guard)
        self.plan.events.append(
            {
                "onset_s": onset,
                "duration_s": duration,
                "kind": kind,
                "legs": legs,
                "hypnic": hypnic,
                "posture_change": posture,
                "series": series,
            }
        )
        self.plan.components += [Component(index, *c) for c in comps]
        return index

    def try_add(self, comps, guard=GUARD_S, **flags) -> int | None:
        if comps and self.fits(comps, guard):
            return self.commit(comps, guard, **flags)
        return None

    # -- posture --------------------------------------------------------------------------
    def _posture_class(self, roll_hint: str | None = None) -> str:
        lat = self.p.lateral
        weights = np.array([(1 - lat) * 0.85, lat / 2, lat / 2, (1 - lat) * 0.15])
        return str(self.rng.choice(mv.POSTURES, p=weights / weights.sum()))

    def _leg_poses(self, posture: str, roll: float) -> dict[str, np.ndarray]:
        return {
            leg: mv.leg_pose(self.rng, posture, mv.top_leg(roll, self.signs[leg]))
            for leg in self.legs
        }

    def postures(self) -> None:
        posture = self._posture_class()
        roll = mv.posture_roll(self.rng, posture)
        poses = self._leg_poses(posture, roll)
        self.plan.q0 = {leg: np.array([roll, 0, 0, *poses[leg]]) for leg in self.legs}
        rates = {
            "W": self.rng.uniform(*self.p.turns_wake_per_h),
            "N1": self.rng.uniform(*self.p.turns_sleep_per_h) * 1.5,
            "N2": self.rng.uniform(*self.p.turns_sleep_per_h),
            "N3": self.rng.uniform(*self.p.turns_sleep_per_h) * 0.3,
            "R": self.rng.uniform(*self.p.turns_sleep_per_h) * 0.5,
        }
        turns = self._poisson_times(rates)
        shift_rate = self.rng.uniform(*self.p.leg_shifts_per_h)
        shifts = self._poisson_times({s: shift_rate for s in ("N1", "N2", "N3", "R")})
        plan = sorted([(t, "turn") for t in turns] + [(t, "shift") for t in shifts])
        last = -np.inf
        for t, what in plan:  # a loop over posture events
            if t - last < 45:
                continue
            if what == "turn":
                posture = self._posture_class()
                target = mv.posture_roll(self.rng, posture)
                delta = (target - roll + 180) % 360 - 180
                new_poses = self._leg_poses(posture, roll + delta)
                comps = mv.turn(self.rng, t, roll, roll + delta, poses, new_poses)
                if self.try_add(comps, posture=True) is not None:
                    roll += sum(c[2] for c in comps if c[1] == mv.ROLL)
                    poses, last = new_poses, t
            else:
                leg = self.legs[int(self.rng.integers(len(self.legs)))]
                new = poses[leg] + self.rng.normal(0, 6, 5) * [1, 0.5, 1, 1, 1]
                new[0], new[3] = max(new[0], -5), max(new[3], 0)
                comps = mv.leg_shift(self.rng, leg, t, poses[leg], new)
                # planned as an LM; the truth makes it a posture change if the shank turns 5+ deg
                if self.try_add(comps) is not None:
                    poses = {**poses, leg: new}
                    last = t

    def _poisson_times(self, rates: dict[str, float]) -> np.ndarray:
        out = []
        for name, rate in rates.items():
            count = self.rng.poisson(rate * self.hours_in((name,)))
            out.append(self.times_in({name: 1.0}, count))
        return np.sort(np.concatenate(out)) if out else np.array([])

    # -- PLM series -----------------------------------------------------------------------
    def plm_series(self, per_h: float, stages: dict[str, float], mean_len: float) -> None:
        hours = sum(self.hours_in((s,)) for s, w in stages.items() if w > 0)
        target = per_h * hours
        count, attempts = 0, 0
        while count < target and attempts < 400:
            attempts += 1
            start = self.times_in(stages, 1)
            if len(start) == 0:
                return
            count += self._one_series(float(start[0]), stages, mean_len, int(target - count))

    def _one_series(self, t: float, stages: dict[str, float], mean_len: float, left: int) -> int:
        rng = self.rng
        mu, cv = rng.uniform(16, 40), rng.uniform(0.1, 0.35)
        shape = 1 / cv**2
        n = min(4 + int(rng.exponential(mean_len)), max(left + 3, 4))
        mode = self._series_mode()
        # Most series flex knee and hip too; some stay distal (ankle and toes), which a shank
        # sensor feels only through the tendons under its strap.
        distal = rng.random() < 0.2
        knee0 = float(np.clip(rng.lognormal(np.log(1.0 if distal else 9.0), 0.6), 0.3, 40))
        dur0 = rng.uniform(1.0, 3.5)
        members: list[list[tuple]] = []
        start_stage = self.stage_at(t)
        for j in range(n):
            stage = self.stage_at(t)
            if stages.get(stage, 0) == 0 and not (stage == "R" and rng.random() < 0.2):
                break
            if start_stage != "W" and stage == "W":
                break
            duration = float(np.clip(dur0 * rng.lognormal(0, 0.3), 0.6, 9.5))
            knee = float(np.clip(knee0 * rng.lognormal(0, 0.25), 0.2, 45))
            leg = self._series_leg(mode, j)
            comps = mv.triple_flexion(rng, leg, t, duration, knee)
            if mode == "bilateral":
                other = [x for x in self.legs if x != leg][0]
                lag = rng.uniform(0, 0.3)
                comps += mv.triple_flexion(
                    rng,
                    other,
                    t + lag,
                    duration * rng.uniform(0.8, 1.05),
                    knee * rng.uniform(0.6, 1.3),
                )
            if not self.fits(comps, GUARD_S):
                break
            members.append(comps)
            t += float(np.clip(rng.gamma(shape, mu / shape), 10.5, 88))
        if len(members) < 4:
            return 0
        number = len(self.plan.series)
        self.plan.series.append([self.commit(c, GUARD_S, series=number) for c in members])
        return len(members)

    def _series_mode(self) -> str:
        if len(self.legs) < 2:
            return "one"
        u = self.rng.random()
        if u < self.p.bilateral:
            return "bilateral"
        if u < self.p.bilateral + self.p.alternating:
            return "alternating"
        return "one"

    def _series_leg(self, mode: str, j: int) -> str:
        if not hasattr(self, "_series_first") or j == 0:
            self._series_first = int(self.rng.integers(len(self.legs)))
        k = self._series_first
        if mode == "alternating":
            k = (k + j) % len(self.legs)
        return self.legs[k]

    # -- the rest -------------------------------------------------------------------------
    def isolated_lms(self) -> None:
        count = self.rng.poisson(
            self.rng.uniform(*self.p.lm_sleep_per_h) * self.hours_in(("N1", "N2", "N3", "R"))
        )
        for t in self.times_in({"N1": 1, "N2": 1, "N3": 0.5, "R": 0.5}, count):
            duration = float(np.clip(self.rng.lognormal(np.log(2.0), 0.6), 0.6, 9.5))
            leg = self._any_leg()
            if self.rng.random() < 0.5:
                knee = float(np.clip(self.rng.lognormal(np.log(8), 0.6), 2, 40))
                self.try_add(mv.triple_flexion(self.rng, leg, float(t), duration, knee))
            else:
                self.try_add(mv.leg_movement(self.rng, leg, float(t), duration))

    def fidgeting(self) -> None:
        """Wake: bursts of fidgeting (Poisson within bursts) between quiet spells, or still."""
        rng = self.rng
        share = rng.uniform(*self.p.fidget_active)
        per_min = rng.uniform(*self.p.fidget_per_min)
        for a, b, name in self._segments():
            if name != "W":
                continue
            still = rng.random() < self.p.still_wake
            t = a + rng.exponential(30)
            active_mean = rng.uniform(60, 180)
            quiet_mean = active_mean * (1 - share) / share
            while t < b:  # a loop over fidgeting bursts
                burst_end = min(b, t + rng.exponential(active_mean))
                rate = (0.3 / 60 if still else per_min) / 60
                k = rng.poisson(rate * (burst_end - t))
                for at in np.sort(rng.uniform(t, burst_end, k)):
                    duration = float(np.clip(rng.lognormal(np.log(2.0), 0.85), 0.6, 40))
                    leg = self._any_leg()
                    comps = mv.leg_movement(rng, leg, float(at), duration)
                    if len(self.legs) == 2 and rng.random() < 0.3:
                        other = [x for x in self.legs if x != leg][0]
                        comps += mv.leg_movement(
                            rng, other, float(at) + rng.uniform(0, 0.4), duration
                        )
                    self.try_add(comps)
                t = burst_end + rng.exponential(quiet_mean)

    def jerks(self) -> None:
        rng = self.rng
        chance, most = self.p.hypnic
        for a, _, name in self._segments():
            if name == "N1" and self.stage_at(a - 1) == "W" and rng.random() < chance:
                for _ in range(int(rng.integers(1, most + 1))):
                    at = a + rng.uniform(-20, 60)
                    self.try_add(
                        mv.twitch(rng, self._any_leg(), at, True, self.legs),
                        JERK_GUARD_S,
                        hypnic=True,
                    )
        rem_min = self.hours_in(("R",)) * 60
        clusters = rng.poisson(rng.uniform(*self.p.twitch_clusters_per_min) * rem_min)
        for t in self.times_in({"R": 1.0}, clusters):
            leg = self._any_leg()
            for _ in range(int(rng.integers(1, 6))):
                self.try_add(mv.twitch(rng, leg, float(t), False, self.legs), JERK_GUARD_S)
                t += rng.uniform(0.7, 2.5)
        count = rng.poisson(rng.uniform(*self.p.nrem_twitch_per_h) * self.hours_in(("N1", "N2")))
        for t in self.times_in({"N1": 1, "N2": 1}, count):
            self.try_add(mv.twitch(rng, self._any_leg(), float(t), False, self.legs), JERK_GUARD_S)

    def _any_leg(self) -> str:
        return self.legs[int(self.rng.integers(len(self.legs)))]

    def _segments(self):
        return segments(self.stages)


def build_plan(rng, hours: float, legs: list[str], signs: dict[str, float], profile) -> Plan:
    planner = Planner(rng, hours, legs, signs, profile)
    planner.postures()
    severe = profile.plms_per_h[0] >= 40
    if profile.plms_per_h[1] > 0:
        per_h = rng.uniform(*profile.plms_per_h)
        planner.plm_series(
            per_h * 1.05, {"N1": 1.0, "N2": 1.0, "N3": 0.4, "R": 0.03}, 30 if severe else 15
        )
    if profile.plmw_per_h > 0:
        planner.plm_series(profile.plmw_per_h, {"W": 1.0}, 8)
    planner.isolated_lms()
    planner.fidgeting()
    planner.jerks()
    order = sorted(range(len(planner.plan.events)), key=lambda i: planner.plan.events[i]["onset_s"])
    return _reindex(planner.plan, order)


def _reindex(plan: Plan, order: list[int]) -> Plan:
    """Events sorted by onset; components and series follow."""
    new_of = {old: new for new, old in enumerate(order)}
    plan.events = [plan.events[i] for i in order]
    for c in plan.components:
        c.event = new_of[c.event]
    plan.series = [[new_of[i] for i in s] for s in plan.series]
    return plan
