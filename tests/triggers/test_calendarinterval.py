"""Tests for ``quartzite.triggers.calendarinterval.CalendarIntervalTrigger`` (API contract §4.5)."""

from __future__ import annotations

import calendar
import pickle
import random
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, note, settings
from hypothesis import strategies as st

import quartzite.triggers.calendarinterval as calendarinterval_module
from quartzite.triggers.calendarinterval import CalendarIntervalTrigger

BERLIN = ZoneInfo("Europe/Berlin")
UTC = timezone.utc
NOW = datetime(2000, 1, 1, tzinfo=UTC)  # ignored by the trigger


def trigger(**kwargs) -> CalendarIntervalTrigger:
    kwargs.setdefault("timezone", BERLIN)
    return CalendarIntervalTrigger(**kwargs)


class TestConstruction:
    def test_slots(self):
        assert CalendarIntervalTrigger.__slots__ == (
            "_time",
            "days",
            "end_date",
            "jitter",
            "months",
            "start_date",
            "timezone",
            "weeks",
            "years",
        )

    def test_keyword_only(self):
        with pytest.raises(TypeError):
            CalendarIntervalTrigger(1)  # type: ignore[misc]

    def test_empty_interval(self):
        with pytest.raises(ValueError) as exc:
            trigger()
        assert str(exc.value) == "interval must be at least 1 day long"

    def test_end_before_start(self):
        with pytest.raises(ValueError) as exc:
            trigger(days=1, start_date="2020-05-16", end_date="2020-05-15")
        assert str(exc.value).startswith("end_date cannot be earlier than start_date")
        assert "2020-05-15" in str(exc.value) and "2020-05-16" in str(exc.value)

    def test_dates_from_strings(self):
        instance = trigger(days=1, start_date="2020-05-16", end_date=date(2020, 6, 1))
        assert instance.start_date == date(2020, 5, 16)
        assert instance.end_date == date(2020, 6, 1)

    def test_start_date_defaults_to_today(self):
        assert trigger(days=1).start_date == date.today()

    def test_time_and_zone(self):
        instance = trigger(
            days=1, hour=3, minute=4, second=5, timezone="Europe/Berlin", start_date="2020-01-01"
        )
        assert instance.timezone == BERLIN
        first = instance.get_next_fire_time(None, datetime(2020, 1, 1, tzinfo=BERLIN))
        assert first == datetime(2020, 1, 1, 3, 4, 5, tzinfo=BERLIN)
        assert first.tzinfo is BERLIN

    def test_local_zone(self, monkeypatch):
        monkeypatch.setattr(calendarinterval_module, "get_localzone", lambda: BERLIN)
        assert CalendarIntervalTrigger(days=1).timezone is BERLIN


