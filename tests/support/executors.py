"""Helpers for tests of executors: a scheduler that notes every run outcome, and a probe that
tells from outside whether an executor still counts a job's run as in progress."""

from __future__ import annotations

import concurrent.futures
from datetime import datetime
from typing import Any

import pytest

from quartzite.events import JobExecutionEvent
from quartzite.executors.base import BaseExecutor, MaxInstancesReachedError
from quartzite.job import Job

from .schedulers import DummyScheduler


class OutcomeRecordingScheduler(DummyScheduler):
    """Notes in ``outcomes`` every run outcome an executor reports, then dispatches it.

    Executors report outcomes through the scheduler's ``_report_run_outcome`` (DESIGN.md: one
    outcome path for every executor); the tests of that path are the one place that overrides it.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.outcomes: list[JobExecutionEvent] = []

    def _report_run_outcome(self, event: JobExecutionEvent) -> None:
        self.outcomes.append(event)
        self._dispatch_event(event)


def run_slot_is_free(executor: BaseExecutor, job: Job, run_times: list[datetime]) -> bool:
    """Whether ``executor`` would start another run of ``job`` (``max_instances=1``) now.

    Submits ``job`` again: the probe run is real, so the caller must let it finish (or use an
    executor that only records submissions).
    """
    assert job.max_instances == 1, "the probe needs a job with max_instances=1"
    try:
        executor.submit_job(job, run_times)
    except MaxInstancesReachedError:
        return False
    return True


class PoolSpy:
    """Notes every ``concurrent.futures`` pool created while it is installed.

    The pool executors hand their ``max_workers`` and ``pool_kwargs`` to a standard-library pool;
    what they hand over is the observable part. The spy swaps ``concurrent.futures``'
    ``ThreadPoolExecutor`` and ``ProcessPoolExecutor`` for subclasses that note their
    constructor arguments in ``created`` as ``(class name, max_workers, kwargs, pool)``, then
    build the real pool. ``monkeypatch`` puts the originals back after the test.
    """

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.created: list[tuple[str, Any, dict[str, Any], concurrent.futures.Executor]] = []
        for name in ("ThreadPoolExecutor", "ProcessPoolExecutor"):
            monkeypatch.setattr(concurrent.futures, name, self.recording_class(name))

    def recording_class(self, name: str) -> type[Any]:
        """A subclass of ``concurrent.futures.NAME`` that notes each pool built from it."""
        real = getattr(concurrent.futures, name)
        created = self.created

        class Recording(real):  # type: ignore[misc, valid-type]
            def __init__(self, max_workers: Any = None, **kwargs: Any) -> None:
                created.append((name, max_workers, kwargs, self))
                super().__init__(max_workers, **kwargs)

        Recording.__name__ = Recording.__qualname__ = name
        return Recording

    def arguments(self) -> list[tuple[str, Any, dict[str, Any]]]:
        """``(class name, max_workers, kwargs)`` of each pool created so far."""
        return [(name, workers, kwargs) for name, workers, kwargs, _ in self.created]
