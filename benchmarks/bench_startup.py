"""Import time and idle CPU, each library measured in fresh subprocesses.

Import time: time of ``python -c "import <lib>.schedulers.background"`` minus that of
``python -c "pass"`` (the bare interpreter), median of at least 10 runs each, the three commands
interleaved round by round, from compiled byte code (see ``child_environment``). Judged on the
children's CPU time (user + system), which outside load hardly moves; wall time is shown too, and
``python -X importtime`` runs give the interpreter's own account (sum of the top-level cumulative
times, minus the bare interpreter's). Lower is better; target (issue 2): quartzite <= half of
APScheduler's.

Idle CPU: a subprocess starts a ``BackgroundScheduler`` holding 1,000 date jobs due in 30 days or
more, lets it settle, then measures its process CPU time (``time.process_time()``) over 3 s of
idling, and counts how often the scheduler woke up to process jobs meanwhile. A subprocess that
only sleeps gives the floor. Target (issue 2): ~0, taken as <= 0.001 CPU seconds per wall second
(0.1 % of one core) and no wake-ups.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
from typing import Any

from _common import LABELS, LIBRARIES, Report, median, parse_args, print_table, ratio

IMPORT_RUNS_FULL = 20
IMPORT_RUNS_QUICK = 10
IMPORTTIME_RUNS_FULL = 7
IMPORTTIME_RUNS_QUICK = 3
IMPORT_RATIO_TARGET = 0.5

IDLE_JOBS = 1_000
IDLE_SETTLE_S = 0.5
IDLE_SECONDS_FULL = 3.0
IDLE_SECONDS_QUICK = 1.0
IDLE_CPU_TARGET = 0.001  # CPU seconds per wall second

BASELINE = "bare interpreter"

IDLE_CHILD = """
import json, sys, time
from datetime import datetime, timedelta, timezone

library, jobs, settle, duration = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), \\
    float(sys.argv[4])
wakeups = [0]
if library != "none":
    import importlib
    background = importlib.import_module(library + ".schedulers.background")

    def noop():
        pass

    scheduler = background.BackgroundScheduler()
    scheduler.start(paused=True)
    first = datetime.now(timezone.utc) + timedelta(days=30)
    for index in range(jobs):
        scheduler.add_job(noop, "date", run_date=first + timedelta(minutes=index), id=str(index))
    process_jobs = scheduler._process_jobs

    def counting_process_jobs():
        wakeups[0] += 1
        return process_jobs()

    scheduler._process_jobs = counting_process_jobs  # the loop looks it up on every round
    scheduler.resume()
time.sleep(settle)
wakeups[0] = 0
cpu_start, wall_start = time.process_time(), time.perf_counter()
time.sleep(duration)
cpu, wall = time.process_time() - cpu_start, time.perf_counter() - wall_start
counted = wakeups[0]
if library != "none":
    jobs_held = len(scheduler.get_jobs())
    scheduler.shutdown()
else:
    jobs_held = 0