class TestGetNextFireTime:
    def test_first_is_start_date_even_in_the_past(self):
        instance = trigger(days=1, hour=1, start_date=date(2020, 5, 16))
        assert instance.get_next_fire_time(None, datetime(2024, 1, 1, tzinfo=UTC)) == datetime(
            2020, 5, 16, 1, tzinfo=BERLIN
        )

    def test_end_date(self):
        instance = trigger(days=1, hour=1, start_date="2020-05-16", end_date="2020-05-17")
        first = instance.get_next_fire_time(None, NOW)
        assert first == datetime(2020, 5, 16, 1, tzinfo=BERLIN)
        second = instance.get_next_fire_time(first, NOW)
        assert second == datetime(2020, 5, 17, 1, tzinfo=BERLIN)
        assert instance.get_next_fire_time(second, NOW) is None

    def test_weeks_and_days(self):
        instance = trigger(weeks=1, days=2, hour=12, start_date="2024-02-20")
        previous = datetime(2024, 2, 20, 12, tzinfo=BERLIN)
        assert instance.get_next_fire_time(previous, NOW) == datetime(
            2024, 2, 29, 12, tzinfo=BERLIN
        )

    def test_nonexistent_days_are_skipped(self):
        instance = trigger(months=1, start_date=date(2016, 3, 31))
        first = instance.get_next_fire_time(None, NOW)
        assert first == datetime(2016, 3, 31, tzinfo=BERLIN)
        assert instance.get_next_fire_time(first, NOW) == datetime(2016, 5, 31, tzinfo=BERLIN)

    def test_leap_day_yearly(self):
        instance = trigger(years=1, start_date=date(2096, 2, 29))
        previous = datetime(2096, 2, 29, tzinfo=BERLIN)
        assert instance.get_next_fire_time(previous, NOW) == datetime(2104, 2, 29, tzinfo=BERLIN)

    def test_months_and_years_carry(self):
        instance = trigger(years=1, months=11, start_date=date(2020, 3, 15))
        previous = datetime(2020, 3, 15, tzinfo=BERLIN)
        assert instance.get_next_fire_time(previous, NOW) == datetime(2022, 2, 15, tzinfo=BERLIN)

    def test_missing_time_skips_the_day(self):
        instance = trigger(days=1, hour=2, minute=30, start_date=date(2016, 3, 27))
        assert instance.get_next_fire_time(None, NOW) == datetime(2016, 3, 28, 2, 30, tzinfo=BERLIN)

    def test_repeated_time_fires_at_first_occurrence(self):
        instance = trigger(days=1, hour=2, minute=30, start_date=date(2016, 10, 30))
        result = instance.get_next_fire_time(None, NOW)
        assert result.fold == 0
        assert result.timestamp() == datetime(2016, 10, 30, 0, 30, tzinfo=UTC).timestamp()

    def test_previous_in_another_zone(self):
        tokyo = ZoneInfo("Asia/Tokyo")
        instance = trigger(days=1, hour=8, start_date="2024-01-01", timezone=tokyo)
        previous = datetime(2024, 1, 1, 8, tzinfo=tokyo).astimezone(UTC)  # Dec 31 in UTC
        assert instance.get_next_fire_time(previous, NOW) == datetime(2024, 1, 2, 8, tzinfo=tokyo)

    def test_year_9999_ends(self):
        instance = trigger(years=1, start_date=date(9999, 6, 1), timezone=UTC)
        previous = datetime(9999, 6, 1, tzinfo=UTC)
        assert instance.get_next_fire_time(previous, NOW) is None
        instance = trigger(days=1, start_date=date(9999, 12, 31), timezone=UTC)
        assert instance.get_next_fire_time(datetime(9999, 12, 31, tzinfo=UTC), NOW) is None

    def test_jitter_is_elapsed_time(self, monkeypatch):
        monkeypatch.setattr(random, "uniform", lambda low, high: high)
        instance = trigger(days=1, hour=2, minute=30, start_date="2016-10-30", jitter=60)
        result = instance.get_next_fire_time(None, NOW)
        assert result.timestamp() == datetime(2016, 10, 30, 0, 31, tzinfo=UTC).timestamp()
        assert result.tzinfo is BERLIN

    def test_jitter_across_midnight_keeps_the_schedule(self, monkeypatch):
        monkeypatch.setattr(random, "uniform", lambda low, high: high)
        instance = trigger(days=1, hour=23, minute=59, start_date="2024-01-01", jitter=120)
        first = instance.get_next_fire_time(None, NOW)
        assert first == datetime(2024, 1, 2, 0, 1, tzinfo=BERLIN)
        second = instance.get_next_fire_time(first, NOW)
        assert second == datetime(2024, 1, 3, 0, 1, tzinfo=BERLIN)


