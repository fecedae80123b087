"""The limb family's accelerometer: how a strap-on sensor turns specific force into rows.

Each sensor is drawn per night: how it sits on the shin (its axes to the shank's), gain and
cross-axis errors, a zero-g offset that follows the sensor's temperature (it warms from the
room to the skin under the duvet), white noise plus flicker noise, the ADC's step and full
scale, how long it integrates each sample (a snapshot aliases a brief twitch, an average
smooths it), and how rows reach the file: logged on the device, or streamed over radio in
packets that get lost in bursts (the body shields the antenna; out of reach when the sleeper
walks away) and are stamped by the receiving phone.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

# (full scale g, bits) pairs sensors ship with
RANGES = ((2.0, 12), (4.0, 12), (4.0, 14), (8.0, 16), (8.0, 12), (16.0, 16))
ZONES = ("Z", "+01:00", "+02:00", "-05:00", "+05:30", "-08:00")


@dataclass
class SensorModel:
    """What the truth records of a sensor, and what draws its rows."""

    rate_hz: float
    noise_g: float  # white noise SD per axis
    flicker_g: float  # 1/f noise SD per axis
    lsb_g: float
    range_g: float
    integrate: float  # share of the sample period averaged (1: a full average, small: a snapshot)
    mount: list  # sensor axes in shank coordinates (columns)
    gain: list
    offset_g: list
    tempco_g_per_c: list
    room_c: float
    skin_c: float
    warm_s: float
    link: str  # "logged" on the device or "streamed" over radio
    packet_samples: int
    latency_ms: float
    jitter_ms: float
    stamping: str  # "device", "host-spread" (arrival, spread back), "host-burst" (arrival)
    time_format: str  # unix_s, unix_ms, iso
    zone: str
    units: str  # g or m/s2
    columns: list
    start_offset_s: float

    def truth(self) -> dict:
        out = asdict(self)
        return {
            key: round(value, 6) if isinstance(value, float) else value
            for key, value in out.items()
        }


def draw_sensor(
    rng: np.random.Generator, rate_hz: float, noisy: bool, start_offset_s: float
) -> SensorModel:
    """A sensor as strapped on for one night."""
    full, bits = RANGES[int(rng.integers(0, 5 if noisy else len(RANGES)))]
    if noisy:
        full, bits = (8.0, 12) if rng.random() < 0.6 else (16.0, 12)
    noise = rng.uniform(0.007, 0.014) if noisy else rng.uniform(0.0012, 0.0045)
    # The face sits on the anterolateral shin (its normal between the shin's front, v, and
    # the side, w, in shank coordinates u, v, w), turned about its normal as the strap fell.
    side = np.radians(rng.uniform(20, 60)) * (1 if rng.random() < 0.5 else -1)
    normal = np.array([0.0, np.cos(side), np.sin(side)])
    spin = np.radians(rng.uniform(-25, 25)) + (np.pi if rng.random() < 0.3 else 0.0)
    c, s = np.cos(spin), np.sin(spin)
    along = np.array([1.0, 0.0, 0.0])
    across = np.cross(normal, along)
    x_axis = c * along + s * across
    y_axis = np.cross(normal, x_axis)
    mount = np.column_stack([x_axis, y_axis, normal])
    gain = (
        np.eye(3)
        + np.diag(rng.normal(0, 0.012, 3))
        + rng.normal(0, 0.004, (3, 3)) * (1 - np.eye(3))
    )
    streamed = noisy or rng.random() < 0.6
    time_format = str(rng.choice(["unix_s", "unix_ms", "iso"]))
    axes = [["x", "y", "z"], ["acc_x", "acc_y", "acc_z"], ["ax", "ay", "az"]][rng.integers(0, 3)]
    time_name = {"unix_s": "timestamp", "unix_ms": "time_ms", "iso": "datetime"}[time_format]
    return SensorModel(
        rate_hz=float(rate_hz),
        noise_g=float(noise),
        flicker_g=float(noise * rng.uniform(0.2, 0.8)),
        lsb_g=2 * full / 2**bits,
        range_g=full,
        integrate=float(rng.choice([1.0, 0.5, 0.15])),
        mount=np.round(mount, 6).tolist(),
        gain=np.round(gain, 6).tolist(),
        offset_g=np.round(rng.normal(0, 0.02, 3), 5).tolist(),
        tempco_g_per_c=np.round(rng.normal(0, 0.0005, 3), 6).tolist(),
        room_c=float(rng.uniform(16, 23)),
        skin_c=float(rng.uniform(29, 34)),
        warm_s=float(rng.uniform(900, 2700)),
        link="streamed" if streamed else "logged",
        packet_samples=max(1, int(round(rate_hz * rng.uniform(0.08, 0.4)))),
        latency_ms=float(rng.uniform(15, 60)) if streamed else 0.0,
        jitter_ms=float(rng.uniform(1, 8)) if streamed else 0.0,
        stamping=str(rng.choice(["host-spread", "host-burst"], p=[0.7, 0.3]))
        if streamed
        else "device",
        time_format=time_format,
        zone=str(rng.choice(ZONES)),
        units=str(rng.choice(["g", "m/s2"], p=[0.65, 0.35])),
        columns=[time_name, *axes] + (["temperature"] if rng.random() < 0.3 else []),
        start_offset_s=float(start_offset_s),
    )


def temperature(model: SensorModel, t: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The sensor's temperature: warming to the skin, with a slow wander under the covers."""
    warm = model.room_c + (model.skin_c - model.room_c) * (1 - np.exp(-t / model.warm_s))
    wander = 0.6 * np.sin(2 * np.pi * t / rng.uniform(3000, 9000) + rng.uniform(0, 6.3))
    return warm + wander


