"""A night whose analysis kills its worker process (a crash in native code) costs that night
alone: an error row, and the other nights analyzed. It ended the whole batch in a traceback
(BrokenProcessPool), its table of nights unwritten (a stress test's GENEActiv header)."""

import os
import signal

from sleepmove import runners
from sleepmove.batch import NightTask


def test_a_worker_killed_by_one_night_costs_that_night_alone(tmp_path, monkeypatch):
    def analysis(task):  # in the forked worker: the "bad" night kills its process
        if task.night_id == "bad":
            os.kill(os.getpid(), signal.SIGKILL)
        return [{"id": task.night_id, "status": "ok", "error": ""}]

    monkeypatch.setattr(runners, "run_task", analysis)
    names = ["n0", "n1", "bad", "n3", "n4", "n5", "n6"]
    tasks = [NightTask(name, {"": f"{name}.csv"}, str(tmp_path / name), {}) for name in names]
    rows = {row["id"]: row for rows in runners.run_local(tasks, 2) for row in rows}
    assert sorted(rows) == sorted(names)  # every night once
    assert {name: row["status"] for name, row in rows.items() if name != "bad"} == dict.fromkeys(
        [n for n in names if n != "bad"], "ok"
    )
    assert rows["bad"]["status"] == "error" and "ended its process" in rows["bad"]["error"]
    assert rows["bad"]["inputs"] == "bad.csv"
