"""Tests for ``quartzite.job.Job`` (API contract §3)."""

from __future__ import annotations

import gc
import pickle
import re
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta, timezone
from functools import partial
from types import MappingProxyType
from typing import Any
from unittest.mock import Mock
from zoneinfo import ZoneInfo

import pytest

from quartzite.job import Job
from quartzite.triggers.base import BaseTrigger
from quartzite.triggers.date import DateTrigger
from quartzite.triggers.interval import IntervalTrigger
from support import DummyScheduler, make_job

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
RUN_DATE = datetime(2011, 4, 3, 18, 40, tzinfo=BERLIN)


def dummyfunc() -> None:
    pass


def add(a: int, b: int = 2) -> int:
    return a + b


def needs_one_arg(value: Any) -> Any:
    return value


class DummyClass:
    def __init__(self, value: int = 0) -> None:
        self.value = value

    def meth(self, extra: int = 0) -> int:
        return self.value + extra

    @classmethod
    def classmeth(cls) -> str:
        return cls.__name__


@pytest.fixture
def scheduler() -> Iterator[DummyScheduler]:
    scheduler = DummyScheduler(timezone=BERLIN)
    yield scheduler
    if scheduler.running:
        scheduler.shutdown(wait=False)


@pytest.fixture
def trigger() -> DateTrigger:
    return DateTrigger(RUN_DATE)


# A pending job (no store, no next run time) due at RUN_DATE, with id "testid"
create_job = partial(
    make_job,
    func=dummyfunc,
    id="testid",
    trigger=DateTrigger(RUN_DATE),
    misfire_grace_time=1,
    coalesce=False,
    next_run_time=None,
)


@pytest.fixture
def job(scheduler: DummyScheduler) -> Job:
    return create_job(scheduler, name="dummyname")


class TestConstruction:
    def test_attributes(self, scheduler: DummyScheduler, trigger: DateTrigger) -> None:
        job = Job(
            scheduler,
            id="myid",
            func=add,
            args=[1],
            kwargs={"b": 3},
            trigger=trigger,
            executor="other",
            name="my job",
            misfire_grace_time=30,
            coalesce=True,
            max_instances=3,
            next_run_time=RUN_DATE,
        )
        assert job._scheduler is scheduler
        assert job._jobstore_alias is None
        assert job.id == "myid"
        assert job.func is add
        assert job.func_ref == f"{__name__}:add"
        assert job.args == [1]
        assert job.kwargs == {"b": 3}
        assert job.trigger is trigger
        assert job.executor == "other"
        assert job.name == "my job"
        assert job.misfire_grace_time == 30
        assert job.coalesce is True
        assert job.max_instances == 3
        assert job.next_run_time == RUN_DATE

    def test_generated_id(self, scheduler: DummyScheduler) -> None:
        first = create_job(scheduler, id=None)
        second = create_job(scheduler, id=None)
        assert re.fullmatch("[0-9a-f]{32}", first.id)
        assert re.fullmatch("[0-9a-f]{32}", second.id)
        assert first.id != second.id

    def test_empty_id_replaced(self, scheduler: DummyScheduler) -> None:
        assert re.fullmatch("[0-9a-f]{32}", create_job(scheduler, id="").id)

    def test_slots(self) -> None:
        assert Job.__slots__ == (
            "__weakref__",
            "_jobstore_alias",
            "_scheduler",
            "args",
            "at_most_once",
            "coalesce",
            "executor",
            "func",
            "func_ref",
            "id",
            "kwargs",
            "max_instances",
            "misfire_grace_time",
            "name",
            "next_run_time",
            "trigger",
        )

    def test_no_instance_dict(self, job: Job) -> None:
        assert not hasattr(job, "__dict__")
        with pytest.raises(AttributeError):
            job.some_attribute = 1  # type: ignore[attr-defined]

    def test_weak_referenceable(self, scheduler: DummyScheduler) -> None:
        job = create_job(scheduler)
        ref = weakref.ref(job)
        assert ref() is job
        del job
        gc.collect()
        assert ref() is None

    def test_unset_attributes(self, scheduler: DummyScheduler, trigger: DateTrigger) -> None:
        job = Job(scheduler, func=dummyfunc, args=(), kwargs={}, trigger=trigger, executor="x")
        for attribute in ("misfire_grace_time", "coalesce", "max_instances", "next_run_time"):
            assert not hasattr(job, attribute)
        assert job.name == "dummyfunc"

    def test_pending(self, job: Job) -> None:
        assert job.pending is True
        job._jobstore_alias = "default"
        assert job.pending is False

    def test_validation_happens_at_construction(
        self, scheduler: DummyScheduler, trigger: DateTrigger
    ) -> None:
        with refused(
            ValueError,
            "The following arguments have not been supplied: value",
            "job function: needs_one_arg",
        ):
            Job(scheduler, func=needs_one_arg, args=(), kwargs={}, trigger=trigger)


