"""GeventExecutor in real greenlets (no monkey-patching)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest

gevent = pytest.importorskip("gevent")

from quartzite.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED  # noqa: E402
from quartzite.executors.gevent import GeventExecutor  # noqa: E402
from quartzite.schedulers.gevent import GeventScheduler  # noqa: E402
from support import run_slot_is_free  # noqa: E402


def fail() -> None:
    raise ValueError("job failed")


@pytest.fixture
def scheduler() -> Any:
    scheduler = GeventScheduler(timezone="UTC")
    scheduler.start(paused=True)
    yield scheduler
    scheduler.shutdown(wait=False)


@pytest.fixture
def executor(scheduler: Any) -> Any:
    executor = GeventExecutor()
    executor.start(scheduler, "default")
    yield executor
    executor.shutdown(wait=False)


def capture(executor: GeventExecutor) -> gevent.event.AsyncResult:
    result = gevent.event.AsyncResult()
    executor._run_job_success = lambda job_id, events: result.set(events)  # type: ignore[method-assign]
    executor._run_job_error = lambda job_id, exc, tb: result.set_exception(exc)  # type: ignore[method-assign]
    return result


@pytest.mark.parametrize(
    "func, code", [(gevent.getcurrent, EVENT_JOB_EXECUTED), (fail, EVENT_JOB_ERROR)]
)
def test_job_runs_in_a_greenlet(
    scheduler: Any, executor: GeventExecutor, func: Any, code: int
) -> None:
    result = capture(executor)
    job = scheduler.add_job(func, "interval", seconds=1)
    executor.submit_job(job, [datetime.now(timezone.utc)])
    events = result.get(timeout=5)
    assert [event.code for event in events] == [code]
    if code == EVENT_JOB_EXECUTED:
        assert events[0].retval is not gevent.getcurrent()


def test_run_job_failure_goes_to_run_job_error(
    scheduler: Any, executor: GeventExecutor, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken_run_job(*args: Any) -> None:
        raise RuntimeError("run_job broke")

    monkeypatch.setattr("quartzite.executors.gevent.run_job", broken_run_job)
    result = capture(executor)
    job = scheduler.add_job(fail, "interval", seconds=1)
    executor.submit_job(job, [datetime.now(timezone.utc)])
    with pytest.raises(RuntimeError, match="run_job broke"):
        result.get(timeout=5)


@pytest.mark.parametrize("wait", [True, False])
def test_shutdown_waits_for_running_greenlets_on_request(
    scheduler: Any, executor: GeventExecutor, wait: bool
) -> None:
    progress: list[str] = []

    def slow() -> None:
        progress.append("started")
        gevent.sleep(0.3)
        progress.append("finished")

    job = scheduler.add_job(slow, "interval", seconds=1)
    executor.submit_job(job, [datetime.now(timezone.utc)])
    gevent.sleep(0.05)
    executor.shutdown(wait=wait)
    assert progress == (["started", "finished"] if wait else ["started"])
    gevent.sleep(0.5)
    assert progress == ["started", "finished"]
    assert run_slot_is_free(executor, job, [datetime.now(timezone.utc)])
    executor.shutdown(wait=True)


def test_killed_greenlet_releases_its_instance(
    scheduler: Any, executor: GeventExecutor, monkeypatch: pytest.MonkeyPatch
) -> None:
    spawned: list[Any] = []
    real_spawn = gevent.spawn

    def spawn(*args: Any, **kwargs: Any) -> Any:
        spawned.append(real_spawn(*args, **kwargs))
        return spawned[-1]

    monkeypatch.setattr(gevent, "spawn", spawn)  # to get hold of the job's greenlet
    job = scheduler.add_job(fail, "interval", seconds=1)
    executor.submit_job(job, [datetime.now(timezone.utc)])
    (greenlet,) = spawned
    greenlet.kill()  # before it ever ran
    gevent.sleep(0.05)
    assert run_slot_is_free(executor, job, [datetime.now(timezone.utc)])
    executor.shutdown(wait=True)


async def coroutine_job() -> None:
    pass


def test_coroutine_function_is_refused_clearly(scheduler: Any, executor: GeventExecutor) -> None:
    job = scheduler.add_job(coroutine_job, "interval", seconds=1)
    with pytest.raises(TypeError, match="GeventExecutor cannot await"):
        executor.submit_job(job, [datetime.now(timezone.utc)])
    plain = scheduler.add_job(gevent.sleep, "interval", seconds=1, args=[0], id=job.id + "2")
    assert run_slot_is_free(executor, plain, [datetime.now(timezone.utc)])
    executor.shutdown(wait=True)
