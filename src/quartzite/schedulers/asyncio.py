"""A scheduler that runs on an :mod:`asyncio` event loop."""

from __future__ import annotations

import asyncio
from functools import partial, wraps
from typing import Any, Callable

from ..executors.base import BaseExecutor
from ..util import maybe_ref
from . import SchedulerNotRunningError
from ._eventloop import EventLoopScheduler

__all__ = ("AsyncIOScheduler", "run_in_event_loop")


def run_in_event_loop(func: Callable[..., Any]) -> Callable[..., None]:
    """Decorate a method of an :class:`AsyncIOScheduler` (subclass) so that calling it, from any
    thread, schedules the call on the scheduler's event loop (``call_soon_threadsafe``) and
    returns ``None`` at once.

    :raises SchedulerNotRunningError: (from the decorated method) if the scheduler has no event
        loop
    """

    @wraps(func)
    def wrapper(self: AsyncIOScheduler, *args: Any, **kwargs: Any) -> None:
        if self._eventloop is None:
            raise SchedulerNotRunningError
        self._eventloop.call_soon_threadsafe(partial(func, self, *args, **kwargs))

    return wrapper


class AsyncIOScheduler(EventLoopScheduler):
    """A scheduler that runs on an asyncio (:pep:`3156`) event loop.

    The default executor (:class:`~quartzite.executors.asyncio.AsyncIOExecutor`) awaits jobs
    based on native coroutine functions (``async def``) on the loop, and runs other functions in
    the loop's default executor (a thread pool).

    Start it from a coroutine running on the loop (the loop is then found with
    :func:`asyncio.get_running_loop`)::

        async def main():
            scheduler = AsyncIOScheduler()
            scheduler.add_job(tick, "interval", seconds=3)
            scheduler.start()
            ...

        asyncio.run(main())

    or give it the loop, and start it before the loop runs::

        loop = asyncio.new_event_loop()
        scheduler = AsyncIOScheduler(event_loop=loop)
        scheduler.start()
        loop.run_forever()

    :meth:`wakeup` and :meth:`shutdown` may be called from any thread: both are carried out on the
    loop's thread, a moment later.

    Extra options:

    ============== ==============================================================================
    ``event_loop`` AsyncIO event loop to use (defaults to the loop running when :meth:`start` is
                   called)
    ============== ==============================================================================
    """

    _eventloop: asyncio.AbstractEventLoop | None = None
    _timeout: asyncio.TimerHandle | None = None

    def _configure(self, config: dict[str, Any]) -> None:
        self._eventloop = maybe_ref(config.pop("event_loop", None))
        super()._configure(config)

    def start(self, paused: bool = False) -> None:
        """Start the scheduler on its event loop.

        :param paused: if ``True``, don't start job processing until :meth:`resume` is called
        :raises RuntimeError: if no ``event_loop`` was given (or it is closed) and no event loop
            is running in this thread
        :raises SchedulerAlreadyRunningError: if the scheduler is already running
        """
        if self._eventloop is None or self._eventloop.is_closed():
            try:
                self._eventloop = asyncio.get_running_loop()
            except RuntimeError:
                raise RuntimeError(
                    "no running event loop: call AsyncIOScheduler.start() from a coroutine "
                    "running on the loop (for instance inside asyncio.run()), or give the loop "
                    "as the event_loop option"
                ) from None

        super().start(paused)

    def _shutdown(self, wait: bool = True) -> None:
        super()._shutdown(wait)
        self._eventloop = None

    def _call_threadsafe(self, callback: Callable[..., Any], *args: Any) -> None:
        loop = self._eventloop
        if loop is None:
            raise SchedulerNotRunningError
        loop.call_soon_threadsafe(callback, *args)

    def _start_timer(self, wait_seconds: float | None) -> None:
        self._stop_timer()
        if wait_seconds is not None and self._eventloop is not None:
            self._timeout = self._eventloop.call_later(wait_seconds, self.wakeup)

    def _stop_timer(self) -> None:
        if self._timeout is not None:
            self._timeout.cancel()
            self._timeout = None

    def _create_default_executor(self) -> BaseExecutor:
        from ..executors.asyncio import AsyncIOExecutor

        return AsyncIOExecutor()
