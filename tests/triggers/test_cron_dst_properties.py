"""Property tests: ``CronTrigger.get_next_fire_time`` against a brute-force reference.

The reference knows nothing of the implementation: expressions are generated as structures, the
structure is rendered to the text given to the trigger, and the reference tests wall-clock
readings against the structure directly. It walks UTC instants minute by minute over the span in
which a candidate date can be the wall-clock date, converts every instant to wall-clock time with
the standard library and keeps the first instant whose reading matches (seconds are tested within
the minute: after 1972 every zone offset is a whole number of minutes, which the reference
asserts).

The semantics checked (DESIGN.md, "Cron semantics") with ``dst="skip"``: a cron trigger fires at
every instant whose wall-clock reading in its zone matches, so a skipped wall time never fires, a
repeated one fires at both occurrences, and the next fire time is the first such instant at or
after the start.

The three ``dst`` behaviours are checked in ``test_cron_dst_mode_properties.py``.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from functools import cache
from typing import Callable, List, Sequence, Tuple
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, given, note, settings
from hypothesis import strategies as st

from quartzite.triggers.combining import AndTrigger, OrTrigger
from quartzite.triggers.cron import CronTrigger

UTC = timezone.utc
# (Generated year fields may lie in the past: the warning about that is expected.)
pytestmark = pytest.mark.filterwarnings("ignore:CronTrigger will never fire")

#: Zones with daylight saving time (or other offset changes) over 1990-2060, including the
#: southern hemisphere, half-hour DST (Lord Howe), 2-hour DST (Troll), negative DST (Dublin,
#: Casablanca), midnight transitions (Havana, Santiago, Beirut, Asuncion, Sao Paulo until 2019)
#: and odd offsets (St Johns, Chatham, Tehran, Norfolk).
DST_ZONES = [
    "Europe/Berlin",
    "Europe/London",
    "Europe/Dublin",
    "Europe/Helsinki",
    "Europe/Moscow",
    "Europe/Chisinau",
    "Europe/Lisbon",
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Los_Angeles",
    "America/Juneau",
    "America/Havana",
    "America/Santiago",
    "America/Sao_Paulo",
    "America/Asuncion",
    "America/St_Johns",
    "America/Nuuk",
    "America/Scoresbysund",
    "America/Mexico_City",
    "Australia/Sydney",
    "Australia/Adelaide",
    "Australia/Lord_Howe",
    "Pacific/Auckland",
    "Pacific/Chatham",
    "Pacific/Easter",
    "Pacific/Apia",
    "Pacific/Norfolk",
    "Asia/Tehran",
    "Asia/Jerusalem",
    "Asia/Gaza",
    "Asia/Beirut",
    "Asia/Amman",
    "Asia/Damascus",
    "Africa/Casablanca",
    "Africa/Cairo",
    "Antarctica/Troll",
    "Atlantic/Azores",
]
# Each example runs a brute-force scan: run a fraction of the profile's examples.
HALF = settings(max_examples=max(10, settings.default.max_examples // 2))
THIRD = settings(max_examples=max(10, settings.default.max_examples // 3))

FIXED_ZONES = [UTC, timezone(timedelta(hours=5, minutes=30)), timezone(timedelta(hours=-7))]

MIN_VALUES = {"year": 1970, "month": 1, "day": 1, "week": 1, "day_of_week": 0}
MAX_VALUES = {"year": 9999, "month": 12, "day": 31, "week": 53, "day_of_week": 6}
MIN_VALUES.update(hour=0, minute=0, second=0)
MAX_VALUES.update(hour=23, minute=59, second=59)
MONTH_NAMES = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
WEEKDAY_NAMES = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
POSITIONS = ["1st", "2nd", "3rd", "4th", "5th"]
FIELDS = ("year", "month", "day", "week", "day_of_week", "hour", "minute", "second")
DEFAULTS = {"month": 1, "day": 1, "hour": 0, "minute": 0, "second": 0}


# --- expressions as structures -------------------------------------------------------------------


@dataclass(frozen=True)
class Item:
    """One comma separated item of a field: its text and the values it matches."""

    text: str
    matches: Callable[[int, date], bool]  # (field value, date) -> bool


def numeric_items(field: str, low: int, high: int) -> st.SearchStrategy[Item]:
    """``*``, ``*/n``, ``a``, ``a-b``, ``a/n``, ``a-b/n`` within ``low..high`` (both valid for
    the field), with the contract's validation rules respected."""
    field_min, field_max = MIN_VALUES[field], MAX_VALUES[field]

    @st.composite
    def build(draw: st.DrawFn) -> Item:
        kind = draw(st.sampled_from(["all", "all_step", "value", "range", "range_step", "from"]))
        if kind == "all":
            return Item("*", lambda value, day: True)
        if kind == "all_step":
            step = draw(st.integers(1, min(field_max - field_min, 20)))
            return Item(f"*/{step}", lambda value, day: (value - field_min) % step == 0)
        if kind == "from":
            first = draw(st.integers(low, min(high, field_max - 1)))
            step = draw(st.integers(1, min(field_max - first, 20)))
            return Item(
                f"{first}/{step}",
                lambda value, day: value >= first and (value - first) % step == 0,
            )
        first = draw(st.integers(low, high))
        if kind == "value":
            return Item(str(first), lambda value, day: value == first)
        last = draw(st.integers(first, high))
        if kind == "range":
            return Item(f"{first}-{last}", lambda value, day: first <= value <= last)
        assume(last > first and last != 0)
        step = draw(st.integers(1, last - first))
        return Item(
            f"{first}-{last}/{step}",
            lambda value, day: first <= value <= last and (value - first) % step == 0,
        )

    return build()


