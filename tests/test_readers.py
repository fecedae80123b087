"""Every reader layout, the real files from other projects, and clear errors on bad input."""

import gzip

import numpy as np
import pytest

from sleepmove.base.errors import InputError
from sleepmove.sensor.readers import read_recording
from tests.conftest import write


def rows(n=5, start=1_700_000_000.0, rate=50.0, scale=1.0):
    t = start + np.arange(n) / rate
    return [
        (f"{ti:.3f}", f"{0.01 * scale:.5f}", f"{0.02 * scale:.5f}", f"{1.0 * scale:.5f}")
        for ti in t
    ]


def csv(header, body):
    lines = ([header] if header else []) + [",".join(r) for r in body]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(
    "header",
    [
        "time,x,y,z",
        "Timestamp,acc_x,acc_y,acc_z",
        "t,ax,ay,az",
        "epoch,Accelerometer X,Accelerometer Y,Accelerometer Z",
        "TIME (s),accX,accY,accZ",
    ],
)
def test_header_names(tmp_path, header):
    rec = read_recording(write(tmp_path / "a.csv", csv(header, rows())))
    assert rec.clock == "unix" and rec.units_in == "g"
    np.testing.assert_allclose(rec.xyz_g[0], [0.01, 0.02, 1.0], atol=1e-6)
    assert rec.time_s[1] - rec.time_s[0] == pytest.approx(0.02, abs=1e-6)


def test_extra_columns_such_as_a_gyroscope_are_ignored(tmp_path):
    text = (
        "timestamp,gyro_x,gyro_y,gyro_z,acc_x,acc_y,acc_z\n"
        "1700000000.0,5,6,7,0.1,0.2,0.97\n1700000000.02,5,6,7,0.1,0.2,0.97\n"
    )
    rec = read_recording(write(tmp_path / "g.csv", text))
    np.testing.assert_allclose(rec.xyz_g[0], [0.1, 0.2, 0.97], atol=1e-6)


def test_unix_milliseconds_and_seconds_from_start(tmp_path):
    ms = "time,x,y,z\n1700000000000,0,0,1\n1700000000020,0,0,1\n"
    rec = read_recording(write(tmp_path / "ms.csv", ms))
    assert rec.clock == "unix" and rec.time_s[0] == pytest.approx(1_700_000_000.0)
    rel = "time,x,y,z\n0.0,0,0,1\n0.02,0,0,1\n"
    rec = read_recording(write(tmp_path / "rel.csv", rel))
    assert rec.clock == "relative" and rec.time_s[1] == pytest.approx(0.02)


def test_samples_and_stamps_are_read_into_writable_arrays_in_column_order(tmp_path):
    # Read into Arrow's pool (pages the parse freed), yet plain numpy arrays to the analysis:
    # writable (m/s² are scaled in place), each axis contiguous, values exactly as written.
    text = "time,x,y,z\n1700000000000,9.81,0,0\n1700000000020,0,9.81,0\n1700000000040,0,0,9.81\n"
    rec = read_recording(write(tmp_path / "ms.csv", text), units="m/s2")
    assert rec.xyz_g.shape == (3, 3) and rec.xyz_g.flags.f_contiguous
    assert rec.xyz_g.flags.writeable and rec.time_s.flags.writeable
    np.testing.assert_allclose(rec.xyz_g, np.eye(3) * np.float32(9.81) / np.float32(9.80665))
    np.testing.assert_array_equal(rec.time_s, [1_700_000_000.0, 1_700_000_000.02, 1_700_000_000.04])


def test_iso_times_with_zone_without_zone_and_z(tmp_path):
    z = "datetime,x,y,z\n2025-03-14T22:30:00.000Z,0,0,1\n2025-03-14T22:30:00.020Z,0,0,1\n"
    rec = read_recording(write(tmp_path / "z.csv", z))
    assert rec.clock == "unix" and rec.time_s[0] == pytest.approx(1_741_991_400.0)
    offset = "datetime,x,y,z\n2025-03-14T23:30:00+01:00,0,0,1\n2025-03-14T23:30:00.02+01:00,0,0,1\n"
    rec = read_recording(write(tmp_path / "o.csv", offset))
    assert rec.clock == "unix" and rec.time_s[0] == pytest.approx(1_741_991_400.0)
    naive = "time,x,y,z\n2025-03-14 22:30:00.000,0,0,1\n2025-03-14 22:30:00.020,0,0,1\n"
    rec = read_recording(write(tmp_path / "n.csv", naive))
    assert rec.clock == "naive" and rec.time_s[0] == pytest.approx(1_741_991_400.0)


