"""One scheduler process of a cluster test; run as a script, stopped with SIGTERM (or SIGKILL).

    python tests/cluster/worker.py --store KIND (--url URL --table NAME | --key PREFIX)
        --ledger FILE --id N [--checkin-interval S] [--lease-time S] [--poll-interval S]

``KIND`` is ``sqlite_file``, ``postgresql``, ``mariadb`` (with ``--url`` and ``--table``) or
``redis`` (``--key PREFIX``: jobs key ``PREFIX.jobs``, run times key ``PREFIX.run_times``).
The process runs a :class:`BlockingScheduler` with the id ``w<N>-<pid>`` (a restarted worker
is a new scheduler) and a thread pool, on that store. Besides the job functions' lines
(``cluster/jobs.py``) it writes to the ledger:

    ready <N> <pid> <scheduler_id>          once the scheduler has started
    recovered <job_id> <pid> <rerun> <ts>…  for each recovery event it dispatches
    stopped <N> <pid>                        after a clean shutdown (SIGTERM)

SIGTERM makes it call ``shutdown(wait=True)`` (from a helper thread, not from the signal
handler: the handler interrupts the scheduler's own loop, which may hold the scheduler's locks).
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any

# Job functions are stored as "cluster.jobs:record": the tests directory must be importable.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cluster import jobs
from quartzite import events
from quartzite.executors.pool import ThreadPoolExecutor
from quartzite.schedulers.blocking import BlockingScheduler


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--store", required=True, choices=("sqlite_file", "postgresql", "mariadb", "redis")
    )
    parser.add_argument("--url", help="database URL (SQL stores)")
    parser.add_argument("--table", help="table name (SQL stores)")
    parser.add_argument("--key", help="key prefix (Redis)")
    parser.add_argument("--host", default="127.0.0.1", help="Redis host")
    parser.add_argument("--port", type=int, default=6379, help="Redis port")
    parser.add_argument("--ledger", required=True, help="file the jobs append their lines to")
    parser.add_argument("--id", type=int, required=True, help="the worker's number")
    parser.add_argument("--checkin-interval", type=float, default=0.5)
    parser.add_argument("--lease-time", type=float, default=2.0)
    parser.add_argument("--poll-interval", type=float, default=0.2, help="SQL stores only")
    parser.add_argument("--threads", type=int, default=20)
    return parser.parse_args(argv)


def build_store(args: argparse.Namespace) -> Any:
    """The shared store: the same table or keys as every other process of the test."""
    # Keep every record of the test's short run, whatever the default retention is.
    keep = 100_000
    if args.store == "redis":
        from quartzite.jobstores.redis import RedisJobStore

        return RedisJobStore(
            jobs_key=f"{args.key}.jobs",
            run_times_key=f"{args.key}.run_times",
            host=args.host,
            port=args.port,
            max_runs_per_job=keep,
        )
    from quartzite.jobstores.sqlalchemy import SQLAlchemyJobStore

    return SQLAlchemyJobStore(
        args.url, tablename=args.table, poll_interval=args.poll_interval, max_runs_per_job=keep
    )


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING, format=f"%(asctime)s w{args.id} %(name)s %(levelname)s %(message)s"
    )
    jobs.open_ledger(args.ledger)
    pid = os.getpid()
    scheduler_id = f"w{args.id}-{pid}"
    scheduler = BlockingScheduler(
        timezone="UTC",
        scheduler_id=scheduler_id,
        checkin_interval=args.checkin_interval,
        lease_time=args.lease_time,
        jobstores={"default": build_store(args)},
        executors={"default": ThreadPoolExecutor(args.threads)},
    )

    def on_event(event: Any) -> None:
        if event.code == events.EVENT_SCHEDULER_STARTED:
            jobs.write_line("ready", args.id, pid, scheduler_id)
        else:
            times = [repr(time.timestamp()) for time in event.scheduled_run_times]
            jobs.write_line("recovered", event.job_id, pid, int(event.rerun), *times)

    scheduler.add_listener(on_event, events.EVENT_SCHEDULER_STARTED | events.EVENT_JOB_RECOVERED)

    stopper: list[threading.Thread] = []

    def on_sigterm(signum: int, frame: Any) -> None:
        if not stopper:
            thread = threading.Thread(target=scheduler.shutdown, kwargs={"wait": True})
            stopper.append(thread)
            thread.start()

    signal.signal(signal.SIGTERM, on_sigterm)
    scheduler.start()  # returns once shutdown() has stopped the loop
    for thread in stopper:
        thread.join()  # shutdown(wait=True) finishes the runs and their records
    jobs.write_line("stopped", args.id, pid)


if __name__ == "__main__":
    main()
