"""GeventScheduler: jobs run in greenlets, for about three seconds.

    python examples/schedulers/gevent_.py

Applications using gevent usually monkey-patch the standard library first, so that blocking calls
(``time.sleep``, sockets ...) in jobs yield to the other greenlets, as done here.
"""

import sys

try:
    from gevent import monkey
except ModuleNotFoundError as exc:
    if (exc.name or "").partition(".")[0] != "gevent":
        raise
    sys.exit("This example needs gevent, which is not installed: pip install quartzite[gevent]")

monkey.patch_all()

import time  # noqa: E402
from datetime import datetime  # noqa: E402

import gevent  # noqa: E402

from quartzite.schedulers.gevent import GeventScheduler  # noqa: E402


def tick() -> None:
    time.sleep(0.1)  # patched: lets the other greenlets run meanwhile
    print(f"Tick! The time is: {datetime.now():%H:%M:%S.%f}")


def main() -> None:
    scheduler = GeventScheduler()
    scheduler.add_job(tick, "interval", seconds=1)
    greenlet = scheduler.start()  # the greenlet running the scheduler
    print("Running for three seconds")
    gevent.spawn_later(3.2, scheduler.shutdown)
    greenlet.join()
    print("Scheduler shut down")


if __name__ == "__main__":
    main()
