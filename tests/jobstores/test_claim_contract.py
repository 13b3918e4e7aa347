"""The contract every claiming job store keeps (``quartzite.jobstores.claims``), run against
each kind: memory, SQLite (file), PostgreSQL, MariaDB and Redis, with the pickle serializer, and
the JSON serializer on SQLite and Redis.

Only the store's own methods are used: jobs go in with ``add_job``, then the test claims,
finishes, recovers and reads records as schedulers would, with explicit ``now`` instants (the
real clock is never read). Server-backed kinds skip without their server, and fail under
``QUARTZITE_REQUIRE_SERVICES=1``.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any, Callable

import pytest

from quartzite.job import Job
from quartzite.jobstores.base import JobLookupError
from quartzite.jobstores.claims import Claim, ClaimingJobStore, RunOutcome
from quartzite.runs import JobRun, RunStatus
from quartzite.serializers import JSONSerializer
from quartzite.triggers.date import DateTrigger
from quartzite.triggers.interval import IntervalTrigger
from round_bounds_support import RaisingTrigger
from support import Owner, dummy_job, make_job

UTC = timezone.utc
T0 = datetime(2030, 1, 7, 12, 0, tzinfo=UTC)

CLAIMING_PARAMS = [
    "memory",
    "sqlite_file-pickle",
    "sqlite_file-json",
    "postgresql-pickle",
    "mariadb-pickle",
    "redis-pickle",
    "redis-json",
]

NewStore = Callable[..., ClaimingJobStore]


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


@pytest.fixture(params=CLAIMING_PARAMS)
def store_kind(request: pytest.FixtureRequest) -> tuple[str, str]:
    kind, _, serializer = request.param.partition("-")
    return kind, serializer


@pytest.fixture
def new_store(store_kind: tuple[str, str], create_store: Callable[..., Any]) -> NewStore:
    """``new_store(**options)``: a started store of this test's kind, on its own table/keys."""
    kind, serializer_name = store_kind

    def new(**options: Any) -> ClaimingJobStore:
        # JSON stores may also read back the hostile test triggers of round_bounds_support
        serializer: Any = (
            JSONSerializer(allowed_modules=["support", "round_bounds_support"])
            if serializer_name == "json"
            else "pickle"
        )
        store = create_store(kind, serializer, **options)
        assert isinstance(store, ClaimingJobStore)
        return store

    return new


@pytest.fixture
def store(new_store: NewStore) -> ClaimingJobStore:
    return new_store()


@pytest.fixture
def uses_json(store_kind: tuple[str, str]) -> bool:
    return store_kind[1] == "json"


def interval_job(
    scheduler: Any, job_id: str, seconds: float = 10, start: datetime = T0, **options: Any
) -> Job:
    """A job due every ``seconds`` from ``start`` (no misfire grace limit, coalescing)."""
    trigger = IntervalTrigger(seconds=seconds, start_date=start, timezone=UTC)
    options.setdefault("misfire_grace_time", None)
    return make_job(scheduler, dummy_job, id=job_id, trigger=trigger, **options)


def next_run_time(store: ClaimingJobStore, job_id: str) -> datetime | None:
    job = store.lookup_job(job_id)
    assert job is not None
    return job.next_run_time


def taken(claim: Claim) -> dict[str, list[datetime]]:
    """Job id -> run times of the runs a claim returned to submit."""
    return {run.job.id: list(run.run_times) for run in claim.runs}


def finish(
    store: ClaimingJobStore,
    job_id: str,
    run_time: datetime,
    finished_at: datetime,
    status: RunStatus = RunStatus.SUCCESS,
    scheduler_id: str = "s1",
    **fields: Any,
) -> None:
    store.finish_runs([RunOutcome(job_id, run_time, status, finished_at, scheduler_id, **fields)])


def run_of(store: ClaimingJobStore, job_id: str, run_time: datetime) -> JobRun:
    found = store.get_run(job_id, run_time)
    assert found is not None, f"no record of {job_id} at {run_time}"
    return found


