"""The tables of the Django app: jobs, their run records, scheduler check-ins, the quarantine.

``DjangoJob`` and ``DjangoJobExecution`` keep django-apscheduler's names, fields and statuses.
A ``DjangoJobExecution`` row is quartzite's run record of one occurrence (job id + scheduled
run time, unique): the claim of a scheduler writes it, the outcome finishes it, and it outlives
its job (the foreign key neither cascades nor constrains).
"""

from __future__ import annotations

import logging
from datetime import timedelta
from decimal import Decimal
from typing import Any, ContextManager

from django.db import IntegrityError, models, router, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .util import get_django_internal_datetime, get_local_dt_format, retry_on_db_operational_error

__all__ = (
    "DjangoJob",
    "DjangoJobExecution",
    "DjangoJobExecutionManager",
    "DjangoJobQuarantine",
    "DjangoSchedulerCheckin",
)

logger = logging.getLogger("quartzite.contrib.django")


class DjangoJob(models.Model):
    """One stored job: its id, next run time (NULL while paused) and serialized state."""

    id = models.CharField(max_length=255, primary_key=True, help_text=_("Unique id for this job."))
    next_run_time = models.DateTimeField(db_index=True, null=True, blank=True)
    job_state = models.BinaryField()

    class Meta:
        ordering = ("next_run_time",)

    def __str__(self) -> str:
        if self.next_run_time is None:
            return f"{self.id} (paused)"
        return f"{self.id} (next run at: {get_local_dt_format(self.next_run_time)})"


class DjangoJobExecutionManager(models.Manager["DjangoJobExecution"]):
    """The manager of :class:`DjangoJobExecution`."""

    def delete_old_job_executions(self, max_age: float) -> int:
        """Delete every record whose run time is ``max_age`` seconds old or older.

        :return: how many records were deleted
        """
        cutoff = timezone.now() - timedelta(seconds=max_age)
        deleted, _by_model = self.filter(run_time__lte=cutoff).delete()
        return deleted


