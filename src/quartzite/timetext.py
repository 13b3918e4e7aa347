"""Text forms of time values: datetimes, times of day, durations and time zones.

Each ``format_*`` function has a ``parse_*`` partner that gives back an equal value, so the forms
can be stored (the JSON serializer writes trigger state with them) and typed by people (the
command line reads them). The forms follow ISO 8601, with one addition borrowed from RFC 9557: a
zone key in brackets after an aware value, so that the value comes back in its own zone and not
only at its own offset.

=================  ================================================  ==========================
value              text                                              notes
=================  ================================================  ==========================
time zone          ``UTC``, ``Europe/Berlin``, ``UTC+05:30 IST``     fixed offsets keep a name
datetime           ``2024-03-10T08:00:00-04:00[America/New_York]``   the offset pins the fold
time of day        ``03:00:08[Europe/Berlin]``                       naive: ``03:00:08``
duration           ``PT1H30M``, ``P1DT0.5S``, ``-PT5S``              days, hours, minutes, secs
=================  ================================================  ==========================

Every parser raises ``TypeError`` for a value that is not text, ``ValueError`` for text that is
not in the expected form, and ``LookupError`` for a zone key this machine does not know.
"""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta, timezone, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .util import UTC

__all__ = (
    "format_datetime",
    "format_time",
    "format_timedelta",
    "format_timezone",
    "parse_datetime",
    "parse_time",
    "parse_timedelta",
    "parse_timezone",
)

_DURATION_RE = re.compile(
    r"(?P<sign>-)?P(?:(?P<days>\d+)D)?"
    r"(?:T(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+)(?:\.(?P<micros>\d{1,6}))?S)?)?",
    re.ASCII,
)
_FIXED_OFFSET_RE = re.compile(
    r"UTC(?P<offset>[+-]\d\d:\d\d(?::\d\d(?:\.\d{1,6})?)?)(?: (?P<name>.+))?",
    re.ASCII,
)
_ZONED_RE = re.compile(r"(?P<value>[^\[\]]+)(?:\[(?P<zone>[^\[\]]+)\])?")
# Durations longer than this are not representable by timedelta (about 2.7 million years).
_MAX_DAYS = timedelta.max.days


def _require_text(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"Expected the text form of a {what} (str), got {type(value).__name__}")
    return value


def format_timezone(tz: tzinfo) -> str:
    """Return the text form of ``tz``: ``UTC``, a zone key, or ``UTC+02:00`` for a fixed offset
    (followed by the offset's name when it has its own, as in ``UTC+02:00 EET``).

    :raises TypeError: for a zone without a text form (a ``ZoneInfo`` read from a file, a
        ``dateutil`` zone ...)
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
    raise TypeError(
        f"The time zone {tz!r} has no text form (expected a ZoneInfo with a key or a fixed offset)"
    )


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
    """Return the time zone whose text form (see :func:`format_timezone`) is ``text``.

    :raises LookupError: for a zone key that is not in this machine's time zone database
    :raises ValueError: for text that is neither a zone key nor a fixed offset form
    """
    _require_text(text, "time zone")
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
        try:
            return timezone(offset, name) if name else timezone(offset)
        except ValueError:
            raise ValueError(
                f"Invalid time zone text {text!r}: the offset must be less than 24 hours"
            ) from None
    try:
        return ZoneInfo(text)
    except ZoneInfoNotFoundError:
        raise LookupError(
            f"Unknown time zone {text!r} (expected a key of the time zone database such as "
            "'Europe/Berlin', 'UTC' or a fixed offset such as 'UTC+02:00')"
        ) from None
    except ValueError:  # e.g. an absolute path, or ".." in the key
        raise ValueError(f"Invalid time zone text {text!r}") from None


def format_datetime(value: datetime) -> str:
    """Return ``value`` as ISO 8601 text, its time zone appended in brackets when it has one.

    Example: ``2024-03-10T08:00:00-04:00[America/New_York]``. The offset pins the instant (and
    so which of two equal wall times is meant); the bracketed zone gives the ``tzinfo`` back.
    """
    if value.tzinfo is None:
        return value.isoformat()
    return f"{value.isoformat()}[{format_timezone(value.tzinfo)}]"


def parse_datetime(text: str) -> datetime:
    """Return the datetime whose text form (see :func:`format_datetime`) is ``text``.

    :raises ValueError: for text that is not in that form, or a zone without an offset
    """
    _require_text(text, "datetime")
    match = _ZONED_RE.fullmatch(text)
    try:
        value = datetime.fromisoformat(match.group("value")) if match else None
    except ValueError:
        value = None
    if match is None or value is None:
        raise ValueError(
            f"Invalid datetime text {text!r} (expected ISO 8601, e.g. "
            "'2024-03-10T08:00:00-04:00[America/New_York]')"
        )
    zone = match.group("zone")
    if zone:
        if value.tzinfo is None:
            raise ValueError(
                f"Invalid datetime text {text!r}: a zone in brackets needs an offset before it"
            )
        value = value.astimezone(parse_timezone(zone))
    return value


def format_time(value: time) -> str:
    """Return ``value`` as ``HH:MM:SS[.ffffff]``, its time zone appended in brackets."""
    text = value.replace(tzinfo=None).isoformat()
    return f"{text}[{format_timezone(value.tzinfo)}]" if value.tzinfo is not None else text


def parse_time(text: str) -> time:
    """Return the time of day whose text form (see :func:`format_time`) is ``text``.

    :raises ValueError: for text that is not in that form
    """
    _require_text(text, "time of day")
    match = _ZONED_RE.fullmatch(text)
    try:
        value = time.fromisoformat(match.group("value")) if match else None
    except ValueError:
        value = None
    if match is None or value is None:
        raise ValueError(
            f"Invalid time text {text!r} (expected HH:MM[:SS[.ffffff]], e.g. '03:00:08[UTC]')"
        )
    zone = match.group("zone")
    return value.replace(tzinfo=parse_timezone(zone)) if zone else value


def format_timedelta(value: timedelta) -> str:
    """Return ``value`` as an ISO 8601 duration, e.g. ``PT1H30M``, ``P1DT0.5S``, ``-PT5S``.

    Only days, hours, minutes and seconds are used (never years, months or weeks), so a
    duration means the same length of time whenever it is applied.
    """
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
    """Return the duration whose text form (see :func:`format_timedelta`) is ``text``.

    Any number of hours, minutes or seconds is accepted (``PT90M`` is ninety minutes).

    :raises ValueError: for text that is not an ISO 8601 duration of days, hours, minutes and
        seconds, or that is too long for a ``timedelta``
    """
    _require_text(text, "duration")
    match = _DURATION_RE.fullmatch(text)
    if not match or text.endswith(("P", "T")):
        raise ValueError(
            f"Invalid duration text {text!r} (expected ISO 8601 days, hours, minutes and "
            "seconds, e.g. 'PT1H30M', 'P1DT0.5S' or '-PT5S')"
        )
    parts = match.groupdict()
    try:
        value = timedelta(
            days=int(parts["days"] or 0),
            hours=int(parts["hours"] or 0),
            minutes=int(parts["minutes"] or 0),
            seconds=int(parts["seconds"] or 0),
            microseconds=int((parts["micros"] or "0").ljust(6, "0")),
        )
    except OverflowError:
        raise ValueError(
            f"Invalid duration text {text!r}: longer than the longest duration ({_MAX_DAYS} days)"
        ) from None
    return -value if parts["sign"] else value