@contextmanager
def refused(error: type[Exception], message: str, detail: str) -> Iterator[None]:
    """Expect ``error`` with the contract's ``message`` word for word and ``detail`` as its note.

    (Code written for APScheduler compares these messages exactly, so what we add is a note.)
    """
    with pytest.raises(error) as exc:
        yield
    assert str(exc.value) == message
    assert getattr(exc.value, "__notes__", []) == [detail]


class TestAtMostOnce:
    def test_defaults_to_false_and_stays_out_of_the_state(self, job: Job) -> None:
        assert job.at_most_once is False
        assert "at_most_once" not in job.__getstate__()

    def test_travels_with_the_state_when_set(self, job: Job) -> None:
        job._modify(at_most_once=True)
        state = job.__getstate__()
        assert state["at_most_once"] is True
        restored = Job.__new__(Job)
        restored.__setstate__(state)
        assert restored.at_most_once is True

    def test_a_state_without_it_restores_the_default(self, job: Job) -> None:
        restored = Job.__new__(Job)
        restored.__setstate__(job.__getstate__())
        assert restored.at_most_once is False

    def test_must_be_a_bool(self, job: Job) -> None:
        with pytest.raises(TypeError, match="at_most_once must be True or False, got str: 'yes'"):
            job._modify(at_most_once="yes")


