"""Property tests of the three ``CronTrigger(dst=...)`` behaviours (issue 8) against a
brute-force reference.

The reference walks from wall times to instants (the other reference, of ``dst="skip"``, walks
instants): every matching wall time of a matching day is resolved with PEP 495 (``fold=0`` and
``fold=1``). If one of the two round-trips, it exists (twice when both do and differ); if neither
does, a forward change skips it, and ``fold=0`` gives its reading with the offset from before the
change, that is the time shifted forward by the gap. The gap's end is found by walking minutes.
The fire times are the union over wall times; the next one is the smallest at or after the start
(so an instant reached twice fires once).

The expressions, zones and starts are generated as in ``test_cron_dst_properties.py``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import List, Tuple
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, given, note
from hypothesis import strategies as st

from quartzite.triggers.cron import CronTrigger

from .test_cron_dst_properties import (
    DST_ZONES,
    EPOCH,
    HALF,
    THIRD,
    UTC,
    Expression,
    Item,
    _zone_and_start,
    expressions,
    numeric_items,
    offset_changes,
    reference_next,
)

# (Generated year fields may lie in the past: the warning about that is expected.)
pytestmark = pytest.mark.filterwarnings("ignore:CronTrigger will never fire")


# --- the reference walking wall times --------------------------------

DST_MODES = ["shift", "skip", "vixie"]


def _naive_seconds(moment: datetime) -> int:
    return (moment.date() - EPOCH).days * 86400 + moment.hour * 3600 + moment.minute * 60


def _gap_end(tz, wall: datetime, low: int, high: int) -> int:
    """The first minute in ``(low, high]`` whose reading is later than the skipped ``wall``."""
    minute = low - low % 60
    while datetime.fromtimestamp(minute, tz).replace(tzinfo=None) <= wall:
        minute += 60
        assert minute <= high
    return minute


def has_fixed_time(expression: Expression) -> bool:
    """Vixie cron's "not a wildcard job": no time of day field holds ``*`` or ``*/n``."""
    for field in ("hour", "minute", "second"):
        items = expression.items[field]
        if items is None or any(item.text.startswith("*") for item in items):
            return False
    return True


def wall_fire_times(
    expression: Expression, tz, wall: datetime, mode: str, fixed: bool
) -> List[int]:
    """The instants at which the matching wall time ``wall`` (a whole minute) fires."""
    first = wall.replace(tzinfo=tz, fold=0)
    second = wall.replace(tzinfo=tz, fold=1)
    occurrences = sorted(
        {
            int(moment.timestamp())
            for moment in (first, second)
            if datetime.fromtimestamp(moment.timestamp(), tz).replace(tzinfo=None) == wall
        }
    )
    seconds = expression.seconds(wall.date())
    if occurrences:
        if mode == "vixie" and fixed:
            occurrences = occurrences[:1]  # a fixed-time job runs once when the clock goes back
        return [instant + second for instant in occurrences for second in seconds]
    # Skipped: fold=0 reads the wall time with the offset from before the change.
    shifted, early = int(first.timestamp()), int(second.timestamp())
    assert early < shifted
    if mode == "shift":
        return [shifted + second for second in seconds]
    if mode == "vixie" and fixed:
        return [_gap_end(tz, wall, early, shifted)] if seconds else []
    return []


def mode_reference_next(
    expression: Expression, tz, start: int, horizon_days: int, mode: str
) -> Tuple[int | None, int]:
    """The first fire time ≥ ``start`` under ``dst=mode``, walking wall times in order.

    :return: (that time or ``None``, the POSIX time up to which the search is complete)
    """
    fixed = has_fixed_time(expression)
    best: int | None = None
    first_day = datetime.fromtimestamp(start, UTC).date() - timedelta(days=2)
    for offset in range(horizon_days):
        day = first_day + timedelta(days=offset)
        day_start = (day - EPOCH).days * 86400
        # Every instant a wall time of ``day`` gives lies within -14h..+12h of its reading.
        if best is not None and day_start - 14 * 3600 > best:
            break
        if not expression.date_matches(day) or day_start + 36 * 3600 < start:
            continue
        for hour in range(24):
            if not expression.value_matches("hour", hour, day):
                continue
            for minute in range(60):
                if not expression.value_matches("minute", minute, day):
                    continue
                wall = datetime(day.year, day.month, day.day, hour, minute)
                if _naive_seconds(wall) + 12 * 3600 + 60 < start:
                    continue
                if best is not None and _naive_seconds(wall) - 14 * 3600 > best:
                    return best, best
                for instant in wall_fire_times(expression, tz, wall, mode, fixed):
                    if instant >= start and (best is None or instant < best):
                        best = instant
    searched_until = (first_day - EPOCH).days * 86400 + horizon_days * 86400 - 14 * 3600
    return best, searched_until


def check_mode(expression: Expression, tz, start: int, mode: str, horizon_days: int):
    note(f"kwargs={expression.kwargs} tz={tz} start={start} dst={mode}")
    trigger = CronTrigger(timezone=tz, dst=mode, **expression.kwargs)
    expected, searched_until = mode_reference_next(expression, tz, start, horizon_days, mode)
    result = trigger.get_next_fire_time(None, datetime.fromtimestamp(start, tz))
    note(f"result={result!r} expected={expected}")
    if expected is None:
        assert result is None or result.timestamp() > searched_until
        return trigger, None
    assert result is not None and result.timestamp() == expected
    # a fire time is always a real reading, in the trigger's zone, with the right fold
    assert result.tzinfo is tz
    reading = datetime.fromtimestamp(expected, tz)
    assert (result.replace(tzinfo=None), result.fold) == (
        reading.replace(tzinfo=None),
        reading.fold,
    )
    return trigger, result


