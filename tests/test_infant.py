"""Infants: jerk clusters (benign sleep myoclonus), many short sleep bouts, the age group."""

from __future__ import annotations

import json

import numpy as np
import pytest

from sleepmove.cli import main
from sleepmove.detection.events import rejoin_long_parts
from sleepmove.detection.grid import regularize
from sleepmove.detection.movements import detect_movements
from sleepmove.detection.myoclonus import jerk_clusters
from sleepmove.detection.params import default_parameters
from sleepmove.sensor.simulate import simulate

RATE = 50.0
REST = np.array([0.0, 0.6, 0.8])  # g: the shank's resting orientation


def still_leg(minutes: float, seed: int = 5) -> tuple[np.ndarray, np.random.Generator]:
    """A leg lying still: gravity at REST and 2.5 mg of noise per axis."""
    rng = np.random.default_rng(seed)
    return REST + rng.normal(0, 0.0025, (int(minutes * 60 * RATE), 3)), rng


def add_jerk(xyz: np.ndarray, onset_s: float, rng: np.random.Generator) -> None:
    """A myoclonic jerk: 120 ms of a 12 Hz shake of 0.2 g, rising and dying away (Hann), along
    a random direction; the leg is back at rest after it."""
    n = int(0.12 * RATE)
    t = np.arange(n) / RATE
    wave = 0.2 * np.hanning(n) * np.sin(2 * np.pi * 12 * t)
    direction = rng.normal(size=3)
    first = int(onset_s * RATE)
    xyz[first : first + n] += wave[:, None] * (direction / np.linalg.norm(direction))


def events_of(xyz: np.ndarray, age_group: str):
    params = default_parameters(age_group=age_group)
    grid = regularize(np.arange(len(xyz)) / RATE, xyz.astype(np.float32), 1.0, RATE)
    events, _ = detect_movements({"": grid}, grid.start_s, params.detection, params.rules)
    return events, params


def test_a_run_of_jerks_is_jerks_not_an_lm():
    """Four jerks 300 ms apart, the leg at rest between them: the 0.5 s signal holds the
    activity up across the rests, but an infant's analysis resolves them one by one, and
    they make one cluster (it gave one "movement" of a second before the jerks were split
    at rests)."""
    xyz, rng = still_leg(10)
    onsets = 300.0 + 0.3 * np.arange(4)
    for onset in onsets:
        add_jerk(xyz, onset, rng)
    events, params = events_of(xyz, "infant")
    near = events[np.abs(events["onset_s"] - 300.5) < 3]
    assert near["kind"].tolist() == ["jerk"] * 4
    assert np.allclose(near["onset_s"], onsets, atol=0.06)
    det = params.detection
    member, clusters = jerk_clusters(
        near["onset_s"],
        near["offset_s"],
        near["side"],
        det.jerk_cluster_max_gap_s,
        det.jerk_cluster_min_jerks,
    )
    assert member.tolist() == [0, 0, 0, 0] and clusters["jerks"].tolist() == [4]


def test_an_infant_lm_held_away_from_rest_stays_one_lm():
    """A 1.5 s flexion of 6 degrees, with a jerk at its start and at its end: the tilt keeps
    the leg away from rest, so nothing splits it."""
    xyz, rng = still_leg(10)
    first, n = int(300 * RATE), int(1.5 * RATE)
    angle = np.radians(6) * np.hanning(n) ** 0.25  # a quick rise, a hold, a quick return
    y, z = REST[1], REST[2]
    xyz[first : first + n, 1] += y * np.cos(angle) - z * np.sin(angle) - y
    xyz[first : first + n, 2] += y * np.sin(angle) + z * np.cos(angle) - z
    add_jerk(xyz, 300.0, rng)
    add_jerk(xyz, 301.4, rng)
    events, _ = events_of(xyz, "infant")
    near = events[np.abs(events["onset_s"] - 300.7) < 3]
    assert near["kind"].tolist() == ["lm"]


def test_an_infant_restless_swing_through_rest_stays_one_movement():
    """A wake fidget: 12 swings of the leg, 1 s and 6 degrees each, 0.2 s of rest between.
    Split at each pause, it made 12 LMs of its parts; parts no jerk could be, under 0.5 s
    apart, are one movement again: one, of over 10 s."""
    xyz, _ = still_leg(10)
    n = int(1.0 * RATE)
    swing = np.radians(6) * np.hanning(n)
    angle = np.zeros(int(15 * RATE))
    for k in range(12):  # a loop over swings
        first = int(k * 1.2 * RATE)
        angle[first : first + n] = swing
    y, z = REST[1], REST[2]
    span = slice(int(300 * RATE), int(300 * RATE) + len(angle))
    xyz[span, 1] += y * np.cos(angle) - z * np.sin(angle) - y
    xyz[span, 2] += y * np.sin(angle) + z * np.cos(angle) - z
    events, _ = events_of(xyz, "infant")
    near = events[np.abs(events["onset_s"] - 307) < 12]
    assert near["kind"].tolist() == ["movement"]
    assert near["duration_s"][0] > 13


