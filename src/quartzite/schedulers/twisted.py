"""A scheduler that runs on a Twisted reactor."""

from __future__ import annotations

from functools import wraps
from typing import Any, Callable

from .._optional import missing_dependency
from ..executors.base import BaseExecutor
from ..util import maybe_ref
from ._eventloop import EventLoopScheduler

try:
    import twisted.internet  # noqa: F401  (the reactor itself is only imported when needed)
except ImportError as exc:
    raise missing_dependency("TwistedScheduler requires Twisted installed", "twisted", exc) from exc

__all__ = ("TwistedScheduler", "run_in_reactor")


def run_in_reactor(func: Callable[..., Any]) -> Callable[..., None]:
    """Decorate a method of a :class:`TwistedScheduler` (subclass) so that calling it, from any
    thread, schedules the call in the scheduler's reactor (``callFromThread``) and returns
    ``None`` at once."""

    @wraps(func)
    def wrapper(self: TwistedScheduler, *args: Any, **kwargs: Any) -> None:
        self._reactor.callFromThread(func, self, *args, **kwargs)

    return wrapper


class TwistedScheduler(EventLoopScheduler):
    """A scheduler that runs on a Twisted reactor.

    The default executor (:class:`~quartzite.executors.twisted.TwistedExecutor`) runs jobs in the
    reactor's thread pool. :meth:`wakeup` and :meth:`shutdown` may be called from any thread:
    both are carried out in the reactor's thread, a moment later (once the reactor runs).

    Extra options:

    =========== ================================================================================
    ``reactor`` Reactor instance to use (defaults to the global reactor,
                ``twisted.internet.reactor``, looked up when the scheduler is configured: install
                another reactor before creating the scheduler if you want one)
    =========== ================================================================================
    """

    _reactor: Any = None
    _delayedcall: Any = None

    def _configure(self, config: dict[str, Any]) -> None:
        reactor = maybe_ref(config.pop("reactor", None))
        if reactor is None:
            from twisted.internet import reactor

        self._reactor = reactor
        super()._configure(config)

    def _call_threadsafe(self, callback: Callable[..., Any], *args: Any) -> None:
        self._reactor.callFromThread(callback, *args)

    def _start_timer(self, wait_seconds: float | None) -> None:
        self._stop_timer()
        if wait_seconds is not None:
            self._delayedcall = self._reactor.callLater(wait_seconds, self.wakeup)

    def _stop_timer(self) -> None:
        if self._delayedcall is not None:
            if self._delayedcall.active():
                self._delayedcall.cancel()
            self._delayedcall = None

    def _create_default_executor(self) -> BaseExecutor:
        from ..executors.twisted import TwistedExecutor

        return TwistedExecutor()
