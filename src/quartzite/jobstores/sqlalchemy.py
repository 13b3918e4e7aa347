"""A job store on a SQL database through SQLAlchemy 2 Core: SQLite, PostgreSQL, MariaDB/MySQL."""

from __future__ import annotations

import pickle
import time
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Callable, TypeVar

from ..serializers import BaseSerializer
from ..util import datetime_to_utc_timestamp, maybe_ref, utc_timestamp_to_datetime
from ._persistent import QuarantinedJob, SerializingJobStore, StoredRow
from .base import ConflictingIdError, JobLookupError

try:
    from sqlalchemy import (
        Column,
        Float,
        Integer,
        LargeBinary,
        MetaData,
        Table,
        Unicode,
        UnicodeText,
        and_,
        bindparam,
        create_engine,
        delete,
        event,
        insert,
        make_url,
        select,
        update,
    )
    from sqlalchemy.exc import DBAPIError, IntegrityError
    from sqlalchemy.pool import StaticPool
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ModuleNotFoundError("SQLAlchemyJobStore requires SQLAlchemy installed") from exc

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine

    from ..job import Job
    from ..schedulers.base import BaseScheduler

__all__ = ("SQLAlchemyJobStore", "create_engine")

_T = TypeVar("_T")

# Ids per DELETE ... WHERE id IN (...): below every backend's limit on bound parameters.
_CHUNK_SIZE = 500


def _chunks(items: Sequence[str]) -> list[Sequence[str]]:
    return [items[start : start + _CHUNK_SIZE] for start in range(0, len(items), _CHUNK_SIZE)]


def _engine_options(url: Any, engine_options: dict[str, Any] | None) -> dict[str, Any]:
    """The options quartzite gives ``create_engine`` (the user's ``engine_options`` win)."""
    options = dict(engine_options or {})
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database in (None, "", ":memory:") or parsed.query.get("mode") == "memory":
            # Every connection to "sqlite://" opens a new, empty database: share one.
            options.setdefault("poolclass", StaticPool)
            connect_args = dict(options.get("connect_args") or {})
            connect_args.setdefault("check_same_thread", False)
            options["connect_args"] = connect_args
    else:
        # Test pooled connections before use: a server restart or an idle timeout leaves dead
        # connections in the pool, which would fail the next operation.
        options.setdefault("pool_pre_ping", True)
    return options


def _is_sqlite_file(engine: Engine) -> bool:
    url = engine.url
    return (
        url.get_backend_name() == "sqlite"
        and url.database not in (None, "", ":memory:")
        and url.query.get("mode") != "memory"
    )


def _set_sqlite_pragmas(dbapi_connection: Any, connection_record: Any) -> None:
    # Write-ahead logging: a commit appends to the log without syncing the database file, and
    # readers (another process listing jobs) do not block the scheduler's writes. A process
    # crash loses nothing; a power failure may lose the last transactions, never consistency.
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
    finally:
        cursor.close()


