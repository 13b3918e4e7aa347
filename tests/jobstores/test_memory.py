"""Tests for the job store errors and base class (API contract §5.1, §5.2) and for
``quartzite.jobstores.memory.MemoryJobStore`` (§5.3)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone
from math import inf
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from quartzite.job import Job
from quartzite.jobstores.base import (
    BaseJobStore,
    ConflictingIdError,
    JobLookupError,
    TransientJobError,
)
from quartzite.jobstores.memory import MemoryJobStore
from quartzite.triggers.date import DateTrigger
from quartzite.util import datetime_to_utc_timestamp
from support import DummyScheduler, make_job

UTC = timezone.utc
BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
T0 = datetime(2020, 5, 17, 12, 0, tzinfo=UTC)


SCHEDULER = DummyScheduler(timezone=UTC)


def dummyfunc() -> None:
    pass


def stored_job(job_id: str, next_run_time: datetime | None) -> Job:
    """A job named after its id, due at ``next_run_time`` (``None``: paused)."""
    return make_job(
        SCHEDULER,
        dummyfunc,
        id=job_id,
        name=job_id,
        trigger=DateTrigger(T0),
        next_run_time=next_run_time,
    )


def ids(jobs: list[Job]) -> list[str]:
    return [job.id for job in jobs]


@pytest.fixture
def store() -> MemoryJobStore:
    store = MemoryJobStore()
    store.start(None, "default")
    return store


class MinimalStore(BaseJobStore):
    """Implements only the abstract methods, to observe the base class's own behaviour."""

    def lookup_job(self, job_id: str) -> Job | None:
        return None

    def get_due_jobs(self, now: datetime) -> list[Job]:
        return []

    def get_next_run_time(self) -> datetime | None:
        return None

    def get_all_jobs(self) -> list[Job]:
        return []

    def add_job(self, job: Job) -> None:
        pass

    def update_job(self, job: Job) -> None:
        pass

    def remove_job(self, job_id: str) -> None:
        pass

    def remove_all_jobs(self) -> None:
        pass


class TestErrors:
    def test_job_lookup_error(self) -> None:
        exc = JobLookupError("abc")
        assert isinstance(exc, KeyError)
        assert exc.args == ("No job by the id of abc was found",)
        assert str(exc) == "'No job by the id of abc was found'"

    def test_conflicting_id_error(self) -> None:
        exc = ConflictingIdError("abc")
        assert isinstance(exc, KeyError)
        assert exc.args == ("Job identifier (abc) conflicts with an existing job",)
        assert str(exc) == "'Job identifier (abc) conflicts with an existing job'"

    def test_transient_job_error(self) -> None:
        exc = TransientJobError("abc")
        assert isinstance(exc, ValueError)
        assert str(exc) == (
            "Job (abc) cannot be added to this job store because a reference to the callable "
            "could not be determined."
        )


class TestBaseJobStore:
    def test_abstract(self) -> None:
        with pytest.raises(TypeError):
            BaseJobStore()  # type: ignore[abstract]

    @pytest.mark.parametrize(
        "method",
        [
            "lookup_job",
            "get_due_jobs",
            "get_next_run_time",
            "get_all_jobs",
            "add_job",
            "update_job",
            "remove_job",
            "remove_all_jobs",
        ],
    )
    def test_abstract_methods(self, method: str) -> None:
        assert method in BaseJobStore.__abstractmethods__

    def test_class_attributes(self) -> None:
        assert BaseJobStore._scheduler is None
        assert BaseJobStore._alias is None
        assert BaseJobStore._logger.name == "quartzite.jobstores"

    def test_start(self) -> None:
        store = MinimalStore()
        store.start(None, "myalias")
        assert store._scheduler is None
        assert store._alias == "myalias"
        assert store._logger is logging.getLogger("quartzite.jobstores.myalias")

    def test_start_keeps_scheduler(self) -> None:
        store = MinimalStore()
        store.start(SCHEDULER, "other")
        assert store._scheduler is SCHEDULER
        assert store._alias == "other"

    def test_shutdown_is_a_no_op(self) -> None:
        store = MinimalStore()
        store.start(None, "default")
        assert store.shutdown() is None

    def test_repr(self) -> None:
        assert repr(MinimalStore()) == "<MinimalStore>"

    @pytest.mark.parametrize(
        ("next_run_times", "expected"),
        [
            ([], []),
            ([None, None, 1, 2], ["c", "d", "a", "b"]),
            ([None, 1, 2], ["b", "c", "a"]),
            ([1, 2, None], ["a", "b", "c"]),
            ([1, 2], ["a", "b"]),
            ([None, None], ["a", "b"]),
        ],
    )
    def test_fix_paused_jobs_sorting(
        self, next_run_times: list[int | None], expected: list[str]
    ) -> None:
        jobs = [
            stored_job(job_id, None if minutes is None else T0 + timedelta(minutes=minutes))
            for job_id, minutes in zip("abcd", next_run_times)
        ]
        original = jobs
        MinimalStore()._fix_paused_jobs_sorting(jobs)
        assert jobs is original  # in place
        assert ids(jobs) == expected


