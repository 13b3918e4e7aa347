"""``BaseScheduler``: the public face of a scheduler, assembled from parts that each own a concern.

The parts, one module each: :class:`~._config.ConfigParser` checks what ``configure()`` gets;
:class:`~._listeners.ListenerHub` owns the listeners and delivers events;
:class:`~._components.ComponentRegistry` owns the executors and job stores by alias and resolves
plugin aliases; :class:`~._jobs.JobCatalog` knows where jobs are (pending before ``start()``, in
the stores after), and :class:`~._job_changes.JobChanges` modifies, reschedules and resumes
them there; :class:`~._lifecycle.Lifecycle` starts, pauses, resumes and shuts the scheduler down;
:class:`~._processing.ProcessingRound` submits what is due and says how long to sleep. This class
keeps every name of the contract. The internal names API.md §10 lets subclasses and tests
replace stay methods or attributes here, and the parts call back through the scheduler for each
of them, so a replacement on an instance takes effect everywhere. A variant (blocking,
asyncio ...) only adds how to sleep and wake up.

For stores that several schedulers may share (DESIGN.md, "Several schedulers, one store"):
:class:`~._cluster.Membership` holds the scheduler's identity and checks in with the stores;
the processing round claims through :class:`~._claiming.ClaimingRound`; each run's outcome goes
through :meth:`BaseScheduler._report_run_outcome` to :class:`~._outcomes.RunRecorder`, which
writes it onto the run record; :class:`~._history.RunHistory` reads the records and asks for
runs now.
"""

from __future__ import annotations

import sys
import threading
import warnings
from abc import ABCMeta, abstractmethod
from collections.abc import Iterable, Mapping
from datetime import datetime, tzinfo
from logging import Logger, getLogger
from typing import IO, Any, Callable, ContextManager, TypeVar, Union, cast

from tzlocal import get_localzone

from .. import events as ev
from .._schedule import MAX_CATCH_UP
from ..executors.base import BaseExecutor
from ..job import Job
from ..jobstores.base import BaseJobStore, JobLookupError
from ..jobstores.claims import ClaimingJobStore, StatusFilter, claims_for_scheduler
from ..plugins import BUILTIN_EXECUTORS, BUILTIN_JOBSTORES, BUILTIN_TRIGGERS, PluginRegistry
from ..runs import JobRun
from ..triggers.base import BaseTrigger
from ..util import maybe_ref, undefined
from . import SchedulerAlreadyRunningError
from ._cluster import Membership
from ._components import ComponentRegistry, forward_to
from ._config import ConfigParser
from ._export import read_export, write_export
from ._history import RunHistory
from ._job_changes import JobChanges
from ._jobs import JobCatalog
from ._lifecycle import Lifecycle
from ._listeners import ListenerHub
from ._outcomes import RunRecorder, outcome_of
from ._processing import ProcessingRound
from ._states import STATE_PAUSED, STATE_RUNNING, STATE_STOPPED

__all__ = ("STATE_PAUSED", "STATE_RUNNING", "STATE_STOPPED", "BaseScheduler")

_Func = TypeVar("_Func", bound=Callable[..., Any])
_TriggerSpec = Union[BaseTrigger, str, None]
_CONFIG = ConfigParser()


