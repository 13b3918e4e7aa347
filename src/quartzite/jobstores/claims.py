"""Stores that hand out occurrences atomically and keep their run records.

A :class:`ClaimingJobStore` lets any number of schedulers share it (DESIGN.md, "Several
schedulers, one store"). Instead of the APScheduler path (``get_due_jobs``, then ``update_job``
for each job, which two schedulers would both do), a scheduler calls :meth:`~ClaimingJobStore.
claim_jobs`: one atomic store operation that selects the due jobs nobody else holds, advances
each job's next run time past the run times it takes, and writes one run record per occurrence
taken (status ``running``, unique on job id + scheduled run time). The scheduler submits only
what the claim returned, and reports each outcome with :meth:`~ClaimingJobStore.finish_runs`.

The run record is the single mechanism behind run history, run-now (a ``pending`` record that
the next claim takes), recovery (``running`` records of a scheduler whose check-in expired) and
cluster-wide ``max_instances`` (the count of ``running`` records of a job).

What a claim decides for one job is the same in every store, so it lives here, in
:func:`plan_job`; the stores only differ in how they read and write atomically.
"""

from __future__ import annotations

import logging
from abc import abstractmethod
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Callable, Union

from .._schedule import MAX_CATCH_UP, due_runs
from ..runs import JobRun, RunStatus
from .base import BaseJobStore

if TYPE_CHECKING:
    from ..job import Job
    from ..serializers import BaseSerializer

__all__ = (
    "DEFAULT_CLAIM_LIMIT",
    "Claim",
    "ClaimedRun",
    "ClaimingJobStore",
    "HistoryOptions",
    "JobPlan",
    "RunOutcome",
    "StatusFilter",
    "check_claim_limit",
    "check_runs_limit",
    "claims_for_scheduler",
    "decode_return_value",
    "describe_trigger",
    "encode_return_value",
    "log_broken_trigger",
    "plan_job",
    "statuses",
)

_logger = logging.getLogger("quartzite.jobstores")

#: Jobs taken by one claim at most; the scheduler claims again at once while ``Claim.more``.
#: Big enough that 20,000 due jobs need a few dozen transactions, small enough that one
#: transaction holds its row locks for milliseconds.
DEFAULT_CLAIM_LIMIT = 500

#: Kinds of :class:`ClaimedRun`.
SCHEDULED, RUN_NOW, RECOVERED = "scheduled", "now", "recovered"

StatusFilter = Union[RunStatus, str, Collection[Union[RunStatus, str]], None]


@dataclass
class ClaimedRun:
    """Occurrences of one job taken by one claim, to be submitted as one executor run.

    The records of ``run_times`` are written (``running`` when the claim returns them in
    :attr:`Claim.runs`; finished as ``max_instances`` when in :attr:`Claim.refused`).
    """

    job: Job
    run_times: list[datetime]
    #: ``"scheduled"`` (due by the trigger), ``"now"`` (run-now) or ``"recovered"``
    kind: str = SCHEDULED
    #: the attempt number written on the records (above 1 for a recovered run)
    attempt: int = 1
    #: for a recovered run: the scheduler that had taken it and died
    previous_scheduler_id: str | None = None


@dataclass
class Claim:
    """What one :meth:`ClaimingJobStore.claim_jobs` (or ``recover_runs``) call did."""

    #: submit each of these to its job's executor
    runs: list[ClaimedRun] = field(default_factory=list)
    #: not run because the job had ``max_instances`` runs going on (recorded as such)
    refused: list[ClaimedRun] = field(default_factory=list)
    #: records of dead schedulers' runs finished as ``interrupted`` without a rerun (the job
    #: is at-most-once, or it no longer exists and its record kept no copy of it)
    interrupted: list[JobRun] = field(default_factory=list)
    #: ids of jobs whose trigger has no further fire time: the claim removed them
    removed: list[str] = field(default_factory=list)
    #: ids of jobs whose trigger failed: the claim paused them (and logged why)
    paused: list[str] = field(default_factory=list)
    #: job id -> missed run times the catch-up bound dropped (logged by the scheduler)
    skipped: dict[str, int] = field(default_factory=dict)
    #: due jobs left unclaimed because they name an executor the claiming scheduler lacks
    unknown_executor: list[Job] = field(default_factory=list)
    #: the claim stopped at its limit: more may be due, claim again at once
    more: bool = False


