"""Helpers named by the public API: time zones, datetime conversion and callable references."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from functools import partial, reduce
from types import BuiltinFunctionType, FunctionType, MethodType
from typing import Any, Callable, Iterable, Mapping, overload
from weakref import WeakKeyDictionary, ref
from zoneinfo import ZoneInfo

from ._detail import with_detail

# The contract (API.md §1) fixes __all__ to APScheduler's 15 names; the other public helpers
# (datetime_repr, timezone_repr, iscoroutinefunction_partial ...) are importable by name only.
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
            # "Invalid date string" is the contract's message, compared word for word by code
            # written for APScheduler; what was wrong goes in a note.
            raise with_detail(
                ValueError("Invalid date string"),
                f"{arg_name} is {input!r} (expected YYYY-MM-DD, optionally followed by HH:MM:SS, "
                "a fraction of up to 6 digits, and Z or +HH:MM)",
            )
        values = match.groupdict()
        tzname = values.pop("timezone")
        if tzname == "Z":
            tz = UTC
        elif tzname:  # "+HH:MM" or "-HH:MM"
            offset = timedelta(hours=int(tzname[1:3]), minutes=int(tzname[4:6]))
            tz = timezone(-offset if tzname.startswith("-") else offset)
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
    fraction = dateval.microsecond
    if not fraction:
        return dateval
    return datetime_utc_add(dateval, timedelta(microseconds=1_000_000 - fraction))


def datetime_utc_add(dateval: datetime, tdelta: timedelta) -> datetime:
    """Add ``tdelta`` as elapsed time (in UTC) rather than wall-clock time."""
    zone = dateval.tzinfo
    if zone is None:
        return dateval + tdelta
    moved = dateval.astimezone(UTC) + tdelta
    return moved.astimezone(zone)


_REPR_FORMAT = "%Y-%m-%d %H:%M:%S %Z"


def datetime_repr(dateval: datetime | None) -> str:
    """Format a datetime as ``YYYY-MM-DD HH:MM:SS TZ`` (``"None"`` for ``None``)."""
    if not dateval:
        return "None"
    return dateval.strftime(_REPR_FORMAT)


def timezone_repr(tz: tzinfo) -> str:
    """Return the key of a ``ZoneInfo``, or the ``repr`` of any other time zone."""
    return tz.key if isinstance(tz, ZoneInfo) else repr(tz)


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


# Names that ``get_callable_name`` gives to callables no reference can reach, and what to call
# them in the error (messages fixed by the contract).
_UNREACHABLE_NAME_MARKERS = (("<lambda>", "a lambda"), ("<locals>", "a nested function"))


def obj_to_ref(obj: Any) -> str:
    """Return the textual reference (``"module:qualname"``) to a module level object.

    Whether the reference resolves back is not checked.

    :raises ValueError: for a partial, a lambda or a nested function
    """
    if isinstance(obj, partial):
        raise ValueError("Cannot create a reference to a partial()")
    name = get_callable_name(obj)
    for marker, what in _UNREACHABLE_NAME_MARKERS:
        if marker in name:
            raise ValueError(f"Cannot create a reference to {what}")
    # A bound method is found through the object it is bound to, as get_callable_name names it.
    home = obj.__self__ if isinstance(obj, MethodType) else obj
    return f"{home.__module__}:{name}"


def ref_to_obj(ref: str) -> Any:
    """Resolve a ``"module:qualname"`` reference to the object it names.

    The module part is imported (or taken from :data:`sys.modules`); the part after the colon
    is followed attribute by attribute, so ``"pkg.mod:Outer.Inner.method"`` works.

    :raises TypeError: if ``ref`` is not a string
    :raises ValueError: if it has no ``:``
    :raises LookupError: if the module cannot be imported or the object is not found in it
    """
    if not isinstance(ref, str):
        raise TypeError("References must be strings")
    module_name, colon, qualname = ref.partition(":")
    if not colon:
        raise ValueError("Invalid reference")

    # ``fromlist`` makes __import__ return the named module itself rather than its top package
    # (and import a submodule named after the colon, if there is one).
    try:
        module = __import__(module_name, fromlist=[qualname])
    except ImportError as exc:
        raise LookupError(f"Error resolving reference {ref}: could not import module") from exc
    try:
        return reduce(getattr, qualname.split("."), module)
    except Exception as exc:
        raise LookupError(f"Error resolving reference {ref}: error looking up object") from exc


def maybe_ref(ref: Any) -> Any:
    """Return the object a textual reference names; any other value is returned unchanged."""
    return ref_to_obj(ref) if isinstance(ref, str) else ref


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


# Call shapes (number of positional args, keyword names) already found valid, per function,
# keyed by a weak reference to it. A plain dict rather than a WeakKeyDictionary, whose lookups
# run Python code: this is read for every job added. The reference's callback drops the entry
# when the function goes away (a dead reference still hashes, and equals only itself).
_valid_call_shapes: dict[Any, set[tuple[int, frozenset[str]]]] = {}


def _forget_call_shapes(reference: Any) -> None:
    _valid_call_shapes.pop(reference, None)


def check_callable_args(
    func: Callable[..., Any], args: Iterable[Any], kwargs: Mapping[str, Any]
) -> None:
    """Check that ``func`` can be called with ``args`` and ``kwargs``.

    :raises ValueError: naming the arguments that do not fit the signature
    """
    if type(func) is not FunctionType:
        _check_call_shape(func, list(args), kwargs)
        return

    if type(args) is not tuple and type(args) is not list:
        args = list(args)
    shape = (len(args), frozenset(kwargs))
    valid_shapes = _valid_call_shapes.get(ref(func))
    if valid_shapes is not None and shape in valid_shapes:
        return
    _check_call_shape(func, list(args), kwargs)
    if valid_shapes is None:
        valid_shapes = _valid_call_shapes[ref(func, _forget_call_shapes)] = set()
    valid_shapes.add(shape)


# What ``_check_call_shape`` can find wrong, in the order it reports them (the contract's order
# and messages); each is followed by the offending parameter names.
_CALL_SHAPE_PROBLEMS = (
    ("in_both", "The following arguments are supplied in both args and kwargs: "),
    ("positional_only", "The following arguments cannot be given as keyword arguments: "),
    ("missing", "The following arguments have not been supplied: "),
    ("missing_keyword", "The following keyword-only arguments have not been supplied in kwargs: "),
)


def _check_call_shape(func: Callable[..., Any], args: list[Any], kwargs: Mapping[str, Any]) -> None:
    """Bind ``args`` and ``kwargs`` to the parameters of ``func`` as a call would, without
    calling it, and raise ValueError for the first kind of mismatch found."""
    sig = _get_signature(func)
    if sig is None:
        return  # some built-ins have no signature to check against
    from inspect import Parameter  # costly import, needed only when jobs are added

    spare = len(args)  # positional arguments not bound to a parameter yet
    unbound = dict.fromkeys(kwargs)  # keyword arguments not bound yet, in the given order
    found: dict[str, list[str]] = {problem: [] for problem, _ in _CALL_SHAPE_PROBLEMS}
    takes_extra_args = takes_extra_kwargs = False
    for param in sig.parameters.values():
        kind, name = param.kind, param.name
        required = param.default is Parameter.empty
        if kind is Parameter.VAR_POSITIONAL:
            takes_extra_args = True
        elif kind is Parameter.VAR_KEYWORD:
            takes_extra_kwargs = True
        elif kind is Parameter.KEYWORD_ONLY:
            if name in unbound:
                del unbound[name]
            elif required:
                found["missing_keyword"].append(name)
        elif kind is Parameter.POSITIONAL_OR_KEYWORD and spare and name in unbound:
            found["in_both"].append(name)  # binds neither: the call would fail anyway
        elif spare:
            spare -= 1
        elif name in unbound:
            del unbound[name]
            if kind is Parameter.POSITIONAL_ONLY:
                found["positional_only"].append(name)
        elif required:
            found["missing"].append(name)

    for problem, message in _CALL_SHAPE_PROBLEMS:
        if found[problem]:
            raise ValueError(message + ", ".join(found[problem]))
    if spare and not takes_extra_args:
        raise ValueError(
            "The list of positional arguments is longer than the target callable can handle "
            f"(allowed: {len(args) - spare}, given in args: {len(args)})"
        )
    if unbound and not takes_extra_kwargs:
        raise ValueError(
            "The target callable does not accept the following keyword arguments: "
            + ", ".join(unbound)
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
