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
    """Runs each job right away, inside ``submit_job``, in the thread processing due jobs.

    Nothing runs concurrently and the outcome events reach listeners before ``submit_job``
    returns, which makes runs easy to step through and tests deterministic. A slow job holds up
    the whole scheduler, so this is not meant for production use.

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
