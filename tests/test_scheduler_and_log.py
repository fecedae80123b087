"""batch --scheduler against listeners that are not Dask schedulers, and --sleep-log entries
that name a multi-day file whole."""

import socket
import threading
import time
from contextlib import contextmanager

import pytest

from sleepmove import runners
from sleepmove.cli import main
from sleepmove.sensor.simulate import simulate

# What a Dask scheduler says first (distributed 2026.8, captured): its length, one frame,
# the frame's length, then its handshake as msgpack.
DASK_GREETING = (
    (58).to_bytes(8, "little")
    + (1).to_bytes(8, "little")
    + (42).to_bytes(8, "little")
    + b"\x83\xabcompression\xc0\xa6python\x93\x03\x0b\x07\xafpickle-protocol\x05"
)
SSH_BANNER = b"SSH-2.0-OpenSSH_8.9\r\n" + bytes(range(256)) * 4


@contextmanager
def listener(greeting: bytes | list[bytes] | None):
    """A local TCP server on a free port that accepts every connection and sends `greeting`
    (None: nothing, ever; a list: its pieces 0.2 s apart); its address."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.1)
    stop, held = threading.Event(), []

    def serve() -> None:
        while not stop.is_set():
            try:
                peer, _ = server.accept()
            except TimeoutError:
                continue
            held.append(peer)  # kept open: a silent server does not hang up either
            for piece in [greeting] if isinstance(greeting, bytes) else greeting or []:
                peer.sendall(piece)
                time.sleep(0.2)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"tcp://127.0.0.1:{server.getsockname()[1]}"
    finally:
        stop.set()
        thread.join()
        for peer in held:
            peer.close()
        server.close()


@pytest.fixture(scope="module")
def one_night(tmp_path_factory):
    folder = tmp_path_factory.mktemp("one")
    simulate(str(folder), 0.5, 25.0, None, seed=1, scenario="plmd-moderate")
    return folder


def batch_within(seconds: float, *args) -> int | None:
    """`sleepmove batch ARGS --no-report`'s exit status, or None if it has not ended within
    `seconds` (the old code waited forever on a silent listener)."""
    ended: list[int] = []
    argv = ["batch", *map(str, args), "--no-report"]
    thread = threading.Thread(target=lambda: ended.append(main(argv)), daemon=True)
    thread.start()
    thread.join(seconds)
    return ended[0] if ended else None


def one_error_line(capsys) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    errors = [line for line in err.splitlines() if line.startswith("sleepmove: error: ")]
    assert len(errors) == 1, err
    return errors[0].removeprefix("sleepmove: error: ")


@pytest.fixture
def quick_scheduler_timeout(monkeypatch):
    pytest.importorskip("distributed")
    monkeypatch.setattr(runners, "SCHEDULER_TIMEOUT_S", 2.0, raising=False)


def test_a_silent_listener_is_refused_in_bounded_time(
    one_night, tmp_path, capsys, quick_scheduler_timeout
):
    """It accepts and never speaks: Dask waited for its handshake forever, printing nothing."""
    out = tmp_path / "out"
    with listener(None) as address:
        started = time.monotonic()
        assert batch_within(40, one_night, "--out", out, "--scheduler", address) == 2
        assert time.monotonic() - started < 10
    assert one_error_line(capsys) == (
        f"--scheduler: cannot connect to {address} (it took the connection but said nothing "
        "in 2 s); expected the address of a running Dask scheduler, e.g. tcp://host:8786"
    )
    assert not out.exists()  # refused before anything is written


def test_a_listener_speaking_another_protocol_is_not_a_scheduler(
    one_night, tmp_path, capsys, quick_scheduler_timeout
):
    """An SSH banner read as a Dask frame's length: a 3 EiB allocation and a traceback."""
    out = tmp_path / "out"
    with listener(SSH_BANNER) as address:
        started = time.monotonic()
        assert batch_within(40, one_night, "--out", out, "--scheduler", address) == 2
        assert time.monotonic() - started < 10  # said at once, not at the timeout
    assert one_error_line(capsys) == (
        f"--scheduler: {address} is not a Dask scheduler (it answered in another protocol: "
        "'SSH-2.0-OpenSSH_8.9'); expected the address of a running Dask scheduler, "
        "e.g. tcp://host:8786"
    )
    assert not out.exists()


def test_a_listener_that_hangs_up_at_once_is_refused(one_night, tmp_path, capsys):
    pytest.importorskip("distributed")
    server = socket.create_server(("127.0.0.1", 0))
    address = f"tcp://127.0.0.1:{server.getsockname()[1]}"

    def hang_up() -> None:
        peer, _ = server.accept()
        peer.close()

    threading.Thread(target=hang_up, daemon=True).start()
    try:
        assert batch_within(40, one_night, "--out", tmp_path / "o", "--scheduler", address) == 2
    finally:
        server.close()
    assert "(it closed the connection without a word)" in one_error_line(capsys)


def test_a_scheduler_greeting_passes_the_look():
    """The look lets a real scheduler's first words through to Dask's Client."""
    with listener(DASK_GREETING) as address:
        started = time.monotonic()
        runners.check_scheduler(address, timeout_s=5.0)
        assert time.monotonic() - started < 2  # it waits for no more than the message
    pieces = [DASK_GREETING[:5], DASK_GREETING[5:30], DASK_GREETING[30:]]
    with listener(pieces) as address:  # the network may cut it anywhere
        runners.check_scheduler(address, timeout_s=5.0)
