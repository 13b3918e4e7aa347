"""The job store interface and its errors."""

from __future__ import annotations

import logging
from abc import ABCMeta, abstractmethod
from contextlib import nullcontext
from datetime import datetime
from typing import TYPE_CHECKING, ContextManager

if TYPE_CHECKING:
    from ..job import Job
    from ..schedulers.base import BaseScheduler

__all__ = ("BaseJobStore", "ConflictingIdError", "JobLookupError", "TransientJobError")


class JobLookupError(KeyError):
    """Raised when the job store cannot find a job for update or removal."""

    def __init__(self, job_id: str) -> None:
        super().__init__(f"No job by the id of {job_id} was found")


class ConflictingIdError(KeyError):
    """Raised when the uniqueness of job IDs is being violated."""

    def __init__(self, job_id: str) -> None:
        super().__init__(f"Job identifier ({job_id}) conflicts with an existing job")


class TransientJobError(ValueError):
    """Raised when a job cannot be stored because its callable has no textual reference."""

    def __init__(self, job_id: str) -> None:
        super().__init__(
            f"Job ({job_id}) cannot be added to this job store because a reference to the "
            "callable could not be determined."
        )


class BaseJobStore(metaclass=ABCMeta):
    """Abstract base class that defines the interface that every job store must implement.

    A store keeps jobs ordered by ``next_run_time`` (paused jobs, with no next run time, last).
    Every read-modify-write of one job happens inside one store method, so that stores shared by
    several schedulers can make it atomic.
    """

    _scheduler: BaseScheduler | None = None
    _alias: str | None = None
    _logger = logging.getLogger("quartzite.jobstores")

    def start(self, scheduler: BaseScheduler | None, alias: str) -> None:
        """Called by the scheduler when the scheduler is started or when the store is added.

        :param scheduler: the scheduler that is starting this job store
        :param alias: alias of this job store as it was assigned to the scheduler
        """
        self._scheduler = scheduler
        self._alias = alias
        self._logger = logging.getLogger(f"quartzite.jobstores.{alias}")

    def shutdown(self) -> None:
        """Free any resources held by this job store."""

    def batch_writes(self) -> ContextManager[object]:
        """Group the writes the scheduler makes while processing one round of due jobs.

        The scheduler enters this context around the ``update_job`` / ``remove_job`` calls that
        advance the due jobs it has just submitted. Stores whose writes are expensive (one
        transaction each) override it to make them one transaction; the default does nothing.
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
        """Return the job with the given id, or ``None`` if there is none."""

    @abstractmethod
    def get_due_jobs(self, now: datetime) -> list[Job]:
        """Return the jobs whose ``next_run_time`` is ``now`` or earlier, earliest first."""

    @abstractmethod
    def get_next_run_time(self) -> datetime | None:
        """Return the earliest run time of the jobs in this store, or ``None`` if there are none."""

    @abstractmethod
    def get_all_jobs(self) -> list[Job]:
        """Return all jobs, ordered by next run time, paused jobs last."""

    @abstractmethod
    def add_job(self, job: Job) -> None:
        """Add the given job to this store.

        :raises ConflictingIdError: if a job with the same id already exists
        """

    @abstractmethod
    def update_job(self, job: Job) -> None:
        """Replace the job in the store with the given newer version.

        :raises JobLookupError: if the job does not exist
        """

    @abstractmethod
    def remove_job(self, job_id: str) -> None:
        """Remove the given job from this store.

        :raises JobLookupError: if the job does not exist
        """

    @abstractmethod
    def remove_all_jobs(self) -> None:
        """Remove all jobs from this store."""

    def __repr__(self) -> str:
        return f"<{self.__class__.__name__}>"
