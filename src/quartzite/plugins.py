"""Resolution of plugin aliases (``"interval"``, ``"threadpool"``, ``"sqlalchemy"`` ...) to classes.

Built-in aliases are resolved from a table, so that importing and configuring a scheduler never
scans the installed distributions; entry points (groups ``quartzite.triggers``,
``quartzite.executors`` and ``quartzite.jobstores``) are read once, and only when an alias is not
built in.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from importlib import import_module
from typing import Any

__all__ = ("BuiltinEntryPoint", "PluginRegistry")

BUILTIN_TRIGGERS = {
    "date": "quartzite.triggers.date:DateTrigger",
    "interval": "quartzite.triggers.interval:IntervalTrigger",
    "cron": "quartzite.triggers.cron:CronTrigger",
    "calendarinterval": "quartzite.triggers.calendarinterval:CalendarIntervalTrigger",
    "and": "quartzite.triggers.combining:AndTrigger",
    "or": "quartzite.triggers.combining:OrTrigger",
}
BUILTIN_EXECUTORS = {
    "debug": "quartzite.executors.debug:DebugExecutor",
    "threadpool": "quartzite.executors.pool:ThreadPoolExecutor",
    "processpool": "quartzite.executors.pool:ProcessPoolExecutor",
    "asyncio": "quartzite.executors.asyncio:AsyncIOExecutor",
    "gevent": "quartzite.executors.gevent:GeventExecutor",
    "tornado": "quartzite.executors.tornado:TornadoExecutor",
    "twisted": "quartzite.executors.twisted:TwistedExecutor",
}
BUILTIN_JOBSTORES = {
    "memory": "quartzite.jobstores.memory:MemoryJobStore",
    "sqlalchemy": "quartzite.jobstores.sqlalchemy:SQLAlchemyJobStore",
    "redis": "quartzite.jobstores.redis:RedisJobStore",
}


class BuiltinEntryPoint:
    """An entry point look-alike for a built-in plugin (``name``, ``value`` and ``load()``)."""

    __slots__ = ("name", "value")

    def __init__(self, name: str, value: str) -> None:
        self.name = name
        self.value = value

    def load(self) -> Any:
        """Import the plugin's module (letting a missing optional dependency's error through)."""
        module_name, _, qualname = self.value.partition(":")
        obj: Any = import_module(module_name)
        for attribute in qualname.split("."):
            obj = getattr(obj, attribute)
        return obj

    def __repr__(self) -> str:
        return f"BuiltinEntryPoint(name={self.name!r}, value={self.value!r})"


class PluginRegistry(Mapping[str, Any]):
    """A read-only mapping of alias → entry point for one plugin group.

    Looking up a built-in alias costs a dict lookup; the installed entry points of ``group`` are
    scanned on first need (an unknown alias, or iteration) and then cached.
    """

    def __init__(self, group: str, builtins: Mapping[str, str]) -> None:
        self.group = group
        self._builtins = {name: BuiltinEntryPoint(name, ref) for name, ref in builtins.items()}
        self._installed: dict[str, Any] | None = None

    def _installed_entry_points(self) -> dict[str, Any]:
        if self._installed is None:
            from importlib.metadata import entry_points

            found: Any
            try:
                found = entry_points(group=self.group)
            except TypeError:  # Python 3.9: no selection interface
                found = entry_points().get(self.group, [])
            self._installed = {entry_point.name: entry_point for entry_point in found}
        return self._installed

    def __getitem__(self, name: str) -> Any:
        builtin = self._builtins.get(name)
        if builtin is not None:
            return builtin
        return self._installed_entry_points()[name]

    def __contains__(self, name: object) -> bool:
        return name in self._builtins or name in self._installed_entry_points()

    def __iter__(self) -> Iterator[str]:
        yield from self._builtins
        for name in self._installed_entry_points():
            if name not in self._builtins:
                yield name

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def __repr__(self) -> str:
        return f"PluginRegistry(group={self.group!r})"
