"""Read accelerometer CSV files (plain or gzipped) into a `Recording`.

Layouts: a header naming a time column and three acceleration columns; no header (time, x,
y, z, extra columns ignored); ActiLife raw exports (10-line header, no time column).
Epoch-count exports are refused: they hold counts, not acceleration.

The entry points and the parse are here; the text's source (sensor.text_source), the
table's layout (sensor.table_layout), the guards on its time (sensor.time_guards), its
columns' values (sensor.numeric_columns, sensor.time_column) and the last checks and units
(sensor.finish) are in modules of their own.
"""

from __future__ import annotations

import contextlib
import itertools
import re
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from sleepmove.base.errors import InputError
from sleepmove.sensor.finish import finish_recording
from sleepmove.sensor.numeric_columns import UnreadableRow, numeric_axes
from sleepmove.sensor.parse_memory import release_parse_memory
from sleepmove.sensor.recording import CLOCK_NAIVE, CLOCK_UNIX, Recording
from sleepmove.sensor.table_layout import dialect, table_layout
from sleepmove.sensor.text_source import SNIFF_BYTES, _open_source, _Source
from sleepmove.sensor.time_column import offset_change_note, stated_zone, time_column
from sleepmove.sensor.time_guards import TimeGuard, _RateGuard


def read_recording(path: str, units: str = "auto", timezone: str | None = None) -> Recording:
    """Any format's recording (see sensor.formats, which finds the format by content)."""
    from sleepmove.sensor.formats import read_recording as read_any  # it imports this module

    return read_any(path, units, timezone)


def read_csv(path: str, units: str = "auto") -> Recording:
    """Read one sensor's CSV recording; raise `InputError` with one clear line on bad input."""
    notes: list[str] = []
    source = _open_source(path, notes)
    if b"\r" in source.head and b"\n" not in source.head:
        # Old Mac text: the parse would read it as one endless line, or split it wrongly.
        raise InputError(
            path,
            "the lines end in CR only (old Mac line endings), not LF or CR LF",
            expected="one row per line; convert it, e.g. tr '\\r' '\\n' < OLD.csv > NEW.csv",
        )
    if b"\n" not in source.head and len(source.head) == SNIFF_BYTES:
        raise InputError(
            path,
            f"the first line is longer than {SNIFF_BYTES >> 10} KB",
            where="line 1",
            expected="a header (a time column and x, y, z) or a first row of samples",
        )
    head_lines = source.head.decode("utf-8", errors="replace").splitlines()
    first = head_lines[0].strip().lstrip("\ufeff")
    if first.startswith("---") and re.search(r"acti(life|graph)", first, re.I):
        recording = _read_actilife(source, head_lines, units)
    else:
        recording = _read_table(source, first, units, dialect(head_lines))
    recording.warnings[:0] = notes
    return recording


@dataclass
class _TableLayout:
    has_header: bool
    time_col: str
    axes: list[str]
    names: list[str] | None  # the header's names, read anew (they were padded with spaces)
    dialect: tuple[str, str]

    @property
    def header_lines(self) -> int:
        return 1 if self.has_header else 0


def _read_table(
    source: _Source, first_line: str, units: str, dialect: tuple[str, str] = (",", ".")
) -> Recording:
    path = source.path
    has_header, time_col, axes = table_layout(path, first_line, *dialect)
    names = None
    if has_header:  # names padded with spaces (`time, x, y, z`), or a byte that is not
        # UTF-8 in them (Arrow reads it otherwise): the header is read as named here
        raw = first_line.strip().lstrip("\ufeff").split(dialect[0])
        if any(name != name.strip() for name in raw) or "\ufffd" in first_line:
            names = [name.strip().strip('"') for name in raw]
    layout = _TableLayout(has_header, time_col, axes, names, dialect)
    try:
        recording = _read_rows(source, layout, units)
    except UnreadableRow:
        # Rows that do not read in a damaged gzip file show where the damage garbled its
        # text (unless the parse read to the damage, the whole file is inflated once more to
        # know: an error path)
        from sleepmove.sensor.gzip_garbling import gzip_damage, read_before_garbling

        damage = (source.damage or gzip_damage(source)) if source.gzip else None
        if damage is None:
            raise
        recording = read_before_garbling(source, layout, units, damage)
        if recording is None:
            raise
        return recording
    if source.damage is not None:  # garbled rows may have read: look (a damaged file only)
        from sleepmove.sensor.gzip_garbling import read_before_garbling

        return read_before_garbling(source, layout, units, source.damage) or recording
    return recording


