"""Tests for ``quartzite.triggers.cron.CronTrigger`` (API contract §4.4, DESIGN.md "Time")."""

from __future__ import annotations

import pickle
import random
import time
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

import quartzite.triggers.cron as cron_module
from quartzite.triggers.base import BaseTrigger
from quartzite.triggers.cron import CronTrigger
from quartzite.triggers.cron.expressions import RangeExpression
from quartzite.triggers.cron.fields import (
    BaseField,
    DayOfMonthField,
    DayOfWeekField,
    MonthField,
    WeekField,
)

BERLIN = ZoneInfo("Europe/Berlin")
EASTERN = ZoneInfo("US/Eastern")
HELSINKI = ZoneInfo("Europe/Helsinki")
UTC = timezone.utc


def fields_text(trigger: CronTrigger) -> dict:
    return {field.name: (str(field), field.is_default) for field in trigger.fields}


def same_instant(first: datetime | None, second: datetime | None) -> bool:
    """Equal as instants *and* in wall-clock reading (which also tells the fold apart)."""
    if first is None or second is None:
        return first is second
    return first.timestamp() == second.timestamp() and first.replace(tzinfo=None) == second.replace(
        tzinfo=None
    )


class TestConstruction:
    def test_class_attributes(self):
        assert CronTrigger.FIELD_NAMES == (
            "year",
            "month",
            "day",
            "week",
            "day_of_week",
            "hour",
            "minute",
            "second",
        )
        assert {
            "year": BaseField,
            "month": MonthField,
            "week": WeekField,
            "day": DayOfMonthField,
            "day_of_week": DayOfWeekField,
            "hour": BaseField,
            "minute": BaseField,
            "second": BaseField,
        } == CronTrigger.FIELDS_MAP
        assert CronTrigger.__slots__ == ("end_date", "fields", "jitter", "start_date", "timezone")
        assert issubclass(CronTrigger, BaseTrigger)
        assert not hasattr(CronTrigger(timezone=UTC), "__dict__")

    def test_unknown_argument(self):
        with pytest.raises(TypeError):
            CronTrigger(second=0, third=1, timezone=UTC)  # type: ignore[call-arg]

    def test_defaults_after_least_significant_field(self):
        trigger = CronTrigger(day=1, minute=20, timezone=UTC)
        assert fields_text(trigger) == {
            "year": ("*", True),
            "month": ("*", True),
            "day": ("1", False),
            "week": ("*", True),
            "day_of_week": ("*", True),
            "hour": ("*", True),
            "minute": ("20", False),
            "second": ("0", True),
        }

    def test_defaults_minimum_values(self):
        trigger = CronTrigger(year=2030, timezone=UTC)
        assert [str(field) for field in trigger.fields] == [
            "2030",
            "1",
            "1",
            "*",
            "*",
            "0",
            "0",
            "0",
        ]

    def test_no_fields_fires_every_second(self):
        trigger = CronTrigger(timezone=UTC)
        assert all(str(field) == "*" and field.is_default for field in trigger.fields)
        now = datetime(2024, 1, 1, 0, 0, 0, 500, tzinfo=UTC)
        assert trigger.get_next_fire_time(None, now) == datetime(2024, 1, 1, 0, 0, 1, tzinfo=UTC)

    def test_field_classes(self):
        trigger = CronTrigger(timezone=UTC)
        assert [type(field) for field in trigger.fields] == [
            BaseField,
            MonthField,
            DayOfMonthField,
            WeekField,
            DayOfWeekField,
            BaseField,
            BaseField,
            BaseField,
        ]

    def test_triggers_do_not_share_fields(self):
        first = CronTrigger(hour=5, timezone=UTC)
        second = CronTrigger(hour=5, timezone=UTC)
        assert first.fields == second.fields
        first.fields[5].expressions.append(RangeExpression(7))
        assert str(second.fields[5]) == "5"

    @pytest.mark.parametrize(
        "value", [[1], 1.5, True, object()], ids=["list", "float", "bool", "object"]
    )
    def test_field_values_other_than_str_and_int_are_refused_naming_the_field(self, value):
        # (issue 8: the text of these used to be parsed, giving confusing errors or schedules)
        with pytest.raises(TypeError) as exc:
            CronTrigger(hour=value, timezone=UTC)  # type: ignore[arg-type]
        message = str(exc.value)
        assert message.startswith("CronTrigger: hour must be a str")
        assert repr(value) in message and "0-23" in message

    def test_bool_is_not_taken_for_one(self):
        CronTrigger(hour=1, timezone=UTC)
        with pytest.raises(TypeError, match="hour must be a str"):
            CronTrigger(hour=True, timezone=UTC)


