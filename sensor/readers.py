"""Read accelerometer CSV files (plain or gzipped) into a `Recording`.

Layouts: a header naming a time column and three acceleration columns; no header (time, x,
y, z, extra columns ignored); ActiLife raw exports (10-line header, no time column).
Epoch-count exports are refused: they hold counts, not acceleration.
"""

from __future__ import annotations

import contextlib
import csv
import io
import itertools
import re
import sys
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import NamedTuple

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from sleepmove.base.clock import CLOCK_TIME_OF_DAY
from sleepmove.base.errors import InputError
from sleepmove.base.order_statistics import median, quantiles
from sleepmove.sensor.recording import CLOCK_NAIVE, CLOCK_RELATIVE, CLOCK_UNIX, Recording
from sleepmove.sensor.zones import offset_name

STANDARD_GRAVITY = 9.80665
TIME_NAMES = {"time", "timestamp", "t", "epoch", "datetime", "date", "unixtime", "ts", "clock"}
AXIS_PREFIXES = {"", "a", "acc", "accel", "accelerometer", "acceleration", "raw", "accraw"}
EPOCH_COUNT_NAMES = {"axis1", "axis2", "axis3", "vm", "steps", "counts", "activity", "lux"}
NOT_ACCELERATION = ("gyr", "gyro", "mag", "angle", "rot", "quat", "euler", "temp")
SNIFF_BYTES = 64 * 1024
LONGEST_NIGHT_H = 30.0  # a recording longer than this holds several nights
# Rows that all share one time stamp, this many of them, are no recording: BLE links stamp
# a few samples alike, never a few hundred thousand rows. From this many rows on, their
# time is also checked to advance at no more than MOST_RATE_HZ (accelerometers stream at up
# to 3200 Hz): rows packed tighter are no recording either, and would fill memory first.
STILL_TIME_ROWS = 500_000
# ...and rows of such stretches after others passed (28 h of a 100 Hz sensor's rows)
STILL_ROWS_BUDGET = 10_000_000
MOST_RATE_HZ = 5000.0
# Time runs forward: the grid refuses stamps that jump back by more than its gap (1 s unless
# set) at over 1 in 100 steps. A stretch whose stamps jump back and forth by more than
# ORDER_JUMP_S that often, each way, is judged like one whose time stands still: rows of
# one time and one 8 h on, in turn, passed the span and rate checks (50 M rows of a small
# gzip took 4.5 GB to be refused by the grid). Each way: rows written newest first only go
# back (they are read in time order), a gap or a clock reset is one jump.
ORDER_JUMP_S = 1.0
OUT_OF_ORDER_SHARE = 0.01


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


def dialect(head_lines: list[str]) -> tuple[str, str]:
    """(delimiter, decimal point): `;` and decimal commas as European spreadsheets write
    them, else `,` and `.`. Told from the first lines: a line split by `;` into four or
    more fields, and data fields such as `0,981`."""
    first = head_lines[0] if head_lines else ""
    if first.count(";") < 3:
        return ",", "."
    data = head_lines[1:6] if len(head_lines) > 1 else head_lines[:1]
    fields = [field.strip() for line in data for field in line.split(";")]
    comma = any(re.fullmatch(r"[-+]?\d+,\d+", field) for field in fields)
    return ";", "," if comma else "."


# A gzip file is decompressed as it is parsed, this much at a time: memory stays that of
# the parsed samples, whatever the file inflates to (a "gzip bomb" included).
GZIP_CHUNK = 1 << 22


class ResumePoint(NamedTuple):
    """Where the text goes on after a damaged member: the next sound member, at byte `at` of
    the file, gives the text from `text_at` on. A stream can start there (`_GzipText`'s
    `start`) without inflating what comes before."""

    at: int
    text_at: int
    to_line_end: bool  # its first line is left out (it may be the rest of a line cut short)
    last_byte: bytes  # the last byte inflated before it: a later member's lines are judged by it


class DamagedMember(NamedTuple):
    """A damaged gzip member's text, as the stream gives it: what came before the damage."""

    start: int
    end: int  # where the text goes on, from the next sound member (`resume`), if any
    complaint: str  # zlib's
    member_at: int = 0  # where the member starts in the file
    damage_at: int = 0  # the byte of the file zlib refuses: the text is what the bytes before give
    resume: ResumePoint | None = None  # where a sound member's text goes on, from `end`

    @property
    def followed(self) -> bool:
        """Whether a sound member's text follows, from `end` on."""
        return self.resume is not None


@dataclass
class _Source:
    """A CSV's text: plain files are parsed from the path, so the whole file is never held
    as one more copy in memory; a gzip file is decompressed as the parse reads it."""

    path: str
    head: bytes  # the first SNIFF_BYTES (of the text, for a gzip file)
    gzip: bool = False
    notes: list[str] | None = None  # where the gzip stream says what it met (damage, a cut)
    limit: int | None = None  # a gzip file's text is read up to here (a garbled rest left out)
    damage: str | None = None  # zlib's complaint, once a parse has read a damaged gzip through
    damaged_spans: list[DamagedMember] = field(default_factory=list)  # ...and where
    line_cuts: list[tuple[int, int]] = field(default_factory=list)  # ...and lines cut (_GzipText)
    omit: list[tuple[int, int]] = field(default_factory=list)  # text left out (garbled)
    # Damaged members already found, by where they start in the file: inflated again, each
    # is read up to its damage at once, without the search for the damaged byte or the next
    # sound member (the passes over a damaged file's text, gzip_garbling)
    known_damage: dict[int, DamagedMember] | None = None

    @contextlib.contextmanager
    def arrow_input(
        self, watch: Callable[[int, bytes], None] | None = None
    ) -> Iterator[str | io.RawIOBase]:
        """What pyarrow parses: the path, at full speed, where pyarrow can take it. `watch`
        sees a gzip file's text as it inflates (the rows of each stretch, its last bytes); a
        plain file's whole (its rows, estimated from its size) and end, once, before the
        parse."""
        if not self.gzip:
            if watch is not None:
                with open(self.path, "rb") as handle:
                    size = handle.seek(0, io.SEEK_END)
                    handle.seek(max(size - SNIFF_BYTES, 0))
                    tail = handle.read()
                # Its start, then the whole (rows from the end's own line length: the first
                # lines may be longer) with its end.
                watch(0, self.head)
                watch(int(size * max(tail.count(b"\n"), 1) / max(len(tail), 1)), tail)
            if arrow_can_open(self.path):
                yield self.path
                return
        with self.stream(self.notes) as stream:
            if isinstance(stream, _GzipText):
                stream.watch = watch
            yield stream
            self.damage = getattr(stream, "damage", None)
            self.damaged_spans = getattr(stream, "damaged_spans", [])
            self.line_cuts = getattr(stream, "line_cuts", [])

    def stream(self, notes: list[str] | None = None) -> io.RawIOBase:
        """The text as a file: decompressed for a gzip file (damage noted in `notes`)."""
        if self.gzip:
            return _GzipText(self.path, notes, self.limit, self.omit, self.known_damage)
        return open(self.path, "rb")  # noqa: SIM115 (the caller closes it)

    def chunks(self) -> Iterator[bytes]:
        """The text a few MB at a time; for the rare looks at the whole of it (a blank file,
        the line of an error)."""
        with self.stream() as stream:
            while chunk := stream.read(GZIP_CHUNK):
                yield chunk

    def last_line(self) -> bytes:
        if self.gzip:
            tail = b""
            for chunk in self.chunks():
                tail = (tail + chunk)[-SNIFF_BYTES:]
            return tail.rstrip().rsplit(b"\n", 1)[-1]
        with open(self.path, "rb") as handle:
            size = handle.seek(0, io.SEEK_END)
            handle.seek(max(size - SNIFF_BYTES, 0))
            return handle.read().rstrip().rsplit(b"\n", 1)[-1]


