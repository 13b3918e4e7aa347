"""AsyncIOScheduler: a coroutine job awaited on the event loop and a plain function run in the
loop's thread pool, for about three seconds.

    python examples/schedulers/asyncio_.py

(The file name ends with "_" so that it does not shadow the standard ``asyncio`` module when run
as a script.)
"""

from __future__ import annotations

import asyncio
import threading
from datetime import datetime

from quartzite.schedulers.asyncio import AsyncIOScheduler


async def tick() -> None:
    """Runs on the event loop: it may await, but must not block."""
    await asyncio.sleep(0)
    print(f"Tick! The time is: {datetime.now():%H:%M:%S.%f} (coroutine on the loop)")


def tock() -> None:
    """A plain function: runs in the loop's default executor, so it may block."""
    print(f"Tock! The time is: {datetime.now():%H:%M:%S.%f} (in {threading.current_thread().name})")


async def main() -> None:
    # Created and started in a coroutine: the scheduler uses the running event loop.
    scheduler = AsyncIOScheduler()
    scheduler.add_job(tick, "interval", seconds=1)
    scheduler.add_job(tock, "interval", seconds=1.5)
    scheduler.start()
    print("Running for three seconds")
    await asyncio.sleep(3.2)
    scheduler.shutdown()  # carried out by the loop a moment later
    await asyncio.sleep(0)
    print("Scheduler shut down")


if __name__ == "__main__":
    asyncio.run(main())
