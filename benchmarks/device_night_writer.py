"""A recording written as a device file: Axivity .cwa, ActiGraph .gt3x, GENEActiv .bin.

    python benchmarks/device_night_writer.py --out DIR [--hours 8] [--rate 100] [--seed 11]

Writes a simulated sleep night (sleepmove.sensor.simulate, scenario plmd-moderate, as
night.csv) as night.cwa (laid out as the real AX6 file), night-ax3.cwa (as the real AX3,
packed), night.gt3x (Link, ACTIVITY2) and night.bin (GENEActiv), and each one's samples as a
CSV beside it (night-cwa.csv, night-ax3.csv, night-gt3x.csv, night-bin.csv), into DIR.

A device stores samples at a fixed rate on its own clock: the writers take the first
sample's time, the rate and the samples in order, sample k at start + k / rate (a
host-stamped recording's jitter, repeated rows and lost packets are not kept: `from_recording`
places its samples one after the other). Headers and the records that are not samples come
from the real files in ../shared/data/real (never copied into the project); everything that
places the samples in time, says how many there are and checks them is written anew:
- .cwa: 512-byte blocks after the real 1024-byte header (its rate byte and logging start and
  end set): "AX", session, sequence number, time (whole seconds packed, and the fraction in
  1/32768 s with its offset shim), rate code, sample count, samples, checksum. AX6: 40
  samples a block as int16 (gyroscope 0, then acceleration at the real block's scale);
  AX3 unpacked: 80 as int16 at 1/256 g; AX3 packed: 120 as 10-bit values with a shared
  exponent (1/256 g up to 2 g).
- .gt3x: log.bin holds the real file's records that come before its first sample record
  (parameters, metadata), stamped at the start, then one ACTIVITY2 record a second (x, y, z
  int16 in counts of info.txt's `Acceleration Scale` per g), each with its time and
  checksum; info.txt's rate, start, stop, last sample and download times set. A record
  carries whole seconds: the night starts on the whole second nearest the given start.
- GENEActiv .bin: the real header (59 lines) with `Measurement Frequency`, `Start Time` and
  `Number of Pages` set; pages of 300 samples (12-bit x, y, z as (g x gain + offset) / 100,
  light and button 0, 12 hex digits a sample), each with its sequence number, `Page Time`
  and `Measurement Frequency`. A GENEActiv writes whole pages: samples after the last whole
  page are left out.
Clock: the .gt3x and GENEActiv headers state a zone (kept from the real files); they store
start + that offset, so that the readers give back `start_s` as the instant. A .cwa states
none: it stores `start_s` as its clock time.
"""

from __future__ import annotations

import argparse
import io
import os
import struct
import sys
import zipfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks.device_files import (  # noqa: E402
    CWA_BLOCK,
    CWA_HEADER,
    REAL,
    SOURCES,
    TICKS_AT_EPOCH,
    _cwa_packed,
    _field,
    _replace_field,
    gt3x_record,
    set_cwa_checksums,
    write_csv_of,
)

CWA_SOURCES = {"ax6": "skdh_samples/ax6_sample.cwa", "ax3": "skdh_samples/ax3_sample.cwa"}
GENEACTIV_PAGE = 300


def from_recording(recording, rate_hz: float | None = None) -> tuple[float, float, np.ndarray]:
    """(start, rate, samples) of a recording as a device stores it: its samples one after
    the other from its first time, at `rate_hz`, else its stated rate, else the whole
    number of Hz nearest its median step (a CSV states none)."""
    rate = rate_hz or recording.nominal_rate_hz
    if not rate:
        rate = round(1.0 / float(np.median(np.diff(recording.time_s[:100_000]))))
    return float(recording.time_s[0]), float(rate), np.asarray(recording.xyz_g, np.float64)


# --- Axivity .cwa -------------------------------------------------------------------------


