"""Batch over a cohort (issue 22): the cohort's events and epochs in Parquet, equal to the
per-night CSVs; a sleep log per night; folders reached through symbolic links."""

import json
import shutil
import time

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from sleepmove.cli import main
from sleepmove.cohort import EPOCH_TYPES, EVENT_TYPES, schema_of
from sleepmove.reports.tables import EPOCH_COLUMNS, EVENT_COLUMNS
from sleepmove.sensor.simulate import simulate

TABLES = {"events": EVENT_TYPES, "epochs": EPOCH_TYPES}


@pytest.fixture(scope="module")
def nights(tmp_path_factory):
    """Three simulated recordings: two single-sensor nights and a two-leg one."""
    work = tmp_path_factory.mktemp("sims")
    simulate(str(work / "a"), hours=0.4, rate_hz=25, seed=1)
    simulate(str(work / "b"), hours=0.4, rate_hz=25, seed=2, scenario="plmd-severe")
    simulate(str(work / "two"), hours=0.4, rate_hz=25, seed=3, scenario="bilateral")
    return work


def cohort_of(nights, root, which=("a", "b", "two"), broken=True):
    root.mkdir(exist_ok=True)
    for name in which:
        if name == "two":
            (root / "pair").mkdir(exist_ok=True)
            for side in ("left", "right"):
                shutil.copy(nights / "two" / f"{side}.csv", root / "pair" / f"n3_{side}.csv")
        else:
            shutil.copy(nights / name / "night.csv", root / f"{name}.csv")
    if broken:
        (root / "broken.csv").write_text("time,x,y,z\n1,2,3\n")
    return root


def run(*args):
    return main(["batch", *map(str, args), "--no-report", "--pairs", "{night}_{side}.csv"])


def assert_tables_equal_the_csvs(out):
    nights = pd.read_csv(out / "nights.csv", keep_default_na=False)
    ok = nights.loc[nights["status"] == "ok", "id"].tolist()
    for name, types in TABLES.items():
        table = pq.read_table(out / f"{name}.parquet")
        assert table.schema.equals(schema_of(types)), table.schema  # the same types every time
        columns = EVENT_COLUMNS if name == "events" else EPOCH_COLUMNS
        assert table.column_names == ["night", *columns]
        frame = table.to_pandas()
        assert frame["night"].unique().tolist() == [n for n in ok if n in set(frame["night"])]
        for night in ok:
            csv = pd.read_csv(out / night / f"{name}.csv")
            part = frame[frame["night"] == night].drop(columns="night").reset_index(drop=True)
            assert len(part) == len(csv), (name, night)
            pd.testing.assert_frame_equal(part, csv, check_dtype=False)
        assert len(frame) == sum(len(pd.read_csv(out / n / f"{name}.csv")) for n in ok)


def test_every_column_of_the_contract_has_its_type():
    assert list(EVENT_TYPES) == EVENT_COLUMNS and list(EPOCH_TYPES) == EPOCH_COLUMNS


def test_cohort_tables_equal_the_per_night_csvs(nights, tmp_path):
    root = cohort_of(nights, tmp_path / "cohort")
    out = tmp_path / "out"
    assert run(root, "--out", out, "--workers", "2") == 1  # the broken file
    assert_tables_equal_the_csvs(out)
    events = pd.read_parquet(out / "events.parquet")
    assert set(events["night"]) == {"a", "b", "pair_n3"}  # not the broken file
    table = pq.read_table(out / "events.parquet")
    assert table.column("series").type == pa.int64() and table.column("clm").type == pa.bool_()
    # the missing values of the CSVs are nulls (one unnamed sensor has no side)
    single = table.filter(pc.equal(table.column("night"), "a"))
    assert single.column("side").null_count == single.num_rows


def test_a_rerun_that_adds_nights_rewrites_the_tables(nights, tmp_path):
    root = cohort_of(nights, tmp_path / "cohort", which=("a",), broken=False)
    out = tmp_path / "out"
    assert run(root, "--out", out, "--workers", "1") == 0
    first = pq.read_table(out / "events.parquet")
    assert set(first.column("night").to_pylist()) == {"a"}
    cohort_of(nights, root, which=("b", "two"), broken=False)
    assert run(root, "--out", out, "--workers", "2") == 0
    assert json.loads((out / "batch.json").read_text())["counts"]["skipped"] == 1
    assert_tables_equal_the_csvs(out)
    again = pq.read_table(out / "events.parquet")
    assert (
        again.filter(pc.equal(again.column("night"), "a"))
        .drop(["night"])
        .equals(first.drop(["night"]))
    )
    assert not [p.name for p in out.iterdir() if p.name.startswith(".partial")]


