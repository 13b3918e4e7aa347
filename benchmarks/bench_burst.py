"""Burst: 20,000 date jobs all due now, through a running background scheduler.

For each library: a ``BackgroundScheduler`` whose default executor is a 10-thread
``ThreadPoolExecutor`` is started paused; 20,000 no-op ``date`` jobs are added with a run date
one second in the past and ``misfire_grace_time=None`` (the default grace time of 1 s would let
slow runs be reported as missed instead of executed). The clock starts at ``resume()`` and stops
when the 20,000th ``EVENT_JOB_EXECUTED`` event has reached a listener. Reported: executions per
second (higher is better) and the ratio quartzite / APScheduler.

Target (issue 2): >= 2x APScheduler's executions per second.
"""

from __future__ import annotations

import gc
import threading
import time
from datetime import datetime, timedelta, timezone
from typing import Any

from _common import (
    Library,
    Report,
    interleaved,
    load_libraries,
    median,
    noop,
    parse_args,
    print_table,
    ratio,
)

JOBS_FULL = 20_000
JOBS_QUICK = 5_000
REPETITIONS_FULL = 5
REPETITIONS_QUICK = 1
WORKERS = 10
TIMEOUT_S = 120.0
RATIO_TARGET = 2.0


def run_once(library: Library, jobs: int) -> dict[str, Any]:
    scheduler = library.BackgroundScheduler(
        executors={"default": library.ThreadPoolExecutor(WORKERS)}
    )
    lock = threading.Lock()
    all_executed = threading.Event()
    counts = {"executed": 0, "other": 0}

    def on_executed(event: Any) -> None:
        with lock:
            counts["executed"] += 1
            if counts["executed"] == jobs:
                all_executed.set()

    def on_other(event: Any) -> None:  # errors, misses, max instances: should never happen
        with lock:
            counts["other"] += 1

    scheduler.add_listener(on_executed, library.EVENT_JOB_EXECUTED)
    scheduler.add_listener(
        on_other,
        library.EVENT_JOB_ERROR | library.EVENT_JOB_MISSED | library.EVENT_JOB_MAX_INSTANCES,
    )
    scheduler.start(paused=True)
    try:
        run_date = datetime.now(timezone.utc) - timedelta(seconds=1)
        for index in range(jobs):
            scheduler.add_job(
                noop, "date", run_date=run_date, id=f"burst-{index}", misfire_grace_time=None
            )
        gc.collect()
        cpu_start, start = time.process_time(), time.perf_counter()
        scheduler.resume()
        finished = all_executed.wait(TIMEOUT_S)
        elapsed = time.perf_counter() - start
        cpu = time.process_time() - cpu_start
    finally:
        scheduler.shutdown(wait=True)
    return {
        "seconds": elapsed,
        "cpu_seconds": cpu,
        "cpu_us_per_job": cpu / jobs * 1e6,
        "executed": counts["executed"],
        "other_events": counts["other"],
        "finished": finished,
        "executions_per_s": counts["executed"] / elapsed,
    }


