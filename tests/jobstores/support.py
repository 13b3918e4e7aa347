"""Helpers for the job store tests: building jobs, reaching past a store into its backend."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from quartzite.job import Job
from quartzite.jobstores.base import BaseJobStore
from quartzite.triggers.base import BaseTrigger
from quartzite.triggers.date import DateTrigger
from quartzite.util import datetime_to_utc_timestamp

from .jobfuncs import dummy_job


def make_job(
    scheduler: Any,
    run_date: datetime | None = None,
    *,
    id: str | None = None,
    trigger: BaseTrigger | None = None,
    paused: bool = False,
    func: Any = dummy_job,
    **kwargs: Any,
) -> Job:
    """A job as the scheduler would store it: every field set, ``next_run_time`` from the trigger
    (``None`` when ``paused``)."""
    if trigger is None:
        trigger = DateTrigger(run_date, timezone="Europe/Berlin")
    options: dict[str, Any] = {
        "func": func,
        "trigger": trigger,
        "executor": "default",
        "args": (),
        "kwargs": {},
        "misfire_grace_time": 1,
        "coalesce": True,
        "max_instances": 1,
    }
    options.update(kwargs)
    if "next_run_time" not in options:
        now = datetime(2000, 1, 1).astimezone()
        options["next_run_time"] = None if paused else trigger.get_next_fire_time(None, now)
    return Job(scheduler, id=id, **options)


def insert_raw_row(
    store: BaseJobStore, job_id: str, job_state: bytes, next_run_time: datetime | None
) -> None:
    """Put a row straight into the store's backend, bypassing serialization."""
    timestamp = datetime_to_utc_timestamp(next_run_time)
    if hasattr(store, "jobs_t"):
        from sqlalchemy import insert

        with store.engine.begin() as connection:
            connection.execute(
                insert(store.jobs_t).values(id=job_id, next_run_time=timestamp, job_state=job_state)
            )
    else:
        store.redis.hset(store.jobs_key, job_id, job_state)
        if timestamp is not None:
            store.redis.zadd(store.run_times_key, {job_id: timestamp})


def raw_row_ids(store: BaseJobStore) -> set[str]:
    """The ids of every row in the store's backend."""
    if hasattr(store, "jobs_t"):
        from sqlalchemy import select

        with store.engine.connect() as connection:
            return set(connection.execute(select(store.jobs_t.c.id)).scalars())
    return {
        key.decode() if isinstance(key, bytes) else key for key in store.redis.hkeys(store.jobs_key)
    }


def read_raw_state(store: BaseJobStore, job_id: str) -> bytes:
    """The serialized state of a job as the backend holds it."""
    if hasattr(store, "jobs_t"):
        from sqlalchemy import select

        with store.engine.connect() as connection:
            value = connection.execute(
                select(store.jobs_t.c.job_state).where(store.jobs_t.c.id == job_id)
            ).scalar_one()
        return bytes(value)
    return store.redis.execute_command("HGET", store.jobs_key, job_id, NEVER_DECODE=True)
