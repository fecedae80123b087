"""ActiGraph .gt3x: a zip holding info.txt and log.bin (or the older activity.bin).

log.bin is a sequence of records: 0x1E, type, 4-byte time (the device's local clock, in
seconds), 2-byte payload size, payload, 1-byte checksum. ACTIVITY (0x00) records hold
12-bit packed samples; ACTIVITY2 (0x1A, written by ActiGraph Link) records little-endian
16-bit ones. Both are decoded here, vectorized: actfast skips ACTIVITY2 without a word
(zero samples), and takes scale and rate from a PARAMETERS record, so that a file without
one came out 65536 times too large at a wrong rate; info.txt is what ActiLife goes by.
The older activity.bin layout (NHANES era) is not decoded: actfast 1.3 reads log.bin only
(after reserving 2.4 GB, which aborts the process under a memory limit), so such a file is
refused from its zip listing. Each record is one second; idle-sleep seconds have no record
and stay gaps (never filled with a repeated value, which would look like stillness).
Samples are in counts of `Acceleration Scale` per g (info.txt): the device stores them
calibrated.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, BinaryIO, NoReturn

import numpy as np

from sleepmove.base.errors import InputError
from sleepmove.sensor.formats.other import ZIP_MAGIC, zip_members
from sleepmove.sensor.formats.samples import STRAY_MAX_BLOCKS, device_recording, stray_blocks
from sleepmove.sensor.recording import Recording
from sleepmove.sensor.zones import stated_offset

if TYPE_CHECKING:
    import zipfile

NAME = "an ActiGraph .gt3x file"
RECORD_SEPARATOR = 0x1E
ACTIVITY, ACTIVITY2 = 0x00, 0x1A
DEFAULT_SCALE = 256.0  # counts per g when info.txt gives no Acceleration Scale


def recognizes(head: bytes, path: str) -> bool:
    if not head.startswith(ZIP_MAGIC):
        return False
    members = set(zip_members(path))
    if not members:  # a zip cut short has no directory: its first member's name tells
        return _first_member_name(head) in ("log.bin", "info.txt")
    # log.bin without info.txt is read as a .gt3x cut short before it is (rate from the
    # records, with a warning): a whole zip of the same is no different.
    return "log.bin" in members or {"info.txt", "activity.bin"} <= members


def _first_member_name(head: bytes) -> str:
    name_length = int.from_bytes(head[26:28], "little")
    return head[30 : 30 + name_length].decode("latin-1")


def _info_of(data: bytes) -> dict[str, str]:
    text = data.decode("utf-8", errors="replace")
    pairs = (line.split(":", 1) for line in text.splitlines() if ":" in line)
    return {key.strip(): value.strip() for key, value in pairs}


def read(path: str, units: str) -> tuple[Recording, float | None]:
    warnings: list[str] = []
    members, damage = _members(path, warnings)
    if "log.bin" not in members:
        _refuse_without_log(path, members, damage)
    info = _info_of(members.get("info.txt", b""))
    low, high = RATE_RANGE_HZ
    rate = _info_number(
        path, info, "Sample Rate", RATE_RANGE_HZ, f"{low:g} to {high:,g} Hz, such as 30 or 100"
    )
    zone = info.get("TimeZone", "")
    offset = stated_offset(path, "info.txt's TimeZone", zone)
    if zone and offset is None:
        warnings.append(
            f"info.txt's TimeZone {zone[:20]!r} is unreadable: clock times kept as the device "
            "wrote them (give --timezone)"
        )
    scale = _info_number(
        path, info, "Acceleration Scale", SCALE_RANGE, "counts per g such as 256 or 341"
    )
    warnings += _calibration_warnings(members)
    log = members["log.bin"]
    if rate is None:
        rate = _rate_of_records(log)
        lost = "info.txt is lost" if not info else "info.txt gives no Sample Rate"
        assumed = "" if scale else f", {DEFAULT_SCALE:g} counts per g assumed"
        unknown = "" if offset is not None else ", the time zone unknown (give --timezone)"
        warnings.append(f"{lost}: {rate:g} Hz taken from the records{assumed}{unknown}")
    # Every record's checksum checked, not only after zip damage: a record damaged inside a
    # zip whose CRC holds (re-zipped) read as up to 128 g in silence, and a broken separator
    # ended the night there.
    stamps, acceleration, rate = decode_log(log, rate, scale or DEFAULT_SCALE, warnings, check=True)
    if damage and not len(stamps):  # "no samples could be decoded" would blame the device
        raise InputError(
            path,
            f"{NAME} {damage}: none of its accelerometer records is whole",
            expected="the whole file as the device or ActiLife wrote it (copy it again)",
        )
    recording = device_recording(path, NAME, stamps, acceleration, units, rate, warnings)
    return recording, offset


# info.txt holds rates of 30 to 100 Hz and scales of 256, 341.33 or 1024 counts per g; values
# outside these wide bounds are damage, and would make no samples or no units.
RATE_RANGE_HZ = (1.0, 10_000.0)
SCALE_RANGE = (1.0, 100_000.0)


def _info_number(
    path: str, info: dict[str, str], key: str, bounds: tuple[float, float], expected: str
) -> float | None:
    """A number info.txt gives (a decimal comma allowed); None if it gives none; a value
    that is no number, or none a device writes, refused with one line."""
    text = info.get(key, "")
    if not text:
        return None
    try:
        value = float(text.replace(",", "."))
    except ValueError:
        value = float("nan")
    if not bounds[0] <= value <= bounds[1]:  # NaN fails too
        raise InputError(path, f"info.txt's {key} is {text[:20]!r}", expected=expected)
    return value


def _refuse_without_log(path: str, members: dict[str, bytes], damage: str | None) -> NoReturn:
    """A .gt3x without log.bin: the older layout, or a zip cut short before log.bin."""
    if "activity.bin" in members:
        raise InputError(
            path,
            f"{NAME} of the older layout (activity.bin, NHANES-era GT3X), which this "
            "program does not decode",
            expected="its raw samples exported by ActiLife as a CSV file",
        )
    raise InputError(
        path,
        f"{NAME} {damage} before its log.bin: no accelerometer records are left"
        if damage
        else f"{NAME} without log.bin: it holds no accelerometer records",
        expected="the whole file as the device or ActiLife wrote it (copy it again)",
    )


READ_MEMBERS = ("log.bin", "info.txt", "calibration.json")  # the others are only named


def _members(path: str, warnings: list[str]) -> tuple[dict[str, bytes], str | None]:
    """The members' bytes, and what damage means log.bin must be checked record by record
    (None: none): a member the zip directory does not give whole (its CRC fails, it is not
    where the directory says, it is cut short), or the zip is cut short (its members read
    up to the cut). Each member is inflated here, not by zipfile (`_inflate`)."""
    import zipfile

    try:
        with zipfile.ZipFile(path) as archive:
            listed = archive.infolist()
    except (zipfile.BadZipFile, OSError):
        return _salvaged_members(path, warnings), "cut short (its zip directory is lost)"
    _refuse_repeated(path, [(info.filename, info.file_size) for info in listed])
    members: dict[str, bytes] = {}
    failed: dict[str, str] = {}  # member: what is wrong with it
    for info in listed:  # a loop over members
        if info.filename not in READ_MEMBERS:  # named only: 100 members of 63 MB each,
            members[info.filename] = b""  # all inflated, took 5.4 GB
            continue
        _check_inflated(path, info.filename, info.file_size, info.compress_size)
        _refuse_unreadable(path, info.filename, info.flag_bits, info.compress_type)
        members[info.filename], problem = _listed_member(path, info)
        if problem:
            failed[info.filename] = problem
    if not failed:
        return members, None
    return _mended(path, members, failed, warnings)


def _listed_member(path: str, info: zipfile.ZipInfo) -> tuple[bytes, str | None]:
    """A member where the zip directory places it: its bytes, and what is wrong with it
    (None: nothing)."""
    elsewhere = "is not where the zip directory says it is"
    with open(path, "rb") as handle:
        if not 0 <= info.header_offset <= os.fstat(handle.fileno()).st_size - 30:
            return b"", elsewhere  # bytes lost before it moved the directory's offsets
        handle.seek(info.header_offset)
        local = handle.read(30)
        if not local.startswith(ZIP_MAGIC):
            return b"", elsewhere
        handle.seek(info.header_offset + 30 + _local_extent(local))
        data, crc, problem = _inflate(
            path, info.filename, handle, info.compress_type, info.compress_size
        )
    if problem is None and crc != info.CRC:
        problem = "fails its zip CRC"
    return data, problem


def _local_extent(local: bytes) -> int:
    """The bytes of name and extra field after a local header's 30."""
    return int.from_bytes(local[26:28], "little") + int.from_bytes(local[28:30], "little")


