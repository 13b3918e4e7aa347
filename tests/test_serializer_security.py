"""Rows written by someone else: what a forged or damaged row can and cannot make us do.

A store's rows may be written by anyone with access to its table or keys. For each way a row can
name code (the job's function, the trigger class, a nested trigger, a cron field, a class tag
slipped into another field) and each damaged schedule (an empty or negative interval, a negative
jitter), reading the row must raise a clear error before anything named by the row is imported
or called. The stores set such rows aside (their quarantine tests use real stores).
"""

from __future__ import annotations

import json
import pickle
import sys
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Callable, Iterator
from zoneinfo import ZoneInfo

import pytest

from quartzite.job import Job
from quartzite.serializers import JSONSerializer, PickleSerializer, SignatureError
from quartzite.triggers.combining import OrTrigger
from quartzite.triggers.cron import CronTrigger
from quartzite.triggers.date import DateTrigger
from quartzite.triggers.interval import IntervalTrigger
from support import make_job

BERLIN = ZoneInfo("Europe/Berlin")
START = datetime(2030, 1, 1, 9, tzinfo=BERLIN)


def job_function(*args: Any, **kwargs: Any) -> None:
    """The function of the honest rows."""


def row(trigger: Any = None, **changes: Any) -> dict[str, Any]:
    """The JSON document of an honest job, with ``changes`` applied."""
    job = Job(
        None,
        id="job1",
        func=job_function,
        trigger=trigger or IntervalTrigger(minutes=5, start_date=START),
        executor="default",
        args=(1,),
        kwargs={"key": "value"},
        name="honest",
        misfire_grace_time=1,
        coalesce=True,
        max_instances=1,
        next_run_time=START,
    )
    document: dict[str, Any] = json.loads(JSONSerializer().serialize(job.__getstate__()))
    document.update(changes)
    return document


def job_state() -> dict[str, Any]:
    """The state of an honest job, as a store hands it to its serializer."""
    job = make_job(
        None,
        job_function,
        trigger=DateTrigger(START),
        id="job1",
        name="honest",
        next_run_time=START,
    )
    return job.__getstate__()


def encode(document: dict[str, Any]) -> bytes:
    return json.dumps(document).encode()


