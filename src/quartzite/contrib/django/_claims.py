"""The claiming half of :class:`~quartzite.contrib.django.jobstores.DjangoJobStore` (the ORM).

The rules are the core's (:func:`~quartzite.jobstores.claims.plan_job` decides what a claim
takes of each job); this module only reads and writes them atomically with Django: each
function is one transaction on the store's database alias. On PostgreSQL and MariaDB the rows a
claim takes are locked with ``SELECT ... FOR UPDATE SKIP LOCKED``, so concurrent claims split the
due jobs between them; on SQLite the transaction takes the database's write lock first, so claims
follow one another. The run records are ``DjangoJobExecution`` rows, unique on (job, run time):
an occurrence whose row exists was taken already and is never taken twice.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Collection, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.db import connections
from django.db.models import Count, F, Q, Window
from django.db.models.functions import RowNumber
from django.db.utils import IntegrityError

from ...jobstores._persistent import StoredRow
from ...jobstores.base import JobLookupError
from ...jobstores.claims import (
    RECOVERED,
    RUN_NOW,
    Claim,
    ClaimedRun,
    RunOutcome,
    StatusFilter,
    check_claim_limit,
    check_runs_limit,
    encode_return_value,
    plan_job,
    statuses,
)
from ...runs import JobRun, RunStatus
from ._records import (
    FINISHED,
    OUTCOME_TARGETS,
    STATUS_OF,
    as_utc,
    chunks,
    duration,
    instant,
    run_from_row,
    stamp,
    to_db,
)
from .models import DjangoJob, DjangoJobExecution, DjangoSchedulerCheckin

if TYPE_CHECKING:
    from ...job import Job
    from .jobstores import DjangoJobStore

__all__ = ("claim_jobs", "finish_runs", "get_runs", "recover_runs", "request_run")

E = DjangoJobExecution
_REMOVED_BEFORE_RUN = "the job was removed before it ran"
_RETAIN_EVERY = 10
_AGE_PASS_INTERVAL = 60.0


def _executions(store: DjangoJobStore) -> Any:
    return E.objects.db_manager(store.database)


def _jobs(store: DjangoJobStore) -> Any:
    return DjangoJob.objects.db_manager(store.database)


def _load_jobs(store: DjangoJobStore, job_ids: Collection[str]) -> dict[str, Job]:
    rows: list[StoredRow] = []
    for chunk in chunks(sorted(job_ids)):
        found = _jobs(store).filter(id__in=chunk).values_list("id", "job_state", "next_run_time")
        rows.extend(store._stored_row(*row) for row in found if row[1])
    return {job.id: job for job in store._restore_jobs(rows)}


def _running_counts(store: DjangoJobStore, job_ids: Collection[str]) -> defaultdict[str, int]:
    """How many runs of each job schedulers hold (``max_instances`` across the cluster)."""
    counts: defaultdict[str, int] = defaultdict(int)
    for chunk in chunks(sorted(job_ids)):
        found = (
            _executions(store)
            .filter(status=E.SENT, job_id__in=chunk, scheduler_id__isnull=False)
            .order_by()
            .values("job_id")
            .annotate(count=Count("id"))
        )
        counts.update({item["job_id"]: item["count"] for item in found})
    return counts


def _existing(
    store: DjangoJobStore, keys: Sequence[tuple[str, datetime]]
) -> set[tuple[str, float]]:
    if not keys:
        return set()
    low = min(to_db(key[1]) for key in keys)
    high = max(to_db(key[1]) for key in keys)
    found: set[tuple[str, float]] = set()
    for chunk in chunks(sorted({key[0] for key in keys})):
        rows = _executions(store).filter(job_id__in=chunk, run_time__gte=low, run_time__lte=high)
        found.update(
            (job_id, instant(moment)) for job_id, moment in rows.values_list("job_id", "run_time")
        )
    return found


def _update_rows(store: DjangoJobStore, model: Any, rows: Sequence[Any], fields: list[str]) -> None:
    """Write ``fields`` of each of ``rows`` by primary key: one ``UPDATE`` statement run with
    ``executemany`` (pipelined by psycopg 3). ``bulk_update`` would build a ``CASE`` expression
    per field and row, which costs milliseconds of CPU per row in a batch of hundreds."""
    if not rows:
        return
    connection = connections[store.database]
    meta = model._meta
    targets = [meta.get_field(name) for name in fields]
    quote = connection.ops.quote_name
    assignments = ", ".join(f"{quote(field.column)} = %s" for field in targets)
    sql = f"UPDATE {quote(meta.db_table)} SET {assignments} WHERE {quote(meta.pk.column)} = %s"
    params = [
        [field.get_db_prep_save(getattr(row, field.attname), connection) for field in targets]
        + [meta.pk.get_db_prep_save(row.pk, connection)]
        for row in rows
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)


def _record(job_id: str, moment: datetime, status: str, scheduler_id: str, now: datetime) -> E:
    finished = status != E.SENT
    return E(
        job_id=job_id,
        run_time=to_db(moment),
        status=status,
        scheduler_id=scheduler_id,
        started=to_db(now),
        finished=stamp(now) if finished else None,
        duration=duration(now, now) if finished else None,
    )


def claim_jobs(
    store: DjangoJobStore,
    scheduler_id: str,
    now: datetime,
    executors: Collection[str] | None,
    limit: int,
    max_catch_up: int,
) -> Claim:
    """See :meth:`ClaimingJobStore.claim_jobs`."""
    check_claim_limit(limit)
    # After an empty claim, a plain read first: an idle round opens no write transaction. On
    # SQLite that transaction takes the database's write lock, and in a shared-cache in-memory
    # database (Django's test database) a concurrent write of another thread then fails at
    # once: "table is locked". After a claim that took something (a busy store), straight on.
    if not store._last_claim_took and not (
        _executions(store).filter(status=E.PENDING).exists()
        or _jobs(store).filter(next_run_time__lte=to_db(now)).exists()
    ):
        return Claim()
    claim = store._transaction(
        lambda: _claim(store, scheduler_id, now, executors, limit, max_catch_up), "claim_jobs"
    )
    store._last_claim_took = bool(claim.runs or claim.refused or claim.more)
    return claim


def _claim(
    store: DjangoJobStore,
    scheduler_id: str,
    now: datetime,
    executors: Collection[str] | None,
    limit: int,
    max_catch_up: int,
) -> Claim:
    claim = Claim()
    keep_finished = store.history_options.history
    pending_rows = store._locking(_executions(store).filter(status=E.PENDING))
    pending = list(
        pending_rows.order_by("run_time", "job_id").values_list("id", "job_id", "run_time")[:limit]
    )
    due_rows = store._locking(_jobs(store).filter(next_run_time__lte=to_db(now)))
    due = [
        store._stored_row(*row)
        for row in due_rows.order_by("next_run_time", "id").values_list(
            "id", "job_state", "next_run_time"
        )[:limit]
    ]
    claim.more = len(due) >= limit or len(pending) >= limit
    due_jobs = store._restore_jobs([row for row in due if row.job_state])
    jobs = {job.id: job for job in due_jobs}
    jobs.update(_load_jobs(store, {job_id for _pk, job_id, _rt in pending} - set(jobs)))
    running = _running_counts(store, set(jobs))
    unknown: dict[str, Job] = {}

    def executor_known(job: Job) -> bool:
        if executors is None or job.executor in executors:
            return True
        unknown.setdefault(job.id, job)
        return False

    # Run-now records first: they were asked for explicitly.
    changed: list[E] = []
    for pk, job_id, run_time in pending:
        job = jobs.get(job_id)
        if job is not None and not executor_known(job):
            continue  # stays pending for a scheduler that has the executor
        row = E(id=pk, job_id=job_id, run_time=run_time, scheduler_id=scheduler_id, manual=True)
        moment = as_utc(run_time)
        assert moment is not None
        if job is None:
            row.status, row.exception = E.INTERRUPTED, _REMOVED_BEFORE_RUN
            claim.interrupted.append(
                JobRun(
                    job_id,
                    moment,
                    RunStatus.INTERRUPTED,
                    scheduler_id,
                    store._alias,
                    manual=True,
                    finished_at=now,
                    exception_message=_REMOVED_BEFORE_RUN,
                )
            )
        elif running[job_id] >= job.max_instances:
            row.status = E.MAX_INSTANCES
            claim.refused.append(ClaimedRun(job, [moment], kind=RUN_NOW))
        else:
            row.status = E.SENT
            running[job_id] += 1
            claim.runs.append(ClaimedRun(job, [moment], kind=RUN_NOW))
        row.started = to_db(now)
        row.finished = None if row.status == E.SENT else stamp(now)
        changed.append(row)

    updates: list[DjangoJob] = []
    removals: list[str] = []
    planned: list[tuple[Job, list[datetime], bool]] = []
    for job in due_jobs:
        if not executor_known(job):
            continue
        plan = plan_job(
            job, now, running=running[job.id], max_catch_up=max_catch_up, logger=store._logger
        )
        if plan.skipped:
            claim.skipped[job.id] = plan.skipped
        if plan.broken:
            claim.paused.append(job.id)
        elif plan.next_run_time is None:
            claim.removed.append(job.id)
            removals.append(job.id)
        if job.id not in removals:
            next_run_time = None if plan.next_run_time is None else to_db(plan.next_run_time)
            updates.append(
                DjangoJob(
                    id=job.id, next_run_time=next_run_time, job_state=store._serialize_job(job)
                )
            )
        if plan.run_times:
            planned.append((job, plan.run_times, plan.refused))

    # An occurrence whose record exists was taken before: never take it twice.
    existing = _existing(store, [(job.id, moment) for job, times, _ in planned for moment in times])
    records: list[E] = []
    for job, times, refused in planned:
        kept = [moment for moment in times if (job.id, instant(moment)) not in existing]
        if not kept:
            continue
        status = E.MAX_INSTANCES if refused else E.SENT
        if keep_finished or not refused:
            records.extend(_record(job.id, moment, status, scheduler_id, now) for moment in kept)
        (claim.refused if refused else claim.runs).append(ClaimedRun(job, kept))

    if updates:
        _update_rows(store, DjangoJob, updates, ["next_run_time", "job_state"])
    for chunk in chunks(removals):
        _jobs(store).filter(id__in=chunk).delete()
    if records:
        _executions(store).bulk_create(records, batch_size=500)
    if not keep_finished:
        done = [row.id for row in changed if row.status != E.SENT]
        changed = [row for row in changed if row.status == E.SENT]
        _executions(store).filter(id__in=done).delete()
    if changed:
        fields = ["status", "scheduler_id", "started", "finished", "exception"]
        _executions(store).bulk_update(changed, fields, batch_size=500)
    claim.unknown_executor = list(unknown.values())
    return claim


def recover_runs(
    store: DjangoJobStore, scheduler_id: str, now: datetime, lost: Collection[tuple[str, datetime]]
) -> Claim:
    """See :meth:`ClaimingJobStore.recover_runs`."""
    lost_keys = {(job_id, instant(moment)) for job_id, moment in lost}
    # As in claim_jobs: no write transaction when no run is held by any scheduler.
    if not _executions(store).filter(status=E.SENT, scheduler_id__isnull=False).exists():
        return Claim()
    return store._transaction(lambda: _recover(store, scheduler_id, now, lost_keys), "recover_runs")


def _recover(
    store: DjangoJobStore, scheduler_id: str, now: datetime, lost: set[tuple[str, float]]
) -> Claim:
    checkins = DjangoSchedulerCheckin.objects.db_manager(store.database)
    alive = set(checkins.filter(expires_at__gte=to_db(now)).values_list("scheduler_id", flat=True))
    alive.add(scheduler_id)  # never take over our own runs as if we had died
    # Rows without a scheduler were written by the event listeners of a store that does not
    # claim (django-apscheduler's way): nobody holds them, nobody recovers them.
    held = _executions(store).filter(status=E.SENT, scheduler_id__isnull=False)
    candidates = list(store._locking(held).order_by("job_id", "run_time"))
    rows = [
        row
        for row in candidates
        if row.scheduler_id not in alive
        or (row.scheduler_id == scheduler_id and (row.job_id, instant(row.run_time)) in lost)
    ]
    claim = Claim()
    if not rows:
        return claim
    jobs = _load_jobs(store, {row.job_id for row in rows})
    grouped: dict[str, ClaimedRun] = {}
    interrupted: list[E] = []
    for row in rows:
        job = jobs.get(row.job_id)
        if job is None or job.at_most_once:
            row.status, row.finished = E.INTERRUPTED, stamp(now)
            interrupted.append(row)
            claim.interrupted.append(run_from_row(row, store.serializer, store._alias))
            continue
        previous = row.scheduler_id
        row.attempt = (row.attempt or 1) + 1
        row.recovered, row.scheduler_id, row.started = True, scheduler_id, to_db(now)
        claimed = grouped.get(row.job_id)
        if claimed is None:
            claimed = grouped[row.job_id] = ClaimedRun(
                job, [], kind=RECOVERED, previous_scheduler_id=previous
            )
            claim.runs.append(claimed)
        moment = as_utc(row.run_time)
        assert moment is not None
        claimed.run_times.append(moment)
        claimed.attempt = max(claimed.attempt, row.attempt)
    taken = [row for row in rows if row.status == E.SENT]
    if interrupted and not store.history_options.history:
        _executions(store).filter(id__in=[row.id for row in interrupted]).delete()
    elif interrupted:
        _executions(store).bulk_update(interrupted, ["status", "finished"])
    if taken:
        _executions(store).bulk_update(taken, ["attempt", "recovered", "scheduler_id", "started"])
    return claim


def finish_runs(store: DjangoJobStore, outcomes: Sequence[RunOutcome]) -> None:
    """See :meth:`ClaimingJobStore.finish_runs`.

    An outcome is written onto the record its scheduler holds, whether still running or
    already finished by the store's event listeners (they record the same outcome, with the
    texts django-apscheduler wrote; this adds what only the scheduler knows).
    """
    if not outcomes:
        return
    options = store.history_options
    by_key = {(item.job_id, instant(item.scheduled_run_time)): item for item in outcomes}
    retain = store._retention_due([item.job_id for item in outcomes]) if options.history else []
    latest = max(item.finished_at for item in outcomes)
    age_cutoff = None
    if options.history and store._age_pass_due(latest.timestamp(), _AGE_PASS_INTERVAL):
        age_cutoff = stamp(latest - timedelta(seconds=options.max_run_age))

    def write() -> None:
        keys = [(item.job_id, item.scheduled_run_time) for item in outcomes]
        low = min(to_db(key[1]) for key in keys)
        high = max(to_db(key[1]) for key in keys)
        rows: list[E] = []
        for chunk in chunks(sorted({key[0] for key in keys})):
            found = _executions(store).filter(
                job_id__in=chunk, run_time__gte=low, run_time__lte=high, status__in=OUTCOME_TARGETS
            )
            rows.extend(found)
        changed: list[E] = []
        for row in rows:
            item = by_key.get((row.job_id, instant(row.run_time)))
            if item is None or row.scheduler_id != item.scheduler_id:
                continue
            row.status = STATUS_OF[RunStatus(item.status)]
            row.finished = stamp(item.finished_at)
            row.duration = duration(row.started or row.run_time, item.finished_at)
            row.exception_type = item.exception_type
            if item.exception_message is not None:
                row.exception = item.exception_message[:1000]
            if item.traceback is not None:
                row.traceback = item.traceback
            row.return_value = encode_return_value(
                store.serializer, item.return_value, options.max_return_value_size, item.job_id
            )
            changed.append(row)
        if not options.history:
            _executions(store).filter(id__in=[row.id for row in changed]).delete()
            return
        fields = [
            "status",
            "finished",
            "duration",
            "exception_type",
            "exception",
            "traceback",
            "return_value",
        ]
        _update_rows(store, E, changed, fields)
        _retain_newest(store, retain, options.max_runs_per_job)
        if age_cutoff is not None:
            _executions(store).filter(finished__lt=age_cutoff, status__in=FINISHED).delete()

    store._transaction(write, "finish_runs")


def _retain_newest(store: DjangoJobStore, job_ids: Sequence[str], keep: int) -> None:
    """Delete the finished records of these jobs beyond the ``keep`` newest of each: one window
    query finds every job's cutoff, one statement deletes (per chunk of jobs)."""
    for chunk in chunks(job_ids):
        finished = _executions(store).filter(job_id__in=chunk, status__in=FINISHED)
        ranked = finished.annotate(
            rank=Window(RowNumber(), partition_by=[F("job_id")], order_by=F("run_time").desc())
        )
        cutoffs = list(ranked.filter(rank=keep + 1).values_list("job_id", "run_time"))
        if not cutoffs:
            continue
        older = Q()
        for job_id, run_time in cutoffs:
            older |= Q(job_id=job_id, run_time__lte=run_time)
        _executions(store).filter(older, status__in=FINISHED).delete()


