"""What the cluster tests share: a store description every process can rebuild, the worker
processes, and the ledger they write.

A :class:`Backend` names one fresh table (or set of Redis keys) on one server; it is plain data,
so it crosses process boundaries (``multiprocessing`` pickles it, ``worker.py`` gets it as
command-line arguments), and every process builds its own store on the same table or keys.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

WORKER = Path(__file__).resolve().parent / "worker.py"
#: the kinds of shared store the cluster tests run on
KINDS = ("sqlite_file", "postgresql", "mariadb", "redis")
#: how long anything that should take a second or two may take on a loaded machine
PATIENCE = 60.0


@dataclass(frozen=True)
class Backend:
    """One shared store: a table on a SQL server, or a key prefix on Redis."""

    kind: str
    url: str | None = None
    table: str | None = None
    host: str | None = None
    port: int | None = None
    prefix: str | None = None

    @property
    def jobs_key(self) -> str:
        return f"{self.prefix}.jobs"

    @property
    def run_times_key(self) -> str:
        return f"{self.prefix}.run_times"

    def create_store(self, **options: Any) -> Any:
        """A new quartzite store on this backend (not started)."""
        options.setdefault("max_runs_per_job", 100_000)
        if self.kind == "redis":
            from quartzite.jobstores.redis import RedisJobStore

            return RedisJobStore(
                jobs_key=self.jobs_key,
                run_times_key=self.run_times_key,
                host=self.host,
                port=self.port,
                **options,
            )
        from quartzite.jobstores.sqlalchemy import SQLAlchemyJobStore

        return SQLAlchemyJobStore(self.url, tablename=str(self.table), **options)

    def worker_args(self) -> list[str]:
        """The ``worker.py`` arguments that select this backend."""
        if self.kind == "redis":
            return [
                "--store",
                "redis",
                "--key",
                str(self.prefix),
                "--host",
                str(self.host),
                "--port",
                str(self.port),
            ]
        return ["--store", self.kind, "--url", str(self.url), "--table", str(self.table)]

    def cleanup(self) -> None:
        """Remove every table or key of this backend (whatever names the store gave them)."""
        if self.kind == "redis":
            from redis import Redis

            client = Redis(host=self.host or "127.0.0.1", port=self.port or 6379)
            try:
                keys = list(client.scan_iter(match=f"{self.prefix}*", count=1000))
                if keys:
                    client.delete(*keys)
            finally:
                client.close()
            return
        from sqlalchemy import MetaData, create_engine, inspect

        engine = create_engine(str(self.url))
        try:
            names = [
                name
                for name in inspect(engine).get_table_names()
                if name == self.table or name.startswith(f"{self.table}_")
            ]
            if names:
                metadata = MetaData()
                metadata.reflect(engine, only=names)
                metadata.drop_all(engine)  # in dependency order
        finally:
            engine.dispose()


# --- the ledger ----------------------------------------------------------------------------------


def occurrence_key(job_id: str, timestamp: float) -> tuple[str, float]:
    """How the ledger and the run records name one occurrence (millisecond precision, so that
    a timestamp that went through a database float still matches)."""
    return job_id, round(timestamp, 3)


@dataclass
class Ledger:
    """The lines every process of one test appended to one file (see ``cluster/jobs.py``)."""

    path: Path
    lines: list[list[str]] = field(default_factory=list)

    def read(self) -> Ledger:
        """Re-read the file (a half-written last line, from a SIGKILL, is left out)."""
        text = self.path.read_text() if self.path.exists() else ""
        complete = [line for line in text.splitlines(keepends=True) if line.endswith("\n")]
        self.lines = [line.split() for line in complete]
        return self

    def of(self, kind: str) -> list[list[str]]:
        return [line for line in self.lines if line and line[0] == kind]

    def runs(self, kind: str = "start") -> dict[tuple[str, float], list[int]]:
        """Occurrence -> the pids that wrote a ``kind`` line (``start`` or ``end``) for it."""
        found: dict[tuple[str, float], list[int]] = defaultdict(list)
        for _, job_id, scheduled, pid, *_ in self.of(kind):
            found[occurrence_key(job_id, float(scheduled))].append(int(pid))
        return found

    def wait_for(
        self, predicate: Callable[[Ledger], bool], what: str, timeout: float = PATIENCE
    ) -> None:
        """Re-read the file until ``predicate(self)`` holds.

        :raises AssertionError: when it does not within ``timeout`` seconds
        """
        deadline = time.monotonic() + timeout
        while not predicate(self.read()):
            if time.monotonic() > deadline:
                raise AssertionError(f"waited {timeout} s for {what}; ledger:\n{self.tail()}")
            time.sleep(0.05)

    def tail(self, count: int = 20) -> str:
        return "\n".join(" ".join(line) for line in self.lines[-count:])


# --- worker processes ----------------------------------------------------------------------------


@dataclass
class Worker:
    number: int
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        return self.process.pid


class Workers:
    """Scheduler processes (``worker.py``) sharing one backend and one ledger."""

    def __init__(self, backend: Backend, ledger: Ledger, logs: Path, *options: str) -> None:
        self.backend = backend
        self.ledger = ledger
        self.logs = logs
        self.options = list(options)
        self.current: dict[int, Worker] = {}
        self.killed: list[Worker] = []
        self.stopped: list[Worker] = []

    def start(self, number: int) -> Worker:
        """Start worker ``number`` (a new process, hence a new scheduler id)."""
        log = self.logs / f"worker-{number}-{len(self.killed)}-{time.monotonic_ns()}.log"
        command = [sys.executable, str(WORKER), *self.backend.worker_args()]
        command += ["--ledger", str(self.ledger.path), "--id", str(number), *self.options]
        with open(log, "wb") as output:
            process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT)
        worker = self.current[number] = Worker(number, process, log)
        return worker

    def start_all(self, count: int) -> None:
        """Start workers ``0 .. count-1`` and wait until every one says it is ready."""
        for number in range(count):
            self.start(number)
        self.wait_ready()

    def wait_ready(self) -> None:
        """Wait until every current worker has written its ``ready`` line."""
        pids = {worker.pid for worker in self.current.values()}

        def ready(ledger: Ledger) -> bool:
            self.check_alive()
            return pids <= {int(line[2]) for line in ledger.of("ready")}

        self.ledger.wait_for(ready, "the workers to start")

    def check_alive(self) -> None:
        """Fail (with the worker's log) if a current worker has exited on its own."""
        for worker in self.current.values():
            if worker.process.poll() is not None:
                raise AssertionError(
                    f"worker {worker.number} (pid {worker.pid}) exited with "
                    f"{worker.process.returncode}:\n{worker.log.read_text()[-3000:]}"
                )

    def kill(self, number: int) -> Worker:
        """SIGKILL worker ``number`` and wait for it to be gone."""
        worker = self.current.pop(number)
        worker.process.send_signal(signal.SIGKILL)
        worker.process.wait(PATIENCE)
        self.killed.append(worker)
        return worker

    def stop_all(self) -> None:
        """SIGTERM every worker (a clean shutdown that waits for the runs), then check that each
        exited normally."""
        workers = list(self.current.values())
        self.check_alive()
        for worker in workers:
            worker.process.send_signal(signal.SIGTERM)
        problems = []
        for worker in workers:
            try:
                code = worker.process.wait(PATIENCE)
            except subprocess.TimeoutExpired:
                worker.process.kill()
                worker.process.wait()
                code = None
            if code != 0:
                problems.append(
                    f"worker {worker.number} (pid {worker.pid}) ended with {code}:\n"
                    f"{worker.log.read_text()[-3000:]}"
                )
            self.stopped.append(worker)
        self.current.clear()
        if problems:
            raise AssertionError("\n".join(problems))

    def kill_all(self) -> None:
        """End whatever is still running (cleanup after a failure)."""
        for worker in self.current.values():
            if worker.process.poll() is None:
                worker.process.kill()
                worker.process.wait()
        self.current.clear()

    def logs_text(self) -> str:
        """Every worker's log, for a failure message."""
        parts = []
        for worker in [*self.killed, *self.stopped, *self.current.values()]:
            text = worker.log.read_text() if worker.log.exists() else ""
            if text.strip():
                parts.append(f"--- worker {worker.number} (pid {worker.pid})\n{text[-2000:]}")
        return "\n".join(parts)


def pid_of(scheduler_id: str | None) -> int | None:
    """The pid in a worker's scheduler id (``w<N>-<pid>``)."""
    if not scheduler_id or not scheduler_id.startswith("w"):
        return None
    return int(scheduler_id.rsplit("-", 1)[1])


def wait_until(predicate: Callable[[], bool], what: str, timeout: float = PATIENCE) -> None:
    """Poll ``predicate`` until it holds; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {timeout} s for {what}")
        time.sleep(0.05)


# --- concurrent start ----------------------------------------------------------------------------


def add_same_jobs(
    backend: Backend,
    number: int,
    job_ids: list[str],
    start_together: Any,
    first_round_done: Any,
    second_round_go: Any,
    results: Any,
) -> None:
    """One process of the concurrent-start test (run with ``multiprocessing``, spawn).

    Waits for the others at ``start_together``, starts a scheduler (paused: nothing runs, so
    the stored next run times only change through ``add_job``) on the fresh backend and adds
    every job of ``job_ids`` with ``replace_existing=True``, in its own order; then, between the
    two other barriers (the test reads the stored jobs meanwhile), adds them all once more.
    Puts ``(number, "ok", {job_id: next_run_time returned by the first add})`` or
    ``(number, "error", traceback)`` on ``results``.
    """
    import random
    import traceback

    from quartzite.schedulers.background import BackgroundScheduler

    from . import jobs

    scheduler = None
    try:
        order = list(job_ids)
        random.Random(number).shuffle(order)
        scheduler = BackgroundScheduler(
            timezone="UTC", jobstores={"default": backend.create_store()}
        )
        start_together.wait(PATIENCE)
        scheduler.start(paused=True)
        returned = {}
        for job_id in order:
            job = scheduler.add_job(
                jobs.noop, "interval", seconds=5, id=job_id, replace_existing=True
            )
            assert job.next_run_time is not None
            returned[job_id] = job.next_run_time.timestamp()
        first_round_done.wait(PATIENCE)
        second_round_go.wait(PATIENCE)
        for job_id in reversed(order):
            scheduler.add_job(jobs.noop, "interval", seconds=5, id=job_id, replace_existing=True)
        scheduler.shutdown()
        scheduler = None
        results.put((number, "ok", returned))
    except BaseException:
        results.put((number, "error", traceback.format_exc()))
        for barrier in (start_together, first_round_done, second_round_go):
            barrier.abort()  # the others fail fast instead of waiting for this one
    finally:
        if scheduler is not None and scheduler.running:
            scheduler.shutdown(wait=False)
