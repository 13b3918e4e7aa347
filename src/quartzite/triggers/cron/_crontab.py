"""Reading crontab lines for :meth:`CronTrigger.from_crontab`."""

from __future__ import annotations

import re
from typing import Any, Dict, List, Tuple

from .expressions import WEEKDAYS, WeekdayOfMonthExpression

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


def parse_crontab(expr: str, use_standard_weekdays: bool) -> Tuple[Dict[str, Any], List[Any]]:
    """Split a crontab line into :class:`CronTrigger` arguments.

    :return: the keyword arguments, and the expressions to add to the ``day`` field (non-empty
        only when crontab's "day of month *or* day of week" rule applies)
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
        raise ValueError(f"Wrong number of fields; got {len(values)}, expected 5")

    minute, hour, day, month, day_of_week = values
    kwargs.update(minute=minute, hour=hour, day=day, month=month, day_of_week=day_of_week)
    extra_day_expressions: List[Any] = []
    if use_standard_weekdays:
        weekdays, restricted = standard_weekdays(day_of_week)
        runs = weekday_runs(weekdays)
        if restricted and not day.startswith("*"):
            extra_day_expressions = [WeekdayOfMonthExpression(first, last) for first, last in runs]
            kwargs["day_of_week"] = "*"
        elif len(weekdays) == 7:
            kwargs["day_of_week"] = "*"
        else:
            kwargs["day_of_week"] = ",".join(
                WEEKDAYS[first] if first == last else f"{WEEKDAYS[first]}-{WEEKDAYS[last]}"
                for first, last in runs
            )
    return kwargs, extra_day_expressions
