"""An alarm for code that must not hang: a hang becomes an ordinary test failure.

The tests that feed hostile input to the scheduler (malformed arguments, broken triggers, damaged
rows) run each call under :func:`alarm`, so a regression that loops for ever fails that one test
instead of freezing the whole run.
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["Hang", "alarm"]


class Hang(BaseException):
    """Raised by :func:`alarm` when the block did not finish in time.

    A ``BaseException``, so that code under test catching ``Exception`` cannot swallow it.
    """


@contextmanager
def alarm(seconds: float, what: str = "the call") -> Iterator[None]:
    """Interrupt the block with :class:`Hang` after ``seconds`` of wall time.

    POSIX only (``SIGALRM``); elsewhere the block simply runs unguarded.
    """
    if sys.platform == "win32" or not hasattr(signal, "setitimer"):
        yield
        return

    def ring(signum: int, frame: Any) -> None:
        raise Hang(f"{what} did not return within {seconds} s")

    previous = signal.signal(signal.SIGALRM, ring)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
