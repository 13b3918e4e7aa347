"""Search plans: the first matching wall-clock time at or after a given one.

A plan answers "what is the first wall-clock time (a naive datetime, as a tuple ``(year, month,
day, hour, minute, second)``) that matches the fields and is not earlier than this one?".
:class:`FastPlan` precomputes, for every field, the sorted set of matching values and jumps
straight to the next one (the day-of-month, ISO week and weekday constraints are folded into one
table per kind of year); :class:`GenericPlan` walks the fields through their public methods and
serves fields or expressions of classes it does not know (user subclasses).
"""

from __future__ import annotations

from bisect import bisect_left
from calendar import monthrange
from datetime import date, datetime, timedelta
from typing import Any, Dict, List, Sequence, Tuple

from ._limits import MAX_VALUES, MIN_VALUES
from .expressions import (
    AllExpression,
    LastDayOfMonthExpression,
    MonthRangeExpression,
    NearestWeekdayExpression,
    RangeExpression,
    WeekdayOfMonthExpression,
    WeekdayPositionExpression,
    WeekdayRangeExpression,
)
from .fields import BaseField, DayOfMonthField, DayOfWeekField, MonthField, WeekField

#: A wall-clock time: (year, month, day, hour, minute, second)
Civil = Tuple[int, int, int, int, int, int]

FIELD_ORDER = ("year", "month", "day", "week", "day_of_week", "hour", "minute", "second")
_FIELD_CLASSES = {
    "year": BaseField,
    "month": MonthField,
    "day": DayOfMonthField,
    "week": WeekField,
    "day_of_week": DayOfWeekField,
    "hour": BaseField,
    "minute": BaseField,
    "second": BaseField,
}
_STATIC_EXPRESSIONS = (AllExpression, RangeExpression, MonthRangeExpression, WeekdayRangeExpression)
_DAY_EXPRESSIONS = (
    WeekdayPositionExpression,
    LastDayOfMonthExpression,
    WeekdayOfMonthExpression,
    NearestWeekdayExpression,
)

_MAX_YEAR = MAX_VALUES["year"]
_MIN_YEAR = MIN_VALUES["year"]


def _next_table(values: Sequence[int], size: int) -> List[int | None]:
    """``table[v]`` = smallest member of ``values`` that is ≥ ``v`` (``None`` if none)."""
    members = set(values)
    table: List[int | None] = [None] * (size + 1)
    upcoming: int | None = None
    for value in range(size, -1, -1):
        if value in members:
            upcoming = value
        table[value] = upcoming
    return table


def _field_values(field: Any, minval: int, maxval: int) -> set[int]:
    values: set[int] = set()
    for expr in field.expressions:
        values.update(expr._static_values(minval, maxval))
    return values


def _is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def _days_before_year(year: int) -> int:
    previous = year - 1
    return previous * 365 + previous // 4 - previous // 100 + previous // 400


