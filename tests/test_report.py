"""Reports as a person sees them: figures present and not blank, one self-contained page."""

import base64
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
    assert text.count("data:image/png;base64,") == 8  # each figure wide and phone-shaped
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
    assert sorted(os.listdir(out)) == ["epochs.csv", "events.csv", "settings.toml", "summary.json"]


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
    from sleepmove.detection.table import Table
    from sleepmove.reports.figures import side_raster

    units = Table(
        {
            "series": [0, 0, -1, 0, 3, 3],
            "side": ["left", "right", "left", "bilateral", "right", "left"],
        }
    )
    figure = side_raster(units, 0.5, rules="wasm2016")
    marks = {c.get_label(): c.get_offsets().data.tolist() for c in figure.axes[0].collections}
    # (movement within the series, series row); the unscored movement (-1) is not drawn
    assert marks["left"] == [[0, 0], [1, 1]]
    assert marks["right"] == [[1, 0], [0, 1]]
    assert marks["both"] == [[2, 0]]
    # rows are named by the series' numbers in the table (series 0 is "1", series 3 is "4")
    assert [t.get_text() for t in figure.axes[0].get_yticklabels()] == ["1", "4"]


# --- Every figure names the rule set that scored it ---


def small_night():
    """Two hours: units in two PLM series on two legs, minutes, and the IMI histograms."""
    import numpy as np

    from sleepmove.detection.table import Table

    onsets = np.r_[np.arange(600.0, 900.0, 25.0), np.arange(4000.0, 4300.0, 30.0)]
    n = len(onsets)
    units = Table(
        {
            "onset_s": onsets,
            "offset_s": onsets + 2.0,
            "series": np.r_[np.zeros(12, int), np.ones(n - 12, int)],
            "side": np.where(np.arange(n) % 2, "left", "right"),
            "kind": np.full(n, "lm"),
            "periodic": np.ones(n, bool),
            "clm": np.ones(n, bool),
            "asleep": np.ones(n, bool),
        }
    )
    minutes = Table(
        {
            "start_s": np.arange(120) * 60.0,
            "activity": np.full(120, 0.002),
            "data_loss_s": np.zeros(120),
            "jerks": np.zeros(120),
            "asleep": np.r_[np.zeros(5), np.ones(115)],
        }
    )
    edges = np.arange(0, 92, 2.0)
    log_edges = np.linspace(0, 4.5, 19)
    imi = {
        "histogram_2s": {"bin_edges_s": edges, "counts": np.ones(len(edges) - 1)},
        "log_histogram": {"bin_edges_ln_s": log_edges, "counts": np.ones(len(log_edges) - 1)},
        "periodic_range_s": [10.0, 90.0],
        "log_imi_mean": 3.3,
    }
    return units, minutes, imi


def rules_named(figure) -> list[str]:
    """The texts of the figure's artists that carry the gid "rules"."""
    from matplotlib.text import Text

    found = [a for a in figure.findobj() if a.get_gid() == "rules"]
    return [t.get_text() for a in found for t in ([a] if isinstance(a, Text) else a.findobj(Text))]


@pytest.mark.parametrize("rules", ["wasm2016", "aasm2012"])
def test_each_night_figure_names_its_rule_set_clear_of_the_plots(rules):
    from sleepmove.reports import figures

    units, minutes, imi = small_night()
    draw = {
        "timeline": lambda shape: figures.timeline(
            units, minutes, [(300.0, 7200.0)], [], ["left", "right"], None, shape, rules=rules
        ),
        "imi": lambda shape: figures.imi_histograms(imi, shape, rules=rules),
        "over_the_night": lambda shape: figures.over_the_night(
            units, minutes, [], 15.0, None, shape, rules=rules
        ),
        "sides": lambda shape: figures.side_raster(units, 0.5, shape, rules=rules),
    }
    for name, make in draw.items():
        for shape in figures.SHAPES:
            with figures.plt.rc_context(figures._style(shape)):
                figure = make(shape)
            assert rules_named(figure) == [f"rules {rules}"], (name, shape.name)
            (note,) = [t for t in figure.texts if t.get_gid() == "rules"]
            assert note.get_fontsize() == shape.font_pt  # the figure's smallest text
            figure.canvas.draw()
            box = note.get_window_extent()
            assert figure.bbox.contains(box.x0, box.y0) and figure.bbox.contains(box.x1, box.y1)
            for other in [*figure.axes, *figure.legends]:  # on a line of its own
                assert not box.overlaps(other.get_window_extent()), (name, shape.name, other)
            figures.plt.close(figure)


