"""How the command line prints: aligned tables, JSON, colours, local and relative times, and
triggers and durations in words.

Human output is meant for a terminal: times are shown in the local zone (the ``TZ`` environment
variable is honoured) with the zone's abbreviation, next to how far away they are ("in 4 min",
"3 h ago"). Colour is used only when stdout is a terminal and ``NO_COLOR`` is not set
(https://no-color.org). Scripts use ``--json``, where datetimes are ISO 8601 text with their
offset and durations are seconds.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Sequence
from dataclasses import fields
from datetime import date, datetime, timedelta, tzinfo
from enum import Enum
from typing import IO, Any

from tzlocal import get_localzone

from ..job import Job
from ..runs import JobRun, RunStatus
from ..timetext import format_timezone, parse_datetime, parse_timedelta
from ..triggers.base import BaseTrigger
from ..triggers.calendarinterval import CalendarIntervalTrigger
from ..triggers.combining import AndTrigger, OrTrigger
from ..triggers.date import DateTrigger
from ..triggers.interval import IntervalTrigger

__all__ = (
    "EXIT_FAILURE",
    "EXIT_USAGE",
    "CliError",
    "Styler",
    "describe_trigger",
    "format_duration",
    "format_local",
    "format_relative",
    "job_to_json",
    "local_zone",
    "one_line",
    "parse_since",
    "print_json",
    "render_table",
    "run_to_json",
)

_ANSI = {"bold": "1", "dim": "2", "red": "31", "green": "32", "yellow": "33", "cyan": "36"}
_STATUS_STYLES = {
    RunStatus.SUCCESS: "green",
    RunStatus.ERROR: "red",
    RunStatus.TIMEOUT: "red",
    RunStatus.INTERRUPTED: "red",
    RunStatus.MISSED: "yellow",
    RunStatus.MAX_INSTANCES: "yellow",
    RunStatus.RUNNING: "cyan",
    RunStatus.PENDING: "cyan",
}
# Escape sequences do not take room on the screen: strip them when measuring column widths.
_ESCAPE_RE = re.compile(r"\x1b\[[0-9;]*m")
# "1d", "2h30m", "90s", "1w": each unit at most once, largest first.
_SHORT_DURATION_RE = re.compile(
    r"(?:(?P<w>\d+)w)?(?:(?P<d>\d+)d)?(?:(?P<h>\d+)h)?(?:(?P<m>\d+)m(?:in)?)?(?:(?P<s>\d+)s)?",
    re.ASCII | re.IGNORECASE,
)


#: Exit status of a command that failed (unknown job, unreachable store, failed run ...).
EXIT_FAILURE = 1
#: Exit status of a command used wrongly (bad option, malformed config file or cron expression).
EXIT_USAGE = 2


class CliError(Exception):
    """Ends a command: ``main()`` prints ``quartzite: error: MESSAGE`` (one line) on stderr and
    exits with ``status``."""

    def __init__(self, message: str, status: int = EXIT_FAILURE) -> None:
        super().__init__(message)
        self.status = status

    @property
    def line(self) -> str:
        """The message as one line (whatever a library put in it)."""
        return one_line(str(self))


def one_line(text: str) -> str:
    """``text`` with its lines joined by spaces (error messages must stay on one line)."""
    return " ".join(part.strip() for part in str(text).splitlines() if part.strip())


class Styler:
    """Wraps text in ANSI colours, or leaves it alone when colour is off."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled

    @classmethod
    def for_stream(cls, stream: IO[str]) -> Styler:
        """Colour when ``stream`` is a terminal and ``NO_COLOR`` is unset (or empty)."""
        isatty = getattr(stream, "isatty", None)
        return cls(bool(isatty and isatty()) and not os.environ.get("NO_COLOR"))

    def __call__(self, text: str, style: str | None) -> str:
        if not self.enabled or not style or not text:
            return text
        return f"\x1b[{_ANSI[style]}m{text}\x1b[0m"

    def status(self, status: RunStatus | str | None) -> str:
        """A run status, coloured by how it ended (``-`` for none)."""
        if status is None:
            return "-"
        try:
            style = _STATUS_STYLES.get(RunStatus(status))
        except ValueError:
            style = None
        return self(str(status), style)


