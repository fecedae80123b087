"""The settings that made a night's results, as a readable file that reproduces them.

Every output folder holds `settings.toml`: the options (rule set, age group, units...) and
every parameter group in full. `--config FILE` reads one back: its options become the
command's defaults (options given on the command line still win) and its parameters replace
the defaults, so the same input with the same file gives the same outputs, byte for byte.

A file may also be written by hand and hold only what it changes ([detection] onset_factor
= 2.5, say). What it changes is taken relative to the defaults of its own options, so a rule
set or age group chosen on the command line keeps those changes on its own defaults.
"""

from __future__ import annotations

import json
import math
import re
import sys
from dataclasses import dataclass, field

from sleepmove import __version__
from sleepmove.base.errors import InputError
from sleepmove.base.limits import SETTINGS_BYTES, read_limited
from sleepmove.detection.parameter_changes import (
    RETIRED,
    ParameterError,
    changes_between,
    clipped,
    shown,
    with_changes,
)
from sleepmove.detection.params import (
    GROUPS,
    RULE_SET_IDENTITY,
    RULE_SETS,
    WASM2016,
    AnalysisParameters,
    default_parameters,
)

SETTINGS_FILE = "settings.toml"
EXPECTED = f"a settings file as sleepmove writes it ({SETTINGS_FILE} in any output folder)"

# The command's options a settings file holds, with their argparse destination. Options
# that are None (no sleep window, no time zone) are left out of the file.
OPTIONS = {
    "criteria": "criteria",
    "units": "units",
    "placement": "placement",
    "age_group": "age_group",
    "sleep_window": "sleep_window",
    "timezone": "timezone",
    "clock_alignment": "no_clock_alignment",  # stored the positive way round
    "min_duration_min": "min_duration",
    "side": "side",  # the leg of a single sensor, where named
    "respiratory_events": "respiratory_events",  # a night's sleep study; batch: a pattern
}
OPTION_TYPES = {"clock_alignment": bool, "min_duration_min": float}
MAX_MIN_DURATION_MIN = 1440.0  # a day: no night is longer
# The least min_duration_min: the sleep model weighs each 30 s epoch with its neighbours,
# which a recording under a minute does not have (pipeline.SHORTEST_ALLOWED_S).
LEAST_MIN_DURATION_MIN = 1.0
MIN_DURATION_RANGE = f"minutes from {LEAST_MIN_DURATION_MIN:g} to {MAX_MIN_DURATION_MIN:g}"


def min_duration_allowed(minutes: float) -> bool:
    """Whether a minimum duration (minutes) lies in its range (NaN and inf do not)."""
    return LEAST_MIN_DURATION_MIN <= minutes <= MAX_MIN_DURATION_MIN


@dataclass
class Settings:
    """A settings file read: the command's options, and the parameters it changes."""

    path: str
    options: dict[str, object] = field(default_factory=dict)
    changes: dict[str, dict] = field(default_factory=dict)
    release: str | None = None  # the release its first line names, if any
    retired: list[str] = field(default_factory=list)  # settings no longer used, left out

    def argument_defaults(self) -> dict[str, object]:
        """The options as argparse destinations and values (for `set_defaults`)."""
        defaults = {}
        for name, value in self.options.items():
            defaults[OPTIONS[name]] = (not value) if name == "clock_alignment" else value
        return defaults


