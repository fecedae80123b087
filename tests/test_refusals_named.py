"""Files that are no recording are refused in one line naming what they are (a stress test
found images, archives, a gzipped .cwa and UTF-16 text all called "binary data", and a file
of three bytes said to lack a time column). Each file is built here, a few bytes of it."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import tarfile

import numpy as np
import pytest

from sleepmove.base.errors import InputError
from sleepmove.sensor.formats import csv_text, identify
from tests.test_cli_robustness import refused
from tests.test_formats import cwa_bytes, cwa_time

CSV = "time,x,y,z\n" + "".join(f"{i / 25:.2f},0.01,-0.02,0.98\n" for i in range(200))


def _tar(name: str, data: bytes) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.USTAR_FORMAT) as archive:
        member = tarfile.TarInfo(name)
        member.size = len(data)
        archive.addfile(member, io.BytesIO(data))
    return out.getvalue()


def _cwa() -> bytes:
    return cwa_bytes([(cwa_time(2024, 1, 1, 0, 0, 0), np.zeros((80, 3), dtype=np.int16))])


def _analyze_refuses(tmp_path, capsys, name: str, data: bytes, *wanted: str) -> str:
    """`analyze` of `data` saved as `name`: exit 2, one line naming the file and `wanted`,
    and no output folder."""
    path = tmp_path / name
    path.write_bytes(data)
    out = tmp_path / "out"
    said = refused(capsys, ["analyze", str(path), "--out", str(out), "--no-report"], *wanted)
    assert said.startswith(f"sleepmove: error: {path}: "), said
    assert not out.exists()
    return said


@pytest.mark.parametrize(
    "data, wanted",
    [
        (b"\x89PNG\r\n\x1a\n" + bytes(100), ["a PNG image; expected accelerometer samples"]),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(100), ["a JPEG image; expected"]),
        (
            _tar("night.csv", CSV.encode()),
            ["a tar archive (first member: night.csv)", "unpack it first (tar -xf)"],
        ),
        (bz2.compress(CSV.encode()), ["a bzip2-compressed file", "(bunzip2)"]),
        (lzma.compress(CSV.encode()), ["an xz-compressed file", "(unxz)"]),
        (b"7z\xbc\xaf\x27\x1c\x00\x04" + bytes(100), ["a 7-Zip archive", "extract it first"]),
        (b"Rar!\x1a\x07\x01\x00" + bytes(100), ["a RAR archive", "extract it first"]),
        (b"\x28\xb5\x2f\xfd" + bytes(100), ["a Zstandard-compressed file", "(unzstd)"]),
    ],
    ids=["png", "jpeg", "tar", "bz2", "xz", "7z", "rar", "zstd"],
)
def test_images_and_archives_are_named(tmp_path, capsys, data, wanted):
    said = _analyze_refuses(tmp_path, capsys, "night.csv", data, *wanted)
    assert "binary data" not in said


@pytest.mark.parametrize(
    "content, wanted",
    [
        (_cwa(), ["an Axivity .cwa file compressed with gzip", "gunzip it first"]),
        (
            _tar("night.csv", CSV.encode()),
            ["a tar archive (first member: night.csv) compressed with gzip", "tar -xf"],
        ),
        (gzip.compress(CSV.encode()), ["a gzip file compressed with gzip again", "gunzip it once"]),
        (CSV.encode("utf-16"), ["UTF-16 text", "compressed with gzip", "CSV UTF-8"]),
        (
            np.random.default_rng(3).bytes(3000),
            ["a gzip file whose content is binary data, not CSV text"],
        ),
    ],
    ids=["cwa", "tar", "gzip", "utf16", "binary"],
)
def test_a_gzip_file_names_what_it_holds(tmp_path, capsys, content, wanted):
    # Named .cwa.gz as a user would keep it: the name decides nothing
    _analyze_refuses(tmp_path, capsys, "night.cwa.gz", gzip.compress(content), *wanted)


def test_the_content_of_a_gzip_file_is_told_from_the_head_already_read(tmp_path):
    # identify opens nothing more to look inside a gzip file: a CSV's read costs no extra
    # read of its text (the path here names no file at all)
    head = gzip.compress(CSV.encode())[:4096]
    assert identify(str(tmp_path / "absent.csv.gz"), head) is csv_text
    cwa_head = gzip.compress(_cwa())[:4096]
    with pytest.raises(InputError, match="an Axivity .cwa file compressed with gzip"):
        identify(str(tmp_path / "absent.cwa.gz"), cwa_head)


@pytest.mark.parametrize(
    "data",
    [
        CSV.encode("utf-16"),
        CSV.encode("utf-16-le"),
        CSV.encode("utf-16-be"),
        b"\xfe\xff" + CSV.encode("utf-16-be"),
    ],
    ids=["bom-le", "no-bom-le", "no-bom-be", "bom-be"],
)
def test_utf16_text_is_named_with_what_to_save_instead(tmp_path, capsys, data):
    said = _analyze_refuses(
        tmp_path, capsys, "night.csv", data, "UTF-16 text", 'Save as > "CSV UTF-8'
    )
    assert "binary data" not in said


def test_small_16_bit_numbers_are_binary_data_not_utf16(tmp_path, capsys):
    # NUL in every other byte, as UTF-16 has, but control bytes between them
    data = (np.arange(4000) % 200).astype("<i2").tobytes()
    said = _analyze_refuses(tmp_path, capsys, "night.csv", data, "binary data, not a CSV text")
    assert "UTF-16" not in said


@pytest.mark.parametrize(
    "data, wanted",
    [
        (b"", "empty file"),
        (b"\n \n", "empty file"),
        (b"t", "only 1 byte, too short to hold a recording"),
        (b"1,2", "only 3 bytes, too short to hold a recording"),
        (b"MD\x00", "only 3 bytes, too short to hold a recording"),
        (gzip.compress(b"abc"), "a gzip file whose text is only 3 bytes, too short"),
        # Four bytes may be a header cut short: the reader says what it lacks
        (b"time", "no x acceleration column (header: time)"),
    ],
    ids=["0", "blank", "1", "3", "3-binary", "gzip-3", "4"],
)
def test_a_file_of_a_few_bytes_says_so(tmp_path, capsys, data, wanted):
    said = _analyze_refuses(tmp_path, capsys, "night.csv", data, wanted)
    assert "no time column" not in said


def test_a_gzipped_real_cwa_is_named(real_data, tmp_path, capsys):
    # Only its first 64 KB: the refusal needs no more (and none is copied into the project)
    with open(real_data / "skdh_samples" / "ax3_sample.cwa", "rb") as handle:
        start = handle.read(64 * 1024)
    _analyze_refuses(
        tmp_path,
        capsys,
        "ax3.cwa.gz",
        gzip.compress(start),
        "an Axivity .cwa file compressed with gzip",
        "gunzip it first",
    )
