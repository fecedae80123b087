"""Long device files built from the real small ones, by repeating their blocks.

    python benchmarks/device_files.py --out DIR [--minutes 480] [--real DIR]

Writes night.cwa (Axivity AX6, 100 Hz), night.bin (GENEActiv, 60 Hz) and night.gt3x
(ActiGraph Link ACTIVITY2, 100 Hz) into DIR, each `--minutes` long, and each one's samples
as a CSV (night-cwa.csv, night-bin.csv, night-gt3x.csv) for comparison. Every block is a
real one, repeated: only what places it in time changes, and what checks it follows.
- .cwa: each 512-byte block's sequence number and time stamp (whole seconds packed, and the
  fraction) move by a whole number of repetitions of the file; its checksum is recomputed.
- GENEActiv .bin: each page's sequence number and `Page Time`; the header's page count.
- .gt3x: the sample records (ACTIVITY or ACTIVITY2, one a second) follow each other second
  by second, each with its time and checksum; the records before the first sample record
  (parameters, metadata) stay once; info.txt's last sample time and download date follow.
  The members are stored uncompressed, as the devices write them.
Built in a temporary or given folder, never in the project: the real files are not ours.
"""

from __future__ import annotations

import argparse
import os
import struct
import sys
import zipfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

REAL = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "..", "shared")
REAL = os.path.normpath(os.path.join(REAL, "data", "real"))
SOURCES = {
    "cwa": "skdh_samples/ax6_sample.cwa",
    "bin": "wristpy_samples/example_geneactiv.bin",
    "gt3x": "readgt3x_actigraph/TAS1H30182785_2019-09-17.gt3x",
}
CWA_HEADER, CWA_BLOCK = 1024, 512
TICKS_AT_EPOCH = 621355968000000000  # .NET ticks (100 ns from year 1) at 1970-01-01


# --- Axivity .cwa -------------------------------------------------------------------------


def _cwa_seconds(packed: np.ndarray) -> np.ndarray:
    """Packed cwa times (YYYYYYMM MMDDDDDh hhhhmmmm mmssssss) as seconds since 1970."""
    packed = packed.astype(np.int64)
    year, month = 2000 + (packed >> 26 & 0x3F), packed >> 22 & 0x0F
    day, hour = packed >> 17 & 0x1F, packed >> 12 & 0x1F
    minute, second = packed >> 6 & 0x3F, packed & 0x3F
    months = (year - 1970) * 12 + month - 1
    days = months.astype("M8[M]").astype("M8[D]").astype(np.int64) + day - 1
    return days * 86400 + hour * 3600 + minute * 60 + second


