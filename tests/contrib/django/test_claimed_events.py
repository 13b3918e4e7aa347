"""The listeners of a claiming DjangoJobStore leave the records of its own claims to the claim
and finish_runs; every other event is recorded as the contract says."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

import pytest
from django.db import connections

from quartzite import events
from quartzite.contrib.django.jobstores import DjangoJobStore, _release_worker_connections
from quartzite.contrib.django.models import DjangoJobExecution
from quartzite.jobstores.claims import RunOutcome
from quartzite.runs import RunStatus
from quartzite.triggers.interval import IntervalTrigger
from support.jobs import make_job

NOW = datetime(2030, 5, 1, 12, 0, tzinfo=timezone.utc)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def store(routed: str) -> DjangoJobStore:
    store = DjangoJobStore()
    store.start(None, "default")
    return store


def interval_job(job_id: str, start: datetime = NOW):
    trigger = IntervalTrigger(seconds=10, start_date=start, timezone="UTC")
    return make_job(id=job_id, trigger=trigger, next_run_time=start)


def _status(alias: str, job_id: str) -> str:
    return str(DjangoJobExecution.objects.db_manager(alias).get(job_id=job_id).status)


def test_events_of_claimed_runs_write_nothing_and_finish_runs_records_the_outcome(
    store: DjangoJobStore, routed: str
) -> None:
    store.add_job(interval_job("a"))
    [run] = store.claim_jobs("me", NOW).runs
    moment = run.run_times[0]
    executed = events.JobExecutionEvent(events.EVENT_JOB_EXECUTED, "a", "default", moment)
    submitted = events.JobSubmissionEvent(events.EVENT_JOB_SUBMITTED, "a", "default", [moment])
    assert store.handle_execution_event(executed) is None
    assert _status(routed, "a") == DjangoJobExecution.SENT  # left to finish_runs
    store.finish_runs([RunOutcome("a", moment, RunStatus.SUCCESS, NOW, "me")])
    assert _status(routed, "a") == DjangoJobExecution.SUCCESS
    # The submission comes last (dispatched after the round): still nothing to write.
    assert store.handle_submission_event(submitted) is None
    assert _status(routed, "a") == DjangoJobExecution.SUCCESS
    # All three seen: the occurrence is forgotten, and a later event takes the general path.
    assert len(store._claimed_runs) == 0
    error = events.JobExecutionEvent(events.EVENT_JOB_ERROR, "a", "default", moment)
    assert isinstance(store.handle_error_event(error), int)
    assert _status(routed, "a") == DjangoJobExecution.ERROR


def test_handlers_called_with_the_store_as_alias_record_as_the_contract_says(
    store: DjangoJobStore, routed: str
) -> None:
    store.add_job(interval_job("a"))
    [run] = store.claim_jobs("me", NOW).runs
    event = events.JobExecutionEvent(events.EVENT_JOB_EXECUTED, "a", store, run.run_times[0])
    row_id = store.handle_execution_event(event)
    row = DjangoJobExecution.objects.db_manager(routed).get(id=row_id)
    assert row.status == DjangoJobExecution.SUCCESS and row.finished is not None


def test_an_unclaimed_occurrence_is_recorded_by_the_listeners(
    store: DjangoJobStore, routed: str
) -> None:
    store.add_job(interval_job("a"))
    moment = NOW + timedelta(hours=1)
    event = events.JobSubmissionEvent(events.EVENT_JOB_SUBMITTED, "a", "default", [moment])
    assert isinstance(store.handle_submission_event(event), int)
    assert _status(routed, "a") == DjangoJobExecution.SENT


def test_retention_trims_several_jobs_in_one_finish(routed: str) -> None:
    store = DjangoJobStore(max_runs_per_job=2)
    store.start(None, "default")
    for job_id in ("a", "b", "c"):
        store.add_job(interval_job(job_id, NOW - timedelta(seconds=100)))
    runs = store.claim_jobs("me", NOW).runs
    rows = DjangoJobExecution.objects.db_manager(routed)
    for job_id, extra in (("a", 4), ("b", 1)):
        for index in range(extra):
            rows.create(
                job_id=job_id,
                run_time=NOW + timedelta(seconds=index + 1),
                status=DjangoJobExecution.SUCCESS,
            )
    store.finish_runs(
        [RunOutcome(run.job.id, run.run_times[0], RunStatus.SUCCESS, NOW, "me") for run in runs]
    )
    counts = {job_id: rows.filter(job_id=job_id).count() for job_id in ("a", "b", "c")}
    assert counts == {"a": 2, "b": 2, "c": 1}
    newest = NOW + timedelta(seconds=4)
    assert rows.filter(job_id="a", run_time=newest).exists()


def test_a_worker_that_never_touched_the_orm_gets_no_connection(routed: str) -> None:
    found: list[list[str]] = []

    def worker() -> None:
        _release_worker_connections()
        found.append([conn.alias for conn in connections.all(initialized_only=True)])

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join(30)
    assert found == [[]]
