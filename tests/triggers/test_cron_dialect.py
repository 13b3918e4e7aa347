"""Tests for the cron dialect forms of ``CronTrigger.from_crontab`` (issue 8): ``L``, ``15W``,
``LW`` and ``?`` in the day of month, ``5L``, ``5#3`` and ``?`` in the day of week.

Each form is checked against a reference that states the calendar fact directly with
``calendar``/``datetime`` (walking the days of the month), over random years and months.
"""

from __future__ import annotations

import calendar
import pickle
from datetime import date, datetime, timedelta, timezone

import pytest
from hypothesis import given, note
from hypothesis import strategies as st

from quartzite.triggers.cron import CronTrigger
from quartzite.triggers.cron.expressions import NearestWeekdayExpression
from support import make_job

UTC = timezone.utc
WEEKDAY_NAMES = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def month_days(year: int, month: int):
    return [date(year, month, day) for day in range(1, calendar.monthrange(year, month)[1] + 1)]


def fire_days(trigger: CronTrigger, year: int, month: int) -> list[int]:
    """The days of ``year-month`` on which the trigger fires (it fires at 00:00)."""
    now = datetime(year, month, 1, tzinfo=UTC)
    fire_time = trigger.get_next_fire_time(None, now)
    days = []
    while fire_time is not None and (fire_time.year, fire_time.month) == (year, month):
        days.append(fire_time.day)
        fire_time = trigger.get_next_fire_time(fire_time, fire_time)
    return days


# --- the references: calendar facts ---------------------------------------------------------------


def last_day(year: int, month: int) -> set[int]:
    return {max(day.day for day in month_days(year, month))}


def last_weekday_of_kind(year: int, month: int, weekday: int) -> set[int]:
    return {max(day.day for day in month_days(year, month) if day.weekday() == weekday)}


def nth_weekday(year: int, month: int, weekday: int, nth: int) -> set[int]:
    matching = [day.day for day in month_days(year, month) if day.weekday() == weekday]
    return {matching[nth - 1]} if nth <= len(matching) else set()


def nearest_weekday(year: int, month: int, target: int) -> set[int]:
    """The Monday-Friday day of the same month closest to ``target`` (the earlier one on a tie:
    there is none, a Saturday is 1 day from Friday and 2 from Monday)."""
    days = month_days(year, month)
    if target > len(days):
        return set()
    weekdays = [day.day for day in days if day.weekday() < 5]
    return {min(weekdays, key=lambda day: (abs(day - target), day))}


def last_business_day(year: int, month: int) -> set[int]:
    return {max(day.day for day in month_days(year, month) if day.weekday() < 5)}


years = st.integers(1970, 2400)
months = st.integers(1, 12)


@given(year=years, month=months)
def test_l_in_day_of_month_is_the_last_day(year, month):
    trigger = CronTrigger.from_crontab("0 0 L * *", timezone=UTC)
    assert set(fire_days(trigger, year, month)) == last_day(year, month)


@given(year=years, month=months, weekday=st.integers(0, 7), standard=st.booleans())
def test_nl_in_day_of_week_is_the_last_such_weekday(year, month, weekday, standard):
    if not standard and weekday == 7:
        weekday = 6
    # crontab numbers: 0 or 7 = Sunday, 5 = Friday; the default ones: 0 = Monday
    python_weekday = (weekday + 6) % 7 if standard else weekday
    trigger = CronTrigger.from_crontab(
        f"0 0 * * {weekday}L", timezone=UTC, standard_weekdays=standard
    )
    assert set(fire_days(trigger, year, month)) == last_weekday_of_kind(year, month, python_weekday)


@given(year=years, month=months, weekday=st.integers(0, 6), nth=st.integers(1, 5))
def test_hash_in_day_of_week_is_the_nth_such_weekday(year, month, weekday, nth):
    name = WEEKDAY_NAMES[weekday]
    trigger = CronTrigger.from_crontab(f"0 0 ? * {name}#{nth}", timezone=UTC)
    assert set(fire_days(trigger, year, month)) == nth_weekday(year, month, weekday, nth)


