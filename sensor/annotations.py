"""Reference scoring from sleep studies: CSV, EDF+ annotations, NSRR/Compumedics XML, truth.json.

Every reader returns a `Reference`: events with onsets in absolute seconds (the same clock
as the recordings: Unix seconds, or zone-less clock times counted as UTC) and kinds mapped
through `LABELS`, one documented table. A reference that counts seconds from its own start
says from when (`counted_from`), so a recording without a clock can be matched with it.
"""

from __future__ import annotations

import io
import json
import math
import re
import warnings
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass, field
from datetime import datetime, timezone

import numpy as np
import pandas as pd

from sleepmove.base.errors import InputError
from sleepmove.base.limits import (
    REFERENCE_BYTES,
    REFERENCE_CSV_BYTES,
    check_regular_file,
    read_limited,
)

# Reference label (lower case, matched as a regular expression) -> (kind, periodic)
LABELS: list[tuple[str, str, bool]] = [
    # What the rules' respiratory exclusion needs (not a movement: validate leaves it out)
    (
        # (not an index: "Apnea hypopnea index" is a figure, no event)
        r"^(?!.*\bindex\b).*(apno?ea|hypopno?ea|\brera\b|respiratory (effort|event)"
        r"|disordered breathing)",
        "respiratory",
        False,
    ),
    (r"\bplms?\b|periodic (leg|limb) movement", "lm", True),
    (r"(leg|limb) movement|\blms?\b|\bclm\b", "lm", False),
    (r"hypnic|jerk|twitch|myoclon|startle", "jerk", False),
    (r"body movement|posture|position change|movement time|\bmovement\b", "movement", False),
    (r"hypnagogic foot tremor|\bhft\b|foot tremor", "hft", False),
    (r"\balma\b|alternating leg", "alma", False),
    (r"cramp", "cramp", False),
]
SIDES = [
    (r"\bleft\b|\(l\)|_l\b|\bl\b", "left"),
    (r"\bright\b|\(r\)|_r\b|\br\b", "right"),
    (r"bilateral|both", "bilateral"),
]
STAGES = {
    "wake": False,
    "stage 1": True,
    "stage 2": True,
    "stage 3": True,
    "stage 4": True,
    "rem": True,
    "n1": True,
    "n2": True,
    "n3": True,
}


@dataclass
class Reference:
    path: str
    events: pd.DataFrame  # onset_abs_s, duration_s, kind, side, periodic, label
    sleep: list[tuple[float, float]] | None = None  # asleep spans, absolute seconds
    gaps: list[tuple[float, float]] = field(default_factory=list)  # truth.json only
    # Where its onsets are seconds from its own start: the absolute time of that start (the
    # `start_s` it was read with; a truth.json's first sample). None where it places them by
    # clock times it states (clock-time onsets, an EDF+ start, an XML ClockTime).
    counted_from: float | None = None


def map_label(label: str) -> tuple[str, bool] | None:
    text = label.lower()
    for pattern, kind, periodic in LABELS:
        if re.search(pattern, text):
            return kind, periodic
    return None


def map_side(text: str) -> str:
    lowered = str(text).lower()
    for pattern, side in SIDES:
        if re.search(pattern, lowered):
            return side
    return ""


def _frame(rows: list[dict] | dict[str, np.ndarray]) -> pd.DataFrame:
    """Events as rows, or as columns."""
    columns = ["onset_abs_s", "duration_s", "kind", "side", "periodic", "label"]
    frame = pd.DataFrame(rows, columns=columns)
    return frame.sort_values("onset_abs_s", kind="stable").reset_index(drop=True)


def _event(onset: float, duration: float, label: str, side_text: str = "") -> dict | None:
    mapped = map_label(label)
    if mapped is None:
        return None
    kind, periodic = mapped
    return {
        "onset_abs_s": onset,
        "duration_s": duration,
        "kind": kind,
        "side": map_side(side_text) or map_side(label),
        "periodic": periodic,
        "label": label,
    }


