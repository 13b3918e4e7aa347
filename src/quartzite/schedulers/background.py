"""A scheduler that runs in a background thread: ``start()`` returns at once."""

from __future__ import annotations

from threading import Thread, current_thread
from typing import Any

from ..util import asbool
from .base import BaseScheduler
from .blocking import BlockingScheduler

__all__ = ("BackgroundScheduler",)


class BackgroundScheduler(BlockingScheduler):
    """The blocking scheduler's loop, run in a thread of its own so :meth:`start` returns.

    Extra option: ``daemon`` (default ``True``) makes that thread a daemon thread, so the
    interpreter may exit without calling :meth:`shutdown` first; with ``False`` a program only
    exits after the scheduler has been shut down.
    """

    _thread: Thread | None = None

    def _configure(self, config: dict[str, Any]) -> None:
        self._daemon = asbool(config.pop("daemon", True))
        super()._configure(config)

    def start(self, *args: Any, **kwargs: Any) -> None:
        self._fresh_event()
        BaseScheduler.start(self, *args, **kwargs)
        # The thread keeps APScheduler's name: tools and tests that look for it still find it.
        thread = Thread(target=self._main_loop, name="APScheduler", daemon=self._daemon)
        self._thread = thread
        thread.start()

    def shutdown(self, *args: Any, **kwargs: Any) -> None:
        super().shutdown(*args, **kwargs)
        thread = self._thread
        # A listener or job running in the scheduler thread may shut the scheduler down; it
        # cannot join itself.
        if thread is not None and thread is not current_thread():
            thread.join()
        del self._thread
