"""Sensor and radio flaws of the "kinematic" family, and its CSV files.

The MEMS part: per-axis offset and gain error, cross-axis coupling, white noise plus 1/f
(flicker) noise plus a slow random walk of the offset, an offset that follows the skin's
warming of the sensor under the strap through the night, rare single-sample spikes, the
sensor's full scale and its LSB. The radio: samples travel in packets; packets are lost in
bursts (a two-state good/bad channel), the link may drop for seconds to minutes, and the host
stamps each packet on arrival (variable latency) and back-fills its samples at the nominal
rate, never writing a time before the last one written.
"""

from __future__ import annotations

import gzip
import io
from dataclasses import dataclass, field

import numpy as np

from sleepmove.base.atomic import write_file

RANGES = ((2.0, 12), (4.0, 12), (8.0, 16), (2.0, 16), (8.0, 12), (16.0, 16))


@dataclass
class SensorSpec:
    rate_hz: float  # nominal output data rate
    rate_ppm: float  # the sensor crystal's error: true rate = nominal * (1 + ppm)
    range_g: float
    lsb_g: float
    offset_g: list[float]
    gain: list[list[float]]  # 3x3: gains on the diagonal, cross-axis coupling off it
    white_g: float
    flicker_g: float
    walk_g_per_sqrt_h: float
    temp_coef_g_per_c: list[float]
    warmup_c: float  # skin warms the sensor by this much over the first hour or so
    warmup_tau_s: float
    spikes_per_h: float
    packet: int  # samples per BLE packet
    latency_s: float
    jitter_s: float
    loss_good: float  # packet loss probability in the good state
    loss_bad: float  # ... in the bad state
    bad_share: float  # share of packets sent in the bad state
    bad_run: float  # mean length of a bad run, packets
    disconnects: list[list[float]] = field(default_factory=list)  # [start, end] true time
    start_offset_s: float = 0.0

    @property
    def true_rate_hz(self) -> float:
        return self.rate_hz * (1 + self.rate_ppm * 1e-6)

    @property
    def noise_g(self) -> float:
        return float(np.hypot(self.white_g, self.flicker_g))

    def truth(self) -> dict:
        out = {k: v for k, v in self.__dict__.items()}
        out["noise_g"] = self.noise_g
        return out


def draw_spec(rng, rate_hz, profile, night_s, start_offset_s) -> SensorSpec:
    range_g, bits = RANGES[int(rng.integers(len(RANGES)))]
    white = rng.uniform(*profile.noise_mg) / 1000
    cross = rng.normal(0, 0.008, (3, 3))
    gain = np.diag(1 + rng.normal(0, 0.015, 3)) + cross - np.diag(np.diag(cross))
    disconnects = []
    for _ in range(rng.poisson(profile.disconnects_per_8h * night_s / 28800)):
        at = rng.uniform(0.05, 0.95) * night_s
        disconnects.append([float(at), float(at + rng.uniform(5, 240))])
    return SensorSpec(
        rate_hz=float(rate_hz),
        rate_ppm=float(rng.uniform(-60, 60)),
        range_g=range_g,
        lsb_g=2 * range_g / 2**bits,
        offset_g=[float(v) for v in rng.normal(0, 0.02, 3)],
        gain=gain.tolist(),
        white_g=float(white),
        flicker_g=float(white * rng.uniform(0.2, 0.7)),
        walk_g_per_sqrt_h=float(rng.uniform(0.0005, 0.002)),
        temp_coef_g_per_c=[float(v) for v in rng.normal(0, 0.0006, 3)],
        warmup_c=float(rng.uniform(4, 10)),
        warmup_tau_s=float(rng.uniform(900, 2700)),
        spikes_per_h=float(rng.uniform(0, profile.spikes_per_h)),
        packet=int(rng.choice([1, 4, 6, 9, 12]) if rate_hz > 30 else rng.choice([1, 3, 5])),
        latency_s=float(rng.uniform(0.01, 0.06)),
        jitter_s=float(rng.uniform(0.002, 0.02)),
        loss_good=float(rng.uniform(0, 0.003)),
        loss_bad=float(rng.uniform(0.3, 0.9)),
        bad_share=float(rng.uniform(*profile.bad_share)),
        bad_run=float(rng.uniform(2, 15)),
        disconnects=sorted(disconnects),
        start_offset_s=float(start_offset_s),
    )