class TestModifyValidation:
    def test_id_must_be_string(self, scheduler: DummyScheduler) -> None:
        with refused(TypeError, "id must be a nonempty string", "got int: 3"):
            create_job(scheduler, id=3)

    @pytest.mark.parametrize("new_id", ["otherid", "testid"])
    def test_id_cannot_change(self, job: Job, new_id: str) -> None:
        detail = (
            f"the job's id is 'testid', the new id '{new_id}': add a new job with that id and "
            "remove this one instead"
        )
        with refused(ValueError, "The job ID may not be changed", detail):
            job._modify(id=new_id)
        assert job.id == "testid"

    def test_func_textual_reference(self, job: Job) -> None:
        job._modify(func=f"{__name__}:DummyClass.classmeth")
        assert job.func == DummyClass.classmeth
        assert job.func_ref == f"{__name__}:DummyClass.classmeth"

    def test_a_func_string_without_a_colon_is_refused_showing_the_value(self, job: Job) -> None:
        with refused(
            ValueError,
            "Invalid reference",
            "func is 'not a reference' (expected 'package.module:function')",
        ):
            job._modify(func="not a reference")

    def test_func_bad_reference(self, job: Job) -> None:
        with pytest.raises(LookupError, match=r"could not import module$"):
            job._modify(func="quartzite_no_such_module:func")

    @pytest.mark.parametrize(
        "func",
        [lambda: None, partial(dummyfunc)],
        ids=["lambda", "partial"],
    )
    def test_func_without_reference(self, job: Job, func: Any) -> None:
        job._modify(func=func)
        assert job.func is func
        assert job.func_ref is None

    def test_nested_function_without_reference(self, job: Job) -> None:
        def nested() -> None:
            pass

        job._modify(func=nested)
        assert job.func is nested
        assert job.func_ref is None

    @pytest.mark.parametrize("func", [None, 5, b"module:func"])
    def test_func_not_callable(self, job: Job, func: object) -> None:
        detail = (
            f"got {type(func).__name__}: {func!r} (a reference looks like "
            "'package.module:function')"
        )
        with refused(TypeError, "func must be a callable or a textual reference to one", detail):
            job._modify(func=func)

    def test_default_name_from_callable(self, scheduler: DummyScheduler) -> None:
        assert create_job(scheduler, func=DummyClass(1).meth).name == "DummyClass.meth"
        assert create_job(scheduler, func=DummyClass).name == "DummyClass"

    def test_explicit_none_name_uses_callable_name(self, scheduler: DummyScheduler) -> None:
        assert create_job(scheduler, name=None).name == "dummyfunc"

    def test_changing_func_keeps_name(self, job: Job) -> None:
        job._modify(func=DummyClass.classmeth)
        assert job.name == "dummyname"

    @pytest.mark.parametrize("args", ["abc", 5, None])
    def test_args_must_be_non_string_iterable(self, job: Job, args: object) -> None:
        detail = f"got {type(args).__name__}: {args!r}"
        with refused(TypeError, "args must be a non-string iterable", detail):
            job._modify(args=args)

    @pytest.mark.parametrize("kwargs", ["abc", [("a", 1)], 5, None])
    def test_kwargs_must_be_mapping(self, job: Job, kwargs: object) -> None:
        detail = f"got {type(kwargs).__name__}: {kwargs!r}"
        with refused(TypeError, "kwargs must be a dict-like object", detail):
            job._modify(kwargs=kwargs)

    def test_kwargs_any_mapping(self, scheduler: DummyScheduler) -> None:
        kwargs = MappingProxyType({"a": 1})
        job = create_job(scheduler, func=add, kwargs=kwargs)
        assert job.kwargs is kwargs

    def test_args_kept_as_given(self, scheduler: DummyScheduler) -> None:
        args = [1, 2]
        assert create_job(scheduler, func=add, args=args).args is args

    def test_args_checked_against_existing_func(self, scheduler: DummyScheduler) -> None:
        job = create_job(scheduler, func=needs_one_arg, args=[1])
        with refused(
            ValueError,
            "The following arguments have not been supplied: value",
            "job function: needs_one_arg",
        ):
            job._modify(args=[])
        job._modify(args=[], kwargs={"value": 2})
        assert (job.args, job.kwargs) == ([], {"value": 2})

    def test_func_checked_against_existing_args(self, job: Job) -> None:
        with refused(
            ValueError,
            "The following arguments have not been supplied: value",
            "job function: needs_one_arg",
        ):
            job._modify(func=needs_one_arg)
        assert job.func is dummyfunc

    def test_check_callable_args_errors(self, scheduler: DummyScheduler) -> None:
        with refused(
            ValueError,
            "The target callable does not accept the following keyword arguments: c",
            "job function: add",
        ):
            create_job(scheduler, func=add, args=[1], kwargs={"c": 1})

    @pytest.mark.parametrize("name", ["", None, 5, b"name"])
    def test_name_must_be_nonempty_string(self, job: Job, name: object) -> None:
        detail = f"got {type(name).__name__}: {name!r}"
        with refused(TypeError, "name must be a nonempty string", detail):
            job._modify(name=name)

    @pytest.mark.parametrize("value", [None, 1, 3600])
    def test_misfire_grace_time_valid(self, job: Job, value: int | None) -> None:
        job._modify(misfire_grace_time=value)
        assert job.misfire_grace_time == value

    @pytest.mark.parametrize("value", [0, -1, 1.5, "5"])
    def test_misfire_grace_time_invalid(self, job: Job, value: object) -> None:
        detail = (
            f"got {type(value).__name__}: {value!r} (seconds a run may start late; None: no limit)"
        )
        with refused(
            TypeError, "misfire_grace_time must be either None or a positive integer", detail
        ):
            job._modify(misfire_grace_time=value)

    @pytest.mark.parametrize(
        ("value", "expected"), [(1, True), (0, False), ("yes", True), ([], False)]
    )
    def test_coalesce_is_bool(self, job: Job, value: object, expected: bool) -> None:
        job._modify(coalesce=value)
        assert job.coalesce is expected

    @pytest.mark.parametrize("value", [0, -1, None, "1", 1.0])
    def test_max_instances_invalid(self, job: Job, value: object) -> None:
        detail = f"got {type(value).__name__}: {value!r}"
        with refused(TypeError, "max_instances must be a positive integer", detail):
            job._modify(max_instances=value)

    def test_max_instances_valid(self, job: Job) -> None:
        job._modify(max_instances=5)
        assert job.max_instances == 5

    @pytest.mark.parametrize(("value", "typename"), [("date", "str"), (None, "NoneType")])
    def test_trigger_must_be_trigger(self, job: Job, value: object, typename: str) -> None:
        detail = (
            f"got {value!r}: build one from quartzite.triggers, or pass an alias such as "
            "'interval' to add_job"
        )
        with refused(TypeError, f"Expected a trigger instance, got {typename} instead", detail):
            job._modify(trigger=value)

    def test_trigger_subclass_accepted(self, job: Job) -> None:
        class NeverTrigger(BaseTrigger):
            def get_next_fire_time(
                self, previous_fire_time: datetime | None, now: datetime
            ) -> datetime | None:
                return None

        trigger = NeverTrigger()
        job._modify(trigger=trigger)
        assert job.trigger is trigger

    @pytest.mark.parametrize("value", [None, 1])
    def test_executor_must_be_string(self, job: Job, value: object) -> None:
        detail = f"got {type(value).__name__}: {value!r} (the executor's alias)"
        with refused(TypeError, "executor must be a string", detail):
            job._modify(executor=value)

    def test_next_run_time_aware(self, job: Job) -> None:
        value = datetime(2020, 1, 1, 12, tzinfo=NEW_YORK)
        job._modify(next_run_time=value)
        assert job.next_run_time is value

    def test_next_run_time_naive_uses_scheduler_timezone(self, job: Job) -> None:
        job._modify(next_run_time=datetime(2020, 7, 1, 12))
        assert job.next_run_time == datetime(2020, 7, 1, 12, tzinfo=BERLIN)
        assert job.next_run_time.tzinfo is BERLIN

    def test_next_run_time_string(self, job: Job) -> None:
        job._modify(next_run_time="2020-07-01 12:30:05")
        assert job.next_run_time == datetime(2020, 7, 1, 12, 30, 5, tzinfo=BERLIN)

    def test_next_run_time_date(self, job: Job) -> None:
        job._modify(next_run_time=date(2020, 7, 1))
        assert job.next_run_time == datetime(2020, 7, 1, tzinfo=BERLIN)

    def test_next_run_time_none(self, job: Job) -> None:
        job._modify(next_run_time=RUN_DATE)
        job._modify(next_run_time=None)
        assert job.next_run_time is None

    def test_next_run_time_bad_type(self, job: Job) -> None:
        with pytest.raises(TypeError, match=r"^Unsupported type for next_run_time: int$"):
            job._modify(next_run_time=1234)

    def test_next_run_time_follows_scheduler_timezone_changes(
        self, scheduler: DummyScheduler, job: Job
    ) -> None:
        scheduler.configure(timezone="America/New_York")
        job._modify(next_run_time="2020-07-01 12:00:00")
        assert job.next_run_time == datetime(2020, 7, 1, 12, tzinfo=NEW_YORK)

    def test_unknown_attributes(self, job: Job) -> None:
        with pytest.raises(AttributeError) as exc:
            job._modify(bogus=1, name="new name", other=2)
        assert str(exc.value) == "The following are not modifiable attributes of Job: bogus, other"
        assert job.name == "dummyname"

    def test_all_or_nothing(self, job: Job) -> None:
        with pytest.raises(TypeError, match=r"^executor must be a string\ngot int: 5 "):
            job._modify(
                name="changed",
                func=add,
                args=[1],
                misfire_grace_time=99,
                coalesce=True,
                max_instances=9,
                executor=5,
            )
        assert job.name == "dummyname"
        assert job.func is dummyfunc
        assert job.args == ()
        assert job.misfire_grace_time == 1
        assert job.coalesce is False
        assert job.max_instances == 1
        assert job.executor == "default"

    def test_all_or_nothing_next_run_time(self, job: Job) -> None:
        with pytest.raises(ValueError, match=r"^Invalid date string\nnext_run_time is 'tomorrow'"):
            job._modify(name="changed", next_run_time="tomorrow")
        assert job.name == "dummyname"
        assert job.next_run_time is None


