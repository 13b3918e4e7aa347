"""An executor that runs each job in a gevent greenlet."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from .._optional import missing_dependency
from .base import BaseExecutor, run_job

try:
    import gevent
except ImportError as exc:
    raise missing_dependency("GeventExecutor requires gevent installed", "gevent", exc) from exc

if TYPE_CHECKING:
    from ..job import Job

__all__ = ("GeventExecutor",)


class GeventExecutor(BaseExecutor):
    """Runs each job in a greenlet of its own.

    Jobs must cooperate with gevent (use gevent's blocking calls, or monkey-patch the standard
    library): a job that blocks without yielding to the hub stalls the scheduler and every other
    greenlet. :meth:`shutdown` with ``wait=True`` waits for the running greenlets to end.

    Plugin alias: ``gevent``
    """

    def __init__(self) -> None:
        super().__init__()
        self._greenlets: set[Any] = set()

    def shutdown(self, wait: bool = True) -> None:
        if wait:
            current = gevent.getcurrent()
            # A job that shuts the scheduler down cannot wait for itself to end.
            gevent.joinall([greenlet for greenlet in self._greenlets if greenlet is not current])

    def _do_submit_job(self, job: Job, run_times: list[datetime]) -> None:
        self._refuse_coroutine_function(job)

        def callback(greenlet: Any) -> None:
            self._greenlets.discard(greenlet)
            if not greenlet.successful():
                exception, traceback = greenlet.exc_info[1:]
                self._run_job_error(job.id, exception, traceback)
            elif isinstance(greenlet.value, gevent.GreenletExit):
                # Killed before it could run: not an error of the job, nothing to report.
                self._release_instance(job.id)
                self._logger.info('Run of job "%s" was killed', job)
            else:
                self._run_job_success(job.id, greenlet.value)

        greenlet = gevent.spawn(run_job, job, job._jobstore_alias, run_times, self._logger.name)
        self._greenlets.add(greenlet)
        greenlet.link(callback)
