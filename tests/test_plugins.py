"""Tests for ``quartzite.plugins``: the built-in alias tables, the entry-point fallback and the
``PluginRegistry`` mapping (API contract §9)."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import sys
import textwrap
from collections.abc import Iterator, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from quartzite import plugins
from quartzite.executors.base import BaseExecutor
from quartzite.jobstores.base import BaseJobStore
from quartzite.plugins import (
    BUILTIN_EXECUTORS,
    BUILTIN_JOBSTORES,
    BUILTIN_TRIGGERS,
    BuiltinEntryPoint,
    PluginRegistry,
)
from quartzite.triggers.base import BaseTrigger
from quartzite.triggers.date import DateTrigger
from quartzite.triggers.interval import IntervalTrigger
from support import DummyScheduler

GROUPS = {
    "quartzite.triggers": (BUILTIN_TRIGGERS, BaseTrigger),
    "quartzite.executors": (BUILTIN_EXECUTORS, BaseExecutor),
    "quartzite.jobstores": (BUILTIN_JOBSTORES, BaseJobStore),
}
PLUGIN_MODULE = "quartzite_plugin_for_tests"


def installed_entry_points(group: str) -> dict[str, str]:
    try:
        found: Any = importlib.metadata.entry_points(group=group)  # type: ignore[call-arg]
    except TypeError:  # Python 3.9
        found = importlib.metadata.entry_points().get(group, ())  # type: ignore[attr-defined]
    return {entry_point.name: entry_point.value for entry_point in found}


def declared_entry_points(group: str) -> dict[str, str]:
    """The ``[project.entry-points."GROUP"]`` table of the project's pyproject.toml."""
    pyproject = Path(__file__).resolve().parents[1] / "pyproject.toml"
    if not pyproject.is_file():  # pragma: no cover - tests run outside the source tree
        pytest.skip("pyproject.toml not found")
    entries: dict[str, str] = {}
    in_table = False
    for line in pyproject.read_text(encoding="utf-8").splitlines():
        stripped = line.strip()
        if stripped.startswith("["):
            in_table = stripped == f'[project.entry-points."{group}"]'
        elif in_table and "=" in stripped and not stripped.startswith("#"):
            name, _, value = stripped.partition("=")
            entries[name.strip()] = value.strip().strip('"')
    return entries


@pytest.fixture
def scan_counter(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, ...]]:
    """Counts the scans of the installed distributions' entry points.

    Only calls that return count: on Python 3.9 ``entry_points(group=...)`` raises TypeError
    before any scan, and the registry retries without arguments.
    """
    calls: list[tuple[Any, ...]] = []
    real_entry_points = importlib.metadata.entry_points

    def entry_points(*args: Any, **kwargs: Any) -> Any:
        result = real_entry_points(*args, **kwargs)
        calls.append((args, kwargs))
        return result

    monkeypatch.setattr(importlib.metadata, "entry_points", entry_points)
    return calls