class TestSchedulerShortcuts:
    """The public methods call the scheduler with exactly the positional shape of the contract."""

    @pytest.fixture
    def stored_job(self, job: Job) -> Job:
        job._jobstore_alias = "store"
        return job

    def test_modify(self, scheduler: DummyScheduler, stored_job: Job) -> None:
        scheduler.modify_job = Mock()  # type: ignore[method-assign]
        assert stored_job.modify(name="x", max_instances=2) is stored_job
        scheduler.modify_job.assert_called_once_with("testid", "store", name="x", max_instances=2)

    def test_reschedule(self, scheduler: DummyScheduler, stored_job: Job) -> None:
        scheduler.reschedule_job = Mock()  # type: ignore[method-assign]
        assert stored_job.reschedule("interval", seconds=5) is stored_job
        scheduler.reschedule_job.assert_called_once_with("testid", "store", "interval", seconds=5)

    def test_pause(self, scheduler: DummyScheduler, stored_job: Job) -> None:
        scheduler.pause_job = Mock()  # type: ignore[method-assign]
        assert stored_job.pause() is stored_job
        scheduler.pause_job.assert_called_once_with("testid", "store")

    def test_resume(self, scheduler: DummyScheduler, stored_job: Job) -> None:
        scheduler.resume_job = Mock()  # type: ignore[method-assign]
        assert stored_job.resume() is stored_job
        scheduler.resume_job.assert_called_once_with("testid", "store")

    def test_remove(self, scheduler: DummyScheduler, stored_job: Job) -> None:
        scheduler.remove_job = Mock()  # type: ignore[method-assign]
        assert stored_job.remove() is None
        scheduler.remove_job.assert_called_once_with("testid", "store")

    def test_pending_job_passes_none_alias(self, scheduler: DummyScheduler, job: Job) -> None:
        scheduler.pause_job = Mock()  # type: ignore[method-assign]
        job.pause()
        scheduler.pause_job.assert_called_once_with("testid", None)


