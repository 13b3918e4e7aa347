"""The occurrences a DjangoJobStore's own claims took, so its event listeners can skip work.

The claim writes each occurrence's row ("Started execution") before the scheduler submits it,
so the submission listener has nothing to add for those, and the outcome listeners can finish
the row with one conditional ``UPDATE`` instead of a locked read-modify-write transaction. Rows
of other occurrences (events a test or another component dispatches) take the general path.
"""

from __future__ import annotations

import collections
import threading
from collections.abc import Sequence
from datetime import datetime

from django.utils import timezone

from ._locking import retry_locked
from ._records import duration, stamp, to_db
from .models import DjangoJobExecution

__all__ = ("ClaimedRuns",)

_Key = tuple[str, float]


class ClaimedRuns:
    """A bounded memory of (job id, run time) -> when the claim started the run."""

    def __init__(self, size: int = 20_000) -> None:
        self._lock = threading.Lock()
        self._order: collections.deque[_Key] = collections.deque()
        self._started: dict[_Key, datetime] = {}
        self._size = size

    def remember(self, job_id: str, run_times: Sequence[datetime], started: datetime) -> None:
        with self._lock:
            for moment in run_times:
                key = (job_id, moment.timestamp())
                if key not in self._started:
                    self._order.append(key)
                self._started[key] = started
            while len(self._order) > self._size:
                self._started.pop(self._order.popleft(), None)

    def covers(self, job_id: str, run_times: Sequence[datetime]) -> bool:
        """Whether every one of these occurrences was taken by a claim of this store."""
        with self._lock:
            return all((job_id, moment.timestamp()) in self._started for moment in run_times)

    def finish(
        self,
        alias: str,
        job_id: str,
        run_time: datetime,
        status: str,
        exception: str | None,
        traceback: str | None,
    ) -> bool:
        """Finish the row of a claimed occurrence that is still running, in one statement.

        :return: ``False`` when the occurrence was not claimed here or its row is not running
            any more (the caller then takes the general path)
        """
        with self._lock:
            # Kept after use: the submission event may come after the outcome (DebugExecutor).
            started = self._started.get((job_id, run_time.timestamp()))
        if started is None:
            return False
        now = timezone.now()
        values: dict[str, object] = {
            "status": status,
            "finished": stamp(now),
            "duration": duration(started, now),
        }
        if exception:
            values["exception"] = str(exception)[:1000]
        if traceback:
            values["traceback"] = str(traceback)
        rows = DjangoJobExecution.objects.db_manager(alias).filter(
            job_id=job_id, run_time=to_db(run_time), status=DjangoJobExecution.SENT
        )
        return bool(retry_locked(lambda: rows.update(**values), "recording a run outcome", alias))
