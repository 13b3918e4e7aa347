"""Tests for ``quartzite.util`` (API contract §8)."""

from __future__ import annotations

import copy
import functools
import inspect
import pickle
import string
import sys
import types
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pytest

from quartzite import util
from quartzite.util import (
    UTC,
    asbool,
    asdate,
    asint,
    astimezone,
    check_callable_args,
    convert_to_datetime,
    datetime_ceil,
    datetime_repr,
    datetime_to_utc_timestamp,
    datetime_utc_add,
    get_callable_name,
    iscoroutinefunction_partial,
    localize,
    maybe_ref,
    normalize,
    obj_to_ref,
    ref_to_obj,
    timedelta_seconds,
    timezone_repr,
    undefined,
    utc_timestamp_to_datetime,
)

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
HELSINKI = ZoneInfo("Europe/Helsinki")
PLUS_TWO = timezone(timedelta(hours=2))


def dummyfunc() -> None:
    pass


async def dummy_coroutine_function() -> None:
    pass


class DummyClass:
    def meth(self) -> None:
        pass

    @staticmethod
    def staticmeth() -> None:
        pass

    @classmethod
    def classmeth(cls) -> None:
        pass

    def __call__(self) -> None:
        pass

    class InnerDummyClass:
        @classmethod
        def innerclassmeth(cls) -> None:
            pass


class DummySubClass(DummyClass):
    pass


class DummyFormatter(string.Formatter):
    """Inherits Python-level methods from a class defined in another module."""


class LocalTimezone(tzinfo):
    """What tzlocal returns when it cannot find the local zone's name."""

    def utcoffset(self, dt: datetime | None) -> timedelta:
        return timedelta(0)

    def dst(self, dt: datetime | None) -> timedelta:
        return timedelta(0)

    def tzname(self, dt: datetime | None) -> str:
        return "local"


class CustomTimezone(tzinfo):
    def utcoffset(self, dt: datetime | None) -> timedelta:
        return timedelta(hours=3)

    def dst(self, dt: datetime | None) -> timedelta:
        return timedelta(0)

    def tzname(self, dt: datetime | None) -> str:
        return "CUSTOM"


def test_all() -> None:
    assert set(util.__all__) == {
        "asbool",
        "asint",
        "astimezone",
        "check_callable_args",
        "convert_to_datetime",
        "datetime_ceil",
        "datetime_to_utc_timestamp",
        "get_callable_name",
        "localize",
        "maybe_ref",
        "normalize",
        "obj_to_ref",
        "ref_to_obj",
        "undefined",
        "utc_timestamp_to_datetime",
    }
    assert len(util.__all__) == 15


def test_utc_constant() -> None:
    assert UTC is timezone.utc


class TestUndefined:
    def test_falsy(self) -> None:
        assert not undefined
        assert bool(undefined) is False

    def test_repr(self) -> None:
        assert repr(undefined) == "<undefined>"

    def test_singleton_survives_copy_and_pickle(self) -> None:
        assert copy.copy(undefined) is undefined
        assert copy.deepcopy(undefined) is undefined
        assert pickle.loads(pickle.dumps(undefined)) is undefined


class TestAsint:
    @pytest.mark.parametrize(
        ("value", "expected"),
        [(None, None), ("5", 5), (" 7 ", 7), (3, 3), ("-2", -2)],
    )
    def test_valid(self, value: object, expected: int | None) -> None:
        assert asint(value) == expected

    def test_invalid(self) -> None:
        with pytest.raises(ValueError):
            asint("5s")


class TestAsbool:
    @pytest.mark.parametrize("value", ["true", " True ", "YES", "On", "y", "T", "1", True, 1, [0]])
    def test_true(self, value: object) -> None:
        assert asbool(value) is True

    @pytest.mark.parametrize(
        "value", ["false", " False ", "NO", "Off", "n", "F", "0", False, 0, [], None]
    )
    def test_false(self, value: object) -> None:
        assert asbool(value) is False

    def test_invalid_string(self) -> None:
        with pytest.raises(ValueError, match=r'^Unable to interpret value "maybe" as boolean$'):
            asbool("maybe")

    def test_invalid_string_message_uses_normalised_value(self) -> None:
        with pytest.raises(ValueError) as exc:
            asbool(" Maybe ")
        assert str(exc.value) == 'Unable to interpret value "maybe" as boolean'


