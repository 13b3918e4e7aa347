"""Run history: what keeping run records costs, and how fast a job's history reads back.

Cost. N interval jobs (one day, ``noop``), all due, are executed by one quartzite scheduler
process (``ThreadPoolExecutor(20)``, as in ``bench_cluster.py``) on the memory store, a SQLite
file and PostgreSQL, with ``history=True`` (finished records kept) and ``history=False`` (records
live only while a run is in flight). Repetitions alternate on/off; the best of each is shown.
Target: with history >= 0.7x the rate without.

Reading. 1,000,000 run records (1,000 jobs x 1,000 runs, finished, one second apart) are
inserted in bulk straight into the runs table of a SQLite file and of PostgreSQL (through the
store's table object: filling is not what is measured); then ``store.get_runs(job_id,
limit=100)`` for a random job is timed, median of 20 calls. For reference, the newest 100
records of all jobs (``get_runs(limit=100)``) too.

    python benchmarks/bench_history.py [--quick] [--json PATH] [--only memory,sqlite,postgresql]
"""

from __future__ import annotations

import random
import statistics
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from _common import Report, load_libraries, print_table, ratio
from bench_cluster import Backend, Cluster, fill, parse_args, select_kinds

JOBS_FULL = 10_000
JOBS_QUICK = 2_000
REPETITIONS_FULL = 3
REPETITIONS_QUICK = 1
RUN_BUDGET_S = 120.0
HISTORY_RATIO_TARGET = 0.7

RECORD_JOBS = 1_000
RECORDS_FULL = 1_000_000
RECORDS_QUICK = 100_000
READS = 20
INSERT_CHUNK = 10_000


def execute(kind: str, history: bool, jobs: int, directory: Path) -> float:
    """Occurrences per second for ``jobs`` due jobs on one scheduler process."""
    backend = Backend.fresh(kind, "quartzite", directory)
    store_options = {"history": history}
    try:
        if kind != "memory":
            fill(backend, jobs, datetime.now(timezone.utc) - timedelta(minutes=1), **store_options)
        cluster = Cluster(
            backend, 1, store_options=store_options, prefill=jobs if kind == "memory" else 0
        )
        started = cluster.start()
        ended = cluster.wait_for(jobs, RUN_BUDGET_S)
        reached = cluster.executed()
        cluster.finish()
    finally:
        backend.cleanup()
    return min(reached, jobs) / (ended - started)


def fill_records(store: Any, count: int) -> float:
    """Insert ``count`` finished records straight into the store's runs table; return seconds."""
    from sqlalchemy import insert

    per_job = count // RECORD_JOBS
    origin = time.time() - per_job - 60.0
    started = time.perf_counter()
    rows: list[dict[str, Any]] = []
    with store.engine.begin() as connection:
        for run in range(per_job):
            scheduled = origin + run
            for job in range(RECORD_JOBS):
                rows.append(
                    {
                        "job_id": f"job{job}",
                        "scheduled_run_time": scheduled,
                        "status": "success",
                        "scheduler_id": "bench",
                        "attempt": 1,
                        "recovered": False,
                        "manual": False,
                        "created_at": scheduled,
                        "started_at": scheduled,
                        "finished_at": scheduled + 0.01,
                    }
                )
                if len(rows) == INSERT_CHUNK:
                    connection.execute(insert(store.runs_t), rows)
                    rows = []
        if rows:
            connection.execute(insert(store.runs_t), rows)
    return time.perf_counter() - started


def read_times(store: Any, one_job: bool) -> list[float]:
    """Seconds per ``get_runs(limit=100)`` call: of a random job, or of all jobs."""
    times = []
    rng = random.Random(1)
    for _ in range(READS):
        job_id = f"job{rng.randrange(RECORD_JOBS)}" if one_job else None
        started = time.perf_counter()
        runs = store.get_runs(job_id, limit=100)
        times.append(time.perf_counter() - started)
        if len(runs) != 100:
            raise RuntimeError(f"get_runs({job_id!r}, limit=100) returned {len(runs)} records")
    return times


def reading(kind: str, records: int, directory: Path) -> dict[str, float]:
    from quartzite.schedulers.background import BackgroundScheduler

    backend = Backend.fresh(kind, "quartzite", directory)
    # Retention would apply only when runs finish; none does here, so the records all stay.
    store = backend.create_store()
    try:
        store.start(BackgroundScheduler(timezone="UTC"), "default")  # creates the tables
        fill_seconds = fill_records(store, records)
        one_job = read_times(store, one_job=True)
        all_jobs = read_times(store, one_job=False)
    finally:
        store.shutdown()
        backend.cleanup()
    return {
        "records": records,
        "fill_s": fill_seconds,
        "one_job_median_ms": statistics.median(one_job) * 1000,
        "one_job_max_ms": max(one_job) * 1000,
        "all_jobs_median_ms": statistics.median(all_jobs) * 1000,
    }


def main() -> None:
    args = parse_args(__doc__.splitlines()[0], "memory,sqlite,postgresql")
    jobs = JOBS_QUICK if args.quick else JOBS_FULL
    repetitions = REPETITIONS_QUICK if args.quick else REPETITIONS_FULL
    records = RECORDS_QUICK if args.quick else RECORDS_FULL
    libraries = load_libraries()
    report = Report(
        "bench_history",
        f"{jobs:,} due jobs with history on vs off; get_runs over {records:,} records",
        args.quick,
    )
    report.header(libraries)
    kinds = select_kinds(args.only, ("memory", "sqlite", "postgresql"))

    rows = []
    read_rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for kind in kinds:
            best = {True: 0.0, False: 0.0}
            for repetition in range(repetitions):
                order = (True, False) if repetition % 2 == 0 else (False, True)
                for history in order:
                    best[history] = max(best[history], execute(kind, history, jobs, Path(tmp)))
            history_ratio = ratio(best[True], best[False])
            rows.append([kind, best[False], best[True], history_ratio])
            report.figures.setdefault(kind, {})["executions_per_s"] = {
                "history_on": best[True],
                "history_off": best[False],
            }
            report.target(
                f"{kind}: history on vs off",
                f">= {HISTORY_RATIO_TARGET:g}x",
                f"{history_ratio:.2f}x",
                history_ratio >= HISTORY_RATIO_TARGET,
            )
        for kind in kinds:
            if kind == "memory":
                continue
            figures = reading(kind, records, Path(tmp))
            report.figures[kind]["get_runs"] = figures
            read_rows.append(
                [
                    kind,
                    records,
                    figures["fill_s"],
                    figures["one_job_median_ms"],
                    figures["one_job_max_ms"],
                    figures["all_jobs_median_ms"],
                ]
            )

    print_table(
        f"{jobs:,} due jobs, 1 scheduler process, best of {repetitions} "
        "(occurrences/s: higher is better)",
        ["store", "history off", "history on", "on / off"],
        rows,
    )
    print_table(
        f"get_runs(..., limit=100), median of {READS} (ms: lower is better)",
        [
            "store",
            "records",
            "bulk fill s",
            "one job (median)",
            "one job (max)",
            "all jobs (median)",
        ],
        read_rows,
    )
    report.finish(args.json)


if __name__ == "__main__":
    main()
