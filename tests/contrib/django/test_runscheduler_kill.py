"""``manage.py runscheduler`` processes sharing one DjangoJobStore, with kill -9.

Two or three ``runscheduler`` processes run on one database (the session's SQLite file, or its
PostgreSQL database) while one of them is SIGKILLed two or three times at random moments and
restarted; then all are stopped with SIGTERM. The judgement is the chaos test's
(``tests/cluster/test_chaos.py``), from the same two sources: the ledger that the job function
(``cluster.jobs:record``) appends to in whichever process runs it, and the run records, which
here are the ``DjangoJobExecution`` rows. No occurrence that finished normally ran twice (a
rerun only where the row says recovered), and nothing in the checked window is lost.

The job ``testapp-tick`` that the test app declares in its ``jobs.py`` runs too (each process
registers it again at its start); its own ledger (``QZ_DJ_RUNS_FILE``) is checked for doubles.
"""

from __future__ import annotations

import math
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import pytest

from cluster import jobs
from cluster.harness import Ledger, occurrence_key
from cluster.test_chaos import Plan, judge
from quartzite.contrib.django.jobstores import DjangoJobStore
from quartzite.contrib.django.models import DjangoJobExecution
from quartzite.schedulers.background import BackgroundScheduler

pytestmark = [pytest.mark.live, pytest.mark.processes]

TESTS = Path(__file__).resolve().parents[2]
CHECKIN_INTERVAL = 0.5
#: Generous for a loaded 2-core machine: with 1.5 s, a live scheduler whose check-in waited on
#: the SQLite write lock was once declared dead and its runs were rerun (recorded as recovered)
LEASE_TIME = 3.0
#: from the first fire time to the SIGTERMs
RUN_SECONDS = 9.0
#: the kills happen in this many seconds after the first fire time; what the last victim held
#: is recovered (lease expiry + a check-in + a claim) well before the end
CHAOS_SECONDS = RUN_SECONDS - LEASE_TIME - 2.5
PATIENCE = 60.0

#: The subprocesses' settings: the test settings, the store on ``QZ_KILL_DATABASE``, short
#: check-ins and leases, and a scheduler id ``w<N>-<pid>`` (what the chaos judgement reads).
SETTINGS = """
import os

from contrib.django.settings import *  # noqa: F403

QUARTZITE_DATABASE = os.environ["QZ_KILL_DATABASE"]
SCHEDULER_CONFIG = {
    "quartzite.jobstores.default": {
        "class": "quartzite.contrib.django.jobstores:DjangoJobStore",
        "poll_interval": "0.2",
        "max_runs_per_job": 100000,
    },
    "quartzite.executors.default": {"type": "threadpool", "max_workers": "20"},
    "quartzite.checkin_interval": "CHECKIN",
    "quartzite.lease_time": "LEASE",
    "quartzite.scheduler_id": f"w{os.environ['QZ_KILL_WORKER']}-{os.getpid()}",
}
"""


@dataclass
class Process:
    number: int
    popen: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        return self.popen.pid

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


