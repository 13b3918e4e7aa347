"""Run records through the scheduler: history, run-now, recovery, outcomes written in batches.

The scheduler is driven by hand on the fake clock (``DummyScheduler`` with the synchronous
``DebugExecutor``) over the memory store, which claims like the shared stores do; the same
behaviour over SQL and Redis is covered by ``tests/jobstores/test_claim_contract.py`` and, with
several processes, by ``tests/cluster``.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from typing import Any

import pytest

from quartzite.events import (
    EVENT_ALL,
    EVENT_JOB_ADDED,
    EVENT_JOB_EXECUTED,
    EVENT_JOB_RECOVERED,
    EVENT_JOB_SUBMITTED,
    JobRecoveryEvent,
)
from quartzite.executors.base import BaseExecutor
from quartzite.job import Job
from quartzite.jobstores.base import JobLookupError
from quartzite.jobstores.memory import MemoryJobStore
from quartzite.runs import JobRun, RunStatus, current_run
from support import DummyScheduler

NOW = datetime(2021, 6, 1, 12, 0)


class Failing:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self) -> None:
        self.calls += 1
        raise ValueError("bad input 42")


class HoldingExecutor(BaseExecutor):
    """Accepts runs and never finishes them (they stay in progress)."""

    def __init__(self) -> None:
        super().__init__()
        self.submitted: list[tuple[str, list[datetime]]] = []

    def _do_submit_job(self, job: Job, run_times: list[datetime]) -> None:
        self.submitted.append((job.id, run_times))


@pytest.fixture
def started(scheduler: DummyScheduler) -> DummyScheduler:
    scheduler.start()
    return scheduler


def statuses(runs: list[JobRun]) -> list[str]:
    return [run.status.value for run in runs]


# ------------------------------------------------------------------------------ outcomes


def test_a_successful_run_is_recorded_with_its_return_value(
    started: DummyScheduler, freeze_time: Any
) -> None:
    started.add_job("builtins:pow", "interval", minutes=10, args=(2, 10), id="pow")
    freeze_time.advance(minutes=10)
    started._process_jobs()

    [run] = started.get_job_runs("pow")
    assert run.status is RunStatus.SUCCESS
    assert run.return_value == 1024
    assert run.scheduler_id == started.scheduler_id
    assert run.jobstore == "default"
    assert run.attempt == 1 and not run.recovered and not run.manual
    assert run.scheduled_run_time == freeze_time.now(started.timezone)
    assert run.scheduled_run_time.tzinfo is not None
    assert run.duration is not None and run.duration >= 0


def test_an_error_is_recorded_with_its_exception_and_traceback(
    started: DummyScheduler, freeze_time: Any
) -> None:
    started.add_job(Failing(), "interval", minutes=10, id="failing")
    freeze_time.advance(minutes=10)
    started._process_jobs()

    [run] = started.get_job_runs("failing")
    assert run.status is RunStatus.ERROR
    assert run.exception_type == "builtins.ValueError"
    assert run.exception_message == "bad input 42"
    assert run.traceback is not None
    assert "__call__" in run.traceback


def test_a_run_too_late_is_recorded_as_missed(started: DummyScheduler, freeze_time: Any) -> None:
    started.add_job(
        "builtins:len", "interval", minutes=10, args=("x",), id="late", misfire_grace_time=5
    )
    freeze_time.advance(minutes=10, seconds=30)
    started._process_jobs()
    assert statuses(started.get_job_runs("late")) == ["missed"]


def test_a_run_beyond_max_instances_is_recorded_as_such(
    started: DummyScheduler, freeze_time: Any
) -> None:
    holding = HoldingExecutor()
    started.add_executor(holding, "holding")
    started.add_job(
        "builtins:len", "interval", minutes=10, args=("x",), id="slow", executor="holding"
    )
    freeze_time.advance(minutes=10)
    started._process_jobs()
    freeze_time.advance(minutes=10)
    started._process_jobs()

    assert statuses(started.get_job_runs("slow")) == ["max_instances", "running"]
    assert len(holding.submitted) == 1


def test_history_outlives_its_job(started: DummyScheduler, freeze_time: Any) -> None:
    started.add_job(
        "builtins:len", "date", run_date=NOW + timedelta(minutes=1), args=("x",), id="once"
    )
    freeze_time.advance(minutes=1)
    started._process_jobs()
    assert started.get_job("once") is None
    assert statuses(started.get_job_runs("once")) == ["success"]


def test_runs_are_listed_newest_first_and_filtered(
    started: DummyScheduler, freeze_time: Any
) -> None:
    started.add_job("builtins:len", "interval", minutes=1, args=("x",), id="a")
    started.add_job(Failing(), "interval", minutes=1, id="b")
    for _ in range(3):
        freeze_time.advance(minutes=1)
        started._process_jobs()

    everything = started.get_job_runs()
    assert len(everything) == 6
    times = [run.scheduled_run_time for run in everything]
    assert times == sorted(times, reverse=True)
    assert {run.job_id for run in started.get_job_runs(status="error")} == {"b"}
    assert len(started.get_job_runs(status=[RunStatus.ERROR, RunStatus.SUCCESS], limit=4)) == 4
    since = freeze_time.now(started.timezone) - timedelta(minutes=1)
    assert len(started.get_job_runs("a", since=since)) == 2
    assert len(started.get_job_runs("a", since=since.replace(tzinfo=None))) == 2  # naive: local
    assert started.get_job("a").get_runs(limit=1)[0].job_id == "a"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("filters", "message"),
    [
        ({"status": "done"}, "unknown run status 'done'"),
        ({"limit": 0}, "limit must be None or an int >= 1, got 0"),
        ({"limit": True}, "limit must be None or an int >= 1, got True"),
        ({"since": "yesterday"}, "yesterday"),
    ],
)
def test_bad_filters_are_refused_with_a_clear_message(
    started: DummyScheduler, filters: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        started.get_job_runs(**filters)


def test_an_unknown_store_is_named(started: DummyScheduler) -> None:
    with pytest.raises(KeyError, match="nowhere"):
        started.get_job_runs(jobstore="nowhere")


def test_history_needs_a_started_scheduler(scheduler: DummyScheduler) -> None:
    with pytest.raises(RuntimeError, match=r"start\(paused=True\)"):
        scheduler.get_job_runs()
    with pytest.raises(RuntimeError, match="must have been started"):
        scheduler.run_job_now("x")


# ------------------------------------------------------------------------------ run-now


def test_run_now_runs_once_without_moving_the_schedule(
    started: DummyScheduler, freeze_time: Any
) -> None:
    job = started.add_job("builtins:len", "interval", hours=1, args=("xyz",), id="hourly")
    next_run_time = job.next_run_time

    record = started.run_job_now("hourly")
    assert record.status is RunStatus.PENDING and record.manual
    assert record.jobstore == "default"
    started._process_jobs()
    started._process_jobs()

    [run] = started.get_job_runs("hourly")
    assert run.status is RunStatus.SUCCESS and run.manual and run.return_value == 3
    assert started.get_job("hourly").next_run_time == next_run_time  # type: ignore[union-attr]


def test_run_now_keeps_the_stored_jobs_grace_time(started: DummyScheduler) -> None:
    job = started.add_job(
        "builtins:len", "interval", hours=1, args=("x",), id="j", misfire_grace_time=30
    )
    job.run_now()
    started._process_jobs()
    assert statuses(job.get_runs()) == ["success"]
    assert started.get_job("j").misfire_grace_time == 30  # type: ignore[union-attr]


def test_a_paused_job_can_be_run_now(started: DummyScheduler) -> None:
    job = started.add_job("builtins:len", "interval", hours=1, args=("xy",), id="paused")
    job.pause()
    job.run_now()
    started._process_jobs()
    assert statuses(job.get_runs()) == ["success"]
    assert started.get_job("paused").next_run_time is None  # type: ignore[union-attr]


def test_run_now_from_a_paused_scheduler_waits_for_one_that_runs(
    scheduler: DummyScheduler,
) -> None:
    store = MemoryJobStore()
    scheduler.add_jobstore(store, "shared")
    scheduler.start(paused=True)
    scheduler.add_job("builtins:len", "interval", hours=1, args=("x",), id="j", jobstore="shared")
    scheduler.run_job_now("j")
    assert scheduler._process_jobs() is None  # paused: takes nothing
    assert statuses(scheduler.get_job_runs("j")) == ["pending"]

    scheduler.resume()
    scheduler._process_jobs()
    assert statuses(scheduler.get_job_runs("j")) == ["success"]


def test_run_now_obeys_max_instances(started: DummyScheduler) -> None:
    holding = HoldingExecutor()
    started.add_executor(holding, "holding")
    started.add_job("builtins:len", "interval", hours=1, args=("x",), id="j", executor="holding")
    started.run_job_now("j")
    started._process_jobs()
    started.run_job_now("j")
    started._process_jobs()
    assert statuses(started.get_job_runs("j")) == ["max_instances", "running"]


def test_run_now_of_an_unknown_job(started: DummyScheduler) -> None:
    with pytest.raises(JobLookupError):
        started.run_job_now("nobody")


class LegacyStore(MemoryJobStore):
    """A store written for APScheduler 3.x's path (it overrides get_due_jobs)."""

    def get_due_jobs(self, now: datetime) -> list[Job]:
        return super().get_due_jobs(now)


