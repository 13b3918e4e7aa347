"""Job functions of the tests: each run notes which occurrence it ran."""

from __future__ import annotations

import os
import threading
from pathlib import Path

from quartzite.runs import current_run

_lock = threading.Lock()
#: (job id, scheduled run time as an ISO string) of every run in this process.
RUNS: list[tuple[str, str]] = []


def note() -> None:
    """Note the occurrence being run (and append it to ``QZ_DJ_RUNS_FILE`` when set)."""
    run = current_run()
    assert run is not None
    key = (run.job_id, run.scheduled_run_time.isoformat())
    with _lock:
        RUNS.append(key)
    target = os.environ.get("QZ_DJ_RUNS_FILE")
    if target:
        with Path(target).open("a") as handle:
            handle.write(f"{key[0]} {key[1]} {os.getpid()}\n")