def _read_rows(source: _Source, layout: _TableLayout, units: str) -> Recording:
    path, time_col, header_lines = source.path, layout.time_col, layout.header_lines
    guard = _RateGuard(source, layout.has_header, time_col, layout.names, layout.dialect)
    table, warnings = _parse_csv(
        source,
        layout.has_header,
        [time_col, *layout.axes],
        column_names=layout.names,
        dialect=layout.dialect,
        watch=guard,
    )
    xyz = numeric_axes(path, table, layout.axes, header_lines, layout.dialect[1])
    dropped: list[np.ndarray] = []
    time_s, clock = time_column(
        path, table.column(time_col), header_lines, warnings, time_col, dropped
    )
    del table
    release_parse_memory()
    recording = finish_recording(
        path, time_s, xyz, clock, units, None, warnings, header_lines, dropped
    )
    if clock == CLOCK_UNIX:
        recording.timezone = stated_zone(
            source.head, layout.has_header, layout.time_col, layout.dialect[0]
        )
        if recording.timezone is not None and not source.gzip:
            note = offset_change_note(
                path,
                source.head,
                recording.timezone,
                layout.has_header,
                time_col,
                layout.dialect[0],
                source.limit,
            )
            recording.warnings.extend([note] if note else [])
    return recording


def _parse_csv(
    source: _Source,
    has_header: bool,
    wanted: list[str],
    skip_rows: int = 0,
    column_names: list[str] | None = None,
    dialect: tuple[str, str] = (",", "."),
    watch: Callable[[int, bytes], None] | None = None,
) -> tuple[pa.Table, list[str]]:
    """The table; `column_names`, if given, replace the header line's own; `watch` sees the
    text as it is read (Source.arrow_input) and may refuse it."""
    path = source.path
    again = (source, has_header, wanted, skip_rows, column_names, dialect, watch)
    invalid: list[tuple[int | None, str]] = []
    blank = [0]

    def on_invalid(row: pacsv.InvalidRow) -> str:
        if not row.text.strip():  # spaces only: a blank line, as empty lines are to arrow
            blank[0] += 1
            # Many: parsed again with them emptied, which arrow skips without this call
            return (
                "skip" if blank[0] < BLANK_LINES_HANDLED or source.blank_lines_emptied else "error"
            )
        invalid.append((row.number, row.text))
        # Two bad rows mean a refusal (below): stop there, rather than keep every bad row
        # of a file that is all bad rows.
        return "skip" if len(invalid) < 2 else "error"

    read, parse, convert = _csv_options(
        has_header, wanted, skip_rows, column_names, dialect, on_invalid
    )
    skip_rows = read.skip_rows
    table = None
    try:
        with _quiet_undecodable_rows(), source.arrow_input(watch) as data:
            table = pacsv.read_csv(
                data, read_options=read, parse_options=parse, convert_options=convert
            )
    except (pa.ArrowInvalid, pa.ArrowKeyError) as exc:
        if blank[0] >= BLANK_LINES_HANDLED and not source.blank_lines_emptied:
            # A plain file (a gzip's text is emptied as it inflates): read again, emptied
            source.blank_lines_emptied = True
            if isinstance(watch, TimeGuard):
                watch.restart()
            return _parse_csv(*again)
        if len(invalid) < 2:  # not the stop at a second bad row: the parse's own complaint
            _refuse_parse(source, str(exc), read.block_size)
    warnings = []
    if invalid:
        last_text = source.last_line().decode("utf-8", errors="replace")
        if len(invalid) == 1 and invalid[0][1].strip() == last_text.strip():
            warnings.append(f"the last line is incomplete and was ignored: {last_text[:60]!r}")
        else:
            number, text = invalid[0] if invalid[0][1].strip() != last_text.strip() else invalid[1]
            line = _line_of(source, text) if number is None else number + skip_rows
            raise UnreadableRow(
                path,
                f"wrong number of fields: {text[:60]!r}",
                where=f"line {line}" if line else None,
                expected=f"{len(wanted) if not has_header else 'as many fields as the header'}",
            )
    if table is None or table.num_rows == 0:
        raise InputError(path, "no data rows", expected="accelerometer samples")
    cut = None if invalid or table.num_rows < 2 else _cut_last_line(source, dialect)
    if cut is not None:
        table = table.slice(0, table.num_rows - 1)
        warnings.append(f"the last line is incomplete and was ignored: {cut[-60:]!r}")
    return table, warnings


