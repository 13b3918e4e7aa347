"""The processing loop, ``BaseScheduler._process_jobs()``, on the fake clock (API contract §2.6)."""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone
from typing import Any
from unittest import mock
from zoneinfo import ZoneInfo

import pytest

from quartzite.events import (
    EVENT_JOB_ERROR,
    EVENT_JOB_EXECUTED,
    EVENT_JOB_MAX_INSTANCES,
    EVENT_JOB_MISSED,
    EVENT_JOB_REMOVED,
    EVENT_JOB_SUBMITTED,
    JobExecutionEvent,
    JobSubmissionEvent,
)
from quartzite.executors.base import BaseExecutor
from quartzite.job import Job
from quartzite.jobstores.memory import MemoryJobStore
from quartzite.schedulers.base import STATE_PAUSED
from support import DummyScheduler, EventRecorder

BERLIN = ZoneInfo("Europe/Berlin")
UTC = dt_timezone.utc
NOW = datetime(2021, 6, 1, 12, 0, tzinfo=BERLIN)  # the fake clock's start


def at(hour: int, minute: int, second: int = 0) -> datetime:
    """A time on the fake clock's day, in Berlin."""
    return datetime(2021, 6, 1, hour, minute, second, tzinfo=BERLIN)


class Calls:
    """A job function that records its calls."""

    def __init__(self) -> None:
        self.calls: list[Any] = []

    def __call__(self, *args: Any) -> str:
        self.calls.append(args)
        return "result"


class HoldingExecutor(BaseExecutor):
    """Accepts jobs and never finishes them, so their instances stay counted."""

    def __init__(self) -> None:
        super().__init__()
        self.submitted: list[tuple[str, list[datetime]]] = []

    def _do_submit_job(self, job: Job, run_times: list[datetime]) -> None:
        self.submitted.append((job.id, run_times))


class RaisingExecutor(BaseExecutor):
    def _do_submit_job(self, job: Job, run_times: list[datetime]) -> None:
        raise RuntimeError("cannot submit")


class BrokenStore(MemoryJobStore):
    def get_due_jobs(self, now: datetime) -> list[Job]:
        raise RuntimeError("boom")


class NeverDueStore(MemoryJobStore):
    """Reports a next run time but never returns it as due (like a store lagging behind)."""

    def get_due_jobs(self, now: datetime) -> list[Job]:
        return []


def emitted(caplog: pytest.LogCaptureFixture, level: int = logging.NOTSET) -> list[str]:
    """The log messages as formatted when emitted (``caplog.messages`` formats them again, later,
    when the job in the arguments has been rescheduled already)."""
    return [record.message for record in caplog.records if record.levelno >= level]


def summary(recorder: EventRecorder) -> list[tuple[Any, ...]]:
    """The job events as tuples: (code, job id, store, run time(s))."""
    result: list[tuple[Any, ...]] = []
    for event in recorder.events:
        if isinstance(event, JobSubmissionEvent):
            result.append((event.code, event.job_id, event.jobstore, event.scheduled_run_times))
        elif isinstance(event, JobExecutionEvent):
            result.append((event.code, event.job_id, event.jobstore, event.scheduled_run_time))
        elif hasattr(event, "job_id"):
            result.append((event.code, event.job_id, event.jobstore))
    return result


@pytest.fixture
def started(scheduler: DummyScheduler, recorder: EventRecorder) -> DummyScheduler:
    scheduler.start()
    recorder.clear()
    return scheduler


def add_interval_job(scheduler: DummyScheduler, func: Any, **options: Any) -> Job:
    """A job every 10 minutes from 12:05 (5 minutes after the clock's start)."""
    options.setdefault("id", "job")
    return scheduler.add_job(func, "interval", minutes=10, start_date=at(12, 5), **options)


def test_paused_scheduler_processes_nothing(
    scheduler: DummyScheduler, caplog: pytest.LogCaptureFixture
) -> None:
    func = Calls()
    scheduler.start(paused=True)
    scheduler.add_job(func)  # due now
    caplog.set_level(logging.DEBUG, "quartzite.scheduler")

    assert scheduler._process_jobs() is None
    assert func.calls == []
    assert "Scheduler is paused -- not processing jobs" in caplog.messages