def arrow_can_open(path: str) -> bool:
    """Whether pyarrow can open the path itself: it encodes the name as UTF-8, which a name
    in another encoding (kept by Python as surrogates) is not."""
    try:
        path.encode()
    except UnicodeEncodeError:
        return False
    return True


class _GzipText(io.RawIOBase):
    """A .gz file's text, decompressed GZIP_CHUNK at a time as it is read.

    All that decompresses is read: a recording cut off by a power loss keeps what it has,
    and a member damaged part-way keeps what came before (each said once, in `notes`). A
    .gz file may hold several members one after the other (`cat a.gz b.gz`): after a damaged
    one, the text goes on with the next sound member (see _next_sound_member).

    `known_damage` (damaged members found before, by where they start in the file), `start`
    (a place after a damaged member to begin at) and `align` serve the error path's passes
    over a damaged file's text (gzip_garbling): the text given is the same (see
    `line_cuts`)."""

    def __init__(
        self,
        path: str,
        notes: list[str] | None,
        limit: int | None = None,
        omit: list[tuple[int, int]] | None = None,
        known_damage: dict[int, DamagedMember] | None = None,
        start: ResumePoint | None = None,
        align: int | None = None,
    ) -> None:
        super().__init__()
        self._path = path
        self._limit = limit  # bytes of text to give, if not all
        self._omit = sorted(omit or [])  # stretches of the text not to give (garbled)
        self._known_damage = known_damage or {}
        # Reads end at multiples of `align` of the text: as a stream from the start read in
        # blocks of that size, for one that starts part-way (`start`)
        self._align = align
        self.damage: str | None = None  # zlib's complaint, where the stream is damaged
        self.damaged_spans: list[DamagedMember] = []  # each damaged member's text kept
        self._file = open(path, "rb")  # noqa: SIM115 (closed with the stream)
        self._inflater = zlib.decompressobj(wbits=31)
        self._member_at = 0  # where the member being inflated starts in the file
        self._member_text_at = 0  # ...and in the text
        self._input = b""
        self._buffer = bytearray()
        self._produced = 0  # the text so far (the end of the buffer's text)
        self._given = 0  # the text given out so far, what `omit` leaves out included
        self._to_line_end = False  # a member read after damage: its first line is left out
        self._last_byte = b""  # of the text so far
        self._member_inflated = 0  # text inflated from the member, a first line left out too
        self._damage_at = 0  # the byte of the file zlib refused, at the latest damage
        # Each cut line dropped (_drop_cut_line): where the last whole line before it ended,
        # and where the text inflated at once with the cut began. Where a read ended between
        # the two, the cut line's start was given out, and stays: the text kept then depends
        # on the sizes the stream was read in (a gzip_garbling search looks again, as before)
        self.line_cuts: list[tuple[int, int]] = []
        self._line_end = 0  # where the last whole line of the text so far ends
        self._fill_at = 0  # where the text inflated by the latest fill begins
        self._fed = False
        self._done = False
        self._notes = notes
        self.watch: Callable[[int, bytes], None] | None = None  # sees the text as it comes
        if start is not None:  # the text from a sound member after damage on, as it goes on
            self._file.seek(start.at)
            self._produced = self._given = self._line_end = start.text_at
            self._start_member(start.at)
            self._to_line_end, self._last_byte, self._fed = start.to_line_end, start.last_byte, True

    def readable(self) -> bool:
        return True

    @property
    def given(self) -> int:
        """Where in the whole text (what `omit` leaves out counted) the reads so far end."""
        return self._given

    def close(self) -> None:
        self._file.close()
        super().close()

    def read(self, size: int = -1) -> bytes:
        if self._align and size > 0:
            size = min(size, self._align - self._given % self._align)
        while True:  # a loop over stretches of text, when `omit` leaves one out whole
            while not self._done and (size < 0 or len(self._buffer) < size):
                self._fill()
            size = len(self._buffer) if size < 0 else min(size, len(self._buffer))
            out = bytes(self._buffer[:size])
            del self._buffer[:size]
            first, self._given = self._given, self._given + len(out)
            if not self._omit or not out:
                return out
            kept = _without_stretches(out, first, self._omit)
            if kept:
                return kept

    def readinto(self, buffer: bytearray) -> int:  # type: ignore[override]
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def _note(self, text: str) -> None:
        if self._notes is not None:
            self._notes.append(text)

    def _fill(self) -> None:
        self._fill_at = self._produced
        if not self._input:
            self._input = self._file.read(GZIP_CHUNK)
            if not self._input:
                if self._fed and not self._inflater.eof and not self._produced:
                    # Cut before any text: not an empty recording but a damaged file.
                    raise InputError(
                        self._path,
                        "damaged gzip file: it ends before any data (truncated, "
                        f"{self._file.tell()} bytes)",
                        expected="a complete .csv.gz",
                    )
                if self._fed and not self._inflater.eof:
                    self._note(
                        f"the gzip file is cut short; the {self._produced / 1e6:.1f} MB "
                        "before the cut were read"
                    )
                    self._drop_cut_line()
                self._done = True
                return
        if self._inflater.eof:  # the next member
            self._start_member(self._file.tell() - len(self._input))
        self._fed = True
        input_at = self._file.tell() - len(self._input)  # where the input starts in the file
        known = self._known_damage.get(self._member_at)
        damage: str | None = None
        if known is not None and input_at <= known.damage_at < input_at + len(self._input):
            out, damage = self._inflate_to_known_damage(known.damage_at - input_at, known)
        else:
            before = self._inflater.copy()  # a damaged stretch is inflated again, in steps
            try:
                out = self._inflater.decompress(self._input, GZIP_CHUNK)
            except zlib.error as exc:
                # The failed call's text is lost with the exception (up to GZIP_CHUNK, all of
                # it sound when only the checksum at the end is wrong): inflate the same input
                # again in small steps, keeping what comes before the damage.
                out, sound = _inflate_until_damage(before, self._input)
                damage, self._damage_at = str(exc), input_at + sound
            else:
                inflater = self._inflater
                self._input = inflater.unused_data if inflater.eof else inflater.unconsumed_tail
        self._member_inflated += len(out)  # all of it: the trailer's length counts it all
        if self._to_line_end:  # the rest of a line whose start the damage took
            line_end = out.find(b"\n")
            out, self._to_line_end = (b"", True) if line_end < 0 else (out[line_end + 1 :], False)
        if self._limit is not None and self._produced + len(out) >= self._limit:
            out, damage = out[: self._limit - self._produced], None  # damage beyond: not ours
            self._done = True
        self._buffer += out
        line_end = out.rfind(b"\n")
        if line_end >= 0:
            self._line_end = self._produced + line_end + 1
        self._produced += len(out)
        self._last_byte = out[-1:] or self._last_byte
        if damage is not None:
            self._after_damage(damage)
        if self.watch is not None and out:
            self.watch(out.count(b"\n"), out[-SNIFF_BYTES:])

    def _inflate_to_known_damage(
        self, sound: int, known: DamagedMember
    ) -> tuple[bytes, str | None]:
        """The text of the input's first `sound` bytes, those before the byte zlib refuses in a
        member damaged as `known` says: what _inflate_until_damage finds, in one step. The
        damage is reached once they have given all their text (in the same stretches as when
        zlib refused the input: a stream's `watch` sees the same)."""
        self._damage_at = known.damage_at
        out = self._inflater.decompress(self._input[:sound], GZIP_CHUNK)
        rest = self._inflater.unconsumed_tail
        if rest or len(out) == GZIP_CHUNK:  # text before the damage still to come
            self._input = rest + self._input[sound:]
            return out, None
        return out, known.complaint

    def _after_damage(self, damage: str) -> None:
        """Note the damage, keep the text before it, and go on with the next sound member."""
        self.damage = self.damage or damage
        known = self._known_damage.get(self._member_at)
        if known is not None:
            resume_at = known.resume.at if known.resume is not None else None
        else:
            resume_at = _next_sound_member(self._path, self._member_at + 1)
        if not self._produced and resume_at is None:
            raise InputError(
                self._path, f"damaged gzip file ({damage})", expected="a complete .csv.gz"
            )
        # zlib finds a wrong checksum only at the member's end: the damaged byte may be
        # anywhere before, and garbled values that still read as numbers cannot be told.
        anywhere = (
            "; a damaged byte may have changed values anywhere before"
            if "incorrect data check" in damage
            else ""
        )
        # The member's text whole and ending a line: the next member's first line is a row
        # (after a damaged middle it may be the rest of a line the damage cut).
        whole_lines = self._last_byte == b"\n" and self._member_text_whole(damage, resume_at)
        self._drop_cut_line()
        resume = None
        if resume_at is not None:
            resume = ResumePoint(resume_at, self._produced, not whole_lines, self._last_byte)
        member = DamagedMember(
            self._member_text_at,
            self._produced,
            damage,
            self._member_at,
            self._damage_at,
            resume,
        )
        self.damaged_spans.append(member)
        if resume_at is None:
            self._note(
                f"the gzip file is damaged after {self._produced / 1e6:.1f} MB ({damage}); "
                f"what came before was read{anywhere}"
            )
            self._done = True
            return
        self._note(
            f"the gzip file is damaged after {self._produced / 1e6:.1f} MB of text "
            f"({damage}); what came before was read{anywhere}; the text lost in between is a "
            f"gap, and the next sound gzip member, at byte {resume_at:,} of the file, was read "
            + (
                "on"
                if whole_lines
                else "on (its first line left out: it may be the rest of a line cut by the damage)"
            )
        )
        self._file.seek(resume_at)
        self._input = b""
        self._start_member(resume_at)
        self._to_line_end = not whole_lines

    def _start_member(self, at: int) -> None:
        """A member begins at byte `at` of the file, its text at the text so far."""
        self._inflater = zlib.decompressobj(wbits=31)
        self._member_at, self._member_text_at, self._member_inflated = at, self._produced, 0

    def _member_text_whole(self, damage: str, resume_at: int | None) -> bool:
        """Whether the damaged member gave all its text: its length was checked (zlib checks
        the CRC first), or the CRC failed but the length its trailer states (the 4 bytes
        before the next member) is the text's. A flipped byte in the compressed data fails
        the CRC too, and may lengthen the text to end on a newline by chance."""
        if "incorrect length check" in damage:
            return True
        if "incorrect data check" not in damage or resume_at is None or resume_at < 4:
            return False
        self._file.seek(resume_at - 4)
        stated = int.from_bytes(self._file.read(4), "little")
        return self._member_inflated % (1 << 32) == stated

    def _drop_cut_line(self) -> None:
        """Where the text stops at a cut or damage, its last line is cut at a byte no one
        chose: `...,0.1234` cut to `...,0.` read as a sample of 0 g. The text not yet given
        out is kept up to its last line's end."""
        self.line_cuts.append((self._line_end, self._fill_at))
        end = self._buffer.rfind(b"\n")
        self._produced -= len(self._buffer) - (end + 1)
        del self._buffer[end + 1 :]


