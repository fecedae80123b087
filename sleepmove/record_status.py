"""`record`'s status line: each sensor's state once a second, and what the last minutes held
(the live view, re-run every `LIVE_EVERY_S`)."""

from __future__ import annotations

import sys
import time

from sleepmove.live import LiveView, LiveWindow
from sleepmove.sensor.recorder import SessionStats

LIVE_EVERY_S = 30.0  # the live view re-runs the detector this often (real seconds)


class StatusLine:
    """One line a second; the live view's figures go into `extra` (recording.json) too."""

    def __init__(self, sides: list[str], speed: float = 1.0) -> None:
        self.windows = {side: LiveWindow() for side in sides}
        self.view = LiveView(self.windows, lambda line: self.write(f"\nsleepmove: {line}\n"))
        # An emulated night runs `speed` times faster: its minutes pass sooner.
        self.every_s = max(LIVE_EVERY_S / speed, 1.0)
        self.live: dict | None = None
        self.last_live = time.monotonic()
        self.shown = True  # False once stderr is gone

    def update(self, stats: list[SessionStats], extra: dict) -> None:
        if time.monotonic() - self.last_live >= self.every_s:
            self.live, self.last_live = self.view.update(), time.monotonic()
            if self.live:
                extra["live"] = self.live
            if self.view.errors:
                extra["live_errors"] = self.view.errors
        self.write(line(stats, self.live))

    def write(self, text: str) -> None:
        """`text` onto stderr while it takes it. A terminal closed (ssh gone: EIO) or a log
        reader that left (`| tee`: EPIPE) made every later write fail, and the first failure
        stopped the night: the status line goes quiet instead, the recording goes on."""
        if not self.shown:
            return
        try:
            sys.stderr.write(text)
            sys.stderr.flush()
        except (OSError, ValueError, AttributeError):  # gone, closed, or None
            self.shown = False


def say(text: str, stream=None) -> bool:
    """One line onto `stream` (stdout unless given), False when nobody reads it any more
    (a `| tee` killed: EPIPE; an ssh terminal closed: EIO): `record`'s last lines are said
    after the night and its results are written, and their loss must not turn a whole night
    into exit status 1 ('cannot write (Broken pipe)')."""
    stream = sys.stdout if stream is None else stream
    try:
        stream.write(text + "\n")
        stream.flush()
        return True
    except (OSError, ValueError, AttributeError):  # gone, closed, or None
        return False


def line(stats: list[SessionStats], live: dict | None) -> str:
    """Each sensor's state, and what the last minutes held: in place on a terminal, a line
    at a time elsewhere (a log)."""
    parts = [
        f"{s.side or 'sensor'}: {s.state}, {s.samples} samples, "
        f"{s.data_loss_s:.1f} s lost, {s.reconnections} reconnections"
        for s in stats
    ]
    if live:
        parts.append(
            f"last {live['minutes']:.0f} min: {live['jerks_per_min']:.1f} jerks/min, "
            f"{live['lms']} LMs, PLM series {live['series_length']}"
        )
    text = " | ".join(parts)
    try:
        on_terminal = sys.stderr.isatty()
    except (OSError, ValueError, AttributeError):
        on_terminal = False
    return "\r" + text[:150].ljust(150) if on_terminal else text + "\n"
