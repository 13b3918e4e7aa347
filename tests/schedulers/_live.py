"""Live tests shared by the event-loop scheduler variants (asyncio, gevent, Tornado, Twisted, Qt).

Each ``test_<framework>.py`` supplies a :class:`Harness` (how to run that framework's loop, start
the scheduler on it, wait while the loop runs, and sleep inside a job) through a ``harness``
fixture, and subclasses :class:`LiveSchedulerTests`. Every test runs a real scheduler on the real
framework against the wall clock, so the time bounds are generous: a slow, busy CI machine must
not make them fail, while a scheduler that polls, sleeps through a wakeup or fires early still
does.
"""

from __future__ import annotations

import concurrent.futures
import time
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

import pytest

from quartzite.events import (
    EVENT_EXECUTOR_ADDED,
    EVENT_JOB_ADDED,
    EVENT_JOB_ERROR,
    EVENT_JOB_EXECUTED,
    EVENT_JOB_REMOVED,
    EVENT_JOB_SUBMITTED,
    EVENT_JOBSTORE_ADDED,
    EVENT_SCHEDULER_PAUSED,
    EVENT_SCHEDULER_RESUMED,
    EVENT_SCHEDULER_SHUTDOWN,
    EVENT_SCHEDULER_STARTED,
)
from quartzite.schedulers import SchedulerNotRunningError
from quartzite.schedulers.base import STATE_PAUSED, STATE_RUNNING, STATE_STOPPED, BaseScheduler
from support import EventRecorder

#: how long a test waits for something that should happen at once (seconds)
PROMPT = 5.0
#: how late a job may run after its scheduled time and still count as "on time" (seconds)
LATENESS = 1.5


#: Job defaults for live tests: on a slow machine a late run must not become a "missed" one, nor
#: be skipped because the previous run has not reported back yet; every due run is kept.
LENIENT = {"misfire_grace_time": None, "max_instances": 10, "coalesce": False}


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Harness:
    """Runs one framework's event loop for a test. Subclasses fill in the framework specifics."""

    #: ``True`` if ``shutdown(wait=True)`` returns only once the running jobs have finished
    #: (the event-loop variants never block their loop, so they don't wait)
    shutdown_waits_for_jobs = False

    def create(self, **options: Any) -> BaseScheduler:
        """Create a (stopped) scheduler of this framework's variant, bound to this loop."""
        raise NotImplementedError

    def start(self, scheduler: BaseScheduler, paused: bool = False) -> None:
        """Start the scheduler the way this framework expects; return once it has started."""
        raise NotImplementedError

    def pump(self, seconds: float) -> None:
        """Let the framework run for about ``seconds`` (the test's idle wait)."""
        time.sleep(seconds)

    def job_sleep(self, seconds: float) -> None:
        """What a job calls to take some time (must not block the framework)."""
        time.sleep(seconds)

    def close(self) -> None:
        """Stop the framework's loop and release its resources."""

    def wait_until(self, predicate: Callable[[], Any], timeout: float = PROMPT) -> bool:
        """Let the framework run until ``predicate()`` is true; ``False`` on timeout."""
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() >= deadline:
                return False
            self.pump(0.01)
        return True

    def shutdown(self, scheduler: BaseScheduler, wait: bool = True) -> None:
        """Shut the scheduler down from the test and wait until it has stopped (the state says
        "stopped" as soon as a shutdown begins; its event says it is over)."""
        done: list[Any] = []
        scheduler.add_listener(done.append, EVENT_SCHEDULER_SHUTDOWN)
        scheduler.shutdown(wait)
        assert self.wait_until(lambda: scheduler.state == STATE_STOPPED and done)


class LoopThreadHarness(Harness):
    """A framework loop running in a thread of its own, which the test thread drives."""

    def call_in_loop(self, callback: Callable[[], None]) -> None:
        """Schedule ``callback`` on the loop's thread (thread-safe)."""
        raise NotImplementedError

    def call(self, func: Callable[[], Any]) -> Any:
        """Run ``func()`` on the loop's thread and return its result."""
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()

        def run() -> None:
            try:
                future.set_result(func())
            except BaseException as exc:
                future.set_exception(exc)

        self.call_in_loop(run)
        return future.result(PROMPT)

    def start(self, scheduler: BaseScheduler, paused: bool = False) -> None:
        # Event-loop schedulers start on their loop's thread
        self.call(lambda: scheduler.start(paused=paused))


class Calls:
    """Counts the rounds of ``_process_jobs`` (patched on the instance: the variants look the
    method up at call time)."""

    def __init__(self, scheduler: BaseScheduler) -> None:
        self.times: list[float] = []
        original = scheduler._process_jobs

        def spy() -> Any:
            self.times.append(time.monotonic())
            return original()

        scheduler._process_jobs = spy  # type: ignore[method-assign]

    def __len__(self) -> int:
        return len(self.times)


def noop() -> None:
    pass


