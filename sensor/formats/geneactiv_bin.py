"""GENEActiv .bin: text; a header of `Key:Value` lines, then pages of hex-packed samples.

Decoded by actfast, which applies the header's gain and offset per axis
((raw * 100 - offset) / gain). The header's `Time Zone` (`GMT -04:00`) is the offset of the
device's clock. Pages carry no checksum: a damaged page is one actfast cannot read (bytes
that are not text, a data line not of 3600 hex digits, an unreadable page time). Then the pages
that are whole are decoded and the rest counted in a warning; a file cut short is read up
to the cut, with a warning. So are pages whose Page Time lies far from both neighbours'
(`samples.stray_blocks`), which actfast decodes. A page whose Measurement Frequency is not
the header's is timed at the header's rate where its Page Times bear that out, else left out.

actfast reads the header as its first 59 lines, whatever they say: a header lacking a line
is refused naming that line, and text that is not UTF-8 (a name typed in Latin-1) is read
as Windows-1252, as the device's Windows software writes it."""

from __future__ import annotations

import mmap
import os
import re

import numpy as np

from sleepmove.base.errors import InputError
from sleepmove.sensor.formats.samples import (
    NIGHT_S,
    decode_mended,
    decode_with_actfast,
    device_recording,
    stray_blocks,
)
from sleepmove.sensor.recording import Recording
from sleepmove.sensor.zones import stated_offset

NAME = "a GENEActiv .bin file"
SAMPLES_PER_PAGE = 300
PAGE_MARKER = b"Recorded Data"
FIRST_LINE = b"Device Identity"


def recognizes(head: bytes, path: str) -> bool:
    # Its first line, or, that damaged, the header's lines below it: a file cut inside its
    # header, or with a byte of its first line flipped, is a GENEActiv file still.
    # A file cut inside that line (`Device Ide`) is one too: read refuses it as cut.
    first = head.lstrip(b"\xef\xbb\xbf")
    return (
        first.startswith(FIRST_LINE)
        or len(first) >= len(b"Device ")
        and FIRST_LINE.startswith(first)
        or (b"\nDevice Unique Serial Code:" in head and b"\nCalibration Data" in head)
    )