def read_reference(path: str, start_s: float | None = None, utc_offset_s: float = 0.0) -> Reference:
    """`start_s`: absolute time of the recording's first sample, for references that count
    seconds from their own start without a clock time (then assumed to start together);
    `utc_offset_s`: its clock's offset from UTC, where clock times without a date fall."""
    lower = path.lower()
    try:
        if lower.endswith(".json"):
            return _read_truth(path)
        if lower.endswith((".edf", ".bdf")):
            # A whole PSG may be gigabytes: no cap, but /dev/zero is no file, and edfio
            # would wait on a named pipe for a writer.
            check_regular_file(path, REFERENCE_EXPECTED)
            return _read_edf(path, utc_offset_s)
        if lower.endswith(".xml"):
            return _read_xml(path, start_s, utc_offset_s)
        return _read_csv(path, start_s, utc_offset_s)
    except FileNotFoundError:
        raise InputError(path, "file not found") from None
    except IsADirectoryError:  # reached the CLI's catch-all as "cannot write", status 1
        raise InputError(path, "is a folder", expected=REFERENCE_EXPECTED) from None
    except OSError as error:
        raise InputError(path, f"cannot be read ({error.strerror or error})") from None


REFERENCE_EXPECTED = "a reference file (CSV, EDF+, XML or truth.json)"
CSV_EXPECTED = "a CSV of onset,duration,type,side"
XML_EXPECTED = "NSRR or Compumedics XML annotations"
TRUTH_EXPECTED = "a simulator's truth.json (events, start_unix, sleep, sensors, data_gaps_s)"


