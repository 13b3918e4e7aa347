"""RedisJobStore as a shared, claiming store: claims, run records, recovery, wake-up, lost
connections.

Tests call the store's methods directly with explicit ``now`` instants, on clients that decode
replies and clients that do not. The generic rules are also checked by
``test_claim_contract.py``; what is here is what only Redis has (holds, scripts, pub/sub,
several processes on one set of keys) plus the rules the brief names.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest

redis = pytest.importorskip("redis")

from quartzite.jobstores import redis as redis_module  # noqa: E402
from quartzite.jobstores.base import JobLookupError  # noqa: E402
from quartzite.jobstores.claims import Claim, RunOutcome  # noqa: E402
from quartzite.jobstores.redis import RedisJobStore  # noqa: E402
from quartzite.runs import RunStatus  # noqa: E402
from quartzite.triggers.date import DateTrigger  # noqa: E402
from quartzite.triggers.interval import IntervalTrigger  # noqa: E402
from support import dummy_job, make_job  # noqa: E402

from .support import read_raw_state  # noqa: E402

UTC = timezone.utc
T0 = datetime(2030, 1, 7, 12, 0, tzinfo=UTC)
KINDS = ["redis", "redis_decoded"]
TESTS_DIR = Path(__file__).resolve().parent.parent


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def interval_job(scheduler: Any, job_id: str, seconds: float = 10, **options: Any) -> Any:
    trigger = IntervalTrigger(seconds=seconds, start_date=T0, timezone=UTC)
    options.setdefault("misfire_grace_time", None)
    return make_job(scheduler, dummy_job, id=job_id, trigger=trigger, **options)


def taken(claim: Claim) -> dict[str, list[datetime]]:
    return {run.job.id: list(run.run_times) for run in claim.runs}


def finish(store: Any, job_id: str, run_time: datetime, done: datetime, sid: str = "s1") -> None:
    store.finish_runs([RunOutcome(job_id, run_time, RunStatus.SUCCESS, done, sid)])


def next_run(store: Any, job_id: str) -> datetime | None:
    job = store.lookup_job(job_id)
    assert job is not None
    return job.next_run_time


@pytest.fixture(params=KINDS)
def store(request: pytest.FixtureRequest, create_store: Any) -> RedisJobStore:
    return create_store(request.param)


def test_claim_takes_advances_and_records(store: RedisJobStore, store_scheduler: Any) -> None:
    store.add_job(interval_job(store_scheduler, "a"))
    claim = store.claim_jobs("s1", at(0))
    assert taken(claim) == {"a": [T0]} and not claim.more
    assert next_run(store, "a") == at(10)
    [record] = store.get_runs("a")
    assert (record.status, record.scheduler_id, record.attempt) == (RunStatus.RUNNING, "s1", 1)
    assert record.scheduled_run_time == T0 and record.started_at == T0
    # the same instant again: nothing is due any more, and no hold is left behind
    assert store.claim_jobs("s2", at(0)) == Claim()
    assert store.redis.hlen(store.keys.claims) == 0
    assert store.redis.scard(store.keys.running_set + "a") == 1


def test_limit_and_more(store: RedisJobStore, store_scheduler: Any) -> None:
    for index in range(5):
        store.add_job(interval_job(store_scheduler, f"j{index}"))
    first = store.claim_jobs("s1", at(0), limit=3)
    assert len(first.runs) == 3 and first.more
    second = store.claim_jobs("s1", at(0), limit=3)
    assert len(second.runs) == 2 and not second.more


def test_unknown_executor_is_left_alone(store: RedisJobStore, store_scheduler: Any) -> None:
    store.add_job(interval_job(store_scheduler, "elsewhere", executor="gpu"))
    claim = store.claim_jobs("s1", at(0), executors=["default"])
    assert claim.runs == [] and [job.id for job in claim.unknown_executor] == ["elsewhere"]
    assert next_run(store, "elsewhere") == T0
    assert taken(store.claim_jobs("s2", at(0), executors=["gpu"])) == {"elsewhere": [T0]}


def test_hold_expires_after_a_crash_between_take_and_commit(
    store: RedisJobStore, store_scheduler: Any
) -> None:
    store.add_job(interval_job(store_scheduler, "a"))
    # a scheduler took the job and died before committing: only the first script ran
    pending, due, _more = store._take(f"dead|{at(30).timestamp()!r}", at(0).timestamp(), 10)
    assert pending == [] and len(due) == 4
    assert store.claim_jobs("s2", at(0)) == Claim()  # held
    assert store.claim_jobs("s2", at(29)) == Claim()  # still held
    claim = store.claim_jobs("s2", at(31))  # expired: nothing was lost
    assert taken(claim) == {"a": [T0, at(10), at(20), at(30)][-1:]}  # coalescing job
    assert store.get_runs("a")[0].scheduler_id == "s2"


def test_max_instances_refusal(store: RedisJobStore, store_scheduler: Any) -> None:
    store.add_job(interval_job(store_scheduler, "a", max_instances=1))
    assert taken(store.claim_jobs("s1", at(0))) == {"a": [T0]}
    refused = store.claim_jobs("s2", at(10))
    assert refused.runs == [] and [run.run_times for run in refused.refused] == [[at(10)]]
    record = store.get_run("a", at(10))
    assert record is not None and record.status is RunStatus.MAX_INSTANCES
    finish(store, "a", T0, at(11))
    assert taken(store.claim_jobs("s2", at(20))) == {"a": [at(20)]}


def test_run_now_is_taken_once(store: RedisJobStore, store_scheduler: Any) -> None:
    store.add_job(interval_job(store_scheduler, "a", seconds=3600, max_instances=2))
    store.claim_jobs("s1", at(0))
    finish(store, "a", T0, at(1))
    requested = store.request_run("a", at(5))
    assert (requested.status, requested.manual) == (RunStatus.PENDING, True)
    again = store.request_run("a", at(5))  # same instant: the next microsecond
    assert again.scheduled_run_time == at(5) + timedelta(microseconds=1)

    claim = store.claim_jobs("s1", at(6))
    assert sorted(t for run in claim.runs for t in run.run_times) == [
        at(5),
        at(5) + timedelta(microseconds=1),
    ]
    assert {run.kind for run in claim.runs} == {"now"}
    assert store.claim_jobs("s2", at(6)) == Claim()
    assert next_run(store, "a") == at(3600)  # the schedule did not move
    store.request_run("a", at(7))  # a third would exceed max_instances
    refused = store.claim_jobs("s2", at(7))
    assert refused.runs == [] and [run.kind for run in refused.refused] == ["now"]
    record = store.get_run("a", at(7))
    assert record is not None and record.status is RunStatus.MAX_INSTANCES
    with pytest.raises(JobLookupError):
        store.request_run("missing", at(5))


def test_run_now_of_a_removed_job_is_interrupted(
    store: RedisJobStore, store_scheduler: Any
) -> None:
    store.add_job(interval_job(store_scheduler, "a", seconds=3600))
    store.request_run("a", at(-5))
    store.remove_job("a")
    claim = store.claim_jobs("s1", at(0))
    [record] = claim.interrupted
    assert record.exception_message == "the job was removed before it ran"
    assert "job_state_base64" not in raw_record(store, "a", record.scheduled_run_time)


def test_recovery_after_check_in_expired(store: RedisJobStore, store_scheduler: Any) -> None:
    store.add_job(interval_job(store_scheduler, "again", seconds=3600))
    store.add_job(interval_job(store_scheduler, "once", seconds=3600, at_most_once=True))
    store.check_in("s1", at(0), 10)
    assert set(taken(store.claim_jobs("s1", at(0)))) == {"again", "once"}

    store.check_in("s2", at(5), 10)
    assert store.recover_runs("s2", at(5)) == Claim()  # s1 is alive
    store.check_in("s2", at(20), 10)
    claim = store.recover_runs("s2", at(20))
    [run] = claim.runs
    assert (run.job.id, run.run_times, run.kind) == ("again", [T0], "recovered")
    assert (run.attempt, run.previous_scheduler_id) == (2, "s1")
    assert [(r.job_id, r.status) for r in claim.interrupted] == [("once", RunStatus.INTERRUPTED)]
    record = store.get_run("again", T0)
    assert record is not None and (record.scheduler_id, record.recovered) == ("s2", True)
    assert store.recover_runs("s3", at(21)) == Claim()  # s2 holds it now, and is alive


def raw_record(store: RedisJobStore, job_id: str, run_time: datetime) -> dict[str, Any]:
    raw = store.redis.hget(store.keys.runs, f"{job_id}\n{run_time.timestamp()!r}")
    assert raw is not None
    return json.loads(raw)


def one_off_job(scheduler: Any, job_id: str, **options: Any) -> Any:
    trigger = DateTrigger(T0, timezone=UTC)
    return make_job(scheduler, dummy_job, id=job_id, trigger=trigger, args=(7,), **options)


def test_removed_job_state_is_kept_while_its_run_runs(
    store: RedisJobStore, store_scheduler: Any
) -> None:
    store.add_job(one_off_job(store_scheduler, "once"))
    state = read_raw_state(store, "once")
    store.check_in("s1", at(0), 10)
    assert store.claim_jobs("s1", at(0)).removed == ["once"]
    assert base64.b64decode(raw_record(store, "once", T0)["job_state_base64"]) == state

    [run] = store.recover_runs("s2", at(20)).runs
    assert (run.job.id, run.job.args, run.attempt) == ("once", (7,), 2)
    assert run.job._jobstore_alias == "default"
    assert not store.redis.hexists(store.jobs_key, "once")  # not put back
    # kept through the recovery (its scheduler may die too), dropped once finished
    assert "job_state_base64" in raw_record(store, "once", T0)
    finish(store, "once", T0, at(21), sid="s2")
    record = raw_record(store, "once", T0)
    assert record["status"] == "success" and "job_state_base64" not in record


def test_no_state_kept_for_jobs_that_stay_or_runs_refused(
    store: RedisJobStore, store_scheduler: Any
) -> None:
    store.add_job(interval_job(store_scheduler, "a", max_instances=1))
    store.claim_jobs("s1", at(0))
    store.claim_jobs("s1", at(10))  # refused: max_instances
    assert "job_state_base64" not in raw_record(store, "a", T0)
    assert "job_state_base64" not in raw_record(store, "a", at(10))


def test_unusable_kept_state_is_interrupted(
    store: RedisJobStore, store_scheduler: Any, caplog: pytest.LogCaptureFixture
) -> None:
    store.add_job(one_off_job(store_scheduler, "once"))
    store.claim_jobs("s1", at(0))
    field = f"once\n{T0.timestamp()!r}"
    record = raw_record(store, "once", T0)
    record["job_state_base64"] = base64.b64encode(b"not a job state").decode("ascii")
    store.redis.hset(store.keys.runs, field, json.dumps(record))

    claim = store.recover_runs("s2", at(20))
    assert claim.runs == []
    [interrupted] = claim.interrupted
    assert (interrupted.job_id, interrupted.status) == ("once", RunStatus.INTERRUPTED)
    assert (
        interrupted.exception_message
        == "scheduler s1 stopped before the run ended (the job was removed)"
    )
    assert "job_state_base64" not in raw_record(store, "once", T0)
    assert 'Unable to restore job "once" from its run record' in caplog.text
    assert store.get_quarantined_jobs() == []


def test_kept_state_of_an_at_most_once_job_is_dropped(
    store: RedisJobStore, store_scheduler: Any
) -> None:
    store.add_job(one_off_job(store_scheduler, "once", at_most_once=True))
    store.claim_jobs("s1", at(0))
    claim = store.recover_runs("s2", at(20))
    assert [run.status for run in claim.interrupted] == [RunStatus.INTERRUPTED]
    assert "at-most-once" in (claim.interrupted[0].exception_message or "")
    assert "job_state_base64" not in raw_record(store, "once", T0)


def test_release_makes_runs_recoverable_at_once(store: RedisJobStore, store_scheduler: Any) -> None:
    store.add_job(interval_job(store_scheduler, "a", seconds=3600))
    store.check_in("s1", at(0), 60)
    store.claim_jobs("s1", at(0))
    store.check_in("s2", at(1), 60)
    assert store.recover_runs("s2", at(1)) == Claim()
    store.release("s1")
    assert taken(store.recover_runs("s2", at(1))) == {"a": [T0]}


def test_lost_runs_of_the_caller_are_recovered(store: RedisJobStore, store_scheduler: Any) -> None:
    store.add_job(interval_job(store_scheduler, "a", seconds=3600))
    store.check_in("s1", at(0), 60)
    store.claim_jobs("s1", at(0))
    assert store.recover_runs("s1", at(1)) == Claim()
    claim = store.recover_runs("s1", at(1), lost=[("a", T0)])
    assert taken(claim) == {"a": [T0]} and claim.runs[0].attempt == 2


def test_finish_runs_only_onto_own_records(store: RedisJobStore, store_scheduler: Any) -> None:
    store.add_job(interval_job(store_scheduler, "a", seconds=3600))
    store.claim_jobs("s1", at(0))
    finish(store, "a", T0, at(1), sid="s2")
    assert store.get_runs("a")[0].status is RunStatus.RUNNING
    store.finish_runs(
        [RunOutcome("a", T0, RunStatus.SUCCESS, at(2), "s1", return_value={"n": [1, 2]})]
    )
    [record] = store.get_runs("a")
    assert (record.status, record.finished_at, record.return_value) == (
        RunStatus.SUCCESS,
        at(2),
        {"n": [1, 2]},
    )
    assert store.redis.zcard(store.keys.running) == 0
    finish(store, "a", T0, at(3))  # finished already: nothing changes
    assert store.get_runs("a")[0].finished_at == at(2)


def test_retention_by_count(create_store: Any, store_scheduler: Any) -> None:
    store = create_store("redis", max_runs_per_job=3)
    store.add_job(interval_job(store_scheduler, "a", seconds=10**6))
    store.claim_jobs("s1", at(0))  # stays running: retention never removes it
    for index in range(1, 21):
        store.request_run("a", at(index))
        store.claim_jobs("s1", at(index))
        finish(store, "a", at(index), at(index))
    kept = [run.scheduled_run_time for run in store.get_runs("a")]
    assert kept == [at(20), at(19), at(18), T0]
    assert store.redis.zcard(store.keys.all) == 4
    assert store.redis.hlen(store.keys.runs) == 4


def test_retention_by_age(create_store: Any, store_scheduler: Any) -> None:
    store = create_store("redis", max_run_age=60)
    store.add_job(interval_job(store_scheduler, "a", seconds=100))
    store.claim_jobs("s1", at(0))
    finish(store, "a", T0, at(1))
    store.claim_jobs("s1", at(300))
    finish(store, "a", at(300), at(301))
    assert [run.scheduled_run_time for run in store.get_runs("a")] == [at(300)]
    assert store.redis.zcard(store.keys.finished) == 1


def test_history_off(create_store: Any, store_scheduler: Any) -> None:
    store = create_store("redis", history=False)
    store.add_job(interval_job(store_scheduler, "a", max_instances=1))
    store.claim_jobs("s1", at(0))
    assert [run.status for run in store.get_runs("a")] == [RunStatus.RUNNING]
    refused = store.claim_jobs("s1", at(10))
    assert [run.run_times for run in refused.refused] == [[at(10)]]
    finish(store, "a", T0, at(11))
    assert store.get_runs("a") == []
    assert store.redis.hlen(store.keys.runs) == 0


def test_removing_jobs_keeps_records(store: RedisJobStore, store_scheduler: Any) -> None:
    store.add_job(interval_job(store_scheduler, "a"))
    store.add_job(interval_job(store_scheduler, "b"))
    store.claim_jobs("s1", at(0))
    store.remove_job("a")
    store.remove_all_jobs()
    assert sorted(run.job_id for run in store.get_runs()) == ["a", "b"]


def test_get_runs_filters_and_order(store: RedisJobStore, store_scheduler: Any) -> None:
    store.add_job(interval_job(store_scheduler, "a", max_instances=5))
    store.add_job(interval_job(store_scheduler, "b", seconds=15, max_instances=5))
    store.claim_jobs("s1", at(0))
    store.claim_jobs("s2", at(15))
    finish(store, "a", T0, at(1))
    everything = store.get_runs(limit=None)
    assert [(r.job_id, r.scheduled_run_time) for r in everything][:2] == [
        ("b", at(15)),
        ("a", at(10)),
    ]
    assert [r.scheduled_run_time for r in store.get_runs("a")] == [at(10), T0]
    assert [r.scheduled_run_time for r in store.get_runs("a", limit=1)] == [at(10)]
    assert [r.scheduled_run_time for r in store.get_runs("a", status="success")] == [T0]
    assert [r.job_id for r in store.get_runs(scheduler_id="s2")] == ["b", "a"]
    assert [r.scheduled_run_time for r in store.get_runs(since=at(10))] == [at(15), at(10)]
    assert store.get_runs(status=["error", RunStatus.MISSED]) == []
    with pytest.raises(ValueError, match="unknown run status"):
        store.get_runs(status="bogus")
    assert [r.job_id for r in store.get_runs(status="running", limit=2)] == ["b", "a"]


def test_watch_wakes_on_changes_from_another_store(create_store: Any, store_scheduler: Any) -> None:
    watcher = create_store("redis")
    other = create_store(
        "redis_decoded", jobs_key=watcher.jobs_key, run_times_key=watcher.run_times_key
    )
    woken = threading.Event()
    watcher.watch(woken.set)
    time.sleep(0.2)  # let the subscription reach the server before the change
    other.add_job(interval_job(store_scheduler, "a"))
    assert woken.wait(2.0)
    woken.clear()
    other.request_run("a", at(1))
    assert woken.wait(2.0)

    thread = watcher._watcher._thread
    started = time.monotonic()
    watcher.unwatch()
    assert not thread.is_alive() and time.monotonic() - started < 2.5


def kill_clients(redis_options: dict[str, Any], name: str) -> int:
    admin = redis.Redis(**redis_options, decode_responses=True)
    try:
        ids = [client["id"] for client in admin.client_list() if client.get("name") == name]
        for client_id in ids:
            admin.client_kill_filter(_id=client_id)
        return len(ids)
    finally:
        admin.close()


@pytest.mark.parametrize("retries", [0, 3])
def test_client_kill_between_take_and_commit_loses_nothing(
    create_store: Any,
    store_scheduler: Any,
    redis_options: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
    retries: int,
) -> None:
    name = f"qz-{uuid4().hex}"
    retry = redis.retry.Retry(redis.backoff.NoBackoff(), retries)
    store = create_store("redis", client_name=name, retry=retry)
    for index in range(20):
        store.add_job(interval_job(store_scheduler, f"j{index}"))
    real_plan = redis_module.plan_job
    kills: list[int] = []

    def plan_and_kill(*args: Any, **kwargs: Any) -> Any:
        if not kills:
            kills.append(kill_clients(redis_options, name))
        return real_plan(*args, **kwargs)

    monkeypatch.setattr(redis_module, "plan_job", plan_and_kill)
    claim = store.claim_jobs("s1", at(0))
    assert kills == [1]
    assert taken(claim) == {f"j{index}": [T0] for index in range(20)}
    assert len(store.get_runs(limit=None)) == 20
    assert store.claim_jobs("s1", at(0)) == Claim()


@pytest.mark.parametrize("script", ["COMMIT", "RECOVER", "REQUEST_RUN"])
def test_lost_reply_is_not_acted_on_twice(
    store: RedisJobStore,
    store_scheduler: Any,
    redis_options: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
    script: str,
) -> None:
    """The script ran but its reply was lost (the connection dropped): the retry returns what
    the first call did instead of doing it again, or of finding nothing and losing it."""
    store.add_job(interval_job(store_scheduler, "a", seconds=3600))
    store.check_in("s1", at(0), 1)
    if script != "COMMIT":
        store.claim_jobs("s1", at(0))
    real_eval = store._eval
    lost: list[str] = []

    def eval_losing_reply(name: str, keys: Any, args: Any) -> Any:
        reply = real_eval(name, keys, args)
        if name == script and not lost:
            lost.append(name)
            raise redis.exceptions.ConnectionError("reply lost")
        return reply

    monkeypatch.setattr(store, "_eval", eval_losing_reply)
    if script == "COMMIT":
        assert taken(store.claim_jobs("s1", at(0))) == {"a": [T0]}
    elif script == "RECOVER":
        claim = store.recover_runs("s2", at(5))
        assert taken(claim) == {"a": [T0]} and claim.runs[0].attempt == 2
    else:
        assert store.request_run("a", at(5)).scheduled_run_time == at(5)
        assert store.redis.zcard(store.keys.pending) == 1
    assert lost == [script]
    assert len(store.get_runs("a")) == (2 if script == "REQUEST_RUN" else 1)


WORKER = """
import json, sys, time
from datetime import datetime
from quartzite.jobstores.redis import RedisJobStore

