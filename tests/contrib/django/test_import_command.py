"""``manage.py import_django_apscheduler`` on a database that django-apscheduler 0.7 and
APScheduler 3.11.2 really wrote.

A subprocess, whose settings install ``django_apscheduler`` (and not quartzite), migrates it
into one of the session's databases and stores jobs through its ``DjangoJobStore``: interval,
cron and date jobs, a paused one, one whose function will not import here, and two that run
(one succeeds, one raises) so that the execution table has rows. Both apps then sit in one
database, as during a real move. The command copies everything into quartzite's tables.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import connections

from quartzite.contrib.django import _legacy
from quartzite.contrib.django.jobstores import DjangoJobStore
from quartzite.contrib.django.models import DjangoJob, DjangoJobExecution, DjangoJobQuarantine
from quartzite.triggers.cron import CronTrigger
from quartzite.triggers.date import DateTrigger
from quartzite.triggers.interval import IntervalTrigger

pytest.importorskip("django_apscheduler")
pytest.importorskip("apscheduler")

START = datetime(2030, 1, 1, tzinfo=timezone.utc)

#: The module that only the builder can import (the "function that no longer imports").
GONE_MODULE = '''
def gone():
    """Importable only in the process that built the legacy database."""
'''

#: Run in its own process: argv[1] is the JSON of one DATABASES entry.
BUILDER = """
import json
import sys
import time
from datetime import datetime, timezone

import django
from django.conf import settings

database = json.loads(sys.argv[1])
if database["ENGINE"].endswith("mysql"):
    import pymysql

    pymysql.install_as_MySQLdb()
settings.configure(
    USE_TZ=True,
    TIME_ZONE="Europe/Berlin",
    DATABASES={"default": database},
    INSTALLED_APPS=["django.contrib.contenttypes", "django_apscheduler"],
    DEFAULT_AUTO_FIELD="django.db.models.AutoField",
)
django.setup()

from apscheduler.schedulers.background import BackgroundScheduler
from django.core.management import call_command
from django_apscheduler.jobstores import DjangoJobStore
from django_apscheduler.models import DjangoJob, DjangoJobExecution

import qz_legacy_gone

call_command("migrate", "django_apscheduler", verbosity=0)
scheduler = BackgroundScheduler(timezone="UTC")
scheduler.add_jobstore(DjangoJobStore(), "default")
scheduler.start(paused=True)
start = datetime(2030, 1, 1, tzinfo=timezone.utc)
now = datetime.now(timezone.utc)
scheduler.add_job(
    "operator:add", "interval", minutes=5, start_date=start, id="every5", args=[2, 3],
    misfire_grace_time=60,
)
scheduler.add_job(
    "math:hypot", "cron", hour=3, minute=15, day_of_week="mon-fri", start_date=start,
    id="nightly", args=(3.0, 4.0), name="Nightly",
)
scheduler.add_job(
    "operator:mul", "date", run_date=datetime(2031, 6, 1, 12, tzinfo=timezone.utc), id="once",
    args=[6, 7],
)
scheduler.add_job(qz_legacy_gone.gone, "interval", hours=1, start_date=start, id="broken")
scheduler.add_job(
    "operator:neg", "interval", seconds=30, start_date=start, id="paused", args=[1]
).pause()
scheduler.add_job("operator:add", "interval", hours=1, next_run_time=now, id="ran", args=[1, 1])
scheduler.add_job(
    "operator:truediv", "interval", hours=1, next_run_time=now, id="failed", args=[1, 0]
)
DjangoJob.objects.create(id="placeholder")  # an empty state: no job
scheduler.resume()
deadline = time.monotonic() + 60
while time.monotonic() < deadline:
    rows = DjangoJobExecution.objects.exclude(status=DjangoJobExecution.SENT)
    if set(rows.values_list("job_id", flat=True)) >= {"ran", "failed"}:
        break
    time.sleep(0.1)
else:
    raise SystemExit("the two runs were not recorded")
scheduler.shutdown()
"""


def _legacy_tables(alias: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of django-apscheduler's two tables (to check they are left untouched)."""
    columns = {
        _legacy.JOBS_TABLE: "id, next_run_time, job_state",
        _legacy.EXECUTIONS_TABLE: (
            "id, job_id, status, run_time, duration, finished, exception, traceback"
        ),
    }
    found = {}
    with connections[alias].cursor() as cursor:
        for table, names in columns.items():
            cursor.execute(f"SELECT {names} FROM {table} ORDER BY id")
            found[table] = [
                tuple(bytes(v) if isinstance(v, memoryview) else v for v in row)
                for row in cursor.fetchall()
            ]
    return found


def _drop_legacy(alias: str) -> None:
    connection = connections[alias]
    with connection.cursor() as cursor:
        tables = set(connection.introspection.table_names(cursor))
        for table in (_legacy.EXECUTIONS_TABLE, _legacy.JOBS_TABLE):
            if table in tables:
                cursor.execute(f"DROP TABLE {table}")
        cursor.execute("DELETE FROM django_migrations WHERE app = 'django_apscheduler'")
        cursor.execute("DELETE FROM django_content_type WHERE app_label = 'django_apscheduler'")


