"""GENEActiv .bin: text; a header of `Key:Value` lines, then pages of hex-packed samples.

Decoded by actfast, which applies the header's gain and offset per axis
((raw * 100 - offset) / gain). The header's `Time Zone` (`GMT -04:00`) is the offset of the
device's clock. Pages carry no checksum: a damaged page is one actfast cannot read (bytes
that are not text, a short or non-hex data line, an unreadable page time). Then the pages
that are whole are decoded and the rest counted in a warning; a file cut short is read up
to the cut, with a warning."""

from __future__ import annotations

import os
import re

from sleepmove.base.errors import InputError
from sleepmove.sensor.formats.samples import decode_mended, decode_with_actfast, device_recording
from sleepmove.sensor.recording import Recording
from sleepmove.sensor.zones import stated_offset

NAME = "a GENEActiv .bin file"
SAMPLES_PER_PAGE = 300
PAGE_MARKER = b"Recorded Data"


def recognizes(head: bytes, path: str) -> bool:
    return head.lstrip(b"\xef\xbb\xbf").startswith(b"Device Identity") and (
        b"GENEActiv" in head or b"Device Unique Serial Code" in head
    )


def read(path: str, units: str) -> tuple[Recording, float | None]:
    warnings: list[str] = []
    try:
        result = _decode_claiming_no_more_pages_than_held(path, warnings)
    except InputError:
        result = _decode_good_pages(path, warnings)
    samples = result["timeseries"].get("high_frequency", {})
    configuration = result["metadata"].get("Configuration Info", {})
    rate = _header_number(
        path, configuration, "Measurement Frequency", RATE_RANGE_HZ, "a sample rate such as 50 Hz"
    )
    calibration = result["metadata"].get("Calibration Data", {})
    for axis in "xyz":  # a loop over axes
        # actfast takes a gain it cannot read as 1 (samples 25 000 times too large), and one
        # of 0 made every sample infinite: each axis needs one.
        gain = _header_number(path, calibration, f"{axis} gain", GAIN_RANGE, GAIN_EXPECTED)
        if gain is None:
            raise InputError(path, f"the header gives no {axis} gain", expected=GAIN_EXPECTED)
        _header_number(
            path, calibration, f"{axis} offset", OFFSET_RANGE, "a calibration offset such as -500"
        )
    zone = configuration.get("Time Zone", "")
    pages = result["metadata"].get("Memory Status", {}).get("Number of Pages", "")
    read_samples = len(samples.get("datetime", []))
    if not warnings and pages.isdigit() and read_samples < int(pages) * SAMPLES_PER_PAGE:
        warnings.append(
            f"the file is cut short: {read_samples} samples read of the "
            f"{int(pages) * SAMPLES_PER_PAGE} its {pages} pages should hold"
        )
    offset = stated_offset(path, "the header's Time Zone", zone)
    if zone and offset is None:  # as for a .gt3x: said, not passed over in silence
        warnings.append(
            f"the header's Time Zone {zone[:20]!r} is unreadable: clock times kept as the "
            "device wrote them (give --timezone)"
        )
    recording = device_recording(
        path,
        NAME,
        samples.get("datetime", []),
        samples.get("acceleration"),
        units,
        rate,
        warnings,
    )
    return recording, offset


# Header values no device writes, refused: the rate a GENEActiv samples at is 10 to 100 Hz, its
# gains (raw x 100 per g) about 25 000, its offsets a few thousand. The bounds are wide: they
# only keep out what would make no samples (a gain of 0), or no rate (nan, inf, -60).
RATE_RANGE_HZ = (1.0, 10_000.0)
GAIN_RANGE = (1.0, 1e9)
GAIN_EXPECTED = "a positive calibration gain per axis, such as 25000 (Calibration Data)"
OFFSET_RANGE = (-1e9, 1e9)


def _header_number(
    path: str, section: dict[str, str], key: str, bounds: tuple[float, float], expected: str
) -> float | None:
    """A number the header gives (before its unit: `60 Hz`); None if it gives none; a value
    that is no number, or none a device writes, refused in one line."""
    text = section.get(key, "").strip()
    if not text:
        return None
    try:
        value = float(text.split(" ")[0])
    except ValueError:
        value = float("nan")
    if not bounds[0] <= value <= bounds[1]:  # NaN fails too
        raise InputError(path, f"the header's {key} is {text[:20]!r}", expected=expected)
    return value


