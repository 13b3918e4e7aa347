"""Chaos: three scheduler processes share one store while one of them is SIGKILLed every few
seconds and restarted; afterwards every occurrence must have run exactly once, or have been
recovered (and say so), or, for an at-most-once job, have been recorded as interrupted.

The test judges the cluster from outside, from two independent sources: the run records in the
store, and the ledger that the job function appends to in whichever process runs it (a start
and an end line per run, with the occurrence and the pid). Figures are printed (``pytest -s``).
"""

from __future__ import annotations

import math
import random
import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable

import pytest

from quartzite.runs import JobRun, RunStatus
from quartzite.schedulers.background import BackgroundScheduler

from . import jobs
from .harness import KINDS, Backend, Ledger, Workers, occurrence_key, pid_of

pytestmark = [pytest.mark.services, pytest.mark.live, pytest.mark.processes]

WORKERS = 3
CHECKIN_INTERVAL = 0.5
LEASE_TIME = 2.0
POLL_INTERVAL = 0.2
#: how long the cluster runs, from the first fire time to the SIGTERMs
RUN_SECONDS = 15.0
#: no kill after this (seconds after the first fire time): what the last victim held is
#: recovered (lease expiry + a check-in + a claim) well before the end
CHAOS_SECONDS = RUN_SECONDS - LEASE_TIME - 3.0
#: the fewest run records one backend must produce (4 backends: at least 1,000 in all)
MIN_OCCURRENCES = 250
#: far above the runs of one job that can be in flight at once (a dead scheduler's runs count
#: as running until recovered): no occurrence is refused for max_instances
MAX_INSTANCES = 50


@dataclass(frozen=True)
class Plan:
    """The jobs of the test, and which fire times each must have had."""

    start: float  # the first fire time (UTC timestamp, a whole second)
    intervals: dict[str, float]  # interval job id -> seconds
    crons: list[str]  # cron jobs firing every second
    dates: dict[str, float]  # date job id -> run time
    at_most_once: frozenset[str]

    def fire_times(self, low: float, high: float) -> set[tuple[str, float]]:
        """Every occurrence due from ``low`` to ``high`` (inclusive)."""
        expected = set()
        for job_id, seconds in self.intervals.items():
            step = math.ceil((low - self.start) / seconds)
            while self.start + step * seconds <= high:
                expected.add(occurrence_key(job_id, self.start + step * seconds))
                step += 1
        for job_id in self.crons:
            for second in range(math.ceil(low), math.floor(high) + 1):
                expected.add(occurrence_key(job_id, second))
        for job_id, run_time in self.dates.items():
            if low <= run_time <= high:
                expected.add(occurrence_key(job_id, run_time))
        return expected

    def not_rerun(self, job_id: str) -> bool:
        """Whether an interrupted occurrence of the job may be recorded as interrupted instead of
        rerun: at-most-once jobs, and date jobs (a claim that takes a job's last fire time
        removes the job, and recovery reruns only jobs that still exist)."""
        return job_id in self.at_most_once or job_id in self.dates

    def is_fire_time(self, job_id: str, timestamp: float) -> bool:
        """Whether ``timestamp`` is one of the job's fire times (a claim made none up)."""
        if job_id in self.intervals:
            steps = (timestamp - self.start) / self.intervals[job_id]
            return steps > -1e-6 and abs(steps - round(steps)) < 1e-3
        if job_id in self.dates:
            return abs(timestamp - self.dates[job_id]) < 1e-3
        return timestamp >= self.start - 1e-6 and abs(timestamp - round(timestamp)) < 1e-3


def add_jobs(scheduler: BackgroundScheduler, start: float, rng: random.Random) -> Plan:
    """Add the mix of jobs (interval, cron, date; some at-most-once) through ``scheduler``."""
    first = datetime.fromtimestamp(start, timezone.utc)
    common: dict[str, Any] = {
        "misfire_grace_time": None,  # nothing is missed for lateness
        "coalesce": False,  # every fire time is its own occurrence
        "max_instances": MAX_INSTANCES,
        "replace_existing": True,
    }
    intervals: dict[str, float] = {}
    at_most_once = set()
    for index in range(25):
        job_id = f"iv{index}"
        intervals[job_id] = 0.5 if index < 15 else 1.0
        if index % 5 == 0:
            at_most_once.add(job_id)
        scheduler.add_job(
            jobs.record,
            "interval",
            seconds=intervals[job_id],
            start_date=first,
            id=job_id,
            at_most_once=job_id in at_most_once,
            **common,
        )
    crons = []
    for index in range(10):
        job_id = f"cr{index}"
        crons.append(job_id)
        if index == 0:
            at_most_once.add(job_id)
        scheduler.add_job(
            jobs.record,
            "cron",
            second="*",
            start_date=first,
            id=job_id,
            at_most_once=job_id in at_most_once,
            **common,
        )
    dates = {}
    for index in range(20):
        job_id = f"dt{index}"
        # Whole milliseconds: the ledger and the records are matched at that precision.
        dates[job_id] = start + round(rng.uniform(0.5, CHAOS_SECONDS + 1.0), 3)
        run_date = datetime.fromtimestamp(dates[job_id], timezone.utc)
        scheduler.add_job(jobs.record, "date", run_date=run_date, id=job_id, **common)
    return Plan(start, intervals, crons, dates, frozenset(at_most_once))