def test_run_now_on_a_store_without_records_runs_here(started: DummyScheduler) -> None:
    calls: list[Any] = []
    started.add_jobstore(LegacyStore(), "legacy")
    started.add_job(calls.append, "interval", hours=1, args=("x",), id="j", jobstore="legacy")
    record = started.run_job_now("j")
    assert record.status is RunStatus.RUNNING and record.manual
    assert calls == ["x"]  # the debug executor ran it at once
    assert started.get_job_runs("j") == []


def test_current_run_tells_a_job_which_occurrence_it_runs(
    started: DummyScheduler, freeze_time: Any
) -> None:
    seen: list[Any] = []
    started.add_job(lambda: seen.append(current_run()), "interval", minutes=5, id="ctx")
    freeze_time.advance(minutes=5)
    started._process_jobs()
    [(job_id, scheduled, alias)] = seen
    assert (job_id, alias) == ("ctx", "default")
    assert scheduled == freeze_time.now(started.timezone)
    assert current_run() is None


# ------------------------------------------------------------------------------ recovery


class SharedMemoryStore(MemoryJobStore):
    """A memory store treated like one other processes share (outcomes batched, lost records
    reconciled)."""

    shared = True


def _claimed_by_a_dead_scheduler(
    scheduler: DummyScheduler, freeze_time: Any, **job_options: Any
) -> Job:
    """A job whose due occurrence was taken by scheduler "dead", which then stopped checking in."""
    store = scheduler._jobstores["default"]
    job = scheduler.add_job(
        "builtins:len", "interval", minutes=10, args=("x",), id="j", **job_options
    )
    freeze_time.advance(minutes=10)
    now = freeze_time.now(scheduler.timezone)
    store.check_in("dead", now, 5)
    claim = store.claim_jobs("dead", now)
    assert [run.job.id for run in claim.runs] == ["j"]
    freeze_time.advance(seconds=6)  # the lease of "dead" has run out
    return job