@dataclass
class Runschedulers:
    """``runscheduler`` processes on one database; ``killed``/``stopped`` as the chaos judgement
    expects of its workers."""

    directory: Path
    env: dict[str, str]
    current: dict[int, Process] = field(default_factory=dict)
    killed: list[Process] = field(default_factory=list)
    stopped: list[Process] = field(default_factory=list)

    def start(self, number: int) -> Process:
        log = self.directory / f"runscheduler-{number}-{time.monotonic_ns()}.log"
        env = dict(self.env, QZ_KILL_WORKER=str(number))
        with open(log, "wb") as output:
            popen = subprocess.Popen(
                [sys.executable, "-m", "django", "runscheduler"],
                env=env,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        process = self.current[number] = Process(number, popen, log)
        return process

    def check_alive(self) -> None:
        for process in self.current.values():
            if process.popen.poll() is not None:
                raise AssertionError(
                    f"runscheduler {process.number} (pid {process.pid}) exited with "
                    f"{process.popen.returncode}:\n{process.output()[-3000:]}"
                )

    def wait_ready(self) -> None:
        """Wait until every current process says its scheduler is starting (its SIGTERM
        handler is installed then)."""
        deadline = time.monotonic() + PATIENCE
        while not all("starting" in process.output() for process in self.current.values()):
            self.check_alive()
            if time.monotonic() > deadline:
                raise AssertionError("the runscheduler processes did not start")
            time.sleep(0.05)

    def kill(self, number: int) -> None:
        process = self.current.pop(number)
        process.popen.send_signal(signal.SIGKILL)
        process.popen.wait(PATIENCE)
        self.killed.append(process)

    def stop_all(self) -> list[str]:
        """SIGTERM every process; return what went wrong (exit codes, tracebacks)."""
        processes = list(self.current.values())
        for process in processes:
            process.popen.send_signal(signal.SIGTERM)
        problems = []
        for process in processes:
            try:
                code: int | None = process.popen.wait(PATIENCE)
            except subprocess.TimeoutExpired:
                process.popen.kill()
                process.popen.wait()
                code = None
            text = process.output()
            if code != 0 or "Scheduler stopped" not in text or "Traceback" in text:
                problems.append(f"runscheduler {process.number} ended with {code}:\n{text[-3000:]}")
            self.stopped.append(process)
        self.current.clear()
        return problems

    def kill_all(self) -> None:
        for process in self.current.values():
            if process.popen.poll() is None:
                process.popen.kill()
                process.popen.wait()
        self.current.clear()

    def logs_text(self) -> str:
        return "\n".join(
            f"--- runscheduler {p.number} (pid {p.pid})\n{p.output()[-2000:]}"
            for p in [*self.killed, *self.stopped]
        )


def add_jobs(scheduler: BackgroundScheduler, start: float) -> Plan:
    """Interval jobs of 0.5 and 1 s from ``start`` (one at-most-once)."""
    first = datetime.fromtimestamp(start, timezone.utc)
    intervals = {f"iv{index}": (0.5 if index < 4 else 1.0) for index in range(6)}
    for job_id, seconds in intervals.items():
        scheduler.add_job(
            jobs.record,
            "interval",
            seconds=seconds,
            start_date=first,
            id=job_id,
            misfire_grace_time=None,
            coalesce=False,
            max_instances=50,
            at_most_once=job_id == "iv0",
            replace_existing=True,
        )
    return Plan(start, intervals, [], {}, frozenset({"iv0"}))


def sleep_until(moment: float, while_waiting: Callable[[], None]) -> None:
    while (remaining := moment - time.time()) > 0:
        while_waiting()
        time.sleep(min(remaining, 0.1))


# ids sqlite-2, sqlite-3, postgresql-2, postgresql-3; the child processes commit
@pytest.mark.parametrize("count", [2, 3])
@pytest.mark.parametrize("database", ["sqlite", "postgresql"], indirect=True)
@pytest.mark.django_db(transaction=True)
def test_killed_runschedulers_lose_and_repeat_nothing(
    database: str, count: int, tmp_path: Path, django_child_env: dict[str, str]
) -> None:
    alias = database
    seed = random.randrange(2**32)
    rng = random.Random(seed)
    (tmp_path / "qz_kill_settings.py").write_text(
        SETTINGS.replace("CHECKIN", str(CHECKIN_INTERVAL)).replace("LEASE", str(LEASE_TIME))
    )
    ledger = Ledger(tmp_path / "ledger.txt")
    ticks = tmp_path / "ticks.txt"
    env = dict(
        os.environ,
        **django_child_env,
        DJANGO_SETTINGS_MODULE="qz_kill_settings",
        PYTHONPATH=os.pathsep.join([str(tmp_path), str(TESTS), os.environ.get("PYTHONPATH", "")]),
        QZ_KILL_DATABASE=alias,
        QZ_DJ_RUNS_FILE=str(ticks),
        **{jobs.LEDGER_VARIABLE: str(ledger.path)},
    )
    processes = Runschedulers(tmp_path, env)
    store = DjangoJobStore(database=alias, max_runs_per_job=100_000)
    admin = BackgroundScheduler(timezone="UTC", jobstores={"default": store})
    admin.start(paused=True)  # adds go straight to the store
    try:
        for number in range(count):
            processes.start(number)
        processes.wait_ready()
        start = float(math.ceil(time.time()) + 1)
        plan = add_jobs(admin, start)

        kills = rng.choice([2, 3])
        slot = CHAOS_SECONDS / kills
        for index in range(kills):
            # Just after a fire time of the 0.5 s jobs: the victim is likely running some.
            moment = start + index * slot + rng.uniform(0.3, slot)
            sleep_until(math.floor(moment * 2) / 2 + 0.1, processes.check_alive)
            number = rng.randrange(count)
            processes.kill(number)
            processes.start(number)
        sleep_until(start + RUN_SECONDS, processes.check_alive)
        processes.wait_ready()
        end = time.time()
        problems_at_stop = processes.stop_all()

        ledger.read()
        records = [run for run in store.get_runs(limit=None) if run.job_id in plan.intervals]
        tick_rows = list(
            DjangoJobExecution.objects.db_manager(alias)
            .filter(job_id="testapp-tick")
            .values_list("run_time", "recovered")
        )
    finally:
        processes.kill_all()
        admin.shutdown()

    assert not problems_at_stop, "\n".join(problems_at_stop)
    problems, figures = judge(
        plan, records, ledger, processes, low=start + 1.0, high=end - LEASE_TIME - 1.0
    )
    print(f"\n[runscheduler kill {alias} x{count}] seed={seed} {figures}")
    if problems.found:
        pytest.fail(
            f"{problems.summary()}\n(seed {seed}; {figures})\nlogs:\n{processes.logs_text()}"
        )
    assert len(processes.killed) == kills
    assert figures["checked_window"] >= 20, figures

    # testapp-tick (jobs.py): an occurrence noted twice must be one recovered after a kill.
    noted = Counter(
        tuple(line.split()[:2]) for line in ticks.read_text().splitlines() if line.strip()
    )
    recovered = {
        occurrence_key("testapp-tick", run_time.timestamp())[1]
        for run_time, was_recovered in tick_rows
        if was_recovered
    }
    doubles = [
        key
        for key, times in noted.items()
        if times > 1
        and occurrence_key(key[0], datetime.fromisoformat(key[1]).timestamp())[1] not in recovered
    ]
    assert doubles == [], doubles
    assert noted, "testapp-tick never ran"
