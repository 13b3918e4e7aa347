"""Tests for ``quartzite.executors.debug.DebugExecutor`` (API contract §6.3)."""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta, timezone
from functools import partial
from types import TracebackType

import pytest

import support
from quartzite.events import (
    EVENT_JOB_ERROR,
    EVENT_JOB_EXECUTED,
    EVENT_JOB_MISSED,
    JobExecutionEvent,
    SchedulerEvent,
)
from quartzite.executors.base import BaseExecutor, MaxInstancesReachedError
from quartzite.executors.debug import DebugExecutor
from quartzite.triggers.date import DateTrigger
from support import DummyScheduler, OutcomeRecordingScheduler, run_slot_is_free

UTC = timezone.utc
RUN_TIME = datetime(2020, 5, 17, 12, 0, tzinfo=UTC)


def fail() -> None:
    raise ValueError("debug failure")


@pytest.fixture
def scheduler() -> OutcomeRecordingScheduler:
    return OutcomeRecordingScheduler(timezone=UTC)


@pytest.fixture
def events(scheduler: DummyScheduler) -> list[SchedulerEvent]:
    received: list[SchedulerEvent] = []
    scheduler.add_listener(received.append)
    return received


@pytest.fixture
def executor(scheduler: DummyScheduler) -> DebugExecutor:
    executor = DebugExecutor()
    executor.start(scheduler, "debugalias")
    return executor


# The job the tests submit: due at RUN_TIME, no grace time, in the store "store"
make_job = partial(
    support.make_job,
    id="debugjob",
    trigger=DateTrigger(RUN_TIME),
    executor="debug",
    misfire_grace_time=None,
    coalesce=False,
    next_run_time=RUN_TIME,
    jobstore_alias="store",
)


def test_is_an_executor() -> None:
    assert issubclass(DebugExecutor, BaseExecutor)


def test_runs_synchronously_in_calling_thread(
    scheduler: DummyScheduler, executor: DebugExecutor, events: list[SchedulerEvent]
) -> None:
    threads: list[int] = []
    job = make_job(scheduler, lambda: threads.append(threading.get_ident()) or "done")
    executor.submit_job(job, [RUN_TIME])
    # the events were dispatched before submit_job returned
    assert threads == [threading.get_ident()]
    assert len(events) == 1
    event = events[0]
    assert isinstance(event, JobExecutionEvent)
    assert event.code == EVENT_JOB_EXECUTED
    assert event.job_id == "debugjob"
    assert event.jobstore == "store"
    assert event.scheduled_run_time == RUN_TIME
    assert event.retval == "done"


def test_several_run_times(
    scheduler: DummyScheduler, executor: DebugExecutor, events: list[SchedulerEvent]
) -> None:
    calls: list[int] = []
    run_times = [RUN_TIME, RUN_TIME + timedelta(seconds=1)]
    executor.submit_job(make_job(scheduler, calls.append, args=[1]), run_times)
    assert calls == [1, 1]
    assert [event.scheduled_run_time for event in events] == run_times


def test_a_finished_run_frees_its_instance_for_the_next_one(
    scheduler: DummyScheduler, executor: DebugExecutor
) -> None:
    calls: list[int] = []
    job = make_job(scheduler, calls.append, args=[1])
    executor.submit_job(job, [RUN_TIME])
    assert run_slot_is_free(executor, job, [RUN_TIME])  # max_instances=1 is not blocked
    assert run_slot_is_free(executor, job, [RUN_TIME])
    assert calls == [1, 1, 1]


def test_max_instances_while_running(
    scheduler: DummyScheduler, executor: DebugExecutor, events: list[SchedulerEvent]
) -> None:
    """A job that re-submits itself while running hits its own instance limit."""
    errors: list[BaseException] = []

    def reentrant() -> None:
        try:
            executor.submit_job(job, [RUN_TIME])
        except MaxInstancesReachedError as exc:
            errors.append(exc)

    job = make_job(scheduler, reentrant)
    executor.submit_job(job, [RUN_TIME])
    assert len(errors) == 1
    assert str(errors[0]) == (
        'Job "debugjob" has already reached its maximum number of instances (1)'
    )
    assert [event.code for event in events] == [EVENT_JOB_EXECUTED]


