"""Helpers named by the public API: time zones, datetime conversion and callable references."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from functools import partial
from types import BuiltinFunctionType, FunctionType, MethodType
from typing import Any, Callable, Iterable, Mapping, overload
from weakref import WeakKeyDictionary
from zoneinfo import ZoneInfo

__all__ = (
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
)

UTC = timezone.utc


class _Undefined:
    """Sentinel for "argument not given" where ``None`` is a meaningful value."""

    __slots__ = ()

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return "<undefined>"

    def __reduce__(self) -> str:
        return "undefined"


#: The "not given" sentinel (falsy, ``repr`` is ``<undefined>``).
undefined: Any = _Undefined()


def asint(text: Any) -> int | None:
    """Convert ``text`` to an int, passing ``None`` through."""
    if text is None:
        return None
    return int(text)


_TRUE_STRINGS = frozenset(("true", "yes", "on", "y", "t", "1"))
_FALSE_STRINGS = frozenset(("false", "no", "off", "n", "f", "0"))


def asbool(obj: Any) -> bool:
    """Interpret a configuration value (``"yes"``, ``"off"``, ``1`` ...) as a boolean."""
    if isinstance(obj, str):
        lowered = obj.strip().lower()
        if lowered in _TRUE_STRINGS:
            return True
        if lowered in _FALSE_STRINGS:
            return False
        raise ValueError(f'Unable to interpret value "{lowered}" as boolean')
    return bool(obj)


def asdate(obj: Any) -> Any:
    """Parse an ISO 8601 date string; other values are returned as they are."""
    if isinstance(obj, str):
        return date.fromisoformat(obj)
    return obj


def astimezone(obj: Any) -> tzinfo | None:
    """Turn a time zone name or object into a :class:`~datetime.tzinfo` (``ZoneInfo`` if possible).

    pytz zones are converted to their ``ZoneInfo`` equivalent (or a fixed offset).
    """
    if obj is None:
        return None
    if isinstance(obj, str):
        if obj == "UTC":
            return UTC
        return ZoneInfo(obj)
    if isinstance(obj, tzinfo):
        if isinstance(obj, ZoneInfo):
            return obj
        if obj.tzname(None) == "local":
            raise ValueError(
                "Unable to determine the name of the local timezone -- you must explicitly "
                "specify the name of the local timezone. Please refrain from using timezones like "
                "EST to prevent problems with daylight saving time. Instead, use a locale based "
                "timezone name (such as Europe/Helsinki)."
            )
        if hasattr(obj, "zone"):  # pytz
            zone = obj.zone
            if zone:
                return ZoneInfo(zone)
            offset = obj.utcoffset(None)
            return timezone(offset) if offset is not None else UTC
        return obj
    raise TypeError(f"Expected tzinfo, got {type(obj).__name__} instead")


_DATE_REGEX = re.compile(
    r"(?P<year>\d{4})-(?P<month>\d{1,2})-(?P<day>\d{1,2})"
    r"(?:[ T](?P<hour>\d{1,2}):(?P<minute>\d{1,2}):(?P<second>\d{1,2})"
    r"(?:\.(?P<microsecond>\d{1,6}))?"
    r"(?P<timezone>Z|[+-]\d\d:\d\d)?)?$"
)


@overload
def convert_to_datetime(input: None, tz: Any, arg_name: str) -> None: ...


@overload
def convert_to_datetime(input: str | date | datetime, tz: Any, arg_name: str) -> datetime: ...


def convert_to_datetime(input: Any, tz: Any, arg_name: str) -> datetime | None:
    """Convert a datetime, date or date string to an aware datetime.

    Naive values are interpreted in ``tz``; a string with an offset (or ``Z``) keeps it.

    :raises ValueError: for a string that is not a valid date, or a naive value without ``tz``
    :raises TypeError: for any other type
    """
    if input is None:
        return None
    if isinstance(input, datetime):
        dt = input
    elif isinstance(input, date):
        dt = datetime.combine(input, time())
    elif isinstance(input, str):
        match = _DATE_REGEX.match(input)
        if not match:
            raise ValueError("Invalid date string")
        values = match.groupdict()
        tzname = values.pop("timezone")
        if tzname == "Z":
            tz = UTC
        elif tzname:
            hours, minutes = (int(part) for part in tzname[1:].split(":"))
            sign = 1 if tzname[0] == "+" else -1
            tz = timezone(sign * timedelta(hours=hours, minutes=minutes))
        # Quirk kept from the reference: the fraction is read as a count of microseconds.
        fields = {key: int(value or 0) for key, value in values.items()}
        dt = datetime(
            fields["year"],
            fields["month"],
            fields["day"],
            fields["hour"],
            fields["minute"],
            fields["second"],
            fields["microsecond"],
        )
    else:
        raise TypeError(f"Unsupported type for {arg_name}: {type(input).__name__}")

    if dt.tzinfo is not None:
        return dt
    if tz is None:
        raise ValueError(
            f'The "tz" argument must be specified if {arg_name} has no timezone information'
        )
    if isinstance(tz, str):
        tz = astimezone(tz)
    return localize(dt, tz)


def datetime_to_utc_timestamp(timeval: datetime | None) -> float | None:
    """Convert an aware datetime to a UTC POSIX timestamp (``None`` passes through)."""
    if timeval is None:
        return None
    if timeval.tzinfo is None:  # naive values are taken as UTC
        timeval = timeval.replace(tzinfo=UTC)
    return timeval.timestamp()


def utc_timestamp_to_datetime(timestamp: float | None) -> datetime | None:
    """Convert a UTC POSIX timestamp to an aware UTC datetime (``None`` passes through)."""
    if timestamp is None:
        return None
    return datetime.fromtimestamp(timestamp, UTC)


def timedelta_seconds(delta: timedelta) -> float:
    """Return the length of ``delta`` in seconds, as a float."""
    return delta.total_seconds()


def datetime_ceil(dateval: datetime) -> datetime:
    """Round ``dateval`` up to the next whole second (unchanged when already whole)."""
    if dateval.microsecond > 0:
        return datetime_utc_add(dateval, timedelta(seconds=1, microseconds=-dateval.microsecond))
    return dateval


def datetime_utc_add(dateval: datetime, tdelta: timedelta) -> datetime:
    """Add ``tdelta`` as elapsed time (in UTC) rather than wall-clock time."""
    original_tz = dateval.tzinfo
    if original_tz is None:
        return dateval + tdelta
    return (dateval.astimezone(UTC) + tdelta).astimezone(original_tz)


def datetime_repr(dateval: datetime | None) -> str:
    """Format a datetime as ``YYYY-MM-DD HH:MM:SS TZ`` (``"None"`` for ``None``)."""
    return dateval.strftime("%Y-%m-%d %H:%M:%S %Z") if dateval else "None"


def timezone_repr(tz: tzinfo) -> str:
    """Return the key of a ``ZoneInfo``, or the ``repr`` of any other time zone."""
    if isinstance(tz, ZoneInfo):
        return tz.key
    return repr(tz)


def localize(dt: datetime, tzinfo: Any) -> datetime:
    """Attach ``tzinfo`` to a naive datetime, resolving non-existent and ambiguous times."""
    if hasattr(tzinfo, "localize"):  # pytz
        return tzinfo.localize(dt)
    return normalize(dt.replace(tzinfo=tzinfo))


def normalize(dt: datetime) -> datetime:
    """Round-trip ``dt`` through its POSIX timestamp in its own zone.

    A wall time skipped by a DST change is moved forward; an ambiguous one gets fold 0.
    """
    return datetime.fromtimestamp(dt.timestamp(), dt.tzinfo)


def get_callable_name(func: Callable[..., Any]) -> str:
    """Return the best available display name for ``func``.

    :raises TypeError: if ``func`` is not callable
    """
    if isinstance(func, MethodType):
        self = func.__self__
        owner = self if isinstance(self, type) else type(self)
        return f"{owner.__qualname__}.{func.__name__}"
    if isinstance(func, (type, FunctionType, BuiltinFunctionType)):
        return func.__qualname__
    if callable(func):
        return type(func).__qualname__
    raise TypeError(f"Unable to determine a name for {func!r} -- maybe it is not a callable?")


def obj_to_ref(obj: Any) -> str:
    """Return the textual reference (``"module:qualname"``) to a module level object.

    :raises ValueError: for a partial, a lambda or a nested function
    """
    if isinstance(obj, partial):
        raise ValueError("Cannot create a reference to a partial()")

    name = get_callable_name(obj)
    if "<lambda>" in name:
        raise ValueError("Cannot create a reference to a lambda")
    if "<locals>" in name:
        raise ValueError("Cannot create a reference to a nested function")

    module = obj.__self__.__module__ if isinstance(obj, MethodType) else obj.__module__
    return f"{module}:{name}"


def ref_to_obj(ref: str) -> Any:
    """Resolve a ``"module:qualname"`` reference to the object it names.

    :raises TypeError: if ``ref`` is not a string
    :raises ValueError: if it has no ``:``
    :raises LookupError: if the module cannot be imported or the object is not found in it
    """
    if not isinstance(ref, str):
        raise TypeError("References must be strings")
    if ":" not in ref:
        raise ValueError("Invalid reference")

    modulename, rest = ref.split(":", 1)
    try:
        obj = __import__(modulename, fromlist=[rest])
    except ImportError as exc:
        raise LookupError(f"Error resolving reference {ref}: could not import module") from exc

    try:
        for name in rest.split("."):
            obj = getattr(obj, name)
        return obj
    except Exception:
        raise LookupError(f"Error resolving reference {ref}: error looking up object")


def maybe_ref(ref: Any) -> Any:
    """Resolve ``ref`` with :func:`ref_to_obj` if it is a string, else return it as is."""
    if not isinstance(ref, str):
        return ref
    return ref_to_obj(ref)


_signature_cache: WeakKeyDictionary[Any, Any] = WeakKeyDictionary()


def _get_signature(func: Callable[..., Any]) -> Any:
    """Return ``inspect.signature(func)`` (``None`` if it has none), cached for plain functions."""
    from inspect import signature

    cacheable = type(func) is FunctionType
    if cacheable:
        sig = _signature_cache.get(func)
        if sig is not None:
            return sig
    try:
        sig = signature(func, follow_wrapped=False)
    except ValueError:
        return None
    if cacheable:
        _signature_cache[func] = sig
    return sig


# Call shapes (number of positional args, keyword names) already found valid, per function.
_valid_call_shapes: WeakKeyDictionary[Any, set[tuple[int, frozenset[str]]]] = WeakKeyDictionary()


def check_callable_args(
    func: Callable[..., Any], args: Iterable[Any], kwargs: Mapping[str, Any]
) -> None:
    """Check that ``func`` can be called with ``args`` and ``kwargs``.

    :raises ValueError: naming the arguments that do not fit the signature
    """
    args = list(args)
    if type(func) is not FunctionType:
        _check_call_shape(func, args, kwargs)
        return

    shape = (len(args), frozenset(kwargs))
    valid_shapes = _valid_call_shapes.get(func)
    if valid_shapes is not None and shape in valid_shapes:
        return
    _check_call_shape(func, args, kwargs)
    _valid_call_shapes.setdefault(func, set()).add(shape)


def _check_call_shape(func: Callable[..., Any], args: list[Any], kwargs: Mapping[str, Any]) -> None:
    pos_kwargs_conflicts: list[str] = []
    positional_only_kwargs: list[str] = []
    unsatisfied_args: list[str] = []
    unsatisfied_kwargs: list[str] = []
    unmatched_args = list(args)
    unmatched_kwargs = list(kwargs)
    has_varargs = has_var_kwargs = False
    # inspect is costly to import and only needed when jobs are added
    from inspect import Parameter

    sig = _get_signature(func)
    if sig is None:
        # Some built-ins have no introspectable signature: nothing to check.
        return

    for param in sig.parameters.values():
        if param.kind == Parameter.POSITIONAL_OR_KEYWORD:
            if param.name in unmatched_kwargs and unmatched_args:
                pos_kwargs_conflicts.append(param.name)
            elif unmatched_args:
                del unmatched_args[0]
            elif param.name in unmatched_kwargs:
                unmatched_kwargs.remove(param.name)
            elif param.default is Parameter.empty:
                unsatisfied_args.append(param.name)
        elif param.kind == Parameter.POSITIONAL_ONLY:
            if unmatched_args:
                del unmatched_args[0]
            elif param.name in unmatched_kwargs:
                unmatched_kwargs.remove(param.name)
                positional_only_kwargs.append(param.name)
            elif param.default is Parameter.empty:
                unsatisfied_args.append(param.name)
        elif param.kind == Parameter.KEYWORD_ONLY:
            if param.name in unmatched_kwargs:
                unmatched_kwargs.remove(param.name)
            elif param.default is Parameter.empty:
                unsatisfied_kwargs.append(param.name)
        elif param.kind == Parameter.VAR_POSITIONAL:
            has_varargs = True
        elif param.kind == Parameter.VAR_KEYWORD:
            has_var_kwargs = True

    if pos_kwargs_conflicts:
        raise ValueError(
            "The following arguments are supplied in both args and kwargs: "
            + ", ".join(pos_kwargs_conflicts)
        )
    if positional_only_kwargs:
        raise ValueError(
            "The following arguments cannot be given as keyword arguments: "
            + ", ".join(positional_only_kwargs)
        )
    if unsatisfied_args:
        raise ValueError(
            "The following arguments have not been supplied: " + ", ".join(unsatisfied_args)
        )
    if unsatisfied_kwargs:
        raise ValueError(
            "The following keyword-only arguments have not been supplied in kwargs: "
            + ", ".join(unsatisfied_kwargs)
        )
    if not has_varargs and unmatched_args:
        raise ValueError(
            "The list of positional arguments is longer than the target callable can handle "
            f"(allowed: {len(args) - len(unmatched_args)}, given in args: {len(args)})"
        )
    if not has_var_kwargs and unmatched_kwargs:
        raise ValueError(
            "The target callable does not accept the following keyword arguments: "
            + ", ".join(unmatched_kwargs)
        )


def iscoroutinefunction_partial(func: Any) -> bool:
    """Tell whether ``func`` (possibly wrapped in ``functools.partial``) is a coroutine function."""
    while isinstance(func, partial):
        func = func.func
    if type(func) is FunctionType:  # fast path, checked for every submitted job
        # CO_COROUTINE is 0x80; inspect.markcoroutinefunction() (3.12+) sets the marker.
        return bool(func.__code__.co_flags & 0x80) or hasattr(func, "_is_coroutine_marker")

    from inspect import iscoroutinefunction

    return iscoroutinefunction(func)
