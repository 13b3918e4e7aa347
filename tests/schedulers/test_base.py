"""BaseScheduler: lifecycle, executors, job stores, listeners and plugin resolution (§2.2-2.4, §9).

Jobs are in test_jobs.py, export/import in test_export.py, the processing loop in
test_process_jobs.py and configuration in test_configure.py.
"""

from __future__ import annotations

import logging
import sys
from datetime import datetime
from types import SimpleNamespace
from typing import Any
from unittest import mock

import pytest

from quartzite.events import (
    EVENT_ALL,
    EVENT_EXECUTOR_ADDED,
    EVENT_EXECUTOR_REMOVED,
    EVENT_JOB_ADDED,
    EVENT_JOBSTORE_ADDED,
    EVENT_JOBSTORE_REMOVED,
    EVENT_SCHEDULER_PAUSED,
    EVENT_SCHEDULER_RESUMED,
    EVENT_SCHEDULER_SHUTDOWN,
    EVENT_SCHEDULER_STARTED,
    JobEvent,
    SchedulerEvent,
)
from quartzite.executors.debug import DebugExecutor
from quartzite.executors.pool import ThreadPoolExecutor
from quartzite.jobstores.memory import MemoryJobStore
from quartzite.schedulers import SchedulerAlreadyRunningError, SchedulerNotRunningError
from quartzite.schedulers.base import (
    STATE_PAUSED,
    STATE_RUNNING,
    STATE_STOPPED,
    BaseScheduler,
)
from quartzite.triggers.base import BaseTrigger
from quartzite.triggers.date import DateTrigger
from support import (
    DummyScheduler,
    EventRecorder,
    PoolSpy,
    RecordingExecutor,
    RecordingJobStore,
    dummy_job,
)


def test_state_constants() -> None:
    assert (STATE_STOPPED, STATE_RUNNING, STATE_PAUSED) == (0, 1, 2)


# ---------------------------------------------------------------------------- start()


def test_start_on_fresh_scheduler(
    scheduler: DummyScheduler, recorder: EventRecorder, caplog: pytest.LogCaptureFixture
) -> None:
    job1 = scheduler.add_job(dummy_job, id="job1")
    job2 = scheduler.add_job(dummy_job, id="job2", jobstore="default")
    caplog.set_level(logging.INFO, "quartzite.scheduler")

    scheduler.start()

    assert [(type(event), event.code) for event in recorder.events] == [
        (SchedulerEvent, EVENT_EXECUTOR_ADDED),
        (SchedulerEvent, EVENT_JOBSTORE_ADDED),
        (JobEvent, EVENT_JOB_ADDED),
        (JobEvent, EVENT_JOB_ADDED),
        (SchedulerEvent, EVENT_SCHEDULER_STARTED),
    ]
    assert recorder.events[0].alias == "default"
    assert recorder.events[1].alias == "default"
    assert [(e.job_id, e.jobstore) for e in recorder.events[2:4]] == [  # type: ignore[attr-defined]
        ("job1", "default"),
        ("job2", "default"),
    ]
    assert recorder.events[4].alias is None
    assert scheduler.state == STATE_RUNNING
    assert scheduler.running is True
    assert type(scheduler._executors["default"]) is DebugExecutor
    assert type(scheduler._jobstores["default"]) is MemoryJobStore
    assert scheduler._pending_jobs == []
    assert scheduler.get_jobs() == [job1, job2]
    assert not job1.pending
    assert scheduler.wakeups == 1  # once, by start(): the jobs were added before RUNNING
    assert "Scheduler started" in caplog.messages


def test_start_paused(scheduler: DummyScheduler, recorder: EventRecorder) -> None:
    scheduler.add_job(dummy_job, id="job1")
    scheduler.start(paused=True)

    assert scheduler.state == STATE_PAUSED
    assert scheduler.running is True
    assert recorder.codes == [
        EVENT_EXECUTOR_ADDED,
        EVENT_JOBSTORE_ADDED,
        EVENT_JOB_ADDED,
        EVENT_SCHEDULER_STARTED,
    ]
    assert scheduler.wakeups == 0  # neither start() nor _real_add_job() wake a paused scheduler


