"""The pickle and JSON serializers of job state (quartzite.serializers)."""

from __future__ import annotations

import json
import pickle
from datetime import date, datetime, time, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from quartzite.job import Job
from quartzite.serializers import (
    BaseSerializer,
    JSONSerializer,
    PickleSerializer,
    resolve_serializer,
)
from quartzite.triggers.base import BaseTrigger
from quartzite.triggers.date import DateTrigger
from quartzite.triggers.interval import IntervalTrigger

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")


def sample_function(*args: Any, **kwargs: Any) -> None:
    """A job function with a textual reference."""


def make_state(**changes: Any) -> dict[str, Any]:
    job = Job(
        None,
        id="job1",
        func=sample_function,
        trigger=IntervalTrigger(
            minutes=90,
            start_date=datetime(2030, 1, 1, 9, tzinfo=BERLIN),
            timezone=BERLIN,
        ),
        executor="default",
        args=(1, "two"),
        kwargs={"three": [3.0, None, True]},
        name="sample",
        misfire_grace_time=10,
        coalesce=True,
        max_instances=2,
        next_run_time=datetime(2030, 1, 1, 10, 30, tzinfo=BERLIN),
    )
    state = job.__getstate__()
    state.update(changes)
    return state


def restore(serializer: BaseSerializer, state: dict[str, Any]) -> Job:
    job = Job.__new__(Job)
    job.__setstate__(serializer.deserialize(serializer.serialize(state)))
    return job


# --- text forms (quartzite.timetext, re-exported) -------------------------------------------------


def test_text_forms_are_re_exported_from_timetext() -> None:
    import quartzite.serializers as serializers
    import quartzite.timetext as timetext

    for name in timetext.__all__:
        assert name in serializers.__all__
        assert getattr(serializers, name) is getattr(timetext, name)


# --- pickle ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("protocol", [2, pickle.DEFAULT_PROTOCOL, pickle.HIGHEST_PROTOCOL])
def test_pickle_round_trip(protocol: int) -> None:
    serializer = PickleSerializer(protocol)
    data = serializer.serialize(make_state())
    assert data[:2] == bytes([0x80, protocol])
    job = restore(serializer, make_state())
    assert job.args == (1, "two")
    assert job.trigger.__getstate__() == make_state()["trigger"].__getstate__()
    assert repr(serializer) == f"PickleSerializer(protocol={protocol})"


def test_pickle_refuses_non_dict() -> None:
    with pytest.raises(TypeError, match="Expected a pickled job state dict, got list"):
        PickleSerializer().deserialize(pickle.dumps([1]))


# --- JSON ----------------------------------------------------------------------------------------


def test_json_document_is_readable() -> None:
    document = json.loads(JSONSerializer().serialize(make_state()))
    assert document == {
        "version": 1,
        "id": "job1",
        "func": f"{__name__}:sample_function",
        "trigger": {
            "$trigger": "quartzite.triggers.interval:IntervalTrigger",
            "state": {
                "version": 2,
                "timezone": {"$tz": "Europe/Berlin"},
                "start_date": {"$datetime": "2030-01-01T09:00:00+01:00[Europe/Berlin]"},
                "end_date": None,
                "interval": {"$timedelta": "PT1H30M"},
                "jitter": None,
            },
        },
        "executor": "default",
        "args": [1, "two"],
        "kwargs": {"three": [3.0, None, True]},
        "name": "sample",
        "misfire_grace_time": 10,
        "coalesce": True,
        "max_instances": 2,
        "next_run_time": "2030-01-01T10:30:00+01:00[Europe/Berlin]",
    }


def test_json_round_trip() -> None:
    state = make_state()
    job = restore(JSONSerializer(), state)
    assert job.id == "job1"
    assert job.func is sample_function
    assert job.args == [1, "two"]  # tuples come back as lists
    assert job.kwargs == {"three": [3.0, None, True]}
    assert job.next_run_time == state["next_run_time"]
    assert job.next_run_time.tzinfo is BERLIN
    assert job.trigger.__getstate__() == state["trigger"].__getstate__()
    assert (job.name, job.misfire_grace_time, job.coalesce, job.max_instances) == (
        "sample",
        10,
        True,
        2,
    )


def test_json_paused_job() -> None:
    assert restore(JSONSerializer(), make_state(next_run_time=None)).next_run_time is None


def test_json_indent() -> None:
    data = JSONSerializer(indent=2).serialize(make_state())
    assert b'\n  "id": "job1"' in data
    assert json.loads(data)["id"] == "job1"


def test_json_unicode_is_kept_readable() -> None:
    data = JSONSerializer().serialize(make_state(name="Grüße", args=("日本",)))
    assert "Grüße".encode() in data and "日本".encode() in data
    assert restore(JSONSerializer(), make_state(name="Grüße")).name == "Grüße"


