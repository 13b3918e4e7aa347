"""The database connections of the Django app: SQLite switched to write-ahead logging by the
store, the connections of a scheduler's threads closed when they end, and those of executor
workers closed after each run (``CONN_MAX_AGE = 0``, the test settings' default)."""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timezone

import pytest
from django.db import connections

from quartzite.contrib.django.jobstores import DjangoJobStore, _release_worker_connections
from quartzite.contrib.django.models import DjangoJob
from quartzite.executors import base as executors_base
from quartzite.executors.pool import ThreadPoolExecutor
from quartzite.schedulers.background import BackgroundScheduler

#: what the jobs of this module saw: (job name, thread id, connection open at the start, open
#: after the query)
SEEN: list[tuple[str, int, bool, bool]] = []
DONE: dict[str, threading.Event] = {}


def touch_orm(alias: str, name: str) -> None:
    """A job: note whether this worker thread has a connection open, query, note again."""
    open_before = connections[alias].connection is not None
    DjangoJob.objects.db_manager(alias).count()
    open_after = connections[alias].connection is not None
    SEEN.append((name, threading.get_ident(), open_before, open_after))
    DONE[name].set()


def journal_mode() -> str:
    with connections["default"].cursor() as cursor:
        cursor.execute("PRAGMA journal_mode")
        return str(cursor.fetchone()[0]).lower()


def set_journal_mode(mode: str) -> str:
    with connections["default"].cursor() as cursor:
        cursor.execute(f"PRAGMA journal_mode={mode}")
        return str(cursor.fetchone()[0]).lower()


@pytest.fixture
def delete_journal() -> Iterator[None]:
    """The default SQLite database in rollback-journal mode for the test, WAL again after."""
    gc.collect()  # connections left by the ended threads of earlier tests let go of the file
    assert set_journal_mode("DELETE") == "delete"
    try:
        yield
    finally:
        set_journal_mode("WAL")
        connections["default"].close()


@pytest.mark.django_db(transaction=True)  # SQLite changes no journal mode inside a transaction
def test_the_store_switches_sqlite_to_write_ahead_logging(delete_journal: None) -> None:
    store = DjangoJobStore()
    store.start(None, "default")
    assert journal_mode() == "wal"
    store.shutdown()
    assert journal_mode() == "wal"  # the mode stays with the file


@pytest.mark.django_db(transaction=True)
def test_sqlite_wal_false_leaves_the_journal_mode_alone(delete_journal: None) -> None:
    store = DjangoJobStore(sqlite_wal=False)
    store.start(None, "default")
    assert journal_mode() == "delete"
    store.shutdown()


def test_sqlite_wal_takes_a_bool_only() -> None:
    with pytest.raises(TypeError, match="sqlite_wal"):
        DjangoJobStore(sqlite_wal="yes")  # type: ignore[arg-type]


def other_sessions(alias: str) -> set[int]:
    """The sessions on ``alias``'s PostgreSQL database but this thread's own."""
    with connections[alias].cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return {int(pid) for (pid,) in cursor.fetchall()}


@pytest.fixture
def no_garbage_collection() -> Iterator[None]:
    """No cyclic garbage collection during the test: a Django connection that its thread left
    open then stays open (instead of closing whenever the collector happens to run)."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("database", ["postgresql"], indirect=True)
def test_a_scheduler_leaves_no_session_behind_on_postgresql(
    routed: str, no_garbage_collection: None
) -> None:
    before = other_sessions("postgresql")
    SEEN.clear()
    DONE["run"] = threading.Event()
    scheduler = BackgroundScheduler(timezone="UTC", checkin_interval=1, lease_time=3)
    scheduler.add_jobstore(DjangoJobStore(poll_interval=0.2), "default")
    scheduler.add_job(
        touch_orm, "date", run_date=datetime.now(timezone.utc), args=("postgresql", "run")
    )
    scheduler.start()
    try:
        assert DONE["run"].wait(10)
        # the scheduler's threads have sessions of their own now
        assert other_sessions("postgresql") - before
    finally:
        scheduler.shutdown(wait=True)
    [(_name, _thread, _open_before, open_after)] = SEEN
    assert open_after
    deadline = time.monotonic() + 5
    while (left := other_sessions("postgresql") - before) and time.monotonic() < deadline:
        time.sleep(0.05)  # the server ends a session a moment after its client has left
    assert left == set()


def test_the_app_registers_the_run_hook() -> None:
    assert _release_worker_connections in executors_base._run_hooks


@pytest.mark.django_db(transaction=True)
def test_a_worker_thread_keeps_no_connection_between_runs(database: str) -> None:
    SEEN.clear()
    DONE.update(first=threading.Event(), second=threading.Event())
    scheduler = BackgroundScheduler(
        timezone="UTC", executors={"default": ThreadPoolExecutor(max_workers=1)}
    )
    scheduler.start(paused=True)  # a memory store: the scheduler itself touches no database
    try:
        now = datetime.now(timezone.utc)
        for name in ("first", "second"):
            scheduler.add_job(touch_orm, "date", run_date=now, args=(database, name), id=name)
        scheduler.resume()
        assert DONE["first"].wait(10) and DONE["second"].wait(10)
    finally:
        scheduler.shutdown(wait=True)
    assert len(SEEN) == 2
    assert len({seen[1] for seen in SEEN}) == 1  # one worker ran both
    # each run opened a connection, and found none left by the run before it
    assert [seen[2:] for seen in SEEN] == [(False, True), (False, True)]
