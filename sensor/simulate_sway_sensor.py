"""The `sway` family's sensor: a BLE band above the ankle, from the signal to a CSV.

A band sits rotated some way round the shank and tilted; it has per-axis gain and offset
errors, an offset that drifts as it warms to the skin and then wanders, white noise, a
resolution and a full scale. It streams packets over BLE: some packets are lost, and now and
then the link drops for seconds to minutes (those are data gaps). The host stamps the rows
(per sample, or per packet as it arrives) in Unix seconds, Unix ms or ISO 8601 with a zone.
"""

from __future__ import annotations

import gzip
import io
import os
from dataclasses import dataclass, field

import numpy as np

G = 9.80665
# name: (full scale g, resolution g, samples per BLE packet)
DEVICES = {
    "polar-verity": (8.0, 8.0 / 32768, 36),
    "witmotion-wt901": (16.0, 16.0 / 32768, 1),
    "metamotion": (4.0, 4.0 / 32768, 3),
}


@dataclass
class Sensor:
    """One strapped sensor as drawn for a night (what truth.json reports of it)."""

    device: str
    rate_hz: float
    clock_ppm: float
    noise_g: float
    range_g: float
    lsb_g: float
    packet_samples: int
    gain: np.ndarray
    offset_g: np.ndarray
    warmup_g: np.ndarray
    warmup_tau_s: float
    wander_g: float
    mount: np.ndarray
    units: str
    time_format: str
    zone_min: int
    stamping: str
    latency_s: float
    jitter_s: float
    start_offset_s: float
    packet_loss: float
    dropouts_per_h: float
    extra: dict = field(default_factory=dict)

    @property
    def true_rate(self) -> float:
        return self.rate_hz * (1 + self.clock_ppm * 1e-6)

    def truth(self) -> dict:
        return {
            "rate_hz": self.rate_hz,
            "noise_g": round(self.noise_g, 5),
            "start_offset_s": round(self.start_offset_s, 4),
            "device": self.device,
            "range_g": self.range_g,
            "lsb_mg": round(self.lsb_g * 1000, 4),
            "gain": np.round(self.gain, 5).tolist(),
            "offset_mg": np.round(self.offset_g * 1000, 2).tolist(),
            "warmup_mg": np.round(self.warmup_g * 1000, 2).tolist(),
            "warmup_tau_s": round(self.warmup_tau_s, 1),
            "wander_mg": round(self.wander_g * 1000, 2),
            "mount": np.round(self.mount, 5).tolist(),
            "clock_ppm": round(self.clock_ppm, 2),
            "units": self.units,
            "time_format": self.time_format,
            "utc_offset_min": self.zone_min,
            "stamping": self.stamping,
            "packet_samples": self.packet_samples,
            "latency_ms": round(self.latency_s * 1000, 2),
            "jitter_ms": round(self.jitter_s * 1000, 3),
            "packet_loss": round(self.packet_loss, 5),
            **self.extra,
        }


def _rotation(rng: np.random.Generator, strap: float) -> np.ndarray:
    """The band's frame in the leg frame: turned `strap` round the shank, slightly tilted."""
    a, b = rng.normal(0, 0.12, size=2)
    rx = np.array(
        [[1, 0, 0], [0, np.cos(strap), -np.sin(strap)], [0, np.sin(strap), np.cos(strap)]]
    )
    ry = np.array([[np.cos(a), 0, np.sin(a)], [0, 1, 0], [-np.sin(a), 0, np.cos(a)]])
    rz = np.array([[np.cos(b), -np.sin(b), 0], [np.sin(b), np.cos(b), 0], [0, 0, 1]])
    return rx @ ry @ rz


