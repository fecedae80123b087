"""Axivity .cwa (AX3, AX6): a 1024-byte header ("MD"), then 512-byte blocks ("AX").

Decoded by actfast; AX6 blocks' gyroscope samples are ignored. A .cwa states no zone.
actfast refuses a whole file for one damaged block: then the blocks that fail their
checksum, or whose time stamp is no date (a checksum holds over bad bytes too), or that are
cut short, are left out and the rest decoded, with a warning. So are blocks whose time stamp
is a date far from both neighbours' (`samples.stray_blocks`), which actfast decodes. Bytes
inserted or lost put every block after them out of step with the 512-byte grid: the blocks
are found again by their "AX" tag and checksum (`block_starts`), and only the stretch
between is skipped.

An AX6 block of 6 axes holds each sample's gyroscope, then its accelerometer (the real
AX6 file and its CSV export agree: at rest the latter is 1 g); actfast takes the second."""

from __future__ import annotations

import os

import numpy as np

from sleepmove.base.errors import InputError
from sleepmove.sensor.formats.samples import (
    decode_mended,
    decode_with_actfast,
    device_recording,
    stray_blocks,
)
from sleepmove.sensor.recording import Recording

NAME = "an Axivity .cwa file"
HEADER_BYTES, BLOCK_BYTES = 1024, 512


HEADER_TAG = b"MD" + (1020).to_bytes(2, "little")  # "MD", the packet's length after these four
BLOCK_TAG = b"AX" + (508).to_bytes(2, "little")


def recognizes(head: bytes, path: str) -> bool:
    # Its header's tag, or, that damaged, a data block's where the first one starts.
    return head[:4] == HEADER_TAG or head[HEADER_BYTES : HEADER_BYTES + 4] == BLOCK_TAG


def _read_mended_header(path: str, units: str) -> tuple[Recording, float | None]:
    """A file whose header tag is damaged (its blocks are there): read as any .cwa, from a
    copy with the tag mended (damaged blocks, stray stamps and a cut end handled alike)."""
    import dataclasses
    import tempfile

    with open(path, "rb") as handle:
        data = handle.read()
    handle_out, mended = tempfile.mkstemp(suffix=".cwa")
    try:
        with os.fdopen(handle_out, "wb") as out:
            out.write(HEADER_TAG + data[4:])
        try:
            recording, offset = read(mended, units)
        except InputError as error:
            raise InputError(
                path,
                f"{NAME} whose header is damaged (it begins {data[:4]!r}, not {HEADER_TAG!r}), "
                f"read with it mended: {error.problem}",
                expected=error.expected,
            ) from None
    finally:
        os.unlink(mended)
    warning = f"the header begins {data[:4]!r}, not {HEADER_TAG!r} (damaged): read with it mended"
    return dataclasses.replace(
        recording, path=path, warnings=[warning, *recording.warnings]
    ), offset


def read(path: str, units: str) -> tuple[Recording, float | None]:
    warnings: list[str] = []
    with open(path, "rb") as handle:
        if handle.read(4) != HEADER_TAG:
            return _read_mended_header(path, units)
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
    else:
        heads = _block_heads(path)
        if _stray_stamps(path, heads).any() or impossible_fields(heads).any():
            result = _decode_good_blocks(path, warnings)  # decoded, but damaged: left out
        elif cut := (os.path.getsize(path) - HEADER_BYTES) % BLOCK_BYTES:
            warnings.append(_cut_warning(cut))  # actfast ignores it without a word
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


def _intact(blocks: np.ndarray) -> np.ndarray:
    """Which of these (n, 512) blocks begin "AX" and have words summing to 0."""
    words = blocks.view("<u2")
    tagged = (blocks[:, 0] == ord("A")) & (blocks[:, 1] == ord("X"))
    return tagged & (words.sum(axis=1, dtype=np.uint64) % 65536 == 0)


