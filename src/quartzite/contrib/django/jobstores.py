"""Job stores of the Django app: ``DjangoJobStore`` (jobs in ``DjangoJob`` rows, shared by any
number of schedulers) and ``DjangoMemoryJobStore``, both recording every occurrence in
``DjangoJobExecution`` through :class:`DjangoResultStoreMixin`.

Each store works on one database alias: the one Django's routers choose for writing
``DjangoJob``, or the ``database`` option (``settings.QUARTZITE_DATABASE`` when set). Every
query goes through ``DjangoJob.objects.db_manager(alias)``, every transaction is
``transaction.atomic(using=alias)``. The first ORM call of each method is the one
django-apscheduler made (``get``, ``filter``, ``create``, ``select_for_update``, ``all``), so
code that patches those calls still intercepts them.
"""

from __future__ import annotations

import pickle
import threading
import warnings
from collections.abc import Collection, Sequence
from contextlib import nullcontext
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Callable, ContextManager, TypeVar

from django.conf import settings
from django.db import DatabaseError, IntegrityError, connections, router, transaction

from ... import events
from ..._schedule import MAX_CATCH_UP
from ...jobstores._persistent import QuarantinedJob, SerializingJobStore, StoredRow
from ...jobstores.base import ConflictingIdError, JobLookupError
from ...jobstores.claims import DEFAULT_CLAIM_LIMIT, Claim, HistoryOptions, RunOutcome, StatusFilter
from ...jobstores.memory import MemoryJobStore
from ...runs import JobRun
from . import _claims, _wakeup
from ._adding import BatchAdds
from ._claimed import OUTCOME, SUBMITTED, ClaimedRuns
from ._locking import retry_locked, take_write_lock, use_wal
from .models import DjangoJob, DjangoJobExecution, DjangoJobQuarantine
from .util import (
    get_apscheduler_datetime,
    get_django_internal_datetime,
    retry_closing_store_connection,
)

if TYPE_CHECKING:
    from ...job import Job
    from ...jobstores._pg_listener import Listener
    from ...serializers import BaseSerializer

__all__ = (
    "DjangoJobStore",
    "DjangoMemoryJobStore",
    "DjangoResultStoreMixin",
    "register_events",
    "register_job",
)

_T = TypeVar("_T")
_DEFAULT_POLL_INTERVAL = 5.0


def _release_worker_connections() -> None:
    """Before and after a run, in an executor's worker thread: close the thread's connections
    that Django would close around a request (``CONN_MAX_AGE`` reached, unusable, left in a
    transaction by the job). Only connections this thread has set up are looked at, so a job
    that never touched the ORM costs nothing here. Never in the main thread, nor a connection
    inside an ``atomic`` block: those belong to a caller's transaction."""
    if threading.current_thread() is threading.main_thread():
        return
    for connection in connections.all(initialized_only=True):
        if connection.connection is not None and not connection.in_atomic_block:
            connection.close_if_unusable_or_obsolete()