def _build_legacy(source: str, directory: Path) -> None:
    """Run the builder on the alias ``source`` (its old tables dropped first)."""
    # The test database pytest-django made (its name is known only now).
    entry = {
        key: value
        for key, value in connections[source].settings_dict.items()
        if key in ("ENGINE", "NAME", "USER", "HOST", "PORT", "OPTIONS")
    }
    (directory / "qz_legacy_gone.py").write_text(GONE_MODULE)
    (directory / "build_legacy.py").write_text(BUILDER)
    connections.close_all()
    _drop_legacy(source)
    result = subprocess.run(
        [sys.executable, str(directory / "build_legacy.py"), json.dumps(entry)],
        cwd=directory,
        env=dict(os.environ, PYTHONPATH=str(directory)),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr


@pytest.fixture
def legacy(database: str, tmp_path: Path) -> Any:
    """``(source alias, target alias)``: django-apscheduler's tables built in the source."""
    # SQLite: the old tables in the "other" file, imported into "default" (--source-database);
    # the servers: both apps in one database, as when a project moves.
    source = "other" if database == "default" else database
    _build_legacy(source, tmp_path)
    yield source, database
    connections.close_all()
    _drop_legacy(source)


@pytest.fixture
def legacy_in_one_sqlite_file(tmp_path: Path) -> Any:
    """Both apps' tables in the SQLite file of the alias "other"."""
    _build_legacy("other", tmp_path)
    yield "other"
    connections.close_all()
    _drop_legacy("other")


def run_command(*args: str) -> str:
    out = StringIO()
    call_command("import_django_apscheduler", *args, stdout=out)
    return out.getvalue()


# A child process writes the old tables: committed rows (SQLite: from "other" into "default").
@pytest.mark.django_db(transaction=True, databases=["default", "other"])
def test_the_import_copies_jobs_executions_and_quarantines_what_it_cannot_read(
    legacy: tuple[str, str],
) -> None:
    source, target = legacy
    before = _legacy_tables(source)
    assert {row[0] for row in before[_legacy.JOBS_TABLE]} == {
        "every5", "nightly", "once", "broken", "paused", "ran", "failed", "placeholder"
    }  # fmt: skip

    output = run_command("--database", target, "--source-database", source, "--dry-run")
    assert "Dry run: nothing written" in output
    assert "Jobs: 6 would be added, 0 would be replaced, 1 would be quarantined" in output
    assert "Executions: 2 would be copied, 0 already present" in output
    assert not DjangoJob.objects.db_manager(target).exists()
    assert not DjangoJobExecution.objects.db_manager(target).exists()
    assert not DjangoJobQuarantine.objects.db_manager(target).exists()

    output = run_command("--database", target, "--source-database", source)
    assert "Jobs: 6 were added, 0 were replaced, 1 were quarantined" in output, output
    assert "Executions: 2 were copied, 0 already present" in output
    assert "quarantined broken: " in output

    store = DjangoJobStore(database=target)
    store.start(None, "default")
    jobs = {job.id: job for job in store.get_all_jobs()}
    assert set(jobs) == {"every5", "nightly", "once", "paused", "ran", "failed"}

    every5 = jobs["every5"]
    assert isinstance(every5.trigger, IntervalTrigger)
    assert every5.trigger.interval == timedelta(minutes=5)
    assert every5.func_ref == "operator:add" and every5.args == (2, 3)
    assert every5.next_run_time == START and every5.misfire_grace_time == 60
    assert every5.func(*every5.args) == 5

    nightly = jobs["nightly"]
    assert isinstance(nightly.trigger, CronTrigger)
    assert str(nightly.trigger) == "cron[day_of_week='mon-fri', hour='3', minute='15']"
    assert nightly.name == "Nightly" and nightly.args == (3.0, 4.0)
    assert nightly.next_run_time == START.replace(hour=3, minute=15)  # 2030-01-01 is a Tuesday
    following = nightly.trigger.get_next_fire_time(nightly.next_run_time, nightly.next_run_time)
    assert following == datetime(2030, 1, 2, 3, 15, tzinfo=timezone.utc)

    once = jobs["once"]
    assert isinstance(once.trigger, DateTrigger)
    assert once.next_run_time == datetime(2031, 6, 1, 12, tzinfo=timezone.utc)
    assert jobs["paused"].next_run_time is None
    assert jobs["ran"].next_run_time > datetime.now(timezone.utc)  # advanced by its run

    # The rows are quartzite's own now: the store's serializer, no apscheduler class path.
    for row in DjangoJob.objects.db_manager(target).all():
        assert b"apscheduler" not in bytes(row.job_state)

    (quarantined,) = store.get_quarantined_jobs()
    assert quarantined.id == "broken"
    assert "qz_legacy_gone" in quarantined.error
    assert quarantined.next_run_time == START.timestamp()
    old_state = {row[0]: row[2] for row in before[_legacy.JOBS_TABLE]}["broken"]
    assert quarantined.job_state == bytes(old_state)

    executions = DjangoJobExecution.objects.db_manager(target)
    ran = executions.get(job_id="ran")
    assert ran.status == DjangoJobExecution.SUCCESS
    assert ran.duration is not None and ran.finished is not None
    assert ran.finished > Decimal(START.timestamp()) - Decimal(10**8)  # a POSIX timestamp
    failed = executions.get(job_id="failed")
    assert failed.status == DjangoJobExecution.ERROR
    assert failed.exception == "division by zero"
    old_runs = {row[1]: row for row in before[_legacy.EXECUTIONS_TABLE]}
    # (django-apscheduler stored the formatted frames without the exception line)
    assert failed.traceback == old_runs["failed"][7] and "run_job" in failed.traceback
    assert abs(ran.run_time - jobs["ran"].next_run_time) == timedelta(hours=1)
    assert ran.run_time.timestamp() == pytest.approx(
        _legacy._as_datetime(old_runs["ran"][3]).timestamp()  # type: ignore[union-attr]
    )

    # A second run copies nothing twice; the old tables were only read.
    output = run_command("--database", target, "--source-database", source)
    assert "Jobs: 0 were added, 6 were replaced, 0 were quarantined" in output, output
    assert "(1 already in the quarantine)" in output
    assert "Executions: 0 were copied, 2 already present" in output
    assert executions.count() == 2
    assert DjangoJobQuarantine.objects.db_manager(target).count() == 1
    assert {job.id: job.next_run_time for job in store.get_all_jobs()} == {
        job_id: job.next_run_time for job_id, job in jobs.items()
    }
    assert _legacy_tables(source) == before


@pytest.mark.django_db(transaction=True, databases=["default", "other"])
def test_imported_jobs_run_under_quartzite(legacy: tuple[str, str]) -> None:
    """The imported job that ran under APScheduler runs under quartzite too, and its new run
    record sits beside the imported one."""
    from quartzite.executors.debug import DebugExecutor
    from quartzite.schedulers.background import BackgroundScheduler

    source, target = legacy
    run_command("--database", target, "--source-database", source)
    scheduler = BackgroundScheduler(timezone="UTC", executors={"default": DebugExecutor()})
    scheduler.add_jobstore(DjangoJobStore(database=target), "default")
    scheduler.start(paused=True)
    try:
        job = scheduler.get_job("ran")
        assert job is not None
        job.modify(next_run_time=datetime.now(timezone.utc))
        scheduler.resume()
        executions = DjangoJobExecution.objects.db_manager(target).filter(job_id="ran")

        def done() -> bool:
            return executions.filter(status=DjangoJobExecution.SUCCESS).count() == 2

        import time

        deadline = time.monotonic() + 30
        while not done() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert done()
    finally:
        scheduler.shutdown()


@pytest.mark.django_db(transaction=True, databases=["other"])
def test_the_import_within_one_sqlite_file_reads_in_pages(
    legacy_in_one_sqlite_file: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Source and target on one connection, pages of two rows: the writes between the pages
    neither break the reads nor get read back."""
    alias = legacy_in_one_sqlite_file
    monkeypatch.setattr(_legacy, "_BATCH", 2)
    output = run_command("--database", alias)  # the source defaults to the same alias
    assert f"From django-apscheduler on '{alias}' to '{alias}'" in output
    assert "Jobs: 6 were added, 0 were replaced, 1 were quarantined" in output, output
    assert ", 1 empty rows skipped" in output
    assert "Executions: 2 were copied, 0 already present" in output
    assert DjangoJob.objects.db_manager(alias).count() == 6
    assert DjangoJobExecution.objects.db_manager(alias).count() == 2


@pytest.mark.django_db(databases=["default", "other"])
def test_a_database_without_the_old_tables_is_refused() -> None:
    with pytest.raises(CommandError, match="django_apscheduler_djangojob"):
        run_command("--source-database", "other")


def test_the_unpickler_renames_only_apschedulers_modules() -> None:
    import io
    import pickle

    # Protocol 0 names each global on its own line, so the class path can be swapped in place.
    data = pickle.dumps({"t": IntervalTrigger(seconds=5, timezone="UTC")}, protocol=0)
    assert b"cquartzite.triggers.interval\n" in data
    data = data.replace(b"cquartzite.triggers.interval\n", b"capscheduler.triggers.interval\n")
    state = _legacy.load_legacy_state(data)
    assert isinstance(state["t"], IntervalTrigger)
    assert state["t"].interval == timedelta(seconds=5)

    unpickler = _legacy.LegacyUnpickler(io.BytesIO(b""))
    assert unpickler.find_class("apscheduler.triggers.date", "DateTrigger") is DateTrigger
    assert unpickler.find_class("datetime", "timedelta") is timedelta
    with pytest.raises(ModuleNotFoundError):  # a look-alike prefix is not renamed
        unpickler.find_class("apschedulerx.triggers", "DateTrigger")
    with pytest.raises(TypeError, match="not a dict"):
        _legacy.load_legacy_state(pickle.dumps([1]))
