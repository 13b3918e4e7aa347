"""The search behind :meth:`CronTrigger.get_next_fire_time`: from wall-clock times to instants.

A plan (see :mod:`._plans`) finds the first matching wall-clock time at or after a given one;
:func:`find_next` turns wall-clock times into instants in the trigger's zone. Every instant whose
wall-clock reading matches fires; a repeated wall time fires at both occurrences (fold 0 then fold
1) unless ``repeat`` is off. A matching wall time skipped by a forward change fires, depending on
``gap``, not at all, at its reading with the offset from before the change (that is, shifted
forward by the length of the gap), or at the instant the gap ends. The first fire time at or after
the start is the earliest of:

* the first occurrence (at or after the start) of the smallest matching wall time that is not
  earlier than the start's wall time and exists,
* the stand-in for the first matching wall time skipped by a forward change on the way there, and
  for one skipped by a change shortly *before* the start (a shifted time may still lie ahead), and
* if the clock is set back shortly after the start, the second occurrence of the smallest matching
  wall time in the repeated interval that lies before the start's wall time.

A stand-in that is also a matching reading is one fire time, so fire times stay strictly
increasing.

The search relies on zone offsets changing at most once within :data:`WINDOW` seconds, which holds
for every zone of the tz database since 1970 (the closest pair of changes is almost a week apart;
the largest backward change is 7 hours).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone, tzinfo
from typing import Any, Dict, List, Optional, Tuple
from zoneinfo import ZoneInfo

from ._plans import Civil, FastPlan, GenericPlan, build_plan

__all__ = ("GAP_END", "GAP_SHIFT", "GAP_SKIP", "WINDOW", "build_plan", "find_next")

#: What a matching wall time that a forward change skips does: nothing, fire shifted forward by
#: the length of the gap, or fire at the instant the gap ends (see :func:`find_next`).
GAP_SKIP, GAP_SHIFT, GAP_END = 0, 1, 2

#: A search result: (aware datetime, POSIX time, wall-clock time, UTC offset in seconds)
Found = Tuple[datetime, int, Civil, int]
#: A search result, the span of POSIX times (low, high) over which its offset is constant, and
#: the offset as a timedelta (``None`` for fixed offset zones), and the POSIX time from which no
#: matching wall time up to the result's was skipped by a forward change (``None``: unknown).
Memo = Tuple[datetime, int, Civil, int, int, int, Optional[timedelta], Optional[int]]


#: Offsets are assumed to change at most once in any span of this many seconds (see above).
WINDOW = 2 * 86400
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_EPOCH_NAIVE = datetime(1970, 1, 1)


def _seconds(delta: timedelta) -> int:
    return delta.days * 86400 + delta.seconds


def _naive_seconds(civil: Civil) -> int:
    year, month, day, hour, minute, second = civil
    return (
        (date(year, month, day).toordinal() - _EPOCH_ORDINAL) * 86400
        + hour * 3600
        + minute * 60
        + second
    )


_OFFSET_DELTAS: Dict[int, timedelta] = {}


def _offset_delta(seconds: int) -> timedelta:
    delta = _OFFSET_DELTAS.get(seconds)
    if delta is None:
        if len(_OFFSET_DELTAS) > 1024:
            _OFFSET_DELTAS.clear()
        delta = _OFFSET_DELTAS[seconds] = timedelta(seconds=seconds)
    return delta


def _civil(naive_seconds: int) -> Civil:
    moment = _EPOCH_NAIVE + timedelta(seconds=naive_seconds)
    return moment.year, moment.month, moment.day, moment.hour, moment.minute, moment.second


def _offset_at(tz: tzinfo, instant: int) -> int | None:
    """UTC offset (seconds) of ``tz`` at the POSIX time ``instant``; ``None`` if out of range."""
    try:
        return _seconds(datetime.fromtimestamp(instant, tz).utcoffset())  # type: ignore[arg-type]
    except (OverflowError, ValueError, OSError):
        return None


# Offset changes found by bisection, per zone: (instant, offset before, offset after).
_KNOWN_CHANGES: Dict[tzinfo, List[Tuple[int, int, int]]] = {}


def _offset_change(tz: tzinfo, low: int, high: int, before: int, after: int) -> int:
    """The first instant in ``(low, high]`` with an offset other than ``before``, given that the
    offset is ``before`` at ``low`` and ``after`` at ``high`` (with a single change between)."""
    try:
        if len(_KNOWN_CHANGES) >= 256 and tz not in _KNOWN_CHANGES:
            _KNOWN_CHANGES.clear()
        known = _KNOWN_CHANGES.setdefault(tz, [])
    except TypeError:  # an unhashable zone (dateutil's, for one): no memory
        known = []
    for instant, known_before, known_after in known:
        if low < instant <= high and known_before == before and known_after == after:
            return instant
    while high - low > 1:
        middle = (low + high) // 2
        if _offset_at(tz, middle) == before:
            low = middle
        else:
            high = middle
    if len(known) >= 64:
        del known[:32]
    known.append((high, before, after))
    return high


def _resolves_exactly(tz: tzinfo, instant: int, civil: Civil) -> bool:
    """Whether ``instant`` reads as ``civil`` in ``tz`` (for zones without PEP 495 folds)."""
    try:
        local = datetime.fromtimestamp(instant, tz)
    except (OverflowError, ValueError, OSError):
        return False
    return (local.year, local.month, local.day, local.hour, local.minute, local.second) == civil


def _gap_fire(tz: tzinfo, fire: int) -> Found:
    """The search result for a fire time that stands in for a skipped wall time."""
    local = datetime.fromtimestamp(fire, tz)
    civil = (local.year, local.month, local.day, local.hour, local.minute, local.second)
    return local, fire, civil, _seconds(local.utcoffset())  # type: ignore[arg-type]


def _recent_gap(
    next_naive: Any, tz: tzinfo, start: int, current: int, gap: int, year_limit: int
) -> Tuple[bool, Found | None]:
    """Whether ``start`` lies less than a gap's length after a forward change (so that wall
    times skipped by it may still fire at or after ``start``), and the first such fire time.

    :param current: the offset the search reads ``start`` with (the main search covers the
        wall times from ``start + current`` on)
    """
    prior = _offset_at(tz, start - WINDOW)
    if prior is None or prior >= current:
        return False, None
    change = _offset_change(tz, start - WINDOW, start, prior, current)
    if start >= change + current - prior:
        return False, None
    # Skipped wall times are change + prior .. change + current; a shifted one fires at its
    # reading with the old offset, which is >= start from start + prior on.
    found = next_naive(*_civil(start + prior), year_limit)
    if found is None or _naive_seconds(found) >= change + current:
        return True, None
    fire = _naive_seconds(found) - prior if gap == GAP_SHIFT else change
    return True, (_gap_fire(tz, fire) if fire >= start else None)


def _earliest(*results: Found | None) -> Found | None:
    """The result with the smallest instant (the first one given wins a tie)."""
    best: Found | None = None
    for result in results:
        if result is not None and (best is None or result[1] < best[1]):
            best = result
    return best


def find_next(
    plan: FastPlan | GenericPlan,
    tz: tzinfo,
    start: int,
    year_limit: int,
    memo: Memo | None = None,
    gap: int = GAP_SKIP,
    repeat: bool = True,
) -> Memo | None:
    """Find the first instant at or after the POSIX time ``start`` (whole seconds) whose wall
    time in ``tz`` matches ``plan``.

    :param memo: the result of a previous search in the same zone with the same plan, if any
        (it lets a chain of searches skip most time zone conversions)
    :param gap: what a matching wall time skipped by a forward change does: nothing
        (:data:`GAP_SKIP`), fire shifted forward by the length of the gap (:data:`GAP_SHIFT`), or
        fire at the instant the gap ends (:data:`GAP_END`)
    :param repeat: whether a wall time repeated by a backward change fires at its second
        occurrence too
    :return: ``(datetime in tz, POSIX time, wall time, UTC offset, low, high, UTC offset as a
        timedelta, clean since)`` where the UTC offset is known to be constant from POSIX time
        ``low`` to ``high``, and no matching wall time from that of POSIX time ``clean since``
        (``None``: unknown) to the result's was skipped by a forward change (a chained search
        long after it need not look back into a gap), or ``None`` if there is no match before
        the end of ``year_limit``
    """
    next_naive = plan.next_naive
    if memo is not None and start == memo[1] + 1:
        # Continue from the previous result, whose offset is known: (it does not matter if the
        # offset changes right at ``start``: candidates are resolved on their own, and the search
        # for a backward change starts from ``base``, where the offset is known.)
        base = memo[1]
        start_offset = memo[3]
        year, month, day, hour, minute, second = memo[2]
        candidate: Civil = (year, month, day, hour, minute, second + 1)
        start_wall = base + start_offset + 1
        high = memo[5]
        if base < high:
            # The offset is constant up to ``high``: a match before then is the answer.
            found = next_naive(year, month, day, hour, minute, second + 1, year_limit)
            if found is None:
                return None
            year, month, day, hour, minute, second = found
            local = datetime(year, month, day, hour, minute, second, 0, tz)
            instant = (local.toordinal() - _EPOCH_ORDINAL) * 86400 + (
                hour * 3600 + minute * 60 + second - start_offset
            )
            if instant <= high:
                # (no change up to ``high``: no wall time skipped since the previous result)
                if memo[6] is None or local.utcoffset() == memo[6]:
                    return local, instant, found, start_offset, memo[4], high, memo[6], memo[7]
                if repeat:
                    local = datetime(*found, tzinfo=tz, fold=1)  # the repeated occurrence
                    return local, instant, found, start_offset, memo[4], high, memo[6], memo[7]
                # (a second occurrence that must not fire: the full search below skips it)
    else:
        try:
            local = datetime.fromtimestamp(start, tz)
        except (OverflowError, ValueError, OSError):
            return None
        base = start
        start_offset = _seconds(local.utcoffset())  # type: ignore[arg-type]
        start_wall = start + start_offset
        candidate = (local.year, local.month, local.day, local.hour, local.minute, local.second)

    if isinstance(tz, timezone):
        found = next_naive(*candidate, year_limit)
        if found is None:
            return None
        instant = _naive_seconds(found) - start_offset
        return (
            datetime(*found, tzinfo=tz),
            instant,
            found,
            start_offset,
            -(2**62),
            2**62,
            None,
            None,
        )

    # Wall times skipped by a forward change just before the start may fire after it.
    # (Not after a chain of results whose searches met no skipped wall time for a while: the
    # wall times such a change skips shortly before the start were among those searched.)
    chained = memo is not None and start == memo[1] + 1
    clean_since = memo[7] if chained else None  # type: ignore[index]
    near_gap, early = (
        (False, None)
        if gap == GAP_SKIP or (clean_since is not None and base - clean_since >= 2 * WINDOW)
        else _recent_gap(next_naive, tz, start, start_offset, gap, year_limit)
    )
    # The first occurrence of the smallest matching wall time that is ≥ the start's wall time.
    exact = isinstance(tz, ZoneInfo)
    best: Found | None = None
    skipped: Found | None = None  # the first fire time standing in for a skipped wall time
    while True:
        found = next_naive(*candidate, year_limit)
        if found is None:
            break
        year, month, day, hour, minute, second = found
        wall = (date(year, month, day).toordinal() - _EPOCH_ORDINAL) * 86400 + (
            hour * 3600 + minute * 60 + second
        )
        if exact:
            # Usually the wall time exists once, with the offset of the start or else with the
            # offset found at the first guess: check by converting the guessed instant back.
            offset = start_offset
            for _attempt in range(2):
                try:
                    local = datetime.fromtimestamp(wall - offset, tz)
                except (OverflowError, ValueError, OSError):
                    break
                if (
                    local.second == second
                    and local.minute == minute
                    and local.hour == hour
                    and local.day == day
                    and local.month == month
                    and local.year == year
                ):
                    if local.fold == 0 and wall - offset >= start:
                        best = (local, wall - offset, found, offset)
                    break
                offset = _seconds(local.utcoffset())  # type: ignore[arg-type]
            if best is not None:
                break
        local = datetime(*found, tzinfo=tz)
        offset0 = _seconds(local.utcoffset())  # type: ignore[arg-type]
        later = datetime(*found, tzinfo=tz, fold=1)
        offset1 = _seconds(later.utcoffset())  # type: ignore[arg-type]
        if offset0 >= offset1:  # exists (once, or twice when offset0 > offset1)
            if wall - offset0 >= start and (exact or _resolves_exactly(tz, wall - offset0, found)):
                best = (local, wall - offset0, found, offset0)
                break
            if repeat and offset0 > offset1 and wall - offset1 >= start:
                best = (later, wall - offset1, found, offset1)
                break
            candidate = (year, month, day, hour, minute, second + 1)
        else:  # skipped by a forward change: continue after the gap
            if skipped is not None:
                break  # (a later gap's stand-in comes after the first one's)
            change = _offset_change(tz, wall - offset1, wall - offset0, offset0, offset1)
            if gap != GAP_SKIP:
                # (offset0 is the offset before the change: the shifted time is the wall time
                # read with it; the first matching wall time of the gap gives the earliest)
                skipped = _gap_fire(tz, wall - offset0 if gap == GAP_SHIFT else change)
            candidate = _civil(change + offset1)
    # A real match wins a tie: it is the same instant, fired once.
    real = best
    if skipped is not None or early is not None:
        best = _earliest(best, skipped, early)
    # After a stand-in, or close after a gap, the next search must look back into the gap: its
    # memo must not offer the shortcut that only looks forward.
    base_only = near_gap or best is not real
    # (this search saw every matching wall time from the start's to the result's)
    if near_gap or skipped is not None or early is not None:
        clean_since = None
    elif clean_since is None:
        clean_since = base

    # A backward change shortly after the start repeats wall times lying before the start's.
    # Offsets equal at both ends of a span shorter than WINDOW mean no change in between.
    high = base + WINDOW
    after = _offset_at(tz, high)
    if after is None:
        after = start_offset
        high = base
    if after >= start_offset or not repeat:
        if best is None:
            return None
        if after != start_offset or base_only:
            high = base
        return (*best, base, high, _offset_delta(best[3]), clean_since)

    change = _offset_change(tz, base, high, start_offset, after)
    repeat_start = change + after
    if repeat_start < start_wall:
        found = next_naive(*_civil(repeat_start), year_limit)
        if found is not None:
            wall = _naive_seconds(found)
            if wall < start_wall and (best is None or wall - after < best[1]):
                best = (datetime(*found, tzinfo=tz, fold=1), wall - after, found, after)
    if best is None:
        return None
    high = change - 1 if best[3] == start_offset and not base_only else base
    return (*best, base, high, _offset_delta(best[3]), clean_since)
