"""Memory store: add, then remove, N interval jobs on a scheduler started paused.

For each N (1e3, 1e4, 1e5) and each library: ``BackgroundScheduler().start(paused=True)``, then
``add_job(noop, "interval", seconds=S, id=...)`` N times (S drawn at random between one minute and
one day, so that jobs land all over the store rather than always at its end), then
``remove_job`` N times in a random order. Both libraries get the very same ids, intervals and
removal order. Reported: adds/s and removes/s (higher is better), the per-job cost growth from
the smallest to the largest N, and the ratio quartzite / APScheduler.

Rates are judged on the CPU time of the calling thread (a paused scheduler does all the work of
add_job and remove_job there), best of the repetitions: unlike wall time, it hardly moves when
other processes compete for the CPUs. Wall-time rates are shown alongside.

Targets (issue 2): at N = 1e5, >= 2x APScheduler's add rate and >= 5x its remove rate; per-job
cost growth from 1e3 to 1e5 <= 1.2x for quartzite.

A removal run that would take longer than the time budget (30 s; 10 s with --quick) is cut
short after a sample of at least 5,000 removals, and its rate extrapolated from the sample
(flagged in the output). APScheduler 3.11.2 removes 1e5 jobs in a few seconds, so this is a
safeguard rather than the rule.
"""

from __future__ import annotations

import gc
import random
import time
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
    profile,
    ratio,
)

SIZES_FULL = (1_000, 10_000, 100_000)
SIZES_QUICK = (1_000, 10_000)
# Repetitions per size: more for small N, whose runs take milliseconds and are noisier.
REPETITIONS_FULL = {1_000: 8, 10_000: 3, 100_000: 2}
REPETITIONS_QUICK = {1_000: 5, 10_000: 2}
REMOVE_BUDGET_FULL_S = 30.0
REMOVE_BUDGET_QUICK_S = 10.0
REMOVE_SAMPLE_MIN = 5_000
CHUNK = 1_000

ADD_RATIO_TARGET = 2.0
REMOVE_RATIO_TARGET = 5.0
GROWTH_TARGET = 1.2


def workload(size: int, seed: int) -> tuple[list[str], list[int], list[str]]:
    """The ids, the interval of each job in seconds, and the order in which to remove them."""
    rng = random.Random(seed)
    ids = [f"job-{index}" for index in range(size)]
    seconds = [rng.randint(60, 86_400) for _ in range(size)]
    removal_order = ids[:]
    rng.shuffle(removal_order)
    return ids, seconds, removal_order