def _cwa_packed(seconds: np.ndarray) -> np.ndarray:
    days = (seconds // 86400).astype("M8[D]")
    months = days.astype("M8[M]")
    years = months.astype("M8[Y]").astype(np.int64) + 1970
    month = months.astype(np.int64) % 12 + 1
    day = (days - months.astype("M8[D]")).astype(np.int64) + 1
    rest = seconds % 86400
    hour, minute, second = rest // 3600, rest // 60 % 60, rest % 60
    return (
        (years - 2000) << 26 | month << 22 | day << 17 | hour << 12 | minute << 6 | second
    ).astype("<u4")


def cwa_night(source: bytes, minutes: float) -> bytes:
    """The .cwa's data blocks repeated for `minutes`, each repetition later by the file's span."""
    count = (len(source) - CWA_HEADER) // CWA_BLOCK
    blocks = np.frombuffer(source, np.uint8, count * CWA_BLOCK, CWA_HEADER).reshape(count, -1)
    fields = (
        blocks[:, 4:18]
        .copy()
        .view(
            np.dtype([("frac", "<u2"), ("session", "<u4"), ("sequence", "<u4"), ("time", "<u4")])
        )[:, 0]
    )
    # A block's time: whole seconds, and 1/65536 s in the low 15 bits of `frac` (x2) when
    # its top bit is set.
    fraction = np.where(fields["frac"] & 0x8000, (fields["frac"] & 0x7FFF).astype(np.int64) * 2, 0)
    ticks = _cwa_seconds(fields["time"]) * 65536 + fraction  # in 1/65536 s
    interval = (ticks[-1] - ticks[0]) / (count - 1)
    period = int(round(interval * count))  # one repetition of the whole file, in ticks
    repeats = int(np.ceil(minutes * 60 * 65536 / period))
    out = np.tile(blocks, (repeats, 1))
    shifted = np.tile(ticks, repeats) + np.repeat(np.arange(repeats) * period, count)
    frac = np.where(fields["frac"] & 0x8000, 0x8000, 0)
    frac = np.tile(frac, repeats) | np.where(
        np.tile(fields["frac"] & 0x8000, repeats), (shifted % 65536) // 2, 0
    )
    out[:, 4:6] = frac.astype("<u2").view(np.uint8).reshape(-1, 2)
    # The stamp is that of sample `offset + fraction x rate` (the format's shim for older
    # readers): a new fraction moves the offset, so each sample keeps its time.
    rate = 3200.0 / (1 << (15 - (blocks[:, 24].astype(np.int64) & 15)))
    old_offset = blocks[:, 26:28].copy().view("<i2")[:, 0].astype(np.int64)
    shim = (np.tile(fraction, repeats) * np.tile(rate, repeats)).astype(np.int64) >> 16
    new_fraction = np.where(
        np.tile(fields["frac"] & 0x8000, repeats), (shifted % 65536) // 2 * 2, 0
    )
    offset = (
        np.tile(old_offset, repeats)
        + shim
        - ((new_fraction * np.tile(rate, repeats)).astype(np.int64) >> 16)
    )
    out[:, 26:28] = offset.astype("<i2").view(np.uint8).reshape(-1, 2)
    sequence = np.arange(len(out), dtype="<u4")
    out[:, 10:14] = sequence.view(np.uint8).reshape(-1, 4)
    out[:, 14:18] = _cwa_packed(shifted // 65536).view(np.uint8).reshape(-1, 4)
    set_cwa_checksums(out)
    return source[:CWA_HEADER] + out.tobytes()


def set_cwa_checksums(blocks: np.ndarray) -> None:
    """Each block's last word makes its 256 little-endian words sum to 0 (mod 65536)."""
    words = blocks[:, :510].view("<u2").sum(axis=1, dtype=np.uint64)
    blocks[:, 510:512] = (
        ((-words.astype(np.int64)) & 0xFFFF).astype("<u2").view(np.uint8).reshape(-1, 2)
    )


# --- GENEActiv .bin ---------------------------------------------------------------------


def geneactiv_night(source: bytes, minutes: float) -> bytes:
    """The .bin's pages repeated for `minutes`, each repetition later by the file's span."""
    text = source.decode("latin-1")
    marker = "Recorded Data"
    header, *pages = text.split(marker)
    times = [_page_time(page) for page in pages]  # a loop over pages
    interval = (times[-1] - times[0]) / (len(pages) - 1)
    period = interval * len(pages)
    repeats = int(np.ceil(minutes * 60 / period))
    header = _replace_field(header, "Number of Pages", str(repeats * len(pages)))
    out = [header]
    for k in range(repeats):  # a loop over pages
        for i, page in enumerate(pages):
            page = _replace_field(page, "Sequence Number", str(k * len(pages) + i))
            when = np.datetime64(int(round((times[i] + k * period) * 1000)), "ms")
            stamp = str(when).replace("T", " ")
            stamp = stamp[:19] + ":" + stamp[20:23] if "." in stamp else stamp[:19] + ":000"
            out.append(marker + _replace_field(page, "Page Time", stamp))
    return "".join(out).encode("latin-1")


def _page_time(page: str) -> float:
    value = _field(page, "Page Time")
    date, clock = value[:10], value[11:]
    hh, mm, ss, ms = (int(part) for part in clock.split(":"))
    day = np.datetime64(date, "D").astype(np.int64)
    return day * 86400 + hh * 3600 + mm * 60 + ss + ms / 1000


def _field(text: str, key: str) -> str:
    start = text.index(key + ":") + len(key) + 1
    return text[start : text.index("\n", start)].strip()


def _replace_field(text: str, key: str, value: str) -> str:
    start = text.index(key + ":") + len(key) + 1
    end = text.index("\n", start)
    ending = "\r" if text[end - 1] == "\r" else ""
    return text[:start] + value + ending + text[end:]


# --- ActiGraph .gt3x --------------------------------------------------------------------


def gt3x_night(source_path: str, minutes: float) -> bytes:
    """The .gt3x's sample records one a second for `minutes`, in their order, repeated."""
    import io

    from sleepmove.sensor.formats.gt3x import ACTIVITY, ACTIVITY2, record_table

    with zipfile.ZipFile(source_path) as archive:
        log = archive.read("log.bin")
        others = {n: archive.read(n) for n in archive.namelist() if n != "log.bin"}
    types, times, starts, sizes = record_table(log)
    holds_samples = np.isin(types, (ACTIVITY, ACTIVITY2)) & (sizes >= 6)
    first = int(np.flatnonzero(holds_samples)[0])
    prefix = log[: int(starts[first]) - 8]  # parameters and metadata: once
    chosen = np.flatnonzero(holds_samples)
    seconds = int(round(minutes * 60))
    t0 = int(times[first])
    parts = [prefix]
    for j in range(seconds):  # a loop over records (one a second)
        i = chosen[j % len(chosen)]
        start, size = int(starts[i]), int(sizes[i])
        parts.append(gt3x_record(int(types[i]), t0 + j, log[start : start + size]))
    info = others["info.txt"].decode("utf-8")
    last = (t0 + seconds) * 10_000_000 + TICKS_AT_EPOCH
    for key in ("Last Sample Time", "Download Date"):
        info = _replace_field(info, key, str(last)) if key + ":" in info else info
    others["info.txt"] = info.encode("utf-8")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("log.bin", b"".join(parts))
        for name, data in others.items():  # a loop over members
            archive.writestr(name, data)
    return out.getvalue()


def gt3x_record(kind: int, time_s: int, payload: bytes) -> bytes:
    """One log.bin record: separator, type, time, size, payload, then the checksum: the
    complement of the XOR of every byte before it."""
    head = bytes([0x1E, kind]) + struct.pack("<IH", time_s, len(payload))
    xor = np.bitwise_xor.reduce(np.frombuffer(head + payload, np.uint8))
    return head + payload + bytes([~int(xor) & 0xFF])


# --- damage -------------------------------------------------------------------------------


def flipped(data: bytes, at: int) -> bytes:
    """The bytes with one byte inverted (a bit error on the card)."""
    return data[:at] + bytes([data[at] ^ 0xFF]) + data[at + 1 :]


def stored_member_offset(data: bytes, name: str) -> int:
    """Where a stored zip member's bytes begin (its local header is 30 bytes, then name and
    extra field)."""
    import io

    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        info = archive.getinfo(name)
    name_len, extra_len = struct.unpack_from("<HH", data, info.header_offset + 26)
    return info.header_offset + 30 + name_len + extra_len


# --- the files ----------------------------------------------------------------------------


def build(folder: str, minutes: float, real: str = REAL, csv: bool = True) -> dict[str, str]:
    """Write night.cwa, night.bin and night.gt3x, and (`csv`) each one's samples as a CSV:
    night-cwa.csv, night-bin.csv and night-gt3x.csv (`paths["csv"]` is the .gt3x's)."""
    os.makedirs(folder, exist_ok=True)
    paths = {fmt: os.path.join(folder, f"night.{fmt}") for fmt in SOURCES}
    with open(os.path.join(real, SOURCES["cwa"]), "rb") as handle:
        data = cwa_night(handle.read(), minutes)
    _write(paths["cwa"], data)
    with open(os.path.join(real, SOURCES["bin"]), "rb") as handle:
        data = geneactiv_night(handle.read(), minutes)
    _write(paths["bin"], data)
    _write(paths["gt3x"], gt3x_night(os.path.join(real, SOURCES["gt3x"]), minutes))
    if csv:
        for fmt in SOURCES:  # a loop over formats: each night as CSV, the same samples
            paths[f"csv-{fmt}"] = os.path.join(folder, f"night-{fmt}.csv")
            write_csv_of(paths[fmt], paths[f"csv-{fmt}"])
        paths["csv"] = paths["csv-gt3x"]
    return paths


def write_csv_of(device_path: str, csv_path: str) -> None:
    """The device file's samples as a plain CSV (unix seconds, x, y, z in g): the same night."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    from sleepmove.sensor.formats import read_recording

    rec = read_recording(device_path)
    table = pa.table(
        {
            # Milliseconds keep a 100 Hz night's stamps; a 60 Hz one's (16.67 ms apart) are
            # rounded to them, as a CSV export would, and go back onto the grid.
            "time": pa.array(np.round(rec.time_s, 3)),
            "x": rec.xyz_g[:, 0],
            "y": rec.xyz_g[:, 1],
            "z": rec.xyz_g[:, 2],
        }
    )
    pacsv.write_csv(table, csv_path, pacsv.WriteOptions(quoting_style="none"))


def _write(path: str, data: bytes) -> None:
    with open(path, "wb") as handle:
        handle.write(data)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="folder for the files (not the project)")
    parser.add_argument("--minutes", type=float, default=480.0)
    parser.add_argument("--real", default=REAL, help="folder of the real sample files")
    args = parser.parse_args()
    for fmt, path in build(args.out, args.minutes, args.real).items():
        print(f"{fmt}: {path} ({os.path.getsize(path) / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
