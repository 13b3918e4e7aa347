"""Where a scheduler's jobs are: a pending list before ``start()``, the job stores after.

Until the scheduler starts, its stores are not open, so ``add_job`` parks each job, with the
alias of its store and its ``replace_existing`` flag, in a list; ``start()`` stores them. Every
query a user can make (find one job, list, remove, print) therefore has two answers, and
:class:`JobCatalog` gives the right one for the scheduler's state. It reads the scheduler's
``state`` and ``_jobstores`` through the scheduler on each call, since tests replace them.
"""

from __future__ import annotations

from contextlib import ExitStack
from typing import TYPE_CHECKING, Any, ContextManager

from .. import events as ev
from .._schedule import first_run_time
from ..job import Job
from ..jobstores.base import ConflictingIdError, JobLookupError
from ..triggers.calendarinterval import CalendarIntervalTrigger
from ..triggers.interval import IntervalTrigger
from ..util import undefined
from ._states import STATE_RUNNING, STATE_STOPPED

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from ..jobstores.base import BaseJobStore
    from ..triggers.base import BaseTrigger
    from .base import BaseScheduler

__all__ = ("JobCatalog", "same_schedule")

# A trigger built without a start date starts at the moment it was built: two boots build two
# such triggers that differ only in that start, yet describe the same schedule.
_BUILD_TIME_FIELDS = frozenset(("start_date",))


def same_schedule(stored: Any, new: Any) -> bool:
    """Whether two triggers describe the same schedule (equal state, ignoring the build-time
    start of interval triggers)."""
    if type(stored) is not type(new):
        return False
    try:
        old_state, new_state = stored.__getstate__(), new.__getstate__()
    except Exception:
        return False
    if not (isinstance(old_state, dict) and isinstance(new_state, dict)):
        return bool(old_state == new_state)
    if isinstance(new, (IntervalTrigger, CalendarIntervalTrigger)):
        old_state = {
            key: value for key, value in old_state.items() if key not in _BUILD_TIME_FIELDS
        }
        new_state = {
            key: value for key, value in new_state.items() if key not in _BUILD_TIME_FIELDS
        }
    return bool(old_state == new_state)


def _positional(args: Any) -> tuple[Any, ...]:
    """``add_job``'s ``args`` as a tuple; a string (iterable, but surely not meant as one
    argument per character) or a non-iterable is refused."""
    if args is None:
        return ()
    if not isinstance(args, (str, bytes)):
        try:
            return tuple(args)
        except TypeError:
            pass
    raise TypeError(
        f"add_job: args must be a list or tuple of positional arguments for the job's "
        f"function, got {type(args).__name__}: {args!r}"
    )


def _keywords(kwargs: Any) -> dict[str, Any]:
    """``add_job``'s ``kwargs`` as a dict (a mapping, or key/value pairs)."""
    if kwargs is None:
        return {}
    if not isinstance(kwargs, (str, bytes)):
        try:
            return dict(kwargs)
        except (TypeError, ValueError):
            pass
    raise TypeError(
        f"add_job: kwargs must be a mapping of keyword arguments for the job's function, "
        f"got {type(kwargs).__name__}: {kwargs!r}"
    )


