"""Several schedulers, one store: throughput on 20,000 due jobs, and the idle CPU of a cluster.

Throughput. A fresh table on PostgreSQL and on a SQLite file is filled with N interval jobs
(``interval`` of one day, a trivial function, ``next_run_time`` one minute in the past: all due at
once), written in bulk through the store's own table and serializer, so filling is not timed.
Then, in fresh processes (``multiprocessing``, spawn), each with a ``BackgroundScheduler``, a
``ThreadPoolExecutor(20)`` and ``misfire_grace_time=None``:

- quartzite, 1 scheduler process;
- quartzite, 3 scheduler processes sharing the table (each occurrence must run exactly once:
  the sum of their ``EVENT_JOB_EXECUTED`` events must be exactly N);
- APScheduler 3.11.2, 1 scheduler process, on its own table of the same backend.

The processes build their scheduler, meet at a barrier, and start; the clock runs from the barrier
until N executions have been counted (each process publishes its count every 20 ms). Reported:
occurrences per second, and the ratios 3 processes / 1 process (target >= 0.9x: sharing costs
little) and quartzite / APScheduler (target >= 10x). APScheduler stops after a time budget; its
rate is then taken over what it ran in that time.

Idle CPU. 3 quartzite scheduler processes share a table holding 1,000 jobs due in a day (and, for
reference, 1 APScheduler process on its own such table); after they settle, the CPU time (user +
system) of each process is measured over 10 s of wall time: psutil when installed, else
``/proc/<pid>/stat``. quartzite's defaults apply (check-in every 10 s; SQLite polled every few
seconds; PostgreSQL woken by LISTEN/NOTIFY).

    python benchmarks/bench_cluster.py [--quick] [--json PATH] [--only sqlite,postgresql]

The other cluster benchmarks (``bench_history.py``, ``bench_wakeup.py``) import their helpers
from here.
"""

from __future__ import annotations

import argparse
import importlib
import multiprocessing
import os
import pickle
import tempfile
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from _common import Report, load_libraries, noop, print_table, ratio

JOBS_FULL = 20_000
JOBS_QUICK = 2_000
THREADS = 20
#: an APScheduler run that has not finished by then is cut short (its rate is what it ran)
RUN_BUDGET_S = 120.0
RUN_BUDGET_QUICK_S = 30.0
CLUSTER_SIZE = 3
IDLE_JOBS = 1_000
IDLE_SETTLE_S = 3.0
IDLE_SECONDS_FULL = 10.0
IDLE_SECONDS_QUICK = 3.0
PUBLISH_EVERY_S = 0.02

SHARED_RATIO_TARGET = 0.9
APSCHEDULER_RATIO_TARGET = 10.0

