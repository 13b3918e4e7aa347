"""Construction and configuration of a scheduler (API contract §2.1)."""

from __future__ import annotations

import logging
import pickle
from datetime import timezone as dt_timezone
from typing import Any
from unittest import mock
from zoneinfo import ZoneInfo

import pytest

from quartzite.events import EVENT_EXECUTOR_ADDED, EVENT_JOBSTORE_ADDED
from quartzite.executors.debug import DebugExecutor
from quartzite.executors.pool import ThreadPoolExecutor
from quartzite.jobstores.memory import MemoryJobStore
from quartzite.schedulers import SchedulerAlreadyRunningError
from quartzite.schedulers.base import STATE_STOPPED
from support import DummyScheduler, EventRecorder, PoolSpy

# ---------------------------------------------------------------------------- construction


def test_init_calls_configure_with_gconfig_and_options() -> None:
    gconfig = {"quartzite.timezone": "UTC"}
    with mock.patch.object(DummyScheduler, "configure") as configure:
        DummyScheduler(gconfig, timezone="Asia/Tokyo", daemon=False)

    configure.assert_called_once_with(gconfig, timezone="Asia/Tokyo", daemon=False)


def test_init_sets_up_empty_state_and_three_locks() -> None:
    locks = [mock.MagicMock(name=f"lock{index}") for index in range(3)]
    with mock.patch.object(DummyScheduler, "_create_lock", side_effect=locks) as create_lock:
        scheduler = DummyScheduler()

    assert create_lock.call_count == 3
    assert scheduler._executors == {}
    assert scheduler._jobstores == {}
    assert scheduler._listeners == []
    assert scheduler._pending_jobs == []
    assert scheduler.state == STATE_STOPPED
    assert scheduler.running is False

    # one lock guards the executors, one the job stores, one the listeners
    scheduler.add_executor(DebugExecutor(), "x")
    scheduler.add_jobstore(MemoryJobStore(), "y")
    scheduler.add_listener(print)
    assert [lock.__enter__.called for lock in locks] == [True, True, True]


def test_default_lock_is_reentrant() -> None:
    lock = DummyScheduler()._create_lock()
    with lock, lock:
        pass


def test_scheduler_cannot_be_pickled() -> None:
    scheduler = DummyScheduler()
    with pytest.raises(TypeError) as exc:
        scheduler.__getstate__()
    assert str(exc.value).startswith("Schedulers cannot be serialized.")

    with pytest.raises(TypeError, match=r"^Schedulers cannot be serialized\."):
        pickle.dumps(scheduler)


# ---------------------------------------------------------------------------- configure()


