"""Serializers turn a job's state (``Job.__getstate__()``) into bytes for a persistent job store.

Two are built in:

* :class:`PickleSerializer` (the default, compatible with APScheduler's stores): any picklable
  argument works, but loading a row runs whatever code the pickle names, so whoever can write the
  table can run code in every process that reads it -- unless the rows are signed.
* :class:`JSONSerializer`: a readable JSON document. Arguments must be JSON values; the trigger
  describes its own state (:meth:`~quartzite.triggers.base.BaseTrigger._json_state`), written
  with typed encodings for datetimes, dates, times, time zones and time spans. Reading a row
  imports only registered trigger classes (or classes under ``allowed_modules``) and never calls
  anything the row names; the job's function is imported later, by the job, and may be limited
  with ``allowed_modules``.

Either serializer can sign its rows (``signing_key=``): each row then starts with an HMAC-SHA256
tag of its content, checked before anything else is done with the row, so that only holders of
the key can write rows the scheduler will act on.

A store takes ``serializer=`` as an instance or one of the names ``"pickle"`` and ``"json"``.
The text forms of time values live in :mod:`quartzite.timetext` and are re-exported here.
"""

from __future__ import annotations

import json
import math
import pickle
import sys
from abc import ABCMeta, abstractmethod
from collections.abc import Iterable, Mapping
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any, Callable

from ._signing import SIGNATURE_PREFIX, SignatureError, SigningKey, _Signer
from .plugins import BUILTIN_TRIGGERS, PluginRegistry
from .timetext import (
    format_datetime,
    format_time,
    format_timedelta,
    format_timezone,
    parse_datetime,
    parse_time,
    parse_timedelta,
    parse_timezone,
)
from .triggers.base import BaseTrigger
from .util import obj_to_ref, ref_to_obj

__all__ = (
    "BaseSerializer",
    "JSONSerializer",
    "PickleSerializer",
    "SignatureError",
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


def _as_bytes(data: Any) -> bytes:
    if isinstance(data, (bytearray, memoryview)):
        return bytes(data)
    if isinstance(data, str):
        return data.encode("utf-8")
    if not isinstance(data, bytes):
        raise TypeError(f"Expected the bytes of a stored job, got {type(data).__name__}")
    return data


class BaseSerializer(metaclass=ABCMeta):
    """Converts job state dicts to bytes and back."""

    @abstractmethod
    def serialize(self, state: dict[str, Any]) -> bytes:
        """Return the bytes that represent the job state ``state`` (from ``Job.__getstate__()``).

        :raises TypeError: if the state holds a value this serializer cannot store
        """

    @abstractmethod
    def deserialize(self, data: bytes) -> dict[str, Any]:
        """Return the job state dict (for ``Job.__setstate__()``) that ``data`` represents.

        :raises SignatureError: (signing serializers) if the row's signature does not match
        """

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}()"


class _SigningSerializer(BaseSerializer):
    """Shared by the built-in serializers: optional signing around the payload."""

    _signer: _Signer | None

    def _setup_signing(
        self, signing_key: SigningKey | Iterable[SigningKey] | None, accept_unsigned: bool
    ) -> None:
        self._signer = _Signer(signing_key, accept_unsigned) if signing_key is not None else None

    @property
    def signed(self) -> bool:
        """Whether this serializer signs the rows it writes (and checks those it reads)."""
        return self._signer is not None

    def _sign(self, payload: bytes) -> bytes:
        return self._signer.sign(payload) if self._signer is not None else payload

    def _verify(self, data: Any) -> bytes:
        data = _as_bytes(data)
        if self._signer is not None:
            return self._signer.verify(data)
        if data.startswith(SIGNATURE_PREFIX):
            raise SignatureError(
                "The row is signed ('qzs1:'), but this serializer has no signing_key to check it"
            )
        return data

    def _signed_repr(self) -> str:
        return ", signed=True" if self._signer is not None else ""


