"""Previewing the fire times of any trigger."""

from __future__ import annotations

from datetime import datetime
from typing import Iterator

from ..util import UTC, localize
from .base import BaseTrigger

__all__ = ("next_fire_times",)


def next_fire_times(
    trigger: BaseTrigger,
    start: datetime,
    count: int | None = 10,
    *,
    until: datetime | None = None,
) -> Iterator[datetime]:
    """Yield the upcoming fire times of ``trigger`` from ``start`` on, as a scheduler that runs
    every job on time would meet them.

    The first one is ``trigger.get_next_fire_time(None, start)``; each following one is
    ``trigger.get_next_fire_time(previous, previous)``. The iteration stops after ``count`` fire
    times (never, if ``count`` is ``None``), after the last one not later than ``until``, when the
    trigger's schedule is finished, or if the trigger returns a time that is not later than the
    previous one (which would repeat forever).

    Example::

        >>> trigger = CronTrigger(day_of_week="mon-fri", hour=9, timezone="Europe/Berlin")
        >>> [str(t) for t in next_fire_times(trigger, datetime(2024, 1, 5, tzinfo=UTC), 2)]
        ['2024-01-05 09:00:00+01:00', '2024-01-08 09:00:00+01:00']

    :param trigger: any trigger
    :param start: the time to look ahead from (a naive value is read in the trigger's
        ``timezone`` if it has one, else in UTC)
    :param count: the maximum number of fire times to yield (``None``: no limit)
    :param until: do not yield fire times later than this
    :raises TypeError: if ``count`` is not an int (or ``None``), or ``trigger`` not a trigger
    :raises ValueError: if ``count`` is negative
    """
    if count is not None and (not isinstance(count, int) or isinstance(count, bool)):
        raise TypeError(f"count must be an int or None, got {count!r} ({type(count).__name__})")
    if count is not None and count < 0:
        raise ValueError(f"count must not be negative, got {count}")
    if not isinstance(trigger, BaseTrigger):
        raise TypeError(f"trigger must be a trigger, got {trigger!r} ({type(trigger).__name__})")
    if start.tzinfo is None:
        start = localize(start, getattr(trigger, "timezone", None) or UTC)
    if until is not None and until.tzinfo is None:
        until = localize(until, getattr(trigger, "timezone", None) or UTC)

    yielded = 0
    previous: datetime | None = None
    now = start
    while count is None or yielded < count:
        fire_time = trigger.get_next_fire_time(previous, now)
        if fire_time is None:
            return
        if previous is not None and fire_time.astimezone(UTC) <= previous.astimezone(UTC):
            return
        if until is not None and fire_time.astimezone(UTC) > until.astimezone(UTC):
            return
        yield fire_time
        yielded += 1
        previous = now = fire_time