@pytest.mark.parametrize(
    "args, kwargs, where, what",
    [
        ((1, {2}), {}, "args[1]", "a set"),
        ((), {"when": datetime(2030, 1, 1)}, "kwargs['when']", "a datetime"),
        ((), {"opts": {"x": [1, b"raw"]}}, "kwargs['opts']['x'][1]", "a bytes"),
        (([1, {3: "x"}],), {}, "args[0][1][3]", "under a non-string key"),
        ((float("nan"),), {}, "args[0]", "the non-finite float nan"),
        ((object(),), {}, "args[0]", "a object"),
    ],
)
def test_json_refuses_non_json_arguments(args: Any, kwargs: Any, where: str, what: str) -> None:
    state = make_state(args=args, kwargs=kwargs)
    with pytest.raises(TypeError) as excinfo:
        JSONSerializer().serialize(state)
    message = str(excinfo.value)
    assert message.startswith('Job "job1" cannot be stored by the JSON serializer: ')
    assert f"the argument {where} is {what}, not a JSON value" in message


def test_json_refuses_self_reference() -> None:
    looped: list[Any] = [1]
    looped.append(looped)
    with pytest.raises(TypeError, match=r"the argument args\[0\]\[1\] is a reference to itself"):
        JSONSerializer().serialize(make_state(args=(looped,)))


def test_json_dollar_keys_in_arguments_stay_plain() -> None:
    kwargs = {"payload": {"$datetime": "not a date", "$tz": 5, "$dict": []}}
    job = restore(JSONSerializer(), make_state(kwargs=kwargs))
    assert job.kwargs == kwargs


@pytest.mark.parametrize("tag", ["$object", "$trigger", "$cron_field"])
def test_json_refuses_class_reference_keys_in_arguments(tag: str) -> None:
    # (they could never be read back: a row holding one there is refused as forged)
    with pytest.raises(
        TypeError, match=rf"kwargs\['payload'\] is a dict with the reserved key '\{tag}'"
    ):
        JSONSerializer().serialize(make_state(kwargs={"payload": {tag: "os:system"}}))


class StateTrigger(BaseTrigger):
    """A trigger whose state holds values of every typed encoding."""

    __slots__ = ("state",)

    def __init__(self, state: dict[str, Any]) -> None:
        self.state = state

    def get_next_fire_time(self, previous_fire_time: Any, now: datetime) -> datetime | None:
        return None

    def __getstate__(self) -> dict[str, Any]:
        return self.state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.state = state


def test_json_typed_values_in_trigger_state() -> None:
    trigger_state = {
        "version": 1,
        "when": datetime(2030, 11, 3, 1, 30, fold=1, tzinfo=NEW_YORK),
        "naive": datetime(2030, 1, 1, 12),
        "day": date(2030, 2, 28),
        "at": time(3, 0, 8, 500, tzinfo=BERLIN),
        "naive_time": time(23, 59),
        "span": timedelta(days=-1, seconds=5),
        "zones": [timezone.utc, timezone(timedelta(hours=-2)), BERLIN],
        "nested": {"$literal": 1, "inner": (1, 2)},
        "numbers": [1, 2.5, 10**30, True, None],
    }
    state = make_state(trigger=StateTrigger(dict(trigger_state)))
    # (a trigger class that is not registered needs its module in allowed_modules)
    serializer = JSONSerializer(allowed_modules=[__name__])
    job = restore(serializer, state)
    restored = job.trigger.__getstate__()
    assert restored.pop("nested") == {"$literal": 1, "inner": [1, 2]}
    expected = dict(trigger_state)
    del expected["nested"]
    assert restored == expected
    assert restored["when"].fold == 1
    document = json.loads(serializer.serialize(state))
    assert document["trigger"]["state"]["nested"] == {"$dict": {"$literal": 1, "inner": [1, 2]}}


def test_json_refuses_unknown_values_in_trigger_state() -> None:
    state = make_state(trigger=StateTrigger({"version": 1, "blob": b"x"}))
    with pytest.raises(TypeError, match=r"trigger\.state\['blob'\] is a bytes"):
        JSONSerializer(allowed_modules=[__name__]).serialize(state)


def test_json_refuses_to_write_a_trigger_it_could_not_read_back() -> None:
    state = make_state(trigger=StateTrigger({"version": 1}))
    with pytest.raises(ValueError, match=rf"trigger class {__name__}:StateTrigger is neither"):
        JSONSerializer().serialize(state)