class PickleSerializer(_SigningSerializer):
    """Stores job state with :mod:`pickle` (the format of APScheduler's job stores).

    Unpickling runs code the data names. With ``signing_key``, a row's signature is checked
    before it is unpickled, so a row written by anyone without the key is refused unread.

    :param protocol: the pickle protocol to write with
    :param signing_key: a key (bytes, or str taken as UTF-8) or a list of keys to sign rows
        with; the first one signs, any of them verifies
    :param accept_unsigned: with ``signing_key``, also read rows that carry no signature at all
        (for migrating a store of unsigned rows; a row with a wrong signature is still refused)
    """

    def __init__(
        self,
        protocol: int = pickle.HIGHEST_PROTOCOL,
        *,
        signing_key: SigningKey | Iterable[SigningKey] | None = None,
        accept_unsigned: bool = False,
    ) -> None:
        if not isinstance(protocol, int) or isinstance(protocol, bool):
            raise TypeError(
                f"protocol must be an int, got {protocol!r} ({type(protocol).__name__})"
            )
        if protocol > pickle.HIGHEST_PROTOCOL:
            raise ValueError(
                f"protocol must be at most {pickle.HIGHEST_PROTOCOL} (pickle.HIGHEST_PROTOCOL of "
                f"this Python), got {protocol!r}"
            )
        self.protocol = protocol
        self._setup_signing(signing_key, accept_unsigned)

    def serialize(self, state: dict[str, Any]) -> bytes:
        return self._sign(pickle.dumps(state, self.protocol))

    def deserialize(self, data: bytes) -> dict[str, Any]:
        state = pickle.loads(self._verify(data))
        if not isinstance(state, dict):
            raise TypeError(f"Expected a pickled job state dict, got {type(state).__name__}")
        return state

    def __repr__(self) -> str:
        return f"PickleSerializer(protocol={self.protocol}{self._signed_repr()})"


# --- which trigger classes a row may name ---------------------------------------------------

_trigger_registry = PluginRegistry("quartzite.triggers", BUILTIN_TRIGGERS)
_BUILTIN_TRIGGER_REFS = frozenset(BUILTIN_TRIGGERS.values())


def _registered_trigger_refs() -> set[str]:
    """The class references of the built-in triggers and of the installed trigger entry points
    (read from the entry points' text: nothing is imported here)."""
    refs = set(_BUILTIN_TRIGGER_REFS)
    for name in _trigger_registry:
        value = getattr(_trigger_registry[name], "value", "")
        refs.add(value.partition("[")[0].strip())
    return refs


def _is_registered_trigger(ref: str) -> bool:
    return ref in _BUILTIN_TRIGGER_REFS or ref in _registered_trigger_refs()


# The keys that mark a JSON object as an encoded value rather than a plain mapping.
_VALUE_TAGS = ("$datetime", "$date", "$time", "$timedelta", "$tz", "$dict")
_CLASS_TAGS = ("$trigger", "$object", "$cron_field")


