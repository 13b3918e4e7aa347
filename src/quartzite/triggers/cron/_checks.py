"""Checks of :class:`~quartzite.triggers.cron.CronTrigger` arguments beyond the field syntax:
argument types, the ``dst`` choice, and schedules that can never fire.

"Never" is decided exactly by the search plan: the Gregorian calendar repeats every 400 years
(leap years and weekdays alike), so when the year is not restricted, a schedule with no match in
400 consecutive years has none at all; with restricted years the plan jumps from one allowed year
to the next, up to 9999. A readable reason is given for the usual mistakes (31 February, a year
range that is over).
"""

from __future__ import annotations

import calendar
import difflib
from datetime import datetime, tzinfo
from typing import Any, Dict, Iterable, List, Tuple
from zoneinfo import ZoneInfoNotFoundError, available_timezones

from ._limits import MAX_VALUES, MIN_VALUES
from ._plans import FastPlan, _fast_plan_key, build_plan
from .expressions import (
    AllExpression,
    LastDayOfMonthExpression,
    NearestWeekdayExpression,
    RangeExpression,
    WeekdayOfMonthExpression,
    WeekdayPositionExpression,
)

__all__ = (
    "DST_CHOICES",
    "check_dst",
    "check_field_types",
    "dates_never_fire",
    "fields_never_fire",
    "unknown_zone_error",
)

#: The values of ``CronTrigger(dst=...)``, the default first.
DST_CHOICES: Tuple[str, ...] = ("shift", "skip", "vixie")

# Longest length of each month (February: in leap years).
_MONTH_MAX_DAYS = {month: calendar.monthrange(2000, month)[1] for month in range(1, 13)}
# The fields that match some value in any month and day.
_ALWAYS_MATCH = frozenset(("year", "month", "hour", "minute", "second"))
# Whether a field list can never fire, by the plan key of the fields (``None``: it can).
_NEVER_CACHE: Dict[Any, str | None] = {}


def check_dst(value: Any) -> str:
    """Return ``value`` if it is one of :data:`DST_CHOICES`.

    :raises TypeError: if it is not a string
    :raises ValueError: if it is another string
    """
    if not isinstance(value, str):
        raise TypeError(
            f"CronTrigger: dst must be a str, one of {', '.join(map(repr, DST_CHOICES))}; "
            f"got {value!r} ({type(value).__name__})"
        )
    if value not in DST_CHOICES:
        raise ValueError(
            f"CronTrigger: dst must be one of {', '.join(map(repr, DST_CHOICES))}; got {value!r}"
        )
    return value


def check_field_types(owner: str, values: Iterable[Tuple[str, Any]]) -> None:
    """Refuse field values other than strings and integers (the text of anything else, such
    as ``1.5`` or ``True``, would be parsed into something the caller did not mean).

    :raises TypeError: naming the field and the value
    """
    for name, value in values:
        if value is None or type(value) is str or type(value) is int:
            continue
        if isinstance(value, (str, int)) and not isinstance(value, bool):
            continue  # (subclasses such as IntEnum members)
        low, high = MIN_VALUES[name], MAX_VALUES[name]
        raise TypeError(
            f"{owner}: {name} must be a str (an expression such as '*/5') or an int "
            f"({low}-{high}), got {value!r} ({type(value).__name__})"
        )


def unknown_zone_error(owner: str, name: Any, exc: Exception) -> ZoneInfoNotFoundError:
    """The error for a time zone name the tz database does not know, with the closest names
    (still a :class:`~zoneinfo.ZoneInfoNotFoundError`, which callers may be catching)."""
    message = str(exc).strip("'\"")
    if "did you mean" in message or not isinstance(name, str):
        return ZoneInfoNotFoundError(message)
    close = difflib.get_close_matches(name, sorted(available_timezones()), n=3)
    hint = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
    return ZoneInfoNotFoundError(
        f"{owner}: timezone={name!r} is not a time zone of the tz database ({message}){hint}"
    )


def _static_values(field: Any, low: int, high: int) -> set[int] | None:
    values: set[int] = set()
    for expr in field.expressions:
        static = getattr(expr, "_static_values", None)
        found = static(low, high) if static is not None else None
        if found is None:
            return None
        values.update(found)
    return values