class FastPlan:
    """Matching values of every field, precomputed; the fields must be of the built-in kinds."""

    __slots__ = (
        "_by_year",
        "_by_year_kind",
        "_day_exprs",
        "_days",
        "_hours",
        "_impossible",
        "_minutes",
        "_months",
        "_seconds",
        "_weekdays",
        "_weeks",
        "_years",
    )

    def __init__(self, fields: Sequence[Any]) -> None:
        by_name = {field.name: field for field in fields}
        years = _field_values(by_name["year"], _MIN_YEAR, _MAX_YEAR)
        self._years: List[int] | None = (
            None if len(years) == _MAX_YEAR - _MIN_YEAR + 1 else sorted(years)
        )
        self._months = _field_values(by_name["month"], 1, 12)
        day_field = by_name["day"]
        self._days = set()
        self._day_exprs = []
        for expr in day_field.expressions:
            values = expr._static_values(1, 31)
            if values is None:
                self._day_exprs.append(expr)
            else:
                self._days.update(values)
        weeks = _field_values(by_name["week"], 1, 53)
        self._weeks: set[int] | None = None if len(weeks) == 53 else weeks
        weekdays = _field_values(by_name["day_of_week"], 0, 6)
        self._weekdays: set[int] | None = None if len(weekdays) == 7 else weekdays
        hours = _field_values(by_name["hour"], 0, 23)
        minutes = _field_values(by_name["minute"], 0, 59)
        seconds = _field_values(by_name["second"], 0, 59)
        self._hours = _next_table(sorted(hours), 24)
        self._minutes = _next_table(sorted(minutes), 60)
        self._seconds = _next_table(sorted(seconds), 60)
        self._impossible = not (hours and minutes and seconds and self._months)
        self._by_year: Dict[int, Any] = {}
        self._by_year_kind: Dict[Tuple[int, bool, bool], Any] = {}

    def _year_table(self, year: int) -> Any:
        """``(next_month, next_day)`` lookup tables of the matching dates of ``year``.

        Which (month, day) pairs match depends only on the weekday of January 1st, on whether the
        year is a leap year and, for ISO week numbers, on whether the previous year was one: the
        tables are shared by all years of the same kind.
        """
        first_weekday = _days_before_year(year) % 7
        kind = (first_weekday, _is_leap(year), self._weeks is not None and _is_leap(year - 1))
        table = self._by_year_kind.get(kind)
        if table is None:
            table = self._by_year_kind[kind] = self._build_year_table(year)
        if len(self._by_year) >= 4096:
            self._by_year.clear()
        self._by_year[year] = table
        return table

    def _build_year_table(self, year: int) -> Any:
        no_days: List[int | None] = [None] * 33
        next_day: List[List[int | None]] = [no_days] * 14
        months_with_days = []
        weeks = self._weeks
        weekdays = self._weekdays
        for month in sorted(self._months):
            first_weekday, length = monthrange(year, month)
            candidates = {day for day in self._days if day <= length}
            for expr in self._day_exprs:
                candidates.update(expr._month_days(first_weekday, length))
            if weekdays is not None:
                candidates = {
                    day for day in candidates if (first_weekday + day - 1) % 7 in weekdays
                }
            if weeks is not None:
                ordinal = date(year, month, 1).toordinal() - 1
                candidates = {
                    day
                    for day in candidates
                    if date.fromordinal(ordinal + day).isocalendar()[1] in weeks
                }
            if candidates:
                next_day[month] = _next_table(sorted(candidates), 32)
                months_with_days.append(month)
        return _next_table(months_with_days, 13), next_day

    def next_naive(
        self, year: int, month: int, day: int, hour: int, minute: int, second: int, year_limit: int
    ) -> Civil | None:
        """Return the first matching wall time ≥ the given one (components may overflow by one,
        e.g. ``second=60``), or ``None`` if there is none up to the end of ``year_limit``."""
        if self._impossible:
            return None
        years = self._years
        by_year = self._by_year
        hours = self._hours
        minutes = self._minutes
        seconds = self._seconds
        while True:
            if years is None:
                if year < _MIN_YEAR:
                    year, month, day, hour, minute, second = _MIN_YEAR, 1, 1, 0, 0, 0
            else:
                index = bisect_left(years, year)
                if index == len(years):
                    return None
                if years[index] != year:
                    year, month, day, hour, minute, second = years[index], 1, 1, 0, 0, 0
            if year > year_limit:
                return None

            table = by_year.get(year)
            if table is None:
                table = self._year_table(year)
            next_month, next_day = table
            found = next_month[month]
            if found is None:
                year += 1
                month = day = 1
                hour = minute = second = 0
                continue
            if found != month:
                month = found
                day = 1
                hour = minute = second = 0

            found = next_day[month][day]
            if found is None:
                month += 1
                day = 1
                hour = minute = second = 0
                continue
            if found != day:
                day = found
                hour = minute = second = 0

            found = hours[hour]
            if found is None:
                day += 1
                hour = minute = second = 0
                continue
            if found != hour:
                hour = found
                minute = second = 0

            found = minutes[minute]
            if found is None:
                hour += 1
                minute = second = 0
                continue
            if found != minute:
                minute = found
                second = 0

            found = seconds[second]
            if found is None:
                minute += 1
                second = 0
                continue
            return year, month, day, hour, minute, found


