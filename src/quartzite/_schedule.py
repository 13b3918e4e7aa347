"""A job's schedule arithmetic: which run times are due now, and when the job runs next.

Every place that needs a job's due or next run times asks this module: the processing round
(:func:`due_runs`), adding, rescheduling and resuming a job (:func:`first_run_time`),
``Job._get_run_times`` and a store's atomic claim of due jobs. It imports nothing from the
schedulers or the stores, so each of them can call it.

The algorithm. A job keeps one stored instant, ``next_run_time``. To find what is due at
``now`` we walk the trigger forward from that instant, one ``get_next_fire_time(previous, now)``
call per step, collecting every fire time that is not later than ``now``. The first fire time
later than ``now`` (or ``None``: the trigger is finished) is the job's new ``next_run_time``.
Instants are compared as POSIX timestamps: two datetimes in the same zone compare by wall
time and ignore ``fold``, which misorders the repeated hour of a DST change. Each step must
move strictly forward; a trigger that returns the same time, an earlier one or something that
is not an aware datetime would make the walk spin for ever, so it raises
:class:`StuckTriggerError` instead.

The walk is bounded. A scheduler that was down for a week, holding a job with a one-second
interval, would otherwise build 600,000 datetimes in one round. After ``limit`` due run times
(:data:`MAX_CATCH_UP` by default), or once the enumeration has taken
:data:`_ENUMERATION_BUDGET` of wall-clock time (only an expensive trigger gets there), the walk
stops enumerating and skips ahead:

1. The instants enumerated so far give the trigger's mean spacing.
2. Starting from a window of a few dozen spacings before ``now``, and doubling it, we ask the
   trigger for its first fire time at or after ``now - window``
   (``get_next_fire_time(None, now - window)``), until one is found that is not later than
   ``now``. The window never reaches back past the misfire grace (``now -
   misfire_grace_time``): older run times would only be reported as missed. Without a grace
   the window is bounded by the run times already enumerated.
3. From that fire time a short walk collects the run times up to ``now``.

So the latest run time within the misfire grace is never lost: a coalescing job that was down
for a week still runs once now if one of its fire times lies within its grace. The run times
between the enumerated ones and the skip target are dropped, and :attr:`DueRuns.skipped`
counts them (exactly for the enumerated ones, estimated from the mean spacing for the stretch
that was skipped without being enumerated). If the window that step 2 finds holds more run
times than the final walk may take (an irregular trigger, bursts of fire times far apart), it
is narrowed by bisection between it and the last empty window, one call per halving, down to
the latest fire time alone.

A trigger that cannot skip ahead (its answer for ``previous=None`` lies before the run times
already walked) is caught up ``limit`` run times per call instead: the returned next run time
is then still due, and the next round continues from it.

One call therefore asks the trigger at most ``limit`` times for the enumeration, plus at most
:data:`_MAX_PROBES` probes, :data:`_MAX_BISECTIONS` halvings and two final walks of at most
:data:`_FINAL_WALK` steps (a regular trigger needs one probe and one walk of a few dozen
steps), and keeps at most ``limit`` datetimes in memory.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from time import monotonic
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .job import Job
    from .triggers.base import BaseTrigger

__all__ = (
    "MAX_CATCH_UP",
    "DueRuns",
    "StuckTriggerError",
    "due_runs",
    "first_run_time",
    "run_times_until",
)

#: How many due run times of one job are enumerated per call before the walk skips ahead.
#: A thousand keeps one round of a badly late job well under a millisecond per job in the
#: trigger's arithmetic and a few dozen kilobytes of datetimes, yet is far more than any job
#: that was merely delayed for seconds or minutes accumulates, so normal catch-up (and the
#: missed-run events the executors report for it) is unchanged.
MAX_CATCH_UP = 1000

#: Wall-clock budget, in seconds, of the enumeration. Built-in triggers answer in microseconds,
#: so a thousand run times take a millisecond or two and this never matters for them; but one
#: call of an expensive trigger (an AndTrigger whose parts rarely agree searches for tens of
#: milliseconds) times ``limit`` would hold the round for tens of seconds. Past the budget the
#: walk skips ahead as if ``limit`` were reached.
_ENUMERATION_BUDGET = 0.25

#: Step budget of the short walk after a skip ahead. The window it starts from spans about two
#: mean spacings, so a regular trigger needs two or three steps; the budget only bounds
#: irregular ones.
_FINAL_WALK = 64

#: Bound on the probes of one skip ahead: the window doubles from a few dozen spacings, so even
#: a span of 2**40 spacings (a millisecond trigger left for thirty years) needs fewer.
_MAX_PROBES = 48

#: Bound on the halvings that narrow a crowded window (2**48 halvings reach a microsecond
#: from nine years), and the width below which a window holds at most a run time or two.
_MAX_BISECTIONS = 48
_BISECTION_RESOLUTION = 1e-3


class StuckTriggerError(RuntimeError):
    """A trigger returned a fire time that is not after the previous one, or not a datetime.

    Raised instead of looping: walking such a trigger forward would never reach ``now``.
    """


@dataclass(frozen=True)
class DueRuns:
    """What to do with one job at one instant: the runs to submit and the job's next run time."""

    #: Run times to submit now, oldest first, none later than ``now``. For a coalescing job
    #: only the latest one.
    run_times: list[datetime]
    #: The job's next run time after this round (later than ``now``, except when a trigger that
    #: cannot skip ahead is being caught up), or ``None`` when the trigger is finished.
    next_run_time: datetime | None
    #: Missed run times dropped by the catch-up bound (0 unless the job was very late).
    skipped: int = 0


