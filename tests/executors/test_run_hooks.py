"""Run hooks: called in the worker right before and right after each run of a job function."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import pytest

from quartzite.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED
from quartzite.executors.base import add_run_hook, remove_run_hook, run_job
from quartzite.executors.pool import ThreadPoolExecutor
from support import OutcomeRecordingScheduler
from support.jobs import make_job

RUN_TIME = datetime(2030, 1, 1, tzinfo=timezone.utc)
LOGGER_NAME = "quartzite.executors.hooks"


@pytest.fixture
def log() -> Iterator[list[str]]:
    """What the job and a registered hook did, in order (the hook is removed afterwards)."""
    entries: list[str] = []

    def hook() -> None:
        entries.append(f"hook in {threading.current_thread().name}")

    add_run_hook(hook)
    add_run_hook(hook)  # registering twice changes nothing
    yield entries
    remove_run_hook(hook)
    remove_run_hook(hook)  # nor does removing twice


def test_hooks_run_before_and_after_each_run(log: list[str]) -> None:
    run_times = [RUN_TIME, RUN_TIME + timedelta(seconds=1)]
    job = make_job(func=log.append, args=["job"], misfire_grace_time=None)

    events = run_job(job, "default", run_times, LOGGER_NAME)

    assert [event.code for event in events] == [EVENT_JOB_EXECUTED] * 2
    here = threading.current_thread().name
    assert log == [f"hook in {here}", "job", f"hook in {here}"] * 2


def test_hooks_run_after_a_job_that_raises(log: list[str]) -> None:
    def fail() -> None:
        log.append("job")
        raise ValueError("boom")

    events = run_job(
        make_job(func=fail, misfire_grace_time=None), "default", [RUN_TIME], LOGGER_NAME
    )

    assert [event.code for event in events] == [EVENT_JOB_ERROR]
    assert len(log) == 3 and log[1] == "job"


def test_a_failing_hook_is_logged_and_changes_no_outcome(caplog: pytest.LogCaptureFixture) -> None:
    def broken() -> None:
        raise RuntimeError("hook broke")

    add_run_hook(broken)
    try:
        with caplog.at_level(logging.ERROR, logger=LOGGER_NAME):
            events = run_job(
                make_job(func=lambda: 42, misfire_grace_time=None), None, [RUN_TIME], LOGGER_NAME
            )
    finally:
        remove_run_hook(broken)

    assert [(event.code, event.retval) for event in events] == [(EVENT_JOB_EXECUTED, 42)]
    failures = [record for record in caplog.records if "Run hook" in record.getMessage()]
    assert len(failures) == 2  # before and after
    assert failures[0].exc_info is not None and "hook broke" in str(failures[0].exc_info[1])


def test_hooks_run_in_the_pool_worker(log: list[str]) -> None:
    scheduler = OutcomeRecordingScheduler(timezone=timezone.utc)
    done = threading.Event()
    scheduler.add_listener(lambda event: done.set(), EVENT_JOB_EXECUTED)
    executor = ThreadPoolExecutor(1)
    executor.start(scheduler, "default")
    try:
        job = make_job(scheduler, func=log.append, args=["job"], misfire_grace_time=None)
        executor.submit_job(job, [RUN_TIME])
        assert done.wait(60)
    finally:
        executor.shutdown()

    assert len(log) == 3 and log[1] == "job"
    assert log[0] == log[2] != f"hook in {threading.current_thread().name}"
