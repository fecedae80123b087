"""The read path's shortcuts give exactly what the numpy calls they stand for give (its
order statistics: tests/test_order_statistics.py)."""

from __future__ import annotations

import numpy as np
import pytest


def test_binary_share_counts_control_bytes() -> None:
    from sleepmove.sensor.text_source import _binary_share

    rng = np.random.default_rng(2)
    for size in (0, 1, 100, 65536):
        sniff = rng.integers(0, 256, size, dtype=np.uint8).tobytes()
        expected = sum(1 for byte in sniff if byte < 9 or 13 < byte < 32) / max(len(sniff), 1)
        assert _binary_share(sniff) == expected


@pytest.mark.parametrize("rows", [1, 5, 65536, 65537, 200_003])
def test_column_order_is_asfortranarray(rows: int) -> None:
    from sleepmove.sensor.formats.samples import column_order

    rng = np.random.default_rng(rows)
    six = rng.normal(size=(rows, 6)).astype(np.float32)
    for samples in (six[:, :3].copy(), six[:, :3], six[:, :3].astype(np.float64)):
        expected = np.asfortranarray(samples, dtype=np.float32)
        for spare in (None, np.empty((rows, 3), np.float32), np.empty(7, np.float32)):
            found = column_order(samples, spare)
            assert found.dtype == expected.dtype and found.strides == expected.strides
            assert found.tobytes("A") == expected.tobytes("A")


def test_device_recording_seconds_are_the_nanoseconds_divided() -> None:
    from sleepmove.sensor.formats.samples import device_recording

    rng = np.random.default_rng(3)
    rows = 200_003
    stamps = np.cumsum(rng.integers(9_000_000, 11_000_000, rows)) + 1_700_000_000 * 10**9
    expected = stamps.astype(np.int64) / 1e9
    xyz = (rng.normal(size=(rows, 3)) * 0.01 + [0, 0, 1]).astype(np.float32)
    recording = device_recording("x.cwa", "a test", stamps.copy(), xyz, "g", 100.0)
    assert recording.time_s.dtype == np.float64 and recording.time_s.flags.c_contiguous
    assert recording.time_s.tobytes() == expected.tobytes()
    assert recording.xyz_g.tobytes("A") == np.asfortranarray(xyz).tobytes("A")


@pytest.mark.parametrize("order", ["C", "F"])
def test_magnitudes_are_norms(order: str) -> None:
    from sleepmove.sensor.finish import magnitudes

    rng = np.random.default_rng(4)
    for rows in (2, 3, 17, 100_003, 400_000):
        for scale in (1e-3, 1.0, 9.81, 1e3, 1e19):  # 1e19: squares overflow to inf
            xyz = np.asarray(rng.normal(size=(rows, 3)) * scale, np.float32, order=order)
            for sample in (xyz, xyz[:: max(1, rows // 200_000)]):
                with np.errstate(over="ignore"):
                    expected = np.linalg.norm(sample, axis=1)
                    assert magnitudes(sample).tobytes() == expected.tobytes()
