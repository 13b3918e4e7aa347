"""No trigger state can make one processing round unbounded (issue 8).

An attacker with write access to a job store can put any trigger state in a row: a zero or
negative interval, dates in the year 1 or 9999, an end before the start, a NaN jitter, a cron
specification that never matches, combinations nested inside each other, or a third-party
trigger whose arithmetic is broken. Whatever the row holds, one ``_process_jobs()`` round must

- return, within :data:`ROUND_SECONDS` of the round's CPU time (a bound for a hang, not a
  performance target; CPU time, so that a machine loaded by other tests does not fail it) and
  :data:`ROUND_MEMORY` bytes of traced memory growth;
- run the store's healthy job;
- leave the hostile job in one of the outcomes :func:`hostile_outcome` accepts: quarantined by
  the store (unreadable row), paused by the round (the trigger failed or did not move forward),
  run a bounded number of times and rescheduled later than before, or run and finished.

The property tests generate trigger states with hypothesis and write them, inside a job row due
ten years ago, through the pickle and the JSON serializer into an SQLite file store (and, when
the state is one a trigger accepts, as a trigger object into the memory store). The plain tests
spell out the expected outcome of each hand-written hostile trigger, and of a week of downtime
for a one-second interval job. Every round runs under :func:`alarm`, so a real hang fails the
test instead of freezing the run; memory is traced in a second, identical round (see
:func:`run_round`). The strategies and the hostile triggers live in ``round_bounds_support``.
"""

from __future__ import annotations

import math
import time
import tracemalloc
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Callable
from uuid import uuid4

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from jobstores.support import insert_raw_row
from quartzite._schedule import _FINAL_WALK, MAX_CATCH_UP
from quartzite.job import Job
from quartzite.jobstores.base import BaseJobStore
from quartzite.jobstores.memory import MemoryJobStore
from quartzite.serializers import JSONSerializer
from quartzite.triggers.base import BaseTrigger
from quartzite.triggers.combining import AndTrigger
from quartzite.triggers.cron import CronTrigger
from quartzite.triggers.interval import IntervalTrigger
from round_bounds_support import (
    ALLOWED_MODULES,
    HOSTILE_TRIGGER_CLASSES,
    NOW,
    TEN_YEARS_AGO,
    UTC,
    CreepingTrigger,
    EarlierTrigger,
    FixedNowScheduler,
    NaiveTrigger,
    NotADatetimeTrigger,
    RaisingTrigger,
    RecordingExecutor,
    SameTimeTrigger,
    TriggerState,
    job_function,
    json_row,
    pickle_row,
    restore_trigger,
    trigger_state_strategy,
)
from support import Hang, alarm

pytest.importorskip("sqlalchemy")

#: Bound on the CPU time of one round: far above any honest round, only a hang reaches it.
ROUND_SECONDS = 5.0
#: Bound on the traced memory a round may allocate on top of what was allocated before it.
ROUND_MEMORY = 50 * 1024 * 1024
#: The alarm that interrupts a round that hangs outright (POSIX only).
ALARM_SECONDS = 30
#: The memory of a round is traced (in a second pass) when the timed pass took less than this.
TRACE_BELOW_SECONDS = 0.5
#: The alarm of the traced pass (tracing makes the round about fifteen times slower).
TRACED_ALARM_SECONDS = 60
#: The healthy job of every store is due here, and fires every 10 seconds.
HEALTHY_RUN = NOW - timedelta(seconds=5)
#: The most run times one submission may cover (the catch-up bound and its final walk).
MAX_RUN_TIMES = MAX_CATCH_UP + _FINAL_WALK

OUTCOMES = {"quarantined", "paused", "rescheduled", "finished"}


# --- running one round and judging it ---------------------------------------------------------


@dataclass
class RoundResult:
    """What one round did: its cost, its submissions, and the hostile job afterwards."""

    elapsed: float
    #: peak traced memory growth of the traced pass (``None``: not traced, see run_round)
    memory_growth: int | None
    submissions: list[tuple[str, list[datetime]]]
    #: ids the store quarantined while the round read its due jobs
    quarantined: list[str]
    #: the hostile job as stored after the round (``None``: no longer in the store)
    hostile: Job | None
    #: ids quarantined only when the jobs were read back after the round
    quarantined_on_reread: list[str]
    healthy_next_run_time: datetime | None


