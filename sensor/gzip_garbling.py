"""A damaged .csv.gz whose damage garbled its text: the rows before the garbling, read.

Only the error path of `readers._read_table` comes here (a gzip stream that reports damage),
so none of this is imported for a sound file."""

from __future__ import annotations

import re

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from sleepmove.base.errors import InputError
from sleepmove.sensor.readers import (
    GZIP_CHUNK,
    TIME_OF_DAY_PATTERN,
    _csv_options,
    _GzipText,
    _line_of,
    _quiet_undecodable_rows,
    _read_rows,
    _Source,
    _TableLayout,
)
from sleepmove.sensor.recording import Recording

# A damaged .csv.gz (its checksum fails, or zlib stops part-way) whose text holds rows that
# do not read: a flipped byte garbles the text from there, and deflate's back-references
# copy the garbling on, often to the end, into values that still read as numbers (a digit
# changed). Such rows cannot be told from sound ones, so the text is read up to the first
# row that does not read, less GARBLED_MARGIN_BYTES: the garbling can begin a little before
# the first row that shows it (over 700 single flipped bytes in a night's gzip, 64 KB
# before covered all but 2; 4 KB, all but 16).
GARBLED_MARGIN_BYTES = 64 * 1024
# Cells of a damaged text that read: numbers (a decimal point or comma), infinities and NaN
# (as Arrow reads them in a sound file: values dropped with their rows, not garbling; `nan`
# and empty cells are null); times as numbers, ISO-8601 or times of day.
READABLE_NUMBER = r"(?i)^\s*[-+]?((\d+[.,]?\d*|[.,]\d+)(e[-+]?\d+)?|inf|infinity|nan)\s*$"
NOT_FINITE = r"(?i)^\s*[-+]?(inf|infinity|nan)\s*$"
READABLE_ISO_TIME = (
    r"^\s*\d{4}-\d\d-\d\d([T ]\d\d:\d\d(:\d\d([.,]\d+)?)?)?\s*(Z|[+-]\d\d(:?\d\d)?)?\s*$"
)


def gzip_damage(source: _Source) -> str | None:
    """zlib's complaint about a gzip file, if it is damaged (the whole file is inflated);
    the damaged members' text is noted in `source`."""
    with _GzipText(source.path, None) as stream:
        while stream.read(GZIP_CHUNK):
            pass
        source.damage, source.damaged_spans = stream.damage, stream.damaged_spans
        return stream.damage


def read_before_garbling(
    source: _Source, layout: _TableLayout, units: str, damage: str
) -> Recording | None:
    """A damaged gzip file's recording without the garbled text of its damaged members (see
    GARBLED_MARGIN_BYTES): the text before, and the text of sound members after, read, with a
    warning saying what was dropped; None if no row of a damaged member's text shows
    garbling."""
    path = source.path
    if not source.damaged_spans:
        gzip_damage(source)
    whole = _Source(path, source.head, gzip=True, notes=[])  # the text as the stream gives it
    dropped: list[str] = []  # what each garbled stretch's warning says
    rows_at = 0  # where the rows start in the text: after the header lines
    for _ in range(layout.header_lines):  # a loop over the header's few lines
        rows_at = source.head.find(b"\n", rows_at) + 1
    view = whole
    for _ in source.damaged_spans:  # a loop over damaged members: one garbled stretch each
        garbled_line = first_unreadable_line(view, layout)
        if garbled_line is None:
            break
        garbled_at, lines = _line_offsets(view, garbled_line)
        if view.omit:  # where it lies in the whole text
            garbled_at = _whole_offset(garbled_at, view.omit)
            garbled_line = _line_before(whole, garbled_at)[0]
        member = next((m for m in source.damaged_spans if m.start <= garbled_at < m.end), None)
        if member is None:
            break  # a row of a sound member: the file's own, refused as such
        # Never before the rows: a first member garbled within the margin of its start took
        # the header with it, and the rows of the sound members after read as no CSV.
        earliest = max(garbled_at - GARBLED_MARGIN_BYTES, member.start, rows_at)
        cut_line, cut_at = _line_before(whole, earliest)
        what = f"its text garbled from line {garbled_line:,} on ({member.complaint})"
        if member.followed:  # the sound members after it are read on
            end_line = _line_before(whole, member.end)[0]
            dropped.append(
                f"{path}: damaged gzip file, {what}: the {end_line - cut_line:,} lines from line "
                f"{cut_line:,} to the end of its damaged gzip member were dropped, the rows "
                "before and those of the sound members after read (garbled"
            )
            view = _Source(
                path, source.head, gzip=True, notes=[], omit=[*view.omit, (cut_at, member.end)]
            )
            continue
        kept_rows = cut_line - 1 - layout.header_lines
        if kept_rows < 2:
            raise InputError(
                path,
                f"damaged gzip file, {what}: too near its start to keep any rows",
                expected="a complete .csv.gz",
            )
        if view.omit:
            lines = _line_offsets(whole, cut_line)[1]
        dropped.append(
            f"{path}: damaged gzip file, {what}: the {lines - cut_line + 1:,} lines from line "
            f"{cut_line:,} to the end were dropped, the {kept_rows:,} rows before read (garbled"
        )
        head = source.head[:cut_at]
        view = _Source(path, head, gzip=True, notes=[], limit=cut_at, omit=view.omit)
        break
    if not dropped:
        return None
    try:
        recording = _read_rows(view, layout, units)
    except InputError as refusal:
        raise InputError(
            path,
            f"damaged gzip file, {what}: the rows kept do not read ({refusal.problem})",
            expected="a complete .csv.gz",
        ) from None
    if source.notes is not None and not any(m.followed for m in source.damaged_spans):
        source.notes.clear()  # the stream's own word on the damage: said again, below
    recording.warnings[:0] = [
        warning + " text can read as wrong numbers, and the garbling may begin up to "
        f"{GARBLED_MARGIN_BYTES >> 10} KB before the first line that shows it)"
        for warning in dropped
    ]
    return recording