def test_json_refuses_non_trigger_classes() -> None:
    document = json.loads(JSONSerializer().serialize(make_state()))
    document["trigger"]["$trigger"] = "collections:OrderedDict"
    with pytest.raises(ValueError, match="collections:OrderedDict, which is neither a registered"):
        JSONSerializer().deserialize(json.dumps(document).encode())
    # allowed, but not a trigger: imported (the module is allowed) and refused
    with pytest.raises(TypeError, match="collections:OrderedDict, which is not a BaseTrigger"):
        JSONSerializer(allowed_modules=["collections", __name__]).deserialize(
            json.dumps(document).encode()
        )


def test_json_refuses_other_serializers_data() -> None:
    with pytest.raises(ValueError):
        JSONSerializer().deserialize(PickleSerializer().serialize(make_state()))
    with pytest.raises(TypeError, match="Expected a JSON object, got list"):
        JSONSerializer().deserialize(b"[1]")


def test_json_allowed_modules() -> None:
    allowed = JSONSerializer(allowed_modules=[__name__.rpartition(".")[0] or __name__])
    assert restore(allowed, make_state()).func is sample_function

    strict = JSONSerializer(allowed_modules=["myapp.tasks"])
    assert repr(strict) == "JSONSerializer(allowed_modules=('myapp.tasks',))"
    with pytest.raises(ValueError, match=r"outside the allowed modules myapp\.tasks"):
        strict.serialize(make_state())
    data = JSONSerializer().serialize(make_state(func="os:system"))
    with pytest.raises(ValueError, match='Job "job1" calls os:system, which is outside'):
        strict.deserialize(data)
    # a trigger class from outside quartzite and the allowed modules is not even imported
    document = json.loads(JSONSerializer().serialize(make_state(func="myapp.tasks:run")))
    document["trigger"]["$trigger"] = "antigravity:Trigger"
    with pytest.raises(ValueError, match="names the class antigravity:Trigger, which is neither"):
        strict.deserialize(json.dumps(document).encode())


def test_json_date_trigger_across_dst() -> None:
    trigger = DateTrigger(datetime(2030, 10, 27, 2, 30, fold=1, tzinfo=BERLIN))
    job = restore(JSONSerializer(), make_state(trigger=trigger))
    assert job.trigger.run_date == trigger.run_date
    assert job.trigger.run_date.utcoffset() == timedelta(hours=1)


# --- choosing a serializer ------------------------------------------------------------------------


def test_resolve_serializer() -> None:
    default = resolve_serializer(None, 3)
    assert isinstance(default, PickleSerializer) and default.protocol == 3
    assert isinstance(resolve_serializer("pickle"), PickleSerializer)
    assert isinstance(resolve_serializer("json"), JSONSerializer)
    instance = JSONSerializer(indent=2)
    assert resolve_serializer(instance) is instance
    with pytest.raises(ValueError, match='Unknown serializer "yaml"'):
        resolve_serializer("yaml")
    with pytest.raises(TypeError, match="got int"):
        resolve_serializer(5)  # type: ignore[arg-type]


# --- cron fields ----------------------------------------------------------------------------------

CRON_EXPRESSIONS = {
    "year": ["*", "*/3", "2030", "2030-2040", "2030-2040/2", "2030/5", "1999,2030-2031"],
    "month": ["*", "jan", "jan-mar", "feb,apr-jun", "1-12/3", "*/4", "mar/2", "jan-dec/2"],
    "day": ["*", "1", "last", "1st mon", "last fri", "3rd sun", "1-15/2", "5/7", "2nd wed,last,15"],
    "week": ["*", "1", "10-20", "*/2", "53"],
    "day_of_week": ["*", "mon", "mon-fri", "sat,sun", "0-4", "*/2", "2/2", "mon-fri/2", "tue-sat"],
    "hour": ["*", "*/2", "0-23/5", "8-17", "12", "0/6"],
    "minute": ["*", "0,30", "*/15", "5-55/10"],
    "second": ["*", "0", "*/10", "59"],
}


def _cron_trigger_class() -> Any:
    module = pytest.importorskip("quartzite.triggers.cron")
    if not hasattr(module, "CronTrigger"):
        pytest.skip("the cron trigger does not exist yet")
    return module.CronTrigger


def _expressions(field: Any) -> list[tuple[str, Any]]:
    return [
        (repr(expression), getattr(expression, "step", None)) for expression in field.expressions
    ]


@pytest.mark.parametrize(
    "name, expression",
    [
        (name, expression)
        for name, expressions in CRON_EXPRESSIONS.items()
        for expression in expressions
    ],
)
def test_json_cron_field_round_trip(name: str, expression: str) -> None:
    trigger = _cron_trigger_class()(**{name: expression}, timezone="UTC")
    job = restore(JSONSerializer(), make_state(trigger=trigger))
    for original, restored in zip(trigger.fields, job.trigger.fields):
        assert type(restored) is type(original)
        assert repr(restored) == repr(original)
        assert restored.is_default == original.is_default
        assert _expressions(restored) == _expressions(original)


