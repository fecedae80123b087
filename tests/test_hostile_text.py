"""Text inputs found by a stress test: zeros a logger leaves after a power cut, rows of
megabytes, rows without time, lines of spaces, escape codes, and an --out holding a report."""

import gzip
import json
import zlib

import pytest

from sleepmove.cli import main
from sleepmove.sensor.simulate import simulate


@pytest.fixture(scope="module")
def night(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hostile")
    simulate(str(folder), hours=0.5, rate_hz=25, seed=1, scenario="plmd-moderate")
    text = (folder / "night.csv").read_bytes()
    clean = folder / "clean"
    assert main(["analyze", str(folder / "night.csv"), "--out", str(clean), "--no-report"]) == 0
    return folder, text, (clean / "events.csv").read_text()


def analyzed(path, out) -> tuple[int, str]:
    code = main(["analyze", str(path), "--out", str(out), "--no-report"])
    return code, (out / "events.csv").read_text() if code == 0 else ""


def middle(text: bytes) -> int:
    """Where a line starts near the middle of the text."""
    return text.index(b"\n", len(text) // 2) + 1


@pytest.mark.parametrize("zeros", [4096, 65_600, 3_000_000])
def test_zeros_after_the_last_line_are_left_out_and_the_night_kept(night, tmp_path, zeros):
    folder, text, clean = night
    path = tmp_path / "night.csv"
    path.write_bytes(text + b"\0" * zeros)  # over 64 kB of them refused the whole night
    code, events = analyzed(path, tmp_path / "out")
    assert code == 0 and events == clean
    warnings = json.loads((tmp_path / "out" / "summary.json").read_text())["quality"]["warnings"]
    assert any(f"{zeros:,} bytes of zeros after the last line left out" in w for w in warnings)


def test_a_line_cut_by_the_power_cut_before_the_zeros_is_dropped(night, tmp_path):
    folder, text, clean = night
    lines = text.rstrip(b"\n").split(b"\n")
    cut = b"\n".join(lines) + b"\n" + lines[-1][: lines[-1].rindex(b".") + 1]  # '...,0.'
    path = tmp_path / "night.csv"
    path.write_bytes(cut + b"\0" * 100_000)
    code, events = analyzed(path, tmp_path / "out")
    assert code == 0 and events == clean
    warnings = json.loads((tmp_path / "out" / "summary.json").read_text())["quality"]["warnings"]
    assert any("the last line is incomplete and was ignored" in w for w in warnings)


def test_a_file_of_zeros_only_is_refused_as_such(tmp_path, capsys):
    path = tmp_path / "zeros.csv"
    path.write_bytes(b"\0" * 200_000)
    assert main(["analyze", str(path), "--out", str(tmp_path / "out")]) == 2
    assert "only zero bytes (200,000): a file reserved but never written" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_a_row_of_megabytes_is_named_by_its_line(night, tmp_path, capsys):
    folder, text, _ = night
    at = middle(text)
    line = text[:at].count(b"\n") + 1
    path = tmp_path / "long.csv.gz"
    path.write_bytes(gzip.compress(text[:at] + b"a" * 3_000_000 + b"\n" + text[at:], 1))
    assert main(["analyze", str(path), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert f"wrong number of fields: {'a' * 60!r} (line {line})" in err
    assert len(err.splitlines()) == 1


def test_escape_codes_in_a_bad_row_reach_the_terminal_as_text(night, tmp_path, capsys):
    folder, text, _ = night
    at = middle(text)
    line = text[:at].count(b"\n") + 1
    path = tmp_path / "escape.csv"
    path.write_bytes(text[:at] + b"\xff\x1b]0;PWNED\x07\x1b[2J\x1b[31mRED\n" + text[at:])
    assert main(["analyze", str(path), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "\x1b" not in err and "\x07" not in err and "\\x1b]0;PWNED" in err
    assert f"(line {line}); expected 4 fields" in err


@pytest.mark.parametrize("row", [b",,,", b"x,0,0,1"])
def test_rows_without_time_are_refused_before_they_fill_memory(night, tmp_path, capsys, row):
    folder, text, _ = night
    packer = zlib.compressobj(6, zlib.DEFLATED, 31)
    path = tmp_path / "timeless.csv.gz"
    with open(path, "wb") as handle:  # 12 million rows without a time after the night
        handle.write(packer.compress(text))
        for _ in range(12):  # a loop over millions of rows
            handle.write(packer.compress((row + b"\n") * 1_000_000))
        handle.write(packer.flush())
    assert main(["analyze", str(path), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "million rows" in err and "is missing" in err and len(err.splitlines()) == 1


@pytest.mark.parametrize("tail", [b",,,\n" * 2_000_000, b",,,\r\n" * 3000 + b" ;\n" * 10])
def test_rows_without_any_value_at_a_plain_files_end_are_left_out_at_the_source(
    night, tmp_path, capsys, tail
):
    """A logger's blank records: 4 bytes a row were 4 empty values of 8 bytes and more in
    the parse (100 MB of them: 1.8 GB, 11 s)."""
    from sleepmove.sensor.text_source import empty_rows_at_end, text_end

    folder, text, clean = night
    path = tmp_path / "blank_records.csv"
    path.write_bytes(text + tail)
    assert empty_rows_at_end(str(path), len(text + tail)) == (len(text), tail.count(b"\n"))
    assert text_end(str(path)) == len(text)  # the multi-day splitter reads as far
    code, events = analyzed(path, tmp_path / "out")
    assert code == 0 and events == clean
    err = capsys.readouterr().err
    rows = tail.count(b"\n")
    assert f"{rows} rows without any value after the last row with one left out" in err


def test_blank_lines_at_a_plain_files_end_are_no_rows_to_speak_of(night, tmp_path, capsys):
    folder, text, clean = night
    path = tmp_path / "blank_lines.csv"
    path.write_bytes(text + b"\n" * 2000 + b"\r\n" * 100)
    code, events = analyzed(path, tmp_path / "out")
    assert code == 0 and events == clean
    assert "without any value" not in capsys.readouterr().err


def test_a_few_rows_without_time_at_the_end_pass(night, tmp_path):
    folder, text, clean = night
    path = tmp_path / "few.csv.gz"
    path.write_bytes(gzip.compress(text + b",,,\n" * 2000, 1))
    code, events = analyzed(path, tmp_path / "out")
    assert code == 0 and events == clean


@pytest.mark.parametrize("name", ["blank.csv", "blank.csv.gz"])
def test_many_lines_of_spaces_are_skipped_as_blank_lines(night, tmp_path, name):
    folder, text, clean = night
    at = middle(text)
    spaced = text[:at] + b" \t \n" * 30_000 + text[at:] + b"  \n" * 30_000
    path = tmp_path / name
    path.write_bytes(gzip.compress(spaced, 1) if name.endswith(".gz") else spaced)
    code, events = analyzed(path, tmp_path / "out")
    assert code == 0 and events == clean


def test_lines_of_spaces_keep_a_bad_rows_line_number(night, tmp_path, capsys):
    folder, text, _ = night
    at = middle(text)
    before = text[:at] + b"  \n" * 30_000
    path = tmp_path / "blank_bad.csv"
    path.write_bytes(before + b"1,2\n" + text[at:])
    assert main(["analyze", str(path), "--out", str(tmp_path / "out")]) == 2
    line = before.count(b"\n") + 1
    assert f"(line {line})" in capsys.readouterr().err


def test_results_are_not_written_over_a_trend_report_or_a_validation(night, tmp_path, capsys):
    folder, _, _ = night
    recording = str(folder / "night.csv")
    nights = tmp_path / "n1"
    assert main(["analyze", recording, "--out", str(nights), "--no-report"]) == 0
    trend = tmp_path / "trend"
    assert main(["report", str(nights), "--out", str(trend)]) == 0
    page = (trend / "report.html").read_bytes()
    capsys.readouterr()
    assert main(["analyze", recording, "--out", str(trend)]) == 2
    err = capsys.readouterr().err
    assert "holds a trend report's results (figures/trend.png)" in err
    assert (trend / "report.html").read_bytes() == page and not (trend / "events.csv").exists()
    validation = tmp_path / "validation"
    (validation).mkdir()
    (validation / "validation.json").write_text("{}")
    assert main(["batch", str(folder), "--out", str(validation), "--no-report"]) == 2
    assert "holds a validation's results (validation.json)" in capsys.readouterr().err
    assert sorted(p.name for p in validation.iterdir()) == ["validation.json"]


def test_a_refusal_after_lines_of_spaces_leaves_the_process_free_to_exit(night, tmp_path):
    """A gzip read again after its blank lines, then refused by a guard, left arrow's threads
    hanging at the interpreter's exit."""
    import subprocess
    import sys

    folder, text, _ = night
    packer = zlib.compressobj(6, zlib.DEFLATED, 31)
    path = tmp_path / "blank_then_commas.csv.gz"
    with open(path, "wb") as handle:
        handle.write(packer.compress(text + b"  \n" * 20_000))
        for _ in range(12):  # a loop over millions of rows
            handle.write(packer.compress(b",,,\n" * 1_000_000))
        handle.write(packer.flush())
    script = (
        "import sys\nfrom sleepmove.sensor.formats import read_recording\n"
        "from sleepmove.base.errors import InputError\n"
        "try:\n    read_recording(sys.argv[1])\nexcept InputError:\n    print('refused')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(path)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0 and done.stdout.strip() == "refused", done.stderr


@pytest.mark.parametrize(
    "text, said",
    [
        (b"abc", "only 3 bytes of text, then 1,000 zero bytes: too short"),
        (b"   \n  \n", "only 7 bytes of text (blank), then 1,000 zero bytes: too short"),
    ],
)
def test_a_few_bytes_before_zeros_are_named_as_such(tmp_path, capsys, text, said):
    path = tmp_path / "short.csv"
    path.write_bytes(text + b"\0" * 1000)  # "no time column (header: abc)" said nothing of them
    assert main(["analyze", str(path), "--out", str(tmp_path / "out")]) == 2
    assert said in capsys.readouterr().err


def test_a_long_row_that_is_no_utf8_is_named_by_its_line(night, tmp_path, capsys):
    folder, text, _ = night
    at = middle(text)
    line = text[:at].count(b"\n") + 1
    path = tmp_path / "long_garbage.csv"
    path.write_bytes(text[:at] + b"\xff" + b"a" * 300 + b"\n" + text[at:])  # arrow cuts at 100
    assert main(["analyze", str(path), "--out", str(tmp_path / "out")]) == 2
    assert f"(line {line}); expected 4 fields" in capsys.readouterr().err


def test_a_time_column_in_two_forms_is_refused_not_halved(night, tmp_path, capsys):
    """Half the rows in ISO-8601, half in Unix seconds: half the night was dropped with a
    warning; it is refused, naming the forms and the first line of the other one."""
    from datetime import datetime, timezone

    folder, text, _ = night
    lines = text.decode().splitlines()
    mixed = [lines[0]]
    for index, line in enumerate(lines[1:]):  # a loop over rows of a small night
        stamp, rest = line.split(",", 1)
        if index % 2:
            stamp = datetime.fromtimestamp(float(stamp), tz=timezone.utc).isoformat()
        mixed.append(f"{stamp},{rest}")
    path = tmp_path / "mixed.csv"
    path.write_text("\n".join(mixed) + "\n")
    assert main(["analyze", str(path), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "times in two forms, dates and plain numbers" in err and "(line 2)" in err
    assert "expected one form of time throughout the column" in err


def test_a_few_unreadable_times_are_still_dropped_and_counted(night, tmp_path):
    folder, text, clean = night
    lines = text.decode().splitlines()
    lines[100] = "junk," + lines[100].split(",", 1)[1]  # one row of 45,000
    path = tmp_path / "junk.csv"
    path.write_text("\n".join(lines) + "\n")
    assert main(["analyze", str(path), "--out", str(tmp_path / "out"), "--no-report"]) == 0
    warnings = json.loads((tmp_path / "out" / "summary.json").read_text())["quality"]["warnings"]
    assert any("1 row whose time is unreadable dropped (first at line 101" in w for w in warnings)
