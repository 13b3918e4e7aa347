"""Every malformed input to the public constructors and scheduler methods gets a clear error.

One table, one row per bad input: the call, the exception type it must raise, and the words the
message must contain — the parameter's name and the bad value (its ``repr`` or its ``str``), so
a user reading only the error knows what to fix. Where API.md fixes a message word for word
(code written for APScheduler compares it), the detail is a PEP 678 note, printed under it.
Nothing in the table may be accepted, and nothing may hang: each call runs under an alarm.

Inputs that the API contract fixes as *accepted* (an interval of zero becomes one second, a cron
specification that can never fire through ``CronTrigger(...)``) are not here; they are covered
next to their triggers, where the warning they log is checked.
"""

from __future__ import annotations

import math
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Callable
from zoneinfo import ZoneInfo

import pytest

from quartzite.executors.debug import DebugExecutor
from quartzite.executors.pool import ProcessPoolExecutor, ThreadPoolExecutor
from quartzite.jobstores.memory import MemoryJobStore
from quartzite.schedulers.background import BackgroundScheduler
from quartzite.serializers import JSONSerializer, PickleSerializer, resolve_serializer
from quartzite.triggers.calendarinterval import CalendarIntervalTrigger
from quartzite.triggers.combining import AndTrigger, OrTrigger
from quartzite.triggers.cron import CronTrigger
from quartzite.triggers.date import DateTrigger
from quartzite.triggers.interval import IntervalTrigger
from support import Hang, alarm

BERLIN = ZoneInfo("Europe/Berlin")
LATER = datetime(2030, 1, 1, tzinfo=BERLIN)
EARLIER = datetime(2020, 1, 1, tzinfo=BERLIN)
SECONDS_PER_CALL = 10  # an alarm far above any honest error path: only a hang reaches it


def job_function(*args: Any, **kwargs: Any) -> None:
    """The function the table's jobs would call."""


def two_arguments(first: Any, second: Any) -> None:
    """A function that needs exactly two arguments."""


@dataclass(frozen=True)
class Case:
    """One malformed input: ``call(scheduler)`` must raise ``error`` naming every word of
    ``mentions`` (each given as alternatives: any one of a tuple is enough)."""

    name: str
    call: Callable[[Any], Any]
    error: type[BaseException] | tuple[type[BaseException], ...]
    mentions: tuple[Any, ...] = field(default_factory=tuple)


def case(
    name: str,
    call: Callable[[Any], Any],
    error: type[BaseException] | tuple[type[BaseException], ...],
    *mentions: Any,
) -> Case:
    return Case(name, call, error, mentions)


def value_words(value: Any) -> tuple[str, ...]:
    """The ways a message may show ``value``: its repr or its str."""
    return (repr(value), str(value))


# --- the table ----------------------------------------------------------------------------------
CASES: list[Case] = []