def test_long_parts_under_half_a_second_apart_are_one_movement():
    params = default_parameters(age_group="infant").detection  # jerk_max_s 0.5, gap 0.5 s
    starts = np.array([0, 40, 80, 90, 160])  # samples at 50 Hz: long, long, brief, long, long
    ends = np.array([30, 70, 85, 130, 200])
    joined = rejoin_long_parts(starts, ends, RATE, params)
    # 10 samples between two long parts: one; a brief part (a jerk) joins nothing, and 30
    # samples (0.6 s) are too far.
    assert [joined[0].tolist(), joined[1].tolist()] == [[0, 80, 90, 160], [70, 85, 130, 200]]
    adult = default_parameters().detection
    assert rejoin_long_parts(starts, ends, RATE, adult)[0].tolist() == starts.tolist()


@pytest.mark.parametrize("age_group", ["adult", "infant"])
def test_regular_brief_jerks_are_no_foot_tremor(age_group):
    """Six jerks of 120 ms, one every 1.5 s: as regular as a tremor, but a foot tremor's
    bursts last 250 ms or more (AASM). They stay jerks (they were one "hft" train)."""
    xyz, rng = still_leg(10)
    for onset in 300.0 + 1.5 * np.arange(6):
        add_jerk(xyz, onset, rng)
    events, _ = events_of(xyz, age_group)
    near = events[np.abs(events["onset_s"] - 304) < 8]
    assert near["kind"].tolist() == ["jerk"] * 6


def test_an_infant_jerk_run_of_tremor_rhythm_stays_jerks():
    """Eight bursts of 0.3 s, one a second: an adult's hypnagogic foot tremor, but an
    infant's is a run of jerks (there was an "hft" train, and no jerk counted)."""
    found = {}
    for age_group in ("adult", "infant"):  # a loop over age groups
        xyz, rng = still_leg(10)
        n = int(0.3 * RATE)
        wave = 0.2 * np.hanning(n) * np.sin(2 * np.pi * 6 * np.arange(n) / RATE)
        for onset in 300.0 + np.arange(8):
            direction = rng.normal(size=3)
            first = int(onset * RATE)
            xyz[first : first + n] += wave[:, None] * (direction / np.linalg.norm(direction))
        events, _ = events_of(xyz, age_group)
        found[age_group] = events[np.abs(events["onset_s"] - 304) < 8]["kind"].tolist()
    assert found == {"adult": ["hft"], "infant": ["jerk"] * 8}


def test_clusters_from_hand_built_jerks():
    # Four jerks 0.5 s apart, a lone one, three on both legs 0.8 s apart, two too few.
    onsets = np.array([10.0, 10.5, 11.0, 11.5, 30.0, 50.0, 50.8, 51.6, 80.0, 80.4])
    offsets = onsets + 0.1
    sides = np.array(["left"] * 5 + ["left", "right", "left"] + ["left"] * 2, dtype=object)
    member, clusters = jerk_clusters(onsets, offsets, sides, 1.5, 3)
    assert member.tolist() == [0, 0, 0, 0, -1, 1, 1, 1, -1, -1]
    assert clusters["onset_s"].tolist() == [10.0, 50.0]
    assert np.allclose(clusters["offset_s"], [11.6, 51.7])
    assert clusters["jerks"].tolist() == [4, 3]
    assert np.allclose(clusters["rate_per_s"], [4 / 1.6, 3 / 1.7])  # jerks / duration
    assert clusters["side"].tolist() == ["left", "bilateral"]


def test_no_clusters():
    member, clusters = jerk_clusters(np.zeros(0), np.zeros(0), np.zeros(0, dtype=object), 1.5, 3)
    assert len(member) == 0 and len(clusters) == 0


@pytest.fixture(scope="module")
def infant_night(tmp_path_factory):
    folder = tmp_path_factory.mktemp("infant")
    truth = simulate(str(folder / "in"), hours=4.0, rate_hz=25, seed=1, scenario="infant")
    out = folder / "out"
    code = main(
        [
            "analyze",
            str(folder / "in" / "night.csv"),
            "--out",
            str(out),
            "--age-group",
            "infant",
            "--no-report",
        ]
    )
    assert code == 0
    summary = json.loads((out / "summary.json").read_text())
    return truth, summary, out