class TestStateAndRepr:
    def test_state(self):
        instance = trigger(
            years=1,
            months=5,
            weeks=6,
            days=8,
            hour=3,
            second=8,
            start_date="2016-03-05",
            end_date="2020-12-25",
            jitter=3,
        )
        assert instance.__getstate__() == {
            "version": 1,
            "interval": [1, 5, 6, 8],
            "time": [3, 0, 8],
            "start_date": date(2016, 3, 5),
            "end_date": date(2020, 12, 25),
            "timezone": BERLIN,
            "jitter": 3,
        }
        restored = pickle.loads(pickle.dumps(instance))
        assert repr(restored) == repr(instance)
        assert restored.jitter == 3

    def test_setstate_too_new(self):
        instance = CalendarIntervalTrigger.__new__(CalendarIntervalTrigger)
        with pytest.raises(ValueError) as exc:
            instance.__setstate__({"version": 2})
        assert str(exc.value) == (
            "Got serialized data for version 2 of CalendarIntervalTrigger, but only versions up "
            "to 1 can be handled"
        )

    def test_repr(self):
        instance = trigger(
            years=1,
            months=5,
            weeks=6,
            days=8,
            hour=3,
            second=8,
            start_date=date(2016, 3, 5),
            end_date=date(2020, 12, 25),
        )
        assert repr(instance) == (
            "CalendarIntervalTrigger(years=1, months=5, weeks=6, days=8, time='03:00:08', "
            "start_date='2016-03-05', end_date='2020-12-25', timezone='Europe/Berlin')"
        )
        assert str(instance) == repr(instance)

    def test_repr_utc(self):
        instance = trigger(days=1, hour=1, start_date=date(2016, 3, 31), timezone=UTC)
        assert repr(instance) == (
            "CalendarIntervalTrigger(days=1, time='01:00:00+00:00', start_date='2016-03-31', "
            "timezone='datetime.timezone.utc')"
        )


# --- property test against a reference -----------------------------------------------------------