def _interval_cases() -> Iterator[Case]:
    for unit in ("weeks", "days", "hours", "minutes", "seconds"):
        yield case(
            f"interval {unit}=-1",
            lambda s, u=unit: IntervalTrigger(**{u: -1}),
            ValueError,
            unit,
            "-1",
        )
        yield case(
            f"interval {unit}='x'",
            lambda s, u=unit: IntervalTrigger(**{u: "x"}),
            TypeError,
            unit,
            "'x'",
        )
        yield case(
            f"interval {unit}=inf",
            lambda s, u=unit: IntervalTrigger(**{u: math.inf}),
            ValueError,
            unit,
            "inf",
        )
        yield case(
            f"interval {unit}=nan",
            lambda s, u=unit: IntervalTrigger(**{u: math.nan}),
            ValueError,
            unit,
            "nan",
        )
    yield case(
        "interval days=10**9",
        lambda s: IntervalTrigger(days=10**9),
        ValueError,
        "days",
        "1000000000",
    )
    yield case(
        "interval weeks=10**12",
        lambda s: IntervalTrigger(weeks=10**12),
        ValueError,
        "weeks",
        "1000000000000",
    )
    yield case(
        "interval jitter=-5",
        lambda s: IntervalTrigger(seconds=1, jitter=-5),
        ValueError,
        "jitter",
        "-5",
    )
    yield case(
        "interval jitter='x'",
        lambda s: IntervalTrigger(seconds=1, jitter="x"),
        TypeError,
        "jitter",
        "'x'",
    )
    yield case(
        "interval jitter=inf",
        lambda s: IntervalTrigger(seconds=1, jitter=math.inf),
        ValueError,
        "jitter",
        "inf",
    )
    yield case(
        "interval start after end",
        lambda s: IntervalTrigger(seconds=1, start_date=LATER, end_date=EARLIER),
        ValueError,
        "start_date",
        "end_date",
    )
    yield case(
        "interval start_date garbage",
        lambda s: IntervalTrigger(seconds=1, start_date="garbage"),
        ValueError,
        "start_date",
        "garbage",
    )
    yield case(
        "interval start_date=[]",
        lambda s: IntervalTrigger(seconds=1, start_date=[]),
        TypeError,
        "start_date",
        "list",
    )
    yield case(
        "interval unknown zone",
        lambda s: IntervalTrigger(seconds=1, timezone="Nowhere/Zone"),
        (LookupError, ValueError),
        "Nowhere/Zone",
    )
    yield case(
        "interval timezone=5", lambda s: IntervalTrigger(seconds=1, timezone=5), TypeError, "5"
    )


def _date_cases() -> Iterator[Case]:
    yield case(
        "date run_date garbage", lambda s: DateTrigger("garbage"), ValueError, "run_date", "garbage"
    )
    yield case("date run_date=[]", lambda s: DateTrigger([]), TypeError, "run_date", "list")
    yield case(
        "date run_date=object()", lambda s: DateTrigger(object()), TypeError, "run_date", "object"
    )
    yield case(
        "date unknown zone",
        lambda s: DateTrigger("2030-01-01 10:00", timezone="Nowhere/Zone"),
        (LookupError, ValueError),
        "Nowhere/Zone",
    )
    yield case(
        "date month 13",
        lambda s: DateTrigger("2030-13-01 10:00"),
        ValueError,
        "2030-13-01",
    )


def _cron_cases() -> Iterator[Case]:
    bad_fields = [
        ("second", 60),
        ("second", -1),
        ("minute", 60),
        ("hour", 24),
        ("day", 0),
        ("day", 32),
        ("month", 0),
        ("month", 13),
        ("week", 0),
        ("week", 54),
        ("day_of_week", "xyz"),
        ("day_of_week", 7),
        ("hour", "1-"),
        ("hour", "*/0"),
        ("minute", "5-2"),
        ("month", "foo"),
        ("year", "abc"),
    ]
    for name, value in bad_fields:
        yield case(
            f"cron {name}={value!r}",
            lambda s, n=name, v=value: CronTrigger(**{n: v}),
            ValueError,
            value_words(value),
        )
    yield case(
        "cron hour=object()", lambda s: CronTrigger(hour=object()), (TypeError, ValueError), "hour"
    )
    yield case(
        "cron jitter=-1", lambda s: CronTrigger(hour=1, jitter=-1), ValueError, "jitter", "-1"
    )
    yield case(
        "cron jitter='x'", lambda s: CronTrigger(hour=1, jitter="x"), TypeError, "jitter", "'x'"
    )
    yield case(
        "cron unknown zone",
        lambda s: CronTrigger(hour=1, timezone="Nowhere/Zone"),
        (LookupError, ValueError),
        "Nowhere/Zone",
    )
    yield case(
        "cron start_date garbage",
        lambda s: CronTrigger(hour=1, start_date="garbage"),
        ValueError,
        "start_date",
        "garbage",
    )
    crontabs = [
        ("", ValueError),
        ("* * *", ValueError),
        ("* * * * * * * *", ValueError),
        ("60 * * * *", ValueError),
        ("* 24 * * *", ValueError),
        ("* * 0 * *", ValueError),
        ("* * 32 * *", ValueError),
        ("* * * 13 *", ValueError),
        ("* * * * 8", ValueError),
        ("*/0 * * * *", ValueError),
        ("a b c d e", ValueError),
        ("@bogus", ValueError),
        ("0 0 31 2 *", ValueError),
        ("0 0 30 2 *", ValueError),
        ("0 0 31 4,6,9,11 *", ValueError),
    ]
    for expression, error in crontabs:
        yield case(
            f"from_crontab({expression!r})",
            lambda s, e=expression: CronTrigger.from_crontab(e),
            error,
            value_words(expression) if expression else ("expression", "empty", "''"),
        )
    for bad in (None, 5, b"* * * * *", ["*"] * 5):
        yield case(
            f"from_crontab({bad!r})",
            lambda s, b=bad: CronTrigger.from_crontab(b),
            TypeError,
            type(bad).__name__,
        )


