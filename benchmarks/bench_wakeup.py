"""Wake-up latency across processes: a job added in process A, due in 1 s, runs in process B.

For each store (SQLite file, PostgreSQL, MariaDB, Redis) process B (``multiprocessing``, spawn)
runs a quartzite ``BackgroundScheduler`` with the store's defaults and no jobs, so it is idle;
process A (this script) adds, through a scheduler started paused on the same table or keys, a
date job due one second later, and notes when B started running it. Latency = start in B minus
the job's run time; 20 samples per store (a random pause between them, spread over a poll
interval, so that the adds do not fall into step with B's polling). Reported: p50, p99 and max
(lower is better). PostgreSQL and Redis notify B of the change (LISTEN/NOTIFY, pub/sub); SQLite
and MariaDB are polled, so their latency is bounded by the store's poll interval (default 5 s).

An APScheduler 3.x scheduler idle in process B would not notice the job at all (it sleeps until
its own next job, of which it has none), so there is no side-by-side here.

    python benchmarks/bench_wakeup.py [--quick] [--json PATH]
        [--only sqlite,postgresql,mariadb,redis]
"""

from __future__ import annotations

import random
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from _common import Report, load_libraries, percentile, print_table
from bench_cluster import SPAWN, Backend, parse_args, select_kinds

SAMPLES_FULL = 20
SAMPLES_QUICK = 5
DELAY_S = 1.0
TIMEOUT_S = 30.0

#: in process B: where ``ran`` notes when each sample started (set by ``wake_process``)
_started: Any = None


def ran(sample: int) -> None:
    """The job: note when it started, in the slot of its sample."""
    _started[sample] = time.time()


def wake_process(backend: Backend, started: Any, ready: Any, stop: Any) -> None:
    """Process B: an idle scheduler on the shared store, until ``stop`` is set."""
    global _started
    _started = started
    from quartzite.schedulers.background import BackgroundScheduler

    scheduler = BackgroundScheduler(timezone="UTC", jobstores={"default": backend.create_store()})
    scheduler.start()
    ready.set()
    stop.wait()
    scheduler.shutdown(wait=True)


def measure(kind: str, samples: int, directory: Path) -> list[float | None]:
    """Latency of each sample in seconds (``None``: it did not run within ``TIMEOUT_S``)."""
    import bench_wakeup as this  # by module name: process B imports the job from there too

    from quartzite.schedulers.background import BackgroundScheduler

    backend = Backend.fresh(kind, "quartzite", directory)
    started = SPAWN.Array("d", samples)
    ready, stop = SPAWN.Event(), SPAWN.Event()
    store = backend.create_store()
    admin = BackgroundScheduler(timezone="UTC", jobstores={"default": store})
    admin.start(paused=True)  # creates the tables before B starts
    # B polls a store that cannot notify every poll_interval seconds, counted from its last
    # look; a fixed pause after each sample would put every add at the same phase of that
    # cycle, so the pause is spread over a whole cycle.
    spread = (getattr(store, "poll_interval", None) or 0.0) + 0.5
    process = SPAWN.Process(target=this.wake_process, args=(backend, started, ready, stop))
    latencies: list[float | None] = []
    rng = random.Random(7)
    try:
        process.start()
        if not ready.wait(120):
            raise RuntimeError("process B did not start")
        time.sleep(1.0)  # let B reach its idle sleep
        for sample in range(samples):
            run_date = datetime.fromtimestamp(time.time() + DELAY_S, timezone.utc)
            admin.add_job(
                this.ran,
                "date",
                run_date=run_date,
                args=[sample],
                id=f"sample{sample}",
                misfire_grace_time=None,
            )
            deadline = time.monotonic() + DELAY_S + TIMEOUT_S
            while started[sample] == 0.0 and time.monotonic() < deadline:
                time.sleep(0.002)
            value = started[sample]
            latencies.append(value - run_date.timestamp() if value else None)
            time.sleep(rng.uniform(0.1, spread))
    finally:
        stop.set()
        process.join(60)
        if process.is_alive():
            process.kill()
        admin.shutdown()
        backend.cleanup()
    return latencies


def main() -> None:
    args = parse_args(__doc__.splitlines()[0], "sqlite,postgresql,mariadb,redis")
    samples = SAMPLES_QUICK if args.quick else SAMPLES_FULL
    libraries = load_libraries()
    report = Report(
        "bench_wakeup",
        f"a job added in process A, due in {DELAY_S:g} s, runs in idle process B "
        f"({samples} samples per store)",
        args.quick,
    )
    report.header(libraries)
    kinds = select_kinds(args.only, ("sqlite", "postgresql", "mariadb", "redis"))
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for kind in kinds:
            latencies = measure(kind, samples, Path(tmp))
            ran_ones = [latency for latency in latencies if latency is not None]
            missing = len(latencies) - len(ran_ones)
            figures = {
                "samples": len(latencies),
                "did_not_run": missing,
                "p50_ms": percentile(ran_ones, 0.5) * 1000,
                "p99_ms": percentile(ran_ones, 0.99) * 1000,
                "max_ms": max(ran_ones, default=float("nan")) * 1000,
                "min_ms": min(ran_ones, default=float("nan")) * 1000,
            }
            report.figures[kind] = figures
            rows.append(
                [
                    kind,
                    len(ran_ones),
                    missing,
                    figures["min_ms"],
                    figures["p50_ms"],
                    figures["p99_ms"],
                    figures["max_ms"],
                ]
            )
    print_table(
        "start in B minus the job's run time (ms; lower is better)",
        ["store", "ran", "did not run", "min", "p50", "p99", "max"],
        rows,
    )
    report.finish(args.json)


if __name__ == "__main__":
    main()