class RunOutcome:
    """How one occurrence ended, as the scheduler reports it to the record's store.

    A slotted class (one is built per run, on the executors' threads): the fields are
    ``job_id``, ``scheduled_run_time``, ``status``, ``finished_at``, ``scheduler_id`` (the
    scheduler that ran it: a record taken over by another scheduler meanwhile is left alone),
    and for errors ``exception_type``, ``exception_message`` and ``traceback``; for successes
    ``return_value``.
    """

    __slots__ = (
        "exception_message",
        "exception_type",
        "finished_at",
        "job_id",
        "return_value",
        "scheduled_run_time",
        "scheduler_id",
        "status",
        "traceback",
    )

    def __init__(
        self,
        job_id: str,
        scheduled_run_time: datetime,
        status: RunStatus,
        finished_at: datetime,
        scheduler_id: str,
        exception_type: str | None = None,
        exception_message: str | None = None,
        traceback: str | None = None,
        return_value: Any = None,
    ) -> None:
        self.job_id = job_id
        self.scheduled_run_time = scheduled_run_time
        self.status = status
        self.finished_at = finished_at
        self.scheduler_id = scheduler_id
        self.exception_type = exception_type
        self.exception_message = exception_message
        self.traceback = traceback
        self.return_value = return_value

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, RunOutcome):
            return NotImplemented
        return all(getattr(self, name) == getattr(other, name) for name in self.__slots__)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__slots__)
        return f"RunOutcome({fields})"


class JobPlan:
    """What a claim does with one due job (see :func:`plan_job`).

    A plain slotted class rather than a dataclass: one is built per due job on the claim's hot
    path, where a frozen dataclass's construction costs several times more.
    """

    __slots__ = ("broken", "next_run_time", "refused", "run_times", "skipped")

    def __init__(
        self,
        run_times: list[datetime],
        next_run_time: datetime | None,
        skipped: int = 0,
        refused: bool = False,
        broken: bool = False,
    ) -> None:
        #: the occurrences to take now (their records are written by the claim)
        self.run_times = run_times
        #: the job's next run time after the claim (``None``: remove the job, unless ``broken``)
        self.next_run_time = next_run_time
        #: missed run times dropped by the catch-up bound
        self.skipped = skipped
        #: the job has ``max_instances`` runs going on: record ``run_times`` as
        #: ``max_instances``
        self.refused = refused
        #: the trigger failed (logged): pause the job (next run time ``None``), take nothing
        self.broken = broken

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__slots__)
        return f"JobPlan({fields})"


def describe_trigger(trigger: object) -> str:
    """The trigger as text for a log line, even when a broken trigger cannot print itself
    (a handler that re-raises formatting errors would otherwise abort the round)."""
    try:
        return str(trigger)
    except Exception:
        return f"<unprintable {type(trigger).__name__}>"


def log_broken_trigger(logger: logging.Logger, job: Job) -> None:
    """Log, with the exception being handled, that ``job``'s trigger failed and it is paused."""
    logger.error(
        'Trigger %s of job "%s" failed to compute its run times -- pausing the job '
        "(resume it once the trigger is fixed)",
        describe_trigger(job.trigger),
        job.id,
        exc_info=True,
    )