def settings_text(params: AnalysisParameters, options: dict[str, object]) -> str:
    """The settings file: options first, then each parameter group in full."""
    lines = [
        f"# sleepmove {__version__}: the settings that made these results.",
        f"# Rerun with: sleepmove analyze FILE --config {SETTINGS_FILE} --out DIR",
        "# Options given on the command line win over [options]; a parameter group may be",
        "# cut down to the settings it changes.",
        "",
        "[options]",
    ]
    for name in OPTIONS:
        value = options.get(name)
        if value is None:
            lines.append(f"# {name} = (not set)")
        else:
            lines.append(f"{name} = {_toml_value(value)}")
    groups = params.as_dict()
    for group in GROUPS:
        lines += ["", f"[{group}]"]
        for name, value in groups[group].items():
            lines.append(f"{name} = {_toml_value(value)}")
    return "\n".join(lines) + "\n"


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        # repr is the shortest text that reads back as the same float; TOML spells inf so
        return repr(value) if math.isfinite(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, (tuple, list)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    # A JSON string is a TOML basic string, but for characters outside the BMP (JSON writes
    # surrogate pairs, TOML refuses them: written as they are) and DEL (TOML escapes it).
    return json.dumps(str(value), ensure_ascii=False).replace("\x7f", "\\u007f")


def _load_toml(path: str) -> tuple[dict, str | None]:
    """The file's tables, and the release its first line names (`# sleepmove X.Y.Z: ...`),
    from one read (a piped --config can be read once only)."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover (Python 3.10)
        import tomli as tomllib
    try:
        raw = read_limited(path, SETTINGS_BYTES, "a settings file", EXPECTED)
        # "utf-8-sig": Windows Notepad starts a UTF-8 file with a byte order mark, which
        # TOML refuses as an invalid statement.
        text = raw.decode("utf-8-sig")
        _check_key_parts(path, text)
        data = tomllib.loads(text)
    except OSError as error:
        raise InputError(
            path, f"cannot read ({error.strerror or error})", expected=EXPECTED
        ) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise InputError(path, f"not a settings file ({error})", expected=EXPECTED) from None
    except RecursionError:  # the parser recurses once per level of [[[...]]]
        raise InputError(
            path, "not a settings file (lists nested too deeply)", expected=EXPECTED
        ) from None
    except ValueError:  # int() of over sys.get_int_max_str_digits() digits (4300)
        raise InputError(
            path, "not a settings file (a number of thousands of digits)", expected=EXPECTED
        ) from None
    found = re.match(r"# sleepmove (\S+):", text)
    return data, found.group(1) if found else None


# The parser's time grows with the square of a key's dotted parts (a.b.c = 1 or [a.b.c]):
# 20,000 took 4 s. A setting has one part under its [section], two at most above them.
MOST_KEY_PARTS = 64


def _check_key_parts(path: str, text: str) -> None:
    """Refuse a key of more than MOST_KEY_PARTS parts before the parser reads it."""
    for number, line in enumerate(text.splitlines(), start=1):  # a loop over lines
        if line.lstrip().startswith("#"):
            continue
        if line.partition("=")[0].count(".") >= MOST_KEY_PARTS:
            raise InputError(
                path,
                f"a key of {MOST_KEY_PARTS} or more dotted parts",
                f"line {number}",
                EXPECTED,
            )


def other_release_warning(settings: Settings) -> str | None:
    """One line when the file was written by another release: the parameters it does not
    name take this release's defaults, and a parameter may have changed its meaning."""
    if settings.release is None or settings.release == __version__:
        return None
    return (
        f"{settings.path} was written by sleepmove {settings.release}, this is {__version__}: "
        "parameters it does not list take this release's defaults and some changed meaning, "
        "so the results may differ from that release's"
    )


def read_settings(path: str) -> Settings:
    """Read and check a settings file; InputError names the first thing wrong in it."""
    data, release = _load_toml(path)
    for name, value in data.items():  # lines above the first [section] header come first
        if not isinstance(value, dict):
            _refuse_top_level(path, name, value)
    unknown = set(data) - {"options", *GROUPS}
    if unknown:
        raise InputError(
            path,
            f"unknown section [{clipped(sorted(unknown)[0])}]",
            expected="sections " + ", ".join(f"[{name}]" for name in ("options", *GROUPS)),
        )
    options = dict(data.get("options", {}))
    for name, value in options.items():
        if name not in OPTIONS:
            raise InputError(
                path, f"[options] has no setting {shown(name)}", expected=", ".join(OPTIONS)
            )
        wanted = OPTION_TYPES.get(name, str)
        if wanted is float and isinstance(value, int) and not isinstance(value, bool):
            options[name] = value = float(value)
        if not isinstance(value, wanted):
            raise InputError(
                path, f"[options] {name} = {shown(value)}", expected=f"a {wanted.__name__} value"
            )
        if name == "min_duration_min" and not min_duration_allowed(value):
            raise InputError(
                path, f"[options] {name} = {shown(value)}", expected=MIN_DURATION_RANGE
            )
    groups = {name: dict(data.get(name, {})) for name in GROUPS if name in data}
    named = groups.get("rules", {}).pop("name", None)
    if named is not None:
        if named not in RULE_SETS:
            raise InputError(
                path, f"[rules] name = {shown(named)}", expected="one of " + ", ".join(RULE_SETS)
            )
        if options.setdefault("criteria", named) != named:
            raise InputError(
                path,
                f"[rules] name = {named!r} but [options] criteria = {shown(options['criteria'])}",
                expected="the same rule set in both",
            )
    for name in RULE_SET_IDENTITY[1:]:  # the reference follows from the name
        groups.get("rules", {}).pop(name, None)
    retired = [
        f"[{group}] {name}"
        for group, names in RETIRED.items()
        for name in names
        if groups.get(group, {}).pop(name, None) is not None
    ]
    criteria = options.get("criteria", WASM2016.name)
    if criteria not in RULE_SETS:
        raise InputError(
            path,
            f"[options] criteria = {shown(criteria)}",
            expected="one of " + ", ".join(RULE_SETS),
        )
    base = default_parameters(
        str(criteria),
        str(options.get("age_group", "adult")),
        str(options.get("placement", "ankle")),
    )
    try:
        changed = with_changes(base, groups)
    except ParameterError as error:
        raise InputError(path, error.problem, expected=error.expected) from None
    return Settings(path, options, changes_between(base, changed), release, retired)


def _refuse_top_level(path: str, name: str, value: object) -> None:
    """A `name = value` line above every [section] header: each setting belongs to one
    (TOML reads it as the file's own key, which was reported as an unknown section)."""
    sections = ["options"] if name in OPTIONS else []
    groups = default_parameters(WASM2016.name, "adult", "ankle").as_dict()
    sections += [group for group in GROUPS if name in groups[group]]
    if sections:
        expected = f"{name} under " + " or ".join(f"[{section}]" for section in sections)
    elif name in ("options", *GROUPS):
        raise InputError(
            path,
            f"{clipped(name)} = {shown(value)} is not a section",
            expected=f"a [{name}] section of name = value lines",
        )
    else:
        expected = "settings under their sections: " + ", ".join(
            f"[{section}]" for section in ("options", *GROUPS)
        )
    raise InputError(
        path, f"{clipped(name)} = {shown(value)} lies outside any [section]", expected=expected
    )