@st.composite
def month_name_items(draw: st.DrawFn) -> Item:
    first = draw(st.integers(1, 12))
    if draw(st.booleans()):
        name = draw(st.sampled_from([str.lower, str.upper, str.title]))(MONTH_NAMES[first - 1])
        return Item(name, lambda value, day: value == first)
    last = draw(st.integers(first, 12))
    text = f"{MONTH_NAMES[first - 1]}-{MONTH_NAMES[last - 1]}"
    return Item(text, lambda value, day: first <= value <= last)


@st.composite
def weekday_name_items(draw: st.DrawFn) -> Item:
    first = draw(st.integers(0, 6))
    if draw(st.booleans()):
        return Item(WEEKDAY_NAMES[first].upper(), lambda value, day: value == first)
    last = draw(st.integers(first, 6))
    # The reference ignores anything after the names (a quirk the contract keeps): "/2" too.
    suffix = draw(st.sampled_from(["", "", "/2"]))
    text = f"{WEEKDAY_NAMES[first]}-{WEEKDAY_NAMES[last]}{suffix}"
    return Item(text, lambda value, day: first <= value <= last)


def _days_in_month(day: date) -> int:
    return calendar.monthrange(day.year, day.month)[1]


@st.composite
def special_day_items(draw: st.DrawFn) -> Item:
    kind = draw(st.sampled_from(["last", "position", "last_weekday"]))
    if kind == "last":
        return Item("last", lambda value, day: value == _days_in_month(day))
    weekday = draw(st.integers(0, 6))
    if kind == "position":
        position = draw(st.integers(0, 4))
        return Item(
            f"{POSITIONS[position]} {WEEKDAY_NAMES[weekday]}",
            lambda value, day: day.weekday() == weekday and (value - 1) // 7 == position,
        )
    return Item(
        f"last {WEEKDAY_NAMES[weekday]}",
        lambda value, day: day.weekday() == weekday and value + 7 > _days_in_month(day),
    )


