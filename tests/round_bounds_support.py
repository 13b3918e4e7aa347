"""Support for ``test_round_bounds.py``: hostile rows, hostile triggers, a recording executor.

This module is importable as ``round_bounds_support`` (the tests directory is on ``sys.path``),
so the job function and the hand-written triggers below have references that a pickle or a
JSON row can name, and the JSON serializer of the tests allows exactly this module.

A generated trigger is described by a :class:`TriggerState`: the trigger class and the state
its ``__setstate__`` (pickle) or ``_from_json_state`` (JSON) receives, which may be anything an
attacker with write access could put in a row. :func:`pickle_row` and :func:`json_row` turn it
into the bytes of a whole job row, without going through any constructor or validation, and
:func:`trigger_state_strategy` generates them with hypothesis.
"""

from __future__ import annotations

import json
import math
import pickle
import warnings
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import strategies as st

from quartzite.executors.base import BaseExecutor
from quartzite.job import Job
from quartzite.serializers import format_datetime, format_timedelta, format_timezone
from quartzite.triggers.base import BaseTrigger
from quartzite.triggers.calendarinterval import CalendarIntervalTrigger
from quartzite.triggers.combining import AndTrigger, BaseCombiningTrigger, OrTrigger
from quartzite.triggers.cron import CronTrigger
from quartzite.triggers.date import DateTrigger
from quartzite.triggers.interval import IntervalTrigger
from quartzite.util import obj_to_ref
from support import DummyScheduler

#: The fixed "now" of every round in these tests.
NOW = datetime(2030, 6, 1, 12, 0, tzinfo=timezone.utc)
#: Where every hostile row's next run time lies: ten years before NOW.
TEN_YEARS_AGO = NOW - timedelta(days=3653)
UTC = timezone.utc
BERLIN = ZoneInfo("Europe/Berlin")
#: The reference of the function every job of these tests calls.
JOB_FUNC = "round_bounds_support:job_function"
#: The module the JSON serializer of these tests lets rows name (functions and triggers).
ALLOWED_MODULES = ["round_bounds_support"]


def job_function(*args: Any, **kwargs: Any) -> None:
    """The function the jobs call (never actually called: the executor only records)."""


class FixedNowScheduler(DummyScheduler):
    """A scheduler whose clock always reads :data:`NOW`."""

    def _current_time(self) -> datetime:
        return NOW.astimezone(self.timezone)


class RecordingExecutor(BaseExecutor):
    """Records each submission as ``(job id, run times)`` instead of running the job.

    Nothing is run, so no misfire check reads the real clock; the instance is released at once.
    """

    def __init__(self) -> None:
        super().__init__()
        self.submissions: list[tuple[str, list[datetime]]] = []

    def _do_submit_job(self, job: Job, run_times: list[datetime]) -> None:
        self.submissions.append((job.id, list(run_times)))
        self._run_job_success(job.id, [])


# --- hand-written hostile third-party triggers ------------------------------------------------


class _StartTrigger(BaseTrigger):
    """A third-party trigger whose first fire time is ``start``; subclasses break the rest."""

    __slots__ = ("start",)

    def __init__(self, start: datetime) -> None:
        self.start = start

    def get_next_fire_time(self, previous_fire_time: datetime | None, now: datetime) -> Any:
        if previous_fire_time is None:
            return self.start
        return self.following(previous_fire_time)

    def following(self, previous: datetime) -> Any:
        raise NotImplementedError

    def __getstate__(self) -> dict[str, Any]:
        return {"start": self.start}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.start = state["start"]

    def __repr__(self) -> str:
        return f"<{type(self).__name__}>"


class SameTimeTrigger(_StartTrigger):
    """Answers the previous fire time again: its schedule never advances."""

    __slots__ = ()

    def following(self, previous: datetime) -> Any:
        return previous


class EarlierTrigger(_StartTrigger):
    """Answers an hour before the previous fire time: its schedule goes backwards."""

    __slots__ = ()

    def following(self, previous: datetime) -> Any:
        return previous - timedelta(hours=1)


class NaiveTrigger(_StartTrigger):
    """Answers a naive datetime (a minute later, the zone dropped)."""

    __slots__ = ()

    def following(self, previous: datetime) -> Any:
        return (previous + timedelta(minutes=1)).replace(tzinfo=None)


