"""Copying a django-apscheduler database into quartzite's tables (``import_django_apscheduler``).

django-apscheduler keeps two tables, ``django_apscheduler_djangojob`` and
``django_apscheduler_djangojobexecution``. They are read with plain SQL through the source
alias's connection, so the ``django_apscheduler`` app need not be installed, and they are never
written to.

A job's ``job_state`` is a pickle made by APScheduler 3, whose classes (triggers, cron fields)
live under ``apscheduler.*``. quartzite's classes carry the same names under ``quartzite.*`` and
accept the same states, so :class:`LegacyUnpickler` renames that one module prefix and changes
nothing else. The state then goes through ``Job.__setstate__`` and the store's checks, and the
job is written by :class:`~quartzite.contrib.django.jobstores.DjangoJobStore` with its own
serializer. A row that fails any of these steps is kept in the store's quarantine.

Running the copy again changes nothing: jobs are replaced by the same jobs, run records already
present (same job id and run time) are skipped, and a state already quarantined is not added
twice.
"""

from __future__ import annotations

import io
import pickle
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.db import connections, transaction
from django.utils.dateparse import parse_datetime

from ...job import Job
from ...jobstores._persistent import StoredRow, _check_restored_job
from ...jobstores.base import ConflictingIdError
from .jobstores import DjangoJobStore
from .models import DjangoJobExecution, DjangoJobQuarantine

__all__ = (
    "EXECUTIONS_TABLE",
    "JOBS_TABLE",
    "ImportReport",
    "LegacyUnpickler",
    "import_legacy",
    "load_legacy_state",
)

JOBS_TABLE = "django_apscheduler_djangojob"
EXECUTIONS_TABLE = "django_apscheduler_djangojobexecution"
_OLD_PREFIX = "apscheduler"
_NEW_PREFIX = "quartzite"
_BATCH = 500


class LegacyUnpickler(pickle.Unpickler):
    """An unpickler that reads APScheduler 3 states: a global from ``apscheduler`` or one of
    its submodules is looked up under ``quartzite`` instead; every other global as usual."""

    def find_class(self, module: str, name: str) -> Any:
        if module == _OLD_PREFIX or module.startswith(_OLD_PREFIX + "."):
            module = _NEW_PREFIX + module[len(_OLD_PREFIX) :]
        return super().find_class(module, name)


def load_legacy_state(data: bytes) -> dict[str, Any]:
    """The job state dict in ``data`` (a pickle written by APScheduler 3)."""
    state = LegacyUnpickler(io.BytesIO(data)).load()
    if not isinstance(state, dict):
        raise TypeError(f"the state is a {type(state).__name__}, not a dict")
    return state


@dataclass
class ImportReport:
    """What one run of the import did (or, for a dry run, would do)."""

    jobs_added: list[str] = field(default_factory=list)
    jobs_replaced: list[str] = field(default_factory=list)
    jobs_quarantined: list[tuple[str, str]] = field(default_factory=list)
    jobs_already_quarantined: list[str] = field(default_factory=list)
    placeholders: list[str] = field(default_factory=list)
    executions_copied: int = 0
    executions_present: int = 0
    executions_unreadable: list[tuple[int, str]] = field(default_factory=list)

    def lines(self, dry_run: bool) -> list[str]:
        """The summary, one line per figure."""
        verb = "would be" if dry_run else "were"
        lines = [
            f"Jobs: {len(self.jobs_added)} {verb} added, {len(self.jobs_replaced)} {verb} "
            f"replaced, {len(self.jobs_quarantined)} {verb} quarantined"
            + (
                f" ({len(self.jobs_already_quarantined)} already in the quarantine)"
                if self.jobs_already_quarantined
                else ""
            )
            + (f", {len(self.placeholders)} empty rows skipped" if self.placeholders else ""),
            f"Executions: {self.executions_copied} {verb} copied, "
            f"{self.executions_present} already present"
            + (
                f", {len(self.executions_unreadable)} unreadable (left in the old table)"
                if self.executions_unreadable
                else ""
            ),
        ]
        lines += [f"  quarantined {job_id}: {error}" for job_id, error in self.jobs_quarantined]
        lines += [
            f"  unreadable execution {pk}: {error}" for pk, error in self.executions_unreadable
        ]
        return lines


def _source_tables(alias: str) -> set[str]:
    connection = connections[alias]
    with connection.cursor() as cursor:
        return set(connection.introspection.table_names(cursor))


def check_source(alias: str) -> None:
    """Raise :class:`LookupError` unless the source alias has django-apscheduler's tables."""
    missing = {JOBS_TABLE, EXECUTIONS_TABLE} - _source_tables(alias)
    if missing:
        raise LookupError(
            f"the database {alias!r} has no table {', '.join(sorted(missing))}: is it the one "
            "django-apscheduler used? (see --source-database)"
        )


def _select(alias: str, columns: str, table: str) -> Iterator[tuple[Any, ...]]:
    """The rows of ``table`` on ``alias`` in id order (the first column must be ``id``).

    Read in pages, each query finished before the rows are used: the copy may write to the
    same database (and connection) meanwhile.
    """
    connection = connections[alias]
    last: Any = None
    while True:
        with connection.cursor() as cursor:
            if last is None:
                cursor.execute(f"SELECT {columns} FROM {table} ORDER BY id LIMIT {_BATCH}")
            else:
                cursor.execute(
                    f"SELECT {columns} FROM {table} WHERE id > %s ORDER BY id LIMIT {_BATCH}",
                    [last],
                )
            rows = cursor.fetchall()
        yield from rows
        if len(rows) < _BATCH:
            return
        last = rows[-1][0]


