"""What the memory store does as a claiming store beyond the shared contract
(``test_claim_contract.py``): the very objects come back, retention is exact and bounded per
call, claims take the earliest due jobs however many are due, and outcomes reported from
several threads at once keep the bookkeeping straight."""

from __future__ import annotations

import random
import threading
from datetime import datetime, timedelta, timezone
from math import inf
from typing import Any

import pytest

from quartzite.jobstores import memory
from quartzite.jobstores.base import JobLookupError
from quartzite.jobstores.claims import ClaimingJobStore, RunOutcome
from quartzite.jobstores.memory import MemoryJobStore
from quartzite.runs import RunStatus
from quartzite.triggers.date import DateTrigger
from quartzite.triggers.interval import IntervalTrigger
from support import DummyScheduler, dummy_job, make_job

UTC = timezone.utc
T0 = datetime(2030, 1, 7, 12, 0, tzinfo=UTC)
SCHEDULER = DummyScheduler(timezone=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def interval_job(job_id: str, seconds: float = 10, start: datetime = T0, **options: Any) -> Any:
    trigger = IntervalTrigger(seconds=seconds, start_date=start, timezone=UTC)
    options.setdefault("misfire_grace_time", None)
    return make_job(SCHEDULER, dummy_job, id=job_id, trigger=trigger, **options)


def new_store(**options: Any) -> MemoryJobStore:
    store = MemoryJobStore(**options)
    store.start(None, "mem")
    return store


def success(job_id: str, run_time: datetime, finished_at: datetime, **fields: Any) -> RunOutcome:
    return RunOutcome(job_id, run_time, RunStatus.SUCCESS, finished_at, "s1", **fields)


def test_is_a_single_process_claiming_store() -> None:
    store = new_store()
    assert isinstance(store, ClaimingJobStore)
    assert store.poll_interval is None
    store.watch(lambda: None)  # nothing to watch in one process
    store.unwatch()
    assert store.history_options == memory.HistoryOptions()


def test_options_are_keyword_only_and_checked() -> None:
    with pytest.raises(TypeError):
        MemoryJobStore(False)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="history must be True or False"):
        MemoryJobStore(history="no")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="max_run_age"):
        MemoryJobStore(max_run_age=0)
    with pytest.raises(ValueError, match="max_return_value_size"):
        MemoryJobStore(max_return_value_size=-1)
    assert MemoryJobStore(max_run_age=timedelta(days=1)).history_options.max_run_age == 86400.0


def test_claim_returns_the_stored_job_objects() -> None:
    store = new_store()
    job = interval_job("a")
    store.add_job(job)
    claim = store.claim_jobs("s1", at(0))
    assert claim.runs[0].job is job
    assert job.next_run_time == at(10)
    assert store.get_next_run_time() == at(10)
    assert store.get_due_jobs(at(5)) == []


def test_return_values_are_kept_as_the_objects_themselves() -> None:
    # nothing is serialized, so no size applies; only 0 means "never keep"
    store = new_store(max_return_value_size=1)
    store.add_job(interval_job("a"))
    store.claim_jobs("s1", at(0))
    value = object()
    store.finish_runs([success("a", T0, at(1), return_value=value)])
    assert store.get_runs("a")[0].return_value is value


def test_claim_takes_the_earliest_due_jobs_first() -> None:
    store = new_store()
    jobs = [interval_job(f"job{index:03}", start=at(-index)) for index in range(300)]
    for job in jobs:
        store.add_job(job)
    # reschedule some jobs, leaving dead entries in the heap
    for job in jobs[::3]:
        job._modify(next_run_time=job.next_run_time - timedelta(seconds=1000))
        store.update_job(job)
    expected = [job.id for job in store.get_due_jobs(at(0))]
    claimed: list[str] = []
    for _ in range(20):  # 300 jobs, 40 a claim: 8 claims
        claim = store.claim_jobs("s1", at(0), limit=40)
        claimed.extend(run.job.id for run in claim.runs)
        if not claim.more:
            break
    assert claimed == expected
    assert store.get_due_jobs(at(0)) == []


def test_count_retention_is_exact_after_every_finish() -> None:
    store = new_store(max_runs_per_job=3)
    store.add_job(interval_job("a"))
    for index in range(10):
        store.claim_jobs("s1", at(10 * index))
        store.finish_runs([success("a", at(10 * index), at(10 * index + 1))])
        assert len(store.get_runs("a")) == min(index + 1, 3)
    assert [run.scheduled_run_time for run in store.get_runs("a")] == [at(90), at(80), at(70)]


def test_count_retention_skips_pending_and_running_records() -> None:
    store = new_store(max_runs_per_job=1)
    store.add_job(interval_job("a", coalesce=False, max_instances=5))
    store.claim_jobs("s1", at(20))  # running: T0, 10, 20
    store.request_run("a", at(-5))  # pending, the oldest of all
    store.finish_runs([success("a", at(10), at(21)), success("a", at(20), at(22))])
    statuses = [(run.scheduled_run_time, run.status) for run in store.get_runs("a")]
    assert statuses == [
        (at(20), RunStatus.SUCCESS),
        (T0, RunStatus.RUNNING),
        (at(-5), RunStatus.PENDING),
    ]


