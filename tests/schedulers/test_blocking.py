"""BlockingScheduler: its loop, and live end-to-end runs on the real clock (started in a helper
thread, since start() blocks)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from threading import TIMEOUT_MAX
from typing import Any

import pytest

from quartzite.events import EVENT_JOB_EXECUTED, EVENT_SCHEDULER_STARTED
from quartzite.executors.debug import DebugExecutor
from quartzite.executors.pool import ThreadPoolExecutor
from quartzite.schedulers.base import STATE_PAUSED, STATE_RUNNING, STATE_STOPPED
from quartzite.schedulers.blocking import BlockingScheduler
from support import jobs

TIMEOUT = 10  # generous upper bound for anything that should take well under a second


class Runner:
    """Runs ``scheduler.start(...)`` (which blocks) in a thread; knows when it has started."""

    def __init__(self, scheduler: BlockingScheduler, **start_kwargs: Any) -> None:
        self.scheduler = scheduler
        self.started = threading.Event()
        scheduler.add_listener(lambda event: self.started.set(), EVENT_SCHEDULER_STARTED)
        self.thread = threading.Thread(target=scheduler.start, kwargs=start_kwargs, daemon=True)

    def __enter__(self) -> Runner:
        self.thread.start()
        assert self.started.wait(TIMEOUT)
        return self

    def __exit__(self, *exc_info: Any) -> None:
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        self.thread.join(TIMEOUT)
        assert not self.thread.is_alive()


@pytest.fixture
def scheduler() -> Iterator[BlockingScheduler]:
    scheduler = BlockingScheduler(timezone="UTC")
    yield scheduler
    if scheduler.running:
        scheduler.shutdown(wait=False)


@pytest.mark.live
def test_start_blocks_until_a_listener_shuts_it_down(scheduler: BlockingScheduler) -> None:
    results: list[Any] = []

    def listener(event: Any) -> None:
        results.append(event.retval)
        if len(results) == 3:
            scheduler.shutdown(wait=False)  # from a worker thread of the pool

    scheduler.add_listener(listener, EVENT_JOB_EXECUTED)
    scheduler.add_job(jobs.add, "interval", args=[1, 2], seconds=0.1)
    thread = threading.Thread(target=scheduler.start, daemon=True)
    thread.start()

    thread.join(TIMEOUT)
    assert not thread.is_alive()  # start() returned
    assert scheduler.state == STATE_STOPPED
    assert results[:3] == [3, 3, 3]
    assert type(scheduler._executors["default"]) is ThreadPoolExecutor


@pytest.mark.live
def test_job_shuts_the_scheduler_down(scheduler: BlockingScheduler) -> None:
    scheduler.add_executor(DebugExecutor(), "debug")  # runs jobs in the scheduler's thread
    scheduler.add_job(scheduler.shutdown, executor="debug")
    thread = threading.Thread(target=scheduler.start, daemon=True)
    thread.start()

    thread.join(TIMEOUT)
    assert not thread.is_alive()
    assert scheduler.state == STATE_STOPPED


@pytest.mark.live
def test_job_added_while_running_fires_promptly(scheduler: BlockingScheduler) -> None:
    executed = threading.Event()
    with Runner(scheduler):
        time.sleep(0.05)  # no jobs: the scheduler waits until woken up, with no timeout
        added = time.monotonic()
        scheduler.add_job(executed.set)
        assert executed.wait(TIMEOUT)
        assert time.monotonic() - added < 1


@pytest.mark.live
def test_started_paused_then_resumed(scheduler: BlockingScheduler) -> None:
    executed = threading.Event()
    scheduler.add_job(executed.set)
    with Runner(scheduler, paused=True):
        assert scheduler.state == STATE_PAUSED
        assert not executed.wait(0.2)
        resumed = time.monotonic()
        scheduler.resume()
        assert scheduler.state == STATE_RUNNING
        assert executed.wait(TIMEOUT)
        assert time.monotonic() - resumed < 1


class FakeEvent:
    """Records the timeouts the loop waits with."""

    def __init__(self) -> None:
        self.waits: list[float | None] = []
        self.flag = False

    def wait(self, timeout: float | None = None) -> bool:
        self.waits.append(timeout)
        return True

    def clear(self) -> None:
        self.flag = False

    def set(self) -> None:
        self.flag = True

    def is_set(self) -> bool:
        return self.flag


def test_main_loop_waits_for_what_process_jobs_returns(monkeypatch: pytest.MonkeyPatch) -> None:
    scheduler = BlockingScheduler(timezone="UTC")
    results = iter([5.0, None, 0.5])

    def process_jobs() -> float | None:
        result = next(results, None)
        if result == 0.5:
            scheduler.state = STATE_STOPPED
        return result

    event = scheduler._event = FakeEvent()  # type: ignore[assignment]
    scheduler.state = STATE_RUNNING
    monkeypatch.setattr(scheduler, "_process_jobs", process_jobs)

    scheduler._main_loop()

    # the first wait is TIMEOUT_MAX; then the result of the previous round (None: no timeout)
    assert event.waits == [TIMEOUT_MAX, 5.0, None]


def test_wakeup_sets_the_event() -> None:
    scheduler = BlockingScheduler(timezone="UTC")
    event = scheduler._event = threading.Event()
    scheduler.wakeup()
    assert event.is_set()
