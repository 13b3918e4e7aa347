"""Tests for ``quartzite.triggers.preview.next_fire_times``."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from quartzite.triggers.calendarinterval import CalendarIntervalTrigger
from quartzite.triggers.combining import OrTrigger
from quartzite.triggers.cron import CronTrigger
from quartzite.triggers.date import DateTrigger
from quartzite.triggers.interval import IntervalTrigger
from quartzite.triggers.preview import next_fire_times

BERLIN = ZoneInfo("Europe/Berlin")
UTC = timezone.utc


def test_cron_weekdays():
    trigger = CronTrigger(day_of_week="mon-fri", hour=9, timezone=BERLIN)
    times = list(next_fire_times(trigger, datetime(2024, 1, 5, tzinfo=UTC), 3))
    assert [str(t) for t in times] == [
        "2024-01-05 09:00:00+01:00",
        "2024-01-08 09:00:00+01:00",
        "2024-01-09 09:00:00+01:00",
    ]


def test_default_count_is_ten():
    trigger = IntervalTrigger(minutes=1, start_date=datetime(2024, 1, 1, tzinfo=UTC))
    assert len(list(next_fire_times(trigger, datetime(2024, 1, 1, tzinfo=UTC)))) == 10


def test_zero_and_negative_counts():
    trigger = CronTrigger(hour=1, timezone=UTC)
    assert list(next_fire_times(trigger, datetime(2024, 1, 1, tzinfo=UTC), 0)) == []
    with pytest.raises(ValueError, match="count must not be negative, got -1"):
        list(next_fire_times(trigger, datetime(2024, 1, 1, tzinfo=UTC), -1))


def test_stops_when_schedule_ends():
    trigger = DateTrigger(datetime(2024, 1, 3, tzinfo=UTC))
    assert list(next_fire_times(trigger, datetime(2024, 1, 1, tzinfo=UTC), 5)) == [
        datetime(2024, 1, 3, tzinfo=UTC)
    ]


def test_until():
    trigger = CronTrigger(hour="*/6", timezone=UTC)
    times = list(
        next_fire_times(trigger, datetime(2024, 1, 1, tzinfo=UTC), None, until=datetime(2024, 1, 2))
    )
    assert times == [datetime(2024, 1, 1, hour, tzinfo=UTC) for hour in (0, 6, 12, 18)] + [
        datetime(2024, 1, 2, tzinfo=UTC)
    ]


def test_unbounded_generator_is_lazy():
    trigger = CronTrigger(second="*", timezone=UTC)
    iterator = next_fire_times(trigger, datetime(2024, 1, 1, tzinfo=UTC), None)
    first = [next(iterator) for _ in range(3)]
    assert first[-1] - first[0] == timedelta(seconds=2)


def test_naive_start_in_trigger_zone():
    trigger = CronTrigger(hour=9, timezone=BERLIN)
    times = list(next_fire_times(trigger, datetime(2024, 1, 5, 10), 1))
    assert times == [datetime(2024, 1, 6, 9, tzinfo=BERLIN)]


def test_repeated_hour_and_strict_increase():
    trigger = CronTrigger(hour=2, minute=30, timezone=BERLIN)
    times = list(next_fire_times(trigger, datetime(2024, 10, 26, tzinfo=UTC), 3))
    assert [t.fold for t in times] == [0, 0, 1]
    assert [t.timestamp() for t in times] == sorted({t.timestamp() for t in times})


def test_any_trigger():
    trigger = OrTrigger(
        [
            CalendarIntervalTrigger(months=1, start_date="2024-01-31", timezone=UTC),
            CronTrigger(month="feb", day=14, timezone=UTC),
        ]
    )
    times = list(next_fire_times(trigger, datetime(2024, 1, 1, tzinfo=UTC), 3))
    assert times[:2] == [datetime(2024, 1, 31, tzinfo=UTC), datetime(2024, 2, 14, tzinfo=UTC)]


class _Stuck(DateTrigger):
    __slots__ = ()

    def get_next_fire_time(self, previous_fire_time, now):
        return self.run_date


def test_stops_on_a_trigger_that_does_not_advance():
    trigger = _Stuck(datetime(2024, 1, 3, tzinfo=UTC))
    assert len(list(next_fire_times(trigger, datetime(2024, 1, 1, tzinfo=UTC), 5))) == 1


@pytest.mark.parametrize("count", ["3", 2.0, True])
def test_a_count_that_is_not_an_int_is_a_type_error(count: object) -> None:
    trigger = DateTrigger(datetime(2030, 1, 1, tzinfo=timezone.utc))
    with pytest.raises(TypeError, match="count must be an int or None, got"):
        list(next_fire_times(trigger, datetime(2029, 1, 1, tzinfo=timezone.utc), count))  # type: ignore[arg-type]


def test_something_that_is_not_a_trigger_is_a_type_error() -> None:
    with pytest.raises(TypeError, match=r"trigger must be a trigger, got 'cron' \(str\)"):
        list(next_fire_times("cron", datetime(2029, 1, 1, tzinfo=timezone.utc)))  # type: ignore[arg-type]