def run_once(
    library: Library,
    size: int,
    seed: int,
    remove_budget: float,
    scheduler_options: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Add then remove ``size`` jobs; wall and CPU time (of this thread) of each phase."""
    ids, seconds, removal_order = workload(size, seed)
    scheduler = library.BackgroundScheduler(**(scheduler_options or {}))
    scheduler.start(paused=True)
    try:
        add_job = scheduler.add_job
        remove_job = scheduler.remove_job
        gc.collect()
        cpu_start, start = time.thread_time(), time.perf_counter()
        for job_id, interval in zip(ids, seconds):
            add_job(noop, "interval", seconds=interval, id=job_id)
        add_seconds = time.perf_counter() - start
        add_cpu_seconds = time.thread_time() - cpu_start

        gc.collect()
        removed = 0
        cpu_start, start = time.thread_time(), time.perf_counter()
        for chunk_start in range(0, size, CHUNK):
            for job_id in removal_order[chunk_start : chunk_start + CHUNK]:
                remove_job(job_id)
            removed = min(chunk_start + CHUNK, size)
            elapsed = time.perf_counter() - start
            projected = elapsed / removed * size
            if removed >= REMOVE_SAMPLE_MIN and removed < size and projected > remove_budget:
                break  # sample enough: extrapolate the rate rather than wait
        remove_seconds = time.perf_counter() - start
        remove_cpu_seconds = time.thread_time() - cpu_start
    finally:
        scheduler.shutdown(wait=False)
    return {
        "add_s": add_seconds,
        "add_cpu_s": add_cpu_seconds,
        "remove_s": remove_seconds,
        "remove_cpu_s": remove_cpu_seconds,
        "removed": removed,
    }


def summarize(runs: list[dict[str, Any]], size: int) -> dict[str, Any]:
    """Rates of the best (fastest) and median runs, on CPU time and on wall time."""
    entry: dict[str, Any] = {"repetitions": len(runs)}
    removed = min(run["removed"] for run in runs)
    for clock, suffix in (("cpu", "_cpu_s"), ("wall", "_s")):
        adds = [size / run["add" + suffix] for run in runs]
        removes = [run["removed"] / run["remove" + suffix] for run in runs]
        entry[clock] = {
            "adds_per_s_best": max(adds),
            "adds_per_s_median": median(adds),
            "removes_per_s_best": max(removes),
            "removes_per_s_median": median(removes),
            "us_per_add": 1e6 / max(adds),
            "us_per_remove": 1e6 / max(removes),
        }
    entry["remove_sampled"] = removed < size
    entry["removed_per_run"] = [run["removed"] for run in runs]
    entry["runs"] = runs
    return entry


def main() -> None:
    args = parse_args(__doc__.splitlines()[0])
    report = Report("bench_memory_store", "memory store add/remove throughput", args.quick)
    libraries = load_libraries()
    report.header(libraries)
    sizes = SIZES_QUICK if args.quick else SIZES_FULL
    repetitions = REPETITIONS_QUICK if args.quick else REPETITIONS_FULL
    budget = REMOVE_BUDGET_QUICK_S if args.quick else REMOVE_BUDGET_FULL_S
    print(
        "Rates are judged on CPU time of the calling thread (all the work of a paused scheduler "
        "happens there), which other processes on the machine hardly disturb; wall-time rates "
        "are shown alongside."
    )

    results: dict[str, dict[int, list[dict[str, Any]]]] = {lib.name: {} for lib in libraries}
    for size in sizes:
        for repetition, library in interleaved(libraries, repetitions[size]):
            run = run_once(library, size, seed=repetition, remove_budget=budget)
            results[library.name].setdefault(size, []).append(run)

    summary = {
        library.name: {size: summarize(results[library.name][size], size) for size in sizes}
        for library in libraries
    }
    rows = []
    for library in libraries:
        for size in sizes:
            entry = summary[library.name][size]
            cpu, wall = entry["cpu"], entry["wall"]
            note = ""
            if entry["remove_sampled"]:
                note = f"removes sampled: {min(entry['removed_per_run']):,} of {size:,}"
            rows.append(
                [
                    library.label,
                    size,
                    entry["repetitions"],
                    cpu["adds_per_s_best"],
                    cpu["adds_per_s_median"],
                    wall["adds_per_s_best"],
                    cpu["us_per_add"],
                    cpu["removes_per_s_best"],
                    cpu["removes_per_s_median"],
                    wall["removes_per_s_best"],
                    cpu["us_per_remove"],
                    note,
                ]
            )
    print_table(
        "Rates (higher is better): best = fastest repetition; cpu = on CPU time, wall = on "
        "wall time; us = CPU microseconds per job in the best run",
        [
            "library",
            "N",
            "reps",
            "adds/s cpu best",
            "cpu median",
            "wall best",
            "us/add",
            "removes/s cpu best",
            "cpu median",
            "wall best",
            "us/remove",
            "note",
        ],
        rows,
    )

    quartzite, apscheduler = (summary[lib.name] for lib in libraries)
    ratio_rows = []
    ratios: dict[int, dict[str, float]] = {}
    for size in sizes:
        ratios[size] = {}
        for operation in ("add", "remove"):
            key = f"{operation}s_per_s"
            for clock, statistic in (("cpu", "best"), ("cpu", "median"), ("wall", "best")):
                ratios[size][f"{operation}_{clock}_{statistic}"] = ratio(
                    quartzite[size][clock][f"{key}_{statistic}"],
                    apscheduler[size][clock][f"{key}_{statistic}"],
                )
        ratio_rows.append([size, *ratios[size].values()])
    print_table(
        "Ratio quartzite / APScheduler (rates: higher is better for quartzite)",
        [
            "N",
            "add cpu best",
            "add cpu median",
            "add wall best",
            "remove cpu best",
            "remove cpu median",
            "remove wall best",
        ],
        ratio_rows,
    )

    smallest, largest = sizes[0], sizes[-1]
    growth: dict[str, dict[str, float]] = {}
    growth_rows = []
    for library in libraries:
        entries = summary[library.name]
        growth[library.name] = {}
        for clock in ("cpu", "wall"):
            small, large = entries[smallest][clock], entries[largest][clock]
            growth[library.name][f"add_{clock}"] = large["us_per_add"] / small["us_per_add"]
            growth[library.name][f"remove_{clock}"] = (
                large["us_per_remove"] / small["us_per_remove"]
            )
            growth[library.name][f"add_plus_remove_{clock}"] = (
                large["us_per_add"] + large["us_per_remove"]
            ) / (small["us_per_add"] + small["us_per_remove"])
        values = growth[library.name]
        growth_rows.append(
            [
                library.label,
                values["add_cpu"],
                values["remove_cpu"],
                values["add_plus_remove_cpu"],
                values["add_wall"],
                values["remove_wall"],
            ]
        )
    print_table(
        f"Per-job cost growth = cost per job at N={largest:,} / at N={smallest:,}, best runs "
        "(lower is better; 1.0 = flat)",
        ["library", "add cpu", "remove cpu", "add + remove cpu", "add wall", "remove wall"],
        growth_rows,
    )

    report.figures = {
        "sizes": list(sizes),
        "judged_on": "cpu time of the calling thread, best runs",
        "results": {
            name: {str(size): entry for size, entry in by_size.items()}
            for name, by_size in summary.items()
        },
        "ratios_quartzite_over_apscheduler": {str(size): value for size, value in ratios.items()},
        "cost_growth": growth,
    }

    at = f"N={largest:,}"
    sampled_note = "APScheduler removes sampled" if apscheduler[largest]["remove_sampled"] else ""
    for operation, target in (("add", ADD_RATIO_TARGET), ("remove", REMOVE_RATIO_TARGET)):
        best = ratios[largest][f"{operation}_cpu_best"]
        report.target(
            f"{operation} rate vs APScheduler at {at}",
            f">= {target:g}x",
            f"{best:.2f}x (cpu median {ratios[largest][f'{operation}_cpu_median']:.2f}x, "
            f"wall best {ratios[largest][f'{operation}_wall_best']:.2f}x)",
            best >= target,
            sampled_note if operation == "remove" else "",
        )
    for operation in ("add", "remove"):
        value = growth["quartzite"][f"{operation}_cpu"]
        report.target(
            f"quartzite per-{operation} cost growth N={smallest:,} -> {largest:,}",
            f"<= {GROWTH_TARGET:g}x",
            f"{value:.2f}x (wall {growth['quartzite'][f'{operation}_wall']:.2f}x)",
            value <= GROWTH_TARGET,
        )

    if args.profile:
        floor_experiment(libraries[0], sizes, repetitions, budget)
        quartzite_library = libraries[0]
        ids, seconds, removal_order = workload(largest, seed=0)
        scheduler = quartzite_library.BackgroundScheduler()
        scheduler.start(paused=True)

        def add_all() -> None:
            for job_id, interval in zip(ids, seconds):
                scheduler.add_job(noop, "interval", seconds=interval, id=job_id)

        def remove_all() -> None:
            for job_id in removal_order:
                scheduler.remove_job(job_id)

        profile(f"quartzite add_job x {largest:,}", add_all)
        profile(f"quartzite remove_job x {largest:,}", remove_all)
        scheduler.shutdown(wait=False)

    report.finish(args.json)


def dict_only_store() -> Any:
    """A quartzite job store that keeps jobs in a dict and nothing else (no run time order).

    No real store can do less per add and remove, so its per-job cost growth from small to
    large N is a floor for the memory store's: what remains is the scheduler's own work and the
    memory hierarchy (at 1e5 jobs the objects no longer fit in the CPU caches).
    """
    from quartzite.jobstores.base import BaseJobStore, JobLookupError

    class DictOnlyStore(BaseJobStore):
        def __init__(self) -> None:
            super().__init__()
            self._jobs: dict[str, Any] = {}

        def lookup_job(self, job_id: str) -> Any:
            return self._jobs.get(job_id)

        def get_due_jobs(self, now: Any) -> list[Any]:
            return []

        def get_next_run_time(self) -> None:
            return None

        def get_all_jobs(self) -> list[Any]:
            return list(self._jobs.values())

        def add_job(self, job: Any) -> None:
            self._jobs[job.id] = job

        def update_job(self, job: Any) -> None:
            self._jobs[job.id] = job

        def remove_job(self, job_id: str) -> None:
            try:
                del self._jobs[job_id]
            except KeyError:
                raise JobLookupError(job_id)

        def remove_all_jobs(self) -> None:
            self._jobs.clear()

    return DictOnlyStore()


def floor_experiment(
    library: Library, sizes: tuple[int, ...], repetitions: dict[int, int], budget: float
) -> None:
    """Compare quartzite's memory store with the dict-only floor, interleaved, best of runs."""
    smallest, largest = sizes[0], sizes[-1]
    stores = {"memory (MemoryJobStore)": None, "dict-only floor": dict_only_store}
    best: dict[tuple[str, int], tuple[float, float]] = {}
    for size in (smallest, largest):
        for repetition in range(repetitions[size]):
            for store_name, factory in stores.items():
                options = {"jobstores": {"default": factory()}} if factory else None
                run = run_once(library, size, repetition, budget, options)
                us_add = 1e6 * run["add_cpu_s"] / size
                us_remove = 1e6 * run["remove_cpu_s"] / run["removed"]
                previous = best.get((store_name, size), (float("inf"), float("inf")))
                best[(store_name, size)] = (min(previous[0], us_add), min(previous[1], us_remove))
    rows = []
    for store_name in stores:
        small, large = best[(store_name, smallest)], best[(store_name, largest)]
        rows.append(
            [
                store_name,
                small[0],
                large[0],
                large[0] / small[0],
                small[1],
                large[1],
                large[1] / small[1],
            ]
        )
    print_table(
        f"Diagnostic: quartzite scheduler on its memory store vs on a dict-only store (floor), "
        f"CPU us per job, best runs, N={smallest:,} and N={largest:,}",
        [
            "store",
            f"us/add {smallest:,}",
            f"us/add {largest:,}",
            "growth",
            f"us/remove {smallest:,}",
            f"us/remove {largest:,}",
            "growth",
        ],
        rows,
    )


if __name__ == "__main__":
    main()
