"""What the device-file readers share: their decoded samples as a `Recording`."""

from __future__ import annotations

import os

import numpy as np

from sleepmove.base.errors import InputError
from sleepmove.base.order_statistics import median
from sleepmove.base.words import how_many
from sleepmove.sensor.finish import finish_recording
from sleepmove.sensor.recording import CLOCK_NAIVE, LONGEST_NIGHT_H, Recording


def device_recording(
    path: str,
    what: str,
    stamps_ns: np.ndarray,
    acceleration_g: np.ndarray,
    units: str,
    rate_hz: float | None,
    warnings: list[str] | None = None,
    spare: np.ndarray | None = None,
) -> Recording:
    """Samples on the device's local clock (naive: the zone, if any, is applied later).

    A decoder's arrays are handed over: actfast's int64 nanoseconds become the seconds in
    their own memory, and `spare`, samples the caller no longer needs (the AX6's
    gyroscope), takes the acceleration in column order. Memory the decoder has written
    spares the kernel zeroing fresh pages (23 and 34 MB for a night, ~2 ms each).

    A file whose records decode to no samples is refused rather than read as empty: a
    reader that does not know a record type skips it silently (actfast and ACTIVITY2)."""
    if len(stamps_ns) == 0:
        raise InputError(
            path,
            f"{what} whose records hold no accelerometer samples that could be decoded",
            expected="raw accelerometer records (the file may be an epoch-only recording)",
        )
    stamps = np.asarray(stamps_ns)
    # Floats are seconds already (our own decoders); integers are actfast's nanoseconds.
    if stamps.dtype == np.float64:
        time_s = stamps
    elif stamps.dtype == np.int64 and stamps.flags.c_contiguous and stamps.flags.writeable:
        time_s = stamps.view(np.float64)
        for start in range(0, len(stamps), BLOCK_ROWS):  # a loop over blocks
            block = slice(start, start + BLOCK_ROWS)
            np.divide(stamps[block], 1e9, out=time_s[block])  # each block read, then written
    else:
        time_s = stamps.astype(np.int64) / 1e9
    warnings = warnings if warnings is not None else []
    xyz = column_order(acceleration_g[:, :3], spare)
    time_s, xyz = in_time_order(time_s, xyz, warnings)
    rate_hz = rate_borne_out(rate_hz, time_s, warnings)
    return finish_recording(path, time_s, xyz, CLOCK_NAIVE, units, rate_hz, warnings)


HOLE_S = 1.0  # a step between samples this long is a hole in the recording (a data gap)


def in_time_order(
    time_s: np.ndarray, xyz: np.ndarray, warnings: list[str]
) -> tuple[np.ndarray, np.ndarray]:
    """A device file's samples in the order of their own time stamps, where that order
    closes the holes the file order leaves. Each block (page, record) carries the device's
    time, so blocks written or copied out of order belong where their stamps say: read in
    file order, two swapped blocks were a clock reset that moved the rest of the night (an
    event at 03:13 shown at 03:26, 13 min lost of none). A clock set back mid-recording
    is left in file order (the grid joins its parts after a gap): its parts, put in order,
    would open a hole that the file order does not have."""
    backwards = np.flatnonzero(time_s[1:] < time_s[:-1])
    if len(backwards) == 0:
        return time_s, xyz
    order = np.argsort(time_s, kind="stable")
    holes_in_order = int((np.diff(time_s[order]) > HOLE_S).sum())
    if holes_in_order > int((np.diff(time_s) > HOLE_S).sum()):
        return time_s, xyz
    warnings.append(
        f"the device's blocks are out of time order at {how_many(len(backwards), 'place')} (first "
        f"after sample {backwards[0] + 1}): put in order by their own time stamps"
    )
    ordered = np.empty(xyz.shape, dtype=xyz.dtype, order="F")
    for axis in range(xyz.shape[1]):  # column order kept (see column_order)
        ordered[:, axis] = xyz[order, axis]
    return time_s[order], ordered


# Samples whose steps are judged (in the middle of the recording), and how far the stated
# rate may be from theirs: devices' clocks are off by well under 1 %.
RATE_STEPS_JUDGED = 1 << 16
RATE_TOLERANCE = 1.5