def _as_datetime(value: Any) -> datetime | None:
    """A datetime column read by raw SQL, as Django stores it on the target (aware UTC with
    ``USE_TZ``). SQLite gives text; with ``USE_TZ`` SQLite and MariaDB keep naive UTC."""
    if value is None:
        return None
    if isinstance(value, str):
        parsed = parse_datetime(value)
        if parsed is None:
            raise ValueError(f"not a date and time: {value!r}")
        value = parsed
    if not isinstance(value, datetime):
        raise TypeError(f"not a date and time: {value!r}")
    if settings.USE_TZ:
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)
    if value.tzinfo is not None:  # a PostgreSQL timestamptz read without USE_TZ
        from django.utils import timezone as dj_timezone

        return dj_timezone.make_naive(value)
    return value


def _as_decimal(value: Any) -> Decimal | None:
    """A numeric(15, 2) column (SQLite may hand back a float with more digits)."""
    if value is None:
        return None
    try:
        return Decimal(str(value)).quantize(Decimal("0.01"))
    except InvalidOperation as exc:
        raise ValueError(f"not a number: {value!r}") from exc


def _restore(job_id: str, data: bytes) -> Job:
    job = Job.__new__(Job)
    job.__setstate__(load_legacy_state(data))
    _check_restored_job(job, job_id)
    return job


def import_jobs(store: DjangoJobStore, source: str, report: ImportReport, dry_run: bool) -> None:
    """Copy every readable job of the source table; quarantine the others."""
    alias = store.database
    quarantine = DjangoJobQuarantine.objects.db_manager(alias)
    existing = set(store._manager().values_list("id", flat=True))
    for job_id, next_run_time, raw_state in _select(
        source, "id, next_run_time, job_state", JOBS_TABLE
    ):
        data = bytes(raw_state or b"")
        if not data:  # django-apscheduler's placeholder rows: no job
            report.placeholders.append(job_id)
            continue
        try:
            job = _restore(job_id, data)
        except Exception as exc:  # whatever the row holds, it goes to the quarantine
            error = f"{type(exc).__name__}: {exc}"
            if quarantine.filter(job_id=job_id, job_state=data).exists():
                report.jobs_already_quarantined.append(job_id)
                continue
            report.jobs_quarantined.append((job_id, error))
            if not dry_run:
                moment = _as_datetime(next_run_time)
                stamp = None
                if moment is not None:
                    aware = moment if moment.tzinfo else moment.astimezone()
                    stamp = aware.timestamp()
                store._quarantine_rows([(StoredRow(job_id, data, stamp), error)])
            continue
        if job_id in existing:
            report.jobs_replaced.append(job_id)
            if not dry_run:
                store.update_job(job)
            continue
        report.jobs_added.append(job_id)
        if not dry_run:
            try:
                store.add_job(job)
            except ConflictingIdError:  # added meanwhile (by a running scheduler, say)
                store.update_job(job)


def import_executions(alias: str, source: str, report: ImportReport, dry_run: bool) -> None:
    """Copy the run history; an occurrence (job id + run time) already present is skipped."""
    manager = DjangoJobExecution.objects.db_manager(alias)
    present = {
        (job_id, _as_datetime(run_time))
        for job_id, run_time in manager.values_list("job_id", "run_time").iterator()
    }
    columns = "id, job_id, status, run_time, duration, finished, exception, traceback"
    batch: list[DjangoJobExecution] = []
    for pk, job_id, status, run_time, duration, finished, exception, traceback in _select(
        source, columns, EXECUTIONS_TABLE
    ):
        try:
            key = (job_id, _as_datetime(run_time))
            if key[1] is None:
                raise ValueError("no run time")
            row = DjangoJobExecution(
                job_id=job_id,
                # The status texts are the same strings in both apps.
                status=str(status)[:50],
                run_time=key[1],
                duration=_as_decimal(duration),
                finished=_as_decimal(finished),
                exception=None if exception is None else str(exception)[:1000],
                traceback=traceback,
            )
        except (TypeError, ValueError) as exc:
            report.executions_unreadable.append((pk, f"{type(exc).__name__}: {exc}"))
            continue
        if key in present:
            report.executions_present += 1
            continue
        present.add(key)
        report.executions_copied += 1
        batch.append(row)
        if len(batch) >= _BATCH:
            _write_executions(manager, alias, batch, dry_run)
    _write_executions(manager, alias, batch, dry_run)


def _write_executions(
    manager: Any, alias: str, batch: list[DjangoJobExecution], dry_run: bool
) -> None:
    if batch and not dry_run:
        with transaction.atomic(using=alias):
            manager.bulk_create(batch)
    batch.clear()


def import_legacy(
    database: str | None = None, source: str | None = None, *, dry_run: bool = False
) -> tuple[ImportReport, str, str]:
    """Copy django-apscheduler's jobs and executions from ``source`` into quartzite's tables on
    ``database`` (default: the alias the store would use; ``source`` defaults to the same).

    :return: the report, the target alias and the source alias
    :raises LookupError: if the source has no django-apscheduler tables
    """
    store = DjangoJobStore(database=database)
    target = store.database
    source = source or target
    check_source(source)
    report = ImportReport()
    import_jobs(store, source, report, dry_run)
    import_executions(target, source, report, dry_run)
    return report, target, source
