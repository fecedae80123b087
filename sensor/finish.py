"""What every reader does last with its samples (`finish_recording`): rows with missing or
non-finite values dropped and counted, rows written newest first put in time order, and the
units (g, m/s², mg) found from the magnitude at rest. Shared by the CSV reader
(sensor.readers) and the device-file readers (sensor.formats)."""

from __future__ import annotations

import time

import numpy as np

from sleepmove.base.clock import CLOCK_TIME_OF_DAY
from sleepmove.base.errors import InputError
from sleepmove.base.order_statistics import median
from sleepmove.base.words import how_many
from sleepmove.sensor.recording import CLOCK_NAIVE, CLOCK_RELATIVE, CLOCK_UNIX, Recording

STANDARD_GRAVITY = 9.80665


def finish_recording(
    path: str,
    time_s: np.ndarray,
    xyz: np.ndarray,
    clock: str,
    units: str,
    nominal_rate: float | None,
    warnings: list[str],
    header_lines: int | None = None,
    counted: list[np.ndarray] | None = None,
) -> Recording:
    """The checked recording: rows with missing or non-finite values dropped and counted
    (but `counted`, rows already counted, as time cells that are not times), units found.
    `header_lines`: a text file's lines above its first row, to name rows by their line."""
    # A column's sum is finite only when every value is: a reduction, without the temporary
    # of a check per value (an overflow to inf merely sends the night to the exact check).
    # (inf + -inf is NaN: "invalid", as harmless here as an overflow)
    with np.errstate(over="ignore", invalid="ignore"):
        sums = [np.sum(column) for column in (xyz[:, 0], xyz[:, 1], xyz[:, 2], time_s)]
    rows, told = len(time_s), len(warnings)
    if not np.isfinite(sums).all():
        time_s, xyz = _without_non_finite_rows(time_s, xyz, warnings, header_lines, counted)
    if len(time_s) < 2:
        # Said alone, it hid why: every row of x ~ 1e296 (past float32's 3.4e38: infinite).
        if len(warnings) == told:  # too few rows, not rows of no numbers
            raise InputError(path, "fewer than two valid samples", expected="accelerometer samples")
        raise InputError(
            path,
            f"fewer than two valid samples ({warnings[-1]}, of {rows:,})",
            expected="accelerometer samples: finite numbers, an acceleration within "
            "a few hundred g",
        )
    if time_s[-1] < time_s[0]:  # cheap test first: the full count is a pass over the night
        time_s, xyz = _reversed_if_descending(time_s, xyz, warnings)
    if clock in (CLOCK_UNIX, CLOCK_NAIVE):  # a date (a device file's on its local clock)
        _warn_of_an_unset_clock(float(time_s[0]), clock == CLOCK_UNIX, warnings)
    units_in = _detect_units(path, xyz, units, warnings)
    if units_in in UNIT_SCALE:
        xyz /= np.float32(UNIT_SCALE[units_in])
    if max(float(xyz.max()), -float(xyz.min())) > MOST_G:  # two reductions: a sound night's
        time_s, xyz = _without_impossible_rows(time_s, xyz, warnings, header_lines)
        if len(time_s) < 2:
            raise InputError(
                path,
                f"fewer than two valid samples ({warnings[-1]}, of {rows:,})",
                expected=f"accelerometer samples in {units_in}, within {MOST_G:g} g",
            )
    time_of_day = clock == CLOCK_TIME_OF_DAY
    return Recording(
        path=path,
        time_s=time_s,
        xyz_g=xyz,
        clock=CLOCK_RELATIVE if time_of_day else clock,
        units_in=units_in,
        nominal_rate_hz=nominal_rate,
        warnings=warnings,
        time_of_day=time_of_day,
    )


