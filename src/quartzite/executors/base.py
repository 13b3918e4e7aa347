"""What every executor shares, and the functions a worker calls to run a job.

An executor receives due jobs from the scheduler (:meth:`BaseExecutor.submit_job`), enforces
each job's ``max_instances`` and runs :func:`run_job` (or :func:`run_coroutine_job`) somewhere
else: a thread, a process, a greenlet, an event loop. The worker returns one event per run
time, and the executor reports each one back through :meth:`BaseExecutor._report_outcome`, the
single path by which run outcomes reach the scheduler.
"""

from __future__ import annotations

import logging
import sys
from abc import ABCMeta, abstractmethod
from collections import defaultdict
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, ContextManager, cast

from ..events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, EVENT_JOB_MISSED, JobExecutionEvent
from ..runs import CurrentRun, _current_run
from ..util import UTC, iscoroutinefunction_partial

if TYPE_CHECKING:
    from .._protocols import RunOutcomeReporter, SchedulerLike
    from ..job import Job

__all__ = (
    "BaseExecutor",
    "MaxInstancesReachedError",
    "add_run_hook",
    "remove_run_hook",
    "run_coroutine_job",
    "run_job",
)


class MaxInstancesReachedError(Exception):
    """The job already has ``max_instances`` runs in progress, so this one was not started."""

    def __init__(self, job: Job) -> None:
        super().__init__(
            f'Job "{job.id}" has already reached its maximum number of instances '
            f"({job.max_instances})"
        )


