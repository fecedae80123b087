"""`sleepmove report`: gather the summaries of analyzed nights and write the trend report."""

from __future__ import annotations

import json
import math
import os
import sys

from sleepmove.base.errors import InputError
from sleepmove.base.limits import SUMMARY_BYTES, read_limited
from sleepmove.base.words import how_many
from sleepmove.checks import VALIDATION_MARK
from sleepmove.detection.params import RULE_SETS


def find_summaries(folders: list[str]) -> dict[str, dict]:
    """Night name -> summary, from result folders or folders holding result folders.

    A night is named by its folder (below the folder given, for folders that hold nights);
    two nights of one name (n1 of two batches) are named by their paths as given instead,
    so that neither replaces the other. One folder reached twice is one night."""
    found: dict[str, dict[str, str]] = {}  # name -> real path of its summary -> shown path
    for folder in folders:
        if not os.path.isdir(folder):
            raise InputError(
                folder, "not a folder", expected="a folder written by sleepmove analyze"
            )
        single = os.path.join(folder, "summary.json")
        if os.path.exists(single):
            name = os.path.basename(os.path.abspath(folder))
            found.setdefault(name, {}).setdefault(os.path.realpath(single), single)
            continue
        paths = sorted(
            os.path.join(root, "summary.json")
            for root, _, names in os.walk(folder)
            if "summary.json" in names
        )
        if not paths:
            raise InputError(
                folder,
                "no summary.json in it or below it",
                expected="folders written by sleepmove analyze",
            )
        listed = _batch_nights(folder)
        for path in paths:
            name = os.path.relpath(os.path.dirname(path), folder)
            if listed is None or name in listed:
                found.setdefault(name, {}).setdefault(os.path.realpath(path), path)
        _warn_of_nights_without_summary(folder)
        if listed is not None:
            _warn_of_nights_left_out(folder, paths, listed)
    summaries = {}
    for name, paths in found.items():
        for path in paths.values():
            shown = name if len(paths) == 1 else os.path.normpath(os.path.dirname(path))
            summaries[shown] = load_summary(path)
    return summaries