@st.composite
def near_changes(draw: st.DrawFn) -> Tuple[ZoneInfo, int, int]:
    """A DST zone, an offset change of it, and a start up to 8 hours before (or 2 after) it."""
    zone = draw(st.sampled_from(DST_ZONES))
    year = draw(st.integers(1990, 2060))
    changes = offset_changes(zone, year)
    assume(changes)
    change = draw(st.sampled_from(changes))
    start = change + draw(st.integers(-8 * 3600, 2 * 3600))
    return ZoneInfo(zone), start - start % draw(st.sampled_from([1, 60, 1800])), change


def focused_expression(data, tz, start: int, change: int) -> Expression:
    """A dense expression whose hour and minute fields are fixed on the wall times around
    ``change`` (the wall times a change skips or repeats: where the modes differ)."""
    expression = data.draw(expressions(datetime.fromtimestamp(start, UTC).year, dense=True))
    # wall times from before the change to after it, through those skipped or repeated
    offsets = [
        int(datetime.fromtimestamp(instant, tz).utcoffset().total_seconds())
        for instant in (change - 60, change)
    ]
    low, high = change + min(offsets), change + max(offsets)
    hours = sorted(
        {datetime.fromtimestamp(wall, UTC).hour for wall in range(low - 1800, high + 1800, 900)}
    )
    hour_items = data.draw(st.lists(st.sampled_from(hours), min_size=1, max_size=2, unique=True))
    minute_items = data.draw(st.lists(numeric_items("minute", 0, 59), min_size=1, max_size=2))
    items = dict(expression.items)
    kwargs = dict(expression.kwargs)
    if data.draw(st.integers(0, 3)):  # mostly a fixed time of day (Vixie cron's distinction)
        minute_items = [item for item in minute_items if not item.text.startswith("*")]
        minute_items = minute_items or [Item("30", lambda value, day: value == 30)]
        if data.draw(st.booleans()):
            kwargs.pop("second", None)
    for field in ("day", "day_of_week"):  # (so that the day of the change matches)
        kwargs.pop(field, None)
        items[field] = None
    items["hour"] = [Item(str(h), lambda value, day, h=h: value == h) for h in hour_items]
    items["minute"] = minute_items
    kwargs["hour"] = ",".join(str(h) for h in hour_items)
    kwargs["minute"] = ",".join(item.text for item in minute_items)
    if "second" not in kwargs:  # (the default of a field after the least significant one)
        items["second"] = [Item("0", lambda value, day: value == 0)]
    expression = Expression(kwargs, items)
    return expression


@HALF
@given(data=st.data(), zone_start=_zone_and_start(DST_ZONES), mode=st.sampled_from(DST_MODES))
def test_each_dst_mode_matches_the_wall_time_reference(data, zone_start, mode):
    tz, start = zone_start
    expression = data.draw(expressions(datetime.fromtimestamp(start, UTC).year, dense=True))
    check_mode(expression, tz, start, mode, horizon_days=7)


@pytest.mark.parametrize("mode", DST_MODES)
@HALF
@given(data=st.data(), near=near_changes())
def test_each_dst_mode_matches_the_reference_next_to_a_change(data, near, mode):
    tz, start, change = near
    expression = focused_expression(data, tz, start, change)
    check_mode(expression, tz, start, mode, horizon_days=7)


@THIRD
@given(data=st.data(), zone_start=_zone_and_start(DST_ZONES), mode=st.sampled_from(DST_MODES))
def test_each_dst_mode_matches_the_reference_for_sparse_expressions(data, zone_start, mode):
    tz, start = zone_start
    expression = data.draw(expressions(datetime.fromtimestamp(start, UTC).year, dense=False))
    check_mode(expression, tz, start, mode, horizon_days=3 * 366)


@pytest.mark.parametrize("mode", DST_MODES)
@HALF
@given(data=st.data(), near=near_changes())
def test_each_dst_mode_gives_strictly_increasing_chains_matching_the_reference(data, near, mode):
    """previous = now = the last fire time: each next one is the reference's first fire time
    after it, so an instant reached twice (a shifted time that is also a real match) fires once."""
    tz, start, change = near
    expression = focused_expression(data, tz, start, change)
    trigger, previous = check_mode(expression, tz, start, mode, horizon_days=7)
    for _ in range(data.draw(st.integers(1, 6))):
        if previous is None:
            break
        following = trigger.get_next_fire_time(previous, previous)
        expected, searched_until = mode_reference_next(
            expression, tz, int(previous.timestamp()) + 1, 7, mode
        )
        if expected is None:
            assert following is None or following.timestamp() > searched_until
            break
        assert following is not None
        assert following.timestamp() == expected > previous.timestamp()
        previous = following


@THIRD
@given(data=st.data(), zone_start=_zone_and_start(DST_ZONES))
def test_skip_mode_references_agree(data, zone_start):
    """The two references (instants to readings, readings to instants) agree on ``skip``."""
    tz, start = zone_start
    expression = data.draw(expressions(datetime.fromtimestamp(start, UTC).year, dense=True))
    first, first_until = reference_next(expression, tz, start, 6)
    second, second_until = mode_reference_next(expression, tz, start, 6, "skip")
    if first is not None and second is not None:
        assert first == second
    else:
        assert (first or second or 2**62) > min(first_until, second_until)