class TestAstimezone:
    def test_utc_string(self) -> None:
        assert astimezone("UTC") is timezone.utc

    def test_zone_name(self) -> None:
        tz = astimezone("Europe/Berlin")
        assert isinstance(tz, ZoneInfo)
        assert tz.key == "Europe/Berlin"

    def test_unknown_zone_name(self) -> None:
        with pytest.raises(ZoneInfoNotFoundError):
            astimezone("Mars/Olympus_Mons")

    def test_zoneinfo_returned_as_is(self) -> None:
        assert astimezone(BERLIN) is BERLIN

    def test_fixed_offset_returned_as_is(self) -> None:
        assert astimezone(PLUS_TWO) is PLUS_TWO
        assert astimezone(timezone.utc) is timezone.utc

    def test_other_tzinfo_returned_as_is(self) -> None:
        tz = CustomTimezone()
        assert astimezone(tz) is tz

    def test_none(self) -> None:
        assert astimezone(None) is None

    @pytest.mark.parametrize(("value", "typename"), [(5, "int"), (b"UTC", "bytes")])
    def test_bad_type(self, value: object, typename: str) -> None:
        with pytest.raises(TypeError, match=rf"^Expected tzinfo, got {typename} instead$"):
            astimezone(value)

    def test_local_timezone_without_name(self) -> None:
        with pytest.raises(ValueError) as exc:
            astimezone(LocalTimezone())
        assert str(exc.value).startswith("Unable to determine the name of the local timezone")

    def test_fixed_offset_named_local_is_refused(self) -> None:
        with pytest.raises(ValueError, match=r"^Unable to determine the name of the local"):
            astimezone(timezone(timedelta(0), "local"))

    def test_bare_tzinfo(self) -> None:
        with pytest.raises(NotImplementedError):
            astimezone(tzinfo())


class TestAstimezonePytz:
    @pytest.fixture
    def pytz(self) -> types.ModuleType:
        return pytest.importorskip("pytz")

    def test_named_zone(self, pytz: types.ModuleType) -> None:
        tz = astimezone(pytz.timezone("Europe/Berlin"))
        assert tz is ZoneInfo("Europe/Berlin")

    def test_localized_zone(self, pytz: types.ModuleType) -> None:
        aware = pytz.timezone("America/New_York").localize(datetime(2020, 7, 1, 12))
        assert astimezone(aware.tzinfo) is ZoneInfo("America/New_York")

    def test_utc(self, pytz: types.ModuleType) -> None:
        assert astimezone(pytz.utc) is ZoneInfo("UTC")

    @pytest.mark.parametrize("minutes", [90, -300])
    def test_fixed_offset(self, pytz: types.ModuleType, minutes: int) -> None:
        tz = astimezone(pytz.FixedOffset(minutes))
        assert isinstance(tz, timezone)
        assert tz.utcoffset(None) == timedelta(minutes=minutes)


class TestAsdate:
    def test_string(self) -> None:
        assert asdate("2020-02-29") == date(2020, 2, 29)

    def test_invalid_string(self) -> None:
        with pytest.raises(ValueError):
            asdate("2021-02-29")

    @pytest.mark.parametrize("value", [date(2020, 1, 2), datetime(2020, 1, 2, 3), None, 5])
    def test_other_values_pass_through(self, value: object) -> None:
        assert asdate(value) is value


