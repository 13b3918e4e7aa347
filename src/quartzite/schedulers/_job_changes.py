"""Changing a job in place: the bodies of ``modify_job``, ``reschedule_job`` and ``resume_job``.

Each finds the job where :class:`~._jobs.JobCatalog` says it is (pending while the scheduler is
stopped, else in a store), changes it through ``Job._modify`` and writes it back to its store,
all under the store lock; then it tells the listeners and, since the change may have moved the
job's next run time earlier than the loop's current sleep, wakes a running scheduler. The
lookups, ``modify_job``, ``remove_job``, the clock and the event dispatch are called through the
scheduler, so that a replacement on the instance takes effect here too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .. import events as ev
from .._schedule import first_run_time
from ._states import STATE_RUNNING

if TYPE_CHECKING:
    from ..job import Job
    from .base import BaseScheduler

__all__ = ("JobChanges",)


class JobChanges:
    """Modifies, reschedules and resumes the jobs of one scheduler (see the module doc)."""

    def __init__(self, scheduler: BaseScheduler) -> None:
        self._scheduler = scheduler

    def modify(self, job_id: str, jobstore: str | None, changes: dict[str, Any]) -> Job:
        scheduler = self._scheduler
        with scheduler._jobstores_lock:
            job, jobstore = scheduler._lookup_job(job_id, jobstore)
            job._modify(**changes)
            if jobstore:
                scheduler._lookup_jobstore(jobstore).update_job(job)

        scheduler._dispatch_event(ev.JobEvent(ev.EVENT_JOB_MODIFIED, job_id, jobstore))
        if scheduler.state == STATE_RUNNING:
            scheduler.wakeup()
        return job

    def reschedule(
        self, job_id: str, jobstore: str | None, trigger: Any, trigger_args: dict[str, Any]
    ) -> Job:
        scheduler = self._scheduler
        trigger = scheduler._components.trigger_for_job(trigger, trigger_args)
        next_run_time = first_run_time(trigger, scheduler._current_time())
        return scheduler.modify_job(job_id, jobstore, trigger=trigger, next_run_time=next_run_time)

    def resume(self, job_id: str, jobstore: str | None) -> Job | None:
        scheduler = self._scheduler
        with scheduler._jobstores_lock:
            job, jobstore = scheduler._lookup_job(job_id, jobstore)
            next_run_time = first_run_time(job.trigger, scheduler._current_time())
            if next_run_time:
                return scheduler.modify_job(job_id, jobstore, next_run_time=next_run_time)
            scheduler.remove_job(job.id, jobstore)
            return None
