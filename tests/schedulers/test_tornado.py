"""TornadoScheduler on a real Tornado IOLoop (running in a thread of its own)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from typing import Any, Callable

import pytest

pytest.importorskip("tornado")

from tornado.ioloop import IOLoop

from quartzite.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED
from quartzite.executors.tornado import TornadoExecutor
from quartzite.schedulers import SchedulerNotRunningError
from quartzite.schedulers.tornado import TornadoScheduler, run_in_ioloop
from support import EventRecorder

from ._live import PROMPT, LiveSchedulerTests, LoopThreadHarness

pytestmark = pytest.mark.live


def start_io_loop_thread() -> tuple[IOLoop, threading.Thread]:
    """Start an IOLoop (on a new asyncio event loop) in a thread of its own.

    Created in that thread, where it is current: creating it elsewhere warns on Python 3.12+.
    """
    started: dict[str, Any] = {}
    ready = threading.Event()

    def run() -> None:
        asyncio.set_event_loop(asyncio.new_event_loop())
        started["ioloop"] = IOLoop.current()
        ready.set()
        started["ioloop"].start()

    thread = threading.Thread(target=run, name="tornado-ioloop")
    thread.start()
    assert ready.wait(PROMPT)
    return started["ioloop"], thread


class TornadoHarness(LoopThreadHarness):
    """A Tornado IOLoop started in a thread; the test thread drives it."""

    def __init__(self) -> None:
        self.ioloop, self.thread = start_io_loop_thread()

    def call_in_loop(self, callback: Callable[[], None]) -> None:
        self.ioloop.add_callback(callback)

    def create(self, **options: Any) -> TornadoScheduler:
        return TornadoScheduler(io_loop=self.ioloop, **options)

    def close(self) -> None:
        self.ioloop.add_callback(self.ioloop.stop)
        self.thread.join(PROMPT)
        self.ioloop.close(all_fds=True)


@pytest.fixture
def harness() -> Iterator[TornadoHarness]:
    harness = TornadoHarness()
    yield harness
    harness.close()


class TestLive(LiveSchedulerTests):
    pass


def test_default_io_loop_is_the_current_one(harness: TornadoHarness) -> None:
    scheduler = harness.call(TornadoScheduler)  # made on the loop's thread, no io_loop given
    threads: list[threading.Thread] = []

    async def record_thread() -> None:
        threads.append(threading.current_thread())

    scheduler.add_job(record_thread)
    harness.start(scheduler)
    assert isinstance(scheduler._lookup_executor("default"), TornadoExecutor)
    assert harness.wait_until(lambda: threads)
    harness.shutdown(scheduler)
    assert threads == [harness.thread]  # the coroutine ran on that loop


def test_coroutine_jobs_run_on_the_io_loop(harness: TornadoHarness) -> None:
    scheduler = harness.create(timezone="UTC")
    events = EventRecorder()
    scheduler.add_listener(events)
    where: dict[str, Any] = {}

    async def on_loop() -> str:
        where["coroutine"] = threading.current_thread()
        await asyncio.sleep(0.01)
        return "awaited"

    async def failing() -> None:
        await asyncio.sleep(0)
        raise ValueError("coroutine failed")

    def in_thread() -> str:
        where["function"] = threading.current_thread()
        return "called"

    scheduler.add_job(on_loop, id="coroutine")
    scheduler.add_job(failing, id="failing")
    scheduler.add_job(in_thread, id="function")
    harness.start(scheduler)
    assert harness.wait_until(
        lambda: len(events.of(EVENT_JOB_EXECUTED)) == 2 and events.of(EVENT_JOB_ERROR)
    )
    harness.shutdown(scheduler)

    results = {event.job_id: event.retval for event in events.of(EVENT_JOB_EXECUTED)}
    assert results == {"coroutine": "awaited", "function": "called"}
    assert str(events.of(EVENT_JOB_ERROR)[0].exception) == "coroutine failed"
    assert where["coroutine"] is harness.thread
    assert where["function"] is not harness.thread


def test_shutdown_is_deferred_to_the_io_loop(harness: TornadoHarness) -> None:
    scheduler = harness.create()
    with pytest.raises(SchedulerNotRunningError):
        scheduler.shutdown()
    harness.start(scheduler)
    assert harness.call(lambda: (scheduler.shutdown(), scheduler.running)[1]) is True
    assert harness.wait_until(lambda: not scheduler.running)
    assert scheduler._timeout is None


def test_run_in_ioloop_decorator(harness: TornadoHarness) -> None:
    class CustomScheduler(TornadoScheduler):
        @run_in_ioloop
        def where(self, results: list[Any], value: str) -> str:
            results.append((threading.current_thread(), value))
            return "ignored"

    scheduler = CustomScheduler(io_loop=harness.ioloop)
    results: list[Any] = []
    assert scheduler.where(results, "value") is None
    assert harness.wait_until(lambda: results)
    assert results == [(harness.thread, "value")]

    scheduler._ioloop = None
    with pytest.raises(SchedulerNotRunningError):
        scheduler.where(results, "no loop")
