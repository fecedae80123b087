"""Axivity .cwa (AX3, AX6): a 1024-byte header ("MD"), then 512-byte blocks ("AX").

Decoded by actfast; AX6 blocks' gyroscope samples are ignored. A .cwa states no zone."""

from __future__ import annotations

from sensor.formats.samples import decode_with_actfast, device_recording
from sensor.recording import Recording

NAME = "an Axivity .cwa file"


def recognizes(head: bytes, path: str) -> bool:
    # "MD" and the header packet's length (1020 bytes after these four).
    return head[:2] == b"MD" and int.from_bytes(head[2:4], "little") == 1020


def read(path: str, units: str) -> tuple[Recording, float | None]:
    result = decode_with_actfast(path, NAME)
    samples = result["timeseries"].get("high_frequency", {})
    rate = result["metadata"].get("configuration", {}).get("sample_rate_hz")
    return (
        device_recording(
            path,
            NAME,
            samples.get("datetime", []),
            samples.get("acceleration"),
            units,
            float(rate) if rate else None,
        ),
        None,
    )