def _visible_width(text: str) -> int:
    return len(_ESCAPE_RE.sub("", text))


def render_table(
    headers: Sequence[str], rows: Sequence[Sequence[str]], styler: Styler, out: IO[str]
) -> None:
    """Print ``rows`` under ``headers`` in columns aligned to their widest cell.

    The last column is not padded, so a long error message does not push trailing spaces.
    """
    widths = [len(header) for header in headers]
    for row in rows:
        for index, cell in enumerate(row):
            widths[index] = max(widths[index], _visible_width(cell))

    def line(cells: Sequence[str]) -> str:
        padded = [
            cell + " " * (widths[index] - _visible_width(cell))
            for index, cell in enumerate(cells[:-1])
        ]
        return "  ".join([*padded, cells[-1]]).rstrip()

    print(styler(line(list(headers)), "bold"), file=out)
    for row in rows:
        print(line(list(row)), file=out)


def local_zone() -> tzinfo:
    """The zone human output is shown in: the machine's, or the ``TZ`` environment variable's."""
    return get_localzone()


def format_local(value: datetime | None, zone: tzinfo | None = None) -> str:
    """``2026-12-06 09:00:00 CET``: ``value`` in the local zone, with the zone's abbreviation."""
    if value is None:
        return "-"
    local = value.astimezone(zone or local_zone())
    return f"{local:%Y-%m-%d %H:%M:%S} {local.tzname() or ''}".rstrip()


