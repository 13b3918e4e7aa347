"""The executor interface, and the functions that run a job in a worker."""

from __future__ import annotations

import logging
import sys
from abc import ABCMeta, abstractmethod
from collections import defaultdict
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, ContextManager

from ..events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, EVENT_JOB_MISSED, JobExecutionEvent
from ..util import UTC, iscoroutinefunction_partial

if TYPE_CHECKING:
    from ..job import Job
    from ..schedulers.base import BaseScheduler

__all__ = ("BaseExecutor", "MaxInstancesReachedError", "run_coroutine_job", "run_job")


class MaxInstancesReachedError(Exception):
    """Raised when a job is submitted while its maximum number of instances is already running."""

    def __init__(self, job: Job) -> None:
        super().__init__(
            f'Job "{job.id}" has already reached its maximum number of instances '
            f"({job.max_instances})"
        )


class BaseExecutor(metaclass=ABCMeta):
    """Abstract base class that defines the interface that every executor must implement."""

    _scheduler: BaseScheduler | None = None
    _lock: ContextManager[Any] | None = None
    _logger = logging.getLogger("quartzite.executors")

    def __init__(self) -> None:
        super().__init__()
        self._instances: defaultdict[str, int] = defaultdict(int)

    def start(self, scheduler: BaseScheduler, alias: str) -> None:
        """Called by the scheduler when the scheduler is started or when the executor is added.

        :param scheduler: the scheduler that is starting this executor
        :param alias: alias of this executor as it was assigned to the scheduler
        """
        self._scheduler = scheduler
        self._lock = scheduler._create_lock()
        self._logger = logging.getLogger(f"quartzite.executors.{alias}")

    def shutdown(self, wait: bool = True) -> None:
        """Shut down this executor.

        :param wait: ``True`` to wait until all submitted jobs have been executed
        """

    def submit_job(self, job: Job, run_times: list[datetime]) -> None:
        """Submit the job for execution.

        :param job: the job to execute
        :param run_times: the scheduled run times this job should be run for
        :raises MaxInstancesReachedError: if the maximum number of allowed instances for this job
            has been reached
        """
        if self._lock is None:
            raise AssertionError("This executor has not been started yet")
        with self._lock:
            if self._instances[job.id] >= job.max_instances:
                raise MaxInstancesReachedError(job)
            # Counted before submitting: a synchronous executor finishes (and releases the
            # instance) before _do_submit_job returns.
            self._instances[job.id] += 1
            try:
                self._do_submit_job(job, run_times)
            except BaseException:
                self._release_instance(job.id)
                raise

    @abstractmethod
    def _do_submit_job(self, job: Job, run_times: list[datetime]) -> None:
        """Perform the actual task of scheduling ``run_job`` to be called."""

    def _refuse_coroutine_function(self, job: Job) -> None:
        """Refuse a job whose function is a coroutine function: called in a worker, it would
        return a coroutine that nobody awaits.

        :raises TypeError: naming the job and the executors that can run it
        """
        if iscoroutinefunction_partial(getattr(job, "func", None)):
            raise TypeError(
                f'Job "{job.id}" calls the coroutine function {job.func!r}, which '
                f"{self.__class__.__name__} cannot await; run it with an AsyncIOExecutor "
                "(executor type 'asyncio', under AsyncIOScheduler) or a TornadoExecutor "
                "(type 'tornado', under TornadoScheduler)"
            )

    def _release_instance(self, job_id: str) -> None:
        assert self._lock is not None
        with self._lock:
            self._instances[job_id] -= 1
            if self._instances[job_id] <= 0:
                del self._instances[job_id]

    def _run_job_success(self, job_id: str, events: list[JobExecutionEvent]) -> None:
        """Called by the executor with the list of generated events when ``run_job`` succeeds."""
        self._release_instance(job_id)
        scheduler = self._scheduler
        if scheduler is not None:
            for event in events:
                scheduler._dispatch_event(event)

    def _run_job_error(self, job_id: str, exc: BaseException, traceback: Any = None) -> None:
        """Called by the executor when ``run_job`` itself (not the job) raised an exception."""
        self._release_instance(job_id)
        exc_info = (exc.__class__, exc, traceback)
        self._logger.error("Error running job %s", job_id, exc_info=exc_info)


