"""``manage.py runscheduler``: run a blocking scheduler configured from the settings."""

from __future__ import annotations

import logging
import signal
import threading
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

__all__ = ("Command",)

logger = logging.getLogger("quartzite.contrib.django")


class Command(BaseCommand):
    help = (
        "Run a scheduler in the foreground: configured by settings.SCHEDULER_CONFIG (keys "
        "prefixed 'quartzite.'), in settings.TIME_ZONE, with the jobs the installed apps declare "
        "in their jobs.py modules. Stops on SIGTERM or Ctrl+C. Start it in as many processes as "
        "you like: they share the jobs and run each occurrence once."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--no-jobs",
            action="store_true",
            help="do not add the jobs declared in the apps' jobs.py modules",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        from quartzite.schedulers import SchedulerNotRunningError
        from quartzite.schedulers.blocking import BlockingScheduler

        from ...jobs import autodiscover, register_declared_jobs

        config = getattr(settings, "SCHEDULER_CONFIG", None) or {
            "quartzite.jobstores.default": {
                "class": "quartzite.contrib.django.jobstores:DjangoJobStore"
            }
        }
        try:
            scheduler = BlockingScheduler(gconfig=config, timezone=settings.TIME_ZONE)
        except Exception as exc:
            raise CommandError(f"settings.SCHEDULER_CONFIG is not usable: {exc}") from exc

        if not options["no_jobs"]:
            autodiscover()
            # Added before the start: they go to the stores when the scheduler starts.
            ids = register_declared_jobs(scheduler)
            self.stdout.write(f"Declared jobs: {', '.join(ids) or 'none'}")

        started_or_failed = threading.Event()

        def shut_down_once_running() -> None:
            # A SIGTERM that comes while start() is still under way (stores connecting) finds
            # the scheduler not running yet: wait for it rather than fail and hang.
            while not scheduler.running:
                if started_or_failed.wait(0.05) and not scheduler.running:
                    return
            try:
                scheduler.shutdown()
            except SchedulerNotRunningError:  # stopped meanwhile (a second signal)
                pass

        def stop(signum: int, frame: Any) -> None:
            # A handler must not block; shutting down from another thread lets the blocking
            # loop return in the main thread.
            threading.Thread(target=shut_down_once_running, name="quartzite-shutdown").start()

        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, stop)
        self.stdout.write(
            f"Scheduler {scheduler.scheduler_id} starting; stop it with SIGTERM or Ctrl+C"
        )
        self.stdout.flush()
        try:
            scheduler.start()
        except KeyboardInterrupt:
            scheduler.shutdown()
        finally:
            started_or_failed.set()
        self.stdout.write("Scheduler stopped")