def _mended(
    path: str, members: dict[str, bytes], failed: dict[str, str], warnings: list[str]
) -> tuple[dict[str, bytes], str | None]:
    """The members the zip directory does not give whole, each taken instead from the
    scan of local headers where that gives more (records, for log.bin): a directory whose
    offset of log.bin was damaged read 297 of 422 records, from the wrong place."""
    try:
        scanned = _salvaged_members(path, [])
    except InputError:  # the scan's own trouble is no reason to refuse what was read
        scanned = {}
    for name, problem in failed.items():  # a loop over damaged members
        found = scanned.get(name, b"")
        local = _worth(name, found) > _worth(name, members[name])
        if local:
            members[name] = found
        how = "read from its local header" if local else "read as stored"
        by_record = ", record by record" if name == "log.bin" else ""
        warnings.append(f"{name} {problem}: {how}{by_record}")
    name, problem = next(iter(failed.items()))
    return members, f"damaged ({name} {problem})"


def _worth(name: str, data: bytes) -> int:
    """What a member's bytes hold: log.bin's whole records, another's bytes."""
    return len(record_table(data, check=True)[0]) if name == "log.bin" else len(data)


# Compression methods zip readers inflate (stored, deflated, bzip2, LZMA); a few others by
# name, for the line that refuses them.
METHODS = (0, 8, 12, 14)
METHOD_NAMES = {1: "Shrink", 6: "Implode", 9: "Deflate64", 93: "Zstandard", 99: "AES"}


