"""Writing each run's outcome onto its run record, in batches, off the executors' threads.

An executor reports an outcome (``BaseScheduler._report_run_outcome``) on whatever thread the run
ended on: a pool thread, the event loop. Writing the record there would make every run wait
for a database round trip, and put blocking I/O on an event loop. So outcomes are queued here
and one writer thread per scheduler writes them: it takes everything queued, one
``finish_runs`` call (one transaction) per store, and while that transaction runs, the next
outcomes gather for the next one. Under load a write therefore carries hundreds of outcomes; when
idle, an outcome reaches its store within milliseconds, which keeps the window in which a killed
process leaves a finished run looking unfinished (and so run again by recovery) small.

A store that cannot be written to keeps its outcomes queued and is retried, with a growing
pause, until the scheduler shuts down; at shutdown one last attempt is made and what still
cannot be written is logged (those runs will be recovered by another scheduler, as interrupted).

This module also keeps the occurrences in flight (taken, not yet recorded as finished), so that
records this scheduler holds in a store but is not running (a claim whose reply was lost with
the connection) can be recovered: see :meth:`RunRecorder.lost`.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict, deque
from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING

from ..events import EVENT_JOB_ERROR, EVENT_JOB_MISSED, JobExecutionEvent
from ..jobstores.claims import ClaimingJobStore, RunOutcome
from ..runs import RunStatus

if TYPE_CHECKING:
    from logging import Logger

    from .base import BaseScheduler as SchedulerLike

__all__ = ("RunRecorder", "outcome_of")

_TEXT_LIMIT = 65536
_MAX_RETRY_PAUSE = 30.0

_Key = tuple[str, str, float]  # store alias, job id, scheduled run time (UTC timestamp)


def outcome_of(event: JobExecutionEvent, scheduler_id: str, finished_at: datetime) -> RunOutcome:
    """The run outcome an executor's event describes, as of ``finished_at``."""
    if event.code == EVENT_JOB_MISSED:
        return RunOutcome(
            event.job_id, event.scheduled_run_time, RunStatus.MISSED, finished_at, scheduler_id
        )
    if event.code == EVENT_JOB_ERROR:
        exc = event.exception
        exc_type = None if exc is None else type(exc)
        return RunOutcome(
            event.job_id,
            event.scheduled_run_time,
            RunStatus.ERROR,
            finished_at,
            scheduler_id,
            exception_type=None
            if exc_type is None
            else f"{exc_type.__module__}.{exc_type.__qualname__}"[:255],
            exception_message=None if exc is None else _clip(str(exc)),
            traceback=None if event.traceback is None else _clip(event.traceback),
        )
    return RunOutcome(
        event.job_id,
        event.scheduled_run_time,
        RunStatus.SUCCESS,
        finished_at,
        scheduler_id,
        return_value=event.retval,
    )


def _clip(text: str) -> str:
    return text if len(text) <= _TEXT_LIMIT else text[: _TEXT_LIMIT - 1] + "…"


def _key(alias: str, job_id: str, run_time: datetime) -> _Key:
    return (alias, job_id, run_time.timestamp())