def _calendar_cases() -> Iterator[Case]:
    for unit in ("years", "months", "weeks", "days"):
        yield case(
            f"calendarinterval {unit}=-1",
            lambda s, u=unit: CalendarIntervalTrigger(**{u: -1}),
            ValueError,
            unit,
            "-1",
        )
        yield case(
            f"calendarinterval {unit}='x'",
            lambda s, u=unit: CalendarIntervalTrigger(**{u: "x"}),
            TypeError,
            unit,
            "'x'",
        )
    yield case(
        "calendarinterval all zero", lambda s: CalendarIntervalTrigger(), ValueError, "interval"
    )
    for unit, value in (("hour", 24), ("minute", 60), ("second", 60), ("hour", -1)):
        yield case(
            f"calendarinterval {unit}={value}",
            lambda s, u=unit, v=value: CalendarIntervalTrigger(days=1, **{u: v}),
            ValueError,
            value_words(value),
        )
    yield case(
        "calendarinterval start after end",
        lambda s: CalendarIntervalTrigger(days=1, start_date=LATER.date(), end_date=EARLIER.date()),
        ValueError,
        "start_date",
        "end_date",
    )
    yield case(
        "calendarinterval start_date garbage",
        lambda s: CalendarIntervalTrigger(days=1, start_date="garbage"),
        ValueError,
        "start_date",
        "garbage",
    )
    yield case(
        "calendarinterval unknown zone",
        lambda s: CalendarIntervalTrigger(days=1, timezone="Nowhere/Zone"),
        (LookupError, ValueError),
        "Nowhere/Zone",
    )


def _combining_cases() -> Iterator[Case]:
    for combinator in (AndTrigger, OrTrigger):
        label = combinator.__name__
        yield case(f"{label}([])", lambda s, c=combinator: c([]), ValueError, "trigger")
        yield case(f"{label}([5])", lambda s, c=combinator: c([5]), TypeError, "int")
        yield case(f"{label}('x')", lambda s, c=combinator: c("x"), TypeError, "str")
        yield case(
            f"{label} jitter=-1",
            lambda s, c=combinator: c([IntervalTrigger(seconds=1)], jitter=-1),
            ValueError,
            "jitter",
            "-1",
        )


