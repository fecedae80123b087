"""ActiGraph .gt3x: a zip holding info.txt and log.bin (or the older activity.bin).

log.bin is a sequence of records: 0x1E, type, 4-byte time (the device's local clock, in
seconds), 2-byte payload size, payload, 1-byte checksum. ACTIVITY (0x00) records hold
12-bit packed samples and are decoded by actfast; ACTIVITY2 (0x1A, written by ActiGraph
Link) records hold little-endian 16-bit samples, which actfast skips without a word, so
they are decoded here. Each record is one second; idle-sleep seconds have no record and
stay gaps (never filled with a repeated value, which would look like stillness). Samples
are in counts of `Acceleration Scale` per g (info.txt): the device stores them calibrated.
"""

from __future__ import annotations

import zipfile

import numpy as np

from sensor.formats.other import ZIP_MAGIC, zip_members
from sensor.formats.samples import decode_with_actfast, device_recording
from sensor.recording import Recording
from sensor.zones import parse_offset

NAME = "an ActiGraph .gt3x file"
RECORD_SEPARATOR = 0x1E
ACTIVITY2 = 0x1A
DEFAULT_SCALE = 256.0  # counts per g when info.txt gives no Acceleration Scale


def recognizes(head: bytes, path: str) -> bool:
    if not head.startswith(ZIP_MAGIC):
        return False
    members = set(zip_members(path))
    return "info.txt" in members and bool({"log.bin", "activity.bin"} & members)


def read_info(path: str) -> dict[str, str]:
    with zipfile.ZipFile(path) as archive:
        text = archive.read("info.txt").decode("utf-8", errors="replace")
    pairs = (line.split(":", 1) for line in text.splitlines() if ":" in line)
    return {key.strip(): value.strip() for key, value in pairs}


def read(path: str, units: str) -> tuple[Recording, float | None]:
    info = read_info(path)
    rate = float(info.get("Sample Rate", "0") or 0) or None
    scale = float(info.get("Acceleration Scale", "").replace(",", ".") or DEFAULT_SCALE)
    offset = parse_offset(info.get("TimeZone", ""))
    warnings = _calibration_warnings(path)
    result = decode_with_actfast(path, NAME)
    samples = result["timeseries"].get("acceleration", {})
    stamps, acceleration = samples.get("datetime", []), samples.get("acceleration")
    if len(stamps) == 0 and rate:
        with zipfile.ZipFile(path) as archive:
            log = archive.read("log.bin") if "log.bin" in archive.namelist() else b""
        stamps, acceleration = decode_activity2(log, rate, scale)
    recording = device_recording(path, NAME, stamps, acceleration, units, rate, warnings)
    return recording, offset


def _calibration_warnings(path: str) -> list[str]:
    import json

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


def decode_activity2(log: bytes, rate_hz: float, scale: float) -> tuple[np.ndarray, np.ndarray]:
    """(stamps in ns on the local clock, (n, 3) samples in g) of the ACTIVITY2 records.

    Each record holds one second: x, y, z as little-endian int16, sample after sample.
    Records whose payload is not whole samples (the 1-byte records written around idle
    sleep) hold none."""
    types, times, starts, sizes = record_table(log)
    chosen = (types == ACTIVITY2) & (sizes >= 6) & (sizes % 6 == 0)
    times, starts, counts = times[chosen], starts[chosen], sizes[chosen] // 6
    total = int(counts.sum())
    if total == 0:
        return np.empty(0, np.int64), np.empty((0, 3), np.float32)
    # Each sample's record and its place in it, without a loop over samples.
    record = np.repeat(np.arange(len(counts)), counts)
    first_of_record = np.cumsum(counts) - counts
    within = np.arange(total) - first_of_record[record]
    words = np.frombuffer(log, dtype=np.uint8)
    byte_at = starts[record] + within * 6
    raw = np.empty((total, 3), dtype=np.int16)
    for axis in range(3):  # a loop over axes
        low = words[byte_at + 2 * axis].astype(np.uint16)
        high = words[byte_at + 2 * axis + 1].astype(np.uint16)
        raw[:, axis] = (low | (high << 8)).view(np.int16)
    samples = raw.astype(np.float32) / np.float32(scale)
    step_ns = 1e9 / rate_hz
    stamps = times[record] * 1_000_000_000 + np.round(within * step_ns).astype(np.int64)
    return stamps, samples