class TestTimezone:
    def test_explicit(self):
        assert CronTrigger(timezone="Europe/Berlin").timezone == BERLIN
        assert CronTrigger(timezone="UTC").timezone is UTC
        assert CronTrigger(timezone=EASTERN).timezone is EASTERN

    def test_from_start_date(self):
        start = datetime(2024, 1, 1, tzinfo=HELSINKI)
        assert CronTrigger(start_date=start).timezone is HELSINKI

    def test_from_end_date(self):
        end = datetime(2024, 1, 1, tzinfo=HELSINKI)
        assert CronTrigger(start_date="2023-01-01", end_date=end).timezone is HELSINKI

    def test_local_zone_is_looked_up_through_the_module(self, monkeypatch):
        monkeypatch.setattr(cron_module, "get_localzone", lambda: EASTERN)
        trigger = CronTrigger(hour=3)
        assert trigger.timezone is EASTERN
        assert trigger.start_date is None

    def test_start_and_end_dates_converted(self):
        trigger = CronTrigger(
            start_date="2024-03-01 10:00:00", end_date="2024-03-10", timezone=BERLIN
        )
        assert trigger.start_date == datetime(2024, 3, 1, 10, tzinfo=BERLIN)
        assert trigger.end_date == datetime(2024, 3, 10, tzinfo=BERLIN)

    def test_results_in_trigger_zone_whatever_the_zone_of_now(self):
        trigger = CronTrigger(hour=9, timezone=BERLIN)
        now = datetime(2024, 6, 1, 12, tzinfo=EASTERN)  # 18:00 in Berlin
        result = trigger.get_next_fire_time(None, now)
        assert result == datetime(2024, 6, 2, 9, tzinfo=BERLIN)
        assert result.tzinfo is BERLIN
        previous = datetime(2024, 6, 2, 3, tzinfo=UTC)  # 05:00 in Berlin
        result = trigger.get_next_fire_time(previous, previous)
        assert result.tzinfo is BERLIN and result == datetime(2024, 6, 2, 9, tzinfo=BERLIN)

    def test_naive_now_is_read_in_trigger_zone(self):
        trigger = CronTrigger(minute=30, timezone=BERLIN)
        result = trigger.get_next_fire_time(None, datetime(2024, 6, 1, 12, 40))
        assert result == datetime(2024, 6, 1, 13, 30, tzinfo=BERLIN)


class TestStrRepr:
    def test_str_repr(self):
        trigger = CronTrigger(year="2009/2", month="1/3", day="5-13", timezone=BERLIN)
        assert str(trigger) == "cron[year='2009/2', month='1/3', day='5-13']"
        assert repr(trigger) == (
            "<CronTrigger (year='2009/2', month='1/3', day='5-13', timezone='Europe/Berlin')>"
        )

    def test_repr_with_dates_and_jitter(self):
        trigger = CronTrigger(
            hour="8-10",
            start_date="2024-01-01",
            end_date="2024-12-31 23:59:59",
            jitter=30,
            timezone=BERLIN,
        )
        assert repr(trigger) == (
            "<CronTrigger (hour='8-10', start_date='2024-01-01 00:00:00 CET', "
            "end_date='2024-12-31 23:59:59 CET', jitter=30, timezone='Europe/Berlin')>"
        )

    def test_empty(self):
        trigger = CronTrigger(timezone="UTC")
        assert str(trigger) == "cron[]"
        assert repr(trigger) == "<CronTrigger (, timezone='UTC')>"

    def test_from_crontab_repr(self):
        trigger = CronTrigger.from_crontab("* * * * *", timezone="Europe/Berlin")
        assert repr(trigger) == (
            "<CronTrigger (month='*', day='*', day_of_week='*', hour='*', minute='*', "
            "timezone='Europe/Berlin')>"
        )

    def test_list_spacing_normalized(self):
        assert str(CronTrigger(day="1-2, 4-7", timezone=UTC)) == "cron[day='1-2,4-7']"

    def test_names_lower_case(self):
        trigger = CronTrigger(month="JAN-Mar", day_of_week="SAT", timezone=UTC)
        assert str(trigger) == "cron[month='jan-mar', day_of_week='sat']"

    def test_fixed_offset_zone(self):
        trigger = CronTrigger(hour=1, timezone=timezone(timedelta(hours=2)))
        assert repr(trigger) == "<CronTrigger (hour='1', timezone='UTC+02:00')>"


