"""A job store that keeps jobs in memory, in a heap ordered by next run time.

It is also a :class:`~quartzite.jobstores.claims.ClaimingJobStore` for one process: claims,
run records (history, run-now, recovery, ``max_instances``; kept by :class:`._memory_runs.RunLog`)
live in plain dictionaries guarded by one lock, so every claiming operation is atomic without any
further care.
"""

from __future__ import annotations

import threading
from collections.abc import Collection, Sequence
from datetime import datetime, timedelta, timezone
from heapq import heapify, heappop, heappush
from itertools import count
from math import inf
from typing import TYPE_CHECKING, Any

from .._schedule import MAX_CATCH_UP
from ..runs import JobRun, RunStatus
from ..util import datetime_to_utc_timestamp
from ._memory_runs import RunLog, RunRecord
from .base import ConflictingIdError, JobLookupError
from .claims import (
    DEFAULT_CLAIM_LIMIT,
    RECOVERED,
    RUN_NOW,
    Claim,
    ClaimedRun,
    ClaimingJobStore,
    HistoryOptions,
    RunOutcome,
    StatusFilter,
    check_runs_limit,
    plan_job,
    statuses,
)

if TYPE_CHECKING:
    from ..job import Job

__all__ = ("MemoryJobStore",)

UTC = timezone.utc

# A heap entry is a list [sort key, job id, sequence number, job]. The sort key is the UTC
# timestamp of the next run time (inf when paused); ties are ordered by job id, and the sequence
# number keeps the comparison from ever reaching the job. Removing or rescheduling a job marks
# its entry dead in place (job slot set to None) instead of searching the heap for it; the heap
# is rebuilt once dead entries outnumber live ones. So add, update and remove cost O(log n)
# (amortized), where a sorted list costs O(n) per insertion and removal.
_KEY, _ID, _SEQUENCE, _JOB = range(4)

# Finished records dropped by age in one finish_runs call at most: retention never turns one
# report of an outcome into a long pause, and what is left is dropped by the next reports.
_AGE_BATCH = 1000


def _utc(value: datetime) -> datetime:
    """``value`` as an aware UTC datetime (naive values are taken as UTC, as elsewhere)."""
    if value.tzinfo is UTC:
        return value
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


