"""The scheduler: configuration, job management and the processing loop shared by all variants."""

from __future__ import annotations

import sys
import threading
import warnings
from abc import ABCMeta, abstractmethod
from collections.abc import Iterable, Mapping
from datetime import datetime, tzinfo
from logging import Logger, getLogger
from typing import IO, Any, Callable, ContextManager, TypeVar, Union

from tzlocal import get_localzone

from ..events import (
    EVENT_ALL,
    EVENT_ALL_JOBS_REMOVED,
    EVENT_JOB_ADDED,
    EVENT_JOB_MODIFIED,
    EVENT_JOB_REMOVED,
    EVENT_SCHEDULER_PAUSED,
    EVENT_SCHEDULER_RESUMED,
    EVENT_SCHEDULER_SHUTDOWN,
    EVENT_SCHEDULER_STARTED,
    JobEvent,
    SchedulerEvent,
)
from ..executors.base import BaseExecutor
from ..job import Job
from ..jobstores.base import BaseJobStore, ConflictingIdError, JobLookupError
from ..triggers.base import BaseTrigger
from ..util import asbool, asint, astimezone, maybe_ref, undefined
from . import SchedulerAlreadyRunningError, SchedulerNotRunningError
from ._components import ComponentsMixin
from ._processing import ProcessingMixin
from ._states import STATE_PAUSED, STATE_RUNNING, STATE_STOPPED

__all__ = ("STATE_PAUSED", "STATE_RUNNING", "STATE_STOPPED", "BaseScheduler")

_Func = TypeVar("_Func", bound=Callable[..., Any])
_TriggerSpec = Union[BaseTrigger, str, None]


def _merge_into(target: dict[str, Any], key: str, value: Any) -> None:
    """Set ``target[key] = value``, merging nested dicts given in both dotted and nested style."""
    existing = target.get(key)
    if isinstance(existing, dict) and isinstance(value, Mapping):
        merged = dict(existing)
        for subkey, subvalue in value.items():
            _merge_into(merged, subkey, subvalue)
        target[key] = merged
    else:
        target[key] = value


