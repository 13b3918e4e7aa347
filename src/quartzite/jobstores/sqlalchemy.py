"""A job store on a SQL database through SQLAlchemy 2 Core: SQLite, PostgreSQL, MariaDB/MySQL.

The tables and their safe creation live in ``_sql_schema``, the run records (claims, outcomes,
history) in ``_sql_runs``, their recovery in ``_sql_recovery``, the statements on many rows at
once in ``_sql_bulk``, the PostgreSQL wake-up in ``_sql_wakeup``.
"""

from __future__ import annotations

import logging
import os
import pickle
import socket
import threading
import time
from collections.abc import Collection, Sequence
from contextlib import nullcontext
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING, Any, Callable, ContextManager, TypeVar

from .._optional import missing_dependency
from .._schedule import MAX_CATCH_UP
from ..runs import JobRun
from ..serializers import BaseSerializer
from ..util import datetime_to_utc_timestamp, utc_timestamp_to_datetime
from ._persistent import QuarantinedJob, SerializingJobStore, StoredRow
from .base import ConflictingIdError, JobLookupError
from .claims import DEFAULT_CLAIM_LIMIT, Claim, HistoryOptions, RunOutcome, StatusFilter

try:
    from sqlalchemy import (
        MetaData,
        Table,
        and_,
        create_engine,
        delete,
        insert,
        select,
        update,
    )
    from sqlalchemy.engine import Engine
    from sqlalchemy.exc import DBAPIError, IntegrityError
    from sqlalchemy.pool import StaticPool

    from . import _sql_recovery, _sql_runs
    from ._pg_listener import Listener
    from ._sql_bulk import matching, update_by_key
    from ._sql_schema import (
        ID_LENGTH,
        build_engine,
        check_poll_interval,
        check_table_names,
        checkin_upsert,
        create_tables,
        jobs_table,
        quarantine_table,
        resolve_metadata,
        retrying,
        runs_table,
        schedulers_table,
        sqlite_immediate,
    )
    from ._sql_wakeup import can_listen, channel_name, listening_connection, notify
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise missing_dependency(
        "SQLAlchemyJobStore requires SQLAlchemy installed", "sqlalchemy", exc
    ) from exc

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection
    from sqlalchemy.sql import Select

    from .._protocols import SchedulerLike as BaseScheduler
    from ..job import Job

__all__ = ("SQLAlchemyJobStore", "create_engine")

_T = TypeVar("_T")

# Seconds a scheduler sleeps at most between looks at a store that cannot notify it.
_DEFAULT_POLL_INTERVAL = 5.0