def dt(*args, tz=BERLIN, fold=0):
    return datetime(*args, tzinfo=tz, fold=fold)


NEXT_FIRE_TIME_CASES = [
    # (kwargs, now, expected)
    ({"year": "2009/2", "month": "1/3", "day": "5-13"}, dt(2008, 12, 1), dt(2009, 1, 5)),
    ({"year": "2009/2", "month": "1/3", "day": "5-13"}, dt(2009, 1, 14), dt(2009, 4, 5)),
    ({"year": "2009", "month": "2", "hour": "8-10"}, dt(2009, 1, 1), dt(2009, 2, 1, 8)),
    ({"year": "2009", "month": "feb-dec", "hour": "8-10"}, dt(2009, 1, 1), dt(2009, 2, 1, 8)),
    ({"year": "2009", "month": "2", "hour": "8-10"}, dt(2009, 2, 1, 10, 0, 1), dt(2009, 2, 2, 8)),
    ({"day": "last"}, dt(2024, 2, 3), dt(2024, 2, 29)),
    ({"day": "last"}, dt(2023, 2, 28, 0, 0, 1), dt(2023, 3, 31)),
    ({"day": "2nd wed"}, dt(2024, 1, 11), dt(2024, 2, 14)),
    ({"day": "last fri"}, dt(2024, 1, 1), dt(2024, 1, 26)),
    ({"day": "5th mon"}, dt(2024, 1, 30), dt(2024, 4, 29)),
    ({"day": "1st mon,last sun"}, dt(2024, 3, 5), dt(2024, 3, 31)),
    ({"week": "1", "day_of_week": "wed"}, dt(2024, 1, 4), dt(2025, 1, 1)),
    ({"week": "53"}, dt(2016, 1, 1), dt(2016, 1, 1)),  # ISO week 53 of 2015
    ({"week": "53"}, dt(2016, 1, 4), dt(2020, 12, 28)),
    ({"week": "*/2", "day_of_week": "mon"}, dt(2024, 1, 2), dt(2024, 1, 15)),
    ({"day_of_week": "sat,sun", "hour": 10}, dt(2024, 3, 4), dt(2024, 3, 9, 10)),
    ({"day_of_week": "5-6", "hour": 10}, dt(2024, 3, 4), dt(2024, 3, 9, 10)),
    ({"day_of_week": "tue", "hour": "*/6"}, dt(2024, 3, 5, 13), dt(2024, 3, 5, 18)),
    ({"month": 2, "day": 29}, dt(2025, 1, 1), dt(2028, 2, 29)),
    ({"day": 31}, dt(2024, 4, 1), dt(2024, 5, 31)),
    ({"day": 13, "day_of_week": "fri"}, dt(2024, 1, 1), dt(2024, 9, 13)),
    ({"minute": "*/15"}, dt(2024, 3, 5, 13, 7, 30), dt(2024, 3, 5, 13, 15)),
    ({"second": "*/10"}, dt(2024, 12, 31, 23, 59, 51), dt(2025, 1, 1)),
    ({"hour": "9-17", "minute": "5-55/10"}, dt(2024, 3, 5, 17, 56), dt(2024, 3, 6, 9, 5)),
    ({"hour": "3/7"}, dt(2024, 3, 5, 18), dt(2024, 3, 6, 3)),
    (
        {"year": "2030-2031", "month": "dec", "day": "last", "hour": 23},
        dt(2024, 1, 1),
        dt(2030, 12, 31, 23),
    ),
    ({"year": 2020}, dt(2024, 1, 1), None),
    ({"month": 2, "day": 30}, dt(2024, 1, 1), None),
    ({"week": 1, "month": 6}, dt(2024, 1, 1), None),
    ({"month": 2, "day": "5th fri", "year": "2020-2030"}, dt(2024, 1, 1), None),
    (
        {"year": 9999, "month": 12, "day": 31, "hour": 23, "minute": 59, "second": 59},
        dt(9999, 12, 31, 23),
        dt(9999, 12, 31, 23, 59, 59),
    ),
    (
        {"year": 9999, "month": 12, "day": 31, "hour": 23, "minute": 59, "second": 59},
        dt(9999, 12, 31, 23, 59, 59, 1),
        None,
    ),
    ({"hour": 0}, dt(1960, 6, 1), dt(1970, 1, 1)),
]