def plan_job(
    job: Job,
    now: datetime,
    *,
    running: int,
    max_catch_up: int = MAX_CATCH_UP,
    logger: logging.Logger | None = None,
) -> JobPlan:
    """Decide what a claim takes of ``job`` at ``now``; the same rules in every store.

    On return, ``job.next_run_time`` holds the plan's next run time (unless the job is to be
    removed), so the store can write the job's state as it is.

    :param running: how many ``running`` records the job has in the store (all schedulers)
    :param max_catch_up: the most run times of one non-coalescing job taken at once; older
        missed ones are counted in ``skipped``
    :param logger: where a failing trigger is logged (the store's logger, by default this
        module's)
    """
    try:
        due = due_runs(job, now, limit=max_catch_up)
    except Exception:
        log_broken_trigger(logger or _logger, job)
        job._modify(next_run_time=None)
        return JobPlan([], None, broken=True)
    if due.next_run_time is not None:
        job._modify(next_run_time=due.next_run_time)
    run_times = due.run_times
    return JobPlan(
        run_times, due.next_run_time, due.skipped, bool(run_times) and running >= job.max_instances
    )


@dataclass(frozen=True)
class HistoryOptions:
    """The run-record options every claiming store takes (checked when the store is built).

    :param history: keep finished records (``False``: records live only while they are pending
        or running, which recovery and ``max_instances`` still need)
    :param max_runs_per_job: finished records kept per job, the newest
    :param max_run_age: finished records older than this are removed (seconds or a
        ``timedelta``)
    :param max_return_value_size: serialized return values larger than this many bytes are not
        kept (0: never keep return values)
    """

    history: bool = True
    max_runs_per_job: int = 100
    max_run_age: float = 30 * 86400.0
    max_return_value_size: int = 64 * 1024

    @classmethod
    def checked(
        cls,
        owner: str,
        history: Any = True,
        max_runs_per_job: Any = 100,
        max_run_age: Any = 30 * 86400.0,
        max_return_value_size: Any = 64 * 1024,
    ) -> HistoryOptions:
        if not isinstance(history, bool):
            raise TypeError(f"{owner}: history must be True or False, got {history!r}")
        if isinstance(max_runs_per_job, bool) or not isinstance(max_runs_per_job, int):
            raise TypeError(
                f"{owner}: max_runs_per_job must be an int >= 1, got {max_runs_per_job!r}"
            )
        if max_runs_per_job < 1:
            raise ValueError(
                f"{owner}: max_runs_per_job must be an int >= 1, got {max_runs_per_job!r}"
            )
        if isinstance(max_run_age, timedelta):
            max_run_age = max_run_age.total_seconds()
        if isinstance(max_run_age, bool) or not isinstance(max_run_age, (int, float)):
            raise TypeError(
                f"{owner}: max_run_age must be a number of seconds > 0 or a timedelta, "
                f"got {max_run_age!r}"
            )
        if not 0 < max_run_age < float("inf"):
            raise ValueError(
                f"{owner}: max_run_age must be a finite number of seconds > 0, got {max_run_age!r}"
            )
        if isinstance(max_return_value_size, bool) or not isinstance(max_return_value_size, int):
            raise TypeError(
                f"{owner}: max_return_value_size must be an int >= 0, got {max_return_value_size!r}"
            )
        if max_return_value_size < 0:
            raise ValueError(
                f"{owner}: max_return_value_size must be an int >= 0, got {max_return_value_size!r}"
            )
        return cls(history, max_runs_per_job, float(max_run_age), max_return_value_size)


def check_claim_limit(limit: object) -> int:
    """``limit`` of a claim, checked: an int >= 1.

    :raises ValueError: naming the bad value
    """
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise ValueError(f"limit must be an int >= 1, got {limit!r}")
    return limit


def check_runs_limit(limit: object) -> int | None:
    """``limit`` of a ``get_runs`` call, checked: ``None`` or an int >= 0.

    :raises ValueError: naming the bad value
    """
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 0):
        raise ValueError(f"limit must be None or an int >= 0, got {limit!r}")
    return limit