def draw_sensor(
    rng: np.random.Generator, rate_hz: float, noise_mg: tuple[float, float], zone_min: int
) -> Sensor:
    device = str(rng.choice(list(DEVICES)))
    range_g, lsb, packet = DEVICES[device]
    stamping = "arrival" if packet > 1 and rng.random() < 0.3 else "sample"
    return Sensor(
        device=device,
        rate_hz=float(rate_hz),
        clock_ppm=rng.normal(0, 25),
        noise_g=rng.uniform(*noise_mg) / 1000,
        range_g=range_g,
        lsb_g=lsb,
        packet_samples=packet,
        gain=np.eye(3) + rng.normal(0, 0.01, (3, 3)) * np.where(np.eye(3) > 0, 1.0, 0.4),
        offset_g=rng.normal(0, 0.025, 3),
        warmup_g=rng.normal(0, 0.008, 3),
        warmup_tau_s=rng.uniform(600, 2400),
        wander_g=rng.uniform(0.5, 4.0) / 1000,
        mount=_rotation(rng, rng.uniform(-np.pi, np.pi)),
        units=str(rng.choice(["g", "m/s^2"], p=[0.6, 0.4])),
        time_format=str(rng.choice(["unix_s", "unix_ms", "iso"])),
        zone_min=zone_min,
        stamping=stamping,
        latency_s=rng.uniform(0.01, 0.08) if stamping == "arrival" else 0.0,
        jitter_s=rng.uniform(0.0, 0.003),
        start_offset_s=rng.uniform(0.0, 3.0),
        packet_loss=rng.uniform(0.0005, 0.01),
        dropouts_per_h=rng.uniform(0.1, 1.5),
    )


def record(
    rng: np.random.Generator, sensor: Sensor, leg_signal: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[list[float]]]:
    """(kept sample times s from the start, stamps s, readings [n, 3] g, gaps [[a, b]] s)."""
    n = leg_signal.shape[1]
    t = sensor.start_offset_s + np.arange(n) / sensor.true_rate
    reading = sensor.gain @ (sensor.mount.T @ leg_signal)
    # Offsets: a fixed part, a warm-up to skin temperature, a slow wander (random walk).
    warm = np.outer(sensor.warmup_g, 1 - np.exp(-t / sensor.warmup_tau_s))
    knots = np.arange(0, t[-1] + 120, 60.0)
    walk = np.cumsum(rng.normal(0, 1, (3, knots.size)), axis=1)
    walk *= sensor.wander_g / max(1.0, np.sqrt(knots.size))
    wander = np.stack([np.interp(t, knots, w) for w in walk])
    reading = reading + sensor.offset_g[:, None] + warm + wander
    reading = reading + rng.normal(0, sensor.noise_g, reading.shape)
    reading = np.clip(
        np.round(reading / sensor.lsb_g) * sensor.lsb_g, -sensor.range_g, sensor.range_g
    )
    keep = np.ones(n, bool)
    packets = np.arange(n) // sensor.packet_samples
    lost = rng.random(packets[-1] + 1) < sensor.packet_loss
    keep &= ~lost[packets]
    hours = t[-1] / 3600
    for _ in range(rng.poisson(sensor.dropouts_per_h * hours)):  # the link drops
        a = rng.uniform(0, t[-1])
        length = float(np.clip(rng.lognormal(np.log(8), 1.0), 1.5, 300))
        keep[(t >= a) & (t < a + length)] = False
    keep[0] = keep[-1] = True  # the recording's span is the night's
    idx = np.flatnonzero(keep)
    step = np.diff(idx)
    gaps = [
        [round(float(t[i + 1]), 3), round(float(t[j]), 3)]
        for i, j, s in zip(idx[:-1], idx[1:], step)
        if s > 1 and t[j] - t[i + 1] >= 1.0
    ]
    kept_t = t[idx]
    if sensor.stamping == "arrival":  # rows take their packet's arrival time
        p = packets[idx]
        last = (p + 1) * sensor.packet_samples - 1
        arrive = sensor.start_offset_s + last / sensor.true_rate + sensor.latency_s
        arrive = arrive + rng.exponential(sensor.jitter_s + 1e-4, idx.size)[np.searchsorted(p, p)]
        within = idx - p * sensor.packet_samples
        stamps = arrive + within * 2e-4
    else:
        stamps = kept_t + rng.normal(0, sensor.jitter_s, idx.size)
    stamps = np.maximum.accumulate(stamps)  # hosts never stamp backwards
    return kept_t, stamps, reading[:, idx].T, gaps