def request_run(store: DjangoJobStore, job_id: str, now: datetime) -> JobRun:
    """See :meth:`ClaimingJobStore.request_run`."""

    def write() -> datetime:
        if not _jobs(store).filter(id=job_id).exists():
            raise JobLookupError(job_id)
        start = to_db(now)
        taken = {
            instant(moment)
            for moment in _executions(store)
            .filter(job_id=job_id, run_time__gte=start, run_time__lt=start + timedelta(seconds=1))
            .values_list("run_time", flat=True)
        }
        moment = now
        while instant(moment) in taken:  # the next free microsecond keeps both requests
            moment += timedelta(microseconds=1)
        _executions(store).create(
            job_id=job_id, run_time=to_db(moment), status=E.PENDING, manual=True
        )
        store._notify()
        return moment

    for attempt in range(5):
        try:
            moment = store._transaction(write, "request_run")
            break
        except IntegrityError:  # written concurrently at the same microsecond: look again
            if attempt == 4:
                raise
    return JobRun(job_id, moment, RunStatus.PENDING, jobstore=store._alias, manual=True)


def get_runs(
    store: DjangoJobStore,
    job_id: str | None,
    status: StatusFilter,
    since: datetime | None,
    limit: int | None,
    scheduler_id: str | None,
) -> list[JobRun]:
    """See :meth:`ClaimingJobStore.get_runs`."""
    check_runs_limit(limit)
    rows = _executions(store).all()
    if job_id is not None:
        rows = rows.filter(job_id=job_id)
    wanted = statuses(status)
    if wanted is not None:
        rows = rows.filter(status__in=[STATUS_OF[RunStatus(value)] for value in wanted])
    if since is not None:
        rows = rows.filter(run_time__gte=to_db(since))
    if scheduler_id is not None:
        rows = rows.filter(scheduler_id=scheduler_id)
    rows = rows.order_by("-run_time", "job_id")
    if limit is not None:
        rows = rows[:limit]
    return [run_from_row(row, store.serializer, store._alias) for row in rows]


class RetentionCounter:
    """Decides when a store trims a job's records (first finish seen, then every tenth) and
    when it runs the age pass, so retention costs bounded work per write."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[str, int] = {}
        self._last_age_pass = float("-inf")

    def due(self, job_ids: Sequence[str]) -> list[str]:
        result = []
        with self._lock:
            for job_id in dict.fromkeys(job_ids):
                before = self._counts.get(job_id, 0)
                after = before + job_ids.count(job_id)
                if before == 0 or before // _RETAIN_EVERY != after // _RETAIN_EVERY:
                    result.append(job_id)
                self._counts[job_id] = after
            if len(self._counts) > 100_000:
                self._counts.clear()
        return result

    def age_pass_due(self, now: float, interval: float) -> bool:
        with self._lock:
            if abs(now - self._last_age_pass) < interval:
                return False
            self._last_age_pass = now
            return True
