"""Imports go downward only, and everything installs under the one name `sleepmove`.

Layers by import name: `sleepmove.base` (shared by all, imports nothing of ours),
`sleepmove.sensor` and `sleepmove.detection` (independent of each other),
`sleepmove.reports` (may read detection results), and the rest of `sleepmove` (the CLI and
the pipeline, which wires them all).
"""

import ast
from pathlib import Path

import pytest

tomllib = pytest.importorskip("tomllib")  # Python 3.11+

ROOT = Path(__file__).resolve().parents[1]
LAYERS = ("base", "sensor", "detection", "reports")


def imported_layers(folder: str) -> set[str]:
    """The `sleepmove` layers the modules under `folder` import (`cli` for the top layer)."""
    found = set()
    for path in (ROOT / folder).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            else:
                continue
            for name in names:
                parts = name.split(".")
                if parts[0] in ("sensor", "detection", "reports"):
                    found.add(f"top-level {parts[0]}")  # the old names must not come back
                elif parts[0] == "sleepmove":
                    found.add(parts[1] if len(parts) > 1 and parts[1] in LAYERS else "cli")
    return found


def test_base_imports_nothing_of_the_project():
    assert imported_layers("sleepmove/base") <= {"base"}


def test_detection_imports_neither_sensor_nor_reports_nor_the_cli():
    assert imported_layers("detection") <= {"base", "detection"}


def test_sensor_and_reports_do_not_import_upward():
    assert imported_layers("sensor") <= {"base", "sensor"}
    assert imported_layers("reports") <= {"base", "detection", "reports"}


def test_nothing_imports_the_layers_by_their_old_top_level_names():
    for folder in ("sleepmove", "benchmarks", "tests"):
        assert not {name for name in imported_layers(folder) if name.startswith("top-level")}


def test_the_wheel_installs_one_top_level_package():
    """Every package in pyproject sits under `sleepmove`; each layer folder is mapped there."""
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert {name.split(".")[0] for name in setuptools["packages"]} == {"sleepmove"}
    for layer in ("sensor", "detection", "reports"):
        assert setuptools["package-dir"][f"sleepmove.{layer}"] == layer
    # Every folder with an __init__.py is listed, so nothing is left out of the wheel.
    listed = set(setuptools["packages"])
    for folder in ("sensor", "detection", "reports"):
        for init in (ROOT / folder).rglob("__init__.py"):
            relative = init.parent.relative_to(ROOT).as_posix().replace("/", ".")
            assert f"sleepmove.{relative}" in listed
    for init in (ROOT / "sleepmove").rglob("__init__.py"):
        assert init.parent.relative_to(ROOT).as_posix().replace("/", ".") in listed


def test_the_built_wheel_holds_only_sleepmove(tmp_path):
    """Build the wheel as pip would and look inside: one top-level package, all layers in it."""
    import shutil
    import subprocess
    import sys
    import zipfile

    # Built from a copy: setuptools leaves build/ and *.egg-info in the folder it builds.
    source = tmp_path / "source"
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info")
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        source.mkdir(exist_ok=True)
        shutil.copy(ROOT / name, source / name)
    for folder in ("sleepmove", "sensor", "detection", "reports"):
        shutil.copytree(ROOT / folder, source / folder, ignore=ignore)
    built = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "-q",
            "--wheel-dir",
            str(tmp_path),
            str(source),
        ],
        capture_output=True,
        text=True,
    )
    assert built.returncode == 0, built.stderr[-2000:]
    (wheel,) = tmp_path.glob("sleepmove-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert {name.split("/")[0] for name in names if ".dist-info/" not in name} == {"sleepmove"}
    for module in (
        "sensor/readers.py",
        "detection/night.py",
        "reports/summary.py",
        "base/errors.py",
        "cli.py",
        "sensor/protocols/polar.py",
    ):
        assert f"sleepmove/{module}" in names


def test_sleepmove_runs_from_any_folder(tmp_path):
    """Outside the checkout the installed package answers, layers and all."""
    import subprocess
    import sys

    script = "import sleepmove.sensor.readers, sleepmove.detection.night, sleepmove.reports.html"
    for command in (
        [sys.executable, "-c", script],
        [sys.executable, "-m", "sleepmove", "--version"],
    ):
        done = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr[-2000:]
