"""Rows that must never become running jobs: each is quarantined and the store carries on.

Every case writes a row straight into a real backend (SQLite, PostgreSQL, MariaDB, Redis), the
way another program, an old release or someone with write access to the database could, then
reads the store as the scheduler does. The row must end up in the quarantine (raw state kept,
``EVENT_JOB_QUARANTINED`` sent), nothing of it may run, and the store's good job must still
come back and run.

JSON rows are made by editing the document of a well-formed job; pickle rows by pickling a job
state whose objects were given bad attributes after construction (the constructors would refuse
them), which is what an old or hand-made pickle contains.
"""

from __future__ import annotations

import json
import pickle
from collections import OrderedDict
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

import pytest

from quartzite.events import EVENT_JOB_EXECUTED, EVENT_JOB_QUARANTINED
from quartzite.executors.debug import DebugExecutor
from quartzite.job import Job
from quartzite.jobstores.base import UnreadableJobError
from quartzite.serializers import JSONSerializer, PickleSerializer
from quartzite.triggers.interval import IntervalTrigger
from support import DummyScheduler, make_job

from .support import insert_raw_row, raw_row_ids

KINDS = ["sqlite_file", "postgresql", "mariadb", "redis"]
START = datetime(2030, 3, 1, 12, 0, tzinfo=timezone.utc)
# The good job's next run time: the hostile rows are all due a minute earlier
GOOD_RUN = START + timedelta(minutes=1)
NOW = START + timedelta(minutes=2)
# The job functions live in tests/support/jobs.py, imported as "support.jobs"
ALLOWED_MODULES = ["support"]


def _interval_job(job_id: str, **trigger_changes: Any) -> Job:
    """A job on a 10 s interval trigger, the trigger's attributes then overwritten as given."""
    trigger = IntervalTrigger(seconds=10, start_date=START, timezone="UTC")
    for name, value in trigger_changes.items():
        setattr(trigger, name, value)
    return make_job(None, id=job_id, trigger=trigger, next_run_time=START)


# --- rows in JSON: edit the document of a well-formed job ------------------------------------


def _json_row(job_id: str, edit: Callable[[dict[str, Any]], None]) -> bytes:
    document = json.loads(JSONSerializer().serialize(_interval_job(job_id).__getstate__()))
    edit(document)
    return json.dumps(document).encode("utf-8")


def _set_interval(text: str) -> Callable[[dict[str, Any]], None]:
    def edit(document: dict[str, Any]) -> None:
        document["trigger"]["state"]["interval"] = {"$timedelta": text}

    return edit