class TestMemoryJobStore:
    def test_repr(self, store: MemoryJobStore) -> None:
        assert repr(store) == "<MemoryJobStore>"

    def test_empty(self, store: MemoryJobStore) -> None:
        assert store.get_all_jobs() == []
        assert store.get_due_jobs(T0) == []
        assert store.get_next_run_time() is None
        assert store.lookup_job("x") is None

    def test_add_and_lookup_same_object(self, store: MemoryJobStore) -> None:
        job = stored_job("job1", T0)
        store.add_job(job)
        assert store.lookup_job("job1") is job
        assert store.get_all_jobs()[0] is job
        assert store.lookup_job("job2") is None

    def test_add_conflicting_id(self, store: MemoryJobStore) -> None:
        first = stored_job("job1", T0)
        store.add_job(first)
        with pytest.raises(ConflictingIdError, match=r"Job identifier \(job1\) conflicts"):
            store.add_job(stored_job("job1", T0 - timedelta(days=1)))
        assert store.lookup_job("job1") is first
        assert store.get_all_jobs() == [first]
        assert store.get_next_run_time() == T0

    def test_ordering(self, store: MemoryJobStore) -> None:
        jobs = [
            stored_job("paused_b", None),
            stored_job("late", T0 + timedelta(hours=1)),
            stored_job("tie_b", T0),
            stored_job("paused_a", None),
            stored_job("early", T0 - timedelta(hours=1)),
            stored_job("tie_a", T0),
        ]
        for job in jobs:
            store.add_job(job)
        assert ids(store.get_all_jobs()) == [
            "early",
            "tie_a",
            "tie_b",
            "late",
            "paused_a",
            "paused_b",
        ]

    def test_ordering_by_instant_across_time_zones(self, store: MemoryJobStore) -> None:
        store.add_job(stored_job("berlin", datetime(2020, 5, 17, 13, 0, tzinfo=BERLIN)))  # 11:00Z
        store.add_job(stored_job("new_york", datetime(2020, 5, 17, 7, 30, tzinfo=NEW_YORK)))
        store.add_job(stored_job("utc", datetime(2020, 5, 17, 11, 15, tzinfo=UTC)))
        store.add_job(stored_job("a_tie", datetime(2020, 5, 17, 11, 0, tzinfo=UTC)))
        assert ids(store.get_all_jobs()) == ["a_tie", "berlin", "utc", "new_york"]

    def test_ordering_across_dst_fold(self, store: MemoryJobStore) -> None:
        store.add_job(stored_job("second", datetime(2013, 11, 3, 1, 10, tzinfo=NEW_YORK, fold=1)))
        store.add_job(stored_job("first", datetime(2013, 11, 3, 1, 50, tzinfo=NEW_YORK)))
        assert ids(store.get_all_jobs()) == ["first", "second"]
        assert store.get_next_run_time().fold == 0

    def test_get_due_jobs(self, store: MemoryJobStore) -> None:
        for job_id, minutes in [("d", 3), ("a", 0), ("c", 2), ("b", 1), ("b2", 1)]:
            store.add_job(stored_job(job_id, T0 + timedelta(minutes=minutes)))
        store.add_job(stored_job("paused", None))
        assert store.get_due_jobs(T0 - timedelta(microseconds=1)) == []
        assert ids(store.get_due_jobs(T0)) == ["a"]
        assert ids(store.get_due_jobs(T0 + timedelta(minutes=1))) == ["a", "b", "b2"]
        assert ids(store.get_due_jobs(T0 + timedelta(minutes=2, seconds=59))) == [
            "a",
            "b",
            "b2",
            "c",
        ]
        assert ids(store.get_due_jobs(T0 + timedelta(days=9999))) == ["a", "b", "b2", "c", "d"]

    def test_get_due_jobs_does_not_remove(self, store: MemoryJobStore) -> None:
        store.add_job(stored_job("a", T0))
        assert ids(store.get_due_jobs(T0)) == ["a"]
        assert ids(store.get_due_jobs(T0)) == ["a"]
        assert ids(store.get_all_jobs()) == ["a"]

    def test_get_due_jobs_now_in_other_zone(self, store: MemoryJobStore) -> None:
        store.add_job(stored_job("a", T0))
        store.add_job(stored_job("b", T0 + timedelta(minutes=1)))
        now = datetime(2020, 5, 17, 14, 0, 30, tzinfo=BERLIN)  # 12:00:30Z
        assert ids(store.get_due_jobs(now)) == ["a"]

    def test_get_due_jobs_microseconds(self, store: MemoryJobStore) -> None:
        run_time = T0 + timedelta(microseconds=500001)
        store.add_job(stored_job("a", run_time))
        assert store.get_due_jobs(run_time - timedelta(microseconds=1)) == []
        assert ids(store.get_due_jobs(run_time)) == ["a"]

    def test_get_next_run_time(self, store: MemoryJobStore) -> None:
        store.add_job(stored_job("paused", None))
        assert store.get_next_run_time() is None
        later = datetime(2020, 5, 17, 16, 0, tzinfo=BERLIN)
        earlier = datetime(2020, 5, 17, 9, 0, tzinfo=NEW_YORK)  # 13:00Z, before 14:00Z
        store.add_job(stored_job("later", later))
        store.add_job(stored_job("earlier", earlier))
        assert store.get_next_run_time() is earlier
        assert store.get_next_run_time().tzinfo is NEW_YORK

    def test_update_moves_job(self, store: MemoryJobStore) -> None:
        for job_id, minutes in [("a", 1), ("b", 2), ("c", 3)]:
            store.add_job(stored_job(job_id, T0 + timedelta(minutes=minutes)))
        job = store.lookup_job("a")
        job._modify(next_run_time=T0 + timedelta(minutes=5))
        store.update_job(job)
        assert ids(store.get_all_jobs()) == ["b", "c", "a"]
        assert store.get_next_run_time() == T0 + timedelta(minutes=2)
        assert ids(store.get_due_jobs(T0 + timedelta(minutes=1))) == []

    def test_update_moves_job_earlier(self, store: MemoryJobStore) -> None:
        for job_id, minutes in [("a", 1), ("b", 2), ("c", 3)]:
            store.add_job(stored_job(job_id, T0 + timedelta(minutes=minutes)))
        store.update_job(stored_job("c", T0))
        assert ids(store.get_all_jobs()) == ["c", "a", "b"]
        assert store.get_next_run_time() == T0
        assert ids(store.get_due_jobs(T0)) == ["c"]

    def test_update_same_time_keeps_position(self, store: MemoryJobStore) -> None:
        for job_id in ("a", "b", "c"):
            store.add_job(stored_job(job_id, T0))
        replacement = stored_job("b", T0.astimezone(NEW_YORK))  # the same instant
        store.update_job(replacement)
        assert ids(store.get_all_jobs()) == ["a", "b", "c"]
        assert store.lookup_job("b") is replacement
        assert store.get_all_jobs()[1] is replacement
        assert store.get_due_jobs(T0)[1] is replacement

    def test_update_replaces_object_of_first_job(self, store: MemoryJobStore) -> None:
        store.add_job(stored_job("a", T0))
        replacement = stored_job("a", T0.astimezone(BERLIN))
        store.update_job(replacement)
        assert store.get_next_run_time() is replacement.next_run_time
        assert store.get_next_run_time().tzinfo is BERLIN

    def test_pause_and_resume(self, store: MemoryJobStore) -> None:
        store.add_job(stored_job("a", T0))
        store.add_job(stored_job("b", T0 + timedelta(minutes=1)))
        store.update_job(stored_job("a", None))
        assert ids(store.get_all_jobs()) == ["b", "a"]
        assert ids(store.get_due_jobs(T0 + timedelta(days=1))) == ["b"]
        assert store.get_next_run_time() == T0 + timedelta(minutes=1)

        store.update_job(stored_job("a", T0 + timedelta(minutes=2)))
        assert ids(store.get_all_jobs()) == ["b", "a"]
        assert ids(store.get_due_jobs(T0 + timedelta(days=1))) == ["b", "a"]

    def test_update_unknown(self, store: MemoryJobStore) -> None:
        store.add_job(stored_job("a", T0))
        with pytest.raises(JobLookupError, match=r"No job by the id of b was found"):
            store.update_job(stored_job("b", T0))
        assert ids(store.get_all_jobs()) == ["a"]

    def test_remove(self, store: MemoryJobStore) -> None:
        for job_id, minutes in [("a", 1), ("b", 2), ("c", 3)]:
            store.add_job(stored_job(job_id, T0 + timedelta(minutes=minutes)))
        store.remove_job("a")
        assert store.lookup_job("a") is None
        assert ids(store.get_all_jobs()) == ["b", "c"]
        assert store.get_next_run_time() == T0 + timedelta(minutes=2)
        assert ids(store.get_due_jobs(T0 + timedelta(days=1))) == ["b", "c"]

    def test_remove_unknown(self, store: MemoryJobStore) -> None:
        with pytest.raises(JobLookupError, match=r"No job by the id of a was found"):
            store.remove_job("a")
        store.add_job(stored_job("a", T0))
        store.remove_job("a")
        with pytest.raises(JobLookupError):
            store.remove_job("a")

    def test_remove_then_add_same_id(self, store: MemoryJobStore) -> None:
        store.add_job(stored_job("a", T0))
        store.add_job(stored_job("b", T0 + timedelta(minutes=1)))
        store.remove_job("a")
        readded = stored_job("a", T0 + timedelta(minutes=2))
        store.add_job(readded)
        assert ids(store.get_all_jobs()) == ["b", "a"]
        assert store.lookup_job("a") is readded
        assert ids(store.get_due_jobs(T0)) == []
        assert store.get_next_run_time() == T0 + timedelta(minutes=1)

    def test_remove_all_jobs(self, store: MemoryJobStore) -> None:
        for job_id in ("a", "b"):
            store.add_job(stored_job(job_id, T0))
        store.add_job(stored_job("c", None))
        store.remove_all_jobs()
        assert store.get_all_jobs() == []
        assert store.get_due_jobs(T0) == []
        assert store.get_next_run_time() is None
        assert store.lookup_job("a") is None
        store.add_job(stored_job("a", T0))
        assert ids(store.get_all_jobs()) == ["a"]

    def test_shutdown_removes_all_jobs(self, store: MemoryJobStore) -> None:
        store.add_job(stored_job("a", T0))
        store.shutdown()
        assert store.get_all_jobs() == []
        assert store.lookup_job("a") is None

    def test_internal_views(self, store: MemoryJobStore) -> None:
        """``_jobs`` and ``_jobs_index`` have the shapes the contract names."""
        late = stored_job("late", T0 + timedelta(seconds=1.5))
        early = stored_job("early", T0)
        paused = stored_job("paused", None)
        for job in (paused, late, early):
            store.add_job(job)
        early_timestamp = datetime_to_utc_timestamp(T0)
        late_timestamp = datetime_to_utc_timestamp(late.next_run_time)
        assert store._jobs == [(early, early_timestamp), (late, late_timestamp), (paused, None)]
        assert store._jobs_index == {
            "early": (early, early_timestamp),
            "late": (late, late_timestamp),
            "paused": (paused, None),
        }

    def test_many_updates_and_removals(self, store: MemoryJobStore) -> None:
        """Enough churn for the store to drop its stale entries, several times over."""
        for index in range(50):
            store.add_job(stored_job(f"job{index:02}", T0 + timedelta(minutes=index)))
        for round_number in range(40):
            for index in range(0, 50, 2):
                job = stored_job(f"job{index:02}", T0 + timedelta(minutes=index + round_number))
                store.update_job(job)
        for index in range(1, 50, 4):
            store.remove_job(f"job{index:02}")
            store.add_job(stored_job(f"job{index:02}", None))
            store.remove_job(f"job{index:02}")

        expected = sorted(
            (
                (index + 39 if index % 2 == 0 else index, f"job{index:02}")
                for index in range(50)
                if index % 4 != 1
            ),
        )
        assert ids(store.get_all_jobs()) == [job_id for _, job_id in expected]
        assert store.get_next_run_time() == T0 + timedelta(minutes=3)
        due = store.get_due_jobs(T0 + timedelta(minutes=40))
        assert ids(due) == [job_id for minutes, job_id in expected if minutes <= 40]