class DjangoJobExecution(models.Model):
    """The record of one occurrence of a job (its run history), one row per job and run time.

    ``duration`` is in seconds; ``finished`` is a POSIX timestamp (django-apscheduler's choice,
    kept). ``started`` is when the run really began, when known. The other nullable columns are
    the run-record fields quartzite adds (which scheduler took the occurrence, the attempt,
    whether it was recovered or asked for with run-now, the return value).
    """

    SENT = "Started execution"
    SUCCESS = "Executed"
    MISSED = "Missed!"
    MAX_INSTANCES = "Max instances!"
    ERROR = "Error!"
    PENDING = "Pending"
    INTERRUPTED = "Interrupted!"
    TIMEOUT = "Timeout!"

    STATUS_CHOICES = [
        (SENT, SENT),
        (SUCCESS, SUCCESS),
        (MISSED, MISSED),
        (MAX_INSTANCES, MAX_INSTANCES),
        (ERROR, ERROR),
        (PENDING, PENDING),
        (INTERRUPTED, INTERRUPTED),
        (TIMEOUT, TIMEOUT),
    ]

    id = models.BigAutoField(primary_key=True, help_text=_("Unique id for this job execution."))
    # No cascade and no database constraint: the history outlives its job.
    job = models.ForeignKey(
        DjangoJob,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        blank=True,
    )
    status = models.CharField(max_length=50, choices=STATUS_CHOICES)
    run_time = models.DateTimeField(
        db_index=True, help_text=_("Date and time at which this job was due.")
    )
    duration = models.DecimalField(max_digits=15, decimal_places=2, null=True, default=None)
    finished = models.DecimalField(max_digits=15, decimal_places=2, null=True, default=None)
    exception = models.CharField(max_length=1000, null=True)
    traceback = models.TextField(null=True)
    scheduler_id = models.CharField(max_length=255, null=True, blank=True)
    attempt = models.PositiveIntegerField(default=1)
    recovered = models.BooleanField(default=False)
    manual = models.BooleanField(default=False)
    started = models.DateTimeField(null=True, blank=True)
    exception_type = models.CharField(max_length=255, null=True, blank=True)
    return_value = models.BinaryField(null=True, blank=True)

    objects = DjangoJobExecutionManager()

    class Meta:
        ordering = ("-run_time",)
        constraints = [
            models.UniqueConstraint(
                fields=["job_id", "run_time"], name="quartzite_job_execution_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.id}: job '{self.job_id}' ({self.status})"

    @classmethod
    def atomic_update_or_create(
        cls,
        lock: ContextManager[Any],
        job_id: str,
        run_time: Any,
        status: str,
        exception: str | None = None,
        traceback: str | None = None,
        *,
        using: str | None = None,
    ) -> DjangoJobExecution:
        """Record ``status`` for the occurrence (``job_id``, ``run_time``) and return its row.

        Runs under ``lock``, in one transaction on ``using`` (the alias the routers give for
        writing the model, by default). A submission (``SENT``) for an occurrence that has a row
        already changes nothing: the outcome may have been recorded first. Any other status
        sets ``finished`` (now) and ``duration``. A new row for a job that is not stored raises
        :class:`~django.db.IntegrityError`; an existing one is updated even when its job is gone.
        """
        return _record_event(cls, lock, job_id, run_time, status, exception, traceback, using)


@retry_on_db_operational_error
def _record_event(
    model: type[DjangoJobExecution],
    lock: ContextManager[Any],
    job_id: str,
    run_time: Any,
    status: str,
    exception: str | None,
    traceback: str | None,
    using: str | None,
) -> DjangoJobExecution:
    from ._locking import retry_locked, take_write_lock

    alias = using or router.db_for_write(model)

    def attempt() -> DjangoJobExecution:
        with lock, transaction.atomic(using=alias):
            take_write_lock(alias)
            return _write_event(model, alias, job_id, run_time, status, exception, traceback)

    return retry_locked(attempt, "atomic_update_or_create", alias)


def _write_event(
    model: type[DjangoJobExecution],
    alias: str,
    job_id: str,
    run_time: Any,
    status: str,
    exception: str | None,
    traceback: str | None,
) -> DjangoJobExecution:
    run_time = get_django_internal_datetime(run_time)
    now = timezone.now()
    finished = Decimal(f"{now.timestamp():.2f}")
    manager = model.objects.db_manager(alias)
    row = manager.select_for_update().filter(job_id=job_id, run_time=run_time).first()
    if row is not None and status == model.SENT:
        return row
    if row is None:
        if not DjangoJob.objects.db_manager(alias).filter(id=job_id).exists():
            raise IntegrityError(f"no stored job with the id {job_id!r}")
        row = model(job_id=job_id, run_time=run_time, status=status)
        if status == model.SENT:
            row.started = now
            row.save(using=alias, force_insert=True)
            return row
    started = row.started or run_time
    if status in (model.MISSED, model.MAX_INSTANCES) and row.started is None:
        started = now
    row.finished = finished
    row.duration = _seconds_between(started, now)
    row.status = status
    if exception:
        row.exception = str(exception)[:1000]
    if traceback:
        row.traceback = str(traceback)
    row.save(using=alias)
    return row


def _seconds_between(start: Any, end: Any) -> Decimal:
    start = get_django_internal_datetime(start)
    end = get_django_internal_datetime(end)
    return Decimal(f"{max((end - start).total_seconds(), 0.0):.2f}")


class DjangoSchedulerCheckin(models.Model):
    """A scheduler that shares the store, alive until ``expires_at``."""

    scheduler_id = models.CharField(max_length=255, primary_key=True)
    host = models.CharField(max_length=255)
    pid = models.IntegerField()
    last_checkin = models.DateTimeField()
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        verbose_name = "scheduler check-in"

    def __str__(self) -> str:
        return f"{self.scheduler_id} ({self.host}, pid {self.pid})"


class DjangoJobQuarantine(models.Model):
    """A stored job that could not be restored, kept as it was with the error it raised."""

    id = models.BigAutoField(primary_key=True)
    job_id = models.CharField(max_length=255, db_index=True)
    next_run_time = models.DateTimeField(null=True, blank=True)
    job_state = models.BinaryField()
    error = models.TextField()
    quarantined_at = models.DateTimeField()

    class Meta:
        ordering = ("id",)
        verbose_name = "quarantined job"

    def __str__(self) -> str:
        return f"{self.job_id} (quarantined: {self.error[:80]})"