class BaseScheduler(metaclass=ABCMeta):
    """What every scheduler variant shares: configuration, components, jobs and the loop body.

    Options (as keyword arguments, or in ``gconfig`` under the ``quartzite.`` prefix):

    :param str|logging.Logger logger: where the scheduler logs (``quartzite.scheduler`` unless
        given; a string is a ``module:attribute`` reference)
    :param str|datetime.tzinfo timezone: the zone naive datetimes are read in (local by default)
    :param int|float jobstore_retry_interval: seconds before a job store that failed to answer
        is asked again (10 by default)
    :param dict job_defaults: ``misfire_grace_time``, ``coalesce`` and ``max_instances`` for
        jobs that do not set their own
    :param dict jobstores: alias → job store instance, or its configuration dict
    :param dict executors: alias → executor instance, or its configuration dict
    :param str scheduler_id: this scheduler's name among those sharing its stores
        (``"<host>-<pid>-<random>"`` by default)
    :param float checkin_interval: seconds between check-ins with shared stores (10)
    :param float lease_time: seconds after its last check-in that a silent scheduler counts as
        dead and the runs it held are recovered by the others (30; longer than
        ``checkin_interval``)
    :param int max_catch_up: the most missed run times of one non-coalescing job run at once
        after a downtime (1000); older ones are logged as skipped
    """

    # Plugin tables and resolved-class caches, per class; tests install their own per instance.
    _trigger_plugins: Any = PluginRegistry("quartzite.triggers", BUILTIN_TRIGGERS)
    _trigger_classes: dict[str, type] = {}
    _executor_plugins: Any = PluginRegistry("quartzite.executors", BUILTIN_EXECUTORS)
    _executor_classes: dict[str, type] = {}
    _jobstore_plugins: Any = PluginRegistry("quartzite.jobstores", BUILTIN_JOBSTORES)
    _jobstore_classes: dict[str, type] = {}

    #: set by :meth:`shutdown` before anything is stopped, cleared by :meth:`start`
    _stopping = False

    timezone: tzinfo
    jobstore_retry_interval: float
    _logger: Logger
    _job_defaults: dict[str, Any]

    _executors = forward_to("_components", "executors", "Executors by alias.")
    _jobstores = forward_to("_components", "jobstores", "Job stores by alias.")
    _executors_lock = forward_to("_components", "executors_lock", "Guards ``_executors``.")
    _jobstores_lock = forward_to("_components", "jobstores_lock", "Guards ``_jobstores``.")
    _listeners = forward_to("_listener_hub", "listeners", "``(callback, mask)`` pairs.")
    _listeners_lock = forward_to("_listener_hub", "lock", "Guards ``_listeners``.")
    _pending_jobs = forward_to("_jobs", "pending", "Jobs added before start().")

    def __init__(self, gconfig: Mapping[str, Any] = {}, **options: Any) -> None:
        super().__init__()
        self._components = ComponentRegistry(self, self._create_lock(), self._create_lock())
        self._listener_hub = ListenerHub(self._create_lock())
        self._round = ProcessingRound(self)
        self._jobs = JobCatalog(self)
        self._membership = Membership(self)
        self._recorder = RunRecorder(self)
        self._history = RunHistory(self)
        self._lifecycle = Lifecycle(self)
        self._job_changes = JobChanges(self)
        self.state = STATE_STOPPED
        self.configure(gconfig, **options)

    def __getstate__(self) -> Any:
        raise TypeError(
            "Schedulers cannot be serialized. A scheduler holds locks, threads and open "
            "connections; check that no job receives the scheduler as an argument, and that no "
            "job is a method of an object that keeps a reference to it."
        )

    def configure(
        self,
        gconfig: Mapping[str, Any] = {},
        prefix: str | None = "quartzite.",
        **options: Any,
    ) -> None:
        """Apply settings to a stopped scheduler (see the class docstring for the options).

        :param gconfig: flat settings such as an INI section; keys under ``prefix`` are used,
            and their dots describe nesting (``"quartzite.jobstores.default.type"``)
        :param prefix: the key prefix to select and strip (``""`` or ``None``: take every key)
        :param options: settings that override the ones found in ``gconfig``
        :raises SchedulerAlreadyRunningError: unless the scheduler is stopped
        """
        if self.state != STATE_STOPPED:
            raise SchedulerAlreadyRunningError
        self._configure(_CONFIG.collect(gconfig, prefix, options, owner=self))

    def _configure(self, config: dict[str, Any]) -> None:
        """Read the base settings from ``config``; a subclass pops its own keys first."""
        self._logger = maybe_ref(config.pop("logger", None)) or getLogger("quartzite.scheduler")
        self.timezone = _CONFIG.timezone(config.pop("timezone", None)) or get_localzone()
        self.jobstore_retry_interval = _CONFIG.retry_interval(
            config.pop("jobstore_retry_interval", 10)
        )
        self._job_defaults = _CONFIG.job_defaults(config.get("job_defaults"))
        self._membership.configure(config)
        self.max_catch_up = _CONFIG.max_catch_up(config.pop("max_catch_up", MAX_CATCH_UP))

        self._components.replace_all(config.get("executors"), config.get("jobstores"))

    def start(self, paused: bool = False) -> None:
        """Start the executors and job stores, store the jobs added so far, and begin running.

        Every job added before this call is checked first: one naming an executor or job store
        this scheduler does not have stops the start before any component has started.

        :param paused: start without processing jobs until :meth:`resume` is called
        :raises SchedulerAlreadyRunningError: if the scheduler is not stopped
        :raises KeyError: if a pending job names an unknown executor or job store
        :raises RuntimeError: under uWSGI without threads (jobs would never run)
        """
        self._lifecycle.start(paused)

    @abstractmethod
    def shutdown(self, wait: bool = True) -> None:
        """Stop the executors and job stores; jobs already running finish undisturbed.

        Variants extend this with stopping their loop; they call this body.

        :param wait: wait for running jobs to finish before returning
        :raises SchedulerNotRunningError: if the scheduler is stopped already
        """
        self._lifecycle.shutdown(wait)

    def pause(self) -> None:
        """Stop processing jobs (running jobs go on) until :meth:`resume`; no-op when paused."""
        self._lifecycle.pause()

    def resume(self) -> None:
        """Process jobs again after :meth:`pause`, starting with a round at once."""
        self._lifecycle.resume()

    @property
    def running(self) -> bool:
        """Whether :meth:`start` was called and :meth:`shutdown` was not (paused included)."""
        return self.state != STATE_STOPPED

    @property
    def scheduler_id(self) -> str:
        """This scheduler's name in the run records and check-ins of the stores it shares."""
        return self._membership.scheduler_id

    @abstractmethod
    def wakeup(self) -> None:
        """Ask for a processing round soon; each variant decides on which thread and how."""

    # -- executors, job stores, listeners ------------------------------------------------------

    def add_executor(
        self, executor: BaseExecutor | str, alias: str = "default", **executor_opts: Any
    ) -> None:
        """Register an executor under ``alias`` (started at once if the scheduler runs).

        :param executor: an executor, or a plugin alias such as ``"threadpool"`` built with
            ``executor_opts``
        :raises ValueError: if ``alias`` is taken
        """
        self._components.add("executor", executor, alias, executor_opts)
        self._dispatch_event(ev.SchedulerEvent(ev.EVENT_EXECUTOR_ADDED, alias))

    def remove_executor(self, alias: str, shutdown: bool = True) -> None:
        """Unregister the executor ``alias``, shutting it down unless ``shutdown`` is false."""
        self._components.remove("executor", alias, shutdown)
        self._dispatch_event(ev.SchedulerEvent(ev.EVENT_EXECUTOR_REMOVED, alias))

    def add_jobstore(
        self, jobstore: BaseJobStore | str, alias: str = "default", **jobstore_opts: Any
    ) -> None:
        """Register a job store under ``alias``; a running scheduler starts it and looks at its
        jobs at once.

        :param jobstore: a job store, or a plugin alias such as ``"sqlalchemy"`` built with
            ``jobstore_opts``
        :raises ValueError: if ``alias`` is taken
        """
        self._components.add("jobstore", jobstore, alias, jobstore_opts)
        self._dispatch_event(ev.SchedulerEvent(ev.EVENT_JOBSTORE_ADDED, alias))
        if self.state != STATE_STOPPED:
            self.wakeup()

    def remove_jobstore(self, alias: str, shutdown: bool = True) -> None:
        """Unregister the job store ``alias``, shutting it down unless ``shutdown`` is false."""
        self._components.remove("jobstore", alias, shutdown)
        self._dispatch_event(ev.SchedulerEvent(ev.EVENT_JOBSTORE_REMOVED, alias))

    def add_listener(self, callback: Callable[[Any], Any], mask: int = ev.EVENT_ALL) -> None:
        """Call ``callback(event)`` for every event whose code is in ``mask`` (all by default)."""
        self._listener_hub.add(callback, mask)

    def remove_listener(self, callback: Callable[[Any], Any]) -> None:
        """Stop calling ``callback`` for events."""
        self._listener_hub.remove(callback)

    # -- jobs --------------------------------------------------------------------------------

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
        *,
        at_most_once: bool = undefined,
        **trigger_args: Any,
    ) -> Job:
        """Schedule ``func`` and return its :class:`~quartzite.job.Job`.

        On a stopped scheduler the job waits in the pending list, without its defaults or first
        run time, until :meth:`start`; otherwise it is stored now and the scheduler woken.

        :param func: the callable, or a ``"package.module:qualified.name"`` reference to it
        :param trigger: a trigger, or a trigger alias (``"date"``, ``"interval"``, ``"cron"``
            ...) built from ``trigger_args`` in the scheduler's zone; ``None`` runs once, now
        :param args: positional arguments for ``func`` (``kwargs``: keyword arguments)
        :param id: the job's identifier (random if not given); ``name``: a description
        :param misfire_grace_time: how many seconds late a run may still start (``None``: any)
        :param coalesce: run only the latest of several run times that came due together
        :param max_instances: how many runs of this job may overlap
        :param next_run_time: the first run time instead of the trigger's (``None``: paused)
        :param jobstore: alias of the store that keeps the job
        :param executor: alias of the executor that runs it
        :param replace_existing: replace a stored job of the same id instead of failing (when
            the trigger is unchanged, the stored job's next run time is kept)
        :param at_most_once: never run an occurrence again that a dead scheduler had started
            (record it as interrupted); by default another scheduler runs it again
        :raises KeyError: if the running scheduler has no such ``jobstore`` or ``executor``
        """
        options: dict[str, Any] = {"id": id, "name": name, "misfire_grace_time": misfire_grace_time}
        options.update(coalesce=coalesce, max_instances=max_instances, next_run_time=next_run_time)
        if at_most_once is not undefined:
            options["at_most_once"] = at_most_once
        built_trigger = self._components.trigger_for_job(trigger, trigger_args)
        job = self._jobs.new_job(func, built_trigger, args, kwargs, jobstore, executor, options)
        with self._jobstores_lock:
            if self.state == STATE_STOPPED:
                self._pending_jobs.append((job, jobstore, replace_existing))
                self._logger.info(
                    "Adding job tentatively -- it will be properly scheduled when "
                    "the scheduler starts"
                )
            else:
                self._jobs.check_aliases(job, jobstore)
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
        *,
        at_most_once: bool = undefined,
        **trigger_args: Any,
    ) -> Callable[[_Func], _Func]:
        """Decorate a function to schedule it with :meth:`add_job` (replacing a job of the
        same id, so re-importing the module does not fail); returns the function unchanged.

        Give an ``id`` when the job goes to a persistent store, or each start adds a copy.
        """

        def decorate(func: _Func) -> _Func:
            # Positional on purpose: the contract fixes this exact call (replace_existing=True).
            head = (func, trigger, args, kwargs, id, name, misfire_grace_time, coalesce)
            tail = (max_instances, next_run_time, jobstore, executor, True)
            if at_most_once is not undefined:
                trigger_args["at_most_once"] = at_most_once
            self.add_job(*head, *tail, **trigger_args)
            return func

        return decorate

    def modify_job(self, job_id: str, jobstore: str | None = None, **changes: Any) -> Job:
        """Change attributes of a job (``Job.modify`` arguments) and store it.

        :raises JobLookupError: if there is no such job
        """
        return self._job_changes.modify(job_id, jobstore, changes)

    def reschedule_job(
        self,
        job_id: str,
        jobstore: str | None = None,
        trigger: _TriggerSpec = None,
        **trigger_args: Any,
    ) -> Job:
        """Give a job a new trigger (built like :meth:`add_job` builds one) and the first run
        time that trigger yields from now.

        :raises JobLookupError: if there is no such job
        """
        return self._job_changes.reschedule(job_id, jobstore, trigger, trigger_args)

    def pause_job(self, job_id: str, jobstore: str | None = None) -> Job:
        """Keep a job but clear its next run time, so it does not run until resumed."""
        return self.modify_job(job_id, jobstore, next_run_time=None)

    def resume_job(self, job_id: str, jobstore: str | None = None) -> Job | None:
        """Give a paused job its next run time from now; a trigger with nothing left removes
        the job instead.

        :return: the job, or ``None`` if it was removed
        """
        return self._job_changes.resume(job_id, jobstore)

    def get_jobs(self, jobstore: str | None = None, pending: bool | None = None) -> list[Job]:
        """The jobs of one store (or all): the pending ones while the scheduler is stopped,
        the stored ones once it runs.

        :param pending: deprecated and ignored (the state decides)
        """
        if pending is not None:
            warnings.warn(
                'The "pending" option is deprecated -- get_jobs() always returns scheduled jobs '
                "if the scheduler has been started and pending jobs otherwise",
                DeprecationWarning,
                stacklevel=2,
            )
        with self._jobstores_lock:
            return self._jobs.jobs(jobstore)

    def get_job(self, job_id: str, jobstore: str | None = None) -> Job | None:
        """The job with ``job_id`` (looked for in ``jobstore`` if given), or ``None``."""
        with self._jobstores_lock:
            try:
                return self._lookup_job(job_id, jobstore)[0]
            except JobLookupError:
                return None

    def remove_job(self, job_id: str, jobstore: str | None = None) -> None:
        """Delete a job so it never runs again.

        :raises JobLookupError: if there is no such job
        """
        with self._jobstores_lock:
            removed_from = self._jobs.remove(job_id, jobstore)
        if removed_from is None:
            raise JobLookupError(job_id)

        if self._wants_event(ev.EVENT_JOB_REMOVED):
            self._dispatch_event(ev.JobEvent(ev.EVENT_JOB_REMOVED, job_id, removed_from))
        self._logger.info("Removed job %s", job_id)

    def remove_all_jobs(self, jobstore: str | None = None) -> None:
        """Delete every job of one store, or of all stores when ``jobstore`` is ``None``."""
        with self._jobstores_lock:
            self._jobs.clear(jobstore)
        self._dispatch_event(ev.SchedulerEvent(ev.EVENT_ALL_JOBS_REMOVED, jobstore))

    def get_job_runs(
        self,
        job_id: str | None = None,
        jobstore: str | None = None,
        *,
        status: StatusFilter = None,
        since: datetime | str | None = None,
        limit: int | None = 100,
    ) -> list[JobRun]:
        """The run records of one job (or all jobs), newest first; see :mod:`quartzite.runs`.

        Records outlive their job. Stores that keep no records (third-party ones) add none.

        :param status: only this :class:`~quartzite.runs.RunStatus` (or any of several)
        :param since: only occurrences scheduled at or after this time
        :param limit: at most this many records (``None``: all)
        :raises RuntimeError: if the scheduler was not started (its stores are closed)
        """
        return self._history.runs(job_id, jobstore, status, since, limit)

    def run_job_now(self, job_id: str, jobstore: str | None = None) -> JobRun:
        """Run one extra occurrence of a job now, without moving its schedule.

        The request goes through the job's store, so among schedulers sharing it exactly one
        runs it (a scheduler started paused may ask; a running one takes it). It obeys
        ``max_instances``, works on paused jobs and is recorded like any run.

        :return: the occurrence's record (``pending`` until a scheduler takes it)
        :raises JobLookupError: if there is no such job
        :raises RuntimeError: if the scheduler was not started
        """
        return self._history.run_now(job_id, jobstore)

    def print_jobs(self, jobstore: str | None = None, out: IO[str] | None = None) -> None:
        """Write a listing of the jobs (pending ones while stopped) to ``out`` (stdout).

        :param jobstore: list only this store's jobs
        """
        with self._jobstores_lock:
            lines = self._jobs.listing(jobstore)
        if lines:
            print(*lines, sep="\n", file=out or sys.stdout)

    def export_jobs(self, outfile: Any, jobstore: str | None = None) -> None:
        """Write the jobs of a running scheduler as JSON (the format of ``_export``).

        :param outfile: a text file object, or a path to write to
        :param jobstore: export only this store's jobs
        :raises RuntimeError: if the scheduler is stopped (its stores are not open)
        """
        if self.state == STATE_STOPPED:
            raise RuntimeError("the scheduler must have been started for job export to work")
        write_export([job.__getstate__() for job in self.get_jobs(jobstore)], outfile)

    def import_jobs(self, infile: Any, jobstore: str = "default") -> None:
        """Add the jobs of an :meth:`export_jobs` document to a store, as they are.

        :param infile: a text file object, or a path to read
        :param jobstore: alias of the store to add them to
        """
        store = self._jobstores[jobstore]
        for state in read_export(infile):
            job = Job.__new__(Job)
            job.__setstate__(state)
            store.add_job(job)

    # -- internals named by the contract (API.md §10) -------------------------------------------

    def _real_add_job(self, job: Job, jobstore_alias: str, replace_existing: bool) -> None:
        """Store a job for real: apply the defaults it lacks and its first run time."""
        self._jobs.store(job, jobstore_alias, replace_existing)

    def _lookup_job(self, job_id: str, jobstore_alias: str | None) -> tuple[Job, str | None]:
        """Find a job: among the pending ones while stopped (store ``None``), else in the
        stores (all, or the one named).

        :raises JobLookupError: if there is no such job
        """
        return self._jobs.find(job_id, jobstore_alias)

    def _lookup_executor(self, alias: str) -> BaseExecutor:
        """The executor ``alias``; :class:`KeyError` ``No such executor: ALIAS`` if absent."""
        executor: BaseExecutor = self._components.lookup("executor", alias)
        return executor

    def _lookup_jobstore(self, alias: str) -> BaseJobStore:
        """The job store ``alias``; :class:`KeyError` ``No such job store: ALIAS`` if absent."""
        store: BaseJobStore = self._components.lookup("jobstore", alias)
        return store

    def _create_default_executor(self) -> BaseExecutor:
        """The executor ``start()`` adds as ``"default"`` when none is configured."""
        from ..executors.pool import ThreadPoolExecutor

        return ThreadPoolExecutor()

    def _create_default_jobstore(self) -> BaseJobStore:
        """The job store ``start()`` adds as ``"default"`` when none is configured."""
        from ..jobstores.memory import MemoryJobStore

        return MemoryJobStore()

    def _create_plugin_instance(self, type_: str, alias: str, constructor_kwargs: Any) -> Any:
        """Build the plugin ``alias`` of kind ``type_`` (trigger, executor, jobstore)."""
        return self._components.create_plugin(type_, alias, constructor_kwargs)

    def _create_trigger(self, trigger: Any, trigger_args: dict[str, Any]) -> BaseTrigger:
        """A trigger instance as given, or one built from an alias (``None`` means ``"date"``)
        and ``trigger_args``, in the scheduler's zone unless they name another."""
        return self._components.create_trigger(trigger, trigger_args)

    def _wants_event(self, code: int) -> bool:
        """Whether an event of ``code`` would reach anyone (hot paths skip building it if not).

        A ``_dispatch_event`` replaced on the instance or overridden in a subclass may want
        anything, so it is always fed.
        """
        if (
            "_dispatch_event" in self.__dict__
            or type(self)._dispatch_event is not BaseScheduler._dispatch_event
        ):
            return True
        return self._listener_hub.wants(code)

    def _dispatch_event(self, event: ev.SchedulerEvent) -> None:
        """Deliver ``event`` to the listeners whose mask has its code (errors are logged)."""
        self._listener_hub.dispatch(event, self._logger)

    def _report_run_outcome(self, event: Any) -> None:
        """The one path by which every executor reports how a run ended (executed, error or
        missed): the outcome is queued for the run's record (stores that keep records), then
        dispatched to the listeners."""
        alias = event.jobstore
        store = self._jobstores.get(alias) if alias is not None else None
        if claims_for_scheduler(store):
            outcome = outcome_of(event, self.scheduler_id, self._current_time())
            self._recorder.report(alias, cast(ClaimingJobStore, store), outcome)
        self._dispatch_event(event)

    def _process_jobs(self) -> float | None:
        """Run one processing round (see ``_processing``).

        :return: seconds until the next round, or ``None`` to sleep until woken
        """
        return self._round.run()

    def _process_jobs_or_retry(self) -> float | None:
        """:meth:`_process_jobs` for the variants' loops: a round that fails is logged and
        retried after ``jobstore_retry_interval`` (one bad round must never stop a scheduler)."""
        try:
            return self._process_jobs()
        except Exception:
            self._logger.exception("Error processing jobs; retrying later")
            return self.jobstore_retry_interval

    def _current_time(self) -> datetime:
        """The scheduler's clock: every "now" of the scheduler is read here (tests patch it)."""
        return datetime.now(self.timezone)

    def _create_lock(self) -> ContextManager[Any]:
        """A new re-entrant lock (gevent's variant returns a greenlet lock)."""
        return threading.RLock()


# The lookups as defined, for the job catalog to tell whether a test or a subclass replaced them
# (taken at import, so a later patch of the class is seen as a replacement).
JobCatalog.base_lookups = (BaseScheduler._lookup_jobstore, BaseScheduler._lookup_executor)