def _batch_nights(folder: str) -> set[str] | None:
    """A batch folder's nights that nights.csv lists as ok (None: no nights.csv). Its other
    night folders are another batch's leftovers, which the report counted twice beside
    their nights' new ids."""
    import csv

    try:
        with open(os.path.join(folder, "nights.csv"), newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
    except (OSError, UnicodeDecodeError, csv.Error):
        return None
    if not rows or "id" not in rows[0] or "status" not in rows[0]:
        return None
    failed = [row["id"] for row in rows if row["status"] == "error"]
    if failed:
        print(
            f"sleepmove: warning: {how_many(len(failed), 'night')} of {folder} failed in the "
            f"batch and {'is' if len(failed) == 1 else 'are'} not in the report (see nights.csv)",
            file=sys.stderr,
        )
    return {row["id"] for row in rows if row["status"] == "ok"}


def _warn_of_nights_left_out(folder: str, paths: list[str], listed: set[str]) -> None:
    names = sorted({os.path.relpath(os.path.dirname(path), folder) for path in paths} - listed)
    if names:
        shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
        print(
            f"sleepmove: warning: left out {how_many(len(names), 'night folder')} that "
            f"{os.path.join(folder, 'nights.csv')} does not list as ok (an earlier batch's, "
            f"or failed in this one): {shown}",
            file=sys.stderr,
        )


def _warn_of_nights_without_summary(folder: str) -> None:
    """A night's folder with its tables but no summary.json (analysis cut short, a copy
    half done) was left out of the report without a word."""
    lacking = sorted(
        root
        for root, _, names in os.walk(folder)
        if "summary.json" not in names and ("events.csv" in names or "epochs.csv" in names)
    )
    if lacking:
        shown = ", ".join(lacking[:3]) + (
            f" and {len(lacking) - 3} more" if len(lacking) > 3 else ""
        )
        print(
            f"sleepmove: warning: left out {how_many(len(lacking), 'folder')} with a night's "
            f"tables but no summary.json (analyze them again): {shown}",
            file=sys.stderr,
        )


def load_summary(path: str, fields: dict[str, tuple[type, ...]] | None = None) -> dict:
    """A night's summary.json, each field that is read (`fields`: the trend's, REPORTED,
    by default) of the type analyze writes; InputError (one line) if it is not."""
    try:
        raw = read_limited(path, SUMMARY_BYTES, "a summary.json", "summary.json from analyze")
        summary = json.loads(raw.decode("utf-8"))
    except (OSError, ValueError) as error:  # JSON, UTF-8, int() of over 4300 digits
        raise InputError(path, f"unreadable summary ({error})", expected="summary.json") from None
    except RecursionError:  # the parser recurses once per level of [[[...]]]
        raise InputError(
            path, "unreadable summary (nested too deeply)", expected="summary.json"
        ) from None
    if not isinstance(summary, dict) or "plm_index" not in summary or "criteria" not in summary:
        raise InputError(path, "not a sleepmove summary", expected="summary.json from analyze")
    for where, kinds in (REPORTED if fields is None else fields).items():  # a loop over fields
        value: object = summary
        for key in where.split("."):  # a loop over a field's path
            value = value.get(key, MISSING) if isinstance(value, dict) else MISSING
        if value is MISSING and where in OPTIONAL:
            continue
        if not isinstance(value, kinds) or isinstance(value, bool) and bool not in kinds:
            raise damaged_summary(path, where, value)
        if where in BOUNDS and isinstance(value, (int, float)) and not isinstance(value, bool):
            low, high = BOUNDS[where]
            # NaN reads as no figure (n/a), as null does; 1e308 or -3 was drawn as a night's
            if not math.isnan(value) and not low <= value <= high:
                raise damaged_summary(path, where, value)
    name = summary["criteria"].get("name") if isinstance(summary["criteria"], dict) else None
    if isinstance(name, str) and name not in RULE_SETS:
        raise damaged_summary(path, "criteria.name", name)
    return summary


DAMAGED = "summary.json as analyze writes it (analyze the night again)"


def damaged_summary(path: str, where: str, value: object) -> InputError:
    """The refusal of a summary whose field `where` is not what analyze writes."""
    shown = "missing" if value is MISSING else json.dumps(value, default=str)[:40]
    return InputError(path, f"a damaged summary: {where} is {shown}", expected=DAMAGED)


MISSING = object()
NUMBER = (int, float, type(None))
# Every field the trend report reads, and what it may hold: a hand-edited or damaged
# summary was a traceback deep in the report's tables.
REPORTED: dict[str, tuple[type, ...]] = {
    "plm_index": NUMBER,
    "plmw_index": NUMBER,
    "plm_index_in_bed": NUMBER,
    "periodicity_index": NUMBER,
    "periodicity_index_reliable": (bool,),
    "jerk_rate_per_min": NUMBER,
    "criteria.name": (str,),
    "recording.start": (str, type(None)),
    "recording.data_loss_h": NUMBER,
    "sleep.total_sleep_h": NUMBER,
    "imi.log_imi_mean": NUMBER,
    "assessment.threshold_per_h": (int, float),
    # how the night was analyzed: the report names nights that differ in these
    "assessment.age_group": (str,),
    "recording.placement": (str,),
    "software.version": (str,),
    "criteria.parameters": (dict,),
}
# What analyze can write for each number (a damaged or hand-edited value such as 1e308
# was drawn as the night's figure): an index cannot pass 720/h (one movement per 5 s),
# a night's hours a month, a share 1.
MOST_PER_H = 720.0
MOST_HOURS = 24 * 31.0
BOUNDS: dict[str, tuple[float, float]] = {
    "plm_index": (0.0, MOST_PER_H),
    "plmw_index": (0.0, MOST_PER_H),
    "plm_index_in_bed": (0.0, MOST_PER_H),
    "periodicity_index": (0.0, 1.0),
    "jerk_rate_per_min": (0.0, 60 * 60.0),
    "recording.data_loss_h": (0.0, MOST_HOURS),
    "sleep.total_sleep_h": (0.0, MOST_HOURS),
    "imi.log_imi_mean": (-50.0, 50.0),
    "assessment.threshold_per_h": (0.0, MOST_PER_H),
}
# Read with a default: by the trend report, and by validate (summaries written before the
# parameters were).
OPTIONAL = {
    "plm_index_in_bed",
    "assessment.age_group",
    "recording.placement",
    "software.version",
    "periodicity_index_reliable",
    "criteria.parameters",
    "criteria.parameters.rules",
    "criteria.parameters.detection",
}


def check_report_destination(
    out_dir: str, what: str = "the trend report", other: tuple[str, str] = VALIDATION_MARK
) -> None:
    """Refuse an --out that holds a night's, a batch's or the other report's results (its
    mark `other`: a file, and whose it is): the trend's (or the validation's) report.html
    and nights.csv would replace that night's report, that batch's table of nights, or the
    other report."""
    from sleepmove.batch import BATCH_RECORD

    try:
        names = set(os.listdir(out_dir))
    except OSError:  # not there yet (made on writing), or check_destination has said why
        return
    held = sorted(name for name in names if name == "summary.json" or BATCH_RECORD.fullmatch(name))
    whose = "an analyzed night's" if "summary.json" in held else "a batch's"
    mark, marked = other
    if not held and os.path.exists(os.path.join(out_dir, mark)):
        held, whose = [mark], marked
    if held:
        raise InputError(
            out_dir,
            f"holds {whose} results ({held[0]}), which {what} would overwrite",
            expected=f"a folder of its own for {what}",
        )


def write_trend(folders: list[str], out_dir: str, diary: str | None = None) -> int:
    """Write the trend report of the nights in `folders`; the diary, if any, is read and
    checked first, so a bad one stops the command before anything is written.

    Nights not analyzed alike (rules, placement, age group, release, settings) are reported,
    each judged by its own summary and never pooled; the page says how they differ, and a
    warning line here says so as well."""
    from sleepmove.base.atomic import write_files
    from sleepmove.diary import read_diary
    from sleepmove.reports.trend import not_alike, trend_files

    check_report_destination(out_dir)
    entries = read_diary(diary) if diary is not None else None
    summaries = find_summaries(folders)
    write_files(out_dir, trend_files(summaries, entries))
    differ = not_alike(summaries)
    if differ:
        print(
            f"sleepmove: warning: the nights were not all analyzed alike ({', '.join(differ)}):"
            " each is judged by its own summary and none are pooled; report.html names them",
            file=sys.stderr,
        )
    return len(summaries)
