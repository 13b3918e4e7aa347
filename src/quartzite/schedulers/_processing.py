"""One processing round: submit what is due in every job store, then say how long to sleep.

A store that claims (:func:`~quartzite.jobstores.claims.claims_for_scheduler`: the memory, SQL
and Redis stores) is handed to :class:`~._claiming.ClaimingRound`, which takes due occurrences
atomically so that several schedulers may share the store. Every other store (one written for
APScheduler 3.x, or a subclass overriding its ``get_due_jobs``/``update_job``) takes the
contract's path below; both end by asking the store for its next run time, bounded by its poll
interval when other processes can change it without telling us.

The contract's path, for each job store in turn (holding the scheduler's job store lock):

1. ask the store for the jobs due at ``now``; a store that fails is retried after
   ``jobstore_retry_interval`` and the round goes on with the next store;
2. for each due job, ask :func:`quartzite._schedule.due_runs` (the one place where run times are
   computed) for the run times to submit now and the job's next run time, hand the run times to
   the job's executor, then store the next run time (or remove the finished job);
3. ask the store for its earliest next run time.

Submission events are collected and dispatched after the stores are released, so a listener that
adds a job never waits on the lock. The loop is safe whatever a trigger does: a trigger that
raises, or that does not move forward (:class:`~quartzite._schedule.StuckTriggerError`), gets its
job paused and logged, and the round carries on with the other jobs.

Every name that API.md §10 lets a subclass or test replace (``_lookup_executor``,
``_dispatch_event``, ``remove_job``, ``_current_time``, ``_jobstores``) is reached through the
scheduler instance on each use.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from threading import TIMEOUT_MAX
from typing import TYPE_CHECKING

from .._schedule import DueRuns, due_runs
from ..events import (
    EVENT_JOB_MAX_INSTANCES,
    EVENT_JOB_SUBMITTED,
    JobSubmissionEvent,
    SchedulerEvent,
)
from ..executors.base import MaxInstancesReachedError
from ..job import Job
from ..jobstores.base import JobLookupError
from ..jobstores.claims import ClaimingJobStore, claims_for_scheduler, log_broken_trigger
from ..util import UTC
from ._claiming import ClaimingRound, remove_job_without_executor
from ._states import STATE_PAUSED

if TYPE_CHECKING:
    from ..executors.base import BaseExecutor
    from ..jobstores.base import BaseJobStore
    from .base import BaseScheduler

__all__ = ("ProcessingRound",)


def _job_due_runs(job: Job, now: datetime) -> DueRuns:
    """What is due for ``job`` at ``now``.

    A job whose class overrides ``Job._get_run_times`` (an extension relying on API.md §10, or
    a test double) is asked through that method, as APScheduler's loop asks it: its run times
    (the latest only when coalescing), then the trigger's fire time after the last of them.
    Every other job goes through :func:`~quartzite._schedule.due_runs`.
    """
    if getattr(type(job), "_get_run_times", None) is Job._get_run_times:
        return due_runs(job, now)
    run_times = job._get_run_times(now)
    if not run_times:
        return DueRuns([], job.next_run_time)
    if job.coalesce:
        run_times = run_times[-1:]
    return DueRuns(run_times, job.trigger.get_next_fire_time(run_times[-1], now))


def _earliest(current: datetime | None, candidate: datetime) -> datetime:
    if current is None or candidate.astimezone(UTC) < current.astimezone(UTC):
        return candidate
    return current


class ProcessingRound:
    """Runs processing rounds for one scheduler (``BaseScheduler._process_jobs`` hands off here)."""

    def __init__(self, scheduler: BaseScheduler) -> None:
        self._scheduler = scheduler
        self._claiming = ClaimingRound(scheduler)

    def run(self) -> float | None:
        """Process every job store once.

        :return: seconds until the next round is due, or ``None`` to sleep until woken up
        """
        scheduler = self._scheduler
        logger = scheduler._logger
        if scheduler.state == STATE_PAUSED:
            logger.debug("Scheduler is paused -- not processing jobs")
            return None
        if scheduler._stopping:
            logger.debug("Scheduler is shutting down -- not processing jobs")
            return None

        logger.debug("Looking for jobs to run")
        now = scheduler._current_time()
        retry_at = now + timedelta(seconds=scheduler.jobstore_retry_interval)
        next_wakeup: datetime | None = None
        events: list[SchedulerEvent] = []

        with scheduler._jobstores_lock:
            for alias, store in scheduler._jobstores.items():
                if claims_for_scheduler(store):
                    try:
                        self._claiming.process(alias, store, now, events)
                    except Exception as exc:
                        # The same words as the contract's path: alerts match on them.
                        logger.warning("Error getting due jobs from job store %r: %s", alias, exc)
                        logger.debug("The claim failed with", exc_info=True)
                        next_wakeup = _earliest(next_wakeup, retry_at)
                    else:
                        next_wakeup = self._next_wakeup(alias, store, now, next_wakeup, retry_at)
                    continue
                try:
                    due_jobs = store.get_due_jobs(now)
                except Exception as exc:
                    logger.warning("Error getting due jobs from job store %r: %s", alias, exc)
                    next_wakeup = _earliest(next_wakeup, retry_at)
                    continue

                if not self._process_store(alias, store, due_jobs, now, events):
                    # The store failed to record some job's new schedule: come back later.
                    next_wakeup = _earliest(next_wakeup, retry_at)
                next_wakeup = self._next_wakeup(alias, store, now, next_wakeup, retry_at)
            scheduler._membership.recovery_due = False

        for event in events:
            scheduler._dispatch_event(event)

        if scheduler.state == STATE_PAUSED or next_wakeup is None:
            logger.debug("No jobs; waiting until a job is added")
            return None

        # Timestamps, not datetimes: two datetimes in one zone subtract as wall-clock times,
        # which is wrong across a DST change (0 seconds for the repeated hour: a busy loop).
        wait_seconds = next_wakeup.timestamp() - scheduler._current_time().timestamp()
        wait_seconds = min(max(wait_seconds, 0), TIMEOUT_MAX)
        logger.debug("Next wakeup is due at %s (in %f seconds)", next_wakeup, wait_seconds)
        return wait_seconds

    def _next_wakeup(
        self,
        alias: str,
        store: BaseJobStore,
        now: datetime,
        next_wakeup: datetime | None,
        retry_at: datetime,
    ) -> datetime | None:
        """``next_wakeup`` moved earlier to ``store``'s next run time (or its poll bound)."""
        scheduler = self._scheduler
        try:
            store_next = store.get_next_run_time()
        except Exception as exc:
            scheduler._logger.warning(
                "Error getting the next run time from job store %r: %s", alias, exc
            )
            store_next = retry_at
        if store_next:
            next_wakeup = _earliest(next_wakeup, store_next.astimezone(scheduler.timezone))
        if isinstance(store, ClaimingJobStore) and store.poll_interval is not None:
            # Other processes may add or change jobs here without telling us: look again.
            next_wakeup = _earliest(next_wakeup, now + timedelta(seconds=store.poll_interval))
        return next_wakeup

    def _process_store(
        self,
        alias: str,
        store: BaseJobStore,
        due_jobs: list[Job],
        now: datetime,
        events: list[SchedulerEvent],
    ) -> bool:
        """Process one store's due jobs in one batch; ``False`` if a write failed."""
        stored = True
        try:
            with store.batch_writes():
                for job in due_jobs:
                    if self._scheduler._stopping:
                        # A shutdown began during this round: its executors are going away.
                        break
                    stored &= self._process_job(job, alias, store, now, events)
        except Exception:
            self._scheduler._logger.exception(
                "Error saving the processed jobs in job store %r", alias
            )
            return False
        return stored

    def _process_job(
        self,
        job: Job,
        alias: str,
        store: BaseJobStore,
        now: datetime,
        events: list[SchedulerEvent],
    ) -> bool:
        """Submit one due job and record its next run time (or remove it when finished).

        :return: ``False`` if the store failed to record the job's new schedule
        """
        scheduler = self._scheduler
        logger = scheduler._logger
        try:
            executor = scheduler._lookup_executor(job.executor)
        except BaseException:
            remove_job_without_executor(scheduler, job, alias)
            return True

        try:
            due = _job_due_runs(job, now)
        except Exception:
            return self._pause_broken_job(job, alias, store)

        if due.skipped:
            logger.warning(
                'Job "%s" missed %d run time(s) beyond its catch-up bound; they were skipped',
                job,
                due.skipped,
            )
        run_times = due.run_times
        if not run_times and not due.skipped:
            return True

        if run_times:
            self._submit(executor, job, alias, run_times, events)

        try:
            if due.next_run_time:
                job._modify(next_run_time=due.next_run_time)
                store.update_job(job)
            else:
                scheduler.remove_job(job.id, alias)
        except JobLookupError:
            # The job removed itself (or was removed) while it ran: nothing left to update.
            logger.debug("Job %s was removed while being processed", job.id)
        except Exception:
            logger.exception(
                'Error saving the next run time of job "%s" in job store %r', job, alias
            )
            return False
        return True

    def _submit(
        self,
        executor: BaseExecutor,
        job: Job,
        alias: str,
        run_times: list[datetime],
        events: list[SchedulerEvent],
    ) -> None:
        scheduler = self._scheduler
        try:
            executor.submit_job(job, run_times)
        except MaxInstancesReachedError:
            scheduler._logger.warning(
                'Execution of job "%s" skipped: maximum number of running instances reached (%d)',
                job,
                job.max_instances,
            )
            events.append(JobSubmissionEvent(EVENT_JOB_MAX_INSTANCES, job.id, alias, run_times))
        except BaseException:
            scheduler._logger.exception(
                'Error submitting job "%s" to executor "%s"', job, job.executor
            )
        else:
            if scheduler._wants_event(EVENT_JOB_SUBMITTED):
                events.append(JobSubmissionEvent(EVENT_JOB_SUBMITTED, job.id, alias, run_times))

    def _pause_broken_job(self, job: Job, alias: str, store: BaseJobStore) -> bool:
        """Pause a job whose trigger failed to compute its run times, so the loop goes on."""
        logger = self._scheduler._logger
        log_broken_trigger(logger, job)
        try:
            job._modify(next_run_time=None)
            store.update_job(job)
        except JobLookupError:
            logger.debug("Job %s was removed while being processed", job.id)
        except Exception:
            logger.exception('Error pausing job "%s" in job store %r', job.id, alias)
            return False
        return True
