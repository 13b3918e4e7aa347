"""The expressions a cron field is made of (``*``, ``*/5``, ``3-7``, ``mon-fri``, ``last fri`` ...).

Each expression class has a ``value_re`` regular expression that recognises its textual form
(its named groups are the constructor's arguments), ``validate_range(field_name)`` which checks
the values against the field's limits, and ``get_next_value(date, field)`` which returns the
smallest matching value of the field that is not lower than the field's value in ``date``
(``None`` if there is none).

Besides that public protocol, the built-in expressions describe the set of values they match
(``_static_values`` and ``_month_days``) so that :class:`~quartzite.triggers.cron.CronTrigger`
can precompute its schedule instead of probing expressions one value at a time.
"""

from __future__ import annotations

import re
from calendar import monthrange
from typing import TYPE_CHECKING, Any, Iterable, List

from ._limits import MAX_VALUES, MIN_VALUES, parse_int

__all__ = (
    "MONTHS",
    "WEEKDAYS",
    "AllExpression",
    "LastDayOfMonthExpression",
    "MonthRangeExpression",
    "NearestWeekdayExpression",
    "RangeExpression",
    "WeekdayOfMonthExpression",
    "WeekdayPositionExpression",
    "WeekdayRangeExpression",
)

#: Weekday names in the order of :meth:`datetime.date.weekday` (0 = Monday).
WEEKDAYS: List[str] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
#: Month names; month number ``n`` is ``MONTHS[n - 1]``.
MONTHS: List[str] = [
    "jan",
    "feb",
    "mar",
    "apr",
    "may",
    "jun",
    "jul",
    "aug",
    "sep",
    "oct",
    "nov",
    "dec",
]


def _to_int(value: Any) -> int | None:
    if value is None or isinstance(value, str):
        return parse_int(value)
    return int(value)


def _name_index(names: List[str], name: str, kind: str) -> int:
    try:
        return names.index(name.lower())
    except ValueError:
        raise ValueError(f'Invalid {kind} name "{name}"') from None


def _step_error(step: int, value_range: int) -> ValueError:
    return ValueError(
        f"the step value ({step}) is higher than the total range of the expression ({value_range})"
    )


class AllExpression:
    """Matches every value of the field (``*``), or every ``step``-th one from the minimum."""

    value_re = re.compile(r"\*(?:/(?P<step>\d+))?$")

    def __init__(self, step: int | str | None = None) -> None:
        self.step = _to_int(step)
        if self.step == 0:
            raise ValueError("Increment must be higher than 0")

    def validate_range(self, field_name: str) -> None:
        """Check the step against the field's range.

        :raises ValueError: if the step exceeds the range of the field
        """
        value_range = MAX_VALUES[field_name] - MIN_VALUES[field_name]
        if self.step and self.step > value_range:
            raise _step_error(self.step, value_range)

    def get_next_value(self, date: Any, field: Any) -> int | None:
        """Return the smallest matching value ≥ the field's value in ``date``, or ``None``."""
        minval = field.get_min(date)
        maxval = field.get_max(date)
        candidate = max(field.get_value(date), minval)
        if self.step:
            candidate += -(candidate - minval) % self.step
        return candidate if candidate <= maxval else None

    def _static_values(self, minval: int, maxval: int) -> Iterable[int] | None:
        """The values matched within ``minval..maxval`` (``None`` if they depend on the date)."""
        return range(minval, maxval + 1, self.step or 1)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, self.__class__) and self.step == other.step

    def __str__(self) -> str:
        return f"*/{self.step}" if self.step else "*"

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}({self.step})"


