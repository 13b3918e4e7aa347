"""Run records of :class:`~quartzite.jobstores.redis.RedisJobStore`: keys, records, recovery,
outcomes, retention, run-now and reading the history.

A record is a JSON object in the hash ``<jobs_key>.runs`` under ``"<job_id>\\n<repr(srt)>"``,
where ``srt`` is the scheduled run time as a UTC timestamp. Indexes beside it (see
:class:`RunKeys`) let every operation touch only what it needs: the running ones (recovery,
``max_instances``), the pending ones (run-now), the newest of a job (history, retention by
count) and the oldest finished (retention by age).

A running record written by a claim that removed its job (the trigger had no further fire time)
keeps the job's serialized state, base64, in the field ``"job_state_base64"``: should the
scheduler running it die, recovery restores the job from there and runs it again. The state is
dropped when the record is finished.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Callable, TypeVar

from ..runs import JobRun, RunStatus
from ..util import utc_timestamp_to_datetime
from . import _redis_scripts as scripts
from ._persistent import SerializingJobStore, StoredRow
from .base import JobLookupError
from .claims import (
    RECOVERED,
    Claim,
    ClaimedRun,
    RunOutcome,
    StatusFilter,
    check_runs_limit,
    statuses,
)
from .claims import decode_return_value as _decode_value
from .claims import encode_return_value as _encode_value

if TYPE_CHECKING:
    from redis import Redis
    from redis.commands.core import Script

    from ..job import Job

try:
    from redis.client import NEVER_DECODE
except ImportError:  # pragma: no cover - older redis-py
    NEVER_DECODE = "NEVER_DECODE"
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError
from redis.exceptions import TimeoutError as RedisTimeoutError

_T = TypeVar("_T")
#: A record recovery may take: field, raw record, record, check that its scheduler is dead.
_Candidate = tuple[str, bytes, dict[str, Any], bool]
# Read a reply as bytes even when the client decodes replies (decode_responses=True): job
# states may be pickles, which are not text; records are compared byte for byte.
RAW = {NEVER_DECODE: True}

#: Caps on the text a record keeps of an exception (like the SQL store's).
MAX_TEXT = 64 * 1024
MAX_TYPE = 255
#: The field of a running record that keeps the state of the job its claim removed.
KEPT_STATE = "job_state_base64"
#: Retention by count runs on every this many finishes of a job (bounded work per finish).
TRIM_EVERY = 10
#: Retention by age runs at most this often per store (seconds), removing at most AGE_BATCH.
AGE_EVERY = 60.0
AGE_BATCH = 500


def text(value: str | bytes) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else value


def timestamp(value: datetime) -> float:
    return value.timestamp()


def run_field(job_id: str, srt: float | str) -> str:
    """The field of a record in the runs hash."""
    return f"{job_id}\n{srt if isinstance(srt, str) else repr(srt)}"


def _cut(value: str | None, size: int) -> str | None:
    return value if value is None else value[:size]


@dataclass(frozen=True)
class RunKeys:
    """The names of the keys beside the jobs hash, all derived from ``jobs_key``."""

    jobs_key: str

    def name(self, suffix: str) -> str:
        return f"{self.jobs_key}.{suffix}"

    @property
    def claims(self) -> str:  # job id -> "scheduler_id|expires" while a claim holds it
        return self.name("claims")

    @property
    def pending_claims(self) -> str:  # record field -> hold, for the pending records
        return self.name("pending.claims")

    @property
    def runs(self) -> str:  # record field -> JSON record
        return self.name("runs")

    @property
    def by_job(self) -> str:  # + job id: zset of repr(srt), scored srt
        return self.name("runs.by_job:")

    @property
    def finished(self) -> str:  # zset of fields, scored finished_at
        return self.name("runs.finished")

    @property
    def all(self) -> str:  # zset of fields, scored srt
        return self.name("runs.all")

    @property
    def running_set(self) -> str:  # + job id: set of repr(srt) running
        return self.name("running:")

    @property
    def running(self) -> str:  # zset of fields of running records, scored started_at
        return self.name("running")

    @property
    def pending(self) -> str:  # zset of fields of pending records, scored requested time
        return self.name("pending")

    @property
    def schedulers(self) -> str:  # zset of scheduler ids, scored check-in expiry
        return self.name("schedulers")

    @property
    def channel(self) -> str:
        return self.name("changes")

    def done(self) -> str:
        """A fresh key under which a script keeps its reply, for a retry to find."""
        return self.name(f"done:{uuid.uuid4().hex}")


def new_record(
    status: RunStatus,
    scheduler_id: str | None,
    created_at: float,
    *,
    attempt: int = 1,
    manual: bool = False,
    started_at: float | None = None,
    finished_at: float | None = None,
) -> dict[str, Any]:
    return {
        "status": status.value,
        "scheduler_id": scheduler_id,
        "attempt": attempt,
        "recovered": False,
        "manual": manual,
        "created_at": created_at,
        "started_at": started_at,
        "finished_at": finished_at,
        "exception_type": None,
        "exception_message": None,
        "traceback": None,
        "return_value_base64": None,
    }


def dump(record: dict[str, Any]) -> bytes:
    return json.dumps(record, separators=(",", ":")).encode("utf-8")


def json_list(reply: Any) -> list[Any]:
    """A JSON reply of a script as a list (cjson writes an empty table as ``{}``)."""
    value = json.loads(reply)
    return value if isinstance(value, list) else []


class RedisRunStore(SerializingJobStore):
    """The run-record half of the Redis store (the job half is in ``redis.py``)."""

    redis: Redis
    jobs_key: str
    run_times_key: str
    keys: RunKeys

    def _init_runs(self) -> None:
        self.keys = RunKeys(self.jobs_key)
        self._scripts: dict[str, Script] = {
            name: self.redis.register_script(getattr(scripts, name))
            for name in ("TAKE", "COMMIT", "RECOVER", "FINISH", "TRIM", "EXPIRE", "REQUEST_RUN")
        }
        self._finishes: dict[str, int] = {}
        self._last_age_sweep = float("-inf")

    def _run(self, operation: Callable[[], _T]) -> _T:
        """Run ``operation``; once more if the connection failed (the client reconnects)."""
        try:
            return operation()
        except (RedisConnectionError, RedisTimeoutError) as exc:
            self._logger.warning("Lost the connection to Redis (%s) -- retrying once", exc)
        return operation()

    def _eval(self, name: str, keys: Sequence[str], args: Sequence[Any]) -> Any:
        """Run one of the scripts, replies as bytes."""
        script = self._scripts[name]
        try:
            return self.redis.execute_command("EVALSHA", script.sha, len(keys), *keys, *args, **RAW)
        except NoScriptError:
            return self.redis.execute_command("EVAL", script.script, len(keys), *keys, *args, **RAW)

    def _encode_return(self, value: Any, job_id: str) -> str | None:
        data = _encode_value(
            self.serializer, value, self.history_options.max_return_value_size, job_id
        )
        return None if data is None else base64.b64encode(data).decode("ascii")

    def _job_run(self, field: str, record: dict[str, Any]) -> JobRun:
        job_id, _, srt = field.rpartition("\n")
        value = record.get("return_value_base64")
        return JobRun(
            job_id=job_id,
            scheduled_run_time=utc_timestamp_to_datetime(float(srt)),  # type: ignore[arg-type]
            status=RunStatus(record["status"]),
            scheduler_id=record.get("scheduler_id"),
            jobstore=self._alias,
            attempt=int(record.get("attempt") or 1),
            started_at=utc_timestamp_to_datetime(record.get("started_at")),
            finished_at=utc_timestamp_to_datetime(record.get("finished_at")),
            exception_type=record.get("exception_type"),
            exception_message=record.get("exception_message"),
            traceback=record.get("traceback"),
            return_value=(
                None if value is None else _decode_value(self.serializer, base64.b64decode(value))
            ),
            recovered=bool(record.get("recovered")),
            manual=bool(record.get("manual")),
        )

    def _restore_by_id(self, ids: Collection[str]) -> dict[str, Job]:
        """The jobs with these ids that exist and can be restored (others are quarantined)."""
        if not ids:
            return {}
        ordered = list(ids)
        states = self._run(
            lambda: self.redis.execute_command("HMGET", self.jobs_key, *ordered, **RAW)
        )
        rows = [StoredRow(i, s, None) for i, s in zip(ordered, states) if s is not None]
        return {job.id: job for job in self._restore_jobs(rows)}

    # -- liveness

    def check_in(self, scheduler_id: str, now: datetime, lease_time: float) -> None:
        now_ts = timestamp(now)

        def write() -> None:
            with self.redis.pipeline() as pipe:
                pipe.zadd(self.keys.schedulers, {scheduler_id: now_ts + lease_time})
                # Long-expired entries count as dead whether kept or not: keep the set small
                pipe.zremrangebyscore(self.keys.schedulers, "-inf", repr(now_ts - 7 * 86400))
                pipe.execute()

        self._run(write)

    def release(self, scheduler_id: str) -> None:
        self._run(lambda: self.redis.zrem(self.keys.schedulers, scheduler_id))

    # -- recovery

    def recover_runs(
        self,
        scheduler_id: str,
        now: datetime,
        *,
        lost: Collection[tuple[str, datetime]] = (),
    ) -> Claim:
        self._flush_batch()
        now_ts = timestamp(now)
        lost_fields = {run_field(job_id, timestamp(srt)) for job_id, srt in lost}

        def read() -> list[Any]:
            with self.redis.pipeline(transaction=False) as pipe:
                pipe.execute_command("ZRANGE", self.keys.running, 0, -1, **RAW)
                pipe.zrange(self.keys.schedulers, 0, -1, withscores=True)
                return pipe.execute()

        raw_fields, checked_in = self._run(read)
        alive_until = {text(member): score for member, score in checked_in}
        fields = [text(field) for field in raw_fields]
        if not fields:
            return Claim()
        stored = self._run(
            lambda: self.redis.execute_command("HMGET", self.keys.runs, *fields, **RAW)
        )
        candidates: list[_Candidate] = []
        for field, raw in zip(fields, stored):
            if raw is None:
                continue
            record = json.loads(raw)
            owner = record.get("scheduler_id")
            if record.get("status") != RunStatus.RUNNING.value:
                continue
            if field in lost_fields and owner == scheduler_id:
                candidates.append((field, raw, record, False))
            elif owner is None or alive_until.get(owner, float("-inf")) < now_ts:
                candidates.append((field, raw, record, True))
        if not candidates:
            return Claim()

        jobs = self._restore_by_id({field.rpartition("\n")[0] for field, *_ in candidates})
        self._restore_kept(candidates, jobs)
        args: list[Any] = []
        results: dict[str, tuple[dict[str, Any], str | None]] = {}
        for field, raw, record, check in candidates:
            job_id, _, srt = field.rpartition("\n")
            job = jobs.get(job_id)
            previous = record.get("scheduler_id")
            new = dict(record)
            if job is None or job.at_most_once:
                why = "the job was removed" if job is None else "the job is at-most-once"
                new.update(
                    status=RunStatus.INTERRUPTED.value,
                    finished_at=now_ts,
                    exception_message=f"scheduler {previous} stopped before the run ended ({why})",
                )
                new.pop(KEPT_STATE, None)  # finished: it will not be recovered again
                action = "fin" if self.history_options.history else "del"
                index = now_ts
            else:
                new.update(
                    scheduler_id=scheduler_id,
                    attempt=int(record.get("attempt") or 1) + 1,
                    recovered=True,
                    started_at=now_ts,
                )
                action, index = "run", now_ts
            results[field] = (new, previous)
            args += [field, job_id, srt, raw, previous or "", "1" if check else "0", action]
            args += [dump(new), repr(index)]

        keys = [self.keys.runs, self.keys.all, self.keys.finished, self.keys.running]
        keys += [self.keys.schedulers, self.keys.done()]
        header = [self.keys.by_job, self.keys.running_set, repr(now_ts), len(candidates)]
        reply = self._run(lambda: self._eval("RECOVER", keys, header + args))

        claim = Claim()
        grouped: dict[str, ClaimedRun] = {}
        for field in json_list(reply):
            new, previous = results[field]
            job_id, _, srt = field.rpartition("\n")
            if new["status"] == RunStatus.INTERRUPTED.value:
                claim.interrupted.append(self._job_run(field, new))
                continue
            run_time: datetime = utc_timestamp_to_datetime(float(srt))  # type: ignore[assignment]
            if job_id in grouped:
                grouped[job_id].run_times.append(run_time)
                grouped[job_id].attempt = max(grouped[job_id].attempt, new["attempt"])
            else:
                grouped[job_id] = ClaimedRun(
                    jobs[job_id], [run_time], RECOVERED, new["attempt"], previous
                )
        for claimed in grouped.values():
            claimed.run_times.sort()
        claim.runs = list(grouped.values())
        return claim

    def _restore_kept(self, candidates: list[_Candidate], jobs: dict[str, Job]) -> None:
        """Add to ``jobs`` the jobs of ``candidates`` that are gone from the store but kept in
        their records (removed by the claim that took them), restored as the store restores
        its rows. A state that fails is logged and left out: its records end interrupted."""
        failed: set[str] = set()
        for field, _raw, record, _check in candidates:
            job_id = field.rpartition("\n")[0]
            encoded = record.get(KEPT_STATE)
            if job_id in jobs or job_id in failed or not encoded:
                continue
            try:
                state = base64.b64decode(encoded, validate=True)
                jobs[job_id] = self._restore_job(StoredRow(job_id, state, None))
            except Exception:
                failed.add(job_id)
                self._logger.exception(
                    'Unable to restore job "%s" from its run record -- the run is recorded as '
                    "interrupted",
                    job_id,
                )

    # -- outcomes and retention

    def finish_runs(self, outcomes: Sequence[RunOutcome]) -> None:
        if not outcomes:
            return
        fields = [run_field(o.job_id, timestamp(o.scheduled_run_time)) for o in outcomes]
        stored = self._run(
            lambda: self.redis.execute_command("HMGET", self.keys.runs, *fields, **RAW)
        )
        args: list[Any] = []
        count = 0
        for outcome, field, raw in zip(outcomes, fields, stored):
            if raw is None:
                continue
            record = json.loads(raw)
            if (
                record.get("status") != RunStatus.RUNNING.value
                or record.get("scheduler_id") != outcome.scheduler_id
            ):
                continue  # taken over by another scheduler meanwhile, or finished already
            finished_at = timestamp(outcome.finished_at)
            new: bytes | str = ""
            if self.history_options.history:
                record.update(
                    status=RunStatus(outcome.status).value,
                    finished_at=finished_at,
                    exception_type=_cut(outcome.exception_type, MAX_TYPE),
                    exception_message=_cut(outcome.exception_message, MAX_TEXT),
                    traceback=_cut(outcome.traceback, MAX_TEXT),
                    return_value_base64=self._encode_return(outcome.return_value, outcome.job_id),
                )
                record.pop(KEPT_STATE, None)  # only a running record may be recovered
                new = dump(record)
            srt = field.rpartition("\n")[2]
            args += [field, outcome.job_id, srt, raw, new, repr(finished_at)]
            count += 1
        if count:
            keys = [self.keys.runs, self.keys.all, self.keys.finished, self.keys.running]
            header = [self.keys.by_job, self.keys.running_set, count]
            # compare-and-set: a retry after a lost reply finds the records finished, a no-op
            self._run(lambda: self._eval("FINISH", keys, header + args))
        latest = max(timestamp(outcome.finished_at) for outcome in outcomes)
        self._apply_retention([outcome.job_id for outcome in outcomes], latest)

    def _apply_retention(self, job_ids: Sequence[str], now_ts: float) -> None:
        """Retention for the jobs just finished; ``now_ts``: the latest finish among them."""
        due: dict[str, None] = {}  # an ordered set
        for job_id in job_ids:
            count = self._finishes.get(job_id, 0) + 1
            self._finishes[job_id] = count % TRIM_EVERY
            if count >= TRIM_EVERY:
                due[job_id] = None
        if due:
            keys = [self.keys.runs, self.keys.all, self.keys.finished, self.keys.pending]
            args = [self.keys.by_job, self.keys.running_set, self.history_options.max_runs_per_job]
            self._run(lambda: self._eval("TRIM", keys, [*args, *due]))
        # Measured on the clock of the outcomes (the schedulers'), like the records' ages
        if not now_ts - AGE_EVERY < self._last_age_sweep <= now_ts:
            self._last_age_sweep = now_ts
            cutoff = now_ts - self.history_options.max_run_age
            keys = [self.keys.runs, self.keys.all, self.keys.finished]
            args = [self.keys.by_job, repr(cutoff), AGE_BATCH]
            self._run(lambda: self._eval("EXPIRE", keys, args))

    # -- run-now

    def request_run(self, job_id: str, now: datetime) -> JobRun:
        self._flush_batch()
        now_ts = timestamp(now)
        record = dump(new_record(RunStatus.PENDING, None, now_ts, manual=True))
        keys = [self.jobs_key, self.keys.runs, self.keys.all, self.keys.pending, self.keys.done()]
        srt = now_ts
        for _ in range(1000):
            args = [job_id, repr(srt), self.keys.by_job, record, self.keys.channel]
            reply = text(self._run(lambda args=args: self._eval("REQUEST_RUN", keys, args)))  # type: ignore[misc]
            if reply == "missing":
                raise JobLookupError(job_id)
            if reply != "exists":
                return JobRun(
                    job_id,
                    utc_timestamp_to_datetime(float(reply)),  # type: ignore[arg-type]
                    RunStatus.PENDING,
                    jobstore=self._alias,
                    manual=True,
                )
            srt += 1e-6  # that occurrence exists: the next microsecond
        raise RuntimeError(f"could not find a free run time for run-now of job {job_id!r}")

    # -- history

    def get_runs(
        self,
        job_id: str | None = None,
        *,
        status: StatusFilter = None,
        since: datetime | None = None,
        limit: int | None = 100,
        scheduler_id: str | None = None,
    ) -> list[JobRun]:
        check_runs_limit(limit)
        self._flush_batch()
        wanted = statuses(status)
        index = self.keys.by_job + job_id if job_id is not None else self.keys.all
        low = "-inf" if since is None else repr(timestamp(since))
        page = 1000 if limit is None or wanted or scheduler_id else max(limit, 1)
        runs: list[JobRun] = []
        offset = 0
        while limit is None or len(runs) < limit:
            members = self._run(
                lambda offset=offset: self.redis.execute_command(  # type: ignore[misc]
                    "ZREVRANGEBYSCORE", index, "+inf", low, "LIMIT", offset, page, **RAW
                )
            )
            if not members:
                break
            offset += len(members)
            fields = [
                run_field(job_id, text(m)) if job_id is not None else text(m) for m in members
            ]
            stored = self._run(
                lambda fields=fields: self.redis.execute_command(  # type: ignore[misc]
                    "HMGET", self.keys.runs, *fields, **RAW
                )
            )
            for field, raw in zip(fields, stored):
                if raw is None:
                    continue
                record = json.loads(raw)
                if wanted is not None and record.get("status") not in wanted:
                    continue
                if scheduler_id is not None and record.get("scheduler_id") != scheduler_id:
                    continue
                runs.append(self._job_run(field, record))
                if limit is not None and len(runs) >= limit:
                    break
        return runs