def _month_day_reason(fields: List[Any]) -> str | None:
    """ "day 31 never occurs in February" when no allowed day exists in any allowed month."""
    by_name = {field.name: field for field in fields}
    if "day" not in by_name or "month" not in by_name:
        return None
    days = _static_values(by_name["day"], 1, 31)
    months = _static_values(by_name["month"], 1, 12)
    if not days or not months:
        return None
    if any(day <= _MONTH_MAX_DAYS[month] for day in days for month in months):
        return None
    day_text = ", ".join(map(str, sorted(days)))
    month_text = ", ".join(calendar.month_name[month] for month in sorted(months))
    return f"day {day_text} never occurs in {month_text}"


def _day_in_every_month(expr: Any) -> bool:
    """Whether ``expr`` (of the day field) matches at least one day of every month."""
    kind = type(expr)
    if kind is AllExpression or kind is LastDayOfMonthExpression:
        return True
    if kind is RangeExpression:
        return expr.first <= 28
    if kind is WeekdayPositionExpression:
        return expr.option_num != 4  # (a 5th weekday is missing from some months)
    if kind is NearestWeekdayExpression:
        return expr.day is None or expr.day <= 28
    return kind is WeekdayOfMonthExpression


def _surely_fires(fields: List[Any]) -> bool:
    """A cheap sufficient condition: every week number is allowed, the day field matches in
    every month, and every day of the week is allowed, or some is while every day of the month
    is (then any allowed month of any allowed year has a matching day; the time of day fields
    always match something)."""
    # (plain loops, the usual ``*`` first: this runs for every new specification)
    weekdays = None  # the day of week field, when it is restricted
    every_day = False  # whether the day field is a plain ``*``
    for field in fields:
        name = field.name
        if name in _ALWAYS_MATCH:
            continue
        if name == "week" or name == "day_of_week":
            for expr in field.expressions:
                if type(expr) is AllExpression and not expr.step:
                    break
            else:
                if name == "week":
                    return False
                weekdays = field
        elif name == "day":
            for expr in field.expressions:
                if _day_in_every_month(expr):
                    every_day = type(expr) is AllExpression and not expr.step
                    break
            else:
                return False
        else:
            return False
    # (a month has every day of the week: any weekday the field allows occurs in it)
    return weekdays is None or (every_day and bool(_static_values(weekdays, 0, 6)))


def _search_reason(fields: List[Any]) -> str | None:
    if _surely_fires(fields):
        return None
    key = _fast_plan_key(fields)
    if key is None:
        return None  # (user field classes: no exact check)
    if key in _NEVER_CACHE:
        return _NEVER_CACHE[key]
    plan = build_plan(fields)
    assert isinstance(plan, FastPlan)
    first_year = MIN_VALUES["year"]
    unrestricted = plan._years is None
    limit = first_year + 399 if unrestricted else MAX_VALUES["year"]
    found = plan.next_naive(first_year, 1, 1, 0, 0, 0, limit)
    reason = None
    if found is None:
        reason = _month_day_reason(fields) or (
            "no date matches all of "
            + ", ".join(f"{field.name}='{field}'" for field in fields if not field.is_default)
        )
    if len(_NEVER_CACHE) >= 1024:
        _NEVER_CACHE.clear()
    _NEVER_CACHE[key] = reason
    return reason


def fields_never_fire(fields: List[Any]) -> str | None:
    """Why no date and time can match ``fields``, or ``None`` if one can."""
    if _surely_fires(fields):
        return None
    return _month_day_reason(fields) or _search_reason(fields)


def dates_never_fire(
    fields: List[Any], start_date: datetime | None, end_date: datetime | None, tz: tzinfo
) -> str | None:
    """Why a trigger whose fields can match still never fires: an ``end_date`` before
    ``start_date``, or a year field whose last year is before the current one."""
    if start_date is not None and end_date is not None and start_date > end_date:
        return f"start_date ({start_date}) is after end_date ({end_date})"
    year_field = next((field for field in fields if field.name == "year"), None)
    if year_field is not None and not year_field.is_default:
        last_year = _last_year(year_field)
        this_year = datetime.now(tz).year
        if last_year is not None and last_year < this_year:
            return f"the last year it allows ({last_year}) is before this year ({this_year})"
    return None


def _last_year(field: Any) -> int | None:
    """The largest year the field allows (``None`` if it cannot tell)."""
    last = None
    for expr in field.expressions:
        if type(expr) is AllExpression:
            return MAX_VALUES["year"]
        if type(expr) is not RangeExpression:
            return None
        if expr.last is None:
            return MAX_VALUES["year"]
        top = expr.last if not expr.step else expr.last - (expr.last - expr.first) % expr.step
        last = top if last is None else max(last, top)
    return last
