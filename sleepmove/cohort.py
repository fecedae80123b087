"""Cohort tables: every night's events.csv and epochs.csv in one Parquet file each.

`DIR/events.parquet` and `DIR/epochs.parquet` hold one row per event or epoch of every
night that finished ok, with the night's id in the first column (`night`, as `id` in
nights.csv), then the per-night columns of the output contract (reports.tables; a test holds
the two lists equal), in the same order, with fixed Arrow types (below): a cohort of nights
that happen to have no series or no second leg still reads with the same schema. An empty
CSV field is a null.

They are built from the per-night folders themselves, so that they always say exactly what
those say, whichever run (or worker, or cluster node) wrote each night.
"""

from __future__ import annotations

import os
import sys
import tempfile

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from sleepmove.base.atomic import publishable

NIGHT_COLUMN = "night"
EVENT_TYPES: dict[str, pa.DataType] = {
    "onset_s": pa.float64(),
    "onset": pa.string(),  # ISO-8601 with the night's own offset; null without a clock
    "duration_s": pa.float64(),
    "kind": pa.string(),
    "side": pa.string(),  # null for a single unnamed sensor
    "clm": pa.bool_(),
    "periodic": pa.bool_(),
    "asleep": pa.bool_(),
    "series": pa.int64(),  # null when not periodic
    "peak_g": pa.float64(),
    "imi_s": pa.float64(),
    "parts": pa.int64(),
    "hypnic": pa.bool_(),
    "rotation_deg": pa.float64(),
}
EPOCH_TYPES: dict[str, pa.DataType] = {
    "start_s": pa.float64(),
    "asleep": pa.bool_(),
    "p_sleep": pa.float64(),
    "in_bed": pa.bool_(),
    "jerks": pa.int64(),
    "lms": pa.int64(),
    "plms": pa.int64(),
    "activity": pa.float64(),
    "data_loss_s": pa.float64(),
}
TABLES = {"events": EVENT_TYPES, "epochs": EPOCH_TYPES}
ROWS_PER_GROUP = 262_144  # a row group holds many nights: readers skip tiny groups badly


def schema_of(types: dict[str, pa.DataType]) -> pa.Schema:
    return pa.schema(
        [pa.field(NIGHT_COLUMN, pa.string(), nullable=False)]
        + [pa.field(name, kind) for name, kind in types.items()]
    )


def read_night_table(path: str, types: dict[str, pa.DataType]) -> pa.Table:
    """One night's events.csv or epochs.csv with the contract's types (empty field: null)."""
    with open(path, encoding="utf-8") as handle:
        header = handle.readline().rstrip("\n").split(",")
    if header != list(types):
        raise ValueError(f"{path}: columns {header}, expected {list(types)}")
    with open(path, "rb") as handle:  # Arrow cannot open a path that is not UTF-8 itself
        return pacsv.read_csv(
            handle,
            read_options=pacsv.ReadOptions(use_threads=False),  # a few kB: threads cost more
            convert_options=pacsv.ConvertOptions(
                column_types=types,
                true_values=["true"],
                false_values=["false"],
                null_values=[""],
                strings_can_be_null=True,
                quoted_strings_can_be_null=False,
            ),
        )


def _repeated(text: str, count: int) -> pa.Array:
    """`text` `count` times as an Arrow string array, built from its buffers: pa.array would
    import pandas (0.3 s of CPU in a batch that needs none)."""
    data = text.encode("utf-8")
    offsets = np.arange(count + 1, dtype=np.int32) * len(data)
    return pa.StringArray.from_buffers(count, pa.py_buffer(offsets), pa.py_buffer(data * count))


def write_cohort_tables(out_dir: str, night_ids: list[str]) -> set[str]:
    """events.parquet and epochs.parquet for these nights (each under `out_dir/<id>/`), in
    this order; each written to a temporary name and renamed.

    A night whose CSV is missing or not in the contract is left out with a warning line;
    those nights are returned."""
    left_out: set[str] = set()
    for name, types in TABLES.items():
        _write_one(out_dir, name, types, night_ids, left_out)
    return left_out


def _write_one(
    out_dir: str,
    name: str,
    types: dict[str, pa.DataType],
    nights: list[str],
    left_out: set[str],
) -> int:
    schema = schema_of(types)
    handle, temporary = tempfile.mkstemp(dir=out_dir, prefix=f".partial-{name}-")
    os.close(handle)
    rows = 0
    try:
        # through a file object: Arrow cannot open a path that is not UTF-8 (an --out so named)
        with open(temporary, "wb") as sink, pq.ParquetWriter(sink, schema) as writer:
            pending: list[pa.Table] = []
            pending_rows = 0
            for night in nights:  # a loop over nights
                path = os.path.join(out_dir, night, f"{name}.csv")
                try:
                    table = read_night_table(path, types)
                except (OSError, ValueError, pa.ArrowInvalid) as error:
                    warning = (
                        f"{name}.parquet leaves out {night}: {error}; the night is analyzed "
                        "again on the next run"
                    )
                    print(f"sleepmove: warning: {warning}", file=sys.stderr)
                    left_out.add(night)
                    continue
                column = _repeated(night, table.num_rows)
                pending.append(table.add_column(0, schema.field(0), column))
                pending_rows += table.num_rows
                if pending_rows >= ROWS_PER_GROUP:
                    writer.write_table(pa.concat_tables(pending), row_group_size=pending_rows)
                    rows += pending_rows
                    pending, pending_rows = [], 0
            if pending_rows:  # nights without events: the file holds the schema alone
                writer.write_table(pa.concat_tables(pending), row_group_size=pending_rows)
                rows += pending_rows
        descriptor = os.open(temporary, os.O_RDONLY)
        try:
            os.fsync(descriptor)  # on disk before the rename, as base.atomic does
        finally:
            os.close(descriptor)
        publishable(temporary)
        os.replace(temporary, os.path.join(out_dir, f"{name}.parquet"))
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise
    return rows
