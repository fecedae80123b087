"""Axivity .cwa (AX3, AX6): a 1024-byte header ("MD"), then 512-byte blocks ("AX").

Decoded by actfast; AX6 blocks' gyroscope samples are ignored. A .cwa states no zone.
actfast refuses a whole file for one damaged block: then the blocks that fail their
checksum, or whose time stamp is no date (a checksum holds over bad bytes too), or that are
cut short, are left out and the rest decoded, with a warning."""

from __future__ import annotations

import os

import numpy as np

from sleepmove.base.errors import InputError
from sleepmove.sensor.formats.samples import decode_mended, decode_with_actfast, device_recording
from sleepmove.sensor.recording import Recording

NAME = "an Axivity .cwa file"
HEADER_BYTES, BLOCK_BYTES = 1024, 512


def recognizes(head: bytes, path: str) -> bool:
    # "MD" and the header packet's length (1020 bytes after these four).
    return head[:2] == b"MD" and int.from_bytes(head[2:4], "little") == 1020


def read(path: str, units: str) -> tuple[Recording, float | None]:
    warnings: list[str] = []
    size = os.path.getsize(path)
    if size < HEADER_BYTES + BLOCK_BYTES:  # no whole block: actfast would say nothing useful
        inside = "cut short inside its header" if size < HEADER_BYTES else "no whole data block"
        raise InputError(
            path,
            f"{NAME} of {size} bytes: {inside}",
            expected=f"its {HEADER_BYTES}-byte header followed by {BLOCK_BYTES}-byte data blocks",
        )
    try:
        result = decode_with_actfast(path, NAME)
    except InputError:
        result = _decode_good_blocks(path, warnings)
    else:  # actfast ignores a last block cut short without a word
        cut = (os.path.getsize(path) - HEADER_BYTES) % BLOCK_BYTES
        if cut:
            warnings.append(_cut_warning(cut))
    samples = result["timeseries"].get("high_frequency", {})
    if not len(samples.get("datetime", [])):
        _refuse_empty_blocks(path)
    rate = result["metadata"].get("configuration", {}).get("sample_rate_hz") or 0
    recording = device_recording(
        path,
        NAME,
        samples.get("datetime", []),
        samples.get("acceleration"),
        units,
        float(rate) or None,
        warnings,
        spare=samples.get("gyroscope"),  # not analyzed: its memory takes the samples
    )
    return recording, None


def good_blocks(data: bytes) -> np.ndarray:
    """Which whole data blocks are intact: "AX" and 256 little-endian words summing to 0."""
    count = (len(data) - HEADER_BYTES) // BLOCK_BYTES
    blocks = np.frombuffer(data, np.uint8, count * BLOCK_BYTES, HEADER_BYTES).reshape(count, -1)
    words = blocks.view("<u2")
    tagged = (blocks[:, 0] == ord("A")) & (blocks[:, 1] == ord("X"))
    return tagged & (words.sum(axis=1, dtype=np.uint64) % 65536 == 0)


def possible_times(blocks: np.ndarray) -> np.ndarray:
    """Whether each block's packed time stamp (bytes 14-17: YYYYYYMM MMDDDDDh hhhhmmmm
    mmssssss, from 2000) is a date and time of day: actfast refuses the file for one that
    is not (0xFFFFFFFF is the 31st of month 15, 31:63:63)."""
    packed = blocks[:, 14:18].copy().view("<u4")[:, 0].astype(np.int64)
    year, month = 2000 + (packed >> 26 & 0x3F), packed >> 22 & 0x0F
    day, hour = packed >> 17 & 0x1F, packed >> 12 & 0x1F
    minute, second = packed >> 6 & 0x3F, packed & 0x3F
    first = ((year - 1970) * 12 + np.clip(month, 1, 12) - 1).astype("M8[M]")
    days = ((first + 1).astype("M8[D]") - first.astype("M8[D]")).astype(np.int64)
    date = (month >= 1) & (month <= 12) & (day >= 1) & (day <= days)
    return date & (hour < 24) & (minute < 60) & (second < 60)


def _decode_good_blocks(path: str, warnings: list[str]) -> dict:
    with open(path, "rb") as handle:
        data = handle.read()
    summed = good_blocks(data)
    count = len(summed)
    blocks = np.frombuffer(data, np.uint8, count * BLOCK_BYTES, HEADER_BYTES).reshape(count, -1)
    timed = possible_times(blocks)
    intact = summed & timed
    # Blocks that are neither data nor damaged (unused sectors of 0xFF) are not counted.
    unused = (blocks[:, :2] == 0xFF).all(axis=1)
    damaged = int((~intact & ~unused).sum())
    cut = (len(data) - HEADER_BYTES) % BLOCK_BYTES
    if not intact.any() or (intact.all() and cut == 0):
        return decode_with_actfast(path, NAME)  # nothing to leave out: its own error
    result = decode_mended(data[:HEADER_BYTES] + blocks[intact].tobytes(), ".cwa", NAME)
    if damaged:
        first = int(np.flatnonzero(~intact & ~unused)[0])
        failed = (~summed & ~unused).any(), (summed & ~timed).any()
        why = " or ".join(
            reason
            for reason, seen in zip(("failed checksum", "impossible time stamp"), failed)
            if seen
        )
        warnings.append(
            f"{damaged} damaged data blocks ({why}; first at byte "
            f"{HEADER_BYTES + first * BLOCK_BYTES}) left out; the other {int(intact.sum())} read"
        )
    # Erased sectors among the data (a download interrupted, a card's bad sectors): actfast
    # refused the whole file for them; those after the last data block are a file's tail.
    erased = int(unused[: int(np.flatnonzero(intact)[-1])].sum())
    if erased:
        warnings.append(f"{erased} erased blocks (all bytes 0xFF) among the data left out")
    if cut:
        warnings.append(_cut_warning(cut))
    return result


def _refuse_empty_blocks(path: str) -> None:
    """Refuse a file whose data blocks all state a sample count of 0, in those words: "no
    samples that could be decoded (the file may be an epoch-only recording)" misled."""
    count = (os.path.getsize(path) - HEADER_BYTES) // BLOCK_BYTES
    blocks = np.memmap(path, np.uint8, "r", HEADER_BYTES, (count, BLOCK_BYTES))
    tagged = (blocks[:, 0] == ord("A")) & (blocks[:, 1] == ord("X"))
    samples = blocks[:, 28:30][tagged].copy().view("<u2")
    if tagged.any() and not samples.any():
        raise InputError(
            path,
            f"{NAME} whose {int(tagged.sum()):,} data blocks hold no samples (each states a "
            "sample count of 0)",
            expected="data blocks holding samples, as the device wrote them",
        )


def _cut_warning(cut: int) -> str:
    return f"the file is cut short: its last {cut} bytes (part of a block) ignored"
