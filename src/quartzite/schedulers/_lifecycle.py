"""The scheduler's lifecycle: the bodies of ``start``, ``shutdown``, ``pause`` and ``resume``.

A scheduler is stopped (configurable; added jobs wait in the pending list), running (processing
rounds) or paused (started, but no rounds until resumed). Starting brings the parts up in order:
the default executor and job store are added, the pending jobs checked against the complete alias
tables while nothing runs yet, the components started, the pending jobs stored, and the
check-ins begun. Shutting down takes them down the other way round, letting a round under way
submit what it claimed and every outcome be written before the stores close.

Each name that tests and subclasses may replace (``_create_default_executor``, ``_real_add_job``,
``_dispatch_event``, ``wakeup`` ...) is called through the scheduler, so that a replacement on
the instance takes effect here too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .. import events as ev
from . import SchedulerAlreadyRunningError, SchedulerNotRunningError
from ._config import refuse_uwsgi_without_threads
from ._states import STATE_PAUSED, STATE_RUNNING, STATE_STOPPED

if TYPE_CHECKING:
    from .base import BaseScheduler

__all__ = ("Lifecycle",)


class Lifecycle:
    """Moves one scheduler between its states (see the module doc)."""

    def __init__(self, scheduler: BaseScheduler) -> None:
        self._scheduler = scheduler

    def start(self, paused: bool) -> None:
        scheduler = self._scheduler
        if scheduler.state != STATE_STOPPED:
            raise SchedulerAlreadyRunningError
        refuse_uwsgi_without_threads()

        # Defaults are added (not started) first, so that the pending jobs can be checked
        # against the complete alias tables while nothing runs yet.
        with scheduler._executors_lock:
            if "default" not in scheduler._executors:
                scheduler.add_executor(scheduler._create_default_executor(), "default")
        with scheduler._jobstores_lock:
            if "default" not in scheduler._jobstores:
                scheduler.add_jobstore(scheduler._create_default_jobstore(), "default")
        scheduler._jobs.check_pending()

        scheduler._stopping = False
        scheduler._components.start_all()
        with scheduler._jobstores_lock:
            with scheduler._jobs.batching_pending():
                for job, jobstore_alias, replace_existing in scheduler._pending_jobs:
                    scheduler._real_add_job(job, jobstore_alias, replace_existing)
            scheduler._pending_jobs.clear()
        scheduler._membership.start()

        scheduler.state = STATE_PAUSED if paused else STATE_RUNNING
        scheduler._logger.info("Scheduler started")
        scheduler._dispatch_event(ev.SchedulerEvent(ev.EVENT_SCHEDULER_STARTED))
        if not paused:
            scheduler._membership.watch_stores()
            scheduler.wakeup()

    def shutdown(self, wait: bool) -> None:
        scheduler = self._scheduler
        if scheduler.state == STATE_STOPPED:
            raise SchedulerNotRunningError

        # Raised before the state changes, so a processing round that is under way stops
        # submitting to executors that are about to go away.
        scheduler._stopping = True
        scheduler.state = STATE_STOPPED

        # A round under way finishes first (it sees _stopping and claims no more, but submits
        # what it has claimed, so nothing taken is left behind); a round on this very thread
        # (a job run by the debug executor, a signal handler) re-enters the lock at once.
        with scheduler._jobstores_lock:
            pass
        # Executors next (their last outcomes are queued as they finish), then the outcomes
        # are written and the check-ins released, then the stores close.
        scheduler._components.shutdown_executors(wait)
        scheduler._recorder.stop()
        scheduler._membership.stop()
        scheduler._components.shutdown_jobstores()

        scheduler._logger.info("Scheduler has been shut down")
        scheduler._dispatch_event(ev.SchedulerEvent(ev.EVENT_SCHEDULER_SHUTDOWN))

    def pause(self) -> None:
        self._change_state(STATE_RUNNING, STATE_PAUSED)

    def resume(self) -> None:
        if self._change_state(STATE_PAUSED, STATE_RUNNING):
            self._scheduler._membership.watch_stores()
            self._scheduler.wakeup()

    def _change_state(self, expected: int, new: int) -> bool:
        """Switch between running and paused; ``False`` if already in ``new``."""
        scheduler = self._scheduler
        if scheduler.state == STATE_STOPPED:
            raise SchedulerNotRunningError
        if scheduler.state != expected:
            return False
        scheduler.state = new
        if new == STATE_PAUSED:
            scheduler._logger.info("Paused scheduler job processing")
            scheduler._dispatch_event(ev.SchedulerEvent(ev.EVENT_SCHEDULER_PAUSED))
        else:
            scheduler._logger.info("Resumed scheduler job processing")
            scheduler._dispatch_event(ev.SchedulerEvent(ev.EVENT_SCHEDULER_RESUMED))
        return True
