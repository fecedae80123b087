"""A sleep window of clock times on a night across a daylight-saving change: each time is
read at the offset the zone has then. Python subtracts two datetimes of one zone as
wall-clock times, so lights on 03:15 on the spring night in Europe/Berlin came an hour
late (04:15 +02:00, past the end of the recording), with no word."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import numpy as np
import pytest

from sleepmove.cli import main
from sleepmove.reports.clock import zoned
from sleepmove.sensor.recording import CLOCK_UNIX
from sleepmove.window import parse_sleep_window

# 01:30 CET on the spring night, 00:30 UTC: the clock jumps from 02:00 to 03:00 at 01:00 UTC.
START = datetime(2025, 3, 30, 0, 30, tzinfo=timezone.utc).timestamp()
BERLIN = zoned(CLOCK_UNIX, "Europe/Berlin")


@pytest.mark.parametrize(
    "window",
    [
        "01:45,03:15",  # 00:45 UTC to 01:15 UTC: 15 to 45 minutes in
        "2025-03-30T01:45:00,2025-03-30T03:15:00",  # the same, zone-less: the zone's offsets
        "2025-03-30T01:45:00+01:00,2025-03-30T03:15:00+02:00",
        "900,2700",
    ],
)
def test_clock_times_across_the_spring_change_are_read_at_their_own_offset(window):
    assert parse_sleep_window(window, START, BERLIN) == (900.0, 2700.0)


def test_a_clock_time_after_the_change_on_the_autumn_night():
    # 01:30 CEST on 26 October (23:30 UTC the day before); the clock goes back at 01:00 UTC.
    start = datetime(2025, 10, 25, 23, 30, tzinfo=timezone.utc).timestamp()
    # 04:00 CET is 03:00 UTC: three and a half hours in, not two and a half.
    assert parse_sleep_window("01:45,04:00", start, BERLIN) == (900.0, 12600.0)


def test_analyze_keeps_the_window_it_was_given(tmp_path):
    t = np.arange(0, 3600, 0.08)  # 12.5 Hz, one real hour, 01:30 CET to 03:30 CEST, as wall clock
    local = (START + t + np.where(START + t < START + 1800, 3600, 7200)).astype("datetime64[s]")
    millis = (t * 1000 % 1000).astype(int)
    noise = np.random.default_rng(0).normal(0, 0.003, len(t))
    lines = ["time,x,y,z"] + [
        f"{stamp}.{ms:03d},{x:.4f},0.01,1.0"
        for stamp, ms, x in zip(local.astype(str), millis, noise)
    ]
    path = tmp_path / "spring.csv"
    path.write_text("\n".join(lines) + "\n")
    out = tmp_path / "out"
    argv = ["analyze", str(path), "--out", str(out), "--no-report", "--timezone", "Europe/Berlin"]
    assert main([*argv, "--sleep-window", "01:45,03:15"]) == 0
    sleep = json.loads((out / "summary.json").read_text())["sleep"]
    assert sleep["in_bed_h"] == pytest.approx(0.5, abs=1e-3)  # was 0.72: to the end


def test_a_clock_time_the_spring_change_skips_is_refused_naming_it():
    """02:30 does not exist that night: it was read as 03:30, so lights on 03:20 came a day
    later and the refusal said "lights on before lights out?"."""
    from sleepmove.base.errors import InputError

    with pytest.raises(InputError, match="02:30 is not on the clock on 2025-03-30"):
        parse_sleep_window("02:30,03:20", START, BERLIN)


def test_clocks_of_two_kinds_say_how_to_pair_them(tmp_path, capsys):
    """A .cwa (clock times without a zone) beside instants: --timezone pairs them."""
    t = np.arange(0, 900, 0.08)
    noise = np.random.default_rng(1).normal(0, 0.003, len(t))
    unix = tmp_path / "left.csv"
    unix.write_text(
        "time,x,y,z\n" + "".join(f"{START + s:.2f},{x:.4f},0,1\n" for s, x in zip(t, noise))
    )
    naive = tmp_path / "right.csv"
    stamps = (START + 3600 + t).astype("datetime64[ms]").astype(str)
    naive.write_text("time,x,y,z\n" + "".join(f"{s},{x:.4f},0,1\n" for s, x in zip(stamps, noise)))
    argv = ["analyze", "--left", str(unix), "--right", str(naive), "--out", str(tmp_path / "o")]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "different kinds of time stamps (naive, unix)" in err and "--timezone ZONE" in err


def test_a_multi_day_file_is_cut_at_noon_on_both_sides_of_the_spring_change():
    """One offset for all, from the first sample, cut the night after the change at 13:00."""
    from sleepmove.sensor.split import night_of

    moments = [  # Europe/Berlin: +01:00 until 30 March 01:00 UTC, +02:00 after
        datetime(2025, 3, 29, 10, 59, tzinfo=timezone.utc),  # 11:59+01:00: night of the 28th
        datetime(2025, 3, 29, 11, 0, tzinfo=timezone.utc),  # 12:00+01:00: night of the 29th
        datetime(2025, 3, 30, 9, 59, tzinfo=timezone.utc),  # 11:59+02:00: still the 29th's
        datetime(2025, 3, 30, 10, 0, tzinfo=timezone.utc),  # 12:00+02:00: the 30th's
    ]
    seconds = np.array([moment.timestamp() for moment in moments])
    nights = night_of(seconds, CLOCK_UNIX, 12, "Europe/Berlin")
    assert (nights - nights[0]).tolist() == [0, 1, 1, 2]


def test_a_dated_window_belongs_to_the_night_its_lights_out_falls_in():
    """Nights run noon to noon and are named by the date of the noon that opens them;
    clock times and seconds fit every night."""
    from sleepmove.window import dated_night

    assert dated_night("2025-03-15T00:35:00,2025-03-15T07:00:00") == "2025-03-14"
    assert dated_night("2025-03-15T12:00:00,2025-03-16T07:00:00") == "2025-03-15"
    assert dated_night("2025-03-15T11:59:59+01:00,2025-03-15T13:00:00") == "2025-03-14"
    assert dated_night("2025-01-01T01:00Z,2025-01-01T07:00Z") == "2024-12-31"
    # With its offset, on a Unix clock: the instant, in the zone the file's nights are cut in
    # (11:30Z is 12:30 in Berlin, the next night; read as written it was the night before).
    assert dated_night("2025-03-15T11:30Z,2025-03-15T19:00Z", "unix", "Europe/Berlin") == (
        "2025-03-15"
    )
    assert dated_night("2025-03-15T23:30+10:00,2025-03-16T06:00+10:00", "unix", "UTC") == (
        "2025-03-15"
    )
    # Local times read in a named zone (--timezone): the instant, in that zone.
    assert dated_night("2025-03-15T11:30Z,2025-03-15T19:00Z", "naive", "Europe/Berlin") == (
        "2025-03-15"
    )
    assert dated_night("23:00,07:00") is None
    assert dated_night("600,1700") is None