@pytest.fixture(scope="module")
def aasm_report(plm_night, tmp_path_factory):
    folder, _ = plm_night
    out = tmp_path_factory.mktemp("aasm") / "night"
    command = ["analyze", str(folder / "night.csv"), "--criteria", "aasm2012", "--out", str(out)]
    assert main(command) == 0
    return out


def test_night_captions_name_the_rule_set(one_leg_report, two_leg_report, aasm_report):
    for report, rules, figures_shown in (
        (one_leg_report, "wasm2016", 3),
        (two_leg_report, "wasm2016", 4),
        (aasm_report, "aasm2012", 3),
    ):
        assert json.loads((report / "summary.json").read_text())["criteria"]["name"] == rules
        captions = re.findall(
            r"<figcaption>(.*?)</figcaption>", (report / "report.html").read_text()
        )
        assert len(captions) == figures_shown
        for caption in captions:
            assert f"rules {rules}" in caption, caption
    aasm = (aasm_report / "report.html").read_text()
    assert "shaded range (5-90 s under rules aasm2012)" in aasm


def _scored_by(summary: dict, rule_set: str) -> None:
    """A summary as the rule set would have written it: its name and its numbers."""
    from sleepmove.detection.params import RULE_SETS

    summary["criteria"]["name"] = rule_set
    summary["criteria"]["parameters"]["rules"] = RULE_SETS[rule_set].as_dict()


def test_trend_figure_names_one_rule_set_and_tells_mixed_ones_apart(dated_nights):
    from sleepmove.reports.trend import nights_table, trend_figure, trend_files

    folder, out = dated_nights
    summaries = {
        p.name: json.loads((p / "summary.json").read_text()) for p in sorted(folder.glob("n*"))
    }
    table = nights_table(summaries)
    one = trend_figure(table, 15.0)
    assert rules_named(one) == ["rules wasm2016"]
    (caption,) = re.findall(r"<figcaption>(.*?)</figcaption>", (out / "report.html").read_text())
    assert "Scored by rules wasm2016." in caption

    mixed = table.copy()
    mixed.loc[[1, 3, 4], "rules"] = "aasm2012"
    figure = trend_figure(mixed, 15.0)
    assert rules_named(figure) == [
        "nights scored by different rules",
        "rules aasm2012",
        "rules wasm2016",
    ]
    for axis in figure.axes:
        marks = {line.get_gid(): line for line in axis.lines if line.get_gid()}
        assert sorted(marks) == ["rules aasm2012", "rules wasm2016"]
        aasm, wasm = marks["rules aasm2012"], marks["rules wasm2016"]
        assert len(aasm.get_xdata()) == 3 and len(wasm.get_xdata()) == 3
        assert not set(aasm.get_xdata()) & set(wasm.get_xdata())
        assert (aasm.get_marker(), aasm.get_markerfacecolor()) != (
            wasm.get_marker(),
            wasm.get_markerfacecolor(),
        )
        # a line joins only nights scored alike: the points it passes are one rule set's
        for line in axis.lines:
            if line.get_linestyle() == "-" and len(line.get_xdata()) > 1:
                passed = {x for x, y in zip(line.get_xdata(), line.get_ydata()) if y == y}
                assert passed <= set(aasm.get_xdata()) or passed <= set(wasm.get_xdata())
    for name in ("n1", "n3", "n4"):  # the same nights, in the order they began
        _scored_by(summaries[name], "aasm2012")
    page = trend_files(summaries)["report.html"]
    (caption,) = re.findall(r"<figcaption>(.*?)</figcaption>", page)
    assert "different rules (aasm2012, wasm2016) have a mark each" in caption
    # An undated night (no clock time) is not plotted: its rules are not promised a mark.
    for name, summary in summaries.items():
        _scored_by(summary, "aasm2012" if name == "n0" else "wasm2016")
    summaries["n0"]["recording"]["start"] = ""
    page = trend_files(summaries)["report.html"]
    (caption,) = re.findall(r"<figcaption>(.*?)</figcaption>", page)
    assert "Scored by rules wasm2016." in caption and "have a mark each" not in caption
    assert "Rules: aasm2012 (n0); wasm2016 (n1, n2, n3, n4, n5)." in page  # the page still warns