def main() -> None:
    args = parse_args(__doc__.splitlines()[0])
    report = Report("bench_burst", "burst of due date jobs through a 10-thread pool", args.quick)
    libraries = load_libraries()
    report.header(libraries)
    jobs = JOBS_QUICK if args.quick else JOBS_FULL
    repetitions = REPETITIONS_QUICK if args.quick else REPETITIONS_FULL

    runs: dict[str, list[dict[str, Any]]] = {library.name: [] for library in libraries}
    for _repetition, library in interleaved(libraries, repetitions):
        runs[library.name].append(run_once(library, jobs))

    summary: dict[str, dict[str, Any]] = {}
    rows = []
    for library in libraries:
        library_runs = runs[library.name]
        rates = [run["executions_per_s"] for run in library_runs]
        incomplete = [run for run in library_runs if not run["finished"]]
        summary[library.name] = {
            "jobs": jobs,
            "repetitions": len(library_runs),
            "executions_per_s_best": max(rates),
            "executions_per_s_median": median(rates),
            "seconds_best": min(run["seconds"] for run in library_runs),
            "cpu_us_per_job_best": min(run["cpu_us_per_job"] for run in library_runs),
            "incomplete_runs": len(incomplete),
            "other_events": sum(run["other_events"] for run in library_runs),
            "runs": library_runs,
        }
        note = ""
        if incomplete:
            note = f"{len(incomplete)} run(s) timed out after {TIMEOUT_S:g} s"
        if summary[library.name]["other_events"]:
            note += f" {summary[library.name]['other_events']} error/missed events"
        rows.append(
            [
                library.label,
                jobs,
                len(library_runs),
                summary[library.name]["seconds_best"],
                max(rates),
                median(rates),
                summary[library.name]["cpu_us_per_job_best"],
                note.strip(),
            ]
        )
    print_table(
        "Executions per second on wall time (higher is better; best = fastest repetition); "
        "CPU us/job = process CPU time (all threads) per job, lowest of the runs",
        [
            "library",
            "jobs",
            "reps",
            "seconds (best)",
            "exec/s best",
            "exec/s median",
            "CPU us/job",
            "note",
        ],
        rows,
    )

    quartzite, apscheduler = (summary[library.name] for library in libraries)
    best_ratio = ratio(quartzite["executions_per_s_best"], apscheduler["executions_per_s_best"])
    median_ratio = ratio(
        quartzite["executions_per_s_median"], apscheduler["executions_per_s_median"]
    )
    # Each repetition runs both libraries back to back, under much the same outside load.
    paired_ratios = [
        ratio(mine["executions_per_s"], theirs["executions_per_s"])
        for mine, theirs in zip(quartzite["runs"], apscheduler["runs"])
    ]
    paired_ratio = median(paired_ratios)
    print_table(
        "Ratio quartzite / APScheduler (executions/s: higher is better for quartzite); paired = "
        "median of the per-repetition ratios",
        ["jobs", "ratio (best)", "ratio (median)", "ratio (paired)"],
        [[jobs, best_ratio, median_ratio, paired_ratio]],
    )
    report.figures = {
        "jobs": jobs,
        "workers": WORKERS,
        "results": summary,
        "ratio_quartzite_over_apscheduler": {
            "best": best_ratio,
            "median": median_ratio,
            "paired_median": paired_ratio,
            "paired": paired_ratios,
        },
    }
    complete = not quartzite["incomplete_runs"] and not quartzite["other_events"]
    report.target(
        "burst executions/s vs APScheduler",
        f">= {RATIO_TARGET:g}x",
        f"{best_ratio:.2f}x (median {median_ratio:.2f}x, paired {paired_ratio:.2f}x)",
        best_ratio >= RATIO_TARGET and complete,
        "" if complete else "quartzite did not execute every job cleanly",
    )

    if args.profile:
        profile_burst(libraries[0], jobs)

    report.finish(args.json)


def profile_burst(library: Library, jobs: int) -> None:
    """Profile one burst, with one profiler per thread: the scheduler's and the pool's.

    cProfile times are wall times, so waiting shows: workers waiting for work
    (``SimpleQueue.get``) and threads waiting for a lock that another thread holds.
    """
    import cProfile
    import pstats

    profilers: dict[str, list[cProfile.Profile]] = {"scheduler thread": [], "pool workers": []}
    profilers_lock = threading.Lock()
    original_run = threading.Thread.run

    def profiled_run(thread: threading.Thread) -> None:
        profiler = cProfile.Profile()
        group = (
            "pool workers" if thread.name.startswith("ThreadPoolExecutor") else "scheduler thread"
        )
        with profilers_lock:
            profilers[group].append(profiler)
        profiler.enable()
        try:
            original_run(thread)
        finally:
            profiler.disable()

    threading.Thread.run = profiled_run  # type: ignore[method-assign]
    try:
        run_once(library, jobs)
    finally:
        threading.Thread.run = original_run  # type: ignore[method-assign]

    for group, group_profilers in profilers.items():
        if not group_profilers:
            continue
        stats = pstats.Stats(group_profilers[0])
        for profiler in group_profilers[1:]:
            stats.add(profiler)
        print(
            f"\nProfile: quartzite burst of {jobs:,} jobs, {group} ({len(group_profilers)} "
            "thread(s)), top 15 by own time"
        )
        stats.strip_dirs().sort_stats("tottime").print_stats(15)


if __name__ == "__main__":
    main()
