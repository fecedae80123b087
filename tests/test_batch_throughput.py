"""Batch throughput (issue 22): a night read once for its span and its analysis."""


def test_a_parquet_night_is_read_once_for_its_span_and_its_analysis(tmp_path, monkeypatch):
    # The span's quick look decoded the whole file, then the analysis again.
    import pandas as pd

    from sleepmove import batch, pipeline
    from sleepmove.cli import main
    from sleepmove.sensor.simulate import simulate

    simulate(str(tmp_path / "sim"), hours=0.4, rate_hz=25, seed=1)
    (tmp_path / "in").mkdir()
    pd.read_csv(tmp_path / "sim" / "night.csv").to_parquet(tmp_path / "in" / "n.parquet")

    def twice(*args):
        raise AssertionError("read a second time")

    monkeypatch.setattr(batch, "_span_h", twice)
    monkeypatch.setattr(pipeline, "read_recording", twice)
    out = tmp_path / "out"
    argv = ["batch", str(tmp_path / "in"), "--out", str(out), "--workers", "1", "--no-report"]
    assert main(argv) == 0
    assert list(pd.read_csv(out / "nights.csv").status) == ["ok"]


def test_a_csv_gz_is_never_read_whole_for_its_span(tmp_path):
    # A week's .csv.gz read whole would hold all of it: its span is streamed instead.
    from sleepmove.batch import _read_whole
    from sleepmove.sensor.simulate import simulate

    truth = simulate(str(tmp_path), hours=0.4, rate_hz=25, seed=1, compress=True)
    assert _read_whole(str(tmp_path / truth["files"]["single"]), {}, None) is None


def test_a_gzipped_multi_day_file_is_still_split_into_nights(tmp_path, monkeypatch):
    # Its span streamed: the quick look and the split decide, as before.
    import time

    import pandas as pd

    from sleepmove.cli import main
    from sleepmove.sensor.simulate import simulate

    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    try:
        noon = 1_741_953_600.0  # 2025-03-14 12:00 UTC
        frames = []
        for index, (start, hours) in enumerate([(noon + 6 * 3600, 0.4), (noon + 54 * 3600, 0.4)]):
            simulate(str(tmp_path / str(index)), hours=hours, rate_hz=25, seed=20 + index)
            frame = pd.read_csv(tmp_path / str(index) / "night.csv")
            frame["time"] = frame["time"] - frame["time"].iloc[0] + start
            frames.append(frame)
        (tmp_path / "in").mkdir()
        whole = pd.concat(frames)
        whole.to_csv(tmp_path / "in" / "week.csv.gz", index=False, float_format="%.4f")
        out = tmp_path / "out"
        argv = ["batch", str(tmp_path / "in"), "--out", str(out), "--workers", "1", "--no-report"]
        assert main(argv) == 0
        nights = pd.read_csv(out / "nights.csv", keep_default_na=False)
        assert list(nights.id) == ["week/2025-03-14", "week/2025-03-16"]
        assert list(nights.status) == ["ok", "ok"]
    finally:
        monkeypatch.undo()
        time.tzset()