class TestConvertToDatetime:
    def test_none(self) -> None:
        assert convert_to_datetime(None, BERLIN, "x") is None

    def test_aware_datetime_unchanged(self) -> None:
        value = datetime(2009, 8, 1, 5, 6, 7, tzinfo=NEW_YORK)
        assert convert_to_datetime(value, BERLIN, "x") is value

    def test_naive_datetime(self) -> None:
        result = convert_to_datetime(datetime(2009, 8, 1, 5, 6, 7, 8), BERLIN, "x")
        assert result == datetime(2009, 8, 1, 5, 6, 7, 8, tzinfo=BERLIN)
        assert result.tzinfo is BERLIN

    def test_date(self) -> None:
        result = convert_to_datetime(date(2009, 8, 1), BERLIN, "x")
        assert result == datetime(2009, 8, 1, tzinfo=BERLIN)
        assert result.tzinfo is BERLIN

    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("2009-8-1", datetime(2009, 8, 1)),
            ("2009-08-01", datetime(2009, 8, 1)),
            ("2009-08-01 5:6:7", datetime(2009, 8, 1, 5, 6, 7)),
            ("2009-08-01 05:06:07", datetime(2009, 8, 1, 5, 6, 7)),
            ("2009-08-01T05:06:07", datetime(2009, 8, 1, 5, 6, 7)),
            ("2009-08-01 05:06:07.123456", datetime(2009, 8, 1, 5, 6, 7, 123456)),
            # Quirk: the fraction is read as a whole number of microseconds
            ("2009-08-01 05:06:07.5", datetime(2009, 8, 1, 5, 6, 7, 5)),
            ("2009-08-01 05:06:07.050", datetime(2009, 8, 1, 5, 6, 7, 50)),
        ],
    )
    def test_naive_string(self, text: str, expected: datetime) -> None:
        result = convert_to_datetime(text, BERLIN, "x")
        assert result == expected.replace(tzinfo=BERLIN)
        assert result.tzinfo is BERLIN

    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("2009-08-01 05:06:07Z", datetime(2009, 8, 1, 5, 6, 7, tzinfo=timezone.utc)),
            (
                "2009-08-01T05:06:07.25+02:30",
                datetime(2009, 8, 1, 5, 6, 7, 25, tzinfo=timezone(timedelta(hours=2.5))),
            ),
            (
                "2009-08-01 05:06:07-05:00",
                datetime(2009, 8, 1, 5, 6, 7, tzinfo=timezone(timedelta(hours=-5))),
            ),
        ],
    )
    def test_string_with_offset_overrides_tz(self, text: str, expected: datetime) -> None:
        result = convert_to_datetime(text, BERLIN, "x")
        assert result == expected
        assert result.utcoffset() == expected.utcoffset()
        assert not isinstance(result.tzinfo, ZoneInfo)

    def test_string_with_offset_needs_no_tz(self) -> None:
        result = convert_to_datetime("2009-08-01 05:06:07Z", None, "x")
        assert result == datetime(2009, 8, 1, 5, 6, 7, tzinfo=timezone.utc)

    @pytest.mark.parametrize(
        "text",
        [
            "bogus",
            "",
            "09-08-01",
            "2009/08/01",
            "2009-08-01 05:06",  # a time without seconds is invalid
            "2009-08-01 05:06:07.1234567",
            "2009-08-01 05:06:07.",
            "2009-08-01Z",
            "2009-08-01 05:06:07 +02:00",
            "2009-08-01 05:06:07+0200",
            "2009-08-01 05:06:07+02",
            " 2009-08-01",
            "2009-08-01 05:06:07 ",
        ],
    )
    def test_invalid_string_is_refused_naming_the_argument_and_value(self, text: str) -> None:
        # The contract's message word for word (code written for APScheduler compares it);
        # the argument and its value in a note.
        with pytest.raises(ValueError) as exc:
            convert_to_datetime(text, BERLIN, "x")
        assert str(exc.value) == "Invalid date string"
        (note,) = exc.value.__notes__
        assert note.startswith(f"x is {text!r} (expected YYYY-MM-DD")

    def test_out_of_range_string(self) -> None:
        with pytest.raises(ValueError):
            convert_to_datetime("2009-13-01", BERLIN, "x")

    @pytest.mark.parametrize(
        ("value", "typename"), [(1234, "int"), (1.5, "float"), (time(5), "time"), ([], "list")]
    )
    def test_unsupported_type(self, value: object, typename: str) -> None:
        with pytest.raises(TypeError, match=rf"^Unsupported type for run_date: {typename}$"):
            convert_to_datetime(value, BERLIN, "run_date")

    @pytest.mark.parametrize("value", [datetime(2009, 8, 1), date(2009, 8, 1), "2009-08-01"])
    def test_naive_without_tz(self, value: object) -> None:
        with pytest.raises(ValueError) as exc:
            convert_to_datetime(value, None, "start_date")
        assert str(exc.value) == (
            'The "tz" argument must be specified if start_date has no timezone information'
        )

    def test_tz_as_string(self) -> None:
        result = convert_to_datetime("2009-08-01 05:06:07", "Europe/Berlin", "x")
        assert result.tzinfo is BERLIN
        assert result.utcoffset() == timedelta(hours=2)

    def test_tz_as_utc_string(self) -> None:
        result = convert_to_datetime(datetime(2009, 8, 1), "UTC", "x")
        assert result.tzinfo is timezone.utc

    def test_nonexistent_time_moved_forward(self) -> None:
        result = convert_to_datetime("2013-03-10 02:30:00", NEW_YORK, "x")
        assert result.replace(tzinfo=None) == datetime(2013, 3, 10, 3, 30)
        assert result.utcoffset() == timedelta(hours=-4)

    def test_ambiguous_time_gets_fold_zero(self) -> None:
        result = convert_to_datetime("2013-11-03 01:30:00", NEW_YORK, "x")
        assert result.replace(tzinfo=None) == datetime(2013, 11, 3, 1, 30)
        assert result.fold == 0
        assert result.utcoffset() == timedelta(hours=-4)

    def test_pytz_zone_localizes(self) -> None:
        pytz = pytest.importorskip("pytz")
        tz = pytz.timezone("Europe/Berlin")
        result = convert_to_datetime(datetime(2009, 8, 1, 12), tz, "x")
        assert result.utcoffset() == timedelta(hours=2)
        assert result.tzinfo.zone == "Europe/Berlin"


