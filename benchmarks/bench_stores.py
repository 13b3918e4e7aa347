"""Persistent job stores: add N date jobs, then run them all, on SQLite, PostgreSQL and Redis.

For each backend and library: a ``BackgroundScheduler`` with the store and a ``DebugExecutor``
(jobs run inline in the scheduler thread, the same executor for both libraries, so that the
figures measure the scheduler and its store, not a thread pool) is started paused; ``add_job(noop,
"date", run_date=<one second ago>)`` is called N times (each add is written to the store at once);
then the scheduler is resumed and the clock runs until N ``EVENT_JOB_EXECUTED`` events have been
received (each date job runs once, then is removed from the store). Reported: adds/s and
executions/s (higher is better) and the ratios quartzite / APScheduler. Where adding is slow (one
fsync per commit), adding stops after 20 s and the jobs added so far are run (column "jobs"):
rates are per job, so the ratios stay comparable, and a full run stays within about 3 minutes.

SQLite: a fresh database file per run. quartzite's engine created from a URL uses write-ahead
logging with ``synchronous=NORMAL`` (its documented default); the row "quartzite, engine=" passes
an engine made by the user instead, with SQLite's defaults (rollback journal, ``synchronous=FULL``)
like APScheduler's, to show what the batching alone brings. PostgreSQL and Redis run when they
answer (``QUARTZITE_POSTGRESQL_URL``, default ``postgresql+psycopg://postgres@127.0.0.1:5432/test``;
``QUARTZITE_REDIS_HOST``/``QUARTZITE_REDIS_PORT``, default 127.0.0.1:6379), else are skipped.

Targets (issue 4), on SQLite: >= 5x APScheduler for executing due jobs, >= 2x for adds.

    python benchmarks/bench_stores.py [--quick] [--json PATH] [--only sqlite,postgresql,redis]
"""

from __future__ import annotations

import argparse
import gc
import importlib
import os
import tempfile
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable

from _common import Library, Report, interleaved, load_libraries, noop, print_table, ratio

JOBS_FULL = 5_000
JOBS_QUICK = 500
REPETITIONS_FULL = 1
REPETITIONS_QUICK = 1
# Adding stops after this long (the rates stay per job): one commit per add can be as slow as
# the disk's fsync (50-100/s on some VMs), and 5,000 of them would blow the time budget.
ADD_BUDGET_S = 20.0
RUN_TIMEOUT_S = 120.0

EXECUTE_RATIO_TARGET = 5.0
ADD_RATIO_TARGET = 2.0

POSTGRESQL_URL = os.environ.get(
    "QUARTZITE_POSTGRESQL_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REDIS_HOST = os.environ.get("QUARTZITE_REDIS_HOST", "127.0.0.1")
REDIS_PORT = int(os.environ.get("QUARTZITE_REDIS_PORT", "6379"))


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=f"{JOBS_QUICK} jobs, one run")
    parser.add_argument("--json", metavar="PATH", type=Path, help="write the figures here")
    parser.add_argument("--profile", action="store_true", help="(accepted; not used here)")
    parser.add_argument(
        "--only", default="sqlite,postgresql,redis", help="comma-separated backends to run"
    )
    return parser.parse_args()


# --- stores --------------------------------------------------------------------------------------


class Backend:
    """Creates a store of one library on a fresh table/file/keys, and removes it afterwards."""

    def __init__(self, name: str, variant: str = "") -> None:
        self.name = name
        self.variant = variant
        self._cleanup: list[Callable[[], None]] = []

    @property
    def label(self) -> str:
        return f"{self.name} ({self.variant})" if self.variant else self.name

    def create(self, library: Library, directory: Path) -> Any:
        unique = f"bench_{uuid.uuid4().hex[:10]}"
        if self.name == "redis":
            module = importlib.import_module(f"{library.name}.jobstores.redis")
            store = module.RedisJobStore(
                host=REDIS_HOST,
                port=REDIS_PORT,
                jobs_key=f"{unique}.jobs",
                run_times_key=f"{unique}.run_times",
            )
            keys = [f"{unique}.jobs", f"{unique}.run_times", f"{unique}.jobs.quarantine"]
            self._cleanup.append(lambda: store.redis.delete(*keys))
            return store

        module = importlib.import_module(f"{library.name}.jobstores.sqlalchemy")
        url = f"sqlite:///{directory / unique}.sqlite" if self.name == "sqlite" else POSTGRESQL_URL
        if self.variant == "engine=":
            from sqlalchemy import create_engine

            store = module.SQLAlchemyJobStore(engine=create_engine(url), tablename=unique)
        else:
            store = module.SQLAlchemyJobStore(url=url, tablename=unique)
        self._cleanup.append(lambda: _drop_tables(url, unique))
        return store

    def cleanup(self) -> None:
        while self._cleanup:
            self._cleanup.pop()()


def _drop_tables(url: str, tablename: str) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            for name in (f"{tablename}_quarantine", tablename):
                connection.execute(text(f"DROP TABLE IF EXISTS {name}"))
    finally:
        engine.dispose()


def available(backend: str) -> str | None:
    """``None`` if the backend's packages are installed and its server answers, else why not."""
    try:
        if backend == "sqlite":
            importlib.import_module("sqlalchemy")
        elif backend == "postgresql":
            from sqlalchemy import create_engine, text

            engine = create_engine(POSTGRESQL_URL, connect_args={"connect_timeout": 3})
            with engine.connect() as connection:
                connection.execute(text("SELECT 1"))
            engine.dispose()
        elif backend == "redis":
            from redis import Redis

            Redis(host=REDIS_HOST, port=REDIS_PORT, socket_connect_timeout=3).ping()
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