def claims_for_scheduler(store: object) -> bool:
    """Whether a scheduler should claim from ``store`` and record its runs (see
    :meth:`ClaimingJobStore.claims_for_scheduler`); ``False`` for any other store."""
    return isinstance(store, ClaimingJobStore) and type(store).claims_for_scheduler()


def encode_return_value(
    serializer: BaseSerializer, value: Any, max_size: int, job_id: str
) -> bytes | None:
    """``value`` serialized for a run record, or ``None`` when it cannot or may not be kept.

    ``None`` return values are not stored at all. A value the serializer refuses (not a JSON
    value for the JSON serializer, not picklable for pickle) or larger than ``max_size`` is
    dropped with a debug log saying why; the run is recorded without it.
    """
    if value is None or max_size <= 0:
        return None
    try:
        data = serializer.serialize({"return_value": value})
    except Exception as exc:
        _logger.debug(
            "The return value of job %s is not kept in its run record: the serializer refused "
            "it (%s: %s)",
            job_id,
            type(exc).__name__,
            exc,
        )
        return None
    if len(data) > max_size:
        _logger.debug(
            "The return value of job %s is not kept in its run record: %d bytes serialized, "
            "over max_return_value_size=%d",
            job_id,
            len(data),
            max_size,
        )
        return None
    return data


def decode_return_value(serializer: BaseSerializer, data: bytes | None) -> Any:
    """The value :func:`encode_return_value` stored (``None`` if absent or unreadable)."""
    if data is None:
        return None
    try:
        return serializer.deserialize(bytes(data)).get("return_value")
    except Exception:
        _logger.debug("A stored return value could not be read back", exc_info=True)
        return None


def statuses(status: StatusFilter) -> list[str] | None:
    """A status filter as a list of status values (``None``: no filter).

    :raises ValueError: for a value that is not a status
    """
    if status is None:
        return None
    items = [status] if isinstance(status, (str, RunStatus)) else list(status)
    values = []
    for item in items:
        try:
            values.append(RunStatus(item).value)
        except ValueError:
            known = ", ".join(repr(member.value) for member in RunStatus)
            raise ValueError(f"unknown run status {item!r}; expected one of {known}") from None
    return values