class RangeExpression(AllExpression):
    """Matches ``first`` (``A``), ``first..last`` (``A-B``), optionally every ``step``-th value.

    ``A/N`` (no ``last``) runs from ``first`` up to the field's maximum.
    """

    value_re = re.compile(r"(?P<first>\d+)(?:-(?P<last>\d+))?(?:/(?P<step>\d+))?$")

    def __init__(
        self,
        first: int | str,
        last: int | str | None = None,
        step: int | str | None = None,
    ) -> None:
        super().__init__(step)
        first_value = _to_int(first)
        last_value = _to_int(last)
        if last_value is None and step is None:
            last_value = first_value
        if last_value is not None and first_value > last_value:  # type: ignore[operator]
            raise ValueError("The minimum value in a range must not be higher than the maximum")
        self.first: int = first_value  # type: ignore[assignment]
        self.last: int | None = last_value

    def validate_range(self, field_name: str) -> None:
        """Check ``first``, ``last`` and the step against the field's limits.

        :raises ValueError: describing the first violated limit
        """
        super().validate_range(field_name)
        minval = MIN_VALUES[field_name]
        maxval = MAX_VALUES[field_name]
        if self.first < minval:
            raise ValueError(
                f"the first value ({self.first}) is lower than the minimum value ({minval})"
            )
        if self.last is not None and self.last > maxval:
            raise ValueError(
                f"the last value ({self.last}) is higher than the maximum value ({maxval})"
            )
        # A last value of 0 counts as "up to the maximum", as in the reference implementation.
        value_range = (self.last or maxval) - self.first
        if self.step and self.step > value_range:
            raise _step_error(self.step, value_range)

    def get_next_value(self, date: Any, field: Any) -> int | None:
        lowest = max(field.get_min(date), self.first)
        highest = field.get_max(date)
        if self.last is not None:
            highest = min(highest, self.last)
        candidate = max(lowest, field.get_value(date))
        if self.step:
            candidate += -(candidate - lowest) % self.step
        return candidate if candidate <= highest else None

    def _static_values(self, minval: int, maxval: int) -> Iterable[int] | None:
        lowest = max(minval, self.first)
        highest = maxval if self.last is None else min(maxval, self.last)
        return range(lowest, highest + 1, self.step or 1)

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, self.__class__)
            and self.first == other.first
            and self.last == other.last
        )

    def _is_span(self) -> bool:
        return self.last is not None and self.last != self.first

    def __str__(self) -> str:
        text = f"{self.first}-{self.last}" if self._is_span() else str(self.first)
        return f"{text}/{self.step}" if self.step else text

    def __repr__(self) -> str:
        args = [str(self.first)]
        if self._is_span() or self.step:
            args.append(str(self.last))
        if self.step:
            args.append(str(self.step))
        return f"{self.__class__.__name__}({', '.join(args)})"


class MonthRangeExpression(RangeExpression):
    """A month name (``jan``) or a range of them (``jan-mar``), case-insensitive.

    Like the reference implementation, the pattern is not anchored at the end, so anything after
    the names (such as ``/2``) is ignored.
    """

    value_re = re.compile(r"(?P<first>[a-z]+)(?:-(?P<last>[a-z]+))?", re.IGNORECASE)

    def __init__(self, first: str, last: str | None = None) -> None:
        first_num = _name_index(MONTHS, first, "month") + 1
        last_num = _name_index(MONTHS, last, "month") + 1 if last else None
        super().__init__(first_num, last_num)

    def __str__(self) -> str:
        if self._is_span():
            return f"{MONTHS[self.first - 1]}-{MONTHS[self.last - 1]}"  # type: ignore[operator]
        return MONTHS[self.first - 1]

    def __repr__(self) -> str:
        # (The reference implementation prints the month after ``first`` here; we print the
        # month itself.)
        args = [repr(MONTHS[self.first - 1])]
        if self._is_span():
            args.append(repr(MONTHS[self.last - 1]))  # type: ignore[operator]
        return f"{self.__class__.__name__}({', '.join(args)})"


class WeekdayRangeExpression(RangeExpression):
    """A weekday name (``mon``) or a range of them (``mon-fri``; no wrap-around), case-insensitive.

    Like the reference implementation, the pattern is not anchored at the end.
    """

    value_re = re.compile(r"(?P<first>[a-z]+)(?:-(?P<last>[a-z]+))?", re.IGNORECASE)

    def __init__(self, first: str, last: str | None = None) -> None:
        first_num = _name_index(WEEKDAYS, first, "weekday")
        last_num = _name_index(WEEKDAYS, last, "weekday") if last else None
        super().__init__(first_num, last_num)

    def __str__(self) -> str:
        if self._is_span():
            return f"{WEEKDAYS[self.first]}-{WEEKDAYS[self.last]}"  # type: ignore[index]
        return WEEKDAYS[self.first]

    def __repr__(self) -> str:
        args = [repr(WEEKDAYS[self.first])]
        if self._is_span():
            args.append(repr(WEEKDAYS[self.last]))  # type: ignore[index]
        return f"{self.__class__.__name__}({', '.join(args)})"


