"""Job functions of the command-line tests, importable by reference (``cli.jobfuncs:ok``).

The scheduler processes started by the tests import them with ``PYTHONPATH`` set to ``tests/``.
:func:`record` appends ``<job id> <scheduled run time as a UTC timestamp>`` to the file named
by ``QUARTZITE_CLI_LEDGER``, one ``write()`` per line, so a test can compare what really ran
with the run records.
"""

from __future__ import annotations

import os
import time
from typing import Any

from quartzite.runs import current_run

LEDGER_VARIABLE = "QUARTZITE_CLI_LEDGER"


def ok(*args: Any, **kwargs: Any) -> str:
    """Succeed."""
    return "ok"


def fail() -> None:
    """Fail with a two-line message."""
    raise RuntimeError("broken on purpose\nsecond line of the message")


def record() -> None:
    """Append this occurrence to the ledger."""
    run = current_run()
    assert run is not None
    line = f"{run.job_id} {run.scheduled_run_time.timestamp():.6f}\n"
    fd = os.open(os.environ[LEDGER_VARIABLE], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line.encode())
    finally:
        os.close(fd)


def slow() -> None:
    """Append this occurrence to the ledger, then take a minute."""
    record()
    time.sleep(60)