class TestLocalizeNormalize:
    def test_localize_attaches_zone(self) -> None:
        result = localize(datetime(2020, 1, 15, 12), BERLIN)
        assert result == datetime(2020, 1, 15, 12, tzinfo=BERLIN)
        assert result.tzinfo is BERLIN
        assert result.utcoffset() == timedelta(hours=1)

    def test_localize_nonexistent_time(self) -> None:
        result = localize(datetime(2021, 3, 28, 2, 30), BERLIN)
        assert result.replace(tzinfo=None) == datetime(2021, 3, 28, 3, 30)
        assert result.utcoffset() == timedelta(hours=2)

    def test_localize_with_pytz(self) -> None:
        pytz = pytest.importorskip("pytz")
        tz = pytz.timezone("America/New_York")
        result = localize(datetime(2020, 7, 1, 12), tz)
        assert result.utcoffset() == timedelta(hours=-4)
        assert result.tzname() == "EDT"

    def test_normalize_nonexistent_time(self) -> None:
        result = normalize(datetime(2013, 3, 10, 2, 30, tzinfo=NEW_YORK))
        assert result.replace(tzinfo=None) == datetime(2013, 3, 10, 3, 30)
        assert result.tzinfo is NEW_YORK

    @pytest.mark.parametrize(("fold", "offset_hours"), [(0, -4), (1, -5)])
    def test_normalize_ambiguous_time_keeps_instant(self, fold: int, offset_hours: int) -> None:
        value = datetime(2013, 11, 3, 1, 30, tzinfo=NEW_YORK, fold=fold)
        result = normalize(value)
        assert result.replace(tzinfo=None) == datetime(2013, 11, 3, 1, 30)
        assert result.fold == fold
        assert result.utcoffset() == timedelta(hours=offset_hours)

    def test_normalize_regular_time_unchanged(self) -> None:
        value = datetime(2020, 6, 1, 12, 0, 0, 5, tzinfo=BERLIN)
        assert normalize(value) == value
        assert normalize(value).tzinfo is BERLIN