ZONES = ["Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "America/Havana"]
ZONES += ["Pacific/Chatham", "America/Santiago", "Asia/Tehran", "Europe/London", "UTC"]


def reference_dates(years, months, weeks, days, start: date, count: int):
    """Candidate dates by definition: keep the day of the month, add years and months until the
    date exists, then add the weeks and days."""
    current = start
    yield current
    for _ in range(count * 3):
        year, month = current.year, current.month
        while True:
            month += months
            year += years + (month - 1) // 12
            month = (month - 1) % 12 + 1
            if current.day <= calendar.monthrange(year, month)[1]:
                break
        current = date(year, month, current.day) + timedelta(days=days + weeks * 7)
        yield current


def reference_instant(tz, day: date, hour: int, minute: int, second: int):
    """The first instant whose wall-clock reading is ``day`` at the given time, or None."""
    wall = datetime.combine(day, time(hour, minute, second)).replace(tzinfo=UTC).timestamp()
    offsets = {
        datetime.fromtimestamp(wall + shift * 3600, tz).utcoffset() for shift in range(-40, 41)
    }
    candidates = [
        wall - offset.total_seconds()
        for offset in offsets
        if datetime.fromtimestamp(wall - offset.total_seconds(), tz).replace(tzinfo=None)
        == datetime.combine(day, time(hour, minute, second))
    ]
    return min(candidates) if candidates else None


@settings(max_examples=max(10, settings.default.max_examples // 2))
@given(
    zone=st.sampled_from(ZONES),
    interval=st.tuples(
        st.integers(0, 2), st.integers(0, 13), st.integers(0, 3), st.integers(0, 40)
    ).filter(lambda parts: any(parts)),
    clock=st.tuples(st.integers(0, 23), st.sampled_from([0, 15, 30, 45]), st.integers(0, 59)),
    start=st.dates(date(1990, 1, 1), date(2060, 12, 31)),
)
def test_matches_reference(zone, interval, clock, start):
    tz = ZoneInfo(zone) if zone != "UTC" else UTC
    years, months, weeks, days = interval
    hour, minute, second = clock
    instance = CalendarIntervalTrigger(
        years=years,
        months=months,
        weeks=weeks,
        days=days,
        hour=hour,
        minute=minute,
        second=second,
        start_date=start,
        timezone=tz,
    )
    expected = []
    for day in reference_dates(years, months, weeks, days, start, 6):
        instant = reference_instant(tz, day, hour, minute, second)
        if instant is not None:
            expected.append(instant)
        if len(expected) == 6:
            break
    note(f"expected={expected}")
    fire_time = instance.get_next_fire_time(None, NOW)
    for instant in expected:
        assert fire_time is not None and fire_time.timestamp() == instant
        assert (fire_time.hour, fire_time.minute, fire_time.second) == clock
        assert fire_time.tzinfo is tz
        fire_time = instance.get_next_fire_time(fire_time, NOW)


class TestValidation:
    @pytest.mark.parametrize("unit", ["years", "months", "weeks", "days"])
    def test_negative_counts_are_refused(self, unit: str) -> None:
        with pytest.raises(
            ValueError, match=rf"^CalendarIntervalTrigger: {unit} must be an integer >= 0, got -1$"
        ):
            trigger(**{unit: -1})

    @pytest.mark.parametrize("value", ["x", 1.5, True, None])
    def test_non_integer_counts_are_type_errors(self, value: object) -> None:
        with pytest.raises(
            TypeError, match=r"CalendarIntervalTrigger: months must be an integer, got"
        ):
            trigger(months=value)

    @pytest.mark.parametrize(
        "unit, value, limit", [("years", 10000, 9999), ("days", 10**9, 999999999)]
    )
    def test_huge_counts_name_the_maximum(self, unit: str, value: int, limit: int) -> None:
        with pytest.raises(ValueError, match=rf"{unit}={value} is too long: at most {limit}"):
            trigger(**{unit: value})

    @pytest.mark.parametrize(
        "unit, value", [("hour", 24), ("hour", -1), ("minute", 60), ("second", 60)]
    )
    def test_time_of_day_out_of_range(self, unit: str, value: int) -> None:
        with pytest.raises(ValueError, match=rf"{unit} must be between 0 and \d\d, got {value}"):
            trigger(days=1, **{unit: value})

    def test_time_of_day_of_the_wrong_type(self) -> None:
        with pytest.raises(TypeError, match=r"hour must be an integer, got '9' \(str\)"):
            trigger(days=1, hour="9")

    @pytest.mark.parametrize(
        "value, error, words",
        [
            (
                "garbage",
                ValueError,
                "start_date must be an ISO 8601 date such as '2030-01-31', got 'garbage'",
            ),
            (
                20300101,
                TypeError,
                "start_date must be a date or ISO 8601 date text, got 20300101 (int)",
            ),
        ],
    )
    def test_bad_start_dates(self, value: object, error: type, words: str) -> None:
        with pytest.raises(error) as exc:
            trigger(days=1, start_date=value)
        assert words in str(exc.value)

    def test_bad_jitter(self) -> None:
        with pytest.raises(ValueError, match="jitter must be None or a finite number >= 0, got -1"):
            trigger(days=1, jitter=-1)

    @pytest.mark.parametrize(
        "change, message",
        [
            ({"interval": [0, 0, 0, 0]}, "the interval is empty"),
            ({"interval": [0, -1, 0, 1]}, "months must be an integer >= 0, got -1"),
            ({"interval": [1, 2]}, "interval must be [years, months, weeks, days]"),
            ({"time": [24, 0, 0]}, "hour must be between 0 and 23, got 24"),
            ({"time": "03:00"}, "time must be [hour, minute, second]"),
            ({"start_date": "2030-01-01"}, "start_date must be a date, got '2030-01-01'"),
            ({"end_date": 5}, "end_date must be a date or None, got 5"),
            ({"jitter": -1}, "jitter must be None or a finite number >= 0, got -1"),
            ({"timezone": "Nowhere/Zone"}, "timezone 'Nowhere/Zone' is not a time zone"),
        ],
    )
    def test_a_damaged_state_is_refused(self, change: dict[str, object], message: str) -> None:
        state = trigger(days=1, start_date="2030-01-01").__getstate__()
        state.update(change)
        with pytest.raises(ValueError, match="Cannot restore a CalendarIntervalTrigger") as exc:
            CalendarIntervalTrigger.__new__(CalendarIntervalTrigger).__setstate__(state)
        assert message in str(exc.value)