def test_no_jobs(started: DummyScheduler) -> None:
    assert started._process_jobs() is None


def test_nothing_due_returns_seconds_to_next_run(started: DummyScheduler) -> None:
    func = Calls()
    add_interval_job(started, func)
    wait = started._process_jobs()
    assert wait == 300.0
    assert isinstance(wait, float)
    assert func.calls == []


def test_due_job_is_submitted_and_rescheduled(
    started: DummyScheduler, recorder: EventRecorder, freeze_time: Any
) -> None:
    func = Calls()
    job = add_interval_job(started, func, args=[1])
    recorder.clear()
    freeze_time.advance(minutes=5)

    assert started._process_jobs() == 600.0
    assert func.calls == [(1,)]
    assert job.next_run_time == at(12, 15)
    assert started._jobstores["default"].get_next_run_time() == at(12, 15)
    assert summary(recorder) == [
        (EVENT_JOB_EXECUTED, "job", "default", at(12, 5)),
        (EVENT_JOB_SUBMITTED, "job", "default", [at(12, 5)]),
    ]
    assert recorder.events[0].retval == "result"  # type: ignore[attr-defined]


class LegacyPathStore(MemoryJobStore):
    """A store written for APScheduler 3.x's path: overriding ``get_due_jobs`` keeps it there."""

    def get_due_jobs(self, now: datetime) -> list[Job]:
        return super().get_due_jobs(now)


def test_next_run_time_update_is_one_modify_and_one_store_update(
    scheduler: DummyScheduler, freeze_time: Any
) -> None:
    # The contract's path (get_due_jobs, then update_job), taken by stores that do not claim.
    scheduler.add_jobstore(LegacyPathStore(), "default")
    scheduler.start()
    started = scheduler
    job = add_interval_job(started, Calls())
    freeze_time.advance(minutes=5)
    store = started._jobstores["default"]
    with (
        mock.patch.object(Job, "_modify", autospec=True, side_effect=Job._modify) as modify,
        mock.patch.object(store, "update_job", wraps=store.update_job) as update_job,
    ):
        started._process_jobs()

    modify.assert_called_once_with(job, next_run_time=at(12, 15))
    update_job.assert_called_once_with(job)


def test_finished_job_is_removed(started: DummyScheduler, recorder: EventRecorder) -> None:
    func = Calls()
    started.add_job(func, "date", run_date=NOW, id="once")
    recorder.clear()

    assert started._process_jobs() is None
    assert func.calls == [()]
    assert started.get_jobs() == []
    # with the DebugExecutor the job runs inside submit_job; the removal is dispatched at once,
    # the submission events after every store has been processed
    assert summary(recorder) == [
        (EVENT_JOB_EXECUTED, "once", "default", NOW),
        (EVENT_JOB_REMOVED, "once", "default"),
        (EVENT_JOB_SUBMITTED, "once", "default", [NOW]),
    ]


def test_submission_events_come_after_all_stores(
    scheduler: DummyScheduler, recorder: EventRecorder
) -> None:
    scheduler.add_jobstore(MemoryJobStore(), "first")
    scheduler.start()  # adds "default" after "first"
    scheduler.add_job(Calls(), id="a", jobstore="first")
    scheduler.add_job(Calls(), id="b")
    recorder.clear()

    scheduler._process_jobs()

    assert summary(recorder) == [
        (EVENT_JOB_EXECUTED, "a", "first", NOW),
        (EVENT_JOB_REMOVED, "a", "first"),
        (EVENT_JOB_EXECUTED, "b", "default", NOW),
        (EVENT_JOB_REMOVED, "b", "default"),
        (EVENT_JOB_SUBMITTED, "a", "first", [NOW]),
        (EVENT_JOB_SUBMITTED, "b", "default", [NOW]),
    ]