def test_job_error(
    scheduler: DummyScheduler, executor: DebugExecutor, events: list[SchedulerEvent]
) -> None:
    executor.submit_job(make_job(scheduler, fail), [RUN_TIME])
    assert len(events) == 1
    event = events[0]
    assert event.code == EVENT_JOB_ERROR
    assert isinstance(event.exception, ValueError)
    assert str(event.exception) == "debug failure"
    assert 'raise ValueError("debug failure")' in event.traceback
    assert run_slot_is_free(executor, make_job(scheduler, lambda: None), [RUN_TIME])


def test_missed(
    scheduler: DummyScheduler, executor: DebugExecutor, events: list[SchedulerEvent]
) -> None:
    calls: list[int] = []
    job = make_job(scheduler, calls.append, args=[1], misfire_grace_time=1)
    executor.submit_job(job, [datetime.now(UTC) - timedelta(hours=1)])
    assert calls == []
    assert [event.code for event in events] == [EVENT_JOB_MISSED]


def test_logger_name(
    scheduler: DummyScheduler, executor: DebugExecutor, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="quartzite.executors.debugalias"):
        executor.submit_job(make_job(scheduler, lambda: None), [RUN_TIME])
    assert {record.name for record in caplog.records} == {"quartzite.executors.debugalias"}


def test_run_job_success_looked_up_at_completion(
    scheduler: DummyScheduler, executor: DebugExecutor, events: list[SchedulerEvent]
) -> None:
    received: list[tuple[str, list[JobExecutionEvent]]] = []
    executor._run_job_success = lambda job_id, job_events: received.append(  # type: ignore[method-assign]
        (job_id, job_events)
    )
    executor.submit_job(make_job(scheduler, lambda: 5), [RUN_TIME])
    assert len(received) == 1
    assert received[0][0] == "debugjob"
    assert [(event.code, event.retval) for event in received[0][1]] == [(EVENT_JOB_EXECUTED, 5)]
    assert events == []


def test_run_job_failure_reported_to_run_job_error(
    scheduler: DummyScheduler,
    executor: DebugExecutor,
    events: list[SchedulerEvent],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """When run_job itself fails (here: a naive run time it cannot compare), the executor
    reports it through _run_job_error and releases the instance."""
    job = make_job(scheduler, lambda: None, misfire_grace_time=1)
    with caplog.at_level(logging.ERROR, logger="quartzite.executors.debugalias"):
        executor.submit_job(job, [datetime(2020, 5, 17, 12)])
    assert events == []
    assert caplog.records[-1].getMessage() == "Error running job debugjob"
    assert isinstance(caplog.records[-1].exc_info[1], TypeError)
    assert run_slot_is_free(executor, make_job(scheduler, lambda: None), [RUN_TIME])


def test_run_job_error_looked_up_at_completion(
    scheduler: DummyScheduler, executor: DebugExecutor
) -> None:
    received: list[tuple[str, BaseException, TracebackType | None]] = []
    executor._run_job_error = lambda job_id, exc, tb=None: received.append(  # type: ignore[method-assign]
        (job_id, exc, tb)
    )
    job = make_job(scheduler, lambda: None, misfire_grace_time=1)
    executor.submit_job(job, [datetime(2020, 5, 17, 12)])
    assert len(received) == 1
    job_id, exc, tb = received[0]
    assert job_id == "debugjob"
    assert isinstance(exc, TypeError)
    assert isinstance(tb, TracebackType)


def test_executed_error_and_missed_outcomes_all_pass_through_report_run_outcome(
    scheduler: OutcomeRecordingScheduler, executor: DebugExecutor, events: list[SchedulerEvent]
) -> None:
    executor.submit_job(make_job(scheduler, lambda: 1), [RUN_TIME])
    executor.submit_job(make_job(scheduler, fail), [RUN_TIME])
    late = datetime.now(UTC) - timedelta(hours=1)
    executor.submit_job(make_job(scheduler, lambda: 1, misfire_grace_time=1), [late])
    assert [event.code for event in scheduler.outcomes] == [
        EVENT_JOB_EXECUTED,
        EVENT_JOB_ERROR,
        EVENT_JOB_MISSED,
    ]
    assert events == scheduler.outcomes