def _first_weekday_day(weekday: int, first_weekday_of_month: int) -> int:
    """Day of the month of the first ``weekday`` in a month whose first day is on
    ``first_weekday_of_month``."""
    return (weekday - first_weekday_of_month) % 7 + 1


_POSITIONS = {"1st": 0, "2nd": 1, "3rd": 2, "4th": 3, "5th": 4, "last": 5}


class _OneDayPerMonthExpression(AllExpression):
    """An expression that picks at most one day in each month, found by :meth:`_target_day`
    from the month's first weekday and length (so the search can tabulate it per kind of month).
    """

    if TYPE_CHECKING:  # each subclass defines which day it picks

        def _target_day(self, first_weekday: int, days_in_month: int) -> int | None: ...

    def get_next_value(self, date: Any, field: Any) -> int | None:
        # ``field`` is not needed: the value only depends on the month of ``date``.
        first_weekday, days_in_month = monthrange(date.year, date.month)
        day = self._target_day(first_weekday, days_in_month)
        return day if day is not None and day >= date.day else None

    def _static_values(self, minval: int, maxval: int) -> Iterable[int] | None:
        return None

    def _month_days(self, first_weekday: int, days_in_month: int) -> List[int]:
        """The matching days of a month with the given first weekday and length."""
        day = self._target_day(first_weekday, days_in_month)
        return [] if day is None else [day]


class WeekdayPositionExpression(_OneDayPerMonthExpression):
    """The n-th (``1st`` ... ``5th``) or the ``last`` given weekday of the month (``2nd wed``)."""

    options = ["1st", "2nd", "3rd", "4th", "5th", "last"]
    # "<position> <weekday>", the position being one of the options (any case), one or more
    # spaces apart; the weekday is checked by name in the constructor.
    value_re = re.compile(
        "(?P<option_name>" + "|".join(options) + r") +(?P<weekday_name>\d+|\w+)",
        re.IGNORECASE,
    )

    def __init__(self, option_name: str, weekday_name: str) -> None:
        super().__init__(None)
        position = _POSITIONS.get(option_name.lower())
        if position is None:
            raise ValueError(f'Invalid weekday position "{option_name}"')
        self.option_num = position
        self.weekday = _name_index(WEEKDAYS, weekday_name, "weekday")

    def _target_day(self, first_weekday: int, days_in_month: int) -> int | None:
        day = _first_weekday_day(self.weekday, first_weekday)
        if self.option_num < 5:
            day += self.option_num * 7
        else:
            day += (days_in_month - day) // 7 * 7
        return day if day <= days_in_month else None

    def __eq__(self, other: object) -> bool:
        return (
            super().__eq__(other)
            and self.option_num == other.option_num  # type: ignore[attr-defined]
            and self.weekday == other.weekday  # type: ignore[attr-defined]
        )

    def __str__(self) -> str:
        return f"{self.options[self.option_num]} {WEEKDAYS[self.weekday]}"

    def __repr__(self) -> str:
        return (
            f"{self.__class__.__name__}('{self.options[self.option_num]}', "
            f"'{WEEKDAYS[self.weekday]}')"
        )


class LastDayOfMonthExpression(AllExpression):
    """The last day of the month (``last``)."""

    value_re = re.compile(r"last", re.IGNORECASE)

    def __init__(self) -> None:
        super().__init__(None)

    def _month_days(self, first_weekday: int, days_in_month: int) -> List[int]:
        return [days_in_month]

    def _static_values(self, minval: int, maxval: int) -> Iterable[int] | None:
        return None  # (it depends on the month)

    def get_next_value(self, date: Any, field: Any) -> int | None:
        # (never below the current day: the last day is the largest there is)
        return monthrange(date.year, date.month)[1]

    def __str__(self) -> str:
        return "last"

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}()"


