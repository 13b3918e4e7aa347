"""Waking the schedulers that share a PostgreSQL store: ``NOTIFY`` on changes, ``LISTEN`` in a
thread.

Every change to the jobs (and every run-now request) sends ``pg_notify(channel, '')`` in the
transaction that makes it, so listeners hear of it exactly when it is committed. A scheduler's
:class:`Listener` holds one dedicated connection in autocommit mode, listens on the channel and
calls the scheduler back, once per burst of notifications. Other backends have no such
mechanism; their stores bound the scheduler's sleep with a poll interval instead.
"""

from __future__ import annotations

import logging
import threading
from typing import Any, Callable

from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

__all__ = ("Listener", "channel_name", "notify")

_logger = logging.getLogger("quartzite.jobstores.sqlalchemy")

#: Seconds a listener waits for a notification before looking whether it should stop.
_WAIT = 1.0
#: Seconds a listener keeps collecting after a notification, to call back once per burst.
_COALESCE = 0.05
#: Longest pause between reconnection attempts.
_MAX_BACKOFF = 10.0


def channel_name(tablename: str) -> str:
    """The notification channel of a jobs table (a PostgreSQL identifier: <= 63 bytes)."""
    return f"quartzite_{tablename}".lower()[:63]


def notify(connection: Connection, channel: str) -> None:
    """Tell the listeners of ``channel`` that something changed, when the transaction commits
    (PostgreSQL only; nothing on other backends)."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_notify(:channel, '')"), {"channel": channel})


def can_listen(engine: Engine) -> bool:
    """Whether :class:`Listener` works with this engine: PostgreSQL through psycopg 3."""
    return engine.dialect.name == "postgresql" and engine.dialect.driver == "psycopg"


class Listener:
    """A daemon thread that calls ``callback`` when a notification arrives on ``channel``.

    It reconnects (with a growing pause) whenever its connection fails; ``on_state(True)`` is
    called when it listens, ``on_state(False)`` when it lost its connection, so the store can
    fall back to polling meanwhile. :meth:`stop` ends it within about a second.
    """

    def __init__(
        self,
        engine: Engine,
        channel: str,
        callback: Callable[[], None],
        on_state: Callable[[bool], None],
    ) -> None:
        self._engine = engine
        self._channel = channel
        self._callback = callback
        self._on_state = on_state
        self._stopping = threading.Event()
        self._thread = threading.Thread(
            target=self._main, name=f"quartzite-listen-{channel}", daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not threading.current_thread():
            self._thread.join(timeout=5)

    def _connect(self) -> Any:
        # A connection of the engine (so its URL, credentials and connect_args apply), taken
        # out of the pool for good: it stays in autocommit mode and only ever listens.
        pooled = self._engine.raw_connection()
        connection = pooled.driver_connection
        pooled.detach()
        if connection is None:  # pragma: no cover - a connection the pool already lost
            raise ConnectionError("the engine gave no connection")
        connection.rollback()
        connection.autocommit = True
        # The channel is a lowercase identifier made by channel_name(); quoted, it is exactly
        # the text pg_notify() is given.
        connection.execute(f'LISTEN "{self._channel}"')
        return connection

    def _main(self) -> None:
        backoff = 0.5
        while not self._stopping.is_set():
            connection = None
            try:
                connection = self._connect()
                self._on_state(True)
                backoff = 0.5
                # Changes made while we were not listening were not heard: look once.
                self._call_back()
                self._listen(connection)
            except Exception as exc:
                if self._stopping.is_set():
                    break
                self._on_state(False)
                _logger.warning(
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
            _logger.exception("The wake-up callback of channel %s failed", self._channel)