def test_runs_of_a_dead_scheduler_are_run_again_and_marked(
    started: DummyScheduler, freeze_time: Any
) -> None:
    events: list[Any] = []
    started.add_listener(events.append, EVENT_JOB_RECOVERED)
    _claimed_by_a_dead_scheduler(started, freeze_time)

    started._process_jobs()

    [run] = started.get_job_runs("j")
    assert run.status is RunStatus.SUCCESS
    assert run.recovered and run.attempt == 2 and run.scheduler_id == started.scheduler_id
    [event] = events
    assert isinstance(event, JobRecoveryEvent)
    assert event.rerun and event.previous_scheduler_id == "dead" and event.job_id == "j"


def test_at_most_once_runs_of_a_dead_scheduler_are_recorded_as_interrupted(
    started: DummyScheduler, freeze_time: Any
) -> None:
    events: list[Any] = []
    started.add_listener(events.append, EVENT_JOB_RECOVERED)
    job = _claimed_by_a_dead_scheduler(started, freeze_time, at_most_once=True)
    assert job.at_most_once

    started._process_jobs()

    [run] = started.get_job_runs("j")
    assert run.status is RunStatus.INTERRUPTED and not run.recovered
    assert [(event.rerun, event.previous_scheduler_id) for event in events] == [(False, "dead")]


def test_records_this_scheduler_holds_but_does_not_run_are_recovered(
    started: DummyScheduler, freeze_time: Any
) -> None:
    # A claim whose reply was lost (the connection dropped after the commit): the store holds
    # the record for this scheduler, which never submitted it. (Only a shared store can lose a
    # reply; the memory store stands in for one here.)
    store = SharedMemoryStore()
    started.add_jobstore(store, "shared")
    started.add_job("builtins:len", "interval", minutes=10, args=("x",), id="j", jobstore="shared")
    freeze_time.advance(minutes=10)
    store.claim_jobs(started.scheduler_id, freeze_time.now(started.timezone))
    started._membership.recovery_due = True

    started._process_jobs()

    [run] = started.get_job_runs("j")
    assert run.status is RunStatus.SUCCESS and run.recovered and run.attempt == 2


# ------------------------------------------------------------------------------ outcomes written


class FlakyStore(MemoryJobStore):
    """Fails to write outcomes the first ``failures`` times (shared: outcomes are queued)."""

    shared = True

    def __init__(self, failures: int) -> None:
        super().__init__()
        self.failures = failures

    def finish_runs(self, outcomes: Any) -> None:
        if self.failures:
            self.failures -= 1
            raise ConnectionError("the database went away")
        super().finish_runs(outcomes)


