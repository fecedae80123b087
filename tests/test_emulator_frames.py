"""The emulated Polar sensor sizes its frames to one notification (issue 18: two-leg record lost
16-32 s an hour with no reconnection: wide-delta frames overflowed the MTU, were cut short by
the link and dropped by the recorder)."""

from types import SimpleNamespace

import numpy as np
import pytest

pytest.importorskip("bumble")

from sleepmove.sensor.ble.emulated_polar import EmulatedPolar  # noqa: E402
from sleepmove.sensor.protocols import polar  # noqa: E402


def test_a_moving_legs_frame_is_split_to_fit_the_mtu_and_loses_nothing():
    rng = np.random.default_rng(0)
    xyz = rng.uniform(-4, 4, (70, 3))  # a kick: deltas of thousands of mg, 14 bits each
    fake = SimpleNamespace(device=SimpleNamespace(connections={}), clock_offset_s=0.0, rate_hz=52.0)
    fake._fitting_frames = lambda values, last: EmulatedPolar._fitting_frames(fake, values, last)
    assert len(polar.encode_compressed(xyz * 1000, 0)) > 244  # one frame would not fit
    frames = fake._fitting_frames(xyz, 69)
    assert len(frames) > 1 and all(len(frame) <= 244 for frame in frames)
    decoder = polar.PolarDecoder(rate_hz=52)
    decoded = [decoder.decode(frame) for frame in frames]
    assert not any(d.problems for d in decoded)
    samples = np.concatenate([d.xyz_g for d in decoded])
    np.testing.assert_allclose(samples, np.round(xyz * 1000) / 1000, atol=1e-6)
    times = np.concatenate([d.times_s for d in decoded])
    np.testing.assert_allclose(np.diff(times), 1 / 52, atol=1e-6)
