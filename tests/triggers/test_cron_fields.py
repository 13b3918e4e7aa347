"""Tests for ``quartzite.triggers.cron.fields`` and ``.expressions`` (API contract §4.4)."""

from __future__ import annotations

import pickle
from datetime import date, datetime

import pytest

from quartzite.triggers.cron import expressions as expressions_module
from quartzite.triggers.cron import fields as fields_module
from quartzite.triggers.cron.expressions import (
    MONTHS,
    WEEKDAYS,
    AllExpression,
    LastDayOfMonthExpression,
    MonthRangeExpression,
    NearestWeekdayExpression,
    RangeExpression,
    WeekdayOfMonthExpression,
    WeekdayPositionExpression,
    WeekdayRangeExpression,
)
from quartzite.triggers.cron.fields import (
    DEFAULT_VALUES,
    MAX_VALUES,
    MIN_VALUES,
    SEPARATOR,
    BaseField,
    DayOfMonthField,
    DayOfWeekField,
    MonthField,
    WeekField,
)


class TestModuleNames:
    def test_public_names(self):
        for name in ("MIN_VALUES", "MAX_VALUES", "DEFAULT_VALUES", "SEPARATOR", "BaseField"):
            assert hasattr(fields_module, name)
        for name in ("WEEKDAYS", "MONTHS", "AllExpression", "LastDayOfMonthExpression"):
            assert hasattr(expressions_module, name)

    def test_limits(self):
        assert MIN_VALUES == {
            "year": 1970,
            "month": 1,
            "day": 1,
            "week": 1,
            "day_of_week": 0,
            "hour": 0,
            "minute": 0,
            "second": 0,
        }
        assert MAX_VALUES == {
            "year": 9999,
            "month": 12,
            "day": 31,
            "week": 53,
            "day_of_week": 6,
            "hour": 23,
            "minute": 59,
            "second": 59,
        }
        assert DEFAULT_VALUES == {
            "year": "*",
            "month": 1,
            "day": 1,
            "week": "*",
            "day_of_week": "*",
            "hour": 0,
            "minute": 0,
            "second": 0,
        }

    def test_names(self):
        assert WEEKDAYS == ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
        assert MONTHS[0] == "jan" and MONTHS[11] == "dec" and len(MONTHS) == 12

    def test_separator(self):
        assert SEPARATOR.split("1 , 2,3 ,4") == ["1", "2", "3", "4"]


