"""Check-ins and the quarantine of :class:`~quartzite.contrib.django.jobstores.DjangoJobStore`."""

from __future__ import annotations

import os
import socket
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone as dj_timezone

from ...jobstores._persistent import QuarantinedJob, StoredRow
from ...jobstores.base import ConflictingIdError, JobLookupError
from ._records import as_utc, to_db
from .models import DjangoJob, DjangoJobQuarantine, DjangoSchedulerCheckin

if TYPE_CHECKING:
    from .jobstores import DjangoJobStore

__all__ = ("check_in", "quarantine_rows", "quarantined_jobs", "release", "restore_quarantined")


def check_in(store: DjangoJobStore, scheduler_id: str, now: datetime, lease_time: float) -> None:
    """Record that ``scheduler_id`` is alive until ``now + lease_time``."""
    values = {
        "host": socket.gethostname()[:255],
        "pid": os.getpid(),
        "last_checkin": to_db(now),
        "expires_at": to_db(now + timedelta(seconds=float(lease_time))),
    }
    manager = DjangoSchedulerCheckin.objects.db_manager(store.database)

    def write() -> None:
        if not manager.filter(scheduler_id=scheduler_id).update(**values):
            manager.create(scheduler_id=scheduler_id, **values)

    store._transaction(write, "check_in")


def release(store: DjangoJobStore, scheduler_id: str) -> None:
    """Forget the check-in of ``scheduler_id``."""
    manager = DjangoSchedulerCheckin.objects.db_manager(store.database)
    store._transaction(lambda: manager.filter(scheduler_id=scheduler_id).delete(), "release")


def _from_timestamp(value: float | None) -> datetime | None:
    if value is None:
        return None
    return to_db(datetime.fromtimestamp(value, timezone.utc))


def quarantine_rows(store: DjangoJobStore, failed: list[tuple[StoredRow, str]]) -> None:
    """Copy the rows to the quarantine and remove them from the jobs, in one transaction (the
    caller's, when it runs inside one: a claim holding the rows' locks)."""
    alias = store.database
    now = dj_timezone.now()
    jobs = DjangoJob.objects.db_manager(alias)

    def move() -> None:
        DjangoJobQuarantine.objects.db_manager(alias).bulk_create(
            [
                DjangoJobQuarantine(
                    job_id=row.id,
                    next_run_time=_from_timestamp(row.next_run_time),
                    job_state=row.job_state,
                    error=error,
                    quarantined_at=now,
                )
                for row, error in failed
            ]
        )
        for row, _error in failed:
            # Only the bad version: a row rewritten meanwhile stays.
            jobs.filter(id=row.id, job_state=row.job_state).delete()

    with transaction.atomic(using=alias):
        move()


def quarantined_jobs(store: DjangoJobStore) -> list[QuarantinedJob]:
    """The quarantine of the store's database, oldest first."""
    rows = DjangoJobQuarantine.objects.db_manager(store.database).order_by("id")
    result = []
    for row in rows:
        next_run_time = as_utc(row.next_run_time)
        quarantined_at = as_utc(row.quarantined_at)
        result.append(
            QuarantinedJob(
                row.job_id,
                bytes(row.job_state),
                None if next_run_time is None else next_run_time.timestamp(),
                row.error,
                quarantined_at.timestamp() if quarantined_at else 0.0,
            )
        )
    return result


def restore_quarantined(store: DjangoJobStore, job_id: str) -> None:
    """Move the newest quarantined state of ``job_id`` back to the jobs."""
    alias = store.database

    def move() -> None:
        quarantine = DjangoJobQuarantine.objects.db_manager(alias)
        row = quarantine.filter(job_id=job_id).order_by("-id").first()
        if row is None:
            raise JobLookupError(job_id)
        jobs = DjangoJob.objects.db_manager(alias)
        if jobs.filter(id=job_id).exists():
            raise ConflictingIdError(job_id)
        jobs.create(id=job_id, next_run_time=row.next_run_time, job_state=bytes(row.job_state))
        quarantine.filter(job_id=job_id).delete()
        store._notify()

    store._transaction(move, "restore_quarantined_job")