def _cut_last_line(source: _Source, dialect: tuple[str, str]) -> str | None:
    """The last line of a plain file, where it was cut as it was written (a power cut, a
    copy stopped) and still had every field: '...,0.908,0.' was read as z = 0. Cut: no
    newline after it, and its last field half a number ('0.', '1.5e', '-'), or shorter
    than that column's fixed width in the file's last 4 kB where every other field keeps
    its column's width. A file merely without a final newline keeps its last line, and
    so does a last field of text. (A gzip file's cut is told by its stream.)"""
    if source.gzip:
        return None
    tail = source.plain_end(4096)[1]
    if tail.endswith((b"\n", b"\r")):
        return None
    text = tail.decode("utf-8", errors="replace")
    lines = [line.rstrip() for line in re.split(r"[\r\n]", text)[1:]]  # the first: a part
    delimiter, decimal = dialect
    last = lines[-1].split(delimiter) if lines else []
    before = [line.split(delimiter) for line in lines[:-1] if line]
    before = [fields for fields in before if len(fields) == len(last)]
    if len(last) < 2 or not before:
        return None
    field = last[-1].strip()
    d = re.escape(decimal)
    if re.fullmatch(rf"[+-]?(\d+{d}|\d+(?:{d}\d*)?[eE][+-]?|[+-]|{d})", field):
        return lines[-1]
    if not re.fullmatch(rf"[+-]?\d+(?:{d}\d+)?", field):
        return None
    columns = list(zip(*before))
    widths = [{len(value.strip().lstrip("+-")) for value in column} for column in columns]
    others_fit = all(
        min(width) <= len(value.strip().lstrip("+-")) <= max(width)
        for width, value in zip(widths[:-1], last[:-1])
    )
    fixed = len(widths[-1]) == 1
    if others_fit and fixed and len(field.lstrip("+-")) < min(widths[-1]):
        return lines[-1]
    return None


def _csv_options(
    has_header: bool,
    wanted: list[str],
    skip_rows: int,
    column_names: list[str] | None,
    dialect: tuple[str, str],
    on_invalid: Callable[[pacsv.InvalidRow], str],
    block_size: int = 1 << 24,
) -> tuple[pacsv.ReadOptions, pacsv.ParseOptions, pacsv.ConvertOptions]:
    """How pyarrow reads the table's text: `wanted` columns, `column_names` (if given)
    replacing the header line's own, rows of the wrong length handed to `on_invalid`."""
    if column_names is not None:
        skip_rows += 1  # the header line, named anew
    read = pacsv.ReadOptions(
        skip_rows=skip_rows,
        column_names=column_names,
        autogenerate_column_names=not has_header and column_names is None,
        block_size=block_size,
    )
    parse = pacsv.ParseOptions(invalid_row_handler=on_invalid)
    convert = pacsv.ConvertOptions(include_columns=wanted)
    if dialect != (",", "."):  # a European spreadsheet's `;` and decimal commas
        parse.delimiter, convert.decimal_point = dialect
    return read, parse, convert


def _refuse_parse(source: _Source, error: str, block_bytes: int) -> None:
    """The parse's failure as one line: Arrow's words where they say little (a line too
    long for its blocks), else its first line. Rows that do not read: in a damaged gzip
    file, where the damage garbled the text (see UnreadableRow)."""
    if "straddl" in error:
        line = _first_long_line(source, block_bytes)
        raise UnreadableRow(
            source.path,
            f"a line longer than {block_bytes >> 20} MB",
            where=f"line {line}" if line else None,
            expected="one row of samples per line",
        )
    if "columns" in error and "exceeds" in error:
        raise UnreadableRow(
            source.path,
            "far too many columns (" + error.splitlines()[0][:80] + ")",
            expected="a time column and x, y, z",
        )
    wrong = re.match(r"CSV parse error: Expected (\d+) columns, got \d+: (.*)", error, re.S)
    if wrong:  # a row of the wrong length that is no UTF-8: arrow names it, not its line
        text = wrong[2].split("\n")[0]
        cut = text.endswith(" ...")  # arrow shows a row's first 100 characters only
        line = _line_of(source, text[:-4] if cut else text, start_only=cut)
        raise UnreadableRow(
            source.path,
            f"wrong number of fields: {text[:60]!r}",
            where=f"line {line}" if line else None,
            expected=f"{wrong[1]} fields, as the rows before it",
        )
    # Its words as a literal: the file's bytes, escape codes among them, reached the terminal
    raise UnreadableRow(
        source.path,
        f"cannot parse as CSV ({error.splitlines()[0][:200]!r})",
        expected="one row of samples per line, its fields parted as the header's",
    )


