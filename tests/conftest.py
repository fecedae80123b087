import os
from pathlib import Path

import pytest

from sleepmove.sensor.simulate import simulate

REAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "real"


@pytest.fixture
def real_data() -> Path:
    if not REAL.is_dir():
        pytest.skip(f"real recordings not present at {REAL}")
    return REAL


@pytest.fixture(scope="session")
def plm_night(tmp_path_factory) -> tuple[Path, dict]:
    """A 2-hour single-sensor night with PLM series and ground truth."""
    folder = tmp_path_factory.mktemp("plm")
    truth = simulate(str(folder), hours=2.0, rate_hz=50, seed=7, scenario="plmd-moderate")
    return folder, truth


@pytest.fixture(scope="session")
def long_plm_night(tmp_path_factory) -> tuple[Path, dict]:
    """A whole 8-hour night of the independently built family: sleep latency and final
    awakening weigh as they do in real nights."""
    from sleepmove.sensor.simulate_stages import simulate_stages

    folder = tmp_path_factory.mktemp("long")
    truth = simulate_stages(str(folder), hours=8.0, rate_hz=25, seed=11, scenario="plmd-moderate")
    return folder, truth


@pytest.fixture(scope="session")
def two_leg_night(tmp_path_factory) -> tuple[Path, dict]:
    folder = tmp_path_factory.mktemp("alt")
    truth = simulate(str(folder), hours=2.0, rate_hz=50, seed=3, scenario="alternating")
    return folder, truth


def write(path: Path, text: str) -> str:
    path.write_text(text)
    return os.fspath(path)
