"""Job functions for the process pool tests.

Workers are spawned, so a job's function must be importable by its module name in a fresh
interpreter: test_pool.py puts this directory on ``sys.path`` before the first worker starts (the
spawn start method hands the parent's ``sys.path`` to each child).
"""

from __future__ import annotations

import os
import sys


def add(a: int, b: int) -> int:
    return a + b


def get_pid() -> int:
    return os.getpid()


def get_sys_path() -> list[str]:
    return list(sys.path)


def fail(message: str) -> None:
    raise ValueError(message)


def exit_process() -> None:
    # Kills the worker without any cleanup, which breaks the whole pool.
    os._exit(1)


async def coroutine_job() -> None:
    pass
