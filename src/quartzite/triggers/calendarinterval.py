"""A trigger that fires at the same time of day on dates a calendar interval apart."""

from __future__ import annotations

from datetime import MAXYEAR, date, datetime, time, timedelta, tzinfo
from typing import Any

from tzlocal import get_localzone

from ..util import UTC, asdate, astimezone, timezone_repr
from .base import BaseTrigger, check_state_version

__all__ = ("CalendarIntervalTrigger",)


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

    :param years: number of years to wait
    :param months: number of months to wait
    :param weeks: number of weeks to wait
    :param days: number of days to wait
    :param hour: hour to fire at
    :param minute: minute to fire at
    :param second: second to fire at
    :param start_date: first date to fire on (a date or ISO 8601 date string; default: today)
    :param end_date: last possible date to fire on
    :param timezone: time zone of the time of day (default: the local time zone)
    :param jitter: delay the job execution by up to ``jitter`` seconds at random
    :raises ValueError: if the interval is empty or ``end_date`` is before ``start_date``
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
        self.timezone: tzinfo = astimezone(timezone or get_localzone())  # type: ignore[assignment]
        self.years = years
        self.months = months
        self.weeks = weeks
        self.days = days
        self.start_date: date = asdate(start_date) or date.today()
        self.end_date: date | None = asdate(end_date)
        self.jitter = jitter
        self._time = time(hour, minute, second, tzinfo=self.timezone)

        if self.years == self.months == self.weeks == self.days == 0:
            raise ValueError("interval must be at least 1 day long")
        if self.end_date and self.start_date > self.end_date:
            raise ValueError("end_date cannot be earlier than start_date")

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
        state = check_state_version(state, type(self), 1)
        self.years, self.months, self.weeks, self.days = state["interval"]
        self.start_date = state["start_date"]
        self.end_date = state["end_date"]
        self.timezone = astimezone(state["timezone"])  # type: ignore[assignment]
        self.jitter = state.get("jitter")
        hour, minute, second = state["time"]
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
