"""The event handlers of DjangoResultStoreMixin and the deprecated helpers."""

from __future__ import annotations

import threading
import warnings
from datetime import datetime, timezone

import pytest

from quartzite import events
from quartzite.contrib.django.jobstores import (
    DjangoJobStore,
    DjangoMemoryJobStore,
    register_events,
    register_job,
)
from quartzite.contrib.django.models import DjangoJob, DjangoJobExecution
from quartzite.schedulers.background import BackgroundScheduler
from support.jobs import dummy_job

RUN_TIME = datetime(2030, 5, 1, 12, 0, tzinfo=timezone.utc)


@pytest.fixture
def store() -> DjangoJobStore:
    store = DjangoJobStore()
    store.lock = threading.RLock()
    DjangoJob.objects.create(id="job", job_state=b"x", next_run_time=RUN_TIME)
    return store


@pytest.mark.django_db(transaction=True)
def test_the_lock_is_per_store_and_set_by_start() -> None:
    scheduler = BackgroundScheduler()
    first, second = DjangoJobStore(), DjangoMemoryJobStore()
    assert first.lock is None
    scheduler.add_jobstore(first, "default")
    scheduler.add_jobstore(second, "memory")
    scheduler.start(paused=True)
    try:
        assert first.lock is not None and second.lock is not None and first.lock is not second.lock
        masks = {mask for _callback, mask in scheduler._listeners}
        assert events.EVENT_JOB_SUBMITTED | events.EVENT_JOB_MAX_INSTANCES in masks
        assert events.EVENT_JOB_EXECUTED in masks
        assert events.EVENT_JOB_ERROR | events.EVENT_JOB_MISSED in masks
    finally:
        scheduler.shutdown()


@pytest.mark.django_db
def test_submission_then_execution(store: DjangoJobStore) -> None:
    sent = events.JobSubmissionEvent(events.EVENT_JOB_SUBMITTED, "job", store, [RUN_TIME])
    row_id = store.handle_submission_event(sent)
    assert DjangoJobExecution.objects.get(id=row_id).status == DjangoJobExecution.SENT
    done = events.JobExecutionEvent(events.EVENT_JOB_EXECUTED, "job", store, RUN_TIME)
    assert store.handle_execution_event(done) == row_id
    assert DjangoJobExecution.objects.get(id=row_id).status == DjangoJobExecution.SUCCESS


@pytest.mark.django_db
def test_max_instances_error_and_missed_texts(store: DjangoJobStore) -> None:
    skipped = events.JobSubmissionEvent(events.EVENT_JOB_MAX_INSTANCES, "job", store, [RUN_TIME])
    row = DjangoJobExecution.objects.get(id=store.handle_submission_event(skipped))
    assert row.exception == (
        "Execution of job 'job' skipped: maximum number of running instances reached!"
    )
    error = events.JobExecutionEvent(events.EVENT_JOB_ERROR, "job", store, RUN_TIME)
    row = DjangoJobExecution.objects.get(id=store.handle_error_event(error))
    assert (row.status, row.exception) == ("Error!", "Job 'job' raised an error!")
    missed = events.JobExecutionEvent(events.EVENT_JOB_MISSED, "job", store, RUN_TIME)
    row = DjangoJobExecution.objects.get(id=store.handle_error_event(missed))
    assert (row.status, row.exception) == ("Missed!", "Run time of job 'job' was missed!")


@pytest.mark.django_db
def test_unknown_codes_are_refused(store: DjangoJobStore) -> None:
    with pytest.raises(NotImplementedError):
        store.handle_submission_event(
            events.JobSubmissionEvent(events.EVENT_JOB_ADDED, "job", store, [RUN_TIME])
        )
    with pytest.raises(NotImplementedError):
        store.handle_execution_event(
            events.JobExecutionEvent(events.EVENT_JOB_ERROR, "job", store, RUN_TIME)
        )
    with pytest.raises(NotImplementedError):
        store.handle_error_event(
            events.JobExecutionEvent(events.EVENT_JOB_EXECUTED, "job", store, RUN_TIME)
        )


@pytest.mark.django_db
def test_a_job_that_does_not_exist_is_skipped_with_a_warning(
    store: DjangoJobStore, caplog: pytest.LogCaptureFixture
) -> None:
    event = events.JobExecutionEvent(events.EVENT_JOB_EXECUTED, "ghost", store, RUN_TIME)
    assert store.handle_execution_event(event) is None
    assert "Job 'ghost' no longer exists! Skipping logging of job execution..." in caplog.text
    assert not DjangoJobExecution.objects.exists()


def test_register_events_only_warns() -> None:
    with pytest.warns(DeprecationWarning, match="deprecated"):
        register_events(object())


@pytest.mark.django_db(transaction=True)
def test_register_job_adds_the_function_and_returns_it() -> None:
    scheduler = BackgroundScheduler()
    scheduler.add_jobstore(DjangoJobStore(), "default")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        decorated = register_job(scheduler, "interval", seconds=60)(dummy_job)
    assert decorated is dummy_job
    assert [w.category for w in caught] == [DeprecationWarning]
    scheduler.start(paused=True)
    try:
        assert list(DjangoJob.objects.values_list("id", flat=True)) == ["support.jobs.dummy_job"]
    finally:
        scheduler.shutdown()
