"""The fake clock: a stand-in for the ``datetime`` class in the modules that read the time.

API.md §10 names the module globals that users patch to freeze time; :func:`install_fake_clock`
patches exactly those, so the tests freeze time the way a user's own tests would.
"""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo
from datetime import timezone as dt_timezone
from zoneinfo import ZoneInfo

import pytest

#: the modules whose module-level ``datetime`` name is the clock (API contract §10)
CLOCK_MODULES = (
    "quartzite.schedulers.base",
    "quartzite.executors.base",
    "quartzite.triggers.date",
    "quartzite.triggers.interval",
)

#: where the fake clock starts: 2021-06-01 12:00:00 CEST (10:00 UTC)
FROZEN_START = datetime(2021, 6, 1, 12, 0, tzinfo=ZoneInfo("Europe/Berlin"))


class FakeClock:
    """Stands in for the ``datetime`` class in the modules listed in :data:`CLOCK_MODULES`.

    Only ``now()`` exists, as the contract promises that nothing else is used through those names.
    The instant is kept in UTC and moved with UTC arithmetic, so advancing across a DST change
    gives the right wall time (``fold`` included).
    """

    def __init__(self, start: datetime) -> None:
        self.set(start)

    def now(self, tz: tzinfo | None = None) -> datetime:
        """What ``datetime.now(tz)`` returns: aware in ``tz``, or naive local time without one."""
        if tz is None:
            return self.instant.astimezone().replace(tzinfo=None)
        return self.instant.astimezone(tz)

    def set(self, instant: datetime) -> None:
        """Move the clock to ``instant`` (an aware datetime)."""
        if instant.tzinfo is None:
            raise ValueError(f"FakeClock.set: instant must be an aware datetime, got {instant!r}")
        #: the current instant, in UTC
        self.instant = instant.astimezone(dt_timezone.utc)

    def advance(self, delta: timedelta | None = None, **kwargs: float) -> datetime:
        """Move the clock forward by ``delta`` or ``timedelta(**kwargs)`` of elapsed time.

        :return: the new instant, in UTC
        """
        self.instant += delta if delta is not None else timedelta(**kwargs)
        return self.instant

    def __repr__(self) -> str:
        return f"<FakeClock {self.instant.isoformat()}>"


def install_fake_clock(
    monkeypatch: pytest.MonkeyPatch, start: datetime = FROZEN_START
) -> FakeClock:
    """Put a :class:`FakeClock` at ``start`` in every module of :data:`CLOCK_MODULES` (undone by
    ``monkeypatch`` at the end of the test) and return it."""
    clock = FakeClock(start)
    for module_name in CLOCK_MODULES:
        monkeypatch.setattr(f"{module_name}.datetime", clock)
    return clock
