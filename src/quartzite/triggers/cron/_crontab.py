"""Reading crontab lines for :meth:`CronTrigger.from_crontab`.

Besides the fields of :class:`CronTrigger`, a line may use forms of other cron dialects in its
day fields; they become day-of-month expressions, since the trigger's day field is the one that
knows about months: ``?`` is ``*``; ``L`` is ``last``; ``15W`` and ``LW`` are
:class:`~.expressions.NearestWeekdayExpression`; in the day of week, ``5L`` is ``last fri`` and
``5#3`` is ``3rd fri`` (with standard weekday numbers; with the default ones, 5 is Saturday). The
day of week's items then move into the day field (as the weekdays they stand for), which keeps
their meaning when the day of month is ``*`` or, with ``standard_weekdays``, when either field may
match; a restricted day of month that must *also* match cannot be expressed and is refused.
"""

from __future__ import annotations

import re
from typing import Any, Dict, List, Tuple

from .expressions import (
    WEEKDAYS,
    LastDayOfMonthExpression,
    NearestWeekdayExpression,
    WeekdayOfMonthExpression,
    WeekdayPositionExpression,
)
from .fields import SEPARATOR, DayOfWeekField

_MACROS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * sun",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}

# One item of a standard crontab day-of-week field: *, */N, A, A-B, A/N or A-B/N, where A and B
# are numbers (0 or 7 = Sunday) or weekday names.
_WEEKDAY_ITEM = re.compile(
    r"(?:(?P<all>\*)|(?P<first>\d+|[a-z]+)(?:-(?P<last>\d+|[a-z]+))?)(?:/(?P<step>\d+))?$",
    re.IGNORECASE,
)
# Standard crontab numbers of the weekday names (Sunday is 0, or 7 at the end of a range).
_CRONTAB_NAMES = {name: (index + 1) % 7 for index, name in enumerate(WEEKDAYS)}
_FIELD = "day_of_week"
# ``5L`` (the last Friday of the month) and ``5#3`` (the third Friday), with a number or a name.
_POSITION_ITEM = re.compile(r"(?P<weekday>\d+|[a-z]+)(?:(?P<last>L)|#(?P<nth>\d+))$", re.IGNORECASE)
_POSITION_NAMES = ["1st", "2nd", "3rd", "4th", "5th"]


def _weekday_number(text: str, item: str, is_last: bool) -> int:
    if text.isdigit():
        if len(text) > 3 or int(text) > 7:
            raise ValueError(
                f"Error validating expression '{item}': the last value ({text}) is higher than "
                f"the maximum value (7)"
            )
        return int(text)
    try:
        number = _CRONTAB_NAMES[text.lower()]
    except KeyError:
        raise ValueError(f'Invalid weekday name "{text}"') from None
    return 7 if is_last and number == 0 else number


def standard_weekdays(text: str) -> Tuple[List[int], bool]:
    """Read a standard crontab day-of-week field.

    :return: the matching weekdays as ``date.weekday()`` numbers (0 = Monday), sorted, and whether
        the field is restricted in Vixie cron's sense (does not start with ``*``)
    :raises ValueError: if the field is not valid
    """
    weekdays: set[int] = set()
    for item in re.split(" *, *", text.strip()):
        match = _WEEKDAY_ITEM.match(item)
        if not match:
            raise ValueError(f'Unrecognized expression "{item}" for field "{_FIELD}"')
        step_text = match.group("step")
        if step_text is not None and (len(step_text) > 3 or int(step_text) == 0):
            raise ValueError(
                f'Invalid step in expression "{item}" for field "{_FIELD}": it must be 1-7'
            )
        step = int(step_text) if step_text else 1
        if match.group("all"):
            first, last = 0, 7
        else:
            first = _weekday_number(match.group("first"), item, False)
            if match.group("last") is not None:
                last = _weekday_number(match.group("last"), item, True)
            elif step_text:
                last = 7
            else:
                last = first
            if first > last:
                raise ValueError(
                    "The minimum value in a range must not be higher than the maximum "
                    f'(in expression "{item}" for field "{_FIELD}")'
                )
        weekdays.update((number + 6) % 7 for number in range(first, last + 1, step))
    return sorted(weekdays), not text.strip().startswith("*")


def weekday_runs(weekdays: List[int]) -> List[Tuple[int, int]]:
    """Group sorted weekday numbers into runs of consecutive days: ``[0, 1, 2, 5]`` gives
    ``[(0, 2), (5, 5)]``."""
    runs: List[Tuple[int, int]] = []
    for weekday in weekdays:
        if runs and runs[-1][1] == weekday - 1:
            runs[-1] = (runs[-1][0], weekday)
        else:
            runs.append((weekday, weekday))
    return runs


