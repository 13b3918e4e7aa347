"""QtScheduler in a real Qt event loop (offscreen, a QCoreApplication in the main thread)."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
qt = pytest.importorskip("quartzite.schedulers.qt")

from quartzite.events import EVENT_JOB_EXECUTED  # noqa: E402
from quartzite.executors.pool import ThreadPoolExecutor  # noqa: E402
from quartzite.schedulers.qt import QtScheduler  # noqa: E402
from support import EventRecorder  # noqa: E402

from ._live import Calls, Harness, LiveSchedulerTests, utcnow  # noqa: E402

pytestmark = pytest.mark.live


class QtHarness(Harness):
    """The Qt event loop runs in the test's (main) thread whenever the test waits."""

    shutdown_waits_for_jobs = True

    def create(self, **options: Any) -> QtScheduler:
        return QtScheduler(**options)

    def start(self, scheduler: Any, paused: bool = False) -> None:
        scheduler.start(paused=paused)

    def pump(self, seconds: float) -> None:
        """Run a nested Qt event loop for ``seconds``."""
        loop = qt.QtCore.QEventLoop()
        qt.QTimer.singleShot(max(int(seconds * 1000), 1), loop.quit)
        run = getattr(loop, "exec", None) or loop.exec_  # exec_() in the Qt 5 bindings
        run()


@pytest.fixture(scope="session")
def qapp() -> Any:
    app = qt.QCoreApplication.instance() or qt.QCoreApplication([])
    return app


@pytest.fixture
def harness(qapp: Any) -> Iterator[QtHarness]:
    yield QtHarness()


class TestLive(LiveSchedulerTests):
    pass


def test_binding_preference() -> None:
    """PySide6 comes first when it is installed."""
    try:
        import PySide6.QtCore  # noqa: F401
    except ImportError:
        pytest.skip("PySide6 is not installed")
    assert qt.QtCore.__name__ == "PySide6.QtCore"


def test_wakeup_from_another_thread(harness: QtHarness) -> None:
    """Jobs added from a worker thread wake the scheduler in the Qt thread at once."""
    scheduler = QtScheduler(timezone="UTC")
    events = EventRecorder()
    scheduler.add_listener(events)
    scheduler.add_job(lambda: None, "date", run_date=utcnow() + timedelta(hours=1))
    calls = Calls(scheduler)
    scheduler.start()
    assert harness.wait_until(lambda: len(calls) == 1)
    counted = scheduler._process_jobs
    processed_in: list[threading.Thread] = []

    def process_jobs() -> Any:
        processed_in.append(threading.current_thread())
        return counted()

    scheduler._process_jobs = process_jobs  # type: ignore[method-assign]
    added_at: list[float] = []

    def add_from_thread() -> None:
        added_at.append(time.monotonic())
        scheduler.add_job(lambda: "from thread", id="threaded")

    worker = threading.Thread(target=add_from_thread)
    worker.start()
    assert harness.wait_until(lambda: events.of(EVENT_JOB_EXECUTED, "threaded"))
    worker.join()
    assert time.monotonic() - added_at[0] < 2.0
    assert processed_in == [threading.main_thread()]
    assert len(calls) == 2
    scheduler.shutdown()


@pytest.fixture
def timers(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The QTimers the scheduler creates from now on: the module's ``QTimer`` is swapped for a
    subclass that notes each instance (the timer is the observable side of a Qt scheduler)."""
    created: list[Any] = []

    class NotedTimer(qt.QTimer):  # type: ignore[misc, name-defined]
        def __init__(self, *args: Any) -> None:
            super().__init__(*args)
            created.append(self)

    monkeypatch.setattr(qt, "QTimer", NotedTimer)
    return created


def test_timer_follows_the_next_run_time(harness: QtHarness, timers: list[Any]) -> None:
    scheduler = QtScheduler(timezone="UTC")
    scheduler.add_job(lambda: None, "date", run_date=utcnow() + timedelta(hours=1))
    scheduler.start()
    (timer,) = timers  # the scheduler's one long-lived timer
    harness.pump(0.2)
    assert timer.isActive()
    assert 3_590_000 <= timer.interval() <= 3_600_000

    # beyond the range of a Qt timer (about 24.8 days): capped
    scheduler.remove_all_jobs()
    scheduler.add_job(lambda: None, "date", run_date=utcnow() + timedelta(days=3650))
    harness.pump(0.2)
    assert timer.interval() == 2147483647

    # no jobs: no timer
    scheduler.remove_all_jobs()
    scheduler.wakeup()
    harness.pump(0.2)
    assert not timer.isActive()
    assert scheduler._process_jobs() is None
    scheduler.shutdown()


def test_shutdown_from_another_thread_stops_the_timer(
    harness: QtHarness, timers: list[Any]
) -> None:
    scheduler = QtScheduler(timezone="UTC", executors={"default": ThreadPoolExecutor(2)})
    scheduler.add_job(lambda: None, "interval", hours=1)
    scheduler.start()
    (timer,) = timers  # the scheduler's one long-lived timer
    harness.pump(0.2)
    assert timer.isActive()
    worker = threading.Thread(target=scheduler.shutdown)
    worker.start()
    worker.join()
    assert harness.wait_until(lambda: not timer.isActive())
    assert not scheduler.running


def test_each_wakeup_gets_its_own_processing_pass(harness: QtHarness, timers: list[Any]) -> None:
    """A wake-up does not cancel one that is still pending (as in APScheduler): two wake-ups
    before the event loop runs give two rounds of job processing, one right after the other."""
    scheduler = QtScheduler(timezone="UTC")
    scheduler.add_job(lambda: None, "date", run_date=utcnow() + timedelta(hours=1))
    scheduler.start()
    (timer,) = timers  # the scheduler's one long-lived timer
    harness.pump(0.2)
    calls = Calls(scheduler)
    scheduler.wakeup()
    scheduler.wakeup()
    qt.QCoreApplication.processEvents()
    assert len(calls) == 2
    # the regular timer still follows the next run time
    assert timer.isActive()
    assert 3_590_000 <= timer.interval() <= 3_600_000
    scheduler.shutdown()