def _first_long_line(source: _Source, limit: int) -> int | None:
    """The number of the first line longer than `limit` bytes (streamed: error path only)."""
    lines, length = 0, 0  # lines before the chunk; bytes of the unfinished line
    for chunk in source.chunks():
        ends = np.flatnonzero(np.frombuffer(chunk, np.uint8) == ord("\n"))
        spans = np.diff(np.r_[-1 - length, ends])  # each finished line's length plus one
        long = np.flatnonzero(spans > limit + 1)
        if len(long):
            return lines + int(long[0]) + 1
        length = len(chunk) - 1 - int(ends[-1]) if len(ends) else length + len(chunk)
        if length > limit:
            return lines + len(ends) + 1
        lines += len(ends)
    return None


@contextlib.contextmanager
def _quiet_undecodable_rows() -> Iterator[None]:
    """Arrow decodes a row of the wrong length as UTF-8 before it calls the invalid-row
    handler; a row that is not UTF-8 fails there, its exception is printed as 'Exception
    ignored' and the parse then fails with a message of its own (the one line we print)."""
    previous = sys.unraisablehook

    def hook(unraisable: sys.UnraisableHookArgs) -> None:
        if not isinstance(unraisable.exc_value, UnicodeDecodeError):
            previous(unraisable)

    sys.unraisablehook = hook
    try:
        yield
    finally:
        sys.unraisablehook = previous


# Lines of spaces only that the parse hands to Python one by one, before it starts again
# with them emptied (sensor.text_source._BlankLinesEmptied)
BLANK_LINES_HANDLED = 10_000
LINE_KEY_CHARS = 256  # a longer bad row is looked for by its first characters


def _line_of(source: _Source, text: str, start_only: bool = False) -> int | None:
    """The first line that is `text` (that starts with it: `start_only`), streamed: error
    path only; None if none is. Whole lines only: a search for the text anywhere found a
    longer line holding it (a garbled row's first digits `17419` are in line 2's time), and
    named a line far too early. Arrow shows bytes that are no UTF-8 as U+FFFD: any such
    bytes match one. A line of megabytes is found by its start (LINE_KEY_CHARS): a pattern
    of the whole took 2 GB and a minute."""
    whole = len(text) <= LINE_KEY_CHARS and not start_only
    key = text if whole else text[:LINE_KEY_CHARS]
    body = b"[\x80-\xff]+".join(re.escape(part.encode()) for part in key.split("\ufffd"))
    ending = b"(?=[\r\n])" if whole else b""
    within, at_end = re.compile(b"\n" + body + ending), re.compile(b"\n" + body + b"\\Z")
    reach = 4 * len(key.encode()) + 2  # the most bytes a match can take
    lines, data = 0, b"\n"  # a newline before the first line: it is found as any other
    # A loop over chunks of a few MB, then the end; inflated only up to the match
    for chunk in itertools.chain(source.chunks(), [None]):
        data += chunk or b""
        found = within.search(data) or (at_end.search(data) if chunk is None else None)
        if found:
            return lines + data.count(b"\n", 0, found.start()) + 1
        cut = max(len(data) - reach, 0)  # the tail a match may still start in
        lines += data.count(b"\n", 0, cut)
        data = data[cut:]
    return None


