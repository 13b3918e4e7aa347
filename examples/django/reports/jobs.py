"""The example's jobs: `manage.py runscheduler` imports this module and adds both.

Each one is stored in the database (visible in the admin under "Django jobs") and every run is
recorded (under "Django job executions").
"""

from __future__ import annotations

from datetime import datetime

from quartzite.contrib.django.jobs import scheduled_job


@scheduled_job("interval", seconds=10, id="heartbeat")
def heartbeat() -> str:
    """Every ten seconds: print a line, so the console shows the scheduler at work."""
    now = datetime.now().strftime("%H:%M:%S")
    print(f"heartbeat at {now}", flush=True)
    return now


@scheduled_job("cron", hour=3, minute=0, id="nightly-user-count")
def nightly_user_count() -> int:
    """At 03:00 every night: count the users. Try it at once with the admin's "run now"."""
    from django.contrib.auth import get_user_model

    count: int = get_user_model().objects.count()
    print(f"{count} user(s)", flush=True)
    return count
