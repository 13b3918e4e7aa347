"""A trigger that fires at the same time of day on dates a calendar interval apart."""

from __future__ import annotations

from datetime import MAXYEAR, date, datetime, time, timedelta, tzinfo
from typing import Any, Tuple, Type

from tzlocal import get_localzone

from ..util import UTC, timezone_repr
from .base import (
    BaseTrigger,
    check_jitter,
    check_state_jitter,
    check_state_timezone,
    check_state_version,
    state_error,
    zone_argument,
)

__all__ = ("CalendarIntervalTrigger",)

_OWNER = "CalendarIntervalTrigger"
# Beyond these, every step lands past the year 9999 (or out of a timedelta's range).
_MAX_COUNTS = {"years": MAXYEAR, "months": MAXYEAR * 12, "weeks": timedelta.max.days // 7}
_MAX_COUNTS["days"] = timedelta.max.days
_TIME_LIMITS = {"hour": 23, "minute": 59, "second": 59}


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


Problem = Tuple[Type[Exception], str]


def _check_count(unit: str, count: Any) -> Problem | None:
    """Return what is wrong with one interval count (error type, text), or ``None``."""
    if not _is_int(count):
        return TypeError, f"{unit} must be an integer, got {count!r} ({type(count).__name__})"
    if count < 0:
        return ValueError, f"{unit} must be an integer >= 0, got {count!r}"
    if count > _MAX_COUNTS[unit]:
        return ValueError, f"{unit}={count!r} is too long: at most {_MAX_COUNTS[unit]} {unit}"
    return None


def _check_time_part(unit: str, value: Any) -> Problem | None:
    """Return what is wrong with the hour, minute or second of the time of day, if anything."""
    if not _is_int(value):
        return TypeError, f"{unit} must be an integer, got {value!r} ({type(value).__name__})"
    if not 0 <= value <= _TIME_LIMITS[unit]:
        return ValueError, f"{unit} must be between 0 and {_TIME_LIMITS[unit]}, got {value!r}"
    return None


def _as_date(value: Any, name: str) -> date | None:
    """Read a ``start_date``/``end_date`` argument: a date or ISO 8601 date text."""
    if value is None or isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise ValueError(
                f"{_OWNER}: {name} must be an ISO 8601 date such as '2030-01-31', got {value!r}"
            ) from None
    raise TypeError(
        f"{_OWNER}: {name} must be a date or ISO 8601 date text, got {value!r} "
        f"({type(value).__name__})"
    )


class CalendarIntervalTrigger(BaseTrigger):
    """Fires at the same wall-clock time of day on dates separated by a calendar interval.

    To get the next date, ``years`` and ``months`` are added to the previous date keeping its day
    of the month, repeatedly until the result exists (so a schedule starting on the 31st skips
    shorter months); then ``weeks`` and ``days`` are added. The date is combined with the time of
    day in ``timezone``. A time skipped by a forward DST change does not fire: the search moves
    on from that date as if it had fired there. A time that occurs twice fires at the first
    occurrence.

    Without a previous fire time, the first fire time is on ``start_date``, even if that is in
    the past.

    :param years: whole years between two fire dates (an integer >= 0)
    :param months: whole months between two fire dates
    :param weeks: whole weeks between two fire dates
    :param days: whole days between two fire dates
    :param hour: the hour of the time of day (0-23)
    :param minute: the minute of the time of day (0-59)
    :param second: the second of the time of day (0-59)
    :param start_date: first date to fire on (a date or ISO 8601 date string; default: today)
    :param end_date: no fire date after this one (inclusive)
    :param timezone: time zone of the time of day (default: the local time zone)
    :param jitter: a random delay of up to this many seconds added to each fire time
    :raises TypeError: for a count, time of day part or date of the wrong type
    :raises ValueError: if the interval is empty, a value is out of range, or ``end_date`` is
        before ``start_date``
    """

    __slots__ = (
        "_time",
        "days",
        "end_date",
        "jitter",
        "months",
        "start_date",
        "timezone",
        "weeks",
        "years",
    )

    def __init__(
        self,
        *,
        years: int = 0,
        months: int = 0,
        weeks: int = 0,
        days: int = 0,
        hour: int = 0,
        minute: int = 0,
        second: int = 0,
        start_date: date | str | None = None,
        end_date: date | str | None = None,
        timezone: tzinfo | str | None = None,
        jitter: float | None = None,
    ) -> None:
        self.timezone: tzinfo = zone_argument(timezone or get_localzone())
        counts = {"years": years, "months": months, "weeks": weeks, "days": days}
        problems = [_check_count(unit, count) for unit, count in counts.items()]
        problems += [
            _check_time_part(unit, value)
            for unit, value in (("hour", hour), ("minute", minute), ("second", second))
        ]
        for problem in problems:
            if problem:
                raise problem[0](f"{_OWNER}: {problem[1]}")
        self.years = years
        self.months = months
        self.weeks = weeks
        self.days = days
        self.start_date: date = _as_date(start_date, "start_date") or date.today()
        self.end_date: date | None = _as_date(end_date, "end_date")
        self.jitter = check_jitter(_OWNER, jitter)
        self._time = time(hour, minute, second, tzinfo=self.timezone)

        if self.years == self.months == self.weeks == self.days == 0:
            raise ValueError("interval must be at least 1 day long")
        if self.end_date and self.start_date > self.end_date:
            # The contract's message, then the two dates.
            raise ValueError(
                "end_date cannot be earlier than start_date "
                f"(end_date={self.end_date}, start_date={self.start_date})"
            )

    def _following_date(self, previous: date) -> date | None:
        """The date after ``previous`` in the schedule (``None`` past the year 9999)."""
        year, month = previous.year, previous.month
        while True:
            month += self.months
            year += self.years + (month - 1) // 12
            month = (month - 1) % 12 + 1
            if year > MAXYEAR:
                return None
            try:
                next_date = date(year, month, previous.day)
            except ValueError:
                continue  # that day does not exist in that month: try the next interval
            try:
                return next_date + timedelta(days=self.days + self.weeks * 7)
            except OverflowError:
                return None

    def _previous_date(self, previous_fire_time: datetime) -> date:
        """The schedule date of a previous fire time (delayed by up to ``jitter`` seconds)."""
        previous = previous_fire_time
        if isinstance(previous, datetime) and previous.tzinfo is not None:
            previous = previous.astimezone(self.timezone)
        if self.jitter and isinstance(previous, datetime):
            # A delay may have pushed the fire time past midnight: find the day whose time of day
            # lies within the jitter window before it.
            earliest = previous - timedelta(seconds=self.jitter)
            for candidate in (previous.date(), previous.date() - timedelta(days=1)):
                scheduled = datetime.combine(candidate, self._time)
                if earliest <= scheduled <= previous:
                    return candidate
        return date(previous.year, previous.month, previous.day)

    def get_next_fire_time(
        self, previous_fire_time: datetime | None, now: datetime
    ) -> datetime | None:
        """Return the next fire time after ``previous_fire_time`` (``start_date`` at the time of
        day when there is none; ``now`` is not used), or ``None`` past ``end_date``."""
        previous_date = (
            None if previous_fire_time is None else self._previous_date(previous_fire_time)
        )
        while True:
            next_date = (
                self.start_date if previous_date is None else self._following_date(previous_date)
            )
            if next_date is None or (self.end_date and next_date > self.end_date):
                return None

            # Combine the date with the time of day; converting through the POSIX time resolves a
            # time that occurs twice to its first occurrence and moves a skipped one forward.
            try:
                timestamp = datetime.combine(next_date, self._time).timestamp()
                next_time = datetime.fromtimestamp(timestamp, self.timezone)
            except (OverflowError, ValueError, OSError):  # beyond the year 9999
                return None
            if (next_time.hour, next_time.minute, next_time.second) != (
                self._time.hour,
                self._time.minute,
                self._time.second,
            ):
                # Skipped by a forward DST change: carry on from there as if it had fired.
                previous_date = next_time.date()
                continue
            if not self.jitter:
                return next_time
            # Jitter is elapsed time: add it in UTC (wall-clock arithmetic would lose the fold).
            jittered = self._apply_jitter(next_time.astimezone(UTC), self.jitter, now)
            return None if jittered is None else jittered.astimezone(self.timezone)

    def __getstate__(self) -> dict[str, Any]:
        return {
            "version": 1,
            "interval": [self.years, self.months, self.weeks, self.days],
            "time": [self._time.hour, self._time.minute, self._time.second],
            "start_date": self.start_date,
            "end_date": self.end_date,
            "timezone": self.timezone,
            "jitter": self.jitter,
        }

    def __setstate__(self, state: Any) -> None:
        cls = type(self)
        state = check_state_version(state, cls, 1)
        interval = state.get("interval")
        if not isinstance(interval, (list, tuple)) or len(interval) != 4:
            raise state_error(
                cls, f"interval must be [years, months, weeks, days], got {interval!r}"
            )
        for unit, count in zip(("years", "months", "weeks", "days"), interval):
            problem = _check_count(unit, count)
            if problem:
                raise state_error(cls, problem[1])
        if not any(interval):
            raise state_error(cls, "the interval is empty (all of years, months, weeks, days 0)")
        time_of_day = state.get("time")
        if not isinstance(time_of_day, (list, tuple)) or len(time_of_day) != 3:
            raise state_error(cls, f"time must be [hour, minute, second], got {time_of_day!r}")
        for unit, value in zip(("hour", "minute", "second"), time_of_day):
            problem = _check_time_part(unit, value)
            if problem:
                raise state_error(cls, problem[1])
        start_date, end_date = state.get("start_date"), state.get("end_date")
        if not isinstance(start_date, date):
            raise state_error(cls, f"start_date must be a date, got {start_date!r}")
        if end_date is not None and not isinstance(end_date, date):
            raise state_error(cls, f"end_date must be a date or None, got {end_date!r}")
        self.years, self.months, self.weeks, self.days = interval
        self.start_date = start_date
        self.end_date = end_date
        self.timezone = check_state_timezone(cls, state.get("timezone"))
        self.jitter = check_state_jitter(cls, state.get("jitter"))
        hour, minute, second = time_of_day
        self._time = time(hour, minute, second, tzinfo=self.timezone)

    def __repr__(self) -> str:
        fields = [
            f"{name}={value}"
            for name, value in (
                ("years", self.years),
                ("months", self.months),
                ("weeks", self.weeks),
                ("days", self.days),
            )
            if value > 0
        ]
        fields.append(f"time={self._time.isoformat()!r}")
        fields.append(f"start_date='{self.start_date}'")
        if self.end_date:
            fields.append(f"end_date='{self.end_date}'")
        fields.append(f"timezone={timezone_repr(self.timezone)!r}")
        return f"{self.__class__.__name__}({', '.join(fields)})"

    __str__ = __repr__
