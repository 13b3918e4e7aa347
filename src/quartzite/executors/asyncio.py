"""An executor that runs jobs on (or next to) an :mod:`asyncio` event loop."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ..util import iscoroutinefunction_partial
from .base import BaseExecutor, run_coroutine_job, run_job

if TYPE_CHECKING:
    from .._protocols import SchedulerLike
    from ..events import JobExecutionEvent
    from ..job import Job

__all__ = ("AsyncIOExecutor",)


class AsyncIOExecutor(BaseExecutor):
    """Runs jobs on the scheduler's asyncio event loop.

    A job whose function is a native coroutine function (``async def``, also wrapped in
    :func:`functools.partial`) is awaited in a task on the event loop. Any other function runs in
    the loop's default executor (usually a thread pool), so that it cannot block the loop.

    Meant for :class:`~quartzite.schedulers.asyncio.AsyncIOScheduler`, whose event loop it uses
    (the scheduler submits jobs from the loop's thread).

    :meth:`shutdown` cancels the tasks and futures of the runs that have not finished: a running
    coroutine gets :class:`asyncio.CancelledError` at its next ``await`` (a function already
    running in a thread cannot be interrupted, but its outcome is dropped). ``wait`` is ignored:
    waiting would block the very event loop that has to run the jobs.

    Plugin alias: ``asyncio``
    """

    _eventloop: asyncio.AbstractEventLoop

    def __init__(self) -> None:
        super().__init__()
        self._pending_futures: set[asyncio.Future[Any]] = set()

    def start(self, scheduler: SchedulerLike, alias: str) -> None:
        super().start(scheduler, alias)
        self._eventloop = scheduler._eventloop  # type: ignore[attr-defined]
        self._pending_futures = set()

    def shutdown(self, wait: bool = True) -> None:
        for future in self._pending_futures:
            if not future.done():
                future.cancel()

        self._pending_futures.clear()
        # Every unfinished run was just cancelled, including tasks that never started (which
        # therefore never report back): forget their instance counts.
        if self._lock is not None:
            with self._lock:
                self._instances.clear()

    def _do_submit_job(self, job: Job, run_times: list[datetime]) -> None:
        future: asyncio.Future[Any]
        if iscoroutinefunction_partial(job.func):
            # The task reports its own outcome (no done callback: one loop round trip less).
            future = self._eventloop.create_task(self._run_coroutine_job(job, run_times))
        else:
            future = self._eventloop.run_in_executor(
                None, run_job, job, job._jobstore_alias, run_times, self._logger.name
            )
            future.add_done_callback(lambda done: self._function_job_done(job, done))
        self._pending_futures.add(future)

    async def _run_coroutine_job(
        self, job: Job, run_times: list[datetime]
    ) -> list[JobExecutionEvent] | None:
        """The task of a coroutine job: runs it, then reports the outcome to the executor."""
        try:
            events = await run_coroutine_job(job, job._jobstore_alias, run_times, self._logger.name)
        except BaseException as exc:
            self._pending_futures.discard(asyncio.current_task())
            self._run_job_error(job.id, exc, exc.__traceback__)
            if not isinstance(exc, Exception):
                raise
            return None
        self._pending_futures.discard(asyncio.current_task())
        self._run_job_success(job.id, events)
        return events

    def _function_job_done(self, job: Job, future: asyncio.Future[Any]) -> None:
        """Done callback of a function job run in the loop's default executor."""
        self._pending_futures.discard(future)
        if future.cancelled():
            # Cancelled by shutdown(): not an error of the job, nothing to report.
            self._logger.info('Run of job "%s" was cancelled', job)
            return

        exception = future.exception()
        if exception is not None:
            self._run_job_error(job.id, exception, exception.__traceback__)
        else:
            self._run_job_success(job.id, future.result())