class WeekdayOfMonthExpression(AllExpression):
    """Every day of the month that falls on one of the weekdays ``first..last``.

    Not part of any field's syntax: :meth:`CronTrigger.from_crontab` puts it in the ``day`` field
    to express crontab's rule that a day matches when *either* its day of the month *or* its
    weekday is listed (``standard_weekdays=True``). It prints like a weekday range (``mon-fri``).
    """

    value_re = re.compile(r"(?P<first>[a-z]+)(?:-(?P<last>[a-z]+))?$", re.IGNORECASE)

    def __init__(self, first: str | int, last: str | int | None = None) -> None:
        super().__init__(None)
        self.first = first if isinstance(first, int) else _name_index(WEEKDAYS, first, "weekday")
        if last is None:
            self.last = self.first
        else:
            self.last = last if isinstance(last, int) else _name_index(WEEKDAYS, last, "weekday")
        if not 0 <= self.first <= self.last <= 6:
            raise ValueError("The minimum value in a range must not be higher than the maximum")

    def get_next_value(self, date: Any, field: Any) -> int | None:
        days_in_month = monthrange(date.year, date.month)[1]
        day = date.day
        weekday = date.weekday()
        while day <= days_in_month:
            if self.first <= weekday <= self.last:
                return day
            day += 1
            weekday = (weekday + 1) % 7
        return None

    def _static_values(self, minval: int, maxval: int) -> Iterable[int] | None:
        return None

    def _month_days(self, first_weekday: int, days_in_month: int) -> List[int]:
        return [
            day
            for day in range(1, days_in_month + 1)
            if self.first <= (first_weekday + day - 1) % 7 <= self.last
        ]

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, self.__class__)
            and self.first == other.first
            and self.last == other.last
        )

    def __str__(self) -> str:
        if self.last != self.first:
            return f"{WEEKDAYS[self.first]}-{WEEKDAYS[self.last]}"
        return WEEKDAYS[self.first]

    def __repr__(self) -> str:
        args = [repr(WEEKDAYS[self.first])]
        if self.last != self.first:
            args.append(repr(WEEKDAYS[self.last]))
        return f"{self.__class__.__name__}({', '.join(args)})"


class NearestWeekdayExpression(_OneDayPerMonthExpression):
    """The weekday (Monday to Friday) nearest to a day of the month, without leaving the month
    (``15W``), or the last weekday of the month (``LW``), as in Quartz.

    A Saturday moves to the Friday before and a Sunday to the Monday after, except where that
    would leave the month: a Saturday the 1st moves to Monday the 3rd, a Sunday on the last day
    to the Friday two days before. A day the month does not have (``31W`` in April) matches
    nothing in that month, like ``31``.

    The day field accepts it as written (``day="15W"``), and :meth:`CronTrigger.from_crontab
    <quartzite.triggers.cron.CronTrigger.from_crontab>` reads it from crontab lines.

    :param day: the day of the month (1-31), or ``"L"`` (or ``None``) for the last day
    """

    value_re = re.compile(r"(?P<day>\d{1,2}|L)W$", re.IGNORECASE)

    def __init__(self, day: int | str | None) -> None:
        super().__init__(None)
        if day is None or (isinstance(day, str) and day.upper() == "L"):
            self.day: int | None = None
        else:
            number = _to_int(day)
            if number is None or not 1 <= number <= 31:
                raise ValueError(f"the day of a W expression must be 1-31 or L, got {day!r}")
            self.day = number

    def _target_day(self, first_weekday: int, days_in_month: int) -> int | None:
        target = days_in_month if self.day is None else self.day
        if target > days_in_month:
            return None
        weekday = (first_weekday + target - 1) % 7
        if weekday == 5:  # Saturday: the Friday before, unless that is in the previous month
            return target - 1 if target > 1 else target + 2
        if weekday == 6:  # Sunday: the Monday after, unless that is in the next month
            return target + 1 if target < days_in_month else target - 2
        return target

    def __eq__(self, other: object) -> bool:
        return isinstance(other, self.__class__) and self.day == other.day

    def __str__(self) -> str:
        return "LW" if self.day is None else f"{self.day}W"

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}({self.day if self.day is not None else 'None'})"