# --- randomised comparison with a trivially correct model ------------------------------------

JOB_IDS = [f"job{index}" for index in range(12)]
BASE_TIMES = [T0 + timedelta(minutes=minutes) for minutes in range(8)]
ZONES = [UTC, BERLIN, NEW_YORK]
run_times = st.one_of(
    st.none(),
    st.builds(
        lambda base, zone, microseconds: (base + timedelta(microseconds=microseconds)).astimezone(
            zone
        ),
        st.sampled_from(BASE_TIMES),
        st.sampled_from(ZONES),
        st.sampled_from([0, 0, 0, 1, 999999]),
    ),
)
nows = st.builds(
    lambda base, offset, zone: (base + offset).astimezone(zone),
    st.sampled_from(BASE_TIMES),
    st.sampled_from([timedelta(0), timedelta(microseconds=-1), timedelta(seconds=30)]),
    st.sampled_from(ZONES),
)


def model_key(job: Job) -> tuple[float, str]:
    if job.next_run_time is None:
        return (inf, job.id)
    return (job.next_run_time.timestamp(), job.id)


class MemoryStoreMachine(RuleBasedStateMachine):
    """Drives a MemoryJobStore and a sorted list side by side; they must always agree."""

    def __init__(self) -> None:
        super().__init__()
        self.store = MemoryJobStore()
        self.store.start(None, "default")
        self.model: list[Job] = []

    def model_lookup(self, job_id: str) -> Job | None:
        return next((job for job in self.model if job.id == job_id), None)

    def sort_model(self) -> None:
        self.model.sort(key=model_key)

    @rule(job_id=st.sampled_from(JOB_IDS), run_time=run_times)
    def add(self, job_id: str, run_time: datetime | None) -> None:
        job = stored_job(job_id, run_time)
        if self.model_lookup(job_id) is not None:
            with pytest.raises(ConflictingIdError):
                self.store.add_job(job)
        else:
            self.store.add_job(job)
            self.model.append(job)
            self.sort_model()

    @rule(job_id=st.sampled_from(JOB_IDS), run_time=run_times, same_object=st.booleans())
    def update(self, job_id: str, run_time: datetime | None, same_object: bool) -> None:
        existing = self.model_lookup(job_id)
        if existing is None:
            with pytest.raises(JobLookupError):
                self.store.update_job(stored_job(job_id, run_time))
            return

        if same_object:
            job = existing
            job._modify(next_run_time=run_time)
        else:
            job = stored_job(job_id, run_time)
        self.store.update_job(job)
        self.model = [job if other.id == job_id else other for other in self.model]
        self.sort_model()

    @rule(job_id=st.sampled_from(JOB_IDS))
    def remove(self, job_id: str) -> None:
        if self.model_lookup(job_id) is None:
            with pytest.raises(JobLookupError):
                self.store.remove_job(job_id)
        else:
            self.store.remove_job(job_id)
            self.model = [job for job in self.model if job.id != job_id]

    @rule(dice=st.integers(0, 19))
    def remove_all(self, dice: int) -> None:
        if dice == 0:  # rarely, so that the store usually holds many jobs
            self.store.remove_all_jobs()
            self.model = []

    @rule(now=nows)
    def get_due_jobs(self, now: datetime) -> None:
        expected = [
            job
            for job in self.model
            if job.next_run_time is not None and job.next_run_time.timestamp() <= now.timestamp()
        ]
        due = self.store.get_due_jobs(now)
        assert ids(due) == ids(expected)
        assert all(actual is job for actual, job in zip(due, expected))

    @invariant()
    def agrees_with_model(self) -> None:
        all_jobs = self.store.get_all_jobs()
        assert ids(all_jobs) == ids(self.model)
        assert all(actual is job for actual, job in zip(all_jobs, self.model))

        scheduled = [job for job in self.model if job.next_run_time is not None]
        next_run_time = self.store.get_next_run_time()
        if scheduled:
            assert next_run_time is scheduled[0].next_run_time
        else:
            assert next_run_time is None

        for job_id in JOB_IDS:
            assert self.store.lookup_job(job_id) is self.model_lookup(job_id)


MemoryStoreMachine.TestCase.settings = settings(
    max_examples=40, stateful_step_count=120, deadline=None
)
TestMemoryStoreAgainstModel = MemoryStoreMachine.TestCase


def test_model_key_orders_paused_last() -> None:
    jobs: list[Any] = [stored_job("b", None), stored_job("a", T0), stored_job("a2", None)]
    assert ids(sorted(jobs, key=model_key)) == ["a", "a2", "b"]
