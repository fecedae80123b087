"""One night's results, typed, and the files they make (tables, summary, settings, report)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from sleepmove import __version__
from sleepmove.base.atomic import write_files
from sleepmove.detection.night import NightScore
from sleepmove.detection.parallel import in_background
from sleepmove.detection.params import AnalysisParameters
from sleepmove.reports.summary import build_summary
from sleepmove.reports.tables import epochs_table, events_table, to_csv
from sleepmove.settings import SETTINGS_FILE, settings_text

if TYPE_CHECKING:
    from sleepmove.pipeline import StageClock


@dataclass
class NightResult:
    """What the analysis of one night found, and how: everything its files are made from.

    `recording` and `quality` are summary.json's sections of those names (its documented
    contract); `summary` is the whole of it, built once."""

    score: NightScore
    params: AnalysisParameters
    options: dict[str, object]  # the command's options (sleepmove.settings.OPTIONS)
    recording: dict
    quality: dict
    sides: list[str]  # "" for one unnamed sensor
    gaps_s: np.ndarray  # data gaps, seconds from the origin
    origin_s: float
    clock: str
    summary: dict = field(init=False)

    def __post_init__(self) -> None:
        software = {"name": "sleepmove", "version": __version__}
        self.summary = build_summary(
            self.score, self.params, self.recording, self.quality, software
        )

    def settings_text(self) -> str:
        """The settings file that reproduces this night (`--config`)."""
        return settings_text(self.params, self.options)

    def files(self, report: bool = True) -> dict[str, str | bytes]:
        """Every output file by its name in the folder."""
        events_csv = in_background(
            lambda: to_csv(events_table(self.score, self.origin_s, self.clock))
        )
        epochs_csv = to_csv(epochs_table(self.score))
        files: dict[str, str | bytes] = {
            "events.csv": events_csv.result(),
            "epochs.csv": epochs_csv,
            SETTINGS_FILE: self.settings_text(),
            "summary.json": json.dumps(self.summary, indent=2, allow_nan=False) + "\n",
        }
        if report:
            from sleepmove.reports.night_report import night_report_files  # matplotlib: if needed

            files |= night_report_files(
                self.score,
                self.summary,
                self.sides,
                self.gaps_s,
                self.origin_s,
                self.clock,
                (SETTINGS_FILE, files[SETTINGS_FILE]),
            )
        return files

    def write(self, out_dir: str, report: bool = True, stages: StageClock | None = None) -> None:
        """Write the files into `out_dir`: each complete or not at all, summary.json last."""
        files = self.files(report)
        if stages is not None:
            stages.lap("report" if report else "outputs")
        write_files(out_dir, files)
        if stages is not None:
            stages.lap("outputs")
