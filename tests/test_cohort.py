"""Batch over a cohort (issue 22): the cohort's events and epochs in Parquet, equal to the
per-night CSVs; a sleep log per night; folders reached through symbolic links."""

import json
import shutil

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from reports.tables import EPOCH_COLUMNS, EVENT_COLUMNS
from sensor.simulate import simulate
from sleepmove.cli import main
from sleepmove.cohort import EPOCH_TYPES, EVENT_TYPES, schema_of

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
