"""Jobs of the test app, found by ``runscheduler``'s autodiscovery."""

from __future__ import annotations

from quartzite.contrib.django.jobs import scheduled_job

from .tasks import note


@scheduled_job("interval", seconds=1, id="testapp-tick")
def tick() -> None:
    """Note each occurrence (see :func:`contrib.django.testapp.tasks.note`)."""
    note()