class NotADatetimeTrigger(_StartTrigger):
    """Answers text instead of a datetime."""

    __slots__ = ()

    def following(self, previous: datetime) -> Any:
        return "tomorrow, probably"


class RaisingTrigger(_StartTrigger):
    """Raises whenever asked for a fire time after the first."""

    __slots__ = ()

    def following(self, previous: datetime) -> Any:
        raise RuntimeError("this trigger's arithmetic is broken")


class CreepingTrigger(_StartTrigger):
    """Fires one microsecond after each fire time, for ever; its answer without a previous fire
    time is always ``start``, so the catch-up walk cannot skip ahead over it."""

    __slots__ = ()

    def following(self, previous: datetime) -> Any:
        return previous + timedelta(microseconds=1)


HOSTILE_TRIGGER_CLASSES: tuple[type[_StartTrigger], ...] = (
    SameTimeTrigger,
    EarlierTrigger,
    NaiveTrigger,
    NotADatetimeTrigger,
    RaisingTrigger,
    CreepingTrigger,
)


# --- trigger states and the rows around them -----------------------------------------------------


@dataclass(frozen=True)
class TriggerState:
    """A trigger class and the state a row gives it.

    Values may be plain data, datetimes, dates, timedeltas, time zones, or nested
    :class:`TriggerState` objects (in the ``triggers`` list of a combining trigger). A cron
    trigger's ``fields`` is a mapping of field name to expression text, as in its JSON state;
    the pickled row gets the field objects those texts make.
    """

    cls: type[BaseTrigger]
    state: Any = field(default_factory=dict)

    def __repr__(self) -> str:
        return f"{self.cls.__name__}({self.state!r})"


class _PickledTrigger:
    """Pickles as "a new ``cls`` instance given ``state``", whatever the state holds: the same
    bytes a hand-made pickle would contain. Unpickling calls ``cls.__setstate__(state)``."""

    def __init__(self, cls: type, state: Any) -> None:
        self.cls = cls
        self.state = state

    def __reduce__(self) -> tuple[Any, ...]:
        return (object.__new__, (self.cls,), self.state)