def _number_bytes(v: np.ndarray, decimals: int, int_digits: int) -> np.ndarray:
    """Decimal text of each number as fixed-width bytes, padding as 0 (stripped later).

    Formatting floats is the slow part of writing a night (a pandas float_format takes tens
    of seconds); digits computed as integers take well under one.
    """
    k = np.round(np.abs(v) * 10**decimals).astype(np.int64)
    whole, frac = k // 10**decimals, k % 10**decimals
    powers = 10 ** np.arange(int_digits - 1, -1, -1, dtype=np.int64)
    digits = (whole[:, None] // powers) % 10 + 48
    shown = 1 + (whole[:, None] >= 10 ** np.arange(1, int_digits, dtype=np.int64)).sum(1)
    digits[np.arange(int_digits)[None, :] < (int_digits - shown)[:, None]] = 0
    parts = [np.where((v < 0) & (k > 0), 45, 0)[:, None], digits]
    if decimals:
        fpow = 10 ** np.arange(decimals - 1, -1, -1, dtype=np.int64)
        parts += [np.full((v.size, 1), 46), (frac[:, None] // fpow) % 10 + 48]
    return np.concatenate(parts, axis=1).astype(np.uint8)


def write_csv(
    path: str, stamps: np.ndarray, start_unix: float, readings: np.ndarray, sensor: Sensor
) -> None:
    """The rows as the logging app writes them (gzip when the path ends .gz)."""
    unix = start_unix + stamps
    scale = G if sensor.units == "m/s^2" else 1.0
    names = ["x", "y", "z"] if sensor.units == "g" else ["acc_x", "acc_y", "acc_z"]
    if sensor.time_format == "unix_ms":
        head, time_bytes = "timestamp", _number_bytes(np.round(unix * 1000), 0, 14)
    elif sensor.time_format == "unix_s":
        head, time_bytes = "time", _number_bytes(unix, 4, 11)
    else:  # local clock time with its offset, as phones write it
        local = np.round((unix + sensor.zone_min * 60) * 1000).astype("datetime64[ms]")
        zone = "Z"
        if sensor.zone_min:
            sign = "+" if sensor.zone_min > 0 else "-"
            zone = f"{sign}{abs(sensor.zone_min) // 60:02d}:{abs(sensor.zone_min) % 60:02d}"
        text = np.datetime_as_string(local, unit="ms").astype("S23").view(np.uint8)
        suffix = np.frombuffer(zone.encode(), np.uint8)
        head = "datetime"
        time_bytes = np.concatenate(
            [text.reshape(-1, 23), np.broadcast_to(suffix, (unix.size, suffix.size))], axis=1
        )
    comma = np.full((unix.size, 1), 44, np.uint8)
    columns = [time_bytes]
    for axis in range(3):
        decimals = 5 if scale == 1.0 else 4
        columns += [comma, _number_bytes(readings[:, axis] * scale, decimals, 3)]
    columns.append(np.full((unix.size, 1), 10, np.uint8))
    rows = np.concatenate(columns, axis=1).ravel()
    data = (",".join([head, *names]) + "\n").encode() + rows[rows != 0].tobytes()
    if path.endswith(".gz"):
        buffer = io.BytesIO()
        name = os.path.basename(path)[:-3]
        with gzip.GzipFile(filename=name, mode="wb", fileobj=buffer, mtime=0) as z:
            z.write(data)
        data = buffer.getvalue()
    with open(path, "wb") as handle:
        handle.write(data)
