"""ActiGraph .gt3x: a zip holding info.txt and log.bin (or the older activity.bin).

log.bin is a sequence of records: 0x1E, type, 4-byte time (the device's local clock, in
seconds), 2-byte payload size, payload, 1-byte checksum. ACTIVITY (0x00) records hold
12-bit packed samples; ACTIVITY2 (0x1A, written by ActiGraph Link) records little-endian
16-bit ones. Both are decoded here, vectorized: actfast skips ACTIVITY2 without a word
(zero samples), and takes scale and rate from a PARAMETERS record, so that a file without
one came out 65536 times too large at a wrong rate; info.txt is what ActiLife goes by.
actfast reads only the older activity.bin layout. Each record is one second; idle-sleep
seconds have no record and stay gaps (never filled with a repeated value, which would look
like stillness). Samples are in counts of `Acceleration Scale` per g (info.txt): the
device stores them calibrated.
"""

from __future__ import annotations

import numpy as np

from sensor.formats.other import ZIP_MAGIC, zip_members
from sensor.formats.samples import decode_with_actfast, device_recording
from sensor.recording import Recording
from sensor.zones import parse_offset

NAME = "an ActiGraph .gt3x file"
RECORD_SEPARATOR = 0x1E
ACTIVITY, ACTIVITY2 = 0x00, 0x1A
DEFAULT_SCALE = 256.0  # counts per g when info.txt gives no Acceleration Scale


def recognizes(head: bytes, path: str) -> bool:
    if not head.startswith(ZIP_MAGIC):
        return False
    members = set(zip_members(path))
    return "info.txt" in members and bool({"log.bin", "activity.bin"} & members)


def read_info(path: str) -> dict[str, str]:
    import zipfile  # not at import: a CSV's read never pays for it

    with zipfile.ZipFile(path) as archive:
        text = archive.read("info.txt").decode("utf-8", errors="replace")
    pairs = (line.split(":", 1) for line in text.splitlines() if ":" in line)
    return {key.strip(): value.strip() for key, value in pairs}


def read(path: str, units: str) -> tuple[Recording, float | None]:
    import zipfile

    info = read_info(path)
    rate = float(info.get("Sample Rate", "0") or 0) or None
    scale = float(info.get("Acceleration Scale", "").replace(",", ".") or DEFAULT_SCALE)
    offset = parse_offset(info.get("TimeZone", ""))
    warnings = _calibration_warnings(path)
    with zipfile.ZipFile(path) as archive:
        log = archive.read("log.bin") if "log.bin" in archive.namelist() else None
    if log is None or rate is None:  # the older activity.bin layout (NHANES era)
        samples = decode_with_actfast(path, NAME)["timeseries"].get("acceleration", {})
        stamps, acceleration = samples.get("datetime", []), samples.get("acceleration")
    else:
        stamps, acceleration = decode_log(log, rate, scale, warnings)
    recording = device_recording(path, NAME, stamps, acceleration, units, rate, warnings)
    return recording, offset


def _calibration_warnings(path: str) -> list[str]:
    import json
    import zipfile

    with zipfile.ZipFile(path) as archive:
        if "calibration.json" not in archive.namelist():
            return []
        try:
            calibration = json.loads(archive.read("calibration.json"))
        except ValueError:
            return ["calibration.json is unreadable; samples read as the device stored them"]
    if calibration.get("isCalibrated", True) is False:
        return ["calibration.json says the device did not calibrate its samples: read as stored"]
    return []


def record_table(log: bytes) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(type, time, payload start, payload size) of every whole record in log.bin.

    A record's size is in its header, so finding the next one is sequential: a loop over
    records (one a second), not samples. A record cut short at the end, or a broken
    separator, ends the table: what came before is kept."""
    types, times, starts, sizes = [], [], [], []
    position, end = 0, len(log)
    while position + 8 <= end and log[position] == RECORD_SEPARATOR:  # a loop over records
        size = int.from_bytes(log[position + 6 : position + 8], "little")
        if position + 9 + size > end:
            break
        types.append(log[position + 1])
        times.append(int.from_bytes(log[position + 2 : position + 6], "little"))
        starts.append(position + 8)
        sizes.append(size)
        position += 9 + size
    return (
        np.array(types, dtype=np.uint8),
        np.array(times, dtype=np.int64),
        np.array(starts, dtype=np.int64),
        np.array(sizes, dtype=np.int64),
    )


def decode_log(
    log: bytes, rate_hz: float, scale: float, warnings: list[str] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(stamps in ns on the local clock, (n, 3) samples in g) of log.bin's activity records.

    Each record holds one second of samples, the first at the record's time.
    - ACTIVITY: 12-bit two's-complement values, big-endian, packed without padding between
      samples, in the order y, x, z.
    - ACTIVITY2: x, y, z as little-endian int16.
    A record that holds no whole sample (the 1-byte ones written around idle sleep) adds
    none: idle-sleep seconds stay gaps."""
    types, times, starts, sizes = record_table(log)
    end = int(starts[-1] + sizes[-1] + 1) if len(times) else 0
    if warnings is not None and end < len(log):
        warnings.append(
            f"log.bin is damaged or cut short after byte {end} of {len(log)}: the "
            f"{len(times)} records before were read"
        )
    per_second = int(round(rate_hz))
    packed = (types == ACTIVITY) & (sizes * 8 >= 36)
    wide = (types == ACTIVITY2) & (sizes >= 6)
    counts = np.zeros(len(types), dtype=np.int64)
    counts[packed] = np.minimum(sizes[packed] * 8 // 36, per_second)
    counts[wide] = np.minimum(sizes[wide] // 6, per_second)
    chosen = counts > 0
    times, starts, counts, is_wide = times[chosen], starts[chosen], counts[chosen], wide[chosen]
    total = int(counts.sum())
    if total == 0:
        return np.empty(0, np.int64), np.empty((0, 3), np.float32)
    # Each sample's record and its place in it, without a loop over samples.
    record = np.repeat(np.arange(len(counts)), counts)
    within = np.arange(total) - (np.cumsum(counts) - counts)[record]
    sample_wide = is_wide[record]
    raw = np.empty((total, 3), dtype=np.int16)
    data = np.frombuffer(log, dtype=np.uint8)
    if sample_wide.any():
        at = starts[record[sample_wide]] + within[sample_wide] * 6
        for axis in range(3):  # a loop over axes
            low = data[at + 2 * axis].astype(np.uint16)
            high = data[at + 2 * axis + 1].astype(np.uint16)
            raw[sample_wide, axis] = (low | (high << 8)).view(np.int16)
    if not sample_wide.all():
        narrow = ~sample_wide
        # In nibbles: a sample is 9 of them (y, x, z: three each) from its record's start.
        nibbles = np.empty(2 * len(data), dtype=np.int16)
        nibbles[0::2], nibbles[1::2] = data >> 4, data & 0x0F
        at = 2 * starts[record[narrow]] + within[narrow] * 9
        for axis, place in ((1, 0), (0, 3), (2, 6)):  # a loop over axes: y, x, z
            value = (nibbles[at + place] << 8) | (nibbles[at + place + 1] << 4)
            value |= nibbles[at + place + 2]
            value[value > 2047] -= 4096
            raw[narrow, axis] = value
    samples = raw.astype(np.float32) / np.float32(scale)
    stamps = times[record] * 1_000_000_000 + np.round(within * (1e9 / rate_hz)).astype(np.int64)
    return stamps, samples
