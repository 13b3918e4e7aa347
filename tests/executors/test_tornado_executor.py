"""TornadoExecutor: coroutines on the running loop (or the scheduler's IOLoop), functions in
its thread pool."""

from __future__ import annotations

import asyncio
import threading
from datetime import datetime, timezone
from typing import Any

import pytest

pytest.importorskip("tornado")

from tornado.ioloop import IOLoop

from quartzite.executors.tornado import TornadoExecutor
from quartzite.schedulers.tornado import TornadoScheduler
from support import PoolSpy


async def waiter(fail: bool) -> Any:
    await asyncio.sleep(0.01)
    if fail:
        raise Exception("dummy error")
    return threading.current_thread()


def where_am_i() -> threading.Thread:
    return threading.current_thread()


@pytest.mark.parametrize("fail", [False, True], ids=["success", "failure"])
def test_coroutine_job_on_the_running_loop(fail: bool) -> None:
    async def main() -> Any:
        scheduler = TornadoScheduler(timezone="UTC")
        scheduler.start(paused=True)
        executor = TornadoExecutor()
        executor.start(scheduler, "default")
        future = asyncio.get_running_loop().create_future()
        executor._run_job_success = lambda job_id, events: future.set_result(events)  # type: ignore[method-assign]
        executor._run_job_error = lambda job_id, exc, tb: future.set_exception(exc)  # type: ignore[method-assign]
        job = scheduler.add_job(waiter, "interval", seconds=1, args=[fail])
        executor.submit_job(job, [datetime.now(timezone.utc)])
        try:
            return await future
        finally:
            executor.shutdown()

    events = asyncio.run(main())
    assert len(events) == 1
    if fail:
        assert str(events[0].exception) == "dummy error"
    else:
        assert events[0].retval is threading.current_thread()


def test_submissions_from_other_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    pools = PoolSpy(monkeypatch)
    """Submitted from a thread without an event loop, a coroutine runs on the scheduler's
    IOLoop and a function in the executor's pool."""
    started: dict[str, Any] = {}
    ready = threading.Event()

    def run_io_loop() -> None:
        asyncio.set_event_loop(asyncio.new_event_loop())
        started["ioloop"] = IOLoop.current()
        ready.set()
        started["ioloop"].start()

    thread = threading.Thread(target=run_io_loop)
    thread.start()
    assert ready.wait(5)
    ioloop = started["ioloop"]
    try:
        scheduler = TornadoScheduler(io_loop=ioloop, timezone="UTC")
        scheduler.start(paused=True)  # gives jobs their defaults; never processes
        executor = TornadoExecutor(max_workers="2")
        results: dict[str, Any] = {}
        done = threading.Event()

        def success(job_id: str, events: list[Any]) -> None:
            results[job_id] = events[0].retval
            if len(results) == 2:
                done.set()

        executor._run_job_success = success  # type: ignore[method-assign]
        executor.start(scheduler, "default")
        coroutine_job = scheduler.add_job(waiter, args=[False], id="coroutine")
        function_job = scheduler.add_job(where_am_i, id="function")
        executor.submit_job(coroutine_job, [datetime.now(timezone.utc)])
        executor.submit_job(function_job, [datetime.now(timezone.utc)])
        assert done.wait(5)
        assert results["coroutine"] is thread
        assert results["function"] not in (thread, threading.current_thread())
        # the thread pool behind the executor's public ``executor`` was asked for 2 workers
        workers = [count for _, count, _, pool in pools.created if pool is executor.executor]
        assert workers == [2]
        executor.shutdown()
        with pytest.raises(RuntimeError):
            executor.executor.submit(where_am_i)
        scheduler.shutdown()
    finally:
        ioloop.add_callback(ioloop.stop)
        thread.join(5)
        ioloop.close(all_fds=True)