def times(runs: list[JobRun]) -> list[datetime]:
    return [run.scheduled_run_time for run in runs]


# -- claims ---------------------------------------------------------------------------------------


def test_claim_takes_due_jobs_once(store: ClaimingJobStore, store_scheduler: Any) -> None:
    store.add_job(interval_job(store_scheduler, "a"))
    store.add_job(interval_job(store_scheduler, "b", start=at(5)))
    store.add_job(interval_job(store_scheduler, "later", start=at(3600)))

    claim = store.claim_jobs("s1", at(5))
    assert taken(claim) == {"a": [T0], "b": [at(5)]}
    assert all(run.kind == "scheduled" and run.attempt == 1 for run in claim.runs)
    assert (claim.refused, claim.removed, claim.paused, claim.unknown_executor) == ([], [], [], [])
    assert next_run_time(store, "a") == at(10)
    assert next_run_time(store, "b") == at(15)
    assert next_run_time(store, "later") == at(3600)
    record = run_of(store, "a", T0)
    assert (record.status, record.scheduler_id, record.attempt) == (RunStatus.RUNNING, "s1", 1)
    assert record.started_at == at(5)
    assert (record.finished_at, record.recovered, record.manual) == (None, False, False)

    again = store.claim_jobs("s2", at(5))
    assert (again.runs, again.refused) == ([], [])
    assert run_of(store, "a", T0).scheduler_id == "s1"


def test_claim_limit_says_more(store: ClaimingJobStore, store_scheduler: Any) -> None:
    for index in range(5):
        store.add_job(interval_job(store_scheduler, f"job{index}", start=at(index)))
    first = store.claim_jobs("s1", at(10), limit=3)
    assert len(first.runs) == 3
    assert first.more
    second = store.claim_jobs("s1", at(10), limit=3)
    assert len(second.runs) == 2
    assert {run.job.id for run in first.runs + second.runs} == {f"job{i}" for i in range(5)}


def test_coalescing_takes_the_latest_run_time(
    store: ClaimingJobStore, store_scheduler: Any
) -> None:
    store.add_job(interval_job(store_scheduler, "a", coalesce=True))
    claim = store.claim_jobs("s1", at(35))
    assert taken(claim) == {"a": [at(30)]}
    assert next_run_time(store, "a") == at(40)
    assert times(store.get_runs("a")) == [at(30)]


def test_without_coalescing_every_due_run_time(
    store: ClaimingJobStore, store_scheduler: Any
) -> None:
    store.add_job(interval_job(store_scheduler, "a", coalesce=False, max_instances=5))
    claim = store.claim_jobs("s1", at(35))
    assert taken(claim) == {"a": [T0, at(10), at(20), at(30)]}
    assert next_run_time(store, "a") == at(40)
    assert times(store.get_runs("a")) == [at(30), at(20), at(10), T0]


def test_finished_trigger_removes_the_job(store: ClaimingJobStore, store_scheduler: Any) -> None:
    store.add_job(make_job(store_scheduler, id="once", trigger=DateTrigger(T0, timezone=UTC)))
    claim = store.claim_jobs("s1", at(1))
    assert taken(claim) == {"once": [T0]}
    assert claim.removed == ["once"]
    assert store.lookup_job("once") is None
    assert run_of(store, "once", T0).status is RunStatus.RUNNING


def test_unknown_executor_is_left_alone(store: ClaimingJobStore, store_scheduler: Any) -> None:
    store.add_job(interval_job(store_scheduler, "elsewhere", executor="other"))
    store.add_job(interval_job(store_scheduler, "here"))
    claim = store.claim_jobs("s1", at(1), executors={"default"})
    assert taken(claim) == {"here": [T0]}
    assert [job.id for job in claim.unknown_executor] == ["elsewhere"]
    assert next_run_time(store, "elsewhere") == T0
    assert store.get_runs("elsewhere") == []

    other = store.claim_jobs("s2", at(1), executors={"other"})
    assert taken(other) == {"elsewhere": [T0]}


