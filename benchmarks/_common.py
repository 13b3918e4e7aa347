"""Shared helpers of the ``bench_*.py`` scripts: options, libraries, tables, targets and JSON.

Every script runs the same workload on quartzite and on APScheduler 3.11.2 in the same process
run (or in fresh subprocesses, for import time and idle CPU), prints tables with the ratio
quartzite / APScheduler, and ends with the targets of issue 2 and whether each is met.

The machine these run on is usually shared and noisy, so workloads are repeated, the libraries'
repetitions are interleaved (so that a burst of outside load hits both alike), and the scripts
report the best run (the least disturbed one) next to the median.
"""

from __future__ import annotations

import argparse
import cProfile
import importlib
import io
import json
import math
import os
import platform
import pstats
import statistics
import sys
import time
from dataclasses import dataclass, field
from importlib.metadata import version as distribution_version
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

#: The libraries compared, quartzite first; the import name is also the distribution name.
LIBRARIES = ("quartzite", "apscheduler")
LABELS = {"quartzite": "quartzite", "apscheduler": "APScheduler"}


@dataclass(frozen=True)
class Library:
    """The handful of names a benchmark needs from one library."""

    name: str
    label: str
    version: str
    BackgroundScheduler: Any
    ThreadPoolExecutor: Any
    EVENT_JOB_EXECUTED: int
    EVENT_JOB_ERROR: int
    EVENT_JOB_MISSED: int
    EVENT_JOB_MAX_INSTANCES: int


def load_library(name: str) -> Library:
    """Import ``<name>.schedulers.background`` and friends (same layout in both libraries)."""
    background = importlib.import_module(f"{name}.schedulers.background")
    pool = importlib.import_module(f"{name}.executors.pool")
    events = importlib.import_module(f"{name}.events")
    return Library(
        name=name,
        label=LABELS[name],
        version=distribution_version(name),
        BackgroundScheduler=background.BackgroundScheduler,
        ThreadPoolExecutor=pool.ThreadPoolExecutor,
        EVENT_JOB_EXECUTED=events.EVENT_JOB_EXECUTED,
        EVENT_JOB_ERROR=events.EVENT_JOB_ERROR,
        EVENT_JOB_MISSED=events.EVENT_JOB_MISSED,
        EVENT_JOB_MAX_INSTANCES=events.EVENT_JOB_MAX_INSTANCES,
    )


def load_libraries() -> list[Library]:
    return [load_library(name) for name in LIBRARIES]


def interleaved(libraries: Sequence[Library], repetitions: int) -> Iterator[tuple[int, Library]]:
    """Yield ``(repetition, library)``, alternating libraries and which one goes first."""
    for repetition in range(repetitions):
        order = libraries if repetition % 2 == 0 else list(reversed(libraries))
        for library in order:
            yield repetition, library


def parse_args(description: str) -> argparse.Namespace:
    """The options every script accepts (``nox -s bench -- ARGS`` passes ARGS to all of them)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smaller workloads and fewer repetitions (a smoke run; targets are informative)",
    )
    parser.add_argument(
        "--json",
        metavar="PATH",
        type=Path,
        help="write the figures to this JSON file, under one key per script (merged with the "
        "file's other keys, so all scripts can share one file)",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="also run quartzite's side once under cProfile and print where the time goes",
    )
    return parser.parse_args()


# --- figures -------------------------------------------------------------------------------------


def percentile(values: Sequence[float], fraction: float) -> float:
    """The ``fraction`` quantile (0..1) of ``values``, interpolating between ranks."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    position = (len(ordered) - 1) * fraction
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator else float("nan")


def format_number(value: Any) -> str:
    """Human-friendly rendering: thousands separators for big numbers, 3 digits for small."""
    if isinstance(value, bool) or value is None:
        return "-" if value is None else str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if value != value:  # NaN
            return "n/a"
        magnitude = abs(value)
        if magnitude >= 1000:
            return f"{value:,.0f}"
        if magnitude >= 100:
            return f"{value:.1f}"
        if magnitude >= 1:
            return f"{value:.2f}"
        if 0 < magnitude < 0.001:
            return f"{value:.1e}"
        return f"{value:.3f}"
    return str(value)


