"""A damaged .csv.gz whose damage garbled its text: the rows before the garbling, read.

Only the error path of `readers._read_table` comes here (a gzip stream that reports damage),
so none of this is imported for a sound file."""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from sleepmove.base.errors import InputError
from sleepmove.sensor.readers import (
    _csv_options,
    _line_of,
    _quiet_undecodable_rows,
    _read_rows,
    _TableLayout,
)
from sleepmove.sensor.recording import Recording
from sleepmove.sensor.text_source import (
    GZIP_CHUNK,
    SNIFF_BYTES,
    DamagedMember,
    ResumePoint,
    _GzipText,
    _Source,
)
from sleepmove.sensor.time_column import TIME_OF_DAY_PATTERN

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
# A scan for garbled rows parses the text in blocks of this size (a batch of rows each)
SCAN_BLOCK_BYTES = 1 << 20


def gzip_damage(source: _Source) -> str | None:
    """zlib's complaint about a gzip file, if it is damaged (the whole file is inflated);
    the damaged members' text is noted in `source`."""
    with _GzipText(source.path, None) as stream:
        while stream.read(GZIP_CHUNK):
            pass
        source.damage, source.damaged_spans = stream.damage, stream.damaged_spans
        source.line_cuts = stream.line_cuts
        return stream.damage


def read_before_garbling(
    source: _Source, layout: _TableLayout, units: str, damage: str
) -> Recording | None:
    """A damaged gzip file's recording without the garbled text of its damaged members (see
    GARBLED_MARGIN_BYTES): the text before, and the text of sound members after, read, with a
    warning saying what was dropped; None if no row of a damaged member's text shows
    garbling.

    Each garbled stretch is searched for in the text with the stretches before left out; each
    scan, and each count of lines, goes on from where the one before left off (_GarbleSearch),
    so the time grows with the text, not with the text times the damaged members."""
    path = source.path
    if not source.damaged_spans:
        gzip_damage(source)
    search = _GarbleSearch(source, layout)
    dropped: list[str] = []  # what each garbled stretch's warning says
    view = search.view()  # the text as the stream gives it, the garbled stretches found left out
    for _ in source.damaged_spans:  # a loop over damaged members: one garbled stretch each
        garbled_line = search.unreadable_line_from_verified(view)
        if garbled_line is None:
            break
        garbled_at, garbled_line = search.where_line_starts(view, garbled_line)
        member = next((m for m in source.damaged_spans if m.start <= garbled_at < m.end), None)
        if member is None:
            break  # a row of a sound member: the file's own, refused as such
        # Never before the rows: a first member garbled within the margin of its start took
        # the header with it, and the rows of the sound members after read as no CSV.
        earliest = max(garbled_at - GARBLED_MARGIN_BYTES, member.start, search.rows_at)
        cut_line, cut_at = search.line_before(earliest)
        what = f"its text garbled from line {garbled_line:,} on ({member.complaint})"
        if member.followed:  # the sound members after it are read on
            end_line = search.leave_out(cut_line, cut_at, member)
            dropped.append(
                f"{path}: damaged gzip file, {what}: the {end_line - cut_line:,} lines from line "
                f"{cut_line:,} to the end of its damaged gzip member were dropped, the rows "
                "before and those of the sound members after read (garbled"
            )
            view = search.view()
            continue
        kept_rows = cut_line - 1 - layout.header_lines
        if kept_rows < 2:
            raise InputError(
                path,
                f"damaged gzip file, {what}: too near its start to keep any rows",
                expected="a complete .csv.gz",
            )
        lines = search.line_count()
        dropped.append(
            f"{path}: damaged gzip file, {what}: the {lines - cut_line + 1:,} lines from line "
            f"{cut_line:,} to the end were dropped, the {kept_rows:,} rows before read (garbled"
        )
        head = source.head[:cut_at]
        view = search.view(head, limit=cut_at)
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


class _StartPoint(NamedTuple):
    """A point in a damaged gzip file's whole text where a stream can start: the text's
    start, or where it goes on after a damaged member (its next sound member)."""

    text_at: int
    resume: ResumePoint | None  # None: the file's start
    newlines: int  # in the whole text before it
    line_start: int  # where the line it lies in starts (the line's first byte)
    empty_lines: int = 0  # the view's before it, where verified (Arrow reads no row there)


