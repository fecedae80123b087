"""Device formats through the one reader interface (issue 20): files built byte by byte here,
so each decoder is tested without the real data; real files where they are present."""

from __future__ import annotations

import gzip
import io
import struct
import zipfile

import numpy as np
import pytest

from sleepmove.base.errors import InputError
from sleepmove.cli import main
from sleepmove.sensor.formats import (
    csv_text,
    cwa,
    geneactiv_bin,
    gt3x,
    identify,
    parquet,
    read_recording,
)
from sleepmove.sensor.zones import check_zone

# --- builders ---------------------------------------------------------------------------


def cwa_time(year: int, month: int, day: int, hour: int, minute: int, second: int) -> int:
    return ((year - 2000) << 26) | (month << 22) | (day << 17) | (hour << 12) | minute << 6 | second


def cwa_bytes(blocks: list[tuple[int, np.ndarray]]) -> bytes:
    """A .cwa: header, then one block per (packed time, int16 samples) at 100 Hz, ±8 g."""
    header = bytearray(1024)
    header[0:4] = b"MD" + (1020).to_bytes(2, "little")
    out = bytearray(header)
    for sequence, (stamp, samples) in enumerate(blocks):
        block = bytearray(512)
        block[0:2] = b"AX"
        struct.pack_into("<HHIII", block, 2, 508, 0, 0, sequence, stamp)
        block[24], block[25] = 0x4A, 0x32  # 100 Hz ±8 g; 3 axes of 2 bytes
        struct.pack_into("<hH", block, 26, 0, len(samples))
        block[30 : 30 + samples.size * 2] = samples.astype("<i2").tobytes()
        words = np.frombuffer(bytes(block[:510]), "<u2")
        struct.pack_into("<H", block, 510, -int(words.sum()) & 0xFFFF)  # words sum to 0
        out += block
    return bytes(out)


GENEACTIV_HEADER = """Device Identity
Device Unique Serial Code:000001
Device Type:GENEActiv
Device Model:1.1
Device Firmware Version:Ver4.08a
Calibration Date:2024-01-01 00:00:00:000

Device Capabilities
Accelerometer Range:-8 to 8
Accelerometer Resolution:0.0039
Accelerometer Units:g
Light Meter Range:0 to 5000
Light Meter Resolution:5
Light Meter Units:lux
Temperature Sensor Range:0 to 70
Temperature Sensor Resolution:0.1
Temperature Sensor Units:deg. C

Configuration Info
Measurement Frequency:10 Hz
Measurement Period:360 Hours
Start Time:2024-03-30 23:59:50:000
Time Zone:GMT +01:00

Trial Info
Study Centre:
Study Code:
Investigator ID:
Exercise Type:
Config Operator ID:
Config Time:2024-03-30 23:00:00:000
Config Notes:
Extract Operator ID:
Extract Time:2024-04-02 10:00:00:000
Extract Notes:

Subject Info
Device Location Code:ankle
Subject Code:
Date of Birth:1900-1-1
Sex:
Height:
Weight:
Handedness Code:
Subject Notes:

Calibration Data
x gain:25600
x offset:100
y gain:25600
y offset:-200
z gain:25000
z offset:0
Volts:300
Lux:800

Memory Status
Number of Pages:{pages}
"""


def geneactiv_bytes(pages: list[tuple[str, np.ndarray]]) -> bytes:
    """A GENEActiv .bin: the header, then a page of 300 packed samples per (page time, raw)."""
    text = GENEACTIV_HEADER.format(pages=len(pages)) + "\n"  # a blank line, then pages
    for number, (when, raw) in enumerate(pages):
        words = (raw[:, 0] & 0xFFF) << 36 | (raw[:, 1] & 0xFFF) << 24 | (raw[:, 2] & 0xFFF) << 12
        hexes = "".join(f"{int(word):012X}" for word in words)
        text += (
            f"Recorded Data\nDevice Unique Serial Code:000001\nSequence Number:{number}\n"
            f"Page Time:{when}\nUnassigned:\nTemperature:25.0\nBattery voltage:4.0\n"
            f"Device Status:Recording\nMeasurement Frequency:10.0\n{hexes}\n"
        )
    return text.encode()


def gt3x_record(kind: int, time_s: int, payload: bytes) -> bytes:
    head = bytes([0x1E, kind]) + time_s.to_bytes(4, "little") + len(payload).to_bytes(2, "little")
    checksum = 0
    for byte in head + payload:
        checksum ^= byte
    return head + payload + bytes([~checksum & 0xFF])


