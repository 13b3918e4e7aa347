"""The Django app side by side with django-apscheduler 0.7 + APScheduler 3.11.2, on one server.

Workloads, per database (a SQLite file; PostgreSQL when it answers) and library:

- **add at start**: a ``BackgroundScheduler`` with the library's ``DjangoJobStore`` gets N
  ``add_job`` calls before ``start(paused=True)`` (interval jobs, one hour apart, first run one
  second ago), the pattern of django-apscheduler's documentation and of ``jobs.py``; the time
  runs until ``start()`` returns; adds/s.
- **add one by one**: the started (paused) scheduler gets N more ``add_job`` calls (first run
  in an hour), each written before it returns, the pattern of a web request adding a job;
  adds/s.
- **execute**: the scheduler is resumed and the clock runs until the first N occurrences are
  recorded as executed in the library's ``DjangoJobExecution`` table (history recorded);
  executions/s.
  Interval jobs, because django-apscheduler deletes a date job's history with the job. Both
  libraries use a thread pool of 10 workers and ``misfire_grace_time=None``.

Each run is a fresh subprocess with its own Django configuration (only its app installed, its
own tables: a fresh SQLite file, or a fresh database on the PostgreSQL server, dropped after),
so the libraries never share a process or a table. Runs of the two libraries alternate.

Targets (issue 12): >= 5x django-apscheduler for execution, >= 2x for adds (reported for both
add workloads).

    python benchmarks/bench_django.py [--quick] [--jobs N] [--repeat R] [--only sqlite,postgresql]
        [--json PATH] [--profile]

``--profile`` also prints where quartzite's time goes (cProfile of its child process).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from _common import Report, median, print_table, ratio

JOBS_FULL = 2_000
JOBS_QUICK = 300
EXECUTE_TIMEOUT_S = 60.0
EXECUTE_RATIO_TARGET = 5.0
ADD_RATIO_TARGET = 2.0
PG_ADMIN = "host=127.0.0.1 port=5432 user=postgres dbname=test"
LABELS = {"quartzite": "quartzite", "django_apscheduler": "django-apscheduler"}


# --- the child: one library, one database --------------------------------------------------------


def _configure(library: str, backend: str, name: str, conn_max_age: int) -> None:
    import django
    from django.conf import settings

    if backend == "sqlite":
        database: dict[str, Any] = {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": name,
            "OPTIONS": {"timeout": 30},
        }
    else:
        database = {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": name,
            "USER": "postgres",
            "HOST": "127.0.0.1",
            "PORT": "5432",
        }
    database["CONN_MAX_AGE"] = conn_max_age
    app = "quartzite.contrib.django" if library == "quartzite" else "django_apscheduler"
    settings.configure(
        USE_TZ=True,
        TIME_ZONE="UTC",
        DATABASES={"default": database},
        INSTALLED_APPS=["django.contrib.contenttypes", app],
        DEFAULT_AUTO_FIELD="django.db.models.AutoField",
        LOGGING_CONFIG=None,
    )
    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def child(
    library: str, backend: str, name: str, jobs: int, profile: bool, conn_max_age: int = 0
) -> dict[str, Any]:
    """Run both workloads for ``library`` on the database ``name``; return the figures."""
    import logging
    from datetime import datetime, timedelta, timezone

    logging.disable(logging.WARNING)  # the figures only: no per-run log lines
    _configure(library, backend, name, conn_max_age)
    if library == "quartzite":
        from quartzite.contrib.django.jobstores import DjangoJobStore
        from quartzite.contrib.django.models import DjangoJobExecution
        from quartzite.executors.pool import ThreadPoolExecutor
        from quartzite.schedulers.background import BackgroundScheduler

        store = DjangoJobStore(poll_interval=1.0, max_runs_per_job=10)
    else:
        from apscheduler.executors.pool import ThreadPoolExecutor
        from apscheduler.schedulers.background import BackgroundScheduler
        from django_apscheduler.jobstores import DjangoJobStore
        from django_apscheduler.models import DjangoJobExecution

        store = DjangoJobStore()

    profiler = None
    if profile:
        import cProfile

        profiler = cProfile.Profile()
    scheduler = BackgroundScheduler(
        timezone="UTC",
        executors={"default": ThreadPoolExecutor(10)},
        job_defaults={"misfire_grace_time": None, "coalesce": True},
    )
    scheduler.add_jobstore(store, "default")
    first = datetime.now(timezone.utc) - timedelta(seconds=1)
    later = first + timedelta(hours=1)

    if profiler:
        profiler.enable()
    began = time.perf_counter()
    for index in range(jobs):
        scheduler.add_job(
            "_common:noop", "interval", hours=1, next_run_time=first, id=f"job-{index}"
        )
    scheduler.start(paused=True)
    add_start_seconds = time.perf_counter() - began

    began = time.perf_counter()
    for index in range(jobs):
        scheduler.add_job(
            "_common:noop", "interval", hours=1, next_run_time=later, id=f"late-{index}"
        )
    add_seconds = time.perf_counter() - began

    executed = DjangoJobExecution.objects.filter(status=DjangoJobExecution.SUCCESS)
    began = time.perf_counter()
    scheduler.resume()
    deadline = began + EXECUTE_TIMEOUT_S
    recorded = 0
    while time.perf_counter() < deadline:
        recorded = executed.count()
        if recorded >= jobs:
            break
        time.sleep(0.02)
    execute_seconds = time.perf_counter() - began
    if profiler:
        profiler.disable()
    scheduler.shutdown()
    figures: dict[str, Any] = {
        "add_start_s": add_start_seconds,
        "add_s": add_seconds,
        "execute_s": execute_seconds,
        "recorded": recorded,
        "statuses": dict(
            DjangoJobExecution.objects.values_list("status").annotate(n=_count()).order_by()
        ),
    }
    if profiler:
        import io
        import pstats

        text = io.StringIO()
        pstats.Stats(profiler, stream=text).sort_stats("cumulative").print_stats(30)
        figures["profile"] = text.getvalue()
    return figures


def _count() -> Any:
    from django.db.models import Count

    return Count("id")


# --- the parent: databases, subprocesses, tables ----------------------------------------------


def _pg_execute(sql: str) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=3) as connection:
        connection.execute(sql)


def postgresql_available() -> str | None:
    """``None`` when the server answers, else why not."""
    try:
        _pg_execute("SELECT 1")
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


def run_child(
    library: str, backend: str, jobs: int, profile: bool, conn_max_age: int
) -> dict[str, Any]:
    """One fresh database, one subprocess; the database is removed afterwards."""
    directory = tempfile.mkdtemp(prefix="qz_bench_dj_")
    if backend == "sqlite":
        name = str(Path(directory) / f"{library}.sqlite3")
    else:
        name = f"qz_bench_dj_{uuid.uuid4().hex[:10]}"
        _pg_execute(f'CREATE DATABASE "{name}"')
    command = [sys.executable, __file__, "--child", library, backend, name, str(jobs)]
    command += ["--conn-max-age", str(conn_max_age)]
    if profile:
        command.append("--profile")
    try:
        result = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=EXECUTE_TIMEOUT_S + 300,
            cwd=Path(__file__).parent,
        )
    finally:
        if backend == "postgresql":
            _pg_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        for leftover in Path(directory).glob("*"):
            leftover.unlink()
        os.rmdir(directory)
    if result.returncode != 0:
        raise RuntimeError(f"{library} on {backend} failed:\n{result.stderr[-3000:]}")
    figures: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return figures


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=f"{JOBS_QUICK} jobs")
    parser.add_argument("--jobs", type=int, help=f"jobs per run (default {JOBS_FULL})")
    parser.add_argument("--repeat", type=int, default=1, help="runs per library and database")
    parser.add_argument("--only", default="sqlite,postgresql", help="databases to run")
    parser.add_argument("--json", metavar="PATH", type=Path, help="write the figures here")
    parser.add_argument("--profile", action="store_true", help="profile quartzite's child")
    parser.add_argument(
        "--conn-max-age",
        type=int,
        default=0,
        help="Django's CONN_MAX_AGE for both libraries (default 0, Django's: a connection per "
        "request; quartzite's worker threads then reconnect after each job)",
    )
    parser.add_argument(
        "--child", nargs=4, metavar=("LIB", "DB", "NAME", "JOBS"), help=argparse.SUPPRESS
    )
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    if args.child:
        library, backend, name, jobs = args.child
        figures = child(library, backend, name, int(jobs), args.profile, args.conn_max_age)
        print(json.dumps(figures))
        return

    jobs = args.jobs or (JOBS_QUICK if args.quick else JOBS_FULL)
    report = Report("bench_django", f"{jobs} jobs: add, then execute with history", args.quick)
    versions = {}
    for distribution in ("quartzite", "django-apscheduler", "APScheduler", "Django"):
        from importlib.metadata import version

        versions[distribution] = version(distribution)
    print(f"=== bench_django: add {jobs} jobs, then execute them with history recorded")
    print(f"CONN_MAX_AGE={args.conn_max_age}")
    print("versions: " + ", ".join(f"{name} {number}" for name, number in versions.items()))
    backends = [name for name in args.only.split(",") if name]
    if "postgresql" in backends and (why := postgresql_available()):
        print(f"PostgreSQL skipped: {why}")
        backends.remove("postgresql")

    rows = []
    for backend in backends:
        runs: dict[str, list[dict[str, Any]]] = {"quartzite": [], "django_apscheduler": []}
        for _repetition in range(args.repeat):
            for library in runs:  # alternating, so outside load hits both alike
                profile = args.profile and library == "quartzite"
                figures = run_child(library, backend, jobs, profile, args.conn_max_age)
                runs[library].append(figures)
                if "profile" in figures:
                    print(f"\n--- quartzite on {backend}: cProfile of add + execute")
                    print(figures.pop("profile"))
        best: dict[str, dict[str, float]] = {}
        for library, results in runs.items():
            rates = {
                "add_start": max(jobs / r["add_start_s"] for r in results),
                "add": max(jobs / r["add_s"] for r in results),
                "execute": max(r["recorded"] / r["execute_s"] for r in results),
            }
            best[library] = rates
            recorded = min(r["recorded"] for r in results)
            rows.append(
                [
                    backend,
                    LABELS[library],
                    rates["add_start"],
                    rates["add"],
                    rates["execute"],
                    median([r["execute_s"] for r in results]),
                    f"{recorded}/{jobs}",
                    json.dumps(results[-1]["statuses"], sort_keys=True),
                ]
            )
        ratios = {
            name: ratio(best["quartzite"][name], best["django_apscheduler"][name])
            for name in ("add_start", "add", "execute")
        }
        label = "ratio quartzite/dja"
        rows.append([backend, label, ratios["add_start"], ratios["add"], ratios["execute"]])
        rows[-1] += [None, "", ""]
        report.figures[backend] = {"runs": runs, "ratios": ratios}
        for name, label, target in (
            ("add_start", "adds at start", ADD_RATIO_TARGET),
            ("add", "adds one by one", ADD_RATIO_TARGET),
            ("execute", "executions with history", EXECUTE_RATIO_TARGET),
        ):
            report.target(
                f"{backend}: {label}",
                f">= {target:g}x",
                f"{ratios[name]:.2f}x",
                ratios[name] >= target,
            )
    print_table(
        "Rates (best of the runs; higher is better) and times (median, seconds)",
        [
            "database",
            "library",
            "adds/s at start",
            "adds/s one by one",
            "exec/s",
            "exec s",
            "recorded",
            "statuses",
        ],
        rows,
    )
    report.finish(args.json)


if __name__ == "__main__":
    main()