def field_items(field: str, start_year: int) -> st.SearchStrategy[List[Item]]:
    if field == "year":
        single = numeric_items("year", start_year - 1, start_year + 3)
    elif field == "month":
        single = st.one_of(numeric_items("month", 1, 12), month_name_items())
    elif field == "day":
        single = st.one_of(numeric_items("day", 1, 31), special_day_items())
    elif field == "week":
        single = numeric_items("week", 1, 53)
    elif field == "day_of_week":
        single = st.one_of(numeric_items("day_of_week", 0, 6), weekday_name_items())
    else:
        single = numeric_items(field, MIN_VALUES[field], MAX_VALUES[field])
    return st.lists(single, min_size=1, max_size=3)


@dataclass
class Expression:
    """The generated keyword arguments and the reference predicate over wall-clock readings."""

    kwargs: dict
    items: dict  # field name -> list of Items (None: every value)

    def value_matches(self, field: str, value: int, day: date) -> bool:
        items = self.items[field]
        return items is None or any(item.matches(value, day) for item in items)

    def date_matches(self, day: date) -> bool:
        return (
            self.value_matches("year", day.year, day)
            and self.value_matches("month", day.month, day)
            and self.value_matches("day", day.day, day)
            and self.value_matches("week", day.isocalendar()[1], day)
            and self.value_matches("day_of_week", day.weekday(), day)
        )

    def seconds(self, day: date) -> List[int]:
        return [s for s in range(60) if self.value_matches("second", s, day)]


@st.composite
def expressions(draw: st.DrawFn, start_year: int, dense: bool) -> Expression:
    """Random expressions of all forms. ``dense`` ones leave the date fields mostly open so that
    they match within a few days; the others restrict the date and keep few times per day."""
    if dense:
        given_fields = draw(
            st.sets(st.sampled_from(["day_of_week", "day", "hour", "minute", "second"]), min_size=1)
        )
    else:
        given_fields = draw(st.sets(st.sampled_from(FIELDS), min_size=1, max_size=5))
    kwargs = {}
    items: dict = {}
    for field in given_fields:
        field_list = draw(field_items(field, start_year))
        kwargs[field] = ",".join(item.text for item in field_list)
        items[field] = field_list
    # Defaults of the fields not given (API contract §4.4).
    least_significant = max(FIELDS.index(field) for field in given_fields)
    for index, field in enumerate(FIELDS):
        if field in items:
            continue
        if index > least_significant and field in DEFAULTS:
            default = DEFAULTS[field]
            items[field] = [Item(str(default), lambda value, day, d=default: value == d)]
        else:
            items[field] = None
    return Expression(kwargs, items)


# --- the reference ------------------------------------------------------------------------------

EPOCH = date(1970, 1, 1)


def reference_next(
    expression: Expression, tz, start: int, horizon_days: int
) -> Tuple[int | None, int]:
    """The first POSIX time ≥ ``start`` (seconds) whose wall-clock reading in ``tz`` matches.

    :return: (that time or ``None``, the POSIX time up to which the search is complete)
    """
    best: int | None = None
    first_day = datetime.fromtimestamp(start, UTC).date() - timedelta(days=1)
    searched_until = start
    for offset in range(horizon_days):
        day = first_day + timedelta(days=offset)
        # every instant whose wall-clock date can be ``day`` (offsets lie within -12h..+14h)
        window_start = (day - EPOCH).days * 86400 - 15 * 3600
        window_end = window_start + 24 * 3600 + 28 * 3600
        if best is not None and window_start > best:
            break
        searched_until = max(searched_until, window_start)
        if window_end <= start or not expression.date_matches(day):
            continue
        minute = max(window_start, start - start % 60)
        while minute < window_end and (best is None or minute <= best):
            local = datetime.fromtimestamp(minute, tz)
            assert local.second == 0, "offsets are expected to be whole minutes"
            if (
                local.day == day.day
                and local.month == day.month
                and local.year == day.year
                and expression.value_matches("hour", local.hour, day)
                and expression.value_matches("minute", local.minute, day)
            ):
                for second in expression.seconds(day):
                    instant = minute + second
                    if instant >= start:
                        # (no zone changes its offset in the middle of a minute)
                        assert datetime.fromtimestamp(instant, tz).second == second
                        best = instant if best is None else min(best, instant)
                        break
                if best is not None and best < minute + 60:
                    break
            minute += 60
    return best, searched_until


