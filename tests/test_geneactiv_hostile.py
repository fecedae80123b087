"""GENEActiv .bin files a stress tester damaged and the reader read wrongly without a word: a
page's line of samples one hex digit too long (292 samples of 7-9 g, a false leg movement),
a page whose Measurement Frequency is not the header's (its samples spread over 300 s and
sorted in among the next pages'), and files cut inside their first page or first line, or
lacking a page mid-file, named wrongly. Files built by tests/test_formats.py's builders, and
the real GENEActiv file where ../shared/data/real is present (damaged copies in tmp_path)."""

from __future__ import annotations

import numpy as np
import pytest

from sleepmove.sensor.formats import read_recording
from tests.test_device_file_damage import geneactiv_night, refused
from tests.test_formats import write

MARKER = b"\nRecorded Data"


def _split(data: bytes) -> tuple[bytes, list[bytes]]:
    """The header (up to its last newline) and each page (from its marker, no final newline)."""
    first = data.index(MARKER) + 1
    pages = data[first:].rstrip(b"\n").split(MARKER)
    return data[:first], [pages[0]] + [MARKER[1:] + page for page in pages[1:]]


def _joined(header: bytes, pages: list[bytes]) -> bytes:
    return header + b"\n".join(pages) + b"\n"


def _with_sample_line(page: bytes, change) -> bytes:
    lines = page.split(b"\n")
    lines[-1] = change(lines[-1])  # a page's last line holds its samples
    return b"\n".join(lines)


def _without_page(rec_whole, page: int) -> np.ndarray:
    """Which of the whole file's samples are not page `page`'s (counted from 1)."""
    kept = np.ones(len(rec_whole.time_s), dtype=bool)
    kept[(page - 1) * 300 : page * 300] = False
    return kept


def _real_bin(real_data) -> str:
    path = real_data / "wristpy_samples" / "example_geneactiv.bin"
    if not path.is_file():
        pytest.skip(f"{path} not present")
    return str(path)


# --- 1. a line of samples one hex digit too long ---------------------------------------------


def test_page_whose_sample_line_gained_a_digit_is_left_out(tmp_path):
    """One digit inserted: actfast decoded the page's 300 samples, 292 of them shifted."""
    whole_path = geneactiv_night(tmp_path, seconds=600)
    whole = read_recording(whole_path)
    header, pages = _split(open(whole_path, "rb").read())
    pages[10] = _with_sample_line(pages[10], lambda line: line[:100] + b"A" + line[100:])
    rec = read_recording(write(tmp_path / "gained.bin", _joined(header, pages)))
    kept = _without_page(whole, 11)
    assert len(rec.time_s) == 19 * 300
    np.testing.assert_array_equal(rec.time_s, whole.time_s[kept])
    np.testing.assert_array_equal(rec.xyz_g, whole.xyz_g[kept])
    assert any("1 damaged pages" in w and "page 11" in w for w in rec.warnings), rec.warnings


def test_gained_digit_before_a_damaged_marker_is_still_found(tmp_path):
    """The page after's marker damaged too: the pages are not where their markers say, and
    each long line is looked at."""
    whole_path = geneactiv_night(tmp_path, seconds=600)
    header, pages = _split(open(whole_path, "rb").read())
    pages[4] = _with_sample_line(pages[4], lambda line: line[:700] + b"7" + line[700:])
    pages[5] = pages[5].replace(b"Recorded Data", b"Recorded Dxta")
    rec = read_recording(write(tmp_path / "both.bin", _joined(header, pages)))
    assert np.abs(rec.xyz_g).max() < 1.1 and len(rec.time_s) < 20 * 300
    assert any("damaged pages" in w for w in rec.warnings), rec.warnings


def test_damaged_marker_alone_still_reads_every_page(tmp_path):
    """actfast reads a page as its 10 lines: a marker damaged loses nothing, and the check
    for lines of the wrong length does not make it lose a page."""
    whole_path = geneactiv_night(tmp_path, seconds=600)
    whole = read_recording(whole_path)
    header, pages = _split(open(whole_path, "rb").read())
    pages[5] = pages[5].replace(b"Recorded Data", b"Recorded Dxta")
    rec = read_recording(write(tmp_path / "marker.bin", _joined(header, pages)))
    np.testing.assert_array_equal(rec.time_s, whole.time_s)
    np.testing.assert_array_equal(rec.xyz_g, whole.xyz_g)