def test_start_wakes_up_after_the_started_event(scheduler: DummyScheduler) -> None:
    order: list[str] = []
    scheduler.add_listener(lambda event: order.append("started"), EVENT_SCHEDULER_STARTED)
    with mock.patch.object(scheduler, "wakeup", side_effect=lambda: order.append("wakeup")):
        scheduler.start()
    assert order == ["started", "wakeup"]


def test_start_adds_pending_jobs_positionally(scheduler: DummyScheduler) -> None:
    scheduler.add_jobstore(MemoryJobStore(), "other")
    job1 = scheduler.add_job(dummy_job, id="job1")
    job2 = scheduler.add_job(dummy_job, id="job2", jobstore="other", replace_existing=True)

    with mock.patch.object(scheduler, "_real_add_job") as real_add_job:
        scheduler.start()

    assert real_add_job.call_args_list == [
        mock.call(job1, "default", False),
        mock.call(job2, "other", True),
    ]
    assert scheduler._pending_jobs == []


def test_start_uses_configured_default_components(scheduler: DummyScheduler) -> None:
    calls: list[Any] = []
    executor = RecordingExecutor(calls)
    store = RecordingJobStore(calls)
    scheduler.configure(
        timezone=scheduler.timezone, executors={"default": executor}, jobstores={"default": store}
    )
    with (
        mock.patch.object(scheduler, "_create_default_executor") as default_executor,
        mock.patch.object(scheduler, "_create_default_jobstore") as default_jobstore,
    ):
        scheduler.start()

    default_executor.assert_not_called()
    default_jobstore.assert_not_called()
    assert calls == [
        ("executor.start", scheduler, "default"),
        ("jobstore.start", scheduler, "default"),
    ]


def test_start_starts_every_component_once(scheduler: DummyScheduler) -> None:
    calls: list[Any] = []
    scheduler.add_executor(RecordingExecutor(calls), "extra")
    scheduler.add_jobstore(RecordingJobStore(calls), "extra")
    with (
        mock.patch.object(
            scheduler, "_create_default_executor", return_value=RecordingExecutor(calls)
        ),
        mock.patch.object(
            scheduler, "_create_default_jobstore", return_value=RecordingJobStore(calls)
        ),
    ):
        scheduler.start()

    assert calls == [
        ("executor.start", scheduler, "extra"),
        ("executor.start", scheduler, "default"),
        ("jobstore.start", scheduler, "extra"),
        ("jobstore.start", scheduler, "default"),
    ]


def test_base_default_components(freeze_time: Any) -> None:
    class PlainScheduler(BaseScheduler):
        def shutdown(self, wait: bool = True) -> None:
            super().shutdown(wait)

        def wakeup(self) -> None:
            pass

    scheduler = PlainScheduler()
    executor = scheduler._create_default_executor()
    try:
        assert type(executor) is ThreadPoolExecutor
        assert type(scheduler._create_default_jobstore()) is MemoryJobStore
    finally:
        executor.shutdown()


@pytest.mark.parametrize("paused", [False, True], ids=["running", "paused"])
def test_start_twice(scheduler: DummyScheduler, paused: bool) -> None:
    scheduler.start(paused=paused)
    with pytest.raises(SchedulerAlreadyRunningError) as exc:
        scheduler.start()
    assert str(exc.value) == "Scheduler is already running"
    assert scheduler.state == (STATE_PAUSED if paused else STATE_RUNNING)


def test_start_refused_under_uwsgi_without_threads(
    scheduler: DummyScheduler, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "uwsgi", SimpleNamespace(has_threads=False))
    with pytest.raises(RuntimeError) as exc:
        scheduler.start()
    assert str(exc.value) == (
        "The scheduler seems to be running under uWSGI, but threads have been disabled. You "
        "must run uWSGI with the --enable-threads option for the scheduler to work."
    )
    assert scheduler.state == STATE_STOPPED
    assert scheduler._executors == {}


@pytest.mark.parametrize(
    "uwsgi", [SimpleNamespace(has_threads=True), SimpleNamespace()], ids=["threads", "no-flag"]
)
def test_start_under_uwsgi_with_threads(
    scheduler: DummyScheduler, monkeypatch: pytest.MonkeyPatch, uwsgi: Any
) -> None:
    monkeypatch.setitem(sys.modules, "uwsgi", uwsgi)
    scheduler.start()
    assert scheduler.state == STATE_RUNNING