class TestTimestamps:
    def test_datetime_to_utc_timestamp(self) -> None:
        value = datetime(2014, 3, 12, 5, 40, 13, 254012, tzinfo=BERLIN)
        result = datetime_to_utc_timestamp(value)
        assert isinstance(result, float)
        assert result == 1394599213.254012

    def test_datetime_to_utc_timestamp_fold(self) -> None:
        first = datetime(2013, 11, 3, 1, 30, tzinfo=NEW_YORK)
        second = first.replace(fold=1)
        assert datetime_to_utc_timestamp(second) - datetime_to_utc_timestamp(first) == 3600

    def test_datetime_to_utc_timestamp_none(self) -> None:
        assert datetime_to_utc_timestamp(None) is None

    def test_utc_timestamp_to_datetime(self) -> None:
        result = utc_timestamp_to_datetime(1394599213.254012)
        assert result == datetime(2014, 3, 12, 4, 40, 13, 254012, tzinfo=timezone.utc)
        assert result.tzinfo is timezone.utc

    def test_utc_timestamp_to_datetime_none(self) -> None:
        assert utc_timestamp_to_datetime(None) is None

    def test_round_trip(self) -> None:
        value = datetime(2099, 12, 31, 23, 59, 59, 999000, tzinfo=HELSINKI)
        assert utc_timestamp_to_datetime(datetime_to_utc_timestamp(value)) == value

    def test_timedelta_seconds(self) -> None:
        result = timedelta_seconds(timedelta(minutes=2, microseconds=500000))
        assert isinstance(result, float)
        assert result == 120.5
        assert timedelta_seconds(timedelta(days=-1)) == -86400.0


class TestDatetimeArithmetic:
    def test_ceil_rounds_up(self) -> None:
        value = datetime(2009, 4, 7, 2, 10, 16, 4000, tzinfo=BERLIN)
        assert datetime_ceil(value) == datetime(2009, 4, 7, 2, 10, 17, tzinfo=BERLIN)

    def test_ceil_whole_second_unchanged(self) -> None:
        value = datetime(2009, 4, 7, 2, 10, 16, tzinfo=BERLIN)
        assert datetime_ceil(value) is value

    def test_ceil_naive(self) -> None:
        assert datetime_ceil(datetime(2009, 4, 7, 23, 59, 59, 1)) == datetime(2009, 4, 8)

    def test_ceil_adds_in_utc(self) -> None:
        # 01:59:59.5 EDT + 0.5 s is 01:00:00 EST, the second occurrence of 01:00
        value = datetime(2013, 11, 3, 1, 59, 59, 500000, tzinfo=NEW_YORK)
        result = datetime_ceil(value)
        assert result.replace(tzinfo=None) == datetime(2013, 11, 3, 1, 0)
        assert result.fold == 1
        assert result.utcoffset() == timedelta(hours=-5)

    def test_utc_add_aware(self) -> None:
        value = datetime(2013, 3, 10, 1, 30, tzinfo=NEW_YORK)
        result = datetime_utc_add(value, timedelta(hours=1))
        assert result.replace(tzinfo=None) == datetime(2013, 3, 10, 3, 30)
        assert result.tzinfo is NEW_YORK
        assert result.astimezone(UTC) - value.astimezone(UTC) == timedelta(hours=1)

    def test_utc_add_naive(self) -> None:
        value = datetime(2013, 3, 10, 1, 30)
        assert datetime_utc_add(value, timedelta(hours=1)) == datetime(2013, 3, 10, 2, 30)


class TestReprs:
    def test_datetime_repr(self) -> None:
        value = datetime(2014, 5, 30, 7, 12, 20, tzinfo=HELSINKI)
        assert datetime_repr(value) == "2014-05-30 07:12:20 EEST"

    def test_datetime_repr_fixed_offset(self) -> None:
        value = datetime(2014, 5, 30, 7, 12, 20, 500, tzinfo=PLUS_TWO)
        assert datetime_repr(value) == "2014-05-30 07:12:20 UTC+02:00"

    def test_datetime_repr_utc(self) -> None:
        value = datetime(2014, 5, 30, 7, 12, 20, tzinfo=timezone.utc)
        assert datetime_repr(value) == "2014-05-30 07:12:20 UTC"

    def test_datetime_repr_none(self) -> None:
        assert datetime_repr(None) == "None"

    def test_timezone_repr(self) -> None:
        assert timezone_repr(BERLIN) == "Europe/Berlin"
        assert timezone_repr(timezone.utc) == "datetime.timezone.utc"
        assert timezone_repr(PLUS_TWO) == repr(PLUS_TWO)
        assert timezone_repr(PLUS_TWO) == "datetime.timezone(datetime.timedelta(seconds=7200))"