def measure(spec: SensorSpec, clean: np.ndarray, times: np.ndarray, rng) -> np.ndarray:
    """The sensor's readings (g, quantized, clipped) of the clean signal at true `times`."""
    n = len(clean)
    xyz = clean @ np.asarray(spec.gain).T + np.asarray(spec.offset_g)
    xyz += rng.normal(0, spec.white_g, (n, 3))
    xyz += _flicker(rng, n, spec.rate_hz) * spec.flicker_g
    step = spec.walk_g_per_sqrt_h * np.sqrt(1.0 / spec.rate_hz / 3600)
    xyz += np.cumsum(rng.normal(0, step, (n, 3)), axis=0)
    warm = spec.warmup_c * (1 - np.exp(-(times - times[0]) / spec.warmup_tau_s))
    xyz += warm[:, None] * np.asarray(spec.temp_coef_g_per_c)[None, :]
    spikes = rng.poisson(spec.spikes_per_h * n / spec.rate_hz / 3600)
    if spikes:
        at = rng.integers(0, n, spikes)
        axis = rng.integers(0, 3, spikes)
        xyz[at, axis] += rng.choice([-1, 1], spikes) * rng.uniform(0.05, 1.5, spikes)
    xyz = np.round(xyz / spec.lsb_g) * spec.lsb_g
    return np.clip(xyz, -spec.range_g, spec.range_g - spec.lsb_g)


def _flicker(rng, n: int, rate_hz: float) -> np.ndarray:
    """Unit-variance 1/f noise, (n,3)."""
    spectrum = np.fft.rfft(rng.normal(0, 1, (n, 3)), axis=0)
    freq = np.fft.rfftfreq(n, 1.0 / rate_hz)
    spectrum /= np.sqrt(np.maximum(freq, 1.0 / 3600))[:, None]
    out = np.fft.irfft(spectrum, n, axis=0)
    return out / out.std(axis=0)


def link(spec: SensorSpec, times: np.ndarray, rng) -> tuple[np.ndarray, np.ndarray]:
    """Rows the host receives and the host's stamps for them (s, true-time scale)."""
    n = len(times)
    packets = -(-n // spec.packet)
    # Two-state channel: alternating runs of good and bad packets.
    mean_good = spec.bad_run * (1 - spec.bad_share) / max(spec.bad_share, 1e-9)
    runs = max(4, int(2.5 * packets / (mean_good + spec.bad_run)) + 4)
    good = rng.geometric(1 / max(mean_good, 1.0), runs)
    bad = rng.geometric(1 / spec.bad_run, runs)
    lengths = np.column_stack([good, bad]).ravel()
    state = np.repeat(np.tile([0, 1], runs), lengths)
    if len(state) < packets:
        state = np.concatenate([state, np.zeros(packets - len(state), dtype=state.dtype)])
    state = state[:packets]
    lost = rng.random(packets) < np.where(state == 1, spec.loss_bad, spec.loss_good)
    keep = np.repeat(~lost, spec.packet)[:n]
    for a, b in spec.disconnects:  # a loop over drops of the link
        keep &= (times < a) | (times >= b)
    arrival = times[np.minimum(np.arange(packets) * spec.packet + spec.packet - 1, n - 1)]
    arrival = arrival + spec.latency_s + rng.exponential(spec.jitter_s, packets)
    last = np.minimum((np.arange(n) // spec.packet) * spec.packet + spec.packet - 1, n - 1)
    stamps = arrival[np.arange(n) // spec.packet] - (last - np.arange(n)) / spec.rate_hz
    rows = np.flatnonzero(keep)
    return rows, np.maximum.accumulate(stamps[rows])


def write_csv(path: str, unix_s: np.ndarray, xyz: np.ndarray, compress: bool) -> None:
    buffer = io.StringIO()
    buffer.write("time,x,y,z\n")
    np.savetxt(
        buffer, np.column_stack([unix_s, xyz]), fmt=["%.3f", "%.4f", "%.4f", "%.4f"], delimiter=","
    )
    data = buffer.getvalue().encode()
    write_file(path, gzip.compress(data, compresslevel=5, mtime=0) if compress else data)