class GenericPlan:
    """Walks the fields through their public methods, for field or expression classes that
    :class:`FastPlan` does not know (user subclasses)."""

    __slots__ = ("_fields",)

    def __init__(self, fields: Sequence[Any]) -> None:
        self._fields = list(fields)

    def next_naive(
        self, year: int, month: int, day: int, hour: int, minute: int, second: int, year_limit: int
    ) -> Civil | None:
        try:
            dateval: datetime | None = datetime(year, month, day, hour, minute) + timedelta(
                seconds=second
            )
        except (OverflowError, ValueError):
            return None
        fields = self._fields
        fieldnum = 0
        while 0 <= fieldnum < len(fields):
            field = fields[fieldnum]
            current = field.get_value(dateval)
            upcoming = field.get_next_value(dateval)
            if upcoming is None:
                dateval, fieldnum = self._increment(dateval, fieldnum - 1)  # type: ignore[arg-type]
            elif upcoming > current:
                if field.REAL:
                    dateval = self._set(dateval, fieldnum, upcoming)  # type: ignore[arg-type]
                    fieldnum += 1
                else:
                    dateval, fieldnum = self._increment(dateval, fieldnum)  # type: ignore[arg-type]
            else:
                fieldnum += 1
            if dateval is None or dateval.year > year_limit:
                return None
        if fieldnum < 0 or dateval is None:
            return None
        return (
            dateval.year,
            dateval.month,
            dateval.day,
            dateval.hour,
            dateval.minute,
            dateval.second,
        )

    def _increment(self, dateval: datetime, fieldnum: int) -> Tuple[datetime | None, int]:
        """Add one to the real field at or above ``fieldnum`` (carrying into more significant
        fields when at the maximum) and reset the less significant real fields to their minimum."""
        fields = self._fields
        while fieldnum >= 0:
            field = fields[fieldnum]
            if field.REAL and field.get_value(dateval) < field.get_max(dateval):
                break
            fieldnum -= 1
        else:
            return None, -1
        values = {}
        for index, field in enumerate(fields):
            if not field.REAL:
                continue
            if index < fieldnum:
                values[field.name] = field.get_value(dateval)
            elif index == fieldnum:
                values[field.name] = field.get_value(dateval) + 1
            else:
                values[field.name] = field.get_min(dateval)
        try:
            return datetime(**values), fieldnum
        except (OverflowError, ValueError):
            return None, -1

    def _set(self, dateval: datetime, fieldnum: int, new_value: int) -> datetime | None:
        values = {}
        for index, field in enumerate(self._fields):
            if not field.REAL:
                continue
            if index < fieldnum:
                values[field.name] = field.get_value(dateval)
            elif index == fieldnum:
                values[field.name] = new_value
            else:
                values[field.name] = field.get_min(dateval)
        try:
            return datetime(**values)
        except (OverflowError, ValueError):
            return None


def _expression_key(expr: Any) -> Any:
    return (type(expr), tuple(sorted(vars(expr).items())))


def _fast_plan_key(fields: Sequence[Any]) -> Any:
    """A hashable description of ``fields``, or ``None`` if :class:`FastPlan` cannot serve them."""
    if len(fields) != len(FIELD_ORDER):
        return None
    key = []
    for field, name in zip(fields, FIELD_ORDER):
        if field.name != name or type(field) is not _FIELD_CLASSES[name]:
            return None
        for expr in field.expressions:
            kind = type(expr)
            if kind not in _STATIC_EXPRESSIONS and (name != "day" or kind not in _DAY_EXPRESSIONS):
                return None
        key.append(tuple(_expression_key(expr) for expr in field.expressions))
    return tuple(key)


_PLAN_CACHE: Dict[Any, FastPlan] = {}
_PLAN_CACHE_SIZE = 512


def build_plan(fields: Sequence[Any]) -> FastPlan | GenericPlan:
    """Return the plan for ``fields`` (fast plans are shared between equal field lists)."""
    key = _fast_plan_key(fields)
    if key is None:
        return GenericPlan(fields)
    plan = _PLAN_CACHE.get(key)
    if plan is None:
        if len(_PLAN_CACHE) >= _PLAN_CACHE_SIZE:
            _PLAN_CACHE.clear()
        plan = _PLAN_CACHE[key] = FastPlan(fields)
    return plan
