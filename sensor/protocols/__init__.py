"""BLE sensor families: one module each, describing the family once (`FAMILY`, read by
`sensor/registry.py`): GATT layout, advertised names, rates, its decoder, the session that
starts and stops its stream, and its emulated models. Modules starting with `_` are helpers.

Decoders are pure (bytes in, samples out) and never raise on garbage: a bad frame is reported
in `Decoded.problems` and dropped. Each module also has the encoder its emulated sensor uses.
"""
