"""Guards on the rows' time while a file is read: rows whose time stands still, runs faster
than any accelerometer's, jumps back and forth, or spans several nights are refused before
they fill memory (`TimeGuard`; `_RateGuard` for a CSV's text as it is read). Used by the
CSV and Parquet readers; the splitter times rows as they do (`times_of_rows`), and the
pipeline and batch take the longest night from here (`LONGEST_NIGHT_H`, `several_nights`)."""

from __future__ import annotations

import io

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from sleepmove.base.errors import InputError
from sleepmove.base.order_statistics import median
from sleepmove.sensor.recording import LONGEST_NIGHT_H
from sleepmove.sensor.text_source import _Source
from sleepmove.sensor.time_column import time_column

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
            f"{time_col!r} is missing, stands still, runs faster than {MOST_RATE_HZ:g} samples "
            f"a second, or jumps back and forth by more than {ORDER_JUMP_S:g} s",
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


def _window(
    header: list[bytes],
    rows: list[bytes],
    time_col: str,
    column_names: list[str] | None,
    dialect: tuple[str, str],
    as_text: bool = False,
) -> pa.Table:
    """The time column of `rows` (with the file's `header`), read as the whole file would be
    (`as_text`: as strings, an empty field null). Raises pa.ArrowInvalid or KeyError."""
    text = b"\n".join([*header, *rows]) + b"\n"
    read = pacsv.ReadOptions(
        skip_rows=1 if column_names is not None and header else 0,
        column_names=column_names,
        autogenerate_column_names=not header and column_names is None,
    )
    parse, convert = pacsv.ParseOptions(), pacsv.ConvertOptions(include_columns=[time_col])
    if dialect != (",", "."):
        parse.delimiter, convert.decimal_point = dialect
    if as_text:
        convert.column_types, convert.strings_can_be_null = {time_col: pa.string()}, True
    return pacsv.read_csv(
        io.BytesIO(text), read_options=read, parse_options=parse, convert_options=convert
    )


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
    try:
        table = _window(header, rows, time_col, column_names, dialect)
        seconds, _ = time_column(path, table.column(time_col), 0, name=time_col)
    except (pa.ArrowInvalid, KeyError, InputError):
        return None
    return seconds if len(seconds) == len(rows) else None


def times_empty(
    header: list[bytes],
    rows: list[bytes],
    time_col: str,
    column_names: list[str] | None = None,
    dialect: tuple[str, str] = (",", "."),
) -> bool:
    """Whether every one of `rows` (they parse, as text) has no time: its time field empty or
    without a digit (' ', 'x', 'NaN'), as no time is written."""
    try:
        table = _window(header, rows, time_col, column_names, dialect, as_text=True)
    except (pa.ArrowInvalid, KeyError):
        return False
    if table.num_rows != len(rows):
        return False
    with_digit = pc.match_substring_regex(table.column(time_col), r"\d")
    return not pc.any(with_digit).as_py()


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
        self.restart()

    def restart(self) -> None:
        """Judge the rows from the first again (the text read again from its start)."""
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

    def judge_timeless(self, rows: int) -> None:
        """`rows` more rows, the last of them without a time (a file of commas, a logger's
        blank records, junk): no recording's rows, yet they passed every check of time and filled
        memory (100 M rows of a 700 kB gzip: 6.5 GB). As they come (a gzip's stretches) they
        count as rows whose time stands still; a plain file's end alone says too little of
        its rows, whose memory is its size's."""
        self._rows += rows
        if not self._in_order:
            self._throughout = False
            return
        self._still_rows += rows
        check_still_rows(self._path, self._still_rows, self._rows, self._time_col)

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
        if seconds is None and times_empty(
            self._header, window, self._time_col, self._names, self._dialect
        ):
            self.judge_timeless(rows)
            return
        self.judge(rows, seconds)