class TestFieldClasses:
    def test_real_and_compilers(self):
        assert BaseField.REAL and MonthField.REAL and DayOfMonthField.REAL
        assert not WeekField.REAL and not DayOfWeekField.REAL
        assert [AllExpression, RangeExpression] == BaseField.COMPILERS
        assert [AllExpression, RangeExpression, MonthRangeExpression] == MonthField.COMPILERS
        assert [
            AllExpression,
            RangeExpression,
            WeekdayRangeExpression,
        ] == DayOfWeekField.COMPILERS
        assert [
            AllExpression,
            RangeExpression,
            WeekdayPositionExpression,
            LastDayOfMonthExpression,
            NearestWeekdayExpression,  # beyond the contract: 15W / LW, appended last
        ] == DayOfMonthField.COMPILERS

    def test_attributes(self):
        field = BaseField("hour", "1-2, 4", is_default=True)
        assert field.name == "hour"
        assert field.is_default is True
        assert field.expressions == [RangeExpression(1, 2), RangeExpression(4)]
        assert BaseField("hour", 5).is_default is False

    def test_min_max_value(self):
        moment = datetime(2024, 2, 10, 13, 45, 30)
        assert BaseField("hour", "*").get_min(moment) == 0
        assert BaseField("hour", "*").get_max(moment) == 23
        assert BaseField("hour", "*").get_value(moment) == 13
        assert BaseField("year", "*").get_value(moment) == 2024
        assert DayOfMonthField("day", "*").get_max(moment) == 29
        assert DayOfMonthField("day", "*").get_max(datetime(2023, 2, 1)) == 28
        assert DayOfMonthField("day", "*").get_max(datetime(2023, 4, 1)) == 30
        assert WeekField("week", "*").get_value(datetime(2021, 1, 3)) == 53
        assert WeekField("week", "*").get_value(datetime(2021, 1, 4)) == 1
        assert DayOfWeekField("day_of_week", "*").get_value(datetime(2024, 2, 10)) == 5
        assert MonthField("month", "*").get_value(moment) == 2

    def test_get_next_value_smallest_of_expressions(self):
        field = BaseField("minute", "50,10-20/5,*/45")
        assert field.get_next_value(datetime(2024, 1, 1, 0, 3)) == 10
        assert field.get_next_value(datetime(2024, 1, 1, 0, 16)) == 20
        assert field.get_next_value(datetime(2024, 1, 1, 0, 21)) == 45
        assert field.get_next_value(datetime(2024, 1, 1, 0, 46)) == 50
        assert field.get_next_value(datetime(2024, 1, 1, 0, 51)) is None

    def test_equality(self):
        assert BaseField("hour", "1,2") == BaseField("hour", "1, 2")
        assert BaseField("hour", "1,2") != BaseField("hour", "1,3")
        assert BaseField("hour", "1") != "1"

    @pytest.mark.parametrize(
        "field, name, text, expected",
        [
            (BaseField, "day", "1-2, 4-7", "1-2,4-7"),
            (DayOfWeekField, "day_of_week", "TUE-Sat", "tue-sat"),
            (MonthField, "month", "feb-apr,dec", "feb-apr,dec"),
            (DayOfMonthField, "day", "last, 2nd WED, last fri", "last,2nd wed,last fri"),
            (BaseField, "minute", " */5 ", "*/5"),
        ],
    )
    def test_str(self, field, name, text, expected):
        assert str(field(name, text)) == expected

    def test_repr(self):
        assert repr(DayOfWeekField("day_of_week", "tue-sat")) == (
            "DayOfWeekField('day_of_week', 'tue-sat')"
        )
        assert repr(BaseField("hour", "8-10")) == "BaseField('hour', '8-10')"

    def test_pickle(self):
        field = DayOfMonthField("day", "1-5/2,last,3rd fri", is_default=False)
        restored = pickle.loads(pickle.dumps(field))
        assert restored == field
        assert restored.name == "day" and restored.is_default is False
        assert str(restored) == "1-5/2,last,3rd fri"

    def test_fields_do_not_share_expression_lists(self):
        first = BaseField("hour", "3")
        second = BaseField("hour", "3")
        first.expressions.append(RangeExpression(5))
        assert second.expressions == [RangeExpression(3)]


