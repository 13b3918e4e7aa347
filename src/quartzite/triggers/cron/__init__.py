"""A trigger that fires when the wall-clock time matches a set of cron-like constraints."""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo
from typing import Any, Dict, List, Tuple, Union

from tzlocal import get_localzone

from ...util import UTC, astimezone, convert_to_datetime, datetime_repr, localize
from ..base import BaseTrigger, check_state_version, resolve_timezone
from ._crontab import parse_crontab
from ._search import build_plan, find_next
from .fields import (
    DEFAULT_VALUES,
    BaseField,
    DayOfMonthField,
    DayOfWeekField,
    MonthField,
    WeekField,
)

__all__ = ("CronTrigger",)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_MAX_YEAR = 9999

FieldValue = Union[int, str, None]

_FIELD_ARGUMENTS = ("year", "month", "day", "week", "day_of_week", "hour", "minute", "second")
_BUILTIN_FIELDS = frozenset((BaseField, MonthField, DayOfMonthField, WeekField, DayOfWeekField))
# Parsed fields by (trigger class, field arguments, their types): applications tend to create
# many triggers from the same few specifications, and parsing is the bulk of the construction.
_FIELD_SPECS: Dict[Any, Tuple[Tuple[type, str, Tuple[Any, ...], bool], ...]] = {}


def _microseconds(dateval: datetime, tz: tzinfo) -> int:
    """Exact POSIX time of ``dateval`` in microseconds (naive values are read in ``tz``)."""
    if dateval.tzinfo is None:
        dateval = localize(dateval, tz)
    return (dateval - _EPOCH) // _MICROSECOND


class _PlanSlot(BaseTrigger):
    # Private state, kept out of CronTrigger.__slots__ (which lists exactly the public attributes)
    # and never pickled: the precomputed search plan (with the field list it was made from) and
    # the last search result, which lets a chain of calls skip some time zone conversions.
    __slots__ = ("_last", "_plan")


