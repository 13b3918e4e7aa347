"""The smallest concrete scheduler, for tests of the parts a scheduler drives (jobs, executors,
stores, plugins): it never sleeps and wakes nothing up; tests call its methods directly."""

from __future__ import annotations

from quartzite.schedulers.base import BaseScheduler


class DummyScheduler(BaseScheduler):
    """``BaseScheduler`` with its two abstract methods filled in (``wakeup`` does nothing)."""

    def shutdown(self, wait: bool = True) -> None:
        super().shutdown(wait)

    def wakeup(self) -> None:
        pass
