"""Equal-length numpy columns by name: how events travel through detection without pandas.

Importing pandas costs about a third of a second of CPU, as much as parsing a night's CSV,
and detection needs nothing from it that numpy lacks. Reports that want pandas call
`to_pandas()`; functions that take a table also accept a pandas DataFrame (`Table.of`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import numpy as np


class Table:
    """Columns of one length. Text columns are kept as object arrays: a fixed-width numpy
    string column would silently cut a longer value written into it."""

    def __init__(self, columns: Mapping[str, Any] | None = None) -> None:
        self._columns: dict[str, np.ndarray] = {}
        for name, values in (columns or {}).items():
            self[name] = values

    @classmethod
    def of(cls, frame: Any) -> Table:
        """A Table, or any frame with `columns` and `frame[name]` (a pandas DataFrame)."""
        if isinstance(frame, Table):
            return frame
        return cls({name: np.asarray(frame[name]) for name in frame.columns})

    @property
    def columns(self) -> list[str]:
        return list(self._columns)

    def __len__(self) -> int:
        return len(next(iter(self._columns.values()))) if self._columns else 0

    def __contains__(self, name: object) -> bool:
        return name in self._columns

    def __getitem__(self, key: Any) -> Any:
        """A column by name; a Table of the named columns (a list); a Table of the rows
        selected by a boolean mask or by row numbers (an array)."""
        if isinstance(key, str):
            return self._columns[key]
        if isinstance(key, list) and all(isinstance(name, str) for name in key):
            return Table({name: self._columns[name] for name in key})
        rows = np.asarray(key)
        return Table({name: values[rows] for name, values in self._columns.items()})

    def __setitem__(self, name: str, values: Any) -> None:
        """Set a column; a scalar fills every row."""
        array = np.asarray(values)
        if array.dtype.kind == "U":
            array = array.astype(object)
        if array.ndim == 0:
            filled = np.empty(len(self), dtype=object if isinstance(values, str) else array.dtype)
            filled[...] = values
            array = filled
        others = [values for other, values in self._columns.items() if other != name]
        if others and len(array) != len(others[0]):
            raise ValueError(f"column {name!r} has {len(array)} rows, the table {len(others[0])}")
        self._columns[name] = array

    def sorted_by(self, *names: str) -> Table:
        """Rows ordered by the named columns, the first most significant; ties keep their order."""
        order = np.arange(len(self))
        for name in reversed(names):
            order = order[np.argsort(self._columns[name][order], kind="stable")]
        return self[order]

    def groups(self, name: str) -> Iterator[tuple[Any, Table]]:
        """(value, its rows in table order) for each distinct value of a column, in order."""
        order = np.argsort(self._columns[name], kind="stable")
        keys = self._columns[name][order]
        changes = (np.flatnonzero(keys[1:] != keys[:-1]) + 1).tolist()
        bounds = [0, *changes, len(keys)] if len(keys) else []
        for first, stop in zip(bounds[:-1], bounds[1:]):  # a loop over groups
            yield keys[first], self[order[first:stop]]

    @staticmethod
    def concat(tables: Iterable[Table], columns: list[str]) -> Table:
        """The rows of every table, in turn, under `columns` (missing ones are NaN).

        A column keeps its dtype when every part is empty: a bool column of no rows stays
        bool (as a float, `~used` raised on two legs that were both still)."""
        tables = list(tables)
        result = Table()
        for name in columns:
            parts = [t[name] if name in t else np.full(len(t), np.nan) for t in tables if len(t)]
            if not parts:
                parts = [t[name] for t in tables if name in t] or [np.zeros(0)]
            result[name] = np.concatenate(parts)
        return result

    def to_pandas(self) -> Any:
        import pandas as pd

        return pd.DataFrame(self._columns)

    def __repr__(self) -> str:
        return f"Table({len(self)} rows: {', '.join(self._columns)})"
