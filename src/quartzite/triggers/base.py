"""The trigger interface: stateless arithmetic that yields a job's fire times."""

from __future__ import annotations

import random
from abc import ABCMeta, abstractmethod
from datetime import datetime, timedelta, tzinfo
from typing import Any, Callable

from ..util import astimezone, datetime_utc_add

__all__ = ("BaseTrigger",)


class BaseTrigger(metaclass=ABCMeta):
    """Abstract base class that defines the interface that every trigger must implement.

    A trigger never reads the clock: the scheduler passes ``now`` in.
    """

    __slots__ = ()

    @abstractmethod
    def get_next_fire_time(
        self, previous_fire_time: datetime | None, now: datetime
    ) -> datetime | None:
        """Return the next datetime to fire on, or ``None`` when the schedule is finished.

        :param previous_fire_time: the previous time the trigger was fired (``None`` at first)
        :param now: the current time
        """

    def _apply_jitter(
        self, next_fire_time: datetime | None, jitter: float | None, now: datetime
    ) -> datetime | None:
        """Delay ``next_fire_time`` by a random number of seconds between 0 and ``jitter``."""
        if next_fire_time is None or not jitter:
            return next_fire_time
        # Added as elapsed time: wall-clock addition would lose the fold in a repeated hour.
        return datetime_utc_add(next_fire_time, timedelta(seconds=random.uniform(0, jitter)))

    def __getstate__(self) -> Any:  # pragma: no cover - every concrete trigger overrides it
        raise NotImplementedError

    def __setstate__(self, state: Any) -> None:  # pragma: no cover
        raise NotImplementedError


def resolve_timezone(
    timezone: tzinfo | str | None,
    start_date: Any,
    end_date: Any,
    local_zone: Callable[[], tzinfo],
) -> tzinfo:
    """Pick a trigger's time zone: ``timezone`` if given, else that of an aware ``start_date``,
    else that of an aware ``end_date``, else ``local_zone()``.
    """
    if timezone:
        return astimezone(timezone)  # type: ignore[return-value]
    if isinstance(start_date, datetime) and start_date.tzinfo:
        return astimezone(start_date.tzinfo)  # type: ignore[return-value]
    if isinstance(end_date, datetime) and end_date.tzinfo:
        return astimezone(end_date.tzinfo)  # type: ignore[return-value]
    return local_zone()


def check_state_version(
    state: Any, cls: type, max_version: int, *, single_version: bool = False
) -> dict[str, Any]:
    """Unwrap a 3.0-era ``(x, dict)`` state and refuse a state newer than ``max_version``.

    ``single_version`` selects the wording of triggers that have only ever had one state format.
    """
    if isinstance(state, tuple):
        state = state[1]
    version = state.get("version", 1)
    if version > max_version:
        if single_version:
            supported = "only version 1 can be handled"
        else:
            supported = f"only versions up to {max_version} can be handled"
        raise ValueError(
            f"Got serialized data for version {version} of {cls.__name__}, but {supported}"
        )
    return state
