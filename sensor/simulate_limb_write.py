"""The limb family's CSV writer: rows as the sensor's app would export them (fast: pyarrow)."""

from __future__ import annotations

import gzip
import io

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv

from sleepmove.base.atomic import write_file
from sleepmove.sensor.simulate_limb_sensor import SensorModel


def time_column(model: SensorModel, unix: np.ndarray) -> pa.Array:
    """Stamps in the sensor's format: Unix seconds (ms decimals), Unix ms, or ISO 8601 with
    the phone's zone offset."""
    if model.time_format == "unix_s":
        return pa.array(np.round(unix, 3))
    millis = np.round(unix * 1000).astype(np.int64)
    if model.time_format == "unix_ms":
        return pa.array(millis)
    if model.zone == "Z":
        shift, suffix = 0, "Z"
    else:
        sign = 1 if model.zone[0] == "+" else -1
        hours, minutes = model.zone[1:].split(":")
        shift, suffix = sign * (int(hours) * 3600 + int(minutes) * 60) * 1000, model.zone
    text = np.datetime_as_string((millis + shift).astype("datetime64[ms]"), unit="ms")
    return pc.binary_join_element_wise(pa.array(text), pa.scalar(suffix), "")


def write_csv(
    path: str,
    model: SensorModel,
    unix: np.ndarray,
    values: np.ndarray,
    celsius: np.ndarray,
    compress: bool,
) -> None:
    columns = {model.columns[0]: time_column(model, unix)}
    for axis, name in enumerate(model.columns[1:4]):  # a loop over the three axes
        columns[name] = pa.array(values[:, axis])
    if "temperature" in model.columns:
        columns["temperature"] = pa.array(np.round(celsius * 8) / 8)  # a 1/8 degree sensor
    buffer = io.BytesIO()
    buffer.write((",".join(model.columns) + "\n").encode())
    pcsv.write_csv(
        pa.table(columns), buffer, pcsv.WriteOptions(include_header=False, quoting_style="none")
    )
    data = buffer.getvalue()
    write_file(path, gzip.compress(data, compresslevel=5, mtime=0) if compress else data)
