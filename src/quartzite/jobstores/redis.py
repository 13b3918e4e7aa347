"""A job store on Redis that several schedulers may share.

Jobs live in a hash of serialized states and a sorted set of next run times; run records,
claims and check-ins in keys beside them (see :class:`RedisJobStore`). The run-record half of
the store is in ``_redis_runs``, its Lua scripts in ``_redis_scripts``, the pub/sub wake-up in
``_redis_wakeup``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import pickle
import random
import time
from collections import defaultdict
from collections.abc import Collection
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Callable

from .._optional import missing_dependency
from .._schedule import MAX_CATCH_UP
from ..serializers import BaseSerializer
from ..util import datetime_to_utc_timestamp, utc_timestamp_to_datetime
from ._persistent import QuarantinedJob, StoredRow
from .base import ConflictingIdError, JobLookupError

try:
    from redis import Redis
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise missing_dependency("RedisJobStore requires redis installed", "redis", exc) from exc

# Imported after the check above: these modules import redis themselves
from ..runs import RunStatus
from . import _redis_scripts as scripts
from ._redis_runs import KEPT_STATE, RedisRunStore, dump, new_record, timestamp
from ._redis_runs import RAW as _RAW
from ._redis_wakeup import ChangeWatcher
from .claims import DEFAULT_CLAIM_LIMIT, RUN_NOW, Claim, ClaimedRun, HistoryOptions, plan_job

if TYPE_CHECKING:
    from ..job import Job

__all__ = ("RedisJobStore",)

#: Seconds a claim holds the jobs it took before writing them: should its scheduler die in
#: between, another takes them once the hold has expired.
CLAIM_HOLD = 30.0


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


class RedisJobStore(RedisRunStore):
    """Keeps jobs, their run records and the claims of the schedulers sharing them in Redis
    (alias ``redis``).

    ``jobs_key`` is a hash from job id to serialized state; ``run_times_key`` is a sorted set
    of the ids of the jobs that will run, each scored with its next run time as a UTC
    timestamp, so the due jobs are one range query. A paused job has no member in the sorted
    set. Adding and updating a job run as small Lua scripts, so the two keys never disagree,
    and the writes of a processing round travel in one ``MULTI``/``EXEC`` pipeline. States are
    always read as bytes, so a client made with ``decode_responses=True`` works too.

    Any number of schedulers, in any number of processes, may share the keys. A claim
    (:meth:`claim_jobs`) is two scripts around the trigger arithmetic, which runs in Python: the
    first holds the due jobs nobody else holds (hash ``<jobs_key>.claims``: job id ->
    ``"scheduler_id|expires"``) and returns them; the second writes their new state and their
    run records, only where the hold is still this claim's and the job unchanged, and releases
    the holds. Should the scheduler die in between, the holds expire after 30 seconds and the
    jobs, still due, go to the next claim. Run records and their indexes live in keys named
    ``<jobs_key>.runs...``, ``<jobs_key>.running...``, ``<jobs_key>.pending`` and check-ins in
    ``<jobs_key>.schedulers``; every key the store uses starts with ``jobs_key`` (except
    ``run_times_key``), so stores with different ``jobs_key`` never collide. Run records are
    kept when jobs are removed (history outlives jobs). The scripts derive some keys from
    others, so the store needs a single Redis node (not Redis Cluster).

    Every change to the jobs (added, modified, removed) and every run-now request publishes an
    empty message on the channel ``<jobs_key>.changes``; :meth:`watch` listens to it, so
    schedulers sharing the store wake at once (``poll_interval`` is ``None``).

    A job that cannot be restored is moved to the hash ``<jobs_key>.quarantine``: its field is
    the job id, its value a JSON record of the raw state (base64), the next run time, the error
    and the time of the move.

    The options are checked here, when the store is built, so that a typo in a configuration
    fails at start-up instead of at every wake-up of the scheduler.

    :param int db: the Redis database number (0 or more)
    :param str jobs_key: the hash that holds the job states (and the prefix of the other keys)
    :param str run_times_key: the sorted set that orders the jobs by next run time
    :param int pickle_protocol: the protocol the default pickle serializer writes; the highest
        this Python knows unless you must stay readable by older ones
    :param serializer: how job state is written: ``"pickle"`` (the default), ``"json"`` or a
        :class:`~quartzite.serializers.BaseSerializer`
    :param bool history: keep finished run records (``False``: a record lives only while its
        run is pending or running)
    :param int max_runs_per_job: how many finished records of each job are kept, the newest
    :param max_run_age: finished records older than this (seconds or a ``timedelta``; 30 days
        by default) are removed
    :param int max_return_value_size: return values whose serialized form is larger than this
        many bytes are not kept in the record (0: never keep them)
    :param bool quarantine_unreadable: move a job that cannot be restored to the quarantine
        (default); ``False`` raises :class:`~quartzite.jobstores.base.UnreadableJobError`
        instead and leaves it in place (for processes that may lack some of the jobs' code)
    :param connect_args: passed on to :class:`redis.Redis` (``host``, ``port``, ``password``,
        ``ssl`` and so on)
    :raises TypeError: for an option of the wrong type
    :raises ValueError: for an option with a bad value (each message names the option)

    :ivar keys: the names of the keys beside the jobs hash (a ``RunKeys``)
    """

    def __init__(
        self,
        db: int | str = 0,
        jobs_key: str = "quartzite.jobs",
        run_times_key: str = "quartzite.run_times",
        pickle_protocol: int = pickle.HIGHEST_PROTOCOL,
        serializer: BaseSerializer | str | None = None,
        history: bool = True,
        max_runs_per_job: int = 100,
        max_run_age: float | timedelta = 30 * 86400.0,
        max_return_value_size: int = 64 * 1024,
        quarantine_unreadable: bool = True,
        **connect_args: Any,
    ) -> None:
        options = HistoryOptions.checked(
            "RedisJobStore", history, max_runs_per_job, max_run_age, max_return_value_size
        )
        super().__init__(
            serializer,
            pickle_protocol,
            history_options=options,
            quarantine_unreadable=quarantine_unreadable,
        )
        database = _whole_number("db", db, 0, None)
        self.jobs_key = _key_name("jobs_key", jobs_key)
        self.run_times_key = _key_name("run_times_key", run_times_key)
        if "port" in connect_args:
            connect_args["port"] = _whole_number("port", connect_args["port"], 1, 65535)
        self.quarantine_key = f"{self.jobs_key}.quarantine"
        self.redis = Redis(db=database, **connect_args)
        self._add_script = self.redis.register_script(scripts.ADD)
        self._update_script = self.redis.register_script(scripts.UPDATE)
        self._quarantine_script = self.redis.register_script(scripts.QUARANTINE)
        self._watcher: ChangeWatcher | None = None
        self._init_runs()

    def shutdown(self) -> None:
        self.unwatch()
        self.redis.connection_pool.disconnect()

    # -- wake-up

    def watch(self, callback: Callable[[], None]) -> None:
        self.unwatch()
        self._watcher = ChangeWatcher(self.redis, self.keys.channel, callback)
        self._watcher.start()

    def unwatch(self) -> None:
        watcher, self._watcher = self._watcher, None
        if watcher is not None:
            watcher.stop()

    # -- claims

    def claim_jobs(
        self,
        scheduler_id: str,
        now: datetime,
        *,
        executors: Collection[str] | None = None,
        limit: int = DEFAULT_CLAIM_LIMIT,
        max_catch_up: int = MAX_CATCH_UP,
    ) -> Claim:
        self._flush_batch()
        now_ts = timestamp(now)
        # The jitter makes the token unique to this call, so a retry of the take script
        # (after a lost reply) recognizes its own holds as free, and no other call does.
        expires = now_ts + CLAIM_HOLD + random.random() / 1000
        token = f"{scheduler_id}|{expires!r}"
        pending, due, more = self._take(token, now_ts, limit)
        return self._plan_and_commit(
            token, scheduler_id, now, pending, due, bool(more), executors, max_catch_up
        )

    def _take(self, token: str, now_ts: float, limit: int) -> tuple[list[Any], list[Any], int]:
        """Hold what is due (the first half of a claim); also used alone by the tests."""
        keys = [self.jobs_key, self.run_times_key, self.keys.claims, self.keys.pending]
        keys += [self.keys.pending_claims, self.keys.runs]
        args = [token, repr(now_ts), limit, "1", self.keys.running_set, limit * 10]
        pending, due, more = self._run(lambda: self._eval("TAKE", keys, args))
        return pending, due, more

    def _plan_and_commit(
        self,
        token: str,
        scheduler_id: str,
        now: datetime,
        pending: list[Any],
        due: list[Any],
        more: bool,
        executors: Collection[str] | None,
        max_catch_up: int,
    ) -> Claim:
        """Plan what the take returned, in Python, and write it with the commit script."""
        now_ts = timestamp(now)
        history = self.history_options.history
        finish = "fin" if history else "del"
        pending = [pending[i : i + 5] for i in range(0, len(pending), 5)]
        due = [due[i : i + 4] for i in range(0, len(due), 4)]
        rows: dict[str, StoredRow] = {}
        for field, _record, state, score, _running in pending:
            job_id = _text(field).rpartition("\n")[0]
            if state is not None:
                rows[job_id] = StoredRow(job_id, state, None if score is None else float(score))
        for job_id, state, score, _running in due:
            rows[_text(job_id)] = StoredRow(_text(job_id), state, float(score))
        jobs = {job.id: job for job in self._restore_jobs(rows.values())}

        added: defaultdict[str, int] = defaultdict(int)  # runs this claim starts, per job
        unknown: dict[str, Job] = {}
        release: list[str] = []
        release_pending: list[str] = []

        pending_args: list[Any] = []
        pending_plans: dict[str, tuple[dict[str, Any], Job | None]] = {}
        for raw_field, raw, _state, _score, running in pending:
            field = _text(raw_field)
            job_id, _, srt = field.rpartition("\n")
            job = jobs.get(job_id)
            if job is not None and executors is not None and job.executor not in executors:
                unknown[job_id] = job
                release_pending.append(field)
                continue
            record = json.loads(raw)
            if job is None:
                message = "the job was removed before it ran"
                record.update(status="interrupted", finished_at=now_ts, exception_message=message)
                action = finish
            elif running + added[job_id] >= job.max_instances:
                record.update(status="max_instances", scheduler_id=scheduler_id)
                record.update(started_at=now_ts, finished_at=now_ts)
                action = finish
            else:
                record.update(status="running", scheduler_id=scheduler_id, started_at=now_ts)
                action = "run"
                added[job_id] += 1
            pending_args += [field, job_id, srt, action, dump(record), repr(now_ts)]
            pending_plans[field] = (record, job)

        job_args: list[Any] = []
        job_plans: dict[str, tuple[Job, Any, dict[str, datetime]]] = {}
        for raw_id, state, _score, running in due:
            job_id = _text(raw_id)
            job = jobs.get(job_id)
            if job is None:  # quarantined
                release.append(job_id)
                continue
            if executors is not None and job.executor not in executors:
                unknown[job_id] = job
                release.append(job_id)
                continue
            plan = plan_job(job, now, running=running + added[job_id], max_catch_up=max_catch_up)
            try:
                if plan.broken:
                    action, new_state, score = "p", self._serialize_job(job), ""
                elif plan.next_run_time is None:
                    action, new_state, score = "r", b"", ""
                else:
                    action, new_state = "u", self._serialize_job(job)
                    score = repr(timestamp(plan.next_run_time))
            except Exception:  # it was stored with this serializer: should not happen
                self._logger.exception('Unable to store the advanced job "%s"', job_id)
                release.append(job_id)
                continue
            records: list[Any] = []
            run_times: dict[str, datetime] = {}
            # The claim removes the job: its running records keep the state it had (the one the
            # commit checks it still has), so that recovery can rerun them without the job.
            kept = base64.b64encode(state).decode("ascii") if action == "r" else None
            for run_time in plan.run_times:
                srt = repr(timestamp(run_time))
                run_times[srt] = run_time
                if not plan.refused:
                    record = new_record(RunStatus.RUNNING, scheduler_id, now_ts, started_at=now_ts)
                    if kept is not None:
                        record[KEPT_STATE] = kept
                    records += [srt, "running", dump(record), repr(now_ts)]
                elif history:
                    record = new_record(
                        RunStatus.MAX_INSTANCES, scheduler_id, now_ts, started_at=now_ts
                    )
                    record["finished_at"] = now_ts
                    records += [srt, "max_instances", dump(record), repr(now_ts)]
            if not plan.refused:
                added[job_id] += len(run_times)
            sha = hashlib.sha1(state).hexdigest()
            job_args += [job_id, action, sha, new_state, score, len(records) // 4, *records]
            job_plans[job_id] = (job, plan, run_times)

        claim = Claim(more=more, unknown_executor=list(unknown.values()))
        if not (job_plans or pending_plans or release or release_pending):
            return claim  # nothing taken: no commit (and no reply key) needed
        keys = [self.jobs_key, self.run_times_key, self.keys.claims, self.keys.pending]
        keys += [self.keys.pending_claims, self.keys.runs, self.keys.all, self.keys.finished]
        keys += [self.keys.running, self.keys.done()]
        args = [token, self.keys.by_job, self.keys.running_set, len(job_plans)]
        args += [len(pending_plans), len(release), len(release_pending)]
        args += [*job_args, *pending_args, *release, *release_pending]
        # The reply is kept under the done key: a retry after a lost reply gets it back
        reply = json.loads(self._run(lambda: self._eval("COMMIT", keys, args)))

        for field in reply.get("pending") or []:
            record, job = pending_plans[field]
            if job is None:
                claim.interrupted.append(self._job_run(field, record))
                continue
            srt_time = utc_timestamp_to_datetime(float(field.rpartition("\n")[2]))
            run = ClaimedRun(job, [srt_time], RUN_NOW)  # type: ignore[list-item]
            (claim.runs if record["status"] == "running" else claim.refused).append(run)
        for job_id, written in reply.get("jobs") or []:
            job, plan, run_times = job_plans[job_id]
            if plan.broken:
                claim.paused.append(job_id)
            elif plan.next_run_time is None:
                claim.removed.append(job_id)
            if plan.skipped:
                claim.skipped[job_id] = plan.skipped
            taken = [run_times[srt] for srt in written or []]
            if plan.refused:
                # without history no record is written: the refusal is still reported
                taken = taken if history else list(run_times.values())
                if taken:
                    claim.refused.append(ClaimedRun(job, taken))
            elif taken:
                claim.runs.append(ClaimedRun(job, taken))
        return claim

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
        args: list[str | bytes] = [job.id, job_state, score, self.keys.channel]
        added = self._run(lambda: self._add_script(keys, args))
        if not added:
            raise ConflictingIdError(job.id)

    def _update_row(self, job_id: str, job_state: bytes, next_run_time: float | None) -> None:
        keys = [self.jobs_key, self.run_times_key]
        args: list[str | bytes] = [job_id, job_state, _score(next_run_time), self.keys.channel]
        if not self._run(lambda: self._update_script(keys, args)):
            raise JobLookupError(job_id)

    def _remove_row(self, job_id: str) -> None:
        def remove() -> list[Any]:
            with self.redis.pipeline() as pipe:
                pipe.hdel(self.jobs_key, job_id)
                pipe.zrem(self.run_times_key, job_id)
                pipe.publish(self.keys.channel, "")
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
                    args: list[str | bytes] = [job_id, job_state, _score(next_run_time), ""]
                    self._update_script(keys, args, pipe)
                if removals:
                    pipe.hdel(self.jobs_key, *removals)
                    pipe.zrem(self.run_times_key, *removals)
                pipe.publish(self.keys.channel, "")  # once for the whole batch
                pipe.execute()

        self._run(write)

    def remove_all_jobs(self) -> None:
        self._flush_batch()
        # Run records stay: the history outlives the jobs

        def remove() -> None:
            with self.redis.pipeline() as pipe:
                pipe.delete(self.jobs_key, self.run_times_key)
                pipe.publish(self.keys.channel, "")
                pipe.execute()

        self._run(remove)

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
