"""Tests for ``quartzite.executors.base`` (API contract §6.1, §6.2)."""

from __future__ import annotations

import asyncio
import gc
import logging
import threading
import traceback
import weakref
from collections import defaultdict
from datetime import datetime, timedelta, timezone, tzinfo
from functools import partial
from typing import Any
from unittest.mock import Mock

import pytest

import support
from quartzite.events import (
    EVENT_JOB_ERROR,
    EVENT_JOB_EXECUTED,
    EVENT_JOB_MISSED,
    JobExecutionEvent,
    SchedulerEvent,
)
from quartzite.executors.base import (
    BaseExecutor,
    MaxInstancesReachedError,
    run_coroutine_job,
    run_job,
)
from quartzite.job import Job
from quartzite.schedulers.base import BaseScheduler
from quartzite.triggers.date import DateTrigger
from support import (
    DummyScheduler,
    FakeClock,
    OutcomeRecordingScheduler,
    install_fake_clock,
    run_slot_is_free,
)

UTC = timezone.utc
RUN_TIME = datetime(2020, 5, 17, 12, 0, tzinfo=UTC)
LOGGER_NAME = "quartzite.executors.testalias"


class RecordingLock:
    """A re-entrant lock that tells whether it is held."""

    def __init__(self) -> None:
        self.inner = threading.RLock()
        self.depth = 0

    def __enter__(self) -> RecordingLock:
        self.inner.acquire()
        self.depth += 1
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.depth -= 1
        self.inner.release()


class LockRecordingScheduler(DummyScheduler):
    def _create_lock(self) -> Any:
        lock = RecordingLock()
        self.created_locks = [*getattr(self, "created_locks", []), lock]
        return lock


class RecordingExecutor(BaseExecutor):
    """Keeps submitted jobs without running them."""

    def __init__(self) -> None:
        super().__init__()
        self.submitted: list[tuple[Job, list[datetime], int]] = []
        self.fail_with: BaseException | None = None

    def _do_submit_job(self, job: Job, run_times: list[datetime]) -> None:
        assert self._lock is not None
        self.submitted.append((job, run_times, getattr(self._lock, "depth", -1)))
        if self.fail_with is not None:
            raise self.fail_with


class Canary:
    """A weak-referenceable object for leak checks."""


def dummyfunc() -> None:
    pass


def add(a: int, b: int) -> int:
    return a + b


class CustomBaseException(BaseException):
    pass


def raise_base_exception() -> None:
    raise CustomBaseException("not an Exception")


@pytest.fixture
def scheduler() -> DummyScheduler:
    return DummyScheduler(timezone=UTC)


@pytest.fixture
def events(scheduler: DummyScheduler) -> list[SchedulerEvent]:
    received: list[SchedulerEvent] = []
    scheduler.add_listener(received.append)
    return received


@pytest.fixture
def executor(scheduler: DummyScheduler) -> RecordingExecutor:
    executor = RecordingExecutor()
    executor.start(scheduler, "testalias")
    return executor


# The job the tests submit: due at RUN_TIME, no grace time, in the store "default"
make_job = partial(
    support.make_job,
    func=dummyfunc,
    id="testjob",
    name="test job",
    trigger=DateTrigger(RUN_TIME),
    misfire_grace_time=None,
    coalesce=False,
    next_run_time=RUN_TIME,
    jobstore_alias="default",
)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    return install_fake_clock(monkeypatch, RUN_TIME)


class TestMaxInstancesReachedError:
    def test_message(self, scheduler: DummyScheduler) -> None:
        exc = MaxInstancesReachedError(make_job(scheduler, id="myjob", max_instances=2))
        assert isinstance(exc, Exception)
        assert str(exc) == 'Job "myjob" has already reached its maximum number of instances (2)'


