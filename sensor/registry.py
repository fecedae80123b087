"""Every sensor family sleepmove records from, each described once.

A family is one module in `sensor/protocols/` (helpers there start with `_`) that defines
`FAMILY`, a `SensorFamily`: its GATT layout, the names it advertises, its rates and range,
its decoder, the session that starts and stops its stream, and its emulated models. `record`,
`scan` and the command line read them here, so a new sensor is one new module.

Listing the names imports nothing but this module (the command line's `--help` must stay
free of numpy); a family's module is imported when its description is asked for.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sleepmove.sensor.protocols._common import Decoder
    from sleepmove.sensor.recorder import SensorSession

PROTOCOLS_PACKAGE = "sleepmove.sensor.protocols"


@dataclass(frozen=True)
class EmulatedModel:
    """One emulated peripheral: the name it advertises and how to build it.

    `build(air, address, source, rate_hz, speed, name)` returns an object with `start()`,
    `address`, `device` (bumble's) and `first_streamed` (the index of the first sample a
    subscriber received, for a truth on the recording's clock)."""

    advertised: str
    build: Callable[..., Any]


@dataclass(frozen=True)
class SensorFamily:
    name: str  # what `record --protocol` takes
    label: str  # what recording.json says of the sensor's protocol
    title: str  # makers and models, for people
    service: str  # the primary GATT service, as advertised or discovered
    characteristics: Mapping[str, str]  # role -> UUID
    scan_names: tuple[str, ...]  # lower-case parts of the names the sensors advertise
    rates_hz: tuple[int, ...]  # what the device offers; the nearest to --rate is used
    range_g: int
    stamped: bool  # frames carry the sensor's clock (else samples are timed by the rate)
    decoder: Callable[[int], Decoder]  # rate -> a fresh decoder
    session: type[SensorSession]
    emulated: Mapping[str, EmulatedModel] = field(default_factory=dict)
    note: str = ""  # what a user should know before relying on it (coarse, ...)

    def rate_for(self, wanted: int) -> int:
        """The nearest rate the device offers to what was asked."""
        return min(self.rates_hz, key=lambda rate: (abs(rate - wanted), rate))

    def matches(self, name: str | None, service_uuids: list[str] | tuple[str, ...]) -> bool:
        """Whether an advertisement (its local name and service UUIDs) is this family's."""
        lowered = (name or "").lower()
        services = {u.lower() for u in service_uuids}
        return self.service in services or any(part in lowered for part in self.scan_names)

    def shown(self) -> str:
        return f"{self.name} ({self.note})" if self.note else self.name


def family_names() -> tuple[str, ...]:
    """The families, by module name, without importing them."""
    package = importlib.import_module(PROTOCOLS_PACKAGE)
    modules = pkgutil.iter_modules(package.__path__)
    return tuple(sorted(m.name for m in modules if not m.name.startswith("_")))


def family(name: str) -> SensorFamily:
    """The family called `name` (a name from `family_names`)."""
    if name not in family_names():
        raise KeyError(name)
    return importlib.import_module(f"{PROTOCOLS_PACKAGE}.{name}").FAMILY


def families() -> list[SensorFamily]:
    return [family(name) for name in family_names()]


def family_of(name: str | None, service_uuids: list[str] | tuple[str, ...]) -> SensorFamily | None:
    """The family an advertisement belongs to: its services first, then its name (services
    are what the sensor speaks; a name can be anything its owner typed)."""
    known = families()
    services = {u.lower() for u in service_uuids}
    for candidate in known:  # a loop over families
        if candidate.service in services:
            return candidate
    for candidate in known:
        if candidate.matches(name, ()):
            return candidate
    return None


def emulated_models() -> dict[str, tuple[SensorFamily, EmulatedModel]]:
    """Every emulated model by its `--emulate` name: the family's own name is its first model."""
    models: dict[str, tuple[SensorFamily, EmulatedModel]] = {}
    for described in families():
        for index, (model, emulation) in enumerate(described.emulated.items()):
            if index == 0:
                models[described.name] = (described, emulation)
            models[model] = (described, emulation)
    return models