def _whole_offset(offset: int, omitted: list[tuple[int, int]]) -> int:
    """Where `offset` of a text read without the `omitted` stretches lies in the whole."""
    for start, end in sorted(omitted):  # a loop over the few stretches left out
        if offset < start:
            break
        offset += end - start
    return offset


def first_unreadable_line(source: _Source, layout: _TableLayout) -> int | None:
    """The number of the first line of a table's text that does not read (the wrong number
    of fields, a cell that is no number or no time, or, where the file writes each column's
    numbers with as many decimals, one with other), read a block at a time up to it; None
    if every line reads (a last line cut short aside)."""
    invalid: list[str] = []  # the first two rows of the wrong length (one may be the last)

    def on_invalid(row: pacsv.InvalidRow) -> str:
        # Skipped, never an error: a reader that parses ahead would raise it before the
        # blocks before it, which may hold the first bad row, came out
        if len(invalid) < 2:
            invalid.append(row.text)
        return "skip"

    wanted = [layout.time_col, *layout.axes]
    read, parse, convert = _csv_options(
        layout.has_header, wanted, 0, layout.names, layout.dialect, on_invalid, 1 << 20
    )
    convert.column_types = {name: pa.binary() for name in wanted}  # no cell refused
    convert.strings_can_be_null = True  # NaN and empty cells as a number column has them
    shapes: list[tuple[str | None, int | None]] = []  # each column's pattern and decimals
    point = layout.dialect[1]
    rows_before, unreadable, invalid_line = 0, None, None
    with _quiet_undecodable_rows(), source.stream() as stream:
        try:
            batches = pacsv.open_csv(
                stream, read_options=read, parse_options=parse, convert_options=convert
            )
            for batch in batches:  # a loop over blocks of text, up to the first bad row
                if unreadable is not None:
                    break  # it was the last row of the block before, and not the text's last
                if not shapes:
                    patterns = [_time_pattern(batch.column(0))] + [READABLE_NUMBER] * 3
                    decimals = [_fixed_decimals(column, point) for column in batch.columns]
                    shapes = list(zip(patterns, decimals))
                for column, shape in zip(batch.columns, shapes):  # a loop over 4 columns
                    bad = np.flatnonzero(_unreadable_cells(column, *shape, point))
                    if len(bad) and (unreadable is None or rows_before + bad[0] < unreadable):
                        unreadable = rows_before + int(bad[0])
                rows_before += batch.num_rows
                if unreadable is not None and unreadable < rows_before - 1:
                    break
                if invalid and invalid_line is None:
                    invalid_line = _line_of(source, invalid[0])
                if invalid_line is not None and rows_before + layout.header_lines >= invalid_line:
                    break  # the rows read since cannot come before it
            else:
                if unreadable == rows_before - 1:
                    unreadable = None  # the text's last line, cut short as the damage leaves it
        except (pa.ArrowInvalid, pa.ArrowKeyError) as error:  # text that does not parse
            # A row Arrow names (one with bytes that are no UTF-8 is not handed to
            # `on_invalid`): garbled from there; else from the rows not yet seen, at the latest.
            named = re.search(r"Expected \d+ columns, got \d+: (.+)", str(error))
            if named is not None:
                invalid_line = _line_of(source, named[1].rstrip("\r"))
                invalid.insert(0, named[1])
            elif unreadable is None:
                unreadable = rows_before
    lines = [] if unreadable is None else [unreadable + layout.header_lines + 1]
    if invalid:
        if len(invalid) == 1 and unreadable is None:
            last = source.last_line().decode("utf-8", errors="replace")
            if invalid[0].strip() == last.strip():
                return None  # the last line cut short
        lines.append(invalid_line or _line_of(source, invalid[0]))
    return min(lines) if lines else None


