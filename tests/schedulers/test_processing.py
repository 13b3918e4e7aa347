"""The processing round (``schedulers/_processing.py``): safe whatever a trigger answers, quiet
once the scheduler stops, and honest about the run times the catch-up bound drops."""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from unittest import mock

import pytest

from quartzite.executors.base import BaseExecutor
from quartzite.executors.debug import DebugExecutor
from quartzite.job import Job
from quartzite.jobstores.base import BaseJobStore
from quartzite.jobstores.memory import MemoryJobStore
from quartzite.schedulers.background import BackgroundScheduler
from quartzite.triggers.base import BaseTrigger
from support import DummyScheduler

pytest.importorskip("sqlalchemy")


class RaisingTrigger(BaseTrigger):
    """First fire time ``start``; asking for any later one raises."""

    def __init__(self, start: datetime) -> None:
        self.start = start

    def get_next_fire_time(self, previous_fire_time: datetime | None, now: datetime) -> Any:
        if previous_fire_time is None:
            return self.start
        raise RuntimeError("the trigger's arithmetic is broken")

    def __repr__(self) -> str:
        return "<RaisingTrigger>"


class SameTimeTrigger(RaisingTrigger):
    """Answers the previous fire time again: a schedule that never advances."""

    def get_next_fire_time(self, previous_fire_time: datetime | None, now: datetime) -> Any:
        return previous_fire_time or self.start

    def __repr__(self) -> str:
        return "<SameTimeTrigger>"


class PastTrigger(RaisingTrigger):
    """Answers a time an hour before the previous one: a schedule that goes backwards."""

    def get_next_fire_time(self, previous_fire_time: datetime | None, now: datetime) -> Any:
        if previous_fire_time is None:
            return self.start
        return previous_fire_time - timedelta(hours=1)

    def __repr__(self) -> str:
        return "<PastTrigger>"


class Calls:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self) -> None:
        self.count += 1


@pytest.fixture
def started(scheduler: DummyScheduler) -> DummyScheduler:
    scheduler.start()
    return scheduler


@pytest.mark.parametrize("trigger_class", [RaisingTrigger, SameTimeTrigger, PastTrigger])
def test_a_broken_trigger_pauses_its_job_and_the_others_keep_running(
    started: DummyScheduler,
    freeze_time: Any,
    caplog: pytest.LogCaptureFixture,
    trigger_class: type[RaisingTrigger],
) -> None:
    now = freeze_time.now(started.timezone)
    healthy, broken_calls = Calls(), Calls()
    started.add_job(broken_calls, trigger_class(now), id="broken")
    started.add_job(healthy, "interval", minutes=1, next_run_time=now, id="healthy")

    caplog.set_level(logging.ERROR, "quartzite.scheduler")
    wait = started._process_jobs()

    assert wait == 60.0  # the round returned, with the healthy job's next run
    assert healthy.count == 1
    assert broken_calls.count == 0
    broken = started.get_job("broken")
    assert broken is not None and broken.next_run_time is None  # paused, not removed
    healthy_job = started.get_job("healthy")
    assert healthy_job is not None
    assert healthy_job.next_run_time == now + timedelta(minutes=1)
    [record] = caplog.records
    assert record.levelno == logging.ERROR
    assert "broken" in record.message and repr(trigger_class(now)) in record.message

    # The next round no longer sees the paused job, and still runs the healthy one.
    caplog.clear()
    freeze_time.advance(seconds=60)
    assert started._process_jobs() == 60.0
    assert healthy.count == 2
    assert caplog.records == []


class FailingUpdateStore(MemoryJobStore):
    """Refuses to update one job (as a store whose connection dropped would)."""

    def update_job(self, job: Job) -> None:
        if job.id == "broken":
            raise OSError("connection lost")
        super().update_job(job)


class UnprintableTrigger(RaisingTrigger):
    """A broken trigger that cannot even describe itself."""

    def __str__(self) -> str:
        raise RuntimeError("no text for this trigger")


def test_a_broken_trigger_that_cannot_print_itself_is_still_paused_and_logged(
    started: DummyScheduler, freeze_time: Any, caplog: pytest.LogCaptureFixture
) -> None:
    now = freeze_time.now(started.timezone)
    healthy = Calls()
    started.add_job(Calls(), UnprintableTrigger(now), id="broken", name="broken")
    started.add_job(healthy, "interval", minutes=1, next_run_time=now, id="healthy")

    caplog.set_level(logging.ERROR, "quartzite.scheduler")
    started._process_jobs()

    assert healthy.count == 1
    broken = started.get_job("broken")
    assert broken is not None and broken.next_run_time is None
    assert any("<unprintable UnprintableTrigger>" in r.message for r in caplog.records)