@pytest.mark.filterwarnings("ignore:CronTrigger will never fire")
@pytest.mark.parametrize("kwargs, now, expected", NEXT_FIRE_TIME_CASES)
def test_get_next_fire_time(kwargs, now, expected):
    trigger = CronTrigger(timezone=BERLIN, **kwargs)
    assert same_instant(trigger.get_next_fire_time(None, now), expected)


# The DST examples of the API contract: the same answer from (None, start), (start, start) and
# (start, expected).
DST_CASES = [
    ({"hour": 8}, EASTERN, dt(2013, 3, 9, 12, tz=EASTERN), dt(2013, 3, 10, 8, tz=EASTERN)),
    (
        {"hour": 1, "minute": 30},
        EASTERN,
        dt(2013, 11, 3, 1, 30, 5, tz=EASTERN),
        dt(2013, 11, 3, 1, 30, tz=EASTERN, fold=1),
    ),
    (
        {"hour": 1, "minute": 30},
        EASTERN,
        dt(2013, 11, 3, 1, 30, 5, tz=EASTERN, fold=1),
        dt(2013, 11, 4, 1, 30, tz=EASTERN),
    ),
    (
        {"minute": "*/30"},
        EASTERN,
        dt(2013, 3, 10, 1, 35, tz=EASTERN),
        dt(2013, 3, 10, 3, tz=EASTERN),
    ),
    (
        {"minute": "*/30"},
        EASTERN,
        dt(2013, 11, 3, 1, 35, tz=EASTERN),
        dt(2013, 11, 3, 1, tz=EASTERN, fold=1),
    ),
    (
        {"minute": 30},
        HELSINKI,
        datetime(2017, 10, 29, 3, 30, 0, 5, tzinfo=HELSINKI, fold=1),
        dt(2017, 10, 29, 4, 30, tz=HELSINKI),
    ),
]


@pytest.mark.parametrize("kwargs, tz, start, expected", DST_CASES)
@pytest.mark.parametrize("call", ["none_start", "start_start", "start_expected"])
def test_dst_examples(kwargs, tz, start, expected, call):
    trigger = CronTrigger(timezone=tz, **kwargs)
    previous, now = {
        "none_start": (None, start),
        "start_start": (start, start),
        "start_expected": (start, expected),
    }[call]
    result = trigger.get_next_fire_time(previous, now)
    assert same_instant(result, expected)
    assert result.fold == expected.fold