def _without_stretches(text: bytes, first: int, stretches: list[tuple[int, int]]) -> bytes:
    """`text`, which starts at offset `first` of the whole, less the parts of it that lie in
    `stretches` (start, end) of the whole."""
    last = first + len(text)
    kept, at = [], first
    for start, end in stretches:  # a loop over the few stretches left out
        if end <= at or start >= last:
            continue
        kept.append(text[at - first : max(start, at) - first])
        at = min(end, last)
    kept.append(text[at - first :])
    return b"".join(kept)


# A gzip member starts with these bytes (the magic, then deflate as the method)
GZIP_MEMBER_START = b"\x1f\x8b\x08"
# A member after damage is read on once this much of its text inflates sound (or all of it)
SOUND_MEMBER_TEXT = 64 * 1024


def _next_sound_member(path: str, start: int) -> int | None:
    """Where in the file, from `start` on, the next sound gzip member begins: its first
    SOUND_MEMBER_TEXT bytes of text (or the whole member) inflate without a fault and hold
    no control bytes, as no member start found by chance inside compressed bytes does.
    Streamed a chunk at a time (a damaged file only)."""
    with open(path, "rb") as handle:
        handle.seek(start)
        at, carry = start, b""
        while chunk := handle.read(GZIP_CHUNK):  # a loop over chunks of the file
            data = carry + chunk
            found = data.find(GZIP_MEMBER_START)
            while found >= 0:  # a loop over candidates: a few in a damaged member
                if _sound_member_at(path, at - len(carry) + found):
                    return at - len(carry) + found
                found = data.find(GZIP_MEMBER_START, found + 1)
            carry = data[-(len(GZIP_MEMBER_START) - 1) :]
            at += len(chunk)
    return None


def _sound_member_at(path: str, offset: int) -> bool:
    inflater = zlib.decompressobj(wbits=31)
    text = 0
    with open(path, "rb") as handle:
        handle.seek(offset)
        pending = b""
        while text < SOUND_MEMBER_TEXT and not inflater.eof:  # a loop over small steps
            pending = pending or handle.read(SOUND_MEMBER_TEXT)
            if not pending:
                return False  # cut short before enough text: not to be told from chance
            try:
                out = inflater.decompress(pending, SOUND_MEMBER_TEXT)
            except zlib.error:
                return False
            pending = inflater.unconsumed_tail
            if len(out) != len(out.translate(None, CONTROL_BYTES)):
                return False
            text += len(out)
    return True


def _inflate_until_damage(
    inflater: zlib._Decompress, data: bytes, step: int = 512
) -> tuple[bytes, int]:
    """The text `inflater` gives from `data` before zlib finds the damage, `step` bytes of
    input at a time; the step that fails, again a byte at a time: its text was lost with it
    (a few kB, all of it sound where only the checksum at the member's end is wrong). With
    it, how many bytes of `data` came before the one zlib refused."""
    pieces, sound = [], len(data)
    for first in range(0, len(data), step):  # a loop over small steps, on a damaged file only
        before = inflater.copy() if step > 1 else inflater
        try:
            pieces.append(inflater.decompress(data[first : first + step]))
        except zlib.error:
            sound = first
            if step > 1:
                text, sound_in_step = _inflate_until_damage(before, data[first : first + step], 1)
                pieces.append(text)
                sound += sound_in_step
            break
        if inflater.eof:  # the member ended sound; what follows is the caller's to judge
            break
    return b"".join(pieces), sound