def test_broken_trigger_pauses_the_job(store: ClaimingJobStore, store_scheduler: Any) -> None:
    store.add_job(make_job(store_scheduler, id="broken", trigger=RaisingTrigger(T0)))
    claim = store.claim_jobs("s1", at(1))
    assert claim.paused == ["broken"]
    assert claim.runs == []
    assert next_run_time(store, "broken") is None
    assert store.get_runs("broken") == []
    assert store.get_next_run_time() is None


def test_max_instances_refusal_is_recorded(store: ClaimingJobStore, store_scheduler: Any) -> None:
    store.add_job(interval_job(store_scheduler, "a", max_instances=1))
    assert taken(store.claim_jobs("s1", at(0))) == {"a": [T0]}

    claim = store.claim_jobs("s1", at(10))
    assert claim.runs == []
    assert [(run.job.id, run.run_times) for run in claim.refused] == [("a", [at(10)])]
    assert next_run_time(store, "a") == at(20)
    refused = run_of(store, "a", at(10))
    assert refused.status is RunStatus.MAX_INSTANCES
    assert refused.started_at == refused.finished_at == at(10)

    # once the running one finished, the job runs again
    finish(store, "a", T0, at(15))
    assert taken(store.claim_jobs("s1", at(20))) == {"a": [at(20)]}


def test_max_instances_counts_every_scheduler(
    store: ClaimingJobStore, store_scheduler: Any
) -> None:
    store.add_job(interval_job(store_scheduler, "a", max_instances=2))
    assert taken(store.claim_jobs("s1", at(0))) == {"a": [T0]}
    assert taken(store.claim_jobs("s2", at(10))) == {"a": [at(10)]}
    claim = store.claim_jobs("s3", at(20))
    assert [run.job.id for run in claim.refused] == ["a"]


# -- run-now --------------------------------------------------------------------------------------


def test_request_run_is_taken_once_by_the_next_claim(
    store: ClaimingJobStore, store_scheduler: Any
) -> None:
    store.add_job(interval_job(store_scheduler, "a", start=at(100)))
    requested = store.request_run("a", at(5))
    assert requested.status is RunStatus.PENDING
    assert (requested.job_id, requested.scheduled_run_time) == ("a", at(5))
    assert (requested.scheduler_id, requested.manual) == (None, True)
    assert run_of(store, "a", at(5)).status is RunStatus.PENDING

    claim = store.claim_jobs("s1", at(6))
    assert [(run.job.id, run.kind, run.run_times) for run in claim.runs] == [("a", "now", [at(5)])]
    assert next_run_time(store, "a") == at(100)
    record = run_of(store, "a", at(5))
    assert (record.status, record.scheduler_id, record.manual) == (RunStatus.RUNNING, "s1", True)

    assert store.claim_jobs("s2", at(6)).runs == []


def test_request_run_twice_in_the_same_instant(
    store: ClaimingJobStore, store_scheduler: Any
) -> None:
    store.add_job(interval_job(store_scheduler, "a", start=at(100), max_instances=2))
    first = store.request_run("a", at(5))
    second = store.request_run("a", at(5))
    assert first.scheduled_run_time != second.scheduled_run_time
    assert len(store.get_runs("a", status="pending")) == 2


def test_request_run_of_a_missing_job(store: ClaimingJobStore) -> None:
    with pytest.raises(JobLookupError):
        store.request_run("ghost", T0)


# -- outcomes -------------------------------------------------------------------------------------