class TestGetCallableName:
    @pytest.mark.parametrize(
        ("func", "expected"),
        [
            pytest.param(dummyfunc, "dummyfunc", id="function"),
            pytest.param(DummyClass.meth, "DummyClass.meth", id="unbound method"),
            pytest.param(DummyClass().meth, "DummyClass.meth", id="bound method"),
            pytest.param(DummyClass.staticmeth, "DummyClass.staticmeth", id="staticmethod"),
            pytest.param(DummyClass.classmeth, "DummyClass.classmeth", id="classmethod"),
            pytest.param(
                DummySubClass.classmeth, "DummySubClass.classmeth", id="inherited classmethod"
            ),
            pytest.param(DummySubClass().meth, "DummySubClass.meth", id="inherited method"),
            pytest.param(
                DummyClass.InnerDummyClass.innerclassmeth,
                "DummyClass.InnerDummyClass.innerclassmeth",
                id="nested class classmethod",
            ),
            pytest.param(DummyClass, "DummyClass", id="class"),
            pytest.param(DummyClass.InnerDummyClass, "DummyClass.InnerDummyClass", id="inner"),
            pytest.param(DummyClass(), "DummyClass", id="callable instance"),
            pytest.param(len, "len", id="builtin"),
            pytest.param([].append, "list.append", id="bound builtin"),
            pytest.param(timedelta, "timedelta", id="builtin class"),
            # a method descriptor is a callable instance, like in APScheduler
            pytest.param(str.upper, "method_descriptor", id="method descriptor"),
            pytest.param(functools.partial(dummyfunc), "partial", id="partial"),
        ],
    )
    def test_names(self, func: object, expected: str) -> None:
        assert get_callable_name(func) == expected

    def test_nested_function(self) -> None:
        def inner() -> None:
            pass

        assert get_callable_name(inner) == (
            "TestGetCallableName.test_nested_function.<locals>.inner"
        )

    def test_not_callable(self) -> None:
        with pytest.raises(TypeError) as exc:
            get_callable_name("abc")
        assert str(exc.value) == (
            "Unable to determine a name for 'abc' -- maybe it is not a callable?"
        )


class TestObjToRef:
    @pytest.mark.parametrize(
        ("obj", "qualname"),
        [
            pytest.param(dummyfunc, "dummyfunc", id="function"),
            pytest.param(DummyClass, "DummyClass", id="class"),
            pytest.param(DummyClass.meth, "DummyClass.meth", id="unbound method"),
            pytest.param(DummyClass().meth, "DummyClass.meth", id="bound method"),
            pytest.param(DummyClass.staticmeth, "DummyClass.staticmeth", id="staticmethod"),
            pytest.param(DummyClass.classmeth, "DummyClass.classmeth", id="classmethod"),
            pytest.param(
                DummyClass.InnerDummyClass.innerclassmeth,
                "DummyClass.InnerDummyClass.innerclassmeth",
                id="inner classmethod",
            ),
            pytest.param(
                DummySubClass.classmeth, "DummySubClass.classmeth", id="inherited classmethod"
            ),
        ],
    )
    def test_module_level_objects(self, obj: object, qualname: str) -> None:
        assert obj_to_ref(obj) == f"{__name__}:{qualname}"

    def test_stdlib_class(self) -> None:
        assert obj_to_ref(timedelta) == "datetime:timedelta"

    def test_bound_method_uses_module_of_instance(self) -> None:
        # format() is defined in the "string" module, the instance's class here
        assert obj_to_ref(DummyFormatter().format) == f"{__name__}:DummyFormatter.format"

    def test_callable_instance(self) -> None:
        assert obj_to_ref(DummyClass()) == f"{__name__}:DummyClass"

    def test_partial(self) -> None:
        with pytest.raises(ValueError, match=r"^Cannot create a reference to a partial\(\)$"):
            obj_to_ref(functools.partial(dummyfunc))

    def test_lambda(self) -> None:
        with pytest.raises(ValueError, match=r"^Cannot create a reference to a lambda$"):
            obj_to_ref(lambda: None)

    def test_nested_function(self) -> None:
        def nested() -> None:
            pass

        with pytest.raises(ValueError, match=r"^Cannot create a reference to a nested function$"):
            obj_to_ref(nested)

    def test_round_trip(self) -> None:
        for obj in (dummyfunc, DummyClass.meth, DummyClass.classmeth, DummyClass.InnerDummyClass):
            assert ref_to_obj(obj_to_ref(obj)) == obj


