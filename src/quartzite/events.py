"""What listeners receive: one bit-flag code per kind of event, and the event records.

Codes are distinct powers of two so that a listener's mask can OR several together
(``EVENT_JOB_EXECUTED | EVENT_JOB_ERROR``). The records form a small hierarchy by subject: the
scheduler and its components (:class:`SchedulerEvent`), one job (:class:`JobEvent`), the
hand-over of a job to its executor (:class:`JobSubmissionEvent`), the outcome of one run
(:class:`JobExecutionEvent`) and the quarantine of an unreadable stored job
(:class:`JobQuarantineEvent`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

__all__ = (
    "EVENT_ALL",
    "EVENT_ALL_JOBS_REMOVED",
    "EVENT_EXECUTOR_ADDED",
    "EVENT_EXECUTOR_REMOVED",
    "EVENT_JOBSTORE_ADDED",
    "EVENT_JOBSTORE_REMOVED",
    "EVENT_JOB_ADDED",
    "EVENT_JOB_ERROR",
    "EVENT_JOB_EXECUTED",
    "EVENT_JOB_MAX_INSTANCES",
    "EVENT_JOB_MISSED",
    "EVENT_JOB_MODIFIED",
    "EVENT_JOB_QUARANTINED",
    "EVENT_JOB_RECOVERED",
    "EVENT_JOB_REMOVED",
    "EVENT_JOB_SUBMITTED",
    "EVENT_SCHEDULER_PAUSED",
    "EVENT_SCHEDULER_RESUMED",
    "EVENT_SCHEDULER_SHUTDOWN",
    "EVENT_SCHEDULER_STARTED",
    "JobEvent",
    "JobExecutionEvent",
    "JobQuarantineEvent",
    "JobRecoveryEvent",
    "JobSubmissionEvent",
    "SchedulerEvent",
)

EVENT_SCHEDULER_STARTED = EVENT_SCHEDULER_START = 2**0
EVENT_SCHEDULER_SHUTDOWN = 2**1
EVENT_SCHEDULER_PAUSED = 2**2
EVENT_SCHEDULER_RESUMED = 2**3
EVENT_EXECUTOR_ADDED = 2**4
EVENT_EXECUTOR_REMOVED = 2**5
EVENT_JOBSTORE_ADDED = 2**6
EVENT_JOBSTORE_REMOVED = 2**7
EVENT_ALL_JOBS_REMOVED = 2**8
EVENT_JOB_ADDED = 2**9
EVENT_JOB_REMOVED = 2**10
EVENT_JOB_MODIFIED = 2**11
EVENT_JOB_EXECUTED = 2**12
EVENT_JOB_ERROR = 2**13
EVENT_JOB_MISSED = 2**14
EVENT_JOB_SUBMITTED = 2**15
EVENT_JOB_MAX_INSTANCES = 2**16
EVENT_ALL = (
    EVENT_SCHEDULER_STARTED
    | EVENT_SCHEDULER_SHUTDOWN
    | EVENT_SCHEDULER_PAUSED
    | EVENT_SCHEDULER_RESUMED
    | EVENT_EXECUTOR_ADDED
    | EVENT_EXECUTOR_REMOVED
    | EVENT_JOBSTORE_ADDED
    | EVENT_JOBSTORE_REMOVED
    | EVENT_ALL_JOBS_REMOVED
    | EVENT_JOB_ADDED
    | EVENT_JOB_REMOVED
    | EVENT_JOB_MODIFIED
    | EVENT_JOB_EXECUTED
    | EVENT_JOB_ERROR
    | EVENT_JOB_MISSED
    | EVENT_JOB_SUBMITTED
    | EVENT_JOB_MAX_INSTANCES
)

#: A persistent job store could not restore a stored job (its function was renamed, its state is
#: corrupt ...), so it moved the raw row to its quarantine and removed the job
#: (:class:`JobQuarantineEvent`). Beyond the 17 codes of APScheduler 3.x, and deliberately **not**
#: part of :data:`EVENT_ALL` (whose value is fixed, and whose listeners may only expect those 17):
#: listen with ``mask=EVENT_ALL | EVENT_JOB_QUARANTINED`` (or with this code alone).
EVENT_JOB_QUARANTINED = 2**17

#: Occurrences that a scheduler had taken were found interrupted (the scheduler died, or lost
#: them) and another scheduler recovered them: ran them again, or (for an ``at_most_once`` job,
#: or a job removed meanwhile) recorded them as interrupted (:class:`JobRecoveryEvent`). Not
#: part of :data:`EVENT_ALL`, like :data:`EVENT_JOB_QUARANTINED`.
EVENT_JOB_RECOVERED = 2**18


class SchedulerEvent:
    """Something happened to the scheduler or to one of its components.

    ``code`` is one of the ``EVENT_*`` flags. ``alias`` names the executor or job store that was
    added or removed (and the store emptied by ``remove_all_jobs``); it is ``None`` otherwise.
    """

    def __init__(self, code: int, alias: str | None = None) -> None:
        self.code = code
        self.alias = alias

    def __repr__(self) -> str:
        return f"<{self.__class__.__name__} (code={self.code})>"


class JobEvent(SchedulerEvent):
    """Something happened to one job: added, modified or removed.

    ``job_id`` is the job's id and ``jobstore`` the alias of the store holding it; ``alias`` is
    always ``None`` on job events.
    """

    def __init__(self, code: int, job_id: str, jobstore: str | None) -> None:
        # Attributes are set directly rather than through super().__init__(): events are built
        # for every run, and the chained calls cost more than the rest of the construction.
        self.code = code
        self.alias = None
        self.job_id = job_id
        self.jobstore = jobstore


class JobSubmissionEvent(JobEvent):
    """A due job was handed to its executor, or refused because too many runs were going on.

    ``scheduled_run_times`` lists the run times of that hand-over (one when the job coalesces).
    """

    def __init__(
        self, code: int, job_id: str, jobstore: str | None, scheduled_run_times: list[datetime]
    ) -> None:
        self.code = code
        self.alias = None
        self.job_id = job_id
        self.jobstore = jobstore
        self.scheduled_run_times = scheduled_run_times


class JobExecutionEvent(JobEvent):
    """The outcome of one run: it returned, it raised, or it started too late and was skipped.

    ``scheduled_run_time`` is the run time this outcome belongs to. On success ``retval`` holds
    what the function returned; on failure ``exception`` holds the exception and ``traceback``
    its traceback already formatted as text (the frames themselves are not kept alive).
    """

    def __init__(
        self,
        code: int,
        job_id: str,
        jobstore: str | None,
        scheduled_run_time: datetime,
        retval: Any = None,
        exception: BaseException | None = None,
        traceback: str | None = None,
    ) -> None:
        self.code = code
        self.alias = None
        self.job_id = job_id
        self.jobstore = jobstore
        self.scheduled_run_time = scheduled_run_time
        self.retval = retval
        self.exception = exception
        self.traceback = traceback


class JobQuarantineEvent(JobEvent):
    """A stored job could not be restored, so its store set the raw state aside and dropped it.

    ``error`` says why restoring failed (``"ExceptionType: message"``); ``quarantine`` says where
    the raw state now is (the quarantine table or key), so it can be inspected or repaired.
    """

    def __init__(
        self, code: int, job_id: str, jobstore: str | None, error: str, quarantine: str
    ) -> None:
        super().__init__(code, job_id, jobstore)
        self.error = error
        self.quarantine = quarantine


class JobRecoveryEvent(JobEvent):
    """Interrupted occurrences of a job were recovered from a scheduler that died.

    ``scheduled_run_times`` are the occurrences; ``previous_scheduler_id`` the scheduler that had
    taken them; ``rerun`` says whether they are being run again (``False``: recorded as
    interrupted, because the job is ``at_most_once`` or no longer exists).
    """

    def __init__(
        self,
        code: int,
        job_id: str,
        jobstore: str | None,
        scheduled_run_times: list[datetime],
        previous_scheduler_id: str | None,
        rerun: bool,
    ) -> None:
        super().__init__(code, job_id, jobstore)
        self.scheduled_run_times = scheduled_run_times
        self.previous_scheduler_id = previous_scheduler_id
        self.rerun = rerun
