"""A scheduler that runs on a Tornado IOLoop."""

from __future__ import annotations

from datetime import timedelta
from functools import wraps
from typing import Any, Callable

from .._optional import missing_dependency
from ..executors.base import BaseExecutor
from ..util import maybe_ref
from . import SchedulerNotRunningError
from ._eventloop import EventLoopScheduler

try:
    from tornado.ioloop import IOLoop
except ImportError as exc:
    raise missing_dependency("TornadoScheduler requires tornado installed", "tornado", exc) from exc

__all__ = ("TornadoScheduler", "run_in_ioloop")


def run_in_ioloop(func: Callable[..., Any]) -> Callable[..., None]:
    """Decorate a method of a :class:`TornadoScheduler` (subclass) so that calling it, from any
    thread, schedules the call on the scheduler's IOLoop (``add_callback``) and returns ``None``
    at once.

    :raises SchedulerNotRunningError: (from the decorated method) if the scheduler has no IOLoop
    """

    @wraps(func)
    def wrapper(self: TornadoScheduler, *args: Any, **kwargs: Any) -> None:
        if self._ioloop is None:
            raise SchedulerNotRunningError
        self._ioloop.add_callback(func, self, *args, **kwargs)

    return wrapper


class TornadoScheduler(EventLoopScheduler):
    """A scheduler that runs on a Tornado IOLoop.

    The default executor (:class:`~quartzite.executors.tornado.TornadoExecutor`) runs jobs based
    on native coroutine functions (``async def``) on the IOLoop, and other functions in a thread
    pool. :meth:`wakeup` and :meth:`shutdown` may be called from any thread: both are carried out
    on the IOLoop's thread, a moment later.

    Extra options:

    =========== ================================================================================
    ``io_loop`` Tornado IOLoop instance to use (defaults to ``IOLoop.current()`` when the scheduler
                is configured, so create the scheduler on the IOLoop's thread, or pass it)
    =========== ================================================================================
    """

    _ioloop: IOLoop | None = None
    _timeout: object | None = None

    def _configure(self, config: dict[str, Any]) -> None:
        self._ioloop = maybe_ref(config.pop("io_loop", None)) or IOLoop.current()
        super()._configure(config)

    def _call_threadsafe(self, callback: Callable[..., Any], *args: Any) -> None:
        ioloop = self._ioloop
        if ioloop is None:
            raise SchedulerNotRunningError
        ioloop.add_callback(callback, *args)

    def _start_timer(self, wait_seconds: float | None) -> None:
        self._stop_timer()
        if wait_seconds is not None and self._ioloop is not None:
            self._timeout = self._ioloop.add_timeout(timedelta(seconds=wait_seconds), self.wakeup)

    def _stop_timer(self) -> None:
        if self._timeout is not None:
            if self._ioloop is not None:
                self._ioloop.remove_timeout(self._timeout)
            self._timeout = None

    def _create_default_executor(self) -> BaseExecutor:
        from ..executors.tornado import TornadoExecutor

        return TornadoExecutor()
