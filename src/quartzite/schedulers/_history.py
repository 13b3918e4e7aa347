"""Reading run records and asking for runs now: the bodies of ``get_job_runs`` and
``run_job_now``.

Both go through the job's store, never around it: run-now writes a ``pending`` record that the
next claim of any scheduler sharing the store takes (so in a cluster it runs exactly once, on
whichever scheduler claims first, and a scheduler started paused can ask for it), and history is
read from the records the claims wrote. A store that keeps no records (a third-party store
written for APScheduler 3.x) has an empty history, and run-now submits the job in this process.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import TYPE_CHECKING, Any

from .. import events as ev
from ..jobstores.claims import ClaimingJobStore, StatusFilter, claims_for_scheduler, statuses
from ..runs import JobRun, RunStatus
from ..util import UTC, convert_to_datetime
from ._states import STATE_RUNNING, STATE_STOPPED

if TYPE_CHECKING:
    from .base import BaseScheduler

__all__ = ("RunHistory",)


def _check_limit(limit: Any) -> int | None:
    if limit is None:
        return None
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise ValueError(f"limit must be None or an int >= 1, got {limit!r}")
    return limit


class RunHistory:
    """Run records and run-now for one scheduler."""

    def __init__(self, scheduler: BaseScheduler) -> None:
        self._scheduler = scheduler

    def _require_started(self, action: str) -> None:
        if self._scheduler.state == STATE_STOPPED:
            raise RuntimeError(
                f"the scheduler must have been started for {action} to work (its job stores "
                "are opened by start(); start(paused=True) opens them without running jobs)"
            )

    def runs(
        self,
        job_id: str | None,
        jobstore: str | None,
        status: StatusFilter,
        since: datetime | str | None,
        limit: int | None,
    ) -> list[JobRun]:
        """The records of the matching stores, newest scheduled run time first."""
        scheduler = self._scheduler
        self._require_started("get_job_runs()")
        wanted = statuses(status)  # checked before any store is asked
        limit = _check_limit(limit)
        if since is not None:
            since = convert_to_datetime(since, scheduler.timezone, "since")
        if jobstore is not None:
            scheduler._lookup_jobstore(jobstore)  # KeyError naming the alias, as elsewhere
        # Outcomes still queued in this process are written first, so a caller that saw a
        # run's event reads its final record.
        scheduler._recorder.flush()
        found: list[JobRun] = []
        for alias, store in list(scheduler._jobstores.items()):
            if jobstore not in (None, alias) or not isinstance(store, ClaimingJobStore):
                continue
            for run in store.get_runs(job_id, status=wanted, since=since, limit=limit):
                found.append(
                    run if run.jobstore == alias else dataclasses.replace(run, jobstore=alias)
                )
        found.sort(key=lambda run: run.scheduled_run_time, reverse=True)
        return found if limit is None else found[:limit]

    def run_now(self, job_id: str, jobstore: str | None) -> JobRun:
        """Ask for one extra occurrence of the job, now (see ``BaseScheduler.run_job_now``)."""
        scheduler = self._scheduler
        self._require_started("run_job_now()")
        with scheduler._jobstores_lock:
            job, alias = scheduler._lookup_job(job_id, jobstore)
            assert alias is not None  # a started scheduler finds jobs in stores only
            store = scheduler._lookup_jobstore(alias)
            now = scheduler._current_time()
            if claims_for_scheduler(store):
                assert isinstance(store, ClaimingJobStore)
                record = store.request_run(job_id, now)
                scheduler._logger.info('Run of job "%s" requested now', job)
                if scheduler.state == STATE_RUNNING:
                    scheduler.wakeup()
                return dataclasses.replace(record, jobstore=alias)

            # A store without records: run it here, if this scheduler runs jobs at all.
            if scheduler.state != STATE_RUNNING:
                raise RuntimeError(
                    f"job store {alias!r} keeps no run records, so run-now cannot be handed to "
                    "another scheduler through it; resume this scheduler to run the job here"
                )
            scheduler._lookup_executor(job.executor).submit_job(job, [now])
        scheduler._dispatch_event(
            ev.JobSubmissionEvent(ev.EVENT_JOB_SUBMITTED, job.id, alias, [now])
        )
        return JobRun(
            job.id,
            now.astimezone(UTC),
            RunStatus.RUNNING,
            scheduler_id=scheduler._membership.scheduler_id,
            jobstore=alias,
            started_at=now.astimezone(UTC),
            manual=True,
        )