class TestDaylightSavingTime:
    def test_skipped_wall_time_never_fires_with_dst_skip(self):
        # (the default before issue 8; tests/triggers/test_cron_dst_modes.py has the others)
        trigger = CronTrigger(hour=2, minute=30, timezone=BERLIN, dst="skip")
        result = trigger.get_next_fire_time(None, dt(2024, 3, 31, 1))
        assert same_instant(result, dt(2024, 4, 1, 2, 30))

    def test_skipped_wall_time_fires_shifted_by_default(self):
        # Berlin 2024-03-31: 02:00 CET -> 03:00 CEST, so 02:30 is read as 03:30 CEST
        trigger = CronTrigger(hour=2, minute=30, timezone=BERLIN)
        result = trigger.get_next_fire_time(None, dt(2024, 3, 31, 1))
        assert result == datetime(2024, 3, 31, 1, 30, tzinfo=UTC)
        assert (result.hour, result.minute, result.utcoffset()) == (3, 30, timedelta(hours=2))

    def test_repeated_wall_time_fires_twice(self):
        trigger = CronTrigger(hour=2, minute=30, timezone=BERLIN)
        first = trigger.get_next_fire_time(None, dt(2024, 10, 27, 1))
        assert same_instant(first, dt(2024, 10, 27, 2, 30)) and first.fold == 0
        second = trigger.get_next_fire_time(first, first)
        assert same_instant(second, dt(2024, 10, 27, 2, 30, fold=1)) and second.fold == 1
        assert second.timestamp() - first.timestamp() == 3600
        third = trigger.get_next_fire_time(second, second)
        assert same_instant(third, dt(2024, 10, 28, 2, 30))

    def test_every_minute_across_fall_back(self):
        trigger = CronTrigger(minute="*/20", timezone=BERLIN)
        fire_time = trigger.get_next_fire_time(None, dt(2024, 10, 27, 1, 50))
        seen = []
        for _ in range(8):
            seen.append((fire_time.hour, fire_time.minute, fire_time.fold))
            following = trigger.get_next_fire_time(fire_time, fire_time)
            assert following.timestamp() - fire_time.timestamp() == 1200
            fire_time = following
        assert seen == [
            (2, 0, 0),
            (2, 20, 0),
            (2, 40, 0),
            (2, 0, 1),
            (2, 20, 1),
            (2, 40, 1),
            (3, 0, 0),
            (3, 20, 0),
        ]

    def test_every_second_across_spring_forward(self):
        trigger = CronTrigger(timezone=BERLIN)
        before = dt(2024, 3, 31, 1, 59, 59)
        after = trigger.get_next_fire_time(before, before)
        assert same_instant(after, dt(2024, 3, 31, 3, 0, 0))

    @pytest.mark.parametrize(
        "dst, expected",
        [
            ("skip", datetime(2024, 3, 11, 0, 30)),
            ("shift", datetime(2024, 3, 10, 1, 30)),
            ("vixie", datetime(2024, 3, 10, 1, 0)),
        ],
    )
    def test_transition_at_midnight(self, dst, expected):
        # Havana skipped 00:00-01:00 on 2024-03-10 (-05:00 -> -04:00)
        havana = ZoneInfo("America/Havana")
        trigger = CronTrigger(hour=0, minute=30, timezone=havana, dst=dst)
        result = trigger.get_next_fire_time(None, datetime(2024, 3, 9, 12, tzinfo=havana))
        assert same_instant(result, expected.replace(tzinfo=havana))

    def test_lord_howe_half_hour_fall_back(self):
        lord_howe = ZoneInfo("Australia/Lord_Howe")  # 02:00 -> 01:30 on 2024-04-07
        trigger = CronTrigger(hour=1, minute="45", timezone=lord_howe)
        first = trigger.get_next_fire_time(None, datetime(2024, 4, 7, 1, tzinfo=lord_howe))
        second = trigger.get_next_fire_time(first, first)
        assert (first.fold, second.fold) == (0, 1)
        assert second.timestamp() - first.timestamp() == 1800

    def test_previous_in_repeated_hour_from_other_zone(self):
        trigger = CronTrigger(minute="*/30", timezone=EASTERN)
        previous = datetime(2013, 11, 3, 5, 30, tzinfo=UTC)  # 01:30 EDT (fold 0)
        result = trigger.get_next_fire_time(previous, previous)
        assert same_instant(result, dt(2013, 11, 3, 1, tz=EASTERN, fold=1))

    @pytest.mark.parametrize(
        "kwargs, start",
        [
            ({"hour": 2, "minute": 30}, datetime(2024, 3, 29)),
            ({"minute": "*/30"}, datetime(2024, 10, 27, 1)),
            ({"minute": "*/30"}, datetime(2024, 3, 31, 1)),
            ({"second": "*/20", "minute": "59", "hour": "1-2"}, datetime(2024, 10, 27, 0)),
        ],
    )
    def test_other_tzinfo_implementations(self, kwargs, start):
        """Zones that are not ZoneInfo (dateutil's here) give the same fire times."""
        dateutil_tz = pytest.importorskip("dateutil.tz")
        other = dateutil_tz.gettz("Europe/Berlin")
        reference = CronTrigger(timezone=BERLIN, **kwargs)
        trigger = CronTrigger(timezone=other, **kwargs)
        expected = reference.get_next_fire_time(None, start.replace(tzinfo=BERLIN))
        result = trigger.get_next_fire_time(None, start.replace(tzinfo=other))
        for _ in range(12):
            assert result.timestamp() == expected.timestamp()
            assert result.tzinfo is other
            expected = reference.get_next_fire_time(expected, expected)
            result = trigger.get_next_fire_time(result, result)