def test_finish_runs_writes_the_outcomes(store: ClaimingJobStore, store_scheduler: Any) -> None:
    for job_id in ("ok", "bad", "late"):
        store.add_job(interval_job(store_scheduler, job_id))
    store.claim_jobs("s1", at(1))
    store.finish_runs(
        [
            RunOutcome("ok", T0, RunStatus.SUCCESS, at(3), "s1", return_value={"a": [1, 2]}),
            RunOutcome(
                "bad",
                T0,
                RunStatus.ERROR,
                at(4),
                "s1",
                exception_type="builtins.ValueError",
                exception_message="bad value",
                traceback="Traceback (most recent call last):\n  ...\nValueError: bad value\n",
            ),
            RunOutcome("late", T0, RunStatus.MISSED, at(2), "s1"),
        ]
    )
    ok = run_of(store, "ok", T0)
    assert (ok.status, ok.return_value, ok.finished_at) == (RunStatus.SUCCESS, {"a": [1, 2]}, at(3))
    assert ok.duration == 2.0
    bad = run_of(store, "bad", T0)
    assert bad.status is RunStatus.ERROR
    assert (bad.exception_type, bad.exception_message) == ("builtins.ValueError", "bad value")
    assert bad.traceback is not None and bad.traceback.endswith("ValueError: bad value\n")
    assert bad.return_value is None
    late = run_of(store, "late", T0)
    assert (late.status, late.finished_at) == (RunStatus.MISSED, at(2))


def test_return_values_the_serializer_refuses_are_dropped(
    store: ClaimingJobStore, store_scheduler: Any, uses_json: bool
) -> None:
    store.add_job(interval_job(store_scheduler, "a"))
    store.claim_jobs("s1", at(1))
    finish(store, "a", T0, at(2), return_value=Owner(3))
    record = run_of(store, "a", T0)
    assert record.status is RunStatus.SUCCESS
    assert record.return_value == (None if uses_json else Owner(3))


def test_return_values_never_kept_with_size_zero(new_store: NewStore, store_scheduler: Any) -> None:
    store = new_store(max_return_value_size=0)
    store.add_job(interval_job(store_scheduler, "a"))
    store.claim_jobs("s1", at(1))
    finish(store, "a", T0, at(2), return_value=42)
    record = run_of(store, "a", T0)
    assert (record.status, record.return_value) == (RunStatus.SUCCESS, None)


def test_finish_runs_leaves_other_schedulers_records(
    store: ClaimingJobStore, store_scheduler: Any
) -> None:
    store.add_job(interval_job(store_scheduler, "a"))
    store.claim_jobs("s1", at(1))
    finish(store, "a", T0, at(2), scheduler_id="s2")
    record = run_of(store, "a", T0)
    assert (record.status, record.scheduler_id, record.finished_at) == (
        RunStatus.RUNNING,
        "s1",
        None,
    )
    # neither may an outcome land twice
    finish(store, "a", T0, at(3))
    finish(store, "a", T0, at(4), RunStatus.ERROR)
    record = run_of(store, "a", T0)
    assert (record.status, record.finished_at) == (RunStatus.SUCCESS, at(3))


# -- recovery -------------------------------------------------------------------------------------


def test_recover_runs_after_the_check_in_expired(
    store: ClaimingJobStore, store_scheduler: Any
) -> None:
    store.add_job(interval_job(store_scheduler, "a"))
    store.check_in("s1", at(0), 0.01)
    store.check_in("s2", at(0), 60)
    store.claim_jobs("s1", at(0))

    assert store.recover_runs("s2", at(0)).runs == []  # s1 is still alive at at(0)

    claim = store.recover_runs("s2", at(1))
    assert [(run.job.id, run.run_times) for run in claim.runs] == [("a", [T0])]
    run = claim.runs[0]
    assert (run.kind, run.attempt, run.previous_scheduler_id) == ("recovered", 2, "s1")
    record = run_of(store, "a", T0)
    assert (record.status, record.scheduler_id) == (RunStatus.RUNNING, "s2")
    assert (record.attempt, record.recovered, record.started_at) == (2, True, at(1))

    # taken over: s1's late outcome is ignored, s2's is written
    assert store.recover_runs("s3", at(2)).runs == []
    finish(store, "a", T0, at(3), scheduler_id="s1")
    assert run_of(store, "a", T0).status is RunStatus.RUNNING
    finish(store, "a", T0, at(4), scheduler_id="s2")
    assert run_of(store, "a", T0).status is RunStatus.SUCCESS


