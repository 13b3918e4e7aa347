"""Run-now through a store that several schedulers share: the occurrence runs exactly once.

A scheduler started paused (the web-worker pattern) asks for the run; two running schedulers
share the store with it, each with its own store object (as separate processes would have), and
whichever claims first runs it. The job counts its calls in a file, which both runners see.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from quartzite.runs import RunStatus
from quartzite.schedulers.background import BackgroundScheduler

KINDS = ["sqlite_file", "postgresql", "redis"]


def count_call(path: str) -> None:
    """The job: append one line to ``path`` per call."""
    with open(path, "a", encoding="utf-8") as file:
        file.write("call\n")


def _same_store(store: Any) -> Any:
    """Another store object on the same table or keys (what another process would build)."""
    if hasattr(store, "jobs_t"):
        from quartzite.jobstores.sqlalchemy import SQLAlchemyJobStore

        url = store.engine.url.render_as_string(hide_password=False)
        return SQLAlchemyJobStore(url, tablename=store.jobs_t.name, poll_interval=0.2)
    from quartzite.jobstores.redis import RedisJobStore

    kwargs = store.redis.connection_pool.connection_kwargs
    return RedisJobStore(
        jobs_key=store.jobs_key,
        run_times_key=store.run_times_key,
        host=kwargs["host"],
        port=kwargs["port"],
    )


def _scheduler(store: Any, name: str) -> BackgroundScheduler:
    return BackgroundScheduler(
        timezone="UTC", jobstores={"default": store}, scheduler_id=name, job_defaults={}
    )


@pytest.mark.parametrize("kind", KINDS)
def test_run_now_from_a_paused_scheduler_runs_once_among_two(
    kind: str, create_store: Any, tmp_path: Path
) -> None:
    first = create_store(kind, start=False)
    second, asking = _same_store(first), _same_store(first)
    calls = tmp_path / "calls.txt"

    web = _scheduler(asking, "web")
    runners = [_scheduler(first, "runner-1"), _scheduler(second, "runner-2")]
    web.start(paused=True)
    try:
        web.add_job(count_call, "interval", hours=1, args=[str(calls)], id="job")
        for runner in runners:
            runner.start()
        record = web.run_job_now("job")
        assert record.status is RunStatus.PENDING and record.manual

        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            runs = web.get_job_runs("job")
            if runs and runs[0].status.finished:
                break
            time.sleep(0.05)
        [run] = web.get_job_runs("job")
        assert run.status is RunStatus.SUCCESS, run
        assert run.scheduler_id in ("runner-1", "runner-2")
        time.sleep(0.5)  # a second run, if there were one, would have happened by now
        assert calls.read_text(encoding="utf-8") == "call\n"
        assert len(web.get_job_runs("job")) == 1
    finally:
        for runner in runners:
            if runner.running:
                runner.shutdown()
        web.shutdown()