class TestFieldErrors:
    @pytest.mark.parametrize(
        "name, text",
        [("hour", "x"), ("minute", "1-"), ("day", "1st"), ("month", "1,,2"), ("second", "")],
    )
    def test_unrecognized(self, name, text):
        field_class = {"day": DayOfMonthField, "month": MonthField}.get(name, BaseField)
        item = {"1,,2": ""}.get(text, text)
        with pytest.raises(ValueError) as exc:
            field_class(name, text)
        # the contract's message, then the accepted forms (issue 8)
        message = str(exc.value)
        assert message.startswith(f'Unrecognized expression "{item}" for field "{name}" (expected ')
        assert "*/N" in message

    @pytest.mark.parametrize(
        "name, text, detail",
        [
            (
                "day",
                "*/31",
                "the step value (31) is higher than the total range of the expression (30)",
            ),
            (
                "day",
                "4-6/3",
                "the step value (3) is higher than the total range of the expression (2)",
            ),
            ("hour", "0-24", "the last value (24) is higher than the maximum value (23)"),
            ("day", "0-3", "the first value (0) is lower than the minimum value (1)"),
            ("year", "1969", "the first value (1969) is lower than the minimum value (1970)"),
            (
                "hour",
                "30/2",
                "the step value (2) is higher than the total range of the expression (-7)",
            ),
            ("minute", "60", "the last value (60) is higher than the maximum value (59)"),
        ],
    )
    def test_validation(self, name, text, detail):
        field_class = DayOfMonthField if name == "day" else BaseField
        with pytest.raises(ValueError) as exc:
            field_class(name, text)
        # the contract's message, then the field and its range (issue 8)
        low, high = {"day": (1, 31), "hour": (0, 23), "year": (1970, 9999), "minute": (0, 59)}[name]
        assert str(exc.value) == (
            f"Error validating expression {text!r}: {detail} (field {name!r} takes {low}-{high})"
        )

    def test_bad_month_name(self):
        with pytest.raises(ValueError) as exc:
            MonthField("month", "a")
        assert str(exc.value) == 'Invalid month name "a"'

    def test_bad_weekday_name(self):
        with pytest.raises(ValueError) as exc:
            DayOfWeekField("day_of_week", "a")
        assert str(exc.value) == 'Invalid weekday name "a"'

    def test_weekday_range_without_wrap_around(self):
        with pytest.raises(ValueError, match="must not be higher than the maximum") as exc:
            DayOfWeekField("day_of_week", "sat-mon")
        assert "day_of_week" in str(exc.value) and "sat-mon" in str(exc.value)

    def test_zero_step_names_field(self):
        with pytest.raises(ValueError, match="Increment must be higher than 0") as exc:
            BaseField("minute", "*/0")
        assert '"minute"' in str(exc.value) and "*/0" in str(exc.value)

    def test_huge_number(self):
        with pytest.raises(ValueError, match="hour"):
            BaseField("hour", "9" * 5000)

    def test_name_patterns_not_end_anchored(self):
        # quirk kept from the reference: the step after weekday/month names is ignored
        assert str(DayOfWeekField("day_of_week", "mon-fri/2")) == "mon-fri"
        assert str(MonthField("month", "jan-mar/5")) == "jan-mar"
        assert str(DayOfMonthField("day", "lastday")) == "last"


class TestAllExpression:
    def test_step(self):
        assert AllExpression().step is None
        assert AllExpression("3").step == 3
        with pytest.raises(ValueError) as exc:
            AllExpression(0)
        assert str(exc.value) == "Increment must be higher than 0"

    def test_next_value(self):
        field = BaseField("minute", "*")
        assert AllExpression().get_next_value(datetime(2024, 1, 1, 0, 7), field) == 7
        assert AllExpression(5).get_next_value(datetime(2024, 1, 1, 0, 7), field) == 10
        assert AllExpression(5).get_next_value(datetime(2024, 1, 1, 0, 56), field) is None
        day = DayOfMonthField("day", "*")
        assert AllExpression(2).get_next_value(datetime(2024, 1, 2), day) == 3
        assert AllExpression(2).get_next_value(datetime(2024, 2, 30 - 1), day) == 29

    def test_validate(self):
        AllExpression(59).validate_range("minute")
        with pytest.raises(ValueError, match=r"step value \(60\).*\(59\)"):
            AllExpression(60).validate_range("minute")

    def test_str_repr_eq(self):
        assert str(AllExpression()) == "*"
        assert str(AllExpression(2)) == "*/2"
        assert repr(AllExpression()) == "AllExpression(None)"
        assert repr(AllExpression(2)) == "AllExpression(2)"
        assert AllExpression(2) == AllExpression("2")
        assert AllExpression(2) != AllExpression(3)
        assert AllExpression() != RangeExpression(1)


