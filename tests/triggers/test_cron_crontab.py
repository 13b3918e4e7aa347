"""Tests for ``CronTrigger.from_crontab`` (API contract §4.4 and the extras of issue 3: macros,
a leading seconds field and standard crontab weekdays)."""

from __future__ import annotations

import pickle
from datetime import datetime, timezone

import pytest

from quartzite.triggers.cron import CronTrigger
from quartzite.triggers.cron.expressions import WeekdayOfMonthExpression

UTC = timezone.utc


def dt(*args, tz=UTC):
    return datetime(*args, tzinfo=tz)


def fields_text(trigger: CronTrigger) -> dict:
    return {field.name: (str(field), field.is_default) for field in trigger.fields}


class TestFromCrontab:
    def test_fields(self):
        trigger = CronTrigger.from_crontab("0-5/2 8 1,15 jan-mar mon-fri", timezone=UTC)
        assert fields_text(trigger) == {
            "year": ("*", True),
            "month": ("jan-mar", False),
            "day": ("1,15", False),
            "week": ("*", True),
            "day_of_week": ("mon-fri", False),
            "hour": ("8", False),
            "minute": ("0-5/2", False),
            "second": ("0", True),
        }

    def test_default_weekday_numbers_start_on_monday(self):
        trigger = CronTrigger.from_crontab("0 9 * * 0", timezone=UTC)
        # 2024-01-01 is a Monday
        assert trigger.get_next_fire_time(None, dt(2024, 1, 2, tz=UTC)) == dt(2024, 1, 8, 9, tz=UTC)

    def test_default_day_and_weekday_both_apply(self):
        trigger = CronTrigger.from_crontab("0 0 13 * fri", timezone=UTC)
        assert trigger.get_next_fire_time(None, dt(2024, 1, 1, tz=UTC)) == dt(2024, 9, 13, tz=UTC)

    @pytest.mark.parametrize("expr, count", [("* * * *", 4), ("* * * * * * *", 7), ("", 0)])
    def test_wrong_number_of_fields(self, expr, count):
        with pytest.raises(ValueError) as exc:
            CronTrigger.from_crontab(expr, timezone=UTC)
        # the contract's message, then what six fields mean and the line (issue 8)
        assert str(exc.value) == (
            f"Wrong number of fields; got {count}, expected 5 (minute hour day month "
            f"day_of_week), or 6 with a leading second field, in {expr!r}"
        )

    def test_seconds_field(self):
        trigger = CronTrigger.from_crontab("*/20 30 9 * * *", timezone=UTC)
        assert str(trigger.fields[7]) == "*/20" and not trigger.fields[7].is_default
        now = dt(2024, 1, 1, 9, 30, 21, tz=UTC)
        assert trigger.get_next_fire_time(None, now) == dt(2024, 1, 1, 9, 30, 40, tz=UTC)

    @pytest.mark.parametrize(
        "macro, now, expected",
        [
            ("@yearly", dt(2024, 5, 1, tz=UTC), dt(2025, 1, 1, tz=UTC)),
            ("@annually", dt(2024, 5, 1, tz=UTC), dt(2025, 1, 1, tz=UTC)),
            ("@monthly", dt(2024, 5, 1, 0, 0, 1, tz=UTC), dt(2024, 6, 1, tz=UTC)),
            ("@weekly", dt(2024, 1, 1, tz=UTC), dt(2024, 1, 7, tz=UTC)),
            ("@daily", dt(2024, 1, 1, 1, tz=UTC), dt(2024, 1, 2, tz=UTC)),
            ("@midnight", dt(2024, 1, 1, 1, tz=UTC), dt(2024, 1, 2, tz=UTC)),
            ("@hourly", dt(2024, 1, 1, 1, 1, tz=UTC), dt(2024, 1, 1, 2, tz=UTC)),
            (" @HOURLY ", dt(2024, 1, 1, 1, 1, tz=UTC), dt(2024, 1, 1, 2, tz=UTC)),
        ],
    )
    def test_macros(self, macro, now, expected):
        trigger = CronTrigger.from_crontab(macro, timezone=UTC)
        assert trigger.get_next_fire_time(None, now) == expected

    def test_unknown_macro(self):
        with pytest.raises(ValueError, match='Unknown crontab macro "@reboot"'):
            CronTrigger.from_crontab("@reboot", timezone=UTC)

    def test_standard_weekdays(self):
        for expr in ("0 9 * * 0", "0 9 * * 7", "0 9 * * sun"):
            trigger = CronTrigger.from_crontab(expr, timezone=UTC, standard_weekdays=True)
            assert str(trigger.fields[4]) == "sun"
        trigger = CronTrigger.from_crontab("0 9 * * 1-5", timezone=UTC, standard_weekdays=True)
        assert str(trigger.fields[4]) == "mon-fri"
        trigger = CronTrigger.from_crontab("0 9 * * 5-7", timezone=UTC, standard_weekdays=True)
        assert str(trigger.fields[4]) == "fri-sun"
        trigger = CronTrigger.from_crontab("0 9 * * */2", timezone=UTC, standard_weekdays=True)
        assert str(trigger.fields[4]) == "tue,thu,sat-sun"
        trigger = CronTrigger.from_crontab("0 9 * * 0-7", timezone=UTC, standard_weekdays=True)
        assert str(trigger.fields[4]) == "*"

    def test_standard_weekdays_or_semantics(self):
        trigger = CronTrigger.from_crontab("0 0 1,15 * 1", timezone=UTC, standard_weekdays=True)
        assert str(trigger) == (
            "cron[month='*', day='1,15,mon', day_of_week='*', hour='0', minute='0']"
        )
        assert WeekdayOfMonthExpression("mon") in trigger.fields[2].expressions
        fire_times = []
        fire_time = trigger.get_next_fire_time(None, dt(2024, 1, 2, tz=UTC))
        for _ in range(5):
            fire_times.append(fire_time.day)
            fire_time = trigger.get_next_fire_time(fire_time, fire_time)
        assert fire_times == [8, 15, 22, 29, 1]  # Mondays, the 15th and the 1st

    def test_standard_weekdays_star_means_and(self):
        # Vixie cron: a field starting with "*" is not a restriction, so no OR
        trigger = CronTrigger.from_crontab("0 0 */2 * 1", timezone=UTC, standard_weekdays=True)
        assert str(trigger.fields[4]) == "mon"
        assert trigger.get_next_fire_time(None, dt(2024, 1, 2, tz=UTC)) == dt(2024, 1, 15, tz=UTC)

    def test_standard_weekdays_pickle(self):
        trigger = CronTrigger.from_crontab("0 0 1 * 1", timezone=UTC, standard_weekdays=True)
        restored = pickle.loads(pickle.dumps(trigger))
        now = dt(2024, 1, 2, tz=UTC)
        assert restored.get_next_fire_time(None, now) == trigger.get_next_fire_time(None, now)

    @pytest.mark.parametrize(
        "dow, message",
        [
            ("8", "the last value (8) is higher than the maximum value (7)"),
            ("x", 'Invalid weekday name "x"'),
            ("5-1", 'in expression "5-1" for field "day_of_week"'),
            ("1/0", 'Invalid step in expression "1/0" for field "day_of_week"'),
            ("1-", 'Unrecognized expression "1-" for field "day_of_week"'),
        ],
    )
    def test_standard_weekday_errors(self, dow, message):
        with pytest.raises(ValueError) as exc:
            CronTrigger.from_crontab(f"0 0 * * {dow}", timezone=UTC, standard_weekdays=True)
        assert message in str(exc.value)