def cron_fields(texts: dict[str, Any]) -> Any:
    """The field objects that ``CronTrigger(**texts)`` builds (no warning for a never-firing
    set: such triggers are part of what is generated)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return CronTrigger(timezone="UTC", **texts).fields


def pickled_state(spec: TriggerState) -> Any:
    """The state that a pickled row hands to ``spec.cls.__setstate__``."""
    state = spec.state
    if not isinstance(state, dict):
        return state
    state = dict(state)
    if issubclass(spec.cls, BaseCombiningTrigger) and isinstance(state.get("triggers"), list):
        state["triggers"] = [
            (obj_to_ref(child.cls), pickled_state(child))
            if isinstance(child, TriggerState)
            else child
            for child in state["triggers"]
        ]
    if issubclass(spec.cls, CronTrigger) and isinstance(state.get("fields"), dict):
        try:
            state["fields"] = cron_fields(state["fields"])
        except (TypeError, ValueError):
            pass  # texts no constructor takes: the pickled row holds the mapping itself
    return state


def json_value(value: Any) -> Any:
    """``value`` in the tagged form of the JSON serializer's documents."""
    if isinstance(value, TriggerState):
        return {"$trigger": obj_to_ref(value.cls), "state": json_value(value.state)}
    if isinstance(value, datetime):
        return {"$datetime": format_datetime(value)}
    if isinstance(value, date):
        return {"$date": value.isoformat()}
    if isinstance(value, timedelta):
        return {"$timedelta": format_timedelta(value)}
    if isinstance(value, tzinfo):
        return {"$tz": format_timezone(value)}
    if isinstance(value, dict):
        return {key: json_value(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_value(item) for item in value]
    return value


def job_state(job_id: str, trigger: Any, *, coalesce: bool, grace: int | None) -> dict[str, Any]:
    """A job state in the layout of ``Job.__getstate__()``, due ten years ago."""
    return {
        "version": 1,
        "id": job_id,
        "func": JOB_FUNC,
        "trigger": trigger,
        "executor": "default",
        "args": (),
        "kwargs": {},
        "name": job_id,
        "misfire_grace_time": grace,
        "coalesce": coalesce,
        "max_instances": 1,
        "next_run_time": TEN_YEARS_AGO,
    }


def pickle_row(job_id: str, spec: TriggerState, *, coalesce: bool, grace: int | None) -> bytes:
    """The bytes of a pickled job row holding ``spec``'s state, as a hand-made pickle would."""
    trigger = _PickledTrigger(spec.cls, pickled_state(spec))
    state = job_state(job_id, trigger, coalesce=coalesce, grace=grace)
    return pickle.dumps(state, pickle.HIGHEST_PROTOCOL)


def json_row(job_id: str, spec: TriggerState, *, coalesce: bool, grace: int | None) -> bytes:
    """The bytes of a JSON job row holding ``spec``'s state (NaN and infinities written as
    JSON's non-standard literals, which a hand-made row may contain)."""
    document = json_value(job_state(job_id, None, coalesce=coalesce, grace=grace))
    document["next_run_time"] = format_datetime(TEN_YEARS_AGO)
    document["trigger"] = json_value(spec)
    return json.dumps(document, allow_nan=True).encode("utf-8")


def restore_trigger(spec: TriggerState) -> BaseTrigger | None:
    """The trigger a pickled row of ``spec`` restores to, or ``None`` if it is refused."""
    try:
        restored = pickle.loads(pickle.dumps(_PickledTrigger(spec.cls, pickled_state(spec))))
    except Exception:
        return None
    return restored if isinstance(restored, BaseTrigger) else None


# --- strategies: trigger states, valid and hostile ---------------------------------------------
#
# Each part has a valid strategy (values a trigger's ``__setstate__`` accepts, edge cases
# included) and a hostile one (values no trigger could have written). A generated state is valid
# throughout more often than not, so that most examples reach the round instead of stopping at
# the quarantine; the rest mix hostile values in anywhere.

ZONES = [
    UTC,
    BERLIN,
    ZoneInfo("America/New_York"),
    ZoneInfo("Australia/Lord_Howe"),
    ZoneInfo("Pacific/Kiritimati"),
    timezone(timedelta(hours=-12)),
    timezone(timedelta(hours=14)),
]
SPECIAL_TIMES = [
    TEN_YEARS_AGO,
    TEN_YEARS_AGO + timedelta(microseconds=1),
    NOW,
    NOW - timedelta(microseconds=1),
    NOW + timedelta(microseconds=1),
    datetime(1, 1, 1, tzinfo=UTC),
    datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
    datetime(2029, 10, 28, 2, 30, fold=1, tzinfo=BERLIN),
    datetime(2030, 3, 31, 2, 30, tzinfo=BERLIN),
]
SPECIAL_INTERVALS = [
    timedelta(microseconds=1),
    timedelta(seconds=1),
    timedelta(days=3650),
    timedelta.max,
]
HOSTILE_INTERVALS = [timedelta(0), timedelta(microseconds=-1), timedelta(seconds=-1)]
CRON_TEXTS = {
    "year": ["*", "1999", "2020-2021", "9999", "*/100", "2000-9999/7"],
    "month": ["*", "2", "1-12/5", "feb", "12"],
    "day": ["*", "31", "30", "29", "1-31/10", "last", "15", "2nd wed"],
    "week": ["*", "1", "53", "*/2"],
    "day_of_week": ["*", "mon-fri", "sun", "6"],
    "hour": ["*", "0", "*/5", "2", "3", "23"],
    "minute": ["*", "0", "30", "*/7", "59"],
    "second": ["*", "0", "*/3", "59", "0-59/2", "1-59/2"],
}
CALENDAR_COUNT_LIMITS = (9999, 9999 * 12, timedelta.max.days // 7, timedelta.max.days)


def _either(valid: st.SearchStrategy[Any], bad: st.SearchStrategy[Any], hostile: bool) -> Any:
    return st.one_of(valid, valid, valid, bad) if hostile else valid


def _state(cls: type[BaseTrigger]) -> Any:
    return lambda state: TriggerState(cls, state)


def trigger_state_strategy(hostile: bool) -> st.SearchStrategy[TriggerState]:
    """Trigger states of every built-in trigger, hand-written hostile triggers and nested
    combinations; with ``hostile``, any value may be replaced by one no trigger could hold."""
    zones = _either(st.sampled_from(ZONES), st.sampled_from(["No/Such_Zone", None, 5]), hostile)
    aware_times = st.one_of(
        st.sampled_from(SPECIAL_TIMES),
        st.datetimes(
            min_value=datetime(1, 1, 2),
            max_value=datetime(9999, 12, 30),
            timezones=st.sampled_from(ZONES),
        ),
        st.timedeltas(min_value=timedelta(days=-2), max_value=timedelta(days=2)).map(
            lambda offset: TEN_YEARS_AGO + offset
        ),
    )
    times = _either(aware_times, st.sampled_from([datetime(2020, 1, 1), "2020-01-01", 0]), hostile)
    optional_times = st.one_of(st.none(), times)
    intervals = _either(
        st.one_of(
            st.sampled_from(SPECIAL_INTERVALS),
            st.timedeltas(min_value=timedelta(microseconds=1), max_value=timedelta(days=400)),
            st.timedeltas(min_value=timedelta(microseconds=1)),
        ),
        st.one_of(st.sampled_from(HOSTILE_INTERVALS), st.timedeltas(), st.just("PT1S")),
        hostile,
    )
    jitters = _either(
        st.one_of(st.none(), st.floats(min_value=0, max_value=120), st.just(1e300)),
        st.sampled_from([-1, -1e300, math.nan, math.inf, -math.inf, True, "5"]),
        hostile,
    )

    def versions(current: int) -> Any:
        return _either(st.just(current), st.sampled_from([0, 99, "2", None, True]), hostile)

    interval_states = st.fixed_dictionaries(
        {
            "version": versions(2),
            "timezone": zones,
            "start_date": times,
            "end_date": optional_times,
            "interval": intervals,
            "jitter": jitters,
        }
    ).map(_state(IntervalTrigger))

    date_states = st.fixed_dictionaries({"version": versions(1), "run_date": times}).map(
        _state(DateTrigger)
    )

    counts = st.tuples(
        *(st.one_of(st.integers(0, 3), st.integers(0, limit)) for limit in CALENDAR_COUNT_LIMITS)
    ).filter(any)
    calendar_states = st.fixed_dictionaries(
        {
            "version": versions(1),
            "interval": _either(
                counts.map(list),
                st.one_of(
                    st.just([0, 0, 0, 0]),
                    st.lists(st.sampled_from([-1, 10**18, True, 1.5]), min_size=4, max_size=4),
                ),
                hostile,
            ),
            "time": _either(
                st.tuples(st.integers(0, 23), st.integers(0, 59), st.integers(0, 59)).map(list),
                st.lists(st.integers(-1, 60), min_size=3, max_size=3),
                hostile,
            ),
            "start_date": _either(
                st.one_of(st.dates(), st.sampled_from([date(1, 1, 1), date(9999, 12, 31)])),
                aware_times,
                hostile,
            ),
            "end_date": _either(st.one_of(st.none(), st.dates()), st.just("2030-01-01"), hostile),
            "timezone": zones,
            "jitter": jitters,
        }
    ).map(_state(CalendarIntervalTrigger))

    cron_fields = _either(
        st.fixed_dictionaries(
            {}, optional={name: st.sampled_from(texts) for name, texts in CRON_TEXTS.items()}
        ),
        st.sampled_from([{"second": "61"}, {"bogus": "1"}, {"day": 31}, "garbage", []]),
        hostile,
    )
    cron_states = st.fixed_dictionaries(
        {
            "version": versions(2),
            "timezone": zones,
            "start_date": optional_times,
            "end_date": optional_times,
            "fields": cron_fields,
            "jitter": jitters,
        },
        optional={
            "dst": _either(st.sampled_from(["shift", "skip", "vixie"]), st.just("bogus"), hostile)
        },
    ).map(_state(CronTrigger))

    third_party_states = st.builds(
        lambda cls, start: TriggerState(cls, {"start": start}),
        st.sampled_from(HOSTILE_TRIGGER_CLASSES),
        st.one_of(st.just(TEN_YEARS_AGO), aware_times),
    )

    def combined(children: st.SearchStrategy[TriggerState]) -> st.SearchStrategy[TriggerState]:
        return st.builds(
            lambda cls, triggers, jitter, version: TriggerState(
                cls, {"version": version, "triggers": triggers, "jitter": jitter}
            ),
            st.sampled_from([AndTrigger, OrTrigger]),
            _either(
                st.lists(children, min_size=1, max_size=3),
                st.sampled_from([[], "x"]),
                hostile,
            ),
            jitters,
            versions(1),
        )

    leaves = st.one_of(
        interval_states, date_states, calendar_states, cron_states, third_party_states
    )
    return st.recursive(leaves, combined, max_leaves=5)
