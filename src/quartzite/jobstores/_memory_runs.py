"""The run records of one memory job store, and their retention.

A record is kept under its key ``(job id, scheduled run time in UTC)`` and in its job's list,
oldest first (occurrences are recorded in time order, so adding one is nearly always an append).
The running and the pending (run-now) records have indexes of their own, for recovery,
``max_instances`` and run-now. Finished records are kept within the store's
:class:`~.claims.HistoryOptions`: the newest ``max_runs_per_job`` of each job, none older than
``max_run_age``; the age limit goes through a heap of finish times, so dropping the old records
costs one pop each instead of a scan of the history.

:class:`RunLog` takes no lock: its store calls it under the store's own lock.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Iterable
from dataclasses import fields
from datetime import datetime
from heapq import heapify, heappop, heappush, merge
from itertools import count
from operator import attrgetter
from typing import TYPE_CHECKING, Any

from ..runs import JobRun, RunStatus

if TYPE_CHECKING:
    from ..job import Job
    from .claims import HistoryOptions

__all__ = ("RunLog", "RunRecord")

RunKey = tuple[str, datetime]
_RUN_TIME = attrgetter("scheduled_run_time")

# The fields of JobRun a record keeps, all but ``jobstore`` (the alias of whoever reads it).
_RUN_FIELDS = tuple(field.name for field in fields(JobRun) if field.name != "jobstore")


def _count_down(counts: dict[str, int], job_id: str) -> None:
    """One fewer for ``job_id``; a count that reaches zero leaves the table (it stays small)."""
    remaining = counts[job_id] - 1
    if remaining:
        counts[job_id] = remaining
    else:
        del counts[job_id]


class RunRecord:
    """The mutable run record of one occurrence (a :class:`JobRun` is its frozen copy).

    ``job`` is set while the record runs an occurrence whose claim removed the job (its trigger
    had no further fire time): should its scheduler die, recovery reruns that job object.
    """

    __slots__ = (*_RUN_FIELDS, "job")

    def __init__(
        self,
        job_id: str,
        scheduled_run_time: datetime,
        status: RunStatus,
        scheduler_id: str | None,
        started_at: datetime | None,
        *,
        manual: bool = False,
    ) -> None:
        self.job_id = job_id
        self.scheduled_run_time = scheduled_run_time
        self.status = status
        self.scheduler_id = scheduler_id
        self.attempt = 1
        self.started_at = started_at
        self.finished_at: datetime | None = None
        self.exception_type: str | None = None
        self.exception_message: str | None = None
        self.traceback: str | None = None
        self.return_value: Any = None
        self.recovered = False
        self.manual = manual
        self.job: Job | None = None

    def __lt__(self, other: RunRecord) -> bool:
        # Records order by scheduled run time, for bisect (whose ``key`` Python 3.9 lacks).
        return self.scheduled_run_time < other.scheduled_run_time

    def to_run(self, jobstore: str | None) -> JobRun:
        return JobRun(jobstore=jobstore, **{name: getattr(self, name) for name in _RUN_FIELDS})


class RunLog:
    """The records of one memory store: every record by key and by job, the running ones (with
    a count per job) and the pending ones, in the order run-now asked for them."""

    def __init__(self, options: HistoryOptions) -> None:
        self.options = options
        self.records: dict[RunKey, RunRecord] = {}
        self.job_runs: dict[str, list[RunRecord]] = {}  # job id -> its records, oldest first
        self.running: dict[RunKey, RunRecord] = {}
        self.running_counts: dict[str, int] = {}
        self.pending: dict[RunKey, RunRecord] = {}
        self.finished_counts: dict[str, int] = {}
        self.finished_total = 0
        # [finished_at timestamp, sequence, record]: the oldest finished record on top, for
        # age retention. Entries of records dropped otherwise stay until popped or compacted.
        self.ages: list[tuple[float, int, RunRecord]] = []
        self._sequence = count()

    def insert(self, record: RunRecord) -> None:
        self.records[(record.job_id, record.scheduled_run_time)] = record
        runs = self.job_runs.get(record.job_id)
        if runs is None:
            self.job_runs[record.job_id] = [record]
        elif runs[-1].scheduled_run_time < record.scheduled_run_time:
            runs.append(record)  # the usual case: occurrences are recorded in time order
        else:
            insort(runs, record)

    def remove(self, record: RunRecord) -> None:
        del self.records[(record.job_id, record.scheduled_run_time)]
        runs = self.job_runs[record.job_id]
        # One record per (job, run time), so the position of its time is its own.
        del runs[bisect_left(runs, record)]
        if not runs:
            del self.job_runs[record.job_id]

    def mark_running(self, record: RunRecord) -> None:
        self.running[(record.job_id, record.scheduled_run_time)] = record
        self.running_counts[record.job_id] = self.running_counts.get(record.job_id, 0) + 1

    def unmark_running(self, record: RunRecord) -> None:
        del self.running[(record.job_id, record.scheduled_run_time)]
        _count_down(self.running_counts, record.job_id)

    def finished(self, record: RunRecord) -> None:
        """Account for a record that has just become final: keep it (within the retention
        limits) or, without history, drop it."""
        if not self.options.history:
            self.remove(record)
            return
        assert record.finished_at is not None
        job_id = record.job_id
        finished = self.finished_counts.get(job_id, 0) + 1
        self.finished_total += 1
        heappush(self.ages, (record.finished_at.timestamp(), next(self._sequence), record))
        # Keep the newest max_runs_per_job finished records: drop the oldest finished ones
        # (pending and running records are never dropped by retention).
        runs = self.job_runs[job_id]
        index = 0
        while finished > self.options.max_runs_per_job:
            while not runs[index].status.finished:
                index += 1
            self.remove(runs[index])
            finished -= 1
            self.finished_total -= 1
        self.finished_counts[job_id] = finished
        # Entries of records dropped by count linger in the age heap: rebuild it before they
        # outnumber the live ones, so its size stays proportional to the history kept.
        if len(self.ages) > 2 * self.finished_total + 64:
            self.ages = [item for item in self.ages if self._kept(item[2])]
            heapify(self.ages)

    def drop_old(self, cutoff: float, at_most: int) -> None:
        """Drop finished records that finished before ``cutoff`` (``at_most`` of them, so that
        retention never turns one report of outcomes into a long pause)."""
        ages = self.ages
        for _ in range(at_most):
            if not ages or ages[0][0] >= cutoff:
                return
            record = heappop(ages)[2]
            if not self._kept(record):
                continue  # dropped already, by count
            self.remove(record)
            self.finished_total -= 1
            _count_down(self.finished_counts, record.job_id)

    def _kept(self, record: RunRecord) -> bool:
        return self.records.get((record.job_id, record.scheduled_run_time)) is record

    def runs(
        self,
        job_id: str | None,
        wanted: set[RunStatus] | None,
        since: datetime | None,
        limit: int | None,
        scheduler_id: str | None,
        jobstore: str | None,
    ) -> list[JobRun]:
        """The records that pass the filters (``None``: no filter) as runs of ``jobstore``,
        newest first; ``since`` is a UTC datetime."""
        # Each job's list is oldest first: merge them backwards, lazily, so reading the newest
        # few costs O(jobs + limit log jobs), not a sort of the whole history.
        records: Iterable[RunRecord] = (
            reversed(self.job_runs.get(job_id, []))
            if job_id is not None
            else merge(*map(reversed, self.job_runs.values()), key=_RUN_TIME, reverse=True)
        )
        runs: list[JobRun] = []
        for record in records:
            if limit is not None and len(runs) >= limit:
                break
            if since is not None and record.scheduled_run_time < since:
                break  # newest first: every later record is older still
            if wanted is not None and record.status not in wanted:
                continue
            if scheduler_id is not None and record.scheduler_id != scheduler_id:
                continue
            runs.append(record.to_run(jobstore))
        return runs
