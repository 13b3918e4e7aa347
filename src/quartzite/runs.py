"""The record of one occurrence of a job: :class:`JobRun`, and its :class:`RunStatus`.

An occurrence is a job id plus a scheduled run time. A store that keeps run records writes one
record per occurrence when a scheduler takes it (status ``running``; ``pending`` first when it was
asked for with run-now), and the scheduler finishes the record with the outcome when the run
ends. That one record is at once the job's history, the marker of a run in flight (which another
scheduler recovers if the one running it dies) and the key that keeps an occurrence from being
taken twice. See the user guide's "Run history and results" and "Running several schedulers".
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any, NamedTuple

__all__ = ("FINISHED_STATUSES", "CurrentRun", "JobRun", "RunStatus", "current_run")


class RunStatus(str, Enum):
    """Where an occurrence stands. The values are the text stores write."""

    #: Asked for with run-now; no scheduler has taken it yet.
    PENDING = "pending"
    #: Taken by a scheduler and handed to an executor; not finished yet.
    RUNNING = "running"
    #: The function returned.
    SUCCESS = "success"
    #: The function raised (the record keeps the exception and its traceback).
    ERROR = "error"
    #: Not run: it would have started later than the job's misfire grace time allows.
    MISSED = "missed"
    #: Not run: the job already had ``max_instances`` runs going on, across all schedulers.
    MAX_INSTANCES = "max_instances"
    #: The scheduler running it died (or lost the store) before it finished; with the job's
    #: default policy another scheduler runs it again (``recovered`` is then set on the record).
    INTERRUPTED = "interrupted"
    #: The run exceeded its time limit.
    TIMEOUT = "timeout"

    def __str__(self) -> str:
        return self.value

    @property
    def finished(self) -> bool:
        """Whether the record is final (neither pending nor running)."""
        return self not in (RunStatus.PENDING, RunStatus.RUNNING)


#: The statuses of records that will not change any more.
FINISHED_STATUSES = frozenset(status for status in RunStatus if status.finished)


@dataclass(frozen=True)
class JobRun:
    """One occurrence of a job, as its store recorded it.

    Times are aware datetimes in UTC. ``started_at`` is when the scheduler took the occurrence
    and handed it to its executor; ``finished_at`` when the outcome was reported.
    """

    #: The job's id (the job may have been removed since: records outlive their job).
    job_id: str
    #: The run time the occurrence was due at (for run-now: the moment it was asked for).
    scheduled_run_time: datetime
    status: RunStatus
    #: The scheduler that took it (``None`` while pending).
    scheduler_id: str | None = None
    #: The alias of the store the record came from (set when a scheduler reads it).
    jobstore: str | None = None
    #: 1 for the first attempt; one more for each recovery after an interruption.
    attempt: int = 1
    started_at: datetime | None = None
    finished_at: datetime | None = None
    #: ``module.QualifiedName`` of the exception an erroring run raised.
    exception_type: str | None = None
    #: ``str()`` of that exception.
    exception_message: str | None = None
    #: The formatted traceback of that exception.
    traceback: str | None = None
    #: What the function returned, when the store's serializer could keep it (see the store's
    #: ``max_return_value_size``); ``None`` otherwise.
    return_value: Any = None
    #: Run again by another scheduler after the one that first took it died.
    recovered: bool = False
    #: Asked for with ``run_job_now()`` / ``Job.run_now()`` rather than due by the trigger.
    manual: bool = False

    @property
    def duration(self) -> float | None:
        """Seconds from ``started_at`` to ``finished_at`` (``None`` until both are known)."""
        if self.started_at is None or self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()


class CurrentRun(NamedTuple):
    """The occurrence a job function is running for (see :func:`current_run`)."""

    job_id: str
    scheduled_run_time: datetime
    jobstore: str | None


_current_run: ContextVar[CurrentRun | None] = ContextVar("quartzite_current_run", default=None)


def current_run() -> CurrentRun | None:
    """Inside a job function: which occurrence is being run (``None`` outside of one).

    Set by the executors around each call, in threads, processes, greenlets and coroutines
    alike, so a job can, for instance, make its side effects idempotent per occurrence
    (``job_id`` + ``scheduled_run_time`` is unique).
    """
    return _current_run.get()
