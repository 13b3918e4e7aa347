"""Cron trigger benchmark: quartzite against APScheduler 3.11.2, side by side in one run.

For each of a dozen representative schedules, both libraries chain ``N`` successive
``get_next_fire_time(previous, previous)`` calls from the same start; the script checks that both
produce the same fire times (where their semantics agree, i.e. away from DST changes), then
prints fire times per second and the ratio. A second table compares trigger construction (the
same few specifications over and over, distinct ones, and, for quartzite, with its parse caches
emptied before every trigger). Times are the process's CPU time (best of several runs), so that
other load on the machine disturbs the ratios as little as possible.

Usage::

    python benchmarks/bench_cron.py            # full run (1,000 fire times per schedule)
    python benchmarks/bench_cron.py --quick    # smoke run

APScheduler must be installed (``pip install APScheduler==3.11.2``, the ``bench`` extra).
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Dict, List, Tuple
from zoneinfo import ZoneInfo

from quartzite.triggers.cron import _FIELD_SPECS
from quartzite.triggers.cron import CronTrigger as OurCronTrigger
from quartzite.triggers.cron.fields import _PARSE_CACHE

try:
    from apscheduler.triggers.cron import CronTrigger as TheirCronTrigger
except ImportError:  # pragma: no cover
    sys.exit("APScheduler 3.11.2 is needed for the comparison: pip install APScheduler==3.11.2")

START = datetime(2024, 1, 1, 0, 0, 0)

# (label, time zone, CronTrigger keyword arguments)
SCHEDULES: List[Tuple[str, str, Dict[str, Any]]] = [
    ("every 5 minutes", "UTC", {"minute": "*/5"}),
    ("weekdays 09:00", "Europe/Berlin", {"day_of_week": "mon-fri", "hour": 9}),
    ("monthly (1st, 00:00)", "UTC", {"day": 1}),
    ("daily 02:30 Berlin (DST)", "Europe/Berlin", {"hour": 2, "minute": 30}),
    ("daily 02:30 New York (DST)", "America/New_York", {"hour": 2, "minute": 30}),
    ("last Friday of the month", "UTC", {"day": "last fri", "hour": 18}),
    ("29 February", "UTC", {"month": 2, "day": 29}),
    (
        "quarter hours 9-17 weekdays",
        "America/New_York",
        {"day_of_week": "mon-fri", "hour": "9-17", "minute": "*/15"},
    ),
    ("last day of month", "Europe/Berlin", {"day": "last", "hour": 23, "minute": 59}),
    ("every 10 seconds", "UTC", {"second": "*/10"}),
    ("first Monday", "Europe/Berlin", {"day": "1st mon", "hour": 8}),
    (
        "lists, ranges, steps",
        "Asia/Tokyo",
        {"month": "1-3,7-9", "day": "1-10/3,15,20-25", "hour": "8,12,16-18", "minute": "5-55/10"},
    ),
    ("every second week", "UTC", {"week": "*/2", "day_of_week": "mon", "hour": 6}),
]

# (label, factory(trigger class, zone, index)): the index lets a form vary its specification
CONSTRUCTION: List[Tuple[str, Callable[[Any, ZoneInfo, int], Any]]] = [
    ("keywords", lambda cls, tz, i: cls(day_of_week="mon-fri", hour=9, minute=30, timezone=tz)),
    ("from_crontab", lambda cls, tz, i: cls.from_crontab("*/15 9-17 * * mon-fri", timezone=tz)),
    (
        "complex keywords",
        lambda cls, tz, i: cls(
            month="1-3,7-9", day="1-10/3,15,last", hour="8,12,16-18", timezone=tz
        ),
    ),
    (
        "distinct specifications",
        lambda cls, tz, i: cls(
            day=1 + i % 28, hour=f"{i // 28 % 24}-23", minute=f"{i % 60}", timezone=tz
        ),
    ),
]


def chain(trigger: Any, start: datetime, count: int) -> List[datetime]:
    fire_time = trigger.get_next_fire_time(None, start)
    results = [fire_time]
    for _ in range(count - 1):
        if fire_time is None:
            break
        fire_time = trigger.get_next_fire_time(fire_time, fire_time)
        results.append(fire_time)
    return results


def best_time(function: Callable[[], Any], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        gc.collect()
        began = time.process_time()
        function()
        best = min(best, time.process_time() - began)
    return best


def run(count: int, repeat: int, constructions: int) -> Tuple[float, float]:
    print(f"Fire times: {count} chained get_next_fire_time() calls per schedule, best of {repeat}")
    header = f"{'schedule':30} {'quartzite/s':>13} {'APScheduler/s':>14} {'ratio':>7}  same"
    print(header)
    print("-" * len(header))
    total_ours = total_theirs = 0.0
    for label, zone, kwargs in SCHEDULES:
        tz = ZoneInfo(zone)
        start = START.replace(tzinfo=tz)
        ours = OurCronTrigger(timezone=tz, **kwargs)
        theirs = TheirCronTrigger(timezone=tz, **kwargs)
        our_times = chain(ours, start, count)
        their_times = chain(theirs, start, count)
        same = [t.timestamp() if t else None for t in our_times] == [
            t.timestamp() if t else None for t in their_times
        ]
        our_seconds = best_time(lambda: chain(ours, start, count), repeat)  # noqa: B023
        their_seconds = best_time(lambda: chain(theirs, start, count), repeat)  # noqa: B023
        total_ours += our_seconds
        total_theirs += their_seconds
        print(
            f"{label:30} {count / our_seconds:13,.0f} {count / their_seconds:14,.0f} "
            f"{their_seconds / our_seconds:6.1f}x  {'yes' if same else 'NO (DST semantics)'}"
        )
    fire_ratio = total_theirs / total_ours
    print(
        f"{'overall':30} {count * len(SCHEDULES) / total_ours:13,.0f} "
        f"{count * len(SCHEDULES) / total_theirs:14,.0f} {fire_ratio:6.1f}x"
    )

    print()
    print(f"Construction: {constructions} triggers per form, best of {repeat}")
    header = f"{'form':30} {'quartzite/s':>13} {'APScheduler/s':>14} {'ratio':>7}"
    print(header)
    print("-" * len(header))
    tz = ZoneInfo("Europe/Berlin")
    total_ours = total_theirs = 0.0
    for label, factory in CONSTRUCTION:
        our_seconds = best_time(
            lambda: [factory(OurCronTrigger, tz, i) for i in range(constructions)],  # noqa: B023
            repeat,
        )
        their_seconds = best_time(
            lambda: [factory(TheirCronTrigger, tz, i) for i in range(constructions)],  # noqa: B023
            repeat,
        )
        total_ours += our_seconds
        total_theirs += their_seconds
        print(
            f"{label:30} {constructions / our_seconds:13,.0f} "
            f"{constructions / their_seconds:14,.0f} {their_seconds / our_seconds:6.1f}x"
        )
    construction_ratio = total_theirs / total_ours
    print(
        f"{'overall':30} {constructions * len(CONSTRUCTION) / total_ours:13,.0f} "
        f"{constructions * len(CONSTRUCTION) / total_theirs:14,.0f} {construction_ratio:6.1f}x"
    )

    # quartzite remembers parsed field texts; this is the cost of parsing texts never seen before
    def cold(factory: Callable[[Any, ZoneInfo, int], Any], index: int) -> Any:
        _FIELD_SPECS.clear()
        _PARSE_CACHE.clear()
        return factory(OurCronTrigger, tz, index)

    total_cold = sum(
        best_time(lambda: [cold(f, i) for i in range(constructions)], repeat)  # noqa: B023
        for _, f in CONSTRUCTION
    )
    cold_ratio = total_theirs / total_cold
    print(
        f"{'overall, caches cleared':30} {constructions * len(CONSTRUCTION) / total_cold:13,.0f} "
        f"{constructions * len(CONSTRUCTION) / total_theirs:14,.0f} {cold_ratio:6.1f}x"
    )
    print()
    print(
        "('NO (DST semantics)': the chains differ around a DST change: quartzite fires an instant"
    )
    print(" once where APScheduler fires it twice, and keeps shifted times APScheduler loses.)")
    print(f"Fire times per second: {fire_ratio:.1f}x APScheduler (target >= 10x)")
    print(f"Construction rate:     {construction_ratio:.1f}x APScheduler (target >= 3x)")
    print(f"  with empty parse caches: {cold_ratio:.1f}x")
    return fire_ratio, construction_ratio


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small smoke run")
    parser.add_argument("--json", type=Path, help="also write the ratios to this JSON file")
    parser.add_argument("--profile", action="store_true", help="accepted for nox; no effect")
    args = parser.parse_args()
    if args.quick:
        fire_ratio, construction_ratio = run(count=50, repeat=1, constructions=50)
    else:
        fire_ratio, construction_ratio = run(count=1000, repeat=3, constructions=2000)
    if args.json:
        from _common import write_json

        write_json(
            args.json,
            "bench_cron",
            {"fire_times_ratio": fire_ratio, "construction_ratio": construction_ratio},
        )


if __name__ == "__main__":
    main()
