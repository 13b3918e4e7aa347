"""A trigger that fires once, at a given point in time."""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any

from tzlocal import get_localzone

from ..util import astimezone, convert_to_datetime, datetime_repr
from .base import BaseTrigger, check_state_version

__all__ = ("DateTrigger",)


class DateTrigger(BaseTrigger):
    """Triggers once on the given datetime. If ``run_date`` is left empty, the current time is used.

    :param run_date: the date/time to run the job at (datetime, date or ISO 8601 string)
    :param timezone: time zone for ``run_date`` if it doesn't have one already
    """

    __slots__ = ("run_date",)

    def __init__(
        self, run_date: datetime | str | None = None, timezone: tzinfo | str | None = None
    ) -> None:
        tz = astimezone(timezone) or get_localzone()
        if run_date is not None:
            self.run_date = convert_to_datetime(run_date, tz, "run_date")
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
        self.run_date = state["run_date"]

    def __str__(self) -> str:
        return f"date[{datetime_repr(self.run_date)}]"

    def __repr__(self) -> str:
        return f"<{self.__class__.__name__} (run_date='{datetime_repr(self.run_date)}')>"