# ---------------------------------------------------------------------------- shutdown()


def test_shutdown_when_stopped(scheduler: DummyScheduler) -> None:
    with pytest.raises(SchedulerNotRunningError) as exc:
        scheduler.shutdown()
    assert str(exc.value) == "Scheduler is not running"


@pytest.mark.parametrize("wait", [True, False])
@pytest.mark.parametrize("paused", [False, True], ids=["running", "paused"])
def test_shutdown(
    scheduler: DummyScheduler,
    caplog: pytest.LogCaptureFixture,
    wait: bool,
    paused: bool,
) -> None:
    calls: list[Any] = []
    scheduler.add_executor(RecordingExecutor(calls), "default")
    scheduler.add_executor(RecordingExecutor(calls), "other")
    scheduler.add_jobstore(RecordingJobStore(calls), "default")
    scheduler.add_jobstore(RecordingJobStore(calls), "other")
    scheduler.start(paused=paused)
    recorder = EventRecorder()
    scheduler.add_listener(recorder)
    del calls[:]
    caplog.set_level(logging.INFO, "quartzite.scheduler")

    scheduler.shutdown(wait=wait)

    assert scheduler.state == STATE_STOPPED
    assert scheduler.running is False
    # executors first (with the wait flag), then the stores
    assert calls == [
        ("executor.shutdown", (wait,), {}),
        ("executor.shutdown", (wait,), {}),
        ("jobstore.shutdown", (), {}),
        ("jobstore.shutdown", (), {}),
    ]
    assert recorder.codes == [EVENT_SCHEDULER_SHUTDOWN]
    assert recorder.events[0].alias is None
    assert "Scheduler has been shut down" in caplog.messages


def test_shutdown_default_waits(scheduler: DummyScheduler) -> None:
    calls: list[Any] = []
    scheduler.add_executor(RecordingExecutor(calls), "default")
    scheduler.start()
    scheduler.shutdown()
    assert ("executor.shutdown", (True,), {}) in calls


def test_shutdown_twice(scheduler: DummyScheduler) -> None:
    scheduler.start()
    scheduler.shutdown()
    with pytest.raises(SchedulerNotRunningError):
        scheduler.shutdown()


def test_restart_after_shutdown(scheduler: DummyScheduler, recorder: EventRecorder) -> None:
    scheduler.start()
    scheduler.shutdown()
    recorder.clear()
    scheduler.start()
    assert scheduler.state == STATE_RUNNING
    # the default components exist already: nothing is added, only started again
    assert recorder.codes == [EVENT_SCHEDULER_STARTED]


# ---------------------------------------------------------------------------- pause / resume


def test_pause_and_resume_when_stopped(scheduler: DummyScheduler) -> None:
    with pytest.raises(SchedulerNotRunningError):
        scheduler.pause()
    with pytest.raises(SchedulerNotRunningError):
        scheduler.resume()


def test_pause(
    scheduler: DummyScheduler, recorder: EventRecorder, caplog: pytest.LogCaptureFixture
) -> None:
    scheduler.start()
    recorder.clear()
    wakeups = scheduler.wakeups
    caplog.set_level(logging.INFO, "quartzite.scheduler")

    scheduler.pause()
    assert scheduler.state == STATE_PAUSED
    assert recorder.codes == [EVENT_SCHEDULER_PAUSED]
    assert recorder.events[0].alias is None
    assert scheduler.wakeups == wakeups

    # pausing a paused scheduler does nothing
    scheduler.pause()
    assert scheduler.state == STATE_PAUSED
    assert recorder.codes == [EVENT_SCHEDULER_PAUSED]


def test_resume(scheduler: DummyScheduler, recorder: EventRecorder) -> None:
    scheduler.start(paused=True)
    recorder.clear()

    scheduler.resume()
    assert scheduler.state == STATE_RUNNING
    assert recorder.codes == [EVENT_SCHEDULER_RESUMED]
    assert scheduler.wakeups == 1

    # resuming a running scheduler does nothing
    scheduler.resume()
    assert scheduler.state == STATE_RUNNING
    assert recorder.codes == [EVENT_SCHEDULER_RESUMED]
    assert scheduler.wakeups == 1