def assert_on_time(scheduled: list[datetime], ran_at: list[datetime]) -> None:
    """Each run started at its scheduled time or later, but less than :data:`LATENESS` late.

    Runs may overlap (in a pool) and report in any order: the k-th earliest start is paired with
    the k-th earliest scheduled time (never early still holds for that pairing).
    """
    for run_time, actual in zip(sorted(scheduled), sorted(ran_at)):
        assert run_time <= actual < run_time + timedelta(seconds=LATENESS)


class LiveSchedulerTests:
    """The live tests every event-loop variant must pass (needs a ``harness`` fixture)."""

    @pytest.fixture
    def live(self, harness: Harness) -> Any:
        """Create schedulers with an event recorder; shut them down afterwards."""
        created: list[BaseScheduler] = []

        def create(**options: Any) -> tuple[BaseScheduler, EventRecorder]:
            options.setdefault("timezone", "UTC")
            options.setdefault("job_defaults", LENIENT)
            scheduler = harness.create(**options)
            events = EventRecorder()
            scheduler.add_listener(events)
            created.append(scheduler)
            return scheduler, events

        yield create
        for scheduler in created:
            if scheduler.running:
                harness.shutdown(scheduler, wait=False)

    def test_shutdown_when_not_running(self, harness: Harness) -> None:
        scheduler = harness.create()
        with pytest.raises(SchedulerNotRunningError):
            scheduler.shutdown()

    def test_event_order(self, harness: Harness, live: Any) -> None:
        """Start: executor, store, pending job, started; then the job's events; shutdown last."""
        scheduler, events = live()
        scheduler.add_job(noop, id="now")
        harness.start(scheduler)
        assert harness.wait_until(lambda: events.of(EVENT_JOB_EXECUTED))
        assert harness.wait_until(lambda: len(events.codes) >= 7)
        harness.shutdown(scheduler)
        # The state says "stopped" as soon as the shutdown begins; the event ends it.
        assert harness.wait_until(lambda: EVENT_SCHEDULER_SHUTDOWN in events.codes)

        codes = events.codes
        assert codes[:4] == [
            EVENT_EXECUTOR_ADDED,
            EVENT_JOBSTORE_ADDED,
            EVENT_JOB_ADDED,
            EVENT_SCHEDULER_STARTED,
        ]
        assert sorted(codes[4:7]) == sorted(
            [EVENT_JOB_REMOVED, EVENT_JOB_SUBMITTED, EVENT_JOB_EXECUTED]
        )
        assert codes[7:] == [EVENT_SCHEDULER_SHUTDOWN], codes
        assert events.events[0].alias == events.events[1].alias == "default"

    def test_added_job_wakes_idle_scheduler(self, harness: Harness, live: Any) -> None:
        """While the only job is an hour away the scheduler does not run at all (no polling);
        adding a job due now wakes it at once."""
        scheduler, events = live()
        scheduler.add_job(noop, "date", run_date=utcnow() + timedelta(hours=1), id="far")
        calls = Calls(scheduler)
        harness.start(scheduler)
        assert harness.wait_until(lambda: len(calls) >= 1)
        harness.pump(0.3)  # let the start-up rounds settle

        rounds_before_idle = len(calls)
        harness.pump(1.5)
        assert len(calls) == rounds_before_idle, "the scheduler ran while it had nothing to do"

        ran: list[float] = []
        added_at = time.monotonic()
        scheduler.add_job(lambda: ran.append(time.monotonic()), id="now")
        assert harness.wait_until(lambda: ran)
        assert ran[0] - added_at < 3.0
        assert harness.wait_until(lambda: events.of(EVENT_JOB_EXECUTED, "now"))
        assert 1 <= len(calls) - rounds_before_idle <= 3
        assert [job.id for job in scheduler.get_jobs()] == ["far"]

    def test_date_and_interval_jobs_fire_on_time(self, harness: Harness, live: Any) -> None:
        scheduler, events = live()
        harness.start(scheduler)
        ran_at: dict[str, list[datetime]] = {"date": [], "interval": []}
        run_date = utcnow() + timedelta(seconds=0.6)
        scheduler.add_job(lambda: ran_at["date"].append(utcnow()), "date", run_date=run_date)
        start_date = utcnow() + timedelta(seconds=0.1)
        interval_job = scheduler.add_job(
            lambda: ran_at["interval"].append(utcnow()),
            "interval",
            seconds=0.5,
            start_date=start_date,
        )
        # the events, which come after the runs: all four must be in before they are read
        assert harness.wait_until(
            lambda: len(events.of(EVENT_JOB_EXECUTED, interval_job.id)) >= 4 and ran_at["date"]
        )
        interval_job.remove()

        assert len(ran_at["date"]) == 1
        assert run_date <= ran_at["date"][0] < run_date + timedelta(seconds=LATENESS)

        interval_events = events.of(EVENT_JOB_EXECUTED, interval_job.id)
        scheduled = sorted(event.scheduled_run_time for event in interval_events)[:4]
        assert scheduled == [start_date + timedelta(seconds=0.5 * n) for n in range(4)]
        assert_on_time(scheduled, ran_at["interval"])

    def test_cron_job_fires_on_time(self, harness: Harness, live: Any) -> None:
        cron = pytest.importorskip("quartzite.triggers.cron")
        if not hasattr(cron, "CronTrigger"):
            pytest.skip("quartzite.triggers.cron has no CronTrigger yet")

        scheduler, events = live()
        harness.start(scheduler)
        ran_at: list[datetime] = []
        scheduler.add_job(lambda: ran_at.append(utcnow()), "cron", second="*", id="cron")
        assert harness.wait_until(lambda: len(events.of(EVENT_JOB_EXECUTED)) >= 2, PROMPT + 2)
        scheduler.remove_job("cron")

        scheduled = sorted(event.scheduled_run_time for event in events.of(EVENT_JOB_EXECUTED))
        scheduled = scheduled[:2]
        assert [run_time.microsecond for run_time in scheduled] == [0, 0]
        assert scheduled[1] - scheduled[0] == timedelta(seconds=1)
        assert_on_time(scheduled, ran_at)

    def test_failing_job_reports_error_and_scheduler_goes_on(
        self, harness: Harness, live: Any
    ) -> None:
        def fail() -> None:
            raise ValueError("job failed on purpose")

        scheduler, events = live()
        harness.start(scheduler)
        scheduler.add_job(fail, "interval", seconds=0.3, id="fail")
        assert harness.wait_until(lambda: len(events.of(EVENT_JOB_ERROR, "fail")) >= 2)
        scheduler.remove_job("fail")

        error = events.of(EVENT_JOB_ERROR, "fail")[0]
        assert isinstance(error.exception, ValueError)
        assert str(error.exception) == "job failed on purpose"
        assert "fail" in error.traceback

        scheduler.add_job(lambda: "still alive", id="after")
        assert harness.wait_until(lambda: events.of(EVENT_JOB_EXECUTED, "after"))
        assert events.of(EVENT_JOB_EXECUTED, "after")[0].retval == "still alive"
        assert scheduler.state == STATE_RUNNING

    def test_pause_and_resume(self, harness: Harness, live: Any) -> None:
        scheduler, events = live()
        harness.start(scheduler)
        scheduler.pause()
        assert scheduler.state == STATE_PAUSED
        assert harness.wait_until(lambda: events.of(EVENT_SCHEDULER_PAUSED))

        scheduler.add_job(noop, id="while-paused")
        harness.pump(1.0)
        assert not events.of(EVENT_JOB_SUBMITTED), "a job ran while the scheduler was paused"

        resumed_at = time.monotonic()
        scheduler.resume()
        assert scheduler.state == STATE_RUNNING
        assert harness.wait_until(lambda: events.of(EVENT_JOB_EXECUTED, "while-paused"))
        assert time.monotonic() - resumed_at < 2.0 + PROMPT / 2
        codes = events.codes
        assert codes.index(EVENT_SCHEDULER_RESUMED) < codes.index(EVENT_JOB_SUBMITTED)

    def test_start_paused(self, harness: Harness, live: Any) -> None:
        scheduler, events = live()
        scheduler.add_job(noop, id="pending")
        harness.start(scheduler, paused=True)
        assert scheduler.state == STATE_PAUSED
        harness.pump(0.8)
        assert not events.of(EVENT_JOB_SUBMITTED)
        scheduler.resume()
        assert harness.wait_until(lambda: events.of(EVENT_JOB_EXECUTED, "pending"))

    @pytest.mark.parametrize("wait", [True, False], ids=["wait", "nowait"])
    def test_shutdown_with_running_job(self, harness: Harness, live: Any, wait: bool) -> None:
        """A running job is never interrupted; ``shutdown(wait=True)`` waits for it where the
        variant can (without blocking an event loop)."""
        scheduler, events = live()
        harness.start(scheduler)
        progress: list[str] = []

        def slow() -> str:
            progress.append("started")
            harness.job_sleep(1.5)
            progress.append("finished")
            return "done"

        scheduler.add_job(slow, id="slow")
        assert harness.wait_until(lambda: progress)
        harness.shutdown(scheduler, wait=wait)
        assert scheduler.state == STATE_STOPPED
        assert not scheduler.running
        assert EVENT_SCHEDULER_SHUTDOWN in events.codes
        if wait and harness.shutdown_waits_for_jobs:
            assert progress == ["started", "finished"]
            codes = events.codes
            assert codes.index(EVENT_JOB_EXECUTED) < codes.index(EVENT_SCHEDULER_SHUTDOWN)
        else:
            assert progress == ["started"]

        # the job runs to its end all the same
        assert harness.wait_until(lambda: progress == ["started", "finished"])
        with pytest.raises(SchedulerNotRunningError):
            scheduler.shutdown()