@cache
def offset_changes(zone: str, year: int) -> Tuple[int, ...]:
    """POSIX times (to the minute) at which ``zone`` changes its UTC offset during ``year``."""
    tz = ZoneInfo(zone)
    begin = int(datetime(year, 1, 1, tzinfo=UTC).timestamp())
    end = int(datetime(year + 1, 1, 1, tzinfo=UTC).timestamp())
    changes = []
    previous = datetime.fromtimestamp(begin, tz).utcoffset()
    for hour_start in range(begin + 3600, end + 1, 3600):
        current = datetime.fromtimestamp(hour_start, tz).utcoffset()
        if current != previous:
            low, high = hour_start - 3600, hour_start
            while high - low > 60:
                middle = (low + high) // 2 // 60 * 60
                if datetime.fromtimestamp(middle, tz).utcoffset() == previous:
                    low = middle
                else:
                    high = middle
            changes.append(high)
            previous = current
    return tuple(changes)


@st.composite
def start_instants(draw: st.DrawFn, zone: str) -> int:
    """POSIX times between 1990 and 2060, most of them within two days of an offset change."""
    year = draw(st.integers(1990, 2060))
    changes = offset_changes(zone, year)
    if changes and draw(st.integers(0, 3)) > 0:
        change = draw(st.sampled_from(changes))
        moment = change + draw(st.integers(-2 * 86400, 2 * 86400))
    else:
        moment = int(datetime(year, 1, 1, tzinfo=UTC).timestamp()) + draw(
            st.integers(0, 365 * 86400)
        )
    # whole seconds, minutes or sub-second starts (rounded up by the trigger)
    return moment - moment % draw(st.sampled_from([1, 60, 3600]))


def check_against_reference(
    expression: Expression, tz, start_seconds: int, microsecond: int, horizon_days: int
) -> datetime | None:
    note(f"kwargs={expression.kwargs} tz={tz} start={start_seconds}+{microsecond}us")
    trigger = CronTrigger(timezone=tz, dst="skip", **expression.kwargs)
    now = datetime.fromtimestamp(start_seconds, tz).replace(microsecond=microsecond)
    result = trigger.get_next_fire_time(None, now)
    effective_start = start_seconds + (1 if microsecond else 0)
    expected, searched_until = reference_next(expression, tz, effective_start, horizon_days)
    note(f"result={result!r} expected={expected}")
    if expected is None:
        assert result is None or result.timestamp() > searched_until
        return result
    assert result is not None
    assert result.timestamp() == expected
    # the right wall-clock reading and fold, in the trigger's zone
    reference = datetime.fromtimestamp(expected, tz)
    assert result.tzinfo is tz
    assert (result.replace(tzinfo=None), result.fold) == (
        reference.replace(tzinfo=None),
        reference.fold,
    )
    return result


def _zone_and_start(zones: Sequence[str]) -> st.SearchStrategy[Tuple[ZoneInfo, int]]:
    return st.sampled_from(zones).flatmap(
        lambda zone: st.tuples(st.just(ZoneInfo(zone)), start_instants(zone))
    )


@pytest.mark.filterwarnings("ignore:CronTrigger will never fire")
@HALF
@given(
    data=st.data(),
    zone_start=_zone_and_start(DST_ZONES),
    microsecond=st.sampled_from([0, 0, 1, 500000]),
)
def test_dense_expressions_match_reference(data, zone_start, microsecond):
    tz, start = zone_start
    start_year = datetime.fromtimestamp(start, UTC).year
    expression = data.draw(expressions(start_year, dense=True))
    check_against_reference(expression, tz, start, microsecond, horizon_days=6)


