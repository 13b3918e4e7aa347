"""The job store interface and its errors.

A job store is the scheduler's only memory of its jobs: the scheduler asks it what is due,
when the next job is due, and hands it every change. The errors carry the offending job id
(``job_id``) as well as the message the API contract fixes, so callers need not parse text.
"""

from __future__ import annotations

import logging
from abc import ABCMeta, abstractmethod
from contextlib import nullcontext
from datetime import datetime
from typing import TYPE_CHECKING, ContextManager

if TYPE_CHECKING:
    from .._protocols import SchedulerLike as BaseScheduler
    from ..job import Job

__all__ = (
    "BaseJobStore",
    "ConflictingIdError",
    "JobLookupError",
    "TransientJobError",
    "UnreadableJobError",
)


class JobLookupError(KeyError):
    """No job with this id is in the store (or in any store, when the scheduler searched all)."""

    def __init__(self, job_id: str) -> None:
        self.job_id = job_id
        super().__init__(f"No job by the id of {job_id} was found")


class ConflictingIdError(KeyError):
    """A job with this id is in the store already; ids are unique within a store."""

    def __init__(self, job_id: str) -> None:
        self.job_id = job_id
        super().__init__(f"Job identifier ({job_id}) conflicts with an existing job")


class UnreadableJobError(ValueError):
    """A stored job could not be restored, and the store was told not to quarantine it
    (``quarantine_unreadable = False``): nothing was changed in the store."""

    def __init__(self, job_id: str, error: str) -> None:
        self.job_id = job_id
        self.error = error
        super().__init__(f'The stored job "{job_id}" cannot be restored here: {error}')


class TransientJobError(ValueError):
    """The job's function has no ``"module:qualname"`` reference (a lambda, a nested function),
    so a store that persists jobs cannot write it down."""

    def __init__(self, job_id: str) -> None:
        self.job_id = job_id
        super().__init__(
            f"Job ({job_id}) cannot be added to this job store because a reference to the "
            "callable could not be determined."
        )


class BaseJobStore(metaclass=ABCMeta):
    """What the scheduler needs from a place that keeps jobs.

    Jobs are kept in order of ``next_run_time``, with paused jobs (no next run time) after all
    the others. Each change to one job is a single method call here, never a read followed by a
    separate write in the scheduler, so a store that several schedulers share can make every
    change atomic on its side. Subclasses implement the abstract methods; :meth:`start`,
    :meth:`shutdown`, :meth:`batch_writes` and :meth:`batch_adds` have defaults.
    """

    _scheduler: BaseScheduler | None = None
    _alias: str | None = None
    _logger = logging.getLogger("quartzite.jobstores")

    def start(self, scheduler: BaseScheduler | None, alias: str) -> None:
        """Attach the store to ``scheduler`` under ``alias``; the scheduler calls this when it
        starts, or when the store is added to a running scheduler.

        Stores that need a connection or a table open or create it here.

        :param scheduler: the scheduler the store now serves (tests pass ``None``)
        :param alias: the name the scheduler knows the store by; it names the store's logger
        """
        self._scheduler = scheduler
        self._alias = alias
        self._logger = logging.getLogger(f"quartzite.jobstores.{alias}")

    def shutdown(self) -> None:
        """Release connections and other resources; the scheduler calls this when it stops."""

    def release_thread(self) -> None:
        """Called in a thread of the scheduler's own (the loop of a background scheduler, the
        run recorder, the check-in thread) just before it ends: free what this thread holds in
        the store, such as a database connection. The default does nothing."""

    def batch_writes(self) -> ContextManager[object]:
        """Group the writes the scheduler makes while processing one round of due jobs.

        The scheduler enters this context around the ``update_job`` / ``remove_job`` calls that
        advance the due jobs it has just submitted. Stores whose writes are expensive (one
        transaction each) override it to make them one transaction; the default does nothing.
        """
        return nullcontext()

    def batch_adds(self) -> ContextManager[object]:
        """Group the adds the scheduler makes as it starts (the jobs added before ``start()``).

        Inside the block ``add_job`` keeps its contract, raising
        :class:`ConflictingIdError` at once; a store may make the added jobs durable together
        when the block ends (one transaction). Should the block end with an exception, the jobs
        added before it stay added. The default does nothing.
        """
        return nullcontext()

    def _fix_paused_jobs_sorting(self, jobs: list[Job]) -> None:
        """Move a leading run of paused jobs (those with no next run time) to the end, in place."""
        for index, job in enumerate(jobs):
            if job.next_run_time is not None:
                if index > 0:
                    paused_jobs = jobs[:index]
                    del jobs[:index]
                    jobs.extend(paused_jobs)
                break

    @abstractmethod
    def lookup_job(self, job_id: str) -> Job | None:
        """The job stored under ``job_id``, or ``None`` when the store has no such job."""

    @abstractmethod
    def get_due_jobs(self, now: datetime) -> list[Job]:
        """Every job due by ``now`` (next run time at or before it), the earliest first."""

    @abstractmethod
    def get_next_run_time(self) -> datetime | None:
        """When the first job is due, or ``None`` if every job is paused or there are none."""

    @abstractmethod
    def get_all_jobs(self) -> list[Job]:
        """Every job, the soonest due first and the paused ones at the end."""

    @abstractmethod
    def add_job(self, job: Job) -> None:
        """Keep ``job``, which must have a next run time set (or ``None`` when paused).

        :raises ConflictingIdError: when the store holds a job with this id already
        """

    @abstractmethod
    def update_job(self, job: Job) -> None:
        """Store ``job`` in place of the stored job with its id (state and next run time).

        :raises JobLookupError: when no job with this id is stored
        """

    @abstractmethod
    def remove_job(self, job_id: str) -> None:
        """Forget the job stored under ``job_id``.

        :raises JobLookupError: when no job with this id is stored
        """

    @abstractmethod
    def remove_all_jobs(self) -> None:
        """Forget every job in the store."""

    def __repr__(self) -> str:
        return f"<{self.__class__.__name__}>"
