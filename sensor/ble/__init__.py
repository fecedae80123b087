"""Bluetooth: a bleak backend over bumble's in-memory link, and emulated sensors."""