def _read_truth(path: str) -> Reference:
    raw = read_limited(path, REFERENCE_BYTES, "a truth.json", TRUTH_EXPECTED)
    try:
        truth = json.loads(raw.decode("utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise InputError(path, f"not JSON ({error})", expected=TRUTH_EXPECTED) from None
    except RecursionError:  # the parser recurses once per level of [[[...]]]
        raise InputError(
            path, "not a simulator truth.json (lists nested too deeply)", expected=TRUTH_EXPECTED
        ) from None
    except ValueError:  # int() of over sys.get_int_max_str_digits() digits (4300)
        raise InputError(
            path,
            "not a simulator truth.json (a number of thousands of digits)",
            expected=TRUTH_EXPECTED,
        ) from None
    if not isinstance(truth, dict) or "events" not in truth or "start_unix" not in truth:
        raise InputError(path, "not a simulator truth.json", expected="events and start_unix")
    try:
        return _truth_reference(path, truth)
    except (KeyError, TypeError, ValueError, AttributeError, OverflowError) as error:
        # A hand-edited or cut file: name what is missing instead of a traceback.
        raise InputError(
            path,
            f"not a simulator truth.json ({type(error).__name__}: {error})",
            expected=TRUTH_EXPECTED,
        ) from None


def _truth_reference(path: str, truth: dict) -> Reference:
    start = float(truth["start_unix"])
    rows = [
        {
            "onset_abs_s": start + e["onset_s"],
            "duration_s": e["duration_s"],
            "kind": e["kind"],
            "side": e["side"],
            "periodic": False,
            "label": e["kind"],
        }
        for e in truth["events"]
        if e["kind"] != "vibration"
    ]
    sleep = truth["sleep"]
    spans, cursor = [], sleep["onset_s"]
    for a, b in sorted(sleep["wake_bouts_s"]):
        spans.append((start + cursor, start + a))
        cursor = b
    spans.append((start + cursor, start + sleep["offset_s"]))
    origin = min(s.get("start_offset_s", 0.0) for s in truth["sensors"].values())
    gaps = [
        (start + a - origin, start + b - origin)
        for leg in truth["data_gaps_s"].values()
        for a, b in leg
    ]
    # Its onsets count from start_unix, and its sensors' samples from start_unix plus their
    # offsets: a recording's first sample, read without a clock, is the earliest of these.
    return Reference(path, _frame(rows), spans, sorted(gaps), counted_from=start + origin)


def _read_edf(path: str, utc_offset_s: float = 0.0) -> Reference:
    """An EDF+ file's start is the PSG's local wall clock (the format has no zone): taken on
    the recording's clock, `utc_offset_s` from UTC. Read as UTC, a night recorded at +02:00
    was compared with a reference two hours off (LM F1 0.02, exit 0)."""
    try:
        import edfio
    except ImportError:
        raise InputError(
            path, "EDF+ references need the edfio package", expected="pip install 'sleepmove[edf]'"
        ) from None
    try:
        with warnings.catch_warnings(record=True) as told:
            warnings.simplefilter("always")
            edf = edfio.read_edf(path)
    except Exception as error:  # edfio raises many kinds on a damaged file
        raise InputError(path, f"unreadable EDF+ file ({error})") from None
    for warning in told:  # a loop over edfio's few warnings
        if "incomplete data record" in str(warning.message).lower():
            # Read on, the events after the cut went missing unsaid (5 of 201 LMs, exit 0).
            raise InputError(
                path,
                "the EDF+ file is cut short (its last data record is incomplete)",
                expected="the whole EDF+ file, as the PSG system wrote it",
            )
        warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)
    start = datetime.combine(edf.startdate, edf.starttime).replace(tzinfo=timezone.utc)
    origin = start.timestamp() - utc_offset_s
    rows = [_event(origin + a.onset, a.duration or 0.0, a.text) for a in edf.annotations]
    return Reference(
        path,
        _frame([r for r in rows if r]),
        _stages([(origin + a.onset, a.duration or 0.0, a.text) for a in edf.annotations]),
    )


def _read_xml(path: str, start_s: float | None, utc_offset_s: float = 0.0) -> Reference:
    raw = read_limited(path, REFERENCE_BYTES, "an XML reference", XML_EXPECTED)
    try:
        root = ElementTree.fromstring(raw)
    except ElementTree.ParseError as error:
        raise InputError(path, f"not well-formed XML ({error})") from None
    scored = root.iter("ScoredEvent")
    items = []
    origin = start_s
    clocked = False  # a ClockTime placed its events
    for number, event in enumerate(scored, start=1):
        concept = (event.findtext("EventConcept") or event.findtext("Name") or "").strip()
        where = f"ScoredEvent {number}" + (f" ({concept})" if concept else "")
        onset = _seconds(path, event.findtext("Start"), "Start", where)
        duration = _seconds(path, event.findtext("Duration"), "Duration", where)
        if concept.lower().startswith("recording start time"):
            clock = (event.findtext("ClockTime") or "").strip()
            try:
                stated = _xml_clock(clock, start_s, utc_offset_s) if clock else None
            except ValueError:  # month 13, hour 25
                raise InputError(
                    path,
                    f"ClockTime {clock!r} is not a clock time",
                    where=where,
                    expected="dd.mm.yy hh.mm.ss, or hh.mm.ss",
                ) from None
            if stated is not None:
                origin, clocked = stated, True
            continue
        items.append((onset, duration, concept.split("|")[0]))
    if origin is None:
        raise InputError(
            path,
            "no recording start time",
            expected="a 'Recording Start Time' "
            "event, or a recording with a clock time to align with",
        )
    rows = [_event(origin + onset, duration, label) for onset, duration, label in items]
    stages = _stages([(origin + o, d, label) for o, d, label in items])
    counted_from = None if clocked else origin
    return Reference(path, _frame([r for r in rows if r]), stages, counted_from=counted_from)


def _seconds(path: str, text: str | None, name: str, where: str) -> float:
    """A Start or Duration: seconds, 0 or more (absent: 0). Unreadable ones are refused:
    left out, the event would go missing from the reference unsaid."""
    try:
        value = float(text or 0.0)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value >= 0):
        raise InputError(
            path,
            f"{name} {(text or '').strip()!r} is not a time",
            where=where,
            expected="seconds, 0 or more",
        )
    return value


def _xml_clock(text: str, start_s: float | None, utc_offset_s: float = 0.0) -> float | None:
    """NSRR writes 'dd.mm.yy hh.mm.ss'; a clock time alone takes the recording's date. Both
    are the PSG's local wall clock, taken on the recording's (`utc_offset_s` from UTC). None:
    no clock time read (the events then count from `start_s`)."""
    numbers = [int(n) for n in re.findall(r"\d+", text)]
    if len(numbers) >= 6:
        day, month, year, hour, minute, second = numbers[:6]
        year += 2000 if year < 100 else 0
        moment = datetime(year, month, day, hour, minute, second, tzinfo=timezone.utc)
        return moment.timestamp() - utc_offset_s
    if len(numbers) >= 3 and start_s is not None:
        hour, minute, second = numbers[-3:]
        return _on_the_recordings_night(hour * 3600 + minute * 60 + second, start_s, utc_offset_s)
    return None


