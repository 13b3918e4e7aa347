"""Job functions of the cluster tests, importable by reference (``cluster.jobs:record``).

The scheduler processes run them; the test process only adds them to the store. Each run appends
lines to the ledger, a file shared by every process of one test, opened with ``O_APPEND`` and
written with one ``write()`` per line, so lines from several processes never interleave and a
``SIGKILL`` loses at most the line being written. Line format (space separated)::

    start <job_id> <scheduled_ts> <pid> <wall_ts>
    end <job_id> <scheduled_ts> <pid> <wall_ts>

``scheduled_ts`` is the occurrence's scheduled run time as a UTC timestamp, taken from
:func:`quartzite.runs.current_run`, so a line can be matched with the occurrence's run record.
"""

from __future__ import annotations

import os
import random
import time

from quartzite.runs import current_run

#: the environment variable that names the ledger (set by ``worker.py --ledger``)
LEDGER_VARIABLE = "QUARTZITE_CLUSTER_LEDGER"

_ledger_fd: int | None = None


def open_ledger(path: str) -> None:
    """Make this process append its ledger lines to ``path``."""
    global _ledger_fd
    os.environ[LEDGER_VARIABLE] = path
    _ledger_fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)


def write_line(*fields: object) -> None:
    """Append one line to the ledger, in one ``write()`` (atomic with ``O_APPEND``)."""
    if _ledger_fd is None:
        path = os.environ.get(LEDGER_VARIABLE)
        if not path:
            raise RuntimeError(f"no ledger: call open_ledger() or set {LEDGER_VARIABLE}")
        open_ledger(path)
    assert _ledger_fd is not None
    os.write(_ledger_fd, (" ".join(str(field) for field in fields) + "\n").encode())


def record(max_sleep: float = 0.3) -> None:
    """Note the start of the occurrence, work for a random while, then note its end."""
    run = current_run()
    if run is None:
        raise RuntimeError("record() must run as a scheduled job")
    scheduled = repr(run.scheduled_run_time.timestamp())
    pid = os.getpid()
    write_line("start", run.job_id, scheduled, pid, repr(time.time()))
    # The sleep widens the window in which a SIGKILL catches the run in flight.
    time.sleep(random.uniform(0.0, max_sleep))
    write_line("end", run.job_id, scheduled, pid, repr(time.time()))


def noop() -> None:
    """Does nothing (for the tests that only look at the stored jobs)."""