def _set_field(name: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def edit(document: dict[str, Any]) -> None:
        document[name] = value

    return edit


def _trigger_in(field: str) -> Callable[[dict[str, Any]], None]:
    """Put a copy of the job's own encoded trigger (a class reference) in another field."""

    def edit(document: dict[str, Any]) -> None:
        if field == "kwargs":
            document["kwargs"] = {"payload": [1, {"nested": document["trigger"]}]}
        else:
            document[field] = document["trigger"]

    return edit


def _legacy_object_in_kwargs(document: dict[str, Any]) -> None:
    # The earlier trigger format's tag, naming a module that does not exist
    document["kwargs"] = {"payload": {"$object": "no_such_module_anywhere:Payload", "state": {}}}


def _set_jitter(value: float) -> Callable[[dict[str, Any]], None]:
    def edit(document: dict[str, Any]) -> None:
        document["trigger"]["state"]["jitter"] = value

    return edit


JSON_CASES: dict[str, Callable[[dict[str, Any]], None]] = {
    "zero_interval": _set_interval("PT0S"),
    "negative_interval": _set_interval("-PT1S"),
    "negative_jitter": _set_jitter(-1),
    "function_outside_allowed_modules": lambda document: document.update(
        func="os:system", args=["echo hostile row ran"]
    ),
    "object_in_name": _trigger_in("name"),
    "object_in_executor": _trigger_in("executor"),
    "object_in_kwargs": _trigger_in("kwargs"),
    "legacy_object_in_kwargs": _legacy_object_in_kwargs,
    "non_trigger_class": _set_field("trigger", {"$object": "quartzite.job:Job", "state": {}}),
    "id_of_another_job": _set_field("id", "good"),
}


# --- rows in pickle: pickle a state holding bad objects ------------------------------------------


def _pickle_row(job_id: str, edit: Callable[[dict[str, Any]], None] | None = None) -> bytes:
    state = _interval_job(job_id).__getstate__()
    if edit is not None:
        edit(state)
    return pickle.dumps(state, pickle.HIGHEST_PROTOCOL)


def _pickled_trigger(**changes: Any) -> Callable[[str], bytes]:
    return lambda job_id: pickle.dumps(_interval_job(job_id, **changes).__getstate__())


PICKLE_CASES: dict[str, Callable[[str], bytes]] = {
    "zero_interval": _pickled_trigger(interval=timedelta(0), interval_length=0.0),
    "negative_interval": _pickled_trigger(interval=timedelta(seconds=-1), interval_length=-1.0),
    "negative_jitter": _pickled_trigger(jitter=-1),
    "non_trigger_class": lambda job_id: _pickle_row(
        job_id, lambda state: state.update(trigger=OrderedDict())
    ),
    "trigger_as_name": lambda job_id: _pickle_row(
        job_id, lambda state: state.update(name=IntervalTrigger(seconds=1))
    ),
    "id_of_another_job": lambda job_id: _pickle_row(job_id, lambda state: state.update(id="good")),
}

CASES = [("json", name) for name in JSON_CASES] + [("pickle", name) for name in PICKLE_CASES]


def _hostile_row(serializer: str, case: str) -> bytes:
    if serializer == "json":
        return _json_row(case, JSON_CASES[case])
    return PICKLE_CASES[case](case)


def _serializer(serializer: str) -> Any:
    return JSONSerializer(allowed_modules=ALLOWED_MODULES) if serializer == "json" else "pickle"


def _good_job(store: Any) -> Job:
    return make_job(
        store._scheduler,
        id="good",
        trigger=IntervalTrigger(seconds=10, start_date=START, timezone="UTC"),
        next_run_time=GOOD_RUN,
    )


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(("serializer", "case"), CASES, ids=[f"{s}-{c}" for s, c in CASES])
def test_hostile_row_is_quarantined_and_the_good_job_stays_due(
    create_store: Any, quarantine_events: list[Any], kind: str, serializer: str, case: str
) -> None:
    store = create_store(kind, _serializer(serializer))
    store.add_job(_good_job(store))
    row = _hostile_row(serializer, case)
    insert_raw_row(store, case, row, START)

    assert [job.id for job in store.get_due_jobs(NOW)] == ["good"]

    assert raw_row_ids(store) == {"good"}
    (quarantined,) = store.get_quarantined_jobs()
    assert (quarantined.id, quarantined.job_state) == (case, row)
    assert [(event.code, event.job_id) for event in quarantine_events] == [
        (EVENT_JOB_QUARANTINED, case)
    ]
    assert store.get_next_run_time() == GOOD_RUN


# --- every read path, every stage of restoring ----------------------------------------------------

STAGES: dict[str, Callable[[str], bytes]] = {
    "deserializing": lambda job_id: b"\x80\x05 neither a pickle nor JSON {",
    "job_setstate": lambda job_id: _pickle_row(job_id, lambda state: state.update(version=99)),
    "function_import": lambda job_id: _pickle_row(
        job_id, lambda state: state.update(func="support.jobs:removed_long_ago")
    ),
    "trigger_setstate": _pickled_trigger(interval=timedelta(0), interval_length=0.0),
}
READS: dict[str, Callable[[Any, str], list[Any]]] = {
    "get_due_jobs": lambda store, job_id: store.get_due_jobs(NOW),
    "get_all_jobs": lambda store, job_id: store.get_all_jobs(),
    "lookup_job": lambda store, job_id: [store.lookup_job(job_id), store.lookup_job("good")],
}


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("stage", STAGES)
@pytest.mark.parametrize("read", READS)
def test_every_read_quarantines_a_row_failing_at_any_stage(
    create_store: Any, quarantine_events: list[Any], kind: str, stage: str, read: str
) -> None:
    store = create_store(kind, "pickle")
    store.add_job(_good_job(store))
    insert_raw_row(store, "bad", STAGES[stage]("bad"), START)
    # Reading the next run time does not restore jobs: it must work with the bad row present
    assert store.get_next_run_time() == START

    found = READS[read](store, "bad")

    assert [job.id for job in found if job is not None] == ["good"]
    assert [job.id for job in store.get_quarantined_jobs()] == ["bad"]
    assert [event.job_id for event in quarantine_events] == ["bad"]
    assert store.get_next_run_time() == GOOD_RUN


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("read", READS)
def test_a_store_told_not_to_quarantine_raises_and_changes_nothing(
    create_store: Any, quarantine_events: list[Any], kind: str, read: str
) -> None:
    # A process that only reads the store (the command line) may lack the application's code.
    store = create_store(kind, "pickle", quarantine_unreadable=False)
    assert store.quarantine_unreadable is False
    store.add_job(_good_job(store))
    insert_raw_row(store, "bad", STAGES["function_import"]("bad"), START)

    with pytest.raises(UnreadableJobError) as caught:
        READS[read](store, "bad")

    assert caught.value.job_id == "bad" and "bad" in str(caught.value)
    assert raw_row_ids(store) == {"good", "bad"}
    assert store.get_quarantined_jobs() == []
    assert quarantine_events == []


@pytest.mark.parametrize("kind", KINDS)
def test_quarantine_unreadable_must_be_a_boolean(create_store: Any, kind: str) -> None:
    with pytest.raises(TypeError, match=r"quarantine_unreadable must be True or False, got 'no'"):
        create_store(kind, "pickle", start=False, quarantine_unreadable="no")


# --- signed JSON rows ----------------------------------------------------------------------------


SERIALIZER_CLASSES = {"json": JSONSerializer, "pickle": PickleSerializer}


def _tampered(signed: bytes, serializer: str) -> bytes:
    # Point the signed row at another function of the same module, keeping its signature (the
    # two names have the same length, so a pickle stays well-formed)
    assert b"dummy_job" in signed
    return signed.replace(b"dummy_job", b"other_job")


def _unsigned(signed: bytes, serializer: str) -> bytes:
    # The same job as written by a store that has no signing key
    return SERIALIZER_CLASSES[serializer]().serialize(_interval_job("forged").__getstate__())


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("serializer", ["json", "pickle"])
@pytest.mark.parametrize("forge", [_tampered, _unsigned], ids=["tampered", "unsigned"])
def test_forged_row_in_a_signing_store_is_quarantined(
    create_store: Any,
    quarantine_events: list[Any],
    kind: str,
    serializer: str,
    forge: Callable[[bytes, str], bytes],
) -> None:
    signing = SERIALIZER_CLASSES[serializer](signing_key=b"k" * 32)
    store = create_store(kind, signing)
    store.add_job(_good_job(store))
    forged = forge(signing.serialize(_interval_job("forged").__getstate__()), serializer)
    insert_raw_row(store, "forged", forged, START)

    assert [job.id for job in store.get_due_jobs(NOW)] == ["good"]
    assert [job.id for job in store.get_quarantined_jobs()] == ["forged"]
    assert [event.job_id for event in quarantine_events] == ["forged"]


# --- a scheduler on such a store -----------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("serializer", ["json", "pickle"])
def test_scheduler_runs_the_good_job_and_nothing_from_hostile_rows(
    create_store: Any, freeze_time: Any, kind: str, serializer: str
) -> None:
    freeze_time.set(START)
    store = create_store(kind, _serializer(serializer), start=False)
    scheduler = DummyScheduler(timezone="UTC", executors={"default": DebugExecutor()})
    scheduler.add_jobstore(store)
    executed: list[str] = []
    quarantined: list[str] = []
    scheduler.add_listener(lambda event: executed.append(event.job_id), EVENT_JOB_EXECUTED)
    scheduler.add_listener(lambda event: quarantined.append(event.job_id), EVENT_JOB_QUARANTINED)
    scheduler.start()
    try:
        store.add_job(_good_job(store))
        cases = JSON_CASES if serializer == "json" else PICKLE_CASES
        for case in cases:
            insert_raw_row(store, case, _hostile_row(serializer, case), START)

        freeze_time.set(GOOD_RUN)
        scheduler._process_jobs()
        freeze_time.set(GOOD_RUN + timedelta(seconds=10))
        scheduler._process_jobs()
    finally:
        scheduler.shutdown()

    assert executed == ["good", "good"]
    assert sorted(quarantined) == sorted(cases)
    assert raw_row_ids(store) == {"good"}
