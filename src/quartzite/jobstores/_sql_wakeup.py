"""Waking the schedulers that share a PostgreSQL store: ``NOTIFY`` on changes, ``LISTEN`` in a
thread.

Every change to the jobs (and every run-now request) sends ``pg_notify(channel, '')`` in the
transaction that makes it, so listeners hear of it exactly when it is committed. A scheduler's
:class:`~._pg_listener.Listener` holds one dedicated connection (:func:`listening_connection`),
listens on the channel and calls the scheduler back, once per burst of notifications. Other
backends have no such mechanism; their stores bound the scheduler's sleep with a poll
interval instead.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

__all__ = ("can_listen", "channel_name", "listening_connection", "notify")


def channel_name(tablename: str) -> str:
    """The notification channel of a jobs table (a PostgreSQL identifier: <= 63 bytes)."""
    return f"quartzite_{tablename}".lower()[:63]


def notify(connection: Connection, channel: str) -> None:
    """Tell the listeners of ``channel`` that something changed, when the transaction commits
    (PostgreSQL only; nothing on other backends)."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_notify(:channel, '')"), {"channel": channel})


def can_listen(engine: Engine) -> bool:
    """Whether a :class:`~._pg_listener.Listener` works with this engine: PostgreSQL through
    psycopg 3."""
    return engine.dialect.name == "postgresql" and engine.dialect.driver == "psycopg"


def listening_connection(engine: Engine) -> Any:
    """A connection of ``engine`` for a :class:`~._pg_listener.Listener` (so its URL,
    credentials and connect_args apply), taken out of the pool for good, in autocommit mode."""
    pooled = engine.raw_connection()
    connection = pooled.driver_connection
    pooled.detach()
    if connection is None:  # pragma: no cover - a connection the pool already lost
        raise ConnectionError("the engine gave no connection")
    connection.rollback()
    connection.autocommit = True
    return connection
