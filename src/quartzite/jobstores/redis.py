"""A job store on Redis: a hash of serialized jobs and a sorted set of their next run times."""

from __future__ import annotations

import base64
import json
import pickle
import time
from datetime import datetime
from typing import TYPE_CHECKING, Any, Callable, TypeVar

from ..serializers import BaseSerializer
from ..util import datetime_to_utc_timestamp, utc_timestamp_to_datetime
from ._persistent import QuarantinedJob, SerializingJobStore, StoredRow
from .base import ConflictingIdError, JobLookupError

try:
    from redis import Redis
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ModuleNotFoundError("RedisJobStore requires redis installed") from exc

try:
    from redis.client import NEVER_DECODE
except ImportError:  # pragma: no cover - older redis-py
    NEVER_DECODE = "NEVER_DECODE"

if TYPE_CHECKING:
    from ..job import Job

__all__ = ("RedisJobStore",)

_T = TypeVar("_T")
# Read a reply as bytes even when the client decodes replies (decode_responses=True): job
# states may be pickles, which are not text.
_RAW = {NEVER_DECODE: True}

# KEYS: jobs hash, run times zset. ARGV: id, state, score ("" when paused).
_ADD_SCRIPT = """
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 0 then return 0 end
if ARGV[3] ~= '' then redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1]) end
return 1
"""
_UPDATE_SCRIPT = """
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
if ARGV[3] == '' then
  redis.call('ZREM', KEYS[2], ARGV[1])
else
  redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
end
return 1
"""
# KEYS: jobs hash, run times zset, quarantine hash. ARGV: id, raw state, record, field suffix.
# Keeps an earlier record of the same id under "ID#SUFFIX"; removes the job only if its state
# is still the bad one.
_QUARANTINE_SCRIPT = """
if redis.call('HSETNX', KEYS[3], ARGV[1], ARGV[3]) == 0 then
  redis.call('HSET', KEYS[3], ARGV[1] .. '#' .. ARGV[4], ARGV[3])
end
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then
  redis.call('HDEL', KEYS[1], ARGV[1])
  redis.call('ZREM', KEYS[2], ARGV[1])
end
return 1
"""


def _text(value: str | bytes) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else value


def _score(timestamp: float | None) -> str:
    return "" if timestamp is None else repr(timestamp)


