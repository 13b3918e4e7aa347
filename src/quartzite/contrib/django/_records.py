"""Run records as ``DjangoJobExecution`` rows: statuses, times and conversions.

quartzite's :class:`~quartzite.runs.RunStatus` values map onto django-apscheduler's status
texts (``running`` is ``"Started execution"``, ``success`` is ``"Executed"`` ...), so the rows
the schedulers write read as django-apscheduler's history, and rows django-apscheduler's code
wrote read as run records.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timezone
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from ...jobstores.claims import decode_return_value
from ...runs import JobRun, RunStatus
from .models import DjangoJobExecution
from .util import get_django_internal_datetime

if TYPE_CHECKING:
    from ...serializers import BaseSerializer

__all__ = (
    "FINISHED",
    "RUN_STATUS_OF",
    "STATUS_OF",
    "instant",
    "run_from_row",
    "stamp",
    "to_db",
)

E = DjangoJobExecution

#: RunStatus -> the status text of the row.
STATUS_OF: dict[RunStatus, str] = {
    RunStatus.PENDING: E.PENDING,
    RunStatus.RUNNING: E.SENT,
    RunStatus.SUCCESS: E.SUCCESS,
    RunStatus.ERROR: E.ERROR,
    RunStatus.MISSED: E.MISSED,
    RunStatus.MAX_INSTANCES: E.MAX_INSTANCES,
    RunStatus.INTERRUPTED: E.INTERRUPTED,
    RunStatus.TIMEOUT: E.TIMEOUT,
}
RUN_STATUS_OF: dict[str, RunStatus] = {text: status for status, text in STATUS_OF.items()}

#: Status texts of records that will not change any more.
FINISHED = [text for status, text in STATUS_OF.items() if status.finished]
#: Statuses an outcome may still be written onto: running, or finished by the event listeners
#: of :class:`~quartzite.contrib.django.jobstores.DjangoResultStoreMixin` just before.
OUTCOME_TARGETS = [E.SENT, E.SUCCESS, E.ERROR, E.MISSED]


def to_db(moment: datetime) -> datetime:
    """``moment`` in the form Django stores."""
    value = get_django_internal_datetime(moment)
    assert value is not None
    return value


def instant(moment: datetime) -> float:
    """A key for comparing stored and computed run times (a POSIX timestamp)."""
    return to_db(moment).timestamp()


def stamp(moment: datetime) -> Decimal:
    """``moment`` as the POSIX timestamp the ``finished`` column keeps."""
    return Decimal(f"{moment.timestamp():.2f}")


def from_stamp(value: Any) -> datetime | None:
    if value is None:
        return None
    return datetime.fromtimestamp(float(value), timezone.utc)


def as_utc(moment: datetime | None) -> datetime | None:
    """A stored datetime as aware UTC (naive values are in Django's current zone)."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        from django.utils import timezone as dj_timezone

        moment = dj_timezone.make_aware(moment, dj_timezone.get_current_timezone())
    return moment.astimezone(timezone.utc)


def duration(start: datetime | None, end: datetime) -> Decimal | None:
    if start is None:
        return None
    seconds = (to_db(end) - to_db(start)).total_seconds()
    return Decimal(f"{max(seconds, 0.0):.2f}")


def run_from_row(row: DjangoJobExecution, serializer: BaseSerializer, alias: str | None) -> JobRun:
    """A :class:`JobRun` from a row (statuses written by other code read as ``interrupted``)."""
    status = RUN_STATUS_OF.get(str(row.status), RunStatus.INTERRUPTED)
    run_time = as_utc(row.run_time)
    assert run_time is not None
    return JobRun(
        job_id=str(row.job_id),
        scheduled_run_time=run_time,
        status=status,
        scheduler_id=row.scheduler_id,
        jobstore=alias,
        attempt=row.attempt or 1,
        started_at=as_utc(row.started),
        finished_at=from_stamp(row.finished),
        exception_type=row.exception_type,
        exception_message=row.exception,
        traceback=row.traceback,
        return_value=decode_return_value(serializer, row.return_value),
        recovered=bool(row.recovered),
        manual=bool(row.manual),
    )


def chunks(items: Iterable[Any], size: int = 500) -> Iterable[list[Any]]:
    """``items`` in lists of at most ``size`` (bounded ``IN (...)`` lists)."""
    batch: list[Any] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch
