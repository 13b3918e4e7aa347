"""An executor that runs jobs in a Twisted reactor's thread pool."""

from __future__ import annotations

from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING, Any

from .._optional import missing_dependency
from .base import BaseExecutor, run_job

try:
    import twisted.internet  # noqa: F401
except ImportError as exc:
    raise missing_dependency("TwistedExecutor requires Twisted installed", "twisted", exc) from exc

if TYPE_CHECKING:
    from .._protocols import SchedulerLike
    from ..job import Job

__all__ = ("TwistedExecutor",)


class TwistedExecutor(BaseExecutor):
    """Runs jobs in the reactor's thread pool (``reactor.getThreadPool()``).

    Uses the scheduler's reactor (a :class:`~quartzite.schedulers.twisted.TwistedScheduler`'s),
    or the global reactor with another scheduler. The pool belongs to the reactor, which stops it
    when it shuts down: :meth:`shutdown` does not block the reactor (``wait`` is ignored), and
    jobs already running are not interrupted.

    Plugin alias: ``twisted``
    """

    _reactor: Any = None

    def start(self, scheduler: SchedulerLike, alias: str) -> None:
        super().start(scheduler, alias)
        reactor = getattr(scheduler, "_reactor", None)
        if reactor is None:
            from twisted.internet import reactor
        self._reactor = reactor

    def _do_submit_job(self, job: Job, run_times: list[datetime]) -> None:
        self._refuse_coroutine_function(job)
        pool = self._reactor.getThreadPool()
        pool.callInThreadWithCallback(
            partial(self._run_finished, job.id),
            run_job,
            job,
            job._jobstore_alias,
            run_times,
            self._logger.name,
        )

    def _run_finished(self, job_id: str, succeeded: bool, outcome: Any) -> None:
        """Callback of the reactor's pool: ``outcome`` is run_job's events, or a Failure."""
        if succeeded:
            self._run_job_success(job_id, outcome)
        else:
            self._run_job_error(job_id, outcome.value, outcome.tb)
