"""A real scheduler on the default memory job store, for about five seconds.

Run it from the repository root after ``python3 -m pip install -e .``::

    python3 examples/quickstart.py

A BackgroundScheduler runs its loop in a thread and its jobs on a thread pool; the main thread
only waits and then shuts it down. A listener prints every event the scheduler emits.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta

from quartzite import events
from quartzite.events import EVENT_ALL, SchedulerEvent
from quartzite.schedulers.background import BackgroundScheduler

# Event code -> constant name, for printing ("EVENT_JOB_EXECUTED", ...).
EVENT_NAMES = {
    getattr(events, name): name
    for name in dir(events)
    if name.startswith("EVENT_") and name not in ("EVENT_ALL", "EVENT_SCHEDULER_START")
}

started = time.monotonic()


def stamp() -> str:
    return f"[{time.monotonic() - started:4.1f}s]"


def tick() -> str:
    print(f"{stamp()} tick")
    return "tock"


def greet(name: str) -> None:
    print(f"{stamp()} hello, {name}!")


def print_event(event: SchedulerEvent) -> None:
    details = [f"event {EVENT_NAMES.get(event.code, event.code)}"]
    job_id = getattr(event, "job_id", None)
    if job_id is not None:
        details.append(f"job={job_id}")
    elif event.alias is not None:
        details.append(f"alias={event.alias}")
    retval = getattr(event, "retval", None)
    if retval is not None:
        details.append(f"returned={retval!r}")
    print(f"{stamp()}  ", *details)


def main() -> None:
    scheduler = BackgroundScheduler()
    scheduler.add_listener(print_event, EVENT_ALL)

    now = datetime.now()
    # Added before start(): the jobs wait as "pending" and are scheduled when the scheduler starts.
    scheduler.add_job(tick, "interval", seconds=1, id="tick")
    scheduler.add_job(greet, "date", run_date=now + timedelta(seconds=2), args=["world"], id="hi")
    scheduler.start()
    # Added while running: goes straight into the job store.
    scheduler.add_job(
        greet, "date", run_date=now + timedelta(seconds=3.5), kwargs={"name": "again"}, id="again"
    )
    scheduler.print_jobs()

    time.sleep(5.2)
    scheduler.shutdown()  # waits for running jobs to finish
    print(f"{stamp()} done")


if __name__ == "__main__":
    main()
