"""A trigger that fires at fixed intervals of elapsed time."""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo
from typing import Any

from tzlocal import get_localzone

from ..util import astimezone, convert_to_datetime, datetime_repr, utc_timestamp_to_datetime
from .base import BaseTrigger, check_state_version, resolve_timezone

__all__ = ("IntervalTrigger",)

_EPOCH: datetime = utc_timestamp_to_datetime(0)  # type: ignore[assignment]
_MICROSECOND = timedelta(microseconds=1)


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
        self.interval = timedelta(
            weeks=weeks, days=days, hours=hours, minutes=minutes, seconds=seconds
        )
        self.interval_length = self.interval.total_seconds()
        if self.interval_length == 0:
            self.interval = timedelta(seconds=1)
            self.interval_length = 1

        self.timezone = resolve_timezone(timezone, start_date, end_date, get_localzone)

        start_date = start_date or (datetime.now(self.timezone) + self.interval)
        self.start_date = convert_to_datetime(start_date, self.timezone, "start_date")
        self.end_date = convert_to_datetime(end_date, self.timezone, "end_date")
        self.jitter = jitter

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

        next_fire_time: datetime | None = (_EPOCH + timedelta(microseconds=next_us)).astimezone(
            self.timezone
        )
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
        state = check_state_version(state, type(self), 2)
        self.timezone = astimezone(state["timezone"])  # type: ignore[assignment]
        self.start_date = state["start_date"]
        self.end_date = state["end_date"]
        self.interval = state["interval"]
        self.interval_length = self.interval.total_seconds()
        self.jitter = state.get("jitter")

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