def sleep_until(moment: float, while_waiting: Callable[[], None]) -> None:
    """Sleep until the wall clock reaches ``moment``, checking the workers on the way."""
    while (remaining := moment - time.time()) > 0:
        while_waiting()
        time.sleep(min(remaining, 0.25))


@pytest.mark.parametrize("kind", KINDS)
def test_killed_schedulers_lose_and_repeat_nothing(
    kind: str,
    make_backend: Callable[[str], Backend],
    make_workers: Callable[..., Workers],
    ledger: Ledger,
) -> None:
    seed = random.randrange(2**32)
    rng = random.Random(seed)
    backend = make_backend(kind)
    options = [
        "--checkin-interval",
        str(CHECKIN_INTERVAL),
        "--lease-time",
        str(LEASE_TIME),
        "--poll-interval",
        str(POLL_INTERVAL),
    ]
    workers = make_workers(backend, *options)

    store = backend.create_store()
    admin = BackgroundScheduler(timezone="UTC", jobstores={"default": store})
    admin.start(paused=True)  # creates the tables; adds go straight to the store
    try:
        workers.start_all(WORKERS)
        start = float(math.ceil(time.time()) + 1)
        plan = add_jobs(admin, start, rng)

        # Chaos: every 2-4 s one worker dies without a word, and a new one takes its place.
        moment = start
        while (moment := moment + rng.uniform(2.0, 4.0)) < start + CHAOS_SECONDS:
            sleep_until(moment, workers.check_alive)
            number = rng.randrange(WORKERS)
            workers.kill(number)
            workers.start(number)
        sleep_until(start + RUN_SECONDS, workers.check_alive)
        workers.wait_ready()  # a worker still starting up would not take SIGTERM cleanly
        end = time.time()
        workers.stop_all()

        ledger.read()
        records = store.get_runs(limit=None)
    finally:
        admin.shutdown()

    problems, figures = judge(
        plan, records, ledger, workers, low=start + 1.0, high=end - LEASE_TIME - 1.0
    )
    print(f"\n[chaos {kind}] seed={seed} " + ", ".join(f"{k}={v}" for k, v in figures.items()))
    if problems.found:
        pytest.fail(
            f"{problems.summary()}\n(seed {seed}; {figures})\n"
            f"worker logs:\n{workers.logs_text()[-4000:]}"
        )
    assert figures["occurrences"] >= MIN_OCCURRENCES, figures


class Problems:
    """What the judgement found, by kind, with a few examples of each."""

    def __init__(self) -> None:
        self.found: dict[str, list[str]] = {}

    def add(self, kind: str, example: str) -> None:
        self.found.setdefault(kind, []).append(example)

    def summary(self, examples: int = 4) -> str:
        lines = []
        for kind, found in self.found.items():
            lines.append(f"{len(found)} x {kind}, e.g.:")
            lines.extend(f"    {example}" for example in found[:examples])
        return "\n".join(lines)


def short(record: JobRun) -> str:
    """A run record in one short line."""
    flags = " recovered" if record.recovered else ""
    return (
        f"{record.job_id}@{record.scheduled_run_time.timestamp():.3f} {record.status} "
        f"by {record.scheduler_id} attempt {record.attempt}{flags}"
    )


