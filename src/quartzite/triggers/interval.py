"""A trigger that fires at fixed intervals of elapsed time."""

from __future__ import annotations

import logging
import math
from datetime import datetime, timedelta, tzinfo
from typing import Any

from tzlocal import get_localzone

from ..util import datetime_repr, utc_timestamp_to_datetime
from .base import (
    BaseTrigger,
    check_date_order,
    check_jitter,
    check_state_datetime,
    check_state_jitter,
    check_state_timezone,
    check_state_version,
    convert_date_argument,
    resolve_timezone,
    state_error,
)

__all__ = ("IntervalTrigger",)

logger = logging.getLogger(__name__)

_EPOCH: datetime = utc_timestamp_to_datetime(0)  # type: ignore[assignment]
_MICROSECOND = timedelta(microseconds=1)
_UNITS = ("weeks", "days", "hours", "minutes", "seconds")
# The largest count of each unit that a timedelta can hold.
_MAX_COUNTS = {
    "weeks": timedelta.max.days // 7,
    "days": timedelta.max.days,
    "hours": timedelta.max.days * 24,
    "minutes": timedelta.max.days * 24 * 60,
    "seconds": timedelta.max.days * 24 * 60 * 60,
}

# Below this many seconds in all, whole non-negative counts cannot overflow a timedelta.
_MAX_SECONDS = _MAX_COUNTS["seconds"]


def _build_interval(counts: dict[str, Any]) -> timedelta:
    """Check the five unit counts of an interval and add them up.

    Each must be a finite number >= 0 within what a timedelta holds; a negative interval would
    make fire times go backwards, which no scheduler loop could get past.
    """
    for unit, count in counts.items():
        if not isinstance(count, (int, float)) or isinstance(count, bool):
            raise TypeError(
                f"IntervalTrigger: {unit} must be a number, got {count!r} ({type(count).__name__})"
            )
        if not math.isfinite(count) or count < 0:
            raise ValueError(f"IntervalTrigger: {unit} must be a finite number >= 0, got {count!r}")
        if count > _MAX_COUNTS[unit]:
            raise ValueError(
                f"IntervalTrigger: {unit}={count!r} is too long: at most {_MAX_COUNTS[unit]} "
                f"{unit} fit in an interval"
            )
    try:
        return timedelta(**counts)
    except OverflowError:
        given = ", ".join(f"{unit}={count!r}" for unit, count in counts.items() if count)
        raise ValueError(
            f"IntervalTrigger: the interval ({given}) is too long: at most "
            f"{timedelta.max.days} days fit in an interval"
        ) from None


def _to_microseconds(dateval: datetime) -> int:
    # Exact integer arithmetic: float timestamps lose microseconds on far-future dates.
    return (dateval - _EPOCH) // _MICROSECOND