def _add_job_cases() -> Iterator[Case]:
    def add(**kwargs: Any) -> Callable[[Any], Any]:
        kwargs.setdefault("func", job_function)
        kwargs.setdefault("trigger", "interval")
        if kwargs["trigger"] == "interval":
            kwargs.setdefault("seconds", 10)
        return lambda scheduler: scheduler.add_job(**kwargs)

    yield case("add_job func=5", add(func=5), TypeError, "func", "5")
    yield case("add_job func=None", add(func=None), TypeError, "func", "None")
    yield case(
        "add_job func no module", add(func="no_such_module_q:f"), LookupError, "no_such_module_q"
    )
    yield case(
        "add_job func no attribute",
        add(func="os:no_such_function"),
        LookupError,
        "no_such_function",
    )
    yield case("add_job func bad ref", add(func="not a reference"), ValueError, "not a reference")
    yield case("add_job args=5", add(args=5), TypeError, "args", "5")
    yield case("add_job args='abc'", add(args="abc"), TypeError, "args", "'abc'")
    yield case("add_job kwargs='x'", add(kwargs="x"), TypeError, "kwargs", "'x'")
    yield case("add_job kwargs=[1]", add(kwargs=[1]), TypeError, "kwargs", "[1]")
    yield case(
        "add_job too many args",
        add(func=two_arguments, args=(1, 2, 3)),
        ValueError,
        "two_arguments",
    )
    yield case("add_job missing args", add(func=two_arguments, args=(1,)), ValueError, "second")
    yield case("add_job id=5", add(id=5), TypeError, "id", "5")
    yield case("add_job name=''", add(name=""), TypeError, "name", "''")
    yield case("add_job name=5", add(name=5), TypeError, "name", "5")
    for bad in (-1, 0, "x", 1.5):
        yield case(
            f"add_job misfire_grace_time={bad!r}",
            add(misfire_grace_time=bad),
            TypeError,
            "misfire_grace_time",
            value_words(bad),
        )
    for bad in (0, -1, "x"):
        yield case(
            f"add_job max_instances={bad!r}",
            add(max_instances=bad),
            TypeError,
            "max_instances",
            value_words(bad),
        )
    yield case("add_job executor='nope'", add(executor="nope"), LookupError, "nope", "default")
    yield case("add_job executor=5", add(executor=5), TypeError, "executor", "5")
    yield case("add_job jobstore='nope'", add(jobstore="nope"), LookupError, "nope", "default")
    yield case("add_job jobstore=5", add(jobstore=5), TypeError, "jobstore", "5")
    yield case("add_job trigger=5", add(trigger=5), TypeError, "trigger", "int")
    yield case("add_job trigger='cronn'", add(trigger="cronn"), LookupError, "cronn", "cron")
    yield case("add_job trigger='nope'", add(trigger="nope"), LookupError, "nope")
    yield case(
        "add_job unknown trigger option",
        add(trigger="interval", seconds=5, secnds=3),
        TypeError,
        "secnds",
    )
    yield case(
        "add_job next_run_time garbage",
        add(next_run_time="garbage"),
        ValueError,
        "next_run_time",
        "garbage",
    )
    yield case(
        "add_job next_run_time=[]",
        add(next_run_time=[]),
        TypeError,
        "next_run_time",
        "list",
    )
    yield case("add_job interval seconds=-1", add(seconds=-1), ValueError, "seconds", "-1")
    yield case("add_job jitter=-5", add(seconds=1, jitter=-5), ValueError, "jitter", "-5")
    yield case("add_job cron hour=25", add(trigger="cron", hour=25), ValueError, "25")
    yield case(
        "add_job date garbage", add(trigger="date", run_date="garbage"), ValueError, "garbage"
    )


