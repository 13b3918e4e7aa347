"""The scheduler's processing loop: find due jobs, submit them, advance their schedules."""

from __future__ import annotations

from datetime import datetime, timedelta
from logging import Logger
from threading import TIMEOUT_MAX
from typing import TYPE_CHECKING, Any, ContextManager

from ..events import EVENT_JOB_MAX_INSTANCES, EVENT_JOB_SUBMITTED, JobSubmissionEvent
from ..executors.base import BaseExecutor, MaxInstancesReachedError
from ..jobstores.base import JobLookupError
from ..util import UTC
from ._states import STATE_PAUSED

if TYPE_CHECKING:
    from ..events import SchedulerEvent
    from ..job import Job
    from ..jobstores.base import BaseJobStore


class ProcessingMixin:
    """Implements :meth:`_process_jobs`, which every scheduler variant calls when it wakes up."""

    if TYPE_CHECKING:
        state: int
        timezone: Any
        jobstore_retry_interval: float
        _logger: Logger
        _jobstores: dict[str, BaseJobStore]
        _jobstores_lock: ContextManager[Any]

        def _current_time(self) -> datetime: ...
        def _lookup_executor(self, alias: str) -> BaseExecutor: ...
        def _dispatch_event(self, event: SchedulerEvent) -> None: ...
        def _wants_event(self, code: int) -> bool: ...
        def remove_job(self, job_id: str, jobstore: str | None = None) -> None: ...

    def _process_jobs(self) -> float | None:
        """Iterate through jobs in every job store, run all due jobs, and figure out how long to
        wait for the next round.

        :return: the number of seconds to wait until the next round, or ``None`` to wait until
            woken up
        """
        if self.state == STATE_PAUSED:
            self._logger.debug("Scheduler is paused -- not processing jobs")
            return None

        self._logger.debug("Looking for jobs to run")
        now = self._current_time()
        next_wakeup_time: datetime | None = None
        events: list[JobSubmissionEvent] = []

        with self._jobstores_lock:
            for jobstore_alias, jobstore in self._jobstores.items():
                try:
                    due_jobs = jobstore.get_due_jobs(now)
                except Exception as exc:
                    # Schedule a wakeup at least in jobstore_retry_interval seconds
                    self._logger.warning(
                        "Error getting due jobs from job store %r: %s", jobstore_alias, exc
                    )
                    next_wakeup_time = self._earliest(
                        next_wakeup_time, now + timedelta(seconds=self.jobstore_retry_interval)
                    )
                    continue

                stored = True
                try:
                    with jobstore.batch_writes():
                        for job in due_jobs:
                            stored &= self._process_job(job, jobstore_alias, jobstore, now, events)
                except Exception:
                    self._logger.exception(
                        "Error saving the processed jobs in job store %r", jobstore_alias
                    )
                    stored = False
                if not stored:
                    # The store failed to record some job's new schedule: retry later
                    next_wakeup_time = self._earliest(
                        next_wakeup_time, now + timedelta(seconds=self.jobstore_retry_interval)
                    )

                # Determine if we need to wake up earlier than the currently known time
                try:
                    jobstore_next_run_time = jobstore.get_next_run_time()
                except Exception as exc:
                    self._logger.warning(
                        "Error getting the next run time from job store %r: %s",
                        jobstore_alias,
                        exc,
                    )
                    jobstore_next_run_time = now + timedelta(seconds=self.jobstore_retry_interval)
                if jobstore_next_run_time:
                    next_wakeup_time = self._earliest(
                        next_wakeup_time, jobstore_next_run_time.astimezone(self.timezone)
                    )

        # Dispatch the collected submission events outside of the store loop
        for event in events:
            self._dispatch_event(event)

        # Determine the delay until this method should be called again
        if self.state == STATE_PAUSED or next_wakeup_time is None:
            self._logger.debug("No jobs; waiting until a job is added")
            return None

        # Timestamps, not datetimes: two datetimes in one zone subtract as wall-clock times,
        # which is wrong across a DST change.
        wait_seconds = next_wakeup_time.timestamp() - self._current_time().timestamp()
        wait_seconds = min(max(wait_seconds, 0), TIMEOUT_MAX)
        self._logger.debug(
            "Next wakeup is due at %s (in %f seconds)", next_wakeup_time, wait_seconds
        )
        return wait_seconds

    def _process_jobs_or_retry(self) -> float | None:
        """Run :meth:`_process_jobs`; if it fails, log the error and ask to be called again
        after ``jobstore_retry_interval`` (one bad round must never stop a scheduler)."""
        try:
            return self._process_jobs()
        except Exception:
            self._logger.exception("Error processing jobs; retrying later")
            return self.jobstore_retry_interval

    @staticmethod
    def _earliest(current: datetime | None, candidate: datetime) -> datetime:
        if current is None or candidate.astimezone(UTC) < current.astimezone(UTC):
            return candidate
        return current

    def _process_job(
        self,
        job: Job,
        jobstore_alias: str,
        jobstore: BaseJobStore,
        now: datetime,
        events: list[JobSubmissionEvent],
    ) -> bool:
        """Submit one due job and store its next run time (or remove it when finished).

        :return: ``False`` if the store failed to record the job's new schedule
        """
        try:
            executor = self._lookup_executor(job.executor)
        except BaseException:
            self._logger.error(
                'Executor lookup ("%s") failed for job "%s" -- removing it from the job store',
                job.executor,
                job,
            )
            self.remove_job(job.id, jobstore_alias)
            return True

        run_times = job._get_run_times(now)
        run_times = run_times[-1:] if run_times and job.coalesce else run_times
        if not run_times:
            return True

        try:
            executor.submit_job(job, run_times)
        except MaxInstancesReachedError:
            self._logger.warning(
                'Execution of job "%s" skipped: maximum number of running instances reached (%d)',
                job,
                job.max_instances,
            )
            events.append(
                JobSubmissionEvent(EVENT_JOB_MAX_INSTANCES, job.id, jobstore_alias, run_times)
            )
        except BaseException:
            self._logger.exception('Error submitting job "%s" to executor "%s"', job, job.executor)
        else:
            if self._wants_event(EVENT_JOB_SUBMITTED):
                events.append(
                    JobSubmissionEvent(EVENT_JOB_SUBMITTED, job.id, jobstore_alias, run_times)
                )

        # Update the job if it has a next execution time, otherwise remove it
        job_next_run = job.trigger.get_next_fire_time(run_times[-1], now)
        try:
            if job_next_run:
                job._modify(next_run_time=job_next_run)
                jobstore.update_job(job)
            else:
                self.remove_job(job.id, jobstore_alias)
        except JobLookupError:
            # The job removed itself (or was removed) while it ran: nothing left to update.
            self._logger.debug("Job %s was removed while being processed", job.id)
        except Exception:
            self._logger.exception(
                'Error saving the next run time of job "%s" in job store %r',
                job,
                jobstore_alias,
            )
            return False
        return True
