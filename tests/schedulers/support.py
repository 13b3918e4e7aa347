"""Helpers for the scheduler tests: a minimal concrete scheduler, recording components."""

from __future__ import annotations

from typing import Any

from quartzite.events import SchedulerEvent
from quartzite.executors.base import BaseExecutor
from quartzite.executors.debug import DebugExecutor
from quartzite.jobstores.memory import MemoryJobStore
from quartzite.schedulers.base import BaseScheduler


class DummyScheduler(BaseScheduler):
    """``BaseScheduler`` with the two abstract methods filled in.

    ``wakeup()`` only counts its calls (tests run ``_process_jobs()`` themselves, on the fake
    clock), and the default executor is a :class:`DebugExecutor`, which runs jobs synchronously.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.wakeups = 0
        super().__init__(*args, **kwargs)

    def shutdown(self, wait: bool = True) -> None:
        super().shutdown(wait)

    def wakeup(self) -> None:
        self.wakeups += 1

    def _create_default_executor(self) -> BaseExecutor:
        return DebugExecutor()


class RecordingExecutor(DebugExecutor):
    """A DebugExecutor that notes its ``start``/``shutdown`` calls in ``calls``."""

    def __init__(self, calls: list[Any] | None = None) -> None:
        super().__init__()
        self.calls = calls if calls is not None else []

    def start(self, scheduler: Any, alias: str) -> None:
        self.calls.append(("executor.start", scheduler, alias))
        super().start(scheduler, alias)

    def shutdown(self, *args: Any, **kwargs: Any) -> None:
        self.calls.append(("executor.shutdown", args, kwargs))
        super().shutdown(*args, **kwargs)


class RecordingJobStore(MemoryJobStore):
    """A MemoryJobStore that notes its ``start``/``shutdown`` calls in ``calls``."""

    def __init__(self, calls: list[Any] | None = None) -> None:
        super().__init__()
        self.calls = calls if calls is not None else []

    def start(self, scheduler: Any, alias: str) -> None:
        self.calls.append(("jobstore.start", scheduler, alias))
        super().start(scheduler, alias)

    def shutdown(self, *args: Any, **kwargs: Any) -> None:
        self.calls.append(("jobstore.shutdown", args, kwargs))
        super().shutdown(*args, **kwargs)


class EventRecorder:
    """A listener that keeps every event it gets."""

    def __init__(self) -> None:
        self.events: list[SchedulerEvent] = []

    def __call__(self, event: SchedulerEvent) -> None:
        self.events.append(event)

    @property
    def codes(self) -> list[int]:
        return [event.code for event in self.events]

    def clear(self) -> None:
        del self.events[:]


def dummy_job(*args: Any, **kwargs: Any) -> Any:
    """A job function that accepts anything and returns its arguments."""
    return args, kwargs


def no_args_job() -> str:
    return "done"
