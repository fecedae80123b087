"""Reports as a person sees them: figures present and not blank, one self-contained page."""

import json
import os
import re
import shutil
import subprocess

import matplotlib.image
import pandas as pd
import pytest

from sleepmove.cli import main

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
]


@pytest.fixture(scope="module")
def two_leg_report(two_leg_night, tmp_path_factory):
    folder, _ = two_leg_night
    out = tmp_path_factory.mktemp("report") / "night"
    code = main(
        [
            "analyze",
            "--left",
            str(folder / "left.csv"),
            "--right",
            str(folder / "right.csv"),
            "--out",
            str(out),
        ]
    )
    assert code == 0
    return out


def not_blank(path) -> bool:
    pixels = matplotlib.image.imread(str(path))
    return pixels.std() > 0.02


def test_figures_are_written_and_not_blank(two_leg_report):
    names = sorted(os.listdir(two_leg_report / "figures"))
    assert names == ["imi.png", "over_the_night.png", "sides.png", "timeline.png"]
    for name in names:
        assert not_blank(two_leg_report / "figures" / name), name


def test_report_is_one_self_contained_file(two_leg_report):
    text = (two_leg_report / "report.html").read_text()
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", text)
    assert "<script" not in text and "@import" not in text
    assert text.count("data:image/png;base64,") == 4
    summary = json.loads((two_leg_report / "summary.json").read_text())
    assert "wasm2016" in text and "leg EMG" in text
    assert f"{summary['plm_index']:.1f}" in text
    assert 'name="viewport"' in text and "@media print" in text


def test_figures_are_deterministic(two_leg_night, two_leg_report, tmp_path):
    folder, _ = two_leg_night
    again = tmp_path / "again"
    main(
        [
            "analyze",
            "--left",
            str(folder / "left.csv"),
            "--right",
            str(folder / "right.csv"),
            "--out",
            str(again),
        ]
    )
    for name in os.listdir(two_leg_report / "figures"):
        assert (again / "figures" / name).read_bytes() == (
            two_leg_report / "figures" / name
        ).read_bytes()


def test_no_report_skips_the_report(plm_night, tmp_path):
    folder, _ = plm_night
    out = tmp_path / "plain"
    assert main(["analyze", str(folder / "night.csv"), "--out", str(out), "--no-report"]) == 0
    assert sorted(os.listdir(out)) == ["epochs.csv", "events.csv", "summary.json"]


def test_report_renders_in_headless_chromium_without_network(two_leg_report, tmp_path):
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.skip("chromium is not installed here (.ci/run installs it)")
    shot = tmp_path / "page.png"
    net_log = tmp_path / "net.json"
    subprocess.run(
        [
            browser,
            *CHROMIUM_FLAGS,
            f"--user-data-dir={tmp_path / 'profile'}",
            f"--log-net-log={net_log}",
            "--window-size=1100,2600",
            f"--screenshot={shot}",
            (two_leg_report / "report.html").as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    assert not_blank(shot)
    assert page_requests(net_log) == []


def page_requests(net_log) -> list[str]:
    """URLs the page itself asked for (the browser's own update checks are 'not an origin')."""
    log = json.loads(net_log.read_text())
    start_job = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    starts = [e.get("params", {}) for e in log["events"] if e["type"] == start_job]
    return [
        params["url"]
        for params in starts
        if "url" in params
        and params.get("initiator") != "not an origin"
        and not params["url"].startswith(("file:", "data:"))
    ]


def test_trend_report_over_nights(plm_night, two_leg_report, tmp_path, capsys):
    folder, _ = plm_night
    nights = tmp_path / "nights"
    for name in ("a", "b"):
        main(["analyze", str(folder / "night.csv"), "--out", str(nights / name), "--no-report"])
    shutil.copytree(two_leg_report, nights / "c")
    out = tmp_path / "trend"
    assert main(["report", str(nights), "--out", str(out)]) == 0
    table = pd.read_csv(out / "nights.csv")
    assert sorted(table["night"]) == ["a", "b", "c"]
    assert {
        "plm_index",
        "plmw_index",
        "periodicity_index",
        "jerk_rate_per_min",
        "total_sleep_h",
        "data_loss_h",
    } <= set(table.columns)
    text = (out / "report.html").read_text()
    assert "3-5" in text and "steadier" in text and "Mean and SD" in text
    assert not_blank(out / "figures" / "trend.png")


def test_trend_report_refuses_a_folder_without_results(tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["report", str(empty), "--out", str(tmp_path / "t")]) == 2
    assert "no summary.json" in capsys.readouterr().err


def test_side_raster_marks_each_movement_by_leg_at_its_place_in_its_series():
    from detection.table import Table
    from reports.figures import side_raster

    units = Table(
        {
            "series": [0, 0, -1, 0, 3, 3],
            "side": ["left", "right", "left", "bilateral", "right", "left"],
        }
    )
    figure = side_raster(units, 0.5)
    marks = {c.get_label(): c.get_offsets().data.tolist() for c in figure.axes[0].collections}
    # (movement within the series, series row); the unscored movement (-1) is not drawn
    assert marks["left"] == [[0, 0], [1, 1]]
    assert marks["right"] == [[1, 0], [0, 1]]
    assert marks["bilateral"] == [[2, 0]]