_loggers: dict[str, logging.Logger] = {}


def _get_logger(name: str) -> logging.Logger:
    # logging.getLogger takes a global lock; workers call this for every run.
    logger = _loggers.get(name)
    if logger is None:
        logger = _loggers[name] = logging.getLogger(name)
    return logger


def _missed_event(
    job: Job, jobstore_alias: str | None, run_time: datetime, logger: logging.Logger
) -> JobExecutionEvent | None:
    """Return a "missed" event if ``run_time`` is later than the job's misfire grace time."""
    if job.misfire_grace_time is None:
        return None
    lateness = datetime.now(UTC) - run_time
    if lateness > timedelta(seconds=job.misfire_grace_time):
        logger.warning('Run time of job "%s" was missed by %s', job, lateness)
        return JobExecutionEvent(EVENT_JOB_MISSED, job.id, jobstore_alias, run_time)
    return None


def _error_event(
    job: Job, jobstore_alias: str | None, run_time: datetime, logger: logging.Logger
) -> JobExecutionEvent:
    """Build the error event for the exception being handled, then drop its frames' locals."""
    from traceback import clear_frames, format_tb  # costly import, only needed on errors

    exc, tb = sys.exc_info()[1:]
    event = JobExecutionEvent(
        EVENT_JOB_ERROR,
        job.id,
        jobstore_alias,
        run_time,
        exception=exc,
        traceback="".join(format_tb(tb)),
    )
    logger.exception('Job "%s" raised an exception', job)
    # The traceback's frames keep the job's locals alive through the event's exception.
    if tb is not None:
        clear_frames(tb)
    del tb
    return event


def run_job(
    job: Job, jobstore_alias: str | None, run_times: list[datetime], logger_name: str
) -> list[JobExecutionEvent]:
    """Run the job once for each due run time, returning one event per run time.

    Called in the worker (thread or process); a job that raises produces an error event.
    """
    events: list[JobExecutionEvent] = []
    logger = _get_logger(logger_name)
    for run_time in run_times:
        missed = _missed_event(job, jobstore_alias, run_time, logger)
        if missed is not None:
            events.append(missed)
            continue

        logger.info('Running job "%s" (scheduled at %s)', job, run_time)
        try:
            retval = job.func(*job.args, **job.kwargs)
        except BaseException:
            events.append(_error_event(job, jobstore_alias, run_time, logger))
        else:
            events.append(
                JobExecutionEvent(EVENT_JOB_EXECUTED, job.id, jobstore_alias, run_time, retval)
            )
            logger.info('Job "%s" executed successfully', job)
    return events


async def run_coroutine_job(
    job: Job, jobstore_alias: str | None, run_times: list[datetime], logger_name: str
) -> list[JobExecutionEvent]:
    """Coroutine version of :func:`run_job`: awaits the job's coroutine function."""
    events: list[JobExecutionEvent] = []
    logger = _get_logger(logger_name)
    for run_time in run_times:
        missed = _missed_event(job, jobstore_alias, run_time, logger)
        if missed is not None:
            events.append(missed)
            continue

        logger.info('Running job "%s" (scheduled at %s)', job, run_time)
        try:
            retval = await job.func(*job.args, **job.kwargs)
        except BaseException:
            events.append(_error_event(job, jobstore_alias, run_time, logger))
        else:
            events.append(
                JobExecutionEvent(EVENT_JOB_EXECUTED, job.id, jobstore_alias, run_time, retval)
            )
            logger.info('Job "%s" executed successfully', job)
    return events