def test_iso_times_pyarrow_leaves_as_text_are_parsed_to_the_same_instant(tmp_path):
    text = "time,x,y,z\n2025-03-14 23:30:00.000 +0100,0,0,1\n2025-03-14 23:30:00.020 +0100,0,0,1\n"
    rec = read_recording(write(tmp_path / "s.csv", text))
    assert rec.clock == "unix" and rec.time_s[0] == pytest.approx(1_741_991_400.0)
    assert rec.time_s[1] - rec.time_s[0] == pytest.approx(0.02)


def test_no_header_time_then_xyz(tmp_path):
    rec = read_recording(write(tmp_path / "h.csv", csv(None, rows())))
    assert len(rec.time_s) == 5 and rec.clock == "unix"


def test_gzip_is_read_transparently(tmp_path):
    path = tmp_path / "n.csv.gz"
    with gzip.open(path, "wt") as handle:
        handle.write(csv("time,x,y,z", rows()))
    assert len(read_recording(str(path)).time_s) == 5


def test_metres_per_second_squared_are_detected_and_converted(tmp_path):
    rec = read_recording(write(tmp_path / "m.csv", csv("time,x,y,z", rows(scale=9.80665))))
    assert rec.units_in == "m/s2"
    np.testing.assert_allclose(rec.xyz_g[0], [0.01, 0.02, 1.0], atol=1e-5)


def test_milli_g_are_detected_and_converted(tmp_path):
    """Polar's SDK and many apps export milli-g: refused before, with advice to pass a
    --units that had no such choice."""
    rec = read_recording(write(tmp_path / "mg.csv", csv("time,x,y,z", rows(scale=1000.0))))
    assert rec.units_in == "mg"
    np.testing.assert_allclose(rec.xyz_g[0], [0.01, 0.02, 1.0], atol=1e-5)
    assert read_recording(rec.path, units="mg").units_in == "mg"
    with pytest.raises(InputError, match="looks like mg"):
        read_recording(rec.path, units="g")
    assert not rec.warnings


@pytest.mark.parametrize("per_g, read", [(512, None), (1024, "mg"), (2048, None)])
def test_raw_counts_are_not_taken_for_milli_g_unsaid(tmp_path, per_g, read):
    path = write(tmp_path / "c.csv", csv("time,x,y,z", rows(scale=float(per_g))))
    if read is None:
        with pytest.raises(InputError, match="raw counts: convert them to g"):
            read_recording(path)
        return
    rec = read_recording(path)  # 2.4 % off, if counts: told
    assert rec.units_in == "mg" and any("raw counts at 1024 per g" in w for w in rec.warnings)


def test_magnitudes_of_no_unit_are_refused_naming_the_units_it_reads(tmp_path):
    path = write(tmp_path / "c.csv", csv("time,x,y,z", rows(scale=100.0)))  # centi-g?
    with pytest.raises(InputError, match=r"about 1 \(g\), 9.81 \(m/s²\) or 1000 \(mg\)"):
        read_recording(path)


@pytest.mark.parametrize("scale, unit, in_g", [(0.5, "g", "0.50 g"), (3.05, "m/s2", "0.31 g")])
def test_units_read_from_an_implausible_rest_are_taken_with_a_warning(tmp_path, scale, unit, in_g):
    """0.5 g at rest was taken as g, and 0.31 g as m/s², without a word."""
    rec = read_recording(write(tmp_path / "u.csv", csv("time,x,y,z", rows(scale=scale))))
    assert rec.units_in == unit
    assert any(in_g in w and "a sensor at rest reads 1 g" in w for w in rec.warnings)
    calibrated = read_recording(write(tmp_path / "c.csv", csv("time,x,y,z", rows())))
    assert not calibrated.warnings