def rate_borne_out(rate_hz: float | None, time_s: np.ndarray, warnings: list[str]) -> float | None:
    """The rate a header states where the samples' own time stamps bear it out; else None
    (the grid takes the rate from the stamps), with a warning. A .cwa's stamps are its
    blocks' and a GENEActiv's its pages': their evidence beats one header byte. A .cwa
    header's rate byte set to 0xFF (3200 Hz, of a 100 Hz night) refused an 8-hour file
    ("the time stamps span 8 h, far more than 0.246 h") and took 493 MB for 20 minutes."""
    if rate_hz is None or len(time_s) < 3:
        return rate_hz
    middle = len(time_s) // 2
    around = time_s[max(middle - RATE_STEPS_JUDGED // 2, 0) : middle + RATE_STEPS_JUDGED // 2]
    steps = np.diff(around)
    steps = steps[steps > 0]
    span = float(around[-1] - around[0])
    if not len(steps) or not span > 0:
        return rate_hz
    # A sample's step (gaps are few), and samples over time (blocks whose own rate byte is
    # wrong space their samples wrongly, but their times are right): either will do.
    kept, mean = 1.0 / median(steps), (len(around) - 1) / span
    if any(1 / RATE_TOLERANCE <= rate_hz / rate <= RATE_TOLERANCE for rate in (kept, mean)):
        return rate_hz
    warnings.append(
        f"the header's sample rate, {rate_hz:g} Hz, is not the {kept:.3g} Hz that the samples' "
        "time stamps keep: the stamps' rate used"
    )
    return None


# A run of at most this many blocks (a .cwa's blocks, a GENEActiv's pages) whose time
# stamp lies far from both neighbours' while those agree is a corrupted stamp, not time
# the device lived through. Longer runs, and one jump alone (a clock reset), are the
# grid's to judge.
STRAY_MAX_BLOCKS = 4


def stray_blocks(start_s: np.ndarray) -> np.ndarray:
    """Which blocks (their time stamps in seconds, in file order) hold a corrupted stamp.

    Within the file: a run of up to STRAY_MAX_BLOCKS blocks that jumps by more than four
    blocks' length (and 1 s) one way and back the other, the blocks before and after it
    agreeing (apart by at most twice the run's length and 1 s). A genuine recording's stamps
    never go back, and a clock reset goes back once, not back and forth. At either end, a
    run that steps back from the rest, or forward by more than a night: no pause of the
    device does either. One stamp of 2060 amid a night refused the whole file ("the time
    stamps span 3.2e5 h"): a block's samples all take its stamp, far more than the grid's
    stray rows."""
    stray = np.zeros(len(start_s), dtype=bool)
    steps = np.diff(start_s)
    forward = steps[steps > 0]
    if len(start_s) < 2 * STRAY_MAX_BLOCKS or not len(forward):
        return stray
    length = median(forward.copy())  # a block's length in time
    far = max(1.0, 4 * length)
    breaks = np.flatnonzero(np.abs(steps) > far)
    if not len(breaks) or not (steps[breaks] < 0).any() and steps.max() <= NIGHT_S:
        return stray  # nothing goes back, nothing far forward: a clean file stops here
    first, last = breaks[:-1], breaks[1:]  # blocks first + 1 .. last are off, if ...
    run = last - first
    around = start_s[last + 1] - start_s[first]
    off = (
        (run <= STRAY_MAX_BLOCKS)
        & ((steps[first] < 0) != (steps[last] < 0))  # ... they jump one way and back
        & (around >= 0)
        & (around <= 2 * (run + 1) * length + 1.0)  # ... and those around them agree
    )
    for a, b in zip(first[off], last[off]):  # a loop over corrupted runs
        stray[a + 1 : b + 1] = True
    head, tail = int(breaks[0]), int(breaks[-1])
    # A break that enters or leaves a corrupted run within the file says nothing of the
    # blocks at the end beyond it (page 2 of 1900 left page 1 out with it).
    inner = set(first[off].tolist()) | set(last[off].tolist())
    if head < STRAY_MAX_BLOCKS and head not in inner and (steps[head] < 0 or steps[head] > NIGHT_S):
        stray[: head + 1] = True
    if (
        len(steps) - tail <= STRAY_MAX_BLOCKS
        and tail not in inner
        and (steps[tail] < 0 or steps[tail] > NIGHT_S)
    ):
        stray[tail + 1 :] = True
    return stray


# Forward by more than this at either end is no pause of the device: the longest night
NIGHT_S = LONGEST_NIGHT_H * 3600


# Rows converted at a time: a block's values (0.5 to 0.75 MB) stay in the cache between
# their read and their write.
BLOCK_ROWS = 1 << 16


def column_order(samples: np.ndarray, spare: np.ndarray | None = None) -> np.ndarray:
    """np.asfortranarray(samples, dtype=np.float32): column order, float32, the layout every
    reader hands on (see DEVELOPERS.md). Row-order float32 samples (actfast's) are copied a
    block of rows at a time, into `spare`'s memory where it fits: numpy's conversion of the
    whole array took 8.4 ms for a night against 6.5 (4.5 into memory already written)."""
    if samples.ndim != 2 or samples.dtype != np.float32 or samples.flags.f_contiguous:
        return np.asfortranarray(samples, dtype=np.float32)
    shape = (samples.shape[1], len(samples))
    fits = (
        spare is not None
        and spare.dtype == np.float32
        and spare.size == samples.size
        and spare.flags.c_contiguous
        and spare.flags.writeable
        and not np.may_share_memory(spare, samples)
    )
    columns = spare.reshape(shape) if fits else np.empty(shape, dtype=np.float32)
    for start in range(0, len(samples), BLOCK_ROWS):  # a loop over blocks
        columns[:, start : start + BLOCK_ROWS] = samples[start : start + BLOCK_ROWS].T
    return columns.T


def decode_mended(data: bytes, suffix: str, what: str) -> dict:
    """actfast's decode of `data`, a file's bytes mended (damaged blocks left out, a header
    corrected): actfast reads only from a path, so through a temporary file."""
    import tempfile

    handle, mended = tempfile.mkstemp(suffix=suffix)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        return decode_with_actfast(mended, what)
    finally:
        os.unlink(mended)


def decode_with_actfast(path: str, what: str) -> dict:
    """actfast's whole result; its errors become one line naming the format."""
    import actfast  # only for device files: the CSV path never imports it

    try:
        return actfast.read(path)
    except Exception as error:  # actfast raises plain Rust-side errors of several types
        raise InputError(
            path,
            f"{what} that cannot be decoded ({error})",
            expected=f"a complete {what.removeprefix('an ').removeprefix('a ')}",
        ) from None