@HALF
@given(data=st.data(), zone_start=_zone_and_start(DST_ZONES))
def test_sparse_expressions_match_reference(data, zone_start):
    tz, start = zone_start
    start_year = datetime.fromtimestamp(start, UTC).year
    expression = data.draw(expressions(start_year, dense=False))
    check_against_reference(expression, tz, start, 0, horizon_days=5 * 366)


@HALF
@given(
    data=st.data(),
    tz=st.sampled_from(FIXED_ZONES),
    start=st.integers(
        int(datetime(1990, 1, 1, tzinfo=UTC).timestamp()),
        int(datetime(2060, 1, 1, tzinfo=UTC).timestamp()),
    ),
)
def test_fixed_offset_zones_match_reference(data, tz, start):
    start_year = datetime.fromtimestamp(start, UTC).year
    expression = data.draw(expressions(start_year, dense=data.draw(st.booleans())))
    check_against_reference(expression, tz, start, 0, horizon_days=3 * 366)


@THIRD
@given(
    data=st.data(),
    zone_start=_zone_and_start(DST_ZONES),
)
def test_chained_fire_times_strictly_increase_and_match(data, zone_start):
    """Successive fire times (previous = now = the last fire time) each equal the reference's
    first match after the previous one, so they are strictly increasing, and every one is a
    wall time that exists in the zone."""
    tz, start = zone_start
    start_year = datetime.fromtimestamp(start, UTC).year
    expression = data.draw(expressions(start_year, dense=True))
    trigger = CronTrigger(timezone=tz, dst="skip", **expression.kwargs)
    previous = check_against_reference(expression, tz, start, 0, horizon_days=6)
    for _ in range(data.draw(st.integers(1, 4))):
        if previous is None:
            break
        following = trigger.get_next_fire_time(previous, previous)
        expected, searched_until = reference_next(
            expression, tz, int(previous.timestamp()) + 1, horizon_days=6
        )
        if expected is None:
            assert following is None or following.timestamp() > searched_until
            break
        assert following is not None
        assert following.timestamp() == expected > previous.timestamp()
        # exists: converting the wall time back gives the same instant
        assert datetime.fromtimestamp(following.timestamp(), tz).replace(
            tzinfo=None
        ) == following.replace(tzinfo=None)
        previous = following


@THIRD
@given(data=st.data(), zone_start=_zone_and_start(DST_ZONES))
def test_combinators_match_reference(data, zone_start):
    """AndTrigger / OrTrigger of two cron triggers: the first instant matching both / either."""
    tz, start = zone_start
    start_year = datetime.fromtimestamp(start, UTC).year
    first = data.draw(expressions(start_year, dense=True))
    second = data.draw(expressions(start_year, dense=True))
    now = datetime.fromtimestamp(start, tz)
    triggers = [
        CronTrigger(timezone=tz, dst="skip", **first.kwargs),
        CronTrigger(timezone=tz, dst="skip", **second.kwargs),
    ]

    expected_or = [reference_next(expr, tz, start, 6) for expr in (first, second)]
    result = OrTrigger(triggers).get_next_fire_time(None, now)
    found = [instant for instant, _ in expected_or if instant is not None]
    if found:
        assert result is not None and result.timestamp() == min(found)
    else:
        assert result is None or result.timestamp() > min(until for _, until in expected_or)

    both = Expression(
        {},
        {field: _intersect(first.items[field], second.items[field]) for field in FIELDS},
    )
    expected_and, _ = reference_next(both, tz, start, 6)
    if expected_and is not None:  # (else the AndTrigger may search for a long time)
        result = AndTrigger(triggers).get_next_fire_time(None, now)
        assert result is not None and result.timestamp() == expected_and


def _intersect(first: List[Item] | None, second: List[Item] | None) -> List[Item] | None:
    if first is None:
        return second
    if second is None:
        return first
    return [
        Item(
            "",
            lambda value, day: (
                any(item.matches(value, day) for item in first)
                and any(item.matches(value, day) for item in second)
            ),
        )
    ]
