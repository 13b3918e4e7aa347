"""AsyncIOScheduler on a real asyncio event loop."""

from __future__ import annotations

import asyncio
import functools
import logging
import threading
import warnings
from collections.abc import Iterator
from datetime import timedelta
from typing import Any, Callable

import pytest

from quartzite.events import (
    EVENT_EXECUTOR_ADDED,
    EVENT_JOB_ADDED,
    EVENT_JOB_ERROR,
    EVENT_JOB_EXECUTED,
    EVENT_JOB_REMOVED,
    EVENT_JOB_SUBMITTED,
    EVENT_JOBSTORE_ADDED,
    EVENT_SCHEDULER_SHUTDOWN,
    EVENT_SCHEDULER_STARTED,
)
from quartzite.executors.asyncio import AsyncIOExecutor
from quartzite.executors.pool import ThreadPoolExecutor
from quartzite.schedulers import SchedulerNotRunningError
from quartzite.schedulers.asyncio import AsyncIOScheduler, run_in_event_loop
from quartzite.schedulers.base import STATE_RUNNING, STATE_STOPPED
from support import EventRecorder

from ._live import PROMPT, Calls, LiveSchedulerTests, LoopThreadHarness, utcnow

pytestmark = pytest.mark.live


class AsyncIOHarness(LoopThreadHarness):
    """An asyncio event loop running in a thread of its own; the test thread drives it."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="asyncio-loop")
        self.thread.start()

    def call_in_loop(self, callback: Callable[[], None]) -> None:
        self.loop.call_soon_threadsafe(callback)

    def create(self, **options: Any) -> AsyncIOScheduler:
        return AsyncIOScheduler(**options)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(PROMPT)
        self.loop.close()


@pytest.fixture
def harness() -> Iterator[AsyncIOHarness]:
    harness = AsyncIOHarness()
    yield harness
    harness.close()


class TestLive(LiveSchedulerTests):
    pass


async def coroutine_job(value: Any) -> Any:
    await asyncio.sleep(0.01)
    return value


def test_default_executor_is_asyncio(harness: AsyncIOHarness) -> None:
    scheduler = harness.create()
    loops: list[asyncio.AbstractEventLoop] = []

    async def record_loop() -> None:
        loops.append(asyncio.get_running_loop())

    scheduler.add_job(record_loop)
    harness.start(scheduler)
    try:
        assert isinstance(scheduler._lookup_executor("default"), AsyncIOExecutor)
        assert harness.wait_until(lambda: loops)
        assert loops == [harness.loop]  # the executor runs coroutines on the scheduler's loop
    finally:
        harness.shutdown(scheduler)
    assert scheduler._eventloop is None


def test_coroutine_jobs_run_on_the_loop_and_functions_in_threads(harness: AsyncIOHarness) -> None:
    scheduler = harness.create(timezone="UTC")
    events = EventRecorder()
    scheduler.add_listener(events)
    where: dict[str, Any] = {}

    async def on_loop() -> str:
        where["coroutine"] = (threading.current_thread(), asyncio.get_running_loop())
        await asyncio.sleep(0)
        return "awaited"

    async def with_argument(value: str) -> str:
        return value

    def in_thread() -> str:
        where["function"] = threading.current_thread()
        return "called"

    scheduler.add_job(on_loop, id="coroutine")
    scheduler.add_job(functools.partial(with_argument, "partial"), id="partial")
    scheduler.add_job(in_thread, id="function")
    harness.start(scheduler)
    assert harness.wait_until(lambda: len(events.of(EVENT_JOB_EXECUTED)) == 3)
    harness.shutdown(scheduler)

    results = {event.job_id: event.retval for event in events.of(EVENT_JOB_EXECUTED)}
    assert results == {"coroutine": "awaited", "partial": "partial", "function": "called"}
    assert where["coroutine"] == (harness.thread, harness.loop)
    assert where["function"] is not harness.thread


def test_event_order_of_a_coroutine_job(harness: AsyncIOHarness) -> None:
    """The coroutine runs in a later loop iteration than the processing round, so the order is
    fully determined."""
    scheduler = harness.create(timezone="UTC")
    events = EventRecorder()
    scheduler.add_listener(events)
    scheduler.add_job(coroutine_job, args=[1])
    harness.start(scheduler)
    assert harness.wait_until(lambda: events.of(EVENT_JOB_EXECUTED))
    harness.shutdown(scheduler)
    assert events.codes == [
        EVENT_EXECUTOR_ADDED,
        EVENT_JOBSTORE_ADDED,
        EVENT_JOB_ADDED,
        EVENT_SCHEDULER_STARTED,
        EVENT_JOB_REMOVED,
        EVENT_JOB_SUBMITTED,
        EVENT_JOB_EXECUTED,
        EVENT_SCHEDULER_SHUTDOWN,
    ]


def test_start_inside_asyncio_run() -> None:
    """The documented pattern: create and start the scheduler in a coroutine under asyncio.run."""
    outcome: dict[str, Any] = {}

    async def main() -> None:
        done = asyncio.Event()
        scheduler = AsyncIOScheduler(timezone="UTC")
        runs: list[str] = []
        loops: set[asyncio.AbstractEventLoop] = set()

        async def tick() -> None:
            runs.append("tick")
            loops.add(asyncio.get_running_loop())
            if len(runs) == 3:
                done.set()

        scheduler.add_job(tick, "interval", seconds=0.2)
        scheduler.start()
        await asyncio.wait_for(done.wait(), PROMPT)
        outcome["loop"] = loops == {asyncio.get_running_loop()}
        scheduler.shutdown()
        # the shutdown happens on the loop, a moment later
        outcome["running right after shutdown()"] = scheduler.running
        await asyncio.sleep(0.05)
        outcome["running later"] = scheduler.running
        outcome["runs"] = len(runs)

    asyncio.run(main())
    assert outcome == {
        "loop": True,
        "running right after shutdown()": True,
        "running later": False,
        "runs": 3,
    }


def test_start_before_the_loop_runs_with_event_loop_option() -> None:
    """The other documented pattern: give the loop, start, then run the loop."""
    loop = asyncio.new_event_loop()
    try:
        scheduler = AsyncIOScheduler(event_loop=loop, timezone="UTC")
        events = EventRecorder()
        scheduler.add_listener(events)
        scheduler.add_job(coroutine_job, args=["early"], id="early")
        scheduler.start()  # no loop is running
        assert scheduler.state == STATE_RUNNING
        assert not events.of(EVENT_JOB_SUBMITTED)  # processing waits for the loop

        async def until_executed() -> None:
            while not events.of(EVENT_JOB_EXECUTED):
                await asyncio.sleep(0.01)

        loop.run_until_complete(asyncio.wait_for(until_executed(), PROMPT))
        assert events.of(EVENT_JOB_EXECUTED)[0].retval == "early"
        scheduler.shutdown()
        loop.run_until_complete(asyncio.sleep(0.05))
        assert scheduler.state == STATE_STOPPED
    finally:
        loop.close()


def test_start_without_a_loop_raises_runtime_error() -> None:
    scheduler = AsyncIOScheduler()
    with pytest.raises(RuntimeError, match="no running event loop"):
        scheduler.start()
    assert scheduler.state == STATE_STOPPED

    # nothing was half-started: starting inside a loop still works
    async def main() -> bool:
        scheduler.start()
        running = scheduler.running
        scheduler.shutdown()
        await asyncio.sleep(0.05)
        return running and not scheduler.running

    assert asyncio.run(main())


def test_closed_event_loop_option_is_replaced_by_the_running_loop() -> None:
    closed = asyncio.new_event_loop()
    closed.close()
    scheduler = AsyncIOScheduler(event_loop=closed)

    async def main() -> bool:
        ran_on = asyncio.get_running_loop().create_future()

        async def record_loop() -> None:
            ran_on.set_result(asyncio.get_running_loop())

        scheduler.add_job(record_loop)
        scheduler.start()
        same = await asyncio.wait_for(ran_on, PROMPT) is asyncio.get_running_loop()
        scheduler.shutdown()
        await asyncio.sleep(0.05)
        return same

    assert asyncio.run(main())


def test_restart_on_another_loop() -> None:
    scheduler = AsyncIOScheduler(timezone="UTC")
    events = EventRecorder()
    scheduler.add_listener(events)

    async def run_once(value: str) -> None:
        scheduler.start()
        scheduler.add_job(coroutine_job, args=[value])
        while len(events.of(EVENT_JOB_EXECUTED)) < (1 if value == "first" else 2):
            await asyncio.sleep(0.01)
        scheduler.shutdown()
        await asyncio.sleep(0.05)

    asyncio.run(asyncio.wait_for(run_once("first"), PROMPT))
    asyncio.run(asyncio.wait_for(run_once("second"), PROMPT))
    assert [event.retval for event in events.of(EVENT_JOB_EXECUTED)] == ["first", "second"]


def test_shutdown_cancels_running_coroutine_jobs(harness: AsyncIOHarness) -> None:
    scheduler = harness.create(timezone="UTC")
    events = EventRecorder()
    scheduler.add_listener(events)
    progress: list[str] = []

    async def long_job() -> None:
        progress.append("started")
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            progress.append("cancelled")
            raise
        progress.append("finished")

    scheduler.add_job(long_job)
    harness.start(scheduler)
    assert harness.wait_until(lambda: progress)
    harness.shutdown(scheduler, wait=True)
    assert harness.wait_until(lambda: "cancelled" in progress)
    assert progress == ["started", "cancelled"]
    assert not events.of(EVENT_JOB_EXECUTED)
    assert harness.wait_until(lambda: not scheduler._lookup_executor("default")._instances)


def test_shutdown_is_deferred_and_idempotent_on_the_loop(harness: AsyncIOHarness) -> None:
    scheduler = harness.create()
    events = EventRecorder()
    scheduler.add_listener(events)
    harness.start(scheduler)

    def shutdown_twice() -> bool:
        scheduler.shutdown()
        scheduler.shutdown()  # still running until the loop gets to it: no error
        return scheduler.running

    assert harness.call(shutdown_twice) is True
    assert harness.wait_until(lambda: not scheduler.running)
    harness.pump(0.1)
    assert events.codes.count(EVENT_SCHEDULER_SHUTDOWN) == 1
    with pytest.raises(SchedulerNotRunningError):
        scheduler.shutdown()


def test_wakeups_are_merged(harness: AsyncIOHarness) -> None:
    """Adding many jobs in one go costs one processing round, not one per job."""
    scheduler = harness.create(timezone="UTC")
    events = EventRecorder()
    scheduler.add_listener(events)
    far = utcnow() + timedelta(hours=1)
    calls = Calls(scheduler)
    harness.start(scheduler)
    assert harness.wait_until(lambda: len(calls) == 1)

    def add_many() -> None:
        for number in range(100):
            scheduler.add_job(coroutine_job, "date", run_date=far, args=[number])

    harness.call(add_many)
    harness.pump(0.3)
    assert len(calls) == 2
    harness.shutdown(scheduler)


def test_run_in_event_loop_decorator(harness: AsyncIOHarness) -> None:
    class CustomScheduler(AsyncIOScheduler):
        @run_in_event_loop
        def where(self, results: list[Any], value: str) -> str:
            results.append((threading.current_thread(), value))
            return "ignored"

    scheduler = CustomScheduler()
    results: list[Any] = []
    with pytest.raises(SchedulerNotRunningError):
        scheduler.where(results, "too early")

    harness.start(scheduler)
    assert scheduler.where(results, "value") is None
    assert harness.wait_until(lambda: results)
    assert results == [(harness.thread, "value")]
    assert CustomScheduler.where.__name__ == "where"
    harness.shutdown(scheduler)


def test_job_error_event_from_coroutine(harness: AsyncIOHarness) -> None:
    async def failing() -> None:
        await asyncio.sleep(0)
        raise RuntimeError("coroutine failed")

    scheduler = harness.create(timezone="UTC")
    events = EventRecorder()
    scheduler.add_listener(events)
    scheduler.add_job(failing, id="failing")
    harness.start(scheduler)
    assert harness.wait_until(lambda: events.of(EVENT_JOB_ERROR))
    error = events.of(EVENT_JOB_ERROR)[0]
    assert str(error.exception) == "coroutine failed"
    assert "failing" in error.traceback
    harness.shutdown(scheduler)


def is_submission_error(record: logging.LogRecord) -> bool:
    message = record.getMessage()
    return message.startswith('Error submitting job "coroutine_job') and "threads" in message


def test_coroutine_job_on_thread_pool_is_refused_clearly(
    harness: AsyncIOHarness, caplog: pytest.LogCaptureFixture
) -> None:
    """A coroutine function sent to a thread pool is an error at submission, not a coroutine
    that is never awaited."""
    scheduler = harness.create(timezone="UTC", executors={"threads": ThreadPoolExecutor(1)})
    events = EventRecorder()
    scheduler.add_listener(events)
    scheduler.add_job(coroutine_job, args=[1], executor="threads", id="misplaced")
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        with caplog.at_level(logging.ERROR, logger="quartzite.scheduler"):
            harness.start(scheduler)
            assert harness.wait_until(
                lambda: any(is_submission_error(record) for record in caplog.records)
            )
            harness.shutdown(scheduler)

    record = next(record for record in caplog.records if is_submission_error(record))
    assert record.exc_info is not None
    assert isinstance(record.exc_info[1], TypeError)
    assert "AsyncIOExecutor" in str(record.exc_info[1])
    assert not events.of(EVENT_JOB_EXECUTED)
