"""The narrow view of a scheduler that jobs, job stores and executors are given.

Jobs, stores and executors hold a back-reference to the scheduler that owns them, but use only
a handful of its members. Typing that reference as the :class:`typing.Protocol` below, rather
than as ``BaseScheduler``, keeps those modules free of any import of ``quartzite.schedulers``
(even for type checking), documents exactly what they rely on, and lets a third-party
scheduler, or a test double, stand in as long as it offers these members.
"""

from __future__ import annotations

from datetime import tzinfo
from typing import TYPE_CHECKING, Any, ContextManager, Protocol

if TYPE_CHECKING:
    from .events import JobExecutionEvent, SchedulerEvent
    from .job import Job
    from .runs import JobRun

__all__ = ("RunOutcomeReporter", "SchedulerLike")


class SchedulerLike(Protocol):
    """What a job, a job store or an executor may use of its scheduler."""

    @property
    def timezone(self) -> tzinfo:
        """The zone that naive datetimes given to the scheduler are taken to be in."""

    def _create_lock(self) -> ContextManager[Any]:
        """Return a new lock suited to the scheduler's concurrency model (threads, greenlets)."""

    def _dispatch_event(self, event: SchedulerEvent) -> None:
        """Deliver ``event`` to the listeners whose mask matches its code."""

    def modify_job(self, job_id: str, jobstore: str | None = None, **changes: Any) -> Job:
        """Apply ``changes`` to a stored job and save it."""

    def reschedule_job(
        self, job_id: str, jobstore: str | None = None, trigger: Any = None, **trigger_args: Any
    ) -> Job:
        """Give a stored job a new trigger and compute its next run time from it."""

    def pause_job(self, job_id: str, jobstore: str | None = None) -> Job:
        """Keep a stored job but stop it from running until it is resumed."""

    def resume_job(self, job_id: str, jobstore: str | None = None) -> Job | None:
        """Compute a paused job's next run time again (removing it if there is none)."""

    def remove_job(self, job_id: str, jobstore: str | None = None) -> None:
        """Delete a job from its store."""

    def get_job_runs(
        self,
        job_id: str | None = None,
        jobstore: str | None = None,
        *,
        status: Any = None,
        since: Any = None,
        limit: int | None = 100,
    ) -> list[JobRun]:
        """The run records of a job, newest first."""

    def run_job_now(self, job_id: str, jobstore: str | None = None) -> JobRun:
        """Ask for one extra occurrence of a job now."""


class RunOutcomeReporter(Protocol):
    """A scheduler that records each run's outcome in one place before dispatching it.

    Optional: executors call ``_report_run_outcome`` only when the scheduler's class defines it
    and fall back to ``_dispatch_event`` otherwise (see ``BaseExecutor._report_outcome``).
    """

    def _report_run_outcome(self, event: JobExecutionEvent) -> None:
        """Record the outcome of one run (executed, error or missed), then dispatch ``event``."""
