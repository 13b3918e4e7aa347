"""A job store that keeps jobs in memory, in a heap ordered by next run time."""

from __future__ import annotations

from datetime import datetime
from heapq import heapify, heappop, heappush
from math import inf
from typing import TYPE_CHECKING

from ..util import datetime_to_utc_timestamp
from .base import BaseJobStore, ConflictingIdError, JobLookupError

if TYPE_CHECKING:
    from ..job import Job

__all__ = ("MemoryJobStore",)

# A heap entry: (sort key, job id, sequence number). The sort key is the UTC timestamp of the next
# run time (inf when paused); ties are ordered by job id. Removing or rescheduling a job leaves
# its old entry in the heap; an entry is live only while its sequence number is the job's current
# one, and the heap is rebuilt once dead entries outnumber live ones. This keeps add, update and
# remove O(log n) instead of the O(n) of a sorted list.
_HeapEntry = tuple[float, str, int]


class MemoryJobStore(BaseJobStore):
    """Stores jobs in an in-memory heap. No serialization: the same Job objects come back."""

    def __init__(self) -> None:
        super().__init__()
        self._jobs_index: dict[str, tuple[Job, float | None]] = {}  # id -> (job, timestamp)
        self._sequence_numbers: dict[str, int] = {}  # id -> sequence of its live heap entry
        self._heap: list[_HeapEntry] = []
        self._next_sequence = 0
        self._dead_entries = 0

    @property
    def _jobs(self) -> list[tuple[Job, float | None]]:
        """All ``(job, timestamp)`` pairs in run time order (a snapshot, for introspection)."""
        return [self._jobs_index[entry[1]] for entry in sorted(self._live_entries())]

    def lookup_job(self, job_id: str) -> Job | None:
        entry = self._jobs_index.get(job_id)
        return entry[0] if entry is not None else None

    def get_due_jobs(self, now: datetime) -> list[Job]:
        now_timestamp = datetime_to_utc_timestamp(now)
        heap = self._heap
        sequence_numbers = self._sequence_numbers
        # Every entry due by now sits in the subtree of due entries below the root (heap
        # property), so walk just that subtree instead of popping and pushing back.
        due: list[_HeapEntry] = []
        stack = [0] if heap else []
        size = len(heap)
        while stack:
            position = stack.pop()
            entry = heap[position]
            if entry[0] > now_timestamp:  # type: ignore[operator]
                continue
            if sequence_numbers.get(entry[1]) == entry[2]:
                due.append(entry)
            child = 2 * position + 1
            if child < size:
                stack.append(child)
                if child + 1 < size:
                    stack.append(child + 1)
        due.sort()
        jobs_index = self._jobs_index
        return [jobs_index[entry[1]][0] for entry in due]

    def get_next_run_time(self) -> datetime | None:
        heap = self._heap
        sequence_numbers = self._sequence_numbers
        while heap:
            top = heap[0]
            if sequence_numbers.get(top[1]) == top[2]:
                return self._jobs_index[top[1]][0].next_run_time
            heappop(heap)
            self._dead_entries -= 1
        return None

    def get_all_jobs(self) -> list[Job]:
        jobs_index = self._jobs_index
        return [jobs_index[entry[1]][0] for entry in sorted(self._live_entries())]

    def add_job(self, job: Job) -> None:
        if job.id in self._jobs_index:
            raise ConflictingIdError(job.id)

        timestamp = datetime_to_utc_timestamp(job.next_run_time)
        self._jobs_index[job.id] = (job, timestamp)
        self._push(job.id, timestamp)

    def update_job(self, job: Job) -> None:
        old_entry = self._jobs_index.get(job.id)
        if old_entry is None:
            raise JobLookupError(job.id)

        timestamp = datetime_to_utc_timestamp(job.next_run_time)
        self._jobs_index[job.id] = (job, timestamp)
        if timestamp != old_entry[1]:
            self._dead_entries += 1
            self._push(job.id, timestamp)

    def remove_job(self, job_id: str) -> None:
        if job_id not in self._jobs_index:
            raise JobLookupError(job_id)

        del self._jobs_index[job_id]
        del self._sequence_numbers[job_id]
        self._dead_entries += 1
        if self._dead_entries > len(self._jobs_index) + 64:
            self._compact()

    def remove_all_jobs(self) -> None:
        self._jobs_index.clear()
        self._sequence_numbers.clear()
        self._heap.clear()
        self._dead_entries = 0

    def shutdown(self) -> None:
        self.remove_all_jobs()

    def _push(self, job_id: str, timestamp: float | None) -> None:
        sequence = self._next_sequence
        self._next_sequence = sequence + 1
        self._sequence_numbers[job_id] = sequence
        heappush(self._heap, (inf if timestamp is None else timestamp, job_id, sequence))
        if self._dead_entries > len(self._jobs_index) + 64:
            self._compact()

    def _live_entries(self) -> list[_HeapEntry]:
        sequence_numbers = self._sequence_numbers
        return [entry for entry in self._heap if sequence_numbers.get(entry[1]) == entry[2]]

    def _compact(self) -> None:
        self._heap = self._live_entries()
        heapify(self._heap)
        self._dead_entries = 0
