"""A scheduler that runs in the foreground: ``start()`` blocks until shutdown."""

from __future__ import annotations

from threading import TIMEOUT_MAX, Event
from typing import Any

from ._states import STATE_STOPPED
from .base import BaseScheduler

__all__ = ("BlockingScheduler",)


class BlockingScheduler(BaseScheduler):
    """A scheduler that runs in the foreground (:meth:`start` will block)."""

    _event: Event | None = None

    def start(self, *args: Any, **kwargs: Any) -> None:
        if self._event is None or self._event.is_set():
            self._event = Event()

        super().start(*args, **kwargs)
        self._main_loop()

    def shutdown(self, wait: bool = True) -> None:
        super().shutdown(wait)
        assert self._event is not None
        self._event.set()

    def _main_loop(self) -> None:
        event = self._event
        assert event is not None
        wait_seconds: float | None = TIMEOUT_MAX
        while self.state != STATE_STOPPED:
            event.wait(wait_seconds)
            event.clear()
            wait_seconds = self._process_jobs_or_retry()

    def wakeup(self) -> None:
        if self._event is not None:
            self._event.set()
