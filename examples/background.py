"""A BackgroundScheduler with a thread pool and a process pool, for about four seconds.

Run it from the repository root after ``python3 -m pip install -e .``::

    python3 examples/background.py

Jobs on the process pool run in other processes: their functions must be importable module-level
functions (they are sent by reference), and the script must be guarded by
``if __name__ == "__main__":`` because the pool starts its workers with "spawn", which re-imports
this module in each worker.

One job fails on purpose: the listener reports it, and the ``quartzite.executors.default`` logger
logs its traceback; the scheduler carries on.
"""

from __future__ import annotations

import logging
import os
import time

from quartzite.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, JobExecutionEvent
from quartzite.executors.pool import ProcessPoolExecutor, ThreadPoolExecutor
from quartzite.schedulers.background import BackgroundScheduler


def count_primes(limit: int) -> int:
    """CPU-bound work: worth a process of its own."""
    sieve = bytearray([1]) * (limit + 1)
    sieve[0:2] = b"\x00\x00"
    for number in range(2, int(limit**0.5) + 1):
        if sieve[number]:
            multiples = range(number * number, limit + 1, number)
            sieve[number * number :: number] = bytearray(len(multiples))
    return sum(sieve)


def where() -> str:
    """Light work: fine on a thread. Returns the process it ran in."""
    return f"pid {os.getpid()}"


def fail() -> None:
    raise RuntimeError("this job fails on purpose")


def report(event: JobExecutionEvent) -> None:
    if event.exception is not None:
        print(f"job {event.job_id} raised {event.exception!r}")
    else:
        print(f"job {event.job_id} returned {event.retval!r}")


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    scheduler = BackgroundScheduler(
        executors={"default": ThreadPoolExecutor(4), "processpool": ProcessPoolExecutor(2)},
        job_defaults={"coalesce": True, "max_instances": 1},
    )
    scheduler.add_listener(report, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR)
    scheduler.add_job(where, "interval", seconds=1, id="thread")
    scheduler.add_job(
        count_primes, "interval", seconds=1.5, args=[2_000_000], executor="processpool", id="primes"
    )
    scheduler.add_job(fail, "date", id="fail")  # no run_date: runs once, right away
    print(f"scheduler in pid {os.getpid()}")
    scheduler.start()
    time.sleep(4)
    scheduler.shutdown()


if __name__ == "__main__":
    main()
