"""Helpers shared by the executor tests: a scheduler that records run outcomes, and a probe
that tells from outside whether an executor still counts a job's run as in progress."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from dummy_scheduler import DummyScheduler
from quartzite.events import JobExecutionEvent
from quartzite.executors.base import BaseExecutor, MaxInstancesReachedError
from quartzite.job import Job


class OutcomeRecordingScheduler(DummyScheduler):
    """Records every run outcome handed to ``_report_run_outcome``, then dispatches it."""

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
