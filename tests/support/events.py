"""One listener for every test that looks at events: it keeps them all, and lets a test wait
(with a generous bound) for events dispatched from other threads or processes."""

from __future__ import annotations

import threading
import time
from typing import Any, Callable

#: the longest any test waits for something that should take well under a second
TIMEOUT = 10.0


class EventRecorder:
    """A scheduler listener that keeps every event it gets, in arrival order.

    Thread-safe: worker threads, event loops and pool callbacks may call it while the test reads.
    ``next()`` hands the events out one at a time (a queue view of the same list).
    """

    def __init__(self) -> None:
        self.changed = threading.Condition()
        self.events: list[Any] = []
        #: how many events ``next()`` has already handed out
        self.read = 0

    def __call__(self, event: Any) -> None:
        with self.changed:
            self.events.append(event)
            self.changed.notify_all()

    @property
    def codes(self) -> list[int]:
        """The event codes, in arrival order."""
        with self.changed:
            return [event.code for event in self.events]

    def of(self, code: int, job_id: str | None = None) -> list[Any]:
        """The events with ``code`` (and of job ``job_id`` when given)."""
        with self.changed:
            return [
                event
                for event in self.events
                if event.code == code and (job_id is None or event.job_id == job_id)
            ]

    def clear(self) -> None:
        """Forget every event so far."""
        with self.changed:
            del self.events[:]
            self.read = 0

    def wait_until(self, predicate: Callable[[list[Any]], bool], timeout: float = TIMEOUT) -> bool:
        """Wait until ``predicate(events)`` holds; return whether it did within ``timeout``."""
        deadline = time.monotonic() + timeout
        with self.changed:
            while not predicate(list(self.events)):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self.changed.wait(remaining)
            return True

    def wait_for(self, count: int, timeout: float = TIMEOUT) -> list[Any]:
        """Wait for at least ``count`` events and return them all.

        :raises AssertionError: when fewer than ``count`` arrive within ``timeout``
        """
        if not self.wait_until(lambda events: len(events) >= count, timeout):
            raise AssertionError(
                f"got {len(self.events)} events within {timeout}s, expected {count}"
            )
        with self.changed:
            return list(self.events)

    def next(self, timeout: float = TIMEOUT) -> Any:
        """The oldest event not yet returned by ``next()``, waiting up to ``timeout`` for it."""
        with self.changed:
            wanted = self.read + 1
        event = self.wait_for(wanted, timeout)[wanted - 1]
        with self.changed:
            self.read = wanted
        return event

    def unread(self) -> list[Any]:
        """The events that ``next()`` has not handed out yet."""
        with self.changed:
            return self.events[self.read :]