def _refuse_unreadable(path: str, name: str, flags: int, method: int) -> None:
    """Refuse a member that is encrypted, or compressed by a method not inflated here."""
    if flags & 1:
        raise InputError(
            path,
            f"{NAME} whose {name} is encrypted",
            expected=f"{NAME} as the device or ActiLife wrote it (not encrypted)",
        )
    if method not in METHODS:
        known = f" ({METHOD_NAMES[method]})" if method in METHOD_NAMES else ""
        raise InputError(
            path,
            f"{NAME} whose {name} is compressed with method {method}{known}, which this "
            "program cannot inflate",
            expected=f"{NAME} as the device or ActiLife wrote it (its members deflated)",
        )


def _stored_bytes(path: str, offset: int, size: int | None, name: str) -> bytes:
    """A member's bytes from its local header on (to the file's end when `size` is None):
    as much as inflates."""
    with open(path, "rb") as handle:
        handle.seek(offset)
        local = handle.read(30)
        method = int.from_bytes(local[8:10], "little")
        size = size if size is not None else int.from_bytes(local[18:22], "little") or None
        handle.seek(offset + 30 + _local_extent(local))
        return _inflate(path, name, handle, method, size)[0]


# A member inflating to more than this many times its size (and to more than a few MB) is no
# recording: samples, even a still sensor's, compress far less; runs of one byte (a "zip
# bomb") reach 1000 times. Refused from its declared sizes before it is inflated, or, these
# lying, as soon as it inflates past that: memory stays near the cap.
INFLATED_MAX_RATIO = 200
INFLATED_FREE_BYTES = 64 << 20
INFLATE_CHUNK = 1 << 20  # the most one call inflates (or reads from the file)


def _check_inflated(path: str, name: str, size: int, packed: int, more: bool = False) -> None:
    """Refuse `name` if `size` bytes (or more, with `more`) from `packed` ones is no
    recording's compression."""
    if size > INFLATED_FREE_BYTES and size > INFLATED_MAX_RATIO * packed:
        over = "more than " if more else ""
        raise InputError(
            path,
            f"{name} inflates to {over}{size / 1e6:.0f} MB from {packed / 1e6:.2f} MB, "
            f"{over}{size / max(packed, 1):.0f} times: no recording compresses so far",
            expected=f"{NAME} as the device or ActiLife wrote it",
        )


def _inflate(
    path: str, name: str, handle: BinaryIO, method: int, size: int | None
) -> tuple[bytes, int, str | None]:
    """The bytes that a member's `size` packed bytes (from the handle's position; to the
    file's end when None) inflate to, their CRC, and what is wrong (None: nothing). Inflated
    a chunk at a time, the total checked after each: zipfile inflated a whole member in one
    call (a bomb's 1 GB, 2 GB of memory, whatever its declared sizes). Damaged compressed
    data keeps what inflated before it."""
    import lzma
    import zlib

    there = os.fstat(handle.fileno()).st_size - handle.tell()
    packed = there if size is None else min(size, there)
    parts: list[bytes] = []
    total, crc, problem = 0, 0, None
    try:
        for part in _inflated_parts(handle, method, packed):  # a loop over chunks
            total += len(part)
            _check_inflated(path, name, total, packed, more=True)
            crc = zlib.crc32(part, crc)
            parts.append(part)
    except (zlib.error, lzma.LZMAError, OSError, EOFError, ValueError):  # bz2's is OSError
        problem = "holds compressed data that does not inflate"
    if size is not None and size > there:
        problem = "is cut short or its sizes are wrong"
    return b"".join(parts), crc, problem


def _inflated_parts(handle: BinaryIO, method: int, packed: int) -> Iterator[bytes]:
    """A member's inflated bytes, at most INFLATE_CHUNK a call, from its `packed` bytes at
    the handle's position."""
    import bz2
    import lzma
    import zlib

    inflater: Any
    if method == 0:  # stored
        yield from _packed_parts(handle, packed)
        return
    if method == 8:
        inflater = zlib.decompressobj(-15)
    elif method == 12:
        inflater = bz2.BZ2Decompressor()
    elif method == 14:  # a 4-byte header (version, size of properties), properties, data
        head = handle.read(4)
        properties = handle.read(int.from_bytes(head[2:4], "little"))
        packed -= len(head) + len(properties)
        inflater = lzma.LZMADecompressor(lzma.FORMAT_RAW, filters=[_lzma_filter(properties)])
    else:
        raise ValueError(f"compression method {method}")
    for data in _packed_parts(handle, packed):  # a loop over chunks
        while True:  # a loop over the chunk's inflated parts
            out = inflater.decompress(data, INFLATE_CHUNK)
            if out:
                yield out
            if inflater.eof:
                return
            # zlib hands back the input it did not take; bz2 and lzma keep it themselves
            data = getattr(inflater, "unconsumed_tail", b"")
            if not data and getattr(inflater, "needs_input", True):
                break
    if method == 8:
        yield inflater.flush()


