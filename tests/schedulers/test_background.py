"""Live end-to-end runs of BackgroundScheduler on the real clock (thread and process pools)."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from quartzite.events import (
    EVENT_JOB_ERROR,
    EVENT_JOB_EXECUTED,
    EVENT_JOB_REMOVED,
    JobExecutionEvent,
)
from quartzite.executors.pool import ProcessPoolExecutor, ThreadPoolExecutor
from quartzite.schedulers.background import BackgroundScheduler
from quartzite.schedulers.base import STATE_RUNNING, STATE_STOPPED
from quartzite.schedulers.blocking import BlockingScheduler
from support import EventRecorder, jobs

pytestmark = pytest.mark.live

TIMEOUT = 10  # generous upper bound for anything that should take well under a second


@pytest.fixture
def scheduler() -> Iterator[BackgroundScheduler]:
    scheduler = BackgroundScheduler(timezone="UTC")
    yield scheduler
    if scheduler.running:
        scheduler.shutdown(wait=False)


def now() -> datetime:
    return datetime.now(timezone.utc)


def test_is_a_blocking_scheduler() -> None:
    assert issubclass(BackgroundScheduler, BlockingScheduler)


def start_in_thread(scheduler: BackgroundScheduler) -> threading.Thread:
    """Start ``scheduler`` and return the one thread named "APScheduler" that appeared."""
    before = set(threading.enumerate())
    scheduler.start()
    (thread,) = [t for t in threading.enumerate() if t not in before and t.name == "APScheduler"]
    return thread


def test_thread_name_and_daemon_default(scheduler: BackgroundScheduler) -> None:
    started = time.monotonic()
    thread = start_in_thread(scheduler)
    assert time.monotonic() - started < 1  # start() returns at once
    assert thread.daemon is True
    assert thread.is_alive()
    assert scheduler.state == STATE_RUNNING
    assert type(scheduler._executors["default"]) is ThreadPoolExecutor

    scheduler.shutdown()
    assert not thread.is_alive()  # joined
    assert scheduler.state == STATE_STOPPED


@pytest.mark.parametrize(
    ("gconfig", "options"),
    [({}, {"daemon": False}), ({"quartzite.daemon": "false"}, {})],
    ids=["keyword", "gconfig-string"],
)
def test_daemon_option(gconfig: dict[str, Any], options: dict[str, Any]) -> None:
    scheduler = BackgroundScheduler(gconfig, timezone="UTC", **options)
    thread = start_in_thread(scheduler)
    try:
        assert thread.daemon is False
    finally:
        scheduler.shutdown()


def test_interval_and_date_jobs_fire(scheduler: BackgroundScheduler) -> None:
    executed = EventRecorder()
    removed = EventRecorder()
    scheduler.add_listener(executed, EVENT_JOB_EXECUTED)
    scheduler.add_listener(removed, EVENT_JOB_REMOVED)
    scheduler.add_job(jobs.add, "interval", args=[1, 2], seconds=0.1, id="interval")
    scheduler.add_job(
        jobs.add, "date", args=[3, 4], run_date=now() + timedelta(seconds=0.2), id="date"
    )
    scheduler.start()

    events = executed.wait_for(4)
    assert removed.wait_for(1)[0].job_id == "date"
    assert [e.retval for e in events if e.job_id == "date"] == [7]
    assert all(e.retval == 3 for e in events if e.job_id == "interval")
    assert len([e for e in events if e.job_id == "interval"]) >= 3
    assert [job.id for job in scheduler.get_jobs()] == ["interval"]


def test_job_added_while_running_fires_promptly(scheduler: BackgroundScheduler) -> None:
    # only a far-future job: the scheduler sleeps for days unless woken up
    scheduler.add_job(jobs.add, "date", args=[0, 0], run_date=now() + timedelta(days=3))
    scheduler.start()
    executed = EventRecorder()
    scheduler.add_listener(executed, EVENT_JOB_EXECUTED)
    time.sleep(0.05)  # let the scheduler thread go to sleep

    added = time.monotonic()
    scheduler.add_job(jobs.add, args=[2, 3])
    (event,) = executed.wait_for(1)
    assert time.monotonic() - added < 1
    assert event.retval == 5


def test_raising_job_reports_error_and_scheduler_keeps_running(
    scheduler: BackgroundScheduler,
) -> None:
    errors = EventRecorder()
    executed = EventRecorder()
    scheduler.add_listener(errors, EVENT_JOB_ERROR)
    scheduler.add_listener(executed, EVENT_JOB_EXECUTED)
    thread = start_in_thread(scheduler)

    scheduler.add_job(jobs.fail, args=["job failed"], id="failing")
    (error,) = errors.wait_for(1)
    assert isinstance(error, JobExecutionEvent)
    assert error.job_id == "failing"
    assert isinstance(error.exception, ValueError)
    assert str(error.exception) == "job failed"
    assert isinstance(error.traceback, str)
    assert "in fail" in error.traceback

    scheduler.add_job(jobs.add, args=[1, 1])
    assert executed.wait_for(1)[0].retval == 2
    assert scheduler.state == STATE_RUNNING
    assert thread.is_alive()


def test_shutdown_waits_for_running_job(scheduler: BackgroundScheduler) -> None:
    started = threading.Event()
    finished = threading.Event()

    def slow_job() -> None:
        started.set()
        time.sleep(0.3)
        finished.set()

    scheduler.start()
    scheduler.add_job(slow_job)
    assert started.wait(TIMEOUT)
    scheduler.shutdown(wait=True)
    assert finished.is_set()


def test_shutdown_without_wait_returns_at_once(scheduler: BackgroundScheduler) -> None:
    started = threading.Event()
    release = threading.Event()
    finished = threading.Event()

    def blocked_job() -> None:
        started.set()
        release.wait(TIMEOUT)
        finished.set()

    scheduler.start()
    scheduler.add_job(blocked_job)
    assert started.wait(TIMEOUT)
    try:
        began = time.monotonic()
        scheduler.shutdown(wait=False)
        assert time.monotonic() - began < 1
        assert not finished.is_set()  # the job is not interrupted, nor waited for
        assert scheduler.state == STATE_STOPPED
    finally:
        release.set()
    assert finished.wait(TIMEOUT)


def test_process_pool(scheduler: BackgroundScheduler) -> None:
    executed = EventRecorder()
    errors = EventRecorder()
    scheduler.add_executor(ProcessPoolExecutor(max_workers=1), "processes")
    scheduler.add_listener(executed, EVENT_JOB_EXECUTED)
    scheduler.add_listener(errors, EVENT_JOB_ERROR)
    scheduler.start()

    scheduler.add_job(jobs.get_pid, executor="processes", id="pid")
    scheduler.add_job(jobs.fail, args=["in a child"], executor="processes", id="failing")

    (event,) = executed.wait_for(1, timeout=60)
    assert event.job_id == "pid"
    assert isinstance(event.retval, int)
    assert event.retval != os.getpid()  # it ran in a worker process
    (error,) = errors.wait_for(1, timeout=60)
    assert error.job_id == "failing"
    assert isinstance(error.exception, ValueError)
    assert str(error.exception) == "in a child"
    assert "in fail" in error.traceback

    scheduler.shutdown(wait=True)
