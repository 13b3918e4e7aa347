"""The tables of :class:`~quartzite.jobstores.sqlalchemy.SQLAlchemyJobStore`, creating them
safely while other processes try to create them too, and checking the store's configuration.

Several scheduler processes started together on a fresh database all call ``start()`` at once.
A plain ``create_all`` then races: each checks that a table is missing, each issues ``CREATE
TABLE``, and all but one fail (MariaDB "table already exists", PostgreSQL a unique violation
on its type catalog, SQLite "table already exists" or "database is locked"). Here the creators
are serialized by a lock the backend offers, and an "already exists" error that slips through
(a creator that does not use the same lock: another version, a migration tool) is checked
against the inspector and accepted when the tables are indeed there.
"""

from __future__ import annotations

import hashlib
import logging
import numbers
import random
import re
import time
from collections.abc import Mapping, Sequence
from typing import Any, Callable, TypeVar

from sqlalchemy import (
    Boolean,
    Column,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Table,
    Unicode,
    UnicodeText,
    create_engine,
    event,
    inspect,
    make_url,
    text,
)
from sqlalchemy.dialects import mysql
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import ArgumentError, DBAPIError
from sqlalchemy.pool import StaticPool
from sqlalchemy.schema import CreateColumn

from ..util import maybe_ref

__all__ = (
    "ID_LENGTH",
    "build_engine",
    "check_poll_interval",
    "check_table_names",
    "checkin_upsert",
    "chunks",
    "create_tables",
    "is_already_exists",
    "is_transient",
    "jobs_table",
    "quarantine_table",
    "resolve_metadata",
    "retrying",
    "runs_table",
    "schedulers_table",
    "sqlite_immediate",
)

_T = TypeVar("_T")
_logger = logging.getLogger("quartzite.jobstores.sqlalchemy")

# Ids per DELETE ... WHERE id IN (...): below every backend's limit on bound parameters.
_CHUNK_SIZE = 500

# The id column holds at most 191 characters: the longest key an InnoDB utf8mb4 index takes.
ID_LENGTH = 191
# Float(25) makes every backend use an 8-byte float, enough for microseconds in a timestamp.
_TIMESTAMP_PRECISION = 25


# MariaDB/MySQL's TEXT and BLOB hold 64 KiB bytes, too little for 64 Ki characters of a
# traceback or a return value of max_return_value_size: the medium types hold 16 MiB.
_LONG_TEXT = UnicodeText().with_variant(mysql.MEDIUMTEXT(), "mysql", "mariadb")
_LONG_BINARY = LargeBinary().with_variant(mysql.MEDIUMBLOB(), "mysql", "mariadb")


def _timestamp(name: str, **options: Any) -> Column[Any]:
    return Column(name, Float(_TIMESTAMP_PRECISION), **options)


def jobs_table(name: str, metadata: MetaData, schema: str | None) -> Table:
    """The jobs table of the API contract: id, next run time (indexed, NULL = paused), state."""
    return Table(
        name,
        metadata,
        Column("id", Unicode(ID_LENGTH), primary_key=True),
        _timestamp("next_run_time", index=True),
        Column("job_state", LargeBinary, nullable=False),
        schema=schema,
    )


def quarantine_table(name: str, metadata: MetaData, schema: str | None) -> Table:
    """Rows that could not be restored, kept with why and when (one id may occur repeatedly)."""
    return Table(
        name,
        metadata,
        Column("quarantine_id", Integer, primary_key=True, autoincrement=True),
        Column("id", Unicode(ID_LENGTH), nullable=False),
        _timestamp("next_run_time"),
        Column("job_state", LargeBinary, nullable=False),
        Column("error", UnicodeText, nullable=False),
        _timestamp("quarantined_at", nullable=False),
        schema=schema,
    )


def runs_table(name: str, metadata: MetaData, schema: str | None, prefix: str) -> Table:
    """One record per occurrence (job id + scheduled run time): see :mod:`quartzite.runs`.

    The primary key is the uniqueness of an occurrence and also serves "the latest records of a
    job" (scanned in reverse). ``(status, scheduler_id)`` serves recovery, ``max_instances``
    and the pending records; ``finished_at`` the retention by age; ``scheduled_run_time`` the
    newest records of all jobs (the history without a job id). ``job_state`` holds the
    serialized job while a record of its last run is in flight (the claim removed the job), so
    that recovery can run it again.
    """
    return Table(
        name,
        metadata,
        Column("job_id", Unicode(ID_LENGTH), primary_key=True),
        _timestamp("scheduled_run_time", primary_key=True, autoincrement=False),
        Column("status", Unicode(20), nullable=False),
        Column("scheduler_id", Unicode(ID_LENGTH)),
        Column("attempt", Integer, nullable=False, default=1),
        Column("recovered", Boolean, nullable=False, default=False),
        Column("manual", Boolean, nullable=False, default=False),
        _timestamp("created_at", nullable=False),
        _timestamp("started_at"),
        _timestamp("finished_at"),
        Column("exception_type", Unicode(255)),
        Column("exception_message", _LONG_TEXT),
        Column("traceback", _LONG_TEXT),
        Column("return_value", _LONG_BINARY),
        Column("job_state", _LONG_BINARY),
        Index(f"ix_{prefix}_runs_status", "status", "scheduler_id"),
        Index(f"ix_{prefix}_runs_finished_at", "finished_at"),
        Index(f"ix_{prefix}_runs_scheduled", "scheduled_run_time"),
        schema=schema,
    )