def _time_of_day(text: str, start_s: float, utc_offset_s: float = 0.0) -> float:
    """HH:MM[:SS[.fff]][ AM|PM] on the recording's night (see `_on_the_recordings_night`);
    with AM or PM, 12 is the hour after midnight (12:08 AM) or noon (12:08 PM)."""
    found = re.fullmatch(r"\s*([\d:.]+)\s*(?:([AaPp])\.?[Mm]\.?)?\s*", text)
    clock = found.group(1)
    half = found.group(2).upper() + "M" if found.group(2) else ""
    hour, minute, *rest = clock.split(":")
    seconds = float(rest[0]) if rest else 0.0
    hours = int(hour) % 12 + (12 if half == "PM" else 0) if half else int(hour)
    return _on_the_recordings_night(
        hours * 3600 + int(minute) * 60 + seconds, start_s, utc_offset_s
    )


def _on_the_recordings_night(of_day_s: float, start_s: float, utc_offset_s: float) -> float:
    """A clock time of day (seconds after midnight, on the recording's clock, `utc_offset_s`
    from UTC) as the first such moment from 12 h before the recording's start: a night's
    times after midnight fall on the next day."""
    local_start = start_s + utc_offset_s
    moment = local_start - local_start % 86400.0 + of_day_s - utc_offset_s
    while moment < start_s - 12 * 3600:
        moment += 86400.0
    return moment


def _stages(items: list[tuple[float, float, str]]) -> list[tuple[float, float]] | None:
    spans = []
    found = False
    for onset, duration, label in items:
        asleep = _stage(label)
        found = found or asleep is not None
        if asleep:
            spans.append((onset, onset + duration))
    return sorted(spans) if found else None


def _stage(label: str) -> bool | None:
    """Whether a label is a sleep stage (True) or wake (False); None: no stage."""
    text = label.lower().replace("sleep", "").strip()
    return next((asleep for name, asleep in STAGES.items() if text.startswith(name)), None)


# The most rows a reference CSV may have. Each costs validate some 1 KB once scored (2
# million held 1.5 GB), and rows can be 8 bytes, so the file's size bounds them too loosely.
# A week of 30 s stages and every movement in it is some 40,000 rows.
MOST_CSV_ROWS = 500_000


def _csv_table(path: str) -> pd.DataFrame:
    """The CSV's table (its bytes let go once parsed)."""
    raw = read_limited(path, REFERENCE_CSV_BYTES, "a reference CSV", CSV_EXPECTED)
    if not raw.strip():
        raise InputError(path, "the reference CSV is empty", expected=CSV_EXPECTED)
    # Tab- or ';'-separated (with decimal commas) exports read as such: refused before as
    # lacking an onset and a type column, which they had.
    header = raw.lstrip(b"\xef\xbb\xbf").split(b"\n", 1)[0]
    sep, decimal = ",", "."
    if b"," not in header and (b"\t" in header or b";" in header):
        sep, decimal = ("\t", ".") if b"\t" in header else (";", ",")
    try:
        raw.decode("utf-8")  # where it is not: pandas' error named a position in its chunk
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        raise InputError(
            path,
            f"byte {raw[error.start]:#04x} is not UTF-8 text",
            where=f"line {line}",
            expected="a UTF-8 CSV (save it as UTF-8)",
        ) from None
    try:
        # Only an empty cell is missing: a cell that reads 'nan', 'NA' or 'None' is named as
        # the file holds it, not called empty (nor an empty one 'nan').
        table = pd.read_csv(
            io.BytesIO(raw), sep=sep, decimal=decimal, keep_default_na=False, na_values=[""]
        )
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as error:
        # pandas' message runs over two lines ("Error tokenizing data. C error: Expected 4
        # fields in line 5, saw 6\n"): its line and counts said in one
        message = " ".join(str(error).split())
        fields = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", message)
        if fields:
            wanted, line, saw = fields.groups()
            raise InputError(
                path,
                f"{saw} fields where the header has {wanted}",
                where=f"line {line}",
                expected="one value per header column (quote text holding the separator)",
            ) from None
        raise InputError(path, f"cannot read the reference CSV ({message})") from None
    if len(table) > MOST_CSV_ROWS:
        raise InputError(
            path,
            f"{len(table):,} rows, more than any night's reference holds",
            expected=f"at most {MOST_CSV_ROWS:,} events and sleep stages",
        )
    return table


