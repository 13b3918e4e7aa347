"""Schedulers on the persistent stores: configuration, errors at add_job, events, real runs."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from quartzite.events import (
    EVENT_ALL,
    EVENT_JOB_EXECUTED,
    EVENT_JOB_QUARANTINED,
    JobQuarantineEvent,
)
from quartzite.executors.debug import DebugExecutor
from quartzite.schedulers.background import BackgroundScheduler
from quartzite.serializers import JSONSerializer
from support import EventRecorder, dummy_job

from .support import insert_raw_row


@pytest.fixture
def scheduler() -> Any:
    scheduler = BackgroundScheduler(timezone="UTC", executors={"default": DebugExecutor()})
    yield scheduler
    if scheduler.running:
        scheduler.shutdown()


def test_configured_by_plugin_alias(tmp_path: Any) -> None:
    pytest.importorskip("sqlalchemy")
    url = f"sqlite:///{tmp_path / 'jobs.sqlite'}"
    scheduler = BackgroundScheduler(
        jobstores={
            "default": {"type": "sqlalchemy", "url": url, "serializer": "json"},
            "other": {"type": "redis", "jobs_key": "unused.jobs", "serializer": "pickle"},
        }
    )
    store = scheduler._jobstores["default"]
    assert type(store).__name__ == "SQLAlchemyJobStore"
    assert isinstance(store.serializer, JSONSerializer)  # type: ignore[attr-defined]
    assert type(scheduler._jobstores["other"]).__name__ == "RedisJobStore"


def test_json_argument_refused_at_add_job(scheduler: Any, create_store: Any) -> None:
    scheduler.add_jobstore(create_store("sqlite_memory", "json", start=False))
    scheduler.start(paused=True)
    with pytest.raises(TypeError, match=r"the argument args\[1\] is a set, not a JSON value"):
        scheduler.add_job(dummy_job, "date", args=[1, {2}], id="bad")
    assert scheduler.get_jobs() == []
    scheduler.add_job(dummy_job, "date", args=[1, [2]], id="good")
    assert [job.id for job in scheduler.get_jobs()] == ["good"]


def test_json_argument_of_a_pending_job_refused_at_start(scheduler: Any, create_store: Any) -> None:
    scheduler.add_jobstore(create_store("sqlite_memory", "json", start=False))
    scheduler.add_job(dummy_job, "date", kwargs={"when": datetime.now()}, id="bad")
    with pytest.raises(TypeError, match=r"the argument kwargs\['when'\] is a datetime"):
        scheduler.start()


def test_quarantine_event_reaches_listeners(scheduler: Any, create_store: Any) -> None:
    store = create_store("sqlite_memory", start=False)
    scheduler.add_jobstore(store)
    everything, quarantine, extended = EventRecorder(), EventRecorder(), EventRecorder()
    scheduler.add_listener(everything, EVENT_ALL)
    scheduler.add_listener(quarantine, EVENT_JOB_QUARANTINED)
    scheduler.add_listener(extended, EVENT_ALL | EVENT_JOB_QUARANTINED)
    scheduler.start(paused=True)
    insert_raw_row(store, "broken", b"\x80\x05not a pickle", None)

    assert scheduler.get_jobs() == []

    (event,) = quarantine.events
    assert isinstance(event, JobQuarantineEvent)
    assert (event.code, event.job_id, event.jobstore) == (
        EVENT_JOB_QUARANTINED,
        "broken",
        "default",
    )
    assert event.quarantine == f"table {store.quarantine_t.name}"
    assert event in extended.events
    assert not any(isinstance(e, JobQuarantineEvent) for e in everything.events)


def test_bad_due_row_does_not_stop_the_loop(scheduler: Any, create_store: Any) -> None:
    store = create_store("sqlite_file", start=False)
    scheduler.add_jobstore(store)
    executed = EventRecorder()
    scheduler.add_listener(executed, EVENT_JOB_EXECUTED)
    scheduler.start()
    insert_raw_row(store, "broken", b"garbage", datetime.now(timezone.utc) - timedelta(1))
    scheduler.add_job(dummy_job, id="good")
    assert [event.job_id for event in executed.wait_for(1, 10)] == ["good"]
    assert [job.id for job in store.get_quarantined_jobs()] == ["broken"]


@pytest.mark.live
@pytest.mark.parametrize(
    "kind", ["sqlite_file", "sqlite_memory", "postgresql", "mariadb", "redis", "redis_decoded"]
)
@pytest.mark.parametrize("serializer", ["pickle", "json"])
def test_scheduler_runs_due_jobs(
    create_store: Any, kind: str, serializer: str, store_scheduler: Any
) -> None:
    store = create_store(kind, serializer, start=False)
    scheduler = BackgroundScheduler(timezone="UTC", jobstores={"default": store})
    recorder = EventRecorder()
    scheduler.add_listener(recorder, EVENT_JOB_EXECUTED)
    now = datetime.now(timezone.utc)
    for index in range(20):
        scheduler.add_job(dummy_job, "date", run_date=now, id=f"date{index}", args=[index])
    scheduler.add_job(
        dummy_job,
        "interval",
        seconds=0.3,
        start_date=now,
        id="interval",
        misfire_grace_time=None,
    )

    def all_ran(events: list[Any]) -> bool:
        runs = [event.job_id for event in events]
        return runs.count("interval") >= 3 and len(set(runs) - {"interval"}) == 20

    scheduler.start()
    try:
        recorder.wait_until(all_ran, timeout=20)
        remaining = [job.id for job in scheduler.get_jobs()]
    finally:
        scheduler.shutdown()

    runs = [event.job_id for event in recorder.events]
    assert sorted(set(runs) - {"interval"}) == sorted(f"date{index}" for index in range(20))
    assert all(runs.count(f"date{index}") == 1 for index in range(20))
    assert runs.count("interval") >= 3
    assert remaining == ["interval"]
