"""`report --diary FILE`: what a person noted on the dates of their nights.

The diary is a CSV with a header: `date` (YYYY-MM-DD, the evening's date: a night that
begins after midnight belongs to the evening before), `tag` (free text: caffeine, a late
meal, a medication) and, optionally, `from`: `yes` marks a change that holds from that date
on (the report then compares the nights before and after); `no` or empty marks that night
alone. Other columns are ignored; several rows may share a date. The whole file is checked
before anything is written.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import date

from sleepmove.base.errors import InputError
from sleepmove.base.limits import TEXT_FILE_BYTES, read_limited
from sleepmove.reports.diary import DiaryEntry

EXPECTED_HEADER = "a header with date, tag and optionally from"
YES = {"yes", "y", "true", "1"}
NO = {"no", "n", "false", "0", ""}


def read_diary(path: str) -> list[DiaryEntry]:
    """The diary's entries, each checked; InputError (one line) for anything unreadable."""
    try:
        # Capped: /dev/zero was read whole (GBs, then MemoryError).
        text = read_limited(path, TEXT_FILE_BYTES, "a diary", "a CSV").decode("utf-8-sig")
        rows = list(csv.reader(io.StringIO(text, newline="")))
    except OSError as error:
        reason = error.strerror or str(error)
        raise InputError(path, f"cannot read the diary ({reason})", expected="a CSV") from None
    except UnicodeDecodeError:
        raise InputError(path, "the diary is not text", expected="a UTF-8 CSV") from None
    except csv.Error as error:
        raise InputError(path, f"the diary is not a CSV ({error})", expected="a CSV") from None
    numbered = [(n, row) for n, row in enumerate(rows, start=1) if any(c.strip() for c in row)]
    if not numbered:
        raise InputError(path, "the diary is empty", expected=EXPECTED_HEADER)
    line, header = numbered[0]
    names = [cell.strip().lower() for cell in header]
    missing = [name for name in ("date", "tag") if name not in names]
    if missing:
        raise InputError(
            path, f"the diary has no column {', '.join(missing)}", f"line {line}", EXPECTED_HEADER
        )
    at = {name: names.index(name) for name in ("date", "tag", "from") if name in names}
    entries = []
    for number, row in numbered[1:]:  # a loop over entries
        where = f"line {number}"
        cell = {name: row[i].strip() if i < len(row) else "" for name, i in at.items()}
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", cell["date"]):
            raise InputError(path, f"not a date: {cell['date']!r}", where, "YYYY-MM-DD")
        try:
            day = date.fromisoformat(cell["date"])
        except ValueError:
            raise InputError(path, f"no such date: {cell['date']!r}", where, "YYYY-MM-DD") from None
        if not cell["tag"]:
            raise InputError(path, "the tag is empty", where, "a few words in the tag column")
        change = cell.get("from", "").lower()
        if change not in YES | NO:
            raise InputError(path, f"from is {cell['from']!r}", where, "yes, no or empty")
        entries.append(DiaryEntry(day, cell["tag"], change in YES, number))
    return entries
