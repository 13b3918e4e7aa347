"""The app configuration of ``quartzite.contrib.django``."""

from __future__ import annotations

from django.apps import AppConfig

__all__ = ("QuartziteConfig",)


class QuartziteConfig(AppConfig):
    """The Django app of quartzite. Its label ``quartzite`` names the tables
    (``quartzite_djangojob`` ...), permissions and admin URLs."""

    name = "quartzite.contrib.django"
    label = "quartzite"
    verbose_name = "Quartzite scheduler"

    def ready(self) -> None:
        # Job functions get Django's request treatment of connections: stale ones (past
        # CONN_MAX_AGE, broken, left in a transaction) are closed before and after each run.
        # QUARTZITE_CLOSE_OLD_CONNECTIONS = False opts out.
        from django.conf import settings

        from ...executors.base import add_run_hook
        from .jobstores import _release_worker_connections

        if getattr(settings, "QUARTZITE_CLOSE_OLD_CONNECTIONS", True):
            add_run_hook(_release_worker_connections)
