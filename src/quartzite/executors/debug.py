"""An executor that runs jobs synchronously, in the scheduler's own thread."""

from __future__ import annotations

import sys
from datetime import datetime
from typing import TYPE_CHECKING

from .base import BaseExecutor, run_job

if TYPE_CHECKING:
    from ..job import Job

__all__ = ("DebugExecutor",)


class DebugExecutor(BaseExecutor):
    """A special executor that executes the target callable directly instead of deferring it.

    Useful for debugging and tests: the job's events are dispatched before ``submit_job``
    returns.

    Plugin alias: ``debug``
    """

    def _do_submit_job(self, job: Job, run_times: list[datetime]) -> None:
        try:
            events = run_job(job, job._jobstore_alias, run_times, self._logger.name)
        except BaseException:
            exc, tb = sys.exc_info()[1:]
            assert exc is not None
            self._run_job_error(job.id, exc, tb)
        else:
            self._run_job_success(job.id, events)