def test_outcomes_a_store_refuses_are_kept_and_written_later(
    scheduler: DummyScheduler, freeze_time: Any, caplog: pytest.LogCaptureFixture
) -> None:
    scheduler.add_jobstore(FlakyStore(failures=2), "flaky")
    scheduler.start()
    scheduler.add_job("builtins:len", "interval", minutes=1, args=("x",), id="j", jobstore="flaky")
    freeze_time.advance(minutes=1)
    scheduler._process_jobs()  # the run's outcome is queued; writing it fails twice

    assert scheduler._recorder.flush(retry_for=30)  # retried until the store takes it
    assert statuses(scheduler.get_job_runs("j")) == ["success"]
    assert "the database went away" in caplog.text


def test_history_off_keeps_no_finished_records(scheduler: DummyScheduler, freeze_time: Any) -> None:
    scheduler.add_jobstore(MemoryJobStore(history=False), "quiet")
    scheduler.start()
    scheduler.add_job("builtins:len", "interval", minutes=1, args=("x",), id="j", jobstore="quiet")
    freeze_time.advance(minutes=1)
    scheduler._process_jobs()
    assert scheduler.get_job_runs("j") == []


# ------------------------------------------------------------------------------ identity


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"scheduler_id": ""}, "scheduler_id must be a non-empty str"),
        ({"scheduler_id": 5}, "scheduler_id must be a non-empty str, got 5"),
        ({"scheduler_id": "x" * 192}, "at most 191 characters"),
        ({"checkin_interval": 0}, "checkin_interval must be a positive finite number"),
        (
            {"lease_time": "soon"},
            "lease_time must be a positive finite number of seconds, got 'soon'",
        ),
        ({"checkin_interval": 10, "lease_time": 5}, r"lease_time \(5 s\) must be longer"),
        ({"max_catch_up": 0}, "max_catch_up must be a whole number >= 1, got 0"),
    ],
)
def test_bad_cluster_options_are_refused(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        DummyScheduler(**options)


def test_cluster_options_from_gconfig() -> None:
    scheduler = DummyScheduler(
        {
            "quartzite.scheduler_id": "web-1",
            "quartzite.checkin_interval": "2",
            "quartzite.lease_time": "7",
        }
    )
    assert scheduler.scheduler_id == "web-1"
    assert scheduler._membership.checkin_interval == 2.0
    assert scheduler._membership.lease_time == 7.0


def test_default_scheduler_id_names_host_and_process() -> None:
    import os
    import socket

    scheduler_id = DummyScheduler().scheduler_id
    assert scheduler_id.startswith(f"{socket.gethostname()}-{os.getpid()}-")
    assert scheduler_id != DummyScheduler().scheduler_id


class CheckInSpy(MemoryJobStore):
    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[str, str]] = []
        self.checked_in = threading.Event()

    def check_in(self, scheduler_id: str, now: datetime, lease_time: float) -> None:
        self.calls.append(("check_in", scheduler_id))
        if len(self.calls) >= 3:
            self.checked_in.set()
        super().check_in(scheduler_id, now, lease_time)

    def release(self, scheduler_id: str) -> None:
        self.calls.append(("release", scheduler_id))
        super().release(scheduler_id)


def test_check_ins_repeat_and_shutdown_releases(timezone: Any) -> None:
    store = CheckInSpy()
    scheduler = DummyScheduler(
        timezone=timezone, scheduler_id="me", checkin_interval=0.05, lease_time=1
    )
    scheduler.add_jobstore(store, "spy")
    scheduler.start()
    try:
        assert store.calls[0] == ("check_in", "me")  # before the first round
        assert store.checked_in.wait(10)
    finally:
        scheduler.shutdown()
    assert store.calls[-1] == ("release", "me")
    assert scheduler._membership._thread is None


def test_a_claimed_run_reaches_listeners_with_the_contracts_events_and_record(
    started: DummyScheduler, freeze_time: Any
) -> None:
    seen: list[Any] = []
    started.add_listener(seen.append, EVENT_ALL)
    started.add_job("builtins:len", "interval", minutes=1, args=("xy",), id="j")
    freeze_time.advance(minutes=1)
    started._process_jobs()
    # The debug executor runs the job inside the round; submission events follow the round.
    assert [event.code for event in seen] == [
        EVENT_JOB_ADDED,
        EVENT_JOB_EXECUTED,
        EVENT_JOB_SUBMITTED,
    ]
    [run] = started.get_job_runs("j")
    assert (
        (run.status, run.return_value)
        == (RunStatus.SUCCESS, seen[1].retval)
        == (
            RunStatus.SUCCESS,
            2,
        )
    )
