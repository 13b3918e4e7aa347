"""Tests for ``quartzite.events`` (API contract §7)."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from quartzite import events
from quartzite.events import (
    EVENT_ALL,
    EVENT_EXECUTOR_ADDED,
    EVENT_JOB_ADDED,
    EVENT_JOB_ERROR,
    EVENT_JOB_EXECUTED,
    EVENT_JOB_MAX_INSTANCES,
    EVENT_JOB_MISSED,
    EVENT_JOB_MODIFIED,
    EVENT_JOB_REMOVED,
    EVENT_JOB_SUBMITTED,
    EVENT_JOBSTORE_REMOVED,
    EVENT_SCHEDULER_SHUTDOWN,
    EVENT_SCHEDULER_START,
    EVENT_SCHEDULER_STARTED,
    JobEvent,
    JobExecutionEvent,
    JobSubmissionEvent,
    SchedulerEvent,
)

EXPECTED_CODES = {
    "EVENT_SCHEDULER_STARTED": 1,
    "EVENT_SCHEDULER_SHUTDOWN": 2,
    "EVENT_SCHEDULER_PAUSED": 4,
    "EVENT_SCHEDULER_RESUMED": 8,
    "EVENT_EXECUTOR_ADDED": 16,
    "EVENT_EXECUTOR_REMOVED": 32,
    "EVENT_JOBSTORE_ADDED": 64,
    "EVENT_JOBSTORE_REMOVED": 128,
    "EVENT_ALL_JOBS_REMOVED": 256,
    "EVENT_JOB_ADDED": 512,
    "EVENT_JOB_REMOVED": 1024,
    "EVENT_JOB_MODIFIED": 2048,
    "EVENT_JOB_EXECUTED": 4096,
    "EVENT_JOB_ERROR": 8192,
    "EVENT_JOB_MISSED": 16384,
    "EVENT_JOB_SUBMITTED": 32768,
    "EVENT_JOB_MAX_INSTANCES": 65536,
}
RUN_TIME = datetime(2020, 5, 17, 12, 30, tzinfo=timezone.utc)


@pytest.mark.parametrize(("name", "value"), sorted(EXPECTED_CODES.items()))
def test_event_code_values(name: str, value: int) -> None:
    assert getattr(events, name) == value
    assert type(getattr(events, name)) is int


def test_seventeen_distinct_bits() -> None:
    values = list(EXPECTED_CODES.values())
    assert len(set(values)) == 17
    assert all(value & (value - 1) == 0 for value in values)


def test_event_all() -> None:
    assert EVENT_ALL == 131071
    combined = 0
    for value in EXPECTED_CODES.values():
        combined |= value
    assert combined == EVENT_ALL


def test_scheduler_start_alias() -> None:
    assert EVENT_SCHEDULER_START == EVENT_SCHEDULER_STARTED == 1


def test_all() -> None:
    # quartzite may export names beyond the contract's, never fewer
    assert set(events.__all__) >= {
        *EXPECTED_CODES,
        "EVENT_ALL",
        "SchedulerEvent",
        "JobEvent",
        "JobSubmissionEvent",
        "JobExecutionEvent",
    }
    assert len(events.__all__) == len(set(events.__all__))
    assert "EVENT_SCHEDULER_START" not in events.__all__


def test_class_hierarchy() -> None:
    assert issubclass(JobEvent, SchedulerEvent)
    assert issubclass(JobSubmissionEvent, JobEvent)
    assert issubclass(JobExecutionEvent, JobEvent)


class TestSchedulerEvent:
    def test_attributes(self) -> None:
        event = SchedulerEvent(EVENT_EXECUTOR_ADDED, "default")
        assert event.code == EVENT_EXECUTOR_ADDED
        assert event.alias == "default"

    def test_alias_defaults_to_none(self) -> None:
        event = SchedulerEvent(EVENT_SCHEDULER_STARTED)
        assert event.alias is None

    def test_keyword_arguments(self) -> None:
        event = SchedulerEvent(code=EVENT_JOBSTORE_REMOVED, alias="other")
        assert (event.code, event.alias) == (EVENT_JOBSTORE_REMOVED, "other")

    def test_repr(self) -> None:
        # The reference prints a literal "<self.__class__.__name__ (code=N)>"; the contract
        # allows the class name to be filled in.
        assert repr(SchedulerEvent(EVENT_SCHEDULER_SHUTDOWN)) == "<SchedulerEvent (code=2)>"


class TestJobEvent:
    def test_attributes(self) -> None:
        event = JobEvent(EVENT_JOB_ADDED, "job1", "default")
        assert event.code == EVENT_JOB_ADDED
        assert event.job_id == "job1"
        assert event.jobstore == "default"
        assert event.alias is None

    def test_jobstore_none(self) -> None:
        event = JobEvent(EVENT_JOB_MODIFIED, "job1", None)
        assert event.jobstore is None

    def test_jobstore_is_required(self) -> None:
        with pytest.raises(TypeError):
            JobEvent(EVENT_JOB_REMOVED, "job1")  # type: ignore[call-arg]

    def test_repr(self) -> None:
        assert repr(JobEvent(EVENT_JOB_REMOVED, "x", "default")) == "<JobEvent (code=1024)>"


class TestJobSubmissionEvent:
    def test_attributes(self) -> None:
        run_times = [RUN_TIME, RUN_TIME.replace(minute=31)]
        event = JobSubmissionEvent(EVENT_JOB_SUBMITTED, "job1", "store", run_times)
        assert event.code == EVENT_JOB_SUBMITTED
        assert event.job_id == "job1"
        assert event.jobstore == "store"
        assert event.alias is None
        assert event.scheduled_run_times is run_times

    def test_repr(self) -> None:
        event = JobSubmissionEvent(EVENT_JOB_MAX_INSTANCES, "job1", "store", [RUN_TIME])
        assert repr(event) == "<JobSubmissionEvent (code=65536)>"


class TestJobExecutionEvent:
    def test_defaults(self) -> None:
        event = JobExecutionEvent(EVENT_JOB_EXECUTED, "job1", "default", RUN_TIME)
        assert event.code == EVENT_JOB_EXECUTED
        assert event.job_id == "job1"
        assert event.jobstore == "default"
        assert event.alias is None
        assert event.scheduled_run_time == RUN_TIME
        assert event.retval is None
        assert event.exception is None
        assert event.traceback is None

    def test_positional_arguments(self) -> None:
        exc = RuntimeError("boom")
        event = JobExecutionEvent(EVENT_JOB_ERROR, "job1", "default", RUN_TIME, 5, exc, "tb")
        assert event.retval == 5
        assert event.exception is exc
        assert event.traceback == "tb"

    def test_keyword_arguments(self) -> None:
        exc = RuntimeError("boom")
        event = JobExecutionEvent(
            code=EVENT_JOB_ERROR,
            job_id="job1",
            jobstore="default",
            scheduled_run_time=RUN_TIME,
            exception=exc,
            traceback='  File "x.py", line 1\n',
        )
        assert event.exception is exc
        assert event.traceback == '  File "x.py", line 1\n'
        assert event.retval is None

    def test_repr(self) -> None:
        event = JobExecutionEvent(EVENT_JOB_MISSED, "job1", "default", RUN_TIME)
        assert repr(event) == "<JobExecutionEvent (code=16384)>"