class JSONSerializer(_SigningSerializer):
    """Stores job state as a readable JSON document (UTF-8).

    The job's fields are written as they are (``next_run_time`` as ISO 8601 text with the zone in
    brackets); ``args`` and ``kwargs`` must be JSON values (tuples come back as lists) and are
    read back as plain data, whatever keys they hold. The trigger is written as
    ``{"$trigger": "module:Class", "state": {...}}`` over its ``_json_state()``, where values
    JSON cannot hold are tagged: ``{"$datetime": ...}``, ``{"$date": ...}``, ``{"$time": ...}``,
    ``{"$timedelta": "PT1H"}``, ``{"$tz": ...}``, nested triggers as ``{"$trigger": ...}`` (and
    ``{"$dict": ...}`` for a mapping whose keys start with ``$``). Rows written by earlier
    versions (``{"$object": ...}`` triggers with ``{"$cron_field": ...}`` fields) still load.

    Who can make a scheduler run what: a row names the function the job calls, and its
    arguments. Anyone who can write the store's table or keys can therefore make every
    scheduler reading it call any importable function with any JSON arguments, unless
    ``allowed_modules`` limits the functions or ``signing_key`` limits who can write rows.

    :param allowed_modules: if given, the only modules (and their submodules) whose functions a
        stored job may call; trigger classes from these modules are accepted too, besides the
        registered triggers (the built-in ones and the ``quartzite.triggers`` entry points). A
        row naming anything else is refused when it is read (before anything is imported), and
        such a job is refused when it is stored (``ValueError``). ``None`` (the default) allows
        any importable function and only registered trigger classes.
    :param indent: indentation of the written JSON (``None``: compact, one line)
    :param signing_key: a key (bytes, or str taken as UTF-8) or a list of keys to sign rows
        with; the first one signs, any of them verifies
    :param accept_unsigned: with ``signing_key``, also read rows that carry no signature at all
        (for migrating a store of unsigned rows; a row with a wrong signature is still refused)
    """

    def __init__(
        self,
        allowed_modules: Iterable[str] | None = None,
        indent: int | None = None,
        *,
        signing_key: SigningKey | Iterable[SigningKey] | None = None,
        accept_unsigned: bool = False,
    ) -> None:
        if isinstance(allowed_modules, str):
            raise TypeError(
                f"allowed_modules must be a list of module names, got the string "
                f"{allowed_modules!r} (write [{allowed_modules!r}])"
            )
        self.allowed_modules = tuple(allowed_modules) if allowed_modules is not None else None
        self.indent = indent
        self._setup_signing(signing_key, accept_unsigned)

    def __repr__(self) -> str:
        return f"JSONSerializer(allowed_modules={self.allowed_modules!r}{self._signed_repr()})"

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
                document[key] = _format(format_datetime, value, key, job_id)
            elif key == "trigger":
                document[key] = self._encode_trigger(value, key, job_id)
            else:
                document[key] = self._encode(value, key, job_id, in_trigger=False)
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
        return self._sign(text.encode("utf-8"))

    def deserialize(self, data: bytes) -> dict[str, Any]:
        try:
            document = json.loads(self._verify(data))
        except RecursionError:
            raise ValueError("The row is nested too deeply to be read") from None
        if not isinstance(document, dict):
            raise TypeError(f"Expected a JSON object, got {type(document).__name__}")
        job_id = document.get("id")
        self._check_function(document.get("func"), job_id)
        state: dict[str, Any] = {}
        try:
            for key, value in document.items():
                if key in ("args", "kwargs"):
                    _refuse_class_tags(value, key, job_id)
                    state[key] = value  # plain data: never decoded, so nothing in it is acted on
                elif key == "next_run_time":
                    state[key] = parse_datetime(value) if value is not None else None
                elif key == "trigger":
                    state[key] = self._decode_trigger(value, key)
                else:
                    state[key] = self._decode(value, key, in_trigger=False)
        except RecursionError:
            raise ValueError(f'Job "{job_id}": the row is nested too deeply to be read') from None
        return state

    def _check_function(self, func_ref: Any, job_id: Any) -> None:
        if func_ref is None or self.allowed_modules is None:
            return
        if not isinstance(func_ref, str):
            raise ValueError(
                f'Job "{job_id}": func must be a "module:function" reference, got {func_ref!r}'
            )
        if not self._is_allowed(func_ref.partition(":")[0]):
            raise ValueError(
                f'Job "{job_id}" calls {func_ref}, which is outside the allowed modules '
                f"{', '.join(self.allowed_modules)}"
            )

    def _is_allowed(self, module: str) -> bool:
        return any(
            module == allowed or module.startswith(allowed + ".")
            for allowed in self.allowed_modules or ()
        )

    # -- writing

    def _encode_trigger(self, trigger: Any, path: str, job_id: Any) -> Any:
        if not isinstance(trigger, BaseTrigger):
            raise _not_storable(job_id, path, f"a {type(trigger).__name__}, not a trigger")
        ref = obj_to_ref(type(trigger))
        if not self._may_name_trigger(ref):
            raise ValueError(
                f'Job "{job_id}" cannot be stored as JSON: its trigger class {ref} is neither a '
                "registered trigger nor in allowed_modules, so the row could not be read back "
                "(register it as a quartzite.triggers entry point or add its module to "
                "allowed_modules)"
            )
        state = trigger._json_state()
        return {"$trigger": ref, "state": self._encode(state, f"{path}.state", job_id, True)}

    def _encode(self, value: Any, path: str, job_id: Any, in_trigger: bool) -> Any:
        if value is None or isinstance(value, (bool, int, str)):
            return value
        if isinstance(value, float):
            if not math.isfinite(value):
                raise _not_storable(job_id, path, f"the non-finite float {value!r}")
            return value
        if isinstance(value, (list, tuple)):
            return [
                self._encode(item, f"{path}[{index}]", job_id, in_trigger)
                for index, item in enumerate(value)
            ]
        # datetime before date: a datetime is a date
        if isinstance(value, datetime):
            return {"$datetime": _format(format_datetime, value, path, job_id)}
        if isinstance(value, date):
            return {"$date": value.isoformat()}
        if isinstance(value, time):
            return {"$time": _format(format_time, value, path, job_id)}
        if isinstance(value, timedelta):
            return {"$timedelta": format_timedelta(value)}
        if isinstance(value, tzinfo):
            return {"$tz": _format(format_timezone, value, path, job_id)}
        if isinstance(value, Mapping):
            encoded = {}
            for key, item in value.items():
                if not isinstance(key, str):
                    raise _not_storable(job_id, f"{path}[{key!r}]", "a non-string key")
                encoded[key] = self._encode(item, f"{path}[{key!r}]", job_id, in_trigger)
            if any(key.startswith("$") for key in encoded):
                return {"$dict": encoded}
            return encoded
        if in_trigger and isinstance(value, BaseTrigger):
            return self._encode_trigger(value, path, job_id)
        raise _not_storable(job_id, path, f"a {type(value).__name__}")

    # -- reading

    def _may_name_trigger(self, ref: str) -> bool:
        module = ref.partition(":")[0]
        return _is_registered_trigger(ref) or self._is_allowed(module)

    def _resolve_trigger_class(self, ref: Any, path: str) -> type[BaseTrigger]:
        """Import a trigger class named by a row, only once the name has been checked."""
        if not isinstance(ref, str) or ":" not in ref:
            raise ValueError(f'{path} must name a trigger class as "module:Class", got {ref!r}')
        if not self._may_name_trigger(ref):
            known = ", ".join(sorted(_BUILTIN_TRIGGER_REFS))
            raise ValueError(
                f"{path} names the class {ref}, which is neither a registered trigger nor in "
                f"allowed_modules; it was not imported (built-in triggers: {known})"
            )
        cls = ref_to_obj(ref)
        if not (isinstance(cls, type) and issubclass(cls, BaseTrigger)):
            raise TypeError(f"{path} names {ref}, which is not a BaseTrigger class")
        return cls

    def _decode_trigger(self, value: Any, path: str) -> BaseTrigger:
        if isinstance(value, dict) and set(value) == {"$trigger", "state"}:
            cls = self._resolve_trigger_class(value["$trigger"], path)
            state = self._decode(value["state"], f"{path}.state", in_trigger=True)
            if not isinstance(state, dict):
                raise ValueError(f"{path}.state must be a JSON object, got {state!r}")
            return cls._from_json_state(state)
        if isinstance(value, dict) and set(value) == {"$object", "state"}:
            return self._decode_legacy_trigger(value["$object"], value["state"], path)
        raise ValueError(
            f'{path} must be {{"$trigger": "module:Class", "state": {{...}}}}, got {value!r}'
        )

    def _decode(self, value: Any, path: str, in_trigger: bool) -> Any:
        if isinstance(value, list):
            return [
                self._decode(item, f"{path}[{index}]", in_trigger)
                for index, item in enumerate(value)
            ]
        if not isinstance(value, dict):
            return value
        tags = [tag for tag in (*_VALUE_TAGS, *_CLASS_TAGS) if tag in value]
        if not tags:
            return {
                key: self._decode(item, f"{path}[{key!r}]", in_trigger)
                for key, item in value.items()
            }
        tag = tags[0]
        if tag == "$trigger" and in_trigger:
            return self._decode_trigger(value, path)
        if tag in _CLASS_TAGS:
            raise ValueError(
                f"{path} holds a {tag} reference ({value[tag]!r}), which is not allowed there "
                "(class references are read only where the row's trigger, or a trigger nested "
                "in it, is expected); nothing was imported"
            )
        if len(value) != 1:
            raise ValueError(f"{path}: a {tag} value must have no other keys, got {value!r}")
        text = value[tag]
        if tag == "$dict":
            if not isinstance(text, dict):
                raise ValueError(f"{path}: $dict must hold a JSON object, got {text!r}")
            return {
                key: self._decode(item, f"{path}[{key!r}]", in_trigger)
                for key, item in text.items()
            }
        parsers: dict[str, Callable[[str], Any]] = {
            "$datetime": parse_datetime,
            "$date": _parse_date,
            "$time": parse_time,
            "$timedelta": parse_timedelta,
            "$tz": parse_timezone,
        }
        try:
            return parsers[tag](text)
        except (TypeError, ValueError, LookupError) as exc:
            raise ValueError(f"{path}: {exc}") from None

    # -- rows written before triggers described their own JSON state

    def _decode_legacy_trigger(self, ref: Any, raw_state: Any, path: str) -> BaseTrigger:
        """Read a trigger of the earlier format: ``{"$object": ref, "state": getstate}``, with
        cron fields as ``$cron_field`` objects and nested triggers as ``[ref, state]`` pairs."""
        cls = self._resolve_trigger_class(ref, path)
        if not isinstance(raw_state, dict):
            raise ValueError(f"{path}.state must be a JSON object, got {raw_state!r}")
        combining = sys.modules.get("quartzite.triggers.combining")
        nests = combining is not None and issubclass(cls, combining.BaseCombiningTrigger)
        state: dict[str, Any] = {}
        for key, item in raw_state.items():
            item_path = f"{path}.state[{key!r}]"
            if key == "fields" and hasattr(cls, "FIELDS_MAP") and isinstance(item, list):
                state[key] = [
                    _legacy_cron_field(field, f"{item_path}[{index}]")
                    for index, field in enumerate(item)
                ]
            elif key == "triggers" and nests and isinstance(item, list):
                state[key] = [
                    self._decode_legacy_pair(pair, f"{item_path}[{index}]")
                    for index, pair in enumerate(item)
                ]
            else:
                state[key] = self._decode(item, item_path, in_trigger=False)
        return cls._from_json_state(state)

    def _decode_legacy_pair(self, pair: Any, path: str) -> BaseTrigger:
        if not (isinstance(pair, list) and len(pair) == 2):
            raise ValueError(f"{path} must be a [class reference, state] pair, got {pair!r}")
        return self._decode_legacy_trigger(pair[0], pair[1], path)


