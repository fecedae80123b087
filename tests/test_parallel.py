"""Background steps: the same answers on a second thread as on the caller's own."""

import threading

import numpy as np
import pytest

from sleepmove.detection import parallel
from sleepmove.detection.grid import regularize
from sleepmove.detection.movements import detect_movements
from sleepmove.detection.params import WASM2016, DetectionParameters
from sleepmove.sensor.readers import read_recording


@pytest.fixture(params=[True, False], ids=["threads", "no-threads"])
def threads(request, monkeypatch):
    monkeypatch.setattr(parallel, "_enabled", parallel._enabled)  # restored after the test
    parallel.use_threads(request.param)
    return request.param


def test_a_step_runs_on_the_worker_or_at_once_on_the_callers_thread(threads):
    ran: list[str] = []
    step = parallel.in_background(lambda: ran.append(threading.current_thread().name) or 7)
    assert step.result() == 7
    if threads:
        assert ran[0].startswith("detect")
    else:
        assert ran == [threading.current_thread().name]


def test_a_step_started_off_the_main_thread_runs_at_once_on_that_thread(threads):
    """Two sensors' legs run a thread each: their steps do not queue on the one worker."""
    ran: list[str] = []

    def leg() -> None:
        parallel.in_background(lambda: ran.append(threading.current_thread().name)).result()

    thread = threading.Thread(target=leg, name="leg")
    thread.start()
    thread.join()
    assert ran == ["leg"]


def test_a_steps_error_is_raised_where_its_result_is_asked_for(threads):
    step = parallel.in_background(int, "not a number")
    with pytest.raises(ValueError, match="not a number"):
        step.result()


def test_grid_and_events_are_identical_with_and_without_the_second_thread(plm_night, monkeypatch):
    # A 2-hour 50 Hz night: six interpolation spans, half of them on the worker.
    recording = read_recording(str(plm_night[0] / "night.csv"))
    results = []
    monkeypatch.setattr(parallel, "_enabled", parallel._enabled)
    for enabled in (True, False):
        parallel.use_threads(enabled)
        grid = regularize(recording.time_s, recording.xyz_g)
        events, legs = detect_movements({"": grid}, grid.start_s, DetectionParameters(), WASM2016)
        results.append((grid, events.to_pandas(), legs[0]))
    (threaded, events_threaded, leg_threaded), (serial, events_serial, leg_serial) = results
    np.testing.assert_array_equal(threaded.xyz, serial.xyz)
    assert len(events_serial) > 50
    assert events_threaded.equals(events_serial)
    np.testing.assert_array_equal(leg_threaded.activity_per_min, leg_serial.activity_per_min)