def test_a_broken_trigger_whose_pause_cannot_be_stored_is_logged_and_retried(
    scheduler: DummyScheduler, freeze_time: Any, caplog: pytest.LogCaptureFixture
) -> None:
    scheduler.add_jobstore(FailingUpdateStore(), "flaky")
    scheduler.start()
    now = freeze_time.now(scheduler.timezone)
    healthy = Calls()
    scheduler.add_job(Calls(), RaisingTrigger(now), id="broken", jobstore="flaky")
    scheduler.add_job(healthy, "interval", minutes=5, next_run_time=now, jobstore="flaky")

    caplog.set_level(logging.ERROR, "quartzite.scheduler")
    wait = scheduler._process_jobs()

    assert healthy.count == 1
    assert wait == scheduler.jobstore_retry_interval  # the store is asked again soon
    messages = [record.message for record in caplog.records]
    assert any("pausing the job" in message for message in messages)
    assert any("Error pausing job \"broken\" in job store 'flaky'" in m for m in messages)


def test_missed_run_times_dropped_by_the_catch_up_bound_are_logged(
    started: DummyScheduler, freeze_time: Any, caplog: pytest.LogCaptureFixture
) -> None:
    now = freeze_time.now(started.timezone)
    calls = Calls()
    # Two hours of one-second runs missed: far more than the bound enumerates.
    started.add_job(
        calls,
        "interval",
        seconds=1,
        start_date=now - timedelta(hours=2),
        next_run_time=now - timedelta(hours=2),
        misfire_grace_time=None,
        id="late",
    )
    caplog.set_level(logging.WARNING, "quartzite.scheduler")

    started._process_jobs()

    assert calls.count == 1  # coalesced
    [record] = caplog.records
    assert record.levelno == logging.WARNING
    assert record.message.startswith('Job "Calls (trigger: interval[0:00:01]')
    skipped = int(record.message.split(" missed ")[1].split()[0])
    assert 6000 < skipped <= 7200
    job = started.get_job("late")
    assert job is not None and job.next_run_time is not None and job.next_run_time > now


def test_a_round_does_nothing_once_shutdown_has_begun(
    started: DummyScheduler, freeze_time: Any
) -> None:
    calls = Calls()
    started.add_job(calls, next_run_time=freeze_time.now(started.timezone))
    rounds: list[tuple[float | None, int]] = []

    class RoundWhileStopping(DebugExecutor):
        """Runs a processing round from inside the scheduler's shutdown."""

        def shutdown(self, wait: bool = True) -> None:
            # the round's result, and the jobs left (the stores are still up at this point)
            rounds.append((started._process_jobs(), len(store.get_all_jobs())))
            super().shutdown(wait)

    started.add_executor(RoundWhileStopping(), "probe")
    store = started._jobstores["default"]
    started.shutdown(wait=False)

    assert rounds == [(None, 1)]  # nothing processed, the due job left in place
    assert calls.count == 0


def test_a_never_started_scheduler_still_processes_when_asked(scheduler: DummyScheduler) -> None:
    # Extensions and APScheduler's own tests drive _process_jobs() on stores they install by
    # hand: only a shutdown turns the round off.
    scheduler._jobstores["default"] = MemoryJobStore()
    assert scheduler._process_jobs() is None


def record_due(tmp_path: Path) -> None:
    """The job of the shutdown test (module level: the SQL store pickles its reference)."""


def test_shutting_down_a_paused_scheduler_submits_nothing(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    url = f"sqlite:///{tmp_path / 'jobs.sqlite'}"
    scheduler = BackgroundScheduler(
        jobstores={"default": {"type": "sqlalchemy", "url": url}}, timezone="UTC"
    )
    scheduler.start(paused=True)
    scheduler.add_job(
        f"{__name__}:record_due",
        args=[str(tmp_path)],
        next_run_time=datetime.now(scheduler.timezone) - timedelta(seconds=1),
        id="due",
    )
    caplog.set_level(logging.DEBUG, "quartzite")

    scheduler.shutdown()
    time.sleep(0.05)  # a stray round would run in the (joined) loop thread before this

    errors = [record.message for record in caplog.records if record.levelno >= logging.ERROR]
    assert errors == []
    assert not any("Looking for jobs to run" in record.message for record in caplog.records)


def test_a_job_double_is_asked_through_get_run_times_as_apscheduler_does(
    started: DummyScheduler, freeze_time: Any
) -> None:
    # APScheduler's own tests drive the round with mocked jobs, stores and executors
    # (API.md §10 keeps Job._get_run_times for them and for extensions overriding it).
    now = freeze_time.now(started.timezone)
    next_run_time = now + timedelta(seconds=6)
    job = mock.MagicMock(Job, id="999", executor="default")
    job._get_run_times = mock.MagicMock(return_value=[now - timedelta(seconds=1), now])
    job.trigger = mock.MagicMock(get_next_fire_time=mock.MagicMock(return_value=next_run_time))
    store = mock.MagicMock(BaseJobStore)
    store.get_due_jobs.return_value = [job]
    store.get_next_run_time.return_value = next_run_time
    executor = mock.MagicMock(BaseExecutor)
    started._jobstores["default"] = store
    started._executors["default"] = executor

    assert started._process_jobs() == 6

    job._get_run_times.assert_called_once_with(now)
    executor.submit_job.assert_called_once_with(job, [now])  # coalesced (a mock is truthy)
    job.trigger.get_next_fire_time.assert_called_once_with(now, now)
    job._modify.assert_called_once_with(next_run_time=next_run_time)
    store.update_job.assert_called_once_with(job)
