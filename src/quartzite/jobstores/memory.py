"""A job store that keeps jobs in memory, in a heap ordered by next run time."""

from __future__ import annotations

from datetime import datetime
from heapq import heapify, heappop, heappush
from itertools import count
from math import inf
from typing import TYPE_CHECKING, Any

from ..util import datetime_to_utc_timestamp
from .base import BaseJobStore, ConflictingIdError, JobLookupError

if TYPE_CHECKING:
    from ..job import Job

__all__ = ("MemoryJobStore",)

# A heap entry is a list [sort key, job id, sequence number, job]. The sort key is the UTC
# timestamp of the next run time (inf when paused); ties are ordered by job id, and the sequence
# number keeps the comparison from ever reaching the job. Removing or rescheduling a job marks
# its entry dead in place (job slot set to None) instead of searching the heap for it; the heap
# is rebuilt once dead entries outnumber live ones. So add, update and remove cost O(log n)
# (amortized), where a sorted list costs O(n) per insertion and removal.
_KEY, _ID, _SEQUENCE, _JOB = range(4)


class MemoryJobStore(BaseJobStore):
    """Stores jobs in an in-memory heap. No serialization: the same Job objects come back."""

    def __init__(self) -> None:
        super().__init__()
        self._entries: dict[str, list[Any]] = {}  # job id -> its live heap entry
        self._heap: list[list[Any]] = []
        self._sequence = count()
        self._dead_entries = 0

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