def _read_csv(path: str, start_s: float | None, utc_offset_s: float = 0.0) -> Reference:
    table = _csv_table(path)
    names = {c.lower().strip(): c for c in table.columns}
    onset = next(
        (names[n] for n in ("onset", "onset_s", "start", "time", "start_s") if n in names), None
    )
    label = next(
        (
            names[n]
            for n in ("type", "label", "event", "kind", "description", "annotation")
            if n in names
        ),
        None,
    )
    if onset is None or label is None:
        raise InputError(
            path,
            "needs an onset and a type column",
            where="header: " + ",".join(table.columns),
            expected="onset,duration,type,side",
        )
    duration = next((names[n] for n in ("duration", "duration_s", "dur") if n in names), None)
    side = next((names[n] for n in ("side", "leg", "channel", "location") if n in names), None)
    onsets, counted = _csv_onsets(path, table[onset], start_s, utc_offset_s)
    durations = _csv_durations(path, table[duration]) if duration else np.zeros(len(onsets))
    # Column by column, each distinct label and side mapped once: row by row, 2 million
    # rows took 100 s of pandas indexing and 1.3 GB of dicts.
    labels, label_texts = _distinct(table[label])
    sides, side_texts = _distinct(table[side]) if side else (np.zeros(len(table), int), [""])
    mapped = [map_label(text) for text in label_texts]
    kept = np.flatnonzero(np.array([m is not None for m in mapped], dtype=bool)[labels])
    pairs, pair_of = np.unique(labels[kept] * len(side_texts) + sides[kept], return_inverse=True)
    pair_sides = [
        map_side(side_texts[pair % len(side_texts)])
        or map_side(label_texts[pair // len(side_texts)])
        for pair in pairs.tolist()  # a loop over distinct labels and sides
    ]
    columns = {
        "onset_abs_s": onsets[kept],
        "duration_s": durations[kept],
        "kind": np.array([m[0] if m else "" for m in mapped], dtype=object)[labels[kept]],
        "side": np.array(pair_sides, dtype=object)[pair_of.reshape(-1)],
        "periodic": np.array([bool(m and m[1]) for m in mapped], dtype=bool)[labels[kept]],
        "label": np.array(label_texts, dtype=object)[labels[kept]],
    }
    staged = [_stage(text) for text in label_texts]
    stages = None
    if any(asleep is not None for asleep in staged):
        asleep = np.flatnonzero(np.array([bool(a) for a in staged], dtype=bool)[labels])
        lengths = durations[asleep] if duration else np.full(len(asleep), 30.0)
        stages = sorted(zip(onsets[asleep].tolist(), (onsets[asleep] + lengths).tolist()))
    counted_from = start_s if counted else None
    return Reference(path, _frame(columns if len(kept) else []), stages, counted_from=counted_from)


def _distinct(column: pd.Series) -> tuple[np.ndarray, list[str]]:
    """Each row's code, and the text of each code (str() of the cell, as pandas gives it)."""
    codes, values = pd.factorize(column, use_na_sentinel=False)
    return np.asarray(codes), [str(value) for value in values]


def _csv_durations(path: str, column: pd.Series) -> np.ndarray:
    """Durations in seconds, 0 or more; a row with another is refused, naming its line (a
    NaN duration used to drop the event from the reference unsaid)."""
    numeric = pd.to_numeric(column, errors="coerce").astype(float)
    bad = ~(numeric.abs() < math.inf) | (numeric < 0)  # NaN and inf too
    if bad.any():
        first = int(bad.to_numpy().argmax())
        cell = column.iloc[first]
        # pandas reads an empty cell as NaN: shown as 'nan', it read as a value in the file.
        empty = _is_empty(cell)
        raise InputError(
            path,
            "duration is empty" if empty else f"duration {str(cell)!r} is not a length of time",
            where=f"line {first + 2}",
            expected="seconds, 0 or more",
        )
    return numeric.to_numpy(float)


# A clock time without a date (23:38:10): the recording's date, as in NSRR XML.
TIME_OF_DAY = r"\s*\d{1,2}:\d{2}(:\d{2}(\.\d*)?)?\s*([AaPp]\.?[Mm]\.?)?\s*"


def _csv_onsets(
    path: str, column: pd.Series, start_s: float | None, utc_offset_s: float = 0.0
) -> tuple[np.ndarray, bool]:
    """Onsets in absolute seconds (arrays: a list of 2 million floats held 100 MB), and
    whether they were seconds from the start (True) or clock times (False)."""
    numeric = pd.to_numeric(column, errors="coerce")
    if numeric.notna().all():
        if start_s is None:
            raise InputError(path, "onsets in seconds but no recording start to count from")
        finite = numeric.abs() < math.inf
        if not finite.all():
            line = int((~finite).to_numpy().argmax()) + 2
            raise InputError(
                path,
                f"not a time: {_cell(column.iloc[line - 2])}",
                where=f"line {line}",
                expected="seconds from the start, or clock times",
            )
        return start_s + numeric.to_numpy(float), True
    text = column.astype(str)
    if start_s is not None and text.str.fullmatch(TIME_OF_DAY).all():
        # pandas would date them today, a night that is not the recording's.
        onsets = [_time_of_day(value, start_s, utc_offset_s) for value in text]
        return np.array(onsets, float), False
    parsed = _datetimes(path, column)
    if parsed.notna().all():
        # Explicit nanoseconds: pandas may keep parsed times at another resolution.
        seconds = parsed.to_numpy().astype("datetime64[ns]").astype("int64") / 1e9
        # Zone-less datetimes are the recording's wall clock, as an EDF+ start is: read as
        # UTC, a Berlin night's were placed an hour off.
        return seconds - (0.0 if _zoned(str(column.iloc[0])) else utc_offset_s), False
    unreadable = (parsed.isna() & numeric.isna()).to_numpy()
    if not unreadable.any():  # each a time, some seconds and some clock times
        seconds = int(numeric.notna().to_numpy().argmax()) + 2
        clock = int(numeric.isna().to_numpy().argmax()) + 2
        raise InputError(
            path,
            f"onsets mix seconds from the start (line {seconds}: {_cell(column.iloc[seconds - 2])})"
            f" with clock times (line {clock}: {_cell(column.iloc[clock - 2])})",
            expected="one kind of onset in the whole column",
        )
    bad = int(unreadable.argmax())
    raise InputError(
        path,
        f"not a time: {_cell(column.iloc[bad])}",
        where=f"line {bad + 2}",
        expected="seconds from the start, or clock times",
    )


def _cell(value: object) -> str:
    """A cell as the file holds it: an empty one read as NaN was shown as np.float64(nan)."""
    if _is_empty(value):
        return "an empty cell"
    return repr(value.item() if isinstance(value, np.generic) else value)


def _is_empty(value: object) -> bool:
    """Whether a cell holds nothing: read as NaN, or only spaces."""
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, str) and not value.strip()


def _zoned(text: str) -> bool:
    """Whether a datetime states its zone (`Z`, `+01:00`)."""
    try:
        return pd.Timestamp(text).tzinfo is not None
    except ValueError:  # read by to_datetime alone: as zone-less
        return False


def _datetimes(path: str, column: pd.Series) -> pd.Series:
    """Each onset as a zone-less UTC datetime (NaT where it is none). Offsets that change
    within the file (a night across a change to or from summer time) are each converted;
    onsets with a zone mixed with onsets without one are refused: the zone of the latter
    would be a guess (pandas raised "Mixed timezones detected" for both)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # pandas 2: mixed offsets as objects
        try:
            parsed = pd.to_datetime(column, errors="coerce", format="mixed")
        except ValueError:  # pandas 3: "Mixed timezones detected"
            parsed = None
    if parsed is not None and parsed.dtype != object:
        if parsed.dt.tz is not None:
            parsed = parsed.dt.tz_convert("UTC").dt.tz_localize(None)
        return parsed
    parsed = pd.to_datetime(column, errors="coerce", format="mixed", utc=True)
    texts = column.astype(str).tolist()
    first: tuple[int, str, bool] | None = None
    for index in np.flatnonzero(parsed.notna().to_numpy()):  # a loop over onsets
        text = texts[index]
        try:
            zoned = pd.Timestamp(text).tzinfo is not None
        except ValueError:  # read by to_datetime alone: says nothing of zones
            continue
        if first is None:
            first = (index, text, zoned)
        elif zoned != first[2]:
            has = "has a time zone" if zoned else "has no time zone"
            raise InputError(
                path,
                f"onset {text!r} {has}, unlike {first[1]!r} on line {first[0] + 2}",
                where=f"line {index + 2}",
                expected="onsets all with a zone (Z, +01:00) or all without",
            )
    return parsed.dt.tz_localize(None)
