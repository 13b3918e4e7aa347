"""What the schedulers driven by a callback-based event loop (asyncio, Tornado, Twisted) share.

Such a scheduler never blocks: every round of :meth:`_process_jobs` runs as a callback on the
loop's thread, and the loop's own timer calls it again when the next job is due. A variant only
says how to hand a callable to its loop from any thread, and how to arm and cancel its timer.
"""

from __future__ import annotations

from abc import abstractmethod
from typing import Any, Callable

from . import SchedulerNotRunningError
from ._states import STATE_STOPPED
from .base import BaseScheduler


class EventLoopScheduler(BaseScheduler):
    """Base class of the schedulers that run as callbacks on an event loop.

    :meth:`wakeup` and :meth:`shutdown` may be called from any thread: both are carried out
    later, on the loop's thread. Wakeups requested while one is already on its way are merged
    into it (adding 10,000 jobs costs one processing round, not 10,000).
    """

    _wakeup_scheduled = False

    @abstractmethod
    def _call_threadsafe(self, callback: Callable[..., Any], *args: Any) -> None:
        """Have the event loop call ``callback(*args)`` on its thread, soon (never right now).

        :raises SchedulerNotRunningError: if the scheduler has no event loop
        """

    @abstractmethod
    def _start_timer(self, wait_seconds: float | None) -> None:
        """Cancel the timer, then arm it to call :meth:`wakeup` in ``wait_seconds`` (unless
        ``None``). Called on the loop's thread."""

    @abstractmethod
    def _stop_timer(self) -> None:
        """Cancel the timer, if armed. Called on the loop's thread."""

    def start(self, paused: bool = False) -> None:
        self._wakeup_scheduled = False
        super().start(paused)

    def shutdown(self, wait: bool = True) -> None:
        """Shut down the scheduler, along with its executors and job stores.

        The shutdown itself happens a moment later, on the event loop's thread (so this may be
        called from any thread); :data:`~quartzite.events.EVENT_SCHEDULER_SHUTDOWN` tells when
        it is done. Does not interrupt running jobs (but see the executor's documentation).

        :param wait: passed to the executors' ``shutdown()``
        :raises SchedulerNotRunningError: if the scheduler has not been started yet
        """
        if not self.running:
            raise SchedulerNotRunningError

        self._call_threadsafe(self._shutdown, wait)

    def _shutdown(self, wait: bool = True) -> None:
        """The shutdown proper, on the loop's thread."""
        if self.state == STATE_STOPPED:  # shut down twice before the loop got to it
            return
        BaseScheduler.shutdown(self, wait)
        self._stop_timer()

    def wakeup(self) -> None:
        """Have the scheduler process its jobs soon, on the event loop's thread."""
        if self._wakeup_scheduled or self.state == STATE_STOPPED:
            return
        # The flag is set before the callback is queued and cleared by the callback before it
        # reads the job stores, so a job stored before this call is always seen.
        self._wakeup_scheduled = True
        try:
            self._call_threadsafe(self._process_jobs_and_rearm)
        except BaseException:
            self._wakeup_scheduled = False
            raise

    def _process_jobs_and_rearm(self) -> None:
        """One processing round on the loop's thread, then arm the timer for the next one."""
        self._wakeup_scheduled = False
        if self.state == STATE_STOPPED:  # a wakeup that was queued before a shutdown
            return

        self._stop_timer()
        self._start_timer(self._process_jobs_or_retry())