print(json.dumps({"cpu_s": cpu, "wall_s": wall, "wakeups": counted, "jobs": jobs_held}))
"""

IMPORTTIME_LINE = re.compile(r"^import time:\s+(\d+)\s+\|\s+(\d+)\s+\|( *)(\S+)")


def module_of(library: str) -> str:
    return f"{library}.schedulers.background"


def statement_of(target: str) -> str:
    return "pass" if target == BASELINE else f"import {module_of(target)}"


def child_environment(cwd: str) -> dict[str, str]:
    """The children's environment: byte-code caching on, the caches in a temporary directory.

    Users import compiled byte code. With ``PYTHONDONTWRITEBYTECODE`` set (as in some dev
    shells), a package imported from a source tree, such as an editable install, would be
    compiled again in every run while the other library's installed byte code is read, which
    skews the comparison. ``PYTHONPYCACHEPREFIX`` sends every cache (standard library included)
    to a fresh directory, which the warm-up runs fill, and leaves the source trees untouched.
    """
    environment = dict(os.environ)
    environment.pop("PYTHONDONTWRITEBYTECODE", None)
    environment["PYTHONPYCACHEPREFIX"] = os.path.join(cwd, "pycache")
    return environment


def run_python(arguments: list[str], cwd: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *arguments],
        cwd=cwd,
        env=child_environment(cwd),
        check=True,
        capture_output=True,
        text=True,
    )


def child_cpu_seconds() -> float | None:
    """User + system CPU time of all waited-for child processes so far (None on Windows)."""
    try:
        import resource
    except ImportError:
        return None
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def time_imports(runs: int, cwd: str) -> dict[str, dict[str, list[float]]]:
    """Wall and CPU time of each ``python -c`` command, ``runs`` times, rotating the order.

    :return: ``{"wall": {target: [seconds]}, "cpu": {target: [seconds]}}`` (``"cpu"`` empty
        where child CPU time is not available)
    """
    targets = [BASELINE, *LIBRARIES]
    for target in targets:  # warm-up: byte-compile and fill the OS file cache
        run_python(["-c", statement_of(target)], cwd)
    wall: dict[str, list[float]] = {target: [] for target in targets}
    cpu: dict[str, list[float]] = {target: [] for target in targets}
    for round_number in range(runs):
        shift = round_number % len(targets)
        for target in targets[shift:] + targets[:shift]:
            cpu_start = child_cpu_seconds()
            start = time.perf_counter()
            run_python(["-c", statement_of(target)], cwd)
            wall[target].append(time.perf_counter() - start)
            cpu_end = child_cpu_seconds()
            if cpu_start is not None and cpu_end is not None:
                cpu[target].append(cpu_end - cpu_start)
    return {"wall": wall, "cpu": cpu if all(cpu.values()) else {}}


def importtime_total(target: str, cwd: str) -> tuple[int, list[tuple[int, str]]]:
    """Total import time in us per ``-X importtime``, and (self us, module) of every import."""
    stderr = run_python(["-X", "importtime", "-c", statement_of(target)], cwd).stderr
    total = 0
    modules: list[tuple[int, str]] = []
    for line in stderr.splitlines():
        match = IMPORTTIME_LINE.match(line)
        if match is None:
            continue
        self_us, cumulative_us, indent, name = match.groups()
        modules.append((int(self_us), name))
        if len(indent) == 1:  # a top-level import: its cumulative time counts once
            total += int(cumulative_us)
    return total, modules


def idle_cpu(library: str, duration: float, cwd: str) -> dict[str, Any]:
    arguments = ["-c", IDLE_CHILD, library, str(IDLE_JOBS), str(IDLE_SETTLE_S), str(duration)]
    result: dict[str, Any] = json.loads(run_python(arguments, cwd).stdout)
    result["cpu_per_wall_s"] = result["cpu_s"] / result["wall_s"]
    return result


def main() -> None:
    args = parse_args(__doc__.splitlines()[0])
    report = Report("bench_startup", "import time and idle CPU (fresh processes)", args.quick)
    from _common import load_libraries  # versions for the header

    report.header(load_libraries())
    if args.profile:
        print("(--profile: see the -X importtime breakdown below)")
    runs = IMPORT_RUNS_QUICK if args.quick else IMPORT_RUNS_FULL
    importtime_runs = IMPORTTIME_RUNS_QUICK if args.quick else IMPORTTIME_RUNS_FULL
    duration = IDLE_SECONDS_QUICK if args.quick else IDLE_SECONDS_FULL

    with tempfile.TemporaryDirectory() as cwd:  # keep the current directory off sys.path
        timings = time_imports(runs, cwd)
        importtimes: dict[str, list[int]] = {target: [] for target in [BASELINE, *LIBRARIES]}
        breakdown: dict[str, list[tuple[int, str]]] = {}
        for _ in range(importtime_runs):
            for target in importtimes:
                total, modules = importtime_total(target, cwd)
                importtimes[target].append(total)
                breakdown[target] = modules
        idle = {target: idle_cpu(target, duration, cwd) for target in ["none", *LIBRARIES]}

    # Net import cost = median of the library's runs minus median of the bare interpreter's.
    # CPU time (user + system of the child) is judged where available: unlike wall time, it
    # hardly moves when other processes compete for the CPUs.
    measures = ["cpu", "wall"] if timings["cpu"] else ["wall"]
    imports: dict[str, dict[str, float]] = {library: {} for library in LIBRARIES}
    rows: list[list[Any]] = []
    for target in [BASELINE, *LIBRARIES]:
        row: list[Any] = [LABELS.get(target, target), runs]
        for measure in measures:
            values = timings[measure][target]
            baseline = timings[measure][BASELINE]
            net = (median(values) - median(baseline)) * 1000
            row += [median(values) * 1000, None if target == BASELINE else net]
            if target != BASELINE:
                imports[target][f"{measure}_median_ms"] = median(values) * 1000
                imports[target][f"{measure}_fastest_ms"] = min(values) * 1000
                imports[target][f"{measure}_net_ms"] = net
        if target != BASELINE:
            net_importtime = (median(importtimes[target]) - median(importtimes[BASELINE])) / 1000
            imports[target]["importtime_net_ms"] = net_importtime
            row.append(net_importtime)
        else:
            row.append(None)
        rows.append(row)
    headers = ["process", "runs"]
    for measure in measures:
        headers += [f"{measure}", f"{measure} - bare"]
    headers.append("-X importtime - bare")
    print_table(
        f"Import of <lib>.schedulers.background in a fresh process, ms, medians of {runs} runs "
        "(lower is better; cpu = user + system time of the child)",
        headers,
        rows,
    )
    quartzite, apscheduler = imports["quartzite"], imports["apscheduler"]
    judged = measures[0]
    import_ratios = {
        f"{measure}_net": ratio(quartzite[f"{measure}_net_ms"], apscheduler[f"{measure}_net_ms"])
        for measure in measures
    }
    import_ratios["importtime"] = ratio(
        quartzite["importtime_net_ms"], apscheduler["importtime_net_ms"]
    )
    import_ratio = import_ratios[f"{judged}_net"]
    print_table(
        "Ratio quartzite / APScheduler, net import time (LOWER is better for quartzite)",
        [f"{measure} - bare" for measure in measures] + ["-X importtime - bare"],
        [list(import_ratios.values())],
    )

    for library in LIBRARIES:
        newly = [
            (self_us, name)
            for self_us, name in breakdown[library]
            if name not in {module for _, module in breakdown[BASELINE]}
        ]
        newly.sort(reverse=True)
        listing = ", ".join(f"{name} {self_us / 1000:.1f}" for self_us, name in newly[:10])
        print(f"\n{LABELS[library]}: {len(newly)} modules imported beyond the bare interpreter")
        print(f"  largest own import times (ms, one -X importtime run): {listing}")

    idle_rows = []
    for target, result in idle.items():
        label = "sleeping process (floor)" if target == "none" else LABELS[target]
        idle_rows.append(
            [
                label,
                result["jobs"],
                result["wall_s"],
                result["cpu_s"],
                result["cpu_per_wall_s"],
                result["wakeups"] if target != "none" else None,
            ]
        )
    print_table(
        f"Idle CPU of a started scheduler over {duration:g} s (lower is better)",
        ["process", "jobs", "wall s", "CPU s", "CPU s / wall s", "wake-ups"],
        idle_rows,
    )

    report.figures = {
        "import": {
            "runs": runs,
            "judged_on": judged,
            "libraries": imports,
            "ratio_quartzite_over_apscheduler": import_ratios,
            "timings_s": timings,
            "importtime_us": importtimes,
        },
        "idle_cpu": {"duration_s": duration, "jobs": IDLE_JOBS, "results": idle},
    }
    others = ", ".join(
        f"{name} {value:.2f}x" for name, value in import_ratios.items() if name != f"{judged}_net"
    )
    report.target(
        "import time vs APScheduler",
        f"<= {IMPORT_RATIO_TARGET:g}x",
        f"{import_ratio:.2f}x on median {judged} time ({quartzite[f'{judged}_net_ms']:.1f} ms vs "
        f"{apscheduler[f'{judged}_net_ms']:.1f} ms); {others}",
        import_ratio <= IMPORT_RATIO_TARGET,
    )
    quartzite_idle = idle["quartzite"]
    report.target(
        f"quartzite idle CPU with {IDLE_JOBS:,} far-future jobs",
        f"<= {IDLE_CPU_TARGET:g} CPU s / wall s, no wake-ups",
        f"{quartzite_idle['cpu_per_wall_s']:.5f} CPU s / wall s, "
        f"{quartzite_idle['wakeups']} wake-ups",
        quartzite_idle["cpu_per_wall_s"] <= IDLE_CPU_TARGET and quartzite_idle["wakeups"] == 0,
    )
    report.finish(args.json)


if __name__ == "__main__":
    main()
