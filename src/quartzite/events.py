"""Event codes (bit flags) and the event objects passed to scheduler listeners."""

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
    "EVENT_JOB_REMOVED",
    "EVENT_JOB_SUBMITTED",
    "EVENT_SCHEDULER_PAUSED",
    "EVENT_SCHEDULER_RESUMED",
    "EVENT_SCHEDULER_SHUTDOWN",
    "EVENT_SCHEDULER_STARTED",
    "JobEvent",
    "JobExecutionEvent",
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


class SchedulerEvent:
    """An event that concerns the scheduler itself.

    :ivar code: the type code of this event
    :ivar alias: alias of the job store or executor that was added or removed (if applicable)
    """

    def __init__(self, code: int, alias: str | None = None) -> None:
        self.code = code
        self.alias = alias

    def __repr__(self) -> str:
        return f"<{self.__class__.__name__} (code={self.code})>"


class JobEvent(SchedulerEvent):
    """An event that concerns a job.

    :ivar job_id: identifier of the job in question
    :ivar jobstore: alias of the job store containing the job in question
    """

    def __init__(self, code: int, job_id: str, jobstore: str | None) -> None:
        # Attributes are set directly rather than through super().__init__(): events are built
        # for every run, and the chained calls cost more than the rest of the construction.
        self.code = code
        self.alias = None
        self.job_id = job_id
        self.jobstore = jobstore


class JobSubmissionEvent(JobEvent):
    """An event that concerns the submission of a job to its executor.

    :ivar scheduled_run_times: the run times the job was (or would have been) submitted for
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
    """An event that concerns the running of a job within its executor.

    :ivar scheduled_run_time: the time when the job was scheduled to be run
    :ivar retval: the return value of the successfully executed job
    :ivar exception: the exception raised by the job
    :ivar traceback: a formatted traceback for the exception
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
    """A job store could not restore a stored job and moved its raw state to its quarantine.

    :ivar error: the error that restoring the job raised (``"ExceptionType: message"``)
    :ivar quarantine: where the raw state was moved (e.g. the quarantine table or key name)
    """

    def __init__(
        self, code: int, job_id: str, jobstore: str | None, error: str, quarantine: str
    ) -> None:
        super().__init__(code, job_id, jobstore)
        self.error = error
        self.quarantine = quarantine
