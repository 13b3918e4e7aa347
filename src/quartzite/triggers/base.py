"""The trigger interface: stateless arithmetic that yields a job's fire times."""

from __future__ import annotations

import math
import random
from abc import ABCMeta, abstractmethod
from datetime import date, datetime, timedelta, tzinfo
from typing import Any, Callable

from ..util import astimezone, convert_to_datetime, datetime_utc_add

# Besides the base class, the checks the built-in triggers share: third-party triggers may use
# them to refuse bad arguments and damaged state the same way.
__all__ = (
    "BaseTrigger",
    "check_date_order",
    "check_jitter",
    "check_state_datetime",
    "check_state_jitter",
    "check_state_timezone",
    "check_state_version",
    "convert_date_argument",
    "resolve_timezone",
    "state_error",
    "zone_argument",
)


class BaseTrigger(metaclass=ABCMeta):
    """What every trigger is: arithmetic that, given the previous fire time and ``now``, names
    the next fire time (or ``None`` once the schedule is over).

    A trigger never reads the clock: the scheduler passes ``now`` in.
    """

    __slots__ = ()

    @abstractmethod
    def get_next_fire_time(
        self, previous_fire_time: datetime | None, now: datetime
    ) -> datetime | None:
        """Return the next datetime to fire on, or ``None`` when the schedule is finished.

        :param previous_fire_time: the previous time the trigger was fired (``None`` at first)
        :param now: the current time
        """

    def _apply_jitter(
        self, next_fire_time: datetime | None, jitter: float | None, now: datetime
    ) -> datetime | None:
        """Delay ``next_fire_time`` by a random number of seconds between 0 and ``jitter``.

        One draw, no retry: whatever ``jitter`` holds, this returns at once, and never a time
        before ``next_fire_time``. A jitter that is not a finite positive number (possible only
        in a trigger built around the constructor's checks) leaves the time as it is, and so
        does a delay that would carry the time past the year 9999.
        """
        if next_fire_time is None or not _is_positive_finite(jitter):
            return next_fire_time
        delay = timedelta(seconds=random.uniform(0, jitter))  # type: ignore[arg-type]
        try:
            # Added as elapsed time: wall-clock addition would lose the fold in a repeated hour.
            return datetime_utc_add(next_fire_time, delay)
        except OverflowError:
            return next_fire_time

    def _json_state(self) -> dict[str, Any]:
        """Return this trigger's state for the JSON serializer.

        The state may hold JSON values (``None``, booleans, numbers, strings, lists and dicts
        with string keys), datetimes, dates, times of day, timedeltas, time zones, and other
        triggers (the serializer writes those with their class reference, which it checks when
        it reads them back). The default is :meth:`__getstate__`; a trigger whose pickled state
        holds other objects (cron fields, the class references of nested triggers) overrides
        this with a form made of the values above, and :meth:`_from_json_state` to match.
        """
        get_state = getattr(self, "__getstate__", None)  # (object has none before Python 3.11)
        state = get_state() if get_state is not None else getattr(self, "__dict__", None)
        if not isinstance(state, dict):
            raise TypeError(
                f"{type(self).__name__}.__getstate__() returned a {type(state).__name__}; "
                "the JSON serializer needs a dict (override _json_state() to provide one)"
            )
        return state

    @classmethod
    def _from_json_state(cls, state: dict[str, Any]) -> BaseTrigger:
        """Return a trigger of this class from a state made by :meth:`_json_state`.

        The default passes the state to :meth:`__setstate__` of a new instance.

        :raises ValueError: if the state does not describe a valid trigger
        """
        trigger = cls.__new__(cls)
        set_state = getattr(trigger, "__setstate__", None)
        if set_state is not None:
            set_state(state)
        else:  # a third-party trigger that pickles by its __dict__
            trigger.__dict__.update(state)
        return trigger


def _is_positive_finite(value: Any) -> bool:
    return (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and math.isfinite(value)
        and value > 0
    )


def check_jitter(owner: str, jitter: Any) -> float | None:
    """Return ``jitter`` if it is ``None`` or a finite number of seconds >= 0.

    :param owner: the trigger class name, for the message
    :raises TypeError: if ``jitter`` is not a number (a bool is refused too)
    :raises ValueError: if it is negative, infinite or NaN
    """
    if jitter is None:
        return None
    if not isinstance(jitter, (int, float)) or isinstance(jitter, bool):
        raise TypeError(
            f"{owner}: jitter must be None or a number of seconds, "
            f"got {jitter!r} ({type(jitter).__name__})"
        )
    if not math.isfinite(jitter) or jitter < 0:
        raise ValueError(f"{owner}: jitter must be None or a finite number >= 0, got {jitter!r}")
    return jitter