def schedulers_table(name: str, metadata: MetaData, schema: str | None) -> Table:
    """The check-ins of the schedulers sharing the store: a scheduler is alive until
    ``expires_at`` (UTC timestamp)."""
    return Table(
        name,
        metadata,
        Column("scheduler_id", Unicode(ID_LENGTH), primary_key=True),
        Column("host", Unicode(255)),
        Column("pid", Integer),
        _timestamp("last_checkin", nullable=False),
        _timestamp("expires_at", nullable=False),
        schema=schema,
    )


# -- errors


def _error_text(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None)
    return f"{exc} {orig}".lower()


def _error_code(exc: BaseException) -> Any:
    orig = getattr(exc, "orig", None)
    args = getattr(orig, "args", ())
    if args and isinstance(args[0], int):
        return args[0]  # MySQL drivers: (errno, message)
    return getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)


def is_already_exists(exc: BaseException) -> bool:
    """Whether a DDL error says that what it creates exists already."""
    message = _error_text(exc)
    return (
        "already exists" in message
        or "duplicate key" in message  # PostgreSQL: pg_type_typname_nsp_index
        or "duplicate column" in message  # SQLite: an added column
        or _error_code(exc) in (1050, 1060, 1061, "42P07", "42701", "42710", "23505")
    )


def is_transient(exc: BaseException) -> bool:
    """Whether a failed transaction may simply be tried again: SQLite's lock timeout, a
    deadlock or a serialization failure (the server rolled the transaction back)."""
    if not isinstance(exc, DBAPIError):
        return False
    message = _error_text(exc)
    return (
        "database is locked" in message
        or "database table is locked" in message
        or "deadlock" in message
        or _error_code(exc) in (1213, 1205, "40001", "40P01")
    )


def retrying(operation: Callable[[], _T], attempts: int = 20) -> _T:
    """Run ``operation``, again after a short random backoff while it fails transiently."""
    for attempt in range(attempts):
        try:
            return operation()
        except DBAPIError as exc:
            if attempt == attempts - 1 or not is_transient(exc):
                raise
        # Random, growing: processes that collided do not collide again in lockstep.
        time.sleep(random.uniform(0.01, 0.05) * min(attempt + 1, 10))
    raise AssertionError("unreachable")  # pragma: no cover


def sqlite_immediate(connection: Connection) -> None:
    """Make the transaction just begun on a pysqlite connection a write transaction at once.

    pysqlite begins a transaction implicitly before the first write only, so a transaction
    that reads and then writes would let another process write in between (or fail on
    commit). ``BEGIN IMMEDIATE`` takes SQLite's write lock up front, waiting up to the busy
    timeout; the driver then sees the transaction open and issues no ``BEGIN`` of its own, and
    SQLAlchemy's commit or rollback ends it.
    """
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def checkin_upsert(table: Table, backend: str, key: str, values: dict[str, Any]) -> Any:
    """``INSERT`` a scheduler's check-in row, or ``UPDATE`` it if it exists, in one statement
    (each backend spells it its own way); ``None`` for a backend without upserts."""
    if backend in ("postgresql", "sqlite"):
        from sqlalchemy.dialects import postgresql, sqlite

        dialect_insert = postgresql.insert if backend == "postgresql" else sqlite.insert
        return (
            dialect_insert(table)
            .values(scheduler_id=key, **values)
            .on_conflict_do_update(index_elements=[table.c.scheduler_id], set_=values)
        )
    if backend in ("mysql", "mariadb"):
        return (
            mysql.insert(table).values(scheduler_id=key, **values).on_duplicate_key_update(**values)
        )
    return None


# -- creating the tables


