"""Which advertising devices speak a protocol sleepmove knows (sensor/registry.py)."""

from __future__ import annotations

from typing import Any  # bleak's BLEDevice and AdvertisementData (bleak is imported lazily)

from sleepmove.sensor.registry import SensorFamily, family_of


def protocol_of(name: str | None, service_uuids: list[str]) -> str | None:
    """The `record --protocol` name of what advertises so, with a note where one is due."""
    found = family_of(name, service_uuids)
    return found.shown() if found else None


def advertised(device: Any, advertisement: Any) -> tuple[str, list[str]]:
    """The name and service UUIDs of one advertisement (the local name, else the device's)."""
    return advertisement.local_name or device.name or "", list(advertisement.service_uuids)


async def scan(seconds: float, **backend) -> list[dict]:
    """Supported sensors in range, strongest first: name, address, rssi, protocol, family."""
    from bleak import BleakScanner

    found = await BleakScanner.discover(timeout=seconds, return_adv=True, **backend)
    rows = []
    for device, advertisement in found.values():  # a loop over devices
        name, services = advertised(device, advertisement)
        described: SensorFamily | None = family_of(name, services)
        if described:
            rows.append(
                {
                    "name": name,
                    "address": device.address,
                    "rssi": advertisement.rssi,
                    "protocol": described.shown(),
                    "family": described.name,
                }
            )
    return sorted(rows, key=lambda row: -row["rssi"])
