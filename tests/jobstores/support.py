"""Helpers for the job store tests: reaching past a store into its backend (raw rows).

Jobs are built with :func:`support.make_job`."""

from __future__ import annotations

from datetime import datetime

from quartzite.jobstores.base import BaseJobStore
from quartzite.util import datetime_to_utc_timestamp


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