def test_json_cron_trigger_is_readable() -> None:
    trigger = _cron_trigger_class()(day_of_week="mon-fri", hour=8, timezone=NEW_YORK)
    document = json.loads(JSONSerializer().serialize(make_state(trigger=trigger)))
    assert document["trigger"]["$trigger"] == "quartzite.triggers.cron:CronTrigger"
    assert document["trigger"]["state"]["fields"] == {"day_of_week": "mon-fri", "hour": "8"}
    assert document["trigger"]["state"]["timezone"] == {"$tz": "America/New_York"}


def test_json_cron_trigger_from_crontab_round_trips() -> None:
    cron = _cron_trigger_class()
    # (standard_weekdays=True with both days restricted has no JSON form yet: see
    # test_json_refuses_a_cron_field_without_a_text_form)
    for line in ("*/5 9-17 * * mon-fri", "0 0 1,15 * 1", "@weekly", "0 9 * * 1-5"):
        for standard in (False, True) if "1,15" not in line else (False,):
            trigger = cron.from_crontab(line, "UTC", standard_weekdays=standard)
            restored = restore(JSONSerializer(), make_state(trigger=trigger)).trigger
            assert repr(restored) == repr(trigger)
            start = datetime(2030, 1, 1, tzinfo=timezone.utc)
            assert restored.get_next_fire_time(None, start) == trigger.get_next_fire_time(
                None, start
            )


def test_json_refuses_a_cron_field_without_a_text_form() -> None:
    trigger = _cron_trigger_class().from_crontab("0 0 1,15 * 1", "UTC", standard_weekdays=True)
    with pytest.raises(TypeError, match=r"The day field of .* has no JSON form"):
        JSONSerializer().serialize(make_state(trigger=trigger))


def test_json_cron_trigger_keeps_a_changed_default_field() -> None:
    trigger = _cron_trigger_class()(hour=8, timezone="UTC")
    second = trigger.fields[-1]
    second.expressions = type(second)("second", "30").expressions  # a default edited by hand
    restored = restore(JSONSerializer(), make_state(trigger=trigger)).trigger
    start = datetime(2030, 1, 1, tzinfo=timezone.utc)
    assert restored.get_next_fire_time(None, start) == datetime(
        2030, 1, 1, 8, 0, 30, tzinfo=timezone.utc
    )


def test_json_checks_the_triggers_inside_a_combining_trigger() -> None:
    combining = pytest.importorskip("quartzite.triggers.combining")
    if not hasattr(combining, "OrTrigger"):
        pytest.skip("the combining triggers do not exist yet")
    trigger = combining.OrTrigger([DateTrigger(datetime(2030, 1, 1, tzinfo=BERLIN))])
    document = json.loads(JSONSerializer().serialize(make_state(trigger=trigger)))
    nested = document["trigger"]["state"]["triggers"][0]
    assert nested["$trigger"] == "quartzite.triggers.date:DateTrigger"
    assert restore(JSONSerializer(), make_state(trigger=trigger)).trigger.triggers[0].run_date == (
        trigger.triggers[0].run_date
    )

    nested["$trigger"] = "collections:OrderedDict"
    with pytest.raises(ValueError, match=r"triggers'\]\[0\] names the class collections:Ordered"):
        JSONSerializer().deserialize(json.dumps(document).encode())
    nested["$trigger"] = "antigravity:Trigger"
    document["func"] = "myapp.tasks:run"
    with pytest.raises(ValueError, match="names the class antigravity:Trigger, which is neither"):
        JSONSerializer(allowed_modules=["myapp"]).deserialize(json.dumps(document).encode())


class FakeEntryPoint:
    """An installed entry point as importlib.metadata describes it (only its text is read)."""

    def __init__(self, name: str, value: str) -> None:
        self.name = name
        self.value = value

    def load(self) -> Any:  # pragma: no cover - the serializer must not load entry points
        raise AssertionError("the serializer loaded an entry point")


def test_json_accepts_a_trigger_registered_as_an_entry_point(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import quartzite.serializers as serializers

    entry_point = FakeEntryPoint("state", f"{__name__}:StateTrigger")
    monkeypatch.setattr(serializers._trigger_registry, "_installed", {"state": entry_point})
    state = make_state(trigger=StateTrigger({"version": 1, "when": datetime(2030, 1, 1)}))
    job = restore(JSONSerializer(), state)
    assert isinstance(job.trigger, StateTrigger)
    assert job.trigger.state["when"] == datetime(2030, 1, 1)

    monkeypatch.setattr(serializers._trigger_registry, "_installed", {})
    with pytest.raises(ValueError, match="is neither a registered trigger nor in allowed_modules"):
        JSONSerializer().serialize(state)