class ClaimingJobStore(BaseJobStore):
    """A job store that several schedulers may share: atomic claims and run records.

    Subclasses implement the abstract methods below atomically on their backend. They keep the
    :class:`BaseJobStore` methods too, so the API contract's path (``get_due_jobs`` /
    ``update_job``) still works on them.
    """

    #: Seconds a scheduler may sleep without looking at this store again, for stores that
    #: cannot tell it about changes made by other processes (``None``: :meth:`watch` does).
    poll_interval: float | None = None
    history_options: HistoryOptions = HistoryOptions()
    #: Whether other processes may use this store too. A store only one process sees (the
    #: memory store) needs no recovery of lost records and no batching of outcomes: the
    #: scheduler writes each outcome at once, on the thread that reports it.
    shared: bool = True

    @abstractmethod
    def claim_jobs(
        self,
        scheduler_id: str,
        now: datetime,
        *,
        executors: Collection[str] | None = None,
        limit: int = DEFAULT_CLAIM_LIMIT,
        max_catch_up: int = MAX_CATCH_UP,
    ) -> Claim:
        """Take what is due at ``now`` for ``scheduler_id``, in one atomic operation.

        Takes the pending run-now records (marking them ``running``) and the due jobs that no
        other claim holds at this moment: for each, :func:`plan_job` decides; the job's new
        state and next run time are written (or the job is removed, or paused), and one record
        per run time taken is written (``running``, or ``max_instances`` if refused). A run
        time whose record exists already was taken before and is dropped, so no occurrence is
        ever taken twice.

        :param executors: the executor aliases of the claiming scheduler; a due job naming
            another is left alone and returned in :attr:`Claim.unknown_executor`
        :param limit: at most this many jobs; :attr:`Claim.more` says the limit was hit
        """

    @abstractmethod
    def recover_runs(
        self,
        scheduler_id: str,
        now: datetime,
        *,
        lost: Collection[tuple[str, datetime]] = (),
    ) -> Claim:
        """Take over the ``running`` records of dead schedulers (check-in expired or never
        made), and the records of ``scheduler_id`` listed in ``lost``.

        A record whose job is at-most-once, or whose job no longer exists, is finished as
        ``interrupted`` (:attr:`Claim.interrupted`); any other is handed to ``scheduler_id``
        with ``attempt`` + 1 and ``recovered`` set, and returned in :attr:`Claim.runs` (kind
        ``"recovered"``). A claim that removes a job (its trigger has no further fire time)
        keeps a copy of the job in the records it writes, so that a one-off job's interrupted
        run is rerun from that copy. Pending records are not touched (the next claim takes
        them).
        """

    @abstractmethod
    def finish_runs(self, outcomes: Sequence[RunOutcome]) -> None:
        """Write the outcomes, in one transaction; each only onto a ``running`` record still
        held by the outcome's scheduler. Applies retention to the jobs concerned (bounded work:
        never a scan of the whole history)."""

    @abstractmethod
    def check_in(self, scheduler_id: str, now: datetime, lease_time: float) -> None:
        """Record that ``scheduler_id`` is alive until ``now + lease_time`` seconds."""

    @abstractmethod
    def release(self, scheduler_id: str) -> None:
        """Forget the check-in of ``scheduler_id`` (a clean shutdown): what it still holds is
        recoverable by the others at once."""

    @abstractmethod
    def request_run(self, job_id: str, now: datetime) -> JobRun:
        """Write a ``pending`` record for one extra occurrence of the job at ``now`` (run-now);
        the next claim by any scheduler takes it. The job's schedule does not move.

        :raises JobLookupError: if the store has no such job
        """

    @abstractmethod
    def get_runs(
        self,
        job_id: str | None = None,
        *,
        status: StatusFilter = None,
        since: datetime | None = None,
        limit: int | None = 100,
        scheduler_id: str | None = None,
    ) -> list[JobRun]:
        """Run records, newest scheduled run time first.

        :param job_id: only this job's
        :param status: only records with this status (or one of these)
        :param since: only records scheduled at or after this instant
        :param limit: at most this many (``None``: all)
        :param scheduler_id: only records taken by this scheduler
        """

    def get_run(self, job_id: str, scheduled_run_time: datetime) -> JobRun | None:
        """The record of one occurrence, or ``None``."""
        for run in self.get_runs(job_id, since=scheduled_run_time, limit=None):
            if run.scheduled_run_time == scheduled_run_time:
                return run
        return None

    @classmethod
    def claims_for_scheduler(cls) -> bool:
        """Whether schedulers should claim from this store (else they take the APScheduler
        path). ``False`` for a subclass that overrides ``get_due_jobs`` or ``update_job``
        below the class that implements the claim: such an extension (written for APScheduler
        3.x, say, to filter due jobs) expects those methods to be called."""
        cached = cls.__dict__.get("_claims_for_scheduler")
        if cached is None:
            claim_owner = next(klass for klass in cls.__mro__ if "claim_jobs" in klass.__dict__)
            below = cls.__mro__[: cls.__mro__.index(claim_owner)]
            cached = not any(
                name in klass.__dict__ for klass in below for name in ("get_due_jobs", "update_job")
            )
            type.__setattr__(cls, "_claims_for_scheduler", cached)
        return bool(cached)

    def watch(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` (from any thread) whenever another process changes a job or asks
        for a run; stores without notifications do nothing here and set ``poll_interval``."""

    def unwatch(self) -> None:
        """Stop what :meth:`watch` started."""
