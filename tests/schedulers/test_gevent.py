"""GeventScheduler on a real gevent hub.

The test process is not monkey-patched: the scheduler, its executor and these tests only use
gevent's own primitives (``gevent.sleep``, gevent events and locks), and everything runs in
greenlets of the main thread, so no standard library call has to cooperate. The monkey-patched
setup that applications use is run in a subprocess by ``test_examples.py``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

gevent = pytest.importorskip("gevent")

from quartzite.events import EVENT_JOB_EXECUTED, EVENT_SCHEDULER_SHUTDOWN  # noqa: E402
from quartzite.executors.gevent import GeventExecutor  # noqa: E402
from quartzite.schedulers.base import STATE_STOPPED  # noqa: E402
from quartzite.schedulers.gevent import GeventScheduler  # noqa: E402
from support import EventRecorder  # noqa: E402

from ._live import Harness, LiveSchedulerTests  # noqa: E402

pytestmark = pytest.mark.live


class GeventHarness(Harness):
    """Everything runs in greenlets of the test's thread; waiting yields to the hub."""

    shutdown_waits_for_jobs = True

    def create(self, **options: Any) -> GeventScheduler:
        return GeventScheduler(**options)

    def start(self, scheduler: Any, paused: bool = False) -> None:
        greenlet = scheduler.start(paused=paused)
        assert isinstance(greenlet, gevent.Greenlet)

    def pump(self, seconds: float) -> None:
        gevent.sleep(seconds)

    def job_sleep(self, seconds: float) -> None:
        gevent.sleep(seconds)


@pytest.fixture
def harness() -> Iterator[GeventHarness]:
    yield GeventHarness()


class TestLive(LiveSchedulerTests):
    pass


def test_start_returns_the_greenlet_and_shutdown_joins_it(harness: GeventHarness) -> None:
    scheduler = GeventScheduler()
    greenlet = scheduler.start()
    assert isinstance(greenlet, gevent.Greenlet)
    assert not greenlet.dead
    scheduler.shutdown()
    assert greenlet.dead


def test_gevent_locks_and_executor() -> None:
    scheduler = GeventScheduler()
    assert isinstance(scheduler._create_lock(), gevent.lock.RLock)
    scheduler.start()
    try:
        assert isinstance(scheduler._lookup_executor("default"), GeventExecutor)
    finally:
        scheduler.shutdown()


def test_jobs_run_in_greenlets_of_their_own(harness: GeventHarness) -> None:
    scheduler = GeventScheduler(timezone="UTC")
    events = EventRecorder()
    scheduler.add_listener(events)
    greenlets: list[Any] = []

    def job() -> None:
        greenlets.append(gevent.getcurrent())
        gevent.sleep(0.3)

    # two slow jobs overlap: each has its own greenlet, and neither blocks the scheduler
    scheduler.add_job(job, id="first")
    scheduler.add_job(job, id="second")
    scheduler_greenlet = scheduler.start()
    assert harness.wait_until(lambda: len(events.of(EVENT_JOB_EXECUTED)) == 2, 2.0)
    scheduler.shutdown()
    assert len({id(greenlet) for greenlet in greenlets}) == 2
    assert scheduler_greenlet not in greenlets


@pytest.mark.parametrize("where", ["job", "listener"])
def test_shutdown_from_inside_the_scheduler(harness: GeventHarness, where: str) -> None:
    """A job (its own greenlet) or a listener (the scheduler's greenlet) may shut the
    scheduler down without waiting for itself."""
    scheduler = GeventScheduler(timezone="UTC")
    events = EventRecorder()
    scheduler.add_listener(events)
    if where == "job":
        scheduler.add_job(scheduler.shutdown, id="stopper")
    else:
        scheduler.add_job(lambda: None, id="trigger")
        scheduler.add_listener(lambda event: scheduler.shutdown(), EVENT_JOB_EXECUTED)

    greenlet = scheduler.start()
    assert harness.wait_until(lambda: scheduler.state == STATE_STOPPED)
    assert harness.wait_until(lambda: events.of(EVENT_SCHEDULER_SHUTDOWN))
    assert harness.wait_until(lambda: greenlet.dead)