def _without_non_finite_rows(
    time_s: np.ndarray,
    xyz: np.ndarray,
    warnings: list[str],
    header_lines: int | None = None,
    counted: list[np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Rows with a missing, NaN or infinite value dropped, with a warning saying how many
    (rows in `counted` were counted already: not again)."""
    finite = np.isfinite(xyz).all(axis=1) & np.isfinite(time_s)
    if finite.all():  # the sums overflowed: every value is finite
        return time_s, xyz
    others = ~finite
    for rows in counted or []:  # a loop over the lists of rows already counted
        others[rows] = False
    if others.any():
        first_bad = int(np.flatnonzero(others)[0])
        where = (
            f"line {header_lines + first_bad + 1}"
            if header_lines is not None
            else f"data row {first_bad + 1}"
        )
        warnings.append(
            f"{how_many(int(others.sum()), 'row')} with missing, NaN or infinite values dropped "
            f"(first at {where})"
        )
    return time_s[finite], xyz[finite]


# No wearable accelerometer reads more (the widest, for impacts, reach 200 g): a value
# beyond is damage that decoded (a flipped byte in a Parquet page read 31,744 g, a fake
# jerk and a fake cramp).
MOST_G = 256.0


def _without_impossible_rows(
    time_s: np.ndarray, xyz: np.ndarray, warnings: list[str], header_lines: int | None
) -> tuple[np.ndarray, np.ndarray]:
    possible = (np.abs(xyz) <= MOST_G).all(axis=1)
    first = int(np.flatnonzero(~possible)[0])
    where = (
        f"line {header_lines + first + 1}" if header_lines is not None else f"sample {first + 1}"
    )
    warnings.append(
        f"{how_many(int((~possible).sum()), 'row')} with an acceleration beyond {MOST_G:g} g, "
        f"which no wearable sensor reads (damaged), dropped (first at {where}: "
        f"{float(np.abs(xyz[first]).max()):.4g} g)"
    )
    return time_s[possible], np.asfortranarray(xyz[possible])


# No wearable here recorded before 2000; a clock past a year from now was never set (or the
# stamps are damaged).
EARLIEST_CLOCK_S = 946_684_800.0  # 2000-01-01
YEAR_S = 366 * 86400.0


def _warn_of_an_unset_clock(first_s: float, utc: bool, warnings: list[str]) -> None:
    """A device file or CSV whose clock reads 1900, 1970 or 2106 was read without a word:
    its clock times (and a sleep window's) are off, though its durations hold."""
    # (14 h of slack: a zoned clock's first minutes of 2000 are 1999 in UTC)
    if EARLIEST_CLOCK_S - 14 * 3600 <= first_s <= time.time() + YEAR_S:
        return
    when = np.datetime64(int(first_s), "s") if abs(first_s) < 1e11 else "an impossible time"
    warnings.append(
        f"the recording's clock starts at {str(when).replace('T', ' ')}{' UTC' * utc}: a "
        "device clock never set, or damaged time stamps; its clock times are off (its "
        "durations hold)"
    )


def _reversed_if_descending(
    time_s: np.ndarray, xyz: np.ndarray, warnings: list[str]
) -> tuple[np.ndarray, np.ndarray]:
    """Rows written newest first, put in time order with a warning saying so: the grid
    alone would sort them as if every step were timestamp jitter. The warning also says how
    the later warnings count samples: from the file's last row, which is now the first."""
    back = int(np.count_nonzero(time_s[1:] < time_s[:-1]))
    if back * 2 <= len(time_s) - 1:  # mostly forward: a clock reset, left to the grid
        return time_s, xyz
    share = back / (len(time_s) - 1)
    order = "in reverse time order" if share > 0.99 else "mostly in descending time order"
    warnings.append(
        f"the samples were {order} ({share:.0%} of the steps go back in time: rows "
        "written newest first); they were read in time order, so a later warning's "
        "'sample N' is the N-th sample from the end of the file"
    )
    return time_s[::-1].copy(), np.asfortranarray(xyz[::-1])


def magnitudes(xyz: np.ndarray) -> np.ndarray:
    """np.linalg.norm(xyz, axis=1) for (n, 3) float32 samples: the squares added x, y, then
    z, as its reduction adds them, into one array (without its (n, 3) of squares)."""
    total = xyz[:, 0] * xyz[:, 0]
    total += xyz[:, 1] * xyz[:, 1]
    total += xyz[:, 2] * xyz[:, 2]
    return np.sqrt(total, out=total)


# Units other than g, and what one g is in them. Milli-g: Polar's SDK and many apps' exports.
UNIT_SCALE = {"m/s2": STANDARD_GRAVITY, "mg": 1000.0}


# Milli-g are taken from the magnitude only this near 1000: raw ADC counts of 512 or 2048
# per g are not (refused, as no unit), and of 1024 per g, read as mg, the chance is told.
MG_AT_REST = (850.0, 1180.0)
# What a night's median magnitude is in g, at rest, for a calibrated sensor: outside it
# (0.5 g read as g, 0.31 g read as m/s²) the units are taken with a warning.
G_AT_REST = (0.85, 1.18)


def _detect_units(path: str, xyz: np.ndarray, units: str, warnings: list[str]) -> str:
    step = max(1, len(xyz) // 200_000)
    with np.errstate(over="ignore"):  # a huge value's magnitude is inf: still above 30
        magnitude = median(magnitudes(xyz[::step]))
    looks = (
        "g"
        if 0.3 < magnitude < 3.0
        else "m/s2"
        if 3.0 <= magnitude < 30.0
        else "mg"
        if MG_AT_REST[0] <= magnitude < MG_AT_REST[1]
        else None
    )
    if units == "auto":
        if looks is None:
            raise InputError(
                path,
                f"cannot tell the units: median acceleration magnitude is {magnitude:.3g}",
                expected="about 1 (g), 9.81 (m/s²) or 1000 (mg) at rest: acceleration of "
                "a sensor that senses gravity (raw counts: convert them to g)",
            )
        in_g = magnitude / {"g": 1.0, **UNIT_SCALE}[looks]
        if not G_AT_REST[0] <= in_g <= G_AT_REST[1]:
            warnings.append(
                f"read as {looks} (median magnitude {magnitude:.3g}), but that is {in_g:.2f} g "
                "where a sensor at rest reads 1 g: check the units (--units) or the "
                "sensor's calibration; the movement sizes depend on them"
            )
        if looks == "mg" and magnitude >= 1012.0:  # nearer 1024 than 1000
            warnings.append(
                f"read as milli-g (median magnitude {magnitude:.0f}); an accelerometer's "
                "raw counts at 1024 per g look alike: if these are counts, convert them to g"
            )
        return looks
    if looks is not None and looks != units:
        raise InputError(
            path,
            f"--units {units} does not fit the data: median magnitude {magnitude:.3g} "
            f"looks like {looks}",
            expected="about 1 for g, 9.81 for m/s², 1000 for mg",
        )
    return units