def test_at_most_once_job_is_interrupted(store: ClaimingJobStore, store_scheduler: Any) -> None:
    store.add_job(interval_job(store_scheduler, "a", at_most_once=True))
    store.check_in("s1", at(0), 0.01)
    store.claim_jobs("s1", at(0))
    claim = store.recover_runs("s2", at(1))
    assert claim.runs == []
    assert [(run.job_id, run.scheduled_run_time, run.status) for run in claim.interrupted] == [
        ("a", T0, RunStatus.INTERRUPTED)
    ]
    record = run_of(store, "a", T0)
    assert (record.status, record.finished_at) == (RunStatus.INTERRUPTED, at(1))


def one_off_job(scheduler: Any, job_id: str, **options: Any) -> Job:
    """A job whose only fire time is T0 (the claim that takes it removes it), with arguments
    to check after it comes back from the store."""
    trigger = DateTrigger(T0, timezone=UTC)
    return make_job(
        scheduler,
        dummy_job,
        id=job_id,
        trigger=trigger,
        args=(1, "two"),
        kwargs={"three": [3]},
        **options,
    )


def test_removed_one_off_job_is_rerun_after_its_scheduler_died(
    store: ClaimingJobStore, store_scheduler: Any
) -> None:
    store.add_job(one_off_job(store_scheduler, "once"))
    store.check_in("dead", at(0), 0.01)
    store.check_in("alive", at(0), 60)
    claim = store.claim_jobs("dead", at(0))
    assert taken(claim) == {"once": [T0]}
    assert claim.removed == ["once"]

    recovered = store.recover_runs("alive", at(1))
    assert recovered.interrupted == []
    [run] = recovered.runs
    assert (run.kind, run.attempt, run.previous_scheduler_id) == ("recovered", 2, "dead")
    assert run.run_times == [T0]
    assert run.job.id == "once"
    assert run.job.func is dummy_job
    assert (tuple(run.job.args), run.job.kwargs) == ((1, "two"), {"three": [3]})
    assert store.lookup_job("once") is None  # rerun, but not put back in the store
    record = run_of(store, "once", T0)
    assert (record.status, record.scheduler_id) == (RunStatus.RUNNING, "alive")
    assert (record.attempt, record.recovered) == (2, True)

    # should the rerun's scheduler die too, the next one reruns it again
    again = store.recover_runs("third", at(100))
    assert [(run.job.id, run.kind, run.attempt) for run in again.runs] == [("once", "recovered", 3)]
    finish(store, "once", T0, at(101), scheduler_id="third")
    record = run_of(store, "once", T0)
    assert (record.status, record.attempt) == (RunStatus.SUCCESS, 3)
    assert store.lookup_job("once") is None


def test_removed_at_most_once_job_is_interrupted(
    store: ClaimingJobStore, store_scheduler: Any
) -> None:
    store.add_job(one_off_job(store_scheduler, "once", at_most_once=True))
    store.check_in("dead", at(0), 0.01)
    assert store.claim_jobs("dead", at(0)).removed == ["once"]

    claim = store.recover_runs("alive", at(1))
    assert claim.runs == []
    assert [(run.job_id, run.scheduled_run_time, run.status) for run in claim.interrupted] == [
        ("once", T0, RunStatus.INTERRUPTED)
    ]
    record = run_of(store, "once", T0)
    assert (record.status, record.finished_at) == (RunStatus.INTERRUPTED, at(1))


def test_release_makes_records_recoverable_at_once(
    store: ClaimingJobStore, store_scheduler: Any
) -> None:
    store.add_job(interval_job(store_scheduler, "a"))
    store.check_in("s1", at(0), 3600)
    store.claim_jobs("s1", at(0))
    assert store.recover_runs("s2", at(1)).runs == []
    store.release("s1")
    claim = store.recover_runs("s2", at(1))
    assert [(run.job.id, run.previous_scheduler_id) for run in claim.runs] == [("a", "s1")]