def test_units_given_against_the_data_are_refused(tmp_path):
    path = write(tmp_path / "m.csv", csv("time,x,y,z", rows(scale=9.80665)))
    with pytest.raises(InputError, match="does not fit the data"):
        read_recording(path, units="g")


@pytest.mark.parametrize("cut", ["0.", "0.9", "-", "1.5e"])
def test_a_last_line_cut_with_every_field_is_left_out_not_read_short(tmp_path, cut):
    """'...,0.908,0.' at a file's end (a power cut as it was written) had every field and
    was read as z = 0. Cut (no newline, shorter than the lines before it, or ending in
    half a number): left out and said. A file merely without a final newline keeps it."""
    lines = [f"{1700000000 + i / 10:.3f},0.010,0.020,0.980" for i in range(5)]
    rec = read_recording(
        write(
            tmp_path / "t.csv",
            "time,x,y,z\n" + "\n".join(lines) + f"\n1700000000.500,0.010,0.020,{cut}",
        )
    )
    assert len(rec.time_s) == 5 and "last line is incomplete" in rec.warnings[0]
    whole = read_recording(write(tmp_path / "w.csv", "time,x,y,z\n" + "\n".join(lines)))
    assert len(whole.time_s) == 5 and not whole.warnings
    # A short last line of another style, a last column of text: kept
    rest = "\n".join(lines) + "\n1700000000.5,0,0,1"
    assert len(read_recording(write(tmp_path / "g.csv", "time,x,y,z\n" + rest)).time_s) == 6
    worn = "\n".join(line + ",TRUE" for line in [*lines, "1700000000.500,0.010,0.020,0.980"])
    kept = read_recording(write(tmp_path / "b.csv", "time,x,y,z,worn\n" + worn))
    assert len(kept.time_s) == 6 and not kept.warnings


def test_truncated_last_line_is_accepted_with_a_warning(tmp_path):
    text = csv("time,x,y,z", rows()) + "1700000000.100,0.01"
    rec = read_recording(write(tmp_path / "t.csv", text))
    assert len(rec.time_s) == 5 and "last line is incomplete" in rec.warnings[0]


@pytest.mark.parametrize("blank", ["   ", "\t", " \t "])
def test_a_line_of_spaces_reads_as_the_blank_line_it_is(tmp_path, blank):
    """An empty line was skipped, but a line of spaces refused the whole night as 'wrong
    number of fields'."""
    lines = csv("time,x,y,z", rows(6)).splitlines(keepends=True)
    text = "".join(lines[:4]) + blank + "\n" + "".join(lines[4:]) + blank + "\n"
    rec = read_recording(write(tmp_path / "s.csv", text))
    assert len(rec.time_s) == 6 and not rec.warnings


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "empty file"),
        ("foo,x,y,z\n1,0,0,1\n", "no time column"),
        ("time,x,y\n1,0,0\n", "no z acceleration column"),
        ("1700000000.0,0.1,0.2\n1700000000.02,0.1,0.2\n", "fewer than three numeric axes"),
        (
            "TimeStamp,axis1,axis2,axis3,steps,vm\n2017-09-12T15:00:00Z,0,0,0,0,0\n",
            "epoch-count export",
        ),
    ],
)
def test_bad_input_gets_one_clear_line(tmp_path, text, message):
    with pytest.raises(InputError, match=message) as info:
        read_recording(write(tmp_path / "bad.csv", text))
    assert "\n" not in str(info.value) and "bad.csv" in str(info.value)


def test_junk_in_the_middle_names_the_line(tmp_path):
    body = rows(6)
    body[3] = (body[3][0], "oops", body[3][2], body[3][3])
    with pytest.raises(InputError, match=r"line 5") as info:
        read_recording(write(tmp_path / "j.csv", csv("time,x,y,z", body)))
    assert "oops" in str(info.value)


def test_a_row_with_missing_fields_in_the_middle_names_the_line(tmp_path):
    lines = csv("time,x,y,z", rows(6)).splitlines()
    lines[2] = "1700000000.020,0.1"
    with pytest.raises(InputError, match=r"line 3"):
        read_recording(write(tmp_path / "f.csv", "\n".join(lines) + "\n"))