@pytest.fixture
def plugin_distribution(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A real (tiny) installed distribution declaring quartzite plugins, put on ``sys.path``."""
    dist_info = tmp_path / "quartzite_plugin_for_tests-1.0.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: quartzite-plugin-for-tests\nVersion: 1.0\n"
    )
    (dist_info / "entry_points.txt").write_text(
        textwrap.dedent(
            f"""\
            [quartzite.triggers]
            everysecond = {PLUGIN_MODULE}:EverySecondTrigger
            date = {PLUGIN_MODULE}:ShadowDateTrigger
            notatrigger = {PLUGIN_MODULE}:NotATrigger

            [quartzite.executors]
            extraexecutor = {PLUGIN_MODULE}:ExtraExecutor
            """
        )
    )
    (tmp_path / f"{PLUGIN_MODULE}.py").write_text(
        textwrap.dedent(
            """\
            from datetime import timedelta

            from quartzite.executors.debug import DebugExecutor
            from quartzite.triggers.base import BaseTrigger


            class EverySecondTrigger(BaseTrigger):
                def __init__(self, timezone=None):
                    self.timezone = timezone

                def get_next_fire_time(self, previous_fire_time, now):
                    return (previous_fire_time or now) + timedelta(seconds=1)


            class ShadowDateTrigger(EverySecondTrigger):
                pass


            class NotATrigger:
                pass


            class ExtraExecutor(DebugExecutor):
                pass
            """
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    sys.modules.pop(PLUGIN_MODULE, None)


class TestBuiltinTables:
    def test_triggers(self) -> None:
        assert BUILTIN_TRIGGERS == {
            "date": "quartzite.triggers.date:DateTrigger",
            "interval": "quartzite.triggers.interval:IntervalTrigger",
            "cron": "quartzite.triggers.cron:CronTrigger",
            "calendarinterval": "quartzite.triggers.calendarinterval:CalendarIntervalTrigger",
            "and": "quartzite.triggers.combining:AndTrigger",
            "or": "quartzite.triggers.combining:OrTrigger",
        }

    def test_executors(self) -> None:
        assert BUILTIN_EXECUTORS == {
            "debug": "quartzite.executors.debug:DebugExecutor",
            "threadpool": "quartzite.executors.pool:ThreadPoolExecutor",
            "processpool": "quartzite.executors.pool:ProcessPoolExecutor",
            "asyncio": "quartzite.executors.asyncio:AsyncIOExecutor",
            "gevent": "quartzite.executors.gevent:GeventExecutor",
            "tornado": "quartzite.executors.tornado:TornadoExecutor",
            "twisted": "quartzite.executors.twisted:TwistedExecutor",
        }

    def test_jobstores(self) -> None:
        assert BUILTIN_JOBSTORES["memory"] == "quartzite.jobstores.memory:MemoryJobStore"
        assert all(value.startswith("quartzite.jobstores.") for value in BUILTIN_JOBSTORES.values())

    @pytest.mark.parametrize("group", sorted(GROUPS))
    def test_agree_with_declared_entry_points(self, group: str) -> None:
        """The entry points pyproject.toml declares for quartzite are exactly the built-in
        table, so that resolving a quartzite alias never needs an entry-point scan (and third
        parties that list the entry points see every built-in plugin)."""
        declared = declared_entry_points(group)
        assert declared == GROUPS[group][0]

    @pytest.mark.parametrize(
        ("group", "alias"),
        [
            (group, alias)
            for group, (builtins, _base) in sorted(GROUPS.items())
            for alias in builtins
        ],
    )
    def test_builtin_loads_a_plugin_class(self, group: str, alias: str) -> None:
        builtins, base_class = GROUPS[group]
        module_name = builtins[alias].partition(":")[0]
        if importlib.util.find_spec(module_name) is None:
            pytest.skip(f"{module_name} is not written yet")
        try:
            plugin_class = BuiltinEntryPoint(alias, builtins[alias]).load()
        except ModuleNotFoundError as exc:
            if (exc.name or "").startswith("quartzite"):
                raise
            pytest.skip(f"optional dependency missing: {exc}")
        assert isinstance(plugin_class, type)
        assert issubclass(plugin_class, base_class)
        assert builtins[alias] == f"{plugin_class.__module__}:{plugin_class.__qualname__}"


class TestBuiltinEntryPoint:
    def test_attributes(self) -> None:
        entry_point = BuiltinEntryPoint("date", "quartzite.triggers.date:DateTrigger")
        assert entry_point.name == "date"
        assert entry_point.value == "quartzite.triggers.date:DateTrigger"
        assert entry_point.load() is DateTrigger

    def test_dotted_attribute(self) -> None:
        assert BuiltinEntryPoint("x", "datetime:timedelta.max").load() == timedelta.max

    def test_missing_module(self) -> None:
        with pytest.raises(ModuleNotFoundError):
            BuiltinEntryPoint("x", "quartzite_no_such_module:Thing").load()

    def test_missing_attribute(self) -> None:
        with pytest.raises(AttributeError):
            BuiltinEntryPoint("x", "quartzite.triggers.date:NoSuchTrigger").load()

    def test_repr(self) -> None:
        entry_point = BuiltinEntryPoint("memory", "quartzite.jobstores.memory:MemoryJobStore")
        assert repr(entry_point) == (
            "BuiltinEntryPoint(name='memory', value='quartzite.jobstores.memory:MemoryJobStore')"
        )


class TestPluginRegistry:
    @pytest.fixture
    def registry(self) -> PluginRegistry:
        return PluginRegistry("quartzite.triggers", BUILTIN_TRIGGERS)

    def test_is_a_read_only_mapping(self, registry: PluginRegistry) -> None:
        assert isinstance(registry, Mapping)
        assert registry.group == "quartzite.triggers"
        with pytest.raises(TypeError):
            registry["date"] = None  # type: ignore[index]

    def test_repr(self, registry: PluginRegistry) -> None:
        assert repr(registry) == "PluginRegistry(group='quartzite.triggers')"

    def test_builtin_lookup(self, registry: PluginRegistry) -> None:
        entry_point = registry["interval"]
        assert isinstance(entry_point, BuiltinEntryPoint)
        assert entry_point.name == "interval"
        assert entry_point.load() is IntervalTrigger
        assert registry.get("interval") is entry_point

    def test_builtin_lookups_do_not_scan(
        self, registry: PluginRegistry, scan_counter: list[tuple[Any, ...]]
    ) -> None:
        for alias in BUILTIN_TRIGGERS:
            assert alias in registry
            assert isinstance(registry[alias], BuiltinEntryPoint)
        assert registry["date"].load() is DateTrigger
        assert scan_counter == []

    def test_unknown_alias(
        self, registry: PluginRegistry, scan_counter: list[tuple[Any, ...]]
    ) -> None:
        assert "nope" not in registry
        with pytest.raises(KeyError):
            registry["nope"]
        assert registry.get("nope") is None
        assert 5 not in registry
        assert len(scan_counter) == 1  # scanned once, then cached

    def test_iteration(self, registry: PluginRegistry) -> None:
        names = list(registry)
        assert names[: len(BUILTIN_TRIGGERS)] == list(BUILTIN_TRIGGERS)
        assert len(names) == len(set(names)) == len(registry)
        assert set(installed_entry_points("quartzite.triggers")) <= set(names)

    def test_empty_group(self, scan_counter: list[tuple[Any, ...]]) -> None:
        registry = PluginRegistry("quartzite.no_such_group", {})
        assert list(registry) == []
        assert len(registry) == 0
        assert "date" not in registry
        assert len(scan_counter) == 1


class TestEntryPointFallback:
    def test_installed_plugin_found(self, plugin_distribution: Path) -> None:
        registry = PluginRegistry("quartzite.triggers", BUILTIN_TRIGGERS)
        assert "everysecond" in registry
        entry_point = registry["everysecond"]
        assert not isinstance(entry_point, BuiltinEntryPoint)
        assert entry_point.name == "everysecond"
        plugin_class = entry_point.load()
        assert plugin_class.__name__ == "EverySecondTrigger"
        assert issubclass(plugin_class, BaseTrigger)

    def test_builtin_wins_over_installed_alias(self, plugin_distribution: Path) -> None:
        registry = PluginRegistry("quartzite.triggers", BUILTIN_TRIGGERS)
        assert registry["date"].load() is DateTrigger

    def test_iteration_lists_each_alias_once(self, plugin_distribution: Path) -> None:
        registry = PluginRegistry("quartzite.triggers", BUILTIN_TRIGGERS)
        names = list(registry)
        assert names[: len(BUILTIN_TRIGGERS)] == list(BUILTIN_TRIGGERS)
        assert {"everysecond", "notatrigger"} <= set(names[len(BUILTIN_TRIGGERS) :])
        assert names.count("date") == 1
        assert len(registry) == len(names)

    def test_groups_kept_apart(self, plugin_distribution: Path) -> None:
        triggers = PluginRegistry("quartzite.triggers", BUILTIN_TRIGGERS)
        executors = PluginRegistry("quartzite.executors", BUILTIN_EXECUTORS)
        assert "extraexecutor" in executors
        assert "extraexecutor" not in triggers
        assert "everysecond" not in executors

    def test_scanned_once(
        self, plugin_distribution: Path, scan_counter: list[tuple[Any, ...]]
    ) -> None:
        registry = PluginRegistry("quartzite.triggers", BUILTIN_TRIGGERS)
        assert "everysecond" in registry
        registry["everysecond"]
        assert "nope" not in registry
        list(registry)
        assert len(scan_counter) == 1

    def test_scheduler_resolves_installed_alias(self, plugin_distribution: Path) -> None:
        """A scheduler whose plugin tables are replaced on the instance uses them."""
        scheduler = DummyScheduler(timezone="UTC")
        scheduler._trigger_plugins = PluginRegistry("quartzite.triggers", BUILTIN_TRIGGERS)
        scheduler._trigger_classes = {}
        trigger = scheduler._create_trigger("everysecond", {})
        assert type(trigger).__name__ == "EverySecondTrigger"
        assert trigger.timezone is scheduler.timezone  # the scheduler's zone is passed in
        assert isinstance(scheduler._create_trigger("date", {}), DateTrigger)
        assert set(scheduler._trigger_classes) == {"everysecond", "date"}
        # the class-level tables were left alone
        assert "everysecond" not in DummyScheduler._trigger_classes

    def test_scheduler_refuses_non_plugin_class(self, plugin_distribution: Path) -> None:
        scheduler = DummyScheduler(timezone="UTC")
        scheduler._trigger_plugins = PluginRegistry("quartzite.triggers", BUILTIN_TRIGGERS)
        scheduler._trigger_classes = {}
        with pytest.raises(
            TypeError, match=r"^The trigger entry point does not point to a trigger class$"
        ):
            scheduler._create_trigger("notatrigger", {})

    def test_scheduler_unknown_alias(self) -> None:
        scheduler = DummyScheduler(timezone="UTC")
        # The contract's sentence comes first, word for word; the known names follow.
        # Through the contract's internal name, the contract's sentence alone (code written for
        # APScheduler compares it); through add_job, the known names follow it.
        with pytest.raises(LookupError) as exc:
            scheduler._create_trigger("nope", {})
        assert str(exc.value) == 'No trigger by the name "nope" was found'
        with pytest.raises(LookupError, match=r'^No trigger by the name "nope" was found \('):
            scheduler.add_job(print, "nope")
        with pytest.raises(LookupError, match=r'^No executor by the name "nope" was found \('):
            scheduler.add_executor("nope")
        with pytest.raises(LookupError, match=r'^No jobstore by the name "nope" was found \('):
            scheduler.add_jobstore("nope")

    def test_unknown_alias_error_lists_the_known_names_and_the_closest(self) -> None:
        scheduler = DummyScheduler(timezone="UTC")
        with pytest.raises(LookupError) as exc:
            scheduler.add_job(print, "cronn")
        assert str(exc.value) == (
            'No trigger by the name "cronn" was found (known trigger names: and, '
            "calendarinterval, cron, date, interval, or; did you mean 'cron'?)"
        )
        with pytest.raises(LookupError) as exc:
            scheduler.add_executor("threadpol")
        assert str(exc.value).endswith("did you mean 'threadpool'?)")
        assert "processpool" in str(exc.value)


def test_module_all() -> None:
    assert set(plugins.__all__) == {"BuiltinEntryPoint", "PluginRegistry"}