class CronTrigger(_PlanSlot):
    """Triggers when the wall-clock time in ``timezone`` matches all the given constraints,
    similarly to how the UNIX cron scheduler works.

    A fire time is every instant whose wall-clock reading matches: a time skipped by a daylight
    saving time change never fires, and a time that occurs twice (when the clock is set back)
    fires at both occurrences.

    Fields that are not given default to ``*`` when they are more significant than the least
    significant given field, and to their minimum value otherwise (so ``hour=9`` fires at 09:00:00
    every day). The first weekday is always **Monday** (0).

    :param year: 4-digit year
    :param month: month (1-12)
    :param day: day of month (1-31)
    :param week: ISO week (1-53)
    :param day_of_week: number or name of weekday (0-6 or mon,tue,wed,thu,fri,sat,sun)
    :param hour: hour (0-23)
    :param minute: minute (0-59)
    :param second: second (0-59)
    :param start_date: earliest possible date/time to trigger on (inclusive)
    :param end_date: latest possible date/time to trigger on (inclusive)
    :param timezone: time zone to use for the date/time calculations (defaults to the time zone of
        ``start_date`` or ``end_date``, else the local time zone)
    :param jitter: delay the job execution by up to ``jitter`` seconds at random
    """

    #: Names of the fields, from the most to the least significant.
    FIELD_NAMES: Tuple[str, ...] = (
        "year",
        "month",
        "day",
        "week",
        "day_of_week",
        "hour",
        "minute",
        "second",
    )
    #: The field class of each field name.
    FIELDS_MAP: Dict[str, type] = {
        "year": BaseField,
        "month": MonthField,
        "week": WeekField,
        "day": DayOfMonthField,
        "day_of_week": DayOfWeekField,
        "hour": BaseField,
        "minute": BaseField,
        "second": BaseField,
    }

    __slots__ = "end_date", "fields", "jitter", "start_date", "timezone"

    def __init__(
        self,
        year: FieldValue = None,
        month: FieldValue = None,
        day: FieldValue = None,
        week: FieldValue = None,
        day_of_week: FieldValue = None,
        hour: FieldValue = None,
        minute: FieldValue = None,
        second: FieldValue = None,
        start_date: datetime | str | None = None,
        end_date: datetime | str | None = None,
        timezone: tzinfo | str | None = None,
        jitter: float | None = None,
    ) -> None:
        self.timezone: tzinfo = resolve_timezone(timezone, start_date, end_date, get_localzone)

        self.start_date = convert_to_datetime(start_date, self.timezone, "start_date")
        self.end_date = convert_to_datetime(end_date, self.timezone, "end_date")
        self.jitter = jitter
        self._plan: Any = None
        self._last: Any = None

        values = (year, month, day, week, day_of_week, hour, minute, second)
        cls = self.__class__
        try:
            key: Any = (cls, values, tuple(map(type, values)))
            spec = _FIELD_SPECS.get(key)
        except TypeError:  # an unhashable value: no caching
            key = spec = None
        if spec is not None:
            # The same arguments were parsed before: copy the result.
            new = object.__new__
            fields = []
            for field_class, name, expressions, is_default in spec:
                field: Any = new(field_class)
                field.name = name
                field.is_default = is_default
                field.expressions = list(expressions)
                fields.append(field)
            self.fields: List[Any] = fields
        else:
            self.fields = self._create_fields(dict(zip(_FIELD_ARGUMENTS, values)))
            if key is not None and all(type(field) in _BUILTIN_FIELDS for field in self.fields):
                if len(_FIELD_SPECS) >= 1024:
                    _FIELD_SPECS.clear()
                _FIELD_SPECS[key] = tuple(
                    (type(field), field.name, tuple(field.expressions), field.is_default)
                    for field in self.fields
                )

    def _create_fields(self, given: Dict[str, Any]) -> List[Any]:
        field_names = self.FIELD_NAMES
        last_given = -1
        for index, name in enumerate(field_names):
            if given.get(name) is not None:
                last_given = index

        fields_map = self.FIELDS_MAP
        fields = []
        for index, name in enumerate(field_names):
            value = given.get(name)
            if value is not None:
                field = fields_map[name](name, value, False)
            elif index > last_given >= 0:
                field = fields_map[name](name, DEFAULT_VALUES[name], True)
            else:
                field = fields_map[name](name, "*", True)
            fields.append(field)
        return fields

    @classmethod
    def from_crontab(
        cls,
        expr: str,
        timezone: tzinfo | str | None = None,
        *,
        standard_weekdays: bool = False,
    ) -> CronTrigger:
        """Create a :class:`CronTrigger` from a crontab expression.

        The expression has five whitespace separated fields: minute, hour, day of month, month
        and day of week. Beyond the reference implementation, it may also be

        * six fields, the first one being the second, or
        * one of the macros ``@yearly`` (``@annually``), ``@monthly``, ``@weekly`` (midnight on
          Sunday), ``@daily`` (``@midnight``) and ``@hourly``.

        By default, numeric weekdays count from 0 = Monday like in :class:`CronTrigger`, and a
        restricted day of month and day of week must both match. With
        ``standard_weekdays=True`` they follow crontab instead: 0 or 7 = Sunday, 1 = Monday, and
        when both the day of month and the day of week are restricted (do not start with ``*``)
        a day matches if *either* matches, as in Vixie cron.

        :param expr: the crontab expression
        :param timezone: time zone to use for the date/time calculations (defaults to the local
            time zone)
        :param standard_weekdays: read the day of week (and combine it with the day of month) as
            standard crontab does
        :raises ValueError: if the expression or one of its fields is not valid
        """
        values, weekday_days = parse_crontab(expr, standard_weekdays)
        trigger = cls(timezone=timezone, **values)
        if weekday_days:
            for field in trigger.fields:
                if field.name == "day":
                    field.expressions.extend(weekday_days)
        return trigger

    def get_next_fire_time(
        self, previous_fire_time: datetime | None, now: datetime
    ) -> datetime | None:
        """Return the first instant after ``previous_fire_time`` (or, without one, at or after
        ``now`` and ``start_date``) whose wall-clock time in :attr:`timezone` matches, as an aware
        datetime in that zone; ``None`` when there is none up to ``end_date`` (or the year 9999).

        With a previous fire time the search starts right after it (or at ``now``, if that is
        earlier); it is rounded up to a whole second.
        """
        tz = self.timezone
        last = self._last
        if previous_fire_time is not None:
            if last is not None and previous_fire_time is last[0]:
                previous_us = last[1] * 1000000
            else:
                previous_us = _microseconds(previous_fire_time, tz)
            now_us = previous_us if now is previous_fire_time else _microseconds(now, tz)
            if now_us > previous_us:
                start_us = previous_us + 1
            elif now_us == previous_us:
                start_us = now_us + 1
            else:
                # "now" is before the previous fire time (the clock went back): search from now,
                # but past the previous fire time if they compare equal (as the reference does).
                start_us = now_us
                if now.astimezone(tz) == previous_fire_time:
                    start_us += 1
        else:
            start_us = _microseconds(now, tz)
            if self.start_date is not None:
                start_us = max(start_us, _microseconds(self.start_date, tz))

        end_date = self.end_date
        year_limit = _MAX_YEAR
        if end_date is not None:
            # (a year more, in case the clock is set back across New Year right before it)
            year_limit = min(_MAX_YEAR, end_date.astimezone(tz).year + 1)

        plan = self._plan
        if plan is None or plan[1] is not self.fields:
            plan = self._plan = (build_plan(self.fields), self.fields)
        start = -(-start_us // 1000000)
        if last is not None and (last[7] is not plan[0] or last[0].tzinfo is not tz):
            last = None
        found = find_next(plan[0], tz, start, year_limit, last)
        if found is None:
            self._last = None
            return None
        self._last = (*found, plan[0])
        next_fire_time = found[0]
        if end_date is not None:
            # (compared as instants: comparing datetimes of one zone ignores ``fold``)
            end_us = _microseconds(end_date, tz)
            if found[1] * 1000000 > end_us:
                return None
        if self.jitter:
            # Jitter is elapsed time: add it in UTC (wall-clock arithmetic would lose the fold).
            jittered = self._apply_jitter(next_fire_time.astimezone(UTC), self.jitter, now)
            if jittered is None:
                return None
            if end_date is not None and _microseconds(jittered, tz) > end_us:
                return end_date
            return jittered.astimezone(tz)
        return next_fire_time

    def explain(self) -> str:
        """Describe the schedule in plain English.

        For example, ``CronTrigger(day_of_week="mon-fri", hour=9, timezone="Europe/Berlin")``
        gives ``"at 09:00 on Monday through Friday, Europe/Berlin"``.
        """
        from .explain import describe

        return describe(self)

    def __getstate__(self) -> Dict[str, Any]:
        return {
            "version": 2,
            "timezone": self.timezone,
            "start_date": self.start_date,
            "end_date": self.end_date,
            "fields": self.fields,
            "jitter": self.jitter,
        }

    def __setstate__(self, state: Any) -> None:
        state = check_state_version(state, type(self), 2)
        self.timezone = astimezone(state["timezone"])  # type: ignore[assignment]
        self.start_date = state["start_date"]
        self.end_date = state["end_date"]
        self.fields = state["fields"]
        self.jitter = state.get("jitter")
        self._plan = None
        self._last = None

    def __str__(self) -> str:
        options = [f"{field.name}='{field}'" for field in self.fields if not field.is_default]
        return f"cron[{', '.join(options)}]"

    def __repr__(self) -> str:
        options = [f"{field.name}='{field}'" for field in self.fields if not field.is_default]
        if self.start_date:
            options.append(f"start_date={datetime_repr(self.start_date)!r}")
        if self.end_date:
            options.append(f"end_date={datetime_repr(self.end_date)!r}")
        if self.jitter:
            options.append(f"jitter={self.jitter}")
        return f"<{self.__class__.__name__} ({', '.join(options)}, timezone='{self.timezone}')>"