def print_table(title: str, headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Print a plain-text table; numbers are right-aligned, text left-aligned."""
    cells = [[format_number(cell) for cell in row] for row in rows]
    numeric = [
        all(isinstance(row[column], (int, float)) for row in rows if row[column] is not None)
        for column in range(len(headers))
    ]
    widths = [
        max([len(header)] + [len(row[column]) for row in cells])
        for column, header in enumerate(headers)
    ]

    def line(values: Sequence[str]) -> str:
        parts = [
            value.rjust(width) if is_numeric else value.ljust(width)
            for value, width, is_numeric in zip(values, widths, numeric)
        ]
        return "  ".join(parts).rstrip()

    print(f"\n{title}")
    print(line(headers))
    print(line(["-" * width for width in widths]))
    for row in cells:
        print(line(row))


@dataclass
class Target:
    """One target of the issue: what is asked, what was measured, and whether it is met."""

    name: str
    goal: str
    measured: str
    met: bool | None  # None: not judged (for instance in --quick mode)
    note: str = ""


@dataclass
class Report:
    """Collects one script's figures and targets; prints the verdicts and writes the JSON."""

    script: str
    description: str
    quick: bool
    figures: dict[str, Any] = field(default_factory=dict)
    targets: list[Target] = field(default_factory=list)
    started: float = field(default_factory=time.perf_counter)

    def header(self, libraries: Sequence[Library]) -> None:
        mode = "QUICK (smaller workloads; targets informative only)" if self.quick else "full"
        versions = ", ".join(f"{library.label} {library.version}" for library in libraries)
        print(f"=== {self.script}: {self.description}")
        print(f"mode: {mode}; {versions}")
        print(f"environment: {environment_summary()}")

    def target(self, name: str, goal: str, measured: str, met: bool, note: str = "") -> None:
        self.targets.append(Target(name, goal, measured, None if self.quick else met, note))

    def finish(self, json_path: Path | None) -> None:
        judged = " (--quick: INFO = not judged)" if self.quick else ""
        print(f"\nTargets ({self.script}){judged}:")
        for target in self.targets:
            verdict = {True: "MET", False: "NOT MET", None: "INFO"}[target.met]
            note = f"  [{target.note}]" if target.note else ""
            print(f"  {verdict:<8} {target.name}: {target.measured} (target {target.goal}){note}")
        elapsed = time.perf_counter() - self.started
        print(f"({self.script} took {elapsed:.1f} s)")
        if json_path is not None:
            write_json(
                json_path,
                self.script,
                {
                    "description": self.description,
                    "quick": self.quick,
                    "environment": environment(),
                    "figures": self.figures,
                    "targets": [target.__dict__ for target in self.targets],
                    "elapsed_s": elapsed,
                },
            )
            print(f"figures written to {json_path} (key {self.script!r})")


def environment() -> dict[str, Any]:
    info: dict[str, Any] = {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    for name in LIBRARIES:
        info[f"{name}_version"] = distribution_version(name)
    if hasattr(os, "getloadavg"):  # not on Windows
        info["load_average"] = os.getloadavg()
    return info


def environment_summary() -> str:
    info = environment()
    summary = f"{info['implementation']} {info['python']} on {info['platform']}, "
    summary += f"{info['cpus']} CPUs"
    if "load_average" in info:
        summary += ", load average " + " ".join(f"{load:.2f}" for load in info["load_average"])
    return summary


def write_json(path: Path, key: str, payload: dict[str, Any]) -> None:
    """Store ``payload`` under ``key`` in the JSON object at ``path``, keeping its other keys."""
    data: dict[str, Any] = {}
    if path.exists():
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except ValueError:
            data = {}
        if not isinstance(data, dict):
            data = {}
    data[key] = payload
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(_finite(data), indent=2, sort_keys=True, allow_nan=False)
    path.write_text(text + "\n", encoding="utf-8")


def _finite(value: Any) -> Any:
    """``value`` with NaN and infinities replaced by ``None`` (strict JSON has neither)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(key): _finite(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(item) for item in value]
    return value


def profile(title: str, function: Callable[[], Any], limit: int = 18) -> None:
    """Run ``function`` under cProfile and print the top functions by own time."""
    profiler = cProfile.Profile()
    profiler.enable()
    try:
        function()
    finally:
        profiler.disable()
    stream = io.StringIO()
    stats = pstats.Stats(profiler, stream=stream)
    stats.strip_dirs().sort_stats("tottime").print_stats(limit)
    lines = [line for line in stream.getvalue().splitlines() if line.strip()]
    print(f"\nProfile: {title} (top {limit} by own time)")
    for line in lines:
        print(f"  {line}")


def noop() -> None:
    """The job function of the throughput benchmarks: the schedulers' overhead is what counts."""


def flush() -> None:
    sys.stdout.flush()