def _read_actilife(source: _Source, head: list[str], units: str) -> Recording:
    path = source.path
    header = [line.split(",")[0].strip() for line in head[:10]]
    joined = "\n".join(header)
    epoch = re.search(r"Epoch Period \(hh:mm:ss\)\s*(\d\d:\d\d:\d\d)", joined)
    if epoch and epoch.group(1) != "00:00:00":
        raise InputError(
            path,
            f"an ActiLife epoch-count export (epoch period {epoch.group(1)}), not raw acceleration",
            where="line 5",
            expected="a raw export (ActiLife: Export raw data, epoch period 00:00:00)",
        )
    rate = re.search(r"at (\d+(?:\.\d+)?) Hz", header[0])
    date_format = re.search(r"date format (\S+)", header[0])
    start_time = re.search(r"Start Time (\d+:\d\d:\d\d)", joined)
    start_date = re.search(r"Start Date (\S+)", joined)
    if not (rate and start_time and start_date):
        raise InputError(
            path,
            "ActiLife header without sample rate or start date/time",
            where="lines 1-4",
            expected="'at N Hz', 'Start Time', 'Start Date'",
        )
    fmt = date_format.group(1) if date_format else "M/d/yyyy"
    py_format = fmt.replace("yyyy", "%Y").replace("MM", "%m").replace("M", "%m")
    py_format = py_format.replace("dd", "%d").replace("d", "%d")
    py_format = py_format.replace("%m%m", "%m").replace("%d%d", "%d")
    try:
        start = datetime.strptime(
            f"{start_date.group(1)} {start_time.group(1)}", f"{py_format} %H:%M:%S"
        )
    except ValueError:
        raise InputError(
            path,
            f"unreadable start date {start_date.group(1)!r}",
            where="line 4",
            expected=f"a date in the format {fmt}",
        ) from None
    column_line = head[10] if len(head) > 10 else ""
    names = [n.strip() for n in column_line.split(",")]
    axes = []
    for axis in "XYZ":
        match = next((n for n in names if n.lower() == f"accelerometer {axis.lower()}"), None)
        if match is None:
            raise InputError(
                path,
                f"no 'Accelerometer {axis}' column",
                where="line 11",
                expected="Accelerometer X,Accelerometer Y,Accelerometer Z",
            )
        axes.append(match)
    table, warnings = _parse_csv(source, True, axes, skip_rows=10)
    xyz = numeric_axes(path, table, axes, 11)
    del table
    release_parse_memory()
    hz = float(rate.group(1))
    origin = start.replace(tzinfo=timezone.utc).timestamp()
    time_s = origin + np.arange(len(xyz)) / hz
    time_s, xyz = _without_idle_sleep_fill(time_s, xyz, hz, warnings)
    return finish_recording(path, time_s, xyz, CLOCK_NAIVE, units, hz, warnings)


def _without_idle_sleep_fill(
    time_s: np.ndarray, xyz: np.ndarray, rate_hz: float, warnings: list[str]
) -> tuple[np.ndarray, np.ndarray]:
    """ActiLife exports a device's idle sleep (no samples recorded) as the last sample
    repeated: runs of a second or more of identical rows become gaps, as in the .gt3x,
    rather than stillness. The run's first row, the last one recorded, stays, unless it
    follows a fill itself or is all zeros: then it is fill of another value (ActiLife
    switches from the last sample to zeros), which the .gt3x does not hold either."""
    same = xyz[1:, 0] == xyz[:-1, 0]
    same &= xyz[1:, 1] == xyz[:-1, 1]
    same &= xyz[1:, 2] == xyz[:-1, 2]
    edges = np.flatnonzero(np.diff(np.r_[False, same, False].astype(np.int8)))
    starts, stops = edges[0::2], edges[1::2]  # rows starts+1 .. stops repeat row starts
    long_runs = stops - starts >= rate_hz
    if not long_runs.any():
        return time_s, xyz
    keep = np.ones(len(time_s), dtype=bool)
    for first, last in zip(starts[long_runs], stops[long_runs]):  # a loop over fills
        # All zeros is no reading (gravity never leaves): fill from its first row on.
        after_fill = (first > 0 and not keep[first - 1]) or not xyz[first].any()
        keep[first + (0 if after_fill else 1) : last + 1] = False
    dropped = int((~keep).sum())
    warnings.append(
        f"{dropped / rate_hz:.0f} s of idle-sleep fill (one sample repeated, as ActiLife "
        f"exports the device's idle sleep) in {int(long_runs.sum())} stretches: data gaps"
    )
    return time_s[keep], np.asfortranarray(xyz[keep])
