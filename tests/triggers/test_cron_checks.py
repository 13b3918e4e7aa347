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


class TestCachedSpecifications:
    """Specifications are parsed and analysed once; the cached path keeps every check."""

    def test_a_repeated_never_firing_specification_warns_every_time(self):
        for _attempt in range(3):
            with pytest.warns(UserWarning, match="day 31 never occurs in February"):
                CronTrigger(day=31, month=2, hour=5, timezone=UTC)

    def test_the_constructor_warns_for_a_specification_from_crontab_cached_first(self):
        with pytest.raises(ValueError, match="never fires"):
            CronTrigger.from_crontab("0 0 31 2 *", timezone=UTC)
        # (the same keyword arguments as from_crontab passed, hence the same cache entry)
        with pytest.warns(UserWarning, match="day 31 never occurs in February"):
            CronTrigger(minute="0", hour="0", day="31", month="2", day_of_week="*", timezone=UTC)

    def test_a_bool_is_refused_after_the_equal_int_was_cached(self):
        CronTrigger(hour=1, timezone=UTC)
        with pytest.raises(TypeError, match="CronTrigger: hour must be a str"):
            CronTrigger(hour=True, timezone=UTC)

    def test_a_repeated_crontab_line_builds_equal_independent_triggers(self):
        line = "0 9 L,15W * *"
        first = CronTrigger.from_crontab(line, timezone=UTC)
        second = CronTrigger.from_crontab(line, timezone=UTC)
        text = "cron[month='*', day='last,15W', day_of_week='*', hour='9', minute='0']"
        assert str(first) == str(second) == text
        first.fields[2].expressions.clear()  # (each trigger has its own lists)
        assert str(second) == text
        third = CronTrigger.from_crontab(line, timezone=UTC)
        assert str(third) == text

    def test_restricted_weekdays_alone_do_not_warn_but_with_a_week_are_analysed(self):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            CronTrigger(day_of_week="sun", month=2, timezone=UTC)
            CronTrigger(day_of_week="mon-fri", year="2030-2040", hour=9, timezone=UTC)
        with pytest.warns(UserWarning, match="no date matches all of"):
            CronTrigger(month=6, week=1, day_of_week="mon", timezone=UTC)


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


# --- the shift rule's look back before the start ----------------------------------------------


@pytest.mark.parametrize(
    "start_utc, expected",
    [
        # Berlin jumps from 02:00 to 03:00 at 01:00 UTC: 02:00, 02:15, 02:30 and 02:45 do not
        # exist that day, and fire at 03:00, 03:15, 03:30 and 03:45 (01:00-01:45 UTC)
        (datetime(2024, 3, 31, 1, 0, 0, tzinfo=UTC), datetime(2024, 3, 31, 1, 0, tzinfo=UTC)),
        (datetime(2024, 3, 31, 1, 10, 0, tzinfo=UTC), datetime(2024, 3, 31, 1, 15, tzinfo=UTC)),
        (datetime(2024, 3, 31, 1, 45, 0, tzinfo=UTC), datetime(2024, 3, 31, 1, 45, tzinfo=UTC)),
        (datetime(2024, 3, 31, 1, 45, 1, tzinfo=UTC), datetime(2024, 4, 1, 0, 0, tzinfo=UTC)),
        (datetime(2024, 7, 1, 12, 0, 0, tzinfo=UTC), datetime(2024, 7, 2, 0, 0, tzinfo=UTC)),
    ],
)
def test_shifted_times_fire_after_a_start_just_past_the_gap(start_utc, expected):
    trigger = CronTrigger(hour=2, minute="*/15", timezone=ZoneInfo("Europe/Berlin"))
    assert trigger.get_next_fire_time(None, start_utc) == expected


def test_a_long_chain_keeps_the_shifted_times_after_a_real_one_inside_the_gap_hour():
    # Lord Howe Island moves from 02:00 to 02:30 on 6 October 2024. The chain starts a month
    # before, so the searches have long met no skipped wall time (and need not look back) when
    # the real 02:40 fires between the stand-ins for 02:00 and 02:20.
    zone = ZoneInfo("Australia/Lord_Howe")
    trigger = CronTrigger(hour=2, minute="*/20", timezone=zone)
    fire_times = []
    previous = None
    now = datetime(2024, 9, 1, tzinfo=zone)
    while previous is None or previous < datetime(2024, 10, 8, tzinfo=zone):
        previous = trigger.get_next_fire_time(previous, previous or now)
        fire_times.append(previous)
    around = [f"{t:%d %H:%M%z}" for t in fire_times if 5 <= t.day <= 7 and t.month == 10]
    assert around == [
        "05 02:00+1030",
        "05 02:20+1030",
        "05 02:40+1030",
        "06 02:30+1100",  # 02:00, shifted by the 30 minute gap
        "06 02:40+1100",
        "06 02:50+1100",  # 02:20, shifted
        "07 02:00+1100",
        "07 02:20+1100",
        "07 02:40+1100",
    ]