class TestWithRealScheduler:
    """The shortcuts really change the job held by a started scheduler's memory store."""

    @pytest.fixture
    def started(self, scheduler: DummyScheduler) -> DummyScheduler:
        scheduler.start(paused=True)
        return scheduler

    def test_lifecycle(self, started: DummyScheduler) -> None:
        job = started.add_job(needs_one_arg, "interval", args=[1], minutes=5, id="real")
        assert job.pending is False
        assert job._jobstore_alias == "default"
        assert job.next_run_time is not None

        assert job.modify(name="renamed") is job
        assert started.get_job("real").name == "renamed"

        assert job.pause() is job
        assert started.get_job("real").next_run_time is None

        assert job.resume() is job
        assert started.get_job("real").next_run_time is not None

        assert job.reschedule("interval", hours=2) is job
        assert started.get_job("real").trigger.interval == timedelta(hours=2)

        job.remove()
        assert started.get_job("real") is None


class TestGetRunTimes:
    def test_paused(self, job: Job) -> None:
        assert job._get_run_times(RUN_DATE + timedelta(days=1)) == []

    def test_not_yet_due(self, job: Job) -> None:
        job._modify(next_run_time=RUN_DATE)
        assert job._get_run_times(RUN_DATE - timedelta(microseconds=1)) == []

    def test_due_exactly_now(self, job: Job) -> None:
        job._modify(next_run_time=RUN_DATE)
        assert job._get_run_times(RUN_DATE) == [RUN_DATE]

    def test_date_trigger_single_run(self, job: Job) -> None:
        job._modify(next_run_time=RUN_DATE)
        assert job._get_run_times(RUN_DATE + timedelta(days=365)) == [RUN_DATE]

    def test_interval_trigger(self, job: Job) -> None:
        start = datetime(2020, 1, 1, 9, tzinfo=BERLIN)
        job._modify(trigger=IntervalTrigger(hours=1, start_date=start), next_run_time=start)
        now = start + timedelta(hours=2, minutes=30)
        assert job._get_run_times(now) == [
            start,
            start + timedelta(hours=1),
            start + timedelta(hours=2),
        ]

    def test_now_in_other_timezone(self, job: Job) -> None:
        start = datetime(2020, 1, 1, 9, tzinfo=BERLIN)
        job._modify(trigger=IntervalTrigger(hours=1, start_date=start), next_run_time=start)
        now = datetime(2020, 1, 1, 9, tzinfo=timezone.utc)  # 10:00 in Berlin
        assert job._get_run_times(now) == [start, start + timedelta(hours=1)]

    def test_compared_in_utc_across_dst_fold(self, job: Job) -> None:
        start = datetime(2013, 11, 3, 1, 0, tzinfo=NEW_YORK)  # EDT, fold 0
        job._modify(
            trigger=IntervalTrigger(minutes=30, start_date=start, timezone=NEW_YORK),
            next_run_time=start,
        )
        now = datetime(2013, 11, 3, 1, 15, tzinfo=NEW_YORK, fold=1)  # EST, 75 minutes later
        run_times = job._get_run_times(now)
        assert [run_time.astimezone(timezone.utc) for run_time in run_times] == [
            datetime(2013, 11, 3, 5, 0, tzinfo=timezone.utc),
            datetime(2013, 11, 3, 5, 30, tzinfo=timezone.utc),
            datetime(2013, 11, 3, 6, 0, tzinfo=timezone.utc),
        ]
        assert [run_time.fold for run_time in run_times] == [0, 0, 1]

    def test_trigger_receives_previous_and_now(self, job: Job) -> None:
        calls: list[tuple[datetime | None, datetime]] = []

        class RecordingTrigger(BaseTrigger):
            def get_next_fire_time(
                self, previous_fire_time: datetime | None, now: datetime
            ) -> datetime | None:
                calls.append((previous_fire_time, now))
                if previous_fire_time is None or len(calls) > 2:
                    return None
                return previous_fire_time + timedelta(minutes=1)

        job._modify(trigger=RecordingTrigger(), next_run_time=RUN_DATE)
        now = RUN_DATE + timedelta(hours=1)
        assert job._get_run_times(now) == [
            RUN_DATE,
            RUN_DATE + timedelta(minutes=1),
            RUN_DATE + timedelta(minutes=2),
        ]
        assert calls == [
            (RUN_DATE, now),
            (RUN_DATE + timedelta(minutes=1), now),
            (RUN_DATE + timedelta(minutes=2), now),
        ]