def _open_source(path: str, warnings: list[str]) -> _Source:
    try:
        with open(path, "rb") as handle:
            head = handle.read(SNIFF_BYTES)
        if path.endswith(".gz") or head.startswith(b"\x1f\x8b"):  # gzip, by name or content
            source = _Source(path, b"", gzip=True, notes=warnings)
            with source.stream() as stream:  # its notes come with the parse
                source.head = stream.read(SNIFF_BYTES)
        else:
            source = _Source(path, head)
        if not re.search(rb"\S", source.head) and not any(
            re.search(rb"\S", chunk) for chunk in source.chunks()
        ):
            raise InputError(path, "empty file", expected="accelerometer samples")
    except FileNotFoundError:
        raise InputError(path, "file not found") from None
    except IsADirectoryError:
        raise InputError(path, "is a folder", expected="a CSV file") from None
    except OSError as exc:  # unreadable (permissions, an I/O error): the input's fault
        raise InputError(
            path, f"cannot be read ({exc.strerror or exc})", expected="a file you may read"
        ) from None
    if b"\x00" in source.head or _binary_share(source.head) > 0.05:
        raise InputError(path, "binary data, not a CSV text file", expected="a CSV export")
    return source


# Control characters that text holds none of (tabs, line ends and form feeds aside).
CONTROL_BYTES = bytes(byte for byte in range(32) if byte < 9 or byte > 13)


def _binary_share(sniff: bytes) -> float:
    # Counted by deleting them, in C: a loop in Python over the 64 KB took ~1.4 ms.
    control = len(sniff) - len(sniff.translate(None, CONTROL_BYTES))
    return control / max(len(sniff), 1)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _is_datetime(text: str) -> bool:
    return bool(re.match(r"^\s*\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}", text))


def _normalise(name: str) -> str:
    name = re.sub(r"\(.*?\)|\[.*?\]", "", name.lower())
    return re.sub(r"[^a-z0-9]", "", name)


def find_columns(path: str, names: list[str]) -> tuple[str, list[str]]:
    norm = [_normalise(name) for name in names]
    if {n for n in norm} & {"axis1", "axis2"} or sum(n in EPOCH_COUNT_NAMES for n in norm) >= 2:
        raise InputError(
            path,
            "an epoch-count export (columns " + ", ".join(names) + "), not raw acceleration",
            expected="raw acceleration samples (export raw data, not epochs)",
        )
    time_col = next(
        (orig for orig, n in zip(names, norm) if n in TIME_NAMES or _time_with_unit(n)), None
    )
    if time_col is None:
        raise InputError(
            path,
            "no time column",
            where="header: " + ",".join(names),
            expected="a column named time, timestamp, t, epoch or datetime",
        )
    axes = []
    for axis in "xyz":
        match = next(
            (
                orig
                for orig, n in zip(names, norm)
                if orig != time_col and _is_axis_name(orig, n, axis)
            ),
            None,
        )
        if match is None:
            raise InputError(
                path,
                f"no {axis} acceleration column",
                where="header: " + ",".join(names),
                expected="three acceleration columns such as x,y,z or acc_x,acc_y,acc_z",
            )
        axes.append(match)
    for name in (time_col, *axes):  # a loop over four names
        if names.count(name) > 1:  # the parse took the first silently: maybe not the data
            raise InputError(
                path,
                f"the column {name!r} appears {names.count(name)} times",
                where="header: " + ",".join(names),
                expected="one column of each name",
            )
    return time_col, axes


def _time_with_unit(norm: str) -> bool:
    return bool(re.fullmatch(r"(time|timestamp|t|epoch|unixtime)(s|ms|sec|seconds|utc)?", norm))


def _is_axis_name(original: str, norm: str, axis: str) -> bool:
    low = original.lower()
    if (
        any(word in low for word in NOT_ACCELERATION)
        or norm.startswith(("g", "m"))
        and len(norm) <= 2
    ):
        return False
    unit_free = re.sub(r"(g|mg|ms2|mss)$", "", norm) if len(norm) > 2 else norm
    for candidate in (norm, unit_free):
        if candidate.endswith(axis) and candidate[:-1] in AXIS_PREFIXES:
            return True
    return False


def table_layout(
    path: str, first_line: str, delimiter: str = ",", decimal: str = "."
) -> tuple[bool, str, list[str]]:
    """(has a header, the time column, the x, y, z columns) of a table-style CSV."""
    try:
        return _table_layout(path, first_line, delimiter, decimal)
    except InputError:
        if not first_line.lstrip("\ufeff").startswith("#"):
            raise
    # A logger's notes above the table (a header `#time,x,y,z` is read as one, above)
    raise InputError(
        path,
        f"starts with a comment line ({first_line.strip()[:40]!r})",
        where="line 1",
        expected="the column names (e.g. time,x,y,z) on the first line: delete the # lines",
    )


def _table_layout(
    path: str, first_line: str, delimiter: str, decimal: str
) -> tuple[bool, str, list[str]]:
    if delimiter == "," and "," not in first_line:
        _refuse_other_delimiter(path, first_line)
    fields = [f.strip().strip('"') for f in first_line.strip().lstrip("\ufeff").split(delimiter)]
    if decimal != ".":
        fields = [f.replace(decimal, ".") for f in fields]
    has_header = not (_is_number(fields[0]) or _is_datetime(fields[0]))
    if has_header:
        time_col, axes = find_columns(path, fields)
        return True, time_col, axes
    numeric = [f for f in fields[1:] if _is_number(f)]
    if len(numeric) < 3:
        raise InputError(
            path,
            f"fewer than three numeric axes after the time column ({len(numeric)} found)",
            where="line 1",
            expected="time, x, y, z",
        )
    return False, "f0", ["f1", "f2", "f3"]


OTHER_DELIMITERS = {"\t": "tabs", "|": "'|'", " ": "spaces"}


def _refuse_other_delimiter(path: str, first_line: str) -> None:
    """A first line split into four or more fields by another character than a comma."""
    for delimiter, name in OTHER_DELIMITERS.items():  # a loop over three delimiters
        if len([f for f in first_line.strip().split(delimiter) if f]) >= 4:
            raise InputError(
                path,
                f"fields separated by {name}, not commas",
                where="line 1",
                expected="comma-separated values (or ';' with decimal commas)",
            )


def several_nights(path: str, span_h: float, at_least: bool = False) -> InputError:
    """The refusal of a recording longer than one night (`at_least`: read only in part)."""
    return InputError(
        path,
        f"the recording spans {'at least ' if at_least else ''}{span_h:.1f} h, several nights",
        expected=f"one night (at most {LONGEST_NIGHT_H:g} h): 'sleepmove batch FILE --out "
        "DIR' splits a longer recording into nights",
    )


def check_rate(path: str, span_s: float, rows: int, time_col: str) -> None:
    """Refuse `rows` rows (STILL_TIME_ROWS or more) whose time spans only `span_s` seconds
    (at most): faster than any accelerometer streams, or no time at all."""
    if rows < STILL_TIME_ROWS or not too_fast(rows, span_s):
        return
    # A plain file's rows are estimated from its size (10,003,052 of 10,000,000): rounded.
    many = f"{rows / 1e6:.1f} million" if rows >= 1e6 else f"about {round(rows, -3):,}"
    what = (
        f"the time does not advance: {many} rows all hold one time"
        if span_s == 0
        else f"{many} rows in {span_s:.3g} s of time: {rows / span_s:,.0f} samples a second, "
        "more than any accelerometer streams"
    )
    raise InputError(
        path,
        what,
        where=f"column {time_col!r}",
        expected=f"a time stamp per sample that advances with the samples (at most "
        f"{MOST_RATE_HZ:g} a second)",
    )


