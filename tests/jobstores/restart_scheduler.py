"""A scheduler process for the restart test (``test_restart.py``); run as a script.

    python restart_scheduler.py DATABASE_FILE EVENTS_FILE first|second

``first`` adds the test's jobs to a SQLite file store and runs a BlockingScheduler until it is
killed. ``second`` runs a BlockingScheduler on the same file without adding anything, for a few
seconds. Both append one JSON line per event to EVENTS_FILE (flushed at once, so a SIGKILL loses
nothing written): ``{"event": "started", "jobs": {id: next_run_time}}`` once the scheduler has
started, then ``{"event": CODE_NAME, "job": ID, "run_time": ISO}`` per job event.
"""

from __future__ import annotations

import json
import sys
import threading
from datetime import datetime, timedelta, timezone
from typing import Any

from quartzite.events import (
    EVENT_JOB_ERROR,
    EVENT_JOB_EXECUTED,
    EVENT_JOB_MISSED,
    EVENT_SCHEDULER_STARTED,
)
from quartzite.jobstores.sqlalchemy import SQLAlchemyJobStore
from quartzite.schedulers.blocking import BlockingScheduler

CODE_NAMES = {EVENT_JOB_EXECUTED: "executed", EVENT_JOB_MISSED: "missed", EVENT_JOB_ERROR: "error"}


def tick() -> None:
    """The job function (stored as ``__main__:tick``, which each run of this script provides)."""


def main(database: str, events_path: str, mode: str) -> None:
    events_file = open(events_path, "a", encoding="utf-8")  # noqa: SIM115
    lock = threading.Lock()

    def write(record: dict[str, Any]) -> None:
        with lock:
            events_file.write(json.dumps(record) + "\n")
            events_file.flush()

    store = SQLAlchemyJobStore(f"sqlite:///{database}")
    # A lease shorter than the test's downtime: the second process finds the first one's lease
    # run out, and recovers at once the runs it held when it was killed (with the default 30 s
    # lease they would count against max_instances for the whole life of the second process).
    scheduler = BlockingScheduler(
        timezone="UTC", jobstores={"default": store}, checkin_interval=0.5, lease_time=2.0
    )

    def listener(event: Any) -> None:
        if event.code == EVENT_SCHEDULER_STARTED:
            jobs = {
                job.id: job.next_run_time.isoformat() if job.next_run_time else None
                for job in scheduler.get_jobs()
            }
            now = datetime.now(timezone.utc).isoformat()
            write({"event": "started", "mode": mode, "now": now, "jobs": jobs})
        else:
            run_time = event.scheduled_run_time.isoformat()
            write({"event": CODE_NAMES[event.code], "job": event.job_id, "run_time": run_time})

    scheduler.add_listener(
        listener, EVENT_SCHEDULER_STARTED | EVENT_JOB_EXECUTED | EVENT_JOB_MISSED | EVENT_JOB_ERROR
    )

    if mode == "first":
        now = datetime.now(timezone.utc)
        soon = now + timedelta(seconds=2)  # due while the scheduler is down
        common = {"trigger": "interval", "seconds": 1, "start_date": now}
        scheduler.add_job(tick, id="coalesced", coalesce=True, misfire_grace_time=None, **common)
        scheduler.add_job(tick, id="every_run", coalesce=False, misfire_grace_time=None, **common)
        scheduler.add_job(tick, "date", run_date=soon, id="late_ok", misfire_grace_time=None)
        scheduler.add_job(tick, "date", run_date=soon, id="too_late", misfire_grace_time=1)
        scheduler.add_job(tick, "interval", hours=1, id="paused", next_run_time=None)
    else:
        threading.Timer(3, scheduler.shutdown, kwargs={"wait": True}).start()

    scheduler.start()
    events_file.close()


if __name__ == "__main__":
    main(*sys.argv[1:4])