class TestSerialization:
    def test_getstate(self, job: Job) -> None:
        job._modify(func=add, args=[1], kwargs={"b": 5}, next_run_time=RUN_DATE)
        state = job.__getstate__()
        assert state == {
            "version": 1,
            "id": "testid",
            "func": f"{__name__}:add",
            "trigger": job.trigger,
            "executor": "default",
            "args": [1],
            "kwargs": {"b": 5},
            "name": "dummyname",
            "misfire_grace_time": 1,
            "coalesce": False,
            "max_instances": 1,
            "next_run_time": RUN_DATE,
        }
        assert state["trigger"] is job.trigger

    def test_getstate_textual_reference(self, job: Job) -> None:
        job._modify(func=f"{__name__}:dummyfunc")
        assert job.__getstate__()["func"] == f"{__name__}:dummyfunc"

    def test_getstate_bound_method_of_instance(self, scheduler: DummyScheduler) -> None:
        instance = DummyClass(10)
        job = create_job(scheduler, func=instance.meth, args=(5,))
        state = job.__getstate__()
        assert state["func"] == f"{__name__}:DummyClass.meth"
        assert state["args"] == (instance, 5)
        assert state["args"][0] is instance
        assert job.args == (5,)  # the job itself is unchanged

    def test_getstate_bound_classmethod(self, scheduler: DummyScheduler) -> None:
        job = create_job(scheduler, func=DummyClass.classmeth, args=[])
        state = job.__getstate__()
        assert state["func"] == f"{__name__}:DummyClass.classmeth"
        assert state["args"] == []

    @pytest.mark.parametrize("func", [lambda: None, partial(dummyfunc)], ids=["lambda", "partial"])
    def test_getstate_without_reference(self, job: Job, func: Any) -> None:
        job._modify(func=func)
        with pytest.raises(ValueError) as exc:
            job.__getstate__()
        assert str(exc.value) == (
            f"This Job cannot be serialized since the reference to its callable ({func!r}) "
            "could not be determined. Consider giving a textual reference (module:function "
            "name) instead."
        )

    def test_setstate(self, trigger: DateTrigger) -> None:
        job = Job.__new__(Job)
        job.__setstate__(
            {
                "version": 1,
                "id": "restored",
                "func": f"{__name__}:add",
                "trigger": trigger,
                "executor": "other",
                "args": [1],
                "kwargs": {"b": 2},
                "name": "restored job",
                "misfire_grace_time": None,
                "coalesce": True,
                "max_instances": 4,
                "next_run_time": RUN_DATE,
                "extra key": "ignored",
            }
        )
        assert job.id == "restored"
        assert job.func_ref == f"{__name__}:add"
        assert job.func is add
        assert job.trigger is trigger
        assert job.executor == "other"
        assert job.args == [1]
        assert job.kwargs == {"b": 2}
        assert job.name == "restored job"
        assert job.misfire_grace_time is None
        assert job.coalesce is True
        assert job.max_instances == 4
        assert job.next_run_time == RUN_DATE
        assert not hasattr(job, "_scheduler")
        assert not hasattr(job, "_jobstore_alias")

    def test_setstate_without_version(self, job: Job) -> None:
        state = job.__getstate__()
        del state["version"]
        restored = Job.__new__(Job)
        restored.__setstate__(state)
        assert restored.id == "testid"

    def test_setstate_newer_version(self, job: Job) -> None:
        state = job.__getstate__()
        state["version"] = 2
        with pytest.raises(
            ValueError, match=r"^Job has version 2, but only version 1 can be handled$"
        ):
            Job.__new__(Job).__setstate__(state)

    def test_pickle_round_trip(self, job: Job) -> None:
        job._modify(func=add, args=(1,), kwargs={"b": 7}, next_run_time=RUN_DATE)
        job._jobstore_alias = "default"
        restored = pickle.loads(pickle.dumps(job))
        assert restored == job
        assert restored.__getstate__() == {**job.__getstate__(), "trigger": restored.trigger}
        assert restored.trigger.run_date == job.trigger.run_date
        assert restored.func(*restored.args, **restored.kwargs) == 8
        assert not hasattr(restored, "_scheduler")
        assert not hasattr(restored, "_jobstore_alias")

    def test_pickle_bound_method(self, scheduler: DummyScheduler) -> None:
        job = create_job(scheduler, func=DummyClass(10).meth, args=(5,))
        restored = pickle.loads(pickle.dumps(job))
        assert restored.func is DummyClass.meth
        assert isinstance(restored.args[0], DummyClass)
        assert restored.func(*restored.args, **restored.kwargs) == 15

    def test_pickle_without_reference_fails(self, job: Job) -> None:
        job._modify(func=lambda: None)
        with pytest.raises(ValueError, match=r"^This Job cannot be serialized"):
            pickle.dumps(job)