def _lzma_filter(properties: bytes) -> dict[str, int]:
    """The LZMA1 filter of a zip member's 5 bytes of properties: lc, lp and pb in one byte,
    then the dictionary's size, which is clamped: a damaged one of 4 GB was allocated."""
    import lzma

    if len(properties) < 5:
        raise ValueError("LZMA properties cut short")
    first = properties[0]
    dictionary = int.from_bytes(properties[1:5], "little")
    return {
        "id": lzma.FILTER_LZMA1,
        "dict_size": min(max(dictionary, 4096), INFLATED_FREE_BYTES),
        "lc": first % 9,
        "lp": first // 9 % 5,
        "pb": first // 45,
    }


def _packed_parts(handle: BinaryIO, packed: int) -> Iterator[bytes]:
    """`packed` bytes from the handle's position, INFLATE_CHUNK at a time (fewer at the
    file's end)."""
    while packed > 0:  # a loop over chunks
        part = handle.read(min(packed, INFLATE_CHUNK))
        if not part:
            return
        packed -= len(part)
        yield part


def _salvaged_members(path: str, warnings: list[str]) -> dict[str, bytes]:
    """A zip cut short: each member from its local header, the last up to the cut."""
    members: dict[str, bytes] = {}
    size_of_file = os.path.getsize(path)
    offset = 0
    with open(path, "rb") as handle:
        while offset + 30 <= size_of_file:  # a loop over members
            handle.seek(offset)
            local = handle.read(30)
            if not local.startswith(ZIP_MAGIC):
                break
            name = handle.read(int.from_bytes(local[26:28], "little")).decode("latin-1")
            stored = int.from_bytes(local[18:22], "little")
            if name in members:
                _refuse_repeated(path, [(name, len(members[name])), (name, stored)])
            members[name] = b""
            if name in READ_MEMBERS:
                flags, method = (int.from_bytes(local[at : at + 2], "little") for at in (6, 8))
                _refuse_unreadable(path, name, flags, method)
                members[name] = _stored_bytes(path, offset, stored or None, name)
            start = offset + 30 + _local_extent(local)
            if not stored or start + stored > size_of_file:
                break
            offset = start + stored
    warnings.append(
        f"the .gt3x is cut short (its zip directory is lost): {', '.join(members)} read up "
        "to the cut"
    )
    return members


def _refuse_repeated(path: str, members: list[tuple[str, int]]) -> None:
    """Refuse a zip holding log.bin or info.txt twice (name, size): which one is the
    recording cannot be told, and reading either (the zip's last, as a dict of members
    kept) said the samples were not there."""
    for wanted in ("log.bin", "info.txt"):  # a loop over two names
        sizes = [size for name, size in members if name == wanted]
        if len(sizes) > 1:
            count = {2: "two", 3: "three"}.get(len(sizes), str(len(sizes)))
            raise InputError(
                path,
                f"{NAME} that holds {count} {wanted} members (of {_listed(sizes)} bytes): "
                "which one is the recording cannot be told",
                expected=f"one {wanted}, as the device or ActiLife wrote the file",
            )


def _listed(numbers: list[int]) -> str:
    shown = [f"{number:,}" for number in numbers]
    return ", ".join(shown[:-1]) + " and " + shown[-1]


def _rate_of_records(log: bytes) -> float:
    types, _, _, sizes = record_table(log)
    return float(_held_rate(types, sizes))


def _held_rate(types: np.ndarray, sizes: np.ndarray) -> int:
    """The samples a second the records hold (each record is a second): the most common
    count of whole samples in an activity record; 0 if none holds one."""
    per_record = np.where(
        types == ACTIVITY2, sizes // 6, np.where(types == ACTIVITY, sizes * 8 // 36, 0)
    )
    per_record = per_record[per_record > 0]
    return int(np.argmax(np.bincount(per_record))) if len(per_record) else 0


def _calibration_warnings(members: dict[str, bytes]) -> list[str]:
    import json

    if "calibration.json" not in members:
        return []
    try:
        calibration = json.loads(members["calibration.json"])
    except (ValueError, RecursionError):
        calibration = None
    # Optional (the device stores its samples calibrated): one that is not an object of
    # values is no reason to refuse the samples.
    if not isinstance(calibration, dict):
        return [
            "calibration.json is unreadable (no JSON object); samples read as the device "
            "stored them"
        ]
    if calibration.get("isCalibrated", True) is False:
        return ["calibration.json says the device did not calibrate its samples: read as stored"]
    return []


