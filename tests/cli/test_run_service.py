"""``quartzite run`` end to end: a service from a config file of three jobs, stopped with SIGTERM
and started again; nothing is duplicated or lost. And the grace period on shutdown."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import IO, Any

from .conftest import cli_env, run_cli
from .jobfuncs import LEDGER_VARIABLE

SERVICE = """\
timezone = "UTC"

[jobstores.default]
type = "sqlalchemy"
url = "sqlite:///{db}"
poll_interval = 0.5

[executors.default]
type = "threadpool"
max_workers = 4

[job_defaults]
coalesce = true
misfire_grace_time = 30

[[jobs]]
id = "every1"
func = "cli.jobfuncs:{func}"
trigger = "interval"
seconds = 1

[[jobs]]
id = "every2"
func = "cli.jobfuncs:{func}"
trigger = "interval"
seconds = 2

[[jobs]]
id = "cron3"
func = "cli.jobfuncs:{func}"
trigger = "cron"
second = "*/3"
"""


class Service:
    """One ``quartzite run`` process, its ledger and its log."""

    def __init__(self, tmp_path: Path, func: str = "record", *extra: str) -> None:
        self.db = tmp_path / "service.sqlite"
        self.config = tmp_path / "service.toml"
        self.config.write_text(SERVICE.format(db=self.db, func=func))
        self.ledger = tmp_path / "ledger.txt"
        self.log_path = tmp_path / "service.log"
        self.extra = extra
        self.process: subprocess.Popen[bytes] | None = None
        self.log: IO[bytes] | None = None

    def start(self) -> None:
        self.log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "quartzite", "run", str(self.config), *self.extra],
            stdout=self.log, stderr=self.log, stdin=subprocess.DEVNULL,
            env=cli_env(**{LEDGER_VARIABLE: str(self.ledger)}),
        )  # fmt: skip

    def stop(self, timeout: float = 30) -> int:
        assert self.process is not None and self.log is not None
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        finally:
            self.log.close()

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def runs(self) -> list[tuple[str, float]]:
        """The ledger: (job id, scheduled timestamp) of every run that started."""
        if not self.ledger.exists():
            return []
        lines = self.ledger.read_text().splitlines()
        return [(job_id, round(float(ts), 3)) for job_id, ts in (line.split() for line in lines)]

    def wait_for(self, counts: dict[str, int], after: float = 0.0, timeout: float = 30) -> None:
        """Wait until each job has run that many times (scheduled after ``after``)."""
        deadline = time.monotonic() + timeout
        while True:
            seen = Counter(job_id for job_id, ts in self.runs() if ts > after)
            if all(seen[job_id] >= count for job_id, count in counts.items()):
                return
            assert self.process is not None and self.process.poll() is None, (
                self.log_path.read_text()
            )
            assert time.monotonic() < deadline, (seen, self.log_path.read_text())
            time.sleep(0.1)

    def cli(self, *args: str) -> Any:
        result = run_cli(*args, "--config", str(self.config))
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout) if "--json" in args else result.stdout


def test_restart_duplicates_and_loses_nothing(tmp_path: Path) -> None:
    service = Service(tmp_path)
    try:
        service.start()
        service.wait_for({"every1": 2, "every2": 1, "cron3": 1})
        assert service.stop() == 0
        first = service.runs()
        log = service.log_path.read_text()
        assert "Running 3 job(s)" in log and "SIGTERM received" in log and "Stopped" in log

        # Paused while the service is down: it stays paused across the restart.
        service.cli("jobs", "pause", "every2")
        restarted = time.time()
        service.start()
        service.wait_for({"every1": 2, "cron3": 1}, after=restarted)
        assert service.stop() == 0
    finally:
        service.kill()

    jobs = {job["id"]: job for job in service.cli("jobs", "list", "--json")}
    assert set(jobs) == {"every1", "every2", "cron3"}  # replaced, not added again
    assert jobs["every2"]["paused"] is True
    every2_after = [ts for job_id, ts in service.runs() if job_id == "every2" and ts > restarted]
    assert every2_after == []

    records = service.cli("history", "--limit", "0", "--json")
    keys = [(run["job_id"], round(datetime_ts(run["scheduled_run_time"]), 3)) for run in records]
    assert len(keys) == len(set(keys)), "an occurrence was recorded twice"
    assert {run["status"] for run in records} == {"success"}, records
    ledger = service.runs()
    assert len(ledger) == len(set(ledger)), "an occurrence ran twice"
    # every run that started is recorded as finished, and every record really ran
    assert set(ledger) == set(keys)
    assert len(ledger) > len(first)


def datetime_ts(text: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(text).timestamp()


def test_grace_period_bounds_the_shutdown(tmp_path: Path) -> None:
    service = Service(tmp_path, "slow", "--grace", "1", "--log-level", "WARNING")
    try:
        service.start()
        service.wait_for({"every1": 1})
        started = time.monotonic()
        assert service.stop(timeout=20) == 1
        assert time.monotonic() - started < 15
    finally:
        service.kill()
    assert "grace period of 1 s" in service.log_path.read_text()