@given(year=years, month=months, target=st.integers(1, 31))
def test_w_is_the_nearest_weekday_within_the_month(year, month, target):
    trigger = CronTrigger.from_crontab(f"0 0 {target}W * ?", timezone=UTC)
    assert set(fire_days(trigger, year, month)) == nearest_weekday(year, month, target)


@given(year=years, month=months)
def test_lw_is_the_last_weekday_of_the_month(year, month):
    trigger = CronTrigger.from_crontab("0 0 LW * *", timezone=UTC)
    assert set(fire_days(trigger, year, month)) == last_business_day(year, month)


@given(
    year=years,
    month=months,
    target=st.integers(1, 31),
    weekday=st.integers(1, 7),
    nth=st.integers(1, 5),
)
def test_lists_of_dialect_items_match_the_union_of_their_days(year, month, target, weekday, nth):
    """Items of one field add up; with standard weekdays and both day fields restricted, a day
    matching either fires (crontab's rule)."""
    python_weekday = weekday - 1
    expr = f"0 0 {target}W,L * {weekday}#{nth},{weekday}L"
    note(expr)
    trigger = CronTrigger.from_crontab(expr, timezone=UTC, standard_weekdays=True)
    expected = (
        nearest_weekday(year, month, target)
        | last_day(year, month)
        | nth_weekday(year, month, python_weekday, nth)
        | last_weekday_of_kind(year, month, python_weekday)
    )
    assert set(fire_days(trigger, year, month)) == expected


@given(year=years, month=months, weekday=st.integers(0, 6))
def test_plain_weekdays_next_to_positions_keep_their_meaning(year, month, weekday):
    trigger = CronTrigger.from_crontab(f"0 0 * * {WEEKDAY_NAMES[weekday]},fri#2", timezone=UTC)
    expected = {day.day for day in month_days(year, month) if day.weekday() == weekday}
    assert set(fire_days(trigger, year, month)) == expected | nth_weekday(year, month, 4, 2)


def test_question_mark_is_a_star_in_both_day_fields():
    question = CronTrigger.from_crontab("0 12 ? * ?", timezone=UTC)
    star = CronTrigger.from_crontab("0 12 * * *", timezone=UTC)
    assert repr(question) == repr(star)


class TestForms:
    @pytest.mark.parametrize(
        "expr, day_text, explanation",
        [
            ("0 0 L * *", "last", "at 00:00 on the last day of the month, UTC"),
            ("0 0 15W * *", "15W", "at 00:00 on the weekday nearest day 15 of the month, UTC"),
            ("0 0 LW * *", "LW", "at 00:00 on the last weekday of the month, UTC"),
            ("0 9 ? * 5L", "last fri", "at 09:00 on the last Friday of the month, UTC"),
            ("0 9 * * 5#3", "3rd fri", "at 09:00 on the third Friday of the month, UTC"),
        ],
    )
    def test_text_and_explanation(self, expr, day_text, explanation):
        trigger = CronTrigger.from_crontab(expr, timezone=UTC, standard_weekdays=True)
        day_field = trigger.fields[2]
        assert str(day_field) == day_text and not day_field.is_default
        assert str(trigger.fields[4]) == "*"
        assert trigger.explain() == explanation

    def test_w_expression_equality_text_and_pickling(self):
        assert NearestWeekdayExpression(15) == NearestWeekdayExpression("15")
        assert NearestWeekdayExpression(15) != NearestWeekdayExpression(16)
        assert NearestWeekdayExpression("L") == NearestWeekdayExpression(None)
        assert NearestWeekdayExpression(15) != NearestWeekdayExpression(None)
        assert (str(NearestWeekdayExpression(3)), str(NearestWeekdayExpression("l"))) == (
            "3W",
            "LW",
        )
        assert repr(NearestWeekdayExpression(3)) == "NearestWeekdayExpression(3)"
        trigger = CronTrigger.from_crontab("0 0 15W * *", timezone=UTC)
        restored = pickle.loads(pickle.dumps(trigger))
        assert restored.fields == trigger.fields
        now = datetime(2026, 2, 1, tzinfo=UTC)
        # 2026-02-15 is a Sunday: Monday the 16th
        assert restored.get_next_fire_time(None, now) == datetime(2026, 2, 16, tzinfo=UTC)

    def test_saturday_the_first_moves_to_monday_the_third(self):
        trigger = CronTrigger.from_crontab("0 0 1W * *", timezone=UTC)
        # 2026-08-01 is a Saturday; the Friday before is in July
        assert fire_days(trigger, 2026, 8) == [3]

    def test_sunday_the_last_moves_to_the_friday_before(self):
        trigger = CronTrigger.from_crontab("0 0 31W * *", timezone=UTC)
        # 2026-05-31 is a Sunday; the Monday after is in June
        assert fire_days(trigger, 2026, 5) == [29]
        assert fire_days(trigger, 2026, 4) == []  # April has no 31st