def test_coalesce_runs_once_for_the_latest_missed_time(
    started: DummyScheduler, recorder: EventRecorder, freeze_time: Any
) -> None:
    func = Calls()
    job = add_interval_job(started, func, coalesce=True, misfire_grace_time=300)
    recorder.clear()
    freeze_time.set(at(12, 37))  # 12:05, 12:15, 12:25 and 12:35 are due

    assert started._process_jobs() == 480.0
    assert func.calls == [()]
    assert job.next_run_time == at(12, 45)
    # the runs folded into the batch produce no events
    assert summary(recorder) == [
        (EVENT_JOB_EXECUTED, "job", "default", at(12, 35)),
        (EVENT_JOB_SUBMITTED, "job", "default", [at(12, 35)]),
    ]


def test_without_coalesce_every_missed_time_runs(
    started: DummyScheduler, recorder: EventRecorder, freeze_time: Any
) -> None:
    func = Calls()
    job = add_interval_job(started, func, coalesce=False, misfire_grace_time=None)
    recorder.clear()
    freeze_time.set(at(12, 37))

    assert started._process_jobs() == 480.0
    run_times = [at(12, 5), at(12, 15), at(12, 25), at(12, 35)]
    assert len(func.calls) == 4
    assert job.next_run_time == at(12, 45)
    assert summary(recorder) == [
        *[(EVENT_JOB_EXECUTED, "job", "default", run_time) for run_time in run_times],
        (EVENT_JOB_SUBMITTED, "job", "default", run_times),
    ]