def _legacy_cron_field(value: Any, path: str) -> dict[str, Any]:
    """Check an earlier ``$cron_field`` object and hand its parts to the cron trigger, which
    matches the class reference against its own field classes (nothing is imported here)."""
    keys = {"$cron_field", "name", "expression", "is_default"}
    if not (isinstance(value, dict) and set(value) == keys):
        raise ValueError(f"{path} must be a $cron_field object with {sorted(keys)}, got {value!r}")
    if not (
        isinstance(value["$cron_field"], str)
        and isinstance(value["name"], str)
        and isinstance(value["expression"], str)
        and isinstance(value["is_default"], bool)
    ):
        raise ValueError(f"{path} has a part of the wrong type: {value!r}")
    return {
        "class": value["$cron_field"],
        "name": value["name"],
        "expression": value["expression"],
        "is_default": value["is_default"],
    }


def _parse_date(text: Any) -> date:
    if not isinstance(text, str):
        raise TypeError(f"Expected ISO 8601 date text, got {type(text).__name__}")
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"Invalid date text {text!r} (expected e.g. '2030-01-31')") from None


def _format(formatter: Callable[[Any], str], value: Any, path: str, job_id: Any) -> str:
    try:
        return formatter(value)
    except TypeError as exc:
        raise _not_storable(job_id, path, str(exc)) from None


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
        reserved = _class_tag(value)
        if reserved:
            raise _argument_error(job_id, path, f"a dict with the reserved key {reserved!r}")
        for key, item in value.items():
            if not isinstance(key, str):
                raise _argument_error(job_id, f"{path}[{key!r}]", "under a non-string key")
            _check_json_value(item, f"{path}[{key!r}]", job_id, active)
    else:
        for index, item in enumerate(value):
            _check_json_value(item, f"{path}[{index}]", job_id, active)


def _class_tag(value: dict[Any, Any]) -> str | None:
    return next((tag for tag in _CLASS_TAGS if tag in value), None)


def _refuse_class_tags(value: Any, path: str, job_id: Any) -> None:
    """Refuse a class reference tag anywhere in a row's arguments (which are never decoded:
    such a tag there can only come from a forged row)."""
    stack = [(value, path)]
    while stack:
        item, item_path = stack.pop()
        if isinstance(item, dict):
            tag = _class_tag(item)
            if tag:
                raise ValueError(
                    f'Job "{job_id}": {item_path} holds a {tag} reference ({item[tag]!r}), which '
                    "is never valid in a job's arguments; nothing was imported"
                )
            stack.extend((child, f"{item_path}[{key!r}]") for key, child in item.items())
        elif isinstance(item, list):
            stack.extend((child, f"{item_path}[{index}]") for index, child in enumerate(item))


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
