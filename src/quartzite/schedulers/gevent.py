"""A scheduler that runs as a gevent greenlet."""

from __future__ import annotations

from typing import Any, ContextManager

from .._optional import missing_dependency
from ..executors.base import BaseExecutor
from .base import BaseScheduler
from .blocking import BlockingScheduler

try:
    import gevent
    from gevent.event import Event
    from gevent.lock import RLock
except ImportError as exc:
    raise missing_dependency("GeventScheduler requires gevent installed", "gevent", exc) from exc

__all__ = ("GeventScheduler",)


class GeventScheduler(BlockingScheduler):
    """A scheduler that runs as a gevent greenlet.

    :meth:`start` spawns the scheduler's loop in a greenlet and returns that greenlet; the
    scheduler then sleeps on a gevent event, so it runs whenever the gevent hub gets control (the
    rest of the program must cooperate, as usual with gevent: use gevent's own blocking calls, or
    monkey-patch the standard library). Its locks are gevent locks, and its default executor runs
    each job in a greenlet of its own (:class:`~quartzite.executors.gevent.GeventExecutor`).
    """

    _greenlet: gevent.Greenlet | None = None

    def start(self, *args: Any, **kwargs: Any) -> gevent.Greenlet:
        """Start the scheduler in a new greenlet.

        :param paused: if ``True``, don't start job processing until :meth:`resume` is called
        :return: the greenlet running the scheduler's loop
        """
        # Always a new gevent event: the inherited one may be a threading event.
        self._event = Event()
        BaseScheduler.start(self, *args, **kwargs)
        greenlet = self._greenlet = gevent.spawn(self._main_loop)
        return greenlet

    def shutdown(self, *args: Any, **kwargs: Any) -> None:
        """Shut down the scheduler and wait for its greenlet to end.

        :param wait: ``True`` to wait until all currently executing jobs have finished
        :raises SchedulerNotRunningError: if the scheduler has not been started yet
        """
        super().shutdown(*args, **kwargs)
        greenlet, self._greenlet = self._greenlet, None
        # A listener or a job running in the scheduler's greenlet may shut the scheduler down;
        # it cannot join itself.
        if greenlet is not None and greenlet is not gevent.getcurrent():
            greenlet.join()

    def _create_lock(self) -> ContextManager[Any]:
        """Create a reentrant lock that blocks greenlets rather than threads."""
        return RLock()

    def _create_default_executor(self) -> BaseExecutor:
        from ..executors.gevent import GeventExecutor

        return GeventExecutor()