def healthy_job(scheduler: Any) -> Job:
    return Job(
        scheduler,
        id="healthy",
        func=job_function,
        trigger=IntervalTrigger(seconds=10, start_date=HEALTHY_RUN, timezone="UTC"),
        executor="default",
        args=(),
        kwargs={},
        misfire_grace_time=None,
        coalesce=True,
        max_instances=1,
        next_run_time=HEALTHY_RUN,
    )


def hostile_job(
    scheduler: Any,
    trigger: Any,
    *,
    coalesce: bool,
    grace: int | None,
    next_run_time: datetime = TEN_YEARS_AGO,
) -> Job:
    """The job "hostile" around ``trigger`` (for the memory store, which keeps objects)."""
    return Job(
        scheduler,
        id="hostile",
        func=job_function,
        trigger=trigger,
        executor="default",
        args=(),
        kwargs={},
        misfire_grace_time=grace,
        coalesce=coalesce,
        max_instances=1,
        next_run_time=next_run_time,
    )


def quarantined_ids(store: BaseJobStore) -> list[str]:
    getter = getattr(store, "get_quarantined_jobs", None)
    return [job.id for job in getter()] if getter is not None else []


def sqlite_store(directory: Path, serializer: str) -> BaseJobStore:
    from sqlalchemy import MetaData

    from quartzite.jobstores.sqlalchemy import SQLAlchemyJobStore

    chosen: Any = (
        JSONSerializer(allowed_modules=ALLOWED_MODULES) if serializer == "json" else serializer
    )
    # (A MetaData of its own: thousands of examples would otherwise pile their tables up in one)
    return SQLAlchemyJobStore(
        url=f"sqlite:///{directory / 'jobs.sqlite'}",
        metadata=MetaData(),
        tablename=f"rb_{uuid4().hex[:12]}",
        serializer=chosen,
    )


def _one_round(store: BaseJobStore, put_hostile: Any, *, traced: bool) -> RoundResult:
    """Start a scheduler on ``store`` holding the healthy job and, through ``put_hostile(store,
    scheduler)``, the hostile one; run one round under the alarm; report what happened."""
    executor = RecordingExecutor()
    scheduler = FixedNowScheduler(timezone="UTC", executors={"default": executor})
    scheduler.add_jobstore(store, "default")
    scheduler.start()
    try:
        store.add_job(healthy_job(scheduler))
        put_hostile(store, scheduler)
        before = set(quarantined_ids(store))

        growth: int | None = None
        if traced:
            tracemalloc.start()
        try:
            baseline = tracemalloc.get_traced_memory()[0]
            with alarm(TRACED_ALARM_SECONDS if traced else ALARM_SECONDS, "the round"):
                # The round runs in this thread: its CPU time is what the trigger costs.
                started = time.thread_time()
                scheduler._process_jobs()
                elapsed = time.thread_time() - started
            if traced:
                growth = tracemalloc.get_traced_memory()[1] - baseline
        finally:
            if traced:
                tracemalloc.stop()

        quarantined = [job_id for job_id in quarantined_ids(store) if job_id not in before]
        hostile = store.lookup_job("hostile")
        healthy = store.lookup_job("healthy")
        reread = [
            job_id
            for job_id in quarantined_ids(store)
            if job_id not in before and job_id not in quarantined
        ]
    finally:
        scheduler.shutdown()
    return RoundResult(
        elapsed=elapsed,
        memory_growth=growth,
        submissions=executor.submissions,
        quarantined=quarantined,
        hostile=hostile,
        quarantined_on_reread=reread,
        healthy_next_run_time=None if healthy is None else healthy.next_run_time,
    )


def run_round(make_store: Callable[[], BaseJobStore], put_hostile: Any) -> RoundResult:
    """Run the round twice, each on a new store from ``make_store()`` holding the same jobs:
    once timed (the result reported), then once under tracemalloc for its memory growth.

    Two passes because tracing slows Python code down about fifteen times: a round that is
    merely slow would look like a hang under it. The traced pass is left out after a timed pass
    slower than :data:`TRACE_BELOW_SECONDS` (``memory_growth`` stays ``None``): such a round is
    judged by its time alone, and allocating without bound cannot be fast.
    """
    result = _one_round(make_store(), put_hostile, traced=False)
    if result.elapsed < TRACE_BELOW_SECONDS:
        result.memory_growth = _one_round(make_store(), put_hostile, traced=True).memory_growth
    return result