class BaseScheduler(ComponentsMixin, ProcessingMixin, metaclass=ABCMeta):
    """Abstract base class for all schedulers.

    Takes the following keyword arguments:

    :param str|logging.Logger logger: logger to use for the scheduler's logging (defaults to
        ``quartzite.scheduler``)
    :param str|datetime.tzinfo timezone: the default time zone (defaults to the local timezone)
    :param int|float jobstore_retry_interval: the minimum number of seconds to wait between
        retries in the scheduler's main loop if the job store raises an exception when getting
        the list of due jobs
    :param dict job_defaults: default values for newly added jobs
    :param dict jobstores: a dictionary of job store alias -> job store instance or configuration
        dict
    :param dict executors: a dictionary of executor alias -> executor instance or configuration
        dict
    """

    timezone: tzinfo
    jobstore_retry_interval: float
    _logger: Logger

    def __init__(self, gconfig: Mapping[str, Any] = {}, **options: Any) -> None:
        super().__init__()
        self._executors: dict[str, BaseExecutor] = {}
        self._executors_lock = self._create_lock()
        self._jobstores: dict[str, BaseJobStore] = {}
        self._jobstores_lock = self._create_lock()
        self._listeners: list[tuple[Callable[[Any], Any], int]] = []
        self._listeners_lock = self._create_lock()
        self._pending_jobs: list[tuple[Job, str, bool]] = []
        self.state = STATE_STOPPED
        self.configure(gconfig, **options)

    def __getstate__(self) -> Any:
        raise TypeError(
            "Schedulers cannot be serialized. Ensure that you are not passing a "
            "scheduler instance as an argument to a job, or scheduling an instance "
            "method where the instance contains a scheduler as an attribute."
        )

    def configure(
        self,
        gconfig: Mapping[str, Any] = {},
        prefix: str | None = "quartzite.",
        **options: Any,
    ) -> None:
        """Reconfigure the scheduler with the given options.

        Can only be done when the scheduler isn't running.

        :param gconfig: a "global" configuration dictionary whose values can be overridden by
            keyword arguments to this method; dotted keys (``"jobstores.default.type"``) are
            expanded into nested dicts
        :param prefix: pick only those keys from ``gconfig`` that are prefixed with this string
            (pass an empty string or ``None`` to use all keys)
        :raises SchedulerAlreadyRunningError: if the scheduler is already running
        """
        if self.state != STATE_STOPPED:
            raise SchedulerAlreadyRunningError

        if prefix:
            prefix_length = len(prefix)
            gconfig = {
                key[prefix_length:]: value
                for key, value in gconfig.items()
                if key.startswith(prefix)
            }

        config: dict[str, Any] = {}
        for key, value in gconfig.items():
            *parents, leaf = key.split(".")
            target = config
            for part in parents:
                child = target.get(part)
                if not isinstance(child, dict):
                    child = target[part] = {} if child is None else dict(child)
                target = child
            _merge_into(target, leaf, value)

        config.update(options)
        self._configure(config)

    def _configure(self, config: dict[str, Any]) -> None:
        self._logger = maybe_ref(config.pop("logger", None)) or getLogger("quartzite.scheduler")
        self.timezone = astimezone(config.pop("timezone", None)) or get_localzone()
        self.jobstore_retry_interval = float(config.pop("jobstore_retry_interval", 10))

        job_defaults = config.get("job_defaults", {})
        self._job_defaults = {
            "misfire_grace_time": asint(job_defaults.get("misfire_grace_time", 1)),
            "coalesce": asbool(job_defaults.get("coalesce", True)),
            "max_instances": asint(job_defaults.get("max_instances", 1)),
        }

        self._executors.clear()
        for alias, value in config.get("executors", {}).items():
            executor = self._build_component("executor", alias, value, BaseExecutor)
            self.add_executor(executor, alias)

        self._jobstores.clear()
        for alias, value in config.get("jobstores", {}).items():
            store = self._build_component("jobstore", alias, value, BaseJobStore)
            self.add_jobstore(store, alias)

    def start(self, paused: bool = False) -> None:
        """Start the configured executors and job stores and begin processing scheduled jobs.

        :param paused: if ``True``, don't start job processing until :meth:`resume` is called
        :raises SchedulerAlreadyRunningError: if the scheduler is already running
        :raises RuntimeError: if running under uWSGI with threads disabled
        """
        if self.state != STATE_STOPPED:
            raise SchedulerAlreadyRunningError

        self._check_uwsgi()

        with self._executors_lock:
            if "default" not in self._executors:
                self.add_executor(self._create_default_executor(), "default")
            for alias, executor in self._executors.items():
                executor.start(self, alias)

        with self._jobstores_lock:
            if "default" not in self._jobstores:
                self.add_jobstore(self._create_default_jobstore(), "default")
            for alias, store in self._jobstores.items():
                store.start(self, alias)

            for job, jobstore_alias, replace_existing in self._pending_jobs:
                self._real_add_job(job, jobstore_alias, replace_existing)
            del self._pending_jobs[:]

        self.state = STATE_PAUSED if paused else STATE_RUNNING
        self._logger.info("Scheduler started")
        self._dispatch_event(SchedulerEvent(EVENT_SCHEDULER_STARTED))

        if not paused:
            self.wakeup()

    @abstractmethod
    def shutdown(self, wait: bool = True) -> None:
        """Shut down the scheduler, along with its executors and job stores.

        Does not interrupt any currently running jobs.

        :param wait: ``True`` to wait until all currently executing jobs have finished
        :raises SchedulerNotRunningError: if the scheduler has not been started yet
        """
        if self.state == STATE_STOPPED:
            raise SchedulerNotRunningError

        self.state = STATE_STOPPED

        # Executors are shut down outside the store lock: a running job that touches the
        # scheduler (adds or removes a job) must not deadlock a shutdown that waits for it.
        with self._executors_lock:
            executors = list(self._executors.values())
        for executor in executors:
            executor.shutdown(wait)
        with self._jobstores_lock:
            for store in self._jobstores.values():
                store.shutdown()

        self._logger.info("Scheduler has been shut down")
        self._dispatch_event(SchedulerEvent(EVENT_SCHEDULER_SHUTDOWN))

    def pause(self) -> None:
        """Pause job processing in the scheduler.

        This will prevent the scheduler from waking up to do job processing until :meth:`resume`
        is called. It will not however stop any already running job processing.
        """
        if self.state == STATE_STOPPED:
            raise SchedulerNotRunningError
        if self.state == STATE_RUNNING:
            self.state = STATE_PAUSED
            self._logger.info("Paused scheduler job processing")
            self._dispatch_event(SchedulerEvent(EVENT_SCHEDULER_PAUSED))

    def resume(self) -> None:
        """Resume job processing in the scheduler."""
        if self.state == STATE_STOPPED:
            raise SchedulerNotRunningError
        if self.state == STATE_PAUSED:
            self.state = STATE_RUNNING
            self._logger.info("Resumed scheduler job processing")
            self._dispatch_event(SchedulerEvent(EVENT_SCHEDULER_RESUMED))
            self.wakeup()

    @property
    def running(self) -> bool:
        """``True`` if the scheduler has been started (paused counts as running)."""
        return self.state != STATE_STOPPED

    @abstractmethod
    def wakeup(self) -> None:
        """Notify the scheduler that there may be jobs due for execution.

        Triggers :meth:`_process_jobs` to be run in an implementation specific manner.
        """

    def add_listener(self, callback: Callable[[Any], Any], mask: int = EVENT_ALL) -> None:
        """Add a listener for scheduler events.

        When a matching event occurs, ``callback`` is executed with the event object as its sole
        argument. If the ``mask`` parameter is not provided, the callback will receive events of
        all types.

        :param callback: any callable that takes one argument
        :param mask: bitmask that indicates which events should be listened to
        """
        with self._listeners_lock:
            self._listeners.append((callback, mask))

    def remove_listener(self, callback: Callable[[Any], Any]) -> None:
        """Remove a previously added event listener."""
        with self._listeners_lock:
            for index, (listener, _mask) in reversed(list(enumerate(self._listeners))):
                if listener == callback:
                    del self._listeners[index]

    def add_job(
        self,
        func: Callable[..., Any] | str,
        trigger: _TriggerSpec = None,
        args: Iterable[Any] | None = None,
        kwargs: Mapping[str, Any] | None = None,
        id: str | None = None,
        name: str | None = None,
        misfire_grace_time: int | None = undefined,
        coalesce: bool = undefined,
        max_instances: int = undefined,
        next_run_time: datetime | str | None = undefined,
        jobstore: str = "default",
        executor: str = "default",
        replace_existing: bool = False,
        **trigger_args: Any,
    ) -> Job:
        """Add the given job to the job list and wake up the scheduler if it's already running.

        Any option that defaults to ``undefined`` will be replaced with the corresponding default
        value when the job is scheduled (which happens when the scheduler is started, or
        immediately if the scheduler is already running).

        The ``func`` argument can be given either as a callable object or a textual reference in
        the ``package.module:some.object`` format, where the first half (separated by ``:``) is an
        importable module and the second half is a reference to the callable object, relative to
        the module.

        The ``trigger`` argument can either be:
          #. the alias name of the trigger (e.g. ``date``, ``interval`` or ``cron``), in which
             case any extra keyword arguments to this method are passed on to the trigger's
             constructor
          #. an instance of a trigger class

        :param func: callable (or a textual reference to one) to run at the given time
        :param trigger: trigger that determines when ``func`` is called
        :param args: list of positional arguments to call func with
        :param kwargs: dict of keyword arguments to call func with
        :param id: explicit identifier for the job (for modifying it later)
        :param name: textual description of the job
        :param misfire_grace_time: seconds after the designated runtime that the job is still
            allowed to be run (or ``None`` to allow the job to run no matter how late it is)
        :param coalesce: run once instead of many times if the scheduler determines that the job
            should be run more than once in succession
        :param max_instances: maximum number of concurrently running instances allowed for this
            job
        :param next_run_time: when to first run the job, regardless of the trigger (pass
            ``None`` to add the job as paused)
        :param jobstore: alias of the job store to store the job in
        :param executor: alias of the executor to run the job with
        :param replace_existing: ``True`` to replace an existing job with the same ``id``
            (but retain the number of runs from the existing one)
        :return: the newly created job
        """
        job_kwargs: dict[str, Any] = {
            "trigger": self._create_trigger(trigger, trigger_args),
            "executor": executor,
            "func": func,
            "args": tuple(args) if args is not None else (),
            "kwargs": dict(kwargs) if kwargs is not None else {},
            "id": id,
            "name": name,
            "misfire_grace_time": misfire_grace_time,
            "coalesce": coalesce,
            "max_instances": max_instances,
            "next_run_time": next_run_time,
        }
        job_kwargs = {key: value for key, value in job_kwargs.items() if value is not undefined}
        job = Job(self, **job_kwargs)

        with self._jobstores_lock:
            if self.state == STATE_STOPPED:
                self._pending_jobs.append((job, jobstore, replace_existing))
                self._logger.info(
                    "Adding job tentatively -- it will be properly scheduled when "
                    "the scheduler starts"
                )
            else:
                self._real_add_job(job, jobstore, replace_existing)

        return job

    def scheduled_job(
        self,
        trigger: _TriggerSpec,
        args: Iterable[Any] | None = None,
        kwargs: Mapping[str, Any] | None = None,
        id: str | None = None,
        name: str | None = None,
        misfire_grace_time: int | None = undefined,
        coalesce: bool = undefined,
        max_instances: int = undefined,
        next_run_time: datetime | str | None = undefined,
        jobstore: str = "default",
        executor: str = "default",
        **trigger_args: Any,
    ) -> Callable[[_Func], _Func]:
        """A decorator version of :meth:`add_job`, except that ``replace_existing`` is always
        ``True``.

        .. important:: The ``id`` argument must be given if scheduling a job in a persistent job
            store. The scheduler cannot, however, enforce this requirement.
        """

        def inner(func: _Func) -> _Func:
            self.add_job(
                func,
                trigger,
                args,
                kwargs,
                id,
                name,
                misfire_grace_time,
                coalesce,
                max_instances,
                next_run_time,
                jobstore,
                executor,
                True,
                **trigger_args,
            )
            return func

        return inner

    def modify_job(self, job_id: str, jobstore: str | None = None, **changes: Any) -> Job:
        """Modify the properties of a single job.

        Modifications are passed to this method as extra keyword arguments.

        :param job_id: the identifier of the job
        :param jobstore: alias of the job store that contains the job
        :return: the relevant job instance
        :raises JobLookupError: if the job was not found
        """
        with self._jobstores_lock:
            job, jobstore = self._lookup_job(job_id, jobstore)
            job._modify(**changes)
            if jobstore:
                self._lookup_jobstore(jobstore).update_job(job)

        self._dispatch_event(JobEvent(EVENT_JOB_MODIFIED, job_id, jobstore))

        # Wake up the scheduler since the job's next run time may have been changed
        if self.state == STATE_RUNNING:
            self.wakeup()

        return job

    def reschedule_job(
        self,
        job_id: str,
        jobstore: str | None = None,
        trigger: _TriggerSpec = None,
        **trigger_args: Any,
    ) -> Job:
        """Construct a new trigger for a job and update its next run time.

        Extra keyword arguments are passed directly to the trigger's constructor.

        :param job_id: the identifier of the job
        :param jobstore: alias of the job store that contains the job
        :param trigger: alias of the trigger type or a trigger instance
        :return: the relevant job instance
        :raises JobLookupError: if the job was not found
        """
        trigger = self._create_trigger(trigger, trigger_args)
        now = self._current_time()
        next_run_time = trigger.get_next_fire_time(None, now)
        return self.modify_job(job_id, jobstore, trigger=trigger, next_run_time=next_run_time)

    def pause_job(self, job_id: str, jobstore: str | None = None) -> Job:
        """Cause the given job not to be executed until it is explicitly resumed.

        :param job_id: the identifier of the job
        :param jobstore: alias of the job store that contains the job
        :return: the relevant job instance
        """
        return self.modify_job(job_id, jobstore, next_run_time=None)

    def resume_job(self, job_id: str, jobstore: str | None = None) -> Job | None:
        """Resume the schedule of the given job, or remove the job if its schedule is finished.

        :param job_id: the identifier of the job
        :param jobstore: alias of the job store that contains the job
        :return: the relevant job instance if the job was rescheduled, or ``None`` if no next run
            time could be calculated and the job was removed
        """
        with self._jobstores_lock:
            job, jobstore = self._lookup_job(job_id, jobstore)
            now = self._current_time()
            next_run_time = job.trigger.get_next_fire_time(None, now)
            if next_run_time:
                return self.modify_job(job_id, jobstore, next_run_time=next_run_time)
            self.remove_job(job.id, jobstore)
            return None

    def get_jobs(self, jobstore: str | None = None, pending: bool | None = None) -> list[Job]:
        """Return a list of pending jobs (if the scheduler hasn't been started yet) and scheduled
        jobs, either from a specific job store or from all of them.

        If the scheduler has not been started yet, only pending jobs can be returned because the
        job stores haven't been started yet either.

        :param jobstore: alias of the job store
        :param pending: **DEPRECATED**
        """
        if pending is not None:
            warnings.warn(
                'The "pending" option is deprecated -- get_jobs() always returns scheduled jobs '
                "if the scheduler has been started and pending jobs otherwise",
                DeprecationWarning,
                stacklevel=2,
            )

        with self._jobstores_lock:
            jobs: list[Job] = []
            if self.state == STATE_STOPPED:
                for job, alias, _replace_existing in self._pending_jobs:
                    if jobstore is None or alias == jobstore:
                        jobs.append(job)
            else:
                for alias, store in self._jobstores.items():
                    if jobstore is None or alias == jobstore:
                        jobs.extend(store.get_all_jobs())
            return jobs

    def get_job(self, job_id: str, jobstore: str | None = None) -> Job | None:
        """Return the Job that matches the given ``job_id``, or ``None`` if there is none.

        :param job_id: the identifier of the job
        :param jobstore: alias of the job store that most likely contains the job
        """
        with self._jobstores_lock:
            try:
                return self._lookup_job(job_id, jobstore)[0]
            except JobLookupError:
                return None

    def remove_job(self, job_id: str, jobstore: str | None = None) -> None:
        """Remove a job, preventing it from being run any more.

        :param job_id: the identifier of the job
        :param jobstore: alias of the job store that contains the job
        :raises JobLookupError: if the job was not found
        """
        jobstore_alias = None
        with self._jobstores_lock:
            if self.state == STATE_STOPPED:
                for index, (job, alias, _replace_existing) in enumerate(self._pending_jobs):
                    if job.id == job_id and jobstore in (None, alias):
                        del self._pending_jobs[index]
                        jobstore_alias = alias
                        break
            else:
                for alias, store in self._jobstores.items():
                    if jobstore in (None, alias):
                        try:
                            store.remove_job(job_id)
                        except JobLookupError:
                            continue
                        jobstore_alias = alias
                        break

        if jobstore_alias is None:
            raise JobLookupError(job_id)

        if self._wants_event(EVENT_JOB_REMOVED):
            self._dispatch_event(JobEvent(EVENT_JOB_REMOVED, job_id, jobstore_alias))
        self._logger.info("Removed job %s", job_id)

    def remove_all_jobs(self, jobstore: str | None = None) -> None:
        """Remove all jobs from the specified job store, or all job stores if none is given.

        :param jobstore: alias of the job store
        """
        with self._jobstores_lock:
            if self.state == STATE_STOPPED:
                if jobstore:
                    self._pending_jobs = [
                        pending for pending in self._pending_jobs if pending[1] != jobstore
                    ]
                else:
                    self._pending_jobs = []
            else:
                for alias, store in self._jobstores.items():
                    if jobstore in (None, alias):
                        store.remove_all_jobs()

        self._dispatch_event(SchedulerEvent(EVENT_ALL_JOBS_REMOVED, jobstore))

    def print_jobs(self, jobstore: str | None = None, out: IO[str] | None = None) -> None:
        """Print out a textual listing of all jobs currently scheduled on either all job stores
        or just a specific one.

        :param jobstore: alias of the job store, ``None`` to list jobs from all stores
        :param out: a file-like object to print to (defaults to **sys.stdout** if nothing is
            given)
        """
        out = out or sys.stdout
        with self._jobstores_lock:
            if self.state == STATE_STOPPED:
                print("Pending jobs:", file=out)
                if self._pending_jobs:
                    for job, alias, _replace_existing in self._pending_jobs:
                        if jobstore in (None, alias):
                            print(f"    {job}", file=out)
                else:
                    print("    No pending jobs", file=out)
            else:
                for alias, store in sorted(self._jobstores.items()):
                    if jobstore in (None, alias):
                        print(f"Jobstore {alias}:", file=out)
                        jobs = store.get_all_jobs()
                        if jobs:
                            for job in jobs:
                                print(f"    {job}", file=out)
                        else:
                            print("    No scheduled jobs", file=out)

    def export_jobs(self, outfile: Any, jobstore: str | None = None) -> None:
        """Export stored jobs as JSON.

        :param outfile: either a file object opened in text write mode ("w"), or a path
            to the target file
        :param jobstore: alias of the job store to export jobs from (if omitted, export from all
            configured job stores)
        :raises RuntimeError: if the scheduler has not been started
        """
        from .. import version
        from ._export import dump_jobs

        if self.state == STATE_STOPPED:
            raise RuntimeError("the scheduler must have been started for job export to work")

        job_states = [job.__getstate__() for job in self.get_jobs(jobstore)]
        if hasattr(outfile, "write"):
            dump_jobs(job_states, version, outfile)
        else:
            with open(outfile, "w", encoding="utf-8") as file:
                dump_jobs(job_states, version, file)

    def import_jobs(self, infile: Any, jobstore: str = "default") -> None:
        """Import jobs previously exported via :meth:`export_jobs`.

        :param infile: either a file object opened in text read mode ("r") or a path to a JSON
            file containing previously exported jobs
        :param jobstore: the alias of the job store to import the jobs to
        """
        from ._export import load_job_states

        store = self._jobstores[jobstore]
        if hasattr(infile, "read"):
            job_states = load_job_states(infile)
        else:
            with open(infile, encoding="utf-8") as file:
                job_states = load_job_states(file)

        for job_state in job_states:
            job = Job.__new__(Job)
            job.__setstate__(job_state)
            store.add_job(job)

    def _real_add_job(self, job: Job, jobstore_alias: str, replace_existing: bool) -> None:
        """Fill in the job's defaults and first run time, then add it to the given store."""
        replacements: dict[str, Any] = {
            key: value for key, value in self._job_defaults.items() if not hasattr(job, key)
        }
        if not hasattr(job, "next_run_time"):
            now = self._current_time()
            replacements["next_run_time"] = job.trigger.get_next_fire_time(None, now)
        job._modify(**replacements)

        store = self._lookup_jobstore(jobstore_alias)
        try:
            store.add_job(job)
        except ConflictingIdError:
            if replace_existing:
                store.update_job(job)
            else:
                raise

        job._jobstore_alias = jobstore_alias
        self._dispatch_event(JobEvent(EVENT_JOB_ADDED, job.id, jobstore_alias))
        self._logger.info('Added job "%s" to job store "%s"', job.name, jobstore_alias)

        if self.state == STATE_RUNNING:
            self.wakeup()

    def _lookup_job(self, job_id: str, jobstore_alias: str | None) -> tuple[Job, str | None]:
        """Find a job by id, among the pending jobs when stopped, else in the stores.

        :return: the job and the alias of its store (``None`` for a pending job)
        :raises JobLookupError: if no job by that id exists
        """
        if self.state == STATE_STOPPED:
            for job, _alias, _replace_existing in self._pending_jobs:
                if job.id == job_id:
                    return job, None
        else:
            for alias, store in self._jobstores.items():
                if jobstore_alias in (None, alias):
                    found = store.lookup_job(job_id)
                    if found is not None:
                        return found, alias

        raise JobLookupError(job_id)

    def _current_time(self) -> datetime:
        """Read the clock: every "now" of the scheduler comes from here (patchable in tests)."""
        return datetime.now(self.timezone)

    def _create_lock(self) -> ContextManager[Any]:
        """Create a reentrant lock object."""
        return threading.RLock()

    def _check_uwsgi(self) -> None:
        """Refuse to start under uWSGI when its threads are disabled (jobs would never run)."""
        uwsgi_module = sys.modules.get("uwsgi")
        if not getattr(uwsgi_module, "has_threads", True):
            raise RuntimeError(
                "The scheduler seems to be running under uWSGI, but threads have "
                "been disabled. You must run uWSGI with the --enable-threads "
                "option for the scheduler to work."
            )
