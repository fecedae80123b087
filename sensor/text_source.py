"""A CSV's text as the parse reads it: a plain file from its path; a gzip file inflated as it
is read, a damaged member kept up to its damage and the text resumed at the next sound
member (`DamagedMember`, `ResumePoint`).

Split from sensor.readers, which opens its files here (`_open_source`); sensor.gzip_garbling
reads a damaged file's text again through the same stream (`_GzipText`)."""

from __future__ import annotations

import contextlib
import io
import os
import re
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from sleepmove.base.errors import InputError
from sleepmove.base.words import how_many

SNIFF_BYTES = 64 * 1024


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
    # The text is read up to here: a gzip file's garbled rest, a plain file's zeros at its
    # end (what a logger leaves of a file it had reserved, at a power cut) left out
    limit: int | None = None
    damage: str | None = None  # zlib's complaint, once a parse has read a damaged gzip through
    damaged_spans: list[DamagedMember] = field(default_factory=list)  # ...and where
    line_cuts: list[tuple[int, int]] = field(default_factory=list)  # ...and lines cut (_GzipText)
    omit: list[tuple[int, int]] = field(default_factory=list)  # text left out (garbled)
    # Damaged members already found, by where they start in the file: inflated again, each
    # is read up to its damage at once, without the search for the damaged byte or the next
    # sound member (the passes over a damaged file's text, gzip_garbling)
    known_damage: dict[int, DamagedMember] | None = None
    # Lines of spaces only emptied as the text is read: arrow hands each to Python (the
    # parse's invalid-row handler), 14 us apiece; empty, it skips them itself
    blank_lines_emptied: bool = False

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
                size, tail = self.plain_end(SNIFF_BYTES)
                # Its start, then the whole (rows from the end's own line length: the first
                # lines may be longer) with its end.
                watch(0, self.head)
                watch(int(size * max(tail.count(b"\n"), 1) / max(len(tail), 1)), tail)
            if arrow_can_open(self.path) and self.limit is None and not self.blank_lines_emptied:
                yield self.path
                return
        with self.stream(self.notes) as stream:
            if isinstance(stream, _GzipText):
                stream.watch = watch
            # A gzip's text is emptied of blank lines from the start: read again after a stop,
            # an arrow parse stopped twice left the process hanging at its exit
            emptied = self.blank_lines_emptied or isinstance(stream, _GzipText)
            yield _BlankLinesEmptied(stream) if emptied else stream
            self.damage = getattr(stream, "damage", None)
            self.damaged_spans = getattr(stream, "damaged_spans", [])
            self.line_cuts = getattr(stream, "line_cuts", [])

    def stream(self, notes: list[str] | None = None) -> io.RawIOBase:
        """The text as a file: decompressed for a gzip file (damage noted in `notes`)."""
        if self.gzip:
            return _GzipText(self.path, notes, self.limit, self.omit, self.known_damage)
        if self.limit is not None:
            return FileStart(self.path, self.limit)
        return open(self.path, "rb")  # noqa: SIM115 (the caller closes it)

    def plain_end(self, most: int) -> tuple[int, bytes]:
        """A plain file's text length and its last `most` bytes (up to `limit`)."""
        with open(self.path, "rb") as handle:
            size = handle.seek(0, io.SEEK_END) if self.limit is None else self.limit
            handle.seek(max(size - most, 0))
            return size, handle.read(min(size, most))

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
        return self.plain_end(SNIFF_BYTES)[1].rstrip().rsplit(b"\n", 1)[-1]


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
    if len(source.head) < SHORTEST_TEXT:  # its whole text: "no time column (header: 1,2)" misled
        size = f"{len(source.head)} byte" + "s" * (len(source.head) != 1)
        raise InputError(
            path,
            ("a gzip file whose text is " if source.gzip else "") + f"only {size}, too short "
            "to hold a recording",
            expected="accelerometer samples (.cwa, .bin, .gt3x, Parquet or CSV)",
        )
    if not source.gzip:
        _leave_out_zeros_at_end(source, warnings)
        _leave_out_empty_rows_at_end(source, warnings)
    if b"\x00" in source.head or _binary_share(source.head) > 0.05:
        problem, expected = _not_text(source)
        raise InputError(path, problem, expected=expected)
    return source


ZEROS_BLOCK = 1 << 20