class IntervalTrigger(BaseTrigger):
    """Triggers on fixed intervals, from ``start_date`` if given, else from ``now + interval``.

    Intervals are elapsed time, so a daylight saving time change does not move the schedule
    in UTC (the wall-clock reading shifts instead).

    :param weeks: number of weeks to wait
    :param days: number of days to wait
    :param hours: number of hours to wait
    :param minutes: number of minutes to wait
    :param seconds: number of seconds to wait
    :param start_date: starting point for the interval calculation
    :param end_date: latest possible date/time to trigger on
    :param timezone: time zone to use for the date/time calculations
    :param jitter: delay the job execution by up to ``jitter`` seconds at random
    """

    __slots__ = "end_date", "interval", "interval_length", "jitter", "start_date", "timezone"

    def __init__(
        self,
        weeks: float = 0,
        days: float = 0,
        hours: float = 0,
        minutes: float = 0,
        seconds: float = 0,
        start_date: datetime | str | None = None,
        end_date: datetime | str | None = None,
        timezone: tzinfo | str | None = None,
        jitter: float | None = None,
    ) -> None:
        # Fast path for the usual call (whole, non-negative counts, well within what a timedelta
        # holds): exact-type checks are much cheaper than the full checks of _build_interval.
        # Any other value, including a bool or a huge count, takes the full checks.
        counts: dict[str, Any] | None
        if (
            type(weeks) is int
            and type(days) is int
            and type(hours) is int
            and type(minutes) is int
            and type(seconds) is int
            and weeks >= 0
            and days >= 0
            and hours >= 0
            and minutes >= 0
            and seconds >= 0
            and (((weeks * 7 + days) * 24 + hours) * 60 + minutes) * 60 + seconds <= _MAX_SECONDS
        ):
            counts = None
            self.interval = timedelta(
                weeks=weeks, days=days, hours=hours, minutes=minutes, seconds=seconds
            )
        else:
            counts = {"weeks": weeks, "days": days, "hours": hours, "minutes": minutes}
            counts["seconds"] = seconds
            self.interval = _build_interval(counts)
        self.interval_length = self.interval.total_seconds()
        if self.interval_length == 0:
            # The contract turns an empty interval into one second; say so, since an interval
            # below one microsecond (seconds=1e-9) lands here too.
            if counts is None:
                counts = dict(zip(_UNITS, (weeks, days, hours, minutes, seconds)))
            given = ", ".join(f"{unit}={count!r}" for unit, count in counts.items() if count)
            logger.warning(
                "IntervalTrigger: the interval (%s) is shorter than one microsecond; "
                "using 1 second instead",
                given or "all units 0",
            )
            self.interval = timedelta(seconds=1)
            self.interval_length = 1

        self.jitter = check_jitter("IntervalTrigger", jitter)
        self.timezone = resolve_timezone(timezone, start_date, end_date, get_localzone)

        # (Only a missing start date gets the default: an empty list is an error, not "none".)
        explicit_start = start_date is not None and start_date != ""
        if not explicit_start:
            try:
                start_date = datetime.now(self.timezone) + self.interval
            except OverflowError:
                raise ValueError(
                    f"IntervalTrigger: the interval {self.interval} puts the first fire time "
                    "past the year 9999"
                ) from None
        self.start_date = convert_date_argument(
            start_date, self.timezone, "start_date", "IntervalTrigger"
        )
        self.end_date = (
            None
            if end_date is None
            else convert_date_argument(end_date, self.timezone, "end_date", "IntervalTrigger")
        )
        if explicit_start:
            check_date_order("IntervalTrigger", self.start_date, self.end_date)

    def get_next_fire_time(
        self, previous_fire_time: datetime | None, now: datetime
    ) -> datetime | None:
        step = self.interval // _MICROSECOND
        assert self.start_date is not None
        if previous_fire_time is not None:
            next_us = _to_microseconds(previous_fire_time) + step
        else:
            start_us = _to_microseconds(self.start_date)
            now_us = _to_microseconds(now)
            if start_us > now_us:
                next_us = start_us
            else:
                intervals_passed = -((start_us - now_us) // step)  # ceiling division
                next_us = start_us + step * intervals_passed

        try:
            next_fire_time: datetime | None = (_EPOCH + timedelta(microseconds=next_us)).astimezone(
                self.timezone
            )
        except (OverflowError, ValueError, OSError):  # past the year 9999: nothing more to fire
            return None
        if self.jitter is not None:
            next_fire_time = self._apply_jitter(next_fire_time, self.jitter, now)
        # Compared as instants: same-zone datetimes compare by wall time, ignoring the fold.
        if (
            next_fire_time is not None
            and self.end_date
            and _to_microseconds(next_fire_time) > _to_microseconds(self.end_date)
        ):
            return None
        return next_fire_time

    def __getstate__(self) -> dict[str, Any]:
        return {
            "version": 2,
            "timezone": self.timezone,
            "start_date": self.start_date,
            "end_date": self.end_date,
            "interval": self.interval,
            "jitter": self.jitter,
        }

    def __setstate__(self, state: Any) -> None:
        cls = type(self)
        state = check_state_version(state, cls, 2)
        interval = state.get("interval")
        # No "becomes 1 second" here: a stored zero or negative interval is a damaged row, and
        # refusing it lets the store set the row aside instead of scheduling something else.
        if not isinstance(interval, timedelta) or interval <= timedelta(0):
            raise state_error(cls, f"interval must be a positive timedelta, got {interval!r}")
        self.timezone = check_state_timezone(cls, state.get("timezone"))
        self.start_date = check_state_datetime(cls, state, "start_date", optional=False)
        self.end_date = check_state_datetime(cls, state, "end_date", optional=True)
        self.interval = interval
        self.interval_length = interval.total_seconds()
        self.jitter = check_state_jitter(cls, state.get("jitter"))

    def __str__(self) -> str:
        return f"interval[{self.interval!s}]"

    def __repr__(self) -> str:
        options = [
            f"interval={self.interval!r}",
            f"start_date={datetime_repr(self.start_date)!r}",
        ]
        if self.end_date:
            options.append(f"end_date={datetime_repr(self.end_date)!r}")
        if self.jitter:
            options.append(f"jitter={self.jitter}")
        return f"<{self.__class__.__name__} ({', '.join(options)}, timezone='{self.timezone}')>"
