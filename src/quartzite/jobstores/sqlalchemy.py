"""A job store on a SQL database through SQLAlchemy 2 Core: SQLite, PostgreSQL, MariaDB/MySQL."""

from __future__ import annotations

import logging
import pickle
import re
import time
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Callable, TypeVar

from .._optional import missing_dependency
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
    from sqlalchemy.engine import Engine
    from sqlalchemy.exc import ArgumentError, DBAPIError, IntegrityError
    from sqlalchemy.pool import StaticPool
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise missing_dependency(
        "SQLAlchemyJobStore requires SQLAlchemy installed", "sqlalchemy", exc
    ) from exc

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from .._protocols import SchedulerLike as BaseScheduler
    from ..job import Job

__all__ = ("SQLAlchemyJobStore", "create_engine")

_T = TypeVar("_T")
_logger = logging.getLogger("quartzite.jobstores.sqlalchemy")

# Ids per DELETE ... WHERE id IN (...): below every backend's limit on bound parameters.
_CHUNK_SIZE = 500

# Table names are put into DDL, index names and log lines; plain identifiers are valid unquoted
# on every backend and keep "<name>_quarantine" and "ix_<name>_next_run_time" plain too.
_TABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# The id column holds at most 191 characters: the longest key an InnoDB utf8mb4 index takes.
_ID_LENGTH = 191
# Float(25) makes every backend use an 8-byte float, enough for microseconds in a timestamp.
_TIMESTAMP_PRECISION = 25


def _jobs_table(name: str, metadata: MetaData, schema: str | None) -> Table:
    """The jobs table of the API contract: id, next run time (indexed, NULL = paused), state."""
    columns: list[Column[Any]] = [
        Column("id", Unicode(_ID_LENGTH), primary_key=True),
        Column("next_run_time", Float(_TIMESTAMP_PRECISION), index=True),
        Column("job_state", LargeBinary, nullable=False),
    ]
    return Table(name, metadata, *columns, schema=schema)


def _quarantine_table(name: str, metadata: MetaData, schema: str | None) -> Table:
    """Rows that could not be restored, kept with why and when (one id may occur repeatedly)."""
    columns: list[Column[Any]] = [
        Column("quarantine_id", Integer, primary_key=True, autoincrement=True),
        Column("id", Unicode(_ID_LENGTH), nullable=False),
        Column("next_run_time", Float(_TIMESTAMP_PRECISION)),
        Column("job_state", LargeBinary, nullable=False),
        Column("error", UnicodeText, nullable=False),
        Column("quarantined_at", Float(_TIMESTAMP_PRECISION), nullable=False),
    ]
    return Table(name, metadata, *columns, schema=schema)


def _chunks(items: Sequence[str]) -> list[Sequence[str]]:
    return [items[start : start + _CHUNK_SIZE] for start in range(0, len(items), _CHUNK_SIZE)]


def _engine_options(url: Any, engine_options: Mapping[str, Any] | None) -> dict[str, Any]:
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


def _check_table_names(tablename: Any, tableschema: Any) -> None:
    if not isinstance(tablename, str):
        raise TypeError(
            f"SQLAlchemyJobStore: tablename must be a str, got {tablename!r} "
            f"({type(tablename).__name__})"
        )
    if not _TABLE_NAME.fullmatch(tablename):
        raise ValueError(
            f"SQLAlchemyJobStore: tablename must be a plain identifier (letters, digits and "
            f"underscores, not starting with a digit), got {tablename!r}"
        )
    if tableschema is not None and not (isinstance(tableschema, str) and tableschema):
        raise ValueError(
            f"SQLAlchemyJobStore: tableschema must be None or a non-empty str, got {tableschema!r}"
        )


def _resolve_metadata(metadata: Any) -> MetaData:
    if metadata is None:
        return MetaData()
    resolved = maybe_ref(metadata)
    if not isinstance(resolved, MetaData):
        raise TypeError(
            f"SQLAlchemyJobStore: metadata must be a sqlalchemy MetaData (or a reference to "
            f"one), got {metadata!r}"
        )
    return resolved