def format_relative(value: datetime | None, now: datetime) -> str:
    """How far ``value`` is from ``now``: ``in 4 min``, ``3 h ago``, ``now``."""
    if value is None:
        return ""
    seconds = (value - now).total_seconds()
    span = abs(seconds)
    if span < 1:
        return "now"
    if span < 60:
        amount = f"{int(span)} s"
    elif span < 90 * 60:
        amount = f"{int(span // 60)} min"
    elif span < 36 * 3600:
        amount = f"{int(span // 3600)} h"
    else:
        days = int(span // 86400)
        amount = f"{days} day" if days == 1 else f"{days} days"
    return f"in {amount}" if seconds > 0 else f"{amount} ago"


def format_when(value: datetime | None, now: datetime, zone: tzinfo | None = None) -> str:
    """``2026-12-06 09:00:00 CET (in 4 min)``, or ``-``."""
    if value is None:
        return "-"
    return f"{format_local(value, zone)} ({format_relative(value, now)})"


def format_duration(seconds: float | None) -> str:
    """A run's length for people: ``0.25 s``, ``3 min 5 s``, ``2 h 10 min``."""
    if seconds is None:
        return "-"
    if seconds < 1:
        return f"{seconds * 1000:.3g} ms"
    if seconds < 60:
        return f"{seconds:.3g} s" if seconds < 10 else f"{seconds:.0f} s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs} s" if secs else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"


def parse_since(text: str, now: datetime) -> datetime:
    """The moment ``--since`` names: a duration back from ``now`` (``1d``, ``2h30m``, ``90s``,
    ``1w`` or ISO 8601 ``PT1H``), or an ISO 8601 datetime (naive ones read in the local zone).

    :raises ValueError: for anything else
    """
    text = text.strip()
    match = _SHORT_DURATION_RE.fullmatch(text)
    if text and match and any(match.groupdict().values()):
        # Short forms are spelled as ISO 8601 and read by timetext, the one duration parser.
        parts = {key: int(value or 0) for key, value in match.groupdict().items()}
        days = parts["w"] * 7 + parts["d"]
        iso = f"P{days}DT{parts['h']}H{parts['m']}M{parts['s']}S"
        return now - parse_timedelta(iso)
    if text.upper().startswith(("P", "-P")):
        return now - parse_timedelta(text.upper())
    try:
        value = parse_datetime(text)
    except ValueError:
        raise ValueError(
            f"invalid --since value {text!r} (expected a duration such as '1d', '2h30m', "
            "'PT90M', or an ISO 8601 time such as '2026-01-31T08:00')"
        ) from None
    return value if value.tzinfo is not None else value.replace(tzinfo=local_zone())


# -- triggers in words --------------------------------------------------------------------------


def _zone_name(zone: Any) -> str:
    try:
        return format_timezone(zone)
    except TypeError:
        return str(zone)


def _interval_words(interval: timedelta) -> str:
    seconds = interval.total_seconds()
    for unit, size in (("week", 604800), ("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            count = int(seconds // size)
            return f"every {unit}" if count == 1 else f"every {count} {unit}s"
    if seconds == 1:
        return "every second"
    return f"every {seconds:g} seconds"


def _calendar_words(trigger: CalendarIntervalTrigger) -> str:
    parts = [
        f"{count} {unit}{'s' if count != 1 else ''}"
        for unit, count in (
            ("year", trigger.years),
            ("month", trigger.months),
            ("week", trigger.weeks),
            ("day", trigger.days),
        )
        if count
    ]
    every = ", ".join(parts)
    time_of_day = getattr(trigger, "_time", None)
    at = f" at {time_of_day:%H:%M:%S}" if time_of_day is not None else ""
    return f"every {every}{at}, {_zone_name(trigger.timezone)}"


def describe_trigger(trigger: BaseTrigger) -> str:
    """The schedule in words: the cron trigger's own ``explain()``, and a short sentence
    built from the fields of the other built-in triggers (``str()`` for unknown ones)."""
    try:
        explain = getattr(trigger, "explain", None)
        if callable(explain):
            return str(explain())
        if isinstance(trigger, IntervalTrigger):
            text = _interval_words(trigger.interval)
            start = trigger.start_date
            if start is not None and start > datetime.now(start.tzinfo):
                text += f" from {format_local(start)}"
            if trigger.end_date:
                text += f" until {format_local(trigger.end_date)}"
            return text
        if isinstance(trigger, DateTrigger):
            return f"once, at {format_local(trigger.run_date)}"
        if isinstance(trigger, CalendarIntervalTrigger):
            return _calendar_words(trigger)
        if isinstance(trigger, (AndTrigger, OrTrigger)):
            joined = "; ".join(describe_trigger(part) for part in trigger.triggers)
            kind = "when all of these agree" if isinstance(trigger, AndTrigger) else "any of"
            return f"{kind}: ({joined})"
        return str(trigger)
    except Exception:  # a broken trigger must not break a listing
        return f"<{type(trigger).__name__}>"


# -- JSON ---------------------------------------------------------------------------------------


def _json_default(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    return repr(value)


def print_json(data: Any, out: IO[str] | None = None) -> None:
    """Print ``data`` as indented JSON (datetimes as ISO 8601, other objects as their repr)."""
    json.dump(data, out or sys.stdout, default=_json_default, indent=2, ensure_ascii=False)
    print(file=out or sys.stdout)


def run_to_json(run: JobRun) -> dict[str, Any]:
    """Every field of a run record, plus its ``duration`` in seconds."""
    data = {field.name: getattr(run, field.name) for field in fields(run)}
    data["status"] = str(run.status)
    data["duration"] = run.duration
    return data


def job_to_json(job: Job, jobstore: str | None = None) -> dict[str, Any]:
    """The fields of a job, with its trigger as text and in words."""
    next_run_time = getattr(job, "next_run_time", None)
    return {
        "id": job.id,
        "name": job.name,
        "func": job.func_ref,
        "args": list(job.args),
        "kwargs": dict(job.kwargs),
        "trigger": str(job.trigger),
        "trigger_description": describe_trigger(job.trigger),
        "next_run_time": next_run_time,
        "paused": next_run_time is None,
        "executor": job.executor,
        "jobstore": jobstore,
        "max_instances": job.max_instances,
        "coalesce": job.coalesce,
        "misfire_grace_time": job.misfire_grace_time,
        "at_most_once": job.at_most_once,
    }