def _leave_out_zeros_at_end(source: _Source, warnings: list[str]) -> None:
    """A plain file's text ends before the zero bytes that end the file, said in `warnings`;
    a file of zeros only is refused."""
    zeros = zeros_at_end(source.path)
    if not zeros:
        return
    size = os.path.getsize(source.path)
    if zeros == size:
        raise InputError(
            source.path,
            f"only zero bytes ({size:,}): a file reserved but never written",
            expected="accelerometer samples",
        )
    source.limit = size - zeros
    source.head = source.head[: source.limit]
    blank = source.limit <= SNIFF_BYTES and not re.search(rb"\S", source.head)  # all of it
    if source.limit < SHORTEST_TEXT or blank:
        # "no time column (header: abc)" said nothing of the zeros after three letters
        raise InputError(
            source.path,
            f"only {source.limit:,} bytes of text"
            + (" (blank)" if blank else "")
            + f", then {zeros:,} zero bytes: too short to hold a recording",
            expected="accelerometer samples",
        )
    warnings.append(
        f"{zeros:,} bytes of zeros after the last line left out (what a logger leaves of a "
        "file it had reserved when its power is cut)"
    )


# Rows of separators alone (`,,,`: a logger's blank records), read back from the end
EMPTY_ROW_BYTES = b",;\t \r\n"
EMPTY_ROWS_BLOCK = 1 << 20


def _leave_out_empty_rows_at_end(source: _Source, warnings: list[str]) -> None:
    """A plain file's text ends before the rows without a value (`,,,`) that end it, said in
    `warnings`: each row of 4 bytes became 4 empty values of 8 bytes and more in the parse
    (a 100 MB file of them took 1.8 GB; a gzip's are counted as they inflate)."""
    end = source.limit if source.limit is not None else os.path.getsize(source.path)
    start, rows = _empty_rows_left_out(source.path, end)
    if not rows:
        return
    source.limit = start
    source.head = source.head[:start]
    warnings.append(
        f"{how_many(rows, 'row')} without any value after the last row with one left out "
        f"({end - start:,} bytes of separators: a logger's blank records)"
    )


EMPTY_ROWS_SAID = 1000  # fewer are left to the parse (_empty_rows_left_out)


def empty_rows_at_end(path: str, end: int) -> tuple[int, int]:
    """Where the rows of separators alone that end a plain file's text (up to `end`) begin,
    and how many there are, read back from the end a MB at a time. A sound file: one read
    of its last bytes."""
    rows, position = 0, end
    with open(path, "rb") as handle:
        while position > 0:  # a loop over blocks, from the end
            start = max(position - EMPTY_ROWS_BLOCK, 0)
            handle.seek(start)
            block = handle.read(position - start)
            stripped = block.rstrip(EMPTY_ROW_BYTES)
            if stripped:  # the last value: the rows begin after the end of its line
                line_end = block.find(b"\n", len(stripped))
                after = line_end + 1 if line_end >= 0 else len(block)
                rows += _separator_rows(block[after:])
                return start + after, rows
            rows += _separator_rows(block)
            position = start
    return 0, rows


def _separator_rows(text: bytes) -> int:
    """The lines of `text` that hold a separator (blank lines, which the parse skips, are
    no rows); a line cut at a block's edge may count twice, once in each."""
    codes = np.frombuffer(text.translate(None, b" \r"), dtype=np.uint8)
    if not len(codes):
        return 0
    ends = codes == ord("\n")
    # a line's end right after another's (or the text's start): a blank line
    blank = ends & np.concatenate([[True], ends[:-1]])
    return int(ends.sum() - blank.sum()) + int(not ends[-1])


def _empty_rows_left_out(path: str, end: int) -> tuple[int, int]:
    """Where a plain file's text ends, read up to `end`, and the rows of separators alone
    left out before it: EMPTY_ROWS_SAID or more; fewer (or blank lines) are left to the
    parse, which drops and counts them as ever."""
    start, rows = empty_rows_at_end(path, end)
    return (start, rows) if rows >= EMPTY_ROWS_SAID else (end, 0)


def text_end(path: str) -> int:
    """A plain file's text length, as it is read: its size, less the zero bytes and the
    rows of separators alone that end it."""
    return _empty_rows_left_out(path, os.path.getsize(path) - zeros_at_end(path))[0]


