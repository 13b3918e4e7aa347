"""TwistedScheduler: jobs run in the reactor's thread pool, for about three seconds.

python examples/schedulers/twisted_.py
"""

from __future__ import annotations

import sys
import threading
from datetime import datetime

try:
    from twisted.internet import reactor
except ModuleNotFoundError as exc:
    if (exc.name or "").partition(".")[0] != "twisted":
        raise
    sys.exit("This example needs Twisted, which is not installed: pip install quartzite[twisted]")

from quartzite.events import EVENT_SCHEDULER_SHUTDOWN
from quartzite.schedulers.twisted import TwistedScheduler


def tick() -> None:
    print(f"Tick! The time is: {datetime.now():%H:%M:%S.%f} (in {threading.current_thread().name})")


def main() -> None:
    scheduler = TwistedScheduler()  # uses the global reactor
    scheduler.add_job(tick, "interval", seconds=1)
    scheduler.add_listener(lambda event: reactor.stop(), EVENT_SCHEDULER_SHUTDOWN)
    scheduler.start()  # processing starts once the reactor runs
    print("Running for three seconds")
    reactor.callLater(3.2, scheduler.shutdown)
    reactor.run()
    print("Scheduler shut down")


if __name__ == "__main__":
    main()
