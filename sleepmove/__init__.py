"""sleepmove: sleep movements from wearable accelerometers."""

__version__ = "0.1.0"
