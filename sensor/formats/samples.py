"""What the device-file readers share: their decoded samples as a `Recording`."""

from __future__ import annotations

import numpy as np

from sleepmove.base.errors import InputError
from sleepmove.sensor.readers import finish_recording
from sleepmove.sensor.recording import CLOCK_NAIVE, Recording


def device_recording(
    path: str,
    what: str,
    stamps_ns: np.ndarray,
    acceleration_g: np.ndarray,
    units: str,
    rate_hz: float | None,
    warnings: list[str] | None = None,
) -> Recording:
    """Samples on the device's local clock (naive: the zone, if any, is applied later).

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
    time_s = stamps if stamps.dtype == np.float64 else stamps.astype(np.int64) / 1e9
    # Column order, float32: the layout every reader hands on (see DEVELOPERS.md).
    xyz = np.asfortranarray(acceleration_g[:, :3], dtype=np.float32)
    return finish_recording(path, time_s, xyz, CLOCK_NAIVE, units, rate_hz, warnings or [])


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