class RunRecorder:
    """Queues outcomes per store and writes them in batches (see the module docstring)."""

    def __init__(self, scheduler: SchedulerLike) -> None:
        self._scheduler = scheduler
        self._condition = threading.Condition()
        # Stores no other process uses: alias -> (store, outcomes not applied yet).
        self._local: dict[str, tuple[ClaimingJobStore, deque[RunOutcome]]] = {}
        # Held for a whole write, so that flush() returns only once what was queued before it
        # is in the store, even when the writer thread had already taken it.
        self._write_lock = threading.Lock()
        self._queues: defaultdict[str, list[RunOutcome]] = defaultdict(list)
        self._stores: dict[str, ClaimingJobStore] = {}
        self._in_flight: set[_Key] = set()
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._retry_pause = 0.0

    @property
    def _logger(self) -> Logger:
        return self._scheduler._logger

    # -- in flight

    def taken(self, alias: str, job_id: str, run_times: Iterable[datetime]) -> None:
        """Remember occurrences this scheduler took from a shared store and is about to run."""
        with self._condition:
            self._in_flight.update(_key(alias, job_id, run_time) for run_time in run_times)

    def lost(self, alias: str, held: Iterable[tuple[str, datetime]]) -> list[tuple[str, datetime]]:
        """Of the ``(job id, scheduled run time)`` records a store says this scheduler holds,
        those it is neither running nor about to record as finished.

        An occurrence stays in flight until its outcome is written, however long it runs, so a
        slow job is never mistaken for a lost one.
        """
        with self._condition:
            queued = {
                _key(alias, outcome.job_id, outcome.scheduled_run_time)
                for outcome in self._queues.get(alias, ())
            }
            return [
                (job_id, run_time)
                for job_id, run_time in held
                if (key := _key(alias, job_id, run_time)) not in self._in_flight
                and key not in queued
            ]

    # -- outcomes

    def report(self, alias: str, store: ClaimingJobStore, outcome: RunOutcome) -> None:
        """Queue ``outcome`` for ``store``; the writer thread writes it soon.

        A store no other process uses (:attr:`ClaimingJobStore.shared` false: the memory store)
        gets its outcomes in a plain queue instead, applied in one batch by the next
        :meth:`flush`: before the next claim (which counts running records) and before history
        is read. Appending is all the executor's thread does, so runs that end together do not
        queue up on the store's lock.
        """
        if not store.shared:
            local = self._local.get(alias)
            if local is None or local[0] is not store:
                local = self._local[alias] = (store, deque())
            local[1].append(outcome)
            return
        with self._condition:
            self._stores[alias] = store
            self._queues[alias].append(outcome)
            if self._thread is None and not self._stopping:
                self._thread = threading.Thread(
                    target=self._run, name="quartzite-run-recorder", daemon=True
                )
                self._thread.start()
            self._condition.notify()

    def _run(self) -> None:
        while True:
            with self._condition:
                while not any(self._queues.values()) and not self._stopping:
                    self._condition.wait()
                if self._stopping and not any(self._queues.values()):
                    self._thread = None
                    stores = list(self._stores.values())
                    break
            if not self._write_queued() and not self._stopping:
                self._retry_pause = min(max(self._retry_pause * 2, 0.5), _MAX_RETRY_PAUSE)
                with self._condition:
                    self._condition.wait(self._retry_pause)
            else:
                self._retry_pause = 0.0
        for store in stores:
            store.release_thread()

    def _write_queued(self, only: str | None = None) -> bool:
        """Write what is queued, one batch per store (or for the store ``only``); ``False`` if
        a store failed."""
        with self._write_lock:
            return self._write_batches(only)

    def _write_batches(self, only: str | None) -> bool:
        with self._condition:
            batches = {
                alias: queue[:]
                for alias, queue in self._queues.items()
                if queue and only in (None, alias)
            }
            for alias in batches:
                self._queues[alias].clear()
        ok = True
        for alias, outcomes in batches.items():
            store = self._stores[alias]
            try:
                store.finish_runs(outcomes)
            except Exception as exc:
                ok = False
                self._logger.warning(
                    "Could not record %d run outcome(s) in job store %r (%s); will retry",
                    len(outcomes),
                    alias,
                    exc,
                )
                with self._condition:
                    self._queues[alias][:0] = outcomes
                continue
            with self._condition:
                for outcome in outcomes:
                    key = _key(alias, outcome.job_id, outcome.scheduled_run_time)
                    self._in_flight.discard(key)
        return ok

    def flush(self, retry_for: float = 0.0, alias: str | None = None) -> bool:
        """Write everything queued so far (for the store ``alias``, or all), on the caller's
        thread, waiting for a write the writer thread has begun; failing stores are retried for
        ``retry_for`` seconds.

        :return: whether everything queued is written
        """
        self._apply_local(alias)
        deadline = time.monotonic() + retry_for
        while not self._write_queued(alias):
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.2)
        return True

    def _apply_local(self, alias: str | None) -> None:
        """Apply the queued outcomes of unshared stores (the one named, or all)."""
        for name, (store, outcomes) in list(self._local.items()):
            if alias not in (None, name) or not outcomes:
                continue
            batch = []
            while outcomes:  # popleft is atomic: reporters may append meanwhile
                batch.append(outcomes.popleft())
            try:
                store.finish_runs(batch)
            except Exception:
                self._logger.exception(
                    "Could not record %d run outcome(s) in job store %r", len(batch), name
                )

    def stop(self) -> None:
        """Write what is queued and stop the writer thread."""
        with self._condition:
            self._stopping = True
            thread = self._thread
            self._condition.notify_all()
        if thread is not None and thread is not threading.current_thread():
            thread.join(15)
        if not self.flush(retry_for=10.0):
            with self._condition:
                left = sum(len(queue) for queue in self._queues.values())
            self._logger.error(
                "%d run outcome(s) could not be recorded; those runs will be recovered as "
                "interrupted by the schedulers sharing the store",
                left,
            )
        with self._condition:
            self._queues.clear()
            self._local.clear()
            self._in_flight.clear()
            self._stopping = False
            self._thread = None
