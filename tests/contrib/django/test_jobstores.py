"""DjangoJobStore on every backend: the job store contract, quarantine, history, run records.

The store-only tests are plain ``django_db`` tests: each runs inside pytest-django's atomic
block (rolled back afterwards), as a store does when it is called inside a project's own
transaction. The tests that drive a scheduler commit for real (``transaction=True``).
"""

from __future__ import annotations

import pickle
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from quartzite import events
from quartzite.contrib.django.jobstores import DjangoJobStore
from quartzite.contrib.django.models import DjangoJob, DjangoJobExecution, DjangoJobQuarantine
from quartzite.jobstores.base import ConflictingIdError, JobLookupError
from quartzite.runs import RunStatus
from quartzite.triggers.interval import IntervalTrigger
from support.jobs import dummy_job, make_job
from support.schedulers import DummyScheduler

NOW = datetime(2030, 5, 1, 12, 0, tzinfo=timezone.utc)

pytestmark = pytest.mark.django_db


@pytest.fixture
def store(routed: str) -> DjangoJobStore:
    store = DjangoJobStore()
    store.start(None, "default")
    return store


def interval_job(job_id: str, start: datetime = NOW, **options):
    trigger = IntervalTrigger(seconds=10, start_date=start, timezone="UTC")
    return make_job(id=job_id, trigger=trigger, next_run_time=start, **options)


def test_repr_stays_django_apschedulers_whatever_the_options() -> None:
    assert repr(DjangoJobStore(pickle_protocol=3, serializer="json")) == (
        "<DjangoJobStore(pickle_protocol=3)>"
    )
    assert repr(DjangoJobStore()) == f"<DjangoJobStore(pickle_protocol={pickle.HIGHEST_PROTOCOL})>"


@pytest.mark.django_db(databases="__all__")  # looks into every alias
def test_the_store_uses_the_alias_the_routers_give(store: DjangoJobStore, routed: str) -> None:
    store.add_job(interval_job("a"))
    assert store.database == routed
    assert DjangoJob.objects.db_manager(routed).filter(id="a").exists()
    others = {"default", "other", "postgresql", "mariadb"} - {routed}
    from django.conf import settings

    for alias in others & set(settings.DATABASES):
        assert not DjangoJob.objects.db_manager(alias).filter(id="a").exists()


@pytest.mark.parametrize("serializer", ["pickle", "json"])
def test_add_lookup_update_remove(routed: str, serializer: str) -> None:
    store = DjangoJobStore(serializer=serializer)
    store.start(None, "default")
    job = interval_job("a", args=(1, 2))
    store.add_job(job)
    with pytest.raises(ConflictingIdError):
        store.add_job(interval_job("a"))
    found = store.lookup_job("a")
    assert found is not None and tuple(found.args) == (1, 2) and found.next_run_time == NOW
    found._modify(next_run_time=NOW + timedelta(seconds=10))
    store.update_job(found)
    assert store.get_next_run_time() == NOW + timedelta(seconds=10)
    store.remove_job("a")
    assert store.lookup_job("a") is None
    with pytest.raises(JobLookupError):
        store.remove_job("a")
    with pytest.raises(JobLookupError):
        store.update_job(found)


def test_due_jobs_in_order_and_paused_jobs_last(store: DjangoJobStore) -> None:
    store.add_job(interval_job("late", NOW + timedelta(seconds=5)))
    store.add_job(interval_job("early", NOW - timedelta(seconds=5)))
    store.add_job(make_job(id="paused", paused=True))
    assert [job.id for job in store.get_due_jobs(NOW)] == ["early"]
    assert [job.id for job in store.get_all_jobs()] == ["early", "late", "paused"]
    assert store.get_next_run_time() == NOW - timedelta(seconds=5)


def test_an_empty_state_row_is_no_job(store: DjangoJobStore, routed: str) -> None:
    DjangoJob.objects.db_manager(routed).create(id="placeholder")
    assert store.lookup_job("placeholder") is None
    assert store.get_all_jobs() == []
    assert not DjangoJobQuarantine.objects.db_manager(routed).exists()


def test_unrestorable_rows_are_quarantined_not_deleted(store: DjangoJobStore, routed: str) -> None:
    store.add_job(interval_job("good"))
    DjangoJob.objects.db_manager(routed).create(
        id="bad", job_state=b"not a pickle", next_run_time=NOW
    )
    assert [job.id for job in store.get_all_jobs()] == ["good"]
    assert not DjangoJob.objects.db_manager(routed).filter(id="bad").exists()
    [kept] = store.get_quarantined_jobs()
    assert kept.id == "bad" and kept.job_state == b"not a pickle"
    assert kept.next_run_time == NOW.timestamp()
    assert store.get_next_run_time() == NOW


def test_lookup_of_an_unrestorable_row_quarantines_and_gives_none(
    store: DjangoJobStore, routed: str
) -> None:
    DjangoJob.objects.db_manager(routed).create(id="bad", job_state=b"\x80junk")
    assert store.lookup_job("bad") is None
    assert [item.id for item in store.get_quarantined_jobs()] == ["bad"]


def test_a_quarantined_job_can_be_restored(store: DjangoJobStore, routed: str) -> None:
    good = interval_job("job")
    state = store._serialize_job(good)
    DjangoJob.objects.db_manager(routed).create(id="job", job_state=state[:-3], next_run_time=NOW)
    store.get_all_jobs()
    DjangoJobQuarantine.objects.db_manager(routed).update(job_state=state)
    store.restore_quarantined_job("job")
    assert store.lookup_job("job") is not None
    assert store.get_quarantined_jobs() == []


