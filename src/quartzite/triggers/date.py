"""A trigger that fires once, at a given point in time."""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any

from tzlocal import get_localzone

from ..util import datetime_repr
from .base import (
    BaseTrigger,
    check_state_datetime,
    check_state_version,
    convert_date_argument,
    zone_argument,
)

__all__ = ("DateTrigger",)


class DateTrigger(BaseTrigger):
    """A one-shot schedule: a single fire time, ``run_date``, then nothing more.

    The fire time is given back even when it already lies in the past, so that a job added late
    still runs once (subject to its misfire grace time).

    :param run_date: when to fire: an aware or naive datetime, a date (midnight), or ISO 8601
        text; left out, the moment of construction
    :param timezone: the zone a naive ``run_date`` is read in (default: the local zone)
    :raises TypeError: if ``run_date`` or ``timezone`` has an unsupported type
    :raises ValueError: if ``run_date`` is text that is not a date
    """

    __slots__ = ("run_date",)

    def __init__(
        self, run_date: datetime | str | None = None, timezone: tzinfo | str | None = None
    ) -> None:
        tz = zone_argument(timezone) or get_localzone()
        if run_date is not None:
            self.run_date = convert_date_argument(run_date, tz, "run_date", "DateTrigger")
        else:
            self.run_date = datetime.now(tz)

    def get_next_fire_time(
        self, previous_fire_time: datetime | None, now: datetime
    ) -> datetime | None:
        return self.run_date if previous_fire_time is None else None

    def __getstate__(self) -> dict[str, Any]:
        return {"version": 1, "run_date": self.run_date}

    def __setstate__(self, state: Any) -> None:
        state = check_state_version(state, type(self), 1, single_version=True)
        self.run_date = check_state_datetime(type(self), state, "run_date", optional=False)

    def __str__(self) -> str:
        return f"date[{datetime_repr(self.run_date)}]"

    def __repr__(self) -> str:
        return f"<{self.__class__.__name__} (run_date='{datetime_repr(self.run_date)}')>"