def test_binary_data_is_refused(tmp_path):
    path = tmp_path / "b.csv"
    path.write_bytes(bytes(range(256)) * 10)
    with pytest.raises(InputError, match="binary"):
        read_recording(str(path))


def test_real_axivity_unix_export(real_data):
    rec = read_recording(str(real_data / "ggir_testfiles/ax3_testfile_unix_timestamps.csv"))
    assert rec.clock == "unix" and len(rec.time_s) == 210 and rec.units_in == "g"
    np.testing.assert_allclose(rec.xyz_g[0], [0.328125, 0.984375, 0.203125], atol=1e-6)


def test_real_axivity_formatted_timestamps_need_units(real_data):
    path = str(real_data / "ggir_testfiles/ax6_testfile_formatted_timestamps.csv")
    # This test file's vectors are ~0.07 g long: no resting sensor reads that, so auto refuses.
    with pytest.raises(InputError, match="cannot tell the units"):
        read_recording(path)
    rec = read_recording(path, units="g")
    assert rec.clock == "naive" and len(rec.time_s) == 210
    assert rec.time_s[1] - rec.time_s[0] == pytest.approx(0.009, abs=1e-6)


def test_real_imu_export_with_gyroscope_columns(real_data):
    rec = read_recording(str(real_data / "skdh_samples/example_data_2min.csv"))
    assert rec.clock == "unix" and len(rec.time_s) == 10360
    np.testing.assert_allclose(rec.xyz_g[0], [-0.518555, -0.023926, -0.077148], atol=1e-6)


def test_real_actilife_raw_export(real_data):
    rec = read_recording(str(real_data / "readgt3x_actigraph/TAS1H30182785_2019-09-17.csv.gz"))
    # 240500 rows, of which the device's idle sleep, exported as one sample repeated and then
    # zeros: gaps (the 33000 samples the .gt3x holds but one equal to its predecessor).
    assert rec.nominal_rate_hz == 100 and rec.clock == "naive" and len(rec.time_s) == 32999
    assert "2075 s of idle-sleep fill" in rec.warnings[0]
    assert rec.time_s[0] == pytest.approx(1568745600.0)  # 2019-09-17 18:40:00 as written
    np.testing.assert_allclose(rec.xyz_g[1], [0.016, 0.0, 1.008], atol=1e-6)


def test_real_epoch_count_export_is_refused(real_data):
    with pytest.raises(InputError, match="epoch-count export"):
        read_recording(str(real_data / "ggir_testfiles/ActiGraph13_timestamps_headers.csv"))


def test_rows_with_a_missing_time_or_axis_are_dropped_and_counted(tmp_path):
    body = rows(8)
    body[2] = ("", *body[2][1:])  # no time
    body[5] = (body[5][0], body[5][1], "inf", body[5][3])
    recording = read_recording(write(tmp_path / "gaps.csv", csv("time,x,y,z", body)))
    assert len(recording.time_s) == 6
    assert np.isfinite(recording.time_s).all() and np.isfinite(recording.xyz_g).all()
    assert "2 rows with missing, NaN or infinite values dropped (first at line 4)" in (
        recording.warnings
    )


def test_large_finite_values_whose_sum_overflows_are_kept(tmp_path):
    # The finiteness check sums each column first: two float32 values near the largest
    # finite one overflow the sum, and the exact check must then keep every row.
    body = rows(9)
    for row in (3, 4):
        body[row] = (body[row][0], "3e38", body[row][2], body[row][3])
    # Not rows of non-finite values; rows of impossible ones, dropped as damage (no
    # wearable reads 3e38 g: finish.MOST_G)
    recording = read_recording(write(tmp_path / "big.csv", csv("time,x,y,z", body)))
    assert len(recording.time_s) == 7
    assert not any("NaN or infinite" in warning for warning in recording.warnings)
    assert any("2 rows with an acceleration beyond" in w for w in recording.warnings)


