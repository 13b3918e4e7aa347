"""AsyncIOExecutor on a real event loop (each test runs its own loop with ``asyncio.run``)."""

from __future__ import annotations

import asyncio
import functools
import logging
import threading
from datetime import datetime, timezone
from typing import Any, Callable

import pytest

from quartzite.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED
from quartzite.executors.asyncio import AsyncIOExecutor
from quartzite.executors.base import MaxInstancesReachedError
from quartzite.schedulers.asyncio import AsyncIOScheduler
from support import run_slot_is_free


async def waiter(delay: float, fail: bool) -> bool:
    await asyncio.sleep(delay)
    if fail:
        raise Exception("dummy error")
    return True


def where_am_i() -> threading.Thread:
    return threading.current_thread()


def run_with_executor(body: Callable[[AsyncIOScheduler, AsyncIOExecutor], Any]) -> Any:
    """Run ``await body(scheduler, executor)`` on a fresh loop, with a paused scheduler and a
    started executor; both are shut down afterwards."""

    async def main() -> Any:
        scheduler = AsyncIOScheduler(timezone="UTC")
        scheduler.start(paused=True)
        executor = AsyncIOExecutor()
        executor.start(scheduler, "default")
        try:
            return await body(scheduler, executor)
        finally:
            executor.shutdown()
            scheduler.shutdown(False)
            await asyncio.sleep(0)

    return asyncio.run(main())


def capture_outcome(executor: AsyncIOExecutor) -> asyncio.Future[Any]:
    """Replace the executor's completion hooks with ones that resolve a future."""
    future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
    executor._run_job_success = lambda job_id, events: future.set_result(events)  # type: ignore[method-assign]
    executor._run_job_error = lambda job_id, exc, tb: future.set_exception(exc)  # type: ignore[method-assign]
    return future


@pytest.mark.parametrize("fail", [False, True], ids=["success", "failure"])
def test_coroutine_job_is_awaited(fail: bool) -> None:
    async def body(scheduler: AsyncIOScheduler, executor: AsyncIOExecutor) -> Any:
        outcome = capture_outcome(executor)
        job = scheduler.add_job(waiter, "interval", seconds=1, args=[0.01, fail])
        executor.submit_job(job, [datetime.now(timezone.utc)])
        assert len(executor._pending_futures) == 1
        return await outcome

    events = run_with_executor(body)
    assert len(events) == 1
    if fail:
        assert events[0].code == EVENT_JOB_ERROR
        assert str(events[0].exception) == "dummy error"
    else:
        assert events[0].code == EVENT_JOB_EXECUTED
        assert events[0].retval is True


def test_partial_wrapped_coroutine_function_is_awaited() -> None:
    async def body(scheduler: AsyncIOScheduler, executor: AsyncIOExecutor) -> Any:
        outcome = capture_outcome(executor)
        job = scheduler.add_job(functools.partial(waiter, 0, False), "interval", seconds=1)
        executor.submit_job(job, [datetime.now(timezone.utc)])
        return await outcome

    assert run_with_executor(body)[0].retval is True


def test_plain_function_runs_in_the_loops_default_executor() -> None:
    async def body(scheduler: AsyncIOScheduler, executor: AsyncIOExecutor) -> Any:
        outcome = capture_outcome(executor)
        job = scheduler.add_job(where_am_i, "interval", seconds=1)
        executor.submit_job(job, [datetime.now(timezone.utc)])
        return await outcome

    events = run_with_executor(body)
    assert events[0].retval is not threading.current_thread()


def test_finished_runs_are_forgotten() -> None:
    async def body(scheduler: AsyncIOScheduler, executor: AsyncIOExecutor) -> Any:
        job = scheduler.add_job(waiter, "interval", seconds=1, args=[0, False])
        now = datetime.now(timezone.utc)
        executor.submit_job(job, [now])
        busy = not run_slot_is_free(executor, job, [now])  # max_instances=1: still running
        await settle(executor)
        freed = run_slot_is_free(executor, job, [now])
        await settle(executor)
        return busy, freed, set(executor._pending_futures)

    assert run_with_executor(body) == (True, True, set())


async def settle(executor: AsyncIOExecutor) -> None:
    """Wait (at most a second) until the executor has no run in progress."""
    for _ in range(100):
        if not executor._pending_futures:
            return
        await asyncio.sleep(0.01)


def test_max_instances() -> None:
    async def body(scheduler: AsyncIOScheduler, executor: AsyncIOExecutor) -> None:
        job = scheduler.add_job(waiter, "interval", seconds=1, args=[0.5, False])
        executor.submit_job(job, [datetime.now(timezone.utc)])
        with pytest.raises(MaxInstancesReachedError):
            executor.submit_job(job, [datetime.now(timezone.utc)])

    run_with_executor(body)


def test_shutdown_cancels_pending_futures(caplog: pytest.LogCaptureFixture) -> None:
    async def body(scheduler: AsyncIOScheduler, executor: AsyncIOExecutor) -> Any:
        coroutine_job = scheduler.add_job(waiter, "interval", seconds=1, args=[10, False])
        thread_job = scheduler.add_job(where_am_i, "interval", seconds=1)
        executor.submit_job(coroutine_job, [datetime.now(timezone.utc)])
        executor.submit_job(thread_job, [datetime.now(timezone.utc)])
        futures = set(executor._pending_futures)
        assert len(futures) == 2

        executor.shutdown()
        assert not executor._pending_futures
        for future in futures:
            with pytest.raises(asyncio.CancelledError):
                await future
        await asyncio.sleep(0)
        # The cancelled runs no longer count against max_instances=1.
        now = datetime.now(timezone.utc)
        freed = [run_slot_is_free(executor, job, [now]) for job in (coroutine_job, thread_job)]
        executor.shutdown()
        return freed

    with caplog.at_level(logging.INFO, logger="quartzite.executors.default"):
        assert run_with_executor(body) == [True, True]
    # a cancelled run is not an error of the job
    assert not [record for record in caplog.records if record.levelno >= logging.ERROR]
    assert any("was cancelled" in record.getMessage() for record in caplog.records)


def test_run_job_failure_goes_to_run_job_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """If ``run_job`` itself fails (not the job), the executor reports it through
    ``_run_job_error`` (looked up when the run ends)."""

    def broken_run_job(*args: Any) -> None:
        raise RuntimeError("run_job broke")

    monkeypatch.setattr("quartzite.executors.asyncio.run_job", broken_run_job)

    async def body(scheduler: AsyncIOScheduler, executor: AsyncIOExecutor) -> Any:
        outcome = capture_outcome(executor)
        job = scheduler.add_job(where_am_i, "interval", seconds=1)
        executor.submit_job(job, [datetime.now(timezone.utc)])
        with pytest.raises(RuntimeError, match="run_job broke"):
            await outcome

    run_with_executor(body)


def test_plugin_alias() -> None:
    async def main() -> Any:
        scheduler = AsyncIOScheduler()
        scheduler.add_executor("asyncio", "extra")
        return scheduler._lookup_executor("extra")

    assert isinstance(asyncio.run(main()), AsyncIOExecutor)