def pack12(samples: np.ndarray) -> bytes:
    """ACTIVITY payload: 12-bit values, big-endian, y, x, z."""
    values = samples[:, [1, 0, 2]].reshape(-1) & 0xFFF
    bits = "".join(f"{int(v):012b}" for v in values)
    bits += "0" * (-len(bits) % 8)
    return int(bits, 2).to_bytes(len(bits) // 8, "big")


def gt3x_bytes(records: list[bytes], rate: int, zone: str = "-04:00:00") -> bytes:
    info = (
        f"Serial Number: TEST0001\r\nDevice Type: wGT3XBT\r\nSample Rate: {rate}\r\n"
        f"TimeZone: {zone}\r\nAcceleration Scale: 256.0\r\n"
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("info.txt", info)
        archive.writestr("log.bin", b"".join(records))
    return out.getvalue()


T0 = 1711843190  # 2024-03-30 23:59:50, a local clock counted as if UTC


def write(path, data: bytes) -> str:
    path.write_bytes(data)
    return str(path)


# --- Axivity .cwa -----------------------------------------------------------------------


def test_cwa_blocks_decode_exactly(tmp_path):
    samples = np.arange(240, dtype=np.int16).reshape(80, 3) - 120 + np.array([0, 0, 256])
    blocks = [(cwa_time(2024, 3, 30, 23, 59, 50 + i), samples + i) for i in range(3)]
    rec = read_recording(write(tmp_path / "night.dat", cwa_bytes(blocks)))  # any name
    assert rec.clock == "naive" and rec.units_in == "g" and len(rec.time_s) == 240
    np.testing.assert_array_equal(rec.xyz_g[:80], samples / 256)
    np.testing.assert_array_equal(rec.xyz_g[80:160], (samples + 1) / 256)
    np.testing.assert_allclose(rec.time_s[:2] - T0, [0.0, 0.01], atol=1e-6)
    np.testing.assert_allclose(rec.time_s[80] - T0, 1.0, atol=1e-6)
    assert rec.xyz_g.flags.f_contiguous and rec.xyz_g.dtype == np.float32


def test_cwa_damaged_block_is_left_out_and_counted(tmp_path):
    samples = np.tile(np.array([0, 0, 256], dtype=np.int16), (80, 1))
    data = bytearray(cwa_bytes([(cwa_time(2024, 1, 1, 0, 0, i), samples) for i in range(4)]))
    data[1024 + 512 + 100] ^= 0xFF  # the second block fails its checksum
    rec = read_recording(write(tmp_path / "a.cwa", bytes(data[:-200])))  # and the last is cut
    assert len(rec.time_s) == 160
    assert any("1 damaged data blocks" in w for w in rec.warnings)
    assert any("cut short" in w for w in rec.warnings)


def test_cwa_erased_blocks_among_the_data_are_left_out_not_the_file(tmp_path):
    """A sector of 0xFF between data blocks: actfast refused the whole file for it."""
    samples = np.tile(np.array([0, 0, 256], dtype=np.int16), (80, 1))
    data = bytearray(cwa_bytes([(cwa_time(2024, 1, 1, 0, 0, i), samples) for i in range(4)]))
    data[1024 + 512 : 1024 + 1024] = b"\xff" * 512  # the second block erased
    rec = read_recording(write(tmp_path / "a.cwa", bytes(data)))
    assert len(rec.time_s) == 240
    assert rec.warnings == ["1 erased blocks (all bytes 0xFF) among the data left out"]


def test_cwa_blocks_out_of_order_are_put_where_their_stamps_say(tmp_path):
    """Two blocks swapped read as a clock reset: the rest of the night moved later by the
    reset's gap (an event at 03:13 shown at 03:26) and time was counted lost."""
    blocks = [
        (cwa_time(2024, 1, 1, 0, 0, i), np.tile(np.array([i, 0, 256], np.int16), (80, 1)))
        for i in range(6)
    ]
    swapped = [blocks[0], blocks[1], blocks[3], blocks[2], blocks[4], blocks[5]]
    rec = read_recording(write(tmp_path / "a.cwa", cwa_bytes(swapped)))
    assert np.all(np.diff(rec.time_s) > 0)
    assert rec.time_s[-1] - rec.time_s[0] == pytest.approx(5.79, abs=1e-6)
    np.testing.assert_array_equal(rec.xyz_g[::80, 0] * 256, np.arange(6))
    assert any("out of time order at 1 place " in w for w in rec.warnings)


def test_cwa_with_timezone_gives_instants(tmp_path):
    samples = np.tile(np.array([0, 0, 256], dtype=np.int16), (80, 1))
    path = write(tmp_path / "a.cwa", cwa_bytes([(cwa_time(2024, 7, 1, 22, 0, 0), samples)]))
    rec = read_recording(path, timezone="Europe/Berlin")  # summer: UTC+2
    assert rec.clock == "unix" and rec.timezone == "Europe/Berlin"
    assert rec.time_s[0] == 1719871200 - 2 * 3600  # 22:00 local is 20:00 UTC


# --- GENEActiv .bin ---------------------------------------------------------------------


def test_geneactiv_page_is_calibrated_with_the_header_gain_and_offset(tmp_path):
    raw = np.zeros((300, 3), dtype=np.int64)
    raw[:, 0] = np.arange(300) - 150
    raw[:, 1] = 256
    raw[:, 2] = -256
    data = geneactiv_bytes([("2024-03-30 23:59:50:000", raw), ("2024-03-31 00:00:20:000", raw)])
    rec = read_recording(write(tmp_path / "renamed.csv", data))  # a misleading name
    assert len(rec.time_s) == 600 and rec.nominal_rate_hz == 10.0
    expected = (raw * 100 - np.array([100, -200, 0])) / np.array([25600, 25600, 25000])
    np.testing.assert_allclose(rec.xyz_g[:300], expected, rtol=1e-6)
    # The header's Time Zone (GMT +01:00) turns the local clock into instants.
    assert rec.clock == "unix" and rec.timezone == "+01:00"
    assert rec.time_s[0] == pytest.approx(T0 - 3600)
    assert rec.time_s[300] - rec.time_s[0] == pytest.approx(30.0)


@pytest.mark.parametrize("claimed", ["99999999999", "100000"])
def test_geneactiv_header_claiming_more_pages_than_the_file_holds_reads_those_it_holds(
    tmp_path, claimed
):
    """actfast reserves memory for every page the header claims: 99999999999 aborted the
    process (a Rust allocation failure, no line, a batch lost with it); 100000 in a whole
    file read as a file cut short."""
    raw = np.zeros((300, 3), dtype=np.int64)
    raw[:, 1] = 256
    data = geneactiv_bytes([("2024-03-30 23:59:50:000", raw), ("2024-03-31 00:00:20:000", raw)])
    data = data.replace(b"Number of Pages:2", f"Number of Pages:{claimed}".encode())
    rec = read_recording(write(tmp_path / "n.bin", data))
    assert len(rec.time_s) == 600
    assert rec.warnings == [
        f"the header's Number of Pages is {claimed}, far more than a file of {len(data)} "
        "bytes can hold (damaged, or the file cut short): read as the 2 pages it holds"
    ]


# --- ActiGraph .gt3x --------------------------------------------------------------------


def test_gt3x_record_failing_its_checksum_in_a_sound_zip_is_left_out(tmp_path):
    """The zip's CRC holds (a file re-zipped): the record's own checksum still decides; its
    damaged byte read as a sample of up to 128 g in silence."""
    values = np.array([[1, -2, 256], [-256, 100, 0], [3, 4, 250]])
    records = [gt3x_record(0x00, T0 + i, pack12(values)) for i in range(4)]
    broken = bytearray(records[1])
    broken[9] ^= 0x7F  # a payload byte: the checksum no longer holds
    records[1] = bytes(broken)
    rec = read_recording(write(tmp_path / "n.gt3x", gt3x_bytes(records, 3)), "g")
    assert len(rec.time_s) == 9 and np.abs(rec.xyz_g).max() <= 1.0
    assert any("1 damaged records of log.bin (failed checksum)" in w for w in rec.warnings)


def test_gt3x_activity_records_with_an_idle_sleep_gap(tmp_path):
    values = np.array([[1, -2, 256], [-256, 100, 0], [2046, -2047, 3]])
    records = [
        gt3x_record(0x00, T0, pack12(values)),
        gt3x_record(0x00, T0 + 1, pack12(values + 1)),
        gt3x_record(0x03, T0 + 2, b"\x01"),  # other record types are skipped
        gt3x_record(0x00, T0 + 2, b"\x00"),  # the 1-byte record written at idle sleep
        gt3x_record(0x00, T0 + 5, pack12(-values[::-1])),  # after 3 s of idle sleep
    ]
    rec = read_recording(write(tmp_path / "n.gt3x", gt3x_bytes(records, 3)), "g")
    assert len(rec.time_s) == 9  # the idle seconds are a gap, never repeated samples
    np.testing.assert_allclose(
        rec.time_s - rec.time_s[0], [0, 1 / 3, 2 / 3, 1, 4 / 3, 5 / 3, 5, 16 / 3, 17 / 3], atol=1e-6
    )
    np.testing.assert_array_equal(rec.xyz_g[:3], values / 256)
    np.testing.assert_array_equal(rec.xyz_g[6:], -values[::-1] / 256)
    assert rec.clock == "unix" and rec.timezone == "-04:00"  # info.txt's TimeZone
    assert rec.time_s[0] == T0 + 4 * 3600


def test_gt3x_activity2_records(tmp_path):
    values = np.array([[0, 2, 255], [4, 0, 258], [-3, 1, 256], [7, -7, 250]], dtype="<i2")
    records = [
        gt3x_record(0x1A, T0, values.tobytes()),
        gt3x_record(0x1A, T0 + 10, (values * 2).astype("<i2").tobytes()),
    ]
    rec = read_recording(write(tmp_path / "link.gt3x", gt3x_bytes(records, 4, "02:00:00")), "g")
    assert len(rec.time_s) == 8
    np.testing.assert_array_equal(rec.xyz_g[4:], values * 2 / 256)
    np.testing.assert_allclose(rec.time_s[4:6] - rec.time_s[0], [10.0, 10.25])
    assert rec.time_s[0] == T0 - 2 * 3600


def test_gt3x_whose_records_hold_no_samples_is_refused(tmp_path):
    records = [gt3x_record(0x00, T0, b"\x00"), gt3x_record(0x02, T0, b"\x01\x02")]
    with pytest.raises(InputError, match="records hold no accelerometer samples"):
        read_recording(write(tmp_path / "e.gt3x", gt3x_bytes(records, 30)))


# --- Parquet and European CSV -----------------------------------------------------------


def test_parquet_follows_the_csv_column_rules(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    n = 500
    table = pa.table(
        {
            "Timestamp": pa.array((T0 + np.arange(n) / 50) * 1e9, pa.int64()).cast(
                pa.timestamp("ns", tz="UTC")
            ),
            "acc_x": np.zeros(n, np.float32),
            "acc_y": np.zeros(n, np.float32),
            "acc_z": np.ones(n, np.float32),
            "gyro_x": np.ones(n),
        }
    )
    pq.write_table(table, tmp_path / "p.bin")
    rec = read_recording(str(tmp_path / "p.bin"))
    assert rec.clock == "unix" and len(rec.time_s) == n and rec.time_s[0] == T0
    np.testing.assert_array_equal(rec.xyz_g[:, 2], 1.0)


def test_parquet_of_many_tiny_row_groups_reads_as_one_group_does(tmp_path, monkeypatch):
    """A logger writing a row group per packet: 58,800 groups of one row took 40 s and 1.5 GB
    (pyarrow's whole read, and a slice per group of a table in as many chunks)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from sleepmove.sensor.formats import parquet_table

    n = 3000
    rng = np.random.default_rng(1)
    table = pa.table(
        {
            "time": T0 + np.arange(n) / 50,
            "x": rng.normal(0, 0.01, n),
            "y": rng.normal(0, 0.01, n),
            "z": 1 + rng.normal(0, 0.01, n),
        }
    )
    pq.write_table(table, tmp_path / "one.parquet")
    pq.write_table(table, tmp_path / "tiny.parquet", row_group_size=2)  # 1500 groups
    assert pq.ParquetFile(tmp_path / "tiny.parquet").metadata.num_row_groups == 1500
    whole, read_table = [], pq.read_table
    monkeypatch.setattr(pq, "read_table", lambda *a, **k: whole.append(1) or read_table(*a, **k))
    one = read_recording(str(tmp_path / "one.parquet"))
    assert 1500 > parquet_table.MANY_ROW_GROUPS
    tiny = read_recording(str(tmp_path / "tiny.parquet"))
    assert len(whole) == 1  # the tiny groups were read in batches, not whole
    np.testing.assert_array_equal(tiny.time_s, one.time_s)
    np.testing.assert_array_equal(tiny.xyz_g, one.xyz_g)
    assert tiny.warnings == one.warnings


def test_european_csv_semicolons_and_decimal_commas(tmp_path):
    rows = [
        f"{T0 + i / 50:.2f};{0.01 * (i % 3):.2f};-0,5;0,866".replace(".", ",") for i in range(50)
    ]
    path = tmp_path / "eu.csv"
    path.write_text("time;X;Y;Z\n" + "\n".join(row.replace(",", ",", 1) for row in rows) + "\n")
    # the time and x columns use decimal commas too
    rec = read_recording(str(path))
    assert len(rec.time_s) == 50 and rec.clock == "unix"
    np.testing.assert_allclose(rec.time_s[1] - rec.time_s[0], 0.02, atol=1e-6)
    np.testing.assert_allclose(rec.xyz_g[1], [0.01, -0.5, 0.866], rtol=1e-6)


def test_a_text_cell_in_a_european_csv_is_named_where_it_is(tmp_path):
    """With decimal commas, one text cell keeps a column as text: every cell of it was judged
    with a decimal point, and the refusal named the first number ('0,02', line 2)."""
    rows = [f"{T0 + i / 50:.2f};0,01;0,02;0,98".replace(".", ",", 1) for i in range(3000)]
    rows[2000] = rows[2000].replace(";0,02;", ";abc;")
    path = tmp_path / "eu.csv"
    path.write_text("time;x;y;z\n" + "\n".join(rows) + "\n")
    with pytest.raises(InputError) as caught:
        read_recording(str(path))
    assert "'abc'" in str(caught.value) and "line 2002" in str(caught.value)
    # A point in a comma file is no number of it ('1.234' may mean 1234): named, not read.
    rows[2000] = rows[2000].replace(";abc;", ";1.234;")
    path.write_text("time;x;y;z\n" + "\n".join(rows) + "\n")
    with pytest.raises(InputError, match=r"'1\.234' \(line 2002\)"):
        read_recording(str(path))


# --- recognition and refusals -----------------------------------------------------------


def test_formats_are_told_by_content_not_name(tmp_path):
    samples = np.zeros((80, 3), dtype=np.int16)
    assert (
        identify(write(tmp_path / "x.csv", cwa_bytes([(cwa_time(2024, 1, 1, 0, 0, 0), samples)])))
        is cwa
    )
    raw = np.zeros((300, 3), dtype=np.int64)
    assert (
        identify(write(tmp_path / "y.gt3x", geneactiv_bytes([("2024-01-01 00:00:00:000", raw)])))
        is geneactiv_bin
    )
    assert identify(write(tmp_path / "z.bin", gt3x_bytes([], 30))) is gt3x
    assert identify(write(tmp_path / "w.csv", b"PAR1" + bytes(20))) is parquet
    assert identify(write(tmp_path / "v.cwa", b"time,x,y,z\n1,0,0,1\n")) is csv_text
    assert identify(write(tmp_path / "u.bin", gzip.compress(b"time,x,y,z\n"))) is csv_text


def _zip(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return out.getvalue()


@pytest.mark.parametrize(
    "data, message",
    [
        (_zip({"[Content_Types].xml": b"", "xl/workbook.xml": b""}), "an Excel workbook"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600), "an Excel 97-2003 workbook"),
        (_zip({"night.csv": b"time,x,y,z\n"}), "a zip archive (night.csv), not a .gt3x"),
        (_zip({"info.txt": b"Sample Rate: 30\r\n"}), "an incomplete .gt3x"),
        (b"SQLite format 3\x00" + bytes(100), "ActiLife .agd epoch file"),
        (b"%PDF-1.7\n" + bytes(100), "a PDF document"),
    ],
)
def test_refusals_name_what_the_file_is(tmp_path, capsys, data, message):
    path = write(tmp_path / "night.csv", data)
    out = tmp_path / "out"
    assert main(["analyze", path, "--out", str(out), "--no-report"]) == 2
    error = capsys.readouterr().err.strip()
    assert message in error and "night.csv" in error and "\n" not in error
    assert not out.exists()


def test_unknown_timezone_is_one_clear_line(tmp_path, capsys):
    path = write(tmp_path / "n.csv", b"time,x,y,z\n1,0,0,1\n")
    out = tmp_path / "out"
    assert main(["analyze", path, "--out", str(out), "--timezone", "Mars/Olympus"]) == 2
    error = capsys.readouterr().err.strip()
    assert "unknown time zone 'Mars/Olympus'" in error and "\n" not in error
    assert not out.exists()
    assert check_zone("America/New_York") == "America/New_York"


def _stated_csv(tmp_path, stamp: str, zone: str) -> str:
    """Fifty minutes at 10 Hz from 01:50 local, times written with `zone` (`+02:00`, `Z`)
    in the layout `stamp` gives (a strftime pattern), a kick every 30 s from minute 15."""
    from datetime import datetime, timedelta

    start = datetime(2025, 4, 26, 1, 50)
    t = np.arange(0, 3000, 0.1)
    x = np.random.default_rng(0).normal(0, 0.004, len(t))
    for onset in np.arange(900, 2700, 30.0):  # a loop over kicks
        x[(t >= onset) & (t < onset + 1.5)] += 0.4  # the foot tilts the shank
    lines = ["time,x,y,z"] + [
        f"{(start + timedelta(seconds=float(s))).strftime(stamp)[:-3]}{zone},{v:.4f},0,1"
        for s, v in zip(t, x)
    ]
    return write(tmp_path / "n.csv", ("\n".join(lines) + "\n").encode())


@pytest.mark.parametrize("stamp", ["%Y-%m-%dT%H:%M:%S.%f", "%Y-%m-%d %H:%M:%S.%f"])
def test_csv_times_that_state_an_offset_are_shown_and_windowed_in_it(tmp_path, stamp):
    """`+02:00` in the file: output clock times carry it, and a clock-time sleep window is
    read in it. Shown in the computer's zone, 01:50+02:00 came out as 23:50+00:00 and the
    window 02:00-02:40 was refused as after the recording's end."""
    import json

    path = _stated_csv(tmp_path, stamp, "+02:00")
    rec = read_recording(path)
    assert rec.clock == "unix" and rec.timezone == "+02:00"
    assert rec.time_s[0] == pytest.approx(1745625000.0, abs=1e-3)  # 2025-04-25 23:50 UTC
    out = tmp_path / "out"
    argv = ["analyze", path, "--out", str(out), "--no-report", "--sleep-window", "02:00,02:40"]
    assert main(argv) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["recording"]["start"] == "2025-04-26T01:50:00.000+02:00"
    rows = [line.split(",") for line in (out / "events.csv").read_text().splitlines()[1:]]
    first_kick = min(rows, key=lambda row: abs(float(row[0]) - 900))[1]  # 02:05 local
    assert first_kick[:19] in ("2025-04-26T02:04:59", "2025-04-26T02:05:00")
    assert first_kick.endswith("+02:00")
    # The window 02:00-02:40 as the file's clock reads: 40 minutes in bed, inside the night.
    assert summary["sleep"]["source"] == "given"
    assert summary["sleep"]["in_bed_h"] == pytest.approx(40 / 60, abs=1e-3)


def test_csv_times_in_utc_or_another_offset(tmp_path):
    assert read_recording(_stated_csv(tmp_path, "%Y-%m-%dT%H:%M:%S.%f", "Z")).timezone is None
    utc = _stated_csv(tmp_path, "%Y-%m-%dT%H:%M:%S.%f", "+00:00")  # pandas' and isoformat's UTC
    assert read_recording(utc).timezone is None
    rec = read_recording(_stated_csv(tmp_path, "%Y-%m-%dT%H:%M:%S.%f", "-03:30"))
    assert rec.timezone == "-03:30" and rec.clock == "unix"
    assert read_recording(rec.path, timezone="Asia/Tokyo").timezone == "Asia/Tokyo"


# --- clocks -----------------------------------------------------------------------------


def _naive(local_s: np.ndarray):
    from sleepmove.sensor.recording import Recording

    xyz = np.zeros((len(local_s), 3), np.float32, order="F")
    return Recording("n.csv", local_s.astype(float), xyz, "naive", "g")


def test_wall_clock_across_the_autumn_change_keeps_its_duration():
    from sleepmove.sensor.zones import apply_zone

    # Europe/Berlin, 2024-10-27: 03:00 CEST becomes 02:00 CET. Local times step back 1 h.
    start = 1729987200 + 1 * 3600  # 01:00 local (as if UTC)
    before = start + np.arange(0, 7200, 1.0)  # 01:00 to 02:59:59 CEST
    after = start + 3600 + np.arange(0, 7200, 1.0)  # 02:00 to 03:59:59 CET
    rec = apply_zone(_naive(np.r_[before, after]), None, "Europe/Berlin")
    steps = np.diff(rec.time_s)
    assert rec.clock == "unix" and steps.min() == steps.max() == 1.0  # 4 h, no hour lost
    assert rec.time_s[0] == start - 7200 and any("daylight-saving" in w for w in rec.warnings)


def test_device_clock_across_the_spring_change_keeps_its_first_offset():
    from sleepmove.sensor.zones import apply_zone

    # A device clock does not step: America/New_York, 2024-03-10, 02:00 EST -> 03:00 EDT.
    local = 1710028800 + np.arange(0, 6 * 3600, 1.0)  # from 00:00 local, 6 h
    rec = apply_zone(_naive(local), None, "America/New_York")
    np.testing.assert_array_equal(rec.time_s, local + 5 * 3600)


def test_output_clock_times_carry_the_zone(tmp_path):
    from sleepmove.reports.clock import iso_time, zoned

    clock = zoned("unix", "Europe/Berlin")
    assert clock == "unix"
    assert iso_time(0.0, 1729989000, clock) == "2024-10-27T02:30:00.000+02:00"
    assert iso_time(3600.0, 1729989000, clock) == "2024-10-27T02:30:00.000+01:00"
    assert zoned("naive", "Europe/Berlin") == "naive" and not hasattr(
        zoned("naive", "Europe/Berlin"), "zone"
    )


# --- real files (skipped where ../shared/data/real is absent) ---------------------------

# (file, samples, nominal rate, seconds from first to last sample, stated zone)
REAL_FILES = [
    ("skdh_samples/ax3_sample.cwa", 58800, 200.0, 298.106, None),
    ("skdh_samples/ax6_sample.cwa", 10360, 100.0, 105.261, None),
    ("skdh_samples/gnactv_sample.bin", 900, 50.0, 18.48, "-04:00"),
    ("wristpy_samples/example_geneactiv.bin", 27300, 60.0, 454.983, "-05:00"),
    ("wristpy_samples/example_actigraph.gt3x", 4860, 60.0, 80.983, "-05:00"),
    ("ggir_testfiles/actigraph_testfile.gt3x", 17640, 30.0, 1767.967, "+02:00"),
    ("readgt3x_actigraph/TAS1H30182785_2019-09-17.gt3x", 33000, 100.0, 2158.99, "-04:00"),
]


@pytest.mark.parametrize("name, samples, rate, span, zone", REAL_FILES)
def test_real_device_files(real_data, name, samples, rate, span, zone):
    rec = read_recording(str(real_data / name))
    assert len(rec.time_s) == samples and rec.nominal_rate_hz == rate
    assert rec.duration_s == pytest.approx(span, abs=0.01)
    assert rec.timezone == zone and rec.clock == ("unix" if zone else "naive")
    assert rec.units_in == "g" and not rec.warnings


def test_real_link_gt3x_matches_its_actilife_export(real_data):
    folder = real_data / "readgt3x_actigraph"
    device = read_recording(str(folder / "TAS1H30182785_2019-09-17.gt3x"))
    export = read_recording(str(folder / "TAS1H30182785_2019-09-17.csv.gz"))
    # The export starts at 18:40:00 local and fills idle sleep up to the download (240500
    # rows) with one sample repeated, then zeros, read as gaps; the .gt3x holds the 33000
    # samples recorded, 330 one-second records, on -04:00. The export lacks one: a recorded
    # sample equal to the one before it, where the fill begins, cannot be told from fill.
    assert len(export.time_s) == 32999 and export.time_s[0] == 1568745600
    assert device.time_s[0] == export.time_s[0] + 4 * 3600
    device_rows = np.round((device.time_s - device.time_s[0]) * 100).astype(int)
    export_rows = np.round((export.time_s - export.time_s[0]) * 100).astype(int)
    assert device_rows[-1] == 215899
    shared, at_device, at_export = np.intersect1d(device_rows, export_rows, return_indices=True)
    assert len(shared) == 32999  # every exported sample is one the device recorded
    np.testing.assert_allclose(export.xyz_g[at_export], device.xyz_g[at_device], atol=0.0005 + 1e-6)


def test_real_ax6_cwa_matches_its_csv_export(real_data):
    device = read_recording(str(real_data / "skdh_samples/ax6_sample.cwa"))
    export = read_recording(str(real_data / "skdh_samples/example_data_2min.csv"))
    assert len(device.time_s) == len(export.time_s) == 10360
    np.testing.assert_allclose(device.xyz_g, export.xyz_g, atol=1e-6)


def test_real_epoch_count_export_is_refused(real_data):
    with pytest.raises(InputError, match="epoch-count export"):
        read_recording(str(real_data / "ggir_testfiles/ActiGraph13_timestamps_headers.csv"))


def test_real_gt3x_analyzes_with_clock_times_at_its_offset(real_data, tmp_path):
    import json

    path = real_data / "readgt3x_actigraph/TAS1H30182785_2019-09-17.gt3x"
    out = tmp_path / "out"
    assert main(["analyze", str(path), "--out", str(out), "--no-report"]) == 0
    recording = json.loads((out / "summary.json").read_text())["recording"]
    assert recording["start"] == "2019-09-17T18:40:00.000-04:00"
    assert recording["data_loss_h"] > 0.4  # idle sleep: gaps, not stillness


def test_actilife_export_fill_of_the_last_sample_then_zeros_is_one_gap():
    """ActiLife writes a device's idle sleep as its last sample repeated, then as zeros: both
    runs are fill, and a zero row is no reading, so the gap is the .gt3x's, with no row of
    zeros left in it (one was, splitting the gap and changing a real night's events)."""
    from sleepmove.sensor.readers import _without_idle_sleep_fill

    rate = 10.0
    real = np.column_stack([np.linspace(0, 0.1, 20), np.zeros(20), np.ones(20)])
    last = np.tile(real[-1], (15, 1))  # the last sample repeated for 1.5 s
    zeros = np.zeros((30, 3))  # then zeros for 3 s
    after = real + [0, 0.5, 0]
    xyz = np.vstack([real, last, zeros, after, np.zeros((25, 3))])
    time_s = np.arange(len(xyz)) / rate
    warnings: list[str] = []
    kept_t, kept = _without_idle_sleep_fill(time_s, xyz, rate, warnings)
    assert np.array_equal(kept, np.vstack([real, after]))
    assert kept_t[19] == pytest.approx(1.9) and kept_t[20] == pytest.approx(6.5)
    assert "idle-sleep fill" in warnings[0]


def test_the_offset_is_the_time_columns_first_readable_one(tmp_path):
    """Read from the time column, past a row whose time is unreadable (dropped), not from
    another clock time earlier in the row (an upload time in UTC)."""
    rows = ["uploaded,time,x,y,z", "2025-04-27T08:00:00+00:00,n/a,0,0,1"] + [
        f"2025-04-27T08:00:00+00:00,2025-04-26T01:{50 + i // 600:02d}:{i % 600 / 10:04.1f}"
        f"+05:30,0.0{i % 7},0,1"
        for i in range(6000)
    ]
    rec = read_recording(write(tmp_path / "n.csv", ("\n".join(rows) + "\n").encode()))
    assert rec.timezone == "+05:30" and rec.clock == "unix"


def test_a_multi_day_cwa_with_blocks_swapped_at_noon_keeps_every_sample(tmp_path):
    """Blocks out of order around noon made one night two runs; the second run's slice
    replaced the first's (16 h of a real file lost)."""
    from sleepmove.sensor.split import split_nights

    samples = np.tile(np.array([0, 0, 256], dtype=np.int16), (80, 1))
    times = [(1, 11, 59, 57), (1, 11, 59, 58), (1, 12, 0, 0), (1, 11, 59, 59), (1, 12, 0, 1)]
    times += [(2, 12, 0, 0), (2, 12, 0, 1)]
    blocks = [(cwa_time(2024, 1, day, h, m, sec), samples) for day, h, m, sec in times]
    parts = split_nights(write(tmp_path / "week.cwa", cwa_bytes(blocks)), str(tmp_path / "parts"))
    assert [(part.night, part.samples) for part in parts] == [
        ("2023-12-31", 240),
        ("2024-01-01", 160),
        ("2024-01-02", 160),
    ]


def test_accelerations_no_wearable_reads_are_dropped_as_damage(tmp_path):
    """A flipped byte in a Parquet page read 31,744 g: kept, a fake jerk and cramp."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    n = 1000
    x = np.zeros(n)
    x[[10, 500]] = [31744.0, -300.0]
    table = pa.table({"time": T0 + np.arange(n) / 50, "x": x, "y": np.zeros(n), "z": np.ones(n)})
    pq.write_table(table, tmp_path / "p.parquet")
    rec = read_recording(str(tmp_path / "p.parquet"))
    assert len(rec.time_s) == n - 2 and np.abs(rec.xyz_g).max() == 1.0
    assert T0 + 10 / 50 not in rec.time_s and T0 + 11 / 50 in rec.time_s
    assert any(
        "2 rows with an acceleration beyond 256 g" in w and "3.174e+04 g" in w for w in rec.warnings
    )
    # 250 g is a reading (an impact sensor's range): kept
    x[[10, 500]] = [250.0, -250.0]
    pq.write_table(table.set_column(1, "x", pa.array(x)), tmp_path / "q.parquet")
    assert len(read_recording(str(tmp_path / "q.parquet")).time_s) == n


def test_a_file_of_only_impossible_accelerations_is_refused_in_one_line(tmp_path):
    path = tmp_path / "counts.csv"
    rows = [f"{T0 + i / 50:.2f},400,400,4000" for i in range(100)]  # raw counts read as g
    path.write_text("time,x,y,z\n" + "\n".join(rows) + "\n")
    with pytest.raises(InputError, match="fewer than two valid samples.*beyond 256 g"):
        read_recording(str(path), "g")


@pytest.mark.parametrize(
    "first, warned",
    [
        ("315532800.00", "1980-01-01 00:00:00 UTC: a device clock never set"),
        ("2200-01-01T00:00:00", "2200-01-01 00:00:00: a device clock never set"),
        (f"{T0:.2f}", None),
        ("2000-01-01T00:00:05+02:00", None),  # 1999 in UTC, but 2000 on its own clock
    ],
)
def test_a_clock_that_was_never_set_is_said(tmp_path, first, warned):
    """Times of 1900, 1970 or 2106 (a device's clock never set, damaged stamps) were read
    without a word, clock times and all."""
    from datetime import datetime, timedelta

    if first[0].isdigit() and "T" not in first:
        times = [f"{float(first) + i / 50:.2f}" for i in range(600)]
    else:
        start = datetime.fromisoformat(first)
        times = [(start + timedelta(seconds=i / 50)).isoformat() for i in range(600)]
    path = tmp_path / "n.csv"
    path.write_text("time,x,y,z\n" + "".join(f"{t},0,0,1\n" for t in times))
    notes = [w for w in read_recording(str(path)).warnings if "clock starts" in w]
    assert len(notes) == (0 if warned is None else 1)
    assert warned is None or warned in notes[0]