def test_numeric_values_read_arrow_buffers_with_offsets_and_empty_fields(tmp_path):
    import pyarrow.csv as pacsv

    from sleepmove.sensor.numeric_columns import numeric_values

    path = write(tmp_path / "holes.csv", "t,x\n1,0.5\n,1.5\n3,\n4,2.5\n")
    table = pacsv.read_csv(path)
    time = table.column("t").chunks[0]
    axis = table.column("x").chunks[0]
    np.testing.assert_array_equal(numeric_values(time), [1, np.nan, 3, 4])
    np.testing.assert_array_equal(numeric_values(axis), [0.5, 1.5, np.nan, 2.5])
    # A slice starts inside the buffers: values and empty fields must follow the offset.
    np.testing.assert_array_equal(numeric_values(time.slice(2)), [3, 4])
    np.testing.assert_array_equal(numeric_values(axis.slice(1, 2)), [1.5, np.nan])
    whole = pacsv.read_csv(write(tmp_path / "ints.csv", "t\n7\n8\n9\n")).column("t").chunks[0]
    assert numeric_values(whole.slice(1)).tolist() == [8, 9]


@pytest.mark.parametrize(
    "header, scale, clock",
    [
        ("time", 1e6, "unix"),  # Unix microseconds
        ("time", 1e9, "unix"),  # Unix nanoseconds
        ("time", 1e3, "relative"),  # milliseconds from the start
        ("time", 1e6, "relative"),  # microseconds from the start (past Unix seconds' size)
        ("time_ms", 1e3, "relative"),  # named
        ("Time (µs)", 1e6, "relative"),
    ],
)
def test_time_units_are_detected(tmp_path, header, scale, clock):
    n = 3000  # 10 minutes at 5 Hz
    seconds = np.arange(n) / 5.0 + (1_700_000_000.0 if clock == "unix" else 0.0)
    body = "".join(f"{round(s * scale)},0,0,1\n" for s in seconds)
    rec = read_recording(write(tmp_path / "u.csv", f"{header},x,y,z\n{body}"))
    assert rec.clock == clock
    np.testing.assert_allclose(rec.time_s, seconds, rtol=0, atol=1e-6)
    # Time from the start in a unit guessed from its steps is said; a named unit is not.
    guessed = clock == "relative" and header == "time"
    assert ("read as " in " ".join(rec.warnings)) == guessed


def test_junk_in_one_time_cell_drops_that_row_and_names_its_line(tmp_path):
    body = rows(100)
    body[60] = ("1700000001.2x0", *body[60][1:])
    rec = read_recording(write(tmp_path / "j.csv", csv("time,x,y,z", body)))
    assert len(rec.time_s) == 99 and np.isfinite(rec.time_s).all()
    assert "1 row whose time is unreadable dropped (first at line 62: '1700000001.2x0')" in (
        rec.warnings
    )
    # Junk in ISO times too.
    iso = ["datetime,x,y,z"] + [f"2025-03-14T22:30:{i / 10:06.3f}Z,0,0,1" for i in range(100)]
    iso[31] = "2025-03-14T22:3O:03.000Z,0,0,1"
    rec = read_recording(write(tmp_path / "i.csv", "\n".join(iso) + "\n"))
    assert len(rec.time_s) == 99 and "line 32: '2025-03-14T22:3O:03.000Z'" in rec.warnings[0]


def test_a_time_column_mostly_of_junk_is_refused_at_its_first_bad_line(tmp_path):
    body = rows(10)
    for i in range(2, 10):
        body[i] = (f"oops{i}", *body[i][1:])
    with pytest.raises(InputError, match=r"not a time: 'oops2' \(line 4\)"):
        read_recording(write(tmp_path / "j.csv", csv("time,x,y,z", body)))


def test_a_header_with_spaces_after_the_commas(tmp_path):
    text = "time, x, y, z\n" + "".join(f"{', '.join(r)}\n" for r in rows())
    rec = read_recording(write(tmp_path / "s.csv", text))
    np.testing.assert_allclose(rec.xyz_g[0], [0.01, 0.02, 1.0], atol=1e-6)
    assert rec.time_s[1] - rec.time_s[0] == pytest.approx(0.02, abs=1e-6)
