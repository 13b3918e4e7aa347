"""What the persistent job stores share: serializing jobs, restoring them, quarantining bad rows.

A row comes back from a database that other programs, older versions of quartzite or an
attacker with write access may have written. Restoring it is therefore treated as parsing
untrusted input: the serializer decodes it, ``Job.__setstate__`` (and the trigger's) rebuild the
objects and import the function, and :func:`_check_restored_job` then checks that what came back
is a job the scheduler can handle. A failure at any of these steps sends the row to the store's
quarantine and the store carries on with its other rows.
"""

from __future__ import annotations

import pickle
import threading
from abc import abstractmethod
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any, ContextManager, NamedTuple

from ..events import EVENT_JOB_QUARANTINED, JobQuarantineEvent
from ..job import Job
from ..serializers import BaseSerializer, resolve_serializer
from ..triggers.base import BaseTrigger
from ..util import datetime_to_utc_timestamp
from .base import UnreadableJobError
from .claims import ClaimingJobStore, HistoryOptions

__all__ = ("QuarantinedJob", "SerializingJobStore", "StoredRow")


def check_pickle_protocol(owner: str, value: Any) -> int:
    """Return ``value`` if it is a pickle protocol this Python can write; raise otherwise.

    Checked when the store is built: a bad protocol would otherwise surface only when the first
    job is added, far from the configuration that caused it.
    """
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(
            f"{owner}: pickle_protocol must be an int, got {value!r} ({type(value).__name__})"
        )
    if not -1 <= value <= pickle.HIGHEST_PROTOCOL:
        raise ValueError(
            f"{owner}: pickle_protocol must be from 0 to {pickle.HIGHEST_PROTOCOL} "
            f"(or -1 for the highest), got {value!r}"
        )
    return value


def _check_restored_job(job: Job, row_id: str) -> None:
    """Refuse a restored job that the scheduler could not handle safely.

    ``Job.__setstate__`` copies fields as it finds them, so a row written by hand (or by a
    serializer that decodes tagged values anywhere) can yield a job whose trigger is not a
    trigger, whose name is some other object, or whose id differs from the row's, which would
    make later updates write to another row. Such a job must not reach the scheduler.
    """
    problems = []
    if job.id != row_id:
        problems.append(f"the state has the id {job.id!r}")
    if not isinstance(job.trigger, BaseTrigger):
        problems.append(f"the trigger is of type {type(job.trigger).__name__}, not a trigger")
    if not callable(job.func):
        problems.append(f"the function {job.func_ref!r} is not callable")
    if not isinstance(job.name, str):
        problems.append(f"the name is of type {type(job.name).__name__}, not str")
    if not isinstance(job.executor, str):
        problems.append(f"the executor alias is of type {type(job.executor).__name__}, not str")
    if not isinstance(job.args, (tuple, list)):
        problems.append(f"args is of type {type(job.args).__name__}, not tuple")
    if not isinstance(job.kwargs, dict) or not all(isinstance(key, str) for key in job.kwargs):
        problems.append("kwargs is not a dict with str keys")
    if job.next_run_time is not None and not (
        isinstance(job.next_run_time, datetime) and job.next_run_time.tzinfo is not None
    ):
        problems.append(f"next_run_time is {job.next_run_time!r}, not an aware datetime")
    if isinstance(job.max_instances, bool) or not (
        isinstance(job.max_instances, int) and job.max_instances >= 1
    ):
        problems.append(f"max_instances is {job.max_instances!r}, not an int >= 1")
    grace = job.misfire_grace_time
    if grace is not None and (
        isinstance(grace, bool) or not isinstance(grace, (int, float)) or not grace >= 0
    ):
        problems.append(f"misfire_grace_time is {grace!r}, not None or a number >= 0")
    if problems:
        raise ValueError(f'The stored job "{row_id}" is not usable: {"; ".join(problems)}')


class StoredRow(NamedTuple):
    """One job as a store keeps it: its id, serialized state and next run time (UTC timestamp)."""

    id: str
    job_state: bytes
    next_run_time: float | None


class QuarantinedJob(NamedTuple):
    """A job that could not be restored, as its store's quarantine keeps it.

    :ivar id: the job's id
    :ivar job_state: the raw serialized state, exactly as it was stored
    :ivar next_run_time: the job's next run time (UTC timestamp) as it was stored
    :ivar error: the error that restoring raised (``"ExceptionType: message"``)
    :ivar quarantined_at: when the job was moved to the quarantine (UTC timestamp)
    """

    id: str
    job_state: bytes
    next_run_time: float | None
    error: str
    quarantined_at: float