def first_run_time(trigger: BaseTrigger, now: datetime) -> datetime | None:
    """Return the first fire time of a job that is added, rescheduled or resumed at ``now``.

    The answer is passed on as it is: the job's ``next_run_time`` check refuses anything that is
    not a datetime, with the contract's message (a trigger double in a test may answer with a
    placeholder that the code under test only passes along).
    """
    return trigger.get_next_fire_time(None, now)


def due_runs(job: Job, now: datetime, *, limit: int = MAX_CATCH_UP) -> DueRuns:
    """Return the run times of ``job`` that are due at ``now`` and its next run time.

    Reads ``job.next_run_time``, ``job.trigger``, ``job.coalesce`` and
    ``job.misfire_grace_time``; does not modify the job. A paused job (no next run time) has
    nothing due and stays paused.
    """
    run_times, skipped, next_run_time = run_times_until(
        job.trigger,
        job.next_run_time,
        now,
        limit=limit,
        misfire_grace_time=job.misfire_grace_time,
        job_id=job.id,
    )
    if job.coalesce and len(run_times) > 1:
        run_times = run_times[-1:]
    return DueRuns(run_times, next_run_time, skipped)


def run_times_until(
    trigger: BaseTrigger,
    first: datetime | None,
    now: datetime,
    *,
    limit: int = MAX_CATCH_UP,
    misfire_grace_time: float | None = None,
    job_id: str | None = None,
) -> tuple[list[datetime], int, datetime | None]:
    """Walk ``trigger`` from the fire time ``first`` up to ``now`` (see the module docstring).

    :param first: the job's stored next run time (``None``: nothing to walk)
    :param limit: how many due run times to enumerate before skipping ahead (at least 1)
    :param misfire_grace_time: the job's grace in seconds; bounds how far back a skip reaches
    :param job_id: named in the :class:`StuckTriggerError` message
    :return: ``(run_times, skipped, next_run_time)``: the due run times (uncoalesced, oldest
        first), how many were dropped by the bound, and the first fire time after them
    """
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise ValueError(f"limit must be an integer >= 1, got {limit!r}")
    if first is None:
        return [], 0, None

    now_ts = now.timestamp()
    run_times: list[datetime] = []
    current, current_ts = first, first.timestamp()
    deadline = monotonic() + _ENUMERATION_BUDGET
    while current_ts <= now_ts:
        if len(run_times) == limit or (run_times and monotonic() > deadline):
            walk = _Walk(trigger, now, now_ts, job_id)
            return walk.skip_ahead(run_times, current, misfire_grace_time)
        run_times.append(current)
        following = trigger.get_next_fire_time(current, now)
        if following is None:
            return run_times, 0, None
        current_ts = _checked_after(following, current, current_ts, trigger, job_id)
        current = following
    return run_times, 0, current


def _is_aware(value: Any) -> bool:
    return isinstance(value, datetime) and value.utcoffset() is not None


def _checked_after(
    value: Any, previous: datetime, previous_ts: float, trigger: BaseTrigger, job_id: str | None
) -> float:
    """Return the timestamp of ``value``, a fire time that must come after ``previous``."""
    if not _is_aware(value):
        raise StuckTriggerError(
            f"Trigger {trigger!r} of job {job_id!r} returned {value!r} after {previous!r}: "
            "expected an aware datetime or None"
        )
    value_ts: float = value.timestamp()
    if value_ts <= previous_ts:
        raise StuckTriggerError(
            f"Trigger {trigger!r} of job {job_id!r} returned {value!r} after {previous!r}: "
            "each fire time must be later than the previous one, or the schedule never advances"
        )
    return value_ts