def flicker(n: int, sd: float, rate_hz: float, rng: np.random.Generator) -> np.ndarray:
    """1/f noise (n, 3) by shaping white noise's spectrum."""
    spectrum = np.fft.rfft(rng.standard_normal((3, n)), axis=1)
    f = np.fft.rfftfreq(n, 1 / rate_hz)
    spectrum *= 1 / np.sqrt(np.maximum(f, 1e-3))
    spectrum[:, 0] = 0.0
    noise = np.fft.irfft(spectrum, n=n, axis=1).T
    return noise / max(float(np.std(noise)), 1e-12) * sd


def measure(
    model: SensorModel, force: np.ndarray, t: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Rows (n, 3) in the file's units from the specific force (n, 3, g, shank frame), and the
    sensor's temperature."""
    mount = np.asarray(model.mount)
    gain = np.asarray(model.gain)
    reading = force @ mount @ gain.T  # into the sensor's axes, then its gain errors
    celsius = temperature(model, t, rng)
    reading += np.asarray(model.offset_g) + (celsius[:, None] - 25.0) * np.asarray(
        model.tempco_g_per_c
    )
    reading += rng.normal(0, model.noise_g, reading.shape)
    reading += flicker(len(t), model.flicker_g, model.rate_hz, rng)
    counts = np.clip(
        np.round(reading / model.lsb_g),
        -(model.range_g / model.lsb_g),
        model.range_g / model.lsb_g - 1,
    )
    values = counts * model.lsb_g
    if model.units == "m/s2":
        return np.round(values * 9.80665, 4), celsius
    return np.round(values, 5), celsius


def losses(
    model: SensorModel, t: np.ndarray, away: list[tuple[float, float]], rng: np.random.Generator
) -> np.ndarray:
    """Which samples reach the file: a streamed sensor loses packets, mostly in bursts
    (a Gilbert-Elliott channel) and all of them while the sleeper is out of reach; a logger
    now and then drops a write of a second or two."""
    keep = np.ones(len(t), bool)
    if model.link == "logged":
        for _ in range(int(rng.poisson(0.3 * t[-1] / 28800))):  # a loop over rare write stalls
            a = rng.uniform(t[0], t[-1])
            keep[(t >= a) & (t < a + rng.uniform(1, 3))] = False
        return keep
    size = model.packet_samples
    packets = (len(t) + size - 1) // size
    packet_s = size / model.rate_hz
    lost = rng.random(packets) < rng.uniform(0, 0.002)
    clock, bad = 0.0, False
    while clock < t[-1]:  # a loop over the channel's good and bad spells
        length = (
            rng.exponential(rng.uniform(5, 30)) if bad else rng.exponential(rng.uniform(300, 3600))
        )
        if bad:
            first, last = int(clock / packet_s), int((clock + length) / packet_s) + 1
            lost[first:last] |= rng.random(max(0, min(last, packets) - first)) < rng.uniform(
                0.3, 0.9
            )
        clock += length
        bad = not bad
    keep = ~np.repeat(lost, size)[: len(t)]
    for a, b in away:  # a loop over trips out of reach
        keep[(t >= a) & (t < b)] = False
    return keep


def stamps(model: SensorModel, t: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The time each row is stamped with (seconds, same origin as `t`): the sensor's clock, or
    the phone's at the packet's arrival."""
    if model.stamping == "device":
        return t.copy()
    size = model.packet_samples
    index = np.arange(len(t))
    last = np.minimum((index // size + 1) * size - 1, len(t) - 1)
    arrival = (
        t[last] + model.latency_ms / 1000 + rng.exponential(model.jitter_ms / 1000, len(t))[last]
    )
    arrival = np.maximum.accumulate(arrival)
    if model.stamping == "host-burst":
        stamped = arrival + (index - last + size - 1) * 0.0005
    else:
        stamped = arrival - (last - index) / model.rate_hz
    return np.maximum.accumulate(stamped)
