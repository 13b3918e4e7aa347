"""The processing round's path for claiming stores: take occurrences atomically, then submit.

For a :class:`~quartzite.jobstores.claims.ClaimingJobStore` the round does not read due jobs
and write them back itself (another scheduler could be doing the same); it asks the store to
claim, and submits exactly what the claim returned:

1. when a check-in has just happened, recover runs: those of schedulers whose lease ran out,
   and those this scheduler holds in the store but is not running (a claim whose reply was lost
   with the connection);
2. claim due jobs and pending run-now requests, batch after batch while the store says there is
   more;
3. submit each claimed run to its job's executor; record at once the runs that cannot start
   (too many instances here, executor failure), and announce everything with the usual events.

Occurrences asked for with run-now and recovered ones are run however late they are (the
misfire grace applies to the trigger's schedule, not to an explicit request or a rerun).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from .. import events as ev
from ..executors.base import MaxInstancesReachedError
from ..job import Job
from ..jobstores.base import JobLookupError
from ..jobstores.claims import RECOVERED, RUN_NOW, Claim, ClaimedRun, ClaimingJobStore, RunOutcome
from ..runs import RunStatus

if TYPE_CHECKING:
    from .base import BaseScheduler

__all__ = ("ClaimingRound", "remove_job_without_executor")


def remove_job_without_executor(scheduler: BaseScheduler, job: Job, alias: str) -> None:
    """Remove a due job that names an executor this scheduler lacks, as the contract says.

    Rows written by another process may name an executor this one lacks (jobs added here are
    checked when added).
    """
    logger = scheduler._logger
    # The contract fixes this line word for word ...
    logger.error(
        'Executor lookup ("%s") failed for job "%s" -- removing it from the job store',
        job.executor,
        job,
    )
    # ... so the list of what there is goes in a record of its own.
    logger.warning(
        "The executors of this scheduler are: %s",
        ", ".join(repr(name) for name in sorted(scheduler._executors)) or "none",
    )
    try:
        scheduler.remove_job(job.id, alias)
    except JobLookupError:
        logger.debug("Job %s was removed already", job.id)


def _without_grace(job: Job) -> Job:
    """A copy of ``job`` that runs however late it starts (for run-now and recovered runs).

    A copy, because a store may hand out the job object it keeps (the memory store does).
    """
    copy = Job.__new__(Job)
    for name in Job.__slots__:
        if name != "__weakref__" and hasattr(job, name):
            setattr(copy, name, getattr(job, name))
    copy.misfire_grace_time = None
    return copy


class ClaimingRound:
    """Claims and submits for one scheduler (the claiming half of ``ProcessingRound``)."""

    def __init__(self, scheduler: BaseScheduler) -> None:
        self._scheduler = scheduler

    def process(
        self, alias: str, store: ClaimingJobStore, now: datetime, events: list[ev.SchedulerEvent]
    ) -> None:
        """Recover (when due), then claim until nothing more is due; raises if the store fails."""
        scheduler = self._scheduler
        membership = scheduler._membership
        scheduler_id = membership.scheduler_id
        if membership.recovery_due:
            lost: list[tuple[str, datetime]] = []
            if store.shared:
                # Records this scheduler holds but is not running: a claim whose reply was lost.
                held = store.get_runs(
                    status=RunStatus.RUNNING, limit=None, scheduler_id=scheduler_id
                )
                lost = scheduler._recorder.lost(
                    alias, [(run.job_id, run.scheduled_run_time) for run in held]
                )
            self._handle(alias, store, store.recover_runs(scheduler_id, now, lost=lost), events)

        # Outcomes reported since the last write go first: a finished run's record must not
        # still say "running" when the claim counts a job's instances.
        if not scheduler._recorder.flush(alias=alias):
            # Claiming now would count runs that ended as still going (and refuse their jobs'
            # next runs for max_instances): wait until the outcomes can be written.
            raise RuntimeError("the outcomes of earlier runs could not be recorded yet")
        executors = frozenset(scheduler._executors)
        while not scheduler._stopping:
            claim = store.claim_jobs(
                scheduler_id, now, executors=executors, max_catch_up=scheduler.max_catch_up
            )
            self._handle(alias, store, claim, events)
            if not claim.more:
                break

    def _handle(
        self, alias: str, store: ClaimingJobStore, claim: Claim, events: list[ev.SchedulerEvent]
    ) -> None:
        scheduler = self._scheduler
        logger = scheduler._logger
        for job in claim.unknown_executor:
            remove_job_without_executor(scheduler, job, alias)
        if claim.skipped:
            jobs = {run.job.id: run.job for run in (*claim.runs, *claim.refused)}
            for job_id, count in claim.skipped.items():
                logger.warning(
                    'Job "%s" missed %d run time(s) beyond its catch-up bound; they were skipped',
                    jobs.get(job_id, job_id),
                    count,
                )
        for refused in claim.refused:
            logger.warning(
                'Execution of job "%s" skipped: maximum number of running instances reached (%d)',
                refused.job,
                refused.job.max_instances,
            )
            events.append(
                ev.JobSubmissionEvent(
                    ev.EVENT_JOB_MAX_INSTANCES, refused.job.id, alias, refused.run_times
                )
            )
        for record in claim.interrupted:
            logger.warning(
                'Run of job "%s" scheduled at %s was interrupted (scheduler %s stopped '
                "responding); it is not run again",
                record.job_id,
                record.scheduled_run_time,
                record.scheduler_id,
            )
            events.append(
                ev.JobRecoveryEvent(
                    ev.EVENT_JOB_RECOVERED,
                    record.job_id,
                    alias,
                    [record.scheduled_run_time],
                    record.scheduler_id,
                    rerun=False,
                )
            )
        # A finished job's removal is announced right after its last run is submitted, as
        # the APScheduler path does (it removes the job after submitting).
        removed = dict.fromkeys(claim.removed)
        # Asked once per claim, not once per job: the answer cannot change within a round.
        wants_removed = scheduler._wants_event(ev.EVENT_JOB_REMOVED)
        wants_submitted = scheduler._wants_event(ev.EVENT_JOB_SUBMITTED)
        for run in claim.runs:
            self._submit(alias, store, run, events, wants_submitted)
            if run.job.id in removed:
                del removed[run.job.id]
                self._announce_removal(alias, run.job.id, wants_removed)
        for job_id in removed:
            self._announce_removal(alias, job_id, wants_removed)

    def _announce_removal(self, alias: str, job_id: str, wanted: bool) -> None:
        scheduler = self._scheduler
        if wanted:
            scheduler._dispatch_event(ev.JobEvent(ev.EVENT_JOB_REMOVED, job_id, alias))
        scheduler._logger.info("Removed job %s", job_id)

    def _submit(
        self,
        alias: str,
        store: ClaimingJobStore,
        run: ClaimedRun,
        events: list[ev.SchedulerEvent],
        wants_submitted: bool,
    ) -> None:
        scheduler = self._scheduler
        logger = scheduler._logger
        job = run.job
        if run.kind in (RUN_NOW, RECOVERED):
            job = _without_grace(job)
        if run.kind == RECOVERED:
            logger.warning(
                'Running job "%s" again for %d interrupted run(s) (attempt %d; scheduler %s '
                "stopped responding)",
                job,
                len(run.run_times),
                run.attempt,
                run.previous_scheduler_id,
            )
            events.append(
                ev.JobRecoveryEvent(
                    ev.EVENT_JOB_RECOVERED,
                    job.id,
                    alias,
                    run.run_times,
                    run.previous_scheduler_id,
                    rerun=True,
                )
            )
        if store.shared:
            scheduler._recorder.taken(alias, job.id, run.run_times)
        try:
            executor = scheduler._lookup_executor(job.executor)
            executor.submit_job(job, run.run_times)
        except MaxInstancesReachedError:
            logger.warning(
                'Execution of job "%s" skipped: maximum number of running instances reached (%d)',
                job,
                job.max_instances,
            )
            self._finish(alias, store, run, RunStatus.MAX_INSTANCES)
            events.append(
                ev.JobSubmissionEvent(ev.EVENT_JOB_MAX_INSTANCES, job.id, alias, run.run_times)
            )
        except BaseException as exc:
            if scheduler._stopping:
                # The executors went away under a round on the shutting-down thread. The records
                # stay "running" under this scheduler, whose check-ins the shutdown releases:
                # another scheduler (or this one, restarted) recovers them at once.
                logger.info('Not starting job "%s": the scheduler is shutting down', job)
                return
            logger.exception('Error submitting job "%s" to executor "%s"', job, job.executor)
            self._finish(alias, store, run, RunStatus.ERROR, exc)
        else:
            if wants_submitted:
                events.append(
                    ev.JobSubmissionEvent(ev.EVENT_JOB_SUBMITTED, job.id, alias, run.run_times)
                )

    def _finish(
        self,
        alias: str,
        store: ClaimingJobStore,
        run: ClaimedRun,
        status: RunStatus,
        exc: BaseException | None = None,
    ) -> None:
        """Record the runs of ``run`` as ended without starting."""
        scheduler = self._scheduler
        finished_at = scheduler._current_time()
        for run_time in run.run_times:
            outcome = RunOutcome(
                run.job.id,
                run_time,
                status,
                finished_at,
                scheduler._membership.scheduler_id,
                exception_type=None if exc is None else type(exc).__qualname__,
                exception_message=None if exc is None else str(exc),
            )
            scheduler._recorder.report(alias, store, outcome)