def _position_item(match: Any, item: str, use_standard_weekdays: bool) -> Any:
    """The day expression of a ``5L`` or ``5#3`` day-of-week item."""
    text = match.group("weekday")
    if text.isdigit():
        top = 7 if use_standard_weekdays else 6
        number = int(text) if len(text) <= 2 else top + 1
        if number > top:
            numbering = "0-7, 0 and 7 = Sunday" if use_standard_weekdays else "0-6, 0 = Monday"
            raise ValueError(
                f'Invalid weekday in expression "{item}" for field "{_FIELD}": expected '
                f"{numbering} or a name"
            )
        weekday = (number + 6) % 7 if use_standard_weekdays else number
    else:
        try:
            weekday = WEEKDAYS.index(text.lower())
        except ValueError:
            raise ValueError(f'Invalid weekday name "{text}"') from None
    if match.group("last"):
        return WeekdayPositionExpression("last", WEEKDAYS[weekday])
    nth = match.group("nth")
    if len(nth) > 1 or not 1 <= int(nth) <= 5:
        raise ValueError(
            f'Invalid position in expression "{item}" for field "{_FIELD}": expected #1 to #5'
        )
    return WeekdayPositionExpression(_POSITION_NAMES[int(nth) - 1], WEEKDAYS[weekday])


def _day_of_month(text: str) -> Tuple[str | None, List[Any]]:
    """Translate the dialect forms of a day-of-month field: the text left for the day field
    (``None`` if nothing is left) and the expressions to add to it."""
    kept: List[str] = []
    extra: List[Any] = []
    for item in SEPARATOR.split(text.strip()):
        if item == "?":
            kept.append("*")
        elif item.upper() == "L":
            extra.append(LastDayOfMonthExpression())
        elif NearestWeekdayExpression.value_re.match(item):
            day = item[:-1]
            try:
                extra.append(NearestWeekdayExpression(day))
            except ValueError as exc:
                raise ValueError(f'{exc} (in expression "{item}" for field "day")') from None
        else:
            kept.append(item)
    return (",".join(kept) if kept else None), extra


def _weekday_alternatives(
    text: str, use_standard_weekdays: bool
) -> Tuple[List[Any], List[int]] | None:
    """Split a day-of-week field with ``5L`` or ``5#3`` items into those items' day expressions
    and the weekdays (0 = Monday) of the others; ``None`` if it has no such item."""
    items = SEPARATOR.split(text.strip())
    matches = [_POSITION_ITEM.match(item) for item in items]
    if not any(matches):
        return None
    positions = [
        _position_item(match, item, use_standard_weekdays)
        for match, item in zip(matches, items)
        if match
    ]
    plain = ",".join(item for match, item in zip(matches, items) if not match)
    weekdays: set[int] = set()
    if plain and use_standard_weekdays:
        weekdays.update(standard_weekdays(plain)[0])
    elif plain:
        for expr in DayOfWeekField(_FIELD, plain).expressions:
            weekdays.update(expr._static_values(0, 6))
    return positions, sorted(weekdays)


def parse_crontab(expr: str, use_standard_weekdays: bool) -> Tuple[Dict[str, Any], List[Any]]:
    """Split a crontab line into :class:`CronTrigger` arguments.

    :return: the keyword arguments, and the expressions to add to the ``day`` field (dialect
        forms, and crontab's "day of month *or* day of week" rule); when the day field's text
        is ``None`` it consists of the added expressions alone
    """
    values = expr.split()
    if len(values) == 1 and values[0].startswith("@"):
        try:
            values = _MACROS[values[0].lower()].split()
        except KeyError:
            raise ValueError(
                f'Unknown crontab macro "{values[0]}" (supported: {", ".join(_MACROS)})'
            ) from None

    kwargs: Dict[str, Any] = {}
    if len(values) == 6:
        kwargs["second"] = values.pop(0)
    elif len(values) != 5:
        raise ValueError(
            f"Wrong number of fields; got {len(values)}, expected 5 (minute hour day month "
            f"day_of_week), or 6 with a leading second field, in {expr!r}"
        )

    minute, hour, day, month, day_of_week = values
    day_text, extra_day_expressions = _day_of_month(day)
    # (crontab's rule: a day of month starting with * does not restrict the day)
    day_restricted = day_text is None or not day_text.startswith("*")
    if day_of_week == "?":
        day_of_week = "*"
    kwargs.update(minute=minute, hour=hour, day=day_text, month=month, day_of_week=day_of_week)
    alternatives = _weekday_alternatives(day_of_week, use_standard_weekdays)
    if alternatives is not None:
        positions, weekdays = alternatives
        alternative_exprs = positions + [
            WeekdayOfMonthExpression(first, last) for first, last in weekday_runs(weekdays)
        ]
        kwargs["day_of_week"] = "*"
        if day_text == "*" and not extra_day_expressions:
            kwargs["day"] = None
            return kwargs, alternative_exprs
        if not use_standard_weekdays:
            raise ValueError(
                f'Cannot combine day of month "{day}" with day of week "{day_of_week}": a day '
                "must match both, which the day field cannot express; use * (or ?) for one of "
                "them, or standard_weekdays=True for crontab's rule that either may match"
            )
        return kwargs, extra_day_expressions + alternative_exprs
    if use_standard_weekdays:
        weekdays, restricted = standard_weekdays(day_of_week)
        runs = weekday_runs(weekdays)
        if restricted and day_restricted:
            extra_day_expressions += [WeekdayOfMonthExpression(first, last) for first, last in runs]
            kwargs["day_of_week"] = "*"
        elif len(weekdays) == 7:
            kwargs["day_of_week"] = "*"
        else:
            kwargs["day_of_week"] = ",".join(
                WEEKDAYS[first] if first == last else f"{WEEKDAYS[first]}-{WEEKDAYS[last]}"
                for first, last in runs
            )
    return kwargs, extra_day_expressions