def configured(gconfig: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """Return the single dict that ``configure(gconfig, **kwargs)`` passes to ``_configure``."""
    scheduler = DummyScheduler()
    with mock.patch.object(scheduler, "_configure") as _configure:
        scheduler.configure(gconfig, **kwargs)

    _configure.assert_called_once()
    args, call_kwargs = _configure.call_args
    assert call_kwargs == {}
    assert len(args) == 1
    return args[0]  # type: ignore[no-any-return]


def test_configure_default_prefix_picks_and_strips_package_keys() -> None:
    gconfig = {
        "quartzite.timezone": "UTC",
        "quartzite.jobstore_retry_interval": "3",
        "apscheduler.timezone": "Asia/Tokyo",
        "timezone": "Europe/Paris",
        "other": 1,
    }
    with pytest.warns(UserWarning, match="rename the prefix"):
        assert configured(gconfig) == {"timezone": "UTC", "jobstore_retry_interval": "3"}


@pytest.mark.parametrize("prefix", ["", None], ids=["empty", "None"])
def test_configure_without_prefix_uses_all_keys(prefix: str | None) -> None:
    gconfig = {"quartzite.timezone": "UTC", "timezone": "Europe/Paris"}
    assert configured(gconfig, prefix=prefix) == {
        "quartzite": {"timezone": "UTC"},
        "timezone": "Europe/Paris",
    }


def test_configure_custom_prefix() -> None:
    gconfig = {"my.app.timezone": "UTC", "my.app.job_defaults.coalesce": "false", "x": 1}
    assert configured(gconfig, prefix="my.app.") == {
        "timezone": "UTC",
        "job_defaults": {"coalesce": "false"},
    }


def test_configure_expands_dotted_keys() -> None:
    gconfig = {
        "quartzite.a.b.c": 1,
        "quartzite.a.b.d": 2,
        "quartzite.a.e": 3,
        "quartzite.job_defaults.max_instances": "4",
    }
    assert configured(gconfig) == {
        "a": {"b": {"c": 1, "d": 2}, "e": 3},
        "job_defaults": {"max_instances": "4"},
    }


def test_configure_nested_and_dotted_styles_are_equivalent() -> None:
    dotted = {
        "quartzite.executors.default.type": "debug",
        "quartzite.executors.pool.class": "quartzite.executors.pool:ThreadPoolExecutor",
        "quartzite.executors.pool.max_workers": "2",
        "quartzite.job_defaults.coalesce": "false",
    }
    nested = {
        "quartzite.executors": {
            "default": {"type": "debug"},
            "pool": {"class": "quartzite.executors.pool:ThreadPoolExecutor", "max_workers": "2"},
        },
        "quartzite.job_defaults": {"coalesce": "false"},
    }
    expected = {
        "executors": {
            "default": {"type": "debug"},
            "pool": {"class": "quartzite.executors.pool:ThreadPoolExecutor", "max_workers": "2"},
        },
        "job_defaults": {"coalesce": "false"},
    }
    assert configured(dotted) == expected
    assert configured(nested) == expected


@pytest.mark.parametrize("nested_first", [True, False], ids=["nested-first", "dotted-first"])
def test_configure_mixed_styles_merge(nested_first: bool) -> None:
    # (beyond the reference, which drops the dotted keys when the nested dict comes later)
    nested = {"quartzite.jobstores": {"default": {"type": "memory"}}}
    dotted = {"quartzite.jobstores.other.type": "memory", "quartzite.jobstores.default.x": 1}
    gconfig = {**nested, **dotted} if nested_first else {**dotted, **nested}
    assert configured(gconfig) == {
        "jobstores": {"default": {"type": "memory", "x": 1}, "other": {"type": "memory"}}
    }


def test_configure_keyword_options_replace_top_level_keys() -> None:
    gconfig = {
        "quartzite.timezone": "Asia/Tokyo",
        "quartzite.job_defaults.coalesce": "false",
        "quartzite.job_defaults.max_instances": "3",
    }
    config = configured(gconfig, timezone="UTC", job_defaults={"misfire_grace_time": 5})
    # dict.update: the keyword's job_defaults replaces the whole gconfig dict, no merging
    assert config == {"timezone": "UTC", "job_defaults": {"misfire_grace_time": 5}}


def test_configure_scheduler_config_setting_form() -> None:
    """The form a Django-style ``SCHEDULER_CONFIG`` setting takes."""
    scheduler_config = {
        "quartzite.jobstores.default": {"type": "memory"},
        "quartzite.executors.processpool": {"type": "threadpool"},
        "quartzite.timezone": "UTC",
    }
    scheduler = DummyScheduler(scheduler_config)
    try:
        assert scheduler.timezone is dt_timezone.utc
        assert list(scheduler._jobstores) == ["default"]
        assert isinstance(scheduler._jobstores["default"], MemoryJobStore)
        assert list(scheduler._executors) == ["processpool"]
        assert isinstance(scheduler._executors["processpool"], ThreadPoolExecutor)
    finally:
        scheduler._executors["processpool"].shutdown()


def test_constructor_gconfig_and_keywords() -> None:
    scheduler = DummyScheduler(
        {"quartzite.timezone": "Asia/Tokyo", "quartzite.jobstore_retry_interval": 3},
        timezone="UTC",
    )
    assert scheduler.timezone is dt_timezone.utc
    assert scheduler.jobstore_retry_interval == 3.0


@pytest.mark.parametrize("paused", [False, True], ids=["running", "paused"])
def test_configure_refused_unless_stopped(scheduler: DummyScheduler, paused: bool) -> None:
    scheduler.start(paused=paused)
    with pytest.raises(SchedulerAlreadyRunningError) as exc:
        scheduler.configure(timezone="UTC")
    assert str(exc.value) == "Scheduler is already running"
    assert scheduler.timezone == ZoneInfo("Europe/Berlin")


# ---------------------------------------------------------------------------- _configure()


def loggers_used(scheduler: DummyScheduler, caplog: pytest.LogCaptureFixture) -> set[str]:
    """The names of the loggers ``scheduler`` writes its start/shutdown messages to."""
    caplog.clear()
    with caplog.at_level(logging.INFO):
        scheduler.start(paused=True)
        scheduler.shutdown()
    return {
        record.name
        for record in caplog.records
        if record.getMessage() in ("Scheduler started", "Scheduler has been shut down")
    }


def test_defaults(caplog: pytest.LogCaptureFixture) -> None:
    scheduler = DummyScheduler(timezone="UTC")
    assert scheduler.jobstore_retry_interval == 10.0
    assert isinstance(scheduler.jobstore_retry_interval, float)
    assert scheduler._job_defaults == {
        "misfire_grace_time": 1,
        "coalesce": True,
        "max_instances": 1,
    }
    assert scheduler._executors == {}
    assert scheduler._jobstores == {}
    assert loggers_used(scheduler, caplog) == {"quartzite.scheduler"}


def test_logger_instance(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("my.logger")
    assert loggers_used(DummyScheduler(logger=logger), caplog) == {"my.logger"}


def test_logger_string_is_a_reference(caplog: pytest.LogCaptureFixture) -> None:
    assert loggers_used(DummyScheduler(logger="logging:root"), caplog) == {"root"}
    # a logger *name* is not accepted: strings go through maybe_ref
    with pytest.raises(ValueError, match=r"^Invalid reference$"):
        DummyScheduler(logger="my_logger")


def test_timezone_string_and_instance() -> None:
    assert DummyScheduler(timezone="Asia/Tokyo").timezone == ZoneInfo("Asia/Tokyo")
    assert DummyScheduler(timezone="UTC").timezone is dt_timezone.utc
    zone = ZoneInfo("America/New_York")
    assert DummyScheduler(timezone=zone).timezone is zone


@pytest.mark.parametrize("options", [{}, {"timezone": None}], ids=["absent", "None"])
def test_timezone_defaults_to_local_zone(
    monkeypatch: pytest.MonkeyPatch, options: dict[str, Any]
) -> None:
    local_zone = ZoneInfo("Australia/Adelaide")
    monkeypatch.setattr("quartzite.schedulers.base.get_localzone", lambda: local_zone)
    assert DummyScheduler(**options).timezone is local_zone


def test_jobstore_retry_interval_is_converted_to_float() -> None:
    scheduler = DummyScheduler(jobstore_retry_interval="5")
    assert scheduler.jobstore_retry_interval == 5.0
    assert isinstance(scheduler.jobstore_retry_interval, float)


def test_job_defaults_from_strings() -> None:
    gconfig = {
        "quartzite.job_defaults.misfire_grace_time": "5",
        "quartzite.job_defaults.coalesce": "false",
        "quartzite.job_defaults.max_instances": "3",
    }
    scheduler = DummyScheduler(gconfig)
    assert scheduler._job_defaults == {
        "misfire_grace_time": 5,
        "coalesce": False,
        "max_instances": 3,
    }


def test_job_defaults_partial_and_none_grace_time() -> None:
    scheduler = DummyScheduler(job_defaults={"misfire_grace_time": None, "coalesce": "yes"})
    assert scheduler._job_defaults == {
        "misfire_grace_time": None,
        "coalesce": True,
        "max_instances": 1,
    }


def test_unknown_options_are_ignored() -> None:
    DummyScheduler({"quartzite.foo.bar": 1}, spam="eggs", event_loop=None)


def test_executors_and_jobstores_from_instances_types_and_classes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pools = PoolSpy(monkeypatch)
    debug = DebugExecutor()
    memory = MemoryJobStore()
    scheduler = DummyScheduler(
        executors={
            "instance": debug,
            "type": {"type": "debug"},
            "class": {"class": DebugExecutor},
            "ref": {"class": "quartzite.executors.debug:DebugExecutor"},
            "kwargs": {"type": "threadpool", "max_workers": "3"},
        },
        jobstores={
            "instance": memory,
            "type": {"type": "memory"},
            "class": {"class": MemoryJobStore},
            "ref": {"class": "quartzite.jobstores.memory:MemoryJobStore"},
        },
    )
    executors = scheduler._executors
    try:
        assert list(executors) == ["instance", "type", "class", "ref", "kwargs"]
        assert executors["instance"] is debug
        for alias in ("type", "class", "ref"):
            assert type(executors[alias]) is DebugExecutor
        assert type(executors["kwargs"]) is ThreadPoolExecutor
        assert pools.arguments() == [("ThreadPoolExecutor", 3, {})]

        stores = scheduler._jobstores
        assert list(stores) == ["instance", "type", "class", "ref"]
        assert stores["instance"] is memory
        for alias in ("type", "class", "ref"):
            assert type(stores[alias]) is MemoryJobStore
    finally:
        executors["kwargs"].shutdown()


def test_type_takes_precedence_over_class_and_keys_are_popped() -> None:
    executor_config = {"type": "debug", "class": ThreadPoolExecutor}
    store_config = {"class": MemoryJobStore}
    scheduler = DummyScheduler(
        executors={"default": executor_config}, jobstores={"default": store_config}
    )
    assert type(scheduler._executors["default"]) is DebugExecutor
    assert type(scheduler._jobstores["default"]) is MemoryJobStore
    # "type" and "class" are popped from the caller's dicts
    assert executor_config == {}
    assert store_config == {}


def test_components_added_by_configure_dispatch_events() -> None:
    recorder = EventRecorder()
    scheduler = DummyScheduler()
    scheduler.add_listener(recorder)
    scheduler.configure(
        executors={"default": DebugExecutor(), "other": {"type": "debug"}},
        jobstores={"default": MemoryJobStore()},
    )
    assert [(event.code, event.alias) for event in recorder.events] == [
        (EVENT_EXECUTOR_ADDED, "default"),
        (EVENT_EXECUTOR_ADDED, "other"),
        (EVENT_JOBSTORE_ADDED, "default"),
    ]


@pytest.mark.parametrize(
    ("option", "label"), [("executors", "executor"), ("jobstores", "job store")]
)
def test_component_dict_without_type_or_class(option: str, label: str) -> None:
    with pytest.raises(ValueError) as exc:
        DummyScheduler(**{option: {"foo": {"max_workers": 2}}})
    assert str(exc.value) == (
        f'Cannot create {label} "foo" -- either "type" or "class" must be defined'
    )


@pytest.mark.parametrize(
    ("option", "label"), [("executors", "executor"), ("jobstores", "job store")]
)
@pytest.mark.parametrize(("value", "typename"), [(1, "int"), ("debug", "str"), (None, "NoneType")])
def test_component_of_wrong_type(option: str, label: str, value: Any, typename: str) -> None:
    with pytest.raises(TypeError) as exc:
        DummyScheduler(**{option: {"foo": value}})
    assert str(exc.value) == (
        f"Expected {label} instance or dict for {option}['foo'], got {typename} instead"
    )


def test_executor_instance_given_as_jobstore_is_rejected() -> None:
    with pytest.raises(TypeError) as exc:
        DummyScheduler(jobstores={"default": DebugExecutor()})
    assert str(exc.value) == (
        "Expected job store instance or dict for jobstores['default'], got DebugExecutor instead"
    )


def test_reconfigure_clears_executors_and_jobstores() -> None:
    scheduler = DummyScheduler(
        executors={"default": DebugExecutor()}, jobstores={"default": MemoryJobStore()}
    )
    scheduler.configure()
    assert scheduler._executors == {}
    assert scheduler._jobstores == {}

    scheduler.configure(executors={"other": DebugExecutor()})
    assert list(scheduler._executors) == ["other"]
    assert scheduler._jobstores == {}
