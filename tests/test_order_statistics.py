"""The order statistics that stand in for numpy's give exactly numpy's numbers."""

from __future__ import annotations

import numpy as np
import pytest

from sleepmove.base.order_statistics import median, quantile, quantiles, sorted_distinct


def _samples(seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    arrays = []
    for size in (*range(1, 40), 1000, 1001, 65_537, 100_001):
        arrays += [
            rng.normal(size=size),
            rng.integers(-3, 3, size=size).astype(np.float64),  # ties
            rng.normal(size=size) * 1e9 + 1.7e9,  # Unix times in ns' magnitude
            np.abs(rng.normal(size=size)).astype(np.float32),  # float32: interpolated as such
            (rng.integers(0, 50, size=size) * np.float32(0.0039)).astype(np.float32),
        ]
    return arrays


@pytest.mark.parametrize("seed", [0, 1])
def test_median_is_numpys(seed: int) -> None:
    for values in _samples(seed):
        expected = np.median(values)
        assert np.float64(median(values.copy())).tobytes() == np.float64(expected).tobytes()


def test_median_with_nan_is_nan() -> None:
    values = np.array([1.0, np.nan, 3.0, 2.0], dtype=np.float32)
    assert np.isnan(median(values))


@pytest.mark.parametrize("seed", [0, 1])
def test_quantiles_are_numpys(seed: int) -> None:
    for values in _samples(seed):
        expected = np.quantile(values, [0.01, 0.5, 0.99])
        found = quantiles(values.copy(), (0.01, 0.5, 0.99))
        assert found.dtype == expected.dtype
        assert found.tobytes() == expected.tobytes()


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("q", [0.0, 0.05, 0.5, 0.9, 0.999, 1.0])
def test_quantile_is_numpys_percentile(seed: int, q: float) -> None:
    for values in _samples(seed):
        expected = np.percentile(values, q * 100) if q in (0.05, 0.9) else np.quantile(values, q)
        found = quantile(values.copy(), q)
        assert np.float64(found).tobytes() == np.float64(expected).tobytes()


def test_quantile_known_values() -> None:
    assert quantile(np.array([4.0, 1.0, 3.0, 2.0]), 0.5) == 2.5
    assert quantile(np.array([4.0, 1.0, 3.0, 2.0]), 1.0) == 4.0
    assert quantile(np.array([7.0]), 0.05) == 7.0
    assert np.isnan(quantile(np.array([1.0, np.nan, 2.0]), 0.5))


@pytest.mark.parametrize("seed", [0, 1])
def test_sorted_distinct_is_numpys_unique(seed: int) -> None:
    for values in _samples(seed):
        expected = np.unique(values)
        found = sorted_distinct(values)
        assert found.dtype == expected.dtype
        assert found.tobytes() == expected.tobytes()
    assert sorted_distinct(np.array([3, 1, 3, 2, 1])).tolist() == [1, 2, 3]
    assert len(sorted_distinct(np.array([], dtype=np.intp))) == 0


def test_an_analysis_never_imports_numpy_ma(tmp_path) -> None:
    """numpy's median and percentile import numpy.ma on first use (7-16 ms of CPU a process,
    holding the interpreter lock): a device file's header check and a night with a data gap
    each did, in every process of a batch."""
    import subprocess
    import sys

    from tests.test_device_file_damage import _cwa

    (tmp_path / "night.cwa").write_bytes(_cwa(150))
    times = 1.7e9 + np.arange(0, 600, 0.02)
    times = times[(times < 1.7e9 + 200) | (times > 1.7e9 + 230)]  # a 30 s data gap
    xyz = np.tile([0.0, 0.0, 1.0], (len(times), 1)) + np.random.default_rng(0).normal(
        0, 0.003, (len(times), 3)
    )
    rows = np.column_stack([times, xyz])
    np.savetxt(
        tmp_path / "gap.csv", rows, fmt="%.4f", delimiter=",", header="time,x,y,z", comments=""
    )
    script = (
        "import sys\n"
        "from sleepmove.cli import main\n"
        "for name in ('night.cwa', 'gap.csv'):\n"
        "    out = 'out-' + name\n"
        "    main(['analyze', name, '--out', out, '--no-report', '--min-duration', '2'])\n"
        "print('numpy.ma' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    assert (tmp_path / "out-night.cwa" / "events.csv").exists()
    assert (tmp_path / "out-gap.csv" / "events.csv").exists()
    assert done.stdout.strip().splitlines()[-1] == "False"