class TestErrors:
    @pytest.mark.parametrize(
        "expr, standard, message",
        [
            ("0 0 32W * *", False, "the day of a W expression must be 1-31 or L, got '32'"),
            ("0 0 0W * *", False, "the day of a W expression must be 1-31 or L, got '0'"),
            ("0 0 * * 5#6", True, 'Invalid position in expression "5#6"'),
            ("0 0 * * 5#0", True, 'Invalid position in expression "5#0"'),
            ("0 0 * * 8L", True, 'Invalid weekday in expression "8L"'),
            ("0 0 * * 7L", False, 'Invalid weekday in expression "7L"'),
            ("0 0 * * xyzL", False, 'Invalid weekday name "xyz"'),
            ("0 0 1 * 5L", False, 'Cannot combine day of month "1" with day of week "5L"'),
            ("? 0 * * *", False, 'Unrecognized expression "?" for field "minute"'),
        ],
    )
    def test_bad_forms_are_refused_with_the_item_named(self, expr, standard, message):
        with pytest.raises(ValueError) as exc:
            CronTrigger.from_crontab(expr, timezone=UTC, standard_weekdays=standard)
        assert message in str(exc.value)

    def test_w_forms_combine_with_either_rule(self):
        trigger = CronTrigger.from_crontab("0 0 15W * 1", timezone=UTC, standard_weekdays=True)
        # June 2026: the 15th is a Monday; Mondays are 1, 8, 15, 22, 29
        assert fire_days(trigger, 2026, 6) == [1, 8, 15, 22, 29]


def test_one_year_of_last_fridays_is_twelve_fire_times():
    trigger = CronTrigger.from_crontab("30 17 * * 5L", timezone=UTC, standard_weekdays=True)
    fire_time = trigger.get_next_fire_time(None, datetime(2026, 1, 1, tzinfo=UTC))
    seen = []
    while fire_time.year == 2026:
        assert fire_time.weekday() == 4 and (fire_time + timedelta(days=7)).month != fire_time.month
        seen.append(fire_time.month)
        fire_time = trigger.get_next_fire_time(fire_time, fire_time)
    assert seen == list(range(1, 13))


def test_a_nearest_weekday_trigger_round_trips_through_the_json_serializer() -> None:
    """``15W`` and ``LW`` are also day-field syntax, so the JSON form (field expressions) can
    hold every trigger ``from_crontab`` builds."""
    from quartzite.serializers import JSONSerializer

    serializer = JSONSerializer()
    for expression in ("0 9 15W * *", "30 18 LW * *"):
        trigger = CronTrigger.from_crontab(expression, timezone="UTC")
        state = make_job(None, print, trigger=trigger, paused=True).__getstate__()
        restored = serializer.deserialize(serializer.serialize(state))["trigger"]
        start = datetime(2026, 1, 1, tzinfo=timezone.utc)
        assert restored.get_next_fire_time(None, start) == trigger.get_next_fire_time(None, start)
        assert str(restored) == str(trigger)