def test_shards_write_no_cohort_table_and_the_final_pass_does(nights, tmp_path):
    root = cohort_of(nights, tmp_path / "cohort", broken=False)
    out = tmp_path / "out"
    for k in ("1/2", "2/2"):
        run(root, "--out", out, "--workers", "1", "--shard", k)
    assert not (out / "events.parquet").exists() and not (out / "epochs.parquet").exists()
    assert run(root, "--out", out, "--workers", "1") == 0
    assert json.loads((out / "batch.json").read_text())["counts"]["analyzed"] == 0
    assert_tables_equal_the_csvs(out)


@pytest.mark.parametrize("reader", ["polars", "duckdb"])
def test_other_readers_read_the_tables_in_one_line(nights, tmp_path, reader):
    module = pytest.importorskip(reader)
    root = cohort_of(nights, tmp_path / "cohort", which=("a",), broken=False)
    out = tmp_path / "out"
    run(root, "--out", out, "--workers", "1")
    path = str(out / "events.parquet")
    if reader == "polars":
        rows = module.read_parquet(path).height
    else:
        rows = module.sql(f"select count(*) from '{path}'").fetchone()[0]
    assert rows == len(pd.read_csv(out / "a" / "events.csv"))


def sleep_log(path, *rows):
    path.write_text("\n".join(["night,lights_out,lights_on", *rows]) + "\n")
    return path


def summary_of(out, night):
    return json.loads((out / night / "summary.json").read_text())


def test_a_sleep_log_gives_some_nights_their_window(nights, tmp_path, capsys):
    root = cohort_of(nights, tmp_path / "cohort", broken=False)
    out = tmp_path / "out"
    # "a" by its id, the pair by one of its files; "b" is not in the log; "gone" is nowhere
    log = sleep_log(tmp_path / "log.csv", "a,300,1200", "n3_left.csv,120,1300", "gone,1,2")
    assert run(root, "--out", out, "--workers", "2", "--sleep-log", log) == 0
    assert "1 entry names no night found ('gone')" in capsys.readouterr().err
    table = pd.read_csv(out / "nights.csv", keep_default_na=False).set_index("id")
    assert table["sleep_source"].to_dict() == {"a": "given", "b": "estimated", "pair_n3": "given"}
    for night, (start, end) in {"a": (300, 1200), "pair_n3": (120, 1300)}.items():
        sleep = summary_of(out, night)["sleep"]
        assert sleep["source"] == "given" and sleep["total_sleep_h"] <= (end - start) / 3600
    assert summary_of(out, "b")["sleep"]["source"] == "estimated"
    assert json.loads((out / "batch.json").read_text())["parameters"]["sleep_log"] == str(log)
    # A rerun redoes exactly the nights whose window changed: here "a" only (the log now
    # written by a spreadsheet in a European locale).
    log.write_text("\ufeffnight;Lights out;Lights on\na;400;1200\nn3_left.csv;120;1300\n")
    assert run(root, "--out", out, "--workers", "1", "--sleep-log", log) == 0
    counts = json.loads((out / "batch.json").read_text())["counts"]
    assert counts["analyzed"] == 1 and counts["skipped"] == 2
    # Without the log, the logged nights go back to the estimate (and are redone).
    assert run(root, "--out", out, "--workers", "1") == 0
    assert json.loads((out / "batch.json").read_text())["counts"]["analyzed"] == 2
    table = pd.read_csv(out / "nights.csv", keep_default_na=False)
    assert set(table["sleep_source"]) == {"estimated"}
    assert_tables_equal_the_csvs(out)


@pytest.mark.parametrize(
    "text, says",
    [
        ("night,lights_out\na,23:00\n", "no column lights_on (line 1)"),
        ("night,lights_out,lights_on\na,23:00,25:10\n", "not a clock time: '25:10' (line 2)"),
        (
            "night,lights_out,lights_on\na,23:00,\n",
            "no lights on (line 2); expected each line's night, lights out and lights on",
        ),
        ("night,lights_out,lights_on\n\nn1,,07:00\n", "no lights out (line 3)"),
        (
            "id,lights_out,lights_on\na,1,2\na,3,4\n",
            "'a' again (first on line 2) (line 3); expected each night once",
        ),
        (
            "file,lights_out,lights_on\na,2025-03-15T23:00,2025-03-15T22:00\n",
            "is not after",
        ),
        ("night,lights_out,lights_on\na.csv,1,2\na,1,2\n", "names a night given before"),
        (
            "night,lights_out,lights_on\na,23:00,22:00\n",  # was read as 23 hours in bed
            "lights on 22:00 comes 23 h after lights out 23:00: lights on before lights out? "
            "(line 2)",
        ),
    ],
)
def test_a_bad_sleep_log_stops_the_batch_before_any_night(nights, tmp_path, capsys, text, says):
    root = cohort_of(nights, tmp_path / "cohort", which=("a",), broken=False)
    log = tmp_path / "log.csv"
    log.write_text(text)
    out = tmp_path / "out"
    assert run(root, "--out", out, "--sleep-log", log) == 2
    err = capsys.readouterr().err
    assert says in err and len(err.strip().splitlines()) == 1, err
    assert not out.exists() or not list(out.iterdir())