def test_real_file_page_11_gained_a_digit_is_left_out(real_data, tmp_path):
    path = _real_bin(real_data)
    whole = read_recording(path)
    header, pages = _split(open(path, "rb").read())
    pages[10] = _with_sample_line(pages[10], lambda line: line[:100] + b"A" + line[100:])
    rec = read_recording(write(tmp_path / "gained.bin", _joined(header, pages)))
    kept = _without_page(whole, 11)
    assert len(whole.time_s) == 27300 and len(rec.time_s) == 27000
    np.testing.assert_array_equal(rec.time_s, whole.time_s[kept])
    np.testing.assert_array_equal(rec.xyz_g, whole.xyz_g[kept])
    assert any("1 damaged pages" in w and "page 11" in w for w in rec.warnings), rec.warnings


# --- 2. a page's Measurement Frequency that is not the header's ------------------------------


@pytest.mark.parametrize("stated", ["xyz", "1.0", "30.0", "20.0"])
def test_page_stating_another_rate_is_timed_at_the_headers(tmp_path, stated):
    """Page 6 of 10 Hz pages 30 s apart says another rate: actfast spread its samples over
    300 s (xyz, 1.0), sorted in among the next pages'; now timed as the others."""
    whole_path = geneactiv_night(tmp_path, seconds=600)
    whole = read_recording(whole_path)
    header, pages = _split(open(whole_path, "rb").read())
    pages[5] = pages[5].replace(b"Frequency:10.0", b"Frequency:" + stated.encode())
    rec = read_recording(write(tmp_path / "rate.bin", _joined(header, pages)))
    np.testing.assert_array_equal(rec.time_s, whole.time_s)
    np.testing.assert_array_equal(rec.xyz_g, whole.xyz_g)
    assert rec.nominal_rate_hz == 10.0
    said = [w for w in rec.warnings if "Measurement Frequency other than the header's 10 Hz" in w]
    assert len(said) == 1 and "first is page 6" in said[0], rec.warnings
    assert not any("out of time order" in w for w in rec.warnings), rec.warnings


def test_every_page_stating_no_number_keeps_the_recordings_length(tmp_path):
    whole_path = geneactiv_night(tmp_path, seconds=600)
    whole = read_recording(whole_path)
    data = open(whole_path, "rb").read()
    damaged = data.replace(b"Measurement Frequency:10.0", b"Measurement Frequency:xyz")
    rec = read_recording(write(tmp_path / "xyz.bin", damaged))
    np.testing.assert_array_equal(rec.time_s, whole.time_s)
    assert any("20 pages state a Measurement Frequency other" in w for w in rec.warnings)


def test_page_whose_rate_and_page_time_are_both_off_is_left_out(tmp_path):
    """Page 6 says 30 Hz, and its Page Time is 7 s late: neither rate is borne out by the
    Page Times around it (37 and 23 s apart): left out, not guessed at."""
    whole_path = geneactiv_night(tmp_path, seconds=600)
    whole = read_recording(whole_path)
    header, pages = _split(open(whole_path, "rb").read())
    assert b"Page Time:2024-03-30 23:51:30:000" in pages[5]
    pages[5] = pages[5].replace(b"23:51:30:000", b"23:51:37:000")
    pages[5] = pages[5].replace(b"Measurement Frequency:10.0", b"Measurement Frequency:30.0")
    rec = read_recording(write(tmp_path / "both.bin", _joined(header, pages)))
    kept = _without_page(whole, 6)
    np.testing.assert_array_equal(rec.time_s, whole.time_s[kept])
    np.testing.assert_array_equal(rec.xyz_g, whole.xyz_g[kept])
    assert any(
        "1 damaged pages whose Measurement Frequency" in w and "first is page 6" in w
        for w in rec.warnings
    ), rec.warnings