class TestRefToObj:
    def test_module_attribute(self) -> None:
        assert ref_to_obj("datetime:timedelta") is timedelta

    def test_dotted_module_and_attribute_walk(self) -> None:
        assert ref_to_obj("os.path:join") is sys.modules["os.path"].join
        assert ref_to_obj("datetime:timedelta.max") == timedelta.max

    def test_module_only_in_sys_modules(self, monkeypatch: pytest.MonkeyPatch) -> None:
        module = types.ModuleType("quartzite_virtual_module_for_tests")
        module.answer = 42  # type: ignore[attr-defined]
        monkeypatch.setitem(sys.modules, module.__name__, module)
        assert ref_to_obj(f"{module.__name__}:answer") == 42

    @pytest.mark.parametrize("value", [None, 5, timedelta])
    def test_not_a_string(self, value: object) -> None:
        with pytest.raises(TypeError, match=r"^References must be strings$"):
            ref_to_obj(value)  # type: ignore[arg-type]

    def test_no_colon(self) -> None:
        with pytest.raises(ValueError, match=r"^Invalid reference$"):
            ref_to_obj("datetime.timedelta")

    def test_module_not_found(self) -> None:
        with pytest.raises(LookupError) as exc:
            ref_to_obj("quartzite_no_such_module:foo")
        assert str(exc.value) == (
            "Error resolving reference quartzite_no_such_module:foo: could not import module"
        )

    def test_object_not_found(self) -> None:
        with pytest.raises(LookupError) as exc:
            ref_to_obj("datetime:timedelta.no_such_attribute")
        assert str(exc.value) == (
            "Error resolving reference datetime:timedelta.no_such_attribute: "
            "error looking up object"
        )

    def test_maybe_ref(self) -> None:
        assert maybe_ref("datetime:timedelta") is timedelta
        obj = object()
        assert maybe_ref(obj) is obj
        assert maybe_ref(None) is None


def _positional_only(value, /):  # type: ignore[no-untyped-def]
    pass