POSTGRESQL_URL = os.environ.get(
    "QUARTZITE_POSTGRESQL_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
MYSQL_URL = os.environ.get("QUARTZITE_MYSQL_URL", "mysql+pymysql://root@127.0.0.1:3306/test")
REDIS_HOST = os.environ.get("QUARTZITE_REDIS_HOST", "127.0.0.1")
REDIS_PORT = int(os.environ.get("QUARTZITE_REDIS_PORT", "6379"))

SPAWN = multiprocessing.get_context("spawn")


def parse_args(description: str, backends: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="smaller workloads (a smoke run)")
    parser.add_argument("--json", metavar="PATH", type=Path, help="write the figures here")
    parser.add_argument("--profile", action="store_true", help="(accepted; not used here)")
    parser.add_argument("--only", default=backends, help=f"comma-separated, from {backends}")
    return parser.parse_args()


# --- backends ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Backend:
    """One fresh table (SQL) or key prefix (Redis) for one library; plain data, so it crosses
    into the scheduler processes."""

    kind: str  # sqlite, postgresql, mariadb, redis, memory
    library: str  # quartzite or apscheduler
    url: str | None = None
    name: str = ""

    @classmethod
    def fresh(cls, kind: str, library: str, directory: Path) -> Backend:
        name = f"bench_{uuid.uuid4().hex[:10]}"
        urls = {
            "sqlite": f"sqlite:///{directory / name}.sqlite",
            "postgresql": POSTGRESQL_URL,
            "mariadb": MYSQL_URL,
        }
        return cls(kind, library, urls.get(kind), name)

    def create_store(self, **options: Any) -> Any:
        if self.kind == "memory":
            return importlib.import_module(f"{self.library}.jobstores.memory").MemoryJobStore(
                **options
            )
        if self.kind == "redis":
            module = importlib.import_module(f"{self.library}.jobstores.redis")
            return module.RedisJobStore(
                host=REDIS_HOST,
                port=REDIS_PORT,
                jobs_key=f"{self.name}.jobs",
                run_times_key=f"{self.name}.run_times",
                **options,
            )
        module = importlib.import_module(f"{self.library}.jobstores.sqlalchemy")
        return module.SQLAlchemyJobStore(url=self.url, tablename=self.name, **options)

    def cleanup(self) -> None:
        """Remove every table (or key) whose name starts with this backend's name."""
        if self.kind == "memory":
            return
        if self.kind == "redis":
            from redis import Redis

            client = Redis(host=REDIS_HOST, port=REDIS_PORT)
            keys = list(client.scan_iter(match=f"{self.name}*", count=1000))
            if keys:
                client.delete(*keys)
            client.close()
            return
        from sqlalchemy import MetaData, create_engine, inspect

        engine = create_engine(str(self.url))
        try:
            names = [n for n in inspect(engine).get_table_names() if n.startswith(self.name)]
            if names:
                metadata = MetaData()
                metadata.reflect(engine, only=names)
                metadata.drop_all(engine)
        finally:
            engine.dispose()


def unavailable(kind: str) -> str | None:
    """``None`` if the backend answers, else why not."""
    try:
        if kind in ("postgresql", "mariadb"):
            from sqlalchemy import create_engine, text

            url = POSTGRESQL_URL if kind == "postgresql" else MYSQL_URL
            engine = create_engine(url, connect_args={"connect_timeout": 3})
            with engine.connect() as connection:
                connection.execute(text("SELECT 1"))
            engine.dispose()
        elif kind == "redis":
            from redis import Redis

            Redis(host=REDIS_HOST, port=REDIS_PORT, socket_connect_timeout=3).ping()
        elif kind == "sqlite":
            importlib.import_module("sqlalchemy")
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


def fill(backend: Backend, count: int, next_run_time: datetime, **store_options: Any) -> None:
    """Write ``count`` interval jobs (1 day, ``noop``) due at ``next_run_time`` straight into
    the backend's jobs table, in one transaction: setting up is not what is measured."""
    library = backend.library
    job_class = importlib.import_module(f"{library}.job").Job
    trigger_class = importlib.import_module(f"{library}.triggers.interval").IntervalTrigger
    scheduler_class = importlib.import_module(f"{library}.schedulers.background")
    store = backend.create_store(**store_options)
    scheduler = scheduler_class.BackgroundScheduler(timezone="UTC")  # never started
    store.start(scheduler, "default")  # creates the tables
    trigger = trigger_class(days=1, timezone=timezone.utc)
    timestamp = next_run_time.timestamp()
    rows = []
    for index in range(count):
        job = job_class(
            scheduler,
            id=f"job{index}",
            func=noop,
            trigger=trigger,
            executor="default",
            args=(),
            kwargs={},
            name="noop",
            misfire_grace_time=None,
            coalesce=True,
            max_instances=1,
            next_run_time=next_run_time,
        )
        if library == "quartzite":
            state = store._serialize_job(job)
        else:
            state = pickle.dumps(job.__getstate__(), store.pickle_protocol)
        rows.append({"id": job.id, "next_run_time": timestamp, "job_state": state})
    from sqlalchemy import insert

    with store.engine.begin() as connection:
        for start in range(0, len(rows), 2000):
            connection.execute(insert(store.jobs_t), rows[start : start + 2000])
    store.shutdown()


# --- scheduler processes -------------------------------------------------------------------------


def scheduler_process(
    backend: Backend,
    slot: int,
    counts: Any,
    barrier: Any,
    stop: Any,
    options: dict[str, Any],
    store_options: dict[str, Any],
    prefill: int = 0,
) -> None:
    """Body of one scheduler process: build, meet the others at ``barrier``, start, publish the
    count of executed jobs in ``counts[slot]`` until ``stop`` is set, shut down cleanly.

    :param prefill: add this many due jobs through the (paused) scheduler before the barrier
        (for the memory store, which no other process can fill)
    """
    background = importlib.import_module(f"{backend.library}.schedulers.background")
    pool = importlib.import_module(f"{backend.library}.executors.pool")
    events = importlib.import_module(f"{backend.library}.events")
    executed: list[None] = []  # list.append is atomic: the pool's threads all report here
    scheduler = background.BackgroundScheduler(
        timezone="UTC",
        jobstores={"default": backend.create_store(**store_options)},
        executors={"default": pool.ThreadPoolExecutor(THREADS)},
        job_defaults={"misfire_grace_time": None},
        **options,
    )
    scheduler.add_listener(lambda event: executed.append(None), events.EVENT_JOB_EXECUTED)
    if prefill:
        scheduler.start(paused=True)
        due = datetime.now(timezone.utc) - timedelta(minutes=1)
        for index in range(prefill):
            scheduler.add_job(noop, "interval", days=1, id=f"job{index}", next_run_time=due)
    barrier.wait()
    if prefill:
        scheduler.resume()
    else:
        scheduler.start()
    while not stop.wait(PUBLISH_EVERY_S):
        counts[slot] = len(executed)
    scheduler.shutdown(wait=True)
    counts[slot] = len(executed)


class Cluster:
    """``size`` scheduler processes on one backend, started together."""

    def __init__(
        self,
        backend: Backend,
        size: int,
        options: dict[str, Any] | None = None,
        store_options: dict[str, Any] | None = None,
        prefill: int = 0,
    ) -> None:
        self.counts = SPAWN.Array("q", size)
        self.barrier = SPAWN.Barrier(size + 1)
        self.stop = SPAWN.Event()
        self.processes = [
            SPAWN.Process(
                target=scheduler_process,
                args=(
                    backend,
                    slot,
                    self.counts,
                    self.barrier,
                    self.stop,
                    options or {},
                    store_options or {},
                    prefill,
                ),
                daemon=True,
            )
            for slot in range(size)
        ]

    def start(self) -> float:
        """Start the processes; return the moment they were all built and released."""
        for process in self.processes:
            process.start()
        self.barrier.wait(120)
        return time.perf_counter()

    def executed(self) -> int:
        return sum(self.counts[:])

    def wait_for(self, count: int, budget: float) -> float:
        """Wait until ``count`` executions (or ``budget`` seconds); return when it ended."""
        deadline = time.perf_counter() + budget
        while self.executed() < count and time.perf_counter() < deadline:
            time.sleep(0.005)
        return time.perf_counter()

    def finish(self) -> int:
        """Shut every process down cleanly; return the final count of executions."""
        self.stop.set()
        for process in self.processes:
            process.join(120)
            if process.is_alive():
                process.kill()
        return self.executed()

    @property
    def pids(self) -> list[int]:
        return [process.pid for process in self.processes if process.pid is not None]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (psutil when installed, else ``/proc``)."""
    try:
        import psutil
    except ImportError:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        # utime and stime are fields 14 and 15 of the line, 12 and 13 after "(comm)"
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    times = psutil.Process(pid).cpu_times()
    return float(times.user + times.system)


# --- the measurements ----------------------------------------------------------------------------


def throughput(
    kind: str, library: str, size: int, jobs: int, budget: float, directory: Path
) -> dict[str, Any]:
    backend = Backend.fresh(kind, library, directory)
    try:
        fill(backend, jobs, datetime.now(timezone.utc) - timedelta(minutes=1))
        cluster = Cluster(backend, size)
        started = cluster.start()
        ended = cluster.wait_for(jobs, budget)
        reached = cluster.executed()
        final = cluster.finish()
    finally:
        backend.cleanup()
    seconds = ended - started
    return {
        "processes": size,
        "executed": final,
        "seconds": seconds,
        "rate": min(reached, jobs) / seconds,
        "complete": reached >= jobs,
    }


def idle_cpu(kind: str, library: str, size: int, seconds: float, directory: Path) -> list[float]:
    """CPU seconds per wall second of each of ``size`` idle scheduler processes."""
    backend = Backend.fresh(kind, library, directory)
    try:
        fill(backend, IDLE_JOBS, datetime.now(timezone.utc) + timedelta(days=1))
        cluster = Cluster(backend, size)
        cluster.start()
        time.sleep(IDLE_SETTLE_S)
        before = [cpu_seconds(pid) for pid in cluster.pids]
        wall = time.perf_counter()
        time.sleep(seconds)
        wall = time.perf_counter() - wall
        after = [cpu_seconds(pid) for pid in cluster.pids]
        cluster.finish()
    finally:
        backend.cleanup()
    return [(end - start) / wall for start, end in zip(before, after)]


def main() -> None:
    args = parse_args(__doc__.splitlines()[0], "sqlite,postgresql")
    jobs = JOBS_QUICK if args.quick else JOBS_FULL
    budget = RUN_BUDGET_QUICK_S if args.quick else RUN_BUDGET_S
    idle_seconds = IDLE_SECONDS_QUICK if args.quick else IDLE_SECONDS_FULL
    libraries = load_libraries()
    report = Report(
        "bench_cluster",
        f"{jobs:,} due jobs by 1 and {CLUSTER_SIZE} quartzite processes and by APScheduler; "
        "idle CPU of a cluster",
        args.quick,
    )
    report.header(libraries)
    kinds = select_kinds(args.only, ("sqlite", "postgresql"))

    rows: list[Sequence[Any]] = []
    idle_rows: list[Sequence[Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for kind in kinds:
            results = {
                "quartzite x1": throughput(kind, "quartzite", 1, jobs, budget, Path(tmp)),
                f"quartzite x{CLUSTER_SIZE}": throughput(
                    kind, "quartzite", CLUSTER_SIZE, jobs, budget, Path(tmp)
                ),
                "APScheduler x1": throughput(kind, "apscheduler", 1, jobs, budget, Path(tmp)),
            }
            report.figures.setdefault(kind, {})["throughput"] = results
            single = results["quartzite x1"]["rate"]
            shared = results[f"quartzite x{CLUSTER_SIZE}"]
            reference = results["APScheduler x1"]["rate"]
            for label, result in results.items():
                rows.append(
                    [
                        kind,
                        label,
                        result["executed"],
                        result["seconds"],
                        result["rate"],
                        ratio(result["rate"], single),
                        ratio(result["rate"], reference),
                    ]
                )
            exact = shared["executed"] == jobs and results["quartzite x1"]["executed"] == jobs
            report.target(
                f"{kind}: {CLUSTER_SIZE} processes vs 1",
                f">= {SHARED_RATIO_TARGET:g}x",
                f"{ratio(shared['rate'], single):.2f}x",
                ratio(shared["rate"], single) >= SHARED_RATIO_TARGET,
            )
            report.target(
                f"{kind}: each occurrence run exactly once by the cluster",
                f"{jobs:,} executions",
                f"{shared['executed']:,}",
                exact,
            )
            report.target(
                f"{kind}: quartzite (1 process) vs APScheduler",
                f">= {APSCHEDULER_RATIO_TARGET:g}x",
                f"{ratio(single, reference):.1f}x",
                ratio(single, reference) >= APSCHEDULER_RATIO_TARGET,
                "" if results["APScheduler x1"]["complete"] else f"APScheduler cut at {budget:g} s",
            )

            idle = {
                f"quartzite x{CLUSTER_SIZE}": idle_cpu(
                    kind, "quartzite", CLUSTER_SIZE, idle_seconds, Path(tmp)
                ),
                "APScheduler x1": idle_cpu(kind, "apscheduler", 1, idle_seconds, Path(tmp)),
            }
            report.figures[kind]["idle_cpu_per_wall_s"] = idle
            for label, per_process in idle.items():
                idle_rows.append([kind, label, max(per_process) * 100, sum(per_process) * 100])

    print_table(
        f"{jobs:,} due jobs (ThreadPoolExecutor({THREADS}); rate: higher is better)",
        [
            "backend",
            "schedulers",
            "executed",
            "seconds",
            "occurrences/s",
            "vs quartzite x1",
            "vs APScheduler",
        ],
        rows,
    )
    print_table(
        f"idle, {IDLE_JOBS:,} jobs due in a day, CPU over {idle_seconds:g} s (lower is better)",
        ["backend", "schedulers", "busiest process %CPU", "all processes %CPU"],
        idle_rows,
    )
    report.finish(args.json)


def select_kinds(only: str, known: Sequence[str]) -> list[str]:
    """The backends asked for that answer (the others are reported as skipped)."""
    kinds = []
    for kind in only.split(","):
        if kind not in known:
            raise SystemExit(f"unknown backend {kind!r} (choose from {', '.join(known)})")
        reason = unavailable(kind)
        if reason:
            print(f"\n{kind}: skipped ({reason})")
        else:
            kinds.append(kind)
    return kinds


if __name__ == "__main__":
    main()
