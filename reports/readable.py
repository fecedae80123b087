"""Times, durations and numbers as a person reads them, and the words the reports use."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from sleepmove.reports.clock import CLOCK_RELATIVE, CLOCK_UNIX, display_zone
from sleepmove.reports.html import escape


class LocalClock:
    """Seconds from the recording's origin shown as wall-clock times in its local zone."""

    def __init__(self, origin_s: float, clock: str, duration_s: float = 0.0) -> None:
        self.origin_s, self.clock = origin_s, clock
        self.relative = clock == CLOCK_RELATIVE
        self.zone = display_zone(clock) if clock == CLOCK_UNIX else None
        # Past a day, a bare 00:04 would be ambiguous: say the weekday too.
        self.long = duration_s > 20 * 3600

    def moment(self, seconds: float) -> datetime | None:
        """The local wall-clock time (naive), or None when the recording has no clock."""
        if self.relative:
            return None
        utc = datetime.fromtimestamp(0, tz=timezone.utc) + timedelta(
            seconds=self.origin_s + seconds
        )
        if self.clock == CLOCK_UNIX:
            return utc.astimezone(self.zone).replace(tzinfo=None)
        return utc.replace(tzinfo=None)

    def time(self, seconds: float, with_seconds: bool = False) -> str:
        """00:04 (00:04:52 with seconds); +1:12 from the start when there is no clock."""
        moment = self.moment(seconds)
        if moment is None:
            whole = int(round(seconds))
            hours, rest = divmod(whole, 3600)
            text = f"+{hours}:{rest // 60:02d}"
            return text + f":{rest % 60:02d}" if with_seconds else text
        text = moment.strftime("%H:%M:%S" if with_seconds else "%H:%M")
        return moment.strftime("%a ") + text if self.long else text

    def day(self, seconds: float = 0.0) -> str:
        moment = self.moment(seconds)
        return "" if moment is None else moment.strftime("%a %-d %b %Y")

    def zone_note(self) -> str:
        """How the page's times are to be read: in the recording's zone (the file's, or
        --timezone), else in this computer's, which need not be the wearer's."""
        if self.relative:
            return "the file has no clock: times are hours:minutes from the start"
        if self.clock != CLOCK_UNIX:
            return "times as the file wrote them (no time zone given)"
        offset = datetime.fromtimestamp(self.origin_s, tz=timezone.utc).astimezone(self.zone)
        stamp = offset.strftime("%z")
        utc = f"UTC{stamp[:3]}:{stamp[3:]}"
        name = getattr(self.clock, "zone", None)
        if name is None:
            return f"times in this computer's zone ({utc}); --timezone gives the wearer's"
        if re.fullmatch(r"[+-]\d\d:\d\d", name):  # a fixed offset names itself
            return f"local times ({utc})"
        return f"local times ({name}, {utc})"


def duration(seconds: float | None) -> str:
    """1 h 12 min; 12 min; 40 s: to the minute past a minute, as a night's figures deserve.
    n/a for none and for NaN (the spread of a single night, say)."""
    if seconds is None or seconds != seconds:
        return "n/a"
    if seconds < 59.5:
        return f"{seconds:.0f} s"
    minutes = int(round(seconds / 60))
    hours, minutes = divmod(minutes, 60)
    if hours == 0:
        return f"{minutes} min"
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"


def rate(value: float | None) -> str:
    """A rate per minute to two significant digits under 1, else to one decimal: at a fixed
    decimal or two, one jerk in a night read "0.0" or "0.00" beside a count of 1."""
    if value is None or value != value:
        return "n/a"
    return f"{value:.2g}" if 0 < value < 1 else f"{value:.1f}"


def against(value: float, threshold: float) -> str:
    """An index to one decimal, or two where one would put it on the wrong side of its
    threshold: a stored 15.04 read "15.0/h is above the 15/h"."""
    shown = round(value, 1)
    wrong_side = (value > threshold) != (shown > threshold)
    return f"{value:.2f}" if wrong_side else f"{value:.1f}"


def number(value: float | None, spec: str, missing: str = "n/a") -> str:
    return missing if value is None or value != value else format(value, spec)


