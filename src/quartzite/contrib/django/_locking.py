"""Transactions of the Django app that hold the write lock from their first statement.

On PostgreSQL and MariaDB the stores lock rows (``select_for_update``). SQLite has no row
locks, and Django opens its transactions as deferred: a transaction that reads, then writes,
can lose the race for the write lock to another process after its read, and SQLite then fails
it at once with "database is locked" (the busy timeout does not apply). So on SQLite each write
transaction starts with a write that changes nothing: from then on it holds the lock, and other
processes wait for it within their busy timeout. Lock contention that still outlasts the busy
timeout is retried here with a growing pause; the connection is not closed for it.

Within one process, the write transactions on a SQLite alias also take turns on a lock of
this module: threads then wait for each other without SQLite's busy handler, which polls with
sleeps of up to 100 ms.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from contextlib import nullcontext
from typing import Any, Callable, ContextManager, TypeVar

from django.db import DatabaseError, OperationalError, connections

__all__ = ("is_lock_error", "retry_locked", "take_write_lock", "use_wal")

_T = TypeVar("_T")

logger = logging.getLogger("quartzite.contrib.django")

#: Attempts of one operation that keeps meeting a locked database, and the longest pause.
_LOCK_ATTEMPTS = 8
_MAX_PAUSE = 2.0


_serial_locks: dict[str, threading.RLock] = {}
_serial_guard = threading.Lock()


def serial(alias: str | None) -> ContextManager[Any]:
    """The in-process lock of ``alias``'s write transactions on SQLite (no lock elsewhere)."""
    if alias is None or connections[alias].vendor != "sqlite":
        return nullcontext()
    with _serial_guard:
        return _serial_locks.setdefault(alias, threading.RLock())


def take_write_lock(alias: str) -> None:
    """On SQLite, take the database's write lock for the current transaction (nothing on the
    other backends). Call it first inside ``transaction.atomic(using=alias)``."""
    connection = connections[alias]
    if connection.vendor != "sqlite":
        return
    from .models import DjangoSchedulerCheckin

    table = connection.ops.quote_name(DjangoSchedulerCheckin._meta.db_table)
    with connection.cursor() as cursor:
        # A statement that writes nothing but makes SQLite take the RESERVED lock.
        cursor.execute(f"UPDATE {table} SET pid = pid WHERE 1 = 0")


def is_lock_error(exc: BaseException) -> bool:
    """Whether ``exc`` is lock contention (SQLite busy, a deadlock) rather than a broken
    connection."""
    text = str(exc).lower()
    return "database is locked" in text or "deadlock" in text or "lock wait timeout" in text


def retry_locked(operation: Callable[[], _T], what: str, alias: str | None = None) -> _T:
    """Run ``operation`` (a whole transaction); while it fails for lock contention, run it
    again after a growing, jittered pause (about 10 s in all at most).

    :param alias: the database the operation writes to (on SQLite, it then waits for the
        other threads of this process that write there)
    """
    pause = 0.05
    for attempt in range(1, _LOCK_ATTEMPTS + 1):
        try:
            with serial(alias):
                return operation()
        except OperationalError as exc:
            if attempt == _LOCK_ATTEMPTS or not is_lock_error(exc):
                raise
            logger.debug("%s met a locked database (%s); trying again", what, exc)
        time.sleep(pause * (0.5 + random.random()))
        pause = min(pause * 2, _MAX_PAUSE)
    raise AssertionError("unreachable")  # pragma: no cover


def use_wal(alias: str) -> None:
    """Switch the SQLite database of ``alias`` to write-ahead logging, unless it is in memory,
    already there, or inside a transaction (where SQLite refuses the switch). A database that
    cannot be switched (another process holds it, a network file system) is left as it is,
    with a warning: the stores work in any journal mode."""
    connection = connections[alias]
    if connection.vendor != "sqlite" or connection.in_atomic_block:
        return
    if connection.is_in_memory_db():
        return
    try:
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA journal_mode")
            if str(cursor.fetchone()[0]).lower() == "wal":
                return
            cursor.execute("PRAGMA journal_mode=WAL")
            mode = str(cursor.fetchone()[0]).lower()
    except DatabaseError as exc:
        mode = f"unchanged ({exc})"
    if mode != "wal":
        logger.warning(
            "Could not switch the SQLite database of alias %r to write-ahead logging: %s",
            alias,
            mode,
        )