options = json.loads(sys.argv[1])
store = RedisJobStore(**options["store"])
store.start(None, "default")
now = datetime.fromisoformat(options["now"])
while time.time() < options["start_at"]:
    time.sleep(0.001)
taken = []
while True:
    claim = store.claim_jobs(options["sid"], now, limit=7)
    taken += [[run.job.id, t.timestamp()] for run in claim.runs for t in run.run_times]
    if not claim.runs and not claim.more:
        break
store.shutdown()
print(json.dumps(taken))
"""


def test_two_processes_take_each_occurrence_once(
    create_store: Any, store_scheduler: Any, redis_options: dict[str, Any]
) -> None:
    store = create_store("redis")
    count = 200
    for index in range(count):
        store.add_job(interval_job(store_scheduler, f"job{index}", seconds=3600))
    store_options = {**redis_options, "jobs_key": store.jobs_key}
    store_options["run_times_key"] = store.run_times_key
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS_DIR), *sys.path])}
    start_at = time.time() + 2.0  # both start claiming at the same moment
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, json.dumps(options)],
            stdout=subprocess.PIPE,
            env=env,
        )
        for options in (
            {"store": store_options, "now": at(0).isoformat(), "start_at": start_at, "sid": sid}
            for sid in ("p1", "p2")
        )
    ]
    results = []
    for worker in workers:
        output, _ = worker.communicate(timeout=120)
        assert worker.returncode == 0
        results.append([tuple(item) for item in json.loads(output)])
    union = results[0] + results[1]
    assert len(union) == len(set(union)) == count
    assert {job_id for job_id, _ in union} == {f"job{index}" for index in range(count)}
    assert all(stamp == T0.timestamp() for _, stamp in union)
    assert len(store.get_runs(limit=None)) == count


def test_watcher_reconnects_after_client_kill(
    create_store: Any, store_scheduler: Any, redis_options: dict[str, Any]
) -> None:
    name = f"qz-{uuid4().hex}"
    watcher = create_store("redis", client_name=name)
    other = create_store("redis", jobs_key=watcher.jobs_key, run_times_key=watcher.run_times_key)
    woken = threading.Event()
    watcher.watch(woken.set)
    deadline = time.monotonic() + 5
    while kill_clients(redis_options, name) == 0:  # the subscription's connection
        assert time.monotonic() < deadline
        time.sleep(0.05)
    woken.clear()
    # Changes while the watcher reconnects may go unheard (it then wakes once anyway): keep
    # changing until it wakes, within the back-off
    for index in range(100):
        other.add_job(interval_job(store_scheduler, f"j{index}"))
        if woken.wait(0.1):
            break
    assert woken.is_set()
    watcher.unwatch()


def test_a_bad_due_row_is_quarantined_and_its_hold_released(
    store: RedisJobStore, store_scheduler: Any
) -> None:
    store.add_job(interval_job(store_scheduler, "good"))
    store.redis.hset(store.jobs_key, "bad", "not a job")
    store.redis.zadd(store.run_times_key, {"bad": T0.timestamp()})
    assert taken(store.claim_jobs("s1", at(0))) == {"good": [T0]}
    assert [job.id for job in store.get_quarantined_jobs()] == ["bad"]
    assert store.redis.hlen(store.keys.claims) == 0


def test_key_layout(store: RedisJobStore, store_scheduler: Any) -> None:
    store.add_job(interval_job(store_scheduler, "a", max_instances=3))
    store.check_in("s1", at(0), 10)
    store.claim_jobs("s1", at(0))
    store.request_run("a", at(1))
    store.claim_jobs("s1", at(1))
    store.request_run("a", at(2))
    finish(store, "a", T0, at(3))
    found = store.redis.scan_iter(match=store.jobs_key + "*", count=1000)
    ours = {name.decode() if isinstance(name, bytes) else name for name in found}
    assert ours >= {
        store.jobs_key,
        store.keys.runs,
        store.keys.all,
        store.keys.finished,
        store.keys.running,
        store.keys.running_set + "a",
        store.keys.by_job + "a",
        store.keys.pending,
        store.keys.schedulers,
    }
    assert store.redis.exists(store.run_times_key)
