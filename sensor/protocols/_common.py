"""What every decoder is and returns."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Decoded:
    """Samples from one notification: sensor-clock times (s, or None when the device sends
    none) and acceleration in g; problems found (the frame was dropped when non-empty)."""

    xyz_g: np.ndarray = field(default_factory=lambda: np.empty((0, 3)))
    times_s: np.ndarray | None = None
    problems: list[str] = field(default_factory=list)

    @classmethod
    def bad(cls, problem: str) -> Decoded:
        return cls(problems=[problem])


class Decoder:
    """One notification's bytes in, its samples out. State that spans notifications (a frame
    split across them, the previous stamp) lives in the decoder: a new link gets a new one."""

    def decode(self, data: bytes) -> Decoded:
        raise NotImplementedError

    def flush(self) -> Decoded:
        """Samples held back for a later notification (called when the stream ends)."""
        return Decoded()

    def forget_clock(self) -> None:
        """Forget the stamps seen so far (the sensor's clock jumped): the next frame's stamp
        is taken as it comes."""

    def runs_behind(self) -> bool:
        """Whether the frames it dropped as stamped before the last one kept it means the
        clock was set back and runs on (their stamps advance), not a frame repeated."""
        return False


def signed(values: np.ndarray, bits: int) -> np.ndarray:
    """Two's complement of unsigned integers of the given width."""
    values = values.astype(np.int64)
    return np.where(values >= 1 << (bits - 1), values - (1 << bits), values)


def unpack_bits(data: bytes, width: int, count: int) -> np.ndarray:
    """`count` unsigned integers of `width` bits, packed least significant bit first."""
    bits = np.unpackbits(np.frombuffer(data, dtype=np.uint8), bitorder="little")
    needed = width * count
    if len(bits) < needed:
        raise ValueError(f"{needed} bits needed, {len(bits)} present")
    matrix = bits[:needed].reshape(count, width).astype(np.int64)
    return matrix @ (1 << np.arange(width, dtype=np.int64))


def pack_bits(values: np.ndarray, width: int) -> bytes:
    """Inverse of unpack_bits for two's-complement values."""
    unsigned = np.asarray(values, dtype=np.int64) & ((1 << width) - 1)
    bits = ((unsigned[:, None] >> np.arange(width)) & 1).astype(np.uint8).ravel()
    return np.packbits(bits, bitorder="little").tobytes()