class _OmittedStretch(NamedTuple):
    """A garbled stretch of the whole text, left out."""

    start: int
    end: int
    newlines: int  # in it


class _ScanWindow(NamedTuple):
    """The text a scan was given in memory from `start_point` on, as its reads: the view's,
    which is the whole text's where no stretch left out follows the start point
    (`whole_text`)."""

    start_point: _StartPoint
    reads: list[bytes]
    reaches_end: bool  # it reaches the text's end
    whole_text: bool


class _ScanInconclusive(Exception):
    """A scan that started part-way cannot tell what a scan from the text's start would."""


# A scan from a start point is first given the text up to the end of the block after the next
# damaged member's text, held in memory (Arrow reads up to 32 blocks ahead of the rows it
# hands over, all inflated), this much at most; if that does not tell, the text streamed on.
SCAN_WINDOW_BYTES = 16 * SCAN_BLOCK_BYTES


class _GarbleSearch:
    """One search of a damaged gzip file's text for its garbled stretches, with what it has
    learnt so far, so that no scan or count goes over the text from its start again:

    - the damaged members (`known_damage`): a stream reads each to its damage at once,
      without the byte-by-byte search for the damaged byte and for the next sound member;
    - points where a stream can start (`start_points`): the text's start, and where it goes on
      after each stretch left out, with the lines before them;
    - the last start point before which a scan read every line of the view as one readable row
      (`verified_start`): the next scan starts there, and finds what a scan from the start
      would;
    - the view's column shapes and first lines, told by the scan that read its first block;
    - the text the last scan was given (`window`), which the counts after it read again.

    Held for one read: nothing outlives it."""

    def __init__(self, source: _Source, layout: _TableLayout) -> None:
        self.path, self.head, self.layout = source.path, source.head, layout
        self.damaged = source.damaged_spans
        self.known_damage = {member.member_at: member for member in source.damaged_spans}
        self.rows_at = 0  # where the rows start in the text: after the header lines
        for _ in range(layout.header_lines):  # a loop over the header's few lines
            self.rows_at = source.head.find(b"\n", self.rows_at) + 1
        self.start_points = [_StartPoint(0, None, 0, 0)]  # in the text's order
        self.omitted: list[_OmittedStretch] = []  # the garbled stretches found, in the text's order
        self.verified_start = self.start_points[0]
        # Every stream gives the same text however it is read (see _GzipText.line_cuts): no
        # line cut at damage began before the end of a block that a scan's read could end
        # at. Else (or once a stretch left out holds a start point) the search makes the passes
        # it always made, each from the text's start.
        self.shortcuts = all(
            fill_at // SCAN_BLOCK_BYTES * SCAN_BLOCK_BYTES <= line_end
            for line_end, fill_at in source.line_cuts
        )
        # Where the last scan started, and whether it read every row before the line it found
        self.last_scan: tuple[_StartPoint, bool] = (self.start_points[0], False)
        # The view's column shapes and first lines (its header), from the last scan that read
        # its first block; `first_block_changed` by a stretch left out since
        self.shapes: list[tuple[str | None, int | None]] = []
        self.leading_lines: bytes | None = None
        self.first_block_changed = False
        self.window: _ScanWindow | None = None
        self.end: _TextEnd | None = None  # the text's end, once counted

    def view(self, head: bytes | None = None, limit: int | None = None) -> _Source:
        """The text with the garbled stretches found left out, up to `limit` if given."""
        return _Source(
            self.path,
            self.head if head is None else head,
            gzip=True,
            notes=[],
            limit=limit,
            omit=[(stretch.start, stretch.end) for stretch in self.omitted],
            known_damage=self.known_damage,
        )

    # --- the scan for the view's first line that does not read ------------------------------

    def unreadable_line_from_verified(self, view: _Source) -> int | None:
        """first_unreadable_line of the view: from the last verified start point on, where a
        scan from there tells the same; else from the text's start."""
        if self.first_block_changed:
            self._check_first_block(view)
        if not self.shapes:  # told again: every row is read again
            self.verified_start = self.start_points[0]
        start_point = self.verified_start
        if start_point is self.start_points[0]:
            self.shapes, self.leading_lines = [], None
        if self.shortcuts:
            leading_lines = self._view_leading_lines(view) if start_point.text_at else b""
            if leading_lines is not None:
                try:
                    return self._scan_from(start_point, leading_lines)
                except _ScanInconclusive:
                    pass
        self.verified_start, self.shapes, self.leading_lines = self.start_points[0], [], None
        scan = UnreadableLineScan(shapes=self.shapes)
        line = first_unreadable_line(view, self.layout, scan)
        self.last_scan = (self.start_points[0], scan.rows_all_read)
        return line

    def _scan_from(self, start_point: _StartPoint, leading_lines: bytes) -> int | None:
        """The scan from `start_point` on, after the view's first lines (`leading_lines`; none
        from the start). From a verified start point, it finds what a scan from the start
        would: every line of the view before was read by the scans before, as one row each, all
        readable, and none of them matches a row of the wrong length; the view's first block,
        whose cells set the column shapes, reads alike; and the view from the start point on is
        read in the same blocks (Arrow's: each block is parsed up to its last newline, a row cut
        at its end carried whole into the next block, so where a scan stops depends on where
        the blocks end), with the view's first lines (the header: the column names, their
        count) before it.

        It is first given the text up to the end of the block after the next damaged
        member's (where the garbling usually shows); if that does not tell, the text streamed
        on (from the text's start: _ScanInconclusive, for the caller's scan)."""
        # The view's lines before the text from `start_point` on, less those of
        # `leading_lines`; its rows, less the empty lines too
        before = self._view_newlines(start_point) - leading_lines.count(b"\n")
        rows_before = before - start_point.empty_lines
        next_end = next((m.end for m in self.damaged if m.end > start_point.text_at), None)
        if next_end is not None:
            first_block = start_point.text_at // SCAN_BLOCK_BYTES * SCAN_BLOCK_BYTES
            block_end = -(-next_end // SCAN_BLOCK_BYTES) * SCAN_BLOCK_BYTES
            window_end = min(block_end, first_block + SCAN_WINDOW_BYTES)
            window = self.window = self._read_window(start_point, window_end)
            scan = UnreadableLineScan(
                rows_before, before, start_point.text_at > 0, self.shapes, window_end
            )
            if window.reaches_end:
                scan.window_end = None
            text = _InMemoryScanText(
                self.path,
                leading_lines,
                reads=[leading_lines, *window.reads],
                view_last_line=self._last_line,
            )
            try:
                return self._record_scan(
                    start_point, first_unreadable_line(text, self.layout, scan), scan
                )
            except _ScanInconclusive:
                pass
        if start_point.resume is None:
            raise _ScanInconclusive
        scan = UnreadableLineScan(rows_before, before, True, self.shapes)
        stream = _StreamedScanText(
            self.path,
            leading_lines,
            gzip=True,
            known_damage=self.known_damage,
            omit=self._omit_after(start_point),
            leading_lines=leading_lines,
            resume=start_point.resume,
            view_last_line=self._last_line,
        )
        return self._record_scan(
            start_point, first_unreadable_line(stream, self.layout, scan), scan
        )

    def _record_scan(
        self, start_point: _StartPoint, line: int | None, scan: UnreadableLineScan
    ) -> int | None:
        """`line`, found by `scan` from `start_point`: noted as the last scan."""
        self.last_scan = (start_point, scan.rows_all_read)
        return line

    def _read_window(self, start_point: _StartPoint, end: int) -> _ScanWindow:
        """The view from `start_point` up to the end of the line that holds offset `end` of the
        whole text (a block's end), read as a scan reads it: a block of the whole at a time,
        the stretches left out taken out."""
        reads: list[bytes] = []
        omit = self._omit_after(start_point)
        past_end = False
        with self._stream_from(start_point, SCAN_BLOCK_BYTES, omit) as stream:
            while read := stream.read(SCAN_BLOCK_BYTES):
                if past_end:  # a read from `end` on: up to its first line's end
                    line_end = read.find(b"\n")
                    if line_end >= 0:
                        reads.append(read[: line_end + 1])
                        return _ScanWindow(start_point, reads, False, not omit)
                reads.append(read)
                past_end = stream.given >= end
        return _ScanWindow(start_point, reads, True, not omit)

    def _check_first_block(self, view: _Source) -> None:
        """A stretch left out in the view's first block: the column shapes told from it again
        (a block's text, parsed in memory). Alike, the scans before still tell (they judged
        the lines they read alike); else the next scan starts at the text's start."""
        self.first_block_changed, self.leading_lines = False, None
        if self.shapes:
            with view.stream() as stream:
                first = stream.read(SCAN_BLOCK_BYTES)  # as a scan's first read
            if _first_block_shapes(first, self.layout) != self.shapes:
                self.shapes = []

    def _view_leading_lines(self, view: _Source) -> bytes | None:
        """The view's header lines (its first line, if it has none: the column count is told
        from it), if they lie in its first read."""
        if self.leading_lines is None:
            with view.stream() as stream:
                text = stream.read(SCAN_BLOCK_BYTES)  # as a scan's first read
            end = 0
            for _ in range(self.layout.header_lines or 1):  # a loop over one line, or a few
                end = text.find(b"\n", end) + 1
                if not end:
                    break
            lines = text[:end].split(b"\n")[:-1]
            empty = any(line in (b"", b"\r") for line in lines)  # Arrow would skip it
            self.leading_lines = b"" if empty else text[:end]
        return self.leading_lines or None

    def _last_line(self) -> bytes:
        """The view's last line (Source.last_line): the whole text's, where no stretch left
        out reaches its last SNIFF_BYTES, or the newline before its last line."""
        end = self._text_end()
        if self.omitted and self.omitted[-1].end > end.tail_from:
            raise _ScanInconclusive
        return end.last_line

    # --- where lines are ---------------------------------------------------------------

    def where_line_starts(self, view: _Source, line: int) -> tuple[int, int]:
        """Where line number `line` of the view starts in the whole text (after the view's
        (line - 1)th newline, or at the text's end if it has fewer), and its number there
        (the view's, when nothing is left out)."""
        at = 0
        if line > 1:  # counted from the last start point before it
            start_points = self.start_points if self.shortcuts else self.start_points[:1]
            start_point = next(
                p for p in reversed(start_points) if self._view_newlines(p) < line - 1
            )
            at = self._after_view_newlines(start_point, line - 1 - self._view_newlines(start_point))
        at = _whole_offset(at, view.omit)
        return at, (self.line_before(at)[0] if view.omit else line)

    def line_before(self, offset: int) -> tuple[int, int]:
        """The number of the whole text's line that holds `offset` (or ends at it, at the
        text's end), and where that line starts; counted from the last start point before
        it."""
        start_point = self._start_point_before(offset)
        counted = self._lines_up_to(start_point, offset)
        return start_point.newlines + counted.newlines + 1, counted.line_start

    def leave_out(self, cut_line: int, cut_at: int, member: DamagedMember) -> int:
        """Leave the garbled stretch from `cut_at` (line `cut_line`) to the end of `member`'s
        text out, and note where the text goes on after it; the number of the line there."""
        start_point = self._start_point_before(member.end)
        counted = self._lines_up_to(start_point, member.end)
        end_line = start_point.newlines + counted.newlines + 1
        stretch = _OmittedStretch(cut_at, member.end, end_line - cut_line)
        if any(cut_at < p.text_at < member.end for p in self.start_points) or any(
            o.start < stretch.end and stretch.start < o.end for o in self.omitted
        ):
            self.shortcuts = False  # a start point left out: no scan or count starts there
        # The scan read every row of the view from its start point to the stretch, all readable:
        # one each? Then a scan after the stretch finds what a scan from the start would.
        scan_start_point, rows_all_read = self.last_scan
        verified = (
            self.shortcuts
            and rows_all_read
            and scan_start_point is self.verified_start
            and scan_start_point.text_at <= cut_at
        )
        lines = self._row_lines(scan_start_point, cut_at) if verified else None
        verified = lines is not None and lines.all_rows
        self.omitted.append(stretch)
        self.omitted.sort()
        if self.shortcuts and member.followed:  # its resume point is at `member.end`
            empty_lines = scan_start_point.empty_lines + lines.empty if lines is not None else 0
            new_start_point = _StartPoint(
                member.end, member.resume, end_line - 1, counted.line_start, empty_lines
            )
            self.start_points.append(new_start_point)
            self.start_points.sort(key=lambda p: p.text_at)
            if verified:
                self.verified_start = new_start_point
        if cut_at < SCAN_BLOCK_BYTES:  # the view's first block changed
            self.first_block_changed = True
        self.window = None
        return end_line

    def line_count(self) -> int:
        """The whole text's lines, a last one without a newline counted."""
        end = self._text_end()
        return end.newlines + (not end.ends_line)

    def _view_newlines(self, start_point: _StartPoint) -> int:
        """The view's newlines before `start_point`."""
        return start_point.newlines - sum(
            o.newlines for o in self.omitted if o.end <= start_point.text_at
        )

    def _omit_after(self, start_point: _StartPoint) -> list[tuple[int, int]]:
        return [(o.start, o.end) for o in self.omitted if o.start >= start_point.text_at]

    def _start_point_before(self, offset: int) -> _StartPoint:
        return next(p for p in reversed(self.start_points) if p.text_at <= offset)

    def _stream_from(
        self, start_point: _StartPoint, block: int, omit: list[tuple[int, int]] | None = None
    ) -> _GzipText:
        """The text from `start_point` on, its reads ending where a stream's from the start,
        read `block` at a time, end."""
        return _GzipText(self.path, None, None, omit, self.known_damage, start_point.resume, block)

    def _chunks_from(self, start_point: _StartPoint, view: bool = False) -> Iterator[bytes]:
        """The whole text from `start_point` on, or the view's (the stretches after it left
        out), read as Source.chunks reads it: the last scan's text, from memory, where it is
        that."""
        skip = 0
        window = self.window
        if window is not None and window.start_point == start_point and (view or window.whole_text):
            for read in window.reads:  # a loop over the blocks it read
                yield read
                skip += len(read)  # the text after it, if wanted, is inflated again
        omit = self._omit_after(start_point) if view else None
        with self._stream_from(start_point, GZIP_CHUNK, omit) as stream:
            while chunk := stream.read(GZIP_CHUNK):
                if skip:
                    chunk, skip = chunk[skip:], max(skip - len(chunk), 0)
                if chunk:
                    yield chunk

    def _lines_up_to(self, start_point: _StartPoint, to: int) -> _LinesUpTo:
        """The whole text from `start_point` up to `to`: its newlines, and where the line
        holding `to` starts."""
        at, newlines, line_start = start_point.text_at, 0, start_point.line_start
        if at < to:
            for chunk in self._chunks_from(start_point):  # a loop over chunks of a few MB
                part = chunk[: to - at]
                newlines += part.count(b"\n")
                last = part.rfind(b"\n")
                if last >= 0:
                    line_start = at + last + 1
                at += len(chunk)
                if at >= to:
                    break
        return _LinesUpTo(newlines, line_start)

    def _row_lines(self, start_point: _StartPoint, to: int) -> _RowLines:
        """The lines of the view from `start_point` to `to` (a line's start), the stretches
        left out between taken out: whether each reads as one row, or none (see _RowLines)."""
        lines = _RowLines(self.layout.dialect[0])
        kept = [(start_point.text_at, to)]  # the stretches of the whole text the view keeps there
        for o in self.omitted:  # a loop over the few stretches left out
            start, end = kept[-1]
            if start <= o.start < end:
                kept[-1:] = [(start, o.start), (o.end, end)]
        at = start_point.text_at
        for chunk in self._chunks_from(start_point):  # a loop over chunks of a few MB
            for start, end in kept:  # a loop over a stretch or a few
                if start < at + len(chunk) and at < end:
                    lines.feed(chunk[max(start - at, 0) : end - at], start >= at)
            at += len(chunk)
            if at >= to or not lines.all_rows:
                break
        lines.all_rows = lines.all_rows and not lines.unfinished
        return lines

    def _after_view_newlines(self, start_point: _StartPoint, count: int) -> int:
        """Where, in the view, the text after the `count`th newline from `start_point` on
        starts (the view's end if it has fewer)."""
        at = start_point.text_at - sum(
            o.end - o.start for o in self.omitted if o.end <= start_point.text_at
        )
        for chunk in self._chunks_from(start_point, view=True):  # a loop over chunks of a few MB
            found = chunk.count(b"\n")
            if found >= count:
                ends = np.flatnonzero(np.frombuffer(chunk, np.uint8) == ord("\n"))
                return at + int(ends[count - 1]) + 1
            count -= found
            at += len(chunk)
        return at

    def _text_end(self) -> _TextEnd:
        """The whole text's end, counted once: from the last start point, or from the start
        where less than SNIFF_BYTES of text follow that."""
        if self.end is None:
            # The last start point, else the text's start
            for start_point in (self.start_points[-1], self.start_points[0]):
                at, newlines, tail = start_point.text_at, start_point.newlines, b""
                for chunk in self._chunks_from(start_point):  # a loop over chunks of a few MB
                    at += len(chunk)
                    newlines += chunk.count(b"\n")
                    tail = (tail + chunk[-SNIFF_BYTES:])[-SNIFF_BYTES:]
                if at - start_point.text_at >= SNIFF_BYTES or start_point.text_at == 0:
                    break
            stripped = tail.rstrip()
            last_newline = stripped.rfind(b"\n")
            self.end = _TextEnd(
                at,
                newlines,
                tail.endswith(b"\n"),
                stripped.rsplit(b"\n", 1)[-1],
                max(at - SNIFF_BYTES, at - len(tail) + last_newline if last_newline >= 0 else -1),
            )
        return self.end


class _LinesUpTo(NamedTuple):
    """The whole text's lines from a start point up to an offset (_lines_up_to)."""

    newlines: int  # in the text counted
    line_start: int  # where the line holding the offset starts


class _TextEnd(NamedTuple):
    length: int
    newlines: int
    ends_line: bool  # the text ends with a newline
    last_line: bytes  # as Source.last_line tells it
    # A view whose text from here on (or later) is the whole text's has its last line: the
    # whole text's last SNIFF_BYTES, or the newline before its last line, lie after it
    tail_from: int


class _RowLines:
    """Whether lines of text each read as one row of a CSV to Arrow, as to a count of
    newlines, or as none (`empty`, counted: Arrow skips them): none ends in a lone carriage
    return (Arrow ends a row there), none opens a quoted field that it does not close (Arrow
    reads on into the next line). Fed the text a piece at a time."""

    def __init__(self, delimiter: str) -> None:
        cell = re.escape(delimiter.encode())
        # A field: quoted, closed on its line (what follows the closing quote, up to the
        # delimiter, is read as text), or not quoted (a quote inside it is text)
        field = rb'(?:"(?:[^"\r\n]|"")*"[^' + cell + rb"\r\n]*"
        field += rb'|[^"' + cell + rb"\r\n][^" + cell + rb"\r\n]*|)"
        self._closed_lines = re.compile(rb"(?:" + field + rb"(?:" + cell + field + rb")*\r?\n)*")
        self._carry = b""
        self.all_rows = True
        self.empty = 0  # lines

    @property
    def unfinished(self) -> bool:
        """A line fed in part."""
        return bool(self._carry)

    def feed(self, text: bytes, starts_line: bool = False) -> None:
        """More text; `starts_line`: it starts a line (after a stretch left out)."""
        if starts_line and self._carry:
            self.all_rows = False  # a line cut where a stretch was left out
        text = self._carry + text
        end = text.rfind(b"\n") + 1
        lines, self._carry = text[:end], text[end:]
        if len(self._carry) > SCAN_BLOCK_BYTES:
            self.all_rows = False  # a line longer than a scan's block: not told apart
        if not lines or not self.all_rows:
            return
        lone_return = lines.count(b"\r") != lines.count(b"\r\n")
        open_quote = b'"' in lines and self._closed_lines.match(lines).end() != len(lines)
        if lone_return or open_quote:
            self.all_rows = False
        elif b"\n\n" in lines or b"\n\r" in lines or lines[:1] in (b"\n", b"\r"):
            text = np.frombuffer(lines, np.uint8)
            ends = np.flatnonzero(text == ord("\n"))
            starts = np.r_[0, ends[:-1] + 1]
            self.empty += int(np.count_nonzero((ends == starts) | (text[starts] == ord("\r"))))


@dataclass
class _StreamedScanText(_Source):
    """A view's text streamed from a start point after a stretch left out on (`resume`, the
    stretches after it in `omit`), the view's first lines (`leading_lines`, its header) before
    it: what a scan that starts there parses, in the same blocks as a scan from the start (its
    reads end where that scan's end)."""

    leading_lines: bytes = b""
    resume: ResumePoint | None = None
    view_last_line: Callable[[], bytes] | None = None

    def stream(self, notes: list[str] | None = None) -> io.RawIOBase:
        text = _GzipText(
            self.path, None, None, self.omit, self.known_damage, self.resume, SCAN_BLOCK_BYTES
        )
        return _ReplayedReads([self.leading_lines], text)

    def last_line(self) -> bytes:
        assert self.view_last_line is not None
        return self.view_last_line()


@dataclass
class _InMemoryScanText(_Source):
    """A text given in memory as the reads (`reads`) a scan would make of a view: its last
    line is the view's."""

    reads: list[bytes] = field(default_factory=list)
    view_last_line: Callable[[], bytes] | None = None

    def stream(self, notes: list[str] | None = None) -> io.RawIOBase:
        return _ReplayedReads(self.reads)

    def last_line(self) -> bytes:
        assert self.view_last_line is not None
        return self.view_last_line()


class _ReplayedReads(io.RawIOBase):
    """`reads`, each as a read of its own (none longer than asked), then `text`'s reads."""

    def __init__(self, reads: list[bytes], text: io.RawIOBase | None = None) -> None:
        super().__init__()
        self._reads, self._text = [read for read in reads if read][::-1], text

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        if self._text is not None:
            self._text.close()
        super().close()

    def read(self, size: int = -1) -> bytes:
        if not self._reads:
            return self._text.read(size) if self._text is not None else b""
        read = self._reads.pop()
        if 0 <= size < len(read):
            self._reads.append(read[size:])
            read = read[:size]
        return read

    def readinto(self, buffer: bytearray) -> int:  # type: ignore[override]
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def _whole_offset(offset: int, omitted: list[tuple[int, int]]) -> int:
    """Where `offset` of a text read without the `omitted` stretches lies in the whole."""
    for start, end in sorted(omitted):  # a loop over the few stretches left out
        if offset < start:
            break
        offset += end - start
    return offset


@dataclass
class UnreadableLineScan:
    """How a scan (first_unreadable_line) reads a text that starts part-way into a view's,
    and what it tells of the rows before the line it finds. The text given is the view's
    first lines (its header, or first row), then the view's text from a line's start on;
    the lines before that were read as one row each, all readable (_GarbleSearch)."""

    rows_before: int = 0  # added to a row's index in the text given, it is the view's
    lines_before: int = 0  # ...to a line's number
    part_way: bool = False  # the text given starts part-way into the view's
    # The columns' shapes: given, or (empty) told from the first block and put here
    shapes: list[tuple[str | None, int | None]] = field(default_factory=list)
    # Where the text given ends (at the end of the line there), if before the view's: a scan
    # that reads to its end, or stops in its last block, or fails, does not tell
    window_end: int | None = None
    # Told by the scan: every row before the line it found was read. Not so where Arrow
    # refused a row whole (its bytes no UTF-8): that row is where the garbling shows, though
    # rows of the wrong length it had handed over, or rows not yet read, may come before.
    rows_all_read: bool = True


def first_unreadable_line(
    source: _Source, layout: _TableLayout, scan: UnreadableLineScan | None = None
) -> int | None:
    """The number of the first line of a table's text that does not read (the wrong number
    of fields, a cell that is no number or no time, or, where the file writes each column's
    numbers with as many decimals, one with other), read a block at a time up to it; None
    if every line reads (a last line cut short aside).

    `scan`: how to read a text that starts part-way into the table's, and what the scan
    tells besides (_GarbleSearch's scans)."""
    scan = UnreadableLineScan() if scan is None else scan
    invalid: list[str] = []  # the first two rows of the wrong length (one may be the last)
    shapes = scan.shapes  # each column's pattern and decimals
    windowed = scan.window_end is not None

    def line_of(text: str) -> int:
        line = _line_of(source, text)
        return 1 if line is None else line + scan.lines_before if line > 1 else line

    def on_invalid(row: pacsv.InvalidRow) -> str:
        # Skipped, never an error: a reader that parses ahead would raise it before the
        # blocks before it, which may hold the first bad row, came out
        if len(invalid) < 2:
            invalid.append(row.text)
        return "skip"

    options = _scan_csv_options(layout, on_invalid)
    point = layout.dialect[1]
    rows_before = scan.rows_before
    unreadable, invalid_line = None, None
    with _quiet_undecodable_rows(), source.stream() as stream:
        try:
            batches = pacsv.open_csv(stream, *options)
            for batch in batches:  # a loop over blocks of text, up to the first bad row
                if unreadable is not None:
                    break  # it was the last row of the block before, and not the text's last
                if not shapes:
                    shapes[:] = _shapes(batch, point)
                for column, shape in zip(batch.columns, shapes):  # a loop over 4 columns
                    bad = np.flatnonzero(_unreadable_cells(column, *shape, point))
                    if len(bad) and (unreadable is None or rows_before + bad[0] < unreadable):
                        unreadable = rows_before + int(bad[0])
                rows_before += batch.num_rows
                if unreadable is not None and unreadable < rows_before - 1:
                    break
                if invalid and invalid_line is None:
                    invalid_line = line_of(invalid[0])
                if invalid_line is not None and rows_before + layout.header_lines >= invalid_line:
                    break  # the rows read since cannot come before it
            else:
                if windowed:
                    raise _ScanInconclusive  # the view's text goes on
                if unreadable == rows_before - 1:
                    unreadable = None  # the text's last line, cut short as the damage leaves it
            if windowed and _last_batch(batches):
                raise _ScanInconclusive  # stopped in the block the window's end cut short
        except (pa.ArrowInvalid, pa.ArrowKeyError) as error:  # text that does not parse
            if windowed:
                raise _ScanInconclusive from None
            # A row Arrow names (one with bytes that are no UTF-8 is not handed to
            # `on_invalid`): garbled from there; else from the rows not yet seen, at the latest.
            named = re.search(r"Expected \d+ columns, got \d+: (.+)", str(error))
            if named is not None:
                invalid_line = line_of(named[1].rstrip("\r"))
                invalid.insert(0, named[1])
                scan.rows_all_read = False  # rows handed over before it are passed over
            elif unreadable is None:
                if scan.part_way:  # where it stopped depends on blocks begun before
                    raise _ScanInconclusive from None
                unreadable = rows_before
    lines = [] if unreadable is None else [unreadable + layout.header_lines + 1]
    if invalid:
        if len(invalid) == 1 and unreadable is None:
            last = source.last_line().decode("utf-8", errors="replace")
            if invalid[0].strip() == last.strip():
                if windowed:
                    raise _ScanInconclusive  # a row of the window like the view's last
                return None  # the last line cut short
        lines.append(invalid_line or line_of(invalid[0]))
    return min(lines) if lines else None


def _scan_csv_options(
    layout: _TableLayout, on_invalid: Callable[[pacsv.InvalidRow], str]
) -> tuple[pacsv.ReadOptions, pacsv.ParseOptions, pacsv.ConvertOptions]:
    """How a scan reads a table's text: its cells as they are written, a block at a time."""
    wanted = [layout.time_col, *layout.axes]
    read, parse, convert = _csv_options(
        layout.has_header, wanted, 0, layout.names, layout.dialect, on_invalid, SCAN_BLOCK_BYTES
    )
    convert.column_types = {name: pa.binary() for name in wanted}  # no cell refused
    convert.strings_can_be_null = True  # NaN and empty cells as a number column has them
    return read, parse, convert


def _shapes(batch: pa.RecordBatch, point: str) -> list[tuple[str | None, int | None]]:
    """The columns' shapes, told from a text's first batch: the time's pattern, and the
    decimals each column's numbers are written with, if all have as many."""
    patterns = [_time_pattern(batch.column(0))] + [READABLE_NUMBER] * 3
    decimals = [_fixed_decimals(column, point) for column in batch.columns]
    return list(zip(patterns, decimals))


def _first_block_shapes(
    text: bytes, layout: _TableLayout
) -> list[tuple[str | None, int | None]] | None:
    """The shapes a scan tells from its first batch, given its first read (`text`); None
    if that holds no whole line, or does not parse."""
    if b"\n" not in text:
        return None  # the first block goes on into the next read
    try:
        with _quiet_undecodable_rows():
            batches = pacsv.open_csv(pa.BufferReader(text), *_scan_csv_options(layout, _skip))
            return _shapes(batches.read_next_batch(), layout.dialect[1])
    except (pa.ArrowInvalid, pa.ArrowKeyError, StopIteration):
        return None


def _skip(row: pacsv.InvalidRow) -> str:
    return "skip"


def _last_batch(batches: pacsv.CSVStreamingReader) -> bool:
    """Whether the batch read last was the last."""
    try:
        batches.read_next_batch()
    except StopIteration:
        return True
    return False


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
