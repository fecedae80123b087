"""GENEActiv .bin: text; a header of `Key:Value` lines, then pages of hex-packed samples.

Decoded by actfast, which applies the header's gain and offset per axis
((raw * 100 - offset) / gain). The header's `Time Zone` (`GMT -04:00`) is the offset of the
device's clock."""

from __future__ import annotations

from sensor.formats.samples import decode_with_actfast, device_recording
from sensor.recording import Recording
from sensor.zones import parse_offset

NAME = "a GENEActiv .bin file"


def recognizes(head: bytes, path: str) -> bool:
    return head.lstrip(b"\xef\xbb\xbf").startswith(b"Device Identity") and (
        b"GENEActiv" in head or b"Device Unique Serial Code" in head
    )


def read(path: str, units: str) -> tuple[Recording, float | None]:
    result = decode_with_actfast(path, NAME)
    samples = result["timeseries"].get("high_frequency", {})
    configuration = result["metadata"].get("Configuration Info", {})
    rate = configuration.get("Measurement Frequency", "").split(" ")[0]
    zone = configuration.get("Time Zone", "")
    recording = device_recording(
        path,
        NAME,
        samples.get("datetime", []),
        samples.get("acceleration"),
        units,
        float(rate) if rate else None,
    )
    return recording, parse_offset(zone) if zone else None
