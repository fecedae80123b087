"""Files this program does not read, recognized by content so a refusal names what they are."""

from __future__ import annotations

import zlib

from sleepmove.sensor.text_source import CONTROL_BYTES

ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # legacy Office files (.xls)
GZIP_MAGIC = b"\x1f\x8b"
SAMPLES = "accelerometer samples (.cwa, .bin, .gt3x, Parquet or CSV)"
ITSELF = "the recording itself"
# A gzip file's content is judged from this much of it, inflated from the head already
# read: enough for every signature here (a tar's sits at byte 257), bounded however far
# the head would inflate.
INFLATED_HEAD_BYTES = 4096
# Archives and compressors other than zip and gzip, told by their first bytes.
ARCHIVES = (
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive", "extract it first (7z x)"),
    (b"Rar!\x1a\x07", "a RAR archive", "extract it first (unrar x)"),
    (b"\xfd7zXZ\x00", "an xz-compressed file", "decompress it first (unxz)"),
    (b"\x28\xb5\x2f\xfd", "a Zstandard-compressed file", "decompress it first (unzstd)"),
)


def zip_members(path: str) -> list[str]:
    """The names in a zip archive; empty if it cannot be opened as one."""
    import zipfile  # only for zip files: a CSV's read never pays its import

    try:
        with zipfile.ZipFile(path) as archive:
            return archive.namelist()
    except (OSError, zipfile.BadZipFile, ValueError):
        return []


def describe(head: bytes, path: str) -> tuple[str, str] | None:
    """(what the file is, what to do instead) for known kinds we do not read; else None."""
    if head.startswith(ZIP_MAGIC):
        members = zip_members(path)
        if any(name.startswith("xl/") for name in members):
            return "an Excel workbook", "a CSV: export it as CSV (File > Save as > CSV)"
        if "content.xml" in members and "mimetype" in members:
            return "an OpenDocument spreadsheet", "a CSV: export it as CSV"
        if "info.txt" in members:
            return (
                "a zip holding info.txt but no log.bin or activity.bin: an incomplete .gt3x",
                "the .gt3x as the device or ActiLife wrote it",
            )
        if not members:  # "unreadable, not a .gt3x" misled for a .gt3x cut short
            return (
                "a zip archive whose directory cannot be read: cut short or damaged",
                "the whole file as it was written (a .gt3x is a zip; copy it again)",
            )
        shown = ", ".join(members[:4]) + (", ..." if len(members) > 4 else "")
        if "activity.bin" in members:
            return (
                f"a zip holding {shown} but no info.txt: an incomplete .gt3x (its sample "
                "rate and scale are in info.txt)",
                "the .gt3x as the device or ActiLife wrote it",
            )
        return (
            f"a zip archive ({shown}), not a .gt3x (it holds neither info.txt nor log.bin)",
            "a .gt3x, .cwa, GENEActiv .bin, Parquet or CSV file; unzip it first",
        )
    return describe_content(head)


def describe_content(head: bytes) -> tuple[str, str] | None:
    """`describe` for what the first bytes alone tell: also a gzip file's content, which has
    no path of its own to open."""
    if head.startswith(ZIP_MAGIC):
        return "a zip archive", "a .gt3x, .cwa, GENEActiv .bin, Parquet or CSV file; unzip it first"
    if head.startswith(OLE_MAGIC):
        return "an Excel 97-2003 workbook (.xls)", "a CSV: export it as CSV"
    if head.startswith(b"SQLite format 3\x00"):
        return (
            "an SQLite database, such as an ActiLife .agd epoch file (counts, not raw "
            "acceleration)",
            "raw samples: the .gt3x, or an ActiLife raw CSV export",
        )
    if head.startswith(b"%PDF"):
        return "a PDF document", "accelerometer samples"
    if head.startswith(b"\x89HDF"):
        return "an HDF5 file", "a CSV or Parquet export of the samples"
    if len(head) >= 256 and head[:8] == b"0       " and head[184:192].strip().isdigit():
        return "an EDF file", SAMPLES
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "a PNG image", SAMPLES
    if head.startswith(b"\xff\xd8\xff"):
        return "a JPEG image", SAMPLES
    if head[257:262] == b"ustar":  # POSIX and GNU tar: the magic of the first member's header
        first = head[:100].split(b"\x00", 1)[0].decode("utf-8", "replace")
        return f"a tar archive (first member: {first})", f"{ITSELF}: unpack it first (tar -xf)"
    # bzip2: "BZh", the block size, then the first block's magic (pi in BCD)
    if head[:3] == b"BZh" and head[3:4].isdigit() and head[4:10] == b"1AY&SY":
        return "a bzip2-compressed file", f"{ITSELF}: decompress it first (bunzip2)"
    for magic, what, instead in ARCHIVES:  # a loop over a few signatures
        if head.startswith(magic):
            return what, f"{ITSELF}: {instead}"
    if is_utf16(head):
        return (
            'UTF-16 text (as Excel\'s "Unicode Text" saves)',
            'a CSV in UTF-8: in Excel, File > Save as > "CSV UTF-8 (Comma delimited)"',
        )
    return None


def is_utf16(head: bytes) -> bool:
    """Whether the bytes are UTF-16 text: its byte-order mark, or, without one, NUL in nine
    of ten of every other byte (the high bytes of Latin text, as a CSV's header and numbers
    are) and text in the rest. Binary data with NULs in every other byte (small 16-bit
    numbers) has NULs or control bytes between them too."""
    if head[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return True
    pairs = head[: len(head) // 2 * 2]
    if len(pairs) < 8:
        return False
    for low, high in ((pairs[0::2], pairs[1::2]), (pairs[1::2], pairs[0::2])):  # LE, BE
        if high.count(0) >= 0.9 * len(high):
            return len(low.translate(None, CONTROL_BYTES)) == len(low)
    return False


def inflated_head(head: bytes) -> bytes:
    """The start of a gzip file's content, from its head alone (no more of the file is
    read); empty where the head is damaged or cut before any (the CSV reader says so)."""
    try:
        return zlib.decompressobj(wbits=31).decompress(head, INFLATED_HEAD_BYTES)
    except zlib.error:
        return b""


def describe_gzipped(content: bytes, readable: str | None) -> tuple[str, str] | None:
    """(what, what to do instead) for a gzip file that holds no CSV text: `readable` names
    the format read here that its `content` is in, if any (read as it is, never gzipped);
    else the kind `describe_content` tells. None for text, or content of no known kind."""
    if readable is not None:
        return (
            f"{readable} compressed with gzip",
            "the file itself: gunzip it first (it is read as it is; only CSV text is read gzipped)",
        )
    if content.startswith(GZIP_MAGIC):
        return "a gzip file compressed with gzip again", "a .csv.gz: gunzip it once"
    what = describe_content(content)
    if what is None:
        return None
    kind, instead = what
    return f"{kind} compressed with gzip", instead
