"""A scheduler that runs in a background thread: ``start()`` returns at once."""

from __future__ import annotations

from threading import Event, Thread, current_thread
from typing import Any

from ..util import asbool
from .base import BaseScheduler
from .blocking import BlockingScheduler

__all__ = ("BackgroundScheduler",)


class BackgroundScheduler(BlockingScheduler):
    """A scheduler that runs in the background using a separate thread (:meth:`start` will
    return immediately).

    Extra options:

    ========== =============================================================================
    ``daemon`` Set the ``daemon`` option in the background thread (defaults to ``True``, see
               `the documentation
               <https://docs.python.org/3/library/threading.html#thread-objects>`_
               for further details)
    ========== =============================================================================
    """

    _thread: Thread | None = None

    def _configure(self, config: dict[str, Any]) -> None:
        self._daemon = asbool(config.pop("daemon", True))
        super()._configure(config)

    def start(self, *args: Any, **kwargs: Any) -> None:
        if self._event is None or self._event.is_set():
            self._event = Event()

        BaseScheduler.start(self, *args, **kwargs)
        self._thread = Thread(target=self._main_loop, name="APScheduler", daemon=self._daemon)
        self._thread.start()

    def shutdown(self, *args: Any, **kwargs: Any) -> None:
        super().shutdown(*args, **kwargs)
        thread = self._thread
        # A listener or job running in the scheduler thread may shut the scheduler down; it
        # cannot join itself.
        if thread is not None and thread is not current_thread():
            thread.join()
        del self._thread
