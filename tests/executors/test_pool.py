"""Tests for ``quartzite.executors.pool`` (API contract §6.3): thread and process pools.

A few tests here must wait for a worker; they block on queues and events with generous
timeouts, never on fixed sleeps (the one bounded wait, 0.2 s, checks that ``shutdown(wait=True)``
is still blocked while a job runs).
"""

from __future__ import annotations

import concurrent.futures
import logging
import os
import queue
import threading
from collections.abc import Iterator
from concurrent.futures.process import BrokenProcessPool
from datetime import datetime, timezone
from functools import partial
from pathlib import Path
from types import TracebackType
from typing import Any

import pytest

import support
from quartzite.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, JobExecutionEvent
from quartzite.executors.base import BaseExecutor, MaxInstancesReachedError
from quartzite.executors.pool import BasePoolExecutor, ProcessPoolExecutor, ThreadPoolExecutor
from quartzite.schedulers.base import BaseScheduler
from quartzite.triggers.date import DateTrigger
from support import (
    DummyScheduler,
    EventRecorder,
    OutcomeRecordingScheduler,
    PoolSpy,
    jobs,
    run_slot_is_free,
)

# The process pool's job functions are in support.jobs, which spawned workers import by name:
# pytest has put the directory holding the support package on sys.path, and the spawn start
# method passes the parent's sys.path on to every worker it starts.
HELPERS_DIR = str(Path(support.__file__).resolve().parent.parent)

UTC = timezone.utc
RUN_TIME = datetime(2020, 5, 17, 12, 0, tzinfo=UTC)
TIMEOUT = 60  # seconds; only reached when something is badly wrong


@pytest.fixture
def scheduler() -> OutcomeRecordingScheduler:
    return OutcomeRecordingScheduler(timezone=UTC)


@pytest.fixture
def events(scheduler: DummyScheduler) -> EventRecorder:
    collector = EventRecorder()
    scheduler.add_listener(collector)
    return collector


# The job the tests submit: due at RUN_TIME, no grace time, in the store "store"
make_job = partial(
    support.make_job,
    id="pooljob",
    trigger=DateTrigger(RUN_TIME),
    misfire_grace_time=None,
    coalesce=False,
    next_run_time=RUN_TIME,
    jobstore_alias="store",
)


