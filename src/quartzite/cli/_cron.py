"""``quartzite cron``: check a cron expression, say it in words and list its next fire times.

Two syntaxes are read, told apart by the ``=`` sign:

* crontab: ``"*/5 9-17 * * mon-fri"``, six fields with a leading second, or a macro such as
  ``@daily`` (see :meth:`CronTrigger.from_crontab`);
* the field syntax of ``CronTrigger``: ``"minute=*/5 hour=9-17"`` (also ``start_date``,
  ``end_date`` and ``dst``).

The expression may be one argument or several (``quartzite cron 0 9 '*' '*' mon-fri``).
"""

from __future__ import annotations

import argparse
import warnings
from datetime import datetime
from typing import IO, Any

from ..timetext import format_timezone, parse_datetime, parse_timezone
from ..triggers.cron import CronTrigger
from ..triggers.preview import next_fire_times
from ._output import (
    EXIT_USAGE,
    CliError,
    Styler,
    format_relative,
    local_zone,
    one_line,
    print_json,
)

__all__ = ("add_cron_parser", "parse_expression")

_FIELD_KEYS = (*CronTrigger.FIELD_NAMES, "start_date", "end_date", "dst")


def add_cron_parser(subparsers: Any, parent: argparse.ArgumentParser) -> None:
    """Add ``cron`` to the top-level parser's ``subparsers``."""
    parser = subparsers.add_parser(
        "cron",
        parents=[parent],
        help="check a cron expression and show its next fire times",
        description="Check a cron expression, describe it in words and print its next fire "
        "times. EXPR is crontab syntax ('*/5 9-17 * * mon-fri', '@daily') or CronTrigger field "
        "syntax ('minute=*/5 hour=9-17').",
    )
    parser.add_argument("expression", nargs="+", metavar="EXPR", help="the cron expression")
    parser.add_argument(
        "--tz", metavar="ZONE", help="time zone of the schedule (default: the local zone)"
    )
    parser.add_argument(
        "-n", type=int, default=10, metavar="N", help="how many fire times to print (10)"
    )
    parser.add_argument(
        "--crontab",
        action="store_true",
        help="read the day fields as standard crontab does: 0 or 7 is Sunday, and a day "
        "matches if the day of month OR the day of week matches (default: 0 is Monday, both "
        "must match, as in CronTrigger)",
    )
    parser.add_argument(
        "--from",
        dest="start",
        metavar="TIME",
        help="list fire times from this ISO 8601 time instead of now",
    )
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(handler=show_cron)


def _field_arguments(text: str) -> dict[str, str]:
    values: dict[str, str] = {}
    for token in text.split():
        key, sep, value = token.partition("=")
        if not sep or not key or not value:
            raise CliError(
                f"invalid cron field {token!r}: expected NAME=VALUE, e.g. minute=*/5", EXIT_USAGE
            )
        if key not in _FIELD_KEYS:
            from difflib import get_close_matches

            close = get_close_matches(key, _FIELD_KEYS, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise CliError(
                f"unknown cron field {key!r} (expected one of {', '.join(_FIELD_KEYS)}){hint}",
                EXIT_USAGE,
            )
        if key in values:
            raise CliError(f"the cron field {key!r} is given twice", EXIT_USAGE)
        values[key] = value
    return values


def parse_expression(text: str, zone: Any, standard_weekdays: bool = False) -> CronTrigger:
    """The trigger ``text`` describes (crontab or field syntax), in ``zone``.

    :raises CliError: (exit status 2) with the trigger's own message, which names the bad field
    """
    text = text.strip()
    if not text:
        raise CliError("empty cron expression", EXIT_USAGE)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            if "=" in text:
                arguments: dict[str, Any] = _field_arguments(text)
                if standard_weekdays:
                    raise CliError(
                        "--crontab applies to crontab syntax, not to NAME=VALUE fields",
                        EXIT_USAGE,
                    )
                trigger = CronTrigger(timezone=zone, **arguments)
            else:
                trigger = CronTrigger.from_crontab(
                    text, timezone=zone, standard_weekdays=standard_weekdays
                )
        except (ValueError, TypeError) as exc:
            raise CliError(f"invalid cron expression: {one_line(str(exc))}", EXIT_USAGE) from None
    for warning in caught:
        # (the field syntax accepts a schedule that never fires, with a warning: refuse it)
        if "never fire" in str(warning.message):
            raise CliError(one_line(str(warning.message)), EXIT_USAGE)
    return trigger


def _zone(text: str | None) -> Any:
    if text is None:
        return local_zone()
    try:
        return parse_timezone(text)
    except (ValueError, LookupError) as exc:
        raise CliError(f"--tz: {one_line(str(exc))}", EXIT_USAGE) from None


def show_cron(args: argparse.Namespace, out: IO[str]) -> int:
    """``cron EXPR [--tz ZONE] [-n N] [--crontab] [--from TIME] [--json]``."""
    if args.n < 0:
        raise CliError("-n must not be negative", EXIT_USAGE)
    zone = _zone(args.tz)
    text = " ".join(args.expression)
    trigger = parse_expression(text, zone, args.crontab)
    now = datetime.now(zone)
    start = now
    if args.start is not None:
        try:
            start = parse_datetime(args.start)
        except ValueError as exc:
            raise CliError(f"--from: {one_line(str(exc))}", EXIT_USAGE) from None
        if start.tzinfo is None:
            start = start.replace(tzinfo=zone)
    times = list(next_fire_times(trigger, start, args.n))
    explanation = trigger.explain()

    if args.json:
        try:
            zone_name = format_timezone(zone)
        except TypeError:
            zone_name = str(zone)
        print_json(
            {
                "expression": text,
                "syntax": "fields" if "=" in text else "crontab",
                "timezone": zone_name,
                "explanation": explanation,
                "next": times,
            },
            out,
        )
        return 0
    styler = Styler.for_stream(out)
    print(f"{styler('Schedule:', 'bold')} {explanation}", file=out)
    if args.n:
        title = "Next fire time:" if len(times) == 1 else f"Next {len(times)} fire times:"
        print(styler(title, "bold"), file=out)
        for fire_time in times:
            local = fire_time.astimezone(zone)
            relative = format_relative(fire_time, now)
            print(f"  {local:%a %Y-%m-%d %H:%M:%S} {local.tzname()}  ({relative})", file=out)
        if not times:
            print("  none", file=out)
    return 0
