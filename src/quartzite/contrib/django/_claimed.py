"""The occurrences a DjangoJobStore's own claims took, so its event listeners can skip them.

The claim writes each occurrence's row ("Started execution") before the scheduler submits it,
and the scheduler's run recorder writes the outcome onto that row through ``finish_runs``, in
batches, on its own thread. So for those occurrences the listeners of
:class:`~quartzite.contrib.django.jobstores.DjangoResultStoreMixin` have nothing to write: they
return at once, without a database connection in the executor's worker thread. Events for any
other occurrence (a test calling a handler, a store that does not claim) take the general path.

An occurrence is forgotten once the three things that concern it have happened, in whatever
order they come: ``finish_runs`` wrote its outcome, and the listeners saw its submission and its
outcome events. The scheduler dispatches submissions after the round, so a quick run is often
finished (and written) before its submission event arrives; forgetting it at ``finish_runs``
alone would send that late event down the general path, one locked transaction per job.
Occurrences whose events never come (a submission the executor refused with an error) are
dropped, oldest first, once the memory holds ``size`` of them.
"""

from __future__ import annotations

import collections
import threading
from collections.abc import Iterable, Sequence
from datetime import datetime

__all__ = ("FINISHED", "OUTCOME", "SUBMITTED", "ClaimedRuns")

_Key = tuple[str, float]

#: ``finish_runs`` wrote the outcome.
FINISHED = 1
#: The submission listener saw the occurrence (submitted, or refused by the executor).
SUBMITTED = 2
#: The outcome listener saw it (executed, error or missed).
OUTCOME = 4
_DONE = FINISHED | SUBMITTED | OUTCOME


class ClaimedRuns:
    """A bounded memory of the (job id, run time) a store's claims handed out, with what has
    happened to each since."""

    def __init__(self, size: int = 50_000) -> None:
        self._lock = threading.Lock()
        self._seen: collections.OrderedDict[_Key, int] = collections.OrderedDict()
        self._size = size

    def __len__(self) -> int:
        with self._lock:
            return len(self._seen)

    def remember(self, job_id: str, run_times: Iterable[datetime]) -> None:
        """Note occurrences a claim (or a recovery) just handed to this process."""
        with self._lock:
            for moment in run_times:
                key = (job_id, moment.timestamp())
                self._seen[key] = 0
                self._seen.move_to_end(key)
            while len(self._seen) > self._size:
                self._seen.popitem(last=False)

    def observe(self, job_id: str, run_times: Sequence[datetime], what: int) -> bool:
        """If every one of these occurrences was handed out here, note ``what`` happened to
        them and return ``True`` (the caller has nothing to write); else ``False``."""
        keys = [(job_id, moment.timestamp()) for moment in run_times]
        with self._lock:
            if not keys or any(key not in self._seen for key in keys):
                return False
            for key in keys:
                self._mark(key, what)
            return True

    def finished(self, keys: Iterable[tuple[str, datetime]]) -> None:
        """Note that ``finish_runs`` wrote the outcomes of these occurrences."""
        with self._lock:
            for job_id, moment in keys:
                key = (job_id, moment.timestamp())
                if key in self._seen:
                    self._mark(key, FINISHED)

    def _mark(self, key: _Key, what: int) -> None:
        state = self._seen[key] | what
        if state == _DONE:
            del self._seen[key]
        else:
            self._seen[key] = state