def judge(
    plan: Plan, records: list[JobRun], ledger: Ledger, workers: Workers, low: float, high: float
) -> tuple[Problems, dict[str, Any]]:
    """Compare the records, the ledger and the plan; return the problems and the figures."""
    problems = Problems()
    by_key: dict[tuple[str, float], JobRun] = {}
    for record in records:
        key = occurrence_key(record.job_id, record.scheduled_run_time.timestamp())
        if key in by_key:
            problems.add(
                "two records for one occurrence", f"{short(by_key[key])} / {short(record)}"
            )
        by_key[key] = record
        if not plan.is_fire_time(*key):
            problems.add("a record at no fire time of its job", short(record))
        if record.recovered != (record.attempt > 1):
            problems.add("recovered and attempt disagree", short(record))
        if record.status is RunStatus.INTERRUPTED and not plan.not_rerun(record.job_id):
            problems.add("interrupted, but the job is not at-most-once", short(record))
        if record.status is RunStatus.ERROR:
            # The job function never raises: an error is the scheduler failing to run it.
            problems.add("an error record (the job never raises)", short(record))

    starts, ends = ledger.runs("start"), ledger.runs("end")
    killed = {worker.pid for worker in workers.killed}
    for key, pids in starts.items():
        job_id = key[0]
        run = by_key.get(key)
        if run is None:
            problems.add("ran without a record", f"{key} pids {pids}")
            continue
        if sum(pid not in killed for pid in pids) > 1:
            problems.add("ran twice in live schedulers", f"pids {pids}: {short(run)}")
        if len(pids) > 1 and not (run.recovered and run.attempt >= len(pids)):
            problems.add("ran again, the record is no recovery", f"pids {pids}: {short(run)}")
        if job_id in plan.at_most_once and (len(pids) > 1 or run.attempt != 1):
            problems.add("at-most-once job ran again", f"pids {pids}: {short(run)}")
        # A run cut short by a SIGKILL: recovered, or (at-most-once) recorded as interrupted.
        cut_short = [pid for pid in pids if pid in killed and pid not in ends.get(key, [])]
        if cut_short and run.status.finished:
            if plan.not_rerun(job_id):
                if run.status is not RunStatus.INTERRUPTED and not run.recovered:
                    problems.add("cut short, neither interrupted nor rerun", short(run))
            elif not run.recovered:
                problems.add("cut short, not recovered", f"pid {cut_short}: {short(run)}")

    # A clean shutdown (wait=True) finishes every run it started. What it took but had not
    # started yet it may leave running: its check-in is released, so the others recover it at
    # once (here they are all stopping, so those records stay; they are after the window).
    stopped = {worker.pid for worker in workers.stopped}
    released = 0
    for record in records:
        pid = pid_of(record.scheduler_id)
        if not record.status.finished and pid in stopped:
            key = occurrence_key(record.job_id, record.scheduled_run_time.timestamp())
            if pid in starts.get(key, []):
                problems.add("started, then left unfinished by a clean shutdown", short(record))
            released += 1

    expected = plan.fire_times(low, high)
    for key in sorted(expected):
        run = by_key.get(key)
        if run is None:
            problems.add("lost: no record in the window", str(key))
        elif run.status not in (RunStatus.SUCCESS, RunStatus.INTERRUPTED):
            problems.add(f"{run.status} in the window", short(run))
        elif run.status is RunStatus.SUCCESS:
            pid = pid_of(run.scheduler_id)
            if pid not in starts.get(key, []) or pid not in ends.get(key, []):
                problems.add("a success of a scheduler that did not run it", short(run))

    statuses = Counter(str(record.status) for record in records)
    figures = {
        "occurrences": len(records),
        "checked_window": len(expected),
        "runs_started": sum(len(pids) for pids in starts.values()),
        "kills": len(workers.killed),
        "runs_by_killed": sum(pid in killed for pids in starts.values() for pid in pids),
        "cut_short": sum(
            pid in killed and pid not in ends.get(key, [])
            for key, pids in starts.items()
            for pid in pids
        ),
        "recovered": sum(record.recovered for record in records),
        "interrupted": statuses.get("interrupted", 0),
        "interrupted_date_jobs": sum(
            record.status is RunStatus.INTERRUPTED and record.job_id in plan.dates
            for record in records
        ),
        "statuses": dict(statuses),
        "recovery_events": len(ledger.of("recovered")),
        "released_unstarted": released,
    }
    return problems, figures


def test_judge_catches_what_it_must(tmp_path: Any) -> None:
    """The oracle itself: a double run, a rerun without a recovery record, an at-most-once
    rerun and a lost occurrence are each reported (no servers, no processes)."""
    from types import SimpleNamespace

    def at(seconds: float) -> datetime:
        return datetime.fromtimestamp(seconds, timezone.utc)

    plan = Plan(1000.0, {"iv0": 1.0, "iv1": 1.0}, [], {}, frozenset({"iv1"}))
    ok = RunStatus.SUCCESS
    records = [
        JobRun("iv0", at(1001), ok, "w0-100"),  # run twice by live schedulers 100 and 200
        JobRun("iv0", at(1002), ok, "w0-100"),
        JobRun("iv1", at(1001), RunStatus.SUCCESS, "w0-100", attempt=2, recovered=True),
    ]  # iv0 and iv1 at 1003: lost; iv1 at 1002: lost
    ledger = Ledger(tmp_path / "ledger.txt")
    ledger.path.write_text(
        "start iv0 1001.0 100 0\nend iv0 1001.0 100 0\nstart iv0 1001.0 200 0\n"
        "start iv0 1002.0 100 0\nend iv0 1002.0 100 0\n"
        "start iv1 1001.0 300 0\nstart iv1 1001.0 100 0\nend iv1 1001.0 100 0\n"
    )
    ledger.read()
    workers: Any = SimpleNamespace(killed=[SimpleNamespace(pid=300)], stopped=[])
    problems, _ = judge(plan, records, ledger, workers, low=1001.0, high=1003.0)
    assert set(problems.found) == {
        "ran twice in live schedulers",
        "ran again, the record is no recovery",
        "at-most-once job ran again",
        "lost: no record in the window",
    }
    assert len(problems.found["lost: no record in the window"]) == 3