class MemoryJobStore(ClaimingJobStore):
    """Stores jobs in an in-memory heap. No serialization: the same Job objects come back.

    Run records are kept in memory too, return values as the very objects the jobs returned.
    Nothing is shared with other processes, so :attr:`poll_interval` is ``None`` and
    :meth:`watch` does nothing; claims are atomic under one lock.

    :param history: keep finished run records (``False``: only pending and running ones)
    :param max_runs_per_job: finished records kept per job, the newest
    :param max_run_age: finished records older than this (seconds or a ``timedelta``) are
        dropped
    :param max_return_value_size: ``0`` never keeps return values; any other value keeps them
        (they are not serialized, so there is no size to compare)
    """

    shared = False

    def __init__(
        self,
        *,
        history: bool = True,
        max_runs_per_job: int = 100,
        max_run_age: float | timedelta = 30 * 86400.0,
        max_return_value_size: int = 64 * 1024,
    ) -> None:
        super().__init__()
        self.history_options = HistoryOptions.checked(
            type(self).__name__, history, max_runs_per_job, max_run_age, max_return_value_size
        )
        self._entries: dict[str, list[Any]] = {}  # job id -> its live heap entry
        self._heap: list[list[Any]] = []
        self._sequence = count()
        self._dead_entries = 0
        # Guards the run records and check-ins (outcomes arrive from executor threads). The job
        # methods (add_job, update_job, ...) do not take it: they stay as fast as before, and
        # the scheduler serializes them, and claim_jobs, under its own store lock.
        self._lock = threading.RLock()
        self._runs = RunLog(self.history_options)
        self._checkins: dict[str, float] = {}  # scheduler id -> expiry timestamp

    @property
    def _jobs(self) -> list[tuple[Job, float | None]]:
        """All ``(job, timestamp)`` pairs in run time order (a snapshot, for introspection)."""
        return [
            (entry[_JOB], None if entry[_KEY] == inf else entry[_KEY])
            for entry in sorted(self._entries.values())
        ]

    @property
    def _jobs_index(self) -> dict[str, tuple[Job, float | None]]:
        """Job id -> ``(job, timestamp)`` (a snapshot, for introspection)."""
        return {
            job_id: (entry[_JOB], None if entry[_KEY] == inf else entry[_KEY])
            for job_id, entry in self._entries.items()
        }

    # The run records' indexes, read-only, for introspection.

    @property
    def _records(self) -> dict[tuple[str, datetime], RunRecord]:
        return self._runs.records

    @property
    def _running(self) -> dict[tuple[str, datetime], RunRecord]:
        return self._runs.running

    @property
    def _running_counts(self) -> dict[str, int]:
        return self._runs.running_counts

    @property
    def _ages(self) -> list[tuple[float, int, RunRecord]]:
        return self._runs.ages

    def lookup_job(self, job_id: str) -> Job | None:
        entry = self._entries.get(job_id)
        return entry[_JOB] if entry is not None else None

    def get_due_jobs(self, now: datetime) -> list[Job]:
        now_timestamp = datetime_to_utc_timestamp(now)
        heap = self._heap
        # Every entry due by now sits in the subtree of due entries below the root (heap
        # property), so walk just that subtree instead of popping and pushing back.
        due: list[list[Any]] = []
        stack = [0] if heap else []
        size = len(heap)
        while stack:
            position = stack.pop()
            entry = heap[position]
            if entry[_KEY] > now_timestamp:
                continue
            if entry[_JOB] is not None:
                due.append(entry)
            child = 2 * position + 1
            if child < size:
                stack.append(child)
                if child + 1 < size:
                    stack.append(child + 1)
        due.sort()
        return [entry[_JOB] for entry in due]

    def get_next_run_time(self) -> datetime | None:
        heap = self._heap
        while heap:
            top = heap[0]
            if top[_JOB] is not None:
                return top[_JOB].next_run_time
            heappop(heap)
            self._dead_entries -= 1
        return None

    def get_all_jobs(self) -> list[Job]:
        return [entry[_JOB] for entry in sorted(self._entries.values())]

    def add_job(self, job: Job) -> None:
        if job.id in self._entries:
            raise ConflictingIdError(job.id)

        self._push(job, datetime_to_utc_timestamp(job.next_run_time))

    def update_job(self, job: Job) -> None:
        entry = self._entries.get(job.id)
        if entry is None:
            raise JobLookupError(job.id)

        timestamp = datetime_to_utc_timestamp(job.next_run_time)
        key = inf if timestamp is None else timestamp
        if key == entry[_KEY]:
            entry[_JOB] = job  # same place in the heap
        else:
            entry[_JOB] = None
            self._dead_entries += 1
            self._push(job, timestamp)

    def remove_job(self, job_id: str) -> None:
        # The job's run records stay: history outlives the job.
        entry = self._entries.pop(job_id, None)
        if entry is None:
            raise JobLookupError(job_id)

        entry[_JOB] = None
        self._dead_entries += 1
        if self._dead_entries > len(self._entries) + 64:
            self._compact()

    def remove_all_jobs(self) -> None:
        self._entries.clear()
        self._heap.clear()
        self._dead_entries = 0

    def shutdown(self) -> None:
        self.remove_all_jobs()

    def _push(self, job: Job, timestamp: float | None) -> None:
        entry = [inf if timestamp is None else timestamp, job.id, next(self._sequence), job]
        self._entries[job.id] = entry
        heappush(self._heap, entry)
        if self._dead_entries > len(self._entries) + 64:
            self._compact()

    def _compact(self) -> None:
        self._heap = [entry for entry in self._heap if entry[_JOB] is not None]
        heapify(self._heap)
        self._dead_entries = 0

    def _pop_due(
        self, now_timestamp: float, limit: int, executors: Collection[str] | None, claim: Claim
    ) -> list[list[Any]]:
        """Pop the heap entries of the ``limit`` earliest due jobs that an executor in
        ``executors`` runs, in order; the caller pushes each back once rescheduled (or drops it,
        the job removed).

        Popping rather than marking dead: a burst of due jobs leaves no dead entries behind for
        the next claim to walk, and each claimed job costs one pop and one push. Due jobs
        naming another executor go to ``claim.unknown_executor`` (their entries are pushed
        back unchanged) without counting towards ``limit``, so they cannot keep ``claim.more``
        set for ever.
        """
        heap = self._heap
        taken: list[list[Any]] = []
        others: list[list[Any]] = []
        while heap:
            entry = heap[0]
            if entry[_KEY] > now_timestamp:
                break
            job = entry[_JOB]
            if job is None:
                heappop(heap)
                self._dead_entries -= 1
            elif executors is not None and job.executor not in executors:
                others.append(heappop(heap))
                claim.unknown_executor.append(job)
            elif len(taken) == limit:
                claim.more = True
                break
            else:
                taken.append(heappop(heap))
        for entry in others:
            heappush(heap, entry)
        return taken

    # -- claiming --------------------------------------------------------------------------------

    def claim_jobs(
        self,
        scheduler_id: str,
        now: datetime,
        *,
        executors: Collection[str] | None = None,
        limit: int = DEFAULT_CLAIM_LIMIT,
        max_catch_up: int = MAX_CATCH_UP,
    ) -> Claim:
        now = _utc(now)
        claim = Claim()
        with self._lock:
            self._claim_pending(claim, scheduler_id, now, executors, limit)
            entries = self._pop_due(now.timestamp(), limit, executors, claim)
            for index, entry in enumerate(entries):
                try:
                    self._claim_job(entry, claim, scheduler_id, now, max_catch_up)
                except BaseException:
                    # (Nothing here raises but MemoryError and the like.) Lose no job: the
                    # entries not rescheduled yet go back to the heap.
                    heap = self._heap
                    if entry[_ID] in self._entries and not any(item is entry for item in heap):
                        heappush(heap, entry)
                    for rest in entries[index + 1 :]:
                        heappush(heap, rest)
                    raise
        if len(claim.unknown_executor) > 1:  # a job may be due and asked for with run-now
            claim.unknown_executor = list({job.id: job for job in claim.unknown_executor}.values())
        return claim

    def _claim_job(
        self, entry: list[Any], claim: Claim, scheduler_id: str, now: datetime, max_catch_up: int
    ) -> None:
        """Plan one due job whose entry :meth:`_pop_due` popped, push the entry back with the
        job's new run time (or forget the job), and write its records."""
        job: Job = entry[_JOB]
        running = self._runs.running_counts.get(job.id, 0)
        plan = plan_job(job, now, running=running, max_catch_up=max_catch_up, logger=self._logger)
        removed = plan.next_run_time is None and not plan.broken
        if removed:
            del self._entries[job.id]
            claim.removed.append(job.id)
        else:
            # plan_job moved the job's next run time (None if broken) on the stored object
            timestamp = datetime_to_utc_timestamp(job.next_run_time)
            entry[_KEY] = inf if timestamp is None else timestamp
            heappush(self._heap, entry)
            if plan.broken:
                claim.paused.append(job.id)
                return
        if plan.skipped:
            claim.skipped[job.id] = plan.skipped
        # A run time whose record exists was taken before: never take it twice.
        new = [
            (run_time, utc_time)
            for run_time in plan.run_times
            if (job.id, utc_time := _utc(run_time)) not in self._runs.records
        ]
        if not new:
            return
        status = RunStatus.MAX_INSTANCES if plan.refused else RunStatus.RUNNING
        for _, utc_time in new:
            record = RunRecord(job.id, utc_time, status, scheduler_id, now)
            self._runs.insert(record)
            if plan.refused:
                record.finished_at = now
                self._runs.finished(record)
            else:
                if removed:
                    # The job leaves the store now: the record keeps it, so that recovery can
                    # still rerun this occurrence if this scheduler dies before it ends.
                    record.job = job
                self._runs.mark_running(record)
        taken = ClaimedRun(job, [run_time for run_time, _ in new])
        (claim.refused if plan.refused else claim.runs).append(taken)

    def _claim_pending(
        self,
        claim: Claim,
        scheduler_id: str,
        now: datetime,
        executors: Collection[str] | None,
        limit: int,
    ) -> None:
        """Take the run-now records (at most ``limit``), oldest request first."""
        taken = 0
        unknown: set[str] = set()
        for key, record in list(self._runs.pending.items()):
            job = self.lookup_job(record.job_id)
            if job is not None and executors is not None and job.executor not in executors:
                if job.id not in unknown:
                    unknown.add(job.id)
                    claim.unknown_executor.append(job)
                continue  # left pending, for a scheduler that has the executor
            if taken == limit:
                claim.more = True
                return
            taken += 1
            del self._runs.pending[key]
            record.scheduler_id = scheduler_id
            record.started_at = now
            if job is None:
                record.status = RunStatus.INTERRUPTED
                record.finished_at = now
                record.exception_message = "the job was removed before it ran"
                claim.interrupted.append(record.to_run(self._alias))
                self._runs.finished(record)
            elif self._runs.running_counts.get(job.id, 0) >= job.max_instances:
                record.status = RunStatus.MAX_INSTANCES
                record.finished_at = now
                claim.refused.append(ClaimedRun(job, [record.scheduled_run_time], kind=RUN_NOW))
                self._runs.finished(record)
            else:
                record.status = RunStatus.RUNNING
                self._runs.mark_running(record)
                claim.runs.append(ClaimedRun(job, [record.scheduled_run_time], kind=RUN_NOW))

    def recover_runs(
        self,
        scheduler_id: str,
        now: datetime,
        *,
        lost: Collection[tuple[str, datetime]] = (),
    ) -> Claim:
        now = _utc(now)
        now_timestamp = now.timestamp()
        lost_keys = {(job_id, _utc(run_time)) for job_id, run_time in lost}
        claim = Claim()
        with self._lock:
            checkins = self._checkins
            recovered: dict[tuple[str, int, str | None], ClaimedRun] = {}
            for key, record in list(self._runs.running.items()):
                holder = record.scheduler_id
                if holder == scheduler_id:
                    if key not in lost_keys:
                        continue
                else:
                    expires_at = checkins.get(holder) if holder is not None else None
                    if expires_at is not None and expires_at >= now_timestamp:
                        continue  # its scheduler is alive
                # A job its claim removed (trigger finished) lives on in its running records
                job = self.lookup_job(record.job_id)
                if job is None:
                    job = record.job
                if job is None or job.at_most_once:
                    self._runs.unmark_running(record)
                    record.job = None
                    record.status = RunStatus.INTERRUPTED
                    record.finished_at = now
                    claim.interrupted.append(record.to_run(self._alias))
                    self._runs.finished(record)
                    continue
                record.scheduler_id = scheduler_id
                record.attempt += 1
                record.recovered = True
                record.started_at = now
                group = (record.job_id, record.attempt, holder)
                run = recovered.get(group)
                if run is None:
                    run = recovered[group] = ClaimedRun(
                        job,
                        [],
                        kind=RECOVERED,
                        attempt=record.attempt,
                        previous_scheduler_id=holder,
                    )
                    claim.runs.append(run)
                run.run_times.append(record.scheduled_run_time)
        for run in claim.runs:
            run.run_times.sort()
        return claim

    def finish_runs(self, outcomes: Sequence[RunOutcome]) -> None:
        if not outcomes:
            return
        keep_values = self.history_options.max_return_value_size > 0
        latest: datetime | None = None
        runs = self._runs
        with self._lock:
            for outcome in outcomes:
                status = outcome.status
                if type(status) is not RunStatus:  # (the conversion costs a microsecond)
                    status = RunStatus(status)
                if not status.finished:
                    continue
                record = runs.running.get((outcome.job_id, _utc(outcome.scheduled_run_time)))
                if record is None or record.scheduler_id != outcome.scheduler_id:
                    continue  # not ours any more (recovered by another scheduler) or gone
                runs.unmark_running(record)
                record.job = None  # a finished run is never recovered: no job to keep
                record.status = status
                record.finished_at = finished_at = _utc(outcome.finished_at)
                record.exception_type = outcome.exception_type
                record.exception_message = outcome.exception_message
                record.traceback = outcome.traceback
                record.return_value = outcome.return_value if keep_values else None
                runs.finished(record)
                if latest is None or finished_at > latest:
                    latest = finished_at
            if latest is not None:
                runs.drop_old(latest.timestamp() - self.history_options.max_run_age, _AGE_BATCH)

    def check_in(self, scheduler_id: str, now: datetime, lease_time: float) -> None:
        with self._lock:
            self._checkins[scheduler_id] = _utc(now).timestamp() + lease_time

    def release(self, scheduler_id: str) -> None:
        with self._lock:
            self._checkins.pop(scheduler_id, None)

    def request_run(self, job_id: str, now: datetime) -> JobRun:
        now = _utc(now)
        with self._lock:
            if job_id not in self._entries:
                raise JobLookupError(job_id)
            # Two requests in the same microsecond are two occurrences: keep them apart.
            while (job_id, now) in self._runs.records:
                now += timedelta(microseconds=1)
            record = RunRecord(job_id, now, RunStatus.PENDING, None, None, manual=True)
            self._runs.insert(record)
            self._runs.pending[(job_id, now)] = record
            return record.to_run(self._alias)

    def get_runs(
        self,
        job_id: str | None = None,
        *,
        status: StatusFilter = None,
        since: datetime | None = None,
        limit: int | None = 100,
        scheduler_id: str | None = None,
    ) -> list[JobRun]:
        check_runs_limit(limit)
        wanted = statuses(status)
        wanted_statuses = None if wanted is None else {RunStatus(value) for value in wanted}
        since_utc = None if since is None else _utc(since)
        with self._lock:
            return self._runs.runs(
                job_id, wanted_statuses, since_utc, limit, scheduler_id, self._alias
            )