def _modify_cases() -> Iterator[Case]:
    def modify(**changes: Any) -> Callable[[Any], Any]:
        def call(scheduler: Any) -> Any:
            scheduler.add_job(
                job_function, "interval", seconds=10, id="target", replace_existing=True
            )
            return scheduler.modify_job("target", **changes)

        return call

    yield case(
        "modify_job misfire_grace_time=-1",
        modify(misfire_grace_time=-1),
        TypeError,
        "misfire_grace_time",
        "-1",
    )
    yield case(
        "modify_job max_instances=0", modify(max_instances=0), TypeError, "max_instances", "0"
    )
    yield case("modify_job unknown attribute", modify(colour="red"), AttributeError, "colour")
    yield case("modify_job id change", modify(id="other"), ValueError, "id")
    yield case("modify_job trigger='x'", modify(trigger="x"), TypeError, "trigger", "str")
    yield case("modify_job args=5", modify(args=5), TypeError, "args", "5")
    yield case("modify_job kwargs='x'", modify(kwargs="x"), TypeError, "kwargs", "'x'")
    yield case("modify_job executor=5", modify(executor=5), TypeError, "executor", "5")
    yield case(
        "modify_job next_run_time garbage",
        modify(next_run_time="garbage"),
        ValueError,
        "next_run_time",
        "garbage",
    )

    def reschedule(trigger: Any, **trigger_args: Any) -> Callable[[Any], Any]:
        def call(scheduler: Any) -> Any:
            scheduler.add_job(
                job_function, "interval", seconds=10, id="target", replace_existing=True
            )
            return scheduler.reschedule_job("target", trigger=trigger, **trigger_args)

        return call

    yield case("reschedule_job trigger='cronn'", reschedule("cronn"), LookupError, "cronn")
    yield case(
        "reschedule_job seconds=-1", reschedule("interval", seconds=-1), ValueError, "seconds", "-1"
    )
    yield case("reschedule_job trigger=5", reschedule(5), TypeError, "trigger", "int")
    yield case("reschedule_job cron day=0", reschedule("cron", day=0), ValueError, "0")


def _configure_cases() -> Iterator[Case]:
    def configure(**options: Any) -> Callable[[Any], Any]:
        return lambda scheduler: BackgroundScheduler(**options)

    yield case(
        "job_defaults unknown key",
        configure(job_defaults={"bogus": 1}),
        ValueError,
        "bogus",
        "misfire_grace_time",
    )
    yield case(
        "job_defaults misfire_grace_time=-1",
        configure(job_defaults={"misfire_grace_time": -1}),
        (TypeError, ValueError),
        "misfire_grace_time",
        "-1",
    )
    yield case(
        "job_defaults max_instances=0",
        configure(job_defaults={"max_instances": 0}),
        (TypeError, ValueError),
        "max_instances",
        "0",
    )
    yield case(
        "job_defaults coalesce='maybe'",
        configure(job_defaults={"coalesce": "maybe"}),
        ValueError,
        "coalesce",
        "maybe",
    )
    yield case(
        "job_defaults max_instances='x'",
        configure(job_defaults={"max_instances": "x"}),
        (TypeError, ValueError),
        "max_instances",
        "x",
    )
    yield case("job_defaults=5", configure(job_defaults=5), TypeError, "job_defaults", "int")
    for bad in (-1, "abc", math.inf, math.nan):
        yield case(
            f"jobstore_retry_interval={bad!r}",
            configure(jobstore_retry_interval=bad),
            ValueError,
            "jobstore_retry_interval",
            value_words(bad),
        )
    yield case(
        "timezone unknown",
        configure(timezone="Nowhere/Zone"),
        (LookupError, ValueError),
        "Nowhere/Zone",
    )
    yield case("timezone=5", configure(timezone=5), TypeError, "5")
    yield case("executors=5", configure(executors=5), TypeError, "executors", "int")
    yield case("jobstores='x'", configure(jobstores="x"), TypeError, "jobstores", "str")
    yield case(
        "executor entry=5",
        configure(executors={"default": 5}),
        TypeError,
        "executors['default']",
        "int",
    )
    yield case(
        "executor without type or class",
        configure(executors={"default": {}}),
        ValueError,
        "default",
        "type",
    )
    yield case(
        "executor type misspelt",
        configure(executors={"default": {"type": "threadpol"}}),
        LookupError,
        "threadpol",
        "threadpool",
    )
    yield case(
        "jobstore type unknown",
        configure(jobstores={"default": {"type": "nope"}}),
        LookupError,
        "nope",
    )
    yield case(
        "jobstore class not importable",
        configure(jobstores={"default": {"class": "no_such_module_q:Store"}}),
        LookupError,
        "no_such_module_q",
    )