class TestStartAndEnd:
    def test_start_date_in_future(self):
        trigger = CronTrigger(hour="*/2", start_date=dt(2024, 5, 5, 9, 30), timezone=BERLIN)
        assert trigger.get_next_fire_time(None, dt(2024, 1, 1)) == dt(2024, 5, 5, 10)

    def test_start_date_inclusive(self):
        trigger = CronTrigger(hour="*/2", start_date=dt(2024, 5, 5, 10), timezone=BERLIN)
        assert trigger.get_next_fire_time(None, dt(2024, 1, 1)) == dt(2024, 5, 5, 10)

    def test_start_date_in_past_uses_now(self):
        trigger = CronTrigger(hour="*/2", start_date=dt(2024, 1, 1), timezone=BERLIN)
        assert trigger.get_next_fire_time(None, dt(2024, 5, 5, 9)) == dt(2024, 5, 5, 10)

    def test_end_date_inclusive(self):
        trigger = CronTrigger(hour="*/2", end_date=dt(2024, 5, 5, 10), timezone=BERLIN)
        assert trigger.get_next_fire_time(None, dt(2024, 5, 5, 9)) == dt(2024, 5, 5, 10)
        assert trigger.get_next_fire_time(dt(2024, 5, 5, 10), dt(2024, 5, 5, 10)) is None

    def test_end_date_bounds_the_search(self):
        with pytest.warns(UserWarning, match="day 31 never occurs in February"):
            trigger = CronTrigger(month=2, day=31, end_date=dt(2030, 1, 1), timezone=BERLIN)
        began = time.process_time()
        assert trigger.get_next_fire_time(None, dt(2024, 1, 1)) is None
        assert time.process_time() - began < 0.5

    def test_jitter_stays_within_bounds_and_end_date(self, monkeypatch):
        trigger = CronTrigger(hour=10, jitter=60, timezone=BERLIN)
        rng = random.Random(1)
        for _ in range(20):
            result = trigger.get_next_fire_time(None, dt(2024, 5, 5, 9))
            assert dt(2024, 5, 5, 10) <= result <= dt(2024, 5, 5, 10, 1)
        trigger = CronTrigger(
            hour=10, jitter=60, end_date=dt(2024, 5, 5, 10, 0, 10), timezone=BERLIN
        )
        monkeypatch.setattr(random, "uniform", lambda low, high: rng.uniform(30, high))
        assert trigger.get_next_fire_time(None, dt(2024, 5, 5, 9)) == dt(2024, 5, 5, 10, 0, 10)

    def test_no_jitter_without_jitter(self, monkeypatch):
        monkeypatch.setattr(random, "uniform", lambda low, high: pytest.fail("jitter applied"))
        trigger = CronTrigger(hour=10, jitter=0, timezone=BERLIN)
        assert trigger.get_next_fire_time(None, dt(2024, 5, 5, 9)) == dt(2024, 5, 5, 10)