class BaseExecutor(metaclass=ABCMeta):
    """The part common to all executors: instance counting, and reporting outcomes.

    A subclass says how a run is started (:meth:`_do_submit_job`) and, when it has its own
    workers, how to stop them (:meth:`shutdown`). When a run ends it calls
    :meth:`_run_job_success` with the worker's events, or :meth:`_run_job_error` if the worker
    itself failed.
    """

    _scheduler: SchedulerLike | None = None
    _lock: ContextManager[Any] | None = None
    _logger = logging.getLogger("quartzite.executors")

    def __init__(self) -> None:
        super().__init__()
        self._instances: defaultdict[str, int] = defaultdict(int)

    def start(self, scheduler: SchedulerLike, alias: str) -> None:
        """Attach this executor to ``scheduler`` under ``alias``, its name there.

        The scheduler calls this when it starts, or when the executor is added to a scheduler
        that is already running.
        """
        self._scheduler = scheduler
        self._lock = scheduler._create_lock()
        self._logger = logging.getLogger(f"quartzite.executors.{alias}")

    def shutdown(self, wait: bool = True) -> None:
        """Stop taking work; with ``wait``, return only when the runs in progress have ended.

        Does nothing here: an executor without workers of its own has nothing to stop.
        """

    def submit_job(self, job: Job, run_times: list[datetime]) -> None:
        """Start one run of ``job`` covering ``run_times`` (each checked for misfire there).

        :raises MaxInstancesReachedError: when ``job.max_instances`` runs are already going on
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
        """Start ``run_job`` (or ``run_coroutine_job``) for the job, wherever this executor runs
        work; the instance is already counted."""

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
        """A run ended and ``run_job`` returned ``events``: release the instance, report them."""
        self._release_instance(job_id)
        for event in events:
            self._report_outcome(event)

    def _report_outcome(self, event: JobExecutionEvent) -> None:
        """Hand the outcome of one run (executed, error or missed) to the scheduler.

        Every executor reports every run through here, so the scheduler sees each outcome in
        exactly one place.
        """
        scheduler = self._scheduler
        if scheduler is None:
            return
        # Look the method up on the class, not the instance: the executor tests of existing
        # extensions pass ``Mock(BaseScheduler)`` doubles (whose instances answer any name) and
        # assert on ``_dispatch_event``, and schedulers written against APScheduler 3.x lack
        # ``_report_run_outcome``. Both get the event through ``_dispatch_event`` instead.
        if getattr(type(scheduler), "_report_run_outcome", None) is not None:
            cast("RunOutcomeReporter", scheduler)._report_run_outcome(event)
        else:
            scheduler._dispatch_event(event)

    def _run_job_error(self, job_id: str, exc: BaseException, traceback: Any = None) -> None:
        """A run ended because ``run_job`` itself failed (the job's own errors are events)."""
        self._release_instance(job_id)
        exc_info = (exc.__class__, exc, traceback)
        self._logger.error("Error running job %s", job_id, exc_info=exc_info)


def _worker_count(owner: str, max_workers: Any) -> int:
    """``max_workers`` as the int a pool needs; configuration files give it as a string.

    :raises TypeError: if it cannot be read as an integer at all
    :raises ValueError: if it is not an integer >= 1
    """
    expected = "an integer >= 1 (or a string holding one)"
    try:
        count = int(max_workers)
    except TypeError:
        raise TypeError(
            f"{owner}: max_workers must be {expected}, got "
            f"{type(max_workers).__name__}: {max_workers!r}"
        ) from None
    except ValueError:
        raise ValueError(f"{owner}: max_workers must be {expected}, got {max_workers!r}") from None
    if count < 1:
        raise ValueError(f"{owner}: max_workers must be {expected}, got {max_workers!r}")
    return count


def _pool_options(owner: str, pool_kwargs: Any) -> dict[str, Any]:
    """A copy of ``pool_kwargs`` (keyword arguments for the underlying pool), or ``{}``."""
    if pool_kwargs is None:
        return {}
    if not isinstance(pool_kwargs, Mapping):
        raise TypeError(
            f"{owner}: pool_kwargs must be a dict of keyword arguments for the pool, got "
            f"{type(pool_kwargs).__name__}: {pool_kwargs!r}"
        )
    return dict(pool_kwargs)


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


#: What :func:`add_run_hook` registered, called around every run by :func:`run_job`.
_run_hooks: list[Callable[[], object]] = []


def add_run_hook(hook: Callable[[], object]) -> None:
    """Have ``hook`` called, without arguments, in the worker right before and right after each
    run of a (non-coroutine) job function, in every scheduler of this process.

    Integrations tidy per-thread resources there: the Django app closes the worker's stale
    database connections, as Django does around each request. An exception from a hook is
    logged and affects neither the run nor its outcome.
    """
    if hook not in _run_hooks:
        _run_hooks.append(hook)


def remove_run_hook(hook: Callable[[], object]) -> None:
    """Undo :func:`add_run_hook` (nothing happens for a hook that is not registered)."""
    if hook in _run_hooks:
        _run_hooks.remove(hook)


def _call_run_hooks(logger: logging.Logger) -> None:
    for hook in tuple(_run_hooks):
        try:
            hook()
        except Exception:
            logger.exception("Run hook %r failed", hook)


def run_job(
    job: Job, jobstore_alias: str | None, run_times: list[datetime], logger_name: str
) -> list[JobExecutionEvent]:
    """Call the job's function for each of ``run_times`` in turn; return one event per run time.

    This is what a worker executes. A run time older than the misfire grace is not run but
    reported as missed; an exception from the function becomes an error event, never escapes.
    """
    events: list[JobExecutionEvent] = []
    logger = _get_logger(logger_name)
    for run_time in run_times:
        missed = _missed_event(job, jobstore_alias, run_time, logger)
        if missed is not None:
            events.append(missed)
            continue

        logger.info('Running job "%s" (scheduled at %s)', job, run_time)
        if _run_hooks:
            _call_run_hooks(logger)
        token = _current_run.set(CurrentRun(job.id, run_time, jobstore_alias))
        try:
            retval = job.func(*job.args, **job.kwargs)
        except BaseException:
            events.append(_error_event(job, jobstore_alias, run_time, logger))
        else:
            events.append(
                JobExecutionEvent(EVENT_JOB_EXECUTED, job.id, jobstore_alias, run_time, retval)
            )
            logger.info('Job "%s" executed successfully', job)
        finally:
            _current_run.reset(token)
            if _run_hooks:
                _call_run_hooks(logger)
    return events


async def run_coroutine_job(
    job: Job, jobstore_alias: str | None, run_times: list[datetime], logger_name: str
) -> list[JobExecutionEvent]:
    """:func:`run_job` for a coroutine function: each call is awaited on the running loop."""
    events: list[JobExecutionEvent] = []
    logger = _get_logger(logger_name)
    for run_time in run_times:
        missed = _missed_event(job, jobstore_alias, run_time, logger)
        if missed is not None:
            events.append(missed)
            continue

        logger.info('Running job "%s" (scheduled at %s)', job, run_time)
        token = _current_run.set(CurrentRun(job.id, run_time, jobstore_alias))
        try:
            retval = await job.func(*job.args, **job.kwargs)
        except BaseException:
            events.append(_error_event(job, jobstore_alias, run_time, logger))
        else:
            events.append(
                JobExecutionEvent(EVENT_JOB_EXECUTED, job.id, jobstore_alias, run_time, retval)
            )
            logger.info('Job "%s" executed successfully', job)
        finally:
            _current_run.reset(token)
    return events
