"""Multi-day files in batch (issue 18: 9, 17): a stub noon-to-noon slice is skipped with a note,
a rerun re-splits nothing, and each night gets its own share of the file's time."""

import time

import numpy as np
import pandas as pd
import pytest

import sleepmove.sensor.split
from sleepmove.cli import main
from sleepmove.sensor.simulate import simulate


@pytest.fixture
def utc(monkeypatch):
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.fixture
def stub_file(tmp_path, utc):
    """6 minutes before noon on day 0 (a stub of the night before), then two 24-minute
    evenings: 30.5 h in all, so batch splits it."""
    work, cohort = tmp_path / "sims", tmp_path / "multi"
    cohort.mkdir()
    noon = 1_741_953_600.0  # 2025-03-14 12:00 UTC
    frames = []
    for index, (start, hours) in enumerate(
        [(noon - 480, 0.1), (noon + 6 * 3600, 0.4), (noon + 30 * 3600, 0.4)]
    ):
        simulate(str(work / str(index)), hours=hours, rate_hz=25, seed=20 + index)
        frame = pd.read_csv(work / str(index) / "night.csv")
        frame["time"] = frame["time"] - frame["time"].iloc[0] + start
        frames.append(frame[frame["time"] < noon] if index == 0 else frame)
    pd.concat(frames).to_csv(cohort / "week.csv", index=False, float_format="%.4f")
    return cohort


def nights(out):
    return pd.read_csv(out / "nights.csv", keep_default_na=False)


def test_a_stub_slice_is_skipped_with_a_note_and_the_rerun_splits_nothing(
    stub_file, tmp_path, capsys, monkeypatch
):
    out = tmp_path / "out"
    assert main(["batch", str(stub_file), "--out", str(out), "--workers", "1"]) == 0
    table = nights(out)
    assert table["status"].tolist() == ["skipped", "ok", "ok"]
    note = table["error"].iloc[0]
    assert "week.csv [2025-03-13]" in note and "min" in note and "parts" not in note
    assert "1 skipped" in capsys.readouterr().out

    def no_split(*args, **kwargs):
        raise AssertionError("a finished multi-day file was split again")

    monkeypatch.setattr(sleepmove.sensor.split, "split_nights", no_split)
    started = time.perf_counter()
    assert main(["batch", str(stub_file), "--out", str(out), "--workers", "1"]) == 0
    assert time.perf_counter() - started < 5.0
    assert "1 of 1 nights already done" in capsys.readouterr().out
    assert nights(out)["status"].tolist() == ["skipped", "ok", "ok"]


def test_each_night_of_a_split_file_has_its_own_seconds(stub_file, tmp_path):
    out = tmp_path / "out"
    started = time.perf_counter()
    assert main(["batch", str(stub_file), "--out", str(out), "--workers", "1"]) == 0
    wall = time.perf_counter() - started
    seconds = nights(out)["seconds"].tolist()
    assert seconds[0] < seconds[1] and seconds[0] < seconds[2]  # the stub: a few samples
    assert sum(seconds) <= wall + 0.1  # shares of the file's time, not copies of it


def test_a_csv_whose_times_state_an_offset_is_split_at_its_noon_and_keeps_it(tmp_path, utc):
    """On a computer in UTC, times written at +10:00 were cut at UTC noon (22:00 local, in
    the middle of a night) and each night's part lost the offset: shown in UTC."""
    from datetime import datetime, timedelta, timezone

    from sleepmove.sensor.readers import read_recording
    from sleepmove.sensor.split import split_nights

    local = timezone(timedelta(hours=10))
    start = datetime(2025, 4, 25, 20, 0, tzinfo=local).timestamp()  # 10:00 UTC
    seconds = start + np.arange(0, 40 * 3600, 2.0)  # to 12:00 local two days on
    rows = [
        f"{datetime.fromtimestamp(s, local).isoformat(timespec='milliseconds')},0.0{i % 5},0,1"
        for i, s in enumerate(seconds)
    ]
    (tmp_path / "two.csv").write_text("time,x,y,z\n" + "\n".join(rows) + "\n")
    parts = split_nights(str(tmp_path / "two.csv"), str(tmp_path / "parts"))
    assert [part.night for part in parts] == ["2025-04-25", "2025-04-26"]
    assert parts[1].first_s == datetime(2025, 4, 26, 12, 0, tzinfo=local).timestamp()
    assert [read_recording(part.path).timezone for part in parts] == ["+10:00", "+10:00"]


def test_a_whole_file_window_on_the_skipped_stub_is_refused_by_every_night(stub_file, tmp_path):
    """The stub (the 6 minutes before noon on 03-14, the night of 03-13) is skipped: a
    window given for the whole file that falls on it was dropped by every night in silence."""
    out = tmp_path / "out"
    window = "2025-03-14T11:52:00,2025-03-14T11:58:00"
    argv = ["batch", str(stub_file), "--out", str(out), "--workers", "1"]
    assert main([*argv, "--sleep-window", window]) == 1
    table = nights(out)
    assert table["status"].tolist() == ["skipped", "error", "error"]
    assert table["error"][1:].str.contains("ends before the recording starts").all()