def block_starts(data: bytes) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """Where each 512-byte block starts, and the stretches (byte, length) skipped.

    Blocks follow the header every 512 bytes. Where one is not intact, the next intact
    block is looked for byte by byte (by its tag, then its checksum): found a whole number
    of blocks on, the blocks between are damaged in place (kept here, and left out and
    counted by the caller); found elsewhere, bytes were inserted or lost, and the blocks
    read on from there (read at fixed offsets, 2 bytes inserted lost every block after
    them). A block found never lies before the damaged one: the loop ends."""
    arr = np.frombuffer(data, np.uint8)
    runs: list[np.ndarray] = []
    skipped: list[tuple[int, int]] = []
    start = HEADER_BYTES
    while True:  # a loop over stretches of blocks in step
        count = (len(data) - start) // BLOCK_BYTES
        whole = _intact(arr[start : start + count * BLOCK_BYTES].reshape(count, BLOCK_BYTES))
        failed, resume, index = np.flatnonzero(~whole), None, 0
        while index < len(failed):  # a loop over damaged blocks (one search per stretch)
            at = start + int(failed[index]) * BLOCK_BYTES
            found = _next_intact_block(data, at + 1)
            if found is None:  # none after: the rest stays in step (erased tail, a cut)
                break
            if (found - at) % BLOCK_BYTES:
                resume = found
                break
            index = int(np.searchsorted(failed, (found - start) // BLOCK_BYTES))
        if resume is None:
            runs.append(start + BLOCK_BYTES * np.arange(count))
            return np.concatenate(runs), skipped
        runs.append(start + BLOCK_BYTES * np.arange(int(failed[index])))
        skipped.append((at, resume - at))
        start = resume


def _next_intact_block(data: bytes, position: int) -> int | None:
    """The first byte from `position` on where an intact block begins (a loop over the
    places its 4-byte tag occurs: after damage only)."""
    while (at := data.find(BLOCK_TAG, position)) >= 0 and at + BLOCK_BYTES <= len(data):
        words = np.frombuffer(data, "<u2", BLOCK_BYTES // 2, at)
        if int(words.sum(dtype=np.uint64)) % 65536 == 0:
            return at
        position = at + 1
    return None


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


def block_seconds(blocks: np.ndarray) -> np.ndarray:
    """Each block's time stamp in seconds from 1970 on the device's clock: the packed whole
    seconds (see possible_times; a stamp that is no date gives nonsense) and, where bit 15
    of bytes 4-5 is set, their low 15 bits in 1/32768 s."""
    packed = blocks[:, 14:18].copy().view("<u4")[:, 0].astype(np.int64)
    year, month = 2000 + (packed >> 26 & 0x3F), np.clip(packed >> 22 & 0x0F, 1, 12)
    day, hour = packed >> 17 & 0x1F, packed >> 12 & 0x1F
    minute, second = packed >> 6 & 0x3F, packed & 0x3F
    days = ((year - 1970) * 12 + month - 1).astype("M8[M]").astype("M8[D]").astype(np.int64)
    whole = (days + day - 1) * 86400 + hour * 3600 + minute * 60 + second
    fraction = blocks[:, 4:6].copy().view("<u2")[:, 0]
    return whole + np.where(fraction & 0x8000, (fraction & 0x7FFF) / 32768, 0.0)


def _block_heads(path: str) -> np.ndarray:
    """Each block's first HEAD_BYTES (tag, fraction, time stamp, rate, sample count...)."""
    count = (os.path.getsize(path) - HEADER_BYTES) // BLOCK_BYTES
    blocks = np.memmap(path, np.uint8, "r", HEADER_BYTES, (count, BLOCK_BYTES))
    return np.array(blocks[:, :HEAD_BYTES])


HEAD_BYTES = 30  # up to the samples


def impossible_fields(heads: np.ndarray) -> np.ndarray:
    """Which tagged blocks state what no recording holds, their checksum true (bytes
    corrupted before it was made): a rate code under 6.25 Hz (every block's code 0 made 5
    minutes an hour at 18 Hz; old firmware's code 0 with its rate in the offset's place is
    kept), another rate than most blocks', no samples (but in the last block) or more than
    the block holds, or a time offset (the index of the sample the whole second fell on)
    beyond a second and two blocks of samples (32767 moved the start 2.5 minutes)."""
    tagged = (heads[:, 0] == ord("A")) & (heads[:, 1] == ord("X"))
    code = heads[:, 24].astype(np.int64)
    codes, counts = np.unique(code[tagged], return_counts=True)
    usual = codes[np.argmax(counts)] if len(codes) else -1
    layout = heads[:, 25].astype(np.int64)
    axes, packing = layout >> 4, layout & 0x0F
    per_sample = np.where(packing == 0, 4, np.maximum(axes, 1) * np.maximum(packing, 1))
    most = 480 // per_sample
    samples = heads[:, 28:30].copy().view("<u2")[:, 0].astype(np.int64)
    offset = heads[:, 26:28].copy().view("<i2")[:, 0].astype(np.int64)
    # Old firmware writes rate code 0 and the rate in the offset's place.
    old = (code == 0) & (offset > 0) & (offset <= 3200)
    rate = 3200.0 / 2.0 ** (15 - (code & 0x0F))
    # The offset is the index of the sample the whole second fell on: from about a second
    # of samples before the block (a fractional stamp) to a little past its end.
    far = np.abs(offset) > rate + 2 * most
    impossible = (((code & 0x0F) < 6) | far) & ~old | (code != usual)
    # A block of no samples: the last may be one written as the device stopped
    last = np.zeros(len(heads), dtype=bool)
    if tagged.any():
        last[np.flatnonzero(tagged)[-1]] = True
    impossible |= (samples == 0) & ~last | (samples > most)
    return tagged & impossible


def _stray_stamps(
    path: str, blocks: np.ndarray | None = None, among: np.ndarray | None = None
) -> np.ndarray:
    """Which blocks are data blocks (`among` these: else all tagged "AX") whose time stamp is
    a date far from the others' (`stray_blocks`). Only each block's first bytes are read:
    its tag, fraction and time stamp."""
    if blocks is None:
        blocks = _block_heads(path)
    heads = np.array(blocks[:, :18])
    if among is None:
        among = (heads[:, 0] == ord("A")) & (heads[:, 1] == ord("X"))
    dated = among & possible_times(heads)
    stray = np.zeros(len(heads), dtype=bool)
    stray[dated] = stray_blocks(block_seconds(heads[dated]))
    return stray


def _decode_good_blocks(path: str, warnings: list[str]) -> dict:
    with open(path, "rb") as handle:
        data = handle.read()
    starts, skipped = block_starts(data)
    if skipped:  # blocks out of step: gathered where they start
        blocks = np.lib.stride_tricks.sliding_window_view(
            np.frombuffer(data, np.uint8), BLOCK_BYTES
        )[starts]
    else:
        count = len(starts)
        blocks = np.frombuffer(data, np.uint8, count * BLOCK_BYTES, HEADER_BYTES).reshape(count, -1)
    summed = _intact(blocks)
    timed = possible_times(blocks)
    impossible = summed & impossible_fields(blocks[:, :HEAD_BYTES])
    stray = _stray_stamps(path, blocks, summed & ~impossible)  # among the blocks that sum to 0
    intact = summed & timed & ~stray & ~impossible
    # Blocks that are neither data nor damaged (unused sectors of 0xFF) are not counted.
    unused = (blocks[:, :2] == 0xFF).all(axis=1)
    broken = ~(summed & timed) & ~unused
    damaged = int(broken.sum())
    cut = (len(data) - (skipped[-1][0] + skipped[-1][1] if skipped else HEADER_BYTES)) % BLOCK_BYTES
    if not intact.any() and impossible.any():  # actfast would decode them as they say
        _refuse_empty_blocks(path)  # each states no samples: said in those words
        first = int(np.flatnonzero(impossible)[0])
        raise InputError(
            path,
            f"{NAME} none of whose data blocks is sound: {int(impossible.sum())} state what no "
            "recording holds (a sample rate, a count of samples or a time offset; the first "
            f"at byte {int(starts[first])})",
            expected=f"{NAME.removeprefix('an ')} as the device wrote it (copy it again)",
        )
    if not intact.any() or (intact.all() and cut == 0 and not skipped):
        return decode_with_actfast(path, NAME)  # nothing to leave out: its own error
    result = decode_mended(data[:HEADER_BYTES] + blocks[intact].tobytes(), ".cwa", NAME)
    if damaged:
        first = int(np.flatnonzero(broken)[0])
        failed = (~summed & ~unused).any(), (summed & ~timed).any()
        why = " or ".join(
            reason
            for reason, seen in zip(("failed checksum", "impossible time stamp"), failed)
            if seen
        )
        warnings.append(
            f"{damaged} damaged data blocks ({why}; first at byte "
            f"{int(starts[first])}) left out; the other {int(intact.sum())} read"
        )
    if skipped:
        warnings.append(_skipped_warning(skipped, int(intact.sum())))
    if impossible.any():
        first = int(np.flatnonzero(impossible)[0])
        warnings.append(
            f"{int(impossible.sum())} data blocks stating what no recording holds (a sample "
            "rate, a count of samples or a time offset; their checksum holds: corrupted "
            f"before it was made; first at byte {int(starts[first])}) left out; the other "
            f"{int(intact.sum())} read"
        )
    if stray.any():
        first = int(np.flatnonzero(stray)[0])
        stamp = np.datetime64(int(block_seconds(blocks[first : first + 1])[0]), "s")
        warnings.append(
            f"{int(stray.sum())} data blocks whose time stamp lies far from both neighbours' "
            f"(corrupted stamps; first at byte {int(starts[first])}: "
            f"{str(stamp).replace('T', ' ')}) left out; the other {int(intact.sum())} read"
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


def _skipped_warning(skipped: list[tuple[int, int]], read: int) -> str:
    """One line for the stretches where bytes were inserted or lost."""
    at, length = skipped[0]
    total = sum(length for _, length in skipped)
    where = (
        f"{length:,} bytes at byte {at:,}"
        if len(skipped) == 1
        else f"{len(skipped)} stretches of {total:,} bytes in all (the first {length:,} bytes "
        f"at byte {at:,})"
    )
    return (
        f"{where} hold no whole data block (bytes inserted or lost there put the blocks after "
        f'out of step): skipped to the next block that begins "AX" and sums to 0; the other '
        f"{read} blocks read"
    )


def _cut_warning(cut: int) -> str:
    return f"the file is cut short: its last {cut} bytes (part of a block) ignored"