def guarded_round(spec: TriggerState, run: Any) -> RoundResult:
    """``run()``, with a hang reported as an ordinary failure naming the trigger state, so that
    hypothesis shows (and shrinks) the example instead of stopping at the alarm."""
    try:
        result: RoundResult = run()
    except Hang as exc:
        raise AssertionError(f"{exc}: {spec!r}") from None
    return result


def check_round(result: RoundResult) -> None:
    """The bounds every round keeps, and the healthy job ran and was rescheduled."""
    assert result.elapsed < ROUND_SECONDS, f"the round took {result.elapsed:.1f} s"
    growth = result.memory_growth
    assert growth is None or growth < ROUND_MEMORY, f"the round allocated {growth} B"
    assert ("healthy", [HEALTHY_RUN]) in result.submissions
    assert result.healthy_next_run_time == HEALTHY_RUN + timedelta(seconds=10)


def hostile_outcome(result: RoundResult, coalesce: bool) -> str:
    """Classify what the round did with the hostile job, failing on anything unaccounted for."""
    runs = [run_times for job_id, run_times in result.submissions if job_id == "hostile"]
    assert len(runs) <= 1, "a round submits a job at most once"
    for run_times in runs:
        assert 1 <= len(run_times) <= (1 if coalesce else MAX_RUN_TIMES)
        assert all(isinstance(run, datetime) and run.utcoffset() is not None for run in run_times)
        stamps = [run.timestamp() for run in run_times]
        assert stamps == sorted(set(stamps)), "run times must be strictly increasing"
        assert stamps[-1] <= NOW.timestamp(), "no run time may lie after now"

    if "hostile" in result.quarantined:
        assert not runs, "a quarantined job must not run"
        return "quarantined"
    assert not result.quarantined_on_reread, (
        f"the round stored rows that cannot be read back: {result.quarantined_on_reread}"
    )
    job = result.hostile
    if job is None:
        return "finished"
    next_run_time = job.next_run_time
    if next_run_time is None:
        assert not runs, "a job paused for a broken trigger must not run"
        return "paused"
    assert isinstance(next_run_time, datetime) and next_run_time.utcoffset() is not None
    assert next_run_time > TEN_YEARS_AGO, (
        f"the job stays due at {next_run_time!r}: the round made no progress"
    )
    if next_run_time <= NOW:
        assert runs, "a job left due must have been caught up by the bound"
    return "rescheduled"


valid_trigger_states = trigger_state_strategy(hostile=False)
trigger_states = st.one_of(valid_trigger_states, trigger_state_strategy(hostile=True))
graces = st.sampled_from([None, 1, 3600])