def test_resume_wakes_up_after_the_event(scheduler: DummyScheduler) -> None:
    scheduler.start(paused=True)
    order: list[str] = []
    scheduler.add_listener(lambda event: order.append("resumed"), EVENT_SCHEDULER_RESUMED)
    with mock.patch.object(scheduler, "wakeup", side_effect=lambda: order.append("wakeup")):
        scheduler.resume()
    assert order == ["resumed", "wakeup"]


# ---------------------------------------------------------------------------- executors


def test_add_executor_instance(scheduler: DummyScheduler, recorder: EventRecorder) -> None:
    executor = RecordingExecutor()
    scheduler.add_executor(executor)  # alias defaults to "default"
    assert scheduler._executors == {"default": executor}
    assert executor.calls == []  # not started while the scheduler is stopped
    assert [(e.code, e.alias) for e in recorder.events] == [(EVENT_EXECUTOR_ADDED, "default")]


def test_add_executor_by_plugin_alias(
    scheduler: DummyScheduler, monkeypatch: pytest.MonkeyPatch
) -> None:
    pools = PoolSpy(monkeypatch)
    scheduler.add_executor("threadpool", "pool", max_workers=2)
    scheduler.add_executor("debug", "debug")
    executor = scheduler._executors["pool"]
    try:
        assert type(executor) is ThreadPoolExecutor
        assert pools.arguments() == [("ThreadPoolExecutor", 2, {})]
        assert type(scheduler._executors["debug"]) is DebugExecutor
    finally:
        executor.shutdown()


@pytest.mark.parametrize("paused", [False, True], ids=["running", "paused"])
def test_add_executor_starts_it_when_running(scheduler: DummyScheduler, paused: bool) -> None:
    scheduler.start(paused=paused)
    executor = RecordingExecutor()
    scheduler.add_executor(executor, "extra")
    assert executor.calls == [("executor.start", scheduler, "extra")]


def test_add_executor_alias_taken(scheduler: DummyScheduler, recorder: EventRecorder) -> None:
    scheduler.add_executor(DebugExecutor(), "foo")
    recorder.clear()
    with pytest.raises(ValueError) as exc:
        scheduler.add_executor(DebugExecutor(), "foo")
    assert str(exc.value) == 'This scheduler already has an executor by the alias of "foo"'
    assert recorder.events == []


def test_add_executor_wrong_type(scheduler: DummyScheduler) -> None:
    with pytest.raises(TypeError) as exc:
        scheduler.add_executor(MemoryJobStore())  # type: ignore[arg-type]
    assert str(exc.value) == (
        "Expected an executor instance or a string, got MemoryJobStore instead"
    )
    assert scheduler._executors == {}


def test_add_executor_unknown_plugin(scheduler: DummyScheduler) -> None:
    with pytest.raises(LookupError) as exc:
        scheduler.add_executor("nonexistent")
    assert exc.value.args[0].startswith('No executor by the name "nonexistent" was found (')


def test_remove_executor(scheduler: DummyScheduler, recorder: EventRecorder) -> None:
    executor = RecordingExecutor()
    scheduler.add_executor(executor, "foo")
    recorder.clear()

    scheduler.remove_executor("foo")
    assert "foo" not in scheduler._executors
    assert executor.calls == [("executor.shutdown", (), {})]  # no arguments
    assert [(e.code, e.alias) for e in recorder.events] == [(EVENT_EXECUTOR_REMOVED, "foo")]


def test_remove_executor_without_shutdown(scheduler: DummyScheduler) -> None:
    executor = RecordingExecutor()
    scheduler.add_executor(executor, "foo")
    scheduler.remove_executor("foo", shutdown=False)
    assert scheduler._executors == {}
    assert executor.calls == []


def test_remove_executor_unknown(scheduler: DummyScheduler, recorder: EventRecorder) -> None:
    with pytest.raises(KeyError) as exc:
        scheduler.remove_executor("foo")
    assert exc.value.args == ("No such executor: foo",)
    assert recorder.events == []


