"""Tests of quartzite._schedule: due run times, next run times and the catch-up bound."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, tzinfo
from datetime import timezone as dt_timezone
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

import support
from quartzite._schedule import (
    MAX_CATCH_UP,
    DueRuns,
    StuckTriggerError,
    due_runs,
    first_run_time,
    run_times_until,
)
from quartzite.job import Job
from quartzite.triggers.base import BaseTrigger
from quartzite.triggers.cron import CronTrigger
from quartzite.triggers.date import DateTrigger
from quartzite.triggers.interval import IntervalTrigger

UTC = dt_timezone.utc
BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 3, 10, 12, 0, 0, tzinfo=UTC)
#: the most calls a skip ahead may add to the enumeration: probes, halvings, two final walks
CALLS_AFTER_THE_BOUND = 48 + 48 + 2 * 64


def dummy() -> None:
    pass


class CountingTrigger(BaseTrigger):
    """Wraps another trigger and counts the calls made to it."""

    def __init__(self, inner: BaseTrigger) -> None:
        self.inner = inner
        self.calls = 0

    def get_next_fire_time(self, previous_fire_time: Any, now: datetime) -> Any:
        self.calls += 1
        return self.inner.get_next_fire_time(previous_fire_time, now)

    def __repr__(self) -> str:
        return f"CountingTrigger({self.inner!r})"


class ScriptedTrigger(BaseTrigger):
    """Answers each ``previous`` with a fixed value: the means to misbehave on purpose."""

    def __init__(self, answer: Any) -> None:
        self.answer = answer
        self.calls = 0

    def get_next_fire_time(self, previous_fire_time: Any, now: datetime) -> Any:
        self.calls += 1
        return self.answer(previous_fire_time)

    def __repr__(self) -> str:
        return "<ScriptedTrigger>"


def make_job(
    trigger: BaseTrigger,
    next_run_time: datetime | None,
    *,
    coalesce: bool = False,
    misfire_grace_time: int | None = None,
) -> Job:
    """Job "job1" on ``trigger``, outside any scheduler; only the scheduling fields matter here."""
    return support.make_job(
        None,
        dummy,
        id="job1",
        trigger=trigger,
        next_run_time=next_run_time,
        coalesce=coalesce,
        misfire_grace_time=misfire_grace_time,
    )


def brute_force(
    trigger: BaseTrigger, first: datetime | None, now: datetime
) -> tuple[list[datetime], datetime | None]:
    """The reference walk: every due run time, no bound, no checks."""
    run_times = []
    current = first
    while current is not None and current.timestamp() <= now.timestamp():
        run_times.append(current)
        current = trigger.get_next_fire_time(current, now)
    return run_times, current


class TestFirstRunTime:
    def test_first_run_time_is_the_triggers_first_fire_time_at_or_after_now(self) -> None:
        trigger = IntervalTrigger(minutes=10, start_date=NOW - timedelta(minutes=25))
        assert first_run_time(trigger, NOW) == NOW + timedelta(minutes=5)

    def test_a_finished_trigger_gives_no_first_run_time(self) -> None:
        trigger = IntervalTrigger(
            minutes=10, start_date=NOW - timedelta(hours=2), end_date=NOW - timedelta(hours=1)
        )
        assert first_run_time(trigger, NOW) is None

    def test_the_answer_is_passed_on_as_it_is(self) -> None:
        # APScheduler's own tests reschedule with a trigger double answering 1 and expect the 1
        # to reach modify_job; the job's next_run_time check is where a bad answer is refused.
        assert first_run_time(ScriptedTrigger(lambda previous: 1), NOW) == 1

    def test_a_job_whose_trigger_answers_a_non_datetime_is_refused_naming_next_run_time(
        self,
    ) -> None:
        scheduler = support.DummyScheduler(timezone="UTC")
        scheduler.start(paused=True)
        try:
            with pytest.raises(TypeError, match="next_run_time"):
                scheduler.add_job(dummy, ScriptedTrigger(lambda previous: 5))
        finally:
            scheduler.shutdown()


class TestDueRuns:
    def test_a_job_not_yet_due_has_nothing_to_run_and_keeps_its_next_run_time(self) -> None:
        job = make_job(IntervalTrigger(seconds=5, start_date=NOW), NOW + timedelta(seconds=5))
        assert due_runs(job, NOW) == DueRuns([], NOW + timedelta(seconds=5), 0)

    def test_a_paused_job_has_nothing_due_and_stays_paused(self) -> None:
        job = make_job(IntervalTrigger(seconds=5, start_date=NOW), None)
        assert due_runs(job, NOW) == DueRuns([], None, 0)

    def test_every_missed_interval_run_is_due_oldest_first(self) -> None:
        start = NOW - timedelta(seconds=20)
        job = make_job(IntervalTrigger(seconds=5, start_date=start), start)
        result = due_runs(job, NOW)
        assert result.run_times == [start + timedelta(seconds=5 * i) for i in range(5)]
        assert result.next_run_time == NOW + timedelta(seconds=5)
        assert result.skipped == 0

    def test_a_coalescing_job_runs_only_the_latest_due_time(self) -> None:
        start = NOW - timedelta(seconds=20)
        job = make_job(IntervalTrigger(seconds=5, start_date=start), start, coalesce=True)
        assert due_runs(job, NOW) == DueRuns([NOW], NOW + timedelta(seconds=5), 0)

    def test_cron_runs_missed_across_midnight_are_all_due(self) -> None:
        now = datetime(2026, 3, 10, 0, 30, tzinfo=BERLIN)
        trigger = CronTrigger(minute="*/20", timezone=BERLIN)
        first = datetime(2026, 3, 9, 23, 20, tzinfo=BERLIN)
        result = due_runs(make_job(trigger, first), now)
        assert [t.strftime("%H:%M") for t in result.run_times] == [
            "23:20",
            "23:40",
            "00:00",
            "00:20",
        ]
        assert result.next_run_time == datetime(2026, 3, 10, 0, 40, tzinfo=BERLIN)

    def test_a_date_trigger_runs_once_and_then_is_finished(self) -> None:
        run_date = NOW - timedelta(minutes=1)
        job = make_job(DateTrigger(run_date), run_date)
        assert due_runs(job, NOW) == DueRuns([run_date], None, 0)

    def test_times_in_the_repeated_hour_of_a_dst_change_are_compared_as_instants(self) -> None:
        # 02:30 CET (fold=1) comes an hour after 02:30 CEST (fold=0): at the earlier instant,
        # only the first one is due, though both compare equal as same-zone datetimes.
        first = datetime(2025, 10, 26, 2, 30, tzinfo=BERLIN)
        now = datetime(2025, 10, 26, 2, 45, tzinfo=BERLIN)
        trigger = IntervalTrigger(hours=1, start_date=first)
        result = due_runs(make_job(trigger, first), now)
        assert result.run_times == [first]
        assert result.next_run_time is not None
        assert result.next_run_time.timestamp() == first.timestamp() + 3600

    def test_due_runs_does_not_modify_the_job(self) -> None:
        start = NOW - timedelta(seconds=20)
        job = make_job(IntervalTrigger(seconds=5, start_date=start), start)
        due_runs(job, NOW)
        assert job.next_run_time == start


class TestCatchUpBound:
    def test_a_week_of_one_second_runs_is_caught_up_quickly_keeping_the_latest_run(
        self,
    ) -> None:
        start = NOW - timedelta(weeks=1)
        trigger = CountingTrigger(IntervalTrigger(seconds=1, start_date=start))
        job = make_job(trigger, start, coalesce=True, misfire_grace_time=1)
        began = time.thread_time()  # CPU time: a loaded machine does not fail the bound
        result = due_runs(job, NOW)
        elapsed = time.thread_time() - began
        assert result.run_times == [NOW]
        assert result.next_run_time == NOW + timedelta(seconds=1)
        total = 7 * 24 * 3600 + 1  # run times from start to now, both included
        # A non-coalescing job would get the last two (now - 1 s is within the grace too).
        assert result.skipped == total - 2
        assert trigger.calls <= MAX_CATCH_UP + 10
        assert elapsed < 5  # generous: the unbounded walk takes seconds and 600k datetimes

    def test_an_expensive_trigger_is_enumerated_for_a_bounded_time_not_limit_calls(
        self,
    ) -> None:
        """Each call sleeps 10 ms: a thousand calls would hold the round for ten seconds, so
        the enumeration stops on its time budget and skips ahead instead."""

        class SlowTrigger(CountingTrigger):
            def get_next_fire_time(self, previous_fire_time: Any, now: datetime) -> Any:
                time.sleep(0.01)
                return super().get_next_fire_time(previous_fire_time, now)

        start = NOW - timedelta(days=1)
        trigger = SlowTrigger(IntervalTrigger(seconds=1, start_date=start))
        job = make_job(trigger, start, coalesce=True, misfire_grace_time=1)
        result = due_runs(job, NOW)
        assert result.run_times == [NOW]
        assert result.next_run_time == NOW + timedelta(seconds=1)
        assert trigger.calls < MAX_CATCH_UP // 4

    def test_a_non_coalescing_job_keeps_every_run_within_its_grace(self) -> None:
        start = NOW - timedelta(days=2)
        trigger = CountingTrigger(IntervalTrigger(seconds=1, start_date=start))
        job = make_job(trigger, start, misfire_grace_time=3)
        result = due_runs(job, NOW, limit=50)
        assert result.run_times == [NOW - timedelta(seconds=s) for s in (3, 2, 1, 0)]
        assert result.skipped == 2 * 24 * 3600 + 1 - 4
        assert trigger.calls <= 50 + 30

    def test_without_a_grace_the_latest_run_times_are_kept_and_the_rest_counted(self) -> None:
        start = NOW - timedelta(days=1)
        trigger = CountingTrigger(IntervalTrigger(seconds=1, start_date=start))
        run_times, skipped, next_run_time = run_times_until(trigger, start, NOW, limit=100)
        assert run_times[-1] == NOW
        assert 1 < len(run_times) <= 64
        assert run_times == [
            NOW - timedelta(seconds=len(run_times) - 1 - i) for i in range(len(run_times))
        ]
        assert skipped + len(run_times) == 24 * 3600 + 1
        assert next_run_time == NOW + timedelta(seconds=1)
        assert trigger.calls <= 100 + CALLS_AFTER_THE_BOUND

    def test_without_a_grace_a_coalescing_job_runs_once_at_the_latest_time(self) -> None:
        start = NOW - timedelta(days=1)
        job = make_job(IntervalTrigger(seconds=1, start_date=start), start, coalesce=True)
        result = due_runs(job, NOW, limit=100)
        assert result.run_times == [NOW]
        assert result.next_run_time == NOW + timedelta(seconds=1)

    def test_when_no_fire_time_lies_within_the_grace_nothing_runs_and_all_are_skipped(
        self,
    ) -> None:
        start = datetime(2026, 3, 10, 11, 0, 0, 500000, tzinfo=UTC)  # fires at .5 s
        trigger = IntervalTrigger(seconds=1, start_date=start)
        now = datetime(2026, 3, 10, 12, 0, 0, tzinfo=UTC)
        job = make_job(trigger, start, coalesce=True, misfire_grace_time=None)
        # A job that may be at most 0.25 s late: the grace window [now-0.25, now] has no fire
        # time. (misfire_grace_time is an int on jobs; the walk itself takes any number.)
        run_times, skipped, next_run_time = run_times_until(
            trigger, job.next_run_time, now, limit=10, misfire_grace_time=0.25
        )
        assert run_times == []
        assert skipped == 3600
        assert next_run_time == now + timedelta(milliseconds=500)

    def test_a_trigger_that_cannot_skip_ahead_is_caught_up_limit_run_times_per_call(
        self,
    ) -> None:
        # Answers previous=None with its very first fire time, whatever "now" is.
        start = NOW - timedelta(seconds=100)

        def answer(previous: datetime | None) -> datetime:
            return start if previous is None else previous + timedelta(seconds=1)

        trigger = ScriptedTrigger(answer)
        run_times, skipped, next_run_time = run_times_until(trigger, start, NOW, limit=30)
        assert run_times == [start + timedelta(seconds=i) for i in range(30)]
        assert skipped == 0
        assert next_run_time == start + timedelta(seconds=30)

    def test_under_the_bound_every_due_run_time_is_returned(self) -> None:
        start = NOW - timedelta(seconds=MAX_CATCH_UP - 1)
        trigger = CountingTrigger(IntervalTrigger(seconds=1, start_date=start))
        run_times, skipped, next_run_time = run_times_until(trigger, start, NOW)
        assert len(run_times) == MAX_CATCH_UP
        assert skipped == 0
        assert next_run_time == NOW + timedelta(seconds=1)
        assert trigger.calls == MAX_CATCH_UP

    def test_a_trigger_that_ended_during_the_downtime_still_runs_its_last_time(self) -> None:
        start = NOW - timedelta(weeks=1)
        end = NOW - timedelta(hours=10)
        trigger = CountingTrigger(IntervalTrigger(seconds=1, start_date=start, end_date=end))
        job = make_job(trigger, start, coalesce=True)
        result = due_runs(job, NOW, limit=100)
        assert result.run_times == [end]
        assert result.next_run_time is None
        assert trigger.calls <= 100 + CALLS_AFTER_THE_BOUND

    def test_a_bursty_trigger_still_keeps_its_latest_run_time(self) -> None:
        # Every second of one hour a day: the mean spacing says nothing about the last burst.
        trigger = CountingTrigger(CronTrigger(hour="3", minute="*", second="*", timezone=UTC))
        first = datetime(2026, 3, 3, 3, 0, tzinfo=UTC)
        run_times, skipped, next_run_time = run_times_until(trigger, first, NOW, limit=100)
        assert run_times == [datetime(2026, 3, 10, 3, 59, 59, tzinfo=UTC)]
        assert next_run_time == datetime(2026, 3, 11, 3, 0, tzinfo=UTC)
        assert skipped > 0
        assert trigger.calls <= 100 + CALLS_AFTER_THE_BOUND

    @pytest.mark.parametrize("limit", [0, -1, 1.5, True])
    def test_a_limit_below_one_or_not_an_integer_is_refused(self, limit: Any) -> None:
        trigger = IntervalTrigger(seconds=1, start_date=NOW)
        with pytest.raises(ValueError, match=r"limit must be an integer >= 1, got"):
            run_times_until(trigger, NOW, NOW, limit=limit)


class TestStuckTriggers:
    @pytest.mark.parametrize(
        "answer, detail",
        [
            (lambda previous: previous, "later than the previous"),
            (lambda previous: previous - timedelta(seconds=1), "later than the previous"),
            (lambda previous: "tomorrow", "aware datetime"),
            (lambda previous: previous.replace(tzinfo=None), "aware datetime"),
        ],
        ids=["same time", "earlier time", "not a datetime", "naive datetime"],
    )
    def test_a_trigger_that_does_not_move_forward_raises_at_once(
        self, answer: Any, detail: str
    ) -> None:
        trigger = ScriptedTrigger(answer)
        job = make_job(trigger, NOW - timedelta(minutes=1))
        with pytest.raises(StuckTriggerError, match=detail) as info:
            due_runs(job, NOW)
        message = str(info.value)
        assert "'job1'" in message
        assert "<ScriptedTrigger>" in message
        assert repr(NOW - timedelta(minutes=1)) in message
        assert trigger.calls == 1

    def test_a_stuck_trigger_is_also_caught_by_job_get_run_times(self) -> None:
        job = make_job(ScriptedTrigger(lambda previous: previous), NOW)
        with pytest.raises(StuckTriggerError):
            job._get_run_times(NOW)


class TestJobGetRunTimes:
    def test_get_run_times_lists_every_due_time_uncoalesced(self) -> None:
        start = NOW - timedelta(seconds=20)
        job = make_job(IntervalTrigger(seconds=5, start_date=start), start, coalesce=True)
        assert job._get_run_times(NOW) == [start + timedelta(seconds=5 * i) for i in range(5)]

    def test_get_run_times_is_bounded_after_a_week_of_downtime(self) -> None:
        start = NOW - timedelta(weeks=1)
        trigger = CountingTrigger(IntervalTrigger(seconds=1, start_date=start))
        job = make_job(trigger, start, misfire_grace_time=1)
        assert job._get_run_times(NOW) == [NOW - timedelta(seconds=1), NOW]
        assert trigger.calls <= MAX_CATCH_UP + CALLS_AFTER_THE_BOUND


class TestAgainstBruteForce:
    @given(
        interval=st.integers(min_value=1, max_value=7200),
        offset=st.integers(min_value=0, max_value=40_000),
        zone=st.sampled_from([UTC, BERLIN, ZoneInfo("America/New_York")]),
        coalesce=st.booleans(),
    )
    def test_under_the_bound_the_result_is_the_unbounded_walk(
        self, interval: int, offset: int, zone: tzinfo, coalesce: bool
    ) -> None:
        # Around the 2025 autumn DST change in Berlin.
        now_utc = datetime(2025, 10, 26, 1, 10, tzinfo=UTC)
        now = now_utc.astimezone(zone)
        start = (now_utc - timedelta(seconds=offset)).astimezone(zone)
        trigger = IntervalTrigger(seconds=interval, start_date=start, timezone=zone)
        expected_runs, expected_next = brute_force(trigger, start, now)
        limit = 50
        job = make_job(trigger, start, coalesce=coalesce)
        result = due_runs(job, now, limit=limit)
        if len(expected_runs) <= limit:
            assert result.run_times == (expected_runs[-1:] if coalesce else expected_runs)
            assert result.next_run_time == expected_next
            assert result.skipped == 0
        else:
            # Over the bound: the latest run time survives and every other one is counted.
            assert result.run_times[-1] == expected_runs[-1]
            assert result.next_run_time == expected_next
            if not coalesce:
                assert result.skipped + len(result.run_times) == len(expected_runs)

    @given(
        minute=st.sampled_from(["*", "*/7", "5,35", "0"]),
        hour=st.sampled_from(["*", "1-3", "*/5"]),
        hours_late=st.integers(min_value=0, max_value=30),
    )
    def test_cron_schedules_under_the_bound_match_the_unbounded_walk(
        self, minute: str, hour: str, hours_late: int
    ) -> None:
        trigger = CronTrigger(minute=minute, hour=hour, timezone=BERLIN)
        now = datetime(2025, 10, 26, 3, 10, tzinfo=BERLIN)
        first = trigger.get_next_fire_time(None, now - timedelta(hours=hours_late))
        expected_runs, expected_next = brute_force(trigger, first, now)
        run_times, skipped, next_run_time = run_times_until(trigger, first, now, limit=2000)
        assert (run_times, skipped, next_run_time) == (expected_runs, 0, expected_next)