class SQLAlchemyJobStore(SerializingJobStore):
    """Keeps each job as one row of a SQL table, through SQLAlchemy 2 Core (alias ``sqlalchemy``).

    A row holds the job id, the next run time as a UTC timestamp (NULL while the job is paused;
    indexed, so finding the due jobs is a range scan) and the serialized state. :meth:`start`
    creates the missing tables: the jobs table, its quarantine ``<tablename>_quarantine``, the
    run records ``<tablename>_runs`` and the check-ins ``<tablename>_schedulers``; several
    processes may start on a fresh database at once. A row that cannot be turned back into a job
    moves to the quarantine with the error text and the time it was moved, and the other rows
    carry on.

    Several scheduler processes may share the tables (see
    :class:`~quartzite.jobstores.claims.ClaimingJobStore`): a claim locks the due rows it takes
    and skips rows other claims hold (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, on MariaDB from
    10.6 and on MySQL from 8.0; a whole write transaction on SQLite), and writes one run record
    per occurrence taken. On PostgreSQL (through psycopg 3) each change to the jobs notifies the
    other schedulers at once (``LISTEN``/``NOTIFY``); on SQLite and MariaDB they look again every
    ``poll_interval`` seconds.

    Each method is one transaction. If the database dropped the connection under it (a server
    restart, a killed session), the method tries once more on a fresh connection before it gives
    up; a deadlock, or a SQLite file locked by another process for longer than its busy timeout,
    is retried after a short pause. The updates of a processing round share one transaction
    (:meth:`batch_writes`).

    When quartzite builds the engine from ``url``, it picks settings that suit a long-running
    scheduler: pooled connections are pinged before use (except on SQLite); ``sqlite://`` keeps
    its one in-memory database on a single connection shared by all threads; a SQLite file runs
    in write-ahead-log mode with ``synchronous=NORMAL`` and waits up to 30 seconds for another
    process's write lock. An ``engine`` you pass is used as it is.

    :param str url: the database, as an SQLAlchemy URL such as ``sqlite:///jobs.sqlite`` or
        ``postgresql+psycopg://user@host/db`` (ignored, with a warning, when ``engine`` is given)
    :param engine: an :class:`~sqlalchemy.engine.Engine` you built and configured yourself, or a
        ``"module:name"`` reference to one
    :param str tablename: the jobs table (letters, digits and underscores); the other tables
        are named after it
    :param metadata: the :class:`~sqlalchemy.schema.MetaData` (or a reference to one) the tables
        are declared on, for sharing them with your own schema tooling; a fresh one by default
    :param int pickle_protocol: the protocol the default pickle serializer writes; the highest
        this Python knows unless you must stay readable by older ones
    :param str tableschema: the database schema that holds the tables (it must exist already);
        ``None`` for the connection's default
    :param dict engine_options: extra keyword arguments for :func:`~sqlalchemy.create_engine`
        when the engine is built from ``url``
    :param serializer: how job state (and kept return values) are written: ``"pickle"`` (the
        default), ``"json"`` or a :class:`~quartzite.serializers.BaseSerializer`
    :param bool history: keep the records of finished runs (``False``: a record lives only
        while its run is pending or running)
    :param int max_runs_per_job: finished records kept per job, the newest (default 100)
    :param max_run_age: finished records older than this are removed, in seconds or as a
        ``timedelta`` (default 30 days)
    :param int max_return_value_size: return values whose serialized form is larger than this
        many bytes are not kept in their record (default 65536; 0: keep none)
    :param bool quarantine_unreadable: move a job that cannot be restored to the quarantine
        (default); ``False`` raises :class:`~quartzite.jobstores.base.UnreadableJobError`
        instead and leaves it in place (for processes that may lack some of the jobs' code)
    :param float poll_interval: the longest a scheduler sleeps without looking at the tables
        again, in seconds; ``None`` (the default) means 5 seconds on SQLite and MariaDB/MySQL,
        and no polling on PostgreSQL through psycopg 3, whose notifications wake the schedulers
        (5 seconds again while the listening connection is down)
    :raises TypeError: for an option of the wrong type
    :raises ValueError: for an option with a bad value (each message names the option)
    """

    max_id_length = ID_LENGTH

    def __init__(
        self,
        url: str | None = None,
        engine: Engine | str | None = None,
        tablename: str = "quartzite_jobs",
        metadata: MetaData | str | None = None,
        pickle_protocol: int = pickle.HIGHEST_PROTOCOL,
        tableschema: str | None = None,
        engine_options: dict[str, Any] | None = None,
        serializer: BaseSerializer | str | None = None,
        history: bool = True,
        max_runs_per_job: int = 100,
        max_run_age: Any = 30 * 86400.0,
        max_return_value_size: int = 64 * 1024,
        quarantine_unreadable: bool = True,
        poll_interval: float | None = None,
    ) -> None:
        options = HistoryOptions.checked(
            "SQLAlchemyJobStore", history, max_runs_per_job, max_run_age, max_return_value_size
        )
        super().__init__(
            serializer,
            pickle_protocol,
            history_options=options,
            quarantine_unreadable=quarantine_unreadable,
        )
        check_table_names(tablename, tableschema)
        chosen_poll_interval = check_poll_interval(poll_interval)
        metadata = resolve_metadata(metadata)
        self.engine: Engine = build_engine(url, engine, engine_options)
        self.jobs_t = jobs_table(tablename, metadata, tableschema)
        self.quarantine_t = quarantine_table(f"{tablename}_quarantine", metadata, tableschema)
        self.runs_t = runs_table(f"{tablename}_runs", metadata, tableschema, tablename)
        self.schedulers_t = schedulers_table(f"{tablename}_schedulers", metadata, tableschema)
        self._backend = self.engine.dialect.name
        self._channel = channel_name(tablename)
        self._notifies = can_listen(self.engine)
        self._poll_is_default = chosen_poll_interval is None
        if chosen_poll_interval is None and not self._notifies:
            chosen_poll_interval = _DEFAULT_POLL_INTERVAL
        self.poll_interval = chosen_poll_interval
        self._skip_locked = self._backend == "postgresql"
        self._listener: Listener | None = None
        # One in-memory SQLite database is one DBAPI connection: its threads take turns.
        self._serial: ContextManager[Any] = (
            threading.RLock() if isinstance(self.engine.pool, StaticPool) else nullcontext()
        )
        self._retention_lock = threading.Lock()
        self._finish_counts: dict[str, int] = {}
        self._last_age_pass = float("-inf")

    @property
    def tables(self) -> list[Table]:
        """Every table of the store (for dropping them, or for your migrations)."""
        return [self.jobs_t, self.quarantine_t, self.runs_t, self.schedulers_t]

    def start(self, scheduler: BaseScheduler | None, alias: str) -> None:
        super().start(scheduler, alias)
        create_tables(self.engine, self.tables, self.jobs_t.fullname)
        if self._backend in ("mysql", "mariadb"):
            dialect: Any = self.engine.dialect
            version = tuple(dialect.server_version_info or ())
            if getattr(dialect, "is_mariadb", False):
                self._skip_locked = version >= (10, 6)
            else:
                self._skip_locked = version >= (8, 0, 1)

    def shutdown(self) -> None:
        self.unwatch()
        self.engine.dispose()

    # -- running operations

    def _run(
        self,
        operation: Callable[[Connection], _T],
        after_reconnect: Callable[[Connection], _T] | None = None,
        *,
        write: bool = False,
    ) -> _T:
        """Run ``operation`` in a transaction; once more if the connection was found dropped.

        A transaction the database rolled back for a transient reason (a deadlock, SQLite's
        busy timeout) is tried again after a short pause.

        :param after_reconnect: what to run on the second try instead (for an operation that
            may have been committed just before the connection dropped)
        :param write: the operation reads, then writes what it read: on SQLite, take the write
            lock at the start (``BEGIN IMMEDIATE``) so that no other process writes in between
        """

        def transaction(work: Callable[[Connection], _T]) -> _T:
            with self._serial, self.engine.begin() as connection:
                if write and self._backend == "sqlite":
                    sqlite_immediate(connection)
                return work(connection)

        try:
            return retrying(lambda: transaction(operation))
        except DBAPIError as exc:
            if not exc.connection_invalidated:
                raise
            self._logger.warning(
                "Lost the connection to the database (%s) -- retrying once", exc.orig
            )
        return retrying(lambda: transaction(after_reconnect or operation))

    def _locking(self, statement: Select[Any]) -> Select[Any]:
        """``statement`` locking the rows it selects, skipping rows others hold if the server
        can (SQLite has no row locks: the claim holds the database's write lock instead)."""
        if self._backend == "sqlite":
            return statement
        return statement.with_for_update(skip_locked=self._skip_locked)

    def _notify(self, connection: Connection) -> None:
        """Wake the other schedulers when this transaction commits (PostgreSQL)."""
        notify(connection, self._channel)

    def _restore_in(self, connection: Connection, rows: Sequence[StoredRow]) -> list[Job]:
        """Restore ``rows``, quarantining bad ones within ``connection``'s transaction (which
        may hold locks on them that another transaction would wait for)."""
        self._local.connection = connection
        try:
            return self._restore_jobs(rows)
        finally:
            self._local.connection = None

    def _select_rows(self, *criteria: Any) -> list[StoredRow]:
        columns = self.jobs_t.c
        statement = (
            select(columns.id, columns.job_state, columns.next_run_time)
            .where(*criteria)
            .order_by(columns.next_run_time, columns.id)
        )
        rows: Sequence[Any] = self._run(lambda conn: conn.execute(statement).all())
        return [StoredRow(row[0], bytes(row[1]), row[2]) for row in rows]

    # -- the job store interface

    def lookup_job(self, job_id: str) -> Job | None:
        self._flush_batch()
        rows = self._select_rows(self.jobs_t.c.id == job_id)
        return self._restore_one(rows[0] if rows else None)

    def get_due_jobs(self, now: datetime) -> list[Job]:
        self._flush_batch()
        timestamp = datetime_to_utc_timestamp(now)
        jobs = self._restore_jobs(self._select_rows(self.jobs_t.c.next_run_time <= timestamp))
        self._remember_due(jobs)
        return jobs

    def get_next_run_time(self) -> datetime | None:
        self._flush_batch()
        column = self.jobs_t.c.next_run_time
        statement = select(column).where(column.isnot(None)).order_by(column).limit(1)
        timestamp = self._run(lambda conn: conn.execute(statement).scalar())
        return utc_timestamp_to_datetime(timestamp)

    def get_all_jobs(self) -> list[Job]:
        self._flush_batch()
        jobs = self._restore_jobs(self._select_rows())
        self._fix_paused_jobs_sorting(jobs)
        return jobs

    def add_job(self, job: Job) -> None:
        self._flush_batch()
        job_state = self._serialize_job(job)
        values = {
            "id": job.id,
            "next_run_time": datetime_to_utc_timestamp(job.next_run_time),
            "job_state": job_state,
        }

        def insert_row(conn: Connection) -> None:
            conn.execute(insert(self.jobs_t).values(**values))
            self._notify(conn)

        def insert_unless_done(conn: Connection) -> None:
            # The first try may have been committed before the connection dropped.
            column = self.jobs_t.c.job_state
            stored = conn.execute(select(column).where(self.jobs_t.c.id == job.id)).scalar()
            if stored is None:
                insert_row(conn)
            elif bytes(stored) != job_state:
                raise ConflictingIdError(job.id)

        try:
            self._run(insert_row, insert_unless_done)
        except IntegrityError:
            raise ConflictingIdError(job.id) from None

    def _update_row(self, job_id: str, job_state: bytes, next_run_time: float | None) -> None:
        statement = (
            update(self.jobs_t)
            .values(next_run_time=next_run_time, job_state=job_state)
            .where(self.jobs_t.c.id == job_id)
        )
        self._change_row(statement, job_id)

    def _remove_row(self, job_id: str) -> None:
        self._change_row(delete(self.jobs_t).where(self.jobs_t.c.id == job_id), job_id)

    def _change_row(self, statement: Any, job_id: str) -> None:
        """Run the one-row ``statement``; notify if it changed the row, else the job is gone."""

        def write(conn: Connection) -> Any:
            result = conn.execute(statement)
            if result.rowcount:
                self._notify(conn)
            return result

        if self._run(write).rowcount == 0:
            raise JobLookupError(job_id)

    def _write_batch(
        self, updates: list[tuple[str, bytes, float | None]], removals: list[str]
    ) -> None:
        columns = self.jobs_t.c
        rows = [
            {"id": job_id, "next_run_time": next_run_time, "job_state": job_state}
            for job_id, job_state, next_run_time in updates
        ]

        # Idempotent, so a retry after a dropped connection is safe
        def write(conn: Connection) -> None:
            update_by_key(conn, self.jobs_t, ("id",), rows)
            for criterion in matching(conn, columns.id, removals):
                conn.execute(delete(self.jobs_t).where(criterion))
            self._notify(conn)

        self._run(write)

    def remove_all_jobs(self) -> None:
        """Remove every job; their run records stay (history outlives the jobs)."""
        self._flush_batch()

        def write(conn: Connection) -> None:
            conn.execute(delete(self.jobs_t))
            self._notify(conn)

        self._run(write)

    # -- claims and run records (see _sql_runs)

    def claim_jobs(
        self,
        scheduler_id: str,
        now: datetime,
        *,
        executors: Collection[str] | None = None,
        limit: int = DEFAULT_CLAIM_LIMIT,
        max_catch_up: int = MAX_CATCH_UP,
    ) -> Claim:
        self._flush_batch()
        return _sql_runs.claim_jobs(self, scheduler_id, now, executors, limit, max_catch_up)

    def recover_runs(
        self,
        scheduler_id: str,
        now: datetime,
        *,
        lost: Collection[tuple[str, datetime]] = (),
    ) -> Claim:
        return _sql_recovery.recover_runs(self, scheduler_id, now, lost)

    def finish_runs(self, outcomes: Sequence[RunOutcome]) -> None:
        _sql_runs.finish_runs(self, outcomes)

    def check_in(self, scheduler_id: str, now: datetime, lease_time: float) -> None:
        stamp = datetime_to_utc_timestamp(now)
        assert stamp is not None
        values = {
            "host": socket.gethostname()[:255],
            "pid": os.getpid(),
            "last_checkin": stamp,
            "expires_at": stamp + float(lease_time),
        }
        table = self.schedulers_t
        statement = checkin_upsert(table, self._backend, scheduler_id, values)

        def write(conn: Connection) -> None:
            if statement is not None:
                conn.execute(statement)
                return
            where = table.c.scheduler_id == scheduler_id
            if conn.execute(update(table).where(where).values(**values)).rowcount == 0:
                conn.execute(insert(table).values(scheduler_id=scheduler_id, **values))

        self._run(write, write=True)

    def release(self, scheduler_id: str) -> None:
        table = self.schedulers_t
        statement = delete(table).where(table.c.scheduler_id == scheduler_id)
        self._run(lambda conn: conn.execute(statement), write=True)

    def request_run(self, job_id: str, now: datetime) -> JobRun:
        self._flush_batch()
        return _sql_runs.request_run(self, job_id, now)

    def get_runs(
        self,
        job_id: str | None = None,
        *,
        status: StatusFilter = None,
        since: datetime | None = None,
        limit: int | None = 100,
        scheduler_id: str | None = None,
    ) -> list[JobRun]:
        return _sql_runs.get_runs(self, job_id, status, since, limit, scheduler_id)

    def _retention_due(self, job_ids: Sequence[str]) -> list[str]:
        """The jobs whose records to trim now: on the first finish of a job this store object
        sees, then about every tenth (bounded work, however often a job runs)."""
        due = []
        with self._retention_lock:
            for job_id in dict.fromkeys(job_ids):
                before = self._finish_counts.get(job_id, 0)
                after = before + job_ids.count(job_id)
                if before == 0 or before // 10 != after // 10:
                    due.append(job_id)
                self._finish_counts[job_id] = after
            if len(self._finish_counts) > 100_000:  # removed jobs must not pile up for ever
                self._finish_counts.clear()
        return due

    def _age_pass_due(self, now: float, interval: float) -> bool:
        """Whether retention by age runs at ``now`` (at most once per ``interval`` seconds)."""
        with self._retention_lock:
            if abs(now - self._last_age_pass) < interval:
                return False
            self._last_age_pass = now
            return True

    # -- wake-up

    def watch(self, callback: Callable[[], None]) -> None:
        """On PostgreSQL through psycopg 3: call ``callback`` from a listening thread when
        another process changes a job or asks for a run. Elsewhere nothing (the scheduler
        polls every ``poll_interval`` seconds)."""
        self.unwatch()
        if not self._notifies:
            return
        self._listener = Listener(
            partial(listening_connection, self.engine),
            self._channel,
            callback,
            self._listening,
            logging.getLogger("quartzite.jobstores.sqlalchemy"),
        )
        self._listener.start()

    def unwatch(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.stop()

    def _listening(self, ok: bool) -> None:
        # While the listening connection is down, changes go unheard: poll meanwhile.
        if self._poll_is_default:
            self.poll_interval = None if ok else _DEFAULT_POLL_INTERVAL

    # -- quarantine

    @property
    def _quarantine_location(self) -> str:
        return f"table {self.quarantine_t.fullname}"

    def _quarantine_rows(self, failed: list[tuple[StoredRow, str]]) -> None:
        now = time.time()
        records = [
            {
                "id": row.id,
                "next_run_time": row.next_run_time,
                "job_state": row.job_state,
                "error": error,
                "quarantined_at": now,
            }
            for row, error in failed
        ]
        columns = self.jobs_t.c

        def move(conn: Connection) -> None:
            conn.execute(insert(self.quarantine_t), records)
            for row, _error in failed:
                # Only the bad row: if it was rewritten meanwhile, the new version stays.
                conn.execute(
                    delete(self.jobs_t).where(
                        and_(columns.id == row.id, columns.job_state == row.job_state)
                    )
                )

        current: Connection | None = getattr(self._local, "connection", None)
        if current is not None:  # inside a claim: same transaction
            move(current)
        else:
            self._run(move)

    def get_quarantined_jobs(self) -> list[QuarantinedJob]:
        columns = self.quarantine_t.c
        statement = select(
            columns.id,
            columns.job_state,
            columns.next_run_time,
            columns.error,
            columns.quarantined_at,
        ).order_by(columns.quarantine_id)
        rows = self._run(lambda conn: conn.execute(statement).all())
        return [QuarantinedJob(row[0], bytes(row[1]), row[2], row[3], row[4]) for row in rows]

    def __repr__(self) -> str:
        return f"<{self.__class__.__name__} (url={self.engine.url})>"