def test_lookup_executor(scheduler: DummyScheduler) -> None:
    executor = DebugExecutor()
    scheduler.add_executor(executor, "foo")
    assert scheduler._lookup_executor("foo") is executor
    with pytest.raises(KeyError) as exc:
        scheduler._lookup_executor("bar")
    assert exc.value.args == ("No such executor: bar",)


# ---------------------------------------------------------------------------- job stores


def test_add_jobstore_instance(scheduler: DummyScheduler, recorder: EventRecorder) -> None:
    store = RecordingJobStore()
    scheduler.add_jobstore(store)  # alias defaults to "default"
    assert scheduler._jobstores == {"default": store}
    assert store.calls == []
    assert [(e.code, e.alias) for e in recorder.events] == [(EVENT_JOBSTORE_ADDED, "default")]
    assert scheduler.wakeups == 0  # no wakeup while stopped


def test_add_jobstore_by_plugin_alias(scheduler: DummyScheduler) -> None:
    scheduler.add_jobstore("memory", "mem")
    assert type(scheduler._jobstores["mem"]) is MemoryJobStore


@pytest.mark.parametrize("paused", [False, True], ids=["running", "paused"])
def test_add_jobstore_when_running(scheduler: DummyScheduler, paused: bool) -> None:
    scheduler.start(paused=paused)
    order: list[Any] = []
    store = RecordingJobStore(order)
    scheduler.add_listener(lambda event: order.append("added"), EVENT_JOBSTORE_ADDED)
    with mock.patch.object(scheduler, "wakeup", side_effect=lambda: order.append("wakeup")):
        scheduler.add_jobstore(store, "extra")
    # started, then the event, then a wakeup so that the new store gets scanned
    assert order == [("jobstore.start", scheduler, "extra"), "added", "wakeup"]


def test_add_jobstore_alias_taken(scheduler: DummyScheduler) -> None:
    scheduler.add_jobstore(MemoryJobStore(), "foo")
    with pytest.raises(ValueError) as exc:
        scheduler.add_jobstore(MemoryJobStore(), "foo")
    assert str(exc.value) == 'This scheduler already has a job store by the alias of "foo"'


def test_add_jobstore_wrong_type(scheduler: DummyScheduler) -> None:
    with pytest.raises(TypeError) as exc:
        scheduler.add_jobstore(DebugExecutor())  # type: ignore[arg-type]
    assert str(exc.value) == "Expected a job store instance or a string, got DebugExecutor instead"


def test_add_jobstore_unknown_plugin(scheduler: DummyScheduler) -> None:
    with pytest.raises(LookupError) as exc:
        scheduler.add_jobstore("nonexistent")
    assert exc.value.args[0].startswith('No jobstore by the name "nonexistent" was found (')


def test_remove_jobstore(scheduler: DummyScheduler, recorder: EventRecorder) -> None:
    store = RecordingJobStore()
    scheduler.add_jobstore(store, "foo")
    recorder.clear()

    scheduler.remove_jobstore("foo")
    assert "foo" not in scheduler._jobstores
    assert store.calls == [("jobstore.shutdown", (), {})]
    assert [(e.code, e.alias) for e in recorder.events] == [(EVENT_JOBSTORE_REMOVED, "foo")]


def test_remove_jobstore_without_shutdown(scheduler: DummyScheduler) -> None:
    store = RecordingJobStore()
    scheduler.add_jobstore(store, "foo")
    scheduler.remove_jobstore("foo", shutdown=False)
    assert scheduler._jobstores == {}
    assert store.calls == []


def test_remove_jobstore_unknown(scheduler: DummyScheduler) -> None:
    with pytest.raises(KeyError) as exc:
        scheduler.remove_jobstore("foo")
    assert exc.value.args == ("No such job store: foo",)


def test_lookup_jobstore(scheduler: DummyScheduler) -> None:
    store = MemoryJobStore()
    scheduler.add_jobstore(store, "foo")
    assert scheduler._lookup_jobstore("foo") is store
    with pytest.raises(KeyError) as exc:
        scheduler._lookup_jobstore("bar")
    assert exc.value.args == ("No such job store: bar",)


# ---------------------------------------------------------------------------- listeners