class _Walk:
    """The skip-ahead part of one :func:`run_times_until` call (the trigger, ``now`` and job)."""

    def __init__(self, trigger: BaseTrigger, now: datetime, now_ts: float, job_id: str | None):
        self.trigger = trigger
        self.now = now
        self.now_ts = now_ts
        self.job_id = job_id

    def skip_ahead(
        self, enumerated: list[datetime], pending: datetime, grace: float | None
    ) -> tuple[list[datetime], int, datetime | None]:
        """Skip past the run times after ``enumerated``; ``pending`` is the next one, still due."""
        pending_ts = pending.timestamp()
        spacing = (pending_ts - enumerated[0].timestamp()) / len(enumerated)
        # The earliest instant a skip may reach back to: never before the run times already
        # enumerated, and never outside the misfire grace (older runs would only be missed).
        floor_ts = pending_ts
        if grace is not None:
            floor_ts = max(floor_ts, self.now_ts - grace)

        # Aim for about half the final walk's budget of run times in the first window, so a
        # regular trigger keeps that many of its latest run times (all of those within a short
        # grace) after one probe.
        window = spacing * (_FINAL_WALK // 2)
        empty_ts = self.now_ts + 1e-6  # no fire time lies in [empty_ts, now]
        for _ in range(_MAX_PROBES):
            probe_ts = max(self.now_ts - window, floor_ts)
            candidate, candidate_ts = self._first_at_or_after(probe_ts)
            if candidate_ts is not None and candidate_ts < pending_ts:
                break  # the trigger does not answer "first fire time at or after probe"
            if candidate is not None and candidate_ts is not None and candidate_ts <= self.now_ts:
                finished = self._finish(enumerated, pending_ts, spacing, candidate, candidate_ts)
                if finished is None:
                    finished = self._bisect(enumerated, pending_ts, spacing, probe_ts, empty_ts)
                if finished is not None:
                    return finished
                break
            if probe_ts <= floor_ts:
                # No fire time between the floor and now: every due run time is dropped.
                dropped = len(enumerated) + 1 + int((self.now_ts - pending_ts) / spacing)
                return [], dropped, candidate
            empty_ts = probe_ts
            window *= 2
        # No usable skip: catch up ``limit`` run times per call; the next round goes on from
        # ``pending``, which is still due.
        return enumerated, 0, pending

    def _bisect(
        self,
        enumerated: list[datetime],
        pending_ts: float,
        spacing: float,
        crowded_ts: float,
        empty_ts: float,
    ) -> tuple[list[datetime], int, datetime | None] | None:
        """Narrow a window too crowded for the final walk down to its latest run times.

        ``get_next_fire_time(None, t)`` does not decrease as ``t`` grows, so halving the span
        between a crowded probe (a fire time at or after it is due) and an empty one (none is)
        closes in on the latest due fire time, one trigger call per halving.
        """
        latest: datetime | None = None
        latest_ts = 0.0
        for _ in range(_MAX_BISECTIONS):
            if empty_ts - crowded_ts <= _BISECTION_RESOLUTION:
                break
            middle_ts = (crowded_ts + empty_ts) / 2
            candidate, candidate_ts = self._first_at_or_after(middle_ts)
            if candidate is not None and candidate_ts is not None and candidate_ts <= self.now_ts:
                crowded_ts, latest, latest_ts = middle_ts, candidate, candidate_ts
            else:
                empty_ts = middle_ts
        if latest is None or latest_ts < pending_ts:
            return None
        return self._finish(enumerated, pending_ts, spacing, latest, latest_ts)

    def _first_at_or_after(self, instant_ts: float) -> tuple[datetime | None, float | None]:
        """Ask the trigger for its first fire time at or after ``instant_ts`` (a timestamp)."""
        # Build the probe from the timestamp, in now's zone: arithmetic on a zoned datetime is
        # wall-clock arithmetic, an hour off across a DST change (and it resets ``fold``).
        probe = datetime.fromtimestamp(instant_ts, timezone.utc).astimezone(self.now.tzinfo)
        candidate = self.trigger.get_next_fire_time(None, probe)
        if candidate is None:
            return None, None
        if not _is_aware(candidate):
            raise StuckTriggerError(
                f"Trigger {self.trigger!r} of job {self.job_id!r} returned {candidate!r} "
                f"as its first fire time after {probe!r}: expected an aware datetime or None"
            )
        return candidate, candidate.timestamp()

    def _finish(
        self,
        enumerated: list[datetime],
        pending_ts: float,
        spacing: float,
        start: datetime,
        start_ts: float,
    ) -> tuple[list[datetime], int, datetime | None] | None:
        """Collect the run times from ``start`` up to now, after the skip.

        :return: like :func:`run_times_until`, or ``None`` if more than :data:`_FINAL_WALK` run
            times lie between ``start`` and now
        """
        kept: list[datetime] = []
        current: datetime | None = start
        current_ts = start_ts
        while current is not None and current_ts <= self.now_ts:
            if len(kept) == _FINAL_WALK:
                return None  # too many in this window: the caller narrows it
            kept.append(current)
            following = self.trigger.get_next_fire_time(current, self.now)
            if following is not None:
                current_ts = _checked_after(
                    following, current, current_ts, self.trigger, self.job_id
                )
            current = following
        skipped = len(enumerated) + round((start_ts - pending_ts) / spacing)
        return kept, skipped, current
