"""The admin: the job list, run-now handed to a live scheduler, pause/resume, history display."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any, Iterator

import pytest
from django.contrib import admin as django_admin
from django.contrib import messages
from django.contrib.messages.storage.fallback import FallbackStorage
from django.contrib.sessions.backends.db import SessionStore
from django.test import RequestFactory, override_settings

from quartzite.contrib.django.admin import DjangoJobAdmin, DjangoJobExecutionAdmin
from quartzite.contrib.django.jobstores import DjangoJobStore
from quartzite.contrib.django.models import DjangoJob, DjangoJobExecution
from quartzite.schedulers.background import BackgroundScheduler
from quartzite.triggers.interval import IntervalTrigger
from support.jobs import dummy_job, fail, make_job

LATER = datetime(2040, 1, 1, tzinfo=timezone.utc)


def make_request() -> Any:
    request = RequestFactory().get("/admin/")
    request.session = SessionStore()
    request._messages = FallbackStorage(request)
    return request


def sent(request: Any) -> list[tuple[int, str]]:
    return [(message.level, str(message.message)) for message in messages.get_messages(request)]


@pytest.fixture
def scheduler() -> Iterator[BackgroundScheduler]:
    scheduler = BackgroundScheduler(timezone="UTC")
    scheduler.add_jobstore(DjangoJobStore(poll_interval=30), "default")
    scheduler.start()
    yield scheduler
    scheduler.shutdown()


@pytest.mark.django_db(transaction=True)
@override_settings(APSCHEDULER_RUN_NOW_TIMEOUT=20)
def test_run_now_is_handed_to_the_running_scheduler(scheduler: BackgroundScheduler) -> None:
    scheduler.add_job(dummy_job, "date", run_date=LATER, id="later")
    model_admin = DjangoJobAdmin(DjangoJob, None)
    request = make_request()
    model_admin.run_selected_jobs(request, DjangoJob.objects.filter(id="later"))
    assert sent(request)[-1] == (messages.INFO, "Executed job 'later'!")
    row = DjangoJobExecution.objects.get(job_id="later")
    assert row.status == DjangoJobExecution.SUCCESS and row.manual
    assert DjangoJob.objects.get(id="later").next_run_time == LATER  # the schedule did not move


@pytest.mark.django_db(transaction=True)
@override_settings(APSCHEDULER_RUN_NOW_TIMEOUT=20)
def test_a_failing_run_is_reported_with_its_error(scheduler: BackgroundScheduler) -> None:
    scheduler.add_job(fail, "date", run_date=LATER, args=("bad input",), id="failing")
    model_admin = DjangoJobAdmin(DjangoJob, None)
    request = make_request()
    model_admin.run_selected_jobs(request, DjangoJob.objects.filter(id="failing"))
    assert sent(request) == [(messages.ERROR, "Job 'failing' failed: bad input")]


@pytest.mark.django_db
@override_settings(APSCHEDULER_RUN_NOW_TIMEOUT=0.3)
def test_without_a_scheduler_the_request_stays_queued_and_the_admin_says_so() -> None:
    store = DjangoJobStore()
    store.start(None, "default")
    store.add_job(make_job(run_date=LATER, id="later"))
    model_admin = DjangoJobAdmin(DjangoJob, None)
    request = make_request()
    model_admin.run_selected_jobs(request, DjangoJob.objects.all())
    [(level, text)] = sent(request)
    assert level == messages.ERROR and text.startswith("No scheduler picked up job(s) later")
    assert DjangoJobExecution.objects.get().status == DjangoJobExecution.PENDING


@pytest.mark.django_db
def test_a_row_that_does_not_restore_is_skipped() -> None:
    DjangoJob.objects.create(id="placeholder")
    model_admin = DjangoJobAdmin(DjangoJob, None)
    request = make_request()
    model_admin.run_selected_jobs(request, DjangoJob.objects.all())
    assert sent(request) == [
        (messages.WARNING, "Could not find job placeholder in the database! Skipping execution...")
    ]
    assert not DjangoJobExecution.objects.exists()


def test_timeout_is_read_when_the_admin_is_built() -> None:
    with override_settings(APSCHEDULER_RUN_NOW_TIMEOUT=7):
        model_admin = DjangoJobAdmin(DjangoJob, None)
    assert model_admin._job_execution_timeout == 7


@pytest.mark.django_db
def test_the_job_list_shows_state_durations_and_last_status() -> None:
    store = DjangoJobStore(serializer="json")
    store.start(None, "default")
    store.add_job(
        make_job(trigger=IntervalTrigger(minutes=5), args=(1,), id="five", next_run_time=LATER)
    )
    for seconds, duration in ((0, 5), (60, 10)):
        DjangoJobExecution.objects.create(
            job_id="five",
            run_time=LATER + timedelta(seconds=seconds),
            status="Executed",
            duration=duration,
        )
    model_admin = DjangoJobAdmin(DjangoJob, None)
    model_admin.get_queryset(make_request())
    job = DjangoJob.objects.get(id="five")
    assert float(model_admin.average_duration(job)) == 7.5
    assert model_admin.function(job) == "support.jobs:dummy_job(1)"
    assert "interval[0:05:00]" in model_admin.trigger(job)
    assert model_admin.last_status(job) == "Executed"
    assert model_admin.average_duration(DjangoJob(id="none")) == "None"
    assert model_admin.local_run_time(DjangoJob(id="x")) == "(paused)"


@pytest.mark.django_db(transaction=True)
def test_pause_and_resume_go_through_the_store(scheduler: BackgroundScheduler) -> None:
    scheduler.add_job(dummy_job, "interval", hours=1, id="hourly")
    model_admin = DjangoJobAdmin(DjangoJob, None)
    model_admin.pause_selected_jobs(make_request(), DjangoJob.objects.all())
    assert DjangoJob.objects.get().next_run_time is None
    assert scheduler.get_job("hourly").next_run_time is None
    model_admin.resume_selected_jobs(make_request(), DjangoJob.objects.all())
    assert DjangoJob.objects.get().next_run_time is not None


@pytest.mark.django_db
def test_execution_admin_colours_statuses_and_shows_orphans() -> None:
    model_admin = DjangoJobExecutionAdmin(DjangoJob, None)
    model_admin.get_queryset(make_request())
    row = DjangoJobExecution(job_id="gone", status="Executed", run_time=LATER)
    assert model_admin.html_status(row) == '<p style="color: green">Executed</p>'
    assert (
        model_admin.html_status(DjangoJobExecution(status="<b>odd</b>"))
        == "<p>&lt;b&gt;odd&lt;/b&gt;</p>"
    )
    assert model_admin.duration_text(row) == "N/A"
    assert model_admin.job_display(row) == "gone (removed)"


@pytest.mark.django_db
def test_the_admin_pages_render() -> None:
    from django.contrib.auth.models import User
    from django.test import Client

    user = User.objects.create_superuser("admin", "a@example.com", "pw")
    DjangoJob.objects.create(id="placeholder")
    DjangoJobExecution.objects.create(job_id="gone", status="Executed", run_time=LATER)
    client = Client()
    client.force_login(user)
    for url in (
        "/admin/quartzite/djangojob/",
        "/admin/quartzite/djangojobexecution/",
        "/admin/quartzite/djangojobquarantine/",
    ):
        response = client.get(url)
        assert response.status_code == 200, url
    assert b"gone (removed)" in client.get("/admin/quartzite/djangojobexecution/").content
    user.delete()


def test_both_admins_are_registered() -> None:
    assert isinstance(django_admin.site._registry[DjangoJob], DjangoJobAdmin)
    assert isinstance(django_admin.site._registry[DjangoJobExecution], DjangoJobExecutionAdmin)