# --- Read on a phone and on a desktop (issue 21) ---

# Measures the page from inside: a parent page holds the report in an iframe of the wanted
# width (headless Chromium will not lay out a window under 500 px) and writes what it found
# where --dump-dom shows it. The report itself carries no script.
MEASURE = """
window.addEventListener("load", () => {
  const frame = document.getElementById("page"), win = frame.contentWindow;
  const doc = win.document, w = win.innerWidth;
  const out = {width: w, scroll: doc.documentElement.scrollWidth, wide: [], figures: [],
               tables: [], text: doc.body.innerText};
  for (const e of doc.body.querySelectorAll("*")) {
    const r = e.getBoundingClientRect();
    if (r.width > 0 && r.right > w + 0.5) out.wide.push(e.tagName + " " + Math.round(r.right));
  }
  for (const img of doc.querySelectorAll("picture img")) {
    const chosen = [...img.parentElement.querySelectorAll("source")]
      .find(s => s.srcset === img.currentSrc) || img;
    out.figures.push({alt: img.alt, phone: chosen !== img,
      text_px: parseFloat(chosen.dataset.textPx) * img.width / img.naturalWidth});
  }
  for (const t of doc.querySelectorAll("table"))
    if (t.getClientRects().length) out.tables.push([t.scrollWidth, t.clientWidth]);
  const pre = document.createElement("pre");
  pre.id = "measured";
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
});
"""


