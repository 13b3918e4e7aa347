"""Serializers turn a job's state (``Job.__getstate__()``) into bytes for a persistent job store.

Two are built in:

* :class:`PickleSerializer` (the default, compatible with APScheduler's stores): any picklable
  argument works, but loading a row runs whatever code the pickle names, so whoever can write the
  table can run code in every process that reads it.
* :class:`JSONSerializer`: a readable JSON document. Arguments must be JSON values; the trigger's
  state is written with typed encodings for datetimes, dates, times, time zones, time spans and
  cron fields. Loading never runs code named by the row, except importing and calling the job's
  function (which ``allowed_modules`` can restrict).

A store takes ``serializer=`` as an instance or one of the names ``"pickle"`` and ``"json"``.
"""

from __future__ import annotations

import json
import math
import pickle
import re
from abc import ABCMeta, abstractmethod
from collections.abc import Iterable, Mapping
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from .triggers.base import BaseTrigger
from .util import UTC, obj_to_ref, ref_to_obj

__all__ = (
    "BaseSerializer",
    "JSONSerializer",
    "PickleSerializer",
    "format_datetime",
    "format_time",
    "format_timedelta",
    "format_timezone",
    "parse_datetime",
    "parse_time",
    "parse_timedelta",
    "parse_timezone",
    "resolve_serializer",
)


class BaseSerializer(metaclass=ABCMeta):
    """Converts job state dicts to bytes and back."""

    @abstractmethod
    def serialize(self, state: dict[str, Any]) -> bytes:
        """Return the bytes that represent the job state ``state`` (from ``Job.__getstate__()``).

        :raises TypeError: if the state holds a value this serializer cannot store
        """

    @abstractmethod
    def deserialize(self, data: bytes) -> dict[str, Any]:
        """Return the job state dict (for ``Job.__setstate__()``) that ``data`` represents."""

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}()"


class PickleSerializer(BaseSerializer):
    """Stores job state with :mod:`pickle` (the format of APScheduler's job stores).

    :param protocol: the pickle protocol to write with
    """

    def __init__(self, protocol: int = pickle.HIGHEST_PROTOCOL) -> None:
        self.protocol = protocol

    def serialize(self, state: dict[str, Any]) -> bytes:
        return pickle.dumps(state, self.protocol)

    def deserialize(self, data: bytes) -> dict[str, Any]:
        state = pickle.loads(data)
        if not isinstance(state, dict):
            raise TypeError(f"Expected a pickled job state dict, got {type(state).__name__}")
        return state

    def __repr__(self) -> str:
        return f"PickleSerializer(protocol={self.protocol})"


# --- text forms of time values ---------------------------------------------------------------

_TIMEDELTA_RE = re.compile(
    r"(?P<sign>-)?P(?:(?P<days>\d+)D)?"
    r"(?:T(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+)(?:\.(?P<micros>\d{1,6}))?S)?)?"
)
_FIXED_OFFSET_RE = re.compile(
    r"UTC(?P<offset>[+-]\d\d:\d\d(?::\d\d(?:\.\d{1,6})?)?)(?: (?P<name>.+))?"
)
_ZONED_RE = re.compile(r"(?P<value>[^\[]+)(?:\[(?P<zone>[^\]]+)\])?")


def format_timezone(tz: tzinfo) -> str:
    """Return the text form of a time zone: ``UTC``, a zone key, or ``UTC+02:00`` (fixed offset).

    :raises TypeError: for a time zone that has no text form (a ``ZoneInfo`` built from a file,
        a ``dateutil`` zone ...)
    """
    if tz is UTC:
        return "UTC"
    if isinstance(tz, ZoneInfo) and tz.key:
        return tz.key
    if isinstance(tz, timezone):
        offset = tz.utcoffset(None)
        if not offset:
            return "UTC"
        sign = "-" if offset < timedelta(0) else "+"
        text = f"UTC{sign}{_format_offset(abs(offset))}"
        name = tz.tzname(None)
        return text if name == text else f"{text} {name}"
    raise TypeError(f"The JSON serializer cannot store the time zone {tz!r}")


