"""Coroutine job throughput of AsyncIOScheduler, quartzite side by side with APScheduler 3.11.2.

For each library, on a fresh event loop (``asyncio.run``): an ``AsyncIOScheduler`` (default
executor: ``AsyncIOExecutor``) is started paused; 10,000 ``date`` jobs whose function is a no-op
coroutine function are added with a run date one second in the past and
``misfire_grace_time=None`` (so that no run is reported as missed). The clock starts at
``resume()`` and stops when the 10,000th ``EVENT_JOB_EXECUTED`` event has reached a listener:
the processing round that submits them, the tasks that await them, and the events. Reported:
jobs per second (higher is better) for both libraries and the ratio quartzite / APScheduler, by
wall-clock time and by the process's CPU time over the same span (everything runs in the loop's
thread, so on an idle machine the two agree; on a busy one the CPU figure is the steadier).
Repetitions alternate between the libraries (so outside load hits both alike); the best and the
median are shown.

    python benchmarks/bench_asyncio.py            # 5 repetitions per library
    python benchmarks/bench_asyncio.py --quick    # 1 repetition per library
    python benchmarks/bench_asyncio.py --profile  # also profile one quartzite run
    python benchmarks/bench_asyncio.py --json figures.json  # also store the figures (key
                                                            # "bench_asyncio", other keys kept)

Target: quartzite >= 2x APScheduler's jobs per second.

Standalone on purpose: the only place in the repository where ``apscheduler`` is imported, next
to quartzite.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import importlib
import io
import json
import pstats
import statistics
import sys
import time
from datetime import datetime, timedelta, timezone
from importlib.metadata import version
from pathlib import Path
from typing import Any

JOBS = 10_000
RATIO_TARGET = 2.0
TIMEOUT_S = 120.0
LIBRARIES = ("quartzite", "apscheduler")
LABELS = {"quartzite": "quartzite", "apscheduler": "APScheduler"}


async def noop() -> None:
    """The job: a coroutine function that returns at once."""


async def run_once(library: str, jobs: int) -> tuple[float, float]:
    """One measured run: the wall-clock and CPU seconds from ``resume()`` to the last executed
    event."""
    schedulers = importlib.import_module(f"{library}.schedulers.asyncio")
    events = importlib.import_module(f"{library}.events")

    scheduler = schedulers.AsyncIOScheduler(
        timezone=timezone.utc, job_defaults={"misfire_grace_time": None}
    )
    all_executed = asyncio.Event()
    counts = {"executed": 0, "other": 0}

    def on_executed(event: Any) -> None:
        counts["executed"] += 1
        if counts["executed"] == jobs:
            all_executed.set()

    def on_other(event: Any) -> None:  # errors, misses, max instances: should never happen
        counts["other"] += 1

    scheduler.add_listener(on_executed, events.EVENT_JOB_EXECUTED)
    scheduler.add_listener(
        on_other,
        events.EVENT_JOB_ERROR | events.EVENT_JOB_MISSED | events.EVENT_JOB_MAX_INSTANCES,
    )
    scheduler.start(paused=True)
    run_date = datetime.now(timezone.utc) - timedelta(seconds=1)
    for _ in range(jobs):
        scheduler.add_job(noop, "date", run_date=run_date)

    gc.collect()
    started = time.perf_counter()
    cpu_started = time.process_time()
    scheduler.resume()
    await asyncio.wait_for(all_executed.wait(), TIMEOUT_S)
    elapsed = time.perf_counter() - started
    cpu_elapsed = time.process_time() - cpu_started

    scheduler.shutdown(wait=False)
    await asyncio.sleep(0)  # let the deferred shutdown happen
    if counts["other"]:
        raise RuntimeError(f"{library}: {counts['other']} runs failed, were missed or skipped")
    return elapsed, cpu_elapsed


def measure(library: str, jobs: int) -> tuple[float, float]:
    return asyncio.run(run_once(library, jobs))


def profile_quartzite(jobs: int, limit: int = 25) -> str:
    """Profile one quartzite run; return the top of the table by own time."""
    profiler = cProfile.Profile()
    profiler.enable()
    measure("quartzite", jobs)
    profiler.disable()
    output = io.StringIO()
    stats = pstats.Stats(profiler, stream=output)
    stats.sort_stats("tottime").print_stats(limit)
    return output.getvalue()


def write_json(path: Path, key: str, payload: dict[str, Any]) -> None:
    """Store ``payload`` under ``key`` in the JSON object at ``path``, keeping its other keys."""
    data: dict[str, Any] = {}
    if path.exists():
        try:
            loaded = json.loads(path.read_text(encoding="utf-8"))
        except ValueError:
            loaded = None
        data = loaded if isinstance(loaded, dict) else {}
    data[key] = payload
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="one repetition per library")
    parser.add_argument(
        "--repetitions", type=int, default=None, help="repetitions per library (default 5)"
    )
    parser.add_argument("--jobs", type=int, default=JOBS, help=f"jobs per run (default {JOBS})")
    parser.add_argument("--profile", action="store_true", help="profile one quartzite run")
    parser.add_argument(
        "--json", metavar="PATH", type=Path, help="store the figures in this JSON file"
    )
    args = parser.parse_args(argv)
    repetitions = args.repetitions or (1 if args.quick else 5)

    print(f"AsyncIOScheduler coroutine job throughput: {args.jobs:,} due no-op coroutines")
    print(
        f"Python {sys.version.split()[0]}; "
        + ", ".join(f"{LABELS[name]} {version(name)}" for name in LIBRARIES)
    )
    measure("quartzite", min(args.jobs, 500))  # warm-up: imports, caches
    measure("apscheduler", min(args.jobs, 500))

    timings: dict[str, list[tuple[float, float]]] = {name: [] for name in LIBRARIES}
    for _ in range(repetitions):
        for name in LIBRARIES:
            timings[name].append(measure(name, args.jobs))

    ratios = {}
    figures: dict[str, Any] = {"jobs": args.jobs, "repetitions": repetitions}
    for clock, index in (("wall-clock", 0), ("CPU", 1)):
        rates = {}
        for name in LIBRARIES:
            seconds = [timing[index] for timing in timings[name]]
            rates[name] = (args.jobs / min(seconds), args.jobs / statistics.median(seconds))
        print()
        print(f"by {clock} time:")
        print(f"  {'library':<12} {'best jobs/s':>12} {'median jobs/s':>14} {'runs':>5}")
        for name in LIBRARIES:
            best, typical = rates[name]
            print(f"  {LABELS[name]:<12} {best:>12,.0f} {typical:>14,.0f} {repetitions:>5}")
        best_ratio = rates["quartzite"][0] / rates["apscheduler"][0]
        median_ratio = rates["quartzite"][1] / rates["apscheduler"][1]
        ratios[clock] = best_ratio
        figures[clock] = {
            "jobs_per_second": {
                name: {"best": rates[name][0], "median": rates[name][1]} for name in LIBRARIES
            },
            "ratio": {"best": best_ratio, "median": median_ratio},
        }
        print(
            f"  ratio quartzite / APScheduler: {best_ratio:.2f}x best, {median_ratio:.2f}x median"
        )

    met = "met" if ratios["wall-clock"] >= RATIO_TARGET else "NOT met"
    print()
    print(f"target >= {RATIO_TARGET:.0f}x (best, wall-clock): {met}")
    if args.json is not None:
        figures["target"] = {"ratio": RATIO_TARGET, "met": ratios["wall-clock"] >= RATIO_TARGET}
        write_json(args.json, "bench_asyncio", figures)
        print(f"figures written to {args.json} (key 'bench_asyncio')")

    if args.profile:
        print()
        print(profile_quartzite(args.jobs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
