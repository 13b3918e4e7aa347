"""A trigger that fires when the wall-clock time matches a set of cron-like constraints."""

from __future__ import annotations

import threading
import warnings
from datetime import datetime, timedelta, tzinfo
from typing import Any, Dict, List, Tuple, Union
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tzlocal import get_localzone

from ...util import UTC, convert_to_datetime, datetime_repr, localize
from ..base import (
    BaseTrigger,
    check_jitter,
    check_state_datetime,
    check_state_jitter,
    check_state_timezone,
    check_state_version,
    resolve_timezone,
    state_error,
)
from ._checks import (
    check_dst,
    check_field_types,
    dates_never_fire,
    fields_never_fire,
    unknown_zone_error,
)
from ._crontab import parse_crontab
from ._search import GAP_END, GAP_SHIFT, GAP_SKIP, build_plan, find_next
from .expressions import AllExpression
from .fields import (
    _PARSE_CACHE,
    _PARSE_CACHE_SIZE,
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


# Set while from_crontab builds a trigger: it refuses a line that never fires itself, after
# adjusting the fields, so the constructor must not warn first (per thread: triggers are built
# concurrently).
class _CrontabBuild(threading.local):
    # (a class attribute: every thread reads False until it sets its own value, without the cost
    # of a getattr default)
    active = False


_BUILDING_FROM_CRONTAB = _CrontabBuild()

_FIELD_ARGUMENTS = ("year", "month", "day", "week", "day_of_week", "hour", "minute", "second")
_BUILTIN_FIELDS = frozenset((BaseField, MonthField, DayOfMonthField, WeekField, DayOfWeekField))
# Parsed fields by (trigger class, field arguments, their types): applications tend to create
# many triggers from the same few specifications, and parsing is the bulk of the construction.
# Each entry is [the fields' (class, name, expressions, is_default), why they never fire (None
# if they can fire; _UNKNOWN until the constructor computes it)].
_FIELD_SPECS: Dict[Any, List[Any]] = {}
_UNKNOWN: Any = object()
# Why a line given to from_crontab never fires (None: it fires), by (class, line,
# standard_weekdays).
_CRONTAB_NEVER: Dict[Any, Union[str, None]] = {}
# The field value types that need no type check.
_PLAIN_TYPES = frozenset((type(None), str, int))
# from_crontab keeps what parse_crontab made of a line in the fields' parse cache, by
# (CronTrigger, one of these, line): (the keyword arguments, with "*" for a day field made of the
# dialect expressions alone; the day expressions to add; whether they replace the day field).
# Lines repeat as specifications do.
_CRONTAB_KEYS = {False: "crontab line", True: "crontab line, standard weekdays"}


# find_next's (gap, repeat) arguments for each ``dst`` choice (one entry per DST_CHOICES item).
_DST_RULES: Dict[str, Tuple[int, bool]] = {
    "shift": (GAP_SHIFT, True),
    "skip": (GAP_SKIP, True),
    "vixie": (GAP_END, False),
}


def _has_fixed_time(fields: List[Any]) -> bool:
    """Whether no time of day field holds ``*`` or ``*/N``: Vixie cron treats the jobs without a
    fixed time of day differently around daylight saving time changes."""
    for field in fields:
        if field.name in ("hour", "minute", "second") and any(
            type(expr) is AllExpression for expr in field.expressions
        ):
            return False
    return True


def _microseconds(dateval: datetime, tz: tzinfo) -> int:
    """Exact POSIX time of ``dateval`` in microseconds (naive values are read in ``tz``)."""
    if dateval.tzinfo is None:
        dateval = localize(dateval, tz)
    return (dateval - _EPOCH) // _MICROSECOND


class _PlanSlot(BaseTrigger):
    # State kept out of CronTrigger.__slots__ (which lists exactly the contract's attributes):
    # the daylight saving time behaviour (public through the ``dst`` property, pickled), and,
    # never pickled, the precomputed search plan (with the field list and the behaviour it was
    # made for) and the last search result, which lets a chain of calls skip some time zone
    # conversions.
    __slots__ = ("_dst", "_last", "_plan")


class CronTrigger(_PlanSlot):
    """Triggers when the wall-clock time in ``timezone`` matches all the given constraints,
    similarly to how the UNIX cron scheduler works.

    A fire time is every instant whose wall-clock reading matches. What happens to a wall time
    that a daylight saving time change skips or repeats depends on ``dst``:

    * ``"shift"`` (the default, as APScheduler 3.11.2): a skipped time fires once, moved forward
      by the length of the gap (02:30 becomes 03:30 when the clock jumps from 02:00 to 03:00); a
      repeated time fires at both occurrences.
    * ``"skip"``: a skipped time does not fire; a repeated time fires at both occurrences.
    * ``"vixie"``: as Vixie cron does: a job whose hour, minute and second fields are all
      restricted (none contains ``*``) fires at the end of the gap for a skipped time, and only at
      the first occurrence of a repeated time; other jobs skip the gap and fire at both
      occurrences.

    Either way one instant fires once, so fire times are strictly increasing.

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
    :param dst: ``"shift"``, ``"skip"`` or ``"vixie"``: what a wall time that a daylight saving
        time change skips or repeats does (see above)
    :raises TypeError: if a field value is not a string or an integer
    :raises ValueError: if a field value or ``dst`` is not valid

    A trigger that can never fire (``day=31, month=2``, a year range that is over) is accepted,
    with a warning saying why; its :meth:`get_next_fire_time` returns ``None``.
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
        *,
        dst: str = "shift",
    ) -> None:
        # (Fast paths first for the usual argument types: triggers are often built in bulk, and
        # the full checks build their messages only when something is wrong.)
        self._dst = dst if type(dst) is str and dst in _DST_RULES else check_dst(dst)
        if type(timezone) is ZoneInfo:
            self.timezone: tzinfo = timezone
        else:
            try:
                self.timezone = resolve_timezone(timezone, start_date, end_date, get_localzone)
            except ZoneInfoNotFoundError as exc:
                raise unknown_zone_error(type(self).__name__, timezone, exc) from None

        self.start_date = (
            None
            if start_date is None
            else convert_to_datetime(start_date, self.timezone, "start_date")
        )
        self.end_date = (
            None if end_date is None else convert_to_datetime(end_date, self.timezone, "end_date")
        )
        self.jitter = None if jitter is None else check_jitter(type(self).__name__, jitter)
        self._plan: Any = None
        self._last: Any = None

        values = (year, month, day, week, day_of_week, hour, minute, second)
        types = tuple(map(type, values))
        cls = self.__class__
        try:
            key: Any = (cls, values, types)
            entry = _FIELD_SPECS.get(key)
        except TypeError:  # an unhashable value: no caching
            key = entry = None
        if entry is not None:
            # The same arguments were parsed before: copy the result.
            new = object.__new__
            fields = []
            for field_class, name, expressions, is_default in entry[0]:
                field: Any = new(field_class)
                field.name = name
                field.is_default = is_default
                field.expressions = list(expressions)
                fields.append(field)
            self.fields: List[Any] = fields
        else:
            # (only checked values are cached, with their types in the key: a hit needs no check)
            if not _PLAIN_TYPES.issuperset(types):
                check_field_types(cls.__name__, zip(_FIELD_ARGUMENTS, values))
            self.fields = self._create_fields(dict(zip(_FIELD_ARGUMENTS, values)))
            if key is not None and all(type(field) in _BUILTIN_FIELDS for field in self.fields):
                if len(_FIELD_SPECS) >= 1024:
                    _FIELD_SPECS.clear()
                entry = _FIELD_SPECS[key] = [
                    tuple(
                        (type(field), field.name, tuple(field.expressions), field.is_default)
                        for field in self.fields
                    ),
                    _UNKNOWN,
                ]
        if not _BUILDING_FROM_CRONTAB.active:
            # (an entry made for from_crontab lacks this analysis until the constructor needs it)
            reason = entry[1] if entry is not None else _UNKNOWN
            if reason is _UNKNOWN:
                reason = fields_never_fire(self.fields)
                if entry is not None:
                    entry[1] = reason
            if reason is None and (year is not None or self.end_date is not None):
                # (only a restricted year or an end date can make the dates rule out every time)
                reason = dates_never_fire(
                    self.fields, self.start_date, self.end_date, self.timezone
                )
            if reason is not None:
                # (The contract accepts these arguments: warn, and let the trigger return None.)
                warnings.warn(f"{cls.__name__} will never fire: {reason}", stacklevel=2)

    @property
    def dst(self) -> str:
        """What a wall time skipped or repeated by a daylight saving time change does:
        ``"shift"``, ``"skip"`` or ``"vixie"`` (see the class description)."""
        return self._dst

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
        dst: str = "shift",
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

        The day fields also take the forms of Quartz and other cron dialects: ``?`` (same as
        ``*``), ``L`` (the last day of the month), ``15W`` (the weekday nearest to the 15th,
        within the month), ``LW`` (the last weekday of the month) in the day of month, and
        ``5L`` (the last Friday) and ``5#3`` (the third Friday) in the day of week, whose number
        follows ``standard_weekdays``.

        A line that can never fire (``0 0 31 2 *``) is refused.

        :param expr: the crontab expression
        :param timezone: time zone to use for the date/time calculations (defaults to the local
            time zone)
        :param standard_weekdays: read the day of week (and combine it with the day of month) as
            standard crontab does
        :param dst: what a wall time that a daylight saving time change skips or repeats does
            (see :class:`CronTrigger`)
        :raises TypeError: if ``expr`` is not a string
        :raises ValueError: if the expression or one of its fields is not valid, or if it never
            fires
        """
        if not isinstance(expr, str):
            raise TypeError(
                f"CronTrigger.from_crontab: expr must be a str (a crontab line such as "
                f"'0 9 * * mon-fri'), got {expr!r} ({type(expr).__name__})"
            )
        _BUILDING_FROM_CRONTAB.active = True
        try:
            # (kept with the field parse results: emptying one cache empties both)
            parse_key = (CronTrigger, _CRONTAB_KEYS[bool(standard_weekdays)], expr)
            parsed = _PARSE_CACHE.get(parse_key)
            if parsed is None:
                values, day_expressions = parse_crontab(expr, standard_weekdays)
                # (None: the day field is made of the dialect expressions alone; "*" holds its
                # place)
                replace_day = values["day"] is None
                if replace_day:
                    values["day"] = "*"
                if len(_PARSE_CACHE) >= _PARSE_CACHE_SIZE:
                    _PARSE_CACHE.clear()
                parsed = _PARSE_CACHE[parse_key] = (values, tuple(day_expressions), replace_day)
            values, day_expressions, replace_day = parsed
            trigger = cls(timezone=timezone, dst=dst, **values)
        except ValueError as exc:
            if repr(expr) in str(exc):
                raise
            raise ValueError(f"{exc} (in crontab expression {expr!r})") from None
        finally:
            _BUILDING_FROM_CRONTAB.active = False
        if day_expressions:
            for field in trigger.fields:
                if field.name == "day":
                    kept = [] if replace_day else field.expressions
                    field.expressions = [*kept, *day_expressions]
        never_key = (cls, expr, standard_weekdays)
        if never_key in _CRONTAB_NEVER:
            reason = _CRONTAB_NEVER[never_key]
        else:
            reason = fields_never_fire(trigger.fields)
            if len(_CRONTAB_NEVER) >= 1024:
                _CRONTAB_NEVER.clear()
            _CRONTAB_NEVER[never_key] = reason
        if reason is not None:
            raise ValueError(f"Crontab expression {expr!r} never fires: {reason}")
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
        if plan is None or plan[1] is not self.fields or plan[2] != self._dst:
            gap, repeat = _DST_RULES[self._dst]
            if self._dst == "vixie" and not _has_fixed_time(self.fields):
                gap, repeat = GAP_SKIP, True  # a "wildcard" job, in Vixie cron's words
            plan = self._plan = (build_plan(self.fields), self.fields, self._dst, gap, repeat)
        start = -(-start_us // 1000000)
        if last is not None and (last[8] is not plan[0] or last[0].tzinfo is not tz):
            last = None
        found = find_next(plan[0], tz, start, year_limit, last, plan[3], plan[4])
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
        state = {
            "version": 2,
            "timezone": self.timezone,
            "start_date": self.start_date,
            "end_date": self.end_date,
            "fields": self.fields,
            "jitter": self.jitter,
        }
        if self._dst != "shift":
            # (Only when not the default: a default state keeps the contract's layout, and a
            # state without the key restores the default.)
            state["dst"] = self._dst
        return state

    def __setstate__(self, state: Any) -> None:
        state = check_state_version(state, type(self), 2)
        # (no "dst": a state from before the option, which restores the default)
        try:
            self._dst = check_dst(state.get("dst", "shift"))
        except (TypeError, ValueError) as exc:
            raise state_error(type(self), str(exc).partition(": ")[2]) from None
        # A stored row is checked like the constructor's arguments, so a damaged one is
        # quarantined by its store instead of failing each round the scheduler runs it.
        self.fields = self._checked_state_fields(state.get("fields"))
        self.start_date = check_state_datetime(type(self), state, "start_date", optional=True)
        self.end_date = check_state_datetime(type(self), state, "end_date", optional=True)
        self.timezone = check_state_timezone(type(self), state.get("timezone"))
        self.jitter = check_state_jitter(type(self), state.get("jitter"))
        self._plan = self._last = None

    @classmethod
    def _checked_state_fields(cls, fields: Any) -> List[BaseField]:
        """The restored ``fields``: one field object of the right class per name, in order."""
        names = cls.FIELD_NAMES
        if not isinstance(fields, list) or len(fields) != len(names):
            raise state_error(cls, f"fields must be a list of {len(names)} fields, got {fields!r}")
        for name, field in zip(names, fields):
            expected = cls.FIELDS_MAP[name]
            if not isinstance(field, expected) or getattr(field, "name", None) != name:
                raise state_error(
                    cls,
                    f"the {name} field must be a {expected.__name__} named {name!r}, got {field!r}",
                )
        return fields

    def _field_options(self) -> List[str]:
        # (getattr: a hand-made or damaged state may hold other objects, and the scheduler
        # prints the trigger when it reports the failure they cause)
        return [
            f"{getattr(field, 'name', '?')}='{field}'"
            for field in self.fields
            if not getattr(field, "is_default", False)
        ]

    def __str__(self) -> str:
        return f"cron[{', '.join(self._field_options())}]"

    def __repr__(self) -> str:
        options = self._field_options()
        if self.start_date:
            options.append(f"start_date={datetime_repr(self.start_date)!r}")
        if self.end_date:
            options.append(f"end_date={datetime_repr(self.end_date)!r}")
        if self.jitter:
            options.append(f"jitter={self.jitter}")
        if self._dst != "shift":
            options.append(f"dst={self._dst!r}")
        return f"<{self.__class__.__name__} ({', '.join(options)}, timezone='{self.timezone}')>"

    def _json_state(self) -> Dict[str, Any]:
        """The state for the JSON serializer: as :meth:`__getstate__`, with ``fields`` as a
        mapping of field name to expression text (the fields that were given, or whose default
        was changed; the others follow from them as in the constructor)."""
        state = self.__getstate__()
        names = list(self.FIELD_NAMES)
        given = [names.index(field.name) for field in self.fields if not field.is_default]
        last_given = max(given, default=-1)
        expressions: Dict[str, str] = {}
        for field in self.fields:
            index = names.index(field.name)
            rule = DEFAULT_VALUES[field.name] if index > last_given >= 0 else "*"
            if not field.is_default or str(field) != str(rule):
                text = str(field)
                try:
                    again = type(field)(field.name, text, field.is_default).expressions
                except ValueError:
                    again = []
                if list(map(repr, again)) != list(map(repr, field.expressions)):
                    raise TypeError(
                        f"The {field.name} field of {self!r} has no JSON form: its text "
                        f"{text!r} does not read back as the same expressions"
                    )
                expressions[field.name] = text
        state["fields"] = expressions
        return state

    @classmethod
    def _from_json_state(cls, state: Dict[str, Any]) -> BaseTrigger:
        """Rebuild a trigger from :meth:`_json_state` (or from a row of the earlier JSON format,
        whose ``fields`` is a list of ``{"class", "name", "expression", "is_default"}``)."""
        from ...util import obj_to_ref

        state = dict(check_state_version(state, cls, 2))
        check_state_timezone(cls, state.get("timezone"))
        check_state_datetime(cls, state, "start_date", optional=True)
        check_state_datetime(cls, state, "end_date", optional=True)
        check_state_jitter(cls, state.get("jitter"))
        trigger = cls.__new__(cls)
        fields = state.get("fields")
        if isinstance(fields, dict):
            unknown = sorted(set(fields) - set(cls.FIELD_NAMES))
            if unknown or not all(isinstance(text, str) for text in fields.values()):
                raise state_error(cls, f"fields must map field names to expressions: {fields!r}")
            state["fields"] = trigger._create_fields(fields)
        elif isinstance(fields, list):
            # The earlier format names each field's class: accept only the class this trigger
            # uses for that field, compared as text (nothing named by the row is imported).
            built = []
            for entry in fields:
                name = entry.get("name") if isinstance(entry, dict) else None
                field_class = cls.FIELDS_MAP.get(name) if isinstance(name, str) else None
                if field_class is None or entry.get("class") != obj_to_ref(field_class):
                    raise state_error(cls, f"{entry!r} is not one of this trigger's fields")
                built.append(field_class(name, entry["expression"], entry["is_default"]))
            state["fields"] = built
        else:
            raise state_error(cls, f"fields must be a mapping of expressions, got {fields!r}")
        trigger.__setstate__(state)
        return trigger
