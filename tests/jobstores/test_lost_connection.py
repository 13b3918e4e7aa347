"""A running scheduler whose store loses its server connections recovers without losing a run.

Each test gives the store a server identity of its own (a PostgreSQL database, a Redis ACL user),
so that it can kill exactly the store's connections and then refuse new ones for a while (an
outage), without disturbing tests running in parallel. Phases: connections killed repeatedly
(recovered by pool pre-ping / reconnects, unnoticed by the scheduler), then an outage of two
seconds (the scheduler logs the errors and retries every ``jobstore_retry_interval``), then
service restored: the scheduler must resume within the retry interval (plus slack), run the date
job that fell due during the outage, and every run of an interval job with no misfire limit.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any, Callable
from uuid import uuid4

import pytest

from quartzite.events import EVENT_JOB_EXECUTED
from quartzite.schedulers.background import BackgroundScheduler
from support import dummy_job

RETRY_INTERVAL = 0.5
TICK = 0.25  # seconds between runs of the interval job
SLACK = 3.0  # generous: the machine may be busy with other tests


class Outage:
    """What a test needs to disturb one store's connections."""

    def __init__(
        self,
        kill: Callable[[], None],
        block: Callable[[], None],
        unblock: Callable[[], None],
        store_options: dict[str, Any],
    ) -> None:
        self.kill, self.block, self.unblock = kill, block, unblock
        self.store_options = store_options


@pytest.fixture
def postgresql_outage(postgresql_url: str) -> Iterator[Outage]:
    from sqlalchemy import create_engine, make_url, text

    database = f"qz_live_{uuid4().hex[:12]}"
    admin = create_engine(postgresql_url, isolation_level="AUTOCOMMIT")

    def run(statement: str) -> None:
        with admin.connect() as connection:
            connection.execute(text(statement))

    def kill() -> None:
        run(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            f" WHERE datname = '{database}' AND pid <> pg_backend_pid()"
        )

    def block() -> None:
        run(f"ALTER DATABASE {database} ALLOW_CONNECTIONS false")
        kill()

    run(f"CREATE DATABASE {database}")
    try:
        url = make_url(postgresql_url).set(database=database)
        yield Outage(
            kill,
            block,
            lambda: run(f"ALTER DATABASE {database} ALLOW_CONNECTIONS true"),
            {"url": url.render_as_string(hide_password=False)},
        )
    finally:
        run(f"ALTER DATABASE {database} ALLOW_CONNECTIONS true")
        run(f"DROP DATABASE {database} WITH (FORCE)")
        admin.dispose()


@pytest.fixture
def redis_outage(redis_options: dict[str, Any]) -> Iterator[Outage]:
    from redis import Redis
    from redis.backoff import ExponentialBackoff
    from redis.retry import Retry

    user, password = f"qz_live_{uuid4().hex[:12]}", uuid4().hex
    keys = [f"{user}.jobs", f"{user}.run_times", f"{user}.jobs.quarantine"]
    admin = Redis(**redis_options)
    admin.execute_command("ACL", "SETUSER", user, "on", f">{password}", "~*", "&*", "+@all")
    try:
        yield Outage(
            lambda: admin.execute_command("CLIENT", "KILL", "USER", user),
            lambda: (
                admin.execute_command("ACL", "SETUSER", user, "off"),
                admin.execute_command("CLIENT", "KILL", "USER", user),
            ),
            lambda: admin.execute_command("ACL", "SETUSER", user, "on"),
            {
                **redis_options,
                "username": user,
                "password": password,
                "jobs_key": keys[0],
                "run_times_key": keys[1],
                # redis-py retries 10 times by default (backoff capped at 1 s), riding out an
                # outage of a few seconds by itself; a small budget lets the scheduler see it
                "retry": Retry(ExponentialBackoff(cap=0.1), 2),
            },
        )
    finally:
        admin.delete(*keys)
        admin.execute_command("ACL", "DELUSER", user)
        admin.close()


def create_outage_store(kind: str, outage: Outage) -> Any:
    """The store, on the server identity of the outage (which removes its data afterwards)."""
    if kind == "postgresql":
        from quartzite.jobstores.sqlalchemy import SQLAlchemyJobStore

        return SQLAlchemyJobStore(outage.store_options["url"], serializer="json")

    from quartzite.jobstores.redis import RedisJobStore

    return RedisJobStore(serializer="json", **outage.store_options)


@pytest.mark.live
@pytest.mark.services
@pytest.mark.parametrize("kind", ["postgresql", "redis"])
def test_scheduler_survives_lost_connections(
    kind: str, request: pytest.FixtureRequest, caplog: pytest.LogCaptureFixture
) -> None:
    outage: Outage = request.getfixturevalue(f"{kind}_outage")
    store = create_outage_store(kind, outage)
    scheduler = BackgroundScheduler(
        timezone="UTC", jobstore_retry_interval=RETRY_INTERVAL, jobstores={"default": store}
    )
    executed: list[tuple[str, datetime, float]] = []
    lock = threading.Lock()

    def listener(event: Any) -> None:
        with lock:
            executed.append((event.job_id, event.scheduled_run_time, time.monotonic()))

    scheduler.add_listener(listener, EVENT_JOB_EXECUTED)
    start = datetime.now(timezone.utc) + timedelta(seconds=0.5)
    scheduler.add_job(
        dummy_job,
        "interval",
        seconds=TICK,
        start_date=start,
        id="ticker",
        coalesce=False,
        misfire_grace_time=None,
    )
    scheduler.add_job(
        dummy_job,
        "date",
        run_date=start + timedelta(seconds=3),
        id="due_in_outage",
        misfire_grace_time=None,
    )

    caplog.set_level(logging.WARNING)
    scheduler.start()
    try:
        time.sleep(0.7)
        for _ in range(3):  # connections killed: absorbed by pre-ping / reconnects
            outage.kill()
            time.sleep(0.3)

        outage.block()  # t ~ 1.6 s: two seconds without the server
        time.sleep(2)
        outage_end = time.monotonic()
        outage.unblock()

        # Recovery within the retry interval: the first run after the outage (the backlog)
        deadline = outage_end + RETRY_INTERVAL + SLACK
        while time.monotonic() < deadline and not any(t > outage_end for *_, t in executed):
            time.sleep(0.05)
        recovered_at = min((t for *_, t in executed if t > outage_end), default=None)
        time.sleep(1.5)  # a few more regular runs
    finally:
        scheduler.shutdown()

    assert recovered_at is not None, "the scheduler did not recover"
    assert recovered_at - outage_end <= RETRY_INTERVAL + SLACK

    messages = [record.getMessage() for record in caplog.records]
    assert any(
        message.startswith("Error getting due jobs from job store 'default'")
        for message in messages
    )

    # No due run lost: every tick from the first to the last, and the date job
    ticks = sorted(run_time for job_id, run_time, _ in executed if job_id == "ticker")
    steps = {round((run_time - start).total_seconds() / TICK) for run_time in ticks}
    assert steps == set(range(max(steps) + 1))
    assert max(steps) >= (2 + 0.9 + 0.7 + 1.5) / TICK - 4  # it kept running to the end
    assert [job_id for job_id, *_ in executed].count("due_in_outage") >= 1
