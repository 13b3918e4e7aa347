"""A job store on Redis: a hash of serialized jobs and a sorted set of their next run times."""

from __future__ import annotations

import base64
import json
import pickle
import time
from datetime import datetime
from typing import TYPE_CHECKING, Any, Callable, TypeVar

from .._optional import missing_dependency
from ..serializers import BaseSerializer
from ..util import datetime_to_utc_timestamp, utc_timestamp_to_datetime
from ._persistent import QuarantinedJob, SerializingJobStore, StoredRow
from .base import ConflictingIdError, JobLookupError

try:
    from redis import Redis
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise missing_dependency("RedisJobStore requires redis installed", "redis", exc) from exc

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


def _empty(name: str) -> ValueError:
    return ValueError(f'The "{name}" parameter must not be empty')  # the contract's words


def _whole_number(name: str, value: Any, low: int, high: int | None) -> int:
    """``value`` as an int within the bounds; a numeric string is accepted, as configuration
    files give every value as text."""
    if value is None or value == "":
        raise _empty(name)
    expected = f"an int from {low} to {high}" if high is not None else f"an int >= {low}"
    if isinstance(value, str) and value.strip().isdigit():
        number = int(value)
    elif isinstance(value, int) and not isinstance(value, bool):
        number = value
    else:
        error = ValueError if isinstance(value, str) else TypeError
        raise error(f"RedisJobStore: {name} must be {expected}, got {value!r}")
    if number < low or (high is not None and number > high):
        raise ValueError(f"RedisJobStore: {name} must be {expected}, got {value!r}")
    return number


def _key_name(name: str, value: Any) -> str:
    if value is None or value == "":
        raise _empty(name)
    if not isinstance(value, str):
        raise TypeError(
            f"RedisJobStore: {name} must be a non-empty str, got {value!r} ({type(value).__name__})"
        )
    return value


class RedisJobStore(SerializingJobStore):
    """Keeps jobs in two Redis keys (alias ``redis``).

    ``jobs_key`` is a hash from job id to serialized state; ``run_times_key`` is a sorted set
    of the ids of the jobs that will run, each scored with its next run time as a UTC
    timestamp, so the due jobs are one range query. A paused job has no member in the sorted
    set. Adding and updating a job run as small Lua scripts, so the two keys never disagree,
    and the writes of a processing round travel in one ``MULTI``/``EXEC`` pipeline. States are
    always read as bytes, so a client made with ``decode_responses=True`` works too.

    A job that cannot be restored is moved to the hash ``<jobs_key>.quarantine``: its field is
    the job id, its value a JSON record of the raw state (base64), the next run time, the error
    and the time of the move.

    The options are checked here, when the store is built, so that a typo in a configuration
    fails at start-up instead of at every wake-up of the scheduler.

    :param int db: the Redis database number (0 or more)
    :param str jobs_key: the hash that holds the job states
    :param str run_times_key: the sorted set that orders the jobs by next run time
    :param int pickle_protocol: the protocol the default pickle serializer writes; the highest
        this Python knows unless you must stay readable by older ones
    :param serializer: how job state is written: ``"pickle"`` (the default), ``"json"`` or a
        :class:`~quartzite.serializers.BaseSerializer`
    :param connect_args: passed on to :class:`redis.Redis` (``host``, ``port``, ``password``,
        ``ssl`` and so on)
    :raises TypeError: for an option of the wrong type
    :raises ValueError: for an option with a bad value (each message names the option)
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
        database = _whole_number("db", db, 0, None)
        self.jobs_key = _key_name("jobs_key", jobs_key)
        self.run_times_key = _key_name("run_times_key", run_times_key)
        if "port" in connect_args:
            connect_args["port"] = _whole_number("port", connect_args["port"], 1, 65535)
        self.quarantine_key = f"{self.jobs_key}.quarantine"
        self.redis = Redis(db=database, **connect_args)
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