def _build_engine(url: Any, engine: Any, engine_options: Any) -> Engine:
    """The engine the store uses: the user's, or one built from ``url`` with our settings."""
    if engine_options is not None and not isinstance(engine_options, Mapping):
        raise TypeError(
            f"SQLAlchemyJobStore: engine_options must be a dict of create_engine() arguments, "
            f"got {engine_options!r}"
        )
    if engine:
        # The contract lets the engine win over a url; say so instead of refusing, since
        # configurations written for APScheduler may carry both.
        if url or engine_options:
            _logger.warning(
                "SQLAlchemyJobStore: an engine was given, so url=%r and engine_options=%r are "
                "ignored",
                url,
                engine_options,
            )
        resolved = maybe_ref(engine)
        if not isinstance(resolved, Engine):
            raise TypeError(
                f"SQLAlchemyJobStore: engine must be a sqlalchemy Engine (or a reference to "
                f"one), got {engine!r}"
            )
        return resolved
    if not url:
        raise ValueError('Need either "engine" or "url" defined')  # the contract's words
    try:
        built = create_engine(url, **_engine_options(url, engine_options))
    except ArgumentError as exc:
        raise ValueError(f"SQLAlchemyJobStore: url {url!r} is not usable: {exc}") from exc
    if _is_sqlite_file(built):
        event.listen(built, "connect", _set_sqlite_pragmas)
    return built


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
    """Keeps each job as one row of a SQL table, through SQLAlchemy 2 Core (alias ``sqlalchemy``).

    A row holds the job id, the next run time as a UTC timestamp (NULL while the job is paused;
    indexed, so finding the due jobs is a range scan) and the serialized state. :meth:`start`
    creates the table, and its quarantine ``<tablename>_quarantine``, when they are missing.
    A row that cannot be turned back into a job moves to the quarantine with the error text and
    the time it was moved, and the other rows carry on.

    Each method is one transaction. If the database dropped the connection under it (a server
    restart, a killed session), the method tries once more on a fresh connection before it gives
    up; the updates of a processing round share one transaction (:meth:`batch_writes`).

    When quartzite builds the engine from ``url``, it picks settings that suit a long-running
    scheduler: pooled connections are pinged before use (except on SQLite); ``sqlite://`` keeps
    its one in-memory database on a single connection shared by all threads; a SQLite file runs
    in write-ahead-log mode with ``synchronous=NORMAL``. An ``engine`` you pass is used as it is.

    :param str url: the database, as an SQLAlchemy URL such as ``sqlite:///jobs.sqlite`` or
        ``postgresql+psycopg://user@host/db`` (ignored, with a warning, when ``engine`` is given)
    :param engine: an :class:`~sqlalchemy.engine.Engine` you built and configured yourself, or a
        ``"module:name"`` reference to one
    :param str tablename: the jobs table (letters, digits and underscores)
    :param metadata: the :class:`~sqlalchemy.schema.MetaData` (or a reference to one) the tables
        are declared on, for sharing them with your own schema tooling; a fresh one by default
    :param int pickle_protocol: the protocol the default pickle serializer writes; the highest
        this Python knows unless you must stay readable by older ones
    :param str tableschema: the database schema that holds the tables (it must exist already);
        ``None`` for the connection's default
    :param dict engine_options: extra keyword arguments for :func:`~sqlalchemy.create_engine`
        when the engine is built from ``url``
    :param serializer: how job state is written: ``"pickle"`` (the default), ``"json"`` or a
        :class:`~quartzite.serializers.BaseSerializer`
    :raises TypeError: for an option of the wrong type
    :raises ValueError: for an option with a bad value (each message names the option)
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
        _check_table_names(tablename, tableschema)
        metadata = _resolve_metadata(metadata)
        self.engine: Engine = _build_engine(url, engine, engine_options)
        self.jobs_t = _jobs_table(tablename, metadata, tableschema)
        self.quarantine_t = _quarantine_table(f"{tablename}_quarantine", metadata, tableschema)

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