# The fewest bytes a page takes: its 300 samples of 12 hex digits, less its text lines.
LEAST_PAGE_BYTES = SAMPLES_PER_PAGE * 12
_CLAIMED_PAGES = re.compile(rb"Number of Pages:[ \t]*(\d+)")
# A file cut short claims more pages than it holds, and says so as such; a claim beyond this
# many times what the file could hold is damage, whose reservation alone could end the process.
CLAIM_SLACK = 4


def _decode_claiming_no_more_pages_than_held(path: str, warnings: list[str]) -> dict:
    """actfast's decode; where the header claims more pages than the file's size could hold,
    of a copy whose header claims the pages the file holds. actfast reserves memory for every
    page claimed: one damaged digit (99999999999 pages) aborted the process, the whole batch
    with it, and 100 000 pages in a whole file read as a file cut short."""
    with open(path, "rb") as handle:
        head = handle.read(64 * 1024)
    claimed = _CLAIMED_PAGES.search(head.split(PAGE_MARKER, 1)[0])
    size = os.path.getsize(path)
    if claimed is None or int(claimed[1]) * LEAST_PAGE_BYTES <= CLAIM_SLACK * size:
        return decode_with_actfast(path, NAME)
    with open(path, "rb") as handle:
        data = handle.read()
    held = data.count(b"\n" + PAGE_MARKER) + data.startswith(PAGE_MARKER)
    mended = data[: claimed.start(1)] + str(held).encode() + data[claimed.end(1) :]
    result = decode_mended(mended, ".bin", NAME)
    warnings.append(
        f"the header's Number of Pages is {claimed[1].decode()[:20]}, far more than a file of "
        f"{size} bytes can hold (damaged, or the file cut short): read as the {held} pages "
        "it holds"
    )
    result["metadata"].setdefault("Memory Status", {})["Number of Pages"] = str(held)
    return result


# A whole page: its lines of text, a page time, and 300 samples of 12 hex digits.
_WHOLE_PAGE = re.compile(
    rb"Recorded Data\r?\n(?:[ -~]*\r?\n)*?Page Time:\d{4}-\d\d-\d\d \d\d:\d\d:\d\d:\d{3}\r?\n"
    rb"(?:[ -~]*\r?\n)*?[0-9A-Fa-f]{3600}\r?\n?$"
)


def _decode_good_pages(path: str, warnings: list[str]) -> dict:
    with open(path, "rb") as handle:
        data = handle.read()
    first = data.find(PAGE_MARKER)
    if first < 0:  # no pages at all: its own error
        return _decode_claiming_no_more_pages_than_held(path, [])
    header, pages = data[:first], data[first:].split(b"\n" + PAGE_MARKER)
    pages = [pages[0]] + [PAGE_MARKER + page for page in pages[1:]]
    whole = [_WHOLE_PAGE.match(page) is not None for page in pages]  # a loop over pages
    if not any(whole) or all(whole):  # nothing to leave out: its own error
        return _decode_claiming_no_more_pages_than_held(path, [])
    kept = b"\n".join(page.rstrip(b"\r\n") for page, ok in zip(pages, whole) if ok) + b"\n"
    claimed = _CLAIMED_PAGES.search(header)
    if claimed is not None:  # the pages kept, as actfast reserves memory for those claimed
        header = header[: claimed.start(1)] + str(sum(whole)).encode() + header[claimed.end(1) :]
    result = decode_mended(header + kept, ".bin", NAME)
    bad = [i for i, ok in enumerate(whole) if not ok]
    last_cut = bad[-1] == len(pages) - 1
    damaged = len(bad) - last_cut
    if damaged:
        warnings.append(
            f"{damaged} damaged pages (not readable as text, hex samples and a page time; "
            f"first is page {bad[0] + 1}) left out; the other {sum(whole)} read"
        )
    if last_cut:
        warnings.append("the file is cut short: its last page, incomplete, left out")
    return result
