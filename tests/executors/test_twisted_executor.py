"""TwistedExecutor with a real reactor (a fresh one, run in a thread)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any

import pytest

pytest.importorskip("twisted")

from twisted.internet.selectreactor import SelectReactor

from quartzite.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED
from quartzite.executors.twisted import TwistedExecutor
from quartzite.schedulers.twisted import TwistedScheduler
from support import run_slot_is_free


def fail() -> None:
    raise ValueError("job failed")


def where_am_i() -> threading.Thread:
    return threading.current_thread()


@pytest.fixture
def reactor() -> Iterator[Any]:
    reactor = SelectReactor()
    thread = threading.Thread(target=reactor.run, kwargs={"installSignalHandlers": False})
    thread.start()
    yield reactor
    reactor.callFromThread(reactor.stop)
    thread.join(10)


def run(reactor: Any, func: Any, monkeypatch: pytest.MonkeyPatch | None = None) -> Any:
    scheduler = TwistedScheduler(reactor=reactor, timezone="UTC")
    scheduler.start(paused=True)  # gives jobs their defaults; never processes
    executor = TwistedExecutor()
    executor.start(scheduler, "default")
    outcome: dict[str, Any] = {}
    done = threading.Event()

    def success(job_id: str, events: list[Any]) -> None:
        outcome["events"] = events
        done.set()

    def error(job_id: str, exc: BaseException, tb: Any) -> None:
        outcome["error"] = (exc, tb)
        done.set()

    executor._run_job_success = success  # type: ignore[method-assign]
    executor._run_job_error = error  # type: ignore[method-assign]
    job = scheduler.add_job(func)
    executor.submit_job(job, [datetime.now(timezone.utc)])
    assert done.wait(5)
    scheduler.shutdown()
    return outcome


@pytest.mark.parametrize("func, code", [(where_am_i, EVENT_JOB_EXECUTED), (fail, EVENT_JOB_ERROR)])
def test_job_runs_in_the_reactor_thread_pool(reactor: Any, func: Any, code: int) -> None:
    events = run(reactor, func)["events"]
    assert [event.code for event in events] == [code]
    if code == EVENT_JOB_EXECUTED:
        assert events[0].retval in reactor.getThreadPool().threads


def test_run_job_failure_goes_to_run_job_error(
    reactor: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken_run_job(*args: Any) -> None:
        raise RuntimeError("run_job broke")

    monkeypatch.setattr("quartzite.executors.twisted.run_job", broken_run_job)
    exc, _traceback = run(reactor, where_am_i)["error"]
    assert isinstance(exc, RuntimeError)
    assert str(exc) == "run_job broke"


async def coroutine_job() -> None:
    pass


def test_coroutine_function_is_refused_clearly(reactor: Any) -> None:
    scheduler = TwistedScheduler(reactor=reactor, timezone="UTC")
    scheduler.start(paused=True)
    executor = TwistedExecutor()
    executor.start(scheduler, "default")
    job = scheduler.add_job(coroutine_job)
    with pytest.raises(TypeError, match="TwistedExecutor cannot await"):
        executor.submit_job(job, [datetime.now(timezone.utc)])
    # The refused run took no instance: the same job id may still start a plain run.
    plain = scheduler.add_job(int, id=job.id, replace_existing=True)
    assert run_slot_is_free(executor, plain, [datetime.now(timezone.utc)])
    scheduler.shutdown()