@pytest.fixture
def probe(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """Two throw-away modules: one that leaves a mark when imported, one whose function leaves
    a mark when called."""
    suffix = uuid.uuid4().hex[:8]
    names = {"imported": f"qz_probe_import_{suffix}", "called": f"qz_probe_call_{suffix}"}
    marks = {"imported": tmp_path / "imported", "called": tmp_path / "called"}
    (tmp_path / f"{names['imported']}.py").write_text(
        f"open({str(marks['imported'])!r}, 'w').close()\nclass Trigger: pass\n"
    )
    (tmp_path / f"{names['called']}.py").write_text(
        f"def run(*args, **kwargs):\n    open({str(marks['called'])!r}, 'w').close()\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    yield {"names": names, "marks": marks}
    for name in names.values():
        sys.modules.pop(name, None)


def assert_untouched(probe: dict[str, Any]) -> None:
    assert probe["names"]["imported"] not in sys.modules
    assert not probe["marks"]["imported"].exists()
    assert not probe["marks"]["called"].exists()


def nested_or_row(ref: str) -> dict[str, Any]:
    document = row(OrTrigger([DateTrigger(START), DateTrigger(START + timedelta(days=1))]))
    document["trigger"]["state"]["triggers"][1]["$trigger"] = ref
    return document


def legacy_nested_row(ref: str) -> dict[str, Any]:
    document = row()
    document["trigger"] = {
        "$object": "quartzite.triggers.combining:OrTrigger",
        "state": {"version": 1, "triggers": [[ref, {"version": 1}]], "jitter": None},
    }
    return document


def legacy_cron_row(ref: str) -> dict[str, Any]:
    document = row()
    fields = [
        {"$cron_field": ref, "name": name, "expression": "*", "is_default": True}
        for name in CronTrigger.FIELD_NAMES
    ]
    document["trigger"] = {
        "$object": "quartzite.triggers.cron:CronTrigger",
        "state": {
            "version": 2,
            "timezone": {"$tz": "UTC"},
            "start_date": None,
            "end_date": None,
            "fields": fields,
            "jitter": None,
        },
    }
    return document


def new_cron_row(ref: str) -> dict[str, Any]:
    document = row(CronTrigger(hour=9, timezone="UTC"))
    document["trigger"]["state"]["fields"] = [
        {"$cron_field": ref, "name": "hour", "expression": "9", "is_default": False}
    ]
    return document


def class_tag(ref: str) -> dict[str, Any]:
    return {"$object": ref, "state": {}}


# Every place a row can name a class, as (label, row builder taking the class reference).
CLASS_POSITIONS: list[tuple[str, Callable[[str], dict[str, Any]]]] = [
    (
        "trigger $trigger",
        lambda ref: (
            row(trigger=None, **{}) | {"trigger": {"$trigger": ref, "state": {"version": 1}}}
        ),
    ),
    (
        "trigger $object (earlier rows)",
        lambda ref: row() | {"trigger": {"$object": ref, "state": {"version": 1}}},
    ),
    ("nested trigger", nested_or_row),
    ("nested trigger (earlier rows)", legacy_nested_row),
    ("$cron_field (earlier rows)", legacy_cron_row),
    ("$cron_field in a current cron state", new_cron_row),
    ("$object in name", lambda ref: row(name=class_tag(ref))),
    ("$object in executor", lambda ref: row(executor=class_tag(ref))),
    ("$object in args", lambda ref: row(args=[class_tag(ref)])),
    ("$object in kwargs", lambda ref: row(kwargs={"key": class_tag(ref)})),
    ("$object deep in kwargs", lambda ref: row(kwargs={"a": [{"b": class_tag(ref)}]})),
    ("$trigger in kwargs", lambda ref: row(kwargs={"a": {"$trigger": ref, "state": {}}})),
    (
        "$object in the trigger state",
        lambda ref: (
            row()
            | {
                "trigger": {
                    "$trigger": "quartzite.triggers.date:DateTrigger",
                    "state": {"version": 1, "run_date": class_tag(ref)},
                }
            }
        ),
    ),
]
DANGEROUS_REFS = ["os:system", "builtins:exec", "subprocess:call"]


@pytest.mark.parametrize(
    "label, build", CLASS_POSITIONS, ids=[label for label, _ in CLASS_POSITIONS]
)
def test_a_class_named_anywhere_is_refused_before_it_is_imported(
    label: str, build: Callable[[str], dict[str, Any]], probe: dict[str, Any]
) -> None:
    data = encode(build(f"{probe['names']['imported']}:Trigger"))
    modules_before = set(sys.modules)
    for serializer in (JSONSerializer(), JSONSerializer(allowed_modules=[__name__])):
        with pytest.raises(ValueError) as exc:
            serializer.deserialize(data)
        assert probe["names"]["imported"] in str(exc.value)
    assert_untouched(probe)
    assert set(sys.modules) == modules_before


@pytest.mark.parametrize("ref", DANGEROUS_REFS)
@pytest.mark.parametrize(
    "label, build", CLASS_POSITIONS, ids=[label for label, _ in CLASS_POSITIONS]
)
def test_dangerous_functions_named_as_classes_are_refused(
    label: str, build: Callable[[str], dict[str, Any]], ref: str
) -> None:
    with pytest.raises(ValueError, match=ref):
        JSONSerializer().deserialize(encode(build(ref)))


@pytest.mark.parametrize("ref", [*DANGEROUS_REFS, "probe"])
def test_a_function_outside_the_allowed_modules_is_refused_unimported(
    ref: str, probe: dict[str, Any]
) -> None:
    if ref == "probe":
        ref = f"{probe['names']['imported']}:Trigger"
    serializer = JSONSerializer(allowed_modules=[__name__])
    with pytest.raises(ValueError, match=f"calls {ref}, which is outside the allowed modules"):
        serializer.deserialize(encode(row(func=ref, args=["touch /tmp/x"])))
    assert_untouched(probe)


def test_reading_a_row_imports_its_function_only_when_the_job_is_restored_and_never_calls_it(
    probe: dict[str, Any],
) -> None:
    ref = f"{probe['names']['called']}:run"
    state = JSONSerializer().deserialize(encode(row(func=ref)))
    assert state["func"] == ref
    assert probe["names"]["called"] not in sys.modules  # the serializer imported nothing
    job = Job.__new__(Job)
    job.__setstate__(state)
    assert job.func_ref == ref
    assert not probe["marks"]["called"].exists()  # imported by the job, not called


@pytest.mark.parametrize(
    "trigger, key, value, message",
    [
        (
            IntervalTrigger(minutes=5, start_date=START),
            "interval",
            {"$timedelta": "PT0S"},
            "interval must be a positive timedelta, got datetime.timedelta(0)",
        ),
        (
            IntervalTrigger(minutes=5, start_date=START),
            "interval",
            {"$timedelta": "-PT1S"},
            "interval must be a positive timedelta",
        ),
        (
            IntervalTrigger(minutes=5, start_date=START),
            "jitter",
            -5,
            "jitter must be None or a finite number >= 0, got -5",
        ),
        (OrTrigger([DateTrigger(START)]), "jitter", -1, "got -1"),
        (OrTrigger([DateTrigger(START)]), "triggers", [], "triggers must be a non-empty list"),
        (OrTrigger([DateTrigger(START)]), "triggers", [5], "is a int, not a trigger"),
        (CronTrigger(hour=9, timezone="UTC"), "jitter", -1, "got -1"),
        (CronTrigger(hour=9, timezone="UTC"), "fields", {"hour": "25"}, "expression '25'"),
        (
            CronTrigger(hour=9, timezone="UTC"),
            "fields",
            {"minutes": "5"},
            "fields must map field names to expressions",
        ),
    ],
)
def test_a_damaged_schedule_is_refused(trigger: Any, key: str, value: Any, message: str) -> None:
    document = row(trigger)
    document["trigger"]["state"][key] = value
    with pytest.raises(ValueError) as exc:
        JSONSerializer().deserialize(encode(document))
    assert message in str(exc.value)


@pytest.mark.parametrize(
    "value, message",
    [
        ({"$timedelta": "forever"}, "Invalid duration text 'forever'"),
        ({"$tz": "Nowhere/Zone"}, "Unknown time zone 'Nowhere/Zone'"),
        ({"$tz": "../../etc/passwd"}, "Invalid time zone text"),
        ({"$datetime": "2030-01-01", "$tz": "UTC"}, "must have no other keys"),
        ({"$dict": [1]}, "$dict must hold a JSON object"),
    ],
)
def test_bad_typed_values_are_clear_value_errors(value: Any, message: str) -> None:
    document = row()
    document["trigger"]["state"]["interval"] = value
    with pytest.raises(ValueError) as exc:
        JSONSerializer().deserialize(encode(document))
    assert message in str(exc.value)
    assert "trigger.state['interval']" in str(exc.value)


def test_a_trigger_key_that_is_not_a_trigger_is_refused() -> None:
    with pytest.raises(ValueError, match=r'trigger must be \{"\$trigger"'):
        JSONSerializer().deserialize(encode(row() | {"trigger": "interval"}))


def test_a_deeply_nested_row_is_a_value_error() -> None:
    depth = 100_000
    text = json.dumps(row())[:-1] + ',"extra":' + '{"a":' * depth + '"x"' + "}" * depth + "}"
    with pytest.raises(ValueError, match="nested too deeply"):
        JSONSerializer().deserialize(text.encode())


# --- signed rows ---------------------------------------------------------------------------------


class Exploit:
    """A pickle that would call the probe function when unpickled."""

    def __init__(self, ref: str) -> None:
        self.ref = ref

    def __reduce__(self) -> Any:
        return (_call_ref, (self.ref,))


def _call_ref(ref: str) -> None:
    module, _, name = ref.partition(":")
    getattr(__import__(module), name)()


@pytest.mark.parametrize("make", [PickleSerializer, JSONSerializer])
def test_a_signed_row_round_trips_and_starts_with_its_tag(make: Any) -> None:
    serializer = make(signing_key=b"secret")
    state = Job(
        None,
        id="j",
        func=job_function,
        trigger=DateTrigger(START),
        executor="default",
        args=(),
        kwargs={},
        name="j",
        misfire_grace_time=1,
        coalesce=True,
        max_instances=1,
        next_run_time=START,
    ).__getstate__()
    data = serializer.serialize(state)
    assert data.startswith(b"qzs1:") and data[69:70] == b":"
    assert serializer.deserialize(data)["id"] == "j"
    assert serializer.signed and "signed=True" in repr(serializer)


@pytest.mark.parametrize("make", [PickleSerializer, JSONSerializer])
def test_a_tampered_signed_row_is_refused(make: Any) -> None:
    serializer = make(signing_key="secret")
    data = serializer.serialize(job_state())
    tampered = data[:-2] + (b"X" if data[-2:-1] != b"X" else b"Y") + data[-1:]
    with pytest.raises(SignatureError, match=r"signature does not match.*different key"):
        serializer.deserialize(tampered)
    assert isinstance(SignatureError("x"), ValueError)


def test_a_forged_pickle_is_refused_before_it_is_unpickled(probe: dict[str, Any]) -> None:
    ref = f"{probe['names']['called']}:run"
    forged = pickle.dumps({"id": "j", "func": Exploit(ref)})
    signed = PickleSerializer(signing_key=b"secret")
    with pytest.raises(SignatureError, match="not signed"):
        signed.deserialize(forged)
    with pytest.raises(SignatureError, match="does not match"):
        signed.deserialize(b"qzs1:" + b"0" * 64 + b":" + forged)
    assert not probe["marks"]["called"].exists()
    # (without signing, the same row runs code: the reason for signing pickles)
    with pytest.raises(TypeError):
        PickleSerializer().deserialize(pickle.dumps(Exploit(ref)))
    assert probe["marks"]["called"].exists()


def test_a_row_signed_with_another_key_is_refused() -> None:
    data = JSONSerializer(signing_key=b"theirs").serialize(job_state())
    with pytest.raises(SignatureError, match="does not match"):
        JSONSerializer(signing_key=b"ours").deserialize(data)


def test_keys_rotate_the_first_signs_and_any_verifies() -> None:
    old_data = JSONSerializer(signing_key=b"old").serialize(job_state())
    rotated = JSONSerializer(signing_key=[b"new", "old"])
    assert rotated.deserialize(old_data)["id"] == "job1"
    new_data = rotated.serialize(job_state())
    assert JSONSerializer(signing_key=b"new").deserialize(new_data)["id"] == "job1"
    with pytest.raises(SignatureError):
        JSONSerializer(signing_key=b"old").deserialize(new_data)


def test_unsigned_rows_are_refused_unless_accepted_for_a_migration() -> None:
    unsigned = JSONSerializer().serialize(job_state())
    with pytest.raises(SignatureError, match=r"not signed.*accept_unsigned=True"):
        JSONSerializer(signing_key=b"k").deserialize(unsigned)
    migrating = JSONSerializer(signing_key=b"k", accept_unsigned=True)
    assert migrating.deserialize(unsigned)["id"] == "job1"
    assert migrating.serialize(job_state()).startswith(b"qzs1:")  # rows written again get signed
    tampered = migrating.serialize(job_state()).replace(b"honest", b"forged")
    with pytest.raises(SignatureError, match="does not match"):
        migrating.deserialize(tampered)


def test_a_signed_row_read_without_a_key_says_so() -> None:
    data = PickleSerializer(signing_key=b"k").serialize({"id": "j"})
    with pytest.raises(SignatureError, match="no signing_key"):
        PickleSerializer().deserialize(data)


@pytest.mark.parametrize(
    "key, error, message",
    [
        (b"", ValueError, r"signing_key\[0\] is empty"),
        ([], ValueError, "at least one key"),
        ([b"k", 5], TypeError, r"signing_key\[1\] must be bytes or str, got int"),
    ],
)
def test_bad_signing_keys(key: Any, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        JSONSerializer(signing_key=key)
    with pytest.raises(error, match=message):
        PickleSerializer(signing_key=key)


def test_a_malformed_signature_is_refused() -> None:
    with pytest.raises(SignatureError, match="malformed"):
        JSONSerializer(signing_key=b"k").deserialize(b"qzs1:abc:{}")
