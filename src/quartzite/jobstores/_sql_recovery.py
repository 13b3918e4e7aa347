"""Recovery of the run records of :class:`~quartzite.jobstores.sqlalchemy.SQLAlchemyJobStore`:
taking over the ``running`` records of schedulers that died (see
:meth:`~quartzite.jobstores.claims.ClaimingJobStore.recover_runs`).

A record is run again by the recovering scheduler, with its job as the jobs table holds it, or,
when the claim that took the job's last run removed the job, as the record kept it
(``job_state``). It is finished as ``interrupted`` when the job is at-most-once, or gone
without a kept state (a run-now of a job removed meanwhile), or its kept state cannot be
restored.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, or_, select

from ..runs import RunStatus
from ._persistent import StoredRow
from ._sql_bulk import delete_by_key, update_by_key
from ._sql_runs import _KEY, _RUNNING, _dt, _keys, _load_jobs, _ts, run_from_row
from .claims import RECOVERED, Claim, ClaimedRun

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection
    from sqlalchemy.sql import Select

    from ..job import Job
    from .sqlalchemy import SQLAlchemyJobStore

__all__ = ("recover_runs",)


def recover_runs(
    store: SQLAlchemyJobStore,
    scheduler_id: str,
    now: datetime,
    lost: Collection[tuple[str, datetime]],
) -> Claim:
    """See :meth:`ClaimingJobStore.recover_runs`."""
    lost_keys = [(job_id, _ts(moment)) for job_id, moment in lost]
    return store._run(lambda conn: _recover(store, conn, scheduler_id, now, lost_keys), write=True)


def _recover(
    store: SQLAlchemyJobStore,
    conn: Connection,
    scheduler_id: str,
    now: datetime,
    lost: list[tuple[str, float]],
) -> Claim:
    stamp = _ts(now)
    runs, checkins = store.runs_t.c, store.schedulers_t.c
    # Read the live schedulers first, without locks: a check-in being written must not make
    # its scheduler look dead (as a locking read that skips locked rows would).
    alive = list(
        conn.execute(select(checkins.scheduler_id).where(checkins.expires_at >= stamp)).scalars()
    )
    alive.append(scheduler_id)  # never take over our own runs as if we had died
    wanted = [
        and_(
            runs.status == _RUNNING,
            or_(runs.scheduler_id.is_(None), runs.scheduler_id.not_in(alive)),
        )
    ]
    for job_id, srt in lost:
        wanted.append(
            and_(
                runs.status == _RUNNING,
                runs.scheduler_id == scheduler_id,
                runs.job_id == job_id,
                runs.scheduled_run_time == srt,
            )
        )
    statement: Select[Any] = (
        select(store.runs_t).where(or_(*wanted)).order_by(runs.job_id, runs.scheduled_run_time)
    )
    rows = conn.execute(store._locking(statement)).all()
    claim = Claim()
    if not rows:
        return claim

    jobs = _load_jobs(store, conn, {row.job_id for row in rows})
    interrupted: list[dict[str, Any]] = []
    taken: list[dict[str, Any]] = []
    grouped: dict[str, ClaimedRun] = {}
    for row in rows:
        key = {"job_id": row.job_id, "scheduled_run_time": row.scheduled_run_time}
        job = jobs.get(row.job_id)
        if job is None and row.job_state is not None:
            job = _restore_last_run(store, row)
        if job is None or job.at_most_once:
            interrupted.append({**key, "status": RunStatus.INTERRUPTED.value, "finished_at": stamp})
            run = run_from_row(store, row)
            claim.interrupted.append(
                replace(run, status=RunStatus.INTERRUPTED, finished_at=_dt(stamp))
            )
            continue
        attempt = row.attempt + 1
        taken.append(
            {
                **key,
                "status": _RUNNING,
                "scheduler_id": scheduler_id,
                "attempt": attempt,
                "recovered": True,
                "started_at": stamp,
            }
        )
        claimed = grouped.get(row.job_id)
        if claimed is None:
            claimed = grouped[row.job_id] = ClaimedRun(
                job, [], kind=RECOVERED, previous_scheduler_id=row.scheduler_id
            )
            claim.runs.append(claimed)
        claimed.run_times.append(_dt(row.scheduled_run_time))
        claimed.attempt = max(claimed.attempt, attempt)

    if not store.history_options.history:
        delete_by_key(conn, store.runs_t, _keys(interrupted))
    else:
        update_by_key(conn, store.runs_t, _KEY, interrupted, fixed={"job_state": None})
    update_by_key(conn, store.runs_t, _KEY, taken)
    return claim


def _restore_last_run(store: SQLAlchemyJobStore, row: Any) -> Job | None:
    """The job a claim removed with the last run of ``row``, from the state kept on the record
    (``None``, logged, if it cannot be restored: the run is then interrupted)."""
    try:
        return store._restore_job(StoredRow(row.job_id, bytes(row.job_state), None))
    except Exception:
        store._logger.warning(
            'The state of job "%s" kept with its run at %s cannot be restored -- the run is '
            "recorded as interrupted",
            row.job_id,
            _dt(row.scheduled_run_time),
            exc_info=True,
        )
        return None