class TestRangeExpression:
    def test_attributes(self):
        expr = RangeExpression("3", "7", "2")
        assert (expr.first, expr.last, expr.step) == (3, 7, 2)
        assert (RangeExpression(4).first, RangeExpression(4).last) == (4, 4)
        assert RangeExpression(5, None, 20).last is None

    def test_min_higher_than_max(self):
        with pytest.raises(ValueError) as exc:
            RangeExpression(6, 5)
        assert str(exc.value) == "The minimum value in a range must not be higher than the maximum"

    @pytest.mark.parametrize(
        "expr, minute, expected",
        [
            (RangeExpression(10, 20), 5, 10),
            (RangeExpression(10, 20), 15, 15),
            (RangeExpression(10, 20), 21, None),
            (RangeExpression(10, 20, 3), 11, 13),
            (RangeExpression(10, 20, 3), 20, None),
            (RangeExpression(10), 10, 10),
            (RangeExpression(10), 11, None),
            (RangeExpression(10, None, 20), 31, 50),
            (RangeExpression(10, None, 20), 51, None),
        ],
    )
    def test_next_value(self, expr, minute, expected):
        field = BaseField("minute", "*")
        assert expr.get_next_value(datetime(2024, 1, 1, 0, minute), field) == expected

    def test_next_value_clipped_to_month_length(self):
        field = DayOfMonthField("day", "*")
        assert RangeExpression(28, 31).get_next_value(datetime(2023, 2, 27), field) == 28
        assert RangeExpression(30, 31).get_next_value(datetime(2023, 2, 27), field) is None

    def test_str_repr(self):
        assert str(RangeExpression(4)) == "4"
        assert str(RangeExpression(3, 7)) == "3-7"
        assert str(RangeExpression(3, 7, 2)) == "3-7/2"
        assert str(RangeExpression(5, None, 20)) == "5/20"
        assert repr(RangeExpression(4)) == "RangeExpression(4)"
        assert repr(RangeExpression(3, 7)) == "RangeExpression(3, 7)"
        assert repr(RangeExpression(3, 7, 2)) == "RangeExpression(3, 7, 2)"
        assert repr(RangeExpression(5, None, 20)) == "RangeExpression(5, None, 20)"

    def test_equality_ignores_step(self):
        assert RangeExpression(3, 7, 2) == RangeExpression(3, 7)
        assert RangeExpression(3, 7) != RangeExpression(3, 8)

    def test_validate(self):
        RangeExpression(0, 23).validate_range("hour")
        with pytest.raises(ValueError, match=r"first value \(0\) is lower than the minimum"):
            RangeExpression(0, 3).validate_range("day")


class TestNamedRanges:
    def test_month(self):
        expr = MonthRangeExpression("FEB", "apr")
        assert (expr.first, expr.last) == (2, 4)
        assert str(expr) == "feb-apr"
        assert repr(expr) == "MonthRangeExpression('feb', 'apr')"
        assert repr(MonthRangeExpression("dec")) == "MonthRangeExpression('dec')"
        assert str(MonthRangeExpression("jan")) == "jan"
        with pytest.raises(ValueError) as exc:
            MonthRangeExpression("jan", "foo")
        assert str(exc.value) == 'Invalid month name "foo"'

    def test_weekday(self):
        expr = WeekdayRangeExpression("tue", "sun")
        assert (expr.first, expr.last) == (1, 6)
        assert str(expr) == "tue-sun"
        assert repr(expr) == "WeekdayRangeExpression('tue', 'sun')"
        assert repr(WeekdayRangeExpression("thu")) == "WeekdayRangeExpression('thu')"
        with pytest.raises(ValueError) as exc:
            WeekdayRangeExpression("foo")
        assert str(exc.value) == 'Invalid weekday name "foo"'

    def test_weekday_next_value(self):
        field = DayOfWeekField("day_of_week", "*")
        # 2024-02-10 is a Saturday (5)
        assert WeekdayRangeExpression("mon", "fri").get_next_value(datetime(2024, 2, 7), field) == 2
        assert (
            WeekdayRangeExpression("mon", "fri").get_next_value(datetime(2024, 2, 10), field)
            is None
        )