# A column's first this many cells tell whether its numbers are written with as many
# decimals each (as loggers write them: a garbled cell often has other)
SHAPE_CELLS = 1000


def _fixed_decimals(cells: pa.Array, point: str) -> int | None:
    """The decimals each of the first SHAPE_CELLS numbers has, if all have as many."""
    decimals = _decimals(cells.drop_null()[:SHAPE_CELLS], point)
    decimals = np.unique(decimals[decimals != NO_DECIMALS])
    return int(decimals[0]) if len(decimals) == 1 else None


NO_DECIMALS = -2  # an infinity or NaN: written without decimals, whatever the column's are


def _decimals(cells: pa.Array, point: str) -> np.ndarray:
    """The characters after each cell's decimal point (-1 without one; null cells too;
    NO_DECIMALS for infinities and NaN)."""
    import pyarrow.compute as pc

    dot = pc.find_substring(cells, point)
    after = pc.subtract(pc.subtract(pc.binary_length(cells), dot), 1)
    decimals = pc.if_else(pc.less(dot, 0), -1, after).fill_null(-1)
    not_finite = pc.match_substring_regex(cells, NOT_FINITE).fill_null(False)
    return pc.if_else(not_finite, NO_DECIMALS, decimals).to_numpy(zero_copy_only=False)


def _unreadable_cells(
    cells: pa.Array, pattern: str | None, decimals: int | None, point: str
) -> np.ndarray:
    """Which cells do not read: not matching `pattern`, or, if given, with other decimals
    (empty and NaN cells, null, read: they are missing values, counted later)."""
    import pyarrow.compute as pc

    unreadable = np.zeros(len(cells), dtype=bool)
    if pattern is not None:
        reads = pc.match_substring_regex(cells, pattern).fill_null(True)
        unreadable |= ~reads.to_numpy(zero_copy_only=False)
    if decimals is not None:
        found = _decimals(cells, point)
        differs = (found != decimals) & (found != NO_DECIMALS)
        unreadable |= differs & cells.is_valid().to_numpy(False)
    return unreadable


def _time_pattern(times: pa.Array) -> str | None:
    """The pattern a text's time cells match, told from its first: None if none of ours."""
    import pyarrow.compute as pc

    first = times.drop_null()[:1]
    for pattern in (READABLE_NUMBER, READABLE_ISO_TIME, TIME_OF_DAY_PATTERN):
        if len(first) and pc.match_substring_regex(first, pattern)[0].as_py():
            return pattern
    return None


def _line_offsets(source: _Source, line: int) -> tuple[int, int]:
    """(the offset in the text where line number `line` starts, the number of lines)."""
    start, lines, offset, unfinished = None, 0, 0, False
    for chunk in source.chunks():  # a loop over chunks of a few MB
        count = chunk.count(b"\n")
        if start is None and lines + count >= line - 1:
            ends = np.flatnonzero(np.frombuffer(chunk, np.uint8) == ord("\n"))
            start = offset + int(ends[line - 2 - lines]) + 1 if line > 1 else 0
        lines += count
        offset += len(chunk)
        unfinished = not chunk.endswith(b"\n")
    return (offset if start is None else start), lines + unfinished


def _line_before(source: _Source, offset: int) -> tuple[int, int]:
    """(the number of the line that starts at or before `offset`, the offset it starts at)."""
    lines, start, seen = 0, 0, 0
    for chunk in source.chunks():  # a loop over chunks of a few MB
        part = chunk[: max(offset - seen, 0)]
        lines += part.count(b"\n")
        end = part.rfind(b"\n")
        if end >= 0:
            start = seen + end + 1
        seen += len(chunk)
        if seen >= offset:
            break
    return lines + 1, start