def test_misfire_grace_time(
    started: DummyScheduler,
    recorder: EventRecorder,
    freeze_time: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    func = Calls()
    job = add_interval_job(started, func, coalesce=False, misfire_grace_time=300, name="late")
    recorder.clear()
    freeze_time.set(at(12, 27))  # 12:05 and 12:15 are missed by more than 5 minutes
    caplog.set_level(logging.WARNING, "quartzite.executors.default")

    started._process_jobs()

    assert len(func.calls) == 1
    assert summary(recorder) == [
        (EVENT_JOB_MISSED, "job", "default", at(12, 5)),
        (EVENT_JOB_MISSED, "job", "default", at(12, 15)),
        (EVENT_JOB_EXECUTED, "job", "default", at(12, 25)),
        (EVENT_JOB_SUBMITTED, "job", "default", [at(12, 5), at(12, 15), at(12, 25)]),
    ]
    assert job.next_run_time == at(12, 35)
    # The memory store claims: the job is advanced (to 12:35) when taken, before it runs.
    assert emitted(caplog, logging.WARNING) == [
        'Run time of job "late (trigger: interval[0:10:00], next run at: 2021-06-01 12:35:00 '
        'CEST)" was missed by 0:22:00',
        'Run time of job "late (trigger: interval[0:10:00], next run at: 2021-06-01 12:35:00 '
        'CEST)" was missed by 0:12:00',
    ]


def test_max_instances(
    started: DummyScheduler,
    recorder: EventRecorder,
    freeze_time: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    executor = HoldingExecutor()
    started.add_executor(executor, "holding")
    job = add_interval_job(started, Calls(), executor="holding", max_instances=1, name="slow")
    freeze_time.set(at(12, 5))
    started._process_jobs()
    assert executor.submitted == [("job", [at(12, 5)])]
    recorder.clear()
    freeze_time.set(at(12, 15))
    caplog.set_level(logging.WARNING, "quartzite.scheduler")

    assert started._process_jobs() == 600.0

    assert executor.submitted == [("job", [at(12, 5)])]
    assert summary(recorder) == [(EVENT_JOB_MAX_INSTANCES, "job", "default", [at(12, 15)])]
    assert job.next_run_time == at(12, 25)  # rescheduled all the same
    assert emitted(caplog) == [
        'Execution of job "slow (trigger: interval[0:10:00], next run at: 2021-06-01 12:25:00 '
        'CEST)" skipped: maximum number of running instances reached (1)'
    ]


def test_executor_lookup_failure_removes_job(
    started: DummyScheduler, recorder: EventRecorder, caplog: pytest.LogCaptureFixture
) -> None:
    # A row written by another process: jobs added here are refused at once (test_jobs.py).
    started.add_executor(HoldingExecutor(), "nonexistent")
    started.add_job(Calls(), "date", run_date=NOW, id="job", name="lost", executor="nonexistent")
    started.remove_executor("nonexistent")
    recorder.clear()
    caplog.set_level(logging.WARNING, "quartzite.scheduler")

    assert started._process_jobs() is None

    assert started.get_jobs() == []
    assert summary(recorder) == [(EVENT_JOB_REMOVED, "job", "default")]
    assert [(r.levelno, r.message) for r in caplog.records] == [
        (
            logging.ERROR,
            'Executor lookup ("nonexistent") failed for job "lost (trigger: date[2021-06-01 '
            '12:00:00 CEST], next run at: 2021-06-01 12:00:00 CEST)" -- removing it from the '
            "job store",
        ),
        (logging.WARNING, "The executors of this scheduler are: 'default'"),
    ]


def test_submission_error_is_logged(
    started: DummyScheduler,
    recorder: EventRecorder,
    freeze_time: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    started.add_executor(RaisingExecutor(), "raising")
    job = add_interval_job(started, Calls(), executor="raising", name="doomed")
    started.add_job(Calls(), "date", run_date=at(12, 5), id="once", executor="raising")
    recorder.clear()
    freeze_time.set(at(12, 5))
    caplog.set_level(logging.ERROR, "quartzite.scheduler")

    assert started._process_jobs() == 600.0

    # no submission event; the interval job is rescheduled, the date job removed
    assert summary(recorder) == [(EVENT_JOB_REMOVED, "once", "default")]
    assert job.next_run_time == at(12, 15)
    assert started.get_jobs() == [job]
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert errors[0].message == (
        'Error submitting job "doomed (trigger: interval[0:10:00], next run at: 2021-06-01 '
        '12:15:00 CEST)" to executor "raising"'
    )
    assert errors[0].exc_info is not None
    assert isinstance(errors[0].exc_info[1], RuntimeError)


def test_failing_job_store_is_retried_later(
    freeze_time: Any, timezone: Any, caplog: pytest.LogCaptureFixture
) -> None:
    scheduler = DummyScheduler(timezone=timezone, jobstore_retry_interval=7)
    scheduler.add_jobstore(BrokenStore(), "broken")
    scheduler.start()
    func = Calls()
    scheduler.add_job(func, id="due")  # in "default", after the broken store
    caplog.set_level(logging.WARNING, "quartzite.scheduler")

    assert scheduler._process_jobs() == 7.0
    assert func.calls == [()]  # the other stores are still processed
    assert caplog.messages == ["Error getting due jobs from job store 'broken': boom"]


def test_failing_job_store_retry_vs_earlier_job(freeze_time: Any, timezone: Any) -> None:
    scheduler = DummyScheduler(timezone=timezone, jobstore_retry_interval="400")
    scheduler.add_jobstore(BrokenStore(), "broken")
    scheduler.start()
    add_interval_job(scheduler, Calls())  # next run in 300 s, earlier than the retry
    assert scheduler._process_jobs() == 300.0


def test_wait_is_the_earliest_over_all_stores(scheduler: DummyScheduler) -> None:
    scheduler.add_jobstore(MemoryJobStore(), "other")
    scheduler.start()
    scheduler.add_job(Calls(), "date", run_date=at(12, 5))
    scheduler.add_job(Calls(), "date", run_date=at(12, 3), jobstore="other")
    scheduler.add_job(Calls(), "date", run_date=at(12, 4))
    assert scheduler._process_jobs() == 180.0


def test_wait_is_at_least_zero(scheduler: DummyScheduler) -> None:
    scheduler.add_jobstore(NeverDueStore(), "lagging")
    scheduler.start()
    scheduler.add_job(Calls(), "date", run_date=at(11, 0), jobstore="lagging")
    assert scheduler._process_jobs() == 0


def test_wait_is_at_most_timeout_max(started: DummyScheduler) -> None:
    started.add_job(Calls(), "date", run_date="2999-01-01 00:00:00")
    assert started._process_jobs() == threading.TIMEOUT_MAX


def test_paused_jobs_do_not_count(started: DummyScheduler) -> None:
    add_interval_job(started, Calls(), next_run_time=None)
    assert started._process_jobs() is None


def test_scheduler_paused_by_a_job_returns_none(started: DummyScheduler) -> None:
    job = add_interval_job(started, started.pause, next_run_time=NOW)
    assert started._process_jobs() is None
    assert started.state == STATE_PAUSED
    assert job.next_run_time == at(12, 10)


def test_raising_job_produces_error_event(started: DummyScheduler, recorder: EventRecorder) -> None:
    def failing() -> None:
        raise ValueError("job failed")

    started.add_job(failing, id="failing")
    recorder.clear()
    started._process_jobs()

    assert [e.code for e in recorder.events] == [
        EVENT_JOB_ERROR,
        EVENT_JOB_REMOVED,
        EVENT_JOB_SUBMITTED,
    ]
    error = recorder.events[0]
    assert isinstance(error.exception, ValueError)  # type: ignore[attr-defined]
    assert "job failed" in str(error.exception)  # type: ignore[attr-defined]
    assert "in failing" in error.traceback  # type: ignore[attr-defined]


def test_run_times_are_ordered_in_utc_across_a_dst_fold(
    scheduler: DummyScheduler, recorder: EventRecorder, freeze_time: Any
) -> None:
    # Berlin, 2021-10-31: 02:00-03:00 happens twice (CEST, fold 0, then CET, fold 1)
    freeze_time.set(datetime(2021, 10, 31, 0, 20, tzinfo=UTC))  # 02:20 CEST
    scheduler.start()
    func = Calls()
    job = scheduler.add_job(
        func,
        "interval",
        minutes=30,
        start_date=datetime(2021, 10, 31, 0, 30, tzinfo=UTC),
        id="job",
        coalesce=False,
        misfire_grace_time=None,
    )
    first = job.next_run_time
    assert (first.hour, first.minute, first.fold) == (2, 30, 0)  # type: ignore[union-attr]
    recorder.clear()

    # 02:10 CET (fold 1) is later than 02:30 CEST although its wall time is earlier
    freeze_time.set(datetime(2021, 10, 31, 1, 10, tzinfo=UTC))
    assert scheduler._process_jobs() == 1200.0

    run_times = summary(recorder)[-1][3]
    assert [(t.hour, t.minute, t.fold) for t in run_times] == [(2, 30, 0), (2, 0, 1)]
    assert [t.astimezone(UTC) for t in run_times] == [
        datetime(2021, 10, 31, 0, 30, tzinfo=UTC),
        datetime(2021, 10, 31, 1, 0, tzinfo=UTC),
    ]
    assert len(func.calls) == 2
    nxt = job.next_run_time
    assert (nxt.hour, nxt.minute, nxt.fold) == (2, 30, 1)  # type: ignore[union-attr]


def test_wait_is_elapsed_time_across_a_dst_fold(
    scheduler: DummyScheduler, freeze_time: Any
) -> None:
    freeze_time.set(datetime(2021, 10, 31, 0, 50, tzinfo=UTC))  # 02:50 CEST (fold 0)
    scheduler.start()
    # 01:10 UTC = 02:10 CET (fold 1): 20 minutes ahead, but 40 minutes "behind" on the wall
    scheduler.add_job(Calls(), "date", run_date=datetime(2021, 10, 31, 1, 10, tzinfo=UTC))
    assert scheduler._process_jobs() == 1200.0


def test_wait_from_store_is_expressed_in_scheduler_timezone(
    started: DummyScheduler, freeze_time: Any
) -> None:
    started.add_job(Calls(), "date", run_date=datetime(2021, 6, 1, 10, 30, tzinfo=UTC))
    assert started._process_jobs() == 1800.0


def test_processing_uses_the_scheduler_clock(started: DummyScheduler, freeze_time: Any) -> None:
    func = Calls()
    started.add_job(func, "date", run_date=at(12, 0, 1))
    assert started._process_jobs() == 1.0
    freeze_time.advance(timedelta(seconds=1))
    assert started._process_jobs() is None
    assert func.calls == [()]
