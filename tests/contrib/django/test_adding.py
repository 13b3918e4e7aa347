"""DjangoJobStore: the jobs a scheduler adds at ``start()`` share one transaction, on every
backend; a taken id raises ``ConflictingIdError`` and leaves a caller's transaction usable.

The start tests commit for real (``transaction=True``) and look at the rows from another
thread, that is from another connection: what it sees is committed. The tests inside a
caller's transaction are plain ``django_db`` tests.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, TypeVar

import pytest
from django.db import connections, transaction

from quartzite.contrib.django.jobstores import DjangoJobStore
from quartzite.contrib.django.models import DjangoJob
from quartzite.jobstores.base import ConflictingIdError
from quartzite.schedulers.background import BackgroundScheduler
from quartzite.triggers.interval import IntervalTrigger
from support.jobs import dummy_job, make_job

_T = TypeVar("_T")

#: the first run of the triggers below (in the future: a computed first run time is this)
START = datetime(2030, 1, 1, tzinfo=timezone.utc)
#: a run time given explicitly when a job is first stored (differs from any computed one)
STORED_RUN = datetime(2031, 6, 1, 12, 0, tzinfo=timezone.utc)


def hourly(seconds: int = 3600) -> IntervalTrigger:
    return IntervalTrigger(seconds=seconds, start_date=START, timezone="UTC")


def in_other_thread(work: Callable[[], _T]) -> _T:
    """``work()`` on a thread of its own, so on a Django connection of its own (closed after)."""
    results: list[Any] = []

    def run() -> None:
        try:
            results.append(work())
        except BaseException as exc:  # handed to the test's thread
            results.append(exc)
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(30)
    assert not thread.is_alive()
    [result] = results
    if isinstance(result, BaseException):
        raise result
    return result


def committed_ids(alias: str) -> set[str]:
    """The job ids another connection sees on ``alias``."""
    return in_other_thread(
        lambda: set(DjangoJob.objects.db_manager(alias).values_list("id", flat=True))
    )


def committed_row(alias: str, job_id: str) -> tuple[bytes, datetime | None]:
    def read() -> tuple[bytes, datetime | None]:
        row = DjangoJob.objects.db_manager(alias).get(id=job_id)
        return bytes(row.job_state), row.next_run_time

    return in_other_thread(read)


def new_scheduler() -> BackgroundScheduler:
    scheduler = BackgroundScheduler(timezone="UTC", checkin_interval=1)
    scheduler.add_jobstore(DjangoJobStore(poll_interval=0.5), "default")
    return scheduler


def store_jobs(*jobs: tuple[str, IntervalTrigger, tuple[Any, ...]]) -> None:
    """Store jobs through a scheduler of their own (started and shut down), each with the
    explicit next run time :data:`STORED_RUN`."""
    scheduler = new_scheduler()
    for job_id, trigger, args in jobs:
        scheduler.add_job(dummy_job, trigger, args=args, id=job_id, next_run_time=STORED_RUN)
    scheduler.start(paused=True)
    scheduler.shutdown()


@contextmanager
def watching(alias: str) -> Iterator[list[tuple[str, Any]]]:
    """Note, in order, on this thread's connection of ``alias``: each insert into the job
    table (with whether it ran inside an atomic block) and each commit."""
    connection = connections[alias]
    table = connection.ops.quote_name(DjangoJob._meta.db_table)
    prefix = f"INSERT INTO {table} "
    seen: list[tuple[str, Any]] = []

    def execute(run: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        if sql.startswith(prefix):
            seen.append(("insert", context["connection"].in_atomic_block))
        return run(sql, params, many, context)

    real_commit = connection.commit

    def commit() -> None:
        seen.append(("commit", None))
        real_commit()

    connection.ensure_connection()
    connection.commit = commit
    try:
        with connection.execute_wrapper(execute):
            yield seen
    finally:
        del connection.commit


@pytest.mark.django_db(transaction=True)
def test_the_adds_of_a_start_are_one_commit(routed: str) -> None:
    scheduler = new_scheduler()
    for index in range(30):
        scheduler.add_job(dummy_job, hourly(), id=f"job-{index:02}")
    try:
        with watching(routed) as seen:
            scheduler.start(paused=True)
        assert committed_ids(routed) == {f"job-{index:02}" for index in range(30)}
    finally:
        scheduler.shutdown()
    inserts = [index for index, (kind, _) in enumerate(seen) if kind == "insert"]
    assert len(inserts) == 30
    # every insert inside one transaction: no commit between the first and the last, and one
    # right after them
    assert all(seen[index][1] for index in inserts)
    first, last = inserts[0], inserts[-1]
    assert [kind for kind, _ in seen[first : last + 1]] == ["insert"] * 30
    assert seen[last + 1 :][:1] == [("commit", None)]


@pytest.mark.django_db(transaction=True)
def test_replacing_pending_jobs_keep_an_unchanged_schedules_run_time(routed: str) -> None:
    store_jobs(("same", hourly(), (1,)), ("changed", hourly(), (1,)))
    scheduler = new_scheduler()
    scheduler.add_job(dummy_job, hourly(), args=(2,), id="same", replace_existing=True)
    scheduler.add_job(dummy_job, hourly(7200), args=(2,), id="changed", replace_existing=True)
    scheduler.add_job(dummy_job, hourly(), id="new")
    scheduler.start(paused=True)
    try:
        assert committed_ids(routed) == {"same", "changed", "new"}
        same = scheduler.get_job("same")
        changed = scheduler.get_job("changed")
        assert same is not None and changed is not None
        assert tuple(same.args) == (2,) and tuple(changed.args) == (2,)  # replaced
        assert same.next_run_time == STORED_RUN  # same schedule: the stored run time stays
        assert isinstance(changed.trigger, IntervalTrigger)
        assert changed.trigger.interval == timedelta(seconds=7200)
        assert changed.next_run_time == START  # a new schedule: its own first run time
    finally:
        scheduler.shutdown()
    assert committed_row(routed, "same")[1] == STORED_RUN
    assert committed_row(routed, "changed")[1] == START


@pytest.mark.django_db(transaction=True)
def test_a_taken_id_stops_the_start_but_the_adds_before_it_are_committed(routed: str) -> None:
    store_jobs(("taken", hourly(), (1,)))
    before = committed_row(routed, "taken")
    scheduler = new_scheduler()
    for index in range(3):
        scheduler.add_job(dummy_job, hourly(), id=f"before-{index}")
    scheduler.add_job(dummy_job, hourly(7200), args=(2,), id="taken")
    scheduler.add_job(dummy_job, hourly(), id="after")
    try:
        with pytest.raises(ConflictingIdError, match="taken"):
            scheduler.start(paused=True)
        # seen from another connection, and after this thread's connection has closed
        assert committed_ids(routed) == {"before-0", "before-1", "before-2", "taken"}
        connections[routed].close()
        assert committed_ids(routed) == {"before-0", "before-1", "before-2", "taken"}
        assert committed_row(routed, "taken") == before
        assert not connections[routed].in_atomic_block
    finally:
        # start() failed half-way: its components are started, the scheduler is not
        scheduler._components.shutdown_all(True)


@pytest.mark.django_db  # the test runs inside an atomic block: the caller's transaction
def test_the_adds_join_a_callers_transaction(routed: str) -> None:
    store = DjangoJobStore()
    store.start(None, "default")
    DjangoJob.objects.db_manager(routed).create(id="stored", job_state=b"kept")
    with watching(routed) as seen:
        with transaction.atomic(using=routed):
            savepoints = list(connections[routed].savepoint_ids)
            with store.batch_adds():
                store.add_job(make_job(id="a", trigger=hourly(), next_run_time=START))
                with pytest.raises(ConflictingIdError, match="stored"):
                    store.add_job(make_job(id="stored", trigger=hourly(), next_run_time=START))
                store.add_job(make_job(id="b", trigger=hourly(), next_run_time=START))
                # joined the caller's transaction: no transaction or savepoint of its own
                assert connections[routed].savepoint_ids == savepoints
            # the caller's transaction still works (on PostgreSQL, a failed statement would
            # have aborted it)
            ids = set(DjangoJob.objects.db_manager(routed).values_list("id", flat=True))
            assert ids == {"stored", "a", "b"}
            assert DjangoJob.objects.db_manager(routed).get(id="stored").job_state == b"kept"
            transaction.set_rollback(True, using=routed)
        # the adds went with the caller's transaction
        assert not DjangoJob.objects.db_manager(routed).filter(id__in=["a", "b"]).exists()
    assert ("commit", None) not in seen
    assert [kind for kind, _ in seen] == ["insert"] * 3


@pytest.mark.django_db(transaction=True)
def test_a_single_add_of_a_taken_id_outside_a_transaction(routed: str) -> None:
    store = DjangoJobStore()
    store.start(None, "default")
    try:
        store.add_job(make_job(id="a", trigger=hourly(), args=(1,), next_run_time=START))
        before = committed_row(routed, "a")
        with pytest.raises(ConflictingIdError, match="a"):
            store.add_job(make_job(id="a", trigger=hourly(), args=(2,), next_run_time=START))
        assert not connections[routed].in_atomic_block
        assert committed_row(routed, "a") == before
        store.add_job(make_job(id="b", trigger=hourly(), next_run_time=START))
        assert committed_ids(routed) == {"a", "b"}
    finally:
        store.shutdown()


@pytest.mark.django_db  # inside pytest-django's atomic block
def test_a_single_add_of_a_taken_id_leaves_the_callers_transaction_usable(routed: str) -> None:
    store = DjangoJobStore()
    store.start(None, "default")
    with transaction.atomic(using=routed):
        store.add_job(make_job(id="a", trigger=hourly(), args=(1,), next_run_time=START))
        state = DjangoJob.objects.db_manager(routed).get(id="a").job_state
        with pytest.raises(ConflictingIdError, match="a"):
            store.add_job(make_job(id="a", trigger=hourly(), args=(2,), next_run_time=START))
        # the next statements of the same transaction work, and see the first add unchanged
        assert DjangoJob.objects.db_manager(routed).get(id="a").job_state == state
        store.add_job(make_job(id="b", trigger=hourly(), next_run_time=START))
        assert DjangoJob.objects.db_manager(routed).count() == 2
        found = store.lookup_job("a")
        assert found is not None and tuple(found.args) == (1,)