@pytest.fixture
def utc(monkeypatch):
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def two_evenings(nights, tmp_path):
    """A folder holding week.csv: nights a and b as two evenings 30 h apart (batch splits
    it), from 2025-03-14 18:00 and 2025-03-16 00:30 UTC."""
    root = tmp_path / "multi"
    root.mkdir()
    noon = 1_741_953_600.0  # 2025-03-14 12:00 UTC
    frames = []
    for name, start in (("a", noon + 6 * 3600), ("b", noon + 36.5 * 3600)):
        frame = pd.read_csv(nights / name / "night.csv")
        frame["time"] = frame["time"] - frame["time"].iloc[0] + start
        frames.append(frame)
    pd.concat(frames).to_csv(root / "week.csv", index=False, float_format="%.4f")
    return root


def test_a_sleep_log_names_the_nights_of_a_multi_day_file(nights, tmp_path, utc):
    """Two evenings in one file, 30 h apart (so batch splits it): one logged, one not."""
    root = two_evenings(nights, tmp_path)
    out = tmp_path / "out"
    log = sleep_log(tmp_path / "log.csv", "week/2025-03-15,00:35,00:50")
    assert run(root, "--out", out, "--workers", "1", "--sleep-log", log) == 0
    table = pd.read_csv(out / "nights.csv", keep_default_na=False).set_index("id")
    assert table["sleep_source"].to_dict() == {
        "week/2025-03-14": "estimated",
        "week/2025-03-15": "given",
    }
    sleep = summary_of(out, "week/2025-03-15")["sleep"]
    assert 0 < sleep["total_sleep_h"] <= 0.25
    assert_tables_equal_the_csvs(out)


def test_a_dated_window_naming_a_multi_day_file_whole_is_the_night_it_falls_in(
    nights, tmp_path, utc
):
    """A log entry naming the file whole, with dates, gave its window to every night of it:
    the night it does not fall in was an error row ('starts after the recording ends')."""
    root = two_evenings(nights, tmp_path)
    out = tmp_path / "out"
    log = sleep_log(tmp_path / "log.csv", "week.csv,2025-03-16T00:35:00,2025-03-16T00:50:00")
    assert run(root, "--out", out, "--workers", "1", "--sleep-log", log) == 0
    table = pd.read_csv(out / "nights.csv", keep_default_na=False).set_index("id")
    assert table["status"].to_dict() == {"week/2025-03-14": "ok", "week/2025-03-15": "ok"}
    assert table["sleep_source"].to_dict() == {
        "week/2025-03-14": "estimated",
        "week/2025-03-15": "given",
    }
    assert 0 < summary_of(out, "week/2025-03-15")["sleep"]["total_sleep_h"] <= 0.25


def test_a_dated_window_naming_a_multi_day_file_on_no_night_of_it_is_refused_by_each(
    nights, tmp_path, utc
):
    """A date the file does not hold (a typo) is not dropped in silence: each night refuses
    it, as a file of one night does."""
    root = two_evenings(nights, tmp_path)
    out = tmp_path / "out"
    log = sleep_log(tmp_path / "log.csv", "week.csv,2025-03-19T22:00:00,2025-03-20T06:00:00")
    assert run(root, "--out", out, "--workers", "1", "--sleep-log", log) == 1
    table = pd.read_csv(out / "nights.csv", keep_default_na=False)
    assert table["status"].tolist() == ["error", "error"]
    assert table["error"].str.contains("starts after the recording ends").all()


def test_folders_reached_through_links_are_searched_and_a_loop_is_not_followed(
    nights, tmp_path, capsys
):
    real = cohort_of(nights, tmp_path / "real", which=("a", "two"), broken=False)
    elsewhere = cohort_of(nights, tmp_path / "elsewhere", which=("b",), broken=False)
    root = tmp_path / "links"
    (root / "site").mkdir(parents=True)
    (root / "site" / "one").symlink_to(real, target_is_directory=True)
    (root / "site" / "two").symlink_to(elsewhere, target_is_directory=True)
    (real / "loop").symlink_to(root, target_is_directory=True)  # real/loop/site/one = real
    (root / "site" / "again.csv").symlink_to(real / "a.csv")  # the same recording again
    (root / "zalias").symlink_to(root / "site", target_is_directory=True)  # the loop again
    out = tmp_path / "out"
    assert run(root, "--out", out, "--workers", "2") == 0
    err = capsys.readouterr().err
    loops = [line for line in err.splitlines() if "link loop" in line]
    assert len(loops) == 1 and "not followed" in loops[0], err
    table = pd.read_csv(out / "nights.csv", keep_default_na=False)
    assert table["id"].tolist() == ["site_one_a", "site_one_pair_n3", "site_two_b"]
    assert table["status"].eq("ok").all()
    assert_tables_equal_the_csvs(out)


