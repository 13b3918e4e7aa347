"""The run records of :class:`~quartzite.jobstores.sqlalchemy.SQLAlchemyJobStore`: claims,
outcomes, retention, run-now and reading the history (recovery: ``_sql_recovery``).

Each public function here is one method of the store, run as one transaction through the
store's ``_run`` (which retries on a dropped connection, a deadlock or SQLite's lock timeout;
every one of them writes nothing unless its transaction commits, so a retry is safe). Writes
are batched: a claim of 500 jobs is a handful of statements whatever the number of jobs, and so
is a batch of outcomes (see ``_sql_bulk`` for how each backend runs them).
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Collection, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, delete, func, insert, select
from sqlalchemy.exc import IntegrityError

from ..runs import FINISHED_STATUSES, JobRun, RunStatus
from ..util import datetime_to_utc_timestamp, utc_timestamp_to_datetime
from ._persistent import StoredRow
from ._sql_bulk import delete_by_key, insert_rows, matching, unnested, update_by_key
from .base import JobLookupError
from .claims import (
    RUN_NOW,
    Claim,
    ClaimedRun,
    RunOutcome,
    StatusFilter,
    check_claim_limit,
    check_runs_limit,
    decode_return_value,
    encode_return_value,
    plan_job,
    statuses,
)

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection
    from sqlalchemy.sql import Select

    from ..job import Job
    from .sqlalchemy import SQLAlchemyJobStore

__all__ = (
    "claim_jobs",
    "finish_runs",
    "get_runs",
    "request_run",
)

# Longest exception message and traceback written (characters).
_MAX_TEXT = 64 * 1024
# Retention by count runs for a job on its first finish seen by this store object, then on
# every this-many-th.
_RETAIN_EVERY = 10
# Seconds between two retention-by-age passes of one store object.
_AGE_PASS_INTERVAL = 60.0

_RUNNING = RunStatus.RUNNING.value
_PENDING = RunStatus.PENDING.value
_FINISHED = sorted(status.value for status in FINISHED_STATUSES)
_REMOVED_BEFORE_RUN = "the job was removed before it ran"


def _ts(value: datetime) -> float:
    timestamp = datetime_to_utc_timestamp(value)
    assert timestamp is not None
    return timestamp


def _dt(value: float) -> datetime:
    moment = utc_timestamp_to_datetime(value)
    assert moment is not None
    return moment


def _clip(value: str | None, size: int) -> str | None:
    return value[:size] if value is not None else None


def run_from_row(store: SQLAlchemyJobStore, row: Any) -> JobRun:
    """A :class:`JobRun` from a full row of the runs table."""
    try:
        status = RunStatus(row.status)
    except ValueError:  # written by something else: show it as what it most likely was
        status = RunStatus.INTERRUPTED
    return JobRun(
        job_id=row.job_id,
        scheduled_run_time=_dt(row.scheduled_run_time),
        status=status,
        scheduler_id=row.scheduler_id,
        jobstore=store._alias,
        attempt=row.attempt,
        started_at=utc_timestamp_to_datetime(row.started_at),
        finished_at=utc_timestamp_to_datetime(row.finished_at),
        exception_type=row.exception_type,
        exception_message=row.exception_message,
        traceback=row.traceback,
        return_value=decode_return_value(store.serializer, row.return_value),
        recovered=bool(row.recovered),
        manual=bool(row.manual),
    )


def _load_jobs(
    store: SQLAlchemyJobStore, conn: Connection, job_ids: Collection[str]
) -> dict[str, Job]:
    """The jobs of ``job_ids`` that exist and can be restored (bad rows are quarantined)."""
    columns = store.jobs_t.c
    rows: list[StoredRow] = []
    for criterion in matching(conn, columns.id, sorted(job_ids)):
        statement = select(columns.id, columns.job_state, columns.next_run_time).where(criterion)
        rows.extend(StoredRow(row[0], bytes(row[1]), row[2]) for row in conn.execute(statement))
    return {job.id: job for job in store._restore_in(conn, rows)}


def _running_counts(
    store: SQLAlchemyJobStore, conn: Connection, job_ids: Collection[str]
) -> defaultdict[str, int]:
    """How many ``running`` records each job has (all schedulers): for ``max_instances``."""
    columns = store.runs_t.c
    counts: defaultdict[str, int] = defaultdict(int)
    for criterion in matching(conn, columns.job_id, sorted(job_ids)):
        statement = (
            select(columns.job_id, func.count())
            .where(columns.status == _RUNNING, criterion)
            .group_by(columns.job_id)
        )
        counts.update({row[0]: row[1] for row in conn.execute(statement)})
    return counts


def _existing_keys(
    store: SQLAlchemyJobStore, conn: Connection, keys: Sequence[tuple[str, float]]
) -> set[tuple[str, float]]:
    """Which of the (job id, scheduled run time) keys have a record already."""
    if not keys:
        return set()
    columns = store.runs_t.c
    if conn.dialect.name == "postgresql":  # exactly these keys: primary key lookups
        source = unnested(
            conn,
            store.runs_t,
            ("job_id", "scheduled_run_time"),
            [{"job_id": job_id, "scheduled_run_time": srt} for job_id, srt in keys],
        )
        statement = select(columns.job_id, columns.scheduled_run_time).where(
            columns.job_id == source.c.job_id,
            columns.scheduled_run_time == source.c.scheduled_run_time,
        )
        return {(row[0], row[1]) for row in conn.execute(statement)}
    low = min(key[1] for key in keys)
    high = max(key[1] for key in keys)
    found: set[tuple[str, float]] = set()
    for criterion in matching(conn, columns.job_id, sorted({key[0] for key in keys})):
        statement = select(columns.job_id, columns.scheduled_run_time).where(
            criterion,
            columns.scheduled_run_time >= low,
            columns.scheduled_run_time <= high,
        )
        found.update((row[0], row[1]) for row in conn.execute(statement))
    return found


# The primary key of the runs table, for update_by_key and delete_by_key.
_KEY = ("job_id", "scheduled_run_time")


def _keys(parameters: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{name: item[name] for name in _KEY} for item in parameters]


def _new_record(job_id: str, srt: float, status: str, scheduler_id: str, now: float) -> dict:
    return {
        "job_id": job_id,
        "scheduled_run_time": srt,
        "status": status,
        "scheduler_id": scheduler_id,
        "attempt": 1,
        "recovered": False,
        "manual": False,
        "created_at": time.time(),
        "started_at": now,
        "finished_at": now if status != _RUNNING else None,
        "job_state": None,
    }


# -- claim


def claim_jobs(
    store: SQLAlchemyJobStore,
    scheduler_id: str,
    now: datetime,
    executors: Collection[str] | None,
    limit: int,
    max_catch_up: int,
) -> Claim:
    """See :meth:`ClaimingJobStore.claim_jobs`."""
    check_claim_limit(limit)
    return store._run(
        lambda conn: _claim(store, conn, scheduler_id, now, executors, limit, max_catch_up),
        write=True,
    )


def _claim(
    store: SQLAlchemyJobStore,
    conn: Connection,
    scheduler_id: str,
    now: datetime,
    executors: Collection[str] | None,
    limit: int,
    max_catch_up: int,
) -> Claim:
    claim = Claim()
    stamp = _ts(now)
    runs, jobs_c = store.runs_t.c, store.jobs_t.c
    keep_finished = store.history_options.history

    pending_statement: Select[Any] = (
        select(runs.job_id, runs.scheduled_run_time)
        .where(runs.status == _PENDING)
        .order_by(runs.scheduled_run_time, runs.job_id)
        .limit(limit)
    )
    pending = [(row[0], row[1]) for row in conn.execute(store._locking(pending_statement))]
    due_statement: Select[Any] = (
        select(jobs_c.id, jobs_c.job_state, jobs_c.next_run_time)
        .where(jobs_c.next_run_time <= stamp)
        .order_by(jobs_c.next_run_time, jobs_c.id)
        .limit(limit)
    )
    due_rows = [
        StoredRow(row[0], bytes(row[1]), row[2])
        for row in conn.execute(store._locking(due_statement))
    ]
    claim.more = len(due_rows) >= limit or len(pending) >= limit
    due_jobs = store._restore_in(conn, due_rows)

    jobs = {job.id: job for job in due_jobs}
    jobs.update(_load_jobs(store, conn, {job_id for job_id, _ in pending} - set(jobs)))
    running = _running_counts(store, conn, {row.id for row in due_rows} | set(jobs))
    unknown: dict[str, Job] = {}

    def executor_known(job: Job) -> bool:
        if executors is None or job.executor in executors:
            return True
        unknown.setdefault(job.id, job)
        return False

    # Run-now records first: they were asked for explicitly and wait for nobody.
    pending_updates: list[dict[str, Any]] = []
    for job_id, srt in pending:
        job = jobs.get(job_id)
        if job is not None and not executor_known(job):
            continue  # stays pending for a scheduler that has the executor
        if job is None:
            status, started, message = RunStatus.INTERRUPTED, None, _REMOVED_BEFORE_RUN
            claim.interrupted.append(
                JobRun(
                    job_id,
                    _dt(srt),
                    status,
                    scheduler_id,
                    store._alias,
                    manual=True,
                    finished_at=_dt(stamp),
                    exception_message=message,
                )
            )
        elif running[job_id] >= job.max_instances:
            status, started, message = RunStatus.MAX_INSTANCES, stamp, None
            claim.refused.append(ClaimedRun(job, [_dt(srt)], kind=RUN_NOW))
        else:
            status, started, message = RunStatus.RUNNING, stamp, None
            running[job_id] += 1
            claim.runs.append(ClaimedRun(job, [_dt(srt)], kind=RUN_NOW))
        pending_updates.append(
            {
                "job_id": job_id,
                "scheduled_run_time": srt,
                "scheduler_id": scheduler_id,
                "status": status.value,
                "started_at": started,
                "exception_message": message,
                "finished_at": stamp if status.finished else None,
            }
        )

    job_updates: list[dict[str, Any]] = []
    removals: list[str] = []
    # job, run times, refused, and the job's state when the claim removes it (kept on the
    # records of its last runs, so that recovery can rerun them without the job's row)
    planned: list[tuple[Job, list[datetime], bool, bytes | None]] = []
    serialize = store._serialize_job
    for job in due_jobs:
        if not executor_known(job):
            continue
        plan = plan_job(job, now, running=running[job.id], max_catch_up=max_catch_up)
        if plan.skipped:
            claim.skipped[job.id] = plan.skipped
        last_state = None
        if plan.broken:
            claim.paused.append(job.id)
        elif plan.next_run_time is None:
            claim.removed.append(job.id)
            removals.append(job.id)
            if plan.run_times and not plan.refused:
                last_state = serialize(job)
        if plan.broken or plan.next_run_time is not None:
            job_updates.append(
                {
                    "id": job.id,
                    "next_run_time": datetime_to_utc_timestamp(plan.next_run_time),
                    "job_state": serialize(job),
                }
            )
        if plan.run_times:
            planned.append((job, plan.run_times, plan.refused, last_state))

    # An occurrence whose record exists was taken before (run-now at the same instant, or a
    # claim whose commit we did not hear of): never take it twice.
    keys = [(job.id, _ts(moment)) for job, times, _, _ in planned for moment in times]
    existing = _existing_keys(store, conn, keys)
    records: list[dict[str, Any]] = []
    created = time.time()
    for job, times, refused, last_state in planned:
        if existing:
            times = [moment for moment in times if (job.id, _ts(moment)) not in existing]
            if not times:
                continue
        if keep_finished or not refused:
            kind = RunStatus.MAX_INSTANCES.value if refused else _RUNNING
            finished = stamp if refused else None
            for moment in times:
                records.append(
                    {
                        "job_id": job.id,
                        "scheduled_run_time": _ts(moment),
                        "status": kind,
                        "scheduler_id": scheduler_id,
                        "attempt": 1,
                        "recovered": False,
                        "manual": False,
                        "created_at": created,
                        "started_at": stamp,
                        "finished_at": finished,
                        "job_state": last_state,
                    }
                )
        (claim.refused if refused else claim.runs).append(ClaimedRun(job, times))

    update_by_key(conn, store.jobs_t, ("id",), job_updates)
    for criterion in matching(conn, jobs_c.id, removals):
        conn.execute(delete(store.jobs_t).where(criterion))
    insert_rows(conn, store.runs_t, records)
    if not keep_finished:  # without history, a finished record is deleted at once
        finished_now = [item for item in pending_updates if item["status"] != _RUNNING]
        pending_updates = [item for item in pending_updates if item["status"] == _RUNNING]
        delete_by_key(conn, store.runs_t, _keys(finished_now))
    update_by_key(conn, store.runs_t, _KEY, pending_updates)
    claim.unknown_executor = list(unknown.values())
    return claim


# -- outcomes and retention


def finish_runs(store: SQLAlchemyJobStore, outcomes: Sequence[RunOutcome]) -> None:
    """See :meth:`ClaimingJobStore.finish_runs`."""
    if not outcomes:
        return
    options = store.history_options
    runs = store.runs_t.c
    running = (runs.status == _RUNNING,)
    key = (*_KEY, "scheduler_id")
    keys = [
        {
            "job_id": item.job_id,
            "scheduled_run_time": _ts(item.scheduled_run_time),
            "scheduler_id": item.scheduler_id,
        }
        for item in outcomes
    ]
    parameters = keys
    if options.history:
        parameters = [
            {
                **key_values,
                "status": RunStatus(item.status).value,
                "finished_at": _ts(item.finished_at),
                "exception_type": _clip(item.exception_type, 255),
                "exception_message": _clip(item.exception_message, _MAX_TEXT),
                "traceback": _clip(item.traceback, _MAX_TEXT),
                "return_value": encode_return_value(
                    store.serializer, item.return_value, options.max_return_value_size, item.job_id
                ),
            }
            for key_values, item in zip(keys, outcomes)
        ]
    retain = (
        store._retention_due([outcome.job_id for outcome in outcomes]) if options.history else []
    )
    # Age is measured on the scheduler's clock (the outcomes' finish times), like everything
    # the scheduler writes.
    latest = max(_ts(outcome.finished_at) for outcome in outcomes)
    age_cutoff = None
    if options.history and store._age_pass_due(latest, _AGE_PASS_INTERVAL):
        age_cutoff = latest - options.max_run_age

    def write(conn: Connection) -> None:
        if options.history:  # the record is final: the job state kept for a rerun goes
            update_by_key(
                conn, store.runs_t, key, parameters, where=running, fixed={"job_state": None}
            )
        else:
            delete_by_key(conn, store.runs_t, parameters, where=running)
        _retain_newest(store, conn, retain, options.max_runs_per_job)
        if age_cutoff is not None:
            conn.execute(
                delete(store.runs_t).where(
                    runs.finished_at < age_cutoff, runs.status.in_(_FINISHED)
                )
            )

    store._run(write, write=True)


def _retain_newest(
    store: SQLAlchemyJobStore, conn: Connection, job_ids: Sequence[str], keep: int
) -> None:
    """Delete the finished records of each of ``job_ids`` beyond its newest ``keep``.

    One query finds, for every job at once, the newest record past the limit (a window
    function over the jobs' finished records, read along the primary key); one delete per
    batch then removes each such job's records up to it.
    """
    if not job_ids:
        return
    runs = store.runs_t.c
    # not an IN list: that would be an "expanding" parameter, which executemany refuses
    finished = and_(runs.status != _RUNNING, runs.status != _PENDING)
    cutoffs: list[dict[str, Any]] = []
    for criterion in matching(conn, runs.job_id, sorted(job_ids)):
        position = (
            func.row_number()
            .over(partition_by=runs.job_id, order_by=runs.scheduled_run_time.desc())
            .label("position")
        )
        ranked = select(runs.job_id, runs.scheduled_run_time, position).where(criterion, finished)
        numbered = ranked.subquery()
        statement = select(numbered.c.job_id, numbered.c.scheduled_run_time).where(
            numbered.c.position == keep + 1
        )
        cutoffs.extend(
            {"job_id": row[0], "scheduled_run_time": row[1]} for row in conn.execute(statement)
        )
    delete_by_key(conn, store.runs_t, cutoffs, where=(finished,), at_most="scheduled_run_time")


# -- run-now and reading


def request_run(store: SQLAlchemyJobStore, job_id: str, now: datetime) -> JobRun:
    """See :meth:`ClaimingJobStore.request_run`."""
    runs = store.runs_t.c

    def write(conn: Connection) -> float:
        found = conn.execute(select(store.jobs_t.c.id).where(store.jobs_t.c.id == job_id)).first()
        if found is None:
            raise JobLookupError(job_id)
        # Another run-now (or a scheduled run) at the very same instant: the next free
        # microsecond keeps both.
        start = _ts(now)
        taken = set(
            conn.execute(
                select(runs.scheduled_run_time).where(
                    runs.job_id == job_id,
                    runs.scheduled_run_time >= start,
                    runs.scheduled_run_time < start + 1,
                )
            ).scalars()
        )
        moment = now
        while _ts(moment) in taken:
            moment += timedelta(microseconds=1)
        record = _new_record(job_id, _ts(moment), _PENDING, scheduler_id="", now=0.0)
        record.update(scheduler_id=None, started_at=None, finished_at=None, manual=True)
        conn.execute(insert(store.runs_t).values(**record))
        store._notify(conn)
        return _ts(moment)

    for attempt in range(5):
        try:
            stamp = store._run(write, write=True)
            break
        except IntegrityError:  # written concurrently at the same microsecond: look again
            if attempt == 4:
                raise
    return JobRun(job_id, _dt(stamp), RunStatus.PENDING, jobstore=store._alias, manual=True)


def get_runs(
    store: SQLAlchemyJobStore,
    job_id: str | None,
    status: StatusFilter,
    since: datetime | None,
    limit: int | None,
    scheduler_id: str | None,
) -> list[JobRun]:
    """See :meth:`ClaimingJobStore.get_runs`."""
    check_runs_limit(limit)
    runs = store.runs_t.c
    # job_state is only for recovery: it is not part of a JobRun
    statement = select(*(column for column in store.runs_t.c if column.name != "job_state"))
    if job_id is not None:
        statement = statement.where(runs.job_id == job_id)
    wanted = statuses(status)
    if wanted is not None:
        statement = statement.where(runs.status.in_(wanted))
    if since is not None:
        statement = statement.where(runs.scheduled_run_time >= _ts(since))
    if scheduler_id is not None:
        statement = statement.where(runs.scheduler_id == scheduler_id)
    statement = statement.order_by(runs.scheduled_run_time.desc(), runs.job_id)
    if limit is not None:
        statement = statement.limit(limit)
    rows = store._run(lambda conn: conn.execute(statement).all())
    return [run_from_row(store, row) for row in rows]