class TestBaseExecutor:
    def test_abstract(self) -> None:
        with pytest.raises(TypeError):
            BaseExecutor()  # type: ignore[abstract]
        assert BaseExecutor.__abstractmethods__ == frozenset({"_do_submit_job"})

    def test_class_attributes(self) -> None:
        assert BaseExecutor._scheduler is None
        assert BaseExecutor._lock is None
        assert BaseExecutor._logger.name == "quartzite.executors"

    def test_instances_counter(self) -> None:
        executor = RecordingExecutor()
        assert isinstance(executor._instances, defaultdict)
        assert executor._instances == {}
        assert executor._instances["unknown"] == 0

    def test_start(self) -> None:
        scheduler = LockRecordingScheduler(timezone=UTC)
        executor = RecordingExecutor()
        executor.start(scheduler, "myalias")
        assert executor._scheduler is scheduler
        assert executor._lock is scheduler.created_locks[-1]
        assert executor._logger is logging.getLogger("quartzite.executors.myalias")

    def test_shutdown_is_a_no_op(self, executor: RecordingExecutor) -> None:
        assert executor.shutdown() is None
        assert executor.shutdown(wait=False) is None

    def test_submit_before_start(self, scheduler: DummyScheduler) -> None:
        executor = RecordingExecutor()
        with pytest.raises(AssertionError, match=r"^This executor has not been started yet$"):
            executor.submit_job(make_job(scheduler), [RUN_TIME])
        assert executor.submitted == []

    def test_submit(self, scheduler: DummyScheduler, executor: RecordingExecutor) -> None:
        job = make_job(scheduler)
        run_times = [RUN_TIME, RUN_TIME + timedelta(minutes=1)]
        executor.submit_job(job, run_times)
        assert len(executor.submitted) == 1
        assert executor.submitted[0][0] is job
        assert executor.submitted[0][1] is run_times
        assert not run_slot_is_free(executor, job, [RUN_TIME])  # max_instances=1 is taken

    def test_submit_under_lock(self) -> None:
        scheduler = LockRecordingScheduler(timezone=UTC)
        executor = RecordingExecutor()
        executor.start(scheduler, "default")
        executor.submit_job(make_job(scheduler), [RUN_TIME])
        assert executor.submitted[0][2] == 1  # the executor's lock was held
        assert scheduler.created_locks[-1].depth == 0

    def test_max_instances(self, scheduler: DummyScheduler, executor: RecordingExecutor) -> None:
        job = make_job(scheduler, max_instances=2)
        executor.submit_job(job, [RUN_TIME])
        executor.submit_job(job, [RUN_TIME])
        with pytest.raises(MaxInstancesReachedError) as exc:
            executor.submit_job(job, [RUN_TIME])
        assert str(exc.value) == (
            'Job "testjob" has already reached its maximum number of instances (2)'
        )
        assert len(executor.submitted) == 2

        executor._run_job_success("testjob", [])  # one run ended: one slot is free again
        executor.submit_job(job, [RUN_TIME])
        assert len(executor.submitted) == 3
        with pytest.raises(MaxInstancesReachedError):
            executor.submit_job(job, [RUN_TIME])

    def test_instances_counted_per_job(
        self, scheduler: DummyScheduler, executor: RecordingExecutor
    ) -> None:
        executor.submit_job(make_job(scheduler, id="a"), [RUN_TIME])
        executor.submit_job(make_job(scheduler, id="b"), [RUN_TIME])
        with pytest.raises(MaxInstancesReachedError):
            executor.submit_job(make_job(scheduler, id="a"), [RUN_TIME])
        with pytest.raises(MaxInstancesReachedError):
            executor.submit_job(make_job(scheduler, id="b"), [RUN_TIME])
        assert run_slot_is_free(executor, make_job(scheduler, id="c"), [RUN_TIME])

    def test_failed_submission_not_counted(
        self, scheduler: DummyScheduler, executor: RecordingExecutor
    ) -> None:
        executor.fail_with = RuntimeError("pool is gone")
        with pytest.raises(RuntimeError, match=r"^pool is gone$"):
            executor.submit_job(make_job(scheduler), [RUN_TIME])
        executor.fail_with = None
        assert run_slot_is_free(executor, make_job(scheduler), [RUN_TIME])
        assert not run_slot_is_free(executor, make_job(scheduler), [RUN_TIME])

    def test_run_job_success(
        self,
        scheduler: DummyScheduler,
        executor: RecordingExecutor,
        events: list[SchedulerEvent],
    ) -> None:
        executor.submit_job(make_job(scheduler), [RUN_TIME])
        job_events = [
            JobExecutionEvent(EVENT_JOB_EXECUTED, "testjob", "default", RUN_TIME, retval=1),
            JobExecutionEvent(EVENT_JOB_MISSED, "testjob", "default", RUN_TIME),
        ]
        executor._run_job_success("testjob", job_events)
        assert events == job_events
        assert run_slot_is_free(executor, make_job(scheduler), [RUN_TIME])

    def test_run_job_error(
        self,
        scheduler: DummyScheduler,
        executor: RecordingExecutor,
        events: list[SchedulerEvent],
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        executor.submit_job(make_job(scheduler), [RUN_TIME])
        try:
            raise RuntimeError("worker failed")
        except RuntimeError as exc:
            error, tb = exc, exc.__traceback__

        with caplog.at_level(logging.ERROR, logger=LOGGER_NAME):
            executor._run_job_error("testjob", error, tb)

        assert run_slot_is_free(executor, make_job(scheduler), [RUN_TIME])
        assert events == []
        records = [record for record in caplog.records if record.name == LOGGER_NAME]
        assert len(records) == 1
        assert records[0].levelno == logging.ERROR
        assert records[0].getMessage() == "Error running job testjob"
        assert records[0].exc_info is not None
        assert records[0].exc_info[1] is error
        assert records[0].exc_info[2] is tb

    def test_run_job_error_without_traceback(
        self,
        scheduler: DummyScheduler,
        executor: RecordingExecutor,
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        executor.submit_job(make_job(scheduler), [RUN_TIME])
        with caplog.at_level(logging.ERROR, logger=LOGGER_NAME):
            executor._run_job_error("testjob", RuntimeError("x"))
        assert run_slot_is_free(executor, make_job(scheduler), [RUN_TIME])
        assert caplog.records[-1].getMessage() == "Error running job testjob"


class TestOneOutcomePath:
    """Every run outcome reaches the scheduler through ``_report_run_outcome`` when its class
    has one, and through ``_dispatch_event`` otherwise."""

    def test_outcomes_go_through_report_run_outcome_when_the_scheduler_class_has_it(
        self, events: list[SchedulerEvent]
    ) -> None:
        scheduler = OutcomeRecordingScheduler(timezone=UTC)
        received: list[SchedulerEvent] = []
        scheduler.add_listener(received.append)
        executor = RecordingExecutor()
        executor.start(scheduler, "testalias")
        executor.submit_job(make_job(scheduler), [RUN_TIME])
        outcome = [
            JobExecutionEvent(EVENT_JOB_EXECUTED, "testjob", "default", RUN_TIME),
            JobExecutionEvent(EVENT_JOB_MISSED, "testjob", "default", RUN_TIME),
        ]
        executor._run_job_success("testjob", outcome)
        assert scheduler.outcomes == outcome
        assert received == outcome  # and the scheduler dispatched them

    def test_a_mock_of_base_scheduler_gets_the_events_through_dispatch_event(self) -> None:
        # Extensions test their executors against Mock(BaseScheduler) and assert on
        # _dispatch_event; the mock's instance would answer _report_run_outcome too.
        scheduler = Mock(BaseScheduler)
        scheduler._create_lock.return_value = threading.RLock()
        executor = RecordingExecutor()
        executor.start(scheduler, "testalias")
        executor.submit_job(make_job(None), [RUN_TIME])
        event = JobExecutionEvent(EVENT_JOB_ERROR, "testjob", "default", RUN_TIME)
        executor._run_job_success("testjob", [event])
        scheduler._dispatch_event.assert_called_once_with(event)
        scheduler._report_run_outcome.assert_not_called()

    def test_a_scheduler_without_report_run_outcome_gets_the_events_dispatched(self) -> None:
        class OldStyleScheduler:
            """Only what an APScheduler 3.x-era scheduler offers an executor."""

            def __init__(self) -> None:
                self.dispatched: list[Any] = []

            def _create_lock(self) -> Any:
                return threading.RLock()

            def _dispatch_event(self, event: Any) -> None:
                self.dispatched.append(event)

        scheduler = OldStyleScheduler()
        executor = RecordingExecutor()
        executor.start(scheduler, "testalias")  # type: ignore[arg-type]
        executor.submit_job(make_job(None), [RUN_TIME])
        event = JobExecutionEvent(EVENT_JOB_EXECUTED, "testjob", "default", RUN_TIME)
        executor._run_job_success("testjob", [event])
        assert scheduler.dispatched == [event]

    def test_an_executor_that_was_never_started_drops_outcomes_quietly(self) -> None:
        executor = RecordingExecutor()
        event = JobExecutionEvent(EVENT_JOB_EXECUTED, "testjob", "default", RUN_TIME)
        executor._report_outcome(event)  # nothing to report to: no error


class TestRunJob:
    def test_executed(self, scheduler: DummyScheduler) -> None:
        job = make_job(scheduler, func=add, args=[1], kwargs={"b": 2})
        events = run_job(job, "store", [RUN_TIME], LOGGER_NAME)
        assert len(events) == 1
        event = events[0]
        assert isinstance(event, JobExecutionEvent)
        assert event.code == EVENT_JOB_EXECUTED
        assert event.job_id == "testjob"
        assert event.jobstore == "store"
        assert event.scheduled_run_time == RUN_TIME
        assert event.retval == 3
        assert event.exception is None
        assert event.traceback is None

    def test_one_event_per_run_time(self, scheduler: DummyScheduler) -> None:
        calls: list[int] = []
        run_times = [RUN_TIME + timedelta(minutes=minutes) for minutes in range(3)]
        job = make_job(scheduler, func=calls.append, args=[7], name="append")
        events = run_job(job, "default", run_times, LOGGER_NAME)
        assert calls == [7, 7, 7]
        assert [event.scheduled_run_time for event in events] == run_times
        assert [event.code for event in events] == [EVENT_JOB_EXECUTED] * 3

    def test_no_run_times(self, scheduler: DummyScheduler) -> None:
        assert run_job(make_job(scheduler), "default", [], LOGGER_NAME) == []

    def test_logging(self, scheduler: DummyScheduler, caplog: pytest.LogCaptureFixture) -> None:
        job = make_job(scheduler)
        with caplog.at_level(logging.INFO, logger=LOGGER_NAME):
            run_job(job, "default", [RUN_TIME], LOGGER_NAME)
        assert [
            (record.name, record.levelno, record.getMessage()) for record in caplog.records
        ] == [
            (
                LOGGER_NAME,
                logging.INFO,
                f'Running job "{job}" (scheduled at 2020-05-17 12:00:00+00:00)',
            ),
            (LOGGER_NAME, logging.INFO, f'Job "{job}" executed successfully'),
        ]

    def test_error(self, scheduler: DummyScheduler, caplog: pytest.LogCaptureFixture) -> None:
        job = make_job(scheduler, func=add, args=[1, "x"])
        with caplog.at_level(logging.INFO, logger=LOGGER_NAME):
            events = run_job(job, "default", [RUN_TIME], LOGGER_NAME)

        assert len(events) == 1
        event = events[0]
        assert event.code == EVENT_JOB_ERROR
        assert event.job_id == "testjob"
        assert event.jobstore == "default"
        assert event.scheduled_run_time == RUN_TIME
        assert event.retval is None
        assert isinstance(event.exception, TypeError)
        assert isinstance(event.traceback, str)
        assert event.traceback == "".join(traceback.format_tb(event.exception.__traceback__))
        assert "return a + b" in event.traceback
        assert "in add" in event.traceback

        errors = [record for record in caplog.records if record.levelno >= logging.ERROR]
        assert len(errors) == 1
        assert errors[0].name == LOGGER_NAME
        assert errors[0].getMessage() == f'Job "{job}" raised an exception'
        assert errors[0].exc_info is not None
        assert errors[0].exc_info[1] is event.exception

    def test_base_exception_caught(self, scheduler: DummyScheduler) -> None:
        job = make_job(scheduler, func=raise_base_exception)
        events = run_job(job, "default", [RUN_TIME], LOGGER_NAME)
        assert events[0].code == EVENT_JOB_ERROR
        assert isinstance(events[0].exception, CustomBaseException)

    def test_error_does_not_stop_other_run_times(self, scheduler: DummyScheduler) -> None:
        outcomes = iter([ValueError("first"), None])

        def flaky() -> str:
            outcome = next(outcomes)
            if outcome is not None:
                raise outcome
            return "ok"

        job = make_job(scheduler, func=flaky)
        events = run_job(job, "default", [RUN_TIME, RUN_TIME], LOGGER_NAME)
        assert [event.code for event in events] == [EVENT_JOB_ERROR, EVENT_JOB_EXECUTED]
        assert events[1].retval == "ok"

    def test_error_frames_cleared(self, scheduler: DummyScheduler) -> None:
        """The error event keeps the exception, but not the locals of the job's frames."""
        references: list[weakref.ref[Canary]] = []

        def leaky_job() -> None:
            local_object = Canary()
            references.append(weakref.ref(local_object))
            raise RuntimeError("boom")

        events = run_job(make_job(scheduler, func=leaky_job), "default", [RUN_TIME], LOGGER_NAME)
        gc.collect()
        assert events[0].exception.__traceback__ is not None
        assert "leaky_job" in events[0].traceback
        assert references[0]() is None

    def test_error_frames_cleared_in_nested_calls(self, scheduler: DummyScheduler) -> None:
        references: list[weakref.ref[Canary]] = []

        def inner(argument: Canary) -> None:
            inner_local = Canary()
            references.append(weakref.ref(inner_local))
            raise RuntimeError("deep")

        def outer() -> None:
            outer_local = Canary()
            references.append(weakref.ref(outer_local))
            inner(outer_local)

        events = run_job(make_job(scheduler, func=outer), "default", [RUN_TIME], LOGGER_NAME)
        gc.collect()
        assert len(references) == 2
        assert [reference() for reference in references] == [None, None]
        assert "in inner" in events[0].traceback
        assert "in outer" in events[0].traceback


class TestMisfire:
    def test_missed(
        self,
        scheduler: DummyScheduler,
        clock: FakeClock,
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        calls: list[int] = []
        job = make_job(scheduler, func=calls.append, args=[1], misfire_grace_time=1)
        clock.set(RUN_TIME + timedelta(seconds=2))
        with caplog.at_level(logging.INFO, logger=LOGGER_NAME):
            events = run_job(job, "store", [RUN_TIME], LOGGER_NAME)

        assert calls == []
        assert len(events) == 1
        event = events[0]
        assert event.code == EVENT_JOB_MISSED
        assert event.job_id == "testjob"
        assert event.jobstore == "store"
        assert event.scheduled_run_time == RUN_TIME
        assert (event.retval, event.exception, event.traceback) == (None, None, None)
        assert [(record.levelno, record.getMessage()) for record in caplog.records] == [
            (logging.WARNING, f'Run time of job "{job}" was missed by 0:00:02')
        ]

    def test_grace_time_boundary(self, scheduler: DummyScheduler, clock: FakeClock) -> None:
        job = make_job(scheduler, misfire_grace_time=5)
        clock.set(RUN_TIME + timedelta(seconds=5))
        assert run_job(job, "default", [RUN_TIME], LOGGER_NAME)[0].code == EVENT_JOB_EXECUTED
        clock.set(RUN_TIME + timedelta(seconds=5, microseconds=1))
        assert run_job(job, "default", [RUN_TIME], LOGGER_NAME)[0].code == EVENT_JOB_MISSED

    def test_early_run_time_not_missed(self, scheduler: DummyScheduler, clock: FakeClock) -> None:
        job = make_job(scheduler, misfire_grace_time=1)
        clock.set(RUN_TIME - timedelta(hours=1))
        assert run_job(job, "default", [RUN_TIME], LOGGER_NAME)[0].code == EVENT_JOB_EXECUTED

    def test_no_grace_time_never_missed(self, scheduler: DummyScheduler, clock: FakeClock) -> None:
        job = make_job(scheduler, misfire_grace_time=None)
        clock.set(RUN_TIME + timedelta(days=365))
        assert run_job(job, "default", [RUN_TIME], LOGGER_NAME)[0].code == EVENT_JOB_EXECUTED

    def test_clock_read_in_utc(self, scheduler: DummyScheduler, clock: FakeClock) -> None:
        asked: list[tzinfo | None] = []
        original_now = clock.now

        def now(tz: tzinfo | None = None) -> datetime:
            asked.append(tz)
            return original_now(tz)

        clock.now = now  # type: ignore[method-assign]
        run_job(make_job(scheduler, misfire_grace_time=1), "default", [RUN_TIME], LOGGER_NAME)
        assert len(asked) == 1
        assert asked[0] is not None
        assert asked[0].utcoffset(None) == timedelta(0)

    def test_mixed_run_times(self, scheduler: DummyScheduler, clock: FakeClock) -> None:
        calls: list[int] = []
        job = make_job(scheduler, func=calls.append, args=[1], misfire_grace_time=10)
        clock.set(RUN_TIME + timedelta(seconds=30))
        run_times = [RUN_TIME, RUN_TIME + timedelta(seconds=25)]
        events = run_job(job, "default", run_times, LOGGER_NAME)
        assert [event.code for event in events] == [EVENT_JOB_MISSED, EVENT_JOB_EXECUTED]
        assert [event.scheduled_run_time for event in events] == run_times
        assert calls == [1]

    def test_run_time_in_other_zone(self, scheduler: DummyScheduler, clock: FakeClock) -> None:
        from zoneinfo import ZoneInfo

        job = make_job(scheduler, misfire_grace_time=3)
        run_time = RUN_TIME.astimezone(ZoneInfo("Asia/Tokyo"))
        clock.set(RUN_TIME + timedelta(seconds=2))
        assert run_job(job, "default", [run_time], LOGGER_NAME)[0].code == EVENT_JOB_EXECUTED


class TestRunCoroutineJob:
    def test_executed(self, scheduler: DummyScheduler) -> None:
        async def coro(value: int) -> int:
            await asyncio.sleep(0)
            return value * 2

        job = make_job(scheduler, func=coro, args=[21])
        events = asyncio.run(run_coroutine_job(job, "store", [RUN_TIME, RUN_TIME], LOGGER_NAME))
        assert [(event.code, event.retval, event.jobstore) for event in events] == [
            (EVENT_JOB_EXECUTED, 42, "store"),
            (EVENT_JOB_EXECUTED, 42, "store"),
        ]

    def test_error(self, scheduler: DummyScheduler) -> None:
        references: list[weakref.ref[Canary]] = []

        async def failing() -> None:
            local_object = Canary()
            references.append(weakref.ref(local_object))
            raise ValueError("async boom")

        job = make_job(scheduler, func=failing)
        events = asyncio.run(run_coroutine_job(job, "default", [RUN_TIME], LOGGER_NAME))
        gc.collect()
        assert events[0].code == EVENT_JOB_ERROR
        assert str(events[0].exception) == "async boom"
        assert "in failing" in events[0].traceback
        assert references[0]() is None

    def test_missed(self, scheduler: DummyScheduler, clock: FakeClock) -> None:
        calls: list[int] = []

        async def record() -> None:
            calls.append(1)

        job = make_job(scheduler, func=record, misfire_grace_time=1)
        clock.set(RUN_TIME + timedelta(seconds=2))
        events = asyncio.run(run_coroutine_job(job, "default", [RUN_TIME], LOGGER_NAME))
        assert [event.code for event in events] == [EVENT_JOB_MISSED]
        assert calls == []