def test_nights_csv_is_written_as_pandas_wrote_it():
    """The batch process writes nights.csv without pandas (its import delayed every batch's
    first night): the same bytes as `pandas.DataFrame(rows).to_csv`."""
    import numpy as np

    from sleepmove.batch import ROW_COLUMNS
    from sleepmove.batch_command import nights_csv

    ok = {
        "id": "b",
        "inputs": 'left=x, "y".csv; right=z.csv',
        "start": "2025-03-15T22:55:59.999+00:00",
        "duration_h": 8,
        "total_sleep_h": 0.1 + 0.2,
        "sleep_source": "given",
        "plm_index": np.float64(1e-05),
        "plmw_index": 1e16,
        "periodicity_index": None,
        "jerk_rate_per_min": np.int64(3),
        "alternation_index": None,
        "data_loss_h": 0.0,
        "status": "ok",
        "error": "",
        "seconds": 1.5,
    }
    error = {"id": "a", "inputs": "a.csv", "status": "error", "error": "a.csv: bad,\nline"}
    skipped = {"id": "c/2025-03-14", "inputs": "c.csv [x]", "status": "skipped", "error": "n"}
    whole = dict(ok, id="d", duration_h=7, jerk_rate_per_min=np.int64(2), seconds=2)
    for rows in ([ok, error, skipped], [ok, whole], [whole], [error], []):
        rows = [row | {"seconds": row.get("seconds", 0.25)} for row in rows]
        expected = pd.DataFrame(rows, columns=ROW_COLUMNS).sort_values("id")
        text = expected.to_csv(index=False, lineterminator="\n")
        assert nights_csv(sorted(rows, key=lambda row: row["id"])) == text, rows


def test_the_batch_process_never_imports_pandas(nights, tmp_path):
    """Its import was 0.3 s of CPU before the first night could start (issue 22.1)."""
    import subprocess
    import sys

    root = cohort_of(nights, tmp_path / "cohort", which=("a",), broken=False)
    script = (
        "import sys; from sleepmove.cli import main; "
        f"code = main(['batch', {str(root)!r}, '--out', {str(tmp_path / 'out')!r}, "
        "'--no-report', '--workers', '2']); print('pandas' in sys.modules, code)"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.stdout.split()[-2:] == ["False", "0"], done.stderr
    assert (tmp_path / "out" / "events.parquet").exists()


def test_a_nights_id_stays_when_another_input_folder_is_added(nights, tmp_path, capsys):
    """Ids were paths below the common folder of all inputs: adding site_b to a rerun of
    site_a renamed every night of site_a (site_a_a), analyzed it again and left the old
    folders for the report to count twice."""
    (tmp_path / "cohort").mkdir()
    site_a = cohort_of(nights, tmp_path / "cohort" / "site_a", which=("a",), broken=False)
    site_b = cohort_of(nights, tmp_path / "cohort" / "site_b", which=("b",), broken=False)
    out = tmp_path / "out"
    assert run(site_a, "--out", out, "--workers", "1") == 0
    assert run(site_a, site_b, "--out", out, "--workers", "1") == 0
    table = pd.read_csv(out / "nights.csv", keep_default_na=False)
    assert table["id"].tolist() == ["a", "b"]
    # (and the batch's hidden lock folder, no night)
    folders = [p.name for p in out.iterdir() if p.is_dir() and not p.name.startswith(".")]
    assert sorted(folders) == ["a", "b"]
    # the folder holding both names them by their paths below it
    assert run(tmp_path / "cohort", "--out", tmp_path / "whole", "--workers", "1") == 0
    whole = pd.read_csv(tmp_path / "whole" / "nights.csv", keep_default_na=False)
    assert whole["id"].tolist() == ["site_a_a", "site_b_b"]


def test_one_name_in_two_input_folders_is_refused_with_the_way_on(nights, tmp_path, capsys):
    site_a = cohort_of(nights, tmp_path / "site_a", which=("a",), broken=False)
    site_b = tmp_path / "site_b"
    site_b.mkdir()
    shutil.copy(site_a / "a.csv", site_b / "a.csv")
    assert run(site_a, site_b, "--out", tmp_path / "out") == 2
    err = capsys.readouterr().err.strip()
    assert "gives the night id 'a'" in err and "the folder holding both" in err
    assert len(err.splitlines()) == 1