def _component_cases() -> Iterator[Case]:
    for bad in (0, -1, "x"):
        yield case(
            f"ThreadPoolExecutor(max_workers={bad!r})",
            lambda s, b=bad: ThreadPoolExecutor(b),
            (TypeError, ValueError),
            "max_workers",
            value_words(bad),
        )
        yield case(
            f"ProcessPoolExecutor(max_workers={bad!r})",
            lambda s, b=bad: ProcessPoolExecutor(b),
            (TypeError, ValueError),
            "max_workers",
            value_words(bad),
        )
    yield case(
        "ThreadPoolExecutor(pool_kwargs=5)",
        lambda s: ThreadPoolExecutor(10, pool_kwargs=5),
        TypeError,
        "pool_kwargs",
        "int",
    )
    yield case(
        "serializer name unknown", lambda s: resolve_serializer("yaml"), ValueError, "yaml", "json"
    )
    yield case("serializer=5", lambda s: resolve_serializer(5), TypeError, "int")
    yield case(
        "pickle protocol 99", lambda s: PickleSerializer(protocol=99), ValueError, "protocol", "99"
    )
    yield case(
        "JSON allowed_modules='os'",
        lambda s: JSONSerializer(allowed_modules="os"),
        TypeError,
        "allowed_modules",
        "'os'",
    )
    yield case(
        "add_executor twice",
        lambda s: s.add_executor(DebugExecutor(), "default"),
        ValueError,
        "default",
    )
    yield case(
        "add_jobstore twice",
        lambda s: s.add_jobstore(MemoryJobStore(), "default"),
        ValueError,
        "default",
    )
    yield case(
        "add_executor plugin misspelt",
        lambda s: s.add_executor("threadpol", "other"),
        LookupError,
        "threadpol",
        "threadpool",
    )
    yield case(
        "add_jobstore plugin misspelt",
        lambda s: s.add_jobstore("memry", "other"),
        LookupError,
        "memry",
        "memory",
    )
    yield case("add_executor(5)", lambda s: s.add_executor(5, "other"), TypeError, "int")
    yield case("remove_executor unknown", lambda s: s.remove_executor("nope"), KeyError, "nope")
    yield case("remove_jobstore unknown", lambda s: s.remove_jobstore("nope"), KeyError, "nope")
    yield case("remove_job unknown", lambda s: s.remove_job("nope"), LookupError, "nope")
    yield case("pause_job unknown", lambda s: s.pause_job("nope"), LookupError, "nope")
    yield case("resume_job unknown", lambda s: s.resume_job("nope"), LookupError, "nope")
    yield case("modify_job unknown", lambda s: s.modify_job("nope", name="x"), LookupError, "nope")
    yield case("start twice", lambda s: s.start(), Exception, "running")


def _store_cases() -> Iterator[Case]:
    def redis_store(**kwargs: Any) -> Callable[[Any], Any]:
        def call(scheduler: Any) -> Any:
            pytest.importorskip("redis")
            from quartzite.jobstores.redis import RedisJobStore

            return RedisJobStore(**kwargs)

        return call

    def sql_store(**kwargs: Any) -> Callable[[Any], Any]:
        def call(scheduler: Any) -> Any:
            pytest.importorskip("sqlalchemy")
            from quartzite.jobstores.sqlalchemy import SQLAlchemyJobStore

            return SQLAlchemyJobStore(**kwargs)

        return call

    for name, value in (("port", "abc"), ("port", -1), ("port", 70000), ("db", -1), ("db", "x")):
        yield case(
            f"RedisJobStore({name}={value!r})",
            redis_store(**{name: value}),
            (TypeError, ValueError),
            name,
            value_words(value),
        )
    yield case("RedisJobStore(jobs_key='')", redis_store(jobs_key=""), ValueError, "jobs_key")
    yield case("RedisJobStore(jobs_key=5)", redis_store(jobs_key=5), TypeError, "jobs_key", "int")
    yield case("SQLAlchemyJobStore()", sql_store(), ValueError, "url")
    yield case(
        "SQLAlchemyJobStore(tablename='')",
        sql_store(url="sqlite://", tablename=""),
        ValueError,
        "tablename",
    )
    yield case(
        "SQLAlchemyJobStore(tablename=5)",
        sql_store(url="sqlite://", tablename=5),
        TypeError,
        "tablename",
        "int",
    )
    yield case(
        "SQLAlchemyJobStore(url=5)",
        sql_store(url=5),
        (TypeError, ValueError),
        "url",
        "5",
    )
    yield case(
        "SQLAlchemyJobStore(pickle_protocol=99)",
        sql_store(url="sqlite://", pickle_protocol=99),
        ValueError,
        "99",
    )