class JobCatalog:
    """Looks jobs up, lists and removes them, among the pending ones or in the stores."""

    #: ``BaseScheduler._lookup_jobstore`` and ``_lookup_executor`` as defined (set by the
    #: module of the scheduler, when it is imported, so before a test can patch the class)
    base_lookups: tuple[Any, Any] = (None, None)

    def __init__(self, scheduler: BaseScheduler) -> None:
        self._scheduler = scheduler
        #: ``(job, jobstore alias, replace_existing)`` for each job added before ``start()``
        self.pending: list[tuple[Job, str, bool]] = []

    @property
    def _stopped(self) -> bool:
        return self._scheduler.state == STATE_STOPPED

    def new_job(
        self,
        func: Any,
        trigger: BaseTrigger,
        args: Iterable[Any] | None,
        kwargs: Mapping[str, Any] | None,
        jobstore: Any,
        executor: Any,
        options: dict[str, Any],
    ) -> Job:
        """Build (and so validate) the job ``add_job`` describes, not yet stored anywhere.

        Options left ``undefined`` stay unset on the job: the scheduler's defaults fill them in
        when the job is stored, so defaults configured before ``start()`` still apply.
        """
        # Exact-type test first: the aliases are nearly always plain strings.
        if type(jobstore) is not str or type(executor) is not str:
            for argument, alias in (("jobstore", jobstore), ("executor", executor)):
                if not isinstance(alias, str):
                    raise TypeError(
                        f"add_job: {argument} must be the alias (a str) of a configured "
                        f"{argument}, got {type(alias).__name__}: {alias!r}"
                    )
        given = {}  # a loop, not a comprehension: saves a frame on every add
        for key, value in options.items():
            if value is not undefined:
                given[key] = value
        return Job(
            self._scheduler,
            trigger=trigger,
            executor=executor,
            func=func,
            args=() if args is None else _positional(args),
            kwargs={} if kwargs is None else _keywords(kwargs),
            **given,
        )

    def check_aliases(self, job: Job, jobstore: str, context: str = "") -> None:
        """Refuse a job whose store or executor alias is unknown, before it is stored.

        Goes through the scheduler's ``_lookup_jobstore`` / ``_lookup_executor`` (which tests
        may replace) and reports with the component registry's listing of the known aliases.
        While neither lookup is replaced, reading the registry's tables is the same answer at a
        fraction of the cost (``add_job`` asks this for every job).
        """
        scheduler = self._scheduler
        components = scheduler._components
        if (
            jobstore in components.jobstores
            and job.executor in components.executors
            and self._plain_lookups(scheduler)
        ):
            return
        for kind, alias, lookup in (
            ("jobstore", jobstore, scheduler._lookup_jobstore),
            ("executor", job.executor, scheduler._lookup_executor),
        ):
            try:
                lookup(alias)
            except KeyError:
                raise scheduler._components.unknown_alias_error(kind, alias, context) from None

    def _plain_lookups(self, scheduler: BaseScheduler) -> bool:
        """Whether ``scheduler`` uses the lookups as defined: neither replaced on the instance
        nor on its class (a subclass override or a patch of the class)."""
        cls = type(scheduler)
        instance_attributes = scheduler.__dict__
        jobstore_lookup, executor_lookup = self.base_lookups
        return (
            cls._lookup_jobstore is jobstore_lookup
            and cls._lookup_executor is executor_lookup
            and "_lookup_jobstore" not in instance_attributes
            and "_lookup_executor" not in instance_attributes
        )

    def check_pending(self) -> None:
        """Check every pending job's aliases (at ``start()``, before anything starts)."""
        for job, jobstore, _replace in self.pending:
            self.check_aliases(job, jobstore, f" (named by pending job {job.id!r})")

    def batching_pending(self) -> ContextManager[object]:
        """The ``batch_adds`` blocks of the stores the pending jobs go to, entered together."""
        stack = ExitStack()
        stores = self._scheduler._jobstores
        try:
            for alias in dict.fromkeys(alias for _job, alias, _replace in self.pending):
                if alias in stores:
                    stack.enter_context(stores[alias].batch_adds())
        except BaseException:
            stack.close()
            raise
        return stack

    def store(self, job: Job, jobstore: str, replace_existing: bool) -> None:
        """Store a job for real (``_real_add_job``): fill in the defaults it lacks and its first
        run time, add it (or replace a job of the same id, if allowed), announce it."""
        scheduler = self._scheduler
        changes = {}  # a loop, not a comprehension: saves a frame on every add
        for key, value in scheduler._job_defaults.items():
            if not hasattr(job, key):
                changes[key] = value
        computed = not hasattr(job, "next_run_time")
        if computed:
            changes["next_run_time"] = first_run_time(job.trigger, scheduler._current_time())
        job._modify(**changes)

        target = scheduler._lookup_jobstore(jobstore)
        try:
            target.add_job(job)
        except ConflictingIdError:
            if not replace_existing:
                raise
            if computed:
                self._keep_pending_run(target, job)
            target.update_job(job)

        job._jobstore_alias = jobstore
        if scheduler._wants_event(ev.EVENT_JOB_ADDED):
            scheduler._dispatch_event(ev.JobEvent(ev.EVENT_JOB_ADDED, job.id, jobstore))
        scheduler._logger.info('Added job "%s" to job store "%s"', job.name, jobstore)
        if scheduler.state == STATE_RUNNING:
            scheduler.wakeup()

    @staticmethod
    def _keep_pending_run(store: BaseJobStore, job: Job) -> None:
        """Give a job that replaces a stored one with the same schedule the stored job's next
        run time (or leave it paused, if the stored job is).

        Every worker of a web application typically adds its jobs with ``replace_existing`` at
        boot; recomputing the first run time there would push an interval job's next run
        further off at every boot (and a store shared by several processes would see it move
        back and forth). A changed trigger, or an explicit ``next_run_time``, is applied as
        given.
        """
        stored = store.lookup_job(job.id)
        if stored is not None and same_schedule(stored.trigger, job.trigger):
            # A paused job stays paused too: someone paused it on purpose (an admin, the
            # command line), and a worker booting again must not resume it.
            job._modify(next_run_time=stored.next_run_time)

    def pending_in(self, jobstore: str | None) -> list[tuple[Job, str]]:
        """The pending jobs bound for ``jobstore`` (all when ``None``), with their alias."""
        return [(job, alias) for job, alias, _ in self.pending if jobstore in (None, alias)]

    def stores_in(self, jobstore: str | None) -> list[tuple[str, BaseJobStore]]:
        """The ``(alias, store)`` pairs matching ``jobstore`` (all when ``None``)."""
        stores = self._scheduler._jobstores.items()
        return [(alias, store) for alias, store in stores if jobstore in (None, alias)]

    def find(self, job_id: str, jobstore: str | None) -> tuple[Job, str | None]:
        """The job and its store's alias (``None`` for a pending job, found in any store).

        :raises JobLookupError: if there is no such job
        """
        if self._stopped:
            for job, _alias, _replace in self.pending:
                if job.id == job_id:
                    return job, None
        else:
            for alias, store in self.stores_in(jobstore):
                found = store.lookup_job(job_id)
                if found is not None:
                    return found, alias
        raise JobLookupError(job_id)

    def jobs(self, jobstore: str | None) -> list[Job]:
        """Pending jobs while stopped, else the stored ones, in store order."""
        if self._stopped:
            return [job for job, _alias in self.pending_in(jobstore)]
        return [job for _alias, store in self.stores_in(jobstore) for job in store.get_all_jobs()]

    def remove(self, job_id: str, jobstore: str | None) -> str | None:
        """Remove the first job with ``job_id``; return its store alias (``None``: not found)."""
        scheduler = self._scheduler
        if scheduler.state == STATE_STOPPED:
            for index, (job, alias, _replace) in enumerate(self.pending):
                if job.id == job_id and jobstore in (None, alias):
                    del self.pending[index]
                    return alias
            return None
        # Straight over the table (no list of pairs built): this runs on every remove_job.
        for alias, store in scheduler._jobstores.items():
            if jobstore is not None and jobstore != alias:
                continue
            try:
                store.remove_job(job_id)
            except JobLookupError:
                continue
            return alias
        return None

    def clear(self, jobstore: str | None) -> None:
        """Remove every job of ``jobstore`` (of all stores when ``None``)."""
        if self._stopped:
            self.pending = [entry for entry in self.pending if jobstore not in (None, entry[1])]
            return
        for _alias, store in self.stores_in(jobstore):
            store.remove_all_jobs()

    def listing(self, jobstore: str | None) -> list[str]:
        """The lines of ``print_jobs``: one heading per store, one indented line per job."""
        if self._stopped:
            lines = ["Pending jobs:"] + [f"    {job}" for job, _ in self.pending_in(jobstore)]
            # Contract quirk: "No pending jobs" only when nothing is pending at all, even if
            # the filter matched nothing.
            if not self.pending:
                lines.append("    No pending jobs")
            return lines
        lines = []
        for alias, store in sorted(self.stores_in(jobstore), key=lambda pair: pair[0]):
            listed = [f"    {job}" for job in store.get_all_jobs()]
            lines += [f"Jobstore {alias}:", *(listed or ["    No scheduled jobs"])]
        return lines