def test_listener_masks(scheduler: DummyScheduler) -> None:
    everything = EventRecorder()
    stores_only = EventRecorder()
    lifecycle = EventRecorder()
    scheduler.add_listener(everything)
    scheduler.add_listener(stores_only, EVENT_JOBSTORE_ADDED | EVENT_JOBSTORE_REMOVED)
    scheduler.add_listener(lifecycle, EVENT_SCHEDULER_STARTED | EVENT_SCHEDULER_SHUTDOWN)
    assert scheduler._listeners == [
        (everything, EVENT_ALL),
        (stores_only, EVENT_JOBSTORE_ADDED | EVENT_JOBSTORE_REMOVED),
        (lifecycle, EVENT_SCHEDULER_STARTED | EVENT_SCHEDULER_SHUTDOWN),
    ]

    scheduler.start()
    scheduler.remove_jobstore("default")
    scheduler.shutdown()

    assert everything.codes == [
        EVENT_EXECUTOR_ADDED,
        EVENT_JOBSTORE_ADDED,
        EVENT_SCHEDULER_STARTED,
        EVENT_JOBSTORE_REMOVED,
        EVENT_SCHEDULER_SHUTDOWN,
    ]
    assert stores_only.codes == [EVENT_JOBSTORE_ADDED, EVENT_JOBSTORE_REMOVED]
    assert lifecycle.codes == [EVENT_SCHEDULER_STARTED, EVENT_SCHEDULER_SHUTDOWN]


def test_remove_listener(scheduler: DummyScheduler) -> None:
    removed = EventRecorder()
    kept = EventRecorder()
    scheduler.add_listener(removed)
    scheduler.add_listener(kept, EVENT_SCHEDULER_STARTED)
    scheduler.add_listener(removed, EVENT_SCHEDULER_STARTED)  # a second registration

    scheduler.remove_listener(removed)  # removes every entry of that callback

    assert scheduler._listeners == [(kept, EVENT_SCHEDULER_STARTED)]
    scheduler.start()
    assert removed.events == []
    assert kept.codes == [EVENT_SCHEDULER_STARTED]


def test_remove_listener_compares_with_eq(scheduler: DummyScheduler) -> None:
    class Listener:
        def __call__(self, event: Any) -> None:
            pass

        def __eq__(self, other: object) -> bool:
            return isinstance(other, Listener)

        __hash__ = object.__hash__

    scheduler.add_listener(Listener())
    scheduler.remove_listener(Listener())
    assert scheduler._listeners == []


@pytest.mark.parametrize("exception", [ValueError("boom"), KeyboardInterrupt()])
def test_raising_listener_is_logged_and_ignored(
    scheduler: DummyScheduler, caplog: pytest.LogCaptureFixture, exception: BaseException
) -> None:
    def bad_listener(event: Any) -> None:
        raise exception

    after = EventRecorder()
    scheduler.add_listener(bad_listener)
    scheduler.add_listener(after)
    caplog.set_level(logging.ERROR, "quartzite.scheduler")

    scheduler.start()

    assert scheduler.state == STATE_RUNNING
    assert after.codes == [EVENT_EXECUTOR_ADDED, EVENT_JOBSTORE_ADDED, EVENT_SCHEDULER_STARTED]
    records = [r for r in caplog.records if r.message == "Error notifying listener"]
    assert len(records) == 3
    assert all(r.exc_info and r.exc_info[1] is exception for r in records)
    assert all(r.name == "quartzite.scheduler" for r in records)


def test_dispatch_event_uses_a_snapshot_of_listeners(scheduler: DummyScheduler) -> None:
    late = EventRecorder()

    def adding_listener(event: Any) -> None:
        scheduler.add_listener(late)

    scheduler.add_listener(adding_listener)
    scheduler._dispatch_event(SchedulerEvent(EVENT_SCHEDULER_PAUSED))
    assert late.events == []
    scheduler.remove_listener(adding_listener)
    scheduler._dispatch_event(SchedulerEvent(EVENT_SCHEDULER_RESUMED))
    assert late.codes == [EVENT_SCHEDULER_RESUMED]


# ---------------------------------------------------------------------------- plugins