def zeros_at_end(path: str) -> int:
    """How many zero bytes end a plain file, read back from its end a MB at a time (a sparse
    file of gigabytes of them reads fast). Taken for the last line's start they refused the
    whole night (over 64 KB) or made a line of megabytes to parse."""
    zeros = 0
    with open(path, "rb") as handle:
        end = handle.seek(0, io.SEEK_END)
        handle.seek(max(end - 1, 0))
        if handle.read(1) != b"\x00":  # as nearly every file: one byte read
            return 0
        while end > 0:  # a loop over blocks of zeros, from the end
            start = max(end - ZEROS_BLOCK, 0)
            handle.seek(start)
            block = handle.read(end - start)
            kept = len(block.rstrip(b"\x00"))
            zeros += len(block) - kept
            if kept:
                break
            end = start
    return zeros


class FileStart(io.RawIOBase):
    """The first `size` bytes of a file, as a file: a plain text with zeros after it."""

    def __init__(self, path: str, size: int) -> None:
        self._file = open(path, "rb")  # noqa: SIM115 (closed with this)
        self._left = size

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray) -> int:  # type: ignore[override]
        if self._left <= 0:
            return 0
        count = self._file.readinto(memoryview(buffer)[: self._left])
        self._left -= count
        return count

    def close(self) -> None:
        self._file.close()
        super().close()


LONGEST_HELD_LINE = 1 << 24  # the parse's block: a longer line is refused there


class _BlankLinesEmptied(io.RawIOBase):
    """A text with its lines of spaces and tabs only made empty lines: the same lines, so the
    same line numbers, without a Python call for each (2 M of them took 28 s)."""

    BLANK = re.compile(rb"(?m)^[ \t\x0b\x0c]+(?=\r?$)")
    # The substitution costs 6 ms a MB (its anchor tried at every line): a piece is looked at
    # only where a line starts with a space, found at memory speed (a gzip read 2.5 x slower)
    LINE_OF_SPACE = re.compile(rb"(?:^|\n)[ \t\x0b\x0c]")
    SPACES = (b" ", b"\t", b"\x0b", b"\x0c")
    # Emptied a piece at a time: re.sub holds a part for each match until it joins them
    # (4 MB of blank lines: 2 M parts, 100 MB and more)
    PIECE = 1 << 18

    def __init__(self, inner: io.RawIOBase) -> None:
        self._inner = inner
        self._ready = b""  # text emptied, whole lines...
        self._given = 0  # ...of which this much was given
        self._partial = b""  # the start of a line whose end is still to come
        self._done = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray) -> int:  # type: ignore[override]
        while self._given == len(self._ready) and not self._done:  # a loop over chunks
            chunk = self._inner.read(self.PIECE)
            if not chunk:
                self._done, text, self._partial = True, self._partial, b""
            else:
                text = self._partial + chunk
                cut = text.rfind(b"\n") + 1
                if cut or len(text) <= LONGEST_HELD_LINE:
                    text, self._partial = text[:cut], text[cut:]
                else:  # no line of a recording is this long: passed on for the parse to refuse
                    self._partial = b""
            spaced = any(space in text for space in self.SPACES)
            if spaced and self.LINE_OF_SPACE.search(text):
                text = self.BLANK.sub(b"", text)
            self._ready, self._given = text, 0
        count = min(len(buffer), len(self._ready) - self._given)
        buffer[:count] = memoryview(self._ready)[self._given : self._given + count]
        self._given += count
        return count

    def close(self) -> None:
        self._inner.close()
        super().close()


# Text of fewer bytes than this is no recording (a file cut off, or written by mistake):
# named by what its header lacks, it read as a table with a header of one or two letters.
# From four bytes on it may be a header cut short, which that names well ("header: time").
SHORTEST_TEXT = 4


def _not_text(source: _Source) -> tuple[str, str]:
    # Kinds the first bytes tell were named before (sensor.formats.identify): binary data left
    if source.gzip:
        return "a gzip file whose content is binary data, not CSV text", "a gzipped CSV export"
    return "binary data, not a CSV text file", "a CSV export"


# Control characters that text holds none of (tabs, line ends and form feeds aside).
CONTROL_BYTES = bytes(byte for byte in range(32) if byte < 9 or byte > 13)


def _binary_share(sniff: bytes) -> float:
    # Counted by deleting them, in C: a loop in Python over the 64 KB took ~1.4 ms.
    control = len(sniff) - len(sniff.translate(None, CONTROL_BYTES))
    return control / max(len(sniff), 1)