class TestComparisonAndRepr:
    def test_equal_by_id(self, scheduler: DummyScheduler) -> None:
        first = create_job(scheduler, id="same", name="first")
        second = create_job(scheduler, id="same", name="second", func=add, args=[1])
        assert first == second
        assert (first != second) is False

    def test_different_ids(self, scheduler: DummyScheduler) -> None:
        assert create_job(scheduler, id="a") != create_job(scheduler, id="b")

    def test_other_types(self, job: Job) -> None:
        assert job.__eq__("testid") is NotImplemented
        assert job != "testid"
        assert job != None  # noqa: E711

    def test_unhashable(self, job: Job) -> None:
        with pytest.raises(TypeError):
            hash(job)

    def test_repr(self, job: Job) -> None:
        assert repr(job) == "<Job (id=testid name=dummyname)>"

    def test_str_scheduled(self, job: Job) -> None:
        job._modify(next_run_time=RUN_DATE)
        assert str(job) == (
            "dummyname (trigger: date[2011-04-03 18:40:00 CEST], "
            "next run at: 2011-04-03 18:40:00 CEST)"
        )

    def test_str_paused(self, job: Job) -> None:
        assert str(job) == "dummyname (trigger: date[2011-04-03 18:40:00 CEST], paused)"

    def test_str_pending(self, scheduler: DummyScheduler, trigger: DateTrigger) -> None:
        job = Job(scheduler, id="x", func=dummyfunc, args=(), kwargs={}, trigger=trigger)
        assert str(job) == "dummyfunc (trigger: date[2011-04-03 18:40:00 CEST], pending)"
