"""The executor for TornadoScheduler: coroutines on the IOLoop, plain functions on threads."""

from __future__ import annotations

import asyncio
import concurrent.futures
from datetime import datetime
from typing import TYPE_CHECKING, Any

from .._optional import missing_dependency
from ..util import iscoroutinefunction_partial
from .base import BaseExecutor, _worker_count, run_coroutine_job, run_job

try:
    from tornado.gen import convert_yielded
except ImportError as exc:
    raise missing_dependency("TornadoExecutor requires tornado installed", "tornado", exc) from exc

if TYPE_CHECKING:
    from .._protocols import SchedulerLike
    from ..job import Job

__all__ = ("TornadoExecutor",)


class TornadoExecutor(BaseExecutor):
    """Awaits coroutine jobs on Tornado's event loop and sends plain functions to worker threads.

    Native coroutine functions (``async def``, also inside :func:`functools.partial`) are
    awaited on the loop running in the submitting thread, or else on the scheduler's IOLoop.
    Plain functions go to this executor's own thread pool, the ``executor`` attribute, with
    ``max_workers`` threads at most.

    :meth:`shutdown` never blocks the IOLoop (``wait`` is ignored): the pool stops taking work,
    and runs already in progress finish in the background.

    Plugin alias: ``tornado``
    """

    _ioloop: Any = None

    def __init__(self, max_workers: int | str = 10) -> None:
        super().__init__()
        self.executor = concurrent.futures.ThreadPoolExecutor(
            _worker_count("TornadoExecutor", max_workers)
        )

    def start(self, scheduler: SchedulerLike, alias: str) -> None:
        super().start(scheduler, alias)
        self._ioloop = getattr(scheduler, "_ioloop", None)

    def shutdown(self, wait: bool = True) -> None:
        # Waiting here would block the IOLoop, whose thread a job may need to finish.
        self.executor.shutdown(wait=False)

    def _do_submit_job(self, job: Job, run_times: list[datetime]) -> None:
        def callback(future: Any) -> None:
            try:
                events = future.result()
            except BaseException as exc:
                self._run_job_error(job.id, exc, exc.__traceback__)
            else:
                self._run_job_success(job.id, events)

        if not iscoroutinefunction_partial(job.func):
            future = self.executor.submit(
                run_job, job, job._jobstore_alias, run_times, self._logger.name
            )
            future.add_done_callback(callback)
            return

        def run_on_loop() -> None:
            coroutine = run_coroutine_job(job, job._jobstore_alias, run_times, self._logger.name)
            convert_yielded(coroutine).add_done_callback(callback)

        if _has_running_loop() or self._ioloop is None:
            run_on_loop()
        else:
            # Submitted from a thread without an event loop: start the coroutine on the IOLoop.
            self._ioloop.add_callback(run_on_loop)


def _has_running_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True