def test_age_retention_is_bounded_per_call(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(memory, "_AGE_BATCH", 4)
    store = new_store(max_run_age=60)
    for index in range(10):
        store.add_job(interval_job(f"old{index}", seconds=10_000))
    store.add_job(interval_job("new", start=at(500), seconds=1))
    store.claim_jobs("s1", at(0))
    store.finish_runs([success(f"old{index}", T0, at(1)) for index in range(10)])
    assert len(store.get_runs(limit=None)) == 10

    for second in range(3):
        store.claim_jobs("s1", at(500 + second))
        store.finish_runs([success("new", at(500 + second), at(501 + second))])
        # at most 4 old records dropped per finish_runs call
        old = [run for run in store.get_runs(limit=None) if run.job_id != "new"]
        assert len(old) == max(10 - 4 * (second + 1), 0)
    assert [run.job_id for run in store.get_runs(limit=None)] == ["new"] * 3


def test_age_heap_stays_proportional_to_the_history_kept() -> None:
    store = new_store(max_runs_per_job=2)
    store.add_job(interval_job("a", seconds=1))
    for index in range(1000):
        store.claim_jobs("s1", at(index))
        store.finish_runs([success("a", at(index), at(index))])
    assert len(store.get_runs("a", limit=None)) == 2
    assert len(store._ages) <= 2 * 2 + 64 + 1
    assert len(store._records) == 2


def test_pending_record_of_a_removed_job_is_interrupted() -> None:
    store = new_store()
    store.add_job(interval_job("a", start=at(100)))
    store.request_run("a", at(1))
    store.remove_job("a")
    claim = store.claim_jobs("s1", at(2))
    assert claim.runs == []
    assert [(run.job_id, run.status) for run in claim.interrupted] == [("a", RunStatus.INTERRUPTED)]
    record = store.get_runs("a")[0]
    assert record.exception_message == "the job was removed before it ran"
    assert record.finished_at == at(2)
    assert store._records[("a", at(1))].job is None  # nothing kept: nothing to recover


def test_pending_record_waits_for_a_scheduler_with_the_executor() -> None:
    store = new_store()
    job = interval_job("a", start=at(100), executor="special")
    store.add_job(job)
    store.request_run("a", at(1))
    claim = store.claim_jobs("s1", at(2), executors={"default"})
    assert claim.runs == []
    assert claim.unknown_executor == [job]
    assert store.get_runs("a")[0].status is RunStatus.PENDING
    claim = store.claim_jobs("s2", at(3), executors={"special"})
    assert [(run.kind, run.run_times) for run in claim.runs] == [("now", [at(1)])]


def test_pending_record_refused_at_max_instances() -> None:
    store = new_store()
    store.add_job(interval_job("a", max_instances=1))
    store.claim_jobs("s1", at(0))
    store.request_run("a", at(1))
    claim = store.claim_jobs("s1", at(2))
    assert [(run.kind, run.run_times) for run in claim.refused] == [("now", [at(1)])]
    record = store.get_run("a", at(1))
    assert record is not None
    assert (record.status, record.manual) == (RunStatus.MAX_INSTANCES, True)


def test_pending_records_count_towards_the_limit() -> None:
    store = new_store()
    store.add_job(interval_job("a", start=at(100), max_instances=5))
    for index in range(3):
        store.request_run("a", at(index))
    first = store.claim_jobs("s1", at(5), limit=2)
    assert [run.run_times for run in first.runs] == [[T0], [at(1)]]
    assert first.more
    second = store.claim_jobs("s1", at(5), limit=2)
    assert [run.run_times for run in second.runs] == [[at(2)]]


def test_request_run_in_the_past_keeps_the_order() -> None:
    store = new_store()
    store.add_job(interval_job("a", max_instances=5))
    store.claim_jobs("s1", at(20))
    store.request_run("a", at(-30))
    store.request_run("a", at(30))
    assert [run.scheduled_run_time for run in store.get_runs("a")] == [at(30), at(20), at(-30)]
    with pytest.raises(JobLookupError):
        store.request_run("b", at(0))


def test_recovery_groups_the_records_of_a_job() -> None:
    store = new_store()
    store.add_job(interval_job("a", coalesce=False, max_instances=3))
    store.check_in("s1", at(0), 1)
    store.claim_jobs("s1", at(20))
    claim = store.recover_runs("s2", at(30))
    assert [(run.job.id, run.run_times, run.attempt) for run in claim.runs] == [
        ("a", [T0, at(10), at(20)], 2)
    ]
    # still three running records of the job: max_instances holds
    assert store._running_counts == {"a": 3}
    assert store.claim_jobs("s2", at(30)).refused[0].run_times == [at(30)]


def test_records_of_an_unknown_scheduler_are_recovered() -> None:
    # a scheduler that never checked in with this store is as good as dead
    store = new_store()
    store.add_job(interval_job("a"))
    store.claim_jobs("ghost", at(0))
    claim = store.recover_runs("s1", at(0))
    assert [(run.job.id, run.previous_scheduler_id) for run in claim.runs] == [("a", "ghost")]


def one_off_job(job_id: str, **options: Any) -> Any:
    return make_job(SCHEDULER, dummy_job, id=job_id, trigger=DateTrigger(T0), **options)


def test_removed_job_lives_on_in_its_running_record_only() -> None:
    store = new_store()
    job = one_off_job("once")
    store.add_job(job)
    store.check_in("s1", at(0), 1)
    assert store.claim_jobs("s1", at(0)).removed == ["once"]
    assert store._records[("once", T0)].job is job

    # the very object is rerun, and the record still keeps it for a further recovery
    [run] = store.recover_runs("s2", at(5)).runs
    assert run.job is job and run.attempt == 2
    assert store.lookup_job("once") is None
    assert store._records[("once", T0)].job is job

    store.finish_runs([RunOutcome("once", T0, RunStatus.SUCCESS, at(6), "s2")])
    assert store._records[("once", T0)].job is None
    assert store.recover_runs("s3", at(100)).runs == []


def test_no_job_kept_for_records_of_a_job_still_stored_or_refused() -> None:
    store = new_store()
    store.add_job(interval_job("a", max_instances=1))
    store.claim_jobs("s1", at(0))
    store.claim_jobs("s1", at(10))  # refused: max_instances
    assert store._records[("a", T0)].job is None
    assert store._records[("a", at(10))].job is None


def test_kept_job_of_an_interrupted_record_is_dropped() -> None:
    store = new_store()
    store.add_job(one_off_job("once", at_most_once=True))
    store.claim_jobs("s1", at(0))
    claim = store.recover_runs("s2", at(5))
    assert [run.status for run in claim.interrupted] == [RunStatus.INTERRUPTED]
    assert store._records[("once", T0)].job is None


def test_outcomes_from_many_threads_at_once() -> None:
    store = new_store(max_runs_per_job=5)
    for index in range(200):
        store.add_job(interval_job(f"job{index}", max_instances=3))
    claim = store.claim_jobs("s1", at(0))
    assert len(claim.runs) == 200
    outcomes = [success(run.job.id, run.run_times[0], at(1)) for run in claim.runs]
    barrier = threading.Barrier(5)

    def report(part: list[RunOutcome]) -> None:
        barrier.wait(timeout=30)
        for outcome in part:
            store.finish_runs([outcome])

    threads = [threading.Thread(target=report, args=(outcomes[i::4],)) for i in range(4)]
    for thread in threads:
        thread.start()
    barrier.wait(timeout=30)
    for second in range(1, 4):  # claims go on meanwhile
        store.claim_jobs("s1", at(10 * second))
    for thread in threads:
        thread.join(timeout=30)
    assert store.get_runs(status="running", limit=None) == store.get_runs(
        status="running", since=at(10), limit=None
    )
    assert len(store.get_runs(status="success", limit=None)) == 200
    assert sum(store._running_counts.values()) == len(store._running)


def test_shutdown_forgets_jobs_but_not_records() -> None:
    store = new_store()
    store.add_job(interval_job("a"))
    store.claim_jobs("s1", at(0))
    store.shutdown()
    assert store.get_all_jobs() == []
    assert len(store.get_runs()) == 1


def check_heap(store: MemoryJobStore) -> None:
    """Each stored job has exactly one live heap entry, keyed by its next run time."""
    live = [entry for entry in store._heap if entry[3] is not None]
    assert len(live) == len(store._entries) == len(store._heap) - store._dead_entries
    assert {id(entry) for entry in live} == {id(entry) for entry in store._entries.values()}
    for entry in live:
        timestamp = entry[3].next_run_time.timestamp() if entry[3].next_run_time else inf
        assert entry[0] == timestamp


def test_claims_mixed_with_changes_keep_the_heap_sound() -> None:
    rng = random.Random(20300107)
    store = new_store()
    now = T0
    for _ in range(400):
        action = rng.random()
        job_id = f"job{rng.randrange(60)}"
        stored = store.lookup_job(job_id)
        if stored is None:
            start = now + timedelta(seconds=rng.randrange(-30, 60))
            executor = "default" if rng.random() < 0.8 else "elsewhere"
            store.add_job(
                interval_job(
                    job_id,
                    seconds=rng.choice([5, 7, 30]),
                    start=start,
                    executor=executor,
                    max_instances=100,
                )
            )
        elif action < 0.15:
            store.remove_job(job_id)
        elif action < 0.3:
            stored._modify(next_run_time=None if rng.random() < 0.3 else now)
            store.update_job(stored)
        else:
            now += timedelta(seconds=rng.randrange(0, 10))
            claim = store.claim_jobs("s1", now, executors={"default"}, limit=rng.randrange(1, 8))
            if not claim.more:
                assert all(job.executor != "default" for job in store.get_due_jobs(now))
        check_heap(store)
        assert sum(store._running_counts.values()) == len(store._running)
    assert len(store.get_runs(limit=None)) > 50
