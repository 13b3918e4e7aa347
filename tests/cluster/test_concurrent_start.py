"""Six processes start a scheduler on one fresh store at the same moment and each adds the same
twenty jobs with ``replace_existing=True`` (what every process of a web application does at
start-up): nobody errors, the store ends up with exactly twenty jobs, and adding a job again
with an unchanged trigger keeps its stored next run time (restarts must not push the schedule
back)."""

from __future__ import annotations

import multiprocessing
import queue
import time
from typing import Any, Callable

import pytest

from quartzite.schedulers.background import BackgroundScheduler

from .harness import KINDS, PATIENCE, Backend, add_same_jobs

pytestmark = [pytest.mark.services, pytest.mark.processes]

PROCESSES = 6
JOB_IDS = [f"same-{index}" for index in range(20)]


def stored_next_run_times(scheduler: BackgroundScheduler) -> dict[str, float]:
    return {
        job.id: job.next_run_time.timestamp()
        for job in scheduler.get_jobs()
        if job.next_run_time is not None
    }


@pytest.mark.parametrize("kind", KINDS)
def test_processes_adding_the_same_jobs_at_once(
    kind: str, make_backend: Callable[[str], Backend]
) -> None:
    backend = make_backend(kind)
    context = multiprocessing.get_context("spawn")
    start_together = context.Barrier(PROCESSES)
    first_round_done = context.Barrier(PROCESSES + 1)  # + the test, which reads the jobs
    second_round_go = context.Barrier(PROCESSES + 1)
    results: Any = context.Queue()
    processes = [
        context.Process(
            target=add_same_jobs,
            args=(
                backend,
                number,
                JOB_IDS,
                start_together,
                first_round_done,
                second_round_go,
                results,
            ),
        )
        for number in range(PROCESSES)
    ]
    for process in processes:
        process.start()
    admin = None
    outcomes: list[tuple[int, str, Any]] = []
    try:
        first_round_done.wait(PATIENCE)
        admin = BackgroundScheduler(timezone="UTC", jobstores={"default": backend.create_store()})
        admin.start(paused=True)
        after_first = stored_next_run_times(admin)
        # A replace that recomputed the next run time would now give a later one.
        time.sleep(0.5)
        second_round_go.wait(PATIENCE)
        for _ in processes:
            outcomes.append(results.get(timeout=PATIENCE))
        after_second = stored_next_run_times(admin)
        rows = raw_row_count(admin._jobstores["default"])
    except Exception:
        # A child that failed aborted the barriers: show its traceback rather than ours.
        while True:
            try:
                outcomes.append(results.get(timeout=1))
            except queue.Empty:
                break
        errors = [outcome for outcome in outcomes if outcome[1] == "error"]
        if errors:
            pytest.fail("\n".join(f"process {number}:\n{text}" for number, _, text in errors))
        raise
    finally:
        if admin is not None:
            admin.shutdown()
        for process in processes:
            process.join(PATIENCE)
            if process.is_alive():
                process.kill()

    errors = [outcome for outcome in outcomes if outcome[1] == "error"]
    assert not errors, "\n".join(f"process {number}:\n{text}" for number, _, text in errors)
    assert [process.exitcode for process in processes] == [0] * PROCESSES
    assert rows == len(JOB_IDS)
    assert sorted(after_first) == sorted(JOB_IDS)
    # What the store kept is what one of the adds computed...
    for job_id, stored in after_first.items():
        returned = {round(outcome[2][job_id], 3) for outcome in outcomes}
        assert round(stored, 3) in returned, (job_id, stored, returned)
    # ... and the second round of adds, with the same trigger, did not move it.
    assert after_second == pytest.approx(after_first, abs=1e-3)


def raw_row_count(store: Any) -> int:
    """How many jobs the backend holds, counted in the backend itself."""
    if hasattr(store, "jobs_t"):
        from sqlalchemy import func, select

        with store.engine.connect() as connection:
            return int(connection.execute(select(func.count()).select_from(store.jobs_t)).scalar())
    return int(store.redis.hlen(store.jobs_key))
