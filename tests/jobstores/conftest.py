"""Job store fixtures: every store kind, each with both serializers where it serializes.

``jobstore`` is parametrised over memory, SQLite (file and memory), PostgreSQL, MariaDB and Redis
(with a client that decodes replies and one that does not), with the pickle and JSON serializers.
Server-backed stores skip when their server is unreachable, and fail instead when
``QUARTZITE_REQUIRE_SERVICES=1`` (see ``require_service`` in ``tests/conftest.py``). Every store
gets its own table or keys, dropped afterwards, so tests can run in parallel (pytest-xdist).

Servers (overridable by environment variables): ``QUARTZITE_POSTGRESQL_URL`` (default
``postgresql+psycopg://postgres@127.0.0.1:5432/test``), ``QUARTZITE_MYSQL_URL`` (default
``mysql+pymysql://root@127.0.0.1:3306/test``), ``QUARTZITE_REDIS_HOST`` / ``QUARTZITE_REDIS_PORT``
(default 127.0.0.1:6379, database 0).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Callable
from uuid import uuid4

import pytest

from quartzite.events import EVENT_ALL, EVENT_JOB_QUARANTINED
from quartzite.jobstores.base import BaseJobStore
from quartzite.jobstores.memory import MemoryJobStore
from quartzite.schedulers.blocking import BlockingScheduler

POSTGRESQL_URL = os.environ.get(
    "QUARTZITE_POSTGRESQL_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
MYSQL_URL = os.environ.get("QUARTZITE_MYSQL_URL", "mysql+pymysql://root@127.0.0.1:3306/test")
REDIS_HOST = os.environ.get("QUARTZITE_REDIS_HOST", "127.0.0.1")
REDIS_PORT = int(os.environ.get("QUARTZITE_REDIS_PORT", "6379"))

SERIALIZING_KINDS = (
    "sqlite_file",
    "sqlite_memory",
    "postgresql",
    "mariadb",
    "redis",
    "redis_decoded",
)
STORE_PARAMS = ["memory"] + [
    f"{kind}-{serializer}" for kind in SERIALIZING_KINDS for serializer in ("pickle", "json")
]


def unique_name(prefix: str = "qz") -> str:
    """A table name or key prefix no other test (or xdist worker) uses."""
    return f"{prefix}_{uuid4().hex[:12]}"


def _check_sql(url: str) -> bool:
    from sqlalchemy import create_engine, text

    engine = create_engine(url, connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    finally:
        engine.dispose()
    return True


def _check_redis() -> bool:
    from redis import Redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    # No retries: redis-py would otherwise spend seconds retrying a refused connection
    client = Redis(
        host=REDIS_HOST, port=REDIS_PORT, socket_connect_timeout=3, retry=Retry(NoBackoff(), 0)
    )
    try:
        return bool(client.ping())
    finally:
        client.close()


@pytest.fixture(scope="session")
def postgresql_url(require_service: Callable[..., Any]) -> str:
    pytest.importorskip("psycopg")
    require_service("PostgreSQL", lambda: _check_sql(POSTGRESQL_URL))
    return POSTGRESQL_URL


@pytest.fixture(scope="session")
def mysql_url(require_service: Callable[..., Any]) -> str:
    pytest.importorskip("pymysql")
    require_service("MariaDB", lambda: _check_sql(MYSQL_URL))
    return MYSQL_URL


@pytest.fixture(scope="session")
def redis_options(require_service: Callable[..., Any]) -> dict[str, Any]:
    pytest.importorskip("redis")
    require_service("Redis", _check_redis)
    return {"host": REDIS_HOST, "port": REDIS_PORT}


@pytest.fixture
def store_scheduler() -> BlockingScheduler:
    """A scheduler that is never started: the stores dispatch their events through it."""
    return BlockingScheduler(timezone="Europe/Berlin")


@pytest.fixture
def quarantine_events(store_scheduler: BlockingScheduler) -> list[Any]:
    """The quarantine events the stores dispatch through ``store_scheduler``."""
    events: list[Any] = []
    store_scheduler.add_listener(events.append, EVENT_ALL | EVENT_JOB_QUARANTINED)
    return events


StoreFactory = Callable[..., BaseJobStore]


@pytest.fixture
def create_store(
    request: pytest.FixtureRequest, tmp_path: Path, store_scheduler: BlockingScheduler
) -> Iterator[StoreFactory]:
    """``create_store(kind, serializer="pickle", start=True, **options)``: a new store of that kind
    on its own table/keys, started with ``store_scheduler`` as alias "default"; removed from its
    backend at the end of the test."""
    cleanups: list[Callable[[], None]] = []

    def create(
        kind: str, serializer: str = "pickle", start: bool = True, **options: Any
    ) -> BaseJobStore:
        store: BaseJobStore
        if kind == "memory":
            store = MemoryJobStore(**options)  # nothing to serialize: ``serializer`` unused
        elif kind in ("sqlite_file", "sqlite_memory", "postgresql", "mariadb"):
            from quartzite.jobstores.sqlalchemy import SQLAlchemyJobStore

            if kind == "sqlite_file":
                url = f"sqlite:///{tmp_path / unique_name()}.sqlite"
            elif kind == "sqlite_memory":
                url = "sqlite://"
            elif kind == "postgresql":
                url = request.getfixturevalue("postgresql_url")
            else:
                url = request.getfixturevalue("mysql_url")
            options.setdefault("tablename", unique_name())
            store = SQLAlchemyJobStore(url, serializer=serializer, **options)
            cleanups.append(lambda store=store: _drop_tables(store))
        elif kind in ("redis", "redis_decoded"):
            from quartzite.jobstores.redis import RedisJobStore

            prefix = unique_name()
            options = {
                **request.getfixturevalue("redis_options"),
                "jobs_key": f"{prefix}.jobs",
                "run_times_key": f"{prefix}.run_times",
                **options,
            }
            if kind == "redis_decoded":
                options["decode_responses"] = True
            store = RedisJobStore(serializer=serializer, **options)
            cleanups.append(lambda store=store: _delete_keys(store))
        else:  # pragma: no cover
            raise ValueError(kind)

        if start:
            store.start(store_scheduler, "default")
        return store

    yield create
    for cleanup in reversed(cleanups):
        cleanup()


def _drop_tables(store: Any) -> None:
    try:
        store.unwatch()
        for table in reversed(store.tables):
            table.drop(store.engine, checkfirst=True)
    finally:
        store.engine.dispose()


def _delete_keys(store: Any) -> None:
    """Delete the store's keys: ``run_times_key`` and every key starting with ``jobs_key`` (the
    jobs, the quarantine, the run records and their indexes, the claims and check-ins)."""
    import re

    try:
        store.unwatch()
        pattern = re.sub(r"([*?\[\]\\])", r"\\\1", store.jobs_key) + "*"
        keys = [store.run_times_key, *store.redis.scan_iter(match=pattern, count=1000)]
        for start in range(0, len(keys), 500):
            store.redis.delete(*keys[start : start + 500])
    finally:
        store.redis.close()


@pytest.fixture(params=STORE_PARAMS)
def jobstore(request: pytest.FixtureRequest, create_store: StoreFactory) -> BaseJobStore:
    """Every kind of store, started, each with both serializers where it serializes."""
    kind, _, serializer = request.param.partition("-")
    return create_store(kind, serializer or "pickle")


@pytest.fixture(params=[param for param in STORE_PARAMS if param != "memory"])
def persistent_store(request: pytest.FixtureRequest, create_store: StoreFactory) -> BaseJobStore:
    """Every kind of serializing store, started, with both serializers."""
    kind, _, serializer = request.param.partition("-")
    return create_store(kind, serializer)
