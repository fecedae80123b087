"""Imports go downward only: detection never imports sensor or reports."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def imported_packages(package: str) -> set[str]:
    found = set()
    for path in (ROOT / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.add(node.module.split(".")[0])
    return found


def test_detection_imports_neither_sensor_nor_reports_nor_the_cli():
    assert not imported_packages("detection") & {"sensor", "reports", "sleepmove"}


def test_sensor_and_reports_do_not_import_upward():
    assert not imported_packages("sensor") & {"detection", "reports", "sleepmove"}
    assert not imported_packages("reports") & {"sensor", "sleepmove"}
