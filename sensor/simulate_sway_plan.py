"""Which movements a `sway` night holds, and when: the sleeper's, and a bed partner's.

Periodic LMs come in series that start mostly in light NREM, wax and wane in size, and break
at awakenings (or drift into REM and fade). Wake has quiet stretches of many minutes between
restless bouts (rubbing a foot, repositioning, stretching, tapping), turns, and sometimes a
walk out of bed. Twitches are REM's and the hypnic jerks of falling asleep.
"""

from __future__ import annotations

import numpy as np

from sleepmove.sensor.simulate_sway_motion import LegMotion, Move
from sleepmove.sensor.simulate_sway_profiles import SwayProfile
from sleepmove.sensor.simulate_sway_sleep import stage_at

DEG = np.pi / 180
SERIES_WEIGHT = {"N1": 1.0, "N2": 1.0, "N3": 0.25, "REM": 0.08, "W": 0.0}


def _unit(rng: np.random.Generator, lean: tuple[float, float, float]) -> tuple:
    """A random direction leaning toward `lean` (a thump mostly pushes one way)."""
    v = np.asarray(lean) + 0.5 * rng.normal(size=3)
    return tuple(v / np.linalg.norm(v))


def _posture(rng: np.random.Generator) -> tuple[float, float]:
    """(pitch, roll) of a lying leg: on the back, a side, or prone."""
    kind = rng.choice(["back", "left", "right", "prone"], p=[0.4, 0.25, 0.25, 0.1])
    if kind == "back":
        return rng.normal(0.03, 0.05), rng.normal(0.0, 0.25)
    if kind == "prone":
        return rng.normal(-0.03, 0.05), np.pi + rng.normal(0.0, 0.25)
    sign = 1.0 if kind == "left" else -1.0
    return rng.uniform(0.15, 0.7), sign * rng.uniform(1.1, 1.65)


