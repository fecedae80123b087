"""Property-based: any bytes or mangled CSV give a recording or one clear error, never a crash."""

import os

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sleepmove.base.errors import InputError
from sleepmove.sensor.readers import read_recording

# HYPOTHESIS_EXAMPLES=5000 pytest tests/test_properties.py for a longer hunt.
SETTINGS = settings(
    max_examples=int(os.environ.get("HYPOTHESIS_EXAMPLES", "150")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


def valid_csv(rows: int = 40) -> str:
    lines = ["time,x,y,z"] + [
        f"{1_700_000_000 + i * 0.02:.3f},0.01,-0.02,0.99" for i in range(rows)
    ]
    return "\n".join(lines) + "\n"


def read_or_refuse(path) -> None:
    try:
        recording = read_recording(str(path))
    except InputError as error:
        assert "\n" not in str(error) and str(path) in str(error)
        return
    assert len(recording.time_s) == len(recording.xyz_g) >= 2
    assert np.isfinite(recording.xyz_g).all()


@SETTINGS
@given(data=st.binary(max_size=3000))
def test_any_bytes(tmp_path, data):
    path = tmp_path / "any.csv"
    path.write_bytes(data)
    read_or_refuse(path)


EDITS = st.lists(
    st.tuples(
        st.sampled_from(["delete", "insert", "duplicate_line", "truncate"]),
        st.integers(0, 10_000),
        st.characters(codec="utf-8"),
    ),
    min_size=1,
    max_size=6,
)


@SETTINGS
@given(edits=EDITS)
def test_mangled_csv(tmp_path, edits):
    text = valid_csv()
    for kind, where, char in edits:
        at = where % max(len(text), 1)
        if kind == "delete":
            text = text[:at] + text[at + 1 :]
        elif kind == "insert":
            text = text[:at] + char + text[at:]
        elif kind == "duplicate_line":
            lines = text.split("\n")
            index = where % len(lines)
            lines.insert(index, lines[index])
            text = "\n".join(lines)
        else:
            text = text[:at]
    path = tmp_path / "mangled.csv"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    read_or_refuse(path)


@SETTINGS
@given(
    scale=st.sampled_from([1.0, 9.80665]), seed=st.integers(0, 10_000), noise=st.floats(0.0, 0.05)
)
def test_units_are_never_silently_wrong(tmp_path, scale, seed, noise):
    rng = np.random.default_rng(seed)
    direction = rng.normal(size=3)
    direction /= np.linalg.norm(direction)
    xyz = (direction + rng.normal(0, noise, (200, 3))) * scale
    t = 1_700_000_000 + np.arange(200) / 50
    lines = ["time,x,y,z"] + [f"{a:.3f},{b:.5f},{c:.5f},{d:.5f}" for a, (b, c, d) in zip(t, xyz)]
    path = tmp_path / "units.csv"
    path.write_text("\n".join(lines) + "\n")
    recording = read_recording(str(path))
    assert recording.units_in == ("g" if scale == 1.0 else "m/s2")
    magnitude = np.median(np.linalg.norm(recording.xyz_g, axis=1))
    assert 0.8 < magnitude < 1.2