def test_pages_whose_rate_their_page_times_bear_out_keep_it(tmp_path):
    """Every page says 20 Hz, and the Page Times are 15 s apart, as 300 samples at 20 Hz
    take: the header's 10 Hz is what is wrong, and the pages are read at their own rate."""
    path = geneactiv_night(tmp_path, seconds=600)
    header, pages = _split(open(path, "rb").read())
    for index in range(len(pages)):  # a loop over pages
        start = index * 15
        stamp = f"23:{50 + start // 60:02d}:{start % 60:02d}:000".encode()
        old = pages[index].split(b"Page Time:2024-03-30 ")[1][:12]
        pages[index] = pages[index].replace(old, stamp)
        pages[index] = pages[index].replace(b"Frequency:10.0", b"Frequency:20.0")
    rec = read_recording(write(tmp_path / "twenty.bin", _joined(header, pages)))
    assert len(rec.time_s) == 6000
    np.testing.assert_allclose(np.diff(rec.time_s), 0.05, atol=1e-6)
    assert not any("other than the header's" in w for w in rec.warnings), rec.warnings


@pytest.mark.parametrize("pages_changed", [1, -1])
def test_real_file_pages_stating_no_rate_are_not_scrambled(real_data, tmp_path, pages_changed):
    """Page 11, or every page, of the real file says `xyz`: 17 875 of 27 300 samples moved,
    or the recording stretched from 0.126 to 0.208 h."""
    path = _real_bin(real_data)
    whole = read_recording(path)
    header, pages = _split(open(path, "rb").read())
    changed = range(len(pages)) if pages_changed < 0 else [10]
    for index in changed:  # a loop over pages
        pages[index] = pages[index].replace(b"Frequency:60.0", b"Frequency:xyz")
    rec = read_recording(write(tmp_path / "xyz.bin", _joined(header, pages)))
    assert len(rec.time_s) == 27300 and rec.nominal_rate_hz == 60.0
    np.testing.assert_allclose(rec.time_s, whole.time_s, rtol=0, atol=1e-6)
    np.testing.assert_array_equal(rec.xyz_g, whole.xyz_g)


# --- 3. files cut short or lacking a page, named rightly --------------------------------------


@pytest.mark.parametrize("after_marker", [0, 5, 200])
def test_file_cut_inside_its_first_page_names_the_file(tmp_path, capsys, after_marker):
    """Named a temporary copy's path (/tmp/tmpXXXX.bin), not the user's file."""
    data = open(geneactiv_night(tmp_path), "rb").read()
    first = data.index(b"Recorded Data")
    cut = data[: first + after_marker] if after_marker else data[:first] + b"Recorded Data\n"
    path = write(tmp_path / "cut.bin", cut)
    error = refused(tmp_path, capsys, path, "cut.bin", "one page is incomplete")
    assert "/tmp/tmp" not in error.replace(str(tmp_path), ""), error


def test_file_cut_inside_its_first_line_is_named_a_geneactiv_file(tmp_path, capsys):
    """Cut at 10 bytes ("Device Ide"): read as a CSV, "no time column (header: Device Ide)"."""
    data = open(geneactiv_night(tmp_path), "rb").read()
    path = write(tmp_path / "ten.bin", data[:10])
    refused(tmp_path, capsys, path, "GENEActiv", "cut short inside its first line")


def test_page_missing_mid_file_is_not_called_a_cut(tmp_path):
    whole_path = geneactiv_night(tmp_path, seconds=600)
    header, pages = _split(open(whole_path, "rb").read())
    rec = read_recording(write(tmp_path / "gap.bin", _joined(header, pages[:10] + pages[11:])))
    assert len(rec.time_s) == 19 * 300
    assert any(
        "1 pages are missing within the file" in w and "after page 10" in w for w in rec.warnings
    )
    assert not any("cut short" in w for w in rec.warnings), rec.warnings


def test_file_cut_at_a_page_boundary_is_still_called_cut_short(tmp_path):
    whole_path = geneactiv_night(tmp_path, seconds=600)
    header, pages = _split(open(whole_path, "rb").read())
    rec = read_recording(write(tmp_path / "end.bin", _joined(header, pages[:15])))
    assert len(rec.time_s) == 15 * 300
    assert any("the file is cut short" in w for w in rec.warnings), rec.warnings
