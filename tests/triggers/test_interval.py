"""Tests for ``quartzite.triggers.interval.IntervalTrigger`` (API contract §4.3), and for the
trigger base class ``quartzite.triggers.base.BaseTrigger`` (§4.1)."""

from __future__ import annotations

import pickle
import random
import re
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from quartzite.triggers.base import BaseTrigger
from quartzite.triggers.interval import IntervalTrigger
from support import FakeClock, install_fake_clock

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
HELSINKI = ZoneInfo("Europe/Helsinki")
UTC = timezone.utc
START = datetime(2009, 8, 4, 10, 0, 0, tzinfo=BERLIN)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    return install_fake_clock(monkeypatch, datetime(2011, 4, 3, 16, 40, 5, 123456, tzinfo=UTC))


@pytest.fixture
def local_zone(monkeypatch: pytest.MonkeyPatch) -> ZoneInfo:
    monkeypatch.setattr("quartzite.triggers.interval.get_localzone", lambda: HELSINKI)
    return HELSINKI


def in_utc(values: list[datetime | None]) -> list[datetime | None]:
    return [value.astimezone(UTC) if value else value for value in values]


class TestBaseTrigger:
    class NeverTrigger(BaseTrigger):
        def get_next_fire_time(
            self, previous_fire_time: datetime | None, now: datetime
        ) -> datetime | None:
            return None

    def test_abstract(self) -> None:
        with pytest.raises(TypeError):
            BaseTrigger()  # type: ignore[abstract]

    def test_subclass_must_implement_get_next_fire_time(self) -> None:
        class Incomplete(BaseTrigger):
            pass

        with pytest.raises(TypeError):
            Incomplete()  # type: ignore[abstract]

    def test_slots(self) -> None:
        assert BaseTrigger.__slots__ == ()

    def test_jitter_none_or_zero(self) -> None:
        trigger = self.NeverTrigger()
        for jitter in (None, 0, 0.0):
            assert trigger._apply_jitter(START, jitter, START) is START

    def test_jitter_without_fire_time(self) -> None:
        assert self.NeverTrigger()._apply_jitter(None, 5, START) is None

    def test_jitter_uses_uniform_between_zero_and_jitter(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        calls: list[tuple[float, float]] = []

        def uniform(low: float, high: float) -> float:
            calls.append((low, high))
            return 2.5

        monkeypatch.setattr(random, "uniform", uniform)
        result = self.NeverTrigger()._apply_jitter(START, 5, START)
        assert calls == [(0, 5)]
        assert result == START + timedelta(seconds=2.5)
        assert result.tzinfo is BERLIN

    def test_jitter_bounds(self) -> None:
        trigger = self.NeverTrigger()
        results = {trigger._apply_jitter(START, 2, START) for _ in range(200)}
        assert all(START <= result <= START + timedelta(seconds=2) for result in results)
        assert len(results) > 1


class TestConstruction:
    def test_interval(self) -> None:
        trigger = IntervalTrigger(
            weeks=1, days=2, hours=3, minutes=4, seconds=5.5, start_date=START
        )
        assert trigger.interval == timedelta(weeks=1, days=2, hours=3, minutes=4, seconds=5.5)
        assert trigger.interval_length == 788645.5

    def test_fractional_units(self) -> None:
        trigger = IntervalTrigger(hours=0.5, start_date=START)
        assert trigger.interval == timedelta(minutes=30)
        assert trigger.interval_length == 1800

    def test_zero_interval_becomes_one_second(self) -> None:
        trigger = IntervalTrigger(start_date=START)
        assert trigger.interval == timedelta(seconds=1)
        assert trigger.interval_length == 1

    def test_non_numeric_interval(self) -> None:
        with pytest.raises(TypeError):
            IntervalTrigger(seconds="5", start_date=START)  # type: ignore[arg-type]

    def test_slots(self) -> None:
        assert set(IntervalTrigger.__slots__) == {
            "end_date",
            "interval",
            "interval_length",
            "jitter",
            "start_date",
            "timezone",
        }
        assert not hasattr(IntervalTrigger(start_date=START), "__dict__")

    def test_timezone_argument(self) -> None:
        trigger = IntervalTrigger(seconds=1, start_date="2009-08-04 10:00:00", timezone=NEW_YORK)
        assert trigger.timezone is NEW_YORK
        assert trigger.start_date == datetime(2009, 8, 4, 10, tzinfo=NEW_YORK)

    def test_timezone_name(self) -> None:
        trigger = IntervalTrigger(seconds=1, start_date=START, timezone="America/New_York")
        assert trigger.timezone is NEW_YORK

    def test_timezone_argument_wins_over_start_date(self) -> None:
        trigger = IntervalTrigger(seconds=1, start_date=START, timezone=NEW_YORK)
        assert trigger.timezone is NEW_YORK
        assert trigger.start_date is START  # aware dates are not converted

    def test_pytz_timezone_converted(self) -> None:
        pytz = pytest.importorskip("pytz")
        trigger = IntervalTrigger(seconds=1, start_date=START, timezone=pytz.timezone("Asia/Tokyo"))
        assert trigger.timezone is ZoneInfo("Asia/Tokyo")

    def test_timezone_from_start_date(self) -> None:
        start = datetime(2009, 8, 4, 10, tzinfo=NEW_YORK)
        trigger = IntervalTrigger(seconds=1, start_date=start)
        assert trigger.timezone is NEW_YORK

    def test_timezone_from_end_date(self) -> None:
        end = datetime(2009, 8, 5, tzinfo=NEW_YORK)
        trigger = IntervalTrigger(seconds=1, start_date=datetime(2009, 8, 4, 10), end_date=end)
        assert trigger.timezone is NEW_YORK
        assert trigger.start_date == datetime(2009, 8, 4, 10, tzinfo=NEW_YORK)

    def test_timezone_from_pytz_start_date(self) -> None:
        pytz = pytest.importorskip("pytz")
        start = pytz.timezone("America/New_York").localize(datetime(2009, 8, 4, 10))
        trigger = IntervalTrigger(seconds=1, start_date=start)
        assert trigger.timezone is NEW_YORK

    def test_fixed_offset_start_date(self) -> None:
        tz = timezone(timedelta(hours=-3))
        trigger = IntervalTrigger(seconds=1, start_date=datetime(2009, 8, 4, tzinfo=tz))
        assert trigger.timezone is tz

    def test_local_timezone_by_default(self, local_zone: ZoneInfo) -> None:
        trigger = IntervalTrigger(seconds=1, start_date="2009-08-04 10:00:00")
        assert trigger.timezone is local_zone
        assert trigger.start_date == datetime(2009, 8, 4, 10, tzinfo=local_zone)

    def test_default_start_date(self, clock: FakeClock) -> None:
        trigger = IntervalTrigger(minutes=5, timezone=BERLIN)
        assert trigger.start_date == clock.instant + timedelta(minutes=5)
        assert trigger.start_date.tzinfo is BERLIN

    def test_default_start_date_local_zone(self, clock: FakeClock, local_zone: ZoneInfo) -> None:
        trigger = IntervalTrigger(seconds=10)
        assert trigger.timezone is local_zone
        assert trigger.start_date == clock.instant + timedelta(seconds=10)
        assert trigger.start_date.tzinfo is local_zone

    def test_timezone_from_dates_with_frozen_clock(self, clock: FakeClock) -> None:
        """The clock stand-in offers only now() (contract §10): the isinstance checks that pick
        the zone of an aware start or end date must not go through it."""
        start = datetime(2009, 8, 4, 10, tzinfo=NEW_YORK)
        assert IntervalTrigger(seconds=1, start_date=start).timezone is NEW_YORK
        end = datetime(2009, 8, 4, 10, tzinfo=BERLIN)
        assert IntervalTrigger(seconds=1, end_date=end).timezone is BERLIN

    def test_dates_converted(self) -> None:
        trigger = IntervalTrigger(
            seconds=1, start_date="2009-08-04", end_date="2009-08-05 12:00:00", timezone=BERLIN
        )
        assert trigger.start_date == datetime(2009, 8, 4, tzinfo=BERLIN)
        assert trigger.end_date == datetime(2009, 8, 5, 12, tzinfo=BERLIN)
        assert trigger.end_date.tzinfo is BERLIN

    def test_end_date_defaults_to_none(self) -> None:
        assert IntervalTrigger(seconds=1, start_date=START).end_date is None

    def test_invalid_start_date(self) -> None:
        with pytest.raises(ValueError, match=r"^Invalid date string"):
            IntervalTrigger(seconds=1, start_date="yesterday", timezone=BERLIN)

    def test_jitter_stored(self) -> None:
        assert IntervalTrigger(seconds=1, start_date=START).jitter is None
        assert IntervalTrigger(seconds=1, start_date=START, jitter=5).jitter == 5


class TestGetNextFireTime:
    @pytest.fixture
    def trigger(self) -> IntervalTrigger:
        return IntervalTrigger(seconds=3, start_date=START)

    def test_before_start(self, trigger: IntervalTrigger) -> None:
        now = START - timedelta(days=3)
        assert trigger.get_next_fire_time(None, now) == START

    def test_at_start(self, trigger: IntervalTrigger) -> None:
        assert trigger.get_next_fire_time(None, START) == START

    def test_due_now_returned_as_is(self, trigger: IntervalTrigger) -> None:
        now = START + timedelta(seconds=9)
        assert trigger.get_next_fire_time(None, now) == now

    @pytest.mark.parametrize(
        ("elapsed", "expected"),
        [
            (timedelta(microseconds=1), timedelta(seconds=3)),
            (timedelta(seconds=1), timedelta(seconds=3)),
            (timedelta(seconds=3, microseconds=1), timedelta(seconds=6)),
            (timedelta(seconds=5, microseconds=999999), timedelta(seconds=6)),
            (timedelta(days=1, seconds=1), timedelta(days=1, seconds=3)),
        ],
    )
    def test_rounds_up_to_next_interval(
        self, trigger: IntervalTrigger, elapsed: timedelta, expected: timedelta
    ) -> None:
        assert trigger.get_next_fire_time(None, START + elapsed) == START + expected

    def test_previous_fire_time(self, trigger: IntervalTrigger) -> None:
        previous = START + timedelta(seconds=3)
        # the previous fire time alone decides, whatever "now" is
        assert trigger.get_next_fire_time(previous, START + timedelta(hours=1)) == previous + (
            timedelta(seconds=3)
        )
        assert trigger.get_next_fire_time(previous, START) == previous + timedelta(seconds=3)

    def test_result_in_trigger_timezone(self, trigger: IntervalTrigger) -> None:
        now = datetime(2009, 8, 4, 8, 0, 1, tzinfo=UTC)  # 10:00:01 in Berlin
        result = trigger.get_next_fire_time(None, now)
        assert result == START + timedelta(seconds=3)
        assert result.tzinfo is BERLIN
        result = trigger.get_next_fire_time(now, now)
        assert result.tzinfo is BERLIN

    def test_end_date_inclusive(self) -> None:
        end = START + timedelta(seconds=6)
        trigger = IntervalTrigger(seconds=3, start_date=START, end_date=end)
        assert trigger.get_next_fire_time(START + timedelta(seconds=3), START) == end
        assert trigger.get_next_fire_time(end, end) is None
        assert trigger.get_next_fire_time(None, end + timedelta(microseconds=1)) is None

    def test_start_after_end_is_refused_naming_both_dates(self) -> None:
        # (APScheduler accepts this and never fires; the contract does not fix that.)
        with pytest.raises(
            ValueError, match=r"end_date \(2009-.*\) cannot be earlier than start_date"
        ):
            IntervalTrigger(seconds=3, start_date=START, end_date=START - timedelta(days=1))

    def test_restored_start_after_end_never_fires(self) -> None:
        trigger = IntervalTrigger(seconds=3, start_date=START)
        state = trigger.__getstate__()
        state["end_date"] = START - timedelta(days=1)
        trigger.__setstate__(state)
        assert trigger.get_next_fire_time(None, START - timedelta(days=2)) is None

    def test_jitter(self, monkeypatch: pytest.MonkeyPatch) -> None:
        calls: list[tuple[float, float]] = []

        def uniform(low: float, high: float) -> float:
            calls.append((low, high))
            return high

        monkeypatch.setattr(random, "uniform", uniform)
        trigger = IntervalTrigger(seconds=10, start_date=START, jitter=4)
        result = trigger.get_next_fire_time(START, START)
        assert result == START + timedelta(seconds=14)
        assert result.tzinfo is BERLIN
        assert calls == [(0, 4)]

    def test_jitter_applied_before_end_date_check(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr(random, "uniform", lambda low, high: high)
        end = START + timedelta(seconds=12)
        trigger = IntervalTrigger(seconds=10, start_date=START, end_date=end, jitter=4)
        assert trigger.get_next_fire_time(START, START) is None

    def test_jitter_is_elapsed_time_in_repeated_hour(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr(random, "uniform", lambda low, high: 0.5)
        start = datetime(2013, 11, 3, 0, 30, tzinfo=NEW_YORK)
        trigger = IntervalTrigger(hours=1, start_date=start, jitter=1)
        previous = datetime(2013, 11, 3, 1, 30, tzinfo=NEW_YORK)  # EDT, first 01:30
        result = trigger.get_next_fire_time(previous, previous)
        # one hour (plus the jitter) after the previous fire time: 01:30:00.5 EST
        assert result.astimezone(UTC) == datetime(2013, 11, 3, 6, 30, 0, 500000, tzinfo=UTC)
        assert result.fold == 1

    def test_jitter_random_bounds(self) -> None:
        trigger = IntervalTrigger(seconds=10, start_date=START, jitter=1)
        expected = START + timedelta(seconds=10)
        for _ in range(100):
            result = trigger.get_next_fire_time(START, START)
            assert expected <= result <= expected + timedelta(seconds=1)

    def test_microsecond_precision_far_in_the_future(self) -> None:
        start = datetime(9000, 1, 1, 0, 0, 0, 123457, tzinfo=UTC)
        trigger = IntervalTrigger(seconds=1, start_date=start)
        now = start + timedelta(days=3, microseconds=1)
        result = trigger.get_next_fire_time(None, now)
        assert result == start + timedelta(days=3, seconds=1)
        assert result.microsecond == 123457
        assert trigger.get_next_fire_time(result, now) == result + timedelta(seconds=1)

    def test_elapsed_time_across_spring_forward(self) -> None:
        start = datetime(2013, 3, 10, 0, 30, tzinfo=NEW_YORK)
        trigger = IntervalTrigger(hours=1, start_date=start)
        fire_times = [start]
        for _ in range(3):
            fire_times.append(trigger.get_next_fire_time(fire_times[-1], start))
        assert [value.replace(tzinfo=None) for value in fire_times] == [
            datetime(2013, 3, 10, 0, 30),
            datetime(2013, 3, 10, 1, 30),
            datetime(2013, 3, 10, 3, 30),  # 02:30 does not exist
            datetime(2013, 3, 10, 4, 30),
        ]
        assert all(value.tzinfo is NEW_YORK for value in fire_times)

    def test_elapsed_time_across_fall_back(self) -> None:
        start = datetime(2013, 11, 3, 0, 30, tzinfo=NEW_YORK)
        trigger = IntervalTrigger(hours=1, start_date=start)
        fire_times = [start]
        for _ in range(3):
            fire_times.append(trigger.get_next_fire_time(fire_times[-1], start))
        assert [value.replace(tzinfo=None) for value in fire_times] == [
            datetime(2013, 11, 3, 0, 30),
            datetime(2013, 11, 3, 1, 30),
            datetime(2013, 11, 3, 1, 30),  # the repeated hour, second occurrence
            datetime(2013, 11, 3, 2, 30),
        ]
        assert [value.fold for value in fire_times] == [0, 0, 1, 0]
        assert in_utc(fire_times) == [
            datetime(2013, 11, 3, 4, 30, tzinfo=UTC) + timedelta(hours=hours) for hours in range(4)
        ]

    def test_first_fire_time_in_repeated_hour(self) -> None:
        start = datetime(2013, 11, 3, 0, 0, tzinfo=NEW_YORK)
        trigger = IntervalTrigger(minutes=20, start_date=start)
        now = datetime(2013, 11, 3, 1, 5, tzinfo=NEW_YORK, fold=1)  # 06:05 UTC
        result = trigger.get_next_fire_time(None, now)
        assert result.astimezone(UTC) == datetime(2013, 11, 3, 6, 20, tzinfo=UTC)
        assert result.replace(tzinfo=None) == datetime(2013, 11, 3, 1, 20)
        assert result.fold == 1

    def test_end_date_compared_in_real_time_across_fold(self) -> None:
        start = datetime(2013, 11, 3, 0, 0, tzinfo=NEW_YORK)
        end = datetime(2013, 11, 3, 1, 50, tzinfo=NEW_YORK)  # first 01:50, EDT
        trigger = IntervalTrigger(minutes=20, start_date=start, end_date=end)
        previous = datetime(2013, 11, 3, 1, 40, tzinfo=NEW_YORK)
        # the next run would be 01:00 EST (fold 1): wall clock earlier, real time later
        assert trigger.get_next_fire_time(previous, previous) is None


class TestState:
    def test_getstate(self) -> None:
        end = START + timedelta(days=1)
        trigger = IntervalTrigger(minutes=5, start_date=START, end_date=end, jitter=3)
        assert trigger.__getstate__() == {
            "version": 2,
            "timezone": BERLIN,
            "start_date": START,
            "end_date": end,
            "interval": timedelta(minutes=5),
            "jitter": 3,
        }

    def test_setstate(self) -> None:
        trigger = IntervalTrigger.__new__(IntervalTrigger)
        trigger.__setstate__(
            {
                "version": 2,
                "timezone": NEW_YORK,
                "start_date": START,
                "end_date": None,
                "interval": timedelta(minutes=2),
                "jitter": 1.5,
            }
        )
        assert trigger.timezone is NEW_YORK
        assert trigger.start_date is START
        assert trigger.end_date is None
        assert trigger.interval == timedelta(minutes=2)
        assert trigger.interval_length == 120
        assert trigger.jitter == 1.5

    def test_setstate_version_1_without_jitter(self) -> None:
        trigger = IntervalTrigger.__new__(IntervalTrigger)
        trigger.__setstate__(
            {
                "version": 1,
                "timezone": BERLIN,
                "start_date": START,
                "end_date": None,
                "interval": timedelta(seconds=30),
            }
        )
        assert trigger.jitter is None
        assert trigger.interval_length == 30
        assert trigger.get_next_fire_time(START, START) == START + timedelta(seconds=30)

    def test_setstate_3_0_tuple(self) -> None:
        trigger = IntervalTrigger.__new__(IntervalTrigger)
        trigger.__setstate__(
            (
                None,
                {
                    "timezone": BERLIN,
                    "start_date": START,
                    "end_date": None,
                    "interval": timedelta(hours=1),
                },
            )
        )
        assert trigger.interval_length == 3600
        assert trigger.jitter is None

    def test_setstate_pytz_timezone(self) -> None:
        """Old states holding pytz zones are converted (APScheduler keeps the pytz zone)."""
        pytz = pytest.importorskip("pytz")
        trigger = IntervalTrigger.__new__(IntervalTrigger)
        trigger.__setstate__(
            {
                "version": 2,
                "timezone": pytz.timezone("Europe/Helsinki"),
                "start_date": START,
                "end_date": None,
                "interval": timedelta(hours=1),
                "jitter": None,
            }
        )
        assert trigger.timezone is HELSINKI

    def test_setstate_newer_version(self) -> None:
        trigger = IntervalTrigger.__new__(IntervalTrigger)
        with pytest.raises(ValueError) as exc:
            trigger.__setstate__({"version": 3})
        assert str(exc.value) == (
            "Got serialized data for version 3 of IntervalTrigger, but only versions up to 2 "
            "can be handled"
        )

    def test_pickle_round_trip(self) -> None:
        trigger = IntervalTrigger(
            hours=1, start_date=START, end_date=START + timedelta(days=2), jitter=2
        )
        restored = pickle.loads(pickle.dumps(trigger))
        assert restored.__getstate__() == trigger.__getstate__()
        assert restored.interval_length == 3600
        assert restored.timezone is BERLIN
        assert repr(restored) == repr(trigger)


class TestReprs:
    @pytest.mark.parametrize(
        ("kwargs", "expected"),
        [
            ({"seconds": 30}, "interval[0:00:30]"),
            ({"days": 1, "hours": 2, "minutes": 3, "seconds": 4}, "interval[1 day, 2:03:04]"),
            ({"weeks": 2}, "interval[14 days, 0:00:00]"),
            ({"seconds": 1.5}, "interval[0:00:01.500000]"),
            ({}, "interval[0:00:01]"),
        ],
    )
    def test_str(self, kwargs: dict[str, float], expected: str) -> None:
        assert str(IntervalTrigger(start_date=START, **kwargs)) == expected

    def test_repr(self) -> None:
        trigger = IntervalTrigger(hours=1, start_date=datetime(2009, 11, 6, 10), timezone=BERLIN)
        assert repr(trigger) == (
            "<IntervalTrigger (interval=datetime.timedelta(seconds=3600), "
            "start_date='2009-11-06 10:00:00 CET', timezone='Europe/Berlin')>"
        )

    def test_repr_with_end_date_and_jitter(self) -> None:
        trigger = IntervalTrigger(
            minutes=1,
            seconds=30,
            start_date="2009-11-06 10:00:00",
            end_date="2009-11-07 23:59:59",
            timezone=NEW_YORK,
            jitter=12,
        )
        assert repr(trigger) == (
            "<IntervalTrigger (interval=datetime.timedelta(seconds=90), "
            "start_date='2009-11-06 10:00:00 EST', end_date='2009-11-07 23:59:59 EST', "
            "jitter=12, timezone='America/New_York')>"
        )

    def test_repr_zero_jitter_omitted(self) -> None:
        trigger = IntervalTrigger(days=1, start_date=START, jitter=0)
        assert "jitter" not in repr(trigger)

    def test_repr_fixed_offset(self) -> None:
        tz = timezone(timedelta(hours=2))
        trigger = IntervalTrigger(seconds=5, start_date=datetime(2009, 11, 6, 10, tzinfo=tz))
        assert repr(trigger) == (
            "<IntervalTrigger (interval=datetime.timedelta(seconds=5), "
            "start_date='2009-11-06 10:00:00 UTC+02:00', timezone='UTC+02:00')>"
        )

    def test_repr_utc(self) -> None:
        trigger = IntervalTrigger(seconds=5, start_date="2009-11-06 10:00:00", timezone="UTC")
        assert repr(trigger).endswith("start_date='2009-11-06 10:00:00 UTC', timezone='UTC')>")


class TestValidation:
    """Bad arguments and damaged states are refused with messages naming them (issue 8)."""

    @pytest.mark.parametrize("unit", ["weeks", "days", "hours", "minutes", "seconds"])
    @pytest.mark.parametrize("value", [-1, -0.5, float("inf"), float("nan")])
    def test_negative_or_non_finite_counts_are_refused(self, unit: str, value: float) -> None:
        with pytest.raises(ValueError) as exc:
            IntervalTrigger(**{unit: value}, start_date=START)  # type: ignore[arg-type]
        assert str(exc.value) == (
            f"IntervalTrigger: {unit} must be a finite number >= 0, got {value!r}"
        )

    @pytest.mark.parametrize("value", ["x", None, [1], True])
    def test_non_numeric_counts_are_type_errors(self, value: object) -> None:
        with pytest.raises(
            TypeError,
            match=rf"IntervalTrigger: minutes must be a number, got {re.escape(repr(value))}",
        ):
            IntervalTrigger(minutes=value, start_date=START)  # type: ignore[arg-type]

    def test_too_long_an_interval_names_the_unit_value_and_maximum(self) -> None:
        with pytest.raises(
            ValueError, match=r"days=1000000000 is too long: at most 999999999 days"
        ):
            IntervalTrigger(days=10**9, start_date=START)
        with pytest.raises(ValueError, match=r"\(weeks=142857142, days=999999999\) is too long"):
            IntervalTrigger(weeks=142857142, days=999999999, start_date=START)

    def test_an_interval_too_long_for_a_default_start_date_is_a_value_error(
        self, clock: FakeClock
    ) -> None:
        with pytest.raises(ValueError, match="past the year 9999"):
            IntervalTrigger(days=999999999)

    def test_the_schedule_ends_instead_of_overflowing_past_the_year_9999(self) -> None:
        trigger = IntervalTrigger(days=999999, start_date=START)
        previous = datetime(7485, 5, 26, 10, tzinfo=BERLIN)  # the last fire time before 9999
        assert trigger.get_next_fire_time(START, START) == datetime(4747, 7, 1, 10, tzinfo=BERLIN)
        assert trigger.get_next_fire_time(previous, previous) is None

    @pytest.mark.parametrize(
        "counts", [{}, {"seconds": 0}, {"seconds": 1e-9}, {"minutes": 0, "seconds": 1e-7}]
    )
    def test_an_empty_interval_becomes_one_second_with_a_warning(
        self, counts: dict[str, float], caplog: pytest.LogCaptureFixture
    ) -> None:
        caplog.set_level("WARNING", logger="quartzite.triggers.interval")
        trigger = IntervalTrigger(**counts, start_date=START)  # type: ignore[arg-type]
        assert trigger.interval == timedelta(seconds=1)
        assert trigger.interval_length == 1
        [record] = caplog.records
        assert record.name == "quartzite.triggers.interval"
        assert record.levelname == "WARNING"
        assert "using 1 second instead" in record.getMessage()
        for unit, count in counts.items():
            if count:
                assert f"{unit}={count!r}" in record.getMessage()

    def test_one_microsecond_is_kept_without_a_warning(
        self, caplog: pytest.LogCaptureFixture
    ) -> None:
        trigger = IntervalTrigger(seconds=1e-6, start_date=START)
        assert trigger.interval == timedelta(microseconds=1)
        assert trigger.get_next_fire_time(START, START) == START + timedelta(microseconds=1)
        assert not caplog.records

    @pytest.mark.parametrize("jitter", [-5, -0.1, float("inf"), float("nan")])
    def test_bad_jitter_values_are_refused(self, jitter: float) -> None:
        with pytest.raises(ValueError, match="IntervalTrigger: jitter must be None or a finite"):
            IntervalTrigger(seconds=1, start_date=START, jitter=jitter)

    @pytest.mark.parametrize("jitter", ["x", True, [1]])
    def test_non_numeric_jitter_is_a_type_error(self, jitter: object) -> None:
        with pytest.raises(
            TypeError,
            match=rf"jitter must be None or a number of seconds, got {re.escape(repr(jitter))}",
        ):
            IntervalTrigger(seconds=1, start_date=START, jitter=jitter)  # type: ignore[arg-type]

    def test_zero_jitter_is_accepted(self) -> None:
        trigger = IntervalTrigger(seconds=1, start_date=START, jitter=0)
        assert trigger.get_next_fire_time(None, START) == START

    def test_bad_start_date_text_names_the_argument(self) -> None:
        with pytest.raises(ValueError, match=r"^Invalid date string") as exc:
            IntervalTrigger(seconds=1, start_date="yesterday", timezone=BERLIN)
        assert "start_date" in str(exc.value) and "'yesterday'" in str(exc.value)

    def test_an_end_date_without_a_start_date_may_be_in_the_past(self, clock: FakeClock) -> None:
        trigger = IntervalTrigger(seconds=5, end_date=datetime(2000, 1, 1, tzinfo=UTC))
        assert trigger.get_next_fire_time(None, clock.now(UTC)) is None

    @pytest.mark.parametrize(
        "change, message",
        [
            (
                {"interval": timedelta(0)},
                "interval must be a positive timedelta, got datetime.timedelta(0)",
            ),
            ({"interval": timedelta(seconds=-1)}, "interval must be a positive timedelta"),
            ({"interval": 5}, "interval must be a positive timedelta, got 5"),
            ({"jitter": -5}, "jitter must be None or a finite number >= 0, got -5"),
            ({"jitter": "x"}, "jitter must be None or a number of seconds, got 'x'"),
            ({"timezone": 5}, "timezone 5 is not a time zone"),
            ({"start_date": None}, "start_date must be an aware datetime, got None"),
            ({"start_date": datetime(2030, 1, 1)}, "start_date must be an aware datetime"),
            ({"end_date": "2030-01-01"}, "end_date must be an aware datetime or None"),
            ({"version": "2"}, "version must be an integer, got '2'"),
        ],
    )
    def test_a_damaged_state_is_refused(self, change: dict[str, object], message: str) -> None:
        state = IntervalTrigger(seconds=5, start_date=START).__getstate__()
        state.update(change)
        trigger = IntervalTrigger.__new__(IntervalTrigger)
        with pytest.raises(ValueError) as exc:
            trigger.__setstate__(state)
        assert str(exc.value).startswith("Cannot restore a IntervalTrigger from this state: ")
        assert message in str(exc.value)

    def test_a_state_that_is_not_a_dict_is_refused(self) -> None:
        with pytest.raises(ValueError, match="expected a dict, got list"):
            IntervalTrigger.__new__(IntervalTrigger).__setstate__([1, 2, 3])
