"""Rows written by the JSON serializer before triggers described their own JSON state.

Each row below was written by ``JSONSerializer().serialize(job.__getstate__())`` with the code of
that time (``{"$object": ...}`` triggers, ``{"$cron_field": ...}`` fields, nested triggers as
``[ref, state]`` pairs) and is kept here byte for byte: stores hold such rows, and they must
still load, into triggers equal to those they were written from.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from quartzite.serializers import JSONSerializer
from quartzite.triggers.base import BaseTrigger
from quartzite.triggers.calendarinterval import CalendarIntervalTrigger
from quartzite.triggers.combining import AndTrigger, OrTrigger
from quartzite.triggers.cron import CronTrigger
from quartzite.triggers.date import DateTrigger
from quartzite.triggers.interval import IntervalTrigger

BERLIN = ZoneInfo("Europe/Berlin")

DATE_ROW = '{"version":1,"id":"job1","func":"builtins:print","trigger":{"$object":"quartzite.triggers.date:DateTrigger","state":{"version":1,"run_date":{"$datetime":"2030-10-27T02:30:00+01:00[Europe/Berlin]"}}},"executor":"default","args":[1,"two"],"kwargs":{"sep":" "},"name":"sample","misfire_grace_time":10,"coalesce":true,"max_instances":2,"next_run_time":"2030-01-01T10:30:00+01:00[Europe/Berlin]"}'  # noqa: E501
INTERVAL_ROW = '{"version":1,"id":"job1","func":"builtins:print","trigger":{"$object":"quartzite.triggers.interval:IntervalTrigger","state":{"version":2,"timezone":{"$tz":"Europe/Berlin"},"start_date":{"$datetime":"2030-01-01T09:00:00+01:00[Europe/Berlin]"},"end_date":{"$datetime":"2031-01-01T00:00:00+01:00[Europe/Berlin]"},"interval":{"$timedelta":"PT1H30M"},"jitter":5}},"executor":"default","args":[1,"two"],"kwargs":{"sep":" "},"name":"sample","misfire_grace_time":10,"coalesce":true,"max_instances":2,"next_run_time":"2030-01-01T10:30:00+01:00[Europe/Berlin]"}'  # noqa: E501
CRON_ROW = '{"version":1,"id":"job1","func":"builtins:print","trigger":{"$object":"quartzite.triggers.cron:CronTrigger","state":{"version":2,"timezone":{"$tz":"America/New_York"},"start_date":{"$datetime":"2030-01-01T00:00:00+01:00[Europe/Berlin]"},"end_date":null,"fields":[{"$cron_field":"quartzite.triggers.cron.fields:BaseField","name":"year","expression":"*","is_default":true},{"$cron_field":"quartzite.triggers.cron.fields:MonthField","name":"month","expression":"*","is_default":true},{"$cron_field":"quartzite.triggers.cron.fields:DayOfMonthField","name":"day","expression":"last fri,1","is_default":false},{"$cron_field":"quartzite.triggers.cron.fields:WeekField","name":"week","expression":"*","is_default":true},{"$cron_field":"quartzite.triggers.cron.fields:DayOfWeekField","name":"day_of_week","expression":"mon-fri","is_default":false},{"$cron_field":"quartzite.triggers.cron.fields:BaseField","name":"hour","expression":"8-17/2","is_default":false},{"$cron_field":"quartzite.triggers.cron.fields:BaseField","name":"minute","expression":"0","is_default":true},{"$cron_field":"quartzite.triggers.cron.fields:BaseField","name":"second","expression":"0","is_default":true}],"jitter":2.5}},"executor":"default","args":[1,"two"],"kwargs":{"sep":" "},"name":"sample","misfire_grace_time":10,"coalesce":true,"max_instances":2,"next_run_time":"2030-01-01T10:30:00+01:00[Europe/Berlin]"}'  # noqa: E501
CALENDARINTERVAL_ROW = '{"version":1,"id":"job1","func":"builtins:print","trigger":{"$object":"quartzite.triggers.calendarinterval:CalendarIntervalTrigger","state":{"version":1,"interval":[0,1,0,2],"time":[3,4,5],"start_date":{"$date":"2030-01-31"},"end_date":{"$date":"2031-01-01"},"timezone":{"$tz":"Europe/Berlin"},"jitter":null}},"executor":"default","args":[1,"two"],"kwargs":{"sep":" "},"name":"sample","misfire_grace_time":10,"coalesce":true,"max_instances":2,"next_run_time":"2030-01-01T10:30:00+01:00[Europe/Berlin]"}'  # noqa: E501
COMBINING_ROW = '{"version":1,"id":"job1","func":"builtins:print","trigger":{"$object":"quartzite.triggers.combining:OrTrigger","state":{"version":1,"triggers":[["quartzite.triggers.combining:AndTrigger",{"version":1,"triggers":[["quartzite.triggers.cron:CronTrigger",{"version":2,"timezone":{"$tz":"UTC"},"start_date":null,"end_date":null,"fields":[{"$cron_field":"quartzite.triggers.cron.fields:BaseField","name":"year","expression":"*","is_default":true},{"$cron_field":"quartzite.triggers.cron.fields:MonthField","name":"month","expression":"*","is_default":true},{"$cron_field":"quartzite.triggers.cron.fields:DayOfMonthField","name":"day","expression":"*","is_default":true},{"$cron_field":"quartzite.triggers.cron.fields:WeekField","name":"week","expression":"*","is_default":true},{"$cron_field":"quartzite.triggers.cron.fields:DayOfWeekField","name":"day_of_week","expression":"*","is_default":true},{"$cron_field":"quartzite.triggers.cron.fields:BaseField","name":"hour","expression":"9","is_default":false},{"$cron_field":"quartzite.triggers.cron.fields:BaseField","name":"minute","expression":"0","is_default":true},{"$cron_field":"quartzite.triggers.cron.fields:BaseField","name":"second","expression":"0","is_default":true}],"jitter":null}],["quartzite.triggers.calendarinterval:CalendarIntervalTrigger",{"version":1,"interval":[0,0,0,1],"time":[0,0,0],"start_date":{"$date":"2030-01-01"},"end_date":null,"timezone":{"$tz":"UTC"},"jitter":null}]],"jitter":null}],["quartzite.triggers.date:DateTrigger",{"version":1,"run_date":{"$datetime":"2030-01-01T00:00:00+01:00[Europe/Berlin]"}}]],"jitter":3}},"executor":"default","args":[1,"two"],"kwargs":{"sep":" "},"name":"sample","misfire_grace_time":10,"coalesce":true,"max_instances":2,"next_run_time":"2030-01-01T10:30:00+01:00[Europe/Berlin]"}'  # noqa: E501


def original_triggers() -> dict[str, BaseTrigger]:
    """The triggers the rows were written from."""
    return {
        "date": DateTrigger(datetime(2030, 10, 27, 2, 30, fold=1, tzinfo=BERLIN)),
        "interval": IntervalTrigger(
            minutes=90,
            start_date=datetime(2030, 1, 1, 9, tzinfo=BERLIN),
            end_date=datetime(2031, 1, 1, tzinfo=BERLIN),
            timezone=BERLIN,
            jitter=5,
        ),
        "cron": CronTrigger(
            day_of_week="mon-fri",
            hour="8-17/2",
            day="last fri,1",
            timezone="America/New_York",
            start_date=datetime(2030, 1, 1, tzinfo=BERLIN),
            jitter=2.5,
        ),
        "calendarinterval": CalendarIntervalTrigger(
            months=1,
            days=2,
            hour=3,
            minute=4,
            second=5,
            start_date=date(2030, 1, 31),
            end_date=date(2031, 1, 1),
            timezone=BERLIN,
        ),
        "combining": OrTrigger(
            [
                AndTrigger(
                    [
                        CronTrigger(hour=9, timezone="UTC"),
                        CalendarIntervalTrigger(
                            days=1, timezone="UTC", start_date=date(2030, 1, 1)
                        ),
                    ]
                ),
                DateTrigger(datetime(2030, 1, 1, tzinfo=BERLIN)),
            ],
            jitter=3,
        ),
    }


ROWS = {
    "date": DATE_ROW,
    "interval": INTERVAL_ROW,
    "cron": CRON_ROW,
    "calendarinterval": CALENDARINTERVAL_ROW,
    "combining": COMBINING_ROW,
}


def pickled_form(trigger: BaseTrigger) -> Any:
    state = trigger.__getstate__()
    if "triggers" in state:
        state["triggers"] = [pickled_form(nested) for nested in trigger.triggers]  # type: ignore[attr-defined]
    return type(trigger), state


@pytest.mark.parametrize("name", list(ROWS))
def test_an_earlier_row_loads_into_the_trigger_it_was_written_from(name: str) -> None:
    state = JSONSerializer().deserialize(ROWS[name].encode())
    original = original_triggers()[name]
    assert repr(state["trigger"]) == repr(original)
    assert pickled_form(state["trigger"]) == pickled_form(original)
    assert state["func"] == "builtins:print"
    assert state["args"] == [1, "two"]
    assert state["next_run_time"] == datetime(2030, 1, 1, 10, 30, tzinfo=BERLIN)


@pytest.mark.parametrize("name", list(ROWS))
def test_an_earlier_row_is_written_back_in_the_current_form(name: str) -> None:
    serializer = JSONSerializer()
    state = serializer.deserialize(ROWS[name].encode())
    data = serializer.serialize(state)
    assert b'"$object"' not in data and b'"$cron_field"' not in data
    assert repr(serializer.deserialize(data)["trigger"]) == repr(state["trigger"])


def test_the_fold_of_an_earlier_date_row_is_kept() -> None:
    run_date = JSONSerializer().deserialize(DATE_ROW.encode())["trigger"].run_date
    assert run_date.fold == 1 and run_date.utcoffset().total_seconds() == 3600


@pytest.mark.parametrize(
    "old, new, message",
    [
        (
            '"quartzite.triggers.cron.fields:DayOfWeekField"',
            '"quartzite.triggers.cron.fields:MonthField"',
            "is not one of this trigger's fields",
        ),
        (
            '"quartzite.triggers.cron.fields:BaseField","name":"year"',
            '"os:system","name":"year"',
            "is not one of this trigger's fields",
        ),
        ('"expression":"8-17/2"', '"expression":"8-17/99"', "Error validating expression"),
        ('"is_default":true', '"is_default":"yes"', "a part of the wrong type"),
    ],
)
def test_a_forged_cron_field_in_an_earlier_row_is_refused(old: str, new: str, message: str) -> None:
    assert old in CRON_ROW
    with pytest.raises(ValueError, match=message):
        JSONSerializer().deserialize(CRON_ROW.replace(old, new, 1).encode())
