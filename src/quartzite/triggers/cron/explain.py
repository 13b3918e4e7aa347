"""Plain English descriptions of cron schedules (:meth:`CronTrigger.explain`)."""

from __future__ import annotations

from typing import Any, Dict, List, Sequence

from ...util import datetime_repr
from .expressions import (
    AllExpression,
    LastDayOfMonthExpression,
    NearestWeekdayExpression,
    RangeExpression,
    WeekdayOfMonthExpression,
    WeekdayPositionExpression,
)

__all__ = ("describe",)

_WEEKDAY_NAMES = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
_MONTH_NAMES = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
_POSITIONS = ["first", "second", "third", "fourth", "fifth", "last"]
_MAX_LISTED_TIMES = 6


def _join(items: Sequence[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} and {items[-1]}"


def _ordinal(number: int) -> str:
    if 10 <= number % 100 <= 20:
        suffix = "th"
    else:
        suffix = {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    return f"{number}{suffix}"


def _is_single(expr: Any) -> bool:
    return isinstance(expr, RangeExpression) and not expr.step and expr.last == expr.first


def _single_values(field: Any) -> List[int] | None:
    """The field's values if every expression is a single number, else ``None``."""
    if not all(_is_single(expr) for expr in field.expressions):
        return None
    return sorted({expr.first for expr in field.expressions})


def _is_all(field: Any) -> bool:
    return any(type(expr) is AllExpression and not expr.step for expr in field.expressions)


def _expression_phrase(expr: Any, unit: str, name: Any = str, ordinal: bool = False) -> str:
    """Describe one numeric expression: ``every 5 minutes`` (``every 5th minute`` with
    ``ordinal``), ``hours 9 through 17`` ..."""
    if isinstance(expr, RangeExpression):
        first = name(expr.first)
        last = None if expr.last is None else name(expr.last)
        if expr.step:
            upper = f" through {last}" if last is not None else ""
            return f"every {_ordinal(expr.step)} {unit} from {first}{upper}"
        if last is not None and expr.last != expr.first:
            return f"{unit}s {first} through {last}"
        return f"{unit} {first}"
    if isinstance(expr, AllExpression) and type(expr) is AllExpression:
        if not expr.step:
            return f"every {unit}"
        if not ordinal:
            return f"every {expr.step} {unit}s"
        origin = " from 1970" if unit == "year" else ""
        return f"every {_ordinal(expr.step)} {unit}{origin}"
    return f"{unit} {expr}"


def _field_phrase(field: Any, unit: str, name: Any = str, ordinal: bool = False) -> str:
    values = _single_values(field)
    if values is not None:
        if len(values) == 1:
            return f"{unit} {name(values[0])}"
        return f"{unit}s {_join([str(name(value)) for value in values])}"
    return _join([_expression_phrase(expr, unit, name, ordinal) for expr in field.expressions])


def _time_phrase(fields: Dict[str, Any]) -> str:
    hours = _single_values(fields["hour"])
    minutes = _single_values(fields["minute"])
    seconds = _single_values(fields["second"])
    show_seconds = seconds is None or seconds != [0]

    if (
        hours is not None
        and minutes is not None
        and seconds is not None
        and len(hours) * len(minutes) * len(seconds) <= _MAX_LISTED_TIMES
    ):
        times = [
            f"{hour:02}:{minute:02}:{second:02}" if show_seconds else f"{hour:02}:{minute:02}"
            for hour in hours
            for minute in minutes
            for second in seconds
        ]
        return f"at {_join(times)}"

    hour_phrase = "" if _is_all(fields["hour"]) else _field_phrase(fields["hour"], "hour")
    past_hours = (
        "every hour" if not hour_phrase else _field_phrase(fields["hour"], "hour", ordinal=True)
    )
    if (
        minutes is not None
        and seconds is not None
        and len(minutes) * len(seconds) <= _MAX_LISTED_TIMES
    ):
        if show_seconds:
            marks = [f"{minute:02}:{second:02}" for minute in minutes for second in seconds]
            text = f"at {_join(marks)} (minutes:seconds)"
        else:
            plural = "s" if len(minutes) > 1 else ""
            text = f"at minute{plural} {_join([str(minute) for minute in minutes])}"
        return f"{text} past {past_hours}"

    parts = []
    if _is_all(fields["second"]):
        parts.append("every second")
    elif show_seconds:
        parts.append(_field_phrase(fields["second"], "second"))
    if not _is_all(fields["minute"]) or not parts:
        minute_phrase = _field_phrase(fields["minute"], "minute")
        parts.append(minute_phrase if not parts else f"during {minute_phrase}")
    if hour_phrase:
        parts.append(f"during {hour_phrase}")
    text = ", ".join(parts)
    return text if text.startswith("every") else f"at {text}"


def _values(expr: Any, minval: int, maxval: int) -> List[int] | None:
    """The values an expression matches, or ``None`` for expressions of unknown classes."""
    try:
        return list(expr._static_values(minval, maxval))
    except (AttributeError, TypeError):
        return None


def _weekday(number: int) -> str:
    return _WEEKDAY_NAMES[number]


def _month(number: int) -> str:
    return _MONTH_NAMES[number - 1]


def _weekday_list(field: Any) -> str:
    phrases = []
    for expr in field.expressions:
        if isinstance(expr, RangeExpression) and not expr.step:
            if expr.last is not None and expr.last != expr.first:
                phrases.append(f"{_weekday(expr.first)} through {_weekday(expr.last)}")
            else:
                phrases.append(_weekday(expr.first))
        else:
            values = _values(expr, 0, 6)
            phrases.append(str(expr) if values is None else _join([_weekday(v) for v in values]))
    return _join(phrases)


def _day_phrase(field: Any) -> tuple[str, str]:
    """Describe the day-of-month field: (phrase, phrase of crontab-style weekday alternatives)."""
    numeric = []
    special = []
    alternatives = []
    for expr in field.expressions:
        if isinstance(expr, WeekdayPositionExpression):
            special.append(f"the {_POSITIONS[expr.option_num]} {_weekday(expr.weekday)}")
        elif isinstance(expr, LastDayOfMonthExpression):
            special.append("the last day")
        elif isinstance(expr, NearestWeekdayExpression):
            if expr.day is None:
                special.append("the last weekday")
            else:
                special.append(f"the weekday nearest day {expr.day}")
        elif isinstance(expr, WeekdayOfMonthExpression):
            if expr.last != expr.first:
                alternatives.append(f"{_weekday(expr.first)} through {_weekday(expr.last)}")
            else:
                alternatives.append(_weekday(expr.first))
        else:
            numeric.append(expr)
    numeric_phrases = []
    singles = sorted(expr.first for expr in numeric if _is_single(expr))
    if singles:
        plural = "s" if len(singles) > 1 else ""
        numeric_phrases.append(f"day{plural} {_join([str(day) for day in singles])}")
    numeric_phrases.extend(
        _expression_phrase(expr, "day") for expr in numeric if not _is_single(expr)
    )
    phrases = numeric_phrases + special
    text = f"on {_join(phrases)} of the month" if phrases else ""
    return text, _join(alternatives)


def _date_phrase(fields: Dict[str, Any]) -> str:
    parts = []
    day_field = fields["day"]
    months = _single_values(fields["month"])
    days = _single_values(day_field)
    if months is not None and days is not None and len(months) == len(days) == 1:
        # a date of the year: "on February 29"
        parts.append(f"on {_month(months[0])} {days[0]}")
        fields = {**fields, "day": None, "month": None}
        day_text = alternatives = ""
    else:
        day_text, alternatives = ("", "") if _is_all(day_field) else _day_phrase(day_field)
    weekday_text = "" if _is_all(fields["day_of_week"]) else _weekday_list(fields["day_of_week"])
    if day_text and alternatives:
        parts.append(f"{day_text} or on {alternatives}")
    elif day_text:
        parts.append(day_text)
    elif alternatives:
        parts.append(f"on {alternatives}")
    if weekday_text:
        parts.append(f"if it is {weekday_text}" if day_text else f"on {weekday_text}")
    if not _is_all(fields["week"]):
        parts.append(f"in {_field_phrase(fields['week'], 'ISO week', ordinal=True)}")
    if fields["month"] is not None and not _is_all(fields["month"]):
        parts.append(f"in {_month_list(fields['month'])}")
    if not _is_all(fields["year"]):
        years = _single_values(fields["year"])
        if years is not None:
            parts.append(f"in {_join([str(year) for year in years])}")
        else:
            phrase = _field_phrase(fields["year"], "year", ordinal=True)
            parts.append(f"in {phrase.replace('every year', 'every year from 1970')}")
    return " ".join(parts)


def _month_list(field: Any) -> str:
    phrases = []
    for expr in field.expressions:
        if isinstance(expr, RangeExpression) and not expr.step:
            if expr.last is not None and expr.last != expr.first:
                phrases.append(f"{_month(expr.first)} through {_month(expr.last)}")
            else:
                phrases.append(_month(expr.first))
        else:
            values = _values(expr, 1, 12)
            phrases.append(str(expr) if values is None else _join([_month(v) for v in values]))
    return _join(phrases)


def describe(trigger: Any) -> str:
    """Return a plain English description of a :class:`~quartzite.triggers.cron.CronTrigger`'s
    schedule, e.g. ``"at 09:00 on Monday through Friday, Europe/Berlin"``."""
    fields = {field.name: field for field in trigger.fields}
    text = _time_phrase(fields)
    date_text = _date_phrase(fields)
    if date_text:
        text = f"{text} {date_text}"
    text = f"{text}, {trigger.timezone}"
    if trigger.start_date:
        text += f", starting {datetime_repr(trigger.start_date)}"
    if trigger.end_date:
        text += f", until {datetime_repr(trigger.end_date)}"
    if trigger.jitter:
        text += f", delayed at random by up to {trigger.jitter} seconds"
    return text