class DjangoResultStoreMixin:
    """Records each occurrence of the store's jobs in ``DjangoJobExecution`` from the
    scheduler's events: submitted, executed, error, missed and max-instances.

    Mix it in before a job store class. ``lock`` (the scheduler's lock, taken at :meth:`start`)
    serializes the writes; it is per store.
    """

    lock: ContextManager[Any] | None = None
    _scheduler: Any
    _logger: Any

    def start(self, scheduler: Any, alias: str) -> None:
        super().start(scheduler, alias)  # type: ignore[misc]
        if scheduler is None:  # a store started by hand (tests): no events to listen to
            self.lock = threading.RLock()
            return
        self.lock = scheduler._create_lock()
        self.register_event_listeners()

    def register_event_listeners(self) -> None:
        """Add the three recording listeners to the store's scheduler."""
        scheduler = self._scheduler
        scheduler.add_listener(
            self.handle_submission_event,
            events.EVENT_JOB_SUBMITTED | events.EVENT_JOB_MAX_INSTANCES,
        )
        scheduler.add_listener(self.handle_execution_event, events.EVENT_JOB_EXECUTED)
        scheduler.add_listener(
            self.handle_error_event, events.EVENT_JOB_ERROR | events.EVENT_JOB_MISSED
        )

    def _record_database(self) -> str | None:
        return None

    def _claimed(self, event: events.JobEvent, run_times: Sequence[datetime], what: int) -> bool:
        """Whether ``event`` concerns occurrences this store's own claim took; their records are
        written by the claim and by ``finish_runs`` alone, so the listener has nothing to do."""
        return False

    def _record(
        self,
        job_id: str,
        run_time: Any,
        status: str,
        exception: str | None = None,
        traceback: str | None = None,
    ) -> int | None:
        try:
            row = DjangoJobExecution.atomic_update_or_create(
                self.lock or nullcontext(),
                job_id,
                run_time,
                status,
                exception=exception,
                traceback=traceback,
                using=self._record_database(),
            )
        except IntegrityError:
            self._logger.warning(
                f"Job '{job_id}' no longer exists! Skipping logging of job execution..."
            )
            return None
        return int(row.id)

    def handle_submission_event(self, event: events.JobSubmissionEvent) -> int | None:
        """Record a submission (``SENT``) or a run skipped for ``max_instances``."""
        run_time = event.scheduled_run_times[0]
        if event.code == events.EVENT_JOB_SUBMITTED:
            if self._claimed(event, event.scheduled_run_times, SUBMITTED):
                return None  # the claim wrote this very row a moment ago; nothing to add
            return self._record(event.job_id, run_time, DjangoJobExecution.SENT)
        if event.code == events.EVENT_JOB_MAX_INSTANCES:
            # Refused by this process's executor: no outcome event follows; finish_runs
            # records the refusal.
            if self._claimed(event, event.scheduled_run_times, SUBMITTED | OUTCOME):
                return None
            message = (
                f"Execution of job '{event.job_id}' skipped: "
                "maximum number of running instances reached!"
            )
            return self._record(event.job_id, run_time, DjangoJobExecution.MAX_INSTANCES, message)
        expected = [events.EVENT_JOB_SUBMITTED, events.EVENT_JOB_MAX_INSTANCES]
        raise NotImplementedError(
            f"Don't know how to handle JobSubmissionEvent '{event.code}'. "
            f"Expected one of '{expected}'."
        )

    def _record_outcome(self, *args: Any) -> int | None:
        """:meth:`_record` an outcome, on the executor's worker thread (events of a run are
        dispatched there): then close that thread's connection as a request's end would."""
        try:
            return self._record(*args)
        finally:
            _release_worker_connections()

    def handle_execution_event(self, event: events.JobExecutionEvent) -> int | None:
        """Record a successful run."""
        if event.code != events.EVENT_JOB_EXECUTED:
            raise NotImplementedError(
                f"Don't know how to handle JobExecutionEvent '{event.code}'. "
                f"Expected '{events.EVENT_JOB_EXECUTED}'."
            )
        if self._claimed(event, [event.scheduled_run_time], OUTCOME):
            return None  # finish_runs writes this outcome, batched, on the recorder thread
        return self._record_outcome(
            event.job_id, event.scheduled_run_time, DjangoJobExecution.SUCCESS
        )

    def handle_error_event(self, event: events.JobExecutionEvent) -> int | None:
        """Record a run that raised, or a missed run time."""
        outcome = event.code in (events.EVENT_JOB_ERROR, events.EVENT_JOB_MISSED)
        if outcome and self._claimed(event, [event.scheduled_run_time], OUTCOME):
            return None  # finish_runs writes this outcome, batched, on the recorder thread
        if event.code == events.EVENT_JOB_ERROR:
            if event.exception:
                exception, traceback = str(event.exception), str(event.traceback)
            else:
                exception, traceback = f"Job '{event.job_id}' raised an error!", None
            return self._record_outcome(
                event.job_id,
                event.scheduled_run_time,
                DjangoJobExecution.ERROR,
                exception,
                traceback,
            )
        if event.code == events.EVENT_JOB_MISSED:
            message = f"Run time of job '{event.job_id}' was missed!"
            return self._record_outcome(
                event.job_id, event.scheduled_run_time, DjangoJobExecution.MISSED, message
            )
        expected = [events.EVENT_JOB_ERROR, events.EVENT_JOB_MISSED]
        raise NotImplementedError(
            f"Don't know how to handle JobExecutionEvent '{event.code}'. "
            f"Expected one of '{expected}'."
        )