def test_recover_lost_records_of_the_same_scheduler(
    store: ClaimingJobStore, store_scheduler: Any
) -> None:
    store.add_job(interval_job(store_scheduler, "a"))
    store.add_job(interval_job(store_scheduler, "b"))
    store.check_in("s1", at(0), 3600)
    store.claim_jobs("s1", at(0))
    claim = store.recover_runs("s1", at(1), lost=[("a", T0)])
    assert [(run.job.id, run.kind, run.attempt) for run in claim.runs] == [("a", "recovered", 2)]
    assert run_of(store, "b", T0).attempt == 1


# -- retention and history ------------------------------------------------------------------------


def test_retention_by_count(new_store: NewStore, store_scheduler: Any) -> None:
    store = new_store(max_runs_per_job=3)
    store.add_job(interval_job(store_scheduler, "a"))
    for index in range(25):
        claim = store.claim_jobs("s1", at(10 * index))
        assert taken(claim) == {"a": [at(10 * index)]}
        finish(store, "a", at(10 * index), at(10 * index + 1))
    store.claim_jobs("s1", at(250))  # a running record: never removed by retention
    finished = store.get_runs("a", status=["success"], limit=None)
    # Stores may trim lazily (every few finishes), but keep the newest and stay bounded.
    assert 3 <= len(finished) <= 13
    assert times(finished)[:3] == [at(240), at(230), at(220)]
    assert run_of(store, "a", at(250)).status is RunStatus.RUNNING


def test_retention_by_age(new_store: NewStore, store_scheduler: Any) -> None:
    # Stores may run the age pass at most once a minute (of real time) and never take a
    # "now" later than the real clock, so: instants in the past, and the outcome that makes
    # the other record old reported in the same call.
    past = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
    store = new_store(max_run_age=60)
    store.add_job(interval_job(store_scheduler, "a", seconds=100, start=past, max_instances=2))
    store.claim_jobs("s1", past)
    store.claim_jobs("s1", past + timedelta(seconds=300))
    store.finish_runs(
        [
            RunOutcome("a", past, RunStatus.SUCCESS, past + timedelta(seconds=1), "s1"),
            RunOutcome(
                "a",
                past + timedelta(seconds=300),
                RunStatus.SUCCESS,
                past + timedelta(seconds=301),
                "s1",
            ),
        ]
    )
    assert times(store.get_runs("a")) == [past + timedelta(seconds=300)]


def test_without_history_no_finished_records(new_store: NewStore, store_scheduler: Any) -> None:
    store = new_store(history=False)
    store.add_job(interval_job(store_scheduler, "a", max_instances=1))
    store.claim_jobs("s1", at(0))
    assert run_of(store, "a", T0).status is RunStatus.RUNNING  # needed for recovery
    store.claim_jobs("s1", at(10))  # refused: max_instances
    finish(store, "a", T0, at(11))
    assert store.get_runs() == []
    # and the record still kept the occurrence from being taken twice while it ran
    assert taken(store.claim_jobs("s1", at(20))) == {"a": [at(20)]}


def test_remove_job_keeps_its_records(store: ClaimingJobStore, store_scheduler: Any) -> None:
    store.add_job(interval_job(store_scheduler, "a"))
    store.claim_jobs("s1", at(0))
    finish(store, "a", T0, at(1))
    store.remove_job("a")
    assert [(run.job_id, run.status) for run in store.get_runs("a")] == [("a", RunStatus.SUCCESS)]
    store.remove_all_jobs()
    assert len(store.get_runs()) == 1
    with pytest.raises(JobLookupError):
        store.request_run("a", at(2))


# -- reading records ------------------------------------------------------------------------------