def test_history_outlives_its_job(store: DjangoJobStore, routed: str) -> None:
    store.add_job(interval_job("a"))
    store.request_run("a", NOW)
    store.remove_job("a")
    store.add_job(interval_job("b"))
    store.request_run("b", NOW)
    store.remove_all_jobs()
    assert DjangoJobExecution.objects.db_manager(routed).count() == 2
    assert [run.job_id for run in store.get_runs()] == ["a", "b"]


@pytest.mark.django_db(transaction=True)
def test_a_scheduler_claims_runs_and_records_the_history(routed: str, freeze_time: Any) -> None:
    scheduler = DummyScheduler(timezone="UTC")
    store = DjangoJobStore()
    scheduler.add_jobstore(store, "default")
    scheduler.start()
    try:
        job = scheduler.add_job(dummy_job, "interval", seconds=3600, id="hourly")
        job_time = job.next_run_time
        freeze_time.advance(seconds=3600)
        scheduler._process_jobs()
        scheduler._recorder.flush()
        [row] = DjangoJobExecution.objects.db_manager(routed).all()
        assert row.status == DjangoJobExecution.SUCCESS
        assert row.scheduler_id == scheduler.scheduler_id
        assert row.run_time == job_time
        assert row.finished is not None and row.duration is not None
        [run] = store.get_runs("hourly")
        assert run.status is RunStatus.SUCCESS and run.scheduled_run_time == job_time
        # the same occurrence is never taken twice
        scheduler._process_jobs()
        assert DjangoJobExecution.objects.db_manager(routed).count() == 1
    finally:
        scheduler.shutdown()


@pytest.mark.django_db(transaction=True)
def test_run_now_is_a_pending_record_that_the_next_claim_takes(
    routed: str, freeze_time: Any
) -> None:
    scheduler = DummyScheduler(timezone="UTC")
    store = DjangoJobStore()
    scheduler.add_jobstore(store, "default")
    scheduler.start()
    try:
        scheduler.add_job(dummy_job, "date", run_date=NOW + timedelta(days=3650), id="later")
        record = store.request_run("later", freeze_time.instant)
        assert record.status is RunStatus.PENDING
        row = DjangoJobExecution.objects.db_manager(routed).get()
        assert row.status == DjangoJobExecution.PENDING and row.manual
        scheduler._process_jobs()
        scheduler._recorder.flush()
        row.refresh_from_db()
        assert row.status == DjangoJobExecution.SUCCESS
        assert store.lookup_job("later") is not None  # the schedule did not move
    finally:
        scheduler.shutdown()


def test_recovery_takes_over_the_runs_of_a_dead_scheduler(
    store: DjangoJobStore, routed: str
) -> None:
    store.add_job(interval_job("a"))
    claim = store.claim_jobs("dead", NOW)
    assert [run.job.id for run in claim.runs] == ["a"]
    store.check_in("alive", NOW, 30)
    recovered = store.recover_runs("alive", NOW + timedelta(seconds=1))
    assert [run.job.id for run in recovered.runs] == ["a"]
    row = DjangoJobExecution.objects.db_manager(routed).get()
    assert row.scheduler_id == "alive" and row.attempt == 2 and row.recovered


def test_retention_keeps_the_newest_records_per_job(routed: str) -> None:
    from quartzite.jobstores.claims import RunOutcome

    store = DjangoJobStore(max_runs_per_job=3)
    store.start(None, "default")
    store.add_job(interval_job("a", NOW - timedelta(seconds=100)))
    claim = store.claim_jobs("me", NOW, max_catch_up=20)
    times = claim.runs[0].run_times
    assert len(times) == 1  # coalesced
    for index in range(6):
        moment = NOW + timedelta(seconds=index + 1)
        DjangoJobExecution.objects.db_manager(routed).create(
            job_id="a", run_time=moment, status=DjangoJobExecution.SUCCESS, scheduler_id="me"
        )
    store.finish_runs([RunOutcome("a", times[0], RunStatus.SUCCESS, NOW, "me")])
    assert DjangoJobExecution.objects.db_manager(routed).count() == 3


def test_a_claim_quarantines_an_unrestorable_due_row_and_takes_the_others(
    store: DjangoJobStore, routed: str
) -> None:
    store.add_job(interval_job("good"))
    DjangoJob.objects.db_manager(routed).create(id="bad", job_state=b"junk", next_run_time=NOW)
    claim = store.claim_jobs("me", NOW)
    assert [run.job.id for run in claim.runs] == ["good"]
    assert [item.id for item in store.get_quarantined_jobs()] == ["bad"]
    assert list(DjangoJobExecution.objects.db_manager(routed).values_list("job_id", flat=True)) == [
        "good"
    ]


def test_finish_runs_writes_onto_a_row_the_listener_finished_first(
    store: DjangoJobStore, routed: str
) -> None:
    from quartzite.jobstores.claims import RunOutcome

    store.add_job(interval_job("a"))
    [run] = store.claim_jobs("me", NOW).runs
    store.handle_execution_event(
        events.JobExecutionEvent(events.EVENT_JOB_EXECUTED, "a", "default", run.run_times[0])
    )
    outcome = RunOutcome("a", run.run_times[0], RunStatus.SUCCESS, NOW, "me", return_value=42)
    store.finish_runs([outcome])
    [record] = store.get_runs("a")
    assert record.status is RunStatus.SUCCESS and record.return_value == 42
