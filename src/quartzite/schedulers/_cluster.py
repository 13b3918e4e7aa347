"""The scheduler's identity among the schedulers sharing its stores, and its check-ins.

Every scheduler has a ``scheduler_id``. While it runs, a background thread checks in with each
claiming store (:class:`~quartzite.jobstores.claims.ClaimingJobStore`) every
``checkin_interval`` seconds, promising to be alive for ``lease_time`` seconds more; a scheduler
whose promise ran out is dead, and the others recover the runs it held (see
:meth:`~quartzite.jobstores.claims.ClaimingJobStore.recover_runs`). After each check-in the
processing round is asked to look for such runs, so recovery happens within a check-in interval
of a lease running out. Once the scheduler runs, the stores that can notify (PostgreSQL, Redis)
are asked to wake it when another process changes a job.

A clean shutdown releases the scheduler's check-ins, so what it still held (nothing, after
``shutdown(wait=True)``) is recoverable at once instead of after the lease.
"""

from __future__ import annotations

import math
import os
import threading
from typing import TYPE_CHECKING, Any

from ..jobstores.claims import ClaimingJobStore
from ._states import STATE_RUNNING

if TYPE_CHECKING:
    from .base import BaseScheduler

__all__ = ("Membership", "default_scheduler_id")


def default_scheduler_id() -> str:
    """``<host>-<pid>-<random>``: readable in listings, unique even across restarts."""
    import socket  # both cost milliseconds at import time, and most schedulers name themselves
    import uuid

    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


def _seconds(name: str, value: Any) -> float:
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        seconds = math.nan
    if isinstance(value, bool) or not (math.isfinite(seconds) and seconds > 0):
        raise ValueError(f"{name} must be a positive finite number of seconds, got {value!r}")
    return seconds


class Membership:
    """Identity, check-ins and change notifications of one scheduler (see the module doc)."""

    def __init__(self, scheduler: BaseScheduler) -> None:
        self._scheduler = scheduler
        self._scheduler_id: str | None = None
        self.checkin_interval = 10.0
        self.lease_time = 30.0
        #: set after each check-in; the processing round then looks for runs to recover
        self.recovery_due = True
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._watched: dict[int, ClaimingJobStore] = {}
        self._watch_lock = threading.Lock()

    @property
    def scheduler_id(self) -> str:
        """The configured id, or a default made on first use."""
        if self._scheduler_id is None:
            self._scheduler_id = default_scheduler_id()
        return self._scheduler_id

    def configure(self, config: dict[str, Any]) -> None:
        """Take ``scheduler_id``, ``checkin_interval`` and ``lease_time`` out of ``config``."""
        scheduler_id = config.pop("scheduler_id", None)
        if scheduler_id is not None:
            if not isinstance(scheduler_id, str) or not scheduler_id.strip():
                raise ValueError(f"scheduler_id must be a non-empty str, got {scheduler_id!r}")
            if len(scheduler_id) > 191:
                raise ValueError(
                    f"scheduler_id must be at most 191 characters, got {len(scheduler_id)}"
                )
            self._scheduler_id = scheduler_id
        checkin = _seconds("checkin_interval", config.pop("checkin_interval", 10))
        lease = _seconds("lease_time", config.pop("lease_time", 30))
        if lease <= checkin:
            raise ValueError(
                f"lease_time ({lease:g} s) must be longer than checkin_interval ({checkin:g} s), "
                "or a scheduler would count as dead between two of its check-ins"
            )
        self.checkin_interval, self.lease_time = checkin, lease

    def claiming_stores(self) -> list[tuple[str, ClaimingJobStore]]:
        """The scheduler's stores that claim (a snapshot of the table)."""
        stores = list(self._scheduler._jobstores.items())
        return [(alias, store) for alias, store in stores if isinstance(store, ClaimingJobStore)]

    def start(self) -> None:
        """Check in once with every claiming store (before the first claim), then keep doing
        it in the background."""
        self._stop.clear()
        self.recovery_due = True
        self._check_in_all()
        self._thread = threading.Thread(
            target=self._run, name=f"quartzite-checkin-{self.scheduler_id}", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop checking in and watching, then release every check-in."""
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(self.checkin_interval + 5)
        with self._watch_lock:
            watched = list(self._watched.values())
            self._watched.clear()
        for store in watched:
            try:
                store.unwatch()
            except Exception:
                self._scheduler._logger.exception("Error stopping the change watcher of %r", store)
        for alias, store in self.claiming_stores():
            try:
                store.release(self.scheduler_id)
            except Exception as exc:
                self._scheduler._logger.warning(
                    "Could not release the check-in of scheduler %s in job store %r (%s); the "
                    "others will recover what it held once its lease ends",
                    self.scheduler_id,
                    alias,
                    exc,
                )

    def _run(self) -> None:
        try:
            while not self._stop.wait(self.checkin_interval):
                self._check_in_all()
                self.recovery_due = True
                if self._scheduler.state == STATE_RUNNING:
                    self._scheduler.wakeup()
        finally:
            for _alias, store in self.claiming_stores():
                store.release_thread()

    def _check_in_all(self) -> None:
        scheduler = self._scheduler
        now = scheduler._current_time()
        for alias, store in self.claiming_stores():
            try:
                store.check_in(self.scheduler_id, now, self.lease_time)
            except Exception as exc:
                scheduler._logger.warning(
                    "Check-in of scheduler %s with job store %r failed (%s); retrying in %g s",
                    self.scheduler_id,
                    alias,
                    exc,
                    self.checkin_interval,
                )
        if scheduler.state == STATE_RUNNING:
            self.watch_stores()  # a store added since

    def watch_stores(self) -> None:
        """Ask the stores that can notify to wake this scheduler when another process changes
        a job. Only a running scheduler needs it: one started paused (a web worker that only
        adds jobs) holds no listening connection until it is resumed."""
        with self._watch_lock:  # the check-in thread and resume() may both get here
            for alias, store in self.claiming_stores():
                if id(store) not in self._watched:
                    self._watch(alias, store)

    def _watch(self, alias: str, store: ClaimingJobStore) -> None:
        try:
            store.watch(self._on_change)
        except Exception as exc:
            self._scheduler._logger.warning(
                "Job store %r cannot notify this scheduler of changes (%s); it will look for "
                "them every %s s",
                alias,
                exc,
                store.poll_interval or self.checkin_interval,
            )
        self._watched[id(store)] = store

    def _on_change(self) -> None:
        # Called from a store's watcher thread.
        if self._scheduler.state == STATE_RUNNING:
            self._scheduler.wakeup()