def cwa_bytes(header: bytes, first_block: bytes, start_s: float, rate_hz: float, xyz_g) -> bytes:
    """The samples as a .cwa: the real header, then blocks laid out as the real first block
    (AX6 with gyroscope, AX3 16-bit or AX3 packed)."""
    code = int(round(15 - np.log2(3200.0 / rate_hz)))
    if not 0 <= code <= 15 or 3200.0 / (1 << (15 - code)) != rate_hz:
        raise ValueError(f"a .cwa samples at 3200 / 2^k Hz, not {rate_hz:g}")
    xyz_g = np.asarray(xyz_g, np.float64)
    n = len(xyz_g)
    axes, packing = first_block[25] >> 4, first_block[25] & 0x0F
    per_block = 120 if packing == 0 else 480 // (2 * axes)
    count = -(-n // per_block)
    blocks = np.zeros((count, CWA_BLOCK), np.uint8)
    blocks[:, :30] = np.frombuffer(first_block[:30], np.uint8)
    blocks[:, 22] = 0  # events (the real first block's "resumed")
    blocks[:, 24] = (first_block[24] & 0xF0) | code
    blocks[:, 10:14] = np.arange(count, dtype="<u4").view(np.uint8).reshape(-1, 4)
    samples = np.full(count, per_block, "<u2")
    samples[-1] = n - (count - 1) * per_block
    blocks[:, 28:30] = samples.view(np.uint8).reshape(-1, 2)
    # Each block's first sample: whole seconds, and the fraction in 1/32768 s (rounded),
    # flagged by the top bit; the offset is the shim for readers that ignore the fraction
    # (the whole second falls `fraction x rate` samples before the first).
    first = start_s + np.arange(count) * (per_block / rate_hz)
    whole = np.floor(first).astype(np.int64)
    fraction = np.round((first - whole) * 32768).astype(np.int64)
    whole, fraction = whole + (fraction >> 15), fraction & 0x7FFF
    blocks[:, 4:6] = (0x8000 | fraction).astype("<u2").view(np.uint8).reshape(-1, 2)
    blocks[:, 14:18] = _cwa_packed(whole).view(np.uint8).reshape(-1, 4)
    shim = -((fraction * 2 * int(rate_hz)) >> 16)
    blocks[:, 26:28] = shim.astype("<i2").view(np.uint8).reshape(-1, 2)
    padded = np.zeros((count * per_block, 3))
    padded[:n] = xyz_g
    data = blocks[:, 30:510]
    if packing == 0:
        data[:, :] = _cwa_packed_words(padded).view(np.uint8).reshape(count, 480)
    else:
        scale = 1 << (8 + (int.from_bytes(first_block[18:20], "little") >> 13 & 7))
        raw = np.clip(np.round(padded * scale), -32768, 32767).astype("<i2")
        words = np.zeros((count * per_block, axes), "<i2")
        words[:, axes - 3 :] = raw  # AX6: gyroscope (0) first, then acceleration
        data[:, :] = words.view(np.uint8).reshape(count, 480)
    set_cwa_checksums(blocks)
    head = bytearray(header[:CWA_HEADER])
    head[36] = blocks[0, 24]
    head[13:17] = _cwa_packed(whole[:1]).tobytes()
    head[17:21] = _cwa_packed(whole[-1:] + 1).tobytes()
    return bytes(head) + blocks.tobytes()


def _cwa_packed_words(xyz_g: np.ndarray) -> np.ndarray:
    """AX3 packed samples: x, y, z as 10-bit two's complement in 1/256 g, shifted left by a
    shared 2-bit exponent (the smallest that fits all three; clipped beyond 16 g)."""
    raw = xyz_g * 256.0
    exponent = np.zeros(len(raw), np.int64)
    for e in (1, 2, 3):  # a loop over the three larger exponents
        fits = (np.abs(np.round(raw / (1 << (e - 1)))) <= 511).all(axis=1)
        exponent = np.where((exponent == e - 1) & ~fits, e, exponent)
    mantissa = np.clip(np.round(raw / (1 << exponent)[:, None]), -512, 511).astype(np.int64)
    mantissa &= 0x3FF
    words = mantissa[:, 0] | mantissa[:, 1] << 10 | mantissa[:, 2] << 20 | exponent << 30
    return words.astype("<u4")


def write_cwa(path: str, start_s: float, rate_hz: float, xyz_g, source: str | None = None):
    """Write the samples as a .cwa laid out as `source` (a real .cwa: the AX6 by default)."""
    with open(source or os.path.join(REAL, SOURCES["cwa"]), "rb") as handle:
        real = handle.read(CWA_HEADER + CWA_BLOCK)
    _write(path, cwa_bytes(real[:CWA_HEADER], real[CWA_HEADER:], start_s, rate_hz, xyz_g))
    return len(xyz_g)


# --- ActiGraph .gt3x --------------------------------------------------------------------


def gt3x_bytes(source_path: str, start_s: float, rate_hz: float, xyz_g) -> bytes:
    """The samples as a .gt3x: the real file's members, log.bin written anew."""
    from sleepmove.sensor.formats.gt3x import ACTIVITY, ACTIVITY2, _info_of, record_table
    from sleepmove.sensor.zones import parse_offset

    if rate_hz != int(rate_hz):
        raise ValueError(f"a .gt3x record holds a second of samples: {rate_hz:g} Hz is not whole")
    per_second = int(rate_hz)
    with zipfile.ZipFile(source_path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    info_text = members["info.txt"].decode("utf-8")
    info = _info_of(members["info.txt"])
    scale = float(info.get("Acceleration Scale", "256").replace(",", "."))
    local = start_s + (parse_offset(info.get("TimeZone", "")) or 0.0)
    t0 = int(round(local))
    log = members["log.bin"]
    types, _, starts, sizes = record_table(log)
    first = int(np.flatnonzero(np.isin(types, (ACTIVITY, ACTIVITY2)) & (sizes >= 6))[0])
    prefix = [  # a loop over the records before the samples (parameters, metadata)
        gt3x_record(int(types[i]), t0, log[int(starts[i]) : int(starts[i] + sizes[i])])
        for i in range(first)
    ]
    xyz_g = np.asarray(xyz_g, np.float64)
    n = len(xyz_g)
    raw = np.clip(np.round(xyz_g * scale), -32768, 32767).astype("<i2", order="C")
    whole = n // per_second
    size = 6 * per_second
    records = np.empty((whole, 9 + size), np.uint8)
    records[:, 0], records[:, 1] = 0x1E, ACTIVITY2
    records[:, 2:6] = (
        (t0 + np.arange(whole, dtype=np.int64)).astype("<u4").view(np.uint8).reshape(-1, 4)
    )
    records[:, 6:8] = np.frombuffer(struct.pack("<H", size), np.uint8)
    records[:, 8:-1] = raw[: whole * per_second].view(np.uint8).reshape(whole, size)
    records[:, -1] = ~np.bitwise_xor.reduce(records[:, :-1], axis=1)
    parts = [*prefix, records.tobytes()]
    if n > whole * per_second:  # the last second, part of it
        parts.append(gt3x_record(ACTIVITY2, t0 + whole, raw[whole * per_second :].tobytes()))
    first_tick = t0 * 10_000_000 + TICKS_AT_EPOCH
    last = int(round((t0 + (n - 1) / rate_hz) * 10_000_000)) + TICKS_AT_EPOCH
    fields = {
        "Sample Rate": f"{per_second}",
        "Start Date": str(first_tick),
        "Stop Date": str(last),
        "Last Sample Time": str(last),
        "Download Date": str(last),
    }
    for key, value in fields.items():  # a loop over info.txt's fields
        if key + ":" in info_text:
            info_text = _replace_field(info_text, key, " " + value)
    members["info.txt"] = info_text.encode("utf-8")
    members["log.bin"] = b"".join(parts)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as archive:
        for name, data in members.items():  # a loop over members
            archive.writestr(name, data)
    return out.getvalue()


def write_gt3x(path: str, start_s: float, rate_hz: float, xyz_g, source: str | None = None):
    """Write the samples as a .gt3x built on `source` (the real Link file by default)."""
    _write(path, gt3x_bytes(source or os.path.join(REAL, SOURCES["gt3x"]), start_s, rate_hz, xyz_g))
    return len(xyz_g)


# --- GENEActiv .bin ---------------------------------------------------------------------


def geneactiv_bytes(source: bytes, start_s: float, rate_hz: float, xyz_g) -> bytes:
    """The samples (whole pages of them) as a GENEActiv .bin on the real file's header."""
    from sleepmove.sensor.zones import parse_offset

    text = source.decode("latin-1")
    marker = "Recorded Data"
    header, page = text.split(marker)[:2]
    page_lines = (marker + page).split("\n")[:9]  # the page's text lines, then its data
    xyz_g = np.asarray(xyz_g, np.float64)
    pages = len(xyz_g) // GENEACTIV_PAGE
    n = pages * GENEACTIV_PAGE
    raw = np.empty((n, 3), np.int64)
    for axis, name in enumerate("xyz"):  # a loop over axes
        gain, offset = (
            float(_field(header, f"{name} gain")),
            float(_field(header, f"{name} offset")),
        )
        raw[:, axis] = np.clip(np.round((xyz_g[:n, axis] * gain + offset) / 100), -2048, 2047)
    # 12 hex digits a sample: x, y, z (12 bits each), then light (10), button, a spare bit.
    word = (raw[:, 0] & 0xFFF) << 36 | (raw[:, 1] & 0xFFF) << 24 | (raw[:, 2] & 0xFFF) << 12
    nibbles = (word[:, None] >> np.arange(44, -1, -4)) & 0xF
    digits = np.frombuffer(b"0123456789ABCDEF", np.uint8)[nibbles]
    rows = np.empty((pages, GENEACTIV_PAGE * 12 + 1), np.uint8)
    rows[:, :-1] = digits.reshape(pages, -1)
    rows[:, -1] = ord("\n")
    local = start_s + (parse_offset(_field(header, "Time Zone")) or 0.0)
    first_ms = int(round(local * 1000))
    times = first_ms + np.round(np.arange(pages) * GENEACTIV_PAGE * 1000 / rate_hz).astype(np.int64)
    stamps = np.datetime_as_string(times.astype("M8[ms]"), unit="ms")
    frequency = f"{rate_hz:.1f}"
    header = _replace_field(header, "Measurement Frequency", f"{rate_hz:g} Hz")
    header = _replace_field(header, "Start Time", _geneactiv_time(stamps[0]))
    header = _replace_field(header, "Number of Pages", str(pages))
    template = "\n".join(page_lines) + "\n"
    template = _replace_field(template, "Sequence Number", "{sequence}")
    template = _replace_field(template, "Page Time", "{time}")
    template = _replace_field(template, "Measurement Frequency", frequency)
    parts = [header.encode("latin-1")]
    for index in range(pages):  # a loop over pages: their text lines
        head = template.format(sequence=index, time=_geneactiv_time(stamps[index]))
        parts += [head.encode("latin-1"), rows[index].tobytes()]
    return b"".join(parts)


def _geneactiv_time(iso: str) -> str:
    """2025-03-17T12:37:33.000 as a GENEActiv writes it: 2025-03-17 12:37:33:000."""
    return iso[:10] + " " + iso[11:19] + ":" + iso[20:23]


def write_geneactiv(path: str, start_s: float, rate_hz: float, xyz_g, source: str | None = None):
    """Write the samples (whole pages) as a GENEActiv .bin; returns the samples written."""
    with open(source or os.path.join(REAL, SOURCES["bin"]), "rb") as handle:
        data = geneactiv_bytes(handle.read(), start_s, rate_hz, xyz_g)
    _write(path, data)
    return len(xyz_g) // GENEACTIV_PAGE * GENEACTIV_PAGE


WRITERS = {"cwa": write_cwa, "gt3x": write_gt3x, "bin": write_geneactiv}


def _write(path: str, data: bytes) -> None:
    with open(path, "wb") as handle:
        handle.write(data)


# Each file of the night: its name, writer and the real file it is laid out on.
NIGHT_FILES = {
    "cwa": ("night.cwa", write_cwa, CWA_SOURCES["ax6"]),
    "ax3.cwa": ("night-ax3.cwa", write_cwa, CWA_SOURCES["ax3"]),
    "gt3x": ("night.gt3x", write_gt3x, SOURCES["gt3x"]),
    "bin": ("night.bin", write_geneactiv, SOURCES["bin"]),
}


def write_night(
    folder: str,
    hours: float = 8.0,
    rate_hz: float = 100.0,
    seed: int = 11,
    scenario: str = "plmd-moderate",
    csv: bool = True,
    real: str = REAL,
) -> dict[str, str]:
    """A simulated night as night.csv (as simulated; kept if there) and in every format of
    NIGHT_FILES, and (`csv`) each device file's samples as a CSV (night-cwa.csv,
    night-ax3.csv, night-gt3x.csv, night-bin.csv); their paths by NIGHT_FILES' keys
    ("csv-" before them for the CSVs, "simulated" for night.csv)."""
    from sleepmove.sensor.readers import read_recording
    from sleepmove.sensor.simulate import simulate

    os.makedirs(folder, exist_ok=True)
    simulated = os.path.join(folder, "night.csv")
    if not os.path.exists(simulated):
        simulate(folder, hours, rate_hz, None, seed=seed, scenario=scenario, mixed_rates=False)
    start, rate, xyz = from_recording(read_recording(simulated))
    paths = {"simulated": simulated}
    for key, (name, writer, source) in NIGHT_FILES.items():  # a loop over files
        paths[key] = os.path.join(folder, name)
        writer(paths[key], start, rate, xyz, os.path.join(real, source))
        if csv:
            paths[f"csv-{key}"] = os.path.join(folder, f"night-{key.split('.')[0]}.csv")
            write_csv_of(paths[key], paths[f"csv-{key}"])
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="folder for the files (not the project)")
    parser.add_argument("--hours", type=float, default=8.0)
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--real", default=REAL, help="folder of the real sample files")
    args = parser.parse_args()
    paths = write_night(args.out, args.hours, args.rate, args.seed, real=args.real)
    for fmt, path in paths.items():
        print(f"{fmt}: {path} ({os.path.getsize(path) / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