def record_table(
    log: bytes, check: bool = False
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(type, time, payload start, payload size) of every whole record in log.bin; with
    `check`, of those whose checksum holds (see `checked_record_table`)."""
    return checked_record_table(log, check)[0]


def checked_record_table(
    log: bytes, check: bool = False
) -> tuple[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray], int, list[tuple[int, int]]]:
    """record_table's answer; how many whole records failed their checksum; and the
    stretches (start, end) of log.bin skipped as damaged between records that check out
    (with `check`; 0 and none without).

    A record's size is in its header, so finding the next one is sequential: `_chain` follows
    separators and sizes as far as they go, and with `check` the checksums of all it found
    are then tested at once. A record whose checksum holds is kept, whatever follows it
    (erased flash, zeros, garbage, a damaged record). At a record that fails, or where the
    chain breaks, the walk goes on from the next record that checks out (`_next_good_record`),
    so that a damaged size no longer jumps over minutes of records, nor a broken separator
    ends the night. Without `check` the table ends where the chain breaks. A record cut
    short at the end ends it too: what came before is kept."""
    data = np.frombuffer(log, dtype=np.uint8)
    end = len(log)
    kept: list[np.ndarray] = []
    gaps: list[tuple[int, int]] = []
    position, padding = 0, -1  # padding: found at the first damage
    while position + 9 <= end:  # a loop over chains (more than one after damage only)
        heads, stop = _chain(log, data, position)
        if not check:
            kept.append(heads)
            break
        sizes = _sizes_at(data, heads)
        failed = np.flatnonzero(~_checksums_hold(data, heads, sizes)).tolist()
        first, position = 0, end
        for k in [*failed, len(heads)]:  # a loop over damaged records, then the chain's break
            if k < first:  # inside a stretch already skipped
                continue
            at = int(heads[k]) if k < len(heads) else stop
            if at + 9 > end:  # the chain reached the end (bytes too few for a record after)
                kept.append(heads[first:])
                break
            if padding < 0:  # where the erased or zero bytes that end log.bin begin
                padding = _padding_from(data)
            # Searched from the break itself where the chain broke after a sound record
            # (zero padding, then the next record), else from past the record that failed.
            # Searched from inside the sound record before (its size damaged, its checksum
            # holding by chance: 1 in 256), `1E 00` among its samples was taken for records
            # dated 1970 that dropped it and refused the night.
            kept.append(heads[first:k])
            near = _near_time(data, kept)
            resume = _next_good_record(data, at if k == len(heads) else at + 1, padding, near)
            gaps.append((at, resume))
            first = int(np.searchsorted(heads, resume))
            if first <= k or first == len(heads) or heads[first] != resume:
                position = resume  # the record found is not on this chain: a new chain
                break
    heads = np.concatenate(kept) if kept else np.empty(0, np.int64)
    sizes = _sizes_at(data, heads)
    failed, skipped = _damage_of(data, gaps)
    times = _times_at(data, heads)
    return (data[heads + 1], times, heads + 8, sizes), failed, skipped


# Record types 0x00 to 0x1A are documented (ACTIVITY2 the last); a record found after damage
# must be one of them. The format allows "a few" zero bytes between records: no damage.
LAST_TYPE = ACTIVITY2
# A record found after damage lies within this of the last kept (idle sleep may last days)
NEAR_S = 30 * 86400
ZERO_PADDING_BYTES = 512
# Records of one size this many in a row (one a second, with no other record between) are
# followed by numpy; fewer, one by one in Python, which is faster for short runs.
LONG_RUN = 16


def _chain(log: bytes, data: np.ndarray, position: int) -> tuple[np.ndarray, int]:
    """The heads of the records chained from `position` on, each by its separator and a size
    within the file ending where the next begins; and where the chain breaks (the file's end
    if it reaches it). A loop over records, one by one while their sizes change; a long run
    of one size is found by numpy (`_run_of`)."""
    end = len(log)
    parts: list[np.ndarray] = []
    heads: list[int] = []
    size, repeated = -1, 0
    while position + 9 <= end and log[position] == RECORD_SEPARATOR:  # a loop over records
        step = 9 + (log[position + 6] | log[position + 7] << 8)
        if position + step > end:  # cut short, or its size damaged
            break
        heads.append(position)
        position += step
        repeated = repeated + 1 if step == size else 1
        size = step
        if repeated == LONG_RUN:
            run = _run_of(data, position, step)
            parts += [np.array(heads, dtype=np.int64), position + step * np.arange(run)]
            heads, position, repeated = [], position + run * step, 0
    parts.append(np.array(heads, dtype=np.int64))
    return np.concatenate(parts), position


def _run_of(data: np.ndarray, position: int, step: int) -> int:
    """How many records from `position` on have a separator and the size `step` - 9, end to
    end: found in probes that double in length (a loop over probes)."""
    end, size = len(data), step - 9
    run, probe = 0, 64
    while True:
        start = position + run * step
        count = min((end - start) // step, probe)
        at = start + step * np.arange(count)
        same = (data[at] == RECORD_SEPARATOR) & (data[at + 6] == size & 0xFF)
        same &= data[at + 7] == size >> 8
        if count < probe or not same.all():
            return run + (count if same.all() else int(np.argmin(same)))
        run, probe = run + count, probe * 2


def _padding_from(data: np.ndarray) -> int:
    """Where the 0x00 and 0xFF bytes (unwritten or erased flash) that end log.bin begin; its
    end if none do. Searched back from the end in windows that double in width."""
    high, width = len(data), 4096
    while high > 0:  # a loop over windows
        low = max(high - width, 0)
        other = np.flatnonzero((data[low:high] != 0) & (data[low:high] != 0xFF))
        if len(other):
            return low + int(other[-1]) + 1
        high, width = low, width * 2
    return 0


def _trailing_damage(log: bytes, at: int) -> bool:
    """Whether the bytes of log.bin after its last record, from `at`, are worth a warning: a
    record cut short, or garbage long enough to have held a record; not the 0x00 and 0xFF
    bytes of unwritten or erased flash."""
    tail = np.frombuffer(log, dtype=np.uint8, offset=at)
    if not len(tail) or not ((tail != 0) & (tail != 0xFF)).any():
        return False
    return tail[0] == RECORD_SEPARATOR or len(tail) >= 9


def _size_at(data: np.ndarray, position: int) -> int:
    return int(data[position + 6]) | int(data[position + 7]) << 8


def _sizes_at(data: np.ndarray, heads: np.ndarray) -> np.ndarray:
    """The payload sizes in the headers of the records at `heads`."""
    return data[heads + 6].astype(np.int64) | data[heads + 7].astype(np.int64) << 8


def _times_at(data: np.ndarray, heads: np.ndarray) -> np.ndarray:
    """The times (seconds, the device's clock) in the headers of the records at `heads`."""
    times = np.zeros(len(heads), dtype=np.int64)
    for byte in range(4):  # a loop over the time's bytes
        times |= data[heads + 2 + byte].astype(np.int64) << (8 * byte)
    return times


def _followed(data: np.ndarray, at: int, padding: int) -> bool:
    """Whether a record (or the file's end) begins at `at`: a separator, zero padding then
    one, the 0x00 and 0xFF bytes that end the file (from `padding` on), or a record whose
    separator alone is damaged (its size ends at a separator and its checksum holds were its
    separator sound)."""
    end = len(data)
    if at >= padding or data[at] == RECORD_SEPARATOR:
        return True
    if data[at] == 0:
        nonzero = np.flatnonzero(data[at : at + ZERO_PADDING_BYTES])
        if len(nonzero) and data[at + int(nonzero[0])] == RECORD_SEPARATOR:
            return True
    if at + 9 > end or data[at + 1] > LAST_TYPE:
        return False
    size = _size_at(data, at)
    after = at + 9 + size
    if after > end or after < end and data[after] != RECORD_SEPARATOR:
        return False
    xor = np.bitwise_xor.reduce(data[at + 1 : after - 1]) ^ RECORD_SEPARATOR
    return (~int(xor) & 0xFF) == data[after - 1]


def _checksums_hold(data: np.ndarray, heads: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """Whether each record's last byte is the complement of the XOR of the bytes before it."""
    if not len(heads):
        return np.ones(0, dtype=bool)
    bounds = np.empty(2 * len(heads), dtype=np.int64)
    bounds[0::2], bounds[1::2] = heads, heads + 8 + sizes
    # Through the last checksum only: reduceat's last segment runs to the end of what it is
    # given, and a candidate's check cost the whole file (500 damaged records of 160 MB).
    xor = np.bitwise_xor.reduceat(data[: int(bounds.max()) + 1], bounds)[0::2]
    return (~xor & 0xFF) == data[heads + 8 + sizes]


def _near_time(data: np.ndarray, kept: list[np.ndarray]) -> int | None:
    """The time of the last record kept so far, where one is."""
    heads = [part for part in kept if len(part)]
    return int(_times_at(data, heads[-1][-1:])[0]) if heads else None


def _next_good_record(
    data: np.ndarray, position: int, padding: int, near: int | None = None
) -> int:
    """The first record from `position` on that checks out: a separator, a documented type,
    a size within the file that ends where a record begins (`_followed`), its checksum, and
    a time within NEAR_S of `near` (the last record kept), where given: bytes among the
    samples that pass for a record carry a time from anywhere (1970); the file's end if
    none. Candidate separators are found by numpy in growing windows (after damage only),
    and the loop is over those that pass the vectorized tests."""
    end, low, width = len(data), position, 4096
    while low < end:  # a loop over windows
        high = min(low + width, end)
        found = low + np.flatnonzero(data[low:high] == RECORD_SEPARATOR)
        found = found[found + 9 <= end]
        sizes = _sizes_at(data, found)
        plausible = (data[found + 1] <= LAST_TYPE) & (found + 9 + sizes <= end)
        if near is not None:
            plausible &= np.abs(_times_at(data, found) - near) <= NEAR_S
        for at, size in zip(found[plausible].tolist(), sizes[plausible].tolist()):
            if _followed(data, at + 9 + size, padding) and (  # a loop over candidates
                _checksums_hold(data, np.array([at]), np.array([size])).all()
            ):
                return at
        low, width = high, width * 2
    return end


def _damage_of(data: np.ndarray, gaps: list[tuple[int, int]]) -> tuple[int, list[tuple[int, int]]]:
    """The records skipped whole for a failed checksum (their separators and sizes chain
    from one to the next across the gap), and the other stretches skipped within log.bin:
    zero padding is none, and a gap to the end is the end's (cut short, or damaged)."""
    failed, skipped = 0, []
    for start, resume in gaps:  # a loop over gaps (damage only)
        nonzero = np.flatnonzero(data[start:resume])
        if resume == len(data) or not len(nonzero):
            continue
        at, records = start + int(nonzero[0]), 0
        while at + 9 <= resume and data[at] == RECORD_SEPARATOR:  # a loop over records
            at, records = at + 9 + _size_at(data, at), records + 1
        if at == resume:
            failed += records
        else:
            skipped.append((start, resume))
    return failed, skipped


def decode_log(
    log: bytes,
    rate_hz: float,
    scale: float,
    warnings: list[str] | None = None,
    check: bool = False,
) -> tuple[np.ndarray, np.ndarray, float]:
    """(times in s on the local clock, (n, 3) samples in g, column order, the rate) of
    log.bin's activity records.

    Each record holds one second of samples, the first at the record's time.
    - ACTIVITY: 12-bit two's-complement values, big-endian, packed without padding between
      samples, in the order y, x, z.
    - ACTIVITY2: x, y, z as little-endian int16.
    A record that holds no whole sample (the 1-byte ones written around idle sleep) adds
    none: idle-sleep seconds stay gaps. With `check`, records whose checksum fails are left
    out and counted. A `rate_hz` (info.txt's) other than the samples a second the records
    hold gives way to theirs, with a warning: taken as stated, 10000 Hz spread each
    second's 100 samples over 10 ms (and the night was refused as gaps), 30 Hz kept 30 of
    each second's 100 and spread them over the second."""
    (types, times, starts, sizes), failed, skipped = checked_record_table(log, check)
    held = _held_rate(types, sizes)
    if held and int(round(rate_hz)) != held:
        if warnings is not None:
            warnings.append(
                f"info.txt's Sample Rate, {rate_hz:g} Hz, is not the {held} samples a second "
                "its records hold: the records' rate used"
            )
        rate_hz = float(held)
    if warnings is not None:
        end = int(starts[-1] + sizes[-1] + 1) if len(times) else 0
        if failed:
            warnings.append(
                f"{failed} damaged records of log.bin (failed checksum) left "
                f"out; the other {len(types)} read"
            )
        if skipped:
            warnings.append(_skipped_warning(skipped, types, times, starts, sizes))
        if end < len(log) and _trailing_damage(log, end):
            warnings.append(
                f"log.bin is damaged or cut short after byte {end} of {len(log)}: the "
                f"{len(times)} records before were read"
            )
    per_second = int(round(rate_hz))
    packed = (types == ACTIVITY) & (sizes * 8 >= 36)
    wide = (types == ACTIVITY2) & (sizes >= 6)
    left_out = _implausible_records(types, times, sizes, packed, wide, per_second, warnings)
    counts = np.zeros(len(types), dtype=np.int64)
    counts[packed] = np.minimum(sizes[packed] * 8 // 36, per_second)
    counts[wide] = np.minimum(sizes[wide] // 6, per_second)
    chosen = (counts > 0) & ~left_out
    times, starts, counts, is_wide = times[chosen], starts[chosen], counts[chosen], wide[chosen]
    total = int(counts.sum())
    xyz = np.empty((total, 3), dtype=np.float32, order="F")
    time_s = np.empty(total, dtype=np.float64)
    first = np.cumsum(counts) - counts  # each record's first sample
    data = np.frombuffer(log, dtype=np.uint8)
    # Records of one kind and count together: each group one gather of whole payloads.
    for kind, count in sorted(set(zip(is_wide.tolist(), counts.tolist()))):  # a loop over groups
        group = np.flatnonzero((is_wide == kind) & (counts == count))
        if len(group) == len(counts):
            rows = slice(None)  # one group: the samples in order, no scatter (nor its index)
        else:
            rows = (first[group, None] + np.arange(count)).reshape(-1)
        raw = _wide(data, starts[group], count) if kind else _packed(data, starts[group], count)
        offsets = np.arange(count) / rate_hz
        if isinstance(rows, slice):  # straight into the columns, no temporaries
            for axis in range(3):  # a loop over axes
                np.divide(raw[:, :, axis], np.float32(scale), out=xyz[:, axis].reshape(-1, count))
            np.add(times[:, None], offsets, out=time_s.reshape(-1, count))
        else:
            for axis in range(3):  # a loop over axes
                xyz[rows, axis] = (raw[:, :, axis] / np.float32(scale)).reshape(-1)
            time_s[rows] = (times[group, None] + offsets).reshape(-1)
    return time_s, xyz, rate_hz


def _implausible_records(
    types: np.ndarray,
    times: np.ndarray,
    sizes: np.ndarray,
    packed: np.ndarray,
    wide: np.ndarray,
    per_second: int,
    warnings: list[str] | None,
) -> np.ndarray:
    """Which activity records, their checksum holding, are left out, with a warning each
    kind: those larger than a second of samples at the rate (a valid record of 65,535
    bytes added 100 samples of up to 127.6 g), and those whose time lies far from both
    neighbours' (`stray_blocks`: one record stamped 0 refused the night, "the time stamps
    span 4.358e+05 h"). A record of fewer samples is a second begun or ended part way."""
    oversized = packed & (sizes > (per_second * 36 + 7) // 8) | wide & (sizes > 6 * per_second)
    holding = np.flatnonzero((packed | wide) & ~oversized)
    stray = np.zeros(len(types), dtype=bool)
    seconds = times[holding]
    stray[holding] = stray_blocks(seconds.astype(np.float64)) | _out_and_back(seconds)
    if warnings is not None and oversized.any():
        first = int(np.flatnonzero(oversized)[0])
        warnings.append(
            f"{int(oversized.sum())} records of log.bin larger than a second of samples at "
            f"{per_second} Hz (damaged; the first of {int(sizes[first]):,} bytes) left out"
        )
    if warnings is not None and stray.any():
        stamp = np.datetime64(int(times[np.flatnonzero(stray)[0]]), "s")
        warnings.append(
            f"{int(stray.sum())} records of log.bin whose time stamp lies far from both "
            f"neighbours' (corrupted stamps; the first {str(stamp).replace('T', ' ')}) left out"
        )
    return oversized | stray


# A record this far (s) outside the times of the records around it is out of place.
STRAY_FAR_S = 4


def _out_and_back(seconds: np.ndarray) -> np.ndarray:
    """Which records (their times, in file order) are a run of up to STRAY_MAX_BLOCKS whose
    times all lie before the record ahead of the run or all after the one behind it (by
    more than STRAY_FAR_S), those two in order. A recording's times never go back, and a
    clock reset goes back once, not out and back. `stray_blocks` also wants the records
    around to be seconds apart: idle sleep leaves gaps of any length between records (one
    stamped 0 before a 5 s gap refused the night)."""
    stray = np.zeros(len(seconds), dtype=bool)
    if not (np.diff(seconds) < 0).any():  # a clean file stops here
        return stray
    for run in range(1, STRAY_MAX_BLOCKS + 1):  # a loop over run lengths
        if len(seconds) < run + 2:
            break
        before, after = seconds[: -run - 1], seconds[run + 1 :]
        inside = np.lib.stride_tricks.sliding_window_view(seconds[1:-1], run)
        early = inside.max(axis=1) < before - STRAY_FAR_S
        late = inside.min(axis=1) > after + STRAY_FAR_S
        found = np.flatnonzero((after >= before) & (early | late))
        for place in range(run):  # a loop over the run's places
            stray[found + 1 + place] = True
    return stray


def _skipped_warning(
    skipped: list[tuple[int, int]],
    types: np.ndarray,
    times: np.ndarray,
    starts: np.ndarray,
    sizes: np.ndarray,
) -> str:
    """One line for the stretches of log.bin skipped: where, how many bytes, and the
    seconds of samples lost, from the sample records on either side (each is a second)."""
    holds = ((types == ACTIVITY) & (sizes * 8 >= 36)) | ((types == ACTIVITY2) & (sizes >= 6))
    heads, seconds = starts[holds] - 8, times[holds]
    bounds = np.array(skipped, dtype=np.int64)
    before = np.searchsorted(heads, bounds[:, 0]) - 1
    after = np.searchsorted(heads, bounds[:, 1])
    both = (before >= 0) & (after < len(heads))
    lost = np.zeros(len(bounds), dtype=np.int64)
    lost[both] = np.maximum(seconds[after[both]] - seconds[before[both]] - 1, 0)
    # No more than the bytes skipped could hold (one sample record a second): the seconds
    # between the records around counted idle sleep (a damaged LUX record 'lost 261 s').
    typical = int(np.median(sizes[holds])) if holds.any() else 0
    held = (bounds[:, 1] - bounds[:, 0]) // (9 + typical) if typical else lost
    lost = np.where(both, np.minimum(lost, held), held)
    first, length = skipped[0][0], skipped[0][1] - skipped[0][0]
    where = f"at byte {first:,}" if len(skipped) == 1 else f"at {len(skipped)} places"
    if len(skipped) > 1:
        where += f" (the first at byte {first:,}, {length:,} bytes)"
    if both[0]:
        stamp = np.datetime64(int(seconds[before[0]]) + 1, "s")
        where += f" ({str(stamp).replace('T', ' ')} on the device's clock)"
    total = int((bounds[:, 1] - bounds[:, 0]).sum())
    return (
        f"log.bin is damaged {where}: a record there does not check out (a separator 0x1E, "
        "a size that ends where the next record begins, and its checksum expected); "
        f"{total:,} bytes skipped to the next record that does, about {int(lost.sum())} s "
        f"of samples left out; the other {len(types)} records read"
    )


def _payloads(data: np.ndarray, starts: np.ndarray, nbytes: int) -> np.ndarray:
    """(n, nbytes) payload bytes: rows of a sliding view, indexed by record (not by byte)."""
    windows = np.lib.stride_tricks.sliding_window_view(data, nbytes)
    return windows[starts]


def _wide(data: np.ndarray, starts: np.ndarray, count: int) -> np.ndarray:
    """ACTIVITY2 payloads of `count` samples: (n, count, 3) int16."""
    return _payloads(data, starts, count * 6).view("<i2").reshape(len(starts), count, 3)


def _packed(data: np.ndarray, starts: np.ndarray, count: int) -> np.ndarray:
    """ACTIVITY payloads of `count` samples: 12-bit values, y, x, z; as (n, count, 3) int16."""
    nbytes = (count * 36 + 7) // 8
    payload = _payloads(data, starts, nbytes)
    nibbles = np.empty((len(starts), 2 * nbytes), dtype=np.int16)
    nibbles[:, 0::2], nibbles[:, 1::2] = payload >> 4, payload & 0x0F
    nibbles = nibbles[:, : count * 9].reshape(len(starts), count, 3, 3)  # (y, x, z), 3 nibbles
    values = nibbles[..., 0] << 8 | nibbles[..., 1] << 4 | nibbles[..., 2]
    values[values > 2047] -= 4096
    return values[:, :, [1, 0, 2]]