def check_still_rows(path: str, still_rows: int, rows: int, time_col: str) -> None:
    """Refuse a file with STILL_ROWS_BUDGET rows or more in stretches whose time stands still,
    runs faster than any accelerometer's or jumps back and forth, whatever the rest holds."""
    if still_rows >= STILL_ROWS_BUDGET:
        raise InputError(
            path,
            f"{still_rows / 1e6:.0f} million rows (of {rows / 1e6:.0f} million) whose time in "
            f"{time_col!r} stands still, runs faster than {MOST_RATE_HZ:g} samples a second, "
            f"or jumps back and forth by more than {ORDER_JUMP_S:g} s",
            expected="one time stamp per sample, advancing at the sensor's rate",
        )


def disorder_of(seconds: np.ndarray) -> float:
    """The share of steps between `seconds` (in row order) that jump back by more than
    ORDER_JUMP_S, where as many jump forward by that much, and more than the grid takes (and
    more than two each way: a stray stamp is one); else 0: rows in order or newest first."""
    steps = np.diff(seconds)
    back = int(np.count_nonzero(steps < -ORDER_JUMP_S))
    each_way = min(back, int(np.count_nonzero(steps > ORDER_JUMP_S)))
    share = each_way / max(len(steps), 1)
    return share if share > OUT_OF_ORDER_SHARE and each_way > 2 else 0.0


def check_order(path: str, rows: int, share: float, time_col: str) -> None:
    """Refuse `rows` rows (STILL_TIME_ROWS or more) whose every stretch judged so far jumps
    back and forth in time (`share`: of the last one's steps, each way)."""
    if rows < STILL_TIME_ROWS:
        return
    raise InputError(
        path,
        f"the time jumps back and forth: {share:.0%} of the steps go back by more than "
        f"{ORDER_JUMP_S:g} s, and as many forward, in every stretch judged of the first "
        f"{rows:,} rows",
        where=f"column {time_col!r}",
        expected="rows in time order, with times in one zone",
    )


def too_fast(rows: int, span_s: float) -> bool:
    # A margin of one: the rate shown in the refusal is then above the limit it names.
    return rows > span_s * (MOST_RATE_HZ + 1)


def times_of_rows(
    path: str,
    header: list[bytes],
    rows: list[bytes],
    time_col: str,
    column_names: list[str] | None = None,
    dialect: tuple[str, str] = (",", "."),
) -> np.ndarray | None:
    """The time of each of `rows`, in seconds, parsed as the whole file would be (the rows'
    steps give time without a unit its unit); None where they do not parse."""
    text = b"\n".join([*header, *rows]) + b"\n"
    read = pacsv.ReadOptions(
        skip_rows=1 if column_names is not None and header else 0,
        column_names=column_names,
        autogenerate_column_names=not header and column_names is None,
    )
    parse, convert = pacsv.ParseOptions(), pacsv.ConvertOptions(include_columns=[time_col])
    if dialect != (",", "."):
        parse.delimiter, convert.decimal_point = dialect
    try:
        table = pacsv.read_csv(
            io.BytesIO(text), read_options=read, parse_options=parse, convert_options=convert
        )
        seconds, _ = time_column(path, table.column(time_col), 0, name=time_col)
    except (pa.ArrowInvalid, KeyError, InputError):
        return None
    return seconds if len(seconds) == len(rows) else None


def complete_lines(text: bytes, count: int | None = None) -> list[bytes]:
    """The last `count` (else all) whole lines of a stretch of text that may start and end
    mid-line."""
    lines = text.split(b"\n")[1:-1]  # the first and the last may be cut
    return [line.rstrip(b"\r") for line in lines[-(count or len(lines)) :] if line.strip()]


# A stretch of text is judged from this many whole rows at least
LEAST_JUDGED_ROWS = 100


class TimeGuard:
    """Refuses, while a file is read, rows whose time does not advance, advances faster than
    any accelerometer's or jumps back and forth, once STILL_TIME_ROWS are in: read whole
    first, they filled memory before they were refused (a 2 MB gzip of one row repeated is
    25 M rows: 3 GB).

    Judged at the end of each stretch the rows come in (a gzip's 4 MB of text; a plain file's
    start, then its end; a Parquet file's batches): a few thousand rows there on their own,
    and the rows since the previous stretch against the time between the two. Only a file
    whose every judgment so far failed is refused: one that passes (a stamp per second holds
    thousands of rows, but a second passes between stretches) turns the guard off; so does a
    glitch, a restart or a wrap of the clock, which the grid then sees to. Rows that jump
    back and forth fail whatever the time between stretches (their medians move by chance);
    judged in stretches as the rows come only: a plain file's order is left to the grid."""

    def __init__(self, path: str, time_col: str, in_order: bool, nights: bool = True) -> None:
        self._path, self._time_col = path, time_col
        self._in_order = in_order  # stretches as the rows come (else a start, then the end)
        self._nights = nights  # refuse rows that span several nights (batch splits Parquet)
        self._rows = 0
        self._throughout = True  # every judgment so far failed
        self._first_middle: float | None = None  # the median time of the first stretch judged
        self._first_rows = 0  # rows before it
        self._first_rate = 0.0  # its rows a second
        self._previous: tuple[int, float] = (0, 0.0)  # rows so far and median time, the last
        self._still_rows = 0  # rows of stretches judged still once the guard was passed

    @property
    def window_rows(self) -> int | None:
        """How many of a stretch's last rows to judge (None: all at hand). Once a judgment
        passed, fewer (a cost per stretch), and only failures' rows count, against
        STILL_ROWS_BUDGET: 2 h of a night, then its last row repeated 40 M times, took 5.4 GB."""
        return None if self._throughout else LEAST_JUDGED_ROWS * 2

    def settled(self, rows_left: int) -> bool:
        """Whether `rows_left` more rows could not be refused, whatever they hold (the guard
        passed, they cannot fill the budget, nights are not counted): no need to judge them."""
        return not (self._throughout or self._nights) and (
            self._still_rows + rows_left < STILL_ROWS_BUDGET
        )

    def skip(self, rows: int) -> None:
        """`rows` more rows, too few of them at hand to judge: neither way."""
        self._rows += rows

    def judge(self, rows: int, seconds: np.ndarray | None) -> None:
        """`rows` more rows, `seconds` the times of the last of them in row order (None: they
        do not read as times)."""
        self._rows += rows
        finite = seconds[np.isfinite(seconds)] if seconds is not None else np.empty(0)
        if len(finite) < LEAST_JUDGED_ROWS:
            self._throughout = False
            return
        # Order is judged in stretches as the rows come (a gzip's, Parquet's batches) only: a
        # plain file's two ends are too little of it (stray stamps in both, 0.01 % of the
        # rows, refused a night the grid takes), and its parse costs memory by its size.
        disorder = disorder_of(finite) if self._in_order else 0.0
        middle = median(finite.copy())
        fails = too_fast(len(finite), float(finite.max() - finite.min()))
        if self._first_middle is None:
            self._first_middle, self._first_rows = middle, self._rows
            span = float(finite.max() - finite.min())
            self._first_rate = (len(finite) - 1) / span if span > 0 else 0.0
        else:  # and since the stretch before
            rows_before, middle_before = self._previous
            fails &= too_fast(self._rows - rows_before, abs(middle - middle_before))
        fails |= disorder > 0
        self._previous = (self._rows, middle)
        if self._throughout and not fails:
            self._throughout = False
        elif self._throughout and disorder:
            check_order(self._path, self._rows, disorder, self._time_col)
        elif self._throughout:
            check_rate(self._path, abs(middle - self._first_middle), self._rows, self._time_col)
        elif fails:
            self._still_rows += rows
            check_still_rows(self._path, self._still_rows, self._rows, self._time_col)
        if self._nights:
            self._check_span(middle)

    def _check_span(self, middle: float) -> None:
        """Refuse text whose time already spans more than a night, with rows enough to fill
        half that span at the rate of its first stretch: a plain file's from its ends, before
        the parse (a week's CSV was parsed whole, gigabytes, to be refused after), a gzip's
        as it inflates. The grid's duration is never shorter than the span of the rows' times;
        a span the rows could not fill is a broken clock, left to the grid, which says so.
        An hour's margin: a zone-less clock's span is a wall clock's, an hour longer than
        the night's across the change to summer time (the pipeline's check, after the
        zone, says it)."""
        span = abs(middle - (self._first_middle or middle))
        if span <= (LONGEST_NIGHT_H + 1) * 3600 or not self._first_rate > 0:
            return
        if 2 * (self._rows - self._first_rows) / self._first_rate >= span:
            raise several_nights(self._path, span / 3600, at_least=self._in_order)


