"""Tests for the argument checks of ``CronTrigger`` and ``from_crontab`` (issue 8): schedules that
never fire, arguments of the wrong type, unknown time zones, and the bound on every search."""

from __future__ import annotations

import time
import warnings
from datetime import datetime, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pytest
from hypothesis import given, note, settings
from hypothesis import strategies as st

from quartzite.triggers.cron import CronTrigger

UTC = timezone.utc
NOW = datetime(2026, 1, 1, tzinfo=UTC)


class TestNeverFiringCrontab:
    @pytest.mark.parametrize(
        "expr, reason",
        [
            ("0 0 31 2 *", "day 31 never occurs in February"),
            ("0 0 30 2 *", "day 30 never occurs in February"),
            ("0 0 30,31 feb *", "day 30, 31 never occurs in February"),
            ("0 0 31 4,6,9,11 *", "day 31 never occurs in April, June, September, November"),
            ("0 0 30W 2 *", "no date matches all of month='2', day='30W'"),
        ],
    )
    def test_is_refused_saying_why(self, expr, reason):
        with pytest.raises(ValueError) as exc:
            CronTrigger.from_crontab(expr, timezone=UTC)
        assert str(exc.value).startswith(f"Crontab expression {expr!r} never fires: {reason}")

    @pytest.mark.parametrize(
        "expr",
        [
            "0 0 29 2 *",  # leap years
            "0 0 31 2,3 *",  # March has one
            "0 0 ? 2 5#5",  # a fifth Friday in February: 2036-02-29
        ],
    )
    def test_rare_but_possible_lines_are_accepted(self, expr):
        trigger = CronTrigger.from_crontab(expr, timezone=UTC, standard_weekdays=True)
        assert trigger.get_next_fire_time(None, NOW) is not None

    def test_either_rule_makes_31_february_possible(self):
        # with standard weekdays, day 31 *or* a Monday, in February: every Monday of February
        trigger = CronTrigger.from_crontab("0 0 31 2 1", timezone=UTC, standard_weekdays=True)
        assert trigger.get_next_fire_time(None, NOW) == datetime(2026, 2, 2, tzinfo=UTC)


class TestNeverFiringConstructor:
    """The contract accepts these arguments: a warning says why, and there is no fire time."""

    @pytest.mark.parametrize(
        "kwargs, reason",
        [
            ({"day": 31, "month": 2}, "day 31 never occurs in February"),
            ({"year": 1999}, "the last year it allows (1999) is before this year"),
            (
                {"year": "2020-2030", "month": 2, "day": "5th fri"},
                "no date matches all of year='2020-2030', month='2', day='5th fri'",
            ),
            ({"month": 6, "week": 1}, "no date matches all of month='6', week='1'"),
        ],
    )
    def test_warns_and_returns_none_quickly(self, kwargs, reason):
        with pytest.warns(UserWarning, match="CronTrigger will never fire: ") as record:
            trigger = CronTrigger(timezone=UTC, **kwargs)
        assert reason in str(record[0].message)
        assert record[0].filename == __file__  # (points at the caller)
        began = time.process_time()
        assert trigger.get_next_fire_time(None, NOW) is None
        assert time.process_time() - began < 2  # (generous: it is a few milliseconds)

    def test_start_date_after_end_date_warns_naming_both(self):
        with pytest.warns(UserWarning) as record:
            trigger = CronTrigger(start_date="2030-01-01", end_date="2020-01-01", timezone=UTC)
        message = str(record[0].message)
        assert "start_date (2030-01-01 00:00:00+00:00)" in message
        assert "end_date (2020-01-01 00:00:00+00:00)" in message
        assert trigger.get_next_fire_time(None, NOW) is None

    def test_possible_schedules_do_not_warn(self):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            CronTrigger(day=29, month=2, timezone=UTC)
            CronTrigger(year="2020-2090", timezone=UTC)
            CronTrigger(day="last fri", timezone=UTC)


class TestBadArguments:
    @pytest.mark.parametrize("expr", [None, 5, b"* * * * *", ["*"] * 5])
    def test_from_crontab_wants_a_str(self, expr):
        with pytest.raises(TypeError) as exc:
            CronTrigger.from_crontab(expr, timezone=UTC)  # type: ignore[arg-type]
        assert str(exc.value).startswith("CronTrigger.from_crontab: expr must be a str")
        assert repr(expr) in str(exc.value)

    def test_a_bad_field_in_a_crontab_line_names_the_line(self):
        with pytest.raises(ValueError) as exc:
            CronTrigger.from_crontab("60 * * * *", timezone=UTC)
        assert str(exc.value) == (
            "Error validating expression '60': the last value (60) is higher than the maximum "
            "value (59) (field 'minute' takes 0-59) (in crontab expression '60 * * * *')"
        )

    @pytest.mark.parametrize("name", ["year", "month", "day", "week", "day_of_week", "second"])
    def test_a_float_field_is_a_type_error_naming_the_field(self, name):
        with pytest.raises(TypeError, match=f"CronTrigger: {name} must be a str"):
            CronTrigger(timezone=UTC, **{name: 1.5})

    def test_unknown_time_zone_suggests_close_names(self):
        with pytest.raises(ZoneInfoNotFoundError) as exc:
            CronTrigger(timezone="Europe/Berln")
        message = str(exc.value)
        assert "CronTrigger: timezone='Europe/Berln'" in message and "'Europe/Berlin'" in message

    def test_jitter_is_checked(self):
        with pytest.raises(ValueError, match="jitter"):
            CronTrigger(timezone=UTC, jitter=-1)
        assert CronTrigger(timezone=UTC, jitter=5).jitter == 5


# --- every search ends quickly -----------------------------------------------------------------

FIELD_SAMPLES = {
    "year": ["*", "2030", "2026-2030", "*/7", "2100", "1999", "9999"],
    "month": ["*", "2", "feb,apr", "*/5", "nov-dec", "6"],
    "day": ["*", "31", "30", "29", "last", "5th fri", "last sun", "*/9", "1-3", "2nd mon"],
    "week": ["*", "1", "53", "*/10", "20-22"],
    "day_of_week": ["*", "sun", "mon-fri", "*/3", "6"],
    "hour": ["*", "2", "*/5", "23", "1-3"],
    "minute": ["*", "30", "*/7", "59"],
    "second": ["*", "0", "*/13", "59"],
}


@settings(max_examples=max(30, settings.default.max_examples))
@given(
    data=st.data(),
    zone=st.sampled_from(["UTC", "Europe/Berlin", "Pacific/Apia", "Australia/Lord_Howe"]),
    start=st.datetimes(datetime(1970, 1, 1), datetime(9990, 1, 1)),
    dst=st.sampled_from(["shift", "skip", "vixie"]),
)
def test_any_expression_searches_briefly(data, zone, start, dst):
    fields = data.draw(st.sets(st.sampled_from(sorted(FIELD_SAMPLES)), min_size=1))
    kwargs = {field: data.draw(st.sampled_from(FIELD_SAMPLES[field])) for field in fields}
    note(f"kwargs={kwargs}")
    tz = ZoneInfo(zone)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        trigger = CronTrigger(timezone=tz, dst=dst, **kwargs)
    began = time.process_time()
    fire_time = trigger.get_next_fire_time(None, start.replace(tzinfo=tz))
    for _ in range(3):
        if fire_time is None:
            break
        following = trigger.get_next_fire_time(fire_time, fire_time)
        assert following is None or following.timestamp() > fire_time.timestamp()
        fire_time = following
    assert time.process_time() - began < 2  # (generous: usually well under a millisecond)