def convert_date_argument(value: Any, tz: tzinfo, name: str, owner: str) -> datetime | None:
    """:func:`~quartzite.util.convert_to_datetime`, with the argument's name and value added to
    the end of an error message that lacks them (the message itself is fixed by the contract).
    """
    try:
        return convert_to_datetime(value, tz, name)
    except (TypeError, ValueError) as exc:
        message = str(exc)
        if name in message and (repr(value) in message or str(value) in message):
            raise
        detail = f"{owner}: {name}={value!r}"
        raise type(exc)(f"{message} ({detail})") from None


def check_date_order(owner: str, start_date: date | None, end_date: date | None) -> None:
    """Refuse an ``end_date`` earlier than ``start_date``.

    :raises ValueError: naming both dates
    """
    if start_date is not None and end_date is not None and end_date < start_date:
        raise ValueError(
            f"{owner}: end_date ({end_date}) cannot be earlier than start_date ({start_date})"
        )


def state_error(cls: type, detail: str) -> ValueError:
    """The error of a ``__setstate__`` that was given a state no trigger could have."""
    return ValueError(f"Cannot restore a {cls.__name__} from this state: {detail}")


def check_state_jitter(cls: type, jitter: Any) -> float | None:
    """Validate the jitter of a restored state (see :func:`check_jitter`)."""
    try:
        return check_jitter(cls.__name__, jitter)
    except TypeError as exc:
        raise state_error(cls, str(exc).partition(": ")[2]) from None
    except ValueError as exc:
        raise state_error(cls, str(exc).partition(": ")[2]) from None


def check_state_datetime(cls: type, state: dict[str, Any], key: str, optional: bool) -> Any:
    """Return ``state[key]`` if it is an aware datetime (or, when ``optional``, ``None``)."""
    value = state.get(key)
    if value is None and optional:
        return None
    if not isinstance(value, datetime) or value.tzinfo is None:
        expected = "an aware datetime" + (" or None" if optional else "")
        raise state_error(cls, f"{key} must be {expected}, got {value!r}")
    return value


def check_state_timezone(cls: type, value: Any) -> tzinfo:
    """Return the time zone of a restored state (through ``astimezone``)."""
    try:
        tz = astimezone(value)
    except (TypeError, ValueError, LookupError) as exc:
        raise state_error(cls, f"timezone {value!r} is not a time zone ({exc})") from None
    if tz is None:
        raise state_error(cls, "timezone is missing")
    return tz


def resolve_timezone(
    timezone: tzinfo | str | None,
    start_date: Any,
    end_date: Any,
    local_zone: Callable[[], tzinfo],
) -> tzinfo:
    """Pick a trigger's time zone: ``timezone`` if given, else that of an aware ``start_date``,
    else that of an aware ``end_date``, else ``local_zone()``.
    """
    if timezone:
        return zone_argument(timezone)
    if isinstance(start_date, datetime) and start_date.tzinfo:
        return astimezone(start_date.tzinfo)  # type: ignore[return-value]
    if isinstance(end_date, datetime) and end_date.tzinfo:
        return astimezone(end_date.tzinfo)  # type: ignore[return-value]
    return local_zone()


def zone_argument(value: Any) -> tzinfo:
    """:func:`~quartzite.util.astimezone` for a ``timezone`` argument, with the argument and its
    value added to the end of a type error (the message itself is fixed by the contract)."""
    try:
        return astimezone(value)  # type: ignore[return-value]
    except TypeError as exc:
        raise TypeError(f"{exc} (timezone={value!r})") from None


def check_state_version(
    state: Any, cls: type, max_version: int, *, single_version: bool = False
) -> dict[str, Any]:
    """Unwrap a 3.0-era ``(x, dict)`` state and refuse a state newer than ``max_version``.

    ``single_version`` selects the wording of triggers that have only ever had one state format.
    """
    if isinstance(state, tuple) and len(state) == 2:
        state = state[1]
    if not isinstance(state, dict):
        raise state_error(cls, f"expected a dict, got {type(state).__name__}")
    version = state.get("version", 1)
    if not isinstance(version, int) or isinstance(version, bool):
        raise state_error(cls, f"version must be an integer, got {version!r}")
    if version > max_version:
        if single_version:
            supported = "only version 1 can be handled"
        else:
            supported = f"only versions up to {max_version} can be handled"
        raise ValueError(
            f"Got serialized data for version {version} of {cls.__name__}, but {supported}"
        )
    return state
