"""The scheduler's executors, job stores, listeners and plugin resolution."""

from __future__ import annotations

from collections.abc import MutableMapping
from logging import Logger
from typing import TYPE_CHECKING, Any, Callable, ContextManager

from ..events import (
    EVENT_EXECUTOR_ADDED,
    EVENT_EXECUTOR_REMOVED,
    EVENT_JOBSTORE_ADDED,
    EVENT_JOBSTORE_REMOVED,
    SchedulerEvent,
)
from ..executors.base import BaseExecutor
from ..jobstores.base import BaseJobStore
from ..plugins import BUILTIN_EXECUTORS, BUILTIN_JOBSTORES, BUILTIN_TRIGGERS, PluginRegistry
from ..triggers.base import BaseTrigger
from ..util import maybe_ref
from ._states import STATE_STOPPED

_PLUGIN_BASE_CLASSES: dict[str, type] = {
    "trigger": BaseTrigger,
    "executor": BaseExecutor,
    "jobstore": BaseJobStore,
}
_PLUGIN_REGISTRIES = {type_: f"_{type_}_plugins" for type_ in _PLUGIN_BASE_CLASSES}
_CLASS_CACHES = {type_: f"_{type_}_classes" for type_ in _PLUGIN_BASE_CLASSES}
_COMPONENT_LABELS = {"executor": "executor", "jobstore": "job store"}