def measure(page, width: int, tmp_path) -> dict:
    """Layout facts of `page` shown `width` CSS px wide in headless Chromium."""
    import html as html_module

    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.skip("chromium is not installed here (.ci/run installs it)")
    holder = tmp_path / f"holder-{width}.html"
    holder.write_text(
        '<!DOCTYPE html><html><body style="margin:0">'
        f'<iframe id="page" style="width:{width}px;height:900px;border:0" srcdoc="'
        + html_module.escape(page.read_text(), quote=True)
        + f'"></iframe><script>{MEASURE}</script></body></html>'
    )
    done = subprocess.run(
        [
            browser,
            *CHROMIUM_FLAGS,
            f"--user-data-dir={tmp_path / 'profile'}",
            "--window-size=1400,1000",
            "--dump-dom",
            holder.as_uri(),
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    )
    found = re.search(r'<pre id="measured">(.*?)</pre>', done.stdout, re.S)
    assert found, done.stdout[-500:]
    return json.loads(html_module.unescape(found.group(1)))


def assert_fits(facts: dict, width: int) -> None:
    assert facts["width"] == width
    assert facts["scroll"] <= width, "the page scrolls sideways"
    assert facts["wide"] == [], "elements wider than the window"
    for scroll, client in facts["tables"]:
        assert scroll <= client, "a table scrolls sideways"
    for figure in facts["figures"]:
        assert figure["phone"] == (width <= 820), figure
        assert figure["text_px"] >= 11, figure


@pytest.fixture(scope="module")
def one_leg_report(plm_night, tmp_path_factory):
    folder, _ = plm_night
    out = tmp_path_factory.mktemp("report1") / "night"
    assert main(["analyze", str(folder / "night.csv"), "--out", str(out)]) == 0
    return out


@pytest.mark.parametrize("width", [412, 1280])
def test_night_pages_fit_the_screen_and_their_figures_read(
    width, one_leg_report, two_leg_report, tmp_path
):
    for report in (one_leg_report, two_leg_report):
        facts = measure(report / "report.html", width, tmp_path)
        assert_fits(facts, width)
        assert len(facts["figures"]) == (4 if report == two_leg_report else 3)
        text = facts["text"]
        assert not re.search(r"\d{4}-\d\d-\d\dT\d\d:\d\d", text), "a raw ISO time is shown"
        assert re.search(r"\b\d\d:\d\d to \d\d:\d\d\b", text)  # human clock times
        assert "criteria.parameters" not in text or "lm_min_s" not in text  # settings folded


def test_night_page_speaks_plainly(one_leg_report, two_leg_report):
    one = (one_leg_report / "report.html").read_text()
    two = (two_leg_report / "report.html").read_text()
    summary = json.loads((two_leg_report / "summary.json").read_text())
    for text, out in ((one, one_leg_report), (two, two_leg_report)):
        visible = re.sub(r"data:[^\"']+", "", text)
        assert not re.search(r"\d{4}-\d\d-\d\dT\d\d:\d\d", visible)
        for word in (
            "PLMS",
            "PLMW",
            "In-bed index",
            "Periodicity index",
            "IMI",
            "EFM proxy",
            "Hypnic jerk",
            "CLM",
            'id="glossary"',
        ):
            assert word in visible, word
        # the settings: a table folded in <details>, the file beside it, no JSON dump
        details = visible[visible.index("<details>") : visible.index("</details>")]
        assert "<table>" in details and "Scoring rules" in details
        # a rate reads as one: "Wake jerks note" 1 /min, not "Wake jerks note per" 1 min
        assert "<td>Wake jerks note</td><td>1 /min</td>" in details.replace("\n", "")
        assert 'download="settings.toml"' in text and "<pre>" not in text
        offered = re.search(r'href="data:text/plain;charset=utf-8;base64,([^"]+)"', text)
        settings = base64.b64decode(offered.group(1)).decode()
        assert settings == (out / "settings.toml").read_text()  # what --config reads
        assert " h " in visible and " min" in visible  # durations as 1 h 12 min
        assert "PLM index (in bed)" in visible and "the model was sure about" in visible
    # one sensor: no legs column; the jerks' leg is never "sensor"
    assert "<th>legs</th>" not in one and ">sensor<" not in one
    assert "<th>legs</th>" in two and " left" in two
    assert f"{summary['plm_index']:.1f}" in two
    # the first series is 1 in the figure's rows and in the table
    assert '<td class="n" data-label="#">1</td>' in two  # stacked on a phone


def test_headline_names_the_report(two_leg_report):
    from sleepmove.cli import _headline

    summary = json.loads((two_leg_report / "summary.json").read_text())
    assert "(report.html, events.csv" in _headline(summary, "out", report=True)
    assert "report.html" not in _headline(summary, "out", report=False)


@pytest.fixture(scope="module")
def dated_nights(two_leg_report, tmp_path_factory):
    """Six nights: three in a row, a 4-day gap, two recordings on one night (one with too few
    movements for a periodicity index), then 35 days later."""
    base = json.loads((two_leg_report / "summary.json").read_text())
    folder = tmp_path_factory.mktemp("dated")
    starts = [
        ("2025-03-01T23:10:00.000+01:00", 22.0, True),
        ("2025-03-02T22:40:00.000+01:00", 9.0, True),
        ("2025-03-04T00:20:00.000+01:00", 31.0, True),
        ("2025-03-08T23:00:00.000+01:00", 18.0, False),
        ("2025-03-09T03:00:00.000+01:00", 12.0, True),
        ("2025-04-13T23:00:00.000+02:00", 16.0, True),
    ]
    for i, (start, plm, reliable) in enumerate(starts):
        summary = json.loads(json.dumps(base))
        summary["recording"]["start"] = start
        summary["plm_index"] = plm
        summary["periodicity_index"] = 0.1 if not reliable else 0.8
        summary["periodicity_index_reliable"] = reliable
        (folder / f"n{i}").mkdir()
        (folder / f"n{i}" / "summary.json").write_text(json.dumps(summary))
    out = folder / "trend"
    assert main(["report", str(folder), "--out", str(out)]) == 0
    return folder, out


def test_trend_has_a_date_axis_gaps_and_leaves_unreliable_periodicity_out(dated_nights):
    import matplotlib.dates as mdates

    from sleepmove.reports.trend import nights_table, trend_figure

    folder, out = dated_nights
    summaries = {
        p.name: json.loads((p / "summary.json").read_text()) for p in sorted(folder.glob("n*"))
    }
    table = nights_table(summaries)
    table["pi_reliable"] = [summaries[n]["periodicity_index_reliable"] for n in table["night"]]
    figure = trend_figure(table, 15.0)
    upper, lower = figure.axes
    points = upper.lines[1].get_xdata()
    days = [mdates.num2date(mdates.date2num(x)).date().isoformat() for x in points]
    assert days[:3] == ["2025-03-01", "2025-03-02", "2025-03-03"]  # 00:20 is the 3rd's night
    assert days[3] == days[4] == "2025-03-08" and points[3] != points[4]  # both shown
    line = upper.lines[0].get_ydata()
    assert pd.isna(line).sum() == 2  # broken at the 4-day and the 35-day gap
    pi = lower.lines[1].get_ydata()
    assert pd.isna(pi[3]) and pi[0] == 0.8  # unreliable: not plotted as a value
    text = (out / "report.html").read_text()
    assert "0.80" in text and "too few to judge" in text  # the mean leaves the 0.1 out
    assert "4 of 6 nights above 15/h" in text and "night of 8 Mar" in text
    assert "plm_index" not in re.sub(r"data:[^\"']+", "", text)
    assert pd.read_csv(out / "nights.csv").columns.tolist()[3] == "plm_index"  # contract


@pytest.mark.parametrize("width", [412, 1280])
def test_trend_page_fits_the_screen(width, dated_nights, tmp_path):
    _, out = dated_nights
    facts = measure(out / "report.html", width, tmp_path)
    assert_fits(facts, width)
    assert "Sun 2 Mar" in facts["text"]


def test_an_in_bed_index_without_a_sleep_index_is_compared_with_nothing(plm_night, tmp_path):
    """25 minutes in bed: too little sleep for a PLM index (n/a), and the in-bed card called
    the two 'close' or 'over a quarter apart'. One jerk in a night showed as '0.0 /min'."""
    folder, _ = plm_night
    out = tmp_path / "short"
    argv = ["analyze", str(folder / "night.csv"), "--sleep-window", "0,1500", "--out", str(out)]
    assert main(argv) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["plm_index"] is None
    page = (out / "report.html").read_text()
    assert "no sleep index to compare it with" in page
    assert "close to the sleep index" not in page and "by over a quarter" not in page
    rate, count = summary["jerk_rate_per_min"], summary["counts"]["jerk_in_sleep"]
    if rate is not None:
        assert f"({count} in sleep)" in page


@pytest.mark.parametrize(
    "rate, count, shown",
    [(0.013, 1, "0.013 /min (1 in sleep)"), (2.34, 900, "2.3 /min (900 in sleep)"),
     (0.0, 0, "0.0 /min (0 in sleep)"), (None, 0, "n/a")],
)  # fmt: skip
def test_the_jerk_card_shows_a_rate_that_agrees_with_its_count(rate, count, shown):
    from sleepmove.reports.night_report import _jerk_rate

    assert _jerk_rate({"jerk_rate_per_min": rate, "counts": {"jerk_in_sleep": count}}) == shown
