"""Wake-up across processes: a job added by one process runs on time in another, exactly once.

Two idle scheduler processes share a store; the test process adds a date job due one second
later. The job must start within that second plus the store's wake-up bound plus slack:
PostgreSQL and Redis notify the other schedulers (the workers here get a poll interval far
longer than the bound, so only a notification can wake them in time), SQLite and MariaDB are
polled every ``POLL_INTERVAL`` seconds. The workers check in rarely, so no check-in wakes them
either.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone
from typing import Callable

import pytest

from quartzite.runs import RunStatus
from quartzite.schedulers.background import BackgroundScheduler

from . import jobs
from .harness import KINDS, Backend, Ledger, Workers, occurrence_key, pid_of, wait_until

pytestmark = [pytest.mark.services, pytest.mark.live, pytest.mark.processes]

DELAY = 1.0
POLL_INTERVAL = 0.2
SLACK = 2.0
#: the longest an idle scheduler may take to see a change made by another process
WAKE_UP_BOUND = {
    "sqlite_file": POLL_INTERVAL,
    "mariadb": POLL_INTERVAL,
    "postgresql": 0.0,
    "redis": 0.0,
}


@pytest.mark.parametrize("kind", KINDS)
def test_job_added_elsewhere_runs_on_time_once(
    kind: str,
    make_backend: Callable[[str], Backend],
    make_workers: Callable[..., Workers],
    ledger: Ledger,
) -> None:
    backend = make_backend(kind)
    # Notifying stores get a poll interval that would be far too late: the notification must
    # do the waking. Check-ins are rare (and are not what wakes a scheduler anyway).
    poll = POLL_INTERVAL if WAKE_UP_BOUND[kind] else 30.0
    workers = make_workers(
        backend, "--checkin-interval", "10", "--lease-time", "30", "--poll-interval", str(poll)
    )
    store = backend.create_store()
    admin = BackgroundScheduler(timezone="UTC", jobstores={"default": store})
    admin.start(paused=True)
    try:
        workers.start_all(2)
        # Let both workers reach their idle sleep (nothing is due: they have no jobs).
        time.sleep(0.5)
        added = time.time()
        run_date = datetime.fromtimestamp(round(added + DELAY, 3), timezone.utc)
        admin.add_job(jobs.record, "date", run_date=run_date, id="wake", misfire_grace_time=None)
        key = occurrence_key("wake", run_date.timestamp())

        ledger.wait_for(lambda ledger: key in ledger.runs("end"), "the job to run")
        started = float(next(line[4] for line in ledger.of("start") if line[1] == "wake"))

        def finished() -> bool:
            run = store.get_run("wake", run_date)
            return run is not None and run.status.finished

        wait_until(finished, "the run's record to be finished")
        workers.stop_all()  # after a clean stop, nothing more can run: the count is final
        ledger.read()
        record = store.get_run("wake", run_date)
    finally:
        admin.shutdown()

    latency = started - run_date.timestamp()
    bound = DELAY + WAKE_UP_BOUND[kind] + SLACK
    print(
        f"\n[wakeup {kind}] started {started - added:.3f} s after the add, {latency:+.3f} s "
        f"after its run time (bound {bound:.1f} s after the add)"
    )
    assert started >= run_date.timestamp() - 0.01, "ran before its run time"
    assert started - added <= bound
    assert record is not None
    assert ledger.runs("start")[key] == [pid_of(record.scheduler_id)]  # exactly once
    assert record.status is RunStatus.SUCCESS
    assert (record.attempt, record.recovered) == (1, False)
