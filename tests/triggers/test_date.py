"""Tests for ``quartzite.triggers.date.DateTrigger`` (API contract §4.2)."""

from __future__ import annotations

import pickle
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from quartzite.triggers.base import BaseTrigger
from quartzite.triggers.date import DateTrigger
from support import FakeClock, install_fake_clock

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
HELSINKI = ZoneInfo("Europe/Helsinki")


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    return install_fake_clock(
        monkeypatch, datetime(2011, 4, 3, 18, 40, 5, 123456, tzinfo=timezone.utc)
    )


@pytest.fixture
def local_zone(monkeypatch: pytest.MonkeyPatch) -> ZoneInfo:
    monkeypatch.setattr("quartzite.triggers.date.get_localzone", lambda: HELSINKI)
    return HELSINKI


def test_is_a_trigger() -> None:
    assert issubclass(DateTrigger, BaseTrigger)


def test_slots() -> None:
    trigger = DateTrigger(datetime(2009, 7, 6, tzinfo=BERLIN))
    assert "run_date" in DateTrigger.__slots__
    assert not hasattr(trigger, "__dict__")


class TestConstruction:
    def test_aware_datetime_kept(self) -> None:
        run_date = datetime(2009, 7, 6, 12, tzinfo=NEW_YORK)
        trigger = DateTrigger(run_date, timezone=BERLIN)
        assert trigger.run_date is run_date
        assert trigger.run_date.tzinfo is NEW_YORK

    def test_naive_datetime_in_given_timezone(self) -> None:
        trigger = DateTrigger(datetime(2009, 7, 6, 12, 30), BERLIN)
        assert trigger.run_date == datetime(2009, 7, 6, 12, 30, tzinfo=BERLIN)
        assert trigger.run_date.tzinfo is BERLIN

    def test_timezone_name(self) -> None:
        trigger = DateTrigger(datetime(2009, 7, 6, 12, 30), "America/New_York")
        assert trigger.run_date.tzinfo is NEW_YORK
        assert trigger.run_date.utcoffset() == timedelta(hours=-4)

    def test_utc_name(self) -> None:
        trigger = DateTrigger(datetime(2009, 7, 6, 12, 30), "UTC")
        assert trigger.run_date.tzinfo is timezone.utc

    def test_pytz_timezone_converted(self) -> None:
        pytz = pytest.importorskip("pytz")
        trigger = DateTrigger(datetime(2009, 7, 6, 12, 30), pytz.timezone("Europe/Berlin"))
        assert trigger.run_date.tzinfo is BERLIN
        assert trigger.run_date == datetime(2009, 7, 6, 12, 30, tzinfo=BERLIN)

    def test_date(self) -> None:
        trigger = DateTrigger(date(2009, 7, 6), BERLIN)
        assert trigger.run_date == datetime(2009, 7, 6, tzinfo=BERLIN)

    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("2009-7-6", datetime(2009, 7, 6, tzinfo=BERLIN)),
            ("2009-07-06 12:30:05", datetime(2009, 7, 6, 12, 30, 5, tzinfo=BERLIN)),
            ("2009-07-06T12:30:05.000250", datetime(2009, 7, 6, 12, 30, 5, 250, tzinfo=BERLIN)),
            ("2009-07-06 12:30:05Z", datetime(2009, 7, 6, 12, 30, 5, tzinfo=timezone.utc)),
            (
                "2009-07-06 12:30:05+05:30",
                datetime(2009, 7, 6, 12, 30, 5, tzinfo=timezone(timedelta(hours=5.5))),
            ),
        ],
    )
    def test_string(self, text: str, expected: datetime) -> None:
        trigger = DateTrigger(text, BERLIN)
        assert trigger.run_date == expected
        assert trigger.run_date.utcoffset() == expected.utcoffset()

    def test_invalid_string(self) -> None:
        with pytest.raises(ValueError, match=r"^Invalid date string"):
            DateTrigger("2009-07-06 12:30", BERLIN)

    def test_unsupported_type(self) -> None:
        with pytest.raises(TypeError, match=r"^Unsupported type for run_date: int"):
            DateTrigger(1234, BERLIN)  # type: ignore[arg-type]

    def test_bad_timezone_type(self) -> None:
        with pytest.raises(TypeError, match=r"^Expected tzinfo, got int instead"):
            DateTrigger(datetime(2009, 7, 6), 5)  # type: ignore[arg-type]

    def test_nonexistent_time_moved_forward(self) -> None:
        trigger = DateTrigger(datetime(2013, 3, 10, 2, 30), NEW_YORK)
        assert trigger.run_date.replace(tzinfo=None) == datetime(2013, 3, 10, 3, 30)
        assert trigger.run_date.utcoffset() == timedelta(hours=-4)

    def test_ambiguous_time_first_occurrence(self) -> None:
        trigger = DateTrigger("2013-11-03 01:30:00", NEW_YORK)
        assert trigger.run_date.fold == 0
        assert trigger.run_date.utcoffset() == timedelta(hours=-4)

    def test_local_timezone_by_default(self, local_zone: ZoneInfo) -> None:
        trigger = DateTrigger(datetime(2009, 7, 6, 12))
        assert trigger.run_date.tzinfo is local_zone
        assert trigger.run_date == datetime(2009, 7, 6, 12, tzinfo=local_zone)

    def test_default_run_date_is_now(self, clock: FakeClock) -> None:
        trigger = DateTrigger(timezone=BERLIN)
        assert trigger.run_date == clock.instant
        assert trigger.run_date.tzinfo is BERLIN
        assert trigger.run_date.microsecond == 123456

    def test_default_run_date_in_local_zone(self, clock: FakeClock, local_zone: ZoneInfo) -> None:
        trigger = DateTrigger()
        assert trigger.run_date == clock.instant
        assert trigger.run_date.tzinfo is local_zone