class _RateGuard(TimeGuard):
    """A CSV's TimeGuard, given its text as it is read (Source.arrow_input's `watch`): the
    rows of each stretch, and its last bytes, whose whole rows are judged."""

    def __init__(
        self,
        source: _Source,
        has_header: bool,
        time_col: str,
        column_names: list[str] | None,
        dialect: tuple[str, str],
    ) -> None:
        super().__init__(source.path, time_col, in_order=source.gzip)
        self._header = source.head.splitlines()[:1] if has_header else []
        self._names, self._dialect = column_names, dialect

    def __call__(self, rows: int, latest: bytes) -> None:
        window = complete_lines(latest, self.window_rows)
        if len(window) < LEAST_JUDGED_ROWS:
            self.skip(rows)  # too few rows (very long lines) to judge
            return
        seconds = times_of_rows(
            self._path, self._header, window, self._time_col, self._names, self._dialect
        )
        self.judge(rows, seconds)


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
    if has_header:  # names padded with spaces (`time, x, y, z`): the header is read as named
        raw = first_line.strip().lstrip("\ufeff").split(dialect[0])
        if any(name != name.strip() for name in raw):
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
    xyz = numeric_axes(path, table, layout.axes, header_lines)
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
    return recording


# A clock time and the offset it states: `2025-04-26T01:50:00.040+02:00`, `... 01:50Z`.
STATED_OFFSET = re.compile(
    r"^\d{4}-\d\d-\d\d[T ]\d\d:\d\d(?::\d\d(?:[.,]\d+)?)?\s*(Z|[+-]\d\d(?::?\d\d)?)?$"
)
STATED_ROWS_READ = 50  # rows whose time cell is empty or junk (dropped later) passed over


def stated_zone(head: bytes, has_header: bool, time_col: str, delimiter: str = ",") -> str | None:
    """The offset (+HH:MM) the first clock time of the time column states: the times are
    instants already, and are shown in the local time the file wrote (as a device file's
    stated offset is), not in the computer's zone. None where it states none, or UTC (`Z`,
    `+00:00`: an export's convention, seldom the sleeper's clock; the computer's zone, or
    --timezone's, shows them). A later change (daylight saving) keeps the first offset."""
    text = head.decode("utf-8", "replace").lstrip("\ufeff")
    rows = csv.reader(io.StringIO(text), delimiter=delimiter)
    index = 0
    if has_header:
        names = [name.strip().strip('"') for name in next(rows, [])]
        if time_col not in names:
            return None
        index = names.index(time_col)
    for row in itertools.islice(rows, STATED_ROWS_READ):  # a loop over a few rows
        match = STATED_OFFSET.match(row[index].strip()) if len(row) > index else None
        if match is None:
            continue  # an empty or unreadable time: that row is dropped, and counted
        stated = match.group(1)
        if stated is None or stated == "Z":
            return None
        digits = stated[1:].replace(":", "")
        minutes = int(digits[:2]) * 60 + (int(digits[2:4]) if len(digits) >= 4 else 0)
        return offset_name((-60 if stated[0] == "-" else 60) * minutes) if minutes else None
    return None


class UnreadableRow(InputError):
    """A row that does not read as a table's rows do: the wrong number of fields, a cell
    that is no number, or no time. In a damaged gzip file, where the damage garbled the
    text."""


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
    invalid: list[tuple[int | None, str]] = []

    def on_invalid(row: pacsv.InvalidRow) -> str:
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
                where=f"line {line}",
                expected=f"{len(wanted) if not has_header else 'as many fields as the header'}",
            )
    if table is None or table.num_rows == 0:
        raise InputError(path, "no data rows", expected="accelerometer samples")
    return table, warnings


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
    raise UnreadableRow(source.path, f"cannot parse as CSV ({error.splitlines()[0]})")


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


_keep_parse_memory = False
_held_for_next_read = False


def hold_parse_memory(held: bool) -> None:
    """While held, `release_parse_memory` keeps the parse's memory: when a second file is
    parsed right after the first (two sensors), its parse reuses the first's pages instead of
    having the kernel zero fresh ones (measured: ~90 fewer 2 MB pages, no higher peak). The
    reader that holds it releases it once every file is read (`sleepmove.prefetch`)."""
    global _held_for_next_read
    _held_for_next_read = held


def keep_parse_memory() -> None:
    """From now on, keep the parse's memory in Arrow's pool: for a process that parses file
    after file (a batch worker), where the next night's parse reuses it instead of having
    the kernel zero fresh pages again (see sleepmove.runners.settle_worker)."""
    global _keep_parse_memory
    _keep_parse_memory = True


def release_parse_memory() -> None:
    """Hand the parse's memory back: Arrow's allocator keeps freed blocks for its own reuse,
    and the analysis, which allocates with numpy, would never use them (a third of the peak).

    Called on a reading thread it may hand back nothing (measured: 280 MB kept): a program
    that reads on a thread calls it again from the main thread once the read is done."""
    if not (_keep_parse_memory or _held_for_next_read):
        pa.default_memory_pool().release_unused()


def _line_of(source: _Source, text: str) -> int:
    """The first line that is `text` (streamed: error path only); 1 if none is. Whole lines
    only: a search for the text anywhere found a longer line holding it (a garbled row's
    first digits `17419` are in line 2's time), and named a line far too early. Arrow shows
    bytes that are no UTF-8 as U+FFFD: any such bytes match one."""
    body = b"[\x80-\xff]+".join(re.escape(part.encode()) for part in text.split("\ufffd"))
    within, at_end = re.compile(b"\n" + body + b"(?=[\r\n])"), re.compile(b"\n" + body + b"\\Z")
    reach = 4 * len(text.encode()) + 2  # the most bytes a match can take
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
    return 1


