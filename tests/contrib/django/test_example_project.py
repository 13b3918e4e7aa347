"""The example project (``examples/django``) works as its README says: ``migrate``, then
``runscheduler``, which registers the jobs of ``reports/jobs.py`` and runs what is asked of it;
SIGTERM stops it cleanly. It runs in child processes, on a copy of the project with its own
SQLite file, never on the test databases."""

from __future__ import annotations

import os
import queue
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "django"
TIMEOUT = 60.0


def _manage(project: Path, *args: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env=_env(),
        **kwargs,  # type: ignore[call-overload]
    )


def _env() -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("DJANGO_")}
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _rows(database: Path, query: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=10) as connection:
        return connection.execute(query).fetchall()


def _until(condition: object, what: str) -> None:
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def test_migrate_then_runscheduler(tmp_path: Path) -> None:
    project = tmp_path / "example"
    shutil.copytree(EXAMPLE, project, ignore=shutil.ignore_patterns("db.sqlite3*", "__pycache__"))
    database = project / "db.sqlite3"

    migrated = _manage(project, "migrate", "--no-input")
    assert migrated.returncode == 0, migrated.stderr

    child = subprocess.Popen(
        [sys.executable, "manage.py", "runscheduler"],
        cwd=project,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=_env(),
    )
    lines: queue.Queue[str] = queue.Queue()
    output: list[str] = []
    reader = threading.Thread(target=lambda: [lines.put(line) for line in child.stdout or ()])
    reader.start()
    try:
        _until(
            lambda: (
                {row[0] for row in _rows(database, "SELECT id FROM quartzite_djangojob")}
                == {"heartbeat", "nightly-user-count"}
            ),
            "runscheduler to register the two jobs of reports/jobs.py",
        )
        # Ask for a run now, from another process, as the admin would.
        asked = _manage(
            project,
            "shell",
            "-c",
            "from datetime import datetime, timezone; "
            "from quartzite.contrib.django.jobstores import DjangoJobStore; "
            "store = DjangoJobStore(); store.start(None, 'default'); "
            "store.request_run('nightly-user-count', datetime.now(timezone.utc))",
        )
        assert asked.returncode == 0, asked.stderr

        def ran() -> bool:
            while not lines.empty():
                output.append(lines.get())
            return any("0 user(s)" in line for line in output)

        _until(ran, "the scheduler to run the job asked for (poll interval 2 s)")
        _until(
            lambda: (
                _rows(
                    database,
                    "SELECT status FROM quartzite_djangojobexecution "
                    "WHERE job_id = 'nightly-user-count'",
                )
                == [("Executed",)]
            ),
            "the run's record",
        )
    finally:
        child.send_signal(signal.SIGTERM)
        try:
            code = child.wait(TIMEOUT)
        finally:
            child.kill()
            reader.join(TIMEOUT)
    while not lines.empty():
        output.append(lines.get())
    assert code == 0, "".join(output)
    assert not any("Traceback" in line for line in output), "".join(output)
