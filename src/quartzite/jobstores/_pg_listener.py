"""A thread that ``LISTEN``\\ s on a PostgreSQL channel and wakes a scheduler: the one listener of
the SQL store and the Django store (each brings its own way to open the connection).

It holds one dedicated psycopg 3 connection in autocommit mode, calls back once per burst of
notifications, looks once more after each (re)connection (changes made while nobody listened
were not heard), and reconnects with a growing pause when the connection fails.
"""

from __future__ import annotations

import logging
import threading
from typing import Any, Callable

__all__ = ("Listener",)

#: Seconds a listener waits for a notification before looking whether it should stop.
_WAIT = 1.0
#: Seconds a listener keeps collecting after a notification, to call back once per burst.
_COALESCE = 0.05
#: First and longest pause between reconnection attempts.
_FIRST_BACKOFF = 0.5
_MAX_BACKOFF = 10.0


class Listener:
    """Calls ``callback`` when a notification arrives on ``channel``.

    :param connect: opens a new psycopg 3 connection in autocommit mode
    :param channel: a channel name as given to ``pg_notify()`` (quoted here, so taken exactly)
    :param on_state: told ``True`` when listening, ``False`` when the connection was lost (a
        store may poll meanwhile)
    :param logger: where failures are logged
    """

    def __init__(
        self,
        connect: Callable[[], Any],
        channel: str,
        callback: Callable[[], None],
        on_state: Callable[[bool], None] | None = None,
        logger: logging.Logger | None = None,
    ) -> None:
        self._connect = connect
        self._channel = channel
        self._callback = callback
        self._on_state = on_state or (lambda listening: None)
        self._logger = logger or logging.getLogger(__name__)
        self._stopping = threading.Event()
        self._thread = threading.Thread(
            target=self._main, name=f"quartzite-listen-{channel}", daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Stop listening (within about a second) and close the connection."""
        self._stopping.set()
        if self._thread is not threading.current_thread():
            self._thread.join(timeout=5)

    def _main(self) -> None:
        backoff = _FIRST_BACKOFF
        while not self._stopping.is_set():
            connection = None
            try:
                connection = self._connect()
                connection.execute(f'LISTEN "{self._channel}"')
                self._on_state(True)
                backoff = _FIRST_BACKOFF
                self._call_back()  # changes made while nobody listened were not heard
                self._listen(connection)
            except Exception as exc:
                if self._stopping.is_set():
                    break
                self._on_state(False)
                self._logger.warning(
                    "Listening for changes on channel %s failed (%s: %s) -- reconnecting in %.1f s",
                    self._channel,
                    type(exc).__name__,
                    exc,
                    backoff,
                )
                self._stopping.wait(backoff)
                backoff = min(backoff * 2, _MAX_BACKOFF)
            finally:
                if connection is not None:
                    try:
                        connection.close()
                    except Exception:  # pragma: no cover - closing a broken connection
                        pass

    def _listen(self, connection: Any) -> None:
        while not self._stopping.is_set():
            heard = any(True for _ in connection.notifies(timeout=_WAIT, stop_after=1))
            if not heard:
                continue
            # Drain the rest of a burst (a batch of add_job calls) into one call back.
            for _ in connection.notifies(timeout=_COALESCE):
                pass
            self._call_back()

    def _call_back(self) -> None:
        try:
            self._callback()
        except Exception:
            self._logger.exception("The wake-up callback of channel %s failed", self._channel)