def _lock_key(name: str) -> int:
    """A stable signed 64-bit number for ``name`` (PostgreSQL advisory locks take a bigint)."""
    digest = hashlib.sha256(name.encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def _tables_present(connection: Connection, tables: Sequence[Table]) -> bool:
    inspector = inspect(connection)
    return all(inspector.has_table(table.name, schema=table.schema) for table in tables)


def create_tables(engine: Engine, tables: Sequence[Table], lock_name: str) -> None:
    """Create the missing ``tables`` (and their indexes), safe against concurrent creators.

    PostgreSQL: a transaction-scoped advisory lock keyed by ``lock_name`` around the creation
    (its DDL is transactional, so the next creator sees the committed tables). MariaDB/MySQL:
    DDL commits by itself, so a named session lock (``GET_LOCK``) around it. SQLite: the
    creation in one ``BEGIN IMMEDIATE`` transaction, retried while the database is locked.
    """
    metadata = tables[0].metadata
    backend = engine.dialect.name

    def create(connection: Connection) -> None:
        if backend == "postgresql":
            connection.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": _lock_key(lock_name)}
            )
        elif backend == "sqlite":
            sqlite_immediate(connection)
        metadata.create_all(connection, tables=list(tables), checkfirst=True)
        for table in tables:
            _add_missing(connection, table)

    def attempt() -> None:
        try:
            if backend in ("mysql", "mariadb"):
                _create_with_named_lock(engine, create, lock_name)
            else:
                with engine.begin() as connection:
                    create(connection)
        except DBAPIError as exc:
            if not is_already_exists(exc):
                raise
            # Someone outside our lock created them meanwhile: fine if they are all there.
            with engine.connect() as connection:
                if not _tables_present(connection, tables):
                    raise

    retrying(attempt, attempts=60)


def _add_missing(connection: Connection, table: Table) -> None:
    """Bring a table made by an earlier version up to date: add the nullable columns and the
    indexes it lacks (``job_state`` and ``ix_<t>_runs_scheduled`` on the runs table)."""
    inspector = inspect(connection)
    present = {column["name"] for column in inspector.get_columns(table.name, table.schema)}
    missing = [column for column in table.columns if column.name not in present]
    if missing:
        name = connection.dialect.identifier_preparer.format_table(table)
        for column in missing:
            if not column.nullable:  # pragma: no cover - every later column is nullable
                raise RuntimeError(f"table {table.fullname} lacks the column {column.name}")
            definition = CreateColumn(column).compile(dialect=connection.dialect)
            connection.execute(text(f"ALTER TABLE {name} ADD COLUMN {definition}"))
    indexes = {index["name"] for index in inspector.get_indexes(table.name, table.schema)}
    for index in table.indexes:
        if index.name not in indexes:
            index.create(connection)


def _create_with_named_lock(
    engine: Engine, create: Callable[[Connection], None], lock_name: str
) -> None:
    # GET_LOCK names are at most 64 characters: keep a readable prefix and a hash.
    name = f"quartzite_{_lock_key(lock_name) & 0xFFFFFFFFFFFF:x}"
    with engine.connect() as connection:
        got = connection.execute(text("SELECT GET_LOCK(:name, 60)"), {"name": name}).scalar()
        if got != 1:
            raise TimeoutError(f"could not get the lock {name!r} to create the tables in 60 s")
        connection.commit()  # the lock belongs to the session and outlives the transaction
        try:
            with connection.begin():
                create(connection)
        finally:
            connection.execute(text("SELECT RELEASE_LOCK(:name)"), {"name": name})
            connection.commit()


# -- configuration


# Seconds a SQLite connection waits for another process's write lock before it gives up.
_SQLITE_BUSY_TIMEOUT = 30.0

# Table names are put into DDL, index names and log lines; plain identifiers are valid unquoted
# on every backend and keep "<name>_quarantine" and "ix_<name>_next_run_time" plain too.
_TABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def chunks(items: Sequence[_T]) -> list[Sequence[_T]]:
    """``items`` in slices small enough for one ``IN (...)`` on every backend."""
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
            # Processes sharing the file wait for each other's write lock (SQLite's busy
            # timeout) rather than failing at once with "database is locked".
            connect_args = dict(options.get("connect_args") or {})
            connect_args.setdefault("timeout", _SQLITE_BUSY_TIMEOUT)
            options["connect_args"] = connect_args
    else:
        # Test pooled connections before use: a server restart or an idle timeout leaves dead
        # connections in the pool, which would fail the next operation.
        options.setdefault("pool_pre_ping", True)
    return options


def check_table_names(tablename: Any, tableschema: Any) -> None:
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


def resolve_metadata(metadata: Any) -> MetaData:
    if metadata is None:
        return MetaData()
    resolved = maybe_ref(metadata)
    if not isinstance(resolved, MetaData):
        raise TypeError(
            f"SQLAlchemyJobStore: metadata must be a sqlalchemy MetaData (or a reference to "
            f"one), got {metadata!r}"
        )
    return resolved


def build_engine(url: Any, engine: Any, engine_options: Any) -> Engine:
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


def check_poll_interval(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(
            f"SQLAlchemyJobStore: poll_interval must be None or a number of seconds > 0, "
            f"got {value!r}"
        )
    if not 0 < float(value) < float("inf"):
        raise ValueError(
            f"SQLAlchemyJobStore: poll_interval must be a finite number of seconds > 0, "
            f"got {value!r}"
        )
    return float(value)
