"""Jobs survive a killed scheduler process: a new process on the same SQLite file finds them all,
and runs what was missed by the rules of misfire_grace_time and coalesce."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("sqlalchemy")

SCRIPT = Path(__file__).with_name("restart_scheduler.py")


def read_events(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    lines = path.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.endswith("}")]


def wait_for(path: Path, condition: Any, timeout: float) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        events = read_events(path)
        if condition(events):
            return events
        time.sleep(0.05)
    raise AssertionError(f"timed out; events so far: {read_events(path)}")


def run_times(events: list[dict[str, Any]], job_id: str, kind: str = "executed") -> list[datetime]:
    return [
        datetime.fromisoformat(event["run_time"])
        for event in events
        if event.get("job") == job_id and event["event"] == kind
    ]


@pytest.mark.live
@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX-only")
def test_jobs_survive_sigkill(tmp_path: Path) -> None:
    database = tmp_path / "jobs.sqlite"
    first_events, second_events = tmp_path / "first.jsonl", tmp_path / "second.jsonl"

    first = subprocess.Popen(
        [sys.executable, str(SCRIPT), str(database), str(first_events), "first"]
    )
    try:
        wait_for(first_events, lambda events: run_times(events, "every_run"), timeout=30)
    finally:
        first.kill()  # SIGKILL: no shutdown, no cleanup
        first.wait(10)
    assert first.returncode == -9

    time.sleep(3.5)  # the date jobs fall due while no scheduler runs
    second = subprocess.run(
        [sys.executable, str(SCRIPT), str(database), str(second_events), "second"], timeout=60
    )
    assert second.returncode == 0

    before, after = read_events(first_events), read_events(second_events)
    (started,) = [event for event in after if event["event"] == "started"]
    restart_time = datetime.fromisoformat(started["now"])

    # Every job is there, the paused one still paused
    assert set(started["jobs"]) == {"coalesced", "every_run", "late_ok", "too_late", "paused"}
    assert started["jobs"]["paused"] is None

    # coalesce=True: the runs missed while down are run once, for the latest of them (a run in
    # flight at the kill is recovered and run again: that repeat is not a missed run)
    ran_before = set(run_times(before, "coalesced"))
    missed_coalesced = [
        t for t in run_times(after, "coalesced") if t < restart_time and t not in ran_before
    ]
    assert len(missed_coalesced) == 1
    assert restart_time - missed_coalesced[0] < timedelta(seconds=1)

    # coalesce=False, misfire_grace_time=None: every missed run is run, without a gap
    runs = sorted(run_times(before, "every_run") + run_times(after, "every_run"))
    steps = {round((later - runs[0]).total_seconds()) for later in runs}
    assert steps == set(range(max(steps) + 1))
    assert len(runs) - len(steps) <= 1  # at most the run in flight at the kill is repeated
    assert runs[-1] > restart_time

    # date jobs due while down: run late without a grace limit, missed beyond a 1 s grace
    assert len(run_times(after, "late_ok")) == 1
    assert run_times(after, "too_late", "missed") and not run_times(after, "too_late")
    assert not run_times(before, "late_ok") and not run_times(before, "too_late", "missed")
