"""Parquet files as a stress test damaged or typed them. One flipped byte in a row group's
compressed time stamps decodes, to stamps days or 1e100 s off (outside the row group's own
range, as the footer's statistics give it) or to a stretch a few seconds early: the whole
night was refused, or read as a clock reset. A row group that does not decode is named with
its times. Decimal columns were "not a number ... '0.8254' (line 1)"; types that hold no
numbers or times are refused naming the column and its type, and a cell by its row."""

from __future__ import annotations

import decimal
import json
import struct

import numpy as np
import pytest

from sleepmove.base.errors import InputError
from sleepmove.cli import main
from sleepmove.sensor.formats import read_recording
from tests.test_device_file_damage import ANALYZE

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

RATE = 25
NIGHT_ROWS = 8 * 3600 * RATE  # 8 h at 25 Hz
GROUP_ROWS = 36_000  # 24 minutes: 20 row groups
DAMAGED_GROUP = 10
T0_NS = 1_700_000_000 * 10**9  # 2023-11-14 22:13:20 UTC


def _axes(count: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(7)
    wave = 0.01 * np.sin(np.arange(count) / 9)
    return {
        "x": rng.normal(0, 0.01, count) + wave,
        "y": rng.normal(0, 0.01, count),
        "z": 1 + rng.normal(0, 0.01, count),
    }


def _night(tmp_path, time: pa.Array, axes: dict | None = None, **options) -> str:
    """A Parquet file as pyarrow writes it (Snappy), of `time` and x, y, z."""
    table = pa.table({"time": time, **(axes or _axes(len(time)))})
    path = tmp_path / "night.parquet"
    pq.write_table(table, path, compression="snappy", **options)
    return str(path)


def _stamps_ns(count: int = NIGHT_ROWS) -> np.ndarray:
    return T0_NS + np.arange(count, dtype=np.int64) * (10**9 // RATE)


def _flip_time_byte(path: str, group: int, damaged) -> np.ndarray:
    """Flip one byte (XOR 0x10) in row group `group`'s compressed time data, the first whose
    stamps decode and `damaged(bad, was)` accepts (`bad`: the stamps that changed, in ns,
    `was`: the group's own stamps); the changed rows, counted in the file."""
    with open(path, "rb") as handle:
        data = bytearray(handle.read())
    metadata = pq.ParquetFile(path).metadata
    chunk = metadata.row_group(group).column(0)
    start = chunk.dictionary_page_offset or chunk.data_page_offset
    first_row = sum(metadata.row_group(g).num_rows for g in range(group))
    was = pq.ParquetFile(path).read_row_group(group, columns=["time"]).column(0)
    was = was.cast(pa.int64()).to_numpy()
    for offset in range(64, chunk.total_compressed_size, 7):  # a search over the chunk's bytes
        data[start + offset] ^= 0x10
        try:
            read = pq.ParquetFile(pa.BufferReader(bytes(data))).read_row_group(group)
            now = read.column("time").cast(pa.int64()).to_numpy(zero_copy_only=False)
        except (pa.ArrowException, OSError):
            now = was
        changed = np.flatnonzero(now != was)
        if len(changed) and damaged(now[changed], was, changed):
            with open(path, "wb") as handle:
                handle.write(bytes(data))
            return changed + first_row
        data[start + offset] ^= 0x10
    pytest.skip("no byte of this pyarrow's Snappy output damages the stamps so")


def test_stamps_outside_their_row_groups_range_are_dropped_and_the_rest_kept(tmp_path):
    stamps = _stamps_ns()
    path = _night(tmp_path, pa.array(stamps, pa.timestamp("ns")), row_group_size=GROUP_ROWS)

    def absurd(bad, was, _rows):  # a run of stamps, every one outside the group's times
        return len(bad) >= 20 and bool(np.all((bad < was.min()) | (bad > was.max())))

    bad = _flip_time_byte(path, DAMAGED_GROUP, absurd)
    rec = read_recording(path)
    kept = np.setdiff1d(np.arange(NIGHT_ROWS), bad)
    assert len(rec.time_s) == NIGHT_ROWS - len(bad)  # every other row, of every row group
    np.testing.assert_array_equal(rec.time_s, stamps[kept] / 1e9)
    assert any(
        f"{len(bad):,} rows whose time lies outside the range of their row group's statistics "
        f"dropped as damaged (the first at row {bad[0]:,}"
        in w
        and "in row group 10 of 20, counting from 0, rows 360,000 to 395,999, times "
        "2023-11-15 02:13:20.000 to 2023-11-15 02:37:19.960)"
        in w
        for w in rec.warnings
    ), rec.warnings


def test_a_night_with_absurd_stamps_in_one_row_group_is_analyzed_not_refused(tmp_path, capsys):
    count = 2 * 3600 * RATE  # 2 h: 5 row groups
    millis = _stamps_ns(count) // 10**6
    path = _night(
        tmp_path, pa.array(millis, pa.timestamp("ms", tz="UTC")), row_group_size=GROUP_ROWS
    )

    def absurd(bad, was, _rows):
        return len(bad) >= 20 and bool(np.all((bad < was.min()) | (bad > was.max())))

    bad = _flip_time_byte(path, 2, absurd)
    out = tmp_path / "out"
    assert main([*ANALYZE, path, "--out", str(out)]) == 0, capsys.readouterr().err
    warnings = json.loads((out / "summary.json").read_text())["quality"]["warnings"]
    assert any(f"{len(bad):,} rows whose time lies outside" in w for w in warnings), warnings


def test_a_damaged_stretch_of_stamps_in_range_is_dropped_but_a_clock_reset_kept(tmp_path):
    # Stamps 2^32 ns (4.3 s) early for a hundred rows, then on as before: read as a clock
    # reset, the rest of the night was shifted. A real reset (1 h back, from row 600,000 to
    # the end) is the grid's, whole.
    stamps = _stamps_ns()
    stamps[600_000:] -= 3600 * 10**9
    path = _night(tmp_path, pa.array(stamps, pa.timestamp("ns")), row_group_size=GROUP_ROWS)

    def shifted(bad, was, rows):  # a long stretch, in the group's range, seconds off
        early = was[rows] - bad
        return (
            len(bad) > 16
            and bool(np.all((bad >= was.min()) & (bad <= was.max())))
            and bool(np.all(early > 10**9))
            and bool(np.all(np.diff(rows) == 1))
        )

    bad = _flip_time_byte(path, DAMAGED_GROUP, shifted)
    rec = read_recording(path)
    assert len(rec.time_s) == NIGHT_ROWS - len(bad)
    np.testing.assert_array_equal(rec.time_s, np.delete(stamps, bad) / 1e9)
    assert any(
        f"{len(bad):,} rows in 1 stretches whose times jump away from those around them" in w
        and f"(the first at row {bad[0]:,}, " in w
        and "in row group 10 of 20" in w
        for w in rec.warnings
    ), rec.warnings


def test_row_groups_written_out_of_order_are_not_taken_for_damage(tmp_path):
    """Two row groups swapped (files concatenated or merged, DuckDB's 122,880-row groups):
    every stamp sound, yet 72,000 rows were dropped as damaged stamps (48 min). Damage that
    decodes stays within a page: a stretch across row groups is left to the grid."""
    stamps = _stamps_ns().reshape(-1, GROUP_ROWS)
    stamps[[10, 11]] = stamps[[11, 10]]
    path = _night(tmp_path, pa.array(stamps.ravel(), pa.timestamp("ns")), row_group_size=GROUP_ROWS)
    rec = read_recording(path)
    assert len(rec.time_s) == NIGHT_ROWS
    assert not any("damaged time stamps" in warning for warning in rec.warnings)


def test_a_row_group_that_does_not_decode_is_named_with_its_times(tmp_path):
    stamps = _stamps_ns(6 * 6000)
    path = _night(
        tmp_path, pa.array(stamps // 10**6, pa.timestamp("ms", tz="UTC")), row_group_size=6000
    )
    data = bytearray(open(path, "rb").read())
    chunk = pq.ParquetFile(path).metadata.row_group(2).column(3)
    data[chunk.data_page_offset : chunk.data_page_offset + 16] = b"\xff" * 16
    open(path, "wb").write(bytes(data))
    rec = read_recording(path)
    assert len(rec.time_s) == 5 * 6000
    assert any(
        "(the first is row group 2 of 6, counting from 0, rows 12,000 to 17,999, times "
        "2023-11-14 22:21:20.000 UTC to 2023-11-14 22:25:19.960 UTC: " in w
        for w in rec.warnings
    ), rec.warnings


def test_a_row_group_most_of_whose_times_contradict_its_statistics_is_left_out(tmp_path):
    # The footer's greatest time for row group 3 made a minute after its least: its
    # statistics or its times are damaged, and either way its times cannot be trusted.
    stamps = _stamps_ns(6 * 6000) // 10**6
    path = _night(tmp_path, pa.array(stamps, pa.timestamp("ms", tz="UTC")), row_group_size=6000)
    data = bytearray(open(path, "rb").read())
    (footer_length,) = struct.unpack("<i", data[-8:-4])
    footer = len(data) - 8 - footer_length
    statistics = pq.ParquetFile(path).metadata.row_group(3).column(0).statistics
    greatest = struct.pack("<q", statistics.max_raw)
    wrong = struct.pack("<q", statistics.min_raw + 60_000)
    assert data[footer:].count(greatest) >= 1
    data[footer:] = data[footer:].replace(greatest, wrong)
    open(path, "wb").write(bytes(data))
    rec = read_recording(path)
    assert len(rec.time_s) == 5 * 6000
    assert not np.any((rec.time_s >= stamps[18000] / 1e3) & (rec.time_s <= stamps[23999] / 1e3))
    assert any(
        "1 row groups most of whose times lie outside the range their statistics give (6,000 "
        "rows) left out (the first is row group 3 of 6, counting from 0, rows 18,000 to "
        "23,999" in w
        for w in rec.warnings
    ), rec.warnings


# --- column types ---------------------------------------------------------------------------

ROWS = 3000
SECONDS = 1.7e9 + np.arange(ROWS) / RATE


def _decimals(values: np.ndarray, kind) -> pa.Array:
    return pa.array([decimal.Decimal(f"{v:.4f}") for v in values], kind)


@pytest.mark.parametrize("kind", [pa.decimal128(9, 4), pa.decimal256(40, 4)])
def test_decimal_axes_read_as_their_numbers(tmp_path, kind):
    axes = {name: np.round(values, 4) for name, values in _axes(ROWS).items()}
    path = _night(tmp_path, pa.array(SECONDS), {n: _decimals(v, kind) for n, v in axes.items()})
    rec = read_recording(path)
    expected = np.column_stack([axes["x"], axes["y"], axes["z"]]).astype(np.float32)
    np.testing.assert_array_equal(rec.xyz_g, expected)
    assert rec.units_in == "g" and rec.warnings == []


@pytest.mark.parametrize("kind", ["string_view", "binary", "fixed_size_binary"])
def test_numbers_as_text_views_or_bytes_read_as_numbers(tmp_path, kind):
    axes = _axes(ROWS)
    text = {name: [f"{v:+.4f}" for v in values] for name, values in axes.items()}
    arrow = {
        "string_view": lambda cells: pa.array(cells).cast(pa.string_view()),
        "binary": lambda cells: pa.array([c.encode() for c in cells], pa.binary()),
        "fixed_size_binary": lambda cells: pa.array([c.encode() for c in cells], pa.binary(7)),
    }[kind]
    path = _night(tmp_path, pa.array(SECONDS), {n: arrow(cells) for n, cells in text.items()})
    rec = read_recording(path)
    np.testing.assert_allclose(rec.xyz_g[:, 2], np.round(axes["z"], 4), atol=1e-6)


def test_a_duration_time_column_is_time_from_the_start_in_its_own_unit(tmp_path):
    # Its unit is the type's: not guessed from the steps ("read as milliseconds from the
    # start ... name the column time_s or time_ms"), which read 1 Hz rows as milliseconds.
    millis = np.arange(ROWS, dtype=np.int64) * 1000  # 1 Hz
    path = _night(tmp_path, pa.array(millis, pa.duration("ms")))
    rec = read_recording(path)
    np.testing.assert_array_equal(rec.time_s, np.arange(ROWS, dtype=float))
    assert rec.clock == "relative" and rec.warnings == []


def _bool(count):
    return pa.array(np.arange(count) % 2 == 0)


@pytest.mark.parametrize(
    ("column", "values", "words"),
    [
        ("x", _bool, "column 'x' is of type bool: true/false values, not numbers"),
        (
            "x",
            lambda n: pa.array(np.arange(n, dtype=np.int64), pa.timestamp("ms")),
            "column 'x' is of type timestamp[ms]: time stamps, not numbers",
        ),
        (
            "y",
            lambda n: pa.array([[0.0]] * n),
            ("column 'y' is of type list<", ": double>: several values a cell, not numbers"),
        ),
        ("time", _bool, "the time column 'time' is of type bool: true/false values, not times"),
        (
            "time",
            lambda n: pa.array((SECONDS[:n] // 86400).astype(np.int32), pa.date32()),
            "the time column 'time' is of type date32[day]: dates without a time of day",
        ),
        (
            "time",
            lambda n: pa.array(np.arange(n, dtype=np.float16) / 25),
            "the time column 'time' is of type float16: its 3 significant digits cannot tell",
        ),
        (
            "time",
            lambda n: pa.array(SECONDS[:n].astype(np.float32)),
            "the time column 'time' is float32: its 7 significant digits keep times such as "
            "1700000128 only to the nearest 128",
        ),
    ],
)
def test_a_column_of_a_type_without_numbers_or_times_is_refused_naming_it(
    tmp_path, capsys, column, values, words
):
    columns = {"time": pa.array(SECONDS), **_axes(ROWS)}
    columns[column] = values(ROWS)
    path = tmp_path / "typed.parquet"
    pq.write_table(pa.table(columns), path)
    words = (words,) if isinstance(words, str) else words
    with pytest.raises(InputError) as refusal:
        read_recording(str(path))
    assert all(w in str(refusal.value) for w in words), refusal.value
    assert "line" not in str(refusal.value), refusal.value
    assert main([*ANALYZE, str(path), "--out", str(tmp_path / "out")]) == 2
    error = capsys.readouterr().err.strip()
    assert all(w in error for w in words), error
    assert "\n" not in error and "Traceback" not in error, error


def test_a_cell_that_is_no_number_is_named_by_its_row(tmp_path):
    axes = {name: [f"{v:.4f}" for v in values] for name, values in _axes(ROWS).items()}
    axes["x"][4] = "abc"
    path = _night(tmp_path, pa.array(SECONDS), {n: pa.array(v) for n, v in axes.items()})
    with pytest.raises(InputError) as refusal:
        read_recording(path)
    assert "not a number in column 'x': 'abc' (row 5)" in str(refusal.value), refusal.value
