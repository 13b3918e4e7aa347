"""Executors backed by :mod:`concurrent.futures` thread and process pools."""

from __future__ import annotations

import concurrent.futures
from abc import abstractmethod
from collections import deque
from datetime import datetime
from threading import Lock
from typing import TYPE_CHECKING, Any

from ..events import EVENT_JOB_ERROR, JobExecutionEvent
from .base import BaseExecutor, _pool_options, _worker_count, run_job

if TYPE_CHECKING:
    from .._protocols import SchedulerLike
    from ..job import Job

__all__ = ("BasePoolExecutor", "ProcessPoolExecutor", "ThreadPoolExecutor")


class BasePoolExecutor(BaseExecutor):
    """Shared by the two :mod:`concurrent.futures` executors: submit, collect, recreate."""

    @abstractmethod
    def __init__(self, pool: concurrent.futures.Executor) -> None:
        super().__init__()
        self._pool = pool
        self._pool_is_shut_down = False

    def start(self, scheduler: SchedulerLike, alias: str) -> None:
        super().start(scheduler, alias)
        # A scheduler may be started again after a shutdown: give it a working pool.
        if self._pool_is_shut_down:
            self._pool = self._create_pool()
            self._pool_is_shut_down = False

    def _create_pool(self) -> concurrent.futures.Executor:
        """Create a fresh pool to replace one that was shut down (subclasses override this)."""
        return self._pool

    def _do_submit_job(self, job: Job, run_times: list[datetime]) -> None:
        self._refuse_coroutine_function(job)

        def callback(future: concurrent.futures.Future[Any]) -> None:
            try:
                events = future.result()
            except BaseException as exc:
                self._run_job_failed(job, run_times, exc)
            else:
                self._run_job_success(job.id, events)

        future = self._submit(job, run_times)
        future.add_done_callback(callback)

    def _submit(self, job: Job, run_times: list[datetime]) -> concurrent.futures.Future[Any]:
        return self._pool.submit(run_job, job, job._jobstore_alias, run_times, self._logger.name)

    def _run_job_failed(self, job: Job, run_times: list[datetime], exc: BaseException) -> None:
        """``run_job`` itself failed (for instance its worker process died)."""
        traceback = getattr(exc, "__traceback__", None)
        self._run_job_error(job.id, exc, traceback)

    def shutdown(self, wait: bool = True) -> None:
        self._pool.shutdown(wait)
        self._pool_is_shut_down = True


class ThreadPoolExecutor(BasePoolExecutor):
    """Runs jobs on worker threads of a :class:`concurrent.futures.ThreadPoolExecutor`.

    The default executor of the thread-based schedulers. ``max_workers`` bounds how many jobs
    run at the same time (it may be a numeric string, as configuration files give it);
    ``pool_kwargs`` are extra keyword arguments for the pool (``thread_name_prefix`` ...).

    Plugin alias: ``threadpool``
    """

    def __init__(self, max_workers: int | str = 10, pool_kwargs: dict[str, Any] | None = None):
        self._max_workers = _worker_count("ThreadPoolExecutor", max_workers)
        self._pool_kwargs = _pool_options("ThreadPoolExecutor", pool_kwargs)
        # Submitted runs wait in this queue; at most max_workers pool tasks drain it. A burst of
        # due jobs then costs one deque append per job instead of a Future, a work item and a
        # thread wake-up per job.
        self._queue: deque[tuple[Job, list[datetime]]] = deque()
        self._queue_lock = Lock()
        self._draining_tasks = 0
        super().__init__(self._create_pool())

    def _create_pool(self) -> concurrent.futures.ThreadPoolExecutor:
        return concurrent.futures.ThreadPoolExecutor(self._max_workers, **self._pool_kwargs)

    def _do_submit_job(self, job: Job, run_times: list[datetime]) -> None:
        self._refuse_coroutine_function(job)
        item = (job, run_times)
        self._queue.append(item)
        with self._queue_lock:
            start_task = self._draining_tasks < self._max_workers
            if start_task:
                self._draining_tasks += 1

        if start_task:
            try:
                self._pool.submit(self._drain_queue)
            except BaseException:
                with self._queue_lock:
                    self._draining_tasks -= 1
                    try:
                        self._queue.remove(item)
                    except ValueError:  # another task took it meanwhile
                        return
                raise

    def _drain_queue(self) -> None:
        """Run queued jobs until the queue is empty (runs in a pool thread)."""
        queue = self._queue
        while True:
            try:
                job, run_times = queue.popleft()  # atomic: no lock needed to take an item
            except IndexError:
                # Stop only if no item was appended since the failed pop; the submitter
                # checks the task count under the same lock after appending.
                with self._queue_lock:
                    if queue:
                        continue
                    self._draining_tasks -= 1
                    return

            try:
                events = run_job(job, job._jobstore_alias, run_times, self._logger.name)
            except BaseException as exc:
                self._run_job_failed(job, run_times, exc)
            else:
                self._run_job_success(job.id, events)


class ProcessPoolExecutor(BasePoolExecutor):
    """Runs jobs in worker processes of a :class:`concurrent.futures.ProcessPoolExecutor`.

    For CPU-bound jobs, which threads would serialize on the GIL. Workers start with the
    ``spawn`` method on every platform, so a job's function must be importable by reference
    and the job with its arguments must pickle. When a worker dies, the pool breaks: it is
    replaced by a fresh one, and each run that was in flight is reported as an
    :data:`~quartzite.events.EVENT_JOB_ERROR` event. ``max_workers`` bounds the processes;
    ``pool_kwargs`` go to the pool (``mp_context`` defaults to the spawn context).

    Plugin alias: ``processpool``
    """

    def __init__(self, max_workers: int | str = 10, pool_kwargs: dict[str, Any] | None = None):
        import multiprocessing  # costly to import; only when a process pool is really wanted

        self._max_workers = _worker_count("ProcessPoolExecutor", max_workers)
        self.pool_kwargs = _pool_options("ProcessPoolExecutor", pool_kwargs)
        self.pool_kwargs.setdefault("mp_context", multiprocessing.get_context("spawn"))
        super().__init__(self._create_pool())

    def _create_pool(self) -> concurrent.futures.ProcessPoolExecutor:
        return concurrent.futures.ProcessPoolExecutor(self._max_workers, **self.pool_kwargs)

    def _submit(self, job: Job, run_times: list[datetime]) -> concurrent.futures.Future[Any]:
        from concurrent.futures.process import BrokenProcessPool

        try:
            return super()._submit(job, run_times)
        except BrokenProcessPool:
            self._logger.warning("Process pool is broken; replacing pool with a fresh instance")
            self._pool.shutdown(wait=False)
            self._pool = self._create_pool()
            return super()._submit(job, run_times)

    def _run_job_failed(self, job: Job, run_times: list[datetime], exc: BaseException) -> None:
        from concurrent.futures.process import BrokenProcessPool

        super()._run_job_failed(job, run_times, exc)
        if isinstance(exc, BrokenProcessPool):
            # The worker died before reporting: each run time ends as an error, as if it raised.
            for run_time in run_times:
                self._report_outcome(
                    JobExecutionEvent(
                        EVENT_JOB_ERROR, job.id, job._jobstore_alias, run_time, exception=exc
                    )
                )
