"""A scheduler that runs in the foreground: ``start()`` blocks until shutdown."""

from __future__ import annotations

from threading import TIMEOUT_MAX, Event
from typing import Any

from ._states import STATE_STOPPED
from .base import BaseScheduler

__all__ = ("BlockingScheduler",)


class BlockingScheduler(BaseScheduler):
    """Runs the processing loop in the thread that calls :meth:`start`, which returns only
    after :meth:`shutdown` (called from a job, a listener or another thread).

    The loop sleeps on a :class:`threading.Event` until the next job is due; :meth:`wakeup`
    sets the event to cut the sleep short.
    """

    _event: Event | None = None

    def _fresh_event(self) -> None:
        """A new event for a new run (an event left set by the last shutdown would make the
        first sleep return at once)."""
        if self._event is None or self._event.is_set():
            self._event = Event()

    def start(self, *args: Any, **kwargs: Any) -> None:
        self._fresh_event()
        super().start(*args, **kwargs)
        self._main_loop()

    def shutdown(self, wait: bool = True) -> None:
        super().shutdown(wait)
        assert self._event is not None
        self._event.set()  # ends the loop's sleep, so it sees the stopped state

    def _main_loop(self) -> None:
        wake = self._event
        assert wake is not None
        wait_seconds: float | None = TIMEOUT_MAX
        try:
            while self.state != STATE_STOPPED:
                wake.wait(wait_seconds)
                wake.clear()
                # A shutdown ends the sleep too: no round for a scheduler that has stopped.
                if self.state == STATE_STOPPED:
                    break
                wait_seconds = self._process_jobs_or_retry()
        finally:
            for store in list(self._jobstores.values()):
                store.release_thread()

    def wakeup(self) -> None:
        if self._event is not None:
            self._event.set()
