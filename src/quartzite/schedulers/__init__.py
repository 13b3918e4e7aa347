"""The scheduler variants (one module each) and the two errors about a scheduler's state."""

__all__ = ("SchedulerAlreadyRunningError", "SchedulerNotRunningError")


class SchedulerAlreadyRunningError(Exception):
    """``start()`` or ``configure()`` was called on a scheduler that is running or paused."""

    def __str__(self) -> str:
        return "Scheduler is already running"


class SchedulerNotRunningError(Exception):
    """``shutdown()``, ``pause()`` or ``resume()`` was called on a stopped scheduler."""

    def __str__(self) -> str:
        return "Scheduler is not running"