class DjangoJobStore(DjangoResultStoreMixin, SerializingJobStore):
    """Keeps each job as a ``DjangoJob`` row; any number of schedulers may share it.

    :param int pickle_protocol: the protocol of the default pickle serializer
    :param serializer: ``"pickle"`` (default), ``"json"`` or a serializer object
    :param str database: the database alias (default: ``settings.QUARTZITE_DATABASE``, else
        the alias the routers choose for writing ``DjangoJob``)
    :param float poll_interval: the longest a scheduler sleeps without looking at the tables
        (default 5 s; on PostgreSQL with psycopg 3 notifications wake the schedulers instead)
    :param history: keep finished run records (see
        :class:`~quartzite.jobstores.claims.HistoryOptions`, like ``max_runs_per_job``,
        ``max_run_age`` and ``max_return_value_size``)
    :param bool quarantine_unreadable: move a job that cannot be restored to the quarantine
        (default); ``False`` raises :class:`~quartzite.jobstores.base.UnreadableJobError`
        instead and leaves it in place (for processes that may lack some of the jobs' code)
    :param bool sqlite_wal: on SQLite, switch the database to write-ahead logging when the
        store starts (default ``True``): readers then never wait for the writer, and a commit
        costs one sync instead of several. The mode stays with the database file. Pass
        ``False`` to leave the journal mode as it is (a database on a network file system,
        where WAL does not work).
    """

    #: ``DjangoJob.id`` is a ``CharField(max_length=255)``.
    max_id_length = 255

    def __init__(
        self,
        pickle_protocol: int = pickle.HIGHEST_PROTOCOL,
        *,
        serializer: BaseSerializer | str | None = None,
        database: str | None = None,
        poll_interval: float | None = None,
        history: bool = True,
        max_runs_per_job: int = 100,
        max_run_age: Any = 30 * 86400.0,
        max_return_value_size: int = 64 * 1024,
        quarantine_unreadable: bool = True,
        sqlite_wal: bool = True,
    ) -> None:
        options = HistoryOptions.checked(
            "DjangoJobStore", history, max_runs_per_job, max_run_age, max_return_value_size
        )
        super().__init__(
            serializer,
            pickle_protocol,
            history_options=options,
            quarantine_unreadable=quarantine_unreadable,
        )
        self._database = database or getattr(settings, "QUARTZITE_DATABASE", None)
        self._poll_is_default = poll_interval is None
        self.poll_interval = (
            _DEFAULT_POLL_INTERVAL if poll_interval is None else float(poll_interval)
        )
        self._listener: Listener | None = None
        self._retention = _claims.RetentionCounter()
        self._claimed_runs = ClaimedRuns()
        self._last_claim_took = False  # see _claims.claim_jobs
        if not isinstance(sqlite_wal, bool):
            raise TypeError(f"DjangoJobStore: sqlite_wal must be True or False, got {sqlite_wal!r}")
        self._sqlite_wal = sqlite_wal
        self._adds = BatchAdds()

    def start(self, scheduler: Any, alias: str) -> None:
        super().start(scheduler, alias)
        if self._sqlite_wal:
            use_wal(self.database)

    # -- plumbing

    @property
    def database(self) -> str:
        """The database alias every query and transaction of this store uses."""
        return self._database or router.db_for_write(DjangoJob)

    def _record_database(self) -> str | None:
        return self.database

    def _manager(self) -> Any:
        return DjangoJob.objects.db_manager(self.database)

    def _transaction(self, work: Callable[[], _T], what: str) -> _T:
        """Run ``work`` in one write transaction on the store's alias (write lock first on
        SQLite; lock contention retried)."""
        alias = self.database

        def attempt() -> _T:
            with transaction.atomic(using=alias):
                take_write_lock(alias)
                return work()

        return retry_locked(attempt, what, alias)

    def _locking(self, queryset: Any) -> Any:
        """``queryset`` locking its rows, skipping rows other transactions hold when the
        server can (SQLite: the transaction holds the database's write lock already)."""
        features = connections[self.database].features
        if connections[self.database].vendor == "sqlite":
            return queryset
        return queryset.select_for_update(skip_locked=features.has_select_for_update_skip_locked)

    def _stored_row(self, job_id: str, job_state: Any, next_run_time: datetime | None) -> StoredRow:
        moment = get_apscheduler_datetime(next_run_time, self._scheduler)
        return StoredRow(job_id, bytes(job_state), None if moment is None else moment.timestamp())

    def _notify(self) -> None:
        _wakeup.notify(self.database)

    def _retention_due(self, job_ids: Sequence[str]) -> list[str]:
        return self._retention.due(job_ids)

    def _age_pass_due(self, now: float, interval: float) -> bool:
        return self._retention.age_pass_due(now, interval)

    def batch_writes(self) -> ContextManager[object]:
        # Each write is one short statement here; nothing to gain from deferring them.
        return nullcontext()

    def batch_adds(self) -> ContextManager[object]:
        """Make the adds of a starting scheduler one transaction (see ``_adding``)."""
        return self._adds.batch(self)

    # -- the job store interface

    @retry_closing_store_connection
    def lookup_job(self, job_id: str) -> Job | None:
        try:
            row = self._manager().get(id=job_id)
        except DjangoJob.DoesNotExist:
            return None
        if not row.job_state:  # a placeholder row (DjangoJob.objects.create(id=...))
            return None
        return self._restore_one(self._stored_row(row.id, row.job_state, row.next_run_time))

    def get_due_jobs(self, now: datetime) -> list[Job]:
        return self._get_jobs(next_run_time__lte=get_django_internal_datetime(now))

    @retry_closing_store_connection
    def get_next_run_time(self) -> datetime | None:
        found = (
            self._manager()
            .filter(next_run_time__isnull=False)
            .order_by("next_run_time")
            .values_list("next_run_time", flat=True)
            .first()
        )
        return get_apscheduler_datetime(found, self._scheduler)

    def get_all_jobs(self) -> list[Job]:
        jobs = self._get_jobs()
        self._fix_paused_jobs_sorting(jobs)
        return jobs

    @retry_closing_store_connection
    def _get_jobs(self, **filters: Any) -> list[Job]:
        rows = (
            self._manager()
            .filter(**filters)
            .order_by("next_run_time", "id")
            .values_list("id", "job_state", "next_run_time")
        )
        return self._restore_jobs([self._stored_row(*row) for row in rows if row[1]])

    def add_job(self, job: Job) -> None:
        if self._adds.active():
            state = self._serialize_job(job)
            moment = get_django_internal_datetime(job.next_run_time)
            if not self._adds.insert(self.database, job.id, moment, state):
                raise ConflictingIdError(job.id)
            return
        self._add_row(job)

    @retry_closing_store_connection
    def _add_row(self, job: Job) -> None:
        state = self._serialize_job(job)
        alias = self.database
        values = {
            "id": job.id,
            "next_run_time": get_django_internal_datetime(job.next_run_time),
            "job_state": state,
        }
        try:
            if connections[alias].in_atomic_block:
                # A savepoint: a taken id must not break the caller's transaction.
                with transaction.atomic(using=alias):
                    self._manager().create(**values)
            else:
                self._manager().create(**values)  # one statement, atomic on its own
        except IntegrityError:
            raise ConflictingIdError(job.id) from None
        self._notify()

    @retry_closing_store_connection
    def update_job(self, job: Job) -> None:
        state = self._serialize_job(job)
        self._update_row(job.id, state, job.next_run_time)

    @retry_closing_store_connection
    def remove_job(self, job_id: str) -> None:
        self._remove_row(job_id)

    @retry_closing_store_connection
    def remove_all_jobs(self) -> None:
        """Remove every job; their run records stay (history outlives jobs)."""
        with transaction.atomic(using=self.database):
            self._manager().all().delete()
            self._notify()

    def _update_row(self, job_id: str, job_state: bytes, next_run_time: Any) -> None:
        if isinstance(next_run_time, float):
            next_run_time = datetime.fromtimestamp(next_run_time, timezone.utc)
        values = {
            "next_run_time": get_django_internal_datetime(next_run_time),
            "job_state": job_state,
        }

        def write() -> int:
            # One conditional statement: atomic on every backend.
            changed = int(self._manager().select_for_update().filter(id=job_id).update(**values))
            if changed:
                self._notify()
            return changed

        if not self._transaction(write, "update_job"):
            raise JobLookupError(job_id)

    def _remove_row(self, job_id: str) -> None:
        def write() -> int:
            deleted, _by_model = self._manager().select_for_update().filter(id=job_id).delete()
            if deleted:
                self._notify()
            return int(deleted)

        if not self._transaction(write, "remove_job"):
            raise JobLookupError(job_id)

    def _write_batch(
        self, updates: list[tuple[str, bytes, float | None]], removals: list[str]
    ) -> None:
        for job_id, state, next_run_time in updates:
            try:
                self._update_row(job_id, state, next_run_time)
            except JobLookupError:
                pass
        for job_id in removals:
            try:
                self._remove_row(job_id)
            except JobLookupError:
                pass

    def shutdown(self) -> None:
        self.unwatch()
        connections[self.database].close()

    def release_thread(self) -> None:
        # Django's connections are per thread: a scheduler thread that ends must close its own,
        # or it stays open until garbage collection (and blocks DROP DATABASE on PostgreSQL).
        if threading.current_thread() is not threading.main_thread():
            try:
                connections[self.database].close()
            except DatabaseError as exc:  # a connection already broken: nothing to free
                self._logger.debug("Closing this thread's connection failed: %s", exc)

    # -- claims and run records (see _claims)

    def claim_jobs(
        self,
        scheduler_id: str,
        now: datetime,
        *,
        executors: Collection[str] | None = None,
        limit: int = DEFAULT_CLAIM_LIMIT,
        max_catch_up: int = MAX_CATCH_UP,
    ) -> Claim:
        return self._note_claim(
            _claims.claim_jobs(self, scheduler_id, now, executors, limit, max_catch_up)
        )

    def _note_claim(self, claim: Claim) -> Claim:
        for run in claim.runs:
            self._claimed_runs.remember(run.job.id, run.run_times)
        return claim

    def _claimed(self, event: events.JobEvent, run_times: Sequence[datetime], what: int) -> bool:
        # Only events this store's scheduler dispatched name its alias (tests pass the store
        # object itself, and other stores' jobs may share an id).
        if event.jobstore != self._alias or not isinstance(event.jobstore, str):
            return False
        return self._claimed_runs.observe(event.job_id, run_times, what)

    def recover_runs(
        self, scheduler_id: str, now: datetime, *, lost: Collection[tuple[str, datetime]] = ()
    ) -> Claim:
        return self._note_claim(_claims.recover_runs(self, scheduler_id, now, lost))

    def finish_runs(self, outcomes: Sequence[RunOutcome]) -> None:
        _claims.finish_runs(self, outcomes)
        self._claimed_runs.finished((item.job_id, item.scheduled_run_time) for item in outcomes)

    def check_in(self, scheduler_id: str, now: datetime, lease_time: float) -> None:
        from ._store import check_in

        check_in(self, scheduler_id, now, lease_time)

    def release(self, scheduler_id: str) -> None:
        from ._store import release

        release(self, scheduler_id)

    def request_run(self, job_id: str, now: datetime) -> JobRun:
        return _claims.request_run(self, job_id, now)

    def get_runs(
        self,
        job_id: str | None = None,
        *,
        status: StatusFilter = None,
        since: datetime | None = None,
        limit: int | None = 100,
        scheduler_id: str | None = None,
    ) -> list[JobRun]:
        return _claims.get_runs(self, job_id, status, since, limit, scheduler_id)

    # -- wake-up

    def watch(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` when a job changes or a run is asked for: at once for changes made
        in this process; from other processes through ``LISTEN`` on PostgreSQL (psycopg 3),
        else within ``poll_interval``."""
        self.unwatch()
        _wakeup.register(id(self), callback)
        if _wakeup.can_listen(self.database):
            self._listener = _wakeup.listener(self.database, callback)
            self._listener.start()

    def unwatch(self) -> None:
        _wakeup.unregister(id(self))
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.stop()

    # -- quarantine

    @property
    def _quarantine_location(self) -> str:
        return f"table {DjangoJobQuarantine._meta.db_table}"

    def _quarantine_rows(self, failed: list[tuple[StoredRow, str]]) -> None:
        from ._store import quarantine_rows

        quarantine_rows(self, failed)

    def get_quarantined_jobs(self) -> list[QuarantinedJob]:
        from ._store import quarantined_jobs

        return quarantined_jobs(self)

    def restore_quarantined_job(self, job_id: str) -> None:
        """Move the newest quarantined state of ``job_id`` back to the jobs (once its cause, a
        missing module say, is fixed).

        :raises JobLookupError: if the quarantine holds no such job
        :raises ConflictingIdError: if a job with that id exists again
        """
        from ._store import restore_quarantined

        restore_quarantined(self, job_id)

    def __repr__(self) -> str:
        # Exactly django-apscheduler's form, whatever the other options are.
        return f"<{self.__class__.__name__}(pickle_protocol={self.pickle_protocol})>"


class DjangoMemoryJobStore(DjangoResultStoreMixin, MemoryJobStore):
    """Keeps jobs in memory and records their runs in ``DjangoJobExecution``."""


def register_events(scheduler: Any, result_storage: Any = None) -> None:
    """Deprecated: does nothing (the stores record their runs themselves)."""
    warnings.warn(
        "'register_events' is deprecated and does nothing: the Django job stores record every "
        "run themselves. Please remove all references to it from your code.",
        DeprecationWarning,
        stacklevel=2,
    )


def register_job(
    scheduler: Any, *args: Any, **kwargs: Any
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Deprecated: a decorator adding the function as a job (``id`` defaults to
    ``"<module>.<name>"``); use ``scheduler.scheduled_job`` or a ``jobs.py`` module."""

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        warnings.warn(
            "'register_job' is deprecated: use 'scheduler.scheduled_job' or the 'scheduled_job' "
            "decorator of quartzite.contrib.django.jobs instead.",
            DeprecationWarning,
            stacklevel=2,
        )
        kwargs.setdefault("id", f"{func.__module__}.{func.__name__}")
        scheduler.add_job(func, *args, **kwargs)
        return func

    return decorate
