"""A scheduler that runs in a Qt event loop.

The Qt binding is chosen when this module is imported: the first importable of PySide6, PyQt6,
PySide5, PyQt5, … PySide2, PyQt2.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from .._optional import missing_dependency
from ._states import STATE_STOPPED
from .base import BaseScheduler

__all__ = ("QtScheduler",)

#: QTimer intervals are C ints (milliseconds)
_MAX_INTERVAL = 2147483647


def _import_qtcore() -> Any:
    error: ImportError | None = None
    for version in range(6, 1, -1):
        for package in ("PySide", "PyQt"):
            try:
                return import_module(f"{package}{version}.QtCore")
            except ImportError as exc:
                error = error or exc
    assert error is not None
    raise missing_dependency(
        "QtScheduler requires either PySide/PyQt (v6 to v2) installed", "qt", error
    ) from error


QtCore = _import_qtcore()
QCoreApplication = QtCore.QCoreApplication
QObject = QtCore.QObject
QTimer = QtCore.QTimer
_Signal = getattr(QtCore, "Signal", None) or QtCore.pyqtSignal


class _Waker(QObject):  # type: ignore[misc,valid-type]
    """Lives in the Qt event loop's thread and owns the scheduler's timer.

    Qt timers may only be started and stopped from their own thread: the scheduler asks for
    changes by emitting :attr:`requested`, which Qt delivers in this object's thread (directly
    when emitted there, through the event loop when emitted from any other thread).
    """

    requested = _Signal()

    def __init__(self, scheduler: QtScheduler) -> None:
        super().__init__()
        self._scheduler = scheduler
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.timeout.connect(self.on_timeout)
        self.requested.connect(self.on_request)

    def on_request(self) -> None:
        scheduler = self._scheduler
        if scheduler.state == STATE_STOPPED:
            scheduler._stop_timer()
        else:
            # Every wake-up gets its own processing pass, as with APScheduler's QtScheduler: a
            # second wake-up does not cancel and replace a pass that is still pending.
            QTimer.singleShot(0, self.on_timeout)

    def on_timeout(self) -> None:
        scheduler = self._scheduler
        if scheduler.state == STATE_STOPPED:
            return
        try:
            scheduler._process_jobs()
        except Exception:
            # An exception escaping a slot aborts PyQt applications: log it and retry later.
            scheduler._logger.exception("Error processing jobs; retrying later")
            scheduler._start_timer(scheduler.jobstore_retry_interval)


class QtScheduler(BaseScheduler):
    """A scheduler that runs in a Qt event loop.

    Start it in the thread that runs the Qt event loop (usually the main thread, after creating
    the ``QCoreApplication``/``QApplication``); it then processes jobs from a single-shot
    ``QTimer`` of that loop. :meth:`wakeup` (so adding or modifying jobs) and :meth:`shutdown` may
    be called from any thread. Jobs run in a thread pool by default, so they never block the user
    interface.
    """

    _timer: Any = None
    _waker: _Waker | None = None

    def start(self, paused: bool = False) -> None:
        """Start the scheduler in the Qt event loop of the application (or of this thread).

        :param paused: if ``True``, don't start job processing until :meth:`resume` is called
        :raises SchedulerAlreadyRunningError: if the scheduler is already running
        """
        if self._waker is None:
            waker = _Waker(self)
            app = QCoreApplication.instance()
            if app is not None and waker.thread() is not app.thread():
                waker.moveToThread(app.thread())
            self._waker = waker
            self._timer = waker.timer

        super().start(paused)

    def shutdown(self, *args: Any, **kwargs: Any) -> None:
        """Shut down the scheduler, along with its executors and job stores.

        :param wait: ``True`` to wait until all currently executing jobs have finished
        :raises SchedulerNotRunningError: if the scheduler has not been started yet
        """
        super().shutdown(*args, **kwargs)
        self._request_timer_update()

    def wakeup(self) -> None:
        """Have the scheduler process its jobs as soon as the Qt event loop gets to it."""
        self._request_timer_update()

    def _request_timer_update(self) -> None:
        """Restart the timer with 0 (or stop it once shut down), in the timer's own thread."""
        if self._waker is not None:
            self._waker.requested.emit()

    def _start_timer(self, wait_seconds: float | None) -> None:
        self._stop_timer()
        if wait_seconds is not None and self._timer is not None:
            self._timer.start(min(int(wait_seconds * 1000), _MAX_INTERVAL))

    def _stop_timer(self) -> None:
        if self._timer is not None and self._timer.isActive():
            self._timer.stop()

    def _process_jobs(self) -> None:
        """Process the due jobs, then arm the timer for the next round."""
        wait_seconds = super()._process_jobs()
        self._start_timer(wait_seconds)