def read(path: str, units: str) -> tuple[Recording, float | None]:
    warnings: list[str] = []
    with open(path, "rb") as handle:
        first_line = handle.readline(80).lstrip(b"\xef\xbb\xbf")
        ends_there = not first_line.endswith(b"\n") and not handle.read(1)
        first_line = first_line.rstrip(b"\r\n")
    if ends_there and FIRST_LINE.startswith(first_line):
        raise InputError(
            path,
            f"{NAME} cut short inside its first line ({first_line!r}, "
            f"{os.path.getsize(path)} bytes): no header, no samples",
            expected=f"a complete {NAME.removeprefix('a ')}, copied again from the device",
        )
    if not first_line.startswith(FIRST_LINE):  # actfast knows the file by it
        raise InputError(
            path,
            f"{NAME} whose first line is damaged ({first_line[:30]!r}, not 'Device Identity')",
            expected="a complete GENEActiv .bin file, as the device's software wrote it",
        )
    try:
        result = _decode_claiming_no_more_pages_than_held(path, warnings)
    except InputError:
        result = _decode_good_pages(path, warnings)
    else:
        # Each page's first sample (a page holds 300): one that goes back, or forward by more
        # than a night, may be a page's stamp far from its neighbours', looked for then.
        starts = result["timeseries"].get("high_frequency", {}).get("datetime", [])[::300]
        steps = np.diff(np.asarray(starts, dtype=np.int64))
        held = result["metadata"].get("Memory Status", {}).get("Number of Pages", "")
        decoded = len(result["timeseries"].get("high_frequency", {}).get("datetime", []))
        # (a file cut short explains its shortfall: its decode keeps the last page's part)
        short = held.isdigit() and decoded < int(held) * SAMPLES_PER_PAGE
        short = short and _last_page_whole(path)
        pages_decoded = -(-decoded // SAMPLES_PER_PAGE)
        if (
            len(steps)
            and (steps.min() < -1e9 or steps.max() > NIGHT_S * 1e9)
            or short
            or _sample_lines_misfit(path, pages_decoded)
        ):
            # (short: a page that lost a hex digit decodes shifted, samples up to 6 g; one
            # that gained a digit decodes 300 samples, shifted too: only its length tells)
            result = _decode_good_pages(path, warnings, result)
    samples = result["timeseries"].get("high_frequency", {})
    if not len(samples.get("datetime", [])):  # said as a file cut short, if it is one
        _refuse_first_page_cut(path)
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
        warnings.append(_pages_missing(path, samples.get("datetime", []), int(pages)))
    offset = stated_offset(path, "the header's Time Zone", zone)
    if "Time Zone" not in configuration:  # its line is there (59 lines), its key damaged
        warnings.append(
            "the header states no Time Zone (its line is damaged): clock times kept as the "
            "device wrote them (give --timezone)"
        )
    elif zone and offset is None:  # as for a .gt3x: said, not passed over in silence
        warnings.append(
            f"the header's Time Zone {zone[:20]!r} is unreadable: clock times kept as the "
            "device wrote them (give --timezone)"
        )
    stamps, acceleration = _pages_timed_by(
        samples.get("datetime", []), samples.get("acceleration"), rate, warnings
    )
    recording = device_recording(
        path,
        NAME,
        stamps,
        acceleration,
        units,
        rate,
        warnings,
    )
    return recording, offset


def _pages_timed_by(
    stamps_ns: np.ndarray,
    acceleration: np.ndarray | None,
    rate_hz: float | None,
    warnings: list[str],
) -> tuple[np.ndarray, np.ndarray | None]:
    """The samples' stamps (ns) and accelerations, each page timed at the rate its own
    Measurement Frequency states (as actfast times it) where that is the header's rate or
    the spacing of the Page Times around it bears it out. Another page's rate is damage:
    0 timed its samples 1/0 apart ("the time stamps jump back"), nan all at one time, and 1
    (`xyz`) or 30 spread its 300 samples over 300 or 10 s, sorted in among the next pages'.
    Such a page is timed from its Page Time at the header's rate where the Page Times
    around it are that far apart (or it has no neighbour), else left out; both said.
    Untouched when every page states the header's rate."""
    stamps = np.asarray(stamps_ns)
    n = len(stamps)
    if n < 2 or rate_hz is None or stamps.dtype != np.int64:
        return stamps, acceleration
    firsts = np.arange(0, n - 1, SAMPLES_PER_PAGE)  # each page's first sample (and a second)
    steps = stamps[firsts + 1] - stamps[firsts]  # (0 Hz: wrapped, read as no rate)
    no_rate = ~((steps >= 1e9 / RATE_RANGE_HZ[1]) & (steps <= 1e9 / RATE_RANGE_HZ[0]))
    page_ns = SAMPLES_PER_PAGE * 1e9 / rate_hz  # a page's span at the header's rate
    # Two samples' worth: Page Times keep the device's clock, a few ms off its sampling.
    tolerance = 2e9 / rate_hz
    own_ns = steps.astype(np.float64) * SAMPLES_PER_PAGE
    off = no_rate | (np.abs(own_ns - page_ns) > tolerance)
    if not off.any():  # a sound file stops here
        return stamps, acceleration
    starts = stamps[firsts].astype(np.float64)  # each page's Page Time
    before = np.full(len(firsts), np.nan)
    before[1:] = np.diff(starts)
    after = np.full(len(firsts), np.nan)
    after[:-1] = np.diff(starts)
    lone = np.isnan(before) & np.isnan(after)
    # Its own rate stands where every neighbour is that far away (a header stating a rate
    # the device did not sample at: the header gives way later, in `rate_borne_out`).
    own_borne = ~no_rate & ~lone
    own_borne &= np.isnan(before) | (np.abs(before - own_ns) <= tolerance)
    own_borne &= np.isnan(after) | (np.abs(after - own_ns) <= tolerance)
    header_borne = (np.abs(before - page_ns) <= tolerance) | (np.abs(after - page_ns) <= tolerance)
    retimed = off & ~own_borne & (header_borne | lone)
    dropped = off & ~own_borne & ~retimed
    if not retimed.any() and not dropped.any():
        return stamps, acceleration
    within = np.arange(SAMPLES_PER_PAGE)
    stamps = np.array(stamps)  # actfast's own array is left as it was
    if retimed.any():
        rows = firsts[retimed][:, None] + within  # every sample of those pages
        spacing = np.round(within * (1e9 / rate_hz)).astype(np.int64)
        inside = rows < n
        stamps[rows[inside]] = (stamps[firsts[retimed]][:, None] + spacing)[inside]
        _say_retimed(retimed & no_rate, retimed & ~no_rate, steps, rate_hz, warnings)
    if dropped.any():
        rows = firsts[dropped][:, None] + within
        kept = np.ones(n, dtype=bool)
        kept[rows[rows < n]] = False
        page = int(np.flatnonzero(dropped)[0])
        warnings.append(
            f"{int(dropped.sum())} damaged pages whose Measurement Frequency is not the "
            f"header's {rate_hz:g} Hz, and whose Page Times bear out neither rate (first is "
            f"page {page + 1}, {_stated_rate(steps[page])}) left out; the other "
            f"{int((~dropped).sum())} read"
        )
        stamps = stamps[kept]
        acceleration = None if acceleration is None else np.asarray(acceleration)[kept]
    return stamps, acceleration


def _say_retimed(
    no_rate: np.ndarray, other_rate: np.ndarray, steps: np.ndarray, rate_hz: float, warnings
) -> None:
    """The warnings for pages timed at the header's rate, not their own."""
    if no_rate.any():
        warnings.append(
            f"{int(no_rate.sum())} pages state a Measurement Frequency that is no rate (first "
            f"is page {int(np.flatnonzero(no_rate)[0]) + 1}): their samples timed from the "
            f"Page Time at the header's {rate_hz:g} Hz"
        )
    if other_rate.any():
        page = int(np.flatnonzero(other_rate)[0])
        warnings.append(
            f"{int(other_rate.sum())} pages state a Measurement Frequency other than the "
            f"header's {rate_hz:g} Hz (first is page {page + 1}, {_stated_rate(steps[page])}), "
            f"while their Page Times, {SAMPLES_PER_PAGE / rate_hz:g} s apart, bear out the "
            "header's: their samples timed from the Page Time at the header's rate"
        )


def _stated_rate(step_ns: int) -> str:
    """A page's rate as actfast timed it (a Measurement Frequency that is no number: 1 Hz)."""
    if not 0 < step_ns < 1e12:
        return "no rate"
    return f"{1e9 / step_ns:.4g} Hz"


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
    result = _decode_mended_of(path, mended)
    warnings.append(
        f"the header's Number of Pages is {claimed[1].decode()[:20]}, far more than a file of "
        f"{size} bytes can hold (damaged, or the file cut short): read as the {held} pages "
        "it holds"
    )
    result["metadata"].setdefault("Memory Status", {})["Number of Pages"] = str(held)
    return result


def _decode_mended_of(path: str, mended: bytes) -> dict:
    """actfast's decode of `path`'s bytes mended; an error names `path`, not the temporary
    copy actfast read."""
    try:
        return decode_mended(mended, ".bin", NAME)
    except InputError as error:
        raise InputError(path, error.problem, error.where, error.expected) from None


def _last_page_whole(path: str) -> bool:
    """Whether the file ends with a page's whole line of samples (not cut short)."""
    with open(path, "rb") as handle:
        handle.seek(max(os.path.getsize(path) - 8192, 0))
        lines = handle.read().split(b"\n")
    last = next((line.strip() for line in reversed(lines) if line.strip()), b"")
    return re.fullmatch(rb"[0-9A-Fa-f]{3600}", last) is not None


def _sample_lines_misfit(path: str, pages_decoded: int) -> bool:
    """Whether a page's line of samples is not 3600 hex digits (300 samples of 12), or the
    pages found are not the pages actfast decoded. actfast decodes a line a digit too long
    as 300 samples, each after that digit shifted (7-9 g for 1 g): only its length tells.
    Only the bytes about each page's marker are read (a jump of a page's least length from
    one marker to the next), so that a night's 10 000 pages take some 10 ms. A last line
    cut short is the file's cut, which its decode counts."""
    line = SAMPLES_PER_PAGE * 12
    with open(path, "rb") as handle:
        if os.fstat(handle.fileno()).st_size <= line:
            return False
        with mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
            marker = b"\n" + PAGE_MARKER
            found = 0
            at = data.find(marker)
            while at >= 0:  # a loop over pages
                if found:  # the line that ends here is the page before's samples
                    end = at - (data[at - 1] == 13)  # before its "\r", if any
                    if end <= line or data[end - line - 1] != 10:
                        return True
                found += 1
                at = data.find(marker, at + line)
            end = len(data)
            while end and data[end - 1] in b"\r\n":  # a loop over the last bytes
                end -= 1
            # the last page's line, longer than a page's (a shorter one is the file's cut)
            if end > line and data.rfind(b"\n", end - line - 1, end) < 0:
                return True
            if found == pages_decoded:
                return False
            # A page's marker damaged (actfast reads a page as its 10 lines, whatever the
            # first says) or one jumped over: each long line looked at, a slower read.
            return _long_lines_misfit(data[:end])


# A page's lines of text are short ("Measurement Frequency:100.0"): a longer line is samples.
LEAST_SAMPLE_LINE = 100


def _long_lines_misfit(data: bytes) -> bool:
    """Whether a line of samples, before the last line, is not 300 samples' 3600 digits."""
    text = np.frombuffer(data, dtype=np.uint8)
    newlines = np.flatnonzero(text == ord("\n"))
    if len(newlines) < 2:
        return False
    lengths = np.diff(newlines) - 1
    lengths -= text[newlines[1:] - 1] == ord("\r")  # a "\r" before its "\n" is no digit
    long = lengths[lengths >= LEAST_SAMPLE_LINE]
    return bool((long != SAMPLES_PER_PAGE * 12).any())


def _pages_missing(path: str, stamps_ns: np.ndarray, claimed: int) -> str:
    """Why fewer samples were read than the header's Number of Pages holds: pages missing
    within the file (the Page Times skip), or the file cut short."""
    stamps = np.asarray(stamps_ns)
    read_samples = len(stamps)
    count = f"{read_samples} samples read of the {claimed * SAMPLES_PER_PAGE} its {claimed} pages"
    starts = stamps[::SAMPLES_PER_PAGE].astype(np.float64) / 1e9
    spans = np.diff(starts)
    if len(spans) > 1 and _last_page_whole(path):
        span = float(np.median(spans))
        skips = np.flatnonzero(spans > 1.5 * span)
        if len(skips):
            page = int(skips[0])
            return (
                f"{claimed - read_samples // SAMPLES_PER_PAGE} pages are missing within the "
                f"file (its Page Times skip {spans[page]:g} s after page {page + 1}, "
                f"{span:g} s a page elsewhere): {count} should hold"
            )
    return f"the file is cut short: {count} should hold"


# A whole page: its short lines of text, a page time, and 300 samples of 12 hex digits (a
# line of samples taken as text hid a page that lost its marker, and its damage with it).
_WHOLE_PAGE = re.compile(
    rb"Recorded Data\r?\n(?:[ -~]{0,99}\r?\n)*?"
    rb"Page Time:(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d):(\d{3})\r?\n"
    rb"(?:[ -~]{0,99}\r?\n)*?[0-9A-Fa-f]{3600}\r?\n?$"
)

# The key of each of the 59 lines actfast reads as the header ("" a blank line), as every
# GENEActiv file here has them.
HEADER_KEYS = (
    *("Device Identity", "Device Unique Serial Code", "Device Type", "Device Model"),
    *("Device Firmware Version", "Calibration Date", "", "Device Capabilities"),
    *("Accelerometer Range", "Accelerometer Resolution", "Accelerometer Units"),
    *("Light Meter Range", "Light Meter Resolution", "Light Meter Units"),
    *("Temperature Sensor Range", "Temperature Sensor Resolution", "Temperature Sensor Units"),
    *("", "Configuration Info", "Measurement Frequency", "Measurement Period", "Start Time"),
    *("Time Zone", "", "Trial Info", "Study Centre", "Study Code", "Investigator ID"),
    *("Exercise Type", "Config Operator ID", "Config Time", "Config Notes"),
    *("Extract Operator ID", "Extract Time", "Extract Notes", "", "Subject Info"),
    *("Device Location Code", "Subject Code", "Date of Birth", "Sex", "Height", "Weight"),
    *("Handedness Code", "Subject Notes", "", "Calibration Data", "x gain", "x offset"),
    *("y gain", "y offset", "z gain", "z offset", "Volts", "Lux", "", "Memory Status"),
    *("Number of Pages", ""),
)


def _readable_header(path: str, header: bytes, warnings: list[str] | None = None) -> bytes:
    """The header (the bytes before the first page) as actfast reads it: UTF-8, of 59 lines.
    Text that is not UTF-8 is read as Windows-1252 (a byte it leaves undefined as Latin-1);
    a header of more or fewer lines is refused naming the first line out of place (actfast
    said "Invalid hex data 'Recorded Data'" of a header lacking any line)."""
    try:
        header.decode("utf-8")
    except UnicodeDecodeError:
        try:
            header = header.decode("cp1252").encode("utf-8")
        except UnicodeDecodeError:
            header = header.decode("latin-1").encode("utf-8")
    lines = header.decode("utf-8").split("\n")[:-1]  # the last is the first page's
    keys = [line.split(":", 1)[0].strip() for line in lines]
    if len(keys) == len(HEADER_KEYS):
        return header
    if len(keys) > len(HEADER_KEYS) and tuple(keys[: len(HEADER_KEYS)]) == HEADER_KEYS:
        # The whole header, then the lines of a first page whose marker is damaged (its
        # pages after it are sound): that page is left out, not the file (a traceback was).
        if warnings is not None:
            warnings.append(
                "the first page's marker is damaged: that page left out, the pages after it read"
            )
        return ("\n".join(lines[: len(HEADER_KEYS)]) + "\n").encode("utf-8")
    line = next(
        (i for i, (key, kept) in enumerate(zip(keys, HEADER_KEYS)) if key != kept),
        min(len(keys), len(HEADER_KEYS)),
    )
    if len(keys) < len(HEADER_KEYS):
        what = f"its {HEADER_KEYS[line]!r} line" if HEADER_KEYS[line] else "a blank line"
        problem = f"the header lacks {what} (line {line + 1})"
    else:
        problem = f"the header's line {line + 1}, {lines[line].strip()[:40]!r}, is one too many"
    # past the header's last line (a page's marker lost: its lines read as the header's),
    # what belongs there is the first page
    wanted = HEADER_KEYS[line] or "a blank line" if line < len(HEADER_KEYS) else "Recorded Data"
    raise InputError(
        path,
        f"{problem}: it has {len(keys)} lines",
        expected=f"the {len(HEADER_KEYS)} header lines a GENEActiv device writes, "
        f"{wanted!r} as line {line + 1}",
    )


def _decode_good_pages(path: str, warnings: list[str], decoded: dict | None = None) -> dict:
    """The whole pages' decode, less those whose Page Time lies far from both neighbours',
    of a readable header (`_readable_header`); `decoded` (else actfast's own error) where
    there is nothing to mend."""
    with open(path, "rb") as handle:
        data = handle.read()
    first = data.find(PAGE_MARKER)
    if first < 0:  # no pages at all: its own error, or cut inside the first page's marker
        header_end = _header_end(data)
        if 0 < header_end < len(data) and len(data) - header_end < LEAST_PAGE_BYTES:
            _refuse_incomplete_page(path, len(data) - header_end)
        return _decode_claiming_no_more_pages_than_held(path, [])
    header = _readable_header(path, data[:first], warnings)
    pages = data[first:].split(b"\n" + PAGE_MARKER)
    pages = [pages[0]] + [PAGE_MARKER + page for page in pages[1:]]
    # A page holding a second marker is two pages run together (the newline before the
    # second damaged): its lines of text would otherwise take in the next page whole.
    matches = [
        _WHOLE_PAGE.match(page) if page.count(PAGE_MARKER) == 1 else None
        for page in pages  # a loop over pages
    ]
    whole = np.array([match is not None for match in matches])
    seconds = _page_seconds([m for m in matches if m is not None])
    whole[whole] = np.isfinite(seconds)  # a page time that is no date: a damaged page
    stray = np.zeros(len(pages), dtype=bool)
    stray[whole] = stray_blocks(seconds[np.isfinite(seconds)])
    kept = whole & ~stray
    if not kept.any() and len(pages) == 1:  # actfast named the temporary copy it read
        _refuse_incomplete_page(path, len(pages[0]))
    if not kept.any() or (whole.all() and not stray.any() and header == data[:first]):
        # nothing to leave out or mend: its own error, or its decode
        if decoded is not None:
            return decoded
        return _decode_claiming_no_more_pages_than_held(path, [])
    text = b"\n".join(page.rstrip(b"\r\n") for page, ok in zip(pages, kept) if ok) + b"\n"
    claimed = _CLAIMED_PAGES.search(header)
    if claimed is not None:  # the pages kept, as actfast reserves memory for those claimed
        count = str(int(kept.sum())).encode()
        header = header[: claimed.start(1)] + count + header[claimed.end(1) :]
    result = _decode_mended_of(path, header + text)
    bad = np.flatnonzero(~whole)
    last_cut = len(bad) > 0 and bad[-1] == len(pages) - 1
    damaged = len(bad) - last_cut
    if damaged:
        warnings.append(
            f"{damaged} damaged pages (not readable as text, hex samples and a page time "
            "that is a date; "
            f"first is page {bad[0] + 1}) left out; the other {int(kept.sum())} read"
        )
    if stray.any():
        page = int(np.flatnonzero(stray)[0])
        warnings.append(
            f"{int(stray.sum())} pages whose Page Time lies far from both neighbours' "
            f"(corrupted stamps; first is page {page + 1}: "
            f"{matches[page][1].decode()} {matches[page][2].decode()}) left out; "
            f"the other {int(kept.sum())} read"
        )
    if last_cut:
        warnings.append("the file is cut short: its last page, incomplete, left out")
    return result


def _header_end(data: bytes) -> int:
    """Where the header's 59 lines end in `data` (-1 where it holds fewer)."""
    end = -1
    for _ in HEADER_KEYS:  # a loop over the header's lines
        end = data.find(b"\n", end + 1)
        if end < 0:
            return -1
    return end + 1


def _refuse_first_page_cut(path: str) -> None:
    """A file whose first page is incomplete refused as that (actfast decodes a page of 200
    bytes as no samples, and "records hold no samples" spoke of an epoch-only recording)."""
    with open(path, "rb") as handle:
        head = handle.read(64 * 1024)
    first = head.find(PAGE_MARKER)
    size = os.path.getsize(path)
    if first >= 0 and size - first < LEAST_PAGE_BYTES:
        _refuse_incomplete_page(path, size - first)


def _refuse_incomplete_page(path: str, page_bytes: int) -> None:
    raise InputError(
        path,
        f"{NAME} whose one page is incomplete or damaged ({page_bytes} bytes after its "
        "header; a page holds at least 3600 hex digits of samples): no samples to read",
        expected=f"a complete {NAME.removeprefix('a ')}, copied again from the device",
    )


def _page_seconds(matches: list[re.Match]) -> np.ndarray:
    """Each page's Page Time in seconds from 1970 (NaN where it is no date)."""
    stamps = [b"%sT%s.%s" % match.groups() for match in matches]  # a loop over pages
    try:
        return np.array(stamps, dtype="M8[ms]").astype(np.int64) / 1e3
    except ValueError:  # a page time that is no date (month 13): each page on its own
        return np.array([_seconds_or_nan(stamp) for stamp in stamps])  # a loop over pages


def _seconds_or_nan(stamp: bytes) -> float:
    try:
        return float(np.datetime64(stamp.decode(), "ms").astype(np.int64)) / 1e3
    except ValueError:
        return float("nan")