class TestCheckCallableArgs:
    def test_a_cached_valid_call_shape_is_forgotten_with_its_function(self) -> None:
        import gc

        from quartzite import util

        namespace: dict[str, object] = {}
        exec("def temporary(a, b=1):\n    pass", namespace)
        func = namespace.pop("temporary")
        check_callable_args(func, [1], {})
        check_callable_args(func, [1], {})  # answered from the cache
        with pytest.raises(ValueError, match="have not been supplied: a"):
            check_callable_args(func, [], {})  # a new shape is still checked
        entries = len(util._valid_call_shapes)
        del func
        gc.collect()
        assert len(util._valid_call_shapes) == entries - 1

    def test_accepts_matching_call(self) -> None:
        def func(x, y, z=1, *, w, v=2):  # type: ignore[no-untyped-def]
            pass

        check_callable_args(func, [1], {"y": 2, "w": 3})
        check_callable_args(func, (1, 2, 3), {"w": 3, "v": 4})

    def test_both_args_and_kwargs(self) -> None:
        def func(x, y, z):  # type: ignore[no-untyped-def]
            pass

        with pytest.raises(ValueError) as exc:
            check_callable_args(func, [1, 2], {"x": 1, "y": 2})
        assert str(exc.value) == (
            "The following arguments are supplied in both args and kwargs: x, y"
        )

    def test_positional_only_given_as_keyword(self) -> None:
        with pytest.raises(ValueError) as exc:
            check_callable_args(_positional_only, [], {"value": 1})
        assert str(exc.value) == (
            "The following arguments cannot be given as keyword arguments: value"
        )

    def test_missing_args(self) -> None:
        def func(x, y, z=1):  # type: ignore[no-untyped-def]
            pass

        with pytest.raises(ValueError) as exc:
            check_callable_args(func, [], {})
        assert str(exc.value) == "The following arguments have not been supplied: x, y"

    def test_missing_positional_only_arg(self) -> None:
        with pytest.raises(ValueError) as exc:
            check_callable_args(_positional_only, [], {})
        assert str(exc.value) == "The following arguments have not been supplied: value"

    def test_missing_keyword_only_args(self) -> None:
        def func(*, y, z, w=1):  # type: ignore[no-untyped-def]
            pass

        with pytest.raises(ValueError) as exc:
            check_callable_args(func, [], {"z": 1})
        assert str(exc.value) == (
            "The following keyword-only arguments have not been supplied in kwargs: y"
        )

    def test_too_many_positional_args(self) -> None:
        def func(x, y):  # type: ignore[no-untyped-def]
            pass

        with pytest.raises(ValueError) as exc:
            check_callable_args(func, [1, 2, 3], {})
        assert str(exc.value) == (
            "The list of positional arguments is longer than the target callable can handle "
            "(allowed: 2, given in args: 3)"
        )

    def test_unexpected_kwargs(self) -> None:
        def func(x):  # type: ignore[no-untyped-def]
            pass

        with pytest.raises(ValueError) as exc:
            check_callable_args(func, [1], {"y": 1, "z": 2})
        assert str(exc.value) == (
            "The target callable does not accept the following keyword arguments: y, z"
        )

    def test_varargs_and_varkwargs_accept_anything(self) -> None:
        def func(x, *args, **kwargs):  # type: ignore[no-untyped-def]
            pass

        check_callable_args(func, [1, 2, 3, 4], {"a": 1, "b": 2})

    def test_check_order(self) -> None:
        def func(x, y, *, z):  # type: ignore[no-untyped-def]
            pass

        # conflicts are reported before missing arguments
        with pytest.raises(ValueError, match=r"supplied in both args and kwargs: x$"):
            check_callable_args(func, [1], {"x": 1})
        # missing positional arguments before missing keyword-only ones and unknown keywords
        with pytest.raises(ValueError, match=r"have not been supplied: y$"):
            check_callable_args(func, [1], {"q": 1})
        # missing keyword-only arguments before too many positional arguments
        with pytest.raises(ValueError, match=r"in kwargs: z$"):
            check_callable_args(func, [1, 2, 3], {})
        # too many positional arguments before unknown keywords
        with pytest.raises(ValueError, match=r"\(allowed: 2, given in args: 3\)$"):
            check_callable_args(func, [1, 2, 3], {"z": 1, "q": 1})

    def test_bound_method_excludes_self(self) -> None:
        check_callable_args(DummyClass().meth, [], {})
        with pytest.raises(ValueError, match=r"\(allowed: 0, given in args: 1\)$"):
            check_callable_args(DummyClass().meth, [1], {})

    def test_partial(self) -> None:
        def func(x, y):  # type: ignore[no-untyped-def]
            pass

        check_callable_args(functools.partial(func, 1), [2], {})
        with pytest.raises(ValueError, match=r"have not been supplied: y$"):
            check_callable_args(functools.partial(func, 1), [], {})

    def test_does_not_follow_wrapped(self) -> None:
        def inner(x):  # type: ignore[no-untyped-def]
            pass

        @functools.wraps(inner)
        def wrapper(*args, **kwargs):  # type: ignore[no-untyped-def]
            return inner(*args, **kwargs)

        check_callable_args(wrapper, [], {"anything": 1})

    def test_class(self) -> None:
        class Target:
            def __init__(self, a, b=2):  # type: ignore[no-untyped-def]
                pass

        check_callable_args(Target, [1], {})
        with pytest.raises(ValueError, match=r"have not been supplied: a$"):
            check_callable_args(Target, [], {"b": 1})

    def test_no_signature_accepted(self) -> None:
        for candidate in (getattr, next, iter, vars, min, max, dict.pop):
            try:
                inspect.signature(candidate, follow_wrapped=False)
            except ValueError:
                break
        else:  # pragma: no cover - depends on the Python version
            pytest.skip("every candidate builtin has an introspectable signature here")

        check_callable_args(candidate, [1, 2, 3, 4, 5], {"whatever": 1})


class TestIscoroutinefunctionPartial:
    def test_coroutine_function(self) -> None:
        assert iscoroutinefunction_partial(dummy_coroutine_function)

    def test_nested_partials(self) -> None:
        func = functools.partial(functools.partial(dummy_coroutine_function))
        assert iscoroutinefunction_partial(func)

    def test_plain_function(self) -> None:
        assert not iscoroutinefunction_partial(dummyfunc)
        assert not iscoroutinefunction_partial(functools.partial(dummyfunc))

    def test_other_objects(self) -> None:
        assert not iscoroutinefunction_partial(DummyClass())
        assert not iscoroutinefunction_partial(None)
