"""Several schedulers on one DjangoJobStore: each occurrence runs once, on every backend; a
store routed to a second database alias; runscheduler processes sharing a SQLite file."""

from __future__ import annotations

import collections
import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from contrib.django import routers
from contrib.django.testapp import tasks
from quartzite.contrib.django.jobstores import DjangoJobStore
from quartzite.contrib.django.models import DjangoJob, DjangoJobExecution
from quartzite.schedulers.background import BackgroundScheduler

TESTS = Path(__file__).resolve().parents[2]


def wait_for(condition, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def start_scheduler(**store_options) -> BackgroundScheduler:
    scheduler = BackgroundScheduler(
        timezone="UTC", checkin_interval=1, lease_time=3, job_defaults={"misfire_grace_time": 30}
    )
    scheduler.add_jobstore(DjangoJobStore(poll_interval=0.2, **store_options), "default")
    scheduler.start()
    return scheduler


@pytest.mark.django_db(transaction=True)
def test_two_schedulers_run_each_occurrence_once(routed: str) -> None:
    tasks.RUNS.clear()
    first, second = start_scheduler(), start_scheduler()
    try:
        soon = datetime.now(timezone.utc) + timedelta(seconds=1)
        for index in range(40):
            first.add_job(tasks.note, "date", run_date=soon, id=f"date-{index}")
        for index in range(3):
            second.add_job(tasks.note, "interval", seconds=1, id=f"every-{index}", start_date=soon)
        assert wait_for(lambda: sum(1 for key in tasks.RUNS if key[0].startswith("date")) >= 40)
        assert wait_for(lambda: sum(1 for key in tasks.RUNS if key[0].startswith("every")) >= 9)
    finally:
        first.shutdown()
        second.shutdown()
    counts = collections.Counter(tasks.RUNS)
    assert [key for key, count in counts.items() if count > 1] == []
    rows = DjangoJobExecution.objects.db_manager(routed)
    assert rows.filter(status=DjangoJobExecution.SUCCESS).count() == len(counts)
    assert set(rows.values_list("scheduler_id", flat=True)) <= {
        first.scheduler_id,
        second.scheduler_id,
    }


@pytest.mark.django_db(transaction=True, databases=["default", "other"])
def test_a_store_routed_to_a_second_alias_keeps_everything_there() -> None:
    routers.ROUTE_TO = "other"
    tasks.RUNS.clear()
    scheduler = start_scheduler()
    try:
        scheduler.add_job(tasks.note, "date", run_date=datetime.now(timezone.utc), id="once")
        assert wait_for(
            lambda: (
                DjangoJobExecution.objects.db_manager("other").filter(status="Executed").exists()
            )
        )
    finally:
        scheduler.shutdown()
    assert not DjangoJobExecution.objects.db_manager("default").exists()
    assert not DjangoJob.objects.db_manager("default").exists()


def test_an_explicit_database_option_wins_over_the_routers() -> None:
    store = DjangoJobStore(database="other")
    assert store.database == "other"
    from django.test import override_settings

    with override_settings(QUARTZITE_DATABASE="other"):
        assert DjangoJobStore().database == "other"
    assert DjangoJobStore().database == "default"


def _runscheduler(runs_file: Path, databases: dict[str, str]) -> subprocess.Popen[str]:
    env = dict(
        os.environ,
        **databases,
        DJANGO_SETTINGS_MODULE="contrib.django.settings",
        PYTHONPATH=os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")]),
        QZ_DJ_RUNS_FILE=str(runs_file),
    )
    return subprocess.Popen(
        [sys.executable, "-m", "django", "runscheduler"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.live
@pytest.mark.django_db(transaction=True)
def test_runscheduler_processes_share_a_sqlite_file_and_stop_on_sigterm(
    tmp_path: Path, django_child_env: dict[str, str]
) -> None:
    runs_file = tmp_path / "runs.txt"
    processes = [_runscheduler(runs_file, django_child_env) for _ in range(2)]
    try:

        def lines() -> list[str]:
            return runs_file.read_text().splitlines() if runs_file.exists() else []

        assert wait_for(lambda: len(lines()) >= 5, timeout=40), [p.poll() for p in processes]
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        outputs = [process.communicate(timeout=30) for process in processes]
    for process, (stdout, stderr) in zip(processes, outputs):
        assert process.returncode == 0, stderr
        assert "Scheduler stopped" in stdout
        assert "database is locked" not in stderr
        assert "Traceback" not in stderr, stderr
    occurrences = [tuple(line.split()[:2]) for line in lines()]
    assert len(occurrences) == len(set(occurrences))
    assert DjangoJob.objects.filter(id="testapp-tick").count() == 1