class RedisJobStore(SerializingJobStore):
    """Stores jobs in a Redis database. Plugin alias: ``redis``.

    Layout: the hash ``jobs_key`` maps job id → serialized state; the sorted set
    ``run_times_key`` holds the ids of the jobs that are not paused, scored by their next run
    time (UTC timestamp). Adding and updating are atomic (Lua scripts); the writes of one
    processing round go in one ``MULTI``/``EXEC`` pipeline. Works whether the client decodes
    replies (``decode_responses=True``) or not.

    A job that cannot be restored is copied to the hash ``<jobs_key>.quarantine`` (field = job
    id; value = JSON with the base64 raw state, next run time, error and UTC timestamp) and
    removed.

    Any extra keyword arguments are passed to :class:`redis.Redis`.

    :param int db: the database number to store jobs in
    :param str jobs_key: key to store jobs in
    :param str run_times_key: key to store the jobs' run times in
    :param int pickle_protocol: pickle protocol level to use (for serialization), defaults to
        the highest available
    :param serializer: a :class:`~quartzite.serializers.BaseSerializer`, ``"pickle"`` (the
        default) or ``"json"``
    """

    def __init__(
        self,
        db: int | str = 0,
        jobs_key: str = "quartzite.jobs",
        run_times_key: str = "quartzite.run_times",
        pickle_protocol: int = pickle.HIGHEST_PROTOCOL,
        serializer: BaseSerializer | str | None = None,
        **connect_args: Any,
    ) -> None:
        super().__init__(serializer, pickle_protocol)
        if db is None:
            raise ValueError('The "db" parameter must not be empty')
        if not jobs_key:
            raise ValueError('The "jobs_key" parameter must not be empty')
        if not run_times_key:
            raise ValueError('The "run_times_key" parameter must not be empty')

        self.jobs_key = jobs_key
        self.run_times_key = run_times_key
        self.quarantine_key = f"{jobs_key}.quarantine"
        self.redis = Redis(db=int(db), **connect_args)
        self._add_script = self.redis.register_script(_ADD_SCRIPT)
        self._update_script = self.redis.register_script(_UPDATE_SCRIPT)
        self._quarantine_script = self.redis.register_script(_QUARANTINE_SCRIPT)

    def shutdown(self) -> None:
        self.redis.connection_pool.disconnect()

    def _run(self, operation: Callable[[], _T]) -> _T:
        """Run ``operation``; once more if the connection failed (the client reconnects)."""
        try:
            return operation()
        except (RedisConnectionError, RedisTimeoutError) as exc:
            self._logger.warning("Lost the connection to Redis (%s) -- retrying once", exc)
        return operation()

    # -- reads

    def _rows(self, ids_and_scores: list[tuple[Any, float | None]]) -> list[StoredRow]:
        """Fetch the states of the given jobs; drop ids whose state has gone."""
        if not ids_and_scores:
            return []
        ids = [_text(job_id) for job_id, _score in ids_and_scores]
        states = self._run(lambda: self.redis.execute_command("HMGET", self.jobs_key, *ids, **_RAW))
        rows = []
        for job_id, (_member, score), state in zip(ids, ids_and_scores, states):
            if state is not None:
                rows.append(StoredRow(job_id, state, score))
        return rows

    def lookup_job(self, job_id: str) -> Job | None:
        self._flush_batch()

        def read() -> list[Any]:
            with self.redis.pipeline(transaction=False) as pipe:
                pipe.execute_command("HGET", self.jobs_key, job_id, **_RAW)
                pipe.zscore(self.run_times_key, job_id)
                return pipe.execute()

        state, score = self._run(read)
        if state is None:
            return None
        return self._restore_one(StoredRow(job_id, state, score))

    def get_due_jobs(self, now: datetime) -> list[Job]:
        self._flush_batch()
        timestamp = datetime_to_utc_timestamp(now)
        due: list[Any] = self._run(
            lambda: self.redis.zrangebyscore(
                self.run_times_key, "-inf", repr(timestamp), withscores=True
            )
        )
        jobs = self._restore_jobs(self._rows(due))
        self._remember_due(jobs)
        return jobs

    def get_next_run_time(self) -> datetime | None:
        self._flush_batch()
        first: list[Any] = self._run(
            lambda: self.redis.zrange(self.run_times_key, 0, 0, withscores=True)
        )
        return utc_timestamp_to_datetime(float(first[0][1])) if first else None

    def get_all_jobs(self) -> list[Job]:
        self._flush_batch()

        def read() -> list[Any]:
            with self.redis.pipeline(transaction=False) as pipe:
                pipe.execute_command("HGETALL", self.jobs_key, **_RAW)
                pipe.zrange(self.run_times_key, 0, -1, withscores=True)
                return pipe.execute()

        states, scores = self._run(read)
        score_of = {_text(member): score for member, score in scores}
        rows = [
            StoredRow(_text(job_id), state, score_of.get(_text(job_id)))
            for job_id, state in states.items()
        ]
        rows.sort(key=lambda row: (row.next_run_time is None, row.next_run_time or 0, row.id))
        return self._restore_jobs(rows)

    # -- writes

    def add_job(self, job: Job) -> None:
        self._flush_batch()
        job_state = self._serialize_job(job)
        score = _score(datetime_to_utc_timestamp(job.next_run_time))
        keys = [self.jobs_key, self.run_times_key]
        added = self._run(lambda: self._add_script(keys, [job.id, job_state, score]))
        if not added:
            raise ConflictingIdError(job.id)

    def _update_row(self, job_id: str, job_state: bytes, next_run_time: float | None) -> None:
        keys = [self.jobs_key, self.run_times_key]
        args: list[str | bytes] = [job_id, job_state, _score(next_run_time)]
        if not self._run(lambda: self._update_script(keys, args)):
            raise JobLookupError(job_id)

    def _remove_row(self, job_id: str) -> None:
        def remove() -> list[Any]:
            with self.redis.pipeline() as pipe:
                pipe.hdel(self.jobs_key, job_id)
                pipe.zrem(self.run_times_key, job_id)
                return pipe.execute()

        if not self._run(remove)[0]:
            raise JobLookupError(job_id)

    def _write_batch(
        self, updates: list[tuple[str, bytes, float | None]], removals: list[str]
    ) -> None:
        keys = [self.jobs_key, self.run_times_key]

        # Idempotent, so a retry after a dropped connection is safe
        def write() -> None:
            with self.redis.pipeline() as pipe:
                for job_id, job_state, next_run_time in updates:
                    self._update_script(keys, [job_id, job_state, _score(next_run_time)], pipe)
                if removals:
                    pipe.hdel(self.jobs_key, *removals)
                    pipe.zrem(self.run_times_key, *removals)
                pipe.execute()

        self._run(write)

    def remove_all_jobs(self) -> None:
        self._flush_batch()
        self._run(lambda: self.redis.delete(self.jobs_key, self.run_times_key))

    # -- quarantine

    @property
    def _quarantine_location(self) -> str:
        return f"Redis hash {self.quarantine_key}"

    def _quarantine_rows(self, failed: list[tuple[StoredRow, str]]) -> None:
        now = time.time()
        keys = [self.jobs_key, self.run_times_key, self.quarantine_key]
        for row, error in failed:
            record = json.dumps(
                {
                    "id": row.id,
                    "next_run_time": row.next_run_time,
                    "job_state_base64": base64.b64encode(row.job_state).decode("ascii"),
                    "error": error,
                    "quarantined_at": now,
                }
            )
            args: list[str | bytes] = [row.id, row.job_state, record, repr(now)]
            self._run(lambda args=args: self._quarantine_script(keys, args))  # type: ignore[misc]

    def get_quarantined_jobs(self) -> list[QuarantinedJob]:
        records = self._run(lambda: self.redis.hvals(self.quarantine_key))
        jobs = []
        for text in records:
            record = json.loads(text)
            jobs.append(
                QuarantinedJob(
                    record["id"],
                    base64.b64decode(record["job_state_base64"]),
                    record["next_run_time"],
                    record["error"],
                    record["quarantined_at"],
                )
            )
        jobs.sort(key=lambda job: job.quarantined_at)
        return jobs

    def __repr__(self) -> str:
        return f"<{self.__class__.__name__}>"
