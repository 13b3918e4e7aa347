"""The models, ``atomic_update_or_create`` and the util helpers."""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone
from unittest import mock

import pytest
from django.db import IntegrityError, OperationalError
from django.test import override_settings
from django.utils import timezone

from quartzite.contrib.django import util
from quartzite.contrib.django.models import DjangoJob, DjangoJobExecution

RUN_TIME = datetime(2030, 5, 1, 12, 0, tzinfo=dt_timezone.utc)

#: The ORM in the test's own thread: inside pytest-django's atomic block, rolled back.
pytestmark = pytest.mark.django_db


@pytest.fixture
def job() -> DjangoJob:
    return DjangoJob.objects.create(id="job", next_run_time=RUN_TIME, job_state=b"x")


def test_str_of_a_job_and_of_a_paused_job() -> None:
    with override_settings(APSCHEDULER_DATETIME_FORMAT="Y-m-d H:i"):
        assert str(DjangoJob(id="a", next_run_time=RUN_TIME)) == "a (next run at: 2030-05-01 14:00)"
    assert str(DjangoJob(id="a")) == "a (paused)"


def test_str_of_an_execution(job: DjangoJob) -> None:
    row = DjangoJobExecution.objects.create(
        job=job, status=DjangoJobExecution.SUCCESS, run_time=RUN_TIME
    )
    assert str(row) == f"{row.id}: job 'job' (Executed)"


def test_every_status_is_a_choice_and_no_check_constraint_holds_the_value(job: DjangoJob) -> None:
    values = {value for value, _label in DjangoJobExecution.STATUS_CHOICES}
    assert {"Started execution", "Executed", "Missed!", "Max instances!", "Error!"} <= values
    row = DjangoJobExecution.objects.create(job_id="job", status=4096, run_time=RUN_TIME)
    assert DjangoJobExecution.objects.get(id=row.id).status == "4096"


def test_a_submission_after_the_outcome_changes_nothing(job: DjangoJob) -> None:
    lock = threading.RLock()
    done = DjangoJobExecution.atomic_update_or_create(
        lock, "job", RUN_TIME, DjangoJobExecution.SUCCESS
    )
    assert done.duration is not None and done.finished is not None
    again = DjangoJobExecution.atomic_update_or_create(
        lock, "job", RUN_TIME, DjangoJobExecution.SENT
    )
    assert again.status == DjangoJobExecution.SUCCESS
    assert DjangoJobExecution.objects.count() == 1


def test_a_submission_leaves_finished_and_duration_empty_then_the_outcome_fills_them(
    job: DjangoJob,
) -> None:
    lock = threading.RLock()
    sent = DjangoJobExecution.atomic_update_or_create(
        lock, "job", RUN_TIME, DjangoJobExecution.SENT
    )
    assert sent.finished is None and sent.duration is None
    error = DjangoJobExecution.atomic_update_or_create(
        lock, "job", RUN_TIME, DjangoJobExecution.ERROR, exception="boom", traceback="tb"
    )
    assert (error.id, error.status, error.exception, error.traceback) == (
        sent.id,
        "Error!",
        "boom",
        "tb",
    )
    assert error.finished is not None and error.duration is not None


def test_a_new_record_of_an_unknown_job_is_refused_but_an_existing_one_is_updated(
    job: DjangoJob,
) -> None:
    lock = threading.RLock()
    with pytest.raises(IntegrityError):
        DjangoJobExecution.atomic_update_or_create(lock, "nope", RUN_TIME, DjangoJobExecution.SENT)
    DjangoJobExecution.atomic_update_or_create(lock, "job", RUN_TIME, DjangoJobExecution.SENT)
    job.delete()
    row = DjangoJobExecution.atomic_update_or_create(
        lock, "job", RUN_TIME, DjangoJobExecution.SUCCESS
    )
    assert row.status == DjangoJobExecution.SUCCESS
    assert DjangoJobExecution.objects.filter(job_id="job").count() == 1


def test_delete_old_job_executions_counts_what_it_deleted(job: DjangoJob) -> None:
    now = timezone.now()
    for age in (10, 100, 1000):
        DjangoJobExecution.objects.create(
            job=job, status="Executed", run_time=now - timedelta(seconds=age)
        )
    assert DjangoJobExecution.objects.delete_old_job_executions(50) == 2
    assert DjangoJobExecution.objects.count() == 1


def test_dates_in_the_current_zone_and_internal_forms() -> None:
    with override_settings(APSCHEDULER_DATETIME_FORMAT="H:i"):
        assert util.get_local_dt_format(RUN_TIME) == "14:00"
        assert util.get_local_dt_format(datetime(2030, 1, 1, 9, 30)) == "09:30"
    naive = datetime(2030, 1, 1, 9, 30)
    assert util.get_django_internal_datetime(naive) == timezone.make_aware(naive)
    assert util.get_django_internal_datetime(None) is None
    with override_settings(USE_TZ=False):
        assert util.get_django_internal_datetime(RUN_TIME) == datetime(2030, 5, 1, 14, 0)
    scheduler = mock.Mock(timezone=dt_timezone.utc)
    assert util.get_apscheduler_datetime(naive, scheduler) == datetime(
        2030, 1, 1, 8, 30, tzinfo=dt_timezone.utc
    )
    assert util.get_apscheduler_datetime(RUN_TIME, scheduler) is RUN_TIME


def test_retry_logs_closes_and_runs_once_more(caplog: pytest.LogCaptureFixture) -> None:
    calls = []

    @util.retry_on_db_operational_error
    def flaky() -> str:
        calls.append(1)
        if len(calls) == 1:
            raise OperationalError("gone")
        return "ok"

    with (
        mock.patch.object(util.db, "close_old_connections") as close,
        caplog.at_level(logging.WARNING),
    ):
        assert flaky() == "ok"
    assert close.call_count == 1 and len(calls) == 2
    assert "DB error executing 'flaky' (gone). Retrying with a new DB connection..." in caplog.text

    @util.retry_on_db_operational_error
    def wrong() -> None:
        raise ValueError("no")

    with mock.patch.object(util.db, "close_old_connections") as close, pytest.raises(ValueError):
        wrong()
    assert close.call_count == 0


def test_close_old_connections_runs_before_and_after_even_on_error() -> None:
    @util.close_old_connections
    def job() -> None:
        raise RuntimeError("x")

    with mock.patch("quartzite.contrib.django.util.db.close_old_connections") as close:
        with pytest.raises(RuntimeError):
            job()
    assert close.call_count == 2


# makemigrations compares the migration history of every alias the router sends the app to.
@pytest.mark.django_db(databases="__all__")
def test_the_models_and_the_migrations_agree() -> None:
    """``makemigrations --check`` finds nothing to write for the app (it exits 1 otherwise)."""
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("makemigrations", "quartzite", "--check", "--dry-run", stdout=out)
    assert "No changes detected" in out.getvalue()