class TestGetNextFireTime:
    RUN_DATE = datetime(2009, 7, 6, 12, tzinfo=BERLIN)

    @pytest.mark.parametrize(
        "now",
        [
            datetime(2009, 7, 6, 11, tzinfo=BERLIN),
            datetime(2009, 7, 6, 12, tzinfo=BERLIN),
            datetime(2010, 1, 1, tzinfo=BERLIN),  # long past the run date: still returned
            datetime(2009, 7, 6, 3, tzinfo=timezone.utc),
        ],
    )
    def test_first_fire(self, now: datetime) -> None:
        trigger = DateTrigger(self.RUN_DATE)
        result = trigger.get_next_fire_time(None, now)
        assert result == self.RUN_DATE
        assert result.tzinfo is BERLIN

    @pytest.mark.parametrize(
        "previous",
        [RUN_DATE, RUN_DATE - timedelta(days=1), RUN_DATE + timedelta(days=1)],
    )
    def test_fires_only_once(self, previous: datetime) -> None:
        trigger = DateTrigger(self.RUN_DATE)
        assert trigger.get_next_fire_time(previous, self.RUN_DATE - timedelta(days=2)) is None


class TestState:
    RUN_DATE = datetime(2009, 7, 6, 12, tzinfo=BERLIN)

    def test_getstate(self) -> None:
        assert DateTrigger(self.RUN_DATE).__getstate__() == {
            "version": 1,
            "run_date": self.RUN_DATE,
        }

    def test_setstate(self) -> None:
        trigger = DateTrigger.__new__(DateTrigger)
        trigger.__setstate__({"version": 1, "run_date": self.RUN_DATE})
        assert trigger.run_date is self.RUN_DATE

    def test_setstate_without_version(self) -> None:
        trigger = DateTrigger.__new__(DateTrigger)
        trigger.__setstate__({"run_date": self.RUN_DATE})
        assert trigger.run_date == self.RUN_DATE

    def test_setstate_3_0_tuple(self) -> None:
        trigger = DateTrigger.__new__(DateTrigger)
        trigger.__setstate__((None, {"run_date": self.RUN_DATE}))
        assert trigger.run_date == self.RUN_DATE

    def test_setstate_newer_version(self) -> None:
        trigger = DateTrigger.__new__(DateTrigger)
        with pytest.raises(ValueError) as exc:
            trigger.__setstate__({"version": 2, "run_date": self.RUN_DATE})
        assert str(exc.value) == (
            "Got serialized data for version 2 of DateTrigger, but only version 1 can be handled"
        )

    def test_pickle_round_trip(self) -> None:
        trigger = DateTrigger(self.RUN_DATE)
        restored = pickle.loads(pickle.dumps(trigger))
        assert isinstance(restored, DateTrigger)
        assert restored.run_date == self.RUN_DATE
        assert restored.run_date.tzinfo is BERLIN
        assert restored.get_next_fire_time(None, self.RUN_DATE) == self.RUN_DATE


class TestReprs:
    def test_str(self) -> None:
        assert str(DateTrigger(datetime(2009, 7, 6), BERLIN)) == "date[2009-07-06 00:00:00 CEST]"

    def test_repr(self) -> None:
        trigger = DateTrigger(datetime(2009, 7, 6), BERLIN)
        assert repr(trigger) == "<DateTrigger (run_date='2009-07-06 00:00:00 CEST')>"

    def test_fixed_offset(self) -> None:
        trigger = DateTrigger(datetime(2009, 7, 6, 5, 6, 7, 999), timezone(timedelta(hours=2)))
        assert str(trigger) == "date[2009-07-06 05:06:07 UTC+02:00]"
        assert repr(trigger) == "<DateTrigger (run_date='2009-07-06 05:06:07 UTC+02:00')>"

    def test_utc(self) -> None:
        trigger = DateTrigger("2009-07-06 05:06:07Z")
        assert str(trigger) == "date[2009-07-06 05:06:07 UTC]"


class TestValidation:
    def test_bad_text_names_the_argument_and_value(self) -> None:
        with pytest.raises(ValueError, match=r"^Invalid date string") as exc:
            DateTrigger("garbage", BERLIN)
        assert "run_date" in str(exc.value) and "'garbage'" in str(exc.value)

    def test_a_list_names_the_argument(self) -> None:
        with pytest.raises(TypeError, match=r"^Unsupported type for run_date: list"):
            DateTrigger([], BERLIN)  # type: ignore[arg-type]

    @pytest.mark.parametrize(
        "state, message",
        [
            ({"version": 1, "run_date": None}, "run_date must be an aware datetime, got None"),
            ({"version": 1}, "run_date must be an aware datetime, got None"),
            ({"version": 1, "run_date": "2030-01-01"}, "got '2030-01-01'"),
            ({"version": 1, "run_date": datetime(2030, 1, 1)}, "an aware datetime"),
            ("2030", "expected a dict, got str"),
        ],
    )
    def test_a_damaged_state_is_refused(self, state: object, message: str) -> None:
        with pytest.raises(ValueError, match="Cannot restore a DateTrigger from this state") as exc:
            DateTrigger.__new__(DateTrigger).__setstate__(state)
        assert message in str(exc.value)