# The number of examples comes from the hypothesis profile (tests/conftest.py): 60 on CI, far
# more with HYPOTHESIS_PROFILE=thorough.
PROPERTY_SETTINGS = settings(
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


@pytest.fixture(scope="module")
def database_directory(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One SQLite file for the module; every store in it gets its own table."""
    return tmp_path_factory.mktemp("round_bounds")


# --- the properties ------------------------------------------------------------------------------


ROWS = {"pickle": pickle_row, "json": json_row}


@pytest.mark.parametrize("serializer", ["pickle", "json"])
@PROPERTY_SETTINGS
@given(spec=trigger_states, coalesce=st.booleans(), grace=graces)
def test_no_stored_trigger_state_makes_a_round_unbounded(
    database_directory: Path, serializer: str, spec: TriggerState, coalesce: bool, grace: int | None
) -> None:
    try:
        row = ROWS[serializer]("hostile", spec, coalesce=coalesce, grace=grace)
    except (TypeError, ValueError, OverflowError):
        # Not writable in this format at all (a value the JSON text forms cannot hold)
        assume(False)

    def put_hostile(store: BaseJobStore, scheduler: Any) -> None:
        insert_raw_row(store, "hostile", row, TEN_YEARS_AGO)

    result = guarded_round(
        spec, lambda: run_round(lambda: sqlite_store(database_directory, serializer), put_hostile)
    )
    check_round(result)
    assert hostile_outcome(result, coalesce) in OUTCOMES


@PROPERTY_SETTINGS
@given(spec=valid_trigger_states, coalesce=st.booleans(), grace=graces)
def test_no_accepted_trigger_state_makes_a_memory_store_round_unbounded(
    spec: TriggerState, coalesce: bool, grace: int | None
) -> None:
    trigger = restore_trigger(spec)
    assume(trigger is not None)

    def put_hostile(store: BaseJobStore, scheduler: Any) -> None:
        store.add_job(hostile_job(scheduler, trigger, coalesce=coalesce, grace=grace))

    result = guarded_round(spec, lambda: run_round(MemoryJobStore, put_hostile))
    check_round(result)
    assert hostile_outcome(result, coalesce) in OUTCOMES - {"quarantined"}


# --- each hand-written hostile trigger, with its expected outcome -------------------------------

STORE_KINDS = ["pickle", "json", "memory"]
#: What the round does with each hostile trigger (all start ten years ago)
EXPECTED = {
    SameTimeTrigger: "paused",
    EarlierTrigger: "paused",
    NaiveTrigger: "paused",
    NotADatetimeTrigger: "paused",
    RaisingTrigger: "paused",
    CreepingTrigger: "rescheduled",
}


def round_with(
    kind: str, directory: Path, spec: TriggerState, *, coalesce: bool, grace: int | None
) -> RoundResult:
    """One round on a store of ``kind`` holding the healthy job and a hostile job of ``spec``."""
    if kind == "memory":
        trigger = restore_trigger(spec)
        assert trigger is not None

        def put_job(store: BaseJobStore, scheduler: Any) -> None:
            store.add_job(hostile_job(scheduler, trigger, coalesce=coalesce, grace=grace))

        return run_round(MemoryJobStore, put_job)

    row = (json_row if kind == "json" else pickle_row)(
        "hostile", spec, coalesce=coalesce, grace=grace
    )

    def put_row(store: BaseJobStore, scheduler: Any) -> None:
        insert_raw_row(store, "hostile", row, TEN_YEARS_AGO)

    return run_round(lambda: sqlite_store(directory, kind), put_row)


@pytest.mark.parametrize("kind", STORE_KINDS)
@pytest.mark.parametrize(
    "trigger_class",
    [cls for cls in HOSTILE_TRIGGER_CLASSES if EXPECTED[cls] == "paused"],
    ids=lambda cls: cls.__name__,
)
def test_a_trigger_that_does_not_move_forward_gets_its_job_paused_unrun(
    tmp_path: Path, kind: str, trigger_class: type[BaseTrigger]
) -> None:
    spec = TriggerState(trigger_class, {"start": TEN_YEARS_AGO})
    result = round_with(kind, tmp_path, spec, coalesce=False, grace=None)

    check_round(result)
    assert hostile_outcome(result, coalesce=False) == "paused"
    assert [job_id for job_id, _ in result.submissions] == ["healthy"]


@pytest.mark.parametrize("kind", STORE_KINDS)
def test_a_trigger_creeping_by_microseconds_is_caught_up_by_the_bound_per_round(
    tmp_path: Path, kind: str
) -> None:
    spec = TriggerState(CreepingTrigger, {"start": TEN_YEARS_AGO})
    result = round_with(kind, tmp_path, spec, coalesce=False, grace=None)

    check_round(result)
    assert hostile_outcome(result, coalesce=False) == "rescheduled"
    # The trigger cannot skip ahead (without a previous fire time it answers its start), so one
    # round runs the bound's worth of run times and leaves the job due, further on.
    expected = [TEN_YEARS_AGO + timedelta(microseconds=n) for n in range(MAX_CATCH_UP)]
    assert ("hostile", expected) in result.submissions
    assert result.hostile is not None
    assert result.hostile.next_run_time == TEN_YEARS_AGO + timedelta(microseconds=MAX_CATCH_UP)


@pytest.mark.parametrize("kind", STORE_KINDS)
def test_a_creeping_trigger_on_a_coalescing_job_runs_once_per_round(
    tmp_path: Path, kind: str
) -> None:
    spec = TriggerState(CreepingTrigger, {"start": TEN_YEARS_AGO})
    result = round_with(kind, tmp_path, spec, coalesce=True, grace=1)

    check_round(result)
    assert hostile_outcome(result, coalesce=True) == "rescheduled"
    last = TEN_YEARS_AGO + timedelta(microseconds=MAX_CATCH_UP - 1)
    assert ("hostile", [last]) in result.submissions


def test_a_cron_trigger_restored_with_texts_for_fields_does_not_stop_the_round(
    tmp_path: Path,
) -> None:
    """A hand-made pickle of a CronTrigger whose ``fields`` holds text instead of field objects:
    the row is quarantined, and the healthy job after it still runs."""
    state = {"version": 2, "timezone": UTC, "start_date": None, "end_date": None, "jitter": None}
    spec = TriggerState(CronTrigger, {**state, "fields": ["*/5"]})
    assert restore_trigger(spec) is None  # refused by CronTrigger.__setstate__
    result = round_with("pickle", tmp_path, spec, coalesce=True, grace=None)

    check_round(result)
    assert hostile_outcome(result, coalesce=True) == "quarantined"


# --- a week of downtime under a one-second interval -------------------------------------------


@pytest.mark.parametrize("grace", [30, None], ids=["grace_30s", "no_grace"])
@pytest.mark.parametrize("coalesce", [True, False], ids=["coalesce", "no_coalesce"])
def test_a_week_of_downtime_submits_a_bounded_number_of_runs_ending_with_the_latest(
    coalesce: bool, grace: int | None
) -> None:
    week_ago = NOW - timedelta(days=7)
    trigger = IntervalTrigger(seconds=1, start_date=week_ago, timezone="UTC")

    def put_job(store: BaseJobStore, scheduler: Any) -> None:
        job = hostile_job(
            scheduler, trigger, coalesce=coalesce, grace=grace, next_run_time=week_ago
        )
        store.add_job(job)

    result = run_round(MemoryJobStore, put_job)

    check_round(result)
    assert hostile_outcome(result, coalesce) == "rescheduled"
    ((run_times,),) = [[times] for job_id, times in result.submissions if job_id == "hostile"]
    # The latest run time within the grace (now itself: the interval is aligned on it) runs
    assert run_times[-1] == NOW
    if coalesce:
        assert run_times == [NOW]
    else:
        assert len(run_times) <= _FINAL_WALK
        if grace is not None:
            assert run_times[0] >= NOW - timedelta(seconds=grace)
    assert result.hostile is not None
    assert result.hostile.next_run_time == NOW + timedelta(seconds=1)


# --- combinations that search long for each fire time -------------------------------------------


@pytest.mark.parametrize("kind", ["pickle", "memory"])
@pytest.mark.parametrize("other_interval", [1.0005, 1.00025], ids=["every_2000s", "every_4000s"])
def test_two_interval_triggers_that_rarely_agree_keep_the_round_bounded(
    tmp_path: Path, kind: str, other_interval: float
) -> None:
    """An AndTrigger of a 1 s interval and a slightly longer one agrees every few thousand
    seconds, and searches thousands of rounds (tens of milliseconds) for each fire time; ten
    years of missed fire times must not multiply that by the catch-up bound."""
    start = {"version": 2, "timezone": UTC, "start_date": TEN_YEARS_AGO, "end_date": None}
    one = TriggerState(IntervalTrigger, {**start, "interval": timedelta(seconds=1), "jitter": None})
    other = TriggerState(
        IntervalTrigger, {**start, "interval": timedelta(seconds=other_interval), "jitter": None}
    )
    spec = TriggerState(AndTrigger, {"version": 1, "triggers": [one, other], "jitter": None})
    result = round_with(kind, tmp_path, spec, coalesce=True, grace=None)

    check_round(result)
    assert hostile_outcome(result, coalesce=True) == "rescheduled"
    # The latest agreement up to now runs: a multiple of the common period after the start
    ((run_time,),) = [times for job_id, times in result.submissions if job_id == "hostile"]
    period = (
        round(other_interval * 1_000_000)
        * 1_000_000
        // math.gcd(1_000_000, round(other_interval * 1_000_000))
    )
    elapsed_us = (run_time - TEN_YEARS_AGO) // timedelta(microseconds=1)
    assert elapsed_us % period == 0
    assert NOW - run_time < timedelta(microseconds=period)