@pytest.fixture
def some_runs(store: ClaimingJobStore, store_scheduler: Any) -> ClaimingJobStore:
    """Job a (s1): success at T0, error at 10 s, running at 20 s; job b (s2, another
    executor): running at 5 and 15 s."""
    store.add_job(interval_job(store_scheduler, "a", coalesce=False, max_instances=3))
    store.add_job(
        interval_job(
            store_scheduler, "b", start=at(5), coalesce=False, max_instances=3, executor="x"
        )
    )
    assert taken(store.claim_jobs("s1", at(20), executors={"default"})) == {
        "a": [T0, at(10), at(20)]
    }
    assert taken(store.claim_jobs("s2", at(20), executors={"x"})) == {"b": [at(5), at(15)]}
    finish(store, "a", T0, at(21))
    finish(store, "a", at(10), at(22), RunStatus.ERROR, exception_type="builtins.OSError")
    return store


def test_get_runs_filters_newest_first(some_runs: ClaimingJobStore) -> None:
    store = some_runs
    assert [(run.job_id, run.scheduled_run_time) for run in store.get_runs()] == [
        ("a", at(20)),
        ("b", at(15)),
        ("a", at(10)),
        ("b", at(5)),
        ("a", T0),
    ]
    assert times(store.get_runs("a")) == [at(20), at(10), T0]
    assert times(store.get_runs("a", status="success")) == [T0]
    assert times(store.get_runs("a", status=RunStatus.ERROR)) == [at(10)]
    assert times(store.get_runs(status=["error", RunStatus.RUNNING])) == [
        at(20),
        at(15),
        at(10),
        at(5),
    ]
    assert times(store.get_runs(since=at(10))) == [at(20), at(15), at(10)]
    assert times(store.get_runs("a", since=at(10))) == [at(20), at(10)]
    assert times(store.get_runs(limit=2)) == [at(20), at(15)]
    assert times(store.get_runs(limit=None)) == [at(20), at(15), at(10), at(5), T0]
    assert store.get_runs(limit=0) == []
    for bad in (-1, True, 2.0, "3"):
        with pytest.raises(ValueError, match=r"limit must be None or an int >= 0, got "):
            store.get_runs(limit=bad)  # type: ignore[arg-type]
    assert times(store.get_runs(scheduler_id="s2")) == [at(15), at(5)]
    assert store.get_runs("nobody") == []
    with pytest.raises(ValueError, match="unknown run status"):
        store.get_runs(status="exploded")


def test_job_run_fields_are_typed(some_runs: ClaimingJobStore) -> None:
    for run in some_runs.get_runs(limit=None):
        assert isinstance(run, JobRun)
        assert type(run.status) is RunStatus
        assert run.jobstore == "default"
        for value in (run.scheduled_run_time, run.started_at, run.finished_at):
            if value is not None:
                assert isinstance(value, datetime)
                assert value.utcoffset() == timedelta(0)
        assert isinstance(run.attempt, int) and not isinstance(run.attempt, bool)
        assert isinstance(run.recovered, bool) and isinstance(run.manual, bool)
    error = run_of(some_runs, "a", at(10))
    assert error.exception_type == "builtins.OSError"
    assert error.started_at == at(20)
    assert error.finished_at == at(22)


def test_the_claim_writes_what_it_returns(some_runs: ClaimingJobStore) -> None:
    running = some_runs.get_runs(status="running", limit=None)
    assert sorted((run.job_id, run.scheduled_run_time, run.scheduler_id) for run in running) == [
        ("a", at(20), "s1"),
        ("b", at(5), "s2"),
        ("b", at(15), "s2"),
    ]


def test_store_options_are_checked(new_store: NewStore) -> None:
    with pytest.raises(ValueError, match="max_runs_per_job"):
        new_store(max_runs_per_job=0)
    store = new_store(max_run_age=timedelta(hours=1), history=False)
    assert store.history_options.max_run_age == 3600.0
    assert store.history_options.history is False