class ComponentsMixin:
    """Adds, removes and looks up the executors, job stores and listeners of a scheduler."""

    _trigger_plugins: Any = PluginRegistry("quartzite.triggers", BUILTIN_TRIGGERS)
    _trigger_classes: dict[str, type] = {}
    _executor_plugins: Any = PluginRegistry("quartzite.executors", BUILTIN_EXECUTORS)
    _executor_classes: dict[str, type] = {}
    _jobstore_plugins: Any = PluginRegistry("quartzite.jobstores", BUILTIN_JOBSTORES)
    _jobstore_classes: dict[str, type] = {}

    if TYPE_CHECKING:
        state: int
        timezone: Any
        _logger: Logger
        _executors: dict[str, BaseExecutor]
        _executors_lock: ContextManager[Any]
        _jobstores: dict[str, BaseJobStore]
        _jobstores_lock: ContextManager[Any]
        _listeners: list[tuple[Callable[[Any], Any], int]]
        _listeners_lock: ContextManager[Any]

        def wakeup(self) -> None: ...

    def add_executor(
        self, executor: BaseExecutor | str, alias: str = "default", **executor_opts: Any
    ) -> None:
        """Add an executor to this scheduler.

        Any extra keyword arguments will be passed to the executor plugin's constructor, assuming
        that the first argument is the name of an executor plugin.

        :param executor: either an executor instance or the name of an executor plugin
        :param alias: alias for the scheduler
        :raises ValueError: if there is already an executor by the given alias
        """
        self._add_component("executor", executor, alias, executor_opts)

        self._dispatch_event(SchedulerEvent(EVENT_EXECUTOR_ADDED, alias))

    def remove_executor(self, alias: str, shutdown: bool = True) -> None:
        """Remove the executor by the given alias from this scheduler.

        :param alias: alias of the executor
        :param shutdown: ``True`` to shut down the executor after removing it
        """
        with self._executors_lock:
            executor = self._lookup_executor(alias)
            del self._executors[alias]

        if shutdown:
            executor.shutdown()

        self._dispatch_event(SchedulerEvent(EVENT_EXECUTOR_REMOVED, alias))

    def add_jobstore(
        self, jobstore: BaseJobStore | str, alias: str = "default", **jobstore_opts: Any
    ) -> None:
        """Add a job store to this scheduler.

        Any extra keyword arguments will be passed to the job store plugin's constructor,
        assuming that the first argument is the name of a job store plugin.

        :param jobstore: job store to be added
        :param alias: alias for the job store
        :raises ValueError: if there is already a job store by the given alias
        """
        self._add_component("jobstore", jobstore, alias, jobstore_opts)

        self._dispatch_event(SchedulerEvent(EVENT_JOBSTORE_ADDED, alias))

        # Notify the scheduler so it can scan the new job store for jobs
        if self.state != STATE_STOPPED:
            self.wakeup()

    def remove_jobstore(self, alias: str, shutdown: bool = True) -> None:
        """Remove the job store by the given alias from this scheduler.

        :param alias: alias of the job store
        :param shutdown: ``True`` to shut down the job store after removing it
        """
        with self._jobstores_lock:
            jobstore = self._lookup_jobstore(alias)
            del self._jobstores[alias]

        if shutdown:
            jobstore.shutdown()

        self._dispatch_event(SchedulerEvent(EVENT_JOBSTORE_REMOVED, alias))

    def _add_component(self, type_: str, component: Any, alias: str, options: Any) -> None:
        """Add an executor or job store (an instance, or a plugin alias built with ``options``)
        under ``alias``, starting it at once if the scheduler is running."""
        label = _COMPONENT_LABELS[type_]
        article = "an" if label[0] in "aeiou" else "a"
        registry: dict[str, Any] = getattr(self, f"_{type_}s")
        with getattr(self, f"_{type_}s_lock"):
            if alias in registry:
                raise ValueError(
                    f'This scheduler already has {article} {label} by the alias of "{alias}"'
                )

            if isinstance(component, str):
                instance = self._create_plugin_instance(type_, component, options)
            elif isinstance(component, _PLUGIN_BASE_CLASSES[type_]):
                instance = component
            else:
                raise TypeError(
                    f"Expected {article} {label} instance or a string, got "
                    f"{component.__class__.__name__} instead"
                )
            registry[alias] = instance

            if self.state != STATE_STOPPED:
                instance.start(self, alias)

    def _lookup_executor(self, alias: str) -> BaseExecutor:
        """Return the executor instance by the given name from the list of executors.

        :raises KeyError: if no executor by the given alias is not found
        """
        try:
            return self._executors[alias]
        except KeyError:
            raise KeyError(f"No such executor: {alias}")

    def _lookup_jobstore(self, alias: str) -> BaseJobStore:
        """Return the job store instance by the given name from the list of job stores.

        :raises KeyError: if no job store by the given alias is not found
        """
        try:
            return self._jobstores[alias]
        except KeyError:
            raise KeyError(f"No such job store: {alias}")

    def _create_default_executor(self) -> BaseExecutor:
        """Create a default executor store, specific to the particular scheduler type."""
        from ..executors.pool import ThreadPoolExecutor

        return ThreadPoolExecutor()

    def _create_default_jobstore(self) -> BaseJobStore:
        """Create a default job store, specific to the particular scheduler type."""
        from ..jobstores.memory import MemoryJobStore

        return MemoryJobStore()

    def _build_component(self, type_: str, alias: str, value: Any, base_class: type) -> Any:
        """Turn one ``executors`` / ``jobstores`` configuration entry into an instance."""
        label = _COMPONENT_LABELS[type_]
        if isinstance(value, base_class):
            return value
        if isinstance(value, MutableMapping):
            component_class = value.pop("class", None)
            plugin = value.pop("type", None)
            if plugin:
                return self._create_plugin_instance(type_, plugin, value)
            if component_class:
                return maybe_ref(component_class)(**value)
            raise ValueError(
                f'Cannot create {label} "{alias}" -- either "type" or "class" must be defined'
            )
        raise TypeError(
            f"Expected {label} instance or dict for {type_}s['{alias}'], "
            f"got {value.__class__.__name__} instead"
        )

    def _create_plugin_instance(self, type_: str, alias: str, constructor_kwargs: Any) -> Any:
        """Instantiate the plugin class registered under ``alias`` for ``type_``."""
        classes: dict[str, type] = getattr(self, _CLASS_CACHES[type_])
        try:
            plugin_class = classes[alias]
        except KeyError:
            plugins: Any = getattr(self, _PLUGIN_REGISTRIES[type_])
            if alias not in plugins:
                raise LookupError(f'No {type_} by the name "{alias}" was found')
            plugin_class = plugins[alias].load()
            if not isinstance(plugin_class, type) or not issubclass(
                plugin_class, _PLUGIN_BASE_CLASSES[type_]
            ):
                raise TypeError(f"The {type_} entry point does not point to a {type_} class")
            classes[alias] = plugin_class

        return plugin_class(**constructor_kwargs)

    def _create_trigger(self, trigger: Any, trigger_args: dict[str, Any]) -> BaseTrigger:
        """Return a trigger instance as is, or build one from its alias and ``trigger_args``."""
        if isinstance(trigger, BaseTrigger):
            return trigger
        if trigger is None:
            trigger = "date"
        elif not isinstance(trigger, str):
            raise TypeError(
                f"Expected a trigger instance or string, got {trigger.__class__.__name__} instead"
            )

        # Use the scheduler's time zone if nothing else is specified
        trigger_args.setdefault("timezone", self.timezone)

        # Instantiate the trigger class
        return self._create_plugin_instance("trigger", trigger, trigger_args)

    def _wants_event(self, code: int) -> bool:
        """Tell whether an event of type ``code`` would reach anyone.

        Lets hot paths skip building events nobody listens to. A ``_dispatch_event`` replaced on
        the instance or overridden in a subclass is assumed to want every event.
        """
        if (
            "_dispatch_event" in self.__dict__
            or type(self)._dispatch_event is not ComponentsMixin._dispatch_event
        ):
            return True
        return any(mask & code for _callback, mask in self._listeners)

    def _dispatch_event(self, event: SchedulerEvent) -> None:
        """Dispatch the given event to the interested listeners.

        A listener that raises is logged and ignored.
        """
        if not self._listeners:
            return
        with self._listeners_lock:
            listeners = tuple(self._listeners)

        for callback, mask in listeners:
            if event.code & mask:
                try:
                    callback(event)
                except BaseException:
                    self._logger.exception("Error notifying listener")