class _Batch:
    """The writes of one processing round, kept until the round ends (see ``batch_writes``)."""

    __slots__ = ("known_ids", "removals", "updates")

    def __init__(self, known_ids: Iterable[str]) -> None:
        self.known_ids = set(known_ids)
        self.updates: dict[str, tuple[bytes, float | None]] = {}
        self.removals: dict[str, None] = {}  # an ordered set


class SerializingJobStore(ClaimingJobStore):
    """Base of the stores that keep jobs as serialized state (SQL, Redis).

    A row that cannot be restored is logged, copied to the store's quarantine with the error and
    a timestamp, removed, and announced with an :data:`~quartzite.events.EVENT_JOB_QUARANTINED`
    event; the other jobs are returned as usual. "Cannot be restored" covers every step: the
    serializer refusing the bytes (corrupt, forged, unsigned, naming a function outside
    ``allowed_modules``), ``Job.__setstate__`` or a trigger's ``__setstate__`` refusing the state
    (a zero interval, a negative jitter), the function failing to import, and the restored job
    failing the checks of :func:`_check_restored_job`.

    :param serializer: a :class:`~quartzite.serializers.BaseSerializer`, ``"pickle"`` (default)
        or ``"json"``
    :param pickle_protocol: the pickle protocol of the default serializer
    :param history_options: the run-record options (see
        :class:`~quartzite.jobstores.claims.HistoryOptions`)
    :param quarantine_unreadable: move rows that cannot be restored to the quarantine
        (default); ``False`` raises :class:`~quartzite.jobstores.base.UnreadableJobError`
        instead and leaves the row where it is. Processes that may lack some of the
        application's code (a command-line tool, a web worker that only adds jobs) pass
        ``False``, so that only the schedulers that run the jobs judge them.
    """

    #: Move rows that cannot be restored to the quarantine (``False``: raise instead).
    quarantine_unreadable = True
    #: The longest job id the store can keep (``None``: no limit).
    max_id_length: int | None = None

    def __init__(
        self,
        serializer: BaseSerializer | str | None = None,
        pickle_protocol: int = pickle.HIGHEST_PROTOCOL,
        history_options: HistoryOptions | None = None,
        quarantine_unreadable: bool = True,
    ) -> None:
        super().__init__()
        if not isinstance(quarantine_unreadable, bool):
            raise TypeError(
                f"{type(self).__name__}: quarantine_unreadable must be True or False, "
                f"got {quarantine_unreadable!r}"
            )
        self.quarantine_unreadable = quarantine_unreadable
        self.pickle_protocol = check_pickle_protocol(type(self).__name__, pickle_protocol)
        self.serializer = resolve_serializer(serializer, pickle_protocol)
        self.history_options = history_options or HistoryOptions()
        # State of a batch of writes (see batch_writes), per thread.
        self._local = threading.local()

    # -- batching the writes of a processing round

    def batch_writes(self) -> ContextManager[object]:
        """Write the round's updates and removals together, in one transaction (or pipeline).

        Inside the block, ``update_job``/``remove_job`` of the jobs that the last
        ``get_due_jobs`` call (on this thread) returned are kept in memory and written at the end
        of the block; any other operation writes them first, so reads see them. Because those
        jobs are known to exist, the deferred calls keep their contract (no
        ``JobLookupError``); should another process remove such a job meanwhile, the deferred
        write of it does nothing.
        """
        return self._batch_context()

    @contextmanager
    def _batch_context(self) -> Iterator[object]:
        if getattr(self._local, "batch", None) is not None:  # nested: the outer block writes
            yield None
            return

        batch = _Batch(getattr(self._local, "due_ids", ()))
        self._local.batch = batch
        try:
            yield batch
        finally:
            self._local.batch = None
            self._flush(batch)

    def _remember_due(self, jobs: list[Job]) -> None:
        self._local.due_ids = [job.id for job in jobs]

    def _flush_batch(self) -> None:
        """Write the deferred writes of this thread's batch, if any (before another operation)."""
        batch: _Batch | None = getattr(self._local, "batch", None)
        if batch is not None:
            self._flush(batch)

    def _flush(self, batch: _Batch) -> None:
        if batch.updates or batch.removals:
            updates = [(job_id, *value) for job_id, value in batch.updates.items()]
            removals = list(batch.removals)
            batch.updates.clear()
            batch.removals.clear()
            self._write_batch(updates, removals)

    def update_job(self, job: Job) -> None:
        job_state = self._serialize_job(job)
        timestamp = datetime_to_utc_timestamp(job.next_run_time)
        batch: _Batch | None = getattr(self._local, "batch", None)
        if batch is not None:
            if job.id in batch.known_ids:
                batch.updates[job.id] = (job_state, timestamp)
                return
            self._flush(batch)
        self._update_row(job.id, job_state, timestamp)

    def remove_job(self, job_id: str) -> None:
        batch: _Batch | None = getattr(self._local, "batch", None)
        if batch is not None:
            if job_id in batch.known_ids:
                batch.known_ids.discard(job_id)
                batch.updates.pop(job_id, None)
                batch.removals[job_id] = None
                return
            self._flush(batch)
        self._remove_row(job_id)

    @abstractmethod
    def _update_row(self, job_id: str, job_state: bytes, next_run_time: float | None) -> None:
        """Replace the stored job now. :raises JobLookupError: if there is none"""

    @abstractmethod
    def _remove_row(self, job_id: str) -> None:
        """Remove the stored job now. :raises JobLookupError: if there is none"""

    @abstractmethod
    def _write_batch(
        self, updates: list[tuple[str, bytes, float | None]], removals: list[str]
    ) -> None:
        """Apply the given updates (skipping jobs that no longer exist) and removals together."""

    # -- serialization

    def _serialize_job(self, job: Job) -> bytes:
        """Return the serialized state of ``job``.

        :raises ValueError: if the job's callable has no textual reference, or its id is longer
            than the store's id column holds (:attr:`max_id_length`)
        :raises TypeError: if the serializer cannot store a value of the job (e.g. a non-JSON
            argument with the JSON serializer)
        """
        limit = self.max_id_length
        if limit is not None and len(job.id) > limit:
            raise ValueError(
                f"{type(self).__name__} cannot store job id {job.id[:40]!r}... "
                f"({len(job.id)} characters): its id column holds at most {limit}"
            )
        return self.serializer.serialize(job.__getstate__())

    def _restore_job(self, row: StoredRow) -> Job:
        job = Job.__new__(Job)
        job.__setstate__(self.serializer.deserialize(row.job_state))
        _check_restored_job(job, row.id)
        job._scheduler = self._scheduler
        job._jobstore_alias = self._alias
        return job

    def _restore_jobs(self, rows: Iterable[StoredRow]) -> list[Job]:
        """Restore the jobs of ``rows`` in order; quarantine those that cannot be restored."""
        jobs: list[Job] = []
        failed: list[tuple[StoredRow, str]] = []
        for row in rows:
            try:
                jobs.append(self._restore_job(row))
            except Exception as exc:  # whatever the row holds, it must not stop the others
                error = f"{type(exc).__name__}: {exc}"
                if not self.quarantine_unreadable:
                    raise UnreadableJobError(row.id, error) from exc
                self._logger.exception('Unable to restore job "%s" -- removing it', row.id)
                failed.append((row, error))

        if failed:
            self._quarantine(failed)
        return jobs

    def _restore_one(self, row: StoredRow | None) -> Job | None:
        """Restore the job of one looked up row (``None`` when it is missing or quarantined)."""
        if row is None:
            return None
        jobs = self._restore_jobs([row])
        return jobs[0] if jobs else None

    def _quarantine(self, failed: list[tuple[StoredRow, str]]) -> None:
        self._quarantine_rows(failed)
        location = self._quarantine_location
        for row, error in failed:
            self._logger.warning(
                'The stored state of job "%s" was kept in %s (error: %s)', row.id, location, error
            )
            if self._scheduler is not None:
                self._scheduler._dispatch_event(
                    JobQuarantineEvent(EVENT_JOB_QUARANTINED, row.id, self._alias, error, location)
                )

    @property
    @abstractmethod
    def _quarantine_location(self) -> str:
        """The name of the quarantine (table or key), for logs and events."""

    @abstractmethod
    def _quarantine_rows(self, failed: list[tuple[StoredRow, str]]) -> None:
        """Copy the given rows (with their errors) to the quarantine, then remove them."""

    @abstractmethod
    def get_quarantined_jobs(self) -> list[QuarantinedJob]:
        """Return the jobs in this store's quarantine, oldest first."""
