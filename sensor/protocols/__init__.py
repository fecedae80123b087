"""BLE sensor protocols: how to start and stop a stream and turn notifications into samples.

Each module is pure (bytes in, samples out) and never raises on garbage: a bad frame is
reported in `Decoded.problems` and dropped. Each also has the encoder its emulated sensor uses.
"""
