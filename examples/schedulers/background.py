"""BackgroundScheduler: the scheduler runs in a thread of its own while the program goes on, here
for about three seconds.

    python examples/schedulers/background.py
"""

from __future__ import annotations

import time
from datetime import datetime

from quartzite.schedulers.background import BackgroundScheduler


def tick() -> None:
    print(f"Tick! The time is: {datetime.now():%H:%M:%S.%f}")


def main() -> None:
    scheduler = BackgroundScheduler()
    scheduler.add_job(tick, "interval", seconds=1)
    scheduler.start()  # returns at once
    print("Running for three seconds")
    time.sleep(3.2)  # the program's own work would go here
    scheduler.shutdown()
    print("Scheduler shut down")


if __name__ == "__main__":
    main()
