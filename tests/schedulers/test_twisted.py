"""TwistedScheduler on a real Twisted reactor.

A reactor cannot be restarted, so each test gets a fresh reactor instance of its own (a
``SelectReactor``, never installed as the global one), run in a thread without signal handlers.
The global reactor, as applications use it, is run in a subprocess by ``test_examples.py`` and
:func:`test_default_reactor_is_the_global_one`.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from typing import Any, Callable

import pytest

pytest.importorskip("twisted")

from twisted.internet.selectreactor import SelectReactor

from quartzite.executors.twisted import TwistedExecutor
from quartzite.schedulers.twisted import TwistedScheduler, run_in_reactor

from ._live import PROMPT, LiveSchedulerTests, LoopThreadHarness

pytestmark = pytest.mark.live


class TwistedHarness(LoopThreadHarness):
    """A fresh reactor running in a thread; the test thread drives it."""

    def __init__(self) -> None:
        self.reactor = SelectReactor()
        self.thread = threading.Thread(
            target=self.reactor.run, kwargs={"installSignalHandlers": False}, name="reactor"
        )
        self.thread.start()

    def call_in_loop(self, callback: Callable[[], None]) -> None:
        self.reactor.callFromThread(callback)

    def create(self, **options: Any) -> TwistedScheduler:
        return TwistedScheduler(reactor=self.reactor, **options)

    def close(self) -> None:
        self.reactor.callFromThread(self.reactor.stop)
        self.thread.join(PROMPT * 2)
        assert not self.thread.is_alive()


@pytest.fixture
def harness() -> Iterator[TwistedHarness]:
    harness = TwistedHarness()
    yield harness
    harness.close()


class TestLive(LiveSchedulerTests):
    pass


def test_jobs_run_in_the_reactor_thread_pool(harness: TwistedHarness) -> None:
    scheduler = harness.create(timezone="UTC")
    threads: list[threading.Thread] = []
    scheduler.add_job(lambda: threads.append(threading.current_thread()))
    harness.start(scheduler)
    assert harness.wait_until(lambda: threads)
    executor = scheduler._lookup_executor("default")
    assert isinstance(executor, TwistedExecutor)
    assert threads[0] in harness.reactor.getThreadPool().threads  # the given reactor's pool
    harness.shutdown(scheduler)
    assert scheduler._delayedcall is None


def test_run_in_reactor_decorator(harness: TwistedHarness) -> None:
    class CustomScheduler(TwistedScheduler):
        @run_in_reactor
        def where(self, results: list[Any], value: str) -> str:
            results.append((threading.current_thread(), value))
            return "ignored"

    scheduler = CustomScheduler(reactor=harness.reactor)
    results: list[Any] = []
    assert scheduler.where(results, "value") is None
    assert harness.wait_until(lambda: results)
    assert results == [(harness.thread, "value")]


def test_default_reactor_is_the_global_one() -> None:
    """Run in a subprocess: importing the global reactor installs it for the whole process."""
    script = textwrap.dedent(
        """
        from quartzite.schedulers.twisted import TwistedScheduler
        import sys
        assert "twisted.internet.reactor" not in sys.modules  # not installed by the import
        scheduler = TwistedScheduler()
        from twisted.internet import reactor  # the job below only runs on this reactor
        results = []
        def job():
            results.append("ran")
            reactor.callFromThread(scheduler.shutdown)
        def on_shutdown(event):
            reactor.stop()
        scheduler.add_listener(on_shutdown, 2)  # EVENT_SCHEDULER_SHUTDOWN
        scheduler.add_job(job)
        scheduler.start()
        reactor.callLater(20, reactor.stop)
        reactor.run()
        print(results, scheduler.running)
        """
    )
    completed = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == "['ran'] False"