class TestPreviousAndNow:
    def test_strictly_after_previous(self):
        trigger = CronTrigger(minute="*", timezone=BERLIN)
        previous = dt(2024, 5, 5, 9, 30)
        assert trigger.get_next_fire_time(previous, previous) == dt(2024, 5, 5, 9, 31)

    def test_previous_wins_over_later_now(self):
        trigger = CronTrigger(minute="*/10", timezone=BERLIN)
        previous = dt(2024, 5, 5, 9, 30)
        assert trigger.get_next_fire_time(previous, dt(2024, 5, 5, 11)) == dt(2024, 5, 5, 9, 40)

    def test_now_before_previous(self):
        trigger = CronTrigger(minute="*/10", timezone=BERLIN)
        previous = dt(2024, 5, 5, 9, 30)
        assert trigger.get_next_fire_time(previous, dt(2024, 5, 5, 9, 5)) == dt(2024, 5, 5, 9, 10)

    def test_sub_second_previous(self):
        trigger = CronTrigger(second="*", timezone=BERLIN)
        previous = datetime(2024, 5, 5, 9, 30, 0, 999999, tzinfo=BERLIN)
        assert trigger.get_next_fire_time(previous, previous) == dt(2024, 5, 5, 9, 30, 1)

    def test_chain_matches_independent_calls(self):
        trigger = CronTrigger(day="last", hour="6,18", timezone=BERLIN)
        fire_time = trigger.get_next_fire_time(None, dt(2024, 1, 1))
        for _ in range(30):
            following = trigger.get_next_fire_time(fire_time, fire_time)
            copy = dt(*fire_time.timetuple()[:6], fold=fire_time.fold)
            fresh = CronTrigger(day="last", hour="6,18", timezone=BERLIN)
            assert same_instant(fresh.get_next_fire_time(copy, copy), following)
            fire_time = following


class TestState:
    def test_getstate(self):
        trigger = CronTrigger(hour="1-5", start_date="2024-01-01", jitter=5, timezone=BERLIN)
        state = trigger.__getstate__()
        assert state == {
            "version": 2,
            "timezone": BERLIN,
            "start_date": dt(2024, 1, 1),
            "end_date": None,
            "fields": trigger.fields,
            "jitter": 5,
        }

    def test_pickle_round_trip(self):
        trigger = CronTrigger(day="last fri", hour="8-10", end_date="2030-01-01", timezone=BERLIN)
        restored = pickle.loads(pickle.dumps(trigger))
        assert repr(restored) == repr(trigger)
        assert restored.fields == trigger.fields
        now = dt(2024, 1, 1)
        assert restored.get_next_fire_time(None, now) == trigger.get_next_fire_time(None, now)

    def test_setstate_version_1_and_tuple(self):
        trigger = CronTrigger.__new__(CronTrigger)
        fields = CronTrigger(hour=3, timezone=UTC).fields
        state = {
            "version": 1,
            "timezone": "UTC",
            "start_date": None,
            "end_date": None,
            "fields": fields,
        }
        trigger.__setstate__(("ignored", state))
        assert trigger.timezone is UTC and trigger.jitter is None
        assert trigger.get_next_fire_time(None, dt(2024, 1, 1, tz=UTC)) == dt(2024, 1, 1, 3, tz=UTC)

    def test_setstate_too_new(self):
        trigger = CronTrigger.__new__(CronTrigger)
        with pytest.raises(ValueError) as exc:
            trigger.__setstate__({"version": 3})
        assert str(exc.value) == (
            "Got serialized data for version 3 of CronTrigger, but only versions up to 2 can be "
            "handled"
        )

    def test_replacing_fields_is_noticed(self):
        trigger = CronTrigger(hour=3, timezone=UTC)
        assert trigger.get_next_fire_time(None, dt(2024, 1, 1, tz=UTC)) == dt(2024, 1, 1, 3, tz=UTC)
        trigger.fields = CronTrigger(hour=5, timezone=UTC).fields
        assert trigger.get_next_fire_time(None, dt(2024, 1, 1, tz=UTC)) == dt(2024, 1, 1, 5, tz=UTC)