# --- the workload --------------------------------------------------------------------------------


def run_once(library: Library, backend: Backend, jobs: int, directory: Path) -> dict[str, float]:
    """Add ``jobs`` due date jobs to a paused scheduler (fewer if that takes longer than
    ``ADD_BUDGET_S``), then run them all; return the rates and the number of jobs."""
    debug = importlib.import_module(f"{library.name}.executors.debug")
    store = backend.create(library, directory)
    scheduler = library.BackgroundScheduler(
        timezone="UTC",
        jobstores={"default": store},
        executors={"default": debug.DebugExecutor()},
        job_defaults={"misfire_grace_time": None},
    )
    executed = 0
    all_done = threading.Event()

    def listener(event: Any) -> None:
        nonlocal executed
        executed += 1
        if executed >= jobs:
            all_done.set()

    scheduler.add_listener(listener, library.EVENT_JOB_EXECUTED)
    try:
        scheduler.start(paused=True)
        run_date = datetime.now(timezone.utc) - timedelta(seconds=1)
        gc.collect()
        started = time.perf_counter()
        for index in range(jobs):
            scheduler.add_job(noop, "date", run_date=run_date, id=f"job{index}")
            if index % 50 == 49 and time.perf_counter() - started > ADD_BUDGET_S:
                break
        add_seconds = time.perf_counter() - started
        jobs = index + 1

        started = time.perf_counter()
        scheduler.resume()
        if not all_done.wait(RUN_TIMEOUT_S):
            raise RuntimeError(f"only {executed} of {jobs} jobs ran in {RUN_TIMEOUT_S} s")
        execute_seconds = time.perf_counter() - started
        leftover = len(scheduler.get_jobs())
    finally:
        if scheduler.running:
            scheduler.shutdown()
        backend.cleanup()
    if leftover or executed != jobs:
        raise RuntimeError(f"{executed} executions for {jobs} jobs, {leftover} jobs left")
    return {
        "jobs": jobs,
        "adds_per_s": jobs / add_seconds,
        "executions_per_s": jobs / execute_seconds,
    }


def main() -> None:
    args = parse_args()
    jobs = JOBS_QUICK if args.quick else JOBS_FULL
    repetitions = REPETITIONS_QUICK if args.quick else REPETITIONS_FULL
    libraries = load_libraries()
    quartzite, apscheduler = libraries
    report = Report(
        "bench_stores",
        f"persistent stores: add {jobs:,} due date jobs, then run them (DebugExecutor)",
        args.quick,
    )
    report.header(libraries)

    backends: list[tuple[Backend, list[Library]]] = []
    for name in args.only.split(","):
        if name not in ("sqlite", "postgresql", "redis"):
            raise SystemExit(f"unknown backend {name!r} (choose from sqlite, postgresql, redis)")
        reason = available(name)
        if reason:
            print(f"\n{name}: skipped ({reason})")
            continue
        backends.append((Backend(name), libraries))
        if name == "sqlite":
            backends.append((Backend(name, "engine="), [quartzite]))

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for backend, backend_libraries in backends:
            best: dict[str, dict[str, float]] = {}
            for _repetition, library in interleaved(backend_libraries, repetitions):
                rates = run_once(library, backend, jobs, Path(tmp))
                previous = best.setdefault(library.name, rates)
                for key, value in rates.items():
                    previous[key] = max(previous[key], value)
            reference = best.get("apscheduler") or report.figures.get(backend.name, {}).get(
                "apscheduler"
            )
            for name, rates in best.items():
                label = quartzite.label if name == "quartzite" else apscheduler.label
                if backend.variant:
                    label += f", {backend.variant}"
                add_ratio = ratio(rates["adds_per_s"], reference["adds_per_s"])
                execute_ratio = ratio(rates["executions_per_s"], reference["executions_per_s"])
                rows.append(
                    [
                        backend.name,
                        label,
                        int(rates["jobs"]),
                        rates["adds_per_s"],
                        rates["executions_per_s"],
                        add_ratio if name == "quartzite" else None,
                        execute_ratio if name == "quartzite" else None,
                    ]
                )
                figures = report.figures.setdefault(backend.name, {})
                figures[f"{name}{', ' + backend.variant if backend.variant else ''}"] = {
                    **rates,
                    "add_ratio": add_ratio,
                    "execute_ratio": execute_ratio,
                }
            if backend.name == "sqlite" and not backend.variant:
                execute_ratio = ratio(
                    best["quartzite"]["executions_per_s"], reference["executions_per_s"]
                )
                report.target(
                    "SQLite: executing due jobs",
                    f">= {EXECUTE_RATIO_TARGET:g}x",
                    f"{execute_ratio:.1f}x",
                    execute_ratio >= EXECUTE_RATIO_TARGET,
                )
                report.target(
                    "SQLite: adds",
                    f">= {ADD_RATIO_TARGET:g}x",
                    f"{ratio(best['quartzite']['adds_per_s'], reference['adds_per_s']):.1f}x",
                    best["quartzite"]["adds_per_s"] >= ADD_RATIO_TARGET * reference["adds_per_s"],
                    "quartzite's default SQLite engine uses WAL, synchronous=NORMAL",
                )

    print_table(
        f"up to {jobs:,} date jobs, best of {repetitions} (rates: higher is better; "
        "ratio = quartzite / APScheduler)",
        ["backend", "library", "jobs", "adds/s", "executions/s", "adds ratio", "executions ratio"],
        rows,
    )
    report.finish(args.json)


if __name__ == "__main__":
    main()
