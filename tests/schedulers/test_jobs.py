"""BaseScheduler's job management: add_job, scheduled_job, modify/reschedule/pause/resume,
get_jobs/get_job, remove_job/remove_all_jobs and print_jobs, before and after start (§2.5)."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any
from unittest import mock
from zoneinfo import ZoneInfo

import pytest

from quartzite.events import (
    EVENT_ALL_JOBS_REMOVED,
    EVENT_JOB_ADDED,
    EVENT_JOB_MODIFIED,
    EVENT_JOB_REMOVED,
    JobEvent,
    SchedulerEvent,
)
from quartzite.executors.debug import DebugExecutor
from quartzite.job import Job
from quartzite.jobstores.base import ConflictingIdError, JobLookupError
from quartzite.jobstores.memory import MemoryJobStore
from quartzite.triggers.date import DateTrigger
from quartzite.triggers.interval import IntervalTrigger
from quartzite.util import undefined
from support import DummyScheduler, EventRecorder, RecordingExecutor, dummy_job, no_args_job
from support.jobs import make_job

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2021, 6, 1, 12, 0, tzinfo=BERLIN)  # the fake clock's start (tests/conftest.py)
FAR = datetime(2099, 8, 8, tzinfo=BERLIN)


def test_fake_clock_start(freeze_time: Any) -> None:
    assert freeze_time.now(BERLIN) == NOW


def job_events(recorder: EventRecorder) -> list[tuple[int, str, str | None]]:
    return [
        (event.code, event.job_id, event.jobstore)  # type: ignore[attr-defined]
        for event in recorder.events
        if isinstance(event, JobEvent)
    ]


@pytest.fixture
def started(scheduler: DummyScheduler) -> DummyScheduler:
    """The scheduler, started, with a second memory store "other"."""
    scheduler.add_jobstore(MemoryJobStore(), "other")
    scheduler.start()
    return scheduler


# ---------------------------------------------------------------------------- add_job()


def test_add_job_with_every_parameter(started: DummyScheduler, recorder: EventRecorder) -> None:
    started.add_executor("debug", "exec")
    recorder.clear()
    wakeups = started.wakeups

    job = started.add_job(
        dummy_job,
        "interval",
        [1, 2],
        {"x": 3},
        "my-id",
        "my name",
        misfire_grace_time=30,
        coalesce=False,
        max_instances=4,
        next_run_time=datetime(2021, 6, 2, 8, 0),
        jobstore="other",
        executor="exec",
        replace_existing=False,
        minutes=5,
        start_date="2021-06-01 11:00:00",
    )

    assert isinstance(job, Job)
    assert job.func is dummy_job
    assert job.func_ref == f"{dummy_job.__module__}:dummy_job"
    assert job.args == (1, 2)
    assert job.kwargs == {"x": 3}
    assert job.id == "my-id"
    assert job.name == "my name"
    assert job.misfire_grace_time == 30
    assert job.coalesce is False
    assert job.max_instances == 4
    assert job.next_run_time == datetime(2021, 6, 2, 8, 0, tzinfo=BERLIN)
    assert job.executor == "exec"
    assert isinstance(job.trigger, IntervalTrigger)
    assert job.trigger.interval == timedelta(minutes=5)
    assert job.trigger.start_date == datetime(2021, 6, 1, 11, 0, tzinfo=BERLIN)
    assert job.trigger.timezone == BERLIN
    assert job._jobstore_alias == "other"
    assert job.pending is False
    assert job._scheduler is started
    assert started._jobstores["other"].lookup_job("my-id") is job
    assert started._jobstores["default"].get_all_jobs() == []
    assert job_events(recorder) == [(EVENT_JOB_ADDED, "my-id", "other")]
    assert started.wakeups == wakeups + 1


def test_add_job_defaults(started: DummyScheduler, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, "quartzite.scheduler")
    job = started.add_job(no_args_job)

    assert isinstance(job.trigger, DateTrigger)
    assert job.trigger.run_date == NOW  # trigger None: a date trigger for "now"
    assert job.next_run_time == NOW
    assert job.args == ()
    assert job.kwargs == {}
    assert len(job.id) == 32
    assert job.name == "no_args_job"
    assert job.executor == "default"
    assert job.misfire_grace_time == 1
    assert job.coalesce is True
    assert job.max_instances == 1
    assert job._jobstore_alias == "default"
    assert 'Added job "no_args_job" to job store "default"' in caplog.messages


def test_add_job_uses_scheduler_job_defaults(freeze_time: Any) -> None:
    scheduler = DummyScheduler(
        timezone="UTC",
        job_defaults={"misfire_grace_time": "7", "coalesce": "false", "max_instances": "3"},
    )
    scheduler.start()
    job = scheduler.add_job(no_args_job, max_instances=9)
    assert (job.misfire_grace_time, job.coalesce, job.max_instances) == (7, False, 9)


def test_add_job_args_are_converted(started: DummyScheduler) -> None:
    job = started.add_job(dummy_job, args=iter([1, 2]), kwargs=[("a", 1)])
    assert job.args == (1, 2)
    assert job.kwargs == {"a": 1}


def test_add_job_func_as_reference(started: DummyScheduler) -> None:
    job = started.add_job("quartzite.util:asbool", args=["yes"])
    assert job.func_ref == "quartzite.util:asbool"
    assert job.name == "asbool"


def test_add_job_trigger_instance(started: DummyScheduler) -> None:
    trigger = DateTrigger(FAR)
    job = started.add_job(no_args_job, trigger, run_date="ignored", timezone="ignored")
    assert job.trigger is trigger
    assert job.next_run_time == FAR


@pytest.mark.parametrize(("trigger", "typename"), [(1, "int"), (DateTrigger, "ABCMeta")])
def test_add_job_bad_trigger_type(scheduler: DummyScheduler, trigger: Any, typename: str) -> None:
    with pytest.raises(TypeError) as exc:
        scheduler.add_job(no_args_job, trigger)
    assert str(exc.value) == f"Expected a trigger instance or string, got {typename} instead"
    assert scheduler._pending_jobs == []


def test_add_job_unknown_trigger_alias(scheduler: DummyScheduler) -> None:
    with pytest.raises(LookupError) as exc:
        scheduler.add_job(no_args_job, "nonexistent")
    assert exc.value.args[0].startswith('No trigger by the name "nonexistent" was found (')


def test_trigger_timezone_defaults_to_the_schedulers(scheduler: DummyScheduler) -> None:
    job = scheduler.add_job(no_args_job, "interval", seconds=5)
    assert job.trigger.timezone is scheduler.timezone

    job = scheduler.add_job(no_args_job, "interval", seconds=5, timezone="Asia/Tokyo")
    assert job.trigger.timezone == ZoneInfo("Asia/Tokyo")

    job = scheduler.add_job(no_args_job, "date", run_date="2030-01-01 09:30:00")
    assert job.trigger.run_date == datetime(2030, 1, 1, 9, 30, tzinfo=BERLIN)


def test_create_trigger(scheduler: DummyScheduler) -> None:
    trigger = DateTrigger(FAR)
    trigger_args = {"run_date": "ignored"}
    assert scheduler._create_trigger(trigger, trigger_args) is trigger

    trigger_args = {"seconds": 3}
    created = scheduler._create_trigger("interval", trigger_args)
    assert isinstance(created, IntervalTrigger)
    assert trigger_args == {"seconds": 3, "timezone": scheduler.timezone}  # setdefault, in place

    created = scheduler._create_trigger(None, {})
    assert isinstance(created, DateTrigger)
    assert created.run_date == NOW


def test_interval_trigger_zone_from_start_date_on_the_fake_clock(
    scheduler: DummyScheduler,
) -> None:
    tokyo = ZoneInfo("Asia/Tokyo")
    job = scheduler.add_job(
        no_args_job,
        "interval",
        seconds=5,
        start_date=datetime(2030, 1, 1, tzinfo=tokyo),
        timezone=None,
    )
    assert job.trigger.timezone == tokyo


def test_add_job_validates_at_once(scheduler: DummyScheduler) -> None:
    with pytest.raises(ValueError, match="The list of positional arguments is longer"):
        scheduler.add_job(no_args_job, args=[1])
    with pytest.raises(TypeError, match=r"^max_instances must be a positive integer"):
        scheduler.add_job(no_args_job, max_instances=0)
    with pytest.raises(TypeError, match=r"^Unsupported type for next_run_time: int$"):
        scheduler.add_job(no_args_job, next_run_time=1)
    assert scheduler._pending_jobs == []


def test_add_job_while_stopped_is_pending(
    scheduler: DummyScheduler, recorder: EventRecorder, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "quartzite.scheduler")
    job = scheduler.add_job(dummy_job, "date", run_date=FAR, id="job", name="test job")

    assert scheduler._pending_jobs == [(job, "default", False)]
    assert job.pending is True
    assert job._jobstore_alias is None
    for attribute in ("misfire_grace_time", "coalesce", "max_instances", "next_run_time"):
        assert not hasattr(job, attribute), attribute
    assert str(job) == "test job (trigger: date[2099-08-08 00:00:00 CEST], pending)"
    assert recorder.events == []  # JOB_ADDED only when really added
    assert scheduler.wakeups == 0
    assert caplog.messages == [
        "Adding job tentatively -- it will be properly scheduled when the scheduler starts"
    ]

    scheduler.start()
    assert job.pending is False
    assert (job.misfire_grace_time, job.coalesce, job.max_instances) == (1, True, 1)
    assert job.next_run_time == FAR
    assert str(job) == (
        "test job (trigger: date[2099-08-08 00:00:00 CEST], next run at: 2099-08-08 00:00:00 CEST)"
    )


def test_pending_job_keeps_explicit_options(scheduler: DummyScheduler) -> None:
    job = scheduler.add_job(
        no_args_job,
        "interval",
        minutes=1,
        misfire_grace_time=None,
        coalesce=False,
        max_instances=2,
        next_run_time=FAR,
    )
    assert (job.misfire_grace_time, job.coalesce, job.max_instances) == (None, False, 2)
    scheduler.start()
    assert (job.misfire_grace_time, job.coalesce, job.max_instances) == (None, False, 2)
    assert job.next_run_time == FAR


def test_pending_job_first_run_time_computed_at_start(
    scheduler: DummyScheduler, freeze_time: Any
) -> None:
    job = scheduler.add_job(
        no_args_job, "interval", minutes=10, start_date=datetime(2021, 6, 1, 11, 0)
    )
    freeze_time.advance(minutes=15)  # 12:15 when the scheduler starts
    scheduler.start()
    assert job.next_run_time == datetime(2021, 6, 1, 12, 20, tzinfo=BERLIN)


def test_next_run_time_none_adds_paused_job(started: DummyScheduler) -> None:
    job = started.add_job(dummy_job, "interval", seconds=5, next_run_time=None, name="job")
    assert job.next_run_time is None
    assert str(job) == "job (trigger: interval[0:00:05], paused)"
    assert started._jobstores["default"].get_next_run_time() is None


@pytest.mark.parametrize(
    "value", [datetime(2030, 1, 1, 9, 30), "2030-01-01 09:30:00"], ids=["datetime", "str"]
)
def test_naive_next_run_time_is_in_scheduler_timezone(started: DummyScheduler, value: Any) -> None:
    job = started.add_job(no_args_job, "interval", seconds=5, next_run_time=value)
    assert job.next_run_time == datetime(2030, 1, 1, 9, 30, tzinfo=BERLIN)
    assert job.next_run_time.tzinfo == BERLIN


def test_add_job_conflicting_id(started: DummyScheduler, recorder: EventRecorder) -> None:
    started.add_job(no_args_job, id="job")
    recorder.clear()
    with pytest.raises(ConflictingIdError) as exc:
        started.add_job(dummy_job, id="job")
    assert exc.value.args == ("Job identifier (job) conflicts with an existing job",)
    assert started.get_job("job").func is no_args_job  # type: ignore[union-attr]
    assert recorder.events == []


def test_add_job_replace_existing(started: DummyScheduler, recorder: EventRecorder) -> None:
    started.add_job(no_args_job, id="job")
    recorder.clear()
    replacement = started.add_job(dummy_job, id="job", args=[1], replace_existing=True)
    assert started.get_job("job") is replacement
    assert len(started.get_jobs()) == 1
    assert job_events(recorder) == [(EVENT_JOB_ADDED, "job", "default")]


def test_replacing_with_the_same_schedule_keeps_the_pending_run(
    started: DummyScheduler, freeze_time: Any
) -> None:
    # Every worker of a web application adds its jobs at boot: a later boot must not push the
    # next run further off (an interval trigger built later starts later).
    first = started.add_job(dummy_job, "interval", minutes=10, id="job", replace_existing=True)
    freeze_time.advance(minutes=7)
    second = started.add_job(dummy_job, "interval", minutes=10, id="job", replace_existing=True)
    assert second.next_run_time == first.next_run_time
    assert started.get_job("job").next_run_time == first.next_run_time  # type: ignore[union-attr]


def test_replacing_a_paused_job_with_the_same_schedule_keeps_it_paused(
    started: DummyScheduler,
) -> None:
    started.add_job(dummy_job, "interval", minutes=10, id="job").pause()
    again = started.add_job(dummy_job, "interval", minutes=10, id="job", replace_existing=True)
    assert again.next_run_time is None
    assert started.get_job("job").next_run_time is None  # type: ignore[union-attr]


def test_replacing_with_another_schedule_or_an_explicit_time_takes_the_new_one(
    started: DummyScheduler, freeze_time: Any
) -> None:
    first = started.add_job(dummy_job, "interval", minutes=10, id="job")
    freeze_time.advance(minutes=7)
    changed = started.add_job(dummy_job, "interval", minutes=5, id="job", replace_existing=True)
    assert changed.next_run_time == first.next_run_time + timedelta(minutes=2)  # type: ignore[operator]
    explicit = freeze_time.now(started.timezone) + timedelta(hours=1)
    again = started.add_job(
        dummy_job, "interval", minutes=5, id="job", next_run_time=explicit, replace_existing=True
    )
    assert again.next_run_time == explicit


def test_pending_jobs_replace_existing_at_start(scheduler: DummyScheduler) -> None:
    scheduler.add_job(no_args_job, id="job")
    replacement = scheduler.add_job(dummy_job, id="job", replace_existing=True)
    scheduler.start()
    assert scheduler.get_jobs() == [replacement]
    assert scheduler.get_job("job") is replacement


def test_add_job_unknown_jobstore(started: DummyScheduler) -> None:
    with pytest.raises(KeyError) as exc:
        started.add_job(no_args_job, jobstore="nonexistent")
    assert str(exc.value) == (
        "No such job store: nonexistent -- the job stores of this scheduler are: 'default', 'other'"
    )
    assert started.get_jobs() == []


def test_add_job_does_not_wake_paused_scheduler(scheduler: DummyScheduler) -> None:
    scheduler.start(paused=True)
    scheduler.add_job(no_args_job)
    assert scheduler.wakeups == 0


def test_real_add_job_fills_in_defaults_with_one_modify(started: DummyScheduler) -> None:
    job = Job(
        started, func=no_args_job, args=(), kwargs={}, trigger=DateTrigger(FAR), executor="default"
    )
    with mock.patch.object(Job, "_modify", autospec=True, side_effect=Job._modify) as modify:
        started._real_add_job(job, "other", False)
    modify.assert_called_once_with(
        job, misfire_grace_time=1, coalesce=True, max_instances=1, next_run_time=FAR
    )
    assert job._jobstore_alias == "other"


# ---------------------------------------------------------------------------- scheduled_job()


def test_scheduled_job_call_shape(scheduler: DummyScheduler) -> None:
    with mock.patch.object(scheduler, "add_job") as add_job:
        decorator = scheduler.scheduled_job(
            "interval",
            [1],
            {"x": 2},
            "id",
            "name",
            30,
            False,
            3,
            FAR,
            "store",
            "exec",
            seconds=5,
        )
        assert decorator(dummy_job) is dummy_job

        scheduler.scheduled_job("date")(no_args_job)

    assert add_job.call_args_list == [
        mock.call(
            dummy_job,
            "interval",
            [1],
            {"x": 2},
            "id",
            "name",
            30,
            False,
            3,
            FAR,
            "store",
            "exec",
            True,
            seconds=5,
        ),
        mock.call(
            no_args_job,
            "date",
            None,
            None,
            None,
            None,
            undefined,
            undefined,
            undefined,
            undefined,
            "default",
            "default",
            True,
        ),
    ]


def test_scheduled_job_adds_and_replaces(scheduler: DummyScheduler) -> None:
    @scheduler.scheduled_job("interval", id="job", seconds=10)
    def job_func() -> None:
        pass

    assert callable(job_func)
    assert job_func.__name__ == "job_func"
    (job,) = scheduler.get_jobs()
    assert job.func is job_func
    assert isinstance(job.trigger, IntervalTrigger)

    scheduler.start()

    # replace_existing is always True: decorating again with the same id replaces the job
    scheduler.scheduled_job("interval", id="job", seconds=20)(no_args_job)
    (job,) = scheduler.get_jobs()
    assert job.func is no_args_job


# ---------------------------------------------------------------------------- modify_job()


def test_modify_job(started: DummyScheduler, recorder: EventRecorder) -> None:
    job = started.add_job(dummy_job, "date", run_date=FAR, id="job", jobstore="other")
    recorder.clear()
    wakeups = started.wakeups

    returned = started.modify_job("job", name="renamed", args=[1], next_run_time=NOW)

    assert returned is job
    assert job.name == "renamed"
    assert job.args == [1]
    assert job.next_run_time == NOW
    # the store was updated: its ordering knows the new run time
    assert started._jobstores["other"].get_next_run_time() == NOW
    assert job_events(recorder) == [(EVENT_JOB_MODIFIED, "job", "other")]
    assert started.wakeups == wakeups + 1


def test_modify_job_paused_scheduler_no_wakeup(scheduler: DummyScheduler) -> None:
    scheduler.start(paused=True)
    scheduler.add_job(no_args_job, id="job")
    scheduler.modify_job("job", name="x")
    assert scheduler.wakeups == 0


def test_modify_job_in_given_store_only(started: DummyScheduler) -> None:
    started.add_job(no_args_job, id="job", jobstore="other")
    with pytest.raises(JobLookupError):
        started.modify_job("job", "default", name="x")
    assert started.modify_job("job", "other", name="x").name == "x"


def test_modify_job_unknown(started: DummyScheduler, recorder: EventRecorder) -> None:
    with pytest.raises(JobLookupError) as exc:
        started.modify_job("nonexistent", name="x")
    assert exc.value.args == ("No job by the id of nonexistent was found",)
    assert recorder.events == []


def test_modify_job_invalid_change_leaves_job_alone(started: DummyScheduler) -> None:
    job = started.add_job(no_args_job, id="job", name="name")
    with pytest.raises(AttributeError):
        started.modify_job("job", name="new", foo=1)
    assert job.name == "name"


# ---------------------------------------------------------------- reschedule/pause/resume


def test_reschedule_job(started: DummyScheduler, recorder: EventRecorder) -> None:
    started.add_job(no_args_job, "date", run_date=FAR, id="job")
    recorder.clear()

    job = started.reschedule_job("job", trigger="interval", minutes=5)
    assert isinstance(job.trigger, IntervalTrigger)
    assert job.trigger.timezone is started.timezone
    assert job.next_run_time == NOW + timedelta(minutes=5)
    assert job_events(recorder) == [(EVENT_JOB_MODIFIED, "job", "default")]

    # no trigger: "run now"
    job = started.reschedule_job("job")
    assert isinstance(job.trigger, DateTrigger)
    assert job.next_run_time == NOW


def test_reschedule_job_calls_modify_job(started: DummyScheduler) -> None:
    started.add_job(no_args_job, "date", run_date=FAR, id="job")
    trigger = DateTrigger("2030-01-01 00:00:00", "UTC")
    with mock.patch.object(started, "modify_job") as modify_job:
        started.reschedule_job("job", "default", trigger)
    modify_job.assert_called_once_with(
        "job", "default", trigger=trigger, next_run_time=trigger.run_date
    )


def test_pause_job(started: DummyScheduler, recorder: EventRecorder) -> None:
    started.add_job(no_args_job, "interval", seconds=5, id="job")
    recorder.clear()
    job = started.pause_job("job")
    assert job.next_run_time is None
    assert started._jobstores["default"].get_next_run_time() is None
    assert job_events(recorder) == [(EVENT_JOB_MODIFIED, "job", "default")]


def test_resume_job(started: DummyScheduler, recorder: EventRecorder, freeze_time: Any) -> None:
    started.add_job(no_args_job, "interval", minutes=10, start_date="2021-06-01 11:00:00", id="job")
    started.pause_job("job")
    freeze_time.advance(minutes=25)  # 12:25
    recorder.clear()

    job = started.resume_job("job")
    assert job is not None
    assert job.next_run_time == datetime(2021, 6, 1, 12, 30, tzinfo=BERLIN)
    assert job_events(recorder) == [(EVENT_JOB_MODIFIED, "job", "default")]


def test_resume_finished_job_removes_it(started: DummyScheduler, recorder: EventRecorder) -> None:
    started.add_job(
        no_args_job,
        "interval",
        minutes=10,
        start_date="2021-06-01 10:00:00",
        end_date="2021-06-01 11:00:00",
        id="job",
        next_run_time=None,
        jobstore="other",
    )
    recorder.clear()
    assert started.resume_job("job") is None
    assert started.get_job("job") is None
    assert job_events(recorder) == [(EVENT_JOB_REMOVED, "job", "other")]


@pytest.mark.parametrize("method", ["pause_job", "resume_job", "reschedule_job"])
def test_job_lookup_errors(started: DummyScheduler, method: str) -> None:
    with pytest.raises(JobLookupError):
        getattr(started, method)("nonexistent")


# ---------------------------------------------------------------------------- get_jobs / get_job


def test_get_jobs(started: DummyScheduler) -> None:
    late = started.add_job(no_args_job, "date", run_date=FAR, id="late")
    paused = started.add_job(no_args_job, "date", run_date=FAR, id="paused", next_run_time=None)
    early = started.add_job(no_args_job, "date", run_date=NOW, id="early")
    other = started.add_job(no_args_job, "date", run_date=NOW, id="other", jobstore="other")

    # store by store in the order they were added ("default" was added by start(), after
    # "other"), each ordered by run time with paused jobs last
    assert list(started._jobstores) == ["other", "default"]
    assert started.get_jobs() == [other, early, late, paused]
    assert started.get_jobs("other") == [other]
    assert started.get_jobs("default") == [early, late, paused]
    assert started.get_jobs("nonexistent") == []


@pytest.mark.parametrize("pending", [True, False])
def test_get_jobs_pending_is_deprecated(started: DummyScheduler, pending: bool) -> None:
    job = started.add_job(no_args_job)
    with pytest.warns(DeprecationWarning):
        assert started.get_jobs(pending=pending) == [job]


def test_get_jobs_without_pending_does_not_warn(
    started: DummyScheduler, recwarn: pytest.WarningsRecorder
) -> None:
    started.get_jobs()
    started.get_jobs(pending=None)
    assert not [w for w in recwarn if issubclass(w.category, DeprecationWarning)]


def test_get_job(started: DummyScheduler) -> None:
    job = started.add_job(no_args_job, id="job", jobstore="other")
    assert started.get_job("job") is job
    assert started.get_job("job", "other") is job
    assert started.get_job("job", "default") is None
    assert started.get_job("job", "nonexistent") is None
    assert started.get_job("nonexistent") is None


def test_lookup_job(started: DummyScheduler) -> None:
    job = started.add_job(no_args_job, id="job", jobstore="other")
    assert started._lookup_job("job", None) == (job, "other")
    with pytest.raises(JobLookupError):
        started._lookup_job("job", "default")


# ---------------------------------------------------------------------------- remove_job / all


def test_remove_job(
    started: DummyScheduler, recorder: EventRecorder, caplog: pytest.LogCaptureFixture
) -> None:
    started.add_job(no_args_job, id="job", jobstore="other")
    started.add_job(no_args_job, id="kept")
    recorder.clear()
    caplog.set_level(logging.INFO, "quartzite.scheduler")

    assert started.remove_job("job") is None
    assert started.get_job("job") is None
    assert [job.id for job in started.get_jobs()] == ["kept"]
    assert job_events(recorder) == [(EVENT_JOB_REMOVED, "job", "other")]
    assert "Removed job job" in caplog.messages


def test_remove_job_in_given_store(started: DummyScheduler) -> None:
    started.add_job(no_args_job, id="job", jobstore="other")
    with pytest.raises(JobLookupError) as exc:
        started.remove_job("job", "default")
    assert exc.value.args == ("No job by the id of job was found",)
    started.remove_job("job", "other")
    assert started.get_jobs() == []


def test_remove_job_unknown(started: DummyScheduler, recorder: EventRecorder) -> None:
    recorder.clear()
    with pytest.raises(JobLookupError):
        started.remove_job("nonexistent")
    assert recorder.events == []


@pytest.mark.parametrize("jobstore", [None, "other"])
def test_remove_all_jobs(started: DummyScheduler, recorder: EventRecorder, jobstore: Any) -> None:
    started.add_job(no_args_job, id="a")
    started.add_job(no_args_job, id="b", jobstore="other")
    recorder.clear()

    started.remove_all_jobs(jobstore)

    assert [job.id for job in started.get_jobs()] == ([] if jobstore is None else ["a"])
    assert [(type(e), e.code, e.alias) for e in recorder.events] == [
        (SchedulerEvent, EVENT_ALL_JOBS_REMOVED, jobstore)
    ]


# ---------------------------------------------------------------------------- pending jobs


@pytest.fixture
def pending(scheduler: DummyScheduler, recorder: EventRecorder) -> DummyScheduler:
    """A stopped scheduler with pending jobs "a" (default store) and "b" (store "other")."""
    scheduler.add_jobstore(MemoryJobStore(), "other")
    scheduler.add_job(dummy_job, "date", run_date=FAR, id="a", name="job a")
    scheduler.add_job(dummy_job, "date", run_date=FAR, id="b", name="job b", jobstore="other")
    recorder.clear()
    return scheduler


def test_pending_get_jobs_and_get_job(pending: DummyScheduler) -> None:
    a, b = (entry[0] for entry in pending._pending_jobs)
    assert pending.get_jobs() == [a, b]
    assert pending.get_jobs("other") == [b]
    assert pending.get_jobs("nonexistent") == []
    assert pending.get_job("b") is b
    # the lookup by id ignores the jobstore argument while the scheduler is stopped
    assert pending.get_job("b", "default") is b
    assert pending.get_job("nonexistent") is None
    assert pending._lookup_job("b", "default") == (b, None)


def test_pending_modify_job(pending: DummyScheduler, recorder: EventRecorder) -> None:
    job = pending.modify_job("b", "default", name="renamed", max_instances=3)
    assert job.name == "renamed"
    assert job.max_instances == 3
    assert job.pending
    assert not hasattr(job, "next_run_time")
    # no store is touched
    assert pending._jobstores["other"].get_all_jobs() == []
    assert job_events(recorder) == [(EVENT_JOB_MODIFIED, "b", None)]
    assert pending.wakeups == 0

    pending.start()
    assert pending.get_job("b", "other") is job
    assert (job.name, job.max_instances) == ("renamed", 3)


def test_pending_pause_job(pending: DummyScheduler, recorder: EventRecorder) -> None:
    job = pending.pause_job("a")
    assert job.next_run_time is None
    assert str(job) == "job a (trigger: date[2099-08-08 00:00:00 CEST], paused)"
    assert job_events(recorder) == [(EVENT_JOB_MODIFIED, "a", None)]
    pending.start()
    assert job.next_run_time is None  # still paused once really added


def test_pending_reschedule_job(pending: DummyScheduler, recorder: EventRecorder) -> None:
    job = pending.reschedule_job("a", trigger="interval", hours=1)
    assert isinstance(job.trigger, IntervalTrigger)
    assert job.next_run_time == NOW + timedelta(hours=1)
    assert job_events(recorder) == [(EVENT_JOB_MODIFIED, "a", None)]


def test_pending_resume_job(pending: DummyScheduler, recorder: EventRecorder) -> None:
    pending.pause_job("a")
    recorder.clear()
    job = pending.resume_job("a")
    assert job is not None
    assert job.next_run_time == FAR
    assert job_events(recorder) == [(EVENT_JOB_MODIFIED, "a", None)]


def test_pending_resume_finished_job(pending: DummyScheduler, recorder: EventRecorder) -> None:
    pending.add_job(
        no_args_job,
        "interval",
        minutes=1,
        start_date="2021-01-01 00:00:00",
        end_date="2021-01-02 00:00:00",
        id="finished",
        jobstore="other",
    )
    recorder.clear()
    assert pending.resume_job("finished") is None
    assert [entry[0].id for entry in pending._pending_jobs] == ["a", "b"]
    assert job_events(recorder) == [(EVENT_JOB_REMOVED, "finished", "other")]


def test_pending_remove_job(pending: DummyScheduler, recorder: EventRecorder) -> None:
    # remove_job matches the jobstore argument (unlike the lookups)
    with pytest.raises(JobLookupError):
        pending.remove_job("b", "default")
    pending.remove_job("b", "other")
    pending.remove_job("a")
    assert pending._pending_jobs == []
    assert job_events(recorder) == [
        (EVENT_JOB_REMOVED, "b", "other"),
        (EVENT_JOB_REMOVED, "a", "default"),
    ]
    with pytest.raises(JobLookupError):
        pending.remove_job("a")


def test_pending_remove_job_removes_first_match_only(pending: DummyScheduler) -> None:
    again = pending.add_job(dummy_job, id="a", jobstore="other", replace_existing=True)
    pending.remove_job("a")
    assert [(job.id, alias) for job, alias, _ in pending._pending_jobs] == [
        ("b", "other"),
        ("a", "other"),
    ]
    assert pending.get_job("a") is again


@pytest.mark.parametrize(("jobstore", "left"), [(None, []), ("other", ["a"]), ("default", ["b"])])
def test_pending_remove_all_jobs(
    pending: DummyScheduler, recorder: EventRecorder, jobstore: Any, left: list[str]
) -> None:
    pending.remove_all_jobs(jobstore)
    assert [entry[0].id for entry in pending._pending_jobs] == left
    assert [(e.code, e.alias) for e in recorder.events] == [(EVENT_ALL_JOBS_REMOVED, jobstore)]


def test_pending_job_methods(pending: DummyScheduler, recorder: EventRecorder) -> None:
    """Job.modify/reschedule/pause/resume/remove go through the scheduler (pending: alias None)."""
    job = pending.get_job("b")
    assert job is not None
    assert job.modify(name="x") is job
    assert job.pause() is job
    assert job.resume() is job
    assert job.reschedule("date", run_date=FAR) is job
    assert job.remove() is None
    assert job_events(recorder) == [
        (EVENT_JOB_MODIFIED, "b", None),
        (EVENT_JOB_MODIFIED, "b", None),
        (EVENT_JOB_MODIFIED, "b", None),
        (EVENT_JOB_MODIFIED, "b", None),
        (EVENT_JOB_REMOVED, "b", "other"),
    ]


def test_pending_jobs_are_applied_at_start(
    pending: DummyScheduler, recorder: EventRecorder
) -> None:
    pending.pause_job("a")
    pending.start()
    assert [job.id for job in pending.get_jobs("default")] == ["a"]
    assert [job.id for job in pending.get_jobs("other")] == ["b"]
    assert pending.get_job("a").next_run_time is None  # type: ignore[union-attr]
    assert pending.get_job("b").next_run_time == FAR  # type: ignore[union-attr]
    assert job_events(recorder)[-2:] == [
        (EVENT_JOB_ADDED, "a", "default"),
        (EVENT_JOB_ADDED, "b", "other"),
    ]


# ---------------------------------------------------------------------------- print_jobs()


def printed(scheduler: DummyScheduler, jobstore: str | None = None) -> str:
    out = io.StringIO()
    scheduler.print_jobs(jobstore, out)
    return out.getvalue()


def test_print_jobs_stopped(pending: DummyScheduler) -> None:
    assert printed(pending) == (
        "Pending jobs:\n"
        "    job a (trigger: date[2099-08-08 00:00:00 CEST], pending)\n"
        "    job b (trigger: date[2099-08-08 00:00:00 CEST], pending)\n"
    )
    assert printed(pending, "other") == (
        "Pending jobs:\n    job b (trigger: date[2099-08-08 00:00:00 CEST], pending)\n"
    )


def test_print_jobs_stopped_filter_matching_nothing(pending: DummyScheduler) -> None:
    # Quirk: no "No pending jobs" line when pending jobs exist but none is in that store
    assert printed(pending, "nonexistent") == "Pending jobs:\n"


def test_print_jobs_stopped_without_jobs(scheduler: DummyScheduler) -> None:
    assert printed(scheduler) == "Pending jobs:\n    No pending jobs\n"
    assert printed(scheduler, "other") == "Pending jobs:\n    No pending jobs\n"


def test_print_jobs_started(scheduler: DummyScheduler) -> None:
    scheduler.add_jobstore(MemoryJobStore(), "zzz")
    scheduler.add_jobstore(MemoryJobStore(), "other")
    scheduler.start()  # "default" is added last
    scheduler.add_job(dummy_job, "date", run_date=FAR, name="test job 2", jobstore="other")
    scheduler.add_job(
        dummy_job, "interval", hours=1, name="test job 1", jobstore="other", next_run_time=None
    )

    # stores sorted by alias; jobs by next run time, paused last
    assert printed(scheduler) == (
        "Jobstore default:\n"
        "    No scheduled jobs\n"
        "Jobstore other:\n"
        "    test job 2 (trigger: date[2099-08-08 00:00:00 CEST], "
        "next run at: 2099-08-08 00:00:00 CEST)\n"
        "    test job 1 (trigger: interval[1:00:00], paused)\n"
        "Jobstore zzz:\n"
        "    No scheduled jobs\n"
    )
    assert printed(scheduler, "zzz") == "Jobstore zzz:\n    No scheduled jobs\n"
    assert printed(scheduler, "nonexistent") == ""


def test_print_jobs_defaults_to_stdout(
    scheduler: DummyScheduler, capsys: pytest.CaptureFixture[str]
) -> None:
    scheduler.print_jobs()
    assert capsys.readouterr().out == "Pending jobs:\n    No pending jobs\n"


# ------------------------------------------------- unknown aliases: refused when the job is added


def test_add_job_with_an_unknown_executor_is_refused_at_once(
    started: DummyScheduler, recorder: EventRecorder
) -> None:
    started.add_executor(DebugExecutor(), "fast")
    recorder.clear()
    with pytest.raises(LookupError) as exc:
        started.add_job(no_args_job, executor="fsat")
    assert isinstance(exc.value, KeyError)  # the contract's lookup error type
    assert str(exc.value) == (
        "No such executor: fsat -- the executors of this scheduler are: 'default', 'fast'; "
        "did you mean 'fast'?"
    )
    assert started.get_jobs() == []
    assert recorder.events == []


def test_add_job_consults_a_lookup_executor_replaced_on_the_instance(
    started: DummyScheduler,
) -> None:
    """The alias check has a fast path; a lookup replaced on the instance still decides."""
    started._lookup_executor = mock.Mock(side_effect=KeyError("No such executor: default"))
    with pytest.raises(LookupError, match="No such executor: default"):
        started.add_job(no_args_job)
    started._lookup_executor.assert_called_once_with("default")
    assert started.get_jobs() == []


def test_add_job_consults_a_lookup_jobstore_patched_on_the_class_after_import(
    started: DummyScheduler,
) -> None:
    lookup = mock.Mock(side_effect=KeyError("No such job store: default"))
    with mock.patch.object(DummyScheduler, "_lookup_jobstore", lookup):
        with pytest.raises(LookupError, match="No such job store: default"):
            started.add_job(no_args_job)
    lookup.assert_called_once_with("default")


def test_pending_job_with_an_unknown_executor_stops_start_before_anything_starts(
    scheduler: DummyScheduler,
) -> None:
    executor = RecordingExecutor()
    scheduler.add_executor(executor, "default")
    scheduler.add_job(no_args_job, id="lost", executor="nope")
    with pytest.raises(KeyError) as exc:
        scheduler.start()
    assert str(exc.value) == (
        "No such executor: nope (named by pending job 'lost') -- the executors of this "
        "scheduler are: 'default'"
    )
    assert not scheduler.running
    assert executor.calls == []  # not started
    assert [job.id for job in scheduler.get_jobs()] == ["lost"]  # still pending, fixable


def test_pending_job_with_an_unknown_jobstore_stops_start(scheduler: DummyScheduler) -> None:
    scheduler.add_job(no_args_job, id="lost", jobstore="othr")
    scheduler.add_jobstore(MemoryJobStore(), "other")
    with pytest.raises(KeyError) as exc:
        scheduler.start()
    assert str(exc.value) == (
        "No such job store: othr (named by pending job 'lost') -- the job stores of this "
        "scheduler are: 'default', 'other'; did you mean 'other'?"
    )


@pytest.mark.parametrize("argument", ["executor", "jobstore"])
def test_add_job_refuses_an_alias_that_is_not_a_string(
    scheduler: DummyScheduler, argument: str
) -> None:
    with pytest.raises(TypeError) as exc:
        scheduler.add_job(no_args_job, **{argument: 1})
    assert str(exc.value) == (
        f"add_job: {argument} must be the alias (a str) of a configured {argument}, got int: 1"
    )
    assert scheduler._pending_jobs == []


def test_add_job_alias_check_goes_through_the_lookup_methods(started: DummyScheduler) -> None:
    # APScheduler-era code replaces _lookup_executor on the instance; the check must honour it.
    started._lookup_executor = mock.MagicMock()  # type: ignore[method-assign]
    job = started.add_job(no_args_job, executor="provided-by-the-mock")
    started._lookup_executor.assert_called_with("provided-by-the-mock")
    assert started.get_job(job.id) is not None


@pytest.mark.parametrize(
    "options, wanted",
    [
        ({"args": 5}, "add_job: args must be a list or tuple of positional arguments"),
        ({"args": "abc"}, "add_job: args must be a list or tuple of positional arguments"),
        ({"kwargs": "x"}, "add_job: kwargs must be a mapping of keyword arguments"),
        ({"kwargs": [1]}, "add_job: kwargs must be a mapping of keyword arguments"),
    ],
)
def test_add_job_refuses_args_and_kwargs_of_the_wrong_shape(
    scheduler: DummyScheduler, options: dict[str, Any], wanted: str
) -> None:
    with pytest.raises(TypeError) as exc:
        scheduler.add_job(no_args_job, **options)
    [value] = options.values()
    assert str(exc.value).startswith(wanted)
    assert str(exc.value).endswith(f"got {type(value).__name__}: {value!r}")


def test_add_job_takes_kwargs_as_key_value_pairs(scheduler: DummyScheduler) -> None:
    job = scheduler.add_job(dummy_job, args=[1], kwargs=[("b", 2)])
    assert job.kwargs == {"b": 2}


class BatchingStore(MemoryJobStore):
    """A memory store that notes its ``batch_adds`` blocks and the adds made inside them."""

    def __init__(self) -> None:
        super().__init__()
        self.log: list[str] = []
        self._inside = False

    @contextmanager
    def _batch(self) -> Iterator[None]:
        self.log.append("enter")
        self._inside = True
        try:
            yield
        finally:
            self._inside = False
            self.log.append("exit")

    def batch_adds(self) -> Any:
        return self._batch()

    def add_job(self, job: Job) -> None:
        self.log.append(f"add {job.id} {'inside' if self._inside else 'outside'}")
        super().add_job(job)


def test_start_adds_the_pending_jobs_inside_each_stores_batch(scheduler: DummyScheduler) -> None:
    first, second, idle = BatchingStore(), BatchingStore(), BatchingStore()
    scheduler.add_jobstore(first, "first")
    scheduler.add_jobstore(second, "second")
    scheduler.add_jobstore(idle, "idle")
    for job_id, alias in (("a", "first"), ("b", "second"), ("c", "first")):
        scheduler.add_job(dummy_job, "date", run_date=FAR, id=job_id, jobstore=alias)

    scheduler.start(paused=True)

    assert first.log == ["enter", "add a inside", "add c inside", "exit"]
    assert second.log == ["enter", "add b inside", "exit"]
    assert idle.log == []  # no pending job for it: no batch
    scheduler.add_job(dummy_job, "date", run_date=FAR, id="d", jobstore="first")
    assert first.log[-1] == "add d outside"  # only the jobs given before start() are batched


def test_a_conflict_at_start_keeps_the_jobs_added_before_it(scheduler: DummyScheduler) -> None:
    store = BatchingStore()
    scheduler.add_jobstore(store, "store")
    store.add_job(make_job(scheduler, id="b"))  # already stored: "b" below conflicts
    scheduler.add_job(dummy_job, "date", run_date=FAR, id="a", jobstore="store")
    scheduler.add_job(dummy_job, "date", run_date=FAR, id="b", jobstore="store")

    with pytest.raises(ConflictingIdError):
        scheduler.start()

    assert store.log[-1] == "exit"
    assert sorted(job.id for job in store.get_all_jobs()) == ["a", "b"]
