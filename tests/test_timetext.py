"""The text forms of time values (quartzite.timetext)."""

from __future__ import annotations

from datetime import datetime, time, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from quartzite.timetext import (
    format_datetime,
    format_time,
    format_timedelta,
    format_timezone,
    parse_datetime,
    parse_time,
    parse_timedelta,
    parse_timezone,
)

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")


# --- round trips and fixed forms ----------------------------------------------------------------


@pytest.mark.parametrize(
    "tz, text",
    [
        (timezone.utc, "UTC"),
        (BERLIN, "Europe/Berlin"),
        (ZoneInfo("Etc/GMT+5"), "Etc/GMT+5"),
        (timezone(timedelta(hours=5, minutes=30)), "UTC+05:30"),
        (timezone(-timedelta(hours=3)), "UTC-03:00"),
        (timezone(timedelta(hours=2), "EET"), "UTC+02:00 EET"),
        (timezone(timedelta(seconds=3661, microseconds=5)), "UTC+01:01:01.000005"),
    ],
)
def test_timezone_text(tz: Any, text: str) -> None:
    assert format_timezone(tz) == text
    parsed = parse_timezone(text)
    assert parsed == tz
    assert parsed.tzname(None) == tz.tzname(None) or isinstance(tz, ZoneInfo)


def test_timezone_without_text_form() -> None:
    dateutil_tz = pytest.importorskip("dateutil.tz")
    with pytest.raises(TypeError, match="has no text form"):
        format_timezone(dateutil_tz.gettz("Europe/Berlin"))


def test_datetime_text_is_readable() -> None:
    value = datetime(2030, 3, 10, 8, 0, tzinfo=NEW_YORK)
    assert format_datetime(value) == "2030-03-10T08:00:00-04:00[America/New_York]"
    assert format_datetime(datetime(2030, 1, 1, 0, 0, 0, 5)) == "2030-01-01T00:00:00.000005"


@pytest.mark.parametrize("fold", [0, 1])
def test_datetime_text_keeps_the_fold(fold: int) -> None:
    value = datetime(2030, 11, 3, 1, 30, fold=fold, tzinfo=NEW_YORK)
    parsed = parse_datetime(format_datetime(value))
    assert parsed.fold == fold
    assert parsed.tzinfo is NEW_YORK
    assert parsed.utcoffset() == value.utcoffset()


ZONES = st.sampled_from(
    [
        timezone.utc,
        BERLIN,
        NEW_YORK,
        ZoneInfo("Australia/Lord_Howe"),
        ZoneInfo("Asia/Kathmandu"),
        timezone(timedelta(hours=-9, minutes=-30)),
    ]
)


@given(st.datetimes(timezones=ZONES, allow_imaginary=False))
def test_datetime_text_round_trip(value: datetime) -> None:
    parsed = parse_datetime(format_datetime(value))
    assert parsed == value  # the same instant
    assert parsed.tzinfo == value.tzinfo
    assert parsed.replace(tzinfo=None) == value.replace(tzinfo=None)  # the same wall time
    assert parsed.utcoffset() == value.utcoffset()


@given(st.timedeltas())
def test_timedelta_text_round_trip(value: timedelta) -> None:
    assert parse_timedelta(format_timedelta(value)) == value


@pytest.mark.parametrize(
    "value, text",
    [
        (timedelta(0), "PT0S"),
        (timedelta(hours=1, minutes=30), "PT1H30M"),
        (timedelta(days=1, microseconds=500000), "P1DT0.500000S"),
        (timedelta(weeks=2), "P14D"),
        (-timedelta(seconds=5), "-PT5S"),
    ],
)
def test_timedelta_text(value: timedelta, text: str) -> None:
    assert format_timedelta(value) == text
    assert parse_timedelta(text) == value


@pytest.mark.parametrize("text", ["", "P", "PT", "1H", "PT1.1234567S", "P1W"])
def test_invalid_timedelta_text(text: str) -> None:
    with pytest.raises(ValueError, match="Invalid duration"):
        parse_timedelta(text)


@given(st.times(timezones=ZONES))
def test_time_text_round_trip(value: time) -> None:
    parsed = parse_time(format_time(value))
    assert parsed == value
    assert parsed.tzinfo == value.tzinfo


@pytest.mark.parametrize(
    "value, text",
    [
        (time(3, 0, 8), "03:00:08"),
        (time(3, 0, 8, 500, tzinfo=BERLIN), "03:00:08.000500[Europe/Berlin]"),
        (time(23, 59, tzinfo=timezone.utc), "23:59:00[UTC]"),
    ],
)
def test_time_text(value: time, text: str) -> None:
    assert format_time(value) == text
    assert parse_time(text) == value


def test_longest_duration_round_trips() -> None:
    for value in (timedelta.max, timedelta.min + timedelta(microseconds=1)):
        assert parse_timedelta(format_timedelta(value)) == value


def test_a_duration_longer_than_a_timedelta_is_a_clear_value_error() -> None:
    with pytest.raises(ValueError, match=r"'P9999999999D'.*longer than the longest duration"):
        parse_timedelta("P9999999999D")


def test_hours_past_a_day_are_read_as_elapsed_time() -> None:
    assert parse_timedelta("PT90M") == timedelta(minutes=90)
    assert parse_timedelta("PT36H") == timedelta(hours=36)


@pytest.mark.parametrize(
    "parser, text, expected",
    [
        (parse_datetime, "yesterday", "Invalid datetime text 'yesterday'"),
        (parse_datetime, "2030-01-01T10:00[Europe/Berlin]", "needs an offset"),
        (parse_datetime, "2030-13-01T10:00:00+00:00", "Invalid datetime text"),
        (parse_datetime, "2030-01-01T10:00:00+00:00[UTC", "Invalid datetime text"),
        (parse_time, "25:00", "Invalid time text '25:00'"),
        (parse_time, "noon", "Invalid time text 'noon'"),
        (parse_timezone, "UTC+25:00", "less than 24 hours"),
        (parse_timezone, "/etc/passwd", "Invalid time zone text"),
        (parse_timedelta, "P1W", "Invalid duration text 'P1W'"),
        (parse_timedelta, "PT\u0661S", "Invalid duration text"),
    ],
)
def test_bad_text_is_a_value_error_quoting_it(parser: Any, text: str, expected: str) -> None:
    with pytest.raises(ValueError, match=expected):
        parser(text.encode().decode("unicode_escape"))


def test_an_unknown_zone_key_is_a_lookup_error_with_examples() -> None:
    with pytest.raises(LookupError, match=r"Unknown time zone 'Nowhere/Zone' .*'Europe/Berlin'"):
        parse_timezone("Nowhere/Zone")
    with pytest.raises(LookupError, match="Nowhere/Zone"):
        parse_datetime("2030-01-01T10:00:00+00:00[Nowhere/Zone]")


@pytest.mark.parametrize("parser", [parse_datetime, parse_time, parse_timedelta, parse_timezone])
def test_a_value_that_is_not_text_is_a_type_error(parser: Any) -> None:
    with pytest.raises(TypeError, match=r"\(str\), got int"):
        parser(5)
