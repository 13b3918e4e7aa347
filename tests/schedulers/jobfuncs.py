"""Job functions for the live scheduler tests.

They live in an importable module because the process pool starts its workers with ``spawn``:
a worker imports the job's function by its reference (``schedulers.jobfuncs:NAME``); the workers
inherit the parent's ``sys.path``, on which pytest has put the ``tests`` directory.
"""

from __future__ import annotations

import os


def get_pid() -> int:
    """Return the id of the process the job runs in."""
    return os.getpid()


def add(x: int, y: int) -> int:
    return x + y


def fail(message: str) -> None:
    raise ValueError(message)