def test_a_multi_day_european_csv_is_split_as_it_is_read(tmp_path, utc):
    """A ';' CSV with decimal commas was looked at with ',': its span was unreadable, so it
    was never split, and the night was refused as too long, telling the user to run batch."""
    from sleepmove.sensor.readers import read_recording
    from sleepmove.sensor.split import recording_span_h, split_nights

    start = np.datetime64("2025-03-25T20:00:00")
    seconds = np.arange(0, 40 * 3600, 2)
    stamps = (start + seconds.astype("timedelta64[s]")).astype(str)
    rows = [f"{stamp};0,0{i % 5};-0,01;0,998" for i, stamp in enumerate(stamps)]
    path = tmp_path / "eu.csv"
    path.write_text("time;x;y;z\n" + "\n".join(rows) + "\n")
    assert recording_span_h(str(path)) == pytest.approx(40.0, abs=0.1)  # (was 0)
    parts = split_nights(str(path), str(tmp_path / "parts"))
    assert [(part.night, part.samples) for part in parts] == [
        ("2025-03-25", 16 * 1800),
        ("2025-03-26", 24 * 1800),
    ]
    first = read_recording(parts[0].path)
    assert first.xyz_g[1, 0] == pytest.approx(0.01) and first.xyz_g[0, 2] == pytest.approx(0.998)


def test_a_split_device_files_nights_keep_its_warnings_and_name_it(tmp_path, utc):
    """The nights of a multi-day .cwa lost what reading the file said (a damaged block left
    out), and their summaries named the slice, a temporary copy deleted after."""
    import json

    from tests.test_formats import cwa_bytes, cwa_time

    rng = np.random.default_rng(5)

    def block():  # 1 s at 25 Hz (below), at rest with a little noise; 1 g is 256
        return (np.array([0, 0, 256]) + rng.normal(0, 1, (25, 3))).astype(np.int16)

    stamps = []
    for day, first_hour in ((1, 11), (2, 20)):  # 15 min before noon, 30 min the next evening
        start = first_hour * 3600 + (45 * 60 if day == 1 else 0)
        seconds = range(start, start + (15 if day == 1 else 30) * 60)
        stamps += [(day, s // 3600, s // 60 % 60, s % 60) for s in seconds]
    data = bytearray(cwa_bytes([(cwa_time(2024, 1, *stamp), block()) for stamp in stamps]))
    blocks = np.frombuffer(data, np.uint8, offset=1024).reshape(-1, 512).copy()
    blocks[:, 24] = 0x48  # 25 Hz: 3200 / 2 ** (15 - 8)
    words = blocks.view("<u2")
    words[:, -1] = 0
    words[:, -1] = (-words[:, :-1].sum(axis=1, dtype=np.int64)) & 0xFFFF  # sums to 0 again
    data[1024:] = blocks.tobytes()
    data[1024 + 100 * 512 + 40] ^= 0xFF  # one block's checksum broken
    cohort = tmp_path / "cohort"
    cohort.mkdir()
    (cohort / "week.cwa").write_bytes(bytes(data))
    out = tmp_path / "out"
    assert main(["batch", str(cohort), "--out", str(out), "--no-report"]) == 0
    table = nights(out)
    assert list(table["status"]) == ["ok", "ok"], table["error"].tolist()
    for night in ("2023-12-31", "2024-01-02"):
        summary = json.loads((out / "week" / night / "summary.json").read_text())
        assert summary["recording"]["files"] == {"single": str(cohort / "week.cwa")}
        warned = [w for w in summary["quality"]["warnings"] if "damaged data blocks" in w]
        assert len(warned) == 1 and warned[0].startswith("week.cwa (the whole file): ")


def test_an_error_in_a_split_night_names_the_file_and_its_night(stub_file, tmp_path):
    """Errors raised as a slice was analyzed named the file alone once its recording was
    named by the file it came from: which night failed went unsaid."""
    settings = tmp_path / "q.toml"
    settings.write_text("[quality]\nmin_rate_hz = 30\n")
    out = tmp_path / "out"
    argv = ["batch", str(stub_file), "--out", str(out), "--config", str(settings)]
    assert main([*argv, "--no-report"]) == 1
    errors = nights(out).query("status == 'error'")["error"].tolist()
    assert errors and all(
        error.startswith(f"{stub_file / 'week.csv'} [2025-03-") and "too low" in error
        for error in errors
    ), errors


def test_a_multi_day_csv_a_power_cut_left_zeros_after_is_split(tmp_path, utc):
    """Zeros after the text (a logger's reserved file) read as the last line: the span came
    out 0 and the file was refused as several nights, naming batch, the command run."""
    from sleepmove.sensor.split import recording_span_h, split_nights

    start = 1_742_932_800.0  # 2025-03-25T20:00:00 UTC
    seconds = np.arange(0, 40 * 3600, 2)
    rows = [f"{start + s:.1f},0.0{i % 5},-0.01,0.998" for i, s in enumerate(seconds)]
    path = tmp_path / "padded.csv"
    path.write_bytes(("time,x,y,z\n" + "\n".join(rows) + "\n").encode() + b"\0" * 200_000)
    assert recording_span_h(str(path)) == pytest.approx(40.0, abs=0.1)
    parts = split_nights(str(path), str(tmp_path / "parts"))
    assert [(part.night, part.samples) for part in parts] == [
        ("2025-03-25", 16 * 1800),
        ("2025-03-26", 24 * 1800),
    ]
