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
from typing import Callable

from django.db import connections, transaction

from ...jobstores._pg_listener import Listener

__all__ = ("can_listen", "listener", "notify", "register", "unregister", "wake_local")

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
    """Whether :func:`listener` works on ``alias``: PostgreSQL through psycopg 3."""
    connection = connections[alias]
    return connection.vendor == "postgresql" and connection.Database.__name__ == "psycopg"


def listener(alias: str, callback: Callable[[], None]) -> Listener:
    """A :class:`~quartzite.jobstores._pg_listener.Listener` (not started) on the channel of
    the Django stores, over a connection of its own with ``alias``'s parameters."""
    import psycopg

    params = {
        key: value
        for key, value in connections[alias].get_connection_params().items()
        if key not in ("cursor_factory", "context", "prepare_threshold", "server_side_binding")
    }
    return Listener(
        lambda: psycopg.connect(autocommit=True, **params), CHANNEL, callback, logger=logger
    )