def test_infant_scenario_truth():
    from sleepmove.sensor.simulate_night import plan_night

    plan = plan_night("infant", 6.0, ["left", "right"], np.random.default_rng(3))
    clusters = [e for e in plan.events if e.kind == "jerk_cluster"]
    assert clusters and all(plan.asleep(c.onset_s) for c in clusters)  # only in sleep
    assert len(plan.wake_bouts_s) >= 2  # many bouts, not one sleep period
    jerks = [e for e in plan.events if e.kind == "jerk"]
    assert all(0.07 <= j.duration_s <= 0.2 and 0.1 <= j.amplitude <= 0.5 for j in jerks)


def test_infant_night(infant_night):
    truth, summary, out = infant_night
    counts = summary["counts"]
    assert summary["assessment"]["age_group"] == "infant"
    assert summary["criteria"]["parameters"]["age_group"] == "infant"
    assert summary["assessment"]["threshold_per_h"] == 5.0  # the paediatric threshold
    sleep = summary["criteria"]["parameters"]["sleep"]
    assert sleep["early_weight"] == 0.0 and sleep["late_weight"] == 0.0
    assert summary["criteria"]["parameters"]["detection"]["jerk_cluster_min_jerks"] == 3
    # Clusters found, all in sleep, and listed in events.csv with their jerks in `parts`.
    assert counts["jerk_cluster"] >= 10
    # All but one in sleep: a restless swing while awake that passes through rest between
    # brief peaks can make a short run of "jerks" (here one of 3, in a 21 s fidget).
    assert counts["jerk_cluster_in_sleep"] >= counts["jerk_cluster"] - 1
    assert counts["jerk_cluster_in_wake"] <= 1
    header, *rows = (out / "events.csv").read_text().splitlines()
    columns = header.split(",")
    found = [dict(zip(columns, row.split(","))) for row in rows]
    listed = [r for r in found if r["kind"] == "jerk_cluster"]
    assert len(listed) == counts["jerk_cluster"]
    assert all(int(r["parts"]) >= 3 for r in listed)
    # Measured recall of the simulated clusters (onsets within 2 s, or overlapping): the
    # detector resolves too few of the fast, small jerks (see the report of issue 23.2).
    onsets = np.array([float(r["onset_s"]) for r in listed])
    ends = onsets + np.array([float(r["duration_s"]) for r in listed])
    truth_clusters = [e for e in truth["events"] if e["kind"] == "jerk_cluster"]
    overlapping = [
        bool(np.any((onsets < e["onset_s"] + e["duration_s"]) & (ends > e["onset_s"])))
        for e in truth_clusters
    ]
    assert np.mean(overlapping) >= 0.5
    # Sleep in several bouts, as simulated.
    bouts = len(summary["sleep"]["wake_bouts_s"]) + 1
    assert bouts >= 3


def test_adult_night_unchanged(tmp_path):
    """The numbers this adult night gives, pinned: infants' settings must not leak into it.
    Pinned again when the simulator's sleep latency was widened and turned per scenario (a
    new night: truth PLM index 51.7/h, total sleep 1.703 h, wake 2744-3140 s and 4900-5084 s)
    and the sleep model retuned on such nights; and when a PLM's size came to count half in
    how unlike its neighbours it is (total sleep 1.632 -> 1.648 h, wake bouts closer to the
    truth's)."""
    simulate(str(tmp_path / "in"), hours=2.0, rate_hz=25, seed=7, scenario="plmd-moderate")
    out = tmp_path / "out"
    assert (
        main(["analyze", str(tmp_path / "in" / "night.csv"), "--out", str(out), "--no-report"]) == 0
    )
    summary = json.loads((out / "summary.json").read_text())
    assert summary["plm_index"] == 52.7798
    assert summary["lm_index"] == 55.8131
    assert summary["periodicity_index"] == 0.9432
    assert summary["sleep"]["total_sleep_h"] == 1.6484
    assert summary["sleep"]["wake_bouts_s"] == [[2700.0, 3150.0], [4890.0, 5100.0]]
    assert summary["counts"]["plm"] == 87 and summary["counts"]["jerk"] == 3
    assert summary["counts"]["jerk_cluster"] == 0
    assert summary["criteria"]["parameters"]["rules"]["same_leg_merge_gap_s"] == 0.5
