"""Fixtures of the command-line tests: the program, and stores filled by a real scheduler.

``backend`` is a fresh store of one kind (a SQLite file, PostgreSQL or Redis) on its own table or
keys, removed after the test; the server fixtures are the job store tests' own, so these tests
skip without a server, and fail instead under ``QUARTZITE_REQUIRE_SERVICES=1``.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import pytest

from jobstores.conftest import postgresql_url, redis_options, unique_name
from quartzite.jobstores.base import BaseJobStore
from quartzite.schedulers.background import BackgroundScheduler

__all__ = ["postgresql_url", "redis_options"]  # re-exported fixtures

TESTS_DIR = Path(__file__).resolve().parent.parent
BACKENDS = ["sqlite", "postgresql", "redis"]


def cli_env(**extra: str) -> dict[str, str]:
    """The environment of a command: the job functions importable, a fixed zone, no colour
    variables of the developer's shell."""
    env = {key: value for key, value in os.environ.items() if key != "NO_COLOR"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(TESTS_DIR), env.get("PYTHONPATH")]))
    env["TZ"] = "Europe/Berlin"
    env.update(extra)
    return env


def run_cli(
    *args: str, timeout: float = 60, env: dict[str, str] | None = None, **kwargs: Any
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m quartzite ARGS`` to its end (stdin is empty, not a terminal)."""
    return subprocess.run(
        [sys.executable, "-m", "quartzite", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env or cli_env(),
        stdin=subprocess.DEVNULL,
        **kwargs,
    )


def assert_error(result: subprocess.CompletedProcess[str], status: int, *fragments: str) -> None:
    """The command failed with ``status`` and one line on stderr holding every fragment."""
    assert result.returncode == status, (result.returncode, result.stdout, result.stderr)
    assert result.stderr.startswith("quartzite: error: "), result.stderr
    assert result.stderr.count("\n") == 1, result.stderr
    for fragment in fragments:
        assert fragment in result.stderr, (fragment, result.stderr)


@dataclass
class Backend:
    """A store of one kind on names of its own: how the command line names it, and how to
    build it in the test process."""

    kind: str
    cli_args: list[str]
    make_store: Callable[[], BaseJobStore]
    stores: list[BaseJobStore] = field(default_factory=list)

    def store(self) -> BaseJobStore:
        """A new store object on the backend (closed by the scheduler it is given to)."""
        store = self.make_store()
        self.stores.append(store)
        return store

    def scheduler(self) -> BackgroundScheduler:
        """A scheduler on this store (not started)."""
        return BackgroundScheduler(timezone="Europe/Berlin", jobstores={"default": self.store()})

    def cli(self, *args: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
        """Run a command on this store (the store options after the command's own)."""
        return run_cli(*args, *self.cli_args, **kwargs)


def _drop_sql(url: str, table: str) -> None:
    from quartzite.jobstores.sqlalchemy import SQLAlchemyJobStore

    store = SQLAlchemyJobStore(url, tablename=table)
    try:
        store.jobs_t.metadata.drop_all(store.engine, tables=store.tables, checkfirst=True)
    finally:
        store.engine.dispose()


def _delete_redis_keys(options: dict[str, Any], prefix: str) -> None:
    from redis import Redis

    client = Redis(**options)
    try:
        keys = list(client.scan_iter(match=f"{prefix}.*", count=1000))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    """A fresh, empty store of each kind."""
    name = unique_name("qzcli")
    cleanup: Callable[[], None]
    if request.param in ("sqlite", "postgresql"):
        from quartzite.jobstores.sqlalchemy import SQLAlchemyJobStore

        if request.param == "sqlite":
            path = tmp_path / f"{name}.sqlite"
            url = cli_url = f"sqlite:///{path}"
        else:
            url = request.getfixturevalue("postgresql_url")
            # the command line's own form: no driver in the URL
            cli_url = re.sub(r"^postgresql\+psycopg:", "postgresql:", url)

        def make() -> BaseJobStore:
            # (a short poll so a SQLite scheduler of the test sees run-now requests soon)
            return SQLAlchemyJobStore(url, tablename=name, poll_interval=0.5)

        backend = Backend(request.param, ["--store", cli_url, "--table", name], make)

        def cleanup() -> None:
            _drop_sql(url, name)
    else:
        from quartzite.jobstores.redis import RedisJobStore

        options = request.getfixturevalue("redis_options")
        keys = {"jobs_key": f"{name}.jobs", "run_times_key": f"{name}.run_times"}

        def make() -> BaseJobStore:
            return RedisJobStore(**options, **keys)

        cli_url = f"redis://{options['host']}:{options['port']}/0"
        args = ["--store", cli_url, "--jobs-key", keys["jobs_key"]]
        args += ["--run-times-key", keys["run_times_key"]]
        backend = Backend("redis", args, make)

        def cleanup() -> None:
            _delete_redis_keys(options, name)

    try:
        yield backend
    finally:
        cleanup()


def wait_for_runs(
    scheduler: BackgroundScheduler, job_id: str, count: int, timeout: float = 20
) -> list[Any]:
    """Wait until ``job_id`` has ``count`` finished run records; return them."""
    deadline = time.monotonic() + timeout
    while True:
        runs = [run for run in scheduler.get_job_runs(job_id) if run.status.finished]
        if len(runs) >= count:
            return runs
        assert time.monotonic() < deadline, f"{job_id}: {len(runs)} finished runs"
        time.sleep(0.05)


@pytest.fixture
def filled(backend: Backend) -> Backend:
    """The store with four jobs (one paused), and a run of two of them: ``ok`` succeeded and
    ``fail`` failed (run with a started scheduler, so the records are real)."""
    scheduler = backend.scheduler()
    scheduler.add_job(
        "cli.jobfuncs:ok", "interval", minutes=30, id="ok", name="ok job", args=[1, 2],
        kwargs={"a": 1},
    )  # fmt: skip
    scheduler.add_job("cli.jobfuncs:fail", "interval", minutes=30, id="fail")
    scheduler.add_job("cli.jobfuncs:ok", "cron", day_of_week="mon-fri", hour=9, id="morning")
    scheduler.add_job("cli.jobfuncs:ok", "interval", hours=1, id="sleeper", next_run_time=None)
    scheduler.start()
    try:
        scheduler.run_job_now("ok")
        scheduler.run_job_now("fail")
        wait_for_runs(scheduler, "ok", 1)
        wait_for_runs(scheduler, "fail", 1)
    finally:
        scheduler.shutdown()
    return backend