def numeric_axes(path: str, table: pa.Table, axes: list[str], header_lines: int) -> np.ndarray:
    # float32 from the start: sensors resolve far less than its 7 digits, and a float64 copy
    # of a night's samples is the largest array the analysis would hold. Column order, as
    # Arrow holds it: the analysis works one axis at a time on contiguous columns.
    xyz = arrow_backed_empty(table.num_rows * 3, np.float32).reshape(3, -1).T
    for index, name in enumerate(axes):
        column = table.column(name)
        if not (pa.types.is_floating(column.type) or pa.types.is_integer(column.type)):
            column = _as_numbers(path, column, name, header_lines)
        start = 0
        for chunk in column.chunks:  # each chunk cast straight into place: no float64 copy
            values = numeric_values(chunk)
            with np.errstate(over="ignore"):  # beyond float32: inf, a row dropped later
                xyz[start : start + len(values), index] = values
            start += len(values)
    return xyz


def arrow_backed_empty(count: int, dtype: type[np.generic]) -> np.ndarray:
    """A writable 1-D array in Arrow's memory pool.

    After a parse the pool holds pages the parse has freed: an array there is written at
    memory speed, where numpy's allocator would have the kernel zero fresh pages (measured:
    8 against 12 ms for a night's samples and stamps, and up to 120 ms when the kernel must
    first assemble huge pages). The pool gets its memory back when the array is dropped.
    """
    itemsize = np.dtype(dtype).itemsize
    return np.frombuffer(pa.allocate_buffer(count * itemsize), dtype=dtype, count=count)


def numeric_values(chunk: pa.Array) -> np.ndarray:
    """A numeric Arrow array as numpy, empty fields as NaN, without a copy where possible.

    Read from the array's buffers: Arrow's own conversions import pandas, about 0.35 s of
    CPU that would compete with the parse for the cores.
    """
    kind = chunk.type
    if pa.types.is_floating(kind):
        dtype = np.dtype(f"float{kind.bit_width}")
    else:
        dtype = np.dtype(f"{'' if pa.types.is_signed_integer(kind) else 'u'}int{kind.bit_width}")
    validity, data = chunk.buffers()[:2]
    values = np.frombuffer(data, dtype, count=len(chunk), offset=chunk.offset * dtype.itemsize)
    if not chunk.null_count:
        return values
    bits = np.unpackbits(np.frombuffer(validity, np.uint8), bitorder="little")
    present = bits[chunk.offset : chunk.offset + len(chunk)].astype(bool)
    return np.where(present, values, np.nan)


def _as_numbers(
    path: str, column: pa.ChunkedArray, name: str, header_lines: int
) -> pa.ChunkedArray:
    """A column that is not numeric: numbers stored as text (a Parquet string column) read
    as numbers; else refused, naming the first cell that is no number, as written."""
    if pa.types.is_null(column.type):  # every cell empty or NaN (Arrow reads "nan" as null)
        raise InputError(
            path,
            f"no values in column {name!r}: every cell is empty or NaN",
            expected="numeric acceleration",
        )
    if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
        try:
            return column.cast(pa.float64())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            pass
    row = _first_non_numeric(column)
    cell = column.slice(row, 1)
    try:
        value = cell.cast(pa.string())[0].as_py()  # as written: `true`, not Python's True
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        value = cell[0].as_py()
    raise UnreadableRow(
        path,
        f"not a number in column {name!r}: {str(value)[:40]!r}",
        where=f"line {header_lines + row + 1}",
        expected="numeric acceleration",
    )


def _first_non_numeric(column: pa.ChunkedArray) -> int:
    values = column.to_pandas()
    import pandas as pd

    parsed = pd.to_numeric(values, errors="coerce")
    bad = np.flatnonzero(parsed.isna().to_numpy() & values.notna().to_numpy())
    return int(bad[0]) if len(bad) else 0


def time_column(
    path: str,
    column: pa.ChunkedArray,
    header_lines: int,
    warnings: list[str] | None = None,
    name: str = "",
    dropped: list[np.ndarray] | None = None,
) -> tuple[np.ndarray, str]:
    """Seconds (Unix, naive wall clock, or from the start) and the kind of clock.

    Numbers are Unix seconds, milliseconds, microseconds or nanoseconds by their magnitude,
    else time from the start, in the unit the column's name gives (`time_ms`) or, without
    one, the unit in which the steps between rows look like a sensor's. Cells that are not
    times become NaN (the row is dropped and counted) with a warning naming the first,
    unless most are: then the file is refused, naming the first; their rows are added to
    `dropped`, if given, so that they are not counted again with other missing values.
    Clock times without a date are time from the start (the date is unknown).
    """
    kind = column.type
    if pa.types.is_timestamp(kind):
        # As int64 an empty cell is null, NaN here: its row is dropped. Through numpy's
        # datetime64 it was NaT, -9.2e9 s (the year 1677), and one empty time cell left a
        # 15-minute night with "0.0 minutes recorded". In the stamps' own unit: a cast to
        # nanoseconds refused a whole file for one stamp past 2262 (a glitched row, which
        # the grid drops as a stray row) with "would result in out of bounds timestamp".
        stamps = column.cast(pa.int64()).to_numpy()
        clock = CLOCK_UNIX if kind.tz else CLOCK_NAIVE
        return stamps / UNITS_PER_SECOND[kind.unit], clock
    if pa.types.is_floating(kind) or pa.types.is_integer(kind):
        return _numeric_time(column, name, warnings)
    if pa.types.is_null(kind):  # no cell holds anything
        _refuse_time(path, "", 0, header_lines)
    text = column.combine_chunks() if column.num_chunks != 1 else column.chunk(0)
    if pa.types.is_binary(text.type) or pa.types.is_large_binary(text.type):
        text = _as_ascii(text)  # bytes that are not UTF-8 (a garbled cell)
    elif not pa.types.is_string(text.type):
        text = text.cast(pa.string())
    import pyarrow.compute as pc

    head = text.slice(0, 100).drop_null()
    if (pc.sum(pc.match_substring_regex(head, NUMBER_PATTERN)).as_py() or 0) > len(head) / 2:
        trimmed = pc.utf8_trim_whitespace(text)
        number = pc.match_substring_regex(trimmed, NUMBER_PATTERN)
        kept = pc.if_else(number, trimmed, pa.scalar(None, pa.string()))
        junk = np.flatnonzero(
            (~number.to_numpy(zero_copy_only=False)) & text.is_valid().to_numpy(False)
        )
        _check_junk(path, text, junk, header_lines, warnings, dropped)
        return _numeric_time(pa.chunked_array([kept.cast(pa.float64())]), name, warnings)
    import pandas as pd

    values = text.to_pandas()
    if (pc.sum(pc.match_substring_regex(head, TIME_OF_DAY_PATTERN)).as_py() or 0) > len(head) / 2:
        return _time_of_day(path, text, values, header_lines, warnings, dropped), CLOCK_TIME_OF_DAY
    parsed = pd.to_datetime(values, errors="coerce", utc=False, format="mixed")
    bad = np.flatnonzero(parsed.isna().to_numpy() & values.notna().to_numpy())
    _check_junk(path, text, bad, header_lines, warnings, dropped)
    if getattr(parsed.dt, "tz", None) is not None:
        parsed = parsed.dt.tz_convert("UTC").dt.tz_localize(None)
        clock = CLOCK_UNIX
    else:
        clock = CLOCK_NAIVE
    missing = parsed.isna().to_numpy()
    # In the unit pandas chose: a stamp past 2262 in nanoseconds wrapped round to 1915, and
    # was shown so in the warning that dropped it
    stamps = parsed.to_numpy()
    unit, count = np.datetime_data(stamps.dtype)
    seconds = stamps.astype("int64") / (UNITS_PER_SECOND[unit] / count)
    seconds[missing] = np.nan
    return seconds, clock