def _format_offset(offset: timedelta) -> str:
    hours, rest = divmod(offset.seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    text = f"{hours:02d}:{minutes:02d}"
    if seconds or offset.microseconds:
        text += f":{seconds:02d}"
        if offset.microseconds:
            text += f".{offset.microseconds:06d}"
    return text


def parse_timezone(text: str) -> tzinfo:
    """Return the time zone whose text form (see :func:`format_timezone`) is ``text``."""
    if text == "UTC":
        return UTC
    match = _FIXED_OFFSET_RE.fullmatch(text)
    if match:
        offset_text = match.group("offset")
        sign = -1 if offset_text[0] == "-" else 1
        parts = offset_text[1:].split(":")
        seconds = float(parts[2]) if len(parts) > 2 else 0.0
        offset = sign * timedelta(hours=int(parts[0]), minutes=int(parts[1]), seconds=seconds)
        name = match.group("name")
        return timezone(offset, name) if name else timezone(offset)
    return ZoneInfo(text)


def format_datetime(value: datetime) -> str:
    """Return ``value`` as ISO 8601 text, its time zone appended in brackets (RFC 9557 style).

    Example: ``2024-03-10T08:00:00-04:00[America/New_York]``. The offset pins the instant (and so
    the fold of an ambiguous wall time); the bracketed zone restores the ``tzinfo``.
    """
    if value.tzinfo is None:
        return value.isoformat()
    return f"{value.isoformat()}[{format_timezone(value.tzinfo)}]"


def parse_datetime(text: str) -> datetime:
    """Return the datetime whose text form (see :func:`format_datetime`) is ``text``."""
    match = _ZONED_RE.fullmatch(text)
    if not match:
        raise ValueError(f"Invalid datetime text: {text!r}")
    value = datetime.fromisoformat(match.group("value"))
    zone = match.group("zone")
    if zone:
        if value.tzinfo is None:
            raise ValueError(f"Invalid datetime text (zone without offset): {text!r}")
        value = value.astimezone(parse_timezone(zone))
    return value


def format_time(value: time) -> str:
    """Return ``value`` as ``HH:MM:SS[.ffffff]``, its time zone appended in brackets."""
    text = value.replace(tzinfo=None).isoformat()
    return f"{text}[{format_timezone(value.tzinfo)}]" if value.tzinfo is not None else text


def parse_time(text: str) -> time:
    """Return the time whose text form (see :func:`format_time`) is ``text``."""
    match = _ZONED_RE.fullmatch(text)
    if not match:
        raise ValueError(f"Invalid time text: {text!r}")
    value = time.fromisoformat(match.group("value"))
    zone = match.group("zone")
    return value.replace(tzinfo=parse_timezone(zone)) if zone else value


def format_timedelta(value: timedelta) -> str:
    """Return ``value`` as an ISO 8601 duration, e.g. ``PT1H30M``, ``P1DT0.5S``, ``-PT5S``."""
    sign = "-" if value < timedelta(0) else ""
    value = abs(value)
    hours, rest = divmod(value.seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    text = sign + "P" + (f"{value.days}D" if value.days else "")
    clock = (f"{hours}H" if hours else "") + (f"{minutes}M" if minutes else "")
    if seconds or value.microseconds:
        clock += f"{seconds}.{value.microseconds:06d}S" if value.microseconds else f"{seconds}S"
    if clock:
        text += "T" + clock
    return text if text not in ("P", "-P") else "PT0S"


def parse_timedelta(text: str) -> timedelta:
    """Return the time span whose text form (see :func:`format_timedelta`) is ``text``."""
    match = _TIMEDELTA_RE.fullmatch(text)
    if not match or text.endswith(("P", "T")):
        raise ValueError(f"Invalid duration text: {text!r}")
    parts = match.groupdict()
    value = timedelta(
        days=int(parts["days"] or 0),
        hours=int(parts["hours"] or 0),
        minutes=int(parts["minutes"] or 0),
        seconds=int(parts["seconds"] or 0),
        microseconds=int((parts["micros"] or "0").ljust(6, "0")),
    )
    return -value if parts["sign"] else value


# --- the typed encoding of trigger state ----------------------------------------------------


def _module_of(ref: str) -> str:
    return ref.partition(":")[0]


def _cron_field_class() -> Any:
    """The cron field base class, or ``None`` while the cron trigger is not available."""
    try:
        from .triggers.cron.fields import BaseField
    except ImportError:  # pragma: no cover - the cron package is optional for this module
        return None
    return BaseField


class JSONSerializer(BaseSerializer):
    """Stores job state as a readable JSON document (UTF-8).

    The job's fields are written as they are (``next_run_time`` as ISO 8601 text with the zone in
    brackets); ``args`` and ``kwargs`` must be JSON values (tuples come back as lists). The
    trigger is written as ``{"$object": "module:Class", "state": {...}}`` over its
    ``__getstate__()``, where values JSON cannot hold are tagged: ``{"$datetime": ...}``,
    ``{"$date": ...}``, ``{"$time": ...}``, ``{"$timedelta": "PT1H"}``, ``{"$tz": ...}``,
    ``{"$cron_field": ...}`` (and ``{"$dict": ...}`` for a mapping whose keys start with ``$``).

    :param allowed_modules: if given, the only modules (and their submodules) whose functions a
        stored job may call, and whose trigger classes a row may name besides quartzite's own;
        a row naming anything else is refused when it is read, and such a job is refused when it
        is stored (``ValueError``). ``None`` (the default) allows any importable function.
    :param indent: indentation of the written JSON (``None``: compact, one line)
    """

    def __init__(
        self, allowed_modules: Iterable[str] | None = None, indent: int | None = None
    ) -> None:
        self.allowed_modules = tuple(allowed_modules) if allowed_modules is not None else None
        self.indent = indent

    def __repr__(self) -> str:
        return f"JSONSerializer(allowed_modules={self.allowed_modules!r})"

    # -- the job document

    def serialize(self, state: dict[str, Any]) -> bytes:
        job_id = state.get("id")
        self._check_function(state.get("func"), job_id)
        document: dict[str, Any] = {}
        for key, value in state.items():
            if key in ("args", "kwargs"):
                _check_json_value(value, key, job_id)
                document[key] = value
            elif key == "next_run_time" and value is not None:
                document[key] = self._format(format_datetime, value, key, job_id)
            else:
                document[key] = self._encode(value, key, job_id)
        try:
            text = json.dumps(
                document,
                ensure_ascii=False,
                allow_nan=False,
                indent=self.indent,
                separators=None if self.indent else (",", ":"),
            )
        except ValueError as exc:  # a non-finite float outside the arguments
            raise TypeError(f'Job "{job_id}" cannot be stored as JSON: {exc}') from None
        return text.encode("utf-8")

    def deserialize(self, data: bytes) -> dict[str, Any]:
        document = json.loads(data)
        if not isinstance(document, dict):
            raise TypeError(f"Expected a JSON object, got {type(document).__name__}")
        self._check_function(document.get("func"), document.get("id"))
        state: dict[str, Any] = {}
        for key, value in document.items():
            if key in ("args", "kwargs"):
                state[key] = value
            elif key == "next_run_time":
                state[key] = parse_datetime(value) if value is not None else None
            else:
                state[key] = self._decode(value)
        return state

    def _check_function(self, func_ref: Any, job_id: Any) -> None:
        if isinstance(func_ref, str) and not self._is_allowed(_module_of(func_ref)):
            raise ValueError(
                f'Job "{job_id}" calls {func_ref}, which is outside the allowed modules '
                f"{', '.join(self.allowed_modules or ())}"
            )

    def _is_allowed(self, module: str) -> bool:
        if self.allowed_modules is None:
            return True
        return any(
            module == allowed or module.startswith(allowed + ".")
            for allowed in self.allowed_modules
        )

    # -- typed values

    def _encode(self, value: Any, path: str, job_id: Any) -> Any:
        if value is None or isinstance(value, (bool, int, str)):
            return value
        if isinstance(value, float):
            if not math.isfinite(value):
                raise _not_storable(job_id, path, f"the non-finite float {value!r}")
            return value
        if isinstance(value, (list, tuple)):
            return [
                self._encode(item, f"{path}[{index}]", job_id) for index, item in enumerate(value)
            ]
        # datetime before date: a datetime is a date
        if isinstance(value, datetime):
            return {"$datetime": self._format(format_datetime, value, path, job_id)}
        if isinstance(value, date):
            return {"$date": value.isoformat()}
        if isinstance(value, time):
            return {"$time": self._format(format_time, value, path, job_id)}
        if isinstance(value, timedelta):
            return {"$timedelta": format_timedelta(value)}
        if isinstance(value, tzinfo):
            return {"$tz": self._format(format_timezone, value, path, job_id)}
        if isinstance(value, Mapping):
            encoded = {}
            for key, item in value.items():
                if not isinstance(key, str):
                    raise _not_storable(job_id, f"{path}[{key!r}]", "a non-string key")
                encoded[key] = self._encode(item, f"{path}[{key!r}]", job_id)
            if any(key.startswith("$") for key in encoded):
                return {"$dict": encoded}
            return encoded
        field_class = _cron_field_class()
        if field_class is not None and isinstance(value, field_class):
            return {
                "$cron_field": obj_to_ref(type(value)),
                "name": value.name,
                "expression": str(value),
                "is_default": value.is_default,
            }
        if hasattr(type(value), "__setstate__"):
            state = value.__getstate__()
            if isinstance(state, Mapping):
                return {
                    "$object": obj_to_ref(type(value)),
                    "state": self._encode(state, f"{path}.state", job_id),
                }
        raise _not_storable(job_id, path, f"a {type(value).__name__}")

    @staticmethod
    def _format(formatter: Any, value: Any, path: str, job_id: Any) -> str:
        try:
            text: str = formatter(value)
            return text
        except TypeError as exc:
            raise _not_storable(job_id, path, str(exc)) from None

    def _decode(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self._decode(item) for item in value]
        if not isinstance(value, dict):
            return value
        if "$datetime" in value:
            return parse_datetime(value["$datetime"])
        if "$date" in value:
            return date.fromisoformat(value["$date"])
        if "$time" in value:
            return parse_time(value["$time"])
        if "$timedelta" in value:
            return parse_timedelta(value["$timedelta"])
        if "$tz" in value:
            return parse_timezone(value["$tz"])
        if "$dict" in value:
            return {key: self._decode(item) for key, item in value["$dict"].items()}
        if "$cron_field" in value:
            field_class = self._resolve_class(value["$cron_field"], _cron_field_class())
            return field_class(value["name"], value["expression"], value["is_default"])
        if "$object" in value:
            cls = self._resolve_class(value["$object"], BaseTrigger)
            state = self._decode(value["state"])
            self._check_nested_triggers(cls, state)
            instance = cls.__new__(cls)
            instance.__setstate__(state)
            return instance
        return {key: self._decode(item) for key, item in value.items()}

    def _check_nested_triggers(self, cls: type, state: Any) -> None:
        """Hold the class references inside a combining trigger's state to the same rules as
        ``$object`` (its ``__setstate__`` imports them and restores them itself)."""
        try:
            from .triggers.combining import BaseCombiningTrigger
        except ImportError:  # pragma: no cover - the combining triggers are optional here
            return
        if issubclass(cls, BaseCombiningTrigger) and isinstance(state, dict):
            for entry in state.get("triggers", ()):
                if isinstance(entry, (list, tuple)) and entry and isinstance(entry[0], str):
                    self._resolve_class(entry[0], BaseTrigger)

    def _resolve_class(self, ref: str, base: type | None) -> Any:
        module = _module_of(ref)
        if not (module == "quartzite" or module.startswith("quartzite.")) and not self._is_allowed(
            module
        ):
            raise ValueError(f"The class {ref} is outside the allowed modules")
        cls = ref_to_obj(ref)
        if base is None or not (isinstance(cls, type) and issubclass(cls, base)):
            raise TypeError(f"{ref} is not a {base.__name__ if base else 'known'} class")
        return cls


def _not_storable(job_id: Any, path: str, what: str) -> TypeError:
    return TypeError(f'Job "{job_id}" cannot be stored as JSON: {path} is {what}')


def _check_json_value(value: Any, path: str, job_id: Any, _active: tuple[int, ...] = ()) -> None:
    """Check that ``value`` is a JSON value; raise a ``TypeError`` naming the offending argument."""
    if value is None or isinstance(value, (bool, int, str)):
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise _argument_error(job_id, path, f"the non-finite float {value!r}")
        return
    if not isinstance(value, (list, tuple, dict)):
        raise _argument_error(job_id, path, f"a {type(value).__name__}")
    if id(value) in _active:
        raise _argument_error(job_id, path, "a reference to itself")
    active = (*_active, id(value))
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise _argument_error(job_id, f"{path}[{key!r}]", "under a non-string key")
            _check_json_value(item, f"{path}[{key!r}]", job_id, active)
    else:
        for index, item in enumerate(value):
            _check_json_value(item, f"{path}[{index}]", job_id, active)


def _argument_error(job_id: Any, path: str, what: str) -> TypeError:
    return TypeError(
        f'Job "{job_id}" cannot be stored by the JSON serializer: the argument {path} is {what}, '
        "not a JSON value (None, bool, int, float, str, list, tuple or dict with string keys)"
    )


def resolve_serializer(
    serializer: BaseSerializer | str | None, pickle_protocol: int = pickle.HIGHEST_PROTOCOL
) -> BaseSerializer:
    """Return the serializer a store was configured with.

    :param serializer: an instance, ``"pickle"``, ``"json"``, or ``None`` (pickle)
    :param pickle_protocol: the protocol for a pickle serializer created here
    :raises ValueError: for an unknown name
    :raises TypeError: for anything else that is not a serializer
    """
    if serializer is None or serializer == "pickle":
        return PickleSerializer(pickle_protocol)
    if serializer == "json":
        return JSONSerializer()
    if isinstance(serializer, BaseSerializer):
        return serializer
    if isinstance(serializer, str):
        raise ValueError(f'Unknown serializer "{serializer}" (expected "pickle" or "json")')
    raise TypeError(
        f"Expected a serializer instance, 'pickle' or 'json', got {type(serializer).__name__}"
    )
