"""The jobs a scheduler adds as it starts, written in one transaction
(:meth:`~quartzite.contrib.django.jobstores.DjangoJobStore.batch_adds`).

A Django project typically declares its jobs (``jobs.py``, or ``add_job`` calls before
``start()``) and starts the scheduler: every job is then added at ``start()``. One transaction
per job costs a durable commit each (an fsync on the server, or of the SQLite file); here they
share one commit. Each add is still one statement that says at once whether the id was free,
so ``add_job`` keeps its contract: a taken id raises ``ConflictingIdError`` (and the scheduler
replaces the job when asked to) without breaking the transaction.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING

from django.db import DatabaseError, IntegrityError, connections, transaction

from ._locking import serial, take_write_lock
from .models import DjangoJob

if TYPE_CHECKING:
    from .jobstores import DjangoJobStore

__all__ = ("BatchAdds",)


class BatchAdds:
    """Which threads of one store are adding a starting scheduler's jobs (see the module)."""

    def __init__(self) -> None:
        self._local = threading.local()

    def active(self) -> bool:
        """Whether this thread is inside :meth:`batch`."""
        return getattr(self._local, "inserted", None) is not None

    @contextmanager
    def batch(self, store: DjangoJobStore) -> Iterator[None]:
        """One transaction on the store's alias for the adds made inside the block.

        An exception from the block keeps the jobs added before it (as separate adds would
        have), unless it is a database error: the transaction is then rolled back and the
        error raised. Inside a transaction of the caller's, the adds simply join it.
        """
        alias = store.database
        if self.active() or connections[alias].in_atomic_block:
            yield
            return
        failure: BaseException | None = None
        self._local.inserted = 0
        try:
            with serial(alias), transaction.atomic(using=alias):
                take_write_lock(alias)
                try:
                    yield
                except DatabaseError:
                    raise
                except BaseException as exc:  # kept for after the commit
                    failure = exc
                if self._local.inserted:
                    store._notify()
        finally:
            self._local.inserted = None
        if failure is not None:
            raise failure

    def insert(self, alias: str, job_id: str, next_run_time: datetime | None, state: bytes) -> bool:
        """Insert a job row inside the batch; ``False`` (and nothing written) if the id is taken."""
        connection = connections[alias]
        quote = connection.ops.quote_name
        table = quote(DjangoJob._meta.db_table)
        columns = ", ".join(quote(name) for name in ("id", "next_run_time", "job_state"))
        field = DjangoJob._meta.get_field("next_run_time")
        values = [job_id, field.get_db_prep_value(next_run_time, connection), state]
        with connection.cursor() as cursor:
            if connection.vendor in ("postgresql", "sqlite"):
                # A taken id is no error here, so a PostgreSQL transaction stays usable.
                cursor.execute(
                    f"INSERT INTO {table} ({columns}) VALUES (%s, %s, %s) "
                    "ON CONFLICT (id) DO NOTHING",
                    values,
                )
                inserted = cursor.rowcount == 1
            else:
                # MariaDB/MySQL (and others) undo just the failed statement, not the transaction.
                try:
                    cursor.execute(f"INSERT INTO {table} ({columns}) VALUES (%s, %s, %s)", values)
                except IntegrityError:
                    inserted = False
                else:
                    inserted = True
        if inserted:
            self._local.inserted += 1
        return inserted