UNITS_PER_SECOND = {"s": 1.0, "ms": 1e3, "us": 1e6, "ns": 1e9}


def _as_ascii(cells: pa.Array) -> pa.Array:
    """Binary cells as text, each byte outside ASCII replaced by '?' (one pass over the bytes;
    times are ASCII, and the cell is junk either way)."""
    validity, offsets, data = cells.buffers()
    raw = np.frombuffer(data, np.uint8).copy() if data is not None else np.zeros(0, np.uint8)
    raw[raw >= 0x80] = ord("?")
    kind = pa.LargeStringArray if pa.types.is_large_binary(cells.type) else pa.StringArray
    return kind.from_buffers(
        len(cells), offsets, pa.py_buffer(raw), validity, cells.null_count, cells.offset
    )


NUMBER_PATTERN = r"^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$"
TIME_OF_DAY_PATTERN = r"^\s*\d{1,2}:\d\d:\d\d(\.\d*)?\s*$"


def _time_of_day(
    path: str,
    text: pa.Array,
    values: object,
    header_lines: int,
    warnings: list[str] | None,
    dropped: list[np.ndarray] | None,
) -> np.ndarray:
    """Clock times without a date (`23:52:00.000`) as seconds from the midnight before the
    first: no date is invented, and past midnight the clock goes on (a step back of over
    12 h is the next day, not a clock reset)."""
    import pandas as pd

    parsed = pd.to_timedelta(values, errors="coerce")
    bad = np.flatnonzero(parsed.isna().to_numpy() & values.notna().to_numpy())
    _check_junk(path, text, bad, header_lines, warnings, dropped)
    seconds = np.array(parsed.dt.total_seconds(), dtype=np.float64)  # writable, NaT as NaN
    finite = np.flatnonzero(np.isfinite(seconds))
    if not len(finite):
        return seconds
    present = seconds[finite]
    days = np.cumsum(np.diff(present) < -43200.0)
    present[1:] += days * 86400.0
    seconds[finite] = present
    if warnings is not None:
        warnings.append(
            f"the time column holds clock times without a date (first "
            f"{text[int(finite[0])].as_py().strip()!r}): read as time from the start, "
            "a sleep window may be given in clock times"
        )
    return seconds


def _check_junk(
    path: str,
    text: pa.Array,
    bad: np.ndarray,
    header_lines: int,
    warnings: list[str] | None,
    dropped: list[np.ndarray] | None = None,
) -> None:
    """Cells of the time column that are not times: refused if most are, else counted."""
    if not len(bad):
        return
    if dropped is not None:
        dropped.append(bad)
    row = int(bad[0])
    value = text[row].as_py()
    if len(bad) * 2 > len(text) - text.null_count or warnings is None:
        # Name a cell that is no number either: in a column of numbers and junk, the numbers
        # are not the fault.
        import pyarrow.compute as pc

        number = pc.match_substring_regex(text.take(pa.array(bad)), NUMBER_PATTERN)
        other = np.flatnonzero(~number.to_numpy(zero_copy_only=False))
        row = int(bad[other[0]]) if len(other) else row
        _refuse_time(path, text[row].as_py(), row, header_lines)
    warnings.append(
        f"{len(bad)} rows whose time is unreadable dropped (first at line "
        f"{header_lines + row + 1}: {str(value)[:40]!r})"
    )


def _refuse_time(path: str, value: object, row: int, header_lines: int) -> None:
    raise UnreadableRow(
        path,
        f"not a time: {str(value)[:40]!r}",
        where=f"line {header_lines + row + 1}",
        expected="Unix seconds, milliseconds, microseconds or nanoseconds, seconds or "
        "milliseconds from the start, or ISO-8601",
    )


# Unix times (1973 to 5138) in seconds, milliseconds, microseconds and nanoseconds: each in
# its own decades, so the magnitude tells the unit.
UNIX_SCALES = ((1e17, 1e-9), (1e14, 1e-6), (1e11, 1e-3), (1e8, 1.0))
TIME_UNITS = {
    "s": 1.0, "sec": 1.0, "secs": 1.0, "seconds": 1.0, "second": 1.0,
    "ms": 1e-3, "msec": 1e-3, "millis": 1e-3, "milliseconds": 1e-3, "millisecond": 1e-3,
    "us": 1e-6, "µs": 1e-6, "usec": 1e-6, "micros": 1e-6, "microseconds": 1e-6,
    "ns": 1e-9, "nsec": 1e-9, "nanos": 1e-9, "nanoseconds": 1e-9,
}  # fmt: skip
# Steps between rows (in the file's unit) above which time from the start is taken to be
# in milliseconds, microseconds, nanoseconds: each bound halfway (in decades) between a
# sensor's steps in one unit (1 to 100 ms: 10 Hz to 1 kHz) and in the next.
RELATIVE_STEP_UNITS = ((3e5, 1e-9), (300.0, 1e-6), (0.3, 1e-3))


def _name_unit(name: str) -> float | None:
    """Seconds per unit named in a time column's name (`time_ms`, `Time (µs)`), if any."""
    words = re.findall(r"[a-zµ]+", name.lower())
    for word in words[1:]:
        if word in TIME_UNITS:
            return TIME_UNITS[word]
    if words:
        glued = re.fullmatch(r"(?:time|timestamp|t|epoch|unixtime|ts|clock)(ms|us|ns)", words[0])
        if glued:
            return TIME_UNITS[glued.group(1)]
    return None


def _numeric_time(
    column: pa.ChunkedArray, name: str, warnings: list[str] | None
) -> tuple[np.ndarray, str]:
    values = arrow_backed_empty(len(column), np.float64)
    start = 0
    for chunk in column.chunks:  # each chunk straight into place (see arrow_backed_empty)
        values[start : start + len(chunk)] = numeric_values(chunk)
        start += len(chunk)
    sample = values[:: max(1, len(values) // 100_000)]  # the scale, not every stamp
    finite = sample[np.isfinite(sample)]
    if not len(finite):
        return values, CLOCK_RELATIVE
    low, typical, high = (float(q) for q in quantiles(finite, (0.01, 0.5, 0.99)))
    # Unix times lie decades from zero; time from the start lies within its span of it
    # (microseconds from the start reach Unix seconds' magnitude after 100 s).
    if typical > 1e8 and typical > 2 * (high - low):
        scale = next(scale for floor, scale in UNIX_SCALES if typical > floor)
        if scale != 1.0:
            values *= scale
        return values, CLOCK_UNIX
    scale = _name_unit(name)
    if scale is None:
        head = values[:10_001]
        steps = np.diff(head[np.isfinite(head)])
        steps = steps[steps > 0]
        step = median(steps) if len(steps) >= 3 else 0.0
        scale = next((scale for floor, scale in RELATIVE_STEP_UNITS if step > floor), 1.0)
        if scale != 1.0 and warnings is not None:
            unit = {1e-3: "milliseconds", 1e-6: "microseconds", 1e-9: "nanoseconds"}[scale]
            warnings.append(
                f"the time column was read as {unit} from the start (typical step "
                f"{step:.4g}); name the column time_s or time_ms to say which"
            )
    if scale != 1.0:
        values *= scale
    return values, CLOCK_RELATIVE


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
    units_in = _detect_units(path, xyz, units, warnings)
    if units_in in UNIT_SCALE:
        xyz /= np.float32(UNIT_SCALE[units_in])
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
            f"{int(others.sum())} rows with missing, NaN or infinite values dropped "
            f"(first at {where})"
        )
    return time_s[finite], xyz[finite]


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
