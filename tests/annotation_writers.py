"""Reference-scoring files written from event tables, for the validation tests.

The inverse of sleepmove.sensor.annotations' readers (EDF+ annotations, NSRR XML): only the
tests write these files, so the writers live here rather than in the package.
"""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from datetime import datetime

import numpy as np
import pandas as pd


def write_edf_annotations(path: str, events: pd.DataFrame, start: datetime, hours: float) -> None:
    """Events (onset_s from `start`, duration_s, kind, side) as EDF+ annotations."""
    import edfio

    seconds = int(np.ceil(hours * 3600))
    signal = edfio.EdfSignal(np.zeros(seconds), sampling_frequency=1, label="none")
    annotations = [
        edfio.EdfAnnotation(float(row.onset_s), float(row.duration_s), _label(row.kind, row.side))
        for row in events.itertuples()
    ]
    edf = edfio.Edf(
        [signal],
        recording=edfio.Recording(startdate=start.date()),
        starttime=start.time().replace(microsecond=0),
        annotations=annotations,
    )
    edf.write(path)


def write_nsrr_xml(path: str, events: pd.DataFrame, start: datetime) -> None:
    """Events as NSRR-style XML with a Recording Start Time clock."""
    root = ElementTree.Element("PSGAnnotation")
    scored = ElementTree.SubElement(root, "ScoredEvents")
    first = ElementTree.SubElement(scored, "ScoredEvent")
    ElementTree.SubElement(first, "EventConcept").text = "Recording Start Time"
    ElementTree.SubElement(first, "Start").text = "0"
    ElementTree.SubElement(first, "ClockTime").text = start.strftime("%d.%m.%y %H.%M.%S")
    for row in events.itertuples():
        event = ElementTree.SubElement(scored, "ScoredEvent")
        ElementTree.SubElement(event, "EventType").text = "Limb Movement|Limb Movement"
        ElementTree.SubElement(event, "EventConcept").text = _label(row.kind, row.side)
        ElementTree.SubElement(event, "Start").text = f"{row.onset_s:.3f}"
        ElementTree.SubElement(event, "Duration").text = f"{row.duration_s:.3f}"
    ElementTree.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)


def _label(kind: str, side: str) -> str:
    name = {
        "lm": "Limb Movement",
        "jerk": "Hypnic jerk",
        "movement": "Body movement",
        "hft": "Hypnagogic foot tremor",
        "alma": "ALMA",
    }[kind]
    return f"{name} ({side.capitalize()})" if side else name
