"""TornadoScheduler: a coroutine job on the IOLoop and a plain function in a thread pool, for about
three seconds.

    python examples/schedulers/tornado_.py
"""

from __future__ import annotations

import asyncio
import sys
import threading
from datetime import datetime

try:
    from quartzite.schedulers.tornado import TornadoScheduler
except ModuleNotFoundError as exc:
    if (exc.name or "").partition(".")[0] != "tornado":
        raise
    sys.exit("This example needs tornado, which is not installed: pip install quartzite[tornado]")


async def tick() -> None:
    await asyncio.sleep(0)
    print(f"Tick! The time is: {datetime.now():%H:%M:%S.%f} (coroutine on the IOLoop)")


def tock() -> None:
    print(f"Tock! The time is: {datetime.now():%H:%M:%S.%f} (in {threading.current_thread().name})")


async def main() -> None:
    # Created on the running loop: the scheduler uses IOLoop.current().
    scheduler = TornadoScheduler()
    scheduler.add_job(tick, "interval", seconds=1)
    scheduler.add_job(tock, "interval", seconds=1.5)
    scheduler.start()
    print("Running for three seconds")
    await asyncio.sleep(3.2)
    scheduler.shutdown()  # carried out by the IOLoop a moment later
    await asyncio.sleep(0.1)
    print("Scheduler shut down")


if __name__ == "__main__":
    asyncio.run(main())  # Tornado 6 runs on asyncio