class DummyTrigger(BaseTrigger):
    def __init__(self, **kwargs: Any) -> None:
        self.kwargs = kwargs

    def get_next_fire_time(
        self, previous_fire_time: datetime | None, now: datetime
    ) -> datetime | None:
        return None if previous_fire_time else now


class FakeEntryPoint:
    """What the scheduler needs of an ``importlib.metadata`` entry point: ``load()``."""

    def __init__(self, target: Any) -> None:
        self.target = target
        self.loads = 0

    def load(self) -> Any:
        self.loads += 1
        return self.target


@pytest.fixture
def trigger_plugins(scheduler: DummyScheduler) -> dict[str, FakeEntryPoint]:
    """Instance-level plugin/class dicts for triggers, as tests of extensions install them."""
    plugins = {"dummy": FakeEntryPoint(DummyTrigger), "bogus": FakeEntryPoint(DebugExecutor)}
    scheduler._trigger_plugins = plugins
    scheduler._trigger_classes = {}
    return plugins


def test_plugin_from_instance_level_dicts(
    scheduler: DummyScheduler, trigger_plugins: dict[str, FakeEntryPoint]
) -> None:
    trigger = scheduler._create_trigger("dummy", {"a": 1, "b": "2"})
    assert type(trigger) is DummyTrigger
    assert trigger.kwargs == {"a": 1, "b": "2", "timezone": scheduler.timezone}
    assert scheduler._trigger_classes == {"dummy": DummyTrigger}

    # the class is cached: the entry point is loaded only once
    scheduler._create_trigger("dummy", {})
    assert trigger_plugins["dummy"].loads == 1
    # the class-level cache is untouched
    assert "dummy" not in BaseScheduler._trigger_classes


def test_plugin_cache_is_consulted_first(scheduler: DummyScheduler) -> None:
    scheduler._trigger_plugins = {}
    scheduler._trigger_classes = {"cached": DummyTrigger}
    assert type(scheduler._create_trigger("cached", {})) is DummyTrigger


def test_plugin_of_wrong_class(
    scheduler: DummyScheduler, trigger_plugins: dict[str, FakeEntryPoint]
) -> None:
    with pytest.raises(TypeError) as exc:
        scheduler._create_trigger("bogus", {})
    assert str(exc.value) == "The trigger entry point does not point to a trigger class"


@pytest.mark.parametrize("type_", ["executor", "jobstore"])
def test_plugin_of_wrong_class_for_components(scheduler: DummyScheduler, type_: str) -> None:
    setattr(scheduler, f"_{type_}_plugins", {"bogus": FakeEntryPoint(DummyTrigger)})
    setattr(scheduler, f"_{type_}_classes", {})
    with pytest.raises(TypeError) as exc:
        getattr(scheduler, f"add_{type_}")("bogus")
    assert str(exc.value) == f"The {type_} entry point does not point to a {type_} class"


@pytest.mark.parametrize("type_", ["trigger", "executor", "jobstore"])
def test_plugin_not_found(scheduler: DummyScheduler, type_: str) -> None:
    with pytest.raises(LookupError) as exc:
        scheduler._create_plugin_instance(type_, "nonexistent", {})
    # The contract's sentence alone: code written for APScheduler compares it.
    assert exc.value.args == (f'No {type_} by the name "nonexistent" was found',)


def test_builtin_plugins(scheduler: DummyScheduler) -> None:
    scheduler.add_executor("debug", "by_alias")
    scheduler.add_jobstore("memory", "by_alias")
    assert type(scheduler._executors["by_alias"]) is DebugExecutor
    assert type(scheduler._jobstores["by_alias"]) is MemoryJobStore
    trigger = scheduler._create_trigger(
        "date", {"run_date": "2030-01-01 00:00:00", "timezone": "UTC"}
    )
    assert type(trigger) is DateTrigger


def test_add_job_uses_instance_level_trigger_plugins(
    scheduler: DummyScheduler, trigger_plugins: dict[str, FakeEntryPoint]
) -> None:
    job = scheduler.add_job(dummy_job, "dummy", x=1)
    assert type(job.trigger) is DummyTrigger
    assert job.trigger.kwargs == {"x": 1, "timezone": scheduler.timezone}
