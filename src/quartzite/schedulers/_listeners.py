"""The scheduler's event listeners: who wants which events, and handing events to them.

Listeners are ``(callback, mask)`` pairs kept in registration order. Delivering an event copies
the list under the lock and calls the callbacks outside it, so a listener may add or remove
listeners (or call back into the scheduler) without deadlocking. A listener that raises is logged
and skipped: one broken listener must not keep the others, or the scheduler, from going on.
"""

from __future__ import annotations

from logging import Logger
from typing import Any, Callable, ContextManager

__all__ = ("ListenerHub",)

Listener = Callable[[Any], Any]


class ListenerHub:
    """Owns the listener list and its lock (the scheduler's ``_listeners`` and
    ``_listeners_lock`` are views of these two attributes)."""

    def __init__(self, lock: ContextManager[Any]) -> None:
        self.listeners: list[tuple[Listener, int]] = []
        self.lock = lock

    def add(self, callback: Listener, mask: int) -> None:
        """Register ``callback`` for the event codes in ``mask``."""
        with self.lock:
            self.listeners.append((callback, mask))

    def remove(self, callback: Listener) -> None:
        """Forget every registration of ``callback`` (compared with ``==``, so a bound method
        given again is recognised)."""
        with self.lock:
            self.listeners[:] = [entry for entry in self.listeners if entry[0] != callback]

    def wants(self, code: int) -> bool:
        """Tell whether some listener's mask covers the event code ``code``."""
        listeners = self.listeners
        if not listeners:  # the usual case on the hot paths that ask: no generator built
            return False
        return any(mask & code for _callback, mask in listeners)

    def dispatch(self, event: Any, logger: Logger) -> None:
        """Call each listener whose mask covers ``event.code``; log what a listener raises."""
        if not self.listeners:
            return
        with self.lock:
            snapshot = tuple(self.listeners)

        for callback, mask in snapshot:
            if not event.code & mask:
                continue
            try:
                callback(event)
            except BaseException:
                logger.exception("Error notifying listener")
