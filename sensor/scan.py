"""Which advertising devices speak a protocol sleepmove knows."""

from __future__ import annotations

from sleepmove.sensor.protocols import metamotion, movesense, pinetime, polar, witmotion

PROTOCOLS = [
    (polar.SERVICE, "polar-pmd (recording supported)", ("polar",)),
    (movesense.SERVICE, "movesense (decoder only)", ("movesense",)),
    (metamotion.SERVICE, "metamotion (decoder only)", ("metawear", "metamotion")),
    (witmotion.SERVICE, "witmotion (decoder only)", ("wt901",)),
    (pinetime.SERVICE, "pinetime (coarse; decoder only)", ("infinitime", "pinetime")),
]


def protocol_of(name: str | None, service_uuids: list[str]) -> str | None:
    services = {u.lower() for u in service_uuids}
    lowered = (name or "").lower()
    for service, protocol, names in PROTOCOLS:
        if service in services or any(n in lowered for n in names):
            return protocol
    return None


async def scan(seconds: float, **backend) -> list[dict]:
    from bleak import BleakScanner

    found = await BleakScanner.discover(timeout=seconds, return_adv=True, **backend)
    rows = []
    for device, advertisement in found.values():
        protocol = protocol_of(advertisement.local_name or device.name, advertisement.service_uuids)
        if protocol:
            rows.append(
                {
                    "name": advertisement.local_name or device.name or "",
                    "address": device.address,
                    "rssi": advertisement.rssi,
                    "protocol": protocol,
                }
            )
    return sorted(rows, key=lambda row: -row["rssi"])
