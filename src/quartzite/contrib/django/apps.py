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