class Gate:
    """A job function that blocks its worker thread until the test opens the gate."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()

    def __call__(self) -> str:
        self.entered.set()
        if not self.release.wait(TIMEOUT):
            raise TimeoutError("the test never opened the gate")
        return "released"

    def wait_entered(self) -> None:
        assert self.entered.wait(TIMEOUT), "the job never started"


def peak_concurrency(
    executor: BaseExecutor, scheduler: BaseScheduler, events: EventRecorder, jobs: int = 12
) -> int:
    """Submit ``jobs`` blocking jobs at once and count how many the executor runs together.

    Waits until no further job starts for 0.3 s (the one bounded wait: it can only make the
    count too low, which the callers' equality checks would report), then lets them all end.
    """
    entered = threading.Semaphore(0)
    release = threading.Event()

    def blocking_job() -> None:
        entered.release()
        release.wait(TIMEOUT)

    for number in range(jobs):
        executor.submit_job(make_job(scheduler, blocking_job, id=f"blocker{number}"), [RUN_TIME])
    running = 0
    while running < jobs and entered.acquire(timeout=0.3):
        running += 1
    release.set()
    for _ in range(jobs):
        assert events.next(TIMEOUT).code == EVENT_JOB_EXECUTED
    return running


@pytest.mark.parametrize("cls", [ThreadPoolExecutor, ProcessPoolExecutor])
@pytest.mark.parametrize(
    ("max_workers", "error"),
    [(0, ValueError), (-1, ValueError), ("x", ValueError), (None, TypeError)],
)
def test_a_bad_max_workers_is_refused_naming_the_option_and_value(
    cls: type[BasePoolExecutor], max_workers: Any, error: type[Exception]
) -> None:
    with pytest.raises(error) as exc:
        cls(max_workers)
    message = str(exc.value)
    assert message.startswith(f"{cls.__name__}: max_workers must be an integer >= 1")
    assert repr(max_workers) in message


@pytest.mark.parametrize("cls", [ThreadPoolExecutor, ProcessPoolExecutor])
def test_pool_kwargs_that_are_not_a_mapping_are_refused(cls: type[BasePoolExecutor]) -> None:
    with pytest.raises(TypeError) as exc:
        cls(2, pool_kwargs=5)  # type: ignore[arg-type]
    assert str(exc.value) == (
        f"{cls.__name__}: pool_kwargs must be a dict of keyword arguments for the pool, got int: 5"
    )


def test_class_hierarchy() -> None:
    assert issubclass(BasePoolExecutor, BaseExecutor)
    assert issubclass(ThreadPoolExecutor, BasePoolExecutor)
    assert issubclass(ProcessPoolExecutor, BasePoolExecutor)


def test_base_pool_executor_is_abstract() -> None:
    pool = concurrent.futures.ThreadPoolExecutor(1)
    try:
        with pytest.raises(TypeError):
            BasePoolExecutor(pool)  # type: ignore[abstract]
    finally:
        pool.shutdown()


class TestThreadPoolExecutor:
    @pytest.fixture
    def executor(self, scheduler: DummyScheduler) -> Iterator[ThreadPoolExecutor]:
        executor = ThreadPoolExecutor()
        executor.start(scheduler, "threads")
        yield executor
        executor.shutdown(wait=True)

    def test_ten_jobs_run_at_once_by_default(
        self, scheduler: DummyScheduler, executor: ThreadPoolExecutor, events: EventRecorder
    ) -> None:
        assert peak_concurrency(executor, scheduler, events) == 10

    def test_max_workers_given_as_a_string_bounds_the_jobs_running_at_once(
        self, scheduler: DummyScheduler, events: EventRecorder
    ) -> None:
        executor = ThreadPoolExecutor(max_workers="3")  # type: ignore[arg-type]
        executor.start(scheduler, "threads")
        try:
            assert peak_concurrency(executor, scheduler, events) == 3
        finally:
            executor.shutdown()

    def test_pool_kwargs(self, scheduler: DummyScheduler, events: EventRecorder) -> None:
        executor = ThreadPoolExecutor(2, pool_kwargs={"thread_name_prefix": "quartzite-test"})
        executor.start(scheduler, "named")
        try:
            executor.submit_job(
                make_job(scheduler, lambda: threading.current_thread().name), [RUN_TIME]
            )
            assert events.next(TIMEOUT).retval.startswith("quartzite-test")
        finally:
            executor.shutdown()

    def test_executed(
        self, scheduler: DummyScheduler, executor: ThreadPoolExecutor, events: EventRecorder
    ) -> None:
        job = make_job(
            scheduler, lambda a, b: (a + b, threading.get_ident()), args=[1], kwargs={"b": 2}
        )
        executor.submit_job(job, [RUN_TIME])
        event = events.next(TIMEOUT)
        assert isinstance(event, JobExecutionEvent)
        assert event.code == EVENT_JOB_EXECUTED
        assert event.job_id == "pooljob"
        assert event.jobstore == "store"
        assert event.scheduled_run_time == RUN_TIME
        result, thread_id = event.retval
        assert result == 3
        assert thread_id != threading.get_ident()

    def test_job_error(
        self, scheduler: DummyScheduler, executor: ThreadPoolExecutor, events: EventRecorder
    ) -> None:
        executor.submit_job(make_job(scheduler, jobs.fail, args=["oops"]), [RUN_TIME])
        event = events.next(TIMEOUT)
        assert event.code == EVENT_JOB_ERROR
        assert isinstance(event.exception, ValueError)
        assert str(event.exception) == "oops"
        assert "raise ValueError(message)" in event.traceback

    def test_max_instances(
        self, scheduler: DummyScheduler, executor: ThreadPoolExecutor, events: EventRecorder
    ) -> None:
        gate = Gate()
        job = make_job(scheduler, gate)
        executor.submit_job(job, [RUN_TIME])
        gate.wait_entered()
        with pytest.raises(MaxInstancesReachedError):
            executor.submit_job(job, [RUN_TIME])

        gate.release.set()
        assert events.next(TIMEOUT).retval == "released"
        executor.submit_job(job, [RUN_TIME])  # the finished run released its instance
        assert events.next(TIMEOUT).retval == "released"

    def test_run_job_success_looked_up_at_completion(
        self, scheduler: DummyScheduler, executor: ThreadPoolExecutor, events: EventRecorder
    ) -> None:
        gate = Gate()
        received: queue.Queue[tuple[str, list[JobExecutionEvent]]] = queue.Queue()
        executor.submit_job(make_job(scheduler, gate), [RUN_TIME])
        gate.wait_entered()
        # replaced after submission, while the job is running
        executor._run_job_success = lambda job_id, job_events: received.put(  # type: ignore[method-assign]
            (job_id, job_events)
        )
        gate.release.set()
        job_id, job_events = received.get(timeout=TIMEOUT)
        assert job_id == "pooljob"
        assert [(event.code, event.retval) for event in job_events] == [
            (EVENT_JOB_EXECUTED, "released")
        ]
        assert not events.unread()

    def test_run_job_error_looked_up_at_completion(
        self,
        scheduler: DummyScheduler,
        executor: ThreadPoolExecutor,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        gate = Gate()

        def broken_run_job(*args: Any) -> Any:
            gate()
            raise RuntimeError("run_job itself failed")

        monkeypatch.setattr("quartzite.executors.pool.run_job", broken_run_job)
        received: queue.Queue[tuple[str, BaseException, Any]] = queue.Queue()
        executor.submit_job(make_job(scheduler, lambda: None), [RUN_TIME])
        gate.wait_entered()
        executor._run_job_error = lambda job_id, exc, tb=None: received.put(  # type: ignore[method-assign]
            (job_id, exc, tb)
        )
        gate.release.set()
        job_id, exc, tb = received.get(timeout=TIMEOUT)
        assert job_id == "pooljob"
        assert isinstance(exc, RuntimeError)
        assert str(exc) == "run_job itself failed"
        assert isinstance(tb, TracebackType)

    def test_run_job_failure_logged_and_released(
        self,
        scheduler: DummyScheduler,
        executor: ThreadPoolExecutor,
        events: EventRecorder,
        monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        done = threading.Event()

        def broken_run_job(*args: Any) -> Any:
            raise RuntimeError("run_job itself failed")

        original = executor._run_job_error

        def run_job_error(*args: Any) -> None:
            original(*args)
            done.set()

        monkeypatch.setattr("quartzite.executors.pool.run_job", broken_run_job)
        executor._run_job_error = run_job_error  # type: ignore[method-assign]
        with caplog.at_level(logging.ERROR, logger="quartzite.executors.threads"):
            executor.submit_job(make_job(scheduler, lambda: None), [RUN_TIME])
            assert done.wait(TIMEOUT)
        assert not events.unread()
        records = [r for r in caplog.records if r.name == "quartzite.executors.threads"]
        assert [record.getMessage() for record in records] == ["Error running job pooljob"]
        done.clear()
        assert run_slot_is_free(executor, make_job(scheduler, lambda: None), [RUN_TIME])
        assert done.wait(TIMEOUT)

    def test_submits_module_level_run_job(
        self,
        scheduler: DummyScheduler,
        executor: ThreadPoolExecutor,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        calls: queue.Queue[tuple[Any, ...]] = queue.Queue()

        def fake_run_job(*args: Any, **kwargs: Any) -> list[JobExecutionEvent]:
            calls.put((args, kwargs))
            return []

        monkeypatch.setattr("quartzite.executors.pool.run_job", fake_run_job)
        job = make_job(scheduler, lambda: None)
        run_times = [RUN_TIME]
        executor.submit_job(job, run_times)
        args, kwargs = calls.get(timeout=TIMEOUT)
        assert args == (job, "store", run_times, "quartzite.executors.threads")
        assert args[0] is job
        assert kwargs == {}

    @pytest.mark.parametrize(
        "func",
        [
            jobs.coroutine_job,
            partial(partial(jobs.coroutine_job)),
        ],
        ids=["coroutine function", "partial"],
    )
    def test_coroutine_function_refused(
        self,
        scheduler: DummyScheduler,
        executor: ThreadPoolExecutor,
        events: EventRecorder,
        func: Any,
    ) -> None:
        with pytest.raises(TypeError) as exc:
            executor.submit_job(make_job(scheduler, func), [RUN_TIME])
        message = str(exc.value)
        assert message.startswith('Job "pooljob" calls the coroutine function ')
        assert "ThreadPoolExecutor cannot await" in message
        assert "AsyncIOExecutor" in message
        assert run_slot_is_free(executor, make_job(scheduler, lambda: None), [RUN_TIME])
        assert events.next(TIMEOUT).code == EVENT_JOB_EXECUTED

    def test_shutdown_without_waiting(
        self, scheduler: DummyScheduler, events: EventRecorder
    ) -> None:
        executor = ThreadPoolExecutor(1)
        executor.start(scheduler, "threads")
        gate = Gate()
        executor.submit_job(make_job(scheduler, gate), [RUN_TIME])
        gate.wait_entered()
        executor.shutdown(wait=False)  # returns although the job cannot finish yet
        assert not gate.release.is_set()
        gate.release.set()
        assert events.next(TIMEOUT).retval == "released"

    def test_restart_after_shutdown(self, scheduler: DummyScheduler, events: EventRecorder) -> None:
        """A scheduler started again after a shutdown gets a working pool, configured as
        before."""
        executor = ThreadPoolExecutor(3, pool_kwargs={"thread_name_prefix": "restarted"})
        executor.start(scheduler, "threads")
        executor.shutdown()
        executor.start(scheduler, "threads")
        try:
            job = make_job(scheduler, lambda: threading.current_thread().name)
            executor.submit_job(job, [RUN_TIME])
            assert events.next(TIMEOUT).retval.startswith("restarted")
            assert peak_concurrency(executor, scheduler, events) == 3
        finally:
            executor.shutdown()

    def test_shutdown_waits(self, scheduler: DummyScheduler, events: EventRecorder) -> None:
        executor = ThreadPoolExecutor(1)
        executor.start(scheduler, "threads")
        gate = Gate()
        executor.submit_job(make_job(scheduler, gate), [RUN_TIME])
        gate.wait_entered()
        order: list[str] = []
        shutdown_thread = threading.Thread(
            target=lambda: (executor.shutdown(wait=True), order.append("shutdown returned"))
        )
        shutdown_thread.start()
        shutdown_thread.join(0.2)
        assert shutdown_thread.is_alive(), "shutdown(wait=True) returned before the job ended"
        gate.release.set()
        shutdown_thread.join(TIMEOUT)
        assert order == ["shutdown returned"]
        assert events.next(TIMEOUT).retval == "released"


@pytest.fixture(scope="module")
def shared_scheduler() -> DummyScheduler:
    return DummyScheduler(timezone=UTC)


@pytest.fixture(scope="module")
def shared_executor(shared_scheduler: DummyScheduler) -> Iterator[ProcessPoolExecutor]:
    """One process pool for the tests that do not break it: spawning workers is slow."""
    executor = ProcessPoolExecutor(max_workers=1)
    executor.start(shared_scheduler, "processes")
    yield executor
    executor.shutdown(wait=True)


class TestProcessPoolExecutor:
    @pytest.fixture
    def shared_events(self, shared_scheduler: DummyScheduler) -> Iterator[EventRecorder]:
        collector = EventRecorder()
        shared_scheduler.add_listener(collector)
        yield collector
        shared_scheduler.remove_listener(collector)

    def test_pool_kwargs(self, monkeypatch: pytest.MonkeyPatch) -> None:
        pools = PoolSpy(monkeypatch)
        initializer = jobs.get_pid
        executor = ProcessPoolExecutor(
            max_workers="2",  # type: ignore[arg-type]
            pool_kwargs={"initializer": initializer},
        )
        try:
            [(kind, workers, kwargs)] = pools.arguments()
            assert (kind, workers, kwargs["initializer"]) == ("ProcessPoolExecutor", 2, initializer)
            assert executor.pool_kwargs["mp_context"].get_start_method() == "spawn"
            assert executor.pool_kwargs["initializer"] is initializer
        finally:
            executor.shutdown()

    def test_default_pool(self, monkeypatch: pytest.MonkeyPatch) -> None:
        pools = PoolSpy(monkeypatch)
        executor = ProcessPoolExecutor()
        try:
            assert [(kind, workers) for kind, workers, _ in pools.arguments()] == [
                ("ProcessPoolExecutor", 10)
            ]
            assert set(executor.pool_kwargs) == {"mp_context"}
            assert executor.pool_kwargs["mp_context"].get_start_method() == "spawn"
        finally:
            executor.shutdown()

    def test_given_mp_context_kept(self) -> None:
        import multiprocessing

        context = multiprocessing.get_context("spawn")
        executor = ProcessPoolExecutor(1, pool_kwargs={"mp_context": context})
        try:
            assert executor.pool_kwargs["mp_context"] is context
        finally:
            executor.shutdown()

    def test_executed_in_another_process(
        self,
        shared_scheduler: DummyScheduler,
        shared_executor: ProcessPoolExecutor,
        shared_events: EventRecorder,
    ) -> None:
        job = make_job(shared_scheduler, jobs.add, args=[1], kwargs={"b": 2})
        shared_executor.submit_job(job, [RUN_TIME, RUN_TIME])
        for _ in range(2):
            event = shared_events.next(TIMEOUT)
            assert event.code == EVENT_JOB_EXECUTED
            assert event.job_id == "pooljob"
            assert event.jobstore == "store"
            assert event.scheduled_run_time == RUN_TIME
            assert event.retval == 3

        shared_executor.submit_job(make_job(shared_scheduler, jobs.get_pid), [RUN_TIME])
        assert shared_events.next(TIMEOUT).retval != os.getpid()

    def test_workers_import_helpers_from_sys_path(
        self,
        shared_scheduler: DummyScheduler,
        shared_executor: ProcessPoolExecutor,
        shared_events: EventRecorder,
    ) -> None:
        job = make_job(shared_scheduler, jobs.get_sys_path)
        shared_executor.submit_job(job, [RUN_TIME])
        event = shared_events.next(TIMEOUT)
        assert event.code == EVENT_JOB_EXECUTED, event.traceback
        assert HELPERS_DIR in event.retval

    def test_job_error(
        self,
        shared_scheduler: DummyScheduler,
        shared_executor: ProcessPoolExecutor,
        shared_events: EventRecorder,
    ) -> None:
        job = make_job(shared_scheduler, jobs.fail, args=["from a worker"])
        shared_executor.submit_job(job, [RUN_TIME])
        event = shared_events.next(TIMEOUT)
        assert event.code == EVENT_JOB_ERROR
        assert isinstance(event.exception, ValueError)
        assert str(event.exception) == "from a worker"
        assert os.path.join("support", "jobs.py") in event.traceback
        assert "raise ValueError(message)" in event.traceback

    def test_run_job_success_looked_up_on_instance(
        self,
        shared_scheduler: DummyScheduler,
        shared_executor: ProcessPoolExecutor,
        shared_events: EventRecorder,
    ) -> None:
        received: queue.Queue[tuple[str, list[JobExecutionEvent]]] = queue.Queue()
        original = shared_executor._run_job_success

        def run_job_success(job_id: str, job_events: list[JobExecutionEvent]) -> None:
            received.put((job_id, job_events))
            original(job_id, [])

        shared_executor._run_job_success = run_job_success  # type: ignore[method-assign]
        try:
            job = make_job(shared_scheduler, jobs.add, args=[2, 3])
            shared_executor.submit_job(job, [RUN_TIME])
            job_id, job_events = received.get(timeout=TIMEOUT)
        finally:
            del shared_executor._run_job_success
        assert job_id == "pooljob"
        assert [(event.code, event.retval) for event in job_events] == [(EVENT_JOB_EXECUTED, 5)]
        assert not shared_events.unread()

    def test_unpicklable_job_reported_to_run_job_error(
        self,
        shared_scheduler: DummyScheduler,
        shared_executor: ProcessPoolExecutor,
        shared_events: EventRecorder,
    ) -> None:
        """A job whose function has no textual reference cannot be sent to a worker."""
        received: queue.Queue[tuple[str, BaseException]] = queue.Queue()
        original = shared_executor._run_job_error

        def run_job_error(job_id: str, exc: BaseException, tb: Any = None) -> None:
            original(job_id, exc, tb)
            received.put((job_id, exc))

        shared_executor._run_job_error = run_job_error  # type: ignore[method-assign]
        try:
            job = make_job(shared_scheduler, partial(jobs.add, 1, 2))
            shared_executor.submit_job(job, [RUN_TIME])
            job_id, exc = received.get(timeout=TIMEOUT)
        finally:
            del shared_executor._run_job_error
        assert job_id == "pooljob"
        assert isinstance(exc, ValueError)
        assert str(exc).startswith("This Job cannot be serialized")
        assert run_slot_is_free(shared_executor, make_job(shared_scheduler, os.getpid), [RUN_TIME])
        assert shared_events.next(TIMEOUT).code == EVENT_JOB_EXECUTED

    @pytest.mark.parametrize(
        "func",
        [jobs.coroutine_job, partial(jobs.coroutine_job)],
        ids=["coroutine function", "partial"],
    )
    def test_coroutine_function_refused(
        self,
        shared_scheduler: DummyScheduler,
        shared_executor: ProcessPoolExecutor,
        shared_events: EventRecorder,
        func: Any,
    ) -> None:
        with pytest.raises(TypeError, match="ProcessPoolExecutor cannot await"):
            shared_executor.submit_job(make_job(shared_scheduler, func), [RUN_TIME])
        assert run_slot_is_free(shared_executor, make_job(shared_scheduler, os.getpid), [RUN_TIME])
        assert shared_events.next(TIMEOUT).code == EVENT_JOB_EXECUTED

    def test_broken_pool_replaced(
        self,
        scheduler: DummyScheduler,
        events: EventRecorder,
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        executor = ProcessPoolExecutor(max_workers=1)
        executor.start(scheduler, "processes")
        try:
            with caplog.at_level(logging.WARNING, logger="quartzite.executors.processes"):
                # a worker that dies without reporting back breaks the pool
                executor.submit_job(make_job(scheduler, jobs.exit_process), [RUN_TIME])
                event = events.next(TIMEOUT)
                assert event.code == EVENT_JOB_ERROR
                assert event.job_id == "pooljob"
                assert event.jobstore == "store"
                assert event.scheduled_run_time == RUN_TIME
                assert isinstance(event.exception, BrokenProcessPool)
                # Reported through the scheduler's one outcome method, like any outcome.
                assert scheduler.outcomes == [event]

                # the next submission (same job id: its instance was released) still runs
                job = make_job(scheduler, jobs.add, args=[20, 22])
                executor.submit_job(job, [RUN_TIME])
                event = events.next(TIMEOUT)
                assert event.code == EVENT_JOB_EXECUTED, event.traceback
                assert event.retval == 42

            # a pool that was shut down is replaced when the executor is started again
            executor.shutdown(wait=True)
            executor.start(scheduler, "processes")
            executor.submit_job(job, [RUN_TIME])
            assert events.next(TIMEOUT).retval == 42
            messages = [
                (record.levelno, record.getMessage())
                for record in caplog.records
                if record.name == "quartzite.executors.processes"
            ]
            assert (logging.ERROR, "Error running job pooljob") in messages
            assert (
                logging.WARNING,
                "Process pool is broken; replacing pool with a fresh instance",
            ) in messages
        finally:
            executor.shutdown(wait=True)
