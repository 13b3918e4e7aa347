"""BlockingScheduler: ``start()`` runs the scheduler in this thread until it is shut down, here
after about three seconds.

    python examples/schedulers/blocking.py
"""

from __future__ import annotations

import threading
from datetime import datetime

from quartzite.schedulers.blocking import BlockingScheduler


def tick() -> None:
    print(f"Tick! The time is: {datetime.now():%H:%M:%S.%f}")


def main() -> None:
    scheduler = BlockingScheduler()
    scheduler.add_job(tick, "interval", seconds=1)
    # start() blocks, so something else has to stop the scheduler: here a timer thread.
    threading.Timer(3.2, scheduler.shutdown).start()
    print("Running for three seconds")
    scheduler.start()
    print("Scheduler shut down")


if __name__ == "__main__":
    main()