for _generator in (
    _interval_cases,
    _date_cases,
    _cron_cases,
    _calendar_cases,
    _combining_cases,
    _add_job_cases,
    _modify_cases,
    _configure_cases,
    _component_cases,
    _store_cases,
):
    CASES.extend(_generator())


# --- the test ----------------------------------------------------------------------------------


@pytest.fixture
def guarded() -> Iterator[None]:
    """Interrupt a call that runs longer than :data:`SECONDS_PER_CALL` (POSIX only)."""
    with alarm(SECONDS_PER_CALL):
        yield


@pytest.fixture
def scheduler() -> Iterator[BackgroundScheduler]:
    """A running scheduler on a memory store and a debug executor, paused so nothing runs."""
    scheduler = BackgroundScheduler(
        timezone=BERLIN,
        jobstores={"default": MemoryJobStore()},
        executors={"default": DebugExecutor()},
    )
    scheduler.start(paused=True)
    yield scheduler
    scheduler.shutdown(wait=False)


def test_the_table_is_large_enough() -> None:
    assert len(CASES) >= 150
    assert len({item.name for item in CASES}) == len(CASES), "case names must be unique"


@pytest.mark.parametrize("item", CASES, ids=[item.name for item in CASES])
def test_malformed_input_gets_a_clear_error(
    item: Case, scheduler: BackgroundScheduler, guarded: None
) -> None:
    with pytest.raises(item.error) as info:
        item.call(scheduler)
    message = str(info.value)
    if isinstance(info.value, KeyError) and info.value.args:
        message = str(info.value.args[0])
    # Where the contract fixes a message word for word, the detail travels as PEP 678 notes,
    # which tracebacks print under the message.
    message = "\n".join([message, *getattr(info.value, "__notes__", ())])
    for wanted in item.mentions:
        alternatives = wanted if isinstance(wanted, tuple) else (wanted,)
        assert any(str(word) in message for word in alternatives), (
            f"{type(info.value).__name__}({message!r}) should mention "
            f"{' or '.join(repr(str(word)) for word in alternatives)}"
        )


def test_a_clear_error_leaves_the_scheduler_working(scheduler: BackgroundScheduler) -> None:
    """After refusing bad input, the scheduler still takes good input."""
    with pytest.raises(ValueError):
        scheduler.add_job(job_function, "interval", seconds=-1)
    job = scheduler.add_job(job_function, "interval", seconds=10, id="good")
    assert scheduler.get_job("good") is job or scheduler.get_job("good") == job
    next_run = scheduler.get_job("good").next_run_time
    assert next_run is not None
    assert next_run - datetime.now(BERLIN) <= timedelta(seconds=11)


@pytest.mark.skipif(not hasattr(signal, "setitimer"), reason="the alarm needs SIGALRM")
def test_the_alarm_turns_a_hang_into_a_failure() -> None:
    """The guard every row runs under does fire (so a table that passes means no row hung)."""
    with pytest.raises(Hang, match=r"did not return within 0\.05 s"), alarm(0.05):
        time.sleep(5)