class Planner:
    """Plans one night's movements; `moves` collects them (any order)."""

    def __init__(
        self,
        rng: np.random.Generator,
        profile: SwayProfile,
        hypnogram: list,
        sensor_legs: list[str],
    ) -> None:
        self.rng, self.p, self.hyp, self.legs = rng, profile, hypnogram, sensor_legs
        self.end = hypnogram[-1][1]
        self.moves: list[Move] = []
        r = rng
        # The night's style: how this sleeper's legs move (varies across seeds).
        self.mix = r.dirichlet([2.0, 3.0, 1.5])  # ankle only, knee, triple flexion
        self.dur_median = r.uniform(1.0, 3.5)
        self.size = r.lognormal(0.0, 0.3)
        self.shape_p = r.dirichlet([3.0, 1.5, 1.0, 1.0])
        self.flex_sign = {leg: r.choice([-1.0, 1.0]) for leg in ("left", "right")}
        self.sensor_leg_share = r.uniform(0.55, 0.9)  # one-sensor nights: moves on its leg
        self.quiet_min = r.uniform(2.0, 9.0)

    # -- building blocks ---------------------------------------------------------------
    def side_of(self, moving: list[str]) -> tuple[str, dict]:
        if len(self.legs) == 2:
            return ("bilateral" if len(moving) == 2 else moving[0]), {}
        on = self.legs[0] in moving
        return "", {"leg": "both" if len(moving) == 2 else ("sensor" if on else "other")}

    def flexion(self, leg: str, size: float, duration: float) -> LegMotion:
        """A leg movement: dorsiflexion alone up to triple flexion."""
        r = self.rng
        level = r.choice(3, p=self.mix)
        peak = [r.uniform(0.4, 2.0), r.uniform(2.0, 10.0), r.uniform(8.0, 30.0)][level]
        peak = min(peak, 45.0 / max(size, 1e-3))  # a lying leg flexes no further
        thump = [r.uniform(0.01, 0.06), r.uniform(0.02, 0.08), r.uniform(0.03, 0.15)][level]
        shape = r.choice(["smooth", "ballistic", "biphasic", "ramp"], p=self.shape_p)
        lm = LegMotion(
            dth=self.flex_sign[leg] * peak * DEG * size,
            dps=r.normal(0, 0.15) * peak * DEG * size,
            shape=str(shape),
            rise=r.uniform(0.1, 0.45),
            res_th=r.normal(0, 0.12) * peak * DEG * size,
            res_ps=r.normal(0, 0.05) * peak * DEG * size,
        )
        if r.random() < 0.15:  # a tremulous movement
            lm.osc_hz = r.uniform(3, 7)  # a tremor of a degree or so, not a shudder
            lm.osc_depth = min(r.uniform(0.1, 0.3), 0.015 / max(abs(lm.dth), 1e-6))
        for _ in range(r.integers(1, 3)):  # the muscle's thump at onset (and maybe release)
            t0 = 0.0 if not lm.jolts else duration * r.uniform(0.6, 0.95)
            lm.jolts.append(
                (t0, thump * size, r.uniform(6, 18), r.uniform(0.04, 0.15), _unit(r, (0, 0, 1)))
            )
        return lm

    def coupling(self, size: float) -> LegMotion:
        """What the sensor's leg feels of the other leg moving: the mattress, barely."""
        r = self.rng
        return LegMotion(
            dth=r.uniform(0.05, 0.4) * DEG * size,
            jolts=[(0.0, r.uniform(0.002, 0.01) * size, r.uniform(3, 9), 0.2, _unit(r, (0, 0, 1)))],
        )

    def leg_move(
        self, onset: float, duration: float, moving: list[str], size: float, kind: str = ""
    ) -> Move:
        legs: dict[str, LegMotion] = {}
        for leg in moving:
            if leg in self.legs:
                legs[leg] = self.flexion(leg, size * self.rng.uniform(0.5, 1.2), duration)
                if len(legs) == 2:
                    legs[leg].lag = self.rng.uniform(0.0, 0.4)
        if not legs:
            legs[self.legs[0]] = self.coupling(size)
        side, extra = self.side_of(moving)
        kind = kind or ("lm" if duration <= 10 else "movement")
        return Move(onset, duration, kind, side, legs, extra)

    def pick_legs(self, pattern: str, k: int) -> list[str]:
        r = self.rng
        if len(self.legs) == 1:
            here, there = self.legs[0], "right" if self.legs[0] == "left" else "left"
            if r.random() < 0.12:
                return [here, there]
            return [here] if r.random() < self.sensor_leg_share else [there]
        if r.random() < 0.2:
            return ["left", "right"]
        if pattern == "alternate":
            return [["left", "right"][k % 2]]
        if pattern in ("left", "right"):
            return [pattern] if r.random() < 0.85 else [("right" if pattern == "left" else "left")]
        return [str(r.choice(["left", "right"]))]

    def duration(self, scale: float = 1.0) -> float:
        return float(np.clip(self.dur_median * scale * self.rng.lognormal(0, 0.45), 0.5, 9.8))

    # -- the night's movements -----------------------------------------------------------
    def series(self, start: float, awake: bool = False) -> int:
        """One run of periodic LMs from `start`; returns how many it held."""
        r = self.rng
        mean_iv = r.uniform(14, 38) if not awake else r.uniform(8, 30)
        length = max(4, int(round(r.lognormal(np.log(12 if not awake else 8), 0.6))))
        pattern = str(r.choice(["alternate", "left", "right", "mixed"]))
        dur_scale = r.lognormal(0, 0.25) * (1.6 if awake else 1.0)
        wax = r.uniform(0.5, 2.0)
        t, count = start, 0
        while count < length and t < self.end - 12:
            stage = stage_at(self.hyp, t)
            if not awake and (stage == "W" or (stage == "REM" and r.random() < 0.5)):
                break  # an awakening ends the series; REM mostly stops it
            if awake and stage != "W":
                break
            size = self.size * (0.45 + 0.55 * np.sin(np.pi * (count + 0.5) / length) ** wax)
            size *= r.lognormal(0, 0.3)
            dur = self.duration(dur_scale)
            arousal = (not awake) and r.random() < 0.2
            if arousal:  # an LM with a micro-arousal is larger and longer
                size, dur = size * 1.6, min(9.8, dur * 1.5)
            move = self.leg_move(t, dur, self.pick_legs(pattern, count), size)
            move.extra.update({"periodic": True, "arousal": bool(arousal)})
            self.moves.append(move)
            count += 1
            jump = r.random()
            iv = mean_iv * r.lognormal(0, 0.15)
            if jump < 0.03:
                iv = r.uniform(4, 9)  # a double movement
            elif jump < 0.06:
                iv = r.uniform(95, 140)  # a missed beat: the series breaks
            t += max(iv, dur + 1.0)
        return count

    def plms(self, per_h: float, sleep_h: float) -> None:
        epochs = [(a, b, s) for a, b, s in self.hyp if SERIES_WEIGHT[s] > 0]
        if not epochs or per_h <= 0:
            return
        w = np.array([(b - a) * SERIES_WEIGHT[s] for a, b, s in epochs])
        target, done, tries = per_h * sleep_h, 0, 0
        busy: list[tuple[float, float]] = []
        while done < target and tries < 200:
            tries += 1
            a, b, _ = epochs[self.rng.choice(len(epochs), p=w / w.sum())]
            start = self.rng.uniform(a, b)
            if any(x - 60 < start < y + 60 for x, y in busy):
                continue
            before = len(self.moves)
            n = self.series(start)
            if n:
                busy.append((start, self.moves[-1].onset))
            done += len(self.moves) - before

    def isolated(self, per_h: float, sleep_h: float) -> None:
        sleep = [(a, b) for a, b, s in self.hyp if s != "W"]
        for _ in range(self.rng.poisson(per_h * sleep_h)):
            a, b = sleep[self.rng.integers(len(sleep))]
            t = self.rng.uniform(a, b)
            self.moves.append(self.leg_move(t, self.duration(), self.pick_legs("mixed", 0), 1.0))

    def turn(self, t: float, duration: float | None = None) -> None:
        """Turning over: every leg takes a new posture, with a jostle on the way."""
        r = self.rng
        dur = duration or r.uniform(2.0, 12.0)
        target = _posture(r)
        legs = {}
        for i, leg in enumerate(self.legs):
            legs[leg] = LegMotion(
                dth=r.uniform(5, 25) * DEG,
                dps=r.uniform(-15, 15) * DEG,
                target=(target[0] + r.normal(0, 0.1), target[1] + r.normal(0, 0.1)),
                lag=0.0 if i == 0 else r.uniform(0, 0.6),
                jolts=[
                    (
                        r.uniform(0, dur),
                        r.uniform(0.05, 0.3),
                        r.uniform(3, 10),
                        0.15,
                        _unit(r, (0, 0, 1)),
                    )
                    for _ in range(r.integers(1, 4))
                ],
            )
        side = "bilateral" if len(self.legs) == 2 else ""
        self.moves.append(Move(t, dur, "movement", side, legs, {"posture_change": True}))

    def walk(self, t: float, dur: float) -> None:
        """Getting up: the shank stands upright, swings with each step, heels strike."""
        r = self.rng
        pace = r.uniform(0.7, 1.0)
        legs = {}
        for leg in self.legs:
            up = -np.pi / 2  # added to the lying pitch: the shank roughly upright
            legs[leg] = LegMotion(
                dth=up,
                shape="smooth",
                rise=min(0.2, 4.0 / dur),
                osc_hz=pace,
                osc_depth=abs(0.4 / up),  # the swing of a step, about 23 degrees
                target=_posture(r),
                lag=0.0 if leg == self.legs[0] else 0.5 / pace,
                strikes=(pace, r.uniform(0.4, 1.5)),
            )
        side = "bilateral" if len(self.legs) == 2 else ""
        self.moves.append(Move(t, dur, "movement", side, legs, {"out_of_bed": True}))

    def fidget(self, t: float) -> float:
        """One restless movement awake; returns its duration."""
        r = self.rng
        kind = r.choice(["rub", "reposition", "stretch", "tap"], p=[0.35, 0.3, 0.2, 0.15])
        dur = {
            "rub": r.uniform(2, 25),
            "reposition": r.uniform(1, 4),
            "stretch": r.uniform(3, 12),
            "tap": r.uniform(1, 8),
        }[kind]
        move = self.leg_move(t, dur, self.pick_legs("mixed", 0), self.size * r.uniform(0.8, 2))
        for lm in move.legs.values():
            if kind in ("rub", "tap"):  # a rhythm of a few degrees (faster would be frantic)
                lm.dth = np.sign(lm.dth) * min(abs(lm.dth), r.uniform(2, 6) * DEG)
                lm.osc_hz = r.uniform(1, 3) if kind == "rub" else r.uniform(2, 4)
                lm.osc_depth = r.uniform(0.6, 1.0)
            elif kind == "stretch":
                lm.shape, lm.dth = "ramp", lm.dth * 2
            else:
                lm.res_th = lm.dth * r.uniform(-0.6, 0.6)
        move.extra["fidget"] = str(kind)
        self.moves.append(move)
        return dur

    def wake(self, a: float, b: float, final: bool, plmw: bool) -> None:
        r = self.rng
        if b - a < 60:
            if r.random() < 0.5:
                self.turn(a + r.uniform(0, (b - a) * 0.5))
            return
        t = a + (r.uniform(0, 30) if a > 0 else r.uniform(5, 60))
        if b - a >= 480 and r.random() < self.p.leave_bed_p and t + 120 < b - 30:
            dur = (b - t - 1.0) if final else r.uniform(60, min(600, b - t - 60))
            start = t if not final else max(t, b - dur)
            self.walk(start, dur)
            if final:
                b = start
            else:
                t = start + dur + r.uniform(5, 30)
        while t < b - 5:
            t += r.exponential(self.quiet_min * 60)  # quiet wake, often many minutes
            if plmw and r.random() < 0.6 and t < b - 60:
                self.series(t, awake=True)
                t = self.moves[-1].onset + 20
                continue
            bout_end = t + r.uniform(20, 120)
            if r.random() < 0.3 and t < b - 15:
                self.turn(t)
                t += 15
            while t < min(bout_end, b - 5):
                t += self.fidget(t) + r.uniform(2, 20)

    def twitches(self, per_min: float) -> None:
        r = self.rng
        for a, b, s in self.hyp:
            if s != "REM":
                continue
            n = r.poisson(per_min * (b - a) / 60)
            centres = r.uniform(a, b, size=max(1, n // 4 + 1))
            for _ in range(n):
                t = float(np.clip(r.choice(centres) + r.normal(0, 8), a, b - 1))
                dur = r.uniform(0.08, 0.4)
                size = min(4 * dur, r.lognormal(np.log(0.3), 0.7))  # degrees: twitches are small
                self.jerk(t, dur, size, hypnic=False)

    def jerk(self, t: float, dur: float, size_deg: float, hypnic: bool) -> None:
        r = self.rng
        moving = self.legs[:] if hypnic else self.pick_legs("mixed", 0)
        legs = {}
        size_deg = min(size_deg, 2 * dur**2 / DEG)  # a short jerk cannot swing far
        for i, leg in enumerate(moving):
            if leg not in self.legs:
                continue
            legs[leg] = LegMotion(
                dth=self.flex_sign[leg] * size_deg * DEG,
                shape="ballistic",
                lag=0.0 if i == 0 else r.uniform(0, 0.05),
                jolts=[
                    (
                        0.0,
                        size_deg * r.uniform(0.01, 0.05),
                        r.uniform(6, 14),
                        0.05,
                        _unit(r, (0, 0, 1)),
                    )
                ],
            )
        if not legs:
            legs[self.legs[0]] = self.coupling(0.5)
        side, extra = self.side_of(moving)
        extra["hypnic"] = hypnic
        self.moves.append(Move(t, dur, "jerk", side, legs, extra))

    def partner(self) -> None:
        """The partner's turns and restlessness: the mattress tilts and bounces."""
        r = self.rng
        for _ in range(r.poisson(r.uniform(5, 14) * self.end / 3600)):
            t = r.uniform(0, self.end - 20)
            dur = r.uniform(1, 15)
            legs = {
                leg: LegMotion(
                    dth=r.uniform(0.1, 0.8) * DEG,
                    dps=r.uniform(-0.5, 0.5) * DEG,
                    osc_hz=r.uniform(2, 5),
                    osc_depth=0.3,
                    jolts=[
                        (
                            0.0,
                            r.uniform(0.005, 0.05),
                            r.uniform(2.5, 6),
                            r.uniform(0.2, 0.8),
                            _unit(r, (0, 0, 1)),
                        )
                    ],
                )
                for leg in self.legs
            }
            side = "bilateral" if len(self.legs) == 2 else ""
            self.moves.append(Move(t, dur, "vibration", side, legs, {"source": "partner"}))


def plan_moves(
    rng: np.random.Generator, profile: SwayProfile, hypnogram: list, sensor_legs: list[str]
) -> tuple[list[Move], tuple[float, float]]:
    """The night's movements sorted by onset, and the sleeper's first posture."""
    plan = Planner(rng, profile, hypnogram, sensor_legs)
    sleep_h = sum(b - a for a, b, s in hypnogram if s != "W") / 3600
    plan.plms(rng.uniform(*profile.plms_per_h), sleep_h)
    plan.isolated(rng.uniform(*profile.isolated_per_h), sleep_h)
    last = len(hypnogram) - 1
    for i, (a, b, s) in enumerate(hypnogram):
        if s == "W":
            plan.wake(a, b, final=i == last, plmw=profile.plmw and (i == 0 or b - a > 600))
        elif i > 0 and hypnogram[i - 1][2] == "W" and rng.random() < profile.hypnic_p:
            plan.jerk(a + rng.uniform(0, 60), rng.uniform(0.1, 0.45), rng.uniform(3, 15), True)
        if s != "W" and i > 0 and hypnogram[i - 1][2] != "W" and rng.random() < 0.15:
            plan.turn(a + rng.uniform(-10, 10))  # turns come at stage shifts
    plan.twitches(rng.uniform(*profile.rem_twitch_per_min))
    if profile.partner:
        plan.partner()
    end = hypnogram[-1][1]
    moves = [m for m in plan.moves if 0 <= m.onset and m.onset + m.duration <= end]
    moves.sort(key=lambda m: m.onset)
    return moves, _posture(rng)
