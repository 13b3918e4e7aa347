"""Waking the schedulers that share a Django store when a job changes or a run is asked for.

Two paths, both best effort (the schedulers also look again every ``poll_interval``):

- in the same process, a registry of the watch callbacks of started stores: a change made here
  (an admin action, ``add_job`` from a view) wakes a scheduler running in this process at once;
- across processes on PostgreSQL, ``NOTIFY`` in the writing transaction and a thread per
  watching store that ``LISTEN``\\ s on a dedicated psycopg 3 connection.
"""

from __future__ import annotations

import logging
import threading
from typing import Any, Callable

from django.db import connections, transaction

__all__ = ("Listener", "can_listen", "notify", "register", "unregister", "wake_local")

logger = logging.getLogger("quartzite.contrib.django")

#: The channel the Django stores notify on (a PostgreSQL identifier).
CHANNEL = "quartzite_django_jobs"

_registry_lock = threading.Lock()
_callbacks: dict[int, Callable[[], None]] = {}


def register(key: int, callback: Callable[[], None]) -> None:
    """Remember the watch callback of a started store (``key``: the store's ``id()``)."""
    with _registry_lock:
        _callbacks[key] = callback


def unregister(key: int) -> None:
    with _registry_lock:
        _callbacks.pop(key, None)


def wake_local() -> None:
    """Call every registered callback now (errors are logged)."""
    with _registry_lock:
        callbacks = list(_callbacks.values())
    for callback in callbacks:
        try:
            callback()
        except Exception:
            logger.exception("A scheduler wake-up callback failed")


def notify(alias: str) -> None:
    """Tell the schedulers that something changed on ``alias``, once the current transaction
    commits (at once when there is none). Inside a transaction the local schedulers are also
    woken at once: an early look costs one query, a missed one costs a poll interval."""
    connection = connections[alias]
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_notify(%s, '')", [CHANNEL])
    if connection.in_atomic_block:
        transaction.on_commit(wake_local, using=alias)
    wake_local()


def can_listen(alias: str) -> bool:
    """Whether :class:`Listener` works on ``alias``: PostgreSQL through psycopg 3."""
    connection = connections[alias]
    return connection.vendor == "postgresql" and connection.Database.__name__ == "psycopg"


class Listener:
    """A daemon thread calling ``callback`` whenever a notification arrives (reconnecting with
    a growing pause when its connection fails)."""

    def __init__(self, alias: str, callback: Callable[[], None]) -> None:
        self._params: dict[str, Any] = connections[alias].get_connection_params()
        self._callback = callback
        self._stopping = threading.Event()
        self._thread = threading.Thread(
            target=self._main, name="quartzite-django-listen", daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not threading.current_thread():
            self._thread.join(timeout=5)

    def _main(self) -> None:
        import psycopg

        params = {
            key: value
            for key, value in self._params.items()
            if key not in ("cursor_factory", "context", "prepare_threshold", "server_side_binding")
        }
        backoff = 0.5
        while not self._stopping.is_set():
            try:
                with psycopg.connect(autocommit=True, **params) as connection:
                    connection.execute(f'LISTEN "{CHANNEL}"')
                    backoff = 0.5
                    self._call_back()  # changes made while we were not listening
                    while not self._stopping.is_set():
                        if any(True for _ in connection.notifies(timeout=1.0, stop_after=1)):
                            for _ in connection.notifies(timeout=0.05):
                                pass
                            self._call_back()
            except Exception as exc:
                if self._stopping.is_set():
                    break
                logger.warning(
                    "Listening for job changes failed (%s) -- retrying in %.1f s", exc, backoff
                )
                self._stopping.wait(backoff)
                backoff = min(backoff * 2, 10.0)

    def _call_back(self) -> None:
        try:
            self._callback()
        except Exception:
            logger.exception("The wake-up callback failed")