class SQLAlchemyJobStore(SerializingJobStore):
    """Stores jobs in a database table using SQLAlchemy 2 (Core).

    The table is created when the store starts (if missing), with an index on
    ``next_run_time``. Plugin alias: ``sqlalchemy``.

    Every operation runs in its own transaction, retried once when the connection turns out to
    have been dropped (server restart, killed session) before the error reaches the scheduler.
    The writes of one processing round are made in one transaction (see :meth:`batch_writes`).

    For an engine created here from ``url``: pooled connections are pinged before use (other
    than SQLite); ``sqlite://`` (in memory) shares one connection between threads; a SQLite
    file uses write-ahead logging with ``synchronous=NORMAL``. Pass ``engine=`` to choose
    otherwise.

    A row that cannot be restored is copied to the table ``<tablename>_quarantine`` (id, next
    run time, raw state, error text, UTC timestamp) and removed from the jobs table.

    :param str url: connection string (an SQLAlchemy database URL, e.g.
        ``sqlite:///jobs.sqlite`` or ``postgresql+psycopg://user@host/db``)
    :param engine: an SQLAlchemy :class:`~sqlalchemy.engine.Engine` to use instead of creating
        a new one based on ``url`` (or a textual reference to one)
    :param str tablename: name of the table to store jobs in
    :param metadata: a :class:`~sqlalchemy.schema.MetaData` instance to use instead of creating
        a new one
    :param int pickle_protocol: pickle protocol level to use (for serialization), defaults to
        the highest available
    :param str tableschema: name of the (existing) schema in the target database where the
        table should be
    :param dict engine_options: keyword arguments to :func:`~sqlalchemy.create_engine`
        (ignored if ``engine`` is given)
    :param serializer: a :class:`~quartzite.serializers.BaseSerializer`, ``"pickle"`` (the
        default) or ``"json"``
    """

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
    ) -> None:
        super().__init__(serializer, pickle_protocol)
        metadata = maybe_ref(metadata) or MetaData()

        if engine:
            self.engine: Engine = maybe_ref(engine)
        elif url:
            self.engine = create_engine(url, **_engine_options(url, engine_options))
            if _is_sqlite_file(self.engine):
                event.listen(self.engine, "connect", _set_sqlite_pragmas)
        else:
            raise ValueError('Need either "engine" or "url" defined')

        # 191 = max key length in MySQL for InnoDB/utf8mb4 tables,
        # 25 = precision that translates to an 8-byte float
        self.jobs_t = Table(
            tablename,
            metadata,
            Column("id", Unicode(191), primary_key=True),
            Column("next_run_time", Float(25), index=True),
            Column("job_state", LargeBinary, nullable=False),
            schema=tableschema,
        )
        self.quarantine_t = Table(
            f"{tablename}_quarantine",
            metadata,
            Column("quarantine_id", Integer, primary_key=True, autoincrement=True),
            Column("id", Unicode(191), nullable=False),
            Column("next_run_time", Float(25)),
            Column("job_state", LargeBinary, nullable=False),
            Column("error", UnicodeText, nullable=False),
            Column("quarantined_at", Float(25), nullable=False),
            schema=tableschema,
        )

    def start(self, scheduler: BaseScheduler | None, alias: str) -> None:
        super().start(scheduler, alias)
        tables = [self.jobs_t, self.quarantine_t]
        self._run(lambda conn: self.jobs_t.metadata.create_all(conn, tables=tables))

    def shutdown(self) -> None:
        self.engine.dispose()

    # -- running operations

    def _run(
        self,
        operation: Callable[[Connection], _T],
        after_reconnect: Callable[[Connection], _T] | None = None,
    ) -> _T:
        """Run ``operation`` in a transaction; once more if the connection was found dropped.

        :param after_reconnect: what to run on the second try instead (for an operation that
            may have been committed just before the connection dropped)
        """
        try:
            with self.engine.begin() as connection:
                return operation(connection)
        except DBAPIError as exc:
            if not exc.connection_invalidated:
                raise
            self._logger.warning(
                "Lost the connection to the database (%s) -- retrying once", exc.orig
            )

        with self.engine.begin() as connection:
            return (after_reconnect or operation)(connection)

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
        result = self._run(lambda conn: conn.execute(statement))
        if result.rowcount == 0:
            raise JobLookupError(job_id)

    def _remove_row(self, job_id: str) -> None:
        statement = delete(self.jobs_t).where(self.jobs_t.c.id == job_id)
        result = self._run(lambda conn: conn.execute(statement))
        if result.rowcount == 0:
            raise JobLookupError(job_id)

    def _write_batch(
        self, updates: list[tuple[str, bytes, float | None]], removals: list[str]
    ) -> None:
        columns = self.jobs_t.c
        update_statement = (
            update(self.jobs_t)
            .where(columns.id == bindparam("b_id"))
            .values(next_run_time=bindparam("b_next_run_time"), job_state=bindparam("b_state"))
        )
        parameters = [
            {"b_id": job_id, "b_state": job_state, "b_next_run_time": next_run_time}
            for job_id, job_state, next_run_time in updates
        ]

        # Idempotent, so a retry after a dropped connection is safe
        def write(conn: Connection) -> None:
            if parameters:
                conn.execute(update_statement, parameters)
            for chunk in _chunks(removals):
                conn.execute(delete(self.jobs_t).where(columns.id.in_(chunk)))

        self._run(write)

    def remove_all_jobs(self) -> None:
        self._flush_batch()
        self._run(lambda conn: conn.execute(delete(self.jobs_t)))

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
