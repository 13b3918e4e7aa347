"""The scheduler's executors and job stores, and the plugins they (and triggers) are built from.

:class:`ComponentRegistry` owns the two alias tables and their locks. A component reaches it in
one of three shapes: an instance, a plugin alias (``"threadpool"``) with constructor options, or a
configuration dict (``{"type": alias, ...}`` or ``{"class": cls_or_ref, ...}``).

The registry calls back through its scheduler for the names API.md §10 lets subclasses and tests
replace: ``_create_plugin_instance``, the ``_<kind>_plugins`` / ``_<kind>_classes`` tables (read
from the scheduler instance, so a table installed on one scheduler is seen) and ``state``.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from operator import attrgetter
from typing import TYPE_CHECKING, Any, ContextManager

from ..executors.base import BaseExecutor
from ..jobstores.base import BaseJobStore
from ..triggers.base import BaseTrigger
from ..util import maybe_ref
from ._config import ConfigParser, closest_hint
from ._states import STATE_STOPPED

if TYPE_CHECKING:
    from .base import BaseScheduler

__all__ = ("ComponentRegistry", "UnknownAliasError", "UnknownPluginError", "forward_to")

_BASE_CLASSES: dict[str, type] = {
    "trigger": BaseTrigger,
    "executor": BaseExecutor,
    "jobstore": BaseJobStore,
}
# How messages name each kind: the contract spells the plugin kind "jobstore" but the component
# "job store".
_LABELS = {"executor": "executor", "jobstore": "job store", "trigger": "trigger"}
# The scheduler attributes holding each kind's resolved classes and plugin table (spelled out
# once: create_plugin runs for every job added with a trigger alias).
_CLASS_CACHES = {kind: f"_{kind}_classes" for kind in _LABELS}
_PLUGIN_TABLES = {kind: f"_{kind}_plugins" for kind in _LABELS}


_CONFIG = ConfigParser()


class UnknownAliasError(KeyError):
    """A job names an executor or job store alias that the scheduler does not have.

    A :class:`KeyError` (hence a :class:`LookupError`) like the contract's lookup errors, but
    shown as the plain sentence rather than as the quoted key ``KeyError`` prints.
    """

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class UnknownPluginError(LookupError):
    """No built-in table entry and no installed entry point provides a plugin alias.

    ``_create_plugin_instance`` raises it with the contract's sentence alone, since code written
    for APScheduler compares that message; the public paths (``add_job``, ``add_executor``,
    ``configure`` ...) raise it again with the known names and the closest one appended.
    """

    def __init__(self, kind: str, alias: Any, known: list[str], *, detailed: bool = False):
        message = f'No {kind} by the name "{alias}" was found'
        if detailed:
            message += (
                f" (known {kind} names: {', '.join(known) or 'none'}{closest_hint(alias, known)})"
            )
        super().__init__(message)
        self.kind = kind
        self.alias = alias
        self.known = known

    def detailed(self) -> UnknownPluginError:
        """The same error, naming the known aliases and the closest match."""
        return UnknownPluginError(self.kind, self.alias, self.known, detailed=True)


def forward_to(part: str, attribute: str, doc: str) -> Any:
    """A read/write property forwarding to ``self.<part>.<attribute>``.

    The contract's ``_executors``, ``_jobstores``, ``_listeners``, ``_pending_jobs`` and the
    locks belong to helper objects, but tests and extensions assign to them on the scheduler.
    """

    # attrgetter reads both steps in C: these properties are read on every add and remove.
    get = attrgetter(f"{part}.{attribute}")

    def set(self: Any, value: Any) -> None:
        setattr(getattr(self, part), attribute, value)

    return property(get, set, doc=doc)


class ComponentRegistry:
    """Executors and job stores by alias, and the resolution of plugin aliases to classes."""

    def __init__(
        self,
        scheduler: BaseScheduler,
        executors_lock: ContextManager[Any],
        jobstores_lock: ContextManager[Any],
    ) -> None:
        self._scheduler = scheduler
        self.executors: dict[str, BaseExecutor] = {}
        self.jobstores: dict[str, BaseJobStore] = {}
        self.executors_lock = executors_lock
        self.jobstores_lock = jobstores_lock

    def table(self, kind: str) -> dict[str, Any]:
        """The alias table of ``kind`` (``"executor"`` or ``"jobstore"``)."""
        return self.executors if kind == "executor" else self.jobstores

    def lock(self, kind: str) -> ContextManager[Any]:
        """The lock guarding the alias table of ``kind``."""
        return self.executors_lock if kind == "executor" else self.jobstores_lock

    def add(self, kind: str, component: Any, alias: str, options: Mapping[str, Any]) -> Any:
        """Register ``component`` (an instance, or a plugin alias built with ``options``) under
        ``alias``; a running scheduler starts it at once. Returns the instance."""
        label = _LABELS[kind]
        article = "an" if label[0] in "aeiou" else "a"
        table = self.table(kind)
        with self.lock(kind):
            if alias in table:
                raise ValueError(
                    f'This scheduler already has {article} {label} by the alias of "{alias}"'
                )
            if isinstance(component, str):
                instance = self.plugin(kind, component, options)
            elif isinstance(component, _BASE_CLASSES[kind]):
                instance = component
            else:
                raise TypeError(
                    f"Expected {article} {label} instance or a string, got "
                    f"{component.__class__.__name__} instead"
                )
            table[alias] = instance
            if self._scheduler.state != STATE_STOPPED:
                instance.start(self._scheduler, alias)
        return instance

    def replace_all(self, executors: Any, jobstores: Any) -> None:
        """Replace both alias tables with the ``executors`` / ``jobstores`` settings.

        Both settings are checked before either table is cleared; each entry is added through
        the scheduler's ``add_executor`` / ``add_jobstore``, which announce it.
        """
        tables = {
            "executor": _CONFIG.component_table("executors", executors),
            "jobstore": _CONFIG.component_table("jobstores", jobstores),
        }
        for kind, entries in tables.items():
            self.table(kind).clear()
            add = getattr(self._scheduler, f"add_{kind}")
            for alias, value in entries.items():
                add(self.build(kind, alias, value), alias)

    def start_all(self) -> None:
        """Start every executor, then every job store, each under its table's lock."""
        for kind in ("executor", "jobstore"):
            with self.lock(kind):
                for alias, component in self.table(kind).items():
                    component.start(self._scheduler, alias)

    def shutdown_all(self, wait: bool) -> None:
        """Shut every executor down (``wait`` for running jobs?), then every job store.

        Executors are shut down outside their lock: a running job that touches the scheduler
        (adds or removes a job) must not deadlock a shutdown that waits for it.
        """
        self.shutdown_executors(wait)
        self.shutdown_jobstores()

    def shutdown_executors(self, wait: bool) -> None:
        """Shut every executor down, outside the lock (see :meth:`shutdown_all`)."""
        with self.executors_lock:
            executors = list(self.executors.values())
        for executor in executors:
            executor.shutdown(wait)

    def shutdown_jobstores(self) -> None:
        """Shut every job store down."""
        with self.jobstores_lock:
            for store in self.jobstores.values():
                store.shutdown()

    def remove(self, kind: str, alias: str, shutdown: bool) -> None:
        """Unregister ``alias`` (found through the scheduler's ``_lookup_<kind>``), then shut
        it down if asked to, outside the lock."""
        with self.lock(kind):
            component = getattr(self._scheduler, f"_lookup_{kind}")(alias)
            del self.table(kind)[alias]
        if shutdown:
            component.shutdown()

    def lookup(self, kind: str, alias: str) -> Any:
        """The component registered under ``alias``.

        :raises KeyError: with the contract's exact message (``No such executor: ALIAS``)
        """
        try:
            return self.table(kind)[alias]
        except KeyError:
            raise KeyError(f"No such {_LABELS[kind]}: {alias}") from None

    def unknown_alias_error(self, kind: str, alias: Any, context: str = "") -> UnknownAliasError:
        """The error for a job naming an alias of ``kind`` that is not registered."""
        label = _LABELS[kind]
        known = sorted(self.table(kind))
        listing = ", ".join(repr(name) for name in known) or "none"
        return UnknownAliasError(
            f"No such {label}: {alias}{context} -- the {label}s of this scheduler are: "
            f"{listing}{closest_hint(alias, known)}"
        )

    def build(self, kind: str, alias: str, value: Any) -> Any:
        """Turn one entry of the ``executors`` / ``jobstores`` setting into an instance."""
        label = _LABELS[kind]
        if isinstance(value, _BASE_CLASSES[kind]):
            return value
        if isinstance(value, MutableMapping):
            # Popping (not reading) "class" and "type" is part of the contract: the rest of the
            # caller's dict is what reaches the constructor.
            component_class = value.pop("class", None)
            plugin = value.pop("type", None)
            if plugin:
                return self.plugin(kind, plugin, value)
            if component_class:
                return maybe_ref(component_class)(**value)
            raise ValueError(
                f'Cannot create {label} "{alias}" -- either "type" or "class" must be defined'
            )
        raise TypeError(
            f"Expected {label} instance or dict for {kind}s['{alias}'], "
            f"got {value.__class__.__name__} instead"
        )

    def create_trigger(self, trigger: Any, trigger_args: dict[str, Any]) -> BaseTrigger:
        """A trigger instance as given, or one built from an alias (``None`` means ``"date"``)
        and ``trigger_args``, in the scheduler's zone unless they name another."""
        if type(trigger) is not str:  # an alias is the usual case: spare it the ABC check
            if isinstance(trigger, BaseTrigger):
                return trigger
            if trigger is None:
                trigger = "date"
            elif not isinstance(trigger, str):
                raise TypeError(
                    f"Expected a trigger instance or string, got {trigger.__class__.__name__} "
                    "instead"
                )
        trigger_args.setdefault("timezone", self._scheduler.timezone)
        built: BaseTrigger = self._scheduler._create_plugin_instance(
            "trigger", trigger, trigger_args
        )
        return built

    def trigger_for_job(self, trigger: Any, trigger_args: dict[str, Any]) -> BaseTrigger:
        """The trigger ``add_job`` / ``reschedule_job`` were given, through the scheduler's
        ``_create_trigger`` (which keeps the contract's sentence for an unknown alias), naming
        the known aliases if ``trigger`` is unknown."""
        try:
            built: BaseTrigger = self._scheduler._create_trigger(trigger, trigger_args)
        except UnknownPluginError as exc:
            raise exc.detailed() from None
        return built

    def plugin(self, kind: str, alias: str, options: Any) -> Any:
        """Build a plugin through the scheduler's ``_create_plugin_instance`` (which a subclass
        or a test may replace), naming the known aliases if ``alias`` is unknown."""
        try:
            return self._scheduler._create_plugin_instance(kind, alias, options)
        except UnknownPluginError as exc:
            raise exc.detailed() from None

    def create_plugin(self, kind: str, alias: str, constructor_kwargs: Any) -> Any:
        """Instantiate the plugin class known as ``alias`` among the plugins of ``kind``.

        Classes are cached per scheduler class (or per instance, where a test installed its own
        ``_<kind>_classes``); an alias is loaded from the plugin table on first use.
        """
        classes: dict[str, type] = getattr(self._scheduler, _CLASS_CACHES[kind])
        plugin_class = classes.get(alias)
        if plugin_class is None:
            plugins: Any = getattr(self._scheduler, _PLUGIN_TABLES[kind])
            if alias not in plugins:
                raise UnknownPluginError(kind, alias, sorted(plugins))
            plugin_class = plugins[alias].load()
            if not isinstance(plugin_class, type) or not issubclass(
                plugin_class, _BASE_CLASSES[kind]
            ):
                raise TypeError(f"The {kind} entry point does not point to a {kind} class")
            classes[alias] = plugin_class
        return plugin_class(**constructor_kwargs)