# Words the reports use, each explained once at the foot of the page; the keys are anchors.
GLOSSARY: dict[str, tuple[str, str]] = {
    "lm": (
        "LM (limb movement)",
        "a leg movement of 0.5-10 s that lifts the sensor's signal clearly above its resting "
        "level (longer ones are large movements, such as turning over).",
    ),
    "clm": (
        "CLM (candidate limb movement)",
        "a limb movement that may count towards a PLM series under the scoring rules "
        "(one leg, or both legs together counted as one).",
    ),
    "plm": (
        "PLM (periodic limb movement)",
        "one of at least 4 candidate limb movements in a row, each 10-90 s after the one "
        "before: a PLM series. PLMS are those in sleep, PLMW those while awake.",
    ),
    "plm-index": (
        "PLM index",
        "PLMs in sleep per hour of sleep. Above 15/h in adults (5/h in children) the sleep "
        "disorder classification calls it significant. It depends on which minutes were "
        "sleep, which this sensor can only estimate.",
    ),
    "in-bed-index": (
        "In-bed index",
        "every PLM, asleep or awake, per hour in bed (lying down): it does not depend on the "
        "sleep estimate, as ankle actigraphs count. When it and the PLM index differ much, "
        "the sleep estimate decides the PLM index.",
    ),
    "plmw-index": ("PLMW index", "PLMs while awake per hour of recorded time awake."),
    "periodicity-index": (
        "Periodicity index",
        "the share of intervals between limb movements that fall inside a run of periodic "
        "ones (Ferri 2006): 0 = none periodic, 1 = all. Not meaningful under 10 limb "
        "movements per hour.",
    ),
    "imi": (
        "IMI (inter-movement interval)",
        "the time from one movement's start to the next one's. Periodic movements have IMIs "
        "of 10-90 s, typically 20-40 s; ln IMI is its natural logarithm, which spreads the "
        "short intervals out.",
    ),
    "jerk": (
        "Brief jerk",
        "a twitch under half a second. Many in sleep are normal.",
    ),
    "efm": (
        "EFM proxy",
        "excessive fragmentary myoclonus (EFM) is a sleep-lab finding on leg EMG: a great "
        "many very short twitches. This sensor sees only movement, so it reports a stand-in: "
        "20 minutes or more of sleep with at least 5 brief jerks per minute.",
    ),
    "hypnic": (
        "Hypnic jerk",
        "a sudden start while falling asleep (within 15 minutes of sleep onset): common and "
        "harmless.",
    ),
    "series": (
        "PLM series",
        "a run of periodic limb movements, numbered 1, 2, ... through the night in the "
        "figures and the tables alike.",
    ),
    "alternation": (
        "Alternation index",
        "with two sensors: among consecutive one-leg movements of a series, the share that "
        "switch legs (0-1).",
    ),
    "in-bed": (
        "Time in bed",
        "the minutes the sensor lay flat enough for lying down, asleep or not.",
    ),
    "sleep": (
        "Estimated sleep",
        "minutes the sleep model judges asleep from movement alone: quiet wake looks like "
        "sleep. Its confidence is the share of minutes it is sure of (chance of sleep under "
        "20 % or over 80 %); the range is the total sleep if the unsure minutes were all wake "
        "or all sleep.",
    ),
    "gap": (
        "Data gap",
        "time the sensor sent nothing (out of range, battery, removed): nothing there is counted.",
    ),
    "hft-alma": (
        "HFT, ALMA",
        "hypnagogic foot tremor and alternating leg muscle activation: quick rhythmic "
        "movements of the feet at sleep onset, shown but not counted as PLMs.",
    ),
    "g": ("g, mg", "acceleration in units of gravity (1 mg = a thousandth of g)."),
    "rules": (
        "Rules",
        "the published scoring rules followed (wasm2016: Ferri et al. 2016, the World "
        "Association of Sleep Medicine standards).",
    ),
}


def glossary_html(
    rules: tuple[str, float, float] | None = None, keys: list[str] | None = None
) -> str:
    """The words used, explained; `rules` (label, shortest and longest IMI in s): the rules
    the page was scored by, where they are not the default's 10-90 s of wasm2016 (aasm2012's
    5-90 s, a settings file's own bounds)."""
    entries = dict(GLOSSARY)
    if rules is not None:
        label, low, high = rules
        for key in ("plm", "imi"):  # a loop over the two entries that give the range
            name, text = entries[key]
            entries[key] = (name, text.replace("10-90 s", f"{low:g}-{high:g} s"))
        entries["rules"] = (
            "Rules",
            f"the published scoring rules followed, here {label} (wasm2016: Ferri et al. 2016, "
            "the World Association of Sleep Medicine standards; aasm2012: the American Academy "
            "of Sleep Medicine's manual, version 2.0); numbers in brackets are changed from the "
            "rule set's.",
        )
    items = "".join(
        f'<dt id="g-{key}">{escape(term)}</dt><dd>{escape(text)}</dd>'
        for key, (term, text) in entries.items()
        if keys is None or key in keys
    )
    return f'<h2 id="glossary">Words used here</h2><dl class="glossary">{items}</dl>'


def term(key: str, text: str | None = None) -> str:
    """A term linked to its explanation at the foot of the page."""
    return f'<a class="term" href="#g-{key}">{escape(text or GLOSSARY[key][0])}</a>'