class TestExplain:
    @pytest.mark.parametrize(
        "kwargs, expected",
        [
            ({"day_of_week": "mon-fri", "hour": 9}, "at 09:00 on Monday through Friday"),
            ({"minute": "*/5"}, "every 5 minutes"),
            ({"second": "*/10"}, "every 10 seconds"),
            ({}, "every second"),
            ({"minute": 30}, "at minute 30 past every hour"),
            ({"hour": "*/2"}, "at minute 0 past every 2nd hour"),
            ({"hour": 9, "minute": 30, "second": 15}, "at 09:30:15"),
            (
                {"day_of_week": "sat,sun", "hour": "8,20"},
                "at 08:00 and 20:00 on Saturday and Sunday",
            ),
            ({"month": 2, "day": 29}, "at 00:00 on February 29"),
            ({"day": "last fri", "hour": 18}, "at 18:00 on the last Friday of the month"),
            ({"day": "1st mon", "hour": 8}, "at 08:00 on the first Monday of the month"),
            ({"day": "last", "hour": 23, "minute": 59}, "at 23:59 on the last day of the month"),
            ({"day": 13, "day_of_week": "fri"}, "at 00:00 on day 13 of the month if it is Friday"),
            (
                {"week": "*/2", "day_of_week": "mon", "hour": 6},
                "at 06:00 on Monday in every 2nd ISO week",
            ),
            ({"year": 2030, "month": "jun", "day": 15, "hour": 12}, "at 12:00 on June 15 in 2030"),
            (
                {"day_of_week": "mon-fri", "hour": "9-17", "minute": "*/15"},
                "every 15 minutes, during hours 9 through 17 on Monday through Friday",
            ),
        ],
    )
    def test_explain(self, kwargs, expected):
        assert CronTrigger(timezone="Europe/Berlin", **kwargs).explain() == (
            f"{expected}, Europe/Berlin"
        )

    def test_crontab_or(self):
        trigger = CronTrigger.from_crontab("0 0 1,15 * 1", timezone=UTC, standard_weekdays=True)
        assert trigger.explain() == "at 00:00 on days 1 and 15 of the month or on Monday, UTC"

    def test_dates_and_jitter(self):
        trigger = CronTrigger(
            hour=9, start_date="2024-01-01", end_date="2024-06-30", jitter=10, timezone=BERLIN
        )
        assert trigger.explain() == (
            "at 09:00, Europe/Berlin, starting 2024-01-01 00:00:00 CET, until 2024-06-30 "
            "00:00:00 CEST, delayed at random by up to 10 seconds"
        )


class _CustomHourField(BaseField):
    """A user field class: the trigger must fall back to the generic search."""

    def get_next_value(self, dateval):
        value = super().get_next_value(dateval)
        return value


class _CustomCronTrigger(CronTrigger):
    __slots__ = ()
    FIELDS_MAP = {**CronTrigger.FIELDS_MAP, "hour": _CustomHourField}


@pytest.mark.parametrize(
    "kwargs",
    [
        {"hour": "*/5", "minute": "10-40/15"},
        {"day": "last fri", "hour": "9,21"},
        {"week": "*/3", "day_of_week": "tue-thu", "hour": 4},
        {"month": "feb", "day": "29", "hour": "1"},
        {"day_of_week": "sun", "hour": "2", "minute": "30"},
        {"hour": "2", "minute": "*/20"},
    ],
)
def test_generic_search_agrees_with_fast_search(kwargs):
    fast = CronTrigger(timezone=BERLIN, **kwargs)
    generic = _CustomCronTrigger(timezone=BERLIN, **kwargs)
    assert type(generic.fields[5]) is _CustomHourField
    for start in (dt(2024, 3, 30, 12), dt(2024, 10, 26, 23), dt(2023, 12, 30)):
        fast_time = fast.get_next_fire_time(None, start)
        generic_time = generic.get_next_fire_time(None, start)
        for _ in range(10):
            assert same_instant(fast_time, generic_time)
            fast_time = fast.get_next_fire_time(fast_time, fast_time)
            generic_time = generic.get_next_fire_time(generic_time, generic_time)
