"""The smallest concrete scheduler, and components that note how the scheduler drives them."""

from __future__ import annotations

from typing import Any, Callable

from quartzite.executors.base import BaseExecutor
from quartzite.executors.debug import DebugExecutor
from quartzite.jobstores.memory import MemoryJobStore
from quartzite.schedulers.base import BaseScheduler


class DummyScheduler(BaseScheduler):
    """``BaseScheduler`` with its two abstract methods filled in, for tests that drive it by hand.

    It never sleeps and has no thread: tests call ``_process_jobs()`` themselves, on the fake
    clock. ``wakeup()`` only counts its calls in ``wakeups`` (a change that should wake the
    scheduler shows up as a larger count).

    :param default_executor: builds the executor used when no ``"default"`` one is configured;
        by default a :class:`DebugExecutor`, which runs jobs synchronously in the caller; pass
        ``None`` to keep the base class's choice (a thread pool)
    """

    def __init__(
        self,
        *args: Any,
        default_executor: Callable[[], BaseExecutor] | None = DebugExecutor,
        **kwargs: Any,
    ) -> None:
        self.wakeups = 0
        self.default_executor_factory = default_executor
        super().__init__(*args, **kwargs)

    def shutdown(self, wait: bool = True) -> None:
        super().shutdown(wait)

    def wakeup(self) -> None:
        self.wakeups += 1

    def _create_default_executor(self) -> BaseExecutor:
        if self.default_executor_factory is None:
            return super()._create_default_executor()
        return self.default_executor_factory()


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