class TestWeekdayPosition:
    def test_attributes(self):
        expr = WeekdayPositionExpression("2nd", "fri")
        assert (expr.option_num, expr.weekday) == (1, 4)
        assert WeekdayPositionExpression("LAST", "Sun").option_num == 5
        assert str(expr) == "2nd fri"
        assert repr(expr) == "WeekdayPositionExpression('2nd', 'fri')"

    def test_errors(self):
        with pytest.raises(ValueError) as exc:
            WeekdayPositionExpression("6th", "fri")
        assert str(exc.value) == 'Invalid weekday position "6th"'
        with pytest.raises(ValueError) as exc:
            WeekdayPositionExpression("1st", "5")
        assert str(exc.value) == 'Invalid weekday name "5"'

    @pytest.mark.parametrize(
        "option, weekday, day, expected",
        [
            ("1st", "mon", 1, 5),  # February 2024 starts on a Thursday
            ("1st", "thu", 1, 1),
            ("2nd", "thu", 1, 8),
            ("5th", "thu", 1, 29),
            ("5th", "fri", 1, None),
            ("last", "thu", 1, 29),
            ("last", "fri", 1, 23),
            ("last", "fri", 24, None),
            ("3rd", "sat", 17, 17),
        ],
    )
    def test_next_value(self, option, weekday, day, expected):
        expr = WeekdayPositionExpression(option, weekday)
        # the field argument is not used
        assert expr.get_next_value(datetime(2024, 2, day), "unused") == expected

    def test_equality(self):
        assert WeekdayPositionExpression("1st", "mon") == WeekdayPositionExpression("1st", "mon")
        assert WeekdayPositionExpression("1st", "mon") != WeekdayPositionExpression("2nd", "mon")
        assert WeekdayPositionExpression("1st", "mon") != WeekdayPositionExpression("1st", "tue")


class TestLastDayOfMonth:
    def test_next_value(self):
        expr = LastDayOfMonthExpression()
        assert expr.get_next_value(datetime(2024, 2, 3), "unused") == 29
        assert expr.get_next_value(datetime(2023, 2, 3), "unused") == 28
        assert expr.get_next_value(datetime(2023, 12, 31), "unused") == 31

    def test_str_repr(self):
        assert str(LastDayOfMonthExpression()) == "last"
        assert repr(LastDayOfMonthExpression()) == "LastDayOfMonthExpression()"
        assert LastDayOfMonthExpression() == LastDayOfMonthExpression()


class TestWeekdayOfMonth:
    def test_next_value(self):
        expr = WeekdayOfMonthExpression("sat", "sun")
        assert expr.get_next_value(datetime(2024, 2, 5), "unused") == 10
        assert expr.get_next_value(datetime(2024, 2, 11), "unused") == 11
        assert expr.get_next_value(datetime(2024, 2, 26), "unused") is None

    def test_str_repr_eq(self):
        assert str(WeekdayOfMonthExpression("mon", "fri")) == "mon-fri"
        assert str(WeekdayOfMonthExpression(6)) == "sun"
        assert repr(WeekdayOfMonthExpression("mon")) == "WeekdayOfMonthExpression('mon')"
        assert WeekdayOfMonthExpression(0, 4) == WeekdayOfMonthExpression("mon", "fri")

    def test_bad_range(self):
        with pytest.raises(ValueError):
            WeekdayOfMonthExpression("fri", "mon")

    def test_month_days(self):
        # a month of 29 days starting on a Thursday (3)
        assert WeekdayOfMonthExpression("mon")._month_days(3, 29) == [5, 12, 19, 26]


def test_iso_week_values_agree_with_the_calendar():
    """The per-kind-of-year tables rely on ISO week numbers depending only on the weekday of
    January 1st and on whether the year and the one before are leap years."""
    seen: dict = {}
    for year in range(1970, 2500):
        first_weekday = date(year, 1, 1).weekday()
        leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
        previous_leap = (year - 1) % 4 == 0 and ((year - 1) % 100 != 0 or (year - 1) % 400 == 0)
        weeks = tuple(
            date.fromordinal(date(year, 1, 1).toordinal() + offset).isocalendar()[1]
            for offset in range(365 + leap)
        )
        assert seen.setdefault((first_weekday, leap, previous_leap), weeks) == weeks
