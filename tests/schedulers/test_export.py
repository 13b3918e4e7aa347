"""export_jobs() / import_jobs() (API contract §2.5)."""

from __future__ import annotations

import io
import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

import quartzite
from quartzite.jobstores.memory import MemoryJobStore
from quartzite.triggers.date import DateTrigger
from quartzite.triggers.interval import IntervalTrigger
from support import DummyScheduler, EventRecorder, dummy_job

BERLIN = ZoneInfo("Europe/Berlin")
FAR = datetime(2099, 8, 8, tzinfo=BERLIN)


@pytest.fixture
def source(scheduler: DummyScheduler) -> DummyScheduler:
    """A started scheduler holding an interval job (store "default") and a date job ("other")."""
    scheduler.add_jobstore(MemoryJobStore(), "other")
    scheduler.start()
    scheduler.add_job(
        dummy_job,
        "interval",
        [1, FAR],
        {"when": FAR, "text": "x"},
        id="interval",
        name="interval job",
        minutes=5,
        start_date="2021-06-01 12:00:00",
        misfire_grace_time=None,
        coalesce=False,
        max_instances=2,
    )
    scheduler.add_job(
        dummy_job, "date", id="date", run_date=FAR, jobstore="other", next_run_time=None
    )
    return scheduler


@pytest.fixture
def target(freeze_time: Any, timezone: Any) -> DummyScheduler:
    scheduler = DummyScheduler(timezone=timezone)
    scheduler.add_jobstore(MemoryJobStore(), "other")
    scheduler.start()
    return scheduler


def test_export_requires_started_scheduler(scheduler: DummyScheduler) -> None:
    with pytest.raises(RuntimeError) as exc:
        scheduler.export_jobs(io.StringIO())
    assert str(exc.value) == "the scheduler must have been started for job export to work"


def test_export_document(source: DummyScheduler) -> None:
    out = io.StringIO()
    source.export_jobs(out)
    document = json.loads(out.getvalue())

    assert list(document) == ["version", "scheduler_version", "jobs"]
    assert document["version"] == 1
    assert document["scheduler_version"] == quartzite.version
    # store "other" was added before start() added "default"
    assert [job["id"] for job in document["jobs"]] == ["date", "interval"]

    state = document["jobs"][1]
    assert set(state) == {
        "version",
        "id",
        "func",
        "trigger",
        "executor",
        "args",
        "kwargs",
        "name",
        "misfire_grace_time",
        "coalesce",
        "max_instances",
        "next_run_time",
    }
    assert state["func"] == f"{dummy_job.__module__}:dummy_job"
    assert state["args"][0] == 1  # a tuple becomes a JSON list
    assert set(state["args"][1]) == {"__quartzite_pickle__"}  # a datetime is pickled
    assert state["kwargs"]["text"] == "x"
    assert set(state["kwargs"]["when"]) == {"__quartzite_pickle__"}
    assert (state["misfire_grace_time"], state["coalesce"], state["max_instances"]) == (
        None,
        False,
        2,
    )
    trigger = state["trigger"]
    assert set(trigger) == {"__quartzite_class__", "__quartzite_state__"}
    assert trigger["__quartzite_class__"] == "quartzite.triggers.interval:IntervalTrigger"
    assert trigger["__quartzite_state__"]["version"] == 2


def test_export_one_jobstore(source: DummyScheduler) -> None:
    out = io.StringIO()
    source.export_jobs(out, "other")
    assert [job["id"] for job in json.loads(out.getvalue())["jobs"]] == ["date"]


def assert_same_jobs(imported: list[Any], exported: list[Any]) -> None:
    assert sorted(job.id for job in imported) == sorted(job.id for job in exported)
    by_id = {job.id: job for job in exported}
    for new in imported:
        old = by_id[new.id]
        assert new is not old
        for attribute in (
            "id",
            "func",
            "func_ref",
            "kwargs",
            "name",
            "executor",
            "misfire_grace_time",
            "coalesce",
            "max_instances",
            "next_run_time",
        ):
            assert getattr(new, attribute) == getattr(old, attribute), attribute
        assert new.args == list(old.args)  # args come back as a list
        assert type(new.trigger) is type(old.trigger)
        assert new.trigger.__getstate__() == old.trigger.__getstate__()


def test_round_trip_through_file_objects(
    source: DummyScheduler, target: DummyScheduler, recorder: EventRecorder
) -> None:
    buffer = io.StringIO()
    source.export_jobs(buffer)
    buffer.seek(0)
    target_events = EventRecorder()
    target.add_listener(target_events)
    wakeups = target.wakeups

    target.import_jobs(buffer)  # everything goes to "default"

    imported = target.get_jobs("default")
    assert_same_jobs(imported, source.get_jobs())
    assert target.get_jobs("other") == []
    assert isinstance(imported[0].trigger, IntervalTrigger)
    assert imported[0].trigger.interval == timedelta(minutes=5)
    assert imported[0].kwargs["when"] == FAR
    assert isinstance(imported[1].trigger, DateTrigger)
    assert imported[1].next_run_time is None
    # no events, no wakeup; the jobs get no scheduler or store alias
    assert target_events.events == []
    assert target.wakeups == wakeups
    assert not hasattr(imported[0], "_scheduler")
    assert not hasattr(imported[0], "_jobstore_alias")


def test_round_trip_through_paths(
    source: DummyScheduler, target: DummyScheduler, tmp_path: Path
) -> None:
    path = tmp_path / "jobs.json"
    source.export_jobs(str(path), "default")
    assert json.loads(path.read_text(encoding="utf-8"))["version"] == 1

    target.import_jobs(str(path), "other")
    assert_same_jobs(target.get_jobs("other"), source.get_jobs("default"))
    assert target.get_jobs("default") == []


def test_import_into_unknown_jobstore(target: DummyScheduler) -> None:
    with pytest.raises(KeyError) as exc:
        target.import_jobs(io.StringIO('{"version": 1, "jobs": []}'), "nonexistent")
    assert exc.value.args == ("nonexistent",)


def test_import_unknown_version(target: DummyScheduler) -> None:
    with pytest.raises(ValueError) as exc:
        target.import_jobs(io.StringIO('{"version": 2, "jobs": []}'))
    assert str(exc.value) == "unrecognized version: 2"


@pytest.mark.parametrize("document", ["[]", '"jobs"', "1"])
def test_import_document_that_is_not_an_object(target: DummyScheduler, document: str) -> None:
    with pytest.raises(ValueError, match="expected a JSON object written by export_jobs") as exc:
        target.import_jobs(io.StringIO(document))
    assert type(json.loads(document)).__name__ in str(exc.value)


def test_import_conflicting_id(source: DummyScheduler) -> None:
    buffer = io.StringIO()
    source.export_jobs(buffer, "default")
    buffer.seek(0)
    with pytest.raises(KeyError, match="conflicts with an existing job"):
        source.import_jobs(buffer)


def test_export_job_without_reference(source: DummyScheduler) -> None:
    source.add_job(lambda: None, id="lambda")
    with pytest.raises(ValueError, match=r"^This Job cannot be serialized since the reference"):
        source.export_jobs(io.StringIO())
